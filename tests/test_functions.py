"""core/functions.py: the elementwise function table, the custom functions and `reference`."""
import math
import re

import numpy as np
import pytest
import sympy as sp

from matcalc.core.functions import (ACTIVATION_TABLE, ACTIVATIONS, BY_CLASS, FUNCTIONS, T,
                                    reference, relu, sigmoid, softplus, step)
from matcalc.printing import runtime

x = sp.Symbol("x", real=True)
POINTS = (-2.5, -0.7, 0.3, 1.9)
POSITIVE_ONLY = {"log", "sqrt"}          # undefined (not real) for x ≤ 0
CUSTOM = ("sigmoid", "relu", "step", "softplus", "leaky_relu", "silu", "elu", "gelu")


def points(name):
    return [v for v in POINTS if v > 0 or name not in POSITIVE_ONLY]


def value(e):
    """A number from a SymPy scalar; custom functions through their rewrite as exp."""
    return float(sp.N(e.rewrite(sp.exp)))


def test_table_rows():
    assert set(FUNCTIONS) == {"exp", "log", "sin", "cos", "tanh", "sqrt", "abs", "sign",
                              "sigmoid", "relu", "step", "softplus", "leaky_relu", "silu", "elu",
                              "erf", "gelu"}
    for name, fn in FUNCTIONS.items():
        for spelling in (fn.numpy, fn.torch, fn.jax):
            assert "{}" in spelling or "{0}" in spelling, name
        assert fn.latex, name
        if name not in CUSTOM:                     # elementary: the reference is itself
            assert fn.reference is fn.build, name
        else:
            assert fn.reference is not fn.build, name


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_build_and_reference_agree(name):
    fn = FUNCTIONS[name]
    for v in points(name):
        built, ref = value(fn.build(sp.Float(v))), float(sp.N(fn.reference(sp.Float(v))))
        assert built == pytest.approx(ref, rel=1e-12), (name, v)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_numpy_spelling_agrees_with_reference(name):
    fn = FUNCTIONS[name]
    for v in points(name):
        got = float(eval(fn.numpy.format("x"), {**vars(runtime), "x": np.float64(v)}))
        assert got == pytest.approx(float(sp.N(fn.reference(sp.Float(v)))), rel=1e-12), (name, v)


def test_hand_values():
    assert value(sigmoid(sp.Float(0.0))) == 0.5
    assert value(sigmoid(sp.Float(2.0))) == pytest.approx(1 / (1 + math.exp(-2)))
    assert value(softplus(sp.Float(0.0))) == pytest.approx(math.log(2))
    assert relu(sp.Integer(-2)) == 0 and relu(sp.Rational(3, 2)) == sp.Rational(3, 2)
    assert relu(sp.Integer(0)) == 0
    assert step(sp.Integer(0)) == 0 and step(sp.Integer(2)) == 1 and step(sp.Integer(-2)) == 0
    assert isinstance(relu(x), relu) and isinstance(step(x), step)    # symbolic: unevaluated


def _same(a, b):
    return sp.simplify(a - b) == 0


def test_sigmoid_derivative_is_its_reference_derivative():
    d = sp.diff(sigmoid(x), x)
    assert d == sigmoid(x) * (1 - sigmoid(x))
    assert _same(reference(d), sp.diff(FUNCTIONS["sigmoid"].reference(x), x))


def test_softplus_derivative_is_its_reference_derivative():
    d = sp.diff(softplus(x), x)
    assert d == sigmoid(x)
    assert _same(reference(d), sp.diff(FUNCTIONS["softplus"].reference(x), x))


def test_relu_derivative_away_from_zero():
    d = sp.diff(relu(x), x)
    assert d == step(x)
    by_reference = sp.diff(FUNCTIONS["relu"].reference(x), x)
    for v in (-3.0, -0.1, 0.1, 2.0):
        assert float(reference(d).subs(x, v)) == float(by_reference.subs(x, v)) == (v > 0)


def test_step_derivative_is_zero():
    assert sp.diff(step(x), x) == 0
    assert sp.diff(FUNCTIONS["step"].reference(x), x) == 0


def test_chain_rule_through_custom_functions():
    d = sp.diff(sigmoid(2 * x), x)
    assert d == 2 * sigmoid(2 * x) * (1 - sigmoid(2 * x))
    assert _same(reference(d), sp.diff(1 / (1 + sp.exp(-2 * x)), x))


def test_by_class_maps_each_function_class_to_its_name():
    for name, fn in FUNCTIONS.items():
        if name == "sqrt":         # SymPy writes sqrt as a power: no class of its own
            assert isinstance(fn.build(x), sp.Pow) and "sqrt" not in BY_CLASS.values()
            continue
        assert BY_CLASS[type(fn.build(x))] == name
    assert BY_CLASS[sp.Abs] == "abs"
    assert len(BY_CLASS) == len(FUNCTIONS) - 1


def test_reference_rewrites_custom_functions():
    assert reference(sigmoid(x)) == 1 / (1 + sp.exp(-x))
    assert reference(softplus(x)) == sp.log(1 + sp.exp(x))
    assert reference(relu(x)) == sp.Piecewise((x, x > 0), (0, True))
    e = sp.exp(x) + sp.sin(x) * x
    assert reference(e) is e                        # nothing to rewrite: the same object


def test_reference_rewrites_nested_custom_functions():
    r = reference(sigmoid(relu(x)) + softplus(step(x)) * T)
    assert r == (1 / (1 + sp.exp(-sp.Piecewise((x, x > 0), (0, True))))
                 + sp.log(1 + sp.exp(sp.Piecewise((1, x > 0), (0, True)))) * T)
    assert not any(type(f) in (sigmoid, relu, step, softplus) for f in r.atoms(sp.Function))
    for v in (-1.5, 0.5, 2.0):
        want = 1 / (1 + math.exp(-max(v, 0)))
        assert float(reference(sigmoid(relu(x))).subs(x, v)) == pytest.approx(want)


def test_placeholder_is_a_real_symbol():
    assert T.is_real and T.name == "_t"


# ---------------------------------------------------------------- activations as records

NEW = ("leaky_relu", "silu", "elu", "gelu")


def test_activations_are_the_records_marked_so_identity_last():
    assert ACTIVATIONS == ("sigmoid", "tanh", "relu", "softplus", "leaky_relu", "silu", "elu",
                           "gelu", "identity")
    assert {n: ACTIVATION_TABLE[n].init for n in ACTIVATIONS} == {
        "sigmoid": "glorot", "tanh": "glorot", "relu": "he", "softplus": "glorot",
        "leaky_relu": "he", "silu": "he", "elu": "he", "gelu": "he", "identity": "glorot"}
    assert "identity" not in FUNCTIONS          # no function of the text syntax: A is Z
    assert not FUNCTIONS["erf"].activation and not FUNCTIONS["step"].activation
    # the derivatives backprop writes through the output A (the others through Z)
    assert {n for n, f in FUNCTIONS.items() if f.derivative} == {"sigmoid", "tanh", "silu",
                                                                  "elu"}


def test_latex_names_are_standard_latex():
    assert {n: FUNCTIONS[n].latex for n in (*NEW, "erf")} == {
        "leaky_relu": r"\operatorname{LeakyReLU}", "silu": r"\operatorname{SiLU}",
        "elu": r"\operatorname{ELU}", "gelu": r"\operatorname{GELU}",
        "erf": r"\operatorname{erf}"}
    for name, fn in FUNCTIONS.items():        # a LaTeX command, or amsmath's operatorname
        assert re.fullmatch(r"\\[a-z]+|\\operatorname\{[A-Za-z]+\}|\\left.*\\right.",
                            fn.latex), name


def test_new_activations_hand_values():
    assert FUNCTIONS["leaky_relu"].build(sp.Integer(-2)) == sp.Rational(-1, 50)
    assert FUNCTIONS["leaky_relu"].build(sp.Rational(3, 2)) == sp.Rational(3, 2)
    assert FUNCTIONS["elu"].build(sp.Integer(-1)) == sp.exp(-1) - 1
    assert FUNCTIONS["elu"].build(sp.Integer(2)) == 2
    assert value(FUNCTIONS["silu"].build(sp.Float(1.0))) == pytest.approx(1 / (1 + math.exp(-1)))
    # GELU(1) = Φ(1), the standard normal CDF at 1
    assert value(FUNCTIONS["gelu"].build(sp.Float(1.0))) == pytest.approx(0.8413447460685429)
    assert sp.diff(FUNCTIONS["gelu"].build(x), x).subs(x, 0) == sp.Rational(1, 2)


@pytest.mark.parametrize("name", NEW)
def test_new_activation_derivative_is_its_reference_derivative(name):
    """The class's derivative (fdiff) against SymPy's derivative of the reference form, off
    the kink at 0 of leaky ReLU and ELU."""
    fn = FUNCTIONS[name]
    d = reference(sp.diff(fn.build(x), x))
    by_reference = sp.diff(fn.reference(x), x)
    assert not d.atoms(type(fn.build(x)))
    for v in (-6.0, -1.3, -0.2, 0.4, 2.1, 7.0):
        assert float(d.subs(x, v)) == pytest.approx(float(by_reference.subs(x, v)), rel=1e-13)


@pytest.mark.parametrize("name", [n for n, fn in FUNCTIONS.items() if fn.derivative])
def test_output_form_derivative_is_the_derivative(name):
    """f′(z) = derivative(f(z), z): what backprop writes through the forward output A."""
    fn = FUNCTIONS[name]
    f = fn.build(x)
    through = reference(fn.derivative(f, x))
    for v in (-3.0, -0.5, 0.25, 2.0):
        assert float(through.subs(x, v)) == pytest.approx(
            float(sp.diff(fn.reference(x), x).subs(x, v)), rel=1e-13)


def _backend_namespace(lib):
    if lib == "torch":
        torch = pytest.importorskip("torch")
        return {"torch": torch}, lambda v: torch.tensor(v, dtype=torch.float64), float
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return {"jax": jax, "jnp": jax.numpy}, lambda v: jax.numpy.asarray(v, dtype="float64"), float


@pytest.mark.parametrize("lib", ["torch", "jax"])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_torch_and_jax_spellings_agree_with_reference(lib, name):
    namespace, array, number = _backend_namespace(lib)
    spelling = getattr(FUNCTIONS[name], lib)
    for v in points(name):
        got = number(eval(spelling.format("x"), {**namespace, "x": array(v)}))
        assert got == pytest.approx(float(sp.N(FUNCTIONS[name].reference(sp.Float(v)))),
                                    rel=1e-12, abs=1e-15), (name, v)


def test_numpy_erf_is_libm_erf():
    z = np.concatenate([np.linspace(-8, 8, 20001), [0.0, -0.0, 1.5, -1.5, 6.0, 1e300, -np.inf]])
    want = np.array([math.erf(v) for v in z])
    with np.errstate(all="raise"):
        got = runtime._erf(z)
    assert got.dtype == np.float64 and np.abs(got - want).max() <= 1e-15
    assert np.signbit(runtime._erf(np.array([-0.0])))[0] and np.isnan(runtime._erf(np.nan))
    single = runtime._erf(z[:-2].astype(np.float32))          # 1e300 is no float32
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, want[:-2].astype(np.float32), atol=1e-6)
