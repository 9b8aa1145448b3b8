"""calculus/steps.py: Step, the Derivation record, and KINDS, the kinds of step emitted."""
import dataclasses

import pytest
from sympy import Transpose

import matcalc
from matcalc.calculus.steps import KINDS, Derivation, Step
from matcalc.core.errors import Message
from matcalc.core.expr import matrix

A = matrix("A", 2, 3)


def test_add_records_a_step_and_returns_after():
    D = Derivation()
    out = D.add("simplify", "Aᵀᵀ = A", Transpose(Transpose(A)), A)
    assert out is A
    assert D.steps == [Step("simplify", "Aᵀᵀ = A", Transpose(Transpose(A)), A)]


def test_add_skips_no_op_steps():
    D = Derivation()
    assert D.add("simplify", "nothing", A, A) is A
    assert D.add("differential", "d0 = 0", 0, 0) == 0
    assert D.steps == []


def test_steps_keep_their_order():
    D = Derivation()
    for i, kind in enumerate(("result", "move", "differential", "move")):
        D.add(kind, f"rule {i}", i, i + 1)
    assert [(s.kind, s.rule, s.before, s.after) for s in D.steps] == [
        ("result", "rule 0", 0, 1), ("move", "rule 1", 1, 2),
        ("differential", "rule 2", 2, 3), ("move", "rule 3", 3, 4)]


def test_of_kind_filters_in_order():
    D = Derivation()
    for i, kind in enumerate(("move", "delta", "move", "simplify")):
        D.add(kind, f"rule {i}", i, i + 1)
    assert [s.rule for s in D.of_kind("move")] == ["rule 0", "rule 2"]
    assert [s.rule for s in D.of_kind("delta")] == ["rule 1"]
    assert D.of_kind("result") == []


def test_unknown_kind_is_rejected():
    D = Derivation()
    with pytest.raises(AssertionError, match="proof"):
        D.add("proof", "rule", 0, 1)
    assert D.steps == []


def test_a_rule_may_be_a_message():
    D = Derivation()
    D.add("delta", Message("∂L/∂{0}", A), 0, 1)
    assert str(D.steps[0].rule) == "∂L/∂A"


def test_steps_are_frozen_and_derivations_independent():
    s = Step("move", "r", 0, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.kind = "delta"
    D1, D2 = Derivation(), Derivation()
    D1.add("move", "r", 0, 1)
    assert D2.steps == []


def test_kinds_are_exactly_those_emitted():
    g = matcalc.grad("tr(X.T @ A @ X)", "X", shapes={"X": (3, 2), "A": (3, 3)})
    assert g.text() == "(A + A.T) @ X"
    from_grad = {s.kind for s in g.derivation.steps}
    assert from_grad == {"differential", "result", "move", "simplify"}   # no δ in one line
    b = matcalc.derive(matcalc.mlp([3, 4, 2]))
    from_net = {s.kind for s in b.derivation.steps}
    assert from_grad | from_net <= set(KINDS)        # nothing emitted outside KINDS
    assert from_grad | from_net == set(KINDS)        # and every kind is emitted
    assert len(KINDS) == len(set(KINDS)) == 6


def test_a_step_taken_again_is_recorded_once():
    D = Derivation()
    D.add("simplify", "reuse", 1, 2)
    D.add("differential", "d", 2, 3)
    D.add("simplify", "reuse", 1, 2)              # the same rewrite met in another place
    D.add("move", "reuse", 1, 2)                  # another kind: a step of its own
    assert [(s.kind, s.before, s.after) for s in D.steps] == [
        ("simplify", 1, 2), ("differential", 2, 3), ("move", 1, 2)]


def test_the_sweep_records_each_adjoint_and_the_moves_by_name():
    b = matcalc.derive(matcalc.mlp([3, 4, 2]))
    adjoints = [(str(s.before), str(s.rule)) for s in b.derivation.of_kind("adjoint")]
    assert adjoints == [("S", "∂L/∂S"), ("Z2", "∂L/∂Z2"), ("A1", "∂L/∂A1"), ("Z1", "∂L/∂Z1")]
    rules = {str(s.rule) for s in b.derivation.of_kind("move")}
    assert "tr(Gᵀ A L B) = tr((Aᵀ G Bᵀ)ᵀ L)" in rules          # the MOVES entries used
    assert "tr(Gᵀ (F ⊙ L)) = tr((G ⊙ F)ᵀ L)" in rules
