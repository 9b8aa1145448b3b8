"""train/script.py: the standalone script trains on every data source and keeps the
trainer's guarantees, with NumPy alone (run isolated, `python -I`, outside the repository)."""
import gzip
import signal
import subprocess
import sys

import numpy as np
import pytest

from matcalc.cli import main
from signals import SIGINT_AS_USUAL


def _idx(array, code):
    """The IDX encoding of an array (big-endian dimensions, then the data)."""
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _fake_mnist(folder, gz, n_train=300, n_test=100, images=True):
    """Four MNIST-named IDX files of random 28×28 images whose labels the pixels encode."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for part, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        pix = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        pix[np.arange(n), labels, :] = 250            # the label's row lights up: learnable
        files = {f"{part}-images-idx3-ubyte": _idx(pix if images else pix[:0], 0x08),
                 f"{part}-labels-idx1-ubyte": _idx(labels if images else labels[:0], 0x08)}
        for name, raw in files.items():
            if gz:
                (folder / (name + ".gz")).write_bytes(gzip.compress(raw))
            else:
                (folder / name).write_bytes(raw)
    return folder


def _script(tmp_path, capsys, layers):
    path = tmp_path / "train_mlp.py"
    assert main(["codegen", "--layers", layers, "--hidden", "relu", "-o", str(path)]) == 0
    return path, capsys.readouterr().out


def _run(script, *args, cwd):
    return subprocess.run([sys.executable, "-I", str(script), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("gz", [True, False], ids=["gzipped", "plain"])
def test_the_script_trains_on_mnist_idx_files(tmp_path, capsys, gz):
    script, said = _script(tmp_path, capsys, "784,16,10")
    data = _fake_mnist(tmp_path / "mnist", gz)
    run = _run(script, "--data-dir", str(data), "--epochs", "3", "-o", "w.npz", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "300 training and 100 test samples" in run.stderr
    acc = float(run.stdout.split("test accuracy ")[1].split("%")[0])
    assert acc >= 80.0, run.stdout
    assert sorted(np.load(tmp_path / "w.npz").files) == ["W1", "W2", "b1", "b2"]


def test_the_script_trains_on_npy_arrays(tmp_path, capsys):
    script, _ = _script(tmp_path, capsys, "5,8,3")
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    X = rng.normal(size=(300, 5)) + 3 * np.eye(5)[y]   # separable by the first three features
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    run = _run(script, "--data", "X.npy", "y.npy", "--epochs", "20", "-o", "w.npz",
               cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert float(run.stdout.split("test accuracy ")[1].split("%")[0]) >= 90.0


def test_a_network_the_digits_do_not_fit_says_which_data_to_pass(tmp_path, capsys):
    script, said = _script(tmp_path, capsys, "784,16,10")
    assert "takes 784 inputs but the embedded digits have 64" in said
    assert "--data-dir MNIST_DIR" in said and "--data X.npy y.npy" in said
    assert not (tmp_path / "digits.csv.gz").exists()   # no data written that cannot be used
    run = _run(script, "-o", "w.npz", cwd=tmp_path)
    assert run.returncode == 2
    assert "this network takes 784 inputs but the embedded digits have 64; pass --data-dir" \
        in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "w.npz").exists()


def test_the_script_refuses_bad_options_and_outputs_before_training(tmp_path, capsys):
    script, _ = _script(tmp_path, capsys, "64,8,10")
    (tmp_path / "w.npz").write_bytes(b"precious")
    for args, fragment in ((["--epochs", "0"], "--epochs must be a positive integer"),
                           (["--lr", "nan"], "--lr must be a finite number"),
                           (["--batch-size", "-2"], "--batch-size must be a positive integer"),
                           (["-o", "missing/w.npz"], "does not exist")):
        run = _run(script, "-o", "w.npz", *args, cwd=tmp_path)
        assert run.returncode == 2 and fragment in run.stderr, (args, run.stderr)
        assert "epoch   1" not in run.stderr and "Traceback" not in run.stderr
    assert (tmp_path / "w.npz").read_bytes() == b"precious"


def test_a_diverging_script_run_never_replaces_a_file(tmp_path, capsys):
    script, _ = _script(tmp_path, capsys, "64,8,10")
    (tmp_path / "w.npz").write_bytes(b"precious")
    run = _run(script, "--lr", "1e6", "-o", "w.npz", cwd=tmp_path)
    assert run.returncode == 2
    assert "training diverged" in run.stderr and "nothing was written" in run.stderr
    assert (tmp_path / "w.npz").read_bytes() == b"precious"


def test_ctrl_c_in_the_script_saves_the_last_completed_epoch(tmp_path, capsys):
    script, _ = _script(tmp_path, capsys, "64,256,256,10")
    proc = subprocess.Popen([sys.executable, "-I", str(script), "--epochs", "200", "-o",
                             "w.npz"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **SIGINT_AS_USUAL)
    for line in proc.stderr:
        if line.startswith("epoch   1/"):
            proc.send_signal(signal.SIGINT)
            break
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "stopped: interrupted in epoch" in err and "Traceback" not in err
    assert sorted(np.load(tmp_path / "w.npz").files) == ["W1", "W2", "W3", "b1", "b2", "b3"]


def test_an_idx_file_with_no_images_is_bad_input(tmp_path, capsys):
    data = _fake_mnist(tmp_path / "mnist", gz=False, images=False)
    code = main(["train", "--layers", "784,8,10", "--data-dir", str(data),
                 "-o", str(tmp_path / "w.npz")])
    err = capsys.readouterr().err
    assert code == 2 and "holds no images" in err
    script, _ = _script(tmp_path, capsys, "784,8,10")
    run = _run(script, "--data-dir", str(data), "-o", "w.npz", cwd=tmp_path)
    assert run.returncode == 2 and "holds no images" in run.stderr
    assert not (tmp_path / "w.npz").exists()


def test_the_script_trains_a_cnn_on_mnist_idx_files(tmp_path, capsys):
    path = tmp_path / "train_cnn.py"
    assert main(["codegen", "--input", "1x28x28", "--net", "conv(4, 5), relu, maxpool(2), "
                 "dense(10)", "-o", str(path)]) == 0
    said = capsys.readouterr().out
    assert "takes 784 inputs" in said
    data = _fake_mnist(tmp_path / "mnist", gz=True)
    run = _run(path, "--data-dir", str(data), "--epochs", "3", "-o", "w.npz", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert float(run.stdout.split("test accuracy ")[1].split("%")[0]) >= 80.0
    assert np.load(tmp_path / "w.npz")["W1"].shape == (4, 25)


def test_the_scripts_help_explains_every_option(tmp_path, capsys):
    """Each option says what it takes and its default, as matcalc train's help does (the
    class pair read "(default: (3, 8))", and --epochs, --seed, -o … had no text at all)."""
    script, _ = _script(tmp_path, capsys, "64,8,10")
    run = _run(script, "--help", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    help_text = " ".join(run.stdout.split())
    for option, words in [("--epochs EPOCHS", "passes over the data (default: 30)"),
                          ("--batch-size BATCH_SIZE", "samples per step (default: 32)"),
                          ("--optimizer {adam,sgd}", "or adam (default: sgd)"),
                          ("--seed SEED", "the split and the batches (default: 0)"),
                          ("--dtype {float64,float32}", "arrays (default: float64)"),
                          ("-o OUTPUT, --output OUTPUT", "(.npz) (default: weights.npz)"),
                          ("--binary BINARY", "trained on (default: 3,8)")]:
        assert f"{option} " in help_text and words in help_text, option


def test_the_script_refuses_two_data_sources_and_warns_at_chance(tmp_path, capsys):
    """As `matcalc train`: --data with --data-dir is refused (exit 2, nothing written), and a
    run that learned nothing says so on stderr (exit 0: it did what it was asked)."""
    script, _ = _script(tmp_path, capsys, "64,10")
    run = _run(script, "--data", "X.npy", "y.npy", "--data-dir", ".", "-o", "w.npz",
               cwd=tmp_path)
    assert run.returncode == 2 and "not allowed with argument" in run.stderr
    assert not (tmp_path / "w.npz").exists()
    run = _run(script, "--epochs", "1", "--lr", "1e-12", "-o", "w.npz", cwd=tmp_path)
    accuracy = float(run.stdout.split("test accuracy ")[1].split("%")[0])
    assert run.returncode == 0 and accuracy < 15
    assert f"warning: test accuracy {accuracy:.1f}% is chance level" in run.stderr
