"""nn/cnn.py: convolutional networks from spec to trained weights — the spec and its errors,
the textbook δ forms, every gradient proven (exactly on tiny nets), the generated kernels
against central differences, training on the digits, the CLI and the standalone script."""
import subprocess
import sys

import numpy as np
import pytest

from matcalc import cnn, compile, derive
from matcalc.api import verify_backprop
from matcalc.cli import main
from matcalc.core.errors import MatcalcError, ParseError
from matcalc.nn.cnn import parse_net
from matcalc.printing.report import program_latex
from matcalc.train.data import load_digits
from matcalc.train.trainer import fit, init_params

from kernel_check import directional_check

DIGITS_CNN = "conv(8, 3, pad=1), relu, maxpool(2), dense(10)"


def _lines(program):
    return [str(a) for a in program]


def test_the_spec_is_read_as_layers():
    assert [str(l) for l in parse_net("conv(8, 3, stride=2, pad=1), tanh, avgpool(2), "
                                      "flatten, dense(10)")] == \
        ["conv(8, 3, stride=2, pad=1)", "tanh", "avgpool(2)", "flatten", "dense(10)"]
    m = cnn((1, 8, 8), ["conv(8, 3, pad=1)", "relu", ("maxpool", 2), "dense(10)"])
    assert m == cnn("1x8x8", DIGITS_CNN)


@pytest.mark.parametrize("net, message", [
    ("conv(8, 3), foo, dense(10)", "unknown layer 'foo'"),
    ("conv(8), dense(10)", "conv takes 2 arguments, conv(filters, kernel, stride=1, pad=0), "
                           "but was given 1"),
    ("conv(8, 3, dilation=2), dense(10)", "conv takes no keyword dilation="),
    ("conv(8, 3.5), dense(10)", "layer parameters are integers"),
    ("conv(8, 3, stride=0), dense(10)", "conv: stride must be a positive integer, not 0"),
    ("conv(8, 3), dense(10) +", "syntax error in the network"),
])
def test_a_bad_spec_is_a_parse_error_with_a_caret(net, message):
    with pytest.raises(ParseError) as e:
        cnn("1x8x8", net)
    assert message in str(e.value) and "^" in str(e.value)


@pytest.mark.parametrize("input, net, message", [
    ("1x8x8", "conv(8, 3, stride=2), dense(10)", "layer 1, conv(8, 3, stride=2): the output "
     "height (H − k + 2p)/s + 1 = (8 − 3 + 2·0)/2 + 1 = 7/2 is not an integer"),
    ("1x8x8", "conv(8, 3, pad=1), maxpool(3), dense(10)", "layer 2, maxpool(3): a 3×3 window "
     "with stride 3 does not tile the map height 8"),
    ("1x8x8", "conv(8, 9), dense(10)", "the kernel 9×9 is larger than the padded input"),
    ("1x8x8", "dense(16), conv(4, 3), dense(10)", "a convolution cannot follow a dense layer"),
    ("1x8x8", "conv(8, 3), relu", "the last layer must be dense(units)"),
    ("1x8x8x8", DIGITS_CNN, "--input takes CxHxW, such as 1x8x8"),
    ("1x8", DIGITS_CNN, "a convolution takes image inputs, but the input is a sequence of 1×8"),
])
def test_geometry_errors_name_the_layer_and_the_numbers(input, net, message):
    with pytest.raises(MatcalcError) as e:
        cnn(input, net)
    assert message in str(e.value)


def test_the_output_size_formula_per_layer():
    m = cnn("1x28x28", "conv(16, 5), relu, maxpool(2), conv(32, 5), relu, maxpool(2), dense(10)")
    assert [(str(l), o) for l, i, o in m.geometries()] == [
        ("conv(16, 5)", (16, 24, 24)), ("relu", (16, 24, 24)), ("maxpool(2)", (16, 12, 12)),
        ("conv(32, 5)", (32, 8, 8)), ("relu", (32, 8, 8)), ("maxpool(2)", (32, 4, 4)),
        ("dense(10)", (10, 1, 1))]
    assert m.n_inputs == 784 and m.n_outputs == 10


def test_the_textbook_forms():
    b = derive(cnn("1x8x8", "conv(4, 3, pad=1), relu, maxpool(2), conv(6, 3), tanh, "
                            "avgpool(2), dense(10)"))
    assert _lines(b.forward)[:5] == [
        "A0 := to_channels(X)", "U1 := unfold(A0, k=3, pad=1)",
        "Z1 := W1 @ U1 + b1 @ ones(1, 64*N)", "A1 := relu(Z1)", "P1 := maxpool(A1, 2)"]
    assert _lines(b.backward) == [
        "delta3 := S - Y",
        "delta_P2 := to_channels(W3.T @ delta3)",
        "delta2 := upsample(delta_P2, 2) * (1 - A2**2)",         # ∂L/∂Z2 = 1/(4N)·δ2
        "delta_P1 := fold(W2.T @ delta2, k=3)",                   # the full convolution
        "delta1 := step(Z1) * poolmask(A1, 2) * upsample(delta_P1, 2)",
        "dW3 := 1/N*delta3 @ F2.T",
        "db3 := 1/N*delta3 @ ones(N, 1)",
        "dW2 := 1/(4*N)*delta2 @ U2.T",
        "db2 := 1/(4*N)*delta2 @ ones(4*N, 1)",
        "dW1 := 1/(4*N)*delta1 @ U1.T",
        "db1 := 1/(4*N)*delta1 @ ones(64*N, 1)"]


def test_every_gradient_of_a_tiny_cnn_is_proven_exactly():
    """Two channels, a 3×3 kernel, average pooling. (Max-pooling networks written out
    entrywise take minutes: their Piecewise first maxima are proven node by node in
    test_structure.py, and the networks numerically below.)"""
    verify_backprop(derive(cnn("2x4x4", "conv(1, 3), tanh, avgpool(2), dense(2)")),
                    method="exact")


@pytest.mark.parametrize("input, net", [
    ("1x8x8", DIGITS_CNN), ("1x4x4", "conv(2, 3, pad=1), relu, maxpool(2), dense(3)"),
    ("2x5x4", "conv(2, 2), tanh, avgpool(2, stride=1), dense(3)"),
    ("1x9x9", "conv(2, 3, stride=2), sigmoid, maxpool(2, stride=1), conv(3, 2), dense(4)"),
    ("1x8x8", "conv(2, 3, pad=1), relu, maxpool(2), avgpool(2), dense(3)"),
    ("1x4x4", "conv(2, 3, pad=1), relu, tanh, avgpool(2), dense(3)"),
])
def test_every_gradient_of_a_cnn_is_proven_numerically(input, net):
    verify_backprop(derive(cnn(input, net)), method="numeric")


@pytest.mark.parametrize("net", [DIGITS_CNN, "conv(3, 2, stride=2), sigmoid, avgpool(2), "
                                             "conv(4, 2), relu, dense(5)",
                                 "conv(2, 3), tanh, maxpool(2, stride=1), dense(4)",
                                 "conv(4, 3, pad=1), relu, maxpool(2), avgpool(2), dense(10)"])
def test_the_kernels_match_central_differences_of_their_own_loss(net):
    m = cnn("1x8x8", net)
    k = compile(derive(m))
    rng = np.random.default_rng(2)
    n = 5
    X = rng.standard_normal((64, n))
    Y = np.eye(m.n_outputs)[:, rng.integers(0, m.n_outputs, n)]
    params = [0.5 * rng.standard_normal(p["shape"]) for p in k.PARAMS]
    directional_check(k, X, Y, params, (), rng)


def test_the_digits_cnn_reaches_98_percent():
    ds = load_digits()
    k = compile(derive(cnn("1x8x8", DIGITS_CNN)))
    params = init_params(k, np.random.default_rng(0))
    history = fit(k, params, ds.X_train.T.copy(), ds.y_train, ds.X_test.T.copy(), ds.y_test,
                  epochs=30, lr=0.1, log=None)
    assert history[-1]["test"] >= 0.98, history[-1]


def test_the_cli_derives_trains_and_writes_the_script(tmp_path, capsys):
    flags = ["--input", "1x8x8", "--net", DIGITS_CNN]
    assert main(["derive", *flags]) == 0
    out = capsys.readouterr().out
    assert "delta1 = step(Z1) * poolmask(A1, 2) * upsample(delta_P1, 2)" in out
    assert main(["train", *flags, "--epochs", "3", "-o", str(tmp_path / "w.npz")]) == 0
    assert sorted(np.load(tmp_path / "w.npz").files) == ["W1", "W2", "b1", "b2"]
    capsys.readouterr()
    script = tmp_path / "train_cnn.py"
    assert main(["codegen", *flags, "-o", str(script)]) == 0
    run = subprocess.run([sys.executable, "-I", str(script), "--epochs", "3", "-o", "s.npz"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert float(run.stdout.split("test accuracy ")[1].split("%")[0]) >= 85.0


@pytest.mark.parametrize("argv, message", [
    (["--net", DIGITS_CNN], "--net needs the input's shape: --input CxHxW"),
    (["--layers", "64,10", "--input", "1x8x8", "--net", DIGITS_CNN], "either as --layers"),
    (["--input", "1x8x8", "--net", DIGITS_CNN, "--layout", "rows"], "samples as columns"),
    (["--input", "1x8x8", "--net", "conv(8, 3, stride=2), dense(10)"], "7/2 is not an integer"),
])
def test_cli_errors_exit_2(capsys, argv, message):
    assert main(["derive", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_the_report_fills_in_the_output_size_formula_and_names_the_full_convolution():
    from matcalc.printing.report import backprop_report
    tex = backprop_report(derive(cnn("1x8x8", "conv(4, 3, pad=1), relu, maxpool(2), "
                                              "conv(6, 3), tanh, avgpool(2), dense(10)")))
    assert r"H' = \frac{8 - 3 + 2 \cdot 1}{1} + 1 = 8" in tex
    assert r"\text{conv(6, 3): 4×4×4 → 6×2×2}" in tex
    assert r"H' = \frac{8 - 2 + 2 \cdot 0}{2} + 1 = 4" in tex           # the max-pooling
    assert "is the full convolution of $\\delta$ with the flipped kernel" in tex


def test_two_pools_or_activations_in_one_layer_get_names_of_their_own():
    """maxpool(2), avgpool(2) both belong to layer 1: P1 and P1b (P_{1b} in LaTeX); the
    kernels free each name after its last use, so a reused name was an UnboundLocalError."""
    b = derive(cnn("1x8x8", "conv(4, 3, pad=1), relu, sigmoid, maxpool(2), avgpool(2), dense(10)"))
    names = [str(a.name) for a in b.forward]
    assert len(names) == len(set(names))
    assert {"A1", "A1b", "P1", "P1b"} <= set(names)
    assert "delta_P1b := to_channels(W2.T @ delta2)" in str(b)
    assert r"P_{1b} &= \operatorname{avgpool}_{2}\left(P_{1}\right)" in program_latex(b.forward)
