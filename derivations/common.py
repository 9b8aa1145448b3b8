"""What every derivation file uses: the Case record and the forward quantities of a model."""
from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp

from matcalc.core.expr import add, apply, matmul, ones, softmax, transpose
from matcalc.verify import evaluate


@dataclass(frozen=True)
class Case:
    name: str
    model: object
    published: Callable        # model -> {param: closed form of ∂L/∂param}
    note: str = ""             # a slip in the note, or how its symbols map to ours


def against_central_differences(formulas, L, values, h=1e-6, tol=1e-6):
    """Every entry of each formula {param: ∂L/∂param} against central differences of L at
    `values` (float64): the published formula checked on L itself, not on matcalc's δ's."""
    for p, formula in formulas.items():
        got = evaluate(formula, values)
        for idx in np.ndindex(*got.shape):
            step = np.zeros(got.shape)
            step[idx] = h
            up = float(evaluate(L, {**values, p: values[p] + step}))
            down = float(evaluate(L, {**values, p: values[p] - step}))
            assert abs((up - down) / (2 * h) - got[idx]) < tol, (p, idx)


def forward_values(model):
    """[(Z_l, A_l)] of the model as closed forms of X and the parameters (A_0 = X)."""
    X, Y, params, lam = model.variables()
    ds, n = model.dims()
    rows = model.layout == "rows"
    named = {p.name: p for p in params}
    out, a = [], X
    for l in range(1, model.depth + 1):
        W = named[f"W{l}"]
        z = matmul(a, W) if rows else matmul(W, a)
        if model.bias:
            b = named[f"b{l}"]
            z = add(z, matmul(ones(n, 1), transpose(b)) if rows else matmul(b, ones(1, n)))
        act = model.activations[l - 1] if l < model.depth else model.output_activation
        if act == "identity":
            a = z
        elif act == "softmax":
            a = softmax(z, 1 if rows else 0)
        else:
            a = apply(act, z)
        out.append((z, a))
    return X, Y, named, lam, n, out


def mean(model, n):
    """The factor of a batch mean (1/N), or 1 for a sum."""
    return sp.S.One / n if model.reduction == "mean" else sp.S.One
