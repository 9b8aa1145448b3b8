"""Self-attention and the transformer block (nn/attention.py): the printed lines, the proof,
the kernels, training."""
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

import matcalc
from matcalc.api import verify_backprop
from matcalc.codegen.kernels import compile
from matcalc.core.errors import MatcalcError, VerificationError
from matcalc.nn import attention
from matcalc.nn.model import model
from matcalc.nn.syntax import parse_net
from matcalc.printing.text import text

from backend_check import batch, prove
from kernel_check import directional_check

SMALL = "dense(4), attention(heads=2), mean, dense(3)"
BLOCK = "dense(16), position, transformer(heads=2, ff=32), mean, dense(10)"


def lines(b):
    return {str(a.name): text(a.expr) for a in list(b.forward) + list(b.backward)}


def test_attention_prints_the_textbook_lines_and_is_proven():
    b = matcalc.derive(model((4, 6), parse_net(SMALL)))
    got = lines(b)
    assert got["A0"] == "unvec(vec(X), 6)"
    assert got["Q2_1"] == "Z1.T @ WQ2_1"
    assert got["S2_1"] == "sqrt(2)/2*Q2_1 @ K2_1.T"
    assert got["P2_1"] == "softmax(Mask2 + S2_1, axis=1)"
    assert got["O2_1"] == "P2_1 @ V2_1"
    assert got["Att2"] == "(O2_1 @ WO2_1 + O2_2 @ WO2_2).T"
    # the softmax Jacobian in its textbook form, and δ_Q = δ_S K, δ_K = δ_Sᵀ Q (the 1/√d_k
    # stays outside the δ's, in their coefficients, as every scalar does in matcalc)
    assert got["delta_S2_1"] == \
        "P2_1 * (delta_P2_1 - (P2_1 * delta_P2_1) @ ones(4*N, 4*N))"
    assert got["delta_Q2_1"] == "delta_S2_1 @ K2_1"
    assert got["delta_K2_1"] == "delta_S2_1.T @ Q2_1"
    assert got["delta_V2_1"] == "P2_1.T @ delta_O2_1"
    assert got["delta_P2_1"] == "delta_O2_1 @ V2_1.T"
    verify_backprop(b, method="numeric")


CAUSAL = "dense(4), attention(heads=2, causal=1), mean, dense(3)"


def test_causal_attention_masks_the_later_steps_and_is_proven():
    b = matcalc.derive(model((3, 4), parse_net(CAUSAL)))
    mask = next(a.expr for a in b.forward if str(a.name) == "Mask2")
    assert mask.subs(sp.Symbol("N", integer=True, positive=True), 1).as_explicit().tolist() \
        == [[0, -10 ** 9, -10 ** 9], [0, 0, -10 ** 9], [0, 0, 0]]
    verify_backprop(b, method="numeric")
    k = compile(b)
    rng = np.random.default_rng(1)
    X, Y, params, extra = batch(k, rng)
    directional_check(k, X, Y, params, extra, rng)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_causal_kernels_on_torch_and_jax_equal_numpys(backend):
    pytest.importorskip(backend)
    prove(model((3, 4), parse_net(CAUSAL)), backend)


def test_a_wrong_softmax_jacobian_is_caught(monkeypatch):
    real = attention.hadamard

    def drop_rowsum(p, inner):            # δ_S = P ⊙ δ_P: the rowsum term left out
        return real(p, inner.args[0] if inner.is_MatAdd else inner)
    monkeypatch.setattr(attention, "hadamard", lambda *a: real(*a) if len(a) != 2 or
                        not getattr(a[1], "is_MatAdd", False) else drop_rowsum(*a))
    b = matcalc.derive(model((3, 4), parse_net("dense(2), attention(heads=1), mean, dense(2)")))
    with pytest.raises(VerificationError, match="delta_S"):
        verify_backprop(b, method="numeric")


def test_heads_must_split_the_features():
    with pytest.raises(MatcalcError, match="layer 2, attention\\(heads=3\\): 16 features do "
                                           "not split into 3 heads"):
        model((8, 8), parse_net("dense(16), attention(heads=3), mean, dense(10)"))


TINY = "dense(4), position, transformer(heads=2, ff=4), mean, dense(3)"


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "matcalc", *args], capture_output=True,
                          text=True, timeout=1500, cwd=cwd)


def test_the_transformer_is_the_composition_of_the_records():
    b = matcalc.derive(model((3, 4), parse_net(TINY)))
    got = lines(b)
    # pre-norm: R := H + attention(layernorm(H)), then R + dense(relu(dense(layernorm(R))))
    assert got["A1"] == "E1 @ kron(ones(1, N), eye(3)) + Z1"
    assert got["LN2"] == "Xhat2 * (gamma2 @ ones(1, 3*N)) + beta2 @ ones(1, 3*N)"
    assert got["Q3_1"] == "LN2.T @ WQ3_1"
    assert got["R3"] == "A1 + Att3"
    assert got["LN4"] == "Xhat4 * (gamma4 @ ones(1, 3*N)) + beta4 @ ones(1, 3*N)"
    assert got["Z5"] == "W5 @ LN4 + b5 @ ones(1, 3*N)"
    assert got["A5"] == "relu(Z5)"
    assert got["R6"] == "R3 + Z6"
    assert got["A6"] == "1/3*R6 @ kron(eye(N), ones(3, 1))"
    # the skips' terms in the δ's of the blocks' inputs, the layer norm's, the softmax's
    assert "delta_R6" in got["delta_R3"] and "delta_Xhat4" in got["delta_R3"]
    assert "delta_R3" in got["delta_A1"] and "delta_Xhat2" in got["delta_A1"]
    assert got["delta_S3_1"] == \
        "P3_1 * (delta_P3_1 - (P3_1 * delta_P3_1) @ ones(3*N, 3*N))"
    assert got["dE1"] == "delta_A1 @ kron(ones(N, 1), eye(3))"
    verify_backprop(b, method="numeric")


def test_the_transformer_kernels_pass_central_differences():
    k = compile(matcalc.derive(model((3, 4), parse_net(TINY))))
    rng = np.random.default_rng(5)
    X, Y, params, extra = batch(k, rng)
    directional_check(k, X, Y, params, extra, rng)      # float64 and float32
    assert "np.kron(np.eye(N), np.full((3, 3), 1, dtype=float)).astype(X.dtype)" in k.source


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_torch_and_jax_kernels_equal_numpys(backend):
    pytest.importorskip(backend)
    prove(model((3, 4), parse_net(TINY)), backend)


def test_the_issue_derive_command_is_proven():
    r = _cli("derive", "--input", "8x8", "--net", BLOCK)
    assert r.returncode == 0, r.stderr
    assert "verified: every gradient, by central differences" in r.stderr + r.stdout
    assert "delta_S3_1 = P3_1 * (delta_P3_1 - (P3_1 * delta_P3_1) @ ones(8*N, 8*N))" \
        in r.stdout


def test_the_report_compiles_without_overfull_boxes(tmp_path):
    r = _cli("report", "--input", "8x8", "--net", BLOCK, "-o", str(tmp_path / "t.tex"))
    assert r.returncode == 0, r.stderr
    tex = (tmp_path / "t.tex").read_text()
    assert r"\operatorname{softmax}_{\mathrm{row}}\left(Mask_{3} + S_{3 1}\right)" in tex
    if not shutil.which("pdflatex"):
        pytest.skip("pdflatex not installed")
    run = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", "t.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:]
    log = (tmp_path / "t.log").read_text()
    boxes = [float(m) for m in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide", log)]
    assert all(b <= 10 for b in boxes), boxes


def test_the_generated_script_runs_with_numpy_alone(tmp_path):
    r = _cli("codegen", "--input", "8x8", "--net", BLOCK, "-o", str(tmp_path / "t.py"))
    assert r.returncode == 0, r.stderr
    source = (tmp_path / "t.py").read_text()
    assert "import torch" not in source and "import jax" not in source
    run = subprocess.run([sys.executable, "t.py", "--epochs", "1"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    assert "test accuracy" in run.stdout


@pytest.mark.slow
def test_trains_to_95_percent_with_the_plain_command(tmp_path):
    r = _cli("train", "--input", "8x8", "--net", BLOCK, "-o", str(tmp_path / "w.npz"))
    assert r.returncode == 0, r.stderr
    acc = float(r.stdout.split("test accuracy ")[1].split("%")[0])
    assert acc >= 95, r.stdout


@pytest.mark.parametrize("net, batch_", [
    ("attention(heads=1), mean, dense(2)", "N"),
    ("dense(2), attention(heads=2, causal=1), mean, dense(2)", 1),
    ("dense(2), position, transformer(heads=1, ff=2), mean, dense(2)", 1)])
def test_exact_proof_at_tiny_sizes(net, batch_):
    verify_backprop(matcalc.derive(model((2, 2), parse_net(net), batch=batch_)),
                    method="exact")
