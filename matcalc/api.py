"""The public entry point `grad`: text or expression in, proven and printable gradient out.

Stage 6 (it sits below every other stage and wires them together): parse (if text) →
program f := expr → reverse sweep → simplify under the declared assumptions → a Gradient
that prints as text, LaTeX, derivation steps or NumPy, and proves itself (verify.py).
"""
from dataclasses import dataclass, field

import sympy as sp

from .nn.backprop import derive as _derive
from .core.errors import MatcalcError, NotScalarError, ShapeError
from .core.expr import is_matrix, trace
from .calculus.sweep import backward
from .parse import parse, parse_assumption
from .printing import latex as latex_printing
from .codegen.function import numpy_function
from .printing.text import text
from .core.program import Program
from .calculus.simplify import assumption, simplify
from .calculus.steps import Derivation
from . import verify as verify_module


@dataclass
class Gradient:
    """∂f/∂X in denominator layout (the shape of X), with the derivation that produced it."""
    f: sp.Basic
    wrt: sp.MatrixSymbol
    expr: sp.Basic
    derivation: Derivation = field(repr=False)
    assumptions: tuple = ()
    symbols: dict = field(default_factory=dict, repr=False)

    def text(self):
        return text(self.expr)

    def latex(self, layout="denominator"):
        return latex_printing.latex(self.expr, layout=layout)

    def steps(self):
        """The derivation as text, line by line."""
        return render_steps(self)

    def numpy_source(self, name=None):
        return self._numpy(name)[0]

    def numpy(self, name=None):
        """A NumPy function of the variables (sorted by name) computing the gradient."""
        return self._numpy(name)[1]

    def _numpy(self, name):
        return numpy_function(self.expr, self.arguments(),
                                             name=name or f"grad_{self.wrt.name}")

    def arguments(self):
        """The variables the gradient is a function of, in order of appearance in f."""
        free = self.f.atoms(sp.MatrixSymbol) | {s for s in self.f.free_symbols
                                                if not _is_dim(s, self.f)}
        order = list(self.symbols) or sorted(str(s) for s in free)
        named = {str(s): s for s in free}
        return [named[n] for n in order if n in named]

    def verify(self, method="both", seed=0):
        """Prove the gradient; raises VerificationError with the offending entry if wrong."""
        verify_module.assert_gradient(self.f, self.wrt, self.expr, method=method,
                                      assumptions=self._verify_assumptions(), seed=seed)

    def _verify_assumptions(self):
        kinds = {"ColumnsSumToOne": "colsum1", "RowsSumToOne": "rowsum1", "Symmetric": "symmetric"}
        return [(kinds[type(a).__name__], a.var) for a in self.assumptions
                if type(a).__name__ in kinds]

    def __str__(self):
        return f"∂f/∂{text(self.wrt)} = {self.text()}"

    def _repr_latex_(self):
        return f"$\\frac{{\\partial f}}{{\\partial {latex_printing.latex(self.wrt)}}} = {self.latex()}$"


def _is_dim(s, f):
    """Is the scalar symbol s a dimension (it occurs in some shape) rather than a variable?"""
    return any(s in m.shape for m in f.atoms(sp.MatrixSymbol)) and s.is_integer


def grad(f, wrt, shapes=None, assume=()):
    """∂f/∂wrt of a scalar matrix expression, by the trace trick.

    `f` is text ("tr(X.T @ A @ X)") or a matcalc expression; `wrt` a name or a MatrixSymbol;
    `shapes` maps names to (rows, cols) for text input; `assume` lists equations as text
    ("sum(Y, axis=0) == 1") or rewrite rules from simplify.py.

    >>> print(grad("tr(X.T @ A @ X)", "X"))
    ∂f/∂X = (A + A.T) @ X
    """
    symbols = {}
    if isinstance(f, str):
        parsed = parse(f, shapes)
        f, symbols = parsed.expr, dict(parsed.symbols)
    if isinstance(wrt, str):
        if wrt not in symbols:
            names = {str(s): s for s in f.atoms(sp.MatrixSymbol)}
            if wrt not in names:
                known = ", ".join(sorted(set(symbols) | set(names))) or "none"
                raise MatcalcError(f"cannot differentiate with respect to {wrt}: it does not "
                                   f"occur in {text(f)} (its symbols: {known})")
            symbols.setdefault(wrt, names[wrt])
        wrt = symbols[wrt]
    if not is_matrix(wrt):
        raise MatcalcError(f"{text(wrt)} is a scalar; matcalc differentiates with respect to "
                           f"matrices and vectors (declare it 1×1: --shape {text(wrt)}=1x1)")
    if not f.has(wrt):
        raise MatcalcError(f"cannot differentiate with respect to {text(wrt)}: it does not "
                           f"occur in {text(f)}")
    if is_matrix(f):
        if f.shape != (1, 1):
            raise NotScalarError("{0} is {0:dims}, not a scalar: a gradient needs a scalar "
                                 "function; try sum({0}) or tr({0})", f)
        f = trace(f)
    rules = tuple(_assumption(a, symbols, f) for a in assume)
    derivation = Derivation()
    grads, _, _ = backward(Program.single(f), [wrt], derivation)
    g = simplify(grads[wrt], assumptions=rules, derivation=derivation)
    if g.shape != wrt.shape:
        raise ShapeError("internal: gradient {0:shape} does not have the shape of {1:shape}",
                         g, wrt)
    return Gradient(f, wrt, g, derivation, rules, symbols)


def _assumption(a, symbols, f):
    if not isinstance(a, str):
        return a
    if not symbols:
        symbols = {str(s): s for s in f.atoms(sp.MatrixSymbol)}
    eq = parse_assumption(a, symbols)
    lhs, rhs = (eq.lhs, eq.rhs) if hasattr(eq, "lhs") else eq
    return assumption(lhs, rhs)


def derive(model):
    """The textbook backprop of a model from matcalc.nn.spec (forward and backward programs)."""
    return _derive(model)


def verify_backprop(b, method="numeric", seed=0):
    """Prove every gradient of a derived model against its loss (VerificationError if not)."""
    kinds = {"ColumnsSumToOne": "colsum1", "RowsSumToOne": "rowsum1"}
    assumptions = [(kinds[type(a).__name__], a.var) for a in b.assumptions]
    loss = b.loss()
    for p in b.params:
        verify_module.assert_gradient(loss, p, b.gradient(p), method=method,
                                      assumptions=assumptions, seed=seed)


def render_steps(g):
    """The derivation of a Gradient as text: differentials, trace moves, simplification."""
    d = g.derivation
    lines = [f"f = {text(g.f)}", "", "Differentials, one rule per node:"]
    for s in d.of_kind("differential"):
        lines.append(f"  d({text(s.before)}) = {text(s.after)}")
        lines.append(f"      by {s.rule}")
    for s in d.of_kind("result"):
        lines += ["", f"df = {text(s.after)}"]
    moves = d.of_kind("move")
    if moves:
        lines += ["", "Trace moves, tr(AB) = tr(BA), tr(Aᵀ) = tr(A), tr(Gᵀ(F ⊙ L)) = tr((G ⊙ F)ᵀ L):"]
        lines += [f"  {text(s.before)} = {text(s.after)}" for s in moves]
    simp = d.of_kind("simplify")
    if simp:
        lines += ["", "Simplify:"]
        for s in simp:
            lines.append(f"  {text(s.before)} = {text(s.after)}")
            lines.append(f"      by {s.rule}")
    lines += ["", f"df = tr(Gᵀ d{text(g.wrt)})  ⇒  {g}"]
    if g.assumptions:
        lines.append("given that " + "; ".join(str(a) for a in g.assumptions))
    return "\n".join(lines)
