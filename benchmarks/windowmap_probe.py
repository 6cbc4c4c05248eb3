"""Impulse probes at scale: symconv's window maps against PyTorch, onnxruntime, Keras and JAX themselves.

The probes of tests/test_windowmap_diff.py (its docstring says how each library is run and read) on more
configurations: --configs N per framework and group (drawn layers, each at SIZES_PER_LAYER input sizes), from a
seed other than the test's. Prints, per framework and group, the configurations, those the library refused, the
agreements, the documented gaps (GAPS: where the library's own rule differs from the exact one, checked to be
exactly that rule) and the disagreements; then each class of disagreement with its smallest examples, the XLA
kernel checks and the seconds each framework took (library and symconv together). Exit status 1 when anything
disagrees. Run from the repository root: ``python benchmarks/windowmap_probe.py --configs 5000``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import test_windowmap_diff as probe

COLUMNS = ("configs", "refused", "agree", "documented gap", "disagree")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=5000, help="configurations per framework and group")
    parser.add_argument("--seed", type=int, default=probe.SEED + 1)
    parser.add_argument("--frameworks", default="torch,onnx,keras,jax", help="comma-separated subset")
    parser.add_argument(
        "--kernel-every",
        type=int,
        default=2 * probe.KERNEL_EVERY,
        help="XLA kernel check every N configurations",
    )
    args = parser.parse_args(argv)
    chosen = set(args.frameworks.split(","))
    per_group = -(-args.configs // probe.SIZES_PER_LAYER)
    layers = {key: per_group for key in probe.LAYERS if key[0] in chosen}
    start = time.perf_counter()
    run = probe.run_probes(layers, args.seed, args.kernel_every)
    total = time.perf_counter() - start

    table = probe.summary(run)
    print(f"{'framework':10} {'group':9} " + " ".join(f"{c:>14}" for c in COLUMNS))
    for (framework, group), row in sorted(table.items()):
        print(f"{framework:10} {group:9} " + " ".join(f"{row[c]:>14}" for c in COLUMNS))
    for framework, reason in run.unavailable.items():
        print(f"{framework}: skipped, {reason}")

    gaps: Counter[str] = Counter()
    bad = []
    for r in run.results:
        if r.kind is None:
            continue
        gap = probe.gap_of(r.config, r.lib, r.ours)
        if gap is None:
            bad.append((r.config, r.lib, r.ours))
        else:
            gaps[gap.name] += 1
    print()
    for gap in probe.GAPS:
        print(f"documented gap, {gaps[gap.name]} configurations: {gap.name}\n  {gap.rule}")
    if run.skipped:
        print(
            f"skipped, XLA aborts the process on them: {len(run.skipped)} configurations "
            f"(tests/test_windowmap_diff.py xla_aborts; e.g. {run.skipped[0].short()})"
        )
    if probe.TORCH_BATCH_DEPENDENT:
        example = probe.TORCH_BATCH_DEPENDENT[0].short()
        print(
            f"PyTorch refusals that depend on the batch: {len(probe.TORCH_BATCH_DEPENDENT)} (refused for a batch "
            f"of 1, an empty output for more; e.g. {example})"
        )
    print()
    print(probe.report("disagreements", bad) if bad else "no disagreements")
    differing = [(config, outcome) for config, outcome in run.kernel_checks if outcome != "same"]
    print(
        f"\nXLA kernels against the folded bundles: {len(run.kernel_checks)} checked, {len(differing)} differing"
    )
    for config, outcome in differing[:5]:
        print(f"  {config.short()}: {outcome}")
    seconds = ", ".join(f"{name} {value:.1f} s" for name, value in run.seconds.items())
    print(f"\n{len(run.results)} configurations in {total:.1f} s ({seconds})")
    return 1 if bad or differing else 0


if __name__ == "__main__":
    sys.exit(main())
