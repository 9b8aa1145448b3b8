"""cnn(): a convolutional network spec as sugar for an image input and a list of layers.

Networks (stage 3). `cnn("1x8x8", "conv(8, 3, pad=1), relu, maxpool(2), dense(10)")` reads
the input shape and the layers (text through nn/syntax.py, or a list of strings, Layers or
(kind, args…) tuples) and hands them to the one builder (nn/model.py), which checks every
option and every layer's geometry (H' = (H − k + 2p)/s + 1) as for every network. The
forward program is over channel matrices (core/structure.py):
  A0 := to_channels(X); U1 := unfold(A0); Z1 := W1 U1 + b1 1ᵀ; A1 := relu(Z1);
  P1 := maxpool(A1); F1 := to_samples(P1); Z2 := W2 F1 + b2 1ᵀ; S := softmax(Z2); L := …
with a δ for each pre-activation and each pooled map, so that derive, the kernels and the
trainer need nothing new. Samples are columns only.
"""
from ..core.errors import MatcalcError
from .layers import FORMS, Layer, layer
from .model import Model, model
from .syntax import parse_net

__all__ = ["cnn", "parse_net", "parse_input", "layer", "Layer", "Model"]


def parse_input(spec):
    """(C, H, W) from "1x8x8", or (F,) from "64" (a vector: the model is an MLP's), or
    (T, F) from "8x8" (a sequence of T steps), or a tuple; the forms are nn/layers.py's FORMS."""
    given = spec                # named as written: '1x8x8x8', not (1, 8, 8, 8)
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = (spec,)
    if isinstance(spec, str):
        parts = spec.lower().replace("×", "x").split("x")
        if all(p.strip().isdigit() for p in parts):
            spec = tuple(int(p) for p in parts)
    if not (isinstance(spec, tuple) and len(spec) in FORMS and
            all(type(v) is int and v > 0 for v in spec)):
        raise MatcalcError(f"--input takes CxHxW, such as 1x8x8 (or F features, such as 64; or "
                           f"TxF, T steps of F features, such as 8x8), not {given!r}")
    return spec


def layers_of(net):
    """The Layers of a spec string, or of a list of strings, Layers and (kind, args…)."""
    if isinstance(net, str):
        return parse_net(net)
    if not isinstance(net, (list, tuple)):
        raise MatcalcError(f"net is a spec such as \"conv(8, 3, pad=1), relu, dense(10)\" "
                           f"or a list of layers, not {net!r}")
    out = []
    for item in net:
        if isinstance(item, Layer):
            out.append(item)
        elif isinstance(item, str):
            out.extend(parse_net(item))
        elif isinstance(item, tuple) and item:
            out.append(layer(*item))
        else:
            raise MatcalcError(f"a layer is a string (\"conv(8, 3)\"), a Layer or a tuple "
                               f"(\"conv\", 8, 3), not {item!r}")
    return tuple(out)


def cnn(input, net, loss="cross-entropy", l2=False, reduction="mean", batch="N", bias=True,
        layout="columns"):
    """A checked Model: `input` "CxHxW" or (C, H, W), or "64" (a vector: `cnn("64",
    "dense(32), relu, dense(10)")` is `mlp([64, 32, 10], hidden="relu")`); `net` a spec
    string, or a list of layers each a string ("conv(8, 3, pad=1)"), a Layer or a
    (kind, args…) tuple. The last layer is dense and feeds the loss.

    >>> m = cnn("1x8x8", "conv(8, 3, pad=1), relu, maxpool(2), dense(10)")
    >>> [(str(l), i, o) for l, i, o in m.geometries()][:3]
    [('conv(8, 3, pad=1)', (1, 8, 8), (8, 8, 8)), ('relu', (8, 8, 8), (8, 8, 8)), ('maxpool(2)', (8, 8, 8), (8, 4, 4))]
    """
    return model(parse_input(input), layers_of(net), loss=loss, l2=l2, bias=bias,
                 reduction=reduction, layout=layout, batch=batch)
