"""The Python face of matcalc: `grad`, `derive`, `train`, wiring the stages together.

API (stage 8, above every stage). grad: text or expression → parse → program f := expr →
reverse sweep → simplify under the declared assumptions → a Gradient (results/) that prints
as text, LaTeX, derivation steps or NumPy and proves itself (verify/). derive: model →
textbook backprop. train: model → derivation, proof, kernels, data, the trainer (train/trainer.py),
the same run the CLI and the standalone script make.
"""
import dataclasses
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import sympy as sp

from . import verify as verify_module
from .calculus.budget import check_derivation
from .calculus.simplify import assumption, inequality, simplify
from .calculus.steps import Derivation
from .calculus.sweep import backward
from .codegen.kernels import compile as compile_kernels
from .core.errors import (InternalError, MatcalcError, NotScalarError, ShapeError,
                          VerificationError)
from .core.expr import is_matrix, trace
from .core.nodes import LogSoftmax, LogSumExp, Softmax
from .core.program import Program
from .nn.backprop import derive as _derive
from .nn.backprop import local_proofs
from .nn.proof_sizes import at_proof_sizes
from .parse import arguments as check_arg
from .parse import parse, parse_assumption
from .parse.sympy_input import from_sympy, variables
from .printing.text import text
from .results import (GRADIENT_LAYOUT_WORDS, LAYOUT_WORDS, PROOFS, Check, Gradient,  # noqa: F401
                      Hessian, Jacobian, Trained, backprop_record, constraints)
from .results import layout_of as _layout_of
from .results.check import judge as _judge, read_claim as _claim
from .results.check import shape_problem as _shape_problem
from .train import data as datasets
from .train.trainer import (DEFAULTS, check_history, check_options, check_output,
                            history_beside, say)
from .train.trainer import train as run_trainer
from .train.distributed import check_parallel, spawn_train
from .calculus.hessian import direction, hessian_matrix, hessian_vector_product
from .calculus.jacobian import jacobian_of
from .core.scalars import in_matrices, matrix_variable, read_back


def grad(f, wrt, shapes=None, assume=(), layout="denominator"):
    """∂f/∂wrt of a scalar matrix expression, by the trace trick.

    `f` is text ("tr(X.T @ A @ X)") or a matcalc expression; `wrt` a name or a MatrixSymbol;
    `shapes` maps names to (rows, cols) for text input; `assume` lists equations as text
    ("sum(Y, axis=0) == 1"), inequalities that give the domain ("b - A @ x > 0", entrywise)
    or rewrite rules from simplify.py; the proof (Gradient.verify) draws its points where
    they hold. `layout` is how the result is shown (Gradient.layout): denominator (the shape
    of X, as matcalc computes), numerator (its transpose) or mixed (for a scalar by a
    matrix, the denominator layout; see jacobian).

    >>> print(grad("tr(X.T @ A @ X)", "X"))
    ∂f/∂X = (A + A.T) @ X
    """
    assume = _arguments("grad", f, wrt, shapes, assume, "tr(X.T @ A @ X)")
    _layout_of(layout, True)       # a known layout, before any work
    source = f
    f, wrt, symbols = _read(f, wrt, shapes, "grad", "tr(X.T @ A @ X)",
                            ("does not occur in", "symbols"))
    _require_scalar(f, "a gradient")     # before a scalar wrt's 1×1 reading: f as written
    if not is_matrix(wrt):       # a scalar variable: differentiated as the 1×1 matrix it is
        return _grad_scalar(source, f, wrt, shapes, assume, layout, symbols)
    if not f.has(wrt):
        if isinstance(source, str):   # named in the text, but f reads as a constant
            raise MatcalcError(f"{source} simplifies to {text(f)}, which does not depend on "
                               f"{text(wrt)}: its gradient is zero")
        raise MatcalcError(f"cannot differentiate with respect to {text(wrt)}: it does not "
                           f"occur in {text(f)}")
    if is_matrix(f):
        f = trace(f)
    depth = _softmax_depth(f, wrt, {})
    if depth > MAX_SOFTMAX_DEPTH:
        raise MatcalcError(
            f"f nests softmax, logsoftmax or logsumexp {depth} deep around {wrt}: written out "
            f"as one expression its gradient grows about threefold per level (each level's "
            f"adjoint holds the next one's twice), so matcalc takes at most "
            f"{MAX_SOFTMAX_DEPTH}; for a network, `matcalc derive` names each layer's δ and "
            f"stays linear in depth")
    check_derivation(f, wrt)      # a 150-factor product: refused, not minutes of simplifying
    rules = tuple(_assumption(a, symbols, f) for a in assume)
    verify_module.check_consistent(constraints(rules))      # X > 0 and X < 0: before any work
    derivation = Derivation()
    grads, _, _ = backward(Program.single(f), [wrt], derivation)
    g = simplify(grads[wrt], assumptions=rules, derivation=derivation)
    if g.shape != wrt.shape:
        raise ShapeError("internal: gradient {0:shape} does not have the shape of {1:shape}",
                         g, wrt)
    return Gradient.of(f, wrt, g, derivation, rules, symbols, layout)


def _require_scalar(f, needs):
    """NotScalarError for a vector or matrix f: `needs` ("a gradient", "a Hessian") needs a
    scalar function."""
    if is_matrix(f) and f.shape != (1, 1):
        raise NotScalarError("{0} is {0:dims}, not a scalar: " + needs + " needs a scalar "
                             "function; try sum({0}) or tr({0}); for a vector or matrix "
                             "function, take its Jacobian", f)


def _arguments(who, f, wrt, shapes, assume, example):
    """The front door `who`'s arguments checked (parse/arguments.py: an ArgumentError naming
    a wrong one, before any work); the assumptions as a list."""
    check_arg.expression(who, f, example)
    check_arg.variable(who, wrt)
    check_arg.shapes(who, shapes)
    return check_arg.assumptions(who, assume)


def _read(f, wrt, shapes, who, example, missing):
    """(f, wrt, symbols) for grad, jacobian and hessian: f's and wrt's types checked, text
    parsed (an expression brought to the canonical form text builds: HadamardPower,
    (Wx - y)ᵀ), a wrt given by name looked up among f's variables. `example` is an f for the
    ArgumentError; `missing` (the phrase, the noun) words the error for a name f does not
    have."""
    _arguments(who, f, wrt, shapes, (), example)
    symbols = {}
    if isinstance(f, str):
        parsed = parse(f, shapes)
        f, symbols = parsed.expr, dict(parsed.symbols)
    else:
        f = from_sympy(f)
    if isinstance(wrt, str):
        # text input names its variables; an expression's are its own symbols (and
        # `symbols` stays empty, so that the gradient's arguments are all of them, by name)
        names = symbols or variables(f)
        if wrt not in names:
            known = ", ".join(sorted(names)) or "none"
            raise MatcalcError(f"cannot differentiate with respect to {wrt}: it "
                               f"{missing[0]} {text(f)} (its {missing[1]}: {known})")
        wrt = names[wrt]
    return f, wrt, symbols


def _grad_scalar(source, f, s, shapes, assume, layout, symbols):
    """∂f/∂s for a scalar variable s: f is differentiated with s the 1×1 matrix S it is (s =
    tr(S) where it meets scalars), and the 1×1 gradient read back as the number tr(G), with s
    for tr(S): grad("alpha * tr(A @ X)", "alpha") is tr(A @ X). The proof reads s the same
    way (core/scalars.py)."""
    one = matrix_variable(s)
    if isinstance(source, str):
        g = grad(source, s.name, {**(shapes or {}), s.name: (1, 1)}, assume, layout)
    else:
        g = grad(in_matrices(f, {s: one}, rebuilt=True), one, shapes, assume, layout)
    expr = read_back(g.value, {one: s}, True)
    # the assumptions said of the number s, as given ("alpha > 0", not "tr(alpha) > 0")
    given = tuple(dataclasses.replace(a, **{k: sp.sympify(v).xreplace({sp.Trace(one): s})
                                            for k, v in vars(a).items()
                                            if isinstance(v, sp.Basic)})
                  if dataclasses.is_dataclass(a) else a for a in g.assumptions)
    return Gradient.of(trace(f) if is_matrix(f) else f, s, expr, g.derivation, given,
                       symbols, layout)


MAX_SOFTMAX_DEPTH = 5     # 5 deep: under a second; 6: seconds; 8: minutes


def _softmax_depth(e, wrt, memo):
    """How many softmax-like nodes (their differentials use their output twice) nest along a
    path from e down to wrt."""
    if e not in memo:
        inner = max((_softmax_depth(a, wrt, memo) for a in e.args
                     if isinstance(a, sp.Basic) and a.has(wrt)), default=0)
        memo[e] = inner + isinstance(e, (Softmax, LogSoftmax, LogSumExp))
    return memo[e]


def _assumption(a, symbols, f):
    if not isinstance(a, str):
        return a
    if not symbols:
        symbols = variables(f)
    eq = parse_assumption(a, symbols)
    if eq.op != "==":
        return inequality(eq.lhs, eq.rhs, eq.op)
    return assumption(eq.lhs, eq.rhs)


def derive(model):
    """The textbook backprop of a model from matcalc.nn.spec (forward and backward programs)."""
    check_arg.model("derive", model)
    return _derive(model)


def verify_backprop(b, method="numeric", seed=0):
    """Prove every line of a derived model's backward program (VerificationError naming the
    line if one is wrong), each against the forward lines it differentiates: δ_l against
    c_{l+1}·tr(δ_{l+1}ᵀ Z_{l+1}) as a function of Z_l, dW_l against c_l·tr(δ_lᵀ Z_l) and
    L's own terms in W_l, δ_L against L (nn/backprop.py local_proofs). Together they prove
    every gradient, by the chain rule, in time linear in depth: nothing inlines the network.
    A CNN is proven at small sizes: the same layers, derived alike (nn/proof_sizes.py)."""
    check_arg.derivation("verify_backprop", b)
    check_arg.seed("verify_backprop", seed)
    if getattr(b, "loops", None):     # a recurrence over t: unrolled, derived, compared
        from .codegen.unroll import prove
        prove(b, method=method, seed=seed)
        return
    b = at_proof_sizes(b)
    given = constraints(b.assumptions)
    for proof in local_proofs(b):
        try:
            verify_module.assert_gradient(proof.f, proof.wrt, proof.claim, method=method,
                                          assumptions=given, seed=seed)
        except VerificationError as e:
            uses = ", ".join(text(u) for u in proof.uses) or "none"
            detail = str(e).replace("{", "{{").replace("}", "}}")
            raise VerificationError(
                "the backward line {0} := {1} is wrong: it is not the gradient with respect "
                "to {2} of the forward lines it differentiates (those of " + uses + "):\n"
                + detail, proof.line.name, proof.line.expr, proof.wrt) from None


def check(f, wrt, claim, shapes=None, assume=(), method="both", assumptions=None, seed=0):
    """Is `claim` ∂f/∂wrt? A Check, right or wrong; bad input raises MatcalcError.

    f, wrt, shapes and assume as in grad. `claim` is text over f's variables ("A.T @ B.T"),
    a matcalc/SymPy expression, or a Python function of the variables: the user's own
    backward pass, called with NumPy arrays (floats for scalars) by the variables' names,
    only those it takes unless it takes **kwargs. matcalc's gradient is proven first
    (`method`: "both", "exact" or "numeric"); an expression is then proven on its own the
    same way, a function compared entrywise with the proven gradient at random points.
    `assumptions`: more constraints for the proofs, as in matcalc.verify.assert_gradient.
    A claim of the wrong shape is a ShapeError (assert_gradient: a VerificationError).

    >>> check("tr(A @ X @ B)", "X", "A.T @ B.T").correct
    True
    """
    __tracebackhide__ = True
    g, claim, given = _prepare("check", f, wrt, claim, shapes, assume, method, assumptions,
                               seed)
    problem = _shape_problem(claim, g.wrt)
    if problem:
        raise ShapeError(*problem)
    return _judge(g, claim, method, given, seed)


def assert_gradient(f, wrt, claim, method="both", assume=(), shapes=None, assumptions=None,
                    seed=0):
    """Raise VerificationError (an AssertionError) unless `claim` is ∂f/∂wrt: for your tests.

    Arguments as in check: `claim` as text, an expression, or your backward pass as a
    function of the variables by name. The message gives the first differing entry, both
    values and matcalc's own (proven) gradient; under pytest the traceback ends at your
    line. Bad input (a claim that does not parse) raises its MatcalcError.

    >>> assert_gradient("tr(A @ X @ B)", "X", "A.T @ B.T")
    >>> assert_gradient("tr(A @ X @ B)", "X", lambda A, B: A.T @ B.T)
    >>> assert_gradient("tr(A @ X @ B)", "X", "2*A.T @ B.T")     # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    matcalc.core.errors.VerificationError: wrong: the claim 2*A.T @ B.T is not ∂f/∂X of tr(A @ X @ B)
      first differing entry: (0, 0) at a random point (sizes ...)
    ...
      matcalc's gradient: ∂f/∂X = A.T @ B.T    (proven exactly ...)
    """
    __tracebackhide__ = True      # pytest shows the caller's line, not matcalc's frames
    g, claim, given = _prepare("assert_gradient", f, wrt, claim, shapes, assume, method,
                               assumptions, seed)
    problem = _shape_problem(claim, g.wrt)
    if problem:                   # a claim of the wrong shape is a wrong claim here
        raise VerificationError(*problem)
    result = _judge(g, claim, method, given, seed)
    if not result.correct:
        raise VerificationError(result.message().replace("{", "{{").replace("}", "}}"))


def _prepare(who, f, wrt, claim, shapes, assume, method, assumptions, seed):
    """matcalc's gradient, proven (InternalError if it fails: a bug of matcalc's); the claim
    as an expression or function; the proofs' constraints. `who`: the front door."""
    __tracebackhide__ = True
    assume = _arguments(who, f, wrt, shapes, assume, "tr(A @ X @ B)")
    check_arg.constraints(who, assumptions)
    check_arg.seed(who, seed)
    if not isinstance(method, str) or method not in PROOFS:
        raise MatcalcError(f"method must be one of {', '.join(PROOFS)}, not {method!r}",
                           cli=f"--verify must be one of {', '.join(PROOFS)} for a check, "
                               f"not {method!r}")
    g = grad(f, wrt, shapes=shapes, assume=assume)
    given = constraints(g.assumptions) + list(assumptions or [])
    claim = _claim(claim, g)
    try:
        verify_module.assert_gradient(g.f, g.wrt, g.value, method=method, assumptions=given,
                                      seed=seed)
    except VerificationError as e:
        raise InternalError(f"matcalc's gradient {g.text()} failed its proof: {e}") from None
    return g, claim, given


def load_data(model, data=None, seed=0, binary=(3, 8), dtype="float64"):
    """The Dataset `data` names, checked against the model: None for the embedded digits, a
    folder of MNIST IDX files, a pair of .npy paths (X, y), or a Dataset. A one-output model
    trains on the two classes `binary` (relabelled 0 and 1)."""
    classes = 2 if model.n_outputs == 1 else model.n_outputs
    if data is None:
        ds = datasets.load_digits(seed=seed)
    elif isinstance(data, datasets.Dataset):
        ds = data
    elif isinstance(data, (str, Path)):
        ds = datasets.load_mnist(data)
    else:
        x_path, y_path = data
        X, y, _ = datasets.read_arrays(x_path, y_path)
        # checked whole, so that a bad label is named by its index in the user's file
        datasets.check_inputs(X, y, model.n_inputs, None if model.n_outputs == 1 else classes,
                              f"X file {x_path}")
        ds = datasets.load_arrays(x_path, y_path, seed=seed)
    if model.n_outputs == 1:
        ds = ds.binary(*binary)
    ds = ds.astype(np.dtype(dtype))
    for X, y, name in ((ds.X_train, ds.y_train, "training data"),
                       (ds.X_test, ds.y_test, "test data")):
        datasets.check_inputs(X, y, model.n_inputs, classes, name=name)
    return ds


def train(model, data=None, output="mlp.npz", epochs=None, batch_size=None, lr=None,
          optimizer=None, lam=None, seed=DEFAULTS["seed"], dtype=DEFAULTS["dtype"],
          binary=(3, 8), log=True, names=None, history=True, backend="numpy", device=None,
          nproc=1, verify=True):
    """Derive, prove and compile the model's backprop, then train it on `data` (see
    load_data) and save the weights to `output` (.npz). `lam` is the L2 weight for a model
    with a symbolic λ (default 1e-4); `names` spells the options for messages (--lr).
    `history`: True writes the per-epoch history beside the weights (mlp.npz →
    mlp.history.json), a path ending in .json or .csv writes it there, False not at all.
    `backend`: the array library the kernels run on (numpy, torch, jax; codegen/backends.py),
    `device` torch's (cpu, cuda); `nproc` > 1 trains data-parallel in that many torch
    processes (train/distributed.py). `epochs`, `batch_size`, `lr`, `optimizer` left None
    are the network's own defaults (Model.training_defaults: an rnn trains with Adam), else
    the trainer's (30 epochs of SGD at lr 0.1, batches of 32).

    The output path and the options are checked before anything runs; a diverging run
    stops and keeps its best epoch, Ctrl-C its last (train/trainer.py)."""
    check_arg.model("train", model)
    chosen = {**DEFAULTS, **model.training_defaults()}
    epochs, batch_size, lr, optimizer = (chosen[k] if v is None else v for k, v in (
        ("epochs", epochs), ("batch_size", batch_size), ("lr", lr), ("optimizer", optimizer)))
    check_parallel(nproc, backend, device)     # before the derivation and proof
    if history is True:
        history = history_beside(str(output))
    history = Path(history) if history else None
    if lam is None:
        lam = DEFAULTS["lam"] if model.l2 is True else float(model.l2 or 0.0)
    # bad options fail before the (possibly long) derivation and proof, not after them
    check_options(epochs, batch_size, lr, lam, optimizer, names)
    check_output(output)
    if history is not None:
        check_history(history, output)
    start = time.perf_counter()
    b = derive(model)
    if verify:      # False (the CLI's --verify none): trained unproven, and the log says so
        verify_backprop(b)
    proven = time.perf_counter() - start
    k = compile_kernels(b, backend=backend, device=device)
    ds = load_data(model, data, seed, binary, dtype)
    axis = k.SAMPLE_AXIS
    X, X_test = (np.ascontiguousarray(np.moveaxis(a, 0, axis)) for a in (ds.X_train, ds.X_test))
    log = sys.stderr if log is True else log
    # say: a log whose reader left (`2>&1 | head -1`) is dropped, the run goes on
    log = say(log, f"derived and proved the backprop of {model.name} in {proven:.2f} s (each "
                   f"of its {len(b.backward)} lines by central differences)" if verify else
                   f"derived the backprop of {model.name} in {proven:.2f} s (not proven)")
    log = say(log, f"training {model.name} on {ds.name}: {len(ds.y_train)} "
                   f"training and {len(ds.y_test)} test samples"
                   + (f"; L2 penalty λ = {lam:g}" if model.l2 else "")
                   + (f"; {optimizer}, lr {lr:g}, {epochs} epochs" if
                      model.training_defaults() else ""))
    run = run_trainer if nproc == 1 else partial(spawn_train, nproc=nproc,
                                                 device=device or "cpu")
    params, records, note = run(
        k, X, ds.y_train, X_test, ds.y_test, output, epochs=epochs, batch_size=batch_size,
        lr=lr, optimizer=optimizer, lam=lam, seed=seed, dtype=dtype, log=log, names=names,
        history_path=history)
    return Trained(b, k, {p["name"]: v for p, v in zip(k.PARAMS, params)}, records,
                   Path(output), note, history)


# ---------------------------------------------------------------- Jacobians and Hessians
# Second order reuses first order (results/jacobian.py): a Jacobian is read off
# d vec F = J d vec X, a Hessian is the differential (H[V]) or the Jacobian (the matrix) of
# the proven gradient.

def _jacobian_input(f, wrt, shapes, who):
    """(f, X, symbols): text parsed, the variable found and checked, as grad does."""
    f, wrt, symbols = _read(f, wrt, shapes, who, "A @ X", ("is not a variable of", "variables"))
    if not isinstance(wrt, (sp.MatrixSymbol, sp.Symbol)):
        raise MatcalcError("{0} is not a variable; a Jacobian is taken with respect to a "
                           "matrix, vector or scalar variable", wrt)
    if not f.has(wrt):
        raise MatcalcError(f"cannot differentiate with respect to {text(wrt)}: it does not "
                           f"occur in {text(f)}")
    return f, wrt, symbols


def _one_by_one(source, f, wrt, shapes, symbols):
    """(S, f, symbols) with a scalar variable s as the 1×1 matrix S it is (s = tr(S) where it
    meets scalars), as grad does; a matrix or vector variable unchanged."""
    if isinstance(wrt, sp.MatrixSymbol):
        return wrt, f, symbols
    one = matrix_variable(wrt)
    if isinstance(source, str):
        parsed = parse(source, {**(shapes or {}), wrt.name: (1, 1)})
        return one, parsed.expr, dict(parsed.symbols)
    return one, in_matrices(f, {wrt: one}, rebuilt=True), symbols


def jacobian(f, wrt, shapes=None, assume=(), layout="numerator"):
    """∂vec f/∂vec wrtᵀ of a vector- or matrix-valued f, identified from d vec f = J d vec X.

    For vectors the m×n Jacobian (numerator layout; `layout="denominator"` shows its
    transpose, "mixed" numerator for vector or matrix f and denominator for a scalar f);
    for matrices written with kron, vec and the commutation matrix. `shapes` and `assume` as
    in grad.

    >>> print(jacobian("A @ X", "X"))
    J = kron(eye(p), A)
    >>> print(jacobian("sigmoid(x)", "x").text())
    diag((1 - sigmoid(x))*sigmoid(x))
    """
    assume = _arguments("jacobian", f, wrt, shapes, assume, "A @ X")
    _layout_of(layout, False)
    source = f
    f, wrt, symbols = _jacobian_input(f, wrt, shapes, "jacobian")
    one, f1, symbols1 = _one_by_one(source, f, wrt, shapes, symbols)
    rules = tuple(_assumption(a, symbols1, f1) for a in assume)
    verify_module.check_consistent(constraints(rules))      # X > 0 and X < 0: before any work
    derivation = Derivation()
    j = jacobian_of(f1, one, derivation, rules)
    if one != wrt:          # a scalar s, differentiated as the 1×1 S: J read back in s
        j = read_back(j, {one: wrt}, not is_matrix(f) or f.shape == (1, 1))
        if not is_matrix(j):
            return Jacobian.of(f, wrt, j, derivation, layout, rules, symbols)
    rows = f.shape[0] * f.shape[1] if is_matrix(f) else 1
    if (j.shape[0] - rows, j.shape[1] - one.shape[0] * one.shape[1]) != (0, 0):
        raise InternalError(f"the Jacobian is {j.shape}, not |vec F|×|vec X|")
    return Jacobian.of(f, wrt, j, derivation, layout, rules, symbols)


def hessian(f, wrt, shapes=None, assume=(), form="product"):
    """The Hessian of a scalar f: the product H[V] (form "product", V a direction of X's
    shape), or the matrix ∂²f/∂vec X ∂vec Xᵀ (form "matrix"). Both come from the gradient
    (grad), differentiated once more: no second calculus.

    >>> print(hessian("tr(X.T @ A @ X)", "X"))
    H[V] = (A + A.T) @ V
    >>> print(hessian("x.T @ A @ x", "x", form="matrix"))
    H = A + A.T
    """
    assume = _arguments("hessian", f, wrt, shapes, assume, "tr(X.T @ A @ X)")
    if form not in ("product", "matrix"):
        raise MatcalcError(f"form must be 'product' or 'matrix', not {form!r}",
                           cli=f"--form takes product|matrix, not {form!r}")
    _require_scalar(_read(f, wrt, shapes, "hessian", "tr(X.T @ A @ X)",
                          ("does not occur in", "symbols"))[0], "a Hessian")
    g = grad(f, wrt, shapes=shapes, assume=assume)
    taken = {str(s) for s in g.f.atoms(sp.MatrixSymbol) | g.f.free_symbols} | set(g.symbols)
    v = direction(g.wrt, taken)
    g1, v1 = g, v
    if not isinstance(g.wrt, sp.MatrixSymbol):     # a scalar s: differentiated as the 1×1 S
        one, f1, _ = _one_by_one(f, g.f, g.wrt, shapes, g.symbols)
        g1 = grad(f, one.name, {**(shapes or {}), one.name: (1, 1)}, assume) \
            if isinstance(f, str) else grad(f1, one, shapes, assume)
        v1 = matrix_variable(v)
    if form == "product":
        h = hessian_vector_product(g1.value, g1.wrt, v1, g1.derivation, g1.assumptions)
    else:
        h = hessian_matrix(g1.value, g1.wrt, g1.derivation, g1.assumptions)
    if g1 is not g:
        h = read_back(h, {g1.wrt: g.wrt, v1: v}, True)
    return Hessian(g, v, h, form)
