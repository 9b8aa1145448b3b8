"""LaTeX printer: exact strings for every node, grouping by precedence, strictness, and a
real pdflatex compile."""
import shutil
import subprocess

import pytest
import sympy as sp
from sympy import MatAdd, MatMul, MatrixExpr, Transpose

from matcalc.core.errors import NoRuleError
from matcalc.core.expr import (Differential, Elementwise, T, add, apply, det, diag, divide,
                          entry_sum, eye, hadamard, inverse, logdet, logsoftmax, logsumexp,
                          matmul, matrix, norm, ones, power, scalar, softmax, sub, trace,
                          transpose, vector, zeros)
from matcalc.printing.latex import MatcalcLatexPrinter, latex

A = matrix("A", 2, 3)
B = matrix("B", 4, 2)
X = matrix("X", 3, 4)
S = matrix("A", 3, 3)       # square A for (A + Aᵀ) X
Q = matrix("X", 3, 3)       # square X for det and inverse
D = matrix("A", 5, 3)
P = matrix("B", 5, 4)
W = matrix("W", 2, 3)
XN = matrix("X", 3, "N")
XL = matrix("X", "N", 3)    # logistic regression design matrix
Y = matrix("Y", 2, "N")
b = vector("b", 2)
v = vector("v", 3)
y = vector("y", "N")
w = vector("w", 3)
lam = scalar("lambda")

LOGISTIC = matmul(transpose(XL), hadamard(y, sub(1, apply("sigmoid", hadamard(y, matmul(XL, w))))))
SOFTMAX_CE = matmul(sub(softmax(matmul(W, XN)), Y), transpose(XN))

# The gradients of the task, in the notation a textbook uses.
GRADIENTS = [
    ("tr(A X B) wrt X", matmul(transpose(A), transpose(B)), r"A^{\top} B^{\top}"),
    ("tr(Xᵀ A X) wrt X", matmul(add(S, transpose(S)), X), r"\left(A + A^{\top}\right) X"),
    ("‖A X − B‖² wrt X", matmul(2, transpose(D), sub(matmul(D, X), P)),
     r"2 A^{\top} \left(A X - B\right)"),
    ("inv(X)ᵀ", transpose(inverse(Q)), r"X^{-\top}"),
    ("logistic loss wrt w", LOGISTIC,
     r"X^{\top} \left(y \odot \left(1 - \sigma\left(y \odot \left(X w\right)\right)\right)"
     r"\right)"),
    ("softmax cross-entropy wrt W", SOFTMAX_CE,
     r"\left(\operatorname{softmax}\left(W X\right) - Y\right) X^{\top}"),
    ("det(X) wrt X", matmul(det(Q), transpose(inverse(Q))), r"\det\left(X\right) X^{-\top}"),
]


@pytest.mark.parametrize("name, e, tex", GRADIENTS, ids=[g[0] for g in GRADIENTS])
def test_gradients_print_in_textbook_form(name, e, tex):
    assert latex(e) == tex


def test_inverse_transpose_is_one_notation():
    """X^{-⊤} is the chosen notation for both (X⁻¹)ᵀ and (Xᵀ)⁻¹, which are equal."""
    assert latex(Transpose(inverse(Q))) == latex(inverse(Transpose(Q))) == r"X^{-\top}"
    assert latex(Transpose(inverse(add(Q, eye(3))))) == r"\left(X + I_{3}\right)^{-\top}"


@pytest.mark.parametrize("e, tex", [
    (A, "A"),
    (matrix("W1", 2, 3), "W_{1}"),
    (Differential(X), r"\mathrm{d}X"),
    (matmul(A, Differential(X)), r"A \mathrm{d}X"),
    (Transpose(Differential(X)), r"\mathrm{d}X^{\top}"),
    (eye("n"), r"I_{n}"),
    (zeros(2, 3), "0"),
    (ones(2, 3), r"\mathbf{1}_{2\times 3}"),
    (ones("N", 1), r"\mathbf{1}_{N}"),
    (ones(1, "N"), r"\mathbf{1}_{N}^{\top}"),
    (add(matmul(W, XN), matmul(b, ones(1, "N"))), r"W X + b \mathbf{1}_{N}^{\top}"),
    (matmul(A, ones(3, 1)), r"A \mathbf{1}_{3}"),
    (matmul(2, ones(2, 3)), r"2 \mathbf{1}_{2\times 3}"),
    (sub(1, apply("sigmoid", A)), r"1 - \sigma\left(A\right)"),
    (sub(A, matmul(lam + 1, ones(2, 3))), r"A - \left(\lambda + 1\right)"),
    (matmul(-2, A, X), r"- 2 A X"),
    (matmul(sp.Rational(1, 2), A), r"\frac{1}{2} A"),
    (matmul(lam, A), r"\lambda A"),
    (matmul(lam + 1, A), r"\left(\lambda + 1\right) A"),
    (sub(Q, matmul(2, inverse(Q), transpose(Q))), r"X - 2 X^{-1} X^{\top}"),
    (hadamard(A, W), r"A \odot W"),
    (matmul(W, transpose(hadamard(A, W))), r"W \left(A^{\top} \odot W^{\top}\right)"),
    (Transpose(MatAdd(A, W)), r"\left(A + W\right)^{\top}"),
    (Transpose(MatMul(A, X)), r"\left(A X\right)^{\top}"),
    (inverse(S), r"A^{-1}"),
    (inverse(add(S, eye(3))), r"\left(A + I_{3}\right)^{-1}"),
    (diag(v), r"\operatorname{diag}\left(v\right)"),
    (matmul(diag(v), X), r"\operatorname{diag}\left(v\right) X"),
    (diag(Q), r"\operatorname{diag}\left(X\right)"),
    (softmax(XN), r"\operatorname{softmax}\left(X\right)"),
    (softmax(XN, 1), r"\operatorname{softmax}_{\mathrm{row}}\left(X\right)"),
    (logsoftmax(XN), r"\log\operatorname{softmax}\left(X\right)"),
    (logsumexp(XN), r"\operatorname{logsumexp}\left(X\right)"),
    (Transpose(softmax(XN)), r"\operatorname{softmax}\left(X\right)^{\top}"),
])
def test_node_notation(e, tex):
    assert latex(e) == tex


@pytest.mark.parametrize("e, tex", [
    (trace(matmul(A, X, B)), r"\operatorname{tr}\left(A X B\right)"),
    (det(Q), r"\det\left(X\right)"),
    (logdet(Q), r"\log\det\left(X\right)"),
    (entry_sum(A), r"\operatorname{sum}\left(A\right)"),
    (norm(A), r"\left\lVert A\right\rVert_{F}"),
    (norm(A) ** 2, r"\left\lVert A\right\rVert_{F}^{2}"),
    (2 * lam * trace(Q), r"2 \lambda \operatorname{tr}\left(X\right)"),
    (trace(Q) / det(Q), r"\frac{\operatorname{tr}\left(X\right)}{\det\left(X\right)}"),
    (apply("sigmoid", sp.Symbol("x")) ** 2, r"\sigma\left(x\right)^{2}"),
    (sp.exp(sp.Symbol("x")), r"\exp\left(x\right)"),
])
def test_scalar_notation(e, tex):
    assert latex(e) == tex


@pytest.mark.parametrize("e, tex", [
    (apply("sigmoid", matmul(W, XN)), r"\sigma\left(W X\right)"),
    (apply("exp", XN), r"\exp\left(X\right)"),          # not e^{X}: no matrix exponential
    (apply("tanh", XN), r"\tanh\left(X\right)"),
    (apply("relu", XN), r"\operatorname{relu}\left(X\right)"),
    (apply("softplus", XN), r"\operatorname{softplus}\left(X\right)"),
    (apply("abs", XN), r"\left|X\right|"),
    (power(XN, 2), r"X^{\circ 2}"),                       # a Hadamard power, not X X
    (power(transpose(XN), 2), r"\left(X^{\top}\right)^{\circ 2}"),
    (power(matmul(W, XN), 2), r"\left(W X\right)^{\circ 2}"),
    (divide(1, XN), r"X^{\circ -1}"),
    (hadamard(XN, apply("sigmoid", XN)), r"X \odot \sigma\left(X\right)"),
    (matmul(W, hadamard(XN, apply("sigmoid", XN))),
     r"W \left(X \odot \sigma\left(X\right)\right)"),
    (Elementwise(2 * T * apply("sigmoid", T), XN), r"2 X \odot \sigma\left(X\right)"),
    (Elementwise(apply("sigmoid", T) ** 2, XN), r"\sigma\left(X\right)^{\circ 2}"),
    (Elementwise(1 + apply("exp", T), XN), r"\exp\left(X\right) + 1"),
])
def test_elementwise_notation(e, tex):
    assert latex(e) == tex


def test_numerator_layout_transposes_gradients():
    g = matmul(transpose(A), transpose(B))
    assert latex(g, layout="numerator") == r"B A"
    assert latex(trace(Q), layout="numerator") == latex(trace(Q))


def test_unknown_layout_is_refused():
    with pytest.raises(ValueError, match="denominator, numerator"):
        latex(A, layout="mixed")
    with pytest.raises(ValueError, match="not 'mixed'"):
        MatcalcLatexPrinter({"layout": "mixed"})


class Foo(MatrixExpr):
    """A node no printer knows."""
    shape = property(lambda self: self.args[0].shape)


@pytest.mark.parametrize("e", [Foo(A), add(Foo(A), W), matmul(transpose(X), Foo(S))])
def test_unknown_nodes_raise(e):
    message = "^MatcalcLatexPrinter cannot print Foo; add _print_Foo$"
    with pytest.raises(NoRuleError, match=message):
        latex(e)


# ---------------------------------------------------------------- a real compile

DOCUMENT = r"""\documentclass{article}
\usepackage{amsmath}
\usepackage{amssymb}
\begin{document}
\begin{align*}
%s
\end{align*}
\end{document}
"""


def _compile(tmp_path, lines):
    tex = tmp_path / "doc.tex"
    tex.write_text(DOCUMENT % " \\\\\n".join(lines))
    return subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)


needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None,
                                    reason="pdflatex not installed")


@needs_pdflatex
def test_printed_latex_compiles(tmp_path):
    exprs = [e for _, e, _ in GRADIENTS] + [
        add(matmul(W, XN), matmul(b, ones(1, "N"))), power(transpose(XN), 2),
        divide(1, XN), Transpose(MatAdd(A, W)), softmax(XN, 1), logsoftmax(XN),
        logsumexp(XN), diag(v), matmul(diag(v), X), diag(Q), Differential(X), eye("n"),
        zeros(2, 3), ones(2, 3), ones(1, "N"), apply("abs", XN), Transpose(ones(1, "N")),
        logdet(Q) + 2 * entry_sum(A) - norm(A) ** 2 + lam * trace(Q),
        Elementwise(apply("sigmoid", T) ** 2, XN), inverse(add(S, eye(3))),
        Transpose(inverse(add(Q, eye(3)))), sub(A, matmul(lam + 1, ones(2, 3))),
    ]
    lines = [r"g_{%d} &= %s" % (i, latex(e)) for i, e in enumerate(exprs)]
    run = _compile(tmp_path, lines)
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 0


@needs_pdflatex
def test_compile_check_can_fail(tmp_path):
    """A double superscript (what X^{\\top} of X^{-1} would give unguarded) fails the check."""
    run = _compile(tmp_path, [r"g &= X^{-1}^{\top}"])
    assert run.returncode != 0
    assert "Double superscript" in run.stdout
