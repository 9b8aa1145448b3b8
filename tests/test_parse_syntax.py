"""Tests of parse/syntax.py: the whitelist, carets under the column, limits, nothing executed."""
import ast
import builtins
import pathlib

import pytest
import sympy as sp

import matcalc.core.expr as E
import matcalc.parse as parse_module
from matcalc.core.errors import ParseError
from matcalc.parse import MAX_DEPTH, MAX_LENGTH, parse
from matcalc.parse import build, syntax

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


def test_the_first_error_in_reading_order_is_reported():
    """The whitelist runs during the shape walk, node by node, not as a pass before it."""
    with pytest.raises(ParseError, match="indexing"):
        parse("X[0] ** Y")                  # the base is met before the exponent
    with pytest.raises(ParseError, match="the exponent must be a number"):
        parse("X ** Y + Z[0]")


def test_read_returns_the_expression_node():
    assert type(syntax.read("W @ X")) is ast.BinOp


def test_the_whitelist_operators_are_the_built_ones():
    assert set(syntax.OPERATORS) == set(build._OPERATORS)


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


@pytest.mark.parametrize("module", sorted(
    pathlib.Path(parse_module.__file__).parent.glob("*.py")), ids=lambda p: p.name)
def test_the_module_calls_no_evaluator(module):
    tree = ast.parse(module.read_text())
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert not names & {"eval", "exec", "compile", "sympify", "parse_expr", "__import__"}
    assert not attrs & {"sympify", "parse_expr", "S", "exec_"}
