"""Programs, derivations and whole documents, in text and in LaTeX.

Printing (stage 4). Consumes Programs (core/program.py), Derivations (calculus/steps.py),
gradients and the backprop of a model (read through their attributes); produces the text `matcalc derive` prints,
the amsmath `align*` blocks of `--format latex`, and the standalone document of `matcalc
report`. Every formula goes through the text or LaTeX printer; nothing here edits their output.
"""
import sympy as sp

from ..core.structure import Fold

from .latex import latex
from .text import text


def _shape(e, subs):
    return tuple(sp.sympify(d).xreplace(subs or {}) for d in e.shape)


def _dims(e, subs=None):
    if not getattr(e, "is_Matrix", False):
        return "scalar"
    return "×".join(text(d) for d in _shape(e, subs))


def _ldims(e, subs=None):
    if not getattr(e, "is_Matrix", False):
        return r"\text{scalar}"
    return r" \times ".join(latex(d) for d in _shape(e, subs))


def program_text(program, shapes=False, subs=None):
    """One line per assignment: `name = formula` (with its shape, sizes from `subs`)."""
    lines = []
    for a in program:
        line = f"{text(a.name)} = {text(a.expr)}"
        lines.append(f"{line:60s}  ({_dims(a.name, subs)})" if shapes else line)
    return "\n".join(lines)


def program_latex(program, names=None, shapes=False, subs=None):
    """The body of an align* environment: one `name &= formula` row per assignment."""
    rows = []
    for a in program:
        row = f"{latex(a.name, names=names)} &= {latex(a.expr, names=names)}"
        if shapes:
            row += rf" && \in \mathbb{{R}}^{{{_ldims(a.name, subs)}}}"
        rows.append(row)
    return " \\\\\n".join(rows)


def gradient_names(backprop):
    """dW1 → ∂L/∂W_1 in LaTeX; dW1 in text."""
    return {g: rf"\frac{{\partial L}}{{\partial {latex(p)}}}"
            for p, g in backprop.gradients.items()}


def steps_text(derivation):
    """The derivation as text: each node's differential with its rule, then the moves."""
    lines = []
    for s in derivation.steps:
        if s.kind == "differential":
            lines.append(f"  d({text(s.before)}) = {text(s.after)}        [{s.rule}]")
        elif s.kind == "result":
            lines.append(f"{s.rule} = {text(s.after)}")
        elif s.kind == "move":
            lines.append(f"  {text(s.before)} = {text(s.after)}")
        elif s.kind == "delta":
            lines.append(f"{text(s.before)} := {text(s.after)}        [{s.rule}]")
        else:
            lines.append(f"  {text(s.before)}  →  {text(s.after)}        [{s.rule}]")
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
    return r"\text{" + rule.replace("\\", "").replace("_", r"\_").replace("&", r"\&") + "}"


def steps_latex(derivation):
    """The derivation as align* rows, each with its rule as a comment on the right."""
    rows = []
    for s in derivation.steps:
        if s.kind == "differential":
            rows.append(rf"\mathrm{{d}}\left({latex(s.before)}\right) &= {latex(s.after)}")
        elif s.kind == "move":
            rows.append(rf"{latex(s.before)} &= {latex(s.after)}")
        elif s.kind == "simplify":
            rows.append(rf"{latex(s.before)} &= {latex(s.after)}")
        elif s.kind == "delta":
            rows.append(rf"{latex(s.before)} &:= {latex(s.after)}")
    return " \\\\\n".join(rows)


PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage[utf8]{inputenc}
\DeclareUnicodeCharacter{2212}{\ensuremath{-}}
\DeclareUnicodeCharacter{2299}{\ensuremath{\odot}}
\DeclareUnicodeCharacter{1D40}{\ensuremath{^{\top}}}
\DeclareUnicodeCharacter{2260}{\ensuremath{\neq}}
\DeclareUnicodeCharacter{03BB}{\ensuremath{\lambda}}
\DeclareUnicodeCharacter{2202}{\ensuremath{\partial}}
\DeclareUnicodeCharacter{00D7}{\ensuremath{\times}}
\DeclareUnicodeCharacter{2192}{\ensuremath{\to}}
\allowdisplaybreaks
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
        if layer.kind not in ("conv", "maxpool", "avgpool"):
            continue
        k = layer.get("kernel") if layer.kind == "conv" else layer.get("k")
        s = layer.get("stride") or k
        p = layer.get("pad") if layer.kind == "conv" else 0
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
    intro = (f"A feed-forward network with {escape(about['architecture'])} (hidden "
             f"activations: {about['hidden']}; output: {about['output']}; loss: "
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
        given = ("\n\nGiven that " + escape("; ".join(str(a) for a in backprop.assumptions))
                 + " (one-hot targets).")
    model_body = intro + "\n" + align(" \\\\\n".join(shape_rows))
    sizes = size_rows(m)
    if sizes:
        model_body += ("\n\nThe size of each map, by $H' = (H - k + 2p)/s + 1$ (and the same "
                       "for widths):\n" + align(" \\\\\n".join(sizes)))
    if any(a.expr.has(Fold) for a in backprop.backward):
        given += ("\n\nHere $\\operatorname{fold}_{k}(W^{\\top}\\delta)$ is the full "
                  "convolution of $\\delta$ with the flipped kernel: the adjoint of "
                  "$\\operatorname{unfold}$ (col2im), which sums each patch back where it came "
                  "from.")
    sections = [
        ("Model", model_body),
        ("Forward pass", align(program_latex(backprop.forward))),
        ("Backward pass", align(program_latex(backprop.backward, names=names)) + given),
        ("Derivation by the trace trick",
         "Each differential is taken node by node; each term is then moved into the form "
         r"$\operatorname{tr}(\bar G^{\top} \mathrm{d}X)$, which gives $\bar G$."
         + "\n" + align(steps_latex(backprop.derivation))),
    ]
    return document(title or "Backpropagation derived by matcalc", sections)
