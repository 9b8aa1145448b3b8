"""The one scalar-variable adapter (core/scalars.py): s as the 1×1 matrix S with s = tr(S),
and back; the front doors and the proofs read a scalar variable the same way."""
import pytest
import sympy as sp

import matcalc
from matcalc.core.errors import MatcalcError
from matcalc.core.expr import T, apply, elementwise, matmul, matrix, trace
from matcalc.core.scalars import (as_matrix, as_matrix_variable, in_matrices, matrix_variable,
                                  read_back)
from matcalc.printing.text import text

s = sp.Symbol("s", real=True)
S = sp.MatrixSymbol("s", 1, 1)
X = matrix("X", 3, 3)


def test_a_scalar_is_the_one_by_one_matrix_it_is():
    assert matrix_variable(s) == S and matrix_variable(X) is X
    f = s * trace(X)
    assert in_matrices(f, {s: S}) == sp.Trace(S) * trace(X)
    assert text(in_matrices(matmul(s, X), {s: S}, rebuilt=True)) == "tr(s)*X"
    assert as_matrix(2 * s, {s: S}) == sp.MatMul(2 * sp.Trace(S), sp.Identity(1))
    assert as_matrix(0) == sp.ZeroMatrix(1, 1)
    assert as_matrix_variable(f, s, 2 * s) == (in_matrices(f, {s: S}), S,
                                                as_matrix(2 * s, {s: S}))
    assert as_matrix_variable(f, X, 1) == (f, X, 1)


def test_read_back_gives_the_number():
    g = matmul(S, apply("exp", S))           # S exp(S), 1×1
    assert read_back(g, {S: s}, True) == s * sp.exp(s)
    assert text(read_back(matmul(X, trace(S)), {S: s}, False)) == "s*X"


def test_an_entrywise_body_holding_s_is_refused_by_name():
    e = elementwise(sp.exp(s * T), X)
    with pytest.raises(MatcalcError, match="stands inside an entrywise function's body"):
        in_matrices(e, {s: S}, rebuilt=True)


@pytest.mark.parametrize("f, printed", [
    ("alpha * tr(A @ X)", "tr(A @ X)"),
    ("log(alpha) + alpha**2 * tr(X)", "2*alpha*tr(X) + 1/alpha"),
])
def test_grad_by_a_scalar_reads_back_and_is_proven(f, printed):
    g = matcalc.grad(f, "alpha", shapes={"X": (3, 3), "A": (3, 3)})
    assert text(g.expr) == printed
    g.verify()
