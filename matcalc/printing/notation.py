"""The report's notation: one name per operator, and its definition where it is first used.

Printing (stage 4). OPERATORS maps each structure node class to the name the LaTeX printer
gives it, the name the text printer and the rules use (to_samples, pool_route) when they
differ, and a sentence defining it; `defined` returns the sentences a report section needs
for the operators its formulas use that no earlier section defined. A new operator is one
row here.
"""
import re
import unicodedata
from dataclasses import dataclass

import sympy as sp
from sympy import HadamardProduct, OneMatrix, Pow, Trace

from ..core.extrema import MaxMask
from ..core.functions import BY_CLASS, FUNCTIONS
from ..core.nodes import Elementwise, EntrySum, FrobeniusNorm, Mean, Softmax
from ..core.structure import (AvgPool, Fold, MaxPool, PoolMask, PoolRoute, PoolSelect,
                              PoolSpread, ToChannels, ToSamples, Unfold)


@dataclass(frozen=True)
class Operator:
    latex: str          # \operatorname{…} of the LaTeX printer
    code: str           # the name in the text output and in the rules' identities
    definition: str     # LaTeX: what it computes, shapes included


def _op(name):
    return r"\operatorname{%s}" % name


OPERATORS = {
    ToChannels: Operator("channels", "to_channels",
                         r"$\operatorname{channels}(X)$ reshapes the batch, one sample of "
                         r"$C\times H\times W$ numbers per column, into the channel matrix: "
                         r"$C$ rows, one column per pixel of every sample ($N H W$ columns)"),
    ToSamples: Operator("flatten", "to_samples",
                        r"$\operatorname{flatten}(P)$ is the inverse reshape: the channel "
                        r"matrix back to one column of $C H W$ numbers per sample"),
    Unfold: Operator("unfold", "unfold",
                     r"$\operatorname{unfold}_{k}(A)$ (im2col) writes each $k\times k$ patch of "
                     r"every channel as one column, so that a convolution with the kernels "
                     r"$W$ is the product $W \operatorname{unfold}_{k}(A)$; $s$ and $p$ in the "
                     r"subscript are the stride and the zero padding where they are not 1 "
                     r"and 0"),
    Fold: Operator("fold", "fold",
                   r"$\operatorname{fold}_{k}(G)$ (col2im), the adjoint of "
                   r"$\operatorname{unfold}_{k}$, adds each column back onto the patch it "
                   r"came from, so that $\operatorname{fold}_{k}(W^{\top}\delta)$ is the full "
                   r"convolution of $\delta$ with the flipped kernels"),
    MaxPool: Operator("maxpool", "maxpool",
                      r"$\operatorname{maxpool}_{k}(A)$ is the maximum of each $k\times k$ "
                      r"window of each channel ($s$: a stride other than $k$)"),
    AvgPool: Operator("avgpool", "avgpool",
                      r"$\operatorname{avgpool}_{k}(A)$ is the mean of each $k\times k$ window"),
    PoolSelect: Operator("select", "pool_select",
                         r"$\operatorname{select}_{k}(A, L)$ takes, in each window, the entry of "
                         r"$L$ where $A$ has its first maximum: "
                         r"$\mathrm{d}\operatorname{maxpool}_{k}(A) = "
                         r"\operatorname{select}_{k}(A, \mathrm{d}A)$"),
    PoolRoute: Operator("route", "pool_route",
                        r"$\operatorname{route}_{k}(A, G)$, the adjoint of "
                        r"$\operatorname{select}_{k}(A, \cdot)$, sends each entry of $G$ back "
                        r"to the first maximum of its window of $A$, 0 elsewhere"),
    PoolSpread: Operator("upsample", "upsample",
                         r"$\operatorname{upsample}_{k}(G)$ copies each entry of $G$ over its "
                         r"$k\times k$ window, and $\operatorname{spread}_{k}(G)$ does the same "
                         r"for windows that overlap (stride $s < k$), summing the copies"),
    PoolMask: Operator("mask", "poolmask",
                       r"$\operatorname{mask}_{k}(A)$ is 1 at the first maximum of each window "
                       r"of $A$ and 0 elsewhere"),
    MaxMask: Operator("maxmask", "maxmask",
                      r"$\operatorname{maxmask}(A)$ is 1 where $A$ has its first maximum "
                      r"(along the axis in the subscript) and 0 elsewhere"),
}

# The notation of the other nodes a network's formulas use, defined once as well.
_BASICS = [
    (HadamardProduct, r"$A \odot B$ is the entrywise product"),
    (Pow, r"$A^{\circ k}$ is an entrywise power ($A^{\circ -1}$: each entry inverted)"),
    (OneMatrix, r"$\mathbf{1}_{m}$ is the column of $m$ ones and $\mathbf{1}_{m\times n}$ the "
                r"$m\times n$ matrix of ones"),
    (EntrySum, r"$\operatorname{sum}(A)$ is the sum of all entries of $A$"),
    (Trace, r"$\operatorname{tr}(A)$ is the trace"),
    (FrobeniusNorm, r"$\lVert A\rVert_F = \sqrt{\operatorname{tr}(A^{\top} A)}$ is the "
                    r"Frobenius norm"),
    ((Softmax, 0), r"$\operatorname{softmax}(Z)$ is $\exp$ of $Z$ divided by its column "
                   r"sums (each column of $S$ sums to 1)"),
    ((Softmax, 1), r"$\operatorname{softmax}_{\mathrm{row}}(Z)$ is $\exp$ of $Z$ divided by "
                   r"its row sums (each row of $S$ sums to 1)"),
    ((Mean, 0), r"$\operatorname{mean}(A)$ repeats the mean of each column of $A$ over that "
                r"column (the mean over a sample's features)"),
    ((Mean, 1), r"$\operatorname{mean}_{\mathrm{row}}(A)$ repeats the mean of each row of $A$ "
                r"over that row"),
]

# The functions by their name in core/functions.py: what each computes, entry by entry (each
# record's definition).
FUNCTION_DEFINITIONS = {name: fn.definition for name, fn in FUNCTIONS.items() if fn.definition}


def _functions_in(e):
    """The names (core/functions.py) of the entrywise functions e applies."""
    return {BY_CLASS[type(f)] for a in e.atoms(Elementwise) for f in
            a.body.atoms(sp.Function) if type(f) in BY_CLASS}


def names_in_text():
    """{code name: LaTeX name} where they differ: how a rule's identity is read in a report."""
    return {op.code: op.latex for op in OPERATORS.values() if op.code != op.latex}


def _uses(e, cls):
    if cls is Pow:        # a Hadamard power is a power inside an entrywise body
        return any(a.body.has(Pow) for a in e.atoms(Elementwise))
    if isinstance(cls, tuple):      # (node, axis): a softmax along columns or rows
        nodes = e.atoms(cls[0]) | ({e} if isinstance(e, cls[0]) else set())
        return any(a.axis == cls[1] for a in nodes)
    return bool(e.atoms(cls)) or isinstance(e, cls)


def defined(exprs, already):
    """The sentences defining the operators `exprs` use that are not in `already` (a set,
    updated): one LaTeX paragraph, or ""."""
    out = []
    for cls, sentence in _BASICS + [(c, op.definition) for c, op in OPERATORS.items()]:
        if cls not in already and any(_uses(e, cls) for e in exprs if hasattr(e, "atoms")):
            already.add(cls)
            out.append(sentence)
    used = set().union(*(_functions_in(e) for e in exprs if hasattr(e, "atoms")))
    for name in sorted(used & set(FUNCTION_DEFINITIONS)):
        if name not in already:
            already.add(name)
            out.append(FUNCTION_DEFINITIONS[name] + " (entry by entry)")
    if not out:
        return ""
    return "Here " + "; ".join(out) + "."


# ------------------------------------------------------------ a rule's identity as mathematics

# Words of an identity that are operators, printed upright as the printers print them.
_MATH_WORDS = {"log": r"\log", "exp": r"\exp", "det": r"\det", "sin": r"\sin", "cos": r"\cos",
               "tanh": r"\tanh", "max": r"\max", "sigmoid": r"\sigma", "logdet": r"\log\det"}
_OPERATOR_WORDS = {"tr", "sum", "softmax", "logsoftmax", "logsumexp", "relu", "softplus",
                   "diag", "vec", "unvec", "sign", "polar", "spread", "maxmask", "mask",
                   "select", "route", "upsample", "unfold", "fold", "maxpool", "avgpool",
                   "flatten", "channels"}
_SUPER = {"ᵀ": r"\top", "⁻": "-", "¹": "1", "²": "2", "ᵏ": "k", "ᵇ": "b", "ⁿ": "n",
          "′": r"\prime"}
_SUB = {"₁": "1", "₂": "2"}
_TOKEN = re.compile("[A-Za-z_]+(?:['’][a-z]+)?|[0-9]+|[%s]+|[%s]+|\\s+|." % (
    "".join(_SUPER), "".join(_SUB)))


def _word(t):
    return t.replace("'", "").replace("’", "").replace("_", "").isalpha()


def _is_prose(tokens, i, sentence=False):
    """Token i is a word of a sentence: two letters or more, no operator, no differential
    (dA); or the article "a" before such a word. After an identity's colon (`sentence`)
    every word is, but a differential or a single capital (a matrix)."""
    t = tokens[i]
    if not _word(t):
        return False
    if sentence:
        return not re.fullmatch(r"d?[A-Z]|d[a-z]", t)
    if t == "a":
        nxt = next((u for u in tokens[i + 1:] if not u.isspace()), "")
        return len(nxt) > 1 and _is_prose([nxt], 0)
    return (len(t) > 2 or t in _SHORT_WORDS) and t.lower() not in _MATH_WORDS and \
        t not in _OPERATOR_WORDS and not re.fullmatch(r"d[A-Za-z]", t) and not t.isupper()


# Two-letter words of the rules' sentences; any other pair of letters is a product (ab).
_SHORT_WORDS = {"of", "to", "is", "in", "at", "by", "on", "or", "an", "be", "as", "if", "it",
                "no", "so", "we"}


# The rules' Unicode as LaTeX commands, so that an identity needs no \DeclareUnicodeCharacter
# (a notebook's MathJax and a pasted amsmath document take it as it is).
SYMBOLS = {"−": "-", "⊙": r"\odot", "⊗": r"\otimes", "⊘": r"\oslash", "∘": r"\circ",
           "·": r"\cdot", "×": r"\times", "…": r"\ldots", "≠": r"\neq", "≤": r"\le",
           "≥": r"\ge", "→": r"\to", "⇒": r"\Rightarrow", "∂": r"\partial", "‖": r"\|",
           "Σ": r"\Sigma", "δ": r"\delta", "σ": r"\sigma", "λ": r"\lambda", "Ā": r"\bar{A}",
           "Ḡ": r"\bar{G}", "ℝ": r"\mathbb{R}"}

_ESCAPES = {"{": r"\{", "}": r"\}", "%": r"\%", "#": r"\#", "&": r"\&", "$": r"\$",
            "_": r"\_", "~": r"\sim ", "^": r"\hat{}", "\\": r"\backslash "}
_TEXT_ESCAPES = {**_ESCAPES, "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                 "\\": r"\textbackslash{}"}


def _space(prev, nxt, t):
    """How a run of spaces between prev and nxt reads in math."""
    if len(t) > 1:
        return r"\quad "                  # "d(AB) = …  (Cookbook 37)", ";  " between two
    if prev in ("text", ":", ",", ";") or nxt == "text":
        return r"\ "
    if prev == "alnum" and (re.match(r"[A-Za-z0-9(]", nxt) or nxt == "name"):
        return r"\,"
    return ""


def rule_math(rule):
    """A rule's identity (plain text with Unicode, as the rules write it) as LaTeX math: names
    as the report's operators (to_samples → flatten), letters italic, operators upright,
    superscripts grouped (aᵏ⁻¹ → a^{k-1}), the sentences in it as \\text."""
    plain = re.sub(r"\s*\n\s*", " ", unicodedata.normalize("NFC", str(rule)).strip())
    for code, name in names_in_text().items():
        plain = re.sub(rf"\b{code}\b", name, plain)
    tokens = _TOKEN.findall(plain)
    out, prose, prev, sentence, space = [], [], None, False, None
    for i, t in enumerate(tokens):
        if _is_prose(tokens, i, sentence) or (prose and not t.isalnum() and t not in "()" and
                                               (i + 1 == len(tokens) or tokens[i + 1].isspace()
                                                or _is_prose(tokens, i + 1, sentence))):
            if space is not None and not prose:
                out.append(_space(prev, "text", space))
            space = None
            prose.append(t)
            continue
        if prose:
            out.append(_text(prose))
            prose, prev = [], "text"
        if t.isspace():
            space = t
            continue
        kind = "alnum" if re.match(r"[A-Za-z0-9]", t) or t[0] in _SUPER or t[0] in _SUB \
            else t if t in ":,;(" else "op"
        if space is not None:
            out.append(_space(prev, "name" if t in _OPERATOR_WORDS or t in _MATH_WORDS
                              else t, space))
            space = None
        if t == "\u0304" and out:         # a combining bar: N̄ → \bar{N}
            out[-1] = r"\bar{%s}" % out[-1]
        elif t[0] in _SUPER:
            out.append("^{%s}" % " ".join(_SUPER[c] for c in t))
        elif t[0] in _SUB:
            out.append("_{%s}" % "".join(_SUB[c] for c in t))
        elif t in _MATH_WORDS:
            out.append(_MATH_WORDS[t] + " ")
        elif t in _OPERATOR_WORDS:
            out.append(r"\operatorname{%s}" % t)
        elif t == "d" or re.fullmatch(r"d[A-Za-z]", t):
            out.append(r"\mathrm{d}" + t[1:])
        elif t in SYMBOLS:
            out.append(SYMBOLS[t] + (" " if SYMBOLS[t][-1].isalpha() else ""))
        elif _word(t):
            out.append(t.replace("_", r"\_"))
        else:
            out.append(_ESCAPES.get(t, t))
        sentence = sentence or (t == ":" and i + 1 < len(tokens) and tokens[i + 1].isspace())
        prev = kind
    if prose:
        out.append(_text(prose))
    return "".join(out)


def _text(words):
    """\\text of a sentence's tokens, TeX's special characters escaped."""
    return r"\text{%s}" % "".join(
        _TEXT_ESCAPES.get(c, r"\ensuremath{%s}" % SYMBOLS[c] if c in SYMBOLS else c)
        for c in "".join(words).replace("’", "'"))
