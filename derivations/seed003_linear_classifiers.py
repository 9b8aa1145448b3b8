"""Seed 003 — linear classifiers (docs/seeds.md, note 003).

Linear scores f = W x + b; the multi-class SVM loss Σ_{j≠y} max(0, s_j − s_y + 1) with an L2
penalty; softmax regression; squared error ½ Σ (y − W x)²; all trained by gradient descent.
The note states the losses; the gradients are the standard ones, written here by hand:
  hinge: P = [M > 0] ⊙ (1 − Y) with margins M = S − 1 1ᵀ(Y ⊙ S) + 1;
         ∂/∂S = P − Y ⊙ (1 1ᵀ P) (the true class collects minus the count of violators);
  softmax: ∂/∂S = softmax(S) − Y;   squared error: ∂/∂S = S − Y;
  then ∂/∂W = (1/N) (∂/∂S) Xᵀ (+ λW), ∂/∂b = (1/N) (∂/∂S) 1.
The note writes the penalty as λ Σ W² (gradient 2λW); matcalc writes (λ/2) Σ W², so its λ is
twice the note's — the same formula in another parametrisation.
"""
import sympy as sp

from matcalc import mlp
from matcalc.core.expr import add, apply, hadamard, matmul, ones, softmax, sub, transpose

from common import Case, forward_values, mean


def _dscores(model, S, Y, c):
    if model.loss == "hinge":
        M = add(sub(S, matmul(ones(c, c), hadamard(Y, S))), 1)
        P = hadamard(apply("step", M), sub(1, Y))
        return sub(P, hadamard(Y, matmul(ones(c, c), P)))
    if model.loss == "cross-entropy":
        return sub(softmax(S), Y)
    return sub(S, Y)


def published(model):
    X, Y, W, lam, n, [(S, out)] = forward_values(model)
    c = model.dims()[0][-1]
    dS = _dscores(model, S, Y, c)
    dW = matmul(mean(model, n), dS, transpose(X))
    if lam is not None:
        dW = add(dW, matmul(lam, W["W1"]))
    return {W["W1"]: dW, W["b1"]: matmul(mean(model, n), dS, ones(n, 1))}


CASES = [
    Case("seed 003: multi-class SVM (hinge) + L2", mlp([64, 10], loss="hinge", l2=True),
         published),
    Case("seed 003: softmax regression", mlp([64, 10], loss="cross-entropy"), published),
    Case("seed 003: squared error, linear output", mlp([64, 3], loss="squared-error"),
         published),
]
