"""Text → matcalc expression, through a whitelist walk over Python's ast; nothing is evaluated.

Stage 1 (build). Consumes a NumPy-like string such as "norm(W @ X + b @ ones(1, N) - Y)**2"
and optional declared shapes; produces Parsed(expr, symbols, dims), the expression built
with expr.py's constructors. `ast.parse` only tokenises: each node kind is checked against a
whitelist, and no eval, exec or sympify ever sees user text. Bad syntax raises ParseError
with a caret at the column; operands that cannot fit raise ShapeError naming both.

Shape inference, for names missing from `shapes`:
1. Spelling gives the kind. Capitalised names (W, X1) are matrices, rows×cols unknown; a
   lowercase ASCII letter, alone or followed by digits or "_…" (x, b1, w_out), is a column
   vector, rows unknown; other lowercase names (lam, alpha, λ) are scalars. A name used as
   a size in ones/zeros/eye (N in ones(1, N)), or as a dimension in `shapes`, is that
   dimension everywhere, and a scalar where it stands as a value ("… / N").
2. Unknown dimensions are unification variables, joined by union-find as the walk meets:
   A @ B (inner sizes equal), + - * / (shapes equal, unless a side is a scalar or is known
   to be 1×1 at that point: then it broadcasts), .T (swap), tr det logdet inv (square),
   sum/logsumexp along an axis (reduce that side to 1). Two known sizes that differ
   (3 and 5, or n and 3) are a ShapeError.
3. Dimensions still unknown get fresh names n, m, p, q, k, r, s (then d1, d2, …), skipping
   names already in use, in order of first appearance.
When built, a 1×1 matrix meeting a scalar or a larger matrix in + - * / becomes its trace
(the entry itself), so "x.T @ A @ x + lam" is the scalar tr(x.T @ A @ x) + lam.
"""
import ast
import difflib
import itertools
import re
from dataclasses import dataclass
from functools import partial
from typing import Callable

import sympy as sp

from ..core import expr as E
from ..core.errors import ParseError, ShapeError
from ..core.functions import FUNCTIONS

__all__ = ["parse", "parse_shape", "parse_assumption", "Parsed", "Assumption", "CALLS",
           "MAX_LENGTH", "MAX_DEPTH"]

MAX_LENGTH = 2000
MAX_DEPTH = 100
_FRESH = ("n", "m", "p", "q", "k", "r", "s")
_VECTOR_NAME = re.compile(r"[a-z](?:[0-9_].*)?")


@dataclass(frozen=True)
class Parsed:
    """A parsed expression, its variables in order of appearance, and its dimension symbols."""
    expr: object
    symbols: dict
    dims: dict


@dataclass(frozen=True)
class Assumption:
    """lhs == rhs; a scalar side facing a matrix is broadcast to the matrix's shape."""
    lhs: object
    rhs: object

    def __iter__(self):   # unpacks as lhs, rhs = parse_assumption(...)
        return iter((self.lhs, self.rhs))


@dataclass(frozen=True)
class _Fn:
    """A callable name: its parameters, its shape rule (method `rule_<rule>`), its builder.

    Parameters: "M" or "x" an expression, "axis" an optional 0 or 1, "m" or "n" a size.
    """
    params: tuple
    rule: str
    build: Callable


def _sum(a, axis=None):
    return E.entry_sum(a) if axis is None else E.sum_axis(a, axis)


CALLS = {
    "tr": _Fn(("M",), "square_to_scalar", E.trace),
    "det": _Fn(("M",), "square_to_scalar", E.det),
    "logdet": _Fn(("M",), "square_to_scalar", E.logdet),
    "inv": _Fn(("M",), "square", E.inverse),
    "norm": _Fn(("M",), "to_scalar", E.norm),
    "sum": _Fn(("M", "axis"), "sum", _sum),
    "diag": _Fn(("M",), "diag", E.diag),
    "softmax": _Fn(("M", "axis"), "same_matrix", E.softmax),
    "logsoftmax": _Fn(("M", "axis"), "same_matrix", E.logsoftmax),
    "logsumexp": _Fn(("M", "axis"), "reduce", E.logsumexp),
    "ones": _Fn(("m", "n"), "sizes", E.ones),
    "zeros": _Fn(("m", "n"), "sizes", E.zeros),
    "eye": _Fn(("n",), "sizes", E.eye),
    **{name: _Fn(("x",), "same", partial(E.apply, name)) for name in FUNCTIONS},
}

_SIZE_FUNCTIONS = {name for name, fn in CALLS.items() if fn.rule == "sizes"}
_OPERATORS = {ast.Add: E.add, ast.Sub: E.sub, ast.Mult: E.mul, ast.Div: E.divide,
              ast.MatMult: E.matmul, ast.Pow: E.power}
_ALIASES = {"trace": "tr", "inverse": "inv", "transpose": ".T", "matmul": "@", "dot": "@"}
_VERBS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply entrywise",
          ast.Div: "divide entrywise"}
_FORBIDDEN = {ast.Lambda: "lambda", ast.IfExp: "a conditional expression",
              ast.NamedExpr: "assignment (:=)", ast.Subscript: "indexing", ast.BoolOp: "and/or",
              ast.Starred: "unpacking (*)", ast.JoinedStr: "an f-string", ast.Dict: "a dict",
              ast.Set: "a set", ast.List: "a list", ast.Tuple: "a tuple",
              **dict.fromkeys((ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp),
                              "a comprehension")}


class _Dims:
    """Union-find over dimensions; a root's value is an int, a dimension name, or None."""

    def __init__(self):
        self.parent, self.value, self.named = [], [], {}

    def new(self, value=None):
        self.parent.append(len(self.parent))
        self.value.append(value)
        return len(self.parent) - 1

    def name(self, name):
        if name not in self.named:
            self.named[name] = self.new(name)
        return self.named[name]

    def find(self, i):
        while self.parent[i] != i:
            self.parent[i] = i = self.parent[self.parent[i]]
        return i

    def get(self, i):
        return self.value[self.find(i)]

    def unify(self, a, b):
        """Join two dimensions; False when both are known and differ."""
        a, b = self.find(a), self.find(b)
        va, vb = self.value[a], self.value[b]
        if a != b and va is not None and vb is not None and va != vb:
            return False
        if a != b:
            self.parent[b] = a
            self.value[a] = va if va is not None else vb
        return True


class _Parser:
    def __init__(self, text, shapes):
        self.text = text
        self.d = _Dims()
        self.kinds = {}                 # name -> None (scalar) or (row dim, col dim)
        self.declared = {name: parse_shape(s) if isinstance(s, str) else tuple(s)
                         for name, s in (shapes or {}).items()}
        # Names that are dimensions: in declared shapes, or sizes in ones/zeros/eye.
        self.sizes = [str(x) for s in self.declared.values() for x in s
                      if not isinstance(x, int) and not str(x).isdigit()]
        self.size_values = []           # sizes standing as values, "… / N"

    # ------------------------------------------------------------ errors

    def chars(self, lineno, offset):
        """ast offsets count UTF-8 bytes; a caret counts characters."""
        line = self.text.split("\n")[lineno - 1].encode()
        return len(line[:offset].decode(errors="ignore"))

    def fail(self, node, message, col=None):
        col = self.chars(node.lineno, node.col_offset) if col is None else col
        raise ParseError(message, self.text, col)

    def describe(self, node, shape):
        src = ast.get_source_segment(self.text, node) or "?"
        if shape is None:
            return f"{src} (scalar)"
        show = [self.d.get(i) for i in shape]
        return f"{src} ({'×'.join('?' if v is None else str(v) for v in show)})"

    # ------------------------------------------------------------ pass 1: check and infer

    def infer(self, node):
        """The shape of a node, None for a scalar; rejects every node off the whitelist."""
        kind = type(node)
        if kind is ast.Constant:
            v = node.value
            if type(v) not in (int, float):
                what = {str: "a string", bytes: "bytes", bool: str(v), type(None): "None"}
                self.fail(node, f"{what.get(type(v), repr(v))} is not allowed in an "
                                "expression; use numbers, names and operators")
            return None
        if kind is ast.Name:
            return self.name_shape(node)
        if kind is ast.UnaryOp and type(node.op) in (ast.USub, ast.UAdd):
            return self.infer(node.operand)
        if kind is ast.BinOp:
            return self.binop(node)
        if kind is ast.Attribute:
            if node.attr != "T":
                col = self.chars(node.end_lineno, node.end_col_offset) - len(node.attr)
                self.fail(node, f"only the attribute .T (transpose) is allowed, not "
                                f".{node.attr}", col=col)
            s = self.infer(node.value)
            return None if s is None else (s[1], s[0])
        if kind is ast.Call:
            return self.call(node)
        if kind is ast.Compare:
            self.fail(node, "comparisons are allowed only in assumptions (lhs == rhs)")
        what = _FORBIDDEN.get(kind, type(node).__name__)
        self.fail(node, f"{what} is not allowed in a matcalc expression")

    def name_shape(self, node):
        name = node.id
        if name.startswith("_"):
            self.fail(node, f"names starting with _ are not allowed: {name}")
        if name in CALLS:
            self.fail(node, f"{name} is a function; call it as {name}(...)")
        if name in self.sizes:          # a dimension standing as a value: a scalar
            if self.declared.get(name, ()) != ():
                self.fail(node, f"{name} is a size, so it cannot be a matrix or vector")
            self.size_values.append(name)
            return None
        if name not in self.kinds:
            self.kinds[name] = self.new_kind(name)
        return self.kinds[name]

    def new_kind(self, name):
        spec = self.declared.get(name)
        if spec is None:                # inferred from the spelling
            if name[0].isupper():
                return (self.d.new(), self.d.new())
            return (self.d.new(), self.d.new(1)) if _VECTOR_NAME.fullmatch(name) else None
        if spec == ():
            return None
        if len(spec) == 1:
            spec = (spec[0], 1)
        return tuple(self.size_dim(x) for x in spec)

    def size_dim(self, x):
        if isinstance(x, sp.Basic):
            x = int(x) if x.is_Integer else str(x)
        if isinstance(x, int):
            E.dim(x)                    # raises ShapeError unless positive
            return self.d.new(x)
        return self.d.name(str(x))

    def unify(self, a, b, message):
        if not (self.d.unify(a[0], b[0]) and self.d.unify(a[1], b[1])):
            raise ShapeError(message())

    def is_unit(self, s):
        return s is None or (self.d.get(s[0]) == 1 and self.d.get(s[1]) == 1)

    def binop(self, node):
        op = type(node.op)
        if op not in _OPERATORS:        # the operator's spelling lies between the operands
            start = self.chars(node.left.end_lineno, node.left.end_col_offset)
            line = self.text.split("\n")[node.left.end_lineno - 1]
            spelling = line[start:self.chars(node.lineno, node.right.col_offset)].strip(" ()")
            self.fail(node, f"the operator {spelling} is not supported; use + - * / ** @",
                      col=start + line[start:].index(spelling))
        a = self.infer(node.left)
        if op is ast.Pow:
            if not all(isinstance(n, (ast.Constant, ast.UnaryOp, ast.BinOp, ast.operator,
                                      ast.unaryop)) for n in ast.walk(node.right)):
                self.fail(node.right, "the exponent must be a number, such as 2 or 0.5")
            self.infer(node.right)
            return a
        b = self.infer(node.right)
        da, db = self.describe(node.left, a), self.describe(node.right, b)
        if op is ast.MatMult:
            if a is None or b is None:
                raise ShapeError(f"cannot multiply {da} by {db} with @: @ needs two "
                                 "matrices; use * to scale by a scalar")
            if not self.d.unify(a[1], b[0]):
                raise ShapeError(f"cannot multiply {da} by {db}: inner dimensions "
                                 f"{self.d.get(a[1])} ≠ {self.d.get(b[0])}")
            return (a[0], b[1])
        unit_a, unit_b = self.is_unit(a), self.is_unit(b)
        if unit_a != unit_b:            # a scalar (or 1×1) broadcasts over the other side
            return b if unit_a else a
        if a is None or b is None:      # scalar with scalar or 1×1: a scalar when built
            return None
        verb = _VERBS[op]
        self.unify(a, b, lambda: f"cannot {verb} {da} and {db}: the shapes differ")
        return a

    def call(self, node):
        f = node.func
        if type(f) is not ast.Name:
            self.fail(node, "only named functions can be called, such as tr(X)")
        fn = CALLS.get(f.id)
        if fn is None:
            close = [_ALIASES[f.id]] if f.id in _ALIASES else \
                difflib.get_close_matches(f.id, CALLS, n=3)
            hint = f"; did you mean {' or '.join(close)}?" if close else \
                f"; known functions: {', '.join(sorted(CALLS))}"
            self.fail(f, f"{f.id} is not a known function{hint}")
        args, axis = self.arguments(node, fn)
        if fn.rule == "sizes":
            return self.rule_sizes([self.size_of(a) for a in args])
        shape = self.infer(args[0])
        if shape is None:               # f(lam), sum(lam) and norm(lam) are scalars
            if fn.rule in ("same", "to_scalar", "sum") and axis is None:
                return None
            raise ShapeError(f"{f.id} needs a matrix or vector, but "
                             f"{ast.get_source_segment(self.text, args[0])} is a scalar")
        return getattr(self, "rule_" + fn.rule)(f.id, args[0], shape, axis)

    def arguments(self, node, fn):
        """The positional arguments and the axis (None when not given), arity checked."""
        name, args, axis = node.func.id, list(node.args), None
        takes_axis = "axis" in fn.params
        for kw in node.keywords:
            if kw.arg != "axis" or not takes_axis:
                what = "**" if kw.arg is None else f"{kw.arg}="
                self.fail(kw.value, f"{name} takes no keyword {what}" +
                          ("; the only keyword is axis" if takes_axis else ""))
            args.append(kw.value)
        required = [p for p in fn.params if p != "axis"]
        if not len(required) <= len(args) <= len(fn.params):
            sig = ", ".join(p if p != "axis" else "axis=0|1" for p in fn.params)
            self.fail(node, f"{name} takes {len(required)} argument"
                            f"{'s' if len(required) > 1 else ''}, {name}({sig}), "
                            f"but was given {len(args)}")
        if len(args) > len(required):
            a = args.pop()
            if not (type(a) is ast.Constant and type(a.value) is int and a.value in (0, 1)):
                self.fail(a, f"axis must be 0 (columns) or 1 (rows) in {name}")
            axis = a.value
        return args, axis

    def size_of(self, a):
        if type(a) is ast.Constant and type(a.value) is int and a.value >= 1:
            return self.d.new(a.value)
        if type(a) is ast.Name and not a.id.startswith("_") and a.id not in CALLS:
            return self.d.name(a.id)
        self.fail(a, "a size must be a positive integer or a name, such as ones(1, N)")

    # Shape rules: one per kind of callable; `shape` is the argument's (a matrix).

    def rule_sizes(self, dims):
        return (dims[0], dims[-1])      # eye(n) is n×n

    def rule_square(self, name, arg, shape, axis):
        if not self.d.unify(*shape):
            raise ShapeError(f"{name} needs a square matrix, but "
                             f"{self.describe(arg, shape)} is not square")
        return shape

    def rule_square_to_scalar(self, name, arg, shape, axis):
        self.rule_square(name, arg, shape, axis)

    def rule_to_scalar(self, name, arg, shape, axis):
        return None

    def rule_same(self, name, arg, shape, axis):
        return shape

    rule_same_matrix = rule_same        # softmax: as `same`, but call() refuses a scalar

    def rule_reduce(self, name, arg, shape, axis):
        return (self.d.new(1), shape[1]) if axis in (None, 0) else (shape[0], self.d.new(1))

    def rule_sum(self, name, arg, shape, axis):
        return None if axis is None else self.rule_reduce(name, arg, shape, axis)

    def rule_diag(self, name, arg, shape, axis):
        if self.d.get(shape[1]) == 1:
            return (shape[0], shape[0])
        if self.d.get(shape[0]) == 1:
            return (shape[1], shape[1])
        return (self.rule_square(name, arg, shape, axis)[0], self.d.new(1))

    # ------------------------------------------------------------ resolve the dimensions

    def resolve(self):
        """Name every unknown dimension; return the symbols and the dims, in order."""
        taken = set(self.kinds) | set(self.d.named) | set(self.sizes)
        names = itertools.chain(_FRESH, (f"d{i}" for i in itertools.count(1)))
        fresh = (n for n in names if n not in taken)
        self.dims = {}
        for name, kind in self.kinds.items():
            for i in kind or ():
                root = self.d.find(i)
                if self.d.value[root] is None:
                    self.d.value[root] = next(fresh)
        for i in range(len(self.d.parent)):
            v = self.d.get(i)
            if isinstance(v, str) and v not in self.dims:
                self.dims[v] = E.dim(v)
        for name in self.size_values:
            self.dims.setdefault(name, E.dim(name))
        self.symbols = {}
        for name, kind in self.kinds.items():
            self.symbols[name] = E.scalar(name) if kind is None else \
                E.matrix(name, *(self.dim_value(i) for i in kind))
        return self.symbols, self.dims

    def dim_value(self, i):
        v = self.d.get(i)
        return self.dims[v] if isinstance(v, str) else v

    # ------------------------------------------------------------ pass 2: build

    def build(self, node):
        kind = type(node)
        if kind is ast.Constant:
            if type(node.value) is int:
                return sp.Integer(node.value)
            if node.value != node.value or abs(node.value) == float("inf"):
                self.fail(node, "a number must be finite")
            return sp.Rational(repr(node.value))     # exact: 0.1 is 1/10
        if kind is ast.Name:
            return self.symbols[node.id] if node.id in self.symbols else self.dims[node.id]
        if kind is ast.UnaryOp:
            x = self.build(node.operand)
            return E.neg(x) if type(node.op) is ast.USub else x
        if kind is ast.Attribute:
            return E.transpose(self.build(node.value))
        if kind is ast.Call:
            fn = CALLS[node.func.id]
            args, axis = self.arguments(node, fn)
            if fn.rule == "sizes":
                return fn.build(*(self.dim_value(self.size_of(a)) for a in args))
            extra = {} if axis is None else {"axis": axis}
            return fn.build(self.build(args[0]), **extra)
        a, b = self.build(node.left), self.build(node.right)
        op = type(node.op)
        if op is ast.Pow and not E.is_matrix(a) and a.is_number and abs(b) > 1000:
            self.fail(node.right, "the exponent of a number must be at most 1000")
        if op not in (ast.MatMult, ast.Pow) and _kind(a) != _kind(b):
            a, b = _unwrap(a), _unwrap(b)    # a 1×1 matrix meeting a scalar: its entry
        out = _OPERATORS[op](a, b)
        if out.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
            self.fail(node, "the expression divides by zero or is not finite")
        return out


def _kind(e):
    return E.is_matrix(e), E.shape(e)


def _unwrap(e):
    return E.trace(e) if E.is_matrix(e) and e.shape == (1, 1) else e


def _tree(text, shapes):
    """Syntax, length and depth checks; the parser with the sizes named in the text."""
    if not isinstance(text, str):
        raise ParseError(f"an expression must be a string, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the expression is {len(text)} characters long; the limit is "
                         f"{MAX_LENGTH}")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as e:
        col = (e.offset or 0) - 1
        raise ParseError(f"syntax error: {e.msg}", text,
                         col if 0 <= col <= len(text) else len(text.rstrip())) from None
    except (RecursionError, MemoryError, ValueError) as e:
        raise ParseError(f"cannot read the expression: {type(e).__name__}") from None
    p = _Parser(text, shapes)
    stack = [(tree, 0)]
    while stack:                        # iterative, so that depth itself cannot overflow
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            p.fail(node, f"the expression is nested deeper than {MAX_DEPTH} levels")
        stack.extend((c, depth + 1) for c in ast.iter_child_nodes(node) if hasattr(c, "lineno"))
    # A name given to ones/zeros/eye is a size everywhere, even before that call is met.
    p.sizes += [a.id for n in ast.walk(tree) if type(n) is ast.Call
                and type(n.func) is ast.Name and n.func.id in _SIZE_FUNCTIONS
                for a in n.args if type(a) is ast.Name]
    return p, tree


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
    p, tree = _tree(text, shapes)
    p.infer(tree)
    p.resolve()
    return Parsed(p.build(tree), p.symbols, p.dims)


def parse_assumption(text, symbols):
    """Parse "lhs == rhs" over known symbols (a Parsed.symbols); returns Assumption(lhs, rhs).

    >>> from matcalc.printing.text import text
    >>> Y = E.matrix("Y", "n", "N")
    >>> lhs, rhs = parse_assumption("sum(Y, axis=0) == 1", {"Y": Y})
    >>> lhs.shape == rhs.shape, text(lhs), text(rhs)
    (True, 'ones(1, n) @ Y', 'ones(1, N)')
    """
    shapes = {name: s.shape if E.is_matrix(s) else "scalar" for name, s in symbols.items()}
    p, tree = _tree(text, shapes)
    if type(tree) is not ast.Compare or len(tree.ops) != 1 or type(tree.ops[0]) is not ast.Eq:
        p.fail(tree, "an assumption is one equation, lhs == rhs")
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
    a, b = p.build(lhs), p.build(rhs)
    if _kind(a) != _kind(b):           # broadcast the scalar (or 1×1) side
        a, b = _unwrap(a), _unwrap(b)
        if E.is_matrix(a) != E.is_matrix(b):
            a, b = (x if E.is_matrix(x) else E.mul(x, E.ones(*E.shape(y)))
                    for x, y in ((a, b), (b, a)))
    return Assumption(a, b)


_SHAPE = re.compile(r"\s*(\w+?)\s*[x×]\s*(\w+)\s*|\s*(\w+)\s*")


def parse_shape(spec):
    """A shape spec as used by --shape NAME=SPEC: (rows, cols) of ints or names, () for a scalar.

    >>> parse_shape("3x4"), parse_shape("n × m"), parse_shape("5"), parse_shape("scalar")
    ((3, 4), ('n', 'm'), (5, 1), ())
    """
    s = str(spec).strip()
    if s == "scalar":
        return ()
    m = _SHAPE.fullmatch(s)
    if not m or not m.group(1) and (s[:1] in ("x", "×") or s[-1:] in ("x", "×")):
        raise ParseError(f"bad shape {spec!r}: expected ROWSxCOLS such as 3x4 or n x m, a "
                         "length such as 3, or scalar", str(spec), 0)
    out = []
    for x in (x for x in m.groups() if x is not None):
        if not (x.isdigit() and int(x) > 0 or x.isidentifier() and not x.startswith("_")):
            raise ParseError(f"bad shape {spec!r}: a dimension must be a positive integer or "
                             f"a name, not {x}", str(spec), str(spec).index(x))
        out.append(int(x) if x.isdigit() else x)
    return tuple(out) if len(out) == 2 else (out[0], 1)
