"""Printing the convolutional structure nodes (core/structure.py): exact text and LaTeX, a real
pdflatex compile, and the NumPy helpers against Python-loop references, including the adjoint
pairs (fold/unfold, route/select, spread/window sums), ties and dtypes."""
import itertools
import shutil
import subprocess
import zlib

import numpy as np
import pytest
import sympy as sp

from matcalc.core.expr import (Differential, add, apply, dim, hadamard, matmul, matrix,
                               transpose)
from matcalc.core.structure import (AvgPool, Fold, MaxPool, PoolMask, PoolRoute, PoolSelect,
                                    PoolSpread, ToChannels, ToSamples, Unfold, avgpool,
                                    conv_geometry, fold, maxpool, pool_geometry, pool_mask,
                                    pool_route, pool_select, pool_spread, to_channels,
                                    to_samples, unfold)
from matcalc.printing.latex import latex
from matcalc.printing.numpy import HELPERS, MatcalcNumPyPrinter, numpy_code, numpy_helpers
from matcalc.printing.text import text

N = dim("N")
X = matrix("X", 16, "N")                      # 1×4×4 images as columns
G3 = conv_geometry(1, 4, 4, 3, 1, 1)          # 3×3, padding 1: 4×4 → 4×4
G3S = conv_geometry(1, 5, 5, 3, 2, 1)         # 3×3, stride 2, padding 1: 5×5 → 3×3
G2 = conv_geometry(1, 4, 4, 2)                # 2×2, stride 1, no padding: 4×4 → 3×3
P2 = pool_geometry(2, 4, 4, 2)                # 2×2 pooling, stride 2
P31 = pool_geometry(2, 4, 4, 3, 1)            # 3×3 pooling, stride 1 (overlapping)
A0 = matrix("A0", 1, 16 * N)
A5 = matrix("A0", 1, 25 * N)
W1 = matrix("W1", 2, 9)
delta1 = matrix("delta1", 2, 16 * N)
A1 = matrix("A1", 2, 16 * N)
G = matrix("G", 2, 4 * N)                     # one value per 2×2 window of A1
G4 = matrix("G", 2, 4 * N)                    # one value per 3×3 window (stride 1) of A1
P1 = matrix("P1", 2, 16 * N)

# (id, expression, text, LaTeX)
CASES = [
    ("to_channels", to_channels(X, G2), "to_channels(X)",
     r"\operatorname{channels}\left(X\right)"),
    ("to_samples", to_samples(P1, conv_geometry(2, 4, 4, 2)), "to_samples(P1)",
     r"\operatorname{flatten}\left(P_{1}\right)"),
    ("unfold_pad", unfold(A0, G3), "unfold(A0, k=3, pad=1)",
     r"\operatorname{unfold}_{3,\,p=1}\left(A_{0}\right)"),
    ("unfold_plain", unfold(A0, G2), "unfold(A0, k=2)",
     r"\operatorname{unfold}_{2}\left(A_{0}\right)"),
    ("unfold_stride", unfold(A5, G3S), "unfold(A0, k=3, stride=2, pad=1)",
     r"\operatorname{unfold}_{3,\,s=2,\,p=1}\left(A_{0}\right)"),
    ("fold", fold(matmul(transpose(W1), delta1), G3), "fold(W1.T @ delta1, k=3, pad=1)",
     r"\operatorname{fold}_{3,\,p=1}\left(W_{1}^{\top} \delta_{1}\right)"),
    ("maxpool", maxpool(A1, P2), "maxpool(A1, 2)",
     r"\operatorname{maxpool}_{2}\left(A_{1}\right)"),
    ("maxpool_stride", maxpool(A1, P31), "maxpool(A1, 3, stride=1)",
     r"\operatorname{maxpool}_{3,\,s=1}\left(A_{1}\right)"),
    ("avgpool", avgpool(A1, P2), "avgpool(A1, 2)",
     r"\operatorname{avgpool}_{2}\left(A_{1}\right)"),
    ("pool_select", pool_select(A1, Differential(A1), P2), "pool_select(A1, dA1, 2)",
     r"\operatorname{select}_{2}\left(A_{1}, \mathrm{d}A_{1}\right)"),
    ("pool_route", pool_route(A1, G, P2), "pool_route(A1, G, 2)",
     r"\operatorname{route}_{2}\left(A_{1}, G\right)"),
    ("upsample", pool_spread(G, P2), "upsample(G, 2)",
     r"\operatorname{upsample}_{2}\left(G\right)"),
    ("spread", pool_spread(G4, P31), "spread(G, 3, stride=1)",
     r"\operatorname{spread}_{3,\,s=1}\left(G\right)"),
    ("poolmask", pool_mask(A1, P2), "poolmask(A1, 2)",
     r"\operatorname{mask}_{2}\left(A_{1}\right)"),
    # in context: arguments are not grouped, the call is an atom
    ("conv_layer", matmul(W1, unfold(A0, G3)), "W1 @ unfold(A0, k=3, pad=1)",
     r"W_{1} \operatorname{unfold}_{3,\,p=1}\left(A_{0}\right)"),
    ("transposed", transpose(unfold(A0, G3)), "unfold(A0, k=3, pad=1).T",
     r"\operatorname{unfold}_{3,\,p=1}\left(A_{0}\right)^{\top}"),
    ("sum_argument", maxpool(add(A1, P1), P2), "maxpool(A1 + P1, 2)",
     r"\operatorname{maxpool}_{2}\left(A_{1} + P_{1}\right)"),
    ("max_pool_delta", hadamard(pool_spread(G, P2), pool_mask(A1, P2)),
     "poolmask(A1, 2) * upsample(G, 2)",    # hadamard's canonical order
     r"\operatorname{mask}_{2}\left(A_{1}\right) \odot \operatorname{upsample}_{2}\left(G\right)"),
    ("nested", apply("relu", fold(matmul(transpose(W1), delta1), G3)),
     "relu(fold(W1.T @ delta1, k=3, pad=1))", None),
]


@pytest.mark.parametrize("name, e, txt, tex", CASES, ids=[c[0] for c in CASES])
def test_text(name, e, txt, tex):
    assert text(e) == txt


@pytest.mark.parametrize("name, e, txt, tex", [c for c in CASES if c[3]],
                         ids=[c[0] for c in CASES if c[3]])
def test_latex(name, e, txt, tex):
    assert latex(e) == tex


def test_every_structure_node_is_covered_by_the_cases():
    seen = set()
    for _, e, _, _ in CASES:
        seen |= {type(a) for a in sp.preorder_traversal(e)}
    assert {ToChannels, ToSamples, Unfold, Fold, MaxPool, AvgPool, PoolSelect, PoolRoute,
            PoolSpread, PoolMask} <= seen


DOCUMENT = r"""\documentclass{article}
\usepackage{amsmath}
\usepackage{amssymb}
\begin{document}
\begin{align*}
%s
\end{align*}
\end{document}
"""


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_printed_latex_compiles(tmp_path):
    exprs = [e for _, e, _, _ in CASES] + [
        # the δ of a conv layer through a 2×2 max-pooling, as a whole expression
        hadamard(fold(matmul(transpose(W1), hadamard(pool_spread(G, P2), pool_mask(A1, P2))),
                      conv_geometry(2, 4, 4, 3, 1, 1)),
                 apply("sigmoid", A1)),
        transpose(pool_route(A1, G, P2)), transpose(maxpool(A1, P31)),
        matmul(2, transpose(avgpool(A1, P2)), G),
    ]
    lines = [r"g_{%d} &= %s" % (i, latex(e)) for i, e in enumerate(exprs)]
    tex = tmp_path / "doc.tex"
    tex.write_text(DOCUMENT % " \\\\\n".join(lines))
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]


# ---------------------------------------------------------------- NumPy: exact calls

def test_numpy_calls():
    p = MatcalcNumPyPrinter()
    code = numpy_code(fold(matmul(transpose(W1), delta1), G3), p)
    assert code == "_fold(W1.T @ delta1, 1, 4, 4, 3, 1, 1)"
    assert p.helpers_used == {"_fold"}
    assert "numpy" in p.module_imports
    assert numpy_code(unfold(A0, G3)) == "_unfold(A0, 1, 4, 4, 3, 1, 1)"
    assert numpy_code(to_channels(X, G2)) == "_to_channels(X, 1, 4, 4)"
    assert numpy_code(maxpool(A1, P31)) == "_maxpool(A1, 2, 4, 4, 3, 1)"
    assert numpy_code(pool_route(A1, G, P2)) == "_pool_route(A1, G, 2, 4, 4, 2, 2)"
    assert numpy_code(hadamard(pool_spread(G, P2), pool_mask(A1, P2))) == \
        "_pool_mask(A1, 2, 4, 4, 2, 2) * _pool_spread(G, 2, 4, 4, 2, 2)"


def test_helpers_are_emitted_with_their_dependencies():
    p = MatcalcNumPyPrinter()
    numpy_code(pool_select(A1, P1, P2), p)
    assert p.helpers_used == {"_pool_select", "_pool_argmax"}
    src = numpy_helpers(p.helpers_used)
    assert src.index("def _pool_argmax") < src.index("def _pool_select")


# ---------------------------------------------------------------- NumPy: Python-loop references

def ref_to_channels(X, C, H, W):
    n_ = X.shape[1]
    out = np.zeros((C, n_ * H * W), dtype=X.dtype)
    for c, n, h, w in itertools.product(range(C), range(n_), range(H), range(W)):
        out[c, n * H * W + h * W + w] = X[c * H * W + h * W + w, n]
    return out


def ref_unfold(A, C, H, W, k, s, p):
    n_ = A.shape[1] // (H * W)
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    out = np.zeros((C * k * k, n_ * Ho * Wo), dtype=A.dtype)
    for c, i, j, n, ho, wo in itertools.product(range(C), range(k), range(k), range(n_),
                                                range(Ho), range(Wo)):
        h, w = ho * s + i - p, wo * s + j - p
        if 0 <= h < H and 0 <= w < W:
            out[(c * k + i) * k + j, (n * Ho + ho) * Wo + wo] = A[c, n * H * W + h * W + w]
    return out


def ref_fold(Gm, C, H, W, k, s, p):
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    n_ = Gm.shape[1] // (Ho * Wo)
    out = np.zeros((C, n_ * H * W), dtype=Gm.dtype)
    for c, i, j, n, ho, wo in itertools.product(range(C), range(k), range(k), range(n_),
                                                range(Ho), range(Wo)):
        h, w = ho * s + i - p, wo * s + j - p
        if 0 <= h < H and 0 <= w < W:
            out[c, n * H * W + h * W + w] += Gm[(c * k + i) * k + j, (n * Ho + ho) * Wo + wo]
    return out


def windows(C, H, W, k, s, n_):
    """(c, n, output column, [flat input columns of the window in row-major order])."""
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    for c, n, ho, wo in itertools.product(range(C), range(n_), range(Ho), range(Wo)):
        cols = [n * H * W + (ho * s + i) * W + wo * s + j for i in range(k) for j in range(k)]
        yield c, (n * Ho + ho) * Wo + wo, cols


def first_max(row, cols):
    best = cols[0]
    for q in cols[1:]:
        if row[q] > row[best]:
            best = q
    return best


def pooled(A, C, H, W, k, s):
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    return np.zeros((C, A.shape[1] // (H * W) * Ho * Wo), dtype=A.dtype)


def ref_maxpool(A, C, H, W, k, s):
    out = pooled(A, C, H, W, k, s)
    for c, o, cols in windows(C, H, W, k, s, A.shape[1] // (H * W)):
        out[c, o] = max(A[c, q] for q in cols)
    return out


def ref_avgpool(A, C, H, W, k, s):
    out = pooled(A, C, H, W, k, s)
    for c, o, cols in windows(C, H, W, k, s, A.shape[1] // (H * W)):
        out[c, o] = sum(A[c, q] for q in cols) / (k * k)
    return out


def ref_pool_select(A, L, C, H, W, k, s):
    out = pooled(A, C, H, W, k, s)
    for c, o, cols in windows(C, H, W, k, s, A.shape[1] // (H * W)):
        out[c, o] = L[c, first_max(A[c], cols)]
    return out


def ref_pool_route(A, Gm, C, H, W, k, s):
    out = np.zeros(A.shape, dtype=Gm.dtype)
    for c, o, cols in windows(C, H, W, k, s, A.shape[1] // (H * W)):
        out[c, first_max(A[c], cols)] += Gm[c, o]
    return out


def ref_pool_spread(Gm, C, H, W, k, s):
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    n_ = Gm.shape[1] // (Ho * Wo)
    out = np.zeros((C, n_ * H * W), dtype=Gm.dtype)
    for c, o, cols in windows(C, H, W, k, s, n_):
        for q in cols:
            out[c, q] += Gm[c, o]
    return out


def ref_pool_mask(A, C, H, W, k, s):
    out = np.zeros(A.shape, dtype=A.dtype)
    for c, o, cols in windows(C, H, W, k, s, A.shape[1] // (H * W)):
        out[c, first_max(A[c], cols)] = 1
    return out


# (C, H, W, k, s, p, N): strides 1 and 2, padding 0 and 1, k 2 and 3, C 1 and 2, N 1 and 3,
# H ≠ W
CONVS = [(1, 4, 5, 2, 1, 0, 1), (2, 5, 7, 3, 2, 1, 3), (2, 4, 6, 3, 1, 1, 3),
         (1, 5, 7, 3, 2, 0, 1), (2, 6, 4, 2, 2, 1, 3), (1, 6, 4, 2, 2, 0, 3)]
# (C, H, W, k, s, N): tiling (s = k), overlapping (s < k) and apart (s > k) windows
POOLS = [(1, 4, 6, 2, 2, 1), (2, 6, 4, 2, 2, 3), (2, 6, 9, 3, 3, 3), (2, 5, 7, 3, 1, 3),
         (1, 5, 7, 3, 2, 1), (2, 7, 5, 2, 1, 3), (1, 5, 8, 2, 3, 1)]


def run(e, **arrays):
    """The printed code of e evaluated on the arrays, its helpers defined from their source."""
    p = MatcalcNumPyPrinter()
    code = numpy_code(e, p)
    ns = {"np": np}
    exec(compile(numpy_helpers(p.helpers_used), "<helpers>", "exec"), ns)
    out = eval(code, {**ns, **arrays})
    assert isinstance(out, np.ndarray) and out.ndim == 2 and out.flags.c_contiguous, code
    assert out.shape == tuple(int(d) for d in e.shape), code
    return out


def helpers():
    ns = {"np": np}
    exec(compile(numpy_helpers(HELPERS), "<helpers>", "exec"), ns)
    return ns


def rng_for(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def ties(rng, shape, dtype=np.float64):
    """Few distinct values: many windows have several maxima."""
    return rng.integers(0, 3, size=shape).astype(dtype)


@pytest.mark.parametrize("C, H, W, k, s, p, n", CONVS, ids=str)
def test_unfold_fold_against_loops_and_adjoint(C, H, W, k, s, p, n):
    g = conv_geometry(C, H, W, k, s, p)
    Ho, Wo = g.out
    rng = rng_for("conv", C, H, W, k, s, p, n)
    A = rng.standard_normal((C, n * H * W))
    Gm = rng.standard_normal((C * k * k, n * Ho * Wo))
    Am, Gs = matrix("A", C, n * H * W), matrix("G", C * k * k, n * Ho * Wo)
    U = run(unfold(Am, g), A=A)
    F = run(fold(Gs, g), G=Gm)
    np.testing.assert_array_equal(U, ref_unfold(A, C, H, W, k, s, p))
    np.testing.assert_allclose(F, ref_fold(Gm, C, H, W, k, s, p), rtol=1e-12, atol=1e-12)
    # Fold is the adjoint of Unfold: ⟨G, unfold(A)⟩ = ⟨fold(G), A⟩
    assert np.isclose(np.sum(Gm * U), np.sum(F * A), rtol=1e-12)


@pytest.mark.parametrize("C, H, W, k, s, p, n", CONVS, ids=str)
def test_to_samples_inverts_to_channels(C, H, W, k, s, p, n):
    g = conv_geometry(C, H, W, k, s, p)
    rng = rng_for("reshape", C, H, W, n)
    Xa = rng.standard_normal((C * H * W, n))
    Aa = rng.standard_normal((C, n * H * W))
    Xm, Am = matrix("X", C * H * W, n), matrix("A", C, n * H * W)
    ch = run(ToChannels(Xm, g), X=Xa)
    np.testing.assert_array_equal(ch, ref_to_channels(Xa, C, H, W))
    np.testing.assert_array_equal(run(ToSamples(ToChannels(Xm, g), g), X=Xa), Xa)
    np.testing.assert_array_equal(run(ToChannels(ToSamples(Am, g), g), A=Aa), Aa)
    # each is the other's adjoint too (a permutation)
    sam = run(ToSamples(Am, g), A=Aa)
    assert np.isclose(np.sum(sam * Xa), np.sum(Aa * ch), rtol=1e-12)


@pytest.mark.parametrize("C, H, W, k, s, n", POOLS, ids=str)
@pytest.mark.parametrize("data", ["random", "ties"])
def test_pooling_against_loops(C, H, W, k, s, n, data):
    g = pool_geometry(C, H, W, k, s)
    Ho, Wo = g.out
    rng = rng_for("pool", C, H, W, k, s, n, data)
    A = (rng.standard_normal if data == "random" else lambda sh: ties(rng, sh))((C, n * H * W))
    L = rng.standard_normal((C, n * H * W))
    Gm = rng.standard_normal((C, n * Ho * Wo))
    Am, Lm = matrix("A", C, n * H * W), matrix("L", C, n * H * W)
    Gs = matrix("G", C, n * Ho * Wo)
    np.testing.assert_array_equal(run(maxpool(Am, g), A=A), ref_maxpool(A, C, H, W, k, s))
    np.testing.assert_allclose(run(avgpool(Am, g), A=A), ref_avgpool(A, C, H, W, k, s),
                               rtol=1e-12)
    sel = run(pool_select(Am, Lm, g), A=A, L=L)
    np.testing.assert_array_equal(sel, ref_pool_select(A, L, C, H, W, k, s))
    route = run(pool_route(Am, Gs, g), A=A, G=Gm)
    np.testing.assert_allclose(route, ref_pool_route(A, Gm, C, H, W, k, s), rtol=1e-12)
    spread = run(pool_spread(Gs, g), G=Gm)
    np.testing.assert_allclose(spread, ref_pool_spread(Gm, C, H, W, k, s), rtol=1e-12)
    np.testing.assert_array_equal(run(pool_mask(Am, g), A=A), ref_pool_mask(A, C, H, W, k, s))
    # PoolRoute(A, ·) is the adjoint of PoolSelect(A, ·)
    assert np.isclose(np.sum(Gm * sel), np.sum(route * L), rtol=1e-12)
    # PoolSpread is the adjoint of the window sums k²·avgpool
    sums = k * k * run(avgpool(Lm, g), L=L)
    assert np.isclose(np.sum(Gm * sums), np.sum(spread * L), rtol=1e-12)
    # the selected values of A itself are its window maxima
    np.testing.assert_array_equal(run(pool_select(Am, Am, g), A=A), run(maxpool(Am, g), A=A))


def test_ties_go_to_the_first_maximum():
    """Row-major order within the window: (0, 1) comes before (1, 0)."""
    ns = helpers()
    A = np.array([[0., 5., 1., 1.],
                  [5., 2., 1., 1.],
                  [3., 3., 3., 3.],
                  [3., 3., 3., 3.]]).reshape(1, 16)
    mask = ns["_pool_mask"](A, 1, 4, 4, 2, 2).reshape(4, 4)
    np.testing.assert_array_equal(mask, [[0, 1, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0],
                                         [0, 0, 0, 0]])
    L = np.arange(16.).reshape(1, 16)
    np.testing.assert_array_equal(ns["_pool_select"](A, L, 1, 4, 4, 2, 2), [[1., 2., 8., 10.]])
    route = ns["_pool_route"](A, np.array([[1., 2., 3., 4.]]), 1, 4, 4, 2, 2).reshape(4, 4)
    np.testing.assert_array_equal(route, [[0, 1, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0],
                                          [0, 0, 0, 0]])
    # overlapping windows (stride 1) of a constant map: each goes to its top-left corner,
    # and route sums where the windows share it
    flat = np.ones((1, 9))
    np.testing.assert_array_equal(ns["_pool_mask"](flat, 1, 3, 3, 2, 1).reshape(3, 3),
                                  [[1, 1, 0], [1, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(ns["_pool_route"](flat, np.ones((1, 4)), 1, 3, 3, 2, 1),
                                  [[1, 1, 0, 1, 1, 0, 0, 0, 0]])
    A2 = np.array([[1., 9., 0.], [0., 0., 0.], [0., 0., 0.]]).reshape(1, 9)
    np.testing.assert_array_equal(ns["_pool_route"](A2, np.array([[1., 2., 3., 4.]]),
                                                    1, 3, 3, 2, 1),
                                  [[0, 3, 0, 3, 4, 0, 0, 0, 0]])


@pytest.mark.parametrize("name, args", [
    ("_to_channels", lambda r: (r((18, 3)), 2, 3, 3)),
    ("_to_samples", lambda r: (r((2, 27)), 2, 3, 3)),
    ("_unfold", lambda r: (r((2, 75)), 2, 5, 5, 3, 2, 1)),
    ("_fold", lambda r: (r((18, 27)), 2, 5, 5, 3, 2, 1)),
    ("_maxpool", lambda r: (r((2, 48)), 2, 4, 4, 2, 2)),
    ("_maxpool", lambda r: (r((2, 48)), 2, 4, 4, 3, 1)),
    ("_avgpool", lambda r: (r((2, 48)), 2, 4, 4, 2, 2)),
    ("_avgpool", lambda r: (r((2, 48)), 2, 4, 4, 3, 1)),
    ("_pool_select", lambda r: (r((2, 48)), r((2, 48)), 2, 4, 4, 2, 2)),
    ("_pool_route", lambda r: (r((2, 48)), r((2, 12)), 2, 4, 4, 2, 2)),
    ("_pool_route", lambda r: (r((2, 48)), r((2, 12)), 2, 4, 4, 3, 1)),
    ("_pool_spread", lambda r: (r((2, 12)), 2, 4, 4, 2, 2)),
    ("_pool_spread", lambda r: (r((2, 12)), 2, 4, 4, 3, 1)),
    ("_pool_mask", lambda r: (r((2, 48)), 2, 4, 4, 2, 2)),
])
def test_float32_stays_float32_and_outputs_are_contiguous(name, args):
    rng = np.random.default_rng(0)
    made = args(lambda shape: rng.standard_normal(shape).astype(np.float32))
    out = helpers()[name](*made)
    assert out.dtype == np.float32
    assert out.ndim == 2 and out.flags.c_contiguous
    # the same values as in float64, to float32 rounding
    wide = helpers()[name](*[a.astype(np.float64) if isinstance(a, np.ndarray) else a
                             for a in made])
    np.testing.assert_allclose(out, wide, rtol=1e-5, atol=1e-5)


def test_no_float64_temporaries_in_the_helpers():
    """float32 data is not widened anywhere inside: np.zeros take the argument's dtype."""
    for name in ("_fold", "_pool_route", "_pool_spread", "_pool_mask"):
        src = HELPERS[name][0]
        assert "np.zeros(" in src and "dtype=" in src, name
    for name, (src, _) in HELPERS.items():
        assert "float64" not in src and "dtype=float" not in src, name


def test_a_conv_layer_forward_and_backward():
    """W @ unfold(A) and fold(Wᵀ δ) printed as whole expressions, against the loops."""
    g = conv_geometry(2, 5, 6, 3, 1, 1)
    n = 2
    rng = np.random.default_rng(7)
    Wa, A = rng.standard_normal((4, 18)), rng.standard_normal((2, n * 30))
    D = rng.standard_normal((4, n * 30))
    Wm, Am, Dm = matrix("W", 4, 18), matrix("A", 2, n * 30), matrix("delta", 4, n * 30)
    fwd = run(matmul(Wm, unfold(Am, g)), W=Wa, A=A)
    np.testing.assert_allclose(fwd, Wa @ ref_unfold(A, 2, 5, 6, 3, 1, 1), rtol=1e-12)
    back = run(fold(matmul(transpose(Wm), Dm), g), W=Wa, delta=D)
    np.testing.assert_allclose(back, ref_fold(Wa.T @ D, 2, 5, 6, 3, 1, 1), rtol=1e-12)
