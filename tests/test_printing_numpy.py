"""NumPy printer: generated code against hand-written NumPy, exact strings, stability and
strictness."""
import numpy as np
import pytest
import sympy as sp
from sympy import MatAdd, MatMul, MatrixExpr, Transpose

from matcalc.core.errors import NoRuleError
from matcalc.core.expr import (Differential, Elementwise, T, add, apply, det, diag, divide,
                          entry_sum, eye, hadamard, inverse, logdet, logsoftmax, logsumexp,
                          matmul, matrix, norm, ones, power, scalar, softmax, sub, trace,
                          transpose, vector, zeros)
from matcalc.codegen.function import numpy_function
from matcalc.printing.numpy import MatcalcNumPyPrinter, numpy_code, numpy_imports

# Distinct, non-square sizes, so that a missing transpose cannot pass.
A = matrix("A", 2, 3)
B = matrix("B", 4, 2)
C = matrix("C", 2, 3)
X = matrix("X", 3, 4)
Q = matrix("Q", 3, 3)
W = matrix("W", 2, 3)
X5 = matrix("X", 3, 5)
Y = matrix("Y", 2, 5)
M = matrix("M", 4, 5)
D = matrix("D", 5, 3)
P = matrix("P", 5, 4)
b = vector("b", 2)
c = vector("c", 2)
v = vector("v", 3)
u = vector("u", 4)
y = vector("y", 5)
w = vector("w", 3)
lam = scalar("lam")


def sig(z):
    return 1 / (1 + np.exp(-z))


def np_softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_lse(z, axis):
    m = z.max(axis=axis, keepdims=True)
    return m + np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


# (id, expression, arguments, reference on the argument arrays). Q is made well conditioned
# and positive definite (inverse, det, logdet); P is made positive (log, sqrt).
SPECS = [
    ("affine_broadcast", add(matmul(W, X5), matmul(b, ones(1, 5))), [W, X5, b],
     lambda W, X, b: W @ X + b),
    ("trace_AXB_gradient", matmul(transpose(A), transpose(B)), [A, B],
     lambda A, B: A.T @ B.T),
    ("quadratic_form_gradient", matmul(add(Q, transpose(Q)), X), [Q, X],
     lambda Q, X: (Q + Q.T) @ X),
    ("least_squares_gradient", matmul(2, transpose(D), sub(matmul(D, X), P)), [D, X, P],
     lambda D, X, P: 2 * D.T @ (D @ X - P)),
    ("logistic_gradient",
     matmul(transpose(D), hadamard(y, sub(1, apply("sigmoid", hadamard(y, matmul(D, w)))))),
     [D, y, w], lambda D, y, w: D.T @ (y * (1 - sig(y * (D @ w))))),
    ("softmax_ce_gradient", matmul(sub(softmax(matmul(W, X5)), Y), transpose(X5)), [W, X5, Y],
     lambda W, X, Y: (np_softmax(W @ X, 0) - Y) @ X.T),
    ("det_gradient", matmul(det(Q), transpose(inverse(Q))), [Q],
     lambda Q: np.linalg.det(Q) * np.linalg.inv(Q).T),
    ("inverse_in_product", matmul(inverse(Q), X), [Q, X], lambda Q, X: np.linalg.inv(Q) @ X),
    ("row_sums", matmul(M, ones(5, 1)), [M], lambda M: M @ np.ones((5, 1))),
    ("column_sums", matmul(ones(1, 4), M), [M], lambda M: np.ones((1, 4)) @ M),
    ("square_ones_product", matmul(ones(4, 4), M), [M], lambda M: np.ones((4, 4)) @ M),
    ("ones_between", matmul(A, ones(3, 4), B), [A, B],
     lambda A, B: A @ np.ones((3, 4)) @ B),
    ("two_ones_factors", MatMul(A, ones(3, 3), X, ones(4, 4), B), [A, X, B],
     lambda A, X, B: A @ np.ones((3, 3)) @ X @ np.ones((4, 4)) @ B),
    ("broadcast_only_sum", add(matmul(b, ones(1, 5)), matmul(2, c, ones(1, 5))), [b, c],
     lambda b, c: (b + 2 * c) @ np.ones((1, 5))),
    ("all_ones_gradient", ones(2, 3), [], lambda: np.ones((2, 3))),
    ("scaled_ones", matmul(3, ones(2, 3)), [], lambda: 3 * np.ones((2, 3))),
    ("one_minus_sigmoid", sub(1, apply("sigmoid", A)), [A], lambda A: 1 - sig(A)),
    ("diag_left", matmul(diag(v), X), [v, X], lambda v, X: np.diagflat(v) @ X),
    ("diag_right", matmul(A, diag(v)), [A, v], lambda A, v: A @ np.diagflat(v)),
    ("diag_middle", matmul(A, diag(v), X), [A, v, X],
     lambda A, v, X: A @ np.diagflat(v) @ X),
    ("diag_matrix", diag(v), [v], lambda v: np.diagflat(v)),
    ("diag_of_row", matmul(diag(transpose(u)), M), [u, M],
     lambda u, M: np.diagflat(u) @ M),
    ("diagonal_of", diag(Q), [Q], lambda Q: np.diag(Q).reshape(-1, 1)),
    ("diag_before_ones", matmul(A, diag(v), ones(3, 4)), [A, v],
     lambda A, v: A @ np.diagflat(v) @ np.ones((3, 4))),
    ("identity_and_zero", add(Q, eye(3), zeros(3, 3)), [Q], lambda Q: Q + np.eye(3)),
    ("identity", eye(3), [], lambda: np.eye(3)),
    ("zeros", zeros(2, 3), [], lambda: np.zeros((2, 3))),
    ("transpose_of_sum", Transpose(MatAdd(A, C)), [A, C], lambda A, C: (A + C).T),
    ("transpose_of_broadcast", Transpose(matmul(b, ones(1, 5))), [b],
     lambda b: (b @ np.ones((1, 5))).T),
    ("hadamard_quotient", divide(A, C), [A, C], lambda A, C: A / C),
    ("hadamard_of_product", hadamard(matmul(W, X5), Y), [W, X5, Y],
     lambda W, X, Y: (W @ X) * Y),
    ("elementwise_power", power(matmul(W, X5), 2), [W, X5], lambda W, X: (W @ X) ** 2),
    ("reciprocal_in_product", matmul(W, divide(1, X5)), [W, X5], lambda W, X: W @ (1 / X)),
    ("elementwise_fns",
     add(apply("relu", A), apply("step", A), apply("softplus", A), apply("tanh", A),
         apply("exp", A), apply("abs", A), apply("sign", A), apply("sin", A), apply("cos", A)),
     [A], lambda A: (np.maximum(A, 0) + (A > 0) + np.log1p(np.exp(A)) + np.tanh(A)
                     + np.exp(A) + np.abs(A) + np.sign(A) + np.sin(A) + np.cos(A))),
    ("log_sqrt_positive", add(apply("log", P), apply("sqrt", P)), [P],
     lambda P: np.log(P) + np.sqrt(P)),
    ("elementwise_body_product", hadamard(X5, apply("sigmoid", X5)), [X5],
     lambda X: X * sig(X)),
    ("relu_of_affine", apply("relu", add(matmul(W, X5), matmul(b, ones(1, 5)))), [W, X5, b],
     lambda W, X, b: np.maximum(W @ X + b, 0)),
    ("softmax_rows", softmax(Y, 1), [Y], lambda Y: np_softmax(Y, 1)),
    ("logsoftmax_both", add(logsoftmax(Y), logsoftmax(Y, 1)), [Y],
     lambda Y: Y - np_lse(Y, 0) + Y - np_lse(Y, 1)),
    ("logsumexp_cols", logsumexp(Y), [Y], lambda Y: np_lse(Y, 0)),
    ("logsumexp_rows", logsumexp(Y, 1), [Y], lambda Y: np_lse(Y, 1)),
    ("scalar_nodes",
     logdet(Q) + 2 * entry_sum(A) - norm(A) ** 2 + lam * trace(Q) + det(Q), [Q, A, lam],
     lambda Q, A, lam: (np.linalg.slogdet(Q)[1] + 2 * A.sum() - np.linalg.norm(A) ** 2
                        + lam * np.trace(Q) + np.linalg.det(Q))),
    ("scalar_coefficient", matmul(2 * lam, W), [lam, W], lambda lam, W: 2 * lam * W),
    ("negative_coefficient", sub(A, matmul(lam + 1, C)), [A, C, lam],
     lambda A, C, lam: A - (lam + 1) * C),
    ("scalar_minus_matrix_sum", sub(A, matmul(lam + 1, ones(2, 3))), [A, lam],
     lambda A, lam: A - (lam + 1)),
    ("differential", matmul(A, Differential(X)), [A, Differential(X)],
     lambda A, dX: A @ dX),
    ("entry_sum_of_broadcast", entry_sum(matmul(b, ones(1, 5))), [b],
     lambda b: 5 * b.sum()),
]


def _array(rng, a):
    if not a.is_Matrix:
        return float(rng.normal())
    shape = tuple(int(d) for d in a.shape)
    x = rng.normal(size=shape)
    name = a.name if hasattr(a, "name") else ""
    if name == "Q":
        return x @ x.T + shape[0] * np.eye(shape[0])
    if name == "P":
        return np.abs(x) + 0.5
    if name == "C":
        return np.sign(x) * (np.abs(x) + 0.5)   # a divisor bounded away from 0
    return x


@pytest.mark.parametrize("spec", SPECS, ids=[s[0] for s in SPECS])
def test_generated_code_matches_numpy(spec):
    _, e, args, reference = spec
    rng = np.random.default_rng(0)
    values = [_array(rng, a) for a in args]
    _, f = numpy_function(e, args)
    got = f(*values)
    want = reference(*values)
    if e.is_Matrix:
        assert np.shape(got) == tuple(int(d) for d in e.shape)
    else:
        assert np.ndim(got) == 0
    assert np.allclose(got, want, rtol=1e-10, atol=1e-12)


def test_every_node_class_is_covered():
    """Each node class of the task appears in some SPECS expression."""
    classes = set()
    for _, e, _, _ in SPECS:
        classes |= {type(n).__name__ for n in sp.preorder_traversal(e)}
    needed = {"MatrixSymbol", "Differential", "MatMul", "MatAdd", "Transpose", "Inverse",
              "HadamardProduct", "Elementwise", "Softmax", "LogSoftmax", "LogSumExp",
              "Identity", "OneMatrix", "ZeroMatrix", "DiagMatrix", "DiagonalOf", "Trace",
              "Determinant", "LogDet", "EntrySum", "FrobeniusNorm"}
    assert needed <= classes, needed - classes


# ---------------------------------------------------------------- exact strings

@pytest.mark.parametrize("e, code", [
    (add(matmul(matrix("W", 3, 4), matrix("X", 4, "N")), matmul(vector("b", 3), ones(1, "N"))),
     "W @ X + b"),
    (matmul(matrix("M", 3, "N"), ones("N", 1)), "M.sum(axis=1, keepdims=True)"),
    (matmul(ones(1, 3), matrix("M", 3, "N")), "M.sum(axis=0, keepdims=True)"),
    (matmul(ones(3, 3), matrix("M", 3, "N")),
     "np.broadcast_to(M.sum(axis=0, keepdims=True), (3, N))"),
    (matmul(transpose(A), transpose(B)), "A.T @ B.T"),
    (matmul(2, transpose(D), sub(matmul(D, X), P)), "2 * D.T @ (D @ X - P)"),
    (matmul(transpose(D), hadamard(y, sub(1, apply("sigmoid", hadamard(y, matmul(D, w)))))),
     "D.T @ (y * (1 - (0.5 + 0.5*np.tanh(0.5*(y * (D @ w))))))"),
    (matmul(sub(softmax(matmul(W, X5)), Y), transpose(X5)), "(_softmax(W @ X, axis=0) - Y) @ X.T"),
    (matmul(det(Q), transpose(inverse(Q))), "np.linalg.det(Q) * np.linalg.inv(Q).T"),
    (matmul(diag(v), X), "v * X"),
    (matmul(A, diag(v)), "A * v.T"),
    (matmul(A, diag(v), X), "A * v.T @ X"),
    (diag(v), "np.diagflat(v)"),
    (diag(Q), "np.diag(Q)[:, None]"),
    (ones(2, 3), "np.ones((2, 3))"),
    (eye("n"), "np.eye(n)"),
    (zeros(2, 3), "np.zeros((2, 3))"),
    (matmul(A, ones(3, 4), B), "A.sum(axis=1, keepdims=True) * B.sum(axis=0, keepdims=True)"),
    (logdet(Q), "np.linalg.slogdet(Q)[1]"),
    (trace(Q) + entry_sum(A) + norm(A), "np.sum(A) + np.linalg.norm(A) + np.trace(Q)"),
    (divide(A, C), "A / C"),
    (power(A, 2), "A**2"),
    (logsumexp(Y, 1), "_logsumexp(Y, axis=1)"),
    (matmul(-1, A, X), "-A @ X"),
    (matmul(lam, A), "lam * A"),
    (apply("relu", A), "np.maximum(A, 0)"),
    (Differential(X), "dX"),
])
def test_exact_code(e, code):
    assert numpy_code(e) == code


def test_imports_are_recorded_with_the_np_alias():
    p = MatcalcNumPyPrinter()
    code = numpy_code(add(matmul(inverse(Q), X), softmax(X)), p)
    assert "numpy" not in code.replace("np.", "")
    assert numpy_imports(p) == ["import numpy as np"]
    assert p.helpers_used == {"_softmax"}
    assert "numpy.linalg" in p.module_imports


def test_names_that_are_not_identifiers_are_refused():
    grad = matrix("dL/dW", 2, 3)
    with pytest.raises(NoRuleError, match="not a Python identifier"):
        numpy_code(grad)


# ---------------------------------------------------------------- numerical stability

@pytest.mark.parametrize("scale", [1e3, 1e5])
@pytest.mark.parametrize("sign", [1, -1])
def test_softmax_family_is_stable(scale, sign):
    Z = matrix("Z", 3, 4)
    base = np.array([[0.0, 1.0, -2.0, 0.5], [1.0, 0.0, 3.0, 0.5], [-2.0, 2.0, 0.0, 0.5]])
    logits = sign * scale + base
    logits[:, 3] = [scale, -scale, 0.0]          # a column spread over 2·scale
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        naive = np.log(np.exp(logits).sum(axis=0))
    assert not np.all(np.isfinite(naive))           # the inputs really are extreme
    _, f = numpy_function(add(softmax(Z), logsoftmax(Z)), [Z])
    _, g = numpy_function(logsumexp(Z), [Z])
    _, s = numpy_function(softmax(Z, 1), [Z])
    out, lse, rows = f(logits), g(logits), s(logits.T)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(lse)) and np.all(np.isfinite(rows))
    # Shift invariance gives the exact answer for the first three columns.
    ref_lse = np.log(np.exp(base[:, :3]).sum(axis=0))
    assert np.allclose(lse[0, :3], sign * scale + ref_lse, rtol=1e-12)
    ref_sm = np.exp(base[:, :3] - ref_lse)
    assert np.allclose(out[:, :3], ref_sm + base[:, :3] - ref_lse, atol=1e-9)
    assert np.allclose(lse[0, 3], scale) and np.allclose(out[:, 3], [1, -2 * scale, -scale])
    assert np.allclose(rows.T[:, :3], ref_sm, atol=1e-12)


# ---------------------------------------------------------------- strictness

class Foo(MatrixExpr):
    """A node no printer knows."""
    shape = property(lambda self: self.args[0].shape)


class Bar(sp.Expr):
    """A scalar node no printer knows."""


@pytest.mark.parametrize("e, name", [
    (Foo(A), "Foo"),
    (add(Foo(A), C), "Foo"),
    (matmul(transpose(Foo(A)), C), "Foo"),
    (Bar(A) + 1, "Bar"),
])
def test_unknown_nodes_raise(e, name):
    with pytest.raises(NoRuleError,
                       match=f"^MatcalcNumPyPrinter cannot print {name}; add _print_{name}$"):
        numpy_code(e)


def test_unknown_functions_raise():
    x = sp.Symbol("x")
    with pytest.raises(NoRuleError, match="cannot print gamma"):
        numpy_code(Elementwise(sp.gamma(T), A))
    with pytest.raises(NoRuleError, match="cannot print erfc"):
        numpy_code(sp.erfc(x))  # SymPy would print math.erfc, which cannot take arrays


# ---------------------------------------------------------------- the runtime (printing/runtime.py)

def test_the_runtime_is_the_one_copy_of_the_helpers():
    """HELPERS is read from printing/runtime.py's functions (the printer holds no NumPy source):
    each entry is its function's own source and the helpers it calls."""
    import inspect
    from pathlib import Path

    from matcalc.printing import numpy as numpy_printer
    from matcalc.printing import runtime
    from matcalc.printing.runtime import HELPERS, numpy_helpers
    assert numpy_printer.HELPERS is HELPERS and numpy_printer.numpy_helpers is numpy_helpers
    assert {"_softmax", "_unfold", "_fold", "_maxpool", "_pool_route", "_sigmoid"} <= set(HELPERS)
    for name, (source, calls) in HELPERS.items():
        assert source == inspect.getsource(getattr(runtime, name))
    # the helpers each calls, in the order of first call (as the table used to list them)
    assert {n: HELPERS[n][1] for n in ("_softmax", "_logsoftmax", "_maxpool", "_pool_select",
                                       "_pool_route", "_pool_mask")} == {
        "_softmax": (), "_logsoftmax": ("_logsumexp",), "_maxpool": ("_pool_offsets",),
        "_pool_select": ("_pool_argmax",), "_pool_route": ("_pool_argmax",),
        "_pool_mask": ("_pool_offsets", "_maxpool")}
    printer_source = Path(numpy_printer.__file__).read_text()
    assert not [n for n in HELPERS if f"def {n}(" in printer_source]   # none defined there
    # the helpers' source runs with NumPy alone (the standalone script has no matcalc)
    ns = {"np": np}
    exec(compile(numpy_helpers(HELPERS), "<helpers>", "exec"), ns)  # noqa: S102
    z = np.random.default_rng(0).standard_normal((3, 4))
    assert np.array_equal(ns["_softmax"](z, 0), runtime._softmax(z, 0))
    assert np.allclose(ns["_logsoftmax"](z, 0), np.log(runtime._softmax(z, 0)), rtol=1e-14)
