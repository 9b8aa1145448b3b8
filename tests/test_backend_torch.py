"""The torch backend: kernels printed for tensors with matcalc's own gradients (no autograd),
proven against the NumPy kernels and central differences, trained by the one trainer, written
as a standalone script; a clear error where PyTorch is missing."""
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the torch backend needs PyTorch: pip install "
                                            "'matcalc-nn[torch]' (CI installs the CPU build)")

from matcalc import derive, mlp, train  # noqa: E402
from matcalc.codegen.backends import BackendError  # noqa: E402
from matcalc.codegen.kernels import compile, kernel_source  # noqa: E402
from matcalc.cli import main  # noqa: E402

from backend_check import model_id, models, prove  # noqa: E402


@pytest.mark.parametrize("model", list(models()), ids=model_id)
def test_torch_kernels_equal_numpys_and_central_differences(model):
    prove(model, "torch")


def test_the_kernels_read_like_the_math_in_torch():
    src = kernel_source(derive(mlp([64, 128, 10], hidden="relu")), "torch")
    body = src.split("def loss_and_gradients", 1)[1].split("\n\n\n")[0]
    lines = [l.strip() for l in body.splitlines() if l.startswith("    ") and " = " in l
             and not l.startswith("        ")]
    assert lines == [
        "N = X.shape[1]",
        "Z1 = W1 @ X + b1",
        "A1 = torch.relu(Z1)",
        "Z2 = W2 @ A1 + b2",
        "S = torch.softmax(Z2, dim=0)",
        "L = -torch.sum(Y * torch.log_softmax(Z2, dim=0))/N",
        "delta2 = S - Y",
        "delta1 = W2.T @ delta2 * (Z1 > 0)",
        "dW2 = 1/N * delta2 @ A1.T",
        "db2 = 1/N * delta2.sum(axis=1, keepdims=True)",
        "dW1 = 1/N * delta1 @ X.T",
        "db1 = 1/N * delta1.sum(axis=1, keepdims=True)",
    ]
    assert "import torch" in src and "autograd" in src and "backward(" not in src
    assert "requires_grad" not in src


def test_torch_training_follows_the_numpy_run(tmp_path):
    """Same seed, same batches: the torch run's weights are the NumPy run's (float64)."""
    model = mlp([64, 16, 10], hidden="tanh")
    runs = {be: train(model, output=tmp_path / f"{be}.npz", epochs=2, backend=be, log=None,
                      history=False, optimizer=opt)
            for be, opt in (("numpy", "adam"), ("torch", "adam"))}
    for name, w in runs["numpy"].params.items():
        np.testing.assert_allclose(runs["torch"].params[name], w, rtol=1e-9, atol=1e-12)
    assert runs["torch"].history[-1]["test"] == runs["numpy"].history[-1]["test"] > 0.85
    saved = np.load(tmp_path / "torch.npz")
    np.testing.assert_array_equal(saved["W1"], runs["torch"].params["W1"])


def test_cli_trains_with_torch_in_float32(tmp_path, capsys):
    out = tmp_path / "w.npz"
    code = main(["train", "--layers", "64,32,10", "--hidden", "relu", "--epochs", "2",
                 "--backend", "torch", "--dtype", "float32", "-o", str(out)])
    stdout = capsys.readouterr().out
    assert code == 0
    accuracy = float(stdout.split("test accuracy ")[1].split("%")[0])
    assert accuracy > 85
    assert np.load(out)["W1"].dtype == np.float32


def test_the_torch_script_trains_alone(tmp_path, capsys):
    import subprocess
    script = tmp_path / "train_torch.py"
    assert main(["codegen", "--layers", "64,16,10", "--backend", "torch",
                 "-o", str(script)]) == 0
    src = script.read_text()
    assert "import torch" in src and "torchrun" in src and "def torchrun_train" in src
    run = subprocess.run([sys.executable, str(script), "--epochs", "2", "-o",
                          str(tmp_path / "w.npz")], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert float(run.stdout.split("test accuracy ")[1].split("%")[0]) > 80


def test_a_cuda_device_without_cuda_is_bad_input(capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code = main(["train", "--layers", "4,3", "--backend", "torch", "--device", "cuda"])
    err = capsys.readouterr().err
    assert code == 2 and "PyTorch sees no CUDA device" in err


# Convolutional networks: tests/test_backend_torch_cnn.py (kernels, helpers, what is refused).


def test_compile_names_an_unknown_backend():
    with pytest.raises(BackendError, match="the backends are numpy, torch, jax"):
        compile(derive(mlp([3, 2])), backend="tensorflow")


@pytest.mark.parametrize("device, says", [
    ("cuda", "error: device 'cuda': PyTorch sees no CUDA device here"),
    ("tpu", "error: device 'tpu' is not a torch device; give cpu, cuda or cuda:N"),
])
def test_the_torch_script_checks_its_device_before_the_data(device, says, tmp_path, capsys):
    """A bad --device (or cuda without CUDA) was a traceback after the data load: now the
    script's first check, as `matcalc train` does it, with nothing written."""
    import subprocess
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    script = tmp_path / "train_torch.py"
    assert main(["codegen", "--layers", "64,10", "--backend", "torch", "-o", str(script)]) == 0
    run = subprocess.run([sys.executable, str(script), "--device", device, "-o", "w.npz"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and says in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and "training on" not in run.stderr
    assert not (tmp_path / "w.npz").exists()
