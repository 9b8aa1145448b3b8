"""nn/spec.py: mlp's checks; Model.network() as data (forward, params, δ's, stable loss)."""
import numpy as np
import pytest
import sympy as sp

from matcalc.codegen.function import numpy_function
from matcalc.core.errors import MatcalcError
from matcalc.core.expr import rebuild
from matcalc.nn.layers import layer
from matcalc.nn.spec import Model, Network, Param, mlp
from matcalc.verify import evaluate

# ---------------------------------------------------------------- mlp: the spec is checked

BAD = [
    (dict(layers=[3]), "a network needs at least an input and an output size, got (3,)"),
    (dict(layers=[]), "a network needs at least an input and an output size, got ()"),
    (dict(layers=[3, 0, 2]), "layer sizes must be positive integers, got 0 in (3, 0, 2)"),
    (dict(layers=[3, -4, 2]), "layer sizes must be positive integers, got -4 in (3, -4, 2)"),
    (dict(layers=[3, 4.0, 2]), "layer sizes must be positive integers, got 4.0 in (3, 4.0, 2)"),
    (dict(layers=[3, True, 2]),
     "layer sizes must be positive integers, got True in (3, True, 2)"),
    (dict(layers=[3, "4", 2]), "layer sizes must be positive integers, got '4' in (3, '4', 2)"),
    (dict(layers=[3, 4, 2], hidden="swish"),
     "unknown activation 'swish'; choose one of sigmoid, tanh, relu, softplus, leaky_relu, "
     "silu, elu, gelu, identity"),
    (dict(layers=[3, 4, 5, 2], hidden=["relu", "quux"]),
     "unknown activation 'quux'; choose one of sigmoid, tanh, relu, softplus, leaky_relu, "
     "silu, elu, gelu, identity"),
    (dict(layers=[3, 4, 2], hidden=["relu", "tanh"]),
     "1 hidden layers need 1 activations, got 2: ('relu', 'tanh')"),
    (dict(layers=[3, 4, 5, 2], hidden=["relu"]),
     "2 hidden layers need 2 activations, got 1: ('relu',)"),
    (dict(layers=[3, 2], hidden=["relu"]), "0 hidden layers need 0 activations, got 1: ('relu',)"),
    (dict(layers=[3, 4, 2], loss="focal"),
     "unknown loss 'focal'; choose one of cross-entropy, binary-cross-entropy, squared-error, "
     "hinge"),
    (dict(layers=[3, 4, 1], loss="cross-entropy"),
     "cross-entropy needs at least 2 output units (softmax output over one-hot columns), but "
     "the last layer has 1"),
    (dict(layers=[3, 4, 1], loss="ce"),          # an alias is named by its row
     "cross-entropy needs at least 2 output units (softmax output over one-hot columns), but "
     "the last layer has 1"),
    (dict(layers=[3, 4, 1], loss="svm"),
     "hinge needs at least 2 output units (identity output over one-hot columns), but the "
     "last layer has 1"),
    (dict(layers=[3, 4, 2], reduction="max"), "reduction must be 'mean' or 'sum', not 'max'"),
    (dict(layers=[3, 4, 2], layout="diagonal"),
     "layout must be 'columns' (X is features×N) or 'rows' (X is N×features), not 'diagonal'"),
    (dict(layers=[3, 4, 2], l2=-0.1),
     "the L2 weight λ must be a number ≥ 0 (or True for a symbol), not -0.1"),
    (dict(layers=[3, 4, 2], l2="0.1"),
     "the L2 weight λ must be a number ≥ 0 (or True for a symbol), not '0.1'"),
    (dict(layers=[3, 4, 2], l2=None),
     "the L2 weight λ must be a number ≥ 0 (or True for a symbol), not None"),
    (dict(layers=[3, 4, 2], batch=2),
     "batch is a name such as 'N', or 1 for a single sample, not 2"),
    (dict(layers=[3, 4, 2], batch="2N"),
     "batch is a name such as 'N', or 1 for a single sample, not '2N'"),
    (dict(layers=[3, 4, 2], batch=None),
     "batch is a name such as 'N', or 1 for a single sample, not None"),
]


@pytest.mark.parametrize("kwargs, message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_specs_are_refused_with_their_message(kwargs, message):
    kwargs = dict(kwargs)
    layers = kwargs.pop("layers")
    with pytest.raises(MatcalcError) as e:
        mlp(layers, **kwargs)
    assert str(e.value) == message


@pytest.mark.parametrize("alias, loss, outputs", [
    ("ce", "cross-entropy", 2), ("softmax-cross-entropy", "cross-entropy", 2),
    ("bce", "binary-cross-entropy", 1), ("mse", "squared-error", 1), ("svm", "hinge", 2),
    ("multiclass-hinge", "hinge", 2),
])
def test_loss_aliases_resolve_and_minimum_outputs_are_accepted(alias, loss, outputs):
    m = mlp([3, 4, outputs], loss=alias)
    assert m.loss == loss
    assert m.loss_row.name == loss


@pytest.mark.parametrize("l2, stored", [(False, False), (0, False), (0.0, False), (True, True),
                                        (0.5, 0.5), (2, 2)])
def test_l2_is_normalised(l2, stored):
    m = mlp([3, 4, 2], l2=l2)
    assert m.l2 == stored and type(m.l2) is type(stored)
    assert (m.network().lam is None) == (stored is False)


def test_defaults_and_derived_properties():
    m = mlp((3, 4, 5, 2), hidden=["relu", "tanh"])
    assert m == Model((3,), tuple(layer(*l) for l in [("dense", 4), ("relu",), ("dense", 5),
                                                      ("tanh",), ("dense", 2)]),
                      "cross-entropy", False, True, "mean", "columns", "N")
    assert m.sizes == (3, 4, 5, 2) and m.name == "3-4-5-2"
    assert m.depth == 3
    assert m.output_activation == "softmax"
    assert mlp([3, 4, 1], loss="bce").output_activation == "sigmoid"
    assert mlp([3, 4, 2], loss="mse").output_activation == "identity"
    assert mlp([3, 4, 5, 2], hidden="tanh").activations == ("tanh", "tanh")


def test_float_batch_is_refused_or_works():
    try:
        m = mlp([3, 4, 2], batch=1.0)
    except MatcalcError as e:
        assert "batch is a name such as 'N', or 1 for a single sample" in str(e)
        return
    assert m.dims()[1] == 1 and str(m.network().forward.assignments[0]) == "Z1 := W1 @ X + b1"


def test_nan_l2_is_refused():
    with pytest.raises(MatcalcError, match="the L2 weight λ must be a number ≥ 0"):
        mlp([3, 4, 2], l2=float("nan"))


# ---------------------------------------------------------------- the forward program

def test_columns_forward_program():
    net = mlp([4, 5, 3]).network()
    assert isinstance(net, Network)
    assert str(net.forward) == "\n".join([
        "Z1 := W1 @ X + b1 @ ones(1, N)",
        "A1 := sigmoid(Z1)",
        "Z2 := W2 @ A1 + b2 @ ones(1, N)",
        "S := softmax(Z2)",
        "L := -sum(Y * log(S))/N",
    ])
    assert str(net.X) == "X" and tuple(map(str, net.X.shape)) == ("d0", "N")
    assert tuple(map(str, net.Y.shape)) == ("d2", "N")


def test_rows_forward_program():
    net = mlp([4, 5, 3], hidden="relu", layout="rows", l2=True, reduction="sum").network()
    assert str(net.forward) == "\n".join([
        "Z1 := X @ W1 + ones(N, 1) @ b1.T",
        "A1 := relu(Z1)",
        "Z2 := A1 @ W2 + ones(N, 1) @ b2.T",
        "S := softmax(Z2, axis=1)",
        "L := lam*(norm(W1)**2 + norm(W2)**2)/2 - sum(Y * log(S))",
    ])
    assert tuple(map(str, net.X.shape)) == ("N", "d0")
    assert tuple(map(str, net.Y.shape)) == ("N", "d2")


@pytest.mark.parametrize("kwargs, lines", [
    (dict(layers=[3, 4, 1], hidden="tanh", loss="bce"), [
        "Z1 := W1 @ X + b1 @ ones(1, N)", "A1 := tanh(Z1)", "Z2 := W2 @ A1 + b2 @ ones(1, N)",
        "A2 := sigmoid(Z2)", "L := -sum(Y * log(A2) + (1 - Y) * log(1 - A2))/N"]),
    (dict(layers=[3, 4, 2], loss="mse", bias=False, reduction="sum"), [
        "Z1 := W1 @ X", "A1 := sigmoid(Z1)", "Z2 := W2 @ A1", "L := norm(Z2 - Y)**2/2"]),
    (dict(layers=[3, 4, 3], hidden="identity", loss="hinge", batch=1), [
        "Z1 := W1 @ X + b1", "Z2 := W2 @ Z1 + b2",
        "L := sum((1 - Y) * relu(Z2 + 1 - ones(d2, d2) @ (Y * Z2)))"]),
    (dict(layers=[3, 2], batch="M"), [
        "Z1 := W1 @ X + b1 @ ones(1, M)", "S := softmax(Z1)", "L := -sum(Y * log(S))/M"]),
])
def test_forward_program_options(kwargs, lines):
    kwargs = dict(kwargs)
    assert str(mlp(kwargs.pop("layers"), **kwargs).network().forward) == "\n".join(lines)


def test_network_is_cached_per_model():
    assert mlp([4, 5, 3]).network() is mlp([4, 5, 3]).network()


# ---------------------------------------------------------------- the network's data

def _params(net):
    return [(p.symbol.name, tuple(map(str, p.symbol.shape)), p.layer, p.kind, p.init)
            for p in net.params]


def test_params_as_data():
    net = mlp([3, 4, 5, 2], hidden=["relu", "tanh"]).network()
    assert all(isinstance(p, Param) for p in net.params)
    assert _params(net) == [
        ("W1", ("d1", "d0"), 1, "weight", "he"),        # relu layer
        ("b1", ("d1", "1"), 1, "bias", "zeros"),
        ("W2", ("d2", "d1"), 2, "weight", "glorot"),    # tanh layer
        ("b2", ("d2", "1"), 2, "bias", "zeros"),
        ("W3", ("d3", "d2"), 3, "weight", "glorot"),    # softmax output
        ("b3", ("d3", "1"), 3, "bias", "zeros"),
    ]


def test_params_without_bias_and_in_rows():
    assert _params(mlp([3, 4, 2], hidden="relu", bias=False).network()) == [
        ("W1", ("d1", "d0"), 1, "weight", "he"), ("W2", ("d2", "d1"), 2, "weight", "glorot")]
    assert _params(mlp([3, 4, 2], hidden="softplus", layout="rows").network()) == [
        ("W1", ("d0", "d1"), 1, "weight", "glorot"), ("b1", ("d1", "1"), 1, "bias", "zeros"),
        ("W2", ("d1", "d2"), 2, "weight", "glorot"), ("b2", ("d2", "1"), 2, "bias", "zeros")]


@pytest.mark.parametrize("layout, shapes, axis", [
    ("columns", [("d1", "N"), ("d2", "N"), ("d3", "N")], 1),
    ("rows", [("N", "d1"), ("N", "d2"), ("N", "d3")], 0),
])
def test_deltas_and_sample_axis(layout, shapes, axis):
    net = mlp([3, 4, 5, 2], hidden="tanh", layout=layout).network()
    names = set(net.forward.names())
    assert {z.name: d.name for z, d in net.deltas.items()} == {
        "Z1": "delta1", "Z2": "delta2", "Z3": "delta3"}
    assert [tuple(map(str, d.shape)) for d in net.deltas.values()] == shapes
    assert set(net.deltas) <= names                 # keyed by the forward's own Z's
    assert all(z.shape == d.shape for z, d in net.deltas.items())
    assert net.sample_axis == axis


def test_assumptions_of_the_targets():
    assert [str(a) for a in mlp([3, 4, 2]).network().assumptions] == [
        "each column of Y sums to 1"]
    assert [str(a) for a in mlp([3, 4, 3], loss="hinge", layout="rows").network().assumptions] \
        == ["each row of Y sums to 1"]
    assert mlp([3, 4, 1], loss="bce").network().assumptions == ()
    assert mlp([3, 4, 2], loss="mse").network().assumptions == ()


def test_dims_concrete_variables_weights():
    m = mlp([4, 5, 3], l2=True)
    ds, n = m.dims()
    assert [str(d) for d in ds] == ["d0", "d1", "d2"] and str(n) == "N"
    assert all(d.is_integer and d.is_positive for d in ds + [n])
    assert m.concrete() == {ds[0]: 4, ds[1]: 5, ds[2]: 3}
    assert m.concrete(7) == {ds[0]: 4, ds[1]: 5, ds[2]: 3, n: 7}
    one = mlp([4, 5, 3], batch=1)
    assert one.dims()[1] == sp.Integer(1)
    assert one.concrete(7) == one.concrete() == {ds[0]: 4, ds[1]: 5, ds[2]: 3}
    X, Y, params, lam = m.variables()
    assert (str(X), str(Y), [str(p) for p in params], str(lam)) == (
        "X", "Y", ["W1", "b1", "W2", "b2"], "lam")
    assert lam.is_positive
    assert [tuple(int(d.xreplace(m.concrete(7))) for d in v.shape) for v in [X, Y] + params] \
        == [(4, 7), (3, 7), (5, 4), (5, 1), (3, 5), (3, 1)]
    assert [str(w) for w in m.weights()] == ["W1", "W2"]
    assert mlp([4, 5, 3]).variables()[3] is None
    rows = mlp([4, 5, 3], layout="rows")
    assert [tuple(int(d.xreplace(rows.concrete(7))) for d in v.shape)
            for v in rows.variables()[:2] + tuple(rows.variables()[2])] == [
        (7, 4), (7, 3), (4, 5), (5, 1), (5, 3), (3, 1)]


# ---------------------------------------------------------------- the stable loss

def _inline(net):
    """(L, stable L) as expressions of the variables: the forward names substituted."""
    subs = {}
    for a in net.forward:
        subs[a.name] = rebuild(a.expr, lambda x: subs.get(x, x))
    return subs[net.forward.output], rebuild(net.stable_loss, lambda x: subs.get(x, x))


def _shape(m, v, n):
    return tuple(int(sp.sympify(d).xreplace(m.concrete(n))) for d in v.shape)


def _random(m, rng, n=6):
    net = m.network()
    values = {v: rng.uniform(-1, 1, _shape(m, v, n))
              for v in [net.X] + [p.symbol for p in net.params]}
    values[net.Y] = rng.uniform(0.05, 0.95, _shape(m, net.Y, n))
    if net.lam is not None:
        values[net.lam] = 0.3
    return values


STABLE = [
    mlp([3, 4, 2]),
    mlp([3, 4, 3], hidden="relu", layout="rows", l2=True),
    mlp([3, 4, 1], hidden="tanh", loss="bce", reduction="sum"),
    mlp([3, 4, 1], loss="bce", layout="rows", bias=False),
    mlp([3, 4, 2], hidden="softplus", loss="mse", l2=True),
    mlp([3, 4, 3], loss="hinge", layout="rows"),
    mlp([3, 4, 3], batch=1),
]


@pytest.mark.parametrize("m", STABLE, ids=lambda m: f"{m.loss}-{m.layout}-{m.batch}-{m.l2}")
def test_stable_loss_equals_the_loss(m):
    L, stable = _inline(m.network())
    assert L != stable or m.loss in ("squared-error", "hinge")
    for seed in range(3):
        values = _random(m, np.random.default_rng(seed))
        want = evaluate(L, values)
        assert np.isfinite(want)
        assert evaluate(stable, values) == pytest.approx(want, rel=1e-12, abs=1e-12)


def _extreme(m, net, n, logits, Y):
    """Values where the output layer's logits are exactly `logits` (W_L = 0, b_L = logits)."""
    rng = np.random.default_rng(0)
    values = {v: rng.uniform(-1, 1, _shape(m, v, n))
              for v in [net.X] + [p.symbol for p in net.params]}
    values[net.params[-2].symbol] = np.zeros(_shape(m, net.params[-2].symbol, n))
    values[net.params[-1].symbol] = np.array(logits, dtype=float).reshape(-1, 1)
    values[net.Y] = np.array(Y, dtype=float)
    return values


def _compiled(expr, net, values):
    args = [net.X, net.Y] + [p.symbol for p in net.params]
    _, f = numpy_function(expr, args)
    with np.errstate(all="ignore"):
        return f(*[values[a] for a in args])


def test_stable_cross_entropy_is_finite_at_extreme_logits():
    m = mlp([3, 4, 2])
    net = m.network()
    L, stable = _inline(net)
    Y = [[1, 0, 1, 0, 0], [0, 1, 0, 1, 1]]      # three samples of the class with logit −1e3
    values = _extreme(m, net, 5, [1e3, -1e3], Y)
    assert not np.isfinite(evaluate(L, values))
    assert not np.isfinite(_compiled(L, net, values))
    # −log softmax = 2000 for the class at −1e3, 0 for the other; mean over 5 samples
    assert evaluate(stable, values) == pytest.approx(3 * 2000 / 5, rel=1e-12)
    assert _compiled(stable, net, values) == pytest.approx(3 * 2000 / 5, rel=1e-12)


def test_stable_binary_cross_entropy_is_finite_at_extreme_logits():
    m = mlp([3, 4, 1], loss="bce")
    net = m.network()
    L, stable = _inline(net)
    values = _extreme(m, net, 5, [1e3], [[1, 0, 1, 0, 0]])
    assert not np.isfinite(evaluate(L, values))
    assert not np.isfinite(_compiled(L, net, values))
    # softplus(−1e3) ≈ 0 for Y = 1, softplus(1e3) = 1e3 for Y = 0; mean over 5 samples.
    # Generated code (np.logaddexp) is what the stable loss is for; the verifier's evaluator
    # writes softplus as log(1 + exp(z)), which overflows at z = 1e3.
    assert _compiled(stable, net, values) == pytest.approx(3 * 1000 / 5, rel=1e-12)
    values = _extreme(m, net, 5, [-1e3], [[1, 0, 1, 0, 0]])
    assert not np.isfinite(evaluate(L, values))
    assert _compiled(stable, net, values) == pytest.approx(2 * 1000 / 5, rel=1e-12)
