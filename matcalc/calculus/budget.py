"""What a derivation can afford, checked before it runs: the size of the adjoints it writes.

Calculus (stage 2); needs only matcalc.core. Consumes a scalar f and the variable X; raises
TooLargeError where the reverse sweep would write adjoints too large to simplify in seconds.
Each occurrence of X gets an adjoint holding the other factors of every product on its way
up to f (the k factors of X @ X @ … @ X give each of the k terms the other k − 1), and the
argument of every nonlinear function (σ′(Z) holds Z); sums, transposes and traces pass it
on unchanged. `adjoint_size` adds these up over the occurrences, stopping at the limit.
"""
import sympy as sp
from sympy import (HadamardProduct, KroneckerProduct, MatAdd, MatMul, MatrixSymbol, Trace,
                   Transpose)

from ..core.errors import TooLargeError
from ..core.expr import EntrySum

__all__ = ["check_derivation", "adjoint_size", "MAX_ADJOINT"]

# the adjoints' total size: 4,000 is a product of 63 factors, derived in ~5 s (it grows as the
# size squared: 150 factors took 70–110 s)
MAX_ADJOINT = 4000

_PRODUCTS = (MatMul, HadamardProduct, KroneckerProduct, sp.Mul)
_LINEAR = (MatAdd, sp.Add, Transpose, Trace, EntrySum)


def adjoint_size(f, wrt, limit=MAX_ADJOINT):
    """Σ over the occurrences of wrt in f of the size of its adjoint (see the module
    docstring), counted until it passes `limit`."""
    sizes, total, stack = {}, 0, [(f, 0)]
    while stack and total <= limit:
        e, context = stack.pop()
        if e == wrt:
            total += context + 1
            continue
        args = [a for a in e.args if isinstance(a, sp.Basic)]
        if not args or not e.has(wrt):
            continue
        if isinstance(e, _LINEAR):
            stack.extend((a, context) for a in args)
        elif isinstance(e, _PRODUCTS):
            all_ = sum(_tree_size(a, sizes) for a in args)
            stack.extend((a, context + all_ - _tree_size(a, sizes)) for a in args)
        else:                  # nonlinear: the derivative holds the arguments themselves
            all_ = sum(_tree_size(a, sizes) for a in args)
            stack.extend((a, context + all_) for a in args)
    return total


def _tree_size(e, memo):
    """Nodes of e as a tree (shared subtrees counted each time), iteratively; a variable is
    one node."""
    stack = [e]
    while stack:
        x = stack[-1]
        if x in memo:
            stack.pop()
            continue
        kids = [] if isinstance(x, MatrixSymbol) else \
            [a for a in x.args if isinstance(a, sp.Basic)]      # X is one node, not its shape
        todo = [a for a in kids if a not in memo]
        if todo:
            stack.extend(todo)
            continue
        stack.pop()
        memo[x] = 1 + sum(memo[a] for a in kids)
    return memo[e]


def check_derivation(f, wrt, limit=MAX_ADJOINT):
    """Refuse, before the sweep, an f whose gradient's adjoints would pass `limit`."""
    size = adjoint_size(f, wrt, limit)
    if size <= limit:
        return
    raise TooLargeError(
        f"f is too large to differentiate as one expression: the adjoints of {{0}} would "
        f"hold more than {limit:,} factors (a product of k factors gives each of its k "
        f"terms the other k − 1), which takes minutes to simplify; write f with fewer "
        f"factors, or differentiate its parts one at a time (the chain rule joins them)",
        wrt)
