"""Programs, derivations and whole documents, in text and in LaTeX.

Printing (stage 4). Consumes Programs (core/program.py), Derivations (calculus/steps.py),
gradients and the backprop of a model (read through their attributes); produces the text `matcalc derive` prints,
the amsmath `align*` blocks of `--format latex`, and the standalone document of `matcalc
report`. Every formula goes through the text or LaTeX printer; nothing here edits their output.
"""
import re
import unicodedata

import sympy as sp

from ..calculus.steps import Step
from ..core.expr import matmul, rebuild

from .latex import latex
from . import notation
from .notation import rule_math
from .text import text


def _shape(e, subs):
    return tuple(sp.sympify(d).xreplace(subs or {}) for d in e.shape)


def _dims(e, subs=None):
    if not getattr(e, "is_Matrix", False):
        return "scalar"
    return "×".join(text(d) for d in _shape(e, subs))


def _lspace(e, subs=None):
    """ℝ^{m×n} for a matrix, ℝ for a scalar."""
    if not getattr(e, "is_Matrix", False):
        return r"\mathbb{R}"
    return r"\mathbb{R}^{" + r" \times ".join(latex(d) for d in _shape(e, subs)) + "}"


def program_text(program, shapes=False, subs=None):
    """One line per assignment: `name = formula` (with its shape), the sizes of `subs`
    filled in (a model's class count d2 is 10 on the page)."""
    lines = []
    for a in program:
        line = f"{text(a.name)} = {text(a.expr.xreplace(subs or {}))}"
        lines.append(f"{line:60s}  ({_dims(a.name, subs)})" if shapes else line)
    return "\n".join(lines)


def program_latex(program, names=None, shapes=False, subs=None, fit=False):
    """The body of an align* environment: one `name &= formula` row per assignment (sizes
    from `subs` filled in; a long formula broken before a + or −, see _pieces). Standard
    amsmath only, ready to paste, unless `fit` (a report's, whose preamble defines
    \\matcalcfit) scales what still does not fit to the line."""
    rows = []
    for a in program:
        first, *rest = _pieces(a.expr.xreplace(subs or {}), names, fit=fit)
        row = f"{latex(a.name, names=names)} &= {first}"
        if shapes:
            row += rf" && \in {_lspace(a.name, subs)}"
        rows.append(" \\\\\n".join([row] + [rf"&\quad {p}" for p in rest]))
    return " \\\\\n".join(rows)


def gradient_names(backprop):
    """dW1 → ∂L/∂W_1 in LaTeX; dW1 in text."""
    return {g: rf"\frac{{\partial L}}{{\partial {latex(p)}}}"
            for p, g in backprop.gradients.items()}


def _node_of(step):
    """The name an "adjoint" step reaches (its moves follow until the next one)."""
    return step.before


def _wrapped(t):
    """Text of a term, parenthesised unless it is a single name."""
    return f"({t})" if " " in t else t


def steps_text(derivation, subs=None):
    """The derivation as text: each name's adjoint, each differential with its rule, and each
    term of dN as its contribution to dL, tr(N̄ᵀ term), moved into tr(Ḡᵀ dX) (a term that
    holds several dX, as the L2 penalty's does, equals the sum of their traces); the sizes
    of `subs` filled in."""
    def view(e):
        return e.xreplace(subs) if subs and isinstance(e, sp.Basic) else e

    lines, node, total = [], None, "dL"
    for s in _merged_moves(derivation.steps):
        before, after = view(s.before), view(s.after)
        if s.kind == "result" and node is None:
            total = str(s.rule)           # dL, or df for a gradient's f
        if s.kind == "adjoint":
            node = _node_of(s)
            lines.append(f"∂L/∂{text(before)} = {text(after)}")
        elif s.kind == "differential":
            lines.append(f"  d({text(before)}) = {text(after)}        [{s.rule}]")
        elif s.kind == "result":
            lines.append(f"{s.rule} = {text(after)}")
        elif s.kind == "move":
            term = text(before) if node is None else \
                f"tr((∂L/∂{text(node)}).T @ {_wrapped(text(before))})"
            lines.append(f"  {total} += {term} = {text(after)}        [{s.rule}]")
        elif s.kind == "delta":
            lines.append(f"{text(before)} := {text(after)}        [{s.rule}]")
        else:
            lines.append(f"  {text(before)}  →  {text(after)}        [{s.rule}]")
    return "\n".join(lines)


def gradient_steps_text(g):
    """The derivation of a Gradient (api.py) as text: differentials, trace moves, simplification."""
    d = g.derivation
    lines = [f"f = {text(g.f)}", "", "Differentials, one rule per node:"]
    for s in d.of_kind("differential"):
        lines.append(f"  d({text(s.before)}) = {text(s.after)}")
        lines.append(f"      by {s.rule}")
    for s in d.of_kind("result"):
        lines += ["", f"df = {text(s.after)}"]
    moves = d.of_kind("move")
    if moves:
        lines += ["", "Trace moves, tr(AB) = tr(BA), tr(Aᵀ) = tr(A), tr(Gᵀ(F ⊙ L)) = tr((G ⊙ F)ᵀ L):"]
        lines += [f"  {text(s.before)} = {text(s.after)}" for s in moves]
    simp = d.of_kind("simplify")
    if simp:
        lines += ["", "Simplify:"]
        for s in simp:
            lines.append(f"  {text(s.before)} = {text(s.after)}")
            lines.append(f"      by {s.rule}")
    lines += ["", f"df = tr(Gᵀ d{text(g.wrt)})  ⇒  {g}"]
    if g.assumptions:
        lines.append("given that " + "; ".join(str(a) for a in g.assumptions))
    return "\n".join(lines)


def _rule_tex(rule):
    """A rule's identity as text; a letter with a combining bar (N̄) as math."""
    body = re.sub("(\\w)\u0304", r"\\ensuremath{\\bar{\1}}",
                  unicodedata.normalize("NFC", escape(" ".join(str(rule).split()))))
    return r"\text{" + body + "}"


def _short(rule):
    """A rule's identity without the sentence that explains it."""
    return str(rule).split(": ")[0].rstrip(".")


def _d(e, show):
    """d(e) in LaTeX: dX for a name, d(…) otherwise."""
    body = show(e)
    return r"\mathrm{d}" + body if isinstance(e, (sp.Symbol, sp.MatrixSymbol)) else \
        rf"\mathrm{{d}}\left({body}\right)"


def _contribution(node, term):
    """tr(N̄ᵀ term), the term's contribution to dL, with N̄ a symbol printed as N̄; the term
    itself for the output, whose adjoint is 1."""
    if node is None:
        return term, {}
    bar = sp.MatrixSymbol(f"{node.name}bar", *node.shape)
    return sp.Trace(matmul(sp.Transpose(bar), term)), {bar: rf"\overline{{{latex(node)}}}"}


def _merged_moves(steps):
    """The steps, with the moves of one term (one term of dN can hold several dX, as the L2
    penalty's does) merged into one: its contribution is the sum of their traces."""
    out = []
    for s in steps:
        prev = out[-1] if out else None
        if s.kind == "move" and prev is not None and prev.kind == "move" and \
                prev.before == s.before:
            rules = list(dict.fromkeys(str(prev.rule).split("; ") + str(s.rule).split("; ")))
            out[-1] = Step("move", "; ".join(rules), s.before, sp.Add(prev.after, s.after))
        else:
            out.append(s)
    return out


def derivation_rows(derivation, view=lambda e: e, coefficients=None):
    """The derivation as rows (lhs LaTeX, lhs text width, relation, rhs expression, LaTeX
    names for the rhs, rule), grouped by the name whose adjoint they compute:
    [(name or None for the output, rows)]. `view` rewrites each expression before it is
    shown (forward values by their names, concrete sizes); `coefficients` (δ → c) shows a
    δ with its name's adjoint, N̄ = c·δ. Each term of a dN is shown as its contribution to
    dL, tr(N̄ᵀ term), moved into tr(Ḡᵀ dX); rows the view makes trivial or repeats are left
    out."""
    groups, node, rows, shown = [], None, [], set()

    def row(lhs, width, rel, rhs, names, rule):
        key = (lhs, rel, rhs)
        if key not in shown:
            shown.add(key)
            rows.append((lhs, width, rel, rhs, names, rule))

    last = None
    for s in _merged_moves(derivation.steps):
        before, after = view(s.before), view(s.after)
        if s.kind == "adjoint":
            groups.append((node, rows))
            node, rows = s.before, []
            bar = rf"\overline{{{latex(before)}}}"
            row(bar, len(text(before)), "=", after, {}, None)
            cancelled = rebuild(after)   # written with the forward names, S ⊙ S^{∘-1} cancels
            if cancelled != after:
                row(bar, len(text(before)), "=", cancelled, {}, CANCEL)
        elif s.kind == "differential" and before != after:
            row(_d(before, latex), len(text(before)) + 3, "=", after, {}, s.rule)
        elif s.kind == "result" and not (last and last.kind == "differential" and
                                         (last.before, last.after) == (s.before, s.after)):
            row(r"\mathrm{d}" + latex(sp.Symbol(str(s.rule)[1:])), len(str(s.rule)), "=",
                after, {}, None)
        elif s.kind == "move":       # the term's share of dL, tr(N̄ᵀ term) = tr(Ḡᵀ dX)
            contribution, names = _contribution(node and view(node), before)
            if rows and node is None and rows[-1][3] == contribution:
                row("", 0, "=", after, {}, s.rule)         # dL = term = tr(Ḡᵀ dX)
            else:
                row(latex(contribution, names=names), len(text(contribution)), "=", after,
                    {}, s.rule)
        elif s.kind == "simplify" and before != after:
            row(latex(before), len(text(before)), "=", after, {}, _short(s.rule))
        elif s.kind == "delta":
            c = (coefficients or {}).get(s.before)
            if c is not None and node is not None:
                bar = rf"\overline{{{latex(view(node))}}}"
                row(bar, len(text(node)), "=", sp.MatMul(c, s.before) if c != 1 else s.before,
                    {}, None)
            row(latex(s.before), len(text(s.before)), ":=", after, {}, None)
        last = s
    groups.append((node, rows))
    return [(n, r) for n, r in groups if r]


# The rule of a row where the forward names make entries cancel (Y ⊙ S ⊙ S^{∘-1} = Y).
CANCEL = "A ⊙ B ⊘ B = A: an entry divided by itself is 1"


def _tag(rule, page=True):
    """The rule as a tag on the right: for a page, small, as mathematics, one identity per
    line; as text for MathJax (Jupyter), which has no tabular."""
    if not rule:
        return ""
    if not page:
        return rf" \tag*{{${rule_math(rule)}$}}"
    lines = [f"${rule_math(r)}$" for r in str(rule).split("; ")]
    body = lines[0] if len(lines) == 1 else \
        r"\begin{tabular}[t]{@{}r@{}}" + r"\\".join(lines) + r"\end{tabular}"
    return rf" \tag*{{\footnotesize {body}}}"


def steps_latex(derivation):
    """The derivation as align* rows, each with its rule as a tag on the right (plain
    LaTeX that MathJax renders too)."""
    out = []
    for _, rows in derivation_rows(derivation):
        for lhs, _, rel, rhs, names, rule in rows:
            out.append(rf"{lhs} &{rel} {latex(rhs, names=names)}{_tag(rule, page=False)}")
    return " \\\\\n".join(out)


# How many characters of an expression's text form fit on one line of the report (A4,
# 2 cm margins, 11pt): longer right-hand sides are broken before a top-level + or −, a
# left-hand side longer than LHS_WIDTH moves to its own line, and what still does not fit
# is scaled to the line (\matcalcfit, the last resort).
WIDTH = 78
LHS_WIDTH = 32


def _fit(tex, width, fit=True):
    return rf"\matcalcfit{{{tex}}}" if fit and width > WIDTH * 0.7 else tex


def _pieces(e, names, width=WIDTH, fit=True):
    """The LaTeX of e in lines of about `width` text characters, broken between the terms
    of a sum; each line after the first starts with its sign. With `fit`, a line still too
    long is scaled to the page by \\matcalcfit (defined by the report's preamble only)."""
    if len(text(e)) <= width or not isinstance(e, (sp.MatAdd, sp.Add)):
        return [_fit(latex(e, names=names), len(text(e)), fit)]
    join = sp.MatAdd if e.is_Matrix else sp.Add
    lines, group = [], []
    for t in e.args:
        if group and len(text(join(*group, t))) > width:
            lines.append(group)
            group = []
        group.append(t)
    lines.append(group)
    out = []
    for i, g in enumerate(lines):
        part = join(*g) if len(g) > 1 else g[0]
        body = latex(part, names=names)
        body = body if i == 0 or body.startswith("-") else "+ " + body
        out.append(_fit(body, len(text(part)), fit))
    return out


def _align_rows(rows):
    """align* lines for derivation rows: a long left-hand side gets a line of its own, long
    sums break, and the rule is a tag on the right."""
    lines = []
    for lhs, width, rel, rhs, names, rule in rows:
        pieces = _pieces(rhs, names)
        tag = max((len(r) for r in str(rule).split("; ")), default=0) * 0.7 if rule else 0
        if width > LHS_WIDTH or width > 6 and width + len(text(rhs)) + tag > WIDTH:
            lines.append(rf"&{_fit(lhs, width)}{_tag(rule)}")
            lines.append(rf"&\quad {rel} {pieces[0]}")
        else:
            lines.append(rf"{lhs} &{rel} {pieces[0]}{_tag(rule)}")
        lines += [rf"&\quad {p}" for p in pieces[1:]]
    return " \\\\\n".join(lines)


def derivation_latex(backprop, known=None):
    """The "Derivation by the trace trick" section of a report: for each name, from the loss
    back, its adjoint, its differential and each term's contribution to dL; forward values
    are written by their names and the model's sizes are filled in."""
    m = backprop.model
    names = {a.expr: a.name for a in backprop.forward}
    subs = m.concrete()

    def view(e):
        if not isinstance(e, sp.Basic):
            return e
        return e.xreplace(names).xreplace(subs)

    # each name's definition, with the names before it
    defined = {a.name: a.expr.xreplace({e: n for e, n in names.items() if n != a.name})
               .xreplace(subs) for a in backprop.forward}
    parts = [
        r"Going back from $L$, each value $V$ named in the forward pass gets its adjoint "
        r"$\overline{V} = \partial L/\partial V$, the sum of what the values computed from "
        r"it contribute. The differential $\mathrm{d}V$ is taken node by node, by the rule on "
        r"the right (equation numbers are those of \emph{The Matrix Cookbook}, Petersen and "
        r"Pedersen, 2012). Each term $T$ of $\mathrm{d}V$ contributes "
        r"$\operatorname{tr}(\overline{V}^{\top} T)$ to $\mathrm{d}L$; the trace moves on "
        r"the right write it as $\operatorname{tr}(\bar G^{\top} \mathrm{d}X)$, and so add "
        r"$\bar G$ to $\overline{X}$. A $\delta$ names an adjoint without its scalar factor."]
    known = set() if known is None else known
    for node, rows in derivation_rows(backprop.derivation, view, backprop.coefficients):
        name = node if node is not None else backprop.forward.output
        rows = [(latex(name), len(text(name)), "=", defined[name], {}, None)] + rows
        parts.append(rf"\subsection*{{${latex(name)}$}}")
        parts.append(align(_align_rows(rows)))
        new = notation.defined([r[3] for r in rows], known)
        if new:
            parts.append(new)
    return "\n".join(parts)


# The characters of rule names and messages, as math, for \DeclareUnicodeCharacter: a rule's
# docstring goes into the document as it is written.
UNICODE = {"−": "-", "⊙": r"\odot", "⊗": r"\otimes", "∘": r"\circ", "ᵀ": r"^{\top}",
           "⁻": "^{-}", "¹": "^{1}", "²": "^{2}", "ᵏ": "^{k}", "ᵇ": "^{b}", "ⁿ": "^{n}",
           "′": r"^{\prime}", "₁": "_{1}", "₂": "_{2}", "·": r"\cdot", "×": r"\times",
           "…": r"\ldots", "⊘": r"\oslash", "≠": r"\neq", "≤": r"\le", "≥": r"\ge", "→": r"\to",
           "⇒": r"\Rightarrow", "∂": r"\partial", "‖": r"\|", "Σ": r"\Sigma", "δ": r"\delta",
           "σ": r"\sigma", "λ": r"\lambda", "Ā": r"\bar{A}", "Ḡ": r"\bar{G}", "ℝ": r"\mathbb{R}"}

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[margin=2cm]{geometry}
\usepackage{amsmath,amssymb,graphicx}
\usepackage[utf8]{inputenc}
""" + "".join(rf"\DeclareUnicodeCharacter{{{ord(c):04X}}}{{\ensuremath{{{tex}}}}}" + "\n"
              for c, tex in UNICODE.items()) + r"""\allowdisplaybreaks
\newsavebox{\matcalcbox}
\newcommand{\matcalcfit}[1]{\savebox{\matcalcbox}{$\displaystyle #1$}%
\ifdim\wd\matcalcbox>0.7\linewidth\resizebox{0.7\linewidth}{!}{\usebox{\matcalcbox}}%
\else\usebox{\matcalcbox}\fi}
"""


_SPECIAL = {**{c: "\\" + c for c in "_#%&${}"}, "\\": r"\textbackslash{}",
            "^": r"\textasciicircum{}", "~": r"\textasciitilde{}"}


def escape(plain):
    """Plain text for a LaTeX paragraph: TeX's special characters escaped."""
    return "".join(_SPECIAL.get(c, c) for c in plain)


def document(title, sections):
    """A standalone LaTeX document: `sections` is a list of (heading, body) pairs."""
    parts = [PREAMBLE, rf"\title{{{escape(title)}}}", r"\date{}", r"\begin{document}", r"\maketitle"]
    for heading, body in sections:
        parts.append(rf"\section*{{{heading}}}")
        parts.append(body)
    parts.append(r"\end{document}")
    return "\n".join(parts) + "\n"


def align(body):
    return "\\begin{align*}\n" + body + "\n\\end{align*}"


def size_rows(model):
    """align* rows of the output-size formula with each conv and pooling layer's numbers."""
    rows = []
    for layer, (C, H, W), (F, Ho, Wo) in getattr(model, "geometries", list)():
        if layer.record.window is None:         # its record has no size formula
            continue
        k, s, p = layer.record.window(layer)
        sides = [rf"{side}' = \frac{{{n} - {k} + 2 \cdot {p}}}{{{s}}} + 1 = {out}"
                 for side, n, out in (("H", H, Ho), ("W", W, Wo))]
        rows.append(rf"&\text{{{escape(str(layer))}: {C}×{H}×{W} → {F}×{Ho}×{Wo}}} \\ &"
                    + r", \qquad ".join(sides))
    return rows


def backprop_report(backprop, title=None):
    """The full document for a model: the model, shapes, forward pass, derivation, result."""
    m = backprop.model
    names = gradient_names(backprop)
    subs = m.concrete()
    about = m.summary()
    l2 = r"; L2 penalty $\tfrac{\lambda}{2}\sum_l \lVert W_l\rVert_F^2$" if m.l2 else ""
    if m.l2 and m.l2 is not True:
        l2 += rf" with $\lambda = {m.l2:g}$"
    intro = (f"A feed-forward network with {escape(about['architecture'])} (hidden "
             f"activations: {escape(about['hidden'])}; output: {about['output']}; loss: "
             f"{about['loss']}; {about['reduction']} over the batch of $N$ samples; samples as "
             f"{about['layout']}; bias {about['bias']}{l2}). Gradients are in denominator "
             r"layout: $\partial L/\partial W$ has the shape of $W$.")
    shape_rows = []
    X, Y, params, lam = m.variables()
    for v in [X, Y] + params:
        dims = tuple(sp.sympify(d).xreplace(subs) for d in v.shape)
        shape_rows.append(rf"{latex(v)} &\in \mathbb{{R}}^{{{latex(dims[0])} \times "
                          rf"{latex(dims[1])}}}")
    given = ""
    if backprop.assumptions:
        given = ("\n\nGiven that " + "; ".join(f"${rule_math(a)}$"
                                                for a in backprop.assumptions)
                 + " (one-hot targets).")
    model_body = intro + "\n" + align(" \\\\\n".join(shape_rows))
    sizes = size_rows(m)
    if sizes:
        model_body += ("\n\nThe size of each map, by $H' = (H - k + 2p)/s + 1$ (and the same "
                       "for widths):\n" + align(" \\\\\n".join(sizes)))
    known = set()       # the operators defined so far: each where it is first used

    def defining(program):
        new = notation.defined([a.expr.xreplace(subs) for a in program], known)
        return "\n\n" + new if new else ""
    sections = [
        ("Model", model_body),
        ("Forward pass", align(program_latex(backprop.forward, subs=subs, fit=True))
         + defining(backprop.forward)),
        ("Backward pass", align(program_latex(backprop.backward, names=names, subs=subs,
                                              fit=True))
         + given + defining(backprop.backward)),
        ("Derivation by the trace trick", derivation_latex(backprop, known)),
    ]
    return document(title or "Backpropagation derived by matcalc", sections)
