"""Trace moves: tr(Gᵀ L(dX)) = tr(Ḡᵀ dX) for every linear node, checked symbolically."""
import sympy as sp

from matcalc.calculus.adjoint import MOVES, adjoints, inner
from matcalc.core.expr import (Differential, add, diag, entry_sum, eye, hadamard, matmul, matrix,
                          ones, trace, transpose, vector)

A, X, B = matrix("A", 2, 3), matrix("X", 3, 4), matrix("B", 4, 2)
G = matrix("G", 2, 2)
dX = Differential(X)


def test_product_move():
    assert adjoints(trace(matmul(A, dX, B)), 1) == [(X, matmul(transpose(A), transpose(B)))]
    # with an incoming adjoint G: tr(Gᵀ A dX B) = tr((Aᵀ G Bᵀ)ᵀ dX)
    assert adjoints(matmul(A, dX, B), G) == [(X, matmul(transpose(A), G, transpose(B)))]


def test_transpose_move():
    [(v, g)] = adjoints(trace(matmul(transpose(dX), matrix("C", 3, 4))), 1)
    assert v == X and g == matrix("C", 3, 4)


def test_hadamard_and_sum_moves():
    F = matrix("F", 3, 4)
    assert adjoints(entry_sum(hadamard(F, dX)), 2) == [(X, matmul(2, F))]
    assert adjoints(entry_sum(dX), 1) == [(X, ones(3, 4))]


def test_sum_of_terms_gives_one_adjoint_per_term():
    C = matrix("C", 4, 3)
    de = add(trace(matmul(C, dX)), trace(matmul(transpose(dX), transpose(C))))
    out = adjoints(de, 1)
    assert [v for v, _ in out] == [X, X]
    assert all(g == transpose(C) for _, g in out)


def test_scalar_coefficient_inside_matrix():
    # tr(dX) · M: the scalar carries the differential
    S, M = matrix("S", 3, 3), matrix("M", 2, 2)
    dS = Differential(S)
    out = adjoints(entry_sum(matmul(trace(dS), M)), 1)
    assert out == [(S, matmul(entry_sum(M), eye(3)))]


def test_diag_moves():
    v = vector("v", 3)
    S = matrix("S", 3, 3)
    out = adjoints(trace(matmul(S, diag(Differential(v)))), 1)
    assert out[0][0] == v and out[0][1].shape == (3, 1)


def test_inner_product():
    assert inner(G, ones(2, 2)) == entry_sum(G)
    assert inner(G, G) == trace(matmul(transpose(G), G))


def test_moves_cover_linear_nodes_only():
    names = {c.__name__ for c in MOVES}
    assert names == {"Differential", "MatAdd", "MatMul", "Transpose", "HadamardProduct",
                     "DiagMatrix", "DiagonalOf", "Add", "Mul", "Trace", "EntrySum",
                     # the structured linear maps of convolutions and pooling, each paired
                     # with its adjoint (PoolSelect and PoolRoute linear in their second arg)
                     "ToChannels", "ToSamples", "Unfold", "Fold", "AvgPool", "PoolSpread",
                     "PoolSelect", "PoolRoute",
                     # vec and unvec, each the other's adjoint (core/kron.py), and the
                     # Kronecker product, linear in its factor that holds the d (as MatMul)
                     "Vec", "Unvec", "KroneckerProduct",
                     # the mean along an axis, repeated (layer norm): its own adjoint
                     "Mean"}
