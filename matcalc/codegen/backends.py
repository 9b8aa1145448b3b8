"""The array libraries a kernel module can be printed for: NumPy, PyTorch, JAX.

Codegen (stage 5). One Backend record per library: its printer (printing/numpy.py,
printing/torch.py, printing/jax.py), the import lines of the module, and the runtime a trainer
needs beyond the two kernels: `asarray` (a NumPy array → the library's array, on its
device), `to_numpy`, `take` (a batch of samples) and UPDATES (SGD with momentum and Adam
as the library updates in place, or, for JAX's immutable arrays, as jitted functions whose
results are put back into the lists; named apart from the trainer's own, which the
standalone script holds too). train/trainer.py falls back to NumPy's own for a module
without them, so the NumPy kernels need none. The gradients in every backend are matcalc's
derived formulas; no backend uses the library's autograd.
"""
import importlib
from dataclasses import dataclass

from ..core.errors import MatcalcError
from ..printing.jax import MatcalcJaxPrinter
from ..printing.numpy import MatcalcNumPyPrinter, numpy_helpers
from ..printing.torch import MatcalcTorchPrinter

__all__ = ["Backend", "BACKENDS", "backend", "BackendError"]


class BackendError(MatcalcError, ValueError):
    """A backend that is unknown, not installed, or asked for a device it cannot use."""


_TORCH_RUNTIME = '''\
# ---- the trainer's side of the boundary (train/trainer.py): tensors stay on DEVICE
DEVICE = torch.device("cpu")     # compile(…, device=) and the script's --device set it


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
    if not state:
        state["v"] = [jnp.zeros_like(p) for p in params]
    params[:], state["v"] = _sgd(list(params), list(grads), state["v"], lr, momentum)


def update_adam(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam (Kingma & Ba, 2015) with bias-corrected moments."""
    if not state:
        state.update(t=0, m=[jnp.zeros_like(p) for p in params],
                     v=[jnp.zeros_like(p) for p in params])
    state["t"] += 1
    c1, c2 = 1 - beta1 ** state["t"], 1 - beta2 ** state["t"]
    params[:], state["m"], state["v"] = _adam(list(params), list(grads), state["m"],
                                              state["v"], lr, c1, c2, beta1, beta2, eps)


UPDATES = {"sgd": update_sgd, "adam": update_adam}
'''


@dataclass(frozen=True)
class Backend:
    """How kernels are printed and run for one array library."""
    name: str
    title: str            # the library's name in the module docstring
    package: str          # what must import for the kernels to run
    install: str          # how to get it
    printer: type
    imports: tuple        # the module's import lines
    runtime: str = ""     # source after the kernels (see the module docstring)
    inplace: bool = True  # may generated lines update arrays in place

    def helpers(self, names):
        """Source of the helper functions the printed lines call."""
        return numpy_helpers(names, self.printer.HELPERS) if names else ""


BACKENDS = {
    "numpy": Backend("numpy", "NumPy", "numpy", "pip install numpy", MatcalcNumPyPrinter,
                     ("import numpy as np",)),
    "torch": Backend("torch", "PyTorch", "torch",
                     "pip install 'matcalc-nn[torch]' (the CPU build: pip install torch "
                     "--index-url https://download.pytorch.org/whl/cpu)",
                     MatcalcTorchPrinter, ("import numpy as np", "import torch"),
                     _TORCH_RUNTIME),
    "jax": Backend("jax", "JAX", "jax", "pip install 'matcalc-nn[jax]'", MatcalcJaxPrinter,
                   ("import numpy as np", "import jax", "import jax.numpy as jnp", "",
                    "# float64 arrays stay float64 (JAX computes in 32 bits unless told)",
                    'jax.config.update("jax_enable_x64", True)'),
                   _JAX_RUNTIME, inplace=False),
}


def backend(name, device=None, check=True):
    """The Backend called `name`; with check, its library is imported (BackendError when it is
    missing) and `device` is checked: torch takes cpu or cuda[:i], JAX chooses its own.

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
    if device not in (None, "cpu") and name != "torch":
        raise BackendError(f"device {device!r} is for the torch backend; {b.title} chooses its "
                           "device itself" + (" (JAX_PLATFORMS=cpu or cuda)" if name == "jax"
                                              else ""),
                           cli=f"--device {device} is for --backend torch; {b.title} chooses "
                               "its device itself" + (" (JAX_PLATFORMS=cpu or cuda)"
                                                      if name == "jax" else ""))
    if not check:
        return b
    try:
        lib = importlib.import_module(b.package)
    except ImportError:
        raise BackendError(f"the {name} backend needs {b.title}, which is not installed: "
                           f"{b.install}") from None
    if name == "torch" and device not in (None, "cpu"):
        try:
            dev = lib.device(device)
        except (RuntimeError, TypeError):
            raise BackendError(f"device {device!r} is not a torch device; give cpu, cuda or "
                               "cuda:N") from None
        if dev.type == "cuda" and not lib.cuda.is_available():
            raise BackendError(f"device {device!r}: PyTorch sees no CUDA device here "
                               "(torch.cuda.is_available() is False); use cpu")
        if dev.type not in ("cpu", "cuda"):
            raise BackendError(f"device {device!r}: the torch backend runs on cpu or cuda")
    return b
