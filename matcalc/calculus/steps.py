"""The derivation record: what a person writes when deriving a gradient by hand.

Stage 2 (differentiate). Differential rules, trace moves and simplifications append a Step
each; the printers render the list as a derivation (`--format steps`, LaTeX align).
"""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Step:
    """One step: `rule` (the identity used, in words) turned `before` into `after`.

    kind is "differential" (after = d(before)), "move" (a trace identity: tr(Gᵀ·L(dX))
    written as tr(Ḡᵀ dX)), "collect" or "simplify" (before = after as matrices).
    """
    kind: str
    rule: str
    before: object
    after: object


@dataclass
class Derivation:
    """The steps of one derivation, in the order they were taken."""
    steps: list = field(default_factory=list)

    def add(self, kind, rule, before, after):
        if before != after:
            self.steps.append(Step(kind, rule, before, after))
        return after

    def of_kind(self, kind):
        return [s for s in self.steps if s.kind == kind]
