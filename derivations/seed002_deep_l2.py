"""Seed 002 — L-layer feed-forward networks (docs/seeds.md, note 002).

z⁽ˡ⁾ = W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾, a⁽ˡ⁾ = f_l(z⁽ˡ⁾), denominator layout; binary (logistic output)
and multi-class (softmax output) cross-entropy; risk R = (1/N) Σ L + (λ/2) ‖W‖_F².
The note derives δ⁽ˡ⁾ = f_l′(z⁽ˡ⁾) ⊙ (W⁽ˡ⁺¹⁾)ᵀ δ⁽ˡ⁺¹⁾, ∂L/∂W⁽ˡ⁾ = δ⁽ˡ⁾ a⁽ˡ⁻¹⁾ᵀ,
∂L/∂b⁽ˡ⁾ = δ⁽ˡ⁾, and the update W ← W − α((1/N) Σ ∂L/∂W + λW): so ∂R/∂W⁽ˡ⁾ =
(1/N) δ⁽ˡ⁾ a⁽ˡ⁻¹⁾ᵀ + λ W⁽ˡ⁾ and ∂R/∂b⁽ˡ⁾ = (1/N) δ⁽ˡ⁾ 1 (the penalty is on weights only).
The output δ is a⁽ᴸ⁾ − y for both outputs.
"""
import sympy as sp

from matcalc import mlp
from matcalc.core.expr import add, apply, elementwise, hadamard, matmul, ones, sub, transpose, T

from common import Case, forward_values, mean

DERIVATIVES = {"tanh": 1 - T ** 2, "sigmoid": T * (1 - T)}     # f′ through a = f(z)


def published(model):
    X, Y, W, lam, n, layers = forward_values(model)
    c = mean(model, n)
    out, delta = {}, sub(layers[-1][1], Y)
    for l in range(len(layers), 0, -1):
        a_prev = X if l == 1 else layers[l - 2][1]
        out[W[f"W{l}"]] = matmul(c, delta, transpose(a_prev))
        if lam is not None:
            out[W[f"W{l}"]] = add(out[W[f"W{l}"]], matmul(lam, W[f"W{l}"]))
        out[W[f"b{l}"]] = matmul(c, delta, ones(n, 1))
        if l > 1:
            f = model.activations[l - 2]
            fprime = (apply("step", layers[l - 2][0]) if f == "relu" else
                      elementwise(DERIVATIVES[f], layers[l - 2][1]))
            delta = hadamard(fprime, matmul(transpose(W[f"W{l}"]), delta))
    return out


CASES = [
    Case("seed 002: binary, 3 layers, tanh, L2",
         mlp([20, 16, 8, 1], hidden="tanh", loss="binary-cross-entropy", l2=True), published),
    Case("seed 002: multi-class, 3 layers, relu then sigmoid, L2",
         mlp([20, 16, 8, 5], hidden=["relu", "sigmoid"], loss="cross-entropy", l2=True),
         published),
]
