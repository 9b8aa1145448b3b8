"""core/functions.py: the elementwise function table, the custom functions and `reference`."""
import math

import numpy as np
import pytest
import sympy as sp

from matcalc.core.functions import (BY_CLASS, FUNCTIONS, T, reference, relu, sigmoid, softplus,
                                    step)

x = sp.Symbol("x", real=True)
POINTS = (-2.5, -0.7, 0.3, 1.9)
POSITIVE_ONLY = {"log", "sqrt"}          # undefined (not real) for x ≤ 0
CUSTOM = ("sigmoid", "relu", "step", "softplus")


def points(name):
    return [v for v in POINTS if v > 0 or name not in POSITIVE_ONLY]


def value(e):
    """A number from a SymPy scalar; custom functions through their rewrite as exp."""
    return float(sp.N(e.rewrite(sp.exp)))


def test_table_rows():
    assert set(FUNCTIONS) == {"exp", "log", "sin", "cos", "tanh", "sqrt", "abs", "sign",
                              "sigmoid", "relu", "step", "softplus"}
    for name, fn in FUNCTIONS.items():
        assert "{}" in fn.numpy and fn.latex, name
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
        got = float(eval(fn.numpy.format("x"), {"np": np, "x": np.float64(v)}))
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
