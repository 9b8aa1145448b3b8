"""The table of losses: one row each, everything the later stages need to know about a loss.

Networks (stage 3). A row gives the output activation, the loss summed over the batch (from
the output A and the targets Y, samples as columns), the same loss written from the logits Z
so that it is finite for any Z (what generated code computes), how labels become targets,
what the targets are, and the assumption they satisfy (one-hot columns sum to 1). Adding a
loss is one row here; nothing downstream compares loss names.
"""
from dataclasses import dataclass
from typing import Callable, Optional

import sympy as sp

from ..calculus.simplify import ColumnsSumToOne
from ..core.expr import (T, add, apply, elementwise, entry_sum, hadamard, logsoftmax, matmul,
                         neg, norm, ones, sub)
from ..core.functions import softplus


@dataclass(frozen=True)
class Loss:
    """One loss. `build(A, Y)` and `stable(Z, Y)` are summed over the batch (columns layout)."""
    name: str
    output: str                 # the output activation: softmax, sigmoid or identity
    build: Callable             # (output A, targets Y) -> scalar loss
    stable: Callable            # (logits Z, targets Y) -> the same loss, finite for any Z
    targets: str                # what Y holds, in words
    min_outputs: int
    assumption: Optional[Callable] = None    # Y -> the rewrite rule the targets satisfy


def _cross_entropy(A, Y):
    """−Σ Y ⊙ log S"""
    return -entry_sum(hadamard(Y, apply("log", A)))


def _binary_cross_entropy(A, Y):
    """−Σ Y ⊙ log σ + (1 − Y) ⊙ log(1 − σ)"""
    return -entry_sum(add(hadamard(Y, apply("log", A)),
                          hadamard(sub(1, Y), elementwise(sp.log(1 - T), A))))


def _binary_cross_entropy_stable(Z, Y):
    """log σ(z) = −softplus(−z), log(1 − σ(z)) = −softplus(z): no log of 0"""
    return -entry_sum(add(hadamard(Y, elementwise(-softplus(-T), Z)),
                          hadamard(sub(1, Y), elementwise(-softplus(T), Z))))


def _squared_error(A, Y):
    """½ ‖A − Y‖²"""
    return norm(sub(A, Y)) ** 2 / 2


def _hinge(A, Y):
    """Σ_{j ≠ y} max(0, s_j − s_y + 1): the true score s_y picked by the one-hot Y"""
    c = A.shape[0]
    true = matmul(ones(c, c), hadamard(Y, A))
    return entry_sum(hadamard(apply("relu", add(sub(A, true), 1)), sub(1, Y)))


LOSSES = {
    "cross-entropy": Loss(
        "cross-entropy", "softmax", _cross_entropy,
        lambda Z, Y: neg(entry_sum(hadamard(Y, logsoftmax(Z)))),
        "one-hot columns", 2, ColumnsSumToOne),
    "binary-cross-entropy": Loss(
        "binary-cross-entropy", "sigmoid", _binary_cross_entropy, _binary_cross_entropy_stable,
        "0/1 labels", 1),
    "squared-error": Loss("squared-error", "identity", _squared_error, _squared_error,
                          "real targets", 1),
    "hinge": Loss("hinge", "identity", _hinge, _hinge, "one-hot columns", 2, ColumnsSumToOne),
}

ALIASES = {"ce": "cross-entropy", "softmax-cross-entropy": "cross-entropy",
           "bce": "binary-cross-entropy", "mse": "squared-error", "svm": "hinge",
           "multiclass-hinge": "hinge"}
