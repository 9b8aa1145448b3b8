"""Self-attention and the transformer block: how two records of nn/layers.py extend a walk.

Networks (stage 3). Attention mixes the steps, so a network with it keeps its sequence as one
matrix of tokens, H of d × (N·T): column n·T + t is step t of sample n (A0 := unvec(vec(X), F)
reads X's (T·F) × N so), and its per-step layers act on every token at once (dense:
Z := W H + b 1ᵀ; layer norm per column). Each head i is the textbook's, in rows (Vaswani et
al. 2017, X of T × d):
  Q := Hᵀ W_Q; K := Hᵀ W_K; V := Hᵀ W_V; S := Q Kᵀ/√d_k; P := softmax(S + M) along rows;
  O := P V; the layer's output Att := (Σ_i O_i W_O,i)ᵀ (the heads concatenated, times W_O),
where M is 0 between the tokens of one sample (and, with causal=1, from a step to itself and
the earlier ones) and −10⁹ elsewhere, so P is each sample's own T × T attention. The δ of S
is stated in the textbook form of the softmax Jacobian, δ_S = P ⊙ (δ_P − rowsum(δ_P ⊙ P)),
checked by the network proof like every line; the sweep then gives δ_Q = δ_S K/√d_k and
δ_K = δ_Sᵀ Q/√d_k. `transformer(heads, ff)` is the pre-norm encoder block composed of the
records themselves: R := H + attention(layernorm(H)), then R + dense(d)(relu(dense(ff)(
layernorm(R)))).
"""
import math
from dataclasses import replace

import sympy as sp

from ..core.errors import MatcalcError
from ..core.expr import add, hadamard, matmul, ones, softmax, sub, transpose
from ..core.kron import kron, unvec, vec
from ..core.leaves import eye, matrix

BIG = sp.Integer(10) ** 9           # the mask's −10⁹: exp of it is 0 in floating point
# What a network with attention trains with by default (Adam: SGD at 0.1 diverges through
# the softmax of the scores).
TRAINS = (("optimizer", "adam"), ("lr", 0.005), ("epochs", 20))


def mixes(layers):
    """Whether a list of layers has a kind that mixes the steps (the walk keeps tokens); a
    recurrent layer beside it is refused by name (it steps through what attention keeps whole)."""
    found = any(l.record.tokens or (l.record.block and mixes(l.get("block"))) for l in layers)
    for i, l in enumerate(layers if found else ()):
        if "recurrent" in l.record.noun:        # rnn, gru, lstm: they read the step before
            raise MatcalcError(f"layer {i + 1}, {l}: {l.record.noun} cannot be in a network "
                               f"with attention (attention keeps the steps together as tokens)")
    return found


def as_tokens(w):
    """The walk's value as the token matrix d × (N·T) (A0 := unvec(vec(X), F) for X)."""
    T, F = w.shape
    if w.a.shape[1] == w.n:
        w.line("A", unvec(vec(w.a), F), w.prev)
    return w.a


def heads_size(layer, shape, where):
    """A sequence of the same shape; d must split into the heads."""
    if len(shape) != 2:
        raise MatcalcError(f"{where}: {layer.kind} takes a sequence, not {shape}")
    d, h = shape[1], layer.get("heads")
    if d % h:
        raise MatcalcError(f"{where}: {d} features do not split into {h} heads "
                           f"({d} is not a multiple of {h})")
    if layer.get("causal") not in (0, 1):
        raise MatcalcError(f"{where}: causal is 0 or 1, not {layer.get('causal')}")
    return shape


def _mask(w, T, causal):
    """M := −10⁹ (1 − kron(I_N, C)), C the T × T ones (lower-triangular ones if causal)."""
    if causal:
        C = sp.ImmutableMatrix(T, T, lambda i, j: 1 if j <= i else 0)
    else:
        C = ones(T, T)
    same = kron(eye(w.n), C)
    return matmul(-BIG, sub(ones(*same.shape), same))


def attention(w, layer, where):
    """The lines of the module docstring, each head's with its δ's; δ_S stated."""
    H = as_tokens(w)
    T, d = w.shape
    h, l = layer.get("heads"), w.l
    dk = d // h
    Hrows = transpose(H)
    M = w.line("Mask", _mask(w, T, layer.get("causal")))
    outs = []
    for i in range(h):
        tag = f"{l}" if h == 1 else f"{l}_{i + 1}"
        Ws = {}
        for name in ("Q", "K", "V"):
            Ws[name] = w.parameter(matrix(f"W{name}{tag}", d, dk), "weight", "glorot", d, dk)
        Q = w.line("Q", matmul(Hrows, Ws["Q"]), tag)
        K = w.line("K", matmul(Hrows, Ws["K"]), tag)
        V = w.line("V", matmul(Hrows, Ws["V"]), tag)
        S = w.line("S", matmul(1 / sp.sqrt(dk), Q, transpose(K)), tag)
        P = w.line("P", softmax(add(S, M), 1), tag)
        O = w.line("O", matmul(P, V), tag)
        for v in (O, P, S, Q, K, V):
            w.delta(v, f"delta_{v.name}")
        n = P.shape[1]
        dP = w.deltas[P]
        rowsum = matmul(hadamard(dP, P), ones(n, 1), ones(1, n))
        w.state(S, hadamard(P, sub(dP, rowsum)), (P,),
                "the softmax's Jacobian by rows, diag(p) − p pᵀ: δ_S = P ⊙ (δ_P − "
                "rowsum(δ_P ⊙ P))")
        WO = w.parameter(matrix(f"WO{tag}", dk, d), "weight", w.init, dk, d)
        outs.append(matmul(O, WO))
    Att = w.line("Att", transpose(add(*outs)))
    w.delta(Att, f"delta_{Att.name}")
    return Att


def _residual(w, name, body):
    """R := A_in + body(A_in), with its δ (as nn/norms.py's residual record)."""
    a_in = w.a
    body()
    R = w.line(name, add(a_in, w.a))
    w.delta(R, f"delta_{R.name}")


def transformer(w, layer, where):
    """The pre-norm encoder block of the module docstring, composed of the records: each
    sublayer numbered as a layer of its own (LN2, Att3, LN4, Z5, Z6)."""
    from .layers import init_for, layer as make
    T, d = w.shape
    as_tokens(w)

    def run(*sub):
        after = [s.kind for s in sub[1:]] + [w.next]
        for s, nxt in zip(sub, after):
            w.prev = w.l
            w.l += 1 if s.record.weights or s.kind == "layernorm" else 0
            w.init = init_for(nxt)
            s.record.extend(w, s, f"{where}, {s}")
            w.shape = s.record.size(s, (T, d), where) if s.kind == "dense" else (T, d)

    heads = make("attention", heads=layer.get("heads"), causal=layer.get("causal"))
    norm = make("layernorm")
    _residual(w, "R", lambda: run(norm, heads))
    ff = layer.get("ff") or 4 * d
    _residual(w, "R", lambda: run(norm, make("dense", ff), make("relu"),
                                  make("dense", d)))


def reduce(w, kind, where):
    """mean of the tokens: A := (1/T) H kron(I_N, 1_T) (N's columns); last is not kept."""
    T, _ = w.shape
    if kind != "mean":
        raise MatcalcError(f"{where}: after attention, take the mean over the steps (mean), "
                           f"not {kind}")
    w.line("A", matmul(sp.Rational(1, T), w.a, kron(eye(w.n), ones(T, 1))))


def reduced(m, cap):
    """The same layers at small sizes for the proof: T and F at most `cap`, each width at most
    the least multiple of every layer's heads that is ≥ cap (the heads must still split d)."""
    from .layers import Layer
    heads = math.lcm(*_heads(m.layers))
    width = heads * -(-cap // heads)

    def small(layers):
        out = []
        for l in layers:
            if l.record.block:
                out.append(Layer(l.kind, (("block", small(l.get("block"))),)))
                continue
            out.append(Layer(l.kind, tuple(
                (k, min(v, cap if k == "ff" or l is layers[-1] and layers is m.layers
                        else width) if a.width and v is not None else v)
                for a, (k, v) in zip(l.record.args, l.params))))
        return tuple(out)
    T, F = m.input
    return replace(m, input=(min(T, cap), min(F, cap)), layers=small(m.layers))


def _heads(layers):
    for l in layers:
        if l.record.block:
            yield from _heads(l.get("block"))
        elif l.record.tokens:
            yield l.get("heads")
