"""benchmarks/sequence_step.py at tiny sizes, so that it cannot rot: its hand-written steps are
right (their gradients and one SGD step equal the generated kernels', which matcalc proves,
to 1e-10), torch autograd of the same model agrees with the torch kernels, and the script
prints its table with a hit/missed verdict on every row. Nothing here asserts a time."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))
import sequence_step  # noqa: E402
from sequence_step import MODELS  # noqa: E402


@pytest.mark.parametrize("name", list(MODELS))
def test_hand_written_step_equals_the_generated_kernels(name):
    s = sequence_step.Setup(name, "float64", N=6, tiny=True)
    assert sequence_step.check(s)["hand"] <= 1e-10
    pg, ph = s.params(), s.params()
    s.gen(pg)()
    s.hand(ph)()
    assert sequence_step.worst(ph, pg) <= 1e-10
    assert sequence_step.worst(ph, s.params0) > 1e-6      # the step moved the weights


@pytest.mark.parametrize("name", list(MODELS))
def test_torch_autograd_of_the_same_model_equals_the_hand_written_and_torch_kernels(name):
    torch = pytest.importorskip("torch")
    s = sequence_step.Setup(name, "float64", N=6, tiny=True, torch=torch)
    d = sequence_step.check(s)
    assert d["hand vs autograd"] <= 1e-10      # the hand-written step, checked outside matcalc
    if s.kt is not None:                       # the torch backend prints this model
        assert d["torch"] <= 1e-10 and d["torch vs numpy"] <= 1e-10


def test_the_script_prints_its_table():
    r = subprocess.run([sys.executable, str(BENCH / "sequence_step.py"), "--tiny",
                        "--dtypes", "float64", "--no-torch", "--batch", "16"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines()
            if re.match(r"\w+ +float64 +(NumPy|torch|peak MiB)", line)]
    assert [line.split()[0] for line in rows] == [n for n in MODELS for _ in range(2)]
    assert all(re.search(r"\d\.\d\d (hit \(\d+\.\d\d ≤|missed \(\d+\.\d\d >) [\d.]+\)", line)
               for line in rows), rows
    assert "check (worst" in r.stdout and "one training step" in r.stdout


def test_hand_written_transformer_with_position_equals_torch_autograd():
    """The position path, which matcalc may not build yet, against autograd of the same model:
    names and shapes as the generated PARAMS would give them (E2 after the first dense)."""
    torch = pytest.importorskip("torch")
    import numpy as np
    from transformer_reference import HandTransformer, torch_transformer
    sz = MODELS["transformer"]["tiny"]
    T, F, d, h, ff, C, N = sz["T"], sz["F"], sz["d"], sz["heads"], sz["ff"], sz["C"], 5
    dk = d // h
    shapes = [("W1", (d, F)), ("b1", (d, 1)), ("E2", (d, T)), ("gamma3", (d, 1)),
              ("beta3", (d, 1))]
    for i in range(1, h + 1):
        shapes += [(f"WQ4_{i}", (d, dk)), (f"WK4_{i}", (d, dk)), (f"WV4_{i}", (d, dk)),
                   (f"WO4_{i}", (dk, d))]
    shapes += [("gamma5", (d, 1)), ("beta5", (d, 1)), ("W6", (ff, d)), ("b6", (ff, 1)),
               ("W7", (d, ff)), ("b7", (d, 1)), ("W8", (C, d)), ("b8", (C, 1))]
    rng = np.random.default_rng(3)
    params = [rng.standard_normal(s) * 0.5 for _, s in shapes]
    names = [n for n, _ in shapes]
    X, labels = rng.standard_normal((T * F, N)), rng.integers(0, C, N)
    Y = np.eye(C)[:, labels]
    L, g = HandTransformer(names, N=N, dtype=np.float64, **sz).loss_and_gradients(X, Y, params)
    P = [torch.tensor(p, requires_grad=True) for p in params]
    La = torch_transformer(torch, names, **sz)(P, torch.from_numpy(X), torch.from_numpy(labels))
    ga = [t.numpy() for t in torch.autograd.grad(La, P)]
    assert sequence_step.worst([L, *g], [La.item(), *ga]) <= 1e-10
    assert np.abs(g[2]).max() > 1e-3                      # the embedding's gradient is there
