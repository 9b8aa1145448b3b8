"""Structured linear maps and pooling: the nodes convolutional networks are made of.

Core (stage 0). A batch of N images with C channels of H×W is a channel matrix
C × (N·H·W), column n·H·W + h·W + w (NumPy: reshape (C, N, H, W)); the data X a trainer
feeds is samples as columns, (C·H·W) × N. Geometry is concrete (ints in the node), only the
batch N is a symbol. Convolution is a matrix product with the patches matrix: conv(W, A) =
W unfold(A), so its δ, fold(Wᵀ δ), comes from the adjoint table like any other. Each node
checks its argument against its geometry; the constructors below name the layer and the
numbers when they do not fit (the output-size formula H' = (H − k + 2p)/s + 1).
"""
from dataclasses import dataclass

import sympy as sp
from sympy import MatrixExpr, ZeroMatrix

from .errors import ShapeError
from .expr import CONSTRUCTORS, coefficient, matmul

__all__ = ["Conv", "Pool", "ToChannels", "ToSamples", "Unfold", "Fold", "MaxPool", "AvgPool",
           "PoolSelect", "PoolRoute", "PoolSpread", "PoolMask", "STRUCTURE_NODES",
           "to_channels", "to_samples", "unfold", "fold", "maxpool", "avgpool", "pool_select",
           "pool_route", "pool_spread", "pool_mask", "conv_geometry", "pool_geometry"]


# ---------------------------------------------------------------- geometry

@dataclass(frozen=True)
class Conv:
    """A k×k window sliding with stride s over C×H×W maps zero-padded by p."""
    C: int
    H: int
    W: int
    k: int
    s: int = 1
    p: int = 0

    @property
    def out(self):
        """(H', W') = ((H − k + 2p)/s + 1, (W − k + 2p)/s + 1)."""
        return ((self.H - self.k + 2 * self.p) // self.s + 1,
                (self.W - self.k + 2 * self.p) // self.s + 1)

    def as_tuple(self):
        return (self.C, self.H, self.W, self.k, self.s, self.p)


@dataclass(frozen=True)
class Pool:
    """A k×k pooling window with stride s over C×H×W maps (no padding)."""
    C: int
    H: int
    W: int
    k: int
    s: int

    @property
    def out(self):
        return ((self.H - self.k) // self.s + 1, (self.W - self.k) // self.s + 1)

    @property
    def window(self):
        return Conv(self.C, self.H, self.W, self.k, self.s, 0)

    def as_tuple(self):
        return (self.C, self.H, self.W, self.k, self.s)


def _positive(name, value, layer):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ShapeError(f"{layer}: {name} must be a positive integer, not {value!r}")


def conv_geometry(C, H, W, k, s=1, p=0, layer="conv"):
    """The checked geometry of a convolution (or of the windows of a pooling)."""
    for name, v in (("channels", C), ("height", H), ("width", W), ("kernel", k),
                    ("stride", s)):
        _positive(name, v, layer)
    if isinstance(p, bool) or not isinstance(p, int) or p < 0:
        raise ShapeError(f"{layer}: padding must be an integer ≥ 0, not {p!r}")
    for side, letter, n in (("height", "H", H), ("width", "W", W)):
        if k > n + 2 * p:
            raise ShapeError(f"{layer}: the kernel {k}×{k} is larger than the padded input "
                             f"{side} {n} + 2·{p} = {n + 2 * p}")
        if (n - k + 2 * p) % s:
            raise ShapeError(f"{layer}: the output {side} ({letter} − k + 2p)/s + 1 = "
                             f"({n} − {k} + 2·{p})/{s} + 1 = "
                             f"{sp.Rational(n - k + 2 * p, s) + 1} is not an integer")
    return Conv(C, H, W, k, s, p)


def pool_geometry(C, H, W, k, s=None, layer="pool"):
    """The checked geometry of a k×k pooling with stride s (k by default) that tiles the map."""
    s = k if s is None else s
    for name, v in (("channels", C), ("height", H), ("width", W), ("window", k),
                    ("stride", s)):
        _positive(name, v, layer)
    for side, n in (("height", H), ("width", W)):
        if k > n:
            raise ShapeError(f"{layer}: the window {k}×{k} is larger than the map {side} {n}")
        if (n - k) % s:
            raise ShapeError(f"{layer}: a {k}×{k} window with stride {s} does not tile the "
                             f"map {side} {n}: ({n} − {k})/{s} + 1 = "
                             f"{sp.Rational(n - k, s) + 1} is not an integer")
    return Pool(C, H, W, k, s)


# ---------------------------------------------------------------- nodes

class _Structured(MatrixExpr):
    """A node over one matrix argument (or two, the first being data) with a fixed geometry."""
    GEOMETRY = Conv

    def __new__(cls, *args):
        *mats, geometry = args
        g = geometry if isinstance(geometry, sp.Tuple) else sp.Tuple(*geometry.as_tuple())
        return super().__new__(cls, *mats, g)

    arg = property(lambda self: self.args[-2])
    geometry = property(lambda self: self.GEOMETRY(*(int(v) for v in self.args[-1])))

    def _batch_cols(self, per_sample):
        """The columns of the result when each sample takes `per_sample` of them."""
        g = self.geometry
        return self.arg.shape[1] / (g.H * g.W) * per_sample


class ToChannels(_Structured):
    """(C·H·W) × N samples as columns → the channel matrix C × (N·H·W)."""

    @property
    def shape(self):
        g = self.geometry
        return (sp.Integer(g.C), self.arg.shape[1] * g.H * g.W)


class ToSamples(_Structured):
    """The channel matrix C × (N·H·W) → (C·H·W) × N samples as columns (flatten)."""

    @property
    def shape(self):
        g = self.geometry
        return (sp.Integer(g.C * g.H * g.W), self.arg.shape[1] / (g.H * g.W))


class Unfold(_Structured):
    """im2col: C × (N·H·W) → (C·k·k) × (N·H'·W'), each column one patch (rows c, i, j)."""

    @property
    def shape(self):
        g = self.geometry
        h, w = g.out
        return (sp.Integer(g.C * g.k * g.k), self._batch_cols(h * w))


class Fold(_Structured):
    """col2im, the adjoint of Unfold: (C·k·k) × (N·H'·W') → C × (N·H·W), patches summed back."""

    @property
    def shape(self):
        g = self.geometry
        h, w = g.out
        return (sp.Integer(g.C), self.arg.shape[1] / (h * w) * g.H * g.W)


class _PoolNode(_Structured):
    GEOMETRY = Pool


class MaxPool(_PoolNode):
    """The maximum of each k×k window: C × (N·H·W) → C × (N·H''·W'')."""

    @property
    def shape(self):
        h, w = self.geometry.out
        return (self.arg.shape[0], self._batch_cols(h * w))


class AvgPool(MaxPool):
    """The mean of each k×k window: C × (N·H·W) → C × (N·H''·W'')."""


class PoolSelect(_PoolNode):
    """PoolSelect(A, L): L at the first maximum of each window of A (d maxpool(A) = this of dA)."""
    data = property(lambda self: self.args[0])
    shape = property(lambda self: MaxPool(self.arg, self.args[-1]).shape)


class PoolRoute(_PoolNode):
    """PoolRoute(A, G), the adjoint of PoolSelect(A, ·): G sent back to the first maximum of
    each window of A (summed where windows overlap): C × (N·H''·W'') → C × (N·H·W)."""
    data = property(lambda self: self.args[0])
    shape = property(lambda self: self.data.shape)


class PoolSpread(_PoolNode):
    """Each window's value copied over the window (summed where windows overlap), the adjoint
    of the window sums: C × (N·H''·W'') → C × (N·H·W); upsampling when the stride is k."""

    @property
    def shape(self):
        g = self.geometry
        h, w = g.out
        return (self.arg.shape[0], self.arg.shape[1] / (h * w) * g.H * g.W)


class PoolMask(_PoolNode):
    """1 at the first maximum of each window of A, 0 elsewhere (stride k: windows tile A)."""
    shape = property(lambda self: self.arg.shape)


STRUCTURE_NODES = (ToChannels, ToSamples, Unfold, Fold, MaxPool, AvgPool, PoolSelect,
                   PoolRoute, PoolSpread, PoolMask)


# ---------------------------------------------------------------- constructors

def _channels(a, g, layer):
    """Check that a is a channel matrix C × (N·H·W) of the geometry."""
    rows, cols = a.shape
    if rows != g.C:
        raise ShapeError(f"{layer}: the input has {rows} channels, but the layer expects "
                         f"{g.C}")
    if sp.Mod(cols, g.H * g.W) != 0:
        raise ShapeError(f"{layer}: the input has {cols} columns, not N·{g.H}·{g.W} "
                         f"(N samples of {g.H}×{g.W} maps)")


def _linear(cls, lin, g, *data):
    """cls(data…, c·M, g) = c·cls(data…, M, g): scalars leave a linear map, zero stays zero."""
    c, core = coefficient(lin)
    if isinstance(core, ZeroMatrix) or c == 0:
        return ZeroMatrix(*cls(*data, core, g).shape)
    return matmul(c, cls(*data, core, g))


def to_channels(x, g, layer="input"):
    """Samples as columns (C·H·W) × N → the channel matrix C × (N·H·W)."""
    if x.shape[0] != g.C * g.H * g.W:
        raise ShapeError(f"{layer}: X has {x.shape[0]} rows, but {g.C}×{g.H}×{g.W} images "
                         f"have {g.C * g.H * g.W} values")
    g = Conv(g.C, g.H, g.W, 1)               # only the maps' sizes matter: one spelling
    c, core = coefficient(x)
    if isinstance(core, ToSamples) and core.geometry == g:
        return matmul(c, core.arg)           # channels(flatten(A)) = A
    return _linear(ToChannels, x, g)


def to_samples(a, g, layer="flatten"):
    """The channel matrix → samples as columns (the flatten before a dense layer)."""
    _channels(a, g, layer)
    g = Conv(g.C, g.H, g.W, 1)
    c, core = coefficient(a)
    if isinstance(core, ToChannels) and core.geometry == g:
        return matmul(c, core.arg)           # flatten(channels(X)) = X
    return _linear(ToSamples, a, g)


def unfold(a, g, layer="conv"):
    _channels(a, g, layer)
    return _linear(Unfold, a, g)


def fold(p, g):
    return _linear(Fold, p, g)


def maxpool(a, g, layer="maxpool"):
    _channels(a, g, layer)
    return MaxPool(a, g)


def avgpool(a, g, layer="avgpool"):
    _channels(a, g, layer)
    return _linear(AvgPool, a, g)


def pool_select(a, lin, g):
    return _linear(PoolSelect, lin, g, a)


def pool_route(a, grad, g):
    return _linear(PoolRoute, grad, g, a)


def pool_spread(grad, g):
    return _linear(PoolSpread, grad, g)


def pool_mask(a, g):
    return PoolMask(a, g)


# Node class -> its constructor from the node's args, so that expr.rebuild re-canonicalises
# these nodes as it does SymPy's (registered in expr's table: expr cannot import this module).
CONSTRUCTORS.update({
    ToChannels: lambda x, g: to_channels(x, _geometry(ToChannels, g)),
    ToSamples: lambda a, g: to_samples(a, _geometry(ToSamples, g)),
    Unfold: lambda a, g: unfold(a, _geometry(Unfold, g)),
    Fold: lambda a, g: fold(a, _geometry(Fold, g)),
    MaxPool: lambda a, g: maxpool(a, _geometry(MaxPool, g)),
    AvgPool: lambda a, g: avgpool(a, _geometry(AvgPool, g)),
    PoolSelect: lambda a, lin, g: pool_select(a, lin, _geometry(PoolSelect, g)),
    PoolRoute: lambda a, grad, g: pool_route(a, grad, _geometry(PoolRoute, g)),
    PoolSpread: lambda a, g: pool_spread(a, _geometry(PoolSpread, g)),
    PoolMask: lambda a, g: pool_mask(a, _geometry(PoolMask, g)),
})


def _geometry(cls, g):
    return cls.GEOMETRY(*(int(v) for v in g))
