"""The proof of a recurrence: unrolled at small sizes, derived by the engine, compared.

Codegen (stage 5: it runs the printed lines). A sequence network's backward pass is a
recurrence over t (nn/sequences.py); `prove` checks it in three steps:

  1. the same layers at small sizes and T = min(T, 3) are derived as a recurrence again
     (the same code path, the same lines);
  2. that network's forward program is unrolled, step by step (Z1_1, H1_1, Z1_2, …, H1[0]
     written as 0), into an ordinary program, which the engine derives as any network's
     (nn/backprop.py: the reverse sweep and the textbook rules) and proves line by line
     against central differences (its local proofs: time linear in T and depth);
  3. the recurrence's lines, run as its kernels run them (codegen/loops.py: loops over t),
     and the unrolled derivation's lines, run one by one, are evaluated on one random batch
     and random weights: every δ at every step, every gradient and the loss must agree entry
     by entry (relative 1e-9).

A line that disagrees is a VerificationError naming it and the step.
"""
import types
from dataclasses import replace

import numpy as np
import sympy as sp

from .. import verify as verify_module
from ..core.errors import VerificationError
from ..core.leaves import matrix
from ..nn import backprop
from ..nn.layers import Layer
from ..nn.sequences import parts, unrolled, unrolled_name as _plain
from .backends import backend as _backend
from .loops import assemble, body

STEPS, CAP, SAMPLES = 3, 3, 4      # the proof's T, widths and batch


def small(model):
    """The same layers at T ≤ 3 steps of ≤ 3 features, widths ≤ 3."""
    layers = tuple(Layer(l.kind, tuple((k, min(v, CAP) if a.width else v)
                                       for a, (k, v) in zip(l.record.args, l.params)))
                   for l in model.layers)
    T_, F = model.input
    return replace(model, input=(min(T_, STEPS), min(F, CAP)), layers=layers)


def _run(source, env):
    exec(compile(source, "<matcalc proof>", "exec"), env)
    return env


def prove(b, method="numeric", seed=0):
    """Prove a sequence network's recurrence (see the module docstring)."""
    bs = backprop.derive(small(b.model))
    unet = unrolled(bs, zero_state=False)
    bu = backprop.derive(types.SimpleNamespace(network=lambda: unet))     # the engine's
    given = [(a.constraint, a.var) for a in bu.assumptions if a.constraint]
    for proof in backprop.local_proofs(bu):
        try:
            verify_module.assert_gradient(proof.f, proof.wrt, proof.claim, method=method,
                                          assumptions=given, seed=seed)
        except VerificationError as e:
            detail = str(e).replace("{", "{{").replace("}", "}}")
            raise VerificationError("the unrolled program's backward line {0} := {1} is "
                                    "wrong:\n" + detail, proof.line.name, proof.line.expr) \
                from None
    _compare(bs, bu, seed)
    return bu


def _compare(bs, bu, seed):
    be = _backend("numpy", check=False)
    rng = np.random.default_rng(seed)
    steps, F = bs.model.input
    net = bs.network
    X = rng.standard_normal((steps * F, SAMPLES))
    classes = bs.model.n_outputs
    Y = (np.eye(classes)[:, rng.integers(0, classes, SAMPLES)] if classes > 1 else
         rng.integers(0, 2, (1, SAMPLES)).astype(float))
    params = {p.symbol.name: 0.5 * rng.standard_normal(tuple(int(d) for d in p.symbol.shape))
              for p in net.params}
    lam = {"lam": 0.1} if net.lam is not None else {}

    # the recurrence, as its kernels run it
    from .loops import _named, _prologue
    lines = list(bs.forward) + list(bs.backward)
    p = _named(be.printer(), lines)
    code = body(lines, bs.loops, p) + assemble(bs)
    head = _prologue(bs, lines, p)
    names = ", ".join(["X", "Y", *params, *lam])
    src = (f"def run({names}):\n" + "\n".join(head + code) + "\n    return locals()\n")
    env = _run((be.helpers(sorted(p.helpers_used)) + "\n\n" if p.helpers_used else "") +
               "\n".join(be.imports) + "\n" + src, {})
    rec = env["run"](X, Y, *params.values(), *lam.values())

    # the unrolled derivation, line by line
    q = be.printer()
    ulines = list(bu.forward) + list(bu.backward)
    stmts = [f"{a.name.name} = {q.doprint(a.expr)}" for a in ulines]
    uenv = {"N": SAMPLES, "X": X, "Y": Y, **params, **lam}
    uenv.update({_plain(parts(a.name)[0], 0): np.zeros(tuple(int(d) for d in a.name.shape[:1])
                                                       + (SAMPLES,))
                 for a in bs.forward if parts(a.name) is not None and parts(a.name)[1] == 0})
    for k in range(1, steps + 1):
        uenv[_plain("X", k)] = X[(k - 1) * F:k * F]
        uenv.update({_plain(e, k): params[e][:, k - 1:k] for e in bs.stepped})
    _run("\n".join(be.imports) + "\n" +
         (be.helpers(sorted(q.helpers_used)) if q.helpers_used else ""), uenv)
    for s in stmts:
        _run(s, uenv)

    def same(a, b_):
        a, b_ = np.asarray(a, float), np.asarray(b_, float)
        return a.shape == b_.shape and np.allclose(a, b_, rtol=1e-9,
                                                   atol=1e-12 * max(1.0, np.abs(b_).max()))

    def scale(c):       # a δ is its name's adjoint over c: compared as adjoints
        return float(sp.sympify(c).subs(sp.Symbol("N", integer=True, positive=True), SAMPLES))

    checks = [("L", None, rec["L"], uenv["L"])]
    loop_b = bs.loops[1]
    for n in loop_b.names:
        base = parts(n)[0]
        for k in range(steps, 0, -1):           # in the order the loop computes them
            u = matrix(_plain(base, k), *n.shape)
            checks.append((n, k, scale(bs.coefficients.get(n, 1)) * rec[f"{base}_"][k],
                           scale(bu.coefficients.get(u, 1)) * uenv[u.name]))
    for p, g in bs.gradients.items():
        if p.name in bs.stepped:        # dE1 from its columns dE1[t], each checked above
            checks.append((g, None, rec[g.name], np.hstack([uenv[_plain(g.name, k)]
                                                            for k in range(1, steps + 1)])))
        else:
            checks.append((g, None, rec[g.name], uenv[g.name]))
    for name, k, got, want in checks:
        if not same(got, want):
            line = next((a for a in bs.backward if a.name == name), None)
            raise VerificationError(
                "the recurrence's line {0} := {1} disagrees with the engine's derivation of "
                "the program unrolled at T = " + str(steps) +
                (f", at t = {k}" if k else "") + f": max difference "
                f"{np.abs(np.asarray(got) - np.asarray(want)).max():.3g}",
                name, line.expr if line is not None else sp.Symbol("?"))
