"""The trace canonicaliser: tr(Gᵀ · L(dX)) → tr(Ḡᵀ dX), so that ∂f/∂X = Ḡ.

Calculus (stage 2). Consumes a differential that is linear in the dX (differential.py)
and the adjoint G of the node it belongs to; produces, for each variable X, the Ḡ with
tr(Gᵀ L(dX)) = Σ tr(Ḡᵀ dX). One table of moves over the *linear* node kinds does it for every
operator (JAX's transpose of the linearisation): no adjoint is written per operator.
"""
import sympy as sp
from sympy import HadamardProduct, MatAdd, MatMul, OneMatrix, Trace, Transpose
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf

from ..core.dispatch import Table, identity
from ..core.errors import NoRuleError
from ..core.kron import KroneckerProduct, Unvec, Vec, kron, kron_permutation, unvec, vec
from ..core.structure import (AvgPool, Fold, PoolRoute, PoolSelect, PoolSpread, ToChannels,
                              ToSamples, Unfold, avgpool, fold, pool_route, pool_select,
                              pool_spread, to_channels, to_samples, unfold)
from ..core.expr import (Differential, EntrySum, Mean, coefficient, entry_sum, eye, factors,
                   hadamard, is_matrix, matmul, mean, trace, transpose)


def _has_d(e):
    return e.has(Differential)


def inner(g, m):
    """tr(Gᵀ M), the Frobenius inner product; sum(G) when M is all ones."""
    if isinstance(m, OneMatrix):
        return entry_sum(g)
    return trace(matmul(transpose(g), m))


# Matrix moves: each gets (L, G, out) with L linear in the dX, and pushes G inwards.

@identity("tr(Gᵀ dX)  ⇒  ∂/∂X += G")
def _m_differential(e, g, out):
    out.append((e.var, g))


@identity("tr(Gᵀ (L₁ + L₂)) = tr(Gᵀ L₁) + tr(Gᵀ L₂)")
def _m_matadd(e, g, out):
    for t in e.args:
        if _has_d(t):
            pullback(t, g, out)


@identity("tr(Gᵀ A L B) = tr((Aᵀ G Bᵀ)ᵀ L);  tr(Gᵀ (s M)) = s tr(Gᵀ M) for a scalar s")
def _m_matmul(e, g, out):
    c, fs = coefficient(e)[0], factors(e)
    if _has_d(c):
        pullback_scalar(c, inner(g, matmul(*fs)), out)
        return
    i = next(i for i, f in enumerate(fs) if _has_d(f))
    left, right = fs[:i], fs[i + 1:]
    g = matmul(c, *(transpose(f) for f in reversed(left)), g,
               *(transpose(f) for f in reversed(right)))
    pullback(fs[i], g, out)


@identity("tr(Gᵀ Lᵀ) = tr((Gᵀ)ᵀ L)")
def _m_transpose(e, g, out):
    pullback(e.arg, transpose(g), out)


@identity("tr(Gᵀ (F ⊙ L)) = tr((G ⊙ F)ᵀ L)")
def _m_hadamard(e, g, out):
    i = next(i for i, f in enumerate(e.args) if _has_d(f))
    pullback(e.args[i], hadamard(g, *e.args[:i], *e.args[i + 1:]), out)


@identity("tr(Gᵀ diag(l)) = diag(G)ᵀ l")
def _m_diag_matrix(e, g, out):
    pullback(e.args[0], DiagonalOf(g), out)


@identity("tr(Gᵀ diag(L)) = tr(diag(g)ᵀ L)")
def _m_diagonal_of(e, g, out):
    pullback(e.arg, DiagMatrix(g), out)


@identity("tr(Gᵀ mean(L)) = tr(mean(G)ᵀ L): the mean is its own adjoint")
def _m_mean(e, g, out):
    pullback(e.arg, mean(g, e.axis), out)


# Scalar moves: each gets (s, c, out) with s linear in the dX, and its coefficient c.

@identity("c (s₁ + s₂) = c s₁ + c s₂")
def _s_add(s, c, out):
    for t in s.args:
        if _has_d(t):
            pullback_scalar(t, c, out)


@identity("c (a · s′) = (c a) s′")
def _s_mul(s, c, out):
    lin = [f for f in s.args if _has_d(f)]
    if len(lin) != 1:
        raise NoRuleError("the differential {0} is not linear in the d's", s)
    pullback_scalar(lin[0], c * sp.Mul(*[f for f in s.args if not _has_d(f)]), out)


@identity("c tr(L) = tr((c I)ᵀ L)")
def _s_trace(s, c, out):
    pullback(s.arg, matmul(c, eye(s.arg.shape[0])), out)


@identity("c sum(L) = tr((c 1 1ᵀ)ᵀ L)")
def _s_entry_sum(s, c, out):
    pullback(s.arg, matmul(c, OneMatrix(*s.arg.shape)), out)


def _m_swap(adjoint):
    """tr(Gᵀ f(L)) = tr(f*(G)ᵀ L), f* the adjoint map (fold for unfold, …)"""
    @identity(f"tr(Gᵀ f(L)) = tr({adjoint.__name__}(G)ᵀ L)")
    def move(e, g, out):
        pullback(e.arg, adjoint(g, e.geometry), out)
    return move


def _m_swap_data(adjoint):
    """tr(Gᵀ f(A, L)) = tr(f*(A, G)ᵀ L) for f linear in L (pool select ↔ route)"""
    @identity(f"tr(Gᵀ f(A, L)) = tr({adjoint.__name__}(A, G)ᵀ L)")
    def move(e, g, out):
        pullback(e.arg, adjoint(e.data, g, e.geometry), out)
    return move


@identity("tr(Gᵀ avgpool(L)) = tr((spread(G)/k²)ᵀ L)")
def _m_avgpool(e, g, out):
    pullback(e.arg, matmul(sp.Rational(1, e.geometry.k ** 2), pool_spread(g, e.geometry)), out)


@identity("tr(Gᵀ spread(L)) = tr((k² avgpool(G))ᵀ L): the window sums")
def _m_pool_spread(e, g, out):
    pullback(e.arg, matmul(e.geometry.k ** 2, avgpool(g, e.geometry)), out)


@identity("tr(Gᵀ vec(L)) = tr(unvec(G)ᵀ L)")
def _m_vec(e, g, out):
    pullback(e.arg, unvec(g, e.arg.shape[0]), out)


@identity("tr(Gᵀ unvec(l)) = vec(G)ᵀ l")
def _m_unvec(e, g, out):
    pullback(e.arg, vec(g), out)


@identity("tr(Gᵀ (A ⊗ L)) = vec(G)ᵀ P (vec A ⊗ I) vec L  ⇒  L̄ = unvec((vec A ⊗ I)ᵀ Pᵀ vec G);")
def _m_kron(e, g, out):
    """tr(Gᵀ (A ⊗ L)) = vec(G)ᵀ P (vec A ⊗ I) vec L  ⇒  L̄ = unvec((vec A ⊗ I)ᵀ Pᵀ vec G);
    likewise L ⊗ B with (I ⊗ vec B)  (P: core/kron.py kron_permutation)"""
    a, b = e.args
    pg = matmul(transpose(kron_permutation(a, b)), vec(g))
    if _has_d(a):
        m, n = a.shape
        pullback(a, unvec(matmul(transpose(kron(eye(m * n), vec(b))), pg), m), out)
    else:
        p, q = b.shape
        pullback(b, unvec(matmul(transpose(kron(vec(a), eye(p * q))), pg), p), out)


MOVES = Table("trace move", "MOVES in calculus/adjoint.py", {
    Differential: _m_differential,
    MatAdd: _m_matadd,
    MatMul: _m_matmul,
    Transpose: _m_transpose,
    HadamardProduct: _m_hadamard,
    DiagMatrix: _m_diag_matrix,
    DiagonalOf: _m_diagonal_of,
    Mean: _m_mean,
    sp.Add: _s_add,
    sp.Mul: _s_mul,
    Trace: _s_trace,
    EntrySum: _s_entry_sum,
    ToChannels: _m_swap(to_samples),
    ToSamples: _m_swap(to_channels),
    Unfold: _m_swap(fold),
    Fold: _m_swap(unfold),
    AvgPool: _m_avgpool,
    PoolSpread: _m_pool_spread,
    PoolSelect: _m_swap_data(pool_route),
    PoolRoute: _m_swap_data(pool_select),
    Vec: _m_vec,
    Unvec: _m_unvec,
    KroneckerProduct: _m_kron,
})


def pullback(lin, g, out):
    """Append (X, Ḡ) to out for each dX in the matrix lin, given tr(Gᵀ lin)."""
    MOVES.rule(lin)(lin, g, out)


def pullback_scalar(s, c, out):
    """Append (X, Ḡ) to out for each dX in the scalar c·s."""
    MOVES.rule(s)(s, c, out)


def adjoints(de, g):
    """[(X, Ḡ)] with tr(Gᵀ de) = Σ tr(Ḡᵀ dX) (scalar de: g is its coefficient).

    >>> from matcalc.core.expr import matrix
    >>> A, X, B = matrix('A', 2, 3), matrix('X', 3, 4), matrix('B', 4, 2)
    >>> adjoints(trace(matmul(A, Differential(X), B)), 1)
    [(X, A.T*B.T)]
    """
    out = []
    if is_matrix(de):
        pullback(de, g, out)
    elif _has_d(de):
        pullback_scalar(de, g, out)
    return out


def terms(de):
    """The top-level terms of a differential, for showing the moves one by one."""
    if is_matrix(de):
        return list(de.args) if isinstance(de, MatAdd) else [de]
    return list(de.args) if isinstance(de, sp.Add) else [de]


def move_rule(term):
    """The identities that move tr(Gᵀ term) into tr(Ḡᵀ dX), outermost first: the first
    identity of each MOVES entry on the way down to the differential (for the derivation).

    >>> from matcalc.core.expr import matrix
    >>> W, A = matrix('W', 2, 3), matrix('A', 3, 4)
    >>> move_rule(matmul(W, Differential(A)))
    'tr(Gᵀ A L B) = tr((Aᵀ G Bᵀ)ᵀ L)'
    """
    rules, e = [], term
    while not isinstance(e, Differential):
        rule = MOVES.rule(e).identity.split(";")[0].strip()
        if rule not in rules:
            rules.append(rule)
        e = next(a for a in e.args if isinstance(a, sp.Basic) and _has_d(a))
    return "; ".join(rules)
