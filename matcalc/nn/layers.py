"""The table of layer kinds: one record each, walked once by nn/network.py.

Networks (stage 3). A record is a kind's parameters (names, defaults, least values; `widths`
marks those the proof may shrink), the shapes it takes, its size rule (the output shape per
sample, or an error naming the layer and the numbers) and how it extends the forward program
(`extend(walk, layer, where)`: the lines, parameters and δ's it adds, through the walk's few
verbs in nn/network.py). A shape per sample is a tuple: (F,) a vector of features,
(C, H, W) image maps; FORMS names them (a sequence (T, F) is one more entry). Adding a layer
kind is one record here; the activations are one record spelled by every name of
core/functions.py's ACTIVATIONS, so no activation is named in nn/.
"""
import difflib
import math
from dataclasses import dataclass
from typing import Callable

from ..core.errors import MatcalcError
from ..core.expr import apply
from ..core.functions import ACTIVATION_TABLE, ACTIVATIONS, T
from ..core.structure import avgpool, conv_geometry, maxpool, pool_geometry, unfold
from . import attention, dropout, gated, norms, sequences

REQUIRED = object()             # an Arg without a default: given by position
FORMS = {1: "vector", 2: "sequence", 3: "image"}    # len(shape) -> the form a record takes
DEFAULT_INIT = "glorot"         # the weights feeding a pool, a softmax or a linear output


@dataclass(frozen=True)
class Arg:
    """One parameter of a layer kind: an integer ≥ least (None allowed where optional)."""
    name: str
    default: object = REQUIRED
    least: int = 1
    width: bool = False         # a width (filters, units): the proof's sizes cap it
    says: str = None            # what the default means, for the signature (stride=k)
    real: bool = False          # a probability 0 ≤ p < 1 (dropout), not an integer

    def check(self, kind, value):
        if value is None and self.default is None:
            return value
        if self.real:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not 0 <= value < 1:
                raise MatcalcError(f"{kind}: {self.name} must be a probability, 0 ≤ {self.name}"
                                   f" < 1, not {value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < self.least:
            least = "a positive integer" if self.least == 1 else f"an integer ≥ {self.least}"
            raise MatcalcError(f"{kind}: {self.name} must be {least}, not {value!r}")
        return value


@dataclass(frozen=True)
class Kind:
    """One layer kind (see the module docstring)."""
    args: tuple                 # Arg, the positional (required) ones first
    size: Callable              # (layer, shape in, where) -> shape out
    extend: Callable            # (walk, layer, where) -> None
    takes: tuple = ("vector", "image")
    noun: str = ""              # how a refusal names it: "a convolution"
    weights: bool = False       # a weight layer: numbered l (Z_l, W_l, δ_l)
    mlp: bool = False           # a layer of an MLP: such a model is named by its sizes
    rows: bool = True           # nn/layout.py can transpose it (samples as rows)
    spelled: tuple = ()         # the names a spec writes it by (default: its key)
    window: Callable = None     # layer -> (k, s, p): the numbers of its size formula (report)
    block: bool = False         # takes a block of layers, not numbers: residual(dense(8), relu)
    sized: bool = False         # its model's widths are numbers (a skip adds two widths)
    refusal: str = "convolutional networks take"    # who refuses layout='rows' (nn/model.py)
    trains: tuple = ()          # training defaults a network with it takes: (("lr", 0.005), …)
    tokens: bool = False        # mixes the steps: its network keeps tokens (nn/attention.py)


@dataclass(frozen=True)
class Layer:
    """One layer of a spec: its kind as written (conv, relu) and its parameters by name."""
    kind: str
    params: tuple = ()          # ((name, value), …)

    @property
    def record(self):
        return LAYERS[spellings()[self.kind]]

    def get(self, name):
        return dict(self.params)[name]

    def __str__(self):
        if self.record.block:
            return f"{self.kind}({', '.join(map(str, self.get('block')))})"
        args = [str(v) if a.default is REQUIRED else f"{a.name}={v}"
                for a, (_, v) in zip(self.record.args, self.params)
                if a.default is REQUIRED or v != a.default]
        return self.kind + (f"({', '.join(args)})" if args else "")


# ---------------------------------------------------------------- size rules and extensions

def _conv_geometry(layer, shape, where):
    return conv_geometry(*shape, layer.get("kernel"), layer.get("stride"), layer.get("pad"),
                         layer=where)


def _pool_geometry(layer, shape, where):
    return pool_geometry(*shape, layer.get("k"), layer.get("stride"), layer=where)


def _conv(w, layer, where):
    """U := unfold(A); Z := W U + b 1ᵀ (a convolution is a product with the patches)."""
    g = _conv_geometry(layer, w.shape, where)
    U = w.line("U", unfold(w.as_maps(), g, where))
    filters = layer.get("filters")
    w.affine(filters, U, (U.shape[0], filters * g.k * g.k))


def _dense(w, layer, where):
    """Z := W A + b 1ᵀ on the flattened input (per step on a sequence: Z[t] := W A[t] + …)."""
    a = sequences.as_steps(w) if FORMS[len(w.shape)] == "sequence" else w.as_flat(where)
    w.affine(w.width(layer.get("units")), a, (w.shape[-1], layer.get("units")))


def _pool(build):
    def extend(w, layer, where):
        P = w.line("P", build(w.as_maps(), _pool_geometry(layer, w.shape, where), where))
        w.delta(P, f"delta_{P.name}")
    extend.__doc__ = f"P := {build.__name__}(A): a δ of its own (the map it routes to)"
    return extend


def activate(w, name):
    """A := f(Z); a function that returns its argument (the identity) adds no line: A is Z."""
    sequences.as_steps(w)
    if ACTIVATION_TABLE[name].build(T) != T:
        w.line("A", apply(name, w.a))


def _pool_window(layer):
    return layer.get("k"), layer.get("stride") or layer.get("k"), 0


def _same(layer, shape, where):
    return shape


def _flat(layer, shape, where):
    return (math.prod(shape),)


LAYERS = {
    "conv": Kind((Arg("filters", width=True), Arg("kernel"), Arg("stride", 1), Arg("pad", 0, 0)),
                 lambda l, s, where: (l.get("filters"), *_conv_geometry(l, s, where).out),
                 _conv, takes=("image",), noun="a convolution", weights=True, rows=False,
                 window=lambda l: (l.get("kernel"), l.get("stride"), l.get("pad"))),
    "maxpool": Kind((Arg("k"), Arg("stride", None, says="k")),
                    lambda l, s, where: (s[0], *_pool_geometry(l, s, where).out),
                    _pool(maxpool), takes=("image",), noun="pooling", rows=False,
                    window=_pool_window),
    "avgpool": Kind((Arg("k"), Arg("stride", None, says="k")),
                    lambda l, s, where: (s[0], *_pool_geometry(l, s, where).out),
                    _pool(avgpool), takes=("image",), noun="pooling", rows=False,
                    window=_pool_window),
    "dense": Kind((Arg("units", width=True),), lambda l, s, where: (l.get("units"),) if
                  len(s) != 2 else sequences.sequence_size(l, s, where), _dense,
                  takes=("vector", "image", "sequence"), weights=True, mlp=True),
    "flatten": Kind((), _flat, lambda w, layer, where: w.as_flat(where), rows=False,
                    noun="flatten"),
    "activation": Kind((), _same, lambda w, layer, where: activate(w, layer.kind), mlp=True,
                       spelled=ACTIVATIONS, takes=("vector", "image", "sequence")),
    # sequences (nn/sequences.py): per step, then to one vector per sample
    "rnn": Kind((Arg("units", width=True),), sequences.sequence_size, sequences.rnn,
                takes=("sequence",), noun="a recurrent layer", weights=True, rows=False,
                trains=sequences.TRAINS, refusal="a recurrent layer takes"),
    "last": Kind((), sequences.reduced_size, sequences.last, takes=("sequence",),
                 noun="last (the last step)", rows=False, refusal="last takes"),
    "mean": Kind((), sequences.reduced_size, sequences.mean, takes=("sequence",),
                 noun="mean (over the steps)", rows=False, refusal="mean takes"),
    "gru": Kind((Arg("units", width=True),), sequences.sequence_size, gated.gru,
                takes=("sequence",), noun="a gated recurrent layer", weights=True,
                rows=False, trains=sequences.TRAINS, refusal="a gated recurrent layer takes"),
    "lstm": Kind((Arg("units", width=True),), sequences.sequence_size, gated.lstm,
                 takes=("sequence",), noun="a gated recurrent layer", weights=True,
                 rows=False, trains=sequences.TRAINS, refusal="a gated recurrent layer takes"),
    "position": Kind((), _same, sequences.position, takes=("sequence",),
                     noun="position (an embedding per step)", rows=False,
                     refusal="position takes"),
    "residual": Kind((), norms.residual_size, norms.residual, takes=("vector",),
                     noun="a residual block", rows=False, block=True, sized=True,
                     refusal="a residual block takes"),
    "layernorm": Kind((), _same, norms.layernorm, takes=("vector",), noun="layer norm",
                      rows=False, refusal="layer norm takes"),
    "batchnorm": Kind((), _same, norms.batchnorm, takes=("vector",), noun="batch norm",
                      rows=False, refusal="batch norm takes"),
    "attention": Kind((Arg("heads", 1), Arg("causal", 0, 0)), attention.heads_size,
                      attention.attention, takes=("sequence",), noun="attention", weights=True,
                      rows=False, trains=attention.TRAINS, tokens=True),
    "transformer": Kind((Arg("heads", 1), Arg("ff", None, width=True, says="4d"),
                         Arg("causal", 0, 0)),
                        attention.heads_size, attention.transformer, takes=("sequence",),
                        noun="a transformer block", rows=False, trains=attention.TRAINS,
                        tokens=True),
    "dropout": Kind((Arg("p", real=True),), _flat, dropout.dropout, noun="dropout", rows=False,
                    refusal="dropout takes"),
}



def spellings():
    """A spelling in a spec -> its record's key (relu -> activation)."""
    return {s: key for key, kind in LAYERS.items() for s in kind.spelled or (key,)}


def signatures():
    """Each kind as a spec writes it, for help texts.

    >>> signatures()[:3]
    ['conv(filters, kernel[, stride=1][, pad=0])', 'maxpool(k[, stride=k])', 'avgpool(k[, stride=k])']
    """
    out = []
    for key, kind in LAYERS.items():
        if kind.spelled:
            out.append("|".join(kind.spelled))
            continue
        if kind.block:
            out.append(f"{key}(layers…)")
            continue
        args = [a.name for a in kind.args if a.default is REQUIRED]
        opts = "".join(f"[, {a.name}={a.says or a.default}]" for a in kind.args
                       if a.default is not REQUIRED)
        if not args:                # attention([heads=1][, causal=0]), not ([, heads=1]…
            opts = opts.replace("[, ", "[", 1)
        out.append(f"{key}({', '.join(args)}{opts})" if kind.args else key)
    return out


def init_for(name):
    """The init of the weights that feed `name` (the next layer's kind, or the output
    activation), read from the activation's record."""
    return ACTIVATION_TABLE[name].init if name in ACTIVATION_TABLE else DEFAULT_INIT


def unknown(what, name, choices):
    """'unknown activation 'rleu'; choose one of …; did you mean relu?'"""
    close = difflib.get_close_matches(str(name), choices, n=2, cutoff=0.6)
    return (f"unknown {what} {name!r}; choose one of {', '.join(choices)}"
            + (f"; did you mean {' or '.join(close)}?" if close else ""))


def check_activation(name):
    if not isinstance(name, str) or name not in ACTIVATION_TABLE:
        raise MatcalcError(unknown("activation", name, ACTIVATIONS))
    return name


def layer(kind, *args, **kwargs):
    """A checked Layer: layer("conv", 8, 3, pad=1)."""
    names = spellings()
    if not isinstance(kind, str) or kind not in names:
        raise MatcalcError(unknown("layer", kind, list(names)))
    if LAYERS[names[kind]].block:
        return _block(kind, args, kwargs)
    params = LAYERS[names[kind]].args
    positional = [a for a in params if a.default is REQUIRED]
    keywords = {a.name: a for a in params if a.default is not REQUIRED}
    if len(args) != len(positional):
        sig = ", ".join([a.name for a in positional] +
                        [f"{k}={a.default}" for k, a in keywords.items()])
        raise MatcalcError(f"{kind} takes {len(positional)} argument"
                           f"{'' if len(positional) == 1 else 's'}, {kind}({sig}), but was "
                           f"given {len(args)}")
    for k in kwargs:
        if k not in keywords:
            raise MatcalcError(f"{kind} takes no keyword {k}=" + (
                f"; its keywords: {', '.join(keywords)}" if keywords else ""))
    values = dict(zip((a.name for a in positional), args))
    values.update({k: kwargs.get(k, a.default) for k, a in keywords.items()})
    return Layer(kind, tuple((a.name, a.check(kind, values[a.name])) for a in params))


def _block(kind, args, kwargs):
    """A block kind's Layer: residual(dense(32), relu) holds its layers."""
    if kwargs or not args or not all(isinstance(a, Layer) for a in args):
        raise MatcalcError(f"{kind} takes a block of layers, such as {kind}(dense(32), relu), "
                           f"not {', '.join(map(repr, args)) or 'nothing'}"
                           + (f" and keywords {', '.join(kwargs)}" if kwargs else ""))
    return Layer(kind, (("block", tuple(args)),))
