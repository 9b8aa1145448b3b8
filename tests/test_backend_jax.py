"""The JAX backend: kernels printed for jax.numpy under jax.jit with matcalc's own gradients
(no jax.grad), proven against the NumPy kernels and central differences, trained by the one
trainer, written as a standalone script."""
import sys

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="the jax backend needs JAX: pip install "
                                        "'matcalc-nn[jax]' (CI installs jax[cpu])")

from matcalc import derive, mlp, train  # noqa: E402
from matcalc.codegen.kernels import kernel_source  # noqa: E402
from matcalc.cli import main  # noqa: E402

from backend_check import model_id, models, prove  # noqa: E402


@pytest.mark.parametrize("model", list(models()), ids=model_id)
def test_jax_kernels_equal_numpys_and_central_differences(model):
    k = prove(model, "jax")
    assert hasattr(k.loss_and_gradients, "lower")      # a jax.jit function


def test_the_kernels_read_like_the_math_in_jax():
    src = kernel_source(derive(mlp([64, 128, 10], loss="binary-cross-entropy",
                                   hidden="softplus")), "jax")
    body = src.split("def loss_and_gradients", 1)[1].split("\n\n\n")[0]
    lines = [l.strip() for l in body.splitlines() if l.startswith("    ") and " = " in l
             and not l.startswith("        ")]
    assert lines[:5] == [
        "N = X.shape[1]",
        "Z1 = W1 @ X + b1",
        "A1 = jnp.logaddexp(0, Z1)",
        "Z2 = W2 @ A1 + b2",
        "A2 = jax.nn.sigmoid(Z2)",
    ]
    assert "jax.grad" not in src and "value_and_grad" not in src
    assert 'jax.config.update("jax_enable_x64", True)' in src


def test_jax_training_follows_the_numpy_run(tmp_path):
    model = mlp([64, 16, 10], hidden="relu", layout="rows")
    runs = {be: train(model, output=tmp_path / f"{be}.npz", epochs=2, backend=be, log=None,
                      history=False) for be in ("numpy", "jax")}
    for name, w in runs["numpy"].params.items():
        np.testing.assert_allclose(runs["jax"].params[name], w, rtol=1e-9, atol=1e-12)
    assert runs["jax"].history[-1]["test"] == runs["numpy"].history[-1]["test"] > 0.85


def test_the_jax_script_trains_alone(tmp_path):
    import subprocess
    script = tmp_path / "train_jax.py"
    assert main(["codegen", "--layers", "64,16,10", "--backend", "jax",
                 "-o", str(script)]) == 0
    run = subprocess.run([sys.executable, str(script), "--epochs", "2", "--optimizer", "adam",
                          "--lr", "0.01", "-o", str(tmp_path / "w.npz")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert float(run.stdout.split("test accuracy ")[1].split("%")[0]) > 80


def test_a_torch_device_is_refused_for_jax(capsys):
    code = main(["train", "--layers", "4,3", "--backend", "jax", "--device", "cuda"])
    err = capsys.readouterr().err
    assert code == 2 and "JAX chooses its device itself" in err
