"""Sequences: T steps of F features, the recurrent layer, and the one loop construct.

Networks (stage 3). `--input TxF` (8x8: the digits as 8 rows of 8 pixels) is X of (T·F) × N,
row block t the step X[t] (F × N). A layer on a sequence works per step, its lines named by
the step: Z1[t] := W1 X[t] + U1 H1[t-1] + b1 1ᵀ; H1[t] := tanh(Z1[t]) (rnn(H), H1[0] = 0),
Z2[t] := W2 A1[t] + b2 1ᵀ (dense per step); `last` (A := H1[T]) and `mean`
(A := (1/T) Σ_t H1[t]) turn the sequence into a vector for the layers after it.

The derivation (`derive`) is the engine's (calculus/sweep.py, nn/backprop.py's textbook
rules): the layers after the sequence are swept as any network's; the loop's δ's by sweeping
one step together with the next step's lines that read its state (a window), so that δ[t]
comes out as the recurrence (U1ᵀ δ1[t+1] + delta_H1[t]) ⊙ (1 − H1[t] ⊙ H1[t]); a parameter's
gradient is Σ_t of one step's. `Loop` is the one construct that printing (`program_text`),
the kernels (codegen/loops.py) and the proof (nn/unroll.py) read: the lines run once per
step, t = 1…T forward, T…1 backward. Names: base[index], the index in t and T (H1[t-1],
H1[T], delta1[T+1]); a sum over the steps is the node StepSum.
"""
import re
import types
from dataclasses import dataclass, replace

import sympy as sp
from sympy import MatrixExpr, ZeroMatrix

from ..core.errors import MatcalcError
from ..core.expr import add, apply, coefficient, entry_sum, hadamard, matmul, ones, rebuild
from ..core.leaves import matrix
from ..core.program import Assignment, Program
from . import backprop as _backprop

t, T = sp.Symbol("t"), sp.Symbol("T")
# What a network with an rnn trains with by default (SGD at lr 0.1 stalls at chance on the
# digits read as 8 rows: tanh through 8 steps; Adam reaches 98% in 60 epochs).
TRAINS = (("optimizer", "adam"), ("lr", 0.005), ("epochs", 60))
_NAME = re.compile(r"(.+)\[([^\[\]]+)\]")


# ---------------------------------------------------------------- names of steps

def step(base, index):
    """'H1[t-1]' from ('H1', t - 1)."""
    return f"{base}[{str(sp.sympify(index)).replace(' ', '')}]"


def parts(e):
    """(base, index) of a step's symbol H1[t-1] (index a SymPy expression), else None."""
    m = _NAME.fullmatch(getattr(e, "name", "") if isinstance(e, sp.MatrixSymbol) else "")
    return (m.group(1), sp.sympify(m.group(2), locals={"t": t, "T": T})) if m else None


def reindexed(e, index):
    """e with each step symbol base[i] replaced by what `index(base, i)` gives: a new index
    (an expression) or a matrix (the value itself, a ZeroMatrix for H1[0])."""
    def rule(x):
        p = parts(x)
        if p is None:
            return x
        new = index(*p)
        if isinstance(new, sp.MatrixBase) or isinstance(new, MatrixExpr):
            return new
        return matrix(step(p[0], new), *x.shape)
    return rebuild(e, rule)


def shifted(e, by=1):
    """e one step later: H1[t-1] → H1[t], X[t] → X[t+1]."""
    return reindexed(e, lambda base, i: i.subs(t, t + by) if i.has(t) else i)


def per_step(a):
    """Whether the assignment is a loop line (its name indexed by t)."""
    p = parts(a.name)
    return p is not None and p[1].has(t)


class StepSum(MatrixExpr):
    """Σ_t e over the steps t = 1…T of a loop (e's symbols indexed by t)."""

    def __new__(cls, arg):
        return super().__new__(cls, arg)

    arg = property(lambda self: self.args[0])
    shape = property(lambda self: self.arg.shape)

    def _eval_transpose(self):
        return StepSum(self.arg.T)

    def _sympystr(self, p):      # matcalc's text printer and SymPy's
        return f"Σ_t({p._print(self.arg)})"

    _matcalc_text = _sympystr

    def _latex(self, p):
        return rf"\sum_{{t=1}}^{{T}} \left({p._print(self.arg)}\right)"

    _matcalc_latex = _latex


def step_sum(e):
    """Σ_t e, a scalar coefficient outside (1/N Σ_t δ[t] X[t]ᵀ)."""
    c, core = coefficient(e)
    return matmul(c, StepSum(core))


# ---------------------------------------------------------------- the loop construct

@dataclass(frozen=True)
class Loop:
    """The lines (names) of a program that run once per step: forward t = 1…T, backward
    T…1; every other line runs once, where it stands."""
    names: tuple
    T: int
    reverse: bool = False


# ---------------------------------------------------------------- the layer records

def as_steps(w):
    """The walk's value as a step: the input X (T·F) × N read as X[t] (F × N)."""
    if w.tokens:                # attention mixes the steps: all tokens at once
        from .attention import as_tokens
        return as_tokens(w)
    if not getattr(w, "step", "") and len(w.shape) == 2:
        w.a = matrix(step(w.a.name, t), w.shape[1], w.n)
        w.step = "[t]"
    return w.a


def sequence_size(layer, shape, where):
    """(T, units): a layer per step keeps the steps."""
    return (shape[0], layer.get("units"))


def reduced_size(layer, shape, where):
    return (shape[1],)


def rnn(w, layer, where):
    """H[0] := 0; Z[t] := W X[t] + U H[t-1] + b 1ᵀ; H[t] := tanh(Z[t]) (Elman 1990)."""
    from .network import Param
    x = as_steps(w)
    units, l = w.width(layer.get("units")), w.l
    fan = w.shape[-1]
    W, U = matrix(f"W{l}", units, x.shape[0]), matrix(f"U{l}", units, units)
    w.params += [Param(W, l, "weight", w.init, fan, units),
                 Param(U, l, "weight", w.init, units, units)]
    h0 = matrix(step(f"H{l}", 0), units, w.n)
    w.out.append(Assignment(h0, ZeroMatrix(units, w.n)))
    z = add(matmul(W, x), matmul(U, matrix(step(f"H{l}", t - 1), units, w.n)))
    if w.bias:
        b = matrix(f"b{l}", units, 1)
        w.params.append(Param(b, l, "bias", "zeros", fan, units))
        z = add(z, matmul(b, ones(1, w.n)))
    Z = w.line("Z", z)
    w.delta(Z, step(f"delta{l}", t))
    w.line("H", apply("tanh", Z))


def _reduce(kind):
    def extend(w, layer, where):
        if w.tokens:            # the tokens of attention (nn/attention.py)
            from .attention import reduce
            return reduce(w, kind, where)
        h = w.a
        p = parts(h)
        if p is None:
            raise MatcalcError(f"{where}: {kind} needs a sequence made by a layer before it")
        w.step = ""
        value = matrix(step(p[0], T), *h.shape) if kind == "last" else \
            matmul(sp.Rational(1, w.shape[0]), StepSum(h))
        w.line("A", value)
    extend.__doc__ = ("A := H[T], the last step's value" if kind == "last" else
                      "A := (1/T) Σ_t H[t], the mean over the steps")
    return extend


last, mean = _reduce("last"), _reduce("mean")


def position(w, layer, where):
    """A[t] := A[t] + E[t] 1ᵀ: a learned embedding of each step (E, F × T, column t for
    step t; a bias of the step, so zeros at first and no L2), with a δ of its own."""
    from .network import Param
    a = as_steps(w)
    steps, features = w.shape
    E = matrix(f"E{w.l}", features, steps)
    w.params.append(Param(E, w.l, "bias", "zeros", features, steps))
    if w.tokens:        # tokens d × (N·T), column n·T + t: A := H + E kron(1_Nᵀ, I_T)
        from ..core.kron import kron
        from ..core.leaves import eye
        A = w.line("A", add(a, matmul(E, kron(ones(1, w.n), eye(steps)))))
        w.delta(A, f"delta_{A.name}")
        return
    A = w.line("A", add(a, matmul(matrix(step(E.name, t), features, 1), ones(1, w.n))))
    w.delta(A, step(f"delta_{parts(A)[0]}", t))


# ---------------------------------------------------------------- the derivation

def is_sequence(net):
    return any(per_step(a) for a in net.forward)


@dataclass
class Parts:
    """A sequence network's forward program cut where the loop ends."""
    init: list          # H1[0] := 0, …
    steps: list         # the loop's lines
    reduce: Assignment  # A := H1[T] or (1/T) Σ_t H1[t]
    tail: list          # the vector layers after it, the loss last


def cut(net):
    fwd = list(net.forward)
    loop = [i for i, a in enumerate(fwd) if per_step(a)]
    end = loop[-1] + 1
    init = [a for a in fwd[:end] if not per_step(a)]     # the states at t = 0: H1[0] := 0
    if any(parts(a.name) is None for a in init):
        raise MatcalcError("a sequence network's layers before last or mean work per step")
    if end >= len(fwd) or fwd[end].name == net.forward.output:
        raise MatcalcError("a sequence network needs last or mean before its last dense "
                           "layer: the loss takes one vector per sample")
    return Parts(init, [fwd[i] for i in loop], fwd[end], fwd[end + 1:])


def derive(model, backprop):
    """The Backprop of a sequence model: a recurrence over t (see the module docstring).
    `backprop` is nn/backprop.py (the Backprop record, the textbook rules)."""
    from ..calculus.simplify import TEXTBOOK, simplify
    from ..calculus.steps import Derivation
    from ..calculus.sweep import backward

    net = model.network()
    cut_ = cut(net)
    derivation = Derivation()

    def tidy_for(program, into=derivation):
        rules = (backprop.reuse_forward(program), backprop.through_outputs(program)) + TEXTBOOK

        def tidy(e):
            return simplify(e, rules=rules, assumptions=net.assumptions,
                            derivation=into)
        return tidy

    tidy = tidy_for(net.forward)
    by_symbol = {p.symbol: p for p in net.params}
    tail_names = {a.name for a in cut_.tail}
    tail_params = [p.symbol for p in net.params
                   if any(a.expr.has(p.symbol) for a in cut_.tail)]
    coefficients = {}
    A = cut_.reduce.name
    grads, _, emitted = backward(
        Program(tuple(cut_.tail)), tail_params + [A], derivation,
        {k: v for k, v in net.deltas.items() if k in tail_names}, tidy, coefficients)
    c, G = coefficient(tidy(grads[A]))

    # the adjoint the reduction hands each step: E[t] (its value's adjoint is c·E[t])
    source = _reduced_value(cut_.reduce)
    base, _ = parts(source)
    if parts(cut_.reduce.expr) is not None:           # last: only step T has one
        dT = matrix(step(f"delta_{base}", T), *source.shape)
        bridge = [Assignment(dT, G)]
        E = matrix(step(f"delta_{base}", t), *source.shape)
        boundary = f"{E.name} = 0 for t < T"
    else:                                             # mean: every step, 1/T of it
        E = matrix(f"delta_{base}", *source.shape)
        bridge = [Assignment(E, matmul(coefficient(cut_.reduce.expr)[0], G))]
        boundary = None

    # one step and the next step's lines that read its state: the recurrence of the δ's
    step_names = {a.name for a in cut_.steps}
    step_deltas = {k: v for k, v in net.deltas.items() if k in step_names}
    reads_state = [a for a in cut_.steps
                   if any((p := parts(x)) is not None and p[1] == t - 1
                          for x in a.expr.atoms(sp.MatrixSymbol))]
    later = [Assignment(shifted(a.name), shifted(a.expr)) for a in reads_state]
    terms = [entry_sum(hadamard(E, source))]
    for a in reads_state:
        if a.name not in step_deltas:
            raise MatcalcError(f"{a.name}: a line that reads the previous step needs a δ")
        terms.append(entry_sum(hadamard(shifted(step_deltas[a.name]), shifted(a.name))))
    window = Program(tuple(cut_.steps + later +
                           [Assignment(sp.Symbol("L"), c * sp.Add(*terms))]))
    used = [p.symbol for p in net.params if any(a.expr.has(p.symbol) for a in cut_.steps)]
    # a parameter per step (position's E1: its column t is E1[t]), its gradient per step too
    stepped = {x: matrix(step(f"d{parts(x)[0]}", t), *x.shape) for p in net.params
               for a in cut_.steps for x in a.expr.atoms(sp.MatrixSymbol)
               if parts(x) is not None and parts(x)[0] == p.symbol.name}
    used += list(stepped)
    inputs = sorted({x for a in cut_.steps for x in a.expr.atoms(sp.MatrixSymbol)
                     if parts(x) is not None and x not in step_names}, key=str)
    step_coeffs = {}
    steps_of = Derivation()
    _, _, loop_lines = backward(window, used + inputs, steps_of, step_deltas,
                                tidy_for(window, steps_of), step_coeffs)
    _keep_steps(steps_of, derivation, step_names)
    for d, k in step_coeffs.items():
        if sp.simplify(k - c) != 0:
            raise MatcalcError(f"{d}: its coefficient {k} is not the loss's {c}")
    coefficients.update(step_coeffs)
    starts = [Assignment(matrix(step(parts(d)[0], T + 1), *d.shape), ZeroMatrix(*d.shape))
              for d in (step_deltas[a.name] for a in reads_state)]      # δ[T+1] = 0

    # the gradients: Σ_t of one step's, given its δ's
    sums = {}
    for z, d in step_deltas.items():
        line = next(a for a in cut_.steps if a.name == z)
        mine = [p for p in used if line.expr.has(p)]
        g1, _, _ = backward(Program((line, Assignment(sp.Symbol("L"),
                                                      c * entry_sum(hadamard(d, z))))),
                            mine, Derivation())      # the window's steps show Z[t]'s
        for p in mine:
            sums.setdefault(p, []).append(g1[p])
    per_step = [Assignment(g, tidy_for(window, Derivation())(add(*sums.pop(x))))
                for x, g in stepped.items()]
    from .backprop import grad_symbol
    gsyms = {p.symbol: grad_symbol(p.symbol) for p in net.params}
    order = sorted(net.params, key=lambda p: (-p.layer, p.kind != "weight"))
    grad_lines = []
    for p in order:
        s = p.symbol
        if any(parts(x)[0] == s.name for x in stepped):
            continue                # its columns, dE1[t], are lines of the backward loop
        value = tidy(grads[s]) if s in grads else sp.ZeroMatrix(*s.shape)   # L's own (λW)
        if s in sums:
            steps_sum = step_sum(tidy_for(window, Derivation())(add(*sums[s])))
            value = steps_sum if isinstance(value, sp.ZeroMatrix) else add(steps_sum, value)
        grad_lines.append(Assignment(gsyms[s], value))
    # a δ of a line per step named delta[t]; the backward program in the order it runs
    loop_lines = loop_lines + per_step
    backward_ = Program(tuple(emitted + bridge + starts + loop_lines + grad_lines))
    forward = Program(tuple(cut_.init + cut_.steps + [cut_.reduce] + cut_.tail))
    loops = (Loop(tuple(a.name for a in cut_.steps), model.input[0]),
             Loop(tuple(a.name for a in loop_lines), model.input[0], reverse=True))
    return Recurrence(model, net, forward, backward_, [p.symbol for p in net.params], gsyms,
                      net.assumptions, derivation, coefficients, loops, boundary,
                      tuple(parts(x)[0] for x in stepped))


@dataclass
class Recurrence(_backprop.Backprop):
    """The Backprop of a sequence network: its programs hold loops over t (`loops`)."""
    loops: tuple = ()
    boundary: str = None        # what the backward loop takes as 0 (delta_H1[t] for t < T)
    stepped: tuple = ()         # the parameters read per step, a column each (E1[t])

    def unrolled(self):
        """The engine's derivation of this network unrolled at its T: an ordinary Backprop."""
        net = unrolled(self)
        return _backprop.derive(types.SimpleNamespace(network=lambda: net))

    def gradient(self, p):
        """∂L/∂p as one expression of the variables, from the unrolled network (X_1 … X_T
        the steps of X): for small networks, as Backprop.gradient."""
        return self.unrolled().gradient(p)

    def loss(self):
        return self.unrolled().loss()

    def __str__(self):
        """Both programs, a loop's lines under `for t = 1, …, T:` (T … 1 backward)."""
        def shown(program):
            out, by_name = [], {n: lp for lp in self.loops for n in lp.names}
            for a in program:
                lp = by_name.get(a.name)
                if lp is not None and a.name == lp.names[0]:
                    out.append(f"for t = {'T, …, 1' if lp.reverse else '1, …, T'}:"
                               + ("" if lp.reverse else f"   (T = {lp.T})"))
                out.append(("    " if lp is not None else "") + str(a))
            return "\n".join(out)
        lines = [shown(self.forward), "", shown(self.backward)]
        if self.assumptions:
            lines.append("given that " + "; ".join(str(a) for a in self.assumptions))
        return "\n".join(lines)


def _keep_steps(window, derivation, names):
    """The window's steps of the names of one step (H1[t], Z1[t]), into the derivation: the
    next step's lines and the stand-in for the loss are the window's scaffolding."""
    node = None
    for s in window.steps:
        if s.kind == "adjoint":
            node = s.before
        if node in names:
            derivation.add(s.kind, s.rule, s.before, s.after)


def _reduced_value(reduce):
    """H1[t]: the step value a reduction reads (H1[T] of last, the summand of mean)."""
    e = reduce.expr
    if parts(e) is not None:
        return matrix(step(parts(e)[0], t), *e.shape)
    _, core = coefficient(e)
    if not isinstance(core, StepSum) or parts(core.arg) is None:
        raise MatcalcError(f"{reduce.name} := {e}: not a reduction of a sequence")
    return core.arg


# ---------------------------------------------------------------- unrolled

def unrolled_name(base, k):
    return f"{base}_{k}"


def unrolled(b, zero_state=True):
    """The Network of a sequence Backprop unrolled at its T: step k's lines named Z1_k, H1_k;
    H1[0] written 0 (`zero_state`), or kept a variable H1_0 (the proof: a gate that only
    reads the zero state has a δ of 0, which the line-by-line proof would take as free)."""
    net, steps = b.network, b.model.input[0]
    loop = b.loops[0]
    lines = {a.name: a for a in b.forward}
    zeros = {parts(a.name)[0]: a.expr for a in b.forward
             if parts(a.name) is not None and parts(a.name)[1] == 0} if zero_state else {}

    def sub(e, k):
        """e at step k: H1[t-1] → H1_{k-1}, H1[0] → its zeros."""
        def rule(x):
            p = parts(x)
            if p is None:
                return x
            j = p[1].subs({t: k, T: steps})
            return zeros[p[0]] if j == 0 and p[0] in zeros else \
                matrix(unrolled_name(p[0], j), *x.shape)
        return rebuild(e, rule)

    out, deltas = [], {}
    for k in range(1, steps + 1):
        for n in loop.names:
            a = lines[n]
            name = sub(a.name, k)
            out.append(Assignment(name, sub(a.expr, k)))
            if n in net.deltas:
                deltas[name] = sub(net.deltas[n], k)
    after = list(b.forward)[list(b.forward).index(lines[loop.names[-1]]) + 1:]
    reduce, tail = after[0], after[1:]
    c_core = reduce.expr
    if parts(c_core) is not None:                       # last: H1[T]
        value = sub(c_core, steps)
    else:                                               # mean: c·Σ_t H1[t]
        c = sp.Mul(*[f for f in c_core.args if not f.is_Matrix])
        s = next(f for f in c_core.args if isinstance(f, StepSum))
        value = matmul(c, add(*[sub(s.arg, k) for k in range(1, steps + 1)]))
    out.append(Assignment(reduce.name, value))
    out += tail
    deltas.update({z: d for z, d in net.deltas.items() if parts(z) is None})
    params = []                 # a parameter per step (E1) becomes one per step: E1_1, E1_2, …
    for p in net.params:
        if p.symbol.name in getattr(b, "stepped", ()):
            params += [replace(p, symbol=matrix(unrolled_name(p.symbol.name, k),
                                                p.symbol.shape[0], 1))
                       for k in range(1, steps + 1)]
        else:
            params.append(p)
    return replace(net, forward=Program(tuple(out)), deltas=deltas, params=tuple(params))
