"""The PyTorch printer: matrix expressions as torch source, for tensors on any device.

Printing (stage 4). The NumPy printer (printing/numpy.py) with torch's spellings: tensors take
`@`, `.T`, broadcasting, `.sum(axis=…, keepdims=True)` and boolean masks as NumPy arrays do, so
only three tables differ: the module functions (MODULE, numpy.X → torch.X), the elementwise
functions (FUNCTIONS, one row per row of core/functions.py) and the softmax family
(SOFTMAX, torch's fused kernels). Strict as its parent: a node or function without a torch
spelling raises NoRuleError. The convolutional structure nodes call helpers (HELPERS) with
the NumPy helpers' names and arguments, spelt with torch.nn.functional's unfold, fold and
pooling (max_pool2d's indices for the first maximum of each window); no autograd.
"""
from ..core.functions import FUNCTIONS as CORE_FUNCTIONS
from .tabled import MatcalcTabledPrinter

__all__ = ["MatcalcTorchPrinter", "MODULE", "FUNCTIONS", "SOFTMAX", "HELPERS"]

# numpy.X as the NumPy printer asks for it → the torch function; nothing else is printed.
MODULE = {
    "numpy.full": "torch.full", "numpy.broadcast_to": "torch.broadcast_to",
    "numpy.eye": "torch.eye", "numpy.ones": "torch.ones", "numpy.zeros": "torch.zeros",
    "numpy.sum": "torch.sum", "numpy.trace": "torch.trace",
    "numpy.diagflat": "torch.diagflat", "numpy.diag": "torch.diag",
    "numpy.linalg.inv": "torch.linalg.inv", "numpy.linalg.det": "torch.linalg.det",
    "numpy.linalg.slogdet": "torch.linalg.slogdet", "numpy.linalg.norm": "torch.linalg.norm",
    "numpy.sqrt": "torch.sqrt", "numpy.exp": "torch.exp", "numpy.log": "torch.log",
    "numpy.kron": "torch.kron", "numpy.array": "torch.tensor",
}

# The elementwise functions: each record's torch spelling in core/functions.py ('{}' the
# argument); a record without one is refused by name (printing/tabled.py).
FUNCTIONS = {name: fn.torch for name, fn in CORE_FUNCTIONS.items() if fn.torch}


# The softmax family: torch's fused kernels, '{arg}' and '{axis}' standing for the node's.
SOFTMAX = {
    "Softmax": "torch.softmax({arg}, dim={axis})",
    "LogSoftmax": "torch.log_softmax({arg}, dim={axis})",
    "LogSumExp": "torch.logsumexp({arg}, dim={axis}, keepdim=True)",
}


# The convolutional helpers of printing/numpy.py (same names, arguments and results; the
# channel matrix is C × (N·H·W), columns n, h, w), as torch source: (source, helpers it calls).
# torch.nn.functional takes maps as (batch, channels, H, W); pooling treats every map alone,
# so the (C, N, H, W) view of a channel matrix is passed as it is.
HELPERS = {
    "_to_channels": ('''\
def _to_channels(X, C, H, W):
    """(C·H·W) × N samples as columns (rows c, h, w) -> the channel matrix C × (N·H·W)."""
    N = X.shape[1]
    return X.reshape(C, H, W, N).permute(0, 3, 1, 2).reshape(C, N * H * W)
''', ()),
    "_to_samples": ('''\
def _to_samples(A, C, H, W):
    """The channel matrix C × (N·H·W) -> (C·H·W) × N samples as columns (flatten)."""
    N = A.shape[1] // (H * W)
    return A.reshape(C, N, H, W).permute(0, 2, 3, 1).reshape(C * H * W, N)
''', ()),
    "_unfold": ('''\
def _unfold(A, C, H, W, k, s, p):
    """im2col: C × (N·H·W) -> (C·k·k) × (N·H'·W'), one column per k×k patch of the maps
    zero-padded by p (rows c, i, j as F.unfold orders them; columns n, h', w')."""
    N = A.shape[1] // (H * W)
    U = torch.nn.functional.unfold(A.reshape(C, N, H, W).transpose(0, 1), k, padding=p,
                                   stride=s)
    return U.transpose(0, 1).reshape(C * k * k, -1)
''', ()),
    "_fold": ('''\
def _fold(G, C, H, W, k, s, p):
    """col2im, the adjoint of _unfold: (C·k·k) × (N·H'·W') -> C × (N·H·W), each patch added
    back where it was read, the padding cut off (F.fold)."""
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    N = G.shape[1] // (Ho * Wo)
    M = torch.nn.functional.fold(G.reshape(C * k * k, N, Ho * Wo).transpose(0, 1), (H, W), k,
                                 padding=p, stride=s)
    return M.transpose(0, 1).reshape(C, N * H * W)
''', ()),
    "_maxpool": ('''\
def _maxpool(A, C, H, W, k, s):
    """The maximum of each k×k window (stride s): C × (N·H·W) -> C × (N·H''·W'')."""
    M = A.reshape(C, A.shape[1] // (H * W), H, W)
    return torch.nn.functional.max_pool2d(M, k, s).reshape(C, -1)
''', ()),
    "_avgpool": ('''\
def _avgpool(A, C, H, W, k, s):
    """The mean of each k×k window (stride s): C × (N·H·W) -> C × (N·H''·W'')."""
    M = A.reshape(C, A.shape[1] // (H * W), H, W)
    return torch.nn.functional.avg_pool2d(M, k, s).reshape(C, -1)
''', ()),
    "_pool_argmax": ('''\
def _pool_argmax(A, C, H, W, k, s):
    """C × N × (H''·W'') indices into each H·W map of A: where the first maximum (row-major
    within the window, as max_pool2d takes it) of each k×k window lies."""
    M = A.reshape(C, A.shape[1] // (H * W), H, W)
    return torch.nn.functional.max_pool2d(M, k, s, return_indices=True)[1].flatten(2)
''', ()),
    "_pool_select": ('''\
def _pool_select(A, L, C, H, W, k, s):
    """L at the first maximum of each k×k window of A: C × (N·H·W) -> C × (N·H''·W'')."""
    at = _pool_argmax(A, C, H, W, k, s)
    return L.reshape(C, -1, H * W).gather(2, at).reshape(C, -1)
''', ("_pool_argmax",)),
    "_pool_route": ('''\
def _pool_route(A, G, C, H, W, k, s):
    """The adjoint of _pool_select(A, ·): each window's G sent to the first maximum of that
    window of A, summed where windows overlap: C × (N·H''·W'') -> C × (N·H·W)."""
    at = _pool_argmax(A, C, H, W, k, s)
    out = torch.zeros(C, at.shape[1], H * W, dtype=G.dtype, device=G.device)
    return out.scatter_add_(2, at, G.reshape(at.shape)).reshape(C, -1)
''', ("_pool_argmax",)),
    "_pool_spread": ('''\
def _pool_spread(G, C, H, W, k, s):
    """Each window's value copied over its k×k window, summed where windows overlap (the
    adjoint of the window sums): C × (N·H''·W'') -> C × (N·H·W); F.fold of k² copies."""
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    P = G.reshape(-1, 1, Ho * Wo).expand(-1, k * k, -1)
    return torch.nn.functional.fold(P, (H, W), k, stride=s).reshape(C, -1)
''', ()),
    "_pool_mask": ('''\
def _pool_mask(A, C, H, W, k, s):
    """1 at the first maximum of each k×k window of A, 0 elsewhere, in the layout of A
    (with overlapping windows: 1 where some window has its first maximum)."""
    at = _pool_argmax(A, C, H, W, k, s)
    out = torch.zeros(C, at.shape[1], H * W, dtype=A.dtype, device=A.device)
    return out.scatter_(2, at, 1.0).reshape(A.shape)
''', ("_pool_argmax",)),
}


class MatcalcTorchPrinter(MatcalcTabledPrinter):
    """MatcalcNumPyPrinter for torch tensors; the module is `torch`.

    >>> from matcalc.core.expr import matrix, vector, matmul, add, ones, softmax
    >>> W, X, b = matrix('W', 3, 4), matrix('X', 4, 'N'), vector('b', 3)
    >>> MatcalcTorchPrinter().doprint(softmax(add(matmul(W, X), matmul(b, ones(1, 'N')))))
    'torch.softmax(W @ X + b, dim=0)'
    """

    MODULE, FUNCTIONS, SOFTMAX, HELPERS = MODULE, FUNCTIONS, SOFTMAX, HELPERS
    IMPORT, LIBRARY = "torch", "torch"
    LIKE_X = ".to(X)"           # a constant kron: X's dtype and device
    SOURCE = "printing/torch.py"

    def _print_EntrySum(self, e):
        # torch.vdot takes vectors only; the NumPy printer's vdot of two matrices is this sum
        return f"torch.sum({self._print(e.arg)})"
