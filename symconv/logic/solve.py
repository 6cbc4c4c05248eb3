"""Solve for unknown parameters: closed-form inversion of the floor equations into integer sets.

One unknown x: every condition (the output equation, the layer's domain, --where constraints, bounds) is
turned into a set of integers without enumerating x. A relation affine in x is a half-line; ``c*floor((a*x +
b)/D) + r`` (x in the numerator) becomes a half-line on a*x + b, since floor(A/D) = F iff D*F <= A <= D*F + D - 1
for D > 0; ``c*floor(N/x) + r`` (x the divisor, a stride) becomes linear constraints on each side of 0;
``Mod(a*x + b, m)`` becomes a residue class; and, or, not become union, intersection, complement. A Piecewise
(ceil-mode pooling) is split into its branches. Only a relation of none of these forms is checked member by
member, and only on a finite set that the other conditions already bound. So a query costs the same for
i = 10 and i = 10**12.

Several unknowns: all but one are enumerated over their bounds (from --max or from the conditions that bound
them alone), and the last is solved in closed form for each, from a plan compiled once.

>>> answer = solve_spec("conv(k=3, s=2, p=1)", i="?", o=112)
>>> [s["i"] for s in answer.solutions], answer.complete
([223, 224], True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sympy

from ..core import budget
from ..core.arith import compile_expr, eq, ge, le, quotient_parts, symbol
from ..core.display import repr_latex
from ..core.errors import SpecError
from ..core.intset import MAX_PERIOD, IntSet, Piece
from ..core.layers import Axes, Layer, layer
from ..core.limits import DEFAULT_LIMIT
from ..core.parse import parse_condition, parse_expression
from .relations import (
    RELATIONS,
    Unsolvable,
    affine,
    floor_affine_period,
    half_line,
    linear,
    normalise,
)

if TYPE_CHECKING:
    from .prove import Result

Env = Mapping[str, int]
MAX_FILTER = 100_000
MAX_COMBINATIONS = 1_000_000


def _preimage_affine(target: IntSet, alpha: Any, beta: Any) -> IntSet:
    """{x : alpha*x + beta in target} for a target made of plain intervals (period 1)."""
    result = IntSet.nothing()
    for piece in target.pieces:
        part = IntSet.everything()
        if piece.lo is not None:
            part = part.intersect(half_line(alpha, beta - piece.lo))
        if piece.hi is not None:
            part = part.intersect(half_line(-alpha, piece.hi - beta))
        result = result.union(part)
    return result


def _floor_values_to_numerator(values: IntSet, den: int) -> IntSet:
    """{A : floor(A/den) in values}, den != 0."""
    pieces = []
    for piece in values.pieces:
        if den > 0:
            lo = None if piece.lo is None else den * piece.lo
            hi = None if piece.hi is None else den * piece.hi + den - 1
        else:
            # A/den >= F  <=>  A <= den*F ;  A/den < F + 1  <=>  A >= den*(F + 1) + 1
            lo = None if piece.hi is None else den * (piece.hi + 1) + 1
            hi = None if piece.lo is None else den * piece.lo
        pieces.append(Piece(lo, hi))
    return IntSet(tuple(pieces)).normal()


# ---- plans: a condition compiled once, evaluated for each assignment of the other unknowns ----


class Plan:
    def solve(self, env: Env, universe: IntSet) -> IntSet:
        raise NotImplementedError

    def exact(self) -> bool:
        """True when no member-by-member check is involved."""
        return True


@dataclass(frozen=True)
class Const(Plan):
    predicate: Callable[[Env], Any]

    def solve(self, env: Env, universe: IntSet) -> IntSet:
        try:
            return universe if self.predicate(env) else IntSet.nothing()
        except ZeroDivisionError:
            return IntSet.nothing()


@dataclass(frozen=True)
class Linear(Plan):
    alpha: Callable[[Env], Any]
    beta: Callable[[Env], Any]
    rel: str

    def solve(self, env: Env, universe: IntSet) -> IntSet:
        return universe.intersect(linear(self.alpha(env), self.beta(env), self.rel))


@dataclass(frozen=True)
class FloorNumerator(Plan):
    """c*floor((alpha*x + beta)/den) + rest REL 0."""

    alpha: Callable[[Env], Any]
    beta: Callable[[Env], Any]
    den: Callable[[Env], Any]
    c: Callable[[Env], Any]
    rest: Callable[[Env], Any]
    rel: str

    def solve(self, env: Env, universe: IntSet) -> IntSet:
        den = self.den(env)
        if den == 0:
            return IntSet.nothing()
        values = linear(self.c(env), self.rest(env), self.rel)
        numerators = _floor_values_to_numerator(values, den)
        return universe.intersect(_preimage_affine(numerators, self.alpha(env), self.beta(env)))


@dataclass(frozen=True)
class FloorDivisor(Plan):
    """c*floor(num/x) + rest REL 0: x is the divisor (a stride)."""

    num: Callable[[Env], Any]
    c: Callable[[Env], Any]
    rest: Callable[[Env], Any]
    rel: str

    def solve(self, env: Env, universe: IntSet) -> IntSet:
        num = self.num(env)
        values = linear(self.c(env), self.rest(env), self.rel)
        result = IntSet.nothing()
        for piece in values.pieces:
            # x > 0: F_lo*x <= num < (F_hi + 1)*x ;  x < 0: F_lo*x >= num > (F_hi + 1)*x
            positive, negative = IntSet.interval(1, None), IntSet.interval(None, -1)
            if piece.lo is not None:
                positive = positive.intersect(half_line(-piece.lo, num))
                negative = negative.intersect(half_line(piece.lo, -num))
            if piece.hi is not None:
                positive = positive.intersect(half_line(piece.hi + 1, -num - 1))
                negative = negative.intersect(half_line(-(piece.hi + 1), num - 1))
            result = result.union(positive).union(negative)
        return universe.intersect(result)


@dataclass(frozen=True)
class Residue(Plan):
    """c*Mod(alpha*x + beta, m) + rest REL 0."""

    alpha: Callable[[Env], Any]
    beta: Callable[[Env], Any]
    m: Callable[[Env], Any]
    c: Callable[[Env], Any]
    rest: Callable[[Env], Any]
    rel: str

    def solve(self, env: Env, universe: IntSet) -> IntSet:
        m, alpha, beta = self.m(env), self.alpha(env), self.beta(env)
        if m == 0:
            return IntSet.nothing()
        if abs(m) > MAX_PERIOD or not all(isinstance(v, int) for v in (m, alpha, beta)):
            raise Unsolvable(f"modulus {m} is too large for a residue class")
        good = linear(self.c(env), self.rest(env), self.rel)
        residues = tuple(r for r in range(abs(m)) if (alpha * r + beta) % m in good)
        return universe.intersect(IntSet.residue_class(abs(m), residues))


MAX_SPLIT = 10_000


def _lift(part: IntSet, period: int, r: int) -> list[Piece]:
    """The set of t, mapped to x = period*t + r."""
    return [
        Piece(
            None if p.lo is None else period * p.lo + r,
            None if p.hi is None else period * p.hi + r,
            period * p.period,
            tuple(period * q + r for q in p.residues),
        )
        for p in part.pieces
    ]


def _affine_per_residue(relation: sympy.Basic, x: sympy.Symbol, period: int) -> IntSet | None:
    """For a floor-affine relation: on x = L*t + r it reads e_r + slope*t REL 0, with e_r and slope computed
    on integers, so each residue class is a half-line or an interval in closed form without SymPy work."""
    if type(relation) not in RELATIONS:
        return None
    expr = relation.lhs - relation.rhs
    needed = floor_affine_period(expr, x)
    if needed is None or needed > MAX_SPLIT:
        return None
    period = math.lcm(period, needed)
    if period > MAX_SPLIT:
        return None
    run = compile_expr(expr)
    name = x.name
    slope = run({name: period}) - run({name: 0})
    rel = RELATIONS[type(relation)]
    pieces: list[Piece] = []
    whole: list[int] = []
    for r in range(period):
        if r % 4096 == 0:
            budget.check("while splitting residues")
        part = linear(slope, run({name: r}), rel)
        if part.pieces == (Piece(None, None),):
            # Every t: the residue class itself; gathered into one piece below.
            whole.append(r)
            continue
        pieces += _lift(part, period, r)
    if whole:
        pieces.append(Piece(None, None, period, tuple(whole)))
    # One normalisation at the end: a union per residue would re-normalise the growing set each time.
    return IntSet(tuple(pieces)).normal()


@dataclass(frozen=True)
class Check(Plan):
    """A relation of no direct closed form.

    With every other name known, x = L*t + r for each residue r modulo the least common multiple L of the
    floor divisors makes the relation affine in t, so it is solved per residue class. Otherwise (a divisor
    that is not a number) it is checked member by member on a finite universe.
    """

    relation: sympy.Basic
    predicate: Callable[[Env], Any]
    x: str

    def solve(self, env: Env, universe: IntSet) -> IntSet:
        split = self.split(env)
        if split is not None:
            return universe.intersect(split)
        count = universe.count()
        if count is None or count > MAX_FILTER:
            tails = self.tails(env)
            if tails is not None:
                bound, outside = tails
                inner = universe.intersect(IntSet.interval(-bound, bound))
                return self.solve(env, inner).union(universe.intersect(outside))
            raise Unsolvable(
                f"no closed form for {self.relation}, and the other conditions do not bound {self.x}"
            )
        keep = []
        for n, value in enumerate(universe.iterate()):
            if n % 4096 == 0:
                budget.check("while checking values")
            try:
                if self.predicate({**env, self.x: value}):
                    keep.append(value)
            except ZeroDivisionError:
                pass
        return IntSet(tuple(Piece(v, v) for v in keep)).normal()

    def _with_values(self, env: Env) -> sympy.Basic:
        """The relation with every name but x replaced by its value."""
        known = {symbol(name): sympy.Integer(value) for name, value in env.items() if name != self.x}
        return self.relation.xreplace(known)

    def split(self, env: Env) -> IntSet | None:
        x, relation = symbol(self.x), self._with_values(env)
        divisors = []
        for node in sympy.preorder_traversal(relation):
            if isinstance(node, sympy.floor | sympy.ceiling) and x in node.free_symbols:
                _, den = quotient_parts(node.args[0])
                if not isinstance(den, sympy.Integer):
                    return None
                divisors.append(abs(int(den)))
            elif isinstance(node, sympy.Mod) and x in node.free_symbols:
                if not isinstance(node.args[1], sympy.Integer):
                    return None
                divisors.append(abs(int(node.args[1])))
        period = math.lcm(*divisors) if divisors else 1
        if period <= 1 or period > MAX_SPLIT:
            return None
        if type(relation) in RELATIONS:
            # Nested floors split one level at a time would take as many residue classes as their joint period
            # (2**n for n nested halvings): past MAX_SPLIT, none is tried.
            needed = floor_affine_period(relation.lhs - relation.rhs, x)
            if needed is not None and needed > MAX_SPLIT:
                return None
        fast = _affine_per_residue(relation, x, period)
        if fast is not None:
            return fast
        t = symbol(f"{self.x}_t")
        result = IntSet.nothing()
        for r in range(period):
            part = Planner(t).plan(relation.xreplace({x: period * t + r})).solve({}, IntSet.everything())
            result = result.union(IntSet(tuple(_lift(part, period, r))).normal())
        return result

    def tails(self, env: Env) -> tuple[int, IntSet] | None:
        """x as a divisor, floor(N/x) with N known: for |x| > |N| the floor is a constant (0 or -1), so beyond
        that bound the relation is affine in x; returns (bound, the solution set beyond it)."""
        x, relation = symbol(self.x), self._with_values(env)
        numerators = []
        for node in sympy.preorder_traversal(relation):
            if isinstance(node, sympy.floor) and x in node.free_symbols:
                num, den = quotient_parts(node.args[0])
                if den != x or not isinstance(num, sympy.Integer):
                    return None
                numerators.append((node, int(num)))
        if not numerators:
            return None
        bound = max(abs(n) for _, n in numerators) + 1
        result = IntSet.nothing()
        for side, part in ((1, IntSet.interval(bound + 1, None)), (-1, IntSet.interval(None, -bound - 1))):
            # x > |N|: floor(N/x) is 0 for N >= 0, -1 for N < 0; x < -|N|: -1 for N > 0, 0 otherwise.
            constants = {
                node: (0 if n >= 0 else -1) if side > 0 else (-1 if n > 0 else 0) for node, n in numerators
            }
            plan = Planner(x).plan(relation.xreplace(constants))
            if not plan.exact():
                return None
            result = result.union(plan.solve({}, part))
        return bound, result

    def exact(self) -> bool:
        return False


@dataclass(frozen=True)
class All(Plan):
    children: tuple[Plan, ...]

    @staticmethod
    def of(children: Sequence[Plan]) -> All:
        # Closed-form children first: they bound the universe that a member-by-member check then walks.
        return All(tuple(sorted(children, key=lambda c: not c.exact())))

    def solve(self, env: Env, universe: IntSet) -> IntSet:
        for child in self.children:
            universe = child.solve(env, universe)
            if universe.is_empty():
                break
        return universe

    def exact(self) -> bool:
        return all(child.exact() for child in self.children)


@dataclass(frozen=True)
class Any_(Plan):
    children: tuple[Plan, ...]

    def solve(self, env: Env, universe: IntSet) -> IntSet:
        result = IntSet.nothing()
        for child in self.children:
            result = result.union(child.solve(env, universe))
        return result

    def exact(self) -> bool:
        return all(child.exact() for child in self.children)


@dataclass(frozen=True)
class Negation(Plan):
    child: Plan

    def solve(self, env: Env, universe: IntSet) -> IntSet:
        # Within the universe (its bounds are what lets a member-by-member check run): U minus (U and S).
        return universe.intersect(self.child.solve(env, universe).complement())

    def exact(self) -> bool:
        return self.child.exact()


class Planner:
    """Compiles conditions in the unknown x into a Plan; other names are read from the env at solve time."""

    def __init__(self, x: sympy.Symbol) -> None:
        self.x = x

    def plan(self, condition: sympy.Basic) -> Plan:
        if condition is sympy.true or condition is True:
            return Const(lambda env: True)
        if condition is sympy.false or condition is False:
            return Const(lambda env: False)
        if self.x not in condition.free_symbols:
            return Const(compile_expr(condition))
        if isinstance(condition, sympy.And):
            return All.of([self.plan(arg) for arg in condition.args])
        if isinstance(condition, sympy.Or):
            return Any_(tuple(self.plan(arg) for arg in condition.args))
        if isinstance(condition, sympy.Not):
            return Negation(self.plan(condition.args[0]))
        if isinstance(condition, sympy.ITE):
            test, then, otherwise = condition.args
            return Any_(
                (
                    All.of([self.plan(test), self.plan(then)]),
                    All.of([Negation(self.plan(test)), self.plan(otherwise)]),
                )
            )
        if isinstance(condition, sympy.Implies):
            return Any_((Negation(self.plan(condition.args[0])), self.plan(condition.args[1])))
        if type(condition) in RELATIONS:
            return self.relation(condition)
        raise SpecError(f"cannot solve the condition {condition}")

    def relation(self, relation: sympy.Basic) -> Plan:
        rel = RELATIONS[type(relation)]
        expr = normalise(sympy.expand(relation.lhs - relation.rhs))
        piecewise = next((p for p in sympy.preorder_traversal(expr) if isinstance(p, sympy.Piecewise)), None)
        if piecewise is not None and self.x in piecewise.free_symbols:
            return self.branches(expr, piecewise, type(relation))
        x = self.x
        rest, dependent = expr.as_independent(x, as_Add=True)
        compiled = compile_expr
        line = affine(expr, x)
        if line is not None:
            return Linear(compiled(line[0]), compiled(line[1]), rel)
        terms = sympy.Add.make_args(dependent)
        if len(terms) == 1:
            c, node = terms[0].as_independent(x, as_Add=False)
            if isinstance(node, sympy.floor):
                num, den = quotient_parts(node.args[0])
                if x not in den.free_symbols:
                    parts = affine(num, x)
                    if parts is not None:
                        return FloorNumerator(
                            compiled(parts[0]),
                            compiled(parts[1]),
                            compiled(den),
                            compiled(c),
                            compiled(rest),
                            rel,
                        )
                elif den == x:
                    # floor((A + m*x)/x) = floor(A/x) + m for an integer m.
                    parts = affine(num, x)
                    if parts is not None and isinstance(parts[0], sympy.Integer):
                        shifted = rest + c * parts[0]
                        return FloorDivisor(compiled(parts[1]), compiled(c), compiled(shifted), rel)
            if isinstance(node, sympy.Mod):
                argument, modulus = node.args
                parts = affine(argument, x)
                if parts is not None and x not in modulus.free_symbols:
                    return Residue(
                        compiled(parts[0]),
                        compiled(parts[1]),
                        compiled(modulus),
                        compiled(c),
                        compiled(rest),
                        rel,
                    )
        return Check(relation, compile_expr(relation), x.name)

    def branches(self, expr: sympy.Expr, piecewise: sympy.Piecewise, relation: type) -> Plan:
        options: list[Plan] = []
        earlier: list[sympy.Basic] = []
        for value, condition in piecewise.args:
            branch = relation(expr.xreplace({piecewise: value}), 0, evaluate=False)
            guard = sympy.And(condition, *[sympy.Not(c) for c in earlier])
            options.append(All.of([self.plan(guard), self.plan(branch)]))
            earlier.append(condition)
        return Any_(tuple(options))


# ---- the solver ----


@dataclass(frozen=True, kw_only=True)
class Answer:
    unknowns: tuple[str, ...]
    solutions: tuple[dict[str, int], ...]
    complete: bool
    count: int | None
    sets: tuple[dict[str, Any], ...] = ()
    notes: tuple[str, ...] = ()
    objective: dict[str, Any] | None = None
    formula: dict[str, Any] | None = None
    # The formula's (lowest, highest, assumptions) as expressions, for LaTeX.
    bounds: tuple[Any, Any, tuple[sympy.Basic, ...]] | None = field(default=None, compare=False)
    # Why the search stopped before it was complete (the time budget), with what was found until then.
    stopped: str | None = None
    # The formula's proof (formula["verified"] states it in JSON), for exit codes and LaTeX.
    verdict: Result | None = field(default=None, compare=False)

    _repr_latex_ = repr_latex

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "unknowns": list(self.unknowns),
            "solutions": [dict(s) for s in self.solutions],
            "complete": self.complete,
            "count": self.count,
        }
        if self.sets:
            data["sets"] = list(self.sets)
        if self.objective is not None:
            data["objective"] = self.objective
        if self.formula is not None:
            data["formula"] = self.formula
        if self.notes:
            data["notes"] = list(self.notes)
        if self.stopped is not None:
            data["stopped"] = self.stopped
        return data


@dataclass
class System:
    """A conjunction of conditions over unknowns, with known values substituted at solve time."""

    conditions: list[sympy.Basic]
    unknowns: list[str]
    known: dict[str, int] = field(default_factory=dict)

    def marginal(self, name: str) -> IntSet:
        """The set allowed by the conditions that involve `name` and no other unknown."""
        others = set(self.unknowns) - {name}
        alone = [c for c in self.conditions if not {s.name for s in c.free_symbols} & others]
        plan = Planner(symbol(name)).plan(sympy.And(*alone, evaluate=False))
        return plan.solve(self.known, IntSet.everything())


def _value_text(value: int | str | sympy.Basic | None) -> sympy.Basic | str | None:
    if value is None or value == "?":
        return "?" if value == "?" else None
    if isinstance(value, int):
        return sympy.Integer(value)
    if isinstance(value, str):
        return parse_expression(value)
    return value


def build_system(
    made: Layer,
    i: int | str | sympy.Basic | None,
    o: int | str | sympy.Basic | None,
    where: Sequence[str] = (),
    maxima: Mapping[str, int] | None = None,
    minima: Mapping[str, int] | None = None,
) -> System:
    """The conditions of a solve query; `i`/`o` are a number, '?', an expression or None (unknown)."""
    unknowns = list(made.unknowns)
    i_value, o_value = _value_text(i), _value_text(o)
    i_expr = symbol("i") if i_value in (None, "?") else i_value
    o_expr = symbol("o") if o_value in (None, "?") else o_value
    if i_value in (None, "?"):
        unknowns.insert(0, "i")
    if o_value in (None, "?"):
        unknowns.append("o")
    conditions: list[sympy.Basic] = [eq(made.output_expr(i_expr), o_expr)]
    conditions += [condition for condition, _ in made.conditions(i_expr)]
    conditions += _user_conditions(made, conditions, unknowns, where, maxima, minima)
    known = {
        n: int(v) for n, v in made.parameters().items() if isinstance(v, sympy.Integer) and n not in unknowns
    }
    if not unknowns:
        raise SpecError(
            "nothing to solve: mark a parameter with ?, or leave the input or the output size unknown (?)"
        )
    return System(conditions, unknowns, known)


def _user_conditions(
    made: Layer,
    conditions: list[sympy.Basic],
    unknowns: list[str],
    where: Sequence[str],
    maxima: Mapping[str, int] | None,
    minima: Mapping[str, int] | None,
) -> list[sympy.Basic]:
    """--where conditions (on names the query has) and --max/--min bounds (on its unknowns)."""
    layers = made.layers if isinstance(made, Axes) else (made,)
    names = set(unknowns) | {s.name for c in conditions for s in c.free_symbols}
    names |= {name for each in layers for name in each.parameters()}
    added: list[sympy.Basic] = []
    for text in where:
        condition = parse_condition(text)
        strangers = {s.name for s in condition.free_symbols} - names
        if strangers:
            raise SpecError(
                f"--where {text!r} uses {', '.join(sorted(strangers))}, which the query does not have"
            )
        added.append(condition)
    for bounds, relation, flag in ((maxima or {}, le, "--max"), (minima or {}, ge, "--min")):
        for name, value in bounds.items():
            if name not in unknowns:
                raise SpecError(
                    f"{flag} {name}={value}: {name} is not an unknown (unknowns: {', '.join(unknowns)})"
                )
            added.append(relation(symbol(name), value))
    return added


def solve_system(
    system: System, *, limit: int = DEFAULT_LIMIT, minimize: str | None = None, maximize: str | None = None
) -> Answer:
    objective = minimize or maximize
    if objective is not None and objective not in system.unknowns:
        raise SpecError(
            f"cannot optimise {objective}: it is not an unknown (unknowns: {', '.join(system.unknowns)})"
        )
    free = (
        {s.name for c in system.conditions for s in c.free_symbols} - set(system.unknowns) - set(system.known)
    )
    if free:
        return _solve_symbolic(system, sorted(free))
    if len(system.unknowns) == 1:
        # One unknown: its marginal would be the whole answer, so it is not computed twice.
        marginals = {system.unknowns[0]: IntSet.everything()}
    else:
        marginals = {name: system.marginal(name) for name in system.unknowns}
    # The unknown solved in closed form is the one no condition bounds alone (or the widest).
    last = max(system.unknowns, key=lambda n: (not marginals[n].bounded(), marginals[n].count() or 0))
    outer = [n for n in system.unknowns if n != last]
    unbounded = [n for n in outer if not marginals[n].bounded()]
    if unbounded:
        names = ", ".join(unbounded)
        raise SpecError(f"unknowns {names} and {last} have no finite bound; give --max {unbounded[0]}=N")
    combinations = math.prod(marginals[n].count() or 0 for n in outer)
    if combinations > MAX_COMBINATIONS:
        raise SpecError(f"{combinations} combinations of {', '.join(outer)} to try; tighten them with --max")
    plan = Planner(symbol(last)).plan(sympy.And(*system.conditions, evaluate=False))
    solutions: list[dict[str, int]] = []
    sets: list[dict[str, Any]] = []
    total: int | None = 0
    best: tuple[int, dict[str, int]] | None = None
    stopped: str | None = None
    for tried, combo in enumerate(_combinations(outer, marginals)):
        env = {**system.known, **combo}
        try:
            budget.check()
            found = plan.solve(env, marginals[last])
        except Unsolvable as error:
            raise SpecError(f"cannot solve for {last}: {error}") from None
        except budget.OutOfTime as error:
            stopped = (
                f"{error} after {tried} of {combinations or 1} combinations of {', '.join(outer) or last}"
            )
            break
        if found.is_empty():
            continue
        sets.append({**combo, last: found.describe()})
        count = found.count()
        total = None if total is None or count is None else total + count
        if found.bounded_below():
            for value in found.iterate():
                if len(solutions) >= limit:
                    break
                solutions.append({**combo, last: value})
        if objective is not None:
            best = _better(best, objective, last, combo, found, minimize is not None)
    order = {name: n for n, name in enumerate(system.unknowns)}
    solutions = [dict(sorted(s.items(), key=lambda kv: order[kv[0]])) for s in solutions]
    optimum: dict[str, Any] | None = None
    if objective is not None:
        if best is None and sets:
            optimum = {"name": objective, "value": None, "reason": "unbounded"}
        elif best is not None:
            optimum = {"name": objective, "value": best[0], "solution": best[1]}
    complete = stopped is None and total is not None and total <= limit
    return Answer(
        unknowns=tuple(system.unknowns),
        solutions=tuple(solutions),
        complete=complete,
        count=total,
        sets=tuple(sets),
        objective=optimum,
        stopped=stopped,
    )


def _better(
    best: tuple[int, dict[str, int]] | None,
    objective: str,
    last: str,
    combo: dict[str, int],
    found: IntSet,
    minimize: bool,
) -> tuple[int, dict[str, int]] | None:
    if objective == last:
        value = found.lo if minimize else found.hi
        if value is None:
            return best
        candidate = {**combo, last: value}
    else:
        value = combo[objective]
        pick = found.lo if found.lo is not None else found.hi
        if pick is None:
            return best
        candidate = {**combo, last: pick}
    if best is None or (value < best[0] if minimize else value > best[0]):
        return value, candidate
    return best


def _combinations(names: list[str], marginals: Mapping[str, IntSet]) -> Any:
    if not names:
        yield {}
        return
    head, *tail = names
    for value in marginals[head].iterate():
        for rest in _combinations(tail, marginals):
            yield {head: value, **rest}


def _solve_symbolic(system: System, parameters: list[str]) -> Answer:
    """One unknown, the other names symbolic: the answer as formulas (an interval with expression bounds)."""
    from .symbolic import solve_formula

    if len(system.unknowns) != 1:
        raise SpecError(
            f"a symbolic answer (in {', '.join(parameters)}) needs exactly one unknown, got {', '.join(system.unknowns)}"
        )
    formula = solve_formula(system.conditions, system.unknowns[0], system.known)
    bounds, verdict = formula.pop("bounds"), formula.pop("verdict")
    return Answer(
        unknowns=tuple(system.unknowns),
        solutions=(),
        complete=False,
        count=None,
        formula=formula,
        bounds=bounds,  # type: ignore[arg-type]
        verdict=verdict,  # type: ignore[arg-type]
    )


def solve_spec(
    spec: str,
    *,
    i: int | str | Sequence[int | str] | None = None,
    o: int | str | Sequence[int | str] | None = None,
    where: Sequence[str] = (),
    maxima: Mapping[str, int] | None = None,
    minima: Mapping[str, int] | None = None,
    limit: int = DEFAULT_LIMIT,
    minimize: str | None = None,
    maximize: str | None = None,
) -> Answer:
    """Solve a layer spec's unknowns (``?``) for the given input and output sizes (``"?"`` or None: unknown).

    `i` and `o` may be sequences, one size per spatial axis (``i=(224, 224), o=(112, 112)``): the layer's
    parameters are shared by the axes, and an unknown size of axis n is named i1, o1, i2, ... from 1.
    """
    made = layer(spec)
    inputs, outputs = _per_axis(i), _per_axis(o)
    _at_least(inputs, 1, "input size must be a positive integer", "i")
    # An empty output is a size some frameworks give (JAX's clamp at 0): o = 0 is a question, o < 0 is not.
    _at_least(outputs, 0, "output size must be a non-negative integer", "o")
    axes = max(len(inputs), len(outputs))
    if 1 < len(inputs) != len(outputs) > 1:
        raise SpecError(
            f"--in gives {len(inputs)} axes and --out {len(outputs)}; give one size per axis to each"
        )
    made = _of_rank(made, axes, inputs if len(inputs) > 1 else outputs)
    if axes == 1:
        system = build_system(made, inputs[0], outputs[0], where, maxima, minima)
    else:
        system = _axes_system(
            made,
            inputs * axes if len(inputs) == 1 else inputs,
            outputs * axes if len(outputs) == 1 else outputs,
            where,
            maxima,
            minima,
        )
    return solve_system(system, limit=limit, minimize=minimize, maximize=maximize)


def _of_rank(made: Layer, axes: int, sizes: list[Any]) -> Layer:
    """The layer for `axes` sizes per axis: a per-axis spec or a class of another rank is refused (conv(k=?,
    s=(2, 2, 2)) on two sizes; nn.Conv2d on three), as `shape` refuses them; a per-axis spec with one size
    for every axis is the one layer its axes share."""
    shown = ", ".join(map(str, sizes))
    if isinstance(made, Axes):
        if axes == made.axes:
            return made
        if axes == 1 and made.uniform is not None:
            return made.uniform
        raise made.mismatch(axes, shown)
    if axes > 1 and made.rank is not None and axes != made.rank:
        raise SpecError(
            f"{made.spec} runs on {made.rank} spatial {'axis' if made.rank == 1 else 'axes'} (its class says "
            f"so), but {axes} sizes per axis are given ({shown})"
        )
    return made


def _per_axis(value: Any) -> list[Any]:
    return list(value) if isinstance(value, tuple | list) else [value]


def _at_least(sizes: list[Any], least: int, rule: str, name: str) -> None:
    """Given sizes are integers >= least, as everywhere else: below it is bad input, not an empty answer."""
    for size in sizes:
        text = size.strip() if isinstance(size, str) else None
        number = size if isinstance(size, int) and not isinstance(size, bool) else None
        if text is not None and text.lstrip("-").isdigit():
            number = int(text)
        if number is not None and number < least:
            raise SpecError(f"{rule} ({name}={number})")


def _axes_system(
    made: Layer,
    inputs: list[Any],
    outputs: list[Any],
    where: Sequence[str],
    maxima: Mapping[str, int] | None,
    minima: Mapping[str, int] | None,
) -> System:
    """One system for several axes: each axis's conditions, its unknown sizes renamed i1/o1, i2/o2, ..."""
    conditions: list[sympy.Basic] = []
    unknowns: list[str] = []
    known: dict[str, int] = {}
    for axis, (i, o) in enumerate(zip(inputs, outputs, strict=True), start=1):
        # each axis its own layer (a per-axis spec), the unknown parameters shared by name
        part = build_system(made.axis(axis - 1) if isinstance(made, Axes) else made, i, o)
        renamed = {symbol(n): symbol(f"{n}{axis}") for n in ("i", "o") if n in part.unknowns}
        conditions += [c.xreplace(renamed) for c in part.conditions]
        for name in part.unknowns:
            name = f"{name}{axis}" if name in ("i", "o") else name
            if name not in unknowns:
                unknowns.append(name)
        known.update(part.known)
    conditions += _user_conditions(made, conditions, unknowns, where, maxima, minima)
    return System(conditions, unknowns, known)
