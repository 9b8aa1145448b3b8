"""core/nodes.py: the node classes, their shapes and entries, size, and the canonical order."""
import itertools

import numpy as np
import pytest
import sympy as sp

from matcalc.core.expr import (Differential, add, apply, dim, elementwise, eye, hadamard, matmul,
                               matrix, neg, ones, scalar, trace, transpose)
from matcalc.core.functions import T
from matcalc.core.nodes import (LEAVES, NODES, Elementwise, EntrySum, FrobeniusNorm, LogDet,
                                LogSoftmax, LogSumExp, Softmax, factor_key, reading, size,
                                term_key)
from matcalc.printing.text import text
from matcalc.verify import evaluate

Z = matrix("Z", 2, 3)
M = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


def explicit(e):
    """e's entries from its own `_entry`, at Z = M, as floats."""
    vals = {Z[i, j]: sp.Float(M[i, j]) for i in range(2) for j in range(3)}
    m = sp.Matrix(e.as_explicit()).xreplace(vals)
    return np.array(m.applyfunc(lambda v: sp.N(v.rewrite(sp.exp))).tolist(), dtype=float)


# ---------------------------------------------------------------- shapes

def test_shapes():
    n, m = dim("n"), dim("m")
    P = matrix("P", n, m)
    assert Elementwise(sp.exp(T), Z).shape == (2, 3)
    assert Softmax(Z, 0).shape == LogSoftmax(Z, 1).shape == (2, 3)
    assert LogSumExp(Z, 0).shape == (1, 3) and LogSumExp(Z, 1).shape == (2, 1)
    assert LogSumExp(P, 0).shape == (1, m) and LogSumExp(P, 1).shape == (n, 1)
    assert Differential(Z).shape == (2, 3) and Differential(Z).var == Z


def test_accessors():
    e = Elementwise(sp.exp(T), Z)
    assert e.body == sp.exp(T) and e.arg == Z
    s = Softmax(Z, 1)
    assert s.arg == Z and s.axis == 1 and isinstance(s.axis, int)
    assert Softmax(Z).axis == 0
    assert EntrySum(Z).arg == Z and EntrySum(Z).is_commutative
    assert FrobeniusNorm(Z).is_nonnegative and LogDet(matrix("S", 3, 3)).arg.shape == (3, 3)


# ---------------------------------------------------------------- entries

def test_symbolic_entries():
    assert Softmax(Z, 0)[0, 1] == sp.exp(Z[0, 1]) / (sp.exp(Z[0, 1]) + sp.exp(Z[1, 1]))
    assert Softmax(Z, 1)[1, 0] == sp.exp(Z[1, 0]) / sum(sp.exp(Z[1, k]) for k in range(3))
    assert LogSoftmax(Z, 0)[1, 2] == Z[1, 2] - sp.log(sp.exp(Z[0, 2]) + sp.exp(Z[1, 2]))
    assert LogSumExp(Z, 1)[1, 0] == sp.log(sum(sp.exp(Z[1, k]) for k in range(3)))
    assert LogSumExp(Z, 0)[0, 2] == sp.log(sp.exp(Z[0, 2]) + sp.exp(Z[1, 2]))
    assert Elementwise(T ** 2 + sp.sin(T), Z)[1, 2] == Z[1, 2] ** 2 + sp.sin(Z[1, 2])


def test_entries_on_a_concrete_matrix():
    E = np.exp(M)
    expected = {
        Softmax(Z, 0): E / E.sum(axis=0),
        Softmax(Z, 1): E / E.sum(axis=1, keepdims=True),
        LogSoftmax(Z, 0): M - np.log(E.sum(axis=0)),
        LogSoftmax(Z, 1): M - np.log(E.sum(axis=1, keepdims=True)),
        LogSumExp(Z, 0): np.log(E.sum(axis=0, keepdims=True)),
        LogSumExp(Z, 1): np.log(E.sum(axis=1, keepdims=True)),
        apply("sigmoid", Z): 1 / (1 + np.exp(-M)),
        elementwise(T ** 2 + sp.sin(T), Z): M ** 2 + np.sin(M),
    }
    for e, want in expected.items():
        got = explicit(e)
        assert got.shape == want.shape, e
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=text(e))
        np.testing.assert_allclose(evaluate(e, {Z: M}), want, rtol=1e-12, err_msg=text(e))


def test_softmax_columns_and_rows_sum_to_one():
    np.testing.assert_allclose(explicit(Softmax(Z, 0)).sum(axis=0), np.ones(3))
    np.testing.assert_allclose(explicit(Softmax(Z, 1)).sum(axis=1), np.ones(2))


# ---------------------------------------------------------------- size

def test_size():
    W, X = matrix("W", 2, 2), matrix("X", 2, 3)
    assert size(Z) == size(ones(2, 3)) == size(eye(3)) == size(sp.Integer(3)) == 1
    assert size(matmul(W, X)) == 3
    assert size(matmul(2, W, X)) == 4                        # the coefficient counts
    assert size(trace(matmul(Z, transpose(Z)))) == 5         # tr, @, Z, .T, Z
    assert size(apply("exp", Z)) == 4                        # node, exp(_t) (2), Z
    assert size(hadamard(X, apply("exp", Z))) == 6
    assert size(Softmax(Z, 0)) == 3                          # node, Z, axis


def test_node_set():
    assert set(LEAVES) <= set(NODES)
    assert {Elementwise, Softmax, LogSoftmax, LogSumExp, EntrySum, FrobeniusNorm,
            LogDet} <= set(NODES)
    assert len(set(NODES)) == len(NODES) == 21


# ---------------------------------------------------------------- canonical order

W, A, B, C = matrix("W", 2, 2), matrix("A", 2, 3), matrix("B", 2, 3), matrix("C", 2, 3)
X, K = matrix("X", 2, 3), matrix("K", 3, 3)
lam = scalar("lam")
dW, dA = Differential(W), Differential(A)


def test_reading():
    assert reading(A) == ("A",)
    assert reading(matmul(W, dA)) == ("W", "dA")
    assert reading(apply("exp", matmul(W, X))) == ("W", "X")
    assert reading(ones(2, 3)) == ()


def test_term_key_more_variables_first_then_reading():
    assert term_key(matmul(W, X)) < term_key(A)              # two variables before one
    assert term_key(X) < term_key(ones(2, 3))                # a variable before a constant
    assert term_key(A) < term_key(B)                         # then alphabetically
    assert term_key(matmul(W, dA)) < term_key(matmul(dW, A))   # "W" reads before "dW"
    assert sorted([ones(2, 3), X, matmul(W, X)], key=term_key) == [matmul(W, X), X, ones(2, 3)]


def test_factor_key_simple_before_compound_variables_before_constants():
    assert factor_key(A) < factor_key(apply("log", B))       # smaller first
    assert factor_key(W) < factor_key(eye(2))                # same size: variable first
    assert factor_key(A) < factor_key(B)


@pytest.mark.parametrize("terms, printed", [
    ((A, B), "A + B"),
    ((C, A, B), "A + B + C"),
    ((matmul(W, X), A), "W @ X + A"),                   # more variables first
    ((X, ones(2, 3)), "X + 1"),                         # variables before constants
    ((matmul(W, X, K), matmul(W, X), X), "W @ X @ K + W @ X + X"),
    ((matmul(transpose(W), X), matmul(W, X)), "W @ X + W.T @ X"),
    ((matmul(dW, A), matmul(W, dA)), "W @ dA + dW @ A"),        # reading order
    ((matmul(lam, W), matmul(W, X, transpose(X))), "W @ X @ X.T + lam*W"),   # data, penalty
    ((neg(A), X), "X - A"),                             # positive terms first
    ((apply("exp", A), B), "exp(A) + B"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_printed_sum_is_independent_of_argument_order(terms, printed):
    outs = {text(add(*p)) for p in itertools.permutations(terms)}
    assert outs == {printed}


@pytest.mark.parametrize("factors, printed", [
    ((B, A), "A * B"),
    ((C, B, A), "A * B * C"),
    ((apply("log", B), A), "A * log(B)"),               # simple before compound
    ((eye(2), W), "W * eye(2)"),                        # variables before constants
    ((apply("exp", A), matmul(W, X), X), "X * (W @ X) * exp(A)"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_printed_product_is_independent_of_argument_order(factors, printed):
    outs = {text(hadamard(*p)) for p in itertools.permutations(factors)}
    assert outs == {printed}
