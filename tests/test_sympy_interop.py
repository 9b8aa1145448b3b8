"""matcalc's objects in SymPy: its printers never raise on them, `sympy.latex` prints matcalc's
nodes and results as matcalc does, `sympy.pycode` and `sympy.lambdify` run matcalc's NumPy code
for them, SymPy's own objects print as SymPy prints them unless one opts in, and an expression
built with SymPy's MatrixSymbols differentiates to what its text gives (printing/hooks.py,
parse/sympy_input.py)."""
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

import matcalc
from matcalc.core import extrema, kron, nodes, structure
from matcalc.core.expr import (Differential, add, apply, det, entry_sum, hadamard, inverse, logdet,
                               logsoftmax, logsumexp, matmul, mean, matrix, norm, ones, softmax,
                               trace, transpose, vector)
from matcalc.core.errors import MatcalcError
from matcalc.parse.sympy_input import from_sympy
from matcalc.printing import hooks
from matcalc.printing.hooks import notation, own_classes, sympy_classes
from matcalc.printing.latex import latex
from matcalc.printing import runtime
from matcalc.printing.numpy import numpy_code
from matcalc.printing.text import text
from matcalc.verify import evaluate
from test_tables import ALL_NODES

A, B, Y = matrix("A", 3, 4), matrix("B", 4, 2), matrix("Y", 3, 4)
S3 = matrix("S", 3, 3)
x = vector("x", 4)
C = matrix("C", 2, 3)
G2 = structure.conv_geometry(1, 4, 4, 2)
P2 = structure.pool_geometry(2, 4, 4, 2)
A0, A1 = matrix("A0", 1, 16), matrix("A1", 2, 16)
Gw = matrix("G", 2, 4)

# One instance of every node class of the closed set (and the differential dX).
SAMPLES = {
    sp.MatrixSymbol: A,
    sp.MatMul: matmul(A, B),
    sp.MatAdd: add(A, matmul(2, Y), ones(3, 4)),
    sp.HadamardProduct: hadamard(A, Y),
    sp.Transpose: transpose(add(A, Y)),
    sp.Inverse: inverse(S3),
    sp.Identity: sp.Identity(3),
    sp.OneMatrix: ones(3, 1),
    sp.ZeroMatrix: sp.ZeroMatrix(2, 3),
    nodes.DiagMatrix: sp.DiagMatrix(x),
    nodes.DiagonalOf: sp.DiagonalOf(S3),
    nodes.Elementwise: apply("sigmoid", matmul(A, B)),
    nodes.Softmax: softmax(A),
    nodes.LogSoftmax: logsoftmax(A, 1),
    nodes.LogSumExp: logsumexp(A),
    nodes.Mean: mean(A),
    sp.Trace: trace(S3),
    sp.Determinant: det(S3),
    nodes.LogDet: logdet(S3),
    nodes.EntrySum: entry_sum(A),
    nodes.FrobeniusNorm: norm(A),
    nodes.Differential: Differential(A),
    structure.ToChannels: structure.to_channels(matrix("X", 16, 1), G2),
    structure.ToSamples: structure.to_samples(matrix("P", 2, 16), structure.conv_geometry(2, 4, 4, 2)),
    structure.Unfold: structure.unfold(A0, G2),
    structure.Fold: structure.fold(matrix("U", 4, 9), G2),
    structure.MaxPool: structure.maxpool(A1, P2),
    structure.AvgPool: structure.avgpool(A1, P2),
    structure.PoolSelect: structure.pool_select(A1, Differential(A1), P2),
    structure.PoolRoute: structure.pool_route(A1, Gw, P2),
    structure.PoolSpread: structure.pool_spread(Gw, P2),
    structure.PoolMask: structure.pool_mask(A1, P2),
    kron.Vec: kron.vec(A),
    kron.Unvec: kron.unvec(vector("v", 12), 3),
    kron.Commutation: kron.commutation(3, 4),
    kron.KroneckerProduct: kron.kron(A, C),
    extrema.MaxAlong: extrema.max_(A, 0),
    extrema.EntryMax: extrema.max_(A),
    extrema.MaxMask: extrema.max_mask(A, 1),
    extrema.NuclearNorm: extrema.norm_ord(A, "nuc"),
    extrema.SpectralNorm: extrema.norm_ord(A, 2),
    extrema.PolarFactor: extrema.PolarFactor(A),
    extrema.TopSingular: extrema.TopSingular(A),
}


def test_every_node_class_has_a_sample_and_the_hooks():
    """The closed node set (as test_tables.py has it) and the differential each have a sample;
    every class matcalc defines has the print hooks, installed at import; SymPy's have none."""
    missing = [c.__name__ for c in ALL_NODES + (nodes.Differential,) if c not in SAMPLES]
    assert not missing, f"add a sample instance of {missing} to SAMPLES"
    assert all(type(e) is cls for cls, e in SAMPLES.items())
    for cls in own_classes():
        for name in ("_latex", "_sympystr", "_sympyrepr", "_pretty", "_numpycode", "_pythoncode"):
            assert getattr(cls, name) is getattr(hooks, "_OWN_HOOKS")[name], (cls, name)
    assert sympy_classes() and sp.MatMul in sympy_classes()
    for cls in sympy_classes():
        assert not set(vars(cls)) & {"_latex", "_numpycode", "_pythoncode"}, cls


SHOWN = [str, repr, sp.latex, sp.pretty, sp.srepr, sp.sstr, sp.pycode]


@pytest.mark.parametrize("cls", SAMPLES, ids=lambda c: c.__name__)
def test_sympy_printers_never_raise_and_latex_is_matcalcs(cls):
    """matcalc's nodes print in matcalc's notation; SymPy's own in SymPy's, unless handed out
    by matcalc (`notation`, as results are): then in matcalc's, equal and of the same class."""
    e = SAMPLES[cls]
    shown = notation(e)
    assert shown == e and type(shown) is cls
    for show in SHOWN:      # SymPy's pycode of its own HadamardProduct raises: SymPy's affair
        for x in (e, shown) if show is not sp.pycode or cls in own_classes() else (shown,):
            s = show(x)
            assert isinstance(s, str) and s, (show, cls)
    assert sp.latex(shown) == latex(e)                 # matcalc's notation, whole
    if cls in own_classes():
        assert sp.latex(e) == latex(e)
    else:                                              # SymPy's own: no matcalc notation
        assert "\\top" not in sp.latex(e) and "\\odot" not in sp.latex(e)
    assert sp.srepr(e).startswith(cls.__name__ + "(") or cls in (sp.Identity, sp.ZeroMatrix,
                                                                   sp.OneMatrix)


def test_the_differential_is_not_sympy_diffgeoms():
    """sympy.diffgeom has a Differential too; SymPy's printers used its methods (AttributeError
    '_form_field'). matcalc's prints as itself."""
    dA = Differential(A)
    assert str(dA) == repr(dA) == "Differential(A)"
    assert sp.latex(dA) == r"\mathrm{d}A"
    assert sp.pretty(dA) == "Differential(A)"
    assert sp.latex(matmul(dA, B)) == r"\mathrm{d}A B"
    assert str(matmul(dA, B)) == "Differential(A)*B"


# The notation, exactly: ^{\top}, \odot, matcalc's function names.
LATEX = [
    (transpose(A), r"A^{\top}"),
    (hadamard(A, Y), r"A \odot Y"),
    (matmul(2, transpose(A), apply("sigmoid", A)), r"2 A^{\top} \sigma\left(A\right)"),
    (trace(matmul(transpose(A), A)), r"\operatorname{tr}\left(A^{\top} A\right)"),
    (norm(A) ** 2, r"\left\lVert A\right\rVert_{F}^{2}"),
    (inverse(S3).T, r"S^{-\top}"),
]


@pytest.mark.parametrize("e, expected", LATEX, ids=[t for _, t in LATEX])
def test_sympy_latex_is_matcalcs_notation(e, expected):
    e = notation(e)
    assert sp.latex(e) == expected
    assert e._repr_latex_() == "$\\displaystyle %s$" % expected      # SymPy's Jupyter hook


def test_sympy_latex_falls_back_for_what_matcalc_does_not_print():
    """A SymPy node matcalc has no rule for keeps SymPy's LaTeX; its matcalc parts do not."""
    M = sp.MatrixSymbol("M", 3, 3)
    e = sp.MatMul(sp.MatPow(M, 2), transpose(M))
    assert sp.latex(notation(e)) == r"M^{2} M^{\top}"
    assert sp.latex(e) == r"M^{2} M^{T}"


_SYMPY_FORMS = """
import sympy as sp
A, B = sp.MatrixSymbol("A", 3, 4), sp.MatrixSymbol("B", 4, 2)
x = sp.MatrixSymbol("x", 4, 1)
def forms():
    return [sp.latex(A.T * A), sp.pycode(A * B), sp.latex(sp.HadamardProduct(A, A)),
            sp.latex(sp.Trace(A.T * A)), sp.pycode(A.T * A)]
before = forms()
"""


def _forms_after(code):
    done = subprocess.run([sys.executable, "-c", _SYMPY_FORMS + code + "\nprint(repr(before))"
                           "\nprint(repr(forms()))"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [eval(line) for line in done.stdout.splitlines()]      # our own repr of strings


def test_importing_matcalc_leaves_sympys_printing_alone():
    """A library must not re-skin another for the whole process: import matcalc (and use it),
    and SymPy's own matrix expressions print as before; matcalc's result prints as matcalc's."""
    before, after = _forms_after(
        "import matcalc\ng = matcalc.grad('tr(A @ W)', 'W', shapes={'W': (3, 4)})\n"
        "assert sp.latex(g.expr) == g.latex() == 'A^{\\\\top}', sp.latex(g.expr)")
    assert after == before
    assert before[:2] == ["A^{T} A", "A*B"]


def test_one_call_opts_in_to_matcalcs_notation_for_sympy():
    before, after = _forms_after("from matcalc.printing.hooks import install_sympy_notation\n"
                                 "install_sympy_notation()")
    assert before[:2] == ["A^{T} A", "A*B"]
    assert after == [r"A^{\top} A", "A @ B", r"A \odot A",
                     r"\operatorname{tr}\left(A^{\top} A\right)", "A.T @ A"]


GRADIENTS = [   # (f, wrt, shapes, assumptions): sigmoid, softmax, Hadamard, sums of ones
    ("sum(sigmoid(W @ x) * (W @ x))", "W", {"W": (3, 4)}, ()),
    ("-sum(Y * logsoftmax(W @ X))", "W", {"W": (3, 4), "X": (4, 5)}, ()),
    ("-sum(Y * logsoftmax(W @ X))", "W", {"W": (3, 4), "X": (4, 5)}, ("sum(Y, axis=0) == 1",)),
    ("sum(softmax(W @ X, axis=1) * Y)", "X", {"W": (3, 4), "X": (4, 5)}, ()),
    ("sum(tanh(W @ X + b @ ones(1, N)))", "b", {"W": (3, 4), "X": (4, "N")}, ()),
    ("norm(W * W - A)**2", "W", {"W": (3, 4)}, ()),
    ("sum(logsumexp(W @ X, axis=1))", "W", {"W": (3, 4), "X": (4, 5)}, ()),
    ("tr(inv(S) @ A) + logdet(S)", "S", {"S": (3, 3)}, ()),
]


def _values(args, rng):
    """Random values; a dimension no shape fixes (N) is 6."""
    out = {}
    for a in args:
        if isinstance(a, sp.MatrixSymbol):
            v = rng.uniform(-1, 1, tuple(int(d) if d.is_Integer else 6 for d in a.shape))
            if a.name == "S":
                v = v @ v.T + 3 * np.eye(v.shape[0])      # well conditioned
            out[a] = v
        else:
            out[a] = rng.uniform(0.5, 1.5)
    return out


@pytest.mark.parametrize("f, wrt, shapes, assume", GRADIENTS, ids=[g[0] for g in GRADIENTS])
def test_lambdify_and_pycode_run_matcalcs_code(f, wrt, shapes, assume):
    g = matcalc.grad(f, wrt, shapes=shapes, assume=list(assume))
    assert sp.latex(g.expr) == g.latex()
    assert sp.pycode(g.expr) == numpy_code(g.expr)
    args = g.arguments()
    fn = sp.lambdify(args, g.expr, "numpy")
    rng = np.random.default_rng(3)
    for _ in range(3):
        values = _values(args, rng)
        got = fn(*[values[a] for a in args])
        assert np.shape(got) == tuple(int(d) for d in g.wrt.shape)
        np.testing.assert_allclose(got, evaluate(g.expr, values), rtol=1e-12, atol=1e-12)


def test_lambdify_imports_the_helpers_it_calls():
    g = matcalc.grad("sum(softmax(W @ X) * Y)", "W", shapes={"W": (3, 4), "X": (4, 5)})
    fn = sp.lambdify(g.arguments(), g.expr, "numpy")
    assert "_softmax" in fn.__code__.co_names
    assert fn.__globals__["_softmax"] is runtime._softmax


def test_plain_sympy_code_is_unchanged_where_matcalc_has_no_rule():
    """A SymPy node matcalc does not print keeps SymPy's own code."""
    M = sp.MatrixSymbol("M", 3, 3)
    fn = sp.lambdify([M], sp.MatPow(M, 2), "numpy")
    m = np.arange(9.0).reshape(3, 3)
    np.testing.assert_allclose(fn(m), m @ m)


# ---------------------------------------------------------------- SymPy input

W, xs, ys = sp.MatrixSymbol("W", 3, 4), sp.MatrixSymbol("x", 4, 1), sp.MatrixSymbol("y", 3, 1)
X, Ax, Sx = sp.MatrixSymbol("X", 3, 4), sp.MatrixSymbol("A", 3, 3), sp.MatrixSymbol("X", 3, 3)
ONE = {"W": (3, 4), "x": (4, 1), "y": (3, 1), "X": (3, 4), "A": (3, 3)}

SQUARE = {**ONE, "X": (3, 3)}

# (SymPy input, the same as text, the text's shapes, wrt, the gradient both print)
SYMPY_INPUTS = [
    ((W * xs - ys).T * (W * xs - ys), "(W @ x - y).T @ (W @ x - y)", ONE, "W",
     "2*(W @ x - y) @ x.T"),
    (sp.Trace((W * xs - ys).T * (W * xs - ys)), "tr((W @ x - y).T @ (W @ x - y))", ONE, "W",
     "2*(W @ x - y) @ x.T"),
    (sp.Trace(X.T * Ax * X), "tr(X.T @ A @ X)", ONE, "X", "(A + A.T) @ X"),
    (sp.OneMatrix(1, 3) * sp.HadamardProduct(X, X) * sp.OneMatrix(4, 1), "sum(X * X)", ONE,
     "X", "2*X"),
    (sp.OneMatrix(1, 3) * sp.HadamardPower(X, 2) * sp.OneMatrix(4, 1), "sum(X**2)", ONE, "X",
     "2*X"),
    (sp.Trace(sp.HadamardPower(X, 2) * sp.OneMatrix(4, 3)), "sum(X**2)", ONE, "X", "2*X"),
    (sp.Trace(sp.OneMatrix(4, 3) * X.applyfunc(sp.exp)), "sum(exp(X))", ONE, "X", "exp(X)"),
    (sp.Trace(Sx * Sx), "tr(X @ X)", SQUARE, "X", "2*X.T"),
    (sp.Trace(Ax * Sx ** -1), "tr(A @ inv(X))", SQUARE, "X", "-inv(X).T @ A.T @ inv(X).T"),
    (sp.log(sp.Determinant(Sx)), "log(det(X))", SQUARE, "X", "inv(X).T"),
]


@pytest.mark.parametrize("f, same, shapes, wrt, printed", SYMPY_INPUTS,
                         ids=[s[1] for s in SYMPY_INPUTS])
def test_sympy_input_gives_what_its_text_gives(f, same, shapes, wrt, printed):
    from_text = matcalc.grad(same, wrt, shapes=shapes)
    from_sym = matcalc.grad(f, wrt)
    assert from_text.text() == printed
    assert from_sym.text() == printed
    assert from_sym.latex() == from_text.latex()
    from_sym.verify()


def test_a_sympy_sum_of_transposes_is_folded_back():
    assert (W * xs - ys).T != sp.Transpose(W * xs - ys)     # SymPy distributes the transpose
    assert text(from_sympy((W * xs - ys).T)) == "(W @ x - y).T"
    assert text(from_sympy(Ax + Ax.T)) == "A + A.T"           # nothing to fold


def test_matrix_powers():
    assert text(from_sympy(sp.MatPow(Sx, 3))) == "X @ X @ X"
    assert text(from_sympy(sp.MatPow(Sx, -2))) == "inv(X @ X)"
    assert from_sympy(sp.MatMul(Ax, sp.MatPow(Sx, 0), evaluate=False)) == Ax


def test_a_pickled_result_keeps_matcalcs_notation():
    """SymPy pickles no instance attributes; the result puts the notation back on its expr."""
    import copy
    import pickle
    g = matcalc.grad("tr(A @ X @ B)", "X", shapes={"A": (2, 3), "X": (3, 4)})
    for again in (pickle.loads(pickle.dumps(g)), copy.deepcopy(g)):
        assert again.expr == g.expr
        assert sp.latex(again.expr) == again.latex() == r"A^{\top} B^{\top}"
