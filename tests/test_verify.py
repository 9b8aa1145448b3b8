"""Tests of matcalc.verify (the package): assert_gradient, and the cases the proofs share.

A verifier that cannot fail proves nothing (autograd's test_tests.py), so every wrong rule in
WRONG must be rejected by both methods, and the messages must carry the entry, the values and
the tolerance. Shapes are distinct and non-square wherever the expression allows. The
variables, CORRECT, WRONG and _number are shared by tests/test_verify_*.py.
"""
import re

import pytest
import sympy as sp

from matcalc.core.errors import VerificationError
from matcalc.core.expr import (add, apply, det, diag, divide, entry_sum, hadamard, inverse,
                               logdet, logsoftmax, logsumexp, matmul, matrix, neg, norm, scalar,
                               softmax, sub, trace, transpose, vector)
from matcalc.verify import assert_gradient

# Variables: distinct symbolic dimensions, so that a missing transpose changes a shape or a value.
A, X, B = matrix('A', 'm', 'n'), matrix('X', 'n', 'p'), matrix('B', 'p', 'm')
Xq, Aq = matrix('X', 'n', 'm'), matrix('A', 'n', 'n')               # tr(XᵀAX)
a, Xab, b = vector('a', 'm'), matrix('X', 'm', 'n'), vector('b', 'n')
Am, Bp = matrix('A', 'm', 'n'), matrix('B', 'm', 'p')                 # ‖AX − B‖²
S, M = matrix('X', 'n', 'n'), matrix('A', 'n', 'n')                   # square: inverse, det
W = matrix('W', 'm', 'n')
Xd, w, y = matrix('X', 'N', 'd'), vector('w', 'd'), vector('y', 'N')  # logistic regression
Wk, Xk, Y = matrix('W', 'k', 'd'), matrix('X', 'd', 'N'), matrix('Y', 'k', 'N')  # softmax CE
Xr, Wr, Yr = matrix('X', 'N', 'd'), matrix('W', 'd', 'k'), matrix('Y', 'N', 'k')  # rows = samples
C = matrix('C', 'm', 'p')
v, u, c = vector('v', 'n'), vector('u', 'n'), vector('c', 'n')
lam = scalar('lam')


def sigmoid(e):
    return apply('sigmoid', e)


Z = matmul(Wk, Xk)
Zr = matmul(Xr, Wr)
Zw = matmul(W, X)
logit = hadamard(y, matmul(Xd, w))

# (id, f, wrt, hand-derived ∂f/∂wrt, assumptions)
CORRECT = [
    ("tr(AXB)", trace(matmul(A, X, B)), X, matmul(transpose(A), transpose(B)), None),
    ("tr(XᵀAX)", trace(matmul(transpose(Xq), Aq, Xq)), Xq,
     matmul(add(Aq, transpose(Aq)), Xq), None),
    ("aᵀXb", matmul(transpose(a), Xab, b), Xab, matmul(a, transpose(b)), None),
    ("‖AX−B‖²", norm(sub(matmul(Am, X), Bp)) ** 2, X,
     matmul(2, transpose(Am), sub(matmul(Am, X), Bp)), None),
    ("‖W‖", norm(W), W, matmul(1 / norm(W), W), None),
    ("logdet", logdet(S), S, transpose(inverse(S)), None),
    ("det", det(S), S, matmul(det(S), transpose(inverse(S))), None),
    ("tr(X⁻¹A)", trace(matmul(inverse(S), M)), S,
     neg(matmul(transpose(inverse(S)), transpose(M), transpose(inverse(S)))), None),
    ("sum(exp)", entry_sum(apply('exp', W)), W, apply('exp', W), None),
    ("sum(W*W)", entry_sum(hadamard(W, W)), W, matmul(2, W), None),
    ("λ·sum(W*W)", lam * entry_sum(hadamard(W, W)), W, matmul(2 * lam, W), None),
    ("sum(log)", entry_sum(apply('log', W)), W, divide(1, W), None),
    ("sum(σ)", entry_sum(sigmoid(W)), W, hadamard(sigmoid(W), sub(1, sigmoid(W))), None),
    ("logistic", entry_sum(apply('log', sigmoid(logit))), w,
     matmul(transpose(Xd), hadamard(y, sub(1, sigmoid(logit)))), None),
    ("softmax CE", neg(entry_sum(hadamard(Y, logsoftmax(Z)))), Wk,
     matmul(sub(softmax(Z), Y), transpose(Xk)), [("colsum1", Y)]),
    ("softmax CE axis=1", neg(entry_sum(hadamard(Yr, logsoftmax(Zr, axis=1)))), Wr,
     matmul(transpose(Xr), sub(softmax(Zr, axis=1), Yr)), [("rowsum1", Yr)]),
    ("logsumexp", entry_sum(logsumexp(Zw, axis=0)), W,
     matmul(softmax(Zw, axis=0), transpose(X)), None),
    ("relu", entry_sum(hadamard(C, apply('relu', Zw))), W,
     matmul(hadamard(C, apply('step', Zw)), transpose(X)), None),
    ("uᵀdiag(v)c", matmul(transpose(u), diag(v), c), v, hadamard(u, c), None),
    ("sum(diag(X)*v)", entry_sum(hadamard(diag(S), v)), S, diag(v), None),
    ("tanh", entry_sum(apply('tanh', W)), W,
     sub(1, hadamard(apply('tanh', W), apply('tanh', W))), None),
]

# (id, f, wrt, a wrong claim of the right shape): autograd's test_tests.py.
Aa, Xa, Ba = matrix('A', 'n', 'n'), matrix('X', 'n', 'n'), matrix('B', 'n', 'n')
WRONG = [
    ("AB: transposes missing", trace(matmul(Aa, Xa, Ba)), Xa, matmul(Aa, Ba)),
    ("AX: the Aᵀ term missing", trace(matmul(transpose(Xq), Aq, Xq)), Xq, matmul(Aq, Xq)),
    ("AᵀBᵀ off by 0.1%", trace(matmul(A, X, B)), X,
     matmul(sp.Rational(1001, 1000), transpose(A), transpose(B))),
    ("exp off by 0.1%", entry_sum(apply('exp', W)), W,
     matmul(sp.Rational(1001, 1000), apply('exp', W))),
    ("σ' written as σ", entry_sum(sigmoid(W)), W, sigmoid(W)),
    ("relu' written as relu", entry_sum(apply('relu', Zw)), W,
     matmul(apply('relu', Zw), transpose(X))),
    ("logdet: X⁻¹ for X⁻ᵀ", logdet(S), S, inverse(S)),
    ("softmax CE without colsum1", neg(entry_sum(hadamard(Y, logsoftmax(Z)))), Wk,
     matmul(sub(softmax(Z), Y), transpose(Xk))),
]


def _number(label, message):
    return float(re.search(rf"{label}:\s+(\S+)", message).group(1))


def test_assert_gradient_methods():
    f, G = trace(matmul(A, X, B)), matmul(transpose(A), transpose(B))
    for method in ("exact", "numeric", "both"):
        assert assert_gradient(f, X, G, method=method) is None
        with pytest.raises(VerificationError):
            assert_gradient(f, X, matmul(2, G), method=method)
    with pytest.raises(ValueError, match="method must be 'exact', 'numeric' or 'both'"):
        assert_gradient(f, X, G, method="fast")


def test_the_package_reexports_its_public_names():
    import sys

    import matcalc.verify as verify
    from matcalc.verify import exact, numeric, sample
    # The function evaluate shadows its module as an attribute of the package: by sys.modules.
    evaluate = sys.modules["matcalc.verify.evaluator"]
    assert verify.verify_exact is exact.verify_exact
    assert verify.verify_numeric is numeric.verify_numeric
    assert verify.evaluate is evaluate.evaluate
    assert verify.EXPLICIT is evaluate.EXPLICIT and verify.NUMERIC is evaluate.NUMERIC
    assert verify.CONSTRAINTS is sample.CONSTRAINTS
    assert sorted(verify.__all__) == sorted(["verify_exact", "verify_numeric", "assert_gradient",
                                             "evaluate", "EXPLICIT", "NUMERIC", "CONSTRAINTS",
                                             "verify_code", "check_consistent"])
