"""The proof every torch and JAX kernel module passes (shared by tests/test_backend_torch.py
and tests/test_backend_jax.py): the same weights and batch give the NumPy kernel's loss,
gradients and output, in float64 and float32, and the gradients pass tests/kernel_check.py's
central differences of the backend's own loss; over every hidden activation × loss, both
layouts, and the options that change the printed lines (L2, sum, no bias, depth)."""
import itertools

import numpy as np

from matcalc import derive, mlp
from matcalc.codegen.kernels import compile
from matcalc.core.functions import ACTIVATION_TABLE

from kernel_check import directional_check

ACTIVATIONS = tuple(ACTIVATION_TABLE)      # every activation, on every backend
LOSSES = ["cross-entropy", "binary-cross-entropy", "squared-error", "hinge"]


def models():
    """Every activation × loss (columns), each activation once more with samples as rows
    (the loss rotating), and the options."""
    for act, loss in itertools.product(ACTIVATIONS, LOSSES):
        yield mlp([4, 5, 1 if loss == "binary-cross-entropy" else 3], hidden=act, loss=loss)
    for i, act in enumerate(ACTIVATIONS):
        loss = LOSSES[i % len(LOSSES)]
        yield mlp([4, 5, 1 if loss == "binary-cross-entropy" else 3], hidden=act, loss=loss,
                  layout="rows")
    yield mlp([4, 5, 3], hidden="relu", l2=True)
    yield mlp([4, 5, 1], hidden="tanh", loss="binary-cross-entropy", l2=True, layout="rows")
    yield mlp([4, 5, 3], hidden="sigmoid", reduction="sum", bias=False)
    yield mlp([4, 6, 5, 3], hidden=["relu", "tanh"], loss="hinge", layout="rows",
              reduction="sum", l2=0.01)


def model_id(m):
    return (f"{m.summary()['hidden']}-{m.loss}-{m.layout}"
            f"{'-l2' if m.l2 else ''}{'-sum' if m.reduction == 'sum' else ''}-d{m.depth}")


class AsNumPy:
    """Backend kernels called with NumPy arrays and answering NumPy arrays (kernel_check's
    interface); the arrays cross through the module's own asarray / to_numpy."""

    def __init__(self, k):
        self.k = k

    def loss_and_gradients(self, X, Y, *args):
        k = self.k
        args = [k.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
        L, grads = k.loss_and_gradients(k.asarray(X), k.asarray(Y), *args)
        return k.to_numpy(L), tuple(k.to_numpy(g) for g in grads)

    def predict(self, X, *params):
        k = self.k
        return k.to_numpy(k.predict(k.asarray(X), *[k.asarray(p) for p in params]))


def batch(k, rng, n=7):
    """X, Y (one-hot or 0/1 targets) in the kernels' layout, weights, the L2 weight if any."""
    X = rng.standard_normal((k.FEATURES, n))
    labels = rng.integers(0, max(k.OUTPUTS, 2), n)
    Y = labels.reshape(1, -1).astype(float) if k.OUTPUTS == 1 else np.eye(k.OUTPUTS)[:, labels]
    if k.SAMPLE_AXIS == 0:
        X, Y = X.T.copy(), Y.T.copy()
    params = [0.7 * rng.standard_normal(p["shape"]) for p in k.PARAMS]
    return X, Y, params, ((0.2,) if k.L2 else ())


def prove(model, backend, device=None):
    """The proof (see the module docstring) of `model`'s kernels on `backend`."""
    b = derive(model)
    ref, k = compile(b), compile(b, backend=backend, device=device)
    rng = np.random.default_rng(3)
    X, Y, params, extra = batch(ref, rng)
    ours = AsNumPy(k)
    for dtype, rtol in ((np.float64, 1e-10), (np.float32, 2e-5)):
        cast = [p.astype(dtype) for p in params]
        L0, g0 = ref.loss_and_gradients(X.astype(dtype), Y.astype(dtype), *cast, *extra)
        L1, g1 = ours.loss_and_gradients(X.astype(dtype), Y.astype(dtype), *cast, *extra)
        assert L1.dtype == dtype and all(g.dtype == dtype for g in g1), (L1.dtype, dtype)
        np.testing.assert_allclose(L1, L0, rtol=rtol, atol=rtol)
        for a, c in zip(g1, g0):
            np.testing.assert_allclose(a, c, rtol=rtol, atol=rtol * max(1, np.abs(c).max()))
        out = k.to_numpy(k.predict(k.asarray(X.astype(dtype)), *[k.asarray(p) for p in cast]))
        np.testing.assert_allclose(out, ref.predict(X.astype(dtype), *cast), rtol=rtol,
                                   atol=rtol)
    directional_check(ours, X, Y, params, extra, rng)
    return k
