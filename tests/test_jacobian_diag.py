"""Jacobians through diag read as the matrices they are (calculus/jacobian.py RULES:
kron_against_selector, selector_square, diagonal_projection): `diag(x) @ y` by x is diag(y),
not kron(y.T, eye(n)) @ diag(vec(eye(n))) @ kron(ones(n, 1), eye(n)). Every printed form is
proven first (exactly and by central differences); here each is also checked by finite
differences of its own, and each rule's identity on numbers."""
import numpy as np
import pytest

import matcalc
from matcalc.calculus.jacobian import (diagonal_projection, kron_against_selector,
                                       selector_square, _diagonal_selector)
from matcalc.cli import main
from matcalc.core.expr import diag, eye, matmul, matrix, transpose
from matcalc.core.kron import commutation, kron, vec
from matcalc.verify import evaluate

PROVEN = "verified exactly (sympy.diff, entrywise) and by central differences\n"


@pytest.mark.parametrize("f, wrt, printed", [
    ("diag(x) @ y", "x", "J = diag(y)    (x: n×1, y: n×1)"),
    ("y.T @ diag(x)", "x", "J = diag(y)    (y: n×1, x: n×1)"),
    ("A @ diag(x) @ y", "x", "J = A @ diag(y)    (A: n×m, x: m×1, y: m×1)"),
    ("y.T @ diag(x) @ B", "x", "J = B.T @ diag(y)    (y: n×1, x: n×1, B: n×m)"),
    ("diag(x) @ B", "x", "J = diag(vec(B)) @ kron(ones(m, 1), eye(n))    (x: n×1, B: n×m)"),
    ("diag(exp(x)) @ y", "x", "J = diag(y) @ diag(exp(x))    (x: n×1, y: n×1)"),
    ("diag(x @ y.T)", "x", "J = diag(y)    (x: n×1, y: n×1)"),
    ("diag(diag(X))", "X", "J = diag(vec(eye(n)))    (X: n×n)"),
    ("diag(X) + diag(X.T)", "X", "J = 2*kron(ones(1, n), eye(n)) @ diag(vec(eye(n)))    (X: n×n)"),
    ("diag(x) @ diag(x) @ y", "x",
     "J = diag(x) @ diag(y) + diag(diag(x) @ y)    (x: n×1, y: n×1)"),
])
def test_diag_jacobians_print_readably_and_proven(capsys, f, wrt, printed):
    assert main(["jacobian", f, "--wrt", wrt]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == printed
    assert err == PROVEN


def _central(f, x0, h=1e-6):
    cols = []
    for k in range(x0.size):
        e = np.zeros(x0.size)
        e[k] = h
        cols.append((f((x0.ravel(order="F") + e).reshape(x0.shape, order="F")) -
                     f((x0.ravel(order="F") - e).reshape(x0.shape, order="F"))).ravel(order="F")
                    / (2 * h))
    return np.column_stack(cols)


def test_diag_x_times_y_is_diag_y_by_differences():
    rng = np.random.default_rng(3)
    x0, y0 = rng.normal(size=(4, 1)), rng.normal(size=(4, 1))
    j = matcalc.jacobian("diag(x) @ y", "x")
    values = {s: v for s in j.expr.free_symbols | j.f.free_symbols
              for name, v in (("x", x0), ("y", y0)) if str(s) == name}
    got = np.asarray(evaluate(j.expr, values), dtype=float)
    np.testing.assert_allclose(got, _central(lambda x: np.diag(x.ravel()) @ y0, x0), atol=1e-8)
    np.testing.assert_allclose(got, np.diag(y0.ravel()))


def _value(e, values):
    return np.asarray(evaluate(e, values), dtype=float)


def test_each_rule_holds_on_numbers():
    rng = np.random.default_rng(0)
    n, m = 3, 2
    S = _diagonal_selector(n)
    P, Q, y = matrix("P", m, n), matrix("Q", m, n), matrix("y", n, 1)
    r, B = matrix("r", 1, n), matrix("B", n, m)
    values = {P: rng.normal(size=(m, n)), Q: rng.normal(size=(m, n)), y: rng.normal(size=(n, 1)),
              r: rng.normal(size=(1, n)), B: rng.normal(size=(n, m))}
    cases = [
        (kron_against_selector, matmul(kron(r, Q), S)),             # Q diag(rᵀ)
        (kron_against_selector, matmul(kron(P, r), S)),             # P diag(rᵀ)
        (kron_against_selector, matmul(kron(transpose(B), eye(n)), S)),
        (kron_against_selector, matmul(transpose(S), kron(y, B))),   # diag(y) B
        (kron_against_selector, matmul(transpose(S), kron(B, y))),   # diag(y) B
        (kron_against_selector, matmul(transpose(S), kron(B, eye(n)))),
        (kron_against_selector, matmul(kron(r, Q) + 2 * kron(P, r), S)),
        (selector_square, matmul(S, transpose(S))),
        (diagonal_projection, matmul(diag(vec(eye(n))), commutation(n, n))),
        (diagonal_projection, matmul(commutation(n, n), diag(vec(eye(n))))),
        (diagonal_projection, matmul(diag(vec(eye(n))), diag(vec(eye(n))))),
    ]
    for rule, e in cases:
        out = rule(e)
        assert out != e, (rule.__name__, e)                         # the rule applies
        np.testing.assert_allclose(_value(out, values), _value(e, values), atol=1e-12)


def test_rules_leave_other_products_alone():
    n = 3
    S = _diagonal_selector(n)
    A, C = matrix("A", 2, n), matrix("C", n, n)      # neither factor a row nor the identity
    e = matmul(kron(A, C), S)
    assert kron_against_selector(e) == e
    d = matmul(diag(vec(eye(n))), kron(C, C))
    assert diagonal_projection(d) == d
