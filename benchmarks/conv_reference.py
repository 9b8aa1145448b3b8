"""The hand-written NumPy reference for benchmarks/conv_step.py: one training step (forward,
backward, SGD with momentum) of a small CNN

    input C×H×W → [conv(F, k, pad, stride) → relu → maxpool(q)]… → flatten → dense(classes)

with softmax + cross-entropy (mean over the batch), in matcalc's layout, written the way a
careful person writes it for speed:

  * X: (C·H·W) × N, samples as columns, rows ordered (c, h, w); Y: classes × N one-hot.
  * a batch of images inside the network is a channel matrix C × (N·H·W), i.e. (C, N, H, W).
  * conv: Z = W @ unfold(A) + b, W: F × (C·k·k) (unfold's rows ordered c, i, j; its columns
    n, h', w'), b: F × 1; cross-correlation, zero padding p, stride s.
  * maxpool q×q stride q: the first maximum of each window (row-major) gets the gradient.
  * flatten: F × (N·H·W) → (F·H·W) × N, rows (f, h, w); dense: Z = W @ A + b.

It measures nothing by itself; conv_step.py times it. Run `python benchmarks/conv_reference.py`
to check every parameter's gradient against central differences of its own loss (float64,
random directions), max-pool's tie rule against a loop over windows, and float32 against
float64.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# The two benchmark networks (issue 9): conv blocks (F, k, pad, stride, pool) each followed by
# relu and a q×q max-pool, then one dense layer to `classes`.
NETS = {
    "digits": dict(input=(1, 8, 8), convs=[(8, 3, 1, 1, 2)], classes=10, N=128,
                   text="1×8×8 → conv(8,3,pad=1) → relu → maxpool(2) → dense(10)"),
    "mnist": dict(input=(1, 28, 28), convs=[(16, 5, 0, 1, 2), (32, 5, 0, 1, 2)], classes=10,
                  N=64, text="1×28×28 → conv(16,5) → relu → maxpool(2) → conv(32,5) → relu → "
                             "maxpool(2) → dense(10)"),
}


def shapes(net):
    """Per conv block: (C, H, W, F, k, p, s, Ho, Wo, q, Hq, Wq); and the dense layer's input
    size F·Hq·Wq."""
    C, H, W = net["input"]
    out = []
    for F, k, p, s, q in net["convs"]:
        Ho, Wo = (H - k + 2 * p) // s + 1, (W - k + 2 * p) // s + 1
        if (H - k + 2 * p) % s or (W - k + 2 * p) % s or Ho % q or Wo % q:
            raise ValueError(f"conv({F},{k},pad={p},stride={s}) on {C}×{H}×{W} then "
                             f"maxpool({q}) does not tile exactly")
        out.append((C, H, W, F, k, p, s, Ho, Wo, q, Ho // q, Wo // q))
        C, H, W = F, Ho // q, Wo // q
    return out, C * H * W


def param_shapes(net):
    """[(name, shape)] in the kernels' order: W1, b1, …, the dense layer's last."""
    blocks, flat = shapes(net)
    out = []
    for l, (C, _, _, F, k, *_) in enumerate(blocks, 1):
        out += [(f"W{l}", (F, C * k * k)), (f"b{l}", (F, 1))]
    L = len(blocks) + 1
    return out + [(f"W{L}", (net["classes"], flat)), (f"b{L}", (net["classes"], 1))]


def init_params(net, rng, dtype=np.float64):
    """[W1, b1, …]: He (fan-in C·k·k) for the relu conv layers, Glorot for the dense output
    layer, zero biases, like matcalc's trainer does for an MLP."""
    params = []
    for name, (o, i) in param_shapes(net):
        if name.startswith("b"):
            params.append(np.zeros((o, 1), dtype))
            continue
        last = len(params) == 2 * len(net["convs"])
        scale = np.sqrt(2.0 / (i + o)) if last else np.sqrt(2.0 / i)
        params.append((rng.standard_normal((o, i)) * scale).astype(dtype))
    return params


def one_hot(labels, n_classes, dtype=np.float64):
    """Y (classes × N) with Y[label_j, j] = 1."""
    Y = np.zeros((n_classes, labels.size), dtype)
    Y[labels, np.arange(labels.size)] = 1
    return Y


class HandCNN:
    """A hand-written CNN step in plain NumPy, for one net, batch size and dtype.

    Every intermediate lives in a buffer allocated once (matmul and ufuncs with out=); padded
    inputs keep their zero border from allocation and only the interior is written. No Python
    loop runs over samples or positions: the only loops are over layers and over the k² (or q²)
    offsets of a window.

      * im2col: one copy of a sliding_window_view, transposed to unfold's (c, i, j | n, h', w')
        order, into a preallocated (C·k·k) × (N·Ho·Wo) buffer;
      * col2im: the k² slices of Wᵀδ added into the (padded) input gradient;
      * relu in place on Z; max-pool as the elementwise maximum of the q² strided slices of
        the reshaped (F, N, Hq, q, Wq, q) view (np.max over axes (3, 5) is ~25× slower);
      * pool + relu backward: relu' is taken on the pooled output (the gradient reaches only a
        window's maximum, where A = pool(A), so [A > 0] there is [pool(A) > 0]), then each of
        the q² offsets gets δ where it holds the window's first maximum, else 0;
      * the mean's 1/N folded once into the output delta (S - Y)/N; stable log-softmax loss;
      * δ_Z overwrites relu(Z) (the pool backward reads each window offset's values just
        before writing its gradients there), and Wᵀδ_Z overwrites the im2col buffer once
        dW = δ_Z colsᵀ is taken: half the memory, no extra work;
      * no input gradient for the first conv layer (nothing needs it).
    """

    def __init__(self, net, N, dtype):
        self.net, self.N, self.dtype = net, N, np.dtype(dtype)
        self.blocks, flat = shapes(net)
        self.bufs = []
        for l, (C, H, W, F, k, p, s, Ho, Wo, q, Hq, Wq) in enumerate(self.blocks):
            M = N * Ho * Wo
            b = dict(
                # the block's input as (C, N, H+2p, W+2p): the first block copies X into it,
                # later ones pool into its interior (so padding costs no extra copy)
                Ain=np.zeros((C, N, H + 2 * p, W + 2 * p), dtype),
                cols=np.empty((C * k * k, M), dtype),
                Z=np.empty((F, M), dtype),        # Z, relu(Z) in place, then δ_Z in place
                dP=np.empty((F, N, Hq, Wq), dtype),   # δ of the pooled output ⊙ relu'
                pos=np.empty((F, N, Hq, Wq), bool),   # relu' on the pooled output
                m=np.empty((F, N, Hq, Wq), bool),     # this offset holds the first max
                free=np.empty((F, N, Hq, Wq), bool),  # no earlier offset held it
            )
            # in-place reuse (each buffer is dead by then): δ_Z overwrites relu(Z) offset by
            # offset of the pool backward, Wᵀδ_Z overwrites cols once dW = δ_Z colsᵀ is taken
            b["dZ"], b["dcols"] = b["Z"], b["cols"]
            if l > 0:  # the gradient of the padded input (col2im accumulates into it)
                b["dAin"] = np.empty((C, N, H + 2 * p, W + 2 * p), dtype)
            self.bufs.append(b)
        for l, b in enumerate(self.bufs):  # where block l's pooled output goes
            if l + 1 < len(self.bufs):
                p = self.blocks[l + 1][5]
                nxt = self.bufs[l + 1]["Ain"]
                b["out"] = nxt[:, :, p:nxt.shape[2] - p, p:nxt.shape[3] - p]
            else:
                F, Hq, Wq = self.blocks[l][3], self.blocks[l][10], self.blocks[l][11]
                b["out"] = np.empty((F, N, Hq, Wq), dtype)
        K = net["classes"]
        self.flat = np.empty((flat, N), dtype)
        self.dflat = np.empty((flat, N), dtype)
        self.Zd = np.empty((K, N), dtype)
        self.S = np.empty((K, N), dtype)
        self.col = np.empty((1, N), dtype)
        self.grads = [np.empty(shape, dtype) for _, shape in param_shapes(net)]
        self.v = None

    # -- forward pieces ---------------------------------------------------------------------
    @staticmethod
    def _im2col(Ain, cols, k, s, Ho, Wo):
        C, N = Ain.shape[:2]
        V = sliding_window_view(Ain, (k, k), axis=(2, 3))[:, :, ::s, ::s]  # (C,N,Ho,Wo,k,k)
        np.copyto(cols.reshape(C, k, k, N, Ho, Wo), V.transpose(0, 4, 5, 1, 2, 3))

    @staticmethod
    def _maxpool(A, out, q):
        F, N, Hq, Wq = out.shape
        A6 = A.reshape(F, N, Hq, q, Wq, q)
        np.maximum(A6[:, :, :, 0, :, 0], A6[:, :, :, 0, :, 1 % q], out=out)
        for i in range(q):
            for j in range(q):
                if i or j > 1:
                    np.maximum(out, A6[:, :, :, i, :, j], out=out)

    # -- backward pieces --------------------------------------------------------------------
    @staticmethod
    def _maxpool_relu_backward(b, A, P, dPool, q):
        """b["dZ"] ← the gradient w.r.t. Z of relu → maxpool, given δ of the pool's output
        (dPool, any strides) and its value P."""
        dP, m, free = b["dP"], b["m"], b["free"]
        np.greater(P, 0, out=b["pos"])
        np.multiply(dPool, b["pos"], out=dP)           # relu' at the window's maximum
        F, N, Hq, Wq = P.shape
        A6 = A.reshape(F, N, Hq, q, Wq, q)
        dZ6 = b["dZ"].reshape(F, N, Hq, q, Wq, q)
        last = (q - 1, q - 1)
        for i in range(q):
            for j in range(q):
                np.equal(A6[:, :, :, i, :, j], P, out=m)
                if (i, j) == (0, 0):
                    np.logical_not(m, out=free)
                else:
                    np.logical_and(m, free, out=m)     # a tie with an earlier offset: not it
                    if (i, j) != last:
                        np.greater(free, m, out=free)  # free ∧ ¬m
                np.multiply(dP, m, out=dZ6[:, :, :, i, :, j])

    @staticmethod
    def _col2im(dcols, dAin, k, s, Ho, Wo):
        C, N = dAin.shape[:2]
        dc = dcols.reshape(C, k, k, N, Ho, Wo)
        dAin.fill(0)
        for i in range(k):
            for j in range(k):
                dAin[:, :, i:i + s * (Ho - 1) + 1:s, j:j + s * (Wo - 1) + 1:s] += dc[:, i, j]

    def loss_and_gradients(self, X, Y, params):
        """(L, [dW1, db1, …]); the gradient arrays are this object's buffers, reused."""
        N, nb = X.shape[1], len(self.blocks)
        C0, H0, W0, p0 = self.blocks[0][0], self.blocks[0][1], self.blocks[0][2], self.blocks[0][5]
        A0 = self.bufs[0]["Ain"]
        np.copyto(A0[:, :, p0:p0 + H0, p0:p0 + W0], X.reshape(C0, H0, W0, N).transpose(0, 3, 1, 2))
        for l, (blk, b) in enumerate(zip(self.blocks, self.bufs)):
            k, s, Ho, Wo, q = blk[4], blk[6], blk[7], blk[8], blk[9]
            self._im2col(b["Ain"], b["cols"], k, s, Ho, Wo)
            Z = b["Z"]
            np.matmul(params[2 * l], b["cols"], out=Z)
            Z += params[2 * l + 1]
            np.maximum(Z, 0, out=Z)                                # relu, in place
            self._maxpool(Z, b["out"], q)
        F, Hq, Wq = self.blocks[-1][3], self.blocks[-1][10], self.blocks[-1][11]
        np.copyto(self.flat.reshape(F, Hq, Wq, N), self.bufs[-1]["out"].transpose(0, 2, 3, 1))
        Z, S, c = self.Zd, self.S, self.col
        np.matmul(params[2 * nb], self.flat, out=Z)
        Z += params[2 * nb + 1]
        np.max(Z, axis=0, keepdims=True, out=c)
        Z -= c                                   # Z - max
        np.exp(Z, out=S)
        np.sum(S, axis=0, keepdims=True, out=c)  # Σ exp(Z - max)
        S /= c                                   # softmax
        np.log(c, out=c)
        Z -= c                                   # logsoftmax
        loss = -np.vdot(Y, Z) / N
        S -= Y
        S *= 1 / N                               # δ = (S - Y)/N: the mean's 1/N, once
        g = self.grads
        np.matmul(S, self.flat.T, out=g[2 * nb])
        np.sum(S, axis=1, keepdims=True, out=g[2 * nb + 1])
        np.matmul(params[2 * nb].T, S, out=self.dflat)
        dPool = self.dflat.reshape(F, Hq, Wq, N).transpose(0, 3, 1, 2)  # unflatten: a view
        for l in range(nb - 1, -1, -1):
            (_, H, W, F, k, p, s, Ho, Wo, q, Hq, Wq), b = self.blocks[l], self.bufs[l]
            self._maxpool_relu_backward(b, b["Z"], b["out"], dPool, q)
            dZ = b["dZ"]
            np.matmul(dZ, b["cols"].T, out=g[2 * l])
            np.sum(dZ, axis=1, keepdims=True, out=g[2 * l + 1])
            if l > 0:
                np.matmul(params[2 * l].T, dZ, out=b["dcols"])
                self._col2im(b["dcols"], b["dAin"], k, s, Ho, Wo)
                dPool = b["dAin"][:, :, p:p + H, p:p + W]
        return loss, g

    def step(self, X, Y, params, lr, mu):
        """One SGD-with-momentum step in place: v ← μ v − α g; θ ← θ + v (matcalc's sgd)."""
        if self.v is None:
            self.v = [np.zeros_like(p) for p in params]
        loss, grads = self.loss_and_gradients(X, Y, params)
        for p, g, v in zip(params, grads, self.v):
            v *= mu
            g *= lr        # the gradient buffer is scratch now
            v -= g
            p += v
        return loss


# ---------------------------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------------------------
def data(net, N, rng, dtype=np.float64):
    C, H, W = net["input"]
    X = rng.standard_normal((C * H * W, N)).astype(dtype)
    labels = rng.integers(0, net["classes"], N)
    return X, one_hot(labels, net["classes"], dtype), labels


def _finite_difference_check():
    """Each parameter: ⟨g, V⟩ vs (L(θ + hV) − L(θ − hV)) / 2h for random directions V. h is
    small enough that no relu or max-pool kink is crossed (a crossing would show as a large
    error, not hide one)."""
    rng = np.random.default_rng(0)
    h, n_dirs, worst_all = 1e-6, 4, 0.0
    extra = {"strided": dict(input=(2, 9, 9), convs=[(3, 3, 1, 2, 1), (4, 3, 1, 1, 1)],
                             classes=4, text="2×9×9 → conv(3,3,pad=1,stride=2) → relu → "
                                             "conv(4,3,pad=1) → relu → dense(4)")}
    for name, net in {**NETS, **extra}.items():
        N = 3
        X, Y, _ = data(net, N, rng)
        params = [p + 0.1 * rng.standard_normal(p.shape) for p in init_params(net, rng)]
        cnn = HandCNN(net, N, np.float64)
        loss = lambda: cnn.loss_and_gradients(X, Y, params)[0]  # noqa: E731
        grads = [g.copy() for g in cnn.loss_and_gradients(X, Y, params)[1]]
        worst = 0.0
        for (pname, _), p, g in zip(param_shapes(net), params, grads):
            for _ in range(n_dirs):
                V = rng.standard_normal(p.shape)
                p += h * V
                up = loss()
                p -= 2 * h * V
                down = loss()
                p += h * V
                fd, an = (up - down) / (2 * h), float(np.vdot(g, V))
                rel = abs(fd - an) / max(abs(fd), abs(an), 1e-12)
                worst = max(worst, rel)
        worst_all = max(worst_all, worst)
        print(f"{name:<8s} ({net['text']}), N={N}: worst relative error of ⟨∇, V⟩ vs central "
              f"differences, {len(grads)} parameters × {n_dirs} directions: {worst:.1e}")
    print(f"worst relative error over all: {worst_all:.1e} (must be < 1e-6)")
    assert worst_all < 1e-6, worst_all


def _maxpool_tie_check():
    """Max-pool with ties (small integers, relu zeros): only the first maximum of each window
    gets the gradient, as a loop over windows says."""
    rng = np.random.default_rng(1)
    F, N, Hq, Wq, q = 3, 4, 3, 5, 2
    net = dict(input=(1, 2 * Hq + 2, 2 * Wq + 2), convs=[(F, 3, 0, 1, q)], classes=2)
    cnn = HandCNN(net, N, np.float64)
    b = cnn.bufs[0]
    b["Z"][...] = np.maximum(rng.integers(-2, 3, b["Z"].shape), 0)   # many ties
    P = b["out"]
    cnn._maxpool(b["Z"], P, q)
    dPool = rng.standard_normal(P.shape)
    A = b["Z"].reshape(F, N, 2 * Hq, 2 * Wq).copy()  # the backward overwrites it with δ_Z
    cnn._maxpool_relu_backward(b, b["Z"], P, dPool, q)
    want = np.zeros_like(A)
    for f, n, i, j in np.ndindex(F, N, Hq, Wq):
        win = A[f, n, q * i:q * i + q, q * j:q * j + q]
        assert P[f, n, i, j] == win.max()
        a, c = divmod(int(np.argmax(win)), q)          # argmax: the first maximum, row-major
        if win[a, c] > 0:                               # relu' = [A > 0]
            want[f, n, q * i + a, q * j + c] = dPool[f, n, i, j]
    ok = np.array_equal(b["dZ"].reshape(A.shape), want)
    print(f"max-pool ties ({int((A == 0).mean() * 100)}% zeros): first maximum only, as a loop "
          f"over windows: {'yes' if ok else 'NO'}")
    assert ok


def _float32_check():
    """float32 stays float32 and agrees with float64."""
    for name, net in NETS.items():
        rng = np.random.default_rng(2)
        X, Y, _ = data(net, 16, rng)
        params = init_params(net, rng)
        L64, g64 = HandCNN(net, 16, np.float64).loss_and_gradients(X, Y, params)
        L32, g32 = HandCNN(net, 16, np.float32).loss_and_gradients(
            X.astype(np.float32), Y.astype(np.float32), [p.astype(np.float32) for p in params])
        dts = {np.asarray(L32).dtype} | {g.dtype for g in g32}
        worst = max(float(np.max(np.abs(a - b)) / np.max(np.abs(b))) for a, b in zip(g32, g64))
        print(f"{name:<8s} float32: dtypes {sorted(d.name for d in dts)}, loss {L32:.6f} vs "
              f"{L64:.6f}, worst gradient difference / max |gradient| {worst:.1e}")
        assert dts == {np.dtype(np.float32)} and worst < 1e-4 and abs(L32 - L64) < 1e-5


if __name__ == "__main__":
    _finite_difference_check()
    _maxpool_tie_check()
    _float32_check()
