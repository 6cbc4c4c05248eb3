"""Benchmark: window maps and window-level ports, side by side with the size-only work they add to.

Prints, per port, the time of the window proof alone (Z3 over every input size, output and tap) next to the
size proof it follows, and the median; then `windows` for one layer next to `shape` for the same layer, in
process (warm) and as cold commands. Targets: a window-level port proof at most 50 ms median; `windows` for
one layer at most the cost of `shape`.

    python benchmarks/windows.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from symconv.core.arith import eq
from symconv.core.layers import INPUT, layer
from symconv.core.windowmap import same_windows_claim, windows
from symconv.logic.prove import prove

PORTS = [
    ("tf.conv(k=3, s=1, p=same)", "torch.conv(k=3, s=1, p=same)"),
    ("tf.conv(k=3, s=2, p=same)", "torch.conv(k=3, s=2, p=1)"),
    ("torch.maxpool(k=3, s=2, p=1, ceil=true)", "onnx.maxpool(k=3, s=2, p=1, ceil=true)"),
    ("torch.convT(k=3, s=2, p=1, a=1)", "jax.convT(k=3, s=2, p=[(1, 2)])"),
    ("keras.convT(k=3, s=2, p=same)", "jax.convT(k=3, s=2, p=same)"),
    ("onnx.conv(k=4, s=2, p=same_lower)", "tf.conv(k=4, s=2, p=[(2, 1)])"),
    ("torch.avgpool(k=3, s=2, p=1)", "onnx.avgpool(k=3, s=2, p=1)"),
    ("jax.conv(k=5, s=3, p=same)", "torch.conv(k=5, s=3, p=2)"),
]


def best(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"{'port':<70} {'sizes':>9} {'windows':>9}  verdict")
    window_times = []
    for source_spec, target_spec in PORTS:
        source, target = layer(source_spec), layer(target_spec)
        given = [c for c, _ in source.conditions(INPUT)]
        sizes_claim = eq(target.output_expr(INPUT), source.output_expr(INPUT))
        claim = same_windows_claim(source, target)
        rules = target.conditions(INPUT)
        sizes = best(lambda c=sizes_claim, g=given, r=rules: prove(c, g, obligations=r), args.repeat)
        verdict = prove(claim, given, obligations=rules).status
        seconds = best(lambda c=claim, g=given, r=rules: prove(c, g, obligations=r), args.repeat)
        window_times.append(seconds)
        name = f"{source_spec} -> {target_spec}"
        print(f"{name:<70} {sizes * 1000:7.1f}ms {seconds * 1000:7.1f}ms  {verdict}")
    median = statistics.median(window_times) * 1000
    print(f"window proof median {median:.1f} ms (target <= 50 ms): {'PASS' if median <= 50 else 'FAIL'}")

    spec, size = "tf.conv(k=3, s=2, p=same)", 224
    made = layer(spec)
    shape = best(lambda: made.output_size(size), 50)
    window = best(lambda: windows(made, size), 50)
    print(
        f"in process, {spec} at {size}: shape {shape * 1e6:.1f} us, windows (all {made.output_size(size)})"
        f" {window * 1e6:.1f} us, one window {best(lambda: windows(made, size, at=5), 50) * 1e6:.1f} us"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}

    def command(*words: str) -> float:
        return best(
            lambda: subprocess.run(
                [sys.executable, "-m", "symconv", *words], env=env, capture_output=True, check=True
            ),
            args.repeat,
        )

    cold_shape = command("shape", spec, "--in", str(size))
    cold_windows = command("windows", spec, "--in", str(size), "--at", "5")
    ratio = cold_windows / cold_shape
    print(
        f"cold commands: shape {cold_shape * 1000:.0f} ms, windows --at 5 {cold_windows * 1000:.0f} ms "
        f"({ratio:.2f}x; target <= 1x plus noise)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
