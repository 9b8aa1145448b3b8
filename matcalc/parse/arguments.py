"""The Python API's arguments, checked before anything reads them.

Parse (stage 1), needs only core. The front doors (api.py: grad, jacobian, hessian, check,
assert_gradient, derive, verify_backprop, train) call these first, so that a wrong type
(shapes={"X": None}, assume=1, wrt=3) is an ArgumentError naming the function, the argument
and what it takes, never an internal TypeError ('NoneType' object is not iterable) from
deep inside the parser or the simplifier.
"""
from collections.abc import Mapping
from numbers import Integral

import sympy as sp

from ..core.errors import ArgumentError

__all__ = ["expression", "variable", "shapes", "assumptions", "constraints", "seed", "model",
           "derivation"]

_ASSUMPTION = ("text such as \"sum(Y, axis=0) == 1\" or \"b - A @ x > 0\", or a rule from "
               "matcalc.calculus.simplify")


def _kind(x):
    return type(x).__name__


def expression(who, f, example):
    """f: text or a matcalc (SymPy) expression."""
    if not isinstance(f, (str, sp.Basic)):
        raise ArgumentError(f"{who}: f must be text such as \"{example}\" or a matcalc "
                            f"expression, not {_kind(f)}")


def variable(who, wrt):
    """wrt: a variable's name, or its MatrixSymbol (a Symbol for a scalar)."""
    if not isinstance(wrt, (str, sp.MatrixSymbol, sp.Symbol)):
        raise ArgumentError(f"{who}: wrt must be a variable's name such as \"X\" or a "
                            f"MatrixSymbol, not {_kind(wrt)}")


def _size(d):
    """A size in a declared shape: a positive int (checked later) or a dimension's name."""
    if isinstance(d, bool):
        return False
    return isinstance(d, (Integral, sp.Symbol, sp.Integer)) or \
        isinstance(d, str) and (d.isidentifier() or d.isdigit())


def shapes(who, given):
    """None, or {name: shape}: a shape is text ("3x4", "n x m", "scalar"), a pair (rows, cols)
    of ints or dimension names, or () for a scalar."""
    if given is None:
        return
    if not isinstance(given, Mapping):
        raise ArgumentError(f"{who}: shapes must be a dict such as {{\"X\": (3, 4)}}, not "
                            f"{_kind(given)}")
    for name, s in given.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ArgumentError(f"{who}: shapes maps variable names such as \"X\" to shapes; "
                                f"{name!r} is not a name")
        if isinstance(s, str):
            continue                  # a spec such as "3x4", read (and checked) by the parser
        if not isinstance(s, (tuple, list)) or len(s) not in (0, 2) or not all(map(_size, s)):
            raise ArgumentError(f"{who}: shapes[{name!r}] must be (rows, cols), each an int or "
                                f"a dimension's name, such as (3, 4) or (\"n\", \"m\"); text "
                                f"such as \"3x4\"; or \"scalar\" (or ()) for a scalar; not {s!r}")


def assumptions(who, assume):
    """The assumptions as a list: one given alone (text or a rule) or a list or tuple of them."""
    if isinstance(assume, str) or _rule(assume):
        return [assume]
    if not isinstance(assume, (list, tuple)):
        raise ArgumentError(f"{who}: assume must be {_ASSUMPTION}, or a list of them; not "
                            f"{_kind(assume)}")
    for i, a in enumerate(assume):
        if not (isinstance(a, str) or _rule(a)):
            raise ArgumentError(f"{who}: assume[{i}] is {a!r}; an assumption is {_ASSUMPTION}")
    return list(assume)


def _rule(a):
    # a rule is a function or object the simplifier calls; a SymPy object is callable too
    return callable(a) and not isinstance(a, (sp.Basic, type))


def constraints(who, extra):
    """check's `assumptions`: None or a list of (constraint, variable) pairs, the constraint a
    name such as "positive" or a function of the sampled array."""
    if extra is None:
        return
    ok = isinstance(extra, (list, tuple)) and all(
        isinstance(c, (list, tuple)) and len(c) == 2 and (isinstance(c[0], str) or
                                                        callable(c[0]))
        and isinstance(c[1], (sp.MatrixSymbol, sp.Symbol)) for c in extra)
    if not ok:
        raise ArgumentError(f"{who}: assumptions must be a list of (constraint, variable) "
                            f"pairs such as [(\"positive\", X)], not {extra!r}")


def seed(who, s):
    if isinstance(s, bool) or not isinstance(s, Integral) or s < 0:
        raise ArgumentError(f"{who}: seed must be a non-negative integer, not {s!r}")


def model(who, m):
    """A model from matcalc.mlp or matcalc.cnn (anything that builds its network)."""
    if not callable(getattr(m, "network", None)):
        raise ArgumentError(f"{who}: model must be a model such as matcalc.mlp([64, 128, 10]) "
                            f"or matcalc.cnn(\"1x8x8\", \"dense(10)\"), not {_kind(m)}")


def derivation(who, b):
    """What matcalc.derive returns (its forward and backward programs)."""
    if not all(hasattr(b, a) for a in ("forward", "backward", "network", "assumptions")):
        raise ArgumentError(f"{who}: b must be a derivation, matcalc.derive(model), not "
                            f"{_kind(b)}")
