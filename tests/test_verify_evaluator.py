"""Tests of matcalc.verify.evaluator: the EXPLICIT and NUMERIC tables and `evaluate`.

Every node class has an entry in both tables (found along the MRO), a class without one is
named in the error, and the two tables agree on the value of every kind of node.
"""
import numpy as np
import pytest
import sympy as sp
from sympy import MatrixExpr

from matcalc.core.dispatch import Table
from matcalc.core.errors import NoRuleError, ShapeError, VerificationError
from matcalc.core.expr import (Differential, Elementwise, EntrySum, FrobeniusNorm, LogDet,
                               LogSoftmax, LogSumExp, Softmax, add, apply, det, diag, entry_sum,
                               eye, hadamard, inverse, logdet, logsoftmax, logsumexp, matmul,
                               matrix, neg, norm, ones, softmax, sub, trace, transpose, vector)
from matcalc.core.functions import T
from matcalc.verify import verify_exact, verify_numeric
from matcalc.verify.evaluator import EXPLICIT, NUMERIC, evaluate
from test_verify import W, Wr, Xr, Yr, Zr, lam

METHODS = [verify_exact, verify_numeric]

NODE_CLASSES = [Elementwise, Softmax, LogSoftmax, LogSumExp, EntrySum, FrobeniusNorm, LogDet,
                Differential, sp.MatrixSymbol, sp.MatMul, sp.MatAdd, sp.Transpose, sp.Inverse,
                sp.HadamardProduct, sp.Identity, sp.OneMatrix, sp.ZeroMatrix, sp.Trace,
                sp.Determinant, sp.matrices.expressions.diagonal.DiagMatrix,
                sp.matrices.expressions.diagonal.DiagonalOf, sp.Symbol, sp.Integer,
                sp.Rational, sp.Add, sp.Mul, sp.Pow, sp.exp, sp.log]


@pytest.mark.parametrize("table", [EXPLICIT, NUMERIC], ids=["EXPLICIT", "NUMERIC"])
@pytest.mark.parametrize("cls", NODE_CLASSES, ids=lambda c: c.__name__)
def test_every_node_class_has_an_evaluator(table, cls):
    assert isinstance(table, Table)
    assert table.covers(cls)


class Foo(MatrixExpr):
    shape = property(lambda self: self.args[0].shape)


def test_a_node_without_an_evaluator_names_the_table():
    with pytest.raises(NoRuleError, match=r"^no explicit evaluator for Foo; add an entry to "
                                          r"EXPLICIT in verify/evaluator\.py$"):
        verify_exact(EntrySum(Foo(W)), W, W)
    with pytest.raises(NoRuleError, match=r"^no numeric evaluator for Foo; add an entry to "
                                          r"NUMERIC in verify/evaluator\.py$"):
        verify_numeric(EntrySum(Foo(W)), W, W)


def test_a_differential_has_no_value():
    with pytest.raises(NoRuleError, match="is a differential, not a value"):
        verify_exact(EntrySum(Differential(W)), W, W)


def test_a_differential_is_named_in_its_error():
    with pytest.raises(NoRuleError) as info:
        evaluate(EntrySum(Differential(W)), {W: np.ones((2, 3))})
    assert str(info.value) == ("dW is a differential, not a value; verify a gradient, not a "
                               "differential")


class RowSoftmax(Softmax):
    """A subclass: found through the MRO."""


def test_subclasses_are_evaluated_through_the_mro():
    f = neg(entry_sum(hadamard(Yr, LogSoftmax(Zr, 1))))
    G = matmul(transpose(Xr), sub(RowSoftmax(Zr, 1), Yr))
    for method in METHODS:
        method(f, Wr, G, assumptions=[("rowsum1", Yr)])
        with pytest.raises(VerificationError):
            method(f, Wr, matmul(transpose(Xr), RowSoftmax(Zr, 1)), assumptions=[("rowsum1", Yr)])


def test_elementwise_bodies_may_hold_scalars_and_traces():
    # f = tr(WᵀW)·sum(exp(λW)): ∂f/∂W = 2 sum(exp(λW)) W + tr(WᵀW) λ exp(λW).
    s = trace(matmul(transpose(W), W))
    f = s * entry_sum(Elementwise(sp.exp(lam * T), W))
    G = add(matmul(2 * entry_sum(Elementwise(sp.exp(lam * T), W)), W),
            Elementwise(s * lam * sp.exp(lam * T), W))
    for method in METHODS:
        assert method(f, W, G) is None
        with pytest.raises(VerificationError):
            method(f, W, Elementwise(s * lam * sp.exp(lam * T), W))


def test_evaluate_reads_sizes_off_the_values_and_checks_them():
    value = [[1, 2, 3], [4, 5, 6]]
    assert np.array_equal(evaluate(transpose(W), {W: value}), np.array(value, float).T)
    assert evaluate(entry_sum(W), {W: value}, exact=True) == 21
    V = matrix('V', 'n', 'm')
    assert evaluate(trace(matmul(W, V)), {W: value, V: np.ones((3, 2))}) == 21
    with pytest.raises(ShapeError) as info:     # m = 2 and n = 3 are read off W's value
        evaluate(trace(matmul(W, V)), {W: value, V: np.ones((2, 2))})
    assert str(info.value) == "the value of V is 2×2, but V is n×m"
    X34 = matrix('X', 3, 4)
    with pytest.raises(ShapeError, match=r"^the value of X is 2×2, but X is 3×4$"):
        evaluate(entry_sum(X34), {X34: np.eye(2)})


# ---------------------------------------------------------------- the two tables agree

P, Q, R = matrix('P', 'm', 'n'), matrix('Q', 'n', 'm'), matrix('R', 'm', 'm')
r = vector('r', 'm')
R3 = add(R, matmul(3, eye('m')))          # well conditioned, det > 0
VALUES = [
    trace(matmul(P, Q)),
    det(R),
    logdet(R3),
    entry_sum(inverse(R3)),
    norm(P),
    entry_sum(hadamard(P, softmax(P))),
    entry_sum(hadamard(P, softmax(P, axis=1))),
    entry_sum(logsoftmax(P, axis=0)),
    entry_sum(logsumexp(P, axis=1)),
    entry_sum(hadamard(transpose(Q), apply('sigmoid', P))),
    entry_sum(apply('relu', P)) + entry_sum(apply('softplus', P)),
    entry_sum(matmul(diag(r), R)) + entry_sum(diag(R)),
    sp.log(1 + trace(matmul(R, R)) ** 2),
    lam * entry_sum(apply('tanh', add(P, ones('m', 'n')))),
    R[0, 1] - P[1, 2],
]


@pytest.mark.parametrize("e", VALUES, ids=str)
def test_explicit_and_numeric_tables_agree(e):
    rng, size = np.random.default_rng(1), {'m': 2, 'n': 3}
    values = {lam: sp.Rational(3, 5)}
    for M in (P, Q, R, r):
        rows, cols = (int(d) if d.is_Integer else size[str(d)] for d in M.shape)
        values[M] = sp.Matrix(rows, cols, lambda i, j: sp.Rational(int(rng.integers(-9, 10)), 7))
    exact = evaluate(e, values, exact=True)
    numeric = evaluate(e, {k: np.array(v, dtype=float) if isinstance(v, sp.MatrixBase)
                           else float(v) for k, v in values.items()})
    assert float(sp.N(exact, 30)) == pytest.approx(numeric, rel=1e-12)
