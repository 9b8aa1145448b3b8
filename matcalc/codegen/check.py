"""Kernels for another array library checked against the NumPy kernels before they are used.

Codegen (stage 5). Consumes a Backprop and its kernels printed for torch or JAX
(codegen/backends.py); evaluates both them and the NumPy kernels of the same Backprop (whose
lines the tests prove against central differences) on one random batch and random weights, in
float64, and raises InternalError when a loss or a gradient differs: a torch or JAX spelling
that is wrong never trains or leaves in a script.
"""
import numpy as np

from ..core.errors import InternalError


def check_backend(b, k, numpy_kernels, library, seed=0, samples=5, rtol=1e-9):
    """Compare the kernels k with numpy_kernels on a random batch (see the module docstring).

    The weights are drawn ×0.5 from a normal distribution and the targets as the trainer
    makes them (one-hot columns or 0/1), so that no relu or hinge kink is near."""
    rng = np.random.default_rng(seed)
    ref = numpy_kernels
    X = rng.standard_normal((ref.FEATURES, samples))
    labels = rng.integers(0, max(ref.OUTPUTS, 2), samples)
    Y = (labels.reshape(1, -1).astype(float) if ref.OUTPUTS == 1 else
         np.eye(ref.OUTPUTS)[:, labels])
    if ref.SAMPLE_AXIS == 0:
        X, Y = X.T.copy(), Y.T.copy()
    params = [0.5 * rng.standard_normal(p["shape"]) for p in ref.PARAMS]
    extra = (0.1,) if ref.L2 else ()
    L0, g0 = ref.loss_and_gradients(X, Y, *params, *extra)
    L1, g1 = k.loss_and_gradients(k.asarray(X), k.asarray(Y), *[k.asarray(p) for p in params],
                                  *extra)
    pairs = [("L", np.asarray(L0), k.to_numpy(L1))] + [
        (f"d{p['name']}", a, k.to_numpy(g)) for p, a, g in zip(ref.PARAMS, g0, g1)]
    for name, want, got in pairs:
        if got.shape != want.shape or got.dtype != np.float64 or \
                not np.allclose(got, want, rtol=rtol, atol=rtol * max(1.0, np.abs(want).max())):
            raise InternalError(f"the {b.model.name} kernels printed for {library} disagree "
                                f"with the NumPy kernels on {name}: {got!r} vs {want!r} "
                                "(please report this network)")
