"""The text printer: expressions in the syntax matcalc parses (NumPy-like: @, *, .T).

Printing (stage 4). Consumes expressions, produces one line of text; `parse(text(e))` gives
back e (or, where an elementwise body prints as a product, σ(1 − σ) as A1*(1 - A1), an
expression equal to it entry by entry), so a printed result can be pasted back. Loading it
makes error messages of the core name their operands in this syntax (core/errors.py).
"""
from sympy import HadamardProduct, MatAdd, MatMul, OneMatrix, S
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from ..core.errors import show_operands_with
from ..core.functions import T
from ..core.nodes import Elementwise
from ..core.terms import scaled_term, split_term
from .base import ElementwiseMixin, matrix_precedence

_MUL = PRECEDENCE["Mul"]


class TextPrinter(ElementwiseMixin, StrPrinter):
    printmethod = "_matcalc_text"

    def _fn_call(self, name, arg):
        return f"{name}({arg})"

    def _wrap(self, e, level, strict=False):
        p = matrix_precedence(e) if getattr(e, "is_Matrix", False) else precedence(e)
        s = self._print(e)
        return f"({s})" if p < level or (not strict and p <= level) else s

    def _coeff_and(self, c, body):
        if c == 1:
            return body
        if c == -1:
            return "-" + body
        return self.parenthesize(c, _MUL, strict=True) + "*" + body

    def _print_MatMul(self, e):
        c, mats = split_term(e)
        if len(mats) == 1 and not isinstance(mats[0], HadamardProduct):
            body = self._wrap(mats[0], _MUL, strict=True)
        else:
            body = " @ ".join(self._wrap(m, _MUL) for m in mats)
        return self._coeff_and(c, body)

    def _print_HadamardProduct(self, e):
        num, den = [], []
        for f in e.args:   # f * 1/g prints as f / g
            k = _reciprocal_power(f)
            if k is not None:
                den.append(f.arg if k == 1 else Elementwise(T ** k, f.arg))
            else:
                num.append(f)
        s = " * ".join(self._factor(f) for f in num) if num else "1"
        return s + "".join(" / " + self._wrap(f, _MUL, strict=False) for f in den)

    def _factor(self, f):
        grouped = isinstance(f, (MatMul, MatAdd)) or matrix_precedence(f) < _MUL
        return f"({self._print(f)})" if grouped else self._print(f)

    def _print_MatAdd(self, e):
        out = []
        for i, t in enumerate(e.args):
            c, rest = split_term(t)
            if len(rest) == 1 and isinstance(rest[0], OneMatrix):
                t = c   # c·1 beside other terms: the scalar c, broadcast
                rest = ()
            if c.could_extract_minus_sign():
                neg = scaled_term(-c, rest)
                # a subtracted sum is grouped: A - (lam + 1)
                out.append(("-" if i == 0 else " - ") + self._wrap(neg, PRECEDENCE["Add"]))
            else:
                out.append(("" if i == 0 else " + ") + self._print(t))
        return "".join(out)

    def _print_Pow(self, e, rational=False):
        """sqrt(A @ X) with the argument printed once, not sqrt((A @ X))."""
        stack = self._elementwise_args()
        if e.base == T and stack and e.exp in (S.Half, -S.Half):
            root = f"sqrt({self._print(stack[-1])})"
            return root if e.exp == S.Half else f"1/{root}"
        return super()._print_Pow(e, rational=rational)

    def _print_Transpose(self, e):
        return self._wrap(e.arg, PRECEDENCE["Func"], strict=True) + ".T"

    def _print_MatrixSymbol(self, e):
        return e.name

    def _print_Differential(self, e):
        return "d" + self._print(e.var)

    def _print_Inverse(self, e):
        return f"inv({self._print(e.arg)})"

    def _print_Trace(self, e):
        return f"tr({self._print(e.arg)})"

    def _print_Determinant(self, e):
        return f"det({self._print(e.arg)})"

    def _print_LogDet(self, e):
        return f"logdet({self._print(e.arg)})"

    def _print_EntrySum(self, e):
        return f"sum({self._print(e.arg)})"

    def _print_FrobeniusNorm(self, e):
        return f"norm({self._print(e.arg)})"

    def _print_OneMatrix(self, e):
        return f"ones({self._print(e.shape[0])}, {self._print(e.shape[1])})"

    def _print_ZeroMatrix(self, e):
        return f"zeros({self._print(e.shape[0])}, {self._print(e.shape[1])})"

    def _print_Identity(self, e):
        return f"eye({self._print(e.shape[0])})"

    def _print_DiagMatrix(self, e):
        return f"diag({self._print(e.args[0])})"

    def _print_DiagonalOf(self, e):
        return f"diag({self._print(e.arg)})"

    def _axis(self, name, e):
        extra = f", axis={e.axis}" if e.axis != 0 else ""
        return f"{name}({self._print(e.arg)}{extra})"

    def _print_Softmax(self, e):
        return self._axis("softmax", e)

    def _print_LogSoftmax(self, e):
        return self._axis("logsoftmax", e)

    def _print_LogSumExp(self, e):
        return self._axis("logsumexp", e)

    def _print_Mean(self, e):
        return self._axis("mean", e)

    # ------------------------------------------------------------ convolutional structure
    # The geometry a reader cannot infer is stated: the kernel, a stride other than the
    # default (1 for a convolution, the window for a pooling), a padding other than 0.

    def _conv_params(self, g):
        return f"k={g.k}" + (f", stride={g.s}" if g.s != 1 else "") + \
            (f", pad={g.p}" if g.p else "")

    def _pool_params(self, g):
        return f"{g.k}" + (f", stride={g.s}" if g.s != g.k else "")

    def _print_ToChannels(self, e):
        return f"to_channels({self._print(e.arg)})"

    def _print_ToSamples(self, e):
        return f"to_samples({self._print(e.arg)})"

    def _print_Unfold(self, e):
        return f"unfold({self._print(e.arg)}, {self._conv_params(e.geometry)})"

    def _print_Fold(self, e):
        return f"fold({self._print(e.arg)}, {self._conv_params(e.geometry)})"

    def _print_MaxPool(self, e):
        return f"maxpool({self._print(e.arg)}, {self._pool_params(e.geometry)})"

    def _print_AvgPool(self, e):
        return f"avgpool({self._print(e.arg)}, {self._pool_params(e.geometry)})"

    def _print_PoolSelect(self, e):
        return (f"pool_select({self._print(e.data)}, {self._print(e.arg)}, "
                f"{self._pool_params(e.geometry)})")

    def _print_PoolRoute(self, e):
        return (f"pool_route({self._print(e.data)}, {self._print(e.arg)}, "
                f"{self._pool_params(e.geometry)})")

    def _print_PoolSpread(self, e):
        g = e.geometry
        if g.s == g.k:
            return f"upsample({self._print(e.arg)}, {g.k})"
        return f"spread({self._print(e.arg)}, {g.k}, stride={g.s})"

    def _print_PoolMask(self, e):
        return f"poolmask({self._print(e.arg)}, {self._pool_params(e.geometry)})"

    # ------------------------------------------------------------ vectorisation (core/kron.py)

    def _print_Vec(self, e):
        return f"vec({self._print(e.arg)})"

    def _print_Unvec(self, e):
        return f"unvec({self._print(e.arg)}, {self._print(e.rows)})"

    def _print_KroneckerProduct(self, e):
        return "kron(%s)" % ", ".join(self._print(a) for a in e.args)

    def _print_Commutation(self, e):
        return f"commutation({self._print(e.m)}, {self._print(e.n)})"

    # ------------------------------------------------------------ maxima and norms (core/extrema.py)

    def _print_MaxAlong(self, e):
        return f"max({self._print(e.arg)}, axis={e.axis})"

    def _print_EntryMax(self, e):
        return f"max({self._print(e.arg)})"

    def _print_MaxMask(self, e):
        extra = "" if e.axis is None else f", axis={e.axis}"
        return f"maxmask({self._print(e.arg)}{extra})"

    def _print_NuclearNorm(self, e):
        return f"norm({self._print(e.arg)}, 'nuc')"

    def _print_SpectralNorm(self, e):
        return f"norm({self._print(e.arg)}, 2)"

    def _print_PolarFactor(self, e):
        return f"polar({self._print(e.arg)})"

    def _print_TopSingular(self, e):
        return f"top_singular({self._print(e.arg)})"


def _reciprocal_power(f):
    """k when f is the entrywise power g**(-k), else None."""
    if isinstance(f, Elementwise) and f.body.is_Pow and f.body.base == T:
        k = -f.body.exp
        if k.is_positive:
            return k
    return None


def text(e):
    """The expression in matcalc's text syntax."""
    return TextPrinter().doprint(e)


show_operands_with(text)     # error messages name their operands in this syntax
