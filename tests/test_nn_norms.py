"""Residual blocks and layer norm (nn/norms.py): the printed passes, their proofs, the mean."""
import re
import shutil
import subprocess

import numpy as np
import pytest
import sympy as sp

import matcalc
from matcalc.api import verify_backprop
from matcalc.cli import main
from matcalc.codegen.kernels import compile
from matcalc.core.errors import VerificationError
from matcalc.core.expr import matrix, mean
from matcalc.nn import norms
from matcalc.nn.cnn import cnn
from matcalc.printing.latex import latex
from matcalc.printing.numpy import numpy_code
from matcalc.printing.report import backprop_report
from matcalc.printing.text import text
from matcalc.train.trainer import init_params, masks
from matcalc.verify import evaluate

from backend_check import batch, prove
from kernel_check import directional_check

NET = "dense(32), layernorm, relu, residual(dense(32), layernorm, relu), dense(10)"
TINY = "dense(3), layernorm, relu, residual(dense(3), layernorm, relu), dense(2)"


def test_the_issue_net_prints_layer_norm_and_the_skip_in_textbook_form():
    b = matcalc.derive(cnn("64", NET))
    forward, backward = str(b).replace(" := ", " = ").split("\n\n")[:2]
    assert forward.splitlines()[1:5] == [
        "mu1 = mean(Z1)",
        "sigma1 = sqrt(mean((Z1 - mu1)**2) + 1/100000)",
        "Xhat1 = (Z1 - mu1) / sigma1",
        "LN1 = Xhat1 * (gamma1 @ ones(1, N)) + beta1 @ ones(1, N)"]
    assert "R2 = A1 + A2" in forward
    lines = backward.splitlines()
    assert lines[:8] == [
        "delta3 = S - Y",
        "delta_R2 = W3.T @ delta3",
        "delta_LN2 = delta_R2 * step(LN2)",
        "delta_Xhat2 = delta_LN2 * (gamma2 @ ones(1, N))",
        # Ba, Kiros & Hinton (2016): (1/σ) ⊙ (δ_x̂ − mean(δ_x̂) − x̂ ⊙ mean(δ_x̂ ⊙ x̂))
        "delta2 = (delta_Xhat2 - mean(delta_Xhat2) - Xhat2 * mean(delta_Xhat2 * Xhat2)) / sigma2",
        # the residual's input: the skip's term and the block's
        "delta_LN1 = step(LN1) * (W2.T @ delta2 + delta_R2)",
        "delta_Xhat1 = delta_LN1 * (gamma1 @ ones(1, N))",
        "delta1 = (delta_Xhat1 - mean(delta_Xhat1) - Xhat1 * mean(delta_Xhat1 * Xhat1)) / sigma1"]
    assert "dgamma1 = 1/N*(Xhat1 * delta_LN1) @ ones(N, 1)" in lines
    assert "dbeta1 = 1/N*delta_LN1 @ ones(N, 1)" in lines
    params = {p.symbol.name: (p.kind, p.init) for p in b.network.params}
    assert params["gamma1"] == ("gain", "ones") and params["beta2"] == ("bias", "zeros")


def test_proven_numerically_at_its_sizes_and_exactly_at_tiny_ones():
    verify_backprop(matcalc.derive(cnn("64", NET)), method="numeric")
    verify_backprop(matcalc.derive(cnn("3", TINY)), method="exact")


def test_a_wrong_textbook_form_is_caught_by_the_proof(monkeypatch):
    def wrong(d, xhat, sigma):          # the x̂ ⊙ mean(δ_x̂ ⊙ x̂) term left out
        return matcalc.core.expr.divide(matcalc.core.expr.sub(d, mean(d)), sigma)
    monkeypatch.setattr(norms, "textbook_delta", wrong)
    b = matcalc.derive(cnn("3", "dense(3), layernorm, relu, dense(2)", batch="M"))
    with pytest.raises(VerificationError, match="delta1"):
        verify_backprop(b, method="numeric")


def test_layer_norm_on_a_value_used_elsewhere_is_the_textbook_form_plus_the_skip():
    # Z1 feeds the skip too (a pre-norm block): the textbook δ of the norm, plus the skip's δ
    b = matcalc.derive(cnn("3", "dense(3), residual(layernorm, dense(3)), dense(2)"))
    delta1 = next(a for a in b.backward if str(a.name) == "delta1")
    assert text(delta1.expr) == ("(delta_Xhat1 - mean(delta_Xhat1) - Xhat1 * "
                                 "mean(delta_Xhat1 * Xhat1)) / sigma1 + delta_R2")
    verify_backprop(b, method="numeric")
    verify_backprop(b, method="exact")


def test_layer_norm_after_an_activation_gets_a_delta_of_its_own():
    b = matcalc.derive(cnn("3", "dense(3), relu, layernorm, dense(2)"))
    names = [str(a.name) for a in b.backward]
    assert names[:4] == ["delta2", "delta_LN1", "delta_Xhat1", "delta_A1"]
    assert text(b.backward.assignments[3].expr) == \
        "(delta_Xhat1 - mean(delta_Xhat1) - Xhat1 * mean(delta_Xhat1 * Xhat1)) / sigma1"
    verify_backprop(b, method="exact")


def test_mean_prints_and_evaluates_along_either_axis():
    X = matrix("X", 3, 4)
    x = np.random.default_rng(0).standard_normal((3, 4))
    for axis in (0, 1):
        got = evaluate(mean(X, axis), {X: x})
        assert np.allclose(got, np.broadcast_to(x.mean(axis=axis, keepdims=True), x.shape))
    assert evaluate(mean(X, 1), {X: sp.Matrix(3, 4, range(12))}, exact=True) == \
        sp.Matrix(3, 4, lambda i, j: sp.Rational(3, 2) + 4 * i)
    assert text(mean(X)) == "mean(X)" and text(mean(X, 1)) == "mean(X, axis=1)"
    assert latex(mean(X)) == r"\operatorname{mean}\left(X\right)"
    assert numpy_code(mean(X)) == "np.broadcast_to(X.mean(axis=0, keepdims=True), (3, 4))"
    assert mean(3 * X) == 3 * mean(X)


def test_the_net_reads_back_as_written():
    m = cnn("64", NET)
    assert [str(l) for l in m.layers] == ["dense(32)", "layernorm", "relu",
                                          "residual(dense(32), layernorm, relu)", "dense(10)"]
    assert m.dims()[0] == []            # a skip adds two widths: the sizes are numbers


def test_the_kernels_pass_central_differences_and_gamma_starts_at_one():
    k = compile(matcalc.derive(cnn("6", TINY.replace("(3)", "(4)"))))
    rng = np.random.default_rng(5)
    X, Y, params, extra = batch(k, rng)
    directional_check(k, X, Y, params, extra, rng)
    assert [p["init"] for p in k.PARAMS if p["name"].startswith(("gamma", "beta"))] == \
        ["ones", "zeros", "ones", "zeros"]
    start = init_params(k, np.random.default_rng(0))
    gamma = [v for p, v in zip(k.PARAMS, start) if p["name"] == "gamma1"][0]
    assert (gamma == 1).all()
    assert ".mean(axis=0, keepdims=True)" in k.source and "ones((" not in k.source


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_torch_and_jax_kernels_equal_numpys(backend):
    pytest.importorskip(backend)
    prove(cnn("6", TINY.replace("(3)", "(4)")), backend)


def test_the_issue_command_trains_past_97_percent_with_its_defaults(tmp_path, capsys):
    assert main(["train", "--input", "64", "--net", NET, "-o", str(tmp_path / "w.npz")]) == 0
    out = capsys.readouterr().out
    last = [line for line in out.splitlines() if line.startswith("test accuracy")][-1]
    assert float(last.split()[2].rstrip("%")) >= 97.0, last
    saved = np.load(tmp_path / "w.npz")
    assert {"gamma1", "beta1", "gamma2", "beta2"} <= set(saved.files)


def test_the_report_defines_mean_and_compiles_without_overfull_lines(tmp_path):
    b = matcalc.derive(cnn("64", NET))
    tex = backprop_report(b, title="layer norm")
    assert r"\operatorname{mean}(A)$ repeats the mean of each column" in tex
    assert (r"\delta_{1} &= \matcalcfit{\sigma_{1}^{\circ -1} \odot \left(\delta_{\hat{X}_{1}} "
            r"- \operatorname{mean}\left(\delta_{\hat{X}_{1}}\right) - \hat{X}_{1} \odot "
            r"\operatorname{mean}\left(\delta_{\hat{X}_{1}} \odot \hat{X}_{1}\right)\right)}"
            ) in tex
    if not shutil.which("pdflatex"):
        pytest.skip("pdflatex not installed")
    (tmp_path / "r.tex").write_text(tex)
    run = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", "r.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    log = (tmp_path / "r.log").read_text(errors="replace")
    wide = [float(x) for x in re.findall(r"Overfull \\hbox \((\d+\.?\d*)pt too wide", log)]
    assert all(w <= 10 for w in wide), wide


BN = "dense(32), batchnorm, relu, dense(10)"


def test_batch_norm_prints_ioffe_and_szegedys_section_3_line_by_line():
    b = matcalc.derive(cnn("64", BN))
    forward, backward = str(b).replace(" := ", " = ").split("\n\n")[:2]
    assert forward.splitlines()[1:5] == [
        "mu1 = mean(Z1, axis=1)",                       # over the batch: along the samples
        "var1 = mean((Z1 - mu1)**2, axis=1)",
        "Xhat1 = (Z1 - mu1) * 1/sqrt(var1 + 1/100000)",
        "BN1 = Xhat1 * (gamma1 @ ones(1, N)) + beta1 @ ones(1, N)"]
    # ∂ℓ/∂x̂, ∂ℓ/∂σ² (its −1/2 is the δ's coefficient), ∂ℓ/∂μ, ∂ℓ/∂x; Σ_i/m is mean(·, axis=1)
    assert backward.splitlines()[2:6] == [
        "delta_Xhat1 = delta_BN1 * (gamma1 @ ones(1, N))",
        "delta_var1 = delta_Xhat1 * (Z1 - mu1) * (var1 + 1/100000)**(-3/2)",
        "delta_mu1 = mean(delta_var1, axis=1) * (Z1 - mu1) - delta_Xhat1 * 1/sqrt(var1 + 1/100000)",
        "delta1 = delta_Xhat1 * 1/sqrt(var1 + 1/100000) + mean(delta_mu1, axis=1) "
        "- mean(delta_var1, axis=1) * (Z1 - mu1)"]
    c = {str(d): v for d, v in b.coefficients.items()}
    assert str(c["delta_var1"]) == "-1/(2*N)" and str(c["delta_mu1"]) == "1/N"
    verify_backprop(b, method="numeric")
    verify_backprop(matcalc.derive(cnn("2", "dense(2), batchnorm, dense(2)")),
                    method="exact")


def test_batch_norm_kernels_pass_central_differences_on_every_backend():
    k = compile(matcalc.derive(cnn("6", "dense(4), batchnorm, relu, dense(3)")))
    rng = np.random.default_rng(6)
    X, Y, params, extra = batch(k, rng)
    directional_check(k, X, Y, params, extra, rng)
    for backend in ("torch", "jax"):
        prove(cnn("6", "dense(4), batchnorm, relu, dense(3)"), backend)


def test_batch_norm_trains(tmp_path, capsys):
    assert main(["train", "--input", "64", "--net", BN, "-o", str(tmp_path / "w.npz")]) == 0
    last = capsys.readouterr().out.splitlines()
    acc = [line for line in last if line.startswith("test accuracy")][-1]
    assert float(acc.split()[2].rstrip("%")) >= 95.0, acc


def test_batch_norm_predicts_with_the_running_statistics_the_trainer_keeps(tmp_path):
    k = compile(matcalc.derive(cnn("6", "dense(4), batchnorm, relu, dense(3)")))
    assert [p["name"] for p in k.PARAMS if p["kind"] == "running"] == \
        ["running_mu1", "running_var1"]
    rng = np.random.default_rng(7)
    X = rng.standard_normal((6, 9))
    params = init_params(k, rng)
    W1, b1 = params[0], params[1]
    Z1 = W1 @ X + b1
    mu, var = k.statistics(X, *params)          # training mode: this batch's
    assert np.allclose(mu, Z1.mean(axis=1, keepdims=True))
    assert np.allclose(var, Z1.var(axis=1, keepdims=True))
    # evaluation: the running values (here their start, 0 and 1), one sample as a batch
    ones = k.predict(X[:, :1], *params)
    assert np.allclose(ones, k.predict(X, *params)[:, :1])
    _, grads = k.loss_and_gradients(X, np.eye(3)[:, rng.integers(0, 3, 9)], *params)
    assert len(grads) == len(params) - 2        # the running values are not trained


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
def test_batch_norm_trains_keeping_running_statistics_on_every_backend(backend, tmp_path):
    if backend != "numpy":
        pytest.importorskip(backend)
    r = matcalc.train(cnn("64", BN), output=tmp_path / "w.npz", epochs=3, log=None,
                      backend=backend, optimizer="adam" if backend == "jax" else "sgd",
                      lr=0.01 if backend == "jax" else 0.1)
    saved = np.load(tmp_path / "w.npz")
    assert {"running_mu1", "running_var1"} <= set(saved.files)
    assert not np.allclose(saved["running_var1"], 1) and not np.allclose(saved["running_mu1"], 0)
    assert r.history[-1]["test"] > 0.9, r.history


DROP = "dense(64), relu, dropout(0.5), dense(10)"


class Masked:
    """Kernels whose loss_and_gradients always takes the masks given (for the checks)."""
    def __init__(self, k, ms):
        self.k, self.ms = k, ms

    def __getattr__(self, name):
        return getattr(self.k, name)

    def loss_and_gradients(self, *args):
        return self.k.loss_and_gradients(*args, masks=tuple(m.astype(args[0].dtype)
                                                             for m in self.ms))


def test_dropout_prints_its_mask_as_an_input_and_is_proven():
    b = matcalc.derive(cnn("64", DROP))
    lines = str(b).replace(" := ", " = ").splitlines()
    assert "D1 = A1 * M1" in lines and "delta1 = M1 * (W2.T @ delta2) * step(Z1)" in lines
    verify_backprop(b, method="numeric")
    verify_backprop(matcalc.derive(cnn("3", "dense(3), relu, dropout(0.25), dense(2)")),
                    method="exact")


def test_dropout_kernels_with_a_mask_pass_central_differences_and_without_are_no_dropout():
    net = "dense(5), relu, dropout(0.5), dense(3)"
    k, plain = (compile(matcalc.derive(cnn("4", n))) for n in (net, net.replace(
        " dropout(0.5),", "")))
    assert k.DROPOUT == ({"name": "M1", "rows": 5, "p": 0.5},)
    rng = np.random.default_rng(8)
    X, Y, params, extra = batch(k, rng)
    mask = masks(k, X.shape[1], rng, np.asarray, np.float64)["masks"]
    assert set(np.unique(mask[0])) <= {0.0, 2.0}
    directional_check(Masked(k, mask), X, Y, params, extra, rng)
    L0, g0 = k.loss_and_gradients(X, Y, *params)           # no masks: no dropout
    L1, g1 = plain.loss_and_gradients(X, Y, *params)
    assert np.allclose(L0, L1) and all(np.allclose(a, c) for a, c in zip(g0, g1))
    assert np.allclose(k.predict(X, *params), plain.predict(X, *params))
    Lm, _ = k.loss_and_gradients(X, Y, *params, masks=mask)
    assert not np.isclose(Lm, L0)
    many = masks(k, 20000, np.random.default_rng(0), np.asarray, np.float64)["masks"][0]
    assert abs((many == 0).mean() - 0.5) < 0.01 and abs(many.mean() - 1) < 0.02


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_dropout_kernels_on_torch_and_jax_equal_numpys_with_the_same_mask(backend):
    pytest.importorskip(backend)
    model = cnn("4", "dense(5), relu, dropout(0.5), dense(3)")
    prove(model, backend)                                   # without masks
    b = matcalc.derive(model)
    ref, k = compile(b), compile(b, backend=backend)
    rng = np.random.default_rng(9)
    X, Y, params, _ = batch(ref, rng)
    mask = masks(ref, X.shape[1], rng, np.asarray, np.float64)["masks"]
    L0, g0 = ref.loss_and_gradients(X, Y, *params, masks=mask)
    L1, g1 = k.loss_and_gradients(k.asarray(X), k.asarray(Y), *map(k.asarray, params),
                                  masks=tuple(map(k.asarray, mask)))
    assert np.allclose(k.to_numpy(L1), L0)
    assert all(np.allclose(k.to_numpy(a), c) for a, c in zip(g1, g0))


def test_dropout_trains(tmp_path, capsys):
    assert main(["train", "--input", "64", "--net", DROP, "-o", str(tmp_path / "w.npz")]) == 0
    acc = [line for line in capsys.readouterr().out.splitlines()
           if line.startswith("test accuracy")][-1]
    assert float(acc.split()[2].rstrip("%")) >= 95.0, acc


def test_batch_norm_and_dropout_train_with_two_processes(tmp_path, capsys):
    pytest.importorskip("torch")
    net = "dense(32), batchnorm, relu, dropout(0.25), dense(10)"
    assert main(["train", "--input", "64", "--net", net, "--backend", "torch", "--nproc", "2",
                 "--epochs", "3", "-o", str(tmp_path / "w.npz")]) == 0
    acc = [line for line in capsys.readouterr().out.splitlines()
           if line.startswith("test accuracy")][-1]
    assert float(acc.split()[2].rstrip("%")) >= 85.0, acc
    saved = np.load(tmp_path / "w.npz")
    assert not np.allclose(saved["running_var1"], 1)


def test_a_skip_is_proven_at_small_sizes_after_a_convolution_too():
    m = cnn("64", NET)
    small = m.reduced()                 # the same layers, widths capped alike (3)
    assert small.input == (3,) and [str(l) for l in small.layers] == [
        "dense(3)", "layernorm", "relu", "residual(dense(3), layernorm, relu)", "dense(3)"]
    verify_backprop(matcalc.derive(m), method="exact")      # at those sizes
    b = matcalc.derive(cnn("1x8x8", "conv(2, 3), relu, dense(16), residual(dense(16), "
                                    "layernorm, relu), dense(10)"))
    assert "R3 = A3 + Z2" in str(b).replace(" := ", " = ")
    verify_backprop(b, method="numeric")


def test_a_skip_whose_width_the_small_sizes_would_change_is_proven_at_its_own():
    m = cnn("1x8x8", "conv(2, 3), relu, flatten, residual(dense(72), relu), dense(10)")
    assert m.reduced() == m             # 72 = 2×6×6: capping would break the skip
    verify_backprop(matcalc.derive(m), method="numeric")
