"""prove(claim, given) -> Proved | Refuted | Unknown: three outcomes, never collapsed.

The claim is proved for every integer assignment satisfying the givens (scope "unbounded") or, on request or as
a stated fallback when the unbounded query is undecided, for every assignment in a box |x| <= N. A counterexample
is re-checked on plain Python integers before it is reported; one that does not re-check is Unknown. A proof
from unsatisfiable givens is Unknown too (it would hold vacuously).

>>> from symconv.core.parse import parse_condition as c
>>> prove(c("floor((i + 2*p - k)/s)*s + mod(i + 2*p - k, s) == i + 2*p - k"), [c("s >= 1")])
Proved(scope='unbounded', seconds=...)
>>> prove(c("ceil(i/s) == floor(i/s)"), [c("s >= 1"), c("i >= 0")]).counterexample
{'i': 1, 's': 2}
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sympy

from ..core import budget
from ..core.arith import Compiled, compile_expr, evaluate
from ..core.budget import TIME_BUDGET
from ..core.display import repr_latex
from ..core.errors import InternalError, SpecError, UnsupportedError
from ..core.meaning import Undefined
from .solver import check

DEFAULT_TIMEOUT_MS = 10_000
FALLBACK_BOUND = 64
# Counterexamples are searched in small boxes first: a small one reads better in a paper or a bug report.
_SHRINK = (2, 8, 32)
# Before the solver is asked for a smaller model, this many points next to the givens' bounds are evaluated.
_SHRINK_DRAWS = 32
# A model that does not re-check on integers is excluded and the search goes on, this many times in all.
_ATTEMPTS = 8
# A proved claim is evaluated as written on this many points of its domain, of at most _SAMPLE_DRAWS draws:
# a translation that disagrees with the text fails on many points, and a cost of the order of the solver's own
# keeps the check on for every proof. A query Z3 decided within _SMALL_QUERY_S gets the first
# _SMALL_SAMPLE_POINTS (the corner next to the givens' bounds, then a random point, alternately): twelve points
# cost such a query more than Z3's check did.
_SAMPLE_POINTS = 12
_SMALL_SAMPLE_POINTS = 4
_SMALL_QUERY_S = 0.002
_SAMPLE_DRAWS = 4 * _SAMPLE_POINTS
# Where Z3 is undecided, a counterexample is searched on this many points.
_SEARCH_DRAWS = 600
_SAMPLE_SPANS = (2, 4, 8, 16, 64, 1024)
_PRECOMPUTED_DRAWS = 1024
# The first draws of random.Random(0), made once: seeding a generator costs more than drawing every point of a
# small sample. Later draws come from a generator set to the state after them.
_FIRST_DRAWS: tuple[float, ...] = ()
_STATE_AFTER: Any = None


class _Seconds(float):
    """A duration whose repr is stable (doctests show '...')."""

    def __repr__(self) -> str:
        return "..."


@dataclass(frozen=True, kw_only=True)
class Proved:
    scope: str
    seconds: float = field(default=0.0, compare=False)
    # A second solver's verdict on the same query, when one was asked for ("cvc5: unsat").
    confirmed: str = field(default="", compare=False)

    status = "proved"

    def _repr_latex_(self) -> str:
        scope = "all integers satisfying the conditions" if self.scope == "unbounded" else self.scope
        return rf"$\text{{proved for {scope}}}$"


@dataclass(frozen=True, kw_only=True)
class Refuted:
    counterexample: dict[str, int]
    reason: str = ""
    seconds: float = field(default=0.0, compare=False)

    status = "refuted"

    _repr_latex_ = repr_latex


@dataclass(frozen=True, kw_only=True)
class Unknown:
    reason: str
    seconds: float = field(default=0.0, compare=False)

    status = "unknown"

    _repr_latex_ = repr_latex


Result = Proved | Refuted | Unknown


def in_words(result: Result) -> str:
    """An outcome as a valid set's proof reads in JSON and on the command line: "proved (unbounded)",
    "refuted (why)", "unknown (why)"."""
    detail = result.scope if isinstance(result, Proved) else result.reason
    return f"{result.status} ({detail})"


Env = dict[str, int]
# Compiled tests of a claim's layer domains, with the rule each states.
Checks = list[tuple[Callable[[Env], bool], str]]


def bounded_scope(bound: int) -> str:
    return f"bounded: every variable in [-{bound}, {bound}]"


def holds(expr: sympy.Basic, env: dict[str, int]) -> bool:
    """`expr` on plain integers; a division by zero makes it false."""
    try:
        return bool(evaluate(expr, env))
    except ZeroDivisionError:
        return False


def condition(expr: sympy.Basic) -> Callable[[dict[str, int]], bool]:
    """`expr` compiled once to a test on plain integers; a division by zero makes it false."""
    compiled = compile_expr(expr)

    def test(env: dict[str, int]) -> bool:
        try:
            return bool(compiled(env))
        except ZeroDivisionError:
            return False

    return test


@dataclass(frozen=True)
class Record:
    """What to do with the query of each proved claim: write it as a standalone SMT-LIB 2 file in `smt2`
    (named `name`.smt2, the claim and the givens in `comments`), and have a second solver re-check it
    (`confirm`: "cvc5"). A second solver that finds a counterexample where Z3 proved the claim is an
    InternalError, never a verdict."""

    name: str = "claim"
    comments: tuple[str, ...] = ()
    smt2: Path | None = None
    confirm: str | None = None

    def proved(self, query: Sequence[Any], scope: str, timeout_ms: int) -> str:
        """Write and re-check one proved query; the second solver's verdict as text ("" when none asked)."""
        from .solver import confirm_cvc5, to_smt2

        text = to_smt2(query, [*self.comments, f"proved by Z3 ({scope}): this query is unsat"])
        if self.smt2 is not None:
            try:
                self.smt2.mkdir(parents=True, exist_ok=True)
                (self.smt2 / f"{self.name}.smt2").write_text(text, encoding="utf-8")
            except OSError as error:
                raise SpecError(f"cannot write {self.smt2 / (self.name + '.smt2')}: {error}") from None
        if self.confirm is None:
            return ""
        try:
            verdict = confirm_cvc5(text, timeout_ms)
        except ImportError:
            raise SpecError("--confirm cvc5 needs the cvc5 package: pip install 'symconv[cvc5]'") from None
        if verdict == "sat":
            raise InternalError(
                f"Z3 proved {self.name} ({scope}) but cvc5 finds a counterexample to the same query; "
                "this is a bug in symconv or in a solver: please report it with the --smt2 file"
            )
        return f"cvc5: {verdict}"


@dataclass(frozen=True)
class Semantics:
    """The user's text, for a prover that must not trust SymPy's rewriting of it (symconv.core.meaning).

    `premises`: where the givens and the definitions are defined (a point where one is not lies outside the
    domain); `defined`: where the claim is. `domain(env)` evaluates the definitions and givens as written and
    returns env with the defined names, or None outside the domain; `claim(env)` evaluates the claim as
    written and raises symconv.core.meaning.Undefined where it is undefined.
    """

    premises: tuple[sympy.Basic, ...]
    defined: sympy.Basic
    names: frozenset[str]
    domain: Callable[[dict[str, int]], dict[str, int] | None]
    claim: Callable[[dict[str, int]], bool]


def proved(claim: sympy.Basic, given: Sequence[sympy.Basic] = (), timeout_ms: int = 2_000) -> bool:
    """Whether Z3 proves `claim` from `given` within `timeout_ms`, for every integer (a counterexample, a
    solver's unknown, or a proof over the bounded box that `prove` falls back to when the unbounded query times
    out, is no): the yes/no the analyses ask where a formula holds at every size."""
    found = prove(claim, given, timeout_ms=timeout_ms)
    return isinstance(found, Proved) and found.scope == "unbounded"


def prove(
    claim: sympy.Basic,
    given: Sequence[sympy.Basic] = (),
    *,
    obligations: Sequence[tuple[sympy.Basic, str]] = (),
    definitions: Sequence[tuple[str, sympy.Basic]] = (),
    bound: int | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    semantics: Semantics | None = None,
    record: Record | None = None,
) -> Result:
    """Prove that `given` implies `claim` and every obligation (the domains of the layers the claim uses).

    `definitions` name expressions, in order (each may use the ones before); the claim, givens and
    obligations may use the names. With `semantics` (a theorem read from text), definedness follows the text
    as written, and every verdict is checked against it on plain integers; without, every non-constant
    divisor anywhere must be nonzero for the claim to hold.
    """
    import z3

    from .z3bridge import Translation

    start = time.perf_counter()

    def elapsed() -> float:
        return _Seconds(time.perf_counter() - start)

    def asserted(exprs: Iterable[sympy.Basic]) -> list[sympy.Basic]:
        # A condition that is literally true adds nothing to a conjunction; about a third of a theorem's
        # conditions are (the domains of the parameters a layer fixes, the definedness of division-free text).
        return [expr for expr in exprs if expr is not sympy.true]

    try:
        translation = Translation()
        # Every part stays an address until the premises and the negated goal are each one term: the query is
        # two assertions (Z3 splits a conjunction into its parts as it reads it).
        z_definitions = [translation.definition_part(name, value) for name, value in definitions]
        z_given = translation.parts(asserted(given))
        z_domains = translation.parts(asserted(condition for condition, _ in obligations))
        z_claim = translation.parts([claim])
        if semantics is None:
            z_defined = list(translation.obligation_parts)
            z_given_defined: list[Any] = []
        else:
            z_defined = translation.parts(asserted([semantics.defined]))
            z_given_defined = translation.parts(asserted(semantics.premises))
            for name in sorted(semantics.names):
                translation.variable(name)
        z_refuted = translation.refutation([*z_domains, *z_defined, *z_claim])
        z_premises = translation.all_of(
            [*translation.axiom_parts, *z_definitions, *z_given_defined, *z_given]
        )
    except UnsupportedError as error:
        untranslated = Unknown(reason=f"not translatable to Z3: {error}", seconds=elapsed())
        if semantics is None:
            return untranslated
        # Z3 cannot read it; the text can still be evaluated: a point where it fails refutes it.
        names = sorted(semantics.names - {name for name, _ in definitions})
        found = _search(
            _points(names, _guide(given, names), bound, _SEARCH_DRAWS),
            semantics.domain,
            lambda env: _text_failure(semantics, [(condition(c), rule) for c, rule in obligations], env),
        )
        if found is None:
            return untranslated
        return Refuted(counterexample=found[0], reason=found[1], seconds=elapsed())
    defined = {name for name, _ in definitions}
    variables = {name: var for name, var in sorted(translation.variables.items()) if name not in defined}
    premises = [z_premises]

    # Compiled for evaluation once, when first needed (most proofs evaluate nothing but the text).
    @functools.cache
    def premises_compiled() -> tuple[list[tuple[str, Compiled]], list[Callable[[Env], bool]]]:
        return [(name, compile_expr(value)) for name, value in definitions], [condition(g) for g in given]

    @functools.cache
    def checks() -> Checks:
        # A layer domain that is literally true, or is one of the givens, holds at every point of the domain.
        assumed = set(given)
        return [(condition(c), rule) for c, rule in obligations if c is not sympy.true and c not in assumed]

    def domain(env: dict[str, int]) -> dict[str, int] | None:
        """`env` extended by the defined names, or None where it lies outside the theorem's domain."""
        if semantics is not None:
            return semantics.domain(env)
        values, tests = premises_compiled()
        env = dict(env)
        try:
            for name, value in values:
                env[name] = value(env)  # type: ignore[assignment]
        except ZeroDivisionError:
            return None
        return env if all(test(env) for test in tests) else None

    def failure(env: dict[str, int]) -> str | None:
        """Why the claim fails at a point of the domain, or None where it holds."""
        if semantics is not None:
            return _text_failure(semantics, checks(), env)
        failed = next((rule for test, rule in checks() if not test(env)), None)
        if failed:
            return f"undefined there: {failed}"
        return None if holds(claim, env) else "the claim is false there"

    guides: list[_Guide] = []  # read from the givens when points are first needed

    def points(limit: int | None, draws: int, *, scatter: bool = True) -> Iterator[dict[str, int]]:
        if not guides:
            guides.append(_guide(given, list(variables)))
        return _points(list(variables), guides[0], limit, draws, scatter=scatter)

    def box(n: int) -> list[Any]:
        return translation.box(variables, n)

    def assignment(model: Any) -> dict[str, int]:
        return {name: model.evaluate(var, model_completion=True).as_long() for name, var in variables.items()}

    def counterexample(point: dict[str, int], reason: str) -> Refuted:
        """Refuted at `point` (of the domain, where the claim fails for `reason`), with the defined values."""
        env = domain(point) or point
        shown = ", ".join(f"{name} = {env[name]}" for name, _ in definitions)
        return Refuted(
            counterexample=point, reason=reason + (f" ({shown})" if shown else ""), seconds=elapsed()
        )

    def refutation(model: Any, limit: int | None) -> Result:
        """The first counterexample that re-checks on integers; a point that does not is excluded and the
        search goes on, a few times, before the answer is Unknown."""
        # The small box next to the givens' bounds, evaluated, usually holds a counterexample: smaller than
        # the solver's, re-checked by construction, and cheaper than asking the solver for a smaller model.
        try:
            near = _search(points(limit, _SHRINK_DRAWS, scatter=False), domain, failure)
        except UnsupportedError:
            near = None
        if near is not None:
            return counterexample(*near)
        found = assignment(model)
        excluded: list[Any] = []
        rejected: list[dict[str, int]] = []
        search = [*premises, z_refuted, *(box(limit) if limit is not None else [])]
        while True:
            for n in _SHRINK:
                if limit is not None and n >= limit:
                    break
                verdict, small, _ = check([*search, *excluded, *box(n)], timeout_ms)
                if verdict == "sat":
                    found = assignment(small)
                    break
            env = domain(found)
            reason = failure(env) if env is not None else None
            if env is not None and reason is not None:
                return counterexample(found, reason)
            rejected.append(found)
            if len(rejected) == _ATTEMPTS:
                break
            excluded.append(z3.Or(*[var != found[name] for name, var in variables.items()]))
            verdict, model, _ = check([*search, *excluded], timeout_ms)
            if verdict != "sat":
                break
            found = assignment(model)
        return Unknown(
            reason=f"the solver's counterexample(s) {', '.join(map(str, rejected))} did not re-check on "
            "integers, and no other was found",
            seconds=elapsed(),
        )

    def satisfiable(limit: int | None, evaluated: bool) -> bool:
        """Whether some point (within the box, if any) satisfies the conditions. A point of the domain found
        by evaluation is a witness; only where none is found (or the points were `evaluated` already) does
        Z3 decide."""
        if not evaluated:
            try:
                if any(domain(point) is not None for point in points(limit, _SAMPLE_DRAWS)):
                    return True
            except UnsupportedError:
                pass
        extra = box(limit) if limit is not None else []
        return check([*premises, *extra], timeout_ms)[0] != "unsat"

    def searched(limit: int | None) -> Refuted | None:
        """Where Z3 is undecided, a counterexample found by evaluating the text as written on points."""
        if semantics is None:
            return None
        found = _search(points(limit, _SEARCH_DRAWS), domain, failure)
        return None if found is None else counterexample(*found)

    def proved(scope: str, limit: int | None, solver_seconds: float) -> Result:
        """Proved, after the claim is evaluated as written on points of its domain (with `semantics`), or
        Unknown when no point satisfies the conditions (the claim would hold vacuously)."""
        sampled = semantics is not None
        wanted = _SMALL_SAMPLE_POINTS if solver_seconds < _SMALL_QUERY_S else _SAMPLE_POINTS
        witnessed = sampled and _sample(points(limit, _SAMPLE_DRAWS), domain, failure, scope, wanted)
        if not witnessed and not satisfiable(limit, evaluated=sampled):
            if limit is None:
                return Unknown(
                    reason="the conditions are unsatisfiable: the claim would hold vacuously",
                    seconds=elapsed(),
                )
            return Unknown(
                reason=f"no assignment in the box |x| <= {limit} satisfies the conditions", seconds=elapsed()
            )
        confirmed = ""
        if record is not None:
            query = [*premises, z_refuted, *(box(limit) if limit is not None else [])]
            confirmed = record.proved(query, scope, timeout_ms)
        return Proved(scope=scope, seconds=elapsed(), confirmed=confirmed)

    note = ""
    if bound is None:
        asked = time.perf_counter()
        verdict, model, reason = check([*premises, z_refuted], timeout_ms)
        if verdict == "sat":
            return refutation(model, None)
        if verdict == "unsat":
            return proved("unbounded", None, time.perf_counter() - asked)
        if budget.spent():
            return Unknown(reason=f"{TIME_BUDGET}: the unbounded query was undecided", seconds=elapsed())
        note = f" (the unbounded query was undecided: {reason})"
        bound = FALLBACK_BOUND
        early = searched(None)
        if early is not None:
            return early
    asked = time.perf_counter()
    verdict, model, reason = check([*premises, z_refuted, *box(bound)], timeout_ms)
    if verdict == "sat":
        return refutation(model, bound)
    if verdict == "unsat":
        return proved(bounded_scope(bound) + note, bound, time.perf_counter() - asked)
    return searched(bound) or Unknown(
        reason=f"undecided{note or ''} within the box |x| <= {bound}: {reason}", seconds=elapsed()
    )


def _text_failure(semantics: Semantics, checks: Checks, env: dict[str, int]) -> str | None:
    """Why the claim, evaluated as written, fails at a point of the domain (None where it holds): a layer
    domain among `checks` that fails there, or the claim false or undefined."""
    failed = next((rule for test, rule in checks if not test(env)), None)
    if failed:
        return f"undefined there: {failed}"
    try:
        return None if semantics.claim(env) else "the claim is false there"
    except Undefined as error:
        return f"undefined there: {error}"


Bounds = tuple[int | None, int | None]


@dataclass(frozen=True)
class _Guide:
    """Where to draw points so that most land in the domain, read from the givens: each variable's bounds
    (x >= c, x <= c, x == c, and < >, either side) and the variables a given defines from others (x == e,
    computed from the drawn values in order). Only a guide: every point is still judged by the domain as
    written."""

    ranges: dict[str, Bounds]
    derived: tuple[tuple[str, Callable[[dict[str, int]], Any]], ...]


def _guide(given: Sequence[sympy.Basic], names: Sequence[str]) -> _Guide:
    ranges: dict[str, Bounds] = {}
    equations: list[tuple[str, sympy.Basic]] = []
    for condition in given:
        for part in condition.args if isinstance(condition, sympy.And) else (condition,):
            if type(part) not in _BOUNDS:
                continue
            lhs, rhs, kind = part.lhs, part.rhs, type(part)
            if isinstance(rhs, sympy.Symbol) and not isinstance(lhs, sympy.Symbol | sympy.Integer):
                lhs, rhs, kind = rhs, lhs, _REVERSED[kind]
            if isinstance(lhs, sympy.Integer) and isinstance(rhs, sympy.Symbol):
                lhs, rhs, kind = rhs, lhs, _REVERSED[kind]
            if not isinstance(lhs, sympy.Symbol):
                continue
            if isinstance(rhs, sympy.Integer):
                low, high = ranges.get(lhs.name, (None, None))
                at_least, at_most = _BOUNDS[kind](int(rhs))
                low = at_least if low is None or (at_least is not None and at_least > low) else low
                high = at_most if high is None or (at_most is not None and at_most < high) else high
                ranges[lhs.name] = (low, high)
            elif kind is sympy.Eq:
                equations.append((lhs.name, rhs))
    # x == e defines x where e uses drawn variables only, each variable defined once, none from itself.
    derived: dict[str, sympy.Basic] = {}
    depends: dict[str, set[str]] = {}
    for name, expr in equations:
        used = {symbol.name for symbol in expr.free_symbols}
        if name in derived or name not in names or not used <= set(names):
            continue
        closure = set(used).union(*(depends.get(other, set()) for other in used))
        if name in closure:
            continue
        derived[name], depends[name] = expr, closure
    compiled = []
    pending = dict(derived)
    while pending:
        ready = [
            name
            for name, expr in pending.items()
            if not {symbol.name for symbol in expr.free_symbols} & pending.keys()
        ]
        if not ready:
            break  # a cycle through several equations: those variables are drawn
        for name in ready:
            with contextlib.suppress(UnsupportedError):
                compiled.append((name, compile_expr(pending.pop(name))))
    return _Guide(ranges, tuple(compiled))


_BOUNDS: dict[type, Callable[[int], tuple[int | None, int | None]]] = {
    sympy.Ge: lambda c: (c, None),
    sympy.Gt: lambda c: (c + 1, None),
    sympy.Le: lambda c: (None, c),
    sympy.Lt: lambda c: (None, c - 1),
    sympy.Eq: lambda c: (c, c),
}
_REVERSED = {
    sympy.Ge: sympy.Le,
    sympy.Gt: sympy.Lt,
    sympy.Le: sympy.Ge,
    sympy.Lt: sympy.Gt,
    sympy.Eq: sympy.Eq,
}


@functools.lru_cache(maxsize=256)
def _nearest(low: int | None, high: int | None, count: int) -> tuple[int, ...]:
    """Up to `count` values of [low, high], nearest first: 0 (or the bound that excludes 0), then outwards.
    A function of small integers that recur (a size >= 1, a padding >= 0), so it is computed once each."""
    start = 0 if low is None or low <= 0 else low
    if high is not None and high < start:
        start = high
    values = [start]
    step = 1
    while len(values) < count:
        more = [
            v
            for v in (start + step, start - step)
            if (low is None or v >= low) and (high is None or v <= high)
        ]
        if not more:
            break
        values.extend(more)
        step += 1
    return tuple(values[:count])


@functools.lru_cache(maxsize=64)
def _by_distance(sizes: tuple[int, ...], count: int) -> tuple[tuple[int, ...], ...]:
    """The first `count` index tuples below `sizes` by increasing sum (then in order): the nearest corner
    points first. A function of the shape alone, so it is computed once per shape."""
    found: list[tuple[int, ...]] = []
    for distance in range(sum(size - 1 for size in sizes) + 1):
        found.extend(_summing(sizes, distance))
        if len(found) >= count:
            break
    return tuple(found[:count])


def _summing(sizes: tuple[int, ...], total: int) -> Iterator[tuple[int, ...]]:
    """Index tuples below `sizes` whose sum is `total`, in order."""
    if len(sizes) == 1:
        if total < sizes[0]:
            yield (total,)
        return
    for first in range(min(total, sizes[0] - 1) + 1):
        for rest in _summing(sizes[1:], total - first):
            yield (first, *rest)


def _points(
    names: Sequence[str], guide: _Guide, limit: int | None, draws: int, *, scatter: bool = True
) -> Iterator[dict[str, int]]:
    """At most `draws` points to evaluate a claim on, seeded so that a verdict is repeatable.

    The corner: the points next to the givens' bounds (each variable near 0, or near the bound that excludes
    0), nearest first, where off-by-one and sign errors live. With `scatter`, they alternate with random points
    in growing boxes (within |x| <= limit), three in four within the bounds and one in four ignoring them, so
    that a misread bound is not taken on trust; half the draws each.
    """
    if not names:
        yield {}
        return
    ranges = guide.ranges
    unbounded: Bounds = (None, None)
    if limit is not None:
        # Every point lies in the box: a point of the domain found here is a witness that the box is not empty.
        unbounded = (-limit, limit)
        ranges = {
            name: (-limit if low is None else max(low, -limit), limit if high is None else min(high, limit))
            for name, (low, high) in ranges.items()
        }
    derived = [(name, value) for name, value in guide.derived if name in names]

    def complete(point: dict[str, int]) -> dict[str, int]:
        """The point with each derived variable computed from the others (where it is defined, in the box)."""
        for name, value in derived:
            try:
                result = value(point)
            except (ZeroDivisionError, UnsupportedError):
                continue
            if isinstance(result, int) and (limit is None or abs(result) <= limit):
                point[name] = result
        return point

    derived_names = {name for name, _ in derived}
    free = [name for name in names if name not in derived_names]
    values = [_nearest(*ranges.get(name, unbounded), 5) for name in free]
    order = _by_distance(tuple(len(v) for v in values), draws // 2 if scatter else draws)
    if not derived:
        # Every variable is drawn: no defaults to fill in, nothing to compute (the common case).
        complete = _unchanged
        corner: Iterator[dict[str, int]] = (
            dict(zip(names, [v[i] for v, i in zip(values, indices, strict=True)], strict=True))
            for indices in order
        )
    else:
        corner = (
            complete(
                {
                    **dict.fromkeys(names, 0),
                    **{n: v[i] for n, v, i in zip(free, values, indices, strict=True)},
                }
            )
            for indices in order
        )
    if not scatter:
        yield from corner
        return
    far = _scattered(names, [ranges.get(name, unbounded) for name in names], unbounded, limit, complete)
    seen: set[tuple[int, ...]] = set()
    for point in itertools.chain(
        itertools.chain.from_iterable(zip(corner, far, strict=False)),
        itertools.islice(far, max(0, draws - 2 * len(order))),
    ):
        # A point drawn again is skipped (it still counts as a draw): narrow bounds make repeats common.
        key = tuple(point.values())
        if key not in seen:
            seen.add(key)
            yield point


def _unchanged(point: dict[str, int]) -> dict[str, int]:
    return point


def _scattered(
    names: Sequence[str],
    bounds: Sequence[Bounds],
    unbounded: Bounds,
    limit: int | None,
    complete: Callable[[dict[str, int]], dict[str, int]],
) -> Iterator[dict[str, int]]:
    """Random points without end: the k-th in a box of half-width _SAMPLE_SPANS[k mod 6] around the value
    nearest 0 within each variable's bounds (cut to them; within |x| <= limit); every fourth ignores the
    bounds, and every second leaves a variable free on both sides non-negative (sizes and parameters mostly
    are)."""
    spans = [n for n in _SAMPLE_SPANS if limit is None or n <= limit] or [limit or 1]
    period = len(spans) * 4 // math.gcd(len(spans), 4)
    # (name, lowest value, number of values) of each variable, for each index modulo the period.
    within = [(_nearest(low, high, 1)[0], low, high) for low, high in bounds]
    without = (_nearest(*unbounded, 1)[0], *unbounded)
    boxes: dict[int, list[tuple[str, int, int]]] = {}

    def box(index: int) -> list[tuple[str, int, int]]:
        n = spans[index % len(spans)]
        found = []
        for name, (centre, low, high) in zip(names, within, strict=True):
            if index % 4 == 3:
                centre, low, high = without
            bottom = max(centre - n, low) if low is not None else (centre - n if index % 2 == 0 else centre)
            top = min(centre + n, high) if high is not None else centre + n
            if limit is not None:
                bottom, top = max(bottom, -limit), min(top, limit)
            found.append((name, bottom, top - bottom + 1) if top >= bottom else (name, centre, 1))
        return found

    draw = _seeded_draws().__next__
    for index in itertools.count():
        key = index % period
        if key not in boxes:
            boxes[key] = box(key)
        point = {name: bottom + int(draw() * width) for name, bottom, width in boxes[key]}
        yield point if index % 4 == 3 else complete(point)


def _seeded_draws() -> Iterator[float]:
    """random.Random(0).random() without end (random() is several times cheaper than randint())."""
    global _FIRST_DRAWS, _STATE_AFTER
    if not _FIRST_DRAWS:
        generator = random.Random(0)
        _FIRST_DRAWS = tuple(generator.random() for _ in range(_PRECOMPUTED_DRAWS))
        _STATE_AFTER = generator.getstate()
    yield from _FIRST_DRAWS
    generator = random.Random.__new__(random.Random)
    generator.setstate(_STATE_AFTER)
    draw = generator.random
    while True:
        yield draw()


def _search(
    points: Iterable[dict[str, int]],
    domain: Callable[[dict[str, int]], dict[str, int] | None],
    failure: Callable[[dict[str, int]], str | None],
) -> tuple[dict[str, int], str] | None:
    """A point of the domain where the claim, evaluated as written, fails (with why), or None."""
    for point in points:
        env = domain(point)
        if env is not None:
            reason = failure(env)
            if reason:
                return point, reason
    return None


def _sample(
    points: Iterable[dict[str, int]],
    domain: Callable[[dict[str, int]], dict[str, int] | None],
    failure: Callable[[dict[str, int]], str | None],
    scope: str,
    wanted: int = _SAMPLE_POINTS,
) -> bool:
    """A proved claim evaluated as written on up to `wanted` points of its domain: a point where it
    fails means the engine is wrong, which is raised loudly, never reported as a verdict. Whether any point
    was in the domain (a witness that the conditions are satisfiable)."""
    checked = 0
    for point in points:
        env = domain(point)
        if env is None:
            continue
        reason = failure(env)
        if reason is not None:
            raise InternalError(
                f"the prover said proved ({scope}), but at {point} {reason}; this is a bug in symconv"
            )
        checked += 1
        if checked == wanted:
            break
    return checked > 0
