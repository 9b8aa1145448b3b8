"""The standalone training script: kernels, trainer and data loading in one NumPy-only file.

Train (stage 6). Consumes the Backprop of a model; produces the source of a script that needs
NumPy alone. The kernels come from codegen/kernels.py; the trainer (train/trainer.py, with
its checks, divergence guard and atomic saving) and the data readers (train/data.py) are
copied verbatim (inspect.getsource), so each exists once and the script keeps the same
guarantees as `matcalc train`.
"""
import inspect

from ..codegen.backends import backend as _backend
from ..codegen.kernels import kernel_source
from ..core import files
from . import data, distributed, trainer

# Copied verbatim, in this order; the script's header imports what they use.
FILES_PARTS = ("NO_SPACE", "WriteError", "_failure", "_fd_of", "_target", "_owner", "_alive",
               "clear_leftovers", "_create_temporary", "_write_all", "check_writable",
               "write_file", "_write_stream", "is_stream", "is_stdout")      # core/files.py: atomic, device-safe writes
TRAINER_PARTS = ("DEFAULTS", "DIVERGENCE", "TrainingError", "check_options",
                 "check_output", "check_memory", "init_params", "targets", "predictions", "batches", "sgd",
                 "adam", "OPTIMIZERS", "evaluate", "say", "Diverged", "fit", "keep_running",
                 "masks", "save_weights",
                 "HISTORY_COLUMNS", "history_beside", "check_history", "save_history",
                 "rescue_path", "keep_file", "STOP_SIGNALS", "Stopped", "raise_stopped",
                 "StopSignals", "stopped_words", "train")
DATA_PARTS = ("IDX_TYPES", "MNIST_FILES", "check_pair", "two_classes", "stratified_split",
              "read_digits", "read_idx", "_find", "read_mnist", "_load_npy", "read_arrays",
              "check_inputs", "_check_finite", "_labels")
IMPORTS = ("argparse", "csv", "errno", "gzip", "io", "json", "math", "os", "signal", "socket",
           "stat", "sys", "tempfile", "time", "zlib")
DIGITS_FEATURES = 64

_MAIN = '''
class DataError(ValueError):
    """A data file that cannot be trained on; the message names it."""


DIGITS = Path(__file__).resolve().parent / "digits.csv.gz"


def load(args):
    """(X_train, y_train, X_test, y_test, what), samples as rows, checked against the network."""
    classes = 2 if OUTPUTS == 1 else OUTPUTS
    if args.data:
        X, y, _ = read_arrays(*args.data)
        check_inputs(X, y, FEATURES, classes, f"X file {{args.data[0]}}")
        train, test = stratified_split(y, 0.25, args.seed)
        parts, what = [X[train], y[train], X[test], y[test]], args.data[0]
    elif args.data_dir:
        parts, what = read_mnist(args.data_dir), args.data_dir
    elif FEATURES != {digits_features}:
        raise DataError(f"this network takes {{FEATURES}} inputs but the embedded digits have "
                        f"{digits_features}; pass --data-dir MNIST_DIR (28×28 = 784 pixels) or "
                        f"--data X.npy y.npy")
    elif not DIGITS.exists():
        raise DataError(f"{{DIGITS}} is missing: keep digits.csv.gz beside this script, or "
                        "pass --data-dir with the MNIST IDX files or --data X.npy y.npy")
    else:
        X, y = read_digits(DIGITS)
        train, test = stratified_split(y, 0.25, args.seed)
        parts, what = [X[train], y[train], X[test], y[test]], "the embedded digits"
    if OUTPUTS == 1:
        a, b = args.binary
        check_pair(a, b, int(max(parts[1].max(), parts[3].max())) + 1, "--binary")
        parts = [*two_classes(*parts[:2], a, b), *two_classes(*parts[2:], a, b)]
    for X, y, name in ((parts[0], parts[1], "training data"), (parts[2], parts[3], "test data")):
        check_inputs(X, y, FEATURES, classes, name)
    return (*parts, what)


def _pair(text):
    try:
        a, b = (int(c) for c in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes two class labels such as 3,8, not {{text!r}}")
    return a, b


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__ and __doc__.splitlines()[0],  # None: -OO
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = p.add_mutually_exclusive_group()      # one or the other, never one silently
    data.add_argument("--data-dir", help="a folder with the MNIST IDX files (plain or .gz)")
    data.add_argument("--data", nargs=2, metavar=("X.npy", "Y.npy"),
                      help="your own arrays: X (N×features), labels (N,)")
    p.add_argument("--binary", type=_pair, default="3,8",
                   help="the two classes a one-output network is trained on")
    p.add_argument("--epochs", type=int, default=DEFAULTS["epochs"],
                   help="passes over the data")
    p.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"],
                   help="samples per step")
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"], help="learning rate")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default=DEFAULTS["optimizer"],
                   help="sgd (with momentum 0.9) or adam")
    p.add_argument("--lam", type=float, default={lam}, help="the L2 weight λ")
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"],
                   help="for the initial weights, the split and the batches")
    p.add_argument("--dtype", choices=["float64", "float32"], default=DEFAULTS["dtype"],
                   help="the floating-point type of the training arrays")
    p.add_argument("-o", "--output", default="weights.npz",
                   help="where the weights go (.npz)"){backend_arguments}
    p.add_argument("--history", metavar="PATH.json|PATH.csv",
                   help="where the per-epoch history (epoch, loss, train and test accuracy, "
                        "seconds) goes; by default beside the weights (.history.json)")
    args = p.parse_args(argv)
    k = sys.modules[__name__]
    names = {{"epochs": "--epochs", "batch_size": "--batch-size", "lr": "--lr",
             "lam": "--lam", "optimizer": "--optimizer"}}
    try:
        check_options(args.epochs, args.batch_size, args.lr, args.lam, args.optimizer, names)
        check_output(args.output){device_check}
        X, y, X_test, y_test, what = load(args)
    except (ValueError, OSError) as e:    # TrainingError, DataError; a device it cannot use
        print(f"error: {{e}}", file=sys.stderr)
        return 2
    dtype = np.dtype(args.dtype)
    X, X_test = (np.ascontiguousarray(np.moveaxis(a.astype(dtype), 0, SAMPLE_AXIS))
                 for a in (X, X_test))
    say(sys.stderr, f"training on {{what}}: {{len(y)}} training and {{len(y_test)}} test "
                    "samples")
    try:
        _, history, note = {train}(
            k, X, y, X_test, y_test, args.output, epochs=args.epochs,
            batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer, lam=args.lam,
            seed=args.seed, dtype=args.dtype, names=names,
            history_path=args.history or history_beside(args.output){train_options})
    except TrainingError as e:
        say(sys.stderr, f"error: {{e}}")
        return 2
    except KeyboardInterrupt as e:
        say(sys.stderr, f"stopped: {{e}}")
        return 128 + getattr(e, "signum", signal.SIGINT)
    n = history[-1]['epoch']
    # say: a reader that left (`| head`) is no failure, the weights are saved; with -o
    # /dev/stdout the stream holds the weights alone
    say(sys.stderr if is_stdout(args.output) else sys.stdout, f"test accuracy {{100 * history[-1]['test']:.1f}}% after {{n}} "
                    f"epoch{{'s' * (n != 1)}}; {{note}}")
    warning = chance_warning(history[-1]["test"], 2 if OUTPUTS == 1 else OUTPUTS)
    if warning:
        say(sys.stderr, warning)        # a closed stderr is no failure: the weights are saved
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def chance_warning(accuracy, classes):
    """A warning when a test accuracy is no better than guessing (within 5 points of one in
    `classes`), else None: such a run learned nothing, and its exit 0 alone would not say so."""
    chance = 1 / classes
    if accuracy > chance + 0.05:
        return None
    return (f"warning: test accuracy {100 * accuracy:.1f}% is chance level (guessing one of "
            f"{classes} classes scores {100 * chance:.0f}%): the network learned nothing; "
            "try a smaller --lr, --optimizer adam or more --epochs")


def needs_other_data(model):
    """What to pass instead of the embedded digits, or None when they fit the model."""
    if model.n_inputs == DIGITS_FEATURES:
        return None
    return (f"this network takes {model.n_inputs} inputs but the embedded digits have "
            f"{DIGITS_FEATURES}: train it with --data-dir MNIST_DIR (28×28 = 784 pixels) or "
            "--data X.npy y.npy")


def script_source(b, backend="numpy", device=None):
    """A single file that trains the network with NumPy alone (see `matcalc codegen`), or
    with the array library `backend` (torch, jax; a torch script also runs under torchrun,
    data-parallel, and takes --device, `device` its default)."""
    be = _backend(backend, check=False)
    script = be.script           # what its record adds to the NumPy script
    kernels = kernel_source(b, backend)
    doc, rest = kernels.split('"""', 2)[1:]
    data_line = ("Without --data-dir or --data it trains on digits.csv.gz beside it (UCI "
                 "optical digits, CC BY 4.0)." if needs_other_data(b.model) is None else
                 "It needs --data-dir (MNIST IDX files) or --data X.npy y.npy: "
                 f"the network takes {b.model.n_inputs} inputs.")
    usage = "\n" + script.usage if script.usage else ""
    head = ('"""Train a ' + b.model.name + f" network with {script.title} "
            "(generated by matcalc).\n\nUsage: python THIS_FILE [--data-dir MNIST_DIR | --data "
            "X.npy y.npy] [--epochs 30] [--optimizer sgd|adam] …" + usage + "\n" + data_line +
            "\nExit "
            "codes: 0 trained, 2 bad input, a diverging run or a file it could not write, 128 + "
            "the signal when stopped with the last completed epoch saved (130 Ctrl-C, 143 "
            "SIGTERM, 129 SIGHUP).\n\n"
            + doc.strip() + '\n"""\n' + "".join(f"import {m}\n" for m in IMPORTS) +
            "from pathlib import Path\n")
    parts = [head + rest.lstrip("\n")]
    parts.append("# ---- writing files (from matcalc/core/files.py)")
    parts += [_source(files, n) for n in FILES_PARTS]
    parts.append("# ---- training (from matcalc/train/trainer.py)")
    parts += [_source(trainer, n) for n in TRAINER_PARTS]
    if b.model.training_defaults():      # the network's own (an rnn trains with Adam)
        parts.append(f"DEFAULTS.update({b.model.training_defaults()!r})")
    if script.parts:
        parts.append("# ---- data-parallel training (from matcalc/train/distributed.py)")
        parts += [_source(distributed, n) for n in script.parts]
    parts.append("# ---- data (from matcalc/train/data.py)")
    parts += [_source(data, n) for n in DATA_PARTS]
    parts.append(inspect.getsource(chance_warning))
    lam = trainer.DEFAULTS["lam"] if b.model.l2 is True else float(b.model.l2 or 0.0)
    parts.append(_MAIN.format(lam=lam, digits_features=DIGITS_FEATURES,
                              backend_arguments=script.arguments.format(device=device or "cpu"),
                              train=script.train, train_options=script.options,
                              # a device is checked before the data load, as matcalc train does
                              device_check="\n        set_device(args.device)" if be.devices
                              else ""))
    return "\n\n".join(p.rstrip() + "\n" for p in parts)


def _source(module, name):
    """The source of a function or class, or `NAME = value` for a constant."""
    value = getattr(module, name)
    if inspect.isfunction(value) or inspect.isclass(value):
        return inspect.getsource(value)
    if isinstance(value, dict) and all(inspect.isfunction(v) for v in value.values()):
        return f"{name} = {{" + ", ".join(f"{k!r}: {v.__name__}" for k, v in value.items()) + "}"
    return f"{name} = {value!r}"
