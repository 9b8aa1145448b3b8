"""nn/layout.py: transposes pushed to the leaves; the rows network, the columns one transposed."""
import numpy as np
import pytest
import sympy as sp
from sympy import MatrixExpr, MatrixSymbol

from matcalc.calculus.simplify import RowsSumToOne
from matcalc.core.errors import NoRuleError
from matcalc.core.expr import (add, apply, det, diag, entry_sum, eye, hadamard, inverse, logdet,
                               logsoftmax, logsumexp, matmul, matrix, norm, ones, rebuild,
                               softmax, trace, transpose, vector, zeros)
from matcalc.core.transposer import TRANSPOSES
from matcalc.nn.layout import ROW_RULES, to_rows, transposed
from matcalc.nn.spec import mlp
from matcalc.printing.text import text
from matcalc.verify import evaluate

W = matrix("W", 3, 4)
X = matrix("X", 4, "N")
b = vector("b", 3)
Z = matrix("Z", 3, "N")
Y = matrix("Y", 3, "N")
M = matrix("M", 3, 4)
Q = matrix("Q", 3, 3)
P = matrix("P", 3, 3)
V = matrix("V", 3, 4)
# rows versions: the same names, transposed shapes
Xr = matrix("X", "N", 4)
Zr = matrix("Z", "N", 3)
Yr = matrix("Y", "N", 3)
Mr = matrix("M", 4, 3)


@pytest.mark.parametrize("e, flipped", [
    (add(matmul(W, X), matmul(b, ones(1, "N"))), "X.T @ W.T + ones(N, 1) @ b.T"),
    (matmul(W, X), "X.T @ W.T"),
    (matmul(2, M, transpose(V)), "2*V @ M.T"),
    (add(M, V), "M.T + V.T"),
    (hadamard(Z, Y), "Y.T * Z.T"),
    (apply("sigmoid", Z), "sigmoid(Z.T)"),
    (hadamard(Z, apply("tanh", Z)), "Z.T*tanh(Z.T)"),
    (apply("relu", matmul(W, X)), "relu(X.T @ W.T)"),
    (softmax(Z), "softmax(Z.T, axis=1)"),
    (softmax(Z, 1), "softmax(Z.T)"),
    (logsoftmax(Z), "logsoftmax(Z.T, axis=1)"),
    (logsumexp(Z, 1), "logsumexp(Z.T)"),
    (ones(3, "N"), "ones(N, 3)"),
    (zeros(3, 4), "zeros(4, 3)"),
    (eye(3), "eye(3)"),
    (transpose(M), "M"),
    (inverse(Q), "inv(Q.T)"),
])
def test_transposed_pushes_to_the_leaves(e, flipped):
    assert text(transposed(e, {})) == flipped
    assert transposed(e, {}, False) == e          # t false: the expression as it was


@pytest.mark.parametrize("e", [softmax(Z), logsoftmax(Z), logsumexp(Z), softmax(Z, 1),
                               add(matmul(W, X), matmul(b, ones(1, "N")))])
def test_transposed_is_the_transpose_in_value(e):
    rng = np.random.default_rng(0)
    values = {s: rng.normal(size=tuple(int(d) if d.is_Integer else 5 for d in s.shape))
              for s in e.atoms(MatrixSymbol)}
    assert np.allclose(evaluate(transposed(e, {}), values), evaluate(e, values).T, rtol=1e-12)


@pytest.mark.parametrize("e, subs, result", [
    (entry_sum(transpose(M)), {}, "sum(M)"),
    (norm(transpose(M)), {}, "norm(M)"),
    (entry_sum(M), {M: transpose(Mr)}, "sum(M)"),      # sum(Mᵀ) = sum(M): no transpose
    (norm(M) ** 2, {M: transpose(Mr)}, "norm(M)**2"),
    (entry_sum(hadamard(Z, Y)), {Z: transpose(Zr), Y: transpose(Yr)}, "sum(Y * Z)"),
    (trace(matmul(transpose(M), V)), {M: transpose(Mr)}, "tr(M @ V)"),
    (trace(Q), {}, "tr(Q)"),
    (det(Q), {Q: transpose(P)}, "det(P)"),
    (logdet(Q), {Q: transpose(P)}, "logdet(P)"),
    (entry_sum(matmul(W, X)), {X: transpose(Xr)}, "sum(W @ X.T)"),
])
def test_invariants_keep_the_form_with_fewer_transposes(e, subs, result):
    assert text(transposed(e, subs, False)) == result
    assert text(transposed(e, subs, True)) == result    # a scalar is its own transpose


def test_substitution_then_transpose():
    subs = {X: transpose(Xr)}
    assert text(transposed(matmul(W, X), subs)) == "X @ W.T"
    assert text(transposed(matmul(W, X), subs, False)) == "W @ X.T"


class Foo(MatrixExpr):
    """A node no rule transposes."""
    shape = property(lambda self: self.args[0].shape)


@pytest.mark.parametrize("e, name", [
    (Foo(M), "Foo"),
    (add(Foo(M), V), "Foo"),
    (entry_sum(Foo(M)), "Foo"),
    (diag(vector("v", 3)), "DiagMatrix"),
])
def test_unknown_matrix_nodes_raise(e, name):
    with pytest.raises(NoRuleError) as info:
        transposed(e, {})
    assert str(info.value) == (f"no rule to transpose {name}; add an entry to "
                               "TRANSPOSES in core/transposer.py")
    assert TRANSPOSES.what == "rule to transpose"


# ---------------------------------------------------------------- to_rows

ROWS = {
    "relu-bce-l2": (dict(layers=[3, 4, 1], hidden="relu", loss="bce", l2=True), [
        "Z1 := X @ W1 + ones(N, 1) @ b1.T",
        "A1 := relu(Z1)",
        "Z2 := A1 @ W2 + ones(N, 1) @ b2.T",
        "A2 := sigmoid(Z2)",
        "L := lam*(norm(W1)**2 + norm(W2)**2)/2 - sum(Y * log(A2) + (1 - Y) * log(1 - A2))/N"]),
    "mse-nobias-sum": (dict(layers=[3, 4, 2], loss="mse", bias=False, reduction="sum"), [
        "Z1 := X @ W1", "A1 := sigmoid(Z1)", "Z2 := A1 @ W2", "L := norm(Z2 - Y)**2/2"]),
    "softplus-hinge": (dict(layers=[3, 4, 3], hidden="softplus", loss="hinge"), [
        "Z1 := X @ W1 + ones(N, 1) @ b1.T",
        "A1 := softplus(Z1)",
        "Z2 := A1 @ W2 + ones(N, 1) @ b2.T",
        "L := sum((1 - Y) * relu(Z2 + 1 - (Y * Z2) @ ones(d2, d2)))/N"]),
    "identity-ce-single": (dict(layers=[3, 4, 3], hidden="identity", batch=1), [
        "Z1 := X @ W1 + b1.T", "Z2 := Z1 @ W2 + b2.T", "S := softmax(Z2, axis=1)",
        "L := -sum(Y * log(S))"]),
    "three-layers": (dict(layers=[3, 4, 5, 2], hidden=["tanh", "relu"]), [
        "Z1 := X @ W1 + ones(N, 1) @ b1.T", "A1 := tanh(Z1)",
        "Z2 := A1 @ W2 + ones(N, 1) @ b2.T", "A2 := relu(Z2)",
        "Z3 := A2 @ W3 + ones(N, 1) @ b3.T", "S := softmax(Z3, axis=1)",
        "L := -sum(Y * log(S))/N"]),
}


def _models(name):
    kwargs = dict(ROWS[name][0])
    layers = kwargs.pop("layers")
    return mlp(layers, **kwargs), mlp(layers, layout="rows", **kwargs)


@pytest.fixture(scope="module", params=list(ROWS), ids=str)
def pair(request):
    cols, rows = _models(request.param)
    return request.param, cols.network(), to_rows(cols.network()), rows


def test_rows_forward_program(pair):
    name, _, net, _ = pair
    assert str(net.forward) == "\n".join(ROWS[name][1])


def test_to_rows_is_what_a_rows_model_builds(pair):
    _, _, net, rows_model = pair
    assert net == rows_model.network()


def test_every_name_but_the_biases_is_transposed(pair):
    _, cols, rows, _ = pair
    assert rows.X.shape == cols.X.shape[::-1] and rows.Y.shape == cols.Y.shape[::-1]
    for c, r in zip(cols.params, rows.params):
        assert (r.symbol.name, r.layer, r.kind, r.init) == (c.symbol.name, c.layer, c.kind, c.init)
        want = c.symbol.shape if c.kind == "bias" else c.symbol.shape[::-1]
        assert r.symbol.shape == want
    for c, r in zip(cols.forward, rows.forward):
        assert str(c.name) == str(r.name)
        assert r.name.shape == c.name.shape[::-1] if c.name.is_Matrix else r.name == c.name
    assert [(z.shape, d.shape, d.name) for z, d in rows.deltas.items()] == \
        [(z.shape[::-1], d.shape[::-1], d.name) for z, d in cols.deltas.items()]
    assert set(rows.deltas) <= set(rows.forward.names())
    assert (cols.sample_axis, rows.sample_axis) == (1, 0)
    assert rows.lam == cols.lam


def test_assumptions_turn_to_rows(pair):
    _, cols, rows, _ = pair
    assert [ROW_RULES[type(a)] for a in cols.assumptions] == [type(a) for a in rows.assumptions]
    assert all(type(a) is RowsSumToOne and a.var == rows.Y for a in rows.assumptions)
    assert [str(a) for a in rows.assumptions] == \
        ["each row of Y sums to 1"] * len(cols.assumptions)


def _inline(net):
    subs = {}
    for a in net.forward:
        subs[a.name] = rebuild(a.expr, lambda x: subs.get(x, x))
    return subs, rebuild(net.stable_loss, lambda x: subs.get(x, x))


def test_rows_values_are_the_transposed_columns_values(pair):
    """X_rows = X_colsᵀ, W_rows = W_colsᵀ, biases equal: every forward value is transposed,
    and the loss (and the stable loss) is the same number."""
    _, cols, rows, model = pair
    sub = model.concrete(6)
    rng = np.random.default_rng(0)

    def concrete(m):
        return tuple(int(sp.sympify(d).xreplace(sub)) for d in m.shape)

    biases = {p.symbol for p in cols.params if p.kind == "bias"}
    col_values = {v: rng.uniform(-1, 1, concrete(v))
                  for v in [cols.X] + [p.symbol for p in cols.params]}
    col_values[cols.Y] = rng.uniform(0.05, 0.95, concrete(cols.Y))
    to_row = dict(zip([cols.X, cols.Y] + [p.symbol for p in cols.params],
                      [rows.X, rows.Y] + [p.symbol for p in rows.params]))
    row_values = {to_row[v]: a if v in biases else a.T for v, a in col_values.items()}
    if cols.lam is not None:
        col_values[cols.lam] = row_values[rows.lam] = 0.25
    col_forward, col_stable = _inline(cols)
    row_forward, row_stable = _inline(rows)
    for c, r in zip(cols.forward, rows.forward):
        got = evaluate(row_forward[r.name], row_values)
        want = evaluate(col_forward[c.name], col_values)
        if c.name.is_Matrix:
            assert np.allclose(got, want.T, rtol=1e-12, atol=1e-14)
        else:
            assert np.isfinite(want) and got == pytest.approx(want, rel=1e-12)
    assert evaluate(row_stable, row_values) == pytest.approx(evaluate(col_stable, col_values),
                                                             rel=1e-12)
