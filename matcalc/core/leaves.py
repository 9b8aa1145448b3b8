"""The leaves of an expression: variables, dimensions and the constant matrices 1, I, 0.

Core (stage 0). A dimension is a positive integer or a name (a positive integer symbol); a
variable is a MatrixSymbol of its shape, or a real Symbol for a scalar.
"""
import sympy as sp
from sympy import Identity, MatrixSymbol, OneMatrix, ZeroMatrix

from .errors import ShapeError

__all__ = ["dim", "matrix", "vector", "scalar", "ones", "eye", "zeros"]


def dim(d):
    """A dimension: an int, or a name such as 'n', which becomes a positive integer symbol."""
    if isinstance(d, sp.Basic):
        return d
    if isinstance(d, int):
        if d < 1:
            raise ShapeError(f"a dimension must be a positive integer, not {d}")
        return sp.Integer(d)
    if isinstance(d, str) and d.isidentifier():
        return sp.Symbol(d, integer=True, positive=True)
    raise ShapeError(f"a dimension must be a positive integer or a name, not {d!r}")


def matrix(name, rows, cols):
    """A matrix variable: matrix('W', 3, 'n') is W with shape 3×n."""
    return MatrixSymbol(name, dim(rows), dim(cols))


def vector(name, n):
    """A column vector variable of n entries."""
    return MatrixSymbol(name, dim(n), sp.Integer(1))


def scalar(name):
    """A scalar variable."""
    return sp.Symbol(name, real=True)


def ones(m, n):
    """The all-ones matrix 1 of shape m×n (ones(N, 1) is the column 1)."""
    return OneMatrix(dim(m), dim(n))


def eye(n):
    """The n×n identity."""
    return Identity(dim(n))


def zeros(m, n):
    return ZeroMatrix(dim(m), dim(n))
