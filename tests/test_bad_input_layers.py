"""Bad arguments of the residual, layer-norm and batch-norm layers: exit 2 (or a MatcalcError)
with a message naming the layer, its position and the numbers, and nothing written."""
import pytest

from matcalc.cli import main
from matcalc.core.errors import MatcalcError
from matcalc.nn.cnn import cnn
from matcalc.nn.layers import layer


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", ["derive", "train", "codegen", "report"])
@pytest.mark.parametrize("net, message", [
    ("dense(32), residual(dense(16), relu), dense(10)",
     "matcalc: error: layer 2, residual(dense(16), relu): the block gives 16 features, but its "
     "input has 32 features; a residual adds the two, so they must match\n"),
    ("residual(dense(8)), dense(10)",
     "matcalc: error: layer 1, residual(dense(8)): the block gives 8 features, but its input "
     "has 64 features; a residual adds the two, so they must match\n"),
    ("dense(32), residual(), dense(10)",
     "matcalc: error: residual takes a block of layers, such as residual(dense(32), relu), not "
     "nothing\n  dense(32), residual(), dense(10)\n             ^\n"),
    ("dense(32), residual(3), dense(10)",
     "matcalc: error: residual takes a block of layers, such as residual(dense(32), relu), not "
     "3\n  dense(32), residual(3), dense(10)\n                      ^\n"),
    ("dense(32), layernorm(3), dense(10)",
     "matcalc: error: layernorm takes 0 arguments, layernorm(), but was given 1\n"
     "  dense(32), layernorm(3), dense(10)\n             ^\n"),
    ("dense(32), batchnorm(eps=1), dense(10)",
     "matcalc: error: batchnorm takes no keyword eps=\n"
     "  dense(32), batchnorm(eps=1), dense(10)\n             ^\n"),
    ("dense(32), residual(dense(32), conv(2, 3)), dense(10)",
     "matcalc: error: layer 2, residual(dense(32), conv(2, 3)), layer 2, conv(2, 3): a "
     "convolution takes image inputs, but the input is a vector of 32\n"),
    ("dense(32), residual(dense(32), layernorm, rleu), dense(10)",
     "did you mean relu?"),
    ("dense(32), dropout(1), dense(10)",
     "matcalc: error: dropout: p must be a probability, 0 ≤ p < 1, not 1\n"
     "  dense(32), dropout(1), dense(10)\n             ^\n"),
    ("dense(32), dropout(-0.5), dense(10)",
     "matcalc: error: dropout: p must be a probability, 0 ≤ p < 1, not -0.5\n"
     "  dense(32), dropout(-0.5), dense(10)\n             ^\n"),
    ("dense(32), dropout(0.5, 2), dense(10)",
     "matcalc: error: dropout takes 1 argument, dropout(p), but was given 2\n"
     "  dense(32), dropout(0.5, 2), dense(10)\n             ^\n"),
    ("dense(32), dropout, dense(10)",
     "matcalc: error: dropout takes 1 argument, dropout(p), but was given 0\n"
     "  dense(32), dropout, dense(10)\n             ^\n"),
    ("dense(32), dense(0.5), dense(10)",
     "matcalc: error: layer parameters are integers, such as conv(8, 3, pad=1)\n"
     "  dense(32), dense(0.5), dense(10)\n                   ^\n"),
])
def test_bad_layer_arguments_exit_2_naming_layer_position_and_numbers(capsys, tmp_path,
                                                                       monkeypatch, command,
                                                                       net, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, command, "--input", "64", "--net", net,
                         *(["-o", "x.out"] if command != "derive" else []))
    assert (code, out) == (2, "")
    assert err == message if message.startswith("matcalc") else message in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("net, message", [
    ("conv(2, 3), layernorm, dense(10)",
     "layer 2, layernorm: layer norm takes vector inputs, but the input is an image of 2×6×6"),
    ("conv(2, 3), batchnorm, dense(10)",
     "layer 2, batchnorm: batch norm takes vector inputs, but the input is an image of 2×6×6"),
    ("conv(2, 3), residual(relu), dense(10)",
     "layer 2, residual(relu): a residual block takes vector inputs, but the input is an image "
     "of 2×6×6"),
])
def test_norms_and_skips_refuse_image_inputs_by_name(capsys, net, message):
    code, out, err = run(capsys, "derive", "--input", "1x8x8", "--net", net)
    assert (code, out, err) == (2, "", f"matcalc: error: {message}\n")


@pytest.mark.parametrize("net, what", [("dense(8), layernorm, dense(2)", "layer norm"),
                                       ("dense(8), dropout(0.5), dense(2)", "dropout"),
                                       ("dense(8), batchnorm, dense(2)", "batch norm"),
                                       ("dense(8), residual(dense(8)), dense(2)",
                                        "a residual block")])
def test_rows_layout_refused_by_the_layer(net, what):
    with pytest.raises(MatcalcError, match=f"^layer 2, .*: {what} takes samples as columns "
                                           r"\(X is features×N\), not layout='rows'$"):
        cnn("4", net, layout="rows")


def test_batch_norm_of_one_sample_is_refused():
    with pytest.raises(MatcalcError, match="^layer 2, batchnorm: batch norm normalises over the "
                                           "batch, which needs more than one sample"):
        cnn("4", "dense(3), batchnorm, dense(2)", batch=1).network()


@pytest.mark.parametrize("args, message", [
    ((3,), "residual takes a block of layers, such as residual(dense(32), relu), not 3"),
    ((), "residual takes a block of layers, such as residual(dense(32), relu), not nothing"),
])
def test_the_python_layer_refuses_a_block_that_is_not_layers(args, message):
    with pytest.raises(MatcalcError) as e:
        layer("residual", *args)
    assert str(e.value) == message
