"""Broadcasting forms of NumPy code: sums, entrywise products, transposes and products.

Printing (stage 4), the part of the NumPy printer (printing/numpy.py) that keeps all-ones
matrices out of the code. Besides its plain form (`_print_X`, an array of the node's own
shape), a node may have a loose form (`_loose_X`): an array that broadcasts to it (`b` for
b 1ᵀ, `1` for the all-ones matrix). Sums and entrywise products combine loose forms, and the
result is materialised (np.broadcast_to, np.full) only when no operand supplies the full
shape. A product with all-ones factors is a column times a row (L 1 R = (L 1)(1ᵀ R): row
and column sums), diag(v) M is `v * M`.

Masks: a function with a `mask` spelling in functions.py (step: `(Z > 0)`, a boolean array)
prints as that mask only as a factor of a product that has a numeric factor printed before
it (`G * (Z > 0)`, `relu(Z)*(Z > 0)`); everywhere else, where a boolean would be negated,
subtracted, added, powered or returned, it prints as its numeric spelling (np.heaviside).
"""
from typing import NamedTuple

from sympy import Identity, OneMatrix, S
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.printing.precedence import PRECEDENCE, precedence

from ..core.functions import BY_CLASS, FUNCTIONS, T
from ..core.nodes import Elementwise
from ..core.terms import scaled_term, split_term
from .base import matrix_precedence

__all__ = ["LooseForms", "Code", "mask_spelling", "broadcast", "ADD", "MUL", "FUNC", "ATOM"]

ADD, MUL = PRECEDENCE["Add"], PRECEDENCE["Mul"]
FUNC, ATOM = PRECEDENCE["Func"], PRECEDENCE["Atom"]


class Code(NamedTuple):
    """Printed code, its precedence, and the shape of the array it evaluates to:
    1 on an axis along which it broadcasts, () for a scalar."""
    text: str
    prec: int
    shape: tuple


class LooseForms:
    """The loose forms and their materialisation, for MatcalcNumPyPrinter (see the module
    docstring); `_print_X` of sums, entrywise products, transposes and products are their
    strict forms."""

    # ------------------------------------------------------------ loose forms and precedence

    def _loose(self, e):
        """A Code for e that may broadcast to e (see the module docstring)."""
        for cls in type(e).__mro__:      # _loose_<Class> over the MRO, as _print_<Class>
            method = getattr(self, "_loose_" + cls.__name__, None)
            if method is not None:
                return method(e)
        return Code(self._print(e), self._prec(e), tuple(e.shape))

    def _strict(self, e):
        """A Code for e with the shape of e."""
        return self._materialise(self._loose(e), e.shape)

    def _materialise(self, c, shape):
        shape = tuple(shape)
        if c.shape == shape:
            return c
        if c.shape == ():
            return Code("%s(%s, %s, dtype=float)" % (self._module_format("numpy.full"),
                                                      self._shape(shape), c.text), ATOM, shape)
        return Code("%s(%s, %s)" % (self._module_format("numpy.broadcast_to"), c.text,
                                     self._shape(shape)), ATOM, shape)

    def _prec(self, e):
        """Precedence of a node printed by _print_X (nodes without a loose form)."""
        if isinstance(e, Elementwise):
            b = e.body
            if b.is_Pow and b.exp in (-1, -S.Half):
                return MUL   # printed as 1/x, 1/np.sqrt(x)
            return matrix_precedence(e)
        return ATOM

    @staticmethod
    def _paren(c, level, strict=False):
        """The text of c, grouped when its precedence is below level (or equal, unless strict)."""
        return "(%s)" % c.text if c.prec < level or (not strict and c.prec <= level) else c.text

    def _shape(self, shape):
        return "(%s)" % ", ".join(self._print(d) for d in shape)

    def _scalar(self, c):
        return Code(self._print(c), precedence(c), ())

    def _scale(self, c, code):
        """c * code for a scalar coefficient c; `2 * A @ B` relies on left association."""
        if c == 1:
            return code
        if c == -1:
            return Code("-" + self._paren(code, MUL, strict=True), ADD, code.shape)
        coeff = self._paren(self._scalar(c), MUL, strict=True)
        prec = ADD if c.could_extract_minus_sign() else MUL
        return Code(f"{coeff} * {self._paren(code, MUL, strict=True)}", prec, code.shape)

    def _loose_OneMatrix(self, e):
        return Code("1", ATOM, ())

    def _loose_ZeroMatrix(self, e):
        return Code("0", ATOM, ())

    # ------------------------------------------------------------ sums and entrywise products

    def _print_MatAdd(self, e):
        return self._strict(e).text

    def _loose_MatAdd(self, e):
        terms = []
        for t in e.args:
            c, rest = split_term(t)
            neg = c.could_extract_minus_sign()
            term = scaled_term(-c if neg else c, rest)
            code = self._loose(term) if term.is_Matrix else self._scalar(term)
            terms.append((neg, code))
        full = tuple(e.shape)
        # Full-shape terms first, broadcast ones after: W @ X + b, 1 - s.
        terms.sort(key=lambda t: (t[0], t[1].shape != full))
        out = []
        for i, (neg, code) in enumerate(terms):
            if neg:
                out.append(("-" if i == 0 else " - ") + self._paren(code, ADD))
            else:
                out.append(("" if i == 0 else " + ") + self._paren(code, ADD, strict=True))
        return Code("".join(out), ADD, broadcast(c.shape for _, c in terms))

    def _print_HadamardProduct(self, e):
        return self._strict(e).text

    def _loose_HadamardProduct(self, e):
        num, den, masks = [], [], []
        for f in e.args:   # f * g**-k prints as f / g**k
            b = f.body if isinstance(f, Elementwise) else None
            if b is not None and b.is_Pow and b.base == T and b.exp.is_negative:
                g = f.arg if b.exp == -1 else Elementwise(T ** -b.exp, f.arg)
                den.append(self._loose(g))
            elif b is not None and mask_spelling(b) and b.args == (T,):
                masks.append(f)
            else:
                num.append(self._loose(f))
        if not num and masks:           # a product of masks alone: the first one a number
            num.append(self._loose(masks.pop(0)))
        # masks after a numeric factor: G * (Z > 0), never -(Z > 0) * G
        num += [Code(mask_spelling(f.body).format(self._print(f.arg)), ATOM, tuple(f.shape))
                for f in masks]
        parts = [self._paren(c, MUL, strict=(i == 0)) for i, c in enumerate(num)]
        s = " * ".join(parts) if parts else "1"
        s += "".join(" / " + self._paren(c, MUL) for c in den)
        prec = num[0].prec if len(num) == 1 and not den else MUL
        return Code(s, prec, broadcast(c.shape for c in num + den))

    def _print_Transpose(self, e):
        return self._strict(e).text

    def _loose_Transpose(self, e):
        c = self._loose(e.arg)
        if c.shape == ():
            return c
        return Code(self._paren(c, FUNC, strict=True) + ".T", ATOM, c.shape[::-1])

    # ------------------------------------------------------------ products

    def _print_MatMul(self, e):
        return self._strict(e).text

    def _loose_MatMul(self, e):
        c, mats = split_term(e)
        mats = [m for m in mats if not isinstance(m, Identity)] or list(mats[:1])
        if any(isinstance(m, OneMatrix) for m in mats):
            return self._ones_product(c, mats, tuple(e.shape))
        if len(mats) == 1:
            return self._scale(c, self._loose(mats[0]))
        return self._scale(c, self._chain(mats, tuple(e.shape)))

    def _chain(self, items, shape):
        """A @ B @ …, with diag(v) folded into its neighbour: diag(v) M -> v * M,
        M diag(v) -> M * v.T (left association makes `A @ B * v.T` mean (A B) diag(v)).
        Items are matrices or ready _Codes."""
        pre, head, rest = [], None, []
        for it in items:
            if isinstance(it, DiagMatrix):
                v = self._diag_column(it)
                if head is None:
                    pre.append(v)
                else:
                    rest.append(" * " + self._paren(v, FUNC, strict=True) + ".T")
                continue
            k = it if isinstance(it, Code) else self._strict(it)
            if head is None:
                head = k
            else:
                rest.append(" @ " + self._paren(k, MUL))
        if head is None:   # only diagonal factors
            inner = " * ".join(self._paren(v, MUL, strict=(i == 0)) for i, v in enumerate(pre))
            return Code("%s(%s)" % (self._module_format("numpy.diagflat"), inner), ATOM, shape)
        if not pre and not rest:
            return Code(head.text, head.prec, shape)
        s = "".join(self._paren(v, MUL) + " * " for v in pre) + self._paren(head, MUL)
        return Code(s + "".join(rest), MUL, shape)

    def _diag_column(self, d):
        v = d.args[0]
        if v.shape[1] == 1:
            return self._strict(v)
        return Code(self._paren(self._strict(v), FUNC, strict=True) + ".T", ATOM,
                     (v.shape[1], v.shape[0]))

    def _axis_sum(self, m, axis):
        """Column sums (axis 0, a row) or row sums (axis 1, a column) of one factor."""
        if isinstance(m, DiagMatrix):
            v = self._diag_column(m)
            if axis == 1:
                return v
            return Code(self._paren(v, FUNC, strict=True) + ".T", ATOM, v.shape[::-1])
        if m.shape[axis] == 1:
            return self._strict(m)   # a vector along the summed axis is its own sum
        shape = (S.One, m.shape[1]) if axis == 0 else (m.shape[0], S.One)
        return Code(self._paren(self._strict(m), FUNC, strict=True) +
                     f".sum(axis={axis}, keepdims=True)", ATOM, shape)

    def _ones_product(self, c, mats, shape):
        """A 1 B … with all-ones factors: L 1_{k×l} R = (L 1)(1ᵀ R), a column times a row;
        1ᵀ M 1 between two all-ones factors is the scalar sum(M)."""
        at = [i for i, m in enumerate(mats) if isinstance(m, OneMatrix)]
        parts = []
        for a, b in zip(at, at[1:]):
            mid = mats[a + 1:b]
            if mid:
                inner = self._chain(mid, (mid[0].shape[0], mid[-1].shape[1]))
                parts.append(Code("%s(%s)" % (self._module_format("numpy.sum"), inner.text),
                                   ATOM, ()))
            else:   # 1_{k×l} 1_{l×q} = l 1_{k×q}
                parts.append(self._scalar(mats[a].shape[1]))
        left, right = mats[:at[0]], mats[at[-1] + 1:]
        rows = cols = S.One
        if left:   # L 1 = L[:-1] @ (row sums of the last factor)
            rows = shape[0]
            last = self._axis_sum(left[-1], 1)
            parts.append(last if len(left) == 1 else
                         self._chain(left[:-1] + [last], (rows, S.One)))
        if right:  # 1ᵀ R = (column sums of the first factor) @ R[1:]
            cols = shape[1]
            first = self._axis_sum(right[0], 0)
            parts.append(first if len(right) == 1 else
                         self._chain([first] + right[1:], (S.One, cols)))
        if not parts:
            return self._scalar(c)
        out_shape = () if not (left or right) else (rows, cols)
        if len(parts) == 1:
            code = Code(parts[0].text, parts[0].prec, out_shape)
        else:
            code = Code(" * ".join(self._paren(p, MUL, strict=(i == 0))
                                    for i, p in enumerate(parts)), MUL, out_shape)
        return self._scale(c, code)


def mask_spelling(f):
    """The mask spelling of a function node (functions.py's `mask`), or None."""
    name = BY_CLASS.get(type(f))
    return FUNCTIONS[name].mask if name is not None else None

def broadcast(shapes):
    """The NumPy broadcast of 2-D (or scalar ()) shapes."""
    out = ()
    for s in shapes:
        if s == ():
            continue
        if out == ():
            out = tuple(s)
            continue
        out = tuple(b if a == 1 else a for a, b in zip(out, s))
    return out
