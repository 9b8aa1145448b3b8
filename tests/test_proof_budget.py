"""What a proof can afford: sizes checked before anything is built, expressions the parser
accepts verified within seconds or refused saying why and what to do.

Every call runs under `returns_within`: a proof that hangs fails the test (the alarm's
TimeoutError surfaces as the CLI's internal error, exit 3) instead of hanging the suite.
"""
import contextlib
import signal

import pytest
import sympy as sp

from matcalc.cli import main
from matcalc.core.errors import ShapeError, TooLargeError
from matcalc.core.expr import entry_sum, matmul, matrix
from matcalc.verify import verify_exact, verify_numeric

HUGE = "99999999999999999999"


@contextlib.contextmanager
def returns_within(seconds):
    def alarm(*_):
        raise TimeoutError(f"did not return within {seconds} s")
    before = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)


def cli(capsys, *argv, seconds=60):
    with returns_within(seconds):
        code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------ sizes, before anything is built

@pytest.mark.parametrize("verify", ["both", "exact", "numeric"])
def test_huge_declared_sizes_are_refused_at_once(capsys, verify):
    """Once: gigabytes and no end (the exact proof built 10^40 entry symbols)."""
    code, out, err = cli(capsys, "grad", "sum(X)", "--wrt", "X", "--verify", verify,
                         "--shape", f"X={HUGE}x{HUGE}", seconds=20)
    assert code == 2 and out == ""
    assert f"X is {HUGE}×{HUGE}" in err and "about 10^39 entries" in err
    assert '--shape "X=n x m"' in err and "--verify none" in err
    assert "proof" in err


def test_without_a_proof_huge_sizes_are_fine(capsys):
    code, out, _ = cli(capsys, "grad", "sum(X)", "--wrt", "X", "--verify", "none",
                       "--shape", f"X={HUGE}x{HUGE}", seconds=20)
    assert code == 0 and f"ones({HUGE}, {HUGE})" in out


def test_an_intermediate_too_large_for_the_numeric_proof_is_named(capsys):
    code, _, err = cli(capsys, "grad", "sum(X @ X.T)", "--wrt", "X", "--verify", "numeric",
                       "--shape", "X=100000x3", seconds=20)
    assert code == 2
    assert "(an intermediate value) is 100000×100000, 10,000,000,000 entries" in err
    assert "at most 1,000,000 entries" in err


def test_the_numeric_proof_refuses_large_matrices_in_python_terms():
    X = matrix("X", 2000, 1000)
    with returns_within(20), pytest.raises(TooLargeError) as e:
        verify_numeric(entry_sum(X), X, matmul(sp.Integer(1), sp.OneMatrix(2000, 1000)))
    msg = str(e.value)
    assert msg.startswith("X is 2000×1000, 2,000,000 entries, at the sizes the numeric proof uses")
    assert "shapes={'X': ('n', 'm')}" in msg and "--" not in msg
    assert isinstance(e.value, ShapeError)


def test_the_exact_proof_sends_large_sizes_to_the_numeric_one():
    X = matrix("X", 100, 100)
    with returns_within(20), pytest.raises(TooLargeError, match="use verify_numeric$"):
        verify_exact(entry_sum(X), X, sp.OneMatrix(100, 100))


# ---------------------------------------------------------------- deep and wide expressions

def _nested(fn, depth):
    return "sum(" + f"{fn}(" * depth + "X" + ")" * depth + ")"


def test_thirty_nested_sigmoids_are_verified_both_ways(capsys):
    """Once > 200 s: the reference form and the exact proof's tree were 2^depth."""
    f = _nested("sigmoid", 30)
    assert f.count("sigmoid(") == 30
    code, out, err = cli(capsys, "grad", f, "--wrt", "X", seconds=60)
    assert code == 0, err
    assert "verified exactly (sympy.diff, entrywise) and by central differences" in err


def test_the_deepest_nesting_the_parser_takes_is_refused_by_the_exact_proof_only(capsys):
    f = _nested("sigmoid", 95)
    code, _, err = cli(capsys, "grad", f, "--wrt", "X", seconds=60)
    assert code == 2
    assert err.startswith("matcalc: error: the exact proof's expression budget is exceeded: "
                          "f is nested 101 levels deep, more than the 60 it writes out; "
                          "prove it with "
                          "--verify numeric")
    code, _, err = cli(capsys, "grad", f, "--wrt", "X", "--verify", "numeric", seconds=60)
    assert code == 0 and "verified by central differences" in err


def test_a_flat_sum_of_101_terms_is_not_nested(capsys):
    f = "+".join(f"sum(tanh({k}*X))" for k in range(1, 102))
    code, out, err = cli(capsys, "grad", f, "--wrt", "X", seconds=60)
    assert code == 0, err
    assert out.startswith("∂f/∂X = 1 - tanh(X)**2 + 2 - 2*tanh(2*X)**2")
    assert "verified exactly (sympy.diff, entrywise) and by central differences" in err


def test_a_long_sum_parses_without_recursion(capsys):
    code, out, _ = cli(capsys, "grad", "sum(" + "+".join(["X"] * 900) + ")", "--wrt", "X",
                       seconds=60)
    assert code == 0 and "900*ones(n, m)" in out


def test_a_long_matrix_product_is_proven_exactly(capsys):
    """The explicit X @ X @ … doubles its entries' trees at each factor: they are named."""
    f = "logdet(" + "X @ " * 30 + "X.T)"
    code, _, err = cli(capsys, "grad", f, "--wrt", "X", "--verify", "exact", seconds=60)
    assert code == 0, err


def test_a_tower_of_exponentials_is_refused_not_computed(capsys):
    """exp(exp(…)) at a rational point: mpmath would compute ln 2 to millions of digits."""
    code, _, err = cli(capsys, "grad", _nested("exp", 30), "--wrt", "X", "--verify", "exact",
                       seconds=60)
    assert code == 2 and "could not find a point" in err
