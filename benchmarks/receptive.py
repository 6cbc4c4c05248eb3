"""Receptive fields of long networks: `symconv net` with fields against the sizes-only analysis.

Each command runs in-process through symconv.cli.main (output captured), every cache emptied before each run (see
benchmarks/table.py), on chains of 1,000 and 3,000 layers (padded convolutions, a strided one and a pooling every
50) and on a 1,000-layer chain behind a nearest upsampling (the fields after it are read position by position).
Columns: `net --no-receptive-field` (sizes and the valid set alone), `net` (with every node's field), their
difference, and `net` with the fields walked position by position (the integer affine composition of
symconv.nets.receptive switched off; 1,000 layers only: that walk is quadratic). Run from the repository root:
``python benchmarks/receptive.py`` (``--quick``: the 1,000-layer chain only).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from table import chain_text, timed  # benchmarks/table.py

from symconv.nets import receptive


def median(argv: list[str], runs: int) -> float:
    return statistics.median(timed(argv) for _ in range(runs))


def walked(argv: list[str]) -> float:
    """`net` with no node's field composed as an affine map: every field walked position by position."""
    with mock.patch.object(receptive, "_anchored", lambda *args: {}):
        return timed(argv)


def run(quick: bool) -> None:
    cases = [("chain of 1,000", chain_text(1000), True)]
    if not quick:
        cases += [
            ("chain of 3,000", chain_text(3000), False),
            ("upsample > 1,000", "upsample(scale=2) > " + chain_text(1000), False),
        ]
    timed(["net", chain_text(10)])  # imports and first-use caches out of the figures
    print(f"{'network':<18}  {'sizes only':>10}  {'net':>8}  {'fields':>8}  {'walked':>8}")
    for name, text, walk in cases:
        sizes = median(["net", text, "--no-receptive-field"], 3)
        full = median(["net", text], 3)
        slow = f"{walked(['net', text]):>7.2f}s" if walk else f"{'-':>8}"
        print(f"{name:<18}  {sizes:>9.2f}s  {full:>7.2f}s  {full - sizes:>7.2f}s  {slow}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the 1,000-layer chain only")
    run(parser.parse_args().quick)
