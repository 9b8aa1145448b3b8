"""JSON records (--format json): one object per command, the same keys every time.

Results. README "JSON output": what was asked ("command", "expression", "wrt"), the result's
forms ({"text", "latex", "numpy"}), the context (context: "shapes", "assumptions",
"layout") and "verification" (verification); derive's record (backprop_record) lists its
programs line by line.
"""
import sympy as sp

from ..core.expr import is_matrix
from ..printing import latex as latex_printing
from ..printing.report import gradient_names
from ..printing.text import text

__all__ = ["PROOFS", "dim", "shapes_of", "context", "verification", "backprop_record"]

PROOFS = {"both": "exactly (sympy.diff, entrywise) and by central differences",
          "exact": "exactly (sympy.diff, entrywise)",
          "numeric": "by central differences"}


def dim(d):
    """A size as JSON: an int, or a dimension's name."""
    d = sp.sympify(d)
    return int(d) if d.is_Integer else text(d)


def shapes_of(symbols):
    """{name: [rows, cols]} (an int or a dimension's name each), or "scalar"."""
    return {str(s): [dim(d) for d in s.shape] if is_matrix(s) else "scalar" for s in symbols}


def context(arguments, assumptions, layout):
    return {"shapes": shapes_of(arguments),
            "assumptions": [str(a) for a in assumptions], "layout": layout}


def verification(method, status=None):
    """{"status": "verified" | "wrong" | "skipped", "method": both|exact|numeric|none,
    "how": the words the text output uses}."""
    if method == "none":
        return {"status": "skipped", "method": "none", "how": "not verified"}
    return {"status": status or "verified", "method": method, "how": PROOFS[method]}


def backprop_record(b, verified=True, layout="denominator"):
    """The JSON record of `matcalc derive --format json`: the forward and backward programs
    (one {"name", "name_latex", "text", "latex"} per line), the model (its name and
    summary), the parameters with their gradients' lines, the loss's line, the shapes (with
    the model's sizes), the assumptions and the proof."""
    subs = b.model.concrete()
    names = gradient_names(b)

    def lines(program, names=None):     # the model's sizes, not its internal d1, d2
        return [{"name": text(a.name), "name_latex": latex_printing.latex(a.name, names=names),
                 "text": text(a.expr.xreplace(subs)),
                 "latex": latex_printing.latex(a.expr.xreplace(subs), names=names)}
                for a in program]

    def dims(e):
        return [dim(sp.sympify(d).xreplace(subs)) for d in e.shape] if is_matrix(e) \
            else "scalar"

    symbols = {}
    for a in list(b.forward) + list(b.backward):
        for s in sorted(a.expr.atoms(sp.MatrixSymbol), key=lambda m: m.name):
            symbols.setdefault(text(s), dims(s))
        symbols[text(a.name)] = dims(a.name)
    forward = lines(b.forward)
    l2 = b.model.l2         # the L2 weight: its value, or "lam" where it is a symbol
    penalty = {} if not l2 else {"lambda": "lam" if l2 is True else float(l2)}
    return {"command": "derive", "model": {"name": b.model.name, **b.model.summary(), **penalty},
            "forward": forward, "backward": lines(b.backward, names),
            "parameters": [{"name": text(p), "shape": dims(p), "gradient": text(dp)}
                           for p, dp in b.gradients.items()],
            "loss": next(line for line in forward if line["name"] == text(b.forward.output)),
            "shapes": symbols,
            "assumptions": [str(a) for a in b.assumptions], "layout": layout,
            "verification": verification("numeric" if verified else "none")}
