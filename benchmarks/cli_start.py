"""A cold `symconv shape` against `python -c "import sympy"`, each in a fresh interpreter.

Most of a cold command is importing SymPy; the target is at most 1.2x the bare import. Each figure is the median
of RUNS fresh processes, interleaved so that a busy machine slows both alike. Run from the repository root:
``python benchmarks/cli_start.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "python -c 'import sympy'": ["-c", "import sympy"],
    "symconv shape conv(k=3, s=2, p=1) --in 224": [
        "-m",
        "symconv",
        "shape",
        "conv(k=3, s=2, p=1)",
        "--in",
        "224",
    ],
    "symconv shape nn.Conv2d(3, 64, 3, stride=2, padding=1) --in 224": [
        "-m",
        "symconv",
        "shape",
        "nn.Conv2d(3, 64, 3, stride=2, padding=1)",
        "--in",
        "224",
    ],
    "symconv shape conv(k=3, s=2, p=1) --in i": [
        "-m",
        "symconv",
        "shape",
        "conv(k=3, s=2, p=1)",
        "--in",
        "i",
    ],
}


def seconds(argv: list[str]) -> float:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    subprocess.run([sys.executable, *argv], check=True, capture_output=True, env=environment)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for argv in COMMANDS.values():  # a warm-up: the file cache, compiled bytecode
        seconds(argv)
    for _ in range(args.runs):
        for name, argv in COMMANDS.items():
            times[name].append(seconds(argv))
    base = statistics.median(times["python -c 'import sympy'"])
    print(f"{'command':<66} {'median':>9} {'vs import sympy':>16}")
    for name, found in times.items():
        median = statistics.median(found)
        print(f"{name:<66} {median * 1000:7.0f} ms {median / base:15.2f}x")


if __name__ == "__main__":
    main()
