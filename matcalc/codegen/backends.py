"""The array libraries a kernel module can be printed for: one Backend record per library.

Codegen (stage 5). A record holds everything that differs between NumPy, PyTorch and JAX:
its printer (printing/numpy.py, printing/torch.py, printing/jax.py; imported when first used,
so that reading the records — the CLI's --backend choices — needs no SymPy), the import
lines of the module, the functions and helpers its printer deliberately does not spell
(`refused`, checked by tests/test_backend_tables.py), its device rule, its data-parallel
parts, what its standalone script adds, and the runtime a trainer needs beyond the two
kernels: `asarray` (a NumPy array → the library's array, on its device), `to_numpy`, `take`
(a batch of samples) and UPDATES (SGD with momentum and Adam as the library updates in place,
or, for JAX's immutable arrays, as jitted functions whose results are put back into the
lists; named apart from the trainer's own, which the standalone script holds too).
train/trainer.py falls back to NumPy's own for a module without them, so the NumPy kernels
need none. The gradients in every backend are matcalc's derived formulas; no backend uses
the library's autograd. Adding a backend is one record here plus its printer; no code
outside this file compares backend names.
"""
import importlib
import inspect
from dataclasses import dataclass, field
from typing import Callable

from ..core.errors import MatcalcError

__all__ = ["Backend", "BACKENDS", "backend", "BackendError", "Script", "device_help"]


class BackendError(MatcalcError, ValueError):
    """A backend that is unknown, not installed, or asked for a device it cannot use."""


def torch_device(name):
    """torch.device(name) for the torch backend: cpu, cuda or cuda:N, the CUDA device present;
    ValueError, saying what to give, otherwise (the torch script copies this source)."""
    import torch
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"device {name!r} is not a torch device; give cpu, cuda or "
                         "cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r}: PyTorch sees no CUDA device here "
                         "(torch.cuda.is_available() is False); use cpu")
    if dev.type == "cuda" and dev.index is not None and \
            dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {name!r}: PyTorch sees {torch.cuda.device_count()} CUDA "
                         f"device(s) here, cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device {name!r}: the torch backend runs on cpu or cuda")
    return dev


# The runtime's device check is torch_device's own source: one rule for compile and script.
_TORCH_RUNTIME = '''\
# ---- the trainer's side of the boundary (train/trainer.py): tensors stay on DEVICE
DEVICE = torch.device("cpu")     # compile(…, device=) and the script's --device set it


''' + inspect.getsource(torch_device) + '''

def set_device(name):
    """Run on the torch device `name`: ValueError, saying what to give, for one that is not
    a torch device or not on this machine."""
    global DEVICE
    DEVICE = torch_device(name)


def asarray(a):
    """A NumPy array -> a tensor of its dtype on DEVICE."""
    return torch.as_tensor(a, device=DEVICE)


def to_numpy(a):
    """A tensor -> a NumPy array on the host."""
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def take(X, idx, axis):
    """The samples idx (a NumPy index array) of X along axis, on X's device."""
    return X.index_select(axis, torch.as_tensor(idx, device=X.device))


def update_sgd(params, grads, state, lr, momentum=0.9):
    """v <- mu v - lr g;  theta <- theta + v, in place."""
    if not state:
        state["v"] = [torch.zeros_like(p) for p in params]
    for p, g, v in zip(params, grads, state["v"]):
        v.mul_(momentum).sub_(g, alpha=lr)
        p.add_(v)


def update_adam(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam (Kingma & Ba, 2015) with bias-corrected moments, in place."""
    if not state:
        state.update(t=0, m=[torch.zeros_like(p) for p in params],
                     v=[torch.zeros_like(p) for p in params])
    state["t"] += 1
    c1, c2 = 1 - beta1 ** state["t"], 1 - beta2 ** state["t"]
    for p, g, m, v in zip(params, grads, state["m"], state["v"]):
        m.mul_(beta1).add_(g, alpha=1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        p.sub_(lr * (m / c1) / (torch.sqrt(v / c2) + eps))


UPDATES = {"sgd": update_sgd, "adam": update_adam}
'''

_JAX_RUNTIME = '''\
# ---- compiled once per shape by XLA; the trainer's side of the boundary (train/trainer.py)
predict = jax.jit(predict)
loss_and_gradients = jax.jit(loss_and_gradients)


def asarray(a):
    """A NumPy array -> a JAX array of its dtype on JAX's default device."""
    return jnp.asarray(a)


def to_numpy(a):
    """A JAX array -> a NumPy array on the host."""
    return np.asarray(a)


def take(X, idx, axis):
    """The samples idx (a NumPy index array) of X along axis."""
    return jnp.take(X, jnp.asarray(idx), axis=axis)


@jax.jit
def _sgd(params, grads, vs, lr, momentum):
    vs = [momentum * v - lr * g for v, g in zip(vs, grads)]
    return [p + v for p, v in zip(params, vs)], vs


@jax.jit
def _adam(params, grads, ms, vs, lr, c1, c2, beta1, beta2, eps):
    ms = [beta1 * m + (1 - beta1) * g for m, g in zip(ms, grads)]
    vs = [beta2 * v + (1 - beta2) * g * g for v, g in zip(vs, grads)]
    new = [p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps) for p, m, v in zip(params, ms, vs)]
    return new, ms, vs


def update_sgd(params, grads, state, lr, momentum=0.9):
    """v <- mu v - lr g;  theta <- theta + v: new arrays (JAX's are immutable) put back
    into the lists."""
    n = len(grads)          # the trained ones: batch norm's running values follow them
    if not state:
        state["v"] = [jnp.zeros_like(p) for p in params[:n]]
    params[:n], state["v"] = _sgd(list(params[:n]), list(grads), state["v"], lr, momentum)


def update_adam(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam (Kingma & Ba, 2015) with bias-corrected moments."""
    n = len(grads)          # the trained ones: batch norm's running values follow them
    if not state:
        state.update(t=0, m=[jnp.zeros_like(p) for p in params[:n]],
                     v=[jnp.zeros_like(p) for p in params[:n]])
    state["t"] += 1
    c1, c2 = 1 - beta1 ** state["t"], 1 - beta2 ** state["t"]
    params[:n], state["m"], state["v"] = _adam(list(params[:n]), list(grads), state["m"],
                                               state["v"], lr, c1, c2, beta1, beta2, eps)


UPDATES = {"sgd": update_sgd, "adam": update_adam}
'''


@dataclass(frozen=True)
class Script:
    """What a backend's standalone script (train/script.py) adds to the NumPy one."""
    title: str                 # "Train a … network with TITLE"
    needs: str                 # what it needs installed, for `matcalc codegen`'s last line
    arguments: str = ""        # argparse lines of its own options ({device}: the default)
    train: str = "train"       # the function main trains with (trainer.py's, or PARTS')
    options: str = ""          # the keyword arguments main passes it beyond the trainer's
    parts: tuple = ()          # train/distributed.py parts it copies, verbatim
    usage: str = ""            # a usage line of its own


@dataclass(frozen=True)
class Backend:
    """How kernels are printed and run for one array library (see the module docstring)."""
    name: str
    title: str            # the library's name in messages and the module docstring
    package: str          # what must import for the kernels to run
    install: str          # how to get it
    printer_at: str       # "module:Class" in matcalc/printing, imported when first used
    imports: tuple        # the module's import lines
    script: Script
    runtime: str = ""     # source after the kernels (see the module docstring)
    # The reference: its kernels are the ones the tests prove; the others' are checked
    # against them (codegen/check.py) before they are used or written.
    reference: bool = False
    inplace: bool = False   # kernels planned in place, buffers reused (codegen/plan.py)
    devices: str = ""       # the devices it takes; "" for a library that chooses its own
    device_note: str = ""   # how to choose the device of one that chooses its own
    check_device: Callable = None   # device name -> the library's (ValueError: what to give)
    parallel: bool = False  # trains data-parallel in several processes (train/distributed.py)
    # FUNCTIONS (core/functions.py) and NumPy runtime HELPERS its printer does not spell,
    # each with why: printing one raises NoRuleError; every other one must have a spelling.
    refused: dict = field(default_factory=dict)

    @property
    def printer(self):
        module, cls = self.printer_at.split(":")
        return getattr(importlib.import_module(f"..printing.{module}", __package__), cls)

    def helpers(self, names):
        """Source of the helper functions the printed lines call."""
        from ..printing.runtime import numpy_helpers
        return numpy_helpers(names, self.printer.HELPERS) if names else ""


# What the printers of NumPy-like libraries never ask their HELPERS for: they print these
# nodes with their tables (SOFTMAX's fused kernels, FUNCTIONS) or only NumPy plans them.
_FUSED = {"_logsumexp": "SOFTMAX's fused kernel", "_logsoftmax": "SOFTMAX's fused kernel",
          "_softmax": "SOFTMAX's fused kernel",
          "_softmax_pair": "NumPy's planned kernels only (softmax and log softmax at once)",
          "_sigmoid": "NumPy's planned kernels only (σ in place)",
          "_erf": "the erf record's own spelling (torch.erf, jax.lax.erf)",
          "_pool_offsets": "NumPy's pooling helpers only (the others pool their own way)"}
_UNSPELLED = {"_commutation": "no torch/JAX spelling yet: use the numpy backend",
              "_max_mask": "no torch/JAX spelling yet: use the numpy backend",
              "_polar": "no torch/JAX spelling yet: use the numpy backend",
              "_top_singular": "no torch/JAX spelling yet: use the numpy backend"}

_TORCHRUN = "cpu, cuda or cuda:N (under torchrun, cuda: each process its cuda:LOCAL_RANK)"

BACKENDS = {
    "numpy": Backend("numpy", "NumPy", "numpy", "pip install numpy",
                     "numpy:MatcalcNumPyPrinter", ("import numpy as np",),
                     Script("NumPy alone", "NumPy only"), reference=True, inplace=True),
    "torch": Backend("torch", "PyTorch", "torch",
                     "pip install 'matcalc-nn[torch]' (the CPU build: pip install torch "
                     "--index-url https://download.pytorch.org/whl/cpu)",
                     "torch:MatcalcTorchPrinter", ("import numpy as np", "import torch"),
                     Script("PyTorch (no autograd)", "NumPy and PyTorch",
                            arguments='\n    p.add_argument("--device", default={device!r}, '
                                      f'help="{_TORCHRUN}")',
                            train="torchrun_train", options=", device=args.device",
                            parts=("Sharded", "run_shard", "torchrun_train"),
                            usage="Data-parallel: torchrun --nproc-per-node N THIS_FILE "
                                  "[--device cuda] …"),
                     _TORCH_RUNTIME, devices="cpu, cuda or cuda:N", check_device=torch_device,
                     parallel=True, refused={**_FUSED, **_UNSPELLED}),
    "jax": Backend("jax", "JAX", "jax", "pip install 'matcalc-nn[jax]'",
                   "jax:MatcalcJaxPrinter",
                   ("import numpy as np", "import jax", "import jax.numpy as jnp", "",
                    "# float64 arrays stay float64 (JAX computes in 32 bits unless told)",
                    'jax.config.update("jax_enable_x64", True)'),
                   Script("JAX (no autograd)", "NumPy and JAX"), _JAX_RUNTIME,
                   device_note=" (JAX_PLATFORMS=cpu or cuda)",
                   refused={**_FUSED, **_UNSPELLED}),
}


def device_help():
    """--device's help, from the records: who takes which devices, who chooses its own."""
    takes = [f"{b.name}'s device: {b.devices}" for b in BACKENDS.values() if b.devices]
    own = [b.title for b in BACKENDS.values() if b.device_note]
    return "; ".join(takes) + (f" ({', '.join(own)} chooses its own)" if own else "")


def backend(name, device=None, check=True):
    """The Backend called `name`; with check, its library is imported (BackendError when it is
    missing) and `device` is checked against the record's device rule.

    >>> backend("numpy").title
    'NumPy'
    >>> backend("tensorflow")                     # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    matcalc.codegen.backends.BackendError: unknown backend 'tensorflow'; the backends are ...
    """
    b = BACKENDS.get(name)
    if b is None:
        raise BackendError(f"unknown backend {name!r}; the backends are {', '.join(BACKENDS)}",
                           cli=f"--backend must be one of {', '.join(BACKENDS)}, not {name!r}")
    if device not in (None, "cpu") and b.check_device is None:
        takers = " or ".join(x.name for x in BACKENDS.values() if x.check_device)
        raise BackendError(f"device {device!r} is for the {takers} backend; {b.title} chooses "
                           f"its device itself{b.device_note}",
                           cli=f"--device {device} is for --backend {takers}; {b.title} "
                               f"chooses its device itself{b.device_note}")
    if not check:
        return b
    try:
        importlib.import_module(b.package)
    except ImportError:
        raise BackendError(f"the {name} backend needs {b.title}, which is not installed: "
                           f"{b.install}") from None
    if b.check_device is not None and device not in (None, "cpu"):
        try:
            b.check_device(device)
        except ValueError as e:
            raise BackendError(str(e)) from None
    return b
