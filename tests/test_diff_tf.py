"""Differential tests: symconv's tf., keras. (TensorFlow backend) and tf_keras. layers against TensorFlow,
Keras 3 and tf-keras as they run.

Random configurations (seeded; sizes from 1, so that empty outputs and kernels larger than the input come up)
go to two child processes, TF_ENABLE_ONEDNN_OPTS=0 and 1, side by side (tests/tfprobe.py). Each runs them in
TensorFlow's paths: for tf.nn, eager and the static shape of a graph on every configuration, a tf.function
executed with known and with unknown sizes on every GRAPH_EVERY-th; for the Keras layers, compute_output_shape
and the eager call (every configuration with oneDNN, every ONEDNN_OFF_EVERY-th without) and a tf.function on
every GRAPH_EVERY-th. A process that dies (SIGFPE) is recorded and the run goes on.

What symconv must answer:
- tf.SPEC and tf_keras.SPEC: the paths' common answer (a shape, or a refusal when none runs); where they
  disagree, a ShapeError that says the paths disagree.
- keras.SPEC: compute_output_shape (backend-independent; tests/test_diff_keras.py checks it on the numpy
  backend), and keras.SPEC with backend=tensorflow: the TensorFlow backend's runs, as tf_keras.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tf_keras")
pytest.importorskip("keras")

from tests import tfprobe

SEED = 20261130
PER_KIND = 1000
GRAPH_EVERY = 10
ONEDNN_OFF_EVERY = 4
DISAGREE = "paths disagree"


def _plan(configs: list[dict[str, Any]], onednn: bool) -> list[dict[str, Any]]:
    """The configurations with the paths this child runs for each."""
    planned = []
    for n, config in enumerate(configs):
        graph = n % GRAPH_EVERY == 0
        if config["api"] == "nn":
            chosen = ["eager", "graph_shape", *(["graph_run", "graph_dynamic"] if graph else [])]
        elif onednn or n % ONEDNN_OFF_EVERY == 0:
            chosen = ["shape", "eager", *(["graph"] if graph else [])]
        else:
            chosen = ["graph"] if graph else []
        planned.append({**config, "paths": chosen})
    return planned


@pytest.fixture(scope="module")
def runs() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(configuration, outcomes by path@onednnN) for every configuration."""
    configs = tfprobe.draw_many(SEED, PER_KIND)
    children = [tfprobe.start(_plan(configs, onednn), onednn) for onednn in (False, True)]
    off, on = (tfprobe.finish(child, len(configs), timeout=900) for child in children)
    return [
        (config, {**{f"{p}@onednn0": o for p, o in a.items()}, **{f"{p}@onednn1": o for p, o in b.items()}})
        for config, a, b in zip(configs, off, on, strict=True)
    ]


def _only(outcomes: dict[str, Any], *names: str) -> dict[str, Any]:
    return {path: o for path, o in outcomes.items() if path.split("@")[0] in names}


def _check(config: dict[str, Any], theirs: tuple[Any, ...] | None, prefix: str, described: str) -> str | None:
    """Why symconv's answer does not match the libraries' common answer (None: it matches)."""
    ours = tfprobe.symconv_outcome(config, prefix)
    said = tfprobe.verdict(ours)
    specs = " x ".join(tfprobe.symconv_specs(config, prefix))
    where = f"{specs} at i={config['i']}"
    if theirs is None:
        if said[0] == "ok" or DISAGREE not in ours["error"]:
            return f"{where}: the paths disagree ({described}), symconv {ours}"
        return None
    if theirs[0] == "ok":
        return None if said == theirs else f"{where}: TensorFlow {theirs[1]} ({described}), symconv {ours}"
    if said[0] == "ok":
        return f"{where}: TensorFlow refuses ({described}), symconv {ours}"
    if "stage" in ours and ours["stage"] == "build" and DISAGREE in ours["error"]:
        return f"{where}: TensorFlow refuses alike on every path ({described}), symconv says they disagree"
    return None


def _failures(
    results: list[tuple[dict[str, Any], dict[str, Any]]], api: str, kind: str, backend: bool = False
) -> list[str]:
    """symconv against the library's common answer: all paths for tf.nn and tf-keras; for Keras 3,
    compute_output_shape, or with `backend` the TensorFlow backend's runs (keras.SPEC with backend=tensorflow)."""
    prefix = {"nn": "tf", "keras": "keras", "tf_keras": "tf_keras"}[api]
    bad = []
    for config, outcomes in results:
        if (config["api"], config["kind"]) != (api, kind):
            continue
        chosen = config
        shown = outcomes
        if api == "keras":
            shown = _only(outcomes, "eager", "graph") if backend else _only(outcomes, "shape")
            chosen = {**config, "backend": "tensorflow"} if backend else config
        problem = _check(chosen, tfprobe.consensus(shown), prefix, tfprobe.describe(outcomes))
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
                assert paths[(api, f"{name}@onednn{onednn}")] >= 100, (api, name, onednn, paths)
    verdicts = Counter((c["api"], c["kind"], (tfprobe.consensus(o) or ("split",))[0]) for c, o in runs)
    for api in tfprobe.APIS:
        for kind in tfprobe.KINDS:
            assert verdicts[(api, kind, "ok")] >= 200, (api, kind, verdicts)
            assert verdicts[(api, kind, "refused")] >= 20, (api, kind, verdicts)


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
