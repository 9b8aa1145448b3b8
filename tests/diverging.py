"""Kernels that diverge mid-run, for the trainer's divergence tests (test_train.py,
test_train_history.py)."""
import numpy as np


class Poisoned:
    """Kernels whose loss turns NaN after `after` calls: a run that diverges mid-way."""

    def __init__(self, k, after):
        self.k, self.after, self.calls = k, after, 0

    def __getattr__(self, name):
        return getattr(self.k, name)

    def loss_and_gradients(self, *args):
        self.calls += 1
        L, grads = self.k.loss_and_gradients(*args)
        return (np.nan if self.calls > self.after else L), grads
