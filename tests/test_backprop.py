"""Networks: textbook δ recursion for every listed model, each formula proven both ways."""
import pytest
import sympy as sp

from matcalc.nn.backprop import derive
from matcalc.core.errors import MatcalcError
from matcalc.nn.spec import mlp
from matcalc.verify import verify_exact, verify_numeric

MODELS = {
    "sigmoid-softmax-ce": mlp([4, 5, 3]),
    "tanh-bce": mlp([3, 4, 1], hidden="tanh", loss="binary-cross-entropy"),
    "relu-mse-l2": mlp([3, 4, 2], hidden="relu", loss="squared-error", l2=True),
    "softplus-hinge": mlp([3, 4, 3], hidden="softplus", loss="hinge"),
    "identity-sum-nobias": mlp([3, 4, 2], hidden="identity", loss="cross-entropy",
                               bias=False, reduction="sum"),
    "rows-relu-ce": mlp([3, 4, 3], hidden="relu", layout="rows"),
    "three-layers": mlp([3, 4, 4, 2], hidden=["tanh", "sigmoid"]),
}


def _assumptions(b):
    kinds = {"ColumnsSumToOne": "colsum1", "RowsSumToOne": "rowsum1"}
    return [(kinds[type(a).__name__], a.var) for a in b.assumptions]


@pytest.fixture(scope="module", params=list(MODELS), ids=str)
def backprop(request):
    return derive(MODELS[request.param])


def test_every_gradient_proven_by_central_differences(backprop):
    L = backprop.loss()
    for p in backprop.params:
        verify_numeric(L, p, backprop.gradient(p), assumptions=_assumptions(backprop))


def test_every_gradient_proven_exactly(backprop):
    L = backprop.loss()
    for p in backprop.params:
        verify_exact(L, p, backprop.gradient(p), assumptions=_assumptions(backprop))


def _lines(model):
    return [str(a) for a in derive(model).backward]


def test_softmax_cross_entropy_textbook_form():
    assert _lines(mlp([64, 128, 10])) == [
        "delta2 := S - Y",
        "delta1 := (W2.T @ delta2) * A1*(1 - A1)",
        "dW2 := 1/N*delta2 @ A1.T",
        "db2 := 1/N*delta2 @ ones(N, 1)",
        "dW1 := 1/N*delta1 @ X.T",
        "db1 := 1/N*delta1 @ ones(N, 1)",
    ]


def test_sigmoid_bce_and_tanh_and_relu_forms():
    lines = _lines(mlp([3, 4, 5, 1], hidden=["tanh", "relu"], loss="binary-cross-entropy"))
    assert lines[:3] == ["delta3 := A3 - Y",
                         "delta2 := (W3.T @ delta3) * step(Z2)",
                         "delta1 := (W2.T @ delta2) * (1 - A1**2)"]


def test_l2_adds_lambda_w():
    lines = _lines(mlp([3, 4, 2], loss="squared-error", l2=True))
    assert "dW2 := 1/N*delta2 @ A1.T + lam*W2" in lines   # as seed note 002 writes it
    assert lines[0] == "delta2 := Z2 - Y"


def test_rows_layout():
    assert _lines(mlp([3, 4, 2], hidden="relu", layout="rows", reduction="sum")) == [
        "delta2 := S - Y",
        "delta1 := (delta2 @ W2.T) * step(Z1)",
        "dW2 := A1.T @ delta2",
        "db2 := delta2.T @ ones(N, 1)",
        "dW1 := X.T @ delta1",
        "db1 := delta1.T @ ones(N, 1)",
    ]


def test_derivation_is_linear_in_depth():
    b = derive(mlp([3] + [4] * 8 + [2]))
    deltas = [a for a in b.backward if a.name.name.startswith("delta")]
    assert len(deltas) == 9
    # every hidden δ refers only to the next δ, never to an expanded chain
    for a in deltas[1:]:
        assert len([s for s in a.expr.atoms() if getattr(s, "name", "").startswith("delta")]) == 1


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(layers=[3]), "at least an input and an output"),
    (dict(layers=[3, 0, 2]), "positive integers"),
    (dict(layers=[3, 4, 2], hidden="swish"), "unknown activation 'swish'"),
    (dict(layers=[3, 4, 2], loss="focal"), "unknown loss 'focal'"),
    (dict(layers=[3, 4, 1], loss="cross-entropy"), "needs at least 2 output units"),
    (dict(layers=[3, 4, 2], l2=-0.1), "must be a number ≥ 0"),
    (dict(layers=[3, 4, 2], hidden=["relu", "tanh"]), "1 hidden layers need 1 activations"),
    (dict(layers=[3, 4, 2], layout="diagonal"), "layout must be"),
])
def test_bad_models(kwargs, fragment):
    layers = kwargs.pop("layers")
    with pytest.raises(MatcalcError) as e:
        mlp(layers, **kwargs)
    assert fragment in str(e.value)


# --------------------------------------- the proof, line by line (verification that scales)

def test_every_line_is_proven_locally_both_ways(backprop):
    """Each backward line against the forward lines it differentiates, exactly and numerically;
    the δ's coefficient (1/N for a mean) was recorded by the sweep."""
    from matcalc.api import verify_backprop
    verify_backprop(backprop, method="both")
    assert set(backprop.coefficients) == set(backprop.network.deltas.values())


def _replaced(b, name, expr):
    import dataclasses
    from matcalc.core.program import Assignment, Program
    lines = tuple(Assignment(a.name, expr(a)) if a.name.name == name else a for a in b.backward)
    return dataclasses.replace(b, backward=Program(lines))


@pytest.mark.parametrize("method", ["numeric", "exact"])
def test_a_wrong_delta_line_is_caught_and_named(method):
    """δ1 without σ′(Z1): the local proof of that line fails, and the error names it."""
    from matcalc.api import verify_backprop
    from matcalc.core.errors import VerificationError
    from matcalc.core.expr import matmul, transpose
    b = derive(mlp([4, 5, 6, 3]))
    W3, delta3 = b.params[4], next(a.name for a in b.backward if a.name.name == "delta3")
    wrong = _replaced(b, "delta2", lambda a: matmul(transpose(W3), delta3))
    with pytest.raises(VerificationError) as e:
        verify_backprop(wrong, method=method)
    msg = str(e.value)
    assert msg.startswith("the backward line delta2 := W3.T @ delta3 is wrong: it is not the "
                          "gradient with respect to Z2 of the forward lines it differentiates "
                          "(those of Z3)"), msg
    verify_backprop(b, method=method)           # the derived line itself is right


def test_a_wrong_l2_term_is_caught_in_its_weight_line():
    from matcalc.api import verify_backprop
    from matcalc.core.errors import VerificationError
    from matcalc.core.expr import add, matmul
    b = derive(mlp([3, 4, 2], l2=True))
    W1 = b.params[0]
    wrong = _replaced(b, "dW1", lambda a: add(a.expr, matmul(b.network.lam, W1)))   # 2λW1
    with pytest.raises(VerificationError, match=r"^the backward line dW1 := .*\(those of Z1, L\)"):
        verify_backprop(wrong)


def test_local_proofs_are_the_size_of_a_layer():
    """Nothing on the proof path inlines the network: each proof names a handful of matrices,
    however deep the network (the whole-network gradient of a 30-layer net names all 60+)."""
    from matcalc.nn.backprop import local_proofs
    b = derive(mlp([3] + [4] * 30 + [2]))
    proofs = local_proofs(b)
    assert [p.line for p in proofs] == list(b.backward)
    for p in proofs:
        names = (p.f.atoms(sp.MatrixSymbol) | p.claim.atoms(sp.MatrixSymbol)) - {p.wrt}
        assert len(names) <= 5, (p.line, names)
        assert len(p.uses) == 1


def test_sixty_hidden_layers_derive_and_prove_through_the_cli(capsys, monkeypatch):
    """Once minutes, or 'nested too deeply' from ~48 layers: the proof inlined the network.
    Now nothing on the derive-and-prove path inlines it (a second is ample; the guard only
    keeps a regression from hanging the suite)."""
    import matcalc.nn.backprop as backprop_module
    from matcalc.cli import main
    from test_proof_budget import returns_within

    def inline(*_):
        raise AssertionError("the proof inlined the whole network")
    monkeypatch.setattr(backprop_module, "_inline", inline)
    with returns_within(60):
        assert main(["derive", "--layers", ",".join(["8"] * 61 + ["3"])]) == 0
    out, err = capsys.readouterr()
    assert "delta61 = S - Y" in out and "dW1 = 1/N*delta1 @ X.T" in out
    assert "verified: every gradient" in err
