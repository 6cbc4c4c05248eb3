"""Every theorem in proofs/ reaches its expected verdict; every planted false one is refuted by a counterexample
that satisfies the conditions and violates the claim on plain Python integers."""

from __future__ import annotations

from typing import Any

import pytest

from symconv.core.arith import evaluate
from symconv.logic.prove import Proved, Refuted
from symconv.logic.theorem import Theorem, load

from .conftest import ROOT

CORPUS = load(ROOT / "proofs")
PAPER_IDS = [f"R{n}" for n in range(1, 16)]


def test_the_paper_corpus_states_all_fifteen_relationships() -> None:
    ids = {theorem.id for theorem in CORPUS}
    assert set(PAPER_IDS) <= ids
    assert sum(theorem.expect == "refuted" for theorem in CORPUS) >= 5


def _holds(expr: Any, env: dict[str, Any]) -> bool:
    try:
        return bool(evaluate(expr, env))
    except ZeroDivisionError:
        return False


@pytest.mark.parametrize("theorem", CORPUS, ids=lambda t: t.id)
def test_theorem_reaches_its_expected_verdict(theorem: Theorem) -> None:
    result = theorem.check()
    assert result.status == theorem.expect, result
    if isinstance(result, Proved):
        # The corpus is proved for all integers, not over a box.
        assert result.scope == "unbounded"
    if isinstance(result, Refuted):
        statement = theorem.statement()
        env: dict[str, Any] = dict(result.counterexample)
        for name, value in statement.definitions:
            env[name] = evaluate(value, env)
        assert all(_holds(g, env) for g in statement.given)
        goal = [statement.claim, *(condition for condition, _ in statement.obligations)]
        assert not all(_holds(g, env) for g in goal)


def test_a_bounded_proof_says_its_box() -> None:
    result = load(ROOT / "proofs" / "paper.toml")[5].check(bound=16)
    assert result == Proved(scope="bounded: every variable in [-16, 16]")
