"""Kernels of a sequence network: the recurrence's lines inside `for t in range(…)`.

Codegen (stage 5). Consumes the Backprop of a sequence model (nn/sequences.py: its programs and
the one loop construct, Loop) and prints the same module as codegen/kernels.py (PARAMS, the
sizes, predict, loss_and_gradients) for any backend's printer: each line one formula, the
lines of a Loop inside a loop over t (forward 1…T, backward T…1), a gradient Σ_t … as a sum
accumulated over t. A sequence's steps are a dict per name (H1_[t]); a line reads the steps
it uses into plain names first (H1_tm1 = H1_[t - 1]; a step never written, delta_H1[t] for
t < T, reads 0) and stores what it defines (H1_[t] = H1_t), so that the printers see plain
matrix symbols. The input X, (T·F) × N, is cut into its T row blocks X_[t].
"""
import types

import sympy as sp
from sympy import ZeroMatrix

from ..nn.sequences import StepSum, parts
from ..printing.latex import latex
from ..printing.text import text
from .backends import backend as _backend
from .function import dimension_lines, shape_symbols
from .kernels import module_title, trainer_constants


def ident(sym):
    """H1[t-1] → H1_tm1: the plain name of a step in the code."""
    base, i = parts(sym)
    return f"{base}_{str(i).replace(' ', '').replace('-', 'm').replace('+', 'p')}"


def _steps(e):
    return sorted({x for x in e.atoms(sp.MatrixSymbol) if parts(x) is not None}, key=str)


def _sum(a):
    """The one Σ_t of a line (name := c·Σ_t e + …, an L2 term beside it), else None."""
    sums = a.expr.atoms(StepSum) if isinstance(a.expr, sp.Basic) else set()
    if len(sums) > 1:
        raise ValueError(f"{a.name}: one sum over the steps per line")
    return next(iter(sums), None)


def _named(printer, lines):
    """The printer, told the plain name of every step the lines use."""
    for a in lines:
        for x in [a.name, *_steps(a.expr)]:
            if isinstance(x, sp.MatrixSymbol) and parts(x) is not None:
                printer.names[x.name] = ident(x)
    return printer


def _name(a):
    return ident(a.name) if parts(a.name) is not None else a.name.name


def _code(a, printer, zeros):
    """A line's code; a state at 0 (H1[0], delta1[T+1]) in X's dtype (and on its device)."""
    code = printer.doprint(a.expr)
    return code[:-1] + f", {zeros})" if isinstance(a.expr, ZeroMatrix) else code


def _load(x, printer, zeros, sparse, pad):
    """`H1_tm1 = H1_[t - 1]`; a step of a sequence written at one step only (delta_H1[T] of
    last) reads zeros elsewhere."""
    base, i = parts(x)
    if base not in sparse and not (i - sp.Symbol("t")).is_positive:   # past T: zeros (GRU)
        return f"{pad}{ident(x)} = {base}_[{i}]"
    zero = _code(types.SimpleNamespace(expr=ZeroMatrix(*x.shape)), printer, zeros)
    return f"{pad}{ident(x)} = {base}_[{i}] if {i} in {base}_ else {zero}"


def _sparse(lines):
    """The sequences read at step t but written only at fixed steps (T)."""
    written = {}
    for a in lines:
        if parts(a.name) is not None:
            written.setdefault(parts(a.name)[0], set()).add(parts(a.name)[1].has(sp.Symbol("t")))
    return {b for b, per_step in written.items() if True not in per_step and b != "X"}


def _block(lines, printer, pad, zeros, sparse=()):
    """Loads, one statement per line, stores (see the module docstring)."""
    defined = {a.name for a in lines}
    reads = [x for a in lines for x in _steps(a.expr) if x not in defined]
    out = [_load(x, printer, zeros, sparse, pad) for x in dict.fromkeys(reads)]
    out += [f"{pad}{_name(a)} = {_code(a, printer, zeros)}" for a in lines]
    out += [f"{pad}{parts(a.name)[0]}_[{parts(a.name)[1]}] = {ident(a.name)}"
            for a in lines if parts(a.name) is not None]
    return out


def body(lines, loops, printer, pad="    ", zeros="dtype=X.dtype"):
    """The statements of a function computing `lines` (Assignments, some in `loops`)."""
    out, by_name, i = [], {n: lp for lp in loops for n in lp.names}, 0
    sparse = _sparse(lines)
    while i < len(lines):
        a, lp = lines[i], by_name.get(lines[i].name)
        if lp is not None:
            group = lines[i:i + len(lp.names)]
            out.append(f"{pad}for t in {'range(T, 0, -1)' if lp.reverse else 'range(1, T + 1)'}:")
            out += _block(group, printer, pad + "    ", zeros, sparse)
        elif _sum(a) is not None:     # accumulated over t into its name, then the line
            group = [a]
            while i + len(group) < len(lines) and _sum(lines[i + len(group)]) is not None:
                group.append(lines[i + len(group)])
            out += [f"{pad}{g.name.name} = 0" for g in group]
            out.append(f"{pad}for t in range(1, T + 1):")
            reads = [x for g in group for x in _steps(_sum(g).arg)]
            out += [_load(x, printer, zeros, sparse, pad + "    ")
                    for x in dict.fromkeys(reads)]
            out += [f"{pad}    {g.name.name} = {g.name.name} + {printer.doprint(_sum(g).arg)}"
                    for g in group]
            for g in group:
                rest = g.expr.xreplace({_sum(g): sp.MatrixSymbol(g.name.name, *g.name.shape)})
                if rest != g.name:
                    out.append(f"{pad}{g.name.name} = {printer.doprint(rest)}")
        else:
            group = [a]
            out += _block(group, printer, pad, zeros, sparse)
        i += len(group)
    return out


def _prologue(b, lines, printer, zeros="dtype=X.dtype"):
    """N and the sizes from the arguments, T, the steps of X and a dict per sequence."""
    net = b.network
    sources = [(net.X, "X")] + [(p.symbol, p.symbol.name) for p in net.params]
    T, F = b.model.input
    stepped = getattr(b, "stepped", ())
    bases = sorted({parts(x)[0] for a in lines for x in [a.name, *_steps(a.expr)]
                    if isinstance(x, sp.MatrixSymbol) and parts(x) is not None}
                   - {"X", *stepped})
    eye = printer.doprint(sp.Identity(T))[:-1] + f", {zeros})"     # in X's dtype, on its device
    return (dimension_lines(printer, sources, shape_symbols([m for m, _ in sources])) +
            [f"    T = {T}",
             f"    X_ = {{t: X[(t - 1) * {F}:t * {F}] for t in range(1, T + 1)}}   # the steps"] +
            [f"    {e}_ = {{t: {e}[:, t - 1:t] for t in range(1, T + 1)}}   # a column per step"
             for e in stepped] + ([f"    I_T = {eye}"] if stepped else []) +
            ([f"    {', '.join(f'{x}_' for x in bases)} = "
              f"{', '.join('{}' for _ in bases)}{',' if len(bases) == 1 else ''}"]
             if bases else []))


def assemble(b):
    """dE1 from its columns dE1[t] (a parameter per step: position's E1)."""
    out = []
    for e in getattr(b, "stepped", ()):
        out += [f"    d{e} = 0", "    for t in range(1, T + 1):",
                f"        d{e} = d{e} + d{e}_[t] @ I_T[t - 1:t]"]
    return out


def _rows(lines, names=None):
    return [f"{latex(a.name, names=names)} = {latex(a.expr, names=names)}" for a in lines]


def kernel_source(b, backend="numpy"):
    """The kernel module of a sequence network's Backprop for the array library `backend`."""
    be = _backend(backend, check=False)
    m, net = b.model, b.network
    params = [p.symbol for p in net.params]
    pnames = [p.name for p in params]
    fwd = list(b.forward.assignments[:-1])
    output = fwd[-1].name

    p1 = _named(be.printer(), fwd)
    zeros = "dtype=X.dtype" + (", device=X.device" if be.devices else "")
    code1 = body(fwd, b.loops, p1, zeros=zeros)
    pred = [f"def predict(X, {', '.join(pnames)}):",
            f'    r"""The network\'s output {text(output)}, a loop over the steps t."""',
            *_prologue(b, fwd, p1, zeros), *code1, f"    return {output.name}"]

    L = sp.Symbol("L")
    lines = fwd + [type(b.forward.assignments[-1])(L, net.stable_loss)] + list(b.backward)
    p2 = _named(be.printer(), lines)
    code2 = body(lines, b.loops, p2, zeros=zeros)
    args = ["X", "Y", *pnames] + (["lam"] if net.lam is not None else [])
    grads = ", ".join(b.gradients[p].name for p in params)
    lag = [f"def loss_and_gradients({', '.join(args)}):",
           f'    r"""The loss L and its gradients ({", ".join(f"d{p}" for p in pnames)}), '
           'denominator layout: backpropagation through time, one line per formula."""',
           *_prologue(b, lines, p2, zeros), *code2, *assemble(b), f"    return L, ({grads},)"]

    helpers = sorted(p1.helpers_used | p2.helpers_used)
    header = [
        *module_title(be, m),
        "", "Derived, simplified and proven by matcalc: the recurrence over t, each line one",
        f'formula. Needs {be.title} only."""' if be.reference else
        f'formula. The gradients are these formulas, not {be.title}\'s autograd."""',
        *be.imports, "",
        "# What a trainer reads (see codegen/kernels.py).",
        *trainer_constants(b),
    ]
    blocks = ["\n".join(header)]
    if helpers:
        blocks.append(be.helpers(helpers))
    blocks += ["\n".join(pred), "\n".join(lag)]
    if be.runtime:
        blocks.append(be.runtime.rstrip())
    return "\n\n\n".join(blocks) + "\n"
