"""The model: an input shape, a list of layers and the options of the tail, checked once.

Networks (stage 3). `model(input, layers, …)` is the one builder behind `mlp()` (nn/spec.py)
and `cnn()` (nn/cnn.py): each option is checked here, the same way for every network, and
every layer's sizes by its record's size rule. A model on a vector input keeps its widths
symbolic (d0, d1, …: one derivation for every size, proven at small ones); other models are
concrete but for the batch N, and `Model.reduced()` gives the same layers at small sizes for
the proof (nn/proof_sizes.py).
"""
import math
from dataclasses import dataclass, replace
from functools import lru_cache

import sympy as sp

from ..core.errors import MatcalcError
from .layers import FORMS, LAYERS, Layer, unknown
from .losses import ALIASES, LOSSES
from .network import LAYOUTS, build, shapes

CAP = 3                 # the proof's widths and channels: at most this many
REDUCTIONS = ("mean", "sum")


@dataclass(frozen=True)
class Model:
    """A network: input shape per sample, layers, loss and options."""
    input: tuple                # (F,) a vector, (C, H, W) image maps
    layers: tuple               # Layer
    loss: str
    l2: object = False          # False, or True (a symbol λ), or the value of λ ≥ 0
    bias: bool = True
    reduction: str = "mean"     # or "sum" over the batch
    layout: str = "columns"     # samples as columns (X: features×N) or "rows" (X: N×features)
    batch: object = "N"         # the batch size: a symbol N, or 1 for a single sample

    # ------------------------------------------------------------ described by its layers

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

    @property
    def is_mlp(self):
        """A vector input and only dense layers and activations: named by its sizes."""
        return len(self.input) == 1 and all(l.record.mlp for l in self.layers)

    @property
    def sizes(self):
        """(input, the width of each dense layer…): an MLP's layer sizes."""
        return (math.prod(self.input),) + tuple(l.get("units") for l in self.layers
                                                if l.record is LAYERS["dense"])

    @property
    def activations(self):
        return tuple(l.kind for l in self.layers if l.record is LAYERS["activation"])

    def training_defaults(self):
        """The training options its layers choose (an rnn: Adam, …), over the trainer's."""
        return {k: v for l in self.layers for k, v in l.record.trains}

    @property
    def depth(self):
        """The number of weight layers."""
        return sum(l.record.weights for l in self.layers)

    @property
    def name(self):
        """64-128-10, or 1x8x8 conv(8, 3, pad=1), relu, maxpool(2), dense(10)"""
        if self.is_mlp:
            return "-".join(map(str, self.sizes))
        return "x".join(map(str, self.input)) + " " + ", ".join(map(str, self.layers))

    @property
    def n_inputs(self):
        return math.prod(self.input)

    @property
    def n_outputs(self):
        return self.layers[-1].get("units")

    def summary(self):
        """What a report or a generated module says about the model, as words."""
        arch = ("layer sizes " + ", ".join(map(str, self.sizes)) if self.is_mlp else
                f"layers {', '.join(map(str, self.layers))} on "
                f"{'×'.join(map(str, self.input))} inputs")
        return {"architecture": arch, "hidden": ", ".join(self.activations) or "none",
                "output": self.output_activation, "loss": self.loss,
                "reduction": self.reduction, "layout": self.layout,
                "bias": "on" if self.bias else "off"}

    # ------------------------------------------------------------ sizes

    def dims(self):
        """The symbolic widths d0 … dL of a model on a vector input ([] otherwise), and N."""
        n = sp.Integer(self.batch) if isinstance(self.batch, int) else \
            sp.Symbol(self.batch, integer=True, positive=True)
        if FORMS[len(self.input)] != "vector" or any(l.record.sized for l in self.layers):
            return [], n
        return [sp.Symbol(f"d{i}", integer=True, positive=True)
                for i in range(len(self.sizes))], n

    def concrete(self, batch=None):
        """Substitution of the symbolic sizes by the model's own (and the batch size)."""
        ds, n = self.dims()
        sub_ = dict(zip(ds, self.sizes))
        if batch is not None and not n.is_Integer:
            sub_[n] = batch
        return sub_

    def geometries(self):
        """[(layer, (C, H, W) in, (C, H, W) out)] by the size rules (a vector is (F, 1, 1))."""
        def chw(s):
            return s if len(s) == 3 else (s[0], 1, 1)
        return [(l, chw(i), chw(o)) for l, i, o in shapes(self.input, self.layers)]

    def network(self):
        """The Network: forward program ending in the scalar loss L, and its data."""
        return _network(self)

    def reduced(self):
        """The same layers at small sizes (the model itself when its sizes are symbolic or
        small): widths and channels capped at CAP, each map side the smallest that every
        layer's size rule accepts while no map falls below min(its size, 2). The proof of
        the derivation there proves the derivation (nn/proof_sizes.py)."""
        return _reduced(self)


@lru_cache(maxsize=64)
def _network(model):
    return build(model)


@lru_cache(maxsize=64)
def _reduced(m):
    if FORMS[len(m.input)] == "vector":
        if m.dims()[0]:
            return m                # symbolic widths: the proof picks its own
        # numbers (a residual's): input and widths capped alike, so equal widths stay equal
        small = replace(m, input=(min(m.input[0], CAP),), layers=tuple(map(_capped, m.layers)))
        return small if _fits(small.input, small.layers, None, None) else m
    if FORMS[len(m.input)] == "sequence":
        from .attention import mixes, reduced
        return reduced(m, CAP) if mixes(m.layers) else m
    layers = tuple(map(_capped, m.layers))
    full = shapes(m.input, m.layers)
    C, H, W = m.input
    small = (min(C, CAP), H, W)
    for axis in (1, 2):
        for side in range(1, m.input[axis] + 1):
            trial = small[:axis] + (side,) + small[axis + 1:]
            if _fits(trial, layers, full, axis):
                small = trial
                break
    # a skip whose width a cap changed (residual(dense(72)) after a flatten of 2×6×6): itself
    return replace(m, input=small, layers=layers) if _fits(small, layers, None, None) else m


def _capped(l):
    """The layer with its widths capped at CAP (a block's layers too)."""
    if l.record.block:
        return Layer(l.kind, (("block", tuple(map(_capped, l.get("block")))),))
    return Layer(l.kind, tuple((k, min(v, CAP) if a.width else v)
                               for a, (k, v) in zip(l.record.args, l.params)))


def _fits(input, layers, full, axis):
    """The size rules accept the input, and no map side is below min(its full size, 2)
    (any sizes the rules accept, for `full` None)."""
    try:
        ours = shapes(input, layers)
    except MatcalcError:
        return False
    if full is None:
        return True
    return all(len(o) != 3 or o[axis] >= min(f[axis], 2) for (_, _, o), (_, _, f) in
               zip(ours, full)) and input[axis] >= min(full[0][1][axis], 2)


# ---------------------------------------------------------------- the one builder

def model(input, layers, loss="cross-entropy", l2=False, bias=True, reduction="mean",
          layout="columns", batch="N"):
    """A checked Model of an input shape (a tuple) and Layers: every option checked here."""
    if not layers or layers[-1].kind != "dense":
        raise MatcalcError("the last layer must be dense(units): it feeds the loss")
    loss = check_loss(loss)
    row = LOSSES[loss]
    if layers[-1].get("units") < row.min_outputs:
        raise MatcalcError(f"{loss} needs at least {row.min_outputs} output units ({row.output} "
                           f"output over {row.targets}), but the last layer has "
                           f"{layers[-1].get('units')}")
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise MatcalcError(f"reduction must be 'mean' or 'sum', not {reduction!r}")
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise MatcalcError(f"layout must be 'columns' (X is features×N) or 'rows' "
                           f"(X is N×features), not {layout!r}")
    if not isinstance(l2, (bool, int, float)) or (
            not isinstance(l2, bool) and not (math.isfinite(l2) and l2 >= 0)):
        raise MatcalcError(f"the L2 weight λ must be a number ≥ 0 (or True for a symbol), "
                           f"not {l2!r}")
    if not ((batch == 1 and type(batch) is int) or (isinstance(batch, str) and
                                                     batch.isidentifier())):
        raise MatcalcError(f"batch is a name such as 'N', or 1 for a single sample, not {batch!r}")
    if not isinstance(bias, bool):
        raise MatcalcError(f"bias is True or False, not {bias!r}")
    geometry = shapes(input, layers)        # every layer's sizes checked now, named
    if FORMS[len(geometry[-1][2])] == "sequence":       # nn/sequences.py
        raise MatcalcError(f"layer {len(layers)}, {layers[-1]}: the last layer feeds the loss "
                           f"one vector per sample, but it gives a sequence of "
                           f"{geometry[-1][2][0]} steps; put last or mean before it")
    if layout == "rows":
        for i, (layer, _, _) in enumerate(geometry):
            if not layer.record.rows:
                raise MatcalcError(f"layer {i + 1}, {layer}: {layer.record.refusal} "
                                   f"samples as columns (X is features×N), not layout='rows'")
    return Model(input, tuple(layers), loss, l2 if l2 is True or l2 else False, bias,
                 reduction, layout, batch)


def check_loss(loss):
    """The loss's table name (an alias resolved), or an error listing the losses."""
    if not isinstance(loss, str) or ALIASES.get(loss, loss) not in LOSSES:
        raise MatcalcError(unknown("loss", loss, list(LOSSES)))
    return ALIASES.get(loss, loss)
