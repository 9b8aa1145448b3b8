"""Check: the verdict on a claimed gradient (matcalc check, assert_gradient).

Results. A claim given as an expression is proven on its own, as matcalc's gradient is; a
claim given as a Python function (the user's backward pass) is compared entrywise with the
proven gradient at random points (verify/compare.py), and the verdict says which was done.
An expression that passes the proofs' tolerances is also compared with the proven gradient
in exact rational arithmetic (its decimals read as written: 1e-40 is 10⁻⁴⁰), so a claim off
by 1e-40 is wrong; where that cannot decide (exp, log of rationals are not rational), the
verdict names the tolerance the exact proof used. A complex value is refused.
"""
from dataclasses import dataclass

import sympy as sp

from .. import verify as verify_module
from ..core.errors import ArgumentError, MatcalcError, ParseError, ShapeError, VerificationError
from ..core.expr import is_matrix
from ..parse import parse
from ..printing import latex as latex_printing
from ..printing.text import text
from ..verify.compare import (COMPARE_POINTS, COMPARE_RTOL, exact_difference,
                              first_difference)
from ..verify.exact import EXACT_DPS, EXACT_POINTS, EXACT_RTOL
from ..verify.sample import as_matrix_variable
from .gradient import Gradient
from .records import PROOFS, context, verification

__all__ = ["Check", "read_claim", "judge", "shape_problem"]

# what "proven exactly" was where the exact proof compared values (to 50 digits) rather
# than deciding an identity or equality in rational arithmetic
WITHIN = (f"the exact proof compared it with sympy.diff to {EXACT_DPS} digits at {EXACT_POINTS} "
          f"random rational points, within {EXACT_RTOL:g} relative")


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
    within: str = ""      # the tolerance a correct verdict rests on (WITHIN), or ""

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
                return (f"correct: ∂f/∂{X} = {self.claim_text()}, proven {self._how()}" + given)
            return (f"correct: {self.claim_text()} agrees with ∂f/∂{X} = {g.text()} (proven "
                    f"{PROOFS[self.method]}) at {COMPARE_POINTS} random points, within "
                    f"{COMPARE_RTOL:g} of its largest entry" + given)
        d = self.difference
        lines = [f"wrong: the claim {self.claim_text()} is not ∂f/∂{X} of {text(g.f)}"]
        if d is not None:
            sizes = ", ".join(f"{k}={v}" for k, v in d.sizes.items())
            lines += [f"  first differing entry: ({d.entry[0]}, {d.entry[1]}) at a random point"
                      + (f" (sizes {sizes})" if sizes else ""),
                      f"    claimed: {d.claimed:.12g}",
                      f"    correct: {d.correct:.12g}"]
            if d.exact is not None:     # found in rational arithmetic: the values may print alike
                lines.append(f"    claimed − correct: {float(d.exact):.3g} exactly (rational "
                             f"arithmetic, tolerance 0)")
        else:
            lines += ["  " + line for line in self.proof.splitlines()]
        lines.append(f"  matcalc's gradient: ∂f/∂{X} = {g.text()}    (proven "
                     f"{PROOFS[self.method]})")
        return "\n".join(lines) + given

    __str__ = message

    def _how(self):
        return PROOFS[self.method] + (f" ({self.within})" if self.within else "")

    def _repr_markdown_(self):
        """Jupyter: the verdict as `matcalc check` prints it."""
        return f"```text\n{self.message()}\n```"

    def to_dict(self, layout="denominator"):
        """The JSON record of `matcalc check --format json` (see records.py)."""
        g, d = self.gradient, self.difference
        claim = {"text": self.claim_text(), "latex": latex_printing.latex(self.claim)
                 if isinstance(self.claim, sp.Basic) else None}
        verdict = verification(self.method, "verified" if self.correct else "wrong")
        verdict["how"] = self._how()
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


def read_claim(claim, g):
    """The claim as an expression over g's variables (text parsed with their shapes), or the
    user's function as it is."""
    __tracebackhide__ = True
    if isinstance(claim, sp.Basic):
        return claim
    if isinstance(claim, str):
        names = {str(s): s for s in g.arguments()}
        shapes = {n: s.shape if is_matrix(s) else "scalar" for n, s in names.items()}
        try:
            p = parse(claim, shapes)
        except MatcalcError as e:
            cls = type(e) if type(e) in (ParseError, ShapeError, MatcalcError) else MatcalcError
            raise cls(f"in the claim: {e}") from None
        extra = [n for n in p.symbols if n not in names]
        if extra:
            raise MatcalcError(f"the claim uses {', '.join(extra)}, which "
                               f"{'is' if len(extra) == 1 else 'are'} not a variable of "
                               f"{text(g.f)} (its variables: {', '.join(names)})")
        return p.expr
    if callable(claim):
        return claim
    raise ArgumentError(f"the claim must be text such as \"A.T @ B.T\", an expression or a "
                        f"function of the variables, not {type(claim).__name__}")


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
    shown, claim = claim, exact_decimals(claim)
    # a scalar variable s is compared as the 1×1 matrix it is, as the proof does
    f, wrt, G = as_matrix_variable(g.f, g.wrt, g.value)
    C = as_matrix_variable(g.f, g.wrt, claim)[2]
    try:
        verify_module.assert_gradient(g.f, g.wrt, claim, method=method, assumptions=given,
                                      seed=seed)
    except VerificationError as e:
        d = first_difference(C, f, wrt, G, assumptions=given, seed=seed)
        return Check(g, shown, False, method, d, str(e))
    if method == "numeric":
        return Check(g, shown, True, method)
    try:
        d, decided = exact_difference(C, f, wrt, G, assumptions=given, seed=seed)
    except MatcalcError:     # no rational point drawn, sizes over a budget: not decided here
        d, decided = None, False
    if d is not None:                   # within the proofs' tolerances, but not equal
        return Check(g, shown, False, method, d)
    return Check(g, shown, True, method, within="" if decided else WITHIN)


def exact_decimals(e):
    """e with each float as the decimal it was written as (1e-40 is 10⁻⁴⁰, 0.1 is 1/10), so
    that an exact comparison is exact."""
    return e.xreplace({x: sp.Rational(str(x)) for x in e.atoms(sp.Float)})


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
