"""SymPy expression → matcalc expression: what the text parser builds for the same formula.

Stage 1 (parse). Consumes an expression a user built from SymPy's MatrixSymbols; produces the
tree core/expr.py's canonical constructors build (the ones parse/build.py uses), so that a
SymPy input simplifies as the text does: `rebuild` re-canonicalises every node, and the
table below turns SymPy's own spellings into matcalc's: HadamardPower and an
ElementwiseApplyFunction are entrywise functions, MatPow a product or an inverse. SymPy
writes the transpose of a sum as the sum of the transposes, (W x − y)ᵀ as xᵀWᵀ − yᵀ; matcalc
keeps the sum, as it is written, so such a sum is folded back.
"""
import sympy as sp
from sympy import HadamardPower, Identity, MatAdd, MatPow
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from ..core.errors import MatcalcError
from ..core.expr import T, elementwise, inverse, matmul, power, rebuild, transpose
from ..core.transposer import count_transposes, transposed

__all__ = ["from_sympy", "variables"]


MAX_MATRIX_POWER = 100     # A**k is k factors: a product, then a proof, of that length


def _matpow(a, k):
    """A**k for an integer k: A A … A, the identity for k = 0, an inverse for k < 0."""
    if not (k.is_integer and k.is_number) or abs(k) > MAX_MATRIX_POWER:
        raise MatcalcError(f"{{0}} ** {{1}}: matcalc takes integer powers of a matrix up to "
                           f"{MAX_MATRIX_POWER} in size (a product, or the inverse of one)", a, k)
    if k == 0:
        return Identity(a.shape[0])
    prod = matmul(*[a] * int(abs(k)))
    return prod if k > 0 else inverse(prod)


# SymPy class -> the matcalc expression of its (rebuilt) arguments
SPELLINGS = {
    HadamardPower: lambda a, k: power(a, k),
    MatPow: _matpow,
    ElementwiseApplyFunction: lambda f, a: elementwise(f(T), a),
}


def fold_transposed_sum(e):
    """xᵀWᵀ − yᵀ → (W x − y)ᵀ: a sum written with fewer transposes as the transpose of one."""
    if not isinstance(e, MatAdd):
        return e
    flipped = transposed(e, through=(MatAdd,))
    return transpose(flipped) if count_transposes(flipped) + 1 < count_transposes(e) else e


def _rule(e):
    spell = SPELLINGS.get(type(e))
    if spell is not None:
        e = spell(*e.args)
    return fold_transposed_sum(e)


def from_sympy(e):
    """The canonical matcalc expression of a SymPy expression.

    >>> W, x, y = sp.MatrixSymbol('W', 3, 4), sp.MatrixSymbol('x', 4, 1), sp.MatrixSymbol('y', 3, 1)
    >>> (W*x - y).T
    x.T*W.T - y.T
    >>> from_sympy((W*x - y).T)
    (W*x - y).T
    >>> from_sympy(sp.HadamardPower(W, 2))
    Elementwise(_t**2, W)
    """
    return rebuild(e, _rule) if isinstance(e, sp.Basic) else e


def variables(e):
    """{name: symbol} of an expression's variables, for a variable given by name: its matrix
    symbols and its scalar symbols, less the dimensions of a shape (n in X: n×n) and the
    placeholder of an entrywise function's body.

    >>> a, n = sp.Symbol('a'), sp.Symbol('n', integer=True)
    >>> sorted(variables(a * sp.Trace(sp.MatrixSymbol('X', n, n))))
    ['X', 'a']
    """
    dims = set().union(*(d.free_symbols for m in e.atoms(sp.MatrixSymbol) for d in m.shape))
    return {str(s): s for s in e.free_symbols if isinstance(s, sp.MatrixSymbol) or
            isinstance(s, sp.Symbol) and not isinstance(s, sp.Dummy) and s not in dims and s != T}
