"""Training with generated kernels on real data: accuracy reached, NaN handling, saving,
bad input; and the standalone script on its own."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from matcalc import derive, mlp
from matcalc.cli import main
from matcalc.codegen.kernels import compile
from matcalc.train.data import load_digits
from matcalc.train.trainer import TrainingError, fit, init_params, save_weights, train

from diverging import Poisoned

DIGITS = load_digits()


def _train(model, epochs=30, lr=0.1, optimizer="sgd", binary=None, seed=0, lam=0.0):
    ds = DIGITS.binary(*binary) if binary else DIGITS
    k = compile(derive(model))
    Xtr, Xte = (np.moveaxis(a, 0, k.SAMPLE_AXIS) for a in (ds.X_train, ds.X_test))
    params = init_params(k, np.random.default_rng(seed))
    h = fit(k, params, Xtr, ds.y_train, Xte, ds.y_test, epochs=epochs, lr=lr,
            optimizer=optimizer, lam=lam, log=None)
    return h, params, k


def test_sigmoid_softmax_mlp_reaches_97_percent_on_digits():
    h, _, _ = _train(mlp([64, 128, 10]), epochs=30, lr=0.1)
    assert h[-1]["test"] >= 0.97, h[-1]
    assert h[-1]["loss"] < h[0]["loss"] / 5


# Every worked network of derivations/, with digits' 64 inputs and 10 classes (binary: 3 vs 8).
SEED_MODELS = {
    "000 row relu softmax": (mlp([64, 128, 10], hidden="relu", bias=False, layout="rows",
                                 reduction="sum"), dict(lr=0.002), 0.95),
    "001 sigmoid softmax": (mlp([64, 100, 10]), {}, 0.96),
    "001 four layers": (mlp([64, 64, 48, 32, 10]), dict(optimizer="adam", lr=0.003), 0.88),
    "002 binary tanh l2": (mlp([64, 16, 8, 1], hidden="tanh", loss="binary-cross-entropy",
                               l2=True), dict(binary=(3, 8), lam=1e-4), 0.95),
    "002 multi relu l2": (mlp([64, 32, 16, 10], hidden=["relu", "sigmoid"], l2=True),
                          dict(lam=1e-4, optimizer="adam", lr=0.003), 0.94),
    "003 hinge l2": (mlp([64, 10], loss="hinge", l2=True), dict(lam=1e-3, lr=0.01), 0.93),
    "003 softmax regression": (mlp([64, 10]), dict(lr=0.1), 0.94),
    "003 squared error": (mlp([64, 10], loss="squared-error"), dict(lr=0.05), 0.85),
    "004 two-layer binary": (mlp([64, 4, 1], loss="binary-cross-entropy"),
                             dict(binary=(3, 8)), 0.95),
}


@pytest.mark.parametrize("name", list(SEED_MODELS))
def test_every_seed_network_trains(name):
    model, kwargs, target = SEED_MODELS[name]
    h, _, _ = _train(model, epochs=20, **kwargs)
    assert h[-1]["test"] >= target, (name, h[-1])


def test_divergence_stops_training_and_saves_the_best_epoch(tmp_path):
    k = compile(derive(mlp([64, 32, 10])))
    X, Xt = DIGITS.X_train.T.copy(), DIGITS.X_test.T.copy()
    steps = -(-len(DIGITS.y_train) // 32)               # batches per epoch
    two = tmp_path / "two.npz"
    train(k, X, DIGITS.y_train, Xt, DIGITS.y_test, two, epochs=2, log=None)
    out = tmp_path / "w.npz"
    with pytest.raises(TrainingError, match="diverged: the loss became nan in epoch 3") as e:
        train(Poisoned(k, 2 * steps + 5), X, DIGITS.y_train, Xt, DIGITS.y_test, out,
              epochs=5, log=None)
    assert "saved the weights of epoch 2" in str(e.value) and e.value.saved
    saved, expected = np.load(out), np.load(two)
    assert all(np.array_equal(saved[n], expected[n]) for n in expected.files)


def test_divergence_before_an_epoch_never_replaces_a_file(tmp_path):
    k = compile(derive(mlp([64, 32, 10])))
    out = tmp_path / "w.npz"
    out.write_bytes(b"precious")
    with pytest.raises(TrainingError, match="nothing was written") as e:
        train(Poisoned(k, 3), DIGITS.X_train.T.copy(), DIGITS.y_train, DIGITS.X_test.T.copy(),
              DIGITS.y_test, out, epochs=5, log=None)
    assert not e.value.saved and out.read_bytes() == b"precious"


def test_save_weights_is_atomic(tmp_path):
    k = compile(derive(mlp([3, 4, 2])))
    params = init_params(k, np.random.default_rng(0))
    path = tmp_path / "w.npz"
    save_weights(path, k, params)
    saved = np.load(path)
    assert sorted(saved.files) == sorted(p["name"] for p in k.PARAMS)
    np.testing.assert_array_equal(saved["W1"], params[0])
    assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]      # no temporary left
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()       # the user's permissions


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_cli_train_on_embedded_digits(tmp_path, capsys):
    out = tmp_path / "mlp.npz"
    code = main(["train", "--layers", "64,128,10", "--epochs", "30", "-o", str(out)])
    o, err = capsys.readouterr()
    assert code == 0, err
    assert "epoch  30/30" in err and "saved weights to" in o
    acc = float(o.split("test accuracy ")[1].split("%")[0])
    assert acc >= 97.0
    assert sorted(np.load(out).files) == ["W1", "W2", "b1", "b2"]


def test_cli_train_says_one_epoch_in_the_singular(tmp_path, capsys):
    code = main(["train", "--layers", "64,8,10", "--epochs", "1", "-o", str(tmp_path / "w.npz")])
    o, err = capsys.readouterr()
    assert code == 0, err
    lines = o.splitlines()
    assert lines[0].startswith("test accuracy ") and lines[0].endswith("% after 1 epoch")
    assert lines[1] == (f"saved weights to {tmp_path / 'w.npz'} and the history of 1 epoch "
                        f"to {tmp_path / 'w.history.json'}")


def _bad(tmp_path, capsys, *argv):
    code = main(list(argv))
    o, err = capsys.readouterr()
    return code, err


def test_cli_train_bad_inputs(tmp_path, capsys):
    X = np.random.default_rng(0).random((40, 5))
    y = np.arange(40) % 3
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    code, err = _bad(tmp_path, capsys, "train", "--layers", "64,8,3", "--data",
                     str(tmp_path / "X.npy"), str(tmp_path / "y.npy"))
    assert code == 2 and "5 features per sample but the model's first layer expects 64" in err
    y[3] = 7
    np.save(tmp_path / "y.npy", y)
    code, err = _bad(tmp_path, capsys, "train", "--layers", "5,8,3", "--data",
                     str(tmp_path / "X.npy"), str(tmp_path / "y.npy"))
    assert code == 2 and "label 7" in err
    X[2, 1] = np.nan
    np.save(tmp_path / "X.npy", X)
    code, err = _bad(tmp_path, capsys, "train", "--layers", "5,8,8", "--data",
                     str(tmp_path / "X.npy"), str(tmp_path / "y.npy"))
    assert code == 2 and "NaN" in err
    code, err = _bad(tmp_path, capsys, "train", "--layers", "64,8,10", "--epochs", "1",
                     "-o", str(tmp_path / "missing" / "w.npz"))
    assert code == 2 and "does not exist" in err
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "train-images-idx3-ubyte").write_bytes(b"\0\0\x08\x03garbage")
    code, err = _bad(tmp_path, capsys, "train", "--layers", "784,8,10", "--data-dir",
                     str(tmp_path / "mnist"))
    assert code == 2 and "mnist" in err


def test_failed_run_does_not_overwrite_saved_weights(tmp_path, capsys):
    out = tmp_path / "w.npz"
    out.write_bytes(b"precious")
    code, err = _bad(tmp_path, capsys, "train", "--layers", "70,8,10", "-o", str(out))
    assert code == 2 and out.read_bytes() == b"precious"


def test_standalone_script_runs_with_numpy_alone(tmp_path, capsys):
    script = tmp_path / "train_mlp.py"
    assert main(["codegen", "--layers", "64,32,10", "--hidden", "relu", "-o", str(script)]) == 0
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    run = subprocess.run([sys.executable, "-I", str(script), "--epochs", "8", "-o",
                          str(tmp_path / "w.npz")], cwd=tmp_path, capture_output=True,
                         text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    last = [l for l in run.stderr.splitlines() if l.startswith("epoch")][-1]
    assert float(last.split("test")[1].split("%")[0]) >= 93.0
    assert (tmp_path / "w.npz").exists()


def test_plot_needs_matplotlib_or_draws(tmp_path, capsys):
    code = main(["train", "--layers", "64,16,10", "--epochs", "2", "-o", str(tmp_path / "w.npz"),
                 "--plot", str(tmp_path / "curve.png")])
    o, err = capsys.readouterr()
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert code == 2 and "--plot needs matplotlib" in err
        assert not (tmp_path / "w.npz").exists()       # said before training, not after it
    else:
        assert code == 0 and (tmp_path / "curve.png").stat().st_size > 1000
