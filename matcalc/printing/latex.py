"""The LaTeX printer: matrix expressions in textbook notation.

Printing (stage 4). Consumes the trees of expr.py, produces LaTeX for an amsmath document
(only amsmath and amssymb are needed). Products are juxtaposed (W X), Hadamard products
use \\odot, transposes ^{\\top}; the transpose of an inverse prints as X^{-\\top}. An
elementwise function prints from the table in functions.py (\\sigma\\left(Z\\right)); inside an
elementwise body, products of matrix-valued factors print with \\odot and powers as Hadamard
powers X^{\\circ 2}, so that nothing reads as a matrix product or power. Grouping follows
precedence (base.matrix_precedence), never the printed text. Unknown nodes raise NoRuleError.
"""
import re

from sympy import (HadamardProduct, Identity, Inverse, MatAdd, MatMul, MatrixSymbol, OneMatrix,
                   S, Transpose)
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf
from sympy.matrices.expressions.kronecker import KroneckerProduct
from sympy.core.sympify import _sympify
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE, precedence

from ..core.errors import NoRuleError
from ..core.expr import transpose
from ..core.functions import BY_CLASS, FUNCTIONS, T
from ..core.nodes import Differential, Elementwise, LogSoftmax, LogSumExp, Mean, Softmax
from ..core.kron import Commutation, Unvec, Vec
from ..core.extrema import MaxMask
from ..core.structure import (STRUCTURE_NODES, AvgPool, Fold, MaxPool, PoolMask, PoolRoute,
                              PoolSelect, PoolSpread, ToChannels, ToSamples, Unfold)
from ..core.terms import scaled_term, split_term
from .base import ElementwiseMixin, matrix_precedence
from .notation import OPERATORS

__all__ = ["MatcalcLatexPrinter", "latex", "LAYOUTS"]

# The operators' names, from the one table the report defines them by (notation.py).
_NAME = {cls: op.latex for cls, op in OPERATORS.items()}

_MUL = PRECEDENCE["Mul"]
_FUNC = PRECEDENCE["Func"]
LAYOUTS = ("denominator", "numerator")
# Names typed in ASCII that mean a Greek letter (lambda is a Python keyword).
_GREEK = {"lam": "lambda"}

# Nodes whose LaTeX may take a superscript directly (X^{\top}); others are grouped first.
# The structure nodes print as operator calls, \operatorname{unfold}_{3}\left(A\right).
_SUPERSCRIPTABLE = (MatrixSymbol, Differential, Identity, Softmax, LogSoftmax, LogSumExp, Mean,
                    DiagMatrix, DiagonalOf, Vec, Unvec, Commutation, *STRUCTURE_NODES)


class MatcalcLatexPrinter(ElementwiseMixin, LatexPrinter):
    """LatexPrinter with matcalc's matrix notation; setting `layout` as in `latex`."""
    _default_settings = {**LatexPrinter._default_settings, "layout": "denominator"}
    # Not SymPy's "_latex": the nodes' _latex hook (printing/hooks.py) calls this printer.
    printmethod = "_matcalc_latex"

    def __init__(self, settings=None):
        super().__init__(settings)
        if self._settings["layout"] not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, "
                             f"not {self._settings['layout']!r}")

    def doprint(self, expr):
        """In numerator layout a gradient (denominator layout, the shape of X) is transposed."""
        if self._settings["layout"] == "numerator" and getattr(expr, "is_Matrix", False):
            expr = transpose(expr)
        return super().doprint(expr)

    # ------------------------------------------------------------ strictness

    def _no_rule(self, e):
        name = type(e).__name__
        raise NoRuleError(f"{type(self).__name__} cannot print {name}; add _print_{name}")

    _print_MatrixExpr = _no_rule
    _print_Basic = _no_rule
    emptyPrinter = _no_rule

    def _print_NumberSymbol(self, e):
        return e._latex(self)    # π, e (GELU′ has √(2π)): SymPy's own, as our printmethod is not

    # ------------------------------------------------------------ helpers

    def _group(self, s):
        return r"\left(%s\right)" % s

    def _wrap(self, e, level, strict=False):
        """e printed, grouped when its precedence is below `level` (or equal, unless strict)."""
        p = matrix_precedence(e) if getattr(e, "is_Matrix", False) else precedence(e)
        if isinstance(e, KroneckerProduct):
            p = _MUL      # A \otimes B is an infix product here, a call in text and NumPy
        s = self._print(e)
        return self._group(s) if p < level or (not strict and p <= level) else s

    def _superscript_base(self, e):
        """e printed so that a superscript may follow it."""
        if isinstance(e, _SUPERSCRIPTABLE):
            return self._print(e)
        if isinstance(e, Elementwise) and matrix_precedence(e) >= _FUNC:
            return self._print(e)   # a function call, \sigma\left(Z\right)
        if isinstance(e, OneMatrix) and e.shape[0] != 1:
            return self._print(e)   # \mathbf{1}_{m\times n}; the row form already has ^{\top}
        return self._group(self._print(e))

    def _coeff_and(self, c, body):
        """c body, with c a scalar coefficient: 2 A, - A, \\left(a + b\\right) A."""
        if c == 1:
            return body
        if c.could_extract_minus_sign():
            return "- " + self._coeff_and(-c, body)
        return self.parenthesize(c, _MUL, strict=True) + " " + body

    # ------------------------------------------------------------ leaves

    def _print_MatrixSymbol(self, e):
        names = self._settings["symbol_names"]
        if e in names:
            return names[e]
        second = re.fullmatch(r"([A-Za-z])(\d+)([b-z]\d*)", e.name)   # P1b: a layer's second pool
        if second:
            return r"%s_{%s%s}" % second.groups()
        step = re.fullmatch(r"(.+)\[([^\[\]]+)\]", e.name)   # H1[t-1], a sequence's step
        if step:                # H_{1,t-1}: its name's subscript, then the step
            base = self._print_MatrixSymbol(MatrixSymbol(step.group(1), *e.shape))
            at = step.group(2).replace("-", " - ").replace("+", " + ")
            return base[:-1] + f",{at}}}" if base.endswith("}") and "_{" in base else \
                f"{base}_{{{at}}}"
        accented = re.fullmatch(r"delta_([A-Za-z]+(?:hat|tilde|bar)\d*)", e.name)
        if accented:            # delta_Xhat1: the δ of x̂₁, δ_{\hat{X}_{1}}
            return r"\delta_{%s}" % self._deal_with_super_sub(accented.group(1))
        return self._deal_with_super_sub(_GREEK.get(e.name, e.name))

    def _print_Differential(self, e):
        return r"\mathrm{d}" + self._print(e.var)

    def _print_Identity(self, e):
        return r"I_{%s}" % self._print(e.shape[0])

    def _print_ZeroMatrix(self, e):
        return "0"

    def _print_OneMatrix(self, e):
        m, n = e.shape
        if n == 1:
            return r"\mathbf{1}_{%s}" % self._print(m)
        if m == 1:
            return r"\mathbf{1}_{%s}^{\top}" % self._print(n)
        return r"\mathbf{1}_{%s\times %s}" % (self._print(m), self._print(n))

    # ------------------------------------------------------------ matrix operations

    def _print_MatMul(self, e):
        c, mats = split_term(e)
        if len(mats) == 1 and not isinstance(mats[0], HadamardProduct):
            body = self._wrap(mats[0], _MUL, strict=True)
        else:
            body = " ".join(self._wrap(m, _MUL) for m in mats)
        return self._coeff_and(c, body)

    def _print_MatAdd(self, e):
        out = []
        for i, t in enumerate(e.args):
            c, rest = split_term(t)
            if len(rest) == 1 and isinstance(rest[0], OneMatrix):
                rest = ()   # c·1 beside other terms: the scalar c, broadcast
            if c.could_extract_minus_sign():
                s = self._print_term(scaled_term(-c, rest))
                out.append(("- " if i == 0 else " - ") + s)
            else:
                out.append(("" if i == 0 else " + ") + self._print_term(scaled_term(c, rest)))
        return "".join(out)

    def _print_term(self, t):
        """A term after its sign: a scalar that is itself a sum is grouped."""
        if getattr(t, "is_Matrix", False):
            return self._print(t)
        return self.parenthesize(t, PRECEDENCE["Add"])

    def _print_HadamardProduct(self, e):
        return r" \odot ".join(self._hadamard_factor(f) for f in e.args)

    def _hadamard_factor(self, f):
        grouped = isinstance(f, (MatMul, MatAdd)) or matrix_precedence(f) < _MUL
        return self._group(self._print(f)) if grouped else self._print(f)

    def _print_Transpose(self, e):
        arg = e.arg
        if isinstance(arg, Inverse):
            return self._superscript_base(arg.arg) + r"^{-\top}"
        return self._superscript_base(arg) + r"^{\top}"

    def _print_Inverse(self, e):
        arg = e.arg
        if isinstance(arg, Transpose):
            return self._superscript_base(arg.arg) + r"^{-\top}"
        return self._superscript_base(arg) + "^{-1}"

    def _print_DiagMatrix(self, e):
        return r"\operatorname{diag}\left(%s\right)" % self._print(e.args[0])

    def _print_DiagonalOf(self, e):
        return r"\operatorname{diag}\left(%s\right)" % self._print(e.arg)

    def _axis(self, name, e):
        sub = r"_{\mathrm{row}}" if e.axis == 1 else ""
        return r"%s%s\left(%s\right)" % (name, sub, self._print(e.arg))

    def _print_Softmax(self, e):
        return self._axis(r"\operatorname{softmax}", e)

    def _print_LogSoftmax(self, e):
        return self._axis(r"\log\operatorname{softmax}", e)

    def _print_LogSumExp(self, e):
        return self._axis(r"\operatorname{logsumexp}", e)

    def _print_Mean(self, e):
        return self._axis(r"\operatorname{mean}", e)

    # ------------------------------------------------------------ convolutional structure
    # An operator with the window size as subscript, and the stride and padding where they
    # are not the defaults (stride 1 for a convolution, the window for a pooling; no padding).

    def _operator(self, name, sub, *args):
        call = ", ".join(self._print(a) for a in args)
        sub = "_{%s}" % sub if sub else ""
        return r"\operatorname{%s}%s\left(%s\right)" % (name, sub, call)

    @staticmethod
    def _conv_sub(g):
        return str(g.k) + (r",\,s=%d" % g.s if g.s != 1 else "") + \
            (r",\,p=%d" % g.p if g.p else "")

    @staticmethod
    def _pool_sub(g):
        return str(g.k) + (r",\,s=%d" % g.s if g.s != g.k else "")

    def _print_ToChannels(self, e):
        return self._operator(_NAME[ToChannels], "", e.arg)

    def _print_ToSamples(self, e):
        return self._operator(_NAME[ToSamples], "", e.arg)

    def _print_Unfold(self, e):
        return self._operator(_NAME[Unfold], self._conv_sub(e.geometry), e.arg)

    def _print_Fold(self, e):
        return self._operator(_NAME[Fold], self._conv_sub(e.geometry), e.arg)

    def _print_MaxPool(self, e):
        return self._operator(_NAME[MaxPool], self._pool_sub(e.geometry), e.arg)

    def _print_AvgPool(self, e):
        return self._operator(_NAME[AvgPool], self._pool_sub(e.geometry), e.arg)

    def _print_PoolSelect(self, e):
        return self._operator(_NAME[PoolSelect], self._pool_sub(e.geometry), e.data, e.arg)

    def _print_PoolRoute(self, e):
        return self._operator(_NAME[PoolRoute], self._pool_sub(e.geometry), e.data, e.arg)

    def _print_PoolSpread(self, e):
        g = e.geometry
        name = _NAME[PoolSpread] if g.s == g.k else "spread"
        return self._operator(name, self._pool_sub(g), e.arg)

    def _print_PoolMask(self, e):
        return self._operator(_NAME[PoolMask], self._pool_sub(e.geometry), e.arg)

    # ------------------------------------------------------------ vectorisation (core/kron.py)

    def _print_Vec(self, e):
        return self._operator("vec", "", e.arg)

    def _print_Unvec(self, e):
        return self._operator("unvec", self._print(e.rows), e.arg)

    def _print_KroneckerProduct(self, e):
        return r" \otimes ".join(self._wrap(a, _MUL) for a in e.args)

    def _print_Commutation(self, e):
        return "K_{%s, %s}" % (self._print(e.m), self._print(e.n))

    # ------------------------------------------------------------ scalar functions of a matrix

    def _print_Trace(self, e):
        return r"\operatorname{tr}\left(%s\right)" % self._print(e.arg)

    def _print_Determinant(self, e):
        return r"\det\left(%s\right)" % self._print(e.arg)

    def _print_LogDet(self, e):
        return r"\log\det\left(%s\right)" % self._print(e.arg)

    def _print_EntrySum(self, e):
        return r"\operatorname{sum}\left(%s\right)" % self._print(e.arg)

    def _print_FrobeniusNorm(self, e):
        return r"\left\lVert %s\right\rVert_{F}" % self._print(e.arg)

    # ------------------------------------------------------------ maxima and norms (core/extrema.py)

    def _print_MaxAlong(self, e):
        return r"\max_{\mathrm{%s}}\left(%s\right)" % (("col", "row")[e.axis],
                                                       self._print(e.arg))

    def _print_EntryMax(self, e):
        return r"\max\left(%s\right)" % self._print(e.arg)

    def _print_MaxMask(self, e):
        sub = "" if e.axis is None else r"\mathrm{%s}" % ("col", "row")[e.axis]
        return self._operator(_NAME[MaxMask], sub, e.arg)

    def _print_NuclearNorm(self, e):
        return r"\left\lVert %s\right\rVert_{*}" % self._print(e.arg)

    def _print_SpectralNorm(self, e):
        return r"\left\lVert %s\right\rVert_{2}" % self._print(e.arg)

    def _print_PolarFactor(self, e):
        return self._operator("polar", "", e.arg)

    def _print_TopSingular(self, e):
        return self._operator("top\\_singular", "", e.arg)

    # ------------------------------------------------------------ functions and bodies

    def _fn_call(self, name, arg):
        fn = FUNCTIONS.get(name)
        if fn is None:
            return self._hprint_Function(name) + r"\left(%s\right)" % arg
        if "{}" in fn.latex:
            return fn.latex.format(arg)
        return fn.latex + r"\left(%s\right)" % arg

    def _print_Function(self, e, exp=None):
        s = super()._print_Function(e)
        return s if exp is None else "%s^{%s}" % (s, exp)

    def _print_Symbol(self, e, style="plain"):
        if e == T and self._elementwise_args():
            return self._print_T()
        if e.name in _GREEK and e not in self._settings["symbol_names"]:
            return self._deal_with_super_sub(_GREEK[e.name])
        return LatexPrinter._print_Symbol(self, e, style=style)

    def _in_body(self, e):
        """Inside an elementwise body, and e depends on the matrix argument."""
        return bool(self._elementwise_args()) and T in e.free_symbols

    def _print_Mul(self, e):
        """In a body, factors that depend on the argument multiply entrywise: X \\odot σ(X)."""
        if not self._in_body(e):
            return super()._print_Mul(e)
        coeff = [f for f in e.args if T not in f.free_symbols]
        factors = [f for f in e.args if T in f.free_symbols]
        body = r" \odot ".join(self.parenthesize(f, _MUL) for f in factors)
        return self._coeff_and(e.func(*coeff) if coeff else S.One, body)

    def _print_Pow(self, e):
        """In a body, powers of the argument are Hadamard powers: X^{\\circ 2}."""
        if not self._in_body(e.base):
            return super()._print_Pow(e)
        if e.base == T:
            base = self._superscript_base(self._elementwise_args()[-1])
        elif e.base.is_Function:
            base = self._print(e.base)
        else:
            base = self._group(self._print(e.base))
        return r"%s^{\circ %s}" % (base, self._print(e.exp))


# Table functions print from the table, not through LatexPrinter's own forms (e^{X} would
# read as the matrix exponential): each class's _print_ method is _print_Function.
for _cls in BY_CLASS:
    setattr(MatcalcLatexPrinter, "_print_" + _cls.__name__, MatcalcLatexPrinter._print_Function)
del _cls


def latex(e, layout="denominator", names=None):
    r"""The expression in LaTeX (amsmath).

    `names` maps symbols to their LaTeX (dW1 to \\frac{\\partial L}{\\partial W_1}).
    `layout` says how a gradient is shown: matcalc computes gradients in denominator layout
    (∂L/∂X has the shape of X), printed as they are; "numerator" prints their transpose.

    >>> from matcalc.core.expr import matrix, matmul, transpose
    >>> A, X = matrix('A', 2, 3), matrix('X', 3, 4)
    >>> latex(matmul(2, transpose(A), A))
    '2 A^{\\top} A'
    """
    settings = {"layout": layout, "symbol_names": dict(names or {})}
    return MatcalcLatexPrinter(settings).doprint(_sympify(e))
