"""The reverse sweep over a program: the adjoint of every named node, last to first.

Calculus (stage 2). For each assignment N := e, from the last to the first, takes
dN = de (differential.py) with respect to the variables and the earlier names e uses, and
moves tr(N̄ᵀ dN) into Σ tr(Āᵀ dA) (adjoint.py), adding each Ā to the adjoint of A. Named
intermediates keep the result linear in depth. This module names no operator.
"""
import sympy as sp
from sympy import HadamardProduct, MatAdd, MatMul, Trace, Transpose

from .adjoint import adjoints, move_rule, terms
from .differential import differential
from ..core.errors import MatcalcError, Message
from ..core.expr import Differential, add, coefficient, is_matrix, matmul, transpose
from ..core.program import Assignment
from .steps import Derivation


def _dependents(program, wrt):
    """The names whose value depends on a variable in wrt (only they need an adjoint)."""
    live = set(wrt)
    for a in program:
        if _names_in(a.expr) & live:
            live.add(a.name)
    return live


def _names_in(e):
    """The matrix and scalar symbols e uses (dimension symbols included, harmlessly)."""
    return e.atoms(sp.MatrixSymbol) | e.free_symbols


def backward(program, wrt, derivation=None, deltas=None, tidy=None, coefficients=None):
    """{X: ∂out/∂X} for each X in wrt (denominator layout), the adjoint of every name, and
    the backward assignments.

    `deltas` maps names to the symbols their adjoints are given (δ's): such an adjoint is
    tidied, assigned δ := Ḡ (a scalar coefficient stays outside, so δ_L = S − Y while
    1/N multiplies it), and the sweep goes on with the symbol, which keeps the result linear
    in depth. `tidy` is the simplifier applied to adjoints before they are named. A dict given
    as `coefficients` receives each δ's coefficient: the adjoint of N is coefficients[δ]·δ.
    """
    if derivation is None:
        derivation = Derivation()
    deltas, tidy = deltas or {}, tidy or (lambda e: e)
    out = program.output
    if is_matrix(out) and out.shape != (1, 1):
        raise MatcalcError("the output {0} is not a scalar", out)
    live = _dependents(program, wrt)
    adj, emitted = {out: sp.S.One}, []
    for a in reversed(program.assignments):
        g = adj.get(a.name)
        if g is None:
            continue
        if a.name != out:
            derivation.add("adjoint", Message("∂L/∂{0}", a.name), a.name, g)
        if a.name in deltas:
            c, core = coefficient(tidy(g))
            emitted.append(Assignment(deltas[a.name], core))
            if coefficients is not None:
                coefficients[deltas[a.name]] = c
            derivation.add("delta", Message("∂L/∂{0} = {1}·{2}", a.name, c, deltas[a.name]),
                           deltas[a.name], core)
            g = matmul(c, deltas[a.name])
        inputs = sorted((_names_in(a.expr) & live) - {a.name}, key=str)
        de = differential(a.expr, inputs, derivation)
        derivation.add("result", Message("d{0}", a.name), a.expr, de)
        for term in terms(de):
            for var, gbar in adjoints(term, g):
                gt = Transpose(gbar) if isinstance(gbar, (MatMul, MatAdd, HadamardProduct)) \
                    else transpose(gbar)
                shown = Trace(MatMul(gt, Differential(var)))
                derivation.add("move", move_rule(term), term, shown)
                adj[var] = add(adj[var], gbar) if var in adj else gbar
    grads = {x: adj.get(x) for x in wrt}
    for x, g in grads.items():
        if g is None:
            grads[x] = sp.ZeroMatrix(*x.shape)
    return grads, adj, emitted
