"""What every matcalc printer shares: elementwise bodies printed with their argument.

Printing (stage 4). An Elementwise node holds a scalar body in the placeholder T; a printer prints the body and,
where T stands, the matrix argument: directly inside a function call (sigmoid(Z)), in
parentheses elsewhere unless it is atomic ((A + B)**2). Printers mix this class in before
their SymPy base class and say how they parenthesise (`_group`) and call (`_fn_call`).
"""
from sympy import HadamardProduct, MatAdd, MatMul
from sympy.printing.precedence import PRECEDENCE, precedence

from ..core.functions import BY_CLASS, T
from ..core.nodes import Elementwise


def matrix_precedence(e):
    """Precedence of a matrix node as printed: sums < products < powers < atoms."""
    if isinstance(e, MatAdd):
        return PRECEDENCE["Add"]
    if isinstance(e, MatMul):
        c = e.args[0]
        if not getattr(c, "is_Matrix", True) and c.could_extract_minus_sign():
            return PRECEDENCE["Add"]
        return PRECEDENCE["Mul"]
    if isinstance(e, HadamardProduct):
        return PRECEDENCE["Mul"]
    if isinstance(e, Elementwise):
        body = e.body
        if body.is_Function and body.args == (T,):
            return PRECEDENCE["Func"]
        if body.is_Pow and body.exp.is_negative:
            return PRECEDENCE["Mul"]     # printed as a quotient, 1/X
        return precedence(body)
    return PRECEDENCE["Atom"]


class ElementwiseMixin:
    """Prints Elementwise(body, X) as the body with X in place of T."""

    def _group(self, s):
        return "(%s)" % s

    def _elementwise_args(self):
        if not hasattr(self, "_ew_stack"):
            self._ew_stack = []
        return self._ew_stack

    def _print_Elementwise(self, e):
        stack = self._elementwise_args()
        stack.append(e.arg)
        try:
            return self._print(e.body)
        finally:
            stack.pop()

    def _print_T(self):
        """T itself: the argument, grouped unless atomic."""
        arg = self._elementwise_args()[-1]
        s = self._print(arg)
        return s if matrix_precedence(arg) >= PRECEDENCE["Func"] else self._group(s)

    def _print_Symbol(self, e):
        if e == T and self._elementwise_args():
            return self._print_T()
        return super()._print_Symbol(e)

    def _fn_name(self, e):
        return BY_CLASS.get(type(e), type(e).__name__)   # sinh(X) prints as sinh

    def _fn_call(self, name, arg):
        """How this printer writes name(arg)."""
        raise NotImplementedError

    def _print_Function(self, e):
        stack = self._elementwise_args()
        if len(e.args) == 1 and e.args[0] == T and stack:
            return self._fn_call(self._fn_name(e), self._print(stack[-1]))
        if len(e.args) == 1:
            return self._fn_call(self._fn_name(e), self._print(e.args[0]))
        return super()._print_Function(e)
