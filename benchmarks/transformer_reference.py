"""The hand-written transformer step for benchmarks/sequence_step.py:
dense(d)[, position], transformer(heads=h, ff=m), mean, dense(C) on X of (T·F) × N,

    Z = W X_t + b [+ p_t];  R = Z + Att(LN(Z));  R' = R + W'' relu(W' LN(R) + b') + b'';
    A = mean_t R';  softmax(W_o A + b_o), mean cross-entropy,

with per head i, on each sample's T × d tokens H: Q = H W_Q,i, K = H W_K,i, V = H W_V,i,
P = softmax(Q Kᵀ/√d_k) per row, Att = Σ_i P V W_O,i (pre-norm encoder block, Vaswani et al.
2017; layer norm per token over features with γ, β and ε = 1e-5). Parameters in the order of
the generated module's PARAMS (its names are checked, so a change of the layer cannot go
unnoticed). Written the way a careful person writes it: tokens as the columns of d × (N·T)
matrices (column n·T + t), every per-token layer one GEMM over all N·T tokens, the heads'
W_Q, W_K, W_V stacked into one d × 3d product, attention as batched (N, h, T, T) matmuls of
strided views — O(N·T²) — and buffers allocated once.
"""
import re

import numpy as np

from sequence_reference import softmax_xent

EPS = 1e-5


def roles(names, heads):
    """{role: index into the parameter list} from the generated PARAMS names, in their order:
    W1, b1, [position], γ, β, (WQ, WK, WV, WO) per head, γ, β, W, b, W, b, W, b."""
    pos = 1 if len(names) == 4 * heads + 13 else 0
    want = ["W", "b"] + ["P"] * pos + ["gamma", "beta"] + ["WQ", "WK", "WV", "WO"] * heads + \
        ["gamma", "beta", "W", "b", "W", "b", "W", "b"]
    got = [re.match(r"[A-Za-z]+?(?=\d|_|$)", n).group(0) for n in names]
    if len(got) != len(want) or any(g != w and not (w == "P" and g in ("E", "P", "pos"))
                                    for g, w in zip(got, want)):
        raise AssertionError(f"the transformer's parameters changed: {names}; teach "
                             "benchmarks/transformer_reference.py the new ones")
    keys = ["W1", "b1"] + ["pos"] * pos + ["g1", "be1"] + \
        [f"{r}{i}" for i in range(heads) for r in ("Q", "K", "V", "O")] + \
        ["g2", "be2", "Wf", "bf", "Wg", "bg", "Wo", "bo"]
    return {k: i for i, k in enumerate(keys)}, bool(pos)


def layernorm(x, g, b, xhat, out):
    """out ← γ x̂ + β per column; x̂ into xhat; returns 1/σ (a row)."""
    mu = x.mean(axis=0, keepdims=True)
    np.subtract(x, mu, out=xhat)
    rstd = 1 / np.sqrt(np.einsum("ij,ij->j", xhat, xhat)[None] / x.shape[0] + EPS)
    xhat *= rstd
    np.multiply(xhat, g, out=out)
    out += b
    return rstd


def layernorm_back(d_out, g, xhat, rstd, dg, db, dx):
    """dx ← (1/σ)(δ_x̂ − mean(δ_x̂) − x̂ ⊙ mean(δ_x̂ ⊙ x̂)) (Ba et al. 2016); d_out is spent."""
    np.einsum("ij,ij->i", d_out, xhat, out=dg[:, 0])
    np.sum(d_out, axis=1, out=db[:, 0])
    d_out *= g
    m2 = np.einsum("ij,ij->j", d_out, xhat)[None] / xhat.shape[0]
    np.multiply(xhat, m2, out=dx)
    np.subtract(d_out, dx, out=dx)
    dx -= d_out.mean(axis=0, keepdims=True)
    dx *= rstd


class HandTransformer:
    def __init__(self, names, T, F, d, heads, ff, C, N, dtype):
        self.r, self.pos = roles(names, heads)
        self.T, self.F, self.d, self.h, self.N = T, F, d, heads, N
        self.dk = d // heads
        M = N * T
        e = lambda *shape: np.empty(shape, dtype)  # noqa: E731
        self.Z1, self.X1, self.LN1 = e(d, M), e(d, M), e(d, M)
        self.Wqkv, self.QKV, self.Wout = e(d, 3 * d), e(M, 3 * d), e(d, d)
        self.P, self.O = e(N, heads, T, T), e(N, heads, T, self.dk)
        self.Ocat, self.R = e(M, d), e(d, M)
        self.X2, self.LN2, self.A5, self.R6 = e(d, M), e(d, M), e(ff, M), e(d, M)
        self.A6, self.Z7, self.S = e(d, N), e(C, N), e(C, N)
        self.G, self.dA5, self.dLN, self.dR = e(d, M), e(ff, M), e(d, M), e(d, M)
        self.dP, self.dQKV, self.dOcat, self.dZ = e(N, heads, T, T), e(M, 3 * d), e(M, d), e(d, M)
        self.dWqkv, self.dWout = e(d, 3 * d), e(d, d)
        dk = self.dk
        shapes = {"W1": (d, F), "b1": (d, 1), "pos": (d, T), "g1": (d, 1), "be1": (d, 1),
                  "g2": (d, 1), "be2": (d, 1), "Wf": (ff, d), "bf": (ff, 1), "Wg": (d, ff),
                  "bg": (d, 1), "Wo": (C, d), "bo": (C, 1)}
        self.grads = [None] * len(self.r)
        for k, i in self.r.items():
            if k in shapes:
                self.grads[i] = e(*shapes[k])
        for i in range(heads):   # the heads' gradients are views of the stacked ones
            for j, q in enumerate("QKV"):
                self.grads[self.r[f"{q}{i}"]] = self.dWqkv[:, j * d + i * dk:j * d + (i + 1) * dk]
            self.grads[self.r[f"O{i}"]] = self.dWout[i * dk:(i + 1) * dk]

    def heads_of(self, A, j):
        """Block j (Q, K, V) of an N·T × 3d matrix as the (N, h, T, d_k) view."""
        N, T, h, dk = self.N, self.T, self.h, self.dk
        return A[:, j * self.d:(j + 1) * self.d].reshape(N, T, h, dk).transpose(0, 2, 1, 3)

    def loss_and_gradients(self, X, Y, params):
        r, p, g = self.r, params, self.grads
        T, F, d, h, N, dk = self.T, self.F, self.d, self.h, self.N, self.dk
        A0 = X.T.reshape(N * T, F).T                 # d × (N·T) tokens: column n·T + t
        Z1 = self.Z1
        np.matmul(p[r["W1"]], A0, out=Z1)
        Z1 += p[r["b1"]]
        if self.pos:
            Z1.reshape(d, N, T)[...] += p[r["pos"]][:, None, :]
        rstd1 = layernorm(Z1, p[r["g1"]], p[r["be1"]], self.X1, self.LN1)
        for i in range(h):
            for j, q in enumerate("QKV"):
                self.Wqkv[:, j * d + i * dk:j * d + (i + 1) * dk] = p[r[f"{q}{i}"]]
            self.Wout[i * dk:(i + 1) * dk] = p[r[f"O{i}"]]
        np.matmul(self.LN1.T, self.Wqkv, out=self.QKV)
        Q, K, V = (self.heads_of(self.QKV, j) for j in range(3))
        P = self.P
        np.matmul(Q, K.transpose(0, 1, 3, 2), out=P)
        P *= 1 / np.sqrt(dk)
        P -= P.max(axis=3, keepdims=True)
        np.exp(P, out=P)
        P /= P.sum(axis=3, keepdims=True)
        np.matmul(P, V, out=self.O)
        self.Ocat.reshape(N, T, h, dk)[...] = self.O.transpose(0, 2, 1, 3)
        R = self.R
        np.matmul(self.Wout.T, self.Ocat.T, out=R)
        R += Z1
        rstd2 = layernorm(R, p[r["g2"]], p[r["be2"]], self.X2, self.LN2)
        A5 = self.A5
        np.matmul(p[r["Wf"]], self.LN2, out=A5)
        A5 += p[r["bf"]]
        np.maximum(A5, 0, out=A5)
        R6 = self.R6
        np.matmul(p[r["Wg"]], A5, out=R6)
        R6 += p[r["bg"]]
        R6 += R
        np.mean(R6.reshape(d, N, T), axis=2, out=self.A6)
        np.matmul(p[r["Wo"]], self.A6, out=self.Z7)
        self.Z7 += p[r["bo"]]
        loss = softmax_xent(self.Z7, Y, self.S, N)
        # backward: δ's of d × (N·T) tokens, the mean's 1/N already in δ_out = self.S
        d7 = self.S
        np.matmul(d7, self.A6.T, out=g[r["Wo"]])
        np.sum(d7, axis=1, keepdims=True, out=g[r["bo"]])
        G = self.G                                   # δ of R′: W_oᵀ δ / T for each step
        G.reshape(d, N, T)[...] = (p[r["Wo"]].T @ d7)[:, :, None] / T
        np.matmul(G, A5.T, out=g[r["Wg"]])
        np.sum(G, axis=1, keepdims=True, out=g[r["bg"]])
        dA5 = self.dA5
        np.matmul(p[r["Wg"]].T, G, out=dA5)
        dA5 *= A5 > 0
        np.matmul(dA5, self.LN2.T, out=g[r["Wf"]])
        np.sum(dA5, axis=1, keepdims=True, out=g[r["bf"]])
        np.matmul(p[r["Wf"]].T, dA5, out=self.dLN)
        dR = self.dR
        layernorm_back(self.dLN, p[r["g2"]], self.X2, rstd2, g[r["g2"]], g[r["be2"]], dR)
        dR += G
        np.matmul(self.Ocat.T, dR.T, out=self.dWout)
        np.matmul(dR.T, self.Wout.T, out=self.dOcat)
        dO = self.dOcat.reshape(N, T, h, dk).transpose(0, 2, 1, 3)
        dP = self.dP
        np.matmul(dO, V.transpose(0, 1, 3, 2), out=dP)
        np.matmul(P.transpose(0, 1, 3, 2), dO, out=self.heads_of(self.dQKV, 2))
        dP -= np.einsum("nhij,nhij->nhi", dP, P)[..., None]   # δ_S = P ⊙ (δ_P − rowsum(δ_P ⊙ P))
        dP *= P
        dP *= 1 / np.sqrt(dk)
        np.matmul(dP, K, out=self.heads_of(self.dQKV, 0))
        np.matmul(dP.transpose(0, 1, 3, 2), Q, out=self.heads_of(self.dQKV, 1))
        np.matmul(self.LN1, self.dQKV, out=self.dWqkv)
        np.matmul(self.Wqkv, self.dQKV.T, out=self.dLN)
        dZ = self.dZ
        layernorm_back(self.dLN, p[r["g1"]], self.X1, rstd1, g[r["g1"]], g[r["be1"]], dZ)
        dZ += dR
        if self.pos:
            np.sum(dZ.reshape(d, N, T), axis=1, out=g[r["pos"]])
        np.matmul(dZ, A0.T, out=g[r["W1"]])
        np.sum(dZ, axis=1, keepdims=True, out=g[r["b1"]])
        return loss, g


def torch_transformer(torch, names, T, F, d, heads, ff, C):
    """loss(params, X, labels) of the same model in torch ops as a torch user writes it:
    tokens (N, T, d), F.layer_norm, the heads' weights concatenated, softmax of the scores."""
    fn = torch.nn.functional
    r, pos = roles(names, heads)
    dk = d // heads

    def loss(params, X, labels):
        p = lambda k: params[r[k]]  # noqa: E731
        N = X.shape[1]
        x = X.T.reshape(N, T, F)
        z = x @ p("W1").T + p("b1").T
        if pos:
            z = z + p("pos").T
        ln = fn.layer_norm(z, (d,), p("g1").view(-1), p("be1").view(-1), EPS)
        Wq, Wk, Wv = (torch.cat([p(f"{q}{i}") for i in range(heads)], 1) for q in "QKV")
        q, k, v = ((ln @ W).view(N, T, heads, dk).transpose(1, 2) for W in (Wq, Wk, Wv))
        att = torch.softmax(q @ k.transpose(-1, -2) / dk ** 0.5, dim=-1) @ v
        Wo = torch.cat([p(f"O{i}") for i in range(heads)], 0)
        rr = z + att.transpose(1, 2).reshape(N, T, d) @ Wo
        ln2 = fn.layer_norm(rr, (d,), p("g2").view(-1), p("be2").view(-1), EPS)
        rr = rr + torch.relu(ln2 @ p("Wf").T + p("bf").T) @ p("Wg").T + p("bg").T
        return fn.cross_entropy(rr.mean(dim=1) @ p("Wo").T + p("bo").T, labels)
    return loss
