"""Differential tests: symconv's tf., keras. (TensorFlow backend) and tf_keras. layers against TensorFlow,
Keras 3 and tf-keras as they run.

Random configurations (seeded; sizes from 1, so that empty outputs and kernels larger than the input come up)
go to two child processes, TF_ENABLE_ONEDNN_OPTS=0 and 1, side by side (tests/tfprobe.py). Each runs them in
TensorFlow's paths: for tf.nn, eager and the static shape of a graph on every configuration, a tf.function
executed with known and with unknown sizes on every GRAPH_EVERY-th; for the Keras layers, compute_output_shape
(every configuration with oneDNN), the eager call (tf-keras' on every configuration with oneDNN: its answer is
what its layers run; otherwise every RUN_EVERY-th) and a tf.function (every GRAPH_EVERY-th), and every path
where the paths may part (a window that may not fit). A process that dies (SIGFPE) is recorded and the run
goes on.

What symconv must answer:
- tf.SPEC and tf_keras.SPEC: the paths' common answer (a shape, or a refusal when none runs); where they
  disagree, a ShapeError that says the paths disagree.
- keras.SPEC: compute_output_shape (backend-independent; tests/test_diff_keras.py checks it on the numpy
  backend), and keras.SPEC with backend=tensorflow: the TensorFlow backend's runs, as tf_keras.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

import pytest

pytestmark = pytest.mark.slow  # real frameworks or whole models: -m "not slow" skips it

pytest.importorskip("tensorflow")
pytest.importorskip("tf_keras")
pytest.importorskip("keras")

from tests import tfprobe  # noqa: E402

SEED = 20261130
PER_KIND = 1000
GRAPH_EVERY = 25  # tf.functions traced and run (the slowest paths)
RUN_EVERY = 4  # the layers' eager calls; every path of the oneDNN-off child for the layers


def _tight(config: dict[str, Any]) -> bool:
    """Where the libraries' paths may part: a window that may not fit (i <= k_eff on an axis), or a dilated
    transposed convolution. Read from the parameters alone, so that these get every path."""
    spans = [
        d * (k - 1) + 1 for k, d in zip(config["k"], config.get("d") or [1] * len(config["k"]), strict=True)
    ]
    dilated = config["kind"] == "convT" and max(config.get("d") or [1]) > 1
    return dilated or any(i <= span for i, span in zip(config["i"], spans, strict=True))


def _plan(configs: list[dict[str, Any]], onednn: bool) -> list[dict[str, Any]]:
    """The configurations with the paths this child runs for each: tf.nn eagerly and through graph shape
    inference everywhere; the layers' compute_output_shape everywhere with oneDNN (the default;
    tests/test_diff_keras.py checks Keras 3's at length); tf-keras' eager call everywhere with oneDNN (its
    answer is what runs), Keras 3's on every RUN_EVERY-th; every path of the layers where their paths may part
    (_tight); tf.functions on every GRAPH_EVERY-th."""
    planned = []
    for n, config in enumerate(configs):
        graph = n % GRAPH_EVERY == 0
        sampled = n % RUN_EVERY == 0 or _tight(config)
        if config["api"] == "nn":
            chosen = ["eager", "graph_shape", *(["graph_run", "graph_dynamic"] if graph else [])]
        else:
            chosen = [
                *(["shape"] if onednn or sampled else []),
                *(["eager"] if sampled or (onednn and config["api"] == "tf_keras") else []),
                *(["graph"] if graph or (_tight(config) and onednn) else []),
            ]
        planned.append({**config, "paths": chosen})
    return planned


@pytest.fixture(scope="module")
def runs() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(configuration, outcomes by path@onednnN) for every configuration."""
    configs = tfprobe.draw_many(SEED, PER_KIND)
    merged = tfprobe.probe_both(_plan(configs, False), _plan(configs, True), timeout=900)
    return list(zip(configs, merged, strict=True))


def _failures(
    results: list[tuple[dict[str, Any], dict[str, Any]]], api: str, kind: str, backend: bool = False
) -> list[str]:
    bad = []
    for config, outcomes in results:
        if (config["api"], config["kind"]) == (api, kind):
            problem = tfprobe.mismatch(config, outcomes, backend)
            if problem:
                bad.append(problem)
    return bad


def _report(title: str, bad: list[str]) -> str:
    return f"{len(bad)} {title}:\n" + "\n".join(sorted(bad, key=len)[:12])


def test_enough_configurations_and_paths(runs: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    per: Counter[tuple[str, str]] = Counter((c["api"], c["kind"]) for c, _ in runs)
    assert all(per[(api, kind)] >= 1000 for api in tfprobe.APIS for kind in tfprobe.KINDS), per
    paths: Counter[tuple[str, str]] = Counter((c["api"], p) for c, outcomes in runs for p in outcomes)
    for api in tfprobe.APIS:
        names = tfprobe.NN_PATHS if api == "nn" else tfprobe.LAYER_PATHS
        for name in names:
            for onednn in (0, 1):
                assert paths[(api, f"{name}@onednn{onednn}")] >= 4 * PER_KIND // GRAPH_EVERY, (
                    api,
                    name,
                    onednn,
                )
    verdicts = Counter((c["api"], c["kind"], (tfprobe.consensus(o) or ("split",))[0]) for c, o in runs)
    for api in tfprobe.APIS:
        for kind in tfprobe.KINDS:
            assert verdicts[(api, kind, "ok")] >= 100, (api, kind, verdicts)
            assert verdicts[(api, kind, "refused")] + verdicts[(api, kind, "split")] >= 20, (
                api,
                kind,
                verdicts,
            )


def test_tf_keras_dilated_transposed_depends_on_rank(
    runs: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    """The one documented gap (tfprobe.rank_gap): tf-keras' Conv2DTranspose runs a dilation on every path,
    its Conv1DTranspose's paths disagree; symconv (per axis) refuses both, naming each."""
    by_rank: dict[int, Counter[str]] = {1: Counter(), 2: Counter()}
    for config, outcomes in runs:
        if config["api"] == "tf_keras" and config["kind"] == "convT" and max(config.get("d") or [1]) > 1:
            theirs = tfprobe.consensus(outcomes)
            if theirs is None or theirs[0] == "ok":
                by_rank[len(config["i"])]["ok" if theirs else "split"] += 1
    assert by_rank[1]["split"] >= 1 and by_rank[1]["ok"] == 0, by_rank
    assert by_rank[2]["ok"] >= 1 and by_rank[2]["split"] == 0, by_rank


def test_a_dying_process_is_recorded(runs: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """oneDNN's max pooling divides by an empty output's width (SIGFPE): the harness records it and goes on."""
    crashes = [(c, p) for c, outcomes in runs for p, o in outcomes.items() if "crash" in o]
    assert crashes, "no configuration killed TensorFlow: drop the SIGFPE note in symconv's tf.maxpool message"
    assert all(p.endswith("@onednn1") and c["kind"] == "maxpool" for c, p in crashes), crashes[:5]


@pytest.mark.parametrize("kind", tfprobe.KINDS)
def test_tf_matches_tensorflow(runs: list[tuple[dict[str, Any], dict[str, Any]]], kind: str) -> None:
    bad = _failures(runs, "nn", kind)
    assert not bad, _report(f"disagreements with tf.nn for tf.{kind}", bad)


@pytest.mark.parametrize("kind", tfprobe.KINDS)
def test_tf_keras_matches_tf_keras(runs: list[tuple[dict[str, Any], dict[str, Any]]], kind: str) -> None:
    bad = _failures(runs, "tf_keras", kind)
    assert not bad, _report(f"disagreements with tf-keras for tf_keras.{kind}", bad)


@pytest.mark.parametrize("kind", tfprobe.KINDS)
def test_keras_matches_compute_output_shape(
    runs: list[tuple[dict[str, Any], dict[str, Any]]], kind: str
) -> None:
    bad = _failures(runs, "keras", kind)
    assert not bad, _report(f"disagreements with Keras 3 compute_output_shape for keras.{kind}", bad)


@pytest.mark.parametrize("kind", tfprobe.KINDS)
def test_keras_tensorflow_backend(runs: list[tuple[dict[str, Any], dict[str, Any]]], kind: str) -> None:
    bad = _failures(runs, "keras", kind, backend=True)
    assert not bad, _report(
        f"disagreements with Keras 3 on TensorFlow for keras.{kind}(backend=tensorflow)", bad
    )


# Layers whose axes differ, asked as one per-axis spec (the draws above give a layer's axes alike and symconv
# one axis at a time): the constructors and kernels check the tuples whole.
AXES_CASES = [
    {"kind": kind, "i": i, "k": k, "s": s, "d": d, "p": p, "a": [0, 0] if kind == "convT" else None}
    for kind, i, k, s, d, p in [
        ("convT", [32, 4], [1, 7], [2, 1], [1, 2], "same"),
        ("convT", [5, 36], [1, 7], [3, 1], [1, 3], "valid"),
        ("convT", [29, 7], [7, 4], [1, 1], [1, 3], "same"),
        ("convT", [16, 14], [1, 7], [1, 1], [3, 1], "valid"),
        ("convT", [9, 13], [1, 7], [3, 2], [1, 1], "same"),
        # One axis empty (where the paths disagree), the other negative (refused on every path).
        ("avgpool", [1, 2], [5, 7], [3, 2], None, "valid"),
        ("maxpool", [2, 1], [7, 4], [3, 1], None, "valid"),
        ("conv", [1, 1], [2, 5], [3, 2], [1, 1], "valid"),
        # A transposed convolution's empty output on one axis: oneDNN returns it unchecked on the other.
        ("convT", [1, 40], [2, 4], [2, 1], [1, 1], "same"),
        ("convT", [40, 1], [4, 2], [1, 2], [1, 1], "same"),
    ]
]


def _whole_spec(config: dict[str, Any], prefix: str) -> str:
    def pair(values: list[int]) -> str:
        return f"({values[0]}, {values[1]})"

    backend = ", backend=tensorflow" if prefix == "keras" else ""
    dilation = f", d={pair(config['d'])}" if config["d"] is not None else ""
    dilation += f", a={pair(config['a'])}" if config["a"] is not None else ""
    return (
        f"{prefix}.{config['kind']}(k={pair(config['k'])}, s={pair(config['s'])}, p={config['p']}"
        f"{dilation}{backend})"
    )


def test_layers_with_differing_axes_as_tensorflow_runs_them() -> None:
    import symconv

    configs = [
        {**case, "api": api, "paths": ["eager"]} for api in ("keras", "tf_keras") for case in AXES_CASES
    ]
    merged = tfprobe.probe_both(configs, configs, timeout=900, ahead=False)
    bad = []
    refused = 0
    for config, outcomes in zip(configs, merged, strict=True):
        theirs = tfprobe.consensus(outcomes)
        spec = _whole_spec(config, tfprobe.PREFIX[str(config["api"])])
        try:
            sizes = tuple(cast(list[int], config["i"]))
            ours: Any = ("ok", tuple(int(v) for v in symconv.layer(spec).output_size(sizes)))
        except symconv.SymconvError as error:
            ours = ("refused", str(error))
        refused += theirs == ("refused",)
        said = f"{spec} at {config['i']}: {tfprobe.describe(outcomes)}; symconv {ours}"
        if theirs is None:  # the paths disagree: a refusal that says so
            if ours[0] == "ok" or tfprobe.DISAGREE not in ours[1]:
                bad.append(said)
        elif theirs[0] == "refused":  # refused alike on every path
            if ours[0] == "ok" or tfprobe.DISAGREE in ours[1]:
                bad.append(said)
        elif ours != theirs:
            bad.append(said)
    assert refused >= 10
    assert not bad, "\n".join(bad)
