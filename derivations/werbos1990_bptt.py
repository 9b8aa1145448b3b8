"""Backpropagation through time — P. J. Werbos, "Backpropagation through time: what it does
and how to do it", Proc. IEEE 78(10), 1990; in textbook form, I. Goodfellow, Y. Bengio,
A. Courville, *Deep Learning* (2016), §10.2.2, eqs. 10.18–10.28.

An Elman network over T steps x_1 … x_T (the columns of a batch; h_0 = 0):
  h_t = tanh(W x_t + U h_{t−1} + b),   o = V h_T + c,   S = softmax(o),   L = −(1/N) Σ Y ⊙ log S.
BPTT, with δ_t = ∂L/∂(W x_t + U h_{t−1} + b) up to the batch's 1/N:
  δ_o = S − Y,   δ_T = (Vᵀ δ_o) ⊙ (1 − h_T ⊙ h_T),   δ_t = (Uᵀ δ_{t+1}) ⊙ (1 − h_t ⊙ h_t) (t < T),
  ∂L/∂V = (1/N) δ_o h_Tᵀ,  ∂L/∂c = (1/N) δ_o 1,
  ∂L/∂W = (1/N) Σ_t δ_t x_tᵀ,  ∂L/∂U = (1/N) Σ_{t≥2} δ_t h_{t−1}ᵀ,  ∂L/∂b = (1/N) Σ_t δ_t 1
(the book's eq. 10.22 writes the δ of h and multiplies by diag(1 − h²); its output is one
per step, here one at t = T). matcalc derives the recurrence once for all t
(delta1[t] := (U1ᵀ delta1[t+1] + delta_H1[t]) ⊙ (1 − H1[t]²)); the case compares the
gradients it implies, the network unrolled at T = 3 (X_1, X_2, X_3 the steps of X), with
the formulas above: W = W1, U = U1, b = b1, V = W2, c = b2.
"""
import numpy as np
import sympy as sp

from matcalc import cnn
from matcalc.core.expr import add, elementwise, hadamard, matmul, ones, softmax, sub, transpose
from matcalc.core.expr import apply
from matcalc.core.functions import T
from matcalc.core.leaves import matrix

from common import Case, against_central_differences

STEPS, FEATURES = 3, 2


def forward(model):
    """x_t, h_t (t = 1…T), S as closed forms of the steps of X and the parameters."""
    _, Y, params, _ = model.variables()
    n = model.dims()[1]
    P = {p.name: p for p in params}
    xs = [matrix(f"X_{t}", FEATURES, n) for t in range(1, STEPS + 1)]
    hs, h = [], None
    for x in xs:
        z = add(matmul(P["W1"], x), matmul(P["b1"], ones(1, n)),
                *([matmul(P["U1"], h)] if h is not None else []))
        h = apply("tanh", z)
        hs.append(h)
    S = softmax(add(matmul(P["W2"], h), matmul(P["b2"], ones(1, n))), 0)
    return xs, Y, P, n, hs, S


def published(model):
    xs, Y, P, n, hs, S = forward(model)
    c = 1 / n
    d_o = sub(S, Y)

    def through(h):             # tanh′ written through its output, 1 − h ⊙ h
        return elementwise(1 - T ** 2, h)
    deltas = [hadamard(matmul(transpose(P["W2"]), d_o), through(hs[-1]))]
    for h in reversed(hs[:-1]):
        deltas.insert(0, hadamard(matmul(transpose(P["U1"]), deltas[0]), through(h)))
    return {P["W2"]: matmul(c, d_o, transpose(hs[-1])), P["b2"]: matmul(c, d_o, ones(n, 1)),
            P["W1"]: matmul(c, add(*[matmul(d, transpose(x)) for d, x in zip(deltas, xs)])),
            P["U1"]: matmul(c, add(*[matmul(d, transpose(h))
                                     for d, h in zip(deltas[1:], hs[:-1])])),
            P["b1"]: matmul(c, add(*deltas), ones(n, 1))}


CASES = [Case("Werbos 1990: backpropagation through time",
              cnn(f"{STEPS}x{FEATURES}", "rnn(2), last, dense(2)"), published,
              "W = W1, U = U1, b = b1, V = W2, c = b2; one output, at t = T")]


def entrywise(backprop):
    """Every entry of each published gradient against central differences of L itself, at
    N = 4 samples (float64, h = 1e-6)."""
    model = backprop.model
    xs, Y, P, *_ = forward(model)
    rng = np.random.default_rng(1990)
    values = {x: rng.standard_normal((FEATURES, 4)) for x in xs}
    values[Y] = np.eye(2)[:, rng.integers(0, 2, 4)]
    values.update({p: rng.standard_normal([int(d) for d in p.shape]) for p in P.values()})
    against_central_differences(published(model), backprop.loss(), values)


def the_recurrence_is_printed_once(backprop):
    """The derivation itself is the recurrence, not T copies: one δ line per step."""
    lines = [str(a) for a in backprop.backward]
    assert "delta1[t] := (U1.T @ delta1[t+1] + delta_H1[t]) * (1 - H1[t]**2)" in lines
    assert "dU1 := 1/N*Σ_t(delta1[t] @ H1[t-1].T)" in lines
    assert not any("delta1_" in s for s in lines)


CHECKS = [entrywise, the_recurrence_is_printed_once]
