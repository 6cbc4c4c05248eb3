"""Conditions periodic in one integer unknown, solved one residue class at a time inside a given set.

A floor-affine expression E in x (sums, integer multiples, floor, ceiling and Mod with integer divisors) has a
period L with E(x + L) = E(x) + slope for every x: on the class x = Q*t + r (Q a multiple of L) it reads
E(r) + slope*t, affine in t. A relation between such expressions, and any and/or/not of relations, is thus a
set of t in closed form on each class, computed on plain integers.

A network's valid set is the intersection of many such conditions, with periods up to 2**depth.
`congruence` reads in closed form the residue classes an equation implies (a U-Net's top concatenation gives
x == 0 mod 2**depth); `refine` then solves each condition only on the classes the others left, lifted to its
period, so the 32 concatenations of a U-Net of depth 32 cost one class each instead of 2**32, and conditions
taken by increasing period (nested halvings: 2, 4, 8, ...) two classes each.

>>> from symconv.core.arith import floor_div, eq, symbol
>>> i = symbol("i")
>>> evens = refine(IntSet.interval(1, None), eq(2 * floor_div(i, 2), i), "i", 100)
>>> refine(evens, eq(4 * floor_div(i, 4), i), "i", 100).describe()
[{'from': 4, 'to': None, 'period': 4, 'residues': [0]}]
"""

from __future__ import annotations

import math
from collections.abc import Callable

import sympy

from ..core import budget
from ..core.arith import compile_expr, quotient_parts, symbol
from ..core.intset import IntSet, Piece
from .relations import RELATIONS, Unsolvable, floor_affine_period, linear

# The most residue classes one condition is split into (each costs one evaluation of the condition's formulas).
MAX_CLASSES = 200_000

TSet = Callable[[int, int], IntSet]  # (r, Q) -> the set of t with x = Q*t + r satisfying the condition


def period(condition: sympy.Basic, x: str) -> int | None:
    """The least common period of the relations in `condition` (an and/or/not of relations between
    floor-affine expressions in x); None for any other condition."""
    if isinstance(condition, sympy.And | sympy.Or | sympy.Not):
        periods = [period(arg, x) for arg in condition.args]
        return None if None in periods else math.lcm(*periods)  # type: ignore[arg-type]
    if type(condition) not in RELATIONS:
        return None
    return floor_affine_period(condition.lhs - condition.rhs, symbol(x))


def congruence(condition: sympy.Basic, x: str) -> IntSet | None:
    """A set of residue classes that an equation E == 0 implies, found from its integer parts however long
    its period; None when there is none of the two forms below.

    With E = c*x + k + the sum of w_j*F_j (F_j floors, ceilings, Mods) and m the gcd of the w_j, E == 0 needs
    c*x + k == 0 (mod m): a U-Net's top concatenation 2**d*floor((x - 1)/2**d) + 2**d == x gives x == 0
    (mod 2**d) at once. When c is 0 and every F_j is floor(N/L_j) of one numerator N, E is an equation in
    y = floor(N/g), g the least L_j, and the same rule applies to y (a U-Net without skips at its top levels).
    """
    if not isinstance(condition, sympy.Eq):
        return None
    c = k = m = 0
    variable = symbol(x)
    floors: list[tuple[int, sympy.Basic]] = []
    for term in sympy.Add.make_args(sympy.expand(condition.lhs - condition.rhs)):
        coefficient, rest = term.as_coeff_Mul()
        if not isinstance(coefficient, sympy.Integer):
            return None
        if rest == 1:
            k += int(coefficient)
        elif rest == variable:
            c += int(coefficient)
        elif isinstance(rest, sympy.floor | sympy.ceiling | sympy.Mod):
            m = math.gcd(m, int(coefficient))
            floors.append((int(coefficient), rest))
        else:
            return None
    if m > 1:
        return _solutions(c, k, m, 1, 0)
    if c == 0:
        return _common_floor(floors, k, variable)
    return None


def _solutions(c: int, k: int, m: int, g: int, b: int) -> IntSet | None:
    """{x : c*floor((x + b)/g) + k == 0 (mod m)} as residue classes modulo g*m/gcd(c, m) (None: every x)."""
    common = math.gcd(c, m)
    if k % common:
        return IntSet.nothing()
    modulus = m // common
    if modulus == 1:
        return None
    y = (-k // common) * pow(c // common, -1, modulus) % modulus
    # floor((x + b)/g) == y (mod modulus) iff (x + b) mod g*modulus is in [g*y, g*y + g)
    return IntSet.residue_class(g * modulus, tuple((g * y + j - b) % (g * modulus) for j in range(g)))


def _common_floor(floors: list[tuple[int, sympy.Basic]], k: int, variable: sympy.Symbol) -> IntSet | None:
    """The congruence of k + sum w_j*floor((x + b)/L_j) == 0, read in y = floor((x + b)/g), g the least L_j
    (each floor((x + b)/L_j) is floor(y/(L_j/g)) when g divides L_j)."""
    parts = []
    for weight, node in floors:
        if not isinstance(node, sympy.floor):
            return None
        num, den = quotient_parts(node.args[0])
        if not isinstance(den, sympy.Integer) or den <= 0:
            return None
        parts.append((weight, sympy.expand(num - variable), int(den)))
    if not parts or len({offset for _, offset, _ in parts}) != 1 or not parts[0][1].is_Integer:
        return None
    g = min(den for _, _, den in parts)
    if g > MAX_CLASSES or any(den % g for _, _, den in parts):
        return None
    c = sum(weight for weight, _, den in parts if den == g)
    others = [weight for weight, _, den in parts if den != g]
    m = math.gcd(*others) if others else 0
    if m <= 1:
        return None
    return _solutions(c, k, m, g, int(parts[0][1]))


def _classes(condition: sympy.Basic, x: str) -> TSet:
    """The condition as a function of a residue class: (r, Q) -> {t : condition at x = Q*t + r}."""
    if isinstance(condition, sympy.And | sympy.Or):
        parts = [_classes(arg, x) for arg in condition.args]
        combine = IntSet.intersect if isinstance(condition, sympy.And) else IntSet.union

        def combined(r: int, q: int) -> IntSet:
            result = parts[0](r, q)
            for part in parts[1:]:
                result = combine(result, part(r, q))
            return result

        return combined
    if isinstance(condition, sympy.Not):
        inner = _classes(condition.args[0], x)
        return lambda r, q: inner(r, q).complement()
    run, rel = compile_expr(condition.lhs - condition.rhs), RELATIONS[type(condition)]

    def relation(r: int, q: int) -> IntSet:
        value = run({x: r})
        return linear(run({x: r + q}) - value, value, rel)

    return relation


def refine(universe: IntSet, condition: sympy.Basic, x: str, limit: int = MAX_CLASSES) -> IntSet:
    """The members of `universe` (bounded below) on which `condition` holds, split only into the classes of
    the universe's own residues modulo the lcm of its period and the condition's.

    Unsolvable when the condition is not periodic in x, or would need more than `limit` classes."""
    needed = period(condition, x)
    if needed is None:
        raise Unsolvable(f"{condition} is not periodic in {x} (floor-affine relations only)")
    pieces = [piece for piece in universe.pieces if not piece.is_empty()]
    cost = sum(len(p.residues) * (math.lcm(p.period, needed) // p.period) for p in pieces)
    if cost > limit:
        raise Unsolvable(
            f"solving {condition} on the sizes left by the other conditions needs {cost:,} residue classes "
            f"(period {needed:,}); at most {limit:,} are split"
        )
    solve = _classes(condition, x)
    out: list[Piece] = []
    for piece in pieces:
        q = math.lcm(piece.period, needed)
        whole: list[int] = []
        for count, r in enumerate(
            rho + piece.period * j for rho in piece.residues for j in range(q // piece.period)
        ):
            if count % 4096 == 4095:
                budget.check("while splitting residue classes")
            ts = solve(r, q)
            if ts.pieces == (Piece(None, None),):
                whole.append(r)
                continue
            out += [_lifted(t, q, r, piece) for t in ts.pieces]
        if whole:
            out.append(Piece(piece.lo, piece.hi, q, tuple(sorted(whole))))
    return IntSet(tuple(p for p in out if not p.is_empty())).normal()


def _lifted(t: Piece, q: int, r: int, within: Piece) -> Piece:
    """{x = q*t + r : t in the interval t, x in [within.lo, within.hi]} (t has period 1)."""
    lo = None if t.lo is None else q * t.lo + r
    hi = None if t.hi is None else q * t.hi + r
    if within.lo is not None:
        lo = within.lo if lo is None else max(lo, within.lo)
    if within.hi is not None:
        hi = within.hi if hi is None else min(hi, within.hi)
    return Piece(lo, hi, q, (r,))
