"""tf.convT's window map (the gradient of the forward convolution over its output_shape) against
tf.nn.conv2d_transpose, by impulse probing in a child process (TensorFlow's import is slow and its oneDNN state
is process-wide): output q changes exactly when an input its window reads is set."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # real frameworks or whole models: -m "not slow" skips it

from symconv import layer  # noqa: E402
from symconv.core.frameworks import tf_transpose_output_range  # noqa: E402
from symconv.core.windowmap import windows  # noqa: E402

pytest.importorskip("tensorflow")

CHILD = """
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
out = []
for k, s, i, o, mode in json.loads(sys.stdin.read()):
    w = tf.constant((2.0 ** np.arange(k)).reshape(1, k, 1, 1), tf.float32)
    x = np.zeros((i, 1, i, 1), np.float32)
    for p in range(i):
        x[p, 0, p, 0] = 1
    y = tf.nn.conv2d_transpose(x, w, (i, 1, o, 1), (1, s), mode).numpy()[:, 0, :, 0]
    out.append([[int(p) for p in np.nonzero(y[:, q])[0]] for q in range(o)])
print(json.dumps(out))
"""


def _configs(count: int) -> list[tuple[int, int, int, int, str]]:
    rng = random.Random(8)
    found: list[tuple[int, int, int, int, str]] = []
    while len(found) < count:
        k, s, i, mode = rng.randint(1, 5), rng.randint(1, 4), rng.randint(1, 9), rng.choice(("SAME", "VALID"))
        low, high = tf_transpose_output_range(i, k, s, mode)
        found.append((k, s, i, rng.randint(low, high), mode))
    return found


@pytest.mark.parametrize("onednn", ["0", "1"])
def test_tf_conv_transpose_windows_match_tensorflow(onednn: str) -> None:
    configs = _configs(120)
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn}
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=json.dumps(configs),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    real = json.loads(done.stdout.strip().splitlines()[-1])
    for (k, s, i, o, mode), reads in zip(configs, real, strict=True):
        made = layer(f"tf.convT(k={k}, s={s}, p={mode.lower()}, output_shape={o})")
        ours = [
            sorted(p for p, held in zip(w.positions, w.holds, strict=True) if held == "input")
            for w in windows(made, i)
        ]
        assert ours == reads, (k, s, i, o, mode)
