"""The numeric proof: ⟨G, V⟩ against central differences of f along random directions V.

Stage 1 (verify), beside the data path; needs only matcalc.core. Consumes a scalar f, the
variable X (a MatrixSymbol) and a claimed gradient G of X's shape (denominator layout);
returns None or raises VerificationError naming the direction's two derivatives, the error
and the tolerance. Sizes are realistic (5 to 12) and everything is float64 through NUMERIC.
"""
import numpy as np
import sympy as sp

from .budget import NUMERIC_MAX_ENTRIES, check_memory, check_sizes
from .evaluator import NUMERIC, _Evaluator
from .sample import _fail, _find_point, _Problem, as_matrix_variable

__all__ = ["verify_numeric"]

NUMERIC_RTOL = 1e-5                        # central differences at h ~ 1e-6 are good to ~1e-9
NUMERIC_ROUNDOFF = 1e3                     # × eps·|f|/h: the cancellation floor of a difference


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
    f, wrt, G = as_matrix_variable(f, wrt, G)      # a scalar s: the 1×1 S
    p = _Problem(f, wrt, G, assumptions)
    G = p.G       # with the equations among other variables substituted (assume.py)
    rng = np.random.default_rng(seed)
    sizes = p.sizes([int(k) for k in rng.permutation(np.arange(5, 13))] + list(range(13, 99)))
    check_sizes(p, sizes, NUMERIC_MAX_ENTRIES, "numeric", ("", ""))   # before any allocation
    check_memory([p.f, G], sizes, f"the numeric proof of ∂f/∂{wrt.name}")   # all nodes at once
    dims = tuple(int(sp.sympify(d).xreplace(sizes)) for d in wrt.shape)
    eps = np.finfo(float).eps

    def f_at(env):
        v = _numeric(_Evaluator(NUMERIC, env), p.f)
        return v if np.isfinite(v) else None

    for _ in range(directions):
        env = {**sizes, **_find_point(p, rng, sizes, False, lambda s: f_at({**sizes, **s}))}
        g = _numeric(_Evaluator(NUMERIC, env), G, dims)
        V = rng.standard_normal(dims)
        X = env[wrt]
        h = 1e-6 * max(1.0, float(np.abs(X).max()))
        fp, fm = f_at({**env, wrt: X + h * V}), f_at({**env, wrt: X - h * V})
        ref = (fp - fm) / (2 * h) if fp is not None and fm is not None else np.nan
        got = float(np.sum(g * V))
        err, scale = abs(ref - got), max(abs(ref), abs(got))
        tol = NUMERIC_RTOL * scale + NUMERIC_ROUNDOFF * eps * max(abs(fp or 0), abs(fm or 0),
                                                                  1.0) / h
        if not err <= tol:     # also catches nan
            _fail(p, "along a random direction V", sizes,
                  "central differences along a random direction",
                  f"{got:.12g}  (Σ G ⊙ V, G = {{2}})",
                  f"{ref:.12g}  ((f({{0}} + hV) − f({{0}} − hV)) / 2h, h = {h:.3g})",
                  err, err / scale if scale else np.inf,
                  f"{tol:.3g} ({NUMERIC_RTOL:g} relative + round-off)")
