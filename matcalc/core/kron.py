"""Vectorisation: vec, its inverse unvec, the Kronecker product and the commutation matrix.

Core (stage 0). The nodes a Jacobian is written with: d vec F = J d vec X, with
vec(A X B) = (Bᵀ ⊗ A) vec X (Cookbook 520) and vec(Xᵀ) = K vec X. vec stacks the columns
(column-major, as NumPy's order="F"); unvec(v, m) undoes it into m rows; kron(A, B) is SymPy's
KroneckerProduct; commutation(m, n) is K_{m,n}, the (mn)×(mn) permutation with
K vec(A) = vec(Aᵀ) for an m×n A. The constructors canonicalise (coefficients out, vec of a
column is itself, kron with a 1×1 factor is a scaling, K_{m,1} = I) and are registered in
expr.CONSTRUCTORS so that `rebuild` re-canonicalises them as it does every other node.
"""
import sympy as sp
from sympy import Identity, MatAdd, MatrixExpr, OneMatrix, ZeroMatrix
from sympy.matrices.expressions.kronecker import KroneckerProduct

from .errors import ShapeError
from .expr import CONSTRUCTORS, add, coefficient, dim, is_matrix, matmul, trace, transpose

__all__ = ["Vec", "Unvec", "Commutation", "KroneckerProduct", "KRON_NODES", "vec", "unvec",
           "kron", "commutation", "kron_permutation"]


class Vec(MatrixExpr):
    """vec(A): the columns of A stacked into one column, (m·n)×1."""

    def __new__(cls, arg):
        return super().__new__(cls, arg)

    arg = property(lambda self: self.args[0])

    @property
    def shape(self):
        m, n = self.arg.shape
        return (m * n, sp.Integer(1))

    def _entry(self, i, j, **kwargs):
        m = self.arg.shape[0]
        return self.arg[i % m, i // m]


class Unvec(MatrixExpr):
    """unvec(v, m): the column v of m·n entries cut into n columns of m, vec's inverse."""

    def __new__(cls, arg, rows):
        return super().__new__(cls, arg, sp.sympify(rows))

    arg = property(lambda self: self.args[0])
    rows = property(lambda self: self.args[1])

    @property
    def shape(self):
        return (self.rows, self.arg.shape[0] / self.rows)

    def _entry(self, i, j, **kwargs):
        return self.arg[i + j * self.rows, 0]


class Commutation(MatrixExpr):
    """K_{m,n}: the (m·n)×(m·n) permutation with K vec(A) = vec(Aᵀ) for A m×n."""

    def __new__(cls, m, n):
        return super().__new__(cls, sp.sympify(m), sp.sympify(n))

    m = property(lambda self: self.args[0])
    n = property(lambda self: self.args[1])

    @property
    def shape(self):
        return (self.m * self.n, self.m * self.n)

    def _entry(self, i, j, **kwargs):
        # row r = a·n + b holds vec(Aᵀ)'s entry A[a, b], which is vec(A)'s entry a + b·m
        return sp.S.One if j == i // self.n + (i % self.n) * self.m else sp.S.Zero


# With nodes.NODES and structure.STRUCTURE_NODES, the closed node set (tests/test_tables.py).
KRON_NODES = (Vec, Unvec, Commutation, KroneckerProduct)


def _require_matrix(e, what):
    if not is_matrix(e):
        raise ShapeError(f"{what} needs a matrix or vector, but {{0}} is a scalar", e)


def vec(a):
    """vec(A), the columns stacked; vec(c A + B) = c vec(A) + vec(B), vec(v) = v.

    >>> from matcalc.core.expr import matrix, vector
    >>> vec(matrix('X', 2, 3)).shape, vec(vector('x', 3)).shape
    ((6, 1), (3, 1))
    """
    _require_matrix(a, "vec")
    c, core = coefficient(a)
    m, n = core.shape
    if isinstance(core, ZeroMatrix) or c == 0:
        return ZeroMatrix(m * n, 1)
    if n == 1:
        return a
    if m == 1:
        return transpose(a)                  # a row: its transpose is its vec
    if isinstance(core, MatAdd):
        return matmul(c, add(*[vec(t) for t in core.args]))
    if isinstance(core, OneMatrix):
        return matmul(c, OneMatrix(m * n, 1))
    if isinstance(core, Unvec):
        return matmul(c, core.arg)
    return matmul(c, Vec(core))


def unvec(v, rows):
    """The m×n matrix whose vec is v ((m·n)×1); `rows` is m."""
    _require_matrix(v, "unvec")
    rows = dim(rows)
    if v.shape[1] != 1:
        raise ShapeError("unvec needs a column vector, but {0:shape} is not one", v)
    cols = v.shape[0] / rows
    if cols.is_integer is False or cols.is_Rational and not cols.is_integer:
        raise ShapeError(f"unvec: {{0:dims}} does not cut into columns of {rows}", v)
    c, core = coefficient(v)
    if isinstance(core, ZeroMatrix) or c == 0:
        return ZeroMatrix(rows, cols)
    if rows == v.shape[0]:
        return v
    if rows == 1:
        return transpose(v)
    if isinstance(core, Vec) and core.arg.shape[0] == rows:
        return matmul(c, core.arg)
    if isinstance(core, MatAdd):   # unvec(vec X + v) = X + unvec(v); the rest stays one unvec
        out = [t for t in core.args if _vec_of_rows(t, rows)]
        rest = [t for t in core.args if not _vec_of_rows(t, rows)]
        if out:
            return matmul(c, add(*[unvec(t, rows) for t in out],
                                 *([unvec(add(*rest), rows)] if rest else [])))
    return matmul(c, Unvec(core, rows))


def _vec_of_rows(t, rows):
    """t is c vec(X) for an X with `rows` rows"""
    core = coefficient(t)[1]
    return isinstance(core, Vec) and core.arg.shape[0] == rows


def kron(a, b):
    """A ⊗ B, the block matrix [a_ij B]; scalars and 1×1 factors scale, I ⊗ I = I.

    >>> from matcalc.core.expr import matrix, eye
    >>> kron(eye(3), matrix('A', 2, 2)).shape
    (6, 6)
    >>> kron(eye(1), matrix('A', 2, 2))
    A
    """
    _require_matrix(a, "kron")
    _require_matrix(b, "kron")
    ca, a = coefficient(a)
    cb, b = coefficient(b)
    c = ca * cb
    shape = (a.shape[0] * b.shape[0], a.shape[1] * b.shape[1])
    if c == 0 or isinstance(a, ZeroMatrix) or isinstance(b, ZeroMatrix):
        return ZeroMatrix(*shape)
    if a.shape == (1, 1):
        return matmul(c, _entry_of(a), b)
    if b.shape == (1, 1):
        return matmul(c, _entry_of(b), a)
    if isinstance(a, Identity) and isinstance(b, Identity):
        return matmul(c, Identity(shape[0]))
    if isinstance(a, OneMatrix) and isinstance(b, OneMatrix):
        return matmul(c, OneMatrix(*shape))
    if a.shape[1] == 1 and b.shape[0] == 1:
        return matmul(c, a, b)               # a ⊗ bᵀ = a bᵀ
    if a.shape[0] == 1 and b.shape[1] == 1:
        return matmul(c, b, a)               # aᵀ ⊗ b = b aᵀ
    return matmul(c, KroneckerProduct(a, b, check=False))


def _entry_of(a):
    """The scalar a 1×1 matrix holds."""
    return sp.S.One if isinstance(a, (Identity, OneMatrix)) else trace(a)


def commutation(m, n):
    """K_{m,n}; K_{m,1} = K_{1,n} = I."""
    m, n = dim(m), dim(n)
    if m == 1 or n == 1:
        return Identity(m * n)
    return Commutation(m, n)


def kron_permutation(a, b):
    """P with vec(A ⊗ B) = P (vec A ⊗ vec B) for A m×n, B p×q: P = I_n ⊗ K_{q,m} ⊗ I_p
    (Magnus & Neudecker, Theorem 3.10). The differential of a Kronecker product, vec'd, goes
    through it: vec(dA ⊗ B) = P (I ⊗ vec B) vec dA, vec(A ⊗ dB) = P (vec A ⊗ I) vec dB."""
    (m, n), (p, q) = a.shape, b.shape
    return kron(kron(Identity(n), commutation(q, m)), Identity(p))


CONSTRUCTORS.update({
    Vec: vec,
    Unvec: unvec,
    KroneckerProduct: kron,
    Commutation: commutation,
})
