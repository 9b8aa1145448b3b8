"""Canonical constructors: shapes checked with named operands, short canonical forms."""
import pytest
import sympy as sp

from matcalc.core.errors import ShapeError
from matcalc.core.expr import (Elementwise, T, add, apply, det, diag, dim, divide, elementwise,
                          entry_sum, eye, hadamard, inverse, logsoftmax, matmul, matrix, mul,
                          neg, norm, ones, power, scalar, softmax, sub, trace, transpose,
                          vector, zeros)
from matcalc.printing.text import text

W, X = matrix("W", 3, 4), matrix("X", 5, 10)
A, B = matrix("A", 2, 3), matrix("B", 3, 4)


def test_matmul_shape_error_names_both_operands():
    with pytest.raises(ShapeError) as e:
        matmul(W, X)
    assert str(e.value) == "cannot multiply W (3×4) by X (5×10): inner dimensions 4 ≠ 5"


def test_add_and_hadamard_shape_errors_name_operands():
    with pytest.raises(ShapeError, match=r"cannot add A \(2×3\) and B \(3×4\)"):
        add(A, B)
    with pytest.raises(ShapeError, match=r"entrywise A \(2×3\) and B \(3×4\)"):
        hadamard(A, B)


def test_square_requirements():
    for fn, name in ((trace, "tr"), (det, "det"), (inverse, "inv")):
        with pytest.raises(ShapeError, match=rf"{name} needs a square matrix, but A \(2×3\)"):
            fn(A)
    with pytest.raises(ShapeError, match="diag needs a vector or a square matrix"):
        diag(A)


def test_symbolic_dimensions_must_agree():
    n, m = dim("n"), dim("m")
    P, Q = matrix("P", n, m), matrix("Q", n, m)
    assert matmul(transpose(P), Q).shape == (m, m)
    with pytest.raises(ShapeError, match=r"P \(n×m\) by Q \(n×m\): inner dimensions m ≠ n"):
        matmul(P, Q)


def test_bad_dimension():
    with pytest.raises(ShapeError, match="positive integer"):
        dim(0)
    with pytest.raises(ShapeError, match="positive integer or a name"):
        dim("3x")


def test_matmul_canonical_form():
    assert matmul(2, A, eye(3), B, 3) == matmul(6, A, B)
    assert matmul(A, zeros(3, 4)) == zeros(2, 4)
    assert matmul(ones(2, 3), ones(3, 5)) == matmul(3, ones(2, 5))
    assert matmul(eye(3)) == eye(3)


def test_add_collects_like_terms_and_broadcasts_scalars():
    assert add(A, A, neg(A)) == A
    assert add(A, neg(A)) == zeros(2, 3)
    assert text(sub(1, A)) == "1 - A"
    assert add(1, A) == add(A, ones(2, 3))


def test_hadamard_drops_ones_and_pulls_scalars():
    assert hadamard(A, ones(2, 3)) == A
    assert hadamard(A, matmul(2, ones(2, 3))) == matmul(2, A)
    assert hadamard(A, zeros(2, 3)) == zeros(2, 3)


def test_elementwise_fuses_compositions():
    s = apply("sigmoid", A)
    assert isinstance(s, Elementwise)
    fused = apply("log", s)
    assert fused.arg == A and text(fused) == "log(sigmoid(A))"
    # f(X) ⊙ g(X) is one elementwise function of X: σ · (1/σ) = 1
    assert hadamard(s, divide(1, s)) == ones(2, 3)
    assert elementwise(T, A) == A
    assert elementwise(3 * T + 1, A) == add(matmul(3, A), ones(2, 3))


def test_transpose_pushed_through_products_not_sums():
    assert transpose(matmul(A, B)) == matmul(transpose(B), transpose(A))
    assert transpose(transpose(A)) == A
    assert transpose(ones(2, 3)) == ones(3, 2)
    assert text(transpose(add(A, A))) == "2*A.T"
    S = add(A, matrix("C", 2, 3))
    assert text(transpose(S)) == "(A + C).T"


def test_power_and_divide_are_entrywise():
    assert text(power(A, 2)) == "A**2"
    assert text(divide(A, matrix("C", 2, 3))) == "A / C"
    assert divide(A, 2) == matmul(sp.Rational(1, 2), A)
    with pytest.raises(ShapeError, match="exponent"):
        power(A, B)


def test_mul_scales_or_multiplies_entrywise():
    lam = scalar("lam")
    assert mul(lam, A) == matmul(lam, A)
    assert mul(A, A) == hadamard(A, A)


def test_scalar_functions():
    assert trace(matmul(2, eye(3))) == 6
    assert entry_sum(ones(2, 3)) == 6
    assert text(norm(matmul(-2, A))) == "2*norm(A)"
    assert softmax(A).shape == A.shape and logsoftmax(A, 1).axis == 1
    with pytest.raises(ShapeError, match="axis must be 0"):
        softmax(A, 2)
    with pytest.raises(ShapeError, match="needs a matrix"):
        softmax(scalar("lam"))


def test_diag_both_ways():
    v = vector("v", 3)
    assert diag(v).shape == (3, 3)
    assert diag(matrix("S", 3, 3)).shape == (3, 1)
