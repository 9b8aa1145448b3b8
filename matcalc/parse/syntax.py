"""The whitelist: text read into Python's ast, and the node kinds a matcalc expression may use.

Stage 1 (parse). Consumes the user's text; `read` produces the ast of the expression after
the checks that need no shapes: a string, at most MAX_LENGTH characters, valid syntax,
nested at most MAX_DEPTH levels. `check`, `exponent` and `arguments` judge single nodes;
shapes.py's walk applies them as it meets each node, so the first error in reading order is
the one reported. Every rejection is a ParseError with a caret under its column (`fail`).
`ast.parse` only tokenises: no eval, exec or sympify ever sees user text.
"""
import ast
import difflib

from ..core.errors import ParseError

MAX_LENGTH = 2000
MAX_DEPTH = 100
OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.MatMult, ast.Pow)
_ALIASES = {"trace": "tr", "inverse": "inv", "transpose": ".T", "matmul": "@", "dot": "@"}
_FORBIDDEN = {ast.Lambda: "lambda", ast.IfExp: "a conditional expression",
              ast.NamedExpr: "assignment (:=)", ast.Subscript: "indexing", ast.BoolOp: "and/or",
              ast.Starred: "unpacking (*)", ast.JoinedStr: "an f-string", ast.Dict: "a dict",
              ast.Set: "a set", ast.List: "a list", ast.Tuple: "a tuple",
              **dict.fromkeys((ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp),
                              "a comprehension")}


def column(text, lineno, offset):
    """The caret column of an ast position: ast offsets count UTF-8 bytes, a caret characters.

    >>> column("λ + X", 1, 3)
    2
    """
    line = text.split("\n")[lineno - 1].encode()
    return len(line[:offset].decode(errors="ignore"))


def fail(text, node, message, col=None):
    """Raise ParseError(message) with a caret at the node, or at `col` when given."""
    col = column(text, node.lineno, node.col_offset) if col is None else col
    raise ParseError(message, text, col)


def read(text):
    """The ast of an expression (`ast.parse(text, mode="eval").body`), its size checked."""
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
    stack = [(tree, 0)]
    while stack:                        # iterative, so that depth itself cannot overflow
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            fail(text, node, f"the expression is nested deeper than {MAX_DEPTH} levels")
        if _chained(node):              # a + b + c is flat, however many terms
            links = chain(node)
            stack.extend((link.right, depth + 1) for link in links)
            stack.append((links[-1].left, depth + 1))
        else:
            stack.extend((c, depth + 1) for c in ast.iter_child_nodes(node)
                         if hasattr(c, "lineno"))
    return tree


def chain(node):
    """The links of a left-nested chain of binary operators, outermost first: a + b - c is
    (a + b) - c, one chain of two links whose innermost left operand is a. A power ends a
    chain (and is one of its own). The walks take a chain in a loop, not by recursion, so a
    sum of many terms is as deep as one term."""
    links = [node]
    while _chained(links[-1]) and _chained(links[-1].left):
        links.append(links[-1].left)
    return links


def _chained(node):
    return type(node) is ast.BinOp and type(node.op) is not ast.Pow


def check(text, node, calls):
    """Reject a node off the whitelist; its children are checked when the walk meets them.

    `calls` is the table of callable names (calls.CALLS): a name in it is a function.
    """
    kind = type(node)
    if kind is ast.Constant:
        v = node.value
        if type(v) not in (int, float):
            what = {str: "a string", bytes: "bytes", bool: str(v), type(None): "None"}
            fail(text, node, f"{what.get(type(v), repr(v))} is not allowed in an "
                             "expression; use numbers, names and operators")
    elif kind is ast.Name:
        if node.id.startswith("_"):
            fail(text, node, f"names starting with _ are not allowed: {node.id}")
        if node.id in calls:
            fail(text, node, f"{node.id} is a function; call it as {node.id}(...)")
    elif kind is ast.UnaryOp and type(node.op) in (ast.USub, ast.UAdd):
        pass
    elif kind is ast.BinOp:
        if type(node.op) not in OPERATORS:
            _unsupported_operator(text, node)
    elif kind is ast.Attribute:
        if node.attr != "T":
            col = column(text, node.end_lineno, node.end_col_offset) - len(node.attr)
            fail(text, node, f"only the attribute .T (transpose) is allowed, not "
                             f".{node.attr}", col=col)
    elif kind is ast.Call:
        _callee(text, node, calls)
    elif kind is ast.Compare:
        fail(text, node, "comparisons are allowed only in assumptions (lhs == rhs, lhs > rhs)")
    else:
        what = _FORBIDDEN.get(kind, type(node).__name__)
        fail(text, node, f"{what} is not allowed in a matcalc expression")


def _unsupported_operator(text, node):
    # The ast keeps no position for the operator: its spelling lies between the operands.
    start = column(text, node.left.end_lineno, node.left.end_col_offset)
    line = text.split("\n")[node.left.end_lineno - 1]
    spelling = line[start:column(text, node.lineno, node.right.col_offset)].strip(" ()")
    fail(text, node, f"the operator {spelling} is not supported; use + - * / ** @",
         col=start + line[start:].index(spelling))


# Matrix functions (SciPy's names): a "did you mean exp?" would offer a different function.
_MATRIX_FUNCTIONS = {"expm": "the matrix exponential", "logm": "the matrix logarithm",
                     "sqrtm": "the matrix square root", "matrix_power": "the matrix power",
                     "funm": "a matrix function"}
_ENTRYWISE_NOTE = ("matcalc's exp, log, sqrt and ** act entry by entry, which is a different "
                   "function; on whole matrices it has @, inv, det, logdet, tr and norm (a "
                   "matrix power is a product: X @ X @ X)")


def _callee(text, node, calls):
    f = node.func
    if type(f) is not ast.Name:
        fail(text, node, "only named functions can be called, such as tr(X)")
    if f.id in _MATRIX_FUNCTIONS and f.id not in calls:
        fail(text, f, f"{f.id} ({_MATRIX_FUNCTIONS[f.id]}) is not supported: {_ENTRYWISE_NOTE}")
    if f.id not in calls:
        close = [_ALIASES[f.id]] if f.id in _ALIASES else \
            difflib.get_close_matches(f.id, calls, n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else \
            f"; known functions: {', '.join(sorted(calls))}"
        fail(text, f, f"{f.id} is not a known function{hint}")


def exponent(text, node):
    """Reject a power whose exponent is not a number (checked after the base is walked)."""
    if not all(isinstance(n, (ast.Constant, ast.UnaryOp, ast.BinOp, ast.operator, ast.unaryop))
               for n in ast.walk(node.right)):
        fail(text, node.right, "the exponent must be a number, such as 2 or 0.5")


# The optional literal parameters: the values each takes, how a signature shows it, and what
# a wrong value is told ({name} the function).
OPTIONS = {
    "axis": ((0, 1), "axis=0|1", "axis must be 0 (columns) or 1 (rows) in {name}"),
    "ord": ((1, 2, "fro", "nuc"), "ord=1|2|'fro'|'nuc'",
            "the order of {name} must be 1, 2, 'fro' or 'nuc' (as in NumPy's norm)"),
}


def arguments(text, node, fn):
    """The positional arguments of a call of `fn` and its option (an axis, a norm's order;
    None when not given).

    Checks the arity against fn.params and that an option is one of its literal values.
    """
    name, args, value = node.func.id, list(node.args), None
    option = next((p for p in fn.params if p in OPTIONS), None)
    for kw in node.keywords:
        if kw.arg != option or option is None:
            what = "**" if kw.arg is None else f"{kw.arg}="
            fail(text, kw.value, f"{name} takes no keyword {what}" +
                 (f"; the only keyword is {option}" if option else ""))
        args.append(kw.value)
    required = [p for p in fn.params if p not in OPTIONS]
    if not len(required) <= len(args) <= len(fn.params):
        sig = ", ".join(OPTIONS[p][1] if p in OPTIONS else p for p in fn.params)
        fail(text, node, f"{name} takes {len(required)} argument"
                         f"{'s' if len(required) > 1 else ''}, {name}({sig}), "
                         f"but was given {len(args)}")
    if len(args) > len(required):
        a = args.pop()
        allowed, _, message = OPTIONS[option]
        if not (type(a) is ast.Constant and type(a.value) in (int, str) and
                a.value in allowed):
            fail(text, a, message.format(name=name))
        value = a.value
    return args, value
