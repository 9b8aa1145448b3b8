"""Issue 10 §4: simplifications people recognise, each row a printed text and a proof.

Every row goes through `grad` (which simplifies under the declared assumptions), is compared
with the issue's wanted text byte for byte, and is proven exactly (sympy.diff, entrywise) and
by central differences. The rules themselves (calculus/simplify.py) are checked one by one
below on their own, structurally and by value.
"""
import numpy as np
import pytest
import sympy as sp

from matcalc import grad
from matcalc.calculus.simplify import (Symmetric, cancel_inverse, det_of_product,
                                       inverse_of_product, sign_times_value, symmetric_transpose,
                                       trace_of_ones_product)
from matcalc.core.expr import (add, det, hadamard, inverse, matmul, matrix, ones, trace,
                               transpose, vector)
from matcalc.printing.text import text
from matcalc.verify import evaluate

ROWS = [
    # (f, wrt, assumptions, wanted text)
    ("logdet(X.T @ X)", "X", (), "2*X @ inv(X.T @ X)"),
    ("logdet(X.T @ A @ X)", "X", ("A.T == A",), "2*A @ X @ inv(X.T @ A @ X)"),
    ("log(abs(det(X)))", "X", (), "inv(X).T"),
    ("log(det(inv(X)))", "X", (), "-inv(X).T"),
    ("det(X @ X @ X)", "X", (), "3*det(X)**3*inv(X).T"),
    ("-sum(t*log(sigmoid(X@w)) + (1-t)*log(1-sigmoid(X@w)))", "w", (),
     "X.T @ (sigmoid(X @ w) - t)"),
    ("x.T @ A @ x", "x", ("A.T == A",), "2*A @ x"),
    # 1×1 factors: no eye(1) (I₁ ⊙ M = M, a 1×1 Mᵀ = M)
    ("exp(x.T @ y)", "x", (), "y @ exp(x.T @ y)"),
    ("sigmoid(w.T @ x)", "w", (), "x @ ((1 - sigmoid(w.T @ x))*sigmoid(w.T @ x))"),
    ("(x.T @ y) * (x.T @ x)", "x", (), "x @ x.T @ y + (x @ y.T + y @ x.T) @ x"),
    ("log(x.T @ A @ x)", "A", (), "x @ (1/(x.T @ A @ x)) @ x.T"),
    # tr(1 N) = sum(N)
    ("sum(maximum(lam, X))", "lam", (), "m*n - sum(step(X - lam))"),
]


@pytest.fixture(scope="module", params=ROWS, ids=lambda r: f"{r[0]} wrt {r[1]}")
def row(request):
    f, wrt, assume, wanted = request.param
    return grad(f, wrt, assume=list(assume)), wanted


def test_prints_as_wanted(row):
    g, wanted = row
    assert g.text() == wanted
    assert "eye(1)" not in g.text()


def test_proven_exactly(row):
    row[0].verify(method="exact")


def test_proven_by_central_differences(row):
    row[0].verify(method="numeric")


def test_latex_and_checked_numpy(row):
    g = row[0]
    assert "I_{1}" not in g.latex()
    src = g.numpy_source()           # run at the proof's points against the gradient first
    assert "eye(1)" not in src and f"def grad_{g.wrt.name}(" in src


# ---------------------------------------------------------------- each rule on its own

X3, Y3 = matrix("X", 3, 3), matrix("Y", 3, 3)
B = matrix("B", 3, 2)
rng = np.random.default_rng(0)
VALUES = {X3: rng.normal(size=(3, 3)), Y3: rng.normal(size=(3, 3)), B: rng.normal(size=(3, 2))}


def _same_value(a, b):
    return np.allclose(evaluate(a, VALUES), evaluate(b, VALUES))


def test_symmetric_transpose_of_a_gram_inverse():
    gram = inverse(matmul(transpose(B), B))
    e = transpose(gram)
    assert symmetric_transpose(e) == gram
    assert _same_value(e, gram)


def test_symmetric_transpose_of_a_symmetrised_sum_and_of_1x1():
    s = add(X3, transpose(X3))
    assert symmetric_transpose(sp.Transpose(s)) == s
    x = vector("x", 3)
    q = matmul(transpose(x), X3, x)
    assert symmetric_transpose(sp.Transpose(hadamard(q, q))) == hadamard(q, q)


def test_symmetric_transpose_leaves_a_general_matrix():
    assert symmetric_transpose(transpose(X3)) == transpose(X3)
    e = transpose(inverse(matmul(X3, Y3)))
    assert symmetric_transpose(e) == e


def test_symmetric_assumption_reaches_through_a_product():
    A = matrix("A", 3, 3)
    m = inverse(matmul(transpose(B), A, B))
    assert Symmetric(A)(transpose(m)) == m
    assert symmetric_transpose(transpose(m)) == transpose(m)     # not without the assumption


def test_cancel_inverse():
    e = matmul(2, transpose(inverse(X3)), transpose(X3), Y3)
    assert text(cancel_inverse(e)) == "2*Y"
    assert _same_value(e, cancel_inverse(e))
    assert text(cancel_inverse(matmul(Y3, X3, inverse(X3)))) == "Y"
    assert text(cancel_inverse(matmul(inverse(X3), X3))) == "eye(3)"
    assert cancel_inverse(matmul(X3, inverse(Y3))) == matmul(X3, inverse(Y3))


def test_det_of_product():
    e = det(matmul(2, X3, Y3))
    out = det_of_product(e)
    assert text(out) == "8*det(X)*det(Y)"
    assert np.isclose(evaluate(e, VALUES), evaluate(out, VALUES))
    rect = det(matmul(B, transpose(B)))          # B is 3×2: no det(B)
    assert det_of_product(rect) == rect


def test_inverse_of_product():
    e = inverse(matmul(X3, Y3))
    out = inverse_of_product(e)
    assert text(out) == "inv(Y) @ inv(X)"
    assert _same_value(e, out)
    gram = inverse(matmul(transpose(B), B))
    assert inverse_of_product(gram) == gram


def test_sign_times_value():
    u = det(X3)
    e = sp.sign(u) * u / sp.Abs(u)
    assert sign_times_value(e) == 1
    assert sign_times_value(sp.sign(u) * 3) == sp.sign(u) * 3



def test_trace_of_ones_product():
    C = matrix("C", 3, 4)
    VALUES[C] = rng.normal(size=(3, 4))
    left = sp.Trace(matmul(2, ones(3, 4), transpose(C)))
    right = trace(matmul(transpose(C), ones(3, 4)))
    assert text(trace_of_ones_product(left)) == "2*sum(C.T)"
    assert text(trace_of_ones_product(right)) == "sum(C.T)"
    for e in (left, right):
        assert np.isclose(evaluate(e, VALUES), evaluate(trace_of_ones_product(e), VALUES))
    assert trace_of_ones_product(trace(matmul(X3, Y3))) == trace(matmul(X3, Y3))
