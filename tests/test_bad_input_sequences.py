"""Bad input of the sequence layers (rnn, last, mean, dense per step): exit 2 with a message
naming the layer, its position and the numbers, and nothing written; sequence layers on an
image or vector input and image layers on a sequence are refused by name."""
import pytest

from matcalc.cli import main
from matcalc.core.errors import MatcalcError
from matcalc.nn.cnn import cnn


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", ["derive", "train", "codegen", "report"])
@pytest.mark.parametrize("net, message", [
    ("rnn(0), last, dense(10)",
     "matcalc: error: rnn: units must be a positive integer, not 0\n"
     "  rnn(0), last, dense(10)\n  ^\n"),
    ("rnn(3, 4), last, dense(10)",
     "matcalc: error: rnn takes 1 argument, rnn(units), but was given 2\n"
     "  rnn(3, 4), last, dense(10)\n  ^\n"),
    ("rnn(8), last(2), dense(10)",
     "matcalc: error: last takes 0 arguments, last(), but was given 1\n"
     "  rnn(8), last(2), dense(10)\n          ^\n"),
    ("rnn(8), mean(axis=1), dense(10)",
     "matcalc: error: mean takes no keyword axis=\n"
     "  rnn(8), mean(axis=1), dense(10)\n          ^\n"),
    ("rnn(32), dense(10)",
     "matcalc: error: layer 2, dense(10): the last layer feeds the loss one vector per sample, "
     "but it gives a sequence of 8 steps; put last or mean before it\n"),
    ("rnn(32), last, last, dense(10)",
     "matcalc: error: layer 3, last: last (the last step) cannot follow a last layer (it needs "
     "sequence inputs, not a vector of 32 features)\n"),
    ("rnn(32), mean, rnn(4), dense(10)",
     "matcalc: error: layer 3, rnn(4): a recurrent layer cannot follow a mean layer (it needs "
     "sequence inputs, not a vector of 32 features)\n"),
    ("rnn(32), conv(4, 3), last, dense(10)",
     "matcalc: error: layer 2, conv(4, 3): a convolution takes image inputs, but the input is "
     "a sequence of 8×32\n"),
    ("rnn(32), maxpool(2), last, dense(10)",
     "matcalc: error: layer 2, maxpool(2): pooling takes image inputs, but the input is a "
     "sequence of 8×32\n"),
    ("rnn(32), flatten, dense(10)",
     "matcalc: error: layer 2, flatten: flatten takes vector or image inputs, but the input is "
     "a sequence of 8×32\n"),
    ("conv(4, 3), relu, dense(10)",
     "matcalc: error: layer 1, conv(4, 3): a convolution takes image inputs, but the input is "
     "a sequence of 8×8\n"),
    ("rnn(8), rleu, last, dense(10)", "did you mean relu?"),
    ("gru(-2), last, dense(10)",
     "matcalc: error: gru: units must be a positive integer, not -2\n"
     "  gru(-2), last, dense(10)\n  ^\n"),
    ("rnn(4), lstm(units=3), last, dense(10)",
     "matcalc: error: lstm takes 1 argument, lstm(units), but was given 0\n"
     "  rnn(4), lstm(units=3), last, dense(10)\n          ^\n"),
    ("rnn(8), last, gru(4), dense(10)",
     "matcalc: error: layer 3, gru(4): a gated recurrent layer cannot follow a last layer (it "
     "needs sequence inputs, not a vector of 8 features)\n"),
    ("position(8), rnn(8), last, dense(10)",
     "matcalc: error: position takes 0 arguments, position(), but was given 1\n"
     "  position(8), rnn(8), last, dense(10)\n  ^\n"),
    ("rnn(8), last, position, dense(10)",
     "matcalc: error: layer 3, position: position (an embedding per step) cannot follow a last "
     "layer (it needs sequence inputs, not a vector of 8 features)\n"),
])
def test_bad_sequence_layers_exit_2_naming_layer_position_and_numbers(
        capsys, tmp_path, monkeypatch, command, net, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, command, "--input", "8x8", "--net", net,
                         *(["-o", "x.out"] if command != "derive" else []))
    assert (code, out) == (2, "")
    assert err == message if message.startswith("matcalc") else message in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("input, net, message", [
    ("1x8x8", "rnn(4), last, dense(10)",
     "layer 1, rnn(4): a recurrent layer takes sequence inputs, but the input is an image of "
     "1×8×8"),
    ("64", "rnn(4), last, dense(10)",
     "layer 1, rnn(4): a recurrent layer takes sequence inputs, but the input is a vector of "
     "64"),
    ("1x8x8", "conv(2, 3), last, dense(10)",
     "layer 2, last: last (the last step) takes sequence inputs, but the input is an image of "
     "2×6×6"),
    ("1x8x8", "position, dense(10)",
     "layer 1, position: position (an embedding per step) takes sequence inputs, but the input "
     "is an image of 1×8×8"),
    ("64", "dense(8), mean, dense(10)",
     "layer 2, mean: mean (over the steps) takes sequence inputs, but the input is a vector of "
     "8"),
])
def test_sequence_layers_on_images_and_vectors_are_refused_by_name(capsys, input, net,
                                                                    message):
    code, out, err = run(capsys, "derive", "--input", input, "--net", net)
    assert (code, out, err) == (2, "", f"matcalc: error: {message}\n")


@pytest.mark.parametrize("net, what", [("rnn(3), last, dense(2)", "a recurrent layer"),
                                       ("dense(3), last, dense(2)", "last"),
                                       ("dense(3), mean, dense(2)", "mean")])
def test_rows_layout_refused_by_the_layer(net, what):
    with pytest.raises(MatcalcError, match=f"^layer [12], .*: {what} takes samples as columns "
                                           r"\(X is features×N\), not layout='rows'$"):
        cnn("4x2", net, layout="rows")


def test_an_input_of_four_sizes_names_the_forms(capsys):
    code, out, err = run(capsys, "derive", "--input", "1x8x8x8", "--net", "rnn(3), last, "
                         "dense(10)")
    assert (code, out) == (2, "")
    assert err == ("matcalc: error: --input takes CxHxW, such as 1x8x8 (or F features, such as "
                   "64; or TxF, T steps of F features, such as 8x8), not '1x8x8x8'\n")
