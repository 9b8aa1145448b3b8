"""A claimed gradient against a proven one, entry by entry: where they first differ.

Stage 1 (verify), beside the data path; needs only matcalc.core. Consumes a claim (an
expression of X's shape, or a Python function of the variables, the user's own backward
pass), f, the variable X and a gradient G already proven to be ∂f/∂X; evaluates both in
float64 at random points of the proof's kind (sample.py, under the same assumptions) and
returns the first entry, in row-major order, where they differ (a Difference), or None.
The proofs say whether a claim is right; this says where it is wrong, for the message.
exact_difference compares an expression claim with G in rational arithmetic (tolerance 0)
at small sizes, where both are rational numbers there: a claim off by 1e-40 is wrong.
"""
import inspect
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..core.errors import MatcalcError, VerificationError
from ..core.expr import is_matrix
from ..core.functions import T
from .evaluator import EXPLICIT, NUMERIC, _Evaluator
from .sample import _find_point, _Problem

__all__ = ["first_difference", "exact_difference", "Difference", "COMPARE_RTOL",
           "COMPARE_POINTS", "EXACT_COMPARE_POINTS"]

COMPARE_RTOL = 1e-6    # of the largest entry: a float64 backward pass computed another way
COMPARE_POINTS = 3
EXACT_COMPARE_POINTS = 3


@dataclass(frozen=True)
class Difference:
    """At `entry` (row, column) the claim is `claimed` where ∂f/∂X is `correct`; `sizes` are
    the dimensions of the point (name → size), `tolerance` the bound the error passed (0: in
    exact rational arithmetic, where `exact` is claimed − correct as a Rational)."""
    entry: tuple
    claimed: float
    correct: float
    sizes: dict
    tolerance: float
    exact: object = None


def variables(f, G):
    """{name: symbol} of the variables (matrices and scalars) a function of f and G takes."""
    out = {}
    for e in (f, G):
        e = sp.sympify(e)
        for s in sorted(e.atoms(sp.MatrixSymbol), key=lambda m: m.name):
            out.setdefault(s.name, s)
        dims = {d for m in e.atoms(sp.MatrixSymbol) for x in m.shape
                for d in sp.sympify(x).free_symbols}
        for s in sorted(e.free_symbols - dims, key=str):
            if isinstance(s, sp.Symbol) and not is_matrix(s) and s != T:
                out.setdefault(s.name, s)
    return out


def _caller(fn, names):
    """fn's keyword arguments among `names`: all of them if it takes **kwargs, else those its
    signature names (MatcalcError for a parameter without default that is no variable)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):          # a builtin without a signature: pass them all
        return list(names)
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return list(names)
    wanted = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = [p.name for p in params if p.name not in names and p.default is p.empty
               and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if unknown:
        raise MatcalcError(f"the claimed gradient function takes {', '.join(unknown)}, which "
                           f"{'is' if len(unknown) == 1 else 'are'} not a variable of f (its "
                           f"variables: {', '.join(names) or 'none'}); it is called with "
                           f"the variables by name, as NumPy arrays")
    return [n for n in wanted if n in names]


def first_difference(claim, f, wrt, G, assumptions=None, seed=0, points=COMPARE_POINTS,
                     rtol=COMPARE_RTOL):
    """The first entry where `claim` and the proven gradient G of f differ, or None.

    `claim` is an expression of wrt's shape or a function called with the variables of f by
    keyword (NumPy arrays for matrices, floats for scalars; only those it names, unless it
    takes **kwargs). An entry differs when |claimed − correct| > rtol · max(1, max|G|).
    A function's exceptions propagate (they are the user's); a result of the wrong shape is
    a VerificationError.

    Examples
    ========

    >>> from matcalc.core.expr import matrix, matmul, trace, transpose
    >>> A, X = matrix('A', 'n', 'm'), matrix('X', 'm', 'n')
    >>> f, G = trace(matmul(A, X)), transpose(A)
    >>> first_difference(lambda A: A.T, f, X, G) is None
    True
    >>> first_difference(lambda A: 2 * A.T, f, X, G).entry
    (0, 0)
    """
    p = _Problem(f, wrt, G, assumptions)
    names = variables(f, G)
    call = _caller(claim, names) if callable(claim) and not isinstance(claim, sp.Basic) \
        else None
    rng = np.random.default_rng(seed)
    sizes = p.sizes([int(k) for k in rng.permutation(np.arange(5, 13))] + list(range(13, 99)))
    dims = tuple(int(sp.sympify(d).xreplace(sizes)) for d in wrt.shape)

    def value(e, env):
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(_Evaluator(NUMERIC, env)(e), dtype=float), dims)

    def f_at(sample):
        with np.errstate(all="ignore"):
            v = np.asarray(_Evaluator(NUMERIC, {**sizes, **sample})(p.f))
        return v if v.dtype.kind != "c" and np.all(np.isfinite(v)) else None

    for _ in range(points):
        try:
            sample = _find_point(p, rng, sizes, False, f_at)
        except MatcalcError:
            sample = p.sample(rng, sizes, False, positive=True)
        env = {**sizes, **sample}
        ref = value(p.G, env)
        if call is None:
            got = value(claim, env)
        else:
            by_name = {str(s): (float(v) if not is_matrix(s) else np.array(v, dtype=float))
                       for s, v in sample.items()}
            got = np.asarray(claim(**{n: by_name[n] for n in call if n in by_name}))
            if got.dtype.kind not in "biuf":     # complex: its imaginary part is no gradient
                raise VerificationError(
                    f"the claimed gradient function returned {got.dtype} values, but ∂f/∂{{0}} "
                    f"of a real f is real: return real floats (a complex array's imaginary "
                    f"part would be dropped, so matcalc refuses it)", wrt)
            if got.shape != dims:
                raise VerificationError(
                    f"the claimed gradient function returned an array of shape "
                    f"{got.shape}, but ∂f/∂{{0}} has {{0}}'s shape {dims} at this point "
                    f"(denominator layout)", wrt)
            got = got.astype(float)
        finite = np.isfinite(ref)
        scale = max(1.0, float(np.abs(ref[finite]).max())) if finite.any() else 1.0
        tol = rtol * scale
        bad = finite & ~(np.abs(np.where(np.isfinite(got), got, np.inf) - ref) <= tol)
        if bad.any():
            i, j = (int(k) for k in np.argwhere(bad)[0])
            return Difference((i, j), float(got[i, j]), float(ref[i, j]),
                              {str(d): int(n) for d, n in sizes.items()}, tol)
    return None


def exact_difference(claim, f, wrt, G, assumptions=None, seed=0, points=EXACT_COMPARE_POINTS):
    """(difference, decided): the expression `claim` against the proven gradient G in exact
    rational arithmetic (tolerance 0) at `points` random rational points of small sizes
    (2, 3, 4, … as the exact proof takes them). `decided` is False where a side is not a
    rational number at a point (exp, log, sqrt of a rational): the exact proof then compares
    it with sympy.diff to 50 digits within a tolerance, and says so.
    """
    p = _Problem(f, wrt, claim, assumptions)
    q = _Problem(f, wrt, G, assumptions)
    rng = np.random.default_rng(seed)
    sizes = {d: sp.Integer(n) for d, n in p.sizes(range(2, 100)).items()}

    def f_at(sample):
        env = {**sizes, **{s: np.array(v, dtype=float) for s, v in sample.items()}}
        with np.errstate(all="ignore"):
            v = np.asarray(_Evaluator(NUMERIC, env)(p.f))
        return v if v.dtype.kind != "c" and np.all(np.isfinite(v)) else None

    def rational(e, env):
        v = _Evaluator(EXPLICIT, env)(e)
        v = v if isinstance(v, sp.MatrixBase) else sp.Matrix([[v]])
        return v if all(isinstance(x, sp.Rational) for x in v) else None

    for _ in range(points):
        sample = _find_point(p, rng, sizes, True, f_at)
        env = {**sizes, **{s: sp.Matrix(v.tolist()) if is_matrix(s) else v
                           for s, v in sample.items()}}
        claimed = rational(p.G, env)
        correct = rational(q.G, env) if claimed is not None else None
        if correct is None:
            return None, False
        for i in range(correct.rows):
            for j in range(correct.cols):
                if claimed[i, j] != correct[i, j]:
                    return Difference((i, j), float(claimed[i, j]), float(correct[i, j]),
                                      {str(d): int(n) for d, n in sizes.items()}, 0.0,
                                      claimed[i, j] - correct[i, j]), True
    return None, True
