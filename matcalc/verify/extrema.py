"""Values of the maxima and SVD-norm nodes (core/extrema.py) for both evaluator tables.

Stage 1 (verify), beside the data path; needs only matcalc.core. A maximum is Σ hotᵢ xᵢ with
hot the one-hot of the first maximum (explicitly a Piecewise in the entries, as pooling's in
windows.py), so sympy.diff of it is the first-maximum subgradient wherever there is no tie.
The nuclear and spectral norms and their gradients U Vᵀ and u₁ v₁ᵀ are written from the
k×k Gram matrix G (MᵀM or MMᵀ, k = min(m, n)) in closed form for k ≤ 2 (the proof's small
sizes): σ₁ + σ₂ = sqrt(tr G + 2 sqrt(det G)), σ₁² = λ₁(G) = (tr G + sqrt(tr² G − 4 det G))/2;
beyond, the exact proof says so and the numeric proof (NumPy's SVD) remains. Where det G
or the gap λ₁ − λ₂ is 0 for every value of the entries (x yᵀ has rank one, a 2×2 X − Xᵀ a
double σ₁), the forms without its root are written (σ₂ = 0: σ₁ = sqrt(tr G), U₁V₁ᵀ = M/σ₁),
and u₁v₁ᵀ of a double σ₁ is refused as not one matrix.
"""
import random

import numpy as np
import sympy as sp

from ..core.errors import MatcalcError, TooLargeError
from ..core.extrema import (EntryMax, MaxAlong, MaxMask, NuclearNorm, PolarFactor,
                            SpectralNorm, TopSingular)
from .budget import ExplicitBudget
from .windows import _Explicit

__all__ = ["EXPLICIT_EXTREMA", "NUMERIC_EXTREMA"]

ZERO_TEST_MAX_NODES = 2000     # det G or the eigenvalue gap tested for 0 (~1 ms a point)
ZERO_TEST_POINTS = 2


def _lines(M, axis):
    """The index lists the maxima run over: columns (0), rows (1), or all entries (None, in
    row-major order)."""
    rows, cols = M.shape
    if axis == 0:
        return [[(i, j) for i in range(rows)] for j in range(cols)]
    if axis == 1:
        return [[(i, j) for j in range(cols)] for i in range(rows)]
    return [[(i, j) for i in range(rows) for j in range(cols)]]


def _x_mask(ev, e):
    M = ev(e.arg)
    out = sp.zeros(*M.shape)
    for line in _lines(M, e.axis):
        for (i, j), h in zip(line, _Explicit.first_max([M[i, j] for i, j in line])):
            out[i, j] = h
    return out


def _x_max(M, axis):
    return [sum(h * M[i, j] for (i, j), h in
                zip(line, _Explicit.first_max([M[i, j] for i, j in line])))
            for line in _lines(M, axis)]


def _x_max_along(ev, e):
    values = _x_max(ev(e.arg), e.axis)
    return sp.Matrix([values]) if e.axis == 0 else sp.Matrix(values)


def _gram(M):
    """(a, b, c, whether G = MᵀM): the entries of the smaller Gram matrix G = [[a, b], [b, c]]
    (k = min(m, n) = 2), or (a, None, None, …) for k = 1; written out, never simplified."""
    k = min(M.shape)
    if k > 2:
        raise TooLargeError(
            f"the exact proof writes the singular values of a {M.rows}×{M.cols} matrix only "
            "when it has at most 2 rows or columns (the sizes it picks itself); name the "
            "dimensions, or use verify_numeric",
            cli=f"the exact proof writes the singular values of a {M.rows}×{M.cols} matrix only "
                "when it has at most 2 rows or columns; declare the dimensions by name (--shape "
                "\"X=n x m\") or use --verify numeric")
    right = M.cols <= M.rows
    G = M.T * M if right else M * M.T
    if k == 1:
        return G[0, 0], None, None, right
    return G[0, 0], G[0, 1], G[1, 1], right


def _root(x):
    return sp.Pow(x, sp.S.Half, evaluate=False)


def _identically_zero(e):
    """Is e, a polynomial in the entries, 0 for every value of them (x @ y.T has rank one,
    X - X.T a double σ₁)? Its closed form's root of 0 is then, in 50 digits, the root of a
    rounding error (1e-25, the proof's tolerance): it is written without that root. Decided
    by exact values at random integer points (Schwartz–Zippel: a nonzero polynomial of degree
    d vanishes at one with probability d/10⁹), not by expanding e, which can be huge."""
    if ExplicitBudget(limit=10 ** 9).size(e) > ZERO_TEST_MAX_NODES or not e.is_polynomial():
        return False
    rng = random.Random(len(e.free_symbols))          # the same answer every time
    symbols = sorted(e.free_symbols, key=str)
    for _ in range(ZERO_TEST_POINTS):
        at = {s: sp.Integer(rng.randint(1, 10 ** 9)) for s in symbols}
        if e.xreplace(at) != 0:
            return False
    return True


def _rank_one(a, b, c):
    """det G ≡ 0: M has rank one (or zero) wherever it is evaluated, σ₂ ≡ 0."""
    return _identically_zero(a * c - b ** 2)


def _double(a, b, c):
    """λ₁ − λ₂ ≡ 0: σ₁ = σ₂ wherever M is evaluated (G is a multiple of I)."""
    return _identically_zero((a - c) ** 2 + 4 * b ** 2)


def _x_nuclear(ev, e):
    a, b, c, _ = _gram(ev(e.arg))
    if b is None:
        return _root(a)
    if _rank_one(a, b, c):
        return _root(a + c)
    return _root(a + c + 2 * _root(a * c - b ** 2))


def _eigenvalues(a, b, c):
    """λ₁ ≥ λ₂ of [[a, b], [b, c]] and their gap r = λ₁ − λ₂."""
    r = _root((a - c) ** 2 + 4 * b ** 2)
    return (a + c + r) / 2, (a + c - r) / 2, r


def _x_spectral(ev, e):
    a, b, c, _ = _gram(ev(e.arg))
    if b is None or _double(a, b, c):        # G = a I
        return _root(a)
    if _rank_one(a, b, c):
        return _root(a + c)
    return _root(_eigenvalues(a, b, c)[0])


def _x_polar(ev, e):
    """U Vᵀ = M G^(-1/2) (or G^(-1/2) M): with s = sqrt(det G), τ = sqrt(tr G + 2s),
    sqrt(G) = (G + s I)/τ, so G^(-1/2) = adj(G + s I)/(s τ)."""
    M = ev(e.arg)
    a, b, c, right = _gram(M)
    if b is None or _rank_one(a, b, c):     # U₁V₁ᵀ = M / σ₁: at rank one, the least subgradient
        return M / _root(a if b is None else a + c)
    s = _root(a * c - b ** 2)
    inv_root = sp.Matrix([[c + s, -b], [-b, a + s]]) / (s * _root(a + c + 2 * s))
    return M * inv_root if right else inv_root * M


def _x_top(ev, e):
    """u₁ v₁ᵀ = M P / σ₁ (or P M / σ₁), P = (G − λ₂ I)/(λ₁ − λ₂) the projector onto the top
    eigenvector of G, σ₁ = sqrt(λ₁)."""
    M = ev(e.arg)
    a, b, c, right = _gram(M)
    if b is None or _rank_one(a, b, c):
        return M / _root(a if b is None else a + c)
    if _double(a, b, c):
        raise MatcalcError(
            "the largest singular value of {0} is not simple: σ₁ = σ₂ wherever it is "
            "evaluated, where u₁v₁ᵀ (the spectral norm's gradient) is not one matrix; the "
            "exact proof cannot write it: prove it with method=\"numeric\"", e.arg,
            cli="the largest singular value of {0} is not simple: σ₁ = σ₂ wherever it is "
                "evaluated, where u₁v₁ᵀ (the spectral norm's gradient) is not one matrix; the "
                "exact proof cannot write it: use --verify numeric")
    l1, l2, r = _eigenvalues(a, b, c)
    P = sp.Matrix([[a - l2, b], [b, c - l2]]) / (r * _root(l1))
    return M * P if right else P * M


EXPLICIT_EXTREMA = {
    MaxAlong: _x_max_along,
    EntryMax: lambda ev, e: _x_max(ev(e.arg), None)[0],
    MaxMask: _x_mask,
    NuclearNorm: _x_nuclear,
    SpectralNorm: _x_spectral,
    PolarFactor: _x_polar,
    TopSingular: _x_top,
}


def _n_mask(ev, e):
    M = ev(e.arg)
    out = np.zeros(M.shape)
    if e.axis is None:
        out.flat[int(np.argmax(M))] = 1.0
    else:
        np.put_along_axis(out, np.expand_dims(np.argmax(M, axis=e.axis), e.axis), 1.0,
                          axis=e.axis)
    return out


def _n_svd_factor(top):
    def value(ev, e):
        U, _, Vt = np.linalg.svd(ev(e.arg), full_matrices=False)
        return U[:, :1] @ Vt[:1] if top else U @ Vt
    return value


NUMERIC_EXTREMA = {
    MaxAlong: lambda ev, e: ev(e.arg).max(axis=e.axis, keepdims=True),
    EntryMax: lambda ev, e: float(ev(e.arg).max()),
    MaxMask: _n_mask,
    NuclearNorm: lambda ev, e: float(np.linalg.norm(ev(e.arg), "nuc")),
    SpectralNorm: lambda ev, e: float(np.linalg.norm(ev(e.arg), 2)),
    PolarFactor: _n_svd_factor(top=False),
    TopSingular: _n_svd_factor(top=True),
}
