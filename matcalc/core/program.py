"""The SSA program: ordered named assignments, the shape of both the forward and backward pass.

Core (stage 0). A gradient of one expression is the program `f := expr`; a network is
Z1 := W1 X + b1 1ᵀ; A1 := σ(Z1); …; L := … (nn/spec.py). calculus/sweep.py sweeps it in reverse and
returns the backward pass as another Program (δ's and ∂L/∂W's, each named).
"""
from dataclasses import dataclass

import sympy as sp

from .errors import MatcalcError, shown
from .expr import is_matrix


@dataclass(frozen=True)
class Assignment:
    """name := expr, where name is a MatrixSymbol (or a Symbol for a scalar) of expr's shape."""
    name: sp.Basic
    expr: sp.Basic

    def __str__(self):
        return shown("{0} := {1}", self.name, self.expr)


@dataclass(frozen=True)
class Program:
    assignments: tuple

    def __post_init__(self):
        seen = set()
        for a in self.assignments:
            if a.name in seen:
                raise MatcalcError("{0} is assigned twice; a program is SSA", a.name)
            if is_matrix(a.name) != is_matrix(a.expr) or (
                    is_matrix(a.expr) and a.name.shape != a.expr.shape):
                raise MatcalcError("cannot assign {0:shape} to {1:shape}: the shapes differ",
                                   a.expr, a.name)
            seen.add(a.name)

    @classmethod
    def single(cls, expr, name="f"):
        """The one-line program  f := expr."""
        target = sp.MatrixSymbol(name, *expr.shape) if is_matrix(expr) else sp.Symbol(name)
        return cls((Assignment(target, expr),))

    @property
    def output(self):
        return self.assignments[-1].name

    def names(self):
        return [a.name for a in self.assignments]

    def __iter__(self):
        return iter(self.assignments)

    def __len__(self):
        return len(self.assignments)

    def __str__(self):
        return "\n".join(str(a) for a in self.assignments)
