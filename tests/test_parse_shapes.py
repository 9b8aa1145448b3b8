"""Tests of parse/shapes.py: kinds from spelling and declarations, the shape rules, fresh names."""
import ast

import pytest
import sympy as sp

import matcalc.core.expr as E
from matcalc.core.errors import ParseError, ShapeError
from matcalc.core.functions import FUNCTIONS
from matcalc.parse import CALLS, parse, shapes
from matcalc.parse.shapes import Inference, _Dims
from matcalc.parse.syntax import read


def shapes_of(p):
    return {name: getattr(s, "shape", "scalar") for name, s in p.symbols.items()}


def shape_of(e):
    return e.shape if E.is_matrix(e) else "scalar"


# ---------------------------------------------------------------- names and dimensions

def test_fresh_dimension_names_follow_first_appearance():
    p = parse("tr(X.T @ A @ X)")
    n, m = E.dim("n"), E.dim("m")
    assert p.symbols == {"X": E.matrix("X", n, m), "A": E.matrix("A", n, n)}
    assert p.dims == {"n": n, "m": m}
    assert p.expr == E.trace(E.matmul(E.transpose(p.symbols["X"]), p.symbols["A"],
                                      p.symbols["X"]))


def test_fresh_names_skip_names_in_use():
    p = parse("n.T @ A @ n + m.T @ B @ m")
    assert "n" not in p.dims and "m" not in p.dims
    assert p.symbols["A"].shape == (E.dim("p"), E.dim("p"))
    assert p.symbols["B"].shape == (E.dim("q"), E.dim("q"))


def test_declared_shapes_are_honoured():
    p = parse("W @ X", shapes={"X": (3, 4)})
    assert p.symbols["X"].shape == (3, 4)
    assert p.symbols["W"].shape == (E.dim("n"), 3)
    assert p.expr.shape == (E.dim("n"), 4)


def test_declared_shapes_as_names_specs_and_scalars():
    p = parse("W @ X + lam", shapes={"X": ("d", "N"), "W": "5 x d", "lam": "scalar"})
    d, N = E.dim("d"), E.dim("N")
    assert p.symbols["W"].shape == (5, d) and p.symbols["X"].shape == (d, N)
    assert p.symbols["lam"] == E.scalar("lam")
    assert p.dims == {"d": d, "N": N}
    assert parse("c * X", shapes={"c": ()}).symbols["c"] == E.scalar("c")


def test_spelling_gives_the_default_kind():
    p = parse("W1 @ x_hat + b1 + alpha * c2 + λ * v")
    S = shapes_of(p)
    assert S["W1"][1] == S["x_hat"][0] and S["x_hat"][1] == 1
    assert S["b1"][1] == S["c2"][1] == S["v"][1] == 1
    assert S["alpha"] == S["λ"] == "scalar"


def test_a_size_used_as_a_value_is_its_dimension_symbol():
    p = parse("norm(W @ X + b @ ones(1, N) - Y)**2 / N")
    N = E.dim("N")
    assert "N" not in p.symbols and p.dims["N"] == N
    assert p.expr == parse("norm(W @ X + b @ ones(1, N) - Y)**2").expr / N
    # the size may be named before the call that makes it one
    assert parse("sum(X) / N + sum(X @ ones(N, 1))").symbols["X"].shape[1] == N


def test_sizes_from_eye_ones_zeros():
    p = parse("W @ eye(3) + ones(k, 3)")
    assert p.symbols["W"].shape == (E.dim("k"), 3)
    assert p.expr == E.add(p.symbols["W"], E.ones("k", 3))
    assert parse("A @ zeros(3, 3)").expr == E.zeros(E.dim("n"), 3)


def test_a_size_cannot_be_declared_a_matrix():
    with pytest.raises(ParseError, match="N is a size"):
        parse("ones(1, N) @ N", {"N": (3, 3)})


@pytest.mark.parametrize("source, fragment", [
    ("ones(0, 3)", "a size must be a positive integer or a name"),
    ("ones(X.T, 1)", "a size must be a positive integer or a name"),
])
def test_bad_sizes_raise_parse_error(source, fragment):
    with pytest.raises(ParseError) as e:
        parse(source)
    assert fragment in str(e.value)
    assert str(e.value).splitlines()[1] == "  " + source     # the input, then a caret


def test_inference_runs_without_building():
    text = "W @ X + b @ ones(1, N)"
    tree = read(text)
    p = Inference(text, tree, {"X": (3, "N")}, CALLS)
    assert p.describe(tree, p.infer(tree)) == "W @ X + b @ ones(1, N) (?×N)"
    symbols, dims = p.resolve()
    n, N = E.dim("n"), E.dim("N")
    assert {k: s.shape for k, s in symbols.items()} == {"W": (n, 3), "X": (3, N), "b": (n, 1)}
    assert dims == {"n": n, "N": N}


def test_union_find_keeps_known_sizes_apart():
    d = _Dims()
    a, b, c, n = d.new(), d.new(), d.new(4), d.name("n")
    assert d.unify(a, b) and d.get(a) is None
    assert d.unify(b, c) and d.get(a) == 4
    assert not d.unify(a, n) and d.get(n) == "n"
    assert d.name("n") == n


# ---------------------------------------------------------------- the shape rules

def test_the_call_table_lists_every_function():
    assert set(FUNCTIONS) <= set(CALLS)
    assert {"tr", "sum", "norm", "det", "logdet", "inv", "diag", "ones", "eye", "zeros",
            "softmax", "logsoftmax", "logsumexp"} <= set(CALLS)


def test_every_rule_is_a_function_of_shapes():
    for name, fn in CALLS.items():
        assert callable(fn.rule) and fn.rule.__module__ == shapes.__name__, name


n, m = E.dim("n"), E.dim("m")

# (source, the rule its call uses, the expression's shape, the symbols' shapes)
RULES = [
    ("ones(k, 3)", shapes.sizes, (E.dim("k"), 3), {}),
    ("eye(4)", shapes.sizes, (4, 4), {}),
    ("inv(X)", shapes.square, (n, n), {"X": (n, n)}),
    ("tr(X)", shapes.square_to_scalar, "scalar", {"X": (n, n)}),
    ("logdet(X)", shapes.square_to_scalar, "scalar", {"X": (n, n)}),
    ("norm(X)", shapes.to_scalar, "scalar", {"X": (n, m)}),
    ("exp(X)", shapes.same, (n, m), {"X": (n, m)}),
    ("exp(lam)", shapes.same, "scalar", {"lam": "scalar"}),
    ("softmax(X, axis=1)", shapes.same_matrix, (n, m), {"X": (n, m)}),
    ("logsumexp(X)", shapes.reduce, (1, m), {"X": (n, m)}),
    ("logsumexp(X, axis=1)", shapes.reduce, (n, 1), {"X": (n, m)}),
    ("sum(X)", shapes.sum_, "scalar", {"X": (n, m)}),
    ("sum(X, axis=0)", shapes.sum_, (1, m), {"X": (n, m)}),
    ("sum(X, 1)", shapes.sum_, (n, 1), {"X": (n, m)}),
    ("diag(x)", shapes.diag, (n, n), {"x": (n, 1)}),
    ("diag(x.T)", shapes.diag, (n, n), {"x": (n, 1)}),
    ("diag(X)", shapes.diag, (n, 1), {"X": (n, n)}),
]


@pytest.mark.parametrize("source, rule, shape, symbols", RULES, ids=[r[0] for r in RULES])
def test_each_rule_infers_the_call_shape(source, rule, shape, symbols):
    assert CALLS[ast.parse(source, mode="eval").body.func.id].rule is rule
    p = parse(source)
    assert shape_of(p.expr) == shape
    assert shapes_of(p) == symbols


def test_a_rule_is_a_plain_function_of_the_union_find():
    d = _Dims()
    three, four = d.new(3), d.new(4)
    with pytest.raises(ShapeError, match="^inv needs a square matrix, but X .3×4. is not "):
        shapes.square(d, (three, four), None, "inv", lambda: "X (3×4)")
    rows = shapes.reduce(d, (three, four), 1, "logsumexp", None)
    assert (d.get(rows[0]), d.get(rows[1])) == (3, 1)


def test_reductions_of_scalars_are_scalars():
    p = parse("sum(lam) + norm(mu) + exp(nu)")
    lam, mu, nu = (p.symbols[k] for k in ("lam", "mu", "nu"))
    assert p.expr == lam + sp.Abs(mu) + sp.exp(nu)
    with pytest.raises(ShapeError, match="sum needs a matrix or vector, but lam is a scalar"):
        parse("sum(lam, axis=0)")


def test_diag_of_vector_and_of_square_matrix():
    p = parse("diag(x) @ A")
    assert p.symbols["A"].shape[0] == p.symbols["x"].shape[0]
    q = parse("diag(A) + x")
    assert q.symbols["A"].shape == (q.symbols["x"].shape[0],) * 2


# ---------------------------------------------------------------- shape errors

def test_conflicting_product_names_both_operands():
    with pytest.raises(ShapeError) as e:
        parse("W @ X", shapes={"W": (3, 4), "X": (5, 10)})
    assert str(e.value) == "cannot multiply W (3×4) by X (5×10): inner dimensions 4 ≠ 5"


@pytest.mark.parametrize("source, declared, fragments", [
    ("W + X", {"W": (3, 4), "X": (5, 10)}, ["cannot add", "W (3×4)", "X (5×10)"]),
    ("W * X", {"W": (3, 4), "X": (3, 5)}, ["entrywise", "W (3×4)", "X (3×5)"]),
    ("tr(X)", {"X": (3, 4)}, ["tr needs a square matrix", "X (3×4)"]),
    ("inv(A @ B)", {"A": (2, 3), "B": (3, 4)}, ["inv needs a square", "A @ B (2×4)"]),
    ("W @ X", {"W": (3, "n"), "X": ("m", 4)}, ["inner dimensions n ≠ m"]),
    ("W @ X + b", {"X": (3, "N")}, ["cannot add", "W @ X (?×N)", "b (?×1)"]),
    ("lam @ X", None, ["lam (scalar)", "@ needs two matrices"]),
    ("tr(lam)", None, ["tr needs a matrix", "lam is a scalar"]),
    ("softmax(2)", None, ["softmax needs a matrix"]),
    ("A @ B + B @ A", {"A": (2, 3)}, ["cannot add", "(2×2)", "(3×3)"]),
])
def test_shape_conflicts(source, declared, fragments):
    with pytest.raises(ShapeError) as e:
        parse(source, declared)
    for f in fragments:
        assert f in str(e.value)


def test_bad_declared_dimension():
    with pytest.raises(ShapeError, match="positive"):
        parse("X", {"X": (0, 3)})
