"""Rewrite rules that bring gradients to the short form a person writes.

Calculus (stage 2). Consumes raw adjoints from gradient.py; produces equal expressions.
The canonical constructors in expr.py already flatten, collect like terms, drop identities
and all-ones factors and fuse f(g(X)); the rules here need a view of a whole sum or of the
user's assumptions. Each rule takes an expression and returns it, rewritten or unchanged, and
carries its identity (core/dispatch.py `identity`; an assumption says itself); `simplify`
applies a tuple of rules bottom-up until nothing changes, recording a Step each.
"""
import math
from dataclasses import dataclass
from functools import reduce

import sympy as sp
from sympy import (Determinant, HadamardProduct, Identity, Inverse, MatAdd, MatMul, OneMatrix,
                   Transpose)

from ..core.expr import (Elementwise, LogSoftmax, Softmax, T, add, coefficient, det, elementwise,
                   entry_sum, factors, hadamard, inverse, is_matrix, matmul, rebuild, size,
                   transpose)
from ..core.dispatch import identity, identity_of
from ..core.errors import MatcalcError, shown
from ..core.kron import Unvec, unvec
from ..core.functions import sigmoid, softplus
from ..core.structure import PoolRoute, pool_mask, pool_spread
from ..core.transposer import transposed


def _split_terms(e):
    return [(c, factors(core)) for c, core in (coefficient(t) for t in e.args)]


def _collect_side(e, side):
    """Group the terms of a sum by their last (side=-1) or first (side=0) factor."""
    groups, others = {}, []
    for t in e.args:
        c, core = coefficient(t)
        fs = factors(core)
        if len(fs) < 2:
            others.append(t)
        else:
            groups.setdefault(fs[side], []).append((t, c, fs))
    if not groups or max(len(g) for g in groups.values()) < 2:
        return None
    out = list(others)
    for key, group in groups.items():
        if len(group) == 1:
            out.append(group[0][0])
            continue
        rest = add(*[matmul(c, *(fs[:-1] if side == -1 else fs[1:])) for _, c, fs in group])
        out.append(matmul(rest, key) if side == -1 else matmul(key, rest))
    return add(*out)


@identity("A X + B X = (A + B) X  and  X A + X B = X (A + B).")
def collect(e):
    if not isinstance(e, MatAdd):
        return e
    for side in (-1, 0):
        new = _collect_side(e, side)
        if new is not None:
            return new
    return e


# Each assumption names the constraint (verify/sample.py CONSTRAINTS, or verify/assume.py's
# "equals" and "positive") under which the verifier draws its points, and `var` what it
# constrains, so that a proof respects what the simplifier used.

@dataclass(frozen=True)
class ColumnsSumToOne:
    """1ᵀ Y = 1ᵀ (each column of Y sums to 1), so 1_{k×m} Y = 1_{k×N}."""
    var: sp.MatrixSymbol
    constraint = "colsum1"

    def __call__(self, e):
        if not isinstance(e, MatMul):
            return e
        fs, c = factors(e), coefficient(e)[0]
        for i in range(1, len(fs)):
            if fs[i] == self.var and isinstance(fs[i - 1], OneMatrix):
                new = OneMatrix(fs[i - 1].shape[0], self.var.shape[1])
                return matmul(c, *fs[:i - 1], new, *fs[i + 1:])
        return e

    def __str__(self):
        return shown("each column of {0} sums to 1", self.var)


@dataclass(frozen=True)
class RowsSumToOne:
    """Y 1 = 1 (each row of Y sums to 1), so Y 1_{n×k} = 1_{m×k}."""
    var: sp.MatrixSymbol
    constraint = "rowsum1"

    def __call__(self, e):
        if not isinstance(e, MatMul):
            return e
        fs, c = factors(e), coefficient(e)[0]
        for i in range(len(fs) - 1):
            if fs[i] == self.var and isinstance(fs[i + 1], OneMatrix):
                new = OneMatrix(self.var.shape[0], fs[i + 1].shape[1])
                return matmul(c, *fs[:i], new, *fs[i + 2:])
        return e

    def __str__(self):
        return shown("each row of {0} sums to 1", self.var)


@dataclass(frozen=True)
class Symmetric:
    """Xᵀ = X; so also Mᵀ = M for M symmetric given X = Xᵀ (Yᵀ X Y, (Yᵀ X Y)⁻¹)."""
    var: sp.MatrixSymbol
    constraint = "symmetric"

    def __call__(self, e):
        if not isinstance(e, Transpose) or isinstance(e.arg, sp.MatrixSymbol) and e.arg != self.var:
            return e
        if e.arg == self.var or rebuild(_transposed(e.arg), self) == e.arg:
            return e.arg
        return e

    def __str__(self):
        return shown("{0} is symmetric", self.var)


@dataclass(frozen=True)
class Equals:
    """lhs = rhs, used as a rewrite lhs → rhs."""
    lhs: sp.Basic
    rhs: sp.Basic
    constraint = "equals"

    @property
    def var(self):
        return (self.lhs, self.rhs)

    def __call__(self, e):
        return self.rhs if e == self.lhs else e

    def __str__(self):
        c, core = coefficient(self.rhs) if is_matrix(self.rhs) else (None, None)
        if isinstance(core, OneMatrix) and is_matrix(self.lhs):    # A = 2, broadcast
            return shown("every entry of {0} is {1}", self.lhs, c)
        return shown("{0} = {1}", self.lhs, self.rhs)


@dataclass(frozen=True)
class Positive:
    """lhs > rhs (or ≥, <, ≤) entrywise: no rewrite, a domain (log(b − A x) is real where
    b − A x > 0); `var` is the expression that is positive, lhs − rhs or rhs − lhs."""
    lhs: sp.Basic
    rhs: sp.Basic
    op: str = ">"
    constraint = "positive"

    @property
    def var(self):
        from ..core.expr import sub
        a, b = (self.lhs, self.rhs) if self.op in (">", ">=") else (self.rhs, self.lhs)
        if isinstance(b, sp.ZeroMatrix) or b == 0:
            return a
        return sub(a, b)

    def __call__(self, e):
        return e

    def __str__(self):
        rhs = 0 if isinstance(self.rhs, sp.ZeroMatrix) else self.rhs
        return shown(f"{{0}} {self.op.replace('>=', '≥').replace('<=', '≤')} {{1}}",
                     self.lhs, rhs)


def inequality(lhs, rhs, op):
    """The assumption lhs op rhs (op one of > >= < <=): entrywise, a domain for the proof."""
    if op not in (">", ">=", "<", "<="):
        raise ValueError(f"op must be one of > >= < <=, not {op!r}")
    if not (_variables(lhs) | _variables(rhs)):
        raise MatcalcError("the assumption {0} " + op + " {1} constrains no variable", lhs, rhs)
    return Positive(lhs, rhs, op)


def _variables(e):
    e = sp.sympify(e)
    return e.atoms(sp.MatrixSymbol) | {s for s in e.atoms(sp.Symbol) if not s.is_integer}


def assumption(lhs, rhs):
    """The rewrite rule for a declared equation lhs = rhs.

    sum(Y, axis=0) = 1 and sum(Y, axis=1) = 1 become ColumnsSumToOne / RowsSumToOne (they
    must also fire inside longer products); Xᵀ = X becomes Symmetric; anything else rewrites
    lhs to rhs where it occurs.
    """
    one = rhs == 1 or isinstance(rhs, OneMatrix)
    if isinstance(lhs, MatMul) and one and len(lhs.args) == 2:
        a, b = lhs.args
        if isinstance(a, OneMatrix) and a.shape[0] == 1 and isinstance(b, sp.MatrixSymbol):
            return ColumnsSumToOne(b)
        if isinstance(b, OneMatrix) and b.shape[1] == 1 and isinstance(a, sp.MatrixSymbol):
            return RowsSumToOne(a)
    for x, y in ((lhs, rhs), (rhs, lhs)):
        if isinstance(x, Transpose) and x.arg == y and isinstance(y, sp.MatrixSymbol):
            return Symmetric(y)
    if is_matrix(lhs) and not is_matrix(rhs):
        rhs = matmul(rhs, OneMatrix(*lhs.shape))
    return Equals(lhs, rhs)


@identity("c a X + c b Y = c (a X + b Y): a scalar common to every term of a sum moves out.")
def factor_scalar(e):
    if not isinstance(e, MatAdd):
        return e
    cs = [sp.sympify(coefficient(t)[0]) for t in e.args]
    common = reduce(sp.gcd, cs)
    ratios = [c / common for c in cs]
    if not all(r.is_Rational for r in ratios):
        return e
    # the largest common factor that leaves whole numbers: 4Q − 2P = 2(2Q − P), never 2(P + 3/2 Q)
    common *= sp.Rational(reduce(math.gcd, [r.p for r in ratios]),
                          reduce(math.lcm, [r.q for r in ratios]))
    if common.could_extract_minus_sign():
        common = -common
    if common == 1:
        return e
    return matmul(common, add(*[matmul(c / common, coefficient(t)[1])
                                for c, t in zip(cs, e.args)]))


def _summands(f):
    """The terms of a sum, also of an elementwise function whose body is a sum (1 − σ(Z) is
    1 and −σ(Z)); None for anything else."""
    if isinstance(f, MatAdd):
        return list(f.args)
    if isinstance(f, Elementwise) and isinstance(f.body, sp.Add):
        return [elementwise(b, f.arg) for b in f.body.args]
    return None


def _distribute(e):
    if not isinstance(e, HadamardProduct):
        return e
    for i, f in enumerate(e.args):
        terms = _summands(f)
        if terms is not None:
            rest = e.args[:i] + e.args[i + 1:]
            return add(*[_distribute(hadamard(t, *rest)) for t in terms])
    return e


@identity("(A + B) ⊙ C = A ⊙ C + B ⊙ C, kept only where the terms then cancel or fuse.")
def expand_hadamard(e):
    if isinstance(e, MatAdd) and any(isinstance(t, HadamardProduct) for t in
                                     (coefficient(t)[1] for t in e.args)):
        new = add(*[matmul(c, _distribute(core)) for c, core in map(coefficient, e.args)])
    elif isinstance(e, HadamardProduct):
        new = _distribute(e)
    else:
        return e
    return new if size(new) < size(e) else e


_x = sp.Wild("x")
_STABLE_BODIES = (   # log σ(x) = −softplus(−x), log(1 − σ(x)) = −softplus(x): no log of 0
    (sp.log(sigmoid(_x)), -softplus(-_x)),
    (sp.log(1 - sigmoid(_x)), -softplus(_x)),
)


@identity("log softmax(Z) = logsoftmax(Z); log σ(Z) = −softplus(−Z): finite for any logits.")
def stable_logs(e):
    if not isinstance(e, Elementwise):
        return e
    if isinstance(e.arg, Softmax) and e.body == sp.log(T):
        return LogSoftmax(e.arg.arg, e.arg.axis)
    body = e.body
    for pattern, stable in _STABLE_BODIES:
        body = body.replace(pattern.xreplace({_x: T}), stable.xreplace({_x: T}))
    return elementwise(body, e.arg) if body != e.body else e


@identity("route(A, G) = upsample(G) ⊙ mask(A) when the pooling windows tile A (stride = k).")
def route_as_mask(e):
    if not isinstance(e, PoolRoute) or e.geometry.s != e.geometry.k:
        return e
    return hadamard(pool_spread(e.arg, e.geometry), pool_mask(e.data, e.geometry))


# ---------------------------------------------------------------- determinants and inverses

def _square(m):
    return m.shape[0] == m.shape[1]


def _transposed(m):
    """Mᵀ with the transpose pushed into sums and inverses as well: (A + B)ᵀ = Aᵀ + Bᵀ,
    (M⁻¹)ᵀ = (Mᵀ)⁻¹; equal to M exactly when M is symmetric by its structure."""
    return transposed(m, through=(MatAdd, Inverse))


@identity("Mᵀ = M for M symmetric by structure: (Xᵀ X)⁻¹ᵀ = (Xᵀ X)⁻¹, (A + Aᵀ)ᵀ = A + Aᵀ, "
          "any 1×1 M.")
def symmetric_transpose(e):
    if isinstance(e, Transpose) and (e.shape == (1, 1) or _transposed(e.arg) == e.arg):
        return e.arg
    return e


def _inverse_of(m):
    """M⁻¹ as it is written: X for X⁻¹, X⁻ᵀ for Xᵀ, Xᵀ for X⁻ᵀ."""
    if isinstance(m, Transpose):
        return transpose(_inverse_of(m.arg))
    return m.arg if isinstance(m, Inverse) else Inverse(m)


@identity("A⁻¹ A = A A⁻¹ = I, also transposed (Xᵀ X⁻ᵀ = I), inside a product.")
def cancel_inverse(e):
    if not isinstance(e, MatMul):
        return e
    c, fs = coefficient(e)
    fs = factors(e)
    kept = []
    for f in fs:
        if kept and _square(f) and kept[-1] == _inverse_of(f):
            kept.pop()
        else:
            kept.append(f)
    if len(kept) == len(fs):
        return e
    return matmul(c, *kept) if kept else matmul(c, Identity(e.shape[0]))


@identity("det(c A B) = cⁿ det(A) det(B) for square A, B  (Cookbook 18)")
def det_of_product(e):
    if isinstance(e, Determinant) and isinstance(e.arg, MatMul):
        c, fs = coefficient(e.arg)[0], factors(e.arg)
        if all(_square(f) for f in fs):
            return c ** e.arg.shape[0] * sp.Mul(*[det(f) for f in fs])
    return e


@identity("(c A B)⁻¹ = c⁻¹ B⁻¹ A⁻¹ for square A, B  (Cookbook 26)")
def inverse_of_product(e):
    if isinstance(e, Inverse) and isinstance(e.arg, MatMul):
        c, fs = coefficient(e.arg)[0], factors(e.arg)
        if all(_square(f) for f in fs):
            return matmul(1 / c, *[inverse(f) for f in reversed(fs)])
    return e


@identity("tr(1 N) = tr(N 1) = sum(N): a trace against the all-ones matrix is the sum of entries")
def trace_of_ones_product(e):
    if not (isinstance(e, sp.Trace) and isinstance(e.arg, MatMul)):
        return e
    c, fs = coefficient(e.arg)[0], factors(e.arg)
    if isinstance(fs[0], OneMatrix):
        return c * entry_sum(matmul(*fs[1:]))
    if isinstance(fs[-1], OneMatrix):
        return c * entry_sum(matmul(*fs[:-1]))
    return e


@identity("sign(u) u = |u| (so sign(u) u / |u| = 1, the derivative of log |u|)")
def sign_times_value(e):
    if not isinstance(e, sp.Mul):
        return e
    for f in e.args:
        if isinstance(f, sp.sign) and f.args[0] in e.args:
            rest = list(e.args)
            rest.remove(f)
            rest.remove(f.args[0])
            return sp.Mul(sp.Abs(f.args[0]), *rest)
    return e


@identity("unvec(a, m) + unvec(b, m) = unvec(a + b, m): unvec is linear")
def collect_unvec(e):
    if not isinstance(e, MatAdd):
        return e
    groups, others = {}, []
    for t in e.args:
        c, core = coefficient(t)
        if isinstance(core, Unvec):
            groups.setdefault(core.rows, []).append(matmul(c, core.arg))
        else:
            others.append(t)
    if all(len(g) < 2 for g in groups.values()):
        return e
    return add(*others, *[unvec(add(*g), m) for m, g in groups.items()])


CANONICAL = (collect, collect_unvec, symmetric_transpose, cancel_inverse, det_of_product, inverse_of_product,
             sign_times_value, trace_of_ones_product, expand_hadamard)
TEXTBOOK = (expand_hadamard, factor_scalar, collect, route_as_mask)
NUMERIC = (stable_logs,)


def simplify(e, rules=CANONICAL, assumptions=(), derivation=None, max_passes=10):
    """Apply the rules (and the assumptions, as rewrites) bottom-up to a fixed point."""
    rules = tuple(assumptions) + tuple(rules)
    for _ in range(max_passes):
        before = e

        def each(x):
            for rule in rules:
                y = rule(x)
                if y != x and derivation is not None:
                    derivation.add("simplify", identity_of(rule), x, y)
                x = y
            return x

        e = rebuild(e, each)
        if e == before:
            break
    return e
