"""Bad input of attention and the transformer block: exit 2 with a message naming the layer,
its position and the numbers, and nothing written; both refused on images and vectors."""
import pytest

from matcalc.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", ["derive", "train", "codegen", "report"])
@pytest.mark.parametrize("net, message", [
    ("dense(16), attention(heads=3), mean, dense(10)",
     "matcalc: error: layer 2, attention(heads=3): 16 features do not split into 3 heads (16 "
     "is not a multiple of 3)\n"),
    ("dense(16), transformer(heads=3, ff=32), mean, dense(10)",
     "matcalc: error: layer 2, transformer(heads=3, ff=32): 16 features do not split into 3 "
     "heads (16 is not a multiple of 3)\n"),
    ("dense(16), attention(heads=0), mean, dense(10)",
     "matcalc: error: attention: heads must be a positive integer, not 0\n"
     "  dense(16), attention(heads=0), mean, dense(10)\n             ^\n"),
    ("dense(16), transformer(heads=2, ff=0), mean, dense(10)",
     "matcalc: error: transformer: ff must be a positive integer, not 0\n"
     "  dense(16), transformer(heads=2, ff=0), mean, dense(10)\n             ^\n"),
    ("dense(16), attention(heads=2, causal=2), mean, dense(10)",
     "matcalc: error: layer 2, attention(heads=2, causal=2): causal is 0 or 1, not 2\n"),
    ("dense(16), attention(2), mean, dense(10)",
     "matcalc: error: attention takes 0 arguments, attention(heads=1, causal=0), but was "
     "given 1\n  dense(16), attention(2), mean, dense(10)\n             ^\n"),
    ("dense(16), attention(heads=2), last, dense(10)",
     "matcalc: error: layer 3, last: after attention, take the mean over the steps (mean), "
     "not last\n"),
    ("rnn(16), attention(heads=2), mean, dense(10)",
     "matcalc: error: layer 1, rnn(16): a recurrent layer cannot be in a network with "
     "attention (attention keeps the steps together as tokens)\n"),
    ("dense(16), transformer(heads=2), lstm(8), last, dense(10)",
     "matcalc: error: layer 3, lstm(8): a gated recurrent layer cannot be in a network with "
     "attention (attention keeps the steps together as tokens)\n"),
    ("dense(16), mean, attention(heads=2), dense(10)",
     "matcalc: error: layer 3, attention(heads=2): attention cannot follow a mean layer (it "
     "needs sequence inputs, not a vector of 16 features)\n"),
])
def test_bad_attention_exits_2_naming_layer_position_and_numbers(
        capsys, tmp_path, monkeypatch, command, net, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, command, "--input", "8x8", "--net", net,
                         *(["-o", "x.out"] if command != "derive" else []))
    assert (code, out, err) == (2, "", message)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("input, form", [("1x8x8", "an image of 1×8×8"),
                                         ("64", "a vector of 64")])
@pytest.mark.parametrize("layer, noun", [("attention(heads=2)", "attention"),
                                         ("transformer(heads=2)", "a transformer block")])
def test_attention_on_images_and_vectors_is_refused_by_name(capsys, input, form, layer, noun):
    code, out, err = run(capsys, "derive", "--input", input, "--net", f"{layer}, dense(10)")
    assert (code, out, err) == (2, "", f"matcalc: error: layer 1, {layer}: {noun} takes "
                                       f"sequence inputs, but the input is {form}\n")
