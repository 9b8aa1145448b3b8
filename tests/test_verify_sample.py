"""Tests of matcalc.verify.sample: the random point both proofs use.

Sizes (distinct, in order of appearance), assumptions (CONSTRAINTS by name or a function),
the checks of f, X and G before anything is drawn, retries off a domain and the seed.
"""
import re

import numpy as np
import pytest
import sympy as sp

from matcalc.core.errors import NotScalarError, ShapeError, VerificationError, speaking
from matcalc.core.expr import (apply, divide, entry_sum, hadamard, inverse, logsoftmax, matmul,
                               matrix, neg, ones, softmax, sub, trace, transpose, vector)
from matcalc.verify import assert_gradient, verify_exact, verify_numeric
from matcalc.verify.sample import CONSTRAINTS, _draw, _Problem
from test_verify import A, B, W, X, Xk, Y, Wk, Z, Zw

METHODS = [verify_exact, verify_numeric]


def test_exact_sizes_are_2_3_4_in_order_of_appearance_and_numeric_ones_5_to_12():
    f, G = trace(matmul(A, X, B)), matmul(2, transpose(A), transpose(B))
    with pytest.raises(VerificationError, match=r"sizes used: m=2, n=3, p=4; X is 3×4"):
        verify_exact(f, X, G)
    with pytest.raises(VerificationError) as info:
        verify_numeric(f, X, G)
    sizes = dict(re.findall(r"([mnp])=(\d+)", str(info.value)))
    assert sorted(sizes) == ["m", "n", "p"]
    assert len(set(sizes.values())) == 3 and all(5 <= int(s) <= 12 for s in sizes.values())


def test_the_problem_lists_matrices_dims_scalars_and_shifted_squares():
    S, lam = matrix('S', 'n', 'n'), sp.Symbol('lam')
    p = _Problem(lam * trace(matmul(A, inverse(S), transpose(A))), A, matmul(2, A), None)
    m, n = A.shape
    assert p.matrices == [A, S] and p.dims == [m, n]
    assert p.scalars == [lam] and p.shifted == {S}
    assert p.sizes(range(2, 100)) == {m: 2, n: 3}


def test_fixed_sizes_are_not_reused_for_dimension_symbols():
    X2n = matrix('X', 2, 'n')
    p = _Problem(entry_sum(X2n), X2n, ones(2, 'n'), None)
    assert p.fixed == {2} and p.sizes(range(2, 100)) == {X2n.shape[1]: 3}


def test_shifted_squares_are_sampled_with_n_on_the_diagonal():
    S = matrix('S', 'n', 'n')
    p = _Problem(trace(inverse(S)), S, S, None)
    sample = p.sample(np.random.default_rng(0), {S.shape[0]: 3}, exact=False, positive=False)
    off = sample[S] - 3 * np.eye(3)
    assert np.all(np.abs(off) < 1)       # uniform in (−1, 1), plus 3 on the diagonal


def test_draw_gives_nonzero_rationals_in_range_when_exact():
    rng = np.random.default_rng(0)
    a = _draw(rng, (4, 5), True, False)
    assert a.shape == (4, 5) and all(isinstance(x, sp.Rational) and x != 0 and -1 < x < 1
                                     for x in a.ravel())
    p = _draw(rng, (3, 3), True, True)
    assert all(sp.Rational(100, 1009) <= x <= sp.Rational(1109, 1009) for x in p.ravel())
    s = _draw(rng, (), False, True)
    assert 0.1 <= s < 1.1


def test_constraints_by_name():
    a = np.array([[1.0, -3.0], [-1.0, 1.0]])
    assert np.allclose(CONSTRAINTS["colsum1"](a), [[0.5, 0.75], [0.5, 0.25]])
    assert np.allclose(CONSTRAINTS["rowsum1"](a), [[0.25, 0.75], [0.5, 0.5]])
    assert np.allclose(CONSTRAINTS["positive"](a), [[1, 3], [1, 1]])
    assert np.allclose(CONSTRAINTS["symmetric"](a), [[1, -2], [-2, 1]])


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


def test_an_assumption_on_an_expression_is_refused():
    with pytest.raises(ShapeError, match=r"^an assumption constrains a matrix variable, "
                                         r"not 2\*W$"):
        verify_exact(entry_sum(W), W, sp.OneMatrix(*W.shape),
                     assumptions=[("symmetric", matmul(2, W))])
    with pytest.raises(ValueError, match=r"an assumption is a pair \(constraint, M\), not 3"):
        verify_exact(entry_sum(W), W, sp.OneMatrix(*W.shape), assumptions=[3])


def test_shape_mismatch_names_both_shapes_and_the_layout():
    X34, G43 = matrix('X', 3, 4), matrix('G', 4, 3)
    f = entry_sum(hadamard(X34, X34))
    for check in (verify_exact, verify_numeric, assert_gradient):
        with pytest.raises(VerificationError) as info:     # a wrong claim, not bad input
            check(f, X34, G43)
        assert not isinstance(info.value, ShapeError)
        assert str(info.value).startswith("claimed gradient is 4×3 but X is 3×4: the shapes "
                                          "differ; matcalc uses the denominator layout")
    with pytest.raises(VerificationError, match="claimed gradient is a scalar but X is 3×4"):
        assert_gradient(f, X34, sp.Integer(2))


def test_shape_mismatch_message_in_full():
    with pytest.raises(VerificationError) as info:
        verify_exact(entry_sum(W), W, transpose(W))
    assert str(info.value) == ("claimed gradient is n×m but W is m×n: the shapes differ; "
                               "matcalc uses the denominator layout (∂f/∂W has the shape of W)")


def test_wrt_must_be_a_matrix_variable():
    with pytest.raises(ShapeError, match=r"^wrt must be a matrix variable such as "
                                         r"matrix\('X', 3, 4\), not W\.T$"):
        verify_exact(entry_sum(W), transpose(W), transpose(W))


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


def test_no_real_point_message_in_full():
    f = entry_sum(apply('log', neg(apply('exp', W))))
    with pytest.raises(VerificationError) as info:
        verify_numeric(f, W, sp.ZeroMatrix(*W.shape))
    assert str(info.value) == ("could not find a point where f = sum(log(-exp(W))) is real and "
                               "finite in 6 tries; constrain the inputs: assume=[\"-exp(W) > 0\"] "
                               "in grad, assumptions=[(\"positive\", -exp(W))] in "
                               "assert_gradient, or a function of your own")
    with speaking("cli"):                     # the command line names its own flag
        assert str(info.value) == ("could not find a point where f = sum(log(-exp(W))) is "
                                   "real and finite in 6 tries; constrain the inputs with "
                                   "--assume, such as --assume \"-exp(W) > 0\"")


def test_seed_makes_the_point_reproducible():
    f, G = entry_sum(hadamard(W, W)), matmul(3, W)
    messages = []
    for seed in (0, 0, 1):
        with pytest.raises(VerificationError) as info:
            verify_exact(f, W, G, seed=seed)
        messages.append(str(info.value))
    assert messages[0] == messages[1] != messages[2]


def test_symmetric_assumption():
    x, Asym = vector('x', 'n'), matrix('A', 'n', 'n')
    f, G = matmul(transpose(x), Asym, x), matmul(2, Asym, x)     # true only for Aᵀ = A
    for method in METHODS:
        with pytest.raises(VerificationError):
            method(f, x, G)
        assert method(f, x, G, assumptions=[("symmetric", Asym)]) is None
