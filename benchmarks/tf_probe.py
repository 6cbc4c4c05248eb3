"""TensorFlow, Keras 3 and tf-keras against one another and against symconv, on many random configurations.

    python benchmarks/tf_probe.py --configs 1000 [--seed N] [--apis nn,keras,tf_keras] [--json FILE]

Draws CONFIGS configurations per library and kind (tests/tfprobe.py), runs each in every TensorFlow path
(TF_ENABLE_ONEDNN_OPTS=0 and 1 in two child processes side by side; eager, tf.function shape inference and
execution, unknown-shape graphs; the Keras layers' compute_output_shape, eager call and tf.function), and
prints, per library and kind: how many configurations the paths agree on, the classes where they disagree
(with the smallest examples), and where symconv's answer differs from the paths' common answer (a refusal
where they disagree). The time each side took is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import tfprobe

PREFIX = tfprobe.PREFIX


def _class(config: dict[str, Any], outcomes: dict[str, Any]) -> str:
    """A disagreement's class: which paths said what kind of thing (shapes replaced by their relation to the
    input), so that one line stands for many configurations."""
    parts = []
    for path, outcome in sorted(outcomes.items()):
        v = tfprobe.verdict(outcome)
        if v[0] == "ok":
            shape = list(v[1])
            said = "input" if shape == config["i"] else ("empty" if 0 in shape else "shape")
        elif v[0] == "crash":
            said = f"crash {v[1]}"
        else:
            said = outcome.get("error", "?").split(":")[0]
        parts.append(f"{path}={said}")
    return ", ".join(parts)


def _size(config: dict[str, Any]) -> int:
    return sum(config["i"]) + sum(config["k"]) + sum(config["s"] or [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=300, help="configurations per library and kind")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--apis", default="nn,keras,tf_keras")
    parser.add_argument("--examples", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write every configuration and outcome here")
    args = parser.parse_args(argv)
    apis = tuple(args.apis.split(","))
    configs = tfprobe.draw_many(args.seed, args.configs, apis)
    start = time.perf_counter()
    merged = tfprobe.probe_both(configs, configs, ahead=False)
    tf_seconds = time.perf_counter() - start
    start = time.perf_counter()
    ours = [tfprobe.symconv_outcome(c, PREFIX[c["api"]]) for c in configs]
    symconv_seconds = time.perf_counter() - start  # symconv's answer to every configuration, for the ratio
    print(
        f"{len(configs)} configurations: TensorFlow (two children, every path) {tf_seconds:.1f} s, "
        f"symconv {symconv_seconds:.2f} s ({tf_seconds / max(symconv_seconds, 1e-9):.0f}x)"
    )
    paths_total: Counter[str] = Counter()
    for api in apis:
        for kind in tfprobe.KINDS:
            rows = [
                (c, m) for c, m in zip(configs, merged, strict=True) if (c["api"], c["kind"]) == (api, kind)
            ]
            for _, m in rows:
                paths_total.update(f"{api}.{kind} {p}" for p in m)
            split = [(c, m) for c, m in rows if tfprobe.consensus(m) is None]
            ran = sum((tfprobe.consensus(m) or ("",))[0] == "ok" for _, m in rows)
            print(
                f"\n{api}.{kind}: {len(rows)} configurations; the paths agree on {len(rows) - len(split)} "
                f"({ran} run), disagree on {len(split)}"
            )
            _classes(split, args.examples)
            views = [(False, f"{PREFIX[api]}.")] + (
                [(True, "keras.(backend=tensorflow)")] if api == "keras" else []
            )
            for backend, name in views:
                wrong = [(c, m, why) for c, m in rows if (why := tfprobe.mismatch(c, m, backend))]
                print(
                    f"  symconv {name}{kind}: {len(rows) - len(wrong)} of {len(rows)} as the library answers"
                )
                for _, _, why in sorted(wrong, key=lambda w: len(w[2]))[: args.examples]:
                    print(f"    {why[:400]}")
    print("\nconfigurations per path:")
    for key, count in sorted(paths_total.items()):
        print(f"  {key}: {count}")
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {"config": c, "outcomes": m, "symconv": o}
                    for c, m, o in zip(configs, merged, ours, strict=True)
                ]
            )
        )
    return 0


def _classes(rows: list[Any], examples: int) -> None:
    groups: dict[str, list[Any]] = {}
    for c, m in rows:
        groups.setdefault(_class(c, m), []).append((c, m))
    for key, members in sorted(groups.items(), key=lambda g: -len(g[1])):
        print(f"  paths disagree ({len(members)}): {key}")
        for c, m in sorted(members, key=lambda r: _size(r[0]))[:examples]:
            shown = {k: v for k, v in c.items() if v is not None and k not in ("api", "kind")}
            print(f"    {shown}: {tfprobe.describe(m)[:400]}")


if __name__ == "__main__":
    raise SystemExit(main())
