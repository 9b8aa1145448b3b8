"""What a proof can afford, checked before it builds anything: the sizes of the matrices it
evaluates, and the size of f written out entry by entry.

Stage 1 (verify), beside the data path; needs only matcalc.core. Consumes a _Problem (its f,
G and variables) and the sizes a proof gives its dimensions; raises TooLargeError naming the
matrix or expression that is too large and what to do (name the dimensions so that the proof
runs at small sizes, use the numeric proof, or skip the proof). `ExplicitBudget` counts the
nodes of f written out as the exact proof builds it, and stops it at EXACT_MAX_NODES;
`check_solved` refuses determinants and inverses too large to write out before any is built;
`Deadline` stops an exact proof past EXACT_SECONDS (what no count predicts: sympy.diff of
large entries); `check_memory` refuses a numeric proof or check whose arrays exceed
MAX_BYTES, before any is allocated.
"""
import time

import sympy as sp
from sympy import Determinant, Inverse, MatPow, MatrixSymbol

from ..core.errors import TooLargeError
from ..core.expr import Elementwise, LogDet, is_matrix

NUMERIC_MAX_ENTRIES = 10 ** 6      # a matrix of the numeric proof: 8 MB of float64
EXACT_MAX_NODE_ENTRIES = 4000      # a matrix the exact proof writes out, entry by entry
EXACT_MAX_DEPTH = 60              # nesting levels of f and G (see nesting)
EXACT_MAX_NODES = 10_000         # distinct operations of f and G written out (~1 ms each)
# det, logdet and inverse written out (Berkowitz) of at most k×k: the gradient proof's of a
# 5×5 takes ~1 s, of a 6×6 ~10 s (the determinant's tree grows tenfold per size); Jacobian
# and Hessian proofs differentiate each entry again, so theirs stop at 4×4
EXACT_MAX_SOLVED, EXACT_MAX_SOLVED_TWICE = 5, 4
EXACT_SECONDS = 60               # an exact proof past this is stopped (Deadline)
MAX_BYTES = 2 ** 30              # the arrays of one numeric proof or code check: 1 GiB


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

    def __init__(self, limit=EXACT_MAX_NODES, deadline=None):
        self.limit, self.memo, self.nodes, self.deadline = limit, {}, 0, deadline

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
        if self.deadline is not None:
            self.deadline.check()
        if self.nodes > self.limit:
            self.refuse(f"written out has more than {_shown(self.limit)} distinct operations")
        return memo[e]

    def refuse(self, why):
        raise TooLargeError(
            f"the exact proof's expression budget is exceeded: f {why}; prove it with "
            "method=\"numeric\" (verify_numeric)",
            cli=f"the exact proof's expression budget is exceeded: f {why}; prove it with "
                "--verify numeric")


def _solved(e):
    """The matrix whose determinant or inverse e writes out, or None."""
    if isinstance(e, (Determinant, LogDet)):
        return e.arg
    if isinstance(e, MatPow) and (isinstance(e, Inverse) or e.exp.is_negative):
        return e.base if not isinstance(e, Inverse) else e.arg
    return None


def check_solved(exprs, sizes, limit, proof):
    """Refuse, before any entry is built, a determinant or inverse among exprs of a matrix
    larger than limit×limit at `sizes`: written out, its entries grow tenfold per size."""
    seen, stack = set(), list(exprs)
    while stack:
        e = stack.pop()
        if e in seen or not isinstance(e, sp.Basic):
            continue
        seen.add(e)
        stack.extend(e.args)
        m = _solved(e)
        if m is None:
            continue
        k = _dims(m.shape, sizes)[0]
        if k <= limit:
            continue
        name = min((x.name for x in m.atoms(MatrixSymbol)), default="X")
        why = (f"the {proof} proof writes {{0}} out in the entries of a {k}×{k} matrix, and it "
               f"writes determinants and inverses of at most {limit}×{limit} (each size more "
               f"multiplies them tenfold)")
        raise TooLargeError(
            why + f": give the dimensions names (shapes={{{{'{name}': ('n', 'n')}}}}) so that the "
            "proof runs at small sizes, or prove it with method=\"numeric\"",
            e,
            cli=why + f": declare the dimensions by name (--shape \"{name}=n x n\") so that the "
                "proof runs at small sizes, or use --verify numeric")


class Deadline:
    """Stops an exact proof that runs past `seconds` of processor time (the same on a busy
    machine): sympy.diff and expand of large entries cost what no count of f predicts.
    `check` is called between entries."""

    def __init__(self, what, seconds=None):
        self.what = what
        self.seconds = EXACT_SECONDS if seconds is None else seconds
        self.end = time.process_time() + self.seconds

    def check(self):
        if time.process_time() <= self.end:
            return
        why = (f"the exact proof of {self.what} did not finish in {self.seconds:g} s at the "
               "sizes it uses")
        raise TooLargeError(
            why + "; prove it with method=\"numeric\", or give smaller sizes",
            cli=why + "; use --verify numeric, or declare smaller sizes (--shape)")


def _bytes(n):
    return f"{n / 2 ** 30:.3g} GiB" if n >= 2 ** 30 else f"{n / 2 ** 20:.3g} MiB"


# the ways out of a memory refusal: (Python, CLI), where a size was declared large, and
# where the sizes are the proof's own small ones already
MEMORY_ADVICE = {
    ("proof", True): (
        "; give the dimensions names (shapes={{'X': ('n', 'm')}}) so that the proof runs at "
        "small sizes, or skip the proof",
        "; declare the dimensions by name (--shape \"X=n x m\") so that the proof runs at "
        "small sizes, or skip the proof with --verify none"),
    ("proof", False): ("; prove it with method=\"exact\", or skip the proof",
                       "; prove it exactly (--verify exact), or skip the proof with --verify "
                       "none"),
    ("code", True): (
        "; give the dimensions names (shapes={{'X': ('n', 'm')}}) so that the code is run at "
        "small sizes, or take the result as an expression",
        "; declare the dimensions by name (--shape \"X=n x m\") so that the code is run at "
        "small sizes, or print the result as text (--format text)"),
    ("code", False): ("; take the result as an expression",
                      "; print the result as text (--format text)"),
}
SMALL = 12                 # the largest size the numeric proof and the code check pick


def check_memory(exprs, sizes, what, copies=(), limit=MAX_BYTES, advice="proof"):
    """Refuse, before any allocation, `what` (a proof or a code check) whose float64 arrays
    need more than `limit` bytes: every distinct matrix node of exprs at `sizes` (the
    evaluators keep each node's value), and `copies`, [(node, bytes an entry)], the values
    held again (a complex copy, the printed code's own result)."""
    held = [(e, 8) for e in _matrix_nodes(exprs)] + \
        [(e, n) for e, n in copies if is_matrix(e)]
    total = sum(per * _count(_dims(e.shape, sizes)) for e, per in held)
    if total <= limit or not held:
        return
    node = max((e for e, _ in held), key=lambda e: _count(_dims(e.shape, sizes)))
    r, c = _dims(node.shape, sizes)
    why = (f"{what} needs {_bytes(total)} of memory at the sizes it uses, more than the "
           f"{_bytes(limit)} it may use ({{0}} alone is {r}×{c}, {_shown(r * c)} entries)")
    declared = any(sp.sympify(d).is_Integer and int(d) > SMALL for e, _ in held for d in e.shape)
    py, cli = MEMORY_ADVICE[advice, declared]
    raise TooLargeError(why + py, node, cli=why + cli)
