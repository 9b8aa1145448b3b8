"""cli.py follows the command-line conventions: version, `python -m`, documented exit codes,
the result alone on stdout, a quiet broken pipe, defaults in --help, careful --shape."""
import argparse
import subprocess
import sys

import numpy as np
import pytest

from matcalc.cli import EXIT_CODES, build_parser, main

MATCALC = [sys.executable, "-m", "matcalc"]


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version_and_python_dash_m():
    run = subprocess.run(MATCALC + ["--version"], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.startswith("matcalc 0.")
    run = subprocess.run(MATCALC + ["grad", "tr(A @ X)", "--wrt", "X", "--verify", "none"],
                         capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.startswith("∂f/∂X = A.T")


def test_exit_codes_are_documented_in_help(capsys):
    for argv in (["--help"], ["grad", "--help"], ["train", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
        text = " ".join(capsys.readouterr().out.split())
        for code, meaning in EXIT_CODES.items():
            assert f"{code} {' '.join(meaning.split())}" in text, (argv, code)


def test_every_default_is_shown_in_help(capsys):
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        help_text = " ".join(sub.format_help().split())
        for action in sub._actions:
            if action.default in (None, argparse.SUPPRESS) or isinstance(
                    action, (argparse._HelpAction, argparse._StoreTrueAction,
                             argparse._StoreFalseAction)):
                continue
            assert f"(default: {action.default})" in help_text, (name, action.dest)


def test_help_shows_no_meaningless_defaults(capsys):
    """"(default: None)" says nothing, and "--no-verify … (default: True)" read as "skipped by
    default"; each command says what it takes (derive and codegen, CNNs and backends too)."""
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        help_text = " ".join(sub.format_help().split())
        for noise in ("(default: None)", "(default: True)", "(default: False)"):
            assert noise not in help_text, (name, noise)
    texts = {n: " ".join(s.format_help().split()) for n, s in subparsers.choices.items()}
    assert "for an MLP or a convolutional network" in texts["derive"]
    assert "(NumPy; torch or JAX with --backend)" in texts["codegen"]
    assert 'expr e.g. "A @ X"' in texts["jacobian"]          # not a scalar example
    assert "the matrix, vector or scalar to differentiate by" in texts["grad"]


def test_the_result_alone_goes_to_stdout(tmp_path):
    with open(tmp_path / "eq.tex", "w") as f:
        run = subprocess.run(MATCALC + ["grad", "norm(W @ X - Y)**2", "--wrt", "W",
                                        "--format", "latex"], stdout=f, stderr=subprocess.PIPE,
                             text=True)
    assert run.returncode == 0
    assert (tmp_path / "eq.tex").read_text() == \
        "2 \\left(W X - Y\\right) X^{\\top}\n"
    assert run.stderr == "verified exactly (sympy.diff, entrywise) and by central differences\n"


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`matcalc … | head -c 100`: the reader leaves early; no BrokenPipe error, exit 0."""
    proc = subprocess.Popen(MATCALC + ["derive", "--layers", ",".join(["16"] * 40),
                                       "--format", "steps", "--no-verify"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert len(proc.stdout.read(100)) == 100
    proc.stdout.close()                         # more than a pipe's buffer is still to come
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert err == "given that each column of Y sums to 1 (one-hot targets)\n"   # provenance


def test_the_placeholder_of_elementwise_bodies_is_not_a_variable(capsys):
    code, out, err = _run(capsys, "grad", "sum(sigmoid(W @ x))", "--wrt", "W")
    assert code == 0
    assert out.splitlines()[0].endswith("(W: n×m, x: m×1)")
    assert "_t" not in out


@pytest.mark.parametrize("shapes, fragment", [
    (["--shape", "Q=3x4"], "--shape declares Q, which the expression does not use "
                           "(its variables: A, X)"),
    (["--shape", "X=3x4", "--shape", "X=4x4"], "--shape gives X twice"),
])
def test_shape_declarations_must_be_used_once(capsys, shapes, fragment):
    code, out, err = _run(capsys, "grad", "tr(A @ X)", "--wrt", "X", *shapes)
    assert code == 2 and fragment in err and out == ""


def test_a_bad_label_is_named_by_its_index_in_the_users_file(capsys, tmp_path):
    X = np.random.default_rng(0).random((40, 5))
    y = np.arange(40) % 3
    y[29] = 7
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    code, out, err = _run(capsys, "train", "--layers", "5,8,3", "--data",
                          str(tmp_path / "X.npy"), str(tmp_path / "y.npy"),
                          "-o", str(tmp_path / "w.npz"))
    assert code == 2 and "label 7 at index 29 is outside 0..2" in err
    assert not (tmp_path / "w.npz").exists()
