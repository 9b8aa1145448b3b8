"""matcalc's NumPy runtime: the helpers generated code calls (_softmax, _unfold, _pool_* …).

Printing (stage 4), shared by the printers and codegen. The helpers are plain functions
here, so that SymPy's code printers, asked for a matcalc node (printing/hooks.py), can record
`from matcalc.printing.runtime import np, _softmax` in their `module_imports` for
`sympy.lambdify` to execute. Generated kernels cannot import matcalc (the standalone script
needs NumPy alone): they carry the helpers' own source, HELPERS[name] = (source, helpers it
calls), read from this file, so the two are one code. A backend's printer gives its own
table of the same names (printing/torch.py, printing/jax.py).
"""
import inspect
import sys

import numpy as np

__all__ = ["np", "HELPERS", "numpy_helpers"]


def _commutation(m, n):
    """K_{m,n}: the permutation matrix with K @ vec(A) = vec(A.T) for an m×n A (vec stacks
    columns: A.reshape((-1, 1), order="F"))."""
    return np.eye(m * n)[np.arange(m * n).reshape((m, n), order="F").ravel()]



def _logsumexp(Z, axis):
    """log sum exp(Z) along axis, kept as a row or column; exp(Z - max) cannot overflow."""
    M = Z.max(axis=axis, keepdims=True)
    return M + np.log(np.exp(Z - M).sum(axis=axis, keepdims=True))



def _logsoftmax(Z, axis):
    """log softmax(Z) = Z - logsumexp(Z): never takes the log of an underflowed 0."""
    return Z - _logsumexp(Z, axis)



def _softmax(Z, axis):
    """softmax(Z) along axis, shifted by the max so that no exp overflows."""
    E = np.exp(Z - Z.max(axis=axis, keepdims=True))
    return E / E.sum(axis=axis, keepdims=True)



def _softmax_pair(Z, axis, out=None):
    """(softmax(Z), log softmax(Z)) along axis with one exp; the log softmax is written into
    out (Z itself where Z is not needed afterwards)."""
    P = np.subtract(Z, Z.max(axis=axis, keepdims=True), out=out)
    S = np.exp(P)
    s = S.sum(axis=axis, keepdims=True)
    S /= s
    P -= np.log(s)
    return S, P



def _sigmoid(Z, out):
    """σ(Z) = 0.5 + 0.5·tanh(Z/2) written into out (which may be Z): no overflow for any Z."""
    np.multiply(Z, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def _erf(Z):
    """erf(Z) entrywise to double precision (NumPy has none; generated code needs NumPy alone):
    CPython's math.erf before it called libm, vectorized. For |x| < 1.5 the series
    erf(x) = 2x e^(−x²)/√π Σ (2x²)ⁿ/(1·3·…·(2n+1)), 25 terms; beyond, 1 − erfc(x) by erfc's
    continued fraction, 50 terms, rescaled every 8 (its terms pass float32's range); ±1 past
    |x| = 6 (erfc(6) < 2.2e-17). In Z's precision."""
    x = np.minimum(np.abs(Z), 6.0)
    out = np.empty_like(x)
    near = x < 1.5
    s = x[near]
    s2, acc = s * s, np.zeros_like(s)
    for k in range(25, 0, -1):
        acc = 2.0 + s2 * acc / (k + 0.5)
    out[near] = acc * s * np.exp(-s2) * 0.5641895835477563       # 1/√π
    f = x[~near]
    f2 = f * f
    a, p, p_last, q, q_last = 0.0, 1.0, 0.0, 0.5 + f2, 1.0
    for k in range(50):
        a += 0.5 + 2.0 * k
        b = 2.5 + 2.0 * k + f2
        p, p_last = b * p - a * p_last, p
        q, q_last = b * q - a * q_last, q
        if k % 8 == 7:
            p, p_last, q_last, q = p / q, p_last / q, q_last / q, 1.0
    out[~near] = 1.0 - p / q * f * np.exp(-f2) * 0.5641895835477563
    return np.copysign(out, Z)



def _to_channels(X, C, H, W):
    """(C·H·W) × N samples as columns (rows c, h, w) -> the channel matrix C × (N·H·W)."""
    N = X.shape[1]
    M = np.ascontiguousarray(X.reshape(C, H, W, N).transpose(0, 3, 1, 2))
    return M.reshape(C, N * H * W)



def _to_samples(A, C, H, W):
    """The channel matrix C × (N·H·W) -> (C·H·W) × N samples as columns (flatten)."""
    N = A.shape[1] // (H * W)
    M = np.ascontiguousarray(A.reshape(C, N, H, W).transpose(0, 2, 3, 1))
    return M.reshape(C * H * W, N)



def _unfold(A, C, H, W, k, s, p):
    """im2col: C × (N·H·W) -> (C·k·k) × (N·H'·W'), one column per k×k patch of the maps
    zero-padded by p (rows c, i, j; columns n, h', w'), read through a window view."""
    N = A.shape[1] // (H * W)
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    M = A.reshape(C, N, H, W)
    if p:
        M = np.pad(M, ((0, 0), (0, 0), (p, p), (p, p)))
    V = np.lib.stride_tricks.sliding_window_view(M, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    return np.ascontiguousarray(V.transpose(0, 4, 5, 1, 2, 3)).reshape(C * k * k, N * Ho * Wo)



def _fold(G, C, H, W, k, s, p):
    """col2im, the adjoint of _unfold: (C·k·k) × (N·H'·W') -> C × (N·H·W), each patch added
    back where it was read (one strided slice per kernel offset), the padding cut off."""
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    N = G.shape[1] // (Ho * Wo)
    P = G.reshape(C, k, k, N, Ho, Wo)
    out = np.zeros((C, N, H + 2 * p, W + 2 * p), dtype=G.dtype)
    for i in range(k):
        for j in range(k):
            out[:, :, i:i + s * Ho:s, j:j + s * Wo:s] += P[:, i, j]
    return np.ascontiguousarray(out[:, :, p:p + H, p:p + W]).reshape(C, N * H * W)



def _pool_offsets(A, C, H, W, k, s):
    """(maps, slices): the (C, N, H, W) maps of A and, for each of the k² window offsets in
    row-major order, the slice of the maps holding that offset of every window."""
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    M = A.reshape(C, A.shape[1] // (H * W), H, W)
    return M, [(slice(None), slice(None), slice(i, i + s * Ho, s), slice(j, j + s * Wo, s))
               for i in range(k) for j in range(k)]



def _maxpool(A, C, H, W, k, s):
    """The maximum of each k×k window (stride s): C × (N·H·W) -> C × (N·H''·W''), as k²
    elementwise maxima of strided slices (much faster than a max over window axes)."""
    M, at = _pool_offsets(A, C, H, W, k, s)
    out = M[at[0]].copy()
    for o in at[1:]:
        np.maximum(out, M[o], out=out)
    return out.reshape(C, -1)



def _avgpool(A, C, H, W, k, s):
    """The mean of each k×k window (stride s): C × (N·H·W) -> C × (N·H''·W'')."""
    M, at = _pool_offsets(A, C, H, W, k, s)
    out = M[at[0]].copy()
    for o in at[1:]:
        out += M[o]
    out *= 1 / (k * k)
    return out.reshape(C, -1)



def _pool_argmax(A, C, H, W, k, s):
    """Index arrays (c, n, h, w), each C × N × H'' × W'': where in the (C, N, H, W) maps the
    first maximum (row-major within the window) of each k×k window of A lies."""
    N = A.shape[1] // (H * W)
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    V = np.lib.stride_tricks.sliding_window_view(A.reshape(C, N, H, W), (k, k), axis=(2, 3))
    i, j = np.divmod(V[:, :, ::s, ::s].reshape(C, N, Ho, Wo, k * k).argmax(axis=4), k)
    return (np.arange(C).reshape(C, 1, 1, 1), np.arange(N).reshape(1, N, 1, 1),
            s * np.arange(Ho).reshape(1, 1, Ho, 1) + i, s * np.arange(Wo).reshape(1, 1, 1, Wo) + j)



def _pool_select(A, L, C, H, W, k, s):
    """L at the first maximum of each k×k window of A: C × (N·H·W) -> C × (N·H''·W'')."""
    at = _pool_argmax(A, C, H, W, k, s)
    return L.reshape(C, A.shape[1] // (H * W), H, W)[at].reshape(C, -1)



def _pool_route(A, G, C, H, W, k, s):
    """The adjoint of _pool_select(A, ·): each window's G sent to the first maximum of that
    window of A, summed where windows overlap: C × (N·H''·W'') -> C × (N·H·W)."""
    at = _pool_argmax(A, C, H, W, k, s)
    N = A.shape[1] // (H * W)
    out = np.zeros((C, N, H, W), dtype=G.dtype)
    if s >= k:     # windows apart: each position is the maximum of one window at most
        out[at] = G.reshape(at[2].shape)
    else:
        np.add.at(out, at, G.reshape(at[2].shape))
    return out.reshape(C, N * H * W)



def _pool_spread(G, C, H, W, k, s):
    """Each window's value copied over its k×k window, summed where windows overlap (the
    adjoint of the window sums): C × (N·H''·W'') -> C × (N·H·W); upsampling when s = k."""
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    N = G.shape[1] // (Ho * Wo)
    P = G.reshape(C, N, Ho, Wo)
    if s == k:
        up = np.broadcast_to(P[:, :, :, None, :, None], (C, N, Ho, k, Wo, k))
        return up.reshape(C, N * H * W)
    out = np.zeros((C, N, H, W), dtype=G.dtype)
    for i in range(k):
        for j in range(k):
            out[:, :, i:i + s * Ho:s, j:j + s * Wo:s] += P
    return out.reshape(C, N * H * W)



def _pool_mask(A, C, H, W, k, s):
    """1 at the first maximum of each k×k window of A, 0 elsewhere, in the layout of A
    (with overlapping windows: 1 where some window has its first maximum): the offsets are
    visited in row-major order and each window takes the first that equals its maximum."""
    M, at = _pool_offsets(A, C, H, W, k, s)
    top = _maxpool(A, C, H, W, k, s).reshape(M[at[0]].shape)
    out = np.zeros(M.shape, dtype=bool)
    taken = np.zeros(top.shape, dtype=bool)
    for o in at:
        hit = M[o] == top
        hit &= ~taken
        out[o] |= hit
        taken |= hit
    return out.reshape(A.shape).astype(A.dtype)



def _max_mask(A, axis=None):
    """1.0 at the first maximum of each column (axis 0), row (axis 1) or of all of A (None)."""
    out = np.zeros_like(A)
    if axis is None:
        out.flat[np.argmax(A)] = 1.0
    else:
        np.put_along_axis(out, np.expand_dims(np.argmax(A, axis=axis), axis), 1.0, axis=axis)
    return out



def _polar(A):
    """U @ Vt of the thin SVD A = U diag(s) Vt: the gradient of the nuclear norm."""
    U, _, Vt = np.linalg.svd(A, full_matrices=False)
    return U @ Vt



def _top_singular(A):
    """u1 v1^T for the largest singular value of A: the gradient of the spectral norm."""
    U, _, Vt = np.linalg.svd(A, full_matrices=False)
    return U[:, :1] @ Vt[:1]


def _calls(code, names):
    """The helpers among `names` that a code object (or one nested in it) refers to, in the
    order of first reference (numpy_helpers emits them in this order)."""
    found = [n for n in code.co_names if n in names]
    for c in code.co_consts:
        if inspect.iscode(c):
            found += _calls(c, names)
    return list(dict.fromkeys(found))


def _table():
    """{name: (source, helpers it calls)} of the functions above whose names start with _."""
    fns = {n: f for n, f in vars(sys.modules[__name__]).items()
           if n.startswith("_") and not n.startswith("__") and inspect.isfunction(f)
           and f.__module__ == __name__ and n not in ("_calls", "_table")}
    return {n: (inspect.getsource(f), tuple(_calls(f.__code__, set(fns) - {n})))
            for n, f in fns.items()}


HELPERS = _table()
__all__ += list(HELPERS)


def numpy_helpers(names, table=HELPERS):
    """Source of the helpers `names` (and those they call), in dependency order; `table` is
    a printer's HELPERS (NumPy's unless given)."""
    order = []

    def visit(n):
        for d in table[n][1]:
            visit(d)
        if n not in order:
            order.append(n)
    for n in sorted(names):
        visit(n)
    return "\n\n\n".join(table[n][0].rstrip() for n in order)
