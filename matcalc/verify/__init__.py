"""Proofs of claimed gradients: exact on small concrete sizes, numeric at real sizes.

Stage 6 (verify). Consumes a scalar matcalc expression f, the variable X (a MatrixSymbol) and
a claimed gradient G of X's shape (denominator layout); returns None or raises
VerificationError naming the entry or direction, both values, the errors and the tolerance.
verify_exact fills every matrix with SymPy symbols, differentiates the explicit scalar with
sympy.diff (custom functions rewritten by functions.reference, so no derivative rule of matcalc
is trusted) and compares entry by entry at random rational points in 50-digit mpmath;
verify_numeric compares central differences along random directions with ⟨G, V⟩ in float64.
Each evaluates through one table, EXPLICIT or NUMERIC: node class → value, computed from the
values of the children.
"""
from functools import lru_cache, reduce
from operator import add as _plus, mul as _times

import mpmath
import numpy as np
import sympy as sp
from sympy import (Determinant, HadamardProduct, Identity, Inverse, MatAdd, MatMul, MatPow,
                   MatrixSymbol, OneMatrix, Trace, Transpose, ZeroMatrix)
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.matrices.utilities import dotprodsimp

from ..core.errors import MatcalcError, NoRuleError, NotScalarError, ShapeError, VerificationError
from ..core.expr import (Differential, Elementwise, EntrySum, FrobeniusNorm, LogDet, LogSoftmax,
                   LogSumExp, Softmax, is_matrix, shape)
from ..core.functions import T, reference
from ..printing.text import text

__all__ = ["verify_exact", "verify_numeric", "assert_gradient", "evaluate", "EXPLICIT",
           "NUMERIC", "CONSTRAINTS"]

EXACT_DPS, EXACT_RTOL, EXACT_ATOL = 50, 1e-25, 1e-30   # 25 digits of headroom
NUMERIC_RTOL = 1e-5                        # central differences at h ~ 1e-6 are good to ~1e-9
NUMERIC_ROUNDOFF = 1e3                     # × eps·|f|/h: the cancellation floor of a difference
EXACT_POINTS, EXACT_MAX_ENTRIES, EXPAND_BUDGET, TRIES = 3, 400, 20000, 6


# ---------------------------------------------------------------- evaluation through a table

class _Evaluator:
    """Evaluates an expression bottom-up through a table; shared subtrees are computed once.

    `env` maps MatrixSymbol → value, scalar Symbol → value and dimension symbol → size.
    Entries of the table receive the evaluator and the node, and call the evaluator on the
    children they need (Elementwise's body and an axis are data, not children).
    """

    def __init__(self, table, name, env):
        self.table, self.name, self.env, self.memo = table, name, env, {}

    def __call__(self, node):
        if node not in self.memo:
            self.memo[node] = self._rule(node)(self, node)
        return self.memo[node]

    def _rule(self, node):
        for cls in type(node).__mro__:
            if cls in self.table:
                return self.table[cls]
        kind = "explicit" if self.name == "EXPLICIT" else "numeric"
        raise NoRuleError(f"no {kind} evaluator for {type(node).__name__}; add an entry to "
                          f"{self.name} in verify.py")

    def size(self, d):
        return int(sp.sympify(d).xreplace(self.env))

    def dims(self, node):
        return tuple(self.size(d) for d in node.shape)


def _no_value(ev, node):
    raise NoRuleError(f"{text(node)} is a differential, not a value; verify a gradient, "
                      "not a differential")


def _x_function(ev, e):
    xs = sp.symbols(f"x0:{len(e.args)}", cls=sp.Dummy)
    return _plug(reference(e.func(*xs)), dict(zip(xs, [ev(a) for a in e.args])))


# Scalar algebra inside an elementwise body; anything else (a trace, a sum, λ) is a part.
_ALGEBRA = (sp.Add, sp.Mul, sp.Pow, sp.Function, sp.core.relational.Relational,
            sp.logic.boolalg.BooleanFunction, sp.functions.elementary.piecewise.ExprCondPair)


@lru_cache(maxsize=None)
def _split_body(body):
    """(reference body in T and dummies, ((dummy, part), …)): the parts of an elementwise
    body that do not depend on the entry (a trace, a scalar λ), evaluated once by the table."""
    parts = {}

    def walk(e):
        if e == T or not e.free_symbols and (e.is_number or e.is_Boolean):
            return e
        if isinstance(e, _ALGEBRA) and T in e.free_symbols:
            return e.func(*[walk(a) for a in e.args])
        return parts.setdefault(e, sp.Dummy())
    return reference(walk(body)), tuple((d, part) for part, d in parts.items())


def _x_elementwise(ev, e):
    body, parts = _split_body(e.body)
    values = {d: ev(part) for d, part in parts}
    return ev(e.arg).applyfunc(lambda v: _plug(body, {**values, T: v}))


def _x_lse(M, axis):
    """log Σ exp along an axis, written out: 1×n for axis 0, m×1 for axis 1."""
    if axis == 0:
        return sp.Matrix(1, M.cols, lambda _, j: _fn(sp.log, sum(_fn(sp.exp, M[k, j])
                                                                    for k in range(M.rows))))
    return sp.Matrix(M.rows, 1, lambda i, _: _fn(sp.log, sum(_fn(sp.exp, M[i, k])
                                                                for k in range(M.cols))))


def _x_softmax(ev, e):
    M = ev(e.arg)
    E = M.applyfunc(lambda x: _fn(sp.exp, x))
    if e.axis == 0:
        den = [sum(E[:, j]) for j in range(M.cols)]
        return sp.Matrix(*M.shape, lambda i, j: E[i, j] / den[j])
    den = [sum(E[i, :]) for i in range(M.rows)]
    return sp.Matrix(*M.shape, lambda i, j: E[i, j] / den[i])


def _x_logsoftmax(ev, e):
    M = ev(e.arg)
    lse = _x_lse(M, e.axis)
    return sp.Matrix(*M.shape, lambda i, j: M[i, j] - (lse[0, j] if e.axis == 0 else lse[i, 0]))


# Written-out formulas, with SymPy's intermediate simplification off: its default det and
# inverse expand and simplify pivots (trigsimp on tanh …), minutes on nested entries.
def _x_det(M):
    with dotprodsimp(False):
        return M.det(method="berkowitz")


def _x_inverse(M):
    with dotprodsimp(False):
        return M.adjugate(method="berkowitz") / _x_det(M)


def _plug(body, values):
    """body with its symbols replaced by values, functions built unevaluated: their eval asks
    SymPy's assumptions about the argument (is it positive? …), minutes on large entries."""
    if body in values:
        return values[body]
    if not body.args or not body.has(*values):
        return body
    args = [_plug(a, values) for a in body.args]
    if isinstance(body, (sp.Function, sp.core.relational.Relational)) and \
            any(a.free_symbols for a in args):
        return body.func(*args, evaluate=False)
    return body.func(*args)


def _fn(f, *args):
    return f(*args, evaluate=False)


def _x_element(ev, e):
    return ev(e.parent)[ev.size(e.i), ev.size(e.j)]


# Node class → explicit SymPy value (a Matrix, or a scalar expression in the entry symbols).
EXPLICIT = {
    MatrixSymbol: lambda ev, e: ev.env[e],
    Differential: _no_value,
    MatMul: lambda ev, e: reduce(_times, [ev(a) for a in e.args]),
    MatAdd: lambda ev, e: reduce(_plus, [ev(a) for a in e.args]),
    Transpose: lambda ev, e: ev(e.arg).T,
    Inverse: lambda ev, e: _x_inverse(ev(e.arg)),
    MatPow: lambda ev, e: ev(e.base) ** int(e.exp),
    HadamardProduct: lambda ev, e: reduce(lambda a, b: a.multiply_elementwise(b),
                                          [ev(a) for a in e.args]),
    Elementwise: _x_elementwise,
    Softmax: _x_softmax,
    LogSoftmax: _x_logsoftmax,
    LogSumExp: lambda ev, e: _x_lse(ev(e.arg), e.axis),
    Identity: lambda ev, e: sp.eye(ev.size(e.shape[0])),
    OneMatrix: lambda ev, e: sp.ones(*ev.dims(e)),
    ZeroMatrix: lambda ev, e: sp.zeros(*ev.dims(e)),
    DiagMatrix: lambda ev, e: sp.diag(*ev(e.args[0])),
    DiagonalOf: lambda ev, e: (lambda M: sp.Matrix([M[i, i] for i in range(M.rows)]))(
        ev(e.arg)),
    MatrixElement: _x_element,
    Trace: lambda ev, e: ev(e.arg).trace(),
    Determinant: lambda ev, e: _x_det(ev(e.arg)),
    LogDet: lambda ev, e: _fn(sp.log, _x_det(ev(e.arg))),
    EntrySum: lambda ev, e: sum(ev(e.arg)),
    FrobeniusNorm: lambda ev, e: sp.sqrt(sum(v ** 2 for v in ev(e.arg)), evaluate=False),
    sp.Symbol: lambda ev, e: ev.env.get(e, e),
    sp.Number: lambda ev, e: e,
    sp.NumberSymbol: lambda ev, e: e,
    sp.Add: lambda ev, e: sp.Add(*[ev(a) for a in e.args]),
    sp.Mul: lambda ev, e: sp.Mul(*[ev(a) for a in e.args]),
    sp.Pow: lambda ev, e: ev(e.base) ** ev(e.exp),
    sp.Function: _x_function,
}


@lru_cache(maxsize=None)
def _numpy_body(body):
    """The NumPy function of an elementwise body, from its reference form: f(T, *parts)."""
    body, parts = _split_body(body)
    return sp.lambdify([T, *[d for d, _ in parts]], body, "numpy")


def _n_elementwise(ev, e):
    values = [ev(part) for _, part in _split_body(e.body)[1]]
    return np.broadcast_to(_numpy_body(e.body)(ev(e.arg), *values), ev.dims(e)).astype(float)


@lru_cache(maxsize=None)
def _numpy_function(func, nargs):
    xs = sp.symbols(f"x0:{nargs}", real=True)
    return sp.lambdify(xs, reference(func(*xs)), "numpy")


def _n_matmul(ev, e):
    out = np.float64(1.0)
    for v in (ev(a) for a in e.args):
        out = out @ v if np.ndim(out) and np.ndim(v) else out * v
    return out


def _n_lse(M, axis):
    top = M.max(axis=axis, keepdims=True)
    return top + np.log(np.exp(M - top).sum(axis=axis, keepdims=True))


def _n_softmax(ev, e):
    M = ev(e.arg)
    z = np.exp(M - M.max(axis=e.axis, keepdims=True))
    return z / z.sum(axis=e.axis, keepdims=True)


def _n_logdet(ev, e):
    sign, logabs = np.linalg.slogdet(ev(e.arg))
    return logabs if sign > 0 else np.nan     # log of a non-positive det: off the domain


# Node class → NumPy float64 value (a 2-D array, or a float).
NUMERIC = {
    MatrixSymbol: lambda ev, e: ev.env[e],
    Differential: _no_value,
    MatMul: _n_matmul,
    MatAdd: lambda ev, e: reduce(_plus, [ev(a) for a in e.args]),
    Transpose: lambda ev, e: ev(e.arg).T,
    Inverse: lambda ev, e: np.linalg.inv(ev(e.arg)),
    MatPow: lambda ev, e: np.linalg.matrix_power(ev(e.base), int(e.exp)),
    HadamardProduct: lambda ev, e: reduce(_times, [ev(a) for a in e.args]),
    Elementwise: _n_elementwise,
    Softmax: _n_softmax,
    LogSoftmax: lambda ev, e: ev(e.arg) - _n_lse(ev(e.arg), e.axis),
    LogSumExp: lambda ev, e: _n_lse(ev(e.arg), e.axis),
    Identity: lambda ev, e: np.eye(ev.size(e.shape[0])),
    OneMatrix: lambda ev, e: np.ones(ev.dims(e)),
    ZeroMatrix: lambda ev, e: np.zeros(ev.dims(e)),
    DiagMatrix: lambda ev, e: np.diag(ev(e.args[0]).ravel()),
    DiagonalOf: lambda ev, e: np.diag(ev(e.arg))[:, None],
    MatrixElement: lambda ev, e: ev(e.parent)[ev.size(e.i), ev.size(e.j)],
    Trace: lambda ev, e: np.trace(ev(e.arg)),
    Determinant: lambda ev, e: np.linalg.det(ev(e.arg)),
    LogDet: _n_logdet,
    EntrySum: lambda ev, e: ev(e.arg).sum(),
    FrobeniusNorm: lambda ev, e: np.linalg.norm(ev(e.arg)),
    sp.Symbol: lambda ev, e: np.float64(ev.env[e]),
    sp.Number: lambda ev, e: np.float64(e),
    sp.NumberSymbol: lambda ev, e: np.float64(e),
    sp.Add: lambda ev, e: reduce(_plus, [ev(a) for a in e.args]),
    sp.Mul: lambda ev, e: reduce(_times, [ev(a) for a in e.args]),
    sp.Pow: lambda ev, e: np.power(ev(e.base), ev(e.exp)),
    sp.Function: lambda ev, e: _numpy_function(e.func, len(e.args))(*[ev(a) for a in e.args]),
}


def evaluate(e, values, exact=False):
    """The value of e where `values` maps each MatrixSymbol to an array and Symbol to a number.

    float64 through NUMERIC, or an explicit SymPy value through EXPLICIT when `exact`. The
    sizes of symbolic dimensions are read off the arrays.

    Examples
    ========

    >>> from matcalc.core.expr import matrix, matmul, trace, transpose
    >>> A = matrix('A', 'm', 'n')
    >>> evaluate(trace(matmul(transpose(A), A)), {A: [[1, 2, 3], [4, 5, 6]]})
    91.0
    >>> evaluate(matmul(2, A), {A: [[1, 2, 3], [4, 5, 6]]}, exact=True)
    Matrix([
    [2,  4,  6],
    [8, 10, 12]])
    """
    env = {}
    for s, v in values.items():
        if isinstance(s, MatrixSymbol):
            v = sp.Matrix(v) if exact else np.array(v, dtype=float, ndmin=2)
            for d, n in zip(s.shape, v.shape):
                if (env.setdefault(d, n) if d.is_Symbol else int(d)) != n:
                    raise ShapeError(f"the value of {s.name} is {v.shape[0]}×{v.shape[1]}, "
                                     f"but {s.name} is {_dims(s)}")
        env[s] = v
    if exact:
        env = {k: sp.sympify(v) if isinstance(k, sp.Symbol) else v for k, v in env.items()}
        return _Evaluator(EXPLICIT, "EXPLICIT", env)(e)
    with np.errstate(all="ignore"):
        v = _Evaluator(NUMERIC, "NUMERIC", env)(e)
    return float(v) if np.ndim(v) == 0 else v


# ---------------------------------------------------------------- the random point

def _colsum1(a):
    p = np.abs(a)
    return p / p.sum(axis=0, keepdims=True)


def _rowsum1(a):
    p = np.abs(a)
    return p / p.sum(axis=1, keepdims=True)


# Name → constraint on a sampled matrix. A constraint takes the sampled entries (a float array
# in verify_numeric, an object array of Rationals in verify_exact) and returns them adjusted;
# written with NumPy operations only, the same function serves both.
CONSTRAINTS = {
    "colsum1": _colsum1,     # each column a probability vector (positive, sums to 1)
    "rowsum1": _rowsum1,     # each row a probability vector
    "positive": np.abs,      # entries > 0, for log, sqrt …
    "symmetric": lambda a: (a + a.T) / 2,
}


def _constraints(assumptions):
    """[(name or callable, M), …] → {M: [constraint, …]}."""
    if assumptions is None:
        return {}
    if isinstance(assumptions, tuple) and len(assumptions) == 2 and is_matrix(assumptions[1]):
        assumptions = [assumptions]
    out = {}
    for item in assumptions:
        try:
            kind, M = item
        except (TypeError, ValueError):
            raise ValueError(f"an assumption is a pair (constraint, M), not {item!r}") from None
        fn = CONSTRAINTS.get(kind) if isinstance(kind, str) else kind
        if not callable(fn):
            raise ValueError(f"unknown assumption {kind!r}; use one of "
                             f"{', '.join(CONSTRAINTS)} or a function of the sampled array")
        if not isinstance(M, MatrixSymbol):
            raise ShapeError(f"an assumption constrains a matrix variable, not {text(M)}")
        out.setdefault(M, []).append(fn)
    return out


class _Problem:
    """f, X, G and what the random point must respect: sizes, shifts, constraints."""

    def __init__(self, f, wrt, claimed, assumptions):
        _check_shapes(f, wrt, claimed)
        self.f, self.wrt, self.G = f, wrt, claimed
        self.constraints = _constraints(assumptions)
        exprs = [self.f, wrt, claimed, *self.constraints]
        self.matrices = sorted(set().union(*[sp.sympify(e).atoms(MatrixSymbol) for e in exprs]),
                               key=lambda m: m.name)
        self.dims, self.fixed, scalars = [], set(), set()
        for e in exprs:
            for node in sp.preorder_traversal(e):
                if is_matrix(node):
                    for d in node.shape:
                        if d.is_Integer:
                            self.fixed.add(int(d))
                        for s in sorted(d.free_symbols, key=str):
                            if s not in self.dims:
                                self.dims.append(s)
                elif isinstance(node, sp.Symbol):
                    scalars.add(node)
        self.scalars = sorted(scalars - set(self.dims) - {T}, key=str)
        # Square matrices that are inverted or whose det is taken get + n·I: det > 0.
        self.shifted = set()
        for e in exprs:
            for node in sp.preorder_traversal(e):
                if isinstance(node, (Inverse, Determinant, LogDet)):
                    self.shifted |= {m for m in node.args[0].atoms(MatrixSymbol)
                                     if m.shape[0] == m.shape[1]}

    def sizes(self, candidates):
        free = [c for c in candidates if c not in self.fixed]
        return dict(zip(self.dims, free))

    def sample(self, rng, sizes, exact, positive):
        """{MatrixSymbol: array, scalar Symbol: value}, with constraints and shifts applied."""
        out = {}
        for m in self.matrices:
            r, c = (int(sp.sympify(d).xreplace(sizes)) for d in m.shape)
            a = _draw(rng, (r, c), exact, positive)
            for fn in self.constraints.get(m, []):
                a = fn(a)
            if m in self.shifted:
                a = a + np.diag([r] * r).astype(a.dtype)
            out[m] = a
        for s in self.scalars:
            out[s] = _draw(rng, (), exact, positive or bool(s.is_positive))
        return out


def _find_point(p, rng, sizes, exact, value):
    """A sample where value(sample) is a finite real number: signed first, then positive."""
    for attempt in range(TRIES):
        sample = p.sample(rng, sizes, exact, positive=attempt > 0)
        if value(sample) is not None:
            return sample
    raise VerificationError(f"could not find a point where f = {text(p.f)} is real and "
                            f"finite in {TRIES} tries; constrain the inputs with "
                            "assumptions=[(\"positive\", X)] or a function of your own")


def _draw(rng, size, exact, positive):
    """Uniform entries in (−1, 1), or (0.1, 1.1) where positive; nonzero rationals if exact."""
    if not exact:
        return rng.uniform(0.1, 1.1, size) if positive else rng.uniform(-1.0, 1.0, size)
    q = 1009
    lo, hi = (q // 10, q + q // 10) if positive else (1 - q, q - 1)
    ks = rng.integers(lo, hi + 1, size or (1,))
    ks[ks == 0] = 1
    out = np.array([sp.Rational(int(k), q) for k in ks.ravel()], dtype=object)
    return out.reshape(size) if size else out[0]


def _check_shapes(f, wrt, claimed):
    if not isinstance(wrt, MatrixSymbol):
        raise ShapeError(f"wrt must be a matrix variable such as matrix('X', 3, 4), "
                         f"not {text(wrt)}")
    if is_matrix(f) and tuple(f.shape) != (1, 1):
        raise NotScalarError(f"f = {text(f)} is {_dims(f)}, not a scalar: a gradient needs a "
                             "scalar function (take entry_sum, trace or norm of it)")
    if tuple(shape(claimed)) != tuple(wrt.shape):
        what = f"is {_dims(claimed)}" if is_matrix(claimed) else "is a scalar"
        raise ShapeError(f"claimed gradient {what} but {wrt.name} is {_dims(wrt)}; matcalc "
                         f"uses the denominator layout (∂f/∂{wrt.name} has the shape of "
                         f"{wrt.name})")


def _dims(e):
    return "×".join(text(d) for d in shape(e))


def _sizes_used(sizes, wrt):
    named = ", ".join(f"{d}={n}" for d, n in sizes.items())
    r, c = (int(sp.sympify(d).xreplace(sizes)) for d in wrt.shape)
    return f"{named + '; ' if named else ''}{wrt.name} is {r}×{c}"


def _fail(p, where, sizes, method, claimed, ref, abs_err, rel_err, tol):
    """Raise the VerificationError: gradient, entry or direction, both values, errors."""
    raise VerificationError(
        f"∂f/∂{p.wrt.name} is wrong {where} (sizes used: {_sizes_used(sizes, p.wrt)})\n"
        f"  f:         {text(p.f)}\n"
        f"  claimed:   {claimed}\n"
        f"  reference: {ref}\n"
        f"  abs error: {abs_err:.3g}, rel error: {rel_err:.3g}, tolerance: {tol}\n"
        f"  method:    {method}")


# ---------------------------------------------------------------- (a) exact

# Node classes whose explicit value is a polynomial in the entries of their children.
_POLYNOMIAL = (MatMul, MatAdd, Transpose, HadamardProduct, DiagMatrix, DiagonalOf, MatrixElement,
               Trace, Determinant, EntrySum, sp.Add, sp.Mul)
_LEAVES = (MatrixSymbol, Identity, OneMatrix, ZeroMatrix, sp.Symbol, sp.Number)


def _is_polynomial(e):
    """Is the explicit value of e a polynomial in the entries? Then sympy.expand decides."""
    if isinstance(e, _LEAVES):
        return True
    if isinstance(e, Elementwise):
        return not e.body.atoms(sp.Function) and e.body.is_polynomial(T) and \
            _is_polynomial(e.arg)
    if isinstance(e, (sp.Pow, MatPow)) and not isinstance(e, Inverse):
        return e.exp.is_Integer and e.exp >= 0 and _is_polynomial(e.base)
    return isinstance(e, _POLYNOMIAL) and all(_is_polynomial(a) for a in e.args)


def _tree_size(e, memo):
    """The number of nodes of e written out as a tree, counted over its shared subtrees."""
    if e not in memo:
        memo[e] = 1 + sum(_tree_size(a, memo) for a in e.args)
    return memo[e]


def _chain(ex, x, dw):
    """d ex / dx, where ex depends on x directly and through the symbols w with dw/dx in dw."""
    return sp.diff(ex, x) + sp.Add(*[sp.diff(ex, w) * dw[w] for w in ex.free_symbols if w in dw])


def _reference_program(F, xs, gs, args):
    """A function of the values of `args`: [f, ∂f/∂x for x in xs, *gs], in 50-digit mpmath.

    The explicit f of a nested expression repeats subtrees exponentially often, so it is first
    split into its common subexpressions w = e(…) (sympy.cse), and sympy.diff is applied to
    each through the chain rule: the same derivative, in linear size.
    """
    reps, reduced = sp.cse([F, *gs], symbols=sp.numbered_symbols("w", cls=sp.Dummy),
                           order="none")
    program, outputs = list(reps), [reduced[0], *reduced[1:]]
    for x in xs:
        dw = {}
        for w, ex in reps:
            d = _chain(ex, x, dw) if isinstance(ex, sp.Expr) else 0   # not a condition x > 0
            if d != 0:
                dw[w] = sp.Dummy("dw")
                program.append((dw[w], d))
        outputs.insert(len(outputs) - len(gs), _chain(reduced[0], x, dw))
    fn = sp.lambdify(args, outputs, "mpmath", cse=lambda exprs: (program, exprs))

    def run(values):
        with mpmath.workdps(EXACT_DPS):
            try:
                out = [_real(v) for v in fn(*[mpmath.mpf(v.p) / v.q for v in values])]
            except (ZeroDivisionError, TypeError, ValueError, OverflowError):
                return None
        return None if out[0] is None else out
    return run


def _real(v):
    """v as a real mpf, or None where it is complex or not finite."""
    if isinstance(v, mpmath.mpc):
        if abs(v.imag) > EXACT_ATOL:
            return None
        v = v.real
    v = mpmath.mpf(v)
    return v if mpmath.isfinite(v) else None


def _show(v):
    return "not a finite real number" if v is None else mpmath.nstr(v, 15)


def verify_exact(f, wrt, G, assumptions=None, seed=0):
    """Prove ∂f/∂wrt = G entry by entry with sympy.diff on small concrete matrices.

    Each dimension symbol gets a distinct size 2, 3, 4, … (in order of first appearance), every
    matrix a grid of entry symbols. f is written out as one scalar SymPy expression (custom
    functions in their reference form) and differentiated by each entry of wrt. A polynomial
    difference must expand to 0; otherwise both sides are evaluated to 50 digits at 3 random
    rational points and must agree to a relative 1e-25.

    `assumptions` constrains the random points: a list of pairs (constraint, M), the constraint
    a name in CONSTRAINTS ("colsum1", "rowsum1", "positive", "symmetric") or a function of the
    sampled array.

    Examples
    ========

    >>> from matcalc.core.expr import matrix, matmul, trace, transpose
    >>> A, X, B = matrix('A', 'm', 'n'), matrix('X', 'n', 'p'), matrix('B', 'p', 'm')
    >>> verify_exact(trace(matmul(A, X, B)), X, matmul(transpose(A), transpose(B)))
    >>> S, Q = matrix('S', 'n', 'n'), matrix('Q', 'n', 'n')
    >>> verify_exact(trace(matmul(S, Q)), Q, S)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    matcalc.core.errors.VerificationError: ∂f/∂Q is wrong at entry (0, 1) (sizes used: n=2; ...
    ...
    """
    p = _Problem(f, wrt, G, assumptions)
    sizes = p.sizes(range(2, 100))
    concrete = {d: sp.Integer(n) for d, n in sizes.items()}
    env, n_entries = dict(concrete), 0
    for m in p.matrices:
        r, c = (int(sp.sympify(d).xreplace(concrete)) for d in m.shape)
        n_entries += r * c
        env[m] = sp.Matrix(r, c, lambda i, j: sp.Symbol(f"{m.name}[{i},{j}]", real=True))
    if n_entries > EXACT_MAX_ENTRIES:
        raise ShapeError(f"verify_exact needs small matrices, but these have {n_entries} "
                         f"entries ({_sizes_used(sizes, wrt)}); give the large dimensions "
                         "names such as 'n', or use verify_numeric")
    ev = _Evaluator(EXPLICIT, "EXPLICIT", env)
    F = ev(p.f)
    F = F[0, 0] if isinstance(F, sp.MatrixBase) else F
    Gv = ev(G) if is_matrix(G) else sp.Matrix([[ev(G)]])
    X = env[wrt]
    entries = [(i, j) for i in range(X.rows) for j in range(X.cols)]
    memo = {}
    if _is_polynomial(p.f) and _is_polynomial(G) and \
            _tree_size(F, memo) + sum(_tree_size(g, memo) for g in Gv) <= EXPAND_BUDGET:
        entries = [(i, j) for i, j in entries if sp.expand(sp.diff(F, X[i, j]) - Gv[i, j]) != 0]
        if not entries:
            return
    args = [s for m in p.matrices for s in env[m]] + p.scalars
    run = _reference_program(F, [X[i, j] for i, j in entries], [Gv[i, j] for i, j in entries],
                             args)
    rng = np.random.default_rng(seed)
    n = len(entries)
    for _ in range(EXACT_POINTS):
        sample = _find_point(p, rng, concrete, True, lambda s: run(_flat(p, s)))
        values = run(_flat(p, sample))
        for (i, j), ref, got in zip(entries, values[1:1 + n], values[1 + n:]):
            if ref is None or got is None:
                err = rel = np.nan
            else:
                err, scale = abs(ref - got), max(abs(ref), abs(got))
                if err <= EXACT_RTOL * scale + EXACT_ATOL:
                    continue
                err, rel = float(err), float(err / scale)
            _fail(p, f"at entry ({i}, {j})", sizes, "exact sympy.diff at a random rational point",
                  f"{_show(got)}  (G[{i}, {j}], G = {text(G)})",
                  f"{_show(ref)}  (sympy.diff(f, {wrt.name}[{i}, {j}]))",
                  err, rel, f"{EXACT_RTOL:g} relative")


def _flat(p, sample):
    """The sampled Rationals in the order of _reference_program's arguments."""
    return [v for m in p.matrices for v in sample[m].ravel()] + [sample[s] for s in p.scalars]


# ---------------------------------------------------------------- (b) numeric

def _numeric(ev, e, dims=None):
    """e in float64: an array of shape `dims`, or a float (nan where complex or undefined)."""
    with np.errstate(all="ignore"):
        v = np.asarray(ev(e))
    if dims is not None:
        return np.broadcast_to(v.astype(float), dims)
    x = complex(v.ravel()[0])
    return x.real if x.imag == 0 else np.nan


def verify_numeric(f, wrt, G, assumptions=None, seed=0, directions=3):
    """Check ⟨G, V⟩ against central differences of f along random directions V, in float64.

    Each dimension symbol gets a distinct size between 5 and 12; matrices are uniform in
    (−1, 1) (square ones that are inverted or det'd shifted by n·I). For each direction,
    (f(X + hV) − f(X − hV)) / 2h with h = 1e-6·max(1, max|X|) must match Σ G ⊙ V to a
    relative 1e-5, plus a round-off floor of 1000·eps·|f|/h. `assumptions` as in verify_exact.

    Examples
    ========

    >>> from matcalc.core.expr import matrix, apply, entry_sum, matmul
    >>> X = matrix('X', 'm', 'n')
    >>> verify_numeric(entry_sum(apply('exp', X)), X, apply('exp', X))
    >>> verify_numeric(entry_sum(apply('exp', X)), X, matmul(2, apply('exp', X)))
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    matcalc.core.errors.VerificationError: ∂f/∂X is wrong along a random direction V ...
    ...
    """
    p = _Problem(f, wrt, G, assumptions)
    rng = np.random.default_rng(seed)
    sizes = p.sizes([int(k) for k in rng.permutation(np.arange(5, 13))] + list(range(13, 99)))
    dims = tuple(int(sp.sympify(d).xreplace(sizes)) for d in wrt.shape)
    eps = np.finfo(float).eps

    def f_at(env):
        v = _numeric(_Evaluator(NUMERIC, "NUMERIC", env), p.f)
        return v if np.isfinite(v) else None

    for _ in range(directions):
        env = {**sizes, **_find_point(p, rng, sizes, False, lambda s: f_at({**sizes, **s}))}
        g = _numeric(_Evaluator(NUMERIC, "NUMERIC", env), G, dims)
        V = rng.standard_normal(dims)
        X = env[wrt]
        h = 1e-6 * max(1.0, float(np.abs(X).max()))
        fp, fm = f_at({**env, wrt: X + h * V}), f_at({**env, wrt: X - h * V})
        ref = (fp - fm) / (2 * h) if fp is not None and fm is not None else np.nan
        got, w = float(np.sum(g * V)), wrt.name
        err, scale = abs(ref - got), max(abs(ref), abs(got))
        tol = NUMERIC_RTOL * scale + NUMERIC_ROUNDOFF * eps * max(abs(fp or 0), abs(fm or 0),
                                                                  1.0) / h
        if not err <= tol:     # also catches nan
            _fail(p, "along a random direction V", sizes,
                  "central differences along a random direction",
                  f"{got:.12g}  (Σ G ⊙ V, G = {text(G)})",
                  f"{ref:.12g}  ((f({w} + hV) − f({w} − hV)) / 2h, h = {h:.3g})",
                  err, err / scale if scale else np.inf,
                  f"{tol:.3g} ({NUMERIC_RTOL:g} relative + round-off)")


# ---------------------------------------------------------------- for users

def assert_gradient(f, wrt, claimed, method="both", assumptions=None, seed=0):
    """Raise VerificationError unless `claimed` is ∂f/∂wrt; for use in a user's own tests.

    `method` is "exact" (sympy.diff on small sizes), "numeric" (central differences at real
    sizes) or "both". f may be a scalar expression or a 1×1 matrix expression.

    Examples
    ========

    >>> from matcalc.core.expr import matrix, vector, matmul, transpose
    >>> a, X, b = vector('a', 'm'), matrix('X', 'm', 'n'), vector('b', 'n')
    >>> assert_gradient(matmul(transpose(a), X, b), X, matmul(a, transpose(b)))
    >>> assert_gradient(matmul(transpose(a), X, b), X, matmul(b, transpose(a)))
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    matcalc.core.errors.ShapeError: claimed gradient is n×m but X is m×n; matcalc uses the ...
    """
    if method not in ("exact", "numeric", "both"):
        raise ValueError(f"method must be 'exact', 'numeric' or 'both', not {method!r}")
    _check_shapes(f, wrt, claimed)
    if method in ("exact", "both"):
        verify_exact(f, wrt, claimed, assumptions=assumptions, seed=seed)
    if method in ("numeric", "both"):
        verify_numeric(f, wrt, claimed, assumptions=assumptions, seed=seed)
