"""Hessians: second order by differentiating the gradient once more, no second calculus.

Calculus (stage 2). Consumes the gradient G = ∇f of a scalar f (denominator layout, the
shape of X, as the reverse sweep gives it) and X. The Hessian–vector product H[V] =
d/dε ∇f(X + εV) at ε = 0 is G's differential (differential.py) with dX replaced by a
direction V of X's shape; the Hessian matrix ∂²f/∂vec X ∂vec Xᵀ is the Jacobian of G
(jacobian.py): d vec G = H d vec X. Both are simplified like gradients.
"""
import sympy as sp

from ..core.expr import Differential, rebuild
from .budget import check_derivation
from .differential import differential
from .jacobian import jacobian_of
from .simplify import simplify

__all__ = ["hessian_vector_product", "hessian_matrix", "direction"]


def direction(x, taken):
    """A direction V with X's shape (a number for a scalar X), named V (or V1, V2, … where V
    is taken)."""
    names = ("V", *(f"V{i}" for i in range(1, 100)))
    name = next(n for n in names if n not in taken)
    return sp.MatrixSymbol(name, *x.shape) if isinstance(x, sp.MatrixSymbol) else \
        sp.Symbol(name, real=True)


def hessian_vector_product(g, x, v, derivation=None, assumptions=()):
    """H[V]: the differential of the gradient g of f in the direction v.

    >>> from matcalc.core.expr import matrix, matmul, add, transpose
    >>> from matcalc.printing.text import text
    >>> A, X = matrix('A', 'n', 'n'), matrix('X', 'n', 'm')
    >>> V = direction(X, {'A', 'X'})
    >>> text(hessian_vector_product(matmul(add(A, transpose(A)), X), X, V))
    '(A + A.T) @ V'
    """
    check_derivation(g, x)   # its differential holds as many factors as g's adjoints would
    dg = differential(g, [x], derivation)
    hv = rebuild(dg.xreplace({Differential(x): v}))
    return simplify(hv, assumptions=assumptions, derivation=derivation)


def hessian_matrix(g, x, derivation=None, assumptions=()):
    """∂²f/∂vec X ∂vec Xᵀ: the Jacobian of the gradient g (symmetric, so every layout)."""
    return jacobian_of(g, x, derivation, assumptions)
