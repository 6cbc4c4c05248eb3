"""Valid sets of networks whose merges need congruences and whose slices clamp: symconv against the earlier way.

Networks: 1-D U-Nets as nodes whose concatenations start at a lower level (depth 24 with skips from level 6,
depth 32 from level 8: the valid set is one run of 2**k residues modulo 2**depth), and PyTorch models whose
slices are centre crops computed from sizes (tests/zoo.py's U-Net with three crops, tests/test_operators.py's
crop whose start has either sign) or a spatial chunk, split and concatenation.

Columns: `valid_inputs()` now (read from a fresh import of the model's nodes, every cache emptied), and the
earlier way in the same run: for the U-Nets the proof as it was (membership as ranges of `i mod 2**depth`, each
direction asked at once, not split by condition; Z3's 20 s timeout is an unknown), for the crops the planner's cases of Min/Max (SymPy's Piecewise) instead of the periodic split.
Both must give the same sets (exit status 1 otherwise); the proofs' verdicts are printed. Run from the repository root:
``python benchmarks/validsets.py`` (``--quick``: no earlier-way column).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from table import forget  # benchmarks/table.py

from symconv.logic import periodic
from symconv.nets import validset


def unets() -> list[tuple[str, Callable[[], Any], str]]:
    from tests.test_scale import unet_nodes

    down, up = "conv(k=3, s=2, p=1)", "convT(k=3, s=2, p=1, a=1)"
    return [
        (f"U-Net depth {d}, skips from {k}", lambda d=d, k=k: unet_nodes(d, down, up, k), "whole")
        for d, k in ((24, 6), (32, 8))
    ]


def models() -> list[tuple[str, Callable[[], Any], str]]:
    from symconv.nets.importers.torch import from_torch
    from tests.test_operators import MERGING, CropSmallerSkip
    from tests.zoo import UNet

    def read(make: Callable[[], Any]) -> Callable[[], Any]:
        return lambda: from_torch(make().eval(), (1, 1, "H", "W"))

    return [
        ("U-Net, 3 centre crops", lambda: from_torch(UNet(3).eval(), (1, 3, "H", "W")), "planner"),
        ("crop of either sign", read(CropSmallerSkip), "planner"),
        ("chunk, split, cat", read(MERGING["chunk_split_cat"]), "planner"),
    ]


def whole(conditions: Any, dim: str, valid: validset.ValidSet, timeout_ms: int) -> Any:
    """The proof as it was: membership as a range of `dim mod period` per run of residues, and each direction
    of the equivalence asked at once (a timeout is Unknown)."""
    import z3

    from symconv.logic.prove import Proved, Unknown
    from symconv.logic.solver import check
    from symconv.logic.z3bridge import Translation

    translation = Translation()
    parts = translation.conditions(conditions)
    i = translation.variable(dim)
    defined = z3.And(*parts) if parts else z3.BoolVal(True)
    remainder = i % valid.period
    runs = [
        remainder == lo if lo == hi else z3.And(remainder >= lo, remainder <= hi)
        for lo, hi in validset._runs(valid.residues)
    ]
    member = z3.Or(*runs) if runs else z3.BoolVal(False)
    premises = [*translation.axioms, i >= valid.start]
    for refutation in ([member, z3.Not(defined)], [defined, z3.Not(member)]):
        verdict, _, reason = check([*premises, *refutation], timeout_ms)
        if verdict != "unsat":
            return Unknown(reason=reason) if verdict == "unknown" else verdict
    return Proved(scope="unbounded")


def timed(make: Callable[[], Any], earlier: str | None) -> tuple[float, str, str]:
    """Seconds for valid_inputs(), the sets, and the proofs' verdicts."""
    forget()
    net = make()
    patches: list[Any] = []
    if earlier == "whole":
        patches.append(mock.patch.object(validset, "_prove", whole))
    elif earlier == "planner":
        patches.append(mock.patch.object(periodic, "without_extrema", lambda *args: None))
    for patch in patches:
        patch.start()
    try:
        start = time.perf_counter()
        valid = net.valid_inputs()
        seconds = time.perf_counter() - start
    finally:
        for patch in patches:
            patch.stop()
    sets = "; ".join(
        f"{dim}: period {v.period}, {len(v.residues)} residues from {v.start}" for dim, v in valid.items()
    )
    return seconds, sets, "/".join(v.proof.status for v in valid.values())


def run(quick: bool) -> int:
    print(f"{'network':<30}  {'now':>7}  {'earlier':>8}  {'proofs (now, earlier)':<24}  valid set")
    differs = 0
    for name, make, earlier in [*unets(), *models()]:
        now, sets, proofs = timed(make, None)
        if quick:
            print(f"{name:<30}  {now:>6.2f}s  {'-':>8}  {proofs:<24}  {sets}")
            continue
        before, sets_before, proofs_before = timed(make, earlier)
        differs += sets != sets_before
        verdicts = f"{proofs}, {proofs_before}"
        other = "" if sets == sets_before else f" (earlier: {sets_before})"
        print(f"{name:<30}  {now:>6.2f}s  {before:>7.2f}s  {verdicts:<24}  {sets}{other}")
    return 1 if differs else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="no earlier-way column")
    raise SystemExit(run(parser.parse_args().quick))
