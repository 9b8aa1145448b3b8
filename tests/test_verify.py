"""Tests of matcalc.verify: it accepts hand-derived gradients and rejects wrong ones.

A verifier that cannot fail proves nothing (autograd's test_tests.py), so every wrong rule in
WRONG must be rejected by both methods, and the messages must carry the entry, the values and
the tolerance. Shapes are distinct and non-square wherever the expression allows.
"""
import re

import numpy as np
import pytest
import sympy as sp
from sympy import MatrixExpr

from matcalc.core.errors import NoRuleError, NotScalarError, ShapeError, VerificationError
from matcalc.core.expr import (Differential, Elementwise, EntrySum, FrobeniusNorm, LogDet,
                          LogSoftmax, LogSumExp, Softmax, add, apply, det, diag, divide, entry_sum,
                          hadamard, inverse, logdet, logsoftmax, logsumexp, matmul, matrix,
                          eye, neg, norm, ones, scalar, softmax, sub, trace, transpose, vector)
from matcalc.core.functions import T
from matcalc.verify import (EXPLICIT, NUMERIC, assert_gradient, evaluate, verify_exact,
                            verify_numeric)

METHODS = [verify_exact, verify_numeric]

# Variables: distinct symbolic dimensions, so that a missing transpose changes a shape or a value.
A, X, B = matrix('A', 'm', 'n'), matrix('X', 'n', 'p'), matrix('B', 'p', 'm')
Xq, Aq = matrix('X', 'n', 'm'), matrix('A', 'n', 'n')               # tr(XᵀAX)
a, Xab, b = vector('a', 'm'), matrix('X', 'm', 'n'), vector('b', 'n')
Am, Bp = matrix('A', 'm', 'n'), matrix('B', 'm', 'p')                 # ‖AX − B‖²
S, M = matrix('X', 'n', 'n'), matrix('A', 'n', 'n')                   # square: inverse, det
W = matrix('W', 'm', 'n')
Xd, w, y = matrix('X', 'N', 'd'), vector('w', 'd'), vector('y', 'N')  # logistic regression
Wk, Xk, Y = matrix('W', 'k', 'd'), matrix('X', 'd', 'N'), matrix('Y', 'k', 'N')  # softmax CE
Xr, Wr, Yr = matrix('X', 'N', 'd'), matrix('W', 'd', 'k'), matrix('Y', 'N', 'k')  # rows = samples
C = matrix('C', 'm', 'p')
v, u, c = vector('v', 'n'), vector('u', 'n'), vector('c', 'n')
lam = scalar('lam')


def sigmoid(e):
    return apply('sigmoid', e)


Z = matmul(Wk, Xk)
Zr = matmul(Xr, Wr)
Zw = matmul(W, X)
logit = hadamard(y, matmul(Xd, w))

# (id, f, wrt, hand-derived ∂f/∂wrt, assumptions)
CORRECT = [
    ("tr(AXB)", trace(matmul(A, X, B)), X, matmul(transpose(A), transpose(B)), None),
    ("tr(XᵀAX)", trace(matmul(transpose(Xq), Aq, Xq)), Xq,
     matmul(add(Aq, transpose(Aq)), Xq), None),
    ("aᵀXb", matmul(transpose(a), Xab, b), Xab, matmul(a, transpose(b)), None),
    ("‖AX−B‖²", norm(sub(matmul(Am, X), Bp)) ** 2, X,
     matmul(2, transpose(Am), sub(matmul(Am, X), Bp)), None),
    ("‖W‖", norm(W), W, matmul(1 / norm(W), W), None),
    ("logdet", logdet(S), S, transpose(inverse(S)), None),
    ("det", det(S), S, matmul(det(S), transpose(inverse(S))), None),
    ("tr(X⁻¹A)", trace(matmul(inverse(S), M)), S,
     neg(matmul(transpose(inverse(S)), transpose(M), transpose(inverse(S)))), None),
    ("sum(exp)", entry_sum(apply('exp', W)), W, apply('exp', W), None),
    ("sum(W*W)", entry_sum(hadamard(W, W)), W, matmul(2, W), None),
    ("λ·sum(W*W)", lam * entry_sum(hadamard(W, W)), W, matmul(2 * lam, W), None),
    ("sum(log)", entry_sum(apply('log', W)), W, divide(1, W), None),
    ("sum(σ)", entry_sum(sigmoid(W)), W, hadamard(sigmoid(W), sub(1, sigmoid(W))), None),
    ("logistic", entry_sum(apply('log', sigmoid(logit))), w,
     matmul(transpose(Xd), hadamard(y, sub(1, sigmoid(logit)))), None),
    ("softmax CE", neg(entry_sum(hadamard(Y, logsoftmax(Z)))), Wk,
     matmul(sub(softmax(Z), Y), transpose(Xk)), [("colsum1", Y)]),
    ("softmax CE axis=1", neg(entry_sum(hadamard(Yr, logsoftmax(Zr, axis=1)))), Wr,
     matmul(transpose(Xr), sub(softmax(Zr, axis=1), Yr)), [("rowsum1", Yr)]),
    ("logsumexp", entry_sum(logsumexp(Zw, axis=0)), W,
     matmul(softmax(Zw, axis=0), transpose(X)), None),
    ("relu", entry_sum(hadamard(C, apply('relu', Zw))), W,
     matmul(hadamard(C, apply('step', Zw)), transpose(X)), None),
    ("uᵀdiag(v)c", matmul(transpose(u), diag(v), c), v, hadamard(u, c), None),
    ("sum(diag(X)*v)", entry_sum(hadamard(diag(S), v)), S, diag(v), None),
    ("tanh", entry_sum(apply('tanh', W)), W,
     sub(1, hadamard(apply('tanh', W), apply('tanh', W))), None),
]

# (id, f, wrt, a wrong claim of the right shape): autograd's test_tests.py.
Aa, Xa, Ba = matrix('A', 'n', 'n'), matrix('X', 'n', 'n'), matrix('B', 'n', 'n')
WRONG = [
    ("AB: transposes missing", trace(matmul(Aa, Xa, Ba)), Xa, matmul(Aa, Ba)),
    ("AX: the Aᵀ term missing", trace(matmul(transpose(Xq), Aq, Xq)), Xq, matmul(Aq, Xq)),
    ("AᵀBᵀ off by 0.1%", trace(matmul(A, X, B)), X,
     matmul(sp.Rational(1001, 1000), transpose(A), transpose(B))),
    ("exp off by 0.1%", entry_sum(apply('exp', W)), W,
     matmul(sp.Rational(1001, 1000), apply('exp', W))),
    ("σ' written as σ", entry_sum(sigmoid(W)), W, sigmoid(W)),
    ("relu' written as relu", entry_sum(apply('relu', Zw)), W,
     matmul(apply('relu', Zw), transpose(X))),
    ("logdet: X⁻¹ for X⁻ᵀ", logdet(S), S, inverse(S)),
    ("softmax CE without colsum1", neg(entry_sum(hadamard(Y, logsoftmax(Z)))), Wk,
     matmul(sub(softmax(Z), Y), transpose(Xk))),
]


def _number(label, message):
    return float(re.search(rf"{label}:\s+(\S+)", message).group(1))


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("name, f, wrt, G, assumptions", CORRECT, ids=[c[0] for c in CORRECT])
def test_correct_gradient_is_accepted(method, name, f, wrt, G, assumptions):
    assert method(f, wrt, G, assumptions=assumptions) is None


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("name, f, wrt, G", WRONG, ids=[c[0] for c in WRONG])
def test_wrong_gradient_is_rejected(method, name, f, wrt, G):
    with pytest.raises(VerificationError) as info:
        method(f, wrt, G)
    msg = str(info.value)
    assert msg.startswith(f"∂f/∂{wrt.name} is wrong ")
    assert "claimed:" in msg and "reference:" in msg and "tolerance:" in msg
    assert _number("claimed", msg) != _number("reference", msg)


def test_exact_message_names_entry_sizes_values_and_tolerance():
    with pytest.raises(VerificationError) as info:
        verify_exact(entry_sum(hadamard(W, W)), W, matmul(3, W))    # true gradient: 2W
    msg = str(info.value)
    assert msg.startswith("∂f/∂W is wrong at entry (0, 0) (sizes used: m=2, n=3; W is 2×3)")
    assert "f:         sum(W * W)" in msg
    assert "(G[0, 0], G = 3*W)" in msg and "(sympy.diff(f, W[0, 0]))" in msg
    assert _number("claimed", msg) / _number("reference", msg) == pytest.approx(1.5, rel=1e-12)
    assert _number("rel error", msg.replace(",", "")) == pytest.approx(1 / 3, rel=1e-3)
    assert "tolerance: 1e-25 relative" in msg
    assert "method:    exact sympy.diff at a random rational point" in msg


def test_numeric_message_gives_directional_derivatives():
    with pytest.raises(VerificationError) as info:
        verify_numeric(entry_sum(hadamard(W, W)), W, matmul(3, W))
    msg = str(info.value)
    assert msg.startswith("∂f/∂W is wrong along a random direction V (sizes used: ")
    assert "(Σ G ⊙ V, G = 3*W)" in msg and "((f(W + hV) − f(W − hV)) / 2h, h = " in msg
    assert _number("claimed", msg) / _number("reference", msg) == pytest.approx(1.5, rel=1e-6)
    tol = float(re.search(r"tolerance: (\S+) \(1e-05 relative \+ round-off\)", msg).group(1))
    assert 0 < tol < 1e-3 * abs(_number("reference", msg))
    assert "method:    central differences along a random direction" in msg


def test_scaling_by_a_thousandth_is_reported_as_that():
    f, G = trace(matmul(A, X, B)), matmul(sp.Rational(1001, 1000), transpose(A), transpose(B))
    for method in METHODS:
        with pytest.raises(VerificationError) as info:
            method(f, X, G)
        rel = _number("rel error", str(info.value).replace(",", ""))
        assert rel == pytest.approx(1 / 1001, rel=1e-5)


def test_exact_sizes_are_2_3_4_in_order_of_appearance_and_numeric_ones_5_to_12():
    f, G = trace(matmul(A, X, B)), matmul(2, transpose(A), transpose(B))
    with pytest.raises(VerificationError, match=r"sizes used: m=2, n=3, p=4; X is 3×4"):
        verify_exact(f, X, G)
    with pytest.raises(VerificationError) as info:
        verify_numeric(f, X, G)
    sizes = dict(re.findall(r"([mnp])=(\d+)", str(info.value)))
    assert sorted(sizes) == ["m", "n", "p"]
    assert len(set(sizes.values())) == 3 and all(5 <= int(s) <= 12 for s in sizes.values())


def test_colsum1_assumption_is_needed_for_s_minus_y():
    f, G = neg(entry_sum(hadamard(Y, logsoftmax(Z)))), matmul(sub(softmax(Z), Y), transpose(Xk))
    with pytest.raises(VerificationError, match=r"at entry \(\d, \d\)"):
        verify_exact(f, Wk, G)
    verify_exact(f, Wk, G, assumptions=[("colsum1", Y)])
    # The general form holds for every Y: (S ⊙ 11ᵀY − Y) Xᵀ, 1ᵀY the column sums.
    colsums = matmul(ones('k', 'k'), Y)
    general = matmul(sub(hadamard(softmax(Z), colsums), Y), transpose(Xk))
    verify_exact(f, Wk, general)
    verify_numeric(f, Wk, general)


def test_a_callable_assumption_constrains_both_methods():
    f, G = neg(entry_sum(hadamard(Y, logsoftmax(Z)))), matmul(sub(softmax(Z), Y), transpose(Xk))

    def probability_columns(sample):       # NumPy operations only: floats and Rationals alike
        return np.abs(sample) / np.abs(sample).sum(axis=0)

    for method in METHODS:
        assert method(f, Wk, G, assumptions=[(probability_columns, Y)]) is None
        with pytest.raises(VerificationError):
            method(f, Wk, G, assumptions=[(lambda s: 2 * probability_columns(s), Y)])


def test_unknown_assumption_is_refused():
    with pytest.raises(ValueError, match="unknown assumption 'sorted'; use one of colsum1"):
        verify_exact(entry_sum(W), W, sp.OneMatrix(*W.shape), assumptions=[("sorted", W)])


def test_shape_mismatch_names_both_shapes_and_the_layout():
    X34, G43 = matrix('X', 3, 4), matrix('G', 4, 3)
    f = entry_sum(hadamard(X34, X34))
    for check in (verify_exact, verify_numeric, assert_gradient):
        with pytest.raises(ShapeError) as info:
            check(f, X34, G43)
        assert str(info.value).startswith("claimed gradient is 4×3 but X is 3×4; matcalc uses "
                                          "the denominator layout")
    with pytest.raises(ShapeError, match="claimed gradient is a scalar but X is 3×4"):
        assert_gradient(f, X34, sp.Integer(2))


def test_non_scalar_f_is_refused():
    with pytest.raises(NotScalarError, match=r"f = W @ X is m×p, not a scalar"):
        verify_exact(Zw, W, W)


def test_domain_retry_and_its_limit():
    # log of negative entries is off the domain: both methods retry with positive entries …
    for method in METHODS:
        method(entry_sum(apply('log', W)), W, divide(1, W))
    # … and say so when no point is real.
    f = entry_sum(apply('log', neg(apply('exp', W))))
    for method in METHODS:
        with pytest.raises(VerificationError, match="could not find a point where f = "):
            method(f, W, sp.ZeroMatrix(*W.shape))


def test_exact_check_refuses_large_fixed_sizes_numeric_handles_them():
    X30 = matrix('X', 30, 30)
    f, G = entry_sum(hadamard(X30, X30)), matmul(2, X30)
    with pytest.raises(ShapeError, match="verify_exact needs small matrices"):
        verify_exact(f, X30, G)
    assert_gradient(f, X30, G, method="numeric")
    with pytest.raises(VerificationError):
        assert_gradient(f, X30, matmul(2, transpose(X30)), method="numeric")


def test_seed_makes_the_point_reproducible():
    f, G = entry_sum(hadamard(W, W)), matmul(3, W)
    messages = []
    for seed in (0, 0, 1):
        with pytest.raises(VerificationError) as info:
            verify_exact(f, W, G, seed=seed)
        messages.append(str(info.value))
    assert messages[0] == messages[1] != messages[2]


def test_assert_gradient_methods():
    f, G = trace(matmul(A, X, B)), matmul(transpose(A), transpose(B))
    for method in ("exact", "numeric", "both"):
        assert assert_gradient(f, X, G, method=method) is None
        with pytest.raises(VerificationError):
            assert_gradient(f, X, matmul(2, G), method=method)
    with pytest.raises(ValueError, match="method must be 'exact', 'numeric' or 'both'"):
        assert_gradient(f, X, G, method="fast")


# ---------------------------------------------------------------- the tables

NODE_CLASSES = [Elementwise, Softmax, LogSoftmax, LogSumExp, EntrySum, FrobeniusNorm, LogDet,
                Differential, sp.MatrixSymbol, sp.MatMul, sp.MatAdd, sp.Transpose, sp.Inverse,
                sp.HadamardProduct, sp.Identity, sp.OneMatrix, sp.ZeroMatrix, sp.Trace,
                sp.Determinant, sp.matrices.expressions.diagonal.DiagMatrix,
                sp.matrices.expressions.diagonal.DiagonalOf, sp.Symbol, sp.Integer,
                sp.Rational, sp.Add, sp.Mul, sp.Pow, sp.exp, sp.log]


@pytest.mark.parametrize("table", [EXPLICIT, NUMERIC], ids=["EXPLICIT", "NUMERIC"])
@pytest.mark.parametrize("cls", NODE_CLASSES, ids=lambda c: c.__name__)
def test_every_node_class_has_an_evaluator(table, cls):
    assert any(k in table for k in cls.__mro__)


class Foo(MatrixExpr):
    shape = property(lambda self: self.args[0].shape)


def test_a_node_without_an_evaluator_names_the_table():
    with pytest.raises(NoRuleError, match=r"^no explicit evaluator for Foo; add an entry to "
                                          r"EXPLICIT in verify.py$"):
        verify_exact(EntrySum(Foo(W)), W, W)
    with pytest.raises(NoRuleError, match=r"^no numeric evaluator for Foo; add an entry to "
                                          r"NUMERIC in verify.py$"):
        verify_numeric(EntrySum(Foo(W)), W, W)


def test_a_differential_has_no_value():
    with pytest.raises(NoRuleError, match="is a differential, not a value"):
        verify_exact(EntrySum(Differential(W)), W, W)


class RowSoftmax(Softmax):
    """A subclass: found through the MRO."""


def test_subclasses_are_evaluated_through_the_mro():
    f = neg(entry_sum(hadamard(Yr, LogSoftmax(Zr, 1))))
    G = matmul(transpose(Xr), sub(RowSoftmax(Zr, 1), Yr))
    for method in METHODS:
        method(f, Wr, G, assumptions=[("rowsum1", Yr)])
        with pytest.raises(VerificationError):
            method(f, Wr, matmul(transpose(Xr), RowSoftmax(Zr, 1)), assumptions=[("rowsum1", Yr)])


def test_symmetric_assumption():
    x, Asym = vector('x', 'n'), matrix('A', 'n', 'n')
    f, G = matmul(transpose(x), Asym, x), matmul(2, Asym, x)     # true only for Aᵀ = A
    for method in METHODS:
        with pytest.raises(VerificationError):
            method(f, x, G)
        assert method(f, x, G, assumptions=[("symmetric", Asym)]) is None


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
