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

    api.py (grad, jacobian, hessian, check, assert_gradient, derive, train) and cli.py
    (matcalc …) on top.
"""
from .api import (Check, Gradient, Hessian, Jacobian, Trained, assert_gradient, check, derive,
                  grad, hessian, jacobian, train, verify_backprop)
from .codegen.kernels import compile
from .core.errors import (MatcalcError, NoRuleError, NotScalarError, ParseError, ShapeError,
                          VerificationError)
from .nn.cnn import cnn
from .nn.spec import mlp

__all__ = ["grad", "Gradient", "derive", "mlp", "cnn", "verify_backprop", "compile", "train", "Trained",
           "assert_gradient", "check", "Check", "MatcalcError", "ShapeError", "ParseError", "NoRuleError",
           "NotScalarError", "VerificationError", "jacobian", "Jacobian", "hessian", "Hessian"]
