"""The gated recurrent unit, gru(H): one more record of a layer per step (nn/sequences.py).

Networks (stage 3). Cho et al. (2014), the update gate z and the reset gate r on the previous
state, one step's lines (each pre-activation and the state with a δ, so that the window of
nn/sequences.py derives BPTT through every path from H[t-1] to the loss):
  Zz[t] := Wz X[t] + Uz H[t-1] + bz 1ᵀ;  Gz[t] := σ(Zz[t])
  Zr[t] := Wr X[t] + Ur H[t-1] + br 1ᵀ;  Gr[t] := σ(Zr[t])
  Zn[t] := Wn X[t] + Un (Gr[t] ⊙ H[t-1]) + bn 1ᵀ;  Gn[t] := tanh(Zn[t])
  H[t] := (1 − Gz[t]) ⊙ Gn[t] + Gz[t] ⊙ H[t-1],   H[0] := 0.
"""
from sympy import ZeroMatrix

from ..core.expr import add, apply, hadamard, matmul, ones, sub
from ..core.leaves import matrix
from ..core.program import Assignment
from .sequences import as_steps, step, t


def gru(w, layer, where):
    """The lines of the module docstring, their parameters and δ's."""
    from .network import Param
    x = as_steps(w)
    units, l, fan = w.width(layer.get("units")), w.l, w.shape[-1]
    h0 = matrix(step(f"H{l}", 0), units, w.n)
    w.out.append(Assignment(h0, ZeroMatrix(units, w.n)))
    prev = matrix(step(f"H{l}", t - 1), units, w.n)

    def gate(g, state, function):
        W, U = matrix(f"W{g}{l}", units, x.shape[0]), matrix(f"U{g}{l}", units, units)
        w.params.extend([Param(W, l, "weight", w.init, fan, units),
                         Param(U, l, "weight", w.init, units, units)])
        z = add(matmul(W, x), matmul(U, state))
        if w.bias:
            b = matrix(f"b{g}{l}", units, 1)
            w.params.append(Param(b, l, "bias", "zeros", fan, units))
            z = add(z, matmul(b, ones(1, w.n)))
        Z = _line(w, f"Z{g}{l}", z)
        w.delta(Z, step(f"delta_{g}{l}", t))
        return _line(w, f"G{g}{l}", apply(function, Z))

    z = gate("z", prev, "sigmoid")
    r = gate("r", prev, "sigmoid")
    n = gate("n", hadamard(r, prev), "tanh")
    H = _line(w, f"H{l}", add(hadamard(sub(ones(units, w.n), z), n), hadamard(z, prev)))
    w.delta(H, step(f"delta_h{l}", t))


def _line(w, name, value):
    """name[t] := value (the names of a gate are its own: Zz1, Gz1, …)."""
    w.a = matrix(step(name, t), *value.shape)
    w.out.append(Assignment(w.a, value))
    return w.a
