"""Tests of matcalc.verify.exact: sympy.diff on small concrete matrices, entry by entry.

Every hand-derived gradient of test_verify.CORRECT is proven, every wrong one of WRONG is
rejected, and the message names the entry, the sizes, both values and the tolerance.
"""
import pytest
import sympy as sp

from matcalc.core.errors import ShapeError, VerificationError
from matcalc.core.expr import (apply, entry_sum, hadamard, inverse, matmul, matrix, trace,
                               transpose)
from matcalc.verify.exact import _is_polynomial, verify_exact
from test_verify import A, B, CORRECT, WRONG, W, X, _number


@pytest.mark.parametrize("name, f, wrt, G, assumptions", CORRECT, ids=[c[0] for c in CORRECT])
def test_correct_gradient_is_accepted(name, f, wrt, G, assumptions):
    assert verify_exact(f, wrt, G, assumptions=assumptions) is None


@pytest.mark.parametrize("name, f, wrt, G", WRONG, ids=[c[0] for c in WRONG])
def test_wrong_gradient_is_rejected(name, f, wrt, G):
    with pytest.raises(VerificationError) as info:
        verify_exact(f, wrt, G)
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


def test_the_message_carries_its_operands():
    f, G = entry_sum(hadamard(W, W)), matmul(3, W)
    with pytest.raises(VerificationError) as info:
        verify_exact(f, W, G)
    assert info.value.operands == (W, f, G)


def test_scaling_by_a_thousandth_is_reported_as_that():
    f, G = trace(matmul(A, X, B)), matmul(sp.Rational(1001, 1000), transpose(A), transpose(B))
    with pytest.raises(VerificationError) as info:
        verify_exact(f, X, G)
    rel = _number("rel error", str(info.value).replace(",", ""))
    assert rel == pytest.approx(1 / 1001, rel=1e-5)


def test_exact_check_refuses_large_fixed_sizes():
    X30 = matrix('X', 30, 30)
    f, G = entry_sum(hadamard(X30, X30)), matmul(2, X30)
    with pytest.raises(ShapeError, match="verify_exact needs small matrices"):
        verify_exact(f, X30, G)


def test_polynomials_are_recognised_for_expansion():
    assert _is_polynomial(trace(matmul(A, X, B)))
    assert _is_polynomial(entry_sum(hadamard(W, W)))
    assert not _is_polynomial(entry_sum(apply('exp', W)))
    assert not _is_polynomial(trace(inverse(matrix('S', 'n', 'n'))))
