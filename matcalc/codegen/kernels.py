"""Backprop program → NumPy kernel module: one line per formula, named like the math.

Codegen (stage 5). Consumes the Backprop of a model (nn/backprop.py); produces the source of
a module with `predict(X, params…)` and `loss_and_gradients(X, Y, params…[, lam])`, each line
one assignment of the derivation (Z1, A1, delta2, dW2 …) printed by printing/numpy.py, the
forward values computed once and reused by the backward lines, the loss computed from the
logits as the loss table writes it stably (log softmax, softplus). The NumPy kernels run as
codegen/plan.py plans them: in place where an array is free (Z = W A; Z += b; A = tanh(Z)
into Z; δ *= f'), the mean's 1/N once in the seed δ, one exp for softmax and log softmax,
dead names dropped; the docstring gives the formula each statement implements. The module
also carries the data a trainer needs: the parameter spec PARAMS, the sample axis, the sizes
of input and output. `compile` loads it from a file named by its content's hash, so that
tracebacks show the generated lines and the same kernels are written once.
"""
import hashlib
import importlib.util
import os
import tempfile
import types
from dataclasses import dataclass
from pathlib import Path

import sympy as sp

from ..core.expr import matmul, ones, rebuild
from ..core.nodes import LogSoftmax, Softmax
from ..core.program import Assignment
from ..printing.latex import latex
from .inplace import UFUNCS, inplace_code, operand_code, softmax_pair_code
from ..printing.report import gradient_names
from ..printing.text import text
from .backends import backend as _backend
from .check import check_backend
from .function import dimension_lines, shape_symbols
from .plan import plan


def _line(name, expr, printer):
    return f"    {name} = {printer.doprint(expr)}"


def _dims_lines(b, printer):
    """`N = X.shape[1]` and the layer sizes the printed code uses, read from the arguments."""
    net = b.network
    sources = [(net.X, "X")] + [(p.symbol, p.symbol.name) for p in net.params]
    return dimension_lines(printer, sources, shape_symbols([m for m, _ in sources]))


def param_spec(b):
    """The parameters as data for a trainer: name, layer, kind, concrete shape, init, fans."""
    sub = b.model.concrete()
    return tuple({"name": p.symbol.name, "layer": p.layer, "kind": p.kind,
                  "shape": tuple(int(sp.sympify(d).xreplace(sub)) for d in p.symbol.shape),
                  "init": p.init, "fan_in": p.fan_in, "fan_out": p.fan_out}
                 for p in list(b.network.params) + [p for p, _ in b.network.running])


def _statement(steps, k, printer):
    """The NumPy statement of steps[k] (see plan.Step), and how many steps it covers: an
    operand's buffer taken over is written by the first update, `D = np.subtract(S, Y, out=S)`."""
    s = steps[k]
    name = s.name.name if s.how != "pair" else ", ".join(n.name for n in s.names)
    if s.how == "pair":
        out = s.into.name if s.into is not None else None
        return f"{name} = {softmax_pair_code(printer, s.expr, s.axis, out)}", 1
    if s.how == "copy":
        return f"{name} = np.copy({printer.doprint(s.expr)})", 1
    if s.how in UFUNCS:
        code = inplace_code(printer, s.expr, s.into.name) if s.into is not None else None
        return f"{name} {s.how} {code or operand_code(printer, s.expr, s.how)}", 1
    if s.into is not None and s.expr == s.into:          # the buffer of s.into, updated next
        nxt = steps[k + 1] if k + 1 < len(steps) else None
        if nxt is not None and nxt.names == s.names and nxt.how in UFUNCS:
            code, buf = operand_code(printer, nxt.expr, nxt.how), s.into.name
            return f"{name} = {UFUNCS[nxt.how]}({buf}, {code}, out={buf})", 2
        return f"{name} = {s.into.name}", 1
    if s.into is not None:
        code = inplace_code(printer, s.expr, s.into.name)
        if code is not None:
            return f"{name} = {code}", 1
    return f"{name} = {printer.doprint(s.expr)}", 1


def _planned(assignments, inputs, outputs, adjoints, printer, names=None, rows=None):
    """(statements, docstring rows) of a planned function body (codegen/plan.py); `rows`
    overrides the docstring row of a name (the loss is documented in its textbook form)."""
    pl = plan(assignments, inputs, outputs, adjoints)
    code, k = [], 0
    while k < len(pl.steps):
        text_, n = _statement(pl.steps, k, printer)
        code.append(f"    {text_}")
        free = pl.steps[k + n - 1].free
        if free:
            code.append(f"    del {', '.join(f.name for f in free)}")
        k += n
    doc = []
    for line in pl.lines:
        if line.axis is not None:
            S, P = line.names
            doc += [f"{latex(S)} = {latex(Softmax(line.expr, line.axis))}",
                    f"{latex(P)} = {latex(LogSoftmax(line.expr, line.axis))}"]
        elif rows and line.name in rows:
            doc.append(rows[line.name])
        else:
            doc.append(f"{latex(line.name, names=names)} = {latex(line.expr, names=names)}")
    return code, doc, pl


def _doc(title, rows):
    body = "\n".join(f"        {r}" for r in rows)
    return f'    r"""{title}\n\n{body}\n    """'


def kernel_source(b, backend="numpy"):
    """The kernel module of a Backprop (see the module docstring), printed for the array
    library `backend` (a record of codegen/backends.py: numpy, torch, jax)."""
    if getattr(b, "loops", None):      # a recurrence over t (nn/sequences.py)
        from .loops import kernel_source as loop_source
        return loop_source(b, backend)
    be = _backend(backend, check=False)
    m, net = b.model, b.network
    about = m.summary()
    params = [p.symbol for p in net.params]
    pnames = [p.name for p in params]
    names = gradient_names(b)
    fwd = list(b.forward.assignments[:-1])
    output = fwd[-1].name

    running = [p.symbol for p, _ in net.running]     # batch norm's, kept by the trainer
    pnames += [r.name for r in running]
    # predict uses each batch statistic's running value (a column, over the batch)
    kept = {name: matmul(p.symbol, ones(1, name.shape[1])) for p, name in net.running}
    pfwd = [Assignment(a.name, _unmasked(net, kept.get(a.name, a.expr))) for a in fwd]
    p1 = be.printer()
    pred_lines = [_line(a.name.name, a.expr, p1) for a in pfwd]
    pred_rows = [f"{latex(a.name)} = {latex(a.expr)}" for a in pfwd]
    if be.inplace:      # planned: in place, buffers reused (codegen/plan.py)
        pred_lines, pred_rows, _ = _planned(pfwd, [net.X, *params, *running], [output], (),
                                            p1)
    pred = [f"def predict(X, {', '.join(pnames)}):",
            _doc("The network's output " + text(output) + ", one line per formula:",
                 pred_rows),
            *_dims_lines(b, p1), *pred_lines, f"    return {output.name}"]

    p2 = be.printer()
    body = [_line(a.name.name, a.expr, p2) for a in fwd]
    body.append(_line("L", net.stable_loss, p2))
    body += [_line(a.name.name, a.expr, p2) for a in b.backward]
    grads = ", ".join(b.gradients[p].name for p in params)
    args = ["X", "Y", *pnames] + (["lam"] if net.lam is not None else []) + \
        (["masks=None"] if net.masks else [])
    ms = [M.name for M, _ in net.masks]     # dropout's, drawn by the trainer; none: no dropout
    unpack = [f"    {', '.join(ms)}, = (1,) * {len(ms)} if masks is None else masks"] if ms else []
    rows = ([f"{latex(a.name)} = {latex(a.expr)}" for a in fwd] +
            [f"L = {latex(b.forward.assignments[-1].expr)}"] +
            [f"{latex(a.name, names=names)} = {latex(a.expr, names=names)}"
             for a in b.backward])
    if be.inplace:
        L = sp.Symbol("L")
        outs = [L] + [b.gradients[p] for p in params]
        lam = [net.lam] if net.lam is not None else []
        body, rows, pl = _planned(
            fwd + [Assignment(L, net.stable_loss)] + list(b.backward),
            [net.X, net.Y, *params, *lam, *(M for M, _ in net.masks)], outs,
            [a.name for a in b.backward if a.name not in set(outs)], p2, names,
            {L: rows[len(fwd)]})
        if pl.folded is not None:
            rows.append(f"(the mean's {latex(pl.folded)} is folded once into the seed "
                        r"\delta: every \delta here is the textbook one times it)")
    lag = [f"def loss_and_gradients({', '.join(args)}):",
           _doc("The loss L and its gradients (" + ", ".join(f"d{p}" for p in params) +
                "), denominator layout, one line per formula:", rows),
           *_dims_lines(b, p2), *unpack, *body, f"    return L, ({grads},)"]

    helpers = sorted(p1.helpers_used | p2.helpers_used)
    header = [
        f'"""{be.title} kernels generated by matcalc for a {m.name} network:',
        f"hidden {about['hidden']}; output {about['output']}; loss "
        f"{about['loss']} ({about['reduction']} over the batch); samples as {about['layout']}"
        f"{'; L2 (lam/2)·Σ‖W‖²' if m.l2 else ''}.",
        "", "Derived, simplified and proven by matcalc; each line implements the formula its",
        f'docstring gives in LaTeX. Needs {be.title} only."""' if be.reference else
        f'docstring gives in LaTeX. The gradients are these formulas, not {be.title}\'s '
        'autograd."""',
        *be.imports, "",
        "# What a trainer reads: the parameters in the order the kernels take them, the axis",
        "# of X that holds the samples, the sizes of a sample and of the output, whether",
        "# loss_and_gradients takes the L2 weight lam.",
        "PARAMS = (",
        *[f"    {spec!r}," for spec in param_spec(b)],
        ")",
        f"SAMPLE_AXIS = {net.sample_axis}",
        f"FEATURES = {m.n_inputs}",
        f"OUTPUTS = {m.n_outputs}",
        f"L2 = {net.lam is not None!r}",
        f"REDUCTION = {m.reduction!r}",
        *([f"DROPOUT = {tuple(_dropout_spec(b))!r}  # the masks= of loss_and_gradients"]
          if net.masks else []),
    ]
    blocks = ["\n".join(header)]
    if helpers:
        blocks.append(be.helpers(helpers))
    blocks += ["\n".join(pred), "\n".join(lag)] + _statistics(b, be, pnames)
    if be.runtime:
        blocks.append(be.runtime.rstrip())
    return "\n\n\n".join(blocks) + "\n"


def _unmasked(net, e):
    """e without dropout: each mask all ones (predict, the batch statistics)."""
    if not net.masks:
        return e
    off = {M: ones(*M.shape) for M, _ in net.masks}
    return rebuild(e, lambda x: off.get(x, x))


def _dropout_spec(b):
    """Each mask as data for the trainer: its name, rows (one column per sample) and p."""
    sub = b.model.concrete()
    return ({"name": M.name, "rows": int(sp.sympify(M.shape[0]).xreplace(sub)), "p": float(p)}
            for M, p in b.network.masks)


def _statistics(b, be, pnames):
    """statistics(X, params…): the batch statistics of batch norm (training mode), each as
    a column, for the trainer's running values; nothing for a network without them."""
    net = b.network
    if not net.running:
        return []
    wanted = {name for _, name in net.running}
    last = max(i for i, a in enumerate(net.forward) if a.name in wanted)
    p = be.printer()
    lines = [_line(a.name.name, _unmasked(net, a.expr), p)
             for a in list(net.forward)[:last + 1]]
    cols = ", ".join(f"{name.name}[:, :1]" for _, name in net.running)
    return ["\n".join([f"def statistics(X, {', '.join(pnames)}):",
                       '    """The batch statistics (training mode) whose running values '
                       'predict takes."""', *_dims_lines(b, p), *lines,
                       f"    return ({cols},)"])]


@dataclass
class Kernels:
    """The compiled kernels: call predict / loss_and_gradients; `source` is their code."""
    source: str
    module: types.ModuleType
    path: Path = None

    def __getattr__(self, name):
        return getattr(self.module, name)

    def _repr_markdown_(self):
        """Jupyter shows the generated module as a Python code block."""
        where = f"`{self.path}`" if self.path else "matcalc's kernels"
        return f"{where}\n\n```python\n{self.source}```"


def _cache_dir():
    """A folder of this user's for kernel modules: one file per distinct source."""
    folder = Path(os.environ.get("MATCALC_CACHE") or
                  Path(tempfile.gettempdir()) / f"matcalc-kernels-{os.getuid()}")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def compile(b, path=None, backend="numpy", device=None):
    """Kernels of a Backprop, loaded from `path`, or from a cache file named by the source's
    hash (written once, atomically; MATCALC_CACHE sets the folder). `backend`: the array
    library they run on (numpy, torch, jax: BackendError when it is not installed);
    `device`: torch's (cpu, cuda, cuda:N; JAX chooses its own).

    >>> from matcalc import mlp, derive
    >>> k = compile(derive(mlp([4, 5, 3])))
    >>> [p["name"] for p in k.PARAMS], k.SAMPLE_AXIS
    (['W1', 'b1', 'W2', 'b2'], 1)
    """
    be = _backend(backend, device)
    source = kernel_source(b, backend)
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    if path is None:
        path = _cache_dir() / f"kernels_{digest}.py"
        if not (path.exists() and path.read_text() == source):
            _write_atomically(path, source)
    else:
        path = Path(path)
        _write_atomically(path, source)
    spec = importlib.util.spec_from_file_location(f"matcalc_kernels_{digest}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if device is not None and be.devices:     # checked by _backend above
        module.set_device(device)
    if not be.reference:     # checked against the NumPy kernels before anything uses it
        check_backend(b, module, compile(b), be.title)
    return Kernels(source, module, path)


def _write_atomically(path, text_):
    """A temporary file beside path, then a rename: a reader never sees half a module."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text_)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
