"""Rules that depend on how many spatial axes a layer runs on (its rank), against the libraries themselves.

PyTorch's AvgPool3d alone checks every axis before padding (i >= k); Keras' causal padding exists for Conv1D
only; a framework class names its rank (nn.Conv2d: 2), and PyTorch, TensorFlow and Keras have no layer over
more than 3 spatial axes. One scalar spec applied to several sizes is the layer of that rank.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest

from symconv import ShapeError, SpecError, layer
from symconv.cli import main


def _outcome(run: Any, *args: Any) -> tuple[str, Any]:
    try:
        return ("ok", tuple(run(*args)))
    except (ShapeError, SpecError, RuntimeError, ValueError, NotImplementedError):
        return ("refused", None)


def _torch_sizes(module: Any, sizes: tuple[int, ...]) -> Any:
    import torch

    return module(torch.zeros((1, 1, *sizes))).shape[2:]


def _symconv_sizes(text: str, sizes: tuple[int, ...]) -> Any:
    return layer(text).output_size(sizes)


@pytest.mark.parametrize("k,p", [(2, 0), (2, 1), (3, 1), (4, 2), (4, 1)])
def test_avgpool3d_checks_every_axis_before_padding_as_pytorch(k: int, p: int) -> None:
    """Every size triple in 1..6 (both ceil modes): the scalar spec on three sizes, the per-axis spec and the
    constructor refuse exactly where nn.AvgPool3d does, and give its sizes elsewhere."""
    torch = pytest.importorskip("torch")
    refused = 0
    for ceil in (False, True):
        module = torch.nn.AvgPool3d(k, stride=2, padding=p, ceil_mode=ceil)
        flag = "true" if ceil else "false"
        texts = [
            f"torch.avgpool(k={k}, s=2, p={p}, ceil={flag})",
            f"torch.avgpool(k=({k}, {k}, {k}), s=(2, 2, 2), p=({p}, {p}, {p}), ceil={flag})",
            f"nn.AvgPool3d({k}, stride=2, padding={p}, ceil_mode={ceil})",
        ]
        for sizes in itertools.product(range(1, 7), repeat=3):
            expected = _outcome(_torch_sizes, module, sizes)
            refused += expected[0] == "refused"
            for text in texts:
                assert _outcome(_symconv_sizes, text, sizes) == expected, (text, sizes)
    assert refused  # the rule was met


def test_avgpool3d_rule_is_three_axes_only() -> None:
    """AvgPool2d and MaxPool3d pad a short axis: the rule does not apply to them."""
    torch = pytest.importorskip("torch")
    assert tuple(torch.nn.AvgPool2d(3, padding=1)(torch.zeros((1, 1, 2, 9))).shape[2:]) == (1, 3)
    assert layer("torch.avgpool(k=3, p=1)").output_size((2, 9)) == (1, 3)
    assert tuple(torch.nn.MaxPool3d(3, padding=1)(torch.zeros((1, 1, 2, 9, 9))).shape[2:]) == (1, 3, 3)
    assert layer("torch.maxpool(k=3, p=1)").output_size((2, 9, 9)) == (1, 3, 3)
    with pytest.raises(
        ShapeError, match=r"AvgPool3d checks every axis before padding \(i >= k\) \(i=2, k=3\)"
    ):
        layer("torch.avgpool(k=3, p=1)").output_size((2, 9, 9))
    # One size is no rank: the 1-D layer, which pads.
    assert layer("torch.avgpool(k=3, p=1)").output_size(2) == 1


def test_keras_causal_padding_is_conv1d_only() -> None:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    assert keras.layers.Conv1D(2, 3, padding="causal").compute_output_shape((1, 9, 1))[1] == 9
    assert layer("keras.conv(k=3, p=causal)").output_size((9,)) == (9,)
    for cls, sizes in ((keras.layers.Conv2D, (9, 9)), (keras.layers.Conv3D, (9, 9, 9))):
        with pytest.raises(ValueError):
            cls(2, 3, padding="causal")
        with pytest.raises(SpecError, match="padding 'causal' is Conv1D's only"):
            layer("keras.conv(k=3, p=causal)").output_size(sizes)
    with pytest.raises(SpecError, match=r"layers.Conv1D.* runs on 1 spatial axis; the input has 2"):
        layer('layers.Conv1D(2, 3, padding="causal")').output_size((9, 9))


def test_a_class_names_its_rank_as_pytorch_checks_it() -> None:
    torch = pytest.importorskip("torch")
    conv = torch.nn.Conv2d(1, 1, 3)
    with pytest.raises(RuntimeError):
        conv(torch.zeros((1, 1, 9, 9, 9)))
    with pytest.raises(SpecError, match=r"runs on 2 spatial axes; the input has 3 \(9, 9, 9\)"):
        layer("nn.Conv2d(1, 1, 3)").output_size((9, 9, 9))
    assert layer("nn.Conv2d(1, 1, 3)").output_size((9, 8)) == tuple(conv(torch.zeros((1, 1, 9, 8))).shape[2:])
    # One size is every axis that size (as before); the rank's rules apply to it.
    assert layer("nn.Conv2d(1, 1, 3)").output_size(9) == 7
    with pytest.raises(ShapeError, match="AvgPool3d"):
        layer("nn.AvgPool3d(3, padding=1)").output_size(2)


def test_no_layer_over_four_axes_in_pytorch_keras_and_tensorflow() -> None:
    torch = pytest.importorskip("torch")
    assert not hasattr(torch.nn, "Conv4d") and not hasattr(torch.nn, "MaxPool4d")
    with pytest.raises(RuntimeError):
        torch.nn.functional.conv3d(torch.zeros((1, 1, 4, 4, 4, 4)), torch.zeros((1, 1, 1, 1, 1)))
    with pytest.raises(NotImplementedError):
        torch.nn.functional.interpolate(torch.zeros((1, 1, 2, 2, 2, 2)), scale_factor=2)
    for text in ("torch.conv(k=3)", "keras.maxpool(k=2)", "tf.conv(k=3)", "nn.Upsample(scale_factor=2)"):
        with pytest.raises(SpecError, match=r"layers run on 1 to 3 spatial axes .* not 4"):
            layer(text).output_size((9, 9, 9, 9))
    with pytest.raises(SpecError, match="not 4"):
        layer("torch.conv(k=(3, 3, 3, 5))")
    # ONNX and JAX take any number of axes.
    assert layer("onnx.conv(k=3)").output_size((9, 9, 9, 9)) == (7, 7, 7, 7)
    assert layer("jax.conv(k=3)").output_size((9, 9, 9, 9)) == (7, 7, 7, 7)


def test_rank_refusals_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shape", "nn.Conv2d(3, 8, 3)", "--in", "9,9,9"]) == 2
    err = capsys.readouterr().err
    assert "runs on 2 spatial axes; the input has 3" in err and "Traceback" not in err
    assert main(["shape", "torch.avgpool(k=3, p=1)", "--in", "2,9,9"]) == 2
    assert "AvgPool3d" in capsys.readouterr().err
    assert main(["shape", "torch.avgpool(k=3, p=1)", "--in", "2,9", "--json"]) == 0


def test_a_network_of_three_axes_has_avgpool3d_rule() -> None:
    """An imported AvgPool3d(3, padding=1) (one value for every axis) refuses a short axis as PyTorch does: the
    valid set of every axis and the output sizes agree with running the model on every size 1..10."""
    torch = pytest.importorskip("torch")
    from symconv.nets.importers.torch import from_torch

    model = torch.nn.Sequential(torch.nn.Conv3d(1, 1, 1), torch.nn.AvgPool3d(3, stride=2, padding=1))
    net = from_torch(model, (1, 1, "D", "H", "W"))
    valid = net.valid_inputs()
    for axis, dim in enumerate(net.dims):
        for n in range(1, 11):
            sizes = [6, 6, 6]
            sizes[axis] = n
            real = _outcome(_torch_sizes, model, tuple(sizes))
            assert (n in valid[dim]) == (real[0] == "ok"), (dim, n)
            if real[0] == "ok":
                assert tuple(net.check(dict(zip(net.dims, sizes, strict=True))).values()) == real[1]
    assert valid["D"].describe()["from"] == 3


def test_pixel_shuffle_is_two_axes_in_pytorch() -> None:
    """pixel_shuffle rearranges the last two axes and reads the one before as the channels: over three spatial
    axes it does not scale D (it takes D for the channels), so a 3-axis spec is refused, not given D*r."""
    torch = pytest.importorskip("torch")
    shuffled = torch.nn.PixelShuffle(2)(torch.zeros((1, 8, 4, 3, 3)))
    assert tuple(shuffled.shape[2:]) == (1, 6, 6)
    with pytest.raises(SpecError, match="torch pixelshuffle runs on at most 2 spatial axes"):
        layer("torch.pixelshuffle(r=2)").output_size((4, 3, 3))
    with pytest.raises(SpecError, match="pixelunshuffle runs on at most 2"):
        layer("nn.PixelUnshuffle(2)").output_size((4, 4, 4))
    for h, w in itertools.product(range(1, 6), repeat=2):
        real = tuple(torch.nn.PixelShuffle(2)(torch.zeros((1, 4, h, w))).shape[2:])
        assert layer("torch.pixelshuffle(r=2)").output_size((h, w)) == real
