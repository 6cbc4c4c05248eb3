"""Theorem files (proofs/*.toml): records stated the way a paper states them, checked by the prover.

A record has ``id``, ``title``, ``source``, ``given`` (conditions), ``define`` (names for expressions, in
order, each may use the ones before), ``claim`` and ``expect`` ("proved" or "refuted"); ``bound`` asks for a
bounded proof; ``derivation`` (optional) lists the lines of a derivation from the claim's left-hand side to its
right-hand side, each proved equal to the one before when the theorem is exported (symconv.export.document). Expressions may apply layers, as in ``conv(k=k, s=s, p=p)(i)``: the claim then also asserts that
each layer is defined there (its domain is proved, not assumed).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import sympy

from ..core.display import repr_latex
from ..core.errors import SpecError
from ..core.layers import layer_context
from ..core.limits import MAX_DEGREE, read_text
from ..core.meaning import Meaning, Undefined, holds
from ..core.parse import (
    FUNCTIONS,
    KEYWORDS,
    KINDS,
    parse_condition,
    parse_expression,
    parse_meaning,
    split_conjuncts,
)
from .prove import Record, Result, Semantics, condition, prove

KEYS = ("id", "title", "source", "given", "define", "claim", "expect", "bound", "note", "derivation")
EXPECTS = ("proved", "refuted")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*\Z")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Theorem:
    """One record of a theorem file, as text; `statement()` parses it."""

    id: str
    claim: str
    given: tuple[str, ...] = ()
    define: tuple[tuple[str, str], ...] = ()
    title: str = ""
    source: str = ""
    expect: str = "proved"
    bound: int | None = None
    note: str = ""
    origin: str = ""
    derivation: tuple[str, ...] = ()

    def statement(self) -> Statement:
        """The parsed theorem: layer domains collected as obligations (parsed once, then cached)."""
        try:
            return _statement(self)
        except SpecError as error:
            raise SpecError(f"theorem {self.id} ({self.origin}): {error}") from None

    _repr_latex_ = repr_latex

    def check(
        self,
        *,
        bound: int | None = None,
        timeout_ms: int = 10_000,
        smt2: Path | None = None,
        confirm: str | None = None,
    ) -> Result:
        """Prove the theorem; `smt2` (a directory) receives each proved query as `<id>.smt2`, and
        `confirm="cvc5"` has cvc5 re-check it."""
        s = self.statement()
        record = None
        if smt2 is not None or confirm is not None:
            comments: tuple[str, ...] = (
                f"theorem {self.id}: {self.title}".rstrip(": "),
                f"claim: {self.claim}",
            )
            comments += tuple(f"given: {g}" for g in self.given)
            comments += tuple(f"define: {name} = {value}" for name, value in self.define)
            record = Record(self.id, comments, smt2, confirm)
        return prove(
            s.claim,
            s.given,
            obligations=s.obligations,
            definitions=s.definitions,
            bound=bound or self.bound,
            timeout_ms=timeout_ms,
            semantics=s.semantics,
            record=record,
        )


@dataclass(frozen=True)
class Statement:
    claim: sympy.Basic
    given: tuple[sympy.Basic, ...]
    obligations: tuple[tuple[sympy.Basic, str], ...]
    definitions: tuple[tuple[str, sympy.Basic], ...]
    semantics: Semantics | None = None


def _degree(expr: sympy.Basic, degrees: dict[str, int]) -> int:
    """An upper bound on the polynomial degree of `expr` in the symbols, a defined name counting its own
    definition's degree (floor, ceiling, Mod, Min and Max do not raise a degree; a division counts as a product)."""
    if isinstance(expr, sympy.Symbol):
        return degrees.get(expr.name, 1)
    if not expr.args:
        return 0
    parts = [_degree(arg, degrees) for arg in expr.args]
    if isinstance(expr, sympy.Mul):
        return sum(parts)
    if isinstance(expr, sympy.Pow) and isinstance(expr.exp, sympy.Integer):
        return parts[0] * abs(int(expr.exp))
    return max(parts)


def _part(kind: str, text: str, parse: Callable[[str], Meaning]) -> Meaning:
    """A claim or given parsed, its errors naming which one (a theorem has one claim and many givens)."""
    try:
        return parse(text)
    except SpecError as error:
        raise SpecError(f"{kind} {text!r}: {error}") from None


@lru_cache(maxsize=1024)
def _statement(theorem: Theorem) -> Statement:
    # Definitions stay names (the prover adds name == expression as a premise): substituting them would
    # rebuild every expression, and the counterexample can then show their values.
    definitions: list[tuple[str, Meaning]] = []
    proved = layer_context()
    names = [name for name, _ in theorem.define]
    degrees: dict[str, int] = {}
    for index, (name, text) in enumerate(theorem.define):
        value = parse_meaning(text, proved)
        later = {s.name for s in value.value.free_symbols} & set(names[index:])
        if later:
            raise SpecError(f"define {name} uses {', '.join(sorted(later))}, which is not defined before it")
        if isinstance(value.value, sympy.logic.boolalg.Boolean) and not isinstance(value.value, sympy.Expr):
            raise SpecError(f"define {name} must be an integer expression, got a condition")
        degrees[name] = _degree(value.value, degrees)
        if degrees[name] > MAX_DEGREE:
            # Each text is within the limit on its own; a chain of definitions (x2 = x1*x1, x3 = x2*x2, ...)
            # multiplies degrees, and the values the domain computes grow with them.
            raise SpecError(
                f"define {name} has degree {degrees[name]:,} in the symbols once the names it uses are expanded; "
                f"symconv limits polynomials to degree {MAX_DEGREE}"
            )
        definitions.append((name, value))
    assumed = layer_context()
    givens = [
        _part("given", text, lambda t: parse_meaning(t, assumed, condition=True)) for text in theorem.given
    ]
    layer_rules = tuple(condition for condition, _ in assumed.obligations)
    claim = _part("claim", theorem.claim, lambda t: parse_meaning(t, proved, condition=True))
    obligations = tuple(dict.fromkeys(proved.obligations))

    # Givens that use no defined name are tested before the definitions are computed: most points a prover
    # tries outside the domain are rejected by them, at a fraction of the cost.
    defined = set(names)
    early = [given for given in givens if not given.names & defined]
    late = [given for given in givens if given.names & defined]
    rules = [condition(rule) for rule in layer_rules]

    def domain(env: dict[str, int]) -> dict[str, int] | None:
        if not all(holds(given, env) for given in early):
            return None
        env = dict(env)
        for name, meaning in definitions:
            try:
                env[name] = meaning.run(env)
            except Undefined:
                return None
        if all(holds(given, env) for given in late) and all(rule(env) for rule in rules):
            return env
        return None

    semantics = Semantics(
        premises=tuple(meaning.defined for _, meaning in definitions) + tuple(g.defined for g in givens),
        defined=claim.defined,
        names=frozenset().union(*(m.names for _, m in definitions), *(g.names for g in givens), claim.names),
        domain=domain,
        claim=lambda env: bool(claim.run(env)),
    )
    return Statement(
        claim.value,
        tuple(g.value for g in givens) + layer_rules,
        obligations,
        tuple((name, meaning.value) for name, meaning in definitions),
        semantics,
    )


def _text(record: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = record.get(key, default)
    if value is None:
        raise SpecError(f"{where}: missing required key {key!r}")
    if not isinstance(value, str):
        raise SpecError(f"{where}: {key} must be a string, got {value!r}")
    return value


def _record(record: dict[str, Any], origin: str, index: int) -> Theorem:
    where = f"{origin}, theorem #{index + 1}"
    if not isinstance(record, dict):
        raise SpecError(f"{where}: each [[theorem]] must be a table")
    for key in record:
        if key not in KEYS:
            raise SpecError(f"{where}: unknown key {key!r}; allowed: {', '.join(KEYS)}")
    ident = _text(record, "id", where)
    if not _ID.match(ident):
        raise SpecError(f"{where}: id {ident!r} must be letters, digits, '_', '-' or '.'")
    where = f"{origin}, theorem {ident}"
    given = record.get("given", [])
    if not isinstance(given, list) or not all(isinstance(g, str) for g in given):
        raise SpecError(f"{where}: given must be a list of strings")
    define = record.get("define", {})
    if not isinstance(define, dict) or not all(isinstance(v, str) for v in define.values()):
        raise SpecError(f'{where}: define must be a table of name = "expression"')
    for name in define:
        if not _NAME.match(name) or name in FUNCTIONS or name in KEYWORDS or name in KINDS:
            raise SpecError(
                f"{where}: {name!r} cannot be defined (a name is a letter then letters, digits, _)"
            )
    derivation = record.get("derivation", [])
    if not isinstance(derivation, list) or not all(isinstance(line, str) for line in derivation):
        raise SpecError(f"{where}: derivation must be a list of expressions (strings)")
    claim_text = _text(record, "claim", where)
    if derivation:
        first = parse_condition(split_conjuncts(claim_text)[0], layer_context())
        if not isinstance(first, sympy.Eq):
            raise SpecError(
                f"{where}: a derivation needs a claim whose first part is an equality (lhs == rhs)"
            )
    for number, line in enumerate(derivation, 1):
        try:
            parse_expression(line, layer_context())
        except SpecError as error:
            raise SpecError(f"{where}: derivation line {number}: {error}") from None
    expect = _text(record, "expect", where, "proved")
    if expect not in EXPECTS:
        raise SpecError(f"{where}: expect must be one of {', '.join(EXPECTS)}, got {expect!r}")
    bound = record.get("bound")
    if bound is not None and (type(bound) is not int or bound < 1):
        raise SpecError(f"{where}: bound must be a positive integer, got {bound!r}")
    return Theorem(
        id=ident,
        claim=_text(record, "claim", where),
        given=tuple(given),
        define=tuple(define.items()),
        title=_text(record, "title", where, ""),
        source=_text(record, "source", where, ""),
        expect=expect,
        bound=bound,
        note=_text(record, "note", where, ""),
        origin=origin,
        derivation=tuple(derivation),
    )


def parse_theorems(text: str, origin: str = "<text>") -> list[Theorem]:
    """The theorems of a TOML text; every record is parsed, so an error anywhere is found at once."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{origin}: not valid TOML: {error}") from None
    unknown = set(data) - {"theorem"}
    if unknown:
        raise SpecError(
            f"{origin}: unknown top-level key(s) {', '.join(sorted(unknown))}; expected [[theorem]]"
        )
    records = data.get("theorem", [])
    if not isinstance(records, list):
        raise SpecError(f"{origin}: theorems must be written as [[theorem]] tables")
    theorems = [_record(record, origin, index) for index, record in enumerate(records)]
    for theorem in theorems:
        theorem.statement()
    seen: set[str] = set()
    for theorem in theorems:
        if theorem.id in seen:
            raise SpecError(f"{origin}: theorem id {theorem.id!r} appears twice")
        seen.add(theorem.id)
    return theorems


def load(path: str | Path) -> list[Theorem]:
    """The theorems of one .toml file, or of every .toml file in a directory (sorted by name); each file is
    read only if it is a regular file of at most 1 MB (limits.MAX_TEXT_FILE)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.toml"))
        if not files:
            raise SpecError(f"no .toml theorem files in {path}")
        return [theorem for file in files for theorem in load(file)]
    return parse_theorems(read_text(path, "theorem file"), str(path))


def find(ids: Iterable[str], corpus: Sequence[Theorem]) -> list[Theorem]:
    by_id = {theorem.id: theorem for theorem in corpus}
    missing = [ident for ident in ids if ident not in by_id]
    if missing:
        raise SpecError(f"unknown theorem id(s): {', '.join(missing)}")
    return [by_id[ident] for ident in ids]
