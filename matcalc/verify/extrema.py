"""Values of the maxima and SVD-norm nodes (core/extrema.py) for both evaluator tables.

Stage 1 (verify), beside the data path; needs only matcalc.core. A maximum is Σ hotᵢ xᵢ with
hot the one-hot of the first maximum (explicitly a Piecewise in the entries, as pooling's in
windows.py), so sympy.diff of it is the first-maximum subgradient wherever there is no tie.
The nuclear and spectral norms and their gradients U Vᵀ and u₁ v₁ᵀ are written from the
k×k Gram matrix G (MᵀM or MMᵀ, k = min(m, n)) in closed form for k ≤ 2 (the proof's small
sizes): σ₁ + σ₂ = sqrt(tr G + 2 sqrt(det G)), σ₁ = sqrt((tr G + sqrt(tr² G − 4 det G))/2);
beyond, the exact proof says so and the numeric proof (NumPy's SVD) remains.
"""
import numpy as np
import sympy as sp

from ..core.errors import TooLargeError
from ..core.extrema import (EntryMax, MaxAlong, MaxMask, NuclearNorm, PolarFactor,
                            SpectralNorm, TopSingular)
from .windows import _Explicit

__all__ = ["EXPLICIT_EXTREMA", "NUMERIC_EXTREMA"]


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
    """(G, whether G = MᵀM): the smaller Gram matrix, k×k with k = min(m, n) ≤ 2."""
    k = min(M.shape)
    if k > 2:
        raise TooLargeError(
            f"the exact proof writes the singular values of a {M.rows}×{M.cols} matrix only "
            "when it has at most 2 rows or columns (the sizes it picks itself); name the "
            "dimensions, or use verify_numeric",
            cli=f"the exact proof writes the singular values of a {M.rows}×{M.cols} matrix only "
                "when it has at most 2 rows or columns; declare the dimensions by name (--shape "
                "\"X=n x m\") or use --verify numeric")
    return (M.T * M, True) if M.cols <= M.rows else (M * M.T, False)


def _x_nuclear(ev, e):
    G, _ = _gram(ev(e.arg))
    if G.rows == 1:
        return sp.sqrt(G[0, 0])
    return sp.sqrt(G.trace() + 2 * sp.sqrt(G.det()))


def _top_eigenvalue(G):
    t, d = G.trace(), G.det()
    return (t + sp.sqrt(t ** 2 - 4 * d)) / 2, (t - sp.sqrt(t ** 2 - 4 * d)) / 2


def _x_spectral(ev, e):
    G, _ = _gram(ev(e.arg))
    return sp.sqrt(G[0, 0]) if G.rows == 1 else sp.sqrt(_top_eigenvalue(G)[0])


def _x_polar(ev, e):
    """U Vᵀ = M (MᵀM)^(-1/2) (or (MMᵀ)^(-1/2) M), with the 2×2 square root
    sqrt(G) = (G + sqrt(det G) I) / sqrt(tr G + 2 sqrt(det G))."""
    M = ev(e.arg)
    G, right = _gram(M)
    if G.rows == 1:
        return M / sp.sqrt(G[0, 0])
    root = (G + sp.sqrt(G.det()) * sp.eye(2)) / sp.sqrt(G.trace() + 2 * sp.sqrt(G.det()))
    inv_root = root.adjugate() / root.det()
    return M * inv_root if right else inv_root * M


def _x_top(ev, e):
    """u₁ v₁ᵀ = M P / σ₁ (or P M / σ₁), P = (G − λ₂ I)/(λ₁ − λ₂) the projector onto the top
    eigenvector of G, σ₁ = sqrt(λ₁)."""
    M = ev(e.arg)
    G, right = _gram(M)
    if G.rows == 1:
        return M / sp.sqrt(G[0, 0])
    l1, l2 = _top_eigenvalue(G)
    P = (G - l2 * sp.eye(2)) / (l1 - l2)
    return (M * P if right else P * M) / sp.sqrt(l1)


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
