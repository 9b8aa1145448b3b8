"""The names matcalc's NumPy code needs, importable: `np` and the helpers (_softmax, …).

Printing (stage 4). Generated kernels carry the helpers' source (printing/numpy.py HELPERS);
code printed into someone else's namespace cannot, so SymPy's code printers, asked for a
matcalc node (printing/hooks.py), record `from matcalc.printing.runtime import np, _softmax`
in their `module_imports`, which `sympy.lambdify` executes. The helpers are compiled once from
the same source, registered in linecache so that a traceback shows their lines.
"""
import linecache

import numpy as np

from .numpy import HELPERS, numpy_helpers

__all__ = ["np", *HELPERS]

_FILE = "<matcalc.printing.runtime helpers>"
_SOURCE = numpy_helpers(HELPERS) + "\n"
linecache.cache[_FILE] = (len(_SOURCE), None, _SOURCE.splitlines(True), _FILE)
exec(compile(_SOURCE, _FILE, "exec"), globals())   # matcalc's own constant source, not input
