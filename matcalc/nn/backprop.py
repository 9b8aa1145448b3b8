"""Textbook backprop for a model: the forward program, and the δ recursion derived from it.

Networks (stage 3). Consumes a Model (nn/spec.py) through its Network; runs the reverse sweep
(calculus/sweep.py) with a δ named for each pre-activation Z_l, and tidies each adjoint with
the textbook rules: forward values reused by name (σ(Z1) → A1), derivatives written through
the activation where its record writes them so (σ′(Z) = A ⊙ (1 − A), tanh′(Z) = 1 − A ⊙ A),
Hadamard products expanded where terms cancel (sigmoid + BCE: δ = A − Y), and the targets'
assumption (one-hot: S − Y).
"""
import sys
from dataclasses import dataclass, field

import sympy as sp

from ..calculus.simplify import TEXTBOOK, simplify
from ..calculus.steps import Derivation
from ..calculus.sweep import backward
from ..core.errors import MatcalcError
from ..core.expr import (Elementwise, T, add, elementwise, entry_sum, hadamard, matmul,
                         rebuild)
from ..core.functions import BY_CLASS, FUNCTIONS
from ..core.program import Assignment, Program


def grad_symbol(p):
    """dP, a matrix symbol of P's shape standing for ∂L/∂P."""
    return sp.MatrixSymbol(f"d{p.name}", *p.shape)


def reuse_forward(program):
    """e → N wherever N := e is a forward assignment (computed once, reused by name)."""
    table = {a.expr: a.name for a in program}

    def rule(e):
        return table.get(e, e)
    rule.identity = "reuse the forward value by its name"
    return rule


def through_outputs(program):
    """f′(Z) in terms of A := f(Z), as f's record in core/functions.py writes it (its
    `derivative`: σ′(Z) = A ⊙ (1 − A), tanh′(Z) = 1 − A ⊙ A, SiLU′(Z) = A + σ(Z) ⊙ (1 − A))."""
    outputs, u = {}, sp.Dummy("a")
    for a in program:
        f = a.expr.body if isinstance(a.expr, Elementwise) else None
        derivative = FUNCTIONS[BY_CLASS[type(f)]].derivative if (
            f is not None and f.args == (T,) and type(f) in BY_CLASS) else None
        if derivative is not None:
            through = _in_two(derivative(u, T), u, a.name, a.expr.arg)
            if through is not None:
                outputs[a.expr.arg] = (sp.diff(f, T), through)

    def rule(e):
        if not isinstance(e, Elementwise) or e.arg not in outputs:
            return e
        df, through = outputs[e.arg]
        return through if e.body == df else e
    rule.identity = "write the derivative through the activation's output"
    return rule


def _in_two(body, u, A, Z):
    """A scalar body in u (standing for A's entries) and T (Z's) as a matrix expression: the
    parts in one of them alone become entrywise functions of A or Z, joined by + and ⊙;
    None where a part mixes them inside a function."""
    if not body.has(u):
        return elementwise(body, Z)
    if not body.has(T):
        return elementwise(body.xreplace({u: T}), A)
    if not (body.is_Add or body.is_Mul):
        return None
    join = add if body.is_Add else hadamard
    groups = [[], [], []]                   # in u alone, in T alone (or a number), in both
    for part in body.args:
        groups[2 if part.has(u) and part.has(T) else 0 if part.has(u) else 1].append(part)
    parts = [_in_two(body.func(*g), u, A, Z) for g in groups[:2] if g]
    parts += [_in_two(part, u, A, Z) for part in groups[2]]
    return None if any(p is None for p in parts) else join(*parts)


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
    coefficients: dict = field(default_factory=dict)   # δ -> c: the adjoint of its name is c·δ

    def gradient(self, p):
        """∂L/∂p as one expression of the variables (δ's and forward names inlined): the
        whole network in one expression, for small nets; the proof is local_proofs'."""
        return _inline(list(self.forward) + list(self.backward))[self.gradients[p]]

    def loss(self):
        """L as one expression of the variables."""
        return _inline(self.forward)[self.forward.output]

    def __str__(self):
        sizes = self.model.concrete()     # the network's sizes, not its internal d1, d2
        shown = [Program(tuple(Assignment(a.name.xreplace(sizes), a.expr.xreplace(sizes))
                               for a in p)) for p in (self.forward, self.backward)]
        lines = [str(shown[0]), "", str(shown[1])]
        if self.assumptions:
            lines.append("given that " + "; ".join(str(a) for a in self.assumptions))
        return "\n".join(lines)


@dataclass(frozen=True)
class LocalProof:
    """What one backward line claims, as a gradient to prove: `claim` = ∂f/∂`wrt`.

    For δ := e, the δ of the forward name Z (whose adjoint is c·δ): wrt is Z and the claim
    c·e. For dP := e: wrt is P and the claim e. f is Σ c′·tr(δ′ᵀ N′), written Σ c′·sum(δ′ ⊙ N′),
    over the named nodes N′ (those with a δ′) that use wrt, directly or through forward names
    without a δ, plus L where L uses wrt that way (the loss of the output, the L2 penalty of a
    weight); the forward names between wrt and them are inlined (A_l = σ(Z_l)), everything
    else, the δ′ included, is a free variable (and L's terms without wrt, constants here, are
    left out). By the chain rule, the lines are right if each is (last to first)."""
    line: Assignment
    wrt: sp.MatrixSymbol
    f: sp.Basic
    claim: sp.Basic
    uses: tuple                 # the forward names whose lines f differentiates


def local_proofs(b):
    """The LocalProof of every line of b.backward, in its order; each is the size of a layer,
    so proving them all takes time linear in depth (nothing inlines the network)."""
    forward, output = list(b.forward), b.forward.output
    named = dict(b.network.deltas)
    of_delta = {d: z for z, d in named.items()}
    of_grad = {g: p for p, g in b.gradients.items()}
    consumers, out = _consumers(forward), []
    for line in b.backward:
        if line.name in of_delta:
            wrt = of_delta[line.name]
            claim = matmul(b.coefficients.get(line.name, sp.S.One), line.expr)
        elif line.name in of_grad:
            wrt, claim = of_grad[line.name], line.expr
        else:
            raise MatcalcError("{0} is neither a δ of the network nor the gradient of a "
                               "parameter: it cannot be proven", line.name)
        inlined, frontier = _downstream(forward, consumers, wrt, set(named) | {output})
        terms = []
        for name, e in frontier:
            if name == output:          # only L's terms in wrt: the others are constants here
                terms += [t for t in sp.Add.make_args(e) if t.has(wrt)]
            else:
                d = named[name]
                # tr(δ′ᵀ N′) written Σ δ′ ⊙ N′: no N×N product for the numeric proof
                terms.append(b.coefficients.get(d, sp.S.One) * entry_sum(hadamard(d, e)))
        f = sp.Add(*terms)
        # a stop f differentiates (not one it holds, as var1 inside Xhat1) by its value: a
        # stated δ (nn/norms.py) is written with x̂, the stop it differentiates
        values = {**inlined, **{name: e for name, e in frontier
                                if name != output and not f.has(name)}}
        claim = rebuild(claim, lambda x: values.get(x, x))
        out.append(LocalProof(line, wrt, f, claim, tuple(name for name, _ in frontier)))
    return out


def _consumers(forward):
    """{name: the indices of the forward lines whose expressions use it}."""
    out = {}
    for i, a in enumerate(forward):
        for x in a.expr.atoms(sp.MatrixSymbol) | a.expr.free_symbols:
            out.setdefault(x, []).append(i)
    return out


def _downstream(forward, consumers, v, stops):
    """({name: value in v}, [(stop, value in v)]): the forward names that depend on v without
    passing a name in `stops`, inlined, and the stops they (or v) reach, in program order.
    Only the lines reached are visited, so that each proof costs its layer, not the network."""
    reached, todo = set(), [v]
    while todo:
        x = todo.pop()
        for i in consumers.get(x, ()):
            if i not in reached:
                reached.add(i)
                if forward[i].name not in stops:
                    todo.append(forward[i].name)
    inlined, frontier = {}, []
    for i in sorted(reached):
        a = forward[i]
        e = rebuild(a.expr, lambda x: inlined.get(x, x))
        if a.name in stops:
            frontier.append((a.name, e))
        else:
            inlined[a.name] = e
    return inlined, frontier


def _inline(assignments):
    """{name: its value in the variables}, rebuilt through the canonical constructors."""
    subs = {}
    for a in assignments:
        subs[a.name] = rebuild(a.expr, lambda x: subs.get(x, x))
    return subs


def _stated(net, emitted, coefficients, derivation):
    """Each δ a layer record states in its textbook form (nn/norms.py) in place of the
    sweep's, where the lines the record names are its name's only consumers (else the
    sweep's sum of terms stays): scaled so that its name's adjoint is c·δ as before. The
    proof checks the stated line as any other (local_proofs)."""
    forward = list(net.forward)
    consumers, of_delta = _consumers(forward), {d: z for z, d in net.deltas.items()}
    out = []
    for line in emitted:
        value, covers, rule = net.stated.get(line.name, (None, (), ""))
        users = {forward[i].name for i in consumers.get(of_delta.get(line.name), ())}
        rest = _skips(net, forward, of_delta.get(line.name), users - covers, coefficients,
                      derivation) if value is not None else None
        if value is not None and rest is not None:
            inner = [d for d in coefficients if d != line.name and value.has(d)]
            ratio = sp.simplify(coefficients[inner[0]] / coefficients[line.name])
            stated = add(matmul(ratio, value), matmul(1 / coefficients[line.name], rest))
            derivation.add("simplify", rule + " (checked by the proof, as every line)",
                           line.expr, stated)
            line = Assignment(line.name, stated)
        out.append(line)
    return out


def _skips(net, forward, x, others, coefficients, derivation):
    """The adjoint of x from its consumers outside a stated form (a residual's skip around a
    pre-norm layer norm): Σ_u ∂(c_u·sum(δ_u ⊙ u))/∂x, each u a line with a δ; None where one
    has none (the sweep's sum then stays)."""
    terms = []
    for u in others:
        d = net.deltas.get(u)
        if d is None or d not in coefficients:
            return None
        line = next(a for a in forward if a.name == u)
        loss = Assignment(sp.Symbol("L"), coefficients[d] * entry_sum(hadamard(d, u)))
        terms.append(backward(Program((line, loss)), [x], derivation)[0][x])
    return add(*terms) if terms else sp.ZeroMatrix(*x.shape)


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
    from . import sequences              # a recurrence over t: its own sweep (the window)
    if sequences.is_sequence(net):
        return sequences.derive(model, sys.modules[__name__])
    rules = (reuse_forward(net.forward), through_outputs(net.forward)) + TEXTBOOK
    derivation = Derivation()

    def tidy(e):
        return simplify(e, rules=rules, assumptions=net.assumptions, derivation=derivation)

    params = [p.symbol for p in net.params]
    coefficients = {}
    grads, _, emitted = backward(net.forward, params, derivation, net.deltas, tidy,
                                 coefficients)
    emitted = _stated(net, emitted, coefficients, derivation)
    gsyms = {p: grad_symbol(p) for p in params}
    # Last layer first, each layer's weight before its bias: the order backprop computes them.
    order = sorted(net.params, key=lambda p: (-p.layer, p.kind != "weight"))
    emitted += [Assignment(gsyms[p.symbol], tidy(grads[p.symbol])) for p in order]
    return Backprop(model, net, net.forward, Program(tuple(emitted)), params, gsyms,
                    net.assumptions, derivation, coefficients)
