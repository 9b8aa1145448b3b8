"""mlp(): an MLP spec as sugar for a list of layers (dense, activation, …, dense).

Networks (stage 3). `mlp([64, 128, 10], hidden="sigmoid")` checks the sizes and the hidden
activations and hands `dense(128), sigmoid, dense(10)` on a 64-vector to the one builder
(nn/model.py), which checks the options as for every network. Its Model keeps the layer
sizes symbolic (d0, d1, …, batch N): Z1 := W1 X + b1 1ᵀ ; A1 := σ(Z1) ; … ; L := loss, one
derivation for every size, proven at small ones; `Model.concrete` gives the model's own
sizes for printing and code. Samples as rows are the columns network transposed
(nn/layout.py).
"""
from ..core.errors import MatcalcError
from ..core.functions import ACTIVATIONS   # noqa: F401  (re-exported: the names mlp takes)
from .layers import check_activation, layer
from .model import Model, model
from .network import LAYOUTS, Network, Param   # noqa: F401  (re-exported)

__all__ = ["mlp", "Model", "Network", "Param", "LAYOUTS", "ACTIVATIONS"]


def mlp(layers, hidden="sigmoid", loss="cross-entropy", l2=False, bias=True,
        reduction="mean", layout="columns", batch="N"):
    """A checked Model. `layers` is (input, hidden…, output); `hidden` one activation for
    all hidden layers or one per hidden layer.

    >>> mlp([64, 128, 10]).depth
    2
    """
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise MatcalcError(f"layers is a list of sizes, such as [64, 128, 10], not {layers!r}")
    sizes = tuple(layers)
    if len(sizes) < 2:
        raise MatcalcError(f"a network needs at least an input and an output size, got {sizes}")
    for s in sizes:
        if not isinstance(s, int) or isinstance(s, bool) or s < 1:
            raise MatcalcError(f"layer sizes must be positive integers, got {s!r} in {sizes}")
    if isinstance(hidden, str):
        acts = (hidden,) * (len(sizes) - 2)
    elif hasattr(hidden, "__iter__"):
        acts = tuple(hidden)
    else:
        raise MatcalcError(f"hidden is an activation name or one per hidden layer, "
                           f"not {hidden!r}")
    if len(acts) != len(sizes) - 2:
        raise MatcalcError(f"{len(sizes) - 2} hidden layers need {len(sizes) - 2} "
                           f"activations, got {len(acts)}: {acts}")
    # the named ones, even with no hidden layer to use them (a typo is not silently ignored)
    for a in (hidden,) if isinstance(hidden, str) else acts:
        check_activation(a)
    net = [layer("dense", sizes[1])]
    for act, units in zip(acts, sizes[2:]):
        net += [layer(act), layer("dense", units)]
    return model((sizes[0],), net, loss=loss, l2=l2, bias=bias, reduction=reduction,
                 layout=layout, batch=batch)
