"""Data-parallel training (train/distributed.py): two CPU processes under torch.distributed
(gloo) end with the weights of one process trained on the same global batches."""
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="data-parallel training needs PyTorch: pip install "
                                            "'matcalc-nn[torch]' (CI installs the CPU build)")

from matcalc import derive, mlp, train  # noqa: E402
from matcalc.cli import main  # noqa: E402
from matcalc.codegen.kernels import compile  # noqa: E402
from matcalc.train import distributed  # noqa: E402

from backend_check import batch  # noqa: E402


@pytest.mark.parametrize("model", [
    mlp([4, 5, 3], hidden="relu", l2=0.3),
    mlp([4, 5, 1], hidden="tanh", loss="binary-cross-entropy", reduction="sum", l2=0.3,
        layout="rows"),
], ids=["mean-l2", "sum-l2-rows"])
@pytest.mark.parametrize("world", [2, 3, 9])
def test_the_shards_weighted_sum_is_the_whole_batchs_gradient(model, world, monkeypatch):
    """Each process's weighted buffer, summed as all_reduce sums them, is the loss and the
    gradient of the whole batch: uneven shards (7 samples in 2 or 3), empty ones (9 > 7),
    λ counted once under a mean and a sum."""
    k = compile(derive(model), backend="torch")
    X, Y, params, extra = batch(k, np.random.default_rng(0))
    args = [k.asarray(a) for a in (X, Y, *params)]
    L, grads = k.loss_and_gradients(*args, *extra)
    sent = []
    monkeypatch.setattr(torch.distributed, "all_reduce", lambda buf: sent.append(buf.clone()))
    for rank in range(world):
        distributed.Sharded(k, rank, world).loss_and_gradients(*args, *extra)
    total = sum(sent)
    want = torch.cat([L.reshape(1)] + [g.reshape(-1) for g in grads])
    torch.testing.assert_close(total, want, rtol=1e-12, atol=1e-12)


def test_two_processes_train_the_weights_of_one(tmp_path, monkeypatch):
    """matcalc.train(nproc=2): gloo, each process half of every batch of 33 (uneven shards,
    a last batch of 26), Adam: the weights of the single-process run to float tolerance."""
    monkeypatch.setattr(distributed, "_cores", lambda: 2)    # 2 processes on a 1-core CI too
    model = mlp([64, 12, 10], hidden="sigmoid", l2=1e-3)
    options = dict(epochs=1, batch_size=33, optimizer="adam", lr=0.01, log=None,
                   history=False, backend="torch")
    one = train(model, output=tmp_path / "one.npz", **options)
    two = train(model, output=tmp_path / "two.npz", nproc=2, **options)
    assert len(one.params) == 4
    for name, w in one.params.items():
        np.testing.assert_allclose(two.params[name], w, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(np.load(tmp_path / "two.npz")[name], two.params[name])
    assert two.history[-1]["loss"] == pytest.approx(one.history[-1]["loss"], rel=1e-12)
    assert two.history[-1]["test"] == one.history[-1]["test"] > 0.3     # chance: 0.1


def test_the_generated_script_under_torchrun(tmp_path):
    """The torch script under torchrun, 2 processes on the CPU: the weights of a plain run."""
    script = tmp_path / "train_torch.py"
    assert main(["codegen", "--layers", "64,10", "--backend", "torch", "-o", str(script)]) == 0
    common = ["--epochs", "1", "--batch-size", "64"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    plain = subprocess.run([sys.executable, str(script), *common, "-o", "one.npz"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert plain.returncode == 0, plain.stderr
    # --standalone: a free port of torchrun's choosing; a session of its own, so that a
    # timeout ends the workers too
    run = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone",
                            "--nproc-per-node", "2", str(script), *common, "-o", "two.npz"],
                           cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=env, start_new_session=True)
    try:
        out, err = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode == 0, err
    assert out.count("test accuracy") == 1          # rank 0 speaks, rank 1 ends quietly
    one, two = np.load(tmp_path / "one.npz"), np.load(tmp_path / "two.npz")
    for name in one.files:
        np.testing.assert_allclose(two[name], one[name], rtol=1e-9, atol=1e-12)


def test_nproc_needs_the_torch_backend(capsys):
    code = main(["train", "--layers", "4,3", "--nproc", "2"])
    err = capsys.readouterr().err
    assert code == 2 and "--nproc takes a positive integer and --backend torch" in err

