"""The differential table: each rule gives the textbook identity, and every class has one."""
import pytest
import sympy as sp

from matcalc.calculus.differential import DIFFERENTIALS, differential
from matcalc.core.errors import NoRuleError
from matcalc.core.expr import (Differential, add, apply, det, entry_sum, hadamard, inverse, logdet,
                          matmul, matrix, norm, softmax, sub, trace, transpose)
from matcalc.printing.text import text
from matcalc.calculus.steps import Derivation

A, X, B = matrix("A", 2, 3), matrix("X", 3, 4), matrix("B", 4, 2)
S = matrix("S", 3, 3)
dX, dS = Differential(X), Differential(S)


def test_product_rule():
    assert differential(matmul(A, X, B), [X]) == matmul(A, dX, B)
    d = differential(matmul(transpose(X), X), [X])
    assert d == add(matmul(transpose(dX), X), matmul(transpose(X), dX))


def test_constants_have_zero_differential():
    assert differential(matmul(A, X), [A]) == matmul(Differential(A), X)
    assert differential(trace(matmul(A, X, B)), []) == 0


def test_inverse_det_logdet():
    assert differential(inverse(S), [S]) == matmul(-1, inverse(S), dS, inverse(S))
    assert differential(det(S), [S]) == det(S) * trace(matmul(inverse(S), dS))
    assert differential(logdet(S), [S]) == trace(matmul(inverse(S), dS))


def test_norm_squared_cancels_the_norm():
    M = sub(matmul(A, X), matrix("C", 2, 4))
    d = differential(norm(M) ** 2, [X])
    assert text(d) == "2*tr((A @ X - C).T @ A @ dX)"


def test_elementwise_chain_rule():
    d = differential(entry_sum(apply("exp", X)), [X])
    assert d == entry_sum(hadamard(apply("exp", X), dX))
    d = differential(apply("sigmoid", X), [X])
    assert text(d) == "dX * (1 - sigmoid(X))*sigmoid(X)"


def test_softmax_differential():
    d = differential(softmax(X), [X])
    assert text(d) == "dX * softmax(X) - softmax(X) * (ones(3, 3) @ (dX * softmax(X)))"


def test_steps_are_recorded_with_the_identity():
    D = Derivation()
    differential(trace(matmul(A, X, B)), [X], D)
    rules = [s.rule for s in D.of_kind("differential")]
    assert rules == ["d(AB) = dA·B + A·dB  (Cookbook 37)", "d tr(A) = tr(dA)  (Cookbook 36)"]


def test_missing_rule_names_the_table():
    class Weird(sp.Function):
        pass
    f = Weird(trace(X.T * X), trace(X.T * X))
    with pytest.raises(NoRuleError, match="several arguments"):
        differential(f, [X])


def test_every_rule_carries_its_identity():
    """A field (python -OO drops docstrings), repeated as the docstring for help()."""
    for cls, rule in DIFFERENTIALS.items():
        assert "=" in rule.identity and rule.__doc__ in (None, rule.identity), cls
