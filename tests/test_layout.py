"""The package layout: folders are stages, and imports flow only downstream between them.

The data path reads from the tree: core (expressions) → parse → calculus (differentiate,
simplify) → nn (networks) → printing → codegen → train → results (what the front doors
return), with verify beside the path (it needs only core), and api/cli on top. A module may
import from its own folder and from folders of an earlier stage, never from a later one or
from a sibling of its own stage.
"""
import ast
from pathlib import Path

import matcalc

PKG = Path(matcalc.__file__).parent

STAGES = {"core": 0, "parse": 1, "verify": 1, "calculus": 2, "nn": 3, "printing": 4,
          "codegen": 5, "train": 6, "results": 7, "api": 8, "cli": 9, "__init__": 10,
          "__main__": 10}


def _folder(module):
    """The stage folder (or top-level module) a dotted module name under matcalc belongs to."""
    return module.split(".")[0]


def _imports(path):
    """Dotted names (relative to matcalc) of the matcalc modules a file imports, anywhere in it."""
    rel = path.relative_to(PKG).with_suffix("").parts
    package = list(rel[:-1]) if rel[-1] != "__init__" else list(rel[:-1])
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                target = base + (node.module.split(".") if node.module else [])
                if node.module is None:
                    for alias in node.names:
                        yield ".".join(target + [alias.name])
                else:
                    yield ".".join(target)
            elif (node.module or "").startswith("matcalc."):
                yield node.module[len("matcalc."):]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("matcalc."):
                    yield alias.name[len("matcalc."):]


def test_every_module_is_in_a_stage_folder():
    stray = [str(p.relative_to(PKG)) for p in PKG.rglob("*.py")
             if _folder(".".join(p.relative_to(PKG).with_suffix("").parts)) not in STAGES]
    assert not stray, f"give these a stage in tests/test_layout.py: {stray}"


def test_imports_flow_downstream():
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        here = _folder(".".join(path.relative_to(PKG).with_suffix("").parts))
        for target in _imports(path):
            there = _folder(target)
            if there == here or not there:
                continue
            if there not in STAGES or STAGES[there] >= STAGES[here]:
                bad.append(f"{path.relative_to(PKG)} ({here}, stage {STAGES[here]}) imports "
                           f"{target} ({there}, stage {STAGES.get(there)})")
    assert not bad, "\n".join(bad)


def test_the_checker_sees_a_violation(tmp_path):
    """The import parser is not vacuous: a core module importing a printer is caught."""
    fake = PKG / "core" / "expr.py"
    names = list(_imports(fake))
    assert "core.errors" in names or "core.functions" in names
    assert _folder("printing.text") == "printing" and STAGES["printing"] > STAGES["core"]


def test_no_module_is_over_500_lines():
    """Each module does one thing: none over 500 lines (issue 16)."""
    long = {str(p.relative_to(PKG)): n for p in PKG.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 500}
    assert not long, f"split these: {long}"
