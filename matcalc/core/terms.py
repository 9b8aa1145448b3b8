"""A term split into its scalar coefficient and its matrix factors, and built back: the one
split every stage uses (the constructors, the calculus, the printers, codegen).

Core (stage 0). Consumes any expression; a product's scalars are its coefficient (2*lam in
2*lam*W @ X), its matrices its factors; anything else is a coefficient of 1 and itself.
"""
import sympy as sp
from sympy import MatMul, MatrixExpr

__all__ = ["is_matrix", "shape", "split_term", "coefficient", "factors", "scaled_term"]


def is_matrix(e):
    return isinstance(e, MatrixExpr)


def shape(e):
    """The shape of a matrix, or (1, 1) for a scalar."""
    return e.shape if is_matrix(e) else (sp.Integer(1), sp.Integer(1))


def split_term(e):
    """(scalar coefficient, matrix factors) of a term: 2*lam*W @ X -> (2*lam, (W, X)).

    >>> W, X = sp.MatrixSymbol('W', 2, 3), sp.MatrixSymbol('X', 3, 4)
    >>> split_term(2 * sp.Symbol('lam') * W * X)
    (2*lam, (W, X))
    """
    if isinstance(e, MatMul):
        return (sp.Mul(*[a for a in e.args if not is_matrix(a)]),
                tuple(a for a in e.args if is_matrix(a)))
    return sp.S.One, (e,)


def coefficient(e):
    """(scalar coefficient, matrix core) of a term: 2*lam*W -> (2*lam, W)."""
    c, mats = split_term(e)
    return c, (mats[0] if len(mats) == 1 else MatMul(*mats))


def factors(e):
    """The matrix factors of a product, [e] for anything else."""
    c, core = coefficient(e)
    return list(core.args) if isinstance(core, MatMul) else [core]


def scaled_term(c, factors):
    """The term c·factors rebuilt, unevaluated (as printers and codegen print it)."""
    if not factors:
        return c
    if c == 1 and len(factors) == 1:
        return factors[0]
    return MatMul(*factors) if c == 1 else MatMul(c, *factors)
