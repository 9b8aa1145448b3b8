"""Residual blocks and layer normalisation: how two records of nn/layers.py extend a walk.

Networks (stage 3). `residual(…)` walks its block with the walk's own verbs and adds the
skip, R := A_in + block(A_in), with a δ of its own: the δ of the block's input is then the
sum of the skip's term δ_R and the block's. `layernorm` normalises each sample over its
features, as Ba, Kiros & Hinton (2016) write it:
  mu := mean(x); sigma := sqrt(mean((x − mu)²) + ε); Xhat := (x − mu)/sigma;
  LN := γ 1ᵀ ⊙ Xhat + β 1ᵀ  (γ starts at 1, β at 0, ε = 1e-5),
mean along the features (core/nodes.py Mean, repeated to x's shape). The sweep's adjoint of
x is a sum of many terms; the record states the textbook form instead,
  δ_x = (1/σ) ⊙ (δ_x̂ − mean(δ_x̂) − x̂ ⊙ mean(δ_x̂ ⊙ x̂)),
which nn/backprop.py prints when these lines are x's only consumers, and which the network
proof checks against them like every other line.
"""
import math

import sympy as sp
from sympy import HadamardProduct, MatAdd

from ..core.errors import MatcalcError
from ..core.expr import (add, divide, elementwise, hadamard, matmul, matrix, mean, neg, ones,
                         power, sub)
from ..core.functions import T

EPS = sp.Rational(1, 10 ** 5)       # ε of layer norm, exact: the exact proof keeps it exact


def residual_size(layer, shape, where):
    """The block's output shape, which must be its input's (the skip adds them)."""
    from .network import shapes     # network.py walks the records of layers.py: imported late
    out = shapes(shape, layer.get("block"), f"{where}, ")
    last = out[-1][2] if out else shape
    if last != shape:
        raise MatcalcError(f"{where}: the block gives {_size(last)}, but its input has "
                           f"{_size(shape)}; a residual adds the two, so they must match")
    return shape


def _size(shape):
    return f"{shape[0]} features" if len(shape) == 1 else "×".join(map(str, shape))


def residual(w, layer, where):
    """R := A_in + block(A_in), with its δ (the skip's term of the block input's δ)."""
    a_in = w.a
    w.layers(layer.get("block"), w.next, f"{where}, ")
    R = w.line("R", add(a_in, w.a))
    w.delta(R, f"delta_{R.name}")


def layernorm(w, layer, where):
    """The lines of the module docstring, with γ, β and the δ's of LN and Xhat; x's δ stated."""
    x = w.as_flat(where)
    F, n = x.shape
    mu = w.line("mu", mean(x))
    sigma = w.line("sigma", elementwise(sp.sqrt(T + EPS), mean(power(sub(x, mu), 2))))
    xhat = w.line("Xhat", divide(sub(x, mu), sigma))
    gamma, beta = matrix(f"gamma{w.l}", F, 1), matrix(f"beta{w.l}", F, 1)
    fans = (math.prod(w.shape),) * 2        # numbers, where F is a symbol d_l
    w.parameter(gamma, "gain", "ones", *fans)
    w.parameter(beta, "bias", "zeros", *fans)
    y = w.line("LN", add(hadamard(matmul(gamma, ones(1, n)), xhat), matmul(beta, ones(1, n))))
    w.delta(y, f"delta_{y.name}")
    w.delta(xhat, f"delta_{xhat.name}")
    if x in {a.name for a in w.out}:        # x a forward name (not X): its δ, stated
        if x not in w.deltas:
            w.delta(x, f"delta_{x.name}")
        w.state(x, textbook_delta(w.deltas[xhat], xhat, sigma), (mu, sigma, xhat),
                "layer norm's δ as Ba, Kiros & Hinton (2016) write it: mean(x̂) = 0, and σ is "
                "one number per sample")


def textbook_delta(d, xhat, sigma):
    """(1/σ) ⊙ (δ_x̂ − mean(δ_x̂) − x̂ ⊙ mean(δ_x̂ ⊙ x̂)): Ba, Kiros & Hinton (2016)."""
    # in the paper's order: a MatAdd as written (the canonical sum would sort the terms)
    inner = MatAdd(d, neg(mean(d)), neg(hadamard(xhat, mean(HadamardProduct(d, xhat)))))
    return hadamard(elementwise(1 / T, sigma), inner)


def batchnorm(w, layer, where):
    """Over the batch, as Ioffe & Szegedy (2015) §3 write it, each step a line with its δ:
    mu := mean over samples; var := mean((x − mu)²); Xhat := (x − mu) ⊙ (var + ε)^(−1/2);
    BN := γ ⊙ Xhat + β. The sweep then gives their ∂ℓ/∂x̂, ∂ℓ/∂σ², ∂ℓ/∂μ and ∂ℓ/∂x line by
    line (a sum over the batch is m·mean: mean(·, axis=1) here, repeated over the samples)."""
    x = w.as_flat(where)
    F, n = x.shape
    if n == 1:
        raise MatcalcError(f"{where}: batch norm normalises over the batch, which needs more "
                           f"than one sample (the model's batch is 1)")
    mu = w.line("mu", mean(x, 1))
    var = w.line("var", mean(power(sub(x, mu), 2), 1))
    w.statistic(mu, "zeros")            # evaluation uses running values of both (the trainer's)
    w.statistic(var, "ones")
    xhat = w.line("Xhat", hadamard(sub(x, mu), elementwise((T + EPS) ** sp.Rational(-1, 2),
                                                           var)))
    gamma, beta = matrix(f"gamma{w.l}", F, 1), matrix(f"beta{w.l}", F, 1)
    fans = (math.prod(w.shape),) * 2        # numbers, where F is a symbol d_l
    w.parameter(gamma, "gain", "ones", *fans)
    w.parameter(beta, "bias", "zeros", *fans)
    y = w.line("BN", add(hadamard(matmul(gamma, ones(1, n)), xhat), matmul(beta, ones(1, n))))
    for v in (y, xhat, var, mu):
        w.delta(v, f"delta_{v.name}")
    if x in {a.name for a in w.out} and x not in w.deltas:
        w.delta(x, f"delta_{x.name}")
