"""Jacobians (issue 10 §1, §5): J read off d vec F = J d vec X, printed with kron, vec and the
commutation matrix, proven, in the three layouts; and gradients in the three layouts."""
import json

import numpy as np
import pytest
import sympy as sp

import matcalc
from matcalc.cli import main
from matcalc.core.errors import VerificationError
from matcalc.core.expr import eye, matmul, matrix
from matcalc.core.kron import kron
from matcalc.verify import evaluate
from matcalc.verify.jacobian import verify_jacobian

# f, wrt, J (numerator layout), Jᵀ (denominator layout)
TABLE = [
    ("A @ X", "X", "kron(eye(p), A)", "kron(eye(p), A.T)"),
    ("X.T", "X", "commutation(n, m)", "commutation(m, n)"),
    ("sigmoid(x)", "x", "diag((1 - sigmoid(x))*sigmoid(x))", "diag((1 - sigmoid(x))*sigmoid(x))"),
    ("A @ exp(x)", "x", "A @ diag(exp(x))", "diag(exp(x)) @ A.T"),
    ("A @ X @ B", "X", "kron(B.T, A)", "kron(B, A.T)"),
    ("A @ x", "x", "A", "A.T"),
    ("x * x", "x", "2*diag(x)", "2*diag(x)"),
    ("softmax(z)", "z", "diag(softmax(z)) - softmax(z) @ softmax(z).T",
     "diag(softmax(z)) - softmax(z) @ softmax(z).T"),
    ("logsoftmax(z)", "z", "eye(n) - ones(n, 1) @ softmax(z).T",
     "eye(n) - softmax(z) @ ones(1, n)"),
    ("X @ X", "X", "kron(eye(n), X) + kron(X.T, eye(n))", "kron(X, eye(n)) + kron(eye(n), X.T)"),
    ("inv(X)", "X", "-kron(inv(X).T, inv(X))", "-kron(inv(X), inv(X).T)"),
    ("X * Y", "X", "diag(vec(Y))", "diag(vec(Y))"),
    ("tr(X) * X", "X", "vec(X) @ vec(eye(n)).T + tr(X)*eye(n**2)",
     "vec(eye(n)) @ vec(X).T + tr(X)*eye(n**2)"),
    ("vec(A @ X)", "X", "kron(eye(p), A)", "kron(eye(p), A.T)"),
    ("relu(W @ x + b)", "x", "diag(step(W @ x + b)) @ W", "W.T @ diag(step(W @ x + b))"),
    ("diag(x)", "x", "diag(vec(eye(n))) @ kron(ones(n, 1), eye(n))",
     "kron(ones(1, n), eye(n)) @ diag(vec(eye(n)))"),
    ("diag(X)", "X", "kron(ones(1, n), eye(n)) @ diag(vec(eye(n)))",
     "diag(vec(eye(n))) @ kron(ones(n, 1), eye(n))"),
    ("max(X, axis=0)", "X", "kron(eye(m), ones(1, n)) @ diag(vec(maxmask(X, axis=0)))",
     "diag(vec(maxmask(X, axis=0))) @ kron(eye(m), ones(n, 1))"),
    ("kron(x, X)", "X", "kron(commutation(p, n), eye(m)) @ kron(x, eye(m*p))",
     "kron(x.T, eye(m*p)) @ kron(commutation(n, p), eye(m))"),
]


@pytest.mark.parametrize("f, wrt, numerator, denominator", TABLE, ids=[r[0] for r in TABLE])
def test_jacobian_table_is_printed_and_proven(f, wrt, numerator, denominator):
    j = matcalc.jacobian(f, wrt)
    assert j.text() == numerator
    assert matcalc.jacobian(f, wrt, layout="denominator").text() == denominator
    assert matcalc.jacobian(f, wrt, layout="mixed").text() == numerator    # F is not a scalar
    j.verify(method="both")


def _explicit_jacobian(F, X, values):
    """sympy's own Jacobian of vec(F) by vec(X), written out at `values` (X symbolic)."""
    xs = sp.Matrix(X.shape[0], X.shape[1], lambda i, j: sp.Symbol(f"x{i}_{j}"))
    Fv = sp.Matrix(evaluate(F, {**values, X: xs}, exact=True))
    return Fv.vec().jacobian(xs.vec()), xs


def test_against_sympy_jacobian_directly():
    """Independent of matcalc's verifier: sympy's Matrix.jacobian of the written-out vec F."""
    A, X, B = matrix("A", 2, 3), matrix("X", 3, 4), matrix("B", 4, 2)
    a = sp.Matrix(2, 3, lambda i, j: sp.Rational(i + 2 * j + 1, 3))
    b = sp.Matrix(4, 2, lambda i, j: sp.Rational(3 * i - j, 2))
    F = matmul(A, X, B)
    J = matcalc.jacobian(F, X).expr
    ref, xs = _explicit_jacobian(F, X, {A: a, B: b})
    assert sp.simplify(sp.Matrix(evaluate(J, {A: a, B: b, X: xs}, exact=True)) - ref) == \
        sp.zeros(*ref.shape)


def test_against_central_differences_directly():
    """J(A @ exp(x)) = A diag(exp(x)), column by column against NumPy central differences."""
    rng = np.random.default_rng(1)
    a, x0 = rng.standard_normal((3, 4)), rng.standard_normal((4, 1))
    j = matcalc.jacobian("A @ exp(x)", "x")
    A, x = j.symbols["A"], j.symbols["x"]
    J = evaluate(j.expr, {A: a, x: x0})
    h = 1e-6
    for k in range(4):
        e = np.zeros((4, 1))
        e[k] = h
        col = (a @ np.exp(x0 + e) - a @ np.exp(x0 - e)) / (2 * h)
        np.testing.assert_allclose(J[:, [k]], col, rtol=1e-7)


def test_the_verifier_rejects_wrong_jacobians():
    A, X = matrix("A", "m", "n"), matrix("X", "n", "p")
    wrong = kron(A, eye("p"))                     # the factors swapped
    for method in ("exact", "numeric"):
        with pytest.raises(VerificationError, match="Jacobian"):
            verify_jacobian(matmul(A, X), X, wrong, method=method)
    with pytest.raises(VerificationError, match="shapes differ"):
        verify_jacobian(matmul(A, X), X, A)


def test_jacobian_of_a_scalar_is_the_gradient_in_the_layout_asked():
    j = matcalc.jacobian("x.T @ A @ x", "x")
    assert j.text() == "x.T @ (A + A.T)"                 # numerator: a row
    assert matcalc.jacobian("x.T @ A @ x", "x", layout="mixed").text() == "(A + A.T) @ x"
    assert matcalc.jacobian("x.T @ A @ x", "x", layout="mixed").shown_layout == "denominator"
    j.verify()


def test_numpy_code_is_run_and_computes_j():
    j = matcalc.jacobian("A @ X", "X")
    fn = j.numpy()
    rng = np.random.default_rng(2)
    a, x = rng.standard_normal((2, 3)), rng.standard_normal((3, 5))
    np.testing.assert_allclose(fn(a, x), np.kron(np.eye(5), a))
    assert "np.kron(np.eye(p), A)" in j.numpy_source()
    src = matcalc.jacobian("X.T", "X").numpy_source()
    assert "def _commutation(m, n):" in src and "_commutation(n, m)" in src


def test_a_node_without_a_vec_move_is_named():
    from matcalc.calculus.jacobian import jacobian_of
    from matcalc.core.structure import Conv, unfold
    A = matrix("A", 1, 32)                      # two 4×4 maps of one channel
    with pytest.raises(matcalc.NoRuleError, match="no vec move for Unfold; add an entry to "
                                                  "VEC_MOVES in calculus/jacobian.py"):
        jacobian_of(unfold(A, Conv(1, 4, 4, 3, 1, 1)), A)


def test_latex():
    assert matcalc.jacobian("A @ X @ B", "X").latex() == r"B^{\top} \otimes A"
    assert matcalc.jacobian("X.T", "X", layout="denominator").latex() == "K_{m, n}"


# ---------------------------------------------------------------- layouts of gradients (§5)

@pytest.mark.parametrize("layout, txt, tex, code", [
    ("denominator", "A.T @ B.T", r"A^{\top} B^{\top}", "return A.T @ B.T"),
    ("numerator", "B @ A", "B A", "return B @ A"),
    ("mixed", "A.T @ B.T", r"A^{\top} B^{\top}", "return A.T @ B.T"),
])
def test_gradient_layouts_in_text_latex_and_numpy(layout, txt, tex, code):
    g = matcalc.grad("tr(A @ X @ B)", "X", layout=layout)
    assert g.layout == layout
    assert (g.text(), g.latex()) == (txt, tex)
    assert code in g.numpy_source()          # run against the gradient before it is shown


def test_numerator_gradient_code_computes_the_transpose():
    g = matcalc.grad("tr(A @ X @ B)", "X", layout="numerator")
    rng = np.random.default_rng(0)
    a, x, b = (rng.standard_normal(s) for s in ((2, 3), (3, 4), (4, 2)))
    np.testing.assert_allclose(g.numpy()(a, x, b), (a.T @ b.T).T)


def test_an_unknown_layout_is_refused():
    with pytest.raises(matcalc.MatcalcError, match="layout must be one of numerator, "
                                                   "denominator, mixed, not 'diagonal'"):
        matcalc.grad("tr(X)", "X", layout="diagonal")
    with pytest.raises(matcalc.MatcalcError, match="layout must be one of"):
        matcalc.jacobian("A @ X", "X", layout="rows")


# ---------------------------------------------------------------- command line

def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_jacobian_text(capsys):
    code, out, err = run(capsys, "jacobian", "A @ X", "--wrt", "X")
    assert code == 0, err
    assert out == ("J = kron(eye(p), A)    (A: n×m, X: m×p)\n"
                   "numerator layout: J = ∂vec(F)/∂vec(X)ᵀ, a row per entry of vec(F); "
                   "(n*p)×(m*p), F = A @ X\n")
    assert err == "verified exactly (sympy.diff, entrywise) and by central differences\n"


def test_cli_jacobian_denominator_and_formats(capsys):
    code, out, _ = run(capsys, "jacobian", "A @ exp(x)", "--wrt", "x", "--layout",
                       "denominator", "--verify", "exact")
    assert code == 0
    assert out.splitlines() == [
        "Jᵀ = diag(exp(x)) @ A.T    (A: n×m, x: m×1)",
        "denominator layout: Jᵀ = ∂vec(F)ᵀ/∂vec(x), a row per entry of vec(x); m×n, "
        "F = A @ exp(x)"]
    code, out, _ = run(capsys, "jacobian", "A @ exp(x)", "--wrt", "x", "--format", "latex")
    assert out == "A \\operatorname{diag}\\left(\\exp\\left(x\\right)\\right)\n"
    code, out, _ = run(capsys, "jacobian", "A @ exp(x)", "--wrt", "x", "--format", "numpy")
    assert "return A * np.exp(x).T" in out
    code, out, _ = run(capsys, "jacobian", "X.T", "--wrt", "X", "--format", "json")
    record = json.loads(out)
    assert record["jacobian"]["text"] == "commutation(n, m)"
    assert (record["command"], record["layout"], record["rows"]) == ("jacobian", "numerator",
                                                                      "m*n")
    assert record["verification"]["status"] == "verified"
    code, out, _ = run(capsys, "jacobian", "A @ X", "--wrt", "X", "--shape", "A=2x3", "--shape",
                       "X=3x2", "--format", "json")
    assert (json.loads(out)["rows"], json.loads(out)["cols"]) == (4, 6)    # numbers, as shapes
    assert set(record) == {"command", "expression", "wrt", "jacobian", "rows", "cols", "shapes",
                           "assumptions", "layout", "verification"}      # as the README says
    code, out, _ = run(capsys, "hessian", "x.T @ A @ x", "--wrt", "x", "--form", "matrix",
                       "--format", "json")
    record = json.loads(out)
    assert set(record) == {"command", "expression", "wrt", "hessian", "form", "direction",
                           "shapes", "assumptions", "layout", "verification"}
    assert (record["hessian"]["text"], record["direction"], record["layout"]) == \
        ("A + A.T", None, "symmetric")


def test_cli_grad_states_the_layout_it_was_asked_for(capsys):
    code, out, _ = run(capsys, "grad", "tr(A @ X @ B)", "--wrt", "X", "--layout", "numerator")
    assert out.splitlines() == ["∂f/∂X = B @ A    (A: n×m, X: m×p, B: p×n)",
                                "numerator layout: ∂f/∂X has the shape of Xᵀ (the transpose)"]
    code, out, _ = run(capsys, "grad", "tr(A @ X @ B)", "--wrt", "X", "--layout", "mixed",
                       "--format", "numpy")
    assert "return A.T @ B.T" in out


# ---------------------------------------------------------------- scalar variables

@pytest.mark.parametrize("f, numerator, denominator", [
    ("alpha*x", "x", "x.T"),
    ("exp(alpha*x)", "x * exp(alpha*x)", "x.T * exp(alpha*x).T"),
    ("alpha*A @ x + x*alpha**2", "A @ x + 2*alpha*x", "x.T @ A.T + 2*alpha*x.T"),
    ("sigmoid(alpha)*X", "(1 - sigmoid(alpha))*sigmoid(alpha)*vec(X)",
     "(1 - sigmoid(alpha))*sigmoid(alpha)*vec(X).T"),
    ("alpha**3", "3*alpha**2", "3*alpha**2"),
    ("log(alpha)*sum(x)", "sum(x)/alpha", "sum(x)/alpha"),
])
def test_jacobian_with_respect_to_a_scalar(f, numerator, denominator):
    """∂vec F/∂s: a |F|×1 column in numerator layout, a number for a scalar F (it was refused
    with "declare a scalar 1×1")."""
    j = matcalc.jacobian(f, "alpha")
    assert j.text() == numerator
    j.verify()
    assert matcalc.jacobian(f, "alpha", layout="denominator").text() == denominator


def test_scalar_jacobian_against_sympy_directly():
    j = matcalc.jacobian("exp(alpha*x)", "alpha", shapes={"x": (3, 1)})
    alpha = sp.Symbol("alpha", real=True)
    xs = sp.Matrix([1, -2, sp.Rational(1, 2)])
    got = evaluate(j.expr, {j.wrt: sp.Rational(1, 5), j.symbols["x"]: xs})
    want = sp.Matrix([sp.exp(alpha * x) for x in xs]).diff(alpha).subs(alpha, sp.Rational(1, 5))
    assert np.allclose(np.asarray(got, dtype=float), np.asarray(want.evalf(), dtype=float))


def test_wrong_scalar_jacobians_are_refused():
    j = matcalc.jacobian("alpha*x", "alpha")
    x = j.symbols["x"]
    for method in ("exact", "numeric"):
        with pytest.raises(VerificationError, match="Jacobian .* is wrong"):
            verify_jacobian(j.f, j.wrt, 2 * x, method=method)
        with pytest.raises(VerificationError, match="Jacobian .* is wrong"):
            verify_jacobian(j.wrt ** 3, j.wrt, 3 * j.wrt, method=method)


def test_cli_jacobian_with_respect_to_a_scalar(capsys):
    code, out, err = run(capsys, "jacobian", "alpha*x", "--wrt", "alpha")
    assert code == 0, err
    assert out.splitlines() == [
        "J = x    (x: n×1, alpha: scalar)",
        "numerator layout: J = ∂vec(F)/∂vec(alpha)ᵀ, a row per entry of vec(F); n×1, "
        "F = alpha*x"]
    assert err == "verified exactly (sympy.diff, entrywise) and by central differences\n"
    code, out, err = run(capsys, "jacobian", "alpha*x", "--wrt", "alpha", "--format", "json")
    assert code == 0, err
    record = json.loads(out)
    assert record["jacobian"]["text"] == "x" and (record["rows"], record["cols"]) == ("n", 1)
    code, out, err = run(capsys, "jacobian", "alpha**3", "--wrt", "alpha", "--format", "numpy")
    assert code == 0, err
    namespace = {}
    exec(out, namespace)
    assert namespace["jacobian_alpha"](2.0) == pytest.approx(12.0)
