"""Seed 001 — 矩阵求导+BP算法推导以及编程实现思路 (docs/seeds.md, note 001).

A column vector x (n×1); hidden layer of p sigmoid units, output of m softmax units,
cross-entropy. The note derives δ_L = a_L − y, δ_l = (W_{l+1}ᵀ δ_{l+1}) ⊙ σ′(z_l) with
σ′ = σ(1 − σ), ∂/∂W_l = δ_l a_{l−1}ᵀ, ∂/∂b_l = δ_l; for a batch X (n×N) with the mean loss
the same, averaged over N (∂/∂b_l = (1/N) δ_l 1); and the L-layer recursion.
"""
import sympy as sp

from matcalc import mlp
from matcalc.core.expr import apply, hadamard, matmul, ones, sub, transpose

from common import Case, forward_values, mean


def published(model):
    """δ_L = a_L − y; δ_l = (W_{l+1}ᵀ δ_{l+1}) ⊙ σ(z_l)(1 − σ(z_l)); averaged over the batch."""
    X, Y, W, lam, n, layers = forward_values(model)
    c = mean(model, n)
    out, delta = {}, sub(layers[-1][1], Y)
    for l in range(len(layers), 0, -1):
        a_prev = X if l == 1 else layers[l - 2][1]
        out[W[f"W{l}"]] = matmul(c, delta, transpose(a_prev))
        out[W[f"b{l}"]] = matmul(c, delta, ones(n, 1))
        if l > 1:
            s = layers[l - 2][1]                                   # σ(z_{l−1})
            delta = hadamard(matmul(transpose(W[f"W{l}"]), delta), s, sub(1, s))
    return out


CASES = [
    Case("seed 001: one sample", mlp([784, 100, 10], batch=1, reduction="sum"), published),
    Case("seed 001: a batch, mean loss", mlp([784, 100, 10]), published),
    Case("seed 001: L = 4 layers", mlp([784, 300, 100, 50, 10]), published),
]
