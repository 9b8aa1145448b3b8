"""Time ONE training step (forward, backward, SGD-with-momentum update) of matcalc's generated
kernels against a careful hand-written NumPy step of the same network, and PyTorch CPU eager
where `import torch` works.

A script, not a test (no assertions); one run on a shared, noisy machine. Run:

    PYTHONPATH=. python3 benchmarks/train_step.py            # full run, < 3 min on 2 cores
    PYTHONPATH=. python3 benchmarks/train_step.py --quick    # shorter (~25 s)
    ... --no-micro                                           # skip ablations/profile/micro

Per config × dtype: (a) generated = matcalc.compile(derive(mlp(sizes, hidden=act)))
.loss_and_gradients + matcalc.train.sgd (the very update `fit` uses); (b) hand = the class
`HandMLP` below; (c) torch = autograd + torch.optim.SGD(momentum) (same trajectory: torch's
buffer is -v/lr). All start from the same weights (train.init_params, seeded) and the same
seeded random batch; before timing, the generated and hand-written gradients (and one full
step) are compared with np.allclose. Timing: warm-up, then R repeats; in each repeat every
implementation runs n steps back to back, the order rotated per repeat (interleaved, to
spread drift); n is chosen so that each implementation gets ≥ 0.5 s and ≥ 20 steps in all
(full run). Reported: the median over repeats of the per-step time. Peak memory: tracemalloc
(NumPy reports its buffers to it) over 200 steps, started before the implementation's own
buffers are made (hand's workspace, both momentum buffers), so those count; parameters and
data are made before and do not. BLAS threads: left at the default (printed).

Two timing passes: A with glibc's allocator as it comes, B after mallopt() stops glibc from
trimming its heap. The generated step allocates its temporaries afresh every step; under
glibc's defaults, depending on what else lives on the heap (here: the hand-written step's
buffers), the freed memory is handed back to the OS and page-faulted in again on the next step
(thousands of minor faults per step in the big config; the 'flt' columns). B shows the cost
of the operations themselves. Then: FLOPs of the big config's step vs the machine's GEMM peak;
ablations (the generated module with one printer change at a time, by editing its source);
a per-line profile of the generated loss_and_gradients; micro-benchmarks of alternative
spellings on the configs' shapes.

Targets (printed with the table): generated / hand-written ≤ 1.05 in every config; peak
memory ≤ 1.1× hand-written.
"""
import argparse
import gc
import math
import os
import platform
import re
import statistics
import time
import tracemalloc
import types

import numpy as np

import matcalc
from matcalc.train.trainer import init_params, sgd, targets

LR, MU = 0.01, 0.9
SEED = 0
CONFIGS = [  # (name, sizes, hidden activation, batch)
    ("64-128-10 sigmoid", [64, 128, 10], "sigmoid", 128),
    ("784-512-10 relu", [784, 512, 10], "relu", 128),
    ("784-1024-1024-10 relu", [784, 1024, 1024, 10], "relu", 256),
    ("784-256x4-10 tanh", [784, 256, 256, 256, 256, 10], "tanh", 64),
]
BIG = 2  # index of the config whose FLOP count is compared with the GEMM peak


# ---------------------------------------------------------------------------------------------
# (b) the hand-written step
# ---------------------------------------------------------------------------------------------
class HandMLP:
    """A hand-written MLP step, samples as columns like matcalc's kernels (X: features×N).

    Careful plain NumPy: every activation, delta and gradient lives in a buffer allocated once
    (matmul / ufuncs with out=), activations are applied in place over Z (A overwrites Z, the
    backward pass needs only A), the 1/N of the mean loss is folded once into the output delta
    (S - Y)/N, so no gradient is rescaled afterwards, and the update is in place.

    Numerically stable formulations, the same as the generated code where it matters:
      * softmax: max-shifted exp (exp is taken ONCE: S = E / ΣE; the generated code takes it
        twice, in _softmax and in _logsumexp — 10×N entries, negligible);
      * loss: -Σ Y ⊙ logsoftmax(Z) / N with logsoftmax = (Z - max) - log Σ exp(Z - max), i.e.
        logsumexp, never log of an underflowed 0 (the generated code's formula too);
      * sigmoid: CHOSEN = whatever spelling the generated kernel uses (sigmoid_spelling() reads
        it from the kernel source: since commit 3fcb0f5 0.5 + 0.5·tanh(z/2), before it
        exp(-logaddexp(0, -z))), only done in place, so that the table compares like with
        like. Both are overflow-free; the tanh form rounds the far left tail to 0 (σ(-40) =
        4e-18 → 0.0; absolute error ≤ 1e-16), logaddexp keeps full relative accuracy but costs
        ~10×. The sigmoid config is also timed against hand-written steps with the other
        spellings (lines under the table), incl. 1/(1 + exp(-z)) under errstate(over='ignore'):
        as accurate as logaddexp in both tails (exp overflows to inf → 1/inf = 0, the right
        limit), as cheap as the tanh form, but needs the overflow warning silenced;
      * relu' = [A > 0] as a bool mask multiplied in place (np.heaviside is ~10× slower, see
        the micro-benchmarks); tanh' = 1 - A², sigmoid' = A (1 - A), both into one buffer.
    """

    def __init__(self, sizes, act, N, dtype, sigmoid="tanh"):
        self.sizes, self.act, self.N, self.dtype = sizes, act, N, dtype
        self.sigmoid = sigmoid  # "tanh", "logaddexp" or "recip" (see SIGMOID_SPELLINGS)
        L = len(sizes) - 1
        self.A = [None] + [np.empty((sizes[l], N), dtype) for l in range(1, L + 1)]
        self.D = [None] + [np.empty((sizes[l], N), dtype) for l in range(1, L)]
        self.T = np.empty((max(sizes[1:L] or [1]), N), dtype)  # derivative-factor scratch
        self.mask = np.empty((max(sizes[1:L] or [1]), N), bool)
        self.col = np.empty((1, N), dtype)  # column max / column sums of the output layer
        self.S = np.empty((sizes[-1], N), dtype)
        self.grads = []
        for l in range(1, L + 1):
            self.grads += [np.empty((sizes[l], sizes[l - 1]), dtype), np.empty((sizes[l], 1), dtype)]
        self.v = None

    def _activate(self, Z):
        if self.act == "relu":
            np.maximum(Z, 0, out=Z)
        elif self.act == "tanh":
            np.tanh(Z, out=Z)
        elif self.act == "sigmoid" and self.sigmoid == "tanh":
            Z *= 0.5                       # 0.5 + 0.5·tanh(z/2), in place
            np.tanh(Z, out=Z)
            Z *= 0.5
            Z += 0.5
        elif self.act == "sigmoid" and self.sigmoid == "logaddexp":
            np.negative(Z, out=Z)          # exp(-logaddexp(0, -z)), in place
            np.logaddexp(0, Z, out=Z)
            np.negative(Z, out=Z)
            np.exp(Z, out=Z)
        elif self.act == "sigmoid" and self.sigmoid == "recip":
            np.negative(Z, out=Z)          # 1/(1 + exp(-z)) in place: exp(-z) = inf for
            with np.errstate(over="ignore"):  # z < -709 (f64) gives 1/inf = 0, the right
                np.exp(Z, out=Z)           # limit; only the overflow warning is silenced
            Z += 1
            np.reciprocal(Z, out=Z)
        else:
            raise ValueError(self.act)

    def _derivative(self, D, A):
        """D ⊙= f'(Z), written with the activation A = f(Z)."""
        n = A.shape[0]
        if self.act == "relu":
            m = np.greater(A, 0, out=self.mask[:n])
            np.multiply(D, m, out=D)
        else:
            T = self.T[:n]
            if self.act == "tanh":  # 1 - A²
                np.multiply(A, A, out=T)
                np.subtract(1, T, out=T)
            else:  # sigmoid: A (1 - A)
                np.subtract(1, A, out=T)
                T *= A
            D *= T

    def loss_and_gradients(self, X, Y, params):
        """(L, [dW1, db1, …]) — the gradient arrays are this object's buffers (reused)."""
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
        delta = S
        g = self.grads
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

    def step(self, X, Y, params):
        """One SGD-with-momentum step in place: v ← μ v − α g; θ ← θ + v."""
        if self.v is None:
            self.v = [np.zeros_like(p) for p in params]
        loss, grads = self.loss_and_gradients(X, Y, params)
        for p, g, v in zip(params, grads, self.v):
            v *= MU
            g *= LR        # the gradient buffer is scratch now
            v -= g
            p += v
        return loss


# ---------------------------------------------------------------------------------------------
# (a) generated and (c) torch steps
# ---------------------------------------------------------------------------------------------
def generated_stepper(k, X, Y, params, inplace_update=False):
    """k.loss_and_gradients + train.sgd; inplace_update (ablation only): the same update with
    the lr·g temporary avoided (g *= lr; v -= g; the kernel's gradients are fresh arrays)."""
    state = {}

    def step():
        loss, grads = k.loss_and_gradients(X, Y, *params)
        sgd(params, grads, state, LR, MU)
        return loss

    def step_inplace():
        loss, grads = k.loss_and_gradients(X, Y, *params)
        if not state:
            state["v"] = [np.zeros_like(p) for p in params]
        for p, g, v in zip(params, grads, state["v"]):
            v *= MU
            g *= LR
            v -= g
            p += v
        return loss
    return step_inplace if inplace_update else step


def sigmoid_spelling(source):
    """Which σ spelling a generated kernel uses: 'logaddexp', 'tanh' or 'recip'."""
    if "logaddexp" in source:
        return "logaddexp"
    if "np.tanh(0.5*" in source:
        return "tanh"
    return "recip"


SIGMOID_SPELLINGS = {"tanh": "0.5 + 0.5·tanh(z/2)", "logaddexp": "exp(-logaddexp(0,-z))",
                     "recip": "1/(1+exp(-z))"}


def hand_stepper(sizes, act, X, Y, params, sigmoid="tanh"):
    h = HandMLP(sizes, act, X.shape[1], X.dtype, sigmoid)
    return lambda: h.step(X, Y, params)


def torch_module():
    try:
        import torch
        return torch
    except Exception:  # noqa: BLE001  (not installed, or broken: skip either way)
        return None


def torch_stepper(torch, act, X, labels, params):
    """Autograd + torch.optim.SGD(momentum=μ): buf ← μ buf + g; θ ← θ − α buf, i.e. the same
    trajectory as v ← μ v − α g (v = −α buf). Samples as columns like the others."""
    tp = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(labels.astype(np.int64))
    f = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[act]
    opt = torch.optim.SGD(tp, lr=LR, momentum=MU)
    L = len(tp) // 2

    def forward():
        A = Xt
        for l in range(L):
            Z = torch.addmm(tp[2 * l + 1], tp[2 * l], A)  # b (out×1) broadcast over columns
            A = f(Z) if l < L - 1 else Z
        return torch.nn.functional.cross_entropy(A.T, yt)  # mean, log-softmax inside

    def step():
        opt.zero_grad(set_to_none=True)
        loss = forward()
        loss.backward()
        opt.step()
        return loss
    return step, tp, forward


# ---------------------------------------------------------------------------------------------
# measurement helpers
# ---------------------------------------------------------------------------------------------
def minflt():
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    except Exception:  # noqa: BLE001  (not on this platform)
        return 0


def glibc_no_trim():
    """Stop glibc from handing freed heap memory back to the OS (and from mmap-ing arrays up to
    32 MiB), so that a temporary allocated again on the next step is not page-faulted in again.
    Process-wide and for good; False where there is no glibc."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        return (libc.mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1 and
                libc.mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1)
    except Exception:  # noqa: BLE001
        return False


def run_steps(step, n):
    t = time.perf_counter()
    for _ in range(n):
        step()
    return time.perf_counter() - t


def time_interleaved(steppers, repeats, min_total_s, min_total_steps, warmup=3):
    """{name: (median s/step, best s/step, steps, minor page faults per step)}; each repeat runs
    all the steppers, n steps each, the order rotated by one per repeat."""
    names = list(steppers)
    est = {}
    for name in names:
        run_steps(steppers[name], warmup)
        est[name] = run_steps(steppers[name], 2) / 2
    n = {name: max(math.ceil(min_total_s / repeats / max(est[name], 1e-9)),
                   math.ceil(min_total_steps / repeats), 1) for name in names}
    times = {name: [] for name in names}
    faults = dict.fromkeys(names, 0)
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for r in range(repeats):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                f0 = minflt()
                times[name].append(run_steps(steppers[name], n[name]) / n[name])
                faults[name] += minflt() - f0
    finally:
        if gc_was:
            gc.enable()
    return {name: (statistics.median(ts), min(ts), n[name] * repeats,
                   faults[name] / (n[name] * repeats)) for name, ts in times.items()}


def peak_memory(make_stepper, steps):
    """tracemalloc peak (bytes) over `steps` steps, the stepper's own buffers included."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        step = make_stepper()
        for _ in range(steps):
            step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def gemm_gflops(dtype, n=2048, repeats=3):
    rng = np.random.default_rng(1)
    A = rng.standard_normal((n, n)).astype(dtype)
    B = rng.standard_normal((n, n)).astype(dtype)
    C = np.empty((n, n), dtype)
    np.matmul(A, B, out=C)  # warm-up
    best = min(run_steps(lambda: np.matmul(A, B, out=C), 1) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def matmul_only_seconds(sizes, N, dtype, repeats):
    """Best time of just the step's matmuls (forward W A, backward δ Aᵀ and Wᵀ δ) on its shapes,
    into preallocated outputs: what the step would cost if everything else were free."""
    rng = np.random.default_rng(2)
    L = len(sizes) - 1
    W = [rng.standard_normal((sizes[l + 1], sizes[l])).astype(dtype) for l in range(L)]
    A = [rng.standard_normal((sizes[l], N)).astype(dtype) for l in range(L + 1)]
    D = [rng.standard_normal((sizes[l + 1], N)).astype(dtype) for l in range(L)]
    Zo = [np.empty((sizes[l + 1], N), dtype) for l in range(L)]
    Go = [np.empty((sizes[l + 1], sizes[l]), dtype) for l in range(L)]
    Bo = [np.empty((sizes[l], N), dtype) for l in range(L)]

    def once():
        for l in range(L):
            np.matmul(W[l], A[l], out=Zo[l])
        for l in range(L):
            np.matmul(D[l], A[l].T, out=Go[l])
            if l > 0:
                np.matmul(W[l].T, D[l], out=Bo[l])
    once()
    return min(run_steps(once, 1) for _ in range(repeats))


def step_flops(sizes, N):
    """Matmul FLOPs of one training step (multiply + add = 2 per term; elementwise ops, the
    softmax and the update ignored). Forward Z_l = W_l A_{l-1}: 2·N·in·out per layer. Backward:
    dW_l = δ_l A_{l-1}ᵀ: 2·N·in·out per layer; δ_{l-1} ∝ W_lᵀ δ_l: 2·N·in·out for every layer
    but the first (no gradient w.r.t. X is formed). Total 2N(3Σ in·out − in_1·out_1) ≈ 3× fwd."""
    pairs = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    fwd = 2 * N * sum(pairs)
    return fwd + fwd + (fwd - 2 * N * pairs[0]), fwd


def blas_summary():
    lines = [f"os.cpu_count() = {os.cpu_count()}; NumPy {np.__version__}; Python "
             f"{platform.python_version()}; {platform.machine()}"]
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        lines.append(f"BLAS: {cfg.get('name')} {cfg.get('version')} "
                     f"({cfg.get('openblas configuration', '').strip()})")
    except Exception:  # noqa: BLE001
        lines.append("BLAS: (np.show_config(mode='dicts') unavailable)")
    env = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                      "MKL_NUM_THREADS") if k in os.environ}
    lines.append(f"BLAS threads: default (thread env vars: {env or 'none set'})")
    try:
        from threadpoolctl import threadpool_info
        for i in threadpool_info():
            lines.append(f"  threadpool: {i.get('internal_api')} {i.get('version')} "
                         f"num_threads={i.get('num_threads')} arch={i.get('architecture')}")
    except Exception:  # noqa: BLE001
        lines.append("  (threadpoolctl not installed: per-library thread counts not shown)")
    return lines


def make_data(sizes, N, dtype, k):
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((sizes[0], N)).astype(dtype)
    labels = rng.integers(0, sizes[-1], N)
    Y = targets(k, labels, dtype)
    params = init_params(k, np.random.default_rng(SEED + 1), dtype)
    return X, Y, labels, params


def check(k, sizes, act, X, Y, params, dtype):
    """Generated vs hand-written: loss, gradients (np.allclose), dtypes, and one full step."""
    rtol, atol = (1e-9, 1e-12) if dtype == np.float64 else (2e-4, 1e-6)
    Lg, gg = k.loss_and_gradients(X, Y, *params)
    sp = sigmoid_spelling(k.source)
    h = HandMLP(sizes, act, X.shape[1], dtype, sp)
    Lh, gh = h.loss_and_gradients(X, Y, [p.copy() for p in params])
    ok = bool(np.allclose(Lg, Lh, rtol=rtol, atol=atol))
    worst = abs(float(Lg) - float(Lh)) / max(abs(float(Lh)), 1e-30)
    for a, b in zip(gg, gh):
        ok &= a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))
        worst = max(worst, float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30)))
    dtypes = {np.asarray(Lg).dtype.name} | {g.dtype.name for g in gg}
    pg, ph = [p.copy() for p in params], [p.copy() for p in params]
    generated_stepper(k, X, Y, pg)()
    HandMLP(sizes, act, X.shape[1], dtype, sp).step(X, Y, ph)
    step_ok = all(np.allclose(a, b, rtol=rtol, atol=atol) for a, b in zip(pg, ph))
    return ok, step_ok, worst, dtypes


# ---------------------------------------------------------------------------------------------
# micro-benchmarks of the generated spellings vs alternatives, on the configs' shapes
# ---------------------------------------------------------------------------------------------
def micro_time(fn, target_s):
    fn()
    n = max(1, math.ceil(target_s / 5 / max(run_steps(fn, 1), 1e-7)))
    return statistics.median(run_steps(fn, n) / n for _ in range(5))


def micro(quick, gen_sigmoid):
    target = 0.04 if quick else 0.12
    rng = np.random.default_rng(3)
    out = []

    def group(title, cases):
        base = None
        out.append(f"  {title}")
        for label, fn in cases:
            t = micro_time(fn, target)
            base = base or t
            out.append(f"    {label:<58s} {t * 1e6:9.1f} µs  {t / base:5.2f}×")

    for dtype in (np.float64, np.float32):
        dn = np.dtype(dtype).name
        # sigmoid forward: config 1 (128×128) and the 1024×256 shape for throughput
        for shape in ((128, 128), (1024, 256)):
            Z = rng.standard_normal(shape).astype(dtype) * 4
            B = np.empty_like(Z)

            def sig_inplace_tanh(Z=Z, B=B):
                np.multiply(Z, 0.5, out=B)
                np.tanh(B, out=B)
                B *= 0.5
                B += 0.5

            def sig_inplace_recip(Z=Z, B=B):
                np.negative(Z, out=B)
                with np.errstate(over="ignore"):
                    np.exp(B, out=B)
                B += 1
                np.reciprocal(B, out=B)

            def sig_recip(Z=Z):
                with np.errstate(over="ignore"):
                    return 1 / (1 + np.exp(-Z))

            def sig_inplace_logaddexp(Z=Z, B=B):
                np.negative(Z, out=B)
                np.logaddexp(0, B, out=B)
                np.negative(B, out=B)
                np.exp(B, out=B)
            g = {sp: " (generated now)" if sp == gen_sigmoid else "" for sp in SIGMOID_SPELLINGS}
            group(f"sigmoid forward, {dn} {shape[0]}×{shape[1]}", [
                ("np.exp(-np.logaddexp(0, -(Z)))" + g["logaddexp"],
                 lambda Z=Z: np.exp(-np.logaddexp(0, -(Z)))),
                ("  same, in place", sig_inplace_logaddexp),
                ("(0.5 + 0.5*np.tanh(0.5*(Z)))" + g["tanh"],
                 lambda Z=Z: (0.5 + 0.5 * np.tanh(0.5 * (Z)))),
                ("  same, in place", sig_inplace_tanh),
                ("1/(1 + np.exp(-Z)) under errstate(over='ignore')" + g["recip"], sig_recip),
                ("  same, in place", sig_inplace_recip),
            ])
        # sigmoid' factor, config 1 (128×128)
        A = 1 / (1 + np.exp(-rng.standard_normal((128, 128)))).astype(dtype)
        G = rng.standard_normal((128, 128)).astype(dtype)
        T = np.empty_like(A)

        def sigp_inplace(A=A, G=G, T=T):
            D = G.copy()
            np.subtract(1, A, out=T)
            T *= A
            D *= T

        group(f"δ = G ⊙ σ', {dn} 128×128 (G = W2ᵀδ2 given)", [
            ("generated: G * (A1*(1 - A1))", lambda: G * (A * (1 - A))),
            ("G * A1 * (1 - A1)", lambda: G * A * (1 - A)),
            ("copy + in place (T = 1-A; T *= A; D *= T)", sigp_inplace),
        ])
        # tanh' factor, config 4 (256×64)
        A = np.tanh(rng.standard_normal((256, 64))).astype(dtype)
        G = rng.standard_normal((256, 64)).astype(dtype)
        T = np.empty_like(A)

        def tanhp_inplace(A=A, G=G, T=T):
            D = G.copy()
            np.multiply(A, A, out=T)
            np.subtract(1, T, out=T)
            D *= T
        group(f"δ = G ⊙ tanh', {dn} 256×64", [
            ("generated: G * (1 - A2**2)", lambda: G * (1 - A ** 2)),
            ("G * (1 - A2*A2)", lambda: G * (1 - A * A)),
            ("copy + in place (T = A*A; T = 1-T; D *= T)", tanhp_inplace),
        ])
        # relu' factor, config 3 (1024×256)
        Z = rng.standard_normal((1024, 256)).astype(dtype)
        G = rng.standard_normal((1024, 256)).astype(dtype)
        M = np.empty(Z.shape, bool)

        def relup_inplace(Z=Z, G=G, M=M):
            D = G.copy()
            np.greater(Z, 0, out=M)
            np.multiply(D, M, out=D)
        group(f"δ = G ⊙ relu', {dn} 1024×256", [
            ("generated: G * np.heaviside(Z2, 0.0)", lambda: G * np.heaviside(Z, 0.0)),
            ("G * (Z2 > 0)", lambda: G * (Z > 0)),
            ("np.where(Z2 > 0, G, 0)", lambda: np.where(Z > 0, G, 0)),
            ("copy + in place (np.multiply(D, Z > 0, out=D))", relup_inplace),
        ])
        # 1/N scaling of the weight gradient: big config layer 1 and 2 shapes
        for (o, i) in ((1024, 784), (1024, 1024)):
            N = 256
            d = rng.standard_normal((o, N)).astype(dtype)
            Aprev = rng.standard_normal((i, N)).astype(dtype)
            out_buf = np.empty((o, i), dtype)

            def scale_after_inplace(d=d, Aprev=Aprev, N=N):
                W = d @ Aprev.T
                W *= 1 / N
                return W
            group(f"dW = δ Aᵀ / N, {dn} ({o}×{N})·({N}×{i})", [
                ("generated: 1/N * delta @ A.T  (= (δ/N) @ Aᵀ)", lambda d=d, A=Aprev, N=N: 1 / N * d @ A.T),
                ("(delta @ A.T) / N", lambda d=d, A=Aprev, N=N: (d @ A.T) / N),
                ("delta @ A.T; dW *= 1/N", scale_after_inplace),
                ("delta @ A.T (1/N folded into δ_L once)", lambda d=d, A=Aprev: d @ A.T),
                ("np.matmul(delta, A.T, out=buf) (folded, no alloc)",
                 lambda d=d, A=Aprev, o=out_buf: np.matmul(d, A.T, out=o)),
            ])
        # bias add, big config layer 2
        W = rng.standard_normal((1024, 1024)).astype(dtype)
        A1 = rng.standard_normal((1024, 256)).astype(dtype)
        b = rng.standard_normal((1024, 1)).astype(dtype)
        Zb = np.empty((1024, 256), dtype)

        def bias_inplace(W=W, A1=A1, b=b, Zb=Zb):
            np.matmul(W, A1, out=Zb)
            Zb += b
        group(f"Z = W A + b, {dn} (1024×1024)·(1024×256)", [
            ("generated: W2 @ A1 + b2", lambda: W @ A1 + b),
            ("np.matmul(W, A, out=Z); Z += b", bias_inplace),
            ("W2 @ A1 alone (the matmul)", lambda: W @ A1),
        ])
        # softmax + loss on the output layer (10×256)
        Z3 = rng.standard_normal((10, 256)).astype(dtype)
        Y3 = np.zeros((10, 256), dtype)
        Y3[rng.integers(0, 10, 256), np.arange(256)] = 1
        k = matcalc.compile(matcalc.derive(matcalc.mlp([4, 10])))
        sm, lsm = k.module._softmax, k.module._logsoftmax

        def once(Z3=Z3, Y3=Y3):
            Zs = Z3 - Z3.max(axis=0, keepdims=True)
            E = np.exp(Zs)
            s = E.sum(axis=0, keepdims=True)
            S = E / s
            L = -np.vdot(Y3, Zs - np.log(s)) / 256
            return S, L
        group(f"softmax + loss, {dn} 10×256", [
            ("generated: _softmax(Z) and -sum(Y*_logsoftmax(Z))/N", lambda: (sm(Z3, axis=0), -np.sum(Y3 * lsm(Z3, axis=0)) / 256)),
            ("one exp: S = E/ΣE; L from Z - max - log ΣE", once),
        ])
        # SGD update, big config W2 (1024×1024)
        p = rng.standard_normal((1024, 1024)).astype(dtype)
        g = rng.standard_normal((1024, 1024)).astype(dtype)
        p2 = p.copy()
        sst, v2, s2 = {}, np.zeros_like(p), np.empty_like(p)

        def upd_inplace(p=p2, g=g, v=v2, s=s2):
            v *= MU
            np.multiply(g, LR, out=s)  # the hand-written step scales its own gradient buffer
            v -= s
            p += v
        group(f"momentum update, {dn} 1024×1024", [
            ("train.sgd (v *= μ; v -= lr*g; p += v)", lambda: sgd([p], [g], sst, LR, MU)),
            ("in place (v *= μ; s = lr*g into a buffer; v -= s; p += v)", upd_inplace),
        ])
    return out


def line_profile(k, X, Y, params, reps):
    """Median seconds of each statement of the generated loss_and_gradients, run one by one."""
    import ast
    fn = next(n for n in ast.parse(k.source).body
              if isinstance(n, ast.FunctionDef) and n.name == "loss_and_gradients")
    stmts = [s for s in fn.body if not isinstance(s, (ast.Expr, ast.Return))]
    codes = [(ast.unparse(s), compile(ast.Module([s], []), "<generated>", "exec"))
             for s in stmts]
    times = {src: [] for src, _ in codes}
    for _ in range(reps):
        ns = dict(vars(k.module), X=X, Y=Y, **dict(zip(k.PARAMS, params)))
        for src, c in codes:
            t = time.perf_counter()
            exec(c, ns)  # noqa: S102  (the generated kernel's own lines)
            times[src].append(time.perf_counter() - t)
    return [(src, statistics.median(ts[1:] or ts)) for src, ts in times.items()]

# ---------------------------------------------------------------------------------------------
# ablations: the generated module with one printer change at a time (source edits)
# ---------------------------------------------------------------------------------------------
_SIGMOID_HELPER = '''
def _sigmoid(Z):
    """1/(1 + exp(-Z)): exp(-Z) = inf for very negative Z gives 1/inf = 0, the right limit."""
    with np.errstate(over="ignore"):
        E = np.exp(-Z)
    E += 1
    return np.reciprocal(E, out=E)
'''

EDITS = {
    # [Z > 0] as a bool array (float × bool → float, dtype kept) instead of np.heaviside
    "relu: (Z > 0)": [(r"np\.heaviside\((\w+), 0\.0\)", r"(\1 > 0)")],
    # σ(z) = 1/(1 + exp(-z)) in a helper (errstate: no overflow warning), in place of the
    # generated spelling (exp(-logaddexp(0, -z)) or 0.5 + 0.5·tanh(z/2))
    "sigmoid: 1/(1+exp(-z))": [(r"np\.exp\(-np\.logaddexp\(0, -\((\w+)\)\)\)", r"_sigmoid(\1)"),
                               (r"\(0\.5 \+ 0\.5\*np\.tanh\(0\.5\*\((\w+)\)\)\)", r"_sigmoid(\1)"),
                               (r"\n\n\ndef predict", "\n" + _SIGMOID_HELPER + "\n\ndef predict")],
    # the mean's 1/N once, in δ_L = (S - Y)/N, instead of 1/N * δ_l for every dW_l and db_l
    "1/N folded into δ_L": [(r"(delta\d+) = S - Y\n", r"\1 = (S - Y) / N\n"),
                            (r"= 1/N \* ", "= ")],
    # Z = W A; Z += b (no second N-column temporary)
    "bias add in place": [(r"^( +)(Z\d+) = (.+) \+ (b\d+)$", r"\1\2 = \3\n\1\2 += \4")],
    # δ = Wᵀδ'; δ *= f'(…) (no second temporary of the layer's size)
    "δ ⊙= f' in place": [(r"^( +)(delta\d+) = (W\d+\.T @ delta\d+) \* (.+)$",
                          r"\1\2 = \3\n\1\2 *= \4")],
}


def edited_source(src, names):
    for name in names:
        for pat, rep in EDITS[name]:
            if "def predict" in pat and "_sigmoid(" not in src:
                continue  # the helper only where a sigmoid was replaced
            src = re.sub(pat, rep, src, flags=re.M)
    return src


def module_from_source(src, tag):
    mod = types.ModuleType(f"matcalc_bench_{tag}")
    exec(compile(src, f"<matcalc kernel: {tag}>", "exec"), mod.__dict__)  # noqa: S102
    return mod


def ablations(setups, repeats, min_s, min_steps, mem_steps=20):
    """Step time of the generated kernel with each edit alone and all together, vs hand."""
    out = []
    for name, sizes, act, N, k, dtype, X, Y, labels, params0 in setups:
        dn = np.dtype(dtype).name
        applicable = [e for e in EDITS if edited_source(k.source, [e]) != k.source]
        variants = ([(e, [e], False) for e in applicable] +
                    [("update: g *= lr in place", [], True), ("all of these", applicable, True)])
        steppers = {"generated": generated_stepper(k, X, Y, [p.copy() for p in params0])}
        sp = sigmoid_spelling(k.source)
        _, gh = HandMLP(sizes, act, N, dtype, sp).loss_and_gradients(X, Y, params0)
        rtol, atol = (1e-9, 1e-12) if dtype == np.float64 else (2e-4, 1e-6)
        bad, mods = [], {"generated": (k, False)}
        for i, (label, names, inplace) in enumerate(variants):
            mod = module_from_source(edited_source(k.source, names), f"{i}") if names else k
            _, g = mod.loss_and_gradients(X, Y, *params0)
            if not all(a.dtype == dtype and np.allclose(a, b, rtol=rtol, atol=atol)
                       for a, b in zip(g, gh)):
                bad.append(label)
            mods[label] = (mod, inplace)
            steppers[label] = generated_stepper(mod, X, Y, [p.copy() for p in params0], inplace)
        steppers["hand"] = hand_stepper(sizes, act, X, Y, [p.copy() for p in params0], sp)
        res = time_interleaved(steppers, repeats, min_s, min_steps)
        mem = {label: peak_memory(lambda m=m, i=i, P=[p.copy() for p in params0]:
                                  generated_stepper(m, X, Y, P, i), mem_steps)
               for label, (m, i) in mods.items()}
        mem["hand"] = peak_memory(lambda P=[p.copy() for p in params0]:
                                  hand_stepper(sizes, act, X, Y, P, sp), mem_steps)
        hand = res["hand"][0]
        out.append(f"  {name} {dn}: hand {hand * 1e3:.3f} ms, {mem['hand'] / 2**20:.2f} MiB"
                   + (f"; WRONG GRADIENTS: {bad}" if bad else "; every variant's gradients "
                      "allclose to hand's"))
        for label in steppers:
            if label != "hand":
                t = res[label][0]
                out.append(f"    {label:<26s} {t * 1e3:8.3f} ms  /hand {t / hand:5.2f}  "
                           f"vs generated {t / res['generated'][0] - 1:+6.1%}   peak "
                           f"{mem[label] / 2**20:6.2f} MiB = {mem[label] / mem['hand']:4.2f}× hand")
    return out


# ---------------------------------------------------------------------------------------------
def make_steppers(torch, k, sizes, act, X, Y, labels, params0):
    steppers = {
        "gen": generated_stepper(k, X, Y, [p.copy() for p in params0]),
        "hand": hand_stepper(sizes, act, X, Y, [p.copy() for p in params0],
                             sigmoid_spelling(k.source)),
    }
    if act == "sigmoid":
        for sp in SIGMOID_SPELLINGS:
            if sp != sigmoid_spelling(k.source):
                steppers["hand σ=" + sp] = hand_stepper(sizes, act, X, Y,
                                                         [p.copy() for p in params0], sp)
    if torch is not None:
        try:
            steppers["torch"] = torch_stepper(torch, act, X, labels, params0)[0]
        except Exception as e:  # noqa: BLE001
            print(f"  torch step failed ({type(e).__name__}: {e}); skipped")
    return steppers


def print_table(rows, key, title, show_mem=True):
    print(title)
    hdr = (f"{'config':<22s} {'dtype':<7s} {'gen ms':>8s} {'hand ms':>8s} {'torch ms':>9s} "
           f"{'gen/hand':>8s} {'(best)':>6s} {'gen flt':>7s} {'hand flt':>8s}" +
           (f" {'gen MiB':>7s} {'hand MiB':>8s} {'mem ratio':>9s}" if show_mem else ""))
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        res = r[key]
        g, h, t = res["gen"], res["hand"], res.get("torch")
        ts = f"{t[0] * 1e3:9.3f}" if t else f"{'-':>9s}"
        print(f"{r['name']:<22s} {r['dtype']:<7s} {g[0] * 1e3:8.3f} {h[0] * 1e3:8.3f} {ts} "
              f"{g[0] / h[0]:8.2f} {g[1] / h[1]:6.2f} {g[3]:7.0f} {h[3]:8.0f}" +
              (f" {r['mg'] / 2**20:7.2f} {r['mh'] / 2**20:8.2f} {r['mg'] / r['mh']:9.2f}"
               if show_mem else ""))
    for r in rows:
        for label, t in r[key].items():
            if label.startswith("hand σ="):
                g = r[key]["gen"]
                print(f"  {r['name']} {r['dtype']}: hand-written with σ = "
                      f"{SIGMOID_SPELLINGS[label[7:]]} in place: {t[0] * 1e3:.3f} ms; gen/that "
                      f"{g[0] / t[0]:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter run (fewer repeats/steps)")
    ap.add_argument("--no-micro", action="store_true",
                    help="skip the per-line profile and the micro-benchmarks")
    args = ap.parse_args()
    repeats, min_s, min_steps, mem_steps = (3, 0.15, 6, 20) if args.quick else (7, 0.5, 20, 200)
    t_start = time.perf_counter()

    print("matcalc train-step benchmark" + ("  (--quick)" if args.quick else ""))
    for line in blas_summary():
        print(line)
    torch = torch_module()
    if torch is None:
        print("PyTorch: `import torch` failed — torch column skipped ('-'); not installed by "
              "this script.")
    else:
        print(f"PyTorch {torch.__version__}, CPU eager, torch.get_num_threads() = "
              f"{torch.get_num_threads()}")
    print(f"timing: {repeats} interleaved repeats, each implementation ≥ {min_s} s and "
          f"≥ {min_steps} steps in all; median of the per-repeat step times. Peak memory: "
          f"tracemalloc over {mem_steps} steps. SGD: lr {LR}, momentum {MU}.")
    print()

    setups, rows = [], []
    for name, sizes, act, N in CONFIGS:
        k = matcalc.compile(matcalc.derive(matcalc.mlp(sizes, hidden=act)))
        for dtype in (np.float64, np.float32):
            dn = np.dtype(dtype).name
            X, Y, labels, params0 = make_data(sizes, N, dtype, k)
            ok, step_ok, worst, dts = check(k, sizes, act, X, Y, params0, dtype)
            print(f"check {name:<22s} {dn}: gradients {'allclose' if ok else 'DIFFER'} "
                  f"(max rel. diff {worst:.1e}), one step {'allclose' if step_ok else 'DIFFERS'},"
                  f" generated dtypes {sorted(dts)}", flush=True)
            setups.append((name, sizes, act, N, k, dtype, X, Y, labels, params0))
    print()

    # pass 1: the allocator as it comes (glibc defaults), and peak memory
    for name, sizes, act, N, k, dtype, X, Y, labels, params0 in setups:
        res = time_interleaved(make_steppers(torch, k, sizes, act, X, Y, labels, params0),
                               repeats, min_s, min_steps)
        mg = peak_memory(lambda P=[p.copy() for p in params0]:
                         generated_stepper(k, X, Y, P), mem_steps)
        mh = peak_memory(lambda P=[p.copy() for p in params0]:
                         hand_stepper(sizes, act, X, Y, P, sigmoid_spelling(k.source)),
                         mem_steps)
        kg = peak_memory(lambda: (lambda: k.loss_and_gradients(X, Y, *params0)), 20)
        kh = peak_memory(lambda: (lambda h=HandMLP(sizes, act, N, dtype,
                                                   sigmoid_spelling(k.source)):
                                  h.loss_and_gradients(X, Y, params0)), 20)
        rows.append(dict(name=name, sizes=sizes, dtype=np.dtype(dtype).name, default=res,
                         mg=mg, mh=mh, kg=kg, kh=kh))
    # pass 2: glibc told not to trim its heap (no page faults for re-allocated temporaries)
    no_trim = glibc_no_trim()
    if no_trim:
        for r, (name, sizes, act, N, k, dtype, X, Y, labels, params0) in zip(rows, setups):
            r["no_trim"] = time_interleaved(
                make_steppers(torch, k, sizes, act, X, Y, labels, params0),
                repeats, min_s, min_steps)

    print_table(rows, "default", "A. default allocator (glibc as it comes)")
    print("(ms: median per-step time; (best): ratio of the fastest repeats; flt: minor page "
          "faults per step while timing;\n MiB: tracemalloc peak over the steps, incl. the "
          "implementation's own buffers and momentum state)")
    print()
    if no_trim:
        print_table(rows, "no_trim", "B. same, after mallopt(M_TRIM_THRESHOLD=1 GiB, "
                    "M_MMAP_THRESHOLD=32 MiB): freed temporaries stay mapped", show_mem=False)
    else:
        print("B. (no glibc mallopt here: the no-trim pass is skipped)")
    print()

    def verdict(key):
        worst = max(rows, key=lambda r: r[key]["gen"][0] / r[key]["hand"][0])
        w = worst[key]["gen"][0] / worst[key]["hand"][0]
        within = sum(r[key]["gen"][0] / r[key]["hand"][0] <= 1.05 for r in rows)
        return (f"{'MET' if w <= 1.05 else 'NOT MET'} (worst {w:.2f}, {worst['name']} "
                f"{worst['dtype']}; {within}/{len(rows)} rows within)")
    print(f"target: generated / hand-written ≤ 1.05 in every config: {verdict('default')}")
    if no_trim:
        print(f"        (table B, no heap trimming: {verdict('no_trim')})")
    worst_m = max(rows, key=lambda r: r["mg"] / r["mh"])
    wm = worst_m["mg"] / worst_m["mh"]
    print(f"target: peak memory ≤ 1.1× hand-written: {'MET' if wm <= 1.1 else 'NOT MET'} "
          f"(worst {wm:.2f}, {worst_m['name']} {worst_m['dtype']}; "
          f"{sum(r['mg'] / r['mh'] <= 1.1 for r in rows)}/{len(rows)} rows within)")
    print()
    print("peak memory of loss_and_gradients alone (no update; tracemalloc, 20 calls; hand's "
          "workspace counted):")
    for r in rows:
        print(f"  {r['name']:<22s} {r['dtype']:<7s} generated {r['kg'] / 2**20:6.2f} MiB, hand "
              f"{r['kh'] / 2**20:6.2f} MiB, ratio {r['kg'] / r['kh']:.2f}")
    print()

    name, sizes, act, N = CONFIGS[BIG]
    flops, fwd = step_flops(sizes, N)
    print(f"GEMM peak vs the {name} step (batch {N}): matmul FLOPs per step = "
          f"2N(3·Σ in·out − in1·out1) = {flops / 1e9:.3f} GFLOP (forward {fwd / 1e9:.3f}; "
          f"elementwise work not counted)")
    for dtype in (np.float64, np.float32):
        dn = np.dtype(dtype).name
        peak = gemm_gflops(dtype, 2048, 3 if args.quick else 5)
        mm = flops / matmul_only_seconds(sizes, N, dtype, 5 if args.quick else 15) / 1e9
        r = next(r for r in rows if r["sizes"] == sizes and r["dtype"] == dn)
        parts = [f"the step's matmuls alone (best) {mm:5.1f} GFLOP/s = {mm / peak:5.1%}"]
        for key, label in (("default", "A"), ("no_trim", "B")):
            if key in r:
                fg = flops / r[key]["gen"][0] / 1e9
                fh = flops / r[key]["hand"][0] / 1e9
                parts.append(f"{label}: generated {fg:5.1f} GFLOP/s = {fg / peak:5.1%}, hand "
                             f"{fh:5.1f} = {fh / peak:5.1%}")
        print(f"  {dn}: GEMM 2048³ best {peak:6.1f} GFLOP/s; " + ";\n    ".join(parts))
    print()

    if not args.no_micro:
        print("ablations: the generated kernel with one printer change at a time (source edits "
              "of the printed module), whole step incl. train.sgd"
              f"{', no heap trimming' if no_trim else ''}; median ms; peak: tracemalloc over "
              f"{5 if args.quick else 20} steps:")
        a_rep, a_s, a_n = (3, 0.05, 3) if args.quick else (5, 0.25, 10)
        for line in ablations(setups, a_rep, a_s, a_n, 5 if args.quick else 20):
            print(line)
        print()
        reps = 10 if args.quick else 30
        print("per-line profile of the generated loss_and_gradients (median ms per statement, "
              f"{reps} runs{', no heap trimming' if no_trim else ''}):")
        for name, sizes, act, N, k, dtype, X, Y, labels, params0 in setups:
            if name not in (CONFIGS[0][0], CONFIGS[BIG][0]):
                continue
            prof = line_profile(k, X, Y, params0, reps)
            print(f"  {name} {np.dtype(dtype).name} (sum {sum(t for _, t in prof) * 1e3:.3f} ms)")
            for src, t in prof:
                if t >= 1e-5:
                    print(f"    {t * 1e3:8.3f}  {src}")
        print()
        print("micro-benchmarks (median µs per call; × relative to the first line of each group"
              f"{'; no heap trimming' if no_trim else ''}):")
        k1 = next(su[4] for su in setups if su[2] == "sigmoid")
        for line in micro(args.quick, sigmoid_spelling(k1.source)):
            print(line)
        print()
    print(f"total {time.perf_counter() - t_start:.1f} s")


if __name__ == "__main__":
    main()
