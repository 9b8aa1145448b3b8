"""The one transposer (core/transposer.py): every caller's depth, exactly, and in value."""
import numpy as np
import pytest
from sympy import Inverse, MatAdd, MatrixSymbol

from matcalc.calculus.jacobian import transposed as result_transposed
from matcalc.calculus.simplify import symmetric_transpose
from matcalc.core.expr import (add, apply, inverse, matmul, matrix, ones, softmax, trace,
                               transpose)
from matcalc.core.kron import commutation
from matcalc.core.transposer import TRANSPOSES, count_transposes, transposed
from matcalc.parse.sympy_input import fold_transposed_sum
from matcalc.printing.text import text
from matcalc.verify import evaluate

A, B, S = matrix("A", 3, 4), matrix("B", 3, 4), matrix("S", 3, 3)
W, x, y = matrix("W", 3, 4), matrix("x", 4, 1), matrix("y", 3, 1)

# (e, through, eᵀ as printed): all the way down by default; only the kinds named otherwise
CASES = [
    (add(A, B), None, "A.T + B.T"),
    (add(A, B), (MatAdd,), "A.T + B.T"),
    (add(S, inverse(S)), None, "S.T + inv(S.T)"),
    (add(S, inverse(S)), (MatAdd,), "S.T + inv(S).T"),
    (add(S, inverse(S)), (MatAdd, Inverse), "S.T + inv(S.T)"),
    (apply("tanh", add(A, B)), None, "tanh(A.T + B.T)"),
    (apply("tanh", add(A, B)), (MatAdd,), "tanh(A + B).T"),
    (softmax(A), None, "softmax(A.T, axis=1)"),
    (matmul(A, transpose(B)), (MatAdd,), "B @ A.T"),
    (commutation(3, 4), None, "commutation(4, 3)"),
]


@pytest.mark.parametrize("e, through, printed", CASES, ids=[c[2] for c in CASES])
def test_transposed_goes_as_deep_as_asked(e, through, printed):
    t = transposed(e, through=through)
    assert text(t) == printed
    rng = np.random.default_rng(1)
    values = {m: rng.uniform(0.5, 1.5, tuple(int(d) for d in m.shape)) + 3 * np.eye(*m.shape)
              for m in e.atoms(MatrixSymbol)}
    np.testing.assert_allclose(evaluate(t, values), evaluate(e, values).T, rtol=1e-12)


def test_the_callers_each_name_their_depth():
    """The layouts of results open sums and K only; the symmetry test sums and inverses;
    SymPy's folded sums one level: what each printed before the transposer was shared."""
    assert text(result_transposed(add(S, inverse(S)))) == "S.T + inv(S).T"
    assert text(result_transposed(matmul(commutation(3, 4), matrix("v", 12, 1)))) == \
        "v.T @ commutation(4, 3)"
    sym = transpose(add(inverse(add(S, transpose(S))), matmul(transpose(S), S)))
    assert symmetric_transpose(sym) == sym.arg
    folded = fold_transposed_sum(add(matmul(transpose(x), transpose(W)), matmul(-1, transpose(y))))
    assert text(folded) == "(W @ x - y).T" and count_transposes(folded) == 1
    assert TRANSPOSES.where == "TRANSPOSES in core/transposer.py"
    assert text(trace(transposed(matmul(A, transpose(B))))) == text(trace(matmul(B, transpose(A))))
    assert text(transposed(ones(3, 1))) == "ones(1, 3)"
