"""Values of expressions: two dispatch Tables, EXPLICIT (SymPy) and NUMERIC (float64).

Stage 1 (verify), beside the data path; needs only matcalc.core. Consumes a matcalc
expression and an environment (MatrixSymbol → matrix, scalar Symbol → number, dimension
symbol → size); produces its value bottom-up, each node's entry computing it from the values
of its children: an explicit SymPy Matrix or scalar in the entry symbols (verify_exact), or a
NumPy array or float (verify_numeric, codegen tests). `evaluate` is the public entry point.
"""
import math
from functools import lru_cache, reduce
from operator import add as _plus, mul as _times

import numpy as np
import sympy as sp
from sympy import (Determinant, HadamardProduct, Identity, Inverse, MatAdd, MatMul, MatPow,
                   MatrixSymbol, OneMatrix, Trace, Transpose, ZeroMatrix)
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.matrices.utilities import dotprodsimp

from ..core.dispatch import Table
from ..core.errors import MatcalcError, NoRuleError, ShapeError
from ..core.expr import (Differential, Elementwise, EntrySum, FrobeniusNorm, LogDet, LogSoftmax,
                         LogSumExp, Mean, Softmax)
from ..core.functions import BY_CLASS, FUNCTIONS, T, reference
from .extrema import EXPLICIT_EXTREMA, NUMERIC_EXTREMA
from .kron import EXPLICIT_KRON, NUMERIC_KRON
from .windows import EXPLICIT_WINDOWS, NUMERIC_WINDOWS

__all__ = ["evaluate", "EXPLICIT", "NUMERIC"]


class _Evaluator:
    """Evaluates an expression bottom-up through a Table; shared subtrees are computed once.

    `env` maps MatrixSymbol → value, scalar Symbol → value and dimension symbol → size.
    Entries of the table receive the evaluator and the node, and call the evaluator on the
    children they need (Elementwise's body and an axis are data, not children). A class
    without an entry (nor a base class with one) raises NoRuleError naming the table.
    """

    def __init__(self, table, env):
        self.table, self.env, self.memo = table, env, {}

    def __call__(self, node):
        if node not in self.memo:
            self.memo[node] = self.table.rule(node)(self, node)
        return self.memo[node]

    def size(self, d):
        return int(sp.sympify(d).xreplace(self.env))

    def dims(self, node):
        return tuple(self.size(d) for d in node.shape)


def _no_value(ev, node):
    raise NoRuleError("{0} is a differential, not a value; verify a gradient, not a "
                      "differential", node)


def _x_function(ev, e):
    xs = sp.symbols(f"x0:{len(e.args)}", cls=sp.Dummy)
    return _plug(reference(e.func(*xs)), dict(zip(xs, [ev(a) for a in e.args])))


# Scalar algebra inside an elementwise body; anything else (a trace, a sum, λ) is a part.
_ALGEBRA = (sp.Add, sp.Mul, sp.Pow, sp.Function, sp.core.relational.Relational,
            sp.logic.boolalg.BooleanFunction, sp.functions.elementary.piecewise.ExprCondPair)


@lru_cache(maxsize=None)
def _parts(body):
    """(body in T and dummies, ((dummy, part), …)): the parts of an elementwise body that do
    not depend on the entry (a trace, a scalar λ), evaluated once by the table. The walk is
    memoised: a nested body (σ(σ(…))) is a graph far smaller than its tree."""
    parts, memo = {}, {}

    def has_t(e):
        if e not in memo:
            memo[e] = e == T or any(has_t(a) for a in e.args)
        return memo[e]

    done = {}

    def walk(e):
        if e in done:
            return done[e]
        if e == T or not has_t(e) and not e.free_symbols and (e.is_number or e.is_Boolean):
            out = e
        elif isinstance(e, _ALGEBRA) and has_t(e):
            args = [walk(a) for a in e.args]
            out = e if all(a is b for a, b in zip(args, e.args)) else e.func(*args)
        else:
            out = parts.setdefault(e, sp.Dummy())
        done[e] = out
        return out
    return walk(body), tuple((d, part) for part, d in parts.items())


def _x_elementwise(ev, e):
    """Each entry: the body with T the entry's value, each function in its reference form (as
    _plug meets it, so that a deeply nested body is never rewritten as one deep tree)."""
    body, parts = _parts(e.body)
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


def _x_mean(ev, e):
    M = ev(e.arg)
    if e.axis == 0:
        means = [sum(M[:, j]) / M.rows for j in range(M.cols)]
        return sp.Matrix(*M.shape, lambda i, j: means[j])
    means = [sum(M[i, :]) / M.cols for i in range(M.rows)]
    return sp.Matrix(*M.shape, lambda i, j: means[i])


def _x_logsoftmax(ev, e):
    M = ev(e.arg)
    lse = _x_lse(M, e.axis)
    return sp.Matrix(*M.shape, lambda i, j: M[i, j] - (lse[0, j] if e.axis == 0 else lse[i, 0]))


# Written-out formulas, with SymPy's intermediate simplification off: its default det and
# inverse expand and simplify pivots (trigsimp on tanh …), minutes on nested entries.
def _x_det(M):
    with dotprodsimp(False):
        return M.det(method="berkowitz")


def _x_inverse(M, node=None):
    with dotprodsimp(False):
        d = _x_det(M)
        if d == 0:       # in the entry symbols: singular wherever it is evaluated
            raise MatcalcError("{0} is singular for every value of its variables: it has no "
                               "inverse", M if node is None else node)
        return M.adjugate(method="berkowitz") / d


def _plug(body, values, memo=None):
    """body with its symbols replaced by values and matcalc's functions by their reference
    forms; built unevaluated where a value has symbols: SymPy's eval asks assumptions about
    the arguments (is it positive? …), minutes on large entries. Shared subtrees are plugged
    once (σ(σ(…)) repeats its inner chains)."""
    return _plug_in(body, values, {} if memo is None else memo)[0]


@lru_cache(maxsize=None)
def _reference_of(f):
    """(u, f(u) in its reference form) for a matcalc function f, or None where f is its own
    reference: built once, then plugged like a body (never rewritten around a deep argument)."""
    name = BY_CLASS.get(f)
    if name is None or FUNCTIONS[name].reference is FUNCTIONS[name].build:
        return None
    u = sp.Dummy("u")
    return u, reference(f(u))


def _plug_in(body, values, memo):
    """(body plugged, whether it has free symbols), memoised: free_symbols of a deep value
    walks all of it, so whether it has any is carried up instead."""
    if body in memo:
        return memo[body]
    if body in values:
        v = values[body]
        out = (v, bool(getattr(v, "free_symbols", False)))
    elif not body.args:
        out = (body, bool(body.free_symbols))
    else:
        args, free = zip(*[_plug_in(a, values, memo) for a in body.args])
        ref = _reference_of(body.func) if isinstance(body, sp.Function) and \
            len(args) == 1 else None
        if ref is not None:
            out = _plug_in(ref[1], {}, {ref[0]: (args[0], any(free))})
        elif all(a is b for a, b in zip(args, body.args)):
            out = (body, any(free))
        elif any(free) and isinstance(body, (sp.Function, sp.Pow, sp.Add, sp.Mul,
                                           sp.core.relational.Relational)):
            out = (body.func(*args, evaluate=False), True)
        else:
            v = body.func(*args)
            out = (v, any(free) and bool(getattr(v, "free_symbols", True)))
    memo[body] = out
    return out


def _fn(f, *args):
    return f(*args, evaluate=False)


def _x_element(ev, e):
    return ev(e.parent)[ev.size(e.i), ev.size(e.j)]


# Node class → explicit SymPy value (a Matrix, or a scalar expression in the entry symbols).
EXPLICIT = Table("explicit evaluator", "EXPLICIT in verify/evaluator.py", {
    **EXPLICIT_WINDOWS,          # convolution and pooling nodes: verify/windows.py
    **EXPLICIT_KRON,             # vec, unvec, kron, commutation: verify/kron.py
    **EXPLICIT_EXTREMA,          # max, maxmask, SVD norms: verify/extrema.py
    MatrixSymbol: lambda ev, e: ev.env[e],
    Differential: _no_value,
    MatMul: lambda ev, e: reduce(_times, [ev(a) for a in e.args]),
    MatAdd: lambda ev, e: reduce(_plus, [ev(a) for a in e.args]),
    Transpose: lambda ev, e: ev(e.arg).T,
    Inverse: lambda ev, e: _x_inverse(ev(e.arg), e.arg),
    MatPow: lambda ev, e: ev(e.base) ** int(e.exp),
    HadamardProduct: lambda ev, e: reduce(lambda a, b: a.multiply_elementwise(b),
                                          [ev(a) for a in e.args]),
    Elementwise: _x_elementwise,
    Softmax: _x_softmax,
    LogSoftmax: _x_logsoftmax,
    LogSumExp: lambda ev, e: _x_lse(ev(e.arg), e.axis),
    Mean: _x_mean,
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
})


_RELATIONS = {sp.StrictLessThan: np.less, sp.LessThan: np.less_equal,
              sp.StrictGreaterThan: np.greater, sp.GreaterThan: np.greater_equal,
              sp.Eq: np.equal, sp.Ne: np.not_equal}
_LOGIC = {sp.And: np.logical_and, sp.Or: np.logical_or, sp.Xor: np.logical_xor}


def _n_piecewise(*values):
    """np.select over (value, condition) pairs, nan where no condition holds."""
    values = np.broadcast_arrays(*values)
    return np.select(list(values[1::2]), list(values[0::2]), default=np.nan)


def _n_step(e, inputs):
    """(function, whether it takes the inputs rather than the arguments) for one node of a
    body: its NumPy function, each function in its reference form (_numpy_function)."""
    if isinstance(e, sp.Add):
        return (lambda *v: reduce(_plus, v)), False
    if isinstance(e, sp.Mul):
        return (lambda *v: reduce(_times, v)), False
    if isinstance(e, sp.Pow):
        return np.power, False
    if isinstance(e, sp.Piecewise):
        return _n_piecewise, False
    if type(e) in _RELATIONS:
        return _RELATIONS[type(e)], False
    if type(e) in _LOGIC:
        return (lambda *v: reduce(_LOGIC[type(e)], v)), False
    if isinstance(e, sp.Not):
        return np.logical_not, False
    if isinstance(e, sp.Function):
        return _numpy_function(e.func, len(e.args)), False
    return sp.lambdify(inputs, e, _MODULES), True    # anything else: the subtree as a whole


@lru_cache(maxsize=None)
def _numpy_body(body):
    """f(T, *parts): the NumPy value of an elementwise body, evaluated node by node over its
    graph, so that a deeply nested body is neither printed as one line nor walked as a tree."""
    walked, parts = _parts(body)
    inputs = [T, *[d for d, _ in parts]]
    slot = {x: i for i, x in enumerate(inputs)}
    steps, stack = [], [(walked, False)]
    while stack:                        # post-order over the graph, iteratively
        e, ready = stack.pop()
        if e in slot:
            continue
        if not e.args or isinstance(e, sp.Atom):
            slot[e] = len(inputs) + len(steps)
            steps.append((slot[e], np.float64(e) if e.is_number else bool(e), None))
        elif not ready:
            stack.append((e, True))
            stack.extend((a, False) for a in reversed(e.args) if a not in slot)
        elif isinstance(e, sp.functions.elementary.piecewise.ExprCondPair):
            slot[e] = (slot[e.args[0]], slot[e.args[1]])   # its value and its condition
        else:
            fn, whole = _n_step(e, inputs)
            args = range(len(inputs)) if whole else [
                i for a in e.args for i in (slot[a] if isinstance(slot[a], tuple) else (slot[a],))]
            slot[e] = len(inputs) + len(steps)
            steps.append((slot[e], fn, tuple(args)))
    out = slot[walked]

    def run(*values):
        vals = list(values) + [None] * len(steps)
        for i, fn, args in steps:
            vals[i] = fn if args is None else fn(*[vals[a] for a in args])
        return vals[out]
    return run


def _n_elementwise(ev, e):
    values = [ev(part) for _, part in _parts(e.body)[1]]
    return np.broadcast_to(_numpy_body(e.body)(ev(e.arg), *values), ev.dims(e)).astype(float)


@lru_cache(maxsize=None)
def _numpy_function(func, nargs):
    xs = sp.symbols(f"x0:{nargs}", real=True)
    return sp.lambdify(xs, reference(func(*xs)), _MODULES)


# lambdify's "numpy" spells erf as math.erf, which takes no arrays: libm's erf entrywise
# (not the kernels' _erf, so that the proof does not trust the code it checks)
_MODULES = [{"erf": np.vectorize(math.erf, otypes=[float])}, "numpy"]


def _n_inverse(M):
    """M⁻¹, or NaN where M is singular (the point is off the domain: another is drawn)."""
    try:
        return np.linalg.inv(M)
    except np.linalg.LinAlgError:
        return np.full(M.shape, np.nan)


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
NUMERIC = Table("numeric evaluator", "NUMERIC in verify/evaluator.py", {
    **NUMERIC_WINDOWS,           # convolution and pooling nodes: verify/windows.py
    **NUMERIC_KRON,              # vec, unvec, kron, commutation: verify/kron.py
    **NUMERIC_EXTREMA,           # max, maxmask, SVD norms: verify/extrema.py
    MatrixSymbol: lambda ev, e: ev.env[e],
    Differential: _no_value,
    MatMul: _n_matmul,
    MatAdd: lambda ev, e: reduce(_plus, [ev(a) for a in e.args]),
    Transpose: lambda ev, e: ev(e.arg).T,
    Inverse: lambda ev, e: _n_inverse(ev(e.arg)),
    MatPow: lambda ev, e: np.linalg.matrix_power(ev(e.base), int(e.exp)),
    HadamardProduct: lambda ev, e: reduce(_times, [ev(a) for a in e.args]),
    Elementwise: _n_elementwise,
    Softmax: _n_softmax,
    LogSoftmax: lambda ev, e: ev(e.arg) - _n_lse(ev(e.arg), e.axis),
    LogSumExp: lambda ev, e: _n_lse(ev(e.arg), e.axis),
    Mean: lambda ev, e: np.broadcast_to(ev(e.arg).mean(axis=e.axis, keepdims=True),
                                        ev(e.arg).shape),
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
})


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
                    raise ShapeError(f"the value of {{0}} is {v.shape[0]}×{v.shape[1]}, "
                                     "but {0} is {0:dims}", s)
        env[s] = v
    if exact:
        env = {k: sp.sympify(v) if isinstance(k, sp.Symbol) else v for k, v in env.items()}
        return _Evaluator(EXPLICIT, env)(e)
    with np.errstate(all="ignore"):
        v = _Evaluator(NUMERIC, env)(e)
    return float(v) if np.ndim(v) == 0 else v
