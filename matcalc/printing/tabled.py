"""The NumPy printer for an array library that mirrors NumPy (JAX, torch): two tables differ.

Printing (stage 4). `@`, `.T`, broadcasting, `.sum(axis=…, keepdims=True)` and boolean masks
print as for NumPy; a subclass gives only its tables (MODULE: numpy.X → the library's
function; FUNCTIONS: the records' spellings in core/functions.py), the import its code needs and
its softmax family (SOFTMAX: the node → its fused function) and the helpers it can spell
(HELPERS: same names and arguments as NumPy's, the library's source). Strict: a function
or helper missing from its table raises NoRuleError naming the table.
"""
from ..core.errors import NoRuleError
from .broadcast import FUNC as _FUNC
from .numpy import MatcalcNumPyPrinter

__all__ = ["MatcalcTabledPrinter"]


class MatcalcTabledPrinter(MatcalcNumPyPrinter):
    """MatcalcNumPyPrinter whose spellings come from the subclass's tables."""

    MODULE = {}         # numpy.X as the NumPy printer asks for it → the library's spelling
    FUNCTIONS = {}      # a function's name → its record's spelling, '{}' the argument
    SOFTMAX = {}        # Softmax, LogSoftmax, LogSumExp → the library's fused function
    HELPERS = {}        # a NumPy helper's name → (the library's source, helpers it calls)
    IMPORT = ""         # the module the printed code imports (module_imports' key)
    LIBRARY = ""        # the library's name, for the error messages
    SOURCE = ""         # the file that holds the tables, for the error messages

    def _module_format(self, fqn, register=True):
        name = self.MODULE.get(fqn)
        if name is None:
            raise NoRuleError(f"{type(self).__name__} cannot print {fqn}; add it to MODULE "
                              f"in {self.SOURCE}")
        if register:
            self.module_imports.setdefault(self.IMPORT, set())
        return name

    def _fn_call(self, name, arg):
        spelling = self.FUNCTIONS.get(name)
        if spelling is None:
            raise NoRuleError(f"{type(self).__name__} cannot print {name}; give its record "
                              f"in core/functions.py a {self.LIBRARY} spelling")
        self.module_imports.setdefault(self.IMPORT, set())
        return spelling.format(arg)

    def _helper(self, name):
        if name not in self.HELPERS:
            raise NoRuleError(f"{type(self).__name__} cannot print the NumPy helper {name}: "
                              f"it has no {self.LIBRARY} spelling in HELPERS in {self.SOURCE}; "
                              "use the numpy backend")
        self.helpers_used.add(name)
        self.helpers_used.update(self.HELPERS[name][1])
        self.module_imports.setdefault(self.IMPORT, set())
        return name

    # vec and unvec through the transpose (column-major as row-major of Aᵀ): torch's reshape
    # takes no order="F"
    def _print_Vec(self, e):
        return f"{self._paren(self._strict(e.arg), _FUNC, strict=True)}.T.reshape(-1, 1)"

    def _print_Unvec(self, e):
        arg = self._paren(self._strict(e.arg), _FUNC, strict=True)
        return f"{arg}.reshape(-1, {self._print(e.rows)}).T"

    def _print_Pow(self, e, rational=False):
        if e.is_number:     # √2, 1/√π (GELU′): torch.sqrt takes no Python number
            return repr(float(e))
        return super()._print_Pow(e, rational=rational)

    def _print_NumberSymbol(self, e):
        return repr(float(e))       # π, e as numbers: no module constant to spell

    def _softmax(self, e):
        return self.SOFTMAX[type(e).__name__].format(arg=self._print(e.arg), axis=e.axis)

    _print_Softmax = _print_LogSoftmax = _print_LogSumExp = _softmax
