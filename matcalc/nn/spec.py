"""Model spec → forward program: an MLP written with the public expr API only.

Stage 1 (build). `mlp(...)` checks the spec and returns a Model; `Model.forward()` is the SSA
program  Z1 := W1 X + b1 1ᵀ ; A1 := σ(Z1) ; … ; L := loss  with symbolic layer sizes
(d0, d1, …, batch N), so that one derivation holds for every size and the verifier can prove
it at small ones. `Model.sizes` keeps the concrete sizes for printing and code.
"""
from dataclasses import dataclass

import sympy as sp

from ..core.errors import MatcalcError
from ..core.expr import (T, add, apply, elementwise, entry_sum, hadamard, matmul, matrix, norm,
                   ones, softmax, sub, transpose)
from ..core.program import Assignment, Program

ACTIVATIONS = ("sigmoid", "tanh", "relu", "softplus", "identity")

# loss name -> (output activation, what the targets Y are, the smallest output width)
LOSSES = {
    "cross-entropy": ("softmax", "one-hot columns", 2),
    "binary-cross-entropy": ("sigmoid", "0/1 labels", 1),
    "squared-error": ("identity", "real targets", 1),
    "hinge": ("identity", "one-hot columns", 2),
}
LOSS_ALIASES = {"ce": "cross-entropy", "softmax-cross-entropy": "cross-entropy",
                "bce": "binary-cross-entropy", "mse": "squared-error", "svm": "hinge",
                "multiclass-hinge": "hinge"}


@dataclass(frozen=True)
class Model:
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
    def output_activation(self):
        return LOSSES[self.loss][0]

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

    def variables(self):
        """(X, Y, [W1, b1, W2, b2, …], lam) as symbols of the symbolic sizes."""
        ds, n = self.dims()
        rows = self.layout == "rows"
        X = matrix("X", n, ds[0]) if rows else matrix("X", ds[0], n)
        Y = matrix("Y", n, ds[-1]) if rows else matrix("Y", ds[-1], n)
        params = []
        for l in range(1, len(ds)):
            W = matrix(f"W{l}", ds[l - 1], ds[l]) if rows else matrix(f"W{l}", ds[l], ds[l - 1])
            params.append(W)
            if self.bias:
                params.append(matrix(f"b{l}", ds[l], 1))
        lam = sp.Symbol("lam", positive=True) if self.l2 else None
        return X, Y, params, lam

    def weights(self):
        return [p for p in self.variables()[2] if p.name.startswith("W")]

    def forward(self):
        """The forward program, ending in the scalar loss L."""
        X, Y, params, lam = self.variables()
        ds, n = self.dims()
        rows = self.layout == "rows"
        out, a = [], X
        for l in range(1, len(ds)):
            W = next(p for p in params if p.name == f"W{l}")
            z = matmul(a, W) if rows else matmul(W, a)
            if self.bias:
                b = next(p for p in params if p.name == f"b{l}")
                z = add(z, matmul(ones(n, 1), transpose(b)) if rows else matmul(b, ones(1, n)))
            Z = matrix(f"Z{l}", *z.shape)
            out.append(Assignment(Z, z))
            act = self.activations[l - 1] if l < len(ds) - 1 else self.output_activation
            if act == "identity":
                a = Z
                continue
            name = {"softmax": "S"}.get(act, f"A{l}") if l == len(ds) - 1 else f"A{l}"
            if act == "softmax":
                value = softmax(Z, 1 if rows else 0)
            else:
                value = apply(act, Z)
            A = matrix(name, *value.shape)
            out.append(Assignment(A, value))
            a = A
        scale = sp.S.One / n if self.reduction == "mean" else sp.S.One
        L = scale * self._loss(a, Y, n)
        if self.l2:
            L = L + lam / 2 * sp.Add(*[norm(W) ** 2 for W in self.weights()])
        out.append(Assignment(sp.Symbol("L"), L))
        return Program(tuple(out))

    def _loss(self, out, Y, n):
        """The loss summed over the batch, of the output activation `out`."""
        if self.loss == "cross-entropy":
            return -entry_sum(hadamard(Y, apply("log", out)))
        if self.loss == "binary-cross-entropy":
            return -entry_sum(add(hadamard(Y, apply("log", out)),
                                  hadamard(sub(1, Y), elementwise(sp.log(1 - T), out))))
        if self.loss == "squared-error":
            return norm(sub(out, Y)) ** 2 / 2
        # hinge: Σ_{j ≠ y} max(0, s_j − s_y + 1), the true score s_y picked by the one-hot Y
        rows = self.layout == "rows"
        c = out.shape[1] if rows else out.shape[0]
        true = matmul(hadamard(Y, out), ones(c, c)) if rows else matmul(ones(c, c),
                                                                        hadamard(Y, out))
        margins = add(sub(out, true), 1)
        return entry_sum(hadamard(apply("relu", margins), sub(1, Y)))


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
    for a in acts:
        if a not in ACTIVATIONS:
            raise MatcalcError(f"unknown activation {a!r}; choose one of {', '.join(ACTIVATIONS)}")
    loss = LOSS_ALIASES.get(loss, loss)
    if loss not in LOSSES:
        raise MatcalcError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    act, targets, least = LOSSES[loss]
    if sizes[-1] < least:
        raise MatcalcError(f"{loss} needs at least {least} output units ({act} output over "
                           f"{targets}), but the last layer has {sizes[-1]}")
    if loss == "binary-cross-entropy" and sizes[-1] != 1:
        pass   # several independent sigmoid outputs are fine
    if reduction not in ("mean", "sum"):
        raise MatcalcError(f"reduction must be 'mean' or 'sum', not {reduction!r}")
    if layout not in ("columns", "rows"):
        raise MatcalcError(f"layout must be 'columns' (X is features×N) or 'rows' "
                           f"(X is N×features), not {layout!r}")
    if not isinstance(l2, (bool, int, float)) or (not isinstance(l2, bool) and l2 < 0):
        raise MatcalcError(f"the L2 weight λ must be a number ≥ 0 (or True for a symbol), "
                           f"not {l2!r}")
    if l2 is not True and not l2:
        l2 = False
    if not (batch == 1 or (isinstance(batch, str) and batch.isidentifier())):
        raise MatcalcError(f"batch is a name such as 'N', or 1 for a single sample, not {batch!r}")
    return Model(sizes, acts, loss, l2, bias, reduction, layout, batch)
