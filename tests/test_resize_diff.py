"""Nearest resizing to a size in JAX (jax.image.resize, which Keras' Resizing runs on its JAX backend, and whose
pixel-centre rule TensorFlow's tf.image.resize shares) against symconv's window maps: output j reads
floor((j + 1/2) i/o), not PyTorch's floor(j i/o)."""

from __future__ import annotations

import random

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # real frameworks or whole models: -m "not slow" skips it

jax = pytest.importorskip("jax")

from tests.differential import interval_map  # noqa: E402


def _jax_reads(i: int, o: int) -> list[int]:
    """The input each output copies: resize the identity, read where each output column's 1 came from."""
    out = np.asarray(jax.image.resize(np.eye(i, dtype=np.float32), (i, o), method="nearest"))
    return [int(np.argmax(out[:, j])) for j in range(o)]


def _on_a_boundary(i: int, o: int) -> bool:
    """Whether some output's centre falls exactly on an input boundary ((j + 1/2) i/o an integer), where a
    rule that rounds otherwise (floor of a float product, round-half-even) reads another input."""
    return any((2 * j + 1) * i % (2 * o) == 0 for j in range(o))


def test_half_pixel_nearest_matches_jax() -> None:
    # Each shape costs JAX a compilation (~0.1 s): 150 random shapes, two thirds of them with a centre exactly
    # on a boundary, where the rules part.
    rng = random.Random(5)
    cases = [(7, 5), (26, 22), (9, 55), (1, 3), (3, 1)]
    pairs = [(i, o) for i in range(1, 61) for o in range(1, 121)]
    tied = [pair for pair in pairs if _on_a_boundary(*pair)]
    cases += rng.sample(tied, 100) + rng.sample(pairs, 50)
    for i, o in cases:
        mapping = interval_map(f"jax.upsample(size={o})")
        ours = [mapping.bounds(i, j)[0] for j in range(o)]
        assert ours == _jax_reads(i, o), (i, o)


def test_the_conventions_differ_where_the_centres_do() -> None:
    # PyTorch maps output corners (floor(j*i/o)), JAX, Keras and TF pixel centres.
    torch_reads = [interval_map("torch.upsample(size=5)").bounds(7, j)[0] for j in range(5)]
    assert torch_reads == [0, 1, 2, 4, 5]
    assert [interval_map("keras.upsample(size=5)").bounds(7, j)[0] for j in range(5)] == [0, 2, 3, 4, 6]


def test_tf_rounding_differs_from_jax_where_the_product_rounds() -> None:
    # The same pixel-centre rule in float32, rounded in a different order. Exactly, output 18 of 37 from 6
    # sits on input 3 (18.5 * 6/37 = 3): JAX's (j + 0.5) * (i * (1/o)) keeps 3, TF's (j + 0.5) * (i/o) falls
    # just below it; at o = 61 it is the other way round.
    def first(spec: str, i: int, j: int) -> int:
        return interval_map(spec).bounds(i, j)[0]

    assert (first("jax.upsample(size=37)", 6, 18), first("tf.upsample(size=37)", 6, 18)) == (3, 2)
    assert (first("jax.upsample(size=61)", 6, 30), first("tf.upsample(size=61)", 6, 30)) == (2, 3)
