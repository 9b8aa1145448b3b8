"""`matcalc train`, `codegen`, `report`, `grad` and the generated script in a hostile
environment (issue 17, "Work lost or destroyed"): signals, a full disk or a file-size limit,
devices, FIFOs, symlinks, a closed log pipe, concurrent runs. Each: the exit code, the
message, the files left (whole, or untouched).

A full disk is a tiny tmpfs where this runs as root and may mount one; a file-size limit
(RLIMIT_FSIZE, `ulimit -f`) everywhere.
"""
import gzip
import io
import json
import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from matcalc import derive, mlp
from matcalc.cli import main
from matcalc.codegen.kernels import compile
from matcalc.train.data import DIGITS_FILE
from signals import SIGINT_AS_USUAL

SMALL = ["--layers", "64,8,10"]
ROOT = os.geteuid() == 0


def _files(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def _limited(argv, limit, script=None):
    """A command line that runs matcalc's CLI (or the generated `script`) under a file-size
    limit of `limit` bytes."""
    run = (f"import runpy; sys.argv = {[str(script), *argv]!r}; "
           f"runpy.run_path({str(script)!r}, run_name='__main__')" if script else
           f"from matcalc.cli import main; sys.exit(main({argv!r}))")
    return [sys.executable, "-c", "import resource, sys; resource.setrlimit("
            f"resource.RLIMIT_FSIZE, ({limit}, {limit})); " + run]


@pytest.fixture
def tiny_disk(tmp_path):
    """A 12 KiB tmpfs (root only): weights of 64-32-10 (20 KB) do not fit."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if not ROOT or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12k", "tmpfs",
                                   str(disk)], capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    folder = tmp_path_factory.mktemp("script")
    path = folder / "train_mlp.py"
    run = subprocess.run([sys.executable, "-m", "matcalc", "codegen", "--layers", "64,32,10",
                          "-o", str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return path


def _stop_after_first_epoch(argv, cwd, signum):
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **SIGINT_AS_USUAL)
    err = []
    for line in proc.stderr:
        err.append(line)
        if line.startswith("epoch   1/"):
            proc.send_signal(signum)
            break
    _, rest = proc.communicate(timeout=120)
    return proc.returncode, "".join(err) + rest


@pytest.mark.parametrize("signum, words", [(signal.SIGTERM, "terminated (SIGTERM)"),
                                           (signal.SIGHUP, "hung up (SIGHUP)")])
@pytest.mark.parametrize("where", ["cli", "script"])
def test_sigterm_and_sighup_save_the_last_completed_epoch(tmp_path, script, where, signum,
                                                          words):
    argv = ([sys.executable, "-m", "matcalc", "train", "--layers", "64,256,256,10"]
            if where == "cli" else [sys.executable, "-I", str(script)])
    code, err = _stop_after_first_epoch(argv + ["--epochs", "300", "-o", "w.npz"], tmp_path,
                                        signum)
    assert code == 128 + signum, err
    assert f"stopped: {words} in epoch" in err and "saved the weights of epoch" in err
    assert "Traceback" not in err
    assert np.load(tmp_path / "w.npz")["W1"].shape[1] == 64
    assert _files(tmp_path) == ["w.history.json", "w.npz"]


def test_a_full_disk_keeps_the_weights_and_says_where(tiny_disk, tmp_path):
    spare = tmp_path / "spare"
    spare.mkdir()
    (tiny_disk / "w.npz").write_bytes(b"precious")
    run = subprocess.run([sys.executable, "-m", "matcalc", "train", "--layers", "64,32,10",
                          "--epochs", "2", "-o", str(tiny_disk / "w.npz")],
                         capture_output=True, text=True, env={**os.environ, "TMPDIR": str(spare)})
    assert run.returncode == 2, run.stderr
    assert f"no space left on the device holding {tiny_disk}" in run.stderr
    assert f"so saved them to {spare}/w.rescued-" in run.stderr
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr
    (rescued,) = spare.glob("w.rescued-*.npz")
    assert np.load(rescued)["W1"].shape == (32, 64)
    # the history is small enough for what is left of the disk: written where asked
    assert f"saved the history of 2 epochs to {tiny_disk}/w.history.json" in run.stderr
    assert len(json.loads((tiny_disk / "w.history.json").read_text())) == 2
    assert (tiny_disk / "w.npz").read_bytes() == b"precious"
    assert _files(tiny_disk) == ["w.history.json", "w.npz"]


@pytest.mark.parametrize("where", ["cli", "script"])
def test_a_file_size_limit_is_exit_2_saying_what_was_lost(tmp_path, script, where,
                                                          monkeypatch):
    cache = tmp_path / "cache"       # the kernels compiled first: only the weights are large
    monkeypatch.setenv("MATCALC_CACHE", str(cache))
    compile(derive(mlp([64, 32, 10])))
    argv = (["train", "--layers", "64,32,10"] if where == "cli" else []) + \
        ["--epochs", "1", "-o", str(tmp_path / "w.npz")]
    run = subprocess.run(_limited(argv, 12000, script if where == "script" else None),
                         capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "TMPDIR": str(tmp_path)})
    assert run.returncode == 2, run.stderr
    assert "could not write weights to" in run.stderr
    assert "file-size limit (ulimit -f)" in run.stderr and "they are lost" in run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    assert _files(tmp_path) == ["cache", "w.history.json"]      # the history is small


def test_a_result_to_a_full_device_is_exit_2():
    with open("/dev/full", "w") as full:
        run = subprocess.run([sys.executable, "-m", "matcalc", "grad", "tr(X.T @ X)", "--wrt",
                              "X"], stdout=full, stderr=subprocess.PIPE, text=True)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == ("matcalc: error: cannot write the output (stdout): no "
                                  "space left on the device it goes to")


def test_a_device_output_is_written_to_never_replaced(tmp_path, capsys, script):
    if not ROOT:
        pytest.skip("mknod needs root")
    node = tmp_path / "nulldev"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    assert main(["train", *SMALL, "--epochs", "1", "-o", str(node)]) == 0
    assert f"saved weights to {node}" in capsys.readouterr().out
    assert stat.S_ISCHR(os.stat(node).st_mode) and _files(tmp_path) == ["nulldev"]
    assert main(["train", *SMALL, "--epochs", "1", "-o", "/dev/null"]) == 0   # the system's
    assert os.stat("/dev/null").st_rdev == os.makedev(1, 3)
    assert not os.path.exists("/dev/null.history.json")
    run = subprocess.run([sys.executable, "-I", str(script), "--epochs", "1", "-o", str(node)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert stat.S_ISCHR(os.stat(node).st_mode) and _files(tmp_path) == ["nulldev"]


def test_a_fifo_and_a_symlink_output(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    assert main(["train", *SMALL, "--epochs", "1", "-o", str(fifo)]) == 0
    reader.join(30)
    assert np.load(io.BytesIO(got[0]))["W1"].shape == (8, 64)
    (tmp_path / "runs").mkdir()
    link = tmp_path / "latest.npz"
    link.symlink_to(tmp_path / "runs" / "w.npz")
    assert main(["train", *SMALL, "--epochs", "1", "-o", str(link)]) == 0
    assert link.is_symlink() and np.load(tmp_path / "runs" / "w.npz")["W1"].shape == (8, 64)
    assert _files(tmp_path) == ["latest.history.json", "latest.npz", "pipe", "runs"]


def test_dev_stdout_gets_the_weights_and_stays_a_link(tmp_path, script):
    before = (os.lstat("/dev/stdout").st_mode, os.readlink("/dev/stdout"))
    run = subprocess.run([sys.executable, "-m", "matcalc", "train", *SMALL, "--epochs", "1",
                          "-o", "/dev/stdout"], capture_output=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert np.load(io.BytesIO(run.stdout))["W1"].shape == (8, 64)   # the weights alone
    assert b"saved weights to /dev/stdout" in run.stderr
    run = subprocess.run([sys.executable, "-I", str(script), "--epochs", "1", "-o",
                          "/dev/stdout"], capture_output=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert np.load(io.BytesIO(run.stdout))["W1"].shape == (32, 64)
    assert (os.lstat("/dev/stdout").st_mode, os.readlink("/dev/stdout")) == before
    assert _files(tmp_path) == []
    assert not os.path.exists("/dev/stdout.history.json")


@pytest.mark.parametrize("where, lines", [("cli", 1), ("cli", 3), ("script", 3)])
def test_a_closed_log_pipe_does_not_stop_the_run(tmp_path, script, where, lines):
    command = (f"{sys.executable} -m matcalc train {' '.join(SMALL)}" if where == "cli" else
               f"{sys.executable} -I {script}")
    run = subprocess.run(["bash", "-c", f"set -o pipefail; {command} --epochs 6 -o w.npz "
                          f"2>&1 | head -{lines}"], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.splitlines()) == lines
    history = json.loads((tmp_path / "w.history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5, 6]
    assert np.load(tmp_path / "w.npz")["W1"].shape[1] == 64


def test_concurrent_runs_on_one_output(tmp_path):
    argv = [sys.executable, "-m", "matcalc", "train", *SMALL, "--epochs", "3", "-o", "w.npz"]
    procs = [subprocess.Popen(argv + ["--seed", str(seed)], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for seed in (1, 2)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert np.load(tmp_path / "w.npz")["W1"].shape == (8, 64)
    assert _files(tmp_path) == ["w.history.json", "w.npz"]


def test_codegen_rewrites_a_truncated_digits_file(tmp_path, capsys):
    whole = DIGITS_FILE.read_bytes()
    (tmp_path / "digits.csv.gz").write_bytes(whole[:len(whole) // 2])   # a full disk's copy
    assert main(["codegen", *SMALL, "-o", str(tmp_path / "t.py")]) == 0
    assert (tmp_path / "digits.csv.gz").read_bytes() == whole
    assert gzip.decompress(whole)        # the copy kept is one that reads
    assert _files(tmp_path) == ["digits.csv.gz", "t.py"]


def test_codegen_and_report_on_a_full_disk_keep_what_was_there(tmp_path):
    (tmp_path / "r.tex").write_text("the old report")
    run = subprocess.run(_limited(["report", *SMALL, "--no-pdf", "-o", "r.tex"], 2000),
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith(f"matcalc: error: cannot write the report to {tmp_path}/r.tex"
                                 ": the file would exceed this process's file-size limit")
    digits = len(DIGITS_FILE.read_bytes())        # the script (smaller) fits, the data not
    run = subprocess.run(_limited(["codegen", *SMALL, "-o", "t.py"], digits - 1),
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 2 and "cannot write the digits data" in run.stderr, run.stderr
    assert (tmp_path / "r.tex").read_text() == "the old report"
    assert _files(tmp_path) == ["r.tex", "t.py"]          # no truncated digits, no temporary
