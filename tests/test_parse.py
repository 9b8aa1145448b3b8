"""Tests of parse.py: shapes inferred, expressions built, round trips, and every rejection."""
import ast
import builtins
import pathlib

import pytest
import sympy as sp

import matcalc.core.expr as E
import matcalc.parse as parse_module
from matcalc.core.errors import ParseError, ShapeError
from matcalc.core.functions import FUNCTIONS
from matcalc.parse import (CALLS, MAX_DEPTH, MAX_LENGTH, Assumption, Parsed, parse,
                           parse_assumption, parse_shape)
from matcalc.printing.text import text


def shapes_of(p):
    return {name: getattr(s, "shape", "scalar") for name, s in p.symbols.items()}


# ---------------------------------------------------------------- inference

def _tr_xtax(S):
    assert S["A"][0] == S["A"][1] == S["X"][0]
    assert S["X"][0] != S["X"][1]


def _atxb(S):
    assert S["a"][1] == S["b"][1] == 1
    assert S["X"] == (S["a"][0], S["b"][0])
    assert S["a"][0] != S["b"][0]


def _xtax(S):
    assert S["x"][1] == 1 and S["A"] == (S["x"][0], S["x"][0])


def _least_squares(S):
    W, X, Y, b = S["W"], S["X"], S["Y"], S["b"]
    assert b == (W[0], 1) and Y == (W[0], X[1]) and X[0] == W[1]
    assert X[1] == sp.Symbol("N", integer=True, positive=True)


def _logistic(S):
    assert S["y"] == (S["X"][0], 1) and S["w"] == (S["X"][1], 1)
    assert S["X"][0] != S["X"][1]


def _cross_entropy(S):
    assert S["Y"] == (S["W"][0], S["X"][1]) and S["W"][1] == S["X"][0]


def _ridge(S):
    assert S["lam"] == "scalar" and S["Y"] == (S["W"][0], S["X"][1])


def _any_matrix(S):
    assert all(s != "scalar" and len(s) == 2 for s in S.values())


def _square_x(S):
    assert S["X"][0] == S["X"][1]


def _tr_inv(S):
    assert S["X"][0] == S["X"][1] == S["A"][0] == S["A"][1]


def _tr_axb(S):
    assert S["A"][1] == S["X"][0] and S["X"][1] == S["B"][0] and S["B"][1] == S["A"][0]
    assert len({S["A"][0], S["X"][0], S["X"][1]}) == 3


# (input, its printed form, a check of the inferred shapes)
TABLE = [
    ("tr(X.T @ A @ X)", "tr(X.T @ A @ X)", _tr_xtax),
    ("a.T @ X @ b", "a.T @ X @ b", _atxb),
    ("x.T @ A @ x", "x.T @ A @ x", _xtax),
    ("norm(W @ X + b @ ones(1, N) - Y)**2", "norm(W @ X + b @ ones(1, N) - Y)**2",
     _least_squares),
    ("sum(log(sigmoid(y * (X @ w))))", "sum(log(sigmoid(y * (X @ w))))", _logistic),
    ("-sum(Y * logsoftmax(W @ X))", "-sum(Y * logsoftmax(W @ X))", _cross_entropy),
    ("norm(W @ X - Y)**2 + lam*norm(W)**2", "lam*norm(W)**2 + norm(W @ X - Y)**2", _ridge),
    ("sum(W * W)", "sum(W * W)", _any_matrix),
    ("sum(exp(X))", "sum(exp(X))", _any_matrix),
    ("logdet(X)", "logdet(X)", _square_x),
    ("det(X)", "det(X)", _square_x),
    ("tr(inv(X) @ A)", "tr(inv(X) @ A)", _tr_inv),
    ("tr(A @ X @ B)", "tr(A @ X @ B)", _tr_axb),
]


@pytest.mark.parametrize("source, printed, check", TABLE, ids=[t[0] for t in TABLE])
def test_table_shapes_and_text(source, printed, check):
    p = parse(source)
    assert isinstance(p, Parsed)
    check(shapes_of(p))
    assert text(p.expr) == printed


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


def test_one_by_one_products_meeting_scalars_become_traces():
    p = parse("x.T @ A @ x + lam")
    x, A, lam = p.symbols["x"], p.symbols["A"], p.symbols["lam"]
    assert p.expr == E.trace(E.matmul(E.transpose(x), A, x)) + lam
    assert not E.is_matrix(p.expr)
    q = parse("(x.T @ x) * B")
    assert q.expr == E.mul(E.trace(E.matmul(E.transpose(q.symbols["x"]), q.symbols["x"])),
                           q.symbols["B"])
    assert q.symbols["B"].shape[0] != 1


@pytest.mark.parametrize("source, build", [
    ("A - B", lambda A, B: E.sub(A, B)),
    ("A * B", lambda A, B: E.hadamard(A, B)),
    ("A / B", lambda A, B: E.divide(A, B)),
    ("-A + +B", lambda A, B: E.add(E.neg(A), B)),
    ("A ** 2 - B", lambda A, B: E.sub(E.power(A, 2), B)),
    ("A ** -1 * B", lambda A, B: E.mul(E.power(A, -1), B)),
    ("A ** (1/2) + B ** 0.5", lambda A, B: E.add(E.power(A, sp.S.Half),
                                                  E.power(B, sp.S.Half))),
    ("3 * A - B / 4", lambda A, B: E.sub(E.matmul(3, A), E.matmul(sp.Rational(1, 4), B))),
    ("A.T @ B", lambda A, B: E.matmul(E.transpose(A), B)),
])
def test_operators_map_to_constructors(source, build):
    p = parse(source)
    assert p.expr == build(p.symbols["A"], p.symbols["B"])


def test_floats_are_exact_rationals():
    assert parse("0.5").expr == sp.Rational(1, 2)
    assert parse("0.1 + 0.2").expr == sp.Rational(3, 10)
    assert parse("1e-3").expr == sp.Rational(1, 1000)
    X = parse("0.25 * X").symbols["X"]
    assert parse("0.25 * X").expr == E.matmul(sp.Rational(1, 4), X)


@pytest.mark.parametrize("source, build, shape", [
    ("sum(X)", lambda X: E.entry_sum(X), None),
    ("sum(X, axis=0)", lambda X: E.sum_axis(X, 0), lambda n, m: (1, m)),
    ("sum(X, 1)", lambda X: E.sum_axis(X, 1), lambda n, m: (n, 1)),
    ("softmax(X)", lambda X: E.softmax(X), lambda n, m: (n, m)),
    ("logsoftmax(X, axis=1)", lambda X: E.logsoftmax(X, 1), lambda n, m: (n, m)),
    ("logsumexp(X, 1)", lambda X: E.logsumexp(X, 1), lambda n, m: (n, 1)),
    ("logsumexp(X)", lambda X: E.logsumexp(X), lambda n, m: (1, m)),
    ("norm(X)", lambda X: E.norm(X), None),
])
def test_reductions_and_axes(source, build, shape):
    p = parse(source)
    X = p.symbols["X"]
    assert p.expr == build(X)
    if shape:
        assert p.expr.shape == shape(*X.shape)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_table_function_applies_entrywise(name):
    p = parse(f"{name}(X)")
    assert p.expr == E.apply(name, p.symbols["X"])


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


def test_the_call_table_lists_every_function():
    assert set(FUNCTIONS) <= set(CALLS)
    assert {"tr", "sum", "norm", "det", "logdet", "inv", "diag", "ones", "eye", "zeros",
            "softmax", "logsoftmax", "logsumexp"} <= set(CALLS)


# ---------------------------------------------------------------- round trips

ROUND_TRIP = [s for s, _, _ in TABLE] + [
    "x.T @ A @ x + lam",
    "norm(W @ X + b @ ones(1, N) - Y)**2 / N",
    "sum(X, axis=0) @ w",
    "softmax(X, axis=1) - Y",
    "0.5 * norm(X)**2",
    "X ** 0.5 + 2 / X",
    "sum(relu(W2 @ tanh(W1 @ X + b1 @ ones(1, N)) + b2 @ ones(1, N)))",
    "A / (1 + exp(-A))",
    "(A - B).T @ (A - B)",
    "X**2 - 2*X + 1",
    "sum(softplus(-Y * Z))",
    "alpha * X - beta * X.T",
    "sqrt(abs(X)) * sign(X)",
    "(x - y).T @ (x - y)",
    "log(det(X)) - tr(S @ X)",
    "lam * (x.T @ x)",
    "diag(x) @ A @ diag(y)",
    "eye(3) @ X",
]


@pytest.mark.parametrize("source", ROUND_TRIP)
def test_printed_text_parses_back(source):
    p = parse(source)
    shapes = {k: v if v == "scalar" else tuple(v) for k, v in shapes_of(p).items()}
    again = parse(text(p.expr), shapes)
    assert again.expr == p.expr
    assert again.symbols == p.symbols


@pytest.mark.parametrize("source", ROUND_TRIP[:-1])
def test_printed_text_parses_back_without_shapes(source):
    assert parse(text(parse(source).expr)).expr == parse(source).expr


# ---------------------------------------------------------------- shape errors

def test_conflicting_product_names_both_operands():
    with pytest.raises(ShapeError) as e:
        parse("W @ X", shapes={"W": (3, 4), "X": (5, 10)})
    assert str(e.value) == "cannot multiply W (3×4) by X (5×10): inner dimensions 4 ≠ 5"


@pytest.mark.parametrize("source, shapes, fragments", [
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
def test_shape_conflicts(source, shapes, fragments):
    with pytest.raises(ShapeError) as e:
        parse(source, shapes)
    for f in fragments:
        assert f in str(e.value)


def test_bad_declared_dimension():
    with pytest.raises(ShapeError, match="positive"):
        parse("X", {"X": (0, 3)})


# ---------------------------------------------------------------- parse errors

BAD = [
    ("tr(X, Y)", "tr takes 1 argument, tr(M)"),
    ("ones(3)", "ones takes 2 arguments, ones(m, n)"),
    ("sum(X, 0, 1)", "sum takes 1 argument, sum(M, axis=0|1)"),
    ("expp(X)", "did you mean exp"),
    ("trace(X)", "did you mean tr"),
    ("foo(X)", "foo is not a known function"),
    ("(X)(Y)", "X is not a known function"),
    ("f(X)(Y)", "only named functions can be called"),
    ("X.shape", "only the attribute .T"),
    ("X.__class__", "not .__class__"),
    ("__import__('os')", "__import__ is not a known function"),
    ("__class__", "names starting with _"),
    ("(lambda: 1)()", "only named functions can be called"),
    ("lambda: X", "lambda is not allowed"),
    ("[x for x in X]", "a comprehension is not allowed"),
    ("sum(x for x in X)", "a comprehension is not allowed"),
    ("X[0]", "indexing is not allowed"),
    ("'X'", "a string is not allowed"),
    ("b'X'", "bytes is not allowed"),
    ("f'{X}'", "an f-string is not allowed"),
    ("tr(*X)", "unpacking (*) is not allowed"),
    ("sum(X, axes=0)", "sum takes no keyword axes="),
    ("tr(X, axis=0)", "tr takes no keyword axis="),
    ("tr(**X)", "takes no keyword **"),
    ("sum(X, axis=2)", "axis must be 0 (columns) or 1 (rows)"),
    ("sum(X, axis=N)", "axis must be 0"),
    ("True * X", "True is not allowed"),
    ("None", "None is not allowed"),
    ("2j * X", "2j is not allowed"),
    ("X == Y", "comparisons are allowed only in assumptions"),
    ("X < Y", "comparisons are allowed only in assumptions"),
    ("(Y := X)", "assignment (:=) is not allowed"),
    ("X if Y else Z", "a conditional expression is not allowed"),
    ("X and Y", "and/or is not allowed"),
    ("not X", "UnaryOp is not allowed"),
    ("{1: X}", "a dict is not allowed"),
    ("[X]", "a list is not allowed"),
    ("{X}", "a set is not allowed"),
    ("(X, Y)", "a tuple is not allowed"),
    ("exp + X", "exp is a function; call it as exp(...)"),
    ("X % Y", "the operator % is not supported"),
    ("X // Y", "the operator // is not supported"),
    ("X ** Y", "the exponent must be a number"),
    ("X ** lam", "the exponent must be a number"),
    ("ones(0, 3)", "a size must be a positive integer or a name"),
    ("ones(X.T, 1)", "a size must be a positive integer or a name"),
    ("2 ** 2 ** 20", "the exponent of a number must be at most 1000"),
    ("1e999 * X", "a number must be finite"),
    ("X / 0", "divides by zero"),
    ("X * 0 ** -1", "divides by zero"),
]


@pytest.mark.parametrize("source, fragment", BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_parse_error(source, fragment):
    with pytest.raises(ParseError) as e:
        parse(source)
    assert fragment in str(e.value)
    assert str(e.value).splitlines()[1] == "  " + source     # the input, then a caret


@pytest.mark.parametrize("source, col", [
    ("X.shape", 2), ("X % Y", 2), ("(A + B) // C", 8), ("tr(X, Y)", 0), ("expp(X)", 0),
    ("2 * X[0]", 4), ("sum(X, axis=2)", 12), ("λ + X.foo", 6), ("λ + X // Y", 6),
])
def test_caret_points_at_the_column(source, col):
    with pytest.raises(ParseError) as e:
        parse(source)
    assert e.value.col == col
    assert str(e.value).splitlines()[2] == "  " + " " * col + "^"


@pytest.mark.parametrize("source, col", [("X +", 3), ("tr(X", 2), ("X @@ Y", 3), ("W @", 3)])
def test_syntax_errors_show_a_caret(source, col):
    with pytest.raises(ParseError) as e:
        parse(source)
    lines = str(e.value).splitlines()
    assert lines[0].startswith("syntax error")
    assert lines[1:] == ["  " + source, "  " + " " * col + "^"]


def test_empty_and_non_string_input():
    with pytest.raises(ParseError, match="syntax error"):
        parse("")
    with pytest.raises(ParseError, match="must be a string"):
        parse(3)


def test_length_limit():
    ok = "+".join(["X"] * 50)
    assert parse(ok).expr == E.matmul(50, parse("X").symbols["X"])
    with pytest.raises(ParseError, match=f"limit is {MAX_LENGTH}"):
        parse("X" * (MAX_LENGTH + 1))


def test_depth_limit():
    assert parse("-" * (MAX_DEPTH - 1) + "X").expr == E.neg(parse("X").symbols["X"])
    with pytest.raises(ParseError, match=f"nested deeper than {MAX_DEPTH}"):
        parse("-" * (MAX_DEPTH + 1) + "X")
    with pytest.raises(ParseError, match="nested deeper"):
        parse("exp(" * 150 + "X" + ")" * 150)


def test_a_size_cannot_be_declared_a_matrix():
    with pytest.raises(ParseError, match="N is a size"):
        parse("ones(1, N) @ N", {"N": (3, 3)})


# ---------------------------------------------------------------- nothing is executed

@pytest.fixture
def no_evaluation(monkeypatch):
    """Make every way of running text fail, except ast.parse's compile to a tree."""
    real_compile = builtins.compile

    def only_ast(source, filename, mode, flags=0, *args, **kwargs):
        assert flags & ast.PyCF_ONLY_AST, "compiled user text to code"
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def forbidden(*args, **kwargs):
        raise AssertionError("evaluated user text")

    def no_strings(real):
        def wrapper(a, *args, **kwargs):
            assert not isinstance(a, str), "sympified user text"
            return real(a, *args, **kwargs)
        return wrapper

    monkeypatch.setattr(builtins, "compile", only_ast)
    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(sp, "sympify", no_strings(sp.sympify))
    monkeypatch.setattr(sp, "parse_expr", forbidden)


@pytest.mark.parametrize("source", [
    "__import__('os').system('touch {marker}')",
    "X.__class__.__bases__",
    "(lambda: open('{marker}', 'w'))()",
    "[open('{marker}', 'w') for X in Y]",
    "exec('open(\"{marker}\", \"w\")')",
    "eval('1')",
])
def test_hostile_input_is_rejected_and_never_run(source, tmp_path, no_evaluation):
    marker = tmp_path / "ran"
    with pytest.raises(ParseError):
        parse(source.format(marker=marker))
    assert not marker.exists()


def test_valid_input_needs_no_evaluation(no_evaluation):
    p = parse("norm(W @ X + b @ ones(1, N) - Y)**2 / N + 0.5 * lam * norm(W)**2")
    assert sp.Rational(1, 2) in p.expr.atoms(sp.Rational)


def test_the_module_calls_no_evaluator():
    tree = ast.parse(pathlib.Path(parse_module.__file__).read_text())
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert not names & {"eval", "exec", "compile", "sympify", "parse_expr", "__import__"}
    assert not attrs & {"sympify", "parse_expr", "S", "exec_"}


# ---------------------------------------------------------------- assumptions

def test_assumption_column_sums():
    p = parse("-sum(Y * logsoftmax(W @ X))")
    Y = p.symbols["Y"]
    a = parse_assumption("sum(Y, axis=0) == 1", p.symbols)
    assert isinstance(a, Assumption)
    lhs, rhs = a
    assert lhs == E.sum_axis(Y, 0)
    assert rhs == E.ones(1, Y.shape[1])


def test_assumption_between_matrices_and_scalars():
    p = parse("x.T @ A @ x + lam")
    lhs, rhs = parse_assumption("A.T == A", p.symbols)
    assert (lhs, rhs) == (E.transpose(p.symbols["A"]), p.symbols["A"])
    lhs, rhs = parse_assumption("x.T @ x == 1", p.symbols)
    x = p.symbols["x"]
    assert lhs == E.trace(E.matmul(E.transpose(x), x)) and rhs == 1
    assert parse_assumption("lam == 0.5", p.symbols).rhs == sp.Rational(1, 2)


@pytest.mark.parametrize("source, error, fragment", [
    ("sum(Y)", ParseError, "one equation, lhs == rhs"),
    ("Y < 1", ParseError, "one equation"),
    ("Y == 1 == Y", ParseError, "one equation"),
    ("Z == 1", ParseError, "Z is not a variable of the expression"),
    ("Y == W", ShapeError, "the sides of the assumption differ"),
    ("(Y == 1) == 1", ParseError, "comparisons are allowed only in assumptions"),
])
def test_bad_assumptions(source, error, fragment):
    p = parse("-sum(Y * logsoftmax(W @ X))", {"W": (3, 4)})
    with pytest.raises(error) as e:
        parse_assumption(source, p.symbols)
    assert fragment in str(e.value)


# ---------------------------------------------------------------- shape specs

@pytest.mark.parametrize("spec, shape", [
    ("3x4", (3, 4)), ("n x m", ("n", "m")), ("n×m", ("n", "m")), ("n × m", ("n", "m")),
    ("3", (3, 1)), ("1x1", (1, 1)), ("scalar", ()), (" 10 x N ", (10, "N")),
    ("nxm", ("n", "m")), ("d_in x 3", ("d_in", 3)),
])
def test_parse_shape(spec, shape):
    assert parse_shape(spec) == shape


@pytest.mark.parametrize("spec, fragment", [
    ("3x", "expected ROWSxCOLS"), ("x4", "expected ROWSxCOLS"), ("0x4", "not 0"),
    ("3x4x5", "not 4x5"), ("", "expected ROWSxCOLS"), ("3 by 4", "expected ROWSxCOLS"),
    ("-3x4", "expected ROWSxCOLS"), ("3x0", "not 0"),
])
def test_bad_shape_specs(spec, fragment):
    with pytest.raises(ParseError) as e:
        parse_shape(spec)
    assert fragment in str(e.value)
