"""ONNX importer: a Network from a .onnx file, its nodes read in order.

``from_onnx(path)`` takes the spatial axes' names from the graph input's symbolic dimensions (dim_param, e.g.
H and W from a torch export with dynamic axes). An axis with a fixed size (dim_value) or an unusable name is
named H, W (L for one axis, D, H, W for three) and still read as a symbol: the analysis covers every size the
graph's operators accept, not only the size the file was exported at.

``from_onnx(path, input_shape=(1, 3, "H", "W"))`` (``symconv net model.onnx --input-shape 1,3,H,W``) names the
axes instead; an integer there fixes that axis to that size (its output size is then a number, and it has no
valid set). The shape must have the input's rank; a channel count it gives must match the model's.

``from_onnx(path, convention="ort")`` reads the layers as onnxruntime runs them (ort.* specs: its refusals,
its SAME padding of pools) instead of as the ONNX standard defines them (onnx.*, the default: shape inference
and the reference evaluator); pooling keeps the model's opset (ceil_mode's last-window rule is opset 22's).
Weights given as graph inputs rather than initializers are read from their declared shapes; the data input is
the one graph input read as data (the first input of a layer, any input of Add, Concat, ...).

Supported: Conv, ConvTranspose (pads, strides, dilations, output_padding, auto_pad), MaxPool (its indices
output too), AveragePool, LpPool (ceil_mode, pads, auto_pad), MaxUnpool (output_shape as a constant),
GlobalAveragePool/GlobalMaxPool/GlobalLpPool, Concat (on the channels, or on a spatial axis: sizes add),
Pad (constant, reflect, edge; negative pads crop), Slice (positive steps, constant axes; starts and ends
constant or computed from shapes: Shape -> Gather/Slice -> Add/Sub/Mul/Div -> Unsqueeze/Concat),
ReduceMean/Max/Min/Sum with keepdims, nodes whose inputs are all constants (folded with ONNX's reference
evaluator: the pads an exporter builds with ConstantOfShape, Concat, Reshape, ...), Add/Sub/Mul/Div/Sum/...
(a side that is 1 on every axis broadcasts), shape-preserving ops (Relu, Sigmoid, BatchNormalization, Dropout,
...), Resize/Upsample by integer scales or to fixed sizes, DepthToSpace/SpaceToDepth, Flatten (or Reshape to
[batch, -1]) then Gemm/MatMul. Asymmetric pads are kept (onnx.* specs take (begin, end)); each layer needs
equal parameters on every spatial axis. Anything else is a SpecError naming the op type and the node.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sympy

from ...core.arith import floor_div
from ...core.errors import SpecError
from ...core.limits import MAX_ONNX_FILE, read_bytes
from ..network import Network, default_names
from ..shapeops import Join, Pad, Resize, Slice
from . import (
    BATCH_SIZE,
    Axes,
    Builder,
    Constant,
    SizeValue,
    Tensor,
    axis_size,
    input_axes,
    integer,
    per_axis,
    shape_formula,
    spec,
    uniform,
    unsupported,
)

PRESERVING = frozenset(
    "Relu LeakyRelu PRelu Elu Selu Celu Gelu Sigmoid HardSigmoid HardSwish Tanh Softplus Softsign Mish Erf "
    "Exp Log Sqrt Abs Neg Reciprocal Floor Ceil Round Sign Sin Cos ThresholdedRelu Shrink Clip Dropout "
    "Identity Cast CastLike BatchNormalization InstanceNormalization GroupNormalization LRN Softmax "
    "LogSoftmax LpNormalization".split()
)
ELEMENTWISE = frozenset("Add Sub Mul Div Pow Max Min Sum Mean".split())
AUTO_PAD = {"SAME_UPPER": "same_upper", "SAME_LOWER": "same_lower", "VALID": "valid"}
CONVENTIONS = ("onnx", "ort")
# The newest operator versions' rules are the layers' defaults; an older model's opset is passed on.
LATEST_OPSET = 22


def _onnx() -> Any:
    try:
        return importlib.import_module("onnx")
    except ImportError:
        raise SpecError("reading an ONNX model needs onnx: pip install onnx") from None


def from_onnx(
    path: str | os.PathLike[str], input_shape: Sequence[int | str] | None = None, convention: str = "onnx"
) -> Network:
    """The network an ONNX model computes, its spatial axes named from the graph input or by `input_shape`
    (see above), read as the ONNX standard defines it (`convention` "onnx") or as onnxruntime runs it ("ort")."""
    if convention not in CONVENTIONS:
        raise SpecError(
            f"an ONNX model is read as {' or '.join(CONVENTIONS)} (the standard or onnxruntime), "
            f"not {convention!r}"
        )
    data = read_bytes(path, MAX_ONNX_FILE, "ONNX file")
    onnx = _onnx()
    model = _load(onnx, data, os.fspath(path))
    graph = model.graph
    arrays = {t.name: _array(onnx, t, f"{path}: initializer {t.name!r}") for t in graph.initializer}
    given = [value for value in graph.input if value.name not in arrays]
    read_as_data = _data_names(graph.node)
    inputs = [value for value in given if value.name in read_as_data]
    if len(inputs) != 1:
        names = ", ".join(value.name for value in inputs) or "none"
        raise SpecError(f"{path}: the graph needs exactly one (non-constant) input, has {names}")
    # The other graph inputs are parameters given at run time (weights, biases): their declared shapes are read.
    shapes = {value.name: _declared(value) for value in given if value.name not in read_as_data}
    channels, dims = _input_axes(inputs[0], path)
    fixed: tuple[tuple[str, int], ...] = ()
    if input_shape is not None:
        channels, dims, fixed = _given_axes(inputs[0], path, channels, dims, input_shape)
    reader = _Reader(onnx, _opset(model), arrays, Builder(dims, fixed, channels), shapes, convention)
    reader.values[inputs[0].name] = Tensor("input", channels)
    for index, node in enumerate(graph.node):
        reader.read(node, index)
    if not graph.output:
        raise SpecError(f"{path}: the graph has no output")
    return reader.builder.network(reader.tensor(graph.output[0].name, "the graph output"))


def _load(onnx: Any, data: bytes, path: str) -> Any:
    """The model in `data` (the bytes of the file at `path`), its tensors' external data not read."""
    try:
        model = onnx.load_model_from_string(data)
    except Exception as error:  # protobuf's DecodeError and friends: not an ONNX file
        raise SpecError(f"{path} is not an ONNX model: {type(error).__name__}: {error}") from None
    for tensor in model.graph.initializer:  # before the checker, which would look for the external files
        _array(onnx, tensor, f"{path}: initializer {tensor.name!r}", values=False)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "invalid"
        raise SpecError(f"{path} is not a valid ONNX model: {first}") from None
    return model


def _array(onnx: Any, tensor: Any, where: str, values: bool = True) -> Any:
    """A tensor's values (None unless `values`); one whose data is in an external file is refused (that file is
    not read)."""
    if onnx.external_data_helper.uses_external_data(tensor):
        raise SpecError(
            f"{where} keeps its data in an external file; symconv reads self-contained models only "
            "(onnx.save_model with save_as_external_data=False)"
        )
    return onnx.numpy_helper.to_array(tensor) if values else None


def _data_names(nodes: Sequence[Any]) -> set[str]:
    """Names read where a node takes data: every input of an elementwise op or Concat, the first input of any
    other op (its others are weights, biases, indices, scales, shapes)."""
    names: set[str] = set()
    for node in nodes:
        every = node.op_type in ELEMENTWISE or node.op_type == "Concat"
        names.update(name for name in (node.input if every else node.input[:1]) if name)
    return names


def _declared(value: Any) -> tuple[int | None, ...] | None:
    """The declared shape of a graph input (None for a dimension without a fixed size; None without a shape)."""
    tensor = value.type.tensor_type
    if not tensor.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)


def _opset(model: Any) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)


def _input_axes(value: Any, path: Any) -> tuple[int | None, tuple[str, ...]]:
    """(channels, spatial names) of the graph input; unnamed or fixed axes get the default names."""
    shape = value.type.tensor_type.shape.dim
    if len(shape) < 3:
        raise SpecError(
            f"{path}: the input {value.name} has rank {len(shape)}; it needs batch, channels and spatial axes"
        )
    channels = shape[1].dim_value if shape[1].HasField("dim_value") else None
    spatial = shape[2:]
    defaults = default_names(len(spatial))
    names: list[str] = []
    for position, dim in enumerate(spatial):
        wanted = dim.dim_param if dim.HasField("dim_param") else ""
        if not wanted.isidentifier() or wanted in names:
            wanted = defaults[position]
        while wanted in names:
            wanted += "_"
        names.append(wanted)
    return channels, tuple(names)


def _given_axes(
    value: Any, path: Any, channels: int | None, names: tuple[str, ...], shape: Sequence[int | str]
) -> Axes:
    """(channels, spatial names, fixed sizes) from an input shape given for the model's input `value`, whose
    channel count and spatial names are `channels` and `names`."""
    where = f"--input-shape {','.join(str(v).strip() for v in shape)}"
    rank = 2 + len(names)
    if len(shape) != rank:
        raise SpecError(f"{where} has {len(shape)} entries; the input {value.name} of {path} has rank {rank}")
    given, dims, fixed = input_axes(shape, where, names)
    if given is not None and channels is not None and given != channels:
        raise SpecError(f"{where} gives {given} channels; the input {value.name} of {path} has {channels}")
    return (given if given is not None else channels), dims, fixed


@dataclass
class _Reader:
    """The state of one import: tensors by name, constant arrays by name, the builder."""

    onnx: Any
    opset: int
    arrays: dict[str, Any]
    builder: Builder
    # Parameters given as graph inputs: their declared shapes (None: not declared).
    shapes: dict[str, tuple[int | None, ...] | None] = field(default_factory=dict)
    convention: str = "onnx"
    values: dict[str, Tensor] = field(default_factory=dict)
    # Integer tensors computed from tensors' shapes (Shape -> Gather -> arithmetic), by name.
    sizes: dict[str, Sizes] = field(default_factory=dict)

    def kind(self, name: str) -> str:
        """The spec prefix and kind of a layer in this import's convention."""
        return f"{self.convention}.{name}"

    def tensor(self, name: str, where: str) -> Tensor:
        if name in self.values:
            return self.values[name]
        if name in self.arrays:
            raise SpecError(
                f"{where} reads the constant {name!r} where it needs a tensor computed from the input"
            )
        if name in self.shapes:
            raise SpecError(f"{where} reads the graph input {name!r} where it needs the data tensor")
        raise SpecError(f"{where} reads {name!r}, which no supported node produces")

    def shape(self, name: str) -> tuple[int | None, ...] | None:
        """The shape of a parameter: a constant's, or the declared shape of a graph input (None: unknown)."""
        if name in self.arrays:
            return tuple(int(n) for n in self.arrays[name].shape)
        return self.shapes.get(name)

    def size_operand(self, name: str, where: str) -> Sizes:
        """An integer tensor as size formulas: one computed from shapes, or a constant."""
        if name in self.sizes:
            return self.sizes[name]
        if name in self.arrays:
            value = self.arrays[name]
            if value.dtype.kind not in "iu":
                raise SpecError(
                    f"{where} computes sizes with {name!r}, a constant of {value.dtype}; only integers are "
                    "modelled"
                )
            entries = tuple(sympy.Integer(int(v)) for v in value.reshape(-1))
            rank = value.ndim
            return Sizes(entries, rank == 0, tuple(int(n) for n in value.shape) if rank > 1 else None)
        raise SpecError(f"{where} computes sizes with {name!r}, which is neither a shape nor a constant")

    def bounds(self, name: str, where: str) -> list[sympy.Expr]:
        """Slice's starts or ends: constants, or sizes computed from shapes (Shape -> Gather -> ...)."""
        if name in self.sizes:
            return list(self.sizes[name].vector(where).known(where))
        return [sympy.Integer(int(v)) for v in self.array(name, where).reshape(-1)]

    def array(self, name: str, where: str) -> Any:
        if name not in self.arrays:
            raise SpecError(f"{where} needs {name!r} to be a constant (an initializer or a Constant node)")
        return self.arrays[name]

    def operand(self, name: str, where: str) -> Tensor | Constant:
        if name in self.arrays or name in self.shapes:
            return Constant(self.shape(name))
        return self.tensor(name, where)

    def read(self, node: Any, index: int) -> None:
        name = node.name or f"{node.op_type}_{index}"
        where = f"{node.op_type} node {name!r}"
        if node.domain not in ("", "ai.onnx"):
            raise unsupported(f"{node.domain}.{node.op_type}", f"node {name!r}")
        attrs = {a.name: self._attribute(a) for a in node.attribute}
        if node.op_type == "Constant":
            self.arrays[node.output[0]] = self._constant(attrs, where)
            return
        if node.input and all(not i or i in self.arrays for i in node.input):
            # Every input is a constant (the pads an exporter builds with ConstantOfShape, Concat, Slice,
            # Transpose, Reshape and Cast): the node's value, from ONNX's reference evaluator.
            for output, value in zip(node.output, self._folded(node, where), strict=False):
                self.arrays[output] = value
            return
        if _reads_sizes(self, node):
            self.sizes[node.output[0]] = SIZE_HANDLERS[node.op_type](self, node, where, attrs)
            return
        if node.op_type in PRESERVING:
            for extra in node.input[1:]:
                if extra and extra not in self.arrays and extra not in self.shapes:
                    raise SpecError(f"{where} reads {extra!r} as a parameter; it must be a constant")
            self.values[node.output[0]] = self.tensor(node.input[0], where)
            return
        handler = HANDLERS.get(node.op_type)
        if handler is None:
            layouts = " (a layout change)" if node.op_type in ("Transpose", "Reshape", "Squeeze") else ""
            raise SpecError(
                f"{where}: the operator {node.op_type} on the data{layouts} is not read from ONNX, whose reader "
                f"takes {', '.join(sorted(HANDLERS))} and the elementwise operators; a model written in PyTorch is "
                "read with more operators from its module (symconv net pkg.module:factory --input-shape ...)"
            )
        value = self.values[node.output[0]] = handler(self, node, name, where, attrs)
        if node.op_type == "MaxPool" and len(node.output) > 1 and node.output[1]:
            # The indices of the maxima: one per pooled value, so the output's shape.
            self.values[node.output[1]] = value

    def _folded(self, node: Any, where: str) -> list[Any]:
        helper = self.onnx.helper
        names = [i for i in node.input if i]
        inputs = [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(self.arrays[n].dtype), None)
            for n in names
        ]
        outputs = [helper.make_tensor_value_info(o, 0, None) for o in node.output]
        graph = helper.make_graph([node], "fold", inputs, outputs)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        try:
            evaluator = importlib.import_module("onnx.reference").ReferenceEvaluator(model)
            return list(evaluator.run(None, {n: self.arrays[n] for n in names}))
        except Exception as error:  # the reference evaluator's own refusals
            raise SpecError(f"{where} computes on constants, which could not be evaluated: {error}") from None

    def _attribute(self, attribute: Any) -> Any:
        value = self.onnx.helper.get_attribute_value(attribute)
        return value.decode() if isinstance(value, bytes) else value

    def _constant(self, attrs: dict[str, Any], where: str) -> Any:
        numpy = importlib.import_module("numpy")
        if "value" in attrs:
            return _array(self.onnx, attrs["value"], where)
        for key in ("value_float", "value_floats", "value_int", "value_ints"):
            if key in attrs:
                return numpy.array(attrs[key])
        raise SpecError(f"{where}: only numeric Constant values are read")


def _windowed(r: _Reader, where: str, attrs: dict[str, Any], kernel: Sequence[int]) -> dict[str, Any]:
    """k, s, p, d of a Conv/ConvTranspose/pool node: one value, or one per spatial axis where they differ."""
    dims = r.builder.dims
    n = len(dims)
    if len(kernel) != n:
        raise SpecError(f"{where} has a {len(kernel)}-axis kernel; the input has {n} spatial axes")
    params: dict[str, Any] = {
        "k": per_axis(where, "kernel_shape", list(kernel), dims),
        "s": per_axis(where, "strides", list(attrs.get("strides", [1] * n)), dims),
    }
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad in AUTO_PAD:
        params["p"] = AUTO_PAD[auto_pad]
    elif auto_pad == "NOTSET":
        pads = list(attrs.get("pads", [0] * (2 * n)))
        if len(pads) != 2 * n:
            raise SpecError(f"{where}: pads lists {len(pads)} values; {n} spatial axes take {2 * n}")
        # ONNX's order: every axis' begin, then every axis' end; a pair per axis where they differ.
        pairs = tuple(b if b == e else (b, e) for b, e in zip(pads[:n], pads[n:], strict=True))
        params["p"] = pairs[0] if len(set(pairs)) == 1 and not isinstance(pairs[0], tuple) else pairs
    else:
        raise SpecError(f"{where}: auto_pad={auto_pad!r} is not an ONNX padding mode")
    if "dilations" in attrs:
        params["d"] = per_axis(where, "dilations", list(attrs["dilations"]), dims)
    return params


def _kernel(r: _Reader, node: Any, where: str, attrs: dict[str, Any]) -> tuple[list[int], Any]:
    """(kernel_shape, weight shape) of a Conv or ConvTranspose: the attribute, or the spatial part of the weight's
    shape (an initializer's, or a graph input's declared shape)."""
    weight = r.shape(node.input[1])
    kernel = attrs.get("kernel_shape")
    if not kernel and weight is not None and len(weight) > 2 and None not in weight[2:]:
        kernel = list(weight[2:])
    if not kernel:
        raise SpecError(
            f"{where}: no kernel_shape and no weight shape to read it from ({node.input[1]!r} has "
            f"{'no fixed spatial size' if weight is not None else 'no declared shape'})"
        )
    return list(kernel), weight


def _conv(r: _Reader, node: Any, name: str, where: str, attrs: dict[str, Any]) -> Tensor:
    x = r.tensor(node.input[0], where)
    kernel, weight = _kernel(r, node, where, attrs)
    channels = weight[0] if weight else None
    return r.builder.layer(
        name, spec(r.kind("conv"), **_windowed(r, where, attrs, kernel)), where, x, channels
    )


def _conv_transpose(r: _Reader, node: Any, name: str, where: str, attrs: dict[str, Any]) -> Tensor:
    x = r.tensor(node.input[0], where)
    dims = r.builder.dims
    kernel, weight = _kernel(r, node, where, attrs)
    params = _windowed(r, where, attrs, kernel)
    params["a"] = per_axis(where, "output_padding", list(attrs.get("output_padding", [0] * len(dims))), dims)
    params.setdefault("d", 1)
    if "output_shape" in attrs:
        # The output is that size; the pads follow from it per input size (explicit pads are then ignored).
        params["output_shape"] = per_axis(
            where, "output_shape", list(attrs["output_shape"])[-len(dims) :], dims
        )
        if not isinstance(params["p"], str):
            del params["p"]
    per_group = weight[1] if weight and len(weight) > 1 else None
    channels = per_group * int(attrs.get("group", 1)) if per_group is not None else None
    return r.builder.layer(name, spec(r.kind("convT"), **params), where, x, channels)


POOL_KINDS = {"MaxPool": "maxpool", "AveragePool": "avgpool", "LpPool": "lppool"}


def _pool(r: _Reader, node: Any, name: str, where: str, attrs: dict[str, Any]) -> Tensor:
    x = r.tensor(node.input[0], where)
    if "kernel_shape" not in attrs:
        raise SpecError(f"{where} has no kernel_shape")
    params = _windowed(r, where, attrs, attrs["kernel_shape"])
    params["ceil"] = bool(attrs.get("ceil_mode", 0))
    if r.opset < LATEST_OPSET:
        params["opset"] = r.opset
    return r.builder.layer(name, spec(r.kind(POOL_KINDS[node.op_type]), **params), where, x, x.channels)


def _max_unpool(r: _Reader, node: Any, name: str, where: str, attrs: dict[str, Any]) -> Tensor:
    """MaxUnpool: the indices (input 1) have the pooled tensor's shape; output_shape (input 2), when given, is
    a constant whose spatial sizes are the output's."""
    x = r.tensor(node.input[0], where)
    if "kernel_shape" not in attrs:
        raise SpecError(f"{where} has no kernel_shape")
    params = _windowed(r, where, attrs, attrs["kernel_shape"])
    if len(node.input) > 2 and node.input[2]:
        if node.input[2] not in r.arrays:
            raise SpecError(
                f"{where} takes output_shape from {node.input[2]!r}, a value known only at run time; give it "
                "as an initializer or a Constant"
            )
        shape = [int(v) for v in r.array(node.input[2], where).reshape(-1)]
        params["size"] = per_axis(where, "output_shape", shape[2:], r.builder.dims)
    return r.builder.layer(name, spec(r.kind("maxunpool"), **params), where, x, x.channels)


def _global_pool(r: _Reader, node: Any, name: str, where: str, attrs: dict[str, Any]) -> Tensor:
    x = r.tensor(node.input[0], where)
    return r.builder.layer(name, spec("adaptivepool", size=1), where, x, x.channels)


def _concat(r: _Reader, node: Any, name: str, where: str, attrs: dict[str, Any]) -> Tensor:
    parts = [r.tensor(part, where) for part in node.input]
    rank = 2 + len(r.builder.dims)
    if any(part.flat for part in parts):
        raise SpecError(f"{where} concatenates flattened tensors; not modelled")
    axis = int(attrs.get("axis", 1)) % rank
    if axis >= 2:
        # Along a spatial axis the sizes add up there; the channels and the other axes must agree.
        counts = {part.channels for part in parts if part.channels is not None}
        if len(counts) > 1:
            raise SpecError(
                f"{where} concatenates tensors with {sorted(counts)} channels along a spatial axis"
            )
        entries = [Join(k == axis) for k in range(2, rank)]
        return r.builder.shape_op(name, "join", parts, entries, next(iter(counts), None))
    return r.builder.concat(name, parts, axis == 1, where)


ONNX_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}


def _pad(r: _Reader, node: Any, name: str, where: str, attrs: dict[str, Any]) -> Tensor:
    """Pad with constant pads (ONNX's order: every axis' begin, then every axis' end; the optional axes input
    of opset 18); a negative amount crops. Modes constant, reflect and edge, with onnxruntime's rules (reflect
    pads less than the size; the same as PyTorch's) in either convention; wrap is not modelled."""
    x = r.builder.spatial(r.tensor(node.input[0], where), where)
    rank = 2 + len(r.builder.dims)
    mode = attrs.get("mode", "constant")
    if mode not in ONNX_PAD_MODES:
        raise SpecError(f"{where}: mode={mode!r} is not modelled (constant, reflect, edge)")
    inputs = list(node.input) + [""] * 4
    pads = (
        r.bounds(inputs[1], where)
        if r.opset >= 11
        else [sympy.Integer(int(v)) for v in attrs.get("pads", [])]
    )
    axes = [int(a) % rank for a in r.array(inputs[3], where).reshape(-1)] if inputs[3] else list(range(rank))
    if len(pads) != 2 * len(axes):
        raise SpecError(
            f"{where}: {len(pads)} pads for {len(axes)} axes; ONNX needs a begin and an end per axis"
        )
    zero = sympy.Integer(0)
    begin = dict(zip(axes, pads[: len(axes)], strict=True))
    end = dict(zip(axes, pads[len(axes) :], strict=True))
    if any(begin.get(a, zero) != 0 or end.get(a, zero) != 0 for a in (0, 1)):
        raise SpecError(f"{where} pads the batch or channel axis; not modelled")
    entries = []
    for k, dim in enumerate(r.builder.dims, start=2):
        # pads computed from sizes (PyTorch's export of F.pad(x, [dx // 2, dx - dx // 2, ...])): formulas
        before = _on_axis(r, begin.get(k, zero), dim, where, f"the pad before {dim}")
        after = _on_axis(r, end.get(k, zero), dim, where, f"the pad after {dim}")
        entries.append(Pad(before, after, ONNX_PAD_MODES[mode]))
    return r.builder.shape_op(name, "pad", [x], entries, x.channels)


def _on_axis(r: _Reader, value: sympy.Expr, dim: str, where: str, what: str) -> sympy.Expr:
    """A bound or pad of axis `dim`: an integer as it is, a size computed from shapes as a formula on that axis."""
    return value if value.is_Integer else shape_formula(r.builder, SizeValue(value), dim, where, what)


INT64_MAX = 2**63 - 1


def _slice(r: _Reader, node: Any, name: str, where: str, attrs: dict[str, Any]) -> Tensor:
    """Slice with starts and ends that are constants or sizes computed from shapes (Shape -> Gather ->
    arithmetic: a centre crop to another tensor's size), constant axes and positive steps (clamped as ONNX and
    Python clamp). The batch axis may only be kept whole; the channels take constant bounds."""
    x = r.builder.spatial(r.tensor(node.input[0], where), where)
    rank = 2 + len(r.builder.dims)
    inputs = list(node.input) + [""] * 5
    starts, ends = r.bounds(inputs[1], where), r.bounds(inputs[2], where)
    axes = (
        [int(a) % rank for a in r.array(inputs[3], where).reshape(-1)]
        if inputs[3]
        else list(range(len(starts)))
    )
    steps = [int(v) for v in r.array(inputs[4], where).reshape(-1)] if inputs[4] else [1] * len(starts)
    entries = [Slice() for _ in r.builder.dims]
    channels = x.channels
    for axis, start, stop, step in zip(axes, starts, ends, steps, strict=True):
        if step < 1:
            raise SpecError(
                f"{where}: a step of {step} along axis {axis} is not modelled (only positive steps)"
            )
        if axis == 0:
            if start != 0 or not (stop == BATCH_SIZE or (stop.is_Integer and stop >= 2**31 - 1)):
                raise SpecError(f"{where} slices the batch axis ({start}:{stop}); not modelled")
            continue
        if axis == 1:
            if not (start.is_Integer and stop.is_Integer):
                raise SpecError(f"{where} slices the channels from {start} to {stop}; needs constant bounds")
            channels = None if channels is None else len(range(channels)[int(start) : int(stop) : step])
            continue
        dim = r.builder.dims[axis - 2]
        bound: list[sympy.Expr | None] = [
            _on_axis(r, start, dim, where, f"the start along {dim}"),
            _on_axis(r, stop, dim, where, f"the end along {dim}"),
        ]
        # A dimension is an int64, so an end of INT64_MAX (what exporters write for x[1::2]) is every size's end,
        # and a start of -INT64_MAX or less every size's start: the default, not a Min with 2**63 - 1 that
        # every later formula would carry (and the solver split on)
        if bound[0] is not None and bound[0].is_Integer and bound[0] <= -INT64_MAX:
            bound[0] = None
        if bound[1] is not None and bound[1].is_Integer and bound[1] >= INT64_MAX:
            bound[1] = None
        entries[axis - 2] = Slice(bound[0], bound[1], step)
    return r.builder.shape_op(name, "slice", [x], entries, channels)


# Sizes computed from shapes: Shape gives a tensor's dimensions as an integer vector, which Gather, Slice,
# Unsqueeze, Squeeze, Concat, Cast and integer arithmetic turn into the bounds of a Slice.


@dataclass(frozen=True)
class Sizes:
    """An integer tensor computed from shapes: each entry a formula in nodes' sizes (axis_size), the batch
    size and integers; None for a channel count the import does not know. Rank 0 (`scalar`) or 1, or with
    `grid` the shape of a higher rank, entries in row-major order (PyTorch's export of F.pad turns its pads
    into ONNX's order through a [-1, 2] reshape, a reversing Slice and a Transpose)."""

    entries: tuple[sympy.Expr | None, ...]
    scalar: bool = False
    grid: tuple[int, ...] | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.grid if self.grid is not None else () if self.scalar else (len(self.entries),)

    def known(self, where: str) -> tuple[sympy.Expr, ...]:
        if any(entry is None for entry in self.entries):
            raise SpecError(f"{where} reads a channel count that is not known; give it in the input shape")
        return tuple(entry for entry in self.entries if entry is not None)

    def vector(self, where: str) -> Sizes:
        """The same tensor, which must have rank 0 or 1 (the ops that read shapes as vectors)."""
        if self.grid is not None:
            raise SpecError(f"{where} reads sizes of shape {list(self.grid)} as a vector; not modelled")
        return self

    def array(self) -> Any:
        """The entries as a numpy array of objects in their shape."""
        numpy = importlib.import_module("numpy")
        out = numpy.empty(len(self.entries), dtype=object)
        out[:] = list(self.entries)
        return out.reshape(self.shape)

    @staticmethod
    def of(array: Any) -> Sizes:
        """Sizes from a numpy array of entries, of any rank."""
        entries = tuple(array.reshape(-1).tolist())
        rank = array.ndim
        return Sizes(entries, rank == 0, tuple(int(n) for n in array.shape) if rank > 1 else None)


SIZE_OPS = frozenset(
    "Shape Gather Slice Unsqueeze Squeeze Concat Cast Identity Add Sub Mul Div Neg ConstantOfShape Reshape "
    "Transpose".split()
)
INTEGER_TYPES = frozenset({2, 3, 4, 5, 6, 7, 12, 13})  # TensorProto's (u)int8 .. (u)int64


def _reads_sizes(r: _Reader, node: Any) -> bool:
    """Whether a node computes on sizes: Shape of a tensor, or an op on sizes and constants (not on data: a
    Slice of a tensor whose bounds are sizes is the tensor's)."""
    if node.op_type == "Shape":
        return True
    inputs = [i for i in node.input if i]
    return (
        node.op_type in SIZE_OPS
        and bool(inputs)
        and inputs[0] not in r.values
        and any(i in r.sizes for i in inputs)
    )


def _shape_of(r: _Reader, node: Any, where: str, attrs: dict[str, Any]) -> Sizes:
    start, end = int(attrs.get("start", 0)), attrs.get("end")
    if node.input[0] in r.sizes:  # the shape of sizes: how many there are (F.pad's export counts its pads)
        shape = tuple(sympy.Integer(n) for n in r.sizes[node.input[0]].shape)
        return Sizes(shape[start : None if end is None else int(end)])
    x = r.tensor(node.input[0], where)
    if x.flat or x.layout is not None:
        raise SpecError(f"{where} reads the shape of a flattened or permuted tensor; not modelled")
    channels = None if x.channels is None else sympy.Integer(x.channels)
    entries = (BATCH_SIZE, channels, *(axis_size(x.node, dim) for dim in r.builder.dims))
    return Sizes(entries[start : None if end is None else int(end)])


def _gather(r: _Reader, node: Any, where: str, attrs: dict[str, Any]) -> Sizes:
    data = r.size_operand(node.input[0], where).vector(where)
    indices = r.size_operand(node.input[1], where).vector(where)
    if data.scalar or int(attrs.get("axis", 0)) != 0:
        raise SpecError(f"{where} gathers from a shape other than along its one axis; not modelled")
    picked = []
    for index in indices.known(where):
        if not index.is_Integer or not -len(data.entries) <= int(index) < len(data.entries):
            raise SpecError(f"{where}: index {index} of a shape of {len(data.entries)} entries")
        picked.append(data.entries[int(index)])
    return Sizes(tuple(picked), indices.scalar)


def _slice_sizes(r: _Reader, node: Any, where: str, attrs: dict[str, Any]) -> Sizes:
    """Slice of sizes by constant bounds, on any of their axes and with any nonzero step (F.pad's export
    reverses its [-1, 2] pads with step -1), as numpy slices: ONNX clamps the bounds as Python does."""
    data = r.size_operand(node.input[0], where)
    inputs = list(node.input) + [""] * 5
    starts, ends = ([int(v) for v in r.array(inputs[n], where).reshape(-1)] for n in (1, 2))
    rank = len(data.shape)
    if rank == 0:
        raise SpecError(f"{where} slices a scalar")
    axes = (
        [int(a) % rank for a in r.array(inputs[3], where).reshape(-1)]
        if inputs[3]
        else list(range(len(starts)))
    )
    steps = [int(v) for v in r.array(inputs[4], where).reshape(-1)] if inputs[4] else [1] * len(starts)
    if 0 in steps or not len(starts) == len(ends) == len(axes) == len(steps):
        raise SpecError(f"{where}: starts, ends, axes and steps must match in length, with steps nonzero")
    numpy = importlib.import_module("numpy")
    out = data.array()
    for axis, start, stop, step in zip(axes, starts, ends, steps, strict=True):
        out = numpy.take(out, _slice_indices(out.shape[axis], start, stop, step), axis=axis)
    return Sizes.of(out)


def _slice_indices(n: int, start: int, stop: int, step: int) -> list[int]:
    """The positions ONNX's Slice takes along an axis of n: negative bounds count from the end, then the start
    is clamped to [0, n] ([0, n - 1] for a negative step) and the end to [0, n] ([-1, n - 1]); unlike Python's
    slice, a start before the first entry of a reversed slice is the first entry."""
    if n == 0:
        return []
    start, stop = (v + n if v < 0 else v for v in (start, stop))
    if step > 0:
        start, stop = min(max(start, 0), n), min(max(stop, 0), n)
    else:
        start, stop = min(max(start, 0), n - 1), min(max(stop, -1), n - 1)
    return list(range(start, stop, step))


def _unsqueeze(r: _Reader, node: Any, where: str, attrs: dict[str, Any]) -> Sizes:
    data = r.size_operand(node.input[0], where).vector(where)
    if not data.scalar:
        raise SpecError(f"{where} unsqueezes a shape of rank 1; only a scalar is modelled")
    return Sizes(data.entries)


def _squeeze(r: _Reader, node: Any, where: str, attrs: dict[str, Any]) -> Sizes:
    data = r.size_operand(node.input[0], where).vector(where)
    if len(data.entries) != 1:
        raise SpecError(f"{where} squeezes a shape of {len(data.entries)} entries; only one is modelled")
    return Sizes(data.entries, True)


def _concat_sizes(r: _Reader, node: Any, where: str, attrs: dict[str, Any]) -> Sizes:
    parts = [r.size_operand(name, where) for name in node.input if name]
    if any(part.scalar for part in parts):
        raise SpecError(f"{where} concatenates scalars; ONNX needs tensors of rank 1")
    if all(part.grid is None for part in parts):
        return Sizes(tuple(entry for part in parts for entry in part.entries))
    numpy = importlib.import_module("numpy")
    shapes = {part.shape[:0] + part.shape[1:] for part in parts} if int(attrs.get("axis", 0)) == 0 else set()
    if len(shapes) != 1:
        raise SpecError(
            f"{where} concatenates sizes of shapes {[list(p.shape) for p in parts]}; not modelled"
        )
    return Sizes.of(numpy.concatenate([part.array() for part in parts], axis=0))


def _constant_of_shape(r: _Reader, node: Any, where: str, attrs: dict[str, Any]) -> Sizes:
    """ConstantOfShape: a tensor of one integer (0 by default) in a shape computed from sizes."""
    numpy = importlib.import_module("numpy")
    shape = r.size_operand(node.input[0], where).vector(where).known(where)
    if not all(n.is_Integer and n >= 0 for n in shape):
        raise SpecError(f"{where} makes a tensor of shape {list(shape)}; only a constant shape is modelled")
    value = _array(r.onnx, attrs["value"], where) if "value" in attrs else numpy.zeros(1, dtype=numpy.int64)
    if value.dtype.kind not in "iu":
        raise SpecError(f"{where} fills a tensor with {value.dtype} values; only integers are sizes")
    out = numpy.empty(tuple(int(n) for n in shape), dtype=object)
    out.fill(sympy.Integer(int(value.reshape(-1)[0])))
    return Sizes.of(out)


def _reshape_sizes(r: _Reader, node: Any, where: str, attrs: dict[str, Any]) -> Sizes:
    """Reshape of sizes to a constant shape (0 keeps that dimension unless allowzero; -1 takes the rest)."""
    data = r.size_operand(node.input[0], where)
    target = [int(v) for v in r.array(node.input[1], where).reshape(-1)]
    if not int(attrs.get("allowzero", 0)):
        target = [data.shape[k] if v == 0 and k < len(data.shape) else v for k, v in enumerate(target)]
    try:
        return Sizes.of(data.array().reshape(target))
    except ValueError:
        raise SpecError(f"{where} reshapes {len(data.entries)} sizes to {target}") from None


def _transpose_sizes(r: _Reader, node: Any, where: str, attrs: dict[str, Any]) -> Sizes:
    data = r.size_operand(node.input[0], where)
    rank = len(data.shape)
    perm = [int(p) for p in attrs.get("perm", range(rank - 1, -1, -1))]
    if sorted(perm) != list(range(rank)):
        raise SpecError(f"{where}: perm {perm} is not a permutation of {rank} axes")
    return Sizes.of(data.array().transpose(perm))


def _cast(r: _Reader, node: Any, where: str, attrs: dict[str, Any]) -> Sizes:
    if node.op_type == "Cast" and int(attrs.get("to", 7)) not in INTEGER_TYPES:
        raise SpecError(f"{where} casts sizes to a non-integer type; not modelled")
    return r.size_operand(node.input[0], where)


def _truncated(r: _Reader, a: sympy.Expr, b: sympy.Expr, where: str) -> sympy.Expr:
    """a / b for integers as ONNX computes it (C++ division, toward zero), for a positive constant b: the floor
    where a is never negative (Z3 proves it of a's formula in the input sizes, each >= 1), else the floor plus
    one where a is negative and not a multiple of b (indicators on integers, no Piecewise)."""
    from ...logic.prove import proved

    if BATCH_SIZE not in a.free_symbols:
        formula = r.builder.resolved(SizeValue(a), where)
        sizes = [sympy.Symbol(dim, integer=True) >= 1 for dim in r.builder.dims]
        if proved(formula >= 0, sizes):
            return floor_div(a, b)
    negative = sympy.Min(sympy.Max(-a, 0), 1)
    return floor_div(a, b) + negative * sympy.Min(sympy.Mod(a, b), 1)


def _arithmetic(r: _Reader, node: Any, where: str, attrs: dict[str, Any]) -> Sizes:
    if node.op_type == "Neg":
        data = r.size_operand(node.input[0], where)
        return Sizes(tuple(-e for e in data.known(where)), data.scalar, data.grid)
    a, b = (r.size_operand(name, where).vector(where) for name in node.input[:2])
    left, right = a.known(where), b.known(where)
    if len(left) != len(right) and 1 not in (len(left), len(right)):
        raise SpecError(f"{where} combines shapes of {len(left)} and {len(right)} entries")
    count = max(len(left), len(right))
    left, right = left * (count // len(left)), right * (count // len(right))
    if node.op_type == "Div" and not all(d.is_Integer and d > 0 for d in right):
        raise SpecError(
            f"{where} divides sizes by {list(right)}; only positive constant divisors are modelled"
        )
    op = node.op_type

    def combine(x: sympy.Expr, y: sympy.Expr) -> sympy.Expr:
        if op == "Div":
            return _truncated(r, x, y, where)
        return x + y if op == "Add" else x - y if op == "Sub" else x * y

    return Sizes(tuple(combine(x, y) for x, y in zip(left, right, strict=True)), a.scalar and b.scalar)


SizeHandler = Callable[[_Reader, Any, str, dict[str, Any]], Sizes]
SIZE_HANDLERS: dict[str, SizeHandler] = {
    "Shape": _shape_of,
    "Gather": _gather,
    "Slice": _slice_sizes,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": _concat_sizes,
    "Cast": _cast,
    "Identity": _cast,
    "ConstantOfShape": _constant_of_shape,
    "Reshape": _reshape_sizes,
    "Transpose": _transpose_sizes,
    **{op: _arithmetic for op in ("Add", "Sub", "Mul", "Div", "Neg")},
}


def _reduce(r: _Reader, node: Any, name: str, where: str, attrs: dict[str, Any]) -> Tensor:
    """ReduceMean/ReduceMax/... with keepdims over spatial axes: each reduced axis becomes 1."""
    x = r.builder.spatial(r.tensor(node.input[0], where), where)
    rank = 2 + len(r.builder.dims)
    given = attrs.get("axes")
    if given is None and len(node.input) > 1 and node.input[1]:
        given = r.array(node.input[1], where).reshape(-1)
    if given is None or not int(attrs.get("keepdims", 1)):
        raise SpecError(f"{where} needs explicit axes and keepdims=1 (the spatial axes kept as size 1)")
    axes = {int(a) % rank for a in given}
    if 0 in axes:
        raise SpecError(f"{where} reduces the batch axis; not modelled")
    channels = 1 if 1 in axes else x.channels
    entries = [
        Resize(sympy.Integer(1), None, "area") if k in axes else Resize(None, Fraction(1))
        for k in range(2, rank)
    ]
    return r.builder.shape_op(name, "resize", [x], entries, channels)


def _elementwise(r: _Reader, node: Any, name: str, where: str, attrs: dict[str, Any]) -> Tensor:
    operands = [r.operand(part, where) for part in node.input if part]
    tensors = [(index, part) for index, part in enumerate(operands) if isinstance(part, Tensor)]
    if not tensors:
        raise SpecError(f"{where} computes on constants only; export with constant folding")
    first, value = tensors[0]
    for other in operands[:first] + operands[first + 1 :]:
        value = r.builder.elementwise(name, value, other, where)
    return value


def _resize(r: _Reader, node: Any, name: str, where: str, attrs: dict[str, Any]) -> Tensor:
    """Resize/Upsample by constant integer scales or to constant sizes, equal on every spatial axis."""
    x = r.builder.spatial(r.tensor(node.input[0], where), where)
    dims = r.builder.dims
    inputs = list(node.input) + [""] * 4
    legacy = node.op_type == "Upsample" or r.opset < 11
    scales, sizes = (inputs[1], "") if legacy else (inputs[2], inputs[3])
    if sizes and attrs.get("keep_aspect_ratio_policy", "stretch") != "stretch":
        raise SpecError(
            f"{where}: keep_aspect_ratio_policy={attrs['keep_aspect_ratio_policy']} is not modelled"
        )
    source = sizes or scales
    if not source:
        raise SpecError(f"{where} has neither scales nor sizes")
    if sizes and sizes in r.sizes:
        return _resize_to_sizes(r, node, name, where, attrs, x)
    values = [float(v) for v in r.array(source, where).reshape(-1)]
    if not values:
        raise SpecError(f"{where} has empty {'sizes' if sizes else 'scales'}")
    rank = 2 + len(dims)
    axes = [int(a) % rank for a in attrs.get("axes", range(rank))]
    per_axis: dict[int, float] = dict(zip(axes, values, strict=False))
    what = "sizes" if sizes else "scales"
    if not sizes and per_axis.get(1, 1.0) != 1.0:
        raise SpecError(f"{where} scales the channels by {per_axis[1]}; not modelled")
    spatial = [per_axis.get(axis) for axis in range(2, rank)]
    if not sizes and any(v is not None and not float(v).is_integer() for v in spatial):
        # a scale such as 0.5 or 1.5 (floor(i * scale), as ONNX computes each output size)
        mode, align = _resize_mode(attrs, where)
        entries = [Resize(None, _short_scale(v or 1.0, where), mode, align) for v in spatial]
        return r.builder.shape_op(name, "resize", [x], entries, x.channels)
    value = uniform(where, what, spatial, dims)
    if value is None or (not sizes and value == 1.0):
        return x
    kind = {"size": integer(where, what, value)} if sizes else {"scale": integer(where, what, value)}
    return r.builder.layer(name, spec("upsample", **kind), where, x, x.channels)


def _resize_to_sizes(
    r: _Reader, node: Any, name: str, where: str, attrs: dict[str, Any], x: Tensor
) -> Tensor:
    """Resize to sizes computed from shapes (PyTorch's export of F.interpolate(x, size=skip.shape[2:])): each
    spatial axis' size a formula in the nodes' sizes; the batch and channels kept."""
    rank = 2 + len(r.builder.dims)
    computed = r.sizes[list(node.input)[3]].vector(where).known(where)
    axes = [int(a) % rank for a in attrs.get("axes", range(rank))]
    if len(axes) != len(computed):
        raise SpecError(f"{where}: {len(computed)} sizes for {len(axes)} axes")
    per_axis = dict(zip(axes, computed, strict=True))
    channels = per_axis.get(1)
    if channels is not None and x.channels is not None and channels != x.channels:
        raise SpecError(f"{where} resizes the channels to {channels}; not modelled")
    mode, align = _resize_mode(attrs, where)
    entries = []
    for k, dim in enumerate(r.builder.dims, start=2):
        target = per_axis.get(k)
        entries.append(
            Resize(None, Fraction(1), "nearest")
            if target is None
            else Resize(_on_axis(r, target, dim, where, "the size"), None, mode, align)
        )
    return r.builder.shape_op(name, "resize", [x], entries, x.channels)


def _resize_mode(attrs: dict[str, Any], where: str) -> tuple[str, bool]:
    """The positions a Resize reads, as PyTorch's modes name them: nearest with asymmetric coordinates and
    floor (PyTorch's nearest), linear with half_pixel or align_corners (PyTorch's bilinear); the other
    combinations read other positions, which are not modelled."""
    mode = attrs.get("mode", "nearest")
    transform = attrs.get("coordinate_transformation_mode", "half_pixel")
    if (
        mode == "nearest"
        and transform == "asymmetric"
        and attrs.get("nearest_mode", "round_prefer_floor") == "floor"
    ):
        return "nearest", False
    if mode == "linear" and transform in ("half_pixel", "align_corners"):
        # half_pixel is PyTorch's align_corners=False (pytorch_half_pixel differs where the output is 1)
        return "linear", transform == "align_corners"
    raise SpecError(
        f"{where}: mode={mode} with coordinate_transformation_mode={transform} reads positions that are not "
        "modelled (nearest with asymmetric and floor, or linear with half_pixel or align_corners, as PyTorch "
        "exports its interpolate)"
    )


def _short_scale(value: float, where: str) -> Fraction:
    """A Resize scale as an exact fraction, where it is a short binary fraction (0.5, 1.5, 0.25): ONNX computes
    floor(i * scale) in floating point, exact for those; another (1/3) is rounded at sizes no formula follows."""
    exact = Fraction(value)
    if value <= 0 or exact.denominator.bit_length() > 8 or exact.numerator.bit_length() > 16:
        raise SpecError(
            f"{where}: scale {value!r} is not a short binary fraction (such as 0.5 or 1.25): its products are "
            "rounded in floating point at sizes no formula follows; export with sizes instead"
        )
    return exact


def _depth_space(r: _Reader, node: Any, name: str, where: str, attrs: dict[str, Any]) -> Tensor:
    x = r.tensor(node.input[0], where)
    if len(r.builder.dims) != 2:
        raise SpecError(f"{where} works on 2 spatial axes; the input has {len(r.builder.dims)}")
    size = int(attrs["blocksize"])
    down = node.op_type == "SpaceToDepth"
    channels = x.channels
    if channels is not None:
        channels = channels * size * size if down else channels // (size * size)
    kind = "pixelunshuffle" if down else "pixelshuffle"
    return r.builder.layer(name, spec(kind, r=size), where, x, channels)


def _layer_norm(r: _Reader, node: Any, name: str, where: str, attrs: dict[str, Any]) -> Tensor:
    x = r.tensor(node.input[0], where)
    if not x.flat:
        raise SpecError(
            f"{where} normalizes the trailing spatial axes, which fixes their sizes (not modelled); only a "
            "LayerNormalization after Flatten is read"
        )
    return x


def _flatten(r: _Reader, node: Any, name: str, where: str, attrs: dict[str, Any]) -> Tensor:
    x = r.tensor(node.input[0], where)
    if int(attrs.get("axis", 1)) != 1:
        raise SpecError(f"{where} flattens from axis {attrs['axis']}; only axis 1 is modelled")
    return x if x.flat else r.builder.flatten(name, x, where)


def _reshape(r: _Reader, node: Any, name: str, where: str, attrs: dict[str, Any]) -> Tensor:
    x = r.tensor(node.input[0], where)
    shape = [int(v) for v in r.array(node.input[1], where).reshape(-1)]
    if len(shape) != 2 or shape[1] != -1:
        raise SpecError(f"{where} reshapes to {shape}; only a flatten to [batch, -1] is modelled")
    return x if x.flat else r.builder.flatten(name, x, where)


def _gemm(r: _Reader, node: Any, name: str, where: str, attrs: dict[str, Any]) -> Tensor:
    x = r.tensor(node.input[0], where)
    weight = r.array(node.input[1], where)
    if node.op_type == "Gemm" and int(attrs.get("transA", 0)):
        raise SpecError(f"{where} transposes its input (transA=1); not modelled")
    if weight.ndim != 2:
        raise SpecError(f"{where} multiplies by a weight of rank {weight.ndim}; only a matrix is modelled")
    rows, columns = (int(v) for v in weight.shape)
    in_features, out_features = (columns, rows) if int(attrs.get("transB", 0)) else (rows, columns)
    return r.builder.linear(name, x, in_features, out_features, where)


Handler = Callable[[_Reader, Any, str, str, dict[str, Any]], Tensor]
HANDLERS: dict[str, Handler] = {
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "MaxPool": _pool,
    "AveragePool": _pool,
    "LpPool": _pool,
    "MaxUnpool": _max_unpool,
    "GlobalAveragePool": _global_pool,
    "GlobalMaxPool": _global_pool,
    "GlobalLpPool": _global_pool,
    "Concat": _concat,
    "Pad": _pad,
    "Slice": _slice,
    **{op: _reduce for op in ("ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum")},
    **{op: _elementwise for op in ELEMENTWISE},
    "Resize": _resize,
    "Upsample": _resize,
    "DepthToSpace": _depth_space,
    "SpaceToDepth": _depth_space,
    "LayerNormalization": _layer_norm,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Gemm": _gemm,
    "MatMul": _gemm,
}
