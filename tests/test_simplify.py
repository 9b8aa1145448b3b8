"""calculus/simplify.py: every rewrite rule, the declared assumptions, and simplify."""
import numpy as np
import pytest
import sympy as sp

from matcalc.calculus.simplify import (CANONICAL, NUMERIC, TEXTBOOK, ColumnsSumToOne, Equals,
                                       RowsSumToOne, Symmetric, assumption, cancel_inverse,
                                       collect, collect_unvec, det_of_product, expand_hadamard, factor_scalar,
                                       inverse_of_product, route_as_mask, sign_times_value,
                                       simplify, stable_logs, symmetric_transpose,
                                       trace_of_ones_product)
from matcalc.calculus.steps import Derivation
from matcalc.codegen.function import numpy_function
from matcalc.core.expr import (T, add, apply, dim, divide, elementwise, entry_sum, hadamard,
                               logsoftmax, matmul, matrix, ones, scalar, size, softmax, sub,
                               sum_axis, trace, transpose)
from matcalc.core.functions import softplus
from matcalc.printing.text import text
from matcalc.verify import evaluate

A, X = matrix("A", 3, 3), matrix("X", 3, 4)
Y = matrix("Y", 3, 5)


def test_collect_common_right_and_left_factors():
    assert text(collect(add(matmul(A, X), matmul(transpose(A), X)))) == "(A + A.T) @ X"
    P = matrix("P", 4, 2)
    assert text(collect(add(matmul(X, P), matmul(2, X, matrix("Q", 4, 2))))) == "X @ (P + 2*Q)"


def test_collect_leaves_unrelated_terms():
    e = add(matmul(A, X), matmul(transpose(A), X), X)
    assert text(collect(e)) == "(A + A.T) @ X + X"


def test_columns_sum_to_one():
    S = softmax(matrix("Z", 3, 5))
    raw = sub(hadamard(S, matmul(ones(3, 3), Y)), Y)
    D = Derivation()
    out = simplify(raw, assumptions=[ColumnsSumToOne(Y)], derivation=D)
    assert text(out) == "softmax(Z) - Y"
    assert any("each column of Y sums to 1" in s.rule for s in D.steps)


def test_assumption_from_equation():
    assert assumption(sum_axis(Y, 0), sp.S.One) == ColumnsSumToOne(Y)
    assert assumption(sum_axis(Y, 1), sp.S.One) == RowsSumToOne(Y)
    assert assumption(transpose(A), A) == Symmetric(A)
    assert isinstance(assumption(matrix("C", 3, 3), A), Equals)


def test_symmetric():
    assert simplify(add(matmul(A, X), matmul(transpose(A), X)),
                    assumptions=[Symmetric(A)]) == matmul(2, A, X)


# ---------------------------------------------------------------- every rule, directly
# Non-square shapes throughout: P, Q are 2×3, M, N are 4×2 and R is 3×5.

P, Q = matrix("P", 2, 3), matrix("Q", 2, 3)
M, N = matrix("M", 4, 2), matrix("N", 4, 2)
R = matrix("R", 3, 5)
Z = matrix("Z", 2, 3)
lam, mu = scalar("lam"), scalar("mu")


def test_collect_right_factor():
    assert text(collect(add(matmul(M, P), matmul(3, N, P)))) == "(M + 3*N) @ P"
    assert text(collect(add(matmul(M, P, R), matmul(N, Q, R)))) == "(M @ P + N @ Q) @ R"
    e = add(matmul(M, P), matmul(N, P), matmul(M, Q))
    assert text(collect(e)) == "(M + N) @ P + M @ Q"      # a group of one stays as it was


def test_collect_left_factor():
    assert text(collect(add(matmul(P, R), matmul(-1, P, matrix("S", 3, 5))))) == "P @ (R - S)"
    assert text(collect(add(matmul(M, P), matmul(2, M, Q)))) == "M @ (P + 2*Q)"


def test_collect_leaves_what_it_cannot_group():
    e = add(matmul(M, P), matmul(N, Q))
    assert collect(e) is e
    assert collect(P) is P and collect(matmul(M, P)) == matmul(M, P)


def test_factor_scalar():
    N_ = dim("N")
    assert text(factor_scalar(add(matmul(2, lam, P), matmul(4, lam, Q)))) == "2*lam*(P + 2*Q)"
    assert text(factor_scalar(add(matmul(1 / N_, Q), matmul(-1 / N_, P)))) == "1/N*(Q - P)"
    assert text(factor_scalar(add(matmul(1 / N_, P), matmul(-2 / N_, Q)))) == "1/N*(P - 2*Q)"


def test_factor_scalar_needs_a_common_factor():
    for e in (add(matmul(lam, P), Q), add(matmul(lam, P), matmul(mu, Q)), add(P, Q)):
        assert factor_scalar(e) is e, text(e)
    assert factor_scalar(matmul(2, lam, P)) == matmul(2, lam, P)      # not a sum


def test_factor_scalar_does_not_introduce_fractions():
    assert text(factor_scalar(add(matmul(2, P), matmul(3, Q)))) == "2*P + 3*Q"
    assert text(factor_scalar(add(matmul(4, Q), matmul(-2, P)))) == "2*(2*Q - P)"


def test_expand_hadamard_fires_when_terms_cancel():
    S = apply("sigmoid", Z)
    e = add(hadamard(P, sub(S, Q)), hadamard(P, Q))
    assert text(e) == "P * (sigmoid(Z) - Q) + P * Q"
    assert text(expand_hadamard(e)) == "P * sigmoid(Z)"
    e = sub(hadamard(add(Z, Q), P), hadamard(Q, P))
    assert text(expand_hadamard(e)) == "P * Z"


def test_expand_hadamard_fires_on_a_product_that_fuses():
    S = apply("sigmoid", Z)
    e = hadamard(add(S, Q), divide(1, S))          # σ ⊙ 1/σ = 1
    assert expand_hadamard(e) == add(hadamard(Q, divide(1, S)), ones(2, 3))


def test_expand_hadamard_declines_when_the_result_is_larger():
    for e in (hadamard(add(Z, Q), P), add(hadamard(add(Z, Q), P), Q),
              hadamard(add(P, Q), apply("exp", Z))):
        assert expand_hadamard(e) is e, text(e)
    assert size(add(hadamard(P, Z), hadamard(P, Q))) > size(hadamard(add(Z, Q), P))
    assert expand_hadamard(P) is P


def test_stable_logs_log_softmax():
    assert stable_logs(apply("log", softmax(Z))) == logsoftmax(Z)
    assert stable_logs(apply("log", softmax(Z, 1))) == logsoftmax(Z, 1)


def test_stable_logs_log_sigmoid():
    S = apply("sigmoid", Z)
    assert text(stable_logs(apply("log", S))) == "-softplus(-Z)"
    assert stable_logs(apply("log", S)) == matmul(-1, elementwise(softplus(-T), Z))
    assert text(stable_logs(apply("log", sub(1, S)))) == "-softplus(Z)"
    assert stable_logs(apply("log", sub(1, S))) == matmul(-1, apply("softplus", Z))


def test_stable_logs_leaves_other_nodes():
    for e in (apply("exp", Z), apply("log", Z), Z, softmax(Z), apply("log", apply("exp", Z))):
        assert stable_logs(e) is e, text(e)


def _stable_cases():
    S = apply("sigmoid", Z)
    return [apply("log", softmax(Z)), apply("log", softmax(Z, 1)), apply("log", S),
            apply("log", sub(1, S))]


def test_stable_logs_equal_at_moderate_values():
    M0 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    for e in _stable_cases():
        r = stable_logs(e)
        assert r != e
        np.testing.assert_allclose(evaluate(r, {Z: M0}), evaluate(e, {Z: M0}), rtol=1e-12,
                                   err_msg=text(e))


def test_stable_logs_finite_at_large_logits():
    big = np.array([[1000.0, -1000.0, 1000.0], [-1000.0, 1000.0, -1000.0]])
    want = {   # the exact values, far from underflow in the stable forms
        "log(softmax(Z))": np.array([[0.0, -2000.0, 0.0], [-2000.0, 0.0, -2000.0]]),
        "log(softmax(Z, axis=1))": np.array([[0.0, -2000.0, 0.0], [-2000.0, 0.0, -2000.0]])
        - [[np.log(2)], [0.0]],                    # row 0 holds two logits of 1000
        "log(sigmoid(Z))": np.minimum(big, 0),
        "log(1 - sigmoid(Z))": -np.maximum(big, 0),
    }
    for e in _stable_cases():
        _, original = numpy_function(e, [Z])
        _, stable = numpy_function(stable_logs(e), [Z])
        with np.errstate(all="ignore"):
            assert not np.isfinite(original(big)).all(), text(e)
        np.testing.assert_allclose(stable(big), want[text(e)], rtol=1e-12, err_msg=text(e))


def test_columns_sum_to_one_rule():
    rule = ColumnsSumToOne(R)
    assert rule(matmul(ones(2, 3), R)) == ones(2, 5)
    assert rule(matmul(2, ones(2, 3), R)) == matmul(2, ones(2, 5))
    assert text(rule(matmul(transpose(M), ones(4, 3), R, matrix("S", 5, 2)))) == \
        "M.T @ ones(4, 5) @ S"                      # inside a longer product
    for e in (matmul(P, R), R, matmul(R, ones(5, 2)), add(R, R)):
        assert rule(e) == e
    assert str(rule) == "each column of R sums to 1" and rule.constraint == "colsum1"


def test_rows_sum_to_one_rule():
    rule = RowsSumToOne(R)
    assert rule(matmul(R, ones(5, 2))) == ones(3, 2)
    assert rule(matmul(-3, R, ones(5, 1))) == matmul(-3, ones(3, 1))
    assert text(rule(matmul(P, R, ones(5, 4), M))) == "P @ ones(3, 4) @ M"
    for e in (matmul(ones(2, 3), R), matmul(P, R), R):
        assert rule(e) == e
    assert str(rule) == "each row of R sums to 1" and rule.constraint == "rowsum1"


def test_symmetric_rule():
    S = matrix("S", 3, 3)
    rule = Symmetric(S)
    assert rule(transpose(S)) == S
    assert rule(S) == S and rule(transpose(A)) == transpose(A)
    assert rule(matmul(transpose(S), S)) == matmul(transpose(S), S)   # bottom-up: simplify
    assert simplify(matmul(transpose(S), S), assumptions=[rule]) == matmul(S, S)
    assert str(rule) == "S is symmetric" and rule.constraint == "symmetric"


def test_equals_rule():
    rule = Equals(matmul(transpose(P), P), matrix("G", 3, 3))
    assert rule(matmul(transpose(P), P)) == matrix("G", 3, 3)
    assert rule(matmul(P, transpose(P))) == matmul(P, transpose(P))
    # the proof honours it too (verify/assume.py): G takes the value of P.T @ P
    assert str(rule) == "P.T @ P = G" and rule.constraint == "equals"
    assert rule.var == (matmul(transpose(P), P), matrix("G", 3, 3))
    e = add(trace(matmul(transpose(P), P)), trace(matrix("H", 3, 3)))
    assert text(simplify(e, assumptions=[rule])) == "tr(G) + tr(H)"
    # a node equal to lhs is rewritten; a run of factors inside a longer product is not
    e = matmul(transpose(P), P, matrix("H", 3, 3))
    assert simplify(e, assumptions=[rule]) == e


def test_assumption_picks_the_rule():
    S = matrix("S", 3, 3)
    assert assumption(sum_axis(R, 0), sp.S.One) == ColumnsSumToOne(R)
    assert assumption(sum_axis(R, 0), ones(1, 5)) == ColumnsSumToOne(R)
    assert assumption(sum_axis(R, 1), sp.S.One) == RowsSumToOne(R)
    assert assumption(sum_axis(R, 1), ones(3, 1)) == RowsSumToOne(R)
    assert assumption(transpose(S), S) == Symmetric(S)
    assert assumption(S, transpose(S)) == Symmetric(S)
    assert assumption(matrix("C", 3, 3), S) == Equals(matrix("C", 3, 3), S)
    assert assumption(trace(S), sp.S.One) == Equals(trace(S), sp.S.One)


def test_assumption_broadcasts_a_scalar_and_keeps_other_sums():
    assert assumption(sum_axis(R, 0), sp.Integer(2)) == Equals(sum_axis(R, 0),
                                                              matmul(2, ones(1, 5)))
    # 1_{2×3} R is not a column sum (the ones are not a row): a plain rewrite
    assert assumption(matmul(ones(2, 3), R), sp.S.One) == Equals(matmul(ones(2, 3), R),
                                                                ones(2, 5))


def test_simplify_reaches_a_fixed_point():
    e = add(matmul(M, P, R), matmul(M, Q, R))       # collect right, then left inside
    assert text(simplify(e, max_passes=1)) == "(M @ P + M @ Q) @ R"
    out = simplify(e)
    assert text(out) == "M @ (P + Q) @ R"
    assert simplify(out) == out
    assert simplify(P) is P


def test_simplify_records_each_rewrite():
    D = Derivation()
    e = add(matmul(M, P, R), matmul(M, Q, R))
    simplify(e, derivation=D)
    rule = "A X + B X = (A + B) X  and  X A + X B = X (A + B)."
    assert [(s.kind, s.rule, text(s.before), text(s.after)) for s in D.steps] == [
        ("simplify", rule, "M @ P @ R + M @ Q @ R", "(M @ P + M @ Q) @ R"),
        ("simplify", rule, "M @ P + M @ Q", "M @ (P + Q)")]


def test_simplify_records_assumptions_by_their_statement():
    D = Derivation()
    S, C = matrix("S", 3, 3), matrix("C", 3, 3)
    out = simplify(C, assumptions=[Equals(C, transpose(S)), Symmetric(S)], derivation=D)
    assert out == S
    assert [(s.rule, text(s.before), text(s.after)) for s in D.steps] == [
        ("C = S.T", "C", "S.T"), ("S is symmetric", "S.T", "S")]


def test_simplify_rule_sets():
    assert CANONICAL == (collect, collect_unvec, symmetric_transpose, cancel_inverse, det_of_product,
                         inverse_of_product, sign_times_value, trace_of_ones_product,
                         expand_hadamard)
    assert TEXTBOOK == (expand_hadamard, factor_scalar, collect, route_as_mask)
    assert NUMERIC == (stable_logs,)
    S = apply("sigmoid", Z)
    e = entry_sum(add(hadamard(Q, apply("log", S)), hadamard(sub(1, Q), apply("log", sub(1, S)))))
    assert text(simplify(e, rules=NUMERIC)) == "sum(-Q * softplus(-Z) - softplus(Z) * (1 - Q))"


def test_route_as_mask_when_the_windows_tile_the_map():
    """route(A, G) = upsample(G) ⊙ mask(A) for stride k; left alone for overlapping windows."""
    import sympy as sp
    from matcalc.core.expr import matrix
    from matcalc.core.structure import PoolRoute, pool_geometry
    n = sp.Symbol("N", integer=True, positive=True)
    A, G = matrix("A", 2, 16 * n), matrix("G", 2, 4 * n)
    tiled = pool_geometry(2, 4, 4, 2)
    assert text(route_as_mask(PoolRoute(A, G, tiled))) == "poolmask(A, 2) * upsample(G, 2)"
    H = matrix("H", 2, 9 * n)
    overlapping = PoolRoute(A, H, pool_geometry(2, 4, 4, 2, 1))
    assert route_as_mask(overlapping) is overlapping
