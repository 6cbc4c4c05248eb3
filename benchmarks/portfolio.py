"""Benchmark: the solver portfolio against the old one, per theorem, over many fresh processes.

What it measures: ``python -m symconv prove proofs/ --json`` in N fresh processes (the new portfolio,
symconv.solver.PORTFOLIO), interleaved with N fresh processes of the same command run with the old
``check()`` (a lean tactic with a quarter of the timeout, then Z3's default solver with all of it; copied below
as it was). Each theorem's "seconds" is read from the JSON; the table prints, per theorem, the max and the
median over the runs, old and new side by side.

Why fresh processes: Z3's search on a nonlinear query depends on the order in which terms were created in the
process, so the same theorem can take 5 ms in one process and seconds in the next. The target is a max, not
a median: no theorem above 100 ms in any run. The load average is printed with the figures: a loaded
machine (2 cores, shared) slows every run, the old and the new alike.

Run from the repository root: ``python benchmarks/portfolio.py`` (20 runs of each, about two minutes);
``--runs 3`` for a quick look. Exits 1 if the new portfolio misses the target or a verdict is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 100.0


def legacy_check(assertions: Sequence[Any], timeout_ms: int) -> tuple[str, Any, str]:
    """The old symconv.prove.check (before symconv.solver), verbatim."""
    import z3

    lean = z3.Then("simplify", "solve-eqs", "smt").solver()
    lean.set("timeout", max(1, timeout_ms // 4))
    lean.add(*assertions)
    verdict = lean.check()
    if verdict == z3.unknown:
        full = z3.Solver()
        full.set("timeout", timeout_ms)
        full.add(*assertions)
        verdict = full.check()
        lean = full
    if verdict == z3.sat:
        return "sat", lean.model(), ""
    if verdict == z3.unsat:
        return "unsat", None, ""
    return "unknown", None, lean.reason_unknown()


def legacy_child(corpus: str) -> int:
    """`symconv prove CORPUS --json` with the old check() (prove() looks it up in its module at call time)."""
    import importlib

    sys.path.insert(0, str(ROOT))
    importlib.import_module("symconv.prove").check = legacy_check  # type: ignore[attr-defined]
    from symconv.cli import main

    return main(["prove", corpus, "--json"])


def one_run(portfolio: str, corpus: str) -> tuple[dict[str, float], int]:
    """Each theorem's seconds in one fresh process, and how many theorems missed their expected verdict."""
    if portfolio == "new":
        command = [sys.executable, "-m", "symconv", "prove", corpus, "--json"]
    else:
        command = [sys.executable, str(Path(__file__).resolve()), "--legacy-child", corpus]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    try:
        data = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise SystemExit(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        ) from None
    return {row["id"]: row["seconds"] for row in data["theorems"]}, data["summary"]["missed"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="fresh processes per portfolio (default 20)")
    parser.add_argument("--corpus", default="proofs/", help="theorem file or directory (default proofs/)")
    parser.add_argument("--legacy-child", metavar="CORPUS", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.legacy_child:
        return legacy_child(args.legacy_child)

    seconds: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    walls: dict[str, list[float]] = {"old": [], "new": []}
    missed = {"old": 0, "new": 0}
    load_before = os.getloadavg()[0]
    for run in range(args.runs):
        for portfolio in ("old", "new") if run % 2 == 0 else ("new", "old"):
            start = time.perf_counter()
            times, misses = one_run(portfolio, args.corpus)
            walls[portfolio].append(time.perf_counter() - start)
            missed[portfolio] += misses
            for ident, value in times.items():
                seconds[portfolio].setdefault(ident, []).append(value)
        print(f"  run {run + 1}/{args.runs} done", file=sys.stderr, flush=True)
    load_after = os.getloadavg()[0]

    ids = list(seconds["new"])
    width = max(len(ident) for ident in ids)
    print(
        f"python -m symconv prove {args.corpus} --json: {args.runs} fresh processes each, old and new interleaved"
        f" (load average {load_before:.1f} before, {load_after:.1f} after, {os.cpu_count()} cores)"
    )
    print(
        f"per theorem, ms over the runs   {'old max':>9} {'new max':>9}   {'old median':>10} {'new median':>10}"
    )
    for ident in ids:
        old, new = seconds["old"][ident], seconds["new"][ident]
        print(
            f"  {ident:<{width}}  {max(old) * 1000:9.1f} {max(new) * 1000:9.1f}"
            f"   {statistics.median(old) * 1000:10.1f} {statistics.median(new) * 1000:10.1f}"
        )
    ok = True
    for portfolio in ("old", "new"):
        worst = {ident: max(values) for ident, values in seconds[portfolio].items()}
        over = sorted((ident for ident, value in worst.items() if value * 1000 > TARGET_MS), key=worst.get)
        top = max(worst, key=lambda ident: worst[ident])
        passed = not over and not missed[portfolio]
        if portfolio == "new":
            ok = passed
        print(
            f"{portfolio}: worst {worst[top] * 1000:.1f} ms ({top}); theorems above {TARGET_MS:.0f} ms in some run:"
            f" {len(over)}{' (' + ', '.join(over) + ')' if over else ''}; missed verdicts: {missed[portfolio]};"
            f" wall per run median {statistics.median(walls[portfolio]):.2f} s, max {max(walls[portfolio]):.2f} s"
            f"   target: {'PASS' if passed else 'FAIL'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
