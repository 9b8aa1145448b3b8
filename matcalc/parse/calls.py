"""The callable names of the syntax: each one's parameters, shape rule and builder.

Stage 1 (parse). A table, read by syntax.py (which names are functions, their arity), by
shapes.py's walk (each entry's `rule`, a function of shapes.py, gives the call's shape) and
by build.py (each entry's `build`, a constructor of core/expr.py, makes the node).
"""
from dataclasses import dataclass
from functools import partial
from typing import Callable

from ..core import expr as E
from ..core import kron as K
from ..core import extrema
from ..core.functions import FUNCTIONS
from . import shapes


@dataclass(frozen=True)
class _Fn:
    """A callable name: its parameters, its shape rule (a function of shapes.py), its builder.

    Parameters: "M", "x" or "y" an expression, "axis" an optional 0 or 1, "ord" an optional
    order of a norm (syntax.OPTIONS), "m" or "n" a size.
    """
    params: tuple
    rule: Callable
    build: Callable


def _sum(a, axis=None):
    return E.entry_sum(a) if axis is None else E.sum_axis(a, axis)


CALLS = {
    "tr": _Fn(("M",), shapes.square_to_scalar, E.trace),
    "det": _Fn(("M",), shapes.square_to_scalar, E.det),
    "logdet": _Fn(("M",), shapes.square_to_scalar, E.logdet),
    "inv": _Fn(("M",), shapes.square, E.inverse),
    "norm": _Fn(("M", "ord"), shapes.to_scalar, extrema.norm_ord),
    "max": _Fn(("M", "axis"), shapes.sum_, extrema.max_),
    "min": _Fn(("M", "axis"), shapes.sum_, extrema.min_),
    "maximum": _Fn(("x", "y"), shapes.pair, extrema.maximum),
    "minimum": _Fn(("x", "y"), shapes.pair, extrema.minimum),
    "sum": _Fn(("M", "axis"), shapes.sum_, _sum),
    "diag": _Fn(("M",), shapes.diag, E.diag),
    "vec": _Fn(("M",), shapes.vec, K.vec),
    "unvec": _Fn(("v", "m"), shapes.unvec, K.unvec),
    "kron": _Fn(("A", "B"), shapes.kron, K.kron),
    "commutation": _Fn(("m", "n"), shapes.commutation, K.commutation),
    "softmax": _Fn(("M", "axis"), shapes.same_matrix, E.softmax),
    "logsoftmax": _Fn(("M", "axis"), shapes.same_matrix, E.logsoftmax),
    "logsumexp": _Fn(("M", "axis"), shapes.reduce, E.logsumexp),
    "ones": _Fn(("m", "n"), shapes.sizes, E.ones),
    "zeros": _Fn(("m", "n"), shapes.sizes, E.zeros),
    "eye": _Fn(("n",), shapes.sizes, E.eye),
    **{name: _Fn(("x",), shapes.same, partial(E.apply, name)) for name in FUNCTIONS},
}
