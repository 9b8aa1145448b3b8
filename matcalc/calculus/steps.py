"""The derivation record: what a person writes when deriving a gradient by hand.

Calculus (stage 2). Differential rules, the reverse sweep, trace moves and simplifications
append a Step each; the printers render the list as a derivation (`--format steps`, LaTeX).
"""
from dataclasses import dataclass, field


KINDS = ("adjoint", "differential", "result", "move", "delta", "simplify")


@dataclass(frozen=True)
class Step:
    """One step: `rule` (the identity used, in words) turned `before` into `after`.

    kind is one of KINDS: "adjoint" (the sweep reaches the name `before`, whose adjoint
    N̄ = ∂L/∂N, summed from the moves of the names after it, is `after`), "differential"
    (after = d(before), by the rule of before's node: the differential table's docstring,
    with its Matrix Cookbook equation where it has one), "result" (after = dN for the
    assignment N := before), "move" (before is a term of dN; its contribution to dL,
    tr(N̄ᵀ·before), is written as tr(Ḡᵀ dX) = after by the trace moves named in `rule`),
    "delta" (δ := its value, before the symbol δ) or "simplify" (before = after as
    matrices). `rule` is a string or a core Message.
    """
    kind: str
    rule: str
    before: object
    after: object


@dataclass
class Derivation:
    """The steps of one derivation, in the order they were taken; a step taken again (the
    same rewrite met in another place) is recorded once."""
    steps: list = field(default_factory=list)
    _seen: set = field(default_factory=set, repr=False, compare=False)

    def add(self, kind, rule, before, after):
        assert kind in KINDS, kind
        key = (kind, before, after)
        if before != after and key not in self._seen:
            self._seen.add(key)
            self.steps.append(Step(kind, rule, before, after))
        return after

    def of_kind(self, kind):
        return [s for s in self.steps if s.kind == kind]
