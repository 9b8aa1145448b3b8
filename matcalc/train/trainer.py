"""Minibatch training over generated kernels: init, SGD with momentum or Adam, metrics, saving.

Stage 5 (train). Consumes a kernel module (codegen.py: PARAMS, SIZES, predict,
loss_and_gradients …) and arrays in matcalc's layout; produces trained weights, a history of
per-epoch loss and accuracy, and an .npz written atomically. The functions below use NumPy
only: the standalone script that `matcalc codegen` writes includes their source verbatim.
"""
import os
import sys
import tempfile
import time

import numpy as np


class TrainingError(ValueError):
    """Training cannot go on (the loss became NaN or Inf); the last good weights are kept."""


def init_params(k, rng, dtype=np.float64):
    """Weights by the layer's activation: He (relu) or Xavier/Glorot; biases zero."""
    params = []
    for name in k.PARAMS:
        layer = int(name[1:])
        fan_in, fan_out = k.SIZES[layer - 1], k.SIZES[layer]
        rows = k.LAYOUT == "rows"
        if name.startswith("W"):
            act = k.ACTIVATIONS[layer - 1] if layer - 1 < len(k.ACTIVATIONS) else k.OUTPUT
            scale = np.sqrt(2.0 / fan_in) if act == "relu" else np.sqrt(2.0 / (fan_in + fan_out))
            shape = (fan_in, fan_out) if rows else (fan_out, fan_in)
            params.append((rng.standard_normal(shape) * scale).astype(dtype))
        else:
            params.append(np.zeros((fan_out, 1), dtype=dtype))
    return params


def targets(k, y, dtype=np.float64):
    """Labels → the target matrix Y: one-hot per sample, or 0/1 for one sigmoid output."""
    n_out = k.SIZES[-1]
    if k.LOSS == "binary-cross-entropy" and n_out == 1:
        Y = y.reshape(1, -1).astype(dtype)
    else:
        Y = np.zeros((n_out, y.size), dtype=dtype)
        Y[y, np.arange(y.size)] = 1
    return Y.T if k.LAYOUT == "rows" else Y


def predictions(k, out):
    """Predicted labels from the network output (argmax, or threshold ½ for one sigmoid)."""
    if k.LAYOUT == "rows":
        out = out.T
    if out.shape[0] == 1:
        return (out[0] > (0.5 if k.OUTPUT == "sigmoid" else 0.0)).astype(np.int64)
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
    rows = k.LAYOUT == "rows"
    n = X.shape[0] if rows else X.shape[1]
    correct = 0
    for i in range(0, n, batch):
        Xb = X[i:i + batch] if rows else X[:, i:i + batch]
        correct += int((predictions(k, k.predict(Xb, *params)) == y[i:i + batch]).sum())
    return correct / max(n, 1)


def fit(k, params, X, y, X_test, y_test, epochs=30, batch_size=64, lr=0.1,
        optimizer="sgd", lam=0.0, seed=0, log=True, on_epoch=None):
    """Train params in place; returns the per-epoch history. Stops on NaN/Inf with the
    weights of the last good epoch restored (TrainingError). `log`: True for stderr, a
    file, or None for silence."""
    log = sys.stderr if log is True else log
    rng = np.random.default_rng(seed)
    step, state = OPTIMIZERS[optimizer], {}
    rows = k.LAYOUT == "rows"
    n = X.shape[0] if rows else X.shape[1]
    Y = targets(k, y, X.dtype)
    extra = (lam,) if k.L2 else ()
    history = []
    for epoch in range(1, epochs + 1):
        t0, good = time.perf_counter(), [p.copy() for p in params]
        total = 0.0
        for idx in batches(n, batch_size, rng):
            Xb, Yb = (X[idx], Y[idx]) if rows else (X[:, idx], Y[:, idx])
            loss, grads = k.loss_and_gradients(Xb, Yb, *params, *extra)
            if not np.isfinite(loss) or not all(np.isfinite(g).all() for g in grads):
                for p, g0 in zip(params, good):
                    p[...] = g0
                raise TrainingError(f"the loss became {loss} in epoch {epoch}; kept the "
                                    f"weights of epoch {epoch - 1}. Try a smaller learning "
                                    f"rate than {lr}.")
            total += float(loss) * len(idx)
            step(params, grads, state, lr)
        row = {"epoch": epoch, "loss": total / n, "train": evaluate(k, params, X, y),
               "test": evaluate(k, params, X_test, y_test), "seconds": time.perf_counter() - t0}
        history.append(row)
        if log is not None:
            print(f"epoch {epoch:3d}/{epochs}  loss {row['loss']:.4f}  train "
                  f"{100 * row['train']:5.1f}%  test {100 * row['test']:5.1f}%  "
                  f"{row['seconds']:.2f} s", file=log, flush=True)
        if on_epoch is not None:
            on_epoch(row, params)
    return history


def save_weights(path, k, params):
    """Write the weights to an .npz atomically: a temporary file, then a rename."""
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".weights-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **dict(zip(k.PARAMS, params)))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
