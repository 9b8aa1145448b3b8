"""dropout(p): inverted dropout, with its mask an input of the kernels, drawn by the trainer.

Networks (stage 3). D := A ⊙ M, where M is data like X (never random inside the derivation):
each entry 0 with probability p and 1/(1 − p) otherwise (inverted dropout: the expected value
of D is A), drawn afresh for each batch by the trainer (train/trainer.py). Its δ is the
textbook δ_A = δ_D ⊙ M. At evaluation M is all ones, so that D = A: predict has no mask, and
loss_and_gradients without masks= computes the network without dropout.
"""


def dropout(w, layer, where):
    """D := A ⊙ M with the mask M of this layer (Walk.mask)."""
    w.mask(layer.get("p"), where)
