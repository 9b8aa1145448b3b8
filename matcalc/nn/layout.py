"""Samples as rows: the columns network transposed, the one mechanism behind `layout="rows"`.

Networks (stage 3). Consumes a Network whose samples are the columns of X; produces the same
network for X with samples as rows: every name that holds samples or weights (X, Y, W_l,
Z_l, A_l, S) is replaced by its transpose (X_rows = Xᵀ, so Z1 = W1 X + b1 1ᵀ becomes
Z1 = X W1 + 1 b1ᵀ, transposes pushed to the leaves by core/transposer.py), biases stay
columns, softmax turns to the other axis, and the targets' assumption turns from columns to
rows. The backward pass is then derived on this program like any other; nothing else in
matcalc knows about the layout.
"""
from dataclasses import replace

from sympy import MatrixSymbol, Transpose

from ..calculus.simplify import ColumnsSumToOne, RowsSumToOne
from ..core.program import Assignment, Program
from ..core.transposer import transposed

# Assumptions on Y that read differently once Y is transposed.
ROW_RULES = {ColumnsSumToOne: RowsSumToOne}


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
