"""Exact valid input sets: the sizes on which a network's conditions all hold, solved in closed form and proved.

The conditions of one axis (symconv.nets.network gathers them) are solved to a set of sizes stated as
`period`/`residues`/`from`/`below`; Z3 then proves the set equal to the conditions' own.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy

from ..core.arith import ceil_quotient, ge, le, symbol
from ..core.display import repr_latex
from ..core.errors import AnalysisError, UnsupportedError, analysing
from ..core.intset import IntSet
from ..logic.prove import Proved, Refuted, Result, Unknown


@dataclass(frozen=True)
class ValidSet:
    """Exactly the sizes i on which the network is defined: i >= from is valid iff i mod period in residues;
    below lists the valid sizes under from."""

    period: int
    residues: tuple[int, ...]
    start: int
    below: tuple[int, ...]
    # How the set was proved: Proved, or Refuted/Unknown with the reason (valid_set proves every set it derives).
    proof: Result = Unknown(reason="not proved")

    def __contains__(self, i: int) -> bool:
        return i in self.below if i < self.start else i % self.period in self.residues

    def describe(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "residues": list(self.residues),
            "from": self.start,
            "below": list(self.below),
        }

    _repr_latex_ = repr_latex


def valid_set(conditions: Sequence[tuple[sympy.Basic, str]], dim: str, timeout_ms: int = 20_000) -> ValidSet:
    """The exact valid set of one axis, derived in closed form and proved with Z3.

    The set is solved from a reduced copy of the conditions (see `_reduced`); the proof checks it against the
    network's own conditions, so the reduction is proved along with the solver. A failure on the way (a limit
    of the engine, or of a library inside it) is an AnalysisError naming the axis.
    """
    distinct = list(dict.fromkeys(condition for condition, _ in conditions if condition is not sympy.true))
    rules = {condition: rule for condition, rule in conditions}
    with analysing(f"the valid set along {dim} could not be derived"):
        valid = _eventually_periodic(_solved_or_proved(_reduced(distinct), dim, rules))
        return dataclasses.replace(valid, proof=_prove(distinct, dim, valid, timeout_ms))


def _solved_or_proved(conditions: list[sympy.Basic], dim: str, rules: Mapping[sympy.Basic, str]) -> IntSet:
    """solved; where a condition has no closed form, solved again without the conditions Z3 proves hold at
    every size >= 1 (a deep stack of stages padded where either axis is odd: every conv's window fits the padded
    size, but the padded size nests a remainder per stage, periods the closed form cannot split)."""
    from ..logic.relations import Unsolvable

    try:
        return solved(conditions, dim, rules)
    except Unsolvable:
        kept = [c for c in conditions if not _everywhere(c, dim)]
        if len(kept) == len(conditions):
            raise
        return solved(kept, dim, rules)


def solved(conditions: Sequence[sympy.Basic], dim: str, rules: Mapping[sympy.Basic, str]) -> IntSet:
    """The sizes >= 1 where every condition holds.

    Conditions with a closed form (a bound on one floor, a residue class) are solved first, together with the
    residue classes that equations imply in closed form (`periodic.congruence`); the conditions that are
    periodic in the size (equal sizes at a concatenation: nested floors of period up to 2**depth) are then
    solved class by class on the sizes left, by increasing period (`periodic.refine`); any other condition is
    checked last on what remains. A condition holding Min or Max (a clamped slice bound) is split into cases
    without them (`periodic.without_extrema`) for the periodic solver. `rules` names the node of a condition in a refusal."""
    from ..logic.periodic import classes, congruence, period, refine, without_extrema
    from ..logic.relations import Unsolvable
    from ..logic.solve import All, Planner

    planner = Planner(symbol(dim))
    named = dict(rules)
    closed, periodic, others = [], [], []
    found = IntSet.interval(1, None)
    for condition in conditions:
        implied = congruence(condition, dim)
        if implied is not None:
            found = found.intersect(implied)
        if condition.has(sympy.Min, sympy.Max):
            # A clamped slice bound: split into cases without Min/Max and solved class by class where they
            # are periodic, not by the planner (SymPy takes seconds to minutes to build a Piecewise of nested
            # Min/Max: 35 s for a U-Net with three centre crops).
            split = without_extrema(condition)
            needed = None if split is None else period(split, dim)
            if split is not None and needed is not None:
                periodic.append((needed, split))
                named[split] = rules.get(condition, "")
                continue
        try:
            plan = planner.plan(condition)
        except Unsolvable:
            plan = None
        if plan is not None and plan.exact():
            closed.append(plan)
            continue
        needed = period(condition, dim)
        if needed is not None:
            periodic.append((needed, condition))
        elif plan is not None:
            others.append(plan)
        else:
            try:
                planner.plan(condition)  # raises the planner's own reason
            except Unsolvable as error:
                rule = rules.get(condition, "")
                raise Unsolvable(f"{rule}: {error}" if rule else str(error)) from None
    # One plan per condition, intersected (what Planner.plan does for an And, without building the And).
    found = All.of(closed).solve({}, found)
    for needed, condition in sorted(periodic, key=lambda pair: pair[0]):
        if found.is_empty():
            return found
        if classes(found, needed) > PROVE_FIRST and _everywhere(condition, dim):
            continue
        try:
            found = refine(found, condition, dim)
        except Unsolvable as error:
            where = named.get(condition)
            raise Unsolvable(f"{where}: {error}" if where else str(error)) from None
    return All.of(others).solve({}, found)


# A periodic condition that would be split into more residue classes than this is first asked of Z3 at every
# size >= 1: six stages padded where odd nest a remainder per stage (32,768 classes, 11 s), which Z3 shows hold
# everywhere in 0.07 s.
PROVE_FIRST = 1024


def _everywhere(condition: sympy.Basic, dim: str) -> bool:
    """Whether Z3 proves `condition` at every size >= 1 of `dim`, unbounded: a proof over a bounded box only
    (where the unbounded query timed out), a counterexample or an unknown is no."""
    from ..logic.prove import proved

    return proved(condition, [ge(symbol(dim), 1)])


def _reduced(conditions: Sequence[sympy.Basic]) -> list[sympy.Basic]:
    """The same set of sizes with fewer conditions to solve: a network states many bounds twice or more (a
    layer's "input size >= 1" is the previous layer's "empty output"; the padded input "o + 2 >= 3" is
    "o >= 1"; "2*o >= -1" is "o >= 0"), and of several lower (upper) bounds on one expression only the
    strongest counts. Every step holds for integer-valued expressions, which is checked structurally."""
    out: list[sympy.Basic] = []
    bounds: dict[tuple[sympy.Basic, bool], tuple[int, int]] = {}  # (X, lower?) -> (index in out, bound)
    for condition in conditions:
        condition = _moved_constant(condition)
        bound = _integer_bound(condition)
        if bound is None:
            out.append(condition)
            continue
        expr, lower, value = bound
        held = bounds.get((expr, lower))
        if held is None or ((value > held[1]) if lower else (value < held[1])):
            index = len(out) if held is None else held[0]
            bounds[expr, lower] = (index, value)
            made = (ge if lower else le)(expr, value)
            if held is None:
                out.append(made)
            else:
                out[index] = made
    return list(dict.fromkeys(out))


def _integer_bound(condition: sympy.Basic) -> tuple[sympy.Expr, bool, int] | None:
    """(X, lower, n) for a condition that reads X >= n (lower) or X <= n, X integer-valued and n an integer:
    c*X >= m is X >= ceil(m/c) for c > 0, and X > m is X >= m + 1."""
    kind = type(condition)
    if kind not in (sympy.Ge, sympy.Gt, sympy.Le, sympy.Lt):
        return None
    lhs, rhs = condition.args
    if not isinstance(rhs, sympy.Integer) or not _integral(lhs):
        return None
    lower = kind in (sympy.Ge, sympy.Gt)
    value = int(rhs) + (1 if kind is sympy.Gt else -1 if kind is sympy.Lt else 0)
    c, expr = lhs.as_coeff_Mul()
    if not isinstance(c, sympy.Integer) or c == 0:
        return None
    factor = int(c)
    if factor < 0:
        factor, expr = -factor, -expr  # c*X is (-c)*(-X)
    # c*X >= m iff X >= ceil(m/c); c*X <= m iff X <= floor(m/c) (c > 0, X an integer)
    return expr, lower, ceil_quotient(value, factor) if lower else value // factor


def _integral(expr: sympy.Basic) -> bool:
    """True when `expr` is integer-valued by its structure (integer symbols and constants, floor, ceiling,
    and sums, products, Mod, Max and Min of such): no SymPy assumption query, which costs more than solving."""
    if isinstance(expr, sympy.Integer | sympy.floor | sympy.ceiling):
        return True
    if isinstance(expr, sympy.Symbol):
        return bool(expr.is_integer)
    if isinstance(expr, sympy.Add | sympy.Mul | sympy.Mod | sympy.Max | sympy.Min):
        return all(_integral(arg) for arg in expr.args)
    return False


_COMPARISONS = (sympy.Ge, sympy.Gt, sympy.Le, sympy.Lt, sympy.Eq)


def _moved_constant(condition: sympy.Basic) -> sympy.Basic:
    """`A + c REL n` as `A REL n - c` for integers c and n (the same set: both sides move by c)."""
    kind = type(condition)
    if kind not in _COMPARISONS:
        return condition
    lhs, rhs = condition.args
    if not (isinstance(lhs, sympy.Add) and isinstance(rhs, sympy.Integer)):
        return condition
    constant, *rest = lhs.args  # SymPy keeps an Add's number first
    if not isinstance(constant, sympy.Integer):
        return condition
    return kind(sympy.Add(*rest), rhs - constant, evaluate=False)


def _prove(conditions: Sequence[sympy.Basic], dim: str, valid: ValidSet, timeout_ms: int) -> Result:
    """Z3: for every integer i >= from, every condition holds at i iff i mod period is in residues.

    The query is built here rather than by prove(): prove() takes one SymPy claim, and a SymPy And over a
    network's conditions (which SymPy sorts and canonicalizes, even unevaluated) costs more than the proof.
    Each distinct condition is translated once, and the equivalence is proved one direction at a time (members
    are defined, defined sizes are members; then the translation's own obligations): Z3 decides each much
    faster than the equivalence at once (0.07 s against 2.3 s for a U-Net of depth 32). The premises are
    i >= from and the quotient axioms, which always have a model, so the proof is never vacuous.
    """
    import z3

    from ..logic.prove import holds
    from ..logic.solver import check
    from ..logic.z3bridge import Translation

    translation = Translation()
    try:
        parts = translation.conditions(conditions)
    except UnsupportedError as error:
        return Unknown(reason=f"not translatable to Z3: {error}")
    i = translation.variable(dim)
    defined = z3.And(*parts) if parts else z3.BoolVal(True)
    member = _membership(translation, dim, valid)
    premises = [*translation.axioms, i >= valid.start]
    obligations = [[z3.Not(z3.And(*translation.obligations))]] if translation.obligations else []
    # Members are defined: condition by condition (members imply each condition), which Z3 decides far faster
    # than their conjunction for a deep U-Net (129 checks in 0.16 s, where the conjunction is not decided in
    # 0.5 s at depth 32, nor in 20 s at depth 24 with skips from a lower level); the conjunction is asked only
    # where a condition alone is not decided.
    verdict, reason = "unsat", ""
    model: Any = None
    for part in parts:
        verdict, model, reason = check([*premises, member, z3.Not(part)], timeout_ms)
        if verdict != "unsat":
            break
    if verdict == "unknown" and len(parts) > 1:
        verdict, model, reason = check([*premises, member, z3.Not(defined)], timeout_ms)
    if verdict == "unsat":
        for refutation in [[defined, z3.Not(member)], *obligations]:
            verdict, model, reason = check([*premises, *refutation], timeout_ms)
            if verdict != "unsat":
                break
    if verdict == "unknown":
        return Unknown(reason=reason)
    if verdict == "unsat":
        return Proved(scope="unbounded")
    # A counterexample is reported only once it re-checks on plain integers.
    value = model.evaluate(i, model_completion=True).as_long()
    defined_there = all(holds(condition, {dim: value}) for condition in conditions)
    if defined_there != (value in valid):
        said = "defined" if defined_there else "undefined"
        reason = f"at {dim} = {value} the network is {said}, the derived set says the opposite"
        return Refuted(counterexample={dim: value}, reason=reason)
    return Unknown(reason=f"the solver's counterexample {dim} = {value} did not re-check on integers")


def _membership(translation: Any, dim: str, valid: ValidSet) -> Any:
    """`dim mod period` in the residues, as a Z3 formula: per run of consecutive residues (taken around the
    period: {P - 63, ..., P - 1, 0} is one run), a range of the remainder; a run of g residues where g divides
    the period P is floor((dim - b)/g) == y (mod P/g) instead, the term a network's own floors use (its sizes
    after the levels without a skip), which Z3 relates to them at once. For the run s, ..., s + g - 1 (mod P),
    b = s mod g and y = (s - b)/g: floor((x - b)/g) == y (mod P/g) iff x - b is in [g*y, g*y + g) (mod P)
    iff x is in [s, s + g) (mod P)."""
    import z3

    i = translation.variable(dim)
    period = valid.period
    remainder = i % period
    runs = _runs(valid.residues)
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][1] == period - 1:
        runs = [(runs[-1][0], period + runs[0][1]), *runs[1:-1]]  # the run across the period's end
    out = []
    for lo, hi in runs:
        g = hi - lo + 1
        if 1 < g < period and period % g == 0:
            b = lo % g
            quotient = translation.term(sympy.floor((symbol(dim) - b) / g))
            out.append((quotient - (lo - b) // g) % (period // g) == 0)
        elif lo == hi:
            out.append(remainder == lo)
        elif hi >= period:  # across the end: two ranges
            out += [remainder >= lo, remainder <= hi - period]
        else:
            out.append(z3.And(remainder >= lo, remainder <= hi))
    return z3.Or(*out) if out else z3.BoolVal(False)


def _runs(values: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted integers as (first, last) of each run of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for value in values:
        if runs and runs[-1][1] == value - 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


# The most residues a valid set lists (its JSON form names each one).
MAX_RESIDUES = 100_000


def _eventually_periodic(found: IntSet) -> ValidSet:
    """period/residues/from/below of a set of positive integers given as periodic pieces.

    The residues come from the pieces' own residues, lifted to the common period, never from a walk over the
    period (2**32 for a U-Net of depth 32)."""
    period = 1
    for piece in found.pieces:
        period = math.lcm(period, piece.period)
    finite_ends = [p.hi for p in found.pieces if p.hi is not None]
    infinite_starts = [p.lo for p in found.pieces if p.hi is None and p.lo is not None]
    start = max([1, *(end + 1 for end in finite_ends), *infinite_starts])
    # From `start` on, exactly the infinite pieces hold members.
    tails = [p for p in found.pieces if p.hi is None]
    count = sum(len(p.residues) * (period // p.period) for p in tails)
    if count > MAX_RESIDUES:
        raise AnalysisError(
            f"the valid set has up to {count:,} residues modulo {period:,}, more than the {MAX_RESIDUES:,} "
            "it lists"
        )
    residues = tuple(
        sorted({r + p.period * j for p in tails for r in p.residues for j in range(period // p.period)})
    )
    period, residues = _least_period(period, residues)
    earlier = list(itertools.takewhile(lambda x: x < start, found.iterate())) if found.bounded_below() else []
    # Move `from` down while the periodic rule still describes the set exactly: only where the set or the rule
    # has a member can they disagree, so those points are visited from the top, not every size.
    held, lowest = set(earlier), 1
    for size in heapq.merge(reversed(earlier), _rule_below(start, period, residues), reverse=True):
        if (size in held) != (size % period in residues):
            lowest = size + 1
            break
    start = lowest
    return ValidSet(period, residues, start, tuple(x for x in earlier if x < start))


def _rule_below(start: int, period: int, residues: tuple[int, ...]) -> Iterator[int]:
    """The sizes 1 <= x < start with x mod period in residues, from the largest down."""
    base = (start - 1) - (start - 1) % period
    while base >= 0 and residues:
        for r in reversed(residues):
            if 1 <= base + r < start:
                yield base + r
        base -= period


def _least_period(period: int, residues: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    """The least period d (a divisor of `period`) whose residues describe the same set, and those residues."""
    held = set(residues)
    for divisor in sympy.divisors(period):
        if len(residues) % (period // divisor):
            continue  # a set of period d has period/d lifts of each of its residues
        if all((r + divisor) % period in held for r in residues):
            return divisor, tuple(r for r in residues if r < divisor)
    return period, residues
