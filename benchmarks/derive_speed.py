"""Time from model spec to simplified program (derivation + simplification + LaTeX, no proof)
for sigmoid + softmax-CE MLPs of 1 … 64 hidden layers, then derivation AND proof (every
backward line against the forward lines it differentiates, api.verify_backprop) for 2 … 200
hidden layers. Ratios from one run; no assertions.

Targets (issue 3): a 3-layer net under 0.3 s; growth linear in depth (64 hidden layers at most
~25× the time of 2). Part C (verification that scales): derive and prove 64 hidden layers in
at most 25× the time of 2; 200 hidden layers work.
"""
import time

from matcalc import derive, mlp
from matcalc.api import verify_backprop
from matcalc.printing.report import gradient_names, program_latex


def once(hidden_layers):
    model = mlp([64] + [128] * hidden_layers + [10])
    t = time.perf_counter()
    b = derive(model)
    program_latex(b.forward)
    program_latex(b.backward, names=gradient_names(b))
    return time.perf_counter() - t


def proven(hidden_layers):
    """Seconds to derive and prove (numerically, as the CLI does) a fresh model."""
    model = mlp([64] + [128] * hidden_layers + [10])
    t = time.perf_counter()
    verify_backprop(derive(model))
    return time.perf_counter() - t


def prove_main():
    proven(1)                                 # warm the caches of the proof too
    times = {h: proven(h) for h in (2, 8, 32, 64, 200)}
    print(f"\n{'hidden layers':>13s} {'derive + prove':>15s}  ratio to 2 hidden")
    for h, t in times.items():
        print(f"{h:13d} {t:14.3f}s  {t / times[2]:6.2f}")
    print(f"\nderive + prove, 64 hidden / 2 hidden: {times[64] / times[2]:.1f}× for 32× the "
          "depth (target <= 25×)")


def main():
    once(1)                                   # warm SymPy's caches
    times = {}
    print(f"{'hidden layers':>13s} {'weight layers':>13s} {'time':>9s}  ratio to 2 hidden")
    for h in (1, 2, 4, 8, 16, 32, 64):
        times[h] = min(once(h) for _ in range(3 if h <= 16 else 1))
    for h, t in times.items():
        print(f"{h:13d} {h + 1:13d} {t:8.3f}s  {t / times[2]:6.2f}")
    print(f"\n3 weight layers (2 hidden): {times[2]:.3f} s (target < 0.3 s)")
    print(f"64 hidden / 2 hidden: {times[64] / times[2]:.1f}× for 32× the depth "
          "(target <= ~25×)")


if __name__ == "__main__":
    main()
    prove_main()
