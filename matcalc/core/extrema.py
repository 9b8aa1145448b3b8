"""Maxima, minima and the norms beyond Frobenius: max(M, axis), max(M), maximum(A, B), norm(M, ord).

Core (stage 0). The nodes MaxAlong (the largest entry of each column or row), EntryMax (of all
entries) and MaxMask (1 at the first maximum, 0 elsewhere: piecewise constant, the
subgradient's selector), NuclearNorm and SpectralNorm with the matrices their gradients are,
PolarFactor (U Vᵀ of the thin SVD) and TopSingular (u₁ v₁ᵀ); and the constructors the parser
calls. Sugar desugars into primitives here: maximum(A, B) = A + relu(B − A) (so maximum(0, Z)
is relu(Z)), minimum(A, B) = A − relu(A − B), min = −max(−M), the vector 1-norm sum(|x|), the
matrix 1-norm max(sum(|M|, axis=0)) (NumPy's ord=1: the largest column sum).

Subgradients, where the function has a kink, are documented choices: max routes the gradient
to the first maximum (as max-pooling does); maximum(A, B) to A where the entries tie (relu′(0)
is 0). The gradients are proven like any other: max and its masks exactly (the first maximum
is a Piecewise in the entries, verify/extrema.py) and by central differences (random points
have no ties); the nuclear and spectral norms exactly where min(m, n) ≤ 2 (closed forms of
the singular values; the exact proof picks such sizes for named dimensions) and by central
differences at any size (NumPy's SVD), at points where their conditions hold almost surely.
"""
import sympy as sp
from sympy import MatrixExpr

from .errors import ShapeError
from .expr import (CONSTRUCTORS, add, apply, coefficient, entry_sum, is_matrix, neg, norm,
                   sub, sum_axis, trace)
from .nodes import _AxisNode, _ScalarOf

__all__ = ["MaxAlong", "EntryMax", "MaxMask", "NuclearNorm", "SpectralNorm", "PolarFactor",
           "TopSingular", "EXTREMA_NODES", "max_", "min_", "maximum", "minimum", "max_mask",
           "norm_ord"]


class MaxAlong(_AxisNode):
    """max(M, axis): the largest entry of each column (axis 0, a row) or row (axis 1, a
    column)."""

    @property
    def shape(self):
        m, n = self.arg.shape
        return (sp.Integer(1), n) if self.axis == 0 else (m, sp.Integer(1))


class EntryMax(_ScalarOf):
    """max(M): the largest entry of M."""


class MaxMask(MatrixExpr):
    """maxmask(M, axis): 1 at the first maximum of each column (axis 0), each row (axis 1) or
    of all entries (axis None, row-major order as NumPy's argmax), 0 elsewhere. Piecewise
    constant in M: its differential is 0 wherever it is defined (M without ties)."""

    def __new__(cls, arg, axis=None):
        return super().__new__(cls, arg, sp.Integer(-1 if axis is None else axis))

    arg = property(lambda self: self.args[0])
    axis = property(lambda self: None if int(self.args[1]) < 0 else int(self.args[1]))
    shape = property(lambda self: self.arg.shape)


class NuclearNorm(_ScalarOf):
    """norm(M, 'nuc') = ‖M‖_* = Σ σᵢ(M), the sum of the singular values."""
    is_nonnegative = True


class SpectralNorm(_ScalarOf):
    """norm(M, 2) = ‖M‖₂ = σ₁(M), the largest singular value."""
    is_nonnegative = True


class PolarFactor(MatrixExpr):
    """U Vᵀ for the thin SVD M = U Σ Vᵀ: ∂‖M‖_*/∂M. Unique (and ‖M‖_* differentiable) where M
    has full rank min(m, n); then U Vᵀ = M (MᵀM)^(-1/2)."""

    def __new__(cls, arg):
        return super().__new__(cls, arg)

    arg = property(lambda self: self.args[0])
    shape = property(lambda self: self.arg.shape)


class TopSingular(MatrixExpr):
    """u₁ v₁ᵀ for the largest singular value σ₁ of M: ∂‖M‖₂/∂M. Unique (and ‖M‖₂
    differentiable) where σ₁ is simple (σ₁ > σ₂) and positive."""

    def __new__(cls, arg):
        return super().__new__(cls, arg)

    arg = property(lambda self: self.args[0])
    shape = property(lambda self: self.arg.shape)


# The closed node set's share from this module; test_tables.py checks every table covers it.
EXTREMA_NODES = (MaxAlong, EntryMax, MaxMask, NuclearNorm, SpectralNorm, PolarFactor,
                 TopSingular)


def _require_matrix(a, what):
    if not is_matrix(a):
        raise ShapeError(f"{what} needs a matrix or vector, but {{0}} is a scalar", a)


def max_(a, axis=None):
    """max(M): the largest entry; max(M, axis=0) of each column (a row), axis=1 of each row.

    >>> from matcalc.core.expr import matrix
    >>> X = matrix('X', 2, 3)
    >>> max_(X, 1).shape, max_(X)
    ((2, 1), EntryMax(X))
    """
    if not is_matrix(a):
        return a
    if axis is None:
        return trace(a) if a.shape == (1, 1) else EntryMax(a)
    if axis not in (0, 1):
        raise ShapeError(f"max: axis must be 0 (columns) or 1 (rows), not {axis}")
    if a.shape[axis] == 1:              # the maximum of one entry is that entry
        return a
    return MaxAlong(a, axis)


def min_(a, axis=None):
    """min(M[, axis]) = −max(−M[, axis]): the gradient goes to the first minimum."""
    return neg(max_(neg(a), axis))


def max_mask(a, axis=None):
    """maxmask(M, axis): the one-hot selector of max's first maximum (see MaxMask)."""
    return MaxMask(a, axis)


def _is_constant(a):
    return not is_matrix(a) and not sp.sympify(a).free_symbols


def maximum(a, b):
    """maximum(A, B) entrywise = A + relu(B − A) (B − A at most 0: A), written so that a
    constant side is the one outside relu: maximum(0, Z) = maximum(Z, 0) = relu(Z). Where the
    entries tie, the gradient goes to the side outside relu.

    >>> from matcalc.core.expr import matrix
    >>> from matcalc.printing.text import text
    >>> Z = matrix('Z', 2, 3)
    >>> text(maximum(0, Z)), text(maximum(Z, 1))
    ('relu(Z)', 'relu(Z - 1) + 1')
    """
    if not (is_matrix(a) or is_matrix(b)):
        return sp.Max(a, b)
    _same_shape(a, b, "maximum")
    if _is_constant(b) and not _is_constant(a):
        a, b = b, a
    return add(a, apply("relu", sub(b, a)))


def minimum(a, b):
    """minimum(A, B) entrywise = A − relu(A − B), a constant side outside relu:
    minimum(Z, 0) = −relu(−Z)."""
    if not (is_matrix(a) or is_matrix(b)):
        return sp.Min(a, b)
    _same_shape(a, b, "minimum")
    if _is_constant(b) and not _is_constant(a):
        a, b = b, a
    return sub(a, apply("relu", sub(a, b)))


def _same_shape(a, b, what):
    if is_matrix(a) and is_matrix(b) and a.shape != b.shape:
        raise ShapeError(f"cannot take the entrywise {what} of {{0:shape}} and {{1:shape}}: "
                         "the shapes differ", a, b)


def norm_ord(a, ord=None):
    """norm(M, ord) as NumPy's norm: None or 'fro' Frobenius; for a vector 1 (Σ|xᵢ|) and 2
    (Euclidean); for a matrix 1 (the largest column sum of |M|), 2 (the largest singular
    value) and 'nuc' (the sum of the singular values)."""
    if ord not in (None, "fro", 1, 2, "nuc"):
        raise ShapeError(f"norm: the order must be 1, 2, 'fro' or 'nuc', not {ord!r}")
    if ord in (None, "fro") or not is_matrix(a):
        return norm(a)
    vector = 1 in (a.shape[0], a.shape[1])
    if ord == 1:
        return entry_sum(apply("abs", a)) if vector else max_(sum_axis(apply("abs", a), 0))
    if vector and ord == 2:
        return norm(a)
    if vector:
        raise ShapeError("norm(x, 'nuc') needs a matrix, but {0:shape} is a vector; for a "
                         "vector the nuclear norm is norm(x)", a)
    c, core = coefficient(a)
    out = (NuclearNorm if ord == "nuc" else SpectralNorm)(core)
    return sp.Abs(c) * out if c != 1 else out


CONSTRUCTORS.update({
    MaxAlong: lambda a, axis: max_(a, int(axis)),
    EntryMax: max_,
    MaxMask: lambda a, axis: MaxMask(a, None if int(axis) < 0 else int(axis)),
    NuclearNorm: lambda a: norm_ord(a, "nuc"),
    SpectralNorm: lambda a: norm_ord(a, 2),
    PolarFactor: PolarFactor,
    TopSingular: TopSingular,
})
