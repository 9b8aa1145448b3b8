"""printing/text.py: exact strings per node, grouping, minus signs, quotients, round trips."""
import numpy as np
import pytest
import sympy as sp
from sympy import MatAdd, MatMul, MatrixSymbol, Transpose

from matcalc.core.errors import ShapeError
from matcalc.core.expr import (Differential, T, add, apply, det, diag, divide, dim,
                               elementwise, entry_sum, eye, hadamard, inverse, logdet,
                               logsoftmax, logsumexp, matmul, matrix, norm, ones, power, scalar,
                               softmax, sub, trace, transpose, vector, zeros)
from matcalc.core.program import Assignment
from matcalc.parse import parse
from matcalc.printing.text import TextPrinter, text
from matcalc.verify import evaluate

A = matrix("A", 2, 3)
C = matrix("C", 2, 3)
B = matrix("B", 4, 2)
X = matrix("X", 3, 4)
Q = matrix("Q", 3, 3)
W = matrix("W", 2, 3)
XN = matrix("X", 3, "N")
Y = matrix("Y", 2, "N")
b = vector("b", 2)
c = vector("c", 2)
v = vector("v", 3)
lam = scalar("lam")
x = sp.Symbol("x")
N = dim("N")


@pytest.mark.parametrize("e, printed", [
    # leaves
    (A, "A"),
    (matrix("W1", 2, 3), "W1"),
    (Differential(X), "dX"),
    (ones(2, 3), "ones(2, 3)"),
    (ones("N", 1), "ones(N, 1)"),
    (ones(1, "N"), "ones(1, N)"),
    (zeros(2, 3), "zeros(2, 3)"),
    (eye(3), "eye(3)"),
    (eye("n"), "eye(n)"),
    # products, transposes, inverses
    (matmul(A, X), "A @ X"),
    (matmul(A, Differential(X)), "A @ dX"),
    (transpose(A), "A.T"),
    (Transpose(Differential(X)), "dX.T"),
    (matmul(transpose(A), C), "A.T @ C"),
    (inverse(Q), "inv(Q)"),
    (transpose(inverse(Q)), "inv(Q).T"),
    (inverse(add(Q, eye(3))), "inv(Q + eye(3))"),
    (matmul(det(Q), transpose(inverse(Q))), "det(Q)*inv(Q).T"),
    # diagonals
    (diag(v), "diag(v)"),
    (diag(transpose(v)), "diag(v)"),
    (diag(Q), "diag(Q)"),
    (matmul(diag(v), X), "diag(v) @ X"),
    # axis functions
    (softmax(XN), "softmax(X)"),
    (softmax(XN, 1), "softmax(X, axis=1)"),
    (logsoftmax(XN), "logsoftmax(X)"),
    (logsoftmax(XN, 1), "logsoftmax(X, axis=1)"),
    (logsumexp(XN), "logsumexp(X)"),
    (logsumexp(XN, 1), "logsumexp(X, axis=1)"),
    (Transpose(softmax(XN)), "softmax(X).T"),
    # scalars of matrices
    (trace(Q), "tr(Q)"),
    (det(Q), "det(Q)"),
    (logdet(Q), "logdet(Q)"),
    (entry_sum(A), "sum(A)"),
    (norm(A), "norm(A)"),
    (norm(A) ** 2, "norm(A)**2"),
    (2 * lam * trace(Q), "2*lam*tr(Q)"),
    (trace(Q) / det(Q), "tr(Q)/det(Q)"),
    (entry_sum(matmul(W, XN)) / N, "sum(W @ X)/N"),
    (apply("sigmoid", x), "sigmoid(x)"),
    # broadcasting
    (add(matmul(W, XN), matmul(b, ones(1, "N"))), "W @ X + b @ ones(1, N)"),
    (add(matmul(b, ones(1, "N")), matmul(2, c, ones(1, "N"))), "b @ ones(1, N) + 2*c @ ones(1, N)"),
    (add(A, 1), "A + 1"),
    (add(A, matmul(lam, ones(2, 3))), "A + lam"),
])
def test_node_strings(e, printed):
    assert text(e) == printed


@pytest.mark.parametrize("name", ["sigmoid", "exp", "log", "tanh", "relu", "step", "softplus",
                                  "abs", "sign", "sqrt", "sin", "cos"])
def test_every_table_function_prints_as_a_call(name):
    assert text(apply(name, A)) == f"{name}(A)"
    assert text(apply(name, transpose(A))) == f"{name}(A.T)"


@pytest.mark.parametrize("e, printed", [
    (apply("sigmoid", matmul(W, XN)), "sigmoid(W @ X)"),       # no double parentheses
    (Transpose(MatAdd(A, C)), "(A + C).T"),
    (Transpose(MatMul(A, X)), "(A @ X).T"),
    (Transpose(hadamard(A, C)), "(A * C).T"),
    (Transpose(matmul(2, A)), "(2*A).T"),
    (Transpose(apply("exp", A)), "exp(A).T"),
    (matmul(add(A, C), X), "(A + C) @ X"),
    (matmul(transpose(add(A, C)), A), "(A + C).T @ A"),
    (hadamard(add(A, C), W), "W * (A + C)"),
    (hadamard(matmul(W, XN), Y), "Y * (W @ X)"),
    (matmul(W, transpose(hadamard(A, C))), "W @ (A.T * C.T)"),
    (matmul(hadamard(A, C), X), "(A * C) @ X"),
    (matmul(apply("exp", A), X), "exp(A) @ X"),
    (matmul(-1, hadamard(A, C)), "-(A * C)"),
    (matmul(2, hadamard(A, C)), "2*(A * C)"),
    (power(A, 2), "A**2"),
    (power(transpose(A), 2), "A.T**2"),
    (power(add(A, C), 2), "(A + C)**2"),
    (power(matmul(W, XN), 2), "(W @ X)**2"),
    (hadamard(A, apply("sigmoid", A)), "A*sigmoid(A)"),           # one elementwise body
    (elementwise(2 * T * apply("sigmoid", T), A), "2*A*sigmoid(A)"),
    (elementwise(apply("sigmoid", T) ** 2, A), "sigmoid(A)**2"),
    (elementwise(1 + sp.exp(T), A), "exp(A) + 1"),
    (elementwise(T * (1 - T), A), "A*(1 - A)"),
    (elementwise(sp.log(1 - T), A), "log(1 - A)"),
    (elementwise(sp.exp(-T), A), "exp(-A)"),
    (matmul(2, A, X), "2*A @ X"),
    (matmul(sp.Rational(1, 2), A), "1/2*A"),
    (matmul(1 / N, A), "1/N*A"),
    (matmul(lam, A), "lam*A"),
    (matmul(lam + 1, A), "(lam + 1)*A"),
    (matmul(-1, A, X), "-A @ X"),
    (matmul(2, transpose(W), sub(matmul(W, XN), Y)), "2*W.T @ (W @ X - Y)"),
])
def test_grouping(e, printed):
    assert text(e) == printed


@pytest.mark.parametrize("e, printed", [
    (sub(A, C), "A - C"),
    (sub(C, A), "C - A"),
    (sub(matmul(-1, A), C), "-A - C"),
    (sub(A, matmul(2, C)), "A - 2*C"),
    (sub(A, matmul(lam, C)), "A - lam*C"),
    (sub(A, matmul(lam + 1, C)), "A - (lam + 1)*C"),
    (sub(C, matmul(sp.Rational(1, 2), A)), "C - 1/2*A"),
    (sub(A, hadamard(A, C)), "A - A * C"),
    (sub(A, apply("exp", A)), "A - exp(A)"),
    (sub(1, A), "1 - A"),
    (sub(A, 1), "A - 1"),
    (sub(1, apply("sigmoid", A)), "1 - sigmoid(A)"),
    (sub(matmul(sub(softmax(matmul(W, XN)), Y), transpose(XN)), matmul(lam, A)),
     "(softmax(W @ X) - Y) @ X.T - lam*A"),
    (lam - trace(Q), "lam - tr(Q)"),
    (-entry_sum(A), "-sum(A)"),
])
def test_negative_terms_print_with_a_minus(e, printed):
    assert text(e) == printed


@pytest.mark.parametrize("e, printed", [
    (divide(A, C), "A / C"),
    (divide(1, A), "1/A"),
    (divide(A, add(A, C)), "A / (A + C)"),
    (divide(A, hadamard(A, C)), "A / (A * C)"),
    (divide(hadamard(A, C), add(A, C)), "A * C / (A + C)"),
    (hadamard(divide(1, A), divide(1, C)), "1 / A / C"),
    (divide(A, power(C, 2)), "A / C**2"),
    (divide(apply("sigmoid", A), C), "sigmoid(A) / C"),
    (hadamard(apply("exp", C), divide(1, A)), "exp(C) / A"),
    (power(A, -2), "A**(-2)"),
    (matmul(W, divide(1, XN)), "W @ (1/X)"),
])
def test_quotients(e, printed):
    assert text(e) == printed


def test_assignments_and_errors_use_the_text_syntax():
    assert str(Assignment(matrix("Z", 2, 4), matmul(A, X))) == "Z := A @ X"
    with pytest.raises(ShapeError) as e:
        matmul(add(A, C), transpose(X))
    assert str(e.value) == "cannot multiply A + C (2×3) by X.T (4×3): inner dimensions 3 ≠ 4"
    with pytest.raises(ShapeError) as e:
        hadamard(transpose(A), apply("sigmoid", X))
    assert str(e.value) == ("cannot multiply entrywise A.T (3×2) and sigmoid(X) (3×4): the "
                            "shapes differ")


def test_printer_class_is_the_function():
    e = matmul(2, transpose(W), sub(matmul(W, XN), Y))
    assert TextPrinter().doprint(e) == text(e)


# ---------------------------------------------------------------- round trips

def _shapes(e):
    """name -> (rows, cols) or "scalar", as parse takes them."""
    mats = e.atoms(MatrixSymbol)
    dims = set().union(*[sp.sympify(d).free_symbols for m in mats for d in m.shape])
    out = {m.name: tuple(int(d) if d.is_Integer else str(d) for d in m.shape) for m in mats}
    out.update({s.name: "scalar" for s in sp.sympify(e).free_symbols - dims - {T}
                if isinstance(s, sp.Symbol)})
    return out


ROUND_TRIP = [
    add(matmul(W, XN), matmul(b, ones(1, "N"))),
    matmul(add(Q, transpose(Q)), X),
    matmul(2, transpose(W), sub(matmul(W, XN), Y)),
    matmul(sub(softmax(matmul(W, XN)), Y), transpose(XN)),
    matmul(transpose(matrix("D", 5, 3)),
           hadamard(vector("y", 5), sub(1, apply("sigmoid", hadamard(vector("y", 5),
                                                                  matmul(matrix("D", 5, 3),
                                                                         vector("w", 3))))))),
    matmul(det(Q), transpose(inverse(Q))),
    matmul(-1, transpose(inverse(Q)), transpose(Q), transpose(inverse(Q))),
    logdet(Q) + 2 * entry_sum(A) - norm(A) ** 2 + lam * trace(Q),
    sub(A, C), sub(matmul(-1, A), C), sub(A, matmul(lam + 1, C)), sub(A, matmul(lam, C)),
    sub(1, apply("sigmoid", A)), add(A, 1), add(A, matmul(lam, ones(2, 3))),
    hadamard(add(A, C), W), matmul(W, transpose(hadamard(A, C))), matmul(2, hadamard(A, C)),
    divide(A, C), divide(1, A), divide(A, add(A, C)), divide(A, power(C, 2)),
    hadamard(divide(1, A), divide(1, C)), power(add(A, C), 2), power(transpose(A), 2),
    inverse(add(Q, eye(3))), diag(v), matmul(diag(v), X), diag(Q),
    softmax(XN, 1), logsoftmax(XN), logsumexp(XN, 1), Transpose(softmax(XN)),
    matmul(1 / N, apply("tanh", XN), ones("N", 1)),
    elementwise(2 * T * apply("sigmoid", T), A), elementwise(apply("sigmoid", T) ** 2, A),
    matmul(sp.Rational(1, 2), A), ones(2, 3), eye(3),
] + [apply(name, A) for name in ["sigmoid", "exp", "log", "tanh", "relu", "step", "softplus",
                                  "abs", "sign", "sqrt", "sin", "cos"]]


@pytest.mark.parametrize("e", ROUND_TRIP, ids=text)
def test_printed_text_parses_back(e):
    assert parse(text(e), _shapes(e)).expr == e


def _values(e, seed=0):
    rng = np.random.default_rng(seed)
    sizes = {}
    out = {}
    for m in sorted(e.atoms(MatrixSymbol), key=str):
        shape = tuple(int(d) if d.is_Integer else sizes.setdefault(d, 4 + len(sizes))
                      for d in m.shape)
        out[m] = rng.uniform(0.2, 1.0, shape)
    for s in sp.sympify(e).free_symbols - set(sizes) - {T}:
        if isinstance(s, sp.Symbol) and not any(s in m.shape for m in out):
            out[s] = 0.7
    return out


@pytest.mark.parametrize("k", [lam + 1, lam - 1, 2 * lam + 3])
def test_negative_broadcast_sum_is_grouped(k):
    e = sub(A, matmul(k, ones(2, 3)))
    back = parse(text(e), _shapes(e)).expr
    values = _values(e)
    assert np.allclose(evaluate(back, values), evaluate(e, values))


def test_elementwise_products_parse_back_equal_in_value():
    """A*(1 - A) is one elementwise function of A; parsed, it is A ⊙ (1 − A): the same matrix
    (the constructors do not fuse a Hadamard product with a sum into one body)."""
    for e in [elementwise(T * (1 - T), A), elementwise(1 - T ** 2, A),
              hadamard(matmul(transpose(W), Y), elementwise(T * (1 - T), XN))]:
        back = parse(text(e), _shapes(e)).expr
        values = _values(e)
        assert np.allclose(evaluate(back, values), evaluate(e, values), rtol=1e-12)


def test_sqrt_of_a_product_is_not_doubly_parenthesised():
    assert text(apply("sqrt", matmul(A, X))) == "sqrt(A @ X)"
