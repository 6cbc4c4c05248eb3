"""The solver back end: the Z3 portfolio, SMT-LIB 2 scripts, and cvc5 as a second opinion on every theorem."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import z3

from symconv.logic import solver as solver_module
from symconv.logic.solver import (
    DEFAULT,
    LEAN,
    PORTFOLIO,
    Portfolio,
    Query,
    Round,
    check,
    confirm_cvc5,
    decide,
    schedule,
    to_smt2,
)
from symconv.logic.theorem import Theorem, load
from symconv.logic.z3bridge import Translation

ROOT = Path(__file__).resolve().parent.parent
CORPUS = load(ROOT / "proofs")
# cvc5 binary option sets, tried in turn until one answers (cvc5 1.0.3, Debian bookworm's): the defaults
# answer most of the corpus, nl-rlv the refuted TF and R6 queries, incremental mode R15-T-direct.
CVC5_BINARY_OPTIONS = ((), ("--nl-rlv=always",), ("--incremental",))


def final_query(theorem: Theorem) -> Query:
    """The query prove() sends to Z3 for an unbounded proof: premises, and the goal (layer domains, claim,
    the translation's obligations). These lines are prove()'s own, until prove() exposes its query."""
    statement = theorem.statement()
    translation = Translation()
    z_definitions = [
        translation.variable(name) == translation.term(value) for name, value in statement.definitions
    ]
    z_given = translation.conditions(statement.given)
    z_domains = translation.conditions([condition for condition, _ in statement.obligations])
    z_goal = z3.And(*z_domains, translation.boolean(statement.claim), *translation.obligations)
    return Query((*translation.axioms, *z_definitions, *z_given), z_goal)


def comments(theorem: Theorem) -> list[str]:
    return [f"theorem: {theorem.id}", f"claim: {theorem.claim}", *(f"given: {g}" for g in theorem.given)]


def expected(theorem: Theorem) -> str:
    """The verdict on the refutation query: a proved theorem has no counterexample."""
    return "unsat" if theorem.expect == "proved" else "sat"


def binary(name: str) -> str:
    """A solver binary: z3 comes with the z3-solver wheel (next to the interpreter), cvc5 from apt-get.

    A missing binary fails the test (CI installs both); SYMCONV_SKIP_SMT_BINARIES=1 skips instead.
    """
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        if os.environ.get("SYMCONV_SKIP_SMT_BINARIES") == "1":
            pytest.skip(f"{name} is not installed (SYMCONV_SKIP_SMT_BINARIES=1)")
        pytest.fail(
            f"the {name} binary is not installed: pip install z3-solver gives z3, apt-get install cvc5 gives cvc5"
        )
    return path


def answer(command: list[str]) -> str:
    """The first line a solver prints, sat/unsat, or unknown (a timeout, a crash, anything else)."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    first = done.stdout.strip().splitlines()[:1]
    return first[0] if first and first[0] in ("sat", "unsat") else "unknown"


# The portfolio


def test_schedule_grows_and_repeats_the_last_round() -> None:
    portfolio = Portfolio((Round((LEAN,), 10), Round((DEFAULT, LEAN.seeded(1)), 100)), growth=10)
    steps = [next(it) for it in [iter(schedule(portfolio))] for _ in range(7)]
    assert [(s.name, s.seed, budget) for s, budget in steps] == [
        ("lean", 0, 10),
        ("default", 0, 100),
        ("lean", 1, 100),
        ("default", 100, 1000),
        ("lean", 101, 1000),
        ("default", 200, 10000),
        ("lean", 201, 10000),
    ]


def test_decide_answers_sat_with_a_model_and_unsat() -> None:
    x, y = z3.Ints("x y")
    found = decide([x + y == 10, x > y, y > 3], 5000)
    assert found.verdict == "sat" and found.strategy == "lean" and found.attempts == 1
    assert found.model.evaluate(x).as_long() + found.model.evaluate(y).as_long() == 10
    assert decide([x * x == 2 * y * y + 1, x == 0], 5000).verdict == "unsat"
    assert check([x > 0, x < 0], 5000) == ("unsat", None, "")


def test_a_kept_solver_carries_no_assertion_from_one_query_to_the_next() -> None:
    # Queries with time to spare run on a tactic solver kept per thread: an assertion left over from the
    # query before would turn the second and fourth answers to unsat.
    x = z3.Int("x")
    first = decide([x > 3], 5000)
    assert first.verdict == "sat" and first.model.evaluate(x).as_long() > 3
    second = decide([x < 2], 5000)
    assert second.verdict == "sat" and second.model.evaluate(x).as_long() < 2
    assert decide([x > 3, x < 2], 5000).verdict == "unsat"
    assert decide([x < 2], 5000).verdict == "sat"
    kept = solver_module._kept(LEAN, PORTFOLIO.rounds[0].rlimit)
    assert len(kept.assertions()) == 0 and z3.Z3_solver_get_num_scopes(kept.ctx.ref(), kept.solver) == 0


def test_an_interrupted_query_leaves_the_kept_solver_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    x = z3.Int("x")
    real_add = solver_module.add

    def add_then_interrupt(solver: z3.Solver, assertions: list[z3.BoolRef]) -> None:
        real_add(solver, assertions)
        raise KeyboardInterrupt

    monkeypatch.setattr(solver_module, "add", add_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        decide([x > 3], 5000)
    monkeypatch.setattr(solver_module, "add", real_add)
    assert decide([x < 2], 5000).verdict == "sat"


def test_unknown_only_when_the_whole_timeout_is_spent() -> None:
    # i^2 = 2 j^2 with i >= 1 has no integer solution, which no strategy proves: every one runs out.
    i, j = z3.Ints("i j")
    start = time.perf_counter()
    outcome = decide([i * i == 2 * j * j, i >= 1], 600)
    elapsed = time.perf_counter() - start
    assert outcome.verdict == "unknown" and outcome.reason == "timeout"
    assert outcome.attempts >= 3
    assert 0.55 <= elapsed < 2.0


def test_the_default_portfolio_starts_cheap() -> None:
    first, budget = next(iter(schedule(PORTFOLIO)))
    assert first.steps == LEAN.steps and budget <= 100_000


@pytest.mark.parametrize("theorem", CORPUS, ids=lambda t: t.id)
def test_every_theorem_is_decided_by_the_first_rounds(theorem: Theorem) -> None:
    outcome = decide(final_query(theorem).refutation(), 10_000)
    assert outcome.verdict == expected(theorem)
    assert outcome.attempts <= sum(len(r.strategies) for r in PORTFOLIO.rounds)


# SMT-LIB 2


def test_smt2_is_standalone() -> None:
    x, q = z3.Ints("x _q0")
    text = to_smt2(
        [x >= 1, q == x / 3, z3.Not(x % 3 + 3 * q == x)], ["claim: x == 3*floor(x/3) + x mod 3", "a\nb"]
    )
    lines = text.splitlines()
    assert lines[:4] == [
        "; claim: x == 3*floor(x/3) + x mod 3",
        "; a",
        "; b",
        "(set-info :smt-lib-version 2.6)",
    ]
    assert lines[4] == "(set-logic QF_NIA)"
    assert "(declare-fun x () Int)" in lines and "(declare-fun _q0 () Int)" in lines
    assert "(div x 3)" in text and "(mod x 3)" in text
    assert lines[-1] == "(check-sat)" and text.count("(assert") == 3
    assert confirm_cvc5(text, 5000) == "unsat"


def test_symconv_imports_neither_z3_nor_cvc5() -> None:
    code = "import symconv, sys; print('z3' in sys.modules, 'cvc5' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.split() == ["False", "False"]


# cvc5 and the binaries on every theorem of the corpus


@pytest.mark.parametrize("theorem", CORPUS, ids=lambda t: t.id)
def test_cvc5_agrees_with_z3(theorem: Theorem) -> None:
    query = final_query(theorem)
    assert check(query.refutation(), 10_000)[0] == expected(theorem)
    assert confirm_cvc5(query.refutation(), 20_000) == expected(theorem)


@pytest.mark.parametrize("theorem", CORPUS, ids=lambda t: t.id)
def test_smt2_files_are_answered_by_the_binaries(theorem: Theorem, tmp_path: Path) -> None:
    path = tmp_path / f"{theorem.id}.smt2"
    path.write_text(final_query(theorem).smt2(comments(theorem)), encoding="utf-8")
    assert answer([binary("z3"), "-T:20", str(path)]) == expected(theorem)
    cvc5 = binary("cvc5")
    verdicts = []
    for options in CVC5_BINARY_OPTIONS:
        verdicts.append(answer([cvc5, "--tlimit=5000", *options, str(path)]))
        if verdicts[-1] != "unknown":
            break
    assert verdicts[-1] == expected(theorem), f"cvc5 answered {verdicts} with {CVC5_BINARY_OPTIONS}"


def test_prove_writes_rechecked_smt2_files_and_confirms_with_cvc5(tmp_path: Path) -> None:
    """symconv prove --smt2 DIR --confirm cvc5: every proved theorem's query as DIR/ID.smt2, with the claim and
    the givens in comments, answered unsat by the z3 and cvc5 binaries; JSON says cvc5's verdict."""
    from symconv.cli import main

    out = tmp_path / "queries"
    code = main(["prove", "R14", "F-R6-ceil", "--smt2", str(out), "--confirm", "cvc5", "--json"])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["R14.smt2"]  # the refuted one has no proof to write
    text = (out / "R14.smt2").read_text()
    assert "; claim: op == s*(o - 1) + a + k - 2*p and op == i" in text and "; given: s >= 1" in text
    for name in ("z3", "cvc5"):
        done = subprocess.run(
            [binary(name), str(out / "R14.smt2")], capture_output=True, text=True, timeout=120, check=False
        )
        assert done.stdout.split()[:1] == ["unsat"], (name, done.stdout, done.stderr)
