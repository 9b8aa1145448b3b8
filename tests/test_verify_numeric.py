"""Tests of matcalc.verify.numeric: central differences along random directions, in float64.

Every hand-derived gradient of test_verify.CORRECT passes, every wrong one of WRONG is
rejected, and the message gives both directional derivatives, the step and the tolerance.
"""
import re

import pytest
import sympy as sp

from matcalc.core.errors import VerificationError
from matcalc.core.expr import entry_sum, hadamard, matmul, matrix, trace, transpose
from matcalc.verify import assert_gradient
from matcalc.verify.numeric import verify_numeric
from test_verify import A, B, CORRECT, WRONG, W, X, _number


@pytest.mark.parametrize("name, f, wrt, G, assumptions", CORRECT, ids=[c[0] for c in CORRECT])
def test_correct_gradient_is_accepted(name, f, wrt, G, assumptions):
    assert verify_numeric(f, wrt, G, assumptions=assumptions) is None


@pytest.mark.parametrize("name, f, wrt, G", WRONG, ids=[c[0] for c in WRONG])
def test_wrong_gradient_is_rejected(name, f, wrt, G):
    with pytest.raises(VerificationError) as info:
        verify_numeric(f, wrt, G)
    msg = str(info.value)
    assert msg.startswith(f"∂f/∂{wrt.name} is wrong ")
    assert "claimed:" in msg and "reference:" in msg and "tolerance:" in msg
    assert _number("claimed", msg) != _number("reference", msg)


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
    with pytest.raises(VerificationError) as info:
        verify_numeric(f, X, G)
    rel = _number("rel error", str(info.value).replace(",", ""))
    assert rel == pytest.approx(1 / 1001, rel=1e-5)


def test_numeric_check_handles_large_fixed_sizes():
    X30 = matrix('X', 30, 30)
    f, G = entry_sum(hadamard(X30, X30)), matmul(2, X30)
    assert assert_gradient(f, X30, G, method="numeric") is None
    with pytest.raises(VerificationError):
        assert_gradient(f, X30, matmul(2, transpose(X30)), method="numeric")
