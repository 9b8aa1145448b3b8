"""Tables keyed by node class, looked up along the MRO: the one dispatch every stage uses.

Core (stage 0). The differential table, the adjoint moves and the evaluators are each a
`Table`: a dict from node class to rule, whose `rule(node)` finds the entry of the node's
class or of its nearest base class (a sigmoid is a sympy.Function), and raises NoRuleError
saying which table to extend. The lookup is cached per class.
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
