"""Hessians (issue 10 §2): the product H[V] as the differential of the gradient in a direction
V, the matrix as the Jacobian of the gradient; printed, proven (sympy.diff twice, central
differences of the gradient, second differences of f), and refused when wrong."""
import json

import numpy as np
import pytest
import sympy as sp

import matcalc
from matcalc.cli import main
from matcalc.core.errors import VerificationError
from matcalc.core.expr import matmul
from matcalc.verify import evaluate
from matcalc.verify.jacobian import verify_hessian, verify_hvp

CE = ("-sum(Y * logsoftmax(W @ X))", "W", ("sum(Y, axis=0) == 1",))

# f, wrt, assumptions, H[V], H
TABLE = [
    ("tr(X.T @ A @ X)", "X", (), "(A + A.T) @ V", "kron(eye(m), A + A.T)"),
    ("norm(A @ X - B)**2", "X", (), "2*A.T @ A @ V", "2*kron(eye(p), A.T @ A)"),
    (*CE, "((V @ X) * softmax(W @ X) - softmax(W @ X) * (ones(n, n) @ ((V @ X) * "
          "softmax(W @ X)))) @ X.T",
     "kron(X, eye(n)) @ (diag(vec(softmax(W @ X))) - diag(vec(softmax(W @ X))) @ "
     "kron(eye(m), ones(n, n)) @ diag(vec(softmax(W @ X)))) @ kron(X.T, eye(n))"),
    ("x.T @ A @ x", "x", (), "(A + A.T) @ V", "A + A.T"),
    ("sum(exp(X))", "X", (), "V * exp(X)", "diag(vec(exp(X)))"),
    ("logdet(X)", "X", (), "-inv(X).T @ V.T @ inv(X).T",
     "-kron(inv(X), inv(X).T) @ commutation(n, n)"),
    ("sum(log(sigmoid(y * (X @ w))))", "w", (),
     "-X.T @ (y * y * (X @ V) * (1 - sigmoid(y * (X @ w)))*sigmoid(y * (X @ w)))",
     "-X.T @ diag(y * y * (1 - sigmoid(y * (X @ w)))*sigmoid(y * (X @ w))) @ X"),
]


@pytest.mark.parametrize("f, wrt, assume, product, matrix", TABLE, ids=[r[0] for r in TABLE])
def test_hessian_table_is_printed_and_proven(f, wrt, assume, product, matrix):
    h = matcalc.hessian(f, wrt, assume=assume)
    assert h.text() == product
    h.verify(method="both")
    m = matcalc.hessian(f, wrt, assume=assume, form="matrix")
    assert m.text() == matrix
    m.verify(method="both")


def test_the_direction_is_named_apart_from_the_variables():
    h = matcalc.hessian("sum(V * exp(X))", "X")
    assert h.direction.name == "V1" and h.text() == "V * V1 * exp(X)"
    h.verify()


def test_hessian_matrix_against_sympy_hessian_directly():
    """Independent of matcalc's verifier: sympy.hessian of the written-out logistic loss."""
    m = matcalc.hessian("sum(log(sigmoid(y * (X @ w))))", "w", form="matrix",
                        shapes={"X": (3, 2)})
    X, y, w = (m.gradient.symbols[k] for k in ("X", "y", "w"))
    xv = sp.Matrix([[1, 2], [-1, sp.Rational(1, 2)], [3, -2]])
    yv = sp.Matrix([1, -1, 1])
    ws = sp.Matrix(sp.symbols("w0:2"))
    f = sum(sp.log(1 / (1 + sp.exp(-yv[i] * (xv[i, :] * ws)[0]))) for i in range(3))
    ref = sp.hessian(f, list(ws))
    got = sp.Matrix(evaluate(m.expr, {X: xv, y: yv, w: ws}, exact=True))
    point = {ws[0]: sp.Rational(1, 3), ws[1]: sp.Rational(-2, 5)}
    diff = (ref - got).subs(point).evalf(30)
    assert max(abs(v) for v in diff) < 1e-25


def test_product_against_central_differences_of_the_gradient_directly():
    h = matcalc.hessian("norm(A @ X - B)**2", "X")
    g = h.gradient.numpy()
    rng = np.random.default_rng(5)
    a, x, b, v = (rng.standard_normal(s) for s in ((4, 3), (3, 2), (4, 2), (3, 2)))
    step = 1e-6
    ref = (g(a, x + step * v, b) - g(a, x - step * v, b)) / (2 * step)
    np.testing.assert_allclose(h.numpy()(a, x, b, v), ref, rtol=1e-6)


@pytest.mark.parametrize("method", ["exact", "numeric"])
def test_the_verifier_rejects_wrong_hessians(method):
    h = matcalc.hessian("tr(X.T @ A @ X)", "X")
    with pytest.raises(VerificationError, match="Hessian–vector product"):
        verify_hvp(h.f, h.wrt, h.direction, matmul(2, h.expr), h.gradient.expr, method=method)
    m = matcalc.hessian("x.T @ A @ x", "x", form="matrix")
    A = m.gradient.symbols["A"]
    with pytest.raises(VerificationError, match="Hessian"):
        verify_hessian(m.f, m.wrt, matmul(2, A), method=method)     # 2A is not A + Aᵀ


def test_the_product_honours_the_assumption():
    """Without sum(Y) = 1 the gradient (and so H[V]) keeps the column sums of Y."""
    h = matcalc.hessian(*CE[:2])
    assert "ones(n, n) @ Y" in h.text()
    h.verify()


def test_latex_and_numpy():
    h = matcalc.hessian("tr(X.T @ A @ X)", "X")
    assert h.latex() == r"\left(A + A^{\top}\right) V"
    assert "return (A + A.T) @ V" in h.numpy_source()
    m = matcalc.hessian("norm(A @ X - B)**2", "X", form="matrix")
    assert m.latex() == r"2 I_{p} \otimes \left(A^{\top} A\right)"
    src = m.numpy_source()
    assert "return 2 * np.kron(np.eye(p), A.T @ A)" in src and "p = X.shape[1]" in src


def test_form_must_be_known():
    with pytest.raises(matcalc.MatcalcError, match="form must be 'product' or 'matrix'"):
        matcalc.hessian("tr(X)", "X", form="diagonal")


# ---------------------------------------------------------------- command line

def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_product(capsys):
    code, out, err = run(capsys, "hessian", "tr(X.T @ A @ X)", "--wrt", "X")
    assert code == 0, err
    assert out == ("H[V] = (A + A.T) @ V    (X: n×m, A: n×n, V: n×m)\n"
                   "V is a direction: H[V] = d/dε ∇f(X + εV) at ε = 0\n")
    assert err == "verified exactly (sympy.diff, entrywise) and by central differences\n"


def test_cli_matrix_and_assumptions(capsys):
    code, out, err = run(capsys, "hessian", "norm(A @ X - B)**2", "--wrt", "X", "--form",
                         "matrix")
    assert code == 0, err
    assert out.splitlines() == ["H = 2*kron(eye(p), A.T @ A)    (A: n×m, X: m×p, B: n×p)",
                                "H = ∂²f/∂vec(X)∂vec(X)ᵀ, (m*p)×(m*p), symmetric (every layout)"]
    code, out, err = run(capsys, "hessian", *CE[:1], "--wrt", "W", "--assume", CE[2][0],
                         "--format", "json")
    assert code == 0, err
    record = json.loads(out)
    assert record["form"] == "product" and record["direction"] == "V"
    assert record["assumptions"] == ["each column of Y sums to 1"]
    assert err.startswith("given that each column of Y sums to 1\n")


# ---------------------------------------------------------------- zero Hessians

def test_a_zero_hessian_is_printed_as_zeros_and_proven(capsys):
    """relu is piecewise linear: its Hessian is 0 almost everywhere (it was a KeyError: the
    direction V, absent from the claim, was not drawn); a linear f gives 0 exactly."""
    code, out, err = run(capsys, "hessian", "sum(relu(W @ X))", "--wrt", "W")
    assert code == 0, err
    assert out.splitlines()[0] == "H[V] = zeros(n, m)    (W: n×m, X: m×p, V: n×m)"
    assert err == "verified exactly (sympy.diff, entrywise) and by central differences\n"
    code, out, err = run(capsys, "hessian", "sum(relu(W @ X))", "--wrt", "W", "--form", "matrix")
    assert code == 0, err
    assert out.splitlines()[0] == "H = zeros(m*n, m*n)    (W: n×m, X: m×p)"
    code, out, err = run(capsys, "hessian", "tr(A @ X)", "--wrt", "X", "--format", "json")
    assert code == 0, err
    record = json.loads(out)
    assert record["hessian"]["text"] == "zeros(m, n)" and record["direction"] == "V"
    assert "np.zeros((m, n))" in record["hessian"]["numpy"]


def test_a_zero_claim_is_refused_where_the_hessian_is_not_zero():
    h = matcalc.hessian("tr(X.T @ X)", "X")
    zero = sp.ZeroMatrix(*h.wrt.shape)
    for method in ("exact", "numeric"):
        with pytest.raises(VerificationError, match="H\\[V\\] is wrong"):
            verify_hvp(h.f, h.wrt, h.direction, zero, h.gradient.expr, method=method)


# ---------------------------------------------------------------- scalar variables

@pytest.mark.parametrize("f, product, matrix", [
    ("alpha**3", "6*V*alpha", "6*alpha"),
    ("log(alpha)*sum(x)", "-V*sum(x)/alpha**2", "-sum(x)/alpha**2"),
    ("alpha*tr(X)", "0", "0"),
])
def test_hessian_with_respect_to_a_scalar_is_a_number(f, product, matrix):
    """A scalar s is differentiated as the 1×1 matrix it is and read back as a number (it was an
    AttributeError: 'Symbol' object has no attribute 'shape'); V is a number too."""
    h = matcalc.hessian(f, "alpha")
    assert h.text() == product and isinstance(h.direction, sp.Symbol)
    h.verify()
    m = matcalc.hessian(f, "alpha", form="matrix")
    assert m.text() == matrix
    m.verify()


def test_scalar_hessians_against_sympy_diff_directly():
    alpha, v = sp.symbols("alpha V", real=True)
    h = matcalc.hessian("alpha**3 * exp(alpha)", "alpha", form="matrix")
    want = sp.diff(alpha ** 3 * sp.exp(alpha), alpha, 2)
    for a in (sp.Rational(1, 3), sp.Rational(-7, 4)):
        got = h.expr.xreplace({h.wrt: a})
        assert sp.simplify(got - want.subs(alpha, a)) == 0
    p = matcalc.hessian("alpha**3 * exp(alpha)", "alpha")
    assert sp.simplify(p.expr.xreplace({p.wrt: alpha, p.direction: v}) - want * v) == 0


def test_wrong_scalar_hessians_are_refused():
    h = matcalc.hessian("alpha**3", "alpha")
    alpha, v = h.wrt, h.direction
    for method in ("exact", "numeric"):
        with pytest.raises(VerificationError, match="H\\[V\\] is wrong"):
            verify_hvp(h.f, alpha, v, 5 * v * alpha, h.gradient.expr, method=method)
        with pytest.raises(VerificationError, match="Hessian .* is wrong"):
            verify_hessian(h.f, alpha, 6 * alpha ** 2, method=method)


def test_cli_hessian_with_respect_to_a_scalar(capsys):
    code, out, err = run(capsys, "hessian", "alpha**3", "--wrt", "alpha")
    assert code == 0, err
    assert out == ("H[V] = 6*V*alpha    (alpha: scalar, V: scalar)\n"
                   "V is a direction: H[V] = d/dε ∇f(alpha + εV) at ε = 0\n")
    assert err == "verified exactly (sympy.diff, entrywise) and by central differences\n"
    code, out, err = run(capsys, "hessian", "alpha**3", "--wrt", "alpha", "--form", "matrix")
    assert code == 0, err
    assert out.splitlines() == ["H = 6*alpha    (alpha: scalar)",
                                "H = ∂²f/∂vec(alpha)∂vec(alpha)ᵀ, 1×1, symmetric (every layout)"]
    code, out, err = run(capsys, "hessian", "sum(V)*alpha**2", "--wrt", "alpha", "--format",
                         "numpy")
    assert code == 0, err
    namespace = {}
    exec(out, namespace)
    assert "def hessian_alpha(V, alpha, V1):" in out
    assert namespace["hessian_alpha"](np.ones((2, 3)), 3.0, 0.5) == pytest.approx(2 * 0.5 * 6)


# ---------------------------------------------------------------- found by fuzzing the command

@pytest.mark.parametrize("argv, first", [
    # sympy.diff twice of |x| holds DiracDelta, which mpmath could not spell (exit 3, NameError)
    (["hessian", "norm(X, 1)", "--wrt", "X"], "H[V] = zeros(n, m)    (X: n×m, V: n×m)"),
    (["hessian", "sum(abs(x))", "--wrt", "x", "--form", "matrix"], "H = zeros(n, n)    (x: n×1)"),
    # sign′ of a 1×1 trace was an unevaluated Subs with no evaluator (exit 2)
    (["hessian", "norm(alpha * x)", "--wrt", "alpha"],
     "H[V] = 0    (x: n×1, alpha: scalar, V: scalar)"),
    (["hessian", "abs(alpha)**3", "--wrt", "alpha", "--form", "matrix"],
     "H = 6*abs(alpha)    (alpha: scalar)"),
])
def test_hessians_through_sign_are_proven(capsys, argv, first):
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert out.splitlines()[0] == first
    assert err == "verified exactly (sympy.diff, entrywise) and by central differences\n"


def test_a_wrong_claim_through_sign_is_refused():
    h = matcalc.hessian("abs(alpha)**3", "alpha", form="matrix")
    for method in ("exact", "numeric"):
        with pytest.raises(VerificationError, match="Hessian .* is wrong"):
            verify_hessian(h.f, h.wrt, 5 * sp.Abs(h.wrt), method=method)
