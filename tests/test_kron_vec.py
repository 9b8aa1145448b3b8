"""vec, unvec, kron and the commutation matrix (core/kron.py): constructors, values, printers,
parsing, differentials and gradients through them, each checked against its definition."""
import numpy as np
import pytest
import sympy as sp
from sympy import Identity

import matcalc
from matcalc.core.errors import ShapeError
from matcalc.core.expr import eye, matmul, matrix, transpose, vector
from matcalc.core.kron import (Commutation, KroneckerProduct, Unvec, Vec, commutation, kron,
                               kron_permutation, unvec, vec)
from matcalc.parse import parse
from matcalc.printing.latex import latex
from matcalc.printing.numpy import numpy_code, numpy_helpers, MatcalcNumPyPrinter
from matcalc.printing.text import text
from matcalc.verify import evaluate

RNG = np.random.default_rng(3)
A, B, X = matrix("A", 2, 3), matrix("B", 4, 5), matrix("X", 3, 4)


def _vec(a):
    return np.asarray(a).reshape((-1, 1), order="F")


# ---------------------------------------------------------------- constructors

def test_vec_of_a_column_is_itself_and_of_a_row_its_transpose():
    x = vector("x", 3)
    assert vec(x) == x
    assert vec(transpose(x)) == x
    assert vec(matmul(2, X)) == matmul(2, Vec(X))
    assert vec(X).shape == (12, 1)


def test_unvec_undoes_vec():
    assert unvec(vec(X), 3) == X
    assert vec(unvec(vector("v", 12), 3)) == vector("v", 12)
    assert unvec(vector("v", 12), 3).shape == (3, 4)
    assert isinstance(unvec(vector("v", 12), 3), Unvec)


def test_kron_canonical_forms():
    a, b = vector("a", 3), vector("b", 4)
    assert kron(eye(1), A) == A
    assert kron(eye(2), eye(3)) == Identity(6)
    assert kron(a, transpose(b)) == matmul(a, transpose(b))          # a ⊗ bᵀ = a bᵀ
    assert kron(transpose(a), b) == matmul(b, transpose(a))          # aᵀ ⊗ b = b aᵀ
    assert kron(matmul(2, A), matmul(3, B)) == matmul(6, KroneckerProduct(A, B))
    assert kron(A, B).shape == (8, 15)
    assert transpose(kron(A, B)) == KroneckerProduct(transpose(A), transpose(B))


def test_commutation_of_a_vector_is_the_identity():
    assert commutation(3, 1) == Identity(3)
    assert commutation(1, 4) == Identity(4)
    assert isinstance(commutation(3, 4), Commutation) and commutation(3, 4).shape == (12, 12)


@pytest.mark.parametrize("build, message", [
    (lambda: kron(sp.Symbol("lam"), A), "kron needs a matrix or vector, but lam is a scalar"),
    (lambda: vec(sp.Symbol("lam")), "vec needs a matrix or vector, but lam is a scalar"),
    (lambda: unvec(X, 3), "unvec needs a column vector, but X (3×4) is not one"),
    (lambda: unvec(vector("v", 12), 5), "does not cut into columns of 5"),
])
def test_bad_arguments_name_the_operand(build, message):
    with pytest.raises(ShapeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build()


# ---------------------------------------------------------------- values

def test_numeric_values_are_the_definitions():
    a, b, x = RNG.standard_normal((2, 3)), RNG.standard_normal((4, 5)), RNG.standard_normal((3, 4))
    np.testing.assert_allclose(evaluate(kron(A, B), {A: a, B: b}), np.kron(a, b))
    np.testing.assert_allclose(evaluate(vec(X), {X: x}), x.T.reshape(-1, 1))   # columns stacked
    np.testing.assert_allclose(evaluate(unvec(vec(matmul(A, X)), 2), {A: a, X: x}), a @ x)
    # K vec(X) = vec(Xᵀ)
    np.testing.assert_allclose(evaluate(matmul(commutation(3, 4), vec(X)), {X: x}), _vec(x.T))


def test_explicit_values_agree_with_numeric_ones():
    a, x = RNG.integers(-5, 5, (2, 3)), RNG.integers(-5, 5, (3, 4))
    for e in (kron(A, X), vec(X), matmul(commutation(3, 4), vec(X)), Unvec(vec(X), 3),
              matmul(kron_permutation(A, X), kron(vec(A), vec(X)))):
        exact = np.array(evaluate(e, {A: a, X: x}, exact=True), dtype=float)
        np.testing.assert_allclose(exact, evaluate(e, {A: a, X: x}))


def test_kron_permutation_is_magnus_neudecker():
    """vec(A ⊗ X) = (I_n ⊗ K_{q,m} ⊗ I_p)(vec A ⊗ vec X)."""
    a, x = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 4))
    P = evaluate(kron_permutation(A, X), {A: a, X: x})
    np.testing.assert_allclose(P @ np.kron(_vec(a), _vec(x)), _vec(np.kron(a, x)))


# ---------------------------------------------------------------- printers

@pytest.mark.parametrize("e, txt, tex, code", [
    (kron(eye(4), A), "kron(eye(4), A)", r"I_{4} \otimes A", "np.kron(np.eye(4), A)"),
    (matmul(2, kron(A, transpose(B))), "2*kron(A, B.T)", r"2 A \otimes B^{\top}",
     "2 * np.kron(A, B.T)"),
    (matmul(kron(eye(4), A), vec(X)), "kron(eye(4), A) @ vec(X)",
     r"\left(I_{4} \otimes A\right) \operatorname{vec}\left(X\right)",
     'np.kron(np.eye(4), A) @ X.reshape((-1, 1), order="F")'),
    (unvec(matmul(transpose(kron(eye(4), A)), vec(matmul(A, X))), 3),
     "unvec(kron(eye(4), A.T) @ vec(A @ X), 3)",
     r"\operatorname{unvec}_{3}\left(\left(I_{4} \otimes A^{\top}\right) "
     r"\operatorname{vec}\left(A X\right)\right)",
     '(np.kron(np.eye(4), A.T) @ (A @ X).reshape((-1, 1), order="F"))'
     '.reshape((3, -1), order="F")'),
    (commutation(3, 4), "commutation(3, 4)", "K_{3, 4}", "_commutation(3, 4)"),
])
def test_printed_forms(e, txt, tex, code):
    assert text(e) == txt
    assert latex(e) == tex
    assert numpy_code(e) == code


def test_the_commutation_helper_computes_k():
    printer = MatcalcNumPyPrinter()
    code = numpy_code(matmul(commutation(3, 4), vec(X)), printer)
    ns = {"np": np}
    exec(numpy_helpers(printer.helpers_used), ns)
    x = RNG.standard_normal((3, 4))
    np.testing.assert_allclose(eval(code, {**ns, "X": x}), _vec(x.T))


# ---------------------------------------------------------------- parsing

def test_parse_infers_product_shapes():
    p = parse("vec(X).T @ A @ vec(X)")
    n, m = p.symbols["X"].shape
    assert p.symbols["A"].shape == (n * m, n * m)
    p = parse("tr(kron(A, X))")          # both square, factor by factor
    assert all(s.shape[0] == s.shape[1] for s in p.symbols.values())
    p = parse("kron(A, B) @ vec(x)", {"A": (2, 3), "B": (4, 5)})
    assert p.symbols["x"].shape == (15, 1)      # rows·1 = 3·5
    with pytest.raises(ShapeError, match="inner dimensions 15 ≠ 8"):
        parse("kron(A, B) @ vec(X)", {"A": (2, 3), "B": (4, 5), "X": (4, 2)})


def test_parse_commutation():
    assert parse("commutation(m, n) @ vec(X)").symbols["X"].shape == \
        (sp.Symbol("m", integer=True, positive=True), sp.Symbol("n", integer=True, positive=True))
    p = parse("vec(X.T) - commutation(n, m) @ vec(X)")       # n·m = m·n
    x = np.arange(12.0).reshape(4, 3)
    assert np.allclose(evaluate(p.expr, {p.symbols["X"]: x}), 0)
    assert parse("commutation(3, 4) @ vec(X)", {"X": (3, 4)}).expr.shape == (12, 1)
    assert text(parse(matcalc.jacobian("X.T", "X").text()).expr) == "commutation(n, m)"


@pytest.mark.parametrize("src", ["kron(A, B)", "vec(A @ X)", "kron(eye(3), A) @ vec(X)",
                                 "vec(X).T @ A @ vec(X)", "commutation(m, n) @ vec(X)"])
def test_printed_text_parses_back(src):
    e = parse(src).expr
    assert text(parse(text(e)).expr) == text(e)


@pytest.mark.parametrize("src, message", [
    ("kron(A)", "kron takes 2 arguments"),
    ("kron(lam, A)", "kron needs two matrices or vectors, but lam is a scalar"),
    ("vec(lam)", "vec needs a matrix or vector, but lam is a scalar"),
])
def test_bad_calls(src, message):
    with pytest.raises(matcalc.MatcalcError, match=message):
        parse(src)


# ---------------------------------------------------------------- calculus through them

@pytest.mark.parametrize("f, wrt, expected", [
    ("vec(X).T @ A @ vec(X)", "X", "unvec((A + A.T) @ vec(X), n)"),
    ("tr(kron(A, X))", "X", "tr(A)*eye(m)"),
    ("sum(kron(X, B))", "X", "sum(B)*ones(n, m)"),
    ("sum(exp(vec(X)))", "X", "unvec(exp(vec(X)), n)"),
    ("sum(kron(A, x) @ y)", "x", "kron(vec(A).T, eye(p)) @ vec(ones(n*p, 1) @ y.T)"),
])
def test_gradients_through_vec_and_kron_are_proven(f, wrt, expected):
    g = matcalc.grad(f, wrt)
    assert g.text() == expected
    g.verify(method="both")          # exact (sympy.diff entrywise) and central differences


def test_differentials():
    from matcalc.calculus.differential import differential
    Y = matrix("Y", 4, 2)
    assert text(differential(vec(X), [X])) == "vec(dX)"
    assert text(differential(kron(X, Y), [X, Y])) == "kron(X, dY) + kron(dX, Y)"
    assert text(differential(unvec(vec(matmul(A, X)), 2), [X])) == "A @ dX"


# ---------------------------------------------------------------- unvec is linear

def test_unvec_of_a_sum_keeps_one_unvec_and_takes_vec_terms_out():
    X, Y = matrix("X", 3, 2), matrix("Y", 2, 3)
    v, A = vector("v", 6), matrix("A", 6, 6)
    assert text(unvec(vec(X) + 2 * v, 3)) == "X + 2*unvec(v, 3)"
    assert text(unvec(A @ v + v, 3)) == "unvec(A @ v + v, 3)"
    assert text(unvec(vec(Y) + v, 3)) == "unvec(v + vec(Y), 3)"     # Y has 2 rows, not 3


def test_unvec_terms_are_collected_by_simplify():
    from matcalc.calculus.simplify import simplify
    A, v, B = matrix("A", 6, 6), vector("v", 6), matrix("B", 3, 2)
    e = Unvec(A @ v, 3) + 2 * Unvec(A.T @ v, 3) + B
    assert text(simplify(e)) == "unvec((A + 2*A.T) @ v, 3) + B"
    values = {A: sp.Matrix(6, 6, lambda i, j: (i - 2 * j) % 5), v: sp.Matrix(range(6)),
              B: sp.Matrix([[1, -1], [2, 0], [3, 1]])}
    assert np.allclose(np.asarray(evaluate(e, values), dtype=float),
                       np.asarray(evaluate(simplify(e), values), dtype=float))


def test_cli_grad_of_a_quadratic_form_in_vec_collects_the_unvecs(capsys):
    from matcalc.cli import main
    assert main(["grad", "vec(X).T @ A @ vec(X)", "--wrt", "X"]) == 0
    out, err = capsys.readouterr()
    assert out == "∂f/∂X = unvec((A + A.T) @ vec(X), n)    (X: n×m, A: (m*n)×(m*n))\n"
    assert err == "verified exactly (sympy.diff, entrywise) and by central differences\n"


# ---------------------------------------------------------------- unvec(v, m) in text

def test_unvec_parses_with_its_size_and_infers_the_columns():
    p = parse("unvec(v, m)")
    m, n = (p.dims[k] for k in ("m", "n"))
    assert p.symbols["v"].shape == (m * n, 1) and p.expr.shape == (m, n)
    assert parse("unvec(v, 3)", {"v": (6, 1)}).expr.shape == (3, 2)
    p = parse("unvec((A + A.T) @ vec(X), n)")
    assert text(p.expr) == "unvec((A + A.T) @ vec(X), n)" and p.expr.shape == p.symbols["X"].shape


def test_a_printed_unvec_pastes_back(capsys):
    """grad prints unvec((A + A.T) @ vec(X), n); the same text parses, and its gradient
    (through tr(B.T @ ·)) is proven."""
    from matcalc.cli import main
    assert main(["grad", "tr(B.T @ unvec((A + A.T) @ vec(X), n))", "--wrt", "X"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("∂f/∂X = unvec((A + A.T) @ vec(B), n)    ")
    assert err == "verified exactly (sympy.diff, entrywise) and by central differences\n"
    g = matcalc.grad("sum(unvec(v, 3) * C)", "v", shapes={"v": (6, 1)})
    assert text(g.expr) == "vec(C)"
    g.verify()
