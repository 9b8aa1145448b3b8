"""Textbook backprop for a model: the forward program, and the δ recursion derived from it.

Networks (stage 3). Consumes a Model (nn/spec.py) through its Network; runs the reverse sweep
(calculus/sweep.py) with a δ named for each pre-activation Z_l, and tidies each adjoint with
the textbook rules: forward values reused by name (σ(Z1) → A1), derivatives written through
the activation (σ′(Z) = A ⊙ (1 − A), tanh′(Z) = 1 − A ⊙ A), Hadamard products expanded where
terms cancel (sigmoid + BCE: δ = A − Y), and the targets' assumption (one-hot: S − Y).
"""
from dataclasses import dataclass, field

import sympy as sp

from ..calculus.simplify import TEXTBOOK, simplify
from ..calculus.steps import Derivation
from ..calculus.sweep import backward
from ..core.expr import Elementwise, T, elementwise, rebuild
from ..core.program import Assignment, Program


def grad_symbol(p):
    """dP, a matrix symbol of P's shape standing for ∂L/∂P."""
    return sp.MatrixSymbol(f"d{p.name}", *p.shape)


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


@dataclass
class Backprop:
    """The forward program, the backward program (δ's then gradients), and how."""
    model: object
    network: object             # the model's Network (nn/spec.py): parameters as data
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
    net = model.network()
    rules = (reuse_forward(net.forward), through_outputs(net.forward)) + TEXTBOOK
    derivation = Derivation()

    def tidy(e):
        return simplify(e, rules=rules, assumptions=net.assumptions, derivation=derivation)

    params = [p.symbol for p in net.params]
    grads, _, emitted = backward(net.forward, params, derivation, net.deltas, tidy)
    gsyms = {p: grad_symbol(p) for p in params}
    # Last layer first, each layer's weight before its bias: the order backprop computes them.
    order = sorted(net.params, key=lambda p: (-p.layer, p.kind != "weight"))
    emitted += [Assignment(gsyms[p.symbol], tidy(grads[p.symbol])) for p in order]
    return Backprop(model, net, net.forward, Program(tuple(emitted)), params, gsyms,
                    net.assumptions, derivation)
