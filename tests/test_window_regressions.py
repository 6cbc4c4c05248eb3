"""Wrong answers found and fixed (window-level ports, fields through shuffles, resizing outside PyTorch): each
test states what the libraries do, checked against
symconv's own window maps (which tests/test_windowmap_diff.py checks against the libraries by impulse probing)
or against PyTorch directly."""

from __future__ import annotations

import pytest

from symconv import SpecError, layer
from symconv.core.layers import PixelShuffle
from symconv.core.windowmap import window_key, windows
from symconv.logic.port import SAME_WINDOWS, port
from symconv.nets.network import chain
from symconv.nets.receptive import intervals


def _keys(spec: str, i: int) -> list[tuple[object, ...]]:
    made = layer(spec)
    return [window_key(made, w) for w in windows(made, i)]


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("jax.conv(k=5, s=3, d=3, p=same_lower)", "onnx"),
        ("jax.conv(k=5, s=3, d=3, p=same)", "onnx"),
        # onnxruntime reads x[1] at i = 3 (negative pad at the start); jax.maxpool(p=0) reads x[0].
        ("onnx.maxpool(k=1, s=3, d=2, p=same_upper)", "jax"),
    ],
)
def test_port_same_windows_means_the_same_positions(source: str, target: str) -> None:
    """jax.conv(k=5, s=3, d=3, p=SAME_LOWER) at i = 3 pads (5, 5): JAX reads x[1] with tap 2 (lax, impulse
    probe). port answers "same windows: onnx.conv(k=5, s=3, d=3, p=6), proved (unbounded)", whose tap 2 reads
    x[0]; run on the same input and weights the outputs differ at every i tested (3, 6, 9, 12). The proof compares
    what each tap holds (input or padding), not which input position it reads."""
    result = port(layer(source), target)
    if result.level == SAME_WINDOWS:
        assert result.equivalent is not None
        differ = [i for i in range(1, 25) if _keys(source, i) != _keys(result.equivalent, i)]
        assert not differ, f"{source} and {result.equivalent} read different positions at i in {differ}"
    else:
        # No single layer reads the same positions: the answer pads first (proved), and says so.
        assert result.level == "same windows after a pad", result.level


def _torch_fields(text: str, n: int) -> list[set[int]]:
    """Impulse probing in PyTorch, per spatial axis: PixelUnshuffle/PixelShuffle on (N, C, 1, L) would mix the
    height phases into the channels, so the 1-D shuffles are written as the same reshapes (channel c*r + phase)."""
    torch = pytest.importorskip("torch")
    net = chain(text)
    x = torch.zeros(n, 16, n, dtype=torch.float64)
    x[torch.arange(n), :, torch.arange(n)] = 1.0
    for node in net.nodes:
        if node.op != "layer":
            continue
        shuffle = node.layer
        assert isinstance(shuffle, PixelShuffle), node
        r, (b, c, length) = int(shuffle.r), x.shape
        if shuffle.down:
            x = x.reshape(b, c, length // r, r).permute(0, 1, 3, 2).reshape(b, c * r, length // r)
        else:
            x = x.reshape(b, c // r, r, length).permute(0, 1, 3, 2).reshape(b, c // r, length * r)
    reached = (x > 0).any(dim=1)
    return [{int(t) for t in torch.nonzero(reached[:, j])} for j in range(reached.shape[1])]


@pytest.mark.parametrize(
    "text", ["pixelunshuffle(r=2) > pixelshuffle(r=4)", "pixelunshuffle(r=6) > pixelshuffle(r=2)"]
)
def test_shuffles_by_different_factors(text: str) -> None:
    """An unshuffle by r then a shuffle by another factor: symconv treats the shuffle as if it took the
    unshuffle's phases back out one for one. For unshuffle(2) > shuffle(4) at 8 it says output j reads
    position j (outputs 8..15 read positions past the input); PyTorch's output 2 reads position 0."""
    n = 12
    real = _torch_fields(text, n)
    ours = intervals(chain(text), n)
    wrong = [
        (j, span, sorted(deps))
        for j, (span, deps) in enumerate(zip(ours, real, strict=True))
        if span is None or not all(span[0] <= t <= span[1] for t in deps)
    ]
    assert not wrong, f"fields (j, symconv, PyTorch) that miss a real dependency: {wrong[:4]}"


@pytest.mark.parametrize("framework", ["jax", "onnx", "keras", "tf"])
def test_nearest_resize_to_a_size_outside_pytorch(framework: str) -> None:
    """jax.image.resize(x, (5,), "nearest"), onnxruntime's Resize (mode=nearest, its defaults half_pixel and
    round_prefer_floor) and keras.layers.Resizing(interpolation="nearest") all read [0, 2, 3, 4, 6] from 7
    positions (half-pixel centres; TensorFlow 2's tf.image.resize too). symconv accepts the prefix and gives
    PyTorch's legacy rule floor(j*i/o): [0, 1, 2, 4, 5]."""
    jax = pytest.importorskip("jax")
    import numpy as np

    real = [int(v) for v in np.asarray(jax.image.resize(np.arange(7.0), (5,), "nearest"))]
    assert real == [0, 2, 3, 4, 6]
    if framework == "onnx":
        # ONNX Resize to a size rounds its half-pixel ties in floating point: refused, not guessed.
        with pytest.raises(SpecError, match="ONNX Resize to a size"):
            layer("onnx.upsample(size=5)")
        return
    ours = [w.reads[0] for w in windows(layer(f"{framework}.upsample(size=5)"), 7)]
    assert ours == real
