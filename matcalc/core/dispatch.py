"""Tables keyed by node class, looked up along the MRO: the one dispatch every stage uses.

Core (stage 0). The differential table, the adjoint moves and the evaluators are each a
`Table`: a dict from node class to rule, whose `rule(node)` finds the entry of the node's
class or of its nearest base class (a sigmoid is a sympy.Function), and raises NoRuleError
saying which table to extend. The lookup is cached per class. A rule's identity, which the
derivation record shows, is a field of the rule (`identity`), never read from its docstring:
`python -OO` drops docstrings.
"""
from .errors import NoRuleError


class Table(dict):
    """{node class: rule}; `what` and `where` name the table in the missing-rule error.

    >>> import sympy as sp
    >>> t = Table("a doubling rule", "EXAMPLE in dispatch.py", {sp.Function: lambda e: 2})
    >>> t.rule(sp.sin(sp.Symbol('x')))(None)
    2
    >>> t.rule(sp.Symbol('x'))
    Traceback (most recent call last):
    ...
    matcalc.core.errors.NoRuleError: no a doubling rule for Symbol; add an entry to EXAMPLE in dispatch.py
    """

    def __init__(self, what, where, entries=()):
        super().__init__(entries)
        self.what, self.where = what, where

    def covers(self, cls):
        """Has cls (or a base class of it) an entry?"""
        return any(c in self for c in cls.__mro__)

    def rule(self, node):
        cls = type(node)
        found = next((self[c] for c in cls.__mro__ if c in self), None)
        if found is None:
            raise NoRuleError(f"no {self.what} for {cls.__name__}; add an entry to "
                              f"{self.where}")
        return found


def identity(text):
    """Give a rule the identity it applies, as the field `rule.identity` (and as its docstring
    where it has none, for help()).

    >>> @identity("x + 0 = x")
    ... def drop_zero(e):
    ...     return e
    >>> drop_zero.identity
    'x + 0 = x'
    """
    def mark(rule):
        rule.identity = text
        if rule.__doc__ is None:
            rule.__doc__ = text
        return rule
    return mark


def identity_of(rule):
    """The identity a rule applies: its field, or what an object rule (an assumption) says."""
    found = getattr(rule, "identity", None)
    return str(rule) if found is None else found
