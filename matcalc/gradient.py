"""The reverse sweep over a program: the adjoint of every named node, last to first.

Stage 2 (differentiate). For each assignment N := e, from the last to the first, takes
dN = de (differential.py) with respect to the variables and the earlier names e uses, and
moves tr(N̄ᵀ dN) into Σ tr(Āᵀ dA) (adjoint.py), adding each Ā to the adjoint of A. Named
intermediates keep the result linear in depth. This module names no operator.
"""
import sympy as sp
from sympy import MatMul, Trace, Transpose

from .adjoint import adjoints, terms
from .differential import differential
from .errors import MatcalcError
from .expr import Differential, add, is_matrix
from .printing.text import text
from .steps import Derivation


def _dependents(program, wrt):
    """The names whose value depends on a variable in wrt (only they need an adjoint)."""
    live = set(wrt)
    for a in program:
        if a.expr.free_symbols & live or any(a.expr.has(v) for v in live):
            live.add(a.name)
    return live


def backward(program, wrt, derivation=None):
    """{X: ∂out/∂X} for each X in wrt (denominator layout), plus the adjoint of each name.

    Returns (gradients, adjoints_by_name). The output must be a scalar.
    """
    if derivation is None:
        derivation = Derivation()
    out = program.output
    if is_matrix(out) and out.shape != (1, 1):
        raise MatcalcError(f"the output {text(out)} is not a scalar")
    live = _dependents(program, wrt)
    adj = {out: sp.S.One}
    for a in reversed(program.assignments):
        g = adj.get(a.name)
        if g is None:
            continue
        inputs = [v for v in live if v != a.name and a.expr.has(v)]
        de = differential(a.expr, inputs, derivation)
        derivation.add("result", f"d{text(a.name)}", a.expr, de)
        for term in terms(de):
            for var, gbar in adjoints(term, g):
                shown = Trace(MatMul(Transpose(gbar), Differential(var)))
                derivation.add("move", "tr(Gᵀ L(dX)) = tr(Ḡᵀ dX)", term, shown)
                adj[var] = add(adj[var], gbar) if var in adj else gbar
    grads = {x: adj.get(x) for x in wrt}
    for x, g in grads.items():
        if g is None:
            grads[x] = sp.ZeroMatrix(*x.shape)
    return grads, adj
