"""printing/report.py: programs, derivations and documents in text and LaTeX, exact strings;
the report compiled by pdflatex, its log read for overfull lines."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from matcalc.api import grad
from matcalc.cli import main
from matcalc.nn.backprop import derive
from matcalc.nn.spec import mlp
from matcalc.printing.report import (PREAMBLE, _rule_tex, align, backprop_report, document, escape,
                                     gradient_names, gradient_steps_text, program_latex,
                                     program_text, steps_latex, steps_text)

MODEL = mlp([4, 5, 3])


@pytest.fixture(scope="module")
def b():
    return derive(MODEL)


FORWARD = """\
Z1 = W1 @ X + b1 @ ones(1, N)
A1 = sigmoid(Z1)
Z2 = W2 @ A1 + b2 @ ones(1, N)
S = softmax(Z2)
L = -sum(Y * log(S))/N"""

BACKWARD = """\
delta2 = S - Y
delta1 = (W2.T @ delta2) * A1*(1 - A1)
dW2 = 1/N*delta2 @ A1.T
db2 = 1/N*delta2 @ ones(N, 1)
dW1 = 1/N*delta1 @ X.T
db1 = 1/N*delta1 @ ones(N, 1)"""


def _padded(rows):
    return "\n".join(f"{line:60s}  ({dims})" for line, dims in rows)


def test_program_text(b):
    assert program_text(b.forward) == FORWARD
    assert program_text(b.backward) == BACKWARD


def test_program_text_with_shapes(b):
    lines = FORWARD.splitlines()
    assert program_text(b.forward, shapes=True, subs=MODEL.concrete()) == _padded(
        zip(lines, ["5×N", "5×N", "3×N", "3×N", "scalar"]))
    assert program_text(b.forward, shapes=True) == _padded(
        zip(lines, ["d1×N", "d1×N", "d2×N", "d2×N", "scalar"]))
    assert program_text(b.backward, shapes=True, subs=MODEL.concrete(7)) == _padded(
        zip(BACKWARD.replace("N", "7").splitlines(),    # the sizes fill the formulas too
            ["3×7", "5×7", "3×5", "3×1", "5×4", "5×1"]))
    first = program_text(b.forward, shapes=True, subs=MODEL.concrete()).splitlines()[0]
    assert first == "Z1 = W1 @ X + b1 @ ones(1, N)" + " " * 33 + "(5×N)"


FORWARD_LATEX = [
    r"Z_{1} &= W_{1} X + b_{1} \mathbf{1}_{N}^{\top}",
    r"A_{1} &= \sigma\left(Z_{1}\right)",
    r"Z_{2} &= W_{2} A_{1} + b_{2} \mathbf{1}_{N}^{\top}",
    r"S &= \operatorname{softmax}\left(Z_{2}\right)",
    r"L &= - \frac{\operatorname{sum}\left(Y \odot \log\left(S\right)\right)}{N}",
]

BACKWARD_LATEX = [
    r"\delta_{2} &= S - Y",
    r"\delta_{1} &= \left(W_{2}^{\top} \delta_{2}\right) \odot A_{1} \odot \left(1 - A_{1}\right)",
    r"\frac{\partial L}{\partial W_{2}} &= \frac{1}{N} \delta_{2} A_{1}^{\top}",
    r"\frac{\partial L}{\partial b_{2}} &= \frac{1}{N} \delta_{2} \mathbf{1}_{N}",
    r"\frac{\partial L}{\partial W_{1}} &= \frac{1}{N} \delta_{1} X^{\top}",
    r"\frac{\partial L}{\partial b_{1}} &= \frac{1}{N} \delta_{1} \mathbf{1}_{N}",
]


def test_program_latex(b):
    assert program_latex(b.forward) == " \\\\\n".join(FORWARD_LATEX)
    assert program_latex(b.backward, names=gradient_names(b)) == " \\\\\n".join(BACKWARD_LATEX)
    assert program_latex(b.backward).splitlines()[2] == \
        r"dW_{2} &= \frac{1}{N} \delta_{2} A_{1}^{\top} \\"     # dW2 is a name, not d(W2)


def test_program_latex_with_shapes(b):
    spaces = [r"\mathbb{R}^{5 \times N}", r"\mathbb{R}^{5 \times N}", r"\mathbb{R}^{3 \times N}",
              r"\mathbb{R}^{3 \times N}", r"\mathbb{R}"]              # a scalar: ℝ
    assert program_latex(b.forward, shapes=True, subs=MODEL.concrete()) == " \\\\\n".join(
        rf"{row} && \in {s}" for row, s in zip(FORWARD_LATEX, spaces))
    assert program_latex(b.forward, shapes=True).splitlines()[0] == \
        r"Z_{1} &= W_{1} X + b_{1} \mathbf{1}_{N}^{\top} && \in \mathbb{R}^{d_{1} \times N} \\"


def test_gradient_names(b):
    names = {g.name: tex for g, tex in gradient_names(b).items()}
    assert names == {"dW1": r"\frac{\partial L}{\partial W_{1}}",
                     "db1": r"\frac{\partial L}{\partial b_{1}}",
                     "dW2": r"\frac{\partial L}{\partial W_{2}}",
                     "db2": r"\frac{\partial L}{\partial b_{2}}"}
    assert set(gradient_names(b)) == set(b.gradients.values())


def test_steps_text_of_a_gradient():
    assert steps_text(grad("tr(A @ X @ B)", "X").derivation) == "\n".join([
        "  d(A @ X @ B) = A @ dX @ B        [d(AB) = dA·B + A·dB  (Cookbook 37)]",
        "  d(tr(A @ X @ B)) = tr(A @ dX @ B)        [d tr(A) = tr(dA)  (Cookbook 36)]",
        "df = tr(A @ dX @ B)",
        "  df += tr(A @ dX @ B) = tr((A.T @ B.T).T @ dX)        "
        "[c tr(L) = tr((c I)ᵀ L); tr(Gᵀ A L B) = tr((Aᵀ G Bᵀ)ᵀ L)]",
    ])


def test_steps_text_of_a_network(b):
    lines = steps_text(b.derivation).splitlines()
    assert lines[0] == "  d(log(S)) = dS / S        [d f(A) = f′(A) ⊙ dA]"
    assert "dL = -sum(Y * dS / S)/N" in lines                                 # result
    assert "  softmax(Z2)  →  S        [reuse the forward value by its name]" in lines
    assert "  ones(d2, d2) @ Y  →  ones(d2, N)        [each column of Y sums to 1]" in lines
    assert "delta2 := S - Y        [∂L/∂Z2 = 1/N·delta2]" in lines            # δ's
    assert "delta1 := (W2.T @ delta2) * A1*(1 - A1)        [∂L/∂Z1 = 1/N·delta1]" in lines
    assert "∂L/∂A1 = 1/N*W2.T @ delta2" in lines                              # an adjoint
    # each move is a contribution to dL, never a matrix equal to a scalar
    assert lines[-1] == ("  dL += tr((∂L/∂Z1).T @ (db1 @ ones(1, N))) = "
                         "tr((1/N*delta1 @ ones(N, 1)).T @ db1)        "
                         "[tr(Gᵀ A L B) = tr((Aᵀ G Bᵀ)ᵀ L)]")
    assert ("  dL += -sum(Y * dS / S)/N = tr(((-1/N)*(Y / S)).T @ dS)        [c (a · s′) = "
            "(c a) s′; c sum(L) = tr((c 1 1ᵀ)ᵀ L); tr(Gᵀ (F ⊙ L)) = tr((G ⊙ F)ᵀ L)]") in lines
    assert len(lines) == len(b.derivation.steps) == len(set(lines))          # none twice


def test_steps_latex_rows(b):
    rows = steps_latex(b.derivation).split(" \\\\\n")
    assert rows[0] == (r"\mathrm{d}\left(\log\left(S\right)\right) &= "
                       r"\mathrm{d}S \odot S^{\circ -1} \tag*{$\mathrm{d}\,f(A)=f^{\prime}(A)"
                       r"\odot \mathrm{d}A$}")           # standard LaTeX, for MathJax too
    assert r"\delta_{2} &:= S - Y" in rows
    assert r"\overline{A_{1}} &= \frac{1}{N} W_{2}^{\top} \delta_{2}" in rows    # adjoint
    # a term of dZ2 contributes tr(Z̄2ᵀ term) to dL, which the move writes as tr(Ḡᵀ dX)
    assert (r"\operatorname{tr}\left(\overline{Z_{2}}^{\top} W_{2} \mathrm{d}A_{1}\right) &= "
            r"\operatorname{tr}\left(\left(\frac{1}{N} W_{2}^{\top} \delta_{2}\right)^{\top} "
            r"\mathrm{d}A_{1}\right) \tag*{$\operatorname{tr}(G^{\top}\,A\,L\,B)="
            r"\operatorname{tr}((A^{\top}\,G\,B^{\top})^{\top}\,L)$}") in rows
    assert not [r for r in rows if r"\mathrel{+}=" in r]         # no code notation
    assert len(rows) == len(set(rows))


def test_gradient_steps_text():
    assert gradient_steps_text(grad("logdet(X)", "X")) == "\n".join([
        "f = logdet(X)",
        "",
        "Differentials, one rule per node:",
        "  d(logdet(X)) = tr(inv(X) @ dX)",
        "      by d log det(A) = tr(A⁻¹ dA)  (Cookbook 43)",
        "",
        "df = tr(inv(X) @ dX)",
        "",
        "df = tr(Gᵀ dX)  ⇒  ∂f/∂X = inv(X).T",
    ])


def test_gradient_steps_text_with_moves_simplification_and_assumption():
    text = gradient_steps_text(grad("-sum(Y * logsoftmax(W @ X))", "W",
                                    assume=["sum(Y, axis=0) == 1"]))
    lines = text.splitlines()
    assert lines[:3] == ["f = -sum(Y * logsoftmax(W @ X))", "",
                         "Differentials, one rule per node:"]
    assert ("Trace moves, tr(AB) = tr(BA), tr(Aᵀ) = tr(A), tr(Gᵀ(F ⊙ L)) = tr((G ⊙ F)ᵀ L):"
            in lines)
    i = lines.index("Simplify:")
    assert lines[i + 1:i + 3] == ["  ones(n, n) @ Y = ones(n, m)",
                                  "      by each column of Y sums to 1"]
    assert lines[-2:] == ["df = tr(Gᵀ dW)  ⇒  ∂f/∂W = (softmax(W @ X) - Y) @ X.T",
                          "given that each column of Y sums to 1"]


@pytest.mark.parametrize("plain, escaped", [
    ("net_1", r"net\_1"),
    ("50% & #3", r"50\% \& \#3"),
    ("$5", r"\$5"),
    ("plain words", "plain words"),
])
def test_escape(plain, escaped):
    assert escape(plain) == escaped


@pytest.mark.parametrize("ch", ["^", "~", "\\", "{", "}"])
def test_escape_all_tex_specials(ch):
    assert escape(f"a{ch}b") != f"a{ch}b"


def test_document_structure():
    doc = document("T_1", [("One", "body 1"), ("Two", "body 2")])
    assert doc == PREAMBLE + "\n" + "\n".join([
        r"\title{T\_1}", r"\date{}", r"\begin{document}", r"\maketitle",
        r"\section*{One}", "body 1", r"\section*{Two}", "body 2", r"\end{document}"]) + "\n"
    assert doc.startswith(r"\documentclass[11pt]{article}")
    assert align("x &= 1") == "\\begin{align*}\nx &= 1\n\\end{align*}"


def _sections(doc):
    return [line[len(r"\section*{"):-1] for line in doc.splitlines()
            if line.startswith(r"\section*{")]


# Rules on a page are mathematics: letters italic, operators upright, words as text.
COOKBOOK_37 = (r"\tag*{\footnotesize $\mathrm{d}(AB)=\mathrm{d}A\cdot B+A\cdot \mathrm{d}B\quad "
               r"(\text{Cookbook}\ 37)$}")
MOVE_ALB = (r"\tag*{\footnotesize $\operatorname{tr}(G^{\top}\,A\,L\,B)=\operatorname{tr}("
            r"(A^{\top}\,G\,B^{\top})^{\top}\,L)$}")


def test_backprop_report(b):
    doc = backprop_report(b, title="net_1 & more")
    assert doc.startswith(r"\documentclass")
    assert doc.endswith("\\end{document}\n")
    assert r"\title{net\_1 \& more}" in doc.splitlines()
    assert _sections(doc) == ["Model", "Forward pass", "Backward pass",
                              "Derivation by the trace trick"]
    assert ("A feed-forward network with layer sizes 4, 5, 3 (hidden activations: sigmoid; "
            "output: softmax; loss: cross-entropy; mean over the batch of $N$ samples; samples "
            "as columns; bias on).") in doc
    assert align(" \\\\\n".join([r"X &\in \mathbb{R}^{4 \times N}",
                                 r"Y &\in \mathbb{R}^{3 \times N}",
                                 r"W_{1} &\in \mathbb{R}^{5 \times 4}",
                                 r"b_{1} &\in \mathbb{R}^{5 \times 1}",
                                 r"W_{2} &\in \mathbb{R}^{3 \times 5}",
                                 r"b_{2} &\in \mathbb{R}^{3 \times 1}"])) in doc
    forward = align(" \\\\\n".join(FORWARD_LATEX))
    backward = align(" \\\\\n".join(BACKWARD_LATEX))
    assert forward in doc and backward in doc
    assert doc.index(r"\section*{Forward pass}") < doc.index(forward) < \
        doc.index(r"\section*{Backward pass}") < doc.index(backward) < \
        doc.index(r"\section*{Derivation by the trace trick}")
    assert backward + "\n\n" + (r"Given that $\text{each column of}\ Y\ \text{sums to}\ 1$ "
                               "(one-hot targets).") in doc
    derivation = doc[doc.index(r"\section*{Derivation by the trace trick}"):]
    assert align(" \\\\\n".join([
        r"Z_{1} &= W_{1} X + b_{1} \mathbf{1}_{N}^{\top}",
        r"\overline{Z_{1}} &= \frac{1}{N} \left(\left(W_{2}^{\top} \delta_{2}\right) \odot "
        r"\left(1 - \sigma\left(Z_{1}\right)\right) \odot \sigma\left(Z_{1}\right)\right)",
        r"\left(1 - \sigma\left(Z_{1}\right)\right) \odot \sigma\left(Z_{1}\right) &= A_{1} "
        r"\odot \left(1 - A_{1}\right) \tag*{\footnotesize $\text{write the derivative through "
        r"the activation's output}$}",
        r"\overline{Z_{1}} &= \frac{1}{N} \delta_{1}",
        r"\delta_{1} &:= \left(W_{2}^{\top} \delta_{2}\right) \odot A_{1} \odot \left(1 - "
        r"A_{1}\right)",
        r"\mathrm{d}\left(W_{1} X\right) &= \mathrm{d}W_{1} X " + COOKBOOK_37,
        r"\mathrm{d}\left(b_{1} \mathbf{1}_{N}^{\top}\right) &= \mathrm{d}b_{1} "
        r"\mathbf{1}_{N}^{\top} " + COOKBOOK_37,
        r"\mathrm{d}Z_{1} &= \mathrm{d}W_{1} X + \mathrm{d}b_{1} \mathbf{1}_{N}^{\top} "
        r"\tag*{\footnotesize $\mathrm{d}(A+B)=\mathrm{d}A+\mathrm{d}B\quad (\text{Cookbook}\ "
        r"35)$}",
        r"\operatorname{tr}\left(\overline{Z_{1}}^{\top} \mathrm{d}W_{1} X\right) &= "
        r"\operatorname{tr}\left(\left(\frac{1}{N} \delta_{1} X^{\top}\right)^{\top} "
        r"\mathrm{d}W_{1}\right) " + MOVE_ALB,
        r"&\operatorname{tr}\left(\overline{Z_{1}}^{\top} \mathrm{d}b_{1} \mathbf{1}_{N}^{\top}"
        r"\right) " + MOVE_ALB,                # with its rule, too wide for one line
        r"&\quad = \operatorname{tr}\left(\left(\frac{1}{N} \delta_{1} \mathbf{1}_{N}\right)"
        r"^{\top} \mathrm{d}b_{1}\right)"])) in derivation
    assert [line for line in derivation.splitlines() if line.startswith(r"\subsection*")] == [
        r"\subsection*{$L$}", r"\subsection*{$S$}", r"\subsection*{$Z_{2}$}",
        r"\subsection*{$A_{1}$}", r"\subsection*{$Z_{1}$}"]
    assert r"\title{Backpropagation derived by matcalc}" in backprop_report(b).splitlines()


def test_backprop_report_of_a_rows_l2_model():
    m = mlp([3, 4, 2], hidden="relu", loss="mse", l2=True, layout="rows", bias=False,
            reduction="sum")
    doc = backprop_report(derive(m))
    assert ("A feed-forward network with layer sizes 3, 4, 2 (hidden activations: relu; "
            "output: identity; loss: squared-error; sum over the batch of $N$ samples; samples "
            r"as rows; bias off; L2 penalty $\tfrac{\lambda}{2}\sum_l \lVert W_l\rVert_F^2$).") \
        in doc
    assert r"X &\in \mathbb{R}^{N \times 3} \\" in doc.splitlines()
    assert r"W_{1} &\in \mathbb{R}^{3 \times 4} \\" in doc.splitlines()
    assert r"Z_{1} &= X W_{1} \\" in doc.splitlines()
    assert "Given that" not in doc


# ------------------------------------------------------------ the report as a document

def _derivation(doc):
    return doc[doc.index(r"\section*{Derivation by the trace trick}"):]


def test_moves_are_contributions_to_dL_never_a_matrix_equal_to_a_scalar(b):
    rows = [r for r in _derivation(backprop_report(b)).splitlines() if "&" in r]
    traces = [r for r in rows if r"&= \operatorname{tr}" in r or r"= \operatorname{tr}" in r]
    assert traces
    for r in traces:          # tr(…) equals only a term's share of dL, tr(N̄ᵀ term), or dL
        lhs = r.split("&")[0].strip()
        assert lhs == "" or lhs.startswith(r"\operatorname{tr}\left(\overline{"), r
    assert r"\mathrel{+}=" not in _derivation(backprop_report(b))


def test_the_report_has_no_row_twice_and_names_each_rule(b):
    derivation = _derivation(backprop_report(b))
    rows = [r.rstrip(" \\") for r in derivation.splitlines() if "&" in r]
    assert len(rows) == len(set(rows))
    untagged = [r.split(r"\tag*")[0] for r in rows]
    assert sum(r.count(r"\operatorname{softmax}") for r in untagged) == 1   # S after S := …
    for r in rows:
        if r.startswith(r"\mathrm{d}\left(") or r.startswith(r"\mathrm{d}Z"):
            assert r"\tag*{\footnotesize $\mathrm{d}" in r, r          # a differential's rule
    assert COOKBOOK_37 in derivation
    assert (r"$\mathrm{d}(A+B)=\mathrm{d}A+\mathrm{d}B\quad (\text{Cookbook}\ 35)$"
            in derivation)
    assert (r"$\mathrm{d}(A\odot B)=\mathrm{d}A\odot B+A\odot \mathrm{d}B\quad (\text{Cookbook}\ "
            r"38)$"
            in derivation)


def test_concrete_sizes_and_real_scalars_in_the_report():
    doc = backprop_report(derive(mlp([64, 128, 10])))
    assert r"\mathbf{1}_{10\times 10}" in doc and "d_{" not in doc      # no symbolic d1, d2
    assert r"W_{1} &\in \mathbb{R}^{128 \times 64}" in doc
    assert r"\text{scalar}" not in doc


def test_the_moves_of_one_term_are_summed():
    """The L2 penalty's one term holds dW1 and dW2: its contribution is the sum."""
    rows = steps_latex(derive(mlp([3, 4, 2], l2=True)).derivation).split(" \\\\\n")
    i = next(i for i, r in enumerate(rows) if r.startswith(r"\frac{\lambda"))
    assert rows[i].startswith(
        r"\frac{\lambda \left(2 \operatorname{tr}\left(W_{1}^{\top} \mathrm{d}W_{1}\right) + "
        r"2 \operatorname{tr}\left(W_{2}^{\top} \mathrm{d}W_{2}\right)\right)}{2} &= "
        r"\operatorname{tr}\left(\left(\lambda W_{1}\right)^{\top} \mathrm{d}W_{1}\right) + "
        r"\operatorname{tr}\left(\left(\lambda W_{2}\right)^{\top} \mathrm{d}W_{2}\right)")
    assert (r"\tag*{$c\,(a\cdot s^{\prime})=(c\,a)s^{\prime};\ c\,(s_{1}+s_{2})=c\,s_{1}+"
            r"c\,s_{2};") in rows[i]
    doc = backprop_report(derive(mlp([3, 4, 2], l2=True)))       # on a page, one per line:
    assert (r"\tag*{\footnotesize \begin{tabular}[t]{@{}r@{}}$c\,(a\cdot s^{\prime})=(c\,a)"
            r"s^{\prime}$\\") in doc


def test_every_rule_prints_in_the_document():
    """Each character of every rule's identity (the tables' docstrings) has its LaTeX."""
    import inspect
    from matcalc.calculus import simplify
    from matcalc.calculus.adjoint import MOVES
    from matcalc.calculus.differential import DIFFERENTIALS
    from matcalc.printing.report import UNICODE
    docs = [f.__doc__ or "" for f in list(DIFFERENTIALS.values()) + list(MOVES.values())]
    docs += [f.__doc__ or "" for _, f in inspect.getmembers(simplify, inspect.isfunction)]
    missing = {c for d in docs for c in d if ord(c) > 127 and c not in UNICODE}
    assert missing <= {"\u0304"}, f"add to UNICODE in printing/report.py: {sorted(missing)}"
    assert all(f"\\DeclareUnicodeCharacter{{{ord(c):04X}}}" in PREAMBLE for c in UNICODE)
    assert _rule_tex("tr(N̄ᵀ dN)") == r"\text{tr(\ensuremath{\bar{N}}ᵀ dN)}"
    if shutil.which("pdflatex"):       # and each one compiles, as a tag does
        import tempfile
        rows = [rf"x &= 1 \tag*{{\footnotesize {_rule_tex(d.strip())}}}" for d in docs
                if d.strip()]
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "rules.tex").write_text(document("rules", [("Rules", align(
                " \\\\\n".join(rows)))]))
            run = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode",
                                  "rules.tex"], cwd=tmp, capture_output=True, text=True,
                                 timeout=300)
            assert run.returncode == 0, run.stdout[-2000:]


OVERFULL = re.compile(r"Overfull \\hbox \((\d+\.\d+)pt too wide\)")


@pytest.mark.skipif(not shutil.which("pdflatex"), reason="pdflatex not installed")
@pytest.mark.parametrize("sizes", [[64, 128, 10], [64, 128, 64, 32, 16, 10]],
                         ids=["readme", "four-hidden"])
def test_the_report_compiles_without_overfull_lines(tmp_path, sizes):
    tex = tmp_path / "r.tex"
    tex.write_text(backprop_report(derive(mlp(sizes))))
    run = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", tex.name],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:]
    log = (tmp_path / "r.log").read_text(errors="replace")
    assert "Output written on r.pdf" in log
    widths = [float(w) for w in OVERFULL.findall(log)]
    assert all(w <= 10 for w in widths), widths


# ------------------------------------------------------------ matcalc report, derive

README_NET = ["--layers", "64,128,10", "--hidden", "sigmoid", "--loss", "cross-entropy"]


@pytest.mark.skipif(not shutil.which("pdflatex"), reason="pdflatex not installed")
def test_report_removes_the_files_it_made_and_only_those(tmp_path, capsys):
    assert main(["report", *README_NET, "-o", str(tmp_path / "a.tex")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pdf", "a.tex"]
    (tmp_path / "b.aux").write_text("\\relax\n")          # the user's own, from an earlier run
    assert main(["report", *README_NET, "-o", str(tmp_path / "b.tex")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pdf", "a.tex", "b.aux", "b.pdf",
                                                         "b.tex"]
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'b.pdf'}" in out


def test_derive_latex_keeps_the_assumption_line(capsys):
    assert main(["derive", *README_NET, "--format", "latex"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("\\begin{align*}") and "given that" not in out
    assert "given that each column of Y sums to 1 (one-hot targets)" in err.splitlines()
