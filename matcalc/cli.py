"""The command line: `matcalc grad EXPR --wrt X [--format text|latex|numpy|steps]`.

Stage 6. Turns every MatcalcError into a one-paragraph message on stderr and exit code 2;
any other exception becomes an 'internal error' line and exit code 3, never a traceback.
"""
import argparse
import sys

import sympy as sp

from .api import grad
from .errors import MatcalcError
from .parse import parse_shape
from .printing.text import text


def _shapes(specs):
    shapes = {}
    for spec in specs or ():
        name, sep, shape = spec.partition("=")
        if not sep or not name.strip().isidentifier():
            raise MatcalcError(f"--shape takes NAME=SHAPE (e.g. X=3x4 or X=n x m), not {spec!r}")
        shapes[name.strip()] = parse_shape(shape)
    return shapes


def _shape_line(g):
    mats = sorted(g.f.atoms(sp.MatrixSymbol), key=lambda m: list(g.symbols).index(m.name)
                  if m.name in g.symbols else len(g.symbols))
    parts = [f"{m.name}: {text(m.shape[0])}×{text(m.shape[1])}" for m in mats]
    scalars = [text(s) for s in g.f.free_symbols if not s.is_integer]
    if scalars:
        parts.append(", ".join(sorted(scalars)) + ": scalar")
    return "(" + ", ".join(parts) + ")"


def cmd_grad(args):
    g = grad(args.expr, args.wrt, shapes=_shapes(args.shape), assume=args.assume or ())
    if args.verify != "none":
        g.verify(method=args.verify)
    out = []
    if args.format == "text":
        out.append(f"{g}    {_shape_line(g)}")
    elif args.format == "latex":
        out.append(g.latex(layout=args.layout))
    elif args.format == "numpy":
        out.append(g.numpy_source())
    elif args.format == "steps":
        out.append(g.steps())
    if args.format != "numpy":
        if g.assumptions:
            out.append("given that " + "; ".join(str(a) for a in g.assumptions))
        if args.verify != "none":
            how = {"both": "exactly (sympy.diff, entrywise) and by central differences",
                   "exact": "exactly (sympy.diff, entrywise)",
                   "numeric": "by central differences"}[args.verify]
            out.append(f"verified {how}")
    print("\n".join(o for o in out if o and not (args.format == "steps" and o.startswith("given"))))


def build_parser():
    p = argparse.ArgumentParser(prog="matcalc", description="Symbolic matrix calculus for "
                                "neural networks: gradients by the trace trick, proven.")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grad", help="the gradient of a scalar matrix expression")
    g.add_argument("expr", help='e.g. "tr(X.T @ A @ X)"')
    g.add_argument("--wrt", required=True, help="the matrix or vector to differentiate by")
    g.add_argument("--format", choices=["text", "latex", "numpy", "steps"], default="text")
    g.add_argument("--shape", action="append", metavar="NAME=SHAPE",
                   help="declare a shape: X=3x4, X='n x m', lam=scalar (repeatable)")
    g.add_argument("--assume", action="append", metavar="EQUATION",
                   help='e.g. "sum(Y, axis=0) == 1" (each column of Y sums to 1)')
    g.add_argument("--verify", choices=["both", "exact", "numeric", "none"], default="both",
                   help="prove the result before printing it (default: both ways)")
    g.add_argument("--layout", choices=["denominator", "numerator"], default="denominator",
                   help="LaTeX layout; matcalc computes in denominator layout")
    g.set_defaults(run=cmd_grad)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except MatcalcError as e:
        print(f"matcalc: error: {e}", file=sys.stderr)
        return 2
    except RecursionError:
        print("matcalc: error: the expression is nested too deeply", file=sys.stderr)
        return 2
    except Exception as e:   # never a SymPy traceback in front of a user
        print(f"matcalc: internal error: {type(e).__name__}: {e} (please report this input)",
              file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
