"""The planning pass (codegen/plan.py): what it decides for a network's lines, that it changes
no value, that no kernel writes to its inputs, and that its checks can fail."""
import numpy as np
import pytest
import sympy as sp
from sympy import MatrixSymbol

from matcalc import derive, mlp
from matcalc.codegen.kernels import compile
from matcalc.codegen.plan import plan
from matcalc.core.functions import T, sigmoid
from matcalc.core.nodes import Elementwise
from matcalc.core.program import Assignment
from matcalc.codegen.inplace import inplace_code
from matcalc.printing.numpy import MatcalcNumPyPrinter
from matcalc.printing.runtime import HELPERS

from kernel_check import directional_check, inputs_untouched


def _plan_of(b):
    """The plan kernels.py makes for loss_and_gradients."""
    net = b.network
    params = [p.symbol for p in net.params]
    L = sp.Symbol("L")
    outs = [L] + [b.gradients[p] for p in params]
    lam = [net.lam] if net.lam is not None else []
    lines = list(b.forward.assignments[:-1]) + [Assignment(L, net.stable_loss)] + list(b.backward)
    return plan(lines, [net.X, net.Y, *params, *lam], outs,
                [a.name for a in b.backward if a.name not in set(outs)])


def _order(pl):
    return [str(n) for line in pl.lines for n in line.names]


def test_backprop_plan_of_a_sigmoid_network():
    pl = _plan_of(derive(mlp([4, 5, 3], hidden="sigmoid")))
    # outputs as soon as ready: dW2, db2 before δ1 (δ2 dies at δ1); S and log S one line
    assert _order(pl) == ["Z1", "A1", "Z2", "S", "logS", "L", "delta2", "dW2", "db2", "delta1",
                          "dW1", "db1"]
    assert pl.folded == 1 / sp.Symbol("N", integer=True, positive=True)
    how = [(str(s.name), s.how, s.into and str(s.into)) for s in pl.steps]
    assert how == [
        ("Z1", "=", None), ("Z1", "+=", None),                 # Z = W X; Z += b
        ("A1", "=", "Z1"),                                      # σ into Z1's buffer
        ("Z2", "=", None), ("Z2", "+=", None),
        ("S", "pair", "Z2"),                                    # log S into Z2's buffer
        ("L", "=", None),
        ("delta2", "=", "S"), ("delta2", "-=", None), ("delta2", "*=", None),  # (S − Y)/N
        ("dW2", "=", None), ("db2", "=", None),
        ("delta1", "=", None), ("delta1", "*=", None), ("delta1", "*=", "A1"),  # 1 − A1 into A1
        ("dW1", "=", None), ("db1", "=", None)]
    freed = {str(s.name): sorted(map(str, s.free)) for s in pl.steps if s.free}
    assert freed == {"L": ["Z2", "logS"], "delta1": ["A1", "S", "Z1", "delta2"]}


def test_every_into_buffer_is_dead_and_no_input_is_written():
    """Over activations, losses, layouts, L2: a buffer written into is never read later, and
    neither an input nor an output is ever a buffer or an in-place target."""
    from matcalc.nn.losses import LOSSES
    from matcalc.nn.spec import ACTIVATIONS
    for act in ACTIVATIONS:
        for loss in LOSSES:
            for layout, l2 in (("columns", False), ("rows", True)):
                m = mlp([4, 5, 1 if loss == "binary-cross-entropy" else 3], hidden=act,
                        loss=loss, layout=layout, l2=l2)
                b = derive(m)
                pl = _plan_of(b)
                keep = {b.network.X, b.network.Y, *[p.symbol for p in b.network.params]}
                for s in pl.steps:
                    assert not (set(s.names) & keep)
                    if s.into is not None:
                        assert s.into not in keep
                        later = [l.expr for l in pl.lines[s.line + 1:]]
                        assert not any(e.has(s.into) for e in later), (act, loss, s)


def test_no_fold_without_a_common_scalar():
    """reduction='sum': nothing to fold; the plan leaves the seed as derived."""
    b = derive(mlp([4, 5, 3], hidden="tanh", reduction="sum"))
    pl = _plan_of(b)
    assert pl.folded is None
    assert "1/N" not in compile(b).source


def test_fold_refused_when_gradients_disagree_or_a_delta_is_not_linear():
    N = sp.Symbol("N", integer=True, positive=True)
    A, G, W, V = (MatrixSymbol(n, 3, 3) for n in "AGWV")
    d, dW, dV = MatrixSymbol("d", 3, 3), MatrixSymbol("dW", 3, 3), MatrixSymbol("dV", 3, 3)
    lines = [Assignment(d, A - G), Assignment(dW, sp.MatMul(1 / N, d, A.T)),
             Assignment(dV, sp.MatMul(2 / N, d, A.T))]          # 1/N and 2/N: no common c
    assert plan(lines, [A, G], [dW, dV], [d]).folded is None
    lines[2] = Assignment(dV, sp.MatMul(1 / N, d, A.T))
    assert plan(lines, [A, G], [dW, dV], [d]).folded == 1 / N
    e = MatrixSymbol("e", 3, 3)                                  # e = d d: not linear in δ
    lines = [Assignment(d, A - G), Assignment(e, sp.MatMul(d, d)),
             Assignment(dW, sp.MatMul(1 / N, e, A.T))]
    assert plan(lines, [A, G], [dW], [d, e]).folded is None


def test_an_output_that_is_an_input_is_copied():
    W, G = MatrixSymbol("W", 2, 3), MatrixSymbol("G", 2, 3)
    (s,) = plan([Assignment(G, W)], [W], [G]).steps
    assert s.how == "copy"


@pytest.mark.parametrize("body, code", [
    (sp.tanh(T), "np.tanh(A, out=A)"),
    (sigmoid(T), "_sigmoid(A, out=A)"),
    (1 - T ** 2, "np.subtract(1, np.square(A, out=A), out=A)"),
    (1 - T, "np.subtract(1, A, out=A)"),
    (T * (1 - T), None),            # T twice: no chain of ufuncs on one buffer
])
def test_inplace_spellings_are_chains_of_ufuncs_with_out(body, code):
    A = MatrixSymbol("A", 3, 4)
    p = MatcalcNumPyPrinter()
    got = inplace_code(p, Elementwise(body, A), "A")
    assert got == code
    if code is None:
        return
    ns = {"np": np}
    for h in p.helpers_used:
        exec(HELPERS[h][0], ns)  # noqa: S102
    a = np.random.default_rng(0).standard_normal((3, 4))
    ns["A"] = a.copy()
    res = eval(got, ns)  # noqa: S307  (the printed code under test)
    want = eval(MatcalcNumPyPrinter().doprint(Elementwise(body, A)), {**ns, "A": a})  # noqa: S307
    assert res is ns["A"] and np.allclose(res, want, rtol=1e-15, atol=0)


def test_the_input_check_catches_a_kernel_that_writes_to_its_input():
    k = compile(derive(mlp([4, 5, 3], hidden="tanh")))
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((4, 7)), np.eye(3)[:, rng.integers(0, 3, 7)]
    params = [0.7 * rng.standard_normal(p["shape"]) for p in k.PARAMS]
    inputs_untouched(k, [X, Y, *params])

    class Writes:
        def __getattr__(self, name):
            return getattr(k, name)

        def loss_and_gradients(self, X, Y, *ps):
            X *= 1.0000001
            return k.loss_and_gradients(X, Y, *ps)

    class Aliases:
        def __getattr__(self, name):
            return getattr(k, name)

        def loss_and_gradients(self, X, Y, *ps):
            L, g = k.loss_and_gradients(X, Y, *ps)
            return L, (ps[0],) + tuple(g[1:])
    with pytest.raises(AssertionError, match="wrote to its input"):
        inputs_untouched(Writes(), [X.copy(), Y, *params])
    with pytest.raises(AssertionError, match="input's"):
        inputs_untouched(Aliases(), [X, Y, *params])


@pytest.mark.parametrize("model", [
    mlp([6, 5, 5, 3], hidden=["sigmoid", "tanh"], l2=True),
    mlp([6, 5, 4, 3], hidden="relu", layout="rows"),
    mlp([6, 5, 1], hidden="softplus", loss="binary-cross-entropy"),
], ids=["sigmoid-tanh-l2", "relu-rows", "softplus-bce"])
def test_planned_kernels_pass_the_kernel_check_deeper(model):
    """Deeper nets than the 320-kernel check (one hidden layer): buffers reused across layers."""
    k = compile(derive(model))
    rng = np.random.default_rng(4)
    n = 7
    labels = rng.integers(0, 2 if model.sizes[-1] == 1 else model.sizes[-1], n)
    Y = (labels[None, :] % 2).astype(float) if model.sizes[-1] == 1 else \
        np.eye(model.sizes[-1])[:, labels]
    X = rng.standard_normal((model.sizes[0], n))
    X, Y = (np.ascontiguousarray(np.moveaxis(a, 1, k.SAMPLE_AXIS)) for a in (X, Y))
    params = [0.7 * rng.standard_normal(p["shape"]) for p in k.PARAMS]
    directional_check(k, X, Y, params, (0.3,) if k.L2 else (), rng)


def test_docstring_has_a_row_per_formula_and_names_the_fold():
    b = derive(mlp([4, 5, 3], hidden="relu"))
    src = compile(b).source
    doc = src.split("def loss_and_gradients", 1)[1].split('"""')[1]
    rows = [r.strip() for r in doc.splitlines()[2:] if r.strip()]
    lines = _plan_of(b).lines         # a pair line (S, log S) has a row for each
    assert len(rows) == len(lines) + sum(l.axis is not None for l in lines) + 1
    assert rows[-1].startswith(r"(the mean's \frac{1}{N} is folded once into the seed")
    assert r"\delta_{2} = \frac{1}{N} \left(S - Y\right)" in rows
    assert r"\frac{\partial L}{\partial W_{1}} = \delta_{1} X^{\top}" in rows


def test_relu_mask_is_read_from_the_activation_so_relu_runs_in_place():
    """step(relu(z)) = step(z) is proven (SymPy, reference forms), so δ1 reads [A1 > 0] and
    Z1 dies at A1 = relu(Z1), which is written into it; step(σ(z)) = 1 is not step(z)."""
    from matcalc.codegen.plan import _absorbs
    from matcalc.core.functions import relu, step
    assert _absorbs(step(T), relu(T)) and not _absorbs(step(T), sigmoid(T))
    pl = _plan_of(derive(mlp([4, 5, 3], hidden="relu")))
    how = {str(s.name): s.into and str(s.into) for s in pl.steps if s.how == "="}
    assert how["A1"] == "Z1"
    src = compile(derive(mlp([4, 5, 3], hidden="relu"))).source
    assert "A1 = np.maximum(Z1, 0, out=Z1)" in src and "delta1 *= (A1 > 0)" in src
