"""Scaled dot-product self-attention — A. Vaswani et al., "Attention Is All You Need" (2017),
and the Jacobian of the softmax.

Per sample, X of T × d (a token per row): Q = X W_Q, K = X W_K, V = X W_V,
P = softmax(Q Kᵀ/√d_k) along each row (the paper's eq. 1), output P V W_O. A row p of the
softmax has the Jacobian diag(p) − p pᵀ, so that, row by row, the backward pass is
  δ_V = Pᵀ δ_O,  δ_P = δ_O Vᵀ,  δ_S = P ⊙ (δ_P − rowsum(δ_P ⊙ P)),
  δ_Q = δ_S K/√d_k,  δ_K = δ_Sᵀ Q/√d_k,  ∂L/∂W_Q = Xᵀ δ_Q, ∂L/∂W_K = Xᵀ δ_K, ∂L/∂W_V = Xᵀ δ_V.
matcalc keeps a batch of N sequences as one matrix of tokens (d × (N·T), X of the paper is
its transpose) and masks the scores between two samples (−10⁹), so that P is each sample's
own T × T block. The case: attention with one head on T = 3 steps of 2 features, the mean
over the steps, a dense softmax output, cross-entropy averaged over the batch N.
"""
import numpy as np
import sympy as sp

from matcalc.core.expr import add, hadamard, matmul, ones, softmax, sub, transpose
from matcalc.core.kron import kron, unvec, vec
from matcalc.core.leaves import eye
from matcalc.nn.model import model as build
from matcalc.nn.syntax import parse_net
from matcalc.verify import evaluate

from common import Case

T_, F_ = 3, 2
MODEL = build((T_, F_), parse_net("attention(heads=1), mean, dense(2)"))


def forward(model):
    """The forward values as closed forms of X and the parameters."""
    X, Y, params, _ = model.variables()
    n = model.dims()[1]
    P = {p.name: p for p in params}
    H = unvec(vec(X), F_)                               # d × (N·T): the tokens
    Xr = transpose(H)                                   # the paper's X, a token per row
    Q, K, V = (matmul(Xr, P[f"W{w}1"]) for w in "QKV")
    same = kron(eye(n), ones(T_, T_))
    mask = matmul(-sp.Integer(10) ** 9, sub(ones(*same.shape), same))
    S = matmul(1 / sp.sqrt(F_), Q, transpose(K))
    Pm = softmax(add(S, mask), 1)
    O = matmul(Pm, V)
    att = transpose(matmul(O, P["WO1"]))
    A = matmul(sp.Rational(1, T_), att, kron(eye(n), ones(T_, 1)))
    Z = add(matmul(P["W2"], A), matmul(P["b2"], ones(1, n)))
    return X, Y, P, n, H, Q, K, V, Pm, O, A, softmax(Z, 0)


def published(model):
    X, Y, P, n, H, Q, K, V, Pm, O, A, S = forward(model)
    dZ = sub(S, Y)
    c = sp.S.One / (n * T_)                 # the mean over N and over T: a scalar, outside
    dAtt = matmul(transpose(P["W2"]), dZ, kron(eye(n), ones(1, T_)))
    dO = matmul(transpose(dAtt), transpose(P["WO1"]))
    dP = matmul(dO, transpose(V))
    dV = matmul(transpose(Pm), dO)
    rows = Pm.shape[1]
    dS = hadamard(Pm, sub(dP, matmul(hadamard(dP, Pm), ones(rows, 1), ones(1, rows))))
    dQ = matmul(1 / sp.sqrt(F_), dS, K)
    dK = matmul(1 / sp.sqrt(F_), transpose(dS), Q)
    return {P["W2"]: matmul(1 / n, dZ, transpose(A)), P["b2"]: matmul(1 / n, dZ, ones(n, 1)),
            P["WO1"]: matmul(c, transpose(O), transpose(dAtt)),
            P["WQ1"]: matmul(c, H, dQ), P["WK1"]: matmul(c, H, dK), P["WV1"]: matmul(c, H, dV)}


CASES = [Case("Vaswani et al. 2017: scaled dot-product self-attention", MODEL, published,
              "the paper's X is the transpose of matcalc's tokens; one head, d_k = d = 2")]


def paper(values, P, N):
    """The published backward pass in NumPy, sample by sample (X_n of T × d, a token per row;
    the mean over N and T outside each δ, as above): {name: gradient}."""
    W = {name: values[p] for name, p in P.items()}
    X, Y = values["X"], values["Y"]
    g = {name: np.zeros_like(v) for name, v in W.items()}
    for n in range(N):
        Xn = X[:, n].reshape(T_, F_)
        Q, K, V = Xn @ W["WQ1"], Xn @ W["WK1"], Xn @ W["WV1"]
        S = Q @ K.T / np.sqrt(F_)
        Pn = np.exp(S - S.max(axis=1, keepdims=True))
        Pn /= Pn.sum(axis=1, keepdims=True)
        O = Pn @ V
        a = (O @ W["WO1"]).mean(axis=0)
        z = W["W2"] @ a + W["b2"][:, 0]
        s = np.exp(z - z.max())
        dz = (s / s.sum() - Y[:, n]) / N
        g["W2"] += np.outer(dz, a)
        g["b2"] += dz[:, None]
        dAtt = np.outer(np.ones(T_), W["W2"].T @ dz) / T_
        g["WO1"] += O.T @ dAtt
        dO = dAtt @ W["WO1"].T
        dP, dV = dO @ V.T, Pn.T @ dO
        dS = Pn * (dP - (dP * Pn).sum(axis=1, keepdims=True))
        dQ, dK = dS @ K / np.sqrt(F_), dS.T @ Q / np.sqrt(F_)
        g["WQ1"] += Xn.T @ dQ
        g["WK1"] += Xn.T @ dK
        g["WV1"] += Xn.T @ dV
    return g


def entrywise(backprop):
    """Every entry of each published gradient, computed sample by sample as the paper writes
    it (paper), against central differences of matcalc's L, its forward program run line by
    line, at N = 2 sequences (float64, h = 1e-6)."""
    model = backprop.model
    X, Y, P, n, *_ = forward(model)
    rng = np.random.default_rng(2017)
    N = 2
    at = {n: N}                             # N = 2 in the shapes too: X is 6 × 2
    values = {"X": rng.standard_normal((T_ * F_, N)),
              "Y": np.eye(2)[:, rng.integers(0, 2, N)]}
    values.update({p: rng.standard_normal([int(d) for d in p.shape]) for p in P.values()})

    def loss(vals):
        env = {X.subs(at): vals["X"], Y.subs(at): vals["Y"],
               **{p: vals[p] for p in P.values()}}
        for a in backprop.forward:
            env[a.name.subs(at)] = evaluate(a.expr.subs(at), env)
        return float(env[backprop.forward.output])

    got = paper(values, P, N)
    for name, p in P.items():
        for idx in np.ndindex(*got[name].shape):
            step = np.zeros(got[name].shape)
            step[idx] = 1e-6
            up = loss({**values, p: values[p] + step})
            down = loss({**values, p: values[p] - step})
            assert abs((up - down) / 2e-6 - got[name][idx]) < 1e-6, (p, idx)


CHECKS = [entrywise]
