"""Tests of parse/ as callers see it: parse (built expressions, round trips), assumptions, specs."""
import pytest
import sympy as sp

import matcalc.core.expr as E
from matcalc.core.errors import ParseError, ShapeError
from matcalc.core.functions import FUNCTIONS
from matcalc.parse import Assumption, Parsed, parse, parse_assumption, parse_shape
from matcalc.printing.text import text


def shapes_of(p):
    return {name: getattr(s, "shape", "scalar") for name, s in p.symbols.items()}


# ---------------------------------------------------------------- the table: shapes and text

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


# ---------------------------------------------------------------- building

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


# ---------------------------------------------------------------- values checked when built

BAD_VALUES = [
    ("2 ** 2 ** 20", "the exponent of a number must be at most 1000"),
    ("1e999 * X", "a number must be finite"),
    ("X / 0", "divides by zero"),
    ("X * 0 ** -1", "divides by zero"),
]


@pytest.mark.parametrize("source, fragment", BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_bad_values_raise_parse_error(source, fragment):
    with pytest.raises(ParseError) as e:
        parse(source)
    assert fragment in str(e.value)
    assert str(e.value).splitlines()[1] == "  " + source     # the input, then a caret


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


def test_inequalities_are_assumptions_too():
    p = parse("-sum(log(b - A @ x))")
    b, A, x = (p.symbols[n] for n in "bAx")
    a = parse_assumption("b - A @ x > 0", p.symbols)
    assert (a.lhs, a.rhs, a.op) == (E.sub(b, E.matmul(A, x)), E.zeros(*b.shape), ">")
    for op in (">=", "<", "<="):
        assert parse_assumption(f"b {op} A @ x", p.symbols).op == op


@pytest.mark.parametrize("source, error, fragment", [
    ("sum(Y)", ParseError, "one equation or inequality: lhs == rhs, or lhs > rhs"),
    ("Y != 1", ParseError, "one equation or inequality"),
    ("0 < Y < 1", ParseError, "one equation or inequality"),
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
