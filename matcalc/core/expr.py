"""The canonical constructors: matrix expressions built with their shapes checked.

Core (stage 0). Produces the trees every later stage consumes, out of the node classes of
nodes.py and SymPy's own. The lowercase constructors (matmul, add, hadamard, transpose, …)
check shapes, name the operands in their errors, and canonicalise (flatten, pull scalar
coefficients out, drop identities and all-ones factors, collect like terms, fuse f(g(X)),
order terms by structure), so that results come out in the short form a person writes.
Scalars are ordinary SymPy expressions. The leaves (leaves.py) and the split of a term into
coefficient and factors (terms.py) are imported from their modules and exported from here.
"""
import sympy as sp
from sympy import (Determinant, HadamardProduct, Identity, Inverse, MatAdd, MatMul,
                   MatrixSymbol, OneMatrix, Trace, Transpose, ZeroMatrix)
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf
from sympy.matrices.expressions.kronecker import KroneckerProduct

from .errors import MatcalcError, ShapeError
from .functions import FUNCTIONS, T
from .leaves import dim, eye, matrix, ones, scalar, vector, zeros
from .nodes import (Differential, Elementwise, EntrySum, FrobeniusNorm, LogDet, LogSoftmax,
                    LogSumExp, Mean, Softmax, factor_key, size, term_key)
from .terms import coefficient, factors, is_matrix, scaled_term, shape, split_term

__all__ = ["matrix", "vector", "scalar", "dim", "matmul", "add", "sub", "neg", "mul",
           "hadamard", "divide", "power", "transpose", "inverse", "trace", "det", "logdet",
           "entry_sum", "norm", "diag", "ones", "eye", "zeros", "apply", "elementwise",
           "softmax", "logsoftmax", "logsumexp", "mean", "sum_axis", "is_matrix", "shape",
           "coefficient", "factors", "split_term", "scaled_term", "size", "rebuild", "zero_like",
           "Elementwise", "Softmax", "LogSoftmax", "LogSumExp", "Mean", "EntrySum",
           "FrobeniusNorm", "LogDet", "Differential", "T"]


def _require_matrix(e, what):
    if not is_matrix(e):
        raise ShapeError(f"{what} needs a matrix or vector, but {{0}} is a scalar", e)


def _require_square(e, what):
    _require_matrix(e, what)
    if e.shape[0] != e.shape[1]:
        raise ShapeError(f"{what} needs a square matrix, but {{0:shape}} is not square", e)


# ---------------------------------------------------------------- canonical constructors

def _flatten(args, kind):
    """(product of the scalar coefficients, the matrix factors with `kind` nodes flattened)."""
    coeff, mats = sp.S.One, []
    for a in args:
        if not is_matrix(a):
            coeff *= a
            continue
        c, core = coefficient(a)
        coeff *= c
        mats.extend(core.args if isinstance(core, kind) else [core])
    return coeff, mats


def matmul(*args):
    """The product A @ B @ …; scalars among the arguments scale it.

    >>> A, X = matrix('A', 2, 3), matrix('X', 3, 4)
    >>> matmul(2, A, eye(3), X)
    2*A*X
    """
    coeff, mats = _flatten(args, MatMul)
    for left, right in zip(mats, mats[1:]):
        if left.shape[1] != right.shape[0]:
            raise ShapeError("cannot multiply {0:shape} by {1:shape}: inner dimensions "
                             "{2} ≠ {3}", left, right, left.shape[1], right.shape[0])
    if not mats:
        return coeff
    rows, cols = mats[0].shape[0], mats[-1].shape[1]
    if coeff == 0 or any(isinstance(m, ZeroMatrix) for m in mats):
        return ZeroMatrix(rows, cols)
    mats = [m for m in mats if not isinstance(m, Identity)    # 1_{1×1} is I_1 as well
            and not (isinstance(m, OneMatrix) and m.shape == (1, 1))] or [Identity(rows)]
    merged = []
    for m in mats:   # 1_{a×k} 1_{k×b} = k 1_{a×b}
        if merged and isinstance(m, OneMatrix) and isinstance(merged[-1], OneMatrix):
            coeff *= m.shape[0]
            m = OneMatrix(merged.pop().shape[0], m.shape[1])
        merged.append(m)
    if coeff == 1:
        return merged[0] if len(merged) == 1 else MatMul(*merged)
    return MatMul(coeff, *merged)


def add(*args):
    """The sum; like terms are collected, and a scalar added to a matrix is broadcast.

    >>> X = matrix('X', 2, 3)
    >>> add(X, matmul(2, X))
    3*X
    """
    if not any(is_matrix(a) for a in args):
        return sp.Add(*args)
    mats = [a for a in args if is_matrix(a)]
    if len(mats) < len(args) and all(m.shape == (1, 1) for m in mats):
        return sp.Add(*[trace(a) if is_matrix(a) else a for a in args])   # 1×1 + scalar
    shp = mats[0].shape
    for m in mats[1:]:
        if m.shape != shp:
            raise ShapeError("cannot add {0:shape} and {1:shape}: the shapes differ",
                             mats[0], m)
    terms = {}
    for a in args:
        if not is_matrix(a):
            a = matmul(a, OneMatrix(*shp))    # scalar + matrix broadcasts
        c0, core0 = coefficient(a)   # c (A + B) is flattened to c A + c B
        for t in (core0.args if isinstance(core0, MatAdd) else [core0]):
            if isinstance(t, ZeroMatrix):
                continue
            c, core = coefficient(t)
            terms[core] = terms.get(core, sp.S.Zero) + c0 * c
    terms = _fuse_sum(terms)
    out = [matmul(c, core) for core, c in terms.items() if c != 0]
    if not out:
        return ZeroMatrix(*shp)
    if len(out) == 1:
        return out[0]
    out.sort(key=lambda t: (sp.sympify(coefficient(t)[0]).could_extract_minus_sign(),
                            term_key(coefficient(t)[1])))   # positive terms first
    return MatAdd(*out)


def _has_matrix(c):
    """Does the scalar c depend on a matrix (tr(X), det(A) …)? Elementwise bodies must not."""
    return bool(sp.sympify(c).atoms(MatrixSymbol))


def _fuse_sum(terms):
    """c·1 + f(N) + N = g(N) with g = c + f + T: a sum of functions of N is one function."""
    args = [core.arg for core in terms if isinstance(core, Elementwise)]
    if not args:
        return terms
    bodies, rest = {}, {}
    for core, c in terms.items():
        if _has_matrix(c):        # a coefficient such as tr(X) stays outside the body
            rest[core] = c
        elif isinstance(core, Elementwise):
            bodies[core.arg] = bodies.get(core.arg, sp.S.Zero) + c * core.body
        elif core in args:
            bodies[core] = bodies.get(core, sp.S.Zero) + c * T
        else:
            rest[core] = c
    ones_ = [core for core in rest if isinstance(core, OneMatrix) and not _has_matrix(rest[core])]
    if ones_:
        bodies[args[0]] += rest.pop(ones_[0])
    for arg, body in bodies.items():
        c, core = coefficient(elementwise(body, arg))
        if not isinstance(core, ZeroMatrix):
            rest[core] = rest.get(core, sp.S.Zero) + c
    return rest


def neg(a):
    return matmul(-1, a) if is_matrix(a) else -a


def sub(a, b):
    return add(a, neg(b))


def hadamard(*args):
    """The entrywise product A ⊙ B; f(X) ⊙ g(X) fuse into one elementwise function of X.

    >>> X = matrix('X', 2, 3)
    >>> hadamard(X, ones(2, 3), 3)
    3*X
    """
    coeff, mats = _flatten(args, HadamardProduct)
    if not mats:
        return coeff
    for m in mats[1:]:
        if m.shape != mats[0].shape:
            raise ShapeError("cannot multiply entrywise {0:shape} and {1:shape}: the "
                             "shapes differ", mats[0], m)
    shp = mats[0].shape
    if coeff == 0 or any(isinstance(m, ZeroMatrix) for m in mats):
        return ZeroMatrix(*shp)
    # I₁ = 1₁ₓ₁: a 1×1 identity is the all-ones factor as well
    mats = [m for m in mats if not isinstance(m, OneMatrix)
            and not (isinstance(m, Identity) and shp == (1, 1))]
    # Group f(N), g(N) and N itself by their argument N, then multiply the bodies.
    fused = {m.arg for m in mats if isinstance(m, Elementwise)}
    groups, others = {}, []
    for m in mats:
        if isinstance(m, Elementwise):
            groups[m.arg] = groups.get(m.arg, sp.S.One) * m.body
        elif m in fused:
            groups[m] = groups.get(m, sp.S.One) * T
        else:
            others.append(m)
    factors = []
    for m in others + [elementwise(body, arg) for arg, body in groups.items()]:
        c, core = coefficient(m)
        coeff *= c
        if isinstance(core, ZeroMatrix):
            return ZeroMatrix(*shp)
        if not isinstance(core, OneMatrix):
            factors.append(core)
    if not factors:
        return matmul(coeff, OneMatrix(*shp))
    factors.sort(key=factor_key)
    core = factors[0] if len(factors) == 1 else HadamardProduct(*factors)
    return matmul(coeff, core)


def elementwise(body, arg):
    """f(M) entrywise, for a scalar body in T; f(g(M)) fuses, affine bodies become sums.

    >>> X = matrix('X', 2, 3)
    >>> elementwise(sp.exp(T), elementwise(2 * T, X))
    Elementwise(exp(_t), 2*X)
    >>> elementwise(1 - 3 * T, X)
    -3*X + 1
    >>> elementwise(-2 * sp.exp(T), X)
    -2*Elementwise(exp(_t), X)
    """
    body = sp.sympify(body)
    if not is_matrix(arg):
        return body.xreplace({T: arg})
    if isinstance(arg, Elementwise):
        body, arg = body.xreplace({T: arg.body}), arg.arg
    if body == T:
        return arg
    _check_constant_entries(body, arg)
    if isinstance(arg, (ZeroMatrix, OneMatrix)):     # every entry the same: f(0) or f(1)
        body = body.xreplace({T: 0 if isinstance(arg, ZeroMatrix) else 1})
    if T not in body.free_symbols:
        return matmul(body, OneMatrix(*arg.shape))
    if body.is_polynomial(T) and sp.degree(body, T) == 1:
        a = body.diff(T)
        return add(matmul(a, arg), matmul(body.xreplace({T: 0}), OneMatrix(*arg.shape)))
    c, rest = body.as_coeff_Mul()
    if c != 1:      # a number scales the node: -relu(Z) is -1·relu(Z), so sums print "y - relu(Z)"
        return matmul(c, Elementwise(rest, arg))
    return Elementwise(body, arg)


def _check_constant_entries(body, arg):
    """f(0) for zeros(m, n) and eye(n), f(1) for ones(m, n) and eye(n), must be finite:
    1 / eye(n) divides by zero off the diagonal, log(zeros(m, n)) is -∞ everywhere."""
    values = {ZeroMatrix: (0,), OneMatrix: (1,), Identity: (1,) if arg.shape == (1, 1) else (0, 1)}
    for v in values.get(type(arg), ()):
        if body.xreplace({T: v}).has(sp.zoo, sp.oo, -sp.oo, sp.nan):
            raise MatcalcError("{0} divides by zero or is not finite: {1} has entries equal "
                               f"to {v}", Elementwise(body, arg), arg)


def apply(name, x):
    """The function `name` of the table in functions.py, entrywise on a matrix."""
    return elementwise(FUNCTIONS[name].build(T), x)


def mul(a, b):
    """a * b as in NumPy: scaling when either side is a scalar, else entrywise."""
    if is_matrix(a) and is_matrix(b):
        return hadamard(a, b)
    return matmul(a, b) if is_matrix(a) or is_matrix(b) else a * b


def power(a, k):
    """a ** k entrywise (k a scalar)."""
    if is_matrix(k):
        raise ShapeError("the exponent {0:shape} must be a scalar", k)
    if is_matrix(a) and _has_matrix(k):
        raise ShapeError("the exponent {0} of an entrywise power must not depend on a "
                         "matrix", k)
    return elementwise(T ** k, a) if is_matrix(a) else a ** k


def divide(a, b):
    """a / b as in NumPy: entrywise for two matrices, broadcast for a scalar numerator."""
    if not is_matrix(b):
        return matmul(sp.S.One / b, a) if is_matrix(a) else sp.sympify(a) / b
    if not is_matrix(a):
        return matmul(a, elementwise(1 / T, b)) if _has_matrix(a) else elementwise(a / T, b)
    return hadamard(a, elementwise(1 / T, b))


def transpose(a):
    """Aᵀ pushed through products to the leaves: (AB)ᵀ = BᵀAᵀ; a sum stays (A + B)ᵀ (the
    canonical constructor; core/transposer.py goes into sums, inverses, functions, softmax).

    >>> A, X = matrix('A', 2, 3), matrix('X', 3, 4)
    >>> transpose(matmul(A, X))
    X.T*A.T
    """
    if not is_matrix(a):
        return a
    if isinstance(a, Transpose):
        return a.arg
    if isinstance(a, MatMul):
        c, core = coefficient(a)
        if c != 1:
            return matmul(c, transpose(core))
        return matmul(*[transpose(f) for f in reversed(a.args)])
    if isinstance(a, HadamardProduct):
        return hadamard(*[transpose(f) for f in a.args])
    if isinstance(a, KroneckerProduct):      # (A ⊗ B)ᵀ = Aᵀ ⊗ Bᵀ
        return KroneckerProduct(*[transpose(f) for f in a.args], check=False)
    if isinstance(a, (Identity, DiagMatrix)):
        return a
    if isinstance(a, (OneMatrix, ZeroMatrix)):
        return type(a)(a.shape[1], a.shape[0])
    if a.shape == (1, 1) and isinstance(a, MatrixSymbol):
        return a
    return Transpose(a)


def inverse(a):
    """A⁻¹ of a square matrix; a constant singular one (zeros, ones larger than 1×1) is an
    error."""
    _require_square(a, "inv")
    if isinstance(a, ZeroMatrix) or isinstance(a, OneMatrix) and a.shape[0] != 1:
        raise MatcalcError("{0} is singular: it has no inverse", a)
    if isinstance(a, Inverse):
        return a.arg
    if isinstance(a, Identity):
        return a
    return Inverse(a)


def trace(a):
    """tr(A) of a square matrix; tr(cA) = c tr(A)."""
    _require_square(a, "tr")
    c, core = coefficient(a)
    if isinstance(core, Identity):
        return c * core.shape[0]
    if isinstance(core, ZeroMatrix):
        return sp.S.Zero
    if isinstance(core, MatAdd):     # tr(A + B) = tr(A) + tr(B): one trace per term
        return c * sp.Add(*[trace(t) for t in core.args])
    if isinstance(core, KroneckerProduct) and all(a.shape[0] == a.shape[1] for a in core.args):
        return c * sp.Mul(*[trace(a) for a in core.args])     # tr(A ⊗ B) = tr(A) tr(B)
    return c * Trace(core)


def det(a):
    _require_square(a, "det")
    return sp.S.One if isinstance(a, Identity) else Determinant(a)


def logdet(a):
    _require_square(a, "logdet")
    return sp.S.Zero if isinstance(a, Identity) else LogDet(a)


def entry_sum(a):
    """sum(A): the sum of all entries."""
    if not is_matrix(a):
        return a
    c, core = coefficient(a)
    if isinstance(core, ZeroMatrix):
        return sp.S.Zero
    if isinstance(core, OneMatrix):
        return c * core.shape[0] * core.shape[1]
    if isinstance(core, KroneckerProduct):      # sum(A ⊗ B) = sum(A) sum(B)
        return c * sp.Mul(*[entry_sum(a) for a in core.args])
    return c * EntrySum(core)


def norm(a):
    """The Frobenius norm ‖A‖."""
    if not is_matrix(a):
        return sp.Abs(a)
    c, core = coefficient(a)
    return sp.Abs(c) * FrobeniusNorm(core) if c != 1 else FrobeniusNorm(core)


def diag(a):
    """diag(v): the diagonal matrix of a vector; diag(A): the diagonal of a square A."""
    _require_matrix(a, "diag")
    if a.shape[1] == 1:
        return DiagMatrix(a)
    if a.shape[0] == 1:
        return DiagMatrix(transpose(a))
    if a.shape[0] == a.shape[1]:
        return DiagonalOf(a)
    raise ShapeError("diag needs a vector or a square matrix, but {0:shape} is neither", a)


def sum_axis(a, axis):
    """Column sums 1ᵀA (axis 0, a row) or row sums A1 (axis 1, a column)."""
    _require_matrix(a, "sum along an axis")
    if axis == 0:
        return matmul(OneMatrix(1, a.shape[0]), a)
    if axis == 1:
        return matmul(a, OneMatrix(a.shape[1], 1))
    raise ShapeError(f"axis must be 0 or 1, not {axis}")


def _axis_node(cls, name):
    def build(a, axis=0):
        _require_matrix(a, name)
        if axis not in (0, 1):
            raise ShapeError(f"{name}: axis must be 0 (columns) or 1 (rows), not {axis}")
        return cls(a, axis)
    build.__name__ = name
    build.__doc__ = f"{name}(M, axis): {cls.__doc__}"
    return build


softmax = _axis_node(Softmax, "softmax")
logsoftmax = _axis_node(LogSoftmax, "logsoftmax")
logsumexp = _axis_node(LogSumExp, "logsumexp")


def mean(a, axis=0):
    """mean(M) along an axis, repeated to M's shape (nodes.Mean); mean(cM) = c mean(M), the
    mean of a constant matrix is itself."""
    _require_matrix(a, "mean")
    if axis not in (0, 1):
        raise ShapeError(f"mean: axis must be 0 (columns) or 1 (rows), not {axis}")
    c, core = coefficient(a)
    if isinstance(core, (ZeroMatrix, OneMatrix)):
        return a
    return matmul(c, Mean(core, axis))


def zero_like(e):
    """The zero of e's kind: a zero matrix of its shape, or the scalar 0."""
    return ZeroMatrix(*e.shape) if is_matrix(e) else sp.S.Zero


# Node class -> canonical constructor from the node's args; `rebuild` uses it to re-canonicalise.
CONSTRUCTORS = {
    MatMul: lambda *a: matmul(*a),
    MatAdd: lambda *a: add(*a),
    HadamardProduct: lambda *a: hadamard(*a),
    Transpose: transpose,
    Inverse: lambda a, *_: inverse(a),
    Trace: trace,
    Determinant: det,
    LogDet: logdet,
    EntrySum: entry_sum,
    FrobeniusNorm: norm,
    Elementwise: elementwise,
    Softmax: lambda a, axis: Softmax(a, axis),
    LogSoftmax: lambda a, axis: LogSoftmax(a, axis),
    LogSumExp: lambda a, axis: LogSumExp(a, axis),
    Mean: lambda a, axis: mean(a, int(axis)),
    DiagMatrix: DiagMatrix,
    DiagonalOf: DiagonalOf,
}

_LEAVES = (MatrixSymbol, Identity, OneMatrix, ZeroMatrix, Differential, sp.Atom)


def rebuild(e, rule=None):
    """Rebuild e bottom-up through the canonical constructors, applying `rule` at each node."""
    if isinstance(e, _LEAVES):
        return rule(e) if rule else e
    args = [rebuild(a, rule) for a in e.args]
    build = CONSTRUCTORS.get(type(e))
    if build is None:
        new = e.func(*args) if args != list(e.args) else e
    else:
        new = build(*args)
    return rule(new) if rule else new
