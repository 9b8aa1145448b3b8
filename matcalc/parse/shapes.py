"""Shape inference: the shape of every name and subexpression, before anything is built.

Stage 1 (parse). Consumes the ast from syntax.read, the declared shapes and the table of
callables (calls.CALLS); `Inference.infer` walks the tree, applying syntax.py's whitelist to
each node as it meets it, and `Inference.resolve` produces the symbols (E.matrix/E.scalar)
and dimension symbols that build.py builds with. Operands that cannot fit raise ShapeError
naming both, as "W (3×?)": the source segment and its shape inferred so far.

The rules, for names missing from the declared shapes:
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
"""
import ast
import itertools
import re

import sympy as sp

from ..core import expr as E
from ..core.errors import ParseError, ShapeError
from . import syntax

_FRESH = ("n", "m", "p", "q", "k", "r", "s")
_VECTOR_NAME = re.compile(r"[a-z](?:[0-9_].*)?")
_VERBS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply entrywise",
          ast.Div: "divide entrywise"}


class _Dims:
    """Union-find over dimensions; a root's value is an int, a dimension name, or None.

    >>> d = _Dims(); a, b, n = d.new(), d.new(3), d.name("n")
    >>> d.unify(a, b), d.get(a), d.unify(a, n)
    (True, 3, False)
    """

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
        v = self.value[self.find(i)]
        if isinstance(v, tuple):        # a product (kron, vec): a number once both factors are
            a, b = self.get(v[0]), self.get(v[1])
            return a * b if isinstance(a, int) and isinstance(b, int) else v
        return v

    def product(self, a, b):
        """A new dimension, the product of a and b (the rows of kron(A, B), of vec(X))."""
        va, vb = self.get(a), self.get(b)
        return self.new(va * vb if isinstance(va, int) and isinstance(vb, int) else (a, b))

    def _solve(self, prod, n):
        """A product p·q equal to a number n: the unknown factor is n / the known one. Other
        cases (two unknowns, a name) are left to the constructors, which check the shapes."""
        (f, g), (vf, vg) = prod, (self.get(prod[0]), self.get(prod[1]))
        if isinstance(n, int) and isinstance(vf, int) != isinstance(vg, int):
            known, unknown = (vf, g) if isinstance(vf, int) else (vg, f)
            if self.get(unknown) is None:
                return n % known == 0 and self.unify(unknown, self.new(n // known))
        return True

    def show(self, i):
        """A dimension for a message: 3, n, ? (not known yet), or a product n·3."""
        v = self.get(i)
        if isinstance(v, tuple):
            return f"{self.show(v[0])}·{self.show(v[1])}"
        return "?" if v is None else str(v)

    def unify(self, a, b):
        """Join two dimensions; False when both are known and differ."""
        a, b = self.find(a), self.find(b)
        va, vb = self.value[a], self.value[b]
        if a != b and isinstance(self.get(a), tuple) and isinstance(self.get(b), tuple):
            shown = [sorted(self.show(f) for f in self.get(i)) for i in (a, b)]
            if shown[0] == shown[1] and "?" not in shown[0]:
                return True       # the same known factors in another order: n·m = m·n
            # two products (tr(kron(A, X))): the natural reading, factor by factor
            return self.unify(va[0], vb[0]) and self.unify(va[1], vb[1])
        if a != b and va is not None and vb is not None and \
                (isinstance(self.get(a), tuple) or isinstance(self.get(b), tuple)):
            prod, other = (self.get(a), self.get(b)) if isinstance(self.get(a), tuple) else \
                (self.get(b), self.get(a))
            return self._solve(prod, other)
        if a != b and va is not None and vb is not None and va != vb:
            return False
        if a != b:
            self.parent[b] = a
            self.value[a] = va if va is not None else vb
        return True


# The shape rules, one per kind of callable; each CALLS entry names its rule. A rule gets the
# union-find, the argument's shape (row dim, col dim) (for `sizes`, the size arguments' dims),
# the axis (None, 0 or 1), the callable's name and `shown()`, the argument described for an
# error message; it returns the call's shape, None for a scalar.

def sizes(d, shape, axis, name, shown):
    """ones(m, n), zeros(m, n), eye(n): the sizes are the shape."""
    return (shape[0], shape[-1])        # eye(n) is n×n


def square(d, shape, axis, name, shown):
    """inv: a square matrix, the same shape out."""
    if not d.unify(*shape):
        raise ShapeError(f"{name} needs a square matrix, but {shown()} is not square")
    return shape


def square_to_scalar(d, shape, axis, name, shown):
    """tr, det, logdet: a square matrix to a scalar."""
    square(d, shape, axis, name, shown)


def to_scalar(d, shape, axis, name, shown):
    """norm: any matrix to a scalar."""
    return None


def same(d, shape, axis, name, shown):
    """Entrywise functions (exp, relu, …): the same shape out; of a scalar, a scalar."""
    return shape


def same_matrix(d, shape, axis, name, shown):     # not an alias: _OF_A_SCALAR tells them apart
    """softmax, logsoftmax: as `same`, but a scalar argument is refused."""
    return shape


def reduce(d, shape, axis, name, shown):
    """logsumexp: reduce the rows (axis None or 0) or the columns (axis 1) to 1."""
    return (d.new(1), shape[1]) if axis in (None, 0) else (shape[0], d.new(1))


def sum_(d, shape, axis, name, shown):
    """sum: of every entry a scalar; along an axis as `reduce`."""
    return None if axis is None else reduce(d, shape, axis, name, shown)


def commutation(d, shape, axis, name, shown):
    """commutation(m, n): the sizes m and n give K, (m·n)×(m·n)."""
    mn = d.product(shape[0], shape[1])
    return (mn, mn)


SIZE_RULES = (sizes, commutation)      # calls whose arguments are sizes, not expressions


def vec(d, shape, axis, name, shown):
    """vec: an m×n matrix to the column of its m·n entries."""
    return (d.product(shape[0], shape[1]), d.new(1))


def kron(d, shape, axis, name, shown):
    """kron(A, B): (rows·rows)×(cols·cols) (Inference.kron)."""
    raise AssertionError("Inference.call handles kron itself")


def unvec(d, shape, axis, name, shown):
    """unvec(v, m): a column of m·n entries to m×n (Inference.unvec)."""
    raise AssertionError("Inference.call handles unvec itself")


def pair(d, shape, axis, name, shown):
    """maximum, minimum: two arguments, shaped as for + (Inference.pair)."""
    raise AssertionError("Inference.call handles pair itself")


def diag(d, shape, axis, name, shown):
    """diag: a vector (either way) to a square matrix, a square matrix to its diagonal."""
    if d.get(shape[1]) == 1:
        return (shape[0], shape[0])
    if d.get(shape[0]) == 1:
        return (shape[1], shape[1])
    return (square(d, shape, axis, name, shown)[0], d.new(1))


_OF_A_SCALAR = (same, to_scalar, sum_)  # f(lam), norm(lam), sum(lam) are scalars: no axis


class Inference:
    """The shapes of one expression: walk it with `infer`, then name what is left (`resolve`).

    `calls` is calls.CALLS, passed in rather than imported because its entries point at the
    rules above.
    """

    def __init__(self, text, tree, shapes, calls):
        self.text, self.calls = text, calls
        self.d = _Dims()
        self.kinds = {}                 # name -> None (scalar) or (row dim, col dim)
        self.declared = {name: parse_shape(s) if isinstance(s, str) else tuple(s)
                         for name, s in (shapes or {}).items()}
        # Names that are dimensions: in declared shapes, or sizes in ones/zeros/eye, even
        # where a size is used before the call that makes it one.
        self.sizes = [str(x) for s in self.declared.values() for x in s
                      if not isinstance(x, int) and not str(x).isdigit()]
        self.sizes += [a.id for n in ast.walk(tree) if type(n) is ast.Call
                       and type(n.func) is ast.Name and n.func.id in calls
                       and calls[n.func.id].rule in SIZE_RULES
                       for a in n.args if type(a) is ast.Name]
        self.sizes += [n.args[1].id for n in ast.walk(tree) if type(n) is ast.Call   # unvec(v, m)
                       and type(n.func) is ast.Name and n.func.id in calls
                       and calls[n.func.id].rule is unvec and len(n.args) == 2
                       and type(n.args[1]) is ast.Name]
        self.size_values = []           # sizes standing as values, "… / N"

    def fail(self, node, message, col=None):
        syntax.fail(self.text, node, message, col)

    def describe(self, node, shape):
        """The node's source and its shape so far, as "W (3×?)" or "lam (scalar)"."""
        src = ast.get_source_segment(self.text, node) or "?"
        if shape is None:
            return f"{src} (scalar)"
        return f"{src} ({'×'.join(self.d.show(i) for i in shape)})"

    def infer(self, node):
        """The shape of a node, None for a scalar; rejects every node off the whitelist."""
        syntax.check(self.text, node, self.calls)
        kind = type(node)
        if kind is ast.Constant:
            return None
        if kind is ast.Name:
            return self.name_shape(node)
        if kind is ast.UnaryOp:
            return self.infer(node.operand)
        if kind is ast.BinOp:
            return self.binop(node)
        if kind is ast.Attribute:
            s = self.infer(node.value)
            return None if s is None else (s[1], s[0])
        return self.call(node)          # check() let only these kinds and calls through

    def name_shape(self, node):
        name = node.id
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
        links = syntax.chain(node)      # a + b + … + z in a loop: no recursion per term
        for link in links[1:]:          # infer() checked the outermost
            syntax.check(self.text, link, self.calls)
        a = self.infer(links[-1].left)
        for link in reversed(links):
            a = self.link(link, a)
        return a

    def link(self, node, a):
        """The shape of `left op right`, the left operand's shape `a` known."""
        op = type(node.op)
        if op is ast.Pow:
            syntax.exponent(self.text, node)
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
        name = node.func.id
        fn = self.calls[name]
        args, axis = syntax.arguments(self.text, node, fn)
        if fn.rule in SIZE_RULES:       # the arguments are sizes, not expressions
            return fn.rule(self.d, [self.size_of(a) for a in args], axis, name, None)
        if fn.rule is pair:             # maximum(A, B): shapes as for A + B
            return self.pair(name, *args)
        if fn.rule is kron:
            return self.kron(name, *args)
        if fn.rule is unvec:
            return self.unvec(name, *args)
        shape = self.infer(args[0])
        if shape is None:
            if fn.rule in _OF_A_SCALAR and axis is None:
                return None
            raise ShapeError(f"{name} needs a matrix or vector, but "
                             f"{ast.get_source_segment(self.text, args[0])} is a scalar")
        return fn.rule(self.d, shape, axis, name, lambda: self.describe(args[0], shape))

    def pair(self, name, left, right):
        """The shape of an entrywise function of two arguments, a scalar side broadcast."""
        a, b = self.infer(left), self.infer(right)
        unit_a, unit_b = self.is_unit(a), self.is_unit(b)
        if unit_a != unit_b:
            return b if unit_a else a
        if a is None or b is None:
            return None
        self.unify(a, b, lambda: f"cannot take the entrywise {name} of "
                                 f"{self.describe(left, a)} and {self.describe(right, b)}: "
                                 "the shapes differ")
        return a

    def kron(self, name, left, right):
        """The shape of A ⊗ B: products of the rows and of the columns."""
        shapes = [self.infer(x) for x in (left, right)]
        for x, s in zip((left, right), shapes):
            if s is None:
                raise ShapeError(f"{name} needs two matrices or vectors, but "
                                 f"{ast.get_source_segment(self.text, x)} is a scalar")
        (a, b), (c, e) = shapes
        return (self.d.product(a, c), self.d.product(b, e))

    def unvec(self, name, v, m):
        """unvec(v, m): v a column of m·n entries, cut into m×n."""
        shape, rows = self.infer(v), self.size_of(m)
        if shape is None or not self.d.unify(shape[1], self.d.new(1)):
            raise ShapeError(f"{name} needs a column vector, but {self.describe(v, shape)} "
                             "is not one")
        cols = self.d.new()
        if not self.d.unify(shape[0], self.d.product(rows, cols)):
            raise ShapeError(f"{name}: {self.describe(v, shape)} does not cut into columns "
                             f"of {self.d.show(rows)}")
        return (rows, cols)

    def size_of(self, a):
        """The dimension a size argument of ones/zeros/eye stands for."""
        if type(a) is ast.Constant and type(a.value) is int and a.value >= 1:
            return self.d.new(a.value)
        if type(a) is ast.Name and not a.id.startswith("_") and a.id not in self.calls:
            return self.d.name(a.id)
        self.fail(a, "a size must be a positive integer or a name, such as ones(1, N)")

    def resolve(self):
        """Name every unknown dimension; return the symbols and the dims, in order."""
        taken = set(self.kinds) | set(self.d.named) | set(self.sizes)
        names = itertools.chain(_FRESH, (f"d{i}" for i in itertools.count(1)))
        fresh = (n for n in names if n not in taken)
        self.dims = {}

        def name_unknown(i):     # a product's unknown factor too: v in unvec(v, m) is m·n
            root = self.d.find(i)
            if self.d.value[root] is None:
                self.d.value[root] = next(fresh)
            elif isinstance(self.d.value[root], tuple):
                for f in self.d.value[root]:
                    name_unknown(f)
        for name, kind in self.kinds.items():
            for i in kind or ():
                name_unknown(i)
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
        """A dimension once resolved: an int, a dimension symbol or a product of them."""
        v = self.d.get(i)
        if isinstance(v, tuple):
            return self.dim_value(v[0]) * self.dim_value(v[1])
        return self.dims[v] if isinstance(v, str) else v


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
