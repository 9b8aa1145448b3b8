"""Check: the verdict on a claimed gradient (matcalc check, assert_gradient).

Results. A claim given as an expression is proven on its own, as matcalc's gradient is; a
claim given as a Python function (the user's backward pass) is compared entrywise with the
proven gradient at random points (verify/compare.py), and the verdict says which was done.
"""
from dataclasses import dataclass

import sympy as sp

from .. import verify as verify_module
from ..core.errors import MatcalcError, VerificationError
from ..core.expr import is_matrix
from ..printing import latex as latex_printing
from ..printing.text import text
from ..verify.compare import COMPARE_POINTS, first_difference
from ..verify.sample import as_matrix_variable
from .gradient import Gradient
from .records import PROOFS, context, verification

__all__ = ["Check", "judge", "shape_problem"]


@dataclass
class Check:
    """The verdict on a claimed ∂f/∂X: matcalc's own gradient (proven), the claim (an
    expression, or the user's function of the variables), and, when the claim is wrong,
    where it first differs (verify/compare.py Difference) and the failed proof's message."""
    gradient: Gradient
    claim: object
    correct: bool
    method: str
    difference: object = None
    proof: str = ""

    def claim_text(self):
        if isinstance(self.claim, sp.Basic):
            return text(self.claim)
        return f"{getattr(self.claim, '__name__', 'the function')}(…)"

    def message(self):
        """What `matcalc check` prints: the verdict, and for a wrong claim the first differing
        entry, both values and matcalc's gradient."""
        g, X = self.gradient, text(self.gradient.wrt)
        given = ("\n  given that " + "; ".join(str(a) for a in g.assumptions)
                 if g.assumptions else "")
        if self.correct:
            if isinstance(self.claim, sp.Basic):
                return (f"correct: ∂f/∂{X} = {self.claim_text()}, proven {PROOFS[self.method]}"
                        + given)
            return (f"correct: {self.claim_text()} agrees with ∂f/∂{X} = {g.text()} (proven "
                    f"{PROOFS[self.method]}) at {COMPARE_POINTS} random points" + given)
        d = self.difference
        lines = [f"wrong: the claim {self.claim_text()} is not ∂f/∂{X} of {text(g.f)}"]
        if d is not None:
            sizes = ", ".join(f"{k}={v}" for k, v in d.sizes.items())
            lines += [f"  first differing entry: ({d.entry[0]}, {d.entry[1]}) at a random point"
                      + (f" (sizes {sizes})" if sizes else ""),
                      f"    claimed: {d.claimed:.12g}",
                      f"    correct: {d.correct:.12g}"]
        else:
            lines += ["  " + line for line in self.proof.splitlines()]
        lines.append(f"  matcalc's gradient: ∂f/∂{X} = {g.text()}    (proven "
                     f"{PROOFS[self.method]})")
        return "\n".join(lines) + given

    __str__ = message

    def _repr_markdown_(self):
        """Jupyter: the verdict as `matcalc check` prints it."""
        return f"```text\n{self.message()}\n```"

    def to_dict(self, layout="denominator"):
        """The JSON record of `matcalc check --format json` (see records.py)."""
        g, d = self.gradient, self.difference
        claim = {"text": self.claim_text(), "latex": latex_printing.latex(self.claim)
                 if isinstance(self.claim, sp.Basic) else None}
        verdict = verification(self.method, "verified" if self.correct else "wrong")
        if not isinstance(self.claim, sp.Basic):     # a function is compared, not proven
            verdict["how"] = (f"compared entrywise at {COMPARE_POINTS} random points "
                              f"with matcalc's gradient, proven {PROOFS[self.method]}")
        return {"command": "check", "expression": text(g.f), "wrt": text(g.wrt),
                "claim": claim, "correct": self.correct,
                "gradient": {"text": g.text(layout), "latex": g.latex(layout),
                             "numpy": g.numpy_source(layout=layout)},
                "difference": None if d is None else
                {"entry": list(d.entry), "claimed": d.claimed, "correct": d.correct,
                 "sizes": d.sizes},
                **context(g.arguments(), g.assumptions, layout), "verification": verdict}


def judge(g, claim, method, given, seed):
    """The Check of `claim` against the proven gradient g: an expression proven on its own,
    a function compared with g entrywise."""
    __tracebackhide__ = True
    if not is_matrix(g.wrt) and not isinstance(claim, sp.Basic):
        raise MatcalcError("a claimed derivative by the scalar {0} is checked as an "
                           "expression: give it as text over the variables, not a function",
                           g.wrt)
    if not isinstance(claim, sp.Basic):
        d = first_difference(claim, g.f, g.wrt, g.value, assumptions=given, seed=seed)
        return Check(g, claim, d is None, method, d)
    try:
        verify_module.assert_gradient(g.f, g.wrt, claim, method=method, assumptions=given,
                                      seed=seed)
    except VerificationError as e:
        # a scalar variable s is compared as the 1×1 matrix it is, as the proof does
        f, wrt, G = as_matrix_variable(g.f, g.wrt, g.value)
        d = first_difference(as_matrix_variable(g.f, g.wrt, claim)[2], f, wrt, G,
                             assumptions=given, seed=seed)
        return Check(g, claim, False, method, d, str(e))
    return Check(g, claim, True, method)


def shape_problem(claim, wrt):
    """(template, operands) saying that the claim's shape is not wrt's, or None."""
    if not isinstance(claim, sp.Basic):
        return None
    got = tuple(claim.shape) if is_matrix(claim) else None
    if not is_matrix(wrt):        # a scalar variable: its derivative is a number
        if got in (None, (1, 1)):
            return None
        return ("the claim {1} is {1:dims} but {0} is a scalar: ∂f/∂{0} is a number", wrt,
                claim)
    if got == tuple(wrt.shape):
        return None
    what = "is {1:dims}" if got else "is a scalar"
    return (f"the claim {{1}} {what} but {{0}} is {{0:dims}}: ∂f/∂{{0}} has the shape of "
            "{0} (matcalc uses the denominator layout; a numerator-layout claim is the "
            "transpose)", wrt, claim)
