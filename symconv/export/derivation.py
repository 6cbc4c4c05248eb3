"""Derivations: chains of equal expressions, each consecutive pair proved equal before it is printed.

A chain reads like the paper's: ``o' = \\tilde{i}' + a + k - 2p - 1 = s(i' - 1) + a + k - 2p = i``. The steps
come from the engine's own moves (unfold a definition, substitute a given equality, rewrite a floor or a mod);
every pair is proved equal under the conditions (the givens and the definitions) by SymPy's algebra when the
difference expands to zero, by Z3 otherwise. A step that does not follow is refused with a counterexample:

>>> from symconv.core.parse import parse_condition as c, parse_expression as e
>>> derive(e("floor((i + 2*p - k)/s) + 1"), [e("floor((i - k)/s) + 1")], given=[c("p == 0")]).steps[-1].how
'substitution'
>>> derive(e("s*floor(x/s) + mod(x, s)"), [e("x")], given=[c("s >= 1")]).steps[-1].how
'Z3 (unbounded)'
>>> derive(e("floor((i + 2*p - k)/s) + 1"), [e("floor((i - k)/s)")], given=[c("s >= 1")])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
symconv.export.derivation.DerivationError: step 1 does not follow: floor((i - k + 2*p)/s) + 1 != floor((i - k)/s) at i = ...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import sympy

from ..core.arith import eq, evaluate, quotient_parts, symbol, tidy
from ..core.errors import SpecError
from ..logic.prove import Proved, Refuted, prove
from .latex import latex, names_latex, sum_lines

MAX_STEPS = 12
BY_CONDITIONS = r"\text{by the conditions}"


class DerivationError(SpecError):
    """A derivation step that is not proved equal to the one before it."""


@dataclass(frozen=True)
class Step:
    """One line of a chain: its expression, why it holds, and how the equality with the line before was
    proved ("identical", "algebra", "Z3 (unbounded)", "Z3 (bounded ...)" or "definition")."""

    expr: sympy.Basic
    reason: str = ""
    how: str = ""


@dataclass(frozen=True)
class Derivation:
    """subject = steps[0].expr = steps[1].expr = ..., each equality proved (see `how`)."""

    subject: sympy.Basic
    steps: tuple[Step, ...]
    given: tuple[sympy.Basic, ...] = ()
    definitions: tuple[tuple[str, sympy.Basic], ...] = ()

    def to_latex(
        self,
        heads: Mapping[str, str] | None = None,
        names: Mapping[str, str] | None = None,
        tags: bool = True,
    ) -> str:
        """An align* block: the subject, then one line per step; each reason is a tag at the right margin
        (amsmath moves it below a line too long to share)."""
        if names is None:
            symbols = set(self.subject.free_symbols).union(*(step.expr.free_symbols for step in self.steps))
            names = names_latex(symbols)
        rows = []
        for index, step in enumerate(self.steps):
            left = latex(self.subject, heads, names) if index == 0 else ""
            if tags:
                reason = f" \\tag*{{${step.reason}$}}" if step.reason else " \\notag"
            else:
                reason = f" && {step.reason}" if step.reason else ""
            # A long line goes on over several, each continuation indented under the first.
            first, *more = sum_lines(step.expr, heads, names)
            cont = "" if tags else " &&"
            lines = [f"{left} &= {first}", *(f"&\\qquad {part}" for part in more)]
            lines = [line + (" \\notag" if tags else cont) for line in lines[:-1]] + [lines[-1] + reason]
            rows.append(" \\\\\n".join(lines))
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"

    def _repr_latex_(self) -> str:
        # Notebooks render math mode only: aligned inside $$ in place of align*.
        body = self.to_latex(tags=False).removeprefix("\\begin{align*}").removesuffix("\\end{align*}")
        return f"$$\\begin{{aligned}}{body}\\end{{aligned}}$$"

    def __str__(self) -> str:
        return "\n".join(
            f"{self.subject if n == 0 else ' ' * len(str(self.subject))} = {step.expr}"
            for n, step in enumerate(self.steps)
        )


def _prove_equal(
    a: sympy.Basic,
    b: sympy.Basic,
    given: Sequence[sympy.Basic],
    definitions: Sequence[tuple[str, sympy.Basic]],
    index: int,
    timeout_ms: int,
    bound: int | None = None,
) -> str:
    if a == b:
        return "identical"
    if sympy.expand(a - b) == 0:
        # Exact polynomial algebra with floors and mods as atoms: true for every value of every symbol.
        return "algebra"
    # Replacing defined names by their definitions and symbols by what a given equality makes them equal
    # to preserves value under the premises; equal after that and algebra means equal under the premises.
    rules = {**equality_rules(given), **{symbol(name): value for name, value in definitions}}
    if sympy.expand(substitute(a, rules) - substitute(b, rules)) == 0:
        return "substitution"
    result = prove(eq(a, b), given, definitions=definitions, bound=bound, timeout_ms=timeout_ms)
    if isinstance(result, Proved):
        if bound is None and result.scope != "unbounded":
            # Z3's fallback box is not a proof for every integer, and a derivation claims one.
            raise DerivationError(
                f"step {index + 1} is proved only in a box ({result.scope}), not for every integer: {a} = {b}"
            )
        return f"Z3 ({result.scope})"
    if isinstance(result, Refuted):
        env = result.counterexample
        at = ", ".join(f"{name} = {value}" for name, value in env.items())
        values = ""
        try:
            values = f" ({evaluate(a, env)} against {evaluate(b, env)})"
        except (KeyError, ZeroDivisionError, TypeError):
            pass
        raise DerivationError(f"step {index + 1} does not follow: {a} != {b} at {at}{values}")
    raise DerivationError(f"step {index + 1} could not be proved equal to the line before: {result.reason}")


def derive(
    subject: sympy.Basic,
    lines: Sequence[sympy.Basic | Step],
    given: Sequence[sympy.Basic] = (),
    definitions: Sequence[tuple[str, sympy.Basic]] = (),
    *,
    first_by_definition: bool = False,
    timeout_ms: int = 10_000,
    bound: int | None = None,
) -> Derivation:
    """Check subject = lines[0] = lines[1] = ... under `given` and `definitions`; raise DerivationError on the
    first pair that is not proved equal for every integer (or, with `bound`, for every variable in
    [-bound, bound], which each such step's `how` states). With `first_by_definition`, subject = lines[0] is
    taken as the definition of the subject (a layer applied to its input, shown unexpanded)."""
    steps = [line if isinstance(line, Step) else Step(line) for line in lines]
    if not steps:
        raise DerivationError("a derivation needs at least one line after its subject")
    checked: list[Step] = []
    previous = subject
    for index, step in enumerate(steps):
        if index == 0 and first_by_definition:
            how = "definition"
        else:
            how = _prove_equal(previous, step.expr, given, definitions, index, timeout_ms, bound)
        reason = step.reason
        if how in ("identical", "algebra") and reason in ("", BY_CONDITIONS):
            reason = r"\text{algebra}"  # no condition was needed
        checked.append(Step(step.expr, reason, how))
        previous = step.expr
    return Derivation(subject, tuple(checked), tuple(given), tuple(definitions))


# Building chains from the engine's own moves.


def equality_rules(given: Sequence[sympy.Basic]) -> dict[sympy.Basic, sympy.Basic]:
    """Substitutions the givens state: ``s == 1`` gives s -> 1, ``mod(i - k, s) == 0`` gives that mod -> 0."""
    rules: dict[sympy.Basic, sympy.Basic] = {}
    for condition in given:
        for part in condition.args if isinstance(condition, sympy.And) else (condition,):
            if not isinstance(part, sympy.Eq):
                continue
            lhs, rhs = part.args
            if not isinstance(lhs, sympy.Symbol | sympy.Mod) and isinstance(rhs, sympy.Symbol | sympy.Mod):
                lhs, rhs = rhs, lhs
            if isinstance(lhs, sympy.Symbol | sympy.Mod) and lhs not in rules:
                rules[lhs] = rhs
    return rules


def substitute(expr: sympy.Basic, rules: Mapping[sympy.Basic, sympy.Basic]) -> sympy.Basic:
    """Apply the rules until nothing changes (a bounded number of rounds, so a cycle cannot loop)."""
    for _ in range(len(rules) + 1):
        new = expr.xreplace(dict(rules))
        if new == expr:
            break
        expr = new
    return expr


def _floors_as_mods(expr: sympy.Basic) -> sympy.Basic:
    """floor(N/D) -> (N - N mod D)/D: exact for D != 0; s*floor(x/s) then cancels against x."""
    swaps = {}
    for node in expr.atoms(sympy.floor):
        num, den = quotient_parts(node.args[0])
        if den != 1:
            # Unevaluated: SymPy's Mod canonicalisation costs milliseconds and the step is proved anyway.
            swaps[node] = (num - sympy.Mod(num, den, evaluate=False)) / den
    return sympy.expand(expr.xreplace(swaps)) if swaps else expr


def _mods_as_floors(expr: sympy.Basic) -> sympy.Basic:
    """N mod D -> N - D floor(N/D): exact for D != 0."""
    swaps = {
        node: node.args[0] - node.args[1] * sympy.floor(node.args[0] / node.args[1])
        for node in expr.atoms(sympy.Mod)
    }
    return sympy.expand(expr.xreplace(swaps)) if swaps else expr


def simplest(expr: sympy.Basic, rules: Mapping[sympy.Basic, sympy.Basic]) -> sympy.Basic:
    """The shortest of the engine's rewrites of `expr` (floors as mods, mods as floors, display form), with the
    given equalities applied to each."""
    return _simplest(expr, tuple(rules.items()))


@lru_cache(maxsize=2048)
def _simplest(expr: sympy.Basic, rules: tuple[tuple[sympy.Basic, sympy.Basic], ...]) -> sympy.Basic:
    candidates = [expr, _floors_as_mods(expr), _mods_as_floors(expr), tidy(expr)]
    candidates = [substitute(candidate, dict(rules)) for candidate in candidates]
    return min(candidates, key=lambda c: (sympy.count_ops(c), len(str(c))))


def unfoldings(
    expr: sympy.Basic,
    definitions: Sequence[tuple[str, sympy.Basic]],
    rules: Mapping[sympy.Basic, sympy.Basic],
) -> list[Step]:
    """expr, then one definition unfolded per line (the latest defined first, as the paper works backwards),
    then the given equalities, then the simplest rewrite: each line labelled with its move."""
    defined = {symbol(name): value for name, value in definitions}
    order = [symbol(name) for name, _ in definitions]
    steps = [Step(expr)]
    while len(steps) < MAX_STEPS:
        current = steps[-1].expr
        # The givens first (s = 1 turns a floor into its argument), then the latest definition, then rewrites.
        given = substitute(current, rules)
        if given != current:
            steps.append(Step(given, BY_CONDITIONS))
            continue
        present = [name for name in order if name in current.free_symbols]
        if present:
            name = present[-1]
            steps.append(
                Step(current.xreplace({name: defined[name]}), rf"\text{{definition of }} {latex(name)}")
            )
            continue
        simple = simplest(current, rules)
        if simple != current and sympy.count_ops(simple) < sympy.count_ops(current):
            steps.append(Step(simple, r"\text{simplify}"))
            continue
        break
    return steps


@lru_cache(maxsize=4096)
def _expanded(expr: sympy.Basic) -> sympy.Basic:
    return sympy.expand(expr)


def chain(
    start: sympy.Basic,
    targets: Sequence[sympy.Basic],
    definitions: Sequence[tuple[str, sympy.Basic]],
    given: Sequence[sympy.Basic],
) -> list[Step]:
    """Lines from `start` through each target in turn: both ends are unfolded until they meet (the first
    common line), else the two unfolded ends are joined by one step proved under the conditions."""
    rules = equality_rules(given)
    lines: list[Step] = []
    current = start
    for target in targets:
        forward = unfoldings(current, definitions, rules)
        backward = unfoldings(target, definitions, rules)
        # Meet where the two ends agree after expansion, as early as possible on both sides.
        ahead = [_expanded(step.expr) for step in forward]
        behind = [_expanded(step.expr) for step in backward]
        meets = [(m + n, m, n) for m, a in enumerate(ahead) for n, b in enumerate(behind) if a == b]
        if meets:
            _, meet, at = min(meets)
            path = forward[1 : meet + 1]
            if forward[meet].expr != backward[at].expr:
                path.append(Step(backward[at].expr, r"\text{expand}"))
        else:
            path = forward[1:]
            at = len(backward) - 1
            path.append(Step(backward[at].expr, BY_CONDITIONS))
        # Walk back along the target's own unfolding; each line is the target's expression one move earlier.
        for n in range(at, 0, -1):
            path.append(Step(backward[n - 1].expr, backward[n].reason))
        lines += path
        current = target
    # Consecutive equal lines say nothing.
    kept: list[Step] = []
    last = start
    for step in lines:
        if step.expr != last:
            kept.append(step)
            last = step.expr
    return kept
