"""api.py: grad and its Gradient (results/), constraints, derive, verify_backprop and load_data;
`.expr` in the result's layout for gradients and Jacobians; wrong argument types."""
import dataclasses

import numpy as np
import pytest
import sympy

from matcalc.api import (Gradient, assert_gradient, check, constraints, derive, grad, hessian,
                         jacobian, load_data, train, verify_backprop)
from matcalc.calculus.simplify import ColumnsSumToOne, Equals, RowsSumToOne, Symmetric
from matcalc.core.errors import ArgumentError, MatcalcError, NotScalarError, VerificationError
from matcalc.core.expr import (add, apply, entry_sum, hadamard, is_matrix, matmul, matrix, norm,
                               scalar, trace)
from matcalc.core.program import Assignment, Program
from matcalc.nn import backprop
from matcalc.nn.spec import mlp
from matcalc.printing.report import gradient_steps_text
from matcalc.printing.text import text
from matcalc.train.data import DataError, Dataset, load_digits
from matcalc.verify import evaluate

A = matrix("A", 2, 3)
X = matrix("X", 3, 4)
B = matrix("B", 4, 2)
W = matrix("W", 2, 3)
X5 = matrix("X", 3, 5)
Y = matrix("Y", 2, 5)
lam = scalar("lam")


# ---------------------------------------------------------------- grad

@pytest.mark.parametrize("f, wrt, printed", [
    ("tr(X.T @ A @ X)", "X", "(A + A.T) @ X"),
    ("tr(A @ X @ B)", "X", "A.T @ B.T"),
    ("a.T @ X @ b", "X", "a @ b.T"),                  # a 1×1 matrix is a scalar
    ("norm(W @ X - Y)**2 + lam*norm(W)**2", "W", "2*(W @ X - Y) @ X.T + 2*lam*W"),
    ("logdet(X)", "X", "inv(X).T"),
])
def test_grad_of_text(f, wrt, printed):
    g = grad(f, wrt)
    assert isinstance(g, Gradient)
    assert g.text() == printed
    assert str(g) == f"∂f/∂{wrt} = {printed}"
    assert g.wrt.name == wrt and g.expr.shape == g.wrt.shape


def test_grad_of_text_with_shapes():
    g = grad("norm(W @ X - Y)**2", "W", shapes={"W": (2, 3), "X": (3, 5)})
    assert g.text() == "2*(W @ X - Y) @ X.T"
    assert g.wrt == W and g.wrt.shape == (2, 3)
    assert [str(s) for s in g.arguments()] == ["W", "X", "Y"]     # order of appearance
    assert g.arguments()[2].shape == (2, 5)


def test_grad_of_an_expression_wrt_a_symbol_or_its_name():
    f = trace(matmul(A, X, B))
    by_symbol, by_name = grad(f, X), grad(f, "X")
    assert by_symbol.text() == by_name.text() == "A.T @ B.T"
    assert by_symbol.wrt is X and by_name.wrt == X
    assert by_symbol.f == f
    assert grad(entry_sum(apply("exp", X)), X).text() == "exp(X)"
    assert grad(entry_sum(hadamard(W, W)), "W").text() == "2*W"


def test_grad_of_text_wrt_a_symbol():
    g = grad("tr(A @ X @ B)", X, shapes={"A": (2, 3), "X": (3, 4), "B": (4, 2)})
    assert g.wrt is X and g.text() == "A.T @ B.T"


def test_grad_with_an_assumption():
    g = grad("-sum(Y * logsoftmax(W @ X))", "W", assume=["sum(Y, axis=0) == 1"])
    assert g.text() == "(softmax(W @ X) - Y) @ X.T"
    assert [type(a) for a in g.assumptions] == [ColumnsSumToOne]
    assert grad("-sum(Y * logsoftmax(W @ X))", "W").text() == \
        "((ones(n, n) @ Y) * softmax(W @ X) - Y) @ X.T"
    rule = ColumnsSumToOne(Y)                       # a rule object, as well as text
    f = -entry_sum(hadamard(Y, apply("log", apply("sigmoid", matmul(W, X5)))))
    assert grad(f, W, assume=[rule]).assumptions == (rule,)


@pytest.mark.parametrize("f, wrt, error, message", [
    ("tr(X.T @ A @ X)", "Z", MatcalcError,
     "cannot differentiate with respect to Z: it does not occur in tr(X.T @ A @ X) (its "
     "symbols: A, X)"),
    (trace(matmul(A, X, B)), "Z", MatcalcError,
     "cannot differentiate with respect to Z: it does not occur in tr(A @ X @ B) (its "
     "symbols: A, B, X)"),
    (trace(matmul(A, X, B)), matrix("Z", 3, 4), MatcalcError,
     "cannot differentiate with respect to Z: it does not occur in tr(A @ X @ B)"),
    ("W @ X", "W", NotScalarError,
     "W @ X is n×p, not a scalar: a gradient needs a scalar function; try sum(W @ X) or "
     "tr(W @ X); for a vector or matrix function, take its Jacobian"),
    (matmul(A, X), X, NotScalarError,
     "A @ X is 2×4, not a scalar: a gradient needs a scalar function; try sum(A @ X) or "
     "tr(A @ X); for a vector or matrix function, take its Jacobian"),
])
def test_grad_errors(f, wrt, error, message):
    with pytest.raises(error) as e:
        grad(f, wrt)
    assert str(e.value) == message


# ---------------------------------------------------------------- wrong argument types

TYPES = [
    (grad, ("tr(X)", "X"), {"shapes": {"X": (3, 3, 3)}},
     "grad: shapes['X'] must be (rows, cols), each an int or a dimension's name, such as "
     "(3, 4) or (\"n\", \"m\"); text such as \"3x4\"; or \"scalar\" (or ()) for a scalar; not "
     "(3, 3, 3)"),
    (grad, ("tr(X)", "X"), {"shapes": {"X": None}}, "grad: shapes['X'] must be (rows, cols)"),
    (grad, ("tr(X)", "X"), {"shapes": {"X": (3.5, 3)}}, "not (3.5, 3)"),
    (grad, ("tr(X)", "X"), {"shapes": {"X": (True, 3)}}, "not (True, 3)"),
    (grad, ("tr(X)", "X"), {"shapes": {3: (3, 3)}},
     "grad: shapes maps variable names such as \"X\" to shapes; 3 is not a name"),
    (jacobian, ("A @ X", "X"), {"shapes": [1]},
     "jacobian: shapes must be a dict such as {\"X\": (3, 4)}, not list"),
    (grad, ("tr(X)", "X"), {"assume": 1},
     "grad: assume must be text such as \"sum(Y, axis=0) == 1\" or \"b - A @ x > 0\", or a "
     "rule from matcalc.calculus.simplify, or a list of them; not int"),
    (grad, ("tr(X)", "X"), {"assume": [None]}, "grad: assume[0] is None; an assumption is text"),
    (jacobian, ("A @ X", "X"), {"assume": [1]}, "jacobian: assume[0] is 1; an assumption"),
    (hessian, ("tr(X.T @ X)", "X"), {"assume": 1}, "hessian: assume must be text"),
    (hessian, ("tr(X.T @ X)", "X"), {"shapes": {"X": None}}, "hessian: shapes['X'] must be"),
    (grad, ("tr(X)", 3), {}, "grad: wrt must be a variable's name such as \"X\" or a "
                             "MatrixSymbol, not int"),
    (jacobian, ("A @ X", None), {}, "jacobian: wrt must be a variable's name"),
    (grad, (None, "X"), {}, "grad: f must be text such as \"tr(X.T @ A @ X)\" or a matcalc "
                            "expression, not NoneType"),
    (hessian, (3, "X"), {}, "hessian: f must be text"),
    (check, ("tr(A @ X)", "X", "A.T"), {"shapes": {"X": None}}, "check: shapes['X'] must be"),
    (check, ("tr(A @ X)", "X", "A.T"), {"assume": 1}, "check: assume must be text"),
    (check, ("tr(A @ X)", "X", "A.T"), {"seed": "x"},
     "check: seed must be a non-negative integer, not 'x'"),
    (check, ("tr(A @ X)", "X", "A.T"), {"assumptions": 1},
     "check: assumptions must be a list of (constraint, variable) pairs such as "
     "[(\"positive\", X)], not 1"),
    (check, ("tr(A @ X)", "X", None), {}, "the claim must be text such as \"A.T @ B.T\""),
    (assert_gradient, ("tr(A @ X)", "X", "A.T"), {"assume": [None]},
     "assert_gradient: assume[0] is None"),
    (derive, (None,), {}, "derive: model must be a model such as matcalc.mlp([64, 128, 10]) "
                          "or matcalc.cnn(\"1x8x8\", \"dense(10)\"), not NoneType"),
    (verify_backprop, ("x",), {}, "verify_backprop: b must be a derivation, "
                                  "matcalc.derive(model), not str"),
    (train, (None,), {}, "train: model must be a model such as"),
]


@pytest.mark.parametrize("fn, args, kwargs, message", TYPES,
                         ids=[f"{t[0].__name__}-{sorted(t[2]) or t[1]}" for t in TYPES])
def test_a_wrong_argument_type_is_matcalcs_error(fn, args, kwargs, message, tmp_path):
    """Issue 17: wrong types reached internal TypeErrors ('NoneType' object is not
    iterable); each is an ArgumentError (a MatcalcError and a TypeError) naming the front
    door, the argument and what it takes, before any work (nothing written)."""
    with pytest.raises(ArgumentError) as e:
        fn(*args, **kwargs)
    assert str(e.value).startswith(message) or message.startswith("not ") and \
        str(e.value).endswith(message)
    assert isinstance(e.value, MatcalcError) and isinstance(e.value, TypeError)
    assert e.value.__traceback__ is not None and not list(tmp_path.iterdir())


def test_a_results_verify_checks_its_arguments():
    g = grad("tr(A @ X)", "X")
    with pytest.raises(ArgumentError, match=r"^verify: method must be one of both, exact, "
                                            r"numeric, not 'sympy'$"):
        g.verify(method="sympy")
    with pytest.raises(ArgumentError, match=r"^verify: seed must be a non-negative integer, "
                                            r"not -1$"):
        jacobian("A @ x", "x").verify(seed=-1)


# ---------------------------------------------------------------- results in their layout

@pytest.mark.parametrize("layout", ["denominator", "numerator", "mixed"])
@pytest.mark.parametrize("f, wrt", [("tr(A @ X @ B)", "X"),
                                    ("norm(W @ X - Y)**2 + lam*norm(W)**2", "W"),
                                    ("sum(sigmoid(W @ x))", "x"),
                                    ("alpha * tr(A @ X)", "alpha")])
def test_a_gradients_expr_is_in_its_layout(f, wrt, layout):
    """`.expr` is what every form shows: sympy.latex(g.expr) == g.latex() in each layout,
    the transpose of the denominator-layout gradient in numerator layout."""
    g, d = grad(f, wrt, layout=layout), grad(f, wrt)
    assert sympy.latex(g.expr) == g.latex() == g.latex(layout=layout)
    assert text(g.expr) == g.text() and g.value == d.value        # the same gradient
    assert g.latex(layout="denominator") == d.latex()
    if layout == "numerator" and is_matrix(d.expr):
        assert g.expr.shape == d.expr.shape[::-1] and g.text() == d.text(layout="numerator")
    else:
        assert g.text() == d.text()
    g.verify(method="numeric")                  # proven as computed, shown in its layout
    assert "def grad_" in g.numpy_source()     # its code checked against the gradient


@pytest.mark.parametrize("layout", ["numerator", "denominator", "mixed"])
@pytest.mark.parametrize("f, wrt, scalar_f", [("A @ x", "x", False), ("sigmoid(x)", "x", False),
                                              ("A @ X", "X", False), ("x.T @ A @ x", "x", True)])
def test_a_jacobians_expr_is_in_its_layout(f, wrt, scalar_f, layout):
    j, n = jacobian(f, wrt, layout=layout), jacobian(f, wrt)
    assert sympy.latex(j.expr) == j.latex() == j.latex(layout=layout)
    assert text(j.expr) == j.text() and j.value == n.value
    transposed = layout == "denominator" or layout == "mixed" and scalar_f
    assert j.expr.shape == (n.expr.shape[::-1] if transposed else n.expr.shape)
    assert j.text() == n.text(layout="denominator" if transposed else "numerator")
    assert j.latex(layout="numerator") == n.latex()
    j.verify(method="numeric")
    assert "def jacobian_" in j.numpy_source()


# ---------------------------------------------------------------- Gradient

@pytest.fixture(scope="module")
def g():
    return grad("norm(W @ X - Y)**2 + lam*norm(W)**2", "W", shapes={"W": (2, 3), "X": (3, 5)})


def test_gradient_text_and_latex(g):
    assert g.text() == "2*(W @ X - Y) @ X.T + 2*lam*W"
    assert g.latex() == r"2 \left(W X - Y\right) X^{\top} + 2 \lambda W"
    assert g.latex(layout="numerator") == \
        r"2 X \left(W X - Y\right)^{\top} + 2 \lambda W^{\top}"      # the transpose, term by term
    assert g._repr_latex_() == (r"$\frac{\partial f}{\partial W} = 2 \left(W X - Y\right) "
                                r"X^{\top} + 2 \lambda W$")


def test_gradient_numpy_source(g):
    assert g.numpy_source() == (
        "def grad_W(W, X, Y, lam):\n"
        '    """grad_W(W, X, Y, lam) = 2*(W @ X - Y) @ X.T + 2*lam*W"""\n'
        "    return 2 * (W @ X - Y) @ X.T + 2*lam * W\n")
    assert g.numpy_source(name="dW").startswith("def dW(W, X, Y, lam):\n")


def test_gradient_numpy_equals_the_evaluated_expression(g):
    f = g.numpy()
    assert f.__name__ == "grad_W"
    args = g.arguments()
    assert [str(a) for a in args] == ["W", "X", "Y", "lam"]
    rng = np.random.default_rng(0)
    for _ in range(3):
        values = {a: rng.normal(size=tuple(int(d) for d in a.shape)) if a.is_Matrix
                  else float(rng.uniform(0.1, 1)) for a in args}
        got = f(*[values[a] for a in args])
        assert got.shape == (2, 3)
        assert np.allclose(got, evaluate(g.expr, values), rtol=1e-12, atol=1e-12)


def test_gradient_numpy_of_an_expression_with_softmax():
    h = grad("-sum(Y * logsoftmax(W @ X))", "W", assume=["sum(Y, axis=0) == 1"])
    args = h.arguments()
    assert [str(a) for a in args] == ["Y", "W", "X"]
    sizes = {"n": 3, "m": 5, "p": 4}
    rng = np.random.default_rng(1)
    values = {}
    for a in args:
        shape = tuple(int(d) if d.is_Integer else sizes[str(d)] for d in a.shape)
        values[a] = rng.normal(size=shape)
    Yv = np.abs(values[args[0]])
    values[args[0]] = Yv / Yv.sum(axis=0, keepdims=True)
    got = h.numpy()(*[values[a] for a in args])
    assert np.allclose(got, evaluate(h.expr, values), rtol=1e-12)


def test_gradient_steps(g):
    assert g.steps() == gradient_steps_text(g)
    lines = g.steps().splitlines()
    assert lines[0] == "f = lam*norm(W)**2 + norm(W @ X - Y)**2"
    assert lines[-1] == "df = tr(Gᵀ dW)  ⇒  ∂f/∂W = 2*(W @ X - Y) @ X.T + 2*lam*W"


@pytest.mark.parametrize("method", ["numeric", "exact", "both"])
def test_gradient_verify(g, method):
    assert g.verify(method=method) is None
    wrong = dataclasses.replace(g, expr=matmul(2, g.expr))
    with pytest.raises(VerificationError) as e:
        wrong.verify(method=method)
    assert str(e.value).startswith("∂f/∂W is wrong ")
    assert text(wrong.expr) == "2*(2*(W @ X - Y) @ X.T + 2*lam*W)"
    assert f"G = {text(wrong.expr)})" in str(e.value)


def test_gradient_verify_respects_the_assumption():
    h = grad("-sum(Y * logsoftmax(W @ X))", "W", assume=["sum(Y, axis=0) == 1"])
    h.verify()                  # only true where each column of Y sums to 1
    unconstrained = dataclasses.replace(h, assumptions=())
    with pytest.raises(VerificationError):
        unconstrained.verify(method="numeric")


def test_constraints():
    Q = matrix("Q", 3, 3)
    assert constraints(()) == []
    assert constraints([ColumnsSumToOne(Y), Equals(A, W), Symmetric(Q), RowsSumToOne(X)]) == \
        [("colsum1", Y), ("equals", (A, W)), ("symmetric", Q), ("rowsum1", X)]
    h = grad("-sum(Y * logsoftmax(W @ X))", "W", assume=["sum(Y, axis=0) == 1"])
    assert constraints(h.assumptions) == [("colsum1", h.symbols["Y"])]


def test_gradient_of_an_expression_by_name_compiles():
    g = grad(trace(matmul(A, X, B)), "X")
    assert [str(a) for a in g.arguments()] == ["A", "B", "X"]
    rng = np.random.default_rng(0)
    a, x, b_ = rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    assert np.allclose(g.numpy()(a, b_, x), a.T @ b_.T)


def test_gradient_of_an_expression_by_symbol_compiles():
    g = grad(add(trace(matmul(A, X, B)), lam * norm(X) ** 2), X)
    assert g.text() == "A.T @ B.T + 2*lam*X"
    assert [str(a) for a in g.arguments()] == ["A", "B", "X", "lam"]     # sorted by name
    rng = np.random.default_rng(0)
    a, x, b_ = rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    assert np.allclose(g.numpy()(a, b_, x, 0.5), a.T @ b_.T + x)


# ---------------------------------------------------------------- derive, verify_backprop

@pytest.fixture(scope="module")
def bp():
    return derive(mlp([3, 4, 2]))


def test_derive_is_the_textbook_backprop(bp):
    assert str(bp.backward) == str(backprop.derive(mlp([3, 4, 2])).backward)
    assert [str(a) for a in bp.backward] == [
        "delta2 := S - Y",
        "delta1 := (W2.T @ delta2) * A1*(1 - A1)",
        "dW2 := 1/N*delta2 @ A1.T",
        "db2 := 1/N*delta2 @ ones(N, 1)",
        "dW1 := 1/N*delta1 @ X.T",
        "db1 := 1/N*delta1 @ ones(N, 1)",
    ]


def test_verify_backprop_proves_a_derivation(bp):
    assert verify_backprop(bp) is None
    assert verify_backprop(derive(mlp([3, 4, 2], hidden="relu", layout="rows", l2=True))) is None


@pytest.mark.parametrize("name, scale", [("dW2", 2), ("db1", -1), ("delta1", 3)])
def test_verify_backprop_refuses_a_wrong_backward_program(bp, name, scale):
    wrong = Program(tuple(Assignment(a.name, matmul(scale, a.expr)) if a.name.name == name
                          else a for a in bp.backward))
    bad = dataclasses.replace(bp, backward=wrong)
    with pytest.raises(VerificationError) as e:
        verify_backprop(bad)
    # each line is proven against the forward lines it differentiates: the wrong one is named
    assert str(e.value).startswith(f"the backward line {name} := ")
    wrt = {"dW2": "W2", "db1": "b1", "delta1": "Z1"}[name]
    assert f"gradient with respect to {wrt} " in str(e.value)


def test_verify_backprop_refuses_a_dropped_assumption(bp):
    """S − Y needs one-hot targets: without the assumption the proof draws any Y and fails."""
    with pytest.raises(VerificationError):
        verify_backprop(dataclasses.replace(bp, assumptions=()))


# ---------------------------------------------------------------- load_data

def test_load_data_defaults_to_the_digits():
    ds = load_data(mlp([64, 16, 10]))
    assert ds.name == "digits" and ds.n_classes == 10 and ds.n_features == 64
    assert ds.X_train.shape == (1346, 64) and ds.X_test.shape == (451, 64)
    assert set(np.unique(ds.y_train)) == set(range(10))
    assert ds.X_train.dtype == np.float64
    assert load_data(mlp([64, 16, 10]), dtype="float32").X_train.dtype == np.float32


def test_load_data_relabels_two_classes_for_one_output():
    ds = load_data(mlp([64, 16, 1], loss="bce"))
    full = load_digits()
    assert ds.name == "digits 3 vs 8" and ds.n_classes == 2
    assert set(np.unique(ds.y_train)) == set(np.unique(ds.y_test)) == {0, 1}
    for X, y, Xf, yf in [(ds.X_train, ds.y_train, full.X_train, full.y_train),
                         (ds.X_test, ds.y_test, full.X_test, full.y_test)]:
        assert np.array_equal(X[y == 0], Xf[yf == 3])
        assert np.array_equal(X[y == 1], Xf[yf == 8])
    other = load_data(mlp([64, 16, 1], loss="bce"), binary=(0, 1))
    assert other.name == "digits 0 vs 1"
    assert np.array_equal(other.X_train[other.y_train == 1], full.X_train[full.y_train == 1])


def test_load_data_takes_a_dataset():
    rng = np.random.default_rng(0)
    ds = Dataset(rng.normal(size=(6, 3)), np.array([0, 1, 2, 0, 1, 2]), rng.normal(size=(3, 3)),
                 np.array([2, 1, 0]), 3, "toy")
    got = load_data(mlp([3, 4, 3]), ds)
    assert got.name == "toy" and np.array_equal(got.X_train, ds.X_train)


@pytest.mark.parametrize("layers", [[63, 16, 10], [100, 10]])
def test_load_data_refuses_a_mismatched_input_size(layers):
    with pytest.raises(DataError) as e:
        load_data(mlp(layers))
    assert str(e.value) == (f"training data has 64 features per sample but the model's first "
                            f"layer expects {layers[0]}")


def test_load_data_refuses_too_few_outputs():
    with pytest.raises(DataError) as e:
        load_data(mlp([64, 16, 3]))
    assert str(e.value) == ("the labels of training data: label 3 at index 3 is outside 0..2 "
                            "(3 classes)")
