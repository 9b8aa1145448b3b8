"""printing/report.py: programs, derivations and documents in text and LaTeX, exact strings."""
import pytest

from matcalc.api import grad
from matcalc.nn.backprop import derive
from matcalc.nn.spec import mlp
from matcalc.printing.report import (PREAMBLE, align, backprop_report, document, escape,
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
        zip(BACKWARD.splitlines(), ["3×7", "5×7", "3×5", "3×1", "5×4", "5×1"]))
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
    shapes = [r"5 \times N", r"5 \times N", r"3 \times N", r"3 \times N", r"\text{scalar}"]
    assert program_latex(b.forward, shapes=True, subs=MODEL.concrete()) == " \\\\\n".join(
        rf"{row} && \in \mathbb{{R}}^{{{s}}}" for row, s in zip(FORWARD_LATEX, shapes))
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
        "  tr(A @ dX @ B) = tr((A.T @ B.T).T @ dX)",
    ])


def test_steps_text_of_a_network(b):
    lines = steps_text(b.derivation).splitlines()
    assert lines[0] == "  d(log(S)) = dS / S        [d f(A) = f′(A) ⊙ dA]"
    assert "dL = -sum(Y * dS / S)/N" in lines                                 # result
    assert "  softmax(Z2)  →  S        [reuse the forward value by its name]" in lines
    assert "  ones(d2, d2) @ Y  →  ones(d2, N)        [each column of Y sums to 1]" in lines
    assert "delta2 := S - Y        [∂L/∂Z2 = 1/N·delta2]" in lines            # δ's
    assert "delta1 := (W2.T @ delta2) * A1*(1 - A1)        [∂L/∂Z1 = 1/N·delta1]" in lines
    assert lines[-1] == "  db1 @ ones(1, N) = tr((1/N*delta1 @ ones(N, 1)).T @ db1)"   # move
    assert len(lines) == len(b.derivation.steps)


def test_steps_latex_rows(b):
    rows = steps_latex(b.derivation).split(" \\\\\n")
    assert rows[0] == (r"\mathrm{d}\left(\log\left(S\right)\right) &= "
                       r"\mathrm{d}S \odot S^{\circ -1}")
    assert r"\delta_{2} &:= S - Y" in rows
    kinds = [s.kind for s in b.derivation.steps if s.kind != "result"]
    assert len(rows) == len(kinds)


def test_gradient_steps_text():
    assert gradient_steps_text(grad("logdet(X)", "X")) == "\n".join([
        "f = logdet(X)",
        "",
        "Differentials, one rule per node:",
        "  d(logdet(X)) = tr(inv(X) @ dX)",
        "      by d log det(A) = tr(A⁻¹ dA)  (Cookbook 57)",
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
    assert backward + "\n\nGiven that each column of Y sums to 1 (one-hot targets)." in doc
    assert align(steps_latex(b.derivation)) in doc
    assert backprop_report(b).splitlines()[14] == r"\title{Backpropagation derived by matcalc}"


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
