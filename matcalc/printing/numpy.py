"""The NumPy printer: matrix expressions as NumPy source.

Printing (stage 4). Consumes the trees of expr.py, produces code that uses `np`: `@` for
products, `.T`, broadcasting instead of all-ones matrices (W X + b 1ᵀ is `W @ X + b`, G 1 is
`G.sum(axis=1, keepdims=True)`), `v * M` instead of diag(v) M, and max-shifted softmax,
log-softmax and logsumexp helpers (printing/runtime.py holds every helper). Strict: a node
without a rule raises NoRuleError, never partial code.

Broadcasting: besides its plain form (`_print_X`, an array of the node's own shape), a node
may have a loose form (`_loose_X`): an array that broadcasts to it (`b` for b 1ᵀ, `1` for the
all-ones matrix). Sums and entrywise products combine loose forms, and the result is
materialised (np.broadcast_to, np.full) only when no operand supplies the full shape.

Masks: a function with a `mask` spelling in functions.py (step: `(Z > 0)`, a boolean array)
prints as that mask only as a factor of a product that has a numeric factor printed before
it (`G * (Z > 0)`, `relu(Z)*(Z > 0)`); everywhere else, where a boolean would be negated,
subtracted, added, powered or returned, it prints as its numeric spelling (np.heaviside).
"""
import keyword
from typing import NamedTuple

from sympy import HadamardProduct, Identity, Mul, OneMatrix, S
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.core.sympify import _sympify
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.pycode import PythonCodePrinter, _print_known_func

from ..core.errors import NoRuleError
from ..core.functions import BY_CLASS, FUNCTIONS, T
from ..core.nodes import Elementwise
from .base import ElementwiseMixin, matrix_precedence, scaled_term, split_term
from .runtime import HELPERS, numpy_helpers   # the runtime; re-exported for its users

__all__ = ["MatcalcNumPyPrinter", "numpy_code", "numpy_imports", "numpy_helpers", "HELPERS"]

_ADD, _MUL = PRECEDENCE["Add"], PRECEDENCE["Mul"]
_FUNC, _ATOM = PRECEDENCE["Func"], PRECEDENCE["Atom"]


class _Code(NamedTuple):
    """Printed code, its precedence, and the shape of the array it evaluates to:
    1 on an axis along which it broadcasts, () for a scalar."""
    text: str
    prec: int
    shape: tuple


class MatcalcNumPyPrinter(ElementwiseMixin, NumPyPrinter):
    """NumPyPrinter for matcalc's nodes; the module alias is `np`.

    After printing, `module_imports` holds the modules used and `helpers_used` the helper
    functions (see HELPERS) the code calls; `symbols_printed` every Symbol it printed.
    `names` renames variables in the code ({"np": "np_"}: a variable that would shadow NumPy).
    """

    def __init__(self, settings=None, names=None):
        super().__init__(settings)
        # Not SymPy's "_numpycode": the nodes' hook of that name (printing/hooks.py) calls us.
        self.printmethod = "_matcalc_numpy"
        self.helpers_used = set()
        self.symbols_printed = set()
        self.names = dict(names or {})

    # ------------------------------------------------------------ strictness and modules

    def _no_rule(self, e, *args, **kwargs):
        name = type(e).__name__
        raise NoRuleError(f"{type(self).__name__} cannot print {name}; add _print_{name}")

    _print_MatrixExpr = _no_rule
    _print_Basic = _no_rule
    _print_Expr = _no_rule
    _print_not_supported = _no_rule
    emptyPrinter = _no_rule

    def _module_format(self, fqn, register=True):
        """numpy.linalg.inv -> np.linalg.inv, recorded in module_imports."""
        s = super()._module_format(fqn, register)
        return "np" + s[len("numpy"):] if s.startswith("numpy.") else s

    HELPERS = HELPERS   # a subclass for another library gives its own (printing/tabled.py)

    def _helper(self, name):
        self.helpers_used.add(name)
        self.helpers_used.update(HELPERS[name][1])
        self.module_imports.setdefault("numpy", set())   # the helpers use np
        return name

    # ------------------------------------------------------------ pieces codegen composes
    # (codegen/inplace.py spells the in-place statements of planned kernels with these)

    def code(self, e):
        """e's code, as inside a larger expression."""
        return self._print(e)

    def loose_code(self, e):
        """e's code in a form that may broadcast to e's shape (`b` for b 1ᵀ)."""
        return self._loose(_sympify(e)).text

    def helper(self, name):
        """The helper `name`, recorded as used (see HELPERS)."""
        return self._helper(name)

    # ------------------------------------------------------------ loose forms and precedence

    def _loose(self, e):
        """A _Code for e that may broadcast to e (see the module docstring)."""
        for cls in type(e).__mro__:      # _loose_<Class> over the MRO, as _print_<Class>
            method = getattr(self, "_loose_" + cls.__name__, None)
            if method is not None:
                return method(e)
        return _Code(self._print(e), self._prec(e), tuple(e.shape))

    def _strict(self, e):
        """A _Code for e with the shape of e."""
        return self._materialise(self._loose(e), e.shape)

    def _materialise(self, c, shape):
        shape = tuple(shape)
        if c.shape == shape:
            return c
        if c.shape == ():
            return _Code("%s(%s, %s, dtype=float)" % (self._module_format("numpy.full"),
                                                      self._shape(shape), c.text), _ATOM, shape)
        return _Code("%s(%s, %s)" % (self._module_format("numpy.broadcast_to"), c.text,
                                     self._shape(shape)), _ATOM, shape)

    def _prec(self, e):
        """Precedence of a node printed by _print_X (nodes without a loose form)."""
        if isinstance(e, Elementwise):
            b = e.body
            if b.is_Pow and b.exp in (-1, -S.Half):
                return _MUL   # printed as 1/x, 1/np.sqrt(x)
            return matrix_precedence(e)
        return _ATOM

    @staticmethod
    def _paren(c, level, strict=False):
        """The text of c, grouped when its precedence is below level (or equal, unless strict)."""
        return "(%s)" % c.text if c.prec < level or (not strict and c.prec <= level) else c.text

    def _shape(self, shape):
        return "(%s)" % ", ".join(self._print(d) for d in shape)

    def _scalar(self, c):
        return _Code(self._print(c), precedence(c), ())

    def _scale(self, c, code):
        """c * code for a scalar coefficient c; `2 * A @ B` relies on left association."""
        if c == 1:
            return code
        if c == -1:
            return _Code("-" + self._paren(code, _MUL, strict=True), _ADD, code.shape)
        coeff = self._paren(self._scalar(c), _MUL, strict=True)
        prec = _ADD if c.could_extract_minus_sign() else _MUL
        return _Code(f"{coeff} * {self._paren(code, _MUL, strict=True)}", prec, code.shape)

    # ------------------------------------------------------------ leaves

    def _print_Symbol(self, e):
        if e != T:
            self.symbols_printed.add(e)
            if e.name in self.names:
                return self.names[e.name]
        return super()._print_Symbol(e)

    def _identifier(self, e, name):
        if not name.isidentifier() or keyword.iskeyword(name):
            raise NoRuleError(f"{type(self).__name__} cannot print {type(e).__name__} "
                              f"{name!r}: it is not a Python identifier; rename it")
        return name

    def _print_MatrixSymbol(self, e):
        return self._identifier(e, self.names.get(e.name, e.name))

    def _print_Differential(self, e):
        return self._identifier(e, "d" + self._print(e.var))

    def _print_Identity(self, e):
        return "%s(%s)" % (self._module_format("numpy.eye"), self._print(e.shape[0]))

    def _print_OneMatrix(self, e):
        return "%s(%s)" % (self._module_format("numpy.ones"), self._shape(e.shape))

    def _print_ZeroMatrix(self, e):
        return "%s(%s)" % (self._module_format("numpy.zeros"), self._shape(e.shape))

    def _loose_OneMatrix(self, e):
        return _Code("1", _ATOM, ())

    def _loose_ZeroMatrix(self, e):
        return _Code("0", _ATOM, ())

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
                out.append(("-" if i == 0 else " - ") + self._paren(code, _ADD))
            else:
                out.append(("" if i == 0 else " + ") + self._paren(code, _ADD, strict=True))
        return _Code("".join(out), _ADD, _broadcast(c.shape for _, c in terms))

    def _print_HadamardProduct(self, e):
        return self._strict(e).text

    def _loose_HadamardProduct(self, e):
        num, den, masks = [], [], []
        for f in e.args:   # f * g**-k prints as f / g**k
            b = f.body if isinstance(f, Elementwise) else None
            if b is not None and b.is_Pow and b.base == T and b.exp.is_negative:
                g = f.arg if b.exp == -1 else Elementwise(T ** -b.exp, f.arg)
                den.append(self._loose(g))
            elif b is not None and _mask_spelling(b) and b.args == (T,):
                masks.append(f)
            else:
                num.append(self._loose(f))
        if not num and masks:           # a product of masks alone: the first one a number
            num.append(self._loose(masks.pop(0)))
        # masks after a numeric factor: G * (Z > 0), never -(Z > 0) * G
        num += [_Code(_mask_spelling(f.body).format(self._print(f.arg)), _ATOM, tuple(f.shape))
                for f in masks]
        parts = [self._paren(c, _MUL, strict=(i == 0)) for i, c in enumerate(num)]
        s = " * ".join(parts) if parts else "1"
        s += "".join(" / " + self._paren(c, _MUL) for c in den)
        prec = num[0].prec if len(num) == 1 and not den else _MUL
        return _Code(s, prec, _broadcast(c.shape for c in num + den))

    def _print_Transpose(self, e):
        return self._strict(e).text

    def _loose_Transpose(self, e):
        c = self._loose(e.arg)
        if c.shape == ():
            return c
        return _Code(self._paren(c, _FUNC, strict=True) + ".T", _ATOM, c.shape[::-1])

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
                    rest.append(" * " + self._paren(v, _FUNC, strict=True) + ".T")
                continue
            k = it if isinstance(it, _Code) else self._strict(it)
            if head is None:
                head = k
            else:
                rest.append(" @ " + self._paren(k, _MUL))
        if head is None:   # only diagonal factors
            inner = " * ".join(self._paren(v, _MUL, strict=(i == 0)) for i, v in enumerate(pre))
            return _Code("%s(%s)" % (self._module_format("numpy.diagflat"), inner), _ATOM, shape)
        if not pre and not rest:
            return _Code(head.text, head.prec, shape)
        s = "".join(self._paren(v, _MUL) + " * " for v in pre) + self._paren(head, _MUL)
        return _Code(s + "".join(rest), _MUL, shape)

    def _diag_column(self, d):
        v = d.args[0]
        if v.shape[1] == 1:
            return self._strict(v)
        return _Code(self._paren(self._strict(v), _FUNC, strict=True) + ".T", _ATOM,
                     (v.shape[1], v.shape[0]))

    def _axis_sum(self, m, axis):
        """Column sums (axis 0, a row) or row sums (axis 1, a column) of one factor."""
        if isinstance(m, DiagMatrix):
            v = self._diag_column(m)
            if axis == 1:
                return v
            return _Code(self._paren(v, _FUNC, strict=True) + ".T", _ATOM, v.shape[::-1])
        if m.shape[axis] == 1:
            return self._strict(m)   # a vector along the summed axis is its own sum
        shape = (S.One, m.shape[1]) if axis == 0 else (m.shape[0], S.One)
        return _Code(self._paren(self._strict(m), _FUNC, strict=True) +
                     f".sum(axis={axis}, keepdims=True)", _ATOM, shape)

    def _ones_product(self, c, mats, shape):
        """A 1 B … with all-ones factors: L 1_{k×l} R = (L 1)(1ᵀ R), a column times a row;
        1ᵀ M 1 between two all-ones factors is the scalar sum(M)."""
        at = [i for i, m in enumerate(mats) if isinstance(m, OneMatrix)]
        parts = []
        for a, b in zip(at, at[1:]):
            mid = mats[a + 1:b]
            if mid:
                inner = self._chain(mid, (mid[0].shape[0], mid[-1].shape[1]))
                parts.append(_Code("%s(%s)" % (self._module_format("numpy.sum"), inner.text),
                                   _ATOM, ()))
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
            code = _Code(parts[0].text, parts[0].prec, out_shape)
        else:
            code = _Code(" * ".join(self._paren(p, _MUL, strict=(i == 0))
                                    for i, p in enumerate(parts)), _MUL, out_shape)
        return self._scale(c, code)

    # ------------------------------------------------------------ other matrix nodes

    def _print_Inverse(self, e):
        return "%s(%s)" % (self._module_format("numpy.linalg.inv"), self._print(e.arg))

    def _print_DiagMatrix(self, e):
        return "%s(%s)" % (self._module_format("numpy.diagflat"), self._print(e.args[0]))

    def _print_DiagonalOf(self, e):
        return "%s(%s)[:, None]" % (self._module_format("numpy.diag"), self._print(e.arg))

    def _print_Softmax(self, e):
        return f"{self._helper('_softmax')}({self._print(e.arg)}, axis={e.axis})"

    def _print_LogSoftmax(self, e):
        return f"{self._helper('_logsoftmax')}({self._print(e.arg)}, axis={e.axis})"

    def _print_LogSumExp(self, e):
        return f"{self._helper('_logsumexp')}({self._print(e.arg)}, axis={e.axis})"

    # ------------------------------------------------------------ convolutional structure
    # One helper call per node, its geometry as ints (the batch N is read from the shapes):
    # _unfold(A0, C, H, W, k, s, p), _maxpool(A1, C, H, W, k, s), _to_samples(P1, C, H, W).

    def _structure_call(self, helper, args, geometry):
        call = ", ".join([self._print(a) for a in args] + [str(v) for v in geometry])
        return f"{self._helper(helper)}({call})"

    def _print_ToChannels(self, e):
        g = e.geometry
        return self._structure_call("_to_channels", [e.arg], (g.C, g.H, g.W))

    def _print_ToSamples(self, e):
        g = e.geometry
        return self._structure_call("_to_samples", [e.arg], (g.C, g.H, g.W))

    def _print_Unfold(self, e):
        return self._structure_call("_unfold", [e.arg], e.geometry.as_tuple())

    def _print_Fold(self, e):
        return self._structure_call("_fold", [e.arg], e.geometry.as_tuple())

    def _print_MaxPool(self, e):
        return self._structure_call("_maxpool", [e.arg], e.geometry.as_tuple())

    def _print_AvgPool(self, e):
        return self._structure_call("_avgpool", [e.arg], e.geometry.as_tuple())

    def _print_PoolSelect(self, e):
        return self._structure_call("_pool_select", [e.data, e.arg], e.geometry.as_tuple())

    def _print_PoolRoute(self, e):
        return self._structure_call("_pool_route", [e.data, e.arg], e.geometry.as_tuple())

    def _print_PoolSpread(self, e):
        return self._structure_call("_pool_spread", [e.arg], e.geometry.as_tuple())

    def _print_PoolMask(self, e):
        return self._structure_call("_pool_mask", [e.arg], e.geometry.as_tuple())

    # ------------------------------------------------------------ maxima and norms (core/extrema.py)

    # np.max, not the .max method: a torch tensor's .max(dim) returns (values, indices)
    def _print_MaxAlong(self, e):
        return "%s(%s, axis=%d, keepdims=True)" % (self._module_format("numpy.max"),
                                                   self._strict(e.arg).text, e.axis)

    def _print_EntryMax(self, e):
        return "%s(%s)" % (self._module_format("numpy.max"), self._strict(e.arg).text)

    def _print_MaxMask(self, e):
        extra = "" if e.axis is None else f", axis={e.axis}"
        return f"{self._helper('_max_mask')}({self._strict(e.arg).text}{extra})"

    def _print_NuclearNorm(self, e):
        return "%s(%s, 'nuc')" % (self._module_format("numpy.linalg.norm"),
                                  self._strict(e.arg).text)

    def _print_SpectralNorm(self, e):
        return "%s(%s, 2)" % (self._module_format("numpy.linalg.norm"), self._strict(e.arg).text)

    def _print_PolarFactor(self, e):
        return f"{self._helper('_polar')}({self._strict(e.arg).text})"

    def _print_TopSingular(self, e):
        return f"{self._helper('_top_singular')}({self._strict(e.arg).text})"

    # ------------------------------------------------------------ vectorisation (core/kron.py)

    def _print_Vec(self, e):
        arg = self._paren(self._strict(e.arg), _FUNC, strict=True)
        return f'{arg}.reshape((-1, 1), order="F")'

    def _print_Unvec(self, e):
        arg = self._paren(self._strict(e.arg), _FUNC, strict=True)
        return f'{arg}.reshape(({self._print(e.rows)}, -1), order="F")'

    def _print_KroneckerProduct(self, e):
        return "%s(%s)" % (self._module_format("numpy.kron"),
                           ", ".join(self._strict(a).text for a in e.args))

    def _print_Commutation(self, e):
        return f"{self._helper('_commutation')}({self._print(e.m)}, {self._print(e.n)})"

    # ------------------------------------------------------------ scalar functions of a matrix

    def _print_Trace(self, e):
        return "%s(%s)" % (self._module_format("numpy.trace"), self._print(e.arg))

    def _print_Determinant(self, e):
        return "%s(%s)" % (self._module_format("numpy.linalg.det"), self._print(e.arg))

    def _print_LogDet(self, e):
        return "%s(%s)[1]" % (self._module_format("numpy.linalg.slogdet"), self._print(e.arg))

    def _print_EntrySum(self, e):
        a = e.arg
        if isinstance(a, HadamardProduct) and len(a.args) == 2 and all(
                self._loose(f).shape == tuple(f.shape) for f in a.args):
            # sum(A ⊙ B) as one dot product: no temporary A * B
            return "%s(%s, %s)" % (self._module_format("numpy.vdot"),
                                   *(self._print(f) for f in a.args))
        return "%s(%s)" % (self._module_format("numpy.sum"), self._print(a))

    def _print_FrobeniusNorm(self, e):
        return "%s(%s)" % (self._module_format("numpy.linalg.norm"), self._print(e.arg))

    # ------------------------------------------------------------ scalar functions

    def _fn_call(self, name, arg):
        fn = FUNCTIONS.get(name)
        if fn is not None:
            self.module_imports.setdefault("numpy", set())   # the table's spellings use np
            return fn.numpy.format(arg)
        fqn = self.known_functions.get(name)
        if isinstance(fqn, str) and fqn.startswith("numpy."):
            return f"{self._module_format(fqn)}({arg})"
        raise NoRuleError(f"{type(self).__name__} cannot print {name}; add it to FUNCTIONS "
                          "in functions.py")

    def _print_known(self, e):
        """A known function: one argument through the table (so that an elementwise argument
        is not grouped twice), several through NumPy's own spelling."""
        if len(e.args) == 1:
            return self._print_Function(e)
        fqn = self.known_functions.get(type(e).__name__)
        if not (isinstance(fqn, str) and fqn.startswith("numpy.")):
            self._no_rule(e)
        return _print_known_func(self, e)

    def _print_Mul(self, e):
        """A scalar product; a mask factor (see the module docstring) goes after the numeric
        factors, as long as one of them is not a plain number (2*mask would be an int)."""
        masks = [f for f in e.args if _mask_spelling(f) and len(f.args) == 1]
        rest = [f for f in e.args if f not in masks]
        if not masks or all(f.is_number for f in rest):
            return super()._print_Mul(e)
        stack = self._elementwise_args()
        head = self.parenthesize(Mul(*rest), _MUL, strict=True)
        return head + "".join(
            "*" + _mask_spelling(f).format(self._print(stack[-1]) if f.args[0] == T and stack
                                           else self._print(f.args[0]))
            for f in masks)

    def _print_Pow(self, e, rational=False):
        if e.exp == -1:   # 1/x, not SymPy's x**(-1.0)
            return self._hprint_Pow(e, rational=rational, sqrt="numpy.sqrt")
        return super()._print_Pow(e, rational=rational)


for _name in {c.__name__ for c in BY_CLASS} | {k for k in {**PythonCodePrinter._kf, **NumPyPrinter._kf}
                              if getattr(NumPyPrinter, "_print_" + k, None) is _print_known_func}:
    setattr(MatcalcNumPyPrinter, "_print_" + _name, MatcalcNumPyPrinter._print_known)
del _name


def _mask_spelling(f):
    """The mask spelling of a function node (functions.py's `mask`), or None."""
    name = BY_CLASS.get(type(f))
    return FUNCTIONS[name].mask if name is not None else None


def _broadcast(shapes):
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


# ---------------------------------------------------------------- public helpers

def numpy_code(e, printer=None):
    """The expression as NumPy source using `np` (helpers such as _softmax, see HELPERS).

    Pass a MatcalcNumPyPrinter to read its module_imports and helpers_used afterwards.

    >>> from matcalc.core.expr import matrix, vector, matmul, add, ones
    >>> W, X, b = matrix('W', 3, 4), matrix('X', 4, 'N'), vector('b', 3)
    >>> numpy_code(add(matmul(W, X), matmul(b, ones(1, 'N'))))
    'W @ X + b'
    """
    printer = printer or MatcalcNumPyPrinter()
    return printer.doprint(_sympify(e))


def numpy_imports(printer):
    """The import lines for what `printer` has printed."""
    tops = sorted({m.split(".")[0] for m in printer.module_imports if m})
    if printer.helpers_used and "numpy" not in tops:
        tops = sorted(tops + ["numpy"])
    return ["import numpy as np" if m == "numpy" else f"import {m}" for m in tops]

