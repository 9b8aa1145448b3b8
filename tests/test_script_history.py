"""The standalone script (train/script.py) writes the per-epoch history that `matcalc train`
writes: the same file beside the weights by default, --history PATH.json|.csv, the same rows."""
import csv
import json
import subprocess
import sys

import pytest

from matcalc.cli import main
from matcalc.train.trainer import HISTORY_COLUMNS

LAYERS = "64,16,10"


def _script(tmp_path, capsys, backend):
    path = tmp_path / f"train_{backend}.py"
    assert main(["codegen", "--layers", LAYERS, "--hidden", "relu", "--backend", backend,
                 "-o", str(path)]) == 0
    capsys.readouterr()
    return path


def _run(script, *args, cwd):
    run = subprocess.run([sys.executable, "-I", str(script), "--epochs", "2", *args], cwd=cwd,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return run


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_the_script_writes_the_history_beside_the_weights(tmp_path, capsys, backend):
    if backend == "torch":
        pytest.importorskip("torch", reason="the torch script needs PyTorch: pip install "
                                             "'matcalc-nn[torch]' (.ci/run installs it)")
    script = _script(tmp_path, capsys, backend)
    run = _run(script, "-o", "w.npz", cwd=tmp_path)           # the embedded digits
    rows = json.loads((tmp_path / "w.history.json").read_text())
    assert [r["epoch"] for r in rows] == [1, 2]                 # one row per epoch
    assert [tuple(r) for r in rows] == [HISTORY_COLUMNS] * 2
    assert "saved weights to w.npz and the history of 2 epochs to w.history.json" in run.stdout
    # The last row is the accuracy the script prints.
    said = float(run.stdout.split("test accuracy ")[1].split("%")[0])
    assert said == pytest.approx(100 * rows[-1]["test_accuracy"], abs=0.051)


def test_the_script_history_is_the_one_matcalc_train_writes(tmp_path, capsys):
    script = _script(tmp_path, capsys, "numpy")
    _run(script, "-o", "script.npz", cwd=tmp_path)
    assert main(["train", "--layers", LAYERS, "--hidden", "relu", "--epochs", "2",
                 "-o", str(tmp_path / "cli.npz")]) == 0
    capsys.readouterr()
    ours, theirs = (json.loads((tmp_path / f"{n}.history.json").read_text())
                    for n in ("script", "cli"))
    assert [tuple(r) for r in ours] == [tuple(r) for r in theirs]
    for a, b in zip(ours, theirs):      # same seed, data and kernels: the same numbers
        assert {k: a[k] for k in HISTORY_COLUMNS if k != "seconds"} == pytest.approx(
            {k: b[k] for k in HISTORY_COLUMNS if k != "seconds"}, rel=1e-9)


def test_the_script_writes_csv_history_where_asked(tmp_path, capsys):
    script = _script(tmp_path, capsys, "numpy")
    (tmp_path / "logs").mkdir()
    _run(script, "-o", "w.npz", "--history", "logs/h.csv", cwd=tmp_path)
    assert not (tmp_path / "w.history.json").exists()
    with open(tmp_path / "logs" / "h.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == HISTORY_COLUMNS
        assert [int(r["epoch"]) for r in reader] == [1, 2]


def test_the_script_refuses_a_history_path_it_cannot_write(tmp_path, capsys):
    script = _script(tmp_path, capsys, "numpy")
    run = subprocess.run([sys.executable, "-I", str(script), "--epochs", "2", "-o", "w.npz",
                          "--history", "h.txt"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 2
    assert "the history is written as .json or .csv" in run.stderr
    assert not (tmp_path / "w.npz").exists()
