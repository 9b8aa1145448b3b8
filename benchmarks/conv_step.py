"""Time ONE training step (forward, backward, SGD-with-momentum update) of two small CNNs
(issue 9): matcalc's generated kernels against the hand-written NumPy im2col step of
benchmarks/conv_reference.py, and PyTorch CPU eager where `import torch` works.

    digits: 1×8×8 → conv(8,3,pad=1) → relu → maxpool(2) → dense(10), N = 128
    mnist:  1×28×28 → conv(16,5) → relu → maxpool(2) → conv(32,5) → relu → maxpool(2)
            → dense(10), N = 64

    python benchmarks/conv_step.py               # full run, ~30 s with torch
    python benchmarks/conv_step.py --quick       # fewer repeats and steps (~5 s)
    python benchmarks/conv_step.py --threads 2   # BLAS and torch on 2 threads each
    python benchmarks/conv_step.py --threads 0   # thread counts as the libraries choose

Per net × dtype (float64, float32): hand = HandCNN.step; torch = conv2d / relu / max_pool2d /
linear + cross_entropy, autograd and torch.optim.SGD(momentum), on as many threads as NumPy's
BLAS; generated = a compiled matcalc kernel module's loss_and_gradients + the trainer's sgd
(generated_stepper), once matcalc can build CNN kernels: until then its column prints as '-'
with the reason. All start from the same seeded weights and batch; gradients (and one full
step) are compared with np.allclose before anything is timed.

Timing and memory: harness.py (interleaved repeats, medians, tracemalloc peaks; torch's
allocator is invisible to tracemalloc, so torch has no memory column). Two passes as in
train_step.py: A with glibc's allocator as it comes, B after mallopt() stops it trimming the
heap (a step that allocates its temporaries afresh page-faults them in again under A).
Ratios from one run on a shared machine; no assertions on time.

Threads: 1 by default (BLAS and torch alike). On the 2-core machines, shared with other
sessions' processes, two thread pools in one process (OpenBLAS's and torch's OpenMP, each
spinning while the other works, the steppers interleaved) oversubscribe the cores: with the
libraries' defaults one run gave torch digits float64 1167 ms/step against 1.1 ms on one
thread, and hand mnist float64 99 ms against 22 ms. More threads only mean something on a
quiet machine with cores to spare.

Targets (printed with the table): generated / hand-written ≤ 1.1; peak memory ≤ 1.2×
hand-written; the PyTorch ratio is reported.
"""
import argparse
import os
import sys
import time


def _args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter run (fewer repeats/steps)")
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS and torch threads (default 1; 0: as the libraries choose)")
    return ap.parse_args()


if __name__ == "__main__":
    ARGS = _args()
    if ARGS.threads:  # BLAS reads these when NumPy is first imported, so set them before it
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

import matcalc  # noqa: E402
from matcalc.train.trainer import sgd  # noqa: E402

from conv_reference import NETS, HandCNN, data, init_params, param_shapes  # noqa: E402
from harness import (blas_summary, glibc_no_trim, peak_memory, print_table,  # noqa: E402
                     time_interleaved)

LR, MU = 0.01, 0.9
SEED = 0
DTYPES = (np.float64, np.float32)
GEN_TARGET, MEM_TARGET = 1.1, 1.2

# The nets as the issue writes them, for matcalc's CNN constructor.
MATCALC_LAYERS = {
    "digits": ["conv(8,3,pad=1)", "relu", "maxpool(2)", "dense(10)"],
    "mnist": ["conv(16,5)", "relu", "maxpool(2)", "conv(32,5)", "relu", "maxpool(2)",
              "dense(10)"],
}


# ---------------------------------------------------------------------------------------------
# the generated kernels
# ---------------------------------------------------------------------------------------------
def build_kernel(name):
    """The compiled kernel module of net `name`, or the exception that says why there is none.
    The one place to adapt once matcalc's CNN constructor exists: it must return a module with
    loss_and_gradients(X, Y, *params) and PARAMS (dicts with "name" and "shape")."""
    net = NETS[name]
    try:
        return matcalc.compile(matcalc.derive(matcalc.cnn(net["input"], MATCALC_LAYERS[name])))
    except Exception as e:  # noqa: BLE001  (not written yet, or failing: report either way)
        return e


def generated_stepper(k, X, Y, params):
    """k.loss_and_gradients + the trainer's sgd, in place on params (in k.PARAMS's order)."""
    state = {}

    def step():
        loss, grads = k.loss_and_gradients(X, Y, *params)
        sgd(params, grads, state, LR, MU)
        return loss
    return step


def check_params_spec(k, net):
    """k.PARAMS must name the reference's parameters, in its order and shapes (so the same
    arrays feed both); raises otherwise."""
    got = [(p["name"], tuple(int(d) for d in p["shape"])) for p in k.PARAMS]
    want = [(n, tuple(s)) for n, s in param_shapes(net)]
    if [s for _, s in got] != [s for _, s in want]:
        raise AssertionError(f"kernel PARAMS {got} do not match the reference's {want}")


# ---------------------------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------------------------
def torch_module(threads):
    try:
        import torch
    except Exception:  # noqa: BLE001  (not installed, or broken: skip either way)
        return None
    torch.set_num_threads(threads)
    return torch


def torch_stepper(torch, net, X, labels, params):
    """(step, torch's parameters). Weights in torch's own shapes (W: F×C×k×k is unfold's
    (c, i, j) row order reshaped; biases 1-D); the batch converted to N×C×H×W once, outside
    the step, as a torch user's data would already be. torch.optim.SGD(momentum=μ) keeps
    buf ← μ buf + g; θ ← θ − α buf: the trajectory of v ← μ v − α g (v = −α buf)."""
    F = torch.nn.functional
    C, H, W = net["input"]
    N = X.shape[1]
    Xt = torch.from_numpy(np.ascontiguousarray(X.T.reshape(N, C, H, W)))
    yt = torch.from_numpy(labels.astype(np.int64))
    tp = []
    for (_, shape), p in zip(param_shapes(net), params):
        q = p.reshape(-1) if shape[1] == 1 else p  # bias
        tp.append(torch.tensor(q.copy(), requires_grad=True))
    for l, (Fo, k, *_) in enumerate(net["convs"]):
        tp[2 * l] = torch.tensor(params[2 * l].reshape(Fo, -1, k, k).copy(), requires_grad=True)
    opt = torch.optim.SGD(tp, lr=LR, momentum=MU)

    def step():
        opt.zero_grad(set_to_none=True)
        A = Xt
        for l, (_, _, p, s, q) in enumerate(net["convs"]):
            A = F.max_pool2d(torch.relu(F.conv2d(A, tp[2 * l], tp[2 * l + 1], stride=s,
                                                 padding=p)), q)
        loss = F.cross_entropy(F.linear(A.flatten(1), tp[-2], tp[-1]), yt)  # mean
        loss.backward()
        opt.step()
        return loss
    return step, tp


def as_reference(t, shape):
    """A torch parameter or gradient in the reference's layout."""
    return t.detach().numpy().reshape(shape)


# ---------------------------------------------------------------------------------------------
class Setup:
    """One net × dtype: data, initial weights, tolerances, the kernel (or why there is none)."""

    def __init__(self, name, dtype, kernel):
        self.name, self.net, self.dtype = name, NETS[name], dtype
        self.dn, self.N = np.dtype(dtype).name, NETS[name]["N"]
        rng = np.random.default_rng(SEED)
        self.X, self.Y, self.labels = data(self.net, self.N, rng, dtype)
        self.params0 = init_params(self.net, np.random.default_rng(SEED + 1), dtype)
        self.shapes = [s for _, s in param_shapes(self.net)]
        self.k = kernel if not isinstance(kernel, Exception) else None
        self.rtol = 1e-9 if dtype == np.float64 else 2e-4

    def params(self):
        return [p.copy() for p in self.params0]

    def hand(self, params=None):
        h = HandCNN(self.net, self.N, self.dtype)
        P = self.params() if params is None else params
        return lambda: h.step(self.X, self.Y, P, LR, MU)

    def gen(self, params=None):
        return generated_stepper(self.k, self.X, self.Y,
                                 self.params() if params is None else params)

    def peak(self, make, steps):
        """peak_memory of the stepper make(params=…) makes; the weights are copied before
        tracing starts (they are not the step's memory), its own buffers are made after."""
        P = self.params()
        return peak_memory(lambda: make(params=P), steps)

    def close(self, got, want):
        """(all allclose, worst max|a − b| / max|b| over the arrays); atol relative to each
        array's largest entry, since float32 sums over 10⁴–10⁵ terms."""
        ok, worst = True, 0.0
        for a, b in zip(got, want):
            scale = max(float(np.max(np.abs(b))), 1e-30)
            ok &= a.shape == b.shape and bool(np.allclose(a, b, rtol=self.rtol,
                                                          atol=self.rtol * scale))
            worst = max(worst, float(np.max(np.abs(a - b))) / scale)
        return ok, worst


def check(s, torch):
    """Lines saying whether torch and the generated kernel agree with the hand-written step:
    loss and gradients, then every parameter after one step. Raises on a disagreement."""
    Lh, gh = HandCNN(s.net, s.N, s.dtype).loss_and_gradients(s.X, s.Y, s.params())
    gh = [g.copy() for g in gh]
    ph = s.params()
    s.hand(ph)()
    out = []
    if torch is not None:
        step, tp = torch_stepper(torch, s.net, s.X, s.labels, s.params0)
        Lt = step()  # its gradients are left in .grad after the step
        ok_g, worst = s.close([as_reference(t.grad, sh) for t, sh in zip(tp, s.shapes)], gh)
        ok_p, _ = s.close([as_reference(t, sh) for t, sh in zip(tp, s.shapes)], ph)
        ok_l = abs(Lt.item() - float(Lh)) <= s.rtol * abs(float(Lh))
        out.append(f"torch:     loss {'=' if ok_l else '≠'}, gradients "
                   f"{'allclose' if ok_g else 'DIFFER'} (worst {worst:.1e} of max), one step "
                   f"{'allclose' if ok_p else 'DIFFERS'}")
        if not (ok_l and ok_g and ok_p):
            raise AssertionError(f"{s.name} {s.dn}: torch and hand-written disagree")
    if s.k is not None:
        check_params_spec(s.k, s.net)
        Lg, gg = s.k.loss_and_gradients(s.X, s.Y, *s.params0)
        ok_g, worst = s.close(gg, gh)
        dts = sorted({np.asarray(Lg).dtype.name} | {g.dtype.name for g in gg})
        pg = s.params()
        s.gen(pg)()
        ok_p, _ = s.close(pg, ph)
        ok_l = abs(float(Lg) - float(Lh)) <= s.rtol * abs(float(Lh))
        out.append(f"generated: loss {'=' if ok_l else '≠'}, gradients "
                   f"{'allclose' if ok_g else 'DIFFER'} (worst {worst:.1e} of max), one step "
                   f"{'allclose' if ok_p else 'DIFFERS'}, dtypes {dts}")
        if not (ok_l and ok_g and ok_p and dts == [s.dn]):
            raise AssertionError(f"{s.name} {s.dn}: generated and hand-written disagree")
    return out


def steppers(s, torch):
    out = {"hand": s.hand()}
    if s.k is not None:
        out["gen"] = s.gen()
    if torch is not None:
        out["torch"] = torch_stepper(torch, s.net, s.X, s.labels, s.params0)[0]
    return out


def show(rows, key, title, with_mem=True):
    cols = [("net", "s"), ("dtype", "s"), ("hand ms", ".3f"), ("gen ms", ".3f"),
            ("torch ms", ".3f"), ("gen/hand", ".2f"), ("(best)", ".2f"), ("torch/hand", ".2f"),
            ("hand flt", ".0f"), ("gen flt", ".0f")]
    if with_mem:
        cols += [("hand MiB", ".2f"), ("gen MiB", ".2f"), ("mem gen/hand", ".2f")]
    table = []
    for r in rows:
        h, g, t = r[key]["hand"], r[key].get("gen"), r[key].get("torch")
        row = [r["name"], r["dtype"], h[0] * 1e3, g and g[0] * 1e3, t and t[0] * 1e3,
               g and g[0] / h[0], g and g[1] / h[1], t and t[0] / h[0], h[3], g and g[3]]
        if with_mem:
            row += [r["mh"] / 2**20, r["mg"] and r["mg"] / 2**20, r["mg"] and r["mg"] / r["mh"]]
        table.append(row)
    print_table(title, cols, table)


def verdict(rows, ratio, target):
    vals = [(ratio(r), r) for r in rows]
    if any(v is None for v, _ in vals):
        return "not measured (no generated kernels yet)"
    worst, r = max(vals, key=lambda x: x[0])
    return (f"{'MET' if worst <= target else 'NOT MET'} (worst {worst:.2f}, {r['name']} "
            f"{r['dtype']}; {sum(v <= target for v, _ in vals)}/{len(vals)} rows within)")


def main(args):
    quick = args.quick
    repeats, min_s, min_steps, mem_steps = (3, 0.15, 3, 5) if quick else (11, 1.0, 22, 30)
    t_start = time.perf_counter()
    print("matcalc conv-step benchmark" + ("  (--quick)" if quick else ""))
    for line in blas_summary():
        print(line)
    print("load average before the run (1, 5, 15 min): %.2f %.2f %.2f — other processes' "
          "work on these cores skews the timings" % os.getloadavg())
    threads = args.threads or int(os.environ.get("OPENBLAS_NUM_THREADS") or
                                  os.environ.get("OMP_NUM_THREADS") or os.cpu_count())
    torch = torch_module(threads)
    if torch is None:
        print("PyTorch: `import torch` failed — torch column skipped ('-'); not installed by "
              "this script.")
    else:
        print(f"PyTorch {torch.__version__}, CPU eager, torch.set_num_threads({threads}) "
              f"(NumPy's BLAS: {args.threads or 'its default'})")
    print(f"timing: {repeats} interleaved repeats, each implementation ≥ {min_s} s and ≥ "
          f"{min_steps} steps in all; median of the per-repeat step times. Peak memory: "
          f"tracemalloc over {mem_steps} steps. SGD: lr {LR}, momentum {MU}.")
    for name, net in NETS.items():
        print(f"  {name}: {net['text']}, N = {net['N']}")
    print()

    kernels = {name: build_kernel(name) for name in NETS}
    for name, k in kernels.items():
        if isinstance(k, Exception):
            print(f"matcalc ({name}): not available yet ({type(k).__name__}: {k})")
        else:
            print(f"matcalc ({name}): generated kernels compiled")
    setups = [Setup(name, dt, kernels[name]) for name in NETS for dt in DTYPES]
    for s in setups:
        for line in check(s, torch):
            print(f"check {s.name:<6s} {s.dn}: {line}", flush=True)
    print()

    rows = []
    for s in setups:  # pass A: the allocator as it comes, and peak memory
        rows.append(dict(name=s.name, dtype=s.dn,
                         default=time_interleaved(steppers(s, torch), repeats, min_s, min_steps),
                         mh=s.peak(s.hand, mem_steps),
                         mg=s.peak(s.gen, mem_steps) if s.k is not None else None))
    no_trim = glibc_no_trim()
    if no_trim:  # pass B: glibc told not to trim its heap (no page faults for temporaries)
        for r, s in zip(rows, setups):
            r["no_trim"] = time_interleaved(steppers(s, torch), repeats, min_s, min_steps)

    show(rows, "default", "A. default allocator (glibc as it comes)")
    print("(ms: median per-step time; (best): ratio of the fastest repeats; flt: minor page "
          "faults per step while timing;\n MiB: tracemalloc peak over the steps, incl. the "
          "implementation's own buffers and momentum state; torch's memory is not traced)")
    print()
    if no_trim:
        show(rows, "no_trim", "B. same, after mallopt(M_TRIM_THRESHOLD=1 GiB, "
             "M_MMAP_THRESHOLD=32 MiB): freed temporaries stay mapped", with_mem=False)
    else:
        print("B. (no glibc mallopt here: the no-trim pass is skipped)")
    print()
    def gen(key):
        return lambda r: r[key]["gen"][0] / r[key]["hand"][0] if "gen" in r[key] else None
    print(f"target: generated / hand-written ≤ {GEN_TARGET}: "
          f"{verdict(rows, gen('default'), GEN_TARGET)}")
    if no_trim:
        print(f"        (table B, no heap trimming: {verdict(rows, gen('no_trim'), GEN_TARGET)})")
    print(f"target: peak memory ≤ {MEM_TARGET}× hand-written: "
          f"{verdict(rows, lambda r: r['mg'] and r['mg'] / r['mh'], MEM_TARGET)}")
    if torch is not None:
        for key, label in (("default", "table A"), ("no_trim", "table B")):
            if all(key in r for r in rows):
                tr = ", ".join(f"{r['name']} {r['dtype']} "
                               f"{r[key]['torch'][0] / r[key]['hand'][0]:.2f}" for r in rows)
                print(f"PyTorch / hand-written ({label}): {tr}")
    else:
        print("PyTorch / hand-written: not measured (torch not importable)")
    print(f"\ntotal {time.perf_counter() - t_start:.1f} s")


if __name__ == "__main__":
    sys.exit(main(ARGS))
