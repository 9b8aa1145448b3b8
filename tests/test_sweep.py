"""calculus/sweep.py: backward, the reverse sweep of a program into gradients and δ's."""
import pytest
import sympy as sp

from matcalc.calculus.simplify import simplify
from matcalc.calculus.steps import Derivation
from matcalc.calculus.sweep import backward
from matcalc.core.errors import MatcalcError
from matcalc.core.expr import (apply, entry_sum, hadamard, matmul, matrix, rebuild, size, sub,
                               trace, transpose, vector)
from matcalc.core.program import Assignment, Program
from matcalc.printing.text import text
from matcalc.verify import verify_exact, verify_numeric

A, X, B = matrix("A", 3, 2), matrix("X", 3, 4), matrix("B", 4, 2)
W, Z = matrix("W", 2, 3), matrix("Z", 2, 4)
L = sp.Symbol("L")
delta = sp.MatrixSymbol("delta", 2, 4)


def inline(assignments, e):
    """e with the names of the assignments replaced by their values in the variables."""
    subs = {}
    for a in assignments:
        subs[a.name] = rebuild(a.expr, lambda x: subs.get(x, x))
    return rebuild(e, lambda x: subs.get(x, x))


def two_line(scale=1):
    return Program((Assignment(Z, matmul(W, X)),
                    Assignment(L, scale * entry_sum(apply("sigmoid", Z)))))


def test_trace_of_a_product():
    f = trace(matmul(transpose(A), X, B))
    grads, adj, emitted = backward(Program.single(f), [X, A, B])
    printed = {text(v): text(simplify(g)) for v, g in grads.items()}
    assert printed == {"X": "A @ B.T", "A": "X @ B", "B": "X.T @ A"}
    assert emitted == [] and adj[sp.Symbol("f")] == 1
    for v, g in grads.items():
        verify_exact(f, v, g)


def test_one_by_one_output_is_a_scalar():
    a, b = vector("a", 3), vector("b", 4)
    grads, _, _ = backward(Program.single(matmul(transpose(a), X, b)), [X])
    assert grads[X] == matmul(a, transpose(b))


def test_two_line_program():
    grads, adj, _ = backward(two_line(), [W, X])
    s = "((1 - sigmoid(Z))*sigmoid(Z))"
    assert text(adj[Z]) == s[1:-1]
    assert text(simplify(grads[W])) == f"{s} @ X.T"
    assert text(simplify(grads[X])) == f"W.T @ {s}"
    p = two_line()
    loss = inline(p, p.output)
    assert text(loss) == "sum(sigmoid(W @ X))"
    for v in (W, X):
        verify_numeric(loss, v, inline(p, grads[v]))


def test_deltas_name_the_adjoint_and_keep_it_outside():
    D = Derivation()
    grads, adj, emitted = backward(two_line(), [W, X], D, deltas={Z: delta})
    assert [str(a) for a in emitted] == ["delta := (1 - sigmoid(Z))*sigmoid(Z)"]
    assert grads[W] == matmul(delta, transpose(X))
    assert grads[X] == matmul(transpose(W), delta)
    [step] = D.of_kind("delta")
    assert str(step.rule) == "∂L/∂Z = 1·delta"
    assert step.before == delta and step.after == emitted[0].expr
    p = two_line()
    for v in (W, X):
        verify_numeric(inline(p, p.output), v, inline(list(p) + emitted, grads[v]))


def test_a_scalar_coefficient_stays_outside_the_delta():
    grads, _, emitted = backward(two_line(sp.Rational(1, 4)), [W], deltas={Z: delta})
    assert [str(a) for a in emitted] == ["delta := (1 - sigmoid(Z))*sigmoid(Z)"]
    assert text(grads[W]) == "1/4*delta @ X.T"


def test_tidy_is_applied_to_named_adjoints_only():
    seen = []

    def tidy(e):
        seen.append(e)
        return hadamard(apply("sigmoid", Z), sub(1, apply("sigmoid", Z)))
    grads, _, emitted = backward(two_line(), [W], deltas={Z: delta}, tidy=tidy)
    assert seen == [hadamard(apply("sigmoid", Z), sub(1, apply("sigmoid", Z)))]
    assert emitted[0].expr == seen[0]


def chain(depth, named):
    """Z_l := W_l A_{l-1}, A_l := σ(Z_l), l = 1…depth (A_0 = X), L := sum(A_depth)."""
    prev, lines, deltas, Ws = X, [], {}, []
    for k in range(1, depth + 1):
        Wk, Zk, Ak = matrix(f"W{k}", 3, 3), matrix(f"Z{k}", 3, 4), matrix(f"A{k}", 3, 4)
        lines += [Assignment(Zk, matmul(Wk, prev)), Assignment(Ak, apply("sigmoid", Zk))]
        deltas[Zk], prev = sp.MatrixSymbol(f"delta{k}", 3, 4), Ak
        Ws.append(Wk)
    p = Program(tuple(lines) + (Assignment(L, entry_sum(prev)),))
    grads, _, emitted = backward(p, Ws, deltas=deltas if named else None)
    return p, Ws, grads, emitted


def test_deltas_keep_the_result_linear_in_depth():
    p, Ws, grads, emitted = chain(3, named=True)
    assert [str(a) for a in emitted] == [
        "delta3 := (1 - sigmoid(Z3))*sigmoid(Z3)",
        "delta2 := (W3.T @ delta3) * (1 - sigmoid(Z2))*sigmoid(Z2)",
        "delta1 := (W2.T @ delta2) * (1 - sigmoid(Z1))*sigmoid(Z1)"]
    assert [text(grads[w]) for w in Ws] == ["delta1 @ X.T", "delta2 @ A1.T", "delta3 @ A2.T"]
    # every δ and gradient has a size bounded independently of the depth …
    for depth in (2, 5):
        _, _, deep_grads, deep_emitted = chain(depth, named=True)
        assert max(size(a.expr) for a in deep_emitted) == 16
        assert {size(g) for g in deep_grads.values()} == {4}
    # … while without δ's the first layer's gradient grows with each layer
    assert [size(chain(d, named=False)[2][matrix("W1", 3, 3)]) for d in (1, 2, 3)] == [14, 29, 44]
    verify_numeric(inline(p, p.output), Ws[0], inline(list(p) + emitted, grads[Ws[0]]))


def test_non_scalar_output_raises():
    with pytest.raises(MatcalcError, match="^the output f is not a scalar$"):
        backward(Program.single(matmul(W, X)), [W])
    with pytest.raises(MatcalcError, match="^the output Z is not a scalar$"):
        backward(Program((Assignment(Z, matmul(W, X)),)), [W])


def test_unused_variable_gets_a_zero_gradient():
    V = matrix("V", 5, 2)
    grads, adj, _ = backward(two_line(), [W, V])
    assert grads[V] == sp.ZeroMatrix(5, 2)
    assert V not in adj


def test_adjoints_of_every_name():
    _, adj, _ = backward(two_line(), [W])
    assert adj[L] == 1
    assert set(adj) == {L, Z, W}         # X is held constant: no adjoint


def test_derivation_records_steps_of_each_kind_in_order():
    D = Derivation()
    f = trace(matmul(transpose(A), X, B))
    backward(Program.single(f), [X], D)
    assert [s.kind for s in D.steps] == ["differential", "differential", "result", "move"]
    [result] = D.of_kind("result")
    assert str(result.rule) == "df" and result.before == f
    assert text(result.after) == "tr(A.T @ dX @ B)"
    [move] = D.of_kind("move")
    # the MOVES entries on the way to dX: the scalar trace, then the product
    assert move.rule == "c tr(L) = tr((c I)ᵀ L); tr(Gᵀ A L B) = tr((Aᵀ G Bᵀ)ᵀ L)"
    assert text(move.before) == "tr(A.T @ dX @ B)" and text(move.after) == "tr((A @ B.T).T @ dX)"


def test_two_line_derivation_goes_from_the_last_line_to_the_first():
    D = Derivation()
    backward(two_line(), [W], D, deltas={Z: delta})
    assert [s.kind for s in D.steps] == ["differential", "differential", "result", "move",
                                         "adjoint", "delta", "differential", "result", "move"]
    [adjoint] = D.of_kind("adjoint")          # Z̄ = ∂L/∂Z, reached once L's moves are done
    assert adjoint.before == Z and str(adjoint.rule) == "∂L/∂Z"
    assert [str(s.rule) for s in D.of_kind("result")] == ["dL", "dZ"]
