"""The README's examples print what they printed when they were recorded, byte for byte.

tests/readme/ holds each example's terminal output (and the report's .tex) as recorded before
the package was reorganised by stage; a refactor must leave them identical. Since then the
provenance lines ("verified …", "given that …") go to stderr, so the recording is stdout
followed by stderr, and stdout alone must hold no provenance. The output lines the README
itself shows must appear in the real output ("…" stands for elided text).
"""
import re
from pathlib import Path

import pytest

from matcalc.cli import main

HERE = Path(__file__).parent
MODEL = ["--layers", "64,128,10", "--hidden", "sigmoid", "--loss", "cross-entropy"]
README_COMMANDS = {
    "derive": ["derive", *MODEL],
    "derive_latex": ["derive", *MODEL, "--format", "latex"],
    "derive_latex_shapes": ["derive", *MODEL, "--format", "latex", "--shapes"],
    "derive_steps": ["derive", *MODEL, "--format", "steps"],
    "report": ["report", *MODEL, "--no-pdf", "-o", "{tmp}/mlp.tex"],
    "grad_quadratic": ["grad", "tr(X.T @ A @ X)", "--wrt", "X"],
    "grad_least_squares_latex": ["grad", "norm(W @ X - Y)**2", "--wrt", "W", "--format", "latex"],
    "grad_logdet_steps": ["grad", "logdet(X)", "--wrt", "X", "--format", "steps"],
    "grad_sigmoid_numpy": ["grad", "sum(sigmoid(W @ X + b @ ones(1, N)))", "--wrt", "b",
                           "--format", "numpy"],
    "grad_softmax_assume": ["grad", "-sum(Y * logsoftmax(W @ X))", "--wrt", "W", "--assume",
                            "sum(Y, axis=0) == 1"],
}


PROVENANCE = ("verified", "given that")


def _run(capsys, tmp_path, name):
    args = [a.replace("{tmp}", str(tmp_path)) for a in README_COMMANDS[name]]
    assert main(args) == 0
    out, err = capsys.readouterr()
    if name != "grad_logdet_steps":       # the derivation ends with its own "given that"
        assert not [line for line in out.splitlines() if line.startswith(PROVENANCE)]
    out = (out + err).replace(str(tmp_path), "{tmp}")
    if name == "report":
        out += (tmp_path / "mlp.tex").read_text()
    return out


@pytest.mark.parametrize("name", sorted(README_COMMANDS))
def test_example_prints_as_recorded(capsys, tmp_path, name):
    assert _run(capsys, tmp_path, name) == (HERE / "readme" / f"{name}.txt").read_text()


def _shown_examples():
    """(command, lines the README shows under it) for each `$ matcalc …` with output."""
    lines = (HERE.parent / "README.md").read_text().splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.startswith("$ matcalc ") and "…" not in line:
            shown = []
            for nxt in lines[i + 1:]:
                if not nxt.strip() or nxt.startswith("$") or nxt.startswith("```"):
                    break
                shown.append(nxt)
            if shown:
                out.append((line[2:], shown))
    return out


def test_readme_shows_examples():
    assert len(_shown_examples()) >= 3


@pytest.mark.parametrize("command,shown", _shown_examples(), ids=lambda x: str(x)[:40])
def test_readme_output_is_real(capsys, command, shown):
    import shlex
    args = shlex.split(command.split("  #")[0])[1:]
    code = re.search(r"#\s*exit (\d+)", command)       # a refutation shown: `# exit 1`
    assert main(args) == (int(code.group(1)) if code else 0)
    out = "".join(capsys.readouterr()).splitlines()
    for want in shown:
        pattern = "^" + ".*".join(re.escape(part) for part in want.split("…")) + "$"
        assert any(re.match(pattern, got) for got in out), f"{want!r} not in {out}"
