"""The hand-written references for benchmarks/sequence_step.py: one training step of a sequence
model written the way a careful person writes it, in NumPy (preallocated buffers, batched
matmuls) and in torch eager autograd (the same forward in torch ops, loss.backward()).

Layout as matcalc's kernels: X is (T·F) × N, step t's F features in rows (t−1)F … tF − 1,
samples as columns; Y is classes × N one-hot; the loss is the mean cross-entropy of the
softmax. Parameters come in the order of the generated module's PARAMS.

It measures nothing by itself; sequence_step.py times it and, before any timing, checks its
gradients against the generated kernels' (which matcalc has proven).
"""
import numpy as np


def softmax_xent(Z, Y, S, N):
    """Loss of softmax(Z) against Y, mean over N; S ← δ = (S − Y)/N (the mean's 1/N folded
    once into the output δ). Z is shifted in place (Z is the caller's scratch)."""
    Z -= Z.max(axis=0, keepdims=True)
    np.exp(Z, out=S)
    s = S.sum(axis=0, keepdims=True)
    S /= s
    # −Σ Y ⊙ log softmax(Z) with log softmax = (Z − max) − log Σ exp: no log of an underflow
    loss = -(np.vdot(Y, Z) - np.vdot(Y.sum(axis=0, keepdims=True), np.log(s))) / N
    S -= Y
    S *= 1 / N
    return loss


class HandRNN:
    """rnn(H), last, dense(C): h_t = tanh(W x_t + U h_{t−1} + b), h_0 = 0, BPTT.

    Buffers allocated once, time as the middle axis, (H, T, N), so that every step's slab is a
    strided view BLAS takes as it is and the sums over t are single GEMMs: all T input
    projections W x_t are one (H × F)(F × T·N) product before the loop; ∂L/∂U = Σ_t δ_t h_{t−1}ᵀ
    and ∂L/∂W are one (H × T·N)(T·N × ·) product each after it. The pre-activation buffer is
    reused for 1 − h_t², computed for all steps in two vectorised passes."""

    def __init__(self, T, F, H, C, N, dtype):
        self.T, self.F, self.H, self.N = T, F, H, N
        e = lambda *shape: np.empty(shape, dtype)  # noqa: E731
        self.Xs, self.Hs, self.A, self.D = e(F, T, N), e(H, T + 1, N), e(H, T, N), e(H, T, N)
        self.Hs[:, 0] = 0
        self.tmp, self.Z2, self.S = e(H, N), e(C, N), e(C, N)
        self.grads = [e(H, F), e(H, H), e(H, 1), e(C, H), e(C, 1)]

    def loss_and_gradients(self, X, Y, params):
        W, U, b, W2, b2 = params
        dW, dU, db, dW2, db2 = self.grads
        T, F, H, N = self.T, self.F, self.H, self.N
        Xs, Hs, A, D, tmp = self.Xs, self.Hs, self.A, self.D, self.tmp
        np.copyto(Xs, X.reshape(T, F, N).transpose(1, 0, 2))
        Xf, Af, Df = Xs.reshape(F, T * N), A.reshape(H, T * N), D.reshape(H, T * N)
        np.matmul(W, Xf, out=Af)
        Af += b
        for t in range(T):
            np.matmul(U, Hs[:, t], out=tmp)
            tmp += A[:, t]
            np.tanh(tmp, out=Hs[:, t + 1])
        hT = Hs[:, T]
        np.matmul(W2, hT, out=self.Z2)
        self.Z2 += b2
        loss = softmax_xent(self.Z2, Y, self.S, N)
        d2 = self.S
        np.matmul(d2, hT.T, out=dW2)
        np.sum(d2, axis=1, keepdims=True, out=db2)
        np.square(Hs[:, 1:], out=A)              # A ← 1 − h_t² (the pre-activations are spent)
        np.subtract(1, A, out=A)
        np.matmul(W2.T, d2, out=tmp)
        np.multiply(tmp, A[:, T - 1], out=D[:, T - 1])
        for t in range(T - 2, -1, -1):
            np.matmul(U.T, D[:, t + 1], out=tmp)
            np.multiply(tmp, A[:, t], out=D[:, t])
        np.matmul(Df, Hs[:, :T].reshape(H, T * N).T, out=dU)
        np.matmul(Df, Xf.T, out=dW)
        np.sum(Df, axis=1, keepdims=True, out=db)
        return loss, self.grads


def torch_rnn(torch, T, F, H, C):
    """loss(params, X, labels) of the same RNN in torch ops, for autograd: the textbook
    forward, one step at a time, as a torch user writes it."""
    xent = torch.nn.functional.cross_entropy

    def loss(params, X, labels):
        W, U, b, W2, b2 = params
        xs = X.view(T, F, -1)
        h = X.new_zeros((H, X.shape[1]))
        for t in range(T):
            h = torch.tanh(W @ xs[t] + U @ h + b)
        return xent((W2 @ h + b2).T, labels)      # mean over the batch, log-softmax inside
    return loss
