"""The NumPy printer: matrix expressions as NumPy source.

Printing (stage 4). Consumes the trees of expr.py, produces code that uses `np`: `@` for
products, `.T`, broadcasting instead of all-ones matrices (W X + b 1ᵀ is `W @ X + b`, G 1 is
`G.sum(axis=1, keepdims=True)`), `v * M` instead of diag(v) M, and max-shifted softmax,
log-softmax and logsumexp helpers (printing/runtime.py holds every helper). Strict: a node
without a rule raises NoRuleError, never partial code.

Broadcasting (loose forms: `W @ X + b`, not b 1ᵀ) and masks (`G * (Z > 0)`) are
printing/broadcast.py's, the in-place statements of planned kernels codegen/inplace.py's.
"""
import keyword
import re

from sympy import HadamardProduct, MatrixSymbol, Mul
from sympy.core.sympify import _sympify
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.pycode import PythonCodePrinter, _print_known_func

from ..core.errors import NoRuleError
from ..core.functions import BY_CLASS, FUNCTIONS, T
from .base import ElementwiseMixin
from .broadcast import FUNC as _FUNC, MUL as _MUL, LooseForms, mask_spelling as _mask_spelling
from .runtime import HELPERS, numpy_helpers   # the runtime; re-exported for its users

__all__ = ["MatcalcNumPyPrinter", "numpy_code", "numpy_imports", "numpy_helpers", "HELPERS"]


def _helpers_called(spelling):
    """The helpers (HELPERS) a table spelling calls: `_sigmoid({0}, out={1})` calls _sigmoid."""
    return [n for n in re.findall(r"\b(_\w+)\(", spelling) if n in HELPERS]


class MatcalcNumPyPrinter(ElementwiseMixin, LooseForms, NumPyPrinter):
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

    def _print_Mean(self, e):
        return self._strict(e).text

    def _loose_Mean(self, e):
        """mean(M) as the means alone (a row for axis 0), which broadcast to M's shape."""
        m, one = self._strict(e.arg), _sympify(1)
        return m._replace(text=self._paren(m, _FUNC, strict=True) +
                          f".mean(axis={e.axis}, keepdims=True)", prec=self._prec(e),
                          shape=(one, e.shape[1]) if e.axis == 0 else (e.shape[0], one))

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

    # A Kronecker product of constants (the tokens' kron(I_N, 1_T) of nn/attention.py) is a
    # kernel's structure: made in its inputs' dtype (and device), as X's.
    LIKE_X = ".astype(X.dtype)"

    def _print_KroneckerProduct(self, e):
        text = "%s(%s)" % (self._module_format("numpy.kron"),
                           ", ".join(self._strict(a).text for a in e.args))
        return text if e.atoms(MatrixSymbol) else text + self.LIKE_X

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
            for helper in _helpers_called(fn.numpy):
                self._helper(helper)
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

