"""The CLI: results as the issue shows them; bad input gets a message and exit code 2."""
import pytest

from matcalc.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_grad_text(capsys):
    code, out, err = run(capsys, "grad", "tr(X.T @ A @ X)", "--wrt", "X")
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith("∂f/∂X = (A + A.T) @ X")
    assert first == "∂f/∂X = (A + A.T) @ X    (X: n×m, A: n×n)"
    assert out == first + "\n"                        # the result alone on stdout
    assert err == "verified exactly (sympy.diff, entrywise) and by central differences\n"


def test_grad_latex(capsys):
    code, out, _ = run(capsys, "grad", "norm(W @ X - Y)**2", "--wrt", "W", "--format", "latex")
    assert code == 0
    assert "\\left(W X - Y\\right) X^{\\top}" in out


def test_grad_steps(capsys):
    code, out, _ = run(capsys, "grad", "logdet(X)", "--wrt", "X", "--format", "steps")
    assert code == 0
    assert "d(logdet(X)) = tr(inv(X) @ dX)" in out
    assert out.strip().splitlines()[-1].endswith("∂f/∂X = inv(X).T")


def test_grad_numpy_runs(capsys):
    import numpy as np
    code, out, _ = run(capsys, "grad", "sum(sigmoid(W @ X + b @ ones(1, N)))", "--wrt", "b",
                       "--format", "numpy")
    assert code == 0
    assert "def grad_b(" in out and "np.ones" not in out
    ns = {}
    exec(compile(out, "<generated>", "exec"), ns)
    rng = np.random.default_rng(0)
    W, X, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 5)), rng.normal(size=(3, 1))
    args = {"W": W, "X": X, "b": b}
    import inspect
    fn = ns["grad_b"]
    got = fn(*[args[p] for p in inspect.signature(fn).parameters])
    s = 1 / (1 + np.exp(-(W @ X + b)))
    np.testing.assert_allclose(got, (s * (1 - s)).sum(axis=1, keepdims=True))


def test_shape_declarations(capsys):
    code, out, _ = run(capsys, "grad", "tr(A @ X @ B)", "--wrt", "X", "--shape", "X=3x4",
                       "--shape", "A=2x3")
    assert code == 0 and "X: 3×4" in out and "A: 2×3" in out and "B: 4×2" in out


def test_assumption_on_the_command_line(capsys):
    code, out, err = run(capsys, "grad", "-sum(Y * logsoftmax(W @ X))", "--wrt", "W",
                         "--assume", "sum(Y, axis=0) == 1")
    assert code == 0
    assert "(softmax(W @ X) - Y) @ X.T" in out
    assert "given that each column of Y sums to 1" in err and "given" not in out
    code, out, _ = run(capsys, "grad", "norm(W @ X - Y)**2 + lam*norm(W)**2", "--wrt", "W")
    assert out.splitlines()[0].endswith("(W: n×m, X: m×p, Y: n×p, lam: scalar)")


@pytest.mark.parametrize("argv, fragment", [
    (["grad", "W @ X", "--wrt", "W", "--shape", "W=3x4", "--shape", "X=5x10"],
     "W (3×4) by X (5×10)"),
    (["grad", "W @ X", "--wrt", "W"], "not a scalar"),
    (["grad", "tr(X)", "--wrt", "Y"], "does not occur"),
    (["grad", "tr(expp(X))", "--wrt", "X"], "^"),
    (["grad", "tr(X @ )", "--wrt", "X"], "^"),
    (["grad", "__import__('os')", "--wrt", "X"], "error"),
    (["grad", "X.shape", "--wrt", "X"], ".T"),
    (["grad", "(lambda: X)()", "--wrt", "X"], "error"),
    (["grad", "sum(X)" + " + sum(X)" * 400, "--wrt", "X"], "long"),
    (["grad", "tr(X)", "--wrt", "X", "--shape", "X=3"], "error"),
    (["grad", "tr(X)", "--wrt", "X", "--shape", "X3x3"], "NAME=SHAPE"),
])
def test_bad_input_exit_code_2(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    assert fragment in err
    assert out == ""


def test_derive_text(capsys):
    code, out, err = run(capsys, "derive", "--layers", "64,128,10", "--hidden", "sigmoid",
                         "--loss", "cross-entropy")
    assert code == 0, err
    lines = out.splitlines()
    assert "delta2 = S - Y" in lines and "delta1 = (W2.T @ delta2) * A1*(1 - A1)" in lines
    assert "dW1 = 1/N*delta1 @ X.T" in lines
    assert err.splitlines() == ["given that each column of Y sums to 1 (one-hot targets)",
                                "verified: every gradient, by central differences"]


def test_derive_latex_and_shapes(capsys):
    code, out, _ = run(capsys, "derive", "--layers", "64,128,10", "--format", "latex",
                       "--shapes")
    assert code == 0
    assert out.startswith("\\begin{align*}")
    assert r"\delta_{2} &= S - Y && \in \mathbb{R}^{10 \times N}" in out
    assert r"\frac{\partial L}{\partial W_{1}} &= \frac{1}{N} \delta_{1} X^{\top}" in out


def test_derive_steps(capsys):
    code, out, _ = run(capsys, "derive", "--layers", "4,5,3", "--format", "steps")
    assert code == 0
    assert "delta2 := S - Y" in out and "d(sigmoid(Z1))" in out


def test_report_writes_tex_and_pdf(capsys, tmp_path):
    import shutil
    out_tex = tmp_path / "mlp.tex"
    code, out, err = run(capsys, "report", "--layers", "8,6,3", "--hidden", "tanh", "-o",
                         str(out_tex))
    assert code == 0, err
    assert r"\begin{document}" in out_tex.read_text()
    if shutil.which("pdflatex"):
        assert (tmp_path / "mlp.pdf").stat().st_size > 1000


@pytest.mark.parametrize("argv, fragment", [
    (["derive", "--layers", "64"], "at least an input and an output"),
    (["derive", "--layers", "64,x,10"], "--layers takes sizes separated by commas"),
    (["derive", "--layers", "64,10,10", "--hidden", "swish"], "unknown activation 'swish'"),
    (["derive", "--layers", "64,10", "--loss", "focal"], "unknown loss 'focal'"),
    (["derive", "--layers", "64,10,1", "--loss", "cross-entropy"], "at least 2 output units"),
    (["derive", "--layers", "64,10", "--l2", "-1"], "≥ 0"),
    (["derive", "--layers", "64,10", "--l2", "much"], "takes a number"),
])
def test_derive_bad_input_exit_code_2(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2 and fragment in err and "Traceback" not in err
