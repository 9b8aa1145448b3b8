"""Proofs of Jacobians and Hessians: entrywise against sympy.diff, and by central differences.

Stage 1 (verify), beside the data path; needs only matcalc.core. Consumes a claimed
numerator-layout Jacobian J of F (d vec F = J d vec X), a Hessian matrix H of a scalar f
(∂²f/∂vec X ∂vec Xᵀ), or a Hessian–vector product H[V] with the gradient G it differentiates;
returns None or raises VerificationError naming the entry (or direction), both values and the
tolerance. Exact: vec F and X written out with a symbol per entry on small concrete sizes,
sympy.diff once (J) or twice (H, H[V]); polynomials expand to 0, anything else agrees in
50-digit mpmath at random rational points, printed as a program (each shared subexpression
once). Numeric: at sizes 5 to 12, central differences of F (J), of f along two directions (H)
or of G (H[V]). Both are bounded before they run (budget.py): the exact proof by f's nodes,
nesting, det/inverse sizes (4×4) and its time, the numeric one by the memory of its arrays,
checked before the exact proof starts.
"""
import mpmath
import numpy as np
import sympy as sp

from ..core.errors import InternalError, MatcalcError, TooLargeError, VerificationError
from ..core.expr import entry_sum, is_matrix, shape
from ..core.scalars import as_matrix, in_matrices, matrix_variable
from .evaluator import EXPLICIT, NUMERIC, _Evaluator
from .budget import (EXACT_MAX_DEPTH, EXACT_MAX_SOLVED_TWICE, Deadline, ExplicitBudget,
                     check_memory, check_solved, nesting)
from .exact import _is_polynomial, _linearize, _real
from .sample import _Problem, _sizes_used

__all__ = ["verify_jacobian", "verify_hessian", "verify_hvp", "verify_printed"]

EXACT_MAX_CLAIMED = 4000     # entries of J or H written out and differentiated
EXACT_DPS, EXACT_RTOL, EXACT_ATOL, EXACT_POINTS = 50, 1e-25, 1e-30, 3
NUMERIC_RTOL, ROUNDOFF = 1e-5, 1e3
TRIES = 6


def verify_jacobian(F, X, J, method="both", assumptions=None, seed=0):
    """Prove d vec F = J d vec X (J numerator layout: |F| rows, |X| columns).

    >>> from matcalc.core.expr import matrix, matmul, eye
    >>> from matcalc.core.kron import kron
    >>> A, X = matrix('A', 'm', 'n'), matrix('X', 'n', 'p')
    >>> verify_jacobian(matmul(A, X), X, kron(eye('p'), A))
    >>> verify_jacobian(matmul(A, X), X, kron(A, eye('p')))   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    matcalc.core.errors.VerificationError: the Jacobian ∂vec(F)/∂vec(X)ᵀ is wrong at entry ...
    """
    _check(J, (_size(F), _size(X)), "the Jacobian", "|vec F|×|vec X|")
    _prove(_Claim("jacobian", F, X, J), method, assumptions, seed)


def verify_hessian(f, X, H, method="both", assumptions=None, seed=0):
    """Prove H = ∂²f/∂vec X ∂vec Xᵀ for a scalar f."""
    _check(H, (_size(X), _size(X)), "the Hessian", "|vec X|×|vec X|")
    _prove(_Claim("hessian", f, X, H), method, assumptions, seed)


def verify_hvp(f, X, V, HV, G, method="both", assumptions=None, seed=0):
    """Prove HV = H[V] = d/dε ∇f(X + εV) at 0: exactly against sympy.diff of f twice, and
    numerically against central differences of the gradient G (itself proven)."""
    _check(HV, tuple(shape(X)), "the Hessian–vector product", "the shape of X")
    _prove(_Claim("hvp", f, X, HV, V, G), method, assumptions, seed)


class _Claim:
    """What is claimed: kind, the function, X, the claimed matrix, the direction and G."""

    def __init__(self, kind, F, X, claim, V=None, G=None):
        self.kind, self.F, self.X, self.claim, self.V, self.G = kind, F, X, claim, V, G

    @property
    def what(self):
        x = self.X.name            # the variable's own name, as grad's messages give it
        return {"jacobian": f"the Jacobian ∂vec(F)/∂vec({x})ᵀ",
                "hessian": f"the Hessian ∂²f/∂vec({x})∂vec({x})ᵀ",
                "hvp": "the Hessian–vector product H[V]"}[self.kind]


def _size(m):
    return m.shape[0] * m.shape[1] if is_matrix(m) else sp.Integer(1)


def _check(claim, shape, what, expected):
    got = tuple(claim.shape) if is_matrix(claim) else (1, 1)
    if tuple(sp.simplify(a - b) for a, b in zip(got, shape)) != (0, 0):
        raise VerificationError(f"{what} claimed is {got[0]}×{got[1]}, not {shape[0]}×"
                                f"{shape[1]} ({expected}): the shapes differ")


def _prove(c, method, assumptions, seed):
    if method not in ("exact", "numeric", "both"):
        raise ValueError(f"method must be 'exact', 'numeric' or 'both', not {method!r}")
    c = _one_by_one(c)
    scalar = entry_sum(c.F) if is_matrix(c.F) and c.F.shape != (1, 1) else c.F
    p = _Problem(scalar, c.X, c.claim if c.kind == "hvp" else c.X, assumptions)
    if c.V is not None and c.V not in p.matrices:     # H[V] = 0: V drawn all the same
        p.matrices = sorted([*p.matrices, c.V], key=lambda m: m.name)
    if method in ("numeric", "both"):        # refused before the exact proof runs
        _numeric_memory(p, c, _numeric_sizes(p, np.random.default_rng(seed)))
    if method in ("exact", "both"):
        _exact(p, c, seed)
    if method in ("numeric", "both"):
        _numeric(p, c, seed)


def _one_by_one(c):
    """The claim with a scalar variable s (and a scalar direction v) as the 1×1 matrix S it is,
    s = tr(S) wherever it stands, and a scalar claim as the 1×1 matrix it is (core/scalars.py,
    as every proof by a scalar variable)."""
    if isinstance(c.X, sp.MatrixSymbol):
        return c
    X = matrix_variable(c.X)
    V = None if c.V is None else matrix_variable(c.V)
    into = {c.X: X, **({} if V is None else {c.V: V})}
    return _Claim(c.kind, in_matrices(c.F, into), X, as_matrix(c.claim, into), V,
                  None if c.G is None else as_matrix(c.G, into))


# ---------------------------------------------------------------- exact

def _explicit(ev, e):
    v = ev(e)
    return v if isinstance(v, sp.MatrixBase) else sp.Matrix([[v]])


def _exact(p, c, seed):
    sizes = p.sizes(range(2, 100))
    concrete = {d: sp.Integer(n) for d, n in sizes.items()}
    shapes = {m: tuple(int(sp.sympify(d).xreplace(concrete)) for d in m.shape)
              for m in p.matrices}
    rows, cols = shapes[c.X]
    claimed_entries = (rows * cols) * (1 if c.kind == "hvp" else
                                       int(sp.sympify(_size(c.F)).xreplace(concrete)))
    if claimed_entries > EXACT_MAX_CLAIMED:
        why = (f"the exact proof of {c.what} would write out {claimed_entries} entries "
               f"({_sizes_used(sizes, c.X)}), more than {EXACT_MAX_CLAIMED}; ")
        raise TooLargeError(why + "give the dimensions names so that it runs at small sizes, "
                            "or prove it numerically (method=\"numeric\")",
                            cli=why + f"declare the dimensions by name (--shape "
                            f"\"{c.X.name}=n x m\") so that it runs at small sizes, or use "
                            "--verify numeric")
    exprs = [c.F, c.claim] + ([] if c.G is None else [c.G])
    check_solved(exprs, concrete, EXACT_MAX_SOLVED_TWICE, "exact")
    deadline = Deadline(c.what)
    budget = ExplicitBudget(deadline=deadline)
    depth = nesting(exprs)
    if depth > EXACT_MAX_DEPTH:
        budget.refuse(f"is nested {depth} levels deep, more than the {EXACT_MAX_DEPTH} it writes "
                      "out")
    env = dict(concrete)
    for m, (r, k) in shapes.items():
        # identifiers, so that lambdify need not rename them through every large entry
        env[m] = sp.Matrix(r, k, lambda i, j: sp.Symbol(f"{m.name}_{i}_{j}", real=True))
    ev = _Evaluator(EXPLICIT, env)
    xs = list(env[c.X].vec())
    F = _counted(budget, _explicit(ev, c.F))

    def diff(e, x):
        deadline.check()
        return sp.diff(e, x)
    if c.kind == "jacobian":
        out = F.vec()
        ref = sp.Matrix(len(out), len(xs), lambda k, l: diff(out[k], xs[l]))
        got = _explicit(ev, c.claim)
    elif c.kind == "hessian":
        g = [diff(F[0, 0], x) for x in xs]
        ref = sp.Matrix(len(xs), len(xs), lambda k, l: diff(g[k], xs[l]))
        got = _explicit(ev, c.claim)
    else:       # H vec V = ∇(Σ_l ∂f/∂x_l v_l): |X| second derivatives instead of |X|²
        slope = sum(diff(F[0, 0], x) * v for x, v in zip(xs, env[c.V].vec()))
        ref = sp.Matrix([diff(slope, x) for x in xs])
        got = _explicit(ev, c.claim).vec()
    # sign′ = 2δ, step′ = δ: 0 wherever the derivative exists (random points), as exact.py
    ref = ref.xreplace({d: sp.S.Zero for d in ref.atoms(sp.DiracDelta)})
    entries = [(k, l) for k in range(ref.rows) for l in range(ref.cols)]
    if _is_polynomial(c.F) and _is_polynomial(c.claim):
        wrong = [(k, l) for k, l in entries
                 if deadline.check() or sp.expand(ref[k, l] - got[k, l]) != 0]
        if not wrong:
            return
        entries = wrong          # shown at a point, with numbers
    args = [s for m in p.matrices for s in env[m]] + p.scalars
    fn = _program(args, [ref[k, l] for k, l in entries], [got[k, l] for k, l in entries])
    rng = np.random.default_rng(seed)
    for _ in range(EXACT_POINTS):
        values = _exact_point(p, rng, concrete, fn, len(entries))
        for (k, l), r, g in zip(entries, *values):
            err, scale = abs(r - g), max(abs(r), abs(g))
            if err <= EXACT_RTOL * scale + EXACT_ATOL:
                continue
            where = f"at entry ({k}, {l})" if c.kind != "hvp" else \
                f"at entry {k} of vec(H[V])"
            _fail(c, where, sizes, "exact sympy.diff at a random rational point",
                  mpmath.nstr(g, 15), mpmath.nstr(r, 15), float(err), float(err / scale))


def _counted(budget, v):
    """v, its distinct nodes counted against the proof's budget (ExplicitBudget refuses f
    past EXACT_MAX_NODES; what sympy.diff then makes of it, the Deadline bounds)."""
    for e in v:
        budget.size(e)
    return v


def _program(args, ref, got):
    """fn(*values) -> ([ref entries], [got entries]) in mpmath, printed as a program with each
    shared subexpression once (exact.py's _linearize): printed as trees, the entries of
    inv(X) at 4×4 are 200,000 nodes and lambdify takes seconds per entry."""
    program, outputs = _linearize([*ref, *got])
    fn = sp.lambdify(args, outputs, "mpmath", cse=lambda exprs: (program, exprs))
    n = len(ref)

    def run(*values):
        out = fn(*values)
        return out[:n], out[n:]
    return run


def _exact_point(p, rng, concrete, fn, n):
    """([reference entries], [claimed entries]) in 50-digit mpmath at a random rational point
    where every entry is finite and real: signed first, then positive."""
    for attempt in range(TRIES):
        sample = p.sample(rng, concrete, True, positive=attempt > 0)
        flat = [v for m in p.matrices for v in np.asarray(sample[m]).ravel()] + \
            [sample[s] for s in p.scalars]
        with mpmath.workdps(EXACT_DPS):
            try:
                ref, got = fn(*[mpmath.mpf(v.p) / v.q for v in flat])
                ref, got = [[_real(v) for v in vs] for vs in (ref, got)]
            except (ZeroDivisionError, TypeError, ValueError, OverflowError):
                continue
        if all(v is not None for v in ref + got):
            return ref, got
    raise VerificationError("could not find a point where f and the claim are real and "
                            f"finite in {TRIES} tries; constrain the inputs (assume …)")


# ---------------------------------------------------------------- numeric

def _numeric_sizes(p, rng):
    return p.sizes([int(k) for k in rng.permutation(np.arange(5, 13))] + list(range(13, 99)))


def _numeric_memory(p, c, sizes):
    """Refused before any allocation: each node's value, and F and the claim again as
    complex arrays."""
    check_memory([c.F, c.claim] + ([] if c.G is None else [c.G]), sizes,
                 f"the numeric proof of {c.what}", copies=[(c.claim, 16), (c.F, 16)])


def _numeric(p, c, seed):
    rng = np.random.default_rng(seed)
    sizes = _numeric_sizes(p, rng)
    _numeric_memory(p, c, sizes)
    dims = tuple(int(sp.sympify(d).xreplace(sizes)) for d in c.X.shape)
    eps = np.finfo(float).eps

    def value(env, e):
        with np.errstate(all="ignore"):
            v = np.asarray(_Evaluator(NUMERIC, env)(e), dtype=complex)
        if not np.all(np.isfinite(v)) or np.any(v.imag != 0):
            return None
        return np.atleast_2d(v.real)

    env = None
    for attempt in range(TRIES):
        env = {**sizes, **p.sample(rng, sizes, False, positive=attempt > 0)}
        if value(env, c.F) is not None and value(env, c.claim) is not None:
            break
    else:
        raise VerificationError("could not find a point where f and the claim are real and "
                                f"finite in {TRIES} tries; constrain the inputs (assume …)")
    X0 = env[c.X]
    vec = lambda a: np.asarray(a).reshape((-1, 1), order="F")   # noqa: E731
    V = rng.standard_normal(dims)
    at = lambda e, dx: value({**env, c.X: X0 + dx}, e)          # noqa: E731
    if c.kind == "jacobian":
        h = 1e-6 * max(1.0, float(np.abs(X0).max()))
        fp, fm = at(c.F, h * V), at(c.F, -h * V)
        ref = (vec(fp) - vec(fm)) / (2 * h) if fp is not None and fm is not None else None
        got = value(env, c.claim) @ vec(V)
        floor = ROUNDOFF * eps * max(np.abs(fp).max(), np.abs(fm).max(), 1.0) / h \
            if ref is not None else 0
    elif c.kind == "hessian":
        W = rng.standard_normal(dims)
        h = 1e-4 * max(1.0, float(np.abs(X0).max()))
        vals = [at(c.F, h * (a * V + b * W)) for a, b in ((1, 1), (1, -1), (-1, 1), (-1, -1))]
        ref = None if any(v is None for v in vals) else \
            (vals[0] - vals[1] - vals[2] + vals[3]) / (4 * h * h)
        got = vec(W).T @ value(env, c.claim) @ vec(V)
        floor = 10 * eps * max(max(abs(float(v[0, 0])) for v in vals), 1.0) / h ** 2 \
            if ref is not None else 0
    else:
        h = 1e-6 * max(1.0, float(np.abs(X0).max()))
        gp, gm = at(c.G, h * V), at(c.G, -h * V)
        ref = (gp - gm) / (2 * h) if gp is not None and gm is not None else None
        got = value({**env, c.V: V}, c.claim)
        floor = ROUNDOFF * eps * max(np.abs(gp).max(), np.abs(gm).max(), 1.0) / h \
            if ref is not None else 0
    if ref is None:
        _fail(c, "along a random direction", sizes, "central differences", "?",
              "not finite", np.nan, np.nan)
    err = float(np.abs(ref - got).max())
    scale = max(float(np.abs(ref).max()), float(np.abs(got).max()))
    if not err <= NUMERIC_RTOL * scale + floor:
        i = np.unravel_index(int(np.argmax(np.abs(ref - got))), np.shape(ref))
        _fail(c, f"along a random direction (entry {tuple(int(k) for k in i)})", sizes,
              "central differences along random directions", f"{float(got[i]):.12g}",
              f"{float(ref[i]):.12g}", err, err / scale if scale else np.inf)


def _fail(c, where, sizes, method, got, ref, abs_err, rel_err):
    used = _sizes_used(sizes, c.X).replace("{", "{{").replace("}", "}}")
    raise VerificationError(
        f"{c.what} is wrong {where} (sizes used: {used})\n"
        "  f:         {0}\n  claimed:   {1}\n"
        f"  value:     {got}\n  reference: {ref}\n"
        f"  abs error: {abs_err:.3g}, rel error: {rel_err:.3g}\n"
        f"  method:    {method}", c.F, c.claim)


# ---------------------------------------------------------------- printed code on trial

def verify_printed(fn, args, e, F, X, V=None, assumptions=None, seed=0, source=None):
    """Run fn(*args), code printed from the matrix e (a Jacobian, a Hessian or H[V] of F with
    respect to X, in whatever layout it was printed), at CODE_POINTS random points and compare
    with NUMERIC's value of e there; InternalError (a bug of the printer) when they differ."""
    numbers = {}                    # a scalar variable or direction: the entry of its 1×1
    if not isinstance(X, sp.MatrixSymbol):
        c = _one_by_one(_Claim("hvp" if V is not None else "jacobian", F, X, e, V))
        numbers = {X: c.X, **({} if V is None else {V: c.V})}
        F, X, V, e = c.F, c.X, c.V, c.claim
    scalar = entry_sum(F) if is_matrix(F) and F.shape != (1, 1) else F
    try:
        p = _Problem(scalar, X, X if V is None else V, assumptions)
    except MatcalcError:            # an assumption the sampler cannot honour: no tie
        p = _Problem(scalar, X, X if V is None else V, None)
    rng = np.random.default_rng(seed)
    sizes = p.sizes([int(k) for k in rng.permutation(np.arange(5, 13))] + list(range(13, 99)))
    # the evaluator's values, and the code's result beside the reference (the code's own
    # intermediates are at least as many)
    check_memory([e], sizes, "the check of the printed NumPy code", copies=[(e, 16)],
                 advice="code")
    dims = tuple(int(sp.sympify(d).xreplace(sizes)) for d in e.shape)
    for attempt in range(CODE_POINTS):
        env = {**sizes, **p.sample(rng, sizes, False, positive=attempt > 0)}
        with np.errstate(all="ignore"):
            ref = np.broadcast_to(np.asarray(_Evaluator(NUMERIC, env)(e), dtype=float), dims)
            env.update({s: float(env[m][0, 0]) for s, m in numbers.items()})
            try:
                got = np.asarray(fn(*[env[a] for a in args]))
                got = got.reshape(dims) if numbers and got.shape == () else got
            except Exception as exc:
                _code_fail(f"raised {type(exc).__name__}: {exc}", sizes, source)
        if got.shape != dims:
            _code_fail(f"returned shape {got.shape}, not {dims}", sizes, source)
        finite = np.isfinite(ref)
        scale = max(1.0, float(np.abs(ref[finite]).max())) if finite.any() else 1.0
        err = np.where(finite, np.abs(np.where(np.isfinite(got), got, np.inf) - ref), 0.0)
        if not err.max() <= CODE_RTOL * scale:
            i, j = np.unravel_index(int(np.argmax(err)), dims)
            _code_fail(f"returned {float(got[i, j]):.12g} at entry ({i}, {j}) where the value "
                       f"is {float(ref[i, j]):.12g}", sizes, source)


CODE_POINTS, CODE_RTOL = 3, 1e-8


def _code_fail(what, sizes, source):
    named = ", ".join(f"{d}={n}" for d, n in sizes.items())
    raise InternalError(f"the generated NumPy code is wrong: at a random point (sizes {named}) "
                        f"it {what}" + (f"\n{source}" if source else ""))
