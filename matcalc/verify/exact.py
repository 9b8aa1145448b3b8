"""The exact proof: ∂f/∂X = G entry by entry, by sympy.diff on small concrete matrices.

Stage 1 (verify), beside the data path; needs only matcalc.core. Consumes a scalar f, the
variable X (a MatrixSymbol) and a claimed gradient G of X's shape (denominator layout);
returns None or raises VerificationError naming the entry, both values, the errors and the
tolerance. f is written out through EXPLICIT with a symbol per entry and differentiated by
sympy.diff (custom functions in their reference form, so no derivative rule of matcalc is
trusted); polynomials must expand to 0, anything else agree in 50-digit mpmath at random points.
"""
import mpmath
import numpy as np
import sympy as sp
from sympy import (Determinant, HadamardProduct, Identity, Inverse, MatAdd, MatMul, MatPow,
                   MatrixSymbol, OneMatrix, Trace, Transpose, ZeroMatrix)
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf
from sympy.matrices.expressions.matexpr import MatrixElement

from ..core.errors import ShapeError
from ..core.expr import Elementwise, EntrySum, is_matrix
from ..core.functions import T
from .evaluator import EXPLICIT, _Evaluator
from .sample import _fail, _find_point, _Problem, _sizes_used

__all__ = ["verify_exact"]

EXACT_DPS, EXACT_RTOL, EXACT_ATOL = 50, 1e-25, 1e-30   # 25 digits of headroom
EXACT_POINTS, EXACT_MAX_ENTRIES, EXPAND_BUDGET = 3, 400, 20000


# Node classes whose explicit value is a polynomial in the entries of their children.
_POLYNOMIAL = (MatMul, MatAdd, Transpose, HadamardProduct, DiagMatrix, DiagonalOf, MatrixElement,
               Trace, Determinant, EntrySum, sp.Add, sp.Mul)
_LEAVES = (MatrixSymbol, Identity, OneMatrix, ZeroMatrix, sp.Symbol, sp.Number)


def _is_polynomial(e):
    """Is the explicit value of e a polynomial in the entries? Then sympy.expand decides."""
    if isinstance(e, _LEAVES):
        return True
    if isinstance(e, Elementwise):
        return not e.body.atoms(sp.Function) and e.body.is_polynomial(T) and \
            _is_polynomial(e.arg)
    if isinstance(e, (sp.Pow, MatPow)) and not isinstance(e, Inverse):
        return e.exp.is_Integer and e.exp >= 0 and _is_polynomial(e.base)
    return isinstance(e, _POLYNOMIAL) and all(_is_polynomial(a) for a in e.args)


def _tree_size(e, memo):
    """The number of nodes of e written out as a tree, counted over its shared subtrees."""
    if e not in memo:
        memo[e] = 1 + sum(_tree_size(a, memo) for a in e.args)
    return memo[e]


def _chain(ex, x, dw):
    """d ex / dx, where ex depends on x directly and through the symbols w with dw/dx in dw."""
    return sp.diff(ex, x) + sp.Add(*[sp.diff(ex, w) * dw[w] for w in ex.free_symbols if w in dw])


def _spellable(ex):
    """ex with what mpmath cannot spell replaced: an infinite branch (1/relu(x) for x ≤ 0) by
    NaN, off the domain; sign′ = 2δ by 0, its value wherever the derivative exists."""
    subs = {sp.zoo: sp.nan, **{d: sp.S.Zero for d in ex.atoms(sp.DiracDelta)}}
    return ex.xreplace(subs)


def _reference_program(F, xs, gs, args):
    """A function of the values of `args`: [f, ∂f/∂x for x in xs, *gs], in 50-digit mpmath.

    The explicit f of a nested expression repeats subtrees exponentially often, so it is first
    split into its common subexpressions w = e(…) (sympy.cse), and sympy.diff is applied to
    each through the chain rule: the same derivative, in linear size.
    """
    reps, reduced = sp.cse([F, *gs], symbols=sp.numbered_symbols("w", cls=sp.Dummy, real=True),
                           order="none")     # real: d|w|/dw is sign(w), not re/im derivatives
    program, outputs = list(reps), [reduced[0], *reduced[1:]]
    for x in xs:
        dw = {}
        for w, ex in reps:
            d = _chain(ex, x, dw) if isinstance(ex, sp.Expr) else 0   # not a condition x > 0
            if d != 0:
                dw[w] = sp.Dummy("dw")
                program.append((dw[w], d))
        outputs.insert(len(outputs) - len(gs), _chain(reduced[0], x, dw))
    program = [(w, _spellable(ex)) for w, ex in program]
    fn = sp.lambdify(args, [_spellable(e) for e in outputs], "mpmath",
                     cse=lambda exprs: (program, exprs))

    def run(values):
        with mpmath.workdps(EXACT_DPS):
            try:
                out = [_real(v) for v in fn(*[mpmath.mpf(v.p) / v.q for v in values])]
            except (ZeroDivisionError, TypeError, ValueError, OverflowError):
                return None
        return None if out[0] is None else out
    return run


def _real(v):
    """v as a real mpf, or None where it is complex or not finite."""
    if isinstance(v, mpmath.mpc):
        if abs(v.imag) > EXACT_ATOL:
            return None
        v = v.real
    v = mpmath.mpf(v)
    return v if mpmath.isfinite(v) else None


def _show(v):
    return "not a finite real number" if v is None else mpmath.nstr(v, 15)


def verify_exact(f, wrt, G, assumptions=None, seed=0):
    """Prove ∂f/∂wrt = G entry by entry with sympy.diff on small concrete matrices.

    Each dimension symbol gets a distinct size 2, 3, 4, … (in order of first appearance), every
    matrix a grid of entry symbols. f is written out as one scalar SymPy expression (custom
    functions in their reference form) and differentiated by each entry of wrt. A polynomial
    difference must expand to 0; otherwise both sides are evaluated to 50 digits at 3 random
    rational points and must agree to a relative 1e-25.

    `assumptions` constrains the random points: a list of pairs (constraint, M), the constraint
    a name in CONSTRAINTS ("colsum1", "rowsum1", "positive", "symmetric") or a function of the
    sampled array.

    Examples
    ========

    >>> from matcalc.core.expr import matrix, matmul, trace, transpose
    >>> A, X, B = matrix('A', 'm', 'n'), matrix('X', 'n', 'p'), matrix('B', 'p', 'm')
    >>> verify_exact(trace(matmul(A, X, B)), X, matmul(transpose(A), transpose(B)))
    >>> S, Q = matrix('S', 'n', 'n'), matrix('Q', 'n', 'n')
    >>> verify_exact(trace(matmul(S, Q)), Q, S)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    matcalc.core.errors.VerificationError: ∂f/∂Q is wrong at entry (0, 1) (sizes used: n=2; ...
    ...
    """
    p = _Problem(f, wrt, G, assumptions)
    G = p.G       # with the equations among other variables substituted (assume.py)
    sizes = p.sizes(range(2, 100))
    concrete = {d: sp.Integer(n) for d, n in sizes.items()}
    env, n_entries = dict(concrete), 0
    for m in p.matrices:
        r, c = (int(sp.sympify(d).xreplace(concrete)) for d in m.shape)
        n_entries += r * c
        env[m] = sp.Matrix(r, c, lambda i, j: sp.Symbol(f"{m.name}[{i},{j}]", real=True))
    if n_entries > EXACT_MAX_ENTRIES:
        why = f"these have {n_entries} entries ({_sizes_used(sizes, wrt)})"
        raise ShapeError(f"verify_exact needs small matrices, but {why}; give the large "
                         "dimensions names such as 'n', or use verify_numeric",
                         cli=f"the exact proof needs small matrices, but {why}; give the "
                             "large dimensions names such as 'n' (--shape X='n x 3'), or "
                             "use --verify numeric")
    ev = _Evaluator(EXPLICIT, env)
    F = ev(p.f)
    F = F[0, 0] if isinstance(F, sp.MatrixBase) else F
    Gv = ev(G) if is_matrix(G) else sp.Matrix([[ev(G)]])
    X = env[wrt]
    entries = [(i, j) for i in range(X.rows) for j in range(X.cols)]
    memo = {}
    if _is_polynomial(p.f) and _is_polynomial(G) and \
            _tree_size(F, memo) + sum(_tree_size(g, memo) for g in Gv) <= EXPAND_BUDGET:
        entries = [(i, j) for i, j in entries if sp.expand(sp.diff(F, X[i, j]) - Gv[i, j]) != 0]
        if not entries:
            return
    args = [s for m in p.matrices for s in env[m]] + p.scalars
    run = _reference_program(F, [X[i, j] for i, j in entries], [Gv[i, j] for i, j in entries],
                             args)
    rng = np.random.default_rng(seed)
    n = len(entries)
    for _ in range(EXACT_POINTS):
        sample = _find_point(p, rng, concrete, True, lambda s: run(_flat(p, s)))
        values = run(_flat(p, sample))
        for (i, j), ref, got in zip(entries, values[1:1 + n], values[1 + n:]):
            if ref is None or got is None:
                err = rel = np.nan
            else:
                err, scale = abs(ref - got), max(abs(ref), abs(got))
                if err <= EXACT_RTOL * scale + EXACT_ATOL:
                    continue
                err, rel = float(err), float(err / scale)
            _fail(p, f"at entry ({i}, {j})", sizes, "exact sympy.diff at a random rational point",
                  f"{_show(got)}  (G[{i}, {j}], G = {{2}})",
                  f"{_show(ref)}  (sympy.diff(f, {{0}}[{i}, {j}]))",
                  err, rel, f"{EXACT_RTOL:g} relative")


def _flat(p, sample):
    """The sampled Rationals in the order of _reference_program's arguments."""
    return [v for m in p.matrices for v in sample[m].ravel()] + [sample[s] for s in p.scalars]
