"""Time ONE training step (forward, backward, SGD-with-momentum update) of matcalc's generated
kernels against the hand-written NumPy step of benchmarks/reference.py, and PyTorch CPU eager
where `import torch` works. Ratios from one run on a shared machine; no assertions on time.

    python benchmarks/train_step.py            # full run, ~2 min on 2 cores
    python benchmarks/train_step.py --quick    # fewer repeats and steps (~30 s)
    python benchmarks/train_step.py --no-micro # skip ablations, per-line profile, micro
    OPENBLAS_NUM_THREADS=1 python benchmarks/train_step.py --cpu-time   # a busy shared machine

Per config × dtype: generated = matcalc.compile(derive(mlp(sizes, hidden=act)))
.loss_and_gradients + matcalc.train.trainer.sgd (the update `fit` uses); hand = HandMLP;
torch = autograd + torch.optim.SGD(momentum), the same trajectory (torch's buffer is -v/lr).
All start from the same seeded weights and batch; gradients and one full step are compared
with np.allclose before timing. Timing and memory: see harness.py.

Two passes: A with glibc's allocator as it comes, B after mallopt() stops glibc from trimming
its heap. The generated step allocates its temporaries afresh every step, and under glibc's
defaults the freed memory can go back to the OS and be page-faulted in again next step (the
'flt' columns); B shows the cost of the operations themselves. Then the big config's FLOP rate
vs the machine's GEMM peak, and (unless --no-micro) ablations: the planned module
(codegen/plan.py) with one planning decision undone at a time, a per-line profile, and
micro-benchmarks of alternative spellings. Every ablation checks that it changes the code it
runs, so none can silently become a no-op.

Targets (issue 11 §1, printed with the table): generated / hand-written ≤ 1.05 in every row;
≤ 0.9 on 64-128-10 (the call-bound net); peak memory ≤ 1.1× hand-written; the
784-1024-1024-10 step ≥ 85% of the GEMM peak measured in the same run.
"""
import argparse
import inspect
import re
import time

import numpy as np

import matcalc
from matcalc.printing.numpy import HELPERS
from matcalc.train.trainer import sgd

import harness
from harness import (blas_summary, gemm_gflops, glibc_no_trim, line_profile, micro_time,
                     module_from_source, peak_memory, print_table, run_steps,
                     time_interleaved)
from reference import SIGMOID_SPELLINGS, HandMLP, init_params, one_hot

LR, MU = 0.01, 0.9
SEED = 0
CONFIGS = [  # (name, sizes, hidden activation, batch)
    ("64-128-10 sigmoid", [64, 128, 10], "sigmoid", 128),
    ("784-512-10 relu", [784, 512, 10], "relu", 128),
    ("784-1024-1024-10 relu", [784, 1024, 1024, 10], "relu", 256),
    ("784-256x4-10 tanh", [784, 256, 256, 256, 256, 10], "tanh", 64),
]
SIG, BIG, TANH = 0, 2, 3  # configs the FLOP count, the profile and the micro-benchmarks use


class Stale(AssertionError):
    """An ablation or a micro-benchmark no longer matches the generated code."""


# ---------------------------------------------------------------------------------------------
# the three steps
# ---------------------------------------------------------------------------------------------
def generated_stepper(k, X, Y, params):
    """k.loss_and_gradients + the trainer's sgd, in place on params."""
    state = {}

    def step():
        loss, grads = k.loss_and_gradients(X, Y, *params)
        sgd(params, grads, state, LR, MU)
        return loss
    return step


def hand_stepper(sizes, act, X, Y, params, sigmoid):
    h = HandMLP(sizes, act, X.shape[1], X.dtype, sigmoid)
    return lambda: h.step(X, Y, params, LR, MU)


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

    def step():
        opt.zero_grad(set_to_none=True)
        A = Xt
        for l in range(L):
            Z = torch.addmm(tp[2 * l + 1], tp[2 * l], A)  # b (out×1) broadcast over columns
            A = f(Z) if l < L - 1 else Z
        loss = torch.nn.functional.cross_entropy(A.T, yt)  # mean, log-softmax inside
        loss.backward()
        opt.step()
        return loss
    return step


def sigmoid_spelling(source):
    """The σ spelling a generated kernel uses, so that the hand-written step compares like with
    like; Stale if the generator found a new one."""
    if "np.exp(-np.logaddexp(0, -(" in source:
        return "logaddexp"
    if "(0.5 + 0.5*np.tanh(0.5*(" in source or "_sigmoid(Z1, out=Z1)" in source:
        return "tanh"   # the planned kernel's in-place helper spells σ the same way
    if "1/(1 + np.exp(-" in source:
        return "recip"
    raise Stale("unknown sigmoid spelling in the generated kernel; teach sigmoid_spelling")


class Setup:
    """One config × dtype: its kernel, data, initial weights and σ spelling."""

    def __init__(self, cfg, k, dtype):
        self.name, self.sizes, self.act, self.N = cfg
        self.k, self.dtype, self.dn = k, dtype, np.dtype(dtype).name
        rng = np.random.default_rng(SEED)
        self.X = rng.standard_normal((self.sizes[0], self.N)).astype(dtype)
        self.labels = rng.integers(0, self.sizes[-1], self.N)
        self.Y = one_hot(self.labels, self.sizes[-1], dtype)
        self.params0 = init_params(self.sizes, self.act, np.random.default_rng(SEED + 1), dtype)
        self.sigmoid = sigmoid_spelling(k.source) if self.act == "sigmoid" else "tanh"
        self.tol = dict(rtol=1e-9, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-4, atol=1e-6)

    def params(self):
        return [p.copy() for p in self.params0]

    def gen(self, k=None, params=None):
        return generated_stepper(self.k if k is None else k, self.X, self.Y,
                                 self.params() if params is None else params)

    def hand(self, sigmoid=None, params=None):
        return hand_stepper(self.sizes, self.act, self.X, self.Y,
                            self.params() if params is None else params,
                            sigmoid or self.sigmoid)

    def peak(self, make, steps):
        """peak_memory of the stepper make(params=…) makes; the weights are copied before
        tracing starts (they are not the step's memory), its own buffers are made after."""
        P = self.params()
        return peak_memory(lambda: make(params=P), steps)

    def hand_gradients(self):
        h = HandMLP(self.sizes, self.act, self.N, self.dtype, self.sigmoid)
        return h.loss_and_gradients(self.X, self.Y, self.params())

    def grads_close(self, k):
        """k's gradients allclose to the hand-written ones, same shapes and dtype."""
        _, gh = self.hand_gradients()
        _, gg = k.loss_and_gradients(self.X, self.Y, *self.params0)
        return len(gg) == len(gh) and all(
            a.shape == b.shape and a.dtype == self.dtype and np.allclose(a, b, **self.tol)
            for a, b in zip(gg, gh))


def check(s):
    """Generated vs hand-written: loss and gradients, the largest relative difference, one step."""
    Lg, gg = s.k.loss_and_gradients(s.X, s.Y, *s.params0)
    Lh, gh = s.hand_gradients()
    worst = abs(float(Lg) - float(Lh)) / max(abs(float(Lh)), 1e-30)
    for a, b in zip(gg, gh):
        worst = max(worst, float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30)))
    ok = bool(np.allclose(Lg, Lh, **s.tol)) and s.grads_close(s.k)
    pg, ph = s.params(), s.params()
    generated_stepper(s.k, s.X, s.Y, pg)()
    hand_stepper(s.sizes, s.act, s.X, s.Y, ph, s.sigmoid)()
    step_ok = all(np.allclose(a, b, **s.tol) for a, b in zip(pg, ph))
    return ok, step_ok, worst, sorted({np.asarray(Lg).dtype.name} | {g.dtype.name for g in gg})


# ---------------------------------------------------------------------------------------------
# FLOPs of the big config vs the GEMM peak
# ---------------------------------------------------------------------------------------------
def step_flops(sizes, N):
    """Matmul FLOPs of one step (elementwise work, softmax and update ignored): forward
    Z_l = W_l A_{l-1} and backward dW_l = δ_l A_{l-1}ᵀ are 2·N·in·out per layer each;
    δ_{l-1} ∝ W_lᵀ δ_l is that for every layer but the first (no gradient w.r.t. X)."""
    pairs = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    fwd = 2 * N * sum(pairs)
    return fwd + fwd + (fwd - 2 * N * pairs[0]), fwd


def matmul_only_seconds(sizes, N, dtype, repeats):
    """Best time of just the step's matmuls on its shapes, into preallocated outputs: what the
    step would cost if everything else were free."""
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


# ---------------------------------------------------------------------------------------------
# ablations: the planned module with one planning decision undone at a time (source edits)
# ---------------------------------------------------------------------------------------------
_SIGMOID_HELPER = '''
def _sigmoid_recip(Z, out):
    """1/(1 + exp(-Z)) into out: exp(-Z) = inf for very negative Z gives 1/inf = 0."""
    np.negative(Z, out=out)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)
'''

_SOFTMAX_HELPERS = "\n\n" + HELPERS["_logsumexp"][0] + "\n\n" + HELPERS["_logsoftmax"][0] + \
    "\n\n" + HELPERS["_softmax"][0] + "\n\n"


def _products_out_of_place(m):
    """`delta = Wᵀ δ'` and its `delta *= f` lines → one expression, as unplanned kernels had it."""
    factors = re.findall(r"^ +\w+ \*= (.+)$", m.group(4), flags=re.M)
    return f"{m.group(1)}{m.group(2)} = {m.group(3)}" + "".join(f" * ({f})" for f in factors) + "\n"


# The planned kernel with one planning decision undone at a time (codegen/plan.py), and one
# alternative σ spelling. name: (applies to hidden activations, [(pattern, replacement)]);
# EVERY pattern must match where the edit applies (edited_source raises Stale otherwise).
EDITS = {
    # σ(z) = 1/(1 + exp(-z)) in place instead of 0.5 + 0.5·tanh(z/2) in place
    "sigmoid: 1/(1+exp(-z))": ({"sigmoid"}, [
        (r"_sigmoid\((\w+), out=(\w+)\)", r"_sigmoid_recip(\1, out=\2)"),
        (r"\n\n\ndef predict", "\n" + _SIGMOID_HELPER + "\n\ndef predict")]),
    # undo: the mean's 1/N in every gradient line, not once in δ_L
    "unfolded: 1/N per gradient": ({"sigmoid", "relu", "tanh"}, [
        (r"^ +delta\d+ \*= 1/N\n", ""),
        (r"^( +)(d[Wb]\d+) = ", r"\1\2 = 1/N * ")]),
    # undo: Z = W A + b, a second N-column temporary
    "bias added out of place": ({"sigmoid", "relu", "tanh"}, [
        (r"^( +)(Z\d+) = (.+)\n\1\2 \+= (b\d+)$", r"\1\2 = \3 + \4")]),
    # undo: δ = Wᵀδ' * (f'), temporaries of the layer's size
    "δ ⊙= f' out of place": ({"sigmoid", "relu", "tanh"}, [
        (r"^( +)(delta\d+) = (W\d+\.T @ delta\d+)\n((?:\1\2 \*= .+\n)+)",
         _products_out_of_place)]),
    # undo: softmax and log-softmax apart, two exps, the logits kept
    "two exps (no softmax pair)": ({"sigmoid", "relu", "tanh"}, [
        (r"^( +)S, logS = _softmax_pair\((\w+), axis=(\d), out=\w+\)$",
         r"\1S = _softmax(\2, axis=\3)\n\1logS = _logsoftmax(\2, axis=\3)"),
        (r"\n\n\ndef predict", _SOFTMAX_HELPERS + "\ndef predict")]),
    # undo: every name lives until the function returns
    "no del (names live on)": ({"sigmoid", "relu", "tanh"}, [(r"^ +del .+\n", "")]),
}


def edited_source(src, names, where):
    """src with the EDITS `names` applied; Stale unless every pattern matched and the source
    changed (so an ablation cannot silently time the unedited kernel)."""
    out, count = src, 0
    for name in names:
        for pat, rep in EDITS[name][1]:
            out, n = re.subn(pat, rep, out, flags=re.M)
            if n == 0:
                raise Stale(f"ablation {name!r}: {pat!r} no longer matches the generated "
                            f"kernel of {where}; update the edit or delete the ablation")
            count += n
    if out == src:
        raise Stale(f"ablations {names} leave the kernel of {where} unchanged")
    return out, count


def ablation_variants(s):
    """[(label, edited kernel module, substitutions)]: each applicable edit alone, then all."""
    names = [e for e, (acts, _) in EDITS.items() if s.act in acts]
    groups = [(e, [e]) for e in names] + ([("all of these", names)] if len(names) > 1 else [])
    out = []
    for label, group in groups:
        src, n = edited_source(s.k.source, group, s.name)
        out.append((label, module_from_source(src, f"{s.name}_{label}"), n))
    return out


def ablations(setups, variants, repeats, min_s, min_steps, mem_steps):
    """Step time and peak memory of the generated kernel with each edit, vs generated and hand."""
    out = []
    for s in setups:
        steppers = {"generated": s.gen()}
        steppers.update((label, s.gen(mod)) for label, mod, _ in variants[s.name])
        steppers["hand"] = s.hand()
        res = time_interleaved(steppers, repeats, min_s, min_steps)
        mods = dict([("generated", s.k)] + [(label, mod) for label, mod, _ in variants[s.name]])
        mem = {label: s.peak(lambda params, m=m: s.gen(m, params), mem_steps)
               for label, m in mods.items()}
        mem["hand"] = s.peak(s.hand, mem_steps)
        bad = [label for label, mod in mods.items() if not s.grads_close(mod)]
        edits = {label: n for label, _, n in variants[s.name]}
        hand, gen = res["hand"][0], res["generated"][0]
        out.append(f"  {s.name} {s.dn}: hand {hand * 1e3:.3f} ms, {mem['hand'] / 2**20:.2f} MiB"
                   + (f"; WRONG GRADIENTS: {bad}" if bad else
                      "; every variant's gradients allclose to hand's"))
        for label in mods:
            t, n = res[label][0], edits.get(label)
            subs = f"({n} edit{'s' * (n != 1)})" if n else ""
            out.append(f"    {label:<24s}{subs:>19s} {t * 1e3:8.3f} ms  /hand {t / hand:5.2f}  "
                       f"vs generated {t / gen - 1:+6.1%}   peak {mem[label] / 2**20:6.2f} MiB "
                       f"= {mem[label] / mem['hand']:4.2f}× hand")
    return out


# ---------------------------------------------------------------------------------------------
# micro-benchmarks: the generated spelling of one operation vs alternatives, on the configs'
# shapes. Each group names the generated line it stands for; it must occur in that kernel.
# ---------------------------------------------------------------------------------------------
GENERATED_LINES = {  # group: (config, a substring of the generated kernel)
    "σ'": (SIG, "delta1 = W2.T @ delta2\n    delta1 *= A1\n"
                "    delta1 *= np.subtract(1, A1, out=A1)"),
    "tanh'": (TANH, "delta2 = W3.T @ delta3\n"
                    "    delta2 *= np.subtract(1, np.square(A2, out=A2), out=A2)"),
    "relu'": (BIG, "delta1 = W2.T @ delta2\n    delta1 *= (A1 > 0)"),
    "dW": (BIG, "dW2 = delta2 @ A1.T"),
    "bias": (BIG, "Z2 = W2 @ A1\n    Z2 += b2"),
    "softmax": (BIG, "S, logS = _softmax_pair(Z3, axis=0, out=Z3)\n    L = -np.vdot(Y, logS)/N"),
}


def check_generated_lines(kernels):
    for group, (cfg, line) in GENERATED_LINES.items():
        if line not in kernels[cfg].source:
            raise Stale(f"micro-benchmark {group!r}: {line!r} is no longer in the kernel of "
                        f"{CONFIGS[cfg][0]}; update or delete the group")


def micro(kernels, quick):
    target = 0.04 if quick else 0.12
    rng = np.random.default_rng(3)
    out = []
    gen_sigmoid = sigmoid_spelling(kernels[SIG].source)
    helpers = module_from_source(kernels[BIG].source, "micro")  # the kernel's own softmax

    def group(title, cases):
        base = None
        out.append(f"  {title}")
        for label, fn in cases:
            t = micro_time(fn, target)
            base = base or t
            out.append(f"    {label:<58s} {t * 1e6:9.1f} µs  {t / base:5.2f}×")

    for dtype in (np.float64, np.float32):
        dn = np.dtype(dtype).name
        # σ forward: config SIG's shape (128×128) and a bigger one for throughput
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
        # σ' factor, config SIG (128×128)
        A = (1 / (1 + np.exp(-rng.standard_normal((128, 128))))).astype(dtype)
        G = rng.standard_normal((128, 128)).astype(dtype)
        T = np.empty_like(A)

        def sigp_inplace(A=A, G=G, T=T):
            D = G.copy()  # the generated line makes a fresh δ too
            np.subtract(1, A, out=T)
            T *= A
            D *= T
        def sigp_generated(A=A, G=G):
            D = G.copy()
            D *= A
            D *= np.subtract(1, A, out=A)   # A is dead here in the kernel (values stay in [0, 1])
        group(f"δ = G ⊙ σ', {dn} 128×128 (G = W2ᵀδ2 given)", [
            ("generated: copy + D *= A1; D *= 1 - A1 into A1", sigp_generated),
            ("unplanned: G * (A1*(1 - A1))", lambda: G * (A * (1 - A))),
            ("G * A1 * (1 - A1)", lambda: G * A * (1 - A)),
            ("copy + in place (T = 1-A; T *= A; D *= T)", sigp_inplace),
        ])
        # tanh' factor, config TANH (256×64)
        A = np.tanh(rng.standard_normal((256, 64))).astype(dtype)
        G = rng.standard_normal((256, 64)).astype(dtype)
        T = np.empty_like(A)

        def tanhp_inplace(A=A, G=G, T=T):
            D = G.copy()
            np.multiply(A, A, out=T)
            np.subtract(1, T, out=T)
            D *= T
        def tanhp_generated(A=A, G=G):
            D = G.copy()
            D *= np.subtract(1, np.square(A, out=A), out=A)   # A dead (values stay in [0, 1])
        group(f"δ = G ⊙ tanh', {dn} 256×64", [
            ("generated: copy + D *= 1 - A2² into A2", tanhp_generated),
            ("unplanned: G * (1 - A2**2)", lambda: G * (1 - A ** 2)),
            ("G * (1 - A2*A2)", lambda: G * (1 - A * A)),
            ("copy + in place (T = A*A; T = 1-T; D *= T)", tanhp_inplace),
        ])
        # relu' factor, config BIG (1024×256)
        Z = rng.standard_normal((1024, 256)).astype(dtype)
        G = rng.standard_normal((1024, 256)).astype(dtype)
        M = np.empty(Z.shape, bool)

        def relup_inplace(Z=Z, G=G, M=M):
            D = G.copy()
            np.greater(Z, 0, out=M)
            np.multiply(D, M, out=D)
        def relup_generated(Z=Z, G=G):
            D = G.copy()
            D *= (Z > 0)
        group(f"δ = G ⊙ relu', {dn} 1024×256", [
            ("generated: copy + D *= (A1 > 0)  (same cost as Z1 > 0)", relup_generated),
            ("unplanned: G * (Z1 > 0)", lambda: G * (Z > 0)),
            ("np.where(Z1 > 0, G, 0)", lambda: np.where(Z > 0, G, 0)),
            ("copy + in place (np.multiply(D, Z > 0, out=D))", relup_inplace),
        ])
        # the 1/N of the weight gradient: config BIG, layers 1 and 2
        for (o, i) in ((1024, 784), (1024, 1024)):
            N = 256
            d = rng.standard_normal((o, N)).astype(dtype)
            Aprev = rng.standard_normal((i, N)).astype(dtype)
            buf = np.empty((o, i), dtype)

            def scale_after(d=d, Aprev=Aprev, N=N):
                W = d @ Aprev.T
                W *= 1 / N
                return W
            group(f"dW = δ Aᵀ / N, {dn} ({o}×{N})·({N}×{i})", [
                ("generated: delta @ A.T (1/N folded into δ_L once)",
                 lambda d=d, A=Aprev: d @ A.T),
                ("unplanned: 1/N * delta @ A.T  (= (δ/N) @ Aᵀ)",
                 lambda d=d, A=Aprev, N=N: 1 / N * d @ A.T),
                ("(delta @ A.T) / N", lambda d=d, A=Aprev, N=N: (d @ A.T) / N),
                ("delta @ A.T; dW *= 1/N", scale_after),
                ("np.matmul(delta, A.T, out=buf) (folded, no alloc)",
                 lambda d=d, A=Aprev, o=buf: np.matmul(d, A.T, out=o)),
            ])
        # bias add, config BIG layer 2
        W = rng.standard_normal((1024, 1024)).astype(dtype)
        A1 = rng.standard_normal((1024, 256)).astype(dtype)
        b = rng.standard_normal((1024, 1)).astype(dtype)
        Zb = np.empty((1024, 256), dtype)

        def bias_inplace(W=W, A1=A1, b=b, Zb=Zb):
            np.matmul(W, A1, out=Zb)
            Zb += b
        def bias_generated(W=W, A1=A1, b=b):
            Z = W @ A1
            Z += b
        group(f"Z = W A + b, {dn} (1024×1024)·(1024×256)", [
            ("generated: Z = W2 @ A1; Z += b2", bias_generated),
            ("unplanned: W2 @ A1 + b2", lambda: W @ A1 + b),
            ("np.matmul(W, A, out=Z); Z += b", bias_inplace),
            ("W2 @ A1 alone (the matmul)", lambda: W @ A1),
        ])
        # softmax + loss on config BIG's output layer (10×256)
        Z3 = rng.standard_normal((10, 256)).astype(dtype)
        Y3 = one_hot(rng.integers(0, 10, 256), 10, dtype)
        pair = helpers._softmax_pair
        lsm = module_from_source("import numpy as np" + _SOFTMAX_HELPERS, "micro_softmax")

        def one_exp(Z3=Z3, Y3=Y3):
            Zs = Z3 - Z3.max(axis=0, keepdims=True)
            E = np.exp(Zs)
            s = E.sum(axis=0, keepdims=True)
            return E / s, -np.vdot(Y3, Zs - np.log(s)) / 256
        def pair_generated(Z3=Z3, Y3=Y3):
            S, logS = pair(Z3.copy(), axis=0, out=None)  # the copy stands for the logits
            return S, -np.vdot(Y3, logS) / 256
        group(f"softmax + loss, {dn} 10×256", [
            ("generated: _softmax_pair(Z) and -vdot(Y, logS)/N", pair_generated),
            ("unplanned: _softmax(Z) and -sum(Y*_logsoftmax(Z))/N",
             lambda: (lsm._softmax(Z3, axis=0), -np.sum(Y3 * lsm._logsoftmax(Z3, axis=0)) / 256)),
            ("one exp: S = E/ΣE; L from Z - max - log ΣE", one_exp),
        ])
    return out


# ---------------------------------------------------------------------------------------------
def make_steppers(torch, s):
    steppers = {"gen": s.gen(), "hand": s.hand()}
    if s.act == "sigmoid":  # the reference with the σ spellings the kernel does not use
        for sp in SIGMOID_SPELLINGS:
            if sp != s.sigmoid:
                steppers["hand σ=" + sp] = s.hand(sp)
    if torch is not None:
        try:
            steppers["torch"] = torch_stepper(torch, s.act, s.X, s.labels, s.params0)
        except Exception as e:  # noqa: BLE001
            print(f"  torch step failed ({type(e).__name__}: {e}); skipped")
    return steppers


def show(rows, key, title, with_mem=True):
    cols = [("config", "s"), ("dtype", "s"), ("gen ms", ".3f"), ("hand ms", ".3f"),
            ("torch ms", ".3f"), ("gen/hand", ".2f"), ("(best)", ".2f"), ("gen flt", ".0f"),
            ("hand flt", ".0f")]
    cols += [("gen MiB", ".2f"), ("hand MiB", ".2f"), ("mem ratio", ".2f")] if with_mem else []
    table = []
    for r in rows:
        g, h, t = r[key]["gen"], r[key]["hand"], r[key].get("torch")
        row = [r["name"], r["dtype"], g[0] * 1e3, h[0] * 1e3, t and t[0] * 1e3,
               g[0] / h[0], g[1] / h[1], g[3], h[3]]
        if with_mem:
            row += [r["mg"] / 2**20, r["mh"] / 2**20, r["mg"] / r["mh"]]
        table.append(row)
    print_table(title, cols, table)
    for r in rows:
        for label, t in r[key].items():
            if label.startswith("hand σ="):
                g = r[key]["gen"]
                print(f"  {r['name']} {r['dtype']}: hand-written with σ = "
                      f"{SIGMOID_SPELLINGS[label[7:]]} in place: {t[0] * 1e3:.3f} ms; gen/that "
                      f"{g[0] / t[0]:.2f}")


def verdict(rows, key):
    ratio = lambda r: r[key]["gen"][0] / r[key]["hand"][0]  # noqa: E731
    worst = max(rows, key=ratio)
    return (f"{'MET' if ratio(worst) <= 1.05 else 'NOT MET'} (worst {ratio(worst):.2f}, "
            f"{worst['name']} {worst['dtype']}; {sum(ratio(r) <= 1.05 for r in rows)}/"
            f"{len(rows)} rows within)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter run (fewer repeats/steps)")
    ap.add_argument("--no-micro", action="store_true",
                    help="skip the ablations, the per-line profile and the micro-benchmarks")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time with the calling thread's CPU time instead of wall time (a busy "
                         "shared machine; run with OPENBLAS_NUM_THREADS=1 so that BLAS works in "
                         "the calling thread)")
    args = ap.parse_args()
    if args.cpu_time:
        harness.use_cpu_time()
    repeats, min_s, min_steps, mem_steps = (3, 0.15, 6, 20) if args.quick else (7, 0.5, 20, 200)
    t_start = time.perf_counter()

    print("matcalc train-step benchmark" + ("  (--quick)" if args.quick else "") +
          ("  (--cpu-time: the thread's CPU time, not wall time)" if args.cpu_time else ""))
    for line in blas_summary():
        print(line)
    torch = torch_module()
    if torch is None:
        print("PyTorch: `import torch` failed — torch column skipped ('-'); not installed by "
              "this script.")
    else:
        print(f"PyTorch {torch.__version__}, CPU eager, torch.get_num_threads() = "
              f"{torch.get_num_threads()}" + ("; with --cpu-time its column counts the calling "
                                              "thread only, not torch's pool: not comparable"
                                              if args.cpu_time else ""))
    print(f"timing: {repeats} interleaved repeats, each implementation ≥ {min_s} s and "
          f"≥ {min_steps} steps in all; median of the per-repeat step times. Peak memory: "
          f"tracemalloc over {mem_steps} steps. SGD: lr {LR}, momentum {MU}.")
    print()

    kernels = [matcalc.compile(matcalc.derive(matcalc.mlp(sizes, hidden=act)))
               for _, sizes, act, _ in CONFIGS]
    setups = [Setup(cfg, k, dtype) for cfg, k in zip(CONFIGS, kernels)
              for dtype in (np.float64, np.float32)]
    # before any timing: every ablation and micro-benchmark still matches the generated code
    variants = {s.name: ablation_variants(s) for s in setups}  # same source for both dtypes
    check_generated_lines(kernels)
    for s in setups:
        ok, step_ok, worst, dts = check(s)
        print(f"check {s.name:<22s} {s.dn}: gradients {'allclose' if ok else 'DIFFER'} "
              f"(max rel. diff {worst:.1e}), one step {'allclose' if step_ok else 'DIFFERS'},"
              f" generated dtypes {dts}", flush=True)
    print()

    # pass A: the allocator as it comes (glibc defaults), and peak memory
    rows = []
    for s in setups:
        def hand_lag(s=s):  # its workspace is made while tracemalloc traces, so it counts
            h = HandMLP(s.sizes, s.act, s.N, s.dtype, s.sigmoid)
            return lambda: h.loss_and_gradients(s.X, s.Y, s.params0)
        kg = peak_memory(lambda: (lambda: s.k.loss_and_gradients(s.X, s.Y, *s.params0)), 20)
        kh = peak_memory(hand_lag, 20)
        rows.append(dict(name=s.name, sizes=s.sizes, dtype=s.dn,
                         default=time_interleaved(make_steppers(torch, s), repeats, min_s,
                                                  min_steps),
                         mg=s.peak(s.gen, mem_steps), mh=s.peak(s.hand, mem_steps),
                         kg=kg, kh=kh))
    # pass B: glibc told not to trim its heap (no page faults for re-allocated temporaries)
    no_trim = glibc_no_trim()
    if no_trim:
        for r, s in zip(rows, setups):
            r["no_trim"] = time_interleaved(make_steppers(torch, s), repeats, min_s, min_steps)

    show(rows, "default", "A. default allocator (glibc as it comes)")
    print("(ms: median per-step time; (best): ratio of the fastest repeats; flt: minor page "
          "faults per step while timing;\n MiB: tracemalloc peak over the steps, incl. the "
          "implementation's own buffers and momentum state)")
    print()
    if no_trim:
        show(rows, "no_trim", "B. same, after mallopt(M_TRIM_THRESHOLD=1 GiB, "
             "M_MMAP_THRESHOLD=32 MiB): freed temporaries stay mapped", with_mem=False)
    else:
        print("B. (no glibc mallopt here: the no-trim pass is skipped)")
    print()
    print(f"target: generated / hand-written ≤ 1.05 in every config: {verdict(rows, 'default')}")
    if no_trim:
        print(f"        (table B, no heap trimming: {verdict(rows, 'no_trim')})")
    for key in ("default",) + (("no_trim",) if no_trim else ()):
        sig = [r for r in rows if r["name"] == CONFIGS[SIG][0]]
        ratios = [r[key]["gen"][0] / r[key]["hand"][0] for r in sig]
        print(f"target: ≤ 0.9 on {CONFIGS[SIG][0]} (table {'A' if key == 'default' else 'B'}): "
              f"{'MET' if max(ratios) <= 0.9 else 'NOT MET'} ("
              + ", ".join(f"{r['dtype']} {x:.2f}" for r, x in zip(sig, ratios)) + ")")
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

    name, sizes, _, N = CONFIGS[BIG]
    flops, fwd = step_flops(sizes, N)
    print(f"GEMM peak vs the {name} step (batch {N}): matmul FLOPs per step = "
          f"2N(3·Σ in·out − in1·out1) = {flops / 1e9:.3f} GFLOP (forward {fwd / 1e9:.3f}; "
          f"elementwise work not counted)")
    for dtype in (np.float64, np.float32):
        dn = np.dtype(dtype).name
        peak = gemm_gflops(dtype, 2048, 3 if args.quick else 5)
        mm = flops / matmul_only_seconds(sizes, N, dtype, 5 if args.quick else 15) / 1e9
        r = next(r for r in rows if r["name"] == name and r["dtype"] == dn)
        parts = [f"the step's matmuls alone (best) {mm:5.1f} GFLOP/s = {mm / peak:5.1%}"]
        for key, label in (("default", "A"), ("no_trim", "B")):
            if key in r:
                fg, fh = flops / r[key]["gen"][0] / 1e9, flops / r[key]["hand"][0] / 1e9
                parts.append(f"{label}: generated {fg:5.1f} GFLOP/s = {fg / peak:5.1%}, hand "
                             f"{fh:5.1f} = {fh / peak:5.1%}")
        print(f"  {dn}: GEMM 2048³ best {peak:6.1f} GFLOP/s; " + ";\n    ".join(parts))
        got = [flops / r[key]["gen"][0] / 1e9 / peak for key in ("default", "no_trim") if key in r]
        print(f"  target: generated ≥ 85% of the GEMM peak ({dn}): "
              f"{'MET' if got[0] >= 0.85 else 'NOT MET'} (" +
              ", ".join(f"{label} {g:.1%}" for label, g in zip("AB", got)) + ")")
    print()

    if not args.no_micro:
        trim = ", no heap trimming" if no_trim else ""
        a_mem = 5 if args.quick else 20
        print("ablations: the planned kernel with one planning decision undone at a time "
              f"(source edits of the printed module), whole step incl. the trainer's sgd{trim}; "
              "median ms; "
              f"peak: tracemalloc over {a_mem} steps:")
        a_rep, a_s, a_n = (3, 0.05, 3) if args.quick else (5, 0.25, 10)
        for line in ablations(setups, variants, a_rep, a_s, a_n, a_mem):
            print(line)
        print()
        reps = 10 if args.quick else 30
        print("per-line profile of the generated loss_and_gradients (median ms per statement, "
              f"{reps} runs{trim}):")
        for s in setups:
            if s.name not in (CONFIGS[SIG][0], CONFIGS[BIG][0]):
                continue
            # argument names from the public function's signature, values from this config
            names = list(inspect.signature(s.k.loss_and_gradients).parameters)
            prof = line_profile(s.k.source, "loss_and_gradients",
                                dict(zip(names, [s.X, s.Y, *s.params0])), reps)
            print(f"  {s.name} {s.dn} (sum {sum(t for _, t in prof) * 1e3:.3f} ms)")
            for src, t in prof:
                if t >= 1e-5:
                    print(f"    {t * 1e3:8.3f}  {src}")
        print()
        print("micro-benchmarks (median µs per call; × relative to the first line of each group"
              f"{trim}):")
        for line in micro(kernels, args.quick):
            print(line)
        print()
    print(f"total {time.perf_counter() - t_start:.1f} s")


if __name__ == "__main__":
    main()
