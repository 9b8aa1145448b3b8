"""Gradient: ∂f/∂X of a scalar f, with the derivation that produced it.

Results. matcalc computes the gradient in denominator layout (the shape of X, `value`);
`expr` and the forms show it in the result's layout (numerator: its transpose). The NumPy
code is run at the proof's points before it is handed out.
"""
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from .. import verify as verify_module
from ..calculus.steps import Derivation
from ..core.expr import is_matrix
from ..printing import latex as latex_printing
from ..printing.hooks import gradient_steps
from ..printing.text import text
from .base import Result, constraints, layout_of

__all__ = ["Gradient"]


@dataclass
class Gradient(Result):
    """∂f/∂X in denominator layout (the shape of X; `expr` in `layout`), with the derivation
    that produced it."""
    f: sp.Basic
    wrt: sp.MatrixSymbol
    expr: sp.Basic
    derivation: Derivation = field(repr=False)
    assumptions: tuple = ()
    symbols: dict = field(default_factory=dict, repr=False)
    layout: str = "denominator"
    value: sp.Basic = field(init=False, repr=False, compare=False)

    KIND, PREFIX, COMMAND, CANONICAL = "gradient", "grad", "grad", "denominator"
    DISPLAYSTYLE = False

    def shown(self, layout=None):
        """Denominator and mixed (a scalar by a matrix) give the shape of X, numerator its
        transpose."""
        return layout_of(layout or self.layout, True)

    def steps(self):
        """The derivation as text, line by line (a str; Jupyter shows its LaTeX)."""
        return gradient_steps(self)

    def _check_code(self, fn, args, m, src, shown):
        # in numerator layout the code computes Gᵀ: its transpose is put on trial against G
        run = fn if shown == self.CANONICAL or not is_matrix(self.value) \
            else (lambda *a: np.asarray(fn(*a)).T)
        verify_module.verify_code(run, args, self.f, self.wrt, self.value,
                                  assumptions=constraints(self.assumptions), source=src)

    def _prove(self, method, seed, given):
        verify_module.assert_gradient(self.f, self.wrt, self.value, method=method,
                                      assumptions=given, seed=seed)

    def _lhs(self):
        return (f"∂f/∂{text(self.wrt)}",
                f"\\frac{{\\partial f}}{{\\partial {latex_printing.latex(self.wrt)}}}")
