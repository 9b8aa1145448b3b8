"""`matcalc train` keeps its per-epoch history beside the weights (.json or .csv), and says
that it derived and proved the backprop before the first epoch (train/trainer.py, api.py)."""
import csv
import json
import re

import pytest

import matcalc
from matcalc import api, derive, mlp
from matcalc.cli import main
from matcalc.codegen.kernels import compile
from matcalc.train.data import load_digits
from matcalc.train.trainer import HISTORY_COLUMNS, TrainingError, train

from diverging import Poisoned

SMALL = ["--layers", "64,8,10"]
EPOCH = re.compile(r"^epoch +(\d+)/\d+  loss (\S+)  train +(\S+)%  test +(\S+)%  (\S+) s$")


def _train(capsys, tmp_path, *flags, epochs=3):
    code = main(["train", *SMALL, "--epochs", str(epochs), "-o", str(tmp_path / "w.npz"),
                 *flags])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out, err


def _printed(err):
    """The epoch lines train printed: [(epoch, loss, train %, test %)]."""
    return [(int(m[1]), float(m[2]), float(m[3]), float(m[4]))
            for m in map(EPOCH.match, err.splitlines()) if m]


def _agrees(rows, printed):
    """The file's rows are the printed lines, to the digits printed."""
    assert [r["epoch"] for r in rows] == [p[0] for p in printed]
    for r, (_, loss, tr, te) in zip(rows, printed):
        assert round(r["loss"], 4) == pytest.approx(loss, abs=1e-9)
        assert round(100 * r["train_accuracy"], 1) == pytest.approx(tr, abs=1e-9)
        assert round(100 * r["test_accuracy"], 1) == pytest.approx(te, abs=1e-9)
        assert 0 < r["seconds"] < 60


def test_the_history_goes_beside_the_weights_as_json(capsys, tmp_path):
    out, err = _train(capsys, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.history.json", "w.npz"]
    rows = json.loads((tmp_path / "w.history.json").read_text())
    assert [list(r) for r in rows] == [list(HISTORY_COLUMNS)] * 3        # one row per epoch
    printed = _printed(err)
    assert len(printed) == 3
    _agrees(rows, printed)
    assert f"test accuracy {100 * rows[-1]['test_accuracy']:.1f}% after 3 epochs" in out
    assert f"and the history of 3 epochs to {tmp_path / 'w.history.json'}" in out


def test_history_as_csv_where_asked(capsys, tmp_path):
    out, err = _train(capsys, tmp_path, "--history", str(tmp_path / "curve.csv"), epochs=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curve.csv", "w.npz"]
    with open(tmp_path / "curve.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == HISTORY_COLUMNS
        rows = [{k: (int(v) if k == "epoch" else float(v)) for k, v in r.items()}
                for r in reader]
    _agrees(rows, _printed(err))


def test_proven_line_comes_before_the_epochs_and_the_proof_really_runs(capsys, tmp_path,
                                                                        monkeypatch):
    proofs = []
    real = api.verify_backprop
    monkeypatch.setattr(api, "verify_backprop", lambda b: proofs.append(b) or real(b))
    out, err = _train(capsys, tmp_path, epochs=1)
    lines = err.splitlines()
    m = re.match(r"^derived and proved the backprop of 64-8-10 in (\d+\.\d\d) s \(each of its "
                 r"6 lines by central differences\)$", lines[0])
    assert m, lines[0]
    assert lines[2].startswith("epoch   1/1")
    assert len(proofs) == 1 and len(proofs[0].backward) == 6


def test_a_wrong_backprop_stops_before_training(capsys, tmp_path, monkeypatch):
    def wrong(b):
        raise matcalc.VerificationError("the backward line delta1 is wrong")
    monkeypatch.setattr(api, "verify_backprop", wrong)
    code = main(["train", *SMALL, "--epochs", "1", "-o", str(tmp_path / "w.npz")])
    err = capsys.readouterr().err
    assert code != 0 and "delta1 is wrong" in err
    assert "derived and proved" not in err and "epoch" not in err
    assert not list(tmp_path.iterdir())


def test_python_train_returns_and_writes_the_history(tmp_path):
    r = matcalc.train(mlp([64, 8, 10]), output=tmp_path / "w.npz", epochs=2, log=None,
                      history=tmp_path / "h.json")
    assert r.history_path == tmp_path / "h.json"
    rows = json.loads(r.history_path.read_text())
    assert [(x["epoch"], x["loss"], x["train_accuracy"], x["test_accuracy"]) for x in rows] == \
        [(h["epoch"], h["loss"], h["train"], h["test"]) for h in r.history]
    r = matcalc.train(mlp([64, 8, 10]), output=tmp_path / "v.npz", epochs=1, log=None)
    assert r.history_path == tmp_path / "v.history.json" and r.history_path.exists()
    r = matcalc.train(mlp([64, 8, 10]), output=tmp_path / "u.npz", epochs=1, log=None,
                      history=False)
    assert r.history_path is None and not (tmp_path / "u.history.json").exists()


def test_a_diverging_run_keeps_the_history_of_its_completed_epochs(tmp_path):
    d = load_digits()
    k = compile(derive(mlp([64, 8, 10])))
    steps = -(-len(d.y_train) // 32)
    with pytest.raises(TrainingError, match="history of 2 epochs") as e:
        train(Poisoned(k, 2 * steps + 5), d.X_train.T.copy(), d.y_train, d.X_test.T.copy(),
              d.y_test, tmp_path / "w.npz", epochs=5, log=None,
              history_path=tmp_path / "w.history.csv")
    assert e.value.saved
    with open(tmp_path / "w.history.csv", newline="") as f:
        assert [r["epoch"] for r in csv.DictReader(f)] == ["1", "2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.history.csv", "w.npz"]
