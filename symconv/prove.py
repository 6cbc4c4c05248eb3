"""prove(claim, given) -> Proved | Refuted | Unknown: three outcomes, never collapsed.

The claim is proved for every integer assignment satisfying the givens (scope "unbounded") or, on request or as
a stated fallback when the unbounded query is undecided, for every assignment in a box |x| <= N. A counterexample
is re-checked on plain Python integers before it is reported; one that does not re-check is Unknown. A proof
from unsatisfiable givens is Unknown too (it would hold vacuously).

>>> from .parse import parse_condition as c
>>> prove(c("floor((i + 2*p - k)/s)*s + mod(i + 2*p - k, s) == i + 2*p - k"), [c("s >= 1")])
Proved(scope='unbounded', seconds=...)
>>> prove(c("ceil(i/s) == floor(i/s)"), [c("s >= 1"), c("i >= 0")]).counterexample
{'i': 1, 's': 2}
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sympy

from . import budget
from .arith import evaluate
from .budget import TIME_BUDGET
from .errors import InternalError, SpecError, UnsupportedError
from .meaning import Undefined
from .solver import check

DEFAULT_TIMEOUT_MS = 10_000
FALLBACK_BOUND = 64
# Counterexamples are searched in small boxes first: a small one reads better in a paper or a bug report.
_SHRINK = (2, 8, 32)
# A model that does not re-check on integers is excluded and the search goes on, this many times in all.
_ATTEMPTS = 8
# A proved claim is evaluated as written on this many points of its domain (of at most this many draws).
_SAMPLE_POINTS = 200
_SAMPLE_DRAWS = 600
_SAMPLE_SPANS = (2, 4, 8, 16, 64, 1024)


class _Seconds(float):
    """A duration whose repr is stable (doctests show '...')."""

    def __repr__(self) -> str:
        return "..."


@dataclass(frozen=True)
class Proved:
    scope: str
    seconds: float = field(default=0.0, compare=False)
    # A second solver's verdict on the same query, when one was asked for ("cvc5: unsat").
    confirmed: str = field(default="", compare=False)

    status = "proved"

    def _repr_latex_(self) -> str:
        scope = "all integers satisfying the conditions" if self.scope == "unbounded" else self.scope
        return rf"$\text{{proved for {scope}}}$"


@dataclass(frozen=True)
class Refuted:
    counterexample: dict[str, int]
    reason: str = ""
    seconds: float = field(default=0.0, compare=False)

    status = "refuted"

    def _repr_latex_(self) -> str:
        from .latex import assignment

        return rf"$\text{{refuted at }} {assignment(self.counterexample)}$"


@dataclass(frozen=True)
class Unknown:
    reason: str
    seconds: float = field(default=0.0, compare=False)

    status = "unknown"

    def _repr_latex_(self) -> str:
        from .latex import text

        return rf"$\text{{unknown: {text(self.reason)}}}$"


Result = Proved | Refuted | Unknown


def bounded_scope(bound: int) -> str:
    return f"bounded: every variable in [-{bound}, {bound}]"


def holds(expr: sympy.Basic, env: dict[str, int]) -> bool:
    """`expr` on plain integers; a division by zero makes it false."""
    try:
        return bool(evaluate(expr, env))
    except ZeroDivisionError:
        return False


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
    """The user's text, for a prover that must not trust SymPy's rewriting of it (symconv.meaning).

    `premises`: where the givens and the definitions are defined (a point where one is not lies outside the
    domain); `defined`: where the claim is. `domain(env)` evaluates the definitions and givens as written and
    returns env with the defined names, or None outside the domain; `claim(env)` evaluates the claim as
    written and raises symconv.meaning.Undefined where it is undefined.
    """

    premises: tuple[sympy.Basic, ...]
    defined: sympy.Basic
    names: frozenset[str]
    domain: Callable[[dict[str, int]], dict[str, int] | None]
    claim: Callable[[dict[str, int]], bool]


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

    try:
        translation = Translation()
        z_definitions = [translation.variable(name) == translation.term(value) for name, value in definitions]
        z_given = translation.conditions(given)
        z_domains = translation.conditions([condition for condition, _ in obligations])
        z_claim = translation.boolean(claim)
        if semantics is None:
            z_defined = [*translation.obligations]
            z_given_defined: list[Any] = []
        else:
            z_defined = [translation.boolean(semantics.defined)]
            z_given_defined = translation.conditions(semantics.premises)
            for name in sorted(semantics.names):
                translation.variable(name)
        z_goal = z3.And(*z_domains, *z_defined, z_claim)
    except UnsupportedError as error:
        untranslated = Unknown(f"not translatable to Z3: {error}", elapsed())
        if semantics is None:
            return untranslated
        # Z3 cannot read it; the text can still be evaluated: a point where it fails refutes it.
        names = {name: None for name in sorted(semantics.names - {name for name, _ in definitions})}
        found = _search(
            names, bound, semantics.domain, lambda env: _text_failure(semantics, obligations, env)
        )
        if found is None:
            return untranslated
        return Refuted(found[0], found[1], elapsed())
    defined = {name for name, _ in definitions}
    variables = {name: var for name, var in sorted(translation.variables.items()) if name not in defined}
    goal = sympy.And(*[condition for condition, _ in obligations], claim, evaluate=False)
    premises = [*translation.axioms, *z_definitions, *z_given_defined, *z_given]

    def domain(env: dict[str, int]) -> dict[str, int] | None:
        """`env` extended by the defined names, or None where it lies outside the theorem's domain."""
        if semantics is not None:
            return semantics.domain(env)
        env = dict(env)
        try:
            for name, value in definitions:
                env[name] = evaluate(value, env)  # type: ignore[assignment]
        except ZeroDivisionError:
            return None
        return env if all(holds(g, env) for g in given) else None

    def failure(env: dict[str, int]) -> str | None:
        """Why the claim fails at a point of the domain, or None where it holds."""
        if semantics is not None:
            return _text_failure(semantics, obligations, env)
        failed = next((rule for condition, rule in obligations if not holds(condition, env)), None)
        if failed:
            return f"undefined there: {failed}"
        return None if holds(goal, env) else "the claim is false there"

    def box(n: int) -> list[Any]:
        return [z3.And(var >= -n, var <= n) for var in variables.values()]

    def assignment(model: Any) -> dict[str, int]:
        return {name: model.evaluate(var, model_completion=True).as_long() for name, var in variables.items()}

    def refutation(model: Any, limit: int | None) -> Result:
        """The first counterexample that re-checks on integers; a point that does not is excluded and the
        search goes on, a few times, before the answer is Unknown."""
        found = assignment(model)
        excluded: list[Any] = []
        rejected: list[dict[str, int]] = []
        search = [*premises, z3.Not(z_goal), *(box(limit) if limit is not None else [])]
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
                shown = ", ".join(f"{name} = {env[name]}" for name, _ in definitions)
                return Refuted(found, reason + (f" ({shown})" if shown else ""), elapsed())
            rejected.append(found)
            if len(rejected) == _ATTEMPTS:
                break
            excluded.append(z3.Or(*[var != found[name] for name, var in variables.items()]))
            verdict, model, _ = check([*search, *excluded], timeout_ms)
            if verdict != "sat":
                break
            found = assignment(model)
        return Unknown(
            f"the solver's counterexample(s) {', '.join(map(str, rejected))} did not re-check on integers, "
            "and no other was found",
            elapsed(),
        )

    def vacuous(extra: list[Any]) -> bool:
        return check([*premises, *extra], timeout_ms)[0] == "unsat"

    def searched(limit: int | None) -> Refuted | None:
        """Where Z3 is undecided, a counterexample found by evaluating the text as written on points."""
        if semantics is None:
            return None
        found = _search(variables, limit, domain, failure)
        if found is None:
            return None
        point, reason = found
        env = domain(point) or point
        shown = ", ".join(f"{name} = {env[name]}" for name, _ in definitions)
        return Refuted(point, reason + (f" ({shown})" if shown else ""), elapsed())

    def proved(scope: str, limit: int | None) -> Proved:
        if semantics is not None:
            _sample(variables, limit, domain, failure, scope)
        confirmed = ""
        if record is not None:
            query = [*premises, z3.Not(z_goal), *(box(limit) if limit is not None else [])]
            confirmed = record.proved(query, scope, timeout_ms)
        return Proved(scope, elapsed(), confirmed)

    note = ""
    if bound is None:
        verdict, model, reason = check([*premises, z3.Not(z_goal)], timeout_ms)
        if verdict == "sat":
            return refutation(model, None)
        if verdict == "unsat":
            if vacuous([]):
                return Unknown("the conditions are unsatisfiable: the claim would hold vacuously", elapsed())
            return proved("unbounded", None)
        if budget.spent():
            return Unknown(f"{TIME_BUDGET}: the unbounded query was undecided", elapsed())
        note = f" (the unbounded query was undecided: {reason})"
        bound = FALLBACK_BOUND
        early = searched(None)
        if early is not None:
            return early
    verdict, model, reason = check([*premises, z3.Not(z_goal), *box(bound)], timeout_ms)
    if verdict == "sat":
        return refutation(model, bound)
    if verdict == "unsat":
        if vacuous(box(bound)):
            return Unknown(f"no assignment in the box |x| <= {bound} satisfies the conditions", elapsed())
        return proved(bounded_scope(bound) + note, bound)
    return searched(bound) or Unknown(
        f"undecided{note or ''} within the box |x| <= {bound}: {reason}", elapsed()
    )


def _text_failure(
    semantics: Semantics, obligations: Sequence[tuple[sympy.Basic, str]], env: dict[str, int]
) -> str | None:
    """Why the claim, evaluated as written, fails at a point of the domain (None where it holds)."""
    failed = next((rule for condition, rule in obligations if not holds(condition, env)), None)
    if failed:
        return f"undefined there: {failed}"
    try:
        return None if semantics.claim(env) else "the claim is false there"
    except Undefined as error:
        return f"undefined there: {error}"


def _points(variables: dict[str, Any], limit: int | None) -> Any:
    """Points to evaluate a claim on: every point of the box |x| <= 2 when it is small, then random points in
    growing boxes (within |x| <= limit), half of them non-negative (sizes and parameters mostly are, so more
    land in a theorem's domain), seeded so that a verdict is repeatable."""
    names = list(variables)
    if 5 ** len(names) <= _SAMPLE_DRAWS:
        for values in itertools.product(range(-2, 3), repeat=len(names)):
            yield dict(zip(names, values, strict=True))
    rng = random.Random(0)
    draw = rng.random  # random() is several times cheaper than randint()
    spans = [n for n in _SAMPLE_SPANS if limit is None or n <= limit] or [limit or 1]
    for index in range(_SAMPLE_DRAWS):
        n = spans[index % len(spans)]
        low, width = (0, n + 1) if index % 2 else (-n, 2 * n + 1)
        yield {name: low + int(draw() * width) for name in names}


def _evaluated(
    variables: dict[str, Any],
    limit: int | None,
    domain: Callable[[dict[str, int]], dict[str, int] | None],
    failure: Callable[[dict[str, int]], str | None],
) -> Any:
    """(point, why the claim fails there or None) for the points of `_points` that lie in the domain."""
    for point in _points(variables, limit):
        env = domain(point)
        if env is not None:
            yield point, failure(env)


def _search(
    variables: dict[str, Any],
    limit: int | None,
    domain: Callable[[dict[str, int]], dict[str, int] | None],
    failure: Callable[[dict[str, int]], str | None],
) -> tuple[dict[str, int], str] | None:
    """A point of the domain where the claim, evaluated as written, fails (with why), or None."""
    return next(
        ((point, reason) for point, reason in _evaluated(variables, limit, domain, failure) if reason), None
    )


def _sample(
    variables: dict[str, Any],
    limit: int | None,
    domain: Callable[[dict[str, int]], dict[str, int] | None],
    failure: Callable[[dict[str, int]], str | None],
    scope: str,
) -> None:
    """A proved claim evaluated as written on points of its domain: a point where it fails means the engine
    is wrong, which is raised loudly, never reported as a verdict."""
    checked = _evaluated(variables, limit, domain, failure)
    for point, reason in itertools.islice(checked, _SAMPLE_POINTS):
        if reason is not None:
            raise InternalError(
                f"the prover said proved ({scope}), but at {point} {reason}; this is a bug in symconv"
            )
