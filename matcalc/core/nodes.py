"""The node classes of matcalc's expressions, the closed node set, and their canonical order.

Core (stage 0). SymPy's own nodes are used where they exist (MatrixSymbol, MatMul, MatAdd,
Transpose, Inverse, HadamardProduct, Identity, OneMatrix, ZeroMatrix, Trace, Determinant,
DiagMatrix, DiagonalOf); this module adds Elementwise, Softmax, LogSoftmax, LogSumExp,
EntrySum, FrobeniusNorm, LogDet and the differential dX. CamelCase classes stay unevaluated;
the lowercase constructors of expr.py build them. `term_key` and `factor_key` are the canonical
order of the terms of a sum and the factors of an entrywise product, decided by structure.
"""
import sympy as sp
from sympy import (Determinant, HadamardProduct, Identity, Inverse, MatAdd, MatMul,
                   MatrixExpr, MatrixSymbol, OneMatrix, Trace, Transpose, ZeroMatrix)
from sympy.core.sorting import default_sort_key
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf

from .functions import T

__all__ = ["Elementwise", "Softmax", "LogSoftmax", "LogSumExp", "Mean", "EntrySum", "FrobeniusNorm",
           "LogDet", "Differential", "NODES", "LEAVES", "size", "factor_key", "term_key"]


# ---------------------------------------------------------------- nodes SymPy lacks

class Elementwise(MatrixExpr):
    """f(M) applied entry by entry; `body` is f written in the placeholder T."""

    def __new__(cls, body, arg):
        return super().__new__(cls, sp.sympify(body), arg)

    body = property(lambda self: self.args[0])
    arg = property(lambda self: self.args[1])
    shape = property(lambda self: self.args[1].shape)

    def _entry(self, i, j, **kwargs):
        return self.body.xreplace({T: self.arg._entry(i, j, **kwargs)})


class _AxisNode(MatrixExpr):
    """A column-wise (axis 0) or row-wise (axis 1) reduction-based function of M."""

    def __new__(cls, arg, axis=0):
        return super().__new__(cls, arg, sp.Integer(axis))

    arg = property(lambda self: self.args[0])
    axis = property(lambda self: int(self.args[1]))

    def _lse(self, i, j):
        m, n = self.arg.shape
        if self.axis == 0:
            return sp.log(sum(sp.exp(self.arg[k, j]) for k in range(m)))
        return sp.log(sum(sp.exp(self.arg[i, k]) for k in range(n)))


class Softmax(_AxisNode):
    """softmax(M) along an axis: each column (axis 0) or row (axis 1) sums to 1."""
    shape = property(lambda self: self.arg.shape)

    def _entry(self, i, j, **kwargs):
        return sp.exp(self.arg[i, j] - self._lse(i, j))


class LogSoftmax(_AxisNode):
    """log softmax(M) = M − 1 logsumexp(M) along an axis."""
    shape = property(lambda self: self.arg.shape)

    def _entry(self, i, j, **kwargs):
        return self.arg[i, j] - self._lse(i, j)


class LogSumExp(_AxisNode):
    """log Σ exp along an axis: a row vector (axis 0) or a column vector (axis 1)."""

    @property
    def shape(self):
        m, n = self.arg.shape
        return (sp.Integer(1), n) if self.axis == 0 else (m, sp.Integer(1))

    def _entry(self, i, j, **kwargs):
        return self._lse(i, j)


class Mean(_AxisNode):
    """mean(M) along an axis, repeated: each entry of a column (axis 0) is the column's mean
    (1/m 1 1ᵀ M), of a row (axis 1) the row's; a linear map, its own adjoint."""
    shape = property(lambda self: self.arg.shape)

    def _entry(self, i, j, **kwargs):
        m, n = self.arg.shape
        if self.axis == 0:
            return sum(self.arg[k, j] for k in range(m)) / m
        return sum(self.arg[i, k] for k in range(n)) / n


class _ScalarOf(sp.Expr):
    """A scalar function of one matrix."""
    is_commutative = True

    def __new__(cls, arg):
        return super().__new__(cls, arg)

    arg = property(lambda self: self.args[0])


class EntrySum(_ScalarOf):
    """sum(M): the sum of all entries, 1ᵀ M 1."""


class FrobeniusNorm(_ScalarOf):
    """norm(M) = ‖M‖_F = sqrt(tr(MᵀM))."""
    is_nonnegative = True

    def _eval_Abs(self):
        # |‖M‖| = ‖M‖. Without this, SymPy's Abs (and sqrt(‖M‖²)) sign-simplifies the
        # argument into -(A - X): a scalar Mul of a matrix, which no later stage accepts.
        return self


class LogDet(_ScalarOf):
    """logdet(M) = log det M."""


class Differential(MatrixExpr):
    """dX: the differential of the variable X, the shape of X."""

    def __new__(cls, var):
        return super().__new__(cls, var)

    var = property(lambda self: self.args[0])
    shape = property(lambda self: self.args[0].shape)


# With structure.STRUCTURE_NODES (convolution and pooling), the closed set of matrix-valued
# and scalar-of-matrix node classes matcalc builds; the coverage test checks every table
# (differentials, printers, evaluators) against it.
NODES = (MatrixSymbol, MatMul, MatAdd, HadamardProduct, Transpose, Inverse, Identity,
         OneMatrix, ZeroMatrix, DiagMatrix, DiagonalOf, Elementwise, Softmax, LogSoftmax,
         LogSumExp, Mean, Trace, Determinant, LogDet, EntrySum, FrobeniusNorm)
LEAVES = (MatrixSymbol, Identity, OneMatrix, ZeroMatrix)


def size(e):
    """Node count, each symbol and constant matrix counted once."""
    if isinstance(e, (MatrixSymbol, OneMatrix, Identity, ZeroMatrix, sp.Atom)):
        return 1
    return 1 + sum(size(a) for a in e.args)


_CONSTANT = (Identity, OneMatrix, ZeroMatrix)


def factor_key(e):
    """The canonical order of the factors of an entrywise product, by structure: simple
    before compound (Y ⊙ log S), variables before constants of the same size, then SymPy's
    structural sort key."""
    return (size(e), isinstance(e, _CONSTANT), default_sort_key(e))


def reading(e):
    """The names of e's variables as they are read left to right; dX reads as 'dX'."""
    if isinstance(e, MatrixSymbol):
        return (e.name,)
    if isinstance(e, Differential):
        return tuple("d" + n for n in reading(e.var))
    if isinstance(e, Elementwise):
        return reading(e.arg)
    return tuple(n for a in e.args if isinstance(a, MatrixExpr) or isinstance(a, sp.Expr)
                 for n in reading(a))


def term_key(e):
    """The canonical order of the terms of a sum, by structure: terms in more variables
    first (the data term before the penalty, X before the constant 1), then alphabetically
    by the variables as they are read (A X + Aᵀ X, W dA + dW A), then as factor_key."""
    return (-len(e.atoms(MatrixSymbol)), reading(e)) + factor_key(e)
