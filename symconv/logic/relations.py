"""Relations in one unknown, as both solvers read them (symconv.logic.solve in closed form, symconv.logic.symbolic
with formula ends, symconv.logic.periodic class by class): the relation kinds, normalisation to fewer node kinds,
affine parts and half-lines, and the period of a floor-affine expression.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import sympy

from ..core.arith import ceil_quotient, ge, lifted, quotient_parts
from ..core.errors import SpecError
from ..core.intset import IntSet
from ..core.limits import shown

# min, max and abs become cases (Piecewise) for the planner, each copying its arguments: past this many nodes
# the cases would take longer to plan than to state.
MAX_CASE_NODES = 500
RELATIONS = {sympy.Ge: ">=", sympy.Gt: ">", sympy.Le: "<=", sympy.Lt: "<", sympy.Eq: "==", sympy.Ne: "!="}


class Unsolvable(SpecError):
    """A relation the closed form does not cover, on a set too large to check member by member."""


def half_line(alpha: Any, beta: Any, strict: bool = False) -> IntSet:
    """{x : alpha*x + beta >= 0}, or > 0 when strict; exact for rational alpha and beta."""
    if alpha == 0:
        return IntSet.everything() if (beta > 0 if strict else beta >= 0) else IntSet.nothing()
    if type(alpha) is int and type(beta) is int:
        # Integers: alpha*x + beta > 0 is alpha*x + beta - 1 >= 0; no Fraction on the hot path.
        beta -= strict
        if alpha > 0:
            return IntSet.interval(ceil_quotient(-beta, alpha), None)
        return IntSet.interval(None, beta // -alpha)
    bound = Fraction(-beta) / Fraction(alpha)
    if alpha > 0:
        return IntSet.interval(math.floor(bound) + 1 if strict else math.ceil(bound), None)
    return IntSet.interval(None, math.ceil(bound) - 1 if strict else math.floor(bound))


def linear(alpha: Any, beta: Any, rel: str) -> IntSet:
    """{x : alpha*x + beta REL 0}."""
    if rel in (">=", ">"):
        return half_line(alpha, beta, rel == ">")
    if rel in ("<=", "<"):
        return half_line(-alpha, -beta, rel == "<")
    both = half_line(alpha, beta).intersect(half_line(-alpha, -beta))
    return both if rel == "==" else both.complement()


def floor_affine_period(expr: sympy.Basic, x: sympy.Symbol) -> int | None:
    """A period L with expr(x + L) - expr(x) constant, when expr is built from x by sums, integer multiples,
    floor, ceiling and Mod with integer divisors (None otherwise)."""
    return _period(expr, x, {})


def _period(expr: sympy.Basic, x: sympy.Symbol, memo: dict[sympy.Basic, bool]) -> int | None:
    if not _holds(expr, x, memo):
        return 1
    if expr == x:
        return 1
    if isinstance(expr, sympy.Add):
        periods = [_period(arg, x, memo) for arg in expr.args]
        return None if None in periods else math.lcm(*periods)  # type: ignore[arg-type]
    if isinstance(expr, sympy.Mul):
        if len(expr.args) == 2 and expr.args[0].is_Rational:
            # c*F with a number c: the split as_independent makes (F holds x), without its walk.
            coefficient, rest = expr.args
        else:
            coefficient, rest = expr.as_independent(x, as_Add=False)
        if not coefficient.is_Rational or rest == expr:
            return None
        inner = _period(rest, x, memo)
        return None if inner is None else inner * int(sympy.Rational(coefficient).q)
    if isinstance(expr, sympy.floor | sympy.ceiling):
        num, den = quotient_parts(expr.args[0])
        inner = _period(num, x, memo)
        if inner is None or not isinstance(den, sympy.Integer) or den == 0:
            return None
        return inner * abs(int(den))
    if isinstance(expr, sympy.Mod):
        inner = _period(expr.args[0], x, memo)
        modulus = expr.args[1]
        if inner is None or not isinstance(modulus, sympy.Integer) or modulus == 0:
            return None
        return inner * abs(int(modulus))
    return None


# Nodes whose free symbols are their arguments' (no node among them binds a symbol).
_PLAIN_NODES = (sympy.Add, sympy.Mul, sympy.Pow, sympy.floor, sympy.ceiling, sympy.Mod)


def _holds(expr: sympy.Basic, x: sympy.Symbol, memo: dict[sympy.Basic, bool]) -> bool:
    """x in expr.free_symbols, each subexpression visited once per call of floor_affine_period (free_symbols
    walks the whole subtree at every level of the recursion)."""
    found = memo.get(expr)
    if found is None:
        if isinstance(expr, sympy.Symbol):
            found = expr == x
        elif isinstance(expr, _PLAIN_NODES):
            found = any(_holds(arg, x, memo) for arg in expr.args)
        else:
            found = x in expr.free_symbols
        memo[expr] = found
    return found


def _normalised_size(expr: sympy.Basic, memo: dict[sympy.Basic, int] | None = None) -> int:
    """The number of nodes of `expr` once Min/Max/Abs are Piecewise (each copies its arguments: min(a, b) is
    (a if a <= b else b)), counted on the shared tree without building it."""
    memo = {} if memo is None else memo
    if expr in memo:
        return memo[expr]
    args = []
    for arg in expr.args:
        args.append(_normalised_size(arg, memo))
    if isinstance(expr, sympy.Min | sympy.Max):
        size = args[-1]
        for arg in reversed(args[:-1]):
            size = 2 * arg + 2 * size + 2
    elif isinstance(expr, sympy.Abs):
        size = 3 * args[0] + 4
    else:
        size = 1 + sum(args)
    memo[expr] = size
    return size


def normalise(expr: sympy.Basic) -> sympy.Basic:
    """ceiling -> -floor(-.), Min/Max/Abs -> Piecewise: fewer node kinds for the planner."""
    size = _normalised_size(expr)
    if size > MAX_CASE_NODES:
        raise Unsolvable(
            f"{shown(str(expr), 80)} would have about {size:,} nodes once min, max and abs are written as cases; "
            f"the solver takes at most {MAX_CASE_NODES:,} (prove takes such claims)"
        )
    # Only the kinds present are rewritten: each rewrite walks the whole expression.
    found = expr.atoms(*(kind for kind, _ in _CASES))
    for kind, rewrite in _CASES:
        if any(isinstance(node, kind) for node in found):
            expr = expr.replace(kind, rewrite)
    return expr


def _extremum(args: Sequence[sympy.Expr], better: type) -> sympy.Expr:
    result = args[-1]
    for arg in reversed(args[:-1]):
        # the comparison's cases lifted as written (see lifted)
        result = sympy.Piecewise(
            (arg, lifted(better(arg, result, evaluate=False))), (result, True), evaluate=False
        )
    return result


# normalise's rewrites, in order: ceiling as -floor(-x), then min, max and abs as cases.
_CASES: tuple[tuple[type, Callable[..., sympy.Basic]], ...] = (
    (sympy.ceiling, lambda a: -sympy.floor(-a)),
    (sympy.Min, lambda *a: _extremum(a, sympy.Le)),
    (sympy.Max, lambda *a: _extremum(a, sympy.Ge)),
    (sympy.Abs, lambda a: sympy.Piecewise((a, lifted(ge(a, 0))), (-a, True), evaluate=False)),
)


def affine(expr: sympy.Expr, x: sympy.Symbol) -> tuple[sympy.Expr, sympy.Expr] | None:
    """(alpha, beta) with expr = alpha*x + beta and alpha, beta free of x; None otherwise."""
    beta, dependent = expr.as_independent(x, as_Add=True)
    alpha = sympy.Integer(0)
    for term in sympy.Add.make_args(dependent):
        if term == 0:
            continue
        coefficient, rest = term.as_independent(x, as_Add=False)
        if rest != x:
            return None
        alpha += coefficient
    return alpha, beta
