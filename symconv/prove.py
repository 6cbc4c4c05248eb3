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

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy

from .arith import evaluate
from .errors import UnsupportedError
from .solver import check

DEFAULT_TIMEOUT_MS = 10_000
FALLBACK_BOUND = 64
# Counterexamples are searched in small boxes first: a small one reads better in a paper or a bug report.
_SHRINK = (2, 8, 32)


class _Seconds(float):
    """A duration whose repr is stable (doctests show '...')."""

    def __repr__(self) -> str:
        return "..."


@dataclass(frozen=True)
class Proved:
    scope: str
    seconds: float = field(default=0.0, compare=False)

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


def prove(
    claim: sympy.Basic,
    given: Sequence[sympy.Basic] = (),
    *,
    obligations: Sequence[tuple[sympy.Basic, str]] = (),
    definitions: Sequence[tuple[str, sympy.Basic]] = (),
    bound: int | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> Result:
    """Prove that `given` implies `claim` and every obligation (the domains of the layers the claim uses).

    `definitions` name expressions, in order (each may use the ones before); the claim, givens and
    obligations may use the names.
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
        z_goal = z3.And(*z_domains, translation.boolean(claim), *translation.obligations)
    except UnsupportedError as error:
        return Unknown(f"not translatable to Z3: {error}", elapsed())
    defined = {name for name, _ in definitions}
    variables = {name: var for name, var in sorted(translation.variables.items()) if name not in defined}
    goal = sympy.And(*[condition for condition, _ in obligations], claim, evaluate=False)
    premises = [*translation.axioms, *z_definitions, *z_given]

    def with_definitions(env: dict[str, int]) -> dict[str, int] | None:
        """`env` extended by the defined names, computed on plain integers (None: a division by zero)."""
        env = dict(env)
        try:
            for name, value in definitions:
                env[name] = evaluate(value, env)  # type: ignore[assignment]
        except ZeroDivisionError:
            return None
        return env

    def box(n: int) -> list[Any]:
        return [z3.And(var >= -n, var <= n) for var in variables.values()]

    def assignment(model: Any) -> dict[str, int]:
        return {name: model.evaluate(var, model_completion=True).as_long() for name, var in variables.items()}

    def refutation(model: Any, limit: int | None) -> Result:
        found = assignment(model)
        for n in _SHRINK:
            if limit is not None and n >= limit:
                break
            verdict, small, _ = check([*premises, z3.Not(z_goal), *box(n)], timeout_ms)
            if verdict == "sat":
                found = assignment(small)
                break
        env = with_definitions(found)
        if env is None:
            return Refuted(found, "a definition divides by zero there", elapsed())
        if all(holds(g, env) for g in given) and not holds(goal, env):
            failed = next((rule for condition, rule in obligations if not holds(condition, env)), None)
            reason = f"undefined there: {failed}" if failed else "the claim is false there"
            shown = ", ".join(f"{name} = {env[name]}" for name, _ in definitions)
            return Refuted(found, reason + (f" ({shown})" if shown else ""), elapsed())
        return Unknown(f"the solver's counterexample {found} did not re-check on integers", elapsed())

    def vacuous(extra: list[Any]) -> bool:
        return check([*premises, *extra], timeout_ms)[0] == "unsat"

    note = ""
    if bound is None:
        verdict, model, reason = check([*premises, z3.Not(z_goal)], timeout_ms)
        if verdict == "sat":
            return refutation(model, None)
        if verdict == "unsat":
            if vacuous([]):
                return Unknown("the conditions are unsatisfiable: the claim would hold vacuously", elapsed())
            return Proved("unbounded", elapsed())
        note = f" (the unbounded query was undecided: {reason})"
        bound = FALLBACK_BOUND
    verdict, model, reason = check([*premises, z3.Not(z_goal), *box(bound)], timeout_ms)
    if verdict == "sat":
        return refutation(model, bound)
    if verdict == "unsat":
        if vacuous(box(bound)):
            return Unknown(f"no assignment in the box |x| <= {bound} satisfies the conditions", elapsed())
        return Proved(bounded_scope(bound) + note, elapsed())
    return Unknown(f"undecided{note or ''} within the box |x| <= {bound}: {reason}", elapsed())
