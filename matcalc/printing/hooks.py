r"""SymPy's printers and Jupyter's display, for every matcalc object; SymPy's own stay SymPy's.

Printing (stage 4). A SymPy printer first asks the object to print itself (`_latex`,
`_sympystr`, `_pretty`, `_sympyrepr`, `_numpycode`, `_pythoncode`, with the printer as
argument) and only then dispatches on class *names* (Printer._print in
sympy/printing/printer.py), so a matcalc node named like a SymPy class (Differential, as
sympy.diffgeom's) was printed by the other's method and raised. At import this module gives
matcalc's own node classes those methods: LaTeX and code answer with matcalc's printers
(A^{\top}, \odot; NumPy code calling the helpers of printing/runtime.py), str, repr and pretty
keep SymPy's form, skipping the namesakes' methods. SymPy's own classes (MatMul, Transpose,
HadamardProduct …) are left as SymPy prints them: a library does not re-skin another for the
whole process. What matcalc hands out as a result carries matcalc's notation itself
(`notation`: its root, an equal copy, answers `_latex` and the code printers), so that
`sympy.latex(g.expr) == g.latex()` and `sympy.lambdify(args, g.expr)` runs matcalc's code.
`install_sympy_notation()` is the one opt-in that prints every SymPy matrix expression of the
process in matcalc's notation. Lower stages do not import printers, so the Jupyter reprs of
programs, derivations and backprops are installed here as well (as core/errors.py lets the
text printer install itself).
"""
from types import MethodType

import sympy as sp

from ..calculus.steps import Derivation
from ..core.kron import KRON_NODES
from ..core.nodes import NODES
from ..core.program import Assignment, Program
from ..core.structure import STRUCTURE_NODES
from ..nn.backprop import Backprop
from ..nn.sequences import StepSum  # noqa: F401  (defined before install() gives it the hooks)
from .latex import MatcalcLatexPrinter, latex
from .numpy import MatcalcNumPyPrinter
from .report import (align, escape, gradient_names, gradient_steps_text, program_latex,
                     steps_latex)

__all__ = ["install", "install_sympy_notation", "notation", "own_classes", "Rendered",
           "gradient_steps", "RUNTIME"]

RUNTIME = "matcalc.printing.runtime"       # where lambdify imports np and the helpers from


def _own(cls):
    return cls.__module__.split(".")[0] == "matcalc"


def _dispatch(printer, e, skip_own, **kwargs):
    """What `printer` prints for e by its class methods alone (step 2 of Printer._print),
    skipping the names of matcalc's classes: a method named after one is a namesake's."""
    for cls in type(e).__mro__:
        if skip_own and _own(cls):
            continue
        method = getattr(printer, "_print_" + cls.__name__, None)
        if method is not None:
            return method(e, **kwargs)
    return printer.emptyPrinter(e)


def _latex_settings(printer):
    return {k: v for k, v in printer._settings.items()
            if k in MatcalcLatexPrinter._default_settings and k != "layout"}


def _latex_hook(self, printer, exp=None, **kwargs):
    """matcalc's LaTeX of the whole subtree; SymPy's where matcalc's printer has no rule."""
    try:
        s = MatcalcLatexPrinter(_latex_settings(printer))._print(self)
    except Exception:    # a display hook never raises: SymPy's own form instead
        if exp is not None:
            kwargs["exp"] = exp
        return _dispatch(printer, _inside(self), _own(type(self)), **kwargs)
    return s if exp is None else "%s^{%s}" % (s, exp)


def _code_hook(self, printer, **kwargs):
    """matcalc's NumPy code of the subtree (its names recorded for lambdify's namespace);
    for a SymPy class without a matcalc rule, SymPy's own; a matcalc node without one
    raises NoRuleError, as strict code printers do (partial code is worse than none)."""
    inner = MatcalcNumPyPrinter()
    try:
        code = inner.doprint(self)
    except Exception:
        if _own(type(self)):
            raise
        return _dispatch(printer, _inside(self), False, **kwargs)
    imports = getattr(printer, "module_imports", None)
    if imports is not None:
        imports[RUNTIME] = set(imports.get(RUNTIME, ())) | {"np", *inner.helpers_used}
    return code


def _generic_hook(self, printer, **kwargs):
    """SymPy's own form of a matcalc node (Elementwise(exp(_t), X), Differential(X))."""
    return _dispatch(printer, self, True, **kwargs)


_OWN_HOOKS = {"_latex": _latex_hook, "_numpycode": _code_hook, "_pythoncode": _code_hook,
              "_sympystr": _generic_hook, "_sympyrepr": _generic_hook,
              "_pretty": _generic_hook}
_SYMPY_HOOKS = {"_latex": _latex_hook, "_numpycode": _code_hook, "_pythoncode": _code_hook}


def own_classes():
    """Every SymPy class matcalc defines (nodes, their private bases), but not the scalar
    functions of functions.py, which SymPy prints as functions already."""
    found, todo = {}, [sp.Basic]        # a dict: the classes in the order they are found
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found[sub] = None
                todo.append(sub)
    return [c for c in found if _own(c) and not issubclass(c, sp.Function)]


def install(classes=None):
    """Give matcalc's node classes (own_classes() by default) SymPy's print methods, as the
    module docstring says; a SymPy class among `classes` gets the LaTeX and code methods."""
    for cls in own_classes() if classes is None else classes:
        for name, hook in (_OWN_HOOKS if _own(cls) else _SYMPY_HOOKS).items():
            setattr(cls, name, hook)


def sympy_classes():
    """SymPy's classes in matcalc's closed node set (MatMul, Transpose, Trace …)."""
    return [c for c in NODES + STRUCTURE_NODES + KRON_NODES
            if not _own(c) and c is not sp.MatrixSymbol]


def install_sympy_notation():
    r"""Print SymPy's own matrix expressions in matcalc's notation, for the whole process:
    `sympy.latex(A.T*B)` reads A^{\top} B, `sympy.pycode(A*B)` reads A @ B. Opt-in; matcalc
    never calls it.

    >>> import sympy
    >>> A = sympy.MatrixSymbol('A', 2, 2)
    >>> install_sympy_notation()      # doctest: +SKIP
    >>> sympy.latex(A.T * A)          # doctest: +SKIP
    'A^{\\top} A'
    """
    install(sympy_classes())


def _fresh(e, args):
    """A new node of e's class with `args`, equal to e but no other object: SymPy's
    constructors may hand back a cached instance, which others share."""
    new = sp.Basic.__new__(type(e), *args)
    if hasattr(e, "__dict__"):
        new.__dict__.update(e.__dict__)        # what the constructor set (_shape)
    for cls in type(e).__mro__:     # slot fields the constructor sets (is_commutative)
        for name in getattr(cls, "__slots__", ()):
            if name not in ("_mhash", "_args", "_assumptions") and hasattr(e, name):
                setattr(new, name, getattr(e, name))
    return new


def _inside(e):
    """A node SymPy prints its own way, its arguments still in matcalc's notation (a result's
    SymPy node matcalc has no rule for: M² Mᵀ reads M^{2} M^{\\top})."""
    return e if _own(type(e)) else _fresh(e, [notation(a) for a in e.args])


def notation(e):
    r"""e as matcalc hands it out: equal to e, and printed by SymPy's printers (latex, pycode,
    lambdify, Jupyter) as matcalc prints it. Its root is a copy that carries the LaTeX and code
    methods itself (a node without room for them, a scalar product or sum, passes the copy
    down to its arguments); SymPy's classes and every other object are untouched.

    >>> import sympy
    >>> A = sympy.MatrixSymbol('A', 2, 3)
    >>> sympy.latex(A.T * A), sympy.latex(notation(A.T * A))
    ('A^{T} A', 'A^{\\top} A')
    >>> notation(A.T * A) == A.T * A
    True
    """
    if not isinstance(e, sp.Basic) or _own(type(e)) or not e.args:
        return e           # matcalc's nodes print as matcalc's; a leaf prints alike in both
    if not hasattr(e, "__dict__"):
        return _fresh(e, [notation(a) for a in e.args])
    new = _fresh(e, e.args)
    for name, hook in _SYMPY_HOOKS.items():
        setattr(new, name, MethodType(hook, new))
    return new


# ---------------------------------------------------------------- Jupyter

class Rendered(str):
    """Text that Jupyter shows as LaTeX; str, print and comparison see the text."""

    def __new__(cls, plain, tex=None):     # tex=None: as unpickling calls it
        s = super().__new__(cls, plain)
        s.tex = tex
        return s

    def _repr_latex_(self):
        return self.tex

    def _repr_pretty_(self, p, cycle):   # IPython's plain text: the lines, not a quoted repr
        p.text(str(self))


def gradient_steps(g):
    """The derivation of a Gradient (api.py): text to print, LaTeX rows in Jupyter."""
    rows = steps_latex(g.derivation)
    last = r"\frac{\partial f}{\partial %s} &= %s" % (latex(g.wrt), g.latex())
    return Rendered(gradient_steps_text(g), align(rows + " \\\\\n" + last if rows else last))


def _display(tex):
    return "$\\displaystyle %s$" % tex


def _assignment_latex(self):
    return _display(f"{latex(self.name)} = {latex(self.expr)}")


def _program_latex(self):
    return align(program_latex(self)) if len(self) else None


def _derivation_latex(self):
    rows = steps_latex(self)
    return align(rows) if rows else None


def _backprop_latex(self):
    subs = self.model.concrete()        # the network's sizes, not its internal d1, d2
    rows = program_latex(self.forward, subs=subs) + " \\\\\n" + \
        program_latex(self.backward, names=gradient_names(self), subs=subs)
    if self.assumptions:
        given = "; ".join(str(a) for a in self.assumptions)
        rows += " \\\\\n" + r"&\text{given that %s}" % escape(given)
    return align(rows)


def _backprop_markdown(self):
    subs = self.model.concrete()
    parts = ["**Forward pass**", align(program_latex(self.forward, subs=subs)),
             "**Backward pass** (denominator layout: ∂L/∂W has the shape of W)",
             align(program_latex(self.backward, names=gradient_names(self), subs=subs))]
    if self.assumptions:
        parts.append("given that " + "; ".join(str(a) for a in self.assumptions))
    return "\n\n".join(parts)


def _install_display():
    Assignment._repr_latex_ = _assignment_latex
    Program._repr_latex_ = _program_latex
    Derivation._repr_latex_ = _derivation_latex
    Backprop._repr_latex_ = _backprop_latex
    Backprop._repr_markdown_ = _backprop_markdown


install()
_install_display()
