"""Time ONE training step (forward, backward, SGD-with-momentum update) of matcalc's torch and
JAX kernels against the same network trained by the framework's own autograd: torch eager
autograd + torch.optim.SGD, and jax.value_and_grad under jax.jit. Ratios from one run, same
threads, no assertions on time (issue 11 §2).

    python benchmarks/backends.py                 # CPU, ~1–2 min on 2 cores
    python benchmarks/backends.py --quick         # fewer repeats (~30 s)
    python benchmarks/backends.py --device cuda   # torch on the GPU (JAX on its default device)
    python benchmarks/backends.py --threads 1 --cpu-time   # a busy shared machine

Per config × dtype, from the same seeded weights and batch:
  torch kernels = matcalc.compile(b, backend="torch"): loss_and_gradients + update_sgd (the
                  update the trainer runs), no tape;
  torch autograd = the same forward in torch ops, loss.backward(), torch.optim.SGD(momentum);
  jax kernels   = one jax.jit of the JAX module's loss_and_gradients and an SGD update;
  jax grad      = one jax.jit of jax.value_and_grad of the same loss and the same update.
Before timing, each pair's loss and gradients are compared (np.allclose): a benchmark of
wrong kernels would be worthless. Targets, printed with the table: torch kernels / torch
autograd ≤ 0.9; jax kernels / jax value_and_grad ≤ 1.05.
"""
import argparse
import os
import platform
import time

import numpy as np

import matcalc

import harness
from harness import print_table, time_interleaved

LR, MU, SEED = 0.01, 0.9, 0
CONFIGS = [  # (name, sizes, hidden activation, batch) — issue 11's table
    ("64-128-10 sigmoid N128", [64, 128, 10], "sigmoid", 128),
    ("784-512-10 relu N128", [784, 512, 10], "relu", 128),
    ("784-1024-1024-10 relu N256", [784, 1024, 1024, 10], "relu", 256),
    ("784-256x4-10 tanh N64", [784, 256, 256, 256, 256, 10], "tanh", 64),
]
TARGETS = {"torch": 0.9, "jax": 1.05}


def data(sizes, n, dtype):
    """Seeded weights (Glorot), biases zero, a batch X and one-hot Y, samples as columns."""
    rng = np.random.default_rng(SEED)
    params = []
    for a, b in zip(sizes, sizes[1:]):
        params += [rng.standard_normal((b, a)) * np.sqrt(2 / (a + b)), np.zeros((b, 1))]
    X = rng.standard_normal((sizes[0], n))
    Y = np.eye(sizes[-1])[:, rng.integers(0, sizes[-1], n)]
    return [p.astype(dtype) for p in params], X.astype(dtype), Y.astype(dtype)


def check(name, ours, theirs, dtype):
    rtol = 1e-8 if dtype == np.float64 else 2e-3
    for a, b in zip(ours, theirs):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if not np.allclose(a, b, rtol=rtol, atol=rtol * max(1.0, np.abs(b).max())):
            raise SystemExit(f"{name}: the kernels and autograd disagree "
                             f"(max |diff| {np.abs(a - b).max():.3g}); not timing")


# ---------------------------------------------------------------- torch

def torch_steppers(b, sizes, act, n, dtype, device):
    import torch
    k = matcalc.compile(b, backend="torch", device=device)
    params, X, Y = data(sizes, n, dtype)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    Xt, Yt = k.asarray(X), k.asarray(Y)

    ours = [k.asarray(p).clone() for p in params]
    state = {}

    def kernels():
        L, grads = k.loss_and_gradients(Xt, Yt, *ours)
        k.update_sgd(ours, grads, state, LR, MU)
        sync()

    leaves = [k.asarray(p).clone().requires_grad_() for p in params]
    opt = torch.optim.SGD(leaves, lr=LR, momentum=MU)
    f = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh}[act]

    def loss_of(ps):
        A = Xt
        for i in range(0, len(ps), 2):
            Z = ps[i] @ A + ps[i + 1]
            A = f(Z) if i + 2 < len(ps) else Z
        return -(Yt * torch.log_softmax(Z, dim=0)).sum() / n

    def autograd():
        opt.zero_grad(set_to_none=True)
        loss_of(leaves).backward()
        opt.step()
        sync()

    # the proof before the clock: same loss and gradients at the starting weights
    L, grads = k.loss_and_gradients(Xt, Yt, *ours)
    ref = loss_of(leaves)
    ref_grads = torch.autograd.grad(ref, leaves)
    check(f"torch {b.model.name}", [k.to_numpy(L)] + [k.to_numpy(g) for g in grads],
          [ref.detach().cpu().numpy()] + [g.cpu().numpy() for g in ref_grads], dtype)
    return {"torch kernels": kernels, "torch autograd": autograd}


# ---------------------------------------------------------------- JAX

def jax_steppers(b, sizes, act, n, dtype):
    import jax
    import jax.numpy as jnp
    k = matcalc.compile(b, backend="jax")          # enables float64 in JAX (see backends.py)
    params, X, Y = data(sizes, n, dtype)
    Xj, Yj = jnp.asarray(X), jnp.asarray(Y)
    f = {"sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu, "tanh": jnp.tanh}[act]

    def loss_of(ps, X, Y):
        A = X
        for i in range(0, len(ps), 2):
            Z = ps[i] @ A + ps[i + 1]
            A = f(Z) if i + 2 < len(ps) else Z
        return -(Y * jax.nn.log_softmax(Z, axis=0)).sum() / n

    def update(ps, vs, grads):
        vs = [MU * v - LR * g for v, g in zip(vs, grads)]
        return [p + v for p, v in zip(ps, vs)], vs

    @jax.jit
    def ours_step(ps, vs, X, Y):
        L, grads = k.loss_and_gradients(X, Y, *ps)
        return update(ps, vs, grads)

    @jax.jit
    def grad_step(ps, vs, X, Y):
        L, grads = jax.value_and_grad(loss_of)(ps, X, Y)
        return update(ps, vs, grads)

    runs = {}
    for name, step in (("jax kernels", ours_step), ("jax value_and_grad", grad_step)):
        st = {"ps": [jnp.asarray(p) for p in params], "vs": [jnp.zeros(p.shape, dtype)
                                                             for p in params]}

        def stepper(step=step, st=st):
            st["ps"], st["vs"] = step(st["ps"], st["vs"], Xj, Yj)
            jax.block_until_ready(st["ps"])
        runs[name] = stepper

    ps = [jnp.asarray(p) for p in params]
    L, grads = k.loss_and_gradients(Xj, Yj, *ps)
    ref, ref_grads = jax.jit(jax.value_and_grad(loss_of))(ps, Xj, Yj)
    check(f"jax {b.model.name}", [L, *grads], [ref, *ref_grads], dtype)
    return runs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and steps")
    ap.add_argument("--device", default="cpu", help="torch's device (cpu, cuda)")
    ap.add_argument("--no-jax", action="store_true", help="torch only")
    ap.add_argument("--no-torch", action="store_true", help="JAX only")
    ap.add_argument("--threads", type=int, help="threads for torch, XLA and the BLAS (all the "
                    "same; default: the libraries' own)")
    ap.add_argument("--cpu-time", action="store_true", help="time this process's CPU (all its "
                    "threads: XLA computes on its own), which other busy processes disturb far "
                    "less than the wall clock")
    args = ap.parse_args()
    if args.threads:      # before the libraries start their pools
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
        if args.threads == 1:
            os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                       " --xla_cpu_multi_thread_eigen=false "
                                       "intra_op_parallelism_threads=1")
    if args.cpu_time:     # not harness.use_cpu_time's thread_time: it misses XLA's threads
        harness.CLOCK = time.process_time
    repeats, min_s, min_steps = (3, 0.3, 6) if args.quick else (5, 1.0, 15)
    lines = [f"python {platform.python_version()}, numpy {np.__version__}"]
    if not args.no_torch:
        import torch
        if args.threads:
            torch.set_num_threads(args.threads)
        lines.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads, device "
                     f"{args.device})")
    if not args.no_jax:
        import jax
        lines.append(f"jax {jax.__version__} (default device {jax.devices()[0]})")
    lines.append(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; one step = "
                 "forward, backward, SGD-with-momentum update; medians of "
                 + ("CPU time" if args.cpu_time else "wall-clock time"))
    print("\n".join(lines))
    libs = [lib for lib, off in (("torch", args.no_torch), ("jax", args.no_jax)) if not off]
    pairs = {"torch": ("torch kernels", "torch autograd"),
             "jax": ("jax kernels", "jax value_and_grad")}
    rows = []
    for name, sizes, act, n in CONFIGS:
        b = matcalc.derive(matcalc.mlp(sizes, hidden=act))
        for dtype in (np.float64, np.float32):
            steppers = {}
            if "torch" in libs:
                steppers.update(torch_steppers(b, sizes, act, n, dtype, args.device))
            if "jax" in libs:
                steppers.update(jax_steppers(b, sizes, act, n, dtype))
            t = time_interleaved(steppers, repeats, min_s, min_steps)
            row = [name, np.dtype(dtype).name]
            for lib in libs:
                ours, theirs = (t[s][0] for s in pairs[lib])
                row += [1e3 * ours, 1e3 * theirs, ours / theirs]
            rows.append(row)
            print(f"  {name} {np.dtype(dtype).name}: " + ", ".join(   # kept if cut short
                f"{lib} {row[2 + 3 * i]:.3f} / {row[3 + 3 * i]:.3f} ms = {row[4 + 3 * i]:.2f}"
                for i, lib in enumerate(libs)), flush=True)
    heads = {"torch": ("torch kern ms", "autograd ms"), "jax": ("jax kern ms", "v_and_g ms")}
    columns = [("config", "s"), ("dtype", "s")]
    for lib in libs:
        columns += [(heads[lib][0], ".3f"), (heads[lib][1], ".3f"), ("ratio", ".2f")]
    print_table("one SGD step: matcalc's kernels vs the framework's autograd", columns, rows)
    for i, lib in enumerate(libs):
        ratios = [r[4 + 3 * i] for r in rows]
        target, worst = TARGETS[lib], max(ratios)
        print(f"target {lib} kernels / autograd ≤ {target}: "
              f"{'hit' if worst <= target else 'missed'} (worst {worst:.2f}; "
              f"{sum(x <= target for x in ratios)}/{len(rows)} rows within)")

if __name__ == "__main__":
    main()
