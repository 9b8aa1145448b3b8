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
        inputs_untouched(k, [a.astype(dtype) for a in (X, Y, *params)], extra)
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


def inputs_untouched(k, arrays, extra=()):
    """Both kernels leave their input arrays (X, Y, the parameters) bit for bit as they were,
    and return arrays of their own: no gradient shares memory with an input or another
    gradient (the trainer updates the gradients in place)."""
    X, Y, *params = arrays
    before = [a.copy() for a in arrays]
    L, grads = k.loss_and_gradients(X, Y, *params, *extra)
    out = k.predict(X, *params)
    for a, b in zip(arrays, before):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), "a kernel wrote to its input"
    for i, g in enumerate(grads):
        assert not any(np.shares_memory(g, a) for a in arrays), f"gradient {i} is an input's"
        assert not any(np.shares_memory(g, h) for h in grads[i + 1:]), f"gradient {i} shared"
    assert not any(np.shares_memory(out, a) for a in arrays), "predict returned an input's"
