"""Coverage of the tables and the direction of imports.

Every node class of the closed set — nodes.NODES and the convolution and pooling nodes of
structure.STRUCTURE_NODES — has a differential (unless it is a leaf), a method in each
printer, and an evaluator in each verifier table. (The direction of imports: test_layout.py.)
"""
import pytest

from matcalc.calculus.differential import DIFFERENTIALS
from matcalc.core import extrema, kron, nodes, structure

ALL_NODES = nodes.NODES + structure.STRUCTURE_NODES + kron.KRON_NODES + extrema.EXTREMA_NODES


def _mro_has(table, cls):
    return any(c in table for c in cls.__mro__)


@pytest.mark.parametrize("cls", [c for c in ALL_NODES if c not in nodes.LEAVES],
                         ids=lambda c: c.__name__)
def test_every_node_has_a_differential(cls):
    assert _mro_has(DIFFERENTIALS, cls), f"add {cls.__name__} to DIFFERENTIALS"


@pytest.mark.parametrize("printer", ["text", "latex", "numpy"])
def test_every_node_has_a_printer_method(printer):
    from matcalc.printing import latex, numpy, text
    cls_ = {"text": text.TextPrinter, "latex": latex.MatcalcLatexPrinter,
            "numpy": numpy.MatcalcNumPyPrinter}[printer]
    missing = [c.__name__ for c in ALL_NODES
               if not any(hasattr(cls_, f"_print_{k.__name__}") for k in c.__mro__[:1])]
    assert not missing, f"{cls_.__name__} lacks _print_ for {missing}"


@pytest.mark.parametrize("table", ["EXPLICIT", "NUMERIC"])
def test_every_node_has_an_evaluator(table):
    from matcalc.verify import EXPLICIT, NUMERIC
    t = {"EXPLICIT": EXPLICIT, "NUMERIC": NUMERIC}[table]
    missing = [c.__name__ for c in ALL_NODES if not t.covers(c)]
    assert not missing, f"{table} in verify/evaluator.py lacks {missing}"
