"""Values of the convolution and pooling nodes, by their index maps: the proof's reference.

Verify (stage 1), beside the data path; needs only matcalc.core. The nodes of
core/structure.py are evaluated here from first principles — which entry of the input lands
where — not from the generated NumPy (printing/numpy.py), so the proof of a kernel does not
trust the kernel's own spelling. The same index maps give the float64 value (NUMERIC) and
the explicit SymPy value (EXPLICIT); a pooling window's first maximum is, explicitly, a
Piecewise in the entries (x_i wins when it is > every earlier entry and ≥ every later one).
"""
import numpy as np
import sympy as sp

from ..core.structure import (AvgPool, Fold, MaxPool, PoolMask, PoolRoute, PoolSelect,
                              PoolSpread, ToChannels, ToSamples, Unfold)

__all__ = ["NUMERIC_WINDOWS", "EXPLICIT_WINDOWS", "patches", "windows"]


def _batch(ev, node, per_sample):
    """N, read off the node's argument: its columns are N·per_sample."""
    return ev.dims(node.arg)[1] // per_sample


def patches(g, N):
    """[(row, col, channel, source column)] of unfold: row (c, i, j), column (n, h', w'),
    source n·H·W + h·W + w in the channel matrix; padded positions are left out."""
    Ho, Wo = g.out
    out = []
    for c in range(g.C):
        for i in range(g.k):
            for j in range(g.k):
                row = (c * g.k + i) * g.k + j
                for n in range(N):
                    for h in range(Ho):
                        for w in range(Wo):
                            y, x = h * g.s + i - g.p, w * g.s + j - g.p
                            if 0 <= y < g.H and 0 <= x < g.W:
                                out.append((row, (n * Ho + h) * Wo + w, c,
                                            (n * g.H + y) * g.W + x))
    return out


def windows(g, N):
    """{output column: [source columns in row-major window order]} of a pooling."""
    Ho, Wo = g.out
    return {(n * Ho + h) * Wo + w: [(n * g.H + h * g.s + i) * g.W + w * g.s + j
                                    for i in range(g.k) for j in range(g.k)]
            for n in range(N) for h in range(Ho) for w in range(Wo)}


def _samples_map(g, N):
    """[(row, col) of the samples matrix, (row, col) of the channel matrix)]."""
    hw = g.H * g.W
    return [((c * hw + q, n), (c, n * hw + q)) for c in range(g.C) for n in range(N)
            for q in range(hw)]


# ---------------------------------------------------------------- the two kinds of values

class _Numeric:
    """float64 arrays."""
    zeros = staticmethod(lambda r, c: np.zeros((r, c)))

    @staticmethod
    def first_max(values):
        """One-hot of the first maximum."""
        hot = np.zeros(len(values))
        hot[int(np.argmax(values))] = 1.0
        return list(hot)


class _Explicit:
    """SymPy matrices of expressions in the entry symbols."""
    zeros = staticmethod(sp.zeros)

    @staticmethod
    def first_max(values):
        hot = []
        for i, x in enumerate(values):
            conds = [x > y for y in values[:i]] + [x >= y for y in values[i + 1:]]
            hot.append(sp.Piecewise((1, sp.And(*conds)), (0, True)) if conds else sp.S.One)
        return hot


def _to_channels(kind):
    def value(ev, e):
        X, g = ev(e.arg), e.geometry
        out = kind.zeros(*ev.dims(e))
        for (r, n), (c, col) in _samples_map(g, ev.dims(e.arg)[1]):
            out[c, col] = X[r, n]
        return out
    return value


def _to_samples(kind):
    def value(ev, e):
        A, g = ev(e.arg), e.geometry
        out = kind.zeros(*ev.dims(e))
        for (r, n), (c, col) in _samples_map(g, ev.dims(e)[1]):
            out[r, n] = A[c, col]
        return out
    return value


def _unfold(kind):
    def value(ev, e):
        A, g = ev(e.arg), e.geometry
        out = kind.zeros(*ev.dims(e))
        for row, col, c, src in patches(g, _batch(ev, e, g.H * g.W)):
            out[row, col] = A[c, src]
        return out
    return value


def _fold(kind):
    def value(ev, e):
        P, g = ev(e.arg), e.geometry
        out = kind.zeros(*ev.dims(e))
        Ho, Wo = g.out
        for row, col, c, src in patches(g, _batch(ev, e, Ho * Wo)):
            out[c, src] += P[row, col]
        return out
    return value


def _pooling(kind, combine):
    """A pooling-shaped node: combine(kind, A (or None), L, window, out, c, col)."""
    def value(ev, e):
        g = e.geometry
        data = ev(e.data) if isinstance(e, (PoolSelect, PoolRoute)) else None
        L = ev(e.arg)
        out = kind.zeros(*ev.dims(e))
        full = isinstance(e, (PoolRoute, PoolSpread, PoolMask))   # output at the input's size
        n = ev.dims(e)[1] // (g.H * g.W if full else g.out[0] * g.out[1])
        for c in range(g.C):
            for col, window in windows(g, n).items():
                combine(kind, data, L, window, out, c, col)
        return out
    return value


def _max(kind, A, L, window, out, c, col):
    hot = kind.first_max([L[c, q] for q in window])
    out[c, col] = sum(h * L[c, q] for h, q in zip(hot, window))


def _avg(kind, A, L, window, out, c, col):
    out[c, col] = sum(L[c, q] for q in window) / len(window)


def _select(kind, A, L, window, out, c, col):
    hot = kind.first_max([A[c, q] for q in window])
    out[c, col] = sum(h * L[c, q] for h, q in zip(hot, window))


def _route(kind, A, G, window, out, c, col):
    hot = kind.first_max([A[c, q] for q in window])
    for h, q in zip(hot, window):
        out[c, q] += h * G[c, col]


def _spread(kind, A, G, window, out, c, col):
    for q in window:
        out[c, q] += G[c, col]


def _mask(kind, A, L, window, out, c, col):
    for h, q in zip(kind.first_max([L[c, q] for q in window]), window):
        out[c, q] = h


def _table(kind):
    return {ToChannels: _to_channels(kind), ToSamples: _to_samples(kind),
            Unfold: _unfold(kind), Fold: _fold(kind),
            MaxPool: _pooling(kind, _max), AvgPool: _pooling(kind, _avg),
            PoolSelect: _pooling(kind, _select), PoolRoute: _pooling(kind, _route),
            PoolSpread: _pooling(kind, _spread), PoolMask: _pooling(kind, _mask)}


NUMERIC_WINDOWS = _table(_Numeric)
EXPLICIT_WINDOWS = _table(_Explicit)
