"""Property test: random well-shaped expressions over the whole operator set, each gradient
proven by central differences (and, for a smaller share, exactly by sympy.diff).

Hypothesis runs derandomized, so every CI run checks the same 300+ expressions.
"""
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcalc import grad
from matcalc.core.expr import (add, apply, det, diag, entry_sum, eye, hadamard, inverse,
                          logdet, logsoftmax, logsumexp, matmul, matrix, mul, norm, power,
                          softmax, sub, trace, transpose)
from matcalc.verify import verify_exact, verify_numeric

SIZES = (2, 3, 4)
X = matrix("X", 3, 4)          # the variable every expression is differentiated by


def const(r, c):
    return matrix(f"C{r}{c}", r, c)


BOUNDED = ("tanh", "sigmoid", "sin", "cos")
ANY = BOUNDED + ("softplus", "relu", "abs")


def leaf(draw, r, c):
    if (r, c) == (3, 4) and draw(st.booleans()):
        return X
    if (r, c) == (4, 3) and draw(st.booleans()):
        return transpose(X)
    if draw(st.booleans()):
        return const(r, c)
    return matmul(const(r, 3), X, const(4, c))      # keeps X in the expression


@st.composite
def mat(draw, r, c, depth=3):
    if depth == 0:
        return leaf(draw, r, c)
    sub_ = lambda rr, cc: draw(mat(rr, cc, depth - 1))   # noqa: E731
    ops = ["leaf", "add", "sub", "matmul", "hadamard", "transpose", "scale", "fn", "exp",
           "power", "softmax", "logsoftmax"]
    if r == c:
        ops += ["inv", "diagm"]
    if c == 1:
        ops += ["diagof", "lse1"]
    if r == 1:
        ops += ["lse0"]
    op = draw(st.sampled_from(ops))
    if op == "leaf":
        return leaf(draw, r, c)
    if op == "add":
        return add(sub_(r, c), sub_(r, c))
    if op == "sub":
        return sub(sub_(r, c), sub_(r, c))
    if op == "matmul":
        k = draw(st.sampled_from(SIZES))
        return matmul(sub_(r, k), sub_(k, c))
    if op == "hadamard":
        return hadamard(sub_(r, c), sub_(r, c))
    if op == "transpose":
        return transpose(sub_(c, r))
    if op == "scale":
        return mul(sp.Rational(draw(st.integers(-3, 3)) or 1, 2), sub_(r, c))
    if op == "fn":
        return apply(draw(st.sampled_from(ANY)), sub_(r, c))
    if op == "exp":          # exp and powers of bounded arguments stay finite
        return apply("exp", apply("tanh", sub_(r, c)))
    if op == "power":
        return power(apply(draw(st.sampled_from(BOUNDED)), sub_(r, c)),
                     draw(st.sampled_from([2, 3])))
    if op in ("softmax", "logsoftmax"):
        fn = softmax if op == "softmax" else logsoftmax
        return fn(sub_(r, c), draw(st.sampled_from([0, 1])))
    if op == "inv":          # 4I + a bounded matrix is well conditioned
        return inverse(add(matmul(4, eye(r)), apply("tanh", sub_(r, r))))
    if op == "diagm":
        return diag(sub_(r, 1))
    if op == "diagof":
        return diag(sub_(r, r))
    if op == "lse1":
        return logsumexp(sub_(r, draw(st.sampled_from(SIZES))), 1)
    if op == "lse0":
        return logsumexp(sub_(draw(st.sampled_from(SIZES)), c), 0)
    raise AssertionError(op)


@st.composite
def scalar_fn(draw):
    r, c = draw(st.sampled_from(SIZES)), draw(st.sampled_from(SIZES))
    kind = draw(st.sampled_from(["sum", "trace", "norm2", "logdet", "det", "product"]))
    if kind == "sum":
        f = entry_sum(draw(mat(r, c)))
    elif kind == "trace":
        f = trace(draw(mat(r, r)))
    elif kind == "norm2":
        f = norm(draw(mat(r, c))) ** 2
    elif kind in ("logdet", "det"):
        m = add(matmul(4, eye(r)), apply("tanh", draw(mat(r, r))))
        f = logdet(m) if kind == "logdet" else det(m)
    else:
        f = entry_sum(draw(mat(r, c, 2))) * trace(draw(mat(r, r, 2)))
    if not f.has(X):
        f = f + entry_sum(hadamard(X, const(3, 4)))
    return f


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scalar_fn())
def test_random_gradients_by_central_differences(f):
    g = grad(f, X)
    assert g.expr.shape == X.shape
    verify_numeric(f, X, g.expr)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scalar_fn())
def test_random_gradients_exactly(f):
    g = grad(f, X)
    verify_exact(f, X, g.expr)
