"""The check every generated kernel passes: its gradient along random directions against
central differences of its own loss, in float64 and float32 (shared by the kernel tests)."""
import numpy as np


def directional_check(k, X, Y, params, extra, rng):
    """⟨∇L, V⟩ of the float64 and the float32 kernel against the central difference
    (L(θ + hV) − L(θ − hV)) / 2h of the kernel's own loss (in float64, h = 1e-6: a kink of
    relu or the hinge is not crossed at this seed), along random directions V."""
    def at(dtype, ps):
        return k.loss_and_gradients(X.astype(dtype), Y.astype(dtype),
                                    *[np.asarray(p, dtype) for p in ps], *extra)
    grads = {}
    for dtype in (np.float64, np.float32):
        L, grads[dtype] = at(dtype, params)
        assert np.asarray(L).dtype == dtype and all(g.dtype == dtype for g in grads[dtype])
    h = 1e-6
    for _ in range(2):
        V = [rng.standard_normal(p.shape) for p in params]
        plus = at(np.float64, [p + h * v for p, v in zip(params, V)])[0]
        minus = at(np.float64, [p - h * v for p, v in zip(params, V)])[0]
        reference = (plus - minus) / (2 * h)
        for dtype, rtol in ((np.float64, 1e-6), (np.float32, 1e-4)):
            terms = [g.astype(np.float64) * v for g, v in zip(grads[dtype], V)]
            claimed = sum(float(t.sum()) for t in terms)
            scale = max(1.0, abs(reference), sum(float(np.abs(t).sum()) for t in terms))
            assert abs(claimed - reference) <= rtol * scale, (dtype, claimed, reference)
