"""Sequence networks (nn/sequences.py): --input TxF, rnn(H), last, mean, dense per step.

The printed backward pass is a recurrence over t (never T unrolled copies); its proof unrolls
it at T = 3 and derives the unrolled program with the engine (codegen/unroll.py); the kernels
loop over t and pass central differences; torch and JAX kernels agree with NumPy's."""
import subprocess
import sys
import types

import numpy as np
import pytest
import sympy as sp

import matcalc
from matcalc.codegen import unroll
from matcalc.codegen.kernels import compile as compile_kernels
from matcalc.core.errors import VerificationError
from matcalc.core.expr import elementwise, hadamard
from matcalc.core.functions import T
from matcalc.core.program import Assignment, Program
from matcalc.nn import backprop
from matcalc.nn.cnn import cnn

from kernel_check import directional_check

RNN = "rnn(32), last, dense(10)"

DERIVED = """\
H1[0] = zeros(32, N)
for t = 1, …, T:   (T = 8)
    Z1[t] = U1 @ H1[t-1] + W1 @ X[t] + b1 @ ones(1, N)
    H1[t] = tanh(Z1[t])
A1 = H1[T]
Z2 = W2 @ A1 + b2 @ ones(1, N)
S = softmax(Z2)
L = -sum(Y * log(S))/N

delta2 = S - Y
delta_H1[T] = W2.T @ delta2
delta1[T+1] = zeros(32, N)
for t = T, …, 1:   (delta_H1[t] = 0 for t < T)
    delta1[t] = (U1.T @ delta1[t+1] + delta_H1[t]) * (1 - H1[t]**2)
dW2 = 1/N*delta2 @ A1.T
db2 = 1/N*delta2 @ ones(N, 1)
dW1 = 1/N*Σ_t(delta1[t] @ X[t].T)
dU1 = 1/N*Σ_t(delta1[t] @ H1[t-1].T)
db1 = 1/N*Σ_t(delta1[t] @ ones(N, 1))
"""


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "matcalc", *args], capture_output=True,
                          text=True, timeout=600)


def test_derive_prints_the_recurrence_and_proves_it():
    r = _cli("derive", "--input", "8x8", "--net", RNN)
    assert r.returncode == 0, r.stderr
    assert r.stdout == DERIVED
    assert len(r.stdout.splitlines()) <= 40
    assert "verified: every gradient" in r.stderr


def test_the_input_is_T_steps_of_F_features():
    m = cnn("8x8", RNN)
    net = m.network()
    x = {s for a in net.forward for s in a.expr.atoms(sp.MatrixSymbol) if s.name == "X[t]"}
    assert [s.shape[0] for s in x] == [8]         # a step: 8 features, a row of the digit
    assert m.n_inputs == 64 and net.X.shape[0] == 64
    wide = cnn("4x2", "rnn(3), last, dense(2)")
    assert {s.shape[0] for a in wide.network().forward for s in a.expr.atoms(sp.MatrixSymbol)
            if s.name == "X[t]"} == {2}
    assert "X_ = {t: X[(t - 1) * 2:t * 2] for t in range(1, T + 1)}" in \
        compile_kernels(matcalc.derive(wide)).source


def test_mean_and_dense_per_step():
    b = matcalc.derive(cnn("8x8", "dense(16), relu, rnn(32), mean, dense(10)"))
    assert str(b.forward.assignments[5]) == "A2 := 1/8*Σ_t(H2[t])"
    text = "\n".join(str(a) for a in b.backward)
    assert "delta_H2 := 1/8*W3.T @ delta3" in text
    assert "delta2[t] := (U2.T @ delta2[t+1] + delta_H2) * (1 - H2[t]**2)" in text
    assert "delta1[t] := (W2.T @ delta2[t]) * step(Z1[t])" in text
    assert "dU2 := 1/N*Σ_t(delta2[t] @ H2[t-1].T)" in text
    matcalc.verify_backprop(b)


def test_the_unrolled_program_is_the_engines_derivation():
    """At T = 3 the unrolled program is derived as an ordinary network: δ1_3 from the loss,
    δ1_2 and δ1_1 through U1ᵀ, dU1 a sum of two terms (h_0 = 0)."""
    bs = backprop.derive(unroll.small(cnn("8x8", RNN)))
    bu = backprop.derive(types.SimpleNamespace(network=lambda: unroll.unrolled(bs)))
    back = [str(a) for a in bu.backward]
    assert back[1] == "delta1_3 := (W2.T @ delta2) * (1 - A1**2)"
    assert back[2] == "delta1_2 := (U1.T @ delta1_3) * (1 - H1_2**2)"
    assert back[3] == "delta1_1 := (U1.T @ delta1_2) * (1 - H1_1**2)"
    assert "dU1 := 1/N*(delta1_2 @ H1_1.T + delta1_3 @ H1_2.T)" in back
    assert len(bu.forward) == 3 * 2 + 4


def test_a_wrong_recurrence_is_caught(monkeypatch):
    """A recurrence whose δ line drops the recurrent term U1ᵀ δ1[t+1] is named by the proof,
    at the first step where the term is not zero."""
    real = backprop.derive

    def wrong(model):
        b = real(model)
        if getattr(b, "loops", None):
            sym = {x.name: x for a in b.backward for x in a.expr.atoms(sp.MatrixSymbol)}
            bad = hadamard(sym["delta_H1[t]"], elementwise(1 - T ** 2, sym["H1[t]"]))
            b.backward = Program(tuple(Assignment(a.name, bad) if str(a.name) == "delta1[t]"
                                       else a for a in b.backward))
        return b
    monkeypatch.setattr(backprop, "derive", wrong)
    with pytest.raises(VerificationError, match=r"delta1\[t\].*unrolled at T = 3, at t = 2"):
        unroll.prove(matcalc.derive(cnn("8x8", RNN)))


@pytest.mark.parametrize("net", ["rnn(4), last, dense(3)",
                                 "dense(4), tanh, rnn(3), mean, dense(3)",
                                 "rnn(3), dense(4), relu, last, dense(3)"])
def test_kernels_against_central_differences(net):
    b = matcalc.derive(cnn("5x3", net))
    k = compile_kernels(b)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((15, 6))
    Y = np.eye(3)[:, rng.integers(0, 3, 6)]
    params = [0.5 * rng.standard_normal(p["shape"]) for p in k.PARAMS]
    directional_check(k, X, Y, params, (), rng)
    assert "for t in range(T, 0, -1):" in k.source and "for t in range(1, T + 1):" in k.source
    assert k.predict(X, *params).shape == (3, 6)


@pytest.mark.parametrize("library", ["torch", "jax"])
def test_other_backends_agree_with_numpy(library):
    pytest.importorskip(library)
    b = matcalc.derive(cnn("4x3", "rnn(5), last, dense(3)"))
    k = compile_kernels(b, backend=library)         # compared with NumPy's when compiled
    assert "for t in range(T, 0, -1):" in k.source


def test_trains_to_95_percent_with_the_plain_command(tmp_path):
    r = _cli("train", "--input", "8x8", "--net", "rnn(64), last, dense(10)",
             "-o", str(tmp_path / "w.npz"))
    assert r.returncode == 0, r.stderr
    acc = float(r.stdout.split("test accuracy ")[1].split("%")[0])
    assert acc >= 95, r.stdout


def test_latex_writes_each_step_as_a_subscript():
    r = _cli("derive", "--input", "8x8", "--net", RNN, "--format", "latex", "--verify", "none")
    assert r.returncode == 0, r.stderr
    assert (r"\delta_{1,t} &= \left(U_{1}^{\top} \delta_{1,t + 1} + \delta_{H1,t}\right) "
            r"\odot \left(1 - H_{1,t}^{\circ 2}\right)") in r.stdout
    assert (r"\frac{\partial L}{\partial U_{1}} &= \frac{1}{N} \sum_{t=1}^{T} "
            r"\left(\delta_{1,t} H_{1,t - 1}^{\top}\right)") in r.stdout


def test_the_report_derives_one_step_by_the_trace_trick(tmp_path):
    """The report's derivation shows the adjoint of H1[t] with both terms (the next step's
    and the layer above's), and compiles where pdflatex is installed."""
    import shutil
    out = tmp_path / "r.tex"
    r = _cli("report", "--input", "8x8", "--net", RNN, "-o", str(out),
             *([] if shutil.which("pdflatex") else ["--no-pdf"]))
    assert r.returncode == 0, r.stderr
    tex = out.read_text()
    assert r"\subsection*{$H_{1,t}$}" in tex and r"\subsection*{$Z_{1,t}$}" in tex
    assert (r"\overline{H_{1,t}} &= \frac{1}{N} U_{1}^{\top} \delta_{1,t + 1} + \frac{1}{N} "
            r"\delta_{H1,t}") in tex
    assert "Z_{1,t + 1}" not in tex           # the window's next step is scaffolding


@pytest.mark.parametrize("net, options", [
    ("rnn(4), last, dense(3)", {"l2": 0.01}),
    ("rnn(4), mean, dense(1)", {"l2": True, "loss": "binary-cross-entropy"}),
    ("rnn(4), last, dense(1)", {"loss": "binary-cross-entropy", "reduction": "sum"}),
    ("rnn(4), last, dense(3)", {"loss": "hinge", "bias": False}),
    ("rnn(4), last, dense(3)", {"loss": "squared-error"}),
])
def test_every_loss_and_option_is_proven(net, options):
    """The tail is any network's (losses, L2, sum, no bias); a weight of the loop gets its
    L2 term beside the sum over the steps (dW1 = 1/N Σ_t δ1[t] X[t]ᵀ + λ W1)."""
    b = matcalc.derive(cnn("4x3", net, **options))
    matcalc.verify_backprop(b)
    if options.get("l2"):
        assert any(str(a).startswith("dU1 := ") and str(a).endswith(" + lam*U1")
                   for a in b.backward)
    k = compile_kernels(b)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((12, 5))
    Y = (np.eye(3)[:, rng.integers(0, 3, 5)] if k.OUTPUTS == 3 else
         rng.integers(0, 2, (1, 5)).astype(float))
    params = [0.5 * rng.standard_normal(p["shape"]) for p in k.PARAMS]
    directional_check(k, X, Y, params, (0.1,) if k.L2 else (), rng)


def test_the_readme_shows_what_derive_prints():
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert f'$ matcalc derive --input 8x8 --net "{RNN}"\n{DERIVED}' in readme


def test_position_is_a_learned_embedding_per_step():
    """position adds E1[t] (column t of E1, F × T) to step t; its gradient is a line of the
    backward loop, dE1[t] = 1/N δ_A1[t] 1 (a column per step), proven like the rest."""
    b = matcalc.derive(cnn("8x8", "dense(16), position, rnn(32), last, dense(10)"))
    fwd, back = [str(a) for a in b.forward], [str(a) for a in b.backward]
    assert "A1[t] := E1[t] @ ones(1, N) + Z1[t]" in fwd
    assert "dE1[t] := 1/N*delta_A1[t] @ ones(N, 1)" in back
    assert "dE1[t]" in [str(n) for n in b.loops[1].names]
    spec = {p["name"]: p for p in compile_kernels(b).PARAMS}["E1"]
    assert (spec["shape"], spec["init"], spec["kind"]) == ((16, 8), "zeros", "bias")
    matcalc.verify_backprop(b)


@pytest.mark.parametrize("net", ["position, rnn(3), mean, dense(3)",
                                 "dense(4), position, tanh, rnn(3), last, dense(3)"])
def test_position_kernels_against_central_differences(net):
    b = matcalc.derive(cnn("5x3", net))
    k = compile_kernels(b)
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((15, 6)), np.eye(3)[:, rng.integers(0, 3, 6)]
    params = [0.5 * rng.standard_normal(p["shape"]) for p in k.PARAMS]
    directional_check(k, X, Y, params, (), rng)
    for library in ("torch", "jax"):
        if __import__("importlib").util.find_spec(library):
            compile_kernels(b, backend=library)     # compared with NumPy's when compiled


def test_position_on_the_tokens_of_attention():
    """With attention the sequence is one token matrix d × (N·T) (nn/attention.py): position
    adds E kron(1_Nᵀ, I_T), column n·T + t getting E's column t; proven like the rest."""
    b = matcalc.derive(cnn("3x2", "dense(4), position, attention(heads=2), mean, dense(3)"))
    assert "A1 := E1 @ kron(ones(1, N), eye(3)) + Z1" in [str(a) for a in b.forward]
    assert "dE1 := delta_A1 @ kron(ones(N, 1), eye(3))" in [str(a) for a in b.backward]
    matcalc.verify_backprop(b)
    k = compile_kernels(b)
    rng = np.random.default_rng(7)
    X, Y = rng.standard_normal((6, 4)), np.eye(3)[:, rng.integers(0, 3, 4)]
    params = [0.5 * rng.standard_normal(p["shape"]) for p in k.PARAMS]
    _, grads = k.loss_and_gradients(X, Y, *params)     # float64: attention's own kernels
    V = [rng.standard_normal(p.shape) for p in params]  # keep float64 constants (part C)
    h = 1e-6
    up = k.loss_and_gradients(X, Y, *[p + h * v for p, v in zip(params, V)])[0]
    down = k.loss_and_gradients(X, Y, *[p - h * v for p, v in zip(params, V)])[0]
    claimed = sum(float((g * v).sum()) for g, v in zip(grads, V))
    assert abs(claimed - (up - down) / (2 * h)) < 1e-6 * max(1.0, abs(claimed))


def test_gru_is_derived_through_every_gate():
    """gru(H): the window of one step and the next step's lines that read H[t-1] (three
    gates and the state itself) gives δ_h[t] all five paths; proven (the unrolled program
    keeps H1_0 a variable: a reset gate that reads only the zero state has a δ of 0)."""
    b = matcalc.derive(cnn("8x8", "gru(16), last, dense(10)"))
    back = [str(a) for a in b.backward]
    assert ("delta_h1[t] := Gr1[t+1] * (Un1.T @ delta_n1[t+1]) + Gz1[t+1] * delta_h1[t+1] "
            "+ Ur1.T @ delta_r1[t+1] + Uz1.T @ delta_z1[t+1] + delta_H1[t]") in back
    assert "delta_n1[t] := delta_h1[t] * (1 - Gz1[t]) * (1 - Gn1[t]**2)" in back
    assert "dUn1 := 1/N*Σ_t(delta_n1[t] @ (Gr1[t].T * H1[t-1].T))" in back
    matcalc.verify_backprop(b)


@pytest.mark.parametrize("net", ["gru(3), last, dense(3)", "dense(4), position, gru(3), mean, "
                                 "dense(3)"])
def test_gru_kernels_against_central_differences(net):
    b = matcalc.derive(cnn("5x3", net))
    k = compile_kernels(b)
    rng = np.random.default_rng(9)
    X, Y = rng.standard_normal((15, 6)), np.eye(3)[:, rng.integers(0, 3, 6)]
    params = [0.5 * rng.standard_normal(p["shape"]) for p in k.PARAMS]
    directional_check(k, X, Y, params, (), rng)
    for library in ("torch", "jax"):
        if __import__("importlib").util.find_spec(library):
            compile_kernels(b, backend=library)     # compared with NumPy's when compiled


def test_lstm_has_the_cell_state_recurrence():
    """lstm(H): two states; δ_c[t] gets the next step's Gf[t+1] ⊙ δ_c[t+1] besides its own
    path through H[t]; the textbook's δ_h is named once."""
    b = matcalc.derive(cnn("8x8", "lstm(16), last, dense(10)"))
    back = [str(a) for a in b.backward]
    assert ("delta_h1[t] := Uf1.T @ delta_f1[t+1] + Ug1.T @ delta_g1[t+1] + Ui1.T @ "
            "delta_i1[t+1] + Uo1.T @ delta_o1[t+1] + delta_H1[t]") in back
    assert ("delta_c1[t] := Go1[t] * delta_h1[t] * (1 - Tc1[t]**2) + Gf1[t+1] * "
            "delta_c1[t+1]") in back
    assert "delta_f1[t] := C1[t-1] * delta_c1[t] * Gf1[t]*(1 - Gf1[t])" in back
    matcalc.verify_backprop(b)
    k = compile_kernels(matcalc.derive(cnn("4x3", "lstm(3), mean, dense(3)")))
    rng = np.random.default_rng(11)
    X, Y = rng.standard_normal((12, 5)), np.eye(3)[:, rng.integers(0, 3, 5)]
    params = [0.5 * rng.standard_normal(p["shape"]) for p in k.PARAMS]
    directional_check(k, X, Y, params, (), rng)


def test_a_recurrence_prints_its_loops_in_python():
    text = str(matcalc.derive(cnn("8x8", "rnn(4), last, dense(10)")))
    assert ("for t = 1, …, T:   (T = 8)\n    Z1[t] := U1 @ H1[t-1] + W1 @ X[t] + b1 @ "
            "ones(1, N)\n    H1[t] := tanh(Z1[t])\nA1 := H1[T]") in text
    assert "for t = T, …, 1:\n    delta1[t] := (U1.T @ delta1[t+1] + delta_H1[t])" in text
