"""core/structure.py: geometry checked with the output-size formula, shapes of the conv and
pooling nodes, constructors that pull scalars out, and every node's gradient proven —
exactly (entrywise SymPy) on tiny sizes and by central differences."""
import pytest
import sympy as sp

from matcalc.api import grad
from matcalc.core.errors import ShapeError
from matcalc.core.expr import add, apply, entry_sum, hadamard, matmul, matrix, ones
from matcalc.core.structure import (Conv, Fold, PoolSelect, ToChannels, Unfold, avgpool,
                                    conv_geometry, fold, maxpool, pool_geometry, to_channels,
                                    to_samples, unfold)
from matcalc.printing.text import text
from matcalc.verify import assert_gradient

N = sp.Symbol("N", integer=True, positive=True)


@pytest.mark.parametrize("args, message", [
    ((1, 8, 8, 3, 2, 0), "the output height (H − k + 2p)/s + 1 = (8 − 3 + 2·0)/2 + 1 = 7/2 "
                         "is not an integer"),
    ((1, 8, 6, 9, 1, 0), "the kernel 9×9 is larger than the padded input height 8 + 2·0 = 8"),
    ((1, 8, 8, 3, 0, 0), "stride must be a positive integer, not 0"),
    ((1, 8, 8, 3, 1, -1), "padding must be an integer ≥ 0, not -1"),
    ((0, 8, 8, 3, 1, 0), "channels must be a positive integer, not 0"),
])
def test_conv_geometry_errors_name_the_layer_and_the_numbers(args, message):
    with pytest.raises(ShapeError) as e:
        conv_geometry(*args, layer="layer 2, conv(8, 3)")
    assert str(e.value) == "layer 2, conv(8, 3): " + message


def test_pool_geometry_must_tile_the_map():
    with pytest.raises(ShapeError, match=r"^maxpool\(3\): a 3×3 window with stride 3 does not "
                                         r"tile the map height 8: \(8 − 3\)/3 \+ 1 = 8/3 is "
                                         r"not an integer$"):
        pool_geometry(8, 8, 8, 3, layer="maxpool(3)")
    with pytest.raises(ShapeError, match="the window 5×5 is larger than the map height 4"):
        pool_geometry(1, 4, 4, 5)
    assert pool_geometry(2, 6, 4, 2).out == (3, 2)
    assert pool_geometry(2, 6, 4, 3, 1).out == (4, 2)


def test_a_channel_mismatch_is_named():
    A = matrix("A", 3, 16 * N)
    with pytest.raises(ShapeError, match="^conv: the input has 3 channels, but the layer "
                                         "expects 2$"):
        unfold(A, conv_geometry(2, 4, 4, 3))
    with pytest.raises(ShapeError, match="X has 20 rows, but 1×4×4 images have 16 values"):
        to_channels(matrix("X", 20, N), conv_geometry(1, 4, 4, 3))


def test_shapes_follow_the_output_size_formula():
    X = matrix("X", 2 * 7 * 5, N)
    g = conv_geometry(2, 7, 5, 3, 2, 1)
    assert g.out == (4, 3)                         # (7 − 3 + 2)/2 + 1, (5 − 3 + 2)/2 + 1
    A = to_channels(X, g)
    assert A.shape == (2, 35 * N)
    assert unfold(A, g).shape == (18, 12 * N)
    assert Fold(unfold(A, g), g).shape == (2, 35 * N)
    P = maxpool(A, pool_geometry(2, 7, 5, 2, 1))
    assert P.shape == (2, 24 * N)
    assert to_samples(P, conv_geometry(2, 6, 4, 1)).shape == (48, N)
    with pytest.raises(ShapeError, match=r"the output width \(W − k \+ 2p\)/s \+ 1 = "
                                         r"\(6 − 3 \+ 2·0\)/2 \+ 1 = 5/2"):
        conv_geometry(1, 7, 6, 3, 2, 0)


def test_constructors_pull_scalars_out_and_cancel_reshapes():
    X = matrix("X", 16, N)
    g = conv_geometry(1, 4, 4, 3, 1, 1)
    A = to_channels(X, g)
    assert text(unfold(matmul(3, A), g)) == "3*unfold(to_channels(X), k=3, pad=1)"
    assert text(fold(matmul(-2, unfold(A, g)), g)) == \
        "(-2)*fold(unfold(to_channels(X), k=3, pad=1), k=3, pad=1)"
    assert to_samples(to_channels(X, g), g) == X
    assert to_channels(to_samples(A, g), g) == A


def test_a_node_rebuilds_from_its_args():
    X = matrix("X", 16, N)
    g = conv_geometry(1, 4, 4, 3)
    U = unfold(to_channels(X, g), g)
    assert U.func(*U.args) == U and isinstance(U, Unfold) and U.geometry == Conv(1, 4, 4, 3)


# ---------------------------------------------------------------- gradients proven

def _layer(C, H, Wd, F, k, s, p):
    X, W, b = matrix("X", C * H * Wd, N), matrix("W", F, C * k * k), matrix("b", F, 1)
    g = conv_geometry(C, H, Wd, k, s, p)
    U = unfold(to_channels(X, g), g)
    return X, W, b, add(matmul(W, U), matmul(b, ones(1, U.shape[1]))), g


# Exactly on tiny sizes (1–2 channels, 4×4 or 5×5, kernels 2 and 3, stride 1 and 2, padding
# 0 and 1); the slower padded stride-1 case by central differences only.
@pytest.mark.parametrize("C, H, Wd, F, k, s, p, method", [
    (1, 4, 4, 2, 3, 1, 0, "both"), (2, 4, 4, 1, 3, 1, 0, "both"), (1, 5, 5, 2, 3, 2, 0, "both"),
    (1, 4, 4, 2, 2, 2, 1, "both"), (1, 4, 4, 2, 3, 1, 1, "numeric"),
])
def test_a_conv_layers_gradients_are_proven(C, H, Wd, F, k, s, p, method):
    """f = sum(V ⊙ tanh(conv)): ∂f/∂W, ∂f/∂b and ∂f/∂X, each against entrywise sympy.diff."""
    X, W, b, Z, g = _layer(C, H, Wd, F, k, s, p)
    V = matrix("V", *Z.shape)
    f = entry_sum(hadamard(V, apply("tanh", Z)))
    for wrt in (W, b, X):
        g_ = grad(f, wrt)
        assert_gradient(f, wrt, g_.expr, method=method)


def test_the_input_gradient_is_fold_of_w_transpose_delta():
    X, W, b, Z, g = _layer(1, 5, 4, 2, 3, 1, 1)
    V = matrix("V", *Z.shape)
    assert text(grad(entry_sum(hadamard(V, Z)), X).expr) == \
        "to_samples(fold(W.T @ V, k=3, pad=1))"


@pytest.mark.parametrize("pool, k, s, method", [
    ("max", 2, 2, "both"), ("max", 2, 1, "both"), ("max", 3, 1, "numeric"),
    ("avg", 2, 2, "both"), ("avg", 2, 1, "numeric")])
def test_pooling_gradients_are_proven(pool, k, s, method):
    X = matrix("X", 2 * 4 * 4, N)
    A = to_channels(X, conv_geometry(2, 4, 4, 1))
    g = pool_geometry(2, 4, 4, k, s)
    P = (maxpool if pool == "max" else avgpool)(apply("sigmoid", A), g)
    V = matrix("V", *P.shape)
    f = entry_sum(hadamard(V, P))
    assert_gradient(f, X, grad(f, X).expr, method=method)


def test_the_proof_catches_a_wrong_pooling_route():
    """Routing to the last maximum of each window instead of the first is caught."""
    X = matrix("X", 16, N)
    A = to_channels(X, conv_geometry(1, 4, 4, 1))
    g = pool_geometry(1, 4, 4, 2, 2)
    V = matrix("V", 1, 4 * N)
    f = entry_sum(hadamard(V, maxpool(A, g)))
    right = grad(f, X).expr
    wrong = right.xreplace({V: matmul(2, V)})              # twice the gradient
    from matcalc.core.errors import VerificationError
    with pytest.raises(VerificationError):
        assert_gradient(f, X, wrong, method="numeric")
    assert isinstance(PoolSelect(A, A, g), PoolSelect)
