"""Backends are records (codegen/backends.py): each one spells every function of
core/functions.py and every NumPy runtime helper, or refuses it by name with a reason; and no
code outside the records compares backend names, so that a backend is one record plus its
printer."""
import ast
from pathlib import Path

import pytest

import matcalc
from matcalc.codegen.backends import BACKENDS, Backend
from matcalc.core.errors import NoRuleError
from matcalc.core.functions import FUNCTIONS
from matcalc.printing.runtime import HELPERS

PKG = Path(matcalc.__file__).parent


def unspelled(be):
    """The FUNCTIONS and HELPERS names be's printer cannot print (NoRuleError), and the names
    its record refuses that it does spell (a stale entry) or that exist nowhere."""
    missing, spelled = [], []
    for kind, names, spell in (("function", FUNCTIONS, lambda p, n: p._fn_call(n, "x")),
                               ("helper", HELPERS, lambda p, n: p._helper(n))):
        for name in names:
            try:
                spell(be.printer(), name)
            except NoRuleError:
                if name not in be.refused:
                    missing.append(f"{kind} {name}")
            else:
                if name in be.refused:
                    spelled.append(f"{kind} {name}")
    unknown = sorted(set(be.refused) - set(FUNCTIONS) - set(HELPERS))
    return missing, spelled, unknown


@pytest.mark.parametrize("name", list(BACKENDS))
def test_every_function_and_helper_is_spelled_or_refused_by_name(name):
    missing, spelled, unknown = unspelled(BACKENDS[name])
    assert not missing, (f"the {name} printer has no spelling for {', '.join(missing)}: add "
                         "one, or list it in the record's refused with why")
    assert not spelled, f"the {name} record refuses {', '.join(spelled)}, which it spells"
    assert not unknown, f"the {name} record refuses names that exist nowhere: {unknown}"


def test_the_coverage_check_sees_a_missing_spelling():
    """Not vacuous: a printer whose tables lose a function and a helper is caught."""
    torch = BACKENDS["torch"]
    base = torch.printer
    table = {k: v for k, v in base.FUNCTIONS.items() if k != "tanh"}
    helpers = {k: v for k, v in base.HELPERS.items() if k != "_unfold"}
    lossy = type("LossyPrinter", (base,), {"FUNCTIONS": table, "HELPERS": helpers})
    import matcalc.printing.torch as module
    module.LossyPrinter = lossy
    try:
        be = Backend(**{**torch.__dict__, "printer_at": "torch:LossyPrinter"})
        missing, _, _ = unspelled(be)
    finally:
        del module.LossyPrinter
    assert missing == ["function tanh", "helper _unfold"]


def test_printing_a_refused_helper_names_it():
    be = BACKENDS["jax"]
    name = next(n for n in be.refused if n in HELPERS)
    with pytest.raises(NoRuleError, match=name):
        be.printer()._helper(name)


def _comparisons(tree):
    """(line, source) of each comparison with a backend's name, or dict keyed by two names."""
    names = set(BACKENDS)
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            consts = {s.value for s in sides if isinstance(s, ast.Constant)} | {
                e.value for s in sides if isinstance(s, (ast.Tuple, ast.List, ast.Set))
                for e in s.elts if isinstance(e, ast.Constant)}
            others = " ".join(ast.unparse(s) for s in sides if not isinstance(s, ast.Constant))
            # "numpy" is also a --format and a module name: only a comparison that reads a
            # backend (its name or a .name) counts for it; "torch" and "jax" always count
            if consts & (names - {"numpy"}) or ("numpy" in consts and (
                    "backend" in others or others.endswith(".name"))):
                yield node.lineno, ast.unparse(node)
        elif isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            if len(keys & names) >= 2:
                yield node.lineno, ast.unparse(node)[:60]


def test_no_backend_name_is_compared_outside_the_records():
    found = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).as_posix()
        if rel == "codegen/backends.py":
            continue
        found += [f"{rel}:{line}: {src}" for line, src in _comparisons(ast.parse(path.read_text()))]
    assert not found, "backend names compared outside codegen/backends.py:\n" + "\n".join(found)


def test_the_grep_sees_a_comparison():
    src = 'if backend != "torch":\n    pass\nneeds = {"numpy": 1, "jax": 2}\nif be.name == "numpy": pass'
    assert [line for line, _ in _comparisons(ast.parse(src))] == [1, 3, 4]


def test_the_cli_offers_the_records():
    from matcalc.cli import build_parser
    import argparse
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for command in ("train", "codegen"):
        backend = next(a for a in sub.choices[command]._actions if a.dest == "backend")
        assert list(backend.choices) == list(BACKENDS)


def test_a_backend_is_one_record(monkeypatch, tmp_path, capsys):
    """Adding a library is one record: a twin of JAX's under another name compiles (checked
    against the NumPy kernels), is offered by the CLI and gets its script, nothing else
    touched."""
    pytest.importorskip("jax", reason="the twin runs JAX's printer")
    import dataclasses

    from matcalc import derive, mlp
    from matcalc.cli import main
    from matcalc.codegen import backends
    from matcalc.codegen.kernels import compile
    twin = dataclasses.replace(BACKENDS["jax"], name="jax2", title="JAX-again",
                               script=dataclasses.replace(BACKENDS["jax"].script,
                                                          title="JAX-again (no autograd)"))
    monkeypatch.setitem(backends.BACKENDS, "jax2", twin)
    k = compile(derive(mlp([4, 3, 2])), backend="jax2")
    assert k.source.startswith('"""JAX-again kernels generated by matcalc')
    out = tmp_path / "t.py"
    assert main(["codegen", "--layers", "64,10", "--backend", "jax2", "-o", str(out)]) == 0
    assert "network with JAX-again (no autograd)" in out.read_text()
    assert "(NumPy and JAX;" in capsys.readouterr().out
