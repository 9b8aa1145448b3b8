"""Timing and memory helpers for benchmarks/train_step.py: interleaved repetitions with medians
(one run, so report ratios, never absolute thresholds), tracemalloc peaks, minor page faults,
glibc heap trimming, the machine's BLAS setup and GEMM peak, and plain-text tables.

It measures nothing by itself; run `python benchmarks/train_step.py`.
"""
import ast
import gc
import math
import os
import platform
import statistics
import time
import tracemalloc
import types

import numpy as np


# The clock every measurement reads: wall time, or the CPU time of the calling thread
# (use_cpu_time), which a machine shared with other busy processes disturbs far less (time spent
# descheduled is not counted). It counts only the calling thread: run with one BLAS thread
# (OPENBLAS_NUM_THREADS=1), or the work of BLAS's worker threads goes uncounted; other threads
# (PyTorch's pool spinning after its steps) are left out, as they should be.
CLOCK = time.perf_counter


def use_cpu_time():
    global CLOCK
    CLOCK = time.thread_time


def run_steps(step, n):
    """Seconds (of CLOCK) for n back-to-back calls of step()."""
    t = CLOCK()
    for _ in range(n):
        step()
    return CLOCK() - t


def minflt():
    """Minor page faults of this process so far (0 where getrusage is missing)."""
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    except Exception:  # noqa: BLE001  (not on this platform)
        return 0


def time_interleaved(steppers, repeats, min_total_s, min_total_steps, warmup=3):
    """{name: (median s/step, best s/step, steps, minor page faults per step)}.

    Each repeat runs every stepper n steps back to back, the order rotated by one per repeat,
    so that drift of a shared machine spreads over all of them; n gives each stepper at least
    min_total_s and min_total_steps in all. GC is off while timing (its pauses land on
    whichever stepper happens to be running)."""
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
            for name in names[r % len(names):] + names[:r % len(names)]:
                f0 = minflt()
                times[name].append(run_steps(steppers[name], n[name]) / n[name])
                faults[name] += minflt() - f0
    finally:
        if gc_was:
            gc.enable()
    return {name: (statistics.median(ts), min(ts), n[name] * repeats,
                   faults[name] / (n[name] * repeats)) for name, ts in times.items()}


def micro_time(fn, target_s, repeats=5):
    """Median seconds per call of fn over `repeats` batches totalling about target_s."""
    fn()
    n = max(1, math.ceil(target_s / repeats / max(run_steps(fn, 1), 1e-7)))
    return statistics.median(run_steps(fn, n) / n for _ in range(repeats))


def peak_memory(make_stepper, steps):
    """tracemalloc peak (bytes; NumPy reports its buffers) over `steps` steps. Tracing starts
    before make_stepper() runs, so the stepper's own buffers (workspace, momentum) count."""
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


def gemm_gflops(dtype, n=2048, repeats=3):
    """Best GFLOP/s of an n×n×n matmul into a preallocated output: the machine's BLAS peak."""
    rng = np.random.default_rng(1)
    A = rng.standard_normal((n, n)).astype(dtype)
    B = rng.standard_normal((n, n)).astype(dtype)
    C = np.empty((n, n), dtype)
    np.matmul(A, B, out=C)  # warm-up
    best = min(run_steps(lambda: np.matmul(A, B, out=C), 1) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def blas_summary():
    """Lines describing the machine, NumPy's BLAS and its thread settings (left at default)."""
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


def module_from_source(src, tag):
    """A fresh module executed from src (a kernel's source, edited or not)."""
    mod = types.ModuleType(f"matcalc_bench_{tag}")
    exec(compile(src, f"<matcalc kernel: {tag}>", "exec"), mod.__dict__)  # noqa: S102
    return mod


def line_profile(source, fname, args, reps):
    """[(statement, median seconds)] for each statement of function `fname` in `source`, run
    one by one in the module's namespace with `args` ({parameter: value}) bound."""
    fn = next(n for n in ast.parse(source).body
              if isinstance(n, ast.FunctionDef) and n.name == fname)
    stmts = [s for s in fn.body if not isinstance(s, (ast.Expr, ast.Return))]
    codes = [(ast.unparse(s), compile(ast.Module([s], []), "<profiled>", "exec")) for s in stmts]
    glob = vars(module_from_source(source, "profile"))
    times = {src: [] for src, _ in codes}
    for _ in range(reps):
        ns = dict(glob, **args)
        for src, c in codes:
            t = CLOCK()
            exec(c, ns)  # noqa: S102  (the profiled function's own lines)
            times[src].append(CLOCK() - t)
    return [(src, statistics.median(ts[1:] or ts)) for src, ts in times.items()]  # 1st: cold


def print_table(title, columns, rows):
    """A plain-text table: columns = [(header, format spec)], rows = lists of values; a value
    of None prints as '-'."""
    cells = [[("-" if v is None else format(v, spec)) for v, (_, spec) in zip(row, columns)]
             for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, (h, _) in enumerate(columns)]
    align = ["<" if spec.endswith("s") else ">" for _, spec in columns]
    line = lambda vals: " ".join(f"{v:{a}{w}}" for v, a, w in zip(vals, align, widths))  # noqa: E731
    print(title)
    print(line([h for h, _ in columns]))
    print("-" * len(line([h for h, _ in columns])))
    for r in cells:
        print(line(r))
