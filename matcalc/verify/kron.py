"""Values of the vectorisation nodes (core/kron.py) for both evaluator tables.

Stage 1 (verify), beside the data path; needs only matcalc.core. vec stacks columns
(column-major), unvec cuts a column back into columns of m, kron is the Kronecker product,
K_{m,n} the permutation with K vec(A) = vec(Aᵀ); each as an explicit SymPy Matrix
(EXPLICIT_KRON) and as a float64 array (NUMERIC_KRON), spliced into evaluator.py's tables.
"""
import numpy as np
import sympy as sp

from ..core.kron import Commutation, KroneckerProduct, Unvec, Vec

__all__ = ["EXPLICIT_KRON", "NUMERIC_KRON", "commutation_permutation"]


def commutation_permutation(m, n):
    """The column of vec(A) that row r of K_{m,n} picks: r = a·n + b picks a + b·m."""
    return np.arange(m * n).reshape((m, n), order="F").ravel()


def _x_commutation(ev, e):
    m, n = ev.size(e.m), ev.size(e.n)
    cols = commutation_permutation(m, n)
    return sp.Matrix(m * n, m * n, lambda i, j: 1 if j == cols[i] else 0)


def _x_unvec(ev, e):
    v, rows = ev(e.arg), ev.size(e.rows)
    return sp.Matrix(rows, v.rows // rows, lambda i, j: v[i + j * rows, 0])


def _n_commutation(ev, e):
    m, n = ev.size(e.m), ev.size(e.n)
    return np.eye(m * n)[commutation_permutation(m, n)]


EXPLICIT_KRON = {
    Vec: lambda ev, e: ev(e.arg).vec(),
    Unvec: _x_unvec,
    KroneckerProduct: lambda ev, e: sp.kronecker_product(*[ev(a) for a in e.args]),
    Commutation: _x_commutation,
}

NUMERIC_KRON = {
    Vec: lambda ev, e: np.asarray(ev(e.arg)).reshape((-1, 1), order="F"),
    Unvec: lambda ev, e: np.asarray(ev(e.arg)).reshape((ev.size(e.rows), -1), order="F"),
    KroneckerProduct: lambda ev, e: np.kron(*[ev(a) for a in e.args]),
    Commutation: _n_commutation,
}
