"""Issue 10 §3: max/min, maximum/minimum, norm(x, 1), norm(X, 'nuc'), norm(X, 2).

Each example is differentiated, compared with its printed text, LaTeX and NumPy, and proven
both ways: exactly (sympy.diff of the explicit value: a first-maximum Piecewise, or the
singular values in closed form at the proof's small sizes) and by central differences (at
random points, away from ties and kinks with probability 1).
"""
import numpy as np
import pytest
import sympy as sp

from matcalc import MatcalcError, VerificationError, grad
from matcalc.core.errors import ShapeError, TooLargeError
from matcalc.core.expr import apply, matmul, matrix, vector
from matcalc.core.extrema import (EntryMax, MaxAlong, MaxMask, NuclearNorm, PolarFactor,
                                  SpectralNorm, TopSingular, max_, maximum, min_, minimum,
                                  norm_ord)
from matcalc.parse import parse
from matcalc.printing.latex import latex
from matcalc.printing.text import text
from matcalc.verify import assert_gradient, evaluate

EXAMPLES = [
    # (f, wrt, gradient as printed, LaTeX)
    ("sum(max(X @ W, axis=1))", "W", "X.T @ maxmask(X @ W, axis=1)",
     r"X^{\top} \operatorname{maxmask}_{\mathrm{row}}\left(X W\right)"),
    ("sum(max(X, axis=0))", "X", "maxmask(X, axis=0)",
     r"\operatorname{maxmask}_{\mathrm{col}}\left(X\right)"),
    ("max(X)", "X", "maxmask(X)", r"\operatorname{maxmask}\left(X\right)"),
    ("sum(min(X, axis=0))", "X", "maxmask(-X, axis=0)",
     r"\operatorname{maxmask}_{\mathrm{col}}\left(- X\right)"),
    ("min(X)", "X", "maxmask(-X)", r"\operatorname{maxmask}\left(- X\right)"),
    ("sum(maximum(0, 1 - y * (X @ w)))", "w", "-X.T @ (y * step(1 - y * (X @ w)))",
     r"- X^{\top} \left(y \odot \left[1 - y \odot \left(X w\right) > 0\right]\right)"),
    ("sum(maximum(A, X))", "X", "step(X - A)", r"\left[X - A > 0\right]"),
    ("sum(minimum(X, A))", "X", "1 - step(X - A)", r"1 - \left[X - A > 0\right]"),
    ("sum(maximum(0, W @ X))", "W", "step(W @ X) @ X.T",
     r"\left[W X > 0\right] X^{\top}"),
    ("norm(x, 1)", "x", "sign(x)", r"\operatorname{sign}\left(x\right)"),
    ("norm(A @ x - b, 1)", "x", "A.T @ sign(A @ x - b)",
     r"A^{\top} \operatorname{sign}\left(A x - b\right)"),
    ("norm(X, 'nuc')", "X", "polar(X)", r"\operatorname{polar}\left(X\right)"),
    ("norm(X, 2)", "X", "top_singular(X)", r"\operatorname{top\_singular}\left(X\right)"),
    ("norm(A @ X, 'nuc')", "X", "A.T @ polar(A @ X)",
     r"A^{\top} \operatorname{polar}\left(A X\right)"),
    ("norm(X, 1)", "X", "sign(X) * (ones(n, 1) @ maxmask(ones(1, n) @ abs(X)))",
     r"\operatorname{sign}\left(X\right) \odot \left(\mathbf{1}_{n} "
     r"\operatorname{maxmask}\left(\mathbf{1}_{n}^{\top} \left|X\right|\right)\right)"),
]


@pytest.fixture(scope="module", params=EXAMPLES, ids=lambda r: f"{r[0]} wrt {r[1]}")
def example(request):
    f, wrt, printed, tex = request.param
    return grad(f, wrt), printed, tex


def test_prints_as_a_person_writes_it(example):
    g, printed, tex = example
    assert g.text() == printed
    assert g.latex() == tex


def test_proven_exactly(example):
    example[0].verify(method="exact")


def test_proven_by_central_differences(example):
    example[0].verify(method="numeric")


def test_numpy_code_is_checked_and_runs(example):
    g = example[0]
    src = g.numpy_source()          # run at the proof's points against the gradient first
    assert "def grad_" in src
    fn, args = g.numpy(), g.arguments()
    rng = np.random.default_rng(1)
    sizes = {"n": 4, "m": 3, "p": 5, "k": 2}
    values = {}
    for a in args:
        if isinstance(a, sp.MatrixSymbol):
            shape = tuple(int(d) if d.is_Integer else sizes[str(d)] for d in a.shape)
            values[a] = rng.normal(size=shape)
    expected = evaluate(g.expr, values)
    assert np.allclose(fn(*[values[a] for a in args]), expected)


# ---------------------------------------------------------------- the subgradients, by hand

def test_maxout_gradient_is_the_first_maximum_of_each_row():
    g = grad("sum(max(X @ W, axis=1))", "W", shapes={"X": (4, 3), "W": (3, 5)})
    X = np.arange(12.0).reshape(4, 3) % 5 - 2
    W = np.ones((3, 5))                      # every row of X @ W ties everywhere
    W[:, 3] += 0.5                           # … except that column 3 wins where X's row sum > 0
    Z = X @ W
    mask = np.zeros_like(Z)
    mask[np.arange(4), Z.argmax(axis=1)] = 1.0     # NumPy's argmax: the first maximum
    assert np.array_equal(g.numpy()(X, W), X.T @ mask)
    assert np.array_equal(evaluate(g.expr, {g.symbols["X"]: X, g.wrt: W}), X.T @ mask)


def test_max_of_all_entries_takes_the_first_in_row_major_order():
    X = matrix("X", 2, 3)
    v = np.array([[1.0, 5.0, 2.0], [5.0, 0.0, 5.0]])
    assert evaluate(MaxMask(X), {X: v}).tolist() == [[0, 1, 0], [0, 0, 0]]
    assert evaluate(MaxMask(X, 0), {X: v}).tolist() == [[0, 1, 0], [1, 0, 1]]
    assert evaluate(MaxMask(X, 1), {X: v}).tolist() == [[0, 1, 0], [1, 0, 0]]
    assert evaluate(max_(X), {X: v}) == 5.0
    assert evaluate(max_(X, 0), {X: v}).tolist() == [[5.0, 5.0, 5.0]]
    assert evaluate(min_(X, 1), {X: v}).tolist() == [[1.0], [0.0]]


def test_explicit_values_match_numpy():
    X = matrix("X", 2, 3)
    v = [[1, 5, 2], [4, 0, 3]]
    assert evaluate(max_(X, 1), {X: v}, exact=True) == sp.Matrix([[5], [4]])
    assert evaluate(max_(X), {X: v}, exact=True) == 5
    assert evaluate(MaxMask(X, 0), {X: v}, exact=True) == sp.Matrix([[0, 1, 0], [1, 0, 1]])
    a = np.array(v, dtype=float)
    s = np.linalg.svd(a, compute_uv=False)
    assert float(evaluate(norm_ord(X, "nuc"), {X: v}, exact=True)) == pytest.approx(s.sum())
    assert float(evaluate(norm_ord(X, 2), {X: v}, exact=True)) == pytest.approx(s[0])
    U, _, Vt = np.linalg.svd(a, full_matrices=False)
    polar = np.array(evaluate(PolarFactor(X), {X: v}, exact=True).evalf(), dtype=float)
    top = np.array(evaluate(TopSingular(X), {X: v}, exact=True).evalf(), dtype=float)
    assert np.allclose(polar, U @ Vt)
    assert np.allclose(top, np.outer(U[:, 0], Vt[0]))
    assert np.allclose(evaluate(PolarFactor(X), {X: v}), U @ Vt)


def test_the_verifier_rejects_the_wrong_svd_factor():
    X = matrix("X", "n", "m")
    for f, wrong in ((NuclearNorm(X), TopSingular(X)), (SpectralNorm(X), PolarFactor(X))):
        for method in ("exact", "numeric"):
            with pytest.raises(VerificationError):
                assert_gradient(f, X, wrong, method=method)


def test_the_verifier_rejects_the_other_axis():
    X = matrix("X", "n", "m")
    f = matmul(max_(X, 0), sp.OneMatrix(X.shape[1], 1))       # the sum of the column maxima
    assert_gradient(f, X, MaxMask(X, 0))
    for method in ("exact", "numeric"):
        with pytest.raises(VerificationError):
            assert_gradient(f, X, MaxMask(X, 1), method=method)


def test_nuclear_norm_at_declared_large_sizes_is_proven_numerically():
    g = grad("norm(X, 'nuc')", "X", shapes={"X": (4, 5)})
    with pytest.raises(TooLargeError, match="at most 2 rows or columns"):
        g.verify(method="exact")
    g.verify(method="numeric")


# ---------------------------------------------------------------- constructors

def test_maximum_is_relu_sugar():
    Z, A = matrix("Z", 2, 3), matrix("A", 2, 3)
    relu_z = apply("relu", Z)
    assert maximum(0, Z) == relu_z and maximum(Z, 0) == relu_z
    assert text(maximum(A, Z)) == "relu(Z - A) + A"
    assert text(minimum(Z, 0)) == "-relu(-Z)"
    assert text(minimum(0, Z)) == "-relu(-Z)"
    assert maximum(sp.Symbol("a"), 2) == sp.Max(sp.Symbol("a"), 2)


def test_maximum_and_minimum_have_their_values():
    A, B = matrix("A", 2, 2), matrix("B", 2, 2)
    a, b = np.array([[1.0, -2.0], [3.0, 0.5]]), np.array([[0.0, 4.0], [3.0, -1.0]])
    assert np.array_equal(evaluate(maximum(A, B), {A: a, B: b}), np.maximum(a, b))
    assert np.array_equal(evaluate(minimum(A, B), {A: a, B: b}), np.minimum(a, b))
    assert np.array_equal(evaluate(maximum(0, A), {A: a}), np.maximum(a, 0))


def test_norm_orders_as_numpy():
    X, x = matrix("X", 3, 4), vector("x", 3)
    v, u = np.random.default_rng(2).normal(size=(3, 4)), np.array([[1.0], [-2.0], [0.5]])
    for ord_ in (None, "fro", 1, 2, "nuc"):
        assert evaluate(norm_ord(X, ord_), {X: v}) == pytest.approx(np.linalg.norm(v, ord_))
    for ord_ in (None, 1, 2):
        assert evaluate(norm_ord(x, ord_), {x: u}) == pytest.approx(
            np.linalg.norm(u.ravel(), ord_))


def test_parsed_forms():
    assert text(parse("sum(maximum(0, 1 - y * (X @ w)))").expr) == \
        "sum(relu(1 - y * (X @ w)))"
    assert text(parse("norm(x, 1)").expr) == "sum(abs(x))"
    assert text(parse("norm(X, ord='nuc')").expr) == "norm(X, 'nuc')"
    assert text(parse("norm(X, 2)").expr) == "norm(X, 2)"
    assert text(parse("max(X, axis=1)").expr) == "max(X, axis=1)"
    assert text(parse("min(X)").expr) == "-max(-X)"
    assert isinstance(parse("max(X @ W, axis=0)").expr, MaxAlong)
    assert isinstance(parse("max(X)").expr, EntryMax)
    assert text(parse("max(x.T @ x)").expr) == "tr(x.T @ x)"     # one entry: itself


def test_shapes():
    p = parse("max(W @ X, axis=0)", {"W": (3, 4), "X": (4, 5)})
    assert p.expr.shape == (1, 5)
    assert parse("max(W @ X, axis=1)", {"W": (3, 4), "X": (4, 5)}).expr.shape == (3, 1)
    assert parse("maximum(A, 2)", {"A": (2, 3)}).expr.shape == (2, 3)
    assert max_(matrix("R", 1, 4), 0) == matrix("R", 1, 4)     # one entry per column


def test_constructor_errors():
    with pytest.raises(ShapeError, match="the shapes differ"):
        maximum(matrix("A", 2, 3), matrix("B", 3, 2))
    with pytest.raises(ShapeError, match="axis must be 0"):
        max_(matrix("A", 2, 3), 2)
    with pytest.raises(ShapeError, match="order must be"):
        norm_ord(matrix("A", 2, 3), 3)
    with pytest.raises(MatcalcError, match="for a vector the nuclear norm is norm"):
        norm_ord(vector("x", 3), "nuc")


# ---------------------------------------------------------------- X**k of a square matrix

def test_an_entrywise_power_of_a_square_matrix_gets_a_note(capsys):
    from matcalc.cli import main
    assert main(["grad", "tr(X**3)", "--wrt", "X"]) == 0
    out, err = capsys.readouterr()
    assert out == "∂f/∂X = 3*(eye(n) * X**2)    (X: n×n)\n"
    assert ("note: X**3 is entrywise (each entry to the power 3); the matrix power is a "
            "product, X @ X @ X; exp, log and sqrt are entrywise too (matcalc has no expm, "
            "logm or sqrtm)\n") in err
    assert main(["grad", "sum(X**2)", "--wrt", "X", "--shape", "X=3x4"]) == 0
    assert "note:" not in capsys.readouterr().err         # not square: nothing to confuse
    assert main(["grad", "sum(X**2 + exp(X))", "--wrt", "X", "--shape", "X=3x3"]) == 0
    assert "note:" not in capsys.readouterr().err         # fused into one function of X
