"""Trained: what `train` produced (the derivation, kernels, weights and history).

Results. The weights and the history were written by train/trainer.py; this says where,
and shows the run in Jupyter.
"""
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Trained"]


@dataclass
class Trained:
    """What `train` produced: the derivation, the kernels, the weights by name, the
    per-epoch history, where they were saved, and a sentence saying so."""
    backprop: object
    kernels: object
    params: dict
    history: list
    path: Path
    note: str
    history_path: Path = None     # where the history was written (None: not written)

    def _repr_markdown_(self):
        """Jupyter: the sentence, then one table row per epoch."""
        rows = [f"| {r['epoch']} | {r['loss']:.4f} | {100 * r['train']:.1f}% | "
                f"{100 * r['test']:.1f}% | {r['seconds']:.2f} |" for r in self.history]
        return "\n".join([self.note, "", "| epoch | loss | train | test | seconds |",
                          "|---:|---:|---:|---:|---:|", *rows])
