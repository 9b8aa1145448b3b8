"""Minibatch training over generated kernels: init, SGD with momentum or Adam, metrics, saving.

Train (stage 6). Consumes a kernel module (codegen/kernels.py: PARAMS, SAMPLE_AXIS, OUTPUTS,
L2, predict, loss_and_gradients) and arrays in the kernels' layout; `train` checks the
options and the output path, initialises, fits, and saves the weights (.npz) and the
per-epoch history (.json or .csv) beside them through core/files.py (atomic, device-safe),
guarding against divergence, Ctrl-C, SIGTERM and SIGHUP, a closed log and a full disk
(the files then go to the temporary folder, or the message says what was lost) so that a
run never loses or corrupts work. The functions below use NumPy and the standard library
only: the standalone script that `matcalc codegen` writes includes their source (and
core/files.py's) verbatim, so both share one trainer.
"""
import csv
import io
import json
import math
import os
import signal
import sys
import tempfile
import time

import numpy as np

from ..core.files import WriteError, check_writable, is_stream, write_file

# The one place for training defaults: the CLI, the Python API and the script read them here.
DEFAULTS = {"epochs": 30, "batch_size": 32, "lr": 0.1, "optimizer": "sgd", "lam": 1e-4,
            "seed": 0, "dtype": "float64"}
DIVERGENCE = 1e3     # a step loss this many times its start (or a non-finite one) diverged


class TrainingError(ValueError):
    """Training cannot start or go on; the message says why and what was kept."""


def check_options(epochs, batch_size, lr, lam, optimizer, names=None):
    """Refuse options that cannot train, before anything is written. `names` maps each
    option to how the user spelled it (--lr for the command line)."""
    name = {"epochs": "epochs", "batch_size": "batch_size", "lr": "lr", "lam": "lam",
            "optimizer": "optimizer", **(names or {})}
    for key, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise TrainingError(f"{name[key]} must be a positive integer, not {value!r}")
    for key, value in (("lr", lr), ("lam", lam)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or \
                not math.isfinite(value) or value < 0:
            raise TrainingError(f"{name[key]} must be a finite number ≥ 0, not {value!r}")
    if optimizer not in OPTIMIZERS:
        raise TrainingError(f"{name['optimizer']} must be one of {', '.join(OPTIMIZERS)}, "
                            f"not {optimizer!r}")


def check_output(path):
    """Refuse an output path that cannot be written, before training (core/files.py's
    check_writable, which also clears leftovers of killed runs)."""
    path = os.path.abspath(path)
    if os.path.isdir(path):
        raise TrainingError(f"the output {path} is a folder; give a file name such as "
                            f"{os.path.join(path, 'weights.npz')}")
    try:
        check_writable(path, "the weights")
    except WriteError as e:
        raise TrainingError(str(e)) from None


def check_memory(k, dtype, batch_size):
    """Refuse a network whose training would not fit in the memory available now: the
    parameters about six times over (gradients, optimizer state, kept epochs) and a batch's
    activations a few times."""
    size = np.dtype(dtype).itemsize
    params = sum(int(np.prod(p["shape"], dtype=object)) for p in k.PARAMS)
    widths = sum(p["shape"][0] + p["shape"][1] for p in k.PARAMS if p["kind"] == "weight")
    need = size * (6 * params + 4 * batch_size * widths)
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):     # not on this system: do not guess
        return
    if need > free:
        raise TrainingError(f"training this network needs about {need / 2**30:.1f} GiB "
                            f"({params:,} parameters in {np.dtype(dtype).name}), but only "
                            f"{free / 2**30:.1f} GiB of memory is available")


def init_params(k, rng, dtype=np.float64):
    """Weights by the layer's activation: He (relu) or Xavier/Glorot; biases zero."""
    params = []
    for p in k.PARAMS:
        if p["init"] in ("zeros", "ones"):        # biases; layer norm's γ starts at 1
            params.append((np.zeros if p["init"] == "zeros" else np.ones)(p["shape"], dtype=dtype))
            continue
        scale = np.sqrt(2.0 / (p["fan_in"] if p["init"] == "he" else p["fan_in"] + p["fan_out"]))
        params.append((rng.standard_normal(p["shape"]) * scale).astype(dtype))
    return params


def targets(k, y, dtype=np.float64):
    """Labels → the target matrix Y along the kernels' sample axis: one-hot columns, or the
    0/1 labels themselves for a single output."""
    if k.OUTPUTS == 1:
        Y = y.reshape(1, -1).astype(dtype)
    else:
        Y = np.zeros((k.OUTPUTS, y.size), dtype=dtype)
        Y[y, np.arange(y.size)] = 1
    return np.ascontiguousarray(np.moveaxis(Y, 1, k.SAMPLE_AXIS))


def predictions(k, out):
    """Predicted labels from the network output: the arg-max, or output > ½ for one output."""
    out = np.moveaxis(out, k.SAMPLE_AXIS, 1)
    if out.shape[0] == 1:
        return (out[0] > 0.5).astype(np.int64)
    return out.argmax(axis=0)


def batches(n, size, rng):
    """Shuffled index batches covering 0..n-1 once."""
    order = rng.permutation(n)
    return [order[i:i + size] for i in range(0, n, size)]


def sgd(params, grads, state, lr, momentum=0.9):
    """v ← μ v − α g;  θ ← θ + v."""
    if not state:
        state["v"] = [np.zeros_like(p) for p in params]
    for p, g, v in zip(params, grads, state["v"]):
        v *= momentum
        g *= lr              # in place: the kernel's gradient arrays are ours to reuse
        v -= g
        p += v


def adam(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam (Kingma & Ba, 2015) with bias-corrected moments."""
    if not state:
        state.update(t=0, m=[np.zeros_like(p) for p in params],
                     v=[np.zeros_like(p) for p in params])
    state["t"] += 1
    c1, c2 = 1 - beta1 ** state["t"], 1 - beta2 ** state["t"]
    for p, g, m, v in zip(params, grads, state["m"], state["v"]):
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        p -= lr * (m / c1) / (np.sqrt(v / c2) + eps)


OPTIMIZERS = {"sgd": sgd, "adam": adam}


def evaluate(k, params, X, y, batch=4096):
    """Accuracy of the predictions on (X, y), in chunks to bound memory."""
    n = X.shape[k.SAMPLE_AXIS]
    asarray, to_numpy = getattr(k, "asarray", np.asarray), getattr(k, "to_numpy", np.asarray)
    correct = 0
    for i in range(0, n, batch):
        Xb = asarray(np.take(X, np.arange(i, min(i + batch, n)), axis=k.SAMPLE_AXIS))
        out = to_numpy(k.predict(Xb, *params))
        correct += int((predictions(k, out) == y[i:i + batch]).sum())
    return correct / max(n, 1)


def say(log, line):
    """Print line to the log and return the log; a log that cannot be written (its reader
    left: `matcalc train … 2>&1 | head -3`) is dropped, returning None, and the run goes on.
    Its descriptor then points at /dev/null, so that what Python still buffers for it cannot
    fail again at exit."""
    if log is None:
        return None
    try:
        print(line, file=log, flush=True)
        return log
    except (OSError, ValueError):       # ValueError: a closed file object
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), log.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return None


class Diverged(Exception):
    """Raised inside `fit` when a step's loss or gradients leave the finite range."""


def fit(k, params, X, y, X_test, y_test, epochs=30, batch_size=32, lr=0.1,
        optimizer="sgd", lam=0.0, seed=0, log=True, on_epoch=None):
    """Train params in place; returns the per-epoch history.

    Every step's loss and gradients are checked: a non-finite value, or a loss DIVERGENCE
    times its start, raises Diverged with the step. `log`: True for stderr, a file, or None.
    `on_epoch(row, params)` is called after each completed epoch."""
    log = sys.stderr if log is True else log
    rng = np.random.default_rng(seed)
    # Kernels for another array library (codegen/backends.py: torch, JAX) bring their own
    # boundary and updates: the data and params move there once and back at the end.
    asarray, to_numpy = getattr(k, "asarray", np.asarray), getattr(k, "to_numpy", np.asarray)
    take = getattr(k, "take", np.take)
    step, state = getattr(k, "UPDATES", OPTIMIZERS)[optimizer], {}
    axis = k.SAMPLE_AXIS
    n = X.shape[axis]
    Xd, Y = asarray(X), asarray(targets(k, y, X.dtype))
    extra = (lam,) if k.L2 else ()
    history, start = [], None
    params[:] = [asarray(p) for p in params]
    try:
        for epoch in range(1, epochs + 1):
            t0, total = time.perf_counter(), 0.0
            for idx in batches(n, batch_size, rng):
                Xb, Yb = take(Xd, idx, axis=axis), take(Y, idx, axis=axis)
                loss, grads = k.loss_and_gradients(Xb, Yb, *params, *extra,
                                                   **masks(k, len(idx), rng, asarray, X.dtype))
                loss = float(loss)
                start = abs(loss) if start is None else start
                # one sum over all gradients: NaN or Inf anywhere makes it non-finite, and a
                # torch/JAX device is read once per step, not once per gradient
                if not (math.isfinite(loss) and math.isfinite(float(sum(g.sum() for g in grads)))) \
                        or abs(loss) > DIVERGENCE * max(start, 1e-3):
                    raise Diverged(f"the loss became {loss:.4g} in epoch {epoch} (it started "
                                   f"at {start:.4g})")
                total += loss * len(idx)
                step(params, grads, state, lr)
                if len(params) > len(grads):      # batch norm: running mean and variance
                    keep_running(k, params, len(grads), Xb)
            row = {"epoch": epoch, "loss": total / n, "train": evaluate(k, params, X, y),
                   "test": evaluate(k, params, X_test, y_test),
                   "seconds": time.perf_counter() - t0}
            history.append(row)
            if on_epoch is not None:      # before the log line: a logged epoch is a kept one
                on_epoch(row, [to_numpy(p) for p in params])
            log = say(log, f"epoch {epoch:3d}/{epochs}  loss {row['loss']:.4f}  train "
                           f"{100 * row['train']:5.1f}%  test {100 * row['test']:5.1f}%  "
                           f"{row['seconds']:.2f} s")
    finally:
        params[:] = [to_numpy(p) for p in params]
    return history


def masks(k, n, rng, asarray, dtype):
    """Dropout's masks for a batch of n (inverted: 0 with probability p, else 1/(1 − p)), as
    the masks= of loss_and_gradients; none for kernels without dropout."""
    drop = getattr(k, "DROPOUT", ())
    if not drop:
        return {}
    return {"masks": tuple(asarray(((rng.random((d["rows"], n)) >= d["p"]) / (1 - d["p"]))
                                   .astype(dtype)) for d in drop)}


def keep_running(k, params, trained, Xb, momentum=0.9):
    """The running values of the batch statistics (the parameters after the trained ones):
    r ← μ r + (1 − μ) s for this batch's s, the values predict uses."""
    for i, s in enumerate(k.statistics(Xb, *params), start=trained):
        params[i] = momentum * params[i] + (1 - momentum) * s


def save_weights(path, k, params):
    """Write the weights to an .npz atomically (core/files.py's write_file: a temporary
    unique to this run, then a rename; a device or FIFO is written to)."""
    buf = io.BytesIO()
    np.savez(buf, **{p["name"]: v for p, v in zip(k.PARAMS, params)})
    write_file(path, buf.getvalue(), "the weights")


# The history file's columns, one row per completed epoch (accuracies are fractions).
HISTORY_COLUMNS = ("epoch", "loss", "train_accuracy", "test_accuracy", "seconds")


def history_beside(output):
    """Where the history goes by default: beside the weights (mlp.npz → mlp.history.json);
    None for weights sent to a device or FIFO (/dev/null, /dev/stdout): no file is beside."""
    if is_stream(output):
        return None
    return os.path.splitext(output)[0] + ".history.json"


def check_history(path, output):
    """Refuse a history path that cannot be written, before training: a .json or .csv file
    in an existing folder, not the weights' own path."""
    path = os.path.abspath(path)
    if os.path.splitext(path)[1].lower() not in (".json", ".csv"):
        raise TrainingError(f"the history is written as .json or .csv; give a file name such "
                            f"as {os.path.splitext(path)[0]}.json, not {path}")
    if path == os.path.abspath(output):
        raise TrainingError(f"the history and the weights would both be written to {path}; "
                            "give them different names")
    if os.path.isdir(path) or not os.path.isdir(os.path.dirname(path)):
        raise TrainingError(f"cannot write the history to {path}: "
                            + ("it is a folder" if os.path.isdir(path) else
                               f"the folder {os.path.dirname(path)} does not exist"))
    try:
        check_writable(path, "the history")
    except WriteError as e:
        raise TrainingError(str(e)) from None


def save_history(path, history):
    """Write the per-epoch history (HISTORY_COLUMNS) as JSON (a list of objects) or CSV (a
    header row, then one row per epoch), atomically as the weights are."""
    rows = [dict(zip(HISTORY_COLUMNS, (h["epoch"], h["loss"], h["train"], h["test"],
                                       h["seconds"]))) for h in history]
    text = io.StringIO(newline="")
    if os.fspath(path).lower().endswith(".csv"):
        writer = csv.DictWriter(text, fieldnames=HISTORY_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    else:
        json.dump(rows, text, indent=1)
        text.write("\n")
    write_file(path, text.getvalue(), "the history")


def rescue_path(path):
    """Where a file that cannot be written where asked goes instead: the temporary folder,
    under this process's id (w.npz → /tmp/w.rescued-4242.npz)."""
    stem, ext = os.path.splitext(os.path.basename(os.fspath(path)))
    return os.path.join(tempfile.gettempdir(), f"{stem}.rescued-{os.getpid()}{ext}")


def keep_file(path, save, what, them="them"):
    """Run save(path), or when that fails save(rescue_path(path)); (True, "WHAT to PATH") or
    (False, what failed, and where the file went instead or that it is lost)."""
    try:
        save(path)
        return True, f"{what} to {path}"
    except WriteError as e:
        failed = f"could not write {what} to {os.path.abspath(path)} ({e.why})"
    spare, lost = rescue_path(path), "they are lost" if them == "them" else "it is lost"
    if os.path.dirname(spare) != os.path.dirname(os.path.abspath(path)):
        try:
            save(spare)
            return False, f"{failed}, so saved {them} to {spare} instead"
        except WriteError as e:
            return False, f"{failed}, nor to {spare} ({e.why}): {lost}"
    return False, f"{failed}: {lost}"


# The signals that stop a run as Ctrl-C does (kill, timeout, docker stop, a closed terminal),
# each with the words a note says; the exit code is 128 + the signal.
STOP_SIGNALS = {"SIGINT": "interrupted", "SIGTERM": "terminated (SIGTERM)",
                "SIGHUP": "hung up (SIGHUP)"}


class Stopped(KeyboardInterrupt):
    """A run stopped by a signal of STOP_SIGNALS: `signum` (the exit code is 128 + it)."""

    def __init__(self, signum, note=""):
        super().__init__(note)
        self.signum = signum


def raise_stopped(signum, frame):
    """A signal handler: SIGTERM or SIGHUP become what Ctrl-C is, an exception."""
    raise Stopped(signum)


class StopSignals:
    """While training, the STOP_SIGNALS raise Stopped in the loop; while saving (after
    `hold()`) one only waits, in `pending`, for the save to finish. A signal that is ignored
    (nohup's SIGHUP, a background job's SIGINT) or has someone else's handler stays so;
    outside the main thread nothing is installed (and Ctrl-C is Python's KeyboardInterrupt)."""

    def __init__(self):
        self.held, self.pending, self.old = False, None, {}

    def _handle(self, signum, frame):
        if self.held:
            self.pending = self.pending or signum
            return
        raise Stopped(signum)

    def hold(self):
        self.held = True

    def __enter__(self):
        for name in STOP_SIGNALS:
            signum = getattr(signal, name, None)
            try:
                old = signal.getsignal(signum) if signum else None
                if old in (signal.SIG_DFL, signal.default_int_handler) or old is raise_stopped:
                    signal.signal(signum, self._handle)
                    self.old[signum] = old
            except (ValueError, OSError):       # not the main thread
                break
        return self

    def __exit__(self, *exc):
        for signum, old in self.old.items():
            signal.signal(signum, old)
        return False


def stopped_words(e):
    """How a note says a KeyboardInterrupt or Stopped stopped the run."""
    signum = getattr(e, "signum", signal.SIGINT)
    return STOP_SIGNALS.get(signal.Signals(signum).name, f"stopped by signal {signum}")


def train(k, X, y, X_test, y_test, output, epochs=30, batch_size=32, lr=0.1,
          optimizer="sgd", lam=0.0, seed=0, dtype="float64", log=True, names=None,
          history_path=None):
    """Check, initialise, fit and save: the whole run, shared by the CLI, matcalc.train and
    the standalone script. Returns (params, history, note). With `history_path` (.json or
    .csv) the per-epoch history is saved (save_history) whenever the weights are.

    The output is validated before training. The weights of the best completed epoch are
    kept: a diverging run stops there and saves them; Ctrl-C, SIGTERM and SIGHUP save the
    last completed epoch (StopSignals); a run that stops before completing an epoch writes
    nothing. A file that cannot be written (a full disk) goes to rescue_path instead, or the
    note says it is lost. `note` says what happened; TrainingError (bad options, divergence,
    a failed save) and Stopped (a KeyboardInterrupt, with `signum`) carry it too, with
    `.saved` telling whether weights were written where asked and `.params`, `.history` the
    trained state in memory (to save again)."""
    check_options(epochs, batch_size, lr, lam, optimizer, names)
    check_output(output)
    if history_path is not None:
        check_history(history_path, output)
    check_memory(k, dtype, batch_size)
    log = sys.stderr if log is True else log
    params = init_params(k, np.random.default_rng(seed), np.dtype(dtype))
    best = {"loss": math.inf, "epoch": 0, "params": None}
    last = {"epoch": 0, "params": None}
    done = []         # the completed epochs, kept here too: fit's own list dies with it

    def keep(row, ps):
        copies = [p.copy() for p in ps]
        last.update(epoch=row["epoch"], params=copies)
        done.append(row)
        if row["loss"] < best["loss"]:
            best.update(loss=row["loss"], epoch=row["epoch"], params=last["params"])

    def save(ps, weights_words):
        """(note, whether every file went where asked): the weights, then the history."""
        kept = [keep_file(output, lambda p: save_weights(p, k, ps), weights_words)]
        if history_path is not None:
            n = len(done)
            kept.append(keep_file(history_path, lambda p: save_history(p, done),
                                  f"the history of {n} epoch{'s' * (n != 1)}", "it"))
        if all(ok for ok, _ in kept):
            return "saved " + " and ".join(words for _, words in kept), True
        return "; ".join(("saved " if ok else "") + words for ok, words in kept), False

    stop, failure = StopSignals(), None
    with stop:
        try:
            history = fit(k, params, X, y, X_test, y_test, epochs=epochs,
                          batch_size=batch_size, lr=lr, optimizer=optimizer, lam=lam,
                          seed=seed, log=log, on_epoch=keep)
            kept, what = {"epoch": len(done), "params": params}, None
        except Diverged as e:
            lr_name = (names or {}).get("lr", "lr")
            kept, failure = best, e
            what = f"training diverged: {e}. Try a smaller {lr_name} than {lr}"
        except KeyboardInterrupt as e:
            kept, failure = last, e
            what = f"{stopped_words(e)} in epoch {last['epoch'] + 1}"
        finally:
            stop.hold()     # a signal now waits until the files are written
        if kept["params"] is None:
            note, ok = f"{what}; no epoch was completed, so nothing was written to {output}", \
                True
        elif what is None:
            note, ok = save(params, "weights")
        else:
            words, ok = save(kept["params"], f"the weights of epoch {kept['epoch']}")
            note = f"{what}; {words}"
    if isinstance(failure, KeyboardInterrupt) and ok:
        err = Stopped(getattr(failure, "signum", signal.SIGINT), note)
    elif failure is None and ok and stop.pending:
        err = Stopped(stop.pending, f"{STOP_SIGNALS[signal.Signals(stop.pending).name]} "
                                    f"while saving; {note}")
    elif failure is not None or not ok:
        err = TrainingError(note)
    else:
        return params, history, note
    err.saved = kept["params"] is not None and ok
    err.params, err.history = kept["params"], done
    raise err from None
