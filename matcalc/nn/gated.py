"""Gated recurrent layers, gru(H) and lstm(H): records of layers per step (nn/sequences.py).

Networks (stage 3). Cho et al. (2014), the update gate z and the reset gate r on the previous
state, one step's lines (each pre-activation and the state with a δ, so that the window of
nn/sequences.py derives BPTT through every path from H[t-1] to the loss):
  Zz[t] := Wz X[t] + Uz H[t-1] + bz 1ᵀ;  Gz[t] := σ(Zz[t])
  Zr[t] := Wr X[t] + Ur H[t-1] + br 1ᵀ;  Gr[t] := σ(Zr[t])
  Zn[t] := Wn X[t] + Un (Gr[t] ⊙ H[t-1]) + bn 1ᵀ;  Gn[t] := tanh(Zn[t])
  H[t] := (1 − Gz[t]) ⊙ Gn[t] + Gz[t] ⊙ H[t-1],   H[0] := 0.
Hochreiter & Schmidhuber (1997) with the forget gate (Gers et al. 2000), two states:
  Zi, Zf, Zo, Zg[t] := W X[t] + U H[t-1] + b 1ᵀ;  Gi, Gf, Go := σ(…);  Gg := tanh(Zg)
  C[t] := Gf[t] ⊙ C[t-1] + Gi[t] ⊙ Gg[t];  Tc[t] := tanh(C[t]);  H[t] := Go[t] ⊙ Tc[t].
"""
from sympy import ZeroMatrix

from ..core.expr import add, apply, hadamard, matmul, ones, sub
from ..core.leaves import matrix
from ..core.program import Assignment
from .sequences import as_steps, step, t


def _gates(w, layer, states):
    """(units, layer number, the previous states, a gate maker) of a gated layer, each state
    at 0 first (H1[0] := 0)."""
    from .network import Param
    x = as_steps(w)
    units, l, fan = w.width(layer.get("units")), w.l, w.shape[-1]
    prev = []
    for s in states:
        w.out.append(Assignment(matrix(step(f"{s}{l}", 0), units, w.n), ZeroMatrix(units, w.n)))
        prev.append(matrix(step(f"{s}{l}", t - 1), units, w.n))

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
    return units, l, prev, gate


def gru(w, layer, where):
    """The GRU's lines (see the module docstring), their parameters and δ's."""
    units, l, (prev,), gate = _gates(w, layer, "H")
    z = gate("z", prev, "sigmoid")
    r = gate("r", prev, "sigmoid")
    n = gate("n", hadamard(r, prev), "tanh")
    H = _line(w, f"H{l}", add(hadamard(sub(ones(units, w.n), z), n), hadamard(z, prev)))
    w.delta(H, step(f"delta_h{l}", t))


def lstm(w, layer, where):
    """The LSTM's lines (see the module docstring): the cell state C with a δ of its own."""
    units, l, (h, c), gate = _gates(w, layer, "HC")
    i, f, o, g = (gate(k, h, "tanh" if k == "g" else "sigmoid") for k in "ifog")
    C = _line(w, f"C{l}", add(hadamard(f, c), hadamard(i, g)))
    w.delta(C, step(f"delta_c{l}", t))
    tc = _line(w, f"Tc{l}", apply("tanh", C))
    H = _line(w, f"H{l}", hadamard(o, tc))
    w.delta(H, step(f"delta_h{l}", t))      # named once: both C and o read it


def _line(w, name, value):
    """name[t] := value (the names of a gate are its own: Zz1, Gz1, …)."""
    w.a = matrix(step(name, t), *value.shape)
    w.out.append(Assignment(w.a, value))
    return w.a
