"""The MatcalcError family: every error a user can cause, each message naming the operands.

Subclasses also derive from ValueError or TypeError so that generic handlers still work.
The CLI prints these messages and exits with code 2; nothing else reaches a user.
"""


class MatcalcError(Exception):
    """Base of every error matcalc raises on bad input."""


class ShapeError(MatcalcError, ValueError):
    """Operands whose shapes do not fit the operation."""


class ParseError(MatcalcError, ValueError):
    """Text that is not a valid matcalc expression; the message points at the column."""

    def __init__(self, message, text=None, col=None):
        self.text, self.col = text, col
        if text is not None and col is not None and "\n" not in text:
            message = f"{message}\n  {text}\n  {' ' * col}^"
        super().__init__(message)


class NoRuleError(MatcalcError, TypeError):
    """A node with no entry in one of the tables (differentials, printers, evaluators)."""


class NotScalarError(MatcalcError, ValueError):
    """A gradient was asked of a function that is not scalar."""


class VerificationError(MatcalcError, AssertionError):
    """A claimed gradient disagrees with the reference: which entry, both values, tolerance."""
