"""Textbook backprop for a model: the forward program, and the δ recursion derived from it.

Stage 3 (simplify). Consumes a Model (nn.py); runs the reverse sweep (gradient.py) with a δ
named for each pre-activation Z_l and for the network output, and tidies each adjoint with
the textbook rules: forward values reused by name (σ(Z1) → A1), derivatives written through
the activation (σ′(Z) = A ⊙ (1 − A), tanh′(Z) = 1 − A ⊙ A), Hadamard products expanded where
terms cancel (sigmoid + BCE: δ = A − Y), and the targets' assumption (one-hot: S − Y).
"""
from dataclasses import dataclass, field

import sympy as sp

from ..core.expr import Elementwise, T, elementwise, rebuild
from ..calculus.sweep import backward
from ..printing.text import text
from ..core.program import Assignment, Program
from ..calculus.simplify import TEXTBOOK, ColumnsSumToOne, RowsSumToOne, simplify
from ..calculus.steps import Derivation


@dataclass(frozen=True)
class GradientName:
    """The symbol ∂L/∂P is printed as; text dW1, LaTeX ∂L/∂W_1."""
    param: sp.MatrixSymbol


def grad_symbol(p):
    """dP, a matrix symbol of P's shape standing for ∂L/∂P."""
    return sp.MatrixSymbol(f"d{p.name}", *p.shape)


def delta_symbol(name):
    """δ for a named node: Z2 → delta2, S or A2 (an output without a Z) → delta_S."""
    tail = name.name[1:] if name.name[0] == "Z" else "_" + name.name
    return sp.MatrixSymbol(f"delta{tail}", *name.shape)


def reuse_forward(program):
    """e → N wherever N := e is a forward assignment (computed once, reused by name)."""
    table = {a.expr: a.name for a in program}

    def rule(e):
        return table.get(e, e)
    rule.__doc__ = "reuse the forward value by its name"
    return rule


def through_outputs(program):
    """f′(Z) in terms of A := f(Z):  σ′(Z) = A ⊙ (1 − A), tanh′(Z) = 1 − A ⊙ A."""
    outputs = {a.expr.arg: (a.expr.body, a.name) for a in program
               if isinstance(a.expr, Elementwise)}
    u = sp.Dummy("u")

    def rule(e):
        if not isinstance(e, Elementwise) or e.arg not in outputs:
            return e
        f, A = outputs[e.arg]
        body = e.body.xreplace({f: u})
        if T in body.free_symbols or u not in body.free_symbols:
            return e
        return elementwise(body.xreplace({u: T}), A)
    rule.__doc__ = "write the derivative through the activation's output"
    return rule


def target_assumptions(model, Y):
    """One-hot targets: each column (rows layout: each row) of Y sums to 1."""
    if model.loss in ("cross-entropy", "hinge"):
        return (RowsSumToOne(Y),) if model.layout == "rows" else (ColumnsSumToOne(Y),)
    return ()


@dataclass
class Backprop:
    """The forward program, the backward program (δ's then gradients), and how."""
    model: object
    forward: Program
    backward: Program
    params: list
    gradients: dict             # param -> its gradient symbol dP
    assumptions: tuple
    derivation: Derivation = field(repr=False)

    def gradient(self, p):
        """∂L/∂p as one expression of the variables (δ's and forward names inlined)."""
        return _inline(list(self.forward) + list(self.backward))[self.gradients[p]]

    def loss(self):
        """L as one expression of the variables."""
        return _inline(self.forward)[self.forward.output]

    def __str__(self):
        lines = [str(self.forward), "", str(self.backward)]
        if self.assumptions:
            lines.append("given that " + "; ".join(str(a) for a in self.assumptions))
        return "\n".join(lines)


def _inline(assignments):
    """{name: its value in the variables}, rebuilt through the canonical constructors."""
    subs = {}
    for a in assignments:
        subs[a.name] = rebuild(a.expr, lambda x: subs.get(x, x))
    return subs


def derive(model):
    """The textbook backprop of a model.

    >>> from matcalc.nn.spec import mlp
    >>> print(derive(mlp([4, 5, 3])).backward)
    delta2 := S - Y
    delta1 := (W2.T @ delta2) * A1*(1 - A1)
    dW2 := 1/N*delta2 @ A1.T
    db2 := 1/N*delta2 @ ones(N, 1)
    dW1 := 1/N*delta1 @ X.T
    db1 := 1/N*delta1 @ ones(N, 1)
    """
    forward = model.forward()
    X, Y, params, lam = model.variables()
    assumptions = target_assumptions(model, Y)
    rules = (reuse_forward(forward), through_outputs(forward)) + TEXTBOOK
    derivation = Derivation()

    def tidy(e):
        return simplify(e, rules=rules, assumptions=assumptions, derivation=derivation)

    deltas = {}
    for a in forward.assignments[:-1]:
        if a.name.name.startswith("Z"):
            deltas[a.name] = delta_symbol(a.name)
    grads, _, emitted = backward(forward, params, derivation, deltas, tidy)
    gsyms = {p: grad_symbol(p) for p in params}
    order = sorted(params, key=lambda p: (-int(p.name[1:]), p.name[0] != "W"))
    emitted += [Assignment(gsyms[p], tidy(grads[p])) for p in order]
    return Backprop(model, forward, Program(tuple(emitted)), params, gsyms, assumptions,
                    derivation)
