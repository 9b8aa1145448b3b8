"""Jacobian and Hessian: second order reuses first order.

Results. A Jacobian is read off d vec F = J d vec X (calculus/jacobian.py), a Hessian is the
differential (H[V]) or the Jacobian (the matrix) of the proven gradient (calculus/hessian.py).
Each is proven (verify/jacobian.py) before it is shown, and its NumPy code is run against
the evaluator before it is handed out.
"""
from dataclasses import dataclass, field

import sympy as sp

from ..calculus.steps import Derivation
from ..core.expr import is_matrix, shape
from ..printing import latex as latex_printing
from ..printing.text import text
from ..verify.jacobian import verify_hessian, verify_hvp, verify_jacobian, verify_printed
from .base import LAYOUT_WORDS, Result, arguments, constraints, layout_of
from .gradient import Gradient
from .records import dim

__all__ = ["Jacobian", "Hessian"]


def size_text(d):
    """A size for a shape such as (m*n)×p: grouped unless a number or a name."""
    return text(d) if d.is_Atom else f"({text(d)})"


@dataclass
class Jacobian(Result):
    """∂vec F/∂vec Xᵀ of a vector- or matrix-valued F, from d vec F = J d vec X. `value` is
    J in numerator layout (|F| rows, |X| columns); `layout` is how `expr`, text, LaTeX and
    NumPy show it (numerator, denominator: Jᵀ, or mixed: numerator here, denominator for a
    scalar F)."""
    f: sp.Basic
    wrt: sp.MatrixSymbol
    expr: sp.Basic
    derivation: Derivation = field(repr=False)
    layout: str = "numerator"
    assumptions: tuple = ()
    symbols: dict = field(default_factory=dict, repr=False)
    value: sp.Basic = field(init=False, repr=False, compare=False)

    KIND, PREFIX, COMMAND, CANONICAL = "jacobian", "jacobian", "jacobian", "numerator"

    def shown(self, layout=None):
        return layout_of(layout or self.layout, not is_matrix(self.f) or self.f.shape == (1, 1))

    @property
    def shown_layout(self):
        return self.shown()

    def layout_line(self):
        """What J is, its size and F: the line the text output states its layout with."""
        rows, cols = (size_text(d) for d in shape(self.matrix()))
        words = LAYOUT_WORDS[self.shown_layout].format(text(self.wrt))
        return f"{words}; {rows}×{cols}, F = {text(self.f)}"

    def _check_code(self, fn, args, m, src, shown):
        verify_printed(fn, args, m, self.f, self.wrt, assumptions=constraints(self.assumptions),
                       source=src)

    def _prove(self, method, seed, given):
        """Entrywise against sympy.diff of vec(F) and by central differences."""
        verify_jacobian(self.f, self.wrt, self.value, method=method, assumptions=given,
                        seed=seed)

    def _record_parts(self, layout):
        rows, cols = shape(self.matrix(layout))
        return {}, {"rows": dim(rows), "cols": dim(cols)}

    def _lhs(self):
        return ("Jᵀ", "J^{\\top}") if self.shown_layout == "denominator" else ("J", "J")


@dataclass
class Hessian(Result):
    """The Hessian of a scalar f: the product H[V] = d/dε ∇f(X + εV) at 0 (form "product",
    an expression in the direction V, the shape of X), or the matrix ∂²f/∂vec X ∂vec Xᵀ (form
    "matrix", symmetric: the same in every layout). `gradient` is the proven ∇f."""
    gradient: Gradient
    direction: sp.MatrixSymbol
    expr: sp.Basic
    form: str = "product"
    value: sp.Basic = field(init=False, repr=False, compare=False)

    KIND, PREFIX, COMMAND, CANONICAL = "hessian", "hessian", "hessian", "symmetric"

    f = property(lambda self: self.gradient.f)
    wrt = property(lambda self: self.gradient.wrt)
    symbols = property(lambda self: {**self.gradient.symbols,
                                     **({self.direction.name: self.direction}
                                        if self.form == "product" else {})})
    assumptions = property(lambda self: self.gradient.assumptions)

    def shown(self, layout=None):
        return "symmetric"      # H[V] has X's shape; the matrix is symmetric

    def arguments(self):
        args = arguments(self.gradient.f, self.gradient.symbols)
        return args + [self.direction] if self.form == "product" else args

    def _check_code(self, fn, args, m, src, shown):
        verify_printed(fn, args, m, self.f, self.wrt,
                       V=self.direction if self.form == "product" else None,
                       assumptions=constraints(self.assumptions), source=src)

    def verify(self, method="both", seed=0):
        """Prove the gradient it differentiates, then H: the product exactly against sympy.diff
        twice and numerically against central differences of the gradient; the matrix
        entrywise against sympy.diff twice and by second differences of f."""
        self.gradient.verify(method=method, seed=seed)
        super().verify(method, seed)

    def _prove(self, method, seed, given):
        if self.form == "product":
            verify_hvp(self.f, self.wrt, self.direction, self.value, self.gradient.value,
                       method=method, assumptions=given, seed=seed)
        else:
            verify_hessian(self.f, self.wrt, self.value, method=method, assumptions=given,
                           seed=seed)

    def _record_parts(self, layout):
        return ({"form": self.form},
                {"direction": self.direction.name if self.form == "product" else None})

    def _record_layout(self, layout):
        return "symmetric" if self.form == "matrix" else "denominator"

    def _lhs(self):
        if self.form == "product":
            return (f"H[{self.direction.name}]",
                    f"H\\left[{latex_printing.latex(self.direction)}\\right]")
        return "H", "H"
