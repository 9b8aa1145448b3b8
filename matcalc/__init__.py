"""matcalc: symbolic matrix calculus for neural networks.

The data flows top to bottom; each folder imports only from the folders above it.

    text / Python                        model spec (layers, activations, loss)
         │                                    │
    parse/     text or SymPy → expression (ast whitelist, shapes inferred, canonical constructors)
    core/      expressions (nodes; conv/pool, kron/vec, max/norm nodes), functions, programs, errors
         │                                    │
    calculus/  differential table → adjoint table (trace moves) → reverse sweep → simplify;
               Jacobians (d vec F = J d vec X) and Hessians (the gradient differentiated again)
         │                                    │
    nn/        model → network (forward program, parameters as data) → textbook backprop
         │
    printing/  text, LaTeX, NumPy, torch, JAX (SymPy printers, class dispatch), SymPy/Jupyter
               hooks; reports
    codegen/   functions and kernel modules (planned in place for NumPy; torch/JAX backends)
    train/     data, trainer (SGD/Adam, checkpoints, history), torch.distributed, the script
    verify/    beside the path: evaluator, exact proof (sympy.diff), numeric proof, comparison

    results/   what the front doors return (Gradient, Jacobian, Hessian on one base; Check, Trained)
    api.py (grad, jacobian, hessian, check, assert_gradient, derive, train; imported when
    first used) and cli/ (matcalc …) on top.
"""
import sys
import types

from .core.errors import (MatcalcError, NoRuleError, NotScalarError, ParseError, ShapeError,
                          VerificationError)

# The front doors, imported when first used (PEP 562): `matcalc --version` and `--help` need
# neither SymPy nor the calculus, and importing matcalc stays cheap until it computes.
_LAZY = {**{name: "api" for name in ("Check", "Gradient", "Hessian", "Jacobian", "Trained",
                                     "assert_gradient", "check", "derive", "grad", "hessian",
                                     "jacobian", "verify_backprop")},
         "compile": "codegen.kernels", "cnn": "nn.cnn", "mlp": "nn.spec"}

__all__ = ["grad", "Gradient", "derive", "mlp", "cnn", "verify_backprop", "compile", "train", "Trained",
           "assert_gradient", "check", "Check", "MatcalcError", "ShapeError", "ParseError", "NoRuleError",
           "NotScalarError", "VerificationError", "jacobian", "Jacobian", "hessian", "Hessian"]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'matcalc' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value           # once: later reads are plain attribute reads
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _Matcalc(types.ModuleType):
    """`matcalc.train` is the function, as it was when this file imported it eagerly: the
    subpackage train/ of the same name is bound here by the import system when first
    imported (by the CLI, say), which this setter ignores; the package stays importable
    (`from matcalc.train import trainer`) through sys.modules."""

    @property
    def train(self):
        from .api import train
        return train

    @train.setter
    def train(self, value):
        pass


sys.modules[__name__].__class__ = _Matcalc
