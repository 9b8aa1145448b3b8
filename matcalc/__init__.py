"""matcalc: symbolic matrix calculus for neural networks.

The data flows top to bottom; each folder imports only from the folders above it.

    text / Python                        model spec (layers, activations, loss)
         │                                    │
    parse/     text → expression (ast whitelist, shapes inferred)
    core/      expressions (nodes, canonical constructors), functions, programs, errors
         │                                    │
    calculus/  differential table → adjoint table (trace moves) → reverse sweep → simplify
         │                                    │
    nn/        model → network (forward program, parameters as data) → textbook backprop
         │
    printing/  text, LaTeX, NumPy (SymPy printers, class dispatch); reports
    codegen/   NumPy functions and kernel modules
    train/     data, trainer (SGD/Adam, checkpoints), the standalone script
    verify/    beside the path: evaluator, exact proof (sympy.diff), numeric proof

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
