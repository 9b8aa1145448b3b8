"""The table of forward differentials: one entry per node class, each with its identity.

Calculus (stage 2). `differential(e, wrt)` returns de, an expression linear in the
differentials dX of the variables in `wrt` (Differential nodes); every other symbol is held
constant. Adjoints are never written here: adjoint.py reads them off de by trace moves.
Equation numbers refer to the Matrix Cookbook (Petersen & Pedersen, version of November 15,
2012), §2 "Derivatives", eqs. 33–45.
"""
import sympy as sp
from sympy import (Determinant, HadamardProduct, Inverse, MatAdd, MatMul, MatrixSymbol,
                   Trace, Transpose)
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf

from ..core.dispatch import Table, identity
from ..core.structure import (AvgPool, Fold, MaxPool, PoolMask, PoolRoute, PoolSelect,
                              PoolSpread, ToChannels, ToSamples, Unfold, avgpool, fold,
                              pool_route, pool_select, pool_spread, to_channels, to_samples,
                              unfold)
from ..core.errors import NoRuleError
from ..core.extrema import (EntryMax, MaxAlong, MaxMask, NuclearNorm, PolarFactor,
                            SpectralNorm, TopSingular)
from ..core.kron import Commutation, KroneckerProduct, Unvec, Vec, kron, unvec, vec
from ..core.expr import (Differential, Elementwise, EntrySum, FrobeniusNorm, LogDet, LogSoftmax,
                   LogSumExp, Mean, Softmax, T, add, coefficient, elementwise, entry_sum, factors,
                   hadamard, inverse, matmul, mean, neg, norm, ones, sum_axis, trace,
                   transpose, zero_like)


@identity("d(AB) = dA·B + A·dB  (Cookbook 37)")
def _matmul(e, d, dep):
    c, fs = coefficient(e)[0], factors(e)
    terms = [matmul(d(c), *fs)] if dep(c) else []
    terms += [matmul(c, *fs[:i], d(f), *fs[i + 1:]) for i, f in enumerate(fs) if dep(f)]
    return add(*terms)


@identity("d(A + B) = dA + dB  (Cookbook 35)")
def _matadd(e, d, dep):
    return add(*[d(t) for t in e.args if dep(t)])


@identity("d(A ⊙ B) = dA ⊙ B + A ⊙ dB  (Cookbook 38)")
def _hadamard(e, d, dep):
    fs = e.args
    return add(*[hadamard(*fs[:i], d(f), *fs[i + 1:]) for i, f in enumerate(fs) if dep(f)])


@identity("d(Aᵀ) = (dA)ᵀ  (Cookbook 44)")
def _transpose(e, d, dep):
    return transpose(d(e.arg))


@identity("d(A⁻¹) = −A⁻¹ dA A⁻¹  (Cookbook 40)")
def _inverse(e, d, dep):
    return matmul(-1, e, d(e.arg), e)


def _almost_everywhere(df):
    """A derivative where it exists: the DiracDelta of sign′ (= 2δ) is 0 off a null set, as
    step′ is (functions.py); a gradient is a function, not a distribution."""
    deltas = df.atoms(sp.DiracDelta)
    return df.xreplace({x: sp.S.Zero for x in deltas}) if deltas else df


@identity("d f(A) = f′(A) ⊙ dA")
def _elementwise(e, d, dep):
    return hadamard(elementwise(_almost_everywhere(sp.diff(e.body, T)), e.arg), d(e.arg))


def _spread(e, m):
    """1 1ᵀ M along the node's axis: each column sum (axis 0) or row sum (axis 1), repeated."""
    rows, cols = m.shape
    return matmul(ones(rows, rows), m) if e.axis == 0 else matmul(m, ones(cols, cols))


@identity("d softmax(Z) = S ⊙ dZ − S ⊙ (1 1ᵀ (S ⊙ dZ)),  S = softmax(Z)")
def _softmax(e, d, dep):
    p = hadamard(e, d(e.arg))
    return add(p, neg(hadamard(e, _spread(e, p))))


@identity("d log softmax(Z) = dZ − 1 1ᵀ (S ⊙ dZ),  S = softmax(Z)")
def _logsoftmax(e, d, dep):
    dz = d(e.arg)
    return add(dz, neg(_spread(e, hadamard(Softmax(e.arg, e.axis), dz))))


@identity("d logsumexp(Z) = 1ᵀ (S ⊙ dZ),  S = softmax(Z)")
def _logsumexp(e, d, dep):
    p = hadamard(Softmax(e.arg, e.axis), d(e.arg))
    rows, cols = p.shape
    return matmul(ones(1, rows), p) if e.axis == 0 else matmul(p, ones(cols, 1))


@identity("d diag(v) = diag(dv)")
def _diag_matrix(e, d, dep):
    return DiagMatrix(d(e.args[0]))


@identity("d diag(A) = diag(dA)")
def _diagonal_of(e, d, dep):
    return DiagonalOf(d(e.arg))


@identity("d tr(A) = tr(dA)  (Cookbook 36)")
def _trace(e, d, dep):
    return trace(d(e.arg))


@identity("d det(A) = det(A) tr(A⁻¹ dA)  (Cookbook 42)")
def _det(e, d, dep):
    return e * trace(matmul(inverse(e.arg), d(e.arg)))


@identity("d log det(A) = tr(A⁻¹ dA)  (Cookbook 43)")
def _logdet(e, d, dep):
    return trace(matmul(inverse(e.arg), d(e.arg)))


@identity("d sum(A) = sum(dA)")
def _entry_sum(e, d, dep):
    return entry_sum(d(e.arg))


@identity("d‖A‖ = tr(Aᵀ dA) / ‖A‖")
def _norm(e, d, dep):
    a = e.arg
    at = Transpose(a) if isinstance(a, MatAdd) else transpose(a)
    return trace(matmul(at, d(a))) / norm(a)


@identity("d(a + b) = da + db")
def _add(e, d, dep):
    return sp.Add(*[d(t) for t in e.args if dep(t)])


@identity("d(ab) = da·b + a·db")
def _mul(e, d, dep):
    fs = e.args
    return sp.Add(*[sp.Mul(*fs[:i], d(f), *fs[i + 1:]) for i, f in enumerate(fs) if dep(f)])


@identity("d(aᵏ) = k aᵏ⁻¹ da;  d(aᵇ) = aᵇ (log a · db + b/a · da)")
def _pow(e, d, dep):
    base, k = e.args
    if not dep(k):
        return k * base ** (k - 1) * d(base)
    return e * (sp.log(base) * d(k) + (k / base * d(base) if dep(base) else 0))


@identity("d f(a) = f′(a) da")
def _function(e, d, dep):
    if len(e.args) != 1:
        raise NoRuleError(f"no differential for {type(e).__name__} of several arguments")
    t = sp.Dummy("t", real=True)    # f′ at a real t, then at a: fdiff(sign(tr S)) stays a Subs
    return _almost_everywhere(sp.diff(e.func(t), t)).xreplace({t: e.args[0]}) * d(e.args[0])


def _linear(build):
    """d f(A) = f(dA) for a linear map f (unfold, fold, reshapes, pooling windows)"""
    @identity(f"d {build.__name__}(A) = {build.__name__}(dA): {build.__name__} is linear")
    def rule(e, d, dep):
        return build(d(e.arg), e.geometry)
    return rule


def _linear_in_second(build):
    """f(A, L) linear in L, with A data whose argmax changes nowhere on a set of measure > 0"""
    @identity(f"d {build.__name__}(A, L) = {build.__name__}(A, dL): linear in L, the "
              "windows' maxima of A move nowhere almost everywhere")
    def rule(e, d, dep):
        return build(e.data, d(e.arg), e.geometry) if dep(e.arg) else zero_like(e)
    return rule


@identity("d maxpool(A) = select(A, dA): dA at the first maximum of each window")
def _maxpool(e, d, dep):
    return pool_select(e.arg, d(e.arg), e.geometry)


@identity("d mean(A) = mean(dA): the mean is linear")
def _mean(e, d, dep):
    return mean(d(e.arg), e.axis)


@identity("d(A ⊗ B) = dA ⊗ B + A ⊗ dB  (Cookbook 39)")
def _kron(e, d, dep):
    a, b = e.args
    return add(*([kron(d(a), b)] if dep(a) else []) + ([kron(a, d(b))] if dep(b) else []))


@identity("d vec(A) = vec(dA): vec is linear")
def _vec(e, d, dep):
    return vec(d(e.arg))


@identity("d unvec(v) = unvec(dv): unvec is linear")
def _unvec(e, d, dep):
    return unvec(d(e.arg), e.rows)


@identity("d max(A, axis) = sum(mask ⊙ dA, axis): dA at the first maximum (A without ties)")
def _max_along(e, d, dep):
    return sum_axis(hadamard(MaxMask(e.arg, e.axis), d(e.arg)), e.axis)


@identity("d max(A) = sum(mask ⊙ dA): dA at the first maximum (A without ties)")
def _entry_max(e, d, dep):
    return entry_sum(hadamard(MaxMask(e.arg), d(e.arg)))


@identity("d‖A‖_* = tr((U Vᵀ)ᵀ dA), A = U Σ Vᵀ of full rank")
def _nuclear_norm(e, d, dep):
    return trace(matmul(transpose(PolarFactor(e.arg)), d(e.arg)))


@identity("d‖A‖₂ = tr((u₁ v₁ᵀ)ᵀ dA), σ₁(A) simple")
def _spectral_norm(e, d, dep):
    return trace(matmul(transpose(TopSingular(e.arg)), d(e.arg)))


@identity("d polar(A) = d top_singular(A) = ?: not written (these norms are differentiated once)")
def _no_second_order(e, d, dep):
    raise NoRuleError(f"no differential for {type(e).__name__} (the SVD factor of a nuclear or "
                      "spectral norm's gradient): matcalc differentiates these norms once")


@identity("d mask(A) = 0: a piecewise-constant function of A (almost everywhere)")
def _constant(e, d, dep):
    return zero_like(e)


DIFFERENTIALS = Table("differential", "DIFFERENTIALS in calculus/differential.py", {
    MatMul: _matmul,
    MatAdd: _matadd,
    HadamardProduct: _hadamard,
    Transpose: _transpose,
    Inverse: _inverse,
    Elementwise: _elementwise,
    Softmax: _softmax,
    LogSoftmax: _logsoftmax,
    LogSumExp: _logsumexp,
    Mean: _mean,
    DiagMatrix: _diag_matrix,
    DiagonalOf: _diagonal_of,
    Trace: _trace,
    Determinant: _det,
    LogDet: _logdet,
    EntrySum: _entry_sum,
    FrobeniusNorm: _norm,
    sp.Add: _add,
    sp.Mul: _mul,
    sp.Pow: _pow,
    sp.Function: _function,
    ToChannels: _linear(to_channels),
    ToSamples: _linear(to_samples),
    Unfold: _linear(unfold),
    Fold: _linear(fold),
    AvgPool: _linear(avgpool),
    PoolSpread: _linear(pool_spread),
    MaxPool: _maxpool,
    PoolSelect: _linear_in_second(pool_select),
    PoolRoute: _linear_in_second(pool_route),
    PoolMask: _constant,
    MaxAlong: _max_along,
    EntryMax: _entry_max,
    MaxMask: _constant,
    NuclearNorm: _nuclear_norm,
    SpectralNorm: _spectral_norm,
    PolarFactor: _no_second_order,
    TopSingular: _no_second_order,
    KroneckerProduct: _kron,
    Vec: _vec,
    Unvec: _unvec,
    Commutation: _constant,
})


def differential(e, wrt, derivation=None):
    """de: the differential of e, linear in dX for each X in wrt.

    >>> from matcalc.core.expr import matrix
    >>> from matcalc.printing.text import text
    >>> A, X = matrix('A', 2, 2), matrix('X', 2, 3)
    >>> text(differential(trace(matmul(transpose(X), A, X)), [X]))
    'tr(dX.T @ A @ X) + tr(X.T @ A @ dX)'
    """
    wrt = frozenset(wrt)
    memo, deps = {}, {}

    def dep(x):
        if x not in deps:
            deps[x] = x in wrt or any(dep(a) for a in x.args if isinstance(a, sp.Basic))
        return deps[x]

    def d(x):
        if not dep(x):
            return zero_like(x)
        if x not in memo:
            if x in wrt:
                memo[x] = Differential(x)
            elif isinstance(x, MatrixSymbol):
                memo[x] = zero_like(x)
            else:
                rule = DIFFERENTIALS.rule(x)
                memo[x] = rule(x, d, dep)
                if derivation is not None:
                    derivation.add("differential", rule.identity, x, memo[x])
        return memo[x]

    return d(e)
