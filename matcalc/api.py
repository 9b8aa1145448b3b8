"""The Python face of matcalc: `grad`, `derive`, `train`, wiring the stages together.

API (stage 7, above every stage). grad: text or expression → parse → program f := expr →
reverse sweep → simplify under the declared assumptions → a Gradient that prints as text,
LaTeX, derivation steps or NumPy and proves itself (verify/). derive: model → textbook
backprop. train: model → derivation, proof, kernels, data, the trainer (train/trainer.py),
the same run the CLI and the standalone script make.
"""
import sys
import time
from functools import partial
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy as sp

from . import verify as verify_module
from .calculus.simplify import assumption, inequality, simplify
from .calculus.steps import Derivation
from .calculus.sweep import backward
from .codegen.function import numpy_function
from .codegen.backends import BackendError
from .codegen.kernels import compile as compile_kernels
from .core.errors import (InternalError, MatcalcError, NotScalarError, ParseError,
                          ShapeError, VerificationError)
from .core.expr import is_matrix, rebuild, shape, trace, transpose
from .core.nodes import Elementwise, LogSoftmax, LogSumExp, Softmax
from .core.functions import T
from .core.program import Program
from .nn.backprop import derive as _derive
from .nn.backprop import local_proofs
from .parse import parse, parse_assumption
from .parse.sympy_input import from_sympy, variables
from .printing import latex as latex_printing
from .printing.report import gradient_names
from .printing.hooks import gradient_steps
from .printing.text import text
from .train import data as datasets
from .train.trainer import (DEFAULTS, check_history, check_options, check_output,
                            history_beside)
from .train.trainer import train as run_trainer
from .train.distributed import spawn_train
from .verify.compare import COMPARE_POINTS, first_difference
from .verify.sample import as_matrix_variable
from .verify.jacobian import verify_hessian, verify_hvp, verify_jacobian, verify_printed
from .calculus.hessian import direction, hessian_matrix, hessian_vector_product
from .calculus.jacobian import LAYOUTS, in_layout, jacobian_of, read_back, transposed


@dataclass
class Gradient:
    """∂f/∂X in denominator layout (the shape of X), with the derivation that produced it."""
    f: sp.Basic
    wrt: sp.MatrixSymbol
    expr: sp.Basic
    derivation: Derivation = field(repr=False)
    assumptions: tuple = ()
    symbols: dict = field(default_factory=dict, repr=False)
    layout: str = "denominator"

    def matrix(self, layout=None):
        """∂f/∂X in `layout` (the result's own by default): denominator and mixed (a scalar
        by a matrix) give the shape of X, numerator its transpose."""
        shown = _layout_of(layout or self.layout, True)
        return transposed(self.expr) if shown == "numerator" else self.expr

    def text(self, layout=None):
        return text(self.matrix(layout))

    def latex(self, layout=None):
        return latex_printing.latex(self.matrix(layout))

    def steps(self):
        """The derivation as text, line by line (a str; Jupyter shows its LaTeX)."""
        return gradient_steps(self)

    def numpy_source(self, name=None, layout=None):
        return self._numpy(name, layout)[0]

    def numpy(self, name=None, layout=None):
        """A NumPy function of the variables (sorted by name) computing the gradient."""
        return self._numpy(name, layout)[1]

    def _numpy(self, name, layout=None):
        """(source, function), the function run at the proof's points and compared with the
        gradient's value there before either is handed out (InternalError if they differ)."""
        args = self.arguments()
        m = self.matrix(layout)
        src, fn = numpy_function(m, args, name=name or f"grad_{self.wrt.name}")
        # in numerator layout the code computes Gᵀ: its transpose is put on trial against G
        run = fn if m is self.expr else (lambda *a: np.asarray(fn(*a)).T)
        verify_module.verify_code(run, args, self.f, self.wrt, self.expr,
                                  assumptions=constraints(self.assumptions), source=src)
        return src, fn

    def arguments(self):
        """The variables the gradient is a function of, in order of appearance in f; then, by
        name, the sizes no variable's shape gives (n in tr(ones(n, n)) * norm(A))."""
        free = self.f.atoms(sp.MatrixSymbol) | {s for s in self.f.free_symbols
                                                if not _is_dim(s, self.f) and s != T}
        order = list(self.symbols)
        order += sorted(str(s) for s in free if str(s) not in order)
        named = {str(s): s for s in free}
        return [named[n] for n in order if n in named]

    def verify(self, method="both", seed=0):
        """Prove the gradient; raises VerificationError with the offending entry if wrong."""
        verify_module.assert_gradient(self.f, self.wrt, self.expr, method=method,
                                      assumptions=constraints(self.assumptions), seed=seed)

    def to_dict(self, verified="both", layout=None):
        """The JSON record of `matcalc grad --format json` (see records below); `verified`
        is the proof run before (a key of PROOFS), `layout` that of the three forms (the
        result's own by default; mixed is denominator for a gradient)."""
        layout = _layout_of(layout or self.layout, True)
        return {"command": "grad", "expression": text(self.f), "wrt": text(self.wrt),
                "gradient": {"text": self.text(layout), "latex": self.latex(layout),
                             "numpy": self.numpy_source(layout=layout)},
                **_context(self, layout), "verification": _verification(verified)}

    def __str__(self):
        return f"∂f/∂{text(self.wrt)} = {self.text()}"

    def _repr_latex_(self):
        return f"${self._latex(None)}$"

    # SymPy's printers ask an object for its own form first; otherwise they would print this
    # with their method for sympy.vector's Gradient, and fail.
    def _latex(self, printer):
        return f"\\frac{{\\partial f}}{{\\partial {latex_printing.latex(self.wrt)}}} = {self.latex()}"

    def _pretty(self, printer):
        return printer._print(str(self))


def constraints(assumptions):
    """The verifier's constraints for the simplifier's assumptions: [(name, variable)]."""
    return [(a.constraint, a.var) for a in assumptions if a.constraint]


def _is_dim(s, f):
    """Is the scalar symbol s a dimension (it occurs in some shape) rather than a variable?"""
    return any(s in m.shape for m in f.atoms(sp.MatrixSymbol)) and s.is_integer


def grad(f, wrt, shapes=None, assume=(), layout="denominator"):
    """∂f/∂wrt of a scalar matrix expression, by the trace trick.

    `f` is text ("tr(X.T @ A @ X)") or a matcalc expression; `wrt` a name or a MatrixSymbol;
    `shapes` maps names to (rows, cols) for text input; `assume` lists equations as text
    ("sum(Y, axis=0) == 1"), inequalities that give the domain ("b - A @ x > 0", entrywise)
    or rewrite rules from simplify.py; the proof (Gradient.verify) draws its points where
    they hold. `layout` is how the result is shown (Gradient.layout): denominator (the shape
    of X, as matcalc computes), numerator (its transpose) or mixed (for a scalar by a
    matrix, the denominator layout; see jacobian).

    >>> print(grad("tr(X.T @ A @ X)", "X"))
    ∂f/∂X = (A + A.T) @ X
    """
    if shapes is not None and not isinstance(shapes, dict):
        raise TypeError(f"grad: shapes must be a dict such as {{\"X\": (3, 4)}}, not "
                        f"{type(shapes).__name__}")
    if isinstance(assume, str) or not isinstance(assume, (list, tuple)) and \
            callable(assume):
        assume = [assume]          # one assumption given alone
    _layout_of(layout, True)       # a known layout, before any work
    source = f
    f, wrt, symbols = _read(f, wrt, shapes, "grad", "tr(X.T @ A @ X)",
                            ("does not occur in", "symbols"))
    if is_matrix(f) and f.shape != (1, 1):   # before a scalar wrt's 1×1 reading: f as written
        raise NotScalarError("{0} is {0:dims}, not a scalar: a gradient needs a scalar "
                             "function; try sum({0}) or tr({0}); for a vector or matrix "
                             "function, take its Jacobian", f)
    if not is_matrix(wrt):       # a scalar variable: differentiated as the 1×1 matrix it is
        return _grad_scalar(source, f, wrt, shapes, assume, layout, symbols)
    if not f.has(wrt):
        if isinstance(source, str):   # named in the text, but f reads as a constant
            raise MatcalcError(f"{source} simplifies to {text(f)}, which does not depend on "
                               f"{text(wrt)}: its gradient is zero")
        raise MatcalcError(f"cannot differentiate with respect to {text(wrt)}: it does not "
                           f"occur in {text(f)}")
    if is_matrix(f):
        f = trace(f)
    depth = _softmax_depth(f, wrt, {})
    if depth > MAX_SOFTMAX_DEPTH:
        raise MatcalcError(
            f"f nests softmax, logsoftmax or logsumexp {depth} deep around {wrt}: written out "
            f"as one expression its gradient grows about threefold per level (each level's "
            f"adjoint holds the next one's twice), so matcalc takes at most "
            f"{MAX_SOFTMAX_DEPTH}; for a network, `matcalc derive` names each layer's δ and "
            f"stays linear in depth")
    rules = tuple(_assumption(a, symbols, f) for a in assume)
    derivation = Derivation()
    grads, _, _ = backward(Program.single(f), [wrt], derivation)
    g = simplify(grads[wrt], assumptions=rules, derivation=derivation)
    if g.shape != wrt.shape:
        raise ShapeError("internal: gradient {0:shape} does not have the shape of {1:shape}",
                         g, wrt)
    return Gradient(f, wrt, g, derivation, rules, symbols, layout)


def _read(f, wrt, shapes, who, example, missing):
    """(f, wrt, symbols) for grad, jacobian and hessian: f's and wrt's types checked, text
    parsed (an expression brought to the canonical form text builds: HadamardPower,
    (Wx - y)ᵀ), a wrt given by name looked up among f's variables. `example` is an f for the
    TypeError; `missing` (the phrase, the noun) words the error for a name f does not have."""
    if not isinstance(f, (str, sp.Basic)):
        raise TypeError(f"{who}: f must be text such as \"{example}\" or a matcalc "
                        f"expression, not {type(f).__name__}")
    if not isinstance(wrt, (str, sp.MatrixSymbol, sp.Symbol)):
        raise TypeError(f"{who}: wrt must be a variable's name such as \"X\" or a "
                        f"MatrixSymbol, not {type(wrt).__name__}")
    symbols = {}
    if isinstance(f, str):
        parsed = parse(f, shapes)
        f, symbols = parsed.expr, dict(parsed.symbols)
    else:
        f = from_sympy(f)
    if isinstance(wrt, str):
        # text input names its variables; an expression's are its own symbols (and
        # `symbols` stays empty, so that the gradient's arguments are all of them, by name)
        names = symbols or variables(f)
        if wrt not in names:
            known = ", ".join(sorted(names)) or "none"
            raise MatcalcError(f"cannot differentiate with respect to {wrt}: it "
                               f"{missing[0]} {text(f)} (its {missing[1]}: {known})")
        wrt = names[wrt]
    return f, wrt, symbols


def _grad_scalar(source, f, s, shapes, assume, layout, symbols):
    """∂f/∂s for a scalar variable s: f is differentiated with s the 1×1 matrix S it is (s =
    tr(S) where it meets scalars), and the 1×1 gradient read back as the number tr(G), with s
    for tr(S): grad("alpha * tr(A @ X)", "alpha") is tr(A @ X). The proof does the same
    (verify/sample.py as_matrix_variable)."""
    one = sp.MatrixSymbol(s.name, 1, 1)
    if isinstance(source, str):
        g = grad(source, s.name, {**(shapes or {}), s.name: (1, 1)}, assume, layout)
    else:
        if any(s in e.body.free_symbols for e in f.atoms(Elementwise)):
            raise MatcalcError("{0} stands inside an entrywise function's body in {1}; give f "
                               "as text to differentiate with respect to it", s, f)
        g = grad(rebuild(f, lambda e: trace(one) if e == s else e), one, shapes, assume, layout)
    def entry(e):     # tr(f(M)) = f(tr(M)) for a 1×1 M: the number, not a trace of a function
        if isinstance(e, sp.Trace) and isinstance(e.arg, Elementwise):
            return e.arg.body.xreplace({T: trace(e.arg.arg)})
        return e
    expr = sp.sympify(rebuild(trace(g.expr), entry)).xreplace({sp.Trace(one): s})
    return Gradient(trace(f) if is_matrix(f) else f, s, expr, g.derivation, g.assumptions,
                    symbols, layout)


MAX_SOFTMAX_DEPTH = 5     # 5 deep: under a second; 6: seconds; 8: minutes


def _softmax_depth(e, wrt, memo):
    """How many softmax-like nodes (their differentials use their output twice) nest along a
    path from e down to wrt."""
    if e not in memo:
        inner = max((_softmax_depth(a, wrt, memo) for a in e.args
                     if isinstance(a, sp.Basic) and a.has(wrt)), default=0)
        memo[e] = inner + isinstance(e, (Softmax, LogSoftmax, LogSumExp))
    return memo[e]


def _assumption(a, symbols, f):
    if not isinstance(a, str):
        return a
    if not symbols:
        symbols = variables(f)
    eq = parse_assumption(a, symbols)
    if eq.op != "==":
        return inequality(eq.lhs, eq.rhs, eq.op)
    return assumption(eq.lhs, eq.rhs)


def derive(model):
    """The textbook backprop of a model from matcalc.nn.spec (forward and backward programs)."""
    return _derive(model)


def verify_backprop(b, method="numeric", seed=0):
    """Prove every line of a derived model's backward program (VerificationError naming the
    line if one is wrong), each against the forward lines it differentiates: δ_l against
    c_{l+1}·tr(δ_{l+1}ᵀ Z_{l+1}) as a function of Z_l, dW_l against c_l·tr(δ_lᵀ Z_l) and
    L's own terms in W_l, δ_L against L (nn/backprop.py local_proofs). Together they prove
    every gradient, by the chain rule, in time linear in depth: nothing inlines the network."""
    given = constraints(b.assumptions)
    for proof in local_proofs(b):
        try:
            verify_module.assert_gradient(proof.f, proof.wrt, proof.claim, method=method,
                                          assumptions=given, seed=seed)
        except VerificationError as e:
            uses = ", ".join(text(u) for u in proof.uses) or "none"
            detail = str(e).replace("{", "{{").replace("}", "}}")
            raise VerificationError(
                "the backward line {0} := {1} is wrong: it is not the gradient with respect "
                "to {2} of the forward lines it differentiates (those of " + uses + "):\n"
                + detail, proof.line.name, proof.line.expr, proof.wrt) from None


# ---- Checking a claimed gradient (matcalc check, assert_gradient) -------------------------

PROOFS = {"both": "exactly (sympy.diff, entrywise) and by central differences",
          "exact": "exactly (sympy.diff, entrywise)",
          "numeric": "by central differences"}


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
        """The JSON record of `matcalc check --format json` (see records below)."""
        g, d = self.gradient, self.difference
        claim = {"text": self.claim_text(), "latex": latex_printing.latex(self.claim)
                 if isinstance(self.claim, sp.Basic) else None}
        verification = _verification(self.method, "verified" if self.correct else "wrong")
        if not isinstance(self.claim, sp.Basic):     # a function is compared, not proven
            verification["how"] = (f"compared entrywise at {COMPARE_POINTS} random points "
                                   f"with matcalc's gradient, proven {PROOFS[self.method]}")
        return {"command": "check", "expression": text(g.f), "wrt": text(g.wrt),
                "claim": claim, "correct": self.correct,
                "gradient": {"text": g.text(layout), "latex": g.latex(layout),
                             "numpy": g.numpy_source(layout=layout)},
                "difference": None if d is None else
                {"entry": list(d.entry), "claimed": d.claimed, "correct": d.correct,
                 "sizes": d.sizes},
                **_context(g, layout), "verification": verification}


def check(f, wrt, claim, shapes=None, assume=(), method="both", assumptions=None, seed=0):
    """Is `claim` ∂f/∂wrt? A Check, right or wrong; bad input raises MatcalcError.

    f, wrt, shapes and assume as in grad. `claim` is text over f's variables ("A.T @ B.T"),
    a matcalc/SymPy expression, or a Python function of the variables: the user's own
    backward pass, called with NumPy arrays (floats for scalars) by the variables' names,
    only those it takes unless it takes **kwargs. matcalc's gradient is proven first
    (`method`: "both", "exact" or "numeric"); an expression is then proven on its own the
    same way, a function compared entrywise with the proven gradient at random points.
    `assumptions`: more constraints for the proofs, as in matcalc.verify.assert_gradient.
    A claim of the wrong shape is a ShapeError (assert_gradient: a VerificationError).

    >>> check("tr(A @ X @ B)", "X", "A.T @ B.T").correct
    True
    """
    __tracebackhide__ = True
    g, claim, given = _prepare(f, wrt, claim, shapes, assume, method, assumptions, seed)
    problem = _shape_problem(claim, g.wrt)
    if problem:
        raise ShapeError(*problem)
    return _judge(g, claim, method, given, seed)


def assert_gradient(f, wrt, claim, method="both", assume=(), shapes=None, assumptions=None,
                    seed=0):
    """Raise VerificationError (an AssertionError) unless `claim` is ∂f/∂wrt: for your tests.

    Arguments as in check: `claim` as text, an expression, or your backward pass as a
    function of the variables by name. The message gives the first differing entry, both
    values and matcalc's own (proven) gradient; under pytest the traceback ends at your
    line. Bad input (a claim that does not parse) raises its MatcalcError.

    >>> assert_gradient("tr(A @ X @ B)", "X", "A.T @ B.T")
    >>> assert_gradient("tr(A @ X @ B)", "X", lambda A, B: A.T @ B.T)
    >>> assert_gradient("tr(A @ X @ B)", "X", "2*A.T @ B.T")     # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    matcalc.core.errors.VerificationError: wrong: the claim 2*A.T @ B.T is not ∂f/∂X of tr(A @ X @ B)
      first differing entry: (0, 0) at a random point (sizes ...)
    ...
      matcalc's gradient: ∂f/∂X = A.T @ B.T    (proven exactly ...)
    """
    __tracebackhide__ = True      # pytest shows the caller's line, not matcalc's frames
    g, claim, given = _prepare(f, wrt, claim, shapes, assume, method, assumptions, seed)
    problem = _shape_problem(claim, g.wrt)
    if problem:                   # a claim of the wrong shape is a wrong claim here
        raise VerificationError(*problem)
    result = _judge(g, claim, method, given, seed)
    if not result.correct:
        raise VerificationError(result.message().replace("{", "{{").replace("}", "}}"))


def _prepare(f, wrt, claim, shapes, assume, method, assumptions, seed):
    """matcalc's gradient, proven (InternalError if it fails: a bug of matcalc's); the claim
    as an expression or function; the proofs' constraints."""
    __tracebackhide__ = True
    if method not in PROOFS:
        raise MatcalcError(f"method must be one of {', '.join(PROOFS)}, not {method!r}",
                           cli=f"--verify must be one of {', '.join(PROOFS)} for a check, "
                               f"not {method!r}")
    g = grad(f, wrt, shapes=shapes, assume=assume)
    given = constraints(g.assumptions) + list(assumptions or [])
    claim = _claim(claim, g)
    try:
        verify_module.assert_gradient(g.f, g.wrt, g.expr, method=method, assumptions=given,
                                      seed=seed)
    except VerificationError as e:
        raise InternalError(f"matcalc's gradient {g.text()} failed its proof: {e}") from None
    return g, claim, given


def _judge(g, claim, method, given, seed):
    """The Check: an expression proven on its own, a function compared with g entrywise."""
    __tracebackhide__ = True
    if not is_matrix(g.wrt) and not isinstance(claim, sp.Basic):
        raise MatcalcError("a claimed derivative by the scalar {0} is checked as an "
                           "expression: give it as text over the variables, not a function",
                           g.wrt)
    if not isinstance(claim, sp.Basic):
        d = first_difference(claim, g.f, g.wrt, g.expr, assumptions=given, seed=seed)
        return Check(g, claim, d is None, method, d)
    try:
        verify_module.assert_gradient(g.f, g.wrt, claim, method=method, assumptions=given,
                                      seed=seed)
    except VerificationError as e:
        # a scalar variable s is compared as the 1×1 matrix it is, as the proof does
        f, wrt, G = as_matrix_variable(g.f, g.wrt, g.expr)
        d = first_difference(as_matrix_variable(g.f, g.wrt, claim)[2], f, wrt, G,
                             assumptions=given, seed=seed)
        return Check(g, claim, False, method, d, str(e))
    return Check(g, claim, True, method)


def _claim(claim, g):
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
    raise TypeError(f"the claim must be text such as \"A.T @ B.T\", an expression or a "
                    f"function of the variables, not {type(claim).__name__}")


def _shape_problem(claim, wrt):
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


# ---- JSON records (--format json) -----------------------------------------------------------
# One object per command, the same keys every time (README "JSON output"): what was asked
# ("command", "expression", "wrt"), the result's forms ({"text", "latex", "numpy"}), the
# context (_context: "shapes", "assumptions", "layout") and "verification" (_verification).


def _dim(d):
    d = sp.sympify(d)
    return int(d) if d.is_Integer else text(d)


def _shapes_of(symbols):
    """{name: [rows, cols]} (an int or a dimension's name each), or "scalar"."""
    return {str(s): [_dim(d) for d in s.shape] if is_matrix(s) else "scalar" for s in symbols}


def _context(g, layout):
    return {"shapes": _shapes_of(g.arguments()),
            "assumptions": [str(a) for a in g.assumptions], "layout": layout}


def _verification(method, status=None):
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

    def lines(program, names=None):
        return [{"name": text(a.name), "name_latex": latex_printing.latex(a.name, names=names),
                 "text": text(a.expr), "latex": latex_printing.latex(a.expr, names=names)}
                for a in program]

    def dims(e):
        return [_dim(sp.sympify(d).xreplace(subs)) for d in e.shape] if is_matrix(e) \
            else "scalar"

    symbols = {}
    for a in list(b.forward) + list(b.backward):
        for s in sorted(a.expr.atoms(sp.MatrixSymbol), key=lambda m: m.name):
            symbols.setdefault(text(s), dims(s))
        symbols[text(a.name)] = dims(a.name)
    forward = lines(b.forward)
    return {"command": "derive", "model": {"name": b.model.name, **b.model.summary()},
            "forward": forward, "backward": lines(b.backward, names),
            "parameters": [{"name": text(p), "shape": dims(p), "gradient": text(dp)}
                           for p, dp in b.gradients.items()],
            "loss": next(line for line in forward if line["name"] == text(b.forward.output)),
            "shapes": symbols,
            "assumptions": [str(a) for a in b.assumptions], "layout": layout,
            "verification": _verification("numeric" if verified else "none")}


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


def load_data(model, data=None, seed=0, binary=(3, 8), dtype="float64"):
    """The Dataset `data` names, checked against the model: None for the embedded digits, a
    folder of MNIST IDX files, a pair of .npy paths (X, y), or a Dataset. A one-output model
    trains on the two classes `binary` (relabelled 0 and 1)."""
    classes = 2 if model.n_outputs == 1 else model.n_outputs
    if data is None:
        ds = datasets.load_digits(seed=seed)
    elif isinstance(data, datasets.Dataset):
        ds = data
    elif isinstance(data, (str, Path)):
        ds = datasets.load_mnist(data)
    else:
        x_path, y_path = data
        X, y, _ = datasets.read_arrays(x_path, y_path)
        # checked whole, so that a bad label is named by its index in the user's file
        datasets.check_inputs(X, y, model.n_inputs, None if model.n_outputs == 1 else classes,
                              f"X file {x_path}")
        ds = datasets.load_arrays(x_path, y_path, seed=seed)
    if model.n_outputs == 1:
        ds = ds.binary(*binary)
    ds = ds.astype(np.dtype(dtype))
    for X, y, name in ((ds.X_train, ds.y_train, "training data"),
                       (ds.X_test, ds.y_test, "test data")):
        datasets.check_inputs(X, y, model.n_inputs, classes, name=name)
    return ds


def train(model, data=None, output="mlp.npz", epochs=DEFAULTS["epochs"],
          batch_size=DEFAULTS["batch_size"], lr=DEFAULTS["lr"], optimizer=DEFAULTS["optimizer"],
          lam=None, seed=DEFAULTS["seed"], dtype=DEFAULTS["dtype"], binary=(3, 8), log=True,
          names=None, history=True, backend="numpy", device=None, nproc=1):
    """Derive, prove and compile the model's backprop, then train it on `data` (see
    load_data) and save the weights to `output` (.npz). `lam` is the L2 weight for a model
    with a symbolic λ (default 1e-4); `names` spells the options for messages (--lr).
    `history`: True writes the per-epoch history beside the weights (mlp.npz →
    mlp.history.json), a path ending in .json or .csv writes it there, False not at all.
    `backend`: the array library the kernels run on (numpy, torch, jax; codegen/backends.py),
    `device` torch's (cpu, cuda); `nproc` > 1 trains data-parallel in that many torch
    processes (train/distributed.py).

    The output path and the options are checked before anything runs; a diverging run
    stops and keeps its best epoch, Ctrl-C its last (train/trainer.py)."""
    if nproc != 1 and (backend != "torch" or isinstance(nproc, bool) or
                       not isinstance(nproc, int) or nproc < 1):
        raise BackendError(f"nproc must be a positive integer, with the torch backend; not "
                           f"{nproc!r} with {backend}",
                           cli=f"--nproc takes a positive integer and --backend torch, not "
                               f"{nproc!r} with --backend {backend}")
    if history is True:
        history = history_beside(str(output))
    history = Path(history) if history else None
    if lam is None:
        lam = DEFAULTS["lam"] if model.l2 is True else float(model.l2 or 0.0)
    # bad options fail before the (possibly long) derivation and proof, not after them
    check_options(epochs, batch_size, lr, lam, optimizer, names)
    check_output(output)
    if history is not None:
        check_history(history, output)
    start = time.perf_counter()
    b = derive(model)
    verify_backprop(b)
    proven = time.perf_counter() - start
    k = compile_kernels(b, backend=backend, device=device)
    ds = load_data(model, data, seed, binary, dtype)
    axis = k.SAMPLE_AXIS
    X, X_test = (np.ascontiguousarray(np.moveaxis(a, 0, axis)) for a in (ds.X_train, ds.X_test))
    log = sys.stderr if log is True else log
    if log is not None:
        print(f"derived and proved the backprop of {model.name} in {proven:.2f} s (each of "
              f"its {len(b.backward)} lines by central differences)", file=log)
        print(f"training {model.name} on {ds.name}: {len(ds.y_train)} "
              f"training and {len(ds.y_test)} test samples", file=log)
    run = run_trainer if nproc == 1 else partial(spawn_train, nproc=nproc,
                                                 device=device or "cpu")
    params, records, note = run(
        k, X, ds.y_train, X_test, ds.y_test, output, epochs=epochs, batch_size=batch_size,
        lr=lr, optimizer=optimizer, lam=lam, seed=seed, dtype=dtype, log=log, names=names,
        history_path=history)
    return Trained(b, k, {p["name"]: v for p, v in zip(k.PARAMS, params)}, records,
                   Path(output), note, history)


# ---------------------------------------------------------------- Jacobians and Hessians
# Second order reuses first order (calculus/jacobian.py, calculus/hessian.py): a Jacobian is
# read off d vec F = J d vec X, a Hessian is the differential (H[V]) or the Jacobian (the
# matrix) of the proven gradient. Each result is proven (verify/jacobian.py) before it is shown,
# and its NumPy code is run against the evaluator before it is handed out.

GRADIENT_LAYOUT_WORDS = {
    "denominator": "denominator layout: ∂f/∂{0} has the shape of {0}",
    "numerator": "numerator layout: ∂f/∂{0} has the shape of {0}ᵀ (the transpose)",
    "mixed": "mixed layout: a scalar by a matrix is in denominator layout, ∂f/∂{0} has the "
             "shape of {0}",
}
LAYOUT_WORDS = {       # {0}: the variable's own name, as the gradient's and Hessian's lines
    "numerator": "numerator layout: J = ∂vec(F)/∂vec({0})ᵀ, a row per entry of vec(F)",
    "denominator": "denominator layout: Jᵀ = ∂vec(F)ᵀ/∂vec({0}), a row per entry of vec({0})",
}


def _layout_of(layout, scalar_f):
    """The layout a result is shown in: mixed is numerator for a vector or matrix F and
    denominator for a scalar f (∂y/∂x is m×n, ∂f/∂X has the shape of X)."""
    if layout not in LAYOUTS:
        raise MatcalcError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}",
                           cli=f"--layout takes {'|'.join(LAYOUTS)}, not {layout!r}")
    return ("denominator" if scalar_f else "numerator") if layout == "mixed" else layout


@dataclass
class Jacobian:
    """∂vec F/∂vec Xᵀ of a vector- or matrix-valued F, from d vec F = J d vec X. `expr` is J
    in numerator layout (|F| rows, |X| columns); `layout` is how text, LaTeX and NumPy show it
    (numerator, denominator: Jᵀ, or mixed: numerator here, denominator for a scalar F)."""
    f: sp.Basic
    wrt: sp.MatrixSymbol
    expr: sp.Basic
    derivation: Derivation = field(repr=False)
    layout: str = "numerator"
    assumptions: tuple = ()
    symbols: dict = field(default_factory=dict, repr=False)

    @property
    def shown_layout(self):
        return _layout_of(self.layout, not is_matrix(self.f) or self.f.shape == (1, 1))

    def matrix(self):
        """J in the result's layout."""
        return in_layout(self.expr, self.shown_layout, scalar_f=False)

    def text(self):
        return text(self.matrix())

    def latex(self):
        return latex_printing.latex(self.matrix())

    def layout_line(self):
        """What J is, its size and F: the line the text output states its layout with."""
        rows, cols = (_size_text(d) for d in shape(self.matrix()))
        words = LAYOUT_WORDS[self.shown_layout].format(text(self.wrt))
        return f"{words}; {rows}×{cols}, F = {text(self.f)}"

    def numpy_source(self, name=None):
        return self._numpy(name)[0]

    def numpy(self, name=None):
        return self._numpy(name)[1]

    def arguments(self):
        """The variables J is a function of, as Gradient.arguments."""
        return Gradient.arguments(self)

    def _numpy(self, name):
        args = self.arguments()
        m = self.matrix()
        src, fn = numpy_function(m, args, name=name or f"jacobian_{self.wrt.name}")
        verify_printed(fn, args, m, self.f, self.wrt, assumptions=constraints(self.assumptions),
                       source=src)
        return src, fn

    def to_dict(self, verified="both"):
        """The JSON record of `matcalc jacobian --format json`, keyed as grad's."""
        return {"command": "jacobian", "expression": text(self.f), "wrt": text(self.wrt),
                "jacobian": {"text": self.text(), "latex": self.latex(),
                             "numpy": self.numpy_source()},
                "rows": _dim(shape(self.matrix())[0]), "cols": _dim(shape(self.matrix())[1]),
                **_context(self, self.shown_layout), "verification": _verification(verified)}

    def verify(self, method="both", seed=0):
        """Prove J entrywise against sympy.diff of vec(F) and by central differences."""
        verify_jacobian(self.f, self.wrt, self.expr, method=method,
                        assumptions=constraints(self.assumptions), seed=seed)

    def __str__(self):
        return f"{'Jᵀ' if self.shown_layout == 'denominator' else 'J'} = {self.text()}"

    def _repr_latex_(self):
        name = "J^{\\top}" if self.shown_layout == "denominator" else "J"
        return f"$\\displaystyle {name} = {self.latex()}$"


@dataclass
class Hessian:
    """The Hessian of a scalar f: the product H[V] = d/dε ∇f(X + εV) at 0 (form "product",
    an expression in the direction V, the shape of X), or the matrix ∂²f/∂vec X ∂vec Xᵀ (form
    "matrix", symmetric: the same in every layout). `gradient` is the proven ∇f."""
    gradient: Gradient
    direction: sp.MatrixSymbol
    expr: sp.Basic
    form: str = "product"

    f = property(lambda self: self.gradient.f)
    wrt = property(lambda self: self.gradient.wrt)
    symbols = property(lambda self: {**self.gradient.symbols,
                                     **({self.direction.name: self.direction}
                                        if self.form == "product" else {})})
    assumptions = property(lambda self: self.gradient.assumptions)

    def text(self):
        return text(self.expr)

    def latex(self):
        return latex_printing.latex(self.expr)

    def numpy_source(self, name=None):
        return self._numpy(name)[0]

    def numpy(self, name=None):
        return self._numpy(name)[1]

    def arguments(self):
        args = Gradient.arguments(self.gradient)
        return args + [self.direction] if self.form == "product" else args

    def _numpy(self, name):
        args = self.arguments()
        src, fn = numpy_function(self.expr, args, name=name or f"hessian_{self.wrt.name}")
        verify_printed(fn, args, self.expr, self.f, self.wrt,
                       V=self.direction if self.form == "product" else None,
                       assumptions=constraints(self.assumptions), source=src)
        return src, fn

    def to_dict(self, verified="both"):
        """The JSON record of `matcalc hessian --format json`, keyed as grad's."""
        return {"command": "hessian", "expression": text(self.f), "wrt": text(self.wrt),
                "form": self.form, "hessian": {"text": self.text(), "latex": self.latex(),
                                               "numpy": self.numpy_source()},
                "direction": self.direction.name if self.form == "product" else None,
                **_context(self, "symmetric" if self.form == "matrix" else "denominator"),
                "verification": _verification(verified)}

    def verify(self, method="both", seed=0):
        """Prove the gradient it differentiates, then H: the product exactly against sympy.diff
        twice and numerically against central differences of the gradient; the matrix
        entrywise against sympy.diff twice and by second differences of f."""
        self.gradient.verify(method=method, seed=seed)
        given = constraints(self.assumptions)
        if self.form == "product":
            verify_hvp(self.f, self.wrt, self.direction, self.expr, self.gradient.expr,
                       method=method, assumptions=given, seed=seed)
        else:
            verify_hessian(self.f, self.wrt, self.expr, method=method, assumptions=given,
                           seed=seed)

    def __str__(self):
        name = f"H[{self.direction.name}]" if self.form == "product" else "H"
        return f"{name} = {self.text()}"

    def _repr_latex_(self):
        name = (f"H\\left[{latex_printing.latex(self.direction)}\\right]"
                if self.form == "product" else "H")
        return f"$\\displaystyle {name} = {self.latex()}$"


def _size_text(d):
    """A size for a shape such as (m*n)×p: grouped unless a number or a name."""
    return text(d) if d.is_Atom else f"({text(d)})"


def _jacobian_input(f, wrt, shapes, who):
    """(f, X, symbols): text parsed, the variable found and checked, as grad does."""
    f, wrt, symbols = _read(f, wrt, shapes, who, "A @ X", ("is not a variable of", "variables"))
    if not isinstance(wrt, (sp.MatrixSymbol, sp.Symbol)):
        raise MatcalcError("{0} is not a variable; a Jacobian is taken with respect to a "
                           "matrix, vector or scalar variable", wrt)
    if not f.has(wrt):
        raise MatcalcError(f"cannot differentiate with respect to {text(wrt)}: it does not "
                           f"occur in {text(f)}")
    return f, wrt, symbols


def _one_by_one(source, f, wrt, shapes, symbols):
    """(S, f, symbols) with a scalar variable s as the 1×1 matrix S it is (s = tr(S) where it
    meets scalars), as grad does; a matrix or vector variable unchanged."""
    if isinstance(wrt, sp.MatrixSymbol):
        return wrt, f, symbols
    one = sp.MatrixSymbol(wrt.name, 1, 1)
    if isinstance(source, str):
        parsed = parse(source, {**(shapes or {}), wrt.name: (1, 1)})
        return one, parsed.expr, dict(parsed.symbols)
    if any(wrt in e.body.free_symbols for e in f.atoms(Elementwise)):
        raise MatcalcError("{0} stands inside an entrywise function's body in {1}; give f "
                           "as text to differentiate with respect to it", wrt, f)
    return one, rebuild(f, lambda e: trace(one) if e == wrt else e), symbols


def jacobian(f, wrt, shapes=None, assume=(), layout="numerator"):
    """∂vec f/∂vec wrtᵀ of a vector- or matrix-valued f, identified from d vec f = J d vec X.

    For vectors the m×n Jacobian (numerator layout; `layout="denominator"` shows its
    transpose, "mixed" numerator for vector or matrix f and denominator for a scalar f);
    for matrices written with kron, vec and the commutation matrix. `shapes` and `assume` as
    in grad.

    >>> print(jacobian("A @ X", "X"))
    J = kron(eye(p), A)
    >>> print(jacobian("sigmoid(x)", "x").text())
    diag((1 - sigmoid(x))*sigmoid(x))
    """
    _layout_of(layout, False)
    source = f
    f, wrt, symbols = _jacobian_input(f, wrt, shapes, "jacobian")
    if isinstance(assume, str):
        assume = [assume]
    one, f1, symbols1 = _one_by_one(source, f, wrt, shapes, symbols)
    rules = tuple(_assumption(a, symbols1, f1) for a in assume)
    derivation = Derivation()
    j = jacobian_of(f1, one, derivation, rules)
    if one != wrt:          # a scalar s, differentiated as the 1×1 S: J read back in s
        j = read_back(j, {one: wrt}, not is_matrix(f) or f.shape == (1, 1))
        if not is_matrix(j):
            return Jacobian(f, wrt, j, derivation, layout, rules, symbols)
    rows = f.shape[0] * f.shape[1] if is_matrix(f) else 1
    if (j.shape[0] - rows, j.shape[1] - one.shape[0] * one.shape[1]) != (0, 0):
        raise InternalError(f"the Jacobian is {j.shape}, not |vec F|×|vec X|")
    return Jacobian(f, wrt, j, derivation, layout, rules, symbols)


def hessian(f, wrt, shapes=None, assume=(), form="product"):
    """The Hessian of a scalar f: the product H[V] (form "product", V a direction of X's
    shape), or the matrix ∂²f/∂vec X ∂vec Xᵀ (form "matrix"). Both come from the gradient
    (grad), differentiated once more: no second calculus.

    >>> print(hessian("tr(X.T @ A @ X)", "X"))
    H[V] = (A + A.T) @ V
    >>> print(hessian("x.T @ A @ x", "x", form="matrix"))
    H = A + A.T
    """
    if form not in ("product", "matrix"):
        raise MatcalcError(f"form must be 'product' or 'matrix', not {form!r}",
                           cli=f"--form takes product|matrix, not {form!r}")
    try:
        g = grad(f, wrt, shapes=shapes, assume=assume)
    except NotScalarError as e:
        raise NotScalarError(str(e).replace("a gradient needs", "a Hessian needs")) from None
    except TypeError as e:          # grad's check of the arguments, in this function's name
        raise TypeError(str(e).replace("grad:", "hessian:", 1)) from None
    taken = {str(s) for s in g.f.atoms(sp.MatrixSymbol) | g.f.free_symbols} | set(g.symbols)
    v = direction(g.wrt, taken)
    g1, v1 = g, v
    if not isinstance(g.wrt, sp.MatrixSymbol):     # a scalar s: differentiated as the 1×1 S
        one, f1, _ = _one_by_one(f, g.f, g.wrt, shapes, g.symbols)
        g1 = grad(f, one.name, {**(shapes or {}), one.name: (1, 1)}, assume) \
            if isinstance(f, str) else grad(f1, one, shapes, assume)
        v1 = sp.MatrixSymbol(v.name, 1, 1)
    if form == "product":
        h = hessian_vector_product(g1.expr, g1.wrt, v1, g1.derivation, g1.assumptions)
    else:
        h = hessian_matrix(g1.expr, g1.wrt, g1.derivation, g1.assumptions)
    if g1 is not g:
        h = read_back(h, {g1.wrt: g.wrt, v1: v}, True)
    return Hessian(g, v, h, form)
