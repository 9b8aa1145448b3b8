"""Assumptions that tie the values of a point together: lhs = rhs, and e > 0.

Stage 1 (verify), beside the data path; needs only matcalc.core. sample.py's CONSTRAINTS act
on one sampled matrix at a time; the assumptions here relate several. Consumes the pairs
("equals", (lhs, rhs)) and ("positive", e) (e any expression but a bare matrix variable,
which CONSTRAINTS["positive"] serves), f, the claimed G and the variable X; produces the f and
G to prove (an equation between expressions free of X substituted into both, as the
simplifier rewrote them) and the ties that sample.py applies to each drawn point:
- Fix: a variable V with V = rhs takes the value of rhs at the point, after the other
  variables are drawn (A = 2, A = B.T, even A = X: X moves in a proof, A stays put);
- Positive: e > 0 entrywise. Where e = c·V + R for a variable V found in no other term, V is
  set so that e is a positive random draw; otherwise points are drawn until e > 0 holds.
"""
import numpy as np
import sympy as sp
from sympy import MatAdd, MatMul, MatrixSymbol, Transpose

from ..core.errors import MatcalcError
from ..core.expr import coefficient, factors, is_matrix, matmul, rebuild

__all__ = ["ties", "Fix", "Positive"]

DPS = 60       # digits an exact non-rational value is rounded to (the proof checks 25)


def _is_variable(e):
    """A matrix variable or a scalar variable (not a dimension, which is an integer)."""
    return isinstance(e, MatrixSymbol) or (isinstance(e, sp.Symbol) and not e.is_integer)


def _variables(e):
    return {s for s in sp.sympify(e).atoms(MatrixSymbol, sp.Symbol) if _is_variable(s)}


def _evaluate(e, values, sizes, exact):
    """The value of e at the point: an array of e's shape (object Rationals if exact) or a
    number; None where it is not finite and real."""
    from .evaluator import EXPLICIT, NUMERIC, _Evaluator
    if exact:
        env = {d: sp.Integer(n) for d, n in sizes.items()}
        env.update({k: sp.Matrix(v) if isinstance(k, MatrixSymbol) else v
                    for k, v in values.items()})
        v = _Evaluator(EXPLICIT, env)(e)
        entries = list(v) if isinstance(v, sp.MatrixBase) else [v]
        try:
            out = [x if x.is_Rational else sp.Rational(sp.N(x, DPS)) for x in entries]
        except (TypeError, ValueError):
            return None      # complex, infinite or not a number
        if not is_matrix(e):
            return out[0]
        return np.array(out, dtype=object).reshape(v.shape)
    with np.errstate(all="ignore"):
        v = _Evaluator(NUMERIC, {**sizes, **values})(e)
    a = np.asarray(v)
    if a.dtype.kind == "c" or not np.all(np.isfinite(a)):
        return None
    if not is_matrix(e):
        return float(a.ravel()[0])
    return np.broadcast_to(a.astype(float), tuple(int(sp.sympify(d).xreplace(sizes))
                                                  for d in e.shape)).copy()


class Fix:
    """var = rhs: the variable takes the value of rhs at the point."""

    def __init__(self, var, rhs):
        self.var, self.rhs = var, rhs

    exprs = property(lambda self: (self.var, self.rhs))

    def apply(self, values, sizes, exact, rng):
        v = _evaluate(self.rhs, values, sizes, exact)
        if v is None:
            return False
        values[self.var] = v
        return True

    def holds(self, values, sizes):
        return True


def _affine_target(e, wrt):
    """(c, V, transposed) with e = c·V + rest (or c·Vᵀ + rest), V in no other term; a variable
    other than wrt if there is one; None if e is not affine in any variable that way."""
    terms = e.args if isinstance(e, (MatAdd, sp.Add)) else (e,)
    found = []
    for i, t in enumerate(terms):
        c, core = coefficient(t) if is_matrix(t) else t.as_coeff_Mul()
        transposed = isinstance(core, Transpose) and isinstance(core.arg, MatrixSymbol)
        v = core.arg if transposed else core
        if not (_is_variable(v) and c.is_number and c.is_real and c != 0):
            continue
        if is_matrix(e) and (not is_matrix(v) or tuple(core.shape) != tuple(e.shape)):
            continue
        if not is_matrix(e) and is_matrix(v):
            continue
        if any(terms[k].has(v) for k in range(len(terms)) if k != i):
            continue
        found.append((c, v, transposed, terms[:i] + terms[i + 1:]))
    found.sort(key=lambda f: f[1] == wrt)
    return found[0] if found else None


class Positive:
    """e > 0 entrywise (see the module docstring)."""

    def __init__(self, e, wrt):
        self.e = e
        self.target = _affine_target(e, wrt)

    exprs = property(lambda self: (self.e,))

    def apply(self, values, sizes, exact, rng):
        if self.target is None:
            return True
        c, v, transposed, rest = self.target
        dims = tuple(int(sp.sympify(d).xreplace(sizes)) for d in getattr(self.e, "shape", ()))
        r = 0.0
        if rest:
            r = _evaluate((MatAdd if is_matrix(self.e) else sp.Add)(*rest),
                          {k: _as_float(x) for k, x in values.items()}, sizes, False)
            if r is None:
                return False
        p = rng.uniform(0.1, 1.1, dims) if dims else rng.uniform(0.1, 1.1)
        new = (p - r) / float(c)          # then e = c·V + rest = p > 0
        if transposed:
            new = new.T
        if exact:                         # the nearest Rationals: e stays > 0.1 − 1e-16
            new = np.array([sp.Rational(float(x)) for x in np.ravel(new)],
                           dtype=object).reshape(np.shape(new)) if dims else \
                sp.Rational(float(new))
        values[v] = new
        return True

    def holds(self, values, sizes):
        x = _evaluate(self.e, {k: _as_float(x) for k, x in values.items()}, sizes, False)
        return x is not None and bool(np.all(np.asarray(x) > 0))


def _as_float(x):
    return np.asarray(x, dtype=float) if np.ndim(x) else float(x)


def ties(pairs, f, G, wrt):
    """(f, G, [Fix or Positive, …]) for the ("equals", (lhs, rhs)) and ("positive", e) pairs."""
    out = []
    for kind, what in pairs:
        if kind == "positive":
            if not _variables(what):
                raise MatcalcError("the assumption {0} > 0 constrains no variable", what)
            out.append(Positive(what, wrt))
            continue
        lhs, rhs = what
        if _is_variable(lhs) and not sp.sympify(rhs).has(lhs):
            out.append(Fix(lhs, rhs))
        elif _is_variable(rhs) and not sp.sympify(lhs).has(rhs):
            out.append(Fix(rhs, lhs))
        elif not sp.sympify(lhs).has(wrt) and not sp.sympify(rhs).has(wrt):
            # X is free of it: substitute, as the simplifier did; refused below where an
            # occurrence is left that the substitution did not find (tr(A X Aᵀ) for AᵀA)
            f, G = _substitute(f, lhs, rhs), _substitute(G, lhs, rhs)
            if _variables(lhs) <= _variables(f):
                _cannot(lhs, rhs, wrt)
        else:
            _cannot(lhs, rhs, wrt)
    return f, G, _ordered(out)


def _cannot(lhs, rhs, wrt):
    why = "it involves {2}, and " if sp.sympify(lhs).has(wrt) or sp.sympify(rhs).has(wrt) \
        else ""
    msg = "cannot prove a gradient under the assumption {0} = {1}: " + why + \
        "matcalc cannot draw points where it holds"
    raise MatcalcError(msg + "; check the result yourself", lhs, rhs, wrt,
                       cli=msg + "; skip the proof with --verify none")


def _substitute(e, lhs, rhs):
    """e with lhs replaced by rhs, also where lhs is a run of factors in a longer product
    (AᵀA in tr(AᵀA X))."""
    e = sp.sympify(e).xreplace({lhs: rhs})
    c, core = coefficient(lhs) if is_matrix(lhs) else (1, None)
    if not isinstance(core, MatMul) or c != 1:
        return e
    run = list(core.args)

    def rule(node):
        if not isinstance(node, MatMul):
            return node
        k, inner = coefficient(node)
        fs = list(factors(inner))
        for i in range(len(fs) - len(run) + 1):
            if fs[i:i + len(run)] == run:
                return matmul(k, *fs[:i], rhs, *fs[i + len(run):])
        return node
    return rebuild(e, rule)


def _ordered(ts):
    """Fixes in the order their right-hand sides need them (A = B before B's own Fix runs
    last would leave A stale), then the inequalities."""
    fixes = [t for t in ts if isinstance(t, Fix)]
    order = []
    for _ in range(len(fixes)):
        for t in fixes:
            if t not in order and not (_variables(t.rhs) & {u.var for u in fixes
                                                            if u not in order and u is not t}):
                order.append(t)
    order += [t for t in fixes if t not in order]      # a cycle: any order
    return order + [t for t in ts if not isinstance(t, Fix)]
