"""Seed 000 — 微积分笔记05: 矩阵求导在深度学习中的应用 (docs/seeds.md, note 000).

One image as a ROW vector X (1×n); Y = X W (W: n×512); Z = relu(Y); O = Z W′ (W′: 512×r);
S = softmax(O) along the row; J = −ln s_k for the true class k, i.e. −sum(y ⊙ log S) with y
the one-hot row. The note derives (eq. 11) ∂J/∂O = S − y, then by the chain rule
∂J/∂W′ = Zᵀ (S − y) and ∂J/∂W = Xᵀ ((S − y) W′ᵀ ⊙ relu′(Y)).
Ours: Y → Z1, Z → A1, O → Z2, W → W1, W′ → W2; no bias; relu′ = step (value 0 at 0).
The note writes relu′(x) = 1 for x ≥ 0; at the kink x = 0 we take 0 (both are subgradients).
"""
from matcalc import mlp
from matcalc.core.expr import apply, hadamard, matmul, sub, transpose

from common import Case, forward_values

MODEL = mlp([784, 512, 10], hidden="relu", loss="cross-entropy", bias=False, layout="rows",
            reduction="sum", batch=1)


def published(model):
    X, y, W, lam, n, [(Y, Z), (O, S)] = forward_values(model)
    dO = sub(S, y)                                                     # eq. 11
    return {W["W2"]: matmul(transpose(Z), dO),
            W["W1"]: matmul(transpose(X), hadamard(matmul(dO, transpose(W["W2"])),
                                                   apply("step", Y)))}


CASES = [Case("seed 000: row vector, relu, softmax, −ln s_k", MODEL, published)]
