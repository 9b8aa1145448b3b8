"""What grad, jacobian and hessian return: one base for the text, LaTeX, NumPy, JSON, proof
and display of a derivative.

Results (between train and api). A Result holds f, the variable and the derivative in
the layout matcalc computes it in (`value`: the gradient in denominator layout, J in
numerator layout); `expr` and every form (text, LaTeX, NumPy, JSON) show it in the result's
`layout`, so that `sympy.latex(r.expr) == r.latex()` in every layout. A subclass gives its
layout rule (shown), its proof (_prove), the check of its NumPy code (_check_code) and its
names (KIND, _lhs); the rest is here once.
"""
import sympy as sp

from ..calculus.jacobian import LAYOUTS, transposed
from ..codegen.function import numpy_function
from ..core.errors import ArgumentError, MatcalcError
from ..core.expr import is_matrix
from ..core.functions import T
from ..printing import latex as latex_printing
from ..printing.hooks import notation
from ..printing.text import text
from ..parse import arguments as check_arg
from .records import PROOFS, context, verification

__all__ = ["Result", "constraints", "layout_of", "GRADIENT_LAYOUT_WORDS", "LAYOUT_WORDS"]

GRADIENT_LAYOUT_WORDS = {
    "denominator": "denominator layout: ∂f/∂{0} has the shape of {0}",
    "numerator": "numerator layout: ∂f/∂{0} has the shape of {0}ᵀ (the transpose)",
    "mixed": "mixed layout: a scalar by a matrix is in denominator layout, ∂f/∂{0} has the "
             "shape of {0}",
}
LAYOUT_WORDS = {       # {0}: the variable's own name, as the gradient's and Hessian's lines
    "numerator": "numerator layout: J = ∂vec(F)/∂vec({0})ᵀ, a row per entry of vec(F)",
    "denominator": "denominator layout: Jᵀ = ∂vec(F)ᵀ/∂vec({0}), a row per entry of vec({0})",
}


def layout_of(layout, scalar_f):
    """The layout a result is shown in: mixed is numerator for a vector or matrix F and
    denominator for a scalar f (∂y/∂x is m×n, ∂f/∂X has the shape of X)."""
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise MatcalcError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}",
                           cli=f"--layout takes {'|'.join(LAYOUTS)}, not {layout!r}")
    return ("denominator" if scalar_f else "numerator") if layout == "mixed" else layout


def constraints(assumptions):
    """The verifier's constraints for the simplifier's assumptions: [(name, variable)]."""
    return [(a.constraint, a.var) for a in assumptions if a.constraint]


def is_dim(s, f):
    """Is the scalar symbol s a dimension (it occurs in some shape) rather than a variable?"""
    return any(s in m.shape for m in f.atoms(sp.MatrixSymbol)) and s.is_integer


def arguments(f, symbols):
    """The variables a derivative of f is a function of, in order of appearance in f's text
    (`symbols`); then, by name, the sizes no variable's shape gives (n in
    tr(ones(n, n)) * norm(A))."""
    free = f.atoms(sp.MatrixSymbol) | {s for s in f.free_symbols if not is_dim(s, f) and s != T}
    order = list(symbols)
    order += sorted(str(s) for s in free if str(s) not in order)
    named = {str(s): s for s in free}
    return [named[n] for n in order if n in named]


class Result:      # not "Derivative": SymPy's printers would take it for theirs, by name
    """The shared half of Gradient, Jacobian and Hessian (see the module docstring). A
    subclass is a dataclass with f, wrt, expr (its third field), assumptions, symbols and
    layout, or properties of those names; `value` is set from expr."""

    KIND = ""            # "gradient", "jacobian", "hessian": the JSON key of the forms
    PREFIX = ""          # the generated function's name: PREFIX_X
    COMMAND = ""         # the CLI command whose JSON record to_dict gives
    CANONICAL = ""       # the layout `value` is in

    # ---- layouts: `value` as computed, `expr` and every form in the result's layout

    def __post_init__(self):
        # `value` from `expr` when a result is built (or dataclasses.replace'd) from the form
        # it shows; the front doors build it with `of`, from the exact value
        self.value = self.expr if self.shown() == self.CANONICAL or not is_matrix(self.expr) \
            else transposed(self.expr)
        self.expr = notation(self.expr)      # SymPy's printers print it as matcalc does

    def __setstate__(self, state):
        # SymPy pickles no instance attributes: an unpickled expr gets its notation again
        self.__dict__.update(state)
        self.expr = notation(self.expr)

    @classmethod
    def of(cls, *args, **kwargs):
        """The result whose `expr` argument is the derivative as computed (CANONICAL
        layout): `expr` becomes its form in the result's layout."""
        r = cls(*args, **kwargs)
        r.value = value = kwargs.get("expr", args[2] if len(args) > 2 else None)
        r.expr = notation(r._in(value, r.shown()))
        return r

    def _in(self, value, shown):
        return value if shown == self.CANONICAL or not is_matrix(value) else transposed(value)

    def shown(self, layout=None):
        """The layout `layout` (the result's own by default) means for this result."""
        raise NotImplementedError

    def matrix(self, layout=None):
        """The derivative in `layout` (the result's own by default): `expr` in its own."""
        shown = self.shown(layout)
        return self.expr if shown == self.shown() else self._in(self.value, shown)

    def text(self, layout=None):
        return text(self.matrix(layout))

    def latex(self, layout=None):
        return latex_printing.latex(self.matrix(layout))

    # ---- NumPy code, run against the proof's points before it is handed out

    def arguments(self):
        """The variables the derivative is a function of (see `arguments` above)."""
        return arguments(self.f, self.symbols)

    def numpy_source(self, name=None, layout=None):
        return self._numpy(name, layout)[0]

    def numpy(self, name=None, layout=None):
        """A NumPy function of the variables (in arguments' order) computing the derivative."""
        return self._numpy(name, layout)[1]

    def _numpy(self, name, layout=None):
        """(source, function), the function run at the proof's points and compared with the
        derivative's value there before either is handed out (InternalError if they differ)."""
        args = self.arguments()
        m = self.matrix(layout)
        src, fn = numpy_function(m, args, name=name or f"{self.PREFIX}_{self.wrt.name}")
        self._check_code(fn, args, m, src, self.shown(layout))
        return src, fn

    def _check_code(self, fn, args, m, src, shown):
        """Run the code `fn` of m (the derivative in the layout `shown`) at the proof's points
        against the derivative (InternalError naming the entry if it differs)."""
        raise NotImplementedError

    # ---- proof

    def verify(self, method="both", seed=0):
        """Prove the derivative (`method`: both, exact or numeric); raises VerificationError
        naming the offending entry if it is wrong."""
        if not isinstance(method, str) or method not in PROOFS:
            raise ArgumentError(f"verify: method must be one of {', '.join(PROOFS)}, not "
                                f"{method!r}")
        check_arg.seed("verify", seed)
        self._prove(method, seed, constraints(self.assumptions))

    def _prove(self, method, seed, given):
        raise NotImplementedError

    # ---- JSON (the CLI's --format json; records.py)

    def to_dict(self, verified="both", layout=None):
        """The JSON record of `matcalc COMMAND --format json`: what was asked, the forms in
        `layout` (the result's own by default), the context and the proof run before
        (`verified`, a key of records.PROOFS or "none")."""
        forms = {"text": self.text(layout), "latex": self.latex(layout),
                 "numpy": self.numpy_source(layout=layout)}
        head, tail = self._record_parts(layout)
        return {"command": self.COMMAND, "expression": text(self.f), "wrt": text(self.wrt),
                **head, self.KIND: forms, **tail,
                **context(self.arguments(), self.assumptions, self._record_layout(layout)),
                "verification": verification(verified)}

    def _record_parts(self, layout):
        """The keys a record has before and after its forms (the Hessian's form, J's size)."""
        return {}, {}

    def _record_layout(self, layout):
        return self.shown(layout)

    # ---- display: print, Jupyter, SymPy's printers

    def _lhs(self):
        """(text, LaTeX) of the left-hand side: ∂f/∂X, J, Jᵀ, H[V]."""
        raise NotImplementedError

    DISPLAYSTYLE = True

    def __str__(self):
        return f"{self._lhs()[0]} = {self.text()}"

    def _repr_latex_(self):
        style = "\\displaystyle " if self.DISPLAYSTYLE else ""
        return f"${style}{self._latex(None)}$"

    # SymPy's printers ask an object for its own form first; otherwise they would print a
    # Gradient with their method for sympy.vector's Gradient, and fail.
    def _latex(self, printer):
        return f"{self._lhs()[1]} = {self.latex()}"

    def _pretty(self, printer):
        return printer._print(str(self))
