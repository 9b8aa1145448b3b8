"""The backprop the proof checks: the model's own, or the same layers at small sizes.

Networks (stage 3). An MLP's derivation keeps its widths symbolic, so its proof runs at small
sizes by itself. A CNN's sizes are numbers (3×32×32 maps: the numeric proof's matrices would
have millions of entries), so the proof derives `Model.reduced()`, the same layers with few
channels and small maps, and proves that: the derivation is the same sequence of rules at
any size. That it is the same is checked, not assumed: both backward programs must have the
same lines with the same tree of operations (numbers and sizes aside); where they differ,
the proof runs on the model itself.
"""
import sympy as sp

from .backprop import derive


def at_proof_sizes(b):
    """b, or the Backprop of b.model.reduced() when that has the same form."""
    small = b.model.reduced()
    if small == b.model:
        return b
    r = derive(small)
    return r if skeleton(r) == skeleton(b) else b


def skeleton(b):
    """Each line of the forward and backward programs: its name and its tree of operations,
    numbers and matrix sizes left out."""
    return [(str(a.name), _tree(a.expr)) for a in list(b.forward) + list(b.backward)]


def _tree(e):
    if isinstance(e, sp.MatrixSymbol):
        return str(e.name)
    if isinstance(e, (sp.Number, sp.Tuple)) or (e.is_Matrix and not e.args) or \
            not isinstance(e, sp.Basic):
        return type(e).__name__
    if isinstance(e, (sp.OneMatrix, sp.ZeroMatrix, sp.Identity)):
        return type(e).__name__
    if not e.args:
        return str(e)
    return (type(e).__name__, tuple(_tree(a) for a in e.args))
