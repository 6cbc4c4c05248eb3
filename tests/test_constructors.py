"""Framework constructor syntax: each call read by symconv gives the sizes the real library computes.

Every case is the text a user types and the same call made on the real library (PyTorch, Keras on the numpy
backend, ONNX through onnxruntime); symconv's output size must equal the real output's at several input sizes.
What symconv cannot model is refused with the argument named.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from symconv import SpecError, layer
from symconv.core.parse import parse_spec

SIZES = (9, 16, 31)

# (text, build(nn) -> module, input channels)
TORCH: list[tuple[str, Callable[[Any], Any], int]] = [
    ("nn.Conv2d(3, 64, 3, stride=2, padding=1)", lambda nn: nn.Conv2d(3, 64, 3, stride=2, padding=1), 3),
    ("torch.nn.MaxPool2d(2)", lambda nn: nn.MaxPool2d(2), 1),
    (
        "Conv2d(3, 8, kernel_size=(3, 3), padding='same')",
        lambda nn: nn.Conv2d(3, 8, kernel_size=(3, 3), padding="same"),
        3,
    ),
    (
        "nn.Conv2d(4, 8, 5, 2, 2, 2, groups=2, bias=False)",
        lambda nn: nn.Conv2d(4, 8, 5, 2, 2, 2, groups=2, bias=False),
        4,
    ),
    (
        "nn.Conv2d(3, 8, 4, padding='valid', padding_mode='zeros')",
        lambda nn: nn.Conv2d(3, 8, 4, padding="valid", padding_mode="zeros"),
        3,
    ),
    ("nn.MaxPool2d(3, 2, 1, ceil_mode=True)", lambda nn: nn.MaxPool2d(3, 2, 1, ceil_mode=True), 1),
    (
        "nn.MaxPool2d(kernel_size=3, stride=2, dilation=2, return_indices=False)",
        lambda nn: nn.MaxPool2d(kernel_size=3, stride=2, dilation=2, return_indices=False),
        1,
    ),
    (
        "nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=True)",
        lambda nn: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=True),
        1,
    ),
    ("nn.ConvTranspose2d(8, 4, 4, 2, 1)", lambda nn: nn.ConvTranspose2d(8, 4, 4, 2, 1), 8),
    # Positional order differs for transposed convolutions: output_padding, groups, bias, then dilation.
    (
        "nn.ConvTranspose2d(8, 4, 3, 2, 1, 1, 1, True, 2)",
        lambda nn: nn.ConvTranspose2d(8, 4, 3, 2, 1, 1, 1, True, 2),
        8,
    ),
    ("nn.Conv1d(3, 8, 3, bias=False)", lambda nn: nn.Conv1d(3, 8, 3, bias=False), 3),
    ("nn.Upsample(scale_factor=2.0)", lambda nn: nn.Upsample(scale_factor=2.0), 1),
    (
        "nn.Upsample(scale_factor=3, mode='nearest')",
        lambda nn: nn.Upsample(scale_factor=3, mode="nearest"),
        1,
    ),
    ("nn.PixelShuffle(2)", lambda nn: nn.PixelShuffle(2), 4),
    ("nn.AdaptiveAvgPool2d((7, 7))", lambda nn: nn.AdaptiveAvgPool2d((7, 7)), 1),
    ("nn.AdaptiveMaxPool2d(5)", lambda nn: nn.AdaptiveMaxPool2d(5), 1),
]


def _torch_size(module: Any, channels: int, n: int, one_axis: bool) -> int:
    import torch

    shape = (1, channels, n) if one_axis else (1, channels, n, n)
    with torch.no_grad():
        return int(module(torch.zeros(shape)).shape[-1])


@pytest.mark.parametrize(("text", "build", "channels"), TORCH, ids=[case[0][:48] for case in TORCH])
def test_torch_constructor_matches_pytorch(text: str, build: Callable[[Any], Any], channels: int) -> None:
    nn = pytest.importorskip("torch.nn")
    module = build(nn)
    one_axis = "1d" in text
    made = layer(text)
    for n in SIZES:
        assert made.output_size(n) == _torch_size(module, channels, n, one_axis), (text, n)


KERAS: list[tuple[str, Callable[[Any], Any]]] = [
    ('layers.Conv2D(64, 3, strides=2, padding="same")', lambda L: L.Conv2D(64, 3, strides=2, padding="same")),
    (
        "keras.layers.Conv2D(8, (3, 3), strides=(2, 2), padding='VALID', use_bias=False)",
        lambda L: L.Conv2D(8, (3, 3), strides=(2, 2), padding="valid", use_bias=False),
    ),
    (
        "layers.Conv2D(8, 3, 1, 'same', 'channels_last', 2, activation='relu')",
        lambda L: L.Conv2D(8, 3, 1, "same", "channels_last", 2, activation="relu"),
    ),
    ("layers.MaxPooling2D()", lambda L: L.MaxPooling2D()),
    ("tf.keras.layers.MaxPool2D(3, 2, padding='same')", lambda L: L.MaxPool2D(3, 2, padding="same")),
    (
        "layers.AveragePooling2D(pool_size=(3, 3), strides=2)",
        lambda L: L.AveragePooling2D(pool_size=(3, 3), strides=2),
    ),
    (
        "layers.Conv2DTranspose(8, 3, strides=2, padding='same')",
        lambda L: L.Conv2DTranspose(8, 3, strides=2, padding="same"),
    ),
    (
        "layers.Conv2DTranspose(8, 4, strides=2, padding='valid', output_padding=1)",
        lambda L: L.Conv2DTranspose(8, 4, strides=2, padding="valid", output_padding=1),
    ),
    ("layers.Conv2DTranspose(8, 3, 2)", lambda L: L.Conv2DTranspose(8, 3, 2)),
    ("layers.UpSampling2D(size=(3, 3))", lambda L: L.UpSampling2D(size=(3, 3))),
]


@pytest.mark.parametrize(("text", "build"), KERAS, ids=[case[0][:48] for case in KERAS])
def test_keras_constructor_matches_keras(text: str, build: Callable[[Any], Any]) -> None:
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    keras = pytest.importorskip("keras")
    np = pytest.importorskip("numpy")
    made = layer(text)
    for n in SIZES:
        real = build(keras.layers)
        out = real(np.zeros((1, n, n, 4), dtype="float32"))
        assert made.output_size(n) == int(out.shape[1]), (text, n)


ONNX: list[tuple[str, int]] = [
    (
        "helper.make_node('MaxPool', ['x'], ['y'], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)",
        0,
    ),
    (
        "onnx.helper.make_node('Conv', ['x', 'w'], ['y'], kernel_shape=[3, 3], strides=[2, 2], auto_pad='SAME_LOWER')",
        3,
    ),
    ("make_node('AveragePool', ['x'], ['y'], kernel_shape=[2, 2], pads=[0, 0, 1, 1])", 0),
    (
        "helper.make_node('Conv', inputs=['x', 'w'], outputs=['y'], kernel_shape=[4, 4], dilations=[2, 2], group=1)",
        4,
    ),
]


@pytest.mark.parametrize(("text", "kernel"), ONNX, ids=[case[0][:48] for case in ONNX])
def test_onnx_make_node_matches_onnxruntime(text: str, kernel: int) -> None:
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    np = pytest.importorskip("numpy")
    from onnx import TensorProto, helper, numpy_helper

    spec = parse_spec(text)
    attributes: dict[str, Any] = {}
    for name in ("kernel_shape", "strides", "pads", "dilations", "auto_pad", "ceil_mode", "group"):
        # The attributes as the text gives them, read back from the tree-walked spec only through symconv;
        # the real node is built from the same literal values.
        marker = f"{name}="
        if marker in text:
            start = text.index(marker) + len(marker)
            end = (
                text.index("]", start) + 1
                if text[start] == "["
                else min(i for i in (text.find(",", start), text.rfind(")")) if i != -1)
            )
            attributes[name] = _literal(text[start:end])
    op = text.split("(", 1)[1].split(",", 1)[0].strip("'\"")
    inputs = ["x", "w"] if op == "Conv" else ["x"]
    made = layer(text)
    assert spec.framework == "onnx"
    for n in SIZES:
        node = helper.make_node(op, inputs, ["y"], **attributes)
        initializers = (
            [numpy_helper.from_array(np.ones((1, 1, kernel, kernel), dtype=np.float32), "w")]
            if kernel
            else []
        )
        graph = helper.make_graph(
            [node],
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, n, n])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
            initializer=initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)], ir_version=10)
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        (out,) = session.run(None, {"x": np.zeros((1, 1, n, n), dtype=np.float32)})
        assert made.output_size(n) == out.shape[-1], (text, n)
    assert onnx is not None


def _literal(text: str) -> Any:
    import ast

    return ast.literal_eval(text.strip())


# What cannot be mapped names the argument.
REFUSED = [
    ("nn.Conv2d(3, 64, 3, groups=2)", "in_channels=3 is not divisible by groups=2"),
    ("nn.Conv2d(3, 64, (3, 5, 1))", "Conv2d argument kernel_size gives 3 values; Conv2d has 2 spatial axes"),
    (
        "nn.Conv2d(3, 64, 3, padding_mode='reflect')",
        "Conv2d argument padding_mode: symconv models zero padding only",
    ),
    ("nn.AvgPool2d(3, count_include_pad=False)", "AvgPool2d argument count_include_pad"),
    ("nn.AvgPool2d(3, divisor_override=2)", "AvgPool2d argument divisor_override"),
    (
        "nn.Upsample(scale_factor=2, mode='bilinear')",
        "Upsample argument mode: symconv models nearest-neighbour",
    ),
    ("nn.Upsample(scale_factor=1.5)", "Upsample argument scale_factor: symconv takes whole scale factors"),
    ("nn.Conv2d(3, 64, 3, zz=1)", "Conv2d has no argument 'zz'"),
    ("nn.Conv2d(3, 64)", "Conv2d needs kernel_size"),
    (
        "nn.Conv2d(3, 64, 3, 1, 0, 1, 1, True, 'zeros', None, None, 7)",
        "Conv2d takes at most 11 positional arguments",
    ),
    ("nn.Conv2d(3, 64, 3, stride=2, stride=1)", "argument stride is given twice"),
    ("nn.Conv2d(3, 64, 3, 2, stride=1)", "Conv2d argument stride is given twice"),
    ("nn.Conv2d(0, 64, 3)", "Conv2d argument in_channels must be a positive integer"),
    ("nn.Conv2d(3, 64, 3, padding='circular')", "Conv2d argument padding: unknown padding 'circular'"),
    ("nn.Conv2d(3, 64, 3, device=torch.device('cpu'))", "Conv2d argument device takes a literal value"),
    ("nn.MaxPool2d(2, ceil_mode='yes')", "MaxPool2d argument ceil_mode takes True or False"),
    ("layers.Conv2d(3, 64, 3)", "layers.Conv2d: Conv2d is PyTorch's; write torch.nn.Conv2d"),
    ("nn.Conv2D(64, 3)", "nn.Conv2D: Conv2D is Keras's; write tf.keras.layers.Conv2D"),
    (
        "layers.Conv2D(64, 3, kernel_initializer=initializers.Ones())",
        "Conv2D argument kernel_initializer takes a literal",
    ),
    ("layers.UpSampling2D(interpolation='bilinear')", "UpSampling2D argument interpolation"),
    ("make_node('Gemm', ['x'], ['y'])", "make_node's first argument names the operator"),
    (
        "make_node('Conv', ['x'], ['y'], kernel_shape=[3], pads=[1, 2, 1, 2])",
        "its lists give different numbers of spatial axes (kernel_shape 1, pads 2)",
    ),
    (
        "make_node('Conv', ['x'], ['y'], kernel_shape=[3], pads=[1, 1, 1])",
        "pads list a begin and an end per axis",
    ),
    (
        "make_node('Conv', ['x'], ['y'], kernel_shape=[3], pads=[1, 1], auto_pad='SAME_UPPER')",
        "pads together with auto_pad",
    ),
    ("make_node('ConvTranspose', ['x'], ['y'], kernel_shape=[3], output_shape=[8])", "argument output_shape"),
    ("nn.Conv2d(3, 64, 3, **kwargs)", "** is not allowed"),
]


@pytest.mark.parametrize(("text", "fragment"), REFUSED, ids=[case[0][:48] for case in REFUSED])
def test_what_cannot_be_mapped_is_refused_naming_the_argument(text: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        layer(text)
    assert fragment in str(info.value)


def test_quoted_strings_and_booleans_in_the_spec_grammar() -> None:
    assert layer("tf.conv(k=3, s=2, p='SAME')").output_size(9) == layer(
        "tf.conv(k=3, s=2, p=same)"
    ).output_size(9)
    assert layer("torch.maxpool(k=2, ceil=True)").output_size(9) == 5
    assert layer("torch.maxpool(k=2, ceil=False)").output_size(9) == 4
    assert parse_spec('onnx.conv(k=3, s=2, auto_pad="SAME_LOWER")').get("p") == "same_lower"


def test_constructors_keep_unknowns_and_symbols_for_solve() -> None:
    from symconv.logic.solve import solve_spec

    answer = solve_spec("nn.Conv2d(3, 64, 3, stride=2, padding=?)", i=224, o=112)
    assert [dict(s) for s in answer.solutions] == [{"p": 1}]
    assert layer("nn.Conv2d(3, 64, k)").output_size(10, k=3) == 8
