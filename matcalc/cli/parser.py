"""The argument parser: every command, its options and their help (no command runs here).

It imports neither SymPy nor the commands, so that `matcalc --version` and `--help` are fast;
each command names the module (cli/expressions.py, cli/networks.py) whose cmd_NAME runs it.
"""
import argparse
import re
import textwrap

from ..codegen.backends import BACKENDS, device_help
from ..core.functions import ACTIVATIONS
from ..nn.layers import signatures
from ..nn.losses import LOSSES
from ..train.trainer import DEFAULTS
from .version import version

EXIT_CODES = {0: "done", 1: "a gradient was proven wrong", 2: "bad input (the message says "
              "what and where)", 3: "a bug in matcalc (please report the input)",
              130: "interrupted (Ctrl-C)", 143: "terminated (SIGTERM)", 129: "hung up (SIGHUP); "
              "a stopped training run saves its last completed epoch first"}



def _model_arguments(p):
    p.add_argument("--layers", help="an MLP's sizes input,hidden…,output: 64,128,10")
    p.add_argument("--input", metavar="SHAPE",
                   help="the input of one sample, for --net: F features (64), a sequence of T "
                        "steps of F features TxF (8x8), or image maps CxHxW (1x8x8)")
    p.add_argument("--net", metavar="LAYERS",
                   help='the layers, such as "conv(8, 3, pad=1), relu, maxpool(2), dense(10)" '
                        "(flatten is implicit before the first dense): "
                        + ", ".join(signatures()))
    p.add_argument("--hidden", default="sigmoid",
                   help=" | ".join(ACTIVATIONS) + ", or one per hidden layer: relu,tanh")
    p.add_argument("--loss", default="cross-entropy",
                   help=" | ".join(f"{name} ({row.output} output, {row.targets})"
                                   for name, row in LOSSES.items()))
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

    def _split_lines(self, text, width):
        """Lines broken at spaces only: a hyphenated default or a long name stays whole."""
        return textwrap.wrap(self._whitespace_matcher.sub(" ", text).strip(), width,
                             break_on_hyphens=False, break_long_words=False)


def build_parser():
    epilog = "exit codes: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items())
    p = argparse.ArgumentParser(prog="matcalc", description="Symbolic matrix calculus for "
                                "neural networks: gradients by the trace trick, proven.",
                                epilog=epilog)
    p.add_argument("--version", action="version", version=f"matcalc {version()}")
    sub = p.add_subparsers(dest="command", required=True)

    def command(name, help, module="expressions"):      # module: where cmd_NAME is
        c = sub.add_parser(name, help=help, description=help, epilog=epilog,
                           formatter_class=_HelpFormatter)
        c.set_defaults(module=module)
        return c

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

    d = command("derive", "textbook backprop formulas for an MLP or a convolutional network",
                "networks")
    _model_arguments(d)
    d.add_argument("--format", choices=["text", "latex", "steps", "json"], default="text",
                   help="how to print the formulas")
    d.add_argument("--shapes", action="store_true", help="print the shape of each formula")
    _network_verify(d)

    r = command("report", "a standalone LaTeX document (and PDF with pdflatex)", "networks")
    _model_arguments(r)
    r.add_argument("-o", "--output", default="report.tex", help="the .tex file to write")
    r.add_argument("--no-pdf", action="store_true", help="write the .tex only")
    _network_verify(r)

    t = command("train", "train the network with its generated kernels", "networks")
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
    _network_verify(t)

    c = command("codegen", "a standalone training script (NumPy; torch or JAX with "
                "--backend)", "networks")
    _model_arguments(c)
    c.add_argument("-o", "--output", default="train_mlp.py", help="the script to write")
    _backend_arguments(c)
    _network_verify(c)
    return p


def _network_verify(p):
    """--verify as grad's is spelled, for a network: its proof is numeric (every gradient
    line by central differences) or none. derive's old --no-verify stays as an alias."""
    p.add_argument("--verify", choices=["numeric", "none"], default="numeric",
                   help="prove every gradient by central differences before using it, or "
                        "not (none: printed, written or trained unproven)")
    if p.prog.endswith(" derive"):
        p.add_argument("--no-verify", dest="verify", action="store_const", const="none",
                       default=argparse.SUPPRESS, help=argparse.SUPPRESS)   # deprecated


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



def _pair(text):
    try:
        a, b = (int(c) for c in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes two class labels such as 3,8, not {text!r}")
    return a, b


def _natural(text):
    """An integer ≥ 0 (a seed), refused by argparse before any work."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"takes an integer ≥ 0, not {text!r}")
    return value


def _backend_arguments(p):
    reference = next(b.name for b in BACKENDS.values() if b.reference)
    others = [b.name for b in BACKENDS.values() if not b.reference]
    p.add_argument("--backend", choices=list(BACKENDS), default=reference,
                   help="the array library the kernels are printed for ("
                        f"{' and '.join(others)} need the extras "
                        f"{', '.join(f'[{n}]' for n in others)}); the gradients are "
                        "matcalc's formulas")
    p.add_argument("--device", help=device_help())


def _training_arguments(p):
    # None: the network's own default where its layers choose one (an rnn: Adam, lr 0.005,
    # 60 epochs; nn/model.py training_defaults), else the trainer's
    own = "; a network with an rnn: 60, with adam at lr 0.005"
    p.add_argument("--epochs", type=int, help=f"passes over the data (default: "
                   f"{DEFAULTS['epochs']}{own})")
    p.add_argument("--batch-size", type=int, help=f"samples per step (default: "
                   f"{DEFAULTS['batch_size']})")
    p.add_argument("--lr", type=float, help=f"learning rate (default: {DEFAULTS['lr']})")
    p.add_argument("--optimizer", choices=["sgd", "adam"],
                   help=f"sgd (with momentum 0.9) or adam (default: {DEFAULTS['optimizer']})")
    p.add_argument("--seed", type=_natural, default=DEFAULTS["seed"],
                   help="for the initial weights, the split and the batches (an integer ≥ 0)")
    p.add_argument("--dtype", choices=["float64", "float32"], default=DEFAULTS["dtype"],
                   help="the floating-point type of the training arrays")
    data = p.add_mutually_exclusive_group()      # one or the other, never one silently
    data.add_argument("--data", nargs=2, metavar=("X.npy", "Y.npy"),
                      help="your own arrays: X (N×features), labels (N,)")
    data.add_argument("--data-dir", help="a folder with the MNIST IDX files (plain or .gz)")
    p.add_argument("--binary", type=_pair, default="3,8",
                   help="the two classes a one-output model is trained on")
