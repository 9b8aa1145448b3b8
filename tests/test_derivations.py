"""Every worked network in derivations/: matcalc derives the note's published formula.

Structurally (the same expression after canonical construction) and proven by central
differences; and each case's report compiles with pdflatex -halt-on-error.
"""
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from matcalc import derive
from matcalc.api import verify_backprop
from matcalc.printing.report import backprop_report
from matcalc.printing.text import text

HERE = Path(__file__).resolve().parent.parent / "derivations"
sys.path.insert(0, str(HERE))


def _load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


FILES = sorted(p for p in HERE.glob("seed*.py"))
# The published formulas of papers (ba2016_layernorm.py, …): every other file but common.py.
PAPERS = sorted(p for p in HERE.glob("*.py") if p not in FILES and p.stem != "common")
CASES = [c for f in FILES + PAPERS for c in _load(f).CASES]


def test_every_seed_note_has_a_derivation():
    seeds = (Path(__file__).resolve().parents[1] / "docs" / "seeds.md").read_text()
    numbers = set(re.findall(r"^\| (\d{3}) \|", seeds, re.M))
    assert len(numbers) >= 5
    ours = {p.name[4:7] for p in FILES}
    assert numbers <= ours, f"no derivation for seeds {sorted(numbers - ours)}"
    assert len(FILES) >= 5


@pytest.fixture(scope="module", params=CASES, ids=lambda c: c.name)
def case(request):
    return request.param, derive(request.param.model)


def test_derived_gradient_is_the_published_formula(case):
    c, b = case
    published = c.published(c.model)
    assert set(published) == set(b.params)
    for p, formula in published.items():
        got = b.gradient(p)
        assert got == formula, f"∂L/∂{p}:\n  derived   {text(got)}\n  published {text(formula)}"


def test_published_formula_is_proven(case):
    c, b = case
    verify_backprop(b, method="numeric")


@pytest.mark.skipif(not shutil.which("pdflatex"), reason="pdflatex not installed")
def test_report_compiles(case, tmp_path):
    c, b = case
    tex = tmp_path / "report.tex"
    tex.write_text(backprop_report(b, title=c.name))
    run = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", tex.name],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "report.pdf").stat().st_size > 1000


# A note's own worked examples (a derivation file's CHECKS), given what they ask for by name:
# `backprop` the derivation of the file's first case, `kernels` its compiled kernels.
CHECKS = [(f.stem, check, _load(f).CASES[0].model) for f in FILES + PAPERS
          for check in getattr(_load(f), "CHECKS", [])]


@pytest.mark.parametrize("stem, check, model", CHECKS, ids=lambda x: getattr(x, "__name__", x)
                         if callable(x) else str(x)[:30])
def test_the_notes_examples(stem, check, model):
    import inspect
    from matcalc import compile
    b = derive(model)
    given = {"backprop": lambda: b, "kernels": lambda: compile(b)}
    check(**{name: given[name]() for name in inspect.signature(check).parameters})
