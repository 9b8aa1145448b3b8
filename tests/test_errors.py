"""core/errors.py: the MatcalcError family, operands formatted when shown, ParseError's caret."""
import pytest
import sympy as sp

from matcalc.core import errors
from matcalc.core.errors import (MatcalcError, Message, NoRuleError, NotScalarError, ParseError,
                                 ShapeError, Shown, VerificationError, show_operands_with, shown)
from matcalc.core.expr import dim, matmul, matrix, scalar, transpose
from matcalc.printing.text import text

A = matrix("A", 2, 3)
P = matrix("P", dim("n"), 3)
lam = scalar("lam")


@pytest.fixture
def formatter():
    """Install a formatter for the duration of one test; the one installed before returns."""
    before = errors._show[0]
    yield show_operands_with
    show_operands_with(before)


def test_fields_operand_shape_and_dims():
    AtA = matmul(transpose(A), A)
    assert shown("{0} | {0:shape} | {0:dims}", A) == "A | A (2×3) | 2×3"
    assert shown("{0} | {0:shape} | {0:dims}", AtA) == "A.T @ A | A.T @ A (3×3) | 3×3"
    assert shown("{0:shape}", P) == "P (n×3)"
    assert shown("{0:dims} by {1:dims}", P, transpose(P)) == "n×3 by 3×n"


def test_scalar_operands_have_no_dimensions():
    assert shown("{0:shape}", lam) == "lam (scalar)"
    assert shown("{0:dims}", sp.Integer(4)) == "scalar"
    assert shown("{0} ≠ {1}", 4, 5) == "4 ≠ 5"          # plain numbers are operands too


def test_operands_use_the_text_printer_once_it_is_loaded():
    e = matmul(transpose(A), A)
    assert errors._show[0] is text
    assert str(MatcalcError("{0} is singular", e)) == "A.T @ A is singular"


def test_without_the_printer_operands_are_sympy_strings(formatter):
    formatter(errors._plain)
    assert shown("{0:shape}", matmul(transpose(A), A)) == "A.T*A (3×3)"


def test_show_operands_with_installs_the_formatter(formatter):
    show_operands_with(lambda e: f"<{e}>")       # the fixture restores the text printer
    assert shown("{0:shape}", P) == "<P> (<n>×<3>)"


def test_an_error_is_formatted_when_shown_not_when_raised(formatter):
    err = ShapeError("cannot use {0:shape}", A)
    assert str(err) == "cannot use A (2×3)"
    formatter(lambda e: "«" + str(e) + "»")
    assert str(err) == "cannot use «A» («2»×«3»)"
    assert err.template == "cannot use {0:shape}" and err.operands == (A,)


def test_a_finished_message_is_kept_as_written():
    err = MatcalcError("no operands: {0} stays")
    assert str(err) == "no operands: {0} stays"
    assert err.operands == ()


def test_message_is_formatted_each_time(formatter):
    m = Message("{0} is symmetric", A)
    assert str(m) == "A is symmetric"
    assert repr(m) == "Message('A is symmetric')"
    formatter(lambda e: "X")
    assert str(m) == "X is symmetric"
    assert str(Message("plain {0}")) == "plain {0}"    # no operands: not a template


def test_shown_wraps_its_operand():
    s = Shown(A)
    assert s.value is A
    assert str(s) == "A" and format(s, "shape") == "A (2×3)"


def test_unknown_format_spec_raises():
    with pytest.raises(ValueError, match="unknown operand format 'rows'"):
        shown("{0:rows}", A)
    with pytest.raises(ValueError, match="unknown operand format 'x'"):
        str(MatcalcError("{0:x}", A))


def test_parse_error_points_at_the_column():
    err = ParseError("unexpected '@'", "A @@ B", 3)
    assert str(err) == "unexpected '@'\n  A @@ B\n     ^"
    assert (err.text, err.col) == ("A @@ B", 3)
    assert str(ParseError("bad", "x", 0)) == "bad\n  x\n  ^"


def test_parse_error_without_a_single_line_has_no_caret():
    assert str(ParseError("empty input")) == "empty input"
    assert str(ParseError("bad", "A", None)) == "bad"
    assert str(ParseError("bad", "A\nB", 1)) == "bad"


@pytest.mark.parametrize("cls, generic", [
    (ShapeError, ValueError),
    (ParseError, ValueError),
    (NoRuleError, TypeError),
    (NotScalarError, ValueError),
    (VerificationError, AssertionError),
])
def test_subclasses_are_also_generic_errors(cls, generic):
    assert issubclass(cls, MatcalcError) and issubclass(cls, generic)
    err = cls("{0} went wrong") if cls is ParseError else cls("{0} went wrong", A)
    with pytest.raises(generic):
        raise err


def test_the_family_is_exactly_what_the_module_exports():
    classes = {n for n in errors.__all__ if isinstance(getattr(errors, n), type)
               and issubclass(getattr(errors, n), MatcalcError)}
    assert classes == {"MatcalcError", "ShapeError", "ParseError", "NoRuleError",
                       "NotScalarError", "VerificationError", "TooLargeError", "ArgumentError"}
    assert issubclass(errors.ArgumentError, TypeError)    # a wrong type passed to a front door
    assert issubclass(errors.TooLargeError, ShapeError)    # too large sizes always were
    assert not issubclass(NoRuleError, ValueError) and not issubclass(ShapeError, TypeError)
