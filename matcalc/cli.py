"""The command line: `matcalc grad EXPR --wrt X`, `matcalc derive --layers …`, `train`, ….

CLI (stage 8, the top). The result goes to stdout; provenance ("verified …", "given that …")
and progress go to stderr, so `matcalc grad … --format latex > eq.tex` keeps the formula
alone. Exit codes (EXIT_CODES): every MatcalcError is a one-paragraph message and code 2;
any other exception an 'internal error' line and code 3, never a traceback.
"""
import argparse
import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import sympy as sp

from .api import (GRADIENT_LAYOUT_WORDS, PROOFS, backprop_record, check, derive, grad, hessian,
                  jacobian, verify_backprop)
from .codegen.kernels import compile as compile_kernels
from .nn.cnn import cnn
from .nn.spec import mlp
from .printing import report
from .core.errors import MatcalcError, speaking
from .core.expr import is_matrix, shape
from .parse import entrywise_power_notes, parse_shape
from .core.functions import T
from .printing.text import text
from .train.trainer import DEFAULTS, TrainingError

EXIT_CODES = {0: "done", 1: "a gradient was proven wrong", 2: "bad input (the message says "
              "what and where)", 3: "a bug in matcalc (please report the input)",
              130: "interrupted (Ctrl-C)"}


def _say(*lines):
    """Provenance and progress: stderr, so that stdout holds the result alone."""
    for line in lines:
        print(line, file=sys.stderr)


def _shapes(specs):
    shapes = {}
    for spec in specs or ():
        name, sep, shape = spec.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise MatcalcError(f"--shape takes NAME=SHAPE (e.g. X=3x4 or X=n x m), not {spec!r}")
        if name in shapes:
            raise MatcalcError(f"--shape gives {name} twice; declare each name once")
        shapes[name] = parse_shape(shape)
    return shapes


def _size(d):
    """A size in a shape: (m*n)×(m*n), grouped unless a number or a name."""
    return text(d) if d.is_Atom else f"({text(d)})"


def _shape_line(g):
    mats = sorted(g.f.atoms(sp.MatrixSymbol), key=lambda m: list(g.symbols).index(m.name)
                  if m.name in g.symbols else len(g.symbols))
    parts = [f"{m.name}: {_size(m.shape[0])}×{_size(m.shape[1])}" for m in mats]
    scalars = [text(s) for s in g.f.free_symbols
               if isinstance(s, sp.Symbol) and not s.is_integer and s != T]
    if scalars:
        parts.append(", ".join(sorted(scalars)) + ": scalar")
    return "(" + ", ".join(parts) + ")"


# "the shape of alphaᵀ (the transpose)" says nothing about a number
SCALAR_LAYOUT_WORDS = "{0} is a scalar: ∂f/∂{0} is the same number in every layout"


def cmd_grad(args):
    shapes = _shapes(args.shape)
    layout = args.layout or "denominator"
    g = grad(args.expr, args.wrt, shapes=shapes, assume=args.assume or (), layout=layout)
    _declared(shapes, g)
    if args.verify != "none":
        g.verify(method=args.verify)
    if args.format == "text":
        print(f"{g}    {_shape_line(g)}")
        if args.layout:           # asked for: the result says which one it is in
            words = GRADIENT_LAYOUT_WORDS[layout] if is_matrix(g.wrt) else SCALAR_LAYOUT_WORDS
            print(words.format(text(g.wrt)))
    elif args.format == "latex":
        print(g.latex())
    elif args.format == "numpy":
        print(g.numpy_source())
    elif args.format == "json":
        print(_json(g.to_dict(verified=args.verify, layout=layout)))
    else:
        print(g.steps())      # the derivation ends with its own "given that"
    if g.assumptions and args.format != "steps":
        _say("given that " + "; ".join(str(a) for a in g.assumptions))
    if args.verify != "none":
        _say(f"verified {PROOFS[args.verify]}")
    for note in entrywise_power_notes(g.f):     # X**2 of a square X: not X @ X
        _say("note: " + note)


def cmd_jacobian(args):
    shapes = _shapes(args.shape)
    j = jacobian(args.expr, args.wrt, shapes=shapes, assume=args.assume or (),
                 layout=args.layout)
    _declared(shapes, j)
    if args.verify != "none":
        j.verify(method=args.verify)
    _print_result(args, j, f"{j}    {_shape_line(j)}\n{j.layout_line()}")


def cmd_hessian(args):
    shapes = _shapes(args.shape)
    h = hessian(args.expr, args.wrt, shapes=shapes, assume=args.assume or (), form=args.form)
    _declared(shapes, h.gradient)
    if args.verify != "none":
        h.verify(method=args.verify)
    if h.form == "product":
        v, x = h.direction.name, text(h.wrt)
        size = "×".join(_size(d) for d in h.wrt.shape) if is_matrix(h.wrt) else "scalar"
        line = (f"{h}    {_shape_line(h)[:-1]}, {v}: {size})\n"
                f"{v} is a direction: H[{v}] = d/dε ∇f({x} + ε{v}) at ε = 0")
    else:
        m = shape(h.expr)[0]
        size = text(m) if m.is_Atom else f"({text(m)})"
        line = (f"{h}    {_shape_line(h)}\nH = ∂²f/∂vec({text(h.wrt)})∂vec({text(h.wrt)})ᵀ, "
                f"{size}×{size}, symmetric (every layout)")
    _print_result(args, h, line)


def _print_result(args, r, text_lines):
    """A Jacobian's or Hessian's output in args.format, then its provenance (stderr)."""
    if args.format == "text":
        print(text_lines)
    elif args.format == "latex":
        print(r.latex())
    elif args.format == "numpy":
        print(r.numpy_source())
    else:
        print(_json(r.to_dict(verified=args.verify)))
    if r.assumptions:
        _say("given that " + "; ".join(str(a) for a in r.assumptions))
    if args.verify != "none":
        _say(f"verified {PROOFS[args.verify]}")


def _declared(shapes, g):
    unused = sorted(set(shapes) - set(g.symbols))
    if unused:
        raise MatcalcError(f"--shape declares {', '.join(unused)}, which the expression does "
                           f"not use (its variables: {', '.join(g.symbols) or 'none'})")


def _json(record):
    """--format json: one object on stdout (README "JSON output" lists its keys)."""
    return json.dumps(record, indent=2, ensure_ascii=False)


def cmd_check(args):
    """Exit 0 when the claim is proven ∂f/∂X; 1 when it is proven wrong, with the first
    differing entry, both values and matcalc's own gradient; 2 for bad input (a claim that
    does not parse, or of another shape than X)."""
    shapes = _shapes(args.shape)
    c = check(args.expr, args.wrt, args.claim, shapes=shapes, assume=args.assume or (),
              method=args.verify)
    _declared(shapes, c.gradient)
    print(_json(c.to_dict()) if args.format == "json" else c.message())
    return 0 if c.correct else 1


def _model(args):
    l2 = False if args.l2 is None else (True if args.l2 == "lam" else _number(args.l2, "--l2"))
    if (args.layers is None) == (args.net is None):
        raise MatcalcError("give the network either as --layers 64,128,10 (an MLP) or as "
                           "--input 1x8x8 --net \"conv(8, 3, pad=1), relu, maxpool(2), "
                           "dense(10)\"")
    if args.net is not None:
        if args.input is None:
            raise MatcalcError("--net needs the input's shape: --input CxHxW, such as 1x8x8")
        if args.layout != "columns" or args.no_bias:
            raise MatcalcError("convolutional networks take samples as columns, with biases: "
                               "drop --layout rows and --no-bias")
        return cnn(args.input, args.net, loss=args.loss, l2=l2, reduction=args.reduction)
    try:
        layers = [int(s) for s in args.layers.split(",")]
    except ValueError:
        raise MatcalcError(f"--layers takes sizes separated by commas, e.g. 64,128,10, "
                           f"not {args.layers!r}") from None
    hidden = args.hidden.split(",") if "," in args.hidden else args.hidden
    return mlp(layers, hidden=hidden, loss=args.loss, l2=l2, bias=not args.no_bias,
               reduction=args.reduction, layout=args.layout)


def _number(s, what):
    try:
        value = float(s)
    except ValueError:
        raise MatcalcError(f"{what} takes a number (λ ≥ 0) or 'lam', not {s!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise MatcalcError(f"{what} must be a finite number ≥ 0, not {s}")
    return value


def cmd_derive(args):
    b = derive(_model(args))
    subs = b.model.concrete()
    if args.format == "text":
        out = [report.program_text(b.forward, shapes=args.shapes, subs=subs), "",
               report.program_text(b.backward, shapes=args.shapes, subs=subs)]
    elif args.format == "latex":
        names = report.gradient_names(b)
        out = [report.align(report.program_latex(b.forward, shapes=args.shapes, subs=subs)
                            + " \\\\\n" +
                            report.program_latex(b.backward, names=names, shapes=args.shapes,
                                                 subs=subs))]
    elif args.format == "steps":
        out = [report.program_text(b.forward), "", report.steps_text(b.derivation), "",
               report.program_text(b.backward)]
    if args.verify:
        verify_backprop(b)
    try:
        print(_json(backprop_record(b, verified=args.verify)) if args.format == "json"
              else "\n".join(out))
    finally:      # said even when the reader of stdout left early (`| head`)
        if b.assumptions:
            _say("given that " + "; ".join(str(a) for a in b.assumptions)
                 + " (one-hot targets)")
        if args.verify:
            _say("verified: every gradient, by central differences")


def cmd_report(args):
    b = derive(_model(args))
    verify_backprop(b)
    tex = report.backprop_report(b)
    out = Path(args.output)
    try:
        out.write_text(tex)
    except OSError as e:
        raise MatcalcError(f"cannot write {out}: {e.strerror}") from None
    print(f"wrote {out}")
    if args.no_pdf:
        return
    if not shutil.which("pdflatex"):
        _say(f"no PDF: pdflatex is not installed (Debian: apt install texlive-latex-base); "
             f"{out} compiles with any LaTeX")
        return
    # pdflatex leaves .aux and .log beside the PDF: remove those this run made, not a
    # user's own; on failure the log stays, for it says what went wrong
    made = [p for p in (out.with_suffix(".aux"), out.with_suffix(".log")) if not p.exists()]
    try:
        run = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode",
                              out.name], cwd=out.parent, capture_output=True, text=True,
                             timeout=600)
        failed = run.returncode != 0
    except subprocess.TimeoutExpired:
        failed = True
    for p in made:
        if p.exists() and not (failed and p.suffix == ".log"):
            p.unlink()
    if failed:
        raise MatcalcError(f"pdflatex failed on {out}; see {out.with_suffix('.log')}")
    print(f"wrote {out.with_suffix('.pdf')}")


def cmd_train(args):
    from .api import train
    model = _model(args)
    data = args.data or args.data_dir
    lam = None if args.l2 in (None, "lam") else float(args.l2)
    if args.plot and importlib.util.find_spec("matplotlib") is None:   # before, not after
        raise MatcalcError(PLOT_NEEDS)
    try:
        result = train(model, data, output=args.output, epochs=args.epochs,
                       batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
                       lam=lam, seed=args.seed, dtype=args.dtype, binary=args.binary,
                       names=TRAINING_FLAGS, history=args.history or True,
                       backend=args.backend, device=args.device, nproc=args.nproc)
    except KeyboardInterrupt as e:
        print(f"matcalc: stopped: {e}", file=sys.stderr)
        return 130
    last = result.history[-1]
    n = last["epoch"]
    print(f"test accuracy {100 * last['test']:.1f}% after {n} epoch{'s' * (n != 1)}")
    print(result.note)
    if args.plot:
        _plot(result.history, args.plot)


PLOT_NEEDS = "--plot needs matplotlib: pip install 'matcalc-nn[plot]'"


def _plot(history, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MatcalcError(PLOT_NEEDS) from None
    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    ax[0].plot(ep, [h["loss"] for h in history])
    ax[0].set(xlabel="epoch", ylabel="training loss")
    ax[1].plot(ep, [h["train"] for h in history], label="train")
    ax[1].plot(ep, [h["test"] for h in history], label="test")
    ax[1].set(xlabel="epoch", ylabel="accuracy")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(path)
    print(f"saved the learning curves to {path}")


def cmd_codegen(args):
    from .train.data import DIGITS_FILE
    from .train.script import needs_other_data, script_source
    model = _model(args)
    b = derive(model)
    verify_backprop(b)
    if args.backend != "numpy":    # installed, and its kernels agree with NumPy's
        compile_kernels(b, backend=args.backend, device=args.device)
    out = Path(args.output)
    other = needs_other_data(model)
    try:
        _atomic_write(out, script_source(b, args.backend, args.device))
        digits = out.with_name("digits.csv.gz")
        if other is None and not digits.exists():
            digits.write_bytes(DIGITS_FILE.read_bytes())
    except OSError as e:
        raise MatcalcError(f"cannot write {out}: {e.strerror}") from None
    if other is None:
        needs = {"numpy": "NumPy only", "torch": "NumPy and PyTorch",
                 "jax": "NumPy and JAX"}[args.backend]
        print(f"wrote {out} and {digits}: run python {out} ({needs}; --data-dir DIR for "
              "MNIST)")
    else:
        print(f"wrote {out}; {other}")


def _atomic_write(path, content):
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(content)
    os.replace(tmp, path)


def _model_arguments(p):
    p.add_argument("--layers", help="an MLP's sizes input,hidden…,output: 64,128,10")
    p.add_argument("--input", metavar="CxHxW",
                   help="a convolutional network's input: channels x height x width, 1x8x8")
    p.add_argument("--net", metavar="LAYERS",
                   help='a convolutional network: "conv(8, 3, pad=1), relu, maxpool(2), '
                        'dense(10)" — conv(filters, kernel[, stride=1][, pad=0]), '
                        "maxpool(k[, stride=k]), avgpool(k[, stride=k]), relu|sigmoid|tanh, "
                        "flatten (implicit before the first dense), dense(units)")
    p.add_argument("--hidden", default="sigmoid",
                   help="sigmoid|tanh|relu|softplus|identity, or one per hidden layer: relu,tanh")
    p.add_argument("--loss", default="cross-entropy",
                   help="cross-entropy (softmax) | binary-cross-entropy (sigmoid) | "
                        "squared-error (identity) | hinge (linear scores)")
    p.add_argument("--l2", metavar="LAMBDA", help="L2 penalty (λ/2)Σ‖W‖²: a value ≥ 0, or lam "
                   f"(a symbol; trained with λ = {DEFAULTS['lam']})")
    p.add_argument("--no-bias", action="store_true", help="layers without bias")
    p.add_argument("--reduction", choices=["mean", "sum"], default="mean",
                   help="the loss over the batch")
    p.add_argument("--layout", choices=["columns", "rows"], default="columns",
                   help="samples as columns (X: features×N) or rows (X: N×features)")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default only where it says something: not "(default: None)" for an unset
    option, nor "(default: True)" under --no-verify (the flag's stored value)."""

    def _get_help_string(self, action):
        if action.default is None or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


def build_parser():
    epilog = "exit codes: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items())
    p = argparse.ArgumentParser(prog="matcalc", description="Symbolic matrix calculus for "
                                "neural networks: gradients by the trace trick, proven.",
                                epilog=epilog)
    p.add_argument("--version", action="version", version=f"matcalc {_version()}")
    sub = p.add_subparsers(dest="command", required=True)

    def command(name, help):
        return sub.add_parser(name, help=help, description=help, epilog=epilog,
                              formatter_class=_HelpFormatter)

    g = command("grad", "the gradient of a scalar matrix expression")
    _expression_arguments(g)
    g.add_argument("--format", choices=["text", "latex", "numpy", "steps", "json"],
                   default="text", help="how to print the result")
    g.add_argument("--verify", choices=["both", "exact", "numeric", "none"], default="both",
                   help="prove the result before printing it")
    g.add_argument("--layout", choices=["denominator", "numerator", "mixed"],
                   help="denominator (the default: ∂f/∂X has the shape of X, as matcalc "
                        "computes), numerator (its transpose) or mixed (denominator for a "
                        "scalar by a matrix); when given, the text output states it")
    g.set_defaults(run=cmd_grad)

    j = command("jacobian", "the Jacobian ∂vec(F)/∂vec(X)ᵀ of a vector or matrix expression, "
                "read off d vec F = J d vec X (with kron, vec and the commutation matrix)")
    _expression_arguments(j, example="A @ X")
    j.add_argument("--format", choices=["text", "latex", "numpy", "json"], default="text",
                   help="how to print the result")
    j.add_argument("--verify", choices=["both", "exact", "numeric", "none"], default="both",
                   help="prove the result before printing it (exact: sympy.diff of vec(F))")
    j.add_argument("--layout", choices=["numerator", "denominator", "mixed"],
                   default="numerator", help="numerator: a row per entry of vec(F) (m×n for "
                   "f: ℝⁿ → ℝᵐ); denominator: the transpose; mixed: numerator for a vector "
                   "or matrix F, denominator for a scalar f")
    j.set_defaults(run=cmd_jacobian)

    h = command("hessian", "the Hessian of a scalar expression: the product H[V] with a "
                "direction V, or the matrix ∂²f/∂vec(X)∂vec(X)ᵀ")
    _expression_arguments(h)
    h.add_argument("--form", choices=["product", "matrix"], default="product",
                   help="product: H[V] = d/dε ∇f(X + εV) at 0, V of X's shape; matrix: "
                        "∂²f/∂vec(X)∂vec(X)ᵀ")
    h.add_argument("--format", choices=["text", "latex", "numpy", "json"], default="text",
                   help="how to print the result")
    h.add_argument("--verify", choices=["both", "exact", "numeric", "none"], default="both",
                   help="prove the result (and the gradient it differentiates) first")
    h.set_defaults(run=cmd_hessian)

    k = command("check", "prove a claimed gradient right (exit 0) or wrong (exit 1: the first "
                "differing entry and matcalc's gradient)")
    _expression_arguments(k)
    k.add_argument("--claim", required=True, metavar="GRADIENT",
                   help='your ∂f/∂X in the same syntax, e.g. "A.T @ B.T" (denominator layout: '
                        'the shape of X)')
    k.add_argument("--format", choices=["text", "json"], default="text",
                   help="how to print the verdict")
    k.add_argument("--verify", choices=["both", "exact", "numeric"], default="both",
                   help="how to prove the claim (and matcalc's own gradient)")
    k.set_defaults(run=cmd_check)

    d = command("derive", "textbook backprop formulas for an MLP or a convolutional network")
    _model_arguments(d)
    d.add_argument("--format", choices=["text", "latex", "steps", "json"], default="text",
                   help="how to print the formulas")
    d.add_argument("--shapes", action="store_true", help="print the shape of each formula")
    d.add_argument("--no-verify", dest="verify", action="store_false",
                   help="skip the proof by central differences")
    d.set_defaults(run=cmd_derive)

    r = command("report", "a standalone LaTeX document (and PDF with pdflatex)")
    _model_arguments(r)
    r.add_argument("-o", "--output", default="report.tex", help="the .tex file to write")
    r.add_argument("--no-pdf", action="store_true", help="write the .tex only")
    r.set_defaults(run=cmd_report)

    t = command("train", "train the network with its generated kernels")
    _model_arguments(t)
    _training_arguments(t)
    t.add_argument("-o", "--output", default="mlp.npz", help="where the weights go (.npz)")
    t.add_argument("--history", metavar="PATH.json|PATH.csv",
                   help="where the per-epoch history (epoch, loss, train and test accuracy, "
                        "seconds) goes; by default beside the weights: mlp.history.json")
    t.add_argument("--plot", metavar="PNG", help="learning curves (needs matplotlib)")
    _backend_arguments(t)
    t.add_argument("--nproc", type=int, default=1,
                   help="train data-parallel in this many processes (torch.distributed: gloo "
                        "on cpu, NCCL on cuda); needs --backend torch")
    t.set_defaults(run=cmd_train)

    c = command("codegen", "a standalone training script (NumPy; torch or JAX with "
                "--backend)")
    _model_arguments(c)
    c.add_argument("-o", "--output", default="train_mlp.py", help="the script to write")
    _backend_arguments(c)
    c.set_defaults(run=cmd_codegen)
    return p


def _expression_arguments(p, example="tr(X.T @ A @ X)"):
    """The expression, --wrt, --shape and --assume: grad's and check's."""
    # "-sum(log(x))" is the expression, not an unknown option: these commands have no
    # single-dash option but -h, so argparse may take any other "-…" as a positional (as it
    # does "-1")
    p._negative_number_matcher = re.compile(r"^-(?!-)")
    p.add_argument("expr", help=f'e.g. "{example}"')
    p.add_argument("--wrt", required=True, help="the matrix, vector or scalar to differentiate by")
    p.add_argument("--shape", action="append", metavar="NAME=SHAPE",
                   help="declare a shape: X=3x4, X='n x m', lam=scalar (repeatable)")
    p.add_argument("--assume", action="append", metavar="RELATION",
                   help='e.g. "sum(Y, axis=0) == 1" (each column of Y sums to 1), or a domain '
                        '"b - A @ x > 0" (entrywise; the proof draws its points there)')


# How the trainer's options are spelled here, for its messages.
TRAINING_FLAGS = {"epochs": "--epochs", "batch_size": "--batch-size", "lr": "--lr",
                  "lam": "--l2", "optimizer": "--optimizer"}


def _version():
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("matcalc-nn")
    except PackageNotFoundError:      # run from a source tree without installing
        return "(not installed)"


def _pair(text):
    try:
        a, b = (int(c) for c in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes two class labels such as 3,8, not {text!r}")
    return a, b


def _backend_arguments(p):
    p.add_argument("--backend", choices=["numpy", "torch", "jax"], default="numpy",
                   help="the array library the kernels are printed for (torch and jax need "
                        "the extras [torch], [jax]); the gradients are matcalc's formulas")
    p.add_argument("--device", help="torch's device: cpu, cuda or cuda:N (JAX chooses its own)")


def _training_arguments(p):
    p.add_argument("--epochs", type=int, default=DEFAULTS["epochs"], help="passes over the data")
    p.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"],
                   help="samples per step")
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"], help="learning rate")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default=DEFAULTS["optimizer"],
                   help="sgd (with momentum 0.9) or adam")
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"],
                   help="for the initial weights, the split and the batches")
    p.add_argument("--dtype", choices=["float64", "float32"], default=DEFAULTS["dtype"],
                   help="the floating-point type of the training arrays")
    p.add_argument("--data", nargs=2, metavar=("X.npy", "Y.npy"),
                   help="your own arrays: X (N×features), labels (N,)")
    p.add_argument("--data-dir", help="a folder with the MNIST IDX files (plain or .gz)")
    p.add_argument("--binary", type=_pair, default="3,8",
                   help="the two classes a one-output model is trained on")


def main(argv=None):
    args = build_parser().parse_args(argv)
    with speaking("cli"):     # advice in errors names this interface's flags (core/errors.py)
        return _run(args)


def _run(args):
    try:
        return args.run(args) or 0
    except BrokenPipeError:       # `matcalc … | head`: the reader left; end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("matcalc: interrupted", file=sys.stderr)
        return 130
    except (MatcalcError, TrainingError) as e:
        print(f"matcalc: error: {e}", file=sys.stderr)
        return 2
    except RecursionError:
        print("matcalc: error: the expression is nested too deeply", file=sys.stderr)
        return 2
    except Exception as e:   # never a SymPy traceback in front of a user
        print(f"matcalc: internal error: {type(e).__name__}: {e} (please report this input)",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
