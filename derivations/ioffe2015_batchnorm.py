"""Batch normalisation — S. Ioffe, C. Szegedy, "Batch Normalization: Accelerating Deep Network
Training by Reducing Internal Covariate Shift" (ICML 2015), section 3.

Over a mini-batch B = {x_1 … x_m}, per feature: μ_B = (1/m) Σ_i x_i, σ²_B = (1/m) Σ_i
(x_i − μ_B)², x̂_i = (x_i − μ_B)/sqrt(σ²_B + ε), y_i = γ x̂_i + β (Algorithm 1), and the
backward pass of §3:
  ∂ℓ/∂x̂_i = ∂ℓ/∂y_i · γ
  ∂ℓ/∂σ²_B = Σ_i ∂ℓ/∂x̂_i · (x_i − μ_B) · (−1/2)(σ²_B + ε)^(−3/2)
  ∂ℓ/∂μ_B = Σ_i ∂ℓ/∂x̂_i · (−1/sqrt(σ²_B + ε)) + ∂ℓ/∂σ²_B · Σ_i −2(x_i − μ_B)/m
  ∂ℓ/∂x_i = ∂ℓ/∂x̂_i / sqrt(σ²_B + ε) + ∂ℓ/∂σ²_B · 2(x_i − μ_B)/m + ∂ℓ/∂μ_B / m
  ∂ℓ/∂γ = Σ_i ∂ℓ/∂y_i · x̂_i,  ∂ℓ/∂β = Σ_i ∂ℓ/∂y_i.
Here the batch is the N columns, m = N, and a sum over the batch divided by m is
mean(·, axis=1) repeated over the columns (core/nodes.py Mean); the terms of ∂ℓ/∂σ²_B and
∂ℓ/∂μ_B are written per sample (g_var, g_mu below, with Σ_i g = N·mean(g, axis=1)). The case:
a dense layer, batch norm, a dense softmax output, cross-entropy averaged over the batch.
"""
import numpy as np
import sympy as sp

from matcalc import cnn
from matcalc.core.expr import (add, elementwise, hadamard, matmul, mean, ones, power,
                               softmax, sub, transpose)
from matcalc.core.functions import T

from common import Case, against_central_differences

EPS = sp.Rational(1, 10 ** 5)


def forward(model):
    X, Y, params, _ = model.variables()
    n = model.dims()[1]
    P = {p.name: p for p in params}
    x = add(matmul(P["W1"], X), matmul(P["b1"], ones(1, n)))
    c = sub(x, mean(x, 1))                  # x_i − μ_B
    var = mean(power(c, 2), 1)              # σ²_B
    xhat = hadamard(c, elementwise((T + EPS) ** sp.Rational(-1, 2), var))
    y = add(hadamard(matmul(P["gamma1"], ones(1, n)), xhat), matmul(P["beta1"], ones(1, n)))
    S = softmax(add(matmul(P["W2"], y), matmul(P["b2"], ones(1, n))), 0)
    return X, Y, P, n, c, var, xhat, y, S


def published(model):
    X, Y, P, n, xc, var, xhat, y, S = forward(model)
    d2 = sub(S, Y)                  # the loss's 1/N multiplies every gradient at the end
    dy = matmul(transpose(P["W2"]), d2)                          # ∂ℓ/∂y
    dxhat = hadamard(dy, matmul(P["gamma1"], ones(1, n)))        # ∂ℓ/∂x̂ = ∂ℓ/∂y · γ
    g_var = matmul(sp.Rational(-1, 2), hadamard(dxhat, xc, elementwise(
        (T + EPS) ** sp.Rational(-3, 2), var)))
    inv = elementwise((T + EPS) ** sp.Rational(-1, 2), var)
    g_mu = add(matmul(-1, hadamard(dxhat, inv)), matmul(-2, hadamard(xc, mean(g_var, 1))))
    dx = add(hadamard(dxhat, inv), matmul(2, hadamard(xc, mean(g_var, 1))), mean(g_mu, 1))
    c = 1 / n
    return {P["W2"]: matmul(c, d2, transpose(y)), P["b2"]: matmul(c, d2, ones(n, 1)),
            P["gamma1"]: matmul(c, hadamard(dy, xhat), ones(n, 1)),
            P["beta1"]: matmul(c, dy, ones(n, 1)),
            P["W1"]: matmul(c, dx, transpose(X)), P["b1"]: matmul(c, dx, ones(n, 1))}


CASES = [Case("Ioffe & Szegedy 2015 §3: batch normalisation",
              cnn("3", "dense(3), batchnorm, dense(2)"), published,
              "m = N; Σ_i/m written mean(·, axis=1); ε = 1e-5")]


def entrywise(backprop):
    """Every entry of each published gradient against central differences of L, N = 5."""
    model = backprop.model
    X, Y, P, *_ = forward(model)
    rng = np.random.default_rng(2015)
    sizes = model.concrete()
    values = {X: rng.standard_normal((3, 5)), Y: np.eye(2)[:, rng.integers(0, 2, 5)]}
    values.update({p: rng.standard_normal([int(sp.sympify(d).xreplace(sizes)) for d in p.shape])
                   for p in P.values()})
    against_central_differences(published(model), backprop.loss(), values)


CHECKS = [entrywise]
