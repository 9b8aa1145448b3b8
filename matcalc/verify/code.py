"""Generated code on trial: a NumPy function against the expression it was printed from.

Stage 1 (verify), beside the data path; needs only matcalc.core. Consumes a compiled function,
its arguments (the variables, in order), f, X and the gradient G the function computes;
runs it at the random points a proof of ∂f/∂X = G uses (sample.py, with the same
assumptions) and compares its value with NUMERIC's value of G there. Returns None, or raises
InternalError (a bug of matcalc's printer, never of the input) naming the point's sizes, the
worst entry, or the exception the code raised, and the code itself.
"""
import numpy as np
import sympy as sp

from ..core.errors import InternalError, MatcalcError
from .budget import check_memory
from .evaluator import NUMERIC, _Evaluator
from .sample import _find_point, _Problem, as_matrix_variable

__all__ = ["verify_code"]

CODE_RTOL = 1e-8      # the code and the evaluator compute in different orders: round-off only
CODE_POINTS = 3


def verify_code(fn, args, f, wrt, G, assumptions=None, seed=0, source=None):
    """Run fn(*args) at CODE_POINTS random points of ∂f/∂wrt's proof and compare with G.

    The values must have G's shape, be floats, and agree with the evaluator's to a relative
    1e-8 of G's largest entry, wherever the evaluator's value is finite. A point is drawn on
    f's domain under `assumptions` (as in verify_numeric); where none is found (the proof
    was skipped), on plain positive entries.
    """
    scalar = None if isinstance(wrt, sp.MatrixSymbol) else wrt
    f, wrt, G = as_matrix_variable(f, wrt, G)      # a scalar s: the 1×1 S, s its entry
    try:
        p = _Problem(f, wrt, G, assumptions)
    except MatcalcError:                 # an assumption the proof cannot honour: no tie
        p = _Problem(f, wrt, G, None)
    rng = np.random.default_rng(seed)
    sizes = p.sizes([int(k) for k in rng.permutation(np.arange(5, 13))] + list(range(13, 99)))
    # the evaluator's values of f and G, and the code's result beside G's: before allocating
    check_memory([p.f, G], sizes, "the check of the printed NumPy code", copies=[(G, 16)],
                 advice="code")
    dims = tuple(int(sp.sympify(d).xreplace(sizes)) for d in wrt.shape)

    def f_at(sample):
        with np.errstate(all="ignore"):
            v = np.asarray(_Evaluator(NUMERIC, {**sizes, **sample})(p.f))
        return v if v.dtype.kind != "c" and np.all(np.isfinite(v)) else None

    for _ in range(CODE_POINTS):
        try:
            sample = _find_point(p, rng, sizes, False, f_at)
        except MatcalcError:
            sample = p.sample(rng, sizes, False, positive=True)
        with np.errstate(all="ignore"):
            ref = np.broadcast_to(np.asarray(_Evaluator(NUMERIC, {**sizes, **sample})(G),
                                             dtype=float), dims)
            try:
                given = {**sizes, **sample}
                if scalar is not None:
                    given[scalar] = float(sample[wrt][0, 0])
                got = fn(*[given[a] for a in args])
            except Exception as e:
                _fail(f"raised {type(e).__name__}: {e}", sizes, source)
        got = np.asarray(got)
        if scalar is not None and got.shape == ():
            got = got.reshape(dims)      # a scalar's derivative is a number
        if got.shape != dims:
            _fail(f"returned shape {got.shape}, not {dims}", sizes, source)
        if got.dtype.kind != "f":
            _fail(f"returned {got.dtype} values, not floats", sizes, source)
        finite = np.isfinite(ref)
        scale = max(1.0, float(np.abs(ref[finite]).max())) if finite.any() else 1.0
        err = np.where(finite, np.abs(np.where(np.isfinite(got), got, np.inf) - ref), 0.0)
        if not err.max() <= CODE_RTOL * scale:
            i, j = np.unravel_index(int(np.argmax(err)), dims)
            _fail(f"returned {float(got[i, j]):.12g} at entry ({i}, {j}) where the gradient "
                  f"is {float(ref[i, j]):.12g} (tolerance {CODE_RTOL * scale:.3g})", sizes,
                  source)


def _fail(what, sizes, source):
    named = ", ".join(f"{d}={n}" for d, n in sizes.items())
    raise InternalError(f"the generated NumPy code is wrong: at a random point"
                        f"{' (sizes ' + named + ')' if named else ''} it {what}"
                        + (f"\n{source}" if source else ""))
