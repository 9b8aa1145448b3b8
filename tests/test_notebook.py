"""Jupyter: every result object renders, checked through IPython's own display formatter (the
mime bundle a notebook receives): the gradient, its steps, an expression, a program and one
assignment, the derivation, a model's backprop (forward and backward), the kernels."""
import pytest
import sympy as sp
from IPython.core.formatters import DisplayFormatter     # IPython is in the [dev] extra

import matcalc
from matcalc.printing.latex import latex
from matcalc.printing.hooks import own_classes
from matcalc.printing.report import (align, gradient_names, gradient_steps_text,
                                     program_latex, steps_latex)

FORMAT = DisplayFormatter()


def bundle(obj):
    data, _ = FORMAT.format(obj)
    return data


@pytest.fixture(scope="module")
def g():
    return matcalc.grad("norm(W @ X - Y)**2", "W")


@pytest.fixture(scope="module")
def b():
    return matcalc.derive(matcalc.mlp([3, 4, 2]))


FORWARD = [r"Z_{1} &= W_{1} X + b_{1} \mathbf{1}_{N}^{\top}",
           r"A_{1} &= \sigma\left(Z_{1}\right)",
           r"Z_{2} &= W_{2} A_{1} + b_{2} \mathbf{1}_{N}^{\top}",
           r"S &= \operatorname{softmax}\left(Z_{2}\right)",
           r"L &= - \frac{\operatorname{sum}\left(Y \odot \log\left(S\right)\right)}{N}"]
BACKWARD = [r"\delta_{2} &= S - Y",
            r"\delta_{1} &= \left(W_{2}^{\top} \delta_{2}\right) \odot A_{1} \odot "
            r"\left(1 - A_{1}\right)",
            r"\frac{\partial L}{\partial W_{2}} &= \frac{1}{N} \delta_{2} A_{1}^{\top}"]


def test_gradient(g):
    data = bundle(g)
    assert data["text/latex"] == (r"$\frac{\partial f}{\partial W} = 2 \left(W X - Y\right) "
                                  r"X^{\top}$")
    assert data["text/plain"].startswith("Gradient(f=")


def test_an_expression_shows_matcalcs_latex(g):
    """g.expr is a SymPy expression: SymPy's _repr_latex_ prints it through matcalc's hooks."""
    assert bundle(g.expr)["text/latex"] == \
        r"$\displaystyle 2 \left(W X - Y\right) X^{\top}$"
    dW = g.derivation.steps[0].after          # holds the differential dW
    assert r"\mathrm{d}W" in bundle(dW)["text/latex"]


def test_gradient_steps_print_as_text_and_show_as_latex(g):
    s = g.steps()
    assert s == gradient_steps_text(g) and isinstance(s, str)
    data = bundle(s)
    assert data["text/plain"] == gradient_steps_text(g)      # the lines, not a quoted repr
    tex = data["text/latex"]
    assert tex.startswith("\\begin{align*}\n" + steps_latex(g.derivation) + " \\\\\n")
    assert tex.endswith("\\frac{\\partial f}{\\partial W} &= "
                        "2 \\left(W X - Y\\right) X^{\\top}\n\\end{align*}")


def test_derivation(g):
    assert bundle(g.derivation)["text/latex"] == align(steps_latex(g.derivation))
    assert "text/latex" not in bundle(type(g.derivation)())   # no steps: plain text only


def test_program_and_assignment(b):
    assert bundle(b.forward)["text/latex"] == \
        "\\begin{align*}\n" + " \\\\\n".join(FORWARD) + "\n\\end{align*}"
    z1 = b.forward.assignments[0]
    assert bundle(z1)["text/latex"] == \
        r"$\displaystyle Z_{1} = W_{1} X + b_{1} \mathbf{1}_{N}^{\top}$"


def test_backprop_forward_and_backward(b):
    data = bundle(b)
    tex = data["text/latex"]
    rows = tex.removeprefix("\\begin{align*}\n").removesuffix("\n\\end{align*}").split(" \\\\\n")
    assert rows[:len(FORWARD) + len(BACKWARD)] == FORWARD + BACKWARD
    assert len(rows) == len(b.forward) + len(b.backward) + 1
    assert rows[-1] == r"&\text{given that " + "; ".join(str(a) for a in b.assumptions) + "}"
    md = data["text/markdown"]
    assert md.startswith("**Forward pass**\n\n\\begin{align*}\n" + FORWARD[0])
    assert "**Backward pass**" in md
    assert align(program_latex(b.backward, names=gradient_names(b))) in md
    assert md.endswith("given that " + "; ".join(str(a) for a in b.assumptions))


def test_kernels_show_their_source(b):
    k = matcalc.compile(b)
    md = bundle(k)["text/markdown"]
    assert md == f"`{k.path}`\n\n```python\n{k.source}```"
    assert "def loss_and_gradients(X, Y, W1, b1, W2, b2):" in md


def test_nothing_matcalc_returns_fails_to_display(g, b):
    """Each result and each step of both derivations gives a mime bundle with text."""
    objects = [g, g.expr, g.f, g.steps(), g.derivation, b, b.forward, b.backward,
               *b.forward, *b.backward]
    objects += [x for s in g.derivation.steps + b.derivation.steps for x in (s.before, s.after)]
    for o in objects:
        data = bundle(o)
        assert data["text/plain"], o
        if isinstance(o, sp.Basic) and "text/latex" in data:
            # the result and matcalc's nodes in matcalc's notation, SymPy's own in SymPy's
            own = o is g.expr or type(o) in own_classes()
            assert data["text/latex"] == "$\\displaystyle %s$" % (latex(o) if own else sp.latex(o))


def test_a_training_run_shows_its_history(tmp_path):
    r = matcalc.train(matcalc.mlp([64, 16, 10]), output=tmp_path / "w.npz", epochs=2, log=None)
    lines = bundle(r)["text/markdown"].splitlines()
    assert lines[0] == r.note and "w.npz" in lines[0]
    assert lines[2:4] == ["| epoch | loss | train | test | seconds |", "|---:|---:|---:|---:|---:|"]
    assert len(lines) == 4 + 2
    first = [c.strip() for c in lines[4].strip("|").split("|")]
    h = r.history[0]
    assert first[0] == "1" and float(first[1]) == pytest.approx(h["loss"], abs=5e-5)
    assert float(first[2].rstrip("%")) == pytest.approx(100 * h["train"], abs=0.05)
    assert float(first[3].rstrip("%")) == pytest.approx(100 * h["test"], abs=0.05)


def test_jacobian_hessian_and_check():
    J = matcalc.jacobian("W @ x", "x", shapes={"W": (3, 4)})
    assert bundle(J)["text/latex"] == r"$\displaystyle J = W$"
    Jt = matcalc.jacobian("W @ x", "x", shapes={"W": (3, 4)}, layout="denominator")
    assert bundle(Jt)["text/latex"] == r"$\displaystyle J^{\top} = W^{\top}$"
    H = matcalc.hessian("norm(W @ x)**2", "x")
    assert bundle(H)["text/latex"] == r"$\displaystyle H\left[V\right] = 2 W^{\top} W V$"
    H2 = matcalc.hessian("norm(W @ x)**2", "x", form="matrix")
    assert bundle(H2)["text/latex"] == r"$\displaystyle H = 2 W^{\top} W$"
    for claim, verdict in (("A.T @ B.T", "correct: "), ("2*A.T @ B.T", "wrong: ")):
        c = matcalc.check("tr(A @ X @ B)", "X", claim)
        md = bundle(c)["text/markdown"]
        assert md == f"```text\n{c.message()}\n```" and md.startswith("```text\n" + verdict)


def test_str_repr_and_sympy_printers_never_raise_on_a_result(g, b, tmp_path):
    results = [g, g.steps(), g.derivation, b, b.forward, b.forward.assignments[0],
               matcalc.compile(b), matcalc.check("tr(A @ X @ B)", "X", "2*A.T @ B.T"),
               matcalc.jacobian("sigmoid(W @ x)", "W", shapes={"W": (3, 4)}),
               matcalc.hessian("norm(W @ x)**2", "x"),
               matcalc.train(matcalc.mlp([64, 8, 10]), output=tmp_path / "w.npz", epochs=1,
                             log=None)]
    for r in results:
        for show in (str, repr, sp.latex, sp.pretty, sp.sstr, sp.srepr):
            s = show(r)
            assert isinstance(s, str) and s, (show, type(r))
        assert set(bundle(r)) - {"text/plain"}, type(r)     # something richer than text


def test_steps_survive_pickling(g):
    import pickle
    s = pickle.loads(pickle.dumps(g.steps()))
    assert s == g.steps() and bundle(s)["text/latex"] == bundle(g.steps())["text/latex"]
