"""One wall-clock budget per command (--timeout): commands return "unknown (time budget)" with what they found.

The margins here are generous on purpose: these tests check that a command returns and what it says, never how
fast (the machines are shared); benchmarks measure speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from symconv import budget
from symconv.cli import main

HARD_CLAIM = ["--given", "x >= 1", "--given", "y >= 1", "--given", "z >= 1", "--claim", "x**3 + y**3 != z**3"]
BIG_SOLVE = [
    "solve",
    "conv(k=?, s=?, p=?)",
    "--in",
    "?",
    "--out",
    "7",
    "--max",
    "k=100",
    "--max",
    "s=100",
    "--max",
    "p=50",
    "--max",
    "i=1000",
]


def run(args: list[str], guard: float = 120.0) -> tuple[int, str, float]:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "symconv", *args], capture_output=True, text=True, timeout=guard, check=False
    )
    return done.returncode, done.stdout, time.monotonic() - start


def test_limit_nests_and_takes_the_earlier_deadline() -> None:
    assert budget.remaining() is None
    with budget.limit(100.0):
        with budget.limit(0.5):
            assert budget.remaining_ms(60_000) <= 500
        assert budget.remaining_ms(60_000) > 500
        assert not budget.spent()
    with budget.limit(0.01):
        time.sleep(0.02)
        assert budget.spent()
        with pytest.raises(budget.OutOfTime):
            budget.check()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "1e308", "abc", ""])
@pytest.mark.parametrize("command", [["prove", "--claim", "1 == 1"], BIG_SOLVE[:6], ["net", "conv(k=3)"]])
def test_a_timeout_that_is_not_finite_and_positive_is_bad_input(
    command: list[str], value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--timeout", value]) == 2
    err = capsys.readouterr().err
    assert "--timeout" in err and "Traceback" not in err


def test_a_hard_claim_comes_back_unknown_within_its_budget() -> None:
    # 5 s: the budget counts from the import, which a loaded machine can take seconds over.
    code, out, seconds = run(["prove", *HARD_CLAIM, "--timeout", "5", "--json"])
    assert code == 1
    (row,) = json.loads(out)["theorems"]
    assert row["status"] == "unknown" and "time budget" in row["reason"]
    assert seconds < 60  # the fallback box proof after the unbounded query would run far longer


def test_an_enumeration_stops_with_what_it_found() -> None:
    # The budget counts from the command's start, imports included: 5 s leaves a loaded machine time to find
    # solutions before it runs out (the enumeration needs minutes).
    code, out, _ = run([*BIG_SOLVE, "--timeout", "5", "--json"])
    assert code == 1
    data = json.loads(out)
    assert data["complete"] is False and "time budget" in data["stopped"]
    assert data["solutions"], "solutions found before the budget ran out are reported"


def test_theorems_after_the_budget_are_unknown_not_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    # A first run imports what prove needs: an import slower than the alarm's grace would end the command
    # before the theorem is reached.
    assert main(["prove", "--claim", "i + 1 > i", "--json"]) == 0
    capsys.readouterr()
    with budget.limit(0.001):
        time.sleep(0.01)
        assert main(["prove", "--claim", "i + 1 > i", "--json"]) == 1
    (row,) = json.loads(capsys.readouterr().out)["theorems"]
    assert row["status"] == "unknown" and "before this theorem was tried" in row["reason"]


def test_a_claim_slow_for_the_solver_comes_back_unknown_within_its_budget() -> None:
    # No three cubes sum to 4 (cubes are 0 or +-1 mod 9): true, but beyond Z3's nonlinear arithmetic, and the
    # box |x| <= 64 of the fallback is a search of 2 million points.
    code, out, seconds = run(["prove", "--claim", "x**3 + y**3 + z**3 != 4", "--timeout", "3", "--json"])
    assert code == 1
    (row,) = json.loads(out)["theorems"]
    assert row["status"] == "unknown" and "time budget" in row["reason"]
    assert seconds < 60


def test_pure_python_work_past_the_budget_is_interrupted() -> None:
    # The soft checks cannot reach into a library call; the alarm does.
    start = time.monotonic()
    with pytest.raises(budget.OutOfTime), budget.limit(0.2), budget.alarm(grace=0.05):
        while True:
            sum(range(1000))
    assert time.monotonic() - start < 30


@pytest.mark.parametrize(
    ("given", "claim", "status"),
    [
        # SymPy's expand rewrote the Mod inside the floor without end; now a Mod is opaque to it.
        ("t - y >= 0", "(-1 + t - y // x) * (t - y) % (t - y) // -2 == 0 // 3", "refuted"),
        ("k > s", "(k - s)**2 % (k - s) // 2 == 0", "proved"),
        ("k > s", "floor(mod((k - s)**2, k - s) / 2) == 1", "refuted"),
        # Found by the soundness fuzz (seed 11, case 693): it hung in the same place.
        (
            "s - x >= 1",
            "(s - x) * mod(min(2, t), s - t) // 3 == mod((s - x) * min(2, t), (s - x) * (s - t)) // 2",
            "refuted",
        ),
    ],
)
def test_a_mod_inside_a_floor_is_decided_within_the_budget(given: str, claim: str, status: str) -> None:
    code, out, seconds = run(["prove", "--given", given, "--claim", claim, "--timeout", "20", "--json"])
    (row,) = json.loads(out)["theorems"]
    assert row["status"] == status, row
    assert code == (0 if status == "proved" else 1)
    assert seconds < 60


def test_latex_of_an_incomplete_answer_says_so_and_exits_1() -> None:
    # Either the enumeration stops (the document says it is incomplete) or the budget runs out while the
    # document is typeset: never a truncated list with exit 0.
    code, out, _ = run(["latex", *BIG_SOLVE[1:], "--timeout", "2"])
    assert code == 1
    assert "% incomplete: the time budget ran out" in out or out.startswith("unknown (time budget)")
