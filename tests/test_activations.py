"""The activations added as one record each (core/functions.py): leaky ReLU, SiLU, ELU and
GELU, through every door: `grad` text (against sympy.diff entry by entry and against central
differences of a NumPy function written here), `mlp(hidden=…)` (the printed δ, the proof,
the kernels, a training run), `--net` CNN layers, the torch and JAX kernels against NumPy's,
the report and the generated script. The table and the scalar derivatives:
tests/test_functions.py; every activation × loss on torch and JAX: tests/backend_check.py."""
import ast
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import matcalc
from matcalc import cnn, derive, mlp, verify_backprop
from matcalc.api import train      # not the matcalc.train package, once it is imported
from matcalc.cli import main
from matcalc.codegen.kernels import compile, kernel_source

from backend_check import batch, prove
from kernel_check import directional_check

_erf = np.vectorize(math.erf, otypes=[float])

# Each activation written here by hand in NumPy (not from the records), for the differences.
BY_HAND = {
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "silu": lambda z: z / (1 + np.exp(-z)),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
    "gelu": lambda z: 0.5 * z * (1 + _erf(z / math.sqrt(2))),
}
# ... and in SymPy, for sympy.diff entry by entry.
SYMPY = {
    "leaky_relu": lambda z: sp.Piecewise((z, z > 0), (z / 100, True)),
    "silu": lambda z: z / (1 + sp.exp(-z)),
    "elu": lambda z: sp.Piecewise((z, z > 0), (sp.exp(z) - 1, True)),
    "gelu": lambda z: z * (1 + sp.erf(z / sp.sqrt(2))) / 2,
}
NEW = tuple(BY_HAND)


def _point(rng, n=3, m=4):
    """W (n×m), x (m×1), c (n×1) with every entry of W x at least 0.05 from the kink at 0."""
    while True:
        W, x, c = rng.normal(size=(n, m)), rng.normal(size=(m, 1)), rng.normal(size=(n, 1))
        if np.abs(W @ x).min() > 0.05:
            return W, x, c


@pytest.mark.parametrize("name", NEW)
def test_grad_text_against_sympy_diff_and_central_differences(name):
    g = matcalc.grad(f"sum(c * {name}(W @ x))", "W")
    W, x, c = _point(np.random.default_rng(1))
    args = {"W": W, "x": x, "c": c}
    got = g.numpy()(*[args[a.name] for a in g.arguments()])
    # sympy.diff of the entrywise sum, each entry of W a symbol
    Ws = sp.Matrix(3, 4, lambda i, j: sp.Symbol(f"w{i}{j}", real=True))
    f = sum(sp.Float(c[i, 0]) * SYMPY[name](sum(Ws[i, j] * sp.Float(x[j, 0])
                                                 for j in range(4))) for i in range(3))
    at = {Ws[i, j]: W[i, j] for i in range(3) for j in range(4)}
    exact = np.array([[float(sp.diff(f, Ws[i, j]).evalf(30, subs=at)) for j in range(4)]
                      for i in range(3)])
    np.testing.assert_allclose(got, exact, rtol=1e-12, atol=1e-14)
    # central differences of the hand-written NumPy function
    h, numeric = 1e-6, np.zeros_like(W)
    for i in range(3):
        for j in range(4):
            E = np.zeros_like(W)
            E[i, j] = h
            numeric[i, j] = (np.sum(c * BY_HAND[name]((W + E) @ x))
                             - np.sum(c * BY_HAND[name]((W - E) @ x))) / (2 * h)
    np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8)
    g.verify(method="both")             # matcalc's own proof: exact and numeric


# The δ of the hidden layer each prints: f′ through Z, or (ELU, SiLU) through its output A.
DELTAS = {
    "leaky_relu": "delta1 = (W2.T @ delta2) * (99*step(Z1)/100 + 1/100)",
    "silu": "delta1 = (W2.T @ delta2) * (sigmoid(Z1) * (1 - A1) + A1)",
    "elu": "delta1 = (W2.T @ delta2) * ((1 - step(A1))*(A1 + 1) + step(A1))",
    "gelu": "delta1 = (W2.T @ delta2) * (sqrt(2)*Z1*exp(-Z1**2/2)/(2*sqrt(pi)) "
            "+ erf(sqrt(2)*Z1/2)/2 + 1/2)",
}


@pytest.mark.parametrize("name", NEW)
def test_mlp_derives_proves_and_its_kernels_pass_central_differences(name):
    b = derive(mlp([4, 5, 3], hidden=name))
    lines = str(b).splitlines()
    assert f"A1 := {name}(Z1)" in lines and DELTAS[name].replace(" = ", " := ", 1) in lines
    verify_backprop(b)                                    # central differences, each line
    verify_backprop(derive(mlp([2, 2, 2], hidden=name)), method="exact")
    k = compile(b)
    rng = np.random.default_rng(4)
    X, Y, params, extra = batch(k, rng)
    directional_check(k, X, Y, params, extra, rng)
    assert [p["init"] for p in k.PARAMS if p["kind"] == "weight"] == ["he", "glorot"]


@pytest.mark.parametrize("name", NEW)
def test_mlp_trains(name, tmp_path):
    r = train(mlp([64, 16, 10], hidden=name), output=tmp_path / "w.npz", epochs=3, log=None,
              history=False, optimizer="adam", lr=0.01)
    losses = [h["loss"] for h in r.history]
    assert losses == sorted(losses, reverse=True) and r.history[-1]["test"] > 0.85, r.history


@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("name", NEW)
def test_cnn_layer_on_every_backend(name, backend):
    """--net takes the activation as a layer; the torch and JAX kernels equal NumPy's and
    pass central differences (backend_check.prove)."""
    pytest.importorskip(backend)
    prove(cnn("1x6x6", f"conv(2, 3, pad=1), {name}, maxpool(2), dense(3)"), backend)


def test_cli_net_and_hidden_take_the_new_activations(capsys):
    assert main(["derive", "--input", "1x4x4", "--net", "conv(2, 3), gelu, dense(3)"]) == 0
    out, err = capsys.readouterr()
    assert "A1 = gelu(Z1)" in out and "verified: every gradient" in out + err
    assert main(["derive", "--layers", "4,5,4,3", "--hidden", "leaky_relu,elu"]) == 0
    out = capsys.readouterr().out
    assert "A1 = leaky_relu(Z1)" in out and "A2 = elu(Z2)" in out


def test_kernels_spell_each_backend_its_own_way():
    src = {be: kernel_source(derive(mlp([4, 5, 3], hidden="gelu")), be)
           for be in ("numpy", "torch", "jax")}
    assert "A1 = (0.5*(Z1)*(1 + _erf(0.7071067811865476*(Z1))))" in src["numpy"]
    assert "def _erf(Z):" in src["numpy"]           # the script needs NumPy alone
    assert "torch.nn.functional.gelu(Z1)" in src["torch"] and "torch.erf(" in src["torch"]
    assert "jax.nn.gelu(Z1, approximate=False)" in src["jax"] and "jax.lax.erf(" in src["jax"]
    assert "_erf" not in src["torch"] + src["jax"]


def test_report_and_latex_name_them_in_standard_latex(tmp_path, capsys):
    assert main(["derive", "--layers", "4,5,3", "--hidden", "silu", "--format", "latex"]) == 0
    out = capsys.readouterr().out
    assert r"A_{1} &= \operatorname{SiLU}\left(Z_{1}\right)" in out
    tex = tmp_path / "r.tex"
    pdf = [] if shutil.which("pdflatex") else ["--no-pdf"]
    assert main(["report", "--layers", "4,5,5,5,5,3", "--hidden", ",".join(NEW), "-o",
                 str(tex), *pdf]) == 0
    text = tex.read_text()
    for name in ("LeakyReLU", "SiLU", "ELU", "GELU", "erf"):
        assert rf"\operatorname{{{name}}}" in text, name
    # each defined where first used (its record's definition), the prose escaped
    assert r"$\operatorname{GELU}(z) = z\,\Phi(z)" in text and r"\sqrt{\pi}" in text
    assert "hidden activations: leaky\\_relu, silu, elu, gelu;" in text
    assert pdf or tex.with_suffix(".pdf").exists()


def test_generated_script_trains_with_gelu_on_numpy_alone(tmp_path):
    script = tmp_path / "train_gelu.py"
    assert main(["codegen", "--layers", "64,16,10", "--hidden", "gelu", "-o", str(script)]) == 0
    run = subprocess.run([sys.executable, "-I", str(script), "--epochs", "1", "-o",
                          str(tmp_path / "w.npz")], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "w.npz").exists()


def _name_lists(tree, names):
    """(owner, names) of each literal tuple, list, set or dict keys holding two activation
    names or more, and of each string spelling a|b alternatives; the owner is the name the
    literal is assigned to, else its line."""
    owner = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for sub in ast.walk(node.value):
                owner[id(sub)] = ast.unparse(node.targets[0])
    for sub in ast.walk(tree):
        elts = sub.keys if isinstance(sub, ast.Dict) else \
            sub.elts if isinstance(sub, (ast.Tuple, ast.List, ast.Set)) else []
        found = {e.value for e in elts if isinstance(e, ast.Constant) and e.value in names}
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            found = {n for n in names if f"{n}|" in sub.value or f"|{n}" in sub.value}
        if len(found) >= 2 or (found and isinstance(sub, ast.Constant)):
            yield owner.get(id(sub), f"line {sub.lineno}"), frozenset(found)


def test_no_activation_list_outside_the_function_table():
    """An activation is one record: no other module lists them (the report's words of rule
    identities name the functions those identities use, not the activations)."""
    from matcalc.core.functions import ACTIVATIONS
    root = Path(matcalc.__file__).parent
    found = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel != "core/functions.py":
            for target, names in _name_lists(ast.parse(path.read_text()), set(ACTIVATIONS)):
                found.setdefault(rel, set()).add(target)
    assert found == {"printing/notation.py": {"_MATH_WORDS", "_OPERATOR_WORDS"}}, found
    # not vacuous: the help text and the tuple of before are caught
    old = 'p.add_argument("--hidden", help="sigmoid|tanh|relu|softplus|identity")\n' \
          'ACTIVATIONS = ("relu", "sigmoid", "tanh")\n'
    assert {t for t, _ in _name_lists(ast.parse(old), set(ACTIVATIONS))} == {"line 1",
                                                                             "ACTIVATIONS"}


def test_a_derivative_in_output_and_input_becomes_entrywise_products():
    """nn/backprop.py's _in_two: the parts in A alone and in Z alone joined by + and ⊙; a
    function of both cannot be split (None: f′ stays written through Z)."""
    from matcalc.core.expr import T, matrix
    from matcalc.core.functions import sigmoid
    from matcalc.nn.backprop import _in_two
    from matcalc.printing.text import text
    a, A, Z = sp.Dummy("a"), matrix("A", 2, 3), matrix("Z", 2, 3)
    assert text(_in_two(a + sigmoid(T) * (1 - a), a, A, Z)) == "sigmoid(Z) * (1 - A) + A"
    assert text(_in_two(a * (1 - a), a, A, Z)) == "A*(1 - A)"
    assert _in_two(sp.exp(a * T), a, A, Z) is None
    assert _in_two(1 + sp.exp(a * T) * a, a, A, Z) is None
