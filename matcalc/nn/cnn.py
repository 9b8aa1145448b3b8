"""Convolutional network spec → network: conv, pooling, activations and dense layers as data.

Networks (stage 3). `cnn("1x8x8", "conv(8, 3, pad=1), relu, maxpool(2), dense(10)")` reads
the spec (text through an ast whitelist, or a list of (kind, args) pairs) and checks every
layer's geometry with the output-size formula H' = (H − k + 2p)/s + 1; `ConvModel.network()`
is the forward program over channel matrices (core/structure.py):
  A0 := to_channels(X); U1 := unfold(A0); Z1 := W1 U1 + b1 1ᵀ; A1 := relu(Z1);
  P1 := maxpool(A1); F1 := to_samples(P1); Z2 := W2 F1 + b2 1ᵀ; S := softmax(Z2); L := …
with a δ named for each pre-activation and each pooled map, like the MLP of nn/spec.py, so
that derive, the kernels and the trainer need nothing new. Samples are columns only.
"""
import ast
import math
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from ..core.errors import MatcalcError, ParseError
from ..core.expr import add, apply, matmul, matrix, norm, ones, softmax
from ..core.program import Assignment, Program
from ..core.structure import (avgpool, conv_geometry, maxpool, pool_geometry, to_channels,
                              to_samples, unfold)
from .losses import ALIASES, LOSSES
from .spec import LAYOUTS, Described, Network, Param

ACTIVATIONS = ("relu", "sigmoid", "tanh")
# Layer kind -> (positional parameters, keyword parameters with their defaults).
LAYERS = {"conv": (("filters", "kernel"), {"stride": 1, "pad": 0}),
          "maxpool": (("k",), {"stride": None}),
          "avgpool": (("k",), {"stride": None}),
          "dense": (("units",), {}),
          "flatten": ((), {}),
          **{a: ((), {}) for a in ACTIVATIONS}}


@dataclass(frozen=True)
class Layer:
    """One layer of the spec: its kind and its parameters by name."""
    kind: str
    params: tuple = ()              # ((name, value), …)

    def get(self, name):
        return dict(self.params)[name]

    def __str__(self):
        args = [str(v) for k, v in self.params if k in LAYERS[self.kind][0]]
        args += [f"{k}={v}" for k, v in self.params
                 if k not in LAYERS[self.kind][0] and v != LAYERS[self.kind][1].get(k)]
        return self.kind + (f"({', '.join(args)})" if args else "")


def layer(kind, *args, **kwargs):
    """A checked Layer: layer("conv", 8, 3, pad=1)."""
    if kind not in LAYERS:
        raise MatcalcError(f"unknown layer {kind!r}; choose one of {', '.join(LAYERS)}")
    positional, keywords = LAYERS[kind]
    if len(args) != len(positional):
        sig = ", ".join([*positional, *(f"{k}={v}" for k, v in keywords.items())])
        raise MatcalcError(f"{kind} takes {len(positional)} argument"
                           f"{'' if len(positional) == 1 else 's'}, {kind}({sig}), but was "
                           f"given {len(args)}")
    for k in kwargs:
        if k not in keywords:
            raise MatcalcError(f"{kind} takes no keyword {k}=" + (
                f"; its keywords: {', '.join(keywords)}" if keywords else ""))
    values = dict(zip(positional, args))
    values.update({k: kwargs.get(k, v) for k, v in keywords.items()})
    for name, v in values.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or
                              v < (0 if name == "pad" else 1)):
            least = "an integer ≥ 0" if name == "pad" else "a positive integer"
            raise MatcalcError(f"{kind}: {name} must be {least}, not {v!r}")
    return Layer(kind, tuple(values.items()))


def parse_net(text):
    """The layers of a spec such as "conv(8, 3, pad=1), relu, maxpool(2), dense(10)".

    >>> [str(l) for l in parse_net("conv(8, 3, pad=1), relu, maxpool(2), dense(10)")]
    ['conv(8, 3, pad=1)', 'relu', 'maxpool(2)', 'dense(10)']
    """
    if not isinstance(text, str) or not text.strip():
        raise ParseError("--net takes layers separated by commas, such as "
                         "\"conv(8, 3, pad=1), relu, maxpool(2), dense(10)\"")
    try:
        tree = ast.parse(f"({text},)", mode="eval").body
    except SyntaxError as e:
        col = max(0, min(len(text), (e.offset or 2) - 2))
        raise ParseError(f"syntax error in the network: {e.msg}", text, col) from None
    out = []
    for node in tree.elts:
        col = node.col_offset - 1
        if isinstance(node, ast.Name):
            kind, args, kwargs = node.id, [], {}
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            kind = node.func.id
            if any(k.arg is None for k in node.keywords):
                raise ParseError("** is not allowed in a network spec", text, col)
            args = [_integer(a, text) for a in node.args]
            kwargs = {k.arg: _integer(k.value, text) for k in node.keywords}
        else:
            raise ParseError("each layer is a name (relu) or a call (conv(8, 3))", text, col)
        try:
            out.append(layer(kind, *args, **kwargs))
        except MatcalcError as e:
            raise ParseError(str(e), text, col) from None
    return tuple(out)


def _integer(node, text):
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    raise ParseError("layer parameters are integers, such as conv(8, 3, pad=1)", text,
                     node.col_offset - 1)


def parse_input(spec):
    """(C, H, W) from "1x8x8" (or a tuple)."""
    if isinstance(spec, str):
        parts = spec.lower().replace("×", "x").split("x")
        if len(parts) == 3 and all(p.strip().isdigit() for p in parts):
            spec = tuple(int(p) for p in parts)
    if not (isinstance(spec, tuple) and len(spec) == 3 and
            all(type(v) is int and v > 0 for v in spec)):
        raise MatcalcError(f"--input takes CxHxW, such as 1x8x8, not {spec!r}")
    return spec


@dataclass(frozen=True)
class ConvModel(Described):
    """A convolutional network: input C×H×W, layers, loss, options (samples as columns)."""
    input: tuple
    layers: tuple
    loss: str
    l2: object = False
    reduction: str = "mean"
    batch: object = "N"
    layout: str = "columns"
    bias: bool = True

    @property
    def name(self):
        return "x".join(map(str, self.input)) + " " + ", ".join(map(str, self.layers))

    @property
    def n_inputs(self):
        return math.prod(self.input)

    @property
    def n_outputs(self):
        return self.layers[-1].get("units")

    @property
    def activations(self):
        return tuple(l.kind for l in self.layers if l.kind in ACTIVATIONS)

    def summary(self):
        return {"architecture": f"layers {', '.join(map(str, self.layers))} on "
                                f"{'×'.join(map(str, self.input))} inputs",
                "hidden": ", ".join(self.activations) or "none",
                "output": self.output_activation, "loss": self.loss,
                "reduction": self.reduction, "layout": self.layout, "bias": "on"}

    def dims(self):
        """([], N): the batch size is the only symbolic dimension."""
        n = sp.Integer(self.batch) if isinstance(self.batch, int) else \
            sp.Symbol(self.batch, integer=True, positive=True)
        return [], n

    def concrete(self, batch=None):
        ds, n = self.dims()
        return {n: batch} if batch is not None and not n.is_Integer else {}

    def geometries(self):
        """[(layer, (C, H, W) in, (C, H, W) out)] with the output-size formula applied."""
        return _walk(self)[1]

    def network(self):
        return _network(self)


def _walk(model):
    """The forward program of a ConvModel, and each layer's geometry."""
    _, n = model.dims()
    C, H, W = model.input
    X, Y = matrix("X", C * H * W, n), matrix("Y", model.n_outputs, n)
    lam = sp.Symbol("lam", positive=True) if model.l2 else None
    out, params, deltas, shapes = [], [], {}, []
    a, state, l = X, None, 0                     # state (C, H, W) while a is a channel matrix

    def name(prefix, value):
        # two pools or activations in one layer (maxpool(2), avgpool(2)) would reuse a name,
        # and the program's names must be unique (kernels free each name after its last use)
        taken = {str(line.name) for line in out}
        base = f"{prefix}{l}"
        label = next(base + s for s in ("", "b", "c", "d", "e", "f", "g", "h")
                     if base + s not in taken)
        sym = matrix(label, *value.shape)
        out.append(Assignment(sym, value))
        return sym

    def weights(rows, cols, fans, act):
        W_ = matrix(f"W{l}", rows, cols)
        b_ = matrix(f"b{l}", rows, 1)
        init = "he" if act == "relu" else "glorot"
        params.extend([Param(W_, l, "weight", init, *fans), Param(b_, l, "bias", "zeros", *fans)])
        return W_, b_

    layers = model.layers
    for i, spec in enumerate(layers):
        nxt = layers[i + 1].kind if i + 1 < len(layers) else model.output_activation
        where = f"layer {i + 1}, {spec}"
        before = state or (model.input if a == X else (a.shape[0], 1, 1))
        if spec.kind == "conv":
            if state is None:
                if l == 0:
                    state = (C, H, W)
                    a = matrix("A0", C, n * H * W)
                    out.append(Assignment(a, to_channels(X, conv_geometry(C, H, W, 1))))
                else:
                    raise MatcalcError(f"{where}: a convolution cannot follow a dense layer")
            l += 1
            g = conv_geometry(*state, spec.get("kernel"), spec.get("stride"), spec.get("pad"),
                              layer=where)
            U = name("U", unfold(a, g, where))
            F = spec.get("filters")
            W_, b_ = weights(F, U.shape[0], (U.shape[0], F * g.k * g.k), nxt)
            Z = name("Z", add(matmul(W_, U), matmul(b_, ones(1, U.shape[1]))))
            deltas[Z] = matrix(f"delta{l}", *Z.shape)
            a, state = Z, (F, *g.out)
        elif spec.kind in ("maxpool", "avgpool"):
            if state is None:
                raise MatcalcError(f"{where}: pooling needs image maps, not a flat vector")
            g = pool_geometry(*state, spec.get("k"), spec.get("stride"), layer=where)
            pool = maxpool if spec.kind == "maxpool" else avgpool
            P = name("P", pool(a, g, where))
            deltas[P] = matrix(f"delta_{P.name}", *P.shape)
            a, state = P, (state[0], *g.out)
        elif spec.kind in ACTIVATIONS:
            a = name("A", apply(spec.kind, a))
        elif spec.kind in ("flatten", "dense"):
            if state is not None:
                a = name("F", to_samples(a, conv_geometry(*state, 1), where))
                state = None
            if spec.kind == "dense":
                l += 1
                units = spec.get("units")
                W_, b_ = weights(units, a.shape[0], (a.shape[0], units), nxt)
                Z = name("Z", add(matmul(W_, a), matmul(b_, ones(1, n))))
                deltas[Z] = matrix(f"delta{l}", *Z.shape)
                a = Z
        shapes.append((spec, before, state or (a.shape[0], 1, 1)))
    logits = a
    act = model.output_activation
    if act != "identity":
        value = softmax(a, 0) if act == "softmax" else apply(act, a)
        a = matrix("S" if act == "softmax" else f"A{l}", *value.shape)
        out.append(Assignment(a, value))
    scale = sp.S.One / n if model.reduction == "mean" else sp.S.One
    penalty = lam / 2 * sp.Add(*[norm(p.symbol) ** 2 for p in params if p.kind == "weight"]) \
        if model.l2 else sp.S.Zero
    out.append(Assignment(sp.Symbol("L"), scale * model.loss_row.build(a, Y) + penalty))
    rule = model.loss_row.assumption
    net = Network(Program(tuple(out)), X, Y, tuple(params), lam, deltas,
                  (rule(Y),) if rule else (), LAYOUTS["columns"],
                  scale * model.loss_row.stable(logits, Y) + penalty)
    return net, shapes


@lru_cache(maxsize=32)
def _network(model):
    return _walk(model)[0]


def cnn(input, net, loss="cross-entropy", l2=False, reduction="mean", batch="N"):
    """A checked ConvModel: `input` "CxHxW" or (C, H, W); `net` a spec string, or a list of
    layers each a string ("conv(8, 3, pad=1)"), a Layer or a (kind, args…) tuple. The last
    layer is dense and feeds the loss.

    >>> m = cnn("1x8x8", "conv(8, 3, pad=1), relu, maxpool(2), dense(10)")
    >>> [(str(l), i, o) for l, i, o in m.geometries()][:3]
    [('conv(8, 3, pad=1)', (1, 8, 8), (8, 8, 8)), ('relu', (8, 8, 8), (8, 8, 8)), ('maxpool(2)', (8, 8, 8), (8, 4, 4))]
    """
    shape = parse_input(input)
    layers = parse_net(net) if isinstance(net, str) else tuple(
        l if isinstance(l, Layer) else parse_net(l)[0] if isinstance(l, str) else layer(*l)
        for l in net)
    if not layers or layers[-1].kind != "dense":
        raise MatcalcError("the last layer must be dense(units): it feeds the loss")
    loss = ALIASES.get(loss, loss)
    if loss not in LOSSES:
        raise MatcalcError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    row = LOSSES[loss]
    if layers[-1].get("units") < row.min_outputs:
        raise MatcalcError(f"{loss} needs at least {row.min_outputs} output units, but the last "
                           f"layer has {layers[-1].get('units')}")
    if reduction not in ("mean", "sum"):
        raise MatcalcError(f"reduction must be 'mean' or 'sum', not {reduction!r}")
    if not isinstance(l2, (bool, int, float)) or (
            not isinstance(l2, bool) and not (math.isfinite(l2) and l2 >= 0)):
        raise MatcalcError(f"the L2 weight λ must be a number ≥ 0 (or True for a symbol), "
                           f"not {l2!r}")
    model = ConvModel(shape, layers, loss, l2 if l2 is True or l2 else False, reduction, batch)
    model.geometries()          # every layer's sizes checked now, with the layer named
    return model
