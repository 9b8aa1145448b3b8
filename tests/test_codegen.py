"""Generated kernels: the derivation's formulas, line by line, equal to an independent
evaluation of the symbolic gradients, finite at extreme logits, readable."""
import dataclasses
import itertools
import re

import numpy as np
import pytest

from matcalc import derive, mlp
from matcalc.codegen.kernels import compile, kernel_source
from matcalc.train.script import script_source
from matcalc.verify import evaluate

from kernel_check import directional_check

MODELS = [
    mlp([5, 7, 4]),
    mlp([5, 6, 1], hidden="tanh", loss="binary-cross-entropy", l2=True),
    mlp([5, 6, 3], hidden="relu", loss="squared-error"),
    mlp([5, 6, 4], hidden="softplus", loss="hinge"),
    mlp([5, 6, 6, 3], hidden=["relu", "tanh"], layout="rows", reduction="sum"),
    mlp([5, 4], loss="cross-entropy", bias=False),
]


def _values(model, rng, n=9, scale=1.0):
    X, Y, params, lam = model.variables()
    sub = {**model.concrete(n)}
    shape = lambda m: tuple(int(d.xreplace(sub)) if hasattr(d, "xreplace") else int(d)  # noqa
                            for d in m.shape)
    vals = {p: rng.standard_normal(shape(p)) * scale for p in params}
    classes = rng.integers(0, max(2, model.sizes[-1]), n)
    if model.loss == "binary-cross-entropy":
        Yv = classes.reshape(1, -1).astype(float) % 2
    else:
        Yv = np.eye(model.sizes[-1])[:, classes]
    if model.layout == "rows":
        Yv = Yv.T
    vals[X], vals[Y] = rng.standard_normal(shape(X)), Yv
    if lam is not None:
        vals[lam] = 0.3
    return vals


@pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{m.loss}-{m.layout}-{m.depth}")
def test_kernels_match_the_symbolic_gradients(model):
    b = derive(model)
    k = compile(b)
    X, Y, params, lam = model.variables()
    vals = _values(model, np.random.default_rng(1))
    extra = (vals[lam],) if lam is not None else ()
    L, grads = k.loss_and_gradients(vals[X], vals[Y], *[vals[p] for p in params], *extra)
    np.testing.assert_allclose(L, evaluate(b.loss(), vals), rtol=1e-10)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(g, evaluate(b.gradient(p), vals), rtol=1e-9, atol=1e-12)
    out = k.predict(vals[X], *[vals[p] for p in params])
    assert out.shape == vals[Y].shape


@pytest.mark.parametrize("scale", [1e3, 1e5])
@pytest.mark.parametrize("model", [MODELS[0], MODELS[1], MODELS[4]],
                         ids=["softmax", "sigmoid", "rows"])
def test_loss_and_gradients_finite_at_extreme_logits(model, scale):
    k = compile(derive(model))
    X, Y, params, lam = model.variables()
    vals = _values(model, np.random.default_rng(2), scale=scale)
    extra = (0.3,) if lam is not None else ()
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow to 0 is fine
        L, grads = k.loss_and_gradients(vals[X], vals[Y], *[vals[p] for p in params], *extra)
    assert np.isfinite(L) and L > 0
    assert all(np.isfinite(g).all() for g in grads)


def test_kernel_reads_like_the_math():
    src = kernel_source(derive(mlp([64, 128, 10])))
    body = src.split("def loss_and_gradients", 1)[1]
    lines = [l.strip() for l in body.splitlines() if re.match(r"\s{4}\w+(, \w+)* = ", l)]
    # planned (codegen/plan.py): in place, the mean's 1/N once in δ2, one exp for S and log S
    assert lines == [
        "N = X.shape[1]",
        "Z1 = W1 @ X",
        "A1 = _sigmoid(Z1, out=Z1)",
        "Z2 = W2 @ A1",
        "S, logS = _softmax_pair(Z2, axis=0, out=Z2)",
        "L = -np.vdot(Y, logS)/N",
        "delta2 = np.subtract(S, Y, out=S)",
        "dW2 = delta2 @ A1.T",
        "db2 = delta2.sum(axis=1, keepdims=True)",
        "delta1 = W2.T @ delta2",
        "dW1 = delta1 @ X.T",
        "db1 = delta1.sum(axis=1, keepdims=True)",
    ]
    updates = [l.strip() for l in body.splitlines() if re.match(r"\s{4}\w+ [-+*/]= ", l)]
    assert updates == ["Z1 += b1", "Z2 += b2", "delta2 *= 1/N", "delta1 *= A1",
                       "delta1 *= np.subtract(1, A1, out=A1)"]
    assert r"\delta_{1} = \left(W_{2}^{\top} \delta_{2}\right) \odot A_{1}" in src
    assert "np.ones" not in src and "np.diag" not in src


def test_tracebacks_show_generated_lines(tmp_path):
    k = compile(derive(mlp([3, 4, 2])), path=tmp_path / "kernels.py")
    assert (tmp_path / "kernels.py").read_text() == k.source
    with pytest.raises(ValueError) as e:
        k.predict(np.ones((5, 2)), *[np.ones((4, 3)), np.ones((4, 1)), np.ones((2, 4)),
                                     np.ones((2, 1))])
    assert "Z1 = W1 @ X" in "".join(
        __import__("traceback").format_exception(e.value))


def test_float32_stays_float32():
    model = mlp([5, 7, 4])
    k = compile(derive(model))
    X, Y, params, lam = model.variables()
    vals = _values(model, np.random.default_rng(3))
    L, grads = k.loss_and_gradients(*(vals[v].astype(np.float32) for v in [X, Y] + params))
    assert all(g.dtype == np.float32 for g in grads)


def test_script_needs_numpy_alone():
    src = script_source(derive(mlp([64, 32, 10])))
    assert not re.search(r"^\s*(import matcalc|from matcalc)", src, re.M)
    assert "def fit(" in src and "def read_idx(" in src and "def loss_and_gradients(" in src


# ---------------------------------------------------------------- every kind of network

def _combos():
    from matcalc.nn.losses import LOSSES
    from matcalc.nn.spec import ACTIVATIONS
    for act, loss, bias, reduction, layout, l2 in itertools.product(
            ACTIVATIONS, LOSSES, (True, False), ("mean", "sum"), ("columns", "rows"),
            (False, True)):
        outputs = 1 if loss == "binary-cross-entropy" else 3
        yield mlp([4, 5, outputs], hidden=act, loss=loss, bias=bias, reduction=reduction,
                  layout=layout, l2=l2)


@pytest.mark.parametrize("model", list(_combos()), ids=lambda m: (
    f"{m.activations[0]}-{m.loss}-{'bias' if m.bias else 'nobias'}-{m.reduction}-"
    f"{m.layout}-{'l2' if m.l2 else 'nol2'}"))
def test_every_kernel_matches_central_differences_of_its_own_loss(model):
    """Every hidden activation × loss × bias × reduction × layout × L2, float64 and float32."""
    k = compile(derive(model))
    rng = np.random.default_rng(0)
    n, classes = 7, max(2, model.sizes[-1])
    labels = rng.integers(0, classes, n)
    Y = (labels[None, :] % 2).astype(float) if model.sizes[-1] == 1 else \
        np.eye(model.sizes[-1])[:, labels]
    if model.loss == "squared-error":
        Y = Y + 0.1 * rng.standard_normal(Y.shape)
    X = rng.standard_normal((model.sizes[0], n))
    X, Y = (np.ascontiguousarray(np.moveaxis(a, 1, k.SAMPLE_AXIS)) for a in (X, Y))
    params = [0.7 * rng.standard_normal(p["shape"]) for p in k.PARAMS]
    extra = (0.3,) if k.L2 else ()
    directional_check(k, X, Y, params, extra, rng)


def test_the_kernel_check_catches_a_gradient_off_by_a_tenth_of_a_percent():
    k = compile(derive(mlp([4, 5, 3], hidden="tanh")))

    class Off:
        def __getattr__(self, name):
            return getattr(k, name)

        def loss_and_gradients(self, *args):
            L, grads = k.loss_and_gradients(*args)
            return L, tuple(g * 1.001 if i == 2 else g for i, g in enumerate(grads))
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((4, 7)), np.eye(3)[:, rng.integers(0, 3, 7)]
    params = [0.7 * rng.standard_normal(p["shape"]) for p in k.PARAMS]
    directional_check(k, X, Y, params, (), rng)
    with pytest.raises(AssertionError):
        directional_check(Off(), X, Y, params, (), rng)
