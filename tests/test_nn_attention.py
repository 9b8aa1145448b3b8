"""Self-attention and the transformer block (nn/attention.py): the printed lines, the proof,
the kernels, training."""
import pytest

import matcalc
from matcalc.api import verify_backprop
from matcalc.core.errors import MatcalcError, VerificationError
from matcalc.nn import attention
from matcalc.nn.model import model
from matcalc.nn.syntax import parse_net
from matcalc.printing.text import text

SMALL = "dense(4), attention(heads=2), mean, dense(3)"
BLOCK = "dense(16), position, transformer(heads=2, ff=32), mean, dense(10)"


def lines(b):
    return {str(a.name): text(a.expr) for a in list(b.forward) + list(b.backward)}


def test_attention_prints_the_textbook_lines_and_is_proven():
    b = matcalc.derive(model((4, 6), parse_net(SMALL)))
    got = lines(b)
    assert got["A0"] == "unvec(vec(X), 6)"
    assert got["Q2_1"] == "Z1.T @ WQ2_1"
    assert got["S2_1"] == "sqrt(2)/2*Q2_1 @ K2_1.T"
    assert got["P2_1"] == "softmax(Mask2 + S2_1, axis=1)"
    assert got["O2_1"] == "P2_1 @ V2_1"
    assert got["Att2"] == "(O2_1 @ WO2_1 + O2_2 @ WO2_2).T"
    # the softmax Jacobian in its textbook form, and δ_Q = δ_S K, δ_K = δ_Sᵀ Q (the 1/√d_k
    # stays outside the δ's, in their coefficients, as every scalar does in matcalc)
    assert got["delta_S2_1"] == \
        "P2_1 * (delta_P2_1 - (P2_1 * delta_P2_1) @ ones(4*N, 4*N))"
    assert got["delta_Q2_1"] == "delta_S2_1 @ K2_1"
    assert got["delta_K2_1"] == "delta_S2_1.T @ Q2_1"
    assert got["delta_V2_1"] == "P2_1.T @ delta_O2_1"
    assert got["delta_P2_1"] == "delta_O2_1 @ V2_1.T"
    verify_backprop(b, method="numeric")


def test_causal_attention_is_proven():
    b = matcalc.derive(model((3, 2), parse_net("dense(2), attention(heads=1, causal=1), mean, "
                                               "dense(2)")))
    verify_backprop(b, method="numeric")


def test_a_wrong_softmax_jacobian_is_caught(monkeypatch):
    real = attention.hadamard

    def drop_rowsum(p, inner):            # δ_S = P ⊙ δ_P: the rowsum term left out
        return real(p, inner.args[0] if inner.is_MatAdd else inner)
    monkeypatch.setattr(attention, "hadamard", lambda *a: real(*a) if len(a) != 2 or
                        not getattr(a[1], "is_MatAdd", False) else drop_rowsum(*a))
    b = matcalc.derive(model((3, 4), parse_net("dense(2), attention(heads=1), mean, dense(2)")))
    with pytest.raises(VerificationError, match="delta_S"):
        verify_backprop(b, method="numeric")


def test_heads_must_split_the_features():
    with pytest.raises(MatcalcError, match="layer 2, attention\\(heads=3\\): 16 features do "
                                           "not split into 3 heads"):
        model((8, 8), parse_net("dense(16), attention(heads=3), mean, dense(10)"))
