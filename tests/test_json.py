"""`--format json` for grad, check and derive: one object on stdout, the same keys every time,
values equal to what the other formats print (and the NumPy source runs)."""
import inspect
import json

import numpy as np
import pytest

import matcalc
from matcalc.api import backprop_record
from matcalc.cli import main
from matcalc.verify import evaluate

GRAD_KEYS = {"command", "expression", "wrt", "gradient", "shapes", "assumptions", "layout",
             "verification"}
CHECK_KEYS = {"command", "expression", "wrt", "claim", "correct", "gradient", "difference",
              "shapes", "assumptions", "layout", "verification"}
DERIVE_KEYS = {"command", "model", "forward", "backward", "parameters", "loss", "shapes",
               "assumptions", "layout", "verification"}
BOTH = "exactly (sympy.diff, entrywise) and by central differences"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def record(capsys, *argv, code=0):
    got, out, err = run(capsys, *argv, "--format", "json")
    assert got == code, err
    return json.loads(out)          # the whole of stdout is one object


def test_grad_record(capsys):
    argv = ["grad", "tr(X.T @ A @ X)", "--wrt", "X"]
    r = record(capsys, *argv)
    assert set(r) == GRAD_KEYS and set(r["gradient"]) == {"text", "latex", "numpy"}
    assert (r["command"], r["expression"], r["wrt"]) == ("grad", "tr(X.T @ A @ X)", "X")
    assert r["shapes"] == {"X": ["n", "m"], "A": ["n", "n"]}
    assert r["assumptions"] == [] and r["layout"] == "denominator"
    assert r["verification"] == {"status": "verified", "method": "both", "how": BOTH}
    # each form is what the other formats print
    _, text, _ = run(capsys, *argv)
    assert text == f"∂f/∂X = {r['gradient']['text']}    (X: n×m, A: n×n)\n"
    _, latex, _ = run(capsys, *argv, "--format", "latex")
    assert latex == r["gradient"]["latex"] + "\n"
    _, source, _ = run(capsys, *argv, "--format", "numpy")
    assert source == r["gradient"]["numpy"] + "\n"


def test_grad_record_numpy_runs(capsys):
    r = record(capsys, "grad", "sum(sigmoid(W @ X + b @ ones(1, N)))", "--wrt", "b")
    ns = {}
    exec(compile(r["gradient"]["numpy"], "<json>", "exec"), ns)
    fn = ns["grad_b"]
    rng = np.random.default_rng(0)
    W, X, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 5)), rng.normal(size=(3, 1))
    args = {"W": W, "X": X, "b": b}
    got = fn(*[args[p] for p in inspect.signature(fn).parameters])
    s = 1 / (1 + np.exp(-(W @ X + b)))
    np.testing.assert_allclose(got, (s * (1 - s)).sum(axis=1, keepdims=True))
    assert r["gradient"]["text"] == matcalc.grad("sum(sigmoid(W @ X + b @ ones(1, N)))",
                                                 "b").text()


def test_grad_record_context(capsys):
    r = record(capsys, "grad", "-sum(Y * logsoftmax(W @ X))", "--wrt", "W", "--assume",
               "sum(Y, axis=0) == 1", "--shape", "X=4x5")
    assert r["assumptions"] == ["each column of Y sums to 1"]
    assert r["shapes"] == {"Y": ["n", 5], "W": ["n", 4], "X": [4, 5]}
    assert r["gradient"]["text"] == "(softmax(W @ X) - Y) @ X.T"
    r = record(capsys, "grad", "lam * x.T @ x", "--wrt", "x", "--verify", "none")
    assert r["shapes"] == {"lam": "scalar", "x": ["n", 1]}
    assert r["verification"] == {"status": "skipped", "method": "none", "how": "not verified"}
    r = record(capsys, "grad", "tr(A @ X @ B)", "--wrt", "X", "--layout", "numerator",
               "--verify", "numeric")
    assert r["layout"] == "numerator" and r["gradient"]["latex"] == "B A"
    assert r["gradient"]["text"] == "B @ A"           # all three forms in the layout asked
    assert "return B @ A" in r["gradient"]["numpy"]
    assert r["verification"]["method"] == "numeric"
    r = matcalc.grad("tr(A @ X @ B)", "X").to_dict(layout="mixed")
    assert r["layout"] == "denominator" and r["gradient"]["text"] == "A.T @ B.T"


def test_check_record(capsys):
    r = record(capsys, "check", "tr(A @ X @ B)", "--wrt", "X", "--claim", "A.T @ B.T")
    assert set(r) == CHECK_KEYS
    assert r["correct"] is True and r["difference"] is None
    assert r["claim"] == {"text": "A.T @ B.T", "latex": "A^{\\top} B^{\\top}"}
    assert r["gradient"]["text"] == "A.T @ B.T"
    assert r["verification"] == {"status": "verified", "method": "both", "how": BOTH}
    r = record(capsys, "check", "tr(A @ X @ B)", "--wrt", "X", "--claim", "2*A.T @ B.T",
               code=1)
    assert set(r) == CHECK_KEYS and r["correct"] is False
    d = r["difference"]
    assert set(d) == {"entry", "claimed", "correct", "sizes"}
    assert d["entry"] == [0, 0] and d["claimed"] == pytest.approx(2 * d["correct"])
    assert set(d["sizes"]) == {"n", "m", "p"}
    assert r["verification"]["status"] == "wrong"
    assert r["gradient"]["text"] == "A.T @ B.T"


def test_check_to_dict_of_a_function_claim():
    c = matcalc.check("tr(A @ X @ B)", "X", lambda A, B: A.T @ B.T)
    r = c.to_dict()
    assert set(r) == CHECK_KEYS and r["correct"] is True
    assert r["claim"] == {"text": "<lambda>(…)", "latex": None}
    json.dumps(r)


def test_derive_record(capsys):
    model = ["derive", "--layers", "4,3,2"]
    r = record(capsys, *model)
    assert set(r) == DERIVE_KEYS
    _, text, _ = run(capsys, *model)
    forward, backward = text.split("\n\n")
    assert [f"{line['name']} = {line['text']}" for line in r["forward"]] == \
        forward.splitlines()
    assert [f"{line['name']} = {line['text']}" for line in r["backward"]] == \
        backward.splitlines()
    _, latex, _ = run(capsys, *model, "--format", "latex")
    for line in r["forward"] + r["backward"]:
        assert set(line) == {"name", "name_latex", "text", "latex"}
        assert f"{line['name_latex']} &= {line['latex']}" in latex
    assert r["parameters"] == [{"name": "W1", "shape": [3, 4], "gradient": "dW1"},
                               {"name": "b1", "shape": [3, 1], "gradient": "db1"},
                               {"name": "W2", "shape": [2, 3], "gradient": "dW2"},
                               {"name": "b2", "shape": [2, 1], "gradient": "db2"}]
    assert r["loss"] == r["forward"][-1] and r["loss"]["name"] == "L"
    assert r["shapes"]["X"] == [4, "N"] and r["shapes"]["L"] == "scalar"
    assert r["shapes"]["dW1"] == r["shapes"]["W1"] == [3, 4]
    assert r["assumptions"] == ["each column of Y sums to 1"]
    assert r["model"]["name"] == "4-3-2" and r["model"]["loss"] == "cross-entropy"
    assert r["verification"] == {"status": "verified", "method": "numeric",
                                 "how": "by central differences"}
    r = record(capsys, *model, "--no-verify")
    assert r["verification"]["status"] == "skipped"


def test_derive_record_in_python():
    b = matcalc.derive(matcalc.mlp([3, 2], hidden=[], loss="squared-error"))
    r = backprop_record(b, verified=False)
    assert set(r) == DERIVE_KEYS
    assert [p["gradient"] for p in r["parameters"]] == [str(b.gradients[p])
                                                        for p in b.gradients]
    json.dumps(r)


def test_the_record_values_are_the_gradients():
    """The record's text is the proven gradient's: evaluate it against the formula."""
    g = matcalc.grad("norm(W @ X - Y)**2", "W")
    r = g.to_dict()
    assert set(r) == GRAD_KEYS and r["gradient"]["text"] == "2*(W @ X - Y) @ X.T"
    rng = np.random.default_rng(1)
    values = {s: rng.normal(size=(3, 4) if s.name == "W" else (4, 5) if s.name == "X"
                            else (3, 5)) for s in g.arguments()}
    v = {s.name: a for s, a in values.items()}
    np.testing.assert_allclose(evaluate(g.expr, values),
                               2 * (v["W"] @ v["X"] - v["Y"]) @ v["X"].T)


@pytest.mark.parametrize("argv", [
    ["grad", "tr(A @ X", "--wrt", "X"],
    ["grad", "tr(A @ X)", "--wrt", "Z"],
    ["check", "tr(A @ X @ B)", "--wrt", "X", "--claim", "B @ A"],
    ["derive", "--layers", "4,x"],
])
def test_errors_leave_stdout_empty(capsys, argv):
    code, out, err = run(capsys, *argv, "--format", "json")
    assert code == 2 and out == "" and err.startswith("matcalc: error: ")


def test_the_readme_documents_every_key():
    """The README's table lists, per command, the keys its record has: no more, no fewer."""
    from pathlib import Path
    import re
    text = (Path(__file__).parent.parent / "README.md").read_text()
    table = text[text.index("## JSON output"):].split("\n\n")[2].splitlines()
    header = [c.strip(" `") for c in table[0].strip("|").split("|")]
    documented = {}
    for row in table[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        for command, cell in zip(header[1:], cells[1:]):
            if cell != "—":
                documented.setdefault(command, set()).update(re.findall(r"`(\w+)`", cells[0]))
    assert documented["grad"] == GRAD_KEYS
    assert documented["check"] == CHECK_KEYS
    assert documented["derive"] == DERIVE_KEYS
