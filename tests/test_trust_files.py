"""core/files.py and the trainer's saving: no failure, signal, device or concurrent run destroys
work (issue 17, "Work lost or destroyed"), in process and fast, with a fuzz of those surfaces.

The trainer runs here on a toy kernel module (a softmax regression in NumPy), so that a run
takes milliseconds; the CLI and the generated script are tested in test_trust_training.py.
"""
import errno
import io
import os
import random
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import matcalc.core.files as files
from matcalc.core.files import WriteError, check_writable, clear_leftovers, write_file
from matcalc.train import trainer
from matcalc.train.trainer import Stopped, TrainingError

ROOT = os.geteuid() == 0


@pytest.fixture(autouse=True)
def _ctrl_c_as_usual():
    """Ctrl-C raises KeyboardInterrupt here even where the suite runs as a background job
    (which starts with SIGINT ignored, and an ignored signal the trainer leaves ignored)."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def _leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.endswith((".partial", ".tmp")))


def _char_device(path):
    """A copy of /dev/null (root only: mknod)."""
    if not ROOT:
        pytest.skip("mknod needs root")
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return path


# ------------------------------------------------------------------ files.py itself

def test_a_file_is_replaced_whole_and_keeps_its_permissions(tmp_path):
    target = tmp_path / "train_mlp.py"
    target.write_text("old")
    target.chmod(0o751)
    assert write_file(target, "new ✓") == str(target)
    assert target.read_text() == "new ✓" and stat.S_IMODE(target.stat().st_mode) == 0o751
    assert _leftovers(tmp_path) == []


def test_a_symlink_is_followed_and_stays_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    link, dangling = tmp_path / "w.npz", tmp_path / "new.npz"
    link.symlink_to(tmp_path / "real" / "w.npz")
    dangling.symlink_to(tmp_path / "real" / "made.npz")     # to a file not yet there
    write_file(link, b"one")
    write_file(dangling, b"two")
    assert link.is_symlink() and dangling.is_symlink()
    assert (tmp_path / "real" / "w.npz").read_bytes() == b"one"
    assert (tmp_path / "real" / "made.npz").read_bytes() == b"two"


def test_a_character_device_is_written_to_never_replaced(tmp_path):
    node = _char_device(tmp_path / "nulldev")
    check_writable(node, "the weights")
    write_file(node, b"x" * 100000)
    assert stat.S_ISCHR(os.stat(node).st_mode)
    assert _leftovers(tmp_path) == []


def test_a_fifo_is_written_to_its_reader(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_file(fifo, b"a" * 300000)      # more than a pipe holds: written as it is read
    reader.join(10)
    assert got == [b"a" * 300000] and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_dev_full_is_no_space_left_by_name():
    with pytest.raises(WriteError) as e:
        write_file("/dev/full", b"x", "the weights")
    assert str(e.value) == "cannot write the weights to /dev/full: no space left on /dev/full"
    assert e.value.errno == errno.ENOSPC


def test_a_folder_and_a_disk_are_refused_by_name(tmp_path):
    with pytest.raises(WriteError, match="it is a folder"):
        write_file(tmp_path, b"x")
    if ROOT:      # a block device node that names no disk: refused before any open
        disk = tmp_path / "disk"
        os.mknod(disk, 0o600 | stat.S_IFBLK, os.makedev(0, 0))
        for fn in (check_writable, lambda p: write_file(p, b"x")):
            with pytest.raises(WriteError, match="it is a block device"):
                fn(disk)


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "report.tex"
    target.write_text("the old report")

    def full(fd, data):
        os.write(fd, bytes(data[:10]))
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(files, "_write_all", full)
    with pytest.raises(WriteError) as e:
        write_file(target, "x" * 1000, "the report")
    assert str(e.value) == (f"cannot write the report to {target}: no space left on the device "
                            f"holding {tmp_path}")
    assert target.read_text() == "the old report" and _leftovers(tmp_path) == []


def test_leftovers_go_only_when_their_process_is_gone(tmp_path):
    target = tmp_path / "w.npz"
    host = files._owner().rsplit("-", 1)[0]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    names = {"dead": f".w.npz.{host}-{dead}-00ff00ff.partial",
             "live": f".w.npz.{host}-{os.getppid()}-00ff00ff.partial",
             "other host": f".w.npz.elsewhere-{dead}-00ff00ff.partial",
             "legacy": ".w.npz.partial", "legacy tmp": ".w.npz.tmp",
             "another file's": f".w.npz.x.{host}-{dead}-00ff00ff.partial"}
    for name in names.values():
        (tmp_path / name).write_bytes(b"half")
    clear_leftovers(str(target))
    assert _leftovers(tmp_path) == sorted(names[k] for k in ("live", "other host",
                                                             "another file's"))


def test_concurrent_writers_never_show_a_partial_file(tmp_path):
    """Processes (their own temporaries) and a reader: every read is one whole version."""
    target = tmp_path / "w.bin"
    write_file(target, bytes([0]) * 200000)
    code = ("import importlib.util, sys\n"
            f"s = importlib.util.spec_from_file_location('f', {files.__file__!r})\n"
            "m = importlib.util.module_from_spec(s); s.loader.exec_module(m)\n"
            "for i in range(40):\n"
            f"    m.write_file({str(target)!r}, bytes([int(sys.argv[1])]) * 200000)\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(n)]) for n in (1, 2, 3)]
    seen = set()
    while any(p.poll() is None for p in procs):
        data = target.read_bytes()
        assert len(data) == 200000 and len(set(data)) == 1, "a torn or truncated read"
        seen.add(data[0])
    assert [p.wait() for p in procs] == [0, 0, 0]
    assert target.read_bytes()[0] in (1, 2, 3) and _leftovers(tmp_path) == []


# ------------------------------------------------------------------ the trainer, on a toy model

class _Toy(SimpleNamespace):
    """Softmax regression over 4 features, 3 classes, samples as columns; `hook(step)` runs
    before each step (to send a signal at a chosen point)."""

    def __init__(self, hook=None):
        super().__init__(SAMPLE_AXIS=1, OUTPUTS=3, L2=False, hook=hook, steps=0, PARAMS=[
            {"name": "W1", "shape": (3, 4), "kind": "weight", "init": "glorot", "fan_in": 4,
             "fan_out": 3},
            {"name": "b1", "shape": (3, 1), "kind": "bias", "init": "zeros", "fan_in": 4,
             "fan_out": 3}])

    def predict(self, X, W, b):
        Z = W @ X + b
        E = np.exp(Z - Z.max(axis=0))
        return E / E.sum(axis=0)

    def loss_and_gradients(self, X, Y, W, b):
        self.steps += 1
        if self.hook:
            self.hook(self.steps)
        S = self.predict(X, W, b)
        n = X.shape[1]
        D = (S - Y) / n
        return -np.sum(Y * np.log(S)) / n, [D @ X.T, D.sum(axis=1, keepdims=True)]


def _data(n=64):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(4, n)) + 2 * np.eye(4)[:, y % 4]
    return X, y, X, y


def _train(k, out, history=True, epochs=4):
    hist = trainer.history_beside(str(out)) if history else None
    return trainer.train(k, *_data(), str(out), epochs=epochs, batch_size=16, log=None,
                         history_path=hist)


@pytest.fixture
def rescue(tmp_path, monkeypatch):
    """The temporary folder rescued files go to, here a folder of the test's own."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(folder))
    return folder


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_saves_the_last_completed_epoch(tmp_path, signum):
    k = _Toy(hook=lambda step: step == 10 and os.kill(os.getpid(), signum))  # in epoch 3
    with pytest.raises(Stopped) as e:
        _train(k, tmp_path / "w.npz", epochs=50)
    assert e.value.signum == signum and e.value.saved
    words = trainer.STOP_SIGNALS[signal.Signals(signum).name]
    assert str(e.value) == (f"{words} in epoch 3; saved the weights of epoch 2 to "
                            f"{tmp_path / 'w.npz'} and the history of 2 epochs to "
                            f"{tmp_path / 'w.history.json'}")
    saved = np.load(tmp_path / "w.npz")
    assert np.array_equal(saved["W1"], e.value.params[0])
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL     # handlers put back


def test_an_ignored_hangup_stays_ignored(tmp_path):
    """nohup: SIGHUP is ignored, and the run goes on to its end."""
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        k = _Toy(hook=lambda step: step == 3 and os.kill(os.getpid(), signal.SIGHUP))
        _, history, note = _train(k, tmp_path / "w.npz")
        assert len(history) == 4 and note.startswith("saved weights to")
    finally:
        signal.signal(signal.SIGHUP, old)


def test_a_full_disk_rescues_the_weights_and_says_where(tmp_path, rescue, monkeypatch):
    out = tmp_path / "w.npz"
    out.write_bytes(b"precious")
    real = files._write_all

    def full_here(fd, data):       # the output's folder is full, the temporary folder not
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(rescue)):
            return real(fd, data)
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(files, "_write_all", full_here)
    with pytest.raises(TrainingError) as e:
        _train(_Toy(), out)
    spare = rescue / f"w.rescued-{os.getpid()}.npz"
    assert str(e.value) == (
        f"could not write weights to {out} (no space left on the device holding {tmp_path}), "
        f"so saved them to {spare} instead; could not write the history of 4 epochs to "
        f"{tmp_path / 'w.history.json'} (no space left on the device holding {tmp_path}), so "
        f"saved it to {rescue / f'w.history.rescued-{os.getpid()}.json'} instead")
    assert not e.value.saved and len(e.value.history) == 4
    assert np.array_equal(np.load(spare)["W1"], e.value.params[0])
    assert out.read_bytes() == b"precious" and _leftovers(tmp_path) == []


def test_a_history_that_cannot_be_written_after_the_weights(tmp_path, rescue, monkeypatch):
    real = files._write_all

    def no_json(fd, data):
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(tmp_path / ".w.history")):
            raise OSError(errno.EFBIG, "File too large")
        return real(fd, data)
    monkeypatch.setattr(files, "_write_all", no_json)
    with pytest.raises(TrainingError) as e:
        _train(_Toy(), tmp_path / "w.npz")
    assert str(e.value).startswith(f"saved weights to {tmp_path / 'w.npz'}; could not write "
                                   "the history of 4 epochs")
    assert "file-size limit (ulimit -f)" in str(e.value) and "so saved it to" in str(e.value)
    assert np.load(tmp_path / "w.npz")["W1"].shape == (3, 4)


def test_what_cannot_be_written_anywhere_is_said_lost(tmp_path, rescue, monkeypatch):
    monkeypatch.setattr(files, "_write_all", lambda fd, data: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(TrainingError, match="nor to .*: they are lost") as e:
        _train(_Toy(), tmp_path / "w.npz", history=False)
    assert e.value.params is not None and len(e.value.history) == 4     # still in memory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]


def test_a_closed_log_does_not_stop_the_run(tmp_path):
    r, w = os.pipe()
    os.close(r)                               # the reader left: `| head`
    log = os.fdopen(w, "w")
    _, history, _ = trainer.train(_Toy(), *_data(), str(tmp_path / "w.npz"), epochs=5,
                                  batch_size=16, log=log)
    assert len(history) == 5 and np.load(tmp_path / "w.npz")["W1"].shape == (3, 4)


# ------------------------------------------------------------------ the fuzz

def test_fuzz_signals_disks_devices_and_neighbours(tmp_path, rescue, monkeypatch):
    """Random runs: a signal at a random step (or while saving), a disk full at a random
    write, outputs that are files, links, devices or FIFOs, a leftover of another live or
    dead run beside. Whatever happens: an existing file is the old one or a whole new one,
    no temporary of ours stays, a run said saved can be loaded, and the exception says why."""
    rng = random.Random(17)
    real = files._write_all
    host = files._owner().rsplit("-", 1)[0]
    start, outcomes = time.perf_counter(), set()
    for trial in range(60):
        folder = tmp_path / f"t{trial}"
        folder.mkdir()
        kind = rng.choice(["new", "old", "link", "dev", "fifo"] if ROOT else
                          ["new", "old", "link", "fifo"])
        out = folder / "w.npz"
        if kind == "old":
            out.write_bytes(b"old")
        elif kind == "link":
            (folder / "real.npz").write_bytes(b"old")
            out.symlink_to(folder / "real.npz")
        elif kind == "dev":
            _char_device(out)
        elif kind == "fifo":
            os.mkfifo(out)
            threading.Thread(target=out.read_bytes, daemon=True).start()
        live = folder / f".w.npz.{host}-{os.getpid()}-deadbeef.partial"
        live.write_bytes(b"a neighbour's")           # ours alive: never removed
        signum = rng.choice([None, signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
        at = rng.randint(1, 20) if rng.random() < 0.7 else None     # None: while saving
        k = _Toy(hook=lambda step, s=signum, a=at: s and step == a and os.kill(os.getpid(), s))
        fail_at = rng.choice([None, 1, 2, 3])
        writes = []

        def flaky(fd, data, fail_at=fail_at, writes=writes, s=signum, a=at):
            writes.append(1)
            if s and a is None and len(writes) == 1:
                os.kill(os.getpid(), s)
            if len(writes) == fail_at:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(fd, data)
        monkeypatch.setattr(files, "_write_all", flaky)
        try:
            _, history, note = _train(k, out, epochs=rng.randint(1, 4))
            outcome = "done"
        except Stopped as e:
            outcome, note = "stopped", str(e)
            assert e.signum == signum
        except TrainingError as e:
            outcome, note = "failed", str(e)
            assert "no space left on" in note or "nothing was written" in note
        outcomes.add(outcome)
        assert live.read_bytes() == b"a neighbour's", trial
        live.unlink()
        assert _leftovers(folder) == [], (trial, note)
        target = folder / "real.npz" if kind == "link" else out
        if kind in ("new", "old", "link") and target.exists():
            data = target.read_bytes()
            assert data == b"old" or np.load(io.BytesIO(data))["W1"].shape == (3, 4), trial
            if outcome != "failed" and "nothing was written" not in note:
                assert data != b"old", (trial, note)
        if kind == "link":
            assert out.is_symlink()
        if kind == "dev":
            assert stat.S_ISCHR(os.stat(out).st_mode)
    assert outcomes == {"done", "stopped", "failed"}
    assert time.perf_counter() - start < 20
