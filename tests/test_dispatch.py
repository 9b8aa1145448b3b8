"""core/dispatch.py: Table, the class-keyed rule lookup along the MRO."""
import pytest
import sympy as sp

from matcalc.calculus.adjoint import MOVES
from matcalc.calculus.differential import DIFFERENTIALS
from matcalc.core.dispatch import Table
from matcalc.core.errors import MatcalcError, NoRuleError
from matcalc.core.expr import matrix

x = sp.Symbol("x")


class Base:
    pass


class Left(Base):
    pass


class Right(Base):
    pass


class Diamond(Left, Right):
    pass


def table(entries=None):
    return Table("test rule", "TABLE in tests/test_dispatch.py",
                 {sp.Function: "function"} if entries is None else entries)


def test_exact_class_entry():
    t = table({sp.Function: "function", sp.sin: "sin"})
    assert t.rule(sp.sin(x)) == "sin"


def test_subclass_found_through_its_base():
    t = table()
    assert t.rule(sp.sin(x)) == "function"          # sin → TrigonometricFunction → Function
    assert t.rule(sp.exp(x)) == "function"


def test_nearest_base_wins():
    t = table({sp.Function: "function", sp.functions.elementary.trigonometric.
               TrigonometricFunction: "trig"})
    assert t.rule(sp.sin(x)) == "trig"
    assert t.rule(sp.exp(x)) == "function"
    t = table({Base: "base", Right: "right", Left: "left"})
    assert t.rule(Diamond()) == "left"              # Diamond's MRO: Left, Right, Base
    assert t.rule(Right()) == "right"
    assert table({Base: "base", Right: "right"}).rule(Diamond()) == "right"


def test_setitem_is_seen_by_the_next_lookup():
    t = table()
    assert t.rule(sp.sin(x)) == "function"
    t[sp.sin] = "sin"
    assert t.rule(sp.sin(x)) == "sin"
    assert t.rule(sp.cos(x)) == "function"


def test_update_is_seen_by_the_next_lookup():
    t = table()
    assert t.rule(sp.cos(x)) == "function"
    t.update({sp.cos: "cos"})
    assert t.rule(sp.cos(x)) == "cos"
    t.update([(sp.cos, "cos again")])
    assert t.rule(sp.cos(x)) == "cos again"


def test_a_missing_rule_can_be_added_later():
    t = table()
    with pytest.raises(NoRuleError):
        t.rule(x)
    t[sp.Symbol] = "symbol"
    assert t.rule(x) == "symbol"


@pytest.mark.parametrize("mutate, expected", [
    (lambda t: t.setdefault(sp.sin, "sin"), "sin"),
    (lambda t: t.__ior__({sp.sin: "sin"}), "sin"),
    (lambda t: t.pop(sp.sin), "function"),
    (lambda t: t.__delitem__(sp.sin), "function"),
], ids=["setdefault", "ior", "pop", "del"])
def test_every_mutation_is_seen_by_the_next_lookup(mutate, expected):
    t = table()
    if expected == "function":
        t[sp.sin] = "sin"
    t.rule(sp.sin(x))
    mutate(t)
    assert t.rule(sp.sin(x)) == expected


def test_a_cleared_table_has_no_rules():
    t = table()
    t.rule(sp.sin(x))
    t.clear()
    with pytest.raises(NoRuleError):
        t.rule(sp.sin(x))


def test_covers():
    t = table({sp.Function: "function", Left: "left"})
    assert t.covers(sp.sin) and t.covers(sp.Function) and t.covers(Diamond)
    assert not t.covers(sp.Symbol) and not t.covers(Right) and not t.covers(Base)
    assert not table({}).covers(sp.sin)


def test_missing_rule_error_names_the_table():
    with pytest.raises(NoRuleError) as e:
        table().rule(x)
    assert str(e.value) == ("no test rule for Symbol; add an entry to TABLE in "
                            "tests/test_dispatch.py")
    assert isinstance(e.value, TypeError) and isinstance(e.value, MatcalcError)


def test_project_tables_name_themselves():
    X = matrix("X", 2, 3)
    with pytest.raises(NoRuleError, match=r"^no trace move for MatrixSymbol; add an entry to "
                                          r"MOVES in calculus/adjoint\.py$"):
        MOVES.rule(X)
    assert (DIFFERENTIALS.what, DIFFERENTIALS.where) == (
        "differential", "DIFFERENTIALS in calculus/differential.py")


def test_a_table_is_a_dict():
    t = table({sp.Function: 1, sp.Symbol: 2})
    assert isinstance(t, dict) and len(t) == 2 and t[sp.Symbol] == 2
    assert (t.what, t.where) == ("test rule", "TABLE in tests/test_dispatch.py")
