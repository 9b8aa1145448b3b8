"""The derivation record: what a person writes when deriving a gradient by hand.

Calculus (stage 2). Differential rules, the reverse sweep, trace moves and simplifications
append a Step each; the printers render the list as a derivation (`--format steps`, LaTeX).
"""
from dataclasses import dataclass, field


KINDS = ("differential", "result", "move", "delta", "simplify")


@dataclass(frozen=True)
class Step:
    """One step: `rule` (the identity used, in words) turned `before` into `after`.

    kind is one of KINDS: "differential" (after = d(before), by the rule of before's node),
    "result" (after = dN for the assignment N := before), "move" (a trace identity:
    tr(Gᵀ·L(dX)) written as tr(Ḡᵀ dX)), "delta" (δ := its value, before the symbol δ) or
    "simplify" (before = after as matrices). `rule` is a string or a core Message.
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
        assert kind in KINDS, kind
        if before != after:
            self.steps.append(Step(kind, rule, before, after))
        return after

    def of_kind(self, kind):
        return [s for s in self.steps if s.kind == kind]
