"""Time matcalc.grad on the issue's table and, in the same run, SymPy's own matrix .diff.

Ratios from one run on a shared machine; no assertions. Run: python benchmarks/grad_speed.py
Targets (issue 2): median time per row under 50 ms, at most 0.5× SymPy's time.
"""
import statistics
import sys
import time
from pathlib import Path

import sympy as sp
from sympy.core.cache import clear_cache

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from table import TABLE  # noqa: E402  (the rows, shared with the tests)

import matcalc  # noqa: E402
from matcalc.parse import parse  # noqa: E402


def best_of(fn, repeat=5):
    """Best time of `repeat` cold calls: SymPy's cache is cleared before each (it would
    otherwise answer a repeated .diff from memory)."""
    times = []
    for _ in range(repeat):
        clear_cache()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), fn()


def sympy_form(f):
    """The same function in SymPy's own nodes, where SymPy has them; None otherwise:
    ‖M‖² = tr(MᵀM), sum(M) = tr(1 M), logdet X = log det X; entrywise functions have none."""
    from matcalc.core.expr import Elementwise, EntrySum, FrobeniusNorm, LogDet
    if f.atoms(Elementwise):
        return None
    repl = {}
    for n in f.atoms(FrobeniusNorm):
        repl[n ** 2] = sp.Trace(n.arg.T * n.arg)
    for n in f.atoms(EntrySum):
        repl[n] = sp.Trace(sp.OneMatrix(n.arg.shape[1], n.arg.shape[0]) * n.arg)
    for n in f.atoms(LogDet):
        repl[n] = sp.log(sp.Determinant(n.arg))
    g = f.xreplace(repl)
    return None if g.atoms(EntrySum, FrobeniusNorm, LogDet) else g


def main():
    rows, ratios, ours_all = [], [], []
    for row in TABLE:
        parsed = parse(row.f)
        wrt = parsed.symbols[row.wrt]
        t_ours, g = best_of(lambda: matcalc.grad(row.f, row.wrt, assume=row.assume))
        ours_all.append(t_ours)
        f = sympy_form(parsed.expr if not parsed.expr.is_Matrix else sp.Trace(parsed.expr))
        t_sympy = None
        if f is not None:
            try:
                t_sympy, _ = best_of(lambda: f.diff(wrt), repeat=3)
                ratios.append(t_ours / t_sympy)
            except Exception as e:  # SymPy cannot differentiate this row
                t_sympy = f"fails: {type(e).__name__}"
        rows.append((row.f, row.wrt, t_ours, t_sympy))
    print(f"{'f':42s} {'wrt':4s} {'matcalc':>10s} {'sympy .diff':>14s}  ratio")
    for f, w, t, ts in rows:
        s = f"{ts * 1e3:11.2f} ms" if isinstance(ts, float) else (ts or "not expressible")
        r = f"{t / ts:5.2f}" if isinstance(ts, float) else "   -"
        print(f"{f:42s} {w:4s} {t * 1e3:7.2f} ms {s:>14s}  {r}")
    print(f"\nmedian matcalc time per row: {statistics.median(ours_all) * 1e3:.2f} ms "
          f"(target < 50 ms)")
    if ratios:
        print(f"median ratio matcalc / sympy over {len(ratios)} rows SymPy can express: "
              f"{statistics.median(ratios):.3f} (target <= 0.5)")


if __name__ == "__main__":
    main()
