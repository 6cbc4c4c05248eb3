"""`symconv net NETWORK --table` against `symconv net NETWORK`: the table's own cost.

Each command runs in-process through symconv.cli.main (its output captured), every cache of symconv and SymPy
emptied before each run (as a fresh process would find them, imports aside), the two alternately: on chains of
1,000 and 3,000 layers without receptive fields (the table's rows and conditions alone) and with them (the
default; every node's field at the first valid size from 256 is computed once and serves both the summary and the
table), and on a ResNet-18-like PyTorch model over H and W (the table's fields along W are its own). Prints
seconds side by side and the ratio. Run from the repository root: ``python benchmarks/table.py`` (``--quick``:
the 1,000-layer chain only).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from symconv.cli import main


def chain_text(layers: int) -> str:
    """A chain of `layers` layers: padded convolutions with a strided one and a pooling every 50 (the sizes stay
    formulas with floors; a valid set with a lower bound)."""
    specs = []
    for n in range(layers):
        if n % 50 == 25:
            specs.append("conv(k=3, s=2, p=1)")
        elif n % 50 == 49:
            specs.append("maxpool(k=3, s=1, p=1)")
        else:
            specs.append("conv(k=3, p=1)")
    return " > ".join(specs)


def resnet() -> Any:
    """A ResNet-18-like model (basic blocks, strided projections), small widths: `net` reads it as a factory."""
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
            self.project = nn.Conv2d(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()

        def forward(self, x: Any) -> Any:
            return self.project(x) + self.conv2(self.conv1(x).relu())

    layers: list[nn.Module] = [nn.Conv2d(3, 8, 7, 2, 3), nn.MaxPool2d(3, 2, 1)]
    width = 8
    for stage, out in enumerate((8, 16, 32, 64)):
        layers += [Block(width, out, 1 if stage == 0 else 2), Block(out, out, 1)]
        width = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10)]
    return nn.Sequential(*layers)


def forget() -> None:
    """Empty SymPy's cache and every cache of symconv's (module functions and Network's methods)."""
    import sympy.core.cache

    sympy.core.cache.clear_cache()
    for name, module in list(sys.modules.items()):
        if not name.startswith("symconv"):
            continue
        for value in list(vars(module).values()):
            for holder in (value, *(vars(value).values() if isinstance(value, type) else ())):
                if callable(getattr(holder, "cache_clear", None)):
                    holder.cache_clear()


def timed(argv: list[str]) -> float:
    forget()
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"symconv {' '.join(argv[:1])} ... exited {code}: {out.getvalue()[-300:]}")
    return seconds


def compare(source: str, extra: list[str], runs: int) -> tuple[float, float]:
    plain, table = [], []
    for run in range(runs):
        pair = [("plain", ["net", source, *extra]), ("table", ["net", source, "--table", *extra])]
        for name, argv in pair if run % 2 == 0 else reversed(pair):
            (plain if name == "plain" else table).append(timed(argv))
    return statistics.median(plain), statistics.median(table)


def run(quick: bool) -> None:
    model = ["benchmarks.table:resnet", "--input-shape", "1,3,H,W"]
    cases = [
        ("chain of 1,000", [chain_text(1000), "--no-receptive-field"], 3),
        ("chain of 1,000", [chain_text(1000)], 1),
    ]
    if not quick:
        cases[1:1] = [("chain of 3,000", [chain_text(3000), "--no-receptive-field"], 3)]
        cases += [("ResNet-18-like", [*model, "--no-receptive-field"], 3), ("ResNet-18-like", model, 3)]
    timed(["net", chain_text(10), "--table"])  # imports and first-use caches out of the figures
    if not quick:
        timed(["net", *model, "--table"])  # torch's import too
    print(f"{'network':<16}  {'receptive fields':<16}  {'net':>8}  {'net --table':>11}  {'ratio':>6}")
    for name, (source, *extra), runs in cases:
        plain, table = compare(source, extra, runs)
        fields = "no" if extra and extra[-1] == "--no-receptive-field" else "yes"
        print(f"{name:<16}  {fields:<16}  {plain:>7.2f}s  {table:>10.2f}s  {table / plain:>5.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the 1,000-layer chain only")
    run(parser.parse_args().quick)
