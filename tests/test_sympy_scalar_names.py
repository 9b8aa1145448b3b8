"""SymPy input: a scalar variable given by its name is found as the Symbol itself is (grad,
jacobian, hessian), while a shape's dimension is no variable."""
import pytest
import sympy as sp

import matcalc
from matcalc.core.errors import MatcalcError

a = sp.Symbol("a")
n = sp.Symbol("n", integer=True, positive=True)
X = sp.MatrixSymbol("X", 3, 3)
x = sp.MatrixSymbol("x", 3, 1)


def _explicit(e, values):
    """e with each matrix symbol replaced by an explicit matrix of entry symbols."""
    return sp.Matrix(e.xreplace(values).doit()) if e.is_Matrix else e.xreplace(values).doit()


def test_grad_by_the_name_of_a_scalar_is_grad_by_the_symbol_and_right():
    f = a ** 2 * sp.Trace(X * X) + a * sp.Trace(X)
    by_name, by_symbol = matcalc.grad(f, "a"), matcalc.grad(f, a)
    assert by_name.wrt == a and by_name.text() == by_symbol.text() == "2*a*tr(X @ X) + tr(X)"
    by_name.verify()
    E = sp.Matrix(3, 3, lambda i, j: sp.Symbol(f"x{i}{j}"))
    explicit = sp.diff(_explicit(f, {X: E}), a)             # entrywise sympy.diff
    assert sp.expand(_explicit(by_name.expr, {X: E}) - explicit) == 0


def test_jacobian_and_hessian_by_the_name_of_a_scalar():
    j = matcalc.jacobian(sp.HadamardPower(x, 2) * a ** 2, "a")
    assert j.text() == matcalc.jacobian(sp.HadamardPower(x, 2) * a ** 2, a).text()
    e = sp.Matrix(3, 1, lambda i, _: sp.Symbol(f"x{i}"))
    want = sp.diff(sp.Matrix([a ** 2 * v ** 2 for v in e]), a)
    assert sp.expand(sp.Matrix(j.expr.xreplace({x: e}).doit()) - want) == sp.zeros(3, 1)
    h = matcalc.hessian(a ** 3 * sp.Trace(X), "a", form="matrix")
    assert sp.simplify(sp.sympify(h.expr) - 6 * a * sp.Trace(X)) == 0


def test_the_users_own_symbol_is_found_with_its_assumptions():
    p = sp.Symbol("p", positive=True)
    g = matcalc.grad(sp.log(p) * sp.Trace(X), "p")
    assert g.wrt is p and g.text() == "tr(X)/p"


def test_a_dimension_is_not_a_variable():
    Y = sp.MatrixSymbol("Y", n, n)
    with pytest.raises(MatcalcError, match=r"does not occur in .* \(its symbols: Y, a\)"):
        matcalc.grad(a * sp.Trace(Y), "n")
    with pytest.raises(MatcalcError, match=r"not a variable of .* \(its variables: a, x\)"):
        matcalc.jacobian(a * x, "b")
