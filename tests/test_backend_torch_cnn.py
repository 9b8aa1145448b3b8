"""Convolutional networks on the torch and JAX backends: the helpers of printing/torch.py and
printing/jax.py (unfold, fold, pooling and its adjoints) give the NumPy helpers' results,
ties included; the kernels are proven against the NumPy kernels and central differences
(tests/backend_check.py) over stride 1 and 2, padding 0 and 1, max and average pooling,
overlapping windows and a convolution after a pool, float64 and float32; they train as the
NumPy kernels do; what has no spelling yet is still refused by name."""
import numpy as np
import pytest

from matcalc import cnn, derive, train
from matcalc.cli import main
from matcalc.codegen.kernels import kernel_source
from matcalc.core.errors import NoRuleError
from matcalc.printing.numpy import HELPERS as NUMPY_HELPERS, numpy_helpers

from backend_check import prove

BACKENDS = ["torch", "jax"]

# (input, net, options): every kernel helper is called by at least one (see the test).
NETS = [
    ("1x8x8", "conv(4, 3, pad=1), relu, maxpool(2), dense(10)", {}),
    ("2x7x7", "conv(3, 3, stride=2), tanh, conv(4, 2), relu, avgpool(2), dense(3)",
     {"loss": "squared-error"}),
    ("1x9x9", "conv(3, 3, stride=2, pad=1), relu, maxpool(3, stride=2), dense(4)",
     {"l2": True}),
    ("1x8x8", "conv(2, 3, pad=1), sigmoid, maxpool(2), conv(3, 3, pad=1), relu, "
              "avgpool(2, stride=1), dense(5)", {"reduction": "sum"}),
    ("1x6x6", "conv(2, 2), relu, maxpool(2, stride=1), dense(1)",
     {"loss": "binary-cross-entropy"}),
]
CONV_HELPERS = {"_to_channels", "_to_samples", "_unfold", "_fold", "_maxpool", "_avgpool",
                "_pool_select", "_pool_route", "_pool_spread", "_pool_mask"}


def library(backend):
    return pytest.importorskip(backend, reason=f"the {backend} backend needs {backend}")


def net_id(net):
    return net[1].replace(" ", "") + "".join(f"-{k}={v}" for k, v in net[2].items())


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("net", NETS, ids=net_id)
def test_cnn_kernels_equal_numpys_and_central_differences(net, backend):
    library(backend)
    prove(cnn(net[0], net[1], **net[2]), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_kernel_helper_is_called_by_the_proven_networks(backend):
    """_pool_select is the differential of max pooling, never a kernel's: the helper test
    below proves it."""
    used = set()
    for shape, spec, options in NETS:
        src = kernel_source(derive(cnn(shape, spec, **options)), backend)
        used |= {h for h in CONV_HELPERS if f"{h}(" in src.split("def predict", 1)[1]}
    assert used == CONV_HELPERS - {"_pool_select"}


def _namespace(backend):
    """The helpers' source executed: NumPy's, and the backend's with its imports."""
    ns_np = {"np": np}
    exec(numpy_helpers(CONV_HELPERS), ns_np)
    printer = {"torch": "MatcalcTorchPrinter", "jax": "MatcalcJaxPrinter"}[backend]
    mod = __import__(f"matcalc.printing.{backend}", fromlist=[printer])
    ns = {"np": np}
    if backend == "torch":
        ns["torch"] = library("torch")
    else:
        library("jax")
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)
        ns.update(jax=jax, jnp=jnp)
    exec(numpy_helpers(CONV_HELPERS, mod.HELPERS), ns)
    return ns_np, ns


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (2, 1, 0), (3, 1, 1), (3, 3, 0)])
def test_helpers_equal_numpys_with_ties(backend, k, s, p):
    """Maps of small integers have ties in most windows: the first maximum (row-major) is the
    one chosen, as NumPy's argmax chooses it."""
    ref, ns = _namespace(backend)
    lib = library(backend)
    asarray = (lambda a: lib.as_tensor(a)) if backend == "torch" else ns["jnp"].asarray
    rng = np.random.default_rng(k * 100 + s * 10 + p)
    C, N, H, W = 2, 3, 6, 6
    A = rng.integers(0, 3, (C, N * H * W)).astype(float)
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    Hc, Wc = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    L = rng.standard_normal(A.shape)
    G = rng.standard_normal((C, N * Ho * Wo))
    Gc = rng.standard_normal((C * k * k, N * Hc * Wc))
    X = rng.standard_normal((C * H * W, N))
    calls = [("_to_channels", (X,), (C, H, W)), ("_to_samples", (A,), (C, H, W)),
             ("_unfold", (A,), (C, H, W, k, s, p)), ("_fold", (Gc,), (C, H, W, k, s, p)),
             ("_maxpool", (A,), (C, H, W, k, s)), ("_avgpool", (A,), (C, H, W, k, s)),
             ("_pool_select", (A, L), (C, H, W, k, s)),
             ("_pool_route", (A, G), (C, H, W, k, s)),
             ("_pool_spread", (G,), (C, H, W, k, s)), ("_pool_mask", (A,), (C, H, W, k, s))]
    assert {c[0] for c in calls} == CONV_HELPERS
    for name, arrays, geometry in calls:
        want = ref[name](*arrays, *geometry)
        got = np.asarray(ns[name](*[asarray(a) for a in arrays], *geometry))
        assert got.shape == want.shape and got.dtype == want.dtype, name
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13, err_msg=name)


def test_the_torch_cnn_kernels_spell_torch_only():
    src = kernel_source(derive(cnn(*NETS[0][:2])), "torch")
    helpers = src.split("def predict", 1)[0]
    assert "torch.nn.functional.unfold(" in helpers and "max_pool2d(" in helpers
    assert "np." not in helpers and "backward(" not in src and "requires_grad" not in src
    assert "U1 = _unfold(A0, 1, 8, 8, 3, 1, 1)" in src


@pytest.mark.parametrize("backend", BACKENDS)
def test_cnn_training_follows_the_numpy_run(tmp_path, backend):
    """Same seed, same batches: the weights are the NumPy run's (float64)."""
    library(backend)
    model = cnn("1x8x8", "conv(4, 3, pad=1), relu, maxpool(2), dense(10)")
    runs = {be: train(model, output=tmp_path / f"{be}.npz", epochs=2, backend=be, log=None,
                      history=False) for be in ("numpy", backend)}
    for name, w in runs["numpy"].params.items():
        np.testing.assert_allclose(runs[backend].params[name], w, rtol=1e-9, atol=1e-12)
    assert runs[backend].history[-1]["test"] == runs["numpy"].history[-1]["test"] > 0.8


def test_cli_trains_a_cnn_with_torch_in_float32(tmp_path, capsys):
    library("torch")
    out = tmp_path / "w.npz"
    code = main(["train", "--input", "1x8x8", "--net", "conv(4, 3, pad=1), relu, maxpool(2), "
                 "dense(10)", "--epochs", "2", "--backend", "torch", "--dtype", "float32",
                 "-o", str(out)])
    stdout = capsys.readouterr().out
    assert code == 0
    assert float(stdout.split("test accuracy ")[1].split("%")[0]) > 80
    assert np.load(out)["W1"].dtype == np.float32


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_helper_without_a_spelling_is_refused_by_name(backend):
    """max_mask (the gradient of a max) has no torch or JAX helper yet."""
    from matcalc.core.expr import matrix
    from matcalc.core.extrema import max_mask
    from matcalc.printing.jax import MatcalcJaxPrinter
    from matcalc.printing.torch import MatcalcTorchPrinter
    printer = {"torch": MatcalcTorchPrinter, "jax": MatcalcJaxPrinter}[backend]()
    with pytest.raises(NoRuleError, match="_max_mask: it has no .* spelling in HELPERS in "
                                          f"printing/{backend}.py; use the numpy backend"):
        printer.doprint(max_mask(matrix("A", 3, 4), axis=0))
    assert "_max_mask" in NUMPY_HELPERS
