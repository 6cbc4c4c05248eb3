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
from fractions import Fraction
from typing import Any

import sympy

from ..core import budget
from ..core.arith import compile_expr, ge, gt, le, lt, quotient_parts, symbol
from ..core.intset import IntSet, Piece
from .relations import RELATIONS, Unsolvable, floor_affine_period, linear

# The most residue classes one condition is split into (each costs one evaluation of the condition's formulas).
MAX_CLASSES = 200_000

TSet = Callable[[int, int], IntSet]  # (r, Q) -> the set of t with x = Q*t + r satisfying the condition


def period(condition: sympy.Basic, x: str) -> int | None:
    """A common period L of the relations in `condition` (an and/or/not of relations between expressions in
    x): on every class x = L*t + r each side is affine in t (see `_shape`); None for any other condition."""
    if isinstance(condition, sympy.And | sympy.Or | sympy.Not):
        periods = [period(arg, x) for arg in condition.args]
        return None if None in periods else math.lcm(*periods)  # type: ignore[arg-type]
    if type(condition) not in RELATIONS:
        return None
    found = floor_affine_period(condition.lhs - condition.rhs, symbol(x))
    if found is None:
        shape = _shape(condition.lhs - condition.rhs, symbol(x))
        found = None if shape is None else shape[0]
    return found


# (L, rate): on every class x = L*t + r the expression is affine in t; rate, when not None, is the same slope per
# unit of x on every class (E(x + L) = E(x) + rate*L), None when the slope differs between classes.
Shape = tuple[int, Fraction | None]


def _shape(expr: sympy.Basic, x: sympy.Symbol) -> Shape | None:
    """The period and rate of a floor-affine expression that may also hold Min and Max of terms of one rate
    (a slice's clamped bounds: min(max(d, 0), 1) for a start d that depends on the size), products of a
    periodic term (rate 0) with one other and powers of periodic terms; None when there is none.

    Why each is affine on a class: a term of rate 0 is constant on each class, so its product with a term
    affine on the class is affine; Min/Max of terms affine in t with one slope is the one with the smaller
    (larger) intercept on the whole class; floor(N/d) of N = a*(d*t' + j) + b on the class of period L*d is
    a*t' + floor((a*j + b)/d) (a, an integer: N takes integers); N mod d on that class is (a*j + b) mod d."""
    if x not in expr.free_symbols:
        return (1, Fraction(0)) if not expr.free_symbols else None
    if expr == x:
        return 1, Fraction(1)
    if isinstance(expr, sympy.Add):
        return _combined([_shape(arg, x) for arg in expr.args], sum_rates=True)
    if isinstance(expr, sympy.Mul):
        coefficient, rest = expr.as_coeff_Mul()
        if coefficient != 1:
            inner = _shape(rest, x)
            if inner is None or not isinstance(coefficient, sympy.Rational):
                return None
            scale = Fraction(int(coefficient.p), int(coefficient.q))
            return inner[0] * int(coefficient.q), None if inner[1] is None else inner[1] * scale
        shapes = [_shape(arg, x) for arg in expr.args]
        if None in shapes:
            return None
        moving = [s for s in shapes if s is not None and s[1] != 0]
        if len(moving) > 1:
            return None  # a product of two moving terms is not affine on a class
        periods = math.lcm(*(s[0] for s in shapes if s is not None))
        return periods, (None if moving else Fraction(0))
    if isinstance(expr, sympy.floor | sympy.ceiling | sympy.Mod):
        if isinstance(expr, sympy.Mod):
            num, den = expr.args
            if not isinstance(den, sympy.Integer) or den == 0:
                return None
        else:
            num, den = quotient_parts(expr.args[0])
        inner = _shape(num, x) if isinstance(den, sympy.Integer) and den != 0 else None
        if inner is None:
            return None
        divisor = abs(int(den))
        if isinstance(expr, sympy.Mod):
            return inner[0] * divisor, Fraction(0)
        return inner[0] * divisor, None if inner[1] is None else inner[1] / int(den)
    if isinstance(expr, sympy.Pow):
        # a power of a term that is constant on each class (SymPy writes f*f as f**2)
        base = _shape(expr.base, x)
        natural = isinstance(expr.exp, sympy.Integer) and expr.exp >= 1
        return (base[0], Fraction(0)) if base is not None and base[1] == 0 and natural else None
    if isinstance(expr, sympy.Min | sympy.Max):
        shapes = [_shape(arg, x) for arg in expr.args]
        rates = {s[1] if s is not None else None for s in shapes}
        if None in rates or len(rates) != 1:
            return None  # of two slopes, which side is smaller changes along the class
        return _combined(shapes, sum_rates=False)
    return None


def _combined(shapes: list[Shape | None], sum_rates: bool) -> Shape | None:
    """The shape of a sum (rates added) or of a Min/Max (one rate) of terms of the given shapes."""
    if None in shapes:
        return None
    known = [s for s in shapes if s is not None]
    periods = math.lcm(*(s[0] for s in known))
    rates = [s[1] for s in known]
    if any(r is None for r in rates):
        return periods, None
    return periods, sum((r for r in rates if r is not None), Fraction(0)) if sum_rates else rates[0]


# The most cases one condition is split into by its Min/Max terms.
MAX_CASES = 256


def without_extrema(condition: sympy.Basic, limit: int = MAX_CASES) -> sympy.Basic | None:
    """The same condition with no Min or Max: an or of cases, min(a, b) read as a where a <= b and as b where
    a > b (max likewise), innermost first, cases no integer reaches left out (a - b <= 0 and a - b >= 1);
    through and/or/not. None for a condition of another kind, or a relation that would need more than
    `limit` cases. Each case is a relation between expressions the class-by-class solver reads (see
    `_shape`), where a Min/Max of two different slopes is not."""
    if isinstance(condition, sympy.And | sympy.Or | sympy.Not):
        parts = [without_extrema(arg, limit) for arg in condition.args]
        return None if None in parts else type(condition)(*parts, evaluate=False)
    if type(condition) not in RELATIONS:
        return None
    if not condition.has(sympy.Min, sympy.Max):
        return condition
    # per case: the tests it holds, the integer bounds they put on size differences, the expression
    cases: list[tuple[tuple[sympy.Basic, ...], Bounds, sympy.Expr]] = [
        ((), {}, condition.lhs - condition.rhs)
    ]
    while True:
        node = next((n for *_, expr in cases for n in _innermost_extrema(expr)), None)
        if node is None:
            break
        first, *rest = node.args
        other = type(node)(*rest, evaluate=False) if len(rest) > 1 else rest[0]
        smaller = isinstance(node, sympy.Min)
        # first - other <= 0 (Min) or >= 0 (Max) keeps `first`; otherwise, by at least 1 on integers, `other`
        keep, drop = (le, gt) if smaller else (ge, lt)
        ranges = ((None, 0), (1, None)) if smaller else ((0, None), (None, -1))
        split: list[tuple[tuple[sympy.Basic, ...], Bounds, sympy.Expr]] = []
        for held, bounds, expr in cases:
            if not expr.has(node):
                split.append((held, bounds, expr))
                continue
            for test, value, (lo, hi) in (
                (keep(first, other), first, ranges[0]),
                (drop(first, other), other, ranges[1]),
            ):
                narrowed = _narrowed(bounds, first - other, lo, hi)
                if test is sympy.false or narrowed is None:
                    continue  # a case no integer size reaches
                tests = (*held, test) if test is not sympy.true else held
                split.append((tests, narrowed, expr.xreplace({node: value})))
        cases = split
        if len(cases) > limit:
            return None
    kind = type(condition)
    parts = [
        sympy.And(*held, kind(expr, 0, evaluate=False), evaluate=False)
        if held
        else kind(expr, 0, evaluate=False)
        for held, _, expr in cases
    ]
    if not parts:
        return sympy.false
    return parts[0] if len(parts) == 1 else sympy.Or(*parts, evaluate=False)


# Integer ranges (None: unbounded) known for size differences, keyed by the difference less its constant.
Bounds = dict[sympy.Basic, tuple[int | None, int | None]]


def _narrowed(bounds: Bounds, difference: sympy.Expr, lo: int | None, hi: int | None) -> Bounds | None:
    """`bounds` with lo <= difference <= hi added; None when no integer meets them all (a difference that is
    not integer-valued by its form is not recorded)."""
    constant, rest = sympy.expand(difference).as_coeff_Add()
    if not isinstance(constant, sympy.Integer) or not _integer_valued(rest):
        return bounds
    shift = int(constant)
    lo, hi = (None if lo is None else lo - shift), (None if hi is None else hi - shift)
    if rest.could_extract_minus_sign():
        rest, lo, hi = -rest, (None if hi is None else -hi), (None if lo is None else -lo)
    held_lo, held_hi = bounds.get(rest, (None, None))
    lo = held_lo if lo is None else lo if held_lo is None else max(lo, held_lo)
    hi = held_hi if hi is None else hi if held_hi is None else min(hi, held_hi)
    if lo is not None and hi is not None and lo > hi:
        return None
    return {**bounds, rest: (lo, hi)}


def _integer_valued(expr: sympy.Basic) -> bool:
    """Whether `expr` takes only integers, by its form: integer combinations of integer symbols, floors,
    ceilings and Mods."""
    for term in sympy.Add.make_args(expr):
        coefficient, rest = term.as_coeff_Mul()
        if not isinstance(coefficient, sympy.Integer):
            return False
        for factor in sympy.Mul.make_args(rest):
            integral_mod = isinstance(factor, sympy.Mod) and (
                isinstance(factor.args[1], sympy.Integer) and _integer_valued(factor.args[0])
            )
            if not (
                isinstance(factor, sympy.floor | sympy.ceiling)
                or integral_mod
                or (isinstance(factor, sympy.Symbol) and factor.is_integer)
                or factor == 1
            ):
                return False
    return True


def _innermost_extrema(expr: sympy.Basic) -> list[sympy.Basic]:
    """The Min/Max terms of `expr` whose arguments hold none."""
    return [
        node
        for node in sympy.preorder_traversal(expr)
        if isinstance(node, sympy.Min | sympy.Max) and not any(a.has(sympy.Min, sympy.Max) for a in node.args)
    ]


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
    # floor((x + b)/g) == y (mod modulus) iff (x + b) mod g*modulus is in [g*y, g*y + g): a run of g residues
    # from (g*y - b) mod g*modulus, around the period's end where it passes it (built as ranges, sorted: g is
    # up to 2**17 in a deep U-Net)
    whole = g * modulus
    start = (g * y - b) % whole
    end = start + g
    run = tuple(range(start, end)) if end <= whole else (*range(end - whole), *range(start, whole))
    return IntSet((Piece(None, None, whole, run),)).normal()


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
    expr = condition.lhs - condition.rhs
    run, rel = compile_expr(expr), RELATIONS[type(condition)]
    shape = _shape(expr, symbol(x))
    # One slope on every class (E(x + q) = E(x) + rate*q): the step over a period is taken once per q, from the
    # first class, and each other class costs one evaluation, not two.
    steps: dict[int, Any] | None = None if shape is None or shape[1] is None else {}

    def relation(r: int, q: int) -> IntSet:
        value = run({x: r})
        step = None if steps is None else steps.get(q)
        if step is None:
            step = run({x: r + q}) - value
            if steps is not None:
                steps[q] = step
        return linear(step, value, rel)

    return relation


def classes(universe: IntSet, needed: int) -> int:
    """How many residue classes `refine` splits `universe` into for a condition of period `needed`."""
    pieces = [piece for piece in universe.pieces if not piece.is_empty()]
    return sum(len(p.residues) * (math.lcm(p.period, needed) // p.period) for p in pieces)


def refine(universe: IntSet, condition: sympy.Basic, x: str, limit: int = MAX_CLASSES) -> IntSet:
    """The members of `universe` (bounded below) on which `condition` holds, split only into the classes of
    the universe's own residues modulo the lcm of its period and the condition's.

    Unsolvable when the condition is not periodic in x, or would need more than `limit` classes."""
    needed = period(condition, x)
    if needed is None:
        raise Unsolvable(f"{condition} is not periodic in {x} (floor-affine relations only)")
    pieces = [piece for piece in universe.pieces if not piece.is_empty()]
    cost = classes(universe, needed)
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
