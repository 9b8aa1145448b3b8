"""The PyTorch printer: matrix expressions as torch source, for tensors on any device.

Printing (stage 4). The NumPy printer (printing/numpy.py) with torch's spellings: tensors take
`@`, `.T`, broadcasting, `.sum(axis=…, keepdims=True)` and boolean masks as NumPy arrays do, so
only three tables differ: the module functions (MODULE, numpy.X → torch.X), the elementwise
functions (FUNCTIONS, one row per row of core/functions.py) and the softmax family
(SOFTMAX, torch's fused kernels). Strict as its parent: a node or function without a torch
spelling raises NoRuleError; the convolutional structure nodes have none (their NumPy helpers
write through strided views), so convolutional networks stay on the NumPy backend.
"""
from .tabled import MatcalcTabledPrinter

__all__ = ["MatcalcTorchPrinter", "MODULE", "FUNCTIONS", "SOFTMAX"]

# numpy.X as the NumPy printer asks for it → the torch function; nothing else is printed.
MODULE = {
    "numpy.full": "torch.full", "numpy.broadcast_to": "torch.broadcast_to",
    "numpy.eye": "torch.eye", "numpy.ones": "torch.ones", "numpy.zeros": "torch.zeros",
    "numpy.sum": "torch.sum", "numpy.trace": "torch.trace",
    "numpy.diagflat": "torch.diagflat", "numpy.diag": "torch.diag",
    "numpy.linalg.inv": "torch.linalg.inv", "numpy.linalg.det": "torch.linalg.det",
    "numpy.linalg.slogdet": "torch.linalg.slogdet", "numpy.linalg.norm": "torch.linalg.norm",
    "numpy.sqrt": "torch.sqrt", "numpy.exp": "torch.exp", "numpy.log": "torch.log",
}

# The elementwise functions of core/functions.py, '{}' standing for the argument.
FUNCTIONS = {
    "exp": "torch.exp({})", "log": "torch.log({})", "sin": "torch.sin({})",
    "cos": "torch.cos({})", "tanh": "torch.tanh({})", "sqrt": "torch.sqrt({})",
    "abs": "torch.abs({})", "sign": "torch.sign({})",
    "sigmoid": "torch.sigmoid({})",                 # torch's own: stable for any x
    "relu": "torch.relu({})",
    "step": "torch.sign(torch.relu({}))",           # 1 where x > 0, else 0, in x's dtype
    "softplus": "torch.nn.functional.softplus({})",  # log(1 + eˣ), stable
}


# The softmax family: torch's fused kernels, '{arg}' and '{axis}' standing for the node's.
SOFTMAX = {
    "Softmax": "torch.softmax({arg}, dim={axis})",
    "LogSoftmax": "torch.log_softmax({arg}, dim={axis})",
    "LogSumExp": "torch.logsumexp({arg}, dim={axis}, keepdim=True)",
}


class MatcalcTorchPrinter(MatcalcTabledPrinter):
    """MatcalcNumPyPrinter for torch tensors; the module is `torch`.

    >>> from matcalc.core.expr import matrix, vector, matmul, add, ones, softmax
    >>> W, X, b = matrix('W', 3, 4), matrix('X', 4, 'N'), vector('b', 3)
    >>> MatcalcTorchPrinter().doprint(softmax(add(matmul(W, X), matmul(b, ones(1, 'N')))))
    'torch.softmax(W @ X + b, dim=0)'
    """

    MODULE, FUNCTIONS, SOFTMAX = MODULE, FUNCTIONS, SOFTMAX
    IMPORT, LIBRARY = "torch", "torch"
    SOURCE = "printing/torch.py"

    def _print_EntrySum(self, e):
        # torch.vdot takes vectors only; the NumPy printer's vdot of two matrices is this sum
        return f"torch.sum({self._print(e.arg)})"
