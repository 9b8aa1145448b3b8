"""Jacobians: the J with d vec F = J d vec X, read off the differential.

Calculus (stage 2). Consumes F (a matrix, vector or scalar expression) and a variable X;
takes dF from the differential table (differential.py), then turns the linear map dX ↦ dF
into its matrix by a table of vec moves, one per linear block (the counterpart of the trace
moves of adjoint.py): vec(A L B) = (Bᵀ ⊗ A) vec L (Cookbook 520), vec(Lᵀ) = K vec L,
vec(M ⊙ L) = diag(vec M) vec L, vec(s M) = vec(M) ∇sᵀ for a scalar s linear in dX (∇s from
the trace moves). J is in numerator layout, (m·n)×(p·q) for F m×n and X p×q; `in_layout`
gives the other layouts. No second calculus: a Hessian is the Jacobian of the gradient.
"""
from sympy import HadamardProduct, Identity, MatAdd, MatMul, OneMatrix, Transpose
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf

from ..core.dispatch import Table, identity
from ..core.expr import (Differential, add, coefficient, diag, eye, factors, hadamard,
                         is_matrix, matmul, ones, rebuild, transpose, zeros)
from ..core.kron import (Commutation, KroneckerProduct, Unvec, Vec, commutation, kron,
                         kron_permutation, vec)
from ..core.scalars import read_back  # noqa: F401  (the front doors' import)
from ..core.transposer import transposed as push_transpose
from .adjoint import adjoints
from .differential import differential
from .simplify import CANONICAL, simplify

__all__ = ["jacobian_of", "linear_jacobian", "in_layout", "transposed", "read_back", "LAYOUTS",
           "VEC_MOVES"]

# numerator: J = ∂vec F/∂vec Xᵀ (m·n rows); denominator: its transpose (the shape of X for a
# scalar F, matcalc's gradients); mixed: numerator for a vector or matrix F, denominator for a
# scalar F (the usual convention: ∂y/∂x is m×n, ∂f/∂X has the shape of X).
LAYOUTS = ("numerator", "denominator", "mixed")


def _size(m):
    return m.shape[0] * m.shape[1]


def _has_d(e):
    return e.has(Differential)


def _m_differential(e, x):
    """vec(dX) = I vec(dX)"""
    return eye(_size(x)) if e.var == x else zeros(_size(x), _size(x))


def _m_matadd(e, x):
    """vec(L₁ + L₂) = J₁ + J₂"""
    return add(*[linear_jacobian(t, x) for t in e.args if _has_d(t)])


def _m_matmul(e, x):
    """vec(c A L B) = c (Bᵀ ⊗ A) vec L  (Cookbook 520);  vec(s M) = vec(M) ∇sᵀ for a scalar s"""
    c, fs = coefficient(e)
    fs = factors(e)
    if _has_d(c):
        return matmul(vec(matmul(*fs)), linear_jacobian(c, x))
    i = next(i for i, f in enumerate(fs) if _has_d(f))
    lin = fs[i]
    left = matmul(*fs[:i]) if i else eye(lin.shape[0])
    right = matmul(*fs[i + 1:]) if i + 1 < len(fs) else eye(lin.shape[1])
    return matmul(c, kron(transpose(right), left), linear_jacobian(lin, x))


def _m_transpose(e, x):
    """vec(Lᵀ) = K_{m,n} vec(L) for L m×n"""
    m, n = e.arg.shape
    return matmul(commutation(m, n), linear_jacobian(e.arg, x))


def _m_hadamard(e, x):
    """vec(M ⊙ L) = diag(vec M) vec L"""
    i = next(i for i, f in enumerate(e.args) if _has_d(f))
    m = hadamard(*e.args[:i], *e.args[i + 1:])
    return matmul(diag(vec(m)), linear_jacobian(e.args[i], x))


def _m_vec(e, x):
    """vec(vec L) = vec L;  vec(unvec l) = l"""
    return linear_jacobian(e.arg, x)


def _m_kron(e, x):
    """vec(dA ⊗ B) = P (I ⊗ vec B) vec dA,  vec(A ⊗ dB) = P (vec A ⊗ I) vec dB  (P: kron_permutation)"""
    a, b = e.args
    p = kron_permutation(a, b)
    if _has_d(a):
        return matmul(p, kron(eye(_size(a)), vec(b)), linear_jacobian(a, x))
    return matmul(p, kron(vec(a), eye(_size(b))), linear_jacobian(b, x))


def _diagonal_selector(n):
    """S (n²×n) with vec(diag(l)) = S l: S = diag(vec I) (1 ⊗ I), its columns e_i ⊗ e_i"""
    return matmul(diag(vec(eye(n))), kron(ones(n, 1), eye(n)))


def _m_diag_matrix(e, x):
    """vec(diag(l)) = diag(vec I) (1 ⊗ I) l"""
    return matmul(_diagonal_selector(e.shape[0]), linear_jacobian(e.args[0], x))


def _m_diagonal_of(e, x):
    """diag(L) = Sᵀ vec(L), S = diag(vec I) (1 ⊗ I)"""
    return matmul(transpose(_diagonal_selector(e.shape[0])), linear_jacobian(e.arg, x))


def _m_scalar(s, x):
    """s = Σ tr(Ḡᵀ dX) = vec(Ḡ)ᵀ vec(dX): the row vec(Ḡ)ᵀ, from the trace moves"""
    rows = [transpose(vec(g)) for v, g in adjoints(s, 1) if v == x]
    return add(*rows) if rows else zeros(1, _size(x))


VEC_MOVES = Table("vec move", "VEC_MOVES in calculus/jacobian.py", {
    Differential: _m_differential,
    MatAdd: _m_matadd,
    MatMul: _m_matmul,
    Transpose: _m_transpose,
    HadamardProduct: _m_hadamard,
    Vec: _m_vec,
    Unvec: _m_vec,
    KroneckerProduct: _m_kron,
    DiagMatrix: _m_diag_matrix,
    DiagonalOf: _m_diagonal_of,
})


def linear_jacobian(lin, x):
    """J with vec(lin) = J vec(dX), for lin linear in dX (other differentials held at 0)."""
    if not _has_d(lin):
        return zeros(_size(lin) if is_matrix(lin) else 1, _size(x))
    if not is_matrix(lin):        # a scalar (tr, sum, their sums and multiples)
        return _m_scalar(lin, x)
    return VEC_MOVES.rule(lin)(lin, x)


@identity("diag(v) 1 = v 1ᵀ and 1 diag(w) = 1 wᵀ: diag(s) − diag(s) 1 1ᵀ diag(s) → "
          "diag(s) − s sᵀ")
def diagonal_against_ones(e):
    if not isinstance(e, MatMul):
        return e
    c, out, changed = coefficient(e)[0], [], False
    for f in factors(e):
        last = out[-1] if out else None
        if isinstance(f, OneMatrix) and isinstance(last, DiagMatrix):
            out[-1:] = [last.args[0], OneMatrix(1, f.shape[1])]
            changed = True
        elif isinstance(f, DiagMatrix) and isinstance(last, OneMatrix):
            out[-1:] = [OneMatrix(last.shape[0], 1), transpose(f.args[0])]
            changed = True
        else:
            out.append(f)
    return matmul(c, *out) if changed else e


@identity("K_{m,n}ᵀ = K_{n,m}: the inverse permutation")
def transposed_commutation(e):
    if isinstance(e, Transpose) and isinstance(e.arg, Commutation):
        return push_transpose(e.arg, through=(Commutation,))
    return e


def _selector_parts(n):
    """The factors of S = diag(vec I) (1 ⊗ I) (n²×n), as a simplified product holds them."""
    return list(factors(_diagonal_selector(n)))


def _selected(k, n, side):
    """(P ⊗ Q) S (side "right") or Sᵀ (P ⊗ Q) (side "left") without S, or None: the columns
    of (P ⊗ Q) S are P e_i ⊗ Q e_i, the rows of Sᵀ (P ⊗ Q) are e_iᵀP ⊗ e_iᵀQ."""
    if isinstance(k, MatAdd):
        terms = [_selected(t, n, side) for t in k.args]
        return None if any(t is None for t in terms) else add(*terms)
    c, k = coefficient(k)
    if not isinstance(k, KroneckerProduct) or len(k.args) != 2:
        return None
    p, q = k.args
    if side == "right":
        if p.shape[0] == 1:
            return matmul(c, q, diag(transpose(p)))            # p_i Q e_i
        if q.shape[0] == 1:
            return matmul(c, p, diag(transpose(q)))            # q_i P e_i
        if q == eye(n):
            return matmul(c, diag(vec(transpose(p))), kron(ones(p.shape[0], 1), eye(n)))
        return None
    if p.shape[1] == 1:
        return matmul(c, diag(p), q)                           # p_i e_iᵀQ
    if q.shape[1] == 1:
        return matmul(c, diag(q), p)                           # q_i e_iᵀP
    if q == eye(n):
        return matmul(c, kron(ones(1, p.shape[1]), eye(n)), diag(vec(p)))
    return None


@identity("(P ⊗ Q) S = Q diag(Pᵀ) for a row P, P diag(Qᵀ) for a row Q, diag(vec Pᵀ)(1 ⊗ I) for")
def kron_against_selector(e):
    """(P ⊗ Q) S = Q diag(Pᵀ) for a row P, P diag(Qᵀ) for a row Q, diag(vec Pᵀ)(1 ⊗ I) for
    Q = I; Sᵀ (P ⊗ Q) likewise (S = diag(vec I)(1 ⊗ I), vec(diag(l)) = S l)"""
    if not isinstance(e, MatMul):
        return e
    c, fs = coefficient(e)[0], list(factors(e))
    for i, f in enumerate(fs):
        if isinstance(f, DiagMatrix) and i + 1 < len(fs):
            n = fs[i + 1].shape[1]
            if i >= 1 and fs[i:i + 2] == _selector_parts(n):
                new = _selected(fs[i - 1], n, "right")
                if new is not None:
                    return matmul(c, *fs[:i - 1], new, *fs[i + 2:])
        if isinstance(f, DiagMatrix) and i >= 1 and i + 1 < len(fs):
            n = fs[i - 1].shape[0]
            if fs[i - 1:i + 1] == [transpose(t) for t in reversed(_selector_parts(n))]:
                new = _selected(fs[i + 1], n, "left")
                if new is not None:
                    return matmul(c, *fs[:i - 1], new, *fs[i + 2:])
    return e


@identity("S Sᵀ = diag(vec I): the projection onto the diagonal entries of vec X")
def selector_square(e):
    if not isinstance(e, MatMul):
        return e
    c, fs = coefficient(e)[0], list(factors(e))
    for i in range(len(fs) - 3):
        if isinstance(fs[i], DiagMatrix):
            n = fs[i + 1].shape[1]
            s = _selector_parts(n)
            if fs[i:i + 4] == s + [transpose(t) for t in reversed(s)]:
                return matmul(c, *fs[:i + 1], *fs[i + 4:])
    return e


@identity("D K_{n,n} = K_{n,n} D = D D = D for D = diag(vec I_n): the diagonal entries of vec X")
def diagonal_projection(e):
    """D K_{n,n} = K_{n,n} D = D D = D for D = diag(vec I_n): the diagonal entries of vec X
    are those transposition leaves in place, and D is 0/1"""
    if not isinstance(e, MatMul):
        return e
    c, fs = coefficient(e)[0], list(factors(e))
    for i in range(len(fs) - 1):
        a, b = fs[i], fs[i + 1]
        d = a if isinstance(a, DiagMatrix) else b
        if not isinstance(d, DiagMatrix) or a.shape[0] != b.shape[0]:
            continue
        v = d.args[0]
        if not (isinstance(v, Vec) and isinstance(v.arg, Identity)):
            continue
        n = v.arg.shape[0]
        other = b if d is a else a
        if other == d or other == commutation(n, n):
            return matmul(c, *fs[:i], d, *fs[i + 2:])
    return e


RULES = CANONICAL + (diagonal_against_ones, transposed_commutation, kron_against_selector,
                     selector_square, diagonal_projection)


def jacobian_of(f, x, derivation=None, assumptions=()):
    """∂vec f/∂vec xᵀ in numerator layout, from d vec f = J d vec x, simplified.

    >>> from matcalc.core.expr import matrix, vector, apply
    >>> from matcalc.printing.text import text
    >>> A, X = matrix('A', 2, 3), matrix('X', 3, 'n')
    >>> text(jacobian_of(matmul(A, X), X))
    'kron(eye(n), A)'
    >>> text(jacobian_of(transpose(X), X))
    'commutation(3, n)'
    >>> x = vector('x', 'n')
    >>> text(jacobian_of(matmul(matrix('B', 2, 'n'), apply('exp', x)), x))
    'B @ diag(exp(x))'
    """
    df = differential(f, [x], derivation)
    j = linear_jacobian(df, x)
    return simplify(j, RULES, assumptions=assumptions, derivation=derivation)


def _transposed_parts(e):
    """(A + B)ᵀ = Aᵀ + Bᵀ, K_{m,n}ᵀ = K_{n,m}: a transposed result reads as its parts"""
    if isinstance(e, Transpose):
        return push_transpose(e.arg, through=(MatAdd, Commutation))
    return e


def transposed(j):
    """jᵀ, with the transpose distributed over sums and commutation matrices."""
    return rebuild(transpose(j), _transposed_parts)


def in_layout(j, layout, scalar_f):
    """The numerator-layout Jacobian j shown in `layout` (see LAYOUTS)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    if layout == "denominator" or layout == "mixed" and scalar_f:
        return transposed(j)
    return j
