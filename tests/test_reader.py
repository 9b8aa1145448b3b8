"""What a careful reader finds (issue 17): pasteable LaTeX compiles in a bare amsmath document,
every line of `--format steps` is a true equality, no internal size names reach the page, λ
is shown with its value, and the report defines what it uses."""
import re
import shutil
import subprocess

import numpy as np
import pytest
import sympy as sp

from matcalc.cli import main
from matcalc.core.nodes import Differential
from matcalc.nn.backprop import derive
from matcalc.nn.cnn import cnn
from matcalc.nn.spec import mlp
from matcalc.printing.hooks import Rendered  # noqa: F401  (installs the notebook hooks)
from matcalc.printing.report import _merged_moves, steps_text
from matcalc.verify.evaluator import evaluate

needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None,
                                    reason="pdflatex not installed")

BARE = r"""\documentclass{article}
\usepackage{amsmath}%s
\begin{document}
%s
\end{document}
"""


def _compiles(tmp_path, body, packages=""):
    (tmp_path / "paste.tex").write_text(BARE % (packages, body))
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                          "paste.tex"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    return run.returncode == 0, run.stdout[-3000:]


NETWORKS = {
    "hinge": ["--layers", "4,3,2", "--loss", "hinge"],
    "bce": ["--layers", "6,5,1", "--loss", "binary-cross-entropy", "--hidden", "tanh"],
    "squared-l2": ["--layers", "5,4,3", "--loss", "squared-error", "--l2", "0.01"],
    "rows-relu": ["--layers", "64,32,10", "--hidden", "relu", "--layout", "rows"],
    "deep-hinge": ["--layers", "64,128,64,32,10", "--loss", "hinge", "--hidden",
                   "relu,tanh,softplus"],
    "cnn": ["--input", "1x8x8", "--net", "conv(4, 3, pad=1), relu, maxpool(2), dense(10)"],
}


@needs_pdflatex
@pytest.mark.parametrize("net", sorted(NETWORKS))
def test_derive_latex_pastes_into_a_bare_amsmath_document(tmp_path, capsys, net):
    assert main(["derive", *NETWORKS[net], "--format", "latex"]) == 0
    out = capsys.readouterr().out
    assert "matcalcfit" not in out and "\\matcalc" not in out
    ok, log = _compiles(tmp_path, out)
    assert ok, log
    assert main(["derive", *NETWORKS[net], "--format", "latex", "--shapes"]) == 0
    ok, log = _compiles(tmp_path, capsys.readouterr().out, "\n\\usepackage{amssymb}")
    assert ok, log


@needs_pdflatex
@pytest.mark.parametrize("net", ["hinge", "deep-hinge", "cnn"])
def test_the_notebook_latex_pastes_too(tmp_path, net):
    args = NETWORKS[net]
    model = cnn(args[1], args[3]) if net == "cnn" else mlp(
        [int(n) for n in args[1].split(",")], loss="hinge",
        hidden=args[5].split(",") if net == "deep-hinge" else "sigmoid")
    b = derive(model)
    md = b._repr_markdown_()
    for tex in (b._repr_latex_(), md):
        assert "matcalcfit" not in tex
    ok, log = _compiles(tmp_path, b._repr_latex_())
    assert ok, log
    blocks = re.findall(r"\\begin\{align\*\}.*?\\end\{align\*\}", md, re.S)
    assert len(blocks) == 2                                   # the markdown's formulas
    ok, log = _compiles(tmp_path, "\n".join(blocks))
    assert ok, log


# ------------------------------------------------------------ --format steps

def test_steps_of_a_sum_loss_are_true_equalities():
    """The L2 penalty's one term holds dW1, dW2 and dW3: its line equals the sum of the three
    traces (each line used to repeat the whole term beside one of them)."""
    b = derive(mlp([4, 3, 2], loss="squared-error", l2=True))
    lines = [line for line in steps_text(b.derivation, b.model.concrete()).splitlines()
             if line.startswith("  dL += lam")]
    assert lines == [
        "  dL += lam*(2*tr(W1.T @ dW1) + 2*tr(W2.T @ dW2))/2 = "
        "tr((lam*W1).T @ dW1) + tr((lam*W2).T @ dW2)        [c (a · s′) = (c a) s′; "
        "c (s₁ + s₂) = c s₁ + c s₂; c tr(L) = tr((c I)ᵀ L); tr(Gᵀ A L B) = tr((Aᵀ G Bᵀ)ᵀ L)]"]


def test_steps_of_binary_cross_entropy_are_true_equalities():
    b = derive(mlp([4, 3, 1], loss="binary-cross-entropy"))
    lines = [line for line in steps_text(b.derivation).splitlines()
             if line.startswith("  dL += -sum")]
    assert lines == [
        "  dL += -sum(Y * dA2 / A2 - dA2 * (1 - Y) * 1/(1 - A2))/N = "
        "tr(((-1/N)*(Y / A2)).T @ dA2) + tr((1/N*((1 - Y) * 1/(1 - A2))).T @ dA2)        "
        "[c (a · s′) = (c a) s′; c sum(L) = tr((c 1 1ᵀ)ᵀ L); "
        "tr(Gᵀ (L₁ + L₂)) = tr(Gᵀ L₁) + tr(Gᵀ L₂); tr(Gᵀ (F ⊙ L)) = tr((G ⊙ F)ᵀ L)]"]


@pytest.mark.parametrize("loss,l2", [("binary-cross-entropy", False), ("squared-error", True),
                                     ("cross-entropy", True), ("hinge", False)])
def test_every_output_move_equals_its_term_in_value(loss, l2):
    """Each `dL += term = Σ tr(Ḡᵀ dX)` line of the output, evaluated at random values of
    every matrix and differential: both sides agree."""
    b = derive(mlp([4, 3, 2 if loss != "binary-cross-entropy" else 1], loss=loss, l2=l2))
    sizes = b.model.concrete(batch=5)
    rng = np.random.default_rng(0)
    checked = 0
    for s in _merged_moves(b.derivation.steps):
        if s.kind == "adjoint":
            break
        if s.kind != "move":
            continue
        sides = [sp.sympify(e).xreplace(sizes) for e in (s.before, s.after)]
        diffs = {d: sp.MatrixSymbol("d" + d.var.name, *d.shape) for e in sides
                 for d in e.atoms(Differential)}
        sides = [e.xreplace(diffs) for e in sides]
        values = {m: rng.uniform(0.1, 0.9, tuple(int(n) for n in m.shape))
                  for e in sides for m in e.atoms(sp.MatrixSymbol)}
        values.update({x: 0.3 for e in sides for x in e.free_symbols if x.name == "lam"})
        lhs, rhs = (float(np.squeeze(evaluate(e, values))) for e in sides)
        assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-12), str(s.before)
        checked += 1
    assert checked >= 1


# ------------------------------------------------------------ internal size names

def test_text_output_shows_the_networks_sizes(capsys):
    assert main(["derive", "--layers", "4,10,10", "--loss", "hinge"]) == 0
    out = capsys.readouterr().out
    assert "ones(10, 10) @ (Y * Z2)" in out and "d2" not in out
    assert main(["derive", "--layers", "4,10,10", "--format", "steps"]) == 0
    out = capsys.readouterr().out
    assert "  ones(10, 10) @ Y  →  ones(10, N)        [each column of Y sums to 1]" in out
    assert "d2" not in out and "d1" not in out
    assert main(["derive", "--layers", "4,10,10", "--loss", "hinge", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert "ones(10, 10)" in out and "d2" not in out and "d_{2}" not in out


# ------------------------------------------------------------ report -o

def _report(capsys, output, *extra):
    code = main(["report", "--layers", "4,3,2", "-o", str(output), *extra])
    out, err = capsys.readouterr()
    return code, out, err


@needs_pdflatex
@pytest.mark.parametrize("name", ["a%b", "back\\slash", "x~y", "-lead", ".dot", "two words"])
def test_report_compiles_names_pdflatex_rejects(tmp_path, capsys, name):
    code, out, err = _report(capsys, tmp_path / f"{name}.tex")
    assert code == 0, err
    assert out == f"wrote {tmp_path / (name + '.tex')}\nwrote {tmp_path / (name + '.pdf')}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.pdf", f"{name}.tex"]
    assert (tmp_path / f"{name}.pdf").read_bytes().startswith(b"%PDF")


@needs_pdflatex
def test_report_to_a_pdf_name_writes_the_latex_beside_it(tmp_path, capsys):
    code, out, err = _report(capsys, tmp_path / "r.pdf")
    assert code == 0, err
    assert out == f"wrote {tmp_path / 'r.tex'}\nwrote {tmp_path / 'r.pdf'}\n"
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "r.tex").read_text().startswith("\\documentclass")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.pdf", "r.tex"]


def test_report_to_a_pdf_name_without_a_pdf_is_refused_at_once(tmp_path, capsys):
    code, out, err = _report(capsys, tmp_path / "r.pdf", "--no-pdf")
    assert (code, out) == (2, "")
    assert err == (f"matcalc: error: -o {tmp_path / 'r.pdf'} asks for a PDF, but --no-pdf "
                   f"writes only the LaTeX: give -o {tmp_path / 'r.tex'}\n")
    assert list(tmp_path.iterdir()) == []


FAILING_PDFLATEX = """#!/bin/sh
echo '! Undefined control sequence.' > report.log
touch report.aux texput.log
exit 1
"""


def test_a_failing_pdflatex_points_at_a_log_that_exists(tmp_path, capsys, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pdflatex").write_text(FAILING_PDFLATEX)
    (bin_dir / "pdflatex").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code, out, err = _report(capsys, work / "-a%b.tex")
    assert code == 2
    assert out == f"wrote {work / '-a%b.tex'}\n"
    assert err == f"matcalc: error: pdflatex failed on {work / '-a%b.tex'}; see {work / '-a%b.log'}\n"
    assert (work / "-a%b.log").read_text() == "! Undefined control sequence.\n"
    assert sorted(p.name for p in work.iterdir()) == ["-a%b.log", "-a%b.tex"]   # no texput.log


# ------------------------------------------------------------ assumptions on a scalar

def test_an_assumption_on_a_scalar_variable_reads_as_given(capsys):
    assert main(["grad", "alpha * tr(X)", "--wrt", "alpha", "--assume", "alpha > 0"]) == 0
    out, err = capsys.readouterr()
    assert out == "∂f/∂alpha = tr(X)    (X: n×n, alpha: scalar)\n"
    assert "given that alpha > 0" in err.splitlines() and "tr(alpha)" not in err
    assert main(["grad", "alpha * tr(X)", "--wrt", "alpha", "--assume", "alpha >= 1",
                 "--format", "json"]) == 0
    assert '"alpha ≥ 1"' in capsys.readouterr().out


# ------------------------------------------------------------ the report as a lecture note

def _all_rules():
    """Every rule's identity: the tables' docstrings and the rules of real derivations."""
    import inspect
    from matcalc.calculus import simplify
    from matcalc.calculus.adjoint import MOVES
    from matcalc.calculus.differential import DIFFERENTIALS
    from matcalc.printing.report import CANCEL
    docs = [f.__doc__ or "" for f in list(DIFFERENTIALS.values()) + list(MOVES.values())]
    docs += [f.__doc__ or "" for _, f in inspect.getmembers(simplify, inspect.isfunction)]
    for m in (mlp([3, 4, 2], l2=True, loss="binary-cross-entropy"), CNN):
        docs += [r for s in derive(m).derivation.steps for r in str(s.rule).split("; ")]
    return sorted({d.strip() for d in docs if d.strip()} | {CANCEL})


CNN = cnn("1x6x6", "conv(2, 3, pad=1), relu, maxpool(2), avgpool(3, stride=1), dense(3)")


def test_rules_read_as_mathematics():
    from matcalc.printing.notation import rule_math
    assert rule_math("d(AB) = dA·B + A·dB  (Cookbook 37)") == \
        r"\mathrm{d}(AB)=\mathrm{d}A\cdot B+A\cdot \mathrm{d}B\quad (\text{Cookbook}\ 37)"
    assert rule_math("d(aᵏ) = k aᵏ⁻¹ da") == r"\mathrm{d}(a^{k})=k\,a^{k - 1}\,\mathrm{d}a"
    assert rule_math("each column of Y sums to 1") == \
        r"\text{each column of}\ Y\ \text{sums to}\ 1"
    assert rule_math("tr(Gᵀ f(L)) = tr(to_channels(G)ᵀ L)") == \
        r"\operatorname{tr}(G^{\top}\,f(L))=\operatorname{tr}(\operatorname{channels}(G)^{\top}\,L)"
    assert rule_math("c a X + c b Y = c (a X + b Y): a scalar moves out.") == \
        r"c\,a\,X+c\,b\,Y=c\,(a\,X+b\,Y):\ \text{a scalar moves out.}"


@needs_pdflatex
def test_every_rule_compiles_as_mathematics(tmp_path):
    from matcalc.printing.notation import rule_math
    from matcalc.printing.report import align, document
    rules = _all_rules()
    assert len(rules) > 40
    rows = [rf"x &= 1 \tag*{{\footnotesize ${rule_math(r)}$}}" for r in rules]
    assert not [r for r in rows if any(ord(c) > 127 for c in r)]      # standard LaTeX only
    (tmp_path / "rules.tex").write_text(document("rules", [("Rules", align(
        " \\\\\n".join(rows)))]))
    run = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode",
                          "rules.tex"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    ok, log = _compiles(tmp_path, align(" \\\\\n".join(rows)))     # and in a bare document
    assert ok, log


@needs_pdflatex
def test_the_notebook_derivations_paste_too(tmp_path):
    from matcalc.api import grad
    parts = [derive(m).derivation._repr_latex_() for m in (mlp([3, 4, 2], l2=True), CNN)]
    parts.append(grad("logdet(X)", "X").steps()._repr_latex_())
    for tex in parts:
        assert not [c for c in tex if ord(c) > 127]
    ok, log = _compiles(tmp_path, "\n".join(parts))
    assert ok, log


def test_the_cnn_report_defines_each_operator_where_first_used():
    from matcalc.printing.report import backprop_report
    doc = backprop_report(derive(CNN))
    for code in ("to_channels", "to_samples", "pool_route", "pool_select", "poolmask"):
        assert code not in doc                          # one name for one thing
    for op in ("channels", "unfold", "flatten", "maxpool", "avgpool", "mask", "upsample",
               "spread", "route", "select", "fold"):
        name = rf"\operatorname{{{op}}}"
        if name not in doc:
            continue
        first = doc.index(name)
        definition = doc.find(rf"${name}_{{k}}(") if op not in ("channels", "flatten") \
            else doc.find(rf"${name}(")
        assert definition > 0, op                        # defined …
        section = doc.rfind(r"\section*", 0, first)
        following = doc.find(r"\section*", first)
        following = len(doc) if following < 0 else following
        sub = doc.find(r"\subsection*", first)
        end = min(following, sub if sub > 0 else len(doc))
        assert section < definition < end, op            # … in the part that first uses it
    assert r"\operatorname{route}" in doc and r"\operatorname{select}" in doc


def test_the_derivation_reads_like_a_lecture_note():
    from matcalc.printing.report import backprop_report
    doc = backprop_report(derive(mlp([4, 10, 3], l2=0.01)))
    derivation = doc[doc.index(r"\section*{Derivation"):]
    assert r"\mathrel{+}=" not in derivation and "+=" not in derivation       # no code notation
    assert "each value $V$ named in the forward pass" in derivation      # N is the batch size
    assert r"\overline{N}" not in derivation and r"$N$ of" not in derivation
    assert r"\text{d(" not in derivation                                 # rules are maths
    # the cancellation Y ⊙ S ⊘ S = Y is a line with its rule, not skipped
    assert (r"\overline{Z_{2}} &= \frac{1}{N} \left(S \odot \left(\mathbf{1}_{3\times 3} Y\right)"
            r"\right) - \frac{1}{N} Y \tag*{\footnotesize $A\odot B\oslash B=A:\ \text{an entry divided by "
            r"itself is}\ 1$}") in derivation
    assert r"L2 penalty $\tfrac{\lambda}{2}\sum_l \lVert W_l\rVert_F^2$ with $\lambda = 0.01$" \
        in doc
    forward = doc[doc.index(r"\section*{Forward pass}"):doc.index(r"\section*{Backward pass}")]
    assert "is the Frobenius norm" in forward                          # ‖W‖_F, first used there


OVERFULL = re.compile(r"Overfull \\hbox \((\d+\.\d+)pt too wide\)")


@needs_pdflatex
@pytest.mark.parametrize("model", ["cnn", "bce-l2", "hinge"])
def test_the_reports_compile_without_overfull_lines(tmp_path, model):
    from matcalc.printing.report import backprop_report
    m = {"cnn": CNN, "bce-l2": mlp([6, 5, 1], loss="binary-cross-entropy", l2=0.01),
         "hinge": mlp([4, 10, 10], loss="hinge")}[model]
    (tmp_path / "r.tex").write_text(backprop_report(derive(m)))
    run = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", "r.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    log = (tmp_path / "r.log").read_text(errors="replace")
    assert [float(w) for w in OVERFULL.findall(log)] == []


# ------------------------------------------------------------ λ by its value

L2 = ["--layers", "4,3,2", "--l2", "0.01"]


def test_derive_states_the_value_of_lambda(capsys):
    assert main(["derive", *L2]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == ["lam = 0.01",
                                                       "Z1 = W1 @ X + b1 @ ones(1, N)"]
    assert main(["derive", *L2, "--format", "steps"]) == 0
    assert capsys.readouterr().out.startswith("lam = 0.01\nZ1 = ")
    assert main(["derive", *L2, "--format", "latex"]) == 0
    assert capsys.readouterr().out.startswith("\\begin{align*}\n\\lambda &= 0.01 \\\\\nZ_{1} &= ")
    assert main(["derive", *L2, "--format", "json"]) == 0
    assert '"lambda": 0.01' in capsys.readouterr().out
    assert main(["derive", "--layers", "4,3,2", "--l2", "lam"]) == 0     # a symbol: no value
    assert "lam =" not in capsys.readouterr().out


def test_the_training_log_states_lambda(tmp_path, capsys):
    assert main(["train", "--layers", "64,8,10", "--l2", "0.01", "--epochs", "1",
                 "-o", str(tmp_path / "w.npz")]) == 0
    err = capsys.readouterr().err
    assert ("training 64-8-10 on digits: 1346 training and 451 test samples; L2 penalty "
            "λ = 0.01") in err.splitlines()


def test_the_notebook_shows_the_networks_sizes():
    b = derive(mlp([4, 10, 10], loss="hinge"))
    for tex in (b._repr_latex_(), b._repr_markdown_()):
        assert r"\mathbf{1}_{10\times 10}" in tex and "d_{2}" not in tex


def test_softmax_is_defined_along_its_axis():
    from matcalc.printing.report import backprop_report
    rows = backprop_report(derive(mlp([4, 5, 3], layout="rows")))
    assert r"$\operatorname{softmax}_{\mathrm{row}}(Z)$ is $\exp$ of $Z$ divided by its row " \
        r"sums" in rows and "column sums" not in rows
    columns = backprop_report(derive(mlp([4, 5, 3])))
    assert "divided by its column sums (each column of $S$ sums to 1)" in columns


def test_every_activation_is_defined_in_the_report():
    """Each activation a network can use has its sentence (its record's `definition`,
    core/functions.py), and the report gives it where the activation is first used."""
    from matcalc.nn.layers import ACTIVATIONS
    from matcalc.printing.notation import FUNCTION_DEFINITIONS
    from matcalc.printing.report import backprop_report
    hidden = [a for a in ACTIVATIONS if a not in ("identity", "tanh")]   # tanh: standard
    assert set(hidden) <= set(FUNCTION_DEFINITIONS)
    doc = backprop_report(derive(mlp([3] + [2] * len(hidden) + [2], hidden=hidden)))
    forward = doc[doc.index(r"\section*{Forward pass}"):doc.index(r"\section*{Backward pass}")]
    for name in hidden:
        assert FUNCTION_DEFINITIONS[name] + " (entry by entry)" in forward, name


def test_a_printed_backprop_shows_the_networks_sizes():
    b = derive(mlp([4, 10, 10], loss="hinge"))
    assert "ones(10, 10) @ (Y * Z2)" in str(b) and "d2" not in str(b)
