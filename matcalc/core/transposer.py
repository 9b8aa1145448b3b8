"""Transposition pushed down a tree: the one table of how a node is written transposed.

Core (stage 0). `transpose` (expr.py) is the canonical constructor: it writes (AB)ᵀ = BᵀAᵀ,
(A ⊙ B)ᵀ = Aᵀ ⊙ Bᵀ, (A ⊗ B)ᵀ = Aᵀ ⊗ Bᵀ and the symmetric constants at once, and leaves a
Transpose node over the rest. `transposed(e)` goes further, by the table TRANSPOSES: into
sums, inverses, entrywise functions, softmax (along the other axis), commutation matrices,
and through the scalars that equal their transpose's (sum, norm, tr, det, logdet), so that
transposes sit at the leaves. A caller that wants less names the node kinds to go through
(`through`); everything else is transposed by the constructor, unopened. Consumed by the
samples-as-rows network (nn/layout.py), the simplifier's symmetry test, the layouts of
results (calculus/jacobian.py) and SymPy input (parse/sympy_input.py).
"""
import sympy as sp
from sympy import (Determinant, HadamardProduct, Identity, Inverse, MatAdd, MatMul,
                   MatrixSymbol, OneMatrix, Trace, Transpose, ZeroMatrix)

from .dispatch import Table
from .errors import NoRuleError
from .expr import (add, elementwise, entry_sum, hadamard, inverse, matmul, norm, trace,
                   transpose)
from .kron import Commutation, commutation
from .nodes import (Elementwise, EntrySum, FrobeniusNorm, LogDet, LogSoftmax, LogSumExp,
                    Mean, Softmax, size)

__all__ = ["TRANSPOSES", "transposed", "count_transposes"]


def count_transposes(e):
    """How many Transpose nodes e has (the measure of which form reads simpler)."""
    return sum(isinstance(n, Transpose) for n in sp.preorder_traversal(e))


def _invariant(build):
    """sum, norm, tr, det, logdet of M equal those of Mᵀ: keep whichever reads simpler."""
    def rule(e, t, go):
        a, b = go(e.args[0], False), go(e.args[0], True)
        return build(b if (count_transposes(b), size(b)) < (count_transposes(a), size(a))
                     else a)
    return rule


def _axis(cls):
    """softmax(Z) along axis a, transposed, is softmax(Zᵀ) along the other axis."""
    return lambda e, t, go: cls(go(e.arg, t), e.axis ^ t)


def _scalar(e, t, go):
    """Scalar algebra (L = λ/2 Σ‖W‖² − …): its matrix-valued parts are transposed inside."""
    if e.is_Matrix:
        raise NoRuleError(f"no rule to transpose {type(e).__name__}; add an entry to "
                          "TRANSPOSES in core/transposer.py")
    return e.func(*[go(a, False) for a in e.args]) if e.args else e


# Node class -> (e, t, go) -> e (t false) or eᵀ (t true) with the transposes at the leaves;
# go(child, t) transposes a child the same way.
TRANSPOSES = Table("rule to transpose", "TRANSPOSES in core/transposer.py", {
    MatMul: lambda e, t, go: matmul(*[go(a, t) for a in (reversed(e.args) if t else e.args)]),
    MatAdd: lambda e, t, go: add(*[go(a, t) for a in e.args]),
    HadamardProduct: lambda e, t, go: hadamard(*[go(a, t) for a in e.args]),
    Elementwise: lambda e, t, go: elementwise(e.body, go(e.arg, t)),
    Transpose: lambda e, t, go: go(e.arg, not t),
    Inverse: lambda e, t, go: inverse(go(e.arg, t)),
    Softmax: _axis(Softmax),
    LogSoftmax: _axis(LogSoftmax),
    LogSumExp: _axis(LogSumExp),
    Mean: _axis(Mean),
    Commutation: lambda e, t, go: commutation(e.n, e.m) if t else e,     # K_{m,n}ᵀ = K_{n,m}
    Identity: lambda e, t, go: e,
    OneMatrix: lambda e, t, go: OneMatrix(*(reversed(e.shape) if t else e.shape)),
    ZeroMatrix: lambda e, t, go: ZeroMatrix(*(reversed(e.shape) if t else e.shape)),
    MatrixSymbol: lambda e, t, go: transpose(e) if t else e,
    EntrySum: _invariant(entry_sum),
    FrobeniusNorm: _invariant(norm),
    Trace: _invariant(trace),
    Determinant: _invariant(Determinant),
    LogDet: _invariant(LogDet),
    sp.Expr: _scalar,
})


def transposed(e, subs=None, t=True, through=None):
    """eᵀ (or e when t is false) after the substitution `subs` of leaves, transposes pushed to
    the leaves: (W X + b 1ᵀ)ᵀ = Xᵀ Wᵀ + 1 bᵀ, softmax(Z)ᵀ = softmax(Zᵀ) along the other axis.
    Every node needs an entry in TRANSPOSES (NoRuleError); with `through` (a tuple of node
    classes) only those are gone into, and any other node M is left as transpose(M).

    >>> from matcalc.core.expr import matrix, matmul, add, ones, inverse
    >>> from matcalc.printing.text import text
    >>> W, X, b = matrix('W', 3, 4), matrix('X', 4, 'N'), matrix('b', 3, 1)
    >>> text(transposed(add(matmul(W, X), matmul(b, ones(1, 'N')))))
    'X.T @ W.T + ones(N, 1) @ b.T'
    >>> A = matrix('A', 3, 3)
    >>> e = add(A, inverse(A))
    >>> text(transposed(e)), text(transposed(e, through=(MatAdd,)))
    ('A.T + inv(A.T)', 'A.T + inv(A).T')
    """
    subs = subs or {}

    def go(x, flip):
        if x in subs:
            x = subs[x]
        if through is not None and not isinstance(x, through):
            return transpose(x) if flip else x
        return TRANSPOSES.rule(x)(x, flip, go)
    return go(e, t)
