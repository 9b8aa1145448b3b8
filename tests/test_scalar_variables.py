"""Issue 10 §3: a gradient with respect to a scalar variable is a scalar.

The scalar is differentiated as the 1×1 matrix it is and read back as a number (api.py
_grad_scalar); the proof does the same (verify/sample.py as_matrix_variable), so each result
is proven exactly and by central differences like any gradient.
"""
import numpy as np
import pytest
import sympy as sp

from matcalc import MatcalcError, VerificationError, grad
from matcalc.cli import main
from matcalc.core.expr import add, apply, entry_sum, matmul, matrix, mul, scalar, trace
from matcalc.printing.text import text
from matcalc.verify import assert_gradient, verify_exact, verify_numeric

EXAMPLES = [
    # (f, wrt, the derivative as printed)
    ("alpha * tr(A @ X)", "alpha", "tr(A @ X)"),
    ("alpha**2 * norm(X)**2", "alpha", "2*alpha*norm(X)**2"),
    ("sum(exp(alpha * X))", "alpha", "sum(X * exp(alpha*X))"),
    ("sum(lam / X)", "lam", "sum(1/X)"),
    ("log(alpha) + alpha", "alpha", "1 + 1/alpha"),
    ("exp(alpha) * tr(X)", "alpha", "exp(alpha)*tr(X)"),
    ("sum(sigmoid(lam * X + W))", "lam", "sum(X * (1 - sigmoid(W + lam*X))*sigmoid(W + lam*X))"),
    ("norm(alpha*A @ x - b)**2", "alpha", "2*tr((alpha*A @ x - b).T @ A @ x)"),
    ("x.T @ A @ x + lam * norm(x)**2", "lam", "norm(x)**2"),
]


@pytest.fixture(scope="module", params=EXAMPLES, ids=lambda r: f"{r[0]} wrt {r[1]}")
def example(request):
    f, wrt, printed = request.param
    return grad(f, wrt), printed


def test_the_derivative_is_a_scalar(example):
    g, printed = example
    assert not getattr(g.expr, "is_Matrix", False)
    assert isinstance(g.wrt, sp.Symbol) and not isinstance(g.wrt, sp.MatrixSymbol)
    assert g.text() == printed
    assert str(g) == f"∂f/∂{g.wrt.name} = {printed}"


def test_proven_exactly(example):
    example[0].verify(method="exact")


def test_proven_by_central_differences(example):
    example[0].verify(method="numeric")


def test_numpy_code_returns_a_number(example):
    g = example[0]
    src = g.numpy_source()         # run against the proof's points before it is returned
    assert f"def grad_{g.wrt.name}(" in src
    fn = g.numpy()
    rng = np.random.default_rng(3)
    values = []
    for a in g.arguments():
        if isinstance(a, sp.MatrixSymbol):
            values.append(rng.uniform(0.5, 1.5, size=tuple(
                int(d) if d.is_Integer else 3 for d in a.shape)))
        else:
            values.append(1.7)
    out = fn(*values)
    assert np.ndim(out) == 0 and np.isfinite(out)


def test_by_hand():
    g = grad("alpha * tr(A @ X)", "alpha", shapes={"A": (2, 3), "X": (3, 2)})
    A, X = np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(3, 2) - 2
    assert g.numpy()(2.0, A, X) == pytest.approx(np.trace(A @ X))
    g = grad("alpha**2 * norm(X)**2", "alpha", shapes={"X": (2, 2)})
    assert g.numpy()(3.0, np.ones((2, 2))) == pytest.approx(2 * 3.0 * 4)


def test_declared_scalar_and_latex():
    g = grad("alpha * tr(A @ X)", "alpha", shapes={"alpha": "scalar"})
    assert g.text() == "tr(A @ X)"
    assert g.latex() == r"\operatorname{tr}\left(A X\right)"


def test_expression_input():
    A, X = matrix("A", 3, 4), matrix("X", 4, 3)
    a = scalar("a")
    g = grad(a ** 2 * trace(matmul(A, X)), a)
    assert g.text() == "2*a*tr(A @ X)"
    g.verify()


def test_expression_input_with_the_scalar_inside_a_body_is_refused():
    X, a = matrix("X", 3, 4), scalar("a")
    f = entry_sum(add(mul(a, X), apply("exp", X)))      # a·T + exp(T) fuse into one body
    assert text(f) == "sum(X*a + exp(X))"
    with pytest.raises(MatcalcError, match="give f as text"):
        grad(f, a)


def test_an_inequality_gives_the_domain():
    g = grad("sum(log(alpha * X))", "alpha", assume=["alpha > 0", "X > 0"])
    g.verify()


def test_the_proof_rejects_a_wrong_scalar_claim():
    A, X, a = matrix("A", 2, 3), matrix("X", 3, 2), scalar("a")
    f = a ** 2 * trace(matmul(A, X))
    assert_gradient(f, a, 2 * a * trace(matmul(A, X)))
    for check in (verify_exact, verify_numeric):
        with pytest.raises(VerificationError):
            check(f, a, a * trace(matmul(A, X)))


def test_cli(capsys):
    assert main(["grad", "alpha * tr(A @ X)", "--wrt", "alpha", "--shape", "alpha=scalar"]) == 0
    out, err = capsys.readouterr()
    assert out == "∂f/∂alpha = tr(A @ X)    (A: n×m, X: m×n, alpha: scalar)\n"
    assert "verified exactly" in err
    assert main(["grad", "lam * sum(W)", "--wrt", "lam", "--format", "numpy"]) == 0
    out, _ = capsys.readouterr()
    assert "def grad_lam(lam, W):" in out and "return np.sum(W)" in out


@pytest.mark.parametrize("layout", ["numerator", "denominator", "mixed"])
def test_cli_layout_of_a_scalar_is_said_plainly(capsys, layout):
    """Not "∂f/∂alpha has the shape of alphaᵀ (the transpose)": a number has no layout."""
    assert main(["grad", "alpha**2 * tr(X)", "--wrt", "alpha", "--layout", layout]) == 0
    out, _ = capsys.readouterr()
    assert out == ("∂f/∂alpha = 2*alpha*tr(X)    (X: n×n, alpha: scalar)\n"
                   "alpha is a scalar: ∂f/∂alpha is the same number in every layout\n")
