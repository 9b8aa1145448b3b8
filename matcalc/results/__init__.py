"""What matcalc's front doors return (results stage, between train and api).

Gradient, Jacobian and Hessian share one base (base.py: text, LaTeX, NumPy, JSON, proof,
display, in the result's layout); Check is the verdict on a claimed gradient, Trained the
record of a training run; records.py builds the JSON records of --format json.
"""
from .base import GRADIENT_LAYOUT_WORDS, LAYOUT_WORDS, Result, constraints, layout_of
from .check import Check
from .gradient import Gradient
from .jacobian import Hessian, Jacobian
from .records import PROOFS, backprop_record
from .trained import Trained

__all__ = ["Result", "Gradient", "Jacobian", "Hessian", "Check", "Trained", "PROOFS",
           "GRADIENT_LAYOUT_WORDS", "LAYOUT_WORDS", "backprop_record", "constraints",
           "layout_of"]
