"""nn/losses.py: every row of the loss table against NumPy, its stable form, assumption, aliases."""
import numpy as np
import pytest

from matcalc.calculus.simplify import ColumnsSumToOne
from matcalc.core.expr import apply, matrix, softmax
from matcalc.nn.losses import ALIASES, LOSSES, Loss
from matcalc.printing.text import text
from matcalc.verify import evaluate

C, N = 3, 5                      # classes × samples: non-square
A = matrix("A", C, N)
Z = matrix("Z", C, N)
Y = matrix("Y", C, N)
LABELS = np.array([0, 2, 1, 2, 0])


def _one_hot():
    out = np.zeros((C, N))
    out[LABELS, np.arange(N)] = 1
    return out


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _softmax(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _hinge(a, y):
    total = 0.0
    for j in range(a.shape[1]):
        true = a[:, j] @ y[:, j]
        total += sum(max(0.0, a[i, j] - true + 1) for i in range(a.shape[0]) if y[i, j] == 0)
    return total


# name -> (output A for the logits z, targets, the loss summed over the batch in NumPy)
REFERENCE = {
    "cross-entropy": (_softmax, _one_hot, lambda a, y: -np.sum(y * np.log(a))),
    "binary-cross-entropy": (
        _sigmoid, lambda: np.random.default_rng(1).integers(0, 2, (C, N)).astype(float),
        lambda a, y: -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a))),
    "squared-error": (lambda z: z, lambda: np.random.default_rng(1).normal(size=(C, N)),
                      lambda a, y: 0.5 * np.sum((a - y) ** 2)),
    "hinge": (lambda z: z, _one_hot, _hinge),
}

ACTIVATION = {"softmax": lambda z: softmax(z, 0), "sigmoid": lambda z: apply("sigmoid", z),
              "identity": lambda z: z}


def test_the_table_is_the_four_losses():
    assert list(LOSSES) == ["cross-entropy", "binary-cross-entropy", "squared-error", "hinge"]
    assert set(REFERENCE) == set(LOSSES)
    rows = [(r.name, r.output, r.targets, r.min_outputs) for r in LOSSES.values()]
    assert rows == [
        ("cross-entropy", "softmax", "one-hot columns", 2),
        ("binary-cross-entropy", "sigmoid", "0/1 labels", 1),
        ("squared-error", "identity", "real targets", 1),
        ("hinge", "identity", "one-hot columns", 2),
    ]
    assert all(isinstance(r, Loss) and name == r.name for name, r in LOSSES.items())


@pytest.mark.parametrize("name", list(LOSSES))
def test_build_equals_numpy(name):
    out, targets, reference = REFERENCE[name]
    row = LOSSES[name]
    for seed in range(3):
        z = np.random.default_rng(seed).normal(size=(C, N)) * 2
        a, y = out(z), targets()
        got = evaluate(row.build(A, Y), {A: a, Y: y})
        assert got == pytest.approx(reference(a, y), rel=1e-12)


@pytest.mark.parametrize("name", list(LOSSES))
def test_stable_equals_build_of_the_output(name):
    row = LOSSES[name]
    out, targets, reference = REFERENCE[name]
    stable = row.stable(Z, Y)
    plain = row.build(ACTIVATION[row.output](Z), Y)
    for seed in range(3):
        z = np.random.default_rng(seed).normal(size=(C, N)) * 3
        values = {Z: z, Y: targets()}
        assert evaluate(stable, values) == pytest.approx(evaluate(plain, values), rel=1e-12)
        assert evaluate(stable, values) == pytest.approx(reference(out(z), targets()), rel=1e-12)


def test_printed_forms():
    assert text(LOSSES["cross-entropy"].build(A, Y)) == "-sum(Y * log(A))"
    assert text(LOSSES["cross-entropy"].stable(Z, Y)) == "-sum(Y * logsoftmax(Z))"
    assert text(LOSSES["binary-cross-entropy"].build(A, Y)) == \
        "-sum(Y * log(A) + (1 - Y) * log(1 - A))"
    assert text(LOSSES["binary-cross-entropy"].stable(Z, Y)) == \
        "-sum(-Y * softplus(-Z) - softplus(Z) * (1 - Y))"
    assert text(LOSSES["squared-error"].build(A, Y)) == "norm(A - Y)**2/2"
    assert text(LOSSES["hinge"].build(A, Y)) == \
        "sum((1 - Y) * relu(A + 1 - ones(3, 3) @ (A * Y)))"


def test_stable_forms_are_finite_where_the_plain_ones_are_not():
    """At logits ±1e3, log of a softmax or sigmoid underflows; the stable forms do not."""
    z = np.array([[1e3, -1e3, 0, 1e3, -1e3]] * C)
    z[1] = -z[1]
    y = _one_hot()
    row = LOSSES["cross-entropy"]
    values = {Z: z, Y: y}
    assert not np.isfinite(evaluate(row.build(softmax(Z, 0), Y), values))
    want = -np.sum(y * (z - (z.max(0) + np.log(np.exp(z - z.max(0)).sum(0)))))
    assert evaluate(row.stable(Z, Y), values) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("name", list(LOSSES))
def test_the_assumption_of_one_hot_targets(name):
    row = LOSSES[name]
    if row.targets == "one-hot columns":
        assert row.assumption is ColumnsSumToOne
        rule = row.assumption(Y)
        assert rule == ColumnsSumToOne(Y) and rule.constraint == "colsum1"
        assert str(rule) == "each column of Y sums to 1"
    else:
        assert row.assumption is None


def test_aliases_resolve_to_rows():
    assert ALIASES == {"ce": "cross-entropy", "softmax-cross-entropy": "cross-entropy",
                       "bce": "binary-cross-entropy", "mse": "squared-error", "svm": "hinge",
                       "multiclass-hinge": "hinge"}
    assert all(target in LOSSES for target in ALIASES.values())
    assert not set(ALIASES) & set(LOSSES)
