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

from ..core.dispatch import Table
from ..core.errors import TooLargeError
from ..core.expr import Elementwise, EntrySum, is_matrix
from ..core.functions import T
from .budget import (EXACT_MAX_DEPTH, EXACT_MAX_NODE_ENTRIES, EXACT_MAX_SOLVED,
                     NUMERIC_MAX_ENTRIES, Deadline, ExplicitBudget, _example, _shown,
                     check_sizes, check_solved, nesting)
from .evaluator import EXPLICIT, _Evaluator
from .sample import _fail, _find_point, _Problem, _sizes_used, as_matrix_variable

__all__ = ["verify_exact"]

EXACT_DPS, EXACT_RTOL, EXACT_ATOL = 50, 1e-25, 1e-30   # 25 digits of headroom
EXACT_POINTS, EXACT_MAX_ENTRIES, EXPAND_BUDGET = 3, 400, 20000
NAME_ABOVE = 200                # entries larger than this (as trees) are named in the proof
EXP_MAX_ARGUMENT = 10 ** 5      # exp(1e5) has 43430 digits; one more exp and it cannot be done


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


def _linearize(exprs, defs=()):
    """(program, outputs): every distinct compound subexpression of exprs named once, in order,
    as w := op(its arguments' names), so that each line is one elementary operation.

    The explicit f of a nested expression repeats subtrees exponentially often as a tree but
    not as a graph; walking the graph (iteratively: depth is no limit) keeps the program the
    size of the graph, and no SymPy routine ever sees a deep tree.
    """
    names, program = {}, []
    defined = {e: w for w, e in defs}
    roots = [e for _, e in defs] + list(exprs)
    for root in roots:
        stack = [(root, False)]
        while stack:
            e, ready = stack.pop()
            if e in names:
                continue
            if not e.args or isinstance(e, sp.Atom):
                names[e] = e
                continue
            if not ready:
                stack.append((e, True))
                stack.extend((a, False) for a in e.args if a not in names)
                continue
            args = [names[a] for a in e.args]
            new = e.func(*args) if any(a is not b for a, b in zip(args, e.args)) else e
            if e in defined:              # a value the evaluator named: the line keeps its name
                program.append((defined[e], new))
                names[e] = defined[e]
            elif isinstance(new, sp.Expr) and new.args and not isinstance(new, sp.Atom):
                w = sp.Dummy("w", real=True)
                program.append((w, new))
                names[e] = w
            else:                    # a number, a symbol, or a condition inside a Piecewise
                names[e] = new
        if root in defined and names[root] is not defined[root]:
            program.append((defined[root], names[root]))    # met before, inside another value
    return program, [names[e] for e in exprs]


def _spellable(ex):
    """ex with what mpmath cannot spell replaced: an infinite branch (1/relu(x) for x ≤ 0) by
    NaN, off the domain; sign′ = 2δ by 0, its value wherever the derivative exists."""
    subs = {sp.zoo: sp.nan, **{d: sp.S.Zero for d in ex.atoms(sp.DiracDelta)}}
    return ex.xreplace(subs)


def _reference_program(F, xs, gs, args, defs=()):
    """A function of the values of `args`: [f, ∂f/∂x for x in xs, *gs], in 50-digit mpmath.

    f and the gs are written as a program of elementary operations (_linearize); ∂f/∂x comes
    from sympy.diff of each operation by its arguments, combined by the chain rule in reverse
    (each w's adjoint is Σ over the lines u using w of ū · sympy.diff(u's operation, w)): the
    same derivative as sympy.diff of the whole f, in the size of f's graph.
    """
    program, outputs = _linearize([F, *gs], defs)
    bars = {}                                        # name -> the terms of its adjoint
    if isinstance(outputs[0], sp.Dummy) and program:
        bars[outputs[0]] = [sp.S.One]
    wanted = set(xs)
    backward = []
    for w, ex in reversed(program):
        terms = bars.pop(w, None)
        if not terms:
            continue
        wbar = sp.Dummy("wbar")
        backward.append((wbar, sp.Add(*terms)))
        for s, d in _partials(ex, lambda s: s in wanted or isinstance(s, sp.Dummy)):
            if d != 0:
                bars.setdefault(s, []).append(wbar * d)
    grads = [sp.Add(*bars.get(x, [])) if outputs[0] is not x else sp.S.One for x in xs]
    lines = [(w, _spellable(ex)) for w, ex in program + backward]
    fn = sp.lambdify(args, [_spellable(e) for e in [outputs[0], *grads, *outputs[1:]]],
                     [{"exp": _exp}, "mpmath"], cse=lambda exprs: (lines, exprs))
    return _runner(fn), len(program)


def _partials(ex, wanted):
    """[(s, sympy.diff(ex, s))] for the symbols s of the operation ex that `wanted` accepts; a
    sum term by term, so that a sum of k names costs k derivatives, not k²."""
    if not isinstance(ex, sp.Add):
        return [(s, sp.diff(ex, s)) for s in ex.free_symbols if wanted(s)]
    out = {}
    for a in ex.args:
        for s in a.free_symbols:
            if wanted(s):
                out.setdefault(s, []).append(sp.diff(a, s))
    return [(s, sp.Add(*ds)) for s, ds in out.items()]


def _exp(x):
    """mpmath.exp, refusing arguments whose exponential has more digits than a point is worth:
    exp(exp(…)) of a modest number would otherwise compute ln 2 to millions of digits. Such a
    point is not finite for the proof (OverflowError: run returns None, another is drawn)."""
    if abs(mpmath.re(x)) > EXP_MAX_ARGUMENT:
        raise OverflowError("exp of a huge argument")
    return mpmath.exp(x)


def _runner(fn):
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
    f, wrt, G = as_matrix_variable(f, wrt, G)      # a scalar s: the 1×1 S
    p = _Problem(f, wrt, G, assumptions)
    G = p.G       # with the equations among other variables substituted (assume.py)
    sizes = p.sizes(range(2, 100))
    concrete = {d: sp.Integer(n) for d, n in sizes.items()}
    # Sizes are checked before any entry is built: a 10^20×10^20 X is refused, not allocated.
    shapes = {m: tuple(int(sp.sympify(d).xreplace(concrete)) for d in m.shape)
              for m in p.matrices}
    n_entries = sum(r * c for r, c in shapes.values())
    if n_entries > EXACT_MAX_ENTRIES:
        numeric_ok = _numeric_can(p)
        why = f"these have {_shown(n_entries)} entries ({_sizes_used(sizes, wrt)})"
        name = _example(p, concrete)
        raise TooLargeError(
            f"verify_exact needs small matrices, but {why}; give the large dimensions names "
            f"(shapes={{'{name}': ('n', 'm')}}) so that the proof runs at small sizes, or " +
            ("use verify_numeric" if numeric_ok else "skip the proof"),
            cli=f"the exact proof needs small matrices, but {why}; declare the dimensions by "
                f"name (--shape \"{name}=n x m\") so that the proof runs at small sizes, or " +
                ("use --verify numeric" if numeric_ok else "skip the proof with --verify none"))
    check_sizes(p, concrete, EXACT_MAX_NODE_ENTRIES, "exact",
                (", use verify_numeric", ", use --verify numeric"))
    check_solved([p.f, G], concrete, EXACT_MAX_SOLVED, "exact")
    env = dict(concrete)
    for m, (r, c) in shapes.items():
        env[m] = sp.Matrix(r, c, lambda i, j: sp.Symbol(f"{m.name}[{i},{j}]", real=True))
    deadline = Deadline(f"∂f/∂{wrt.name}")
    budget = ExplicitBudget(deadline=deadline)
    depth = nesting([p.f, G])
    if depth > EXACT_MAX_DEPTH:
        budget.refuse(f"is nested {depth} levels deep, more than the {EXACT_MAX_DEPTH} it writes "
                      "out")
    ev = _Budgeted(_EXACT, env, budget)
    try:
        F = ev(p.f)
        F = F[0, 0] if isinstance(F, sp.MatrixBase) else F
        Gv = ev(G) if is_matrix(G) else sp.Matrix([[ev(G)]])
    except RecursionError:
        budget.refuse("is nested too deeply to be written out")
    X = env[wrt]
    entries = [(i, j) for i in range(X.rows) for j in range(X.cols)]
    unfolded = _unfold([F, *Gv], ev.defs, EXPAND_BUDGET) if _is_polynomial(p.f) and \
        _is_polynomial(G) else None
    if unfolded is not None:
        Ff, Gf = unfolded[0], sp.Matrix(Gv.rows, Gv.cols, unfolded[1:])
        wrong = []
        for i, j in entries:
            deadline.check()
            if sp.expand(sp.diff(Ff, X[i, j]) - Gf[i, j]) != 0:
                wrong.append((i, j))
        entries = wrong
        if not entries:
            return
    args = [s for m in p.matrices for s in env[m]] + p.scalars
    try:
        run, _ = _reference_program(F, [X[i, j] for i, j in entries],
                                    [Gv[i, j] for i, j in entries], args, ev.defs)
    except RecursionError:
        budget.refuse("is nested too deeply to be written out")
    rng = np.random.default_rng(seed)
    n = len(entries)
    for _ in range(EXACT_POINTS):
        deadline.check()
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


class _Budgeted(_Evaluator):
    """The explicit evaluator of the exact proof: every entry larger than NAME_ABOVE nodes as
    a tree becomes a symbol w (`defs` says what it stands for), so that no SymPy operation ever
    walks a large tree (its products ask assumptions of whole trees: X @ X @ … doubles the tree
    at each factor); ExplicitBudget refuses f past its budget of distinct nodes."""

    def __init__(self, table, env, budget):
        super().__init__(table, env)
        self.budget, self.defs, self.names = budget, [], {}

    def __call__(self, node):
        if node not in self.memo:
            self.memo[node] = self.named(self.table.rule(node)(self, node))
        return self.memo[node]

    def named(self, v):
        """v (a matrix or a scalar) with its large entries named."""
        return v.applyfunc(self._named) if isinstance(v, sp.MatrixBase) else self._named(v)

    def _named(self, e):
        if not isinstance(e, sp.Expr) or not e.args or self.budget.size(e) <= NAME_ABOVE:
            return e
        if e not in self.names:
            self.names[e] = w = sp.Dummy("v", real=True)
            self.defs.append((w, e))
        return self.names[e]


def _folding(op):
    """An n-ary product or sum whose partial results are named as they grow: X @ X @ … @ X is
    one node, whose entries double as trees at each factor."""
    def rule(ev, e):
        values = [ev(a) for a in e.args]
        out = values[0]
        for v in values[1:]:
            out = ev.named(op(out, v))
        return out
    return rule


_EXACT = Table("explicit evaluator", "EXPLICIT in verify/evaluator.py", {
    **EXPLICIT,
    MatMul: _folding(lambda a, b: a * b),
    MatAdd: _folding(lambda a, b: a + b),
    HadamardProduct: _folding(lambda a, b: a.multiply_elementwise(b)),
})


def _unfold(exprs, defs, limit):
    """exprs with the named values written back in, or None where that is over `limit` nodes
    as trees (for sympy.expand, which walks trees)."""
    meaning, sizes = dict(defs), {}

    def size(e):
        if e not in sizes:
            sizes[e] = size(meaning[e]) if e in meaning else \
                1 + sum(size(a) for a in e.args)
        return sizes[e]
    try:
        if sum(size(e) for e in exprs) > limit:
            return None
    except RecursionError:
        return None
    full = {}
    for w, e in defs:
        if w in sizes:                    # met: a value exprs use
            full[w] = e.xreplace(full)
    return [e.xreplace(full) for e in exprs]


def _numeric_can(p):
    """Would the numeric proof take these sizes (it refuses matrices over its budget)?"""
    try:
        check_sizes(p, p.sizes(range(5, 100)), NUMERIC_MAX_ENTRIES, "numeric", ("", ""))
    except TooLargeError:
        return False
    return True


def _flat(p, sample):
    """The sampled Rationals in the order of _reference_program's arguments."""
    return [v for m in p.matrices for v in sample[m].ravel()] + [sample[s] for s in p.scalars]
