"""The expression commands: grad, jacobian, hessian and check."""
import sympy as sp

from ..api import GRADIENT_LAYOUT_WORDS, PROOFS, check, grad, hessian, jacobian
from ..core.errors import MatcalcError
from ..core.expr import is_matrix, shape
from ..core.functions import T
from ..parse import entrywise_power_notes, parse_shape
from ..printing.text import text
from .output import as_json as _json, say as _say


def _shapes(specs):
    shapes = {}
    for spec in specs or ():
        name, sep, shape = spec.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise MatcalcError(f"--shape takes NAME=SHAPE (e.g. X=3x4 or X=n x m), not {spec!r}")
        if name in shapes:
            raise MatcalcError(f"--shape gives {name} twice; declare each name once")
        shapes[name] = parse_shape(shape)
    return shapes


def _size(d):
    """A size in a shape: (m*n)×(m*n), grouped unless a number or a name."""
    return text(d) if d.is_Atom else f"({text(d)})"


def _shape_line(g):
    mats = sorted(g.f.atoms(sp.MatrixSymbol), key=lambda m: list(g.symbols).index(m.name)
                  if m.name in g.symbols else len(g.symbols))
    parts = [f"{m.name}: {_size(m.shape[0])}×{_size(m.shape[1])}" for m in mats]
    scalars = [text(s) for s in g.f.free_symbols
               if isinstance(s, sp.Symbol) and not s.is_integer and s != T]
    if scalars:
        parts.append(", ".join(sorted(scalars)) + ": scalar")
    return "(" + ", ".join(parts) + ")"


# "the shape of alphaᵀ (the transpose)" says nothing about a number
SCALAR_LAYOUT_WORDS = "{0} is a scalar: ∂f/∂{0} is the same number in every layout"


def cmd_grad(args):
    shapes = _shapes(args.shape)
    layout = args.layout or "denominator"
    g = grad(args.expr, args.wrt, shapes=shapes, assume=args.assume or (), layout=layout)
    _declared(shapes, g)
    if args.verify != "none":
        g.verify(method=args.verify)
    if args.format == "text":
        print(f"{g}    {_shape_line(g)}")
        if args.layout:           # asked for: the result says which one it is in
            words = GRADIENT_LAYOUT_WORDS[layout] if is_matrix(g.wrt) else SCALAR_LAYOUT_WORDS
            print(words.format(text(g.wrt)))
    elif args.format == "latex":
        print(g.latex())
    elif args.format == "numpy":
        print(g.numpy_source())
    elif args.format == "json":
        print(_json(g.to_dict(verified=args.verify, layout=layout)))
    else:
        print(g.steps())      # the derivation ends with its own "given that"
    if g.assumptions and args.format != "steps":
        _say("given that " + "; ".join(str(a) for a in g.assumptions))
    if args.verify != "none":
        _say(f"verified {PROOFS[args.verify]}")
    for note in entrywise_power_notes(g.f):     # X**2 of a square X: not X @ X
        _say("note: " + note)


def cmd_jacobian(args):
    shapes = _shapes(args.shape)
    j = jacobian(args.expr, args.wrt, shapes=shapes, assume=args.assume or (),
                 layout=args.layout)
    _declared(shapes, j)
    if args.verify != "none":
        j.verify(method=args.verify)
    _print_result(args, j, f"{j}    {_shape_line(j)}\n{j.layout_line()}")


def cmd_hessian(args):
    shapes = _shapes(args.shape)
    h = hessian(args.expr, args.wrt, shapes=shapes, assume=args.assume or (), form=args.form)
    _declared(shapes, h.gradient)
    if args.verify != "none":
        h.verify(method=args.verify)
    if h.form == "product":
        v, x = h.direction.name, text(h.wrt)
        size = "×".join(_size(d) for d in h.wrt.shape) if is_matrix(h.wrt) else "scalar"
        line = (f"{h}    {_shape_line(h)[:-1]}, {v}: {size})\n"
                f"{v} is a direction: H[{v}] = d/dε ∇f({x} + ε{v}) at ε = 0")
    else:
        m = shape(h.expr)[0]
        size = text(m) if m.is_Atom else f"({text(m)})"
        line = (f"{h}    {_shape_line(h)}\nH = ∂²f/∂vec({text(h.wrt)})∂vec({text(h.wrt)})ᵀ, "
                f"{size}×{size}, symmetric (every layout)")
    _print_result(args, h, line)


def _print_result(args, r, text_lines):
    """A Jacobian's or Hessian's output in args.format, then its provenance (stderr)."""
    if args.format == "text":
        print(text_lines)
    elif args.format == "latex":
        print(r.latex())
    elif args.format == "numpy":
        print(r.numpy_source())
    else:
        print(_json(r.to_dict(verified=args.verify)))
    if r.assumptions:
        _say("given that " + "; ".join(str(a) for a in r.assumptions))
    if args.verify != "none":
        _say(f"verified {PROOFS[args.verify]}")


def _declared(shapes, g):
    unused = sorted(set(shapes) - set(g.symbols))
    if unused:
        raise MatcalcError(f"--shape declares {', '.join(unused)}, which the expression does "
                           f"not use (its variables: {', '.join(g.symbols) or 'none'})")



def cmd_check(args):
    """Exit 0 when the claim is proven ∂f/∂X; 1 when it is proven wrong, with the first
    differing entry, both values and matcalc's own gradient; 2 for bad input (a claim that
    does not parse, or of another shape than X)."""
    shapes = _shapes(args.shape)
    c = check(args.expr, args.wrt, args.claim, shapes=shapes, assume=args.assume or (),
              method=args.verify)
    _declared(shapes, c.gradient)
    print(_json(c.to_dict()) if args.format == "json" else c.message())
    return 0 if c.correct else 1
