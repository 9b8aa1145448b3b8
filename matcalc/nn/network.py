"""Model → Network: the one walker over the layer records, and the one shared tail.

Networks (stage 3). `shapes(input, layers)` applies each record's size rule (no SymPy: the
checks and the proof's small sizes use it alone); `build(model)` walks the records, each
extending the forward program through the Walk's verbs (line, affine, delta, as_maps,
as_flat), then adds the tail every network shares: the output activation, the loss over the
batch, the L2 penalty, the targets' assumption and the loss from the logits. The Network is
the program with what later stages read as data: parameters (symbol, layer, kind, init,
fans), the δ's, the sample axis. Samples as rows are the columns network transposed by
nn/layout.py. A value is stored as features × N (a vector, or an image not yet unfolded) or
as a channel matrix C × (N·H·W) (`maps`, core/structure.py).
"""
import itertools
import math
from dataclasses import dataclass, field

import sympy as sp

from ..core.errors import MatcalcError
from ..core.expr import add, hadamard, matmul, matrix, norm, ones, softmax
from ..core.program import Assignment, Program
from ..core.structure import conv_geometry, to_channels, to_samples
from .attention import mixes
from .layers import FORMS, activate, init_for
from .layout import to_rows

LAYOUTS = {"columns": 1, "rows": 0}        # layout -> the axis of the samples in X
# Output activations that are not an elementwise record: (name of the line, its value).
OUTPUTS = {"softmax": ("S", lambda a: softmax(a, 0))}


@dataclass(frozen=True)
class Param:
    """A trainable parameter: its symbol, its layer (1…L), its kind and how to initialise it."""
    symbol: sp.MatrixSymbol
    layer: int
    kind: str                   # "weight" or "bias" (or "gain": layer norm's γ)
    init: str                   # from the activation's record: "he", "glorot"; or "zeros", "ones"
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
    stated: dict = field(default_factory=dict)  # δ -> (textbook value, names it covers, rule)
    running: tuple = ()         # (Param, name): a batch statistic's running value for predict
    masks: tuple = ()           # (M, p): dropout's masks, inputs drawn by the trainer


def _a(noun):
    """'an image', 'a vector'"""
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def shapes(input, layers, within=""):
    """[(layer, shape in, shape out)], each record's size rule applied in turn; `within`
    names the block the layers are in ("layer 4, residual(…), ")."""
    shape, out, flat_by = input, [], None
    for i, layer in enumerate(layers):
        where, rec = f"{within}layer {i + 1}, {layer}", layer.record
        if FORMS[len(shape)] not in rec.takes:
            need = f"it needs {' or '.join(rec.takes)} inputs"
            raise MatcalcError(
                f"{where}: {rec.noun} cannot follow a {flat_by.kind} layer ({need}, not a "
                f"vector of {shape[0]} features)" if flat_by else
                f"{where}: {rec.noun} takes {' or '.join(rec.takes)} inputs, but the input is "
                f"{_a(FORMS[len(shape)])} of {'×'.join(map(str, shape))}")
        new = rec.size(layer, shape, where)
        if len(new) < len(shape):
            flat_by = layer
        out.append((layer, shape, new))
        shape = new
    return out


@dataclass
class Walk:
    """The state of the walk: the value so far, its shape per sample, and the lines made."""
    n: object                   # the batch size (a symbol, or 1)
    symbolic: bool              # dense widths are symbols d_l (an MLP: one proof for all sizes)
    bias: bool
    a: object                   # the current value, a matrix symbol
    shape: tuple                # its shape per sample (nn/layers.py FORMS)
    maps: bool = False          # a is a channel matrix C × (N·H·W), not features × N
    l: int = 0                  # the weight layers so far, this one included (Z_l, W_l, δ_l)
    prev: int = 0               # those before this one (the layer a conversion belongs to)
    init: str = "glorot"        # the init of the next weights (from the layer they feed)
    next: str = ""              # the kind of the layer after this one (or the output's)
    out: list = field(default_factory=list)
    params: list = field(default_factory=list)
    deltas: dict = field(default_factory=dict)
    stated: dict = field(default_factory=dict)
    running: list = field(default_factory=list)
    masks: list = field(default_factory=list)
    step: str = ""              # "[t]" inside a sequence's loop (nn/sequences.py): Z1[t]
    tokens: bool = False        # a sequence kept as d × (N·T) tokens (nn/attention.py)

    def layers(self, layers, next_kind, within=""):
        """Each layer's record extends the program in turn (a block's own layers too)."""
        after = [l.kind for l in layers[1:]] + [next_kind]
        for i, (layer, _, out) in enumerate(shapes(self.shape, layers, within)):
            self.init, self.next = init_for(after[i]), after[i]
            self.prev = self.l
            self.l += layer.record.weights      # a weight layer is numbered before its lines
            layer.record.extend(self, layer, f"{within}layer {i + 1}, {layer}")
            self.shape = out

    def state(self, name, value, covers, rule):
        """δ_name := value, the textbook form a record states (nn/backprop.py checks that the
        lines in `covers` are name's only consumers; the proof checks the value)."""
        self.stated[self.deltas[name]] = (value, frozenset(covers), rule)

    def line(self, prefix, value, layer=None):
        """A new line `prefix l := value`; two pools or activations in one layer get P1,
        P1b, … (names are unique: the kernels free each name after its last use)."""
        taken = {str(a.name) for a in self.out}
        base = f"{prefix}{self.l if layer is None else layer}"
        label = next(base + s + self.step for s in _suffixes()
                     if base + s + self.step not in taken)
        self.a = matrix(label, *value.shape)
        self.out.append(Assignment(self.a, value))
        return self.a

    def width(self, units):
        """A dense layer's width: the symbol d_l in an MLP, else the number."""
        return sp.Symbol(f"d{self.l}", integer=True, positive=True) \
            if self.symbolic else units

    def affine(self, rows, a, fans):
        """Z_l := W_l a + b_l 1ᵀ (b_l when the model has biases), with its δ_l."""
        W = matrix(f"W{self.l}", rows, a.shape[0])
        self.params.append(Param(W, self.l, "weight", self.init, *fans))
        z = matmul(W, a)
        if self.bias:
            b = matrix(f"b{self.l}", rows, 1)
            self.params.append(Param(b, self.l, "bias", "zeros", *fans))
            z = add(z, matmul(b, ones(1, a.shape[1])))
        Z = self.line("Z", z)
        self.delta(Z, f"delta{self.l}{self.step}")
        return Z

    def parameter(self, symbol, kind, init, fan_in, fan_out):
        """A trainable parameter of this layer other than W_l, b_l (layer norm's γ, β)."""
        self.params.append(Param(symbol, self.l, kind, init, fan_in, fan_out))
        return symbol

    def statistic(self, name, init):
        """A running value of the batch statistic `name` (a column, repeated over the batch):
        not trained, kept by the trainer for predict (batch norm's mean and variance)."""
        R = matrix(f"running_{name.name}", name.shape[0], 1)
        self.running.append((Param(R, self.l, "running", init, *(math.prod(self.shape),) * 2),
                             name))
        return R

    def mask(self, p, where):
        """D := A ⊙ M, M the layer's dropout mask (0, or 1/(1 − p) with probability 1 − p):
        an input, as X, that the trainer draws for each batch (nn/dropout.py)."""
        a = self.as_flat(where)
        taken = {str(m.name) for m, _ in self.masks}
        M = matrix(next(f"M{self.l}{s}" for s in _suffixes() if f"M{self.l}{s}" not in taken),
                   *a.shape)
        self.masks.append((M, p))
        return self.line("D", hadamard(a, M))

    def delta(self, name, label):
        self.deltas[name] = matrix(label, *name.shape)

    def as_maps(self):
        """The value as a channel matrix (A0 := to_channels(X) for the input)."""
        if not self.maps:
            self.line("A", to_channels(self.a, conv_geometry(*self.shape, 1)), self.prev)
            self.maps = True
        return self.a

    def as_flat(self, where):
        """The value as features × N (F_l := to_samples(P_l) after maps)."""
        if self.maps:
            self.line("F", to_samples(self.a, conv_geometry(*self.shape, 1), where), self.prev)
            self.maps = False
        self.shape = (math.prod(self.shape),)
        return self.a


def _suffixes():
    """'', 'b', …, 'z', 'z2', 'z3', …: as many names per layer as wanted."""
    letters = ("",) + tuple(chr(c) for c in range(ord("b"), ord("z") + 1))
    return itertools.chain(letters, (f"z{k}" for k in itertools.count(2)))


def build(model):
    """The Network of a model: its layers walked, then the shared tail."""
    _, n = model.dims()
    ds = model.dims()[0]
    X = matrix("X", ds[0] if ds else math.prod(model.input), n)
    w = Walk(n, bool(ds), model.bias, X, model.input)
    w.tokens = mixes(model.layers)
    w.layers(model.layers, model.output_activation)
    logits = w.a
    act = model.output_activation
    if act in OUTPUTS:
        label, value = OUTPUTS[act]
        w.a = matrix(label, *logits.shape)
        w.out.append(Assignment(w.a, value(logits)))
    else:
        activate(w, act)
    Y = matrix("Y", logits.shape[0], n)
    lam = sp.Symbol("lam", positive=True) if model.l2 else None
    scale = sp.S.One / n if model.reduction == "mean" else sp.S.One
    penalty = lam / 2 * sp.Add(*[norm(p.symbol) ** 2 for p in w.params
                                 if p.kind == "weight"]) if model.l2 else sp.S.Zero
    row = model.loss_row
    w.out.append(Assignment(sp.Symbol("L"), scale * row.build(w.a, Y) + penalty))
    net = Network(Program(tuple(w.out)), X, Y, tuple(w.params), lam, w.deltas,
                  (row.assumption(Y),) if row.assumption else (), LAYOUTS["columns"],
                  scale * row.stable(logits, Y) + penalty, w.stated, tuple(w.running),
                  tuple(w.masks))
    return to_rows(net) if model.layout == "rows" else net
