"""PyTorch importer: a Network from an nn.Module, read with torch.fx so that skips become cat and add nodes.

``from_torch(model, input_shape=(1, 3, "H", "W"))`` traces the module with ``torch.fx.symbolic_trace``; when
tracing fails, an ``nn.Sequential`` is read child by child instead. ``from_factory("pkg.module:factory",
input_shape)`` imports the user's module, calls the factory and reads the module it returns.

Supported: Conv1d/2d/3d, ConvTranspose1d/2d/3d (output_padding; not forward's output_size), MaxPool and
AvgPool (ceil_mode), AdaptiveAvgPool/AdaptiveMaxPool, Upsample and F.interpolate by an integer scale or to a
fixed size, PixelShuffle/PixelUnshuffle, torch.cat along the channels, elementwise +, -, *, / (a side that is
1 on every axis broadcasts), shape-preserving modules and functions (activations, dropout, batch, instance
and group norm), nn.Flatten / torch.flatten / x.view(x.size(0), -1) then Linear. Each layer needs equal
parameters on every spatial axis and zero padding (padding_mode="zeros"); anything else is a SpecError naming
the op and where it is.

Not modelled: the "more than one value per channel" rule of training-mode normalization at spatial size 1.
"""

from __future__ import annotations

import importlib
import operator
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ..errors import SpecError
from ..network import Network
from . import Builder, Constant, Tensor, input_axes, integer, per_axis, spec, uniform, unsupported

DEFAULT_SHAPE: tuple[int | str, ...] = (1, 3, "H", "W")

ACTIVATIONS = frozenset(
    "Identity ReLU ReLU6 LeakyReLU PReLU RReLU ELU SELU CELU GELU SiLU Mish Sigmoid Tanh Hardtanh Hardswish "
    "Hardsigmoid Hardshrink Softshrink Tanhshrink Softplus Softsign LogSigmoid Threshold Softmax LogSoftmax "
    "Softmax2d Dropout Dropout1d Dropout2d Dropout3d AlphaDropout FeatureAlphaDropout GroupNorm "
    "LocalResponseNorm".split()
)
NORMS = frozenset(
    "BatchNorm1d BatchNorm2d BatchNorm3d SyncBatchNorm InstanceNorm1d InstanceNorm2d InstanceNorm3d".split()
)
PRESERVING_FUNCTIONS = (
    "relu relu_ relu6 leaky_relu elu selu celu gelu silu mish hardswish hardsigmoid hardtanh softplus "
    "softsign sigmoid tanh logsigmoid softmax log_softmax dropout dropout1d dropout2d dropout3d "
    "alpha_dropout feature_alpha_dropout batch_norm instance_norm group_norm local_response_norm normalize "
    "clamp clip abs neg exp sqrt square"
).split()
PRESERVING_METHODS = frozenset(
    "relu relu_ sigmoid sigmoid_ tanh tanh_ contiguous clone detach float half double to type_as softmax "
    "log_softmax clamp clamp_ abs neg exp sqrt square".split()
)
ELEMENTWISE_METHODS = frozenset("add add_ sub sub_ mul mul_ div div_".split())
SIGNATURES = {
    "maxpool": ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
    "avgpool": (
        "input",
        "kernel_size",
        "stride",
        "padding",
        "ceil_mode",
        "count_include_pad",
        "divisor_override",
    ),
    "adaptive": ("input", "output_size", "return_indices"),
    "interpolate": ("input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"),
    "pixelshuffle": ("input", "upscale_factor"),
    "pixelunshuffle": ("input", "downscale_factor"),
    "cat": ("tensors", "dim"),
    "flatten": ("input", "start_dim", "end_dim"),
}
DEFAULTS = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False}


@dataclass(frozen=True)
class Opaque:
    """A non-tensor value read from a tensor: its shape, the batch size (x.size(0)) or another size."""

    what: str


BATCH = Opaque("batch")


def _torch() -> Any:
    try:
        return importlib.import_module("torch")
    except ImportError:
        raise SpecError("reading a PyTorch model needs torch: pip install 'symconv[torch]'") from None


def from_torch(model: Any, input_shape: Sequence[int | str] = DEFAULT_SHAPE) -> Network:
    """The network an nn.Module computes on inputs of `input_shape`: a name per symbolic spatial axis (e.g. H
    and W), or an integer that fixes the axis to that size (see `input_axes`)."""
    torch = _torch()
    if not isinstance(model, torch.nn.Module):
        raise SpecError(f"expected a torch nn.Module, got {type(model).__name__}")
    channels, dims, fixed = input_axes(input_shape)
    builder = Builder(dims, fixed)
    x = Tensor("input", channels)
    if _is_torch_nn(model) and type(model) is not torch.nn.Sequential:
        # A single torch.nn layer: tracing would look inside its forward (F.conv2d), so read it as a module.
        return builder.network(_walk(builder, model, type(model).__name__.lower(), x, ""))
    try:
        traced = torch.fx.symbolic_trace(model)
    except Exception as error:  # tracing runs the user's forward, which can fail in any way
        reason = f"torch.fx could not trace {type(model).__name__}: {_first_line(error)}"
        if type(model) is not torch.nn.Sequential:
            raise SpecError(f"{reason}; only an nn.Sequential is read without tracing") from None
        return builder.network(_walk(builder, model, "", x, reason))
    return builder.network(_read_graph(builder, traced, x))


def from_factory(text: str, input_shape: Sequence[int | str] | None = None) -> Network:
    """The network of the module that ``factory()`` returns, for ``text`` = "pkg.module:factory".

    This imports and runs the user's own code (the module, then the factory), as any tool that loads a model
    by name does: point it only at code you trust. The current directory is searched first, as ``python -m``
    does.
    """
    module_name, _, attribute = text.partition(":")
    if not module_name or not attribute:
        raise SpecError(f"a model factory is written pkg.module:factory, got {text!r}")
    module = _import(module_name, text)
    factory: Any = module
    for part in attribute.split("."):
        if not hasattr(factory, part):
            raise SpecError(f"module {module_name} has no attribute {attribute!r} (in {text})")
        factory = getattr(factory, part)
    if not callable(factory):
        raise SpecError(
            f"{text} is not callable: a factory is called with no arguments and returns an nn.Module"
        )
    try:
        model = factory()
    except Exception as error:  # the user's factory
        raise SpecError(f"calling {text}() failed: {type(error).__name__}: {error}") from None
    if not isinstance(model, _torch().nn.Module):
        raise SpecError(f"{text}() returned {type(model).__name__}, not a torch nn.Module")
    return from_torch(model, input_shape or DEFAULT_SHAPE)


def _import(module_name: str, text: str) -> Any:
    here = os.getcwd()
    added = here not in sys.path
    if added:
        sys.path.insert(0, here)
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise SpecError(f"cannot import {module_name} (in {text}): {error}") from None
    except Exception as error:  # the user's module failed while it was imported
        raise SpecError(
            f"importing {module_name} (in {text}) failed: {type(error).__name__}: {error}"
        ) from None
    finally:
        if added:
            sys.path.remove(here)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _walk(builder: Builder, module: Any, path: str, x: Tensor, reason: str) -> Tensor:
    """An nn.Sequential read child by child (its children must be torch.nn layers), or a single layer.

    `reason` says why the model was not traced (empty for a single layer); errors repeat it.
    """
    if type(module) is _torch().nn.Sequential:
        for name, child in module.named_children():
            x = _walk(builder, child, f"{path}.{name}" if path else name, x, reason)
        return x
    try:
        value = _module(builder, module, path, path.replace(".", "_"), (x,), {})
    except SpecError as error:
        if not reason:
            raise
        raise SpecError(f"{error}; {reason}") from None
    if not isinstance(value, Tensor):
        raise SpecError(f"{_label(module)} at {path} does not return a tensor")
    return value


def _read_graph(builder: Builder, traced: Any, x: Tensor) -> Tensor:
    """Every node of an fx graph in order; the first tensor the forward returns is the output."""
    fx = _torch().fx
    modules = dict(traced.named_modules())
    values: dict[Any, Any] = {}
    seen_input = False
    for node in traced.graph.nodes:
        args = fx.node.map_arg(node.args, lambda n: values[n])
        kwargs = fx.node.map_arg(node.kwargs, lambda n: values[n])
        if node.op == "placeholder":
            if seen_input:
                if not node.args:
                    raise SpecError(f"forward takes a second input {node.target!r}; only one input is read")
                values[node] = node.args[0]
                continue
            values[node], seen_input = x, True
        elif node.op == "get_attr":
            values[node] = Constant(tuple(getattr(_attribute(traced, node.target), "shape", ())))
        elif node.op == "call_module":
            values[node] = _module(builder, modules[node.target], node.target, node.name, args, kwargs)
        elif node.op == "call_function":
            values[node] = _function(builder, node.target, node.name, args, kwargs)
        elif node.op == "call_method":
            values[node] = _method(builder, node.target, node.name, args, kwargs)
        elif node.op == "output":
            return _output(args[0])
    raise SpecError("the traced graph has no output")


def _attribute(root: Any, target: str) -> Any:
    for part in target.split("."):
        root = getattr(root, part)
    return root


def _output(value: Any) -> Tensor:
    candidates = value if isinstance(value, tuple | list) else [value]
    for candidate in candidates:
        if isinstance(candidate, Tensor):
            return candidate
    raise SpecError(
        f"the forward returns {type(value).__name__}, not a tensor (or a tuple starting with one)"
    )


def _tensor(value: Any, where: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise SpecError(f"{where} reads {value!r} where it needs the input tensor (or one computed from it)")
    return value


def _bind(kind: str, args: Sequence[Any], kwargs: dict[str, Any], **defaults: Any) -> dict[str, Any]:
    """A call's arguments by name (the functional API's signatures, which fx passes through as written)."""
    names = SIGNATURES[kind]
    bound = {name: defaults.get(name, DEFAULTS.get(name)) for name in names}
    bound.update(zip(names, args, strict=False))
    bound.update(kwargs)
    return bound


def _label(module: Any) -> str:
    cls = type(module)
    return f"nn.{cls.__name__}" if _is_torch_nn(module) else f"{cls.__module__}.{cls.__qualname__}"


def _is_torch_nn(module: Any) -> bool:
    return getattr(_torch().nn, type(module).__name__, None) is type(module)


def _rank(builder: Builder, cls: str, where: str) -> None:
    """A module named ...1d/2d/3d must match the number of spatial axes."""
    if cls[-2:] in ("1d", "2d", "3d") and int(cls[-2]) != len(builder.dims):
        raise SpecError(
            f"{where} works on {cls[-2]} spatial axes; the input has {len(builder.dims)} "
            f"({', '.join(builder.dims)})"
        )


def _channels(where: str, expected: int, x: Tensor) -> None:
    if x.channels is not None and x.channels != expected:
        raise SpecError(f"{where} expects {expected} input channels, gets {x.channels}")


@dataclass(frozen=True)
class Call:
    """One call in the model: its node name, where it is (for messages), its input and other arguments."""

    name: str
    where: str
    x: Tensor
    rest: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def _module(
    builder: Builder, module: Any, path: str, name: str, args: Sequence[Any], kwargs: dict[str, Any]
) -> Any:
    """The value a supported torch.nn module returns."""
    cls = type(module).__name__
    where = f"{_label(module)} at {path}"
    if not _is_torch_nn(module):
        raise unsupported(_label(module), path)
    if not args:
        raise SpecError(f"{where} is called without an input")
    x = _tensor(args[0], where)
    if cls in ACTIVATIONS:
        return x
    if cls in NORMS:
        if not x.flat:
            _rank(builder, cls, where)
        return x
    if cls == "LayerNorm":
        if not x.flat:
            raise SpecError(
                f"{where} normalizes the trailing spatial axes, which fixes their sizes (not modelled); "
                "a LayerNorm over channels needs a channels-last tensor (not modelled either)"
            )
        return x
    sized = cls[-2:] in ("1d", "2d", "3d")
    handler = MODULES.get(cls[:-2] if sized else cls)
    if handler is None:
        raise unsupported(_label(module), path)
    _rank(builder, cls, where)
    return handler(builder, module, Call(name, where, x, tuple(args[1:]), kwargs))


def _conv(builder: Builder, m: Any, call: Call) -> Tensor:
    dims, where = builder.dims, call.where
    _channels(where, m.in_channels, call.x)
    if m.padding_mode != "zeros":
        raise SpecError(
            f"{where}: padding_mode={m.padding_mode!r} adds a rule on the input size (the padding must be "
            "smaller than the size) that is not modelled; only 'zeros' is"
        )
    p = m.padding if isinstance(m.padding, str) else per_axis(where, "padding", m.padding, dims)
    text = spec(
        "torch.conv",
        k=per_axis(where, "kernel_size", m.kernel_size, dims),
        s=per_axis(where, "stride", m.stride, dims),
        p=p,
        d=per_axis(where, "dilation", m.dilation, dims),
    )
    return builder.layer(call.name, text, where, call.x, m.out_channels)


def _conv_transpose(builder: Builder, m: Any, call: Call) -> Tensor:
    dims, where = builder.dims, call.where
    if call.rest or call.kwargs.get("output_size") is not None:
        raise SpecError(
            f"{where} is called with output_size, which picks output_padding per input (not supported); "
            "set output_padding on the module instead"
        )
    _channels(where, m.in_channels, call.x)
    text = spec(
        "torch.convT",
        k=per_axis(where, "kernel_size", m.kernel_size, dims),
        s=per_axis(where, "stride", m.stride, dims),
        p=per_axis(where, "padding", m.padding, dims),
        a=per_axis(where, "output_padding", m.output_padding, dims),
        d=per_axis(where, "dilation", m.dilation, dims),
    )
    return builder.layer(call.name, text, where, call.x, m.out_channels)


def _max_pool(builder: Builder, m: Any, call: Call) -> Tensor:
    return _pool(builder, "max", call, vars(m))


def _avg_pool(builder: Builder, m: Any, call: Call) -> Tensor:
    return _pool(builder, "avg", call, vars(m))


def _pool(builder: Builder, op: str, call: Call, p: dict[str, Any]) -> Tensor:
    """Max or average pooling from its arguments (a module's attributes or a functional call's)."""
    dims, where = builder.dims, call.where
    if p.get("return_indices"):
        raise SpecError(f"{where} returns indices too (return_indices=True); not supported")
    k = per_axis(where, "kernel_size", p["kernel_size"], dims)
    stride = p.get("stride")
    params: dict[str, Any] = {
        "k": k,
        "s": k if stride in (None, [], ()) else per_axis(where, "stride", stride, dims),
        "p": per_axis(where, "padding", p.get("padding", 0), dims),
    }
    if op == "max":
        params["d"] = per_axis(where, "dilation", p.get("dilation", 1), dims)
    params["ceil"] = bool(p.get("ceil_mode", False))
    return builder.layer(call.name, spec(f"torch.{op}pool", **params), where, call.x, call.x.channels)


def _adaptive(builder: Builder, m: Any, call: Call) -> Tensor:
    return _adaptive_pool(builder, call, m.output_size, getattr(m, "return_indices", False))


def _adaptive_pool(builder: Builder, call: Call, size: Any, indices: bool) -> Tensor:
    if indices:
        raise SpecError(f"{call.where} returns indices too (return_indices=True); not supported")
    value = uniform(call.where, "output_size", size, builder.dims)
    if value is None:
        return call.x
    return builder.layer(call.name, spec("adaptivepool", size=value), call.where, call.x, call.x.channels)


def _upsample(builder: Builder, m: Any, call: Call) -> Tensor:
    return _resize(builder, call, m.size, m.scale_factor)


def _resize(builder: Builder, call: Call, size: Any, scale: Any) -> Tensor:
    """Interpolation by an integer scale_factor or to a fixed size."""
    dims, where = builder.dims, call.where
    sizes = size if isinstance(size, tuple | list) else [size]
    if any(isinstance(s, Opaque) for s in sizes):
        raise SpecError(
            f"{where} resizes to another tensor's size; not modelled (it needs a 'resize to node' node kind)"
        )
    if size is not None:
        kind = {"size": integer(where, "size", uniform(where, "size", size, dims))}
    elif scale is not None:
        kind = {"scale": integer(where, "scale_factor", uniform(where, "scale_factor", scale, dims))}
    else:
        raise SpecError(f"{where} has neither size nor scale_factor")
    return builder.layer(call.name, spec("upsample", **kind), where, call.x, call.x.channels)


def _pixel_shuffle(builder: Builder, m: Any, call: Call) -> Tensor:
    down = type(m).__name__ == "PixelUnshuffle"
    return _shuffle(builder, call, m.downscale_factor if down else m.upscale_factor, down)


def _shuffle(builder: Builder, call: Call, r: int, down: bool) -> Tensor:
    """PixelShuffle (size * r, channels / r^2) or PixelUnshuffle (size / r if divisible, channels * r^2)."""
    where, channels = call.where, call.x.channels
    if len(builder.dims) != 2:
        raise SpecError(f"{where} works on 2 spatial axes; the input has {len(builder.dims)}")
    if channels is not None:
        if not down and channels % (r * r):
            raise SpecError(f"{where}: {channels} channels are not divisible by r^2 = {r * r}")
        channels = channels * r * r if down else channels // (r * r)
    kind = "pixelunshuffle" if down else "pixelshuffle"
    return builder.layer(call.name, spec(kind, r=r), where, call.x, channels)


def _flatten_module(builder: Builder, m: Any, call: Call) -> Tensor:
    return _flatten(builder, call, m.start_dim, m.end_dim)


def _flatten(builder: Builder, call: Call, start: int, end: int) -> Tensor:
    rank = 2 + len(builder.dims)
    if call.x.flat and start == 1:
        return call.x
    if start != 1 or end not in (-1, rank - 1):
        raise SpecError(
            f"{call.where} flattens axes {start}..{end}; only flattening from axis 1 to the end is modelled"
        )
    return builder.flatten(call.name, call.x, call.where)


def _linear(builder: Builder, m: Any, call: Call) -> Tensor:
    return builder.linear(call.name, call.x, m.in_features, m.out_features, call.where)


Handler = Callable[[Builder, Any, Call], Tensor]
# Keyed by class name with any 1d/2d/3d suffix removed.
MODULES: dict[str, Handler] = {
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "MaxPool": _max_pool,
    "AvgPool": _avg_pool,
    "AdaptiveAvgPool": _adaptive,
    "AdaptiveMaxPool": _adaptive,
    "Upsample": _upsample,
    "UpsamplingNearest": _upsample,
    "UpsamplingBilinear": _upsample,
    "PixelShuffle": _pixel_shuffle,
    "PixelUnshuffle": _pixel_shuffle,
    "Flatten": _flatten_module,
    "Linear": _linear,
}


@cache
def _functions() -> dict[Any, str]:
    """The functions read by kind (preserve, elementwise, cat, ...), keyed by the function object itself."""
    torch = _torch()
    functional = torch.nn.functional
    table: dict[Any, str] = {}
    for name in PRESERVING_FUNCTIONS:
        for owner in (torch, functional):
            if hasattr(owner, name):
                table[getattr(owner, name)] = "preserve"
    table[operator.neg] = table[operator.pos] = "preserve"
    for name in ("add", "sub", "mul", "truediv", "iadd", "isub", "imul", "itruediv", "pow"):
        table[getattr(operator, name)] = "elementwise"
    for name in ("add", "sub", "mul", "div", "maximum", "minimum", "pow"):
        table[getattr(torch, name)] = "elementwise"
    for name in ("cat", "concat", "concatenate"):
        if hasattr(torch, name):
            table[getattr(torch, name)] = "cat"
    table[torch.flatten] = "flatten"
    table[functional.interpolate] = table[functional.upsample] = "interpolate"
    for n in (1, 2, 3):
        table[getattr(functional, f"max_pool{n}d")] = f"maxpool{n}"
        table[getattr(functional, f"avg_pool{n}d")] = f"avgpool{n}"
        table[getattr(functional, f"adaptive_avg_pool{n}d")] = f"adaptive{n}"
        table[getattr(functional, f"adaptive_max_pool{n}d")] = f"adaptive{n}"
    table[functional.pixel_shuffle] = "pixelshuffle"
    table[functional.pixel_unshuffle] = "pixelunshuffle"
    table[getattr] = "getattr"
    table[operator.getitem] = "getitem"
    return table


def _function_label(target: Any) -> str:
    module = getattr(target, "__module__", None) or "torch"
    return f"{module}.{getattr(target, '__name__', repr(target))}"


def _function(builder: Builder, target: Any, name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """The value of a supported function call in the traced graph."""
    kind = _functions().get(target)
    label = _function_label(target)
    where = f"{label} at {name}"
    if kind is None:
        raise unsupported(label, name)
    if kind == "getattr":
        return _getattr(args, where)
    if kind == "getitem":
        return _getitem(args, where)
    if kind == "elementwise":
        return _elementwise(builder, name, where, args, kwargs)
    if kind == "cat":
        bound = _bind("cat", args, kwargs)
        return _concat(builder, name, where, bound["tensors"], bound["dim"] or 0)
    if not args and "input" not in kwargs:
        raise SpecError(f"{where} is called without an input")
    call = Call(name, where, _tensor(args[0] if args else kwargs["input"], where))
    if kind == "preserve":
        return call.x
    if kind == "flatten":
        bound = _bind("flatten", args, kwargs, start_dim=0, end_dim=-1)
        return _flatten(builder, call, bound["start_dim"], bound["end_dim"])
    if kind == "interpolate":
        bound = _bind("interpolate", args, kwargs)
        return _resize(builder, call, bound["size"], bound["scale_factor"])
    if kind in ("pixelshuffle", "pixelunshuffle"):
        bound = _bind(kind, args, kwargs)
        factor = bound["downscale_factor" if kind == "pixelunshuffle" else "upscale_factor"]
        return _shuffle(builder, call, factor, kind == "pixelunshuffle")
    family, n = kind[:-1], int(kind[-1])
    if n != len(builder.dims):
        raise SpecError(f"{where} works on {n} spatial axes; the input has {len(builder.dims)}")
    bound = _bind(family, args, kwargs)
    if family == "adaptive":
        return _adaptive_pool(builder, call, bound["output_size"], bool(bound["return_indices"]))
    return _pool(builder, family.removesuffix("pool"), call, bound)


def _getattr(args: Sequence[Any], where: str) -> Any:
    value, attribute = args[0], args[1]
    if isinstance(value, Tensor) and attribute == "shape":
        return Opaque("shape")
    raise SpecError(f"{where} reads attribute {attribute!r} of {value!r}; not modelled")


def _getitem(args: Sequence[Any], where: str) -> Any:
    value, index = args[0], args[1]
    if isinstance(value, Opaque) and value.what == "shape":
        return BATCH if index == 0 else Opaque(f"size {index}")
    if isinstance(value, tuple | list):
        return value[index]
    if isinstance(value, Tensor):
        raise SpecError(f"{where} indexes or slices a tensor; not modelled (a crop would be a 'crop' node)")
    raise SpecError(f"{where} indexes {value!r}; not modelled")


def _elementwise(builder: Builder, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """A binary elementwise op; `other` may come as a keyword (x.add(other=y))."""
    operands = [*args[:2], kwargs["other"]] if len(args) < 2 and "other" in kwargs else list(args[:2])
    if any(isinstance(a, Opaque) for a in operands):
        raise SpecError(f"{where} computes with a tensor's size; not modelled")
    tensors = [a for a in operands if isinstance(a, Tensor)]
    if not tensors:
        return Constant()
    first = tensors[0]
    if len(operands) < 2:
        return first
    other = operands[1] if operands[0] is first else operands[0]
    return builder.elementwise(name, first, other, where)


def _concat(builder: Builder, name: str, where: str, parts: Any, dim: int) -> Tensor:
    tensors = [_tensor(part, where) for part in parts]
    if not tensors:
        raise SpecError(f"{where} concatenates nothing")
    if tensors[0].flat:
        raise SpecError(f"{where} concatenates flattened tensors; not modelled")
    rank = 2 + len(builder.dims)
    axis = dim % rank
    if axis >= 2:
        raise SpecError(
            f"{where} concatenates along the spatial axis {builder.dims[axis - 2]}; only the channels "
            "(dim=1) or the batch are modelled"
        )
    return builder.concat(name, tensors, axis == 1, where)


def _method(builder: Builder, target: str, name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """The value of a supported tensor method call (x.relu(), x.view(x.size(0), -1), x.size(0), ...)."""
    where = f"Tensor.{target} at {name}"
    if not args or not isinstance(args[0], Tensor):
        raise SpecError(f"{where} is called on {args[0] if args else None!r}, not a tensor")
    x: Tensor = args[0]
    if target in PRESERVING_METHODS:
        return x
    if target in ELEMENTWISE_METHODS:
        return _elementwise(builder, name, where, args, kwargs)
    if target == "size":
        dim = args[1] if len(args) > 1 else kwargs.get("dim")
        if dim is None:
            return Opaque("shape")
        return BATCH if dim == 0 else Opaque(f"size {dim}")
    if target == "flatten":
        bound = _bind("flatten", args, kwargs, start_dim=0, end_dim=-1)
        return _flatten(builder, Call(name, where, x), bound["start_dim"], bound["end_dim"])
    if target in ("view", "reshape"):
        shape = args[1] if len(args) == 2 and isinstance(args[1], tuple | list) else args[1:]
        if len(shape) == 2 and shape[0] is BATCH and shape[1] == -1:
            return _flatten(builder, Call(name, where, x), 1, -1)
        raise SpecError(
            f"{where} reshapes to {tuple(shape)!r}; only x.{target}(x.size(0), -1) (a flatten) is modelled"
        )
    raise unsupported(f"Tensor.{target}", name)
