"""ONNX Slice whose starts and ends are computed from tensors' shapes (Shape -> Gather -> arithmetic ->
Unsqueeze/Concat), as exporters write a centre crop: the importer reads them as size formulas. Every model is
built with onnx.helper and run by onnxruntime on every size 1..N of each axis (the other held), and the output
sizes (or the refusal) must agree with symconv's network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from symconv import ShapeError, SpecError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
numpy = pytest.importorskip("numpy")
helper, TensorProto = onnx.helper, onnx.TensorProto

BIG = 2**62


def _ints(name: str, values: list[int], scalar: bool = False) -> Any:
    return helper.make_tensor(name, TensorProto.INT64, [] if scalar else [len(values)], values)


def _model(nodes: list[Any], constants: list[Any], path: Path, opset: int = 18) -> Path:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, "H", "W"])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 2, "h", "w"])
    graph = helper.make_graph(nodes, "g", [x], [z], initializer=constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def _size(axis: int, source: str, out: str) -> list[Any]:
    """out = the scalar size of `source` along `axis` (Shape -> Gather with a scalar index)."""
    return [
        helper.make_node("Shape", [source], [f"{out}_shape"]),
        helper.make_node("Gather", [f"{out}_shape", f"axis{axis}"], [out], axis=0),
    ]


AXES = [_ints(f"axis{n}", [n], scalar=True) for n in range(4)]
UNSQUEEZE = _ints("zero", [0])


def _centre_crop(path: Path) -> Path:
    """x cropped along H to the size of a 2x2 max pool of x, centred: start = (H - h) / 2, end = start + h."""
    nodes = [
        helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2]),
        *_size(2, "x", "hx"),
        *_size(2, "y", "hy"),
        helper.make_node("Sub", ["hx", "hy"], ["diff"]),
        helper.make_node("Div", ["diff", "two"], ["start"]),
        helper.make_node("Add", ["start", "hy"], ["end"]),
        helper.make_node("Unsqueeze", ["start", "zero"], ["starts"]),
        helper.make_node("Unsqueeze", ["end", "zero"], ["ends"]),
        helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["z"]),
    ]
    constants = [*AXES, UNSQUEEZE, _ints("two", [2], scalar=True), _ints("axes", [2])]
    return _model(nodes, constants, path)


def _negative_start(path: Path) -> Path:
    """A start that is negative ((h - H) / 2, divided toward zero as ONNX divides integers) counts from the end,
    on both spatial axes at once (Concat of the two), steps 1 and 2."""
    nodes = [
        helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[3, 3]),
        *_size(2, "x", "hx"),
        *_size(2, "y", "hy"),
        *_size(3, "x", "wx"),
        *_size(3, "y", "wy"),
        helper.make_node("Sub", ["hy", "hx"], ["dh"]),
        helper.make_node("Sub", ["wy", "wx"], ["dw"]),
        helper.make_node("Div", ["dh", "two"], ["sh"]),
        helper.make_node("Div", ["dw", "three"], ["sw"]),
        helper.make_node("Unsqueeze", ["sh", "zero"], ["sh1"]),
        helper.make_node("Unsqueeze", ["sw", "zero"], ["sw1"]),
        helper.make_node("Concat", ["sh1", "sw1"], ["starts"], axis=0),
        helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["z"]),
    ]
    constants = [
        *AXES,
        UNSQUEEZE,
        _ints("two", [2], scalar=True),
        _ints("three", [3], scalar=True),
        _ints("ends", [BIG, BIG]),
        _ints("axes", [2, 3]),
        _ints("steps", [1, 2]),
    ]
    return _model(nodes, constants, path)


def _shape_range(path: Path) -> Path:
    """Shape with start=2 (opset 15: the spatial sizes as a vector), halved and less one, as the ends of a slice
    over every axis (the batch and channels kept whole, the channels by constant bounds)."""
    nodes = [
        helper.make_node("Shape", ["x"], ["hw"], start=2),
        helper.make_node("Div", ["hw", "two"], ["half"]),
        helper.make_node("Sub", ["half", "one"], ["less"]),
        helper.make_node("Concat", ["head", "less"], ["ends"], axis=0),
        helper.make_node("Slice", ["x", "starts", "ends"], ["z"]),
    ]
    constants = [
        _ints("two", [2]),
        _ints("one", [1], scalar=True),
        _ints("head", [BIG, 1]),
        _ints("starts", [0, 0, 1, 0]),
    ]
    return _model(nodes, constants, path)


def _gathered_vector(path: Path) -> Path:
    """Gather with a vector of indices (-1: W) from a Slice of a shape: the end along H reads W, a size of
    another axis: refused unless that axis is fixed."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Slice", ["s", "from", "to"], ["spatial"]),
        helper.make_node("Gather", ["spatial", "order"], ["ends"], axis=0),
        helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["z"]),
    ]
    constants = [
        _ints("from", [2]),
        _ints("to", [4]),
        _ints("order", [-1]),
        _ints("starts", [1]),
        _ints("axes", [2]),
    ]
    return _model(nodes, constants, path)


def _runtime(path: Path, h: int, w: int) -> tuple[int, int] | None:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    try:
        (out,) = session.run(None, {"x": numpy.zeros((1, 2, h, w), dtype=numpy.float32)})
    except Exception:  # onnxruntime's refusals
        return None
    return int(out.shape[2]), int(out.shape[3])


def _agree(path: Path, n: int = 24, held: int = 9, convention: str = "ort") -> Any:
    from symconv.nets.importers.onnx import from_onnx

    net = from_onnx(path, convention=convention)
    valid = net.valid_inputs()
    checked = 0
    for h, w in [(size, held) for size in range(1, n + 1)] + [(held, size) for size in range(1, n + 1)]:
        real = _runtime(path, h, w)
        try:
            sizes = net.check({"H": h, "W": w})
            ours: Any = (int(sizes["H"]), int(sizes["W"]))
        except (ShapeError, SpecError):
            ours = None
        assert ours == real, (path.name, h, w, ours, real)
        if real is not None:  # an empty output is the model's answer too (Slice gives one)
            assert h in valid["H"] and w in valid["W"]
        checked += 1
    assert checked == 2 * n
    return net


def test_centre_crop_to_another_tensors_size(tmp_path: Path) -> None:
    net = _agree(_centre_crop(tmp_path / "crop.onnx"))
    # onnxruntime's MaxPool divides toward zero: H = 1 gives one window, and the crop of x to it.
    assert net.valid_inputs()["H"].describe() == {"period": 1, "residues": [0], "from": 1, "below": []}
    assert str(net.output_size()["W"]) == "W"


def test_negative_start_divided_toward_zero(tmp_path: Path) -> None:
    _agree(_negative_start(tmp_path / "negative.onnx"))


def test_shape_with_start_and_vector_arithmetic(tmp_path: Path) -> None:
    _agree(_shape_range(tmp_path / "range.onnx"))


def test_a_bound_from_another_axis_is_refused_unless_fixed(tmp_path: Path) -> None:
    from symconv.nets.importers.onnx import from_onnx

    path = _gathered_vector(tmp_path / "cross.onnx")
    with pytest.raises(SpecError, match="depends on another axis"):
        from_onnx(path)
    net = from_onnx(path, input_shape=(1, 2, "H", 7))
    for h in range(1, 12):
        real = _runtime(path, h, 7)
        assert real is not None
        assert net.check({"H": h}) == {"H": real[0], "W": real[1]}


def test_sizes_refused_with_a_reason(tmp_path: Path) -> None:
    from symconv.nets.importers.onnx import from_onnx

    nodes = [
        *_size(2, "x", "h"),
        helper.make_node("Div", ["h", "h"], ["q"]),
        helper.make_node("Unsqueeze", ["q", "zero"], ["ends"]),
        helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["z"]),
    ]
    constants = [*AXES, UNSQUEEZE, _ints("starts", [0]), _ints("axes", [2])]
    path = _model(nodes, constants, tmp_path / "div.onnx")
    with pytest.raises(SpecError, match="only positive constant divisors"):
        from_onnx(path)
