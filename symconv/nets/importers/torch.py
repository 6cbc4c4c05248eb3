"""PyTorch importer: a Network from an nn.Module, read with torch.fx so that skips become cat and add nodes.

``from_torch(model, input_shape=(1, 3, "H", "W"))`` traces the module with ``torch.fx.symbolic_trace``; when
tracing fails, an ``nn.Sequential`` is read child by child instead. ``from_factory("pkg.module:factory",
input_shape)`` imports the user's module, calls the factory and reads the module it returns.

Supported: Conv1d/2d/3d, ConvTranspose1d/2d/3d (output_padding, or forward's output_size), MaxPool (indices
too), AvgPool and LPPool (ceil_mode), AdaptiveAvgPool/AdaptiveMaxPool (a size per axis, None keeping one),
Upsample and F.interpolate by an integer scale or to a fixed size, PixelShuffle/PixelUnshuffle, torch.cat along the channels, elementwise +, -, *, / (a side that is
1 on every axis broadcasts), shape-preserving modules and functions (activations, dropout, batch, instance
and group norm), nn.Flatten / torch.flatten / x.view(x.size(0), -1) then Linear. The operators of real
networks too: F.pad and the Pad modules, slices with bounds computed from sizes (x.size(2), x.shape[-1], // and
arithmetic on them), interpolate to a size, a per-axis or float scale or another tensor's size, cat along a
spatial axis, split/chunk/stack, mean/sum/amax/amin over axes, permute/transpose/flatten/view/reshape tracked by
symconv.layout (ViT tokens, Swin windows, a channel shuffle's groups), unsqueeze/squeeze, F.layer_norm over the
channels, F.conv1d/2d/3d; max/min/math.ceil/math.floor on sizes are traced as size formulas (timm's SAME
padding); comparisons of sizes asserted with torch._assert are conditions (a check node); a tuple, list or dict
output's first tensor is the output, the others' conditions kept; the model is traced in evaluation mode.
Convolutions with padding_mode reflect/replicate/circular are F.pad then an unpadded convolution, as PyTorch
runs them. Parameters used as tensors broadcast by PyTorch's rules (layer scale, a ViT's class token and
position embedding, weight.shape); nn.MultiheadAttention and F.scaled_dot_product_attention over tokens
(F.scaled_dot_product_attention also over windows, and with a key and value from another, smaller map),
Tensor.unbind, Linear / F.linear over a spatial last axis, torch.narrow, expand_as, torch.roll, torch.flip,
F.unfold / nn.Unfold and Tensor.unfold are read too; space-to-depth and depth-to-space written with view and
permute are pixel (un)shuffles. Anything else is a SpecError naming the op and where it is; a refusal starts
with the file:line of the model's code that made the node.

On tensors whose dimensions were moved (channels-last, tokens, heads, windows): split/chunk/unbind along a
dimension without positions or a whole spatial axis, F.pad and slices of whole spatial axes and of the channels,
torch.matmul / @ / bmm, torch.einsum of two tensors that is a batched product, scaled_dot_product_attention with
a parameter as its mask, a parameter indexed by an index tensor, a mean over every token (see `_matmul`).

Not modelled: the "more than one value per channel" rule of training-mode normalization at spatial size 1.

A forward that branches on sizes (``if h % 32 != 0: raise ...``), which torch.fx refuses, is traced again at a
sample size with each branch a guard, read only when the other side of each guard on sizes refuses the input
(see symconv.nets.importers.branches).
"""

from __future__ import annotations

import builtins
import dataclasses
import importlib
import itertools
import math
import operator
import os
import re
import sys
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache, reduce
from types import SimpleNamespace
from typing import Any

import sympy

from ...core.arith import eq, evaluate, ge, gt, integer_expr, le, lt, mod, ne
from ...core.errors import SpecError, SymconvError
from .. import layout as layouts
from ..network import Network, Node
from ..shapeops import (
    PAD_MODES,
    Check,
    Flip,
    Join,
    Mix,
    Pad,
    Resize,
    Roll,
    Slice,
    Windows,
    decided,
    ref,
    refs,
)
from . import (
    BATCH_SIZE,
    Builder,
    Constant,
    SizeValue,
    Tensor,
    axis_of,
    axis_size,
    input_axes,
    integer,
    parameters,
    per_axis,
    shape_formula,
    spec,
    swin,
    unsupported,
)
from .branches import (
    GUARD_MESSAGE,
    NOT_TAKEN,
    Guarded,
    NoSample,
    confirm_guards,
    node_line,
    raising_line,
    record_line,
    traced_with_guards,
)
from .sides import Read, fuller, read_two_sided, unstated

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
# Maps over one dimension (each output reads every entry of it): per position unless it holds positions.
OVER_A_DIMENSION = ("softmax", "log_softmax", "normalize")
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
    "indexedadaptive": ("input", "output_size", "return_indices"),
    "interpolate": (
        "input",
        "size",
        "scale_factor",
        "mode",
        "align_corners",
        "recompute_scale_factor",
        "antialias",
    ),
    "pad": ("input", "pad", "mode", "value"),
    "split": ("tensor", "split_size_or_sections", "dim"),
    "chunk": ("input", "chunks", "dim"),
    "reduce": ("input", "dim", "keepdim"),
    "layernorm": ("input", "normalized_shape"),
    "conv": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    "pixelshuffle": ("input", "upscale_factor"),
    "pixelunshuffle": ("input", "downscale_factor"),
    "cat": ("tensors", "dim"),
    "flatten": ("input", "start_dim", "end_dim"),
}
DEFAULTS = {
    "stride": None,
    "padding": 0,
    "dilation": 1,
    "ceil_mode": False,
    "return_indices": False,
    "mode": None,
    "keepdim": False,
}


@dataclass(frozen=True)
class Shape:
    """x.shape or x.size() of a tensor: indexing it gives the batch size, the channel count or a spatial size."""

    x: Tensor
    dims: tuple[str, ...]


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
    builder = Builder(dims, fixed, channels)
    x = Tensor("input", channels)
    if _is_torch_nn(model) and type(model) is not torch.nn.Sequential:
        # A single torch.nn layer: tracing would look inside its forward (F.conv2d), so read it as a module.
        return builder.network(_walk(builder, model, type(model).__name__.lower(), x, ""))
    try:
        traced = _traced_in_eval(torch, model)
    except (Exception, ControlFlow, SystemExit) as error:  # tracing runs the user's forward: any failure
        reason = f"torch.fx could not trace {type(model).__name__}: {_first_line(error)}"
        told = False  # the reason says what to change: no word of the fallback needed
        stand_in = _stand_in_refused(torch, error)
        if stand_in is not None:
            reason, told = stand_in, True
        if isinstance(error, torch.fx.proxy.TraceError | ControlFlow):  # a branch: traced at a sample size
            try:
                return _read_past_branches(torch, model, input_shape)
            except SpecError as refusal:
                # past the branch, the forward may fail as fx does without one: said the same way
                past = _stand_in_refused(torch, refusal.error) if isinstance(refusal, NoSample) else None
                reason = (
                    f"{reason}; the forward branches on sizes, and {past}"
                    if past
                    else f"{reason}; read past its branches, the model stops at {refusal}"
                )
                told = True  # why the branches were not read: the whole story
        if type(model) is not torch.nn.Sequential:
            tail = "" if told else "; only an nn.Sequential is read without tracing"
            raise SpecError(f"{reason}{tail}") from None
        return builder.network(_walk(builder, model, "", x, reason))
    return builder.network(_read_graph(builder, traced, x))


def _stand_in_refused(torch: Any, error: BaseException | None) -> str | None:
    """What the forward did where a traced stand-in (an fx Proxy) was refused, from Python's TypeError: made a
    number of a size, or checked a value's type; None for any other error."""
    if not isinstance(error, TypeError) or "Proxy" not in str(error):
        return None
    where, line = raising_line(torch, error)
    if any(words in str(error) for words in NUMBER_ERRORS):
        return (
            f"{where}: `{line}` makes a Python number of a size (int(), float(), round(), range(), a math "
            "function other than ceil/floor), which would fix it to one value; sizes are integers already: use "
            "them as they are (x.shape[2], x.size(2), //)"
        )
    # a check of a value's type: torch.fx traces with stand-ins, which fail it
    return (
        f"{where}: `{line}` rejects a traced value ({_first_line(error)}): a check of its type, which a real "
        "tensor or size passes; torch.fx traces with stand-ins, so this forward is not read"
    )


# How Python refuses to make a number of a traced value (int(), float(), math.sqrt, range(), round()).
NUMBER_ERRORS = ("real number", "interpreted as an integer", "__round__", "__index__", "__int__", "__float__")


def _traced_in_eval(torch: Any, model: Any, tracer: Any = None) -> Trace:
    """torch.fx's trace of the model in evaluation mode, as it runs at inference (dropout, stochastic depth
    and drop path are then the identity), each module's own mode restored afterwards."""
    modes = [(module, module.training) for module in model.modules()]
    model.train(False)  # torch's inference mode: dropout and drop path become the identity
    plain = tracer is None
    tracer = tracer or _plain_tracer(torch)
    try:
        with _size_aware_math(torch):
            # math is not auto-wrapped: its ceil and floor are the size-aware ones while tracing
            graph = tracer.trace(model)
        if (
            plain and tracer.branched
        ):  # the forward caught the ControlFlow (a bare except): a path, not the model
            raise ControlFlow("the forward branches on a traced value and catches the tracer's refusal")
        return Trace(model, graph)
    finally:
        for module, training in modes:
            module.training = training


@dataclass(frozen=True)
class Trace:
    """torch.fx's graph of a forward and the model whose modules and attributes its nodes name by path: what an
    fx GraphModule holds, without the Python code it generates and compiles (the importer reads the graph)."""

    root: Any
    graph: Any


class ControlFlow(BaseException):
    """torch.fx met a Python branch (or an iteration) on a traced value. A BaseException, unlike fx's own
    TraceError (a ValueError), so a forward's `except Exception` / `except ValueError` cannot catch it and trace
    on down its except path as if that were the network."""


def _plain_tracer(torch: Any) -> Any:
    """torch.fx's Tracer, except that a branch or an iteration on a traced value raises ControlFlow."""

    class PlainTracer(torch.fx.Tracer):
        branched = False

        def create_node(self, *args: Any, **kwargs: Any) -> Any:
            return record_line(torch, super().create_node(*args, **kwargs))

        def to_bool(self, obj: Any) -> bool:
            self.branched = True
            raise ControlFlow("symbolically traced variables cannot be used as inputs to control flow")

        def iter(self, obj: Any) -> Any:
            self.branched = True
            raise ControlFlow("a traced value cannot be iterated")

        def length(self, obj: Any) -> int:
            self.branched = True
            raise ControlFlow("the length of a traced value is asked (len())")

    return PlainTracer(autowrap_modules=())


def _read_past_branches(torch: Any, model: Any, input_shape: Sequence[int | str]) -> Network:
    """Where fx stopped at a Python branch on sizes: the network of the trace that takes each branch as a sample
    size does, each branch a guard (a check), read only when every guard on sizes is exact: the other side
    refuses the input (see importers.branches)."""
    channels, dims, fixed = input_axes(input_shape)
    trace = lambda tracer: _traced_in_eval(torch, model, tracer)  # noqa: E731

    def read(traced: Trace, record: Read) -> Network:
        again = Builder(dims, fixed, channels)
        return again.network(_read_graph(again, traced, Tensor("input", channels), record))

    def confirmed(guarded: Guarded) -> tuple[Network, dict[int, Any]]:
        network = read(guarded.traced, Read())
        checks = {node.name for node in network.nodes if node.op == "check"}
        return network, confirm_guards(torch, trace, guarded, checks)

    guarded = traced_with_guards(torch, model, input_shape, trace)
    network, others = confirmed(guarded)
    # where the traced path is the lean one, read the path that makes more (a step per branch, each path
    # making more than the one before: as many steps as decisions at most)
    for _ in guarded.decisions:
        instead = fuller(guarded, others)
        if instead is None:
            break
        guarded = instead
        network, others = confirmed(guarded)
    guards = {guarded.decisions[index].guard for index in others}
    refusal = unstated(network, {node.name for node in network.nodes if node.name in guards})
    if refusal is not None:
        raise refusal
    if not others:
        return network
    return read_two_sided(torch, trace, guarded, others, read)


def size_max(*values: Any) -> Any:
    """max() of sizes in a traced graph (it runs as max)."""
    return max(*values)


def size_min(*values: Any) -> Any:
    """min() of sizes in a traced graph (it runs as min)."""
    return min(*values)


def size_ceil(value: Any) -> Any:
    """math.ceil of a size in a traced graph (it runs as math.ceil)."""
    return math.ceil(value)


def size_floor(value: Any) -> Any:
    """math.floor of a size in a traced graph (it runs as math.floor)."""
    return math.floor(value)


# What a traced call of max/min/math.ceil/math.floor becomes: a node of the graph calling the size function.
_SIZE_MATH = {
    (builtins, "max"): size_max,
    (builtins, "min"): size_min,
    (math, "ceil"): size_ceil,
    (math, "floor"): size_floor,
}


@contextmanager
def _size_aware_math(torch: Any) -> Iterator[None]:
    """While torch.fx traces, max and min (builtins) and math.ceil / math.floor called on a traced value record
    a node instead of comparing or rounding it (which fx cannot trace: timm's pad_same computes the padding
    as max((ceil(i / s) - 1) * s + (k - 1) * d + 1 - i, 0)); called on anything else they are the originals.
    torch.zeros, ones, empty, rand and randn given traced sizes one by one get them as one tuple; len() of a
    traced value asks the tracer (`length`)."""
    proxy_type = torch.fx.Proxy
    originals = {key: getattr(*key) for key in _SIZE_MATH}

    def aware(original: Callable[..., Any], target: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            values = args[0] if len(args) == 1 and isinstance(args[0], list | tuple) else args
            traced = next((v for v in values if isinstance(v, proxy_type)), None)
            if traced is None or kwargs:
                return original(*args, **kwargs)
            return traced.tracer.create_proxy("call_function", target, tuple(values), {})

        return call

    def packed(original: Callable[..., Any]) -> Callable[..., Any]:
        # torch.zeros(b, 1, h, w): torch's parser reads sizes given one by one as ints, so a traced size
        # fails there ("zeros() takes 1 positional argument") before fx sees the call; as one tuple it is traced
        def call(*args: Any, **kwargs: Any) -> Any:
            if len(args) > 1 and any(isinstance(v, proxy_type) for v in args):
                return original(tuple(args), **kwargs)
            return original(*args, **kwargs)

        return call

    original_len = proxy_type.__len__

    def length(proxy: Any) -> int:
        # fx refuses len() of a traced value outright; the tracer answers it (a shape's length is its rank)
        answer = getattr(proxy.tracer, "length", None)
        return original_len(proxy) if answer is None else int(answer(proxy))

    proxy_type.__len__ = length
    factories = {name: getattr(torch, name) for name in SIZED_FACTORIES}
    for (owner, name), original in originals.items():
        setattr(owner, name, aware(original, _SIZE_MATH[owner, name]))
    for name, original in factories.items():
        setattr(torch, name, packed(original))
    try:
        yield
    finally:
        for (owner, name), original in originals.items():
            setattr(owner, name, original)
        for name, original in factories.items():
            setattr(torch, name, original)
        proxy_type.__len__ = original_len


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
        hint = ""
        if "/" in module_name or "\\" in module_name or module_name.endswith(".py"):
            # a file path where a module name goes: say how to name it
            hint = (
                "; give a module name, not a file path: run from the file's directory (or add it to PYTHONPATH) "
                "and write module:factory, e.g. models:build for models.py"
            )
        raise SpecError(f"cannot import {module_name} (in {text}): {error}{hint}") from None
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
    if isinstance(value, tuple) and value and isinstance(value[0], Tensor):
        value = value[0]  # a pool's values and indices: the output is the first tensor, as for a traced model
    if not isinstance(value, Tensor):
        raise SpecError(f"{_label(module)} at {path} does not return a tensor")
    return value


def _read_graph(builder: Builder, traced: Trace, x: Tensor, record: Read | None = None) -> Tensor:
    """Every node of an fx graph in order; the first tensor the forward returns is the output. `record` (when
    given) gets each network node's name with the fx node it was read from, and each fx node's value."""
    fx = _torch().fx
    modules = dict(traced.root.named_modules())
    values: dict[Any, Any] = {} if record is None else record.values
    seen_input = False
    for node in traced.graph.nodes:
        args = fx.node.map_arg(node.args, lambda n: values[n])
        kwargs = fx.node.map_arg(node.kwargs, lambda n: values[n])
        if any(isinstance(v, str) and "Proxy(" in v for v in (*args, *kwargs.values())):
            args, kwargs = _unproxied(builder, args, values), _unproxied(builder, kwargs, values)
        if node.op == "placeholder":
            if seen_input:
                if not node.args:
                    raise SpecError(f"forward takes a second input {node.target!r}; only one input is read")
                values[node] = node.args[0]
                continue
            values[node], seen_input = x, True
        elif node.op == "get_attr":
            values[node] = _constant(_attribute(traced.root, node.target))
        elif node.op == "output":
            return _positioned(builder, _output(args[0]))
        else:
            count = len(builder.nodes)
            with _located(node):
                values[node] = _node_value(builder, node, modules, args, kwargs)
            if record is not None:
                record.made.update((made_node.name, node) for made_node in builder.nodes[count:])
    raise SpecError("the traced graph has no output")


def _unproxied(builder: Builder, args: Any, values: dict[Any, Any]) -> Any:
    """Strings formatted from traced values during the trace (torchvision's ViT asserts f"Expected 224 but got
    {h}!", which reads "got Proxy(getitem_2)") with each such value shown as what it is (H)."""
    named = {node.name: value for node, value in values.items()}

    def shown(match: re.Match[str]) -> str:
        value = named.get(match.group(1))
        return match.group(0) if value is None else _shown(builder, value)

    def mended(value: Any) -> Any:
        return re.sub(r"Proxy\((\w+)\)", shown, value) if isinstance(value, str) else value

    if isinstance(args, dict):
        return {key: mended(value) for key, value in args.items()}
    return tuple(mended(value) for value in args)


def _node_value(builder: Builder, node: Any, modules: dict[str, Any], args: Any, kwargs: Any) -> Any:
    """The value of a call in the traced graph (a module's, a function's or a method's)."""
    if node.op in ("call_module", "call_function", "call_method") and _computable(args, kwargs):
        call = modules[node.target] if node.op == "call_module" else node.target
        return _computed(node.op, call, node.name, args, kwargs)
    if node.op == "call_module":
        return _module(builder, modules[node.target], node.target, node.name, args, kwargs)
    if node.op == "call_function":
        return _function(builder, node.target, node.name, args, kwargs)
    if node.op == "call_method":
        return _method(builder, node.target, node.name, args, kwargs)
    raise SpecError(f"the traced graph has a node {node.name} of kind {node.op!r}, which is not read")


@contextmanager
def _located(node: Any) -> Iterator[None]:
    """A refusal while a node is read starts with the file:line of the model's code that made it."""
    try:
        yield
    except SymconvError as error:
        line = node_line(node)
        if line is None or str(error).startswith(line):
            raise
        raise type(error)(f"{line}: {error}") from None


def _constant(value: Any) -> Any:
    """A value computed without the input as the importer holds it: a tensor as a Constant (its shape and the
    tensor), a shape as a tuple of integers, sequences item by item, anything else as it is."""
    torch = _torch()
    if isinstance(value, torch.Tensor):
        return Constant(tuple(int(v) for v in value.shape), value)
    if isinstance(value, torch.Size):
        return tuple(int(v) for v in value)
    if isinstance(value, tuple | list):
        return type(value)(_constant(v) for v in value)
    return value


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, tuple | list):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, slice):
        yield from _leaves((value.start, value.stop, value.step))
    else:
        yield value


def _computable(args: Sequence[Any], kwargs: dict[str, Any]) -> bool:
    """A call computed from parameters and buffers alone (and plain values): nothing read from the input,
    at least one tensor the importer holds, and every tensor held (a position bias, an MLP over a table of
    coordinates). What does not depend on the input is a constant, whatever computes it."""
    leaves = list(_leaves((args, kwargs)))
    constants = [v for v in leaves if isinstance(v, Constant)]
    dependent = (Tensor, Shape, Pieces, SizeValue, SizeCondition, SizeConditions, Sized)
    return (
        bool(constants)
        and all(c.value is not None for c in constants)
        and not any(isinstance(v, dependent) for v in leaves)
    )


def _computed(op: str, target: Any, name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """The value of a call on constants, computed by PyTorch on copies of them (a call that works in place
    leaves the model's parameters as they are); on the meta device only shapes are computed."""
    torch = _torch()

    def real(value: Any) -> Any:
        if isinstance(value, Constant):
            held = value.value
            return held.clone() if isinstance(held, torch.Tensor) else held
        if isinstance(value, tuple | list):
            return type(value)(real(v) for v in value)
        if isinstance(value, dict):
            return {k: real(v) for k, v in value.items()}
        if isinstance(value, slice):
            return slice(real(value.start), real(value.stop), real(value.step))
        return value

    values, options = real(tuple(args)), real(kwargs)
    label = {"call_method": f"Tensor.{target}", "call_module": _label(target)}.get(op) or _function_label(
        target
    )
    # a module runs as at inference (as the model was traced), its own modes restored afterwards
    modes = [(m, m.training) for m in target.modules()] if op == "call_module" else []
    try:
        with torch.no_grad():
            if op == "call_method":
                result = getattr(values[0], target)(*values[1:], **options)
            else:
                for module, _ in modes:
                    module.training = False
                result = target(*values, **options)
    except Exception as error:  # the model's own computation on its parameters
        raise SpecError(
            f"{label} at {name} computes a constant from the model's parameters and buffers, and PyTorch "
            f"refuses it: {type(error).__name__}: {_first_line(error)}"
        ) from None
    finally:
        for module, training in modes:
            module.training = training
    return _constant(result)


def _attribute(root: Any, target: str) -> Any:
    for part in target.split("."):
        root = getattr(root, part)
    return root


def _output(value: Any) -> Tensor:
    """The network's output: the first tensor the forward returns, in order through tuples, lists and dicts
    ({"out": ..., "aux": ...}, an FPN's levels). The other outputs' nodes stay in the network, so their
    conditions are part of its valid set (the forward computes every output)."""
    found = _tensors(value)
    if not found:
        raise SpecError(
            f"the forward returns {type(value).__name__} holding no tensor computed from the input; "
            "the output must be a tensor, or a tuple, list or dict holding one"
        )
    return found[0]


def _positioned(builder: Builder, x: Tensor) -> Tensor:
    """The output, whose spatial axes must each be whole and in order, alone in their dimensions (one each, or
    merged as tokens or F.unfold's blocks H*W), after the batch: its sizes are those axes' sizes. A SpecError
    for an output whose positions a view, permute or reshape split, reordered or merged with the channels."""
    if x.flat or x.layout is None:
        return x
    holding = [group for group in x.layout if any(p.kind in POSITIONS for p in group)]
    parts = [p for group in holding for p in group]
    if (
        x.layout[:1] != ((layouts.Part("batch"),),)
        or parts != [layouts.Part("spatial", d) for d in builder.dims]
        or any(p.kind not in POSITIONS for group in holding for p in group)
    ):
        raise SpecError(
            f"the forward returns a tensor whose axes are {layouts.describe(x.layout)}: its sizes along "
            f"{', '.join(builder.dims)} are not modelled, as a view, permute or reshape split, reordered or "
            "merged them with other dimensions (move the axes back before returning it)"
        )
    if any(p.kind == "keys" and p.node for group in x.layout for p in group):
        # attention scores against another map's keys: the key dimensions have that map's sizes, not the
        # output positions' (returned as a map of their own, they would be taken for the output's sizes)
        raise SpecError(
            f"the forward returns a tensor whose axes are {layouts.describe(x.layout)}, holding the keys of another "
            "map than its positions' (attention scores): their sizes are not modelled as an output (return the "
            "scores applied to the values)"
        )
    return x


def _tensors(value: Any) -> list[Tensor]:
    """Every tensor in a (nested) tuple, list or dict, in order."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, tuple | list):
        return [t for item in value for t in _tensors(item)]
    return []


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


def _channels_second(x: Tensor) -> bool:
    """A laid-out tensor whose dimension 1 is the channels (a batch norm's axis), whatever the others hold."""
    return x.layout is not None and len(x.layout) >= 2 and x.layout[1] == (layouts.Part("channels"),)


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
    if cls in ("Softmax", "LogSoftmax"):
        return _over_dimension(builder, Call(name, where, x), module.dim)
    if cls in ACTIVATIONS:
        return x
    if cls in NORMS:
        if cls.startswith(("BatchNorm", "SyncBatchNorm")) and _channels_second(x):
            # LeViT's bn(x.flatten(0, 1)) on tokens: in evaluation an affine map per channel, at any rank
            return x
        if not x.flat:
            _rank(builder, cls, where)
        return x
    if cls == "LayerNorm":
        return _layer_norm(builder, name, x, module.normalized_shape, where)
    if cls == "MultiheadAttention":
        return _attention(builder, module, Call(name, where, x, tuple(args[1:]), kwargs))
    sized = cls[-2:] in ("1d", "2d", "3d")
    handler = MODULES.get(cls[:-2] if sized else cls)
    if handler is None:
        raise unsupported(_label(module), path)
    _rank(builder, cls, where)
    return handler(builder, module, Call(name, where, x, tuple(args[1:]), kwargs))


def _conv(builder: Builder, m: Any, call: Call) -> Tensor:
    dims, where = builder.dims, call.where
    _channels(where, m.in_channels, call.x)
    x = call.x
    if m.padding_mode != "zeros":
        # PyTorch runs F.pad(x, m._reversed_padding_repeated_twice, mode=padding_mode), then the convolution
        # without padding: the padding holds input values (mirrored, repeated or wrapped), and F.pad's rules
        # on the size apply (reflect: each amount less than the size; circular: at most the size).
        amounts = tuple(getattr(m, "_reversed_padding_repeated_twice", ()))
        x = _pad(
            builder,
            Call(f"{call.name}_pad", f"{where} (padding_mode={m.padding_mode!r})", x),
            amounts,
            m.padding_mode,
        )
        call = Call(call.name, where, x)
    p = (
        0
        if m.padding_mode != "zeros"
        else m.padding
        if isinstance(m.padding, str)
        else per_axis(where, "padding", m.padding, dims)
    )
    text = spec(
        "torch.conv",
        k=per_axis(where, "kernel_size", m.kernel_size, dims),
        s=per_axis(where, "stride", m.stride, dims),
        p=p,
        d=per_axis(where, "dilation", m.dilation, dims),
    )
    return builder.layer(call.name, text, where, x, m.out_channels)


def _conv_parameters(bound: dict[str, Any], n: int, where: str) -> Any:
    """F.conv1d/2d/3d's arguments as the Conv module's attributes: the kernel and the channels from the
    weight's shape (out_channels, in_channels / groups, *kernel)."""
    weight = bound["weight"]
    shape = weight.shape if isinstance(weight, Constant) else None
    if shape is None or len(shape) != n + 2 or any(not isinstance(v, int) for v in shape):
        raise SpecError(f"{where}: the weight's shape is not known (a parameter of the model is read)")

    def per_axis(value: Any, default: int) -> Any:
        value = default if value is None else value
        return value if isinstance(value, str) else (value,) * n if isinstance(value, int) else tuple(value)

    out, per_group, *kernel = (int(v or 0) for v in shape)
    return SimpleNamespace(
        in_channels=per_group * (bound["groups"] or 1),
        out_channels=out,
        kernel_size=tuple(kernel),
        stride=per_axis(bound["stride"], 1),
        padding=per_axis(bound["padding"], 0),
        dilation=per_axis(bound["dilation"], 1),
        padding_mode="zeros",
    )


def _conv_transpose(builder: Builder, m: Any, call: Call) -> Tensor:
    dims, where = builder.dims, call.where
    if call.rest or call.kwargs.get("output_size") is not None:
        return _conv_transpose_to(builder, m, call)
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


def _conv_transpose_to(builder: Builder, m: Any, call: Call) -> Tensor:
    """ConvTranspose called with output_size (torch/nn/modules/conv.py _ConvTransposeNd._output_padding): per
    axis PyTorch takes output_padding = size - least, where least = (i - 1)s - 2p + d(k - 1) + 1, and refuses a
    size outside [least, least + s - 1]. Read as the transposed convolution with the largest output_padding,
    s - 1 (whose windows are the same, and whose size is least + s - 1), cropped at the end to the size."""
    dims, where = builder.dims, call.where
    wanted = call.rest[0] if call.rest else call.kwargs["output_size"]
    if isinstance(wanted, Shape):
        wanted = [_shape_item(wanted, k, where) for k in range(2 + len(dims))]
    sizes = list(wanted) if isinstance(wanted, tuple | list) else [wanted]
    if len(sizes) == len(dims) + 2:
        sizes = sizes[2:]
    if len(sizes) != len(dims):
        raise SpecError(
            f"{where}: output_size must have {len(dims)} or {len(dims) + 2} elements (PyTorch's rule), "
            f"got {len(sizes)}"
        )
    strides = m.stride if isinstance(m.stride, tuple | list) else (m.stride,) * len(dims)
    widest = Call(f"{call.name}_full", where, call.x)
    full = _conv_transpose(
        builder, SimpleNamespace(**{**vars(m), "output_padding": tuple(s - 1 for s in strides)}), widest
    )
    targets = [
        shape_formula(builder, size, dim, where, "output_size") for size, dim in zip(sizes, dims, strict=True)
    ]
    rule = (
        "ConvTranspose output_size must be between the least size and the least + stride - 1 (PyTorch's rule)"
    )
    checks = [
        Check(
            sympy.And(ge(target, ref(full.node) - (s - 1)), le(target, ref(full.node)), ge(target, 1)), rule
        )
        for target, s in zip(targets, strides, strict=True)
    ]
    checked = builder.shape_op(f"{call.name}_size", "check", [full], checks, full.channels)
    crops = [Pad(sympy.Integer(0), target - ref(full.node)) for target in targets]
    return builder.shape_op(call.name, "pad", [checked], crops, full.channels)


def _max_pool(builder: Builder, m: Any, call: Call) -> Any:
    return _with_indices(_pool(builder, "max", call, vars(m)), bool(m.return_indices))


def _with_indices(values: Tensor, indices: bool) -> Any:
    """A max pool's result: its values, and with return_indices=True the indices too, a tensor of the values'
    shape whose entry depends on the same window (where the maximum is)."""
    return (values, values) if indices else values


def _lp_pool(builder: Builder, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Tensor:
    """F.lp_pool1d/2d/3d(x, norm_type, kernel_size, stride=None, ceil_mode=False): PyTorch computes it as
    avg_pool of x ** norm_type with no padding (stride defaults to the kernel), then elementwise operations."""
    bound = _call_arguments(("input", "norm_type", "kernel_size", "stride", "ceil_mode"), args, kwargs)
    call = Call(name, where, _tensor(bound["input"], where))
    return _lp_pool_of(builder, call, bound["kernel_size"], bound.get("stride"), bool(bound.get("ceil_mode")))


def _lp_pool_module(builder: Builder, m: Any, call: Call) -> Tensor:
    return _lp_pool_of(builder, call, m.kernel_size, m.stride, bool(m.ceil_mode))


def _lp_pool_of(builder: Builder, call: Call, kernel: Any, stride: Any, ceil_mode: bool) -> Tensor:
    how = {"kernel_size": kernel, "stride": stride, "padding": 0, "ceil_mode": ceil_mode}
    return _pool(builder, "avg", call, how)


def _max_pool_with_indices(
    builder: Builder, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]
) -> Any:
    """F.max_pool*d_with_indices (F.max_pool2d(..., return_indices=True)): the values and the indices."""
    bound = _bind("maxpool", args, kwargs)
    x = _tensor(bound["input"], where)
    if x.flat or x.layout is not None:
        builder.spatial(x, where)
    return _with_indices(_pool(builder, "max", Call(name, where, x), bound), True)


def _flip_call(
    builder: Builder, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]
) -> Tensor:
    """torch.flip(x, dims) / x.flip(dims) / x.flip(*dims)."""
    if not args or not isinstance(args[0], Tensor):
        raise SpecError(f"{where} is called on {args[0] if args else None!r}, not a tensor")
    dims = args[1:] if len(args) > 2 else args[1] if len(args) == 2 else kwargs.get("dims")
    return _flip(builder, name, where, args[0], dims)


def _flip(builder: Builder, name: str, where: str, x: Tensor, dims: Any) -> Tensor:
    """Reversed spatial axes keep their sizes; output position j reads input position n - 1 - j. Reversing the
    batch or the channels moves no position."""
    if x.flat:
        raise SpecError(f"{where}: flip of a flattened tensor is not modelled")
    dim_list = list(dims) if isinstance(dims, tuple | list) else [dims]
    if not dim_list or not all(isinstance(d, int) and not isinstance(d, bool) for d in dim_list):
        raise SpecError(f"{where}: flip needs dims, integers, got {dims!r}")
    axes = [_spatial_axis(builder, x, dim, where) for dim in dim_list]
    if len({index for _, index in axes}) != len(axes):
        raise SpecError(f"{where}: dims {dims!r} name a dimension twice (PyTorch's rule: each at most once)")
    reversed_axes = {axis for axis, _ in axes if axis is not None}
    if not reversed_axes:
        return x
    entries = [Flip(dim in reversed_axes) for dim in builder.dims]
    made = builder.shape_op(name, "flip", [Tensor(x.node, x.channels)], entries, x.channels)
    return Tensor(made.node, x.channels, layout=x.layout)


def _avg_pool(builder: Builder, m: Any, call: Call) -> Tensor:
    return _pool(builder, "avg", call, vars(m))


def _pool(builder: Builder, op: str, call: Call, p: dict[str, Any]) -> Tensor:
    """Max or average pooling from its arguments (a module's attributes or a functional call's)."""
    dims, where = builder.dims, call.where
    k = per_axis(where, "kernel_size", p["kernel_size"], dims)
    stride = p.get("stride")
    if any(isinstance(v, SizeValue) for v in (k if isinstance(k, tuple) else (k,))):
        return _global_pool(builder, op, call, k, p)
    params: dict[str, Any] = {
        "k": k,
        "s": k if stride in (None, [], ()) else per_axis(where, "stride", stride, dims),
        "p": per_axis(where, "padding", p.get("padding", 0), dims),
    }
    if op == "max":
        params["d"] = per_axis(where, "dilation", p.get("dilation", 1), dims)
    params["ceil"] = bool(p.get("ceil_mode", False))
    return builder.layer(call.name, spec(f"torch.{op}pool", **params), where, call.x, call.x.channels)


def _global_pool(builder: Builder, op: str, call: Call, k: Any, p: dict[str, Any]) -> Tensor:
    """A pooling whose kernel is the input's own size (F.avg_pool2d(x, x.size()[2:])), with the default stride
    and no padding: one window over each whole axis, the adaptive pool to 1 (an area resize). A kernel computed
    from sizes otherwise is refused by name."""
    dims, where = builder.dims, call.where
    kernel = k if isinstance(k, tuple) else (k,) * len(dims)
    plain = (
        p.get("stride") in (None, [], ())
        and p.get("padding", 0) in (0, (0,) * len(dims), [0] * len(dims))
        and p.get("dilation", 1) in (1, (1,) * len(dims), [1] * len(dims))
    )
    own = ref(call.x.node)
    entries = []
    for dim, size in zip(dims, kernel, strict=True):
        if size == 1:
            entries.append(Resize(None, Fraction(1), "nearest"))  # a window of one position: the identity
        elif plain and shape_formula(builder, size, dim, where, "kernel_size") == own:
            entries.append(Resize(sympy.Integer(1), None, "area"))
        else:
            raise SpecError(
                f"{where}: {op} pooling with a kernel computed from sizes ({_shown(builder, size)} along {dim}) is "
                "read only as a global pool: the kernel the input's own size on each axis, the default stride, "
                "no padding (or use adaptive pooling)"
            )
    return builder.shape_op(call.name, "resize", [call.x], entries, call.x.channels)


def _adaptive(builder: Builder, m: Any, call: Call) -> Any:
    return _adaptive_pool(builder, call, m.output_size, getattr(m, "return_indices", False))


def _adaptive_pool(builder: Builder, call: Call, size: Any, indices: bool) -> Any:
    """Adaptive pooling to `size`, one value or one per axis; None keeps that axis (its windows are then one
    position each: an area resize to the same size)."""
    value = per_axis(call.where, "output_size", size, builder.dims)
    if value is None:
        return _with_indices(call.x, indices)
    values = value if isinstance(value, tuple) else (value,) * len(builder.dims)
    if None in values or any(isinstance(v, SizeValue) for v in values):
        # an axis kept, or a size computed from sizes (x.shape[2] // 3): per axis, an area resize
        entries = [
            Resize(None, Fraction(1), "nearest")
            if v is None
            else Resize(shape_formula(builder, v, dim, call.where, "output_size"), None, "area")
            for dim, v in zip(builder.dims, values, strict=True)
        ]
        made = builder.shape_op(call.name, "resize", [call.x], entries, call.x.channels)
        return _with_indices(made, indices)
    made = builder.layer(call.name, spec("adaptivepool", size=value), call.where, call.x, call.x.channels)
    return _with_indices(made, indices)


def _upsample(builder: Builder, m: Any, call: Call) -> Tensor:
    mode = getattr(m, "mode", "nearest")
    recompute = bool(getattr(m, "recompute_scale_factor", None))
    return _resize(
        builder, call, m.size, m.scale_factor, mode, bool(getattr(m, "align_corners", False)), recompute
    )


# A float scale factor m / 2**e (m odd) of at most this many bits in m: PyTorch's floor(i * scale), computed in
# double precision, is exact for every size below 2**(53 - bits), far past any tensor.
SHORT_SCALE_BITS = 20


def _scale(where: str, value: Any, recompute: bool) -> Fraction:
    """A scale factor as PyTorch computes with it: its double's exact value, when that is a short binary fraction
    (2, 0.5, 1.5, 0.25, ...). Another double (2.3, 1/3) is rounded in each product, at sizes no formula follows,
    and a recomputed non-integer scale reads at i/o: both refused."""
    if isinstance(value, SizeValue):
        raise SpecError(
            f"{where}: scale_factor is computed from sizes ({value}): PyTorch multiplies each size by it in "
            "floating point, at sizes no formula follows; give the output size (size=...) instead"
        )
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value <= 0
        or not math.isfinite(value)
    ):
        raise SpecError(f"{where}: scale_factor must be a positive number, got {value!r}")
    exact = Fraction(float(value))
    if exact.numerator.bit_length() > SHORT_SCALE_BITS or exact.denominator.bit_length() > SHORT_SCALE_BITS:
        raise SpecError(
            f"{where}: scale_factor={value!r} is not a short binary fraction: PyTorch computes floor(i * scale) "
            "in double precision, whose rounding departs from the decimal's floor at sizes no formula follows "
            "(scale 2.3 at i = 50: 114, not 115); give the output size (size=...) or a scale such as 2.25"
        )
    if recompute and exact.denominator != 1:
        raise SpecError(
            f"{where}: recompute_scale_factor=True with scale_factor={value!r}: PyTorch then reads the input at "
            "i/o, not 1/scale (not modelled); give the output size (size=...) instead"
        )
    return exact


def _resize(
    builder: Builder,
    call: Call,
    size: Any,
    scale: Any,
    mode: str = "nearest",
    align_corners: bool = False,
    recompute: bool = False,
) -> Tensor:
    """Interpolation to a size (integers, or sizes of other tensors: F.interpolate(x, size=skip.shape[2:])) or
    by a scale (floor(i * scale), PyTorch's rule; float scales that are short binary fractions too), one value
    or one per spatial axis."""
    dims, where = builder.dims, call.where
    if size is not None and scale is not None:
        raise SpecError(f"{where}: only one of size or scale_factor should be defined (PyTorch's rule)")
    if size is None and scale is None:
        raise SpecError(f"{where} has neither size nor scale_factor")
    given = size if size is not None else scale
    values = list(given) if isinstance(given, tuple | list) else [given] * len(dims)
    if len(values) != len(dims):
        what = "size" if size is not None else "scale_factor"
        raise SpecError(
            f"{where}: {what} has {len(values)} entries for {len(dims)} spatial axes ({', '.join(dims)}); "
            "PyTorch needs one per axis"
        )
    plain = all(isinstance(v, int) and not isinstance(v, bool) for v in values) and len(set(values)) == 1
    whole = scale is not None and all(isinstance(v, int | float) and float(v).is_integer() for v in values)
    if (plain or (whole and len(set(values)) == 1)) and mode in (
        "nearest",
        "linear",
        "bilinear",
        "trilinear",
    ):
        # An integer scale or one fixed size: the upsample layer (its windows are modelled exactly).
        kind = (
            {"size": values[0]} if size is not None else {"scale": integer(where, "scale_factor", values[0])}
        )
        if mode != "nearest":
            kind |= {"mode": "linear", "align_corners": align_corners}
        return builder.layer(call.name, spec("upsample", **kind), where, call.x, call.x.channels)
    entries = []
    for dim, value in zip(dims, values, strict=True):
        if size is not None:
            entries.append(
                Resize(shape_formula(builder, value, dim, where, "size"), None, mode, align_corners)
            )
            continue
        entries.append(Resize(None, _scale(where, value, recompute), mode, align_corners))
    return builder.shape_op(call.name, "resize", [call.x], entries, call.x.channels)


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
    if start == 1 and end in (-1, rank - 1) and call.x.layout is None:
        return builder.flatten(call.name, call.x, call.where)
    if call.x.flat:
        raise SpecError(f"{call.where} flattens axes {start}..{end} of a flattened tensor; not modelled")
    # Any other range merges axes (a ViT patch embedding's flatten(2)): the layout records which.
    return _rearranged(builder, call, call.x, layouts.flatten(_layout(builder, call.x), start, end))


def _layout(builder: Builder, x: Tensor) -> layouts.Layout:
    return x.layout if x.layout is not None else layouts.standard(builder.dims)


def _laid_out(builder: Builder, x: Tensor, layout: layouts.Layout) -> Tensor:
    """x with the given layout (None again when it is the standard one)."""
    standard = layout == layouts.standard(builder.dims)
    return Tensor(x.node, x.channels, layout=None if standard else layout)


def _move(builder: Builder, call: Call, kind: str, order: tuple[Any, ...]) -> Tensor:
    """permute / transpose: the layout's dimensions reordered."""
    if call.x.flat:
        raise SpecError(f"{call.where} moves the axes of a flattened tensor; not modelled")
    try:
        layout = _layout(builder, call.x)
        moved = layouts.permute(layout, order) if kind == "permute" else layouts.transpose(layout, *order)
    except SpecError as error:
        raise SpecError(f"{call.where}: {error}") from None
    return _laid_out(builder, call.x, moved)


def _reshape(builder: Builder, call: Call, shape: Sequence[Any]) -> Tensor:
    """view / reshape matched to the tensor's parts (see symconv.layout); an axis split into windows adds a
    `windows` node: PyTorch's view needs the axis divisible by the window."""
    x, where = call.x, call.where
    if x.flat:
        raise SpecError(
            f"{where} reshapes a flattened tensor to {_shown(builder, tuple(shape))}; not modelled"
        )
    if x.channels is None:
        raise SpecError(
            f"{where} reshapes a tensor whose channel count is unknown; give it in the input shape"
        )

    # A dimension of tokens with a class token is moved whole (its size is a sum, not a product of parts).
    atoms = {
        layouts.Part("tokens", str(k)): group
        for k, group in enumerate(_layout(builder, x))
        if any(p.kind == "extra" for p in group)
    }

    def value(part: layouts.Part) -> sympy.Expr:
        if part.kind == "tokens":
            size = _group_size(x, atoms[part], where)
            if isinstance(size, SizeValue):
                return _at_fixed(builder, builder.resolved(size, where))
            return sympy.Integer(size)
        if part.kind == "batch":
            return BATCH_SIZE
        if part.kind == "channels":
            return sympy.Integer(x.channels or 0)
        if part.kind in ("inner", "group", "taps", "stack") or _window_keys(part):
            return sympy.Integer(part.window)
        size = _at_fixed(builder, builder.formula(part.node or x.node, part.dim))
        return size if part.kind in ("spatial", "keys") else sympy.floor(size / part.window)

    # on an axis of fixed size every size is a number: a view by numbers (MaxViT's grid of 8 x 8 windows at
    # 224) lines up with the parts by their numbers
    targets = [
        None if v == -1 else _at_fixed(builder, builder.resolved(SizeValue.of(v), where)) for v in shape
    ]
    whole = {group: (atom,) for atom, group in atoms.items()}
    parts = tuple(whole.get(g, g) for g in _layout(builder, x))

    def divisible(dim: str, window: int) -> bool:
        # the axis a multiple of the window wherever the network so far is defined (padded to one)
        return _multiple_so_far(builder, value(layouts.Part("spatial", dim)), dim, window)

    try:
        try:
            layout, splits = layouts.reshape(parts, targets, value, divisible=divisible)
        except SpecError:
            # Lined up again where the network so far is defined (the view runs only there): the side of
            # Twins' `if pad_r > 0 or pad_b > 0:` that does not crop views its padded tokens as H * W, which
            # they are where that side's guard holds.
            layout, splits = layouts.reshape(parts, targets, value, _equal_so_far(builder), divisible)
        layout = tuple(tuple(q for p in group for q in atoms.get(p, (p,))) for group in layout)
    except SpecError as error:
        if len(shape) == 2 and shape[0] == -1 and x.layout is None:
            # LeNet's x.view(-1, 16 * 5 * 5) where an axis is free: -1 is the batch only where the sizes
            # give exactly that many features; elsewhere PyTorch changes the batch size instead of failing
            raise SpecError(
                f"{where} views (batch, channels, {', '.join(builder.dims)}) as (-1, {_shown(builder, shape[1])}) with the batch as -1: at sizes whose flattened count is another multiple of it, "
                "PyTorch changes the batch size instead of failing, which is not modelled; write x.flatten(1) "
                "(or x.view(x.size(0), -1)), whose Linear then states the size it needs"
            ) from None
        raise SpecError(
            f"{where} reshapes {layouts.describe(_layout(builder, x))} to {_shown(builder, tuple(shape))}: {error}"
        ) from None
    windows = dict(splits)
    if windows:
        entries = [Windows(windows.get(dim, 1)) for dim in builder.dims]
        x = builder.shape_op(call.name, "windows", [Tensor(x.node, x.channels)], entries, x.channels)
    elif x.layout is None and layout == layouts.flatten(layouts.standard(builder.dims), 1, -1):
        # (batch, channels and every axis): flatten(1) written as a view (LeNet's x.view(-1, 16 * 5 * 5))
        return builder.flatten(call.name, x, where)
    return _rearranged(builder, call, x, layout)


def _rearranged(builder: Builder, call: Call, x: Tensor, layout: layouts.Layout) -> Tensor:
    """x with the given layout; where that is space-to-depth or depth-to-space written with view, permute and
    flatten (symconv.layout.rearrangement), a pixel unshuffle or shuffle node by each axis' factor, whose
    channels are multiplied (divided) by the factors and whose windows are blocks of the factor."""
    found = None if x.channels is None else layouts.rearrangement(layout, builder.dims, x.channels)
    if found is None:
        return _laid_out(builder, x, layout)
    down, factors, channels, last = found
    plain = Tensor(x.node, x.channels)
    # A receptive field follows the positions a pixel unshuffle puts into the channels, by their order there, so
    # that a shuffle takes them back out. Pieces in another order than PyTorch's pixel_unshuffle (the blocks after
    # the channels, in axis order), or taken out of channels whose order the layout does not record, are mixed
    # first: each position's field is then its whole block, never a wrong phase of it.
    if not down:
        plain = _channel_mix(builder, f"{call.name}_order", plain, x.channels)
    made = builder.built(call.name, _shuffle_layer(down, factors), plain, channels)
    if down and not _blocks_last(layout[-1] if last else layout[1], builder.dims):
        made = _channel_mix(builder, f"{call.name}_order", made, channels)
    if last:  # the channels stay last, as they came (timm Swin's patch merging, on (B, H, W, C))
        standard = layouts.standard(builder.dims)
        return _laid_out(builder, made, (standard[0], *standard[2:], standard[1]))
    return made


def _blocks_last(group: tuple[layouts.Part, ...], dims: Sequence[str]) -> bool:
    """Whether the pieces of the channels put the blocks last, in axis order, as PyTorch's pixel_unshuffle does."""
    blocks = [p.dim for p in group if p.kind == "inner"]
    return [p.kind == "inner" for p in group] == sorted(p.kind == "inner" for p in group) and blocks == [
        d for d in dims if d in blocks
    ]


def _shuffle_layer(down: bool, factors: tuple[int, ...]) -> Any:
    """A pixel (un)shuffle by `factors`, one per spatial axis (an axis of factor 1 is left as it is)."""
    from ...core.layers import Axes, layer

    kind = "pixelunshuffle" if down else "pixelshuffle"
    if len(set(factors)) == 1:
        return layer(spec(kind, r=factors[0]))
    text = spec(kind, r=factors)
    made = tuple(layer(spec(kind, r=f)) for f in factors)
    return Axes(text, "", (), made, (text[len(kind) + 1 : -1],))


def _layer_norm(builder: Builder, name: str, x: Tensor, normalized_shape: Any, where: str) -> Tensor:
    """LayerNorm / F.layer_norm keep every size; PyTorch needs the tensor's trailing dimensions to equal
    normalized_shape. Over the channels (a channels-last tensor, or a flattened one) that is checked here;
    over a spatial axis it would fix that axis's size, which is not modelled. Each output channel of a position
    depends on every channel of it (their mean and variance): a channel mix."""
    wanted = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if x.flat:
        trailing: list[Any] = [x.features]
    else:
        layout = _layout(builder, x)
        if len(wanted) > len(layout):
            raise SpecError(f"{where} normalizes {len(wanted)} dimensions of a tensor with {len(layout)}")
        groups = layout[len(layout) - len(wanted) :]
        if any(p.kind not in ("channels", "group", "batch", "stack") for group in groups for p in group):
            raise SpecError(
                f"{where} normalizes the trailing spatial axes {layouts.describe(groups)}, which fixes "
                "their sizes (not modelled); normalize over the channels of a channels-last tensor"
            )
        trailing = [_group_size(x, group, where) for group in groups]
    if [int(v) if isinstance(v, int) else v for v in trailing] != [int(v) for v in wanted]:
        raise SpecError(
            f"{where}: normalized_shape {list(wanted)} differs from the tensor's trailing dimensions "
            f"{trailing} (PyTorch's rule: they must be equal)"
        )
    return x if x.flat else _channel_mix(builder, name, x, x.channels)


def _linear(builder: Builder, m: Any, call: Call) -> Tensor:
    x = call.x
    if not x.flat and any(p.kind == "spatial" for p in _layout(builder, x)[-1]):
        return _linear_last_axis(builder, m, call)
    if _channels_last(x):
        _channels(call.where, m.in_features, x)
        return _channel_mix(builder, call.name, x, m.out_features)
    return builder.linear(call.name, x, m.in_features, m.out_features, call.where)


def _channel_mix(builder: Builder, name: str, x: Tensor, channels: int | None) -> Tensor:
    """A `mix` node that reads each position alone but every channel of it (a Linear or a LayerNorm over the
    channels of a channels-last tensor): positions that a pixel unshuffle put into the channels are mixed."""
    entries = [Mix(None, False) for _ in builder.dims]
    made = builder.shape_op(name, "mix", [Tensor(x.node, x.channels)], entries, channels)
    return Tensor(made.node, channels, layout=x.layout)


def _channels_last(x: Tensor) -> bool:
    """A laid-out tensor whose last dimension is the channels (tokens of a ViT, windows of a Swin)."""
    return x.layout is not None and x.layout[-1] == (layouts.Part("channels"),)


def _pad_module(builder: Builder, m: Any, call: Call) -> Tensor:
    cls = type(m).__name__[:-2]
    mode = {"ReflectionPad": "reflect", "ReplicationPad": "replicate", "CircularPad": "circular"}.get(cls)
    return _pad(builder, call, tuple(m.padding), mode or "constant")


def _pad(builder: Builder, call: Call, amounts: Any, mode: str) -> Tensor:
    """F.pad and the padding modules: amounts in PyTorch's order, last axis first (left, right, top, bottom,
    ...), integers or sizes; a negative amount crops. Channels padded by integers change the channel count."""
    if call.x.layout is not None:
        return _pad_laid_out(builder, call, amounts, mode)
    dims, where, x = builder.dims, call.where, builder.spatial(call.x, call.where)
    if mode not in PAD_MODES:
        raise SpecError(f"{where}: mode must be one of {', '.join(PAD_MODES)}, got {mode!r}")
    values = list(amounts) if isinstance(amounts, tuple | list) else None
    rank = 2 + len(dims)
    if values is None or len(values) % 2 or len(values) // 2 > rank:
        raise SpecError(
            f"{where}: pad must be a sequence of (begin, end) pairs, last axis first, at most {rank} pairs; "
            f"got {amounts!r}"
        )
    if mode != "constant" and len(values) != 2 * len(dims):
        raise SpecError(
            f"{where}: {mode} padding of a {rank}-D input takes {2 * len(dims)} amounts, one pair per spatial "
            f"axis (PyTorch's rule), got {len(values)}"
        )
    pairs = {rank - 1 - k: (values[2 * k], values[2 * k + 1]) for k in range(len(values) // 2)}
    channels = x.channels
    for axis in (0, 1):
        if axis in pairs and pairs[axis] != (0, 0):
            begin, end = pairs[axis]
            if axis == 0 or not all(isinstance(v, int) for v in (begin, end)):
                raise SpecError(
                    f"{where} pads the {'batch' if axis == 0 else 'channel'} axis by {pairs[axis]}; not modelled"
                )
            channels = None if channels is None else channels + begin + end
    entries = []
    for position, dim in enumerate(dims, start=2):
        entries.append(_pad_entry(builder, where, dim, pairs.get(position, (0, 0)), mode))
    if all(e.begin == 0 and e.end == 0 for e in entries):
        return Tensor(x.node, channels)
    return builder.shape_op(call.name, "pad", [x], entries, channels)


def _pad_entry(builder: Builder, where: str, dim: str, pair: tuple[Any, Any], mode: str) -> Pad:
    """The padding of the spatial axis `dim` by (begin, end), integers or sizes."""
    begin, end = pair
    if mode == "circular" and not (
        all(isinstance(v, int) for v in (begin, end)) and (min(begin, end) >= 0 or max(begin, end) <= 0)
    ):
        raise SpecError(
            f"{where}: circular padding ({begin}, {end}) along {dim} crops one side and pads the other (or "
            "is computed from sizes); PyTorch's result then depends on the other axes' sizes (its copy "
            "overlaps itself), not modelled"
        )
    return Pad(
        shape_formula(builder, begin, dim, where, f"the padding before {dim}"),
        shape_formula(builder, end, dim, where, f"the padding after {dim}"),
        mode,
    )


@dataclass(frozen=True)
class Pieces:
    """torch.split / chunk along a spatial axis: piece k is a slice, made when the model reads it."""

    x: Tensor
    name: str
    axis: str
    size: SizeValue  # the length of each piece (the last may be shorter)
    sections: tuple[sympy.Expr, ...] = ()  # split with a list of sizes (integers or formulas in sizes)
    layout: layouts.Layout | None = (
        None  # the dimensions of x, when they are not (batch, channels, spatial...)
    )

    def piece(self, builder: Builder, index: Any, where: str) -> Tensor:
        if not isinstance(index, int) or index < 0 or (self.sections and index >= len(self.sections)):
            raise SpecError(f"{where} reads piece {index!r} of a split along {self.axis}; not modelled")
        dims = builder.dims
        if self.sections:
            start = sympy.Add(*self.sections[:index])
            bounds = [start, start + self.sections[index], sympy.Add(*self.sections), None]
        else:
            begin = index * self.size.expr
            bounds = [begin, begin + self.size.expr, None, begin]
        formulas = [
            None
            if v is None
            else shape_formula(builder, SizeValue(integer_expr(v)), self.axis, where, "a split")
            for v in bounds
        ]
        entries = [Slice() for _ in dims]
        entries[dims.index(self.axis)] = Slice(formulas[0], formulas[1], 1, formulas[2], formulas[3])
        plain = Tensor(self.x.node, self.x.channels)
        made = builder.shape_op(f"{self.name}_{index}", "slice", [plain], entries, self.x.channels)
        return Tensor(made.node, made.channels, layout=self.layout)


def _split(builder: Builder, call: Call, how: Any, dim: Any, chunk: bool) -> Any:
    """torch.split / torch.chunk (and the methods): along the channels a tuple of the same node with each
    piece's channel count; along a spatial axis, pieces that are slices."""
    if call.x.layout is not None:
        return _split_laid_out(builder, call, how, dim, chunk)
    dims, where, x = builder.dims, call.where, builder.spatial(call.x, call.where)
    rank = 2 + len(dims)
    if not isinstance(dim, int) or not -rank <= dim < rank:
        raise SpecError(f"{where}: dim must be an axis of the {rank}-D input, got {dim!r}")
    axis = dim % rank
    if axis == 0:
        raise SpecError(f"{where} splits the batch axis; not modelled")
    if axis == 1:
        if x.channels is None:
            raise SpecError(
                f"{where} splits the channels, whose count is unknown; give it in the input shape"
            )
        counts = _channel_pieces(x.channels, _numbers(builder, how, where, "channels"), chunk, where)
        return tuple(Tensor(x.node, c) for c in counts)
    return _axis_pieces(builder, call, dims[axis - 2], how, chunk)


def _non_negative_sections(
    builder: Builder, call: Call, axis: str, sections: tuple[sympy.Expr, ...]
) -> Tensor:
    """x, after a check node stating PyTorch's rule that split sizes computed from sizes are not negative."""
    formulas = [shape_formula(builder, SizeValue(e), axis, call.where, "a split size") for e in sections]
    rule = "split sizes must not be negative (PyTorch's rule)"
    checks = [
        Check(sympy.And(*(ge(f, 0) for f in formulas)) if d == axis else None, rule) for d in builder.dims
    ]
    plain = Tensor(call.x.node, call.x.channels)
    made = builder.shape_op(f"{call.name}_sizes", "check", [plain], checks, call.x.channels)
    return Tensor(made.node, made.channels, layout=call.x.layout)


def _axis_pieces(builder: Builder, call: Call, name: str, how: Any, chunk: bool) -> Pieces:
    """torch.split / chunk along the spatial axis `name` (a whole dimension of x): pieces that are slices."""
    x, where = call.x, call.where
    if isinstance(how, tuple | list):
        sections = [SizeValue.of(v) for v in how]
        if chunk or any(v is None or (v.constant() or 0) < 0 for v in sections):
            raise SpecError(
                f"{where}: split sizes must be non-negative integers or sizes, got {_shown(builder, how)}"
            )
        exprs = tuple(v.expr for v in sections if v is not None)
        if any(not isinstance(e, sympy.Integer) for e in exprs):
            x = _non_negative_sections(builder, call, name, exprs)
        return Pieces(x, call.name, name, SizeValue(sympy.Integer(0)), exprs, x.layout)
    if chunk:
        if not isinstance(how, int) or how < 1:
            raise SpecError(f"{where}: chunks must be a positive integer, got {how!r}")
        # torch.chunk: pieces of ceil(n / chunks)
        size = SizeValue(sympy.ceiling(sympy.Rational(1, how) * axis_size(x.node, name)))
        return Pieces(x, call.name, name, size, layout=x.layout)
    size_value = SizeValue.of(how)
    if size_value is None:
        raise SpecError(f"{where}: split_size must be an integer or a size, got {_shown(builder, how)}")
    return Pieces(x, call.name, name, size_value, layout=x.layout)


def _numbers(builder: Builder, how: Any, where: str, what: str) -> Any:
    """Split sizes of a dimension whose size is a number (the channels): sizes computed from a spatial axis
    are refused, named as formulas in the input's sizes."""
    values = how if isinstance(how, tuple | list) else [how]
    if any(isinstance(v, SizeValue) and v.constant() is None for v in values):
        raise SpecError(
            f"{where}: split sizes {_shown(builder, how)} of the {what} depend on the spatial sizes; the "
            f"{what} have a fixed count, so their split sizes must be integers"
        )
    if isinstance(how, tuple | list):
        return [v.constant() if isinstance(v, SizeValue) else v for v in how]
    return how.constant() if isinstance(how, SizeValue) else how


def _shown(builder: Builder | None, value: Any) -> str:
    """A value as a message shows it, never its internals: sizes computed from shapes as formulas in the input's
    sizes (H, W and the batch; without a builder, in the nodes' sizes, input.H), tuples, lists and slices of them
    likewise, a shape or a tensor by its node."""
    if isinstance(value, SizeValue):
        try:
            return str(value if builder is None else builder.resolved(value, ""))
        except SymconvError:
            return str(value)
    if isinstance(value, tuple | list):
        inner = ", ".join(_shown(builder, v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, slice):
        parts = [("" if v is None else _shown(builder, v)) for v in (value.start, value.stop, value.step)]
        return ":".join(parts[:2] if value.step is None else parts)
    if isinstance(value, Shape):
        return f"{value.x.node}.shape"
    if isinstance(value, Tensor):
        return f"the tensor {value.node}"
    return (
        repr(value) if value is None or isinstance(value, int | float | str) else f"a {type(value).__name__}"
    )


def _channel_pieces(channels: int, how: Any, chunk: bool, where: str, what: str = "channels") -> list[int]:
    if isinstance(how, tuple | list):
        if sum(how) != channels:
            raise SpecError(
                f"{where}: split sizes {list(how)} must add up to the {channels} {what} (PyTorch's rule)"
            )
        return list(how)
    if not isinstance(how, int) or how < 1:
        raise SpecError(f"{where}: the split size must be a positive integer, got {how!r}")
    size = math.ceil(channels / how) if chunk else how
    return [min(size, channels - start) for start in range(0, channels, size)]


def _stack(builder: Builder, name: str, where: str, parts: Any, dim: int) -> Tensor:
    """torch.stack: the tensors (of equal shapes) side by side along a new dimension."""
    tensors = [_tensor(part, where) for part in parts]
    if not tensors or any(t.flat or t.layout != tensors[0].layout for t in tensors):
        raise SpecError(f"{where} stacks tensors whose axes differ (or flattened ones); not modelled")
    counts = {t.channels for t in tensors if t.channels is not None}
    if len(counts) > 1:
        raise SpecError(
            f"{where} stacks tensors with {sorted(counts)} channels; torch.stack needs equal shapes"
        )
    first = tensors[0]
    plain = [Tensor(t.node, t.channels) for t in tensors]
    node = first.node
    if len({t.node for t in tensors}) > 1:
        node = builder.shape_op(name, "join", plain, [Join(False) for _ in builder.dims], first.channels).node
    layout = layouts.insert(_layout(builder, first), dim, (layouts.Part("stack", window=len(tensors)),))
    return Tensor(node, first.channels, layout=layout)


def _squeeze(builder: Builder, call: Call, kind: str, dim: Any) -> Tensor:
    """unsqueeze adds a dimension of size 1; squeeze removes one (of size 1 by construction) that unsqueeze
    added, or a stack of one tensor."""
    x = call.x
    if x.flat or not isinstance(dim, int):
        raise SpecError(f"{call.where}: {kind} of a flattened tensor or without a single dim is not modelled")
    layout = _layout(builder, x)
    try:
        if kind == "unsqueeze":
            return _laid_out(builder, x, layouts.insert(layout, dim, ()))
        squeezed = layouts.remove(layout, [dim], ())
    except SpecError as error:
        raise SpecError(f"{call.where}: {error}") from None
    if squeezed is None:
        raise SpecError(
            f"{call.where} squeezes dimension {dim} of {layouts.describe(layout)}, which is not 1 at every size"
        )
    return _laid_out(builder, x, squeezed)


def _reduce(builder: Builder, call: Call, dim: Any, keepdim: bool, total: bool = False) -> Tensor:
    """mean / sum / amax / amin over axes: over the channels with keepdim one channel; over spatial axes each
    becomes 1 (keepdim), or, over every spatial axis without keepdim, the features are the channels. `total`:
    a mean or sum, which PyTorch takes of an empty axis too (mode "total"; amax and amin refuse one)."""
    if call.x.layout is not None and dim is not None and not keepdim:
        # Over the tensors a torch.stack put side by side (BiFPN's weighted sums): that dimension goes.
        stacked = layouts.remove(
            call.x.layout, list(dim) if isinstance(dim, tuple | list) else [dim], ("stack", "taps")
        )
        if stacked is not None:
            return _laid_out(builder, call.x, stacked)
        grouped = _reduce_groups(builder, call, list(dim) if isinstance(dim, tuple | list) else [dim])
        if grouped is not None:
            return grouped
        pooled = _pool_tokens(builder, call, dim)
        if pooled is not None:
            return pooled
    dims, where, x = builder.dims, call.where, builder.spatial(call.x, call.where)
    rank = 2 + len(dims)
    if dim is None:
        raise SpecError(f"{where} reduces every axis to a scalar; not modelled")
    axes = {d % rank for d in (dim if isinstance(dim, tuple | list) else [dim])}
    if 0 in axes:
        raise SpecError(f"{where} reduces the batch axis; not modelled")
    channels = 1 if 1 in axes else x.channels
    spatial = axes - {0, 1}
    if not keepdim and (1 in axes or spatial != set(range(2, rank))):
        raise SpecError(
            f"{where} reduces axes {sorted(axes)} without keepdim, which leaves a tensor whose spatial axes "
            "are not the input's; only every spatial axis (giving features) or keepdim=True is modelled"
        )
    if not spatial:
        return Tensor(x.node, channels)
    entries = [
        Resize(sympy.Integer(1), None, "total" if total else "area")
        if k in spatial
        else Resize(None, Fraction(1), "nearest")
        for k, _ in enumerate(dims, start=2)
    ]
    out = builder.shape_op(call.name, "resize", [x], entries, channels)
    if keepdim:
        return out
    # every spatial axis gone: a vector of the channels, as PyTorch's (B, C), flattened in the network too so
    # that the table and the summary show features, not (C, 1, 1)
    return builder.flatten(f"{call.name}_vector", out, where)


def _reduce_groups(builder: Builder, call: Call, dims: list[Any]) -> Tensor | None:
    """A sum or mean over dimensions holding pieces of the channels (ResNeSt's split attention sums its radix
    groups after a view(B, radix, C // radix, H, W)): the channels divided by those pieces, every channel of a
    position mixed (a `mix` node); None when a reduced dimension holds anything else."""
    x = call.x
    if x.layout is None or not all(isinstance(d, int) for d in dims):
        return None
    layout = x.layout
    kept = layouts.remove(layout, dims, ("group",))
    if kept is None or any(not layout[d % len(layout)] for d in dims):
        return None
    factor = math.prod(p.window for d in dims for p in layout[d % len(layout)])
    channels = None if x.channels is None else x.channels // factor
    mixed = _channel_mix(builder, call.name, Tensor(x.node, x.channels), channels)
    return _laid_out(builder, mixed, layouts.whole_channels(kept))


def _unfold(
    builder: Builder, call: Call, kernel_size: Any, dilation: Any, padding: Any, stride: Any
) -> Tensor:
    """F.unfold / nn.Unfold (im2col) of a (batch, C, H, W) tensor: the sliding blocks of a convolution with
    the same kernel, stride, padding and dilation (PyTorch needs at least one block per axis, as the
    convolution does), as (batch, C * prod(kernel), blocks along H * blocks along W)."""
    dims, where = builder.dims, call.where
    if len(dims) != 2:
        raise SpecError(
            f"{where} works on 2 spatial axes of a batched input; the input has {len(dims)} ({', '.join(dims)})"
        )
    kernel = (kernel_size,) * 2 if isinstance(kernel_size, int) else tuple(kernel_size)
    text = spec(
        "torch.conv",
        k=per_axis(where, "kernel_size", kernel, dims),
        s=per_axis(where, "stride", stride, dims),
        p=per_axis(where, "padding", padding, dims),
        d=per_axis(where, "dilation", dilation, dims),
    )
    channels = None if call.x.channels is None else call.x.channels * math.prod(kernel)
    made = builder.layer(call.name, text, where, call.x, channels)
    return _laid_out(builder, made, layouts.flatten(layouts.standard(dims), 2, -1))


def _unfold_axis(builder: Builder, call: Call, dim: Any, size: Any, step: Any) -> Tensor:
    """Tensor.unfold(dim, size, step) along a spatial axis: the windows of a convolution of kernel `size` and
    stride `step` on that axis (PyTorch needs size <= the axis' size, step > 0), each window's `size`
    positions in a new last dimension (`taps`: a mean or max over it is a pooling)."""
    x, where = call.x, call.where
    axis, _ = _spatial_axis(builder, x, dim, where)
    whole = all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (size, step))
    base = layouts.standard(builder.dims)
    layout = _layout(builder, x)
    unfolded = layout[: len(base)] == base and all(p.kind == "taps" for g in layout[len(base) :] for p in g)
    if axis is None or not whole or not unfolded:
        raise SpecError(
            f"{where}: unfold({dim!r}, {size!r}, {step!r}) is modelled along a spatial axis of a (batch, "
            "channels, spatial...) tensor (unfolded before or not), with a size and step of at least 1"
        )
    k = tuple(size if d == axis else 1 for d in builder.dims)
    s = tuple(step if d == axis else 1 for d in builder.dims)
    text = spec(
        "torch.conv", k=per_axis(where, "size", k, builder.dims), s=per_axis(where, "step", s, builder.dims)
    )
    made = builder.layer(call.name, text, where, Tensor(x.node, x.channels), x.channels)
    return Tensor(made.node, x.channels, layout=(*layout, (layouts.Part("taps", axis, size),)))


def _unfold_module(builder: Builder, m: Any, call: Call) -> Tensor:
    return _unfold(builder, call, m.kernel_size, m.dilation, m.padding, m.stride)


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
    "ZeroPad": _pad_module,
    "ConstantPad": _pad_module,
    "ReflectionPad": _pad_module,
    "ReplicationPad": _pad_module,
    "CircularPad": _pad_module,
    "Linear": _linear,
    "Unfold": _unfold_module,
    "LPPool": _lp_pool_module,
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
    for name in (
        "add",
        "sub",
        "mul",
        "truediv",
        "floordiv",
        "mod",
        "iadd",
        "isub",
        "imul",
        "itruediv",
        "pow",
    ):
        table[getattr(operator, name)] = "elementwise"
    for name in ("add", "sub", "mul", "div", "maximum", "minimum", "pow"):
        table[getattr(torch, name)] = "elementwise"
    for name in ("cat", "concat", "concatenate"):
        if hasattr(torch, name):
            table[getattr(torch, name)] = "cat"
    table[torch.flatten] = "flatten"
    table[torch.stack] = "stack"
    table[torch.unsqueeze] = "unsqueeze"
    table[torch.squeeze] = "squeeze"
    table[functional.interpolate] = table[functional.upsample] = "interpolate"
    for n in (1, 2, 3):
        table[getattr(functional, f"max_pool{n}d")] = f"maxpool{n}"
        table[getattr(functional, f"avg_pool{n}d")] = f"avgpool{n}"
        table[getattr(functional, f"adaptive_avg_pool{n}d")] = f"adaptive{n}"
        table[getattr(functional, f"adaptive_max_pool{n}d")] = f"adaptive{n}"
        # what F.adaptive_max_pool2d(..., return_indices=True) dispatches to: values and indices always
        table[getattr(functional, f"adaptive_max_pool{n}d_with_indices")] = f"indexedadaptive{n}"
    table[functional.pixel_shuffle] = "pixelshuffle"
    table[functional.pixel_unshuffle] = "pixelunshuffle"
    table[getattr] = "getattr"
    table[operator.getitem] = "getitem"
    table[functional.pad] = "pad"
    table[functional.layer_norm] = "layernorm"
    for n in (1, 2, 3):
        table[getattr(functional, f"conv{n}d")] = f"conv{n}"
    table[torch.permute] = "permute"
    table[torch.transpose] = table[torch.swapaxes] = "transpose"
    table[torch.split] = "split"
    table[torch.chunk] = "chunk"
    for name in ("mean", "sum", "amax", "amin"):
        table[getattr(torch, name)] = "reduce"
    table[torch.roll] = "roll"
    table[torch.narrow] = "narrow"
    table[functional.linear] = "linear"
    table[functional.unfold] = "im2col"
    table[functional.scaled_dot_product_attention] = "attention"
    table[torch.matmul] = table[operator.matmul] = "matmul"
    table[torch.bmm] = "bmm"
    table[torch.einsum] = "einsum"
    table[torch.flip] = "flip"
    for n in (1, 2, 3):
        for function, kind in ((f"lp_pool{n}d", "lppool"), (f"max_pool{n}d_with_indices", "maxpoolindices")):
            if hasattr(functional, function):
                table[getattr(functional, function)] = kind
    return table


# Functions that are the identity at inference (stochastic depth and drop path keep the shape in any mode).
IDENTITY_FUNCTIONS = frozenset({"stochastic_depth", "drop_path"})


def _function_label(target: Any) -> str:
    module = getattr(target, "__module__", None) or "torch"
    return f"{module}.{getattr(target, '__name__', repr(target))}"


def _function(builder: Builder, target: Any, name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """The value of a supported function call in the traced graph."""
    kind = _functions().get(target)
    label = _function_label(target)
    where = f"{label} at {name}"
    if getattr(target, "__name__", None) in IDENTITY_FUNCTIONS and args:
        return _tensor(args[0], where)
    library = swin.handler(target)
    if library is not None:
        return library(builder, name, where, args, kwargs)
    made = _factory(builder, target, where, args, kwargs)
    if made is not None:
        return made
    if kind == "interpolate" and isinstance(args[0] if args else kwargs.get("input"), Constant):
        return _resized_constant(builder, name, where, args, kwargs)
    if any(isinstance(v, Sized) for v in _leaves((args, kwargs))):
        return _sized_function(builder, target, kind, name, where, args, kwargs)
    if target in SIZE_OPERATIONS and not any(isinstance(a, Tensor) for a in args):
        return _size_arithmetic(target, args, where)
    if target in COMPARISONS and len(args) == 2 and not kwargs:
        return _compare(target, args, where)
    if target is _torch()._assert:
        return _assert(builder, name, where, args, kwargs)
    if kind in TENSOR_OPERATORS:
        return TENSOR_OPERATORS[kind](builder, name, where, args, kwargs)
    if kind is None:
        raise unsupported(label, name)
    if kind == "getattr":
        return _getattr(builder, args, where)
    if kind == "getitem":
        return _getitem(builder, name, args, where)
    if kind == "elementwise":
        return _elementwise(builder, name, where, args, kwargs)
    if kind == "cat":
        bound = _bind("cat", args, kwargs)
        if any(isinstance(part, Constant) for part in bound["tensors"]):
            return _concat_parameters(builder, name, where, bound["tensors"], bound["dim"] or 0)
        return _concat(builder, name, where, bound["tensors"], bound["dim"] or 0)
    if kind == "stack":
        bound = _bind("cat", args, kwargs)
        return _stack(builder, name, where, bound["tensors"], bound["dim"] or 0)
    if kind in ("split", "chunk"):
        bound = _bind(kind, args, kwargs, dim=0)
        x = _tensor(bound["tensor" if kind == "split" else "input"], where)
        how = bound["split_size_or_sections" if kind == "split" else "chunks"]
        return _split(builder, Call(name, where, x), how, bound["dim"], kind == "chunk")
    if not args and "input" not in kwargs:
        raise SpecError(f"{where} is called without an input")
    call = Call(name, where, _tensor(args[0] if args else kwargs["input"], where))
    if kind == "preserve" and getattr(target, "__name__", "") in OVER_A_DIMENSION:
        return _over_dimension(builder, call, _dim_argument(getattr(target, "__name__", ""), args, kwargs))
    if kind == "preserve":
        return call.x
    if kind in ("permute", "transpose"):
        order = args[1] if kind == "permute" else args[1:3]
        return _move(builder, call, kind, tuple(order))
    if kind in ("unsqueeze", "squeeze"):
        return _squeeze(builder, call, kind, args[1] if len(args) > 1 else kwargs.get("dim"))
    if kind == "flatten":
        bound = _bind("flatten", args, kwargs, start_dim=0, end_dim=-1)
        return _flatten(builder, call, bound["start_dim"], bound["end_dim"])
    if kind == "interpolate":
        bound = _bind("interpolate", args, kwargs)
        mode = bound["mode"] or "nearest"
        if bound["antialias"]:
            raise SpecError(
                f"{where}: interpolate with antialias=True widens the kernel by the ratio of the sizes when it "
                "shrinks; its receptive fields are not modelled"
            )
        recompute = bool(bound["recompute_scale_factor"])
        return _resize(
            builder, call, bound["size"], bound["scale_factor"], mode, bool(bound["align_corners"]), recompute
        )
    if kind == "pad":
        bound = _bind("pad", args, kwargs)
        return _pad(builder, call, bound["pad"], bound["mode"] or "constant")
    if kind == "layernorm":
        bound = _bind("layernorm", args, kwargs)
        return _layer_norm(builder, call.name, call.x, bound["normalized_shape"], where)
    if kind == "reduce":
        bound = _bind("reduce", args, kwargs)
        total = getattr(target, "__name__", "") in ("mean", "sum")
        return _reduce(builder, call, bound["dim"], bool(bound["keepdim"]), total)
    if kind in ("pixelshuffle", "pixelunshuffle"):
        bound = _bind(kind, args, kwargs)
        factor = bound["downscale_factor" if kind == "pixelunshuffle" else "upscale_factor"]
        return _shuffle(builder, call, factor, kind == "pixelunshuffle")
    family, n = kind[:-1], int(kind[-1])
    if n != len(builder.dims):
        raise SpecError(f"{where} works on {n} spatial axes; the input has {len(builder.dims)}")
    bound = _bind(family, args, kwargs)
    if family == "conv":
        return _conv(builder, _conv_parameters(bound, n, where), call)
    if family in ("adaptive", "indexedadaptive"):
        indices = family == "indexedadaptive" or bool(bound["return_indices"])
        return _adaptive_pool(builder, call, bound["output_size"], indices)
    return _pool(builder, family.removesuffix("pool"), call, bound)


def _getattr(builder: Builder, args: Sequence[Any], where: str) -> Any:
    value, attribute = args[0], args[1]
    if isinstance(value, Tensor) and attribute == "shape":
        return Shape(value, builder.dims)
    if isinstance(value, Tensor) and attribute == "ndim":
        return _rank_of(value, builder.dims)
    if isinstance(value, Constant) and attribute in ("shape", "ndim"):
        shape = parameters.shape_of(value, where)
        return shape if attribute == "shape" else len(shape)
    if isinstance(value, Sized) and attribute in ("shape", "ndim"):
        return _sized_shape(value) if attribute == "shape" else len(value.shape)
    if isinstance(value, Tensor | Constant | Sized) and attribute in ("device", "dtype"):
        return None  # where the values live and their type: no size depends on them
    raise SpecError(f"{where} reads attribute {attribute!r} of {value!r}; not modelled")


def _rank_of(x: Tensor, dims: tuple[str, ...]) -> int:
    if x.layout is not None:
        return len(x.layout)
    return 2 if x.flat else 2 + len(dims)


def _group_size(x: Tensor, group: tuple[layouts.Part, ...], where: str) -> Any:
    """The size of one dimension of a laid-out tensor: the product of its parts."""
    total: sympy.Expr = sympy.Integer(1)
    extra = sum(part.window for part in group if part.kind == "extra")
    for part in group:
        if part.kind == "extra":
            continue
        if part.kind == "batch":
            total *= BATCH_SIZE
        elif part.kind == "channels":
            if x.channels is None:
                raise SpecError(
                    f"{where} reads the channel count, which is unknown; give it in the input shape"
                )
            total *= x.channels
        elif part.kind in ("inner", "group", "taps", "stack") or _window_keys(part):
            total *= part.window
        else:
            size = axis_size(part.node or x.node, part.dim)
            total *= size if part.kind in ("spatial", "keys") else sympy.floor(size / part.window)
    total += extra
    return int(total) if isinstance(total, sympy.Integer) else SizeValue(total)


def _shape_item(shape: Shape, index: Any, where: str) -> Any:
    """x.shape[index] / x.size(index): the batch size, the channel count, a spatial size; a slice gives a
    tuple of them (x.shape[2:])."""
    x, dims = shape.x, shape.dims
    rank = _rank_of(x, dims)
    if isinstance(index, slice):
        return tuple(_shape_item(shape, k, where) for k in range(rank)[index])
    if not isinstance(index, int) or not -rank <= index < rank:
        raise SpecError(f"{where} reads dimension {index!r} of a tensor with {rank} dimensions")
    axis = index % rank
    if x.layout is not None:
        return _group_size(x, x.layout[axis], where)
    if axis == 0:
        return SizeValue(BATCH_SIZE)
    if axis == 1:
        count = x.features if x.flat else x.channels
        if count is None:
            raise SpecError(f"{where} reads the channel count, which is unknown; give it in the input shape")
        return count
    return SizeValue(axis_size(x.node, dims[axis - 2]))


def _getitem(builder: Builder, name: str, args: Sequence[Any], where: str) -> Any:
    value, index = args[0], args[1]
    if isinstance(value, Shape):
        return _shape_item(value, index, where)
    if isinstance(value, Pieces):
        return value.piece(builder, index, where)
    if isinstance(value, tuple | list):
        return value[index]
    if isinstance(value, Tensor):
        return _slice_tensor(builder, name, where, value, index)
    if isinstance(value, Constant):
        return parameters.index(value, index, where)
    raise SpecError(f"{where} indexes {value!r}; not modelled")


def _slice_tensor(builder: Builder, name: str, where: str, x: Tensor, index: Any) -> Tensor:
    """x[:, :, a:b, c:d:step] (bounds integers or sizes, Python's negative indices and clamping): a slice node;
    channels sliced by integers change the channel count."""
    dims = builder.dims
    items = list(index) if isinstance(index, tuple) else [index]
    rank = _rank_of(x, dims)
    if items.count(Ellipsis) > 1:
        raise SpecError(f"{where}: an index can only have a single ellipsis")
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items[at : at + 1] = [slice(None)] * (rank - len(items) + 1)
    if len(items) > rank or any(item is None for item in items):
        raise SpecError(
            f"{where} indexes a {rank}-dimensional tensor with {index!r}; new axes (None) or too many "
            "indices are not modelled"
        )
    items += [slice(None)] * (rank - len(items))
    if x.layout is not None:
        # dimensions are not (batch, channels, spatial...): whole spatial axes and the channels are sliced
        # as on (batch, channels, spatial...); otherwise only tokens a concatenation added are cut
        sliced = _slice_laid_out(builder, name, where, x, items)
        return sliced if sliced is not None else _pick_token(builder, where, x, items)
    if any(not isinstance(item, slice) for item in items):
        raise SpecError(
            f"{where} indexes with an integer ({index!r}), which removes an axis; only slices are modelled"
        )
    if items[0] != slice(None):
        raise SpecError(f"{where} slices the batch axis; not modelled")
    channels = x.features if x.flat else x.channels
    if items[1] != slice(None):
        bounds = (items[1].start, items[1].stop, items[1].step)
        if channels is None or not all(
            b is None or (isinstance(b, int) and not isinstance(b, bool)) for b in bounds
        ):
            raise SpecError(
                f"{where} slices the channels with {items[1]!r}; needs integer bounds and a known count"
            )
        channels = len(range(channels)[items[1]])
    if x.flat:
        return Tensor(x.node, None, flat=True, features=channels)
    entries = [_slice_entry(builder, where, dim, item) for dim, item in zip(dims, items[2:], strict=True)]
    if all(entry == Slice() for entry in entries):
        return Tensor(x.node, channels)
    return builder.shape_op(name, "slice", [x], entries, channels)


def _slice_entry(builder: Builder, where: str, dim: str, item: slice) -> Slice:
    step = 1 if item.step is None else item.step
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise SpecError(
            f"{where}: the step along {dim} must be a positive integer (PyTorch's rule), got {step!r}"
        )

    def bound(value: Any) -> sympy.Expr | None:
        return (
            None
            if value is None
            else shape_formula(builder, value, dim, where, f"the slice bound along {dim}")
        )

    return Slice(bound(item.start), bound(item.stop), step)


SIZE_OPERATIONS: dict[Any, Callable[..., Any]] = {
    operator.add: operator.add,
    operator.sub: operator.sub,
    operator.mul: operator.mul,
    operator.floordiv: lambda a, b: sympy.floor(a / b),
    operator.mod: sympy.Mod,
    operator.truediv: lambda a, b: a / b,
    operator.neg: operator.neg,
    size_max: sympy.Max,
    size_min: sympy.Min,
    size_ceil: sympy.ceiling,
    size_floor: sympy.floor,
}


def _size_arithmetic(target: Any, operands: Sequence[Any], where: str) -> Any:
    """Arithmetic on sizes and integers (x.size(-1) // 2, up.size(2) - skip.size(2)): a SizeValue (or an int)."""
    if target is operator.add and all(isinstance(v, tuple | list) for v in operands):
        # shapes joined (timm's x.reshape(restore_shape + (-1,))): Python's tuple concatenation
        return tuple(item for v in operands for item in v)
    values = [SizeValue.of(v) for v in operands]
    if any(v is None for v in values) or target not in SIZE_OPERATIONS:
        raise SpecError(f"{where} computes with a tensor's size and {operands!r}; not modelled")
    exprs = [integer_expr(v.expr) for v in values if v is not None]
    if target in (operator.floordiv, operator.mod) and not (
        isinstance(exprs[1], sympy.Integer) and exprs[1] > 0
    ):
        raise SpecError(f"{where} divides a size by {exprs[1]}; only a positive integer divisor is modelled")
    if target in (size_max, size_min):
        # the input's sizes and the batch are >= 1, another node's >= 0 (PyTorch slices to empty tensors): a Max
        # or Min whose order Z3 proves from that is its larger or smaller side, as the solver needs it
        sizes = [s for e in exprs for s in e.free_symbols if s.name.startswith("@")]
        premises = [
            sympy.Ge(s, 1 if (axis_of(s) or ("",))[0] == "input" else 0) for s in dict.fromkeys(sizes)
        ]
        if any(BATCH_SIZE in e.free_symbols for e in exprs):
            premises.append(sympy.Ge(BATCH_SIZE, 1))
        pair = reduce(lambda a, b: sympy.Max(a, b) if target is size_max else sympy.Min(a, b), exprs)
        result = integer_expr(decided(pair, premises))
    else:
        result = integer_expr(SIZE_OPERATIONS[target](*exprs))
    if isinstance(result, sympy.Integer):
        return int(result)
    return SizeValue(result)


COMPARISONS: dict[Any, tuple[Callable[[Any, Any], sympy.Basic], str]] = {
    operator.eq: (eq, "=="),
    operator.ne: (ne, "!="),
    operator.lt: (lt, "<"),
    operator.le: (le, "<="),
    operator.gt: (gt, ">"),
    operator.ge: (ge, ">="),
}


@dataclass(frozen=True)
class SizeCondition:
    """A comparison of sizes (H == self.img_size[0], x.size(1) % 8 == 0): a condition once a model asserts it."""

    target: Any
    left: SizeValue
    right: SizeValue

    def __str__(self) -> str:
        def shown(expr: sympy.Expr) -> sympy.Expr:
            # a node's size as node.axis (input.W), not the internal symbol
            names = {s: sympy.Symbol(".".join(axis_of(s) or (s.name,))) for s in expr.free_symbols}
            return expr.xreplace(names)

        return f"{shown(self.left.expr)} {COMPARISONS[self.target][1]} {shown(self.right.expr)}"


@dataclass(frozen=True)
class SizeConditions:
    """Shapes compared as a whole (x.shape == y.shape, x.shape[2:] != skip.shape[2:]): every size equal
    (`every`), or some size differs."""

    parts: tuple[SizeCondition, ...]
    every: bool

    def __str__(self) -> str:
        return (" and " if self.every else " or ").join(str(part) for part in self.parts)


def _compare(target: Any, operands: Sequence[Any], where: str) -> Any:
    """A comparison of sizes and integers: a bool between numbers, a SizeCondition otherwise; shapes (or tuples
    of sizes) compared with == or != size by size (SizeConditions when more than one size is not a number)."""
    if target in (operator.eq, operator.ne) and all(isinstance(v, Shape | tuple | list) for v in operands):
        return _compare_shapes(target, operands, where)
    left, right = (SizeValue.of(v) for v in operands)
    if left is None or right is None:
        raise SpecError(
            f"{where} compares {_shown(None, operands[0])} and {_shown(None, operands[1])}; only sizes, integers and shapes "
            "(with == or !=) are read"
        )
    if left.constant() is not None and right.constant() is not None:
        return bool(target(left.constant(), right.constant()))
    if left.expr == right.expr:  # the same size (the batch of two tensors of one batch)
        return bool(target(0, 0))
    return SizeCondition(target, left, right)


def _compare_shapes(target: Any, operands: Sequence[Any], where: str) -> Any:
    left, right = (_shape_item(v, slice(None), where) if isinstance(v, Shape) else tuple(v) for v in operands)
    equal = target is operator.eq
    if len(left) != len(right):
        return not equal
    parts = [_compare(target, pair, where) for pair in zip(left, right, strict=True)]
    decided = [p for p in parts if isinstance(p, bool)]
    open_ = tuple(p for p in parts if not isinstance(p, bool))
    if any(d != equal for d in decided):  # a size that decides it: unequal for ==, different for !=
        return not equal
    if not open_:
        return equal
    return open_[0] if len(open_) == 1 else SizeConditions(open_, equal)


def _assert(builder: Builder, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]) -> None:
    """torch._assert(condition, message): a condition the network needs, as a check node naming the message.

    A condition on one symbolic axis becomes that axis' rule; one on fixed axes only is decided now (an error
    when it fails there); one relating two symbolic axes (H == W) is not modelled, as each axis is stated on its
    own."""
    bound = {
        "condition": None,
        "message": "",
        **dict(zip(("condition", "message"), args, strict=False)),
        **kwargs,
    }
    condition, message = bound["condition"], str(bound["message"])
    if isinstance(condition, bool):
        if not condition:
            raise SpecError(f"{where}: the model asserts a condition that never holds ({message})")
        return None
    if not isinstance(condition, SizeCondition | SizeConditions):
        raise SpecError(f"{where} asserts {_shown(None, condition)}; only comparisons of sizes are read")
    rule = f"asserts {condition} ({message})" if message else f"asserts {condition}"
    if isinstance(condition, SizeCondition):
        _state(builder, name, where, condition, rule)
    elif not condition.every:
        refusal = f"{where} {rule}: some size differs, which relates the axes; not modelled"
        if not message.endswith(GUARD_MESSAGE):
            raise SpecError(refusal)
        # A branch's guard: read only if the branch is two-sided, when the guard is dropped (sides.py);
        # _read_past_branches refuses it otherwise.
        entries = [Check(None, rule, unstated=refusal) for _ in builder.dims]
        builder.shape_op(name, "check", [Tensor("input", None)], entries, None)
    else:
        # Each size its own check; the first node made takes `name` (a branch's guard is found by it).
        made = False
        for part in condition.parts:
            made = _state(builder, f"{name}_size" if made else name, where, part, rule) or made
    return None


def _state(builder: Builder, name: str, where: str, condition: SizeCondition, rule: str) -> bool:
    """A condition on sizes the network needs (`rule` says it, after `where`): a check node on the one
    symbolic axis it reads; decided now when it reads fixed axes only (an error when it fails there); refused
    when it relates two symbolic axes (H == W), as each axis is stated on its own."""
    relation, _ = COMPARISONS[condition.target]
    symbols = (condition.left.expr - condition.right.expr).free_symbols
    if BATCH_SIZE in symbols:
        raise SpecError(f"{where} {rule}, which depends on the batch size; not modelled")
    found = [axis for axis in (axis_of(s) for s in symbols) if axis is not None]
    fixed = dict(builder.fixed)
    symbolic = sorted({dim for _, dim in found if dim not in fixed}, key=builder.dims.index)
    if len(symbolic) > 1:
        refusal = (
            f"{where} {rule}, relating the sizes along {' and '.join(symbolic)}; not modelled (each axis is "
            "stated on its own)"
        )
        if not rule.endswith(f"{GUARD_MESSAGE})"):
            raise SpecError(refusal)
        # a branch's guard (timm's `if H*W + 1 == 197:` before resizing a position embedding): read only if the
        # branch is two-sided, when the guard is dropped (sides.py); _read_past_branches refuses it otherwise
        entries = [Check(None, rule, unstated=refusal) for _ in builder.dims]
        builder.shape_op(name, "check", [Tensor("input", None)], entries, None)
        return True
    if not symbolic:
        # every size it reads is a number at the fixed input size
        numbers = {s: sympy.Integer(builder.node_size(*axis_of(s) or ("", "")) or 0) for s in symbols}
        if not evaluate(relation(condition.left.expr, condition.right.expr).xreplace(numbers), {}):
            refusal = f"{where} {rule}, which fails at the fixed input size"
            if not rule.endswith(f"{GUARD_MESSAGE})"):
                raise SpecError(refusal)
            # the guard of a two-sided branch's side that no input takes at the fixed sizes (importers.sides)
            entries = [Check(None, rule, unstated=refusal, never=True) for _ in builder.dims]
            builder.shape_op(name, "check", [Tensor("input", None)], entries, None)
            return True
        return False
    dim = symbolic[0]
    sides = [
        shape_formula(builder, side, dim, where, "a compared size")
        for side in (condition.left, condition.right)
    ]
    stated = relation(*sides)
    source = next(node for node, axis in found if axis == dim)
    entries = [Check(stated if d == dim else None, rule) for d in builder.dims]
    # a check passes its node's tensor on: the same channels
    channels = builder.channels.get(source)
    builder.shape_op(name, "check", [Tensor(source, channels)], entries, channels)
    return True


def _elementwise(builder: Builder, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """A binary elementwise op; `other` may come as a keyword (x.add(other=y))."""
    operands = [*args[:2], kwargs["other"]] if len(args) < 2 and "other" in kwargs else list(args[:2])
    tensors = [a for a in operands if isinstance(a, Tensor)]
    if not tensors:
        return Constant()
    first = tensors[0]
    if len(operands) < 2:
        return first
    other = operands[1] if operands[0] is first else operands[0]
    if isinstance(other, SizeValue):
        return first  # a tensor times a size: a scalar, broadcast
    layout = first.layout
    if isinstance(other, Tensor) and other.layout != first.layout:
        layout = _combined_layout(builder, first, other, where)
        if layout is None:
            raise SpecError(
                f"{where} combines tensors whose axes differ ({layouts.describe(_layout(builder, first))} and "
                f"{layouts.describe(_layout(builder, other))}); not modelled"
            )
    if isinstance(other, Constant) and other.shape is not None:
        return _broadcast_parameter(builder, name, where, first, other)
    made = builder.elementwise(name, _plain(first), _plain(other), where)
    return _laid_out(builder, made, layout) if layout is not None else made


def _combined_layout(builder: Builder, a: Tensor, b: Tensor, where: str) -> layouts.Layout | None:
    """The layout of an elementwise op of two laid-out tensors of one rank, dimension by dimension: the same
    parts; a dimension of size 1 on one side (no parts: what an unsqueeze or a view to 1 left), which takes the
    other's; or on both sides a dimension without positions (the batch, the channels, pieces of them, a stack)
    of the same count, the first's (selective kernel's stacked paths (batch, stack of 2, channels, H, W) and
    their gate viewed as (batch, 2, channels / 2, 1, 1)). None otherwise, and where an axis would stand in two
    places."""
    if a.flat or b.flat:
        return None
    first, other = _layout(builder, a), _layout(builder, b)
    if len(first) != len(other):
        return None
    merged = []
    for mine, theirs in zip(first, other, strict=True):
        if mine == theirs or not theirs:
            merged.append(mine)
        elif not mine:
            merged.append(theirs)
        elif (
            _countable_group(mine)
            and _countable_group(theirs)
            and _group_size(a, mine, where) == _group_size(b, theirs, where)
        ):
            merged.append(mine)
        else:
            return None
    positions = [p for group in merged for p in group if p.kind not in ("group", "stack", "taps")]
    return tuple(merged) if len(positions) == len(set(positions)) else None


def _countable_group(group: Sequence[layouts.Part]) -> bool:
    """A dimension whose entries are no positions: the batch, the channels, pieces of them, a stack."""
    return bool(group) and all(p.kind in ("batch", "channels", "group", "stack") for p in group)


def _plain(value: Any) -> Any:
    return (
        Tensor(value.node, value.channels)
        if isinstance(value, Tensor) and value.layout is not None
        else value
    )


def _concat(builder: Builder, name: str, where: str, parts: Any, dim: int) -> Tensor:
    tensors = [_tensor(part, where) for part in parts]
    if not tensors:
        raise SpecError(f"{where} concatenates nothing")
    if tensors[0].flat:
        raise SpecError(f"{where} concatenates flattened tensors; not modelled")
    rank = 2 + len(builder.dims)
    if any(t.flat for t in tensors):
        raise SpecError(f"{where} concatenates a flattened tensor with one that has spatial axes")
    if any(t.layout is not None for t in tensors):
        return _concat_laid_out(builder, name, where, tensors, dim)
    axis = dim % rank
    if axis >= 2:
        # Along a spatial axis the sizes add up there; the channels and the other axes must agree.
        counts = {t.channels for t in tensors if t.channels is not None}
        if len(counts) > 1:
            raise SpecError(
                f"{where} concatenates along {builder.dims[axis - 2]} tensors with {sorted(counts)} channels; "
                "every other axis must agree"
            )
        entries = [Join(k == axis) for k, _ in enumerate(builder.dims, start=2)]
        return builder.shape_op(name, "join", tensors, entries, next(iter(counts), None))
    return builder.concat(name, tensors, axis == 1, where)


def _dim_argument(function: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """The `dim` of softmax/log_softmax (second argument, no default) or F.normalize (third, default 1)."""
    index, default = (2, 1) if function == "normalize" else (1, None)
    return args[index] if len(args) > index else kwargs.get("dim", default)


def _over_dimension(builder: Builder, call: Call, dim: Any) -> Tensor:
    """softmax, log_softmax or normalize over a dimension: each output reads every entry of that dimension, so
    over one that holds positions (a spatial axis, tokens) every position along those axes reads every other
    (a `mix` node); over the channels or another dimension, per position."""
    x = call.x
    if dim is None or x.flat:
        return x  # PyTorch's implicit dim of a 4-D or 5-D input is the channels
    layout = _layout(builder, x)
    positions = [p for p in layout[_dimension(layout, dim, call.where)] if p.kind in POSITIONS]
    if not positions:
        return x
    if any(p.kind != "spatial" for p in positions):
        raise SpecError(
            f"{call.where} normalizes over dimension {dim} of {layouts.describe(layout)}, which holds windows; "
            "not modelled"
        )
    return _mix(builder, call.name, x, {}, [p.dim for p in positions])


def _concat_laid_out(builder: Builder, name: str, where: str, tensors: list[Tensor], dim: Any) -> Tensor:
    """torch.cat of tensors whose dimensions were moved (channels-last): along the dimension that holds the
    channels it is a concatenation of the channels, the layout kept; along any other, not modelled."""
    laid = [_layout(builder, t) for t in tensors]
    axis = _dimension(laid[0], dim, where)
    channels = (layouts.Part("channels"),)
    rest = [(*layout[:axis], *layout[axis + 1 :]) for layout in laid]
    if any(layout[axis] != channels for layout in laid) or any(r != rest[0] for r in rest):
        raise SpecError(
            f"{where} concatenates along dimension {dim} of tensors laid out as "
            f"{', '.join(sorted({layouts.describe(layout) for layout in laid}))}; only along the channels of "
            "tensors laid out alike is modelled"
        )
    made = builder.concat(name, [Tensor(t.node, t.channels) for t in tensors], True, where)
    return _laid_out(builder, made, laid[0])


def _method(builder: Builder, target: str, name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """The value of a supported tensor method call (x.relu(), x.view(x.size(0), -1), x.size(0), ...)."""
    where = f"Tensor.{target} at {name}"
    if args and isinstance(args[0], Sized):
        return _sized_method(builder, target, name, where, args, kwargs)
    if args and isinstance(args[0], Constant):
        return (
            args[0]
            if target in PRESERVING_METHODS
            else parameters.method(target, args[0], args[1:], kwargs, where)
        )
    if not args or not isinstance(args[0], Tensor):
        raise SpecError(f"{where} is called on {args[0] if args else None!r}, not a tensor")
    x: Tensor = args[0]
    if target in NEW_FACTORIES:
        return _new_factory(builder, target, name, where, args, kwargs)
    if target in OVER_A_DIMENSION:
        return _over_dimension(builder, Call(name, where, x), _dim_argument(target, args, kwargs))
    if target in PRESERVING_METHODS:
        return x
    if target in ELEMENTWISE_METHODS:
        return _elementwise(builder, name, where, args, kwargs)
    if target == "size":
        dim = args[1] if len(args) > 1 else kwargs.get("dim")
        whole = Shape(x, builder.dims)
        return whole if dim is None else _shape_item(whole, dim, where)
    if target in ("dim", "ndimension"):
        return _rank_of(x, builder.dims)
    if target == "flatten":
        bound = _bind("flatten", args, kwargs, start_dim=0, end_dim=-1)
        return _flatten(builder, Call(name, where, x), bound["start_dim"], bound["end_dim"])
    if target in ("split", "chunk"):
        bound = _bind(target, args, kwargs, dim=0)
        how = bound["split_size_or_sections" if target == "split" else "chunks"]
        return _split(builder, Call(name, where, x), how, bound["dim"], target == "chunk")
    if target in ("mean", "sum", "amax", "amin"):
        bound = _bind("reduce", args, kwargs)
        return _reduce(
            builder, Call(name, where, x), bound["dim"], bool(bound["keepdim"]), target in ("mean", "sum")
        )
    if target in ("view_as", "reshape_as"):
        other = _tensor(args[1] if len(args) > 1 else kwargs.get("other"), where)
        return _reshape(
            builder, Call(name, where, x), _shape_item(Shape(other, builder.dims), slice(None), where)
        )
    if target in ("view", "reshape"):
        shape = args[1] if len(args) == 2 and isinstance(args[1], tuple | list) else args[1:]
        batch = isinstance(shape[0], SizeValue) and shape[0].expr == BATCH_SIZE if shape else False
        if len(shape) == 2 and batch and shape[1] == -1 and x.layout is None:
            return _flatten(builder, Call(name, where, x), 1, -1)
        return _reshape(builder, Call(name, where, x), shape)
    if target in ("unsqueeze", "squeeze"):
        dim = args[1] if len(args) > 1 else kwargs.get("dim")
        return _squeeze(builder, Call(name, where, x), target, dim)
    if target in ("permute", "transpose", "swapaxes"):
        order = args[1] if len(args) == 2 and isinstance(args[1], tuple | list) else args[1:]
        return _move(builder, Call(name, where, x), target, tuple(order))
    if target == "unbind":
        return _unbind(builder, Call(name, where, x), args[1] if len(args) > 1 else kwargs.get("dim", 0))
    if target == "unfold":
        bound = _call_arguments(("input", "dimension", "size", "step"), args, kwargs)
        return _unfold_axis(builder, Call(name, where, x), bound["dimension"], bound["size"], bound["step"])
    if target in TENSOR_OPERATORS:
        return TENSOR_OPERATORS[target](builder, name, where, args, kwargs)
    raise unsupported(f"Tensor.{target}", name)


# Parameters used as tensors, and the operators that go with them (a ViT's class token and position
# embedding, layer scale, Linear over the last axis, narrow, expand_as, roll).


def _broadcast_to(
    builder: Builder,
    name: str,
    where: str,
    x: Tensor,
    targets: dict[str, sympy.Expr],
    rule: str,
    mutual: bool = False,
) -> Tensor:
    """x broadcast to the sizes `targets` on some spatial axes (formulas, `ref` for other nodes' sizes):
    PyTorch needs each of x's sizes there to equal the target or be 1; output position j then reads j, or
    the one position of a size-1 axis (a nearest resize to the target is exactly that). `mutual`: x broadcast
    with the sizes (a target of 1 takes x's size; the output is the larger, a target at least 1)."""
    if not targets:
        return x
    plain = Tensor(x.node, x.channels)
    here = ref(x.node)

    def holds(target: sympy.Expr) -> sympy.Basic:
        if not mutual:
            return sympy.Or(eq(here, target), eq(here, 1))
        return sympy.And(sympy.Or(eq(here, target), eq(here, 1), eq(target, 1)), ge(target, 1))

    checks = [Check(holds(targets[dim]) if dim in targets else None, rule) for dim in builder.dims]
    checked = builder.shape_op(f"{name}_check", "check", [plain], checks, x.channels)
    entries = [
        Resize(sympy.Max(here, targets[dim]) if mutual else targets[dim], None, "nearest")
        if dim in targets
        else Resize(None, Fraction(1), "nearest")
        for dim in builder.dims
    ]
    out = builder.shape_op(name, "resize", [checked], entries, x.channels)
    return Tensor(out.node, x.channels, layout=x.layout)


def _broadcast_parameter(builder: Builder, name: str, where: str, x: Tensor, c: Constant) -> Tensor:
    """x combined elementwise with a parameter, broadcasting as PyTorch does: the shapes aligned from the
    last dimension, each pair equal or one of them 1. A parameter's size on a spatial axis other than 1
    makes it a condition (the axis equal to it, or 1); on a dimension of tokens (H*W, maybe with a class
    token) the condition relates the axes (see `_token_condition`)."""
    shape = tuple(c.shape or ())
    if x.flat:
        layout: layouts.Layout = ((layouts.Part("batch"),), (layouts.Part("channels"),))
    else:
        layout = _layout(builder, x)
    if len(shape) > len(layout):
        raise SpecError(
            f"{where} broadcasts a parameter of shape {shape} over a tensor of {len(layout)} dimensions "
            f"{layouts.describe(layout)}, which adds dimensions; not modelled"
        )
    channels = x.features if x.flat else x.channels
    targets: dict[str, sympy.Expr] = {}
    for group, size in zip(layout[len(layout) - len(shape) :], shape, strict=True):
        kinds = [p.kind for p in group]
        if size == 1 or (size is None and kinds == ["batch"]):
            continue
        what = f"a parameter of shape {shape}"
        if size is None or kinds == ["batch"]:
            raise SpecError(
                f"{where} broadcasts {what} against {layouts.describe((group,))}, which depends on the batch size; not modelled"
            )
        if kinds == ["channels"]:
            if channels is None and not x.flat:
                continue  # an unknown channel count (a symbolic input's, before any layer sets it)
            if channels == size:
                continue
            if channels == 1 and not x.flat:
                channels = size
                continue
            counted = (
                "features whose count depends on the sizes" if channels is None else f"{channels} channels"
            )
            raise SpecError(
                f"{where} broadcasts {what} against {counted} (PyTorch's rule: the sizes must be equal, or one "
                "of them 1)"
            )
        if kinds == ["spatial"]:
            targets[group[0].dim] = sympy.Integer(size)
            continue
        if _sized(group):
            _same_size(where, what, group, int(_group_size(x, group, where)), size)
            continue
        if all(k in ("spatial", "outer", "inner", "extra", "keys") for k in kinds):
            x = _token_condition(builder, name, where, x, group, size, what)
            continue
        raise SpecError(f"{where} broadcasts {what} against {layouts.describe((group,))}; not modelled")
    rule = f"broadcasts with a parameter of shape {shape} (PyTorch's rule: the size equals it, or is 1)"
    out = _broadcast_to(builder, name, where, x, targets, rule)
    if x.flat:
        return Tensor(out.node, None, flat=True, features=channels)
    return Tensor(out.node, channels, layout=out.layout)


def _token_parts(
    builder: Builder, x: Tensor, group: tuple[layouts.Part, ...], env: dict[str, int], free: str | None = None
) -> tuple[sympy.Expr, int, int]:
    """A dimension of tokens as (free factor, multiplier, added): its parts' sizes at the input sizes `env`
    multiplied, the part on axis `free` (if any) kept as a formula in its size at x, plus the tokens a
    concatenation added."""
    factor: sympy.Expr = sympy.Integer(1)
    multiplier, extra = 1, 0
    for part in group:
        if part.kind == "extra":
            extra += part.window
        elif part.kind == "inner" or _window_keys(part):
            multiplier *= part.window
        elif part.dim == free:
            here = ref(part.node or x.node)
            factor *= here if part.kind in ("spatial", "keys") else sympy.floor(here / part.window)
        else:
            size = int(evaluate(builder.formula(part.node or x.node, part.dim), {part.dim: env[part.dim]}))
            multiplier *= size if part.kind in ("spatial", "keys") else size // part.window
    return factor, multiplier, extra


def _token_count(builder: Builder, x: Tensor, group: tuple[layouts.Part, ...], env: dict[str, int]) -> int:
    """The size of a dimension of tokens at the input sizes `env`."""
    _, multiplier, extra = _token_parts(builder, x, group, env)
    return multiplier + extra


def _sizes_so_far(builder: Builder, x: Tensor, dims: Sequence[str], where: str) -> dict[str, tuple[int, ...]]:
    """Each axis' valid sizes under the conditions the model has stated up to x (a fixed axis: its size),
    when they are finitely many; SpecError otherwise."""
    fixed = dict(builder.fixed)
    found: dict[str, tuple[int, ...]] = {dim: (fixed[dim],) for dim in dims if dim in fixed}
    open_dims = [dim for dim in dims if dim not in fixed]
    if open_dims:
        valid = _so_far(builder, x.node).valid_inputs()
        for dim in open_dims:
            if valid[dim].residues or not valid[dim].below:
                raise SpecError(
                    f"{where}: the number of tokens is a product of the sizes along {' and '.join(dims)}, and "
                    f"the model allows infinitely many sizes along {dim} here: the condition relating the "
                    "axes is not modelled (give fixed sizes in the input shape, e.g. 1,3,224,224)"
                )
            found[dim] = valid[dim].below
    return found


def _token_condition(
    builder: Builder, name: str, where: str, x: Tensor, group: tuple[layouts.Part, ...], size: int, what: str
) -> Tensor:
    """The condition that a dimension of tokens (H/p * W/p, plus a class token) equals a parameter's size
    (a position embedding of a fixed number of tokens): it relates the axes, so it is decided over the sizes
    the model allows so far (each axis' valid set must be finite: a ViT asserts its image size), and stated
    per axis when the sizes that meet it are a product of per-axis sets; otherwise refused."""
    dims = sorted({p.dim for p in group if p.kind in ("spatial", "outer", "keys")}, key=builder.dims.index)
    open_dims = [dim for dim in dims if dim not in dict(builder.fixed)]
    if len(open_dims) == 1 and len(dims) > 1:
        return _token_condition_on(builder, name, where, x, group, size, what, open_dims[0])
    allowed = _sizes_so_far(builder, x, dims, where)
    combos = list(itertools.product(*(allowed[d] for d in dims)))
    if len(combos) > 100_000:
        raise SpecError(
            f"{where}: {len(combos)} combinations of sizes to decide the number of tokens; too many"
        )
    counts = {combo: _token_count(builder, x, group, dict(zip(dims, combo, strict=True))) for combo in combos}
    if any(count == 1 != size for count in counts.values()):
        raise SpecError(f"{where} broadcasts {what} against a single token, which adds tokens; not modelled")
    meeting = [combo for combo, count in counts.items() if count == size]
    count = _group_size(x, group, where)
    formula = builder.resolved(count, where) if isinstance(count, SizeValue) else count
    rule = f"the number of tokens, {formula}, must equal {size}, the size of {what}"
    if not meeting:
        raise SpecError(f"{where}: {rule}, which holds at no size the model allows")
    projections = [sorted({combo[k] for combo in meeting}) for k in range(len(dims))]
    if len(meeting) != math.prod(len(p) for p in projections):
        raise SpecError(f"{where}: {rule}, which relates the sizes along {' and '.join(dims)}; not modelled")
    stated = dict(zip(dims, projections, strict=True))
    entries = [
        Check(sympy.Or(*(eq(ref("input"), v) for v in stated[dim])), f"{rule} (PyTorch's broadcasting)")
        if dim in stated and dim not in dict(builder.fixed)
        else Check(None)
        for dim in builder.dims
    ]
    if all(entry.condition is None for entry in entries):
        return x
    checked = builder.shape_op(f"{name}_tokens", "check", [Tensor(x.node, x.channels)], entries, x.channels)
    return Tensor(checked.node, x.channels, layout=x.layout)


def _token_condition_on(
    builder: Builder,
    name: str,
    where: str,
    x: Tensor,
    group: tuple[layouts.Part, ...],
    size: int,
    what: str,
    dim: str,
) -> Tensor:
    """The tokens-equal-size condition where every axis but `dim` is fixed: a condition on `dim` alone (the
    fixed axes' sizes put in as numbers), stated on that axis and solved like any other."""
    factor, multiplier, extra = _token_parts(builder, x, group, dict(builder.fixed), dim)
    total = factor * multiplier
    if extra == 0 and multiplier == 1 and size != 1:
        # one token at some size would broadcast against the parameter (PyTorch adds tokens), not refuse
        raise SpecError(f"{where} broadcasts {what} against a single token, which adds tokens; not modelled")
    count = _group_size(x, group, where)
    formula = builder.resolved(count, where) if isinstance(count, SizeValue) else count
    rule = f"the number of tokens, {formula}, must equal {size}, the size of {what} (PyTorch's broadcasting)"
    entries = [Check(eq(total + extra, size) if d == dim else None, rule) for d in builder.dims]
    checked = builder.shape_op(f"{name}_tokens", "check", [Tensor(x.node, x.channels)], entries, x.channels)
    return Tensor(checked.node, x.channels, layout=x.layout)


def _concat_parameters(builder: Builder, name: str, where: str, parts: Sequence[Any], dim: int) -> Tensor:
    """torch.cat of parameters (a class token expanded to the batch) with one tensor of tokens, along the
    tokens: the dimension gains the parameters' sizes (an `extra` part, before or after the tokens); every
    other dimension must agree (the batch: expanded to it)."""
    tensors = [k for k, part in enumerate(parts) if isinstance(part, Tensor)]
    if len(tensors) != 1 or any(not isinstance(p, Tensor | Constant) for p in parts):
        raise SpecError(
            f"{where} concatenates {len(tensors)} tensors with parameters; one tensor is modelled"
        )
    x: Tensor = parts[tensors[0]]
    if x.flat or x.layout is None:
        raise SpecError(
            f"{where} concatenates a parameter with a tensor of axes (batch, channels, {', '.join(builder.dims)}); "
            "only a dimension of tokens (after flatten and transpose) is modelled"
        )
    layout = x.layout
    axis = _dimension(layout, dim, where)
    added = {"front": 0, "back": 0}
    for k, part in enumerate(parts):
        if k == tensors[0]:
            continue
        shape = tuple(part.shape or ())
        if len(shape) != len(layout):
            raise SpecError(f"{where}: a parameter of shape {shape} and a tensor of {len(layout)} dimensions")
        for a, (group, size) in enumerate(zip(layout, shape, strict=True)):
            kinds = [p.kind for p in group]
            same = (
                (kinds == ["batch"] and size is None)
                or (kinds == ["channels"] and size == x.channels)
                or (not group and size == 1)
            )
            if a != axis and not same:
                raise SpecError(
                    f"{where}: a parameter of shape {shape} differs from the tensor {layouts.describe(layout)} "
                    f"in dimension {a} (PyTorch's rule: every dimension but the concatenated one agrees)"
                )
        if not isinstance(shape[axis], int):
            raise SpecError(f"{where}: a parameter of shape {shape} has no known size along dimension {dim}")
        added["front" if k < tensors[0] else "back"] += shape[axis]
    group = layout[axis]
    if any(p.kind not in ("spatial", "outer", "inner", "extra") for p in group):
        raise SpecError(f"{where} concatenates parameters along {layouts.describe((group,))}; not modelled")
    front = tuple(p for p in group if p.kind == "extra" and p.dim == "front")
    back = tuple(p for p in group if p.kind == "extra" and p.dim == "back")
    middle = tuple(p for p in group if p.kind != "extra")
    count_front = sum(p.window for p in front) + added["front"]
    count_back = sum(p.window for p in back) + added["back"]
    grown = (
        *((layouts.Part("extra", "front", count_front),) if count_front else ()),
        *middle,
        *((layouts.Part("extra", "back", count_back),) if count_back else ()),
    )
    return Tensor(x.node, x.channels, layout=(*layout[:axis], grown, *layout[axis + 1 :]))


def _pick_token(builder: Builder, where: str, x: Tensor, items: list[Any]) -> Tensor:
    """x[:, 0] or x[:, 1:] on a tensor whose dimensions were moved (tokens): one of the tokens a
    concatenation added (a class token) picked by an integer index, the other dimensions kept ((batch,
    channels): its features); or the tokens without those a concatenation added."""
    layout = x.layout or ()
    picks = [(a, item) for a, item in enumerate(items) if item != slice(None)]
    if not picks:
        return x
    if len(picks) != 1:
        raise SpecError(f"{where} indexes {layouts.describe(layout)} with {items!r}; not modelled")
    axis, index = picks[0]
    group = layout[axis]
    kind = _countable(group)
    if kind is not None and isinstance(index, int) and not isinstance(index, bool):
        # qkv[0] on (3, batch, heads, tokens, head_dim): one piece of the channels (or of a stack), as unbind
        size = int(_group_size(x, group, where))
        if not -size <= index < size:
            raise SpecError(f"{where} picks element {index} of a dimension of size {size}")
        return _share(builder, x, layout, axis, size, None, kind)
    front = sum(p.window for p in group if p.kind == "extra" and p.dim == "front")
    back = sum(p.window for p in group if p.kind == "extra" and p.dim == "back")
    if isinstance(index, slice):
        # x[:, 1:]: the tokens without the class token (ViT's average pooling, its patch grid)
        if index not in (slice(front, None), slice(front, None, 1), slice(front, -back if back else None)):
            raise SpecError(
                f"{where} slices {layouts.describe((group,))} with {index!r}; only cutting off the tokens a "
                "concatenation added is modelled"
            )
        kept = tuple(p for p in group if p.kind != "extra" or (p.dim == "back" and index.stop is None))
        return Tensor(x.node, x.channels, layout=(*layout[:axis], kept, *layout[axis + 1 :]))
    if (
        isinstance(index, bool)
        or not isinstance(index, int)
        or not (0 <= index < front or -back <= index < 0)
    ):
        raise SpecError(
            f"{where} picks element {index!r} of {layouts.describe((group,))}; only a token a concatenation "
            "added (a class token) is modelled, as the others' positions depend on the sizes"
        )
    rest = (*layout[:axis], *layout[axis + 1 :])
    if rest == ((layouts.Part("batch"),), (layouts.Part("channels"),)):
        # a flatten node: what follows reads features, not positions
        made = builder._add(Node(builder.name(f"{x.node}_token"), "flatten", (x.node,)), x.channels)
        return Tensor(made, None, flat=True, features=x.channels)
    raise SpecError(f"{where} leaves a tensor of axes {layouts.describe(rest)}; not modelled")


def _mix(
    builder: Builder, name: str, x: Tensor, sizes: dict[str, sympy.Expr | None], every: Sequence[str]
) -> Tensor:
    """A `mix` node: along the axes `every`, each output position reads every input position."""
    entries = [Mix(sizes.get(dim), dim in every) for dim in builder.dims]
    made = builder.shape_op(name, "mix", [Tensor(x.node, x.channels)], entries, x.channels)
    return Tensor(made.node, x.channels, layout=x.layout)


def _attention(builder: Builder, m: Any, call: Call) -> tuple[Tensor, None]:
    """nn.MultiheadAttention over tokens (self-attention: query, key and value the same tensor): the shape
    of the query; each token reads every token, so along every spatial axis in the token dimension each
    position reads every position. PyTorch needs the last dimension to equal embed_dim."""
    x, where = call.x, call.where
    bound = dict(
        zip(("key", "value", "key_padding_mask", "need_weights", "attn_mask"), call.rest, strict=False)
    )
    bound |= call.kwargs
    if any(bound.get(k) is not x for k in ("key", "value")):
        raise SpecError(f"{where}: attention with a key or value other than the query is not modelled")
    if any(bound.get(k) is not None for k in ("key_padding_mask", "attn_mask")):
        raise SpecError(
            f"{where}: attention with a mask (whose shape fixes the number of tokens) is not modelled"
        )
    if not _channels_last(x) or len(x.layout or ()) != 3:
        raise SpecError(
            f"{where} reads {layouts.describe(_layout(builder, x))}; it needs (batch, tokens, channels)"
        )
    _channels(where, m.embed_dim, x)
    layout = x.layout or ()
    tokens = layout[1 if m.batch_first else 0]
    batch = layout[0 if m.batch_first else 1]
    if batch != (layouts.Part("batch"),) or any(p.kind not in ("spatial", "extra") for p in tokens):
        raise SpecError(
            f"{where}: attention over {layouts.describe(layout)} with batch_first={m.batch_first}; only tokens "
            "that are whole spatial axes (a ViT's) are modelled"
        )
    return _mix(builder, call.name, x, {}, [p.dim for p in tokens if p.kind == "spatial"]), None


def _unbind(builder: Builder, call: Call, dim: Any) -> tuple[Tensor, ...]:
    """Tensor.unbind over a dimension that holds pieces of the channels (timm's q, k, v from one Linear,
    reshaped to (3, batch, heads, tokens, head_dim)) or a stack: that many tensors without the dimension,
    each with its share of the channels."""
    x, where = call.x, call.where
    if x.flat:
        raise SpecError(f"{where} unbinds a flattened tensor; not modelled")
    layout = _layout(builder, x)
    axis = _dimension(layout, dim, where)
    group = layout[axis]
    kind = _countable(group)
    if kind is None:
        raise SpecError(
            f"{where} unbinds dimension {dim} of {layouts.describe(layout)}; only a factor of the channels or a "
            "stack is modelled"
        )
    size = int(_group_size(x, group, where))
    return tuple(_share(builder, x, layout, axis, size, None, kind) for _ in range(size))


def _dot_product_attention(
    builder: Builder, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]
) -> Tensor:
    """F.scaled_dot_product_attention(q, k, v) over tokens in the second-to-last dimension (self-attention:
    q, k and v from the same tensor): the query's shape; every token reads every token."""
    names = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale")
    bound = _call_arguments(names, args, kwargs)
    q, k, v = (_tensor(bound[n], where) for n in ("query", "key", "value"))
    if not q.node == k.node == v.node or not q.layout == k.layout == v.layout:
        if bound["attn_mask"] is not None:
            raise SpecError(
                f"{where}: attention with a mask and a key or value other than the query is not modelled"
            )
        return _cross_attention(builder, name, where, q, k, v)
    if isinstance(bound["attn_mask"], Constant) and not bound["is_causal"]:
        return _masked_attention(builder, name, where, (q, k, v), bound["attn_mask"])
    if bound["attn_mask"] is not None:
        raise SpecError(
            f"{where}: attention with a mask (whose shape fixes the number of tokens) is not modelled"
        )
    layout = q.layout or ()
    tokens = layout[-2] if len(layout) >= 2 else ()
    others = [p for group in (*layout[:-2], *layout[-1:]) for p in group]
    if any(p.kind in ("outer", "inner") for p in tokens) and not bound["is_causal"]:
        # tokens of windows (Twins' and DaViT's window attention): the products' rules for windows
        return _cross_attention(builder, name, where, q, k, v)
    if (
        not any(p.kind == "spatial" for p in tokens)
        or any(p.kind not in ("spatial", "extra") for p in tokens)
        or any(p.kind in ("spatial", "outer", "inner") for p in others)
    ):
        raise SpecError(
            f"{where}: attention over {layouts.describe(layout)}; only tokens that are whole spatial axes, in "
            "the second-to-last dimension, are modelled"
        )
    return _mix(builder, name, q, {}, [p.dim for p in tokens if p.kind == "spatial"])


def _cross_attention(builder: Builder, name: str, where: str, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """F.scaled_dot_product_attention(q, k, v) whose key and value are other tensors (PVT's and Twins' keys
    from a reduced map): softmax(q @ k^T) @ v, as two products, so that PyTorch's rules on the sizes hold (the
    query's and key's last dimensions equal, the key's and value's tokens equal) and each output token reads
    its query's position and every position of the key and the value."""
    if k.flat:
        raise SpecError(f"{where}: attention to a flattened key; not modelled")
    keys = layouts.transpose(_layout(builder, k), -2, -1)
    scores = _matmul(builder, f"{name}_scores", where, q, Tensor(k.node, k.channels, layout=keys))
    return _matmul(builder, name, where, scores, v)


def _linear_last_axis(builder: Builder, m: Any, call: Call) -> Tensor:
    """nn.Linear / F.linear act on the last dimension (PyTorch: its size must equal in_features); when that
    is a spatial axis, its size is in_features and becomes out_features, each output position reading every
    input position."""
    x, where = call.x, call.where
    last = _layout(builder, x)[-1]
    if len(last) != 1:
        raise SpecError(f"{where} acts on the last dimension {layouts.describe((last,))}; not modelled")
    dim = last[0].dim
    rule = f"Linear acts on the last dimension, {dim}, whose size must equal in_features={m.in_features}"
    entries = [Check(eq(ref(x.node), m.in_features) if d == dim else None, rule) for d in builder.dims]
    checked = builder.shape_op(
        f"{call.name}_check", "check", [Tensor(x.node, x.channels)], entries, x.channels
    )
    made = _mix(
        builder,
        call.name,
        Tensor(checked.node, x.channels, layout=x.layout),
        {dim: sympy.Integer(m.out_features)},
        [dim],
    )
    return made


def _linear_function(
    builder: Builder, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]
) -> Tensor:
    """F.linear(x, weight, bias): a Linear of in_features = weight.shape[1], out_features = weight.shape[0]."""
    bound = dict(zip(("input", "weight", "bias"), args, strict=False)) | kwargs
    weight = bound.get("weight")
    shape = parameters.shape_of(weight, where) if isinstance(weight, Constant) else ()
    if len(shape) != 2:
        raise SpecError(f"{where}: the weight's shape is not known (a parameter of the model is read)")
    features = SimpleNamespace(in_features=shape[1], out_features=shape[0])
    return _linear(builder, features, Call(name, where, _tensor(bound.get("input"), where)))


def _spatial_axis(builder: Builder, x: Tensor, dim: Any, where: str) -> tuple[str | None, int]:
    """The spatial axis a dimension index names (None for the batch or channels) and the index itself."""
    layout = _layout(builder, x)
    axis = _dimension(layout, dim, where)
    group = layout[axis]
    if len(group) == 1 and group[0].kind == "spatial":
        return group[0].dim, axis
    if len(group) == 1 and group[0].kind in ("batch", "channels"):
        return None, axis
    raise SpecError(f"{where} works along {layouts.describe((group,))}; not modelled")


def _roll(builder: Builder, name: str, where: str, x: Tensor, shifts: Any, dims: Any) -> Tensor:
    """torch.roll along given dimensions: sizes unchanged; output position j holds input position
    (j - shift) mod n (a spatial axis), the channels or batch only move."""
    if dims is None or x.flat:
        raise SpecError(f"{where}: roll without dims (of the flattened tensor) is not modelled")
    shift_list = list(shifts) if isinstance(shifts, tuple | list) else [shifts]
    dim_list = list(dims) if isinstance(dims, tuple | list) else [dims]
    computed = [str(v) for v in shift_list if isinstance(v, SizeValue)]
    if computed:
        raise SpecError(
            f"{where}: a shift computed from sizes ({', '.join(computed)}) is not modelled for roll"
        )
    if len(shift_list) != len(dim_list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in shift_list
    ):
        raise SpecError(f"{where}: shifts {shifts!r} and dims {dims!r} must be integers, one shift per dim")
    moved: dict[str, int] = {}
    for shift, dim in zip(shift_list, dim_list, strict=True):
        axis, _ = _spatial_axis(builder, x, dim, where)
        if axis is not None:
            moved[axis] = moved.get(axis, 0) + shift
    if not moved:
        return x
    entries = [Roll(moved.get(dim, 0)) for dim in builder.dims]
    made = builder.shape_op(name, "roll", [Tensor(x.node, x.channels)], entries, x.channels)
    return Tensor(made.node, x.channels, layout=x.layout)


def _narrow(builder: Builder, name: str, where: str, x: Tensor, dim: Any, start: Any, length: Any) -> Tensor:
    """torch.narrow(x, dim, start, length): positions start .. start + length - 1 (a negative start counts
    from the end). PyTorch needs -size <= start <= size, length >= 0 and start + length <= size (start
    taken from the end first)."""
    axis, index = _spatial_axis(builder, x, dim, where)
    computed = [str(v) for v in (start, length) if isinstance(v, SizeValue)]
    if computed:
        raise SpecError(
            f"{where}: a start or length computed from sizes ({', '.join(computed)}) is not modelled for narrow; "
            "a slice x[..., a:b] takes bounds computed from sizes"
        )
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, length)) or length < 0:
        raise SpecError(f"{where}: start ({start!r}) and length ({length!r}) must be integers, length >= 0")
    if axis is None:
        if index == 1 and x.channels is not None:
            begin = start + x.channels if start < 0 else start
            if not (-x.channels <= start <= x.channels and begin + length <= x.channels):
                raise SpecError(f"{where}: start {start} + length {length} exceeds the {x.channels} channels")
            return Tensor(x.node, length, layout=x.layout)
        raise SpecError(f"{where} narrows the batch or an unknown channel count; not modelled")
    n = ref(x.node)
    if start >= 0:
        condition = le(start + length, n)
        entry = Slice(sympy.Integer(start), sympy.Integer(start + length))
    else:
        condition = sympy.And(le(-start, n), le(start + length, 0))
        entry = Slice(n + start, n + start + length)
    rule = f"narrow(start={start}, length={length}) must lie inside the size (PyTorch's rule)"
    entries = [Check(condition if d == axis else None, rule) for d in builder.dims]
    checked = builder.shape_op(f"{name}_check", "check", [Tensor(x.node, x.channels)], entries, x.channels)
    slices = [entry if d == axis else Slice() for d in builder.dims]
    made = builder.shape_op(name, "slice", [checked], slices, x.channels)
    return Tensor(made.node, x.channels, layout=x.layout)


def _expand_as(builder: Builder, name: str, where: str, x: Any, other: Any) -> Tensor:
    """x.expand_as(other): x's sizes grow from 1 to other's (PyTorch: each equal, or 1 in x)."""
    y = _tensor(other, where)
    x = _tensor(x, where)
    builder.spatial(x, where)
    builder.spatial(y, where)
    if x.channels is not None and y.channels is not None and x.channels not in (1, y.channels):
        raise SpecError(f"{where}: {x.channels} channels cannot expand to {y.channels} (PyTorch's rule)")
    targets = {dim: ref(y.node) for dim in builder.dims}
    rule = f"expand_as: the size must equal {y.node}'s, or be 1 (PyTorch's rule)"
    return Tensor(_broadcast_to(builder, name, where, x, targets, rule).node, y.channels)


def _unfold_function(
    builder: Builder, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]
) -> Tensor:
    names = ("input", "kernel_size", "dilation", "padding", "stride")
    bound = {"dilation": 1, "padding": 0, "stride": 1, **dict(zip(names, args, strict=False)), **kwargs}
    call = Call(name, where, _tensor(bound.get("input"), where))
    return _unfold(builder, call, bound["kernel_size"], bound["dilation"], bound["padding"], bound["stride"])


def _call_arguments(names: tuple[str, ...], args: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    return {**dict.fromkeys(names), **dict(zip(names, args, strict=False)), **kwargs}


def _roll_call(
    builder: Builder, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]
) -> Tensor:
    bound = _call_arguments(("input", "shifts", "dims"), args, kwargs)
    return _roll(builder, name, where, _tensor(bound["input"], where), bound["shifts"], bound["dims"])


def _narrow_call(
    builder: Builder, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]
) -> Tensor:
    bound = _call_arguments(("input", "dim", "start", "length"), args, kwargs)
    x = _tensor(bound["input"], where)
    return _narrow(builder, name, where, x, bound["dim"], bound["start"], bound["length"])


def _expand_as_call(
    builder: Builder, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]
) -> Tensor:
    bound = _call_arguments(("input", "other"), args, kwargs)
    return _expand_as(builder, name, where, bound["input"], bound["other"])


# Splits, pads and products on any layout: a dimension that holds no position (the channels, a factor of
# them, a stack) is split or padded as PyTorch does it, a whole spatial axis as on (batch, channels,
# spatial...); a product of tensors reads positions as `_matmul` says.

POSITIONS = ("spatial", "outer", "inner")  # the parts that are positions of the tensor's node


def _at_fixed(builder: Builder, expr: sympy.Expr) -> sympy.Expr:
    """`expr` with each axis of fixed size put in as its number."""
    fixed = dict(builder.fixed)
    numbers = {s: sympy.Integer(fixed[s.name]) for s in expr.free_symbols if s.name in fixed}
    return expr.xreplace(numbers) if numbers else expr


def _window_keys(part: layouts.Part) -> bool:
    """The keys of one window (an attention map's columns inside a window partition): their size is the window."""
    return part.kind == "keys" and part.window > 1


def _dimension(layout: layouts.Layout, dim: Any, where: str) -> int:
    """A dimension index of a laid-out tensor (negative from the end, as PyTorch counts), or refused."""
    rank = len(layout)
    if isinstance(dim, bool) or not isinstance(dim, int) or not -rank <= dim < rank:
        raise SpecError(
            f"{where}: dim must be a dimension of the {rank}-D tensor {layouts.describe(layout)}, got {dim!r}"
        )
    return dim % rank


def _countable(group: tuple[layouts.Part, ...]) -> str | None:
    """What a dimension without positions holds: "group" (pieces of the channels) or "stack"; None when it
    holds a position, the batch or nothing."""
    kinds = {p.kind for p in group}
    if group and kinds <= {"channels", "group"}:
        return "group"
    if len(group) == 1 and kinds == {"stack"}:
        return "stack"
    return None


def _pool_tokens(builder: Builder, call: Call, dim: Any) -> Tensor | None:
    """mean / sum / amax / amin without keepdim over the dimensions that hold every position of every
    spatial axis, leaving (batch, channels) (a transformer's average over its tokens): the features are the
    channels, and every position is read, as a global pool reads them. None for any other reduction."""
    x, where = call.x, call.where
    layout = _layout(builder, x)
    axes = {_dimension(layout, d, where) for d in (dim if isinstance(dim, tuple | list) else [dim])}
    reduced = [p for a in axes for p in layout[a]]
    rest = [group for a, group in enumerate(layout) if a not in axes]
    whole = all(
        not any(p.kind in POSITIONS and p.dim == d for group in rest for p in group) for d in builder.dims
    )
    if not (
        whole
        and all(p.kind in (*POSITIONS, "extra") for p in reduced)
        and len(rest) == 2
        and rest[0] == (layouts.Part("batch"),)
        and _countable(rest[1]) == "group"
    ):
        return None
    entries = [Resize(sympy.Integer(1), None, "area") for _ in builder.dims]
    made = builder.shape_op(call.name, "resize", [Tensor(x.node, x.channels)], entries, x.channels)
    return builder.flatten(f"{call.name}_vector", made, where)  # (batch, channels), as _reduce's


def _sized(group: Sequence[layouts.Part]) -> bool:
    """A dimension whose size is a number at every input size: pieces of the channels, a window's positions
    or keys, a stack, taps."""
    return bool(group) and all(
        p.kind in ("group", "inner", "stack", "taps") or _window_keys(p) for p in group
    )


def _same_size(where: str, what: str, group: Sequence[layouts.Part], have: int, size: int) -> None:
    if have != size:
        raise SpecError(
            f"{where} broadcasts {what} against {layouts.describe((tuple(group),))}, of size {have} (PyTorch's "
            "rule: the sizes must be equal, or the parameter's 1; a tensor grown by broadcasting is not modelled)"
        )


def _slice_laid_out(builder: Builder, name: str, where: str, x: Tensor, items: list[Any]) -> Tensor | None:
    """x[:, :H, :W, :] on a laid-out tensor (Swin's crop back after padding a channels-last tensor): slices
    of dimensions that are whole spatial axes, and of the channels by integers; None when another dimension
    is indexed (the caller's rules apply)."""
    layout = _layout(builder, x)
    entries = {dim: Slice() for dim in builder.dims}
    channels = x.channels
    for axis, item in enumerate(items):
        if item == slice(None):
            continue
        group = layout[axis]
        if not isinstance(item, slice):
            return None
        if len(group) == 1 and group[0].kind == "spatial":
            entries[group[0].dim] = _slice_entry(builder, where, group[0].dim, item)
        elif _countable(group) == "group" and all(
            type(v) is int or v is None for v in (item.start, item.stop, item.step)
        ):
            size = int(_group_size(x, group, where))
            kept = len(range(size)[item])
            if kept < 1:
                raise SpecError(f"{where} slices {size} channel entries with {item!r}, leaving none")
            channels = None if channels is None else channels // size * kept
            layout = layouts.resized(layout, axis, kept)
        else:
            return None
    node = x.node
    if any(entry != Slice() for entry in entries.values()):
        plain = Tensor(x.node, x.channels)
        node = builder.shape_op(name, "slice", [plain], [entries[d] for d in builder.dims], channels).node
    return _laid_out(builder, Tensor(node, channels), layout)


def _split_laid_out(builder: Builder, call: Call, how: Any, dim: Any, chunk: bool) -> Any:
    """torch.split / chunk of a tensor whose dimensions were moved or merged (tokens, heads): along a
    dimension without positions each piece keeps every spatial axis and holds its share of that dimension
    (PyTorch's sizes, the last piece shorter); along a whole spatial axis, pieces that are slices of it."""
    x, where = call.x, call.where
    if x.flat:
        raise SpecError(f"{where} splits a flattened tensor; not modelled")
    layout = _layout(builder, x)
    axis = _dimension(layout, dim, where)
    group = layout[axis]
    if len(group) == 1 and group[0].kind == "spatial":
        return _axis_pieces(builder, call, group[0].dim, how, chunk)
    kind = _countable(group)
    if kind is None:
        raise SpecError(
            f"{where} splits dimension {dim} of {layouts.describe(layout)}, which holds "
            f"{layouts.describe((group,))}; a dimension without positions (the channels, a factor of them, a "
            "stack) or a whole spatial axis is split, not one that holds the batch or part of a spatial axis"
        )
    size = int(_group_size(x, group, where))
    what = "entries of that dimension"
    counts = _channel_pieces(size, _numbers(builder, how, where, what), chunk, where, what)
    return tuple(_share(builder, x, layout, axis, size, count, kind) for count in counts)


def _share(
    builder: Builder, x: Tensor, layout: layouts.Layout, axis: int, size: int, count: int | None, kind: str
) -> Tensor:
    """x with dimension `axis` (`size` entries of channels or of a stack) holding `count` of them (None: the
    dimension removed, one of them taken)."""
    channels = x.channels
    if kind == "group" and channels is not None:
        channels = channels // size * (1 if count is None else count)
    return _laid_out(builder, Tensor(x.node, channels), layouts.resized(layout, axis, count, kind))


def _pad_laid_out(builder: Builder, call: Call, amounts: Any, mode: str) -> Tensor:
    """F.pad of a tensor whose dimensions were moved (channels-last (batch, H, W, channels), tokens): the
    pairs run from the last dimension backwards; a pair on a whole spatial axis pads that axis, one on the
    channels (integers, constant mode) changes their count; a pair on any other dimension is refused."""
    x, where = call.x, call.where
    if mode not in PAD_MODES:
        raise SpecError(f"{where}: mode must be one of {', '.join(PAD_MODES)}, got {mode!r}")
    if x.flat:
        raise SpecError(f"{where} pads a flattened tensor; not modelled")
    layout = _layout(builder, x)
    rank = len(layout)
    values = list(amounts) if isinstance(amounts, tuple | list) else None
    if values is None or len(values) % 2 or len(values) // 2 > rank:
        raise SpecError(
            f"{where}: pad must be a sequence of (begin, end) pairs, last dimension first, at most {rank} pairs "
            f"for the {rank}-D tensor {layouts.describe(layout)}; got {amounts!r}"
        )
    pairs = len(values) // 2
    if mode != "constant" and not (pairs in (1, 2, 3) and rank in (pairs + 1, pairs + 2)):
        raise SpecError(
            f"{where}: {mode} padding of {pairs} dimensions of a {rank}-D tensor; PyTorch pads the last 1, 2 or 3 "
            "dimensions of a tensor with 1 or 2 more (its rule for non-constant padding)"
        )
    entries = {dim: Pad(sympy.Integer(0), sympy.Integer(0), mode) for dim in builder.dims}
    channels = x.channels
    for k in range(pairs):
        axis, pair = rank - 1 - k, (values[2 * k], values[2 * k + 1])
        if all(isinstance(v, int) and not isinstance(v, bool) and v == 0 for v in pair):
            continue
        group = layout[axis]
        if len(group) == 1 and group[0].kind == "spatial":
            entries[group[0].dim] = _pad_entry(builder, where, group[0].dim, pair, mode)
            continue
        if _countable(group) == "group" and mode == "constant" and all(type(v) is int for v in pair):
            size = int(_group_size(x, group, where))
            grown = size + pair[0] + pair[1]
            if grown < 1:
                raise SpecError(f"{where} pads {size} channel entries by {pair}, leaving {grown}")
            channels = None if channels is None else channels // size * grown
            layout = layouts.resized(layout, axis, grown)
            continue
        raise SpecError(
            f"{where} pads dimension {axis} of {layouts.describe(layout)}, which holds "
            f"{layouts.describe((group,))}, by {pair} ({mode}); only a whole spatial axis, or the channels by "
            "integers in constant mode, is padded"
        )
    padded = [entries[dim] for dim in builder.dims]
    node = x.node
    if any(e.begin != 0 or e.end != 0 for e in padded):
        node = builder.shape_op(call.name, "pad", [Tensor(x.node, x.channels)], padded, channels).node
    return _laid_out(builder, Tensor(node, channels), layout)


def _masked_attention(
    builder: Builder, name: str, where: str, qkv: tuple[Tensor, Tensor, Tensor], mask: Constant
) -> Tensor:
    """F.scaled_dot_product_attention(q, k, v, attn_mask=bias) with a parameter as the mask (a relative
    position bias): the products it computes, q @ k^T, the mask added by PyTorch's broadcasting (its shape
    states the number of tokens, a condition), then @ v."""
    q, k, v = qkv
    keys = _move(builder, Call(name, where, k), "transpose", (-2, -1))
    scores = _matmul(builder, f"{name}_scores", where, q, keys)
    scores = _broadcast_parameter(builder, f"{name}_mask", where, scores, mask)
    return _matmul(builder, name, where, scores, v)


def _einsum_call(
    builder: Builder, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]
) -> Tensor:
    """torch.einsum of two tensors that is a batched product (MaxViT's "B G H I D, B G H J D -> B G H I J"):
    letters in both operands and the output are batch dimensions, one letter only in the left operand and
    the output is the rows, one only in the right operand and the output the columns, one in both operands
    only the contracted dimension. Read as permutes around `_matmul`; any other equation is refused."""
    if not args or not isinstance(args[0], str) or kwargs:
        raise SpecError(f"{where}: einsum(equation, a, b) with the equation a string is modelled")
    operands = list(args[1][0] if len(args) == 2 and isinstance(args[1], tuple | list) else args[1:])
    text = args[0].replace(" ", "")
    sides, _, out = text.partition("->")
    names = sides.split(",")
    if len(names) != 2 or len(operands) != 2 or "." in text or not _arrow(text):
        raise SpecError(
            f"{where}: einsum {args[0]!r} of {len(operands)} operand(s); an explicit equation of two tensors "
            "(a -> with no ellipsis) is modelled"
        )
    a, b = (_tensor(x, where) for x in operands)
    for letters, x in zip(names, (a, b), strict=True):
        if len(set(letters)) != len(letters) or len(letters) != _rank_of(x, builder.dims):
            raise SpecError(
                f"{where}: einsum {args[0]!r}: {letters!r} must name each of the operand's "
                f"{_rank_of(x, builder.dims)} dimensions once"
            )
    left, right = names
    batch = [c for c in out if c in left and c in right]
    rows, columns = [c for c in left if c not in right], [c for c in right if c not in left]
    contracted = [c for c in left if c in right and c not in out]
    if (
        (len(rows), len(columns), len(contracted)) != (1, 1, 1)
        or sorted(out) != sorted(batch + rows + columns)
        or len(set(out)) != len(out)
    ):
        raise SpecError(
            f"{where}: einsum {args[0]!r} is not a batched product (one letter each for the rows, the columns "
            "and the contracted dimension, every other letter in both operands and the output); not modelled"
        )
    a = _move(
        builder, Call(name, where, a), "permute", tuple(left.index(c) for c in batch + rows + contracted)
    )
    b = _move(
        builder, Call(name, where, b), "permute", tuple(right.index(c) for c in batch + contracted + columns)
    )
    made = _matmul(builder, name, where, a, b)
    order = batch + rows + columns
    return _move(builder, Call(name, where, made), "permute", tuple(order.index(c) for c in out))


def _arrow(text: str) -> bool:
    return text.count("->") == 1 and text.replace("->", "").replace(",", "").isalpha()


def _matmul_call(
    builder: Builder, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]
) -> Tensor:
    """torch.matmul, the @ operator, Tensor.matmul (x @ W by a 2-D parameter: a Linear over the last
    dimension)."""
    bound = _call_arguments(("input", "other"), args, kwargs)
    a, b = bound["input"], bound["other"]
    if isinstance(a, Tensor) and isinstance(b, Constant):
        shape = parameters.shape_of(b, where)
        if len(shape) != 2:
            raise SpecError(f"{where} multiplies by a parameter of shape {shape}; a matrix (2-D) is modelled")
        features = SimpleNamespace(in_features=shape[0], out_features=shape[1])
        return _linear(builder, features, Call(name, where, a))
    return _matmul(builder, name, where, _tensor(a, where), _tensor(b, where))


def _bmm_call(builder: Builder, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Tensor:
    """torch.bmm / Tensor.bmm: two 3-D tensors, batches equal (no broadcasting)."""
    bound = _call_arguments(("input", "mat2"), args, kwargs)
    return _matmul(builder, name, where, _tensor(bound["input"], where), _tensor(bound["mat2"], where), True)


def _matmul(builder: Builder, name: str, where: str, a: Tensor, b: Tensor, bmm: bool = False) -> Tensor:
    """(.., n, k) @ (.., k, m) as PyTorch computes it: the dimensions before the last two broadcast, k is
    equal on both sides (a condition when it is a size formula), the result is (.., n, m). Positions: an
    output position reads the same position of an operand where the operand keeps it (its batch
    dimensions, the left one's rows n, the right one's columns m) and every position of the contracted
    dimension. Where both the rows and the columns hold positions along an axis (q @ k^T), the columns
    become keys of the result (an attention map's columns: not positions of it), so every one of them is
    read. A `mix` node over both operands, whose sizes must be the same formulas on every axis."""
    if a.flat or b.flat:
        raise SpecError(f"{where} multiplies a flattened tensor; not modelled")
    la, lb = _layout(builder, a), _layout(builder, b)
    if len(la) < 2 or len(lb) < 2 or (bmm and (len(la), len(lb)) != (3, 3)):
        needs = "torch.bmm needs two 3-D tensors" if bmm else "an operand of one dimension is not modelled"
        raise SpecError(f"{where} multiplies {layouts.describe(la)} by {layouts.describe(lb)}; {needs}")
    # where the rows of the left operand and the columns of the right one both hold positions along an axis
    # (q @ k^T), the columns become keys; where only the columns do (v @ attn^T), they stay positions
    keyed = {d for d in builder.dims if _holds(la[-2], d) and _holds(lb[-1], d)}
    differ = set()
    for dim in builder.dims:
        fa, fb = builder.formula(a.node, dim), builder.formula(b.node, dim)
        if fa != fb and not layouts.same_size(fa, fb):
            differ.add(dim)
            read = {len(lb) - 2, len(lb) - 1} if dim in keyed else {len(lb) - 2}
            if any(p.dim == dim for k, g in enumerate(lb) if k not in read for p in g if p.kind in POSITIONS):
                raise SpecError(
                    f"{where} multiplies tensors of different sizes along {dim} ({fa} and {fb}), keeping positions "
                    "of the right one; only a right operand whose positions there are contracted or become keys "
                    "(attention to a smaller map's keys) is modelled"
                )
    # the right operand's keys count its own node's positions (a smaller map's, where the sizes differ)
    lb = tuple(tuple(_keyed_at(p, b.node) if p.dim in differ else p for p in group) for group in lb)
    _contracted(builder, name, where, (a, la[-1]), (b, lb[-2]))
    batch = _matmul_batch(where, (a, la[:-2]), (b, lb[:-2]), bmm)
    columns = tuple(
        _as_key(part, where, lb, b.node if part.dim in differ else "") if part.dim in keyed else part
        for part in lb[-1]
    )
    parts = (*batch, _counted(a, la[-2], where), _counted(b, columns, where))
    for dim in builder.dims:
        held = sorted(
            (p.kind, p.window) for group in parts for p in group if p.kind in POSITIONS and p.dim == dim
        )
        if held not in ([], [("spatial", 1)]) and not (
            len(held) == 2 and held[0][0] == "inner" and held[1] == ("outer", held[0][1])
        ):
            raise SpecError(
                f"{where} multiplies {layouts.describe(la)} by {layouts.describe(lb)}, which puts positions along "
                f"{dim} of both operands in different dimensions of the result; not modelled"
            )
    channels = math.prod(p.window for group in parts for p in group if p.kind == "group")
    reads = [
        (
            _reads(where, la, {len(la) - 1}, dim),
            _reads(where, lb, {len(lb) - 2, len(lb) - (1 if dim in keyed else 2)}, dim),
        )
        for dim in builder.dims
    ]
    entries = [Mix(None, True, pair) for pair in reads]
    made = builder.shape_op(
        name, "mix", [Tensor(a.node, a.channels), Tensor(b.node, b.channels)], entries, channels
    )
    return _laid_out(builder, Tensor(made.node, channels), layouts.whole_channels(parts))


def _group_size_value(x: Tensor, group: tuple[layouts.Part, ...], where: str) -> SizeValue:
    """A dimension's size as a SizeValue (a number or a formula in sizes); anything else is refused."""
    value = SizeValue.of(_group_size(x, group, where))
    if value is None:
        raise SpecError(
            f"{where}: the size of dimension {layouts.describe((group,))} is not a number or a size"
        )
    return value


def _contracted(
    builder: Builder, name: str, where: str, left: tuple[Tensor, Any], right: tuple[Tensor, Any]
) -> None:
    """The contracted dimensions' sizes must be equal (PyTorch's rule): numbers now, formulas as a condition."""
    (a, ka), (b, kb) = left, right
    sa, sb = (_group_size_value(x, group, where) for x, group in ((a, ka), (b, kb)))
    if sa.constant() is not None and sb.constant() is not None:
        if sa.constant() != sb.constant():
            raise SpecError(
                f"{where} multiplies (.., n, {sa.constant()}) by (.., {sb.constant()}, m); PyTorch's rule: the "
                "contracted sizes must be equal"
            )
        return
    if builder.resolved(sa, where) == builder.resolved(sb, where):
        return
    rule = "the contracted sizes must be equal (PyTorch's rule for torch.matmul)"
    _state(builder, f"{name}_contracted", where, SizeCondition(operator.eq, sa, sb), rule)


def _matmul_batch(
    where: str, left: tuple[Tensor, layouts.Layout], right: tuple[Tensor, layouts.Layout], bmm: bool
) -> list[tuple[layouts.Part, ...]]:
    """The dimensions before the last two, broadcast as PyTorch does (aligned from the right; a dimension of
    size 1 takes the other's); for bmm they must be equal."""
    (a, ba), (b, bb) = left, right
    width = max(len(ba), len(bb))
    ga_all = ((),) * (width - len(ba)) + tuple(ba)
    gb_all = ((),) * (width - len(bb)) + tuple(bb)
    out: list[tuple[layouts.Part, ...]] = []
    for ga, gb in zip(ga_all, gb_all, strict=True):
        if ga == gb:
            out.append(_counted(a, ga, where))
            continue
        sa, sb = (_group_size_value(x, g, where) for x, g in ((a, ga), (b, gb)))
        if not bmm and sb.constant() == 1:
            out.append(_counted(a, ga, where))
        elif not bmm and sa.constant() == 1:
            out.append(_counted(b, gb, where))
        elif sa.constant() is not None and sa.constant() == sb.constant() and not _positions(ga + gb):
            out.append(_counted(a, ga, where))
        else:
            raise SpecError(
                f"{where} multiplies tensors whose leading dimensions {layouts.describe((ga,))} and "
                f"{layouts.describe((gb,))} differ (PyTorch's rule: equal, or one of them 1"
                f"{'' if not bmm else '; bmm: equal'}), or are not known to be equal"
            )
    return out


def _holds(group: Sequence[layouts.Part], dim: str) -> bool:
    """The dimension holds positions along the spatial axis `dim`."""
    return any(p.kind in POSITIONS and p.dim == dim for p in group)


def _positions(group: Sequence[layouts.Part]) -> bool:
    return any(p.kind in (*POSITIONS, "keys", "batch") for p in group)


def _counted(x: Tensor, group: Sequence[layouts.Part], where: str) -> tuple[layouts.Part, ...]:
    """A dimension with x's whole channels written as the piece of that count (the result of a product
    can hold pieces of both operands' channels)."""
    if not any(p.kind == "channels" for p in group):
        return tuple(group)
    if x.channels is None:
        raise SpecError(f"{where} reads the channel count, which is unknown; give it in the input shape")
    return tuple(layouts.Part("group", window=x.channels) if p.kind == "channels" else p for p in group)


def _keyed_at(part: layouts.Part, node: str) -> layouts.Part:
    """A key that counts `node`'s positions when it counts its own tensor's; a position is left as it is."""
    return dataclasses.replace(part, node=node) if part.kind == "keys" and not part.node else part


def _as_key(part: layouts.Part, where: str, layout: layouts.Layout, node: str = "") -> layouts.Part:
    """A part of the right operand's columns in the result: its positions become keys (of `node`'s
    positions, where they are not the result's)."""
    if part.kind == "spatial":
        return layouts.Part("keys", part.dim, node=node)
    if part.kind == "inner":
        return layouts.Part("keys", part.dim, part.window)
    if part.kind in ("outer", "batch", "taps"):
        raise SpecError(
            f"{where} multiplies by {layouts.describe(layout)}, whose last dimension holds {part}; not modelled"
        )
    return part


def _reads(where: str, layout: layouts.Layout, consumed: set[int], dim: str) -> int:
    """Which positions along `dim` of an operand an output position reads (shapeops.Mix.reads): 1 the same
    one when the operand keeps every part of the axis, 0 every one when the product consumes them all, the
    window w when it consumes the window's inner positions and keeps the window (a window partition)."""
    found = [(k, p) for k, group in enumerate(layout) for p in group if p.kind in POSITIONS and p.dim == dim]
    used = [p for k, p in found if k in consumed]
    kept = [p for k, p in found if k not in consumed]
    if not found:
        raise SpecError(
            f"{where} multiplies {layouts.describe(layout)}, which holds no position along {dim}; not modelled"
        )
    if not used:
        return 1
    if not kept:
        return 0
    if (
        len(used) == len(kept) == 1
        and used[0].kind == "inner"
        and kept[0] == layouts.Part("outer", dim, used[0].window)
    ):
        return used[0].window
    raise SpecError(
        f"{where} multiplies {layouts.describe(layout)}, reading part of the positions along {dim} "
        f"({', '.join(map(str, used))}); not modelled"
    )


# Tensors made from sizes alone (torch.zeros((B, H, W)), torch.arange(W), torch.ones_like(x)): their values do not
# depend on the input's, so they reach no input position; their shape is followed while they are reshaped and
# combined with numbers, and where one meets a tensor of the model PyTorch's broadcasting rule gives conditions.

FACTORIES = frozenset("zeros ones empty full rand randn arange linspace".split())
# the factories that take their sizes one by one too (torch.zeros(b, 1, h, w))
SIZED_FACTORIES = ("zeros", "ones", "empty", "rand", "randn")
LIKE_FACTORIES = frozenset("zeros_like ones_like empty_like full_like rand_like randn_like".split())


@dataclass(frozen=True)
class Sized:
    """A tensor that does not depend on the input, whose shape holds sizes computed from the input's shape."""

    shape: tuple[SizeValue, ...]


def _factory(builder: Builder, target: Any, where: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """The tensor a torch factory makes when a size is computed from the input's shape (None for any other call,
    and for sizes that are all numbers: those are computed by PyTorch where they are read, or refused there)."""
    name = getattr(target, "__name__", None)
    if (
        getattr(target, "__module__", None) not in (_torch().__name__, None)  # torch's own factories
        or name not in FACTORIES | LIKE_FACTORIES
    ):
        return None
    shape: Sequence[Any]
    if name in LIKE_FACTORIES:
        x = args[0] if args else kwargs.get("input")
        if not isinstance(x, Tensor) or x.flat:
            return None
        whole = Shape(x, builder.dims)
        shape = [_shape_item(whole, k, where) for k in range(_rank_of(x, builder.dims))]
    elif name == "arange":
        numbers = list(args) + [kwargs[k] for k in ("start", "end", "step") if k in kwargs]
        start, end, step = ([0, *numbers, 1] if len(numbers) == 1 else [*numbers, 1])[:3]
        bounds = [_as_size(v, where).expr for v in (start, end, step)]
        shape = [SizeValue(sympy.ceiling((bounds[1] - bounds[0]) / bounds[2]))]
    elif name == "linspace":
        shape = [args[2] if len(args) > 2 else kwargs.get("steps")]
    else:
        shape = _size_list(builder, args[:1] if name == "full" else args, kwargs, where)
    sizes = tuple(_as_size(v, where) for v in shape)
    if all(v.constant() is not None for v in sizes):
        return None
    return Sized(sizes)


# x.new_zeros(size): a factory with x's dtype and device
NEW_FACTORIES = frozenset("new_zeros new_ones new_empty new_full".split())


def _new_factory(
    builder: Builder, target: str, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]
) -> Any:
    """The tensor x.new_zeros(...) and its kind make: Sized where a size is computed from the input's shape,
    else the constant PyTorch makes (its values held, as any constant's)."""
    given = args[1:2] if target == "new_full" else args[1:]
    sizes = tuple(_as_size(v, where) for v in _size_list(builder, given, kwargs, where))
    numbers = tuple(v.constant() for v in sizes)
    if not all(isinstance(n, int) for n in numbers):
        return Sized(sizes)
    fill = list(args[2:3]) if target == "new_full" else []
    options = {key: value for key, value in kwargs.items() if key != "size"}
    empty = Constant((), _torch().zeros(()))
    return _computed("call_method", target, name, [empty, numbers, *fill], options)


def _size_list(builder: Builder, given: Sequence[Any], kwargs: dict[str, Any], where: str) -> list[Any]:
    """A factory's sizes, given one by one, as one tuple or list, as a shape (x.shape), or as `size=`."""
    if "size" in kwargs:
        given = [kwargs["size"]]
    if len(given) == 1 and isinstance(given[0], Shape):
        whole = given[0]
        return [_shape_item(whole, k, where) for k in range(_rank_of(whole.x, builder.dims))]
    if len(given) == 1 and isinstance(given[0], tuple | list):
        return list(given[0])
    return list(given)


def _as_size(value: Any, where: str) -> SizeValue:
    size = SizeValue.of(value)
    if size is None:
        raise SpecError(f"{where}: a size must be an integer or a size of a tensor, got {value!r}")
    return size


def _sized_function(
    builder: Builder,
    target: Any,
    kind: str | None,
    name: str,
    where: str,
    args: Sequence[Any],
    kwargs: dict[str, Any],
) -> Any:
    """A function of a tensor made from sizes: elementwise (the shapes broadcast), shape-preserving, or a
    refusal naming the sizes."""
    if kind == "preserve" or getattr(target, "__name__", None) in ("sin", "cos", "exp", "log", "sign"):
        return args[0] if isinstance(args[0], Sized) else _tensor(args[0], where)
    if kind == "elementwise" or target in SIZE_OPERATIONS:
        return _sized_elementwise(builder, name, where, list(args[:2]))
    if kind == "unsqueeze":
        return _sized_method(builder, "unsqueeze", name, where, args, kwargs)
    if kind == "cat":
        bound = _bind("cat", args, kwargs)
        parts = list(bound["tensors"])
        if not any(isinstance(part, Tensor) for part in parts):
            return _sized_concat(builder, where, parts, bound["dim"] or 0)
        return _concat_sized(builder, name, where, parts, bound["dim"] or 0)
    if target is builtins.getattr and len(args) == 2 and isinstance(args[0], Sized):
        return _getattr(builder, args, where)
    raise _sized_refusal(builder, where, next(v for v in _leaves((args, kwargs)) if isinstance(v, Sized)))


def _concat_sized(builder: Builder, name: str, where: str, parts: list[Any], dim: Any) -> Tensor:
    """torch.cat along the channels of the model's tensors and tensors made from sizes (zeros of the input's
    size, CoordConv's coordinate maps): each made one must have the model's tensors' sizes on every spatial axis
    (torch.cat's rule: every dimension but the concatenated one agrees) and adds its channels. It reads no
    input position, so it stands in the concatenation as the first model tensor checked to its sizes (whose
    positions the concatenation reads anyway)."""
    rank = 2 + len(builder.dims)
    tensors = [part for part in parts if isinstance(part, Tensor)]
    made = next((part for part in parts if isinstance(part, Sized)), None)
    if (
        made is None
        or not tensors
        or not isinstance(dim, int)
        or dim % rank != 1
        or any(t.flat or t.layout is not None for t in tensors)
    ):
        raise _sized_refusal(builder, where, made or Sized(()))
    x = tensors[0]
    rule = (
        "torch.cat needs a tensor made from sizes to have the concatenated tensors' sizes on every other axis"
    )
    out: list[Tensor] = []
    for part in parts:
        if not isinstance(part, Sized):
            out.append(_tensor(part, where))
            continue
        if len(part.shape) != rank:
            raise SpecError(
                f"{where} concatenates a tensor made from sizes {_shown(builder, part.shape)} with {rank}-D "
                "tensors (torch.cat's rule: the same number of dimensions)"
            )
        channels = part.shape[1].constant()
        if not isinstance(channels, int) or part.shape[0].expr not in (BATCH_SIZE, 1):
            raise SpecError(
                f"{where} concatenates a tensor made from sizes {_shown(builder, part.shape)} whose batch or "
                "channels are no known number; not modelled"
            )
        checks: list[Check] = []
        for dim_name, size in zip(builder.dims, part.shape[2:], strict=True):
            target = shape_formula(builder, size, dim_name, where, "a concatenated size")
            same = builder.resolved(size, where) == builder.formula(x.node, dim_name)
            checks.append(Check(None if same else eq(ref(x.node), target), rule))
        if any(check.condition is not None for check in checks):
            checked = builder.shape_op(
                f"{name}_sizes", "check", [Tensor(x.node, x.channels)], checks, x.channels
            )
            out.append(Tensor(checked.node, channels))
        else:
            out.append(Tensor(x.node, channels))
    return _concat(builder, name, where, out, 1)


def _sized_method(
    builder: Builder, target: str, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]
) -> Any:
    """A method of a tensor made from sizes: shape-preserving ones, elementwise ones, unsqueeze, and a view or
    reshape to sizes whose product is the same."""
    x: Sized = args[0]
    if target in PRESERVING_METHODS or target in ("sin", "cos", "exp", "log", "float", "bool"):
        return x
    if target in ELEMENTWISE_METHODS:
        return _sized_elementwise(builder, name, where, list(args[:2]))
    if target in ("size", "dim"):
        dim = args[1] if len(args) > 1 else kwargs.get("dim")
        known = _sized_shape(x)
        if target == "dim" or dim is None:
            return len(known) if target == "dim" else known
        if not isinstance(dim, int) or not -len(known) <= dim < len(known):
            raise SpecError(f"{where} reads dimension {dim!r} of a tensor with {len(known)} dimensions")
        return known[dim]
    if target == "unsqueeze":
        dim = args[1] if len(args) > 1 else kwargs.get("dim")
        rank = len(x.shape) + 1
        if not isinstance(dim, int) or not -rank <= dim < rank:
            raise SpecError(f"{where}: unsqueeze({dim!r}) of a tensor with {len(x.shape)} dimensions")
        at = dim % rank
        return Sized((*x.shape[:at], SizeValue(sympy.Integer(1)), *x.shape[at:]))
    if target in ("view", "reshape"):
        shape = args[1] if len(args) == 2 and isinstance(args[1], tuple | list) else args[1:]
        before = sympy.Mul(*(v.expr for v in x.shape))
        if list(shape).count(-1) == 1:
            # -1: the product of the sizes over the others', where that divides out at every size
            others = sympy.Mul(*(_as_size(v, where).expr for v in shape if v != -1))
            rest = sympy.cancel(before / others)
            if sympy.fraction(rest)[1] == 1:
                shape = [SizeValue(rest) if v == -1 else v for v in shape]
        sizes = tuple(_as_size(v, where) for v in shape)
        if not layouts.same_size(sympy.Mul(*(v.expr for v in sizes)), before):
            raise SpecError(
                f"{where}: view/reshape of a tensor made from sizes, {_shown(builder, x.shape)}, to "
                f"{_shown(builder, sizes)}: the sizes' products are not the same at every size (-1 is not read here)"
            )
        return Sized(sizes)
    if target in ("permute", "transpose", "flatten"):
        return _sized_moved(where, target, x, args[1:], kwargs)
    if target == "expand":
        shape = args[1] if len(args) == 2 and isinstance(args[1], tuple | list) else args[1:]
        return Sized(_expanded(builder, where, x.shape, tuple(_as_size(v, where) for v in shape)))
    raise _sized_refusal(builder, where, x)


def _sized_concat(builder: Builder, where: str, parts: Sequence[Any], dim: Any) -> Sized:
    """torch.cat of tensors made from sizes and parameters (a class token's position put before the resized
    ones): the sizes along `dim` add; every other size must be the same (torch.cat's rule)."""
    shapes = []
    for part in parts:
        if isinstance(part, Constant) and part.shape is not None and None not in part.shape:
            shapes.append(tuple(SizeValue(sympy.Integer(n)) for n in part.shape if n is not None))
        elif isinstance(part, Sized):
            shapes.append(part.shape)
        else:
            raise _sized_refusal(builder, where, next(p for p in parts if isinstance(p, Sized)))
    rank = len(shapes[0])
    if any(len(shape) != rank for shape in shapes) or not isinstance(dim, int) or not -rank <= dim < rank:
        raise SpecError(
            f"{where} concatenates tensors of {sorted({len(x) for x in shapes})} dimensions along {dim!r}"
        )
    axis = dim % rank
    for k in range(rank):
        if k != axis and any(not layouts.same_size(x[k].expr, shapes[0][k].expr) for x in shapes):
            raise SpecError(
                f"{where} concatenates {', '.join(_shown(builder, x) for x in shapes)} along {axis}: the other "
                "sizes must be the same (torch.cat's rule); not modelled where they may differ"
            )
    joined = SizeValue(sympy.Add(*(x[axis].expr for x in shapes)))
    return Sized((*shapes[0][:axis], joined, *shapes[0][axis + 1 :]))


def _sized_moved(where: str, target: str, x: Sized, rest: Sequence[Any], kwargs: dict[str, Any]) -> Sized:
    """permute, transpose or flatten of a tensor made from sizes: its shape reordered or multiplied."""
    rank = len(x.shape)
    try:
        if target == "permute":
            order = rest[0] if len(rest) == 1 and isinstance(rest[0], tuple | list) else rest
            axes = [operator.index(a) % rank for a in (order or kwargs.get("dims", ()))]
            if sorted(axes) != list(range(rank)):
                raise SpecError(f"{where}: permute({list(order)}) of a tensor with {rank} dimensions")
            return Sized(tuple(x.shape[a] for a in axes))
        if target == "transpose":
            i, j = (operator.index(a) % rank for a in (*rest, *kwargs.values())[:2])
            shape = list(x.shape)
            shape[i], shape[j] = shape[j], shape[i]
            return Sized(tuple(shape))
        ends = [*rest, *kwargs.values()]
        start = operator.index(ends[0]) % rank if ends else 0
        end = operator.index(ends[1]) % rank if len(ends) > 1 else rank - 1
    except (TypeError, ValueError, ZeroDivisionError):
        raise SpecError(f"{where}: {target} of a tensor made from sizes with dimensions {rest!r}") from None
    merged = SizeValue(sympy.Mul(*(v.expr for v in x.shape[start : end + 1])))
    return Sized((*x.shape[:start], merged, *x.shape[end + 1 :]))


def _resized_constant(
    builder: Builder, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]
) -> Sized:
    """F.interpolate of a parameter to sizes computed from the input's (a position embedding resized to the
    patch grid, timm's dynamic_img_size): a tensor made from sizes, whose values reach no input position.
    PyTorch refuses an output size below 1: a condition of the network on each spatial axis it resizes."""
    bound = _bind("interpolate", args, kwargs)
    x: Constant = bound["input"]
    shape = x.shape
    if shape is None or None in shape or len(shape) < 3 or bound["size"] is None:
        raise SpecError(
            f"{where} resizes a parameter of shape {shape} by a scale; only a resize to sizes computed from the "
            "input's is modelled"
        )
    rank = len(shape) - 2
    asked = bound["size"]
    sizes = tuple(asked) if isinstance(asked, tuple | list) else (asked,) * rank
    if len(sizes) != rank:
        raise SpecError(f"{where}: {len(sizes)} sizes for a parameter with {rank} spatial dimensions")
    made = tuple(_as_size(v, where) for v in sizes)
    rule = "interpolate needs each output size >= 1 (PyTorch's rule)"
    formulas = [
        shape_formula(builder, size, dim, where, "an interpolated size")
        if rank == len(builder.dims)
        else None
        for size, dim in zip(made, builder.dims, strict=False)
    ]
    if any(f is None and size.constant() is None for f, size in zip(formulas, made, strict=False)):
        raise SpecError(
            f"{where} resizes a parameter to sizes {_shown(builder, made)} of other axes; not modelled"
        )
    if any((n := size.constant()) is not None and n < 1 for size in made):
        raise SpecError(f"{where}: {rule}, got {_shown(builder, made)}")
    checks = [
        Check(None if f is None or f.is_Integer or _never_empty(builder, f, dim) else ge(f, 1), rule)
        for f, dim in zip(formulas, builder.dims, strict=False)
    ]
    if any(check.condition is not None for check in checks):
        builder.shape_op(f"{name}_sizes", "check", [Tensor("input", None)], checks, None)
    return Sized((SizeValue(sympy.Integer(shape[0])), SizeValue(sympy.Integer(shape[1])), *made))


def _never_empty(builder: Builder, formula: sympy.Expr, dim: str) -> bool:
    """Whether a size formula (in nodes' sizes on `dim`) is at least 1 wherever the nodes made so far run (a
    patch grid's H // 16 past the patch convolution), proved, so that `formula >= 1` needs no check."""
    from ...logic.prove import proved

    network = _made_so_far(builder)
    sizes, conditions = network.sizes(dim), network.conditions(dim)
    claim = ge(formula.xreplace({ref(name): sizes[name] for name in refs(formula)}), 1)
    return proved(claim, [c for c, _ in conditions])


def _multiple_so_far(builder: Builder, size: sympy.Expr, dim: str, window: int) -> bool:
    """Whether `size` (of axis `dim`) is a multiple of `window` wherever the network made so far is defined
    (proved by Z3 under that axis' conditions; a solver's unknown is no)."""
    from ...logic.prove import proved

    given = [c for c, _ in _made_so_far(builder).conditions(dim)]
    return proved(eq(mod(size, window), 0), [*given, *(ge(s, 1) for s in size.free_symbols)])


def _equal_so_far(builder: Builder) -> Callable[[sympy.Expr, sympy.Expr], bool]:
    """Equality of two size formulas wherever the network made so far is defined: at every size, or proved
    under the conditions of every axis so far (built once, when first needed)."""
    given: list[sympy.Basic] = []

    def equal(a: sympy.Expr, b: sympy.Expr) -> bool:
        if layouts.same_size(a, b):
            return True
        if not given:
            network = _made_so_far(builder)
            given.extend(c for dim in builder.dims for c, _ in network.conditions(dim))
        return layouts.same_size_given(a, b, given)

    return equal


# The network made so far per builder and node count: a builder only appends nodes, so the count names it.
_MADE: weakref.WeakKeyDictionary[Builder, tuple[int, Network]] = weakref.WeakKeyDictionary()


def _made_so_far(builder: Builder) -> Network:
    """The network made so far, its last node the output, built once until a node is added (the questions of a
    view, a resized parameter and a comparison of sizes ask it in turn, and it keeps its sizes and conditions)."""
    made = _MADE.get(builder)
    if made is None or made[0] != len(builder.nodes):
        made = (len(builder.nodes), _so_far(builder, builder.nodes[-1].name))
        _MADE[builder] = made
    return made[1]


def _so_far(builder: Builder, last: str) -> Network:
    """The network made so far, node `last` its output: where the model runs up to there. The guards of the
    sides a path does not take (branches.NOT_TAKEN) are left out: they do not hold on this path."""
    nodes = tuple(
        Node(node.name, "identity", node.inputs[:1]) if _not_taken(node) else node for node in builder.nodes
    )
    return Network((*nodes, Node("_so_far", "identity", (last,))), builder.dims, builder.fixed)


def _not_taken(node: Node) -> bool:
    """Whether a check node is the guard of a side its path does not take."""
    return node.op == "check" and any(NOT_TAKEN in getattr(entry, "rule", "") for _, entry in node.axes)


def _sized_shape(x: Sized) -> tuple[int | SizeValue, ...]:
    """x.shape of a tensor made from sizes: a number where the size is one (SegFormer's encoder checks that
    a placeholder it made has 0 channels), a size formula otherwise."""
    return tuple(c if isinstance(c := v.constant(), int) else v for v in x.shape)


def _expanded(
    builder: Builder, where: str, shape: tuple[SizeValue, ...], sizes: tuple[SizeValue, ...]
) -> tuple[SizeValue, ...]:
    """Tensor.expand of a tensor made from sizes: -1 keeps a size, a size of 1 takes the one asked, any other
    must be the one asked at every size (PyTorch's rule); new leading dimensions take theirs."""
    if len(sizes) < len(shape):
        raise SpecError(f"{where}: expand to {len(sizes)} dimensions of a tensor with {len(shape)}")
    out = list(sizes[: len(sizes) - len(shape)])
    for have, want in zip(shape, sizes[len(sizes) - len(shape) :], strict=True):
        if want.constant() == -1 or layouts.same_size(have.expr, want.expr):
            out.append(have)
        elif have.constant() == 1:
            out.append(want)
        else:
            raise SpecError(
                f"{where}: expand of a tensor made from sizes {_shown(builder, shape)} to {_shown(builder, sizes)}: "
                "a size other than 1 must be the one asked at every size (PyTorch's rule); not modelled"
            )
    return tuple(out)


def _sized_refusal(builder: Builder, where: str, x: Sized) -> SpecError:
    return SpecError(
        f"{where} reads a tensor made from sizes computed from the input's shape {_shown(builder, x.shape)} (as "
        "a positional encoding built from the sizes is): its values do not depend on the input, and it is read "
        "while it is reshaped, combined with numbers and broadcast against the model's tensors; this operation "
        "on it is not modelled"
    )


def _sized_elementwise(builder: Builder, name: str, where: str, operands: list[Any]) -> Any:
    """An elementwise op with a tensor made from sizes: with numbers or another such tensor, the broadcast
    shape; with a tensor of the model, that tensor broadcast against the sizes (PyTorch's rule per axis: equal,
    or one of them 1)."""
    tensors = [v for v in operands if isinstance(v, Tensor)]
    sized = [v for v in operands if isinstance(v, Sized)]
    if len(operands) < 2:
        return sized[0]
    if not tensors:
        if any(isinstance(v, Constant) and any(n != 1 for n in (v.shape or ())) for v in operands):
            raise _sized_refusal(builder, where, sized[0])
        if len(sized) == 1:
            return sized[0]
        return Sized(_broadcast_sizes(builder, where, sized[0].shape, sized[1].shape))
    x, c = tensors[0], sized[0]
    if x.layout is not None and not x.flat:
        return _sized_against_layout(builder, where, x, c)
    if x.flat or x.layout is not None:
        raise _sized_refusal(builder, where, c)
    rank = 2 + len(builder.dims)
    if len(c.shape) > rank:
        raise SpecError(
            f"{where}: a tensor made from sizes with {len(c.shape)} dimensions {_shown(builder, c.shape)} broadcast "
            f"against the model's {rank}-D tensor would add dimensions; not modelled"
        )
    aligned = dict(zip(range(rank - len(c.shape), rank), c.shape, strict=True))
    rule = (
        "a tensor made from sizes must broadcast against the model's tensor (PyTorch's rule: equal or 1; "
        "an empty or negative size is refused)"
    )
    targets: dict[str, sympy.Expr] = {}
    for axis, size in aligned.items():
        if size.constant() == 1:
            continue
        if axis == 0:
            if size.expr != BATCH_SIZE:
                raise SpecError(f"{where}: a size {_shown(builder, size)} where the batch is; not modelled")
            continue
        if axis == 1:
            if x.channels is None or size.constant() != x.channels:
                raise SpecError(
                    f"{where}: a tensor made from sizes has {_shown(builder, size)} where the model's tensor has "
                    f"{x.channels} channels (PyTorch's rule: equal or 1)"
                )
            continue
        dim = builder.dims[axis - 2]
        if builder.resolved(size, where) != builder.formula(x.node, dim):
            targets[dim] = shape_formula(builder, size, dim, where, "a broadcast size")
    return _broadcast_to(builder, name, where, x, targets, rule, mutual=True)


def _sized_against_layout(builder: Builder, where: str, x: Tensor, c: Sized) -> Tensor:
    """A tensor made from sizes broadcast against a tensor whose dimensions were moved (a resized position
    embedding added to tokens): each of its sizes must be 1 or the tensor's size there at every input size, so
    that the sum is the tensor's shape; a size that may differ would relate the axes, and is refused."""
    layout = _layout(builder, x)
    if len(c.shape) > len(layout):
        raise SpecError(
            f"{where}: a tensor made from sizes {_shown(builder, c.shape)} broadcast against "
            f"{layouts.describe(layout)} would add dimensions; not modelled"
        )
    for group, size in zip(layout[len(layout) - len(c.shape) :], c.shape, strict=True):
        if size.constant() == 1:
            continue
        have = SizeValue.of(_group_size(x, group, where))
        if have is None or not layouts.same_size(
            builder.resolved(have, where), builder.resolved(size, where)
        ):
            raise SpecError(
                f"{where}: a tensor made from sizes {_shown(builder, c.shape)} broadcast against "
                f"{layouts.describe(layout)}: its size {_shown(builder, size)} where the tensor has "
                f"{layouts.describe((group,))} is not 1 and not that size at every input size (PyTorch's rule: equal "
                "or 1); not modelled"
            )
    return x


def _broadcast_sizes(
    builder: Builder, where: str, a: tuple[SizeValue, ...], b: tuple[SizeValue, ...]
) -> tuple[SizeValue, ...]:
    """Two shapes of tensors made from sizes, broadcast: each pair equal or one of them 1 at every size."""
    one = SizeValue(sympy.Integer(1))
    width = max(len(a), len(b))
    a, b = (one,) * (width - len(a)) + a, (one,) * (width - len(b)) + b
    out = []
    for p, q in zip(a, b, strict=True):
        if p.constant() == 1 or layouts.same_size(p.expr, q.expr):
            out.append(q)
        elif q.constant() == 1:
            out.append(p)
        else:
            raise SpecError(
                f"{where}: tensors made from sizes of shapes {_shown(builder, a)} and {_shown(builder, b)} do not "
                "broadcast at every size; not modelled"
            )
    return tuple(out)


# Read by name: torch.roll / Tensor.roll, torch.narrow / Tensor.narrow, Tensor.expand_as, F.linear, F.unfold
# ("im2col": Tensor.unfold is another operator, `_unfold_axis`).
TENSOR_OPERATORS: dict[str, Callable[[Builder, str, str, Sequence[Any], dict[str, Any]], Any]] = {
    "roll": _roll_call,
    "narrow": _narrow_call,
    "expand_as": _expand_as_call,
    "linear": _linear_function,
    "im2col": _unfold_function,
    "attention": _dot_product_attention,
    "matmul": _matmul_call,
    "bmm": _bmm_call,
    "einsum": _einsum_call,
    "flip": _flip_call,
    "lppool": _lp_pool,
    "maxpoolindices": _max_pool_with_indices,
}
