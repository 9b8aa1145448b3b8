"""Rewrite rules: structure of the result and the declared assumptions."""
import sympy as sp

from matcalc.core.expr import (add, hadamard, matmul, matrix, ones, softmax, sub, sum_axis,
                          transpose)
from matcalc.printing.text import text
from matcalc.calculus.simplify import (ColumnsSumToOne, Equals, RowsSumToOne, Symmetric, assumption,
                              collect, simplify)
from matcalc.calculus.steps import Derivation

A, X = matrix("A", 3, 3), matrix("X", 3, 4)
Y = matrix("Y", 3, 5)


def test_collect_common_right_and_left_factors():
    assert text(collect(add(matmul(A, X), matmul(transpose(A), X)))) == "(A + A.T) @ X"
    P = matrix("P", 4, 2)
    assert text(collect(add(matmul(X, P), matmul(2, X, matrix("Q", 4, 2))))) == "X @ (P + 2*Q)"


def test_collect_leaves_unrelated_terms():
    e = add(matmul(A, X), matmul(transpose(A), X), X)
    assert text(collect(e)) == "(A + A.T) @ X + X"


def test_columns_sum_to_one():
    S = softmax(matrix("Z", 3, 5))
    raw = sub(hadamard(S, matmul(ones(3, 3), Y)), Y)
    D = Derivation()
    out = simplify(raw, assumptions=[ColumnsSumToOne(Y)], derivation=D)
    assert text(out) == "softmax(Z) - Y"
    assert any("each column of Y sums to 1" in s.rule for s in D.steps)


def test_assumption_from_equation():
    assert assumption(sum_axis(Y, 0), sp.S.One) == ColumnsSumToOne(Y)
    assert assumption(sum_axis(Y, 1), sp.S.One) == RowsSumToOne(Y)
    assert assumption(transpose(A), A) == Symmetric(A)
    assert isinstance(assumption(matrix("C", 3, 3), A), Equals)


def test_symmetric():
    assert simplify(add(matmul(A, X), matmul(transpose(A), X)),
                    assumptions=[Symmetric(A)]) == matmul(2, A, X)
