"""Parameters that differ between spatial axes: the spec grammar, per-axis layers, commands and networks.

The grammar reads a tuple as one value per spatial axis (k=(3, 5), p=(1, 2) is H=1, W=2 as PyTorch writes it),
a pair inside it as one axis' (begin, end) padding (p=((1, 2), (0, 0)) as JAX and Keras write it, p=[(1, 2)] for
one axis), and ONNX's flat pads in ONNX's order. Differential checks run the real libraries on random per-axis
configurations: an output shape must equal symconv's, and where the library refuses, symconv must refuse too.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
from collections.abc import Callable
from typing import Any

import pytest

from symconv import ShapeError, SpecError, layer
from symconv.cli import main
from symconv.core.layers import Axes, Conv
from symconv.core.parse import PerAxis, parse_spec
from symconv.nets.network import chain, from_toml

SEED = 20261130


def test_a_tuple_is_one_value_per_axis() -> None:
    made = layer("conv(k=(3, 5), s=(1, 2), p=(1, 2))")
    assert isinstance(made, Axes) and made.axes == 2
    assert made.output_size((10, 12)) == (10, 6)
    assert made.axis(0) == layer("conv(k=3, s=1, p=1)")
    assert made.axis(1).output_size(12) == 6


def test_p_pair_is_two_axes_and_a_list_of_one_pair_is_one_axis() -> None:
    # The old reading of p=(1, 2) (begin 1, end 2 on one axis) is now written p=[(1, 2)].
    assert layer("torch.conv(k=3, p=(0, 1))").output_size((10, 10)) == (8, 10)
    one = layer("conv(k=3, p=[(1, 2)])")
    assert isinstance(one, Conv) and (one.pb, one.pe) == (1, 2)
    assert one.output_size(10) == 11
    assert layer("conv(k=3, p=((1, 2), (0, 0)))").output_size((10, 10)) == (11, 8)
    assert layer("conv(k=3, p=((1, 2), 3))").output_size((10, 10)) == (11, 14)


def test_onnx_pads_are_begins_then_ends() -> None:
    spec = parse_spec("onnx.conv(k=3, pads=[1, 0, 2, 0])")
    pads = dict(spec.args)["p"]
    assert isinstance(pads, PerAxis) and pads.values == ((1, 2), 0)
    assert layer("onnx.conv(k=3, pads=[1, 0, 2, 0])").output_size((10, 10)) == (11, 8)
    # pads with one axis: (begin, end) of that axis.
    assert layer("onnx.conv(k=3, pads=[1, 2])").output_size(10) == 11


def test_an_input_of_other_axes_names_both_readings() -> None:
    with pytest.raises(SpecError) as info:
        layer("conv(k=3, p=(1, 2))").output_size(10)
    message = str(info.value)
    assert "p=(1, 2) gives one padding per spatial axis (2 axes) but the input has 1" in message
    assert "to pad one axis by 1 before and 2 after, write p=[(1, 2)]" in message
    # PyTorch pads both ends alike: no begin/end reading is offered.
    with pytest.raises(SpecError) as info:
        layer("torch.conv(k=3, p=(1, 2))").output_size(10)
    assert "write p=[" not in str(info.value)


def test_scalar_specs_keep_todays_layer() -> None:
    made = layer("conv(k=3, s=2, p=1)")
    assert isinstance(made, Conv) and not isinstance(made, Axes)
    assert made.output_size((224, 31)) == (112, 16)


def test_symbolic_sizes_and_uniform_axes() -> None:
    from symconv.core.arith import symbol

    made = layer("conv(k=(3, 5), s=(1, 2))")
    assert isinstance(made, Axes)
    h, w = symbol("H"), symbol("W")
    assert made.output_size((h, w)) == (h - 2, made.axis(1).output_expr(w))
    assert made.uniform is None
    same = layer("conv(k=(3, 3), s=(2, 2))")
    assert isinstance(same, Axes) and same.uniform is not None
    assert dataclasses.replace(same.uniform, spec="conv(k=3, s=2)") == layer("conv(k=3, s=2)")
    assert made.is_defined((3, 5)) and not made.is_defined((3, 4))
    latex = made._repr_latex_()
    assert latex is not None and "o_0" in latex and "o_1" in latex


def test_shape_command_per_axis(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shape", "conv(k=(3, 5), s=(1, 2))", "--in", "10,12", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"output": [8, 4]}


def test_one_axis_commands_take_an_axis(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["windows", "conv(k=(3, 5), s=(1, 2))", "--in", "5,6", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [len(axis["windows"]) for axis in data["axes"]] == [3, 1]
    assert main(["windows", "conv(k=(3, 5), s=(1, 2))", "--in", "6", "--axis", "1", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["windows"]) == 1
    assert (
        main(["solve", "conv(k=(3, ?), s=(1, 2))", "--in", "10", "--out", "3", "--axis", "1", "--json"]) == 0
    )
    assert [s["k"] for s in json.loads(capsys.readouterr().out)["solutions"]] == [5, 6]
    # Every axis the same layer: no --axis needed.
    assert main(["invert", "conv(k=(3, 3), s=(2, 2), p=(1, 1))", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["round_trip"] == "proved"


def test_chain_axes_come_from_the_per_axis_layers() -> None:
    net = chain("conv(k=(3, 5), s=(1, 2)) > maxpool(k=2)")
    assert net.dims == ("H", "W")
    valid = net.valid_inputs()
    for dim, axis in (("H", 0), ("W", 1)):
        for n in range(1, 40):
            sizes = (n, 40) if axis == 0 else (40, n)
            try:
                first = layer("conv(k=(3, 5), s=(1, 2))").output_size(sizes)
                expected = layer("maxpool(k=2)").output_size(first)[axis]
            except ShapeError:
                expected = None
            assert (n in valid[dim]) == (expected is not None), (dim, n)
            if expected is not None:
                assert net.check({"H": sizes[0], "W": sizes[1]})[dim] == expected
    fields = {dim: net.receptive_fields(dim=dim)[net.output].r for dim in net.dims}
    assert fields == {"H": 4, "W": 7}


def test_toml_network_takes_its_axes_from_per_axis_layers() -> None:
    net = from_toml(
        '[[node]]\nlayer = "conv(k=(1, 7), p=(0, 3))"\n[[node]]\nlayer = "conv(k=(7, 1), p=(3, 0))"\n'
    )
    assert net.dims == ("H", "W")
    assert {dim: str(size) for dim, size in net.output_size().items()} == {"H": "H", "W": "W"}


# Differential against PyTorch: per-axis parameters on 1, 2 and 3 spatial axes.


def _torch_outcome(
    build: tuple[Any, tuple[Any, ...], dict[str, Any]], sizes: tuple[int, ...]
) -> tuple[str, Any]:
    torch = pytest.importorskip("torch")
    cls, args, kwargs = build
    try:
        module = cls(*args, **kwargs)
        out = module(torch.zeros((1, 2, *sizes)))
    except (RuntimeError, ValueError):
        return ("refused", None)
    return ("ok", tuple(out.shape[2:]))


def _symconv_outcome(text: str, sizes: tuple[int, ...]) -> tuple[str, Any]:
    try:
        made = layer(text)
        out = made.output_size(sizes if len(sizes) > 1 or isinstance(made, Axes) else sizes[0])
    except (ShapeError, SpecError):
        return ("refused", None)
    return ("ok", out if isinstance(out, tuple) else (out,))


def _draw(rng: random.Random, axes: int, low: int, high: int) -> tuple[int, ...]:
    return tuple(rng.randint(low, high) for _ in range(axes))


def _text(values: tuple[int, ...]) -> str:
    return f"({', '.join(map(str, values))})" if len(values) > 1 else f"[{values[0]}]"


@pytest.mark.parametrize("axes", [1, 2, 3])
def test_torch_per_axis_layers_match_pytorch(axes: int) -> None:
    torch = pytest.importorskip("torch")
    nn = torch.nn
    rng = random.Random(SEED + axes)
    conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[axes]
    convT = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[axes]
    maxpool = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}[axes]
    avgpool = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}[axes]
    checked = refused = 0
    for _ in range(120 if axes < 3 else 60):
        op = rng.choice(["conv", "convT", "maxpool", "avgpool"])
        k, s, d = _draw(rng, axes, 1, 5), _draw(rng, axes, 1, 3), _draw(rng, axes, 1, 2)
        p = _draw(rng, axes, 0, 3)
        sizes = _draw(rng, axes, 1, 12)
        if op == "conv":
            text = f"torch.conv(k={_text(k)}, s={_text(s)}, p={_text(p)}, d={_text(d)})"
            build: Any = (conv, (2, 2, k), {"stride": s, "padding": p, "dilation": d})
        elif op == "convT":
            a = tuple(rng.randint(0, 2) for _ in range(axes))
            text = f"torch.convT(k={_text(k)}, s={_text(s)}, p={_text(p)}, a={_text(a)}, d={_text(d)})"
            build = (convT, (2, 2, k), {"stride": s, "padding": p, "output_padding": a, "dilation": d})
        else:
            ceil = rng.random() < 0.5
            flag = "true" if ceil else "false"
            if op == "maxpool":
                text = f"torch.maxpool(k={_text(k)}, s={_text(s)}, p={_text(p)}, d={_text(d)}, ceil={flag})"
                build = (maxpool, (k,), {"stride": s, "padding": p, "dilation": d, "ceil_mode": ceil})
            else:
                text = f"torch.avgpool(k={_text(k)}, s={_text(s)}, p={_text(p)}, ceil={flag})"
                build = (avgpool, (k,), {"stride": s, "padding": p, "ceil_mode": ceil})
        expected = _torch_outcome(build, sizes)
        assert _symconv_outcome(text, sizes) == expected, (text, sizes)
        checked += 1
        refused += expected[0] == "refused"
    assert checked and 0 < refused < checked  # both outcomes drawn


def test_torch_constructor_syntax_per_axis_matches_pytorch() -> None:
    torch = pytest.importorskip("torch")
    nn = torch.nn
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("nn.Conv2d(3, 8, (1, 7), padding=(0, 3))", lambda: nn.Conv2d(3, 8, (1, 7), padding=(0, 3))),
        ("nn.Conv3d(3, 8, 3, stride=(1, 2, 2))", lambda: nn.Conv3d(3, 8, 3, stride=(1, 2, 2))),
        ("nn.MaxPool2d((3, 2), stride=(2, 1))", lambda: nn.MaxPool2d((3, 2), stride=(2, 1))),
        (
            "nn.ConvTranspose2d(3, 8, 3, stride=2, output_padding=(1, 0))",
            lambda: nn.ConvTranspose2d(3, 8, 3, stride=2, output_padding=(1, 0)),
        ),
    ]
    for text, build in cases:
        made = layer(text)
        axes = 3 if "3d" in text else 2
        for n in range(1, 12):
            sizes = tuple(n + axis for axis in range(axes))
            try:
                real: Any = ("ok", tuple(build()(torch.zeros((1, 3, *sizes))).shape[2:]))
            except RuntimeError:
                real = ("refused", None)
            try:
                ours: Any = ("ok", made.output_size(sizes))
            except ShapeError:
                ours = ("refused", None)
            assert ours == real, (text, sizes)


def test_torch_refuses_a_begin_end_pair() -> None:
    with pytest.raises(SpecError, match="pads both ends of an axis alike"):
        layer("torch.conv(k=3, p=((1, 2), (0, 0)))")


def test_inception_like_module_per_axis_matches_pytorch() -> None:
    """A network with (1, 7) and (7, 1) kernels, strided on one axis only: valid sets and output sizes per axis
    equal running the module on every size 1..64 of each axis, the other held at a valid size."""
    torch = pytest.importorskip("torch")
    from torch import nn

    from symconv.nets.importers.torch import from_torch

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(4, 4, (1, 7), padding=(0, 3))
            self.b = nn.Conv2d(4, 4, (7, 1), padding=(3, 0))
            self.c = nn.Conv2d(4, 4, (3, 1), stride=(2, 1))
            self.pool = nn.MaxPool2d((2, 3), stride=(2, 2), ceil_mode=True)

        def forward(self, x: Any) -> Any:
            y = self.b(self.a(x)) + x
            return self.pool(self.c(y))

    model = Block().eval()
    net = from_torch(model, (1, 4, "H", "W"))
    valid = net.valid_inputs()
    for dim in ("H", "W"):
        for n in range(1, 65):
            sizes = {"H": n, "W": 17} if dim == "H" else {"H": 17, "W": n}
            try:
                with torch.no_grad():
                    out: Any = tuple(model(torch.zeros((1, 4, sizes["H"], sizes["W"]))).shape[2:])
            except RuntimeError:
                out = None
            assert (n in valid[dim]) == (out is not None), (dim, n)
            if out is not None:
                assert tuple(net.check(sizes).values()) == out, (dim, n)


# ONNX: per-axis pads, strides, kernels and dilations through the constructor syntax, against shape inference
# (the standard, onnx.) and onnxruntime (ort.).


def _onnx_shape(attributes: dict[str, Any], op: str, sizes: tuple[int, int], runtime: bool) -> Any:
    onnx = pytest.importorskip("onnx")
    np = pytest.importorskip("numpy")
    from onnx import TensorProto, helper, numpy_helper

    inputs = ["x", "w"] if op == "Conv" else ["x"]
    kernel = attributes["kernel_shape"]
    node = helper.make_node(op, inputs, ["y"], **attributes)
    weights = (
        [numpy_helper.from_array(np.ones((1, 1, *kernel), dtype=np.float32), "w")] if op == "Conv" else []
    )
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, *sizes])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)], ir_version=10)
    if not runtime:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        dims = inferred.graph.output[0].type.tensor_type.shape.dim
        return tuple(d.dim_value for d in dims[2:])
    ort = pytest.importorskip("onnxruntime")
    try:
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        (out,) = session.run(None, {"x": np.zeros((1, 1, *sizes), dtype=np.float32)})
    except Exception:  # onnxruntime's refusals are its own exception types
        return None
    return tuple(out.shape[2:])


def test_onnx_per_axis_attributes_match_shape_inference_and_onnxruntime() -> None:
    pytest.importorskip("onnx")
    rng = random.Random(SEED)
    checked = 0
    for _ in range(60):
        op = rng.choice(["Conv", "MaxPool", "AveragePool"])
        kernel = [rng.randint(1, 4), rng.randint(1, 4)]
        attributes: dict[str, Any] = {
            "kernel_shape": kernel,
            "strides": [rng.randint(1, 3), rng.randint(1, 3)],
            "pads": [rng.randint(0, kernel[axis % 2] - 1) for axis in range(4)],
        }
        if op == "Conv":
            attributes["dilations"] = [rng.randint(1, 2), rng.randint(1, 2)]
        sizes = (rng.randint(6, 14), rng.randint(6, 14))
        arguments = ", ".join(f"{name}={value}" for name, value in attributes.items())
        text = f"make_node({op!r}, ['x'], ['y'], {arguments})"
        ours = layer(text).output_size(sizes)
        assert ours == _onnx_shape(attributes, op, sizes, runtime=False), text
        assert ours == _onnx_shape(attributes, op, sizes, runtime=True), text
        checked += 1
    assert checked == 60


# Keras 3 (numpy backend) on real arrays: tuple kernels and strides.


def test_keras_tuple_kernels_and_strides_match_keras() -> None:
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    keras = pytest.importorskip("keras")
    np = pytest.importorskip("numpy")
    rng = random.Random(SEED)
    for _ in range(40):
        k, s = (rng.randint(1, 5), rng.randint(1, 5)), (rng.randint(1, 3), rng.randint(1, 3))
        padding = rng.choice(["valid", "same"])
        kind = rng.choice(["Conv2D", "MaxPooling2D", "AveragePooling2D"])
        sizes = (rng.randint(5, 14), rng.randint(5, 14))
        if kind == "Conv2D":
            text = f"layers.Conv2D(2, {k}, strides={s}, padding={padding!r})"
            real = keras.layers.Conv2D(2, k, strides=s, padding=padding)
        else:
            text = f"layers.{kind}({k}, strides={s}, padding={padding!r})"
            real = getattr(keras.layers, kind)(k, strides=s, padding=padding)
        out = real(np.zeros((1, *sizes, 2), dtype="float32"))
        assert layer(text).output_size(sizes) == tuple(out.shape[1:3]), (text, sizes)


def test_net_reports_receptive_fields_per_axis(capsys: pytest.CaptureFixture[str]) -> None:
    text = "conv(k=(1, 7), p=(0, 3)) > conv(k=(7, 1), p=(3, 0)) > maxpool(k=(2, 3), s=2)"
    assert main(["net", text, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_axis = data["receptive_field_by_axis"]
    # r = 1 + sum (k_l - 1) * (product of the strides before): H 1 + 0 + 6 + 1, W 1 + 6 + 0 + 2.
    assert (by_axis["H"]["n3"]["size"], by_axis["W"]["n3"]["size"]) == (8, 9)
    assert by_axis["H"] == data["receptive_field"]
    assert data["output_size"] == {"H": "floor(H/2)", "W": "floor(W/2 - 3/2) + 1"}


def test_onnx_importer_reads_per_axis_nodes_as_onnxruntime_runs_them(tmp_path: Any) -> None:
    """A model with per-axis kernels, strides, pads and auto_pad: the network's sizes per axis equal
    onnxruntime's on every size 1..20 of each axis (the other held at 16), refusals included."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    np = pytest.importorskip("numpy")
    from onnx import TensorProto, helper, numpy_helper

    from symconv.nets.importers.onnx import from_onnx

    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], kernel_shape=[1, 7], pads=[0, 3, 0, 3]),
        helper.make_node(
            "Conv", ["a", "w2"], ["b"], kernel_shape=[3, 1], strides=[2, 1], auto_pad="SAME_UPPER"
        ),
        helper.make_node("MaxPool", ["b"], ["c"], kernel_shape=[2, 3], strides=[1, 2], pads=[1, 0, 0, 1]),
    ]
    weights = [
        numpy_helper.from_array(np.ones((1, 1, 1, 7), dtype=np.float32), "w1"),
        numpy_helper.from_array(np.ones((1, 1, 3, 1), dtype=np.float32), "w2"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, "H", "W"])],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, ["n", "c", "h", "w"])],
        initializer=weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)], ir_version=10)
    path = tmp_path / "per_axis.onnx"
    onnx.save(model, str(path))
    net = from_onnx(path, convention="ort")
    assert any(isinstance(node.layer, Axes) for node in net.nodes)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for dim in net.dims:
        for n in range(1, 21):
            sizes = {net.dims[0]: 16, net.dims[1]: 16, dim: n}
            try:
                (out,) = session.run(None, {"x": np.zeros((1, 1, *sizes.values()), dtype=np.float32)})
                real: Any = tuple(out.shape[2:])
            except Exception:  # onnxruntime's refusals are its own exception types
                real = None
            try:
                ours: Any = tuple(net.check(sizes).values())
            except ShapeError:
                ours = None
            assert ours == real, (dim, n)


def test_keras_refusals_read_across_axes() -> None:
    """Keras checks its tuples whole: a stride > 1 on one axis with a dilation > 1 on another, and 'causal'
    padding on more than one axis, are refused as Keras refuses them (not accepted axis by axis)."""
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    keras = pytest.importorskip("keras")
    cases: list[tuple[str, dict[str, Any]]] = [
        (
            "layers.Conv2D(8, (3, 5), strides=(2, 1), dilation_rate=(1, 2))",
            {"strides": (2, 1), "dilation_rate": (1, 2)},
        ),
        (
            "layers.Conv2D(8, (3, 5), strides=(1, 2), padding='causal')",
            {"strides": (1, 2), "padding": "causal"},
        ),
        ("layers.Conv2D(8, (3, 5), strides=(1, 2), dilation_rate=(1, 1))", {"strides": (1, 2)}),
    ]
    for text, options in cases:
        try:
            keras.layers.Conv2D(8, (3, 5), **options).compute_output_shape((1, 9, 9, 1))
            theirs: Any = "ok"
        except ValueError:
            theirs = "refused"
        try:
            layer(text).output_size((9, 9))
            ours = "ok"
        except (ShapeError, SpecError):
            ours = "refused"
        assert ours == theirs, text


def test_keras_transposed_refusals_read_across_axes() -> None:
    """Conv2DTranspose checks its tuples whole too: a stride > 1 on one axis with a dilation > 1 on another is
    refused at construction (Keras 3 and tf-keras alike), not run axis by axis."""
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    keras = pytest.importorskip("keras")
    for strides, dilation in [((2, 1), (1, 2)), ((1, 3), (2, 1)), ((3, 1), (1, 1)), ((1, 1), (2, 3))]:
        try:
            keras.layers.Conv2DTranspose(1, (1, 7), strides=strides, dilation_rate=dilation)
            theirs: Any = "ok"
        except ValueError:
            theirs = "refused"
        # A dilated transposed convolution on TensorFlow's kernels has refusals of its own (paths that
        # disagree): there the constructor's refusal is asked of every convention, acceptance of Keras 3's.
        views = [("keras", "")] + (
            [("keras", ", backend=tensorflow"), ("tf_keras", "")] if theirs != "ok" else []
        )
        for prefix, extra in views:
            text = f"{prefix}.convT(k=(1, 7), s={strides}, d={dilation}{extra})"
            try:
                layer(text)
                ours = "ok"
            except (ShapeError, SpecError):
                ours = "refused"
            assert ours == theirs, text


def test_axis_takes_that_axis_size_alone(capsys: pytest.CaptureFixture[str]) -> None:
    """--axis N works on one axis: with a size per axis it would apply axis N's layer to every size."""
    assert main(["windows", "conv(k=(3, 5), s=(1, 2))", "--in", "5,7", "--axis", "1"]) == 2
    assert "give its size alone" in capsys.readouterr().err
    assert main(["windows", "conv(k=(3, 5), s=(1, 2))", "--in", "5,7,9"]) == 2
    assert "--in gives 3 sizes but conv(k=(3, 5), s=(1, 2)) has 2 spatial axes" in capsys.readouterr().err
    assert (
        main(["solve", "conv(k=(3, ?), s=(1, 2))", "--in", "12", "--out", "4", "--axis", "1", "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["solutions"] == [{"k": 5}, {"k": 6}]


def test_whole_layer_parameters_and_repeated_axes_are_refused() -> None:
    with pytest.raises(SpecError, match="one value for the whole layer"):
        layer("torch.maxpool(k=(3, 4), ceil=(true, false))")
    with pytest.raises(SpecError, match="name one axis twice"):
        from_toml('dims = ["H", "H"]\n[[node]]\nname = "c"\nlayer = "conv(k=(3, 5))"\ninput = "input"\n')
