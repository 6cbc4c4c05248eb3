"""Soundness fuzz at scale: the generators of tests/test_fuzz.py (tests/fuzzgen.py) for many seeded cases.

Prints, for claims, the counts of cases, wrong verdicts (proved with a counterexample in the box, or refuted at
a point that does not re-check), weak verdicts (unknown while a counterexample exists in the box), undecided
ones, errors, by generator family, with examples; for solve queries, the disagreements with enumeration.
Run from the repository root: ``python benchmarks/fuzz.py --claims 20000 --queries 1000 --seed 7``.
Case n of seed s is the same every run: ``--start n --claims 1`` replays it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fuzzgen import (
    HANG_SECONDS,
    TIMEOUT_MS,
    Outcome,
    SolveOutcome,
    claim_case,
    judge,
    judge_query,
    query_case,
)

GRADES = ("ok", "wrong", "weak", "unknown", "error")
SOLVE_GRADES = ("ok", "wrong", "refused", "error")


def _claim(job: tuple[int, int, int, float]) -> Outcome:
    seed, index, timeout_ms, hang_seconds = job
    return judge(claim_case(seed, index), timeout_ms, hang_seconds)


def _query(job: tuple[int, int]) -> SolveOutcome:
    seed, index = job
    return judge_query(query_case(seed, index))


def _run(worker: Callable[[Any], Any], jobs: Sequence[Any], processes: int) -> list[Any]:
    """Every job's outcome, in order; a progress line on stderr every 500 cases."""
    if processes <= 1:
        results: Iterable[Any] = map(worker, jobs)
    else:
        results = ProcessPoolExecutor(max_workers=processes).map(worker, jobs, chunksize=8)
    done, begin = [], time.perf_counter()
    for outcome in results:
        done.append(outcome)
        if len(done) % 500 == 0:
            bad = sum(o.grade in ("wrong", "error") for o in done)
            elapsed = time.perf_counter() - begin
            print(
                f"  ... {len(done)}/{len(jobs)} in {elapsed:.0f} s, {bad} wrong or error",
                file=sys.stderr,
                flush=True,
            )
    return done


def _examples(outcomes: Sequence[Any], grades: Sequence[str], shown: int, start: int) -> None:
    for grade in grades:
        chosen = [(n, o) for n, o in enumerate(outcomes, start) if o.grade == grade]
        if chosen and shown:
            print(f"  first {min(shown, len(chosen))} {grade}:")
            for index, outcome in chosen[:shown]:
                print(f"  #{index} " + outcome.message().replace("\n", "\n    "))


def _dump(path: str | None, records: Iterable[dict[str, Any]]) -> None:
    """Append the findings as JSON lines (one object per case that is not ok)."""
    if path is None:
        return
    with open(path, "a", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record) + "\n")


def claims(
    seed: int,
    count: int,
    start: int,
    timeout_ms: int,
    hang_seconds: float,
    processes: int,
    shown: int,
    dump: str | None = None,
) -> Counter[str]:
    begin = time.perf_counter()
    jobs = [(seed, index, timeout_ms, hang_seconds) for index in range(start, start + count)]
    outcomes: list[Outcome] = _run(_claim, jobs, processes)
    wall = time.perf_counter() - begin
    grades = Counter(o.grade for o in outcomes)
    families: dict[str, Counter[str]] = defaultdict(Counter)
    for outcome in outcomes:
        families[outcome.claim.family.split(":")[0]][outcome.grade] += 1
    prover = sum(o.seconds for o in outcomes)
    print(f"claims: {count} cases (seed {seed}, from #{start}) in {wall:.1f} s wall, symconv {prover:.1f} s")
    print("  " + ", ".join(f"{grade} {grades[grade]}" for grade in GRADES))
    kinds = Counter(o.why for o in outcomes if o.grade == "wrong")
    for why, n in kinds.most_common():
        print(f"  wrong: {n} {why}")
    statuses = Counter((o.status, o.grade) for o in outcomes)
    print("  verdicts: " + ", ".join(f"{s}/{g} {n}" for (s, g), n in sorted(statuses.items())))
    print(f"  {'family':<10}" + "".join(f"{grade:>9}" for grade in GRADES))
    for family, counts in sorted(families.items()):
        print(f"  {family:<10}" + "".join(f"{counts[grade]:>9}" for grade in GRADES))
    slowest = sorted(range(count), key=lambda n: outcomes[n].seconds)[-3:]
    print("  slowest: " + ", ".join(f"#{start + n} {outcomes[n].seconds:.2f} s" for n in reversed(slowest)))
    _examples(outcomes, ("wrong", "weak", "error"), shown, start)
    _dump(
        dump,
        (
            {
                "part": "claims",
                "seed": seed,
                "index": index,
                "grade": o.grade,
                "status": o.status,
                "why": o.why,
                "family": o.claim.family,
                "claim": o.claim.theorem().claim,
                "given": list(o.claim.theorem().given),
                "define": dict(o.claim.theorem().define),
                "symconv": o.detail,
                "brute": {"at": o.brute.counterexample, "kind": o.brute.kind, "domain": o.brute.domain},
            }
            for index, o in enumerate(outcomes, start)
            if o.grade != "ok"
        ),
    )
    sys.stdout.flush()
    return grades


def queries(
    seed: int, count: int, start: int, processes: int, shown: int, dump: str | None = None
) -> Counter[str]:
    begin = time.perf_counter()
    outcomes: list[SolveOutcome] = _run(
        _query, [(seed, index) for index in range(start, start + count)], processes
    )
    wall = time.perf_counter() - begin
    grades = Counter(o.grade for o in outcomes)
    solver = sum(o.seconds for o in outcomes)
    print(
        f"solve queries: {count} cases (seed {seed}, from #{start}) in {wall:.1f} s wall, solver {solver:.1f} s"
    )
    print("  " + ", ".join(f"{grade} {grades[grade]}" for grade in SOLVE_GRADES))
    _examples(outcomes, ("wrong", "error", "refused"), shown, start)
    _dump(
        dump,
        (
            {
                "part": "queries",
                "seed": seed,
                "index": index,
                "grade": o.grade,
                "query": o.query.text(),
                "why": o.why,
            }
            for index, o in enumerate(outcomes, start)
            if o.grade != "ok"
        ),
    )
    return grades


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=2000, help="number of claims (0: none)")
    parser.add_argument("--queries", type=int, default=200, help="number of solve queries (0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0, help="index of the first case")
    parser.add_argument("--timeout-ms", type=int, default=TIMEOUT_MS, help="per claim, passed to check()")
    parser.add_argument(
        "--hang-seconds",
        type=float,
        default=HANG_SECONDS,
        help="wall-clock limit per claim (a hang is an error)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (the machine is shared)")
    parser.add_argument("--show", type=int, default=5, help="examples printed per kind of finding")
    parser.add_argument(
        "--dump", metavar="FILE", help="append every case that is not ok to FILE as JSON lines"
    )
    args = parser.parse_args(argv)
    bad = 0
    if args.claims > 0:
        grades = claims(
            args.seed,
            args.claims,
            args.start,
            args.timeout_ms,
            args.hang_seconds,
            args.jobs,
            args.show,
            args.dump,
        )
        bad += grades["wrong"] + grades["error"]
    if args.queries > 0:
        grades = queries(args.seed, args.queries, args.start, args.jobs, args.show, args.dump)
        bad += grades["wrong"] + grades["error"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
