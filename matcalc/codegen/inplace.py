"""In-place NumPy statements for planned kernels: f(Z) written into a buffer with out=.

Codegen (stage 5). The planner (plan.py) decides which line may take over which buffer; this
spells such a line for the NumPy printer (printing/numpy.py), from the functions' `inplace`
spellings in core/functions.py and the printer's public pieces (code, loose_code, helper):
the printer prints expressions, codegen owns the statements that update arrays.
"""
import re

from ..core.functions import BY_CLASS, FUNCTIONS, T
from ..core.nodes import Elementwise
from ..printing.runtime import HELPERS

__all__ = ["INPLACE", "UFUNCS", "inplace_code", "operand_code", "softmax_pair_code"]

# f(Z) written into the array out, by function name: each record's `inplace` ('{0}' the
# argument, '{1}' out). A function without one is not done in place.
INPLACE = {name: fn.inplace for name, fn in FUNCTIONS.items() if fn.inplace}
UFUNCS = {"+=": "np.add", "-=": "np.subtract", "*=": "np.multiply", "/=": "np.divide"}


def _helpers_in(spelling):
    """The runtime helpers a spelling calls: `_sigmoid({0}, out={1})` calls _sigmoid."""
    return [n for n in re.findall(r"\b(_\w+)\(", spelling) if n in HELPERS]


def inplace_code(printer, e, out):
    """Elementwise f(Z) written into the array named `out` (Z itself, or one of Z's shape),
    as nested ufunc calls each with out=: f a function with an INPLACE spelling, or a chain
    c + g, c − g, c·g, g² of one such g (1 − A² is np.subtract(1, np.square(A, out=A),
    out=A)); None for any other body."""
    if not isinstance(e, Elementwise):
        return None
    printer.module_imports.setdefault("numpy", set())
    return _body(printer, e.body, printer.code(e.arg), out)


def _body(printer, b, arg, out):
    if b == T:
        return arg
    if b.is_Function and len(b.args) == 1:
        spelling = INPLACE.get(BY_CLASS.get(type(b)))
        inner = _body(printer, b.args[0], arg, out) if spelling else None
        if inner is None:
            return None
        for helper in _helpers_in(spelling):
            printer.helper(helper)
        return spelling.format(inner, out)
    if (b.is_Add or b.is_Mul) and len(b.args) == 2 and b.args[0].is_number:
        c, g = b.args
        neg = b.is_Add and g.is_Mul and g.args[0] == -1 and len(g.args) == 2
        inner = _body(printer, g.args[1] if neg else g, arg, out)
        if inner is None:
            return None
        if neg:
            return f"np.subtract({printer.code(c)}, {inner}, out={out})"
        return f"np.{'add' if b.is_Add else 'multiply'}({inner}, {printer.code(c)}, out={out})"
    if b.is_Pow and b.exp == 2:
        inner = _body(printer, b.base, arg, out)
        return None if inner is None else f"np.square({inner}, out={out})"
    return None


def operand_code(printer, e, op):
    """e as the operand of an in-place update (`Z += b`, `D *= (Z > 0)`): broadcast forms
    allowed (the target has the full shape), a mask as a factor of a product."""
    b = e.body if isinstance(e, Elementwise) else None
    name = BY_CLASS.get(type(b)) if b is not None else None
    mask = FUNCTIONS[name].mask if name is not None else None
    if op == "*=" and mask and b.args == (T,):
        return mask.format(printer.code(e.arg))
    if not getattr(e, "is_Matrix", False):
        return printer.doprint(e)
    return printer.loose_code(e)


def softmax_pair_code(printer, Z, axis, out=None):
    """softmax and log softmax of Z at once (the _softmax_pair helper)."""
    tail = f", out={out}" if out else ""
    return f"{printer.helper('_softmax_pair')}({printer.code(Z)}, axis={axis}{tail})"
