"""core/program.py: Assignment and the SSA Program (checks, single, output, names, text)."""
import dataclasses

import pytest
import sympy as sp

from matcalc.core.errors import MatcalcError
from matcalc.core.expr import apply, entry_sum, matmul, matrix, trace, transpose
from matcalc.core.program import Assignment, Program

W, X = matrix("W", 2, 3), matrix("X", 3, 4)
Z, A = matrix("Z", 2, 4), matrix("A", 2, 4)
L = sp.Symbol("L")


def net():
    return Program((Assignment(Z, matmul(W, X)),
                    Assignment(A, apply("sigmoid", Z)),
                    Assignment(L, entry_sum(A))))


def test_str_is_text_syntax():
    assert str(Assignment(Z, matmul(W, X))) == "Z := W @ X"
    assert str(net()) == "Z := W @ X\nA := sigmoid(Z)\nL := sum(A)"


def test_output_names_iteration_and_length():
    p = net()
    assert p.output == L
    assert p.names() == [Z, A, L]
    assert [a.name for a in p] == [Z, A, L]
    assert [a.expr for a in p] == [matmul(W, X), apply("sigmoid", Z), entry_sum(A)]
    assert len(p) == 3


def test_assigning_a_name_twice_raises_naming_it():
    with pytest.raises(MatcalcError) as e:
        Program((Assignment(Z, matmul(W, X)), Assignment(Z, apply("exp", Z))))
    assert str(e.value) == "Z is assigned twice; a program is SSA"


def test_assigning_a_name_twice_is_caught_anywhere():
    with pytest.raises(MatcalcError, match="^L is assigned twice"):
        Program(net().assignments + (Assignment(L, trace(matmul(transpose(A), A))),))


@pytest.mark.parametrize("name, expr, message", [
    (matrix("Z", 2, 3), matmul(W, X), "cannot assign W @ X (2×4) to Z (2×3): the shapes differ"),
    (matrix("Z", 4, 2), matmul(W, X), "cannot assign W @ X (2×4) to Z (4×2): the shapes differ"),
    (L, matmul(W, X), "cannot assign W @ X (2×4) to L (scalar): the shapes differ"),
    (Z, trace(matmul(W, transpose(W))),
     "cannot assign tr(W @ W.T) (scalar) to Z (2×4): the shapes differ"),
])
def test_shape_mismatch_raises_naming_both(name, expr, message):
    with pytest.raises(MatcalcError) as e:
        Program((Assignment(name, expr),))
    assert str(e.value) == message


def test_single_scalar():
    f = trace(matmul(transpose(W), W))
    p = Program.single(f)
    assert len(p) == 1 and str(p) == "f := tr(W.T @ W)"
    assert p.output == sp.Symbol("f") and not isinstance(p.output, sp.MatrixSymbol)
    assert p.assignments[0].expr == f


def test_single_matrix_is_named_with_its_shape():
    p = Program.single(matmul(W, X), name="G")
    assert p.output == sp.MatrixSymbol("G", 2, 4)
    assert str(p) == "G := W @ X"


def test_assignments_and_programs_are_frozen():
    a = Assignment(Z, matmul(W, X))
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.name = A
    with pytest.raises(dataclasses.FrozenInstanceError):
        net().assignments = ()
    assert a == Assignment(Z, matmul(W, X)) and net() == net()
