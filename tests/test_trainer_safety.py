"""train/trainer.py through the CLI: training never loses work.

Bad options and output paths are refused before anything is written (exit 2, the flag named,
files untouched); a diverging run stops (and keeps its best epoch: tests/test_train.py);
Ctrl-C saves the last completed epoch; a killed save leaves nothing behind for good; kernels are cached by hash.
SIGTERM, SIGHUP, full disks, devices and concurrent runs: test_trust_files.py, test_trust_training.py.
"""
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from matcalc import derive, mlp
from matcalc.cli import main
from matcalc.codegen.kernels import compile
from matcalc.core.files import _owner
from matcalc.train.trainer import check_options, TrainingError
from signals import SIGINT_AS_USUAL

SMALL = ["--layers", "64,8,10"]


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _files(folder):
    return {p.name: p.read_bytes() for p in Path(folder).iterdir()}


@pytest.fixture
def precious(tmp_path):
    """An existing weights file that a failed run must leave as it was."""
    out = tmp_path / "w.npz"
    out.write_bytes(b"precious")
    return out


@pytest.mark.parametrize("flags, fragment", [
    (["--epochs", "0"], "--epochs must be a positive integer, not 0"),
    (["--epochs", "-3"], "--epochs must be a positive integer, not -3"),
    (["--batch-size", "0"], "--batch-size must be a positive integer, not 0"),
    (["--batch-size", "-1"], "--batch-size must be a positive integer, not -1"),
    (["--lr", "nan"], "--lr must be a finite number ≥ 0, not nan"),
    (["--lr", "inf"], "--lr must be a finite number ≥ 0, not inf"),
    (["--lr", "-0.1"], "--lr must be a finite number ≥ 0, not -0.1"),
    (["--l2", "nan"], "--l2 must be a finite number ≥ 0, not nan"),
    (["--l2", "inf"], "--l2 must be a finite number ≥ 0, not inf"),
    (["--l2", "-1"], "-1"),
])
def test_bad_options_are_refused_before_anything_is_written(capsys, precious, flags, fragment):
    before = _files(precious.parent)
    code, out, err = _run(capsys, "train", *SMALL, *flags, "-o", str(precious))
    assert code == 2, err
    assert fragment in err and "Traceback" not in err
    assert _files(precious.parent) == before


def test_the_python_api_names_its_own_parameters():
    with pytest.raises(TrainingError, match="^lr must be a finite number ≥ 0, not nan$"):
        check_options(3, 32, float("nan"), 0.0, "sgd")


def test_a_binary_pair_that_is_not_two_labels_is_refused(capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["train", "--layers", "64,4,1", "--loss", "bce", "--binary", "a,b",
              "-o", str(tmp_path / "w.npz")])
    assert e.value.code == 2
    assert "takes two class labels such as 3,8, not 'a,b'" in capsys.readouterr().err
    code, out, err = _run(capsys, "train", "--layers", "64,4,1", "--loss", "bce", "--binary",
                          "3,3", "-o", str(tmp_path / "w.npz"))
    assert code == 2 and "need two different classes in 0..9" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("where, fragment", [
    ("folder", "is a folder; give a file name such as"),
    ("missing/w.npz", "does not exist"),
])
def test_the_output_path_is_checked_before_training(capsys, tmp_path, where, fragment):
    (tmp_path / "folder").mkdir()
    code, out, err = _run(capsys, "train", *SMALL, "-o", str(tmp_path / where))
    assert code == 2 and fragment in err
    assert "epoch   1" not in err                      # refused at once, not after the run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_an_unwritable_output_is_refused_before_training(capsys, tmp_path):
    # /proc takes no new files, even for root (who may write into a mode-0500 folder).
    code, out, err = _run(capsys, "train", *SMALL, "-o", "/proc/matcalc-weights.npz")
    assert code == 2 and "cannot write the weights to /proc/matcalc-weights.npz" in err
    assert "epoch   1" not in err
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        code, out, err = _run(capsys, "train", *SMALL, "-o", str(locked / "w.npz"))
        assert code == 2 and "Permission denied" in err


def test_a_network_too_large_for_memory_is_refused_before_allocating(capsys, tmp_path):
    code, out, err = _run(capsys, "train", "--layers", "64,1000000000,10",
                          "-o", str(tmp_path / "w.npz"))
    assert code == 2, err
    assert "needs about" in err and "GiB" in err and "75,000,000,010 parameters" in err
    assert not list(tmp_path.iterdir())


def test_a_diverging_run_stops_and_never_replaces_a_file(capsys, precious):
    code, out, err = _run(capsys, "train", *SMALL, "--lr", "1e6", "--epochs", "5",
                          "-o", str(precious))
    assert code == 2
    assert "training diverged: the loss became" in err and "in epoch 1" in err
    assert "Try a smaller --lr than 1000000.0" in err
    assert "no epoch was completed, so nothing was written" in err
    assert precious.read_bytes() == b"precious"


def test_a_leftover_of_a_killed_save_is_cleared(capsys, tmp_path):
    """A temporary is named by its run (core/files.py): one whose process is gone goes, one
    of a live run stays (another run on the same -o)."""
    out = tmp_path / "w.npz"
    host = _owner().rsplit("-", 1)[0]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    live = f".w.npz.{host}-{os.getppid()}-0a0b0c0d.partial"
    for name in (f".w.npz.{host}-{dead}-0a0b0c0d.partial", ".w.npz.partial", live):
        (tmp_path / name).write_bytes(b"half a file")     # kill -9 during a save
    code, _, err = _run(capsys, "train", *SMALL, "--epochs", "1", "-o", str(out))
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [live, "w.history.json", "w.npz"]


def _interrupt_after_first_epoch(argv, cwd):
    """Run argv, send SIGINT once epoch 1 is logged; (exit code, stderr)."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **SIGINT_AS_USUAL)
    err = []
    for line in proc.stderr:
        err.append(line)
        if line.startswith("epoch   1/"):
            proc.send_signal(signal.SIGINT)
            break
    rest_out, rest_err = proc.communicate(timeout=120)
    return proc.returncode, "".join(err) + rest_err


def test_ctrl_c_saves_the_last_completed_epoch(tmp_path):
    out = tmp_path / "w.npz"
    code, err = _interrupt_after_first_epoch(
        [sys.executable, "-m", "matcalc", "train", "--layers", "64,256,256,10", "--epochs",
         "200", "-o", str(out)], tmp_path)
    assert code == 130, err
    assert "Traceback" not in err
    assert "stopped: interrupted in epoch" in err and "saved the weights of epoch" in err
    assert sorted(np.load(out).files) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.history.json", "w.npz"]


def test_kernels_are_written_once_per_content(tmp_path, monkeypatch):
    monkeypatch.setenv("MATCALC_CACHE", str(tmp_path))
    b = derive(mlp([4, 5, 3]))
    k1, k2 = compile(b), compile(b)
    assert k1.path == k2.path and k1.path.parent == tmp_path
    compile(derive(mlp([4, 6, 3])))
    assert len(list(tmp_path.glob("kernels_*.py"))) == 2
    assert not list(tmp_path.glob(".*"))               # no temporary left behind
