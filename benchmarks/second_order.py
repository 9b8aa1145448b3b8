"""Time the issue's Jacobians and Hessians (issue 10 §1, §2): derivation, exact proof and
numeric proof of each, and the gradient's own derivation and proof beside it for scale.

One run on a shared machine; no assertions. Run: python benchmarks/second_order.py
"""
import time

from sympy.core.cache import clear_cache

import matcalc

JACOBIANS = [("A @ X", "X"), ("X.T", "X"), ("sigmoid(x)", "x"), ("A @ exp(x)", "x"),
             ("softmax(z)", "z"), ("kron(A, X)", "X")]
HESSIANS = [("tr(X.T @ A @ X)", "X", ()), ("norm(A @ X - B)**2", "X", ()),
            ("-sum(Y * logsoftmax(W @ X))", "W", ("sum(Y, axis=0) == 1",)),
            ("x.T @ A @ x", "x", ())]


def timed(fn):
    clear_cache()
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def row(name, derive, prove):
    t_derive, r = timed(derive)
    t_exact, _ = timed(lambda: prove(r, "exact"))
    t_numeric, _ = timed(lambda: prove(r, "numeric"))
    print(f"{name:58s} {1e3 * t_derive:8.1f} {1e3 * t_exact:9.1f} {1e3 * t_numeric:9.1f}   "
          f"{r.text()[:60]}")


def main():
    print(f"{'example':58s} {'derive':>8s} {'exact':>9s} {'numeric':>9s}   (ms)  result")
    for f, wrt in JACOBIANS:
        row(f"jacobian {f} wrt {wrt}", lambda: matcalc.jacobian(f, wrt),
            lambda r, m: r.verify(method=m))
    for f, wrt, assume in HESSIANS:
        for form in ("product", "matrix"):
            row(f"hessian {f} wrt {wrt} ({form})",
                lambda: matcalc.hessian(f, wrt, assume=assume, form=form),
                lambda r, m: r.verify(method=m))     # includes the gradient's proof
        row(f"  (grad {f} wrt {wrt})", lambda: matcalc.grad(f, wrt, assume=assume),
            lambda r, m: r.verify(method=m))


if __name__ == "__main__":
    main()
