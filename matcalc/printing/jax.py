"""The JAX printer: matrix expressions as jax.numpy source, for code run under jax.jit.

Printing (stage 4). The NumPy printer (printing/numpy.py) with JAX's spellings: jax.numpy
mirrors NumPy, so `@`, `.T`, broadcasting, `.sum(axis=…, keepdims=True)` and boolean masks
print as they do for NumPy and only three tables differ: the module functions (MODULE,
numpy.X → jnp.X), the elementwise functions (FUNCTIONS, one row per row of
core/functions.py) and the softmax family (SOFTMAX, jax.nn's). Strict as its parent:
a node or function without a JAX spelling raises NoRuleError; the convolutional structure
nodes have none (their NumPy helpers write in place, which JAX arrays do not allow).
"""
from .tabled import MatcalcTabledPrinter

__all__ = ["MatcalcJaxPrinter", "MODULE", "FUNCTIONS", "SOFTMAX"]

# numpy.X as the NumPy printer asks for it → the jax.numpy function (imported as jnp).
MODULE = {f: "jnp" + f[len("numpy"):] for f in (
    "numpy.full", "numpy.broadcast_to", "numpy.eye", "numpy.ones", "numpy.zeros",
    "numpy.sum", "numpy.vdot", "numpy.trace", "numpy.diagflat", "numpy.diag", "numpy.linalg.inv",
    "numpy.linalg.det", "numpy.linalg.slogdet", "numpy.linalg.norm", "numpy.sqrt",
    "numpy.exp", "numpy.log")}

# The elementwise functions of core/functions.py, '{}' standing for the argument.
FUNCTIONS = {
    "exp": "jnp.exp({})", "log": "jnp.log({})", "sin": "jnp.sin({})", "cos": "jnp.cos({})",
    "tanh": "jnp.tanh({})", "sqrt": "jnp.sqrt({})", "abs": "jnp.abs({})",
    "sign": "jnp.sign({})",
    "sigmoid": "jax.nn.sigmoid({})",
    "relu": "jnp.maximum({}, 0)",
    "step": "jnp.heaviside({}, 0.0)",
    "softplus": "jnp.logaddexp(0, {})",
}


# The softmax family: jax.nn's, '{arg}' and '{axis}' standing for the node's.
SOFTMAX = {
    "Softmax": "jax.nn.softmax({arg}, axis={axis})",
    "LogSoftmax": "jax.nn.log_softmax({arg}, axis={axis})",
    "LogSumExp": "jax.nn.logsumexp({arg}, axis={axis}, keepdims=True)",
}


class MatcalcJaxPrinter(MatcalcTabledPrinter):
    """MatcalcNumPyPrinter for JAX arrays; the modules are `jax` and `jnp` (jax.numpy).

    >>> from matcalc.core.expr import matrix, vector, matmul, add, ones, softmax
    >>> W, X, b = matrix('W', 3, 4), matrix('X', 4, 'N'), vector('b', 3)
    >>> MatcalcJaxPrinter().doprint(softmax(add(matmul(W, X), matmul(b, ones(1, 'N')))))
    'jax.nn.softmax(W @ X + b, axis=0)'
    """

    MODULE, FUNCTIONS, SOFTMAX = MODULE, FUNCTIONS, SOFTMAX
    IMPORT, LIBRARY = "jax.numpy", "JAX"
    SOURCE = "printing/jax.py"
