"""The --net text → layers: "conv(8, 3, pad=1), relu, maxpool(2), dense(10)".

Networks (stage 3). The text is read through an ast whitelist (a name, or a call with
literal arguments); each layer is then checked by its record (nn/layers.py `layer`), and any
error points at the layer with a caret.
"""
import ast

from ..core.errors import MatcalcError, ParseError
from .layers import LAYERS, REQUIRED, layer, spellings


def parse_net(text):
    """The layers of a spec such as "conv(8, 3, pad=1), relu, maxpool(2), dense(10)".

    >>> [str(l) for l in parse_net("conv(8, 3, pad=1), relu, maxpool(2), dense(10)")]
    ['conv(8, 3, pad=1)', 'relu', 'maxpool(2)', 'dense(10)']
    """
    if not isinstance(text, str) or not text.strip():
        raise ParseError("--net takes layers separated by commas, such as "
                         "\"conv(8, 3, pad=1), relu, maxpool(2), dense(10)\"")
    try:
        tree = ast.parse(f"({text},)", mode="eval").body
    except SyntaxError as e:
        col = max(0, min(len(text), (e.offset or 2) - 2))
        raise ParseError(f"syntax error in the network: {e.msg}", text, col) from None
    return tuple(_layer(node, text) for node in tree.elts)


def _layer(node, text):
    """One layer's node; a block kind's arguments are layers (residual(dense(8), relu))."""
    col = node.col_offset - 1
    if isinstance(node, ast.Name):
        kind, args, kwargs = node.id, [], {}
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        kind, kwargs = node.func.id, {}
        if any(k.arg is None for k in node.keywords):
            raise ParseError("** is not allowed in a network spec", text, col)
        block = kind in spellings() and LAYERS[spellings()[kind]].block
        for a in node.args if block else ():
            if not isinstance(a, (ast.Name, ast.Call)):
                raise ParseError(f"{kind} takes a block of layers, such as {kind}(dense(32), "
                                 f"relu), not {ast.unparse(a)}", text, a.col_offset - 1)
        rec = LAYERS[spellings()[kind]] if kind in spellings() else None
        real = [a.real for a in rec.args if a.default is REQUIRED] if rec else []
        args = [_layer(a, text) if block else _literal(a, text, i < len(real) and real[i])
                for i, a in enumerate(node.args)]
        for k in node.keywords:
            if k.arg in kwargs:
                raise ParseError(f"{kind} is given {k.arg}= twice", text,
                                 k.value.col_offset - 1)
            kwargs[k.arg] = _literal(k.value, text, any(a.real and a.name == k.arg
                                                        for a in (rec.args if rec else ())))
    else:
        raise ParseError("each layer is a name (relu) or a call (conv(8, 3))", text, col)
    try:
        return layer(kind, *args, **kwargs)
    except MatcalcError as e:
        raise ParseError(str(e), text, col) from None


def _literal(node, text, real=False):
    """An integer (−1 too: the record's check then names the least value); a number where
    the parameter is a probability (dropout(0.5))."""
    if real and isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and \
            isinstance(node.operand, ast.Constant) and type(node.operand.value) is float:
        return -node.operand.value
    if real and isinstance(node, ast.Constant) and type(node.value) is float:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and \
            isinstance(node.operand, ast.Constant) and type(node.operand.value) is int:
        return -node.operand.value
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    raise ParseError("layer parameters are integers, such as conv(8, 3, pad=1)", text,
                     node.col_offset - 1)
