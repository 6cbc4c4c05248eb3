"""Solver speed, side by side with brute force.

One unknown: the closed-form answer for output sizes from 10 to 10**12 (target: at most 20 ms each, flat),
against a brute-force scan of candidate input sizes (run only where it finishes; extrapolated beyond).
Several unknowns: a query with about 10**4 solutions (target: at most 1 s), against a brute-force loop over
the same box. Run from the repository root: ``python benchmarks/solve.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from symconv import ShapeError, layer
from symconv.logic.solve import solve_spec

ONE_UNKNOWN = [
    ("conv(k=3, s=2, p=1)", "i"),
    ("conv(k=7, s=4, p=3, d=2)", "i"),
    ("torch.maxpool(k=3, s=2, p=1, ceil=true)", "i"),
    ("convT(k=4, s=2, p=1)", "i"),
]


def median_ms(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def brute_inputs(spec: str, o: int) -> list[int]:
    """Every input size with output o, by scanning i upward until the output passes o (sizes are monotone)."""
    made = layer(spec)
    found, i = [], 1
    while True:
        try:
            size = made.output_size(i)
        except ShapeError:
            i += 1
            continue
        if size == o:
            found.append(i)
        elif size > o:
            return found
        i += 1


def one_unknown(quick: bool) -> bool:
    print("One unknown (input size for a given output), median of 5 in-process calls")
    print(f"  {'layer':42} {'o':>14} {'symconv':>10} {'brute force':>14} {'ratio':>9}  answer")
    worst = 0.0
    scan_rate = None
    for spec, _ in ONE_UNKNOWN:
        for exponent in (1, 3, 6) if quick else (1, 3, 6, 9, 12):
            o = 10**exponent
            answer = solve_spec(spec, i="?", o=o)
            ms = median_ms(lambda s=spec, o=o: solve_spec(s, i="?", o=o), 5)
            worst = max(worst, ms)
            members = [s["i"] for s in answer.solutions]
            if exponent <= 3:
                start = time.perf_counter()
                expected = brute_inputs(spec, o)
                brute_ms = (time.perf_counter() - start) * 1000
                scan_rate = brute_ms / max(expected[-1] if expected else 1, 1)
                if expected != members:
                    print(f"  MISMATCH {spec} o={o}: symconv {members}, brute force {expected}")
                    return False
                brute = f"{brute_ms:11.1f} ms"
                ratio = f"{brute_ms / ms:8.1f}x"
            else:
                estimate = (scan_rate or 0.0) * (members[-1] if members else o)
                brute = f"~{estimate / 1000:10.3g} s"
                ratio = f"~{estimate / ms:7.2g}x"
            print(f"  {spec:42} {o:>14} {ms:7.2f} ms {brute:>14} {ratio:>9}  i in {members}")
    verdict = "PASS" if worst <= 20 else "FAIL"
    print(f"  worst one-unknown query: {worst:.2f} ms (target <= 20 ms): {verdict}")
    print("  (brute force beyond o = 1000 is extrapolated from its measured scan rate, marked ~)")
    return worst <= 20


def several_unknowns(quick: bool) -> bool:
    k_max, p_max, o = (30, 15, 100) if quick else (100, 50, 100)
    spec = "conv(k=?, s=2, p=?)"
    print(f"\nSeveral unknowns: {spec} --in ? --out {o} --max k={k_max} --max p={p_max}")
    start = time.perf_counter()
    answer = solve_spec(spec, i="?", o=o, maxima={"k": k_max, "p": p_max}, limit=10**6)
    seconds = time.perf_counter() - start
    # Brute force over the same box: every k, p and every input size up to the largest that can map to o.
    i_max = 2 * o + (k_max - 1) + 2
    start = time.perf_counter()
    expected = []
    for k in range(1, k_max + 1):
        for p in range(0, p_max + 1):
            made = layer(f"conv(k={k}, s=2, p={p})")
            for i in range(1, i_max + 1):
                try:
                    if made.output_size(i) == o:
                        expected.append({"i": i, "k": k, "p": p})
                except ShapeError:
                    pass
    brute = time.perf_counter() - start
    same = sorted(map(sorted, (s.items() for s in answer.solutions))) == sorted(
        map(sorted, (s.items() for s in expected))
    )
    print(f"  symconv: {answer.count} solutions in {seconds:.3f} s (complete: {answer.complete})")
    print(f"  brute force over k <= {k_max}, p <= {p_max}, i <= {i_max}: {len(expected)} in {brute:.3f} s")
    print(f"  ratio brute force / symconv: {brute / seconds:.1f}x; same solutions: {same}")
    target = seconds <= 1.0 or quick
    print(f"  target: >= 10**4 solutions in <= 1 s: {'PASS' if target and not quick else 'n/a (--quick)'}")
    return same and target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a reduced run for smoke testing")
    args = parser.parse_args()
    ok = one_unknown(args.quick)
    ok = several_unknowns(args.quick) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
