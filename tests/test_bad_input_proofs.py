"""Trust, round 3 (issue 17): proofs and derivations bounded in time and memory, refused up
front with the way out; a correct result never called wrong; bad input never an exit 3.

Each case runs the CLI in this process under `returns_within` (a hang fails the test instead
of hanging the suite) and checks the exit code, the message and the time it took. The time
bounds are generous for a loaded test machine: "refused at once" is under a second here.
"""
import time

import pytest
import sympy as sp

from matcalc.cli import main
from matcalc.core.errors import TooLargeError
from matcalc.core.expr import det, inverse, matrix, transpose
from matcalc.verify import budget, verify_exact
from matcalc.verify.jacobian import verify_jacobian

from test_proof_budget import returns_within

AT_ONCE = 8          # seconds: a refusal before any proof runs (under 1 s unloaded)


def cli(capsys, *argv, seconds=120):
    start = time.perf_counter()
    with returns_within(seconds):
        code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err, time.perf_counter() - start


# ------------------------------------------------------------ determinants and inverses

@pytest.mark.parametrize("f", ["det(X)", "logdet(X)", "tr(inv(X))"])
@pytest.mark.parametrize("n", [8, 10])
def test_large_determinants_and_inverses_are_refused_at_once(capsys, f, n):
    """10×10 ran over 600 s; 8×8 was refused after 32 s, by the node budget."""
    code, out, err, took = cli(capsys, "grad", f, "--wrt", "X", "--shape", f"X={n}x{n}")
    assert code == 2 and out == "", err
    assert f"in the entries of a {n}×{n} matrix" in err
    assert "determinants and inverses of at most 5×5" in err
    assert '--shape "X=n x n"' in err and "--verify numeric" in err
    assert took < AT_ONCE


def test_the_numeric_proof_takes_them(capsys):
    code, out, err, _ = cli(capsys, "grad", "logdet(X)", "--wrt", "X", "--shape", "X=10x10",
                            "--verify", "numeric")
    assert code == 0, err
    assert out.startswith("∂f/∂X = inv(X).T") and "verified by central differences" in err


def test_a_hessian_matrix_of_a_large_determinant_is_refused_at_once(capsys):
    """hessian "det(X)" --shape X=6x6 --form matrix ran over 300 s."""
    code, out, err, took = cli(capsys, "hessian", "det(X)", "--wrt", "X", "--shape", "X=6x6",
                               "--form", "matrix")
    assert code == 2 and out == ""
    assert "in the entries of a 6×6 matrix" in err and "--verify numeric" in err
    assert took < AT_ONCE


def test_second_order_proofs_write_out_at_most_4x4(capsys):
    X = matrix("X", 5, 5)
    with returns_within(30), pytest.raises(TooLargeError) as e:
        verify_jacobian(inverse(X), X, sp.ZeroMatrix(25, 25), method="exact")
    assert "of at most 4×4" in str(e.value) and 'method="numeric"' in str(e.value)
    assert "--" not in str(e.value)


def test_small_determinants_are_still_proven_exactly(capsys):
    code, out, err, _ = cli(capsys, "grad", "det(X)", "--wrt", "X", "--shape", "X=4x4")
    assert code == 0, err
    assert "verified exactly (sympy.diff, entrywise)" in err


def test_the_python_refusal_names_the_python_way_out():
    X = matrix("X", 7, 7)
    with returns_within(20), pytest.raises(TooLargeError) as e:
        verify_exact(det(X), X, sp.MatMul(det(X), transpose(inverse(X))))
    msg = str(e.value)
    assert "shapes={'X': ('n', 'n')}" in msg and 'method="numeric"' in msg


# ------------------------------------------------------------ time: every exact proof stops

def test_an_exact_proof_past_its_time_is_stopped_with_the_way_out(capsys, monkeypatch):
    monkeypatch.setattr(budget, "EXACT_SECONDS", 0)
    code, out, err, took = cli(capsys, "hessian", "sum(logsoftmax(W @ X))", "--wrt", "W",
                               "--verify", "exact")
    assert code == 2 and out == ""
    assert "did not finish in 0 s" in err and "--verify numeric" in err
    assert took < AT_ONCE


def test_nested_logsoftmax_hessians_are_proven_in_seconds(capsys):
    """Three nested logsoftmax Hessians took 132 s and 1 GB: the exact proof printed its
    derivatives as trees (200,000 nodes for inv(X) at 4×4), now as a program."""
    f = "sum(logsoftmax(logsoftmax(logsoftmax(X))))"
    for form in ("product", "matrix"):
        code, out, err, took = cli(capsys, "hessian", f, "--wrt", "X", "--form", form)
        assert code == 0, err
        assert "verified exactly (sympy.diff, entrywise) and by central differences" in err
        assert took < 40


def test_a_jacobian_of_an_inverse_is_proven_in_seconds(capsys):
    code, out, err, took = cli(capsys, "jacobian", "inv(X)", "--wrt", "X", "--shape",
                               "X=4x4")
    assert code == 0, err
    assert "verified exactly" in err and took < 40       # 16 s of printing trees before


# ------------------------------------------------------------ the derivation itself

def test_a_150_factor_product_is_refused_before_the_derivation(capsys):
    """It took 70–112 s in the derivation itself (each of 150 terms holds 149 factors)."""
    f = "sum(" + " @ ".join(["X"] * 150) + ")"
    code, out, err, took = cli(capsys, "grad", f, "--wrt", "X", "--verify", "none")
    assert code == 2 and out == ""
    assert "f is too large to differentiate as one expression" in err
    assert "more than 4,000 factors" in err and "fewer factors" in err
    assert took < AT_ONCE


def test_a_product_of_twenty_factors_is_derived(capsys):
    f = "tr(" + " @ ".join(["X"] * 20) + ")"
    code, out, err, _ = cli(capsys, "grad", f, "--wrt", "X", "--verify", "none")
    assert code == 0, err
    assert out.startswith("∂f/∂X = 20*")


# ------------------------------------------------------------ SVD norms where σ is not simple

@pytest.mark.parametrize("norm, claim", [("'nuc'", "x * norm(y) / norm(x)"),
                                         ("2", "x * norm(y) / norm(x)")])
def test_norms_of_a_rank_one_matrix_are_proven(capsys, norm, claim):
    """‖x yᵀ‖ = |x||y| has σ₂ = 0: the closed form's sqrt(det G) was the root of a rounding
    error, and the correct gradient was 'wrong at entry (0, 0) … abs error 1.29e-25'."""
    f = f"norm(x @ y.T, {norm})"
    code, out, err, _ = cli(capsys, "grad", f, "--wrt", "x")
    assert code == 0, err
    assert "verified exactly (sympy.diff, entrywise) and by central differences" in err
    code, out, err, _ = cli(capsys, "check", f, "--wrt", "x", "--claim", claim)
    assert code == 0, err                                  # it exited 3
    assert out.startswith("correct: ")


def test_a_wrong_claim_at_rank_one_is_still_wrong(capsys):
    code, out, err, _ = cli(capsys, "check", "norm(x @ y.T, 'nuc')", "--wrt", "x", "--claim",
                            "2 * x * norm(y) / norm(x)")
    assert code == 1 and out.startswith("wrong")


def test_a_double_top_singular_value_is_said_and_not_called_wrong(capsys):
    """X − Xᵀ (2×2) has σ₁ = σ₂: u₁v₁ᵀ is not one matrix, and the exact proof says so."""
    code, out, err, took = cli(capsys, "grad", "norm(X - X.T, 2)", "--wrt", "X")
    assert code == 2 and out == ""
    assert "largest singular value of X - X.T is not simple" in err
    assert "--verify numeric" in err and "wrong" not in err
    code, out, err, _ = cli(capsys, "grad", "norm(X - X.T, 2)", "--wrt", "X", "--verify",
                            "numeric")
    assert code == 0 and "verified by central differences" in err
    code, out, err, _ = cli(capsys, "grad", "norm(X - X.T, 'nuc')", "--wrt", "X")
    assert code == 0 and "verified exactly" in err        # σ₁ = σ₂ > 0: the sum is smooth


# ------------------------------------------------------------ memory, before any allocation

def test_a_jacobian_needing_hundreds_of_gib_is_refused_at_once(capsys):
    """kron(X, kron(X, X)): MemoryError, 466 GiB, exit 3."""
    code, out, err, took = cli(capsys, "jacobian", "kron(X, kron(X, X))", "--wrt", "X")
    assert code == 2 and out == ""
    assert "the numeric proof of the Jacobian" in err and "GiB of memory" in err
    assert "more than the 1 GiB it may use" in err
    # its sizes are the proof's own small ones: the way out is the other proof, not --shape
    assert "prove it exactly (--verify exact)" in err and "--shape" not in err
    assert took < 20
    code, out, err, _ = cli(capsys, "jacobian", "kron(X, kron(X, X))", "--wrt", "X",
                            "--verify", "exact", "--format", "numpy")
    assert code == 2 and out == ""
    assert "the check of the printed NumPy code" in err and err.rstrip().endswith(
        "print the result as text (--format text)")
    code, out, err, _ = cli(capsys, "jacobian", "kron(X, kron(X, X))", "--wrt", "X",
                            "--verify", "exact")
    assert code == 0 and "verified exactly" in err


def test_a_jacobian_proof_over_a_gib_is_refused_with_the_figure(capsys):
    """X at 100×100 built a 10⁴×10⁴ identity (2.4 GB) and said 'verified'."""
    code, out, err, took = cli(capsys, "jacobian", "X", "--wrt", "X", "--shape", "X=100x100",
                               "--verify", "numeric")
    assert code == 2 and out == ""
    assert "needs 2.24 GiB of memory" in err and "1 GiB" in err
    assert "eye(10000) alone is 10000×10000, 100,000,000 entries" in err
    assert took < AT_ONCE


def test_printed_code_too_large_to_check_is_refused(capsys):
    for verify in ("none", "numeric"):
        code, out, err, took = cli(capsys, "jacobian", "X", "--wrt", "X", "--shape",
                                   "X=10000x10000", "--format", "numpy", "--verify", verify)
        assert code == 2 and out == ""
        assert "GiB of memory" in err and took < AT_ONCE
    assert "the check of the printed NumPy code" in err or "numeric proof" in err


def test_a_jacobian_that_fits_is_proven_numerically(capsys):
    code, out, err, _ = cli(capsys, "jacobian", "X", "--wrt", "X", "--shape", "X=30x30",
                            "--verify", "numeric")
    assert code == 0 and "verified by central differences" in err


# ------------------------------------------------------------ assumptions

@pytest.mark.parametrize("command, f", [("grad", "tr(X)"), ("jacobian", "X"),
                                        ("hessian", "sum(exp(X))")])
@pytest.mark.parametrize("verify", ["both", "none"])
def test_contradictory_assumptions_are_refused(capsys, command, f, verify):
    """They were proven ("verified": the second set X afresh) or printed, without a word."""
    code, out, err, took = cli(capsys, command, f, "--wrt", "X", "--assume", "X > 0",
                               "--assume", "X < 0", "--verify", verify)
    assert code == 2 and out == ""
    assert "the assumptions X > 0 and -X > 0 contradict each other" in err
    assert took < AT_ONCE


def test_an_inequality_that_breaks_a_constraint_is_not_proven_under_it(capsys):
    """X > 0 and X + 1 < 0: the second set X = −1 − p after the first made X positive."""
    code, out, err, _ = cli(capsys, "grad", "sum(log(X))", "--wrt", "X", "--assume", "X > 0",
                            "--assume", "X + 1 < 0")
    assert code == 2 and out == ""
    assert "could not draw a point where the assumptions hold" in err


def test_compatible_assumptions_are_kept(capsys):
    code, out, err, _ = cli(capsys, "grad", "sum(log(X))", "--wrt", "X", "--assume", "X > 0",
                            "--assume", "X - 2 < 0")
    assert code == 0, err
    assert "verified exactly" in err


def test_a_scalar_and_a_matrix_assumption_are_not_compared(capsys):
    code, out, err, _ = cli(capsys, "grad", "sum(log(alpha * X))", "--wrt", "alpha",
                            "--assume", "alpha > 0", "--assume", "X > 0")
    assert code == 0, err
    code, out, err, _ = cli(capsys, "grad", "sum(log(alpha * X))", "--wrt", "alpha",
                            "--assume", "alpha > 0", "--assume", "alpha < 0")
    assert code == 2 and "contradict each other" in err and "alpha" in err  # wording: H8's


def test_a_hessian_vector_product_of_a_long_product_is_refused(capsys):
    """tr(X⁶⁰) derives its gradient (60² = 3,600), but H[V] would hold 60 terms of 59."""
    f = "tr(" + " @ ".join(["X"] * 60) + ")"
    code, out, err, took = cli(capsys, "hessian", f, "--wrt", "X", "--verify", "none")
    assert code == 2 and out == ""
    assert "too large to differentiate as one expression" in err
    assert took < 60


@pytest.mark.parametrize("verify", ["none", "numeric"])
def test_a_gradient_too_large_to_check_or_prove_numerically_is_refused(capsys, verify):
    code, out, err, took = cli(capsys, "grad", "sum(X)", "--wrt", "X", "--shape",
                               "X=20000x20000", "--format", "numpy", "--verify", verify)
    assert code == 2 and out == ""
    assert ("GiB of memory" in err and "--format text" in err) if verify == "none" else \
        "at most 1,000,000 entries" in err
    assert took < AT_ONCE
