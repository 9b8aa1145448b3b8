"""codegen/function.py: numpy_function (source, sizes, errors), dimension_lines, shape_symbols."""
import inspect
import linecache
import traceback

import numpy as np
import pytest
import sympy as sp

from matcalc.codegen.function import dimension_lines, numpy_function, shape_symbols
from matcalc.core.expr import (add, apply, dim, logsoftmax, matmul, matrix, ones, scalar,
                               trace, transpose, vector)
from matcalc.printing.numpy import HELPERS, MatcalcNumPyPrinter

# Distinct, non-square sizes, so that a missing transpose cannot pass.
A = matrix("A", 2, 3)
B = matrix("B", 4, 2)
C = matrix("C", 2, 3)
W = matrix("W", 2, 3)
X5 = matrix("X", 3, 5)
Y = matrix("Y", 2, 5)
b = vector("b", 2)
lam = scalar("lam")
N = sp.Symbol("N", integer=True, positive=True)


# ---------------------------------------------------------------- numpy_function

def test_dimensions_are_read_from_the_arguments():
    """The mean over the N columns of tanh(W X + b 1ᵀ) needs N, read from X."""
    Wn, Xn, bn = matrix("W", 3, 4), matrix("X", 4, "N"), vector("b", 3)
    H = apply("tanh", add(matmul(Wn, Xn), matmul(bn, ones(1, "N"))))
    e = add(matmul(1 / N, H, ones("N", 1)), matmul(bn, ones(1, 1)))
    src, f = numpy_function(e, [Wn, Xn, bn], name="layer")
    assert "    N = X.shape[1]\n" in src.splitlines(True)
    rng = np.random.default_rng(1)
    for n in (5, 7):
        Wv, Xv, bv = rng.normal(size=(3, 4)), rng.normal(size=(4, n)), rng.normal(size=(3, 1))
        got = f(Wv, Xv, bv)
        assert got.shape == (3, 1)
        assert np.allclose(got, np.tanh(Wv @ Xv + bv).mean(axis=1, keepdims=True) + bv)


def test_materialised_dimension_is_read_from_the_arguments():
    bn, Xn = vector("b", 3), matrix("X", 4, "N")
    src, f = numpy_function(matmul(bn, ones(1, "N")), [bn, Xn])
    assert "return np.broadcast_to(b, (3, N))" in src
    out = f(np.arange(3.0).reshape(3, 1), np.zeros((4, 6)))
    assert out.shape == (3, 6) and np.all(out == np.arange(3.0).reshape(3, 1))


def test_unneeded_dimensions_are_not_computed():
    Wn, Xn, bn = matrix("W", 3, 4), matrix("X", 4, "N"), vector("b", 3)
    src, _ = numpy_function(add(matmul(Wn, Xn), matmul(bn, ones(1, "N"))), [Wn, Xn, bn])
    assert src.splitlines()[-1] == "    return W @ X + b"
    assert not any(line.strip().startswith("N =") for line in src.splitlines())


def test_helpers_are_included_only_when_used():
    src, _ = numpy_function(matmul(W, X5), [W, X5])
    assert not any(h in src for h in HELPERS)
    src, f = numpy_function(logsoftmax(Y), [Y])
    assert "def _logsoftmax(" in src and "def _logsumexp(" in src and "def _softmax(" not in src
    assert src.index("def _logsumexp(") < src.index("def _logsoftmax(") < src.index("def f(")


def test_source_is_registered_in_linecache():
    src, f = numpy_function(add(matmul(W, X5), matmul(b, ones(1, 5))), [W, X5, b], name="affine")
    filename = f.__code__.co_filename
    assert "".join(linecache.getlines(filename)) == src
    assert inspect.getsource(f) in src
    with pytest.raises(ValueError) as info:
        f(np.ones((2, 3)), np.ones((4, 5)), np.ones((2, 1)))   # X has the wrong shape
    frame = traceback.extract_tb(info.tb)[-1]
    assert frame.filename == filename and frame.line == "return W @ X + b"


def test_docstring_gives_the_formula():
    _, f = numpy_function(matmul(transpose(A), transpose(B)), [A, B], name="g")
    assert f.__doc__ == "g(A, B) = A.T @ B.T"


def test_missing_argument_is_named():
    with pytest.raises(ValueError, match=r"uses C \(2×3\)"):
        numpy_function(add(A, C), [A])
    with pytest.raises(ValueError, match="scalar lam"):
        numpy_function(matmul(lam, A), [A])


def test_unreadable_dimension_is_an_error():
    bn = vector("b", 3)
    with pytest.raises(ValueError, match="dimension N"):
        numpy_function(matmul(bn, ones(1, "N")), [bn])


def test_dimension_named_like_an_argument_is_refused():
    bn, Nmat = vector("b", 3), matrix("N", 2, "N")
    with pytest.raises(ValueError, match="dimension N has the name of an argument"):
        numpy_function(matmul(bn, ones(1, "N")), [bn, Nmat])


def test_argument_names_that_are_taken_are_refused():
    with pytest.raises(ValueError, match="taken"):
        numpy_function(A, [A, A])


# ---------------------------------------------------------------- dimension_lines

D1 = dim("d1")
XN = matrix("X", 4, "N")          # samples as columns
XR = matrix("X", "N", 4)          # samples as rows
W1 = matrix("W1", "d1", 4)


def _printed(e):
    """A printer that has printed e, so that it knows which symbols the code uses."""
    p = MatcalcNumPyPrinter()
    p.doprint(e)
    return p


def test_dimension_lines_read_printed_dimensions_from_the_first_source():
    p = _printed(matmul(vector("c", 3), ones(1, "N")))        # np.broadcast_to(c, (3, N))
    assert p.symbols_printed == {N}
    assert dimension_lines(p, [(XN, "X")], {N}) == ["    N = X.shape[1]"]
    assert dimension_lines(p, [(XR, "Xr"), (XN, "X")], {N}) == ["    N = Xr.shape[0]"]
    assert dimension_lines(p, [(vector("c", 3), "c"), (XN, "X")], {N}) == ["    N = X.shape[1]"]


def test_dimension_lines_are_sorted_and_only_for_what_was_printed():
    p = _printed(matmul(1 / N, ones("d1", "N")))
    assert p.symbols_printed == {N, D1}
    assert dimension_lines(p, [(W1, "W1"), (XN, "X")], {N, D1}) == [
        "    N = X.shape[1]", "    d1 = W1.shape[0]"]
    assert dimension_lines(p, [(W1, "W1"), (XN, "X")], {N}) == ["    N = X.shape[1]"]
    assert dimension_lines(p, [(XN, "X")], set()) == []
    unprinted = _printed(matmul(W1, XN))                     # W1 @ X: no size in the code
    assert dimension_lines(unprinted, [(W1, "W1"), (XN, "X")], {N, D1}) == []


def test_dimension_lines_skip_scalar_sources():
    p = _printed(matmul(1 / N, ones("d1", "N")))
    assert dimension_lines(p, [(lam, "lam"), (XN, "X"), (W1, "W")], {N, D1}) == [
        "    N = X.shape[1]", "    d1 = W.shape[0]"]


def test_unreadable_dimension_names_the_function_and_the_sources():
    p = _printed(matmul(vector("c", 3), ones(1, "N")))
    with pytest.raises(ValueError) as e:
        dimension_lines(p, [(vector("c", 3), "c"), (lam, "lam")], {N}, name="kern")
    assert str(e.value) == "kern: cannot read the dimension N from the shapes of c, lam"


def test_generated_code_reads_rows_sizes_from_axis_0():
    """numpy_function and the kernels share dimension_lines: X rows gives N = X.shape[0]."""
    src, f = numpy_function(matmul(ones("N", 1), transpose(vector("c", 3))),
                            [XR, vector("c", 3)])
    assert "    N = X.shape[0]" in src.splitlines()
    out = f(np.zeros((6, 4)), np.arange(3.0).reshape(3, 1))
    assert out.shape == (6, 3) and np.all(out == np.arange(3.0))


# ---------------------------------------------------------------- shape_symbols

@pytest.mark.parametrize("exprs, symbols", [
    ([matmul(W1, XN)], {"N", "d1"}),
    ([matmul(vector("c", 3), ones(1, "N")), W1], {"N", "d1"}),
    ([lam * trace(matmul(XN, transpose(XN)))], {"N"}),     # inside a scalar expression
    ([apply("tanh", matmul(W, X5))], set()),                # concrete sizes only
    ([lam], set()),                                          # scalars are not dimensions
    ([sp.MatrixSymbol("V", 2 * N, D1 + 1)], {"N", "d1"}),    # symbols inside a size
    ([], set()),
])
def test_shape_symbols(exprs, symbols):
    got = shape_symbols(exprs)
    assert {str(s) for s in got} == symbols
    assert all(s.is_integer and s.is_positive for s in got)
