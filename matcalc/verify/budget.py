"""What a proof can afford, checked before it builds anything: the sizes of the matrices it
evaluates, and the size of f written out entry by entry.

Stage 1 (verify), beside the data path; needs only matcalc.core. Consumes a _Problem (its f,
G and variables) and the sizes a proof gives its dimensions; raises TooLargeError naming the
matrix or expression that is too large and what to do (name the dimensions so that the proof
runs at small sizes, use the numeric proof, or skip the proof). `ExplicitBudget` counts the
nodes of f written out as the exact proof builds it, and stops it at EXACT_MAX_NODES.
"""
import sympy as sp
from sympy import MatrixSymbol

from ..core.errors import TooLargeError
from ..core.expr import Elementwise, is_matrix

NUMERIC_MAX_ENTRIES = 10 ** 6      # a matrix of the numeric proof: 8 MB of float64
EXACT_MAX_NODE_ENTRIES = 4000      # a matrix the exact proof writes out, entry by entry
EXACT_MAX_DEPTH = 60              # nesting levels of f and G (see nesting)
EXACT_MAX_NODES = 10_000         # distinct operations of f and G written out (~1 ms each)


def _dims(shape, sizes):
    return tuple(int(sp.sympify(d).xreplace(sizes)) for d in shape)


def _matrix_nodes(exprs):
    """Every distinct matrix-valued node of exprs, each once (iteratively: depth is no limit)."""
    seen, stack, out = set(), list(exprs), []
    while stack:
        e = stack.pop()
        if e in seen or not isinstance(e, sp.Basic):
            continue
        seen.add(e)
        if is_matrix(e):
            out.append(e)
        stack.extend(e.args)
    return out


def _largest(p, sizes):
    """(node, (rows, cols)) of the matrix with the most entries among f, G and the variables."""
    best, dims = None, (0, 0)
    for e in [*p.matrices, *_matrix_nodes([p.f, p.G])]:
        d = _dims(e.shape, sizes)
        if d[0] * d[1] > dims[0] * dims[1] or best is None:
            best, dims = e, d
    return best, dims


def _example(p, sizes):
    """A variable to name in the advice: the largest one with a fixed size."""
    fixed = [m for m in p.matrices if any(sp.sympify(d).is_Integer for d in m.shape)]
    m = max(fixed or p.matrices or [p.wrt], key=lambda m: _count(_dims(m.shape, sizes)))
    return m.name


def _count(d):
    return d[0] * d[1]


def _shown(n):
    return f"{n:,}" if n < 10 ** 12 else f"about 10^{len(str(n)) - 1}"


def check_sizes(p, sizes, limit, proof, instead):
    """Raise TooLargeError if a matrix of f, G or the variables has more than `limit` entries
    at `sizes`. `proof` names the proof ("numeric"), `instead` the other ways out."""
    node, (r, c) = _largest(p, sizes)
    if node is None or r * c <= limit:
        return
    name = _example(p, sizes)
    what = "{0}" if isinstance(node, MatrixSymbol) else "{0} (an intermediate value)"
    why = (f"{what} is {r}×{c}, {_shown(r * c)} entries, at the sizes the {proof} proof uses; "
           f"it handles matrices of at most {_shown(limit)} entries")
    raise TooLargeError(
        f"{why}: give the large dimensions names (shapes={{{{'{name}': ('n', 'm')}}}}) so "
        f"that the proof runs at small sizes{instead[0]}, or skip the proof",
        node,
        cli=f"{why}: declare the dimensions by name (--shape \"{name}=n x m\") so that the "
            f"proof runs at small sizes{instead[1]}, or skip the proof with --verify none")


def nesting(exprs):
    """How deeply exprs nest, an elementwise body counting its own depth on top of its
    argument's (σ(σ(X)) is two levels more than X): SymPy walks its trees recursively, and the
    exact proof's reference forms (σ(x) = 1/(1 + e^(−x))) multiply the depth."""
    memo = {}
    for e in exprs:
        stack = [e]
        while stack:                     # post-order, iteratively
            x = stack[-1]
            if x in memo:
                stack.pop()
                continue
            kids = [x.body, x.arg] if isinstance(x, Elementwise) else list(x.args)
            todo = [k for k in kids if k not in memo]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            memo[x] = memo[x.body] + memo[x.arg] if isinstance(x, Elementwise) else \
                1 + max((memo[k] for k in kids), default=0)
    return max((memo[e] for e in exprs), default=0)


class ExplicitBudget:
    """Counts the distinct nodes of f and G written out (the exact proof's program of elementary
    operations, each shared subexpression once) and refuses past EXACT_MAX_NODES. `size` is
    the tree size of a value (shared subtrees counted each time they occur, as SymPy's tree
    walks meet them), which decides what the exact proof names."""

    def __init__(self, limit=EXACT_MAX_NODES):
        self.limit, self.memo, self.nodes = limit, {}, 0

    def size(self, e):
        """The tree size of e; the nodes not met before count against the budget."""
        memo, stack, before = self.memo, [e], len(self.memo)
        while stack:                     # post-order, iteratively
            x = stack[-1]
            if x in memo:
                stack.pop()
                continue
            todo = [a for a in x.args if a not in memo]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            memo[x] = 1 + sum(memo[a] for a in x.args)
        self.nodes += len(memo) - before
        if self.nodes > self.limit:
            self.refuse(f"written out has more than {_shown(self.limit)} distinct operations")
        return memo[e]

    def refuse(self, why):
        raise TooLargeError(
            f"the exact proof's expression budget is exceeded: f {why}; prove it with "
            "method=\"numeric\" (verify_numeric)",
            cli=f"the exact proof's expression budget is exceeded: f {why}; prove it with "
                "--verify numeric")
