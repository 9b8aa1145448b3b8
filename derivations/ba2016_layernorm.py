"""Layer normalisation — J. L. Ba, J. R. Kiros, G. E. Hinton, "Layer Normalization" (2016).

Per sample (a column of the batch), over its H features: μ = (1/H) Σ_i a_i,
σ = sqrt((1/H) Σ_i (a_i − μ)² + ε), x̂ = (a − μ)/σ, h = γ ⊙ x̂ + β (the paper's eqs. 3–4,
with gain g = γ and bias b = β; ε = 1e-5 as in common implementations). The backward pass in
its textbook form, per sample:
  δ_x̂ = γ ⊙ δ_h,  δ_a = (1/σ) ⊙ (δ_x̂ − mean(δ_x̂) − x̂ ⊙ mean(δ_x̂ ⊙ x̂)),
  ∂L/∂γ = Σ_n δ_h ⊙ x̂,  ∂L/∂β = Σ_n δ_h,
mean(·) over the features, repeated to the column (core/nodes.py Mean). The case: a dense
layer, layer norm, a dense softmax output, cross-entropy averaged over the batch N.
"""
import numpy as np
import sympy as sp

from matcalc import cnn
from matcalc.core.expr import (add, divide, elementwise, hadamard, matmul, mean, neg, ones,
                               power, softmax, sub, transpose)
from matcalc.core.functions import T

from common import Case, against_central_differences

EPS = sp.Rational(1, 10 ** 5)


def forward(model):
    """The forward values as closed forms of X and the parameters."""
    X, Y, params, _ = model.variables()
    n = model.dims()[1]
    P = {p.name: p for p in params}
    a = add(matmul(P["W1"], X), matmul(P["b1"], ones(1, n)))
    mu = mean(a)
    sigma = elementwise(sp.sqrt(T + EPS), mean(power(sub(a, mu), 2)))
    xhat = divide(sub(a, mu), sigma)
    h = add(hadamard(matmul(P["gamma1"], ones(1, n)), xhat), matmul(P["beta1"], ones(1, n)))
    z2 = add(matmul(P["W2"], h), matmul(P["b2"], ones(1, n)))
    return X, Y, P, n, sigma, xhat, h, softmax(z2, 0)


def published(model):
    X, Y, P, n, sigma, xhat, h, S = forward(model)
    c = 1 / n
    d2 = sub(S, Y)
    dh = matmul(transpose(P["W2"]), d2)
    dxhat = hadamard(matmul(P["gamma1"], ones(1, n)), dh)
    da = hadamard(elementwise(1 / T, sigma),
                  add(dxhat, neg(mean(dxhat)), neg(hadamard(xhat, mean(hadamard(dxhat, xhat))))))
    return {P["W2"]: matmul(c, d2, transpose(h)), P["b2"]: matmul(c, d2, ones(n, 1)),
            P["gamma1"]: matmul(c, hadamard(dh, xhat), ones(n, 1)),
            P["beta1"]: matmul(c, dh, ones(n, 1)),
            P["W1"]: matmul(c, da, transpose(X)), P["b1"]: matmul(c, da, ones(n, 1))}


CASES = [Case("Ba, Kiros & Hinton 2016: layer normalisation",
              cnn("3", "dense(3), layernorm, dense(2)"), published,
              "gain g = γ, bias b = β; ε = 1e-5 inside the root")]


def entrywise(backprop):
    """Every entry of each published gradient against central differences of L itself, at
    N = 4 samples (float64, h = 1e-6)."""
    model = backprop.model
    X, Y, P, *_ = forward(model)
    rng = np.random.default_rng(2016)
    values = {X: rng.standard_normal((3, 4)), Y: np.eye(2)[:, rng.integers(0, 2, 4)]}
    sizes = model.concrete()                # the widths d0, d1, d2 are symbols: 3, 3, 2
    values.update({p: rng.standard_normal([int(sp.sympify(d).xreplace(sizes)) for d in p.shape])
                   for p in P.values()})
    against_central_differences(published(model), backprop.loss(), values)


CHECKS = [entrywise]
