"""Time ONE training step (forward, backward, SGD-with-momentum update) of the sequence models
of issue 18 — the RNN `--input 8x8 --net "rnn(128), last, dense(10)"` (and each model of
sequence_reference.MODELS), batch 128 — as ratios from one run:

  generated NumPy kernels (matcalc.compile(derive(…)) + the trainer's sgd)
      vs the careful hand-written NumPy step of sequence_reference.py (the same sgd);
  generated torch kernels (compile(…, backend="torch") + its update_sgd, no tape)
      vs torch eager autograd of the same model on the CPU + torch.optim.SGD(momentum);
  peak memory (tracemalloc) of the generated NumPy step / the hand-written one.

    python benchmarks/sequence_step.py               # ~1 min on 2 cores
    python benchmarks/sequence_step.py --quick       # fewer repeats
    python benchmarks/sequence_step.py --tiny        # tiny sizes, seconds (the test runs this)
    OPENBLAS_NUM_THREADS=1 python benchmarks/sequence_step.py --cpu-time   # a busy machine

Before anything is timed, each pair is checked from the same seeded weights and batch: the
hand-written gradients against the generated NumPy kernel's (relative to each array's largest
entry; float64 within 1e-10, the hand-written code must be right), torch autograd's against
the torch kernels'. Threads: 1 by default for BLAS and torch (see conv_step.py: two thread
pools in one process oversubscribe a shared 2-core machine). Targets, printed per row as
hit/missed: NumPy ≤ 1.1×, torch ≤ 1.0×, memory ≤ 1.2×. No assertions on time.
"""
import argparse
import os
import sys
import time


def _args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and steps")
    ap.add_argument("--tiny", action="store_true", help="tiny sizes (a smoke test, seconds)")
    ap.add_argument("--models", default=None, help="comma-separated (default: all of MODELS)")
    ap.add_argument("--dtypes", default="float64,float32")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS and torch threads (default 1; 0: as the libraries choose)")
    ap.add_argument("--cpu-time", action="store_true", help="time the calling thread's CPU "
                    "time (harness.use_cpu_time; use with one thread)")
    ap.add_argument("--no-torch", action="store_true", help="NumPy rows only")
    ap.add_argument("--profile", action="store_true", help="per-statement profile of the "
                    "generated NumPy loss_and_gradients (a loop counts as one statement)")
    return ap.parse_args(argv)


if __name__ == "__main__":
    ARGS = _args()
    if ARGS.threads:  # BLAS reads these when NumPy is first imported, so set them before it
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

import matcalc  # noqa: E402
from matcalc.nn.cnn import cnn  # noqa: E402
from matcalc.nn.layers import LAYERS  # noqa: E402
from matcalc.train.trainer import init_params, sgd  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (blas_summary, line_profile, peak_memory, print_table,  # noqa: E402
                     time_interleaved)
from sequence_reference import HandRNN, torch_rnn  # noqa: E402
from transformer_reference import HandTransformer, torch_transformer  # noqa: E402

LR, MU, SEED = 0.01, 0.9, 0
TARGETS = {"numpy": 1.1, "torch": 1.0, "memory": 1.2}
# One entry per model: its sizes (as the issue gives them; `tiny`: the same model at sizes a
# test runs in a second), matcalc's --input and --net at those sizes, the hand-written NumPy
# step hand(sizes, N, dtype, parameter names) and the torch loss torch(torch, sizes, names).
MODELS = {
    "rnn": dict(sizes=dict(T=8, F=8, H=128, C=10), tiny=dict(T=3, F=4, H=5, C=3),
                input=lambda s: f"{s['T']}x{s['F']}",
                net=lambda s, pos: f"rnn({s['H']}), last, dense({s['C']})",
                hand=lambda s, N, dtype, names: HandRNN(N=N, dtype=dtype, **s),
                torch=lambda torch, s, names: torch_rnn(torch, **s)),
    "transformer": dict(
        sizes=dict(T=8, F=8, d=64, heads=4, ff=128, C=10),
        tiny=dict(T=3, F=4, d=4, heads=2, ff=6, C=3),
        input=lambda s: f"{s['T']}x{s['F']}",
        net=lambda s, pos: f"dense({s['d']}), {'position, ' if pos else ''}transformer("
                      f"heads={s['heads']}, ff={s['ff']}), mean, dense({s['C']})",
        hand=lambda s, N, dtype, names: HandTransformer(names, N=N, dtype=dtype, **s),
        torch=lambda torch, s, names: torch_transformer(torch, names, **s)),
}
# The issue's block has a learned position embedding: with it where matcalc builds it.
POSITION = "position" in LAYERS
TOL = {"float64": 1e-10, "float32": 1e-4}   # worst |a − b| / max |b| over each array


class Setup:
    """One model × dtype at its sizes: the kernels, a seeded batch and seeded weights."""

    def __init__(self, name, dtype, N, tiny=False, torch=None):
        m = MODELS[name]
        self.name, self.m, self.dtype, self.N = name, m, np.dtype(dtype), N
        self.sizes = m["tiny" if tiny else "sizes"]
        self.input, self.net = m["input"](self.sizes), m["net"](self.sizes, POSITION)
        self.note = None
        try:
            b = matcalc.derive(cnn(self.input, self.net))
        except matcalc.MatcalcError as e:      # the position layer not yet on tokens: without
            bare = m["net"](self.sizes, False)
            if bare == self.net:
                raise
            self.note = f"{self.net!r} not derived ({type(e).__name__}: {e}); timed without it"
            self.net, b = bare, matcalc.derive(cnn(self.input, bare))
        self.k = matcalc.compile(b)
        self.kt, self.why = None, "torch not importable"
        if torch is not None:
            try:
                self.kt = matcalc.compile(b, backend="torch")
            except Exception as e:  # noqa: BLE001  (a backend that cannot print it yet: say so)
                self.why = f"{type(e).__name__}: {e}"
        self.torch, self.names = torch, [p["name"] for p in self.k.PARAMS]
        rng = np.random.default_rng(SEED)
        feats, classes = self.k.FEATURES, self.k.OUTPUTS
        self.X = rng.standard_normal((feats, N)).astype(dtype)
        self.labels = rng.integers(0, classes, N)
        self.Y = np.zeros((classes, N), dtype)
        self.Y[self.labels, np.arange(N)] = 1
        self.params0 = init_params(self.k, np.random.default_rng(SEED + 1), dtype)
        for p, spec in zip(self.params0, self.k.PARAMS):   # nonzero biases and β's, so that
            if spec["init"] == "zeros":                     # every term is checked
                p += 0.1 * rng.standard_normal(p.shape).astype(dtype)

    def params(self):
        return [p.copy() for p in self.params0]

    # ---- the four steps, each on its own copy of the weights
    def gen(self, params=None):
        P, state = self.params() if params is None else params, {}

        def step():
            loss, grads = self.k.loss_and_gradients(self.X, self.Y, *P)
            sgd(P, grads, state, LR, MU)
        return step

    def hand(self, params=None):
        P, state = self.params() if params is None else params, {}
        h = self.m["hand"](self.sizes, self.N, self.dtype, self.names)

        def step():
            loss, grads = h.loss_and_gradients(self.X, self.Y, P)
            sgd(P, grads, state, LR, MU)
        return step

    def torch_kernels(self):
        kt = self.kt
        X, Y = kt.asarray(self.X), kt.asarray(self.Y)
        P, state = [kt.asarray(p.copy()) for p in self.params0], {}

        def step():
            loss, grads = kt.loss_and_gradients(X, Y, *P)
            kt.update_sgd(P, grads, state, LR, MU)
        return step

    def torch_autograd(self):
        torch = self.torch
        loss_of = self.m["torch"](torch, self.sizes, self.names)
        X, y = torch.from_numpy(self.X), torch.from_numpy(self.labels.astype(np.int64))
        P = [torch.tensor(p.copy(), requires_grad=True) for p in self.params0]
        opt = torch.optim.SGD(P, lr=LR, momentum=MU)   # buf ← μ buf + g; θ ← θ − α buf

        def step():
            opt.zero_grad(set_to_none=True)
            loss_of(P, X, y).backward()
            opt.step()
        return step

    def peak(self, make, steps):
        """tracemalloc peak of `steps` steps; the weights are copied before tracing starts."""
        P = self.params()
        return peak_memory(lambda: make(params=P), steps)


def worst(got, want):
    """The largest max|a − b| / max|b| over pairs of arrays (shapes must agree)."""
    out = 0.0
    for a, b in zip(got, want, strict=True):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if a.shape != b.shape:
            raise AssertionError(f"shapes differ: {a.shape} vs {b.shape}")
        out = max(out, float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(b))), 1e-300))
    return out


def check(s):
    """{pair: worst relative difference} of loss and gradients at the starting weights:
    'hand' (hand-written vs generated NumPy), 'torch' (autograd vs torch kernels), and where
    torch is there the other two pairs, so that the hand-written step is also checked
    against code that does not come from matcalc."""
    Lg, gg = s.k.loss_and_gradients(s.X, s.Y, *s.params())
    Lh, gh = s.m["hand"](s.sizes, s.N, s.dtype, s.names).loss_and_gradients(s.X, s.Y,
                                                                           s.params())
    s.promoted = sorted({g.dtype.name for g in gg} - {s.dtype.name})  # timed as they are
    out = {"hand": worst([Lh, *gh], [Lg, *gg])}
    if s.torch is not None:
        torch = s.torch
        P = [torch.tensor(p.copy(), requires_grad=True) for p in s.params0]
        La = s.m["torch"](torch, s.sizes, s.names)(P, torch.from_numpy(s.X),
                                                    torch.from_numpy(s.labels.astype(np.int64)))
        auto = [La.detach().numpy(), *(g.numpy() for g in torch.autograd.grad(La, P))]
        out["hand vs autograd"] = worst([Lh, *gh], auto)
        if s.kt is not None:
            kt = s.kt
            Lt, gt = kt.loss_and_gradients(kt.asarray(s.X), kt.asarray(s.Y),
                                           *[kt.asarray(p) for p in s.params()])
            out["torch"] = worst(auto, [kt.to_numpy(Lt), *(kt.to_numpy(g) for g in gt)])
            out["torch vs numpy"] = worst([kt.to_numpy(g) for g in gt], gg)
    return out


def verdict(x, target):
    return f"hit ({x:.2f} ≤ {target})" if x <= target else f"missed ({x:.2f} > {target})"


def main(args):
    t0 = time.perf_counter()
    if args.cpu_time:
        harness.use_cpu_time()
    repeats, min_s, min_steps, mem_steps = ((3, 0.02, 3, 2) if args.tiny else
                                            (3, 0.3, 6, 5) if args.quick else (7, 1.0, 15, 10))
    torch = None
    if not args.no_torch:
        try:
            import torch
            if args.threads:
                torch.set_num_threads(args.threads)
        except Exception:  # noqa: BLE001  (not installed or broken: NumPy rows only)
            torch = None
    print("matcalc sequence-step benchmark" + (" (--tiny)" if args.tiny else
                                                " (--quick)" if args.quick else ""))
    for line in blas_summary():
        print(line)
    print(("torch " + torch.__version__ + f", CPU eager, {torch.get_num_threads()} threads")
          if torch is not None else "torch: not importable (torch rows skipped)")
    print("load average (1, 5, 15 min): %.2f %.2f %.2f; clock: %s; %d interleaved repeats, "
          "medians; SGD lr %g, momentum %g; batch %d"
          % (*os.getloadavg(), "thread CPU time" if args.cpu_time else "wall", repeats,
             LR, MU, args.batch))
    names = args.models.split(",") if args.models else list(MODELS)
    dtypes = args.dtypes.split(",")
    rows, setups = [], []
    for name in names:
        for dn in dtypes:
            try:
                s = Setup(name, dn, args.batch, args.tiny, torch)
            except Exception as e:  # noqa: BLE001  (matcalc cannot build it now: a row says so)
                why = f"{type(e).__name__}: {e}".splitlines()[0][:160]
                print(f"{name} {dn}: not built ({why})", flush=True)
                rows.append([name, dn, "not built", None, None, None, "missed (not built)"])
                continue
            diffs = check(s)
            print(f"{name} {dn}: --input {s.input} --net \"{s.net}\"; check (worst |a−b|/max|b|"
                  "): " + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()), flush=True)
            if s.note:
                print(f"  note: {s.note}")
            if s.promoted:
                print(f"  note: the generated NumPy kernel of {name} {dn} returns gradients "
                      f"in {s.promoted} (timed as it is)")
            bad = {k: v for k, v in diffs.items() if v > TOL[dn]}
            if bad:
                raise SystemExit(f"{name} {dn}: {bad} over {TOL[dn]}: not timing wrong code")
            steppers = {"gen": s.gen(), "hand": s.hand()}
            if torch is not None:
                steppers["tauto"] = s.torch_autograd()
                if s.kt is not None:
                    steppers["tkern"] = s.torch_kernels()
                else:
                    print(f"  torch kernels of {name}: not available ({s.why[:200]})")
            t = time_interleaved(steppers, repeats, min_s, min_steps)
            mg, mh = s.peak(s.gen, mem_steps), s.peak(s.hand, mem_steps)
            ms = {k: v[0] * 1e3 for k, v in t.items()}
            rows.append([name, dn, "NumPy: generated / hand-written", ms["gen"], ms["hand"],
                         ms["gen"] / ms["hand"], verdict(ms["gen"] / ms["hand"],
                                                         TARGETS["numpy"])])
            if torch is not None:
                r = ms["tkern"] / ms["tauto"] if "tkern" in ms else None
                rows.append([name, dn, "torch: kernels / eager autograd", ms.get("tkern"),
                             ms["tauto"], r, verdict(r, TARGETS["torch"]) if r else
                             "missed (no torch kernels)"])
            rows.append([name, dn, "peak MiB: generated / hand-written", mg / 2**20,
                         mh / 2**20, mg / mh, verdict(mg / mh, TARGETS["memory"])])
            setups.append(s)
    print()
    print_table("one training step (forward, backward, SGD-momentum update)",
                [("model", "s"), ("dtype", "s"), ("comparison", "s"), ("ours", ".3f"),
                 ("reference", ".3f"), ("ratio", ".2f"), ("target", "s")], rows)
    print("(ours / reference: ms per step, medians of interleaved repeats, or tracemalloc "
          f"peak MiB over {mem_steps} steps incl. each step's own buffers and momentum)")
    if args.profile:
        for s in setups:
            prof = line_profile(s.k.source, "loss_and_gradients",
                                dict(X=s.X, Y=s.Y, **{p["name"]: v for p, v in
                                                      zip(s.k.PARAMS, s.params0)}), 20)
            total = sum(t for _, t in prof)
            print(f"\nprofile of the generated NumPy loss_and_gradients, {s.name} "
                  f"{s.dtype.name} (median ms per statement; sum {total * 1e3:.3f} ms):")
            for src, t in sorted(prof, key=lambda x: -x[1])[:12]:
                first = src.splitlines()[0] + (" …" if "\n" in src else "")
                print(f"  {t * 1e3:8.3f} {100 * t / total:5.1f}%  {first}")
    print(f"\ntotal {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(ARGS))
