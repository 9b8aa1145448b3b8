"""Coverage of the tables and the direction of imports.

Every node class in expr.NODES has a differential (unless it is a leaf), a method in each
printer, and an evaluator in each verifier table; and a module imports only from its own
stage or the stages above it (DESIGN.md: build ← differentiate ← simplify ← print ← verify).
"""
import ast
from pathlib import Path

import pytest

from matcalc.core import expr
from matcalc.calculus.differential import DIFFERENTIALS

PKG = Path(expr.__file__).parent

STAGES = {
    "errors": 0, "functions": 0, "printing.base": 0, "printing.text": 0, "printing": 0,
    "expr": 1, "parse": 1, "program": 1,
    "steps": 2, "differential": 2, "adjoint": 2, "gradient": 2,
    "simplify": 3, "backprop": 3,
    "printing.latex": 4, "printing.numpy": 4, "printing.report": 4, "codegen": 4,
    "data": 5, "train": 5, "script": 5, "nn": 1,
    "verify": 6, "api": 6, "cli": 7, "__init__": 8,
}


def _mro_has(table, cls):
    return any(c in table for c in cls.__mro__)


@pytest.mark.parametrize("cls", [c for c in expr.NODES if c not in expr.LEAVES],
                         ids=lambda c: c.__name__)
def test_every_node_has_a_differential(cls):
    assert _mro_has(DIFFERENTIALS, cls), f"add {cls.__name__} to DIFFERENTIALS"


@pytest.mark.parametrize("printer", ["text", "latex", "numpy"])
def test_every_node_has_a_printer_method(printer):
    from matcalc.printing import latex, numpy, text
    cls_ = {"text": text.TextPrinter, "latex": latex.MatcalcLatexPrinter,
            "numpy": numpy.MatcalcNumPyPrinter}[printer]
    missing = [c.__name__ for c in expr.NODES
               if not any(hasattr(cls_, f"_print_{k.__name__}") for k in c.__mro__[:1])]
    assert not missing, f"{cls_.__name__} lacks _print_ for {missing}"


@pytest.mark.parametrize("table", ["EXPLICIT", "NUMERIC"])
def test_every_node_has_an_evaluator(table):
    from matcalc import verify
    t = getattr(verify, table)
    missing = [c.__name__ for c in expr.NODES if not _mro_has(t, c)]
    assert not missing, f"verify.{table} lacks {missing}"


def _module_name(path):
    rel = path.relative_to(PKG).with_suffix("")
    return ".".join(rel.parts)


def _imports(path):
    tree = ast.parse(path.read_text())
    here = _module_name(path).split(".")
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[:len(here) - node.level]
            target = ".".join(base + ([node.module] if node.module else []))
            if node.module is None:
                for alias in node.names:
                    yield ".".join(base + [alias.name])
            else:
                yield target
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("matcalc"):
            yield node.module.removeprefix("matcalc").lstrip(".")


def test_imports_point_upstream():
    bad = []
    for path in PKG.rglob("*.py"):
        name = _module_name(path)
        if name.endswith("__init__"):
            continue
        assert name in STAGES, f"give {name} a stage in tests/test_tables.py"
        for target in _imports(path):
            if target in STAGES and STAGES[target] > STAGES[name]:
                bad.append(f"{name} (stage {STAGES[name]}) imports {target} "
                           f"(stage {STAGES[target]})")
    assert not bad, "\n".join(bad)
