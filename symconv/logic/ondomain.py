"""A formula as it reads where it is defined: the cases of a Piecewise that its domain decides, resolved by proof.

TensorFlow's C++ division truncates toward zero, so its sizes are written with cases (floor for a numerator >= 0,
the other rounding below 0); where the layer is defined the numerator is never negative and one case is the
formula. Each case is dropped or kept only on a Z3 proof from the domain's conditions; a case Z3 does not decide
keeps the whole Piecewise.

>>> from symconv import layer, symbol
>>> made, i = layer("tf.conv(k=3, s=2, p=valid)"), symbol("i")
>>> on_domain(made.output_expr(i), [condition for condition, _ in made.conditions(i)])
floor(i/2 - 1/2)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy

from .prove import prove

TIMEOUT_MS = 2_000


def on_domain(expr: Any, domain: Sequence[Any], timeout_ms: int = TIMEOUT_MS) -> Any:
    """`expr` with every Piecewise whose case the `domain` decides replaced by that case's value."""
    if not isinstance(expr, sympy.Basic) or not expr.has(sympy.Piecewise):
        return expr

    def holds(condition: Any) -> bool:
        if condition is sympy.true:
            return True
        return prove(condition, list(domain), timeout_ms=timeout_ms).status == "proved"

    def resolve(piecewise: sympy.Piecewise) -> Any:
        # The first case whose condition is true is the value: skip the cases proved false, stop at one proved
        # true, keep everything at the first that neither proof decides.
        for value, condition in piecewise.args:
            if holds(condition):
                return value
            if not holds(sympy.Not(condition)):
                return piecewise
        return piecewise

    return expr.replace(lambda node: isinstance(node, sympy.Piecewise), resolve)


# Periods up to this are tabulated (one value per residue); longer ones are left as written.
MAX_PERIOD = 64


def periodic(expr: Any, symbol: Any, domain: Sequence[Any], timeout_ms: int = TIMEOUT_MS) -> Any:
    """`expr`, a formula in `symbol` alone whose floors, ceilings and remainders divide it by integers, in its
    shortest form where the `domain` holds: a constant, or a constant plus a shifted remainder, c + ((i + t) mod
    P), when it takes those values on every residue, or else with such forms for its parts. A form is found on a
    sample of the domain and kept only on a Z3 proof that it equals its formula wherever the domain holds;
    otherwise the formula is kept as written.

    >>> from symconv import symbol
    >>> i = symbol("i")
    >>> periodic(sympy.ceiling(sympy.Max(0, -i + 2 * sympy.ceiling(i / 2) + 1) / 2), i, [i >= 1])
    1
    >>> periodic(sympy.floor(sympy.Max(0, -i + 2 * sympy.ceiling(i / 2) + 1) / 2), i, [i >= 1])
    Mod(i, 2)
    """
    if not isinstance(expr, sympy.Expr) or expr.free_symbols != {symbol} or expr.is_polynomial(symbol):
        return expr
    whole = _periodic_whole(expr, symbol, domain, timeout_ms)
    if whole is not expr or isinstance(expr, sympy.Piecewise):  # a case's condition is not a formula
        return whole
    # No form for the whole: its parts may have one (floor(max(0, ...)/2) with a shorter max inside).
    parts = [periodic(arg, symbol, domain, timeout_ms) for arg in expr.args]
    return expr.func(*parts) if any(p is not a for p, a in zip(parts, expr.args, strict=True)) else expr


def _periodic_whole(expr: Any, symbol: Any, domain: Sequence[Any], timeout_ms: int) -> Any:
    """`expr` itself as a constant or a shifted remainder (proved), else `expr`."""
    from ..core.arith import evaluate

    period = _period(expr, symbol)
    if period is None:
        return expr
    # The values on the residues, read past the small sizes where a max(0, ...) may still bite: each residue at
    # two points a period apart must agree, else the formula is not periodic there.
    values: dict[int, int] = {}
    start = 1 + 2 * period
    for n in range(start, start + 2 * period):
        env = {symbol.name: n}
        try:
            if not all(evaluate(condition, env) for condition in domain):
                continue
            value = evaluate(expr, env)
        except (ArithmeticError, TypeError, ValueError):  # undefined there (a zero divisor): no form
            return expr
        if not isinstance(value, int) and not (hasattr(value, "is_integer") and value.is_integer):
            return expr
        residue = n % period
        if values.setdefault(residue, int(value)) != int(value):
            return expr
    if len(values) != period:
        return expr
    candidate = _residue_form(values, period, symbol)
    if candidate is None:
        return expr
    claim = sympy.Eq(expr, candidate)
    return candidate if prove(claim, list(domain), timeout_ms=timeout_ms).status == "proved" else expr


def _period(expr: Any, symbol: Any) -> int | None:
    """The least common multiple of the integer divisors of `symbol` inside floors, ceilings and remainders, or
    None when one is not an integer (a size-dependent divisor has no period)."""
    period = 1
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.floor | sympy.ceiling):
            coefficient = sympy.expand(node.args[0]).coeff(symbol)
            if not coefficient.is_Rational:
                return None
            period = sympy.ilcm(period, sympy.Rational(coefficient).q)
        elif isinstance(node, sympy.Mod):
            if not node.args[1].is_Integer:
                return None
            period = sympy.ilcm(period, int(node.args[1]))
    period = int(period)
    return period if period <= MAX_PERIOD else None


def _residue_form(values: dict[int, int], period: int, symbol: Any) -> Any:
    """c, c + ((i + t) mod P) or c - ((i + t) mod P), matching `values` by residue (the simplest first), or
    None. (A remainder of -i is not offered: SymPy writes Mod(-i, 3) as Mod(2*i, 3).)"""
    if len(set(values.values())) == 1:
        return sympy.Integer(next(iter(values.values())))
    for sign in (1, -1):
        for shift in range(period):
            offset = values[0] - sign * shift
            if all(values[r] == offset + sign * ((r + shift) % period) for r in range(period)):
                return offset + sign * sympy.Mod(symbol + shift, period)
    return None
