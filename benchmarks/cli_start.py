"""A cold `symconv shape` against `python -c "import sympy"`, each in a fresh interpreter.

Most of a cold command is importing SymPy; the target is at most 1.2x the bare import. Each figure is the median
of RUNS fresh processes, interleaved so that a busy machine slows both alike: wall time, and the CPU time of the
child (user + system), which a busy machine inflates less. Run from the repository root:
``python benchmarks/cli_start.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import resource
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


def seconds(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh process."""
    # Bytecode is written and read as an installed package's is: with PYTHONDONTWRITEBYTECODE set (and no
    # __pycache__ yet), every process would compile symconv's modules again, which the bare import of SymPy
    # (compiled when it was installed) does not.
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPATH"] = str(ROOT)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, *argv], check=True, capture_output=True, env=environment)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for argv in COMMANDS.values():  # a warm-up: the file cache, compiled bytecode
        seconds(argv)
    for _ in range(args.runs):
        for name, argv in COMMANDS.items():
            times[name].append(seconds(argv))
    medians = {
        name: (statistics.median(w for w, _ in found), statistics.median(c for _, c in found))
        for name, found in times.items()
    }
    base_wall, base_cpu = medians["python -c 'import sympy'"]
    print(f"{'command':<66} {'wall':>9} {'vs sympy':>9} {'CPU':>9} {'vs sympy':>9}")
    for name, (wall, cpu) in medians.items():
        print(
            f"{name:<66} {wall * 1000:6.0f} ms {wall / base_wall:8.2f}x {cpu * 1000:6.0f} ms {cpu / base_cpu:8.2f}x"
        )
    print(f"(medians of {args.runs} runs each; load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
