"""Model spec → network: an MLP written with the public expr API only, described by data.

Networks (stage 3). `mlp(...)` checks the spec and returns a Model; `Model.network()` is the
forward SSA program  Z1 := W1 X + b1 1ᵀ ; A1 := σ(Z1) ; … ; L := loss  with symbolic layer
sizes (d0, d1, …, batch N), together with what later stages need as data: the parameters
(symbol, layer, kind, init), which names get a δ, the targets' assumption, and the axis of
the samples. Samples as rows are the columns network transposed (nn/layout.py), so no other
module branches on the layout. One derivation holds for every size; the verifier proves it
at small ones, and `Model.concrete` gives the model's own sizes for printing and code.
"""
import math
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from ..core.errors import MatcalcError
from ..core.expr import add, apply, matmul, matrix, norm, ones, softmax
from ..core.program import Assignment, Program
from .layout import to_rows
from .losses import ALIASES, LOSSES

ACTIVATIONS = ("sigmoid", "tanh", "relu", "softplus", "identity")
LAYOUTS = {"columns": 1, "rows": 0}        # layout -> the axis of the samples in X


@dataclass(frozen=True)
class Param:
    """A trainable parameter: its symbol, its layer (1…L), its kind and how to initialise it."""
    symbol: sp.MatrixSymbol
    layer: int
    kind: str                   # "weight" or "bias"
    init: str                   # "he" (relu layers), "glorot", or "zeros"
    fan_in: int                 # inputs and outputs of a unit, for the initial scale
    fan_out: int


@dataclass(frozen=True)
class Network:
    """A model as data: the forward program and what the later stages read from it."""
    forward: Program
    X: sp.MatrixSymbol
    Y: sp.MatrixSymbol
    params: tuple               # Param, in the order the kernels take them
    lam: object                 # the L2 weight λ (a Symbol), or None
    deltas: dict                # forward name -> the symbol its adjoint is named (δ)
    assumptions: tuple          # rewrite rules the targets satisfy
    sample_axis: int            # 1: samples are the columns of X; 0: the rows
    stable_loss: object         # L from the logits, finite for any logits (generated code)


class Described:
    """What every model derives from its network and its loss (MLPs here, nn/cnn.py's CNNs)."""

    @property
    def loss_row(self):
        """The loss's row of nn/losses.py."""
        return LOSSES[self.loss]

    @property
    def output_activation(self):
        return self.loss_row.output

    def variables(self):
        """(X, Y, [W1, b1, W2, b2, …], lam) as symbols of the symbolic sizes."""
        net = self.network()
        return net.X, net.Y, [p.symbol for p in net.params], net.lam

    def weights(self):
        return [p.symbol for p in self.network().params if p.kind == "weight"]


@dataclass(frozen=True)
class Model(Described):
    """A feed-forward network: sizes (input, hidden…, output), activations, loss, options."""
    sizes: tuple
    activations: tuple          # one per hidden layer
    loss: str
    l2: object = False          # False, or True (a symbol λ), or the value of λ ≥ 0
    bias: bool = True
    reduction: str = "mean"     # or "sum" over the batch
    layout: str = "columns"     # samples as columns (X: features×N) or "rows" (X: N×features)
    batch: object = "N"         # the batch size: a symbol N, or 1 for a single sample

    @property
    def depth(self):
        """The number of weight layers."""
        return len(self.sizes) - 1

    @property
    def name(self):
        """64-128-10"""
        return "-".join(map(str, self.sizes))

    @property
    def n_inputs(self):
        return self.sizes[0]

    @property
    def n_outputs(self):
        return self.sizes[-1]

    def summary(self):
        """What a report or a generated module says about the model, as words."""
        return {"architecture": "layer sizes " + ", ".join(map(str, self.sizes)),
                "hidden": ", ".join(self.activations) or "none",
                "output": self.output_activation, "loss": self.loss,
                "reduction": self.reduction, "layout": self.layout,
                "bias": "on" if self.bias else "off"}

    def dims(self):
        """The symbolic layer sizes d0 … dL and the batch size N."""
        n = sp.Integer(self.batch) if isinstance(self.batch, int) else \
            sp.Symbol(self.batch, integer=True, positive=True)
        return [sp.Symbol(f"d{i}", integer=True, positive=True)
                for i in range(len(self.sizes))], n

    def concrete(self, batch=None):
        """Substitution of the symbolic sizes by the model's own (and the batch size)."""
        ds, n = self.dims()
        sub_ = dict(zip(ds, self.sizes))
        if batch is not None and not n.is_Integer:
            sub_[n] = batch
        return sub_

    def network(self):
        """The Network: forward program ending in the scalar loss L, and its data."""
        return _network(self)

    def _columns(self):
        """The network with samples as columns: Z_l = W_l A_{l-1} + b_l 1ᵀ."""
        ds, n = self.dims()
        X, Y = matrix("X", ds[0], n), matrix("Y", ds[-1], n)
        lam = sp.Symbol("lam", positive=True) if self.l2 else None
        params, deltas, out, a, Z = [], {}, [], X, None
        for l in range(1, len(ds)):
            act = self.activations[l - 1] if l < self.depth else self.output_activation
            W = matrix(f"W{l}", ds[l], ds[l - 1])
            fans = (self.sizes[l - 1], self.sizes[l])
            params.append(Param(W, l, "weight", "he" if act == "relu" else "glorot", *fans))
            z = matmul(W, a)
            if self.bias:
                b = matrix(f"b{l}", ds[l], 1)
                params.append(Param(b, l, "bias", "zeros", *fans))
                z = add(z, matmul(b, ones(1, n)))
            Z = matrix(f"Z{l}", *z.shape)
            out.append(Assignment(Z, z))
            deltas[Z] = matrix(f"delta{l}", *z.shape)
            if act == "identity":
                a = Z
                continue
            value = softmax(Z, 0) if act == "softmax" else apply(act, Z)
            a = matrix("S" if act == "softmax" else f"A{l}", *value.shape)
            out.append(Assignment(a, value))
        scale = sp.S.One / n if self.reduction == "mean" else sp.S.One
        penalty = lam / 2 * sp.Add(*[norm(p.symbol) ** 2 for p in params
                                     if p.kind == "weight"]) if self.l2 else sp.S.Zero
        L = scale * self.loss_row.build(a, Y) + penalty
        out.append(Assignment(sp.Symbol("L"), L))
        rule = self.loss_row.assumption
        return Network(Program(tuple(out)), X, Y, tuple(params), lam, deltas,
                       (rule(Y),) if rule else (), LAYOUTS["columns"],
                       scale * self.loss_row.stable(Z, Y) + penalty)


@lru_cache(maxsize=64)
def _network(model):
    net = model._columns()
    return to_rows(net) if model.layout == "rows" else net


def mlp(layers, hidden="sigmoid", loss="cross-entropy", l2=False, bias=True,
        reduction="mean", layout="columns", batch="N"):
    """A checked Model. `layers` is (input, hidden…, output); `hidden` one activation for
    all hidden layers or one per hidden layer.

    >>> mlp([64, 128, 10]).depth
    2
    """
    sizes = tuple(layers)
    if len(sizes) < 2:
        raise MatcalcError(f"a network needs at least an input and an output size, got {sizes}")
    for s in sizes:
        if not isinstance(s, int) or isinstance(s, bool) or s < 1:
            raise MatcalcError(f"layer sizes must be positive integers, got {s!r} in {sizes}")
    acts = (hidden,) * (len(sizes) - 2) if isinstance(hidden, str) else tuple(hidden)
    if len(acts) != len(sizes) - 2:
        raise MatcalcError(f"{len(sizes) - 2} hidden layers need {len(sizes) - 2} "
                           f"activations, got {len(acts)}: {acts}")
    # the named ones, even with no hidden layer to use them (a typo is not silently ignored)
    for a in (hidden,) if isinstance(hidden, str) else acts:
        if a not in ACTIVATIONS:
            raise MatcalcError(f"unknown activation {a!r}; choose one of {', '.join(ACTIVATIONS)}")
    loss = ALIASES.get(loss, loss)
    if loss not in LOSSES:
        raise MatcalcError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    row = LOSSES[loss]
    if sizes[-1] < row.min_outputs:
        raise MatcalcError(f"{loss} needs at least {row.min_outputs} output units ({row.output} "
                           f"output over {row.targets}), but the last layer has {sizes[-1]}")
    if reduction not in ("mean", "sum"):
        raise MatcalcError(f"reduction must be 'mean' or 'sum', not {reduction!r}")
    if layout not in LAYOUTS:
        raise MatcalcError(f"layout must be 'columns' (X is features×N) or 'rows' "
                           f"(X is N×features), not {layout!r}")
    if not isinstance(l2, (bool, int, float)) or (
            not isinstance(l2, bool) and not (math.isfinite(l2) and l2 >= 0)):
        raise MatcalcError(f"the L2 weight λ must be a number ≥ 0 (or True for a symbol), "
                           f"not {l2!r}")
    if l2 is not True and not l2:
        l2 = False
    if not ((batch == 1 and type(batch) is int) or (isinstance(batch, str) and
                                                     batch.isidentifier())):
        raise MatcalcError(f"batch is a name such as 'N', or 1 for a single sample, not {batch!r}")
    return Model(sizes, acts, loss, l2, bias, reduction, layout, batch)
