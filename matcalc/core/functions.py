"""The table of elementwise functions: scalar form, reference form, LaTeX and NumPy spellings.

Core (stage 0). A function applied to a matrix becomes an Elementwise node whose body is
the scalar form in the placeholder T; its derivative is SymPy's derivative of that body, so
the custom functions below carry their textbook derivative in `fdiff` (σ' = σ(1 − σ)).
`reference` rewrites a body into elementary functions for the verifier, so that the proof
never trusts the derivatives written here.
"""
from dataclasses import dataclass
from typing import Callable

import sympy as sp

# The placeholder variable of every elementwise body: f(X) is Elementwise(f(T), X).
T = sp.Symbol("_t", real=True)


def _real_arg(self):
    return self.args[0].is_extended_real or None      # None: unknown, never a False claim


def _finite_real_arg(self):
    return self.args[0].is_real or None


# Each custom function is real (and ≥ 0 or > 0) where its argument is real, as SymPy's own
# are: |relu(x)| is then relu(x), and d|σ(x)|/dx is not written with re and im.

class sigmoid(sp.Function):
    """σ(x) = 1 / (1 + e^(−x)); σ'(x) = σ(x)(1 − σ(x))."""

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    _eval_is_extended_real = _eval_is_finite = _eval_is_positive = _finite_real_arg


class step(sp.Function):
    """Heaviside step [x > 0], value 0 at 0; its derivative is 0 wherever it exists."""

    def fdiff(self, argindex=1):
        return sp.S.Zero

    @classmethod
    def eval(cls, x):
        if x.is_number and x.is_real:
            return sp.S.One if x > 0 else sp.S.Zero

    _eval_is_extended_real = _eval_is_finite = _eval_is_nonnegative = _real_arg


class relu(sp.Function):
    """relu(x) = max(x, 0); relu'(x) = [x > 0] (a step, value 0 at the kink)."""

    def fdiff(self, argindex=1):
        return step(self.args[0])

    @classmethod
    def eval(cls, x):
        if x.is_number and x.is_real:
            return x if x > 0 else sp.S.Zero

    _eval_is_extended_real = _eval_is_extended_nonnegative = _real_arg


class softplus(sp.Function):
    """softplus(x) = log(1 + e^x); softplus'(x) = σ(x)."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return sp.log(1 + sp.exp(x))

    _eval_is_extended_real = _eval_is_extended_positive = _real_arg


class leaky_relu(sp.Function):
    """leaky_relu(x) = max(x, x/100); its derivative is 1 for x > 0, else 1/100 (the slope
    below the kink, at it too, as torch and JAX take it)."""

    def fdiff(self, argindex=1):
        return sp.Rational(1, 100) + sp.Rational(99, 100) * step(self.args[0])

    @classmethod
    def eval(cls, x):
        if x.is_number and x.is_real:
            return x if x > 0 else x / 100

    _eval_is_extended_real = _real_arg


class silu(sp.Function):
    """SiLU (swish) silu(x) = x σ(x); silu'(x) = silu(x) + σ(x)(1 − silu(x))."""

    def fdiff(self, argindex=1):
        x = self.args[0]
        return silu(x) + sigmoid(x) * (1 - silu(x))

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return x / (1 + sp.exp(-x))

    _eval_is_extended_real = _real_arg


class elu(sp.Function):
    """elu(x) = x for x > 0, eˣ − 1 otherwise (α = 1); elu'(x) = 1 for x > 0, elu(x) + 1
    otherwise (written with elu, not eˣ: e^1000 · 0 would be nan)."""

    def fdiff(self, argindex=1):
        x = self.args[0]
        return step(x) + (1 - step(x)) * (elu(x) + 1)

    @classmethod
    def eval(cls, x):
        if x.is_number and x.is_real:
            return x if x > 0 else sp.exp(x) - 1

    _eval_is_extended_real = _real_arg


class gelu(sp.Function):
    """GELU(x) = x Φ(x) = x/2 (1 + erf(x/√2)), the exact one (not tanh's approximation);
    GELU'(x) = Φ(x) + x φ(x), φ(x) = e^(−x²/2)/√(2π) the normal density."""

    def fdiff(self, argindex=1):
        x = self.args[0]
        return (1 + sp.erf(x / sp.sqrt(2))) / 2 + x * sp.exp(-x ** 2 / 2) / sp.sqrt(2 * sp.pi)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return x * (1 + sp.erf(x / sp.sqrt(2))) / 2

    _eval_is_extended_real = _real_arg


@dataclass(frozen=True)
class Fn:
    """One elementwise function: how to build it, prove it, print it, use it as an activation.

    Everything about a function is here: the printers, the planner and the network builders
    read these fields, so a new function (or activation) is one record."""
    build: Callable          # scalar sympy expression -> scalar sympy expression
    reference: Callable      # the same in elementary functions, for the verifier
    latex: str               # LaTeX operator name
    numpy: str               # NumPy spelling, '{}' standing for the argument
    torch: str = None        # torch spelling (printing/torch.py), '{}' the argument
    jax: str = None          # JAX spelling (printing/jax.py: jnp is jax.numpy)
    # f(Z) written into the array out by planned NumPy kernels: '{0}' the argument (used
    # once: it may be a nested in-place call), '{1}' out; None: not done in place.
    inplace: str = None
    # A faster spelling that is right only as a factor of a product with a numeric factor
    # (a boolean mask: `-mask`, `mask - mask`, `mask + mask` and a bare mask are not numbers)
    mask: str = None
    # As a network's activation (mlp hidden=…, --net): whether it is one, and the default
    # initialisation of the weights feeding it ("he" for relu-like units, else "glorot").
    activation: bool = False
    init: str = "glorot"
    # f′(z) written with the output a = f(z), where the textbook writes it so: (a, z) ->
    # σ′ = a(1 − a); backprop then reuses the forward value A (nn/backprop.py).
    derivative: Callable = None
    # What it computes, entry by entry, in LaTeX: the report defines it where first used
    # (printing/notation.py); None for the functions every reader knows (exp, tanh, …).
    definition: str = None


def _plain(name, latex):
    """A function NumPy, torch and jax.numpy all spell name(x), in place with out=."""
    f = getattr(sp, name.capitalize() if name == "abs" else name)
    return Fn(f, f, latex, f"np.{name}({{}})", f"torch.{name}({{}})", f"jnp.{name}({{}})",
              f"np.{name}({{0}}, out={{1}})")


FUNCTIONS = {
    "exp": _plain("exp", r"\exp"),
    "log": _plain("log", r"\log"),
    "sin": _plain("sin", r"\sin"),
    "cos": _plain("cos", r"\cos"),
    "sqrt": _plain("sqrt", r"\sqrt"),
    "abs": _plain("abs", r"\left|{}\right|"),
    "sign": _plain("sign", r"\operatorname{sign}"),
    # σ(x) = (1 + tanh(x/2))/2: no overflow for any x, and 5× faster than via logaddexp;
    # torch's and JAX's own are stable for any x
    "sigmoid": Fn(sigmoid, lambda x: 1 / (1 + sp.exp(-x)), r"\sigma",
                  "(0.5 + 0.5*np.tanh(0.5*({})))", "torch.sigmoid({})", "jax.nn.sigmoid({})",
                  "_sigmoid({0}, out={1})", activation=True,
                  derivative=lambda a, z: a * (1 - a),
                  definition=r"$\sigma(z) = 1/(1 + e^{-z})$"),
    "tanh": Fn(sp.tanh, sp.tanh, r"\tanh", "np.tanh({})", "torch.tanh({})", "jnp.tanh({})",
               "np.tanh({0}, out={1})", activation=True, derivative=lambda a, z: 1 - a ** 2),
    "relu": Fn(relu, lambda x: sp.Piecewise((x, x > 0), (0, True)), r"\operatorname{relu}",
               "np.maximum({}, 0)", "torch.relu({})", "jnp.maximum({}, 0)",
               "np.maximum({0}, 0, out={1})", activation=True, init="he",
               definition=r"$\operatorname{relu}(z) = \max(z, 0)$"),
    # torch: 1 where x > 0, else 0, in x's dtype
    "step": Fn(step, lambda x: sp.Piecewise((1, x > 0), (0, True)), r"\left[{} > 0\right]",
               "np.heaviside({}, 0.0)", "torch.sign(torch.relu({}))", "jnp.heaviside({}, 0.0)",
               mask="({} > 0)",    # a boolean mask: 5–10× faster than np.heaviside in G * mask
               definition=r"$\left[z > 0\right]$ is 1 where $z > 0$ and 0 elsewhere"),
    # log(1 + eˣ), stable in all three
    "softplus": Fn(softplus, lambda x: sp.log(1 + sp.exp(x)), r"\operatorname{softplus}",
                   "np.logaddexp(0, {})", "torch.nn.functional.softplus({})",
                   "jnp.logaddexp(0, {})", "np.logaddexp(0, {0}, out={1})", activation=True,
                   definition=r"$\operatorname{softplus}(z) = \log(1 + e^{z})$"),
    "leaky_relu": Fn(leaky_relu, lambda x: sp.Piecewise((x, x > 0), (x / 100, True)),
                     r"\operatorname{LeakyReLU}", "np.maximum({0}, 0.01*({0}))",
                     "torch.nn.functional.leaky_relu({})", "jax.nn.leaky_relu({})",
                     activation=True, init="he",
                     definition=r"$\operatorname{LeakyReLU}(z) = \max(z, z/100)$"),
    # x σ(x) with NumPy's σ spelling above: no overflow for any x
    "silu": Fn(silu, lambda x: x / (1 + sp.exp(-x)), r"\operatorname{SiLU}",
               "(({0})*(0.5 + 0.5*np.tanh(0.5*({0}))))", "torch.nn.functional.silu({})",
               "jax.nn.silu({})", activation=True, init="he",
               derivative=lambda a, z: a + sigmoid(z) * (1 - a),
               definition=r"$\operatorname{SiLU}(z) = z\,\sigma(z)$"),
    # relu(x) + (e^min(x, 0) − 1): no exp of a large x; elu > 0 exactly where x > 0, so
    # elu′ = [A > 0] + (1 − [A > 0])(A + 1) in its output A
    "elu": Fn(elu, lambda x: sp.Piecewise((x, x > 0), (sp.exp(x) - 1, True)),
              r"\operatorname{ELU}", "(np.maximum({0}, 0) + np.expm1(np.minimum({0}, 0)))",
              "torch.nn.functional.elu({})", "jax.nn.elu({})", activation=True, init="he",
              derivative=lambda a, z: step(a) + (1 - step(a)) * (a + 1),
              definition=r"$\operatorname{ELU}(z) = z$ for $z > 0$, $e^{z} - 1$ otherwise"),
    # GELU's derivative has erf in it: NumPy spells erf with the runtime's _erf
    "erf": Fn(sp.erf, sp.erf, r"\operatorname{erf}", "_erf({})", "torch.erf({})",
              "jax.lax.erf({})",
              definition=r"$\operatorname{erf}(z) = \frac{2}{\sqrt{\pi}} \int_0^z e^{-t^2} dt$"),
    "gelu": Fn(gelu, lambda x: x * (1 + sp.erf(x / sp.sqrt(2))) / 2, r"\operatorname{GELU}",
               "(0.5*({0})*(1 + _erf(0.7071067811865476*({0}))))",
               "torch.nn.functional.gelu({})", "jax.nn.gelu({}, approximate=False)",
               activation=True, init="he",
               definition=r"$\operatorname{GELU}(z) = z\,\Phi(z) = \frac{z}{2}\left(1 + "
                          r"\operatorname{erf}(z/\sqrt{2})\right)$, $\Phi$ the normal CDF"),
}

# The identity activation has no function of its own (A is Z: no line, no node), so it is a
# record here but not a function of the text syntax.
IDENTITY = Fn(lambda x: x, lambda x: x, "", "{}", "{}", "{}", activation=True)

# Every activation by name, in the order the messages list them: the only list of them.
ACTIVATION_TABLE = {**{name: fn for name, fn in FUNCTIONS.items() if fn.activation},
                    "identity": IDENTITY}
ACTIVATIONS = tuple(ACTIVATION_TABLE)

# SymPy function class -> table name, for the printers and the verifier (sp.Abs is "abs");
# sqrt has no class of its own (SymPy writes it as a power).
BY_CLASS = {fn.build: name for name, fn in FUNCTIONS.items() if isinstance(fn.build, type)}


def reference(body):
    """Rewrite a scalar expression into elementary functions (the verifier's reference).

    Bottom-up with a memo, so that nested functions (σ(σ(…σ(x)…))) cost their size, not 2^depth.
    """
    memo = {}

    def walk(e):
        if e in memo:
            return memo[e]
        out = e
        if e.args:
            args = [walk(a) for a in e.args]
            name = BY_CLASS.get(type(e)) if isinstance(e, sp.Function) else None
            if name is not None and FUNCTIONS[name].reference is not FUNCTIONS[name].build:
                out = FUNCTIONS[name].reference(*args)
            elif any(a is not b for a, b in zip(args, e.args)):
                out = e.func(*args)
        memo[e] = out
        return out
    return walk(body)
