"""The issue's table: each gradient prints as a person writes it and is proven both ways."""
import pytest

from matcalc import VerificationError, grad
from matcalc.parse import parse
from matcalc.printing.text import text
from matcalc.verify import verify_exact, verify_numeric

from table import TABLE


def _shapes(g):
    out = {}
    for name, s in g.symbols.items():
        if getattr(s, "is_Matrix", False):
            out[name] = tuple(int(d) if d.is_Integer else str(d) for d in s.shape)
        else:
            out[name] = "scalar"
    return out


@pytest.fixture(scope="module", params=TABLE, ids=lambda r: f"{r.f} wrt {r.wrt}")
def row_and_grad(request):
    row = request.param
    return row, grad(row.f, row.wrt, assume=row.assume)


def test_printed_form(row_and_grad):
    row, g = row_and_grad
    expected = parse(row.expected, _shapes(g)).expr
    assert g.expr == expected                    # same expression, sums in any order
    assert g.text() == text(expected)            # and printed identically
    assert sorted(g.text().replace(" - ", " + -").split(" + ")) == \
        sorted(row.expected.replace(" - ", " + -").split(" + "))


def test_gradient_has_the_shape_of_the_variable(row_and_grad):
    row, g = row_and_grad
    assert g.expr.shape == g.wrt.shape


def test_proven_exactly(row_and_grad):
    row, g = row_and_grad
    g.verify(method="exact")


def test_proven_by_central_differences(row_and_grad):
    row, g = row_and_grad
    g.verify(method="numeric")


def test_softmax_cross_entropy_without_the_assumption_keeps_the_general_form():
    g = grad("-sum(Y * logsoftmax(W @ X))", "W")
    assert g.text() == "((ones(n, n) @ Y) * softmax(W @ X) - Y) @ X.T" or "ones" in g.text()
    g.verify()                                    # true for every Y
    short = grad("-sum(Y * logsoftmax(W @ X))", "W", assume=["sum(Y, axis=0) == 1"])
    with pytest.raises(VerificationError):        # the short form needs the assumption
        verify_exact(g.f, g.wrt, short.expr)
    with pytest.raises(VerificationError):
        verify_numeric(g.f, g.wrt, short.expr)


def test_assumptions_are_reported():
    g = grad("-sum(Y * logsoftmax(W @ X))", "W", assume=["sum(Y, axis=0) == 1"])
    assert [str(a) for a in g.assumptions] == ["each column of Y sums to 1"]
    assert "given that each column of Y sums to 1" in g.steps()


def test_steps_show_the_trace_trick():
    s = grad("tr(X.T @ A @ X)", "X").steps()
    assert "d(X.T @ A @ X) = X.T @ A @ dX + dX.T @ A @ X" in s
    assert "df = tr(dX.T @ A @ X) + tr(X.T @ A @ dX)" in s
    assert "(A + A.T) @ X" in s.splitlines()[-1]
