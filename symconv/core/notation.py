"""Human notation: what the command line prints for people (JSON keeps SymPy's own strings, design.md).

Expressions read as mathematics, not as SymPy's repr: ``floor``, ``ceil``, ``max``, ``min``, ``x mod m``, ``=``,
``and``; sets of sizes read as words.

>>> from .arith import symbol
>>> i = symbol("i")
>>> expression(sympy.Mod(i + 1, 2))
'(i + 1) mod 2'
>>> expression(sympy.floor(i / 2 - sympy.Rational(1, 2)) + 1)
'floor((i - 1)/2) + 1'
>>> expression(sympy.Max(0, sympy.ceiling(i / 2)))
'max(0, ceil(i/2))'
>>> size_set("H", period=8, residues=[0], start=4, below=[1, 2])
'every H >= 4 with H mod 8 = 0, and 1, 2'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sympy
from sympy.printing.str import StrPrinter

_RELATIONS = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class _Printer(StrPrinter):
    """SymPy's str printer with the mathematical names; a mod inside a sum or product is parenthesised, since
    readers do not agree on how tightly 'mod' binds."""

    def __init__(self) -> None:
        super().__init__({"order": None})
        self._path: list[Any] = []

    def _print(self, expr: Any, **kwargs: Any) -> str:
        self._path.append(expr)
        try:
            return str(super()._print(expr, **kwargs))
        finally:
            self._path.pop()

    def _print_Mod(self, expr: sympy.Mod) -> str:
        value, modulus = expr.args
        inner = self._print(value)
        if not (value.is_Symbol or value.is_Integer or isinstance(value, sympy.Function)):
            inner = f"({inner})"
        text = f"{inner} mod {self._print(modulus)}"
        # Inside a sum or a product: 'i + (i + 1) mod 2' and '-(i + 2) mod 3' read two ways. (SymPy's product
        # printer adds its own parentheses only to some factors: a doubled pair is taken off below.)
        parent = self._path[-2] if len(self._path) > 1 else None
        return f"({text})" if isinstance(parent, sympy.Add | sympy.Mul) else text

    def _print_Mul(self, expr: sympy.Expr) -> str:
        text = str(super()._print_Mul(expr))
        return re.sub(r"\(\(([^()]*(?:\([^()]*\)[^()]*)*) mod ([^()]+)\)\)", r"(\1 mod \2)", text)

    def _rounded(self, name: str, expr: sympy.Expr) -> str:
        # One fraction inside: floor((i - 1)/2), not floor(i/2 - 1/2).
        return f"{name}({self._print(sympy.together(expr.args[0]))})"

    def _print_floor(self, expr: sympy.Expr) -> str:
        return self._rounded("floor", expr)

    def _print_ceiling(self, expr: sympy.Expr) -> str:
        return self._rounded("ceil", expr)

    def _print_Max(self, expr: sympy.Expr) -> str:
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Min(self, expr: sympy.Expr) -> str:
        return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Abs(self, expr: sympy.Expr) -> str:
        return f"|{self._print(expr.args[0])}|"

    def _print_Piecewise(self, expr: sympy.Piecewise) -> str:
        cases = []
        for value, condition in expr.args:
            when = "otherwise" if condition is sympy.true else f"if {self._print(condition)}"
            cases.append(f"{self._print(value)} {when}")
        return "{" + "; ".join(cases) + "}"

    def _print_Relational(self, expr: Any) -> str:
        operator = _RELATIONS.get(expr.rel_op, expr.rel_op)
        return f"{self._print(expr.lhs)} {operator} {self._print(expr.rhs)}"

    def _joined(self, expr: Any, word: str) -> str:
        parts = []
        for arg in expr.args:
            text = self._print(arg)
            parts.append(f"({text})" if isinstance(arg, sympy.And | sympy.Or) else text)
        return f" {word} ".join(parts)

    def _print_And(self, expr: Any) -> str:
        return self._joined(expr, "and")

    def _print_Or(self, expr: Any) -> str:
        return self._joined(expr, "or")

    def _print_Not(self, expr: Any) -> str:
        return f"not ({self._print(expr.args[0])})"

    def _print_BooleanTrue(self, expr: Any) -> str:
        return "always"

    def _print_BooleanFalse(self, expr: Any) -> str:
        return "never"

    def _print_Infinity(self, expr: Any) -> str:
        return "oo"

    def _print_NegativeInfinity(self, expr: Any) -> str:
        return "-oo"


def expression(value: Any) -> str:
    """A value as people write it: SymPy expressions and conditions in mathematical notation, lists and tuples
    of them bracketed, anything else as str()."""
    if isinstance(value, sympy.Basic):
        return str(_Printer().doprint(value))
    if isinstance(value, list):
        return "[" + ", ".join(expression(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(expression(v) for v in value) + ")"
    return str(value)


def assignments(values: Mapping[str, Any]) -> str:
    """``{"i": 2, "j": 0}`` as ``i = 2, j = 0``."""
    return ", ".join(f"{name} = {expression(value)}" for name, value in values.items())


def _listed(numbers: Iterable[int]) -> str:
    return ", ".join(str(n) for n in numbers)


def residue_rule(name: str, period: int, residues: Sequence[int]) -> str:
    """``H mod 8 = 0`` or ``H mod 8 in {0, 4}``; the empty string for every residue."""
    if len(residues) >= period:
        return ""
    if len(residues) == 1:
        return f"{name} mod {period} = {residues[0]}"
    return f"{name} mod {period} in {{{_listed(residues)}}}"


def size_set(
    name: str, *, period: int, residues: Sequence[int], start: int, below: Sequence[int] = ()
) -> str:
    """The sizes {n >= start: n mod period in residues} with the sizes `below` under start, in words.

    Sizes are positive, so "every i" means every i >= 1.

    >>> size_set("i", period=1, residues=[0], start=1)
    'every i'
    >>> size_set("H", period=4, residues=[], start=7, below=[3])
    'only H = 3'
    >>> size_set("i", period=2, residues=[], start=1)
    'no i'
    """
    if not residues:
        return f"only {name} = {_listed(below)}" if below else f"no {name}"
    rule = residue_rule(name, period, residues)
    head = f"every {name}" if start <= 1 else f"every {name} >= {start}"
    text = f"{head} with {rule}" if rule else head
    return f"{text}, and {_listed(below)}" if below else text


def interval(
    name: str, lo: int | None, hi: int | None, period: int = 1, residues: Sequence[int] = (0,)
) -> str:
    """One piece of a solution set: ``199 <= i <= 200``, ``i >= 4 with i mod 8 = 0``, ``i = 3``.

    >>> interval("i", 4, None, 8, [0])
    'i >= 4 with i mod 8 = 0'
    """
    if lo is not None and lo == hi:
        return f"{name} = {lo}"
    if lo is None and hi is None:
        head = f"every {name}"
    elif lo is None:
        head = f"{name} <= {hi}"
    elif hi is None:
        head = f"{name} >= {lo}"
    else:
        head = f"{lo} <= {name} <= {hi}"
    rule = residue_rule(name, period, residues)
    return f"{head} with {rule}" if rule else head


__all__ = ["assignments", "expression", "interval", "residue_rule", "size_set"]
