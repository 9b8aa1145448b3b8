"""Samples as rows: the columns network transposed, the one mechanism behind `layout="rows"`.

Networks (stage 3). Consumes a Network whose samples are the columns of X; produces the same
network for X with samples as rows: every name that holds samples or weights (X, Y, W_l,
Z_l, A_l, S) is replaced by its transpose (X_rows = Xᵀ, so Z1 = W1 X + b1 1ᵀ becomes
Z1 = X W1 + 1 b1ᵀ), biases stay columns, softmax turns to the other axis, and the targets'
assumption turns from columns to rows. The backward pass is then derived on this program like
any other; nothing else in matcalc knows about the layout.
"""
from dataclasses import replace

import sympy as sp
from sympy import (Determinant, HadamardProduct, Identity, Inverse, MatAdd, MatMul,
                   MatrixSymbol, OneMatrix, Trace, Transpose, ZeroMatrix)

from ..calculus.simplify import ColumnsSumToOne, RowsSumToOne
from ..core.dispatch import Table
from ..core.errors import NoRuleError
from ..core.expr import (add, elementwise, entry_sum, hadamard, inverse, matmul, norm, trace,
                         transpose)
from ..core.nodes import (Elementwise, EntrySum, FrobeniusNorm, LogDet, LogSoftmax, LogSumExp,
                          Softmax, size)
from ..core.program import Assignment, Program

# Assumptions on Y that read differently once Y is transposed.
ROW_RULES = {ColumnsSumToOne: RowsSumToOne}


def _count_transposes(e):
    return sum(isinstance(n, Transpose) for n in sp.preorder_traversal(e))


def _invariant(build):
    """sum, norm, tr, det, logdet of M equal those of Mᵀ: keep whichever reads simpler."""
    def rule(e, t, go):
        a, b = go(e.args[0], False), go(e.args[0], True)
        return build(b if (_count_transposes(b), size(b)) < (_count_transposes(a), size(a))
                     else a)
    return rule


def _axis(cls):
    """softmax(Z) along axis a, transposed, is softmax(Zᵀ) along the other axis."""
    return lambda e, t, go: cls(go(e.arg, t), e.axis ^ t)


# Node class -> (e, t, go) -> e (t false) or eᵀ (t true) with the transposes at the leaves;
# go(child, t) transposes a child the same way.
TRANSPOSE_DOWN = Table("rule to transpose", "TRANSPOSE_DOWN in nn/layout.py", {
    MatMul: lambda e, t, go: matmul(*[go(a, t) for a in (reversed(e.args) if t else e.args)]),
    MatAdd: lambda e, t, go: add(*[go(a, t) for a in e.args]),
    HadamardProduct: lambda e, t, go: hadamard(*[go(a, t) for a in e.args]),
    Elementwise: lambda e, t, go: elementwise(e.body, go(e.arg, t)),
    Transpose: lambda e, t, go: go(e.arg, not t),
    Inverse: lambda e, t, go: inverse(go(e.arg, t)),
    Softmax: _axis(Softmax),
    LogSoftmax: _axis(LogSoftmax),
    LogSumExp: _axis(LogSumExp),
    Identity: lambda e, t, go: e,
    OneMatrix: lambda e, t, go: OneMatrix(*(reversed(e.shape) if t else e.shape)),
    ZeroMatrix: lambda e, t, go: ZeroMatrix(*(reversed(e.shape) if t else e.shape)),
    MatrixSymbol: lambda e, t, go: transpose(e) if t else e,
    EntrySum: _invariant(entry_sum),
    FrobeniusNorm: _invariant(norm),
    Trace: _invariant(trace),
    Determinant: _invariant(Determinant),
    LogDet: _invariant(LogDet),
    sp.Expr: lambda e, t, go: _scalar(e, t, go),
})


def _scalar(e, t, go):
    """Scalar algebra (L = λ/2 Σ‖W‖² − …): its matrix-valued parts are transposed inside."""
    if e.is_Matrix:
        raise NoRuleError(f"no rule to transpose {type(e).__name__}; add an entry to "
                          "TRANSPOSE_DOWN in nn/layout.py")
    return e.func(*[go(a, False) for a in e.args]) if e.args else e


def transposed(e, subs, t=True):
    """eᵀ (or e when t is false) after the substitution `subs` of leaves, transposes pushed to
    the leaves: (W X + b 1ᵀ)ᵀ = Xᵀ Wᵀ + 1 bᵀ, softmax(Z)ᵀ = softmax(Zᵀ) along the other axis.

    >>> from matcalc.core.expr import matrix, matmul, add, ones
    >>> from matcalc.printing.text import text
    >>> W, X, b = matrix('W', 3, 4), matrix('X', 4, 'N'), matrix('b', 3, 1)
    >>> text(transposed(add(matmul(W, X), matmul(b, ones(1, 'N'))), {}))
    'X.T @ W.T + ones(N, 1) @ b.T'
    """
    def go(x, flip):
        if x in subs:
            x = subs[x]
        return TRANSPOSE_DOWN.rule(x)(x, flip, go)
    return go(e, t)


def to_rows(net):
    """The Network with samples as rows (see the module docstring)."""
    biases = {p.symbol for p in net.params if p.kind == "bias"}
    rows = {}          # columns symbol -> its rows symbol, the transpose
    for m in [net.X, net.Y] + [p.symbol for p in net.params] + \
            [a.name for a in net.forward] + list(net.deltas.values()):
        if isinstance(m, MatrixSymbol) and m not in biases:
            rows[m] = MatrixSymbol(m.name, m.shape[1], m.shape[0])
    subs = {m: Transpose(r) for m, r in rows.items()}
    forward = Program(tuple(
        Assignment(rows.get(a.name, a.name), transposed(a.expr, subs, a.name in rows))
        for a in net.forward))
    params = tuple(replace(p, symbol=rows.get(p.symbol, p.symbol)) for p in net.params)
    deltas = {rows.get(z, z): rows.get(d, d) for z, d in net.deltas.items()}
    assumptions = tuple(ROW_RULES[type(a)](rows[a.var]) for a in net.assumptions)
    return replace(net, forward=forward, X=rows[net.X], Y=rows[net.Y], params=params,
                   deltas=deltas, assumptions=assumptions, sample_axis=0,
                   stable_loss=transposed(net.stable_loss, subs, False))
