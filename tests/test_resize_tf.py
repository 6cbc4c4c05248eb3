"""Nearest resizing as TensorFlow, tf-keras and Keras 3 (TensorFlow backend) run it, against symconv's window maps.

One child process imports TensorFlow once and resizes a column holding each input's index, so every output value
is the input position it copies: tf.image.resize(method="nearest") (the `tf.` rule), tf_keras.layers.Resizing and
UpSampling2D (`tf_keras.`), keras.layers.Resizing and UpSampling2D on the TensorFlow backend (`keras.`). The
sizes are random (i up to 90, o up to 200) plus the small cases where the float32 rounding of (j + 1/2) i/o
decides the index.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow  # real frameworks or whole models: -m "not slow" skips it

pytest.importorskip("tensorflow")
pytest.importorskip("tf_keras")

from symconv import layer  # noqa: E402
from tests.differential import interval_map  # noqa: E402

CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    import tf_keras
    import keras

    cases = json.loads(sys.stdin.read())
    out = {}
    for i, o, r in cases:
        column = np.arange(i, dtype=np.float32).reshape(1, i, 1, 1)
        reads = {
            "tf": tf.image.resize(column, (o, 1), method="nearest"),
            "tf_keras": tf_keras.layers.Resizing(o, 1, interpolation="nearest")(column),
            "keras": keras.layers.Resizing(o, 1, interpolation="nearest")(column),
            "tf_keras_scale": tf_keras.layers.UpSampling2D(size=(r, 1), interpolation="nearest")(column),
            "keras_scale": keras.layers.UpSampling2D(size=(r, 1), interpolation="nearest")(column),
        }
        out[f"{i},{o},{r}"] = {name: [int(v) for v in np.asarray(x).reshape(-1)] for name, x in reads.items()}
    print(json.dumps(out))
    """
)


def _cases() -> list[tuple[int, int, int]]:
    rng = random.Random(11)
    cases = [(7, 5, 2), (1, 3, 3), (3, 1, 1), (26, 22, 4), (9, 55, 5), (40, 41, 2), (41, 40, 3)]
    cases += [(rng.randint(1, 90), rng.randint(1, 200), rng.randint(1, 6)) for _ in range(150)]
    return cases


@pytest.fixture(scope="module")
def tensorflow_reads() -> dict[str, dict[str, list[int]]]:
    env = {
        **os.environ,
        "KERAS_BACKEND": "tensorflow",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",
    }
    run = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=json.dumps(_cases()),
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=True,
    )
    reads: dict[str, dict[str, list[int]]] = json.loads(run.stdout.strip().splitlines()[-1])
    return reads


def _ours(spec: str, i: int, o: int) -> list[int]:
    mapping = interval_map(spec)
    starts = []
    for j in range(o):
        first, last = mapping.bounds(i, j)
        assert first == last, (spec, i, j)  # nearest reads one input
        starts.append(first)
    return starts


@pytest.mark.parametrize(
    ("prefix", "extra"), [("tf", ""), ("tf_keras", ""), ("keras", ", backend=tensorflow")]
)
def test_nearest_to_a_size_reads_what_tensorflow_reads(
    prefix: str, extra: str, tensorflow_reads: dict[str, dict[str, list[int]]]
) -> None:
    differ = 0
    for i, o, r in _cases():
        theirs = tensorflow_reads[f"{i},{o},{r}"][prefix]
        assert _ours(f"{prefix}.upsample(size={o}{extra})", i, o) == theirs, (prefix, i, o)
        differ += theirs != _ours(f"jax.upsample(size={o})", i, o)
    # Keras 3 on its default JAX backend reads jax.image.resize's indices: `keras.` without a backend is that
    # rule, and it differs from TensorFlow's on some sizes (float32 rounding where (j + 1/2) i/o is an integer).
    assert differ > 0


@pytest.mark.parametrize("prefix", ["tf_keras", "keras"])
def test_nearest_by_a_scale_reads_what_upsampling_reads(
    prefix: str, tensorflow_reads: dict[str, dict[str, list[int]]]
) -> None:
    for i, o, r in _cases():
        theirs = tensorflow_reads[f"{i},{o},{r}"][f"{prefix}_scale"]
        made = layer(f"{prefix}.upsample(scale={r})")
        assert made.output_size(i) == len(theirs) == i * r
        assert _ours(f"{prefix}.upsample(scale={r})", i, i * r) == theirs, (prefix, i, r)
