"""The MatcalcError family: every error a user can cause, each naming its operands.

Core (stage 0). An error carries its operands (expressions, shapes) and a template; the
message is formatted when it is shown, by the text printer once it is loaded (printing/text.py
installs itself with `show_operands_with`), so that no module of the core imports a printer.
Template fields take a format spec: `{0}` the operand as text, `{0:shape}` "W (3×4)",
`{0:dims}` "3×4". Subclasses also derive from ValueError or TypeError so that generic
handlers still work. The CLI prints these messages and exits with code 2.

Advice speaks the interface it is shown in: an error may carry a second template, `cli=`,
that says the same with the command line's flags (--verify numeric, --assume "X > 0") where
the first names Python arguments (verify_numeric, assumptions=[...]); the CLI shows its
errors inside `speaking("cli")`. InternalError is the one error that is not a MatcalcError:
a bug of matcalc's own (the CLI's exit code 3), never caused by the input.
"""
from contextlib import contextmanager

__all__ = ["MatcalcError", "ArgumentError", "ShapeError", "ParseError", "NoRuleError",
           "NotScalarError", "VerificationError", "TooLargeError", "InternalError", "Message",
           "Shown", "shown", "show_operands_with", "speaking", "interface"]


def _plain(e):
    return str(e)


_show = [_plain]          # the formatter of operands: str until a printer installs itself


def show_operands_with(fn):
    """Format operands of messages with fn(expr) -> str (the text printer calls this)."""
    _show[0] = fn


_interface = ["python"]    # whose options advice names: "python" or "cli"


def interface():
    """The interface messages are shown in now: "python" (default) or "cli"."""
    return _interface[0]


@contextmanager
def speaking(name):
    """Within the block, errors give their advice as `name` ("python" or "cli") spells it."""
    if name not in ("python", "cli"):
        raise ValueError(f"interface must be 'python' or 'cli', not {name!r}")
    before, _interface[0] = _interface[0], name
    try:
        yield
    finally:
        _interface[0] = before


class Shown:
    """An operand in a message, formatted only when the message is shown."""

    def __init__(self, value):
        self.value = value

    def __format__(self, spec):
        e, show = self.value, _show[0]
        if spec == "":
            return show(e)
        shape = getattr(e, "shape", None) if getattr(e, "is_Matrix", False) else None
        dims = "×".join(show(d) for d in shape) if shape is not None else "scalar"
        if spec == "dims":
            return dims
        if spec == "shape":
            return f"{show(e)} ({dims})"
        raise ValueError(f"unknown operand format {spec!r}")

    def __str__(self):
        return format(self, "")


def shown(template, *operands):
    """The template with its operands formatted now: shown("{0} is symmetric", S)."""
    return template.format(*(Shown(o) for o in operands))


class Message:
    """A template and its operands, formatted each time it is shown (str)."""

    def __init__(self, template, *operands):
        self.template, self.operands = template, operands

    def __str__(self):
        return shown(self.template, *self.operands) if self.operands else self.template

    def __repr__(self):
        return f"Message({str(self)!r})"


class MatcalcError(Exception):
    """Base of every error matcalc raises on bad input.

    MatcalcError(message) with a finished message, or MatcalcError(template, *operands) with
    `{0}`, `{0:shape}`, `{0:dims}` fields that are filled when the error is shown. `cli`, a
    template over the same operands, is what the command line shows instead (its flags in
    place of Python arguments).
    """

    def __init__(self, message, *operands, cli=None):
        super().__init__(message, *operands)
        self.template, self.operands, self.cli = message, operands, cli

    def __str__(self):
        template = self.cli if self.cli is not None and _interface[0] == "cli" else \
            self.template
        if not self.operands:
            return str(template)
        return shown(template, *self.operands)


class ShapeError(MatcalcError, ValueError):
    """Operands whose shapes do not fit the operation."""


class ParseError(MatcalcError, ValueError):
    """Text that is not a valid matcalc expression; the message points at the column."""

    def __init__(self, message, text=None, col=None):
        self.text, self.col = text, col
        if text is not None and col is not None and "\n" not in text:
            message = f"{message}\n  {text}\n  {' ' * col}^"
        super().__init__(message)


class ArgumentError(MatcalcError, TypeError):
    """A Python API argument of the wrong type or form (shapes={"X": None}, assume=1): named,
    with what it takes; a TypeError, as such a mistake is in Python."""


class NoRuleError(MatcalcError, TypeError):
    """A node with no entry in one of the tables (differentials, printers, evaluators)."""


class NotScalarError(MatcalcError, ValueError):
    """A gradient was asked of a function that is not scalar."""


class VerificationError(MatcalcError, AssertionError):
    """A claimed gradient disagrees with the reference: which entry, both values, tolerance."""


class TooLargeError(ShapeError):
    """A proof that would outgrow its budget (matrices too large to evaluate, an expression too
    large to write out): refused before it runs, saying what to do instead. A ShapeError, as
    the refusal of too large sizes always was."""


class InternalError(AssertionError):
    """A bug in matcalc, not in the input (the CLI's exit code 3): never a MatcalcError, so
    that no handler of bad input swallows it. Generated code that disagrees with the
    expression it was printed from raises this."""
