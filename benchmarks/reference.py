"""The hand-written NumPy reference for benchmarks/train_step.py: one training step (forward,
backward, SGD with momentum) of an MLP with softmax + cross-entropy output, samples as columns
like matcalc's kernels (X: features × N), written the way a careful person writes it.

It measures nothing by itself; train_step.py times it against the generated kernels. Run
`python benchmarks/reference.py` to check its gradients against central finite differences.
"""
import numpy as np

# σ spellings the reference can use; train_step.py picks the generated kernel's own (like with
# like) and times the others as hand-written variants.
SIGMOID_SPELLINGS = {"tanh": "0.5 + 0.5·tanh(z/2)", "logaddexp": "exp(-logaddexp(0,-z))",
                     "recip": "1/(1+exp(-z))"}


def init_params(sizes, act, rng, dtype=np.float64):
    """[W1, b1, W2, b2, …], W_l of shape (out, in): He for relu, else Xavier/Glorot; b = 0.

    The same scheme and the same draws as matcalc.train.trainer.init_params (so both sides start
    from the weights `fit` would use), but shapes come from `sizes`, not a kernel module."""
    L = len(sizes) - 1
    params = []
    for l in range(1, L + 1):
        fan_in, fan_out = sizes[l - 1], sizes[l]
        layer_act = act if l < L else "softmax"
        scale = np.sqrt(2.0 / fan_in) if layer_act == "relu" else np.sqrt(2.0 / (fan_in + fan_out))
        params.append((rng.standard_normal((fan_out, fan_in)) * scale).astype(dtype))
        params.append(np.zeros((fan_out, 1), dtype))
    return params


def one_hot(labels, n_classes, dtype=np.float64):
    """Y (classes × N) with Y[label_j, j] = 1."""
    Y = np.zeros((n_classes, labels.size), dtype)
    Y[labels, np.arange(labels.size)] = 1
    return Y


class HandMLP:
    """A hand-written MLP step in plain NumPy.

    Every activation, delta and gradient lives in a buffer allocated once (matmul and ufuncs
    with out=); activations overwrite Z in place (backward needs only A); the mean's 1/N is
    folded once into the output delta (S - Y)/N, so no gradient is rescaled afterwards; the
    update is in place.

    Numerically stable where it matters, as the generated code is:
      * softmax: max-shifted exp, taken once (S = E / ΣE; the generated code takes it twice,
        in _softmax and _logsumexp: 10 × N entries, negligible);
      * loss: -Σ Y ⊙ logsoftmax(Z) / N with logsoftmax = (Z - max) - log Σ exp(Z - max), never
        the log of an underflowed 0;
      * sigmoid: `sigmoid` picks the spelling (SIGMOID_SPELLINGS), all overflow-free. "tanh"
        rounds σ(-40) = 4e-18 to 0 (absolute error ≤ 1e-16); "logaddexp" keeps full relative
        accuracy at ~10× the cost; "recip" is as accurate and as cheap as "tanh" but needs the
        overflow warning of exp(-z) silenced (1/inf = 0 is the right limit);
      * relu' = [A > 0] as a bool mask multiplied in place (np.heaviside is ~10× slower);
        tanh' = 1 - A², sigmoid' = A (1 - A), into one scratch buffer.
    """

    def __init__(self, sizes, act, N, dtype, sigmoid="tanh"):
        if act not in ("relu", "tanh", "sigmoid") or sigmoid not in SIGMOID_SPELLINGS:
            raise ValueError((act, sigmoid))
        self.sizes, self.act, self.sigmoid = sizes, act, sigmoid
        L = len(sizes) - 1
        widest = max(sizes[1:L] or [1])
        self.A = [None] + [np.empty((sizes[l], N), dtype) for l in range(1, L + 1)]
        self.D = [None] + [np.empty((sizes[l], N), dtype) for l in range(1, L)]
        self.T = np.empty((widest, N), dtype)     # f'(Z) scratch
        self.mask = np.empty((widest, N), bool)   # relu' scratch
        self.col = np.empty((1, N), dtype)        # column max, then column sums
        self.S = np.empty((sizes[-1], N), dtype)
        self.grads = []
        for l in range(1, L + 1):
            self.grads += [np.empty((sizes[l], sizes[l - 1]), dtype),
                           np.empty((sizes[l], 1), dtype)]
        self.v = None

    def _activate(self, Z):
        """Z ← f(Z) in place."""
        if self.act == "relu":
            np.maximum(Z, 0, out=Z)
        elif self.act == "tanh":
            np.tanh(Z, out=Z)
        elif self.sigmoid == "tanh":       # 0.5 + 0.5·tanh(z/2)
            Z *= 0.5
            np.tanh(Z, out=Z)
            Z *= 0.5
            Z += 0.5
        elif self.sigmoid == "logaddexp":  # exp(-logaddexp(0, -z))
            np.negative(Z, out=Z)
            np.logaddexp(0, Z, out=Z)
            np.negative(Z, out=Z)
            np.exp(Z, out=Z)
        else:                              # 1/(1 + exp(-z)); exp(-z) = inf → 1/inf = 0
            np.negative(Z, out=Z)
            with np.errstate(over="ignore"):
                np.exp(Z, out=Z)
            Z += 1
            np.reciprocal(Z, out=Z)

    def _derivative(self, D, A):
        """D ⊙= f'(Z), written with the activation A = f(Z)."""
        n = A.shape[0]
        if self.act == "relu":
            np.multiply(D, np.greater(A, 0, out=self.mask[:n]), out=D)
            return
        T = self.T[:n]
        if self.act == "tanh":             # 1 - A²
            np.multiply(A, A, out=T)
            np.subtract(1, T, out=T)
        else:                              # sigmoid: A (1 - A)
            np.subtract(1, A, out=T)
            T *= A
        D *= T

    def loss_and_gradients(self, X, Y, params):
        """(L, [dW1, db1, …]); the gradient arrays are this object's buffers, reused."""
        L, N = len(self.sizes) - 1, X.shape[1]
        prev = X
        for l in range(1, L + 1):
            Z = self.A[l]
            np.matmul(params[2 * l - 2], prev, out=Z)
            Z += params[2 * l - 1]
            if l < L:
                self._activate(Z)
            prev = Z
        Z, S, c = self.A[L], self.S, self.col
        np.max(Z, axis=0, keepdims=True, out=c)
        Z -= c                                   # Z - max
        np.exp(Z, out=S)
        np.sum(S, axis=0, keepdims=True, out=c)  # Σ exp(Z - max)
        S /= c                                   # softmax
        np.log(c, out=c)
        Z -= c                                   # logsoftmax
        loss = -np.vdot(Y, Z) / N
        S -= Y
        S *= 1 / N                               # δ_L = (S - Y)/N: the mean's 1/N, once
        delta, g = S, self.grads
        for l in range(L, 0, -1):
            prev = X if l == 1 else self.A[l - 1]
            np.matmul(delta, prev.T, out=g[2 * l - 2])
            np.sum(delta, axis=1, keepdims=True, out=g[2 * l - 1])
            if l > 1:
                D = self.D[l - 1]
                np.matmul(params[2 * l - 2].T, delta, out=D)
                self._derivative(D, self.A[l - 1])
                delta = D
        return loss, g

    def step(self, X, Y, params, lr, mu):
        """One SGD-with-momentum step in place: v ← μ v − α g; θ ← θ + v."""
        if self.v is None:
            self.v = [np.zeros_like(p) for p in params]
        loss, grads = self.loss_and_gradients(X, Y, params)
        for p, g, v in zip(params, grads, self.v):
            v *= mu
            g *= lr        # the gradient buffer is scratch now
            v -= g
            p += v
        return loss


def _finite_difference_check():
    """Every activation and σ spelling: gradients vs central differences on a tiny net."""
    rng = np.random.default_rng(0)
    sizes, N, h = [3, 4, 4, 3], 5, 1e-6
    X = rng.standard_normal((sizes[0], N))
    Y = one_hot(rng.integers(0, sizes[-1], N), sizes[-1])
    for act, sp in [("relu", "tanh"), ("tanh", "tanh")] + [("sigmoid", s) for s in SIGMOID_SPELLINGS]:
        params = init_params(sizes, act, rng)
        params = [p + 0.1 * rng.standard_normal(p.shape) for p in params]  # nonzero biases
        net = HandMLP(sizes, act, N, np.float64, sp)
        _, grads = net.loss_and_gradients(X, Y, params)
        grads = [g.copy() for g in grads]
        worst = 0.0
        for p, g in zip(params, grads):
            for i in np.ndindex(p.shape):
                old = p[i]
                p[i] = old + h
                up = net.loss_and_gradients(X, Y, params)[0]
                p[i] = old - h
                down = net.loss_and_gradients(X, Y, params)[0]
                p[i] = old
                worst = max(worst, abs((up - down) / (2 * h) - g[i]))
        print(f"{act:<8s} σ={sp:<10s} max |analytic - central difference| = {worst:.1e}")
        assert worst < 1e-6, (act, sp, worst)


if __name__ == "__main__":
    _finite_difference_check()
