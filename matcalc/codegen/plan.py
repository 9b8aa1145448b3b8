"""Planning a kernel body: which line runs when, which array it writes into, what dies after it.

Codegen (stage 5). Consumes the lines of a generated function (forward, loss and backward
assignments, each name := expr), its inputs (never written) and its outputs (returned, so live
to the end); produces a Plan, a list of Steps that a printer renders one statement each, and
that any array backend can render (one without in-place updates reads `x op= e` as
`x = x op e` and ignores `out`). The plan, in the order it is made:

  * softmax and log-softmax of the same logits become one pair line (one exp for both);
  * the mean's 1/N is folded once into the seed δ when every gradient carries it (the sweep
    is linear in the δ's, so scaling the seed scales every δ);
  * lines are scheduled in program order except that an output runs as soon as its inputs
    exist (dW_l and db_l right after δ_l, as a person writes backprop), so δ_l dies early;
  * each line is evaluated as one array and updated in place (Z = W A; Z += b;
    δ = Wᵀδ'; δ *= f'), the first array of a line written into a dead operand's buffer
    where one of the same shape is free (A = tanh(Z) into Z; δ_L = S − Y into S);
  * the names dead after each line are listed, so that their memory goes back at once.

Nothing here changes a value: the plan only reorders, regroups and reuses buffers, except the
1/N fold, which is exact (a scalar moved through linear maps); the generated kernels are
checked against central differences (tests/kernel_check.py) with inputs bit-identical.
"""
from dataclasses import dataclass

import sympy as sp
from sympy import HadamardProduct, MatAdd, MatMul, MatrixSymbol, Transpose, preorder_traversal

from ..core.functions import BY_CLASS, FUNCTIONS, T, reference
from ..core.nodes import Elementwise, LogSoftmax, Softmax
from ..core.terms import scaled_term, split_term

__all__ = ["Line", "Step", "Plan", "plan"]


@dataclass(frozen=True)
class Line:
    """A formula of the function: names := expr. A pair line (names S, P) computes
    softmax(expr) and log softmax(expr) along `axis` at once."""
    names: tuple
    expr: sp.Basic
    axis: int = None

    @property
    def name(self):
        return self.names[0]


@dataclass(frozen=True)
class Step:
    """One statement.

    how "=": name = expr, a new array or, with `into`, written into the buffer of `into`
      (a name dead after this line, of the same shape; expr is then its only use): an
      elementwise function of `into`, or `into` itself (name takes over its buffer, and the
      next step updates it in place);
    how "+=", "-=", "*=", "/=": name op= expr, in place;
    how "pair": names (S, P) = softmax and log softmax of expr along axis, P into `into`;
    how "copy": name = a copy of expr (an output that would otherwise be an input's view).
    `line` is the index of the Line it belongs to; `free` the names to drop after it.
    """
    names: tuple
    expr: sp.Basic
    how: str = "="
    into: sp.Basic = None
    line: int = 0
    axis: int = None
    free: tuple = ()

    @property
    def name(self):
        return self.names[0]


@dataclass(frozen=True)
class Plan:
    lines: tuple              # the formulas in the order they run (the docstring's rows)
    steps: tuple
    folded: sp.Basic = None   # the scalar folded into the seed δ's, if any


def plan(assignments, inputs, outputs, adjoints=(), full=None):
    """The Plan of a function computing `assignments` (name := expr, in program order) from
    `inputs` and returning `outputs`; `adjoints` names the backward pass's δ's (the lines
    the 1/N may be folded into). `full(e)` says whether e's array has e's full shape
    (False where a printer broadcasts it, as b for b 1ᵀ); by default, structurally."""
    full = full or _full
    inputs, outputs = frozenset(inputs), tuple(outputs)
    lines = [Line((a.name,), a.expr) for a in assignments]
    lines = _share_softmax(lines)
    lines = _read_outputs(lines)
    lines, c = _fold_scale(lines, set(adjoints), outputs)
    lines = _schedule(lines, outputs)
    return Plan(tuple(lines), tuple(_steps(lines, inputs, outputs, full)), c)


# ------------------------------------------------------------------ softmax and log-softmax

def _share_softmax(lines):
    """S := softmax(Z) and a later log softmax(Z) (same axis): one pair line defining S and
    logS, and logS in place of log softmax(Z) everywhere."""
    defined = {n for l in lines for n in l.names}
    out = list(lines)
    for i, l in enumerate(lines):
        e = l.expr
        if not isinstance(e, Softmax) or l.axis is not None:
            continue
        log = LogSoftmax(e.arg, e.axis)
        users = [j for j, m in enumerate(out) if j != i and m.expr.has(log)]
        if not users:
            continue
        name = "log" + l.name.name
        while name in {str(n) for n in defined}:
            name += "_"
        P = MatrixSymbol(name, *e.shape)
        defined.add(P)
        out[i] = Line((l.name, P), e.arg, e.axis)
        for j in users:
            out[j] = Line(out[j].names, out[j].expr.xreplace({log: P}), out[j].axis)
    return out


# ------------------------------------------------------------------ g(Z) read from A = f(Z)

_ABSORBS = {}


def _absorbs(g, f):
    """g(f(t)) = g(t) for every real t, proven by SymPy on the reference forms (step(relu(t))
    = step(t): relu' is read from the activation, as a person writes [A > 0])."""
    key = (g, f)
    if key not in _ABSORBS:
        diff = reference(g.xreplace({T: f})) - reference(g)
        try:
            _ABSORBS[key] = sp.simplify(sp.piecewise_fold(diff)) == 0
        except Exception:  # noqa: BLE001  (SymPy could not decide: not proven)
            _ABSORBS[key] = False
    return _ABSORBS[key]


def _single(e):
    """e is an elementwise function applied to a name: f(Z), f one function of T."""
    return (isinstance(e, Elementwise) and isinstance(e.arg, MatrixSymbol) and
            e.body.is_Function and e.body.args == (T,))


def _read_outputs(lines):
    """g(Z) → g(A) in the lines after A := f(Z) wherever g∘f = g is proven, when Z is then
    needed by A alone: A can be written into Z (relu in place, its mask [A > 0])."""
    out = list(lines)
    for i, l in enumerate(lines):
        if l.axis is not None or not _single(l.expr):
            continue
        A, f, Z = l.name, l.expr.body, l.expr.arg
        later = [j for j in range(len(out)) if j != i and out[j].expr.has(Z)]
        if not later or any(j < i for j in later):
            continue
        swap = {}
        for j in later:
            for node in preorder_traversal(out[j].expr):
                if isinstance(node, Elementwise) and node.arg == Z:
                    if not (_single(node) and _absorbs(node.body, f)):
                        break
                    swap[node] = Elementwise(node.body, A)
        new = {j: out[j].expr.xreplace(swap) for j in later}
        if swap and not any(e.has(Z) for e in new.values()):
            for j in later:
                out[j] = Line(out[j].names, new[j], out[j].axis)
    return out


# ------------------------------------------------------------------ the mean's 1/N, once

def _terms(e):
    return e.args if isinstance(e, MatAdd) else (e,)


def _count(e, names):
    return sum(1 for n in preorder_traversal(e) if n in names)


def _fold_scale(lines, adjoints, outputs):
    """Move a scalar c common to every gradient term that holds a δ into the seed δ's.

    `adjoints` are the δ's (the backward lines that are not outputs). Every δ line must be
    linear in the δ's (each term holding exactly one δ) or a seed (holding none), and every
    output term holding a δ must hold one, with coefficient c; then scaling the seeds by c
    scales every δ by c, and c leaves those terms. Anything else: the lines unchanged."""
    deltas = {l.name for l in lines if l.name in adjoints and l.axis is None}
    defs = {l.name: l for l in lines if l.name in deltas}
    grad_lines = [l for l in lines if l.name in set(outputs) and l.axis is None and
                  getattr(l.name, "is_Matrix", False)]
    if not deltas:
        return lines, None
    c = None
    for l in grad_lines:
        for t in _terms(l.expr):
            n = _count(t, deltas)
            if n == 0:
                continue
            k, _ = split_term(t)
            if n != 1 or (c is not None and k != c):
                return lines, None
            c = k
    if c is None or c == 1 or not c.is_positive:
        return lines, None
    seeds = set()
    for n, l in defs.items():
        counts = [_count(t, deltas) for t in _terms(l.expr)]
        if all(k == 0 for k in counts):
            seeds.add(n)
        elif any(k != 1 for k in counts):
            return lines, None
    if any(_count(l.expr, deltas) for l in lines
           if l.name not in deltas and l not in grad_lines):
        return lines, None                       # a δ feeds something else: leave it
    out = []
    for l in lines:
        if l.name in seeds:
            l = Line(l.names, MatMul(c, l.expr), l.axis)
        elif l in grad_lines:
            terms = [scaled_term(split_term(t)[0] / c, split_term(t)[1])
                     if _count(t, deltas) else t for t in _terms(l.expr)]
            l = Line(l.names, MatAdd(*terms) if len(terms) > 1 else terms[0], l.axis)
        out.append(l)
    return out, c


# ------------------------------------------------------------------ the order of the lines

def _uses(line, defined):
    return {u for u in line.expr.free_symbols if u in defined}


def _schedule(lines, outputs):
    """Program order, except that an output line runs as soon as the lines it uses have run."""
    defined = {n for l in lines for n in l.names}
    need = [_uses(l, defined) for l in lines]
    outs = set(outputs)
    done, order, left = set(), [], list(range(len(lines)))
    while left:
        ready = [i for i in left if need[i] <= done]
        i = min(ready, key=lambda i: (not (set(lines[i].names) & outs), i))
        order.append(i)
        left.remove(i)
        done |= set(lines[i].names)
    return [lines[i] for i in order]


# ------------------------------------------------------------------ steps: in place, reuse

def _full(e):
    """Whether e is printed as an array of its own shape: not a vector broadcast against
    all-ones (b 1ᵀ prints as b), not a product reduced by a ones vector to a shape it is not."""
    if isinstance(e, MatMul):
        _, mats = split_term(e)
        return not any(isinstance(m, sp.OneMatrix) for m in mats)
    if isinstance(e, (HadamardProduct, MatAdd)):
        return any(_full(a) for a in e.args if getattr(a, "is_Matrix", False))
    return True


def _fresh(e):
    """e evaluates to a new array (never a view of an input): a product, a sum, an entrywise
    function or product."""
    if isinstance(e, MatMul):
        _, mats = split_term(e)
        return len(mats) > 1 or _fresh(mats[0])
    if isinstance(e, Elementwise):
        return e.body != T
    return isinstance(e, (HadamardProduct, MatAdd))


def _factors(e):
    """The factors of an entrywise product, an elementwise product body split into its
    factors: (A ⊙ (1 − A)) → A, 1 − A; as [(op, factor)] with op "*=" or "/=" (a negative
    power divides) and scalar factors kept as scalars."""
    out = []
    for f in e.args:
        if isinstance(f, Elementwise) and f.body.is_Mul:
            for b in f.body.args:
                if b.is_number:
                    out.append(("*=", b))
                elif b.is_Pow and b.exp.is_negative and b.exp.is_number:
                    out.append(("/=", f.arg if b.exp == -1 and b.base == T else
                                Elementwise(b.base ** -b.exp, f.arg)))
                else:
                    out.append(("*=", f.arg if b == T else Elementwise(b, f.arg)))
        else:
            out.append(("*=", f))
    return out


def _is_mask(f):
    """f is a function with a mask spelling (step: a boolean array), cheap only as a factor."""
    name = BY_CLASS.get(type(f.body)) if isinstance(f, Elementwise) else None
    return name is not None and FUNCTIONS[name].mask is not None


def _decompose(e, full):
    """(first, [(op, operand)]): e as one array `first`, then updated in place; or (e, [])."""
    if not getattr(e, "is_Matrix", False):
        return e, []
    k, mats = split_term(e)
    if k != 1:
        first, ups = _decompose(scaled_term(sp.S.One, mats), full)
        return first, ups + [("*=", k)]
    if isinstance(e, MatAdd):
        terms = []
        for t in e.args:
            k, mats = split_term(t)
            neg = k.could_extract_minus_sign()
            terms.append(("-=" if neg else "+=", scaled_term(-k if neg else k, mats)))
        for pick in (lambda op, t: op == "+=" and _fresh(t) and full(t),
                     lambda op, t: op == "+=" and isinstance(t, MatrixSymbol)):
            i = next((i for i, (op, t) in enumerate(terms) if pick(op, t)), None)
            if i is not None:
                first, ups = _decompose(terms[i][1], full)   # its own updates first
                return first, ups + terms[:i] + terms[i + 1:]
        return e, []
    if isinstance(e, HadamardProduct):
        fs = _factors(e)
        for pick in (lambda op, f: op == "*=" and isinstance(f, MatMul) and _fresh(f) and full(f),
                     lambda op, f: op == "*=" and getattr(f, "is_Matrix", False) and _fresh(f)
                     and full(f) and not _is_mask(f),
                     lambda op, f: op == "*=" and isinstance(f, MatrixSymbol)):
            i = next((i for i, (op, f) in enumerate(fs) if pick(op, f)), None)
            if i is not None:
                return fs[i][1], fs[:i] + fs[i + 1:]
        return e, []
    return e, []


class _Buffers:
    """Which array each name holds, and when an array may be written over: only an array
    made in this function (never an input, nor a view of one a helper might return), once
    every name holding it is dead."""

    def __init__(self, lines, keep):
        defined = {n for l in lines for n in l.names}
        self.last = {}
        for i, l in enumerate(lines):
            for u in _uses(l, defined):
                self.last[u] = i
        self.keep, self.owner, self.made = keep, {}, set()

    def holders(self, n):
        buf = self.owner.get(n, n)
        return {n} | {m for m in self.owner if self.owner[m] == buf}

    def dead_after(self, n, i):
        return all(m not in self.keep and self.last.get(m, -1) <= i for m in self.holders(n))

    def free_after(self, n, i):
        """n's array may be written over after line i's last use of it."""
        return (isinstance(n, MatrixSymbol) and self.owner.get(n, n) in self.made and
                self.dead_after(n, i))

    def new(self, name, fresh=True):
        self.owner[name] = name
        if fresh:
            self.made.add(name)

    def take(self, name, n):
        self.owner[name] = self.owner.get(n, n)


def _steps(lines, inputs, outputs, full):
    bufs = _Buffers(lines, set(inputs) | set(outputs))
    steps = []
    for i, l in enumerate(lines):
        if l.axis is not None:                    # softmax pair: new S, log S into Z
            Z = l.expr
            into = Z if bufs.free_after(Z, i) else None
            steps.append(Step(l.names, Z, "pair", into, i, l.axis))
            bufs.new(l.names[0])
            if into is not None:
                bufs.take(l.names[1], into)
            else:
                bufs.new(l.names[1])
        else:
            steps += _line_steps(l, i, bufs, outputs, full)
        # names dead now, dropped with the last name holding their array
        gone = {n for n in bufs.last if bufs.last[n] == i} | {
            n for n in l.names if n not in bufs.last}
        free = set()
        for n in gone:
            if getattr(n, "is_Matrix", False) and bufs.dead_after(n, i):
                free |= {m for m in bufs.holders(n) if m in bufs.owner}
        if free and i < len(lines) - 1:
            s = steps[-1]
            steps[-1] = Step(s.names, s.expr, s.how, s.into, s.line, s.axis,
                             tuple(sorted(free, key=str)))
    return steps


def _line_steps(l, i, bufs, outputs, full):
    name, e = l.name, l.expr
    if not getattr(e, "is_Matrix", False):
        bufs.new(name, fresh=False)
        return [Step((name,), e, "=", None, i)]
    first, ups = _decompose(e, full)
    bare = isinstance(first, MatrixSymbol) or (
        isinstance(first, Transpose) and isinstance(first.arg, MatrixSymbol))
    if not ups and bare:
        if name in outputs:                       # returned: an array of its own
            bufs.new(name)
            return [Step((name,), e, "copy", None, i)]
        bufs.take(name, first if isinstance(first, MatrixSymbol) else first.arg)
        return [Step((name,), e, "=", None, i)]
    if ups and isinstance(first, MatrixSymbol):   # take over a dead operand's array
        if bufs.free_after(first, i) and _count(e, {first}) == 1 and first.shape == e.shape:
            bufs.take(name, first)
            return [Step((name,), first, "=", first, i)] + _updates(name, ups, i, bufs)
    elif ups and _fresh(first) and full(first) and first.shape == e.shape:
        bufs.new(name)
        return [Step((name,), first, "=", None, i)] + _updates(name, ups, i, bufs)
    # one array: an elementwise function of a dead operand is written into it
    if (isinstance(e, Elementwise) and e.body != T and bufs.free_after(e.arg, i) and
            e.arg.shape == e.shape):
        bufs.take(name, e.arg)
        return [Step((name,), e, "=", e.arg, i)]
    bufs.new(name, fresh=_fresh(e))
    return [Step((name,), e, "=", None, i)]


def _updates(name, ups, i, bufs):
    """The in-place steps name op= operand; an elementwise operand f(Z) whose Z is free after
    this line and not used by a later update is written into Z (δ *= 1 − A into A)."""
    out = []
    for j, (op, u) in enumerate(ups):
        Z = u.arg if isinstance(u, Elementwise) else None
        into = Z if (Z is not None and bufs.free_after(Z, i) and Z.shape == u.shape and
                     not any(getattr(v, "has", None) and v.has(Z) for _, v in ups[j + 1:])
                     and not bufs.holders(Z) & bufs.holders(name)) else None
        out.append(Step((name,), u, op, into, i))
    return out
