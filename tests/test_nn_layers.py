"""nn/layers.py, nn/model.py, nn/network.py: layers as data, one builder, one tail.

mlp() and cnn() are sugar for one builder, so they refuse a bad option with the same
message; the weights' init is read from the activation's record; any number of activations
or pools fits in one layer; a --net keyword given twice, an unknown name (with a "did you
mean") and wrong Python types are errors with messages; a CNN too big for the numeric proof
is proven at small sizes (the same layers), and a new layer kind is one record."""
import subprocess
import sys
import time

import pytest
import sympy as sp

from matcalc import cnn, derive, mlp, verify_backprop
from matcalc.core.errors import MatcalcError, ParseError
from matcalc.core.expr import matmul
from matcalc.core.functions import ACTIVATION_TABLE, ACTIVATIONS
from matcalc.nn import layers as L
from matcalc.nn.layers import Kind, layer
from matcalc.nn.model import model
from matcalc.nn.network import _suffixes
from matcalc.nn.proof_sizes import at_proof_sizes, skeleton

CIFAR = "conv(32, 3, pad=1), relu, maxpool(2), dense(256), dense(10)"

# ---------------------------------------------------------------- one builder, one check

SAME = [
    (dict(loss="focal"), "unknown loss 'focal'; choose one of cross-entropy, "
                         "binary-cross-entropy, squared-error, hinge"),
    (dict(loss=None), "unknown loss None; choose one of cross-entropy, "
                      "binary-cross-entropy, squared-error, hinge"),
    (dict(loss=["ce"]), "unknown loss ['ce']; choose one of cross-entropy, "
                        "binary-cross-entropy, squared-error, hinge"),
    (dict(l2=-0.1), "the L2 weight λ must be a number ≥ 0 (or True for a symbol), not -0.1"),
    (dict(l2="0.1"), "the L2 weight λ must be a number ≥ 0 (or True for a symbol), not '0.1'"),
    (dict(l2=float("nan")), "the L2 weight λ must be a number ≥ 0 (or True for a symbol), "
                            "not nan"),
    (dict(reduction="max"), "reduction must be 'mean' or 'sum', not 'max'"),
    (dict(reduction=["mean"]), "reduction must be 'mean' or 'sum', not ['mean']"),
    (dict(batch="2 x"), "batch is a name such as 'N', or 1 for a single sample, not '2 x'"),
    (dict(batch=2), "batch is a name such as 'N', or 1 for a single sample, not 2"),
    (dict(batch=None), "batch is a name such as 'N', or 1 for a single sample, not None"),
    (dict(layout="diagonal"), "layout must be 'columns' (X is features×N) or 'rows' "
                              "(X is N×features), not 'diagonal'"),
    (dict(layout=["rows"]), "layout must be 'columns' (X is features×N) or 'rows' "
                            "(X is N×features), not ['rows']"),
    (dict(bias="yes"), "bias is True or False, not 'yes'"),
    (dict(loss="cross-entropy", outputs=1), "cross-entropy needs at least 2 output units "
     "(softmax output over one-hot columns), but the last layer has 1"),
    (dict(loss="svm", outputs=1), "hinge needs at least 2 output units (identity output over "
                                  "one-hot columns), but the last layer has 1"),
]


@pytest.mark.parametrize("kwargs, message", SAME, ids=[m[:40] for _, m in SAME])
def test_mlp_and_cnn_refuse_a_bad_option_with_the_same_message(kwargs, message):
    kwargs = dict(kwargs)
    outputs = kwargs.pop("outputs", 3)
    with pytest.raises(MatcalcError) as by_mlp:
        mlp([4, 5, outputs], **kwargs)
    with pytest.raises(MatcalcError) as by_cnn:
        cnn("1x4x4", f"conv(2, 3), relu, dense({outputs})", **kwargs)
    assert str(by_mlp.value) == str(by_cnn.value) == message


def test_an_mlp_is_the_model_of_its_layer_list():
    assert mlp([64, 128, 10], hidden="relu") == model(
        (64,), (layer("dense", 128), layer("relu"), layer("dense", 10)))
    assert mlp([64, 10]).layers == (layer("dense", 10),)
    m = cnn("1x4x4", "conv(2, 3), relu, dense(3)")
    assert m.name == "1x4x4 conv(2, 3), relu, dense(3)" and m.depth == 2
    assert m.summary()["architecture"] == "layers conv(2, 3), relu, dense(3) on 1×4×4 inputs"


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_the_init_is_read_from_the_activations_record(name):
    """W1 feeds `name`; the output layer feeds softmax, which is no record: Glorot."""
    inits = {str(p.symbol): p.init for p in mlp([4, 5, 3], hidden=name).network().params}
    assert inits == {"W1": ACTIVATION_TABLE[name].init, "b1": "zeros",
                     "W2": L.DEFAULT_INIT, "b2": "zeros"}
    net = cnn("1x4x4", f"conv(2, 3), {name}, dense(3)").network()
    assert [p.init for p in net.params] == [ACTIVATION_TABLE[name].init, "zeros",
                                            L.DEFAULT_INIT, "zeros"]


def test_the_init_follows_the_record_not_the_name(monkeypatch):
    from dataclasses import replace
    monkeypatch.setitem(ACTIVATION_TABLE, "tanh", replace(ACTIVATION_TABLE["tanh"], init="he"))
    params = mlp([4, 7, 3], hidden="tanh").network().params      # not cached
    assert params[0].init == "he"


def test_a_cnn_without_biases_is_proven():
    b = derive(cnn("1x4x4", "conv(2, 3, pad=1), relu, maxpool(2), dense(3)", bias=False))
    assert [str(p) for p in b.params] == ["W1", "W2"]
    assert "Z1 := W1 @ U1" in str(b) and "b1" not in str(b)
    verify_backprop(b)


def test_samples_as_rows_are_refused_by_a_layer_without_a_rows_form():
    with pytest.raises(MatcalcError) as e:
        cnn("1x4x4", "conv(2, 3), relu, dense(3)", layout="rows")
    assert str(e.value) == ("layer 1, conv(2, 3): convolutional networks take samples as "
                            "columns (X is features×N), not layout='rows'")


# ---------------------------------------------------------------- issue 17: names and types

def test_any_number_of_activations_or_pools_in_one_layer():
    """Ten activations after one convolution: A1, A1b, …, A1j, each unique, all proven."""
    acts = ", ".join(["tanh", "sigmoid"] * 5)
    b = derive(cnn("1x4x4", f"conv(2, 3, pad=1), {acts}, avgpool(1), avgpool(2), dense(3)"))
    names = [str(a.name) for a in b.forward]
    assert len(names) == len(set(names))
    assert {"A1", "A1b", "A1i", "A1j", "P1", "P1b"} <= set(names)
    from matcalc.printing.report import program_latex
    assert r"A_{1j} &= \sigma\left(A_{1i}\right)" in program_latex(b.forward)
    verify_backprop(b)
    many = list(zip(range(40), _suffixes()))      # never exhausted (it was 8: StopIteration)
    assert len({s for _, s in many}) == 40


@pytest.mark.parametrize("net, message", [
    ("conv(8, 3, pad=1, pad=2), dense(10)", "conv is given pad= twice"),
    ("conv(8, 3), rleu, dense(10)", "unknown layer 'rleu'; choose one of conv, maxpool, "
                                    "avgpool, dense, flatten, " + ", ".join(ACTIVATIONS)
     + ", " + ", ".join(list(L.spellings())[5 + len(ACTIVATIONS):]) + "; did you mean relu?"),
    ("conv(8, 3), maxpol(2), dense(10)", "did you mean maxpool or avgpool?"),
    ("conv(8, 3, pad=-1), dense(10)", "conv: pad must be an integer ≥ 0, not -1"),
])
def test_a_bad_net_is_named(net, message):
    with pytest.raises(ParseError) as e:
        cnn("1x8x8", net)
    assert message in str(e.value) and "^" in str(e.value)


def test_an_unknown_hidden_activation_gets_a_did_you_mean():
    with pytest.raises(MatcalcError) as e:
        mlp([4, 5, 3], hidden="rleu")
    assert str(e.value) == (f"unknown activation 'rleu'; choose one of "
                            f"{', '.join(ACTIVATIONS)}; did you mean relu?")


@pytest.mark.parametrize("call, message", [
    (lambda: mlp(None), "layers is a list of sizes, such as [64, 128, 10], not None"),
    (lambda: mlp(64), "layers is a list of sizes, such as [64, 128, 10], not 64"),
    (lambda: mlp("64,10"), "layers is a list of sizes, such as [64, 128, 10], not '64,10'"),
    (lambda: mlp([64, 10.0]), "layer sizes must be positive integers, got 10.0 in (64, 10.0)"),
    (lambda: mlp([64, "10"]), "layer sizes must be positive integers, got '10' in (64, '10')"),
    (lambda: mlp([64, 8, 10], hidden=None),
     "hidden is an activation name or one per hidden layer, not None"),
    (lambda: mlp([64, 8, 10], hidden=[None]), "unknown activation None; choose one of"),
    (lambda: cnn("1x8x8", None), "net is a spec such as \"conv(8, 3, pad=1), relu, "
                                 "dense(10)\" or a list of layers, not None"),
    (lambda: cnn("1x8x8", [5]), "a layer is a string (\"conv(8, 3)\"), a Layer or a tuple "
                                "(\"conv\", 8, 3), not 5"),
    (lambda: cnn("1x8x8", [("conv", 8.0, 3), "dense(10)"]),
     "conv: filters must be a positive integer, not 8.0"),
    (lambda: cnn("1x8x8", [("conv", "8", 3), "dense(10)"]),
     "conv: filters must be a positive integer, not '8'"),
    (lambda: cnn("1x8x8", [(None,), "dense(10)"]), "unknown layer None; choose one of"),
    (lambda: cnn(None, "dense(10)"), "--input takes CxHxW, such as 1x8x8 (or F features, "
                                     "such as 64; or TxF, T steps of F features, such as "
                                     "8x8), not None"),
    (lambda: cnn((1, 8.0, 8), "dense(10)"), "--input takes CxHxW, such as 1x8x8 (or F "
                                            "features, such as 64; or TxF, T steps of F "
                                            "features, such as 8x8), not (1, 8.0, 8)"),
])
def test_wrong_python_types_are_matcalc_errors(call, message):
    with pytest.raises(MatcalcError) as e:
        call()
    assert str(e.value).startswith(message)


# ---------------------------------------------------------------- the proof at small sizes

def test_the_proof_of_a_big_cnn_runs_on_the_same_layers_at_small_sizes():
    m = cnn("3x32x32", CIFAR)
    small = m.reduced()
    assert [l.kind for l in small.layers] == [l.kind for l in m.layers]
    assert small.name == "3x4x4 conv(3, 3, pad=1), relu, maxpool(2), dense(3), dense(3)"
    b = derive(m)
    r = at_proof_sizes(b)
    assert r.model == small and skeleton(r) == skeleton(b)
    assert "Z1 = W1 @ U1 + b1 @ ones(1, 1024*N)" in str(b).replace(":=", "=")
    mnist = cnn("1x28x28", "conv(16, 5), relu, maxpool(2), conv(32, 5), relu, maxpool(2), "
                           "dense(10)").reduced()
    assert [(str(l), o) for l, _, o in mnist.geometries()][-2:] == [
        ("maxpool(2)", (3, 2, 2)), ("dense(3)", (3, 1, 1))]


def test_small_and_symbolic_models_are_proven_as_they_are():
    for m in (mlp([784, 512, 10]), cnn("2x4x4", "conv(1, 3), tanh, avgpool(2), dense(2)")):
        b = derive(m)
        assert m.reduced() == m and at_proof_sizes(b) is b


def test_a_different_form_at_small_sizes_proves_the_model_itself(monkeypatch):
    b = derive(cnn("1x8x8", "conv(8, 3, pad=1), relu, maxpool(2), dense(10)"))
    other = derive(cnn("1x4x4", "conv(3, 3, pad=1), tanh, maxpool(2), dense(3)"))
    assert skeleton(other) != skeleton(b)
    import matcalc.nn.proof_sizes as ps
    monkeypatch.setattr(ps, "derive", lambda small: other)
    assert at_proof_sizes(b) is b


def test_derive_proves_a_cifar_sized_cnn_in_seconds():
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "matcalc", "derive", "--input", "3x32x32",
                          "--net", CIFAR], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "db1 = 1/N*delta1 @ ones(1024*N, 1)" in run.stdout
    assert run.stderr.endswith("verified: every gradient, by central differences\n")
    assert time.perf_counter() - start < 60        # a few seconds, on a loaded machine


# ---------------------------------------------------------------- a new kind is one record

def test_a_new_layer_kind_is_one_record(monkeypatch):
    """`double`: A := 2·A, no parameters, any shape: one entry in LAYERS, nothing else."""
    monkeypatch.setitem(L.LAYERS, "double", Kind(
        (), lambda layer, shape, where: shape,
        lambda w, layer, where: w.line("A", matmul(sp.Integer(2), w.a))))
    b = derive(cnn("1x4x4", "conv(2, 3, pad=1), double, relu, maxpool(2), dense(3)"))
    assert "A1 := 2*Z1" in str(b)
    verify_backprop(b)


def test_a_vector_input_with_a_net_is_the_mlp():
    """--input 64 --net "dense(32), relu, dense(10)" is --layers 64,32,10 --hidden relu."""
    assert cnn("64", "dense(32), relu, dense(10)") == mlp([64, 32, 10], hidden="relu")
    assert cnn(64, "dense(10)", layout="rows") == mlp([64, 10], layout="rows")
    for bad in ("1x8x8x8", "0", "64x", (64, 0)):
        with pytest.raises(MatcalcError, match="--input takes CxHxW, such as 1x8x8"):
            cnn(bad, "dense(10)")
    with pytest.raises(MatcalcError) as e:
        cnn("64", "conv(8, 3), dense(10)")
    assert str(e.value) == ("layer 1, conv(8, 3): a convolution takes image inputs, but the "
                            "input is a vector of 64")
