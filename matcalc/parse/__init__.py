"""Text → matcalc expression, through a whitelist walk over Python's ast; nothing is evaluated.

Stage 1 (parse). Consumes a NumPy-like string such as "norm(W @ X + b @ ones(1, N) - Y)**2"
and optional declared shapes; produces Parsed(expr, symbols, dims). Three passes, a module
each: syntax.py reads the text and holds the whitelist (ParseError with a caret at the
column), shapes.py infers every shape by union-find and names what is left (ShapeError
naming both operands), build.py builds the expression with core/expr.py's constructors.
calls.py is the table of callable names (tr, sum, exp, ones, …).
"""
import ast
from dataclasses import dataclass

import sympy as sp

from ..core import expr as E
from .build import equation, expression
from .calls import CALLS
from .shapes import Inference, parse_shape
from .syntax import MAX_DEPTH, MAX_LENGTH, read

__all__ = ["parse", "parse_shape", "parse_assumption", "Parsed", "Assumption", "CALLS",
           "MAX_LENGTH", "MAX_DEPTH", "entrywise_power_notes"]


@dataclass(frozen=True)
class Parsed:
    """A parsed expression, its variables in order of appearance, and its dimension symbols."""
    expr: object
    symbols: dict
    dims: dict


@dataclass(frozen=True)
class Assumption:
    """lhs op rhs, op "==" or an inequality (> >= < <=, entrywise); a scalar side facing a
    matrix is broadcast to the matrix's shape."""
    lhs: object
    rhs: object
    op: str = "=="

    def __iter__(self):   # unpacks as lhs, rhs = parse_assumption(...)
        return iter((self.lhs, self.rhs))


_RELATIONS = {ast.Eq: "==", ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<="}


def parse(text, shapes=None):
    """Parse text into a matcalc expression, inferring the shapes not given in `shapes`.

    `shapes` maps a name to (rows, cols), each an int or a dimension name, to a spec
    string such as "3x4" (see parse_shape), or to "scalar".

    Examples
    ========
    >>> p = parse("tr(X.T @ A @ X)")
    >>> p.expr, p.symbols["X"].shape, p.symbols["A"].shape
    (Trace(X.T*A*X), (n, m), (n, n))
    >>> parse("W @ X", shapes={"X": (3, 4)}).symbols
    {'W': W, 'X': X}
    >>> parse("x.T @ A @ x + lam").expr
    lam + Trace(x.T*A*x)
    """
    tree = read(text)
    p = Inference(text, tree, shapes, CALLS)
    p.infer(tree)
    p.resolve()
    return Parsed(expression(p, tree), p.symbols, p.dims)


def parse_assumption(text, symbols):
    """Parse "lhs == rhs" (or an inequality such as "b - A @ x > 0", which holds entrywise)
    over known symbols (a Parsed.symbols); returns Assumption(lhs, rhs, op).

    >>> from matcalc.printing.text import text
    >>> Y = E.matrix("Y", "n", "N")
    >>> lhs, rhs = parse_assumption("sum(Y, axis=0) == 1", {"Y": Y})
    >>> lhs.shape == rhs.shape, text(lhs), text(rhs)
    (True, 'ones(1, n) @ Y', 'ones(1, N)')
    """
    shapes = {name: s.shape if E.is_matrix(s) else "scalar" for name, s in symbols.items()}
    tree = read(text)
    p = Inference(text, tree, shapes, CALLS)
    if type(tree) is not ast.Compare or len(tree.ops) != 1 or \
            type(tree.ops[0]) not in _RELATIONS:
        p.fail(tree, "an assumption is one equation or inequality: lhs == rhs, or lhs > rhs "
                     "(also >=, <, <=; entrywise)")
    lhs, rhs = tree.left, tree.comparators[0]
    sa, sb = p.infer(lhs), p.infer(rhs)
    for name in p.kinds:
        if name not in symbols:
            p.fail(next(n for n in ast.walk(tree) if type(n) is ast.Name and n.id == name),
                   f"{name} is not a variable of the expression")
    if not (p.is_unit(sa) or p.is_unit(sb)):
        p.unify(sa, sb, lambda: f"the sides of the assumption differ: "
                                f"{p.describe(lhs, sa)} and {p.describe(rhs, sb)}")
    p.resolve()
    return Assumption(*equation(p, lhs, rhs), _RELATIONS[type(tree.ops[0])])



def entrywise_power_notes(e):
    """A note for each X**k (k ≠ 1 a number) of a square matrix variable X larger than 1×1
    in e: ** is entrywise in matcalc, as in NumPy, which a reader of X² may not expect.

    >>> notes = entrywise_power_notes(E.power(E.matrix("X", 3, 3), 2))
    >>> notes == ["X**2 is entrywise (each entry to the power 2); the matrix power is a "
    ...           "product, X @ X; exp, log and sqrt are entrywise too (matcalc has no expm, "
    ...           "logm or sqrtm)"]
    True
    """
    notes = []
    for node in sorted(e.atoms(E.Elementwise), key=str):
        body, x = node.body, node.arg
        if not (body.is_Pow and body.base == E.T and body.exp.is_number and body.exp != 1 and
                isinstance(x, sp.MatrixSymbol) and x.shape[0] == x.shape[1] != 1):
            continue
        k = body.exp
        product = " @ ".join([x.name] * int(k)) if k.is_Integer and 1 < k <= 3 else \
            f"{x.name} @ {x.name} @ …"
        notes.append(f"{x.name}**{k} is entrywise (each entry to the power {k}); the matrix "
                     f"power is a product, {product}; exp, log and sqrt are entrywise too "
                     "(matcalc has no expm, logm or sqrtm)")
    return notes
