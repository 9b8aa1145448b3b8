"""Expression → NumPy function: the printed code wrapped in `def`, compiled with its lines.

Codegen (stage 5). Consumes a matrix expression and the symbols to take as arguments;
produces the source of `def name(args): return …` (imports and helpers included) and the
compiled function. `dimension_lines` is how every generated function, kernels included,
reads the symbolic sizes it prints (`N = X.shape[1]`) from its arguments' shapes.
"""
import itertools
import keyword
import linecache

import sympy as sp
from sympy import MatrixSymbol, Symbol, preorder_traversal
from sympy.core.sympify import _sympify

from ..core.errors import MatcalcError
from ..core.nodes import Differential
from ..printing.numpy import MatcalcNumPyPrinter, numpy_imports
from ..printing.runtime import HELPERS, numpy_helpers
from ..printing.text import text

__all__ = ["numpy_function", "dimension_lines", "shape_symbols"]


def shape_symbols(exprs):
    """The dimension symbols in the shapes of the matrix nodes of exprs."""
    out = set()
    for e in exprs:
        for m in preorder_traversal(e):
            if getattr(m, "is_Matrix", False):
                for d in m.shape:
                    out |= _sympify(d).free_symbols
    return out


def dimension_lines(printer, sources, dims, name="f"):
    """`    N = X.shape[1]` for each dimension in `dims` that `printer` printed, read from the
    first of `sources` — (MatrixSymbol, its name in the code) pairs — with that dimension."""
    lines = []
    for d in sorted(set(dims) & printer.symbols_printed, key=str):
        src = next((f"{code}.shape[{k}]" for m, code in sources
                    if m.is_Matrix for k in (0, 1) if m.shape[k] == d), None)
        if src is None:
            raise ValueError(f"{name}: cannot read the dimension {d} from the shapes of "
                             f"{', '.join(code for _, code in sources)}")
        lines.append(f"    {printer.doprint(d)} = {src}")
    return lines


_counter = itertools.count()


def numpy_function(e, args, name="f"):
    """(source, function): a NumPy function `name(*args)` that evaluates e.

    `args` are the MatrixSymbols, differentials and scalar Symbols the function takes, in
    order. Symbolic dimensions the code needs are read from the arguments' shapes at the top
    of the function (`N = X.shape[1]`). A variable or dimension whose name the code needs for
    itself (np, float, the function's own name) is renamed with a trailing underscore (np_),
    as the docstring says. The source is compiled as generated and registered in linecache,
    so that tracebacks show its lines.

    >>> from matcalc.core.expr import matrix, vector, matmul, add, ones
    >>> W, X, b = matrix('W', 3, 4), matrix('X', 4, 'N'), vector('b', 3)
    >>> src, f = numpy_function(add(matmul(W, X), matmul(b, ones(1, 'N'))), [W, X, b])
    >>> import numpy as np
    >>> f(np.ones((3, 4)), np.ones((4, 5)), np.ones((3, 1))).shape
    (3, 5)
    """
    e = _sympify(e)
    reserved = {"np", "float", name} | set(HELPERS)   # float: np.full(…, dtype=float)
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"function name {name!r} is not a Python identifier")
    renames = _renames(reserved, [e, *args])
    printer = MatcalcNumPyPrinter(names=renames)
    body = printer.doprint(e)
    names = []
    for a in args:
        if not isinstance(a, (MatrixSymbol, Symbol, Differential)):
            raise TypeError(f"{name}: argument {a!r} must be a MatrixSymbol, a differential "
                            "or a Symbol")
        n = MatcalcNumPyPrinter(names=renames).doprint(a)
        if n in reserved or n in names:
            raise ValueError(f"{name}: argument name {n!r} is taken; rename it")
        names.append(n)
    given = set(args)
    missing = sorted(_variables(e) - given, key=str)
    if missing:
        m = missing[0]
        raise ValueError(f"{name}: the expression uses {text(m)} "
                         f"({'×'.join(text(d) for d in m.shape)}), which is not among the "
                         f"arguments ({', '.join(names)})")
    dims = shape_symbols([e])
    missing = sorted(printer.symbols_printed - dims - given, key=str)
    if missing:
        raise ValueError(f"{name}: the expression uses the scalar {missing[0]}, which is not "
                         f"among the arguments ({', '.join(names)})")
    for d in (dims & printer.symbols_printed) - given:
        if printer.doprint(d) in names or printer.doprint(d) in reserved:
            raise ValueError(f"{name}: the dimension {d} has the name of an argument; "
                             "rename one of them")
    lines = dimension_lines(printer, list(zip(args, names)), dims - given, name)
    note = "".join(f"; {new} is the variable {old} (np is NumPy here)" if old == "np" else
                   f"; {new} is the variable {old}" for old, new in sorted(renames.items()))
    doc = f'    """{name}({", ".join(names)}) = {text(e)}{note}"""'
    func = "\n".join([f"def {name}({', '.join(names)}):", doc, *lines, f"    return {body}"])
    blocks = ["\n".join(numpy_imports(printer))] if numpy_imports(printer) else []
    if printer.helpers_used:
        blocks.append(numpy_helpers(printer.helpers_used))
    source = "\n\n\n".join(blocks + [func]) + "\n"
    filename = f"<matcalc-numpy-{name}-{next(_counter)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {}
    try:
        code = compile(source, filename, "exec")
    except (SyntaxError, RecursionError, MemoryError):     # Python's parser: 200 levels
        depth = max(_depth(e), 1)
        raise MatcalcError(
            f"{name}: the expression is {depth} functions deep, and its NumPy line would be "
            "nested deeper than Python's parser takes (about 200 parentheses); print it as "
            "text or LaTeX (--format text, --format latex)") from None
    exec(code, namespace)
    return source, namespace[name]


def _renames(reserved, exprs):
    """{name: name_}: the variables and dimensions of exprs whose names are reserved."""
    used = set()
    for x in exprs:
        for node in preorder_traversal(x):
            if isinstance(node, (MatrixSymbol, Symbol)):
                used.add(node.name)
            if getattr(node, "is_Matrix", False):
                used |= {s.name for d in node.shape for s in _sympify(d).free_symbols}
    out = {}
    for n in sorted(used & reserved):
        new = n + "_"
        while new in used or new in reserved or new in out.values():
            new += "_"
        out[n] = new
    return out


def _depth(e):
    """How deeply function applications nest in e (elementwise bodies included)."""
    memo = {}

    def walk(x):
        if x not in memo:
            inner = max((walk(a) for a in x.args if isinstance(a, sp.Basic)), default=0)
            memo[x] = inner + isinstance(x, sp.Function)
        return memo[x]
    return walk(e)


def _variables(e):
    """The matrix variables of e: its MatrixSymbols and differentials dX (not X inside dX)."""
    if isinstance(e, (MatrixSymbol, Differential)):
        return {e}
    return set().union(*(_variables(a) for a in e.args))
