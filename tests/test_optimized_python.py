"""Rule identities are fields, not docstrings: under `python -OO` (no docstrings) a derivation
prints the same steps, rules and all, as under plain python (core/dispatch.py `identity`)."""
import subprocess
import sys

import pytest

RUNS = [   # (matcalc CLI arguments, a rule its output must name)
    (["grad", "tr(A @ X @ B) + sum(sigmoid(X))", "--wrt", "X", "--format", "steps"],
     "d(AB) = dA·B + A·dB  (Cookbook 37)"),
    (["derive", "--layers", "4,3,2", "--hidden", "tanh", "--format", "steps", "--no-verify"],
     "write the derivative through the activation's output"),
]


def _run(flags, args):
    return subprocess.run([sys.executable, *flags, "-m", "matcalc", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("args, rule", RUNS, ids=[r[0][0] for r in RUNS])
def test_a_derivation_runs_under_python_OO(args, rule):
    plain, optimized = _run([], args), _run(["-OO"], args)
    assert plain.returncode == 0, plain.stderr
    assert optimized.returncode == 0, optimized.stderr
    assert rule in plain.stdout
    assert optimized.stdout == plain.stdout


def test_the_python_api_under_python_OO():
    code = ("import matcalc; g = matcalc.grad('tr(A @ X)', 'X'); print(g.text()); "
            "print(matcalc.derive(matcalc.mlp([4, 3, 2])).backward.assignments[0].expr)")
    done = subprocess.run([sys.executable, "-OO", "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["A.T", "S - Y"]


def test_the_generated_script_under_python_OO(tmp_path):
    """The script's --help reads its first docstring line; without docstrings it still runs."""
    made = _run([], ["codegen", "--layers", "4,3,2", "-o", str(tmp_path / "t.py")])
    assert made.returncode == 0, made.stderr
    runs = [subprocess.run([sys.executable, *flags, str(tmp_path / "t.py"), "--help"],
                           capture_output=True, text=True, timeout=120) for flags in ([], ["-OO"])]
    assert [r.returncode for r in runs] == [0, 0], runs[1].stderr
    assert runs[1].stdout.splitlines()[0] == runs[0].stdout.splitlines()[0]     # the usage
    assert "--epochs" in runs[1].stdout


def test_every_rule_of_every_table_carries_its_identity():
    """A new rule without `identity` would show no step under -OO: the tables are covered."""
    from matcalc.calculus import simplify
    from matcalc.calculus.adjoint import MOVES
    from matcalc.calculus.differential import DIFFERENTIALS
    from matcalc.calculus.jacobian import RULES
    rules = [*DIFFERENTIALS.values(), *MOVES.values(), *simplify.CANONICAL, *simplify.TEXTBOOK,
             *simplify.NUMERIC, *RULES]
    missing = [getattr(r, "__name__", r) for r in rules if not getattr(r, "identity", "")]
    assert not missing, f"give these @identity(...) (core/dispatch.py): {missing}"
