"""Building: the matcalc expression of a checked ast, once every dimension has a name.

Stage 1 (parse). Consumes the ast and the resolved shapes.Inference (its symbols, dims and
size dimensions); produces the expression through core/expr.py's constructors. The checks
that need values happen here: numbers finite, a number's exponent at most 1000, no division
by zero. A 1×1 matrix meeting a scalar or a larger matrix in + - * / becomes its trace (the
entry itself), so "x.T @ A @ x + lam" is the scalar tr(x.T @ A @ x) + lam.
"""
import ast

import sympy as sp

from ..core import expr as E
from .calls import CALLS
from .shapes import SIZE_RULES, kron, pair, unvec
from .syntax import OPTIONS, arguments, chain

_OPERATORS = {ast.Add: E.add, ast.Sub: E.sub, ast.Mult: E.mul, ast.Div: E.divide,
              ast.MatMult: E.matmul, ast.Pow: E.power}


def expression(p, node):
    """The expression of `node`; `p` is the Inference that walked it, resolved."""
    kind = type(node)
    if kind is ast.Constant:
        if type(node.value) is int:
            return sp.Integer(node.value)
        if node.value != node.value or abs(node.value) == float("inf"):
            p.fail(node, "a number must be finite")
        return sp.Rational(repr(node.value))     # exact: 0.1 is 1/10
    if kind is ast.Name:
        return p.symbols[node.id] if node.id in p.symbols else p.dims[node.id]
    if kind is ast.UnaryOp:
        x = expression(p, node.operand)
        return E.neg(x) if type(node.op) is ast.USub else x
    if kind is ast.Attribute:
        return E.transpose(expression(p, node.value))
    if kind is ast.Call:
        fn = CALLS[node.func.id]
        args, option = arguments(p.text, node, fn)
        if fn.rule in SIZE_RULES:
            return fn.build(*(p.dim_value(p.size_of(a)) for a in args))
        if fn.rule is pair:             # maximum(A, B): a 1×1 side meeting a scalar, its entry
            a, b = (expression(p, x) for x in args)
            return fn.build(*((_unwrap(a), _unwrap(b)) if _kind(a) != _kind(b) else (a, b)))
        if fn.rule is kron:
            return fn.build(*(expression(p, x) for x in args))
        if fn.rule is unvec:
            return fn.build(expression(p, args[0]), p.dim_value(p.size_of(args[1])))
        name = next((q for q in fn.params if q in OPTIONS), None)
        extra = {} if option is None else {name: option}
        return fn.build(expression(p, args[0]), **extra)
    links = chain(node)                  # a + b + … + z in a loop: no recursion per term
    a = expression(p, links[-1].left)
    for link in reversed(links):
        a = _link(p, link, a)
    return a


def _link(p, node, a):
    """The expression of `left op right`, the left operand's expression `a` known."""
    b = expression(p, node.right)
    op = type(node.op)
    if op is ast.Pow and not E.is_matrix(a) and a.is_number and abs(b) > 1000:
        p.fail(node.right, "the exponent of a number must be at most 1000")
    if op not in (ast.MatMult, ast.Pow) and _kind(a) != _kind(b):
        a, b = _unwrap(a), _unwrap(b)    # a 1×1 matrix meeting a scalar: its entry
    out = _OPERATORS[op](a, b)
    if out.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        p.fail(node, "the expression divides by zero or is not finite")
    return out


def equation(p, lhs, rhs):
    """Both sides of lhs == rhs, a scalar (or 1×1) side broadcast to the other's shape."""
    a, b = expression(p, lhs), expression(p, rhs)
    if _kind(a) != _kind(b):
        a, b = _unwrap(a), _unwrap(b)
        if E.is_matrix(a) != E.is_matrix(b):
            a, b = (x if E.is_matrix(x) else E.mul(x, E.ones(*E.shape(y)))
                    for x, y in ((a, b), (b, a)))
    return a, b


def _kind(e):
    return E.is_matrix(e), E.shape(e)


def _unwrap(e):
    return E.trace(e) if E.is_matrix(e) and e.shape == (1, 1) else e
