"""The random point: which matrices, sizes and scalars a proof needs, and values for them.

Stage 1 (verify), beside the data path; needs only matcalc.core. Consumes f, the variable X,
the claimed gradient G and the user's assumptions (CONSTRAINTS by name, or functions of the
sampled array; ("equals", (lhs, rhs)) and ("positive", e), which tie several values together,
see assume.py); produces a _Problem (its matrices, dimension symbols, scalars, constraints and
the square matrices shifted by n·I), sizes for its dimensions, random points drawn as floats
or as exact Rationals, and the VerificationError that reports a failure at such a point.
"""
import numpy as np
import sympy as sp
from sympy import Determinant, Inverse, MatrixSymbol

from ..core.errors import (MatcalcError, NotScalarError, ShapeError, VerificationError,
                           shown)
from ..core.expr import Elementwise, LogDet, add, is_matrix, shape
from ..core.functions import T
from ..core.scalars import as_matrix_variable  # noqa: F401  (the proofs' import)
from .assume import ties

__all__ = ["CONSTRAINTS", "as_matrix_variable"]

TRIES = 6      # points tried before giving up on a domain: signed first, then positive
DRAWS = 200    # draws for a point where an assumption e > 0 holds that no variable solves


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
    """[(name or callable, M), …] → ({M: [constraint, …]}, [the pairs that tie values])."""
    if assumptions is None:
        return {}, []
    if isinstance(assumptions, tuple) and len(assumptions) == 2 and is_matrix(assumptions[1]):
        assumptions = [assumptions]
    out, tied = {}, []
    for item in assumptions:
        try:
            kind, M = item
        except (TypeError, ValueError):
            raise ValueError(f"an assumption is a pair (constraint, M), not {item!r}") from None
        if kind == "equals" or kind == "positive" and not isinstance(M, MatrixSymbol):
            tied.append((kind, M))      # see assume.py
            continue
        fn = CONSTRAINTS.get(kind) if isinstance(kind, str) else kind
        if not callable(fn):
            raise ValueError(f"unknown assumption {kind!r}; use one of "
                             f"{', '.join(CONSTRAINTS)} or a function of the sampled array")
        if not isinstance(M, MatrixSymbol):
            raise ShapeError("an assumption constrains a matrix variable, not {0}", M)
        out.setdefault(M, []).append(fn)
    return out, tied


class _Problem:
    """f, X, G and what the random point must respect: sizes, shifts, constraints."""

    def __init__(self, f, wrt, claimed, assumptions):
        _check_shapes(f, wrt, claimed)
        self.f, self.wrt, self.G = f, wrt, claimed
        self.given = (f, claimed)       # as the user wrote them, for messages
        self.constraints, tied = _constraints(assumptions)
        _contradictions(self.constraints, tied)
        self.f, self.G, self.ties = ties(tied, f, claimed, wrt)
        # a constrained variable that a tie sets afresh: the constraint is checked again
        set_by_ties = {getattr(t, "var", None) for t in self.ties} | \
            {t.target[1] for t in self.ties if getattr(t, "target", None)}
        self.reset = [m for m in self.constraints if m in set_by_ties]
        exprs = [self.f, wrt, self.G, f, claimed, *self.constraints,
                 *[x for t in self.ties for x in t.exprs]]
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
        """{MatrixSymbol: array, scalar Symbol: value}, with constraints and shifts applied,
        where the assumptions that tie values together (assume.py) hold."""
        for i in range(DRAWS if self.ties else 1):     # the second half positive
            out = self._draw(rng, sizes, exact, positive or 2 * i >= DRAWS)
            if all(t.apply(out, sizes, exact, rng) for t in self.ties) and \
                    all(t.holds(out, sizes) for t in self.ties) and \
                    all(_kept(fn, out[m]) for m in self.reset for fn in self.constraints[m]):
                return out
        raise MatcalcError(f"could not draw a point where the assumptions hold in {DRAWS} "
                           f"tries: {_ties_shown(self.ties)}; matcalc solves e > 0 for a "
                           "variable that e adds (X - 1 > 0 sets X), others it can only draw "
                           "until they hold")

    def _draw(self, rng, sizes, exact, positive):
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


def _kept(fn, a):
    """Does the sampled a still meet the constraint fn (each is a projection: fn(a) = a)?"""
    b = fn(a)
    if a.dtype == object:
        return bool(np.all(b == a))
    return bool(np.allclose(b, a, rtol=1e-12, atol=1e-12))


def check_consistent(assumptions):
    """Refuse assumptions that contradict each other (X > 0 and X < 0) before any work: the
    front doors call it as they read them, the proofs again as they start."""
    _contradictions(*_constraints(assumptions))


def _contradictions(constraints, tied):
    """Refuse, before any point is drawn, assumptions e > 0 and −e > 0 (X > 0 and X < 0):
    no point satisfies both, and drawing would only end in 'could not draw a point'."""
    positive = [m for m, fns in constraints.items() if CONSTRAINTS["positive"] in fns]
    positive += [e for kind, e in tied if kind == "positive"]
    for i, a in enumerate(positive):
        for b in positive[i + 1:]:
            if is_matrix(a) != is_matrix(b) or is_matrix(a) and a.shape != b.shape:
                continue
            total = add(a, b) if is_matrix(a) else sp.expand(a + b)
            if total == 0 or isinstance(total, sp.ZeroMatrix):
                raise MatcalcError("the assumptions {0} > 0 and {1} > 0 contradict each "
                                   "other: no point satisfies both; drop one of them", a, b)


def _find_point(p, rng, sizes, exact, value):
    """A sample where value(sample) is a finite real number: signed first, then positive."""
    for attempt in range(TRIES):
        sample = p.sample(rng, sizes, exact, positive=attempt > 0)
        if value(sample) is not None:
            return sample
    hint = _domain_hint(p.f)
    raise VerificationError(
        f"could not find a point where f = {{0}} is real and finite in {TRIES} tries; "
        "constrain the inputs: assume=[\"{1} > 0\"] in grad, assumptions=[(\"positive\", "
        "{1})] in assert_gradient, or a function of your own", p.given[0], hint,
        cli=f"could not find a point where f = {{0}} is real and finite in {TRIES} tries; "
            "constrain the inputs with --assume, such as --assume \"{1} > 0\"")


def _domain_hint(f):
    """What an assumption > 0 would best constrain: the argument of the first log, sqrt or
    fractional power of f, else its first matrix variable."""
    def undefined_below_0(b):
        return isinstance(b, sp.log) or b.is_Pow and not b.exp.is_integer

    for node in sp.preorder_traversal(f):
        if isinstance(node, Elementwise) and any(undefined_below_0(b)
                                                 for b in sp.preorder_traversal(node.body)):
            return node.arg
        if not is_matrix(node) and isinstance(node, sp.Expr) and undefined_below_0(node) and \
                (node.args[0].atoms(MatrixSymbol) or node.args[0].free_symbols):
            return node.args[0]
    mats = sorted(sp.sympify(f).atoms(MatrixSymbol), key=lambda m: m.name)
    return mats[0] if mats else sp.Symbol("X")


def _ties_shown(ts):
    """The tied assumptions as text, for a message: "A = 2; b - A @ x > 0"."""
    from .assume import Fix
    return "; ".join(shown("{0} = {1}", t.var, t.rhs) if isinstance(t, Fix) else
                     shown("{0} > 0", t.e) for t in ts)


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
        raise ShapeError("wrt must be a matrix variable such as matrix('X', 3, 4), not {0}",
                         wrt)
    if is_matrix(f) and tuple(f.shape) != (1, 1):
        raise NotScalarError("f = {0} is {0:dims}, not a scalar: a gradient needs a scalar "
                             "function (take entry_sum, trace or norm of it)", f)
    if tuple(shape(claimed)) != tuple(wrt.shape):   # a wrong claim, not bad input
        what = "is {1:dims}" if is_matrix(claimed) else "is a scalar"
        raise VerificationError(f"claimed gradient {what} but {{0}} is {{0:dims}}: the shapes "
                                "differ; matcalc uses the denominator layout (∂f/∂{0} has "
                                "the shape of {0})", wrt, claimed)


def _sizes_used(sizes, wrt):
    named = ", ".join(f"{d}={n}" for d, n in sizes.items())
    r, c = (int(sp.sympify(d).xreplace(sizes)) for d in wrt.shape)
    return f"{named + '; ' if named else ''}{wrt.name} is {r}×{c}"


def _fail(p, where, sizes, method, claimed, ref, abs_err, rel_err, tol):
    """Raise the VerificationError: gradient, entry or direction, both values, errors.

    `claimed` and `ref` are templates whose {0}, {1}, {2} are X, f and G (operands of the
    error, shown in matcalc's syntax); the other parts are plain text.
    """
    sizes_used = _sizes_used(sizes, p.wrt).replace("{", "{{").replace("}", "}}")
    raise VerificationError(
        f"∂f/∂{{0}} is wrong {where} (sizes used: {sizes_used})\n"
        "  f:         {1}\n"
        f"  claimed:   {claimed}\n"
        f"  reference: {ref}\n"
        f"  abs error: {abs_err:.3g}, rel error: {rel_err:.3g}, tolerance: {tol}\n"
        f"  method:    {method}", p.wrt, *p.given)
