"""A program with loops over t as text: `for t = 1, …, T:` and the loop's lines indented.

Printing (stage 4). Reads the one loop construct of nn/sequences.py (Loop: the names of the
lines that run once per step, forward or backward) and prints every line as
printing/report.py prints a network's, one line per formula.
"""
from ..core.program import Program
from .report import program_text as _lines


def program_text(program, loops, subs=None, shapes=False):
    """The text of a program whose lines in `loops` run per step (see the module docstring)."""
    out, items = [], list(program)
    by_name = {n: lp for lp in loops for n in lp.names}
    i = 0
    while i < len(items):
        lp = by_name.get(items[i].name)
        if lp is None:
            out.append(_lines(Program((items[i],)), shapes=shapes, subs=subs))
            i += 1
            continue
        body = items[i:i + len(lp.names)]
        out.append(f"for t = {'T, …, 1' if lp.reverse else '1, …, T'}:" + (
            "" if lp.reverse else f"   (T = {lp.T})"))
        out += ["    " + s for s in _lines(Program(tuple(body)), shapes=shapes,
                                           subs=subs).split("\n")]
        i += len(lp.names)
    return "\n".join(out)


def backprop_text(b, subs=None, shapes=False):
    """(forward, backward) of a sequence network's Backprop, as text."""
    fwd = program_text(b.forward, b.loops, subs, shapes)
    bwd = program_text(b.backward, b.loops, subs, shapes)
    if getattr(b, "boundary", None):
        bwd = bwd.replace("for t = T, …, 1:", f"for t = T, …, 1:   ({b.boundary})", 1)
    return fwd, bwd
