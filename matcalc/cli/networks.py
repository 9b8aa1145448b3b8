"""The network commands: derive, report, train and codegen (an MLP or a CNN from options)."""
import importlib.util
import io
import math
import os
import signal
import sys
from pathlib import Path

from ..api import backprop_record, derive, verify_backprop
from ..codegen.backends import backend
from ..codegen.kernels import compile as compile_kernels
from ..core.errors import MatcalcError
from ..core.files import WriteError, is_stdout, write_file
from ..nn.cnn import cnn
from ..nn.spec import mlp
from ..printing import report
from .output import as_json as _json, say as _say, say_safely
from .pdf import compile_pdf, paths, pdflatex_installed


def _model(args):
    l2 = False if args.l2 is None else (True if args.l2 == "lam" else _number(args.l2, "--l2"))
    if (args.layers is None) == (args.net is None):
        raise MatcalcError("give the network either as --layers 64,128,10 (an MLP) or as "
                           "--input 1x8x8 --net \"conv(8, 3, pad=1), relu, maxpool(2), "
                           "dense(10)\"")
    if args.net is not None:
        if args.input is None:
            raise MatcalcError("--net needs the input's shape: --input CxHxW, such as 1x8x8")
        return cnn(args.input, args.net, loss=args.loss, l2=l2, reduction=args.reduction,
                   bias=not args.no_bias, layout=args.layout)
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
    lam = b.model.l2 if b.model.l2 is not True else None    # λ's value, where it is given
    if getattr(b, "loops", None) and args.format in ("text", "steps"):   # a recurrence over t
        from ..printing.loops import backprop_text
        out = list(backprop_text(b, subs=subs, shapes=args.shapes))
        out[1:1] = [""] + ([report.steps_text(b.derivation, subs=subs), ""]
                           if args.format == "steps" else [])
    elif args.format == "text":
        out = [report.program_text(b.forward, shapes=args.shapes, subs=subs), "",
               report.program_text(b.backward, shapes=args.shapes, subs=subs)]
    elif args.format == "latex":
        names = report.gradient_names(b)
        out = [report.align((rf"\lambda &= {lam:g} \\" + "\n" if lam else "") +
                            report.program_latex(b.forward, shapes=args.shapes, subs=subs)
                            + " \\\\\n" +
                            report.program_latex(b.backward, names=names, shapes=args.shapes,
                                                 subs=subs))]
    elif args.format == "steps":
        out = [report.program_text(b.forward, subs=subs), "",
               report.steps_text(b.derivation, subs=subs), "",
               report.program_text(b.backward, subs=subs)]
    if lam and args.format in ("text", "steps"):
        out.insert(0, f"lam = {lam:g}")
    if args.verify != "none":
        verify_backprop(b)
    try:
        print(_json(backprop_record(b, verified=args.verify != "none")) if args.format == "json"
              else "\n".join(out))
    finally:      # said even when the reader of stdout left early (`| head`)
        if b.assumptions:
            _say("given that " + "; ".join(str(a) for a in b.assumptions)
                 + " (one-hot targets)")
        if args.verify != "none":
            _say("verified: every gradient, by central differences")


def cmd_report(args):
    out, pdf = paths(args.output)
    if args.no_pdf and out != Path(args.output):
        raise MatcalcError(f"-o {args.output} asks for a PDF, but --no-pdf writes only the "
                           f"LaTeX: give -o {out}")
    b = derive(_model(args))
    if args.verify != "none":
        verify_backprop(b)
    tex = report.backprop_report(b)
    try:
        write_file(out, tex, "the report")      # atomic: a failure keeps the old report
    except WriteError as e:
        raise MatcalcError(str(e)) from None
    print(f"wrote {out}")
    if args.no_pdf:
        return
    if not pdflatex_installed():
        _say(f"no PDF: pdflatex is not installed (Debian: apt install texlive-latex-base); "
             f"{out} compiles with any LaTeX")
        return
    compile_pdf(out, tex, pdf)        # in a folder of its own: nothing else left beside out
    print(f"wrote {pdf}")


def cmd_train(args):
    from ..api import train
    from ..train.script import chance_warning
    model = _model(args)
    data = args.data or args.data_dir
    lam = None if args.l2 in (None, "lam") else float(args.l2)
    if args.plot:      # before the proof and the training, not after them
        _check_plot(args.plot)
    try:
        result = train(model, data, output=args.output, epochs=args.epochs,
                       batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
                       lam=lam, seed=args.seed, dtype=args.dtype, binary=args.binary,
                       names=TRAINING_FLAGS, history=args.history or True,
                       backend=args.backend, device=args.device, nproc=args.nproc,
                       verify=args.verify != "none")
    except KeyboardInterrupt as e:      # Ctrl-C, SIGTERM, SIGHUP (train/trainer.py)
        say_safely(f"matcalc: stopped: {e}")
        return 128 + getattr(e, "signum", signal.SIGINT)
    last = result.history[-1]
    n = last["epoch"]
    words = sys.stderr if is_stdout(args.output) else sys.stdout   # stdout holds the weights
    print(f"test accuracy {100 * last['test']:.1f}% after {n} epoch{'s' * (n != 1)}",
          file=words)
    print(result.note, file=words)
    warning = chance_warning(last["test"], 2 if model.n_outputs == 1 else model.n_outputs)
    if warning:
        _say(warning)
    if args.plot:
        _plot(result.history, args.plot)


PLOT_NEEDS = "--plot needs matplotlib: pip install 'matcalc-nn[plot]'"


def _check_plot(path):
    """Refuse a --plot path that cannot be written as an image: without matplotlib, a
    folder, in a folder that does not exist, or a format matplotlib does not write."""
    p = Path(path)
    if p.is_dir():
        raise MatcalcError(f"--plot {path} is a folder; give a file name such as "
                           f"{p / 'curves.png'}")
    if not p.parent.is_dir():
        raise MatcalcError(f"--plot {path}: the folder {p.parent} does not exist")
    if importlib.util.find_spec("matplotlib") is None:
        raise MatcalcError(PLOT_NEEDS)
    from matplotlib.figure import Figure
    formats = Figure().canvas.get_supported_filetypes()
    if p.suffix and p.suffix[1:].lower() not in formats:
        raise MatcalcError(f"--plot {path}: matplotlib does not write {p.suffix} files; give "
                           f"a name ending in {', '.join('.' + f for f in sorted(formats))}")


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
    image = io.BytesIO()
    fig.savefig(image, format=os.path.splitext(path)[1][1:].lower() or None)
    try:
        write_file(path, image.getvalue(), "the learning curves")
    except WriteError as e:
        raise MatcalcError(str(e)) from None
    print(f"saved the learning curves to {path}")


def cmd_codegen(args):
    from ..train.data import DIGITS_FILE
    from ..train.script import needs_other_data, script_source
    model = _model(args)
    b = derive(model)
    if args.verify != "none":
        verify_backprop(b)
    be = backend(args.backend, check=False)
    if not be.reference:    # installed, and its kernels agree with NumPy's
        compile_kernels(b, backend=args.backend, device=args.device)
    out = Path(args.output)
    other = needs_other_data(model)
    digits, data = out.with_name("digits.csv.gz"), DIGITS_FILE.read_bytes()
    try:
        write_file(out, script_source(b, args.backend, args.device), "the script")
        # kept only when whole: a copy truncated by a full disk is written again
        if other is None and not (digits.is_file() and digits.stat().st_size == len(data)
                                  and digits.read_bytes() == data):
            write_file(digits, data, "the digits data")
    except (WriteError, OSError) as e:
        raise MatcalcError(str(e) if isinstance(e, WriteError) else
                           f"cannot write {out}: {e.strerror}") from None
    if other is None:
        print(f"wrote {out} and {digits}: run python {out} ({be.script.needs}; --data-dir DIR "
              "for MNIST)")
    else:
        print(f"wrote {out}; {other}")


# How the trainer's options are spelled here, for its messages.
TRAINING_FLAGS = {"epochs": "--epochs", "batch_size": "--batch-size", "lr": "--lr",
                  "lam": "--l2", "optimizer": "--optimizer"}
