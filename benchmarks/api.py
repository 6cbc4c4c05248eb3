"""The Python API's per-call costs: symconv.layer(spec) made in the loop against a layer held outside it.

layer() keeps one layer per spec text, so building it in the loop should cost at most 2x the held layer's call.
Run from the repository root: ``python benchmarks/api.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import symconv

CALLS = 50_000
SPEC = "conv(k=3, s=2, p=1)"


def per_call_us(run: object, calls: int = CALLS) -> float:
    start = time.perf_counter()
    for n in range(calls):
        run(40 + n % 200)  # type: ignore[operator]
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    held = symconv.layer(SPEC)
    cases = {
        "held layer: conv.output_size(i)": held.output_size,
        "symconv.layer(spec).output_size(i)": lambda i: symconv.layer(SPEC).output_size(i),
        "torch syntax: symconv.layer('nn.Conv2d(...)').output_size(i)": lambda i: symconv.layer(
            "nn.Conv2d(3, 64, 3, stride=2, padding=1)"
        ).output_size(i),
    }
    for run in cases.values():
        per_call_us(run, 1000)  # warm: the layer made and compiled once
    base = per_call_us(held.output_size)
    print(f"{'call':<64} {'us/call':>8} {'vs held':>8}")
    for name, run in cases.items():
        cost = per_call_us(run)
        print(f"{name:<64} {cost:8.2f} {cost / base:7.2f}x")


if __name__ == "__main__":
    main()
