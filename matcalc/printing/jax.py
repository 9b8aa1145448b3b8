"""The JAX printer: matrix expressions as jax.numpy source, for code run under jax.jit.

Printing (stage 4). The NumPy printer (printing/numpy.py) with JAX's spellings: jax.numpy
mirrors NumPy, so `@`, `.T`, broadcasting, `.sum(axis=…, keepdims=True)` and boolean masks
print as they do for NumPy and only three tables differ: the module functions (MODULE,
numpy.X → jnp.X), the elementwise functions (FUNCTIONS, one row per row of
core/functions.py) and the softmax family (SOFTMAX, jax.nn's). Strict as its parent:
a node or function without a JAX spelling raises NoRuleError. The convolutional structure
nodes call helpers (HELPERS) with the NumPy helpers' names and arguments, written for
immutable arrays (.at[…].add where NumPy writes in place).
"""
from ..core.functions import FUNCTIONS as CORE_FUNCTIONS
from .runtime import HELPERS as NUMPY_HELPERS
from .tabled import MatcalcTabledPrinter

__all__ = ["MatcalcJaxPrinter", "MODULE", "FUNCTIONS", "SOFTMAX", "HELPERS"]

# numpy.X as the NumPy printer asks for it → the jax.numpy function (imported as jnp).
MODULE = {f: "jnp" + f[len("numpy"):] for f in (
    "numpy.full", "numpy.broadcast_to", "numpy.eye", "numpy.ones", "numpy.zeros",
    "numpy.sum", "numpy.vdot", "numpy.trace", "numpy.diagflat", "numpy.diag", "numpy.linalg.inv",
    "numpy.linalg.det", "numpy.linalg.slogdet", "numpy.linalg.norm", "numpy.sqrt",
    "numpy.exp", "numpy.log", "numpy.kron", "numpy.array")}

# The elementwise functions: each record's jax spelling in core/functions.py ('{}' the
# argument); a record without one is refused by name (printing/tabled.py).
FUNCTIONS = {name: fn.jax for name, fn in CORE_FUNCTIONS.items() if fn.jax}


# The softmax family: jax.nn's, '{arg}' and '{axis}' standing for the node's.
SOFTMAX = {
    "Softmax": "jax.nn.softmax({arg}, axis={axis})",
    "LogSoftmax": "jax.nn.log_softmax({arg}, axis={axis})",
    "LogSumExp": "jax.nn.logsumexp({arg}, axis={axis}, keepdims=True)",
}


# The convolutional helpers of printing/numpy.py (same names, arguments and results; the
# channel matrix is C × (N·H·W), columns n, h, w), as jax.numpy source: (source, helpers it
# calls). JAX arrays are immutable, so what NumPy writes in place is .at[…].add / .set, and
# the k² strided slices of the maps (one per window offset) stand for the window views; the
# loops unroll under jax.jit.
HELPERS = {
    "_to_channels": ('''\
def _to_channels(X, C, H, W):
    """(C·H·W) × N samples as columns (rows c, h, w) -> the channel matrix C × (N·H·W)."""
    N = X.shape[1]
    return X.reshape(C, H, W, N).transpose(0, 3, 1, 2).reshape(C, N * H * W)
''', ()),
    "_to_samples": ('''\
def _to_samples(A, C, H, W):
    """The channel matrix C × (N·H·W) -> (C·H·W) × N samples as columns (flatten)."""
    N = A.shape[1] // (H * W)
    return A.reshape(C, N, H, W).transpose(0, 2, 3, 1).reshape(C * H * W, N)
''', ()),
    "_windows": ('''\
def _windows(H, W, k, s):
    """For each of the k² window offsets in row-major order, the slice of (C, N, H, W) maps
    holding that offset of every window (stride s)."""
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    return [(slice(None), slice(None), slice(i, i + s * Ho, s), slice(j, j + s * Wo, s))
            for i in range(k) for j in range(k)]
''', ()),
    "_unfold": ('''\
def _unfold(A, C, H, W, k, s, p):
    """im2col: C × (N·H·W) -> (C·k·k) × (N·H'·W'), one column per k×k patch of the maps
    zero-padded by p (rows c, i, j; columns n, h', w'): the k² strided slices stacked."""
    N = A.shape[1] // (H * W)
    M = jnp.pad(A.reshape(C, N, H, W), ((0, 0), (0, 0), (p, p), (p, p)))
    V = jnp.stack([M[o] for o in _windows(H + 2 * p, W + 2 * p, k, s)], axis=1)
    return V.reshape(C * k * k, -1)
''', ("_windows",)),
    "_fold": ('''\
def _fold(G, C, H, W, k, s, p):
    """col2im, the adjoint of _unfold: (C·k·k) × (N·H'·W') -> C × (N·H·W), each patch added
    back where it was read (one strided slice per kernel offset), the padding cut off."""
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    N = G.shape[1] // (Ho * Wo)
    P = G.reshape(C, k * k, N, Ho, Wo)
    out = jnp.zeros((C, N, H + 2 * p, W + 2 * p), dtype=G.dtype)
    for i, o in enumerate(_windows(H + 2 * p, W + 2 * p, k, s)):
        out = out.at[o].add(P[:, i])
    return out[:, :, p:p + H, p:p + W].reshape(C, N * H * W)
''', ("_windows",)),
    "_maxpool": ('''\
def _maxpool(A, C, H, W, k, s):
    """The maximum of each k×k window (stride s): C × (N·H·W) -> C × (N·H''·W'')."""
    M = A.reshape(C, A.shape[1] // (H * W), H, W)
    at = _windows(H, W, k, s)
    out = M[at[0]]
    for o in at[1:]:
        out = jnp.maximum(out, M[o])
    return out.reshape(C, -1)
''', ("_windows",)),
    "_avgpool": ('''\
def _avgpool(A, C, H, W, k, s):
    """The mean of each k×k window (stride s): C × (N·H·W) -> C × (N·H''·W'')."""
    M = A.reshape(C, A.shape[1] // (H * W), H, W)
    at = _windows(H, W, k, s)
    out = M[at[0]]
    for o in at[1:]:
        out = out + M[o]
    return (out * (1 / (k * k))).reshape(C, -1)
''', ("_windows",)),
    "_pool_argmax": ('''\
def _pool_argmax(A, C, H, W, k, s):
    """Index arrays (c, n, h, w), each C × N × H'' × W'': where in the (C, N, H, W) maps the
    first maximum (row-major within the window) of each k×k window of A lies."""
    N = A.shape[1] // (H * W)
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    M = A.reshape(C, N, H, W)
    i, j = jnp.divmod(jnp.stack([M[o] for o in _windows(H, W, k, s)], axis=4).argmax(axis=4), k)
    return (jnp.arange(C).reshape(C, 1, 1, 1), jnp.arange(N).reshape(1, N, 1, 1),
            s * jnp.arange(Ho).reshape(1, 1, Ho, 1) + i,
            s * jnp.arange(Wo).reshape(1, 1, 1, Wo) + j)
''', ("_windows",)),
    "_pool_select": NUMPY_HELPERS["_pool_select"],   # indexing only: the same source
    "_pool_route": ('''\
def _pool_route(A, G, C, H, W, k, s):
    """The adjoint of _pool_select(A, ·): each window's G sent to the first maximum of that
    window of A, summed where windows overlap: C × (N·H''·W'') -> C × (N·H·W)."""
    at = _pool_argmax(A, C, H, W, k, s)
    N = A.shape[1] // (H * W)
    out = jnp.zeros((C, N, H, W), dtype=G.dtype).at[at].add(G.reshape(at[2].shape))
    return out.reshape(C, N * H * W)
''', ("_pool_argmax",)),
    "_pool_spread": ('''\
def _pool_spread(G, C, H, W, k, s):
    """Each window's value copied over its k×k window, summed where windows overlap (the
    adjoint of the window sums): C × (N·H''·W'') -> C × (N·H·W); upsampling when s = k."""
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    N = G.shape[1] // (Ho * Wo)
    P = G.reshape(C, N, Ho, Wo)
    out = jnp.zeros((C, N, H, W), dtype=G.dtype)
    for o in _windows(H, W, k, s):
        out = out.at[o].add(P)
    return out.reshape(C, N * H * W)
''', ("_windows",)),
    "_pool_mask": ('''\
def _pool_mask(A, C, H, W, k, s):
    """1 at the first maximum of each k×k window of A, 0 elsewhere, in the layout of A
    (with overlapping windows: 1 where some window has its first maximum): the offsets are
    visited in row-major order and each window takes the first that equals its maximum."""
    M = A.reshape(C, A.shape[1] // (H * W), H, W)
    top = _maxpool(A, C, H, W, k, s).reshape(M[_windows(H, W, k, s)[0]].shape)
    out = jnp.zeros(M.shape, dtype=bool)
    taken = jnp.zeros(top.shape, dtype=bool)
    for o in _windows(H, W, k, s):
        hit = (M[o] == top) & ~taken
        out = out.at[o].set(out[o] | hit)
        taken = taken | hit
    return out.reshape(A.shape).astype(A.dtype)
''', ("_windows", "_maxpool")),
}


class MatcalcJaxPrinter(MatcalcTabledPrinter):
    """MatcalcNumPyPrinter for JAX arrays; the modules are `jax` and `jnp` (jax.numpy).

    >>> from matcalc.core.expr import matrix, vector, matmul, add, ones, softmax
    >>> W, X, b = matrix('W', 3, 4), matrix('X', 4, 'N'), vector('b', 3)
    >>> MatcalcJaxPrinter().doprint(softmax(add(matmul(W, X), matmul(b, ones(1, 'N')))))
    'jax.nn.softmax(W @ X + b, axis=0)'
    """

    MODULE, FUNCTIONS, SOFTMAX, HELPERS = MODULE, FUNCTIONS, SOFTMAX, HELPERS
    IMPORT, LIBRARY = "jax.numpy", "JAX"
    SOURCE = "printing/jax.py"
