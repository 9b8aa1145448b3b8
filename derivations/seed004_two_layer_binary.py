"""Seed 004 — 双层神经网络中矩阵的运算 (docs/seeds.md, note 004).

A batch in columns X (m features × n samples); W1 (k×m) and a sigmoid hidden layer of k
units; W2 (1×k) and one sigmoid output; binary cross-entropy, mean over n. The note gives
dZ2 = A2 − Y; dW2 = (1/n) dZ2 A1ᵀ; db2 = (1/n) Σ_cols dZ2; dZ1 = W2ᵀ dZ2 ⊙ g′(Z1);
dW1 = (1/n) dZ1 Xᵀ; db1 = (1/n) Σ_cols dZ1 (np.sum(axis=1, keepdims=True) = dZ 1).
"""
from matcalc import mlp
from matcalc.core.expr import hadamard, matmul, ones, sub, transpose

from common import Case, forward_values


def published(model):
    X, Y, W, lam, n, [(Z1, A1), (Z2, A2)] = forward_values(model)
    c = 1 / n
    dZ2 = sub(A2, Y)
    dZ1 = hadamard(matmul(transpose(W["W2"]), dZ2), A1, sub(1, A1))     # g′ = A1 ⊙ (1 − A1)
    return {W["W2"]: matmul(c, dZ2, transpose(A1)), W["b2"]: matmul(c, dZ2, ones(n, 1)),
            W["W1"]: matmul(c, dZ1, transpose(X)), W["b1"]: matmul(c, dZ1, ones(n, 1))}


CASES = [Case("seed 004: two-layer binary sigmoid net",
              mlp([2, 4, 1], loss="binary-cross-entropy"), published)]
