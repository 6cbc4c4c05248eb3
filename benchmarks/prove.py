"""Benchmark: proving proofs/paper.toml against checking the same claims by exhaustive enumeration.

What it measures:

1. Cold CLI: ``python -m symconv prove proofs/paper.toml --json`` in fresh processes (interpreter start, imports,
   parsing and every proof). Targets from the issue: wall time at most 2 s (judged on the median run) and a
   per-theorem median of at most 20 ms (each theorem's median "seconds" over the runs, then the median over
   the theorems).
2. Warm proofs: every theorem's ``check()`` in this process after a warm-up run, median of several repeats.
3. Enumeration: each "proved" theorem checked on plain integers at every assignment of its free variables in
   a box (i in [1, N]; k, s, p, d and any other variable in the fixed ranges of BOX), with the definitions
   computed in order; where the givens hold, every layer domain (obligation) and the claim must hold.
   Boxes above N = 256 (and --quick) enumerate only the theorems with at most 4 free variables, to keep the
   run near a minute and a half; the box table shows that subset at every N so its rows compare.
   "refuted" theorems are not in the totals: their enumeration stops at its first counterexample, found box
   by box, and is reported separately as a check that enumeration and prover agree.

4. Overhead: each theorem's engine time (the warm proof's reported seconds, wall, and the thread's CPU time
   around theorem.check(): translating the statement to Z3, the proof, evaluating the proved claim on points
   of its domain, shrinking a counterexample) against Z3's own time on the same final query (the premises and
   the negated goal, the assertions of the prover's first solver call): a fresh solver running the strategy of
   the portfolio that answered it (the tactic pipeline or Z3's default solver, with its seed), with the
   assertions already added and a resource limit of about a second instead of a timeout (Z3's timer thread
   would slow it), only its check() timed; a repeat where Z3 alone runs out of it is dropped, engine and Z3
   alike, and counted. Slices of the portfolio that ran out before it count as the engine's. Each repeat runs the engine's proof and then Z3 alone on the query that very proof built, so that
   both see the same terms and the same state of the caches (Z3 alone repeated back to back on one query keeps
   its caches warm and takes a fifth to a third less time than right after other work; that ratio is printed
   too). Both are medians over repeats; the target is a median ratio of thread CPU time of at most 2.
   ``--overhead`` runs this part alone (a few seconds). ``--against REV`` measures this tree and git revision
   REV (the code before a change) with this same script, alternately in fresh processes (``--runs``, default
   3), and prints the two median ratios of each run side by side.

How to read it: a proof is unbounded, so one proof covers every box and its cost is the same in every row,
while enumeration grows with N (linearly here, since only i grows). The ratio enumeration/proof is how many
times more the brute-force check costs than the proof; it should grow with the box. The script exits 1 if a
target fails or if enumeration disagrees with an expected verdict.

Run from the repository root: ``python benchmarks/prove.py``; ``--quick`` is a smoke test of a few seconds
(N = 64 only, one cold run, one warm repeat, the theorems with at most 4 free variables).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sympy

ROOT = Path(__file__).resolve().parent.parent
# The package measured: this tree's, or (for --against) another tree's, measured by this script all the same.
PACKAGE = os.environ.get("SYMCONV_BENCHMARK_PACKAGE", str(ROOT))
sys.path.insert(0, PACKAGE)

from symconv.core.arith import Compiled, compile_expr  # noqa: E402
from symconv.logic.theorem import Theorem, load  # noqa: E402

PAPER = "proofs/paper.toml"
WALL_TARGET_S = 2.0
MEDIAN_TARGET_MS = 20.0
BOXES = (64, 256, 1024)
# Ranges of every variable but i (inclusive); a variable not named here takes OTHER.
BOX = {"k": (1, 7), "s": (1, 4), "p": (0, 3), "d": (1, 3)}
OTHER = (0, 7)
# Enumeration in Python costs tens of microseconds an assignment, so the boxes above ALL_UP_TO (and --quick)
# enumerate only the theorems with at most SMALL_VARIABLES free variables: the run stays near a minute and a
# half instead of three.
ALL_UP_TO = 256
SMALL_VARIABLES = 4
OVERHEAD_TARGET = 2.0
OVERHEAD_REPEATS = 15
# About a second of Z3's search: the queries of the corpus need a few thousand to a hundred thousand units
# (R15-T-direct's tail on an unlucky solver: about 1.2 million).
Z3_ALONE_RLIMIT = 3_000_000


@dataclass(frozen=True)
class CompiledTheorem:
    """A theorem compiled for enumeration; `early` givens use free variables only, so they run first."""

    variables: tuple[str, ...]
    early: tuple[Compiled, ...]
    definitions: tuple[tuple[str, Compiled], ...]
    late: tuple[Compiled, ...]
    goal: tuple[Compiled, ...]


@dataclass(frozen=True)
class Enumeration:
    assignments: int
    meeting_givens: int
    counterexample: dict[str, int] | None
    seconds: float


def compile_theorem(theorem: Theorem) -> CompiledTheorem:
    statement = theorem.statement()
    defined = {name for name, _ in statement.definitions}
    expressions = [
        statement.claim,
        *statement.given,
        *(condition for condition, _ in statement.obligations),
        *(value for _, value in statement.definitions),
    ]
    free = sorted({symbol.name for expr in expressions for symbol in expr.free_symbols} - defined)

    def uses_definitions(condition: sympy.Basic) -> bool:
        return any(symbol.name in defined for symbol in condition.free_symbols)

    return CompiledTheorem(
        variables=tuple(free),
        early=tuple(compile_expr(g) for g in statement.given if not uses_definitions(g)),
        definitions=tuple((name, compile_expr(value)) for name, value in statement.definitions),
        late=tuple(compile_expr(g) for g in statement.given if uses_definitions(g)),
        goal=(
            *(compile_expr(condition) for condition, _ in statement.obligations),
            compile_expr(statement.claim),
        ),
    )


def all_hold(conditions: Sequence[Compiled], env: dict[str, int]) -> bool:
    """Every condition true at `env`; a division by zero makes a condition false (as in the prover)."""
    try:
        return all(condition(env) for condition in conditions)
    except ZeroDivisionError:
        return False


def box_ranges(variables: Sequence[str], n: int) -> list[range]:
    bounds = {"i": (1, n), **BOX}
    return [range(low, high + 1) for low, high in (bounds.get(name, OTHER) for name in variables)]


def enumerate_box(compiled: CompiledTheorem, n: int, *, stop_at_first: bool) -> Enumeration:
    """Check the theorem at every assignment in the box of size `n`; a definition that divides by zero where
    the givens hold is a counterexample, as the prover reports it."""
    start = time.perf_counter()
    assignments = meeting = 0
    counterexample: dict[str, int] | None = None
    for values in itertools.product(*box_ranges(compiled.variables, n)):
        assignments += 1
        env = dict(zip(compiled.variables, values, strict=True))
        if not all_hold(compiled.early, env):
            continue
        try:
            for name, value in compiled.definitions:
                env[name] = value(env)  # type: ignore[assignment]
        except ZeroDivisionError:
            holds = False
        else:
            if not all_hold(compiled.late, env):
                continue
            holds = all_hold(compiled.goal, env)
        meeting += 1
        if not holds and counterexample is None:
            counterexample = dict(zip(compiled.variables, values, strict=True))
            if stop_at_first:
                break
    return Enumeration(assignments, meeting, counterexample, time.perf_counter() - start)


def proof_medians(theorems: Sequence[Theorem], repeats: int) -> dict[str, float]:
    """Median seconds of each theorem's proof, in this process, after one warm-up round (imports, caches)."""
    for theorem in theorems:
        result = theorem.check()
        if result.status != theorem.expect:
            raise SystemExit(f"{theorem.id}: the prover says {result.status}, expected {theorem.expect}")
    times: dict[str, list[float]] = {theorem.id: [] for theorem in theorems}
    for _ in range(repeats):
        for theorem in theorems:
            times[theorem.id].append(theorem.check().seconds)
    return {ident: statistics.median(seconds) for ident, seconds in times.items()}


@contextmanager
def first_query() -> Iterator[list[tuple[list[Any], Any]]]:
    """Within the block, each proof's first solver call (its final query: the premises and the negated goal,
    as the prover sends it to Z3) is appended to the list yielded, with the strategy of the portfolio that
    answered it."""
    import importlib

    module = importlib.import_module("symconv.logic.solver")
    original = module.decide  # type: ignore[attr-defined]
    queries: list[tuple[list[Any], Any]] = []

    def capture(assertions: Sequence[Any], timeout_ms: int, *args: Any) -> Any:
        outcome = original(assertions, timeout_ms, *args)
        queries.append((list(assertions), outcome.answered_by))
        return outcome

    module.decide = capture  # type: ignore[attr-defined]
    try:
        yield queries
    finally:
        module.decide = original  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Timing:
    """Median wall and thread-CPU seconds of one measured call."""

    wall: float
    cpu: float


def median_timing(walls: Sequence[float], cpus: Sequence[float]) -> Timing:
    return Timing(statistics.median(walls), statistics.median(cpus))


def z3_alone(assertions: Sequence[Any], strategy: Any) -> tuple[float, float] | None:
    """(wall, thread CPU) seconds of check() alone on a fresh solver running `strategy` (the tactic pipeline or
    Z3's default solver, with the seed, that answered the query in the engine's portfolio), with `assertions`
    already added; None when it runs out of its resource limit. It is bounded by a resource limit of
    Z3_ALONE_RLIMIT units rather than a timeout (a timeout starts Z3's timer thread, which would slow Z3
    alone).

    The same query on the same strategy has a heavy tail: R15-T-direct takes 5 ms on most fresh solvers and
    runs past a million units on about one in twenty-five (the portfolio moves on after its first slice, Z3
    alone cannot), depending on the process's history, so a run that hits the limit is reported to the caller,
    which drops that repeat."""
    import z3

    from symconv.logic.solver import solver_for

    solver = solver_for(strategy, [], None, Z3_ALONE_RLIMIT)
    solver.add(*assertions)
    start, cpu = time.perf_counter(), time.thread_time()
    verdict = solver.check()
    wall, cpu = time.perf_counter() - start, time.thread_time() - cpu
    if verdict == z3.unknown:
        return None
    return wall, cpu


@dataclass(frozen=True)
class Overhead:
    """One theorem's medians: the engine, Z3 alone interleaved with it, Z3 alone back to back; and how many
    repeats were dropped because Z3 alone ran out of its resource limit."""

    engine: Timing
    alone: Timing
    back_to_back: Timing
    dropped: int = 0


def engine_and_z3(theorem: Theorem, repeats: int) -> Overhead:
    """Each repeat runs the warm proof (its reported seconds, wall, and the thread's CPU time around it),
    then Z3 alone on the query that very proof built (the same terms, the same state of the caches); then
    Z3 alone on the last query `repeats` times back to back, for comparison. A repeat whose Z3 alone hits its
    resource limit is dropped as a pair (the engine's run with it), so that neither side gains from Z3's tail;
    the benchmark stops if more than half are."""
    engine_walls, engine_cpus, z3_walls, z3_cpus = [], [], [], []
    dropped = 0
    for _ in range(repeats):
        with first_query() as queries:
            start = time.thread_time()
            wall = theorem.check().seconds
            cpu = time.thread_time() - start
        alone = z3_alone(*queries[0])
        if alone is None:
            dropped += 1
            continue
        engine_walls.append(wall)
        engine_cpus.append(cpu)
        z3_walls.append(alone[0])
        z3_cpus.append(alone[1])
    back = [timing for timing in (z3_alone(*queries[0]) for _ in range(repeats)) if timing is not None]
    dropped += repeats - len(back)
    if len(z3_cpus) < repeats / 2 or len(back) < repeats / 2:
        raise SystemExit(
            f"{theorem.id}: Z3 alone ran out of {Z3_ALONE_RLIMIT:,} resource units in most repeats"
        )
    return Overhead(
        median_timing(engine_walls, engine_cpus),
        median_timing(z3_walls, z3_cpus),
        median_timing([wall for wall, _ in back], [cpu for _, cpu in back]),
        dropped,
    )


def overhead(theorems: Sequence[Theorem], repeats: int) -> bool:
    """Print engine time against Z3's own time per theorem, and the median ratios; True if on target.

    The target is judged on thread CPU time: on a loaded machine a longer call is preempted more often, and
    wall time would count the other processes' time against the engine.
    """
    for theorem in theorems:
        theorem.check()
    timings = {theorem.id: engine_and_z3(theorem, repeats) for theorem in theorems}
    engine = {ident: timing.engine for ident, timing in timings.items()}
    alone = {ident: timing.alone for ident, timing in timings.items()}
    width = max(len(theorem.id) for theorem in theorems)
    wall = {ident: engine[ident].wall / alone[ident].wall for ident in engine}
    cpu = {ident: engine[ident].cpu / alone[ident].cpu for ident in engine}
    print(f"\nOverhead: engine time against Z3's own check() on the same final query, medians of {repeats}")
    print(f"  {'':<{width}}  {'wall':-^30}  {'thread CPU':-^30}")
    print(f"  {'theorem':<{width}}" + f"  {'engine':>9}  {'Z3 alone':>9}  {'ratio':>6}" * 2)
    for theorem in theorems:
        e, z = engine[theorem.id], alone[theorem.id]
        print(
            f"  {theorem.id:<{width}}  {e.wall * 1000:6.2f} ms  {z.wall * 1000:6.2f} ms  {wall[theorem.id]:5.1f}x"
            f"  {e.cpu * 1000:6.2f} ms  {z.cpu * 1000:6.2f} ms  {cpu[theorem.id]:5.1f}x"
        )
    passed = statistics.median(cpu.values()) <= OVERHEAD_TARGET
    print(
        f"  median ratio: wall {statistics.median(wall.values()):.2f}x, thread CPU {statistics.median(cpu.values()):.2f}x"
        f"   target (CPU) <= {OVERHEAD_TARGET:.0f}x: {verdict(passed)}   (load average {os.getloadavg()[0]:.1f})"
    )
    dropped = {ident: timing.dropped for ident, timing in timings.items() if timing.dropped}
    if dropped:
        shown = ", ".join(f"{ident} {count}" for ident, count in dropped.items())
        print(f"  runs of Z3 alone that hit its resource limit (dropped with their engine run): {shown}")
    back = {ident: engine[ident].cpu / timing.back_to_back.cpu for ident, timing in timings.items()}
    print(
        f"  against Z3 alone timed back to back ({repeats} checks of one query in a row, its caches warm):"
        f" median CPU ratio {statistics.median(back.values()):.2f}x"
    )
    return passed


def cold_cli(runs: int) -> tuple[list[float], dict[str, float]]:
    """Wall seconds of each fresh `symconv prove` process, and each theorem's median reported seconds."""
    walls: list[float] = []
    seconds: dict[str, list[float]] = {}
    command = [sys.executable, "-m", "symconv", "prove", PAPER, "--json"]
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
        for row in json.loads(done.stdout)["theorems"]:
            seconds.setdefault(row["id"], []).append(row["seconds"])
    return walls, {ident: statistics.median(values) for ident, values in seconds.items()}


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def print_boxes(
    label: str,
    theorems: Sequence[Theorem],
    boxes: Sequence[int],
    enumerations: dict[tuple[str, int], Enumeration],
    proofs: dict[str, float],
) -> None:
    """One row per box: enumeration totals over `theorems` against the total of their proofs."""
    proof_total = sum(proofs[theorem.id] for theorem in theorems)
    print(f"  {label}")
    for n in boxes:
        results = [enumerations[theorem.id, n] for theorem in theorems]
        total = sum(result.seconds for result in results)
        print(
            f"    {'i <= ' + str(n):<10}  {sum(r.assignments for r in results):>11,}"
            f"  {sum(r.meeting_givens for r in results):>11,}  {total:9.3f} s  {proof_total:6.3f} s"
            f"  {total / proof_total:7.1f}x"
        )


def against(revision: str, runs: int) -> int:
    """The overhead table's median ratios of this tree and of `revision` (exported with git archive), measured
    by this script in fresh processes, alternately (the older first in odd runs), side by side: the same
    machine, the same load, the same measurement. Exits 1 if this tree misses the target in the median run."""
    import re
    import tarfile
    import tempfile

    pattern = re.compile(r"median ratio: wall ([0-9.]+)x, thread CPU ([0-9.]+)x")
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", revision], cwd=ROOT, capture_output=True, check=False
        )
        if archive.returncode != 0:
            raise SystemExit(f"git archive {revision}: {archive.stderr.decode().strip()}")
        tar = Path(folder) / "tree.tar"
        tar.write_bytes(archive.stdout)
        with tarfile.open(tar) as opened:
            opened.extractall(Path(folder) / "tree", filter="data")
        trees = {revision: str(Path(folder) / "tree"), "this tree": str(ROOT)}
        ratios: dict[str, list[tuple[float, float, float]]] = {label: [] for label in trees}
        for run in range(runs):
            for label in list(trees) if run % 2 == 0 else list(trees)[::-1]:
                done = subprocess.run(
                    [sys.executable, str(Path(__file__).resolve()), "--overhead"],
                    cwd=ROOT,
                    env={**os.environ, "SYMCONV_BENCHMARK_PACKAGE": trees[label]},
                    capture_output=True,
                    text=True,
                    check=False,
                )
                found = pattern.search(done.stdout)
                if found is None:
                    raise SystemExit(f"{label}: no median in the output:\n{done.stdout}{done.stderr}")
                ratios[label].append((float(found[1]), float(found[2]), os.getloadavg()[0]))
    print(f"Overhead, median ratio over {PAPER} (engine / Z3 alone), {runs} alternating runs of each")
    print(f"  {'run':<5}" + "".join(f"  {label + ' (wall, CPU)':>26}" for label in trees) + "  load")
    for run in range(runs):
        cells = "".join(
            f"  {ratios[label][run][0]:>12.2f}x {ratios[label][run][1]:>11.2f}x" for label in trees
        )
        print(f"  {run + 1:<5}{cells}  {ratios['this tree'][run][2]:.1f}")
    medians = {label: statistics.median(cpu for _, cpu, _ in values) for label, values in ratios.items()}
    print("  median CPU ratio: " + ", ".join(f"{label} {value:.2f}x" for label, value in medians.items()))
    return 0 if medians["this tree"] <= OVERHEAD_TARGET else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: N = 64, one cold run, the small theorems only"
    )
    parser.add_argument("--overhead", action="store_true", help="only the engine-against-Z3 overhead table")
    parser.add_argument(
        "--against",
        metavar="REV",
        help="the overhead table of this tree and of git revision REV, alternately, in fresh processes",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of each with --against (default 3)")
    args = parser.parse_args(argv)
    if args.against:
        return against(args.against, args.runs)
    if args.overhead:
        return 0 if overhead(load(ROOT / PAPER), OVERHEAD_REPEATS) else 1
    boxes = BOXES[:1] if args.quick else BOXES
    runs = repeats = 1 if args.quick else 5

    theorems = load(ROOT / PAPER)
    width = max(len(theorem.id) for theorem in theorems)
    ok = True

    walls, cli_medians = cold_cli(runs)
    wall = statistics.median(walls)
    per_theorem = statistics.median(cli_medians.values())
    ok &= wall <= WALL_TARGET_S and per_theorem * 1000 <= MEDIAN_TARGET_MS
    print(
        f"Cold CLI: python -m symconv prove {PAPER} --json, {runs} fresh process(es), {len(theorems)} theorems"
    )
    print(
        f"  wall time           min {min(walls):.3f} s  median {wall:.3f} s  max {max(walls):.3f} s"
        f"   target median <= {WALL_TARGET_S:.0f} s: {verdict(wall <= WALL_TARGET_S)}"
    )
    print(
        f"  per-theorem median  {per_theorem * 1000:.1f} ms"
        f"   target <= {MEDIAN_TARGET_MS:.0f} ms: {verdict(per_theorem * 1000 <= MEDIAN_TARGET_MS)}"
    )

    proofs = proof_medians(theorems, repeats)
    compiled = {theorem.id: compile_theorem(theorem) for theorem in theorems}
    proved = [theorem for theorem in theorems if theorem.expect == "proved"]
    refuted = [theorem for theorem in theorems if theorem.expect == "refuted"]
    small = [theorem for theorem in proved if len(compiled[theorem.id].variables) <= SMALL_VARIABLES]
    plan = {n: proved if n <= ALL_UP_TO and not args.quick else small for n in boxes}
    enumerations = {
        (theorem.id, n): enumerate_box(compiled[theorem.id], n, stop_at_first=False)
        for n in boxes
        for theorem in plan[n]
    }

    print(f"\nProved theorems: proof median over {repeats} warm run(s) in-process, the cold CLI's median,")
    print("and exhaustive enumeration per box ('-': not enumerated at that size, see the box table)")
    header = "".join(f"  {'enum N=' + str(n):>12}" for n in boxes)
    print(f"  {'theorem':<{width}}  {'variables':<11}  {'proof':>8}  {'CLI':>8}{header}")
    for theorem in proved:
        enums = "".join(
            f"  {enumerations[theorem.id, n].seconds * 1000:9.1f} ms"
            if (theorem.id, n) in enumerations
            else f"  {'-':>12}"
            for n in boxes
        )
        print(
            f"  {theorem.id:<{width}}  {','.join(compiled[theorem.id].variables):<11}"
            f"  {proofs[theorem.id] * 1000:5.1f} ms  {cli_medians[theorem.id] * 1000:5.1f} ms{enums}"
        )
    disagree = [key for key, result in enumerations.items() if result.counterexample is not None]
    for ident, n in disagree:
        print(f"  DISAGREE: {ident} is proved but fails at {enumerations[ident, n].counterexample} (N={n})")
    ok &= not disagree

    print("\nRefuted theorems (not in the totals): enumeration up to the first counterexample, box by box")
    for theorem in refuted:
        for n in boxes:
            found = enumerate_box(compiled[theorem.id], n, stop_at_first=True)
            if found.counterexample is not None:
                break
        shown = f"at {found.counterexample} (N={n})" if found.counterexample else "none in any box: DISAGREE"
        ok &= found.counterexample is not None
        print(
            f"  {theorem.id:<{width}}  proof {proofs[theorem.id] * 1000:5.1f} ms"
            f"  CLI {cli_medians[theorem.id] * 1000:5.1f} ms  enumeration {found.seconds * 1000:7.2f} ms,"
            f" counterexample {shown}"
        )

    ranges = ", ".join(f"{name} in [{low}, {high}]" for name, (low, high) in BOX.items())
    print(f"\nPer box ({ranges}, any other variable in [{OTHER[0]}, {OTHER[1]}]);")
    print("the proofs are unbounded, so the same proofs cover every box and their total is one figure")
    print(
        f"    {'box':<10}  {'assignments':>11}  {'meet givens':>11}  {'enumeration':>11}"
        f"  {'proof':>8}  {'enum/proof':>8}"
    )
    full = [n for n in boxes if plan[n] is proved]
    if full:
        print_boxes(f"all {len(proved)} proved theorems", proved, full, enumerations, proofs)
    print_boxes(
        f"the {len(small)} proved theorems with at most {SMALL_VARIABLES} free variables"
        f" (the only ones enumerated at N > {ALL_UP_TO}{' and in --quick' if args.quick else ''})",
        small,
        boxes,
        enumerations,
        proofs,
    )
    ok &= overhead(theorems, repeats if args.quick else OVERHEAD_REPEATS)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
