"""Checking a user's own derivation: `matcalc check`, matcalc.check and matcalc.assert_gradient.

A right claim is proven (exit 0); a wrong one is refuted with its first differing entry, both
values there and matcalc's own gradient (exit 1); the claim may be text, an expression or the
user's NumPy backward pass. The README's pytest example is run by pytest here, right and
wrong, and a wrong one's traceback ends at the user's line.
"""
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import matcalc
from matcalc.cli import main
from matcalc.core.errors import MatcalcError, ParseError, ShapeError, VerificationError
from matcalc.core.expr import matmul, matrix, trace, transpose
from matcalc.parse import parse
from matcalc.verify.compare import first_difference

README = Path(__file__).parent.parent / "README.md"
BOTH = "exactly (sympy.diff, entrywise) and by central differences"
WITHIN = ("the exact proof compared it with sympy.diff to 50 digits at 3 random rational points, "
          "within 1e-25 relative")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _difference(out):
    """(i, j, claimed, correct) from a wrong verdict's lines."""
    entry = re.search(r"first differing entry: \((\d+), (\d+)\)", out)
    claimed = float(re.search(r"claimed: (\S+)", out).group(1))
    correct = float(re.search(r"correct: (\S+)", out).group(1))
    return int(entry.group(1)), int(entry.group(2)), claimed, correct


# ---------------------------------------------------------------- the command

def test_a_right_claim_is_proven(capsys):
    code, out, err = run(capsys, "check", "tr(A @ X @ B)", "--wrt", "X", "--claim", "A.T @ B.T")
    assert code == 0, err
    assert out == f"correct: ∂f/∂X = A.T @ B.T, proven {BOTH}\n"


@pytest.mark.parametrize("verify, how", [("exact", "exactly (sympy.diff, entrywise)"),
                                         ("numeric", "by central differences")])
def test_the_proof_method_is_said(capsys, verify, how):
    code, out, _ = run(capsys, "check", "tr(X.T @ A @ X)", "--wrt", "X", "--claim",
                       "(A + A.T) @ X", "--verify", verify)
    assert code == 0 and out == f"correct: ∂f/∂X = (A + A.T) @ X, proven {how}\n"


def test_an_equivalent_form_is_right(capsys):
    """The claim is proven, not compared as text (and said as matcalc reads it)."""
    code, out, _ = run(capsys, "check", "tr(A @ X @ B)", "--wrt", "X", "--claim",
                       "(B @ A).T")
    assert code == 0 and out.startswith("correct: ∂f/∂X = A.T @ B.T, proven")
    code, out, _ = run(capsys, "check", "tr(X.T @ A @ X)", "--wrt", "X", "--claim",
                       "A @ X + A.T @ X")
    assert code == 0 and out.startswith("correct: ∂f/∂X = A @ X + A.T @ X, proven")


@pytest.mark.parametrize("claim, factor", [("-A.T @ B.T", -1.0), ("2*A.T @ B.T", 2.0)])
def test_a_wrong_claim_shows_the_entry_both_values_and_the_fix(capsys, claim, factor):
    code, out, err = run(capsys, "check", "tr(A @ X @ B)", "--wrt", "X", "--claim", claim)
    assert code == 1, err
    lines = out.splitlines()
    assert lines[0] == f"wrong: the claim {claim} is not ∂f/∂X of tr(A @ X @ B)"
    assert lines[1].startswith("  first differing entry: (0, 0) at a random point (sizes ")
    i, j, claimed, correct = _difference(out)
    assert (i, j) == (0, 0) and correct != 0
    assert claimed == pytest.approx(factor * correct, rel=1e-9)
    assert lines[-1] == f"  matcalc's gradient: ∂f/∂X = A.T @ B.T    (proven {BOTH})"


def test_the_differing_entry_is_the_first_that_differs():
    """A backward pass wrong in one entry only is caught there, with both values."""
    def claim(A, B):
        G = A.T @ B.T
        G[1, 2] += 0.5
        return G

    c = matcalc.check("tr(A @ X @ B)", "X", claim)
    assert not c.correct and c.difference.entry == (1, 2)
    assert c.difference.claimed - c.difference.correct == pytest.approx(0.5)
    assert "first differing entry: (1, 2)" in c.message()


def test_assumptions_as_for_grad(capsys):
    argv = ["check", "-sum(Y * logsoftmax(W @ X))", "--wrt", "W", "--claim",
            "(softmax(W @ X) - Y) @ X.T"]
    code, out, _ = run(capsys, *argv, "--assume", "sum(Y, axis=0) == 1")
    assert code == 0
    assert out.splitlines() == [f"correct: ∂f/∂W = (softmax(W @ X) - Y) @ X.T, proven {BOTH} "
                                f"({WITHIN})", "  given that each column of Y sums to 1"]
    code, out, _ = run(capsys, *argv)          # without it the textbook form is wrong
    assert code == 1
    g = matcalc.grad("-sum(Y * logsoftmax(W @ X))", "W")
    assert f"matcalc's gradient: ∂f/∂W = {g.text()}    (proven {BOTH})" in out


def test_declared_shapes(capsys):
    code, out, _ = run(capsys, "check", "tr(A @ X @ B)", "--wrt", "X", "--claim", "A.T @ B.T",
                       "--shape", "X=3x4", "--shape", "A=2x3")
    assert code == 0
    code, out, _ = run(capsys, "check", "tr(A @ X @ B)", "--wrt", "X", "--claim", "2*A.T @ B.T",
                       "--shape", "X=3x4", "--shape", "A=2x3")
    assert code == 1 and "at a random point\n" in out     # no free sizes left to name


# ---------------------------------------------------------------- the Python face

def test_check_returns_the_verdict():
    c = matcalc.check("tr(A @ X @ B)", "X", "A.T @ B.T")
    assert isinstance(c, matcalc.Check) and c.correct and c.difference is None
    assert c.gradient.text() == "A.T @ B.T" and c.method == "both"
    c = matcalc.check("tr(A @ X @ B)", "X", "A.T @ B.T + A.T @ B.T", method="exact")
    assert not c.correct and c.method == "exact"
    assert c.difference.claimed == pytest.approx(2 * c.difference.correct)
    assert "at entry (" in c.proof and "exact sympy.diff" in c.proof


def test_assert_gradient_takes_text():
    """Once 'claimed gradient is a scalar' for any text; now text is parsed over f's
    variables."""
    assert matcalc.assert_gradient("tr(A @ X @ B)", "X", "A.T @ B.T") is None
    p = parse("tr(A @ X @ B)")
    assert matcalc.assert_gradient(p.expr, p.symbols["X"], "A.T @ B.T") is None
    with pytest.raises(VerificationError) as e:
        matcalc.assert_gradient(p.expr, p.symbols["X"], "2*A.T.T.T @ B.T")
    assert "scalar" not in str(e.value)
    assert str(e.value).startswith("wrong: the claim 2*A.T @ B.T is not ∂f/∂X")
    assert "matcalc's gradient: ∂f/∂X = A.T @ B.T" in str(e.value)


def test_assert_gradient_takes_expressions():
    p = parse("tr(A @ X @ B)")
    A, X, B = (p.symbols[k] for k in "AXB")
    assert matcalc.assert_gradient(p.expr, X, A.T @ B.T) is None      # SymPy's own operators
    a, Y, b = matrix("a", 3, 1), matrix("Y", 3, 4), matrix("b", 4, 1)
    f = trace(matmul(transpose(a), Y, b))
    assert matcalc.assert_gradient(f, Y, matmul(a, transpose(b))) is None
    assert matcalc.assert_gradient(f, "Y", matmul(a, transpose(b))) is None
    with pytest.raises(VerificationError, match="first differing entry"):
        matcalc.assert_gradient(f, Y, matmul(2, a, transpose(b)))


def test_assert_gradient_takes_a_backward_pass():
    f = "norm(W @ X - Y)**2"
    assert matcalc.assert_gradient(f, "W", lambda W, X, Y: 2 * (W @ X - Y) @ X.T) is None
    assert matcalc.assert_gradient(f, "W", lambda **v: 2 * (v["W"] @ v["X"] - v["Y"])
                                   @ v["X"].T) is None
    with pytest.raises(VerificationError) as e:
        matcalc.assert_gradient(f, "W", lambda W, X, Y: (W @ X - Y) @ X.T)
    msg = str(e.value)
    i, j, claimed, correct = _difference(msg)
    assert claimed == pytest.approx(correct / 2)
    assert "matcalc's gradient: ∂f/∂W = 2*(W @ X - Y) @ X.T" in msg


def test_a_backward_pass_gets_scalars_as_floats():
    seen = {}

    def claim(x, lam):
        seen["lam"] = lam
        return 2 * lam * x

    assert matcalc.assert_gradient("lam * x.T @ x", "x", claim) is None
    assert isinstance(seen["lam"], float)


def test_a_backward_pass_of_the_wrong_shape_is_wrong():
    with pytest.raises(VerificationError, match=r"returned an array of shape \(\d+, \d+\), but "
                                                r"∂f/∂X has X's shape"):
        matcalc.assert_gradient("tr(A @ X @ B)", "X", lambda A, B: B @ A)


def test_a_backward_pass_that_raises_raises_its_own_error():
    def claim(A, B):
        raise KeyError("mine")
    with pytest.raises(KeyError, match="mine"):
        matcalc.assert_gradient("tr(A @ X @ B)", "X", claim)


def test_a_backward_pass_asking_for_an_unknown_variable():
    with pytest.raises(MatcalcError, match="takes C, which is not a variable of f"):
        matcalc.assert_gradient("tr(A @ X @ B)", "X", lambda A, C: A.T)


def test_a_claim_of_the_wrong_shape():
    """A wrong claim in a test (AssertionError); bad input for check (ShapeError)."""
    with pytest.raises(VerificationError, match=r"the claim B @ A is p×m but X is m×p"):
        matcalc.assert_gradient("tr(A @ X @ B)", "X", "B @ A")
    with pytest.raises(ShapeError, match=r"the claim B @ A is p×m but X is m×p"):
        matcalc.check("tr(A @ X @ B)", "X", "B @ A")
    assert issubclass(VerificationError, AssertionError)


def test_claims_that_do_not_read():
    with pytest.raises(ParseError, match=r"in the claim: .*\n  A.T @ \(B.T\n"):
        matcalc.assert_gradient("tr(A @ X @ B)", "X", "A.T @ (B.T")
    with pytest.raises(TypeError, match="the claim must be text"):
        matcalc.assert_gradient("tr(A @ X @ B)", "X", 3)
    with pytest.raises(TypeError, match="matcalc.assert_gradient parses text"):
        matcalc.verify.assert_gradient(parse("tr(X)").expr, parse("tr(X)").symbols["X"], "X")


def test_first_difference_compares_entrywise():
    A, X = matrix("A", "n", "m"), matrix("X", "m", "n")
    f, G = trace(matmul(A, X)), transpose(A)
    assert first_difference(G, f, X, G) is None
    assert first_difference(lambda A: A.T, f, X, G) is None
    d = first_difference(lambda A: A.T + 1e-3 * (np.arange(A.size).reshape(A.T.shape) == 4),
                         f, X, G)
    assert d.entry == tuple(int(k) for k in np.unravel_index(4, (d.sizes["m"], d.sizes["n"])))
    assert d.claimed - d.correct == pytest.approx(1e-3)


# ---------------------------------------------------------------- the README's example

def _readme_pytest_example():
    text = README.read_text()
    section = text[text.index("## Checking your own derivation"):]
    return re.search(r"```python\n(# test_backprop\.py.*?)```", section, re.S).group(1)


def _pytest(tmp_path, source):
    (tmp_path / "test_mine.py").write_text(source)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "test_mine.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)


def test_the_readme_pytest_example_passes(tmp_path):
    source = _readme_pytest_example()
    assert "assert_gradient" in source
    run = _pytest(tmp_path, source)
    assert run.returncode == 0, run.stdout + run.stderr
    n = len(re.findall(r"(?m)^def test_", source))
    assert re.search(rf"\b{n} passed\b", run.stdout), run.stdout


def test_a_wrong_readme_example_fails_at_the_users_line(tmp_path):
    source = _readme_pytest_example()
    wrong = source.replace("A.T @ B.T", "2*A.T.T.T @ B.T")        # same shape, wrong
    assert wrong != source
    run = _pytest(tmp_path, wrong)
    assert run.returncode == 1
    out = run.stdout
    assert "VerificationError: wrong: the claim 2*A.T @ B.T is not ∂f/∂X" in out
    assert "matcalc's gradient: ∂f/∂X = A.T @ B.T" in out
    # the traceback's frames: the user's file only, the last at the assert_gradient line
    frames = re.findall(r"(?m)^(\S+\.py):(\d+): ", out)
    assert frames and {f for f, _ in frames} == {"test_mine.py"}, out
    line = wrong.splitlines()[int(frames[-1][1]) - 1]
    assert "assert_gradient(" in line and "2*A.T.T.T @ B.T" in line
    assert "matcalc/api.py" not in out and "matcalc/verify" not in out


def test_a_claim_by_a_scalar_variable(capsys):
    """--wrt alpha works for check as for grad (it used to exit 3, AttributeError)."""
    code, out, err = run(capsys, "check", "alpha**2*tr(X)", "--wrt", "alpha", "--claim",
                         "2*alpha*tr(X)")
    assert code == 0, err
    assert out == f"correct: ∂f/∂alpha = 2*alpha*tr(X), proven {BOTH}\n"
    code, out, err = run(capsys, "check", "alpha**2*tr(X)", "--wrt", "alpha", "--claim",
                         "alpha*tr(X)")
    assert code == 1, err
    assert out.splitlines()[0] == "wrong: the claim alpha*tr(X) is not ∂f/∂alpha of " \
                                  "alpha**2*tr(X)"
    i, j, claimed, correct = _difference(out)
    assert (i, j) == (0, 0) and correct != 0 and claimed == pytest.approx(correct / 2)
    assert out.splitlines()[-1] == \
        f"  matcalc's gradient: ∂f/∂alpha = 2*alpha*tr(X)    (proven {BOTH})"


# ---------------------------------------------------------------- what "proven" means

@pytest.mark.parametrize("f, claim, off", [
    ("tr(A @ X @ B)", "(1 + 1e-40)*A.T @ B.T", 1e-40),
    ("tr(A @ X @ B)", "A.T @ B.T + 1e-27*A.T @ B.T", 1e-27),
    ("norm(W @ X - Y)**2", "(2 + 2e-30)*(W @ X - Y) @ X.T", 1e-30),
    ("logdet(X)", "inv(X).T * (1 + 1e-40)", 1e-40),      # rational, not polynomial
])
def test_a_claim_off_by_a_tiny_relative_amount_is_wrong(capsys, f, claim, off):
    """Issue 17: such claims passed `check` "exactly" (within the exact proof's 1e-25). A claim
    that passes the tolerances is compared with the proven gradient in rational arithmetic."""
    wrt = "W" if "W" in f else "X"
    code, out, err = run(capsys, "check", f, "--wrt", wrt, "--claim", claim)
    assert code == 1, err
    lines = out.splitlines()
    assert lines[0].startswith("wrong: the claim ")
    i, j, claimed, correct = _difference(out)
    diff = float(re.search(r"claimed − correct: (\S+) exactly \(rational arithmetic, "
                           r"tolerance 0\)", out).group(1))
    assert diff == pytest.approx(off * correct, rel=1e-2) and diff != 0
    assert lines[-1].startswith(f"  matcalc's gradient: ∂f/∂{wrt} = ")
    with pytest.raises(VerificationError, match="claimed − correct: .* exactly"):
        matcalc.assert_gradient(f, wrt, claim)
    assert not matcalc.check(f, wrt, claim).correct


def test_an_exact_claim_is_proven_in_rational_arithmetic(capsys):
    """0.1 is read as 1/10: equal to matcalc's gradient exactly, whichever way f writes it."""
    for f in ("0.1*tr(A @ X @ B)", "tr(A @ X @ B)/10"):
        code, out, _ = run(capsys, "check", f, "--wrt", "X", "--claim", "0.1*A.T @ B.T")
        assert code == 0 and out == f"correct: ∂f/∂X = 1/10*A.T @ B.T, proven {BOTH}\n"


def test_where_the_exact_proof_compares_values_it_says_to_what_tolerance(capsys):
    code, out, _ = run(capsys, "check", "sum(exp(X))", "--wrt", "X", "--claim", "exp(X)")
    assert code == 0 and out == f"correct: ∂f/∂X = exp(X), proven {BOTH} ({WITHIN})\n"
    c = matcalc.check("sum(exp(X))", "X", "exp(X)")
    assert c.to_dict()["verification"]["how"] == f"{BOTH} ({WITHIN})"
    # the numeric proof alone: no exact claim is made
    code, out, _ = run(capsys, "check", "sum(exp(X))", "--wrt", "X", "--claim", "exp(X)",
                       "--verify", "numeric")
    assert out == "correct: ∂f/∂X = exp(X), proven by central differences\n"


def test_a_function_claim_says_its_tolerance_and_refuses_complex_values():
    c = matcalc.check("tr(A @ X @ B)", "X", lambda A, B: A.T @ B.T)
    assert c.correct and c.message() == (
        f"correct: <lambda>(…) agrees with ∂f/∂X = A.T @ B.T (proven {BOTH}) at 3 random "
        f"points, within 1e-06 of its largest entry")
    for complex_claim in (lambda A, B: (A.T @ B.T).astype(complex),
                          lambda A, B: A.T @ B.T + 1e-30j):
        with pytest.raises(VerificationError, match=r"returned complex128 values, but ∂f/∂X "
                                                    r"of a real f is real"):
            matcalc.check("tr(A @ X @ B)", "X", complex_claim)
        with pytest.raises(VerificationError, match="returned complex128 values"):
            matcalc.assert_gradient("tr(A @ X @ B)", "X", complex_claim)
