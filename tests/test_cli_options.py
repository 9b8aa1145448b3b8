"""The CLI's options are spelled one way everywhere and refuse bad values before any work:
--verify on every command, --data with --data-dir, --seed, --binary, --plot, and a run that
learned nothing says so (issue 17)."""
import argparse

import numpy as np
import pytest

from matcalc.cli import build_parser, main
from matcalc.cli import networks
from matcalc.train import distributed

NET = ["--layers", "64,10"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _subcommands():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def test_every_command_takes_verify_spelled_the_same():
    for name, sub in _subcommands().items():
        flags = [a for a in sub._actions if "--verify" in a.option_strings]
        assert len(flags) == 1, name
        assert "none" in flags[0].choices or name == "check", name   # a check is a proof
        assert flags[0].default in ("both", "numeric"), name


def test_derive_verify_none_is_the_old_no_verify(capsys):
    argv = ["derive", "--layers", "4,3,2", "--hidden", "tanh"]
    code, out, err = run(capsys, *argv, "--verify", "none")
    assert code == 0 and "verified" not in err
    assert run(capsys, *argv, "--no-verify") == (0, out, err)      # kept as an alias
    code, proven, err = run(capsys, *argv)
    assert code == 0 and proven == out and "verified: every gradient" in err


def test_a_network_command_given_a_proof_it_has_not(capsys):
    with pytest.raises(SystemExit) as e:
        main(["derive", "--layers", "4,3,2", "--verify", "exact"])
    assert e.value.code == 2
    assert "invalid choice: 'exact' (choose from 'numeric', 'none')" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["codegen", "-o", "{tmp}/t.py"],
                                     ["report", "--no-pdf", "-o", "{tmp}/r.tex"]])
def test_verify_none_skips_the_proof(command, tmp_path, capsys, monkeypatch):
    def no(b):
        raise AssertionError("proved")
    monkeypatch.setattr(networks, "verify_backprop", no)
    argv = [a.format(tmp=tmp_path) for a in command] + ["--layers", "4,3,2"]
    assert main(argv + ["--verify", "none"]) == 0
    assert main(argv) == 3          # the default proves (here: the stub says so)


def _refused_at_once(capsys, tmp_path, *argv):
    """(exit code, stderr) of a train run that must stop before any work: nothing written,
    no proof said, no training."""
    out = tmp_path / "w.npz"
    try:
        code = main(["train", *NET, "--epochs", "1", "-o", str(out), *argv])
    except SystemExit as e:          # argparse's own refusals
        code = e.code
    _, err = capsys.readouterr()
    assert "derived" not in err and "training" not in err, err
    assert not out.exists() and not list(tmp_path.glob("*.json"))
    return code, err


def test_data_and_data_dir_together_are_refused(capsys, tmp_path):
    code, err = _refused_at_once(capsys, tmp_path, "--data", "x.npy", "y.npy",
                                 "--data-dir", str(tmp_path))
    assert code == 2 and "argument --data-dir: not allowed with argument --data" in err


@pytest.mark.parametrize("seed", ["-1", "two"])
def test_a_negative_seed_is_refused_before_the_proof(capsys, tmp_path, seed):
    code, err = _refused_at_once(capsys, tmp_path, "--seed", seed)
    assert code == 2 and f"argument --seed: takes an integer ≥ 0, not '{seed}'" in err


@pytest.mark.parametrize("name, says", [
    ("missing/curves.png", "the folder {tmp}/missing does not exist"),
    ("", "--plot {tmp}/ is a folder; give a file name such as {tmp}/curves.png"),
])
def test_plot_to_a_folder_or_into_a_missing_one_is_refused_at_once(capsys, tmp_path, name,
                                                                   says):
    code, err = _refused_at_once(capsys, tmp_path, "--plot", f"{tmp_path}/{name}")
    assert code == 2 and says.format(tmp=tmp_path) in err


def test_plot_in_a_format_matplotlib_does_not_write_is_refused_at_once(capsys, tmp_path):
    pytest.importorskip("matplotlib", reason="the formats are matplotlib's")
    code, err = _refused_at_once(capsys, tmp_path, "--plot", str(tmp_path / "c.docx"))
    assert code == 2 and "matplotlib does not write .docx files" in err


def test_binary_classes_missing_from_the_data_are_named(capsys, tmp_path):
    """--binary 3,8 on labels 0–9 without an 8 trained a one-class model."""
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2, 3, 4, 5, 6, 7, 9], 12)
    X = rng.standard_normal((len(y), 64))
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", y)
    out = tmp_path / "w.npz"
    code, _, err = run(capsys, "train", "--layers", "64,1", "--loss", "binary-cross-entropy",
                       "--epochs", "1", "--data", str(tmp_path / "x.npy"),
                       str(tmp_path / "y.npy"), "-o", str(out))
    assert code == 2 and "the two classes 3 and 8: no sample has the label 8" in err
    assert not out.exists()


def test_a_run_at_chance_accuracy_says_so(capsys, tmp_path):
    """A learning rate that learns nothing: exit 0 (the run did what was asked), and a warning."""
    code, out, err = run(capsys, "train", *NET, "--epochs", "1", "--lr", "1e-12", "-o",
                         str(tmp_path / "w.npz"))
    accuracy = float(out.split("test accuracy ")[1].split("%")[0])
    assert code == 0 and accuracy < 15
    assert (f"warning: test accuracy {accuracy:.1f}% is chance level (guessing one of 10 "
            "classes scores 10%): the network learned nothing") in err
    code, out, err = run(capsys, "train", *NET, "--epochs", "1", "-o", str(tmp_path / "v.npz"))
    assert code == 0 and "warning" not in err


def test_train_verify_none_trains_unproven_and_says_so(capsys, tmp_path, monkeypatch):
    import matcalc.api
    monkeypatch.setattr(matcalc.api, "verify_backprop", lambda b: 1 / 0)
    code, _, err = run(capsys, "train", *NET, "--epochs", "1", "--verify", "none", "-o",
                       str(tmp_path / "w.npz"))
    assert code == 0 and "derived the backprop of 64-10 in" in err and "(not proven)" in err


def test_version_imports_neither_sympy_nor_the_calculus():
    """`matcalc --version` took 0.85 s importing SymPy; it now reads the metadata alone (and
    `import matcalc` is lazy until a front door is used)."""
    import subprocess
    import sys
    code = ("import sys\nfrom matcalc.cli import main\nassert main(['--version']) == 0\n"
            "print(sorted(m for m in ('sympy', 'matcalc.api', 'matcalc.cli.parser') "
            "if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("matcalc ") and run.stdout.splitlines()[-1] == "[]"
    run = subprocess.run([sys.executable, "-c", "import matcalc, sys; "
                          "print('sympy' in sys.modules, matcalc.grad('tr(A @ X)', 'X'))"],
                         capture_output=True, text=True)
    assert run.stdout == "False ∂f/∂X = A.T\n", run.stderr


def test_more_processes_than_cores_are_refused_before_the_proof(tmp_path, capsys, monkeypatch):
    """--nproc 64 on a 2-core machine was accepted (about 280 MB a process): refused at once,
    with the figures, nothing written (before torch is even imported)."""
    monkeypatch.setattr(distributed, "_cores", lambda: 2)
    out = tmp_path / "w.npz"
    code = main(["train", "--layers", "64,10", "--backend", "torch", "--nproc", "64",
                 "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "--nproc 64 on the CPU, but this machine has 2 cores: give --nproc 2 or fewer" in err
    assert "derived" not in err and list(tmp_path.iterdir()) == []


def test_processes_beyond_the_memory_are_refused_with_the_figures(tmp_path, capsys,
                                                                  monkeypatch):
    monkeypatch.setattr(distributed, "_cores", lambda: 64)
    monkeypatch.setattr(distributed, "available_memory", lambda: 2**30)    # 1 GiB free
    code = main(["train", "--layers", "64,10", "--backend", "torch", "--nproc", "8",
                 "-o", str(tmp_path / "w.npz")])
    err = capsys.readouterr().err
    assert code == 2
    assert ("--nproc 8: 8 processes need about 2.2 GiB (about 280 MB each, before the data), "
            "but only 1.0 GiB of memory is available: give --nproc 3 or fewer") in err
    assert list(tmp_path.iterdir()) == []
    # within the figures, the check lets the run through
    distributed.check_parallel(3, "torch")


def test_matcalc_train_stays_the_function_when_the_cli_loaded_the_package_first():
    """The lazy front doors keep `from matcalc import train` the function, though the CLI
    imports the subpackage train/ of the same name first."""
    import subprocess
    import sys
    code = ("import matcalc.cli.parser, matcalc.train.trainer, inspect\n"
            "from matcalc import train\nimport matcalc\n"
            "print(inspect.isfunction(train), matcalc.train is train, train.__name__)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout == "True True train\n", run.stderr
