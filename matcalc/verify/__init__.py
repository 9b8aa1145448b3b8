"""Proofs of claimed gradients: exact on small concrete sizes, numeric at real sizes.

Stage 1 (verify), beside the data path; needs only matcalc.core. Consumes a scalar matcalc
expression f, the variable X (a MatrixSymbol) and a claimed gradient G of X's shape
(denominator layout); returns None or raises VerificationError naming the entry or direction,
both values, the errors and the tolerance. evaluator.py holds the two evaluators, sample.py the
random points (assume.py those tied by equations and inequalities), exact.py and numeric.py
the two proofs; assert_gradient runs either or both (matcalc.assert_gradient, in api.py,
wraps it for users: claims as text or functions, matcalc's own gradient in the message).
compare.py finds where a wrong claim first differs from a proven gradient. code.py puts
generated code on trial:
run at a proof's points, against the evaluator's value of the expression it was printed from.
windows.py holds the values of the convolution and pooling nodes (in both tables).
"""
from .code import verify_code
from .evaluator import EXPLICIT, NUMERIC, evaluate
from .exact import verify_exact
from .numeric import verify_numeric
from .sample import CONSTRAINTS, _check_shapes, as_matrix_variable, check_consistent

__all__ = ["verify_exact", "verify_numeric", "assert_gradient", "evaluate", "EXPLICIT",
           "NUMERIC", "CONSTRAINTS", "verify_code", "check_consistent"]


def assert_gradient(f, wrt, claimed, method="both", assumptions=None, seed=0):
    """Raise VerificationError unless `claimed` is ∂f/∂wrt; for use in a user's own tests.

    `method` is "exact" (sympy.diff on small sizes), "numeric" (central differences at real
    sizes) or "both". f may be a scalar expression or a 1×1 matrix expression. A claim of
    the wrong shape is a wrong claim: VerificationError, saying that the shapes differ.
    `assumptions` as in verify_exact, and ("equals", (lhs, rhs)), ("positive", expression).

    Examples
    ========

    >>> from matcalc.core.expr import matrix, vector, matmul, transpose
    >>> a, X, b = vector('a', 'm'), matrix('X', 'm', 'n'), vector('b', 'n')
    >>> assert_gradient(matmul(transpose(a), X, b), X, matmul(a, transpose(b)))
    >>> assert_gradient(matmul(transpose(a), X, b), X, matmul(b, transpose(a)))
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    matcalc.core.errors.VerificationError: claimed gradient is n×m but X is m×n: the shapes ...
    """
    __tracebackhide__ = True      # pytest shows the caller's line, not this frame
    for name, x in (("f", f), ("claimed", claimed)):
        if isinstance(x, str):
            raise TypeError(f"matcalc.verify.assert_gradient takes expressions; {name} is text "
                            f"({x!r}): matcalc.assert_gradient parses text")
    if method not in ("exact", "numeric", "both"):
        raise ValueError(f"method must be 'exact', 'numeric' or 'both', not {method!r}")
    f, wrt, claimed = as_matrix_variable(f, wrt, claimed)    # a scalar s: the 1×1 S
    _check_shapes(f, wrt, claimed)
    if method in ("exact", "both"):
        verify_exact(f, wrt, claimed, assumptions=assumptions, seed=seed)
    if method in ("numeric", "both"):
        verify_numeric(f, wrt, claimed, assumptions=assumptions, seed=seed)
