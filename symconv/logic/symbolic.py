"""Symbolic answers: one unknown as an interval whose ends are formulas in the other parameters.

The same inversion as the numeric solver (floor(A/D) = F iff D*F <= A <= D*F + D - 1 for D > 0), with the
coefficients kept as expressions. A divisor's sign must follow from the query's own conditions (a stride's
s >= 1); Z3 checks that, and then checks the whole answer: for every assignment satisfying the conditions on
the parameters, x satisfies the query iff it lies in the interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sympy

from ..core.arith import ceil_div, floor_div, ge, le, quotient_parts, symbol, tidy
from ..core.errors import SpecError
from .prove import Proved, Result
from .relations import RELATIONS, affine, normalise


def _flatten(conditions: Sequence[sympy.Basic]) -> list[sympy.Basic]:
    out: list[sympy.Basic] = []
    for condition in conditions:
        if isinstance(condition, sympy.And):
            out += _flatten(condition.args)
        elif condition is not sympy.true:
            out.append(condition)
    return out


def _bounds(alpha: sympy.Expr, beta: sympy.Expr, rel: str) -> tuple[list[sympy.Expr], list[sympy.Expr]]:
    """Lower and upper bounds on x from alpha*x + beta REL 0, alpha a nonzero integer."""
    if not (isinstance(alpha, sympy.Integer) and alpha != 0):
        raise SpecError(
            f"no symbolic closed form: the coefficient {alpha} of the unknown is not a nonzero integer"
        )
    if rel in ("<=", "<"):
        alpha, beta, rel = -alpha, -beta, ">=" if rel == "<=" else ">"
    if rel == ">":
        beta -= 1
    if rel in (">=", ">"):
        return ([ceil_div(-beta, alpha)], []) if alpha > 0 else ([], [floor_div(beta, -alpha)])
    if rel == "==":
        # Both inequalities, each with whatever bounds it gives (which side depends on alpha's sign).
        lows, highs = _bounds(alpha, beta, ">=")
        lows2, highs2 = _bounds(alpha, beta, "<=")
        return lows + lows2, highs + highs2
    raise SpecError("no symbolic closed form for a != relation")


def _positive(expr: sympy.Expr, assumptions: list[sympy.Basic]) -> bool:
    if isinstance(expr, sympy.Integer):
        return bool(expr > 0)
    from .prove import proved

    return proved(ge(expr, 1), assumptions)


def solve_formula(
    conditions: Sequence[sympy.Basic], name: str, known: Mapping[str, int]
) -> dict[str, object]:
    """{"min": formula, "max": formula, "assuming": [...], "verified": status} for the unknown `name`."""
    x = symbol(name)
    values = {symbol(k): v for k, v in known.items()}
    flat = _flatten([c.xreplace(values) for c in conditions])
    assumptions = [c for c in flat if x not in c.free_symbols]
    lows: list[sympy.Expr] = []
    highs: list[sympy.Expr] = []
    for condition in flat:
        if x not in condition.free_symbols:
            continue
        if type(condition) not in RELATIONS:
            raise SpecError(f"no symbolic closed form for the condition {condition}")
        rel = RELATIONS[type(condition)]
        expr = normalise(sympy.expand(condition.lhs - condition.rhs))
        line = affine(expr, x)
        if line is not None:
            more_low, more_high = _bounds(line[0], line[1], rel)
        else:
            rest, dependent = expr.as_independent(x, as_Add=True)
            c, node = dependent.as_independent(x, as_Add=False)
            if not (isinstance(node, sympy.floor) and c in (1, -1)):
                raise SpecError(f"no symbolic closed form for the condition {condition}")
            num, den = quotient_parts(node.args[0])
            parts = affine(num, x)
            if parts is None or x in den.free_symbols or not _positive(den, assumptions):
                raise SpecError(f"no symbolic closed form for the condition {condition}")
            # c*F + rest REL 0 bounds F; D*F <= A <= D*F + D - 1 turns F's bounds into A's, then x's.
            f_low, f_high = _bounds(c, rest, rel)
            alpha, beta = parts
            more_low, more_high = [], []
            for bound in f_low:
                low, high = _bounds(alpha, beta - den * bound, ">=")
                more_low, more_high = more_low + low, more_high + high
            for bound in f_high:
                low, high = _bounds(-alpha, den * bound + den - 1 - beta, ">=")
                more_low, more_high = more_low + low, more_high + high
        lows += more_low
        highs += more_high
    # Written as a paper writes them (ceilings restored; every divisor here was shown positive above).
    lowest = _shortest(tidy(sympy.Max(*lows)), assumptions) if lows else None
    highest = _shortest(tidy(sympy.Min(*highs)), assumptions) if highs else None
    verdict = _verify(x, lowest, highest, flat, assumptions)
    return {
        "bounds": (lowest, highest, tuple(a for a in assumptions if a is not sympy.true)),
        "unknown": name,
        "min": None if lowest is None else str(lowest),
        "max": None if highest is None else str(highest),
        "assuming": [str(a) for a in assumptions if a is not sympy.true],
        "verified": verdict.status if not isinstance(verdict, Proved) else f"proved ({verdict.scope})",
        "verdict": verdict,
    }


def _shortest(bound: sympy.Expr, assumptions: list[sympy.Basic]) -> sympy.Expr:
    """A bound in one size, periodic in it, in its shortest form under the assumptions (proved equal there):
    max(0, ceil((3 - i)/2), ceil(i/2) + ceil((3 - i)/2) - 1) is 1 for every i >= 1."""
    from .ondomain import periodic

    if len(bound.free_symbols) != 1:
        return bound
    (size,) = bound.free_symbols
    shortest: sympy.Expr = periodic(bound, size, assumptions)
    return shortest


def _verify(
    x: sympy.Symbol,
    low: sympy.Expr | None,
    high: sympy.Expr | None,
    conditions: list[sympy.Basic],
    assumptions: list[sympy.Basic],
) -> Result:
    """Z3: under the assumptions, x satisfies every condition iff low <= x <= high."""
    from .prove import prove

    inside = sympy.And(
        *([ge(x, low)] if low is not None else []), *([le(x, high)] if high is not None else [])
    )
    claim = sympy.And(
        sympy.Implies(sympy.And(*conditions), inside), sympy.Implies(inside, sympy.And(*conditions))
    )
    return prove(claim, assumptions, timeout_ms=5000)
