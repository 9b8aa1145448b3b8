"""Seed 003 — the convolutional network (docs/seeds.md, note 003, 卷积神经网络).

The note: conv layer → ReLU → pooling → fully connected; the output size of a convolution
H₂ = (H₁ − F_H + 2P)/S + 1 (and W₂ likewise, P the padding, S the stride); 2×2 max-pooling
keeps the largest entry of each block, shown on the 4×4 map [[1,3,2,9],[7,4,1,5],[8,5,2,3],
[4,2,1,4]] → [[7,9],[8,4]]. Backprop through it is the chain rule the note uses for the MLP:
  δ_out = S − Y (softmax cross-entropy, one-hot Y); ∂L/∂W_fc = (1/N) δ_out F1ᵀ;
  δ_P = channels(W_fcᵀ δ_out) (flatten undone); δ_Z = upsample(δ_P) ⊙ mask ⊙ [Z > 0]
  (max-pooling routes δ to each block's maximum, ReLU passes it where Z > 0);
  ∂L/∂W_conv = (1/N) δ_Z unfold(X)ᵀ (the correlation of the input with δ), ∂L/∂b = (1/N) δ_Z 1.
Ours: the note's conv output is Z1, its ReLU A1, the pooled map P1, F1 the flattened P1.
"""
import sympy as sp

from matcalc import cnn
from matcalc.core.expr import add, apply, hadamard, matmul, ones, softmax, sub, transpose
from matcalc.core.structure import (Conv, conv_geometry, maxpool, pool_geometry, pool_mask,
                                    pool_spread, to_channels, to_samples, unfold)

from common import Case, mean

MODEL = cnn("1x8x8", "conv(4, 3, pad=1), relu, maxpool(2), dense(10)")


def published(model):
    X, Y, (W1, b1, W2, b2), _ = model.variables()
    n = X.shape[1]
    c = mean(model, n)
    g = conv_geometry(1, 8, 8, 3, 1, 1)
    pool = pool_geometry(4, 8, 8, 2)
    U = unfold(to_channels(X, g), g)
    Z1 = add(matmul(W1, U), matmul(b1, ones(1, U.shape[1])))
    A1 = apply("relu", Z1)
    F1 = to_samples(maxpool(A1, pool), conv_geometry(4, 4, 4, 1))
    S = softmax(add(matmul(W2, F1), matmul(b2, ones(1, n))), 0)
    d_out = sub(S, Y)
    d_P = to_channels(matmul(transpose(W2), d_out), conv_geometry(4, 4, 4, 1))
    d_Z = hadamard(pool_spread(d_P, pool), pool_mask(A1, pool), apply("step", Z1))
    return {W2: matmul(c, d_out, transpose(F1)), b2: matmul(c, d_out, ones(n, 1)),
            W1: matmul(c, d_Z, transpose(U)), b1: matmul(c, d_Z, ones(U.shape[1], 1))}


CASES = [Case("seed 003: conv → relu → 2×2 max-pool → dense → softmax", MODEL, published)]


def output_size(H1, FH, P, S):
    """The note's formula."""
    return (H1 - FH + 2 * P) / S + 1


def check_output_size():
    """The note's formula on its symbols is the size unfold produces, for every geometry."""
    H1, FH, P, S = sp.symbols("H_1 F_H P S", positive=True)
    assert sp.simplify(output_size(H1, FH, P, S) - (H1 + 2 * P - FH + S) / S) == 0
    for H, k, p, s in [(8, 3, 1, 1), (28, 5, 0, 1), (7, 3, 1, 2), (9, 3, 0, 3), (5, 5, 2, 1)]:
        assert Conv(1, H, H, k, s, p).out == (output_size(H, k, p, s),) * 2


def check_maxpool_example(kernels):
    """The note's 4×4 → 2×2 max-pooling, through the generated kernel's pooling."""
    M = [[1, 3, 2, 9], [7, 4, 1, 5], [8, 5, 2, 3], [4, 2, 1, 4]]
    import numpy as np
    out = kernels._maxpool(np.array(M, dtype=float).reshape(1, 16), 1, 4, 4, 2, 2)
    assert out.reshape(2, 2).tolist() == [[7, 9], [8, 4]]


def check_delta_forms(backprop):
    """The derived δ's read as the note's chain rule."""
    lines = [str(a) for a in backprop.backward]
    assert lines[:3] == ["delta2 := S - Y", "delta_P1 := to_channels(W2.T @ delta2)",
                         "delta1 := step(Z1) * poolmask(A1, 2) * upsample(delta_P1, 2)"]
    assert "dW1 := 1/N*delta1 @ U1.T" in lines


CHECKS = [check_output_size, check_maxpool_example, check_delta_forms]
