"""matcalc: symbolic matrix calculus for neural networks.

    text / Python ──► expr (SymPy MatrixExpr nodes, shapes checked)      parse.py, expr.py
                        │
                        ▼
                  program  f := expr   (SSA; networks have many lines)    program.py
                        │
                  differential: df, linear in dX      (one rule per node)  differential.py
                  trace moves: tr(Gᵀ L(dX)) = tr(Ḡᵀ dX) (one canonicaliser) adjoint.py
                  reverse sweep over the program                           gradient.py
                        │
                  simplify: collect, assumptions                           simplify.py
                        │
          ┌─────────────┼──────────────┬────────────────┐
        text          LaTeX          NumPy            verify (sympy.diff entrywise,
      printing/      printing/      printing/          central differences)
"""
from .api import Gradient, derive, grad, verify_backprop
from .codegen.kernels import compile
from .nn.spec import mlp
from .core.errors import (MatcalcError, NoRuleError, NotScalarError, ParseError, ShapeError,
                     VerificationError)
from .verify import assert_gradient

__all__ = ["grad", "Gradient", "derive", "mlp", "verify_backprop", "compile", "assert_gradient", "MatcalcError", "ShapeError", "ParseError",
           "NoRuleError", "NotScalarError", "VerificationError"]
