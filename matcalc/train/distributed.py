"""Data-parallel training with torch.distributed: each process trains on its shard of a batch.

Train (stage 6). Consumes torch kernels (codegen/backends.py) and the arrays train/trainer.py
takes. `Sharded(k, rank, world)` is the kernel module as one process of a group shows it to
the trainer: its loss_and_gradients runs the derived kernels on this process's share of the
global batch and all-reduces the loss and gradients in one buffer (torch.distributed: gloo on
CPU, NCCL on GPU), weighted so that every process ends with the gradient of the whole batch,
the one a single process computes. Everything else is the trainer's: the same seed gives every
process the same initial weights and batches, the same gradients keep them equal, rank 0
saves. `run_shard` is one process's run; `spawn_train` starts N processes on this machine
(torch.multiprocessing) and returns rank 0's result; `torchrun_train` is the generated torch
script's train, one process of torchrun's; `check_parallel` refuses, before any work, a
process count the backend or this machine cannot run. No communication of our own: one
all_reduce per step.
"""
import importlib.util
import os
import socket

import numpy as np

from ..codegen.backends import BACKENDS, BackendError
from .trainer import (Diverged, TrainingError, check_history, check_memory, check_options,
                      check_output, fit, init_params, train)


# What one spawned process holds before any data: Python, torch and its gloo group are 230 MB
# resident (measured, torch 2.x CPU), about 280 MB with the kernels and the trainer loaded.
PROCESS_MEMORY = 280 * 2**20


def check_parallel(nproc, backend, device=None):
    """Refuse `nproc` processes (nproc != 1) the run cannot have: not a positive integer, a
    backend whose record does not train data-parallel, more processes than CPU cores on the
    CPU, or more memory than is available now (PROCESS_MEMORY each); the message gives the
    figures."""
    if nproc == 1:
        return
    b = BACKENDS.get(backend)
    takers = " or ".join(n for n, x in BACKENDS.items() if x.parallel)
    if b is None or not b.parallel or isinstance(nproc, bool) or \
            not isinstance(nproc, int) or nproc < 1:
        raise BackendError(f"nproc must be a positive integer, with the {takers} backend; not "
                           f"{nproc!r} with {backend}",
                           cli=f"--nproc takes a positive integer and --backend {takers}, not "
                               f"{nproc!r} with --backend {backend}")
    cores = _cores()
    if not str(device or "cpu").startswith("cuda") and nproc > cores:
        raise BackendError(f"nproc={nproc} processes on the CPU, but this machine has {cores} "
                           f"core{'s' * (cores != 1)}: give nproc {cores} or fewer",
                           cli=f"--nproc {nproc} on the CPU, but this machine has {cores} "
                               f"core{'s' * (cores != 1)}: give --nproc {cores} or fewer")
    free = available_memory()
    need = nproc * PROCESS_MEMORY
    if free is not None and need > free:
        most = max(1, free // PROCESS_MEMORY)
        raise BackendError(f"{nproc} processes need about {need / 2**30:.1f} GiB (about "
                           f"{PROCESS_MEMORY // 2**20} MB each, before the data), but only "
                           f"{free / 2**30:.1f} GiB of memory is available: give nproc {most} "
                           "or fewer",
                           cli=f"--nproc {nproc}: {nproc} processes need about "
                               f"{need / 2**30:.1f} GiB (about {PROCESS_MEMORY // 2**20} MB "
                               f"each, before the data), but only {free / 2**30:.1f} GiB of "
                               f"memory is available: give --nproc {most} or fewer")


def _cores():
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:      # not on Linux
        return os.cpu_count() or 1


def available_memory():
    """Bytes of memory available now (Linux: MemAvailable, page cache counted), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):     # not on this system: do not guess
        return None


class Sharded:
    """The kernel module k seen by process `rank` of `world` (see the module docstring)."""

    def __init__(self, k, rank, world):
        self.k, self.rank, self.world = k, rank, world

    def __getattr__(self, name):
        return getattr(self.k, name)

    def loss_and_gradients(self, X, Y, *args, masks=None):
        """The loss and gradients of the whole batch X, Y, from this process's shard of it.

        A shard of n_r of the batch's n samples counts n_r/n of a mean loss (λ kept), and all
        of a summed one (then λ is scaled by n_r/n): the weighted terms sum to the batch's."""
        import torch
        import torch.distributed as dist
        k, axis = self.k, self.k.SAMPLE_AXIS
        n = X.shape[axis]
        lo, hi = n * self.rank // self.world, n * (self.rank + 1) // self.world
        params, lam = (args[:-1], args[-1]) if k.L2 else (args, None)
        trained = params[:sum(p["kind"] != "running" for p in k.PARAMS)]   # not batch norm's
        # dropout's masks, this shard's columns; batch norm's statistics are the shard's own
        # (as data-parallel torch without SyncBatchNorm)
        kw = {} if masks is None else {"masks": tuple(m.narrow(1, lo, hi - lo) for m in masks)}
        share = (hi - lo) / n
        weight = share if k.REDUCTION == "mean" else 1.0
        if lam is not None and k.REDUCTION != "mean":
            lam = lam * share
        if hi > lo:
            L, grads = k.loss_and_gradients(X.narrow(axis, lo, hi - lo),
                                            Y.narrow(axis, lo, hi - lo), *params,
                                            *(() if lam is None else (lam,)), **kw)
        else:       # fewer samples than processes: this one holds none of the batch
            L, grads = torch.zeros((), dtype=X.dtype, device=X.device), \
                [torch.zeros_like(p) for p in trained]
        buf = torch.cat([L.reshape(1)] + [g.reshape(-1) for g in grads]) * weight
        dist.all_reduce(buf)
        out, at = [], 1
        for p in trained:
            out.append(buf[at:at + p.numel()].view(p.shape))
            at += p.numel()
        return buf[0], tuple(out)


def run_shard(k, rank, world, X, y, X_test, y_test, output, log=True, **options):
    """One process's part of a data-parallel run, in an initialised process group: rank 0
    trains, logs and saves as train/trainer.py's train does and returns (params, history,
    note); the others follow the same steps silently and return None."""
    sk = Sharded(k, rank, world)
    if rank == 0:
        return train(sk, X, y, X_test, y_test, output, log=log, **options)
    seed, dtype = options.get("seed", 0), options.get("dtype", "float64")
    params = init_params(sk, np.random.default_rng(seed), np.dtype(dtype))
    fit_options = {key: v for key, v in options.items()
                   if key in ("epochs", "batch_size", "lr", "optimizer", "lam", "seed")}
    try:
        fit(sk, params, X, y, X_test, y_test, log=None, **fit_options)
    except Diverged:      # rank 0 saw the same all-reduced loss and says so
        pass
    return None


def torchrun_train(k, X, y, X_test, y_test, output, device="cpu", **options):
    """train/trainer.py's train for the generated torch script: on `device`, and under
    torchrun (WORLD_SIZE > 1) data-parallel, each process on cuda:LOCAL_RANK for a cuda
    device; rank 0 returns the result, the other processes end when the run ends."""
    import torch
    import torch.distributed as dist
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        k.DEVICE = torch.device(device)
        return train(k, X, y, X_test, y_test, output, **options)
    cuda = device.startswith("cuda")
    k.DEVICE = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if cuda else \
        torch.device("cpu")
    dist.init_process_group("nccl" if cuda else "gloo")
    try:
        result = run_shard(k, int(os.environ["RANK"]), world, X, y, X_test, y_test, output,
                           **options)
    finally:
        dist.destroy_process_group()
    if result is None:
        raise SystemExit(0)
    return result


def _load(path):
    spec = importlib.util.spec_from_file_location("matcalc_kernels_shard", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _worker(rank, world, path, device, port, queue, data, output, log, options):
    """One spawned process: join the group (gloo on CPU, NCCL on GPU), run its shard, and
    hand rank 0's result (or its TrainingError) back through the queue."""
    import torch
    import torch.distributed as dist
    k = _load(path)
    if not device.startswith("cuda"):    # the cores shared out, not each process using all
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    else:
        k.DEVICE = torch.device("cuda", rank % torch.cuda.device_count())
        torch.cuda.set_device(k.DEVICE)
    dist.init_process_group("nccl" if device.startswith("cuda") else "gloo",
                            init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        result = run_shard(k, rank, world, *data, output, log=log, **options)
        if rank == 0:
            queue.put(("ok", result))
    except TrainingError as e:
        if rank == 0:
            queue.put(("error", (str(e), getattr(e, "saved", False))))
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn_train(k, X, y, X_test, y_test, output, nproc=2, device="cpu", log=True, **options):
    """Train with `nproc` processes on this machine (torch kernels k, compiled to a file);
    returns rank 0's (params, history, note). The options are those of train/trainer.py's
    train; they and the output are checked here first, so that no process fails alone while
    the others wait."""
    import torch.multiprocessing as mp
    check_options(options.get("epochs", 30), options.get("batch_size", 32),
                  options.get("lr", 0.1), options.get("lam", 0.0),
                  options.get("optimizer", "sgd"), options.get("names"))
    check_output(output)
    if options.get("history_path") is not None:
        check_history(options["history_path"], output)
    check_memory(k, options.get("dtype", "float64"), options.get("batch_size", 32))
    queue = mp.get_context("spawn").SimpleQueue()
    # the children log to the stderr they inherit; a file object cannot travel to them
    mp.spawn(_worker, args=(nproc, str(k.path), device, _free_port(), queue,
                            (X, y, X_test, y_test), os.fspath(output),
                            True if log is not None else None,
                            options),
             nprocs=nproc, join=True)
    status, value = queue.get()
    if status == "error":
        err = TrainingError(value[0])
        err.saved = value[1]
        raise err
    return value
