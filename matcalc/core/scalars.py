"""A scalar variable as the 1×1 matrix it is, and back: the one adapter every stage calls.

Core (stage 0). matcalc differentiates with respect to matrices; a scalar variable s is
differentiated as the 1×1 matrix S with s = tr(S) wherever s stands (`as_matrix_variable`,
`in_matrices`), and the result is read back in s (`read_back`: tr(S) = s, a 1×1 factor of a
larger product its number, a 1×1 result the number it holds). The front doors (grad,
jacobian, hessian) and the proofs (verify/) both go through here, so they agree.
"""
import sympy as sp
from sympy import (Determinant, HadamardProduct, Identity, Inverse, MatAdd, MatMul,
                   MatrixSymbol, OneMatrix, Trace, Transpose, ZeroMatrix)
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf

from .errors import MatcalcError
from .expr import Elementwise, T, matmul, rebuild, trace
from .kron import KroneckerProduct, Unvec, Vec
from .terms import coefficient, factors, is_matrix

__all__ = ["is_scalar_variable", "matrix_variable", "in_matrices", "as_matrix",
           "as_matrix_variable", "entry", "read_back"]


def is_scalar_variable(x):
    return isinstance(x, sp.Symbol) and not isinstance(x, MatrixSymbol)


def matrix_variable(s):
    """S, the 1×1 matrix variable a scalar variable s is; a matrix variable itself."""
    return MatrixSymbol(s.name, 1, 1) if is_scalar_variable(s) else s


def in_matrices(e, into, rebuilt=False):
    """e with each scalar s of `into` ({s: S}) written tr(S): in place (what a proof
    evaluates), or `rebuilt` through the canonical constructors (what the calculus
    differentiates; s may then not stand inside an entrywise function's body)."""
    if not rebuilt:
        return sp.sympify(e).xreplace({s: Trace(m) for s, m in into.items()})
    for s in into:
        if any(s in f.body.free_symbols for f in e.atoms(Elementwise)):
            raise MatcalcError("{0} stands inside an entrywise function's body in {1}; give f "
                               "as text to differentiate with respect to it", s, e)
    return rebuild(e, lambda x: trace(into[x]) if x in into else x)


def as_matrix(e, into=None):
    """A scalar e (a claimed derivative by s) as the 1×1 matrix e·I₁ (0 as zeros(1, 1)), its
    scalars of `into` written tr(S); a matrix is only written in S."""
    e = in_matrices(e, into or {})
    if is_matrix(e):
        return e
    return sp.ZeroMatrix(1, 1) if e == 0 else sp.MatMul(e, sp.Identity(1))


def as_matrix_variable(f, wrt, claimed):
    """(f, X, G) for a proof: a scalar variable s becomes the 1×1 matrix S it is, s = tr(S)
    wherever it stands, and its scalar claim the 1×1 matrix G I₁; anything else unchanged."""
    if not is_scalar_variable(wrt):
        return f, wrt, claimed
    one = matrix_variable(wrt)
    return in_matrices(f, {wrt: one}), one, as_matrix(claimed, {wrt: one})


def _one(m):
    return is_matrix(m) and tuple(m.shape) == (1, 1)


def entry(e, names):
    """The number a 1×1 matrix e holds: s for a variable S of `names` ({S: s}), 1 for I₁,
    products, sums and entrywise functions of entries; tr(e) where it is no simpler."""
    c, m = coefficient(e)
    if m in names:
        return c * names[m]
    if isinstance(m, (Identity, OneMatrix)):
        return c
    if isinstance(m, ZeroMatrix):
        return sp.S.Zero
    if isinstance(m, (MatMul, HadamardProduct, KroneckerProduct)) and all(map(_one, m.args)):
        return c * sp.Mul(*[entry(a, names) for a in m.args])
    if isinstance(m, MatAdd):
        return c * sp.Add(*[entry(a, names) for a in m.args])
    if isinstance(m, Elementwise):
        return c * m.body.xreplace({T: entry(m.arg, names)})
    if isinstance(m, (DiagMatrix, DiagonalOf, Vec, Unvec, Transpose, Determinant)):
        return c * entry(m.args[0], names)
    if isinstance(m, Inverse):
        return c / entry(m.arg, names)
    return c * trace(m)


def read_back(e, names, scalar):
    """e, derived with scalar variables s as the 1×1 matrices S they are (names: {S: s}), read
    back in s: tr(S) = s, a 1×1 factor of a larger product its number (x S = s x), and e itself
    its number where `scalar` (the derivative of a scalar by a scalar)."""
    def rule(m):
        if isinstance(m, Trace) and _one(m.arg):
            return entry(m.arg, names)
        if isinstance(m, MatMul) and not _one(m):
            c, fs = coefficient(m)[0], factors(m)
            if any(map(_one, fs)):
                return matmul(c * sp.Mul(*[entry(f, names) for f in fs if _one(f)]),
                              *[f for f in fs if not _one(f)])
        return m
    out = rebuild(e, rule)
    return sp.sympify(entry(out, names)) if scalar and _one(out) else out
