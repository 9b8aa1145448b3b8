"""Trust what users take away: printed code is run before it is printed, and no input makes
matcalc fail with an internal error (exit 3); bad input gets a clear message (exit 2) in the
words of the interface it is shown in."""
import gzip
import inspect
import struct
import sys

import numpy as np
import pytest
import sympy as sp

from matcalc.api import check, grad
from matcalc.cli import main
from matcalc.core import functions
from matcalc.core.errors import InternalError, MatcalcError, ShapeError, VerificationError
from matcalc.core.expr import entry_sum, hadamard, matmul, matrix, transpose
from matcalc.verify import assert_gradient, evaluate, verify_code


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _sizes(g):
    """A value for each variable of g: distinct sizes 4, 3, 5, … for its dimensions."""
    sizes, free = {}, iter([4, 3, 5, 6, 2, 7])
    rng = np.random.default_rng(7)
    values = {}
    for a in g.arguments():
        if isinstance(a, sp.MatrixSymbol):
            shape = []
            for d in a.shape:
                if d.is_Integer:
                    shape.append(int(d))
                else:
                    shape.append(sizes.setdefault(d, next(free)))
            values[a] = rng.uniform(-1, 1, shape)
        else:
            values[a] = rng.uniform(0.5, 1.5)
    return values


def _run_printed(out, g):
    """Execute the printed module, call its function with random values, return both."""
    ns = {}
    exec(compile(out, "<printed>", "exec"), ns)
    fn = ns[f"grad_{g.wrt.name}"]
    values = _sizes(g)
    by_name = {str(a): v for a, v in values.items()}
    params = list(inspect.signature(fn).parameters)
    got = fn(*[by_name[p.rstrip("_") if p.rstrip("_") in by_name and p not in by_name else p]
               for p in params])
    return np.asarray(got), evaluate(g.expr, values)


# ---------------------------------------------------------------- A1: printed code is run

STEP_POSITIONS = [
    ("sum(relu(X))", "X"),                            # the mask alone is the result
    ("-sum(relu(X))", "X"),                           # negated
    ("sum(relu(-X))", "X"),                           # negated inside
    ("sum(-X * step(A))", "X"),
    ("sum(X - relu(X))", "X"),                        # subtracted from a number
    ("sum(X * (step(X) - step(A)))", "X"),            # a mask minus a mask
    ("sum(X * (step(A) + step(B)))", "X"),            # a mask plus a mask (not logical or)
    ("sum(X / (1 + step(A)))", "X"),                  # divided
    ("sum(X * step(A) / (A * A + 1))", "X"),
    ("sum(relu(X) / 2)", "X"),
    ("sum(relu(X)**3)", "X"),                         # powered
    ("sum(X * (1 - step(A))**2)", "X"),
    ("sum(relu(X) * relu(-X))", "X"),
    ("sum(relu(relu(X)))", "X"),
    ("(1/6)*norm(y - relu(X @ w + ones(6,1) @ b))**2", "w"),    # the example
]


@pytest.mark.parametrize("expr, wrt", STEP_POSITIONS)
def test_printed_numpy_code_runs_and_matches_the_gradient(capsys, expr, wrt):
    shapes = ["--shape", "X=6x3", "--shape", "b=1x1"] if wrt == "w" else []
    code, out, err = run(capsys, "grad", expr, "--wrt", wrt, "--format", "numpy", *shapes)
    assert code == 0, err
    g = grad(expr, wrt, shapes={"X": (6, 3), "b": (1, 1)} if wrt == "w" else None)
    got, ref = _run_printed(out, g)
    assert got.dtype.kind == "f", got.dtype           # a number, never a boolean mask
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


def test_the_mask_stays_where_it_is_a_factor():
    """relu' as a boolean mask multiplied in (the benchmark's fast path) where it is safe."""
    g = grad("(1/6)*norm(y - relu(X @ w + ones(6,1) @ b))**2", "w",
             shapes={"X": (6, 3), "b": (1, 1)})
    src = g.numpy_source()
    assert "* (X @ w + b > 0)" in src and "heaviside" not in src
    assert "np.heaviside(X, 0.0)" in grad("-sum(relu(X))", "X").numpy_source()


def _old_step(monkeypatch):
    """The spelling as it was: a boolean mask everywhere."""
    old = functions.FUNCTIONS["step"]
    monkeypatch.setitem(functions.FUNCTIONS, "step",
                        functions.Fn(old.build, old.reference, old.latex, "({} > 0)"))


def test_wrong_code_is_an_internal_error_and_never_printed(capsys, monkeypatch):
    _old_step(monkeypatch)
    code, out, err = run(capsys, "grad", "-sum(relu(X))", "--wrt", "X", "--format", "numpy",
                         "--verify", "none")
    assert code == 3 and out == ""
    assert err.startswith("matcalc: internal error: ") and "generated NumPy code" in err
    assert "TypeError" in err and "Traceback" not in err


def test_wrong_code_raises_in_the_python_api(monkeypatch):
    _old_step(monkeypatch)
    g = grad("sum(X * A * (step(A) + step(B)))", "X")   # a logical or: wrong values, silently
    with pytest.raises(InternalError, match="generated NumPy code is wrong.* at entry"):
        g.numpy()
    with pytest.raises(InternalError):
        g.numpy_source()


def test_verify_code_names_shape_dtype_and_value_mismatches():
    X, A = matrix("X", "n", "m"), matrix("A", "n", "m")
    f, G = entry_sum(hadamard(A, X)), A
    verify_code(lambda X, A: A, [X, A], f, X, G)
    with pytest.raises(InternalError, match=r"returned shape \(\d+, \d+\), not"):
        verify_code(lambda X, A: A.T, [X, A], f, X, G)
    with pytest.raises(InternalError, match="returned bool values, not floats"):
        verify_code(lambda X, A: A > 0, [X, A], f, X, G)
    with pytest.raises(InternalError, match=r"at entry \(\d+, \d+\) where the gradient is"):
        verify_code(lambda X, A: 2 * A, [X, A], f, X, G)
    with pytest.raises(InternalError, match="raised ZeroDivisionError"):
        verify_code(lambda X, A: 1 / 0, [X, A], f, X, G)
    assert not issubclass(InternalError, MatcalcError)      # the CLI's exit code 3


# ---------------------------------------------------------------- B: no internal errors

@pytest.mark.parametrize("expr, wrt, first", [
    ("(norm(X - A)**2)**0.5", "X", "∂f/∂X = 1/norm(X - A)*(X - A)"),    # was: noncommutative
    ("sum(sign(X))", "X", "∂f/∂X = zeros(n, m)"),                       # was: DiracDelta
    ("sum(X * sign(A))", "X", "∂f/∂X = sign(A)"),
    ("log(abs(det(X)))", "X", "∂f/∂X = "),                              # was: a printer error
    ("sum(abs(A @ x - y))", "x", "∂f/∂x = A.T @ sign(A @ x - y)"),
    ("sum(X / ones(n, m))", "X", "∂f/∂X = ones(n, m)"),
])
def test_results_that_were_internal_errors(capsys, expr, wrt, first):
    code, out, err = run(capsys, "grad", expr, "--wrt", wrt)
    assert code == 0, err
    assert out.startswith(first)
    assert err.endswith("verified exactly (sympy.diff, entrywise) and by central differences\n")


@pytest.mark.parametrize("expr, wrt, message", [
    ("tr(inv(zeros(2, 2)) @ X)", "X", "zeros(2, 2) is singular: it has no inverse"),
    ("sum(inv(zeros(2, 2)) @ X)", "X", "zeros(2, 2) is singular: it has no inverse"),
    ("tr(inv(ones(n, n)) @ X)", "X", "ones(n, n) is singular: it has no inverse"),
    ("tr(inv(x @ x.T) @ A)", "A", "x @ x.T is singular for every value of its variables"),
    ("sum(A / eye(n))", "A", "1/eye(n) divides by zero or is not finite: eye(n) has entries "
                             "equal to 0"),
    ("tr(X @ A / eye(n))", "X", "1/eye(n) divides by zero"),
    ("sum(X * log(zeros(n, m)))", "X", "log(zeros(n, m)) divides by zero or is not finite"),
])
def test_singular_and_undefined_constants_are_bad_input(capsys, expr, wrt, message):
    code, out, err = run(capsys, "grad", expr, "--wrt", wrt)
    assert code == 2 and out == ""
    assert err == f"matcalc: error: {message}" + err[len(f"matcalc: error: {message}"):]
    assert "internal error" not in err


def test_a_matrix_that_is_singular_at_every_point_under_the_numeric_proof(capsys):
    code, out, err = run(capsys, "grad", "tr(inv(x @ x.T) @ A)", "--wrt", "A", "--verify",
                         "numeric")
    assert code == 2 and out == "" and "could not find a point where f = " in err


@pytest.mark.parametrize("argv, signature", [
    (["sum(np * X)", "--wrt", "X", "--shape", "np=scalar"], "def grad_X(np_, X):"),
    (["tr(np @ X)", "--wrt", "X", "--shape", "np=3x3"], "def grad_X(np_, X):"),
    (["tr(X @ X.T) * float", "--wrt", "X", "--shape", "float=scalar"],
     "def grad_X(X, float_):"),
])
def test_a_variable_named_like_numpy_is_renamed_in_the_code(capsys, argv, signature):
    code, out, err = run(capsys, "grad", *argv, "--format", "numpy")
    assert code == 0, err
    assert signature in out and "is the variable" in out
    g = grad(argv[0], "X", shapes={argv[4].split("=")[0]: argv[4].split("=")[1]})
    got, ref = _run_printed(out, g)
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_a_function_named_like_the_generated_one_is_renamed(capsys):
    code, out, err = run(capsys, "grad", "sum(grad_X * X)", "--wrt", "X", "--format", "numpy",
                         "--shape", "grad_X=scalar")
    assert code == 0, err
    assert "def grad_X(grad_X_, X):" in out


# ---------------------------------------------------------------- domains: inequalities

def test_an_inequality_gives_the_proof_its_domain(capsys):
    code, out, err = run(capsys, "grad", "-sum(log(b - A @ x))", "--wrt", "x",
                         "--assume", "b - A @ x > 0")
    assert code == 0, err
    assert out.startswith("∂f/∂x = A.T @ (1/(b - A @ x))")
    assert err == ("given that b - A @ x > 0\n"
                   "verified exactly (sympy.diff, entrywise) and by central differences\n")


def test_without_the_domain_the_cli_advises_its_own_flag(capsys):
    code, out, err = run(capsys, "grad", "-sum(log(b - A @ x))", "--wrt", "x")
    assert code == 2 and out == ""
    assert 'constrain the inputs with --assume, such as --assume "b - A @ x > 0"' in err
    assert "assumptions=" not in err and "assume=[" not in err


def test_the_python_api_keeps_python_advice():
    g = grad("-sum(log(b - A @ x))", "x")
    with pytest.raises(VerificationError) as info:
        g.verify()
    assert 'assume=["b - A @ x > 0"] in grad' in str(info.value)
    assert "--assume" not in str(info.value)
    grad("-sum(log(b - A @ x))", "x", assume="b - A @ x > 0").verify()   # one, not a list


@pytest.mark.parametrize("expr, wrt, assume, first", [
    ("sum(log(X - A))", "X", "X > A", "∂f/∂X = 1/(X - A)"),
    ("sum(log(A - X))", "X", "X < A", "∂f/∂X = -1/(A - X)"),
    ("sum(sqrt(lam - X))", "X", "lam - X > 0", "∂f/∂X = (-1/2)*1/sqrt(lam - X)"),
    ("sum(log(X * A))", "X", "X * A > 0", "∂f/∂X = A / (A * X)"),       # drawn until it holds
    ("sum(log(X @ A))", "X", "X @ A >= 0", "∂f/∂X = (1/(X @ A)) @ A.T"),
    ("log(lam) * sum(X)", "X", "lam > 0", "∂f/∂X = log(lam)*ones(n, m)"),
    ("sum(log(X))", "X", "X > 0", "∂f/∂X = 1/X"),
])
def test_inequalities(capsys, expr, wrt, assume, first):
    code, out, err = run(capsys, "grad", expr, "--wrt", wrt, "--assume", assume)
    assert code == 0, err
    assert out.startswith(first)
    assert err.startswith("given that ")


@pytest.mark.parametrize("assume, message", [
    ("2 > 1", "the assumption 2 > 1 constrains no variable"),
    ("X != 1", "an assumption is one equation or inequality"),
    ("0 < X < 1", "an assumption is one equation or inequality"),
])
def test_bad_inequalities(capsys, assume, message):
    code, out, err = run(capsys, "grad", "sum(log(X))", "--wrt", "X", "--assume", assume)
    assert code == 2 and out == "" and message in err


# ---------------------------------------------------------------- equations the proof honours

@pytest.mark.parametrize("expr, wrt, assume, first, given", [
    ("tr(A @ X)", "X", "A == 2", "∂f/∂X = 2*ones(m, n)", "every entry of A is 2"),
    ("-norm(B + A)**2", "B", "A == B", "∂f/∂B = (-4)*B", "A = B"),
    ("tr(A @ X) + tr(B.T @ X)", "X", "A == B.T", "∂f/∂X = 2*B", "A = B.T"),
    ("tr(A.T @ A @ X)", "X", "A.T @ A == eye(m)", "∂f/∂X = eye(m)", "A.T @ A = eye(m)"),
    ("x.T @ A @ x * lam", "x", "lam == 3", "∂f/∂x = (3*A + 3*A.T) @ x", "lam = 3"),
])
def test_the_proof_honours_the_simplifiers_equations(capsys, expr, wrt, assume, first, given):
    """The simplifier rewrote lhs to rhs; the proof draws its points where lhs = rhs."""
    code, out, err = run(capsys, "grad", expr, "--wrt", wrt, "--assume", assume)
    assert code == 0, err
    assert out.startswith(first)
    assert err.startswith(f"given that {given}\n")


def test_an_equation_the_proof_cannot_honour_is_said_so(capsys):
    code, out, err = run(capsys, "grad", "tr(X.T @ X @ A)", "--wrt", "X", "--assume",
                         "X.T @ X == eye(m)")
    assert code == 2 and out == ""
    assert err == ("matcalc: error: cannot prove a gradient under the assumption X.T @ X = "
                   "eye(m): it involves X, and matcalc cannot draw points where it holds; skip "
                   "the proof with --verify none\n")
    code, out, err = run(capsys, "grad", "tr(X.T @ X @ A)", "--wrt", "X", "--assume",
                         "X.T @ X == eye(m)", "--verify", "none")
    assert code == 0 and err == "given that X.T @ X = eye(m)\n"


# ---------------------------------------------------------------- messages speak the interface

def test_exact_proof_size_limit_names_the_cli_flag(capsys):
    code, out, err = run(capsys, "grad", "sum(X * X)", "--wrt", "X", "--shape", "X=30x30",
                         "--verify", "exact")
    assert code == 2 and out == ""
    assert "--verify numeric" in err and "verify_numeric" not in err


def _idx(path, array, code):
    """An IDX file: magic 0 0 code ndim, big-endian sizes, then the data."""
    header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    path.write_bytes(header + array.astype(array.dtype.newbyteorder(">")).tobytes())


def test_mnist_pixels_that_are_not_bytes_name_the_cli_way_out(capsys, tmp_path):
    images = np.zeros((3, 2, 2), dtype=np.float32)
    labels = np.array([0, 1, 2], dtype=np.uint8)
    for part, n in (("train", 3), ("t10k", 3)):
        _idx(tmp_path / f"{part}-images-idx3-ubyte", images[:n], 0x0D)
        _idx(tmp_path / f"{part}-labels-idx1-ubyte", labels[:n], 0x08)
    out_file = tmp_path / "w.npz"
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run(capsys, "train", "--layers", "4,3,10", "--data-dir", str(tmp_path),
                         "--epochs", "1", "-o", str(out_file))
    assert code == 2, err
    assert "pixels are float32" in err and "--data X.npy y.npy" in err
    assert "scale=False" not in err and "scale=True" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before      # nothing written
    from matcalc.train.data import DataError, load_mnist
    with pytest.raises(DataError, match="pass scale=False"):            # Python keeps Python
        load_mnist(tmp_path)


@pytest.mark.parametrize("argv", [
    ["-sum(log(b - A @ x))", "--wrt", "x"],
    ["sum(X * X)", "--wrt", "X", "--shape", "X=30x30", "--verify", "exact"],
    ["norm(X, 'nuc')", "--wrt", "X", "--shape", "X=4x5", "--verify", "exact"],
])
def test_no_python_advice_on_the_command_line(capsys, argv):
    code, out, err = run(capsys, "grad", *argv)
    assert code == 2
    for python in ("verify_numeric", "verify_exact(", "assumptions=", "assume=[", "scale=",
                   "shapes={"):
        assert python not in err, (python, err)


# ---------------------------------------------------------------- the Python API

def test_grad_of_none_names_the_parameter():
    with pytest.raises(TypeError, match=r"^grad: f must be text .* not NoneType$"):
        grad(None, "X")
    with pytest.raises(TypeError, match=r"^grad: wrt must be .* not int$"):
        grad("sum(X)", 3)
    with pytest.raises(TypeError, match=r"^grad: shapes must be a dict"):
        grad("sum(X)", "X", shapes=[("X", (3, 4))])


def test_a_claim_of_the_wrong_shape_is_a_verification_error():
    X, G = matrix("X", 3, 4), matrix("G", 4, 3)
    with pytest.raises(VerificationError) as info:
        assert_gradient(entry_sum(hadamard(X, X)), X, G)
    assert not isinstance(info.value, ShapeError)
    assert str(info.value).startswith("claimed gradient is 4×3 but X is 3×4: the shapes differ")
    with pytest.raises(VerificationError, match="the shapes differ"):
        assert_gradient(entry_sum(hadamard(X, X)), X, transpose(matmul(2, X)))


def test_verify_code_is_run_by_gradient_numpy():
    g = grad("sum(relu(X) * A)", "X")
    src, fn = g._numpy(None)
    assert "def grad_X(" in src and callable(fn)
    assert g.numpy_source() == src


# ---------------------------------------------------------------- found by fuzzing

def test_a_size_no_variable_gives_is_an_argument_of_the_code(capsys):
    """n in ones(n, n) is no variable's size: the generated function takes it (was: exit 3,
    'cannot read the dimension n from the shapes of A')."""
    code, out, err = run(capsys, "grad", "tr(ones(n, n)) * norm(A)", "--wrt", "A", "--format",
                         "numpy")
    assert code == 0, err
    assert "def grad_A(A, n):" in out
    ns = {}
    exec(compile(out, "<printed>", "exec"), ns)
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(ns["grad_A"](a, 4), 4 * a / np.linalg.norm(a))


@pytest.mark.parametrize("expr, first", [
    ("-tr(X)", "∂f/∂X = -eye(n)"),               # not taken for an unknown option -t…
    ("-sum(log(X))", "∂f/∂X = -1/X"),
])
def test_an_expression_may_start_with_a_minus(capsys, expr, first):
    code, out, err = run(capsys, "grad", expr, "--wrt", "X")
    assert code == 0, err
    assert out.startswith(first)


def test_an_inequality_no_variable_solves_is_drawn_for_and_said_so(capsys):
    code, out, err = run(capsys, "grad", "tr(X)", "--wrt", "X", "--assume", "log(X) > 0")
    assert code == 2 and out == ""
    assert err.startswith("matcalc: error: could not draw a point where the assumptions hold "
                          "in 200 tries: log(X) > 0; matcalc solves e > 0 for a variable")
    code, out, err = run(capsys, "grad", "tr(X)", "--wrt", "X", "--assume", "X - 1 > 0")
    assert code == 0, err


def test_an_infinite_branch_in_the_exact_reference(capsys):
    """1/relu(x) is infinite for x ≤ 0: the exact proof's program had no mpmath spelling for
    that branch (was: exit 3, KeyError 'ComplexInfinity')."""
    code, out, err = run(capsys, "grad", "(relu(norm(X)))**-1", "--wrt", "X")
    assert code == 0, err
    assert out.startswith("∂f/∂X = ")


@pytest.mark.parametrize("expr, first", [
    ("sum(abs(tanh(relu(X))))", "∂f/∂X = (1 - tanh(relu(X))**2)*step(X)"),
    ("sum(abs(sigmoid(abs(X))))", "∂f/∂X = (1 - sigmoid(abs(X)))*sigmoid(abs(X))*sign(X)"),
])
def test_custom_functions_of_real_arguments_are_real(capsys, expr, first):
    """|tanh(relu(x))| was differentiated as a complex modulus, with re and im, and its
    gradient was 0/0 wherever x < 0 (the proof then said matcalc's answer was wrong)."""
    code, out, err = run(capsys, "grad", expr, "--wrt", "X")
    assert code == 0, err
    assert out.startswith(first + "    (") and "re(" not in out


def _nested(f, depth, inner="X"):
    for _ in range(depth):
        inner = f"{f}({inner})"
    return inner


def test_softmaxes_nested_too_deep_are_refused_at_once(capsys):
    """Their one-expression gradient grows threefold per level: refused, not a 20 s wait."""
    import time
    expr = "sum(" + _nested("softmax", 6, "X").replace("softmax(", "softmax(W @ ") + ")"
    start = time.perf_counter()
    code, out, err = run(capsys, "grad", expr, "--wrt", "W")
    assert code == 2 and out == ""
    assert "nests softmax, logsoftmax or logsumexp 6 deep around W" in err
    assert "matcalc derive" in err and time.perf_counter() - start < 5
    code, out, _ = run(capsys, "grad", expr.replace("softmax(W @ X)", "W @ X", 1), "--wrt", "W",
                       "--verify", "none")
    assert code == 0 and out.startswith("∂f/∂W = ")           # five deep is fine


def test_numpy_code_too_deep_for_pythons_parser_is_refused(capsys):
    code, out, err = run(capsys, "grad", f"sum({_nested('sigmoid', 85)})", "--wrt", "X",
                         "--format", "numpy", "--verify", "none")
    assert code == 2 and out == ""
    assert "the expression is 85 functions deep" in err and "--format text" in err
    code, out, _ = run(capsys, "grad", f"sum({_nested('sigmoid', 85)})", "--wrt", "X",
                       "--verify", "none")
    assert code == 0 and out.startswith("∂f/∂X = ")


# ---------------------------------------------------------------- train --history, report

@pytest.mark.parametrize("history, fragment", [
    ("h.txt", "the history is written as .json or .csv; give a file name such as"),
    ("missing/h.json", "cannot write the history to {tmp}/missing/h.json: the folder "
                       "{tmp}/missing does not exist"),
    ("w.npz.json", None),                                   # fine: a different file
    ("folder.json", "cannot write the history to {tmp}/folder.json: it is a folder"),
])
def test_a_bad_history_path_is_refused_before_training(capsys, tmp_path, history, fragment):
    (tmp_path / "folder.json").mkdir()
    (tmp_path / "w.npz").write_bytes(b"precious")
    code, out, err = run(capsys, "train", "--layers", "64,4,10", "--epochs", "1", "-o",
                         str(tmp_path / "w.npz"), "--history", str(tmp_path / history))
    if fragment is None:
        assert code == 0, err
        return
    assert code == 2, err
    assert fragment.format(tmp=tmp_path) in err and "Traceback" not in err
    assert "epoch   1" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.json", "w.npz"]
    assert (tmp_path / "w.npz").read_bytes() == b"precious"


def test_history_and_weights_at_one_path_are_refused(capsys, tmp_path):
    code, out, err = run(capsys, "train", "--layers", "64,4,10", "--epochs", "1", "-o",
                         str(tmp_path / "w.json"), "--history", str(tmp_path / "w.json"))
    assert code == 2
    assert (f"the history and the weights would both be written to {tmp_path / 'w.json'}; "
            "give them different names") in err
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------- matcalc check: bad claims

@pytest.mark.parametrize("claim, extra, message", [
    ("A.T @ (B.T", [], "matcalc: error: in the claim: syntax error: '(' was never closed\n"
                       "  A.T @ (B.T\n        ^\n"),
    ("B @ A", [], "matcalc: error: the claim B @ A is p×m but X is m×p: ∂f/∂X has the shape "
                  "of X (matcalc uses the denominator layout; a numerator-layout claim is the "
                  "transpose)\n"),
    ("B @ A", ["--shape", "X=3x4", "--shape", "A=2x3"],
     "the claim B @ A is 4×3 but X is 3×4"),
    ("2", [], "the claim 2 is a scalar but X is m×p"),
    ("A.T @ C", [], "matcalc: error: the claim uses C, which is not a variable of "
                    "tr(A @ X @ B) (its variables: A, X, B)\n"),
    ("A @ B", [], "in the claim: cannot multiply A (n×m) by B (p×n): inner dimensions m ≠ p"),
    ("A.T @ B.T", ["--shape", "Z=3x4"], "--shape declares Z, which the expression does not use"),
    ("A.T @ B.T", ["--assume", "A > "], "syntax error"),
])
def test_check_refuses_bad_claims(capsys, tmp_path, monkeypatch, claim, extra, message):
    monkeypatch.chdir(tmp_path)
    for fmt in ("text", "json"):
        code, out, err = run(capsys, "check", "tr(A @ X @ B)", "--wrt", "X", "--claim", claim,
                             "--format", fmt, *extra)
        assert code == 2 and out == "", (out, err)
        assert message in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())                   # nothing written


@pytest.mark.parametrize("argv, message", [
    (["--verify", "none"], "invalid choice: 'none'"),     # a check is a proof
    ([], "the following arguments are required: --claim"),
])
def test_check_options(capsys, argv, message):
    with pytest.raises(SystemExit) as e:
        main(["check", "tr(A @ X @ B)", "--wrt", "X", *argv] +
             (["--claim", "A.T @ B.T"] if argv else []))
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_a_text_claim_to_the_expression_proof_is_named():
    """matcalc.verify.assert_gradient takes expressions: text once read as 'a scalar'."""
    X = matrix("X", 3, 4)
    with pytest.raises(TypeError, match=r"claimed is text \('2\*X'\): "
                                        r"matcalc.assert_gradient parses text"):
        assert_gradient(entry_sum(hadamard(X, X)), X, "2*X")


@pytest.mark.parametrize("k", [sp.Rational(1, 2), sp.Symbol("k", integer=True), 101])
def test_a_sympy_matrix_power_matcalc_cannot_write_as_a_product_is_named(k):
    X = sp.MatrixSymbol("X", 3, 3)
    with pytest.raises(MatcalcError, match=r"^X \*\* .*: matcalc takes integer powers of a "
                                           r"matrix up to 100 in size"):
        grad(sp.Trace(sp.MatPow(X, k)), "X")


def test_report_says_when_it_skips_the_pdf_for_want_of_pdflatex(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-tex-here"))
    code, out, err = run(capsys, "report", "--layers", "4,5,3", "-o", str(tmp_path / "r.tex"))
    assert code == 0, err
    assert out == f"wrote {tmp_path / 'r.tex'}\n"
    assert (f"no PDF: pdflatex is not installed (Debian: apt install texlive-latex-base); "
            f"{tmp_path / 'r.tex'} compiles with any LaTeX") in err.splitlines()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.tex"]


# ---------------------------------------------------------------- Jacobians and Hessians

@pytest.mark.parametrize("argv, message", [
    (["hessian", "A @ X", "--wrt", "X"],
     "A @ X is n×p, not a scalar: a Hessian needs a scalar function; try sum(A @ X) or "
     "tr(A @ X); for a vector or matrix function, take its Jacobian"),
    (["jacobian", "A @ X", "--wrt", "Z"],
     "cannot differentiate with respect to Z: it is not a variable of A @ X (its variables: "
     "A, X)"),
    (["hessian", "x.T @ A @ x", "--wrt", "n"],
     "cannot differentiate with respect to n: it does not occur in x.T @ A @ x"),
    (["jacobian", "inv(X)", "--wrt", "X", "--shape", "X=2x3"],
     "inv needs a square matrix, but X (2×3) is not square"),
    (["hessian", "tr(kron(A, X))", "--wrt", "X", "--shape", "A=2x3"],
     "tr needs a square matrix, but kron(A, X) (2·?×3·?) is not square"),
    (["jacobian", "kron(lam, X)", "--wrt", "X"],
     "kron needs two matrices or vectors, but lam is a scalar"),
    (["jacobian", "A @ X", "--wrt", "X", "--shape", "A=30x40", "--shape", "X=40x50"],
     "the exact proof of the Jacobian ∂vec(F)/∂vec(X)ᵀ would write out 3000000 entries (X is "
     "40×50), more than 4000; declare the dimensions by name (--shape \"X=n x m\") so that it "
     "runs at small sizes, or use --verify numeric"),
    (["jacobian", "A @ X", "--wrt", "A", "--shape", "Q=2x2"],
     "--shape declares Q, which the expression does not use"),
    (["grad", "sum(unvec(X, 2))", "--wrt", "X", "--shape", "X=3x2"],
     "unvec needs a column vector, but X (3×2) is not one"),
    (["grad", "sum(unvec(v, 4))", "--wrt", "v", "--shape", "v=6x1"],
     "unvec: v (6×1) does not cut into columns of 4"),
    (["hessian", "sum(unvec(lam, 2))", "--wrt", "lam"],
     "unvec needs a column vector, but lam (scalar) is not one"),
    (["jacobian", "unvec(v)", "--wrt", "v"], "unvec takes 2 arguments, unvec(v, m), but was given 1"),
    # a scalar wrt: f named as written, not as its 1×1 reading tr(alpha**2)*V
    (["hessian", "V*alpha**2", "--wrt", "alpha"],
     "alpha**2*V is n×m, not a scalar: a Hessian needs a scalar function; try sum(alpha**2*V)"),
    (["grad", "V*alpha**2", "--wrt", "alpha"],
     "alpha**2*V is n×m, not a scalar: a gradient needs a scalar function; try sum(alpha**2*V)"),
])
def test_bad_jacobians_and_hessians(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert err.startswith("matcalc: error: ") and message in err, err
    assert list(tmp_path.iterdir()) == []          # nothing written


@pytest.mark.parametrize("argv, option", [
    (["jacobian", "A @ X", "--wrt", "X", "--layout", "rows"], "--layout"),
    (["hessian", "sum(X)", "--wrt", "X", "--form", "diag"], "--form"),
    (["grad", "sum(X)", "--wrt", "X", "--layout", "rows"], "--layout"),
])
def test_bad_layout_and_form_choices(capsys, argv, option):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and f"argument {option}: invalid choice" in capsys.readouterr().err


def test_jacobian_and_hessian_of_none_name_the_parameter():
    from matcalc import hessian, jacobian
    with pytest.raises(TypeError, match=r"^jacobian: f must be text .* not NoneType$"):
        jacobian(None, "X")
    with pytest.raises(TypeError, match=r"^hessian: wrt must be .* not int$"):
        hessian("sum(X)", 3)


# ---------------------------------------------------------------- operators (issue 10 §3)

@pytest.mark.parametrize("argv, message", [
    (["sum(maximum(A, B @ C))", "--wrt", "A", "--shape", "A=2x3", "--shape", "B=3x2"],
     "cannot take the entrywise maximum of A (2×3) and B @ C (3×?): the shapes differ"),
    (["sum(minimum(ones(2, 3), X))", "--wrt", "X", "--shape", "X=3x2"],
     "cannot take the entrywise minimum of ones(2, 3) (2×3) and X (3×2): the shapes differ"),
    (["norm(X, 3)", "--wrt", "X"],
     "the order of norm must be 1, 2, 'fro' or 'nuc' (as in NumPy's norm)"),
    (["norm(X, 'inf')", "--wrt", "X"],
     "the order of norm must be 1, 2, 'fro' or 'nuc' (as in NumPy's norm)"),
    (["norm(x, 'nuc')", "--wrt", "x"],
     "norm(x, 'nuc') needs a matrix, but x (n×1) is a vector; for a vector the nuclear norm "
     "is norm(x)"),
    (["sum(max(X, axis=2))", "--wrt", "X"], "axis must be 0 (columns) or 1 (rows) in max"),
    (["max(X, ord=1)", "--wrt", "X"], "max takes no keyword ord=; the only keyword is axis"),
    (["tr(expm(X))", "--wrt", "X"],
     "expm (the matrix exponential) is not supported: matcalc's exp, log, sqrt and ** act "
     "entry by entry, which is a different function; on whole matrices it has @, inv, det, "
     "logdet, tr and norm (a matrix power is a product: X @ X @ X)"),
    (["tr(logm(X))", "--wrt", "X"], "logm (the matrix logarithm) is not supported"),
    (["sum(sqrtm(X))", "--wrt", "X"], "sqrtm (the matrix square root) is not supported"),
    (["norm(X, 'nuc')", "--wrt", "X", "--shape", "X=4x5", "--verify", "exact"],
     "the exact proof writes the singular values of a 4×5 matrix only when it has at most 2 "
     "rows or columns; declare the dimensions by name (--shape \"X=n x m\") or use --verify "
     "numeric"),
])
def test_operator_bad_input(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "grad", *argv)
    assert code == 2 and out == ""
    assert message in err, err
    assert "did you mean" not in err and "softmax" not in err
    assert list(tmp_path.iterdir()) == []          # nothing written


def test_max_is_a_function_not_a_hint_at_softmax(capsys):
    code, out, err = run(capsys, "grad", "sum(maxx(X))", "--wrt", "X")
    assert code == 2 and "maxx is not a known function; did you mean max?" in err
    assert "softmax" not in err


# ---- backends (codegen/backends.py): refused before anything is written, exit 2

@pytest.mark.parametrize("command, backend, library", [
    ("train", "torch", "PyTorch"), ("codegen", "torch", "PyTorch"),
    ("train", "jax", "JAX"), ("codegen", "jax", "JAX"),
])
def test_a_backend_whose_library_is_missing(capsys, tmp_path, monkeypatch, command, backend,
                                            library):
    monkeypatch.setitem(sys.modules, backend, None)      # import fails as if not installed
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, command, "--layers", "64,10", "--backend", backend,
                         "-o", "out.npz" if command == "train" else "out.py")
    assert code == 2, err
    assert f"the {backend} backend needs {library}, which is not installed: pip install " \
           f"'matcalc-nn[{backend}]'" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, message", [
    (["--nproc", "2"], "--nproc takes a positive integer and --backend torch, not 2 with "
                       "--backend numpy"),
    (["--backend", "torch", "--nproc", "0"], "--nproc takes a positive integer and --backend "
                                             "torch, not 0"),
    (["--device", "cuda"], "--device cuda is for --backend torch; NumPy chooses its device"),
    (["--backend", "jax", "--device", "cuda"], "--device cuda is for --backend torch; JAX "
                                               "chooses its device itself"),
])
def test_backend_options_that_do_not_fit(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "train", "--layers", "64,10", "-o", "out.npz", *argv)
    assert code == 2 and message in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "--epochs must be a positive integer, not 0"),
    (["--lr", "nan"], "--lr must be a finite number ≥ 0, not nan"),
    (["-o", "missing/w.npz"], "the folder"),
    (["--history", "curve.txt"], "the history is written as .json or .csv"),
])
def test_train_refuses_bad_options_before_deriving(capsys, tmp_path, monkeypatch, argv, message):
    """The README promises "exit 2 at once": nothing is derived, proven or loaded first."""
    monkeypatch.chdir(tmp_path)
    import matcalc.api as api
    monkeypatch.setattr(api, "derive", lambda *a, **k: pytest.fail("derived before checking"))
    code, out, err = run(capsys, "train", "--layers", "64,8,10", *argv)
    assert code == 2 and message in err and "derived and proved" not in err
    assert not list(tmp_path.iterdir())                   # nothing written


@pytest.mark.parametrize("claim, message", [
    ("X", "the claim X is n×n but alpha is a scalar: ∂f/∂alpha is a number"),
    ("tr(A)", "the claim uses A, which is not a variable of alpha*tr(X)"),
])
def test_check_by_a_scalar_refuses_bad_claims(capsys, tmp_path, monkeypatch, claim, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "check", "alpha*tr(X)", "--wrt", "alpha", "--claim", claim)
    assert (code, out) == (2, "") and message in err and "internal error" not in err
    assert not list(tmp_path.iterdir())


def test_check_by_a_scalar_takes_no_function():
    with pytest.raises(MatcalcError, match="a claimed derivative by the scalar alpha is "
                                           "checked as an expression"):
        check("alpha*tr(X)", "alpha", lambda alpha, X: np.trace(X))


@pytest.mark.parametrize("command", ["derive", "train", "codegen", "report"])
def test_an_unknown_activation_is_named_without_hidden_layers(capsys, tmp_path, monkeypatch,
                                                              command):
    """--layers 64,10 has no hidden layer, but --hidden foo is still a typo, not ignored."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, command, "--layers", "64,10", "--hidden", "foo")
    assert (code, out) == (2, "")
    assert err == "matcalc: error: unknown activation 'foo'; choose one of sigmoid, tanh, " \
                  "relu, softplus, leaky_relu, silu, elu, gelu, identity\n"
    assert not list(tmp_path.iterdir())


def test_train_plot_without_matplotlib_fails_before_training(capsys, tmp_path, monkeypatch):
    """--plot's missing matplotlib is said before the run, not after it (exit 2 then)."""
    import importlib.util
    monkeypatch.chdir(tmp_path)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    code, out, err = run(capsys, "train", "--layers", "64,8,10", "--epochs", "1", "--plot",
                         "c.png")
    assert (code, out) == (2, "")
    assert err == "matcalc: error: --plot needs matplotlib: pip install 'matcalc-nn[plot]'\n"
    assert not list(tmp_path.iterdir())                   # no weights, no history


@pytest.mark.parametrize("f, value", [("sum(exp(X) / sum(exp(X)))", "1"), ("tr(X - X)", "0")])
def test_a_function_that_simplifies_to_a_constant_says_so(capsys, f, value):
    """Not "X does not occur in 1": X is in what the user wrote; f is a constant."""
    code, out, err = run(capsys, "grad", f, "--wrt", "X")
    assert (code, out) == (2, "")
    assert err == (f"matcalc: error: {f} simplifies to {value}, which does not depend on X: "
                   "its gradient is zero\n")
