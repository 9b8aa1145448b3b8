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
