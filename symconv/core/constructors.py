"""Layers written as the frameworks' own code writes them, read into specs of the framework's convention.

``nn.Conv2d(3, 64, 3, stride=2, padding=1)`` is ``torch.conv(k=3, s=2, p=1)``; ``layers.Conv2D(64, 3,
strides=2, padding="same")`` is ``keras.conv(k=3, s=2, p=same)``; ``helper.make_node("MaxPool", ["x"], ["y"],
kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])`` is ``onnx.maxpool(k=3, s=2, p=1)``. Positional
arguments bind in the library's order. Arguments that do not change sizes (channels, groups, bias, activation,
data_format, initializers, names) are checked where they can be (channels divisible by groups) and otherwise
left out; an argument whose value symconv cannot model (padding_mode='reflect', count_include_pad=False, a
bilinear upsample) is a SpecError naming it. Values that differ between axes (kernel_size=(1, 7)) are kept
per axis; equal ones are one value. A tuple's length must match the class's axes (Conv2d: 2), and every list
of an ONNX node its kernel's axes. The text is walked as a syntax tree,
never evaluated.

>>> from .parse import parse_spec
>>> spec = parse_spec("nn.Conv2d(3, 64, 3, stride=2, padding=1)")
>>> spec.framework, spec.kind, spec.args
('torch', 'conv', (('k', 3), ('s', 2), ('p', 1)))
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, cast

import sympy

from .hints import closest, did_you_mean
from .parse import PerAxis, per_axis_pads

# What an argument becomes: a spec parameter (k, s, p, d, a, ceil, scale, size, r), a channel count or group
# count checked and dropped, or a literal dropped as it does not change sizes; `only` lists the values symconv
# models (anything else is refused).
PARAMETER, CHANNELS, GROUPS, IGNORED, ONLY = "parameter", "channels", "groups", "ignored", "only"


@dataclass(frozen=True)
class Argument:
    role: str
    target: str = ""  # the spec parameter, for PARAMETER
    only: tuple[Any, ...] = ()  # the accepted values, for ONLY
    why: str = ""  # why other values are refused


@dataclass(frozen=True)
class Constructor:
    """One library class: where it lives, its parameters in the library's order, and what each becomes."""

    library: str  # torch | keras | onnx: also the spec's framework
    kind: str
    prefixes: tuple[tuple[str, ...], ...]
    order: tuple[str, ...]
    arguments: dict[str, Argument]
    required: tuple[str, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)  # spec values the library's defaults stand for

    def qualified(self, name: str) -> str:
        return ".".join((*max(self.prefixes, key=len), name))


def _p(target: str) -> Argument:
    return Argument(PARAMETER, target)


def _only(*values: Any, why: str) -> Argument:
    return Argument(ONLY, only=values, why=why)


_IGNORE = Argument(IGNORED)
_TORCH = ((), ("nn",), ("torch", "nn"))
_KERAS = ((), ("layers",), ("keras", "layers"), ("tf", "keras", "layers"))
_TORCH_DEVICE = {"device": _IGNORE, "dtype": _IGNORE}
_ZEROS = _only("zeros", why="symconv models zero padding only")


def _torch_conv(transposed: bool) -> Constructor:
    order = ["in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"]
    if transposed:
        order = [*order[:5], "output_padding", "groups", "bias", "dilation"]
    arguments = {
        "in_channels": Argument(CHANNELS),
        "out_channels": Argument(CHANNELS),
        "kernel_size": _p("k"),
        "stride": _p("s"),
        "padding": _p("p"),
        "dilation": _p("d"),
        "output_padding": _p("a"),
        "groups": Argument(GROUPS),
        "bias": _IGNORE,
        "padding_mode": _ZEROS,
        **_TORCH_DEVICE,
    }
    if not transposed:
        del arguments["output_padding"]
    kind = "convT" if transposed else "conv"
    required = ("in_channels", "out_channels", "kernel_size")
    return Constructor(
        "torch", kind, _TORCH, (*order, "padding_mode", "device", "dtype"), arguments, required
    )


def _torch_pool(kind: str) -> Constructor:
    if kind == "maxpool":
        order = ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode")
        extra = {"dilation": _p("d"), "return_indices": _IGNORE}
    else:
        order = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")
        extra = {
            "count_include_pad": _only(
                True, why="PyTorch's avgpool in symconv counts the padding (the default)"
            ),
            "divisor_override": _only(None, why="symconv divides by the window as PyTorch does by default"),
        }
    arguments = {
        "kernel_size": _p("k"),
        "stride": _p("s"),
        "padding": _p("p"),
        "ceil_mode": _p("ceil"),
        **extra,
    }
    return Constructor("torch", kind, _TORCH, order, arguments, ("kernel_size",))


def _keras_conv(transposed: bool) -> Constructor:
    order = ["filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups"]
    if transposed:
        order = [
            "filters",
            "kernel_size",
            "strides",
            "padding",
            "output_padding",
            "data_format",
            "dilation_rate",
        ]
    order += ["activation", "use_bias"]
    arguments = {
        "filters": Argument(CHANNELS),
        "kernel_size": _p("k"),
        "strides": _p("s"),
        "padding": _p("p"),
        "dilation_rate": _p("d"),
        "groups": Argument(GROUPS),
        "output_padding": _p("a"),
        **_KERAS_IGNORED,
    }
    if transposed:
        del arguments["groups"]
    else:
        del arguments["output_padding"]
    kind = "convT" if transposed else "conv"
    return Constructor("keras", kind, _KERAS, tuple(order), arguments, tuple(order[:2]))


_KERAS_IGNORED = {
    name: _IGNORE
    for name in (
        "data_format",
        "activation",
        "use_bias",
        "kernel_initializer",
        "bias_initializer",
        "kernel_regularizer",
        "bias_regularizer",
        "activity_regularizer",
        "kernel_constraint",
        "bias_constraint",
        "name",
        "dtype",
        "trainable",
    )
}


def _keras_pool(kind: str) -> Constructor:
    arguments = {"pool_size": _p("k"), "strides": _p("s"), "padding": _p("p"), **_KERAS_IGNORED}
    # Keras pools 2 by 2 unless told otherwise (pool_size=(2, 2) in every Pooling class).
    order = ("pool_size", "strides", "padding", "data_format", "name")
    return Constructor("keras", kind, _KERAS, order, arguments, defaults={"k": 2})


_NEAREST = _only("nearest", why="symconv models nearest-neighbour resampling only")

CONSTRUCTORS: dict[str, Constructor] = {}
for _n in (1, 2, 3):
    CONSTRUCTORS |= {
        f"Conv{_n}d": _torch_conv(False),
        f"ConvTranspose{_n}d": _torch_conv(True),
        f"MaxPool{_n}d": _torch_pool("maxpool"),
        f"AvgPool{_n}d": _torch_pool("avgpool"),
        f"AdaptiveAvgPool{_n}d": Constructor(
            "torch", "adaptivepool", _TORCH, ("output_size",), {"output_size": _p("size")}, ("output_size",)
        ),
        f"AdaptiveMaxPool{_n}d": Constructor(
            "torch",
            "adaptivepool",
            _TORCH,
            ("output_size", "return_indices"),
            {"output_size": _p("size"), "return_indices": _IGNORE},
            ("output_size",),
        ),
        f"Conv{_n}D": _keras_conv(False),
        f"Conv{_n}DTranspose": _keras_conv(True),
        f"MaxPooling{_n}D": _keras_pool("maxpool"),
        f"MaxPool{_n}D": _keras_pool("maxpool"),
        f"AveragePooling{_n}D": _keras_pool("avgpool"),
        f"AvgPool{_n}D": _keras_pool("avgpool"),
        f"UpSampling{_n}D": Constructor(
            "keras",
            "upsample",
            _KERAS,
            ("size", "data_format", "interpolation"),
            {"size": _p("scale"), "interpolation": _NEAREST, **_KERAS_IGNORED},
            defaults={"scale": 2},
        ),
    }
CONSTRUCTORS |= {
    "Upsample": Constructor(
        "torch",
        "upsample",
        _TORCH,
        ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"),
        {
            "size": _p("size"),
            "scale_factor": _p("scale"),
            "mode": _NEAREST,
            "align_corners": _only(None, False, why="nearest resampling has no corners to align"),
            "recompute_scale_factor": _IGNORE,
        },
    ),
    "PixelShuffle": Constructor(
        "torch", "pixelshuffle", _TORCH, ("upscale_factor",), {"upscale_factor": _p("r")}, ("upscale_factor",)
    ),
    "PixelUnshuffle": Constructor(
        "torch",
        "pixelunshuffle",
        _TORCH,
        ("downscale_factor",),
        {"downscale_factor": _p("r")},
        ("downscale_factor",),
    ),
}

# ONNX: helper.make_node(op_type, inputs, outputs, name=None, doc_string=None, domain=None, **attributes).
_ONNX_PREFIXES = ((), ("helper",), ("onnx", "helper"))
_ONNX_ORDER = ("op_type", "inputs", "outputs", "name", "doc_string", "domain")
_ONNX_COMMON = {
    "inputs": _IGNORE,
    "outputs": _IGNORE,
    "name": _IGNORE,
    "doc_string": _IGNORE,
    "domain": _only("", "ai.onnx", why="symconv reads the standard ONNX operators"),
    "kernel_shape": _p("k"),
    "strides": _p("s"),
    "pads": _p("pads"),
    "auto_pad": _p("p"),
    "dilations": _p("d"),
}
# A node's kernel_shape: ONNX infers a Conv's from its weight tensor, which a spec does not have.
_KERNEL = ("kernel_shape",)
ONNX_OPERATORS = {
    "Conv": Constructor(
        "onnx", "conv", _ONNX_PREFIXES, _ONNX_ORDER, {**_ONNX_COMMON, "group": Argument(GROUPS)}, _KERNEL
    ),
    "ConvTranspose": Constructor(
        "onnx",
        "convT",
        _ONNX_PREFIXES,
        _ONNX_ORDER,
        {
            **_ONNX_COMMON,
            "group": Argument(GROUPS),
            "output_padding": _p("a"),
            "output_shape": _only(None, why="give output_padding; symconv derives the size from the input"),
        },
        _KERNEL,
    ),
    "MaxPool": Constructor(
        "onnx",
        "maxpool",
        _ONNX_PREFIXES,
        _ONNX_ORDER,
        {**_ONNX_COMMON, "ceil_mode": _p("ceil"), "storage_order": _IGNORE},
        _KERNEL,
    ),
    "AveragePool": Constructor(
        "onnx",
        "avgpool",
        _ONNX_PREFIXES,
        _ONNX_ORDER,
        {
            **_ONNX_COMMON,
            "ceil_mode": _p("ceil"),
            "count_include_pad": _only(
                0, why="ONNX AveragePool in symconv leaves padding out (the default, 0)"
            ),
        },
        _KERNEL,
    ),
}


_LIBRARY = {"torch": "PyTorch", "keras": "Keras", "onnx": "ONNX"}


def _dotted(node: ast.AST) -> list[str] | None:
    """nn.Conv2d -> ["nn", "Conv2d"]; None for anything but names joined by dots."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else [*head, node.attr]
    return None


def _rank(name: str) -> int | None:
    """The spatial axes a class name gives (Conv2d, MaxPooling3D: the digit; Upsample, make_node: None)."""
    digits = [char for char in name if char.isdigit()]
    return int(digits[0]) if digits else None


def class_rank(node: ast.Call) -> int | None:
    """The spatial axes of the framework class a constructor call names (nn.Conv2d(...): 2)."""
    parts = _dotted(node.func)
    return None if parts is None or parts[-1] == "make_node" else _rank(parts[-1])


def is_constructor(node: ast.Call) -> bool:
    """Whether a call names a framework class (or ONNX's make_node) rather than a symconv kind."""
    parts = _dotted(node.func)
    return parts is not None and (parts[-1] in CONSTRUCTORS or parts[-1] == "make_node")


def class_hint(node: ast.Call) -> str | None:
    """For a call that reads as a library class under one of its module paths but names none (nn.conv2d,
    layers.Conv2d_transpose): the classes it may mean, for the error; None when it does not read so."""
    parts = _dotted(node.func)
    if parts is None or len(parts) < 2:
        return None
    prefix, name = tuple(parts[:-1]), parts[-1]
    known = [key for key, made in CONSTRUCTORS.items() if prefix in made.prefixes]
    if not known:
        return None
    folded = {key.lower(): key for key in known}
    exact = folded.get(name.lower())
    close = [exact] if exact else closest(name.lower(), folded, cutoff=0.6, n=3)
    shown = " or ".join(".".join((*prefix, folded[c.lower()])) for c in close)
    what = f"{'.'.join(parts)} is not a class symconv reads"
    if shown:
        return f"{what}; did you mean {shown}?"
    # the 2-D classes and those without a rank stand for the rest (Conv1d and Conv3d read as Conv2d does)
    listed = ", ".join(sorted(key for key in known if _rank(key) in (None, 2)))
    return f"{what} (only layers of convolution arithmetic: {listed} and their 1-D and 3-D forms)"


class _Reader:
    """Reads one constructor call into (framework, kind, spec arguments)."""

    def __init__(
        self, text: str, walker: Any, fail: Any, unknown_name: str, keywords: tuple[str, ...]
    ) -> None:
        self.text, self.walker, self.fail = text, walker, fail
        self.unknown_name, self.keywords = unknown_name, keywords
        # How many spatial axes each list argument gives (ONNX pads: half its length).
        self.lengths: dict[str, tuple[int, ast.AST]] = {}

    def read(self, node: ast.Call) -> tuple[str, str, tuple[tuple[str, Any], ...]]:
        parts = _dotted(node.func) or []
        *prefix, name = parts
        positional = list(node.args)
        if name == "make_node":
            if (
                not positional
                or not isinstance(positional[0], ast.Constant)
                or positional[0].value not in ONNX_OPERATORS
            ):
                known = ", ".join(ONNX_OPERATORS)
                raise self.fail(node, f"make_node's first argument names the operator: one of {known}")
            constructor = ONNX_OPERATORS[positional[0].value]
            title = f"make_node({positional[0].value!r})"
        else:
            constructor = CONSTRUCTORS[name]
            title = name
        if tuple(prefix) not in constructor.prefixes:
            raise self.fail(
                node.func,
                f"{'.'.join(parts)}: {name} is {_LIBRARY[constructor.library]}'s; write {constructor.qualified(name)}",
            )
        bound = self.bind(node, constructor, title)
        args: dict[str, Any] = dict(constructor.defaults)
        channels: dict[str, int] = {}
        groups = 1
        for argument_name, value in bound.items():
            if argument_name == "op_type":
                continue
            argument = constructor.arguments[argument_name]
            where = f"{title} argument {argument_name}"
            if argument.role == PARAMETER:
                converted = self.parameter(argument.target, value, where, constructor.library)
                if converted is not None:
                    args.update(converted)
            elif argument.role in (CHANNELS, GROUPS):
                number = self.count(value, where)
                if argument.role == GROUPS:
                    groups = number
                else:
                    channels[argument_name] = number
            elif argument.role == ONLY:
                literal = self.literal(value, where)
                if literal not in argument.only:
                    accepted = " or ".join(repr(v) for v in argument.only)
                    raise self.fail(value, f"{where}: {argument.why}; it takes {accepted}")
            else:
                self.literal(value, where)
        for argument_name, number in channels.items():
            if number % groups:
                raise self.fail(
                    node, f"{title}: {argument_name}={number} is not divisible by groups={groups}"
                )
        self.check_axes(title, name)
        return constructor.library, constructor.kind, self.onnx_pads(args, title, node)

    def check_axes(self, title: str, name: str) -> None:
        """Every tuple gives as many axes as the class has (Conv2d: 2) and as the others (ONNX lists)."""
        axes = _rank(name)
        for argument_name, (count, where) in self.lengths.items():
            if axes is not None and count not in (1, axes):
                raise self.fail(
                    where,
                    f"{title} argument {argument_name} gives {count} values; {title} has {axes} spatial axes",
                )
        counts = {count for count, _ in self.lengths.values()}
        if axes is None and len(counts) > 1:
            shown = ", ".join(f"{arg} {count}" for arg, (count, _) in self.lengths.items())
            raise self.fail(
                next(iter(self.lengths.values()))[1],
                f"{title}: its lists give different numbers of spatial axes ({shown})",
            )

    def bind(self, node: ast.Call, constructor: Constructor, title: str) -> dict[str, ast.AST]:
        """The library's own binding of arguments to parameters, with its errors named."""
        bound: dict[str, ast.AST] = {}
        if len(node.args) > len(constructor.order):
            raise self.fail(
                node.args[len(constructor.order)],
                f"{title} takes at most {len(constructor.order)} positional arguments",
            )
        for position, value in enumerate(node.args):
            if isinstance(value, ast.Starred):
                raise self.fail(value, "* is not allowed in a spec")
            bound[constructor.order[position]] = value
        for keyword in node.keywords:
            if keyword.arg is None:
                raise self.fail(keyword, "** is not allowed in a spec")
            if keyword.arg not in constructor.arguments:
                meant = did_you_mean(keyword.arg, constructor.arguments)
                raise self.fail(
                    keyword,
                    f"{title} has no argument {keyword.arg!r} that symconv knows{'; ' + meant if meant else ''}",
                )
            if keyword.arg in bound:
                raise self.fail(keyword, f"{title} argument {keyword.arg} is given twice")
            bound[keyword.arg] = keyword.value
        missing = [name for name in constructor.required if name not in bound]
        if missing:
            raise self.fail(node, f"{title} needs {', '.join(missing)}")
        return bound

    def literal(self, node: ast.AST, where: str) -> Any:
        """A constant the library would take as it is: a string, number, True/False/None, or a list of them."""
        if isinstance(node, ast.Constant) and (
            node.value is None or isinstance(node.value, str | int | float)
        ):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            number = node.operand.value if isinstance(node.operand, ast.Constant) else None
            if type(number) in (int, float):
                # -3 is a number as written, as ast.literal_eval reads it; the argument's rules then judge it.
                return -cast(float, number) if isinstance(node.op, ast.USub) else number
        if isinstance(node, ast.List | ast.Tuple):
            return [self.literal(element, where) for element in node.elts]
        raise self.fail(node, f"{where} takes a literal value here (a string, a number, True, False or None)")

    def count(self, node: ast.AST, where: str) -> int:
        value = self.literal(node, where)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(node, f"{where} must be a positive integer")
        return value

    def parameter(self, target: str, node: ast.AST, where: str, library: str) -> dict[str, Any] | None:
        """The spec value(s) of one argument; None where the library's None means its default."""
        if isinstance(node, ast.Constant) and node.value is None:
            return None
        if target == "ceil":
            value = self.literal(node, where)
            if value not in (True, False, 0, 1):
                raise self.fail(node, f"{where} takes True or False")
            return {"ceil": "true" if value else "false"}
        if target == "p" and isinstance(node, ast.Constant) and isinstance(node.value, str):
            keyword = node.value.lower()
            if library == "onnx" and keyword == "notset":
                return None  # explicit pads (or none): ONNX's default
            if keyword not in self.keywords:
                raise self.fail(node, f"{where}: unknown padding {node.value!r}")
            return {"p": keyword}
        if target == "pads":
            pads = self.values(node, where)
            self.count_axes(where, node, len(pads) // 2 if len(pads) > 1 else 1)
            return {"pads": pads}
        if target == "scale" and isinstance(node, ast.Constant) and isinstance(node.value, float):
            if not node.value.is_integer():
                raise self.fail(node, f"{where}: symconv takes whole scale factors, got {node.value}")
            return {"scale": sympy.Integer(int(node.value))}
        values = self.values(node, where)
        if isinstance(node, ast.List | ast.Tuple):
            self.count_axes(where, node, len(values))
        if len(set(map(str, values))) > 1:
            segment = ast.get_source_segment(self.text, node) or str(values)
            return {target: PerAxis(tuple(values), f"{where.rpartition(' argument ')[2]}={segment}")}
        return {target: values[0]}

    def count_axes(self, where: str, node: ast.AST, count: int) -> None:
        self.lengths[where.rpartition(" argument ")[2]] = (count, node)

    def values(self, node: ast.AST, where: str) -> list[Any]:
        elements = node.elts if isinstance(node, ast.List | ast.Tuple) else [node]
        if not elements:
            raise self.fail(node, f"{where} is empty")
        out = []
        for element in elements:
            if isinstance(element, ast.Name) and element.id == self.unknown_name:
                from .parse import UNKNOWN

                out.append(UNKNOWN)
            elif (
                isinstance(element, ast.Constant)
                and isinstance(element.value, float)
                and element.value.is_integer()
            ):
                out.append(sympy.Integer(int(element.value)))
            else:
                out.append(self.walker.integer(element))
        return out

    def onnx_pads(self, args: dict[str, Any], title: str, node: ast.Call) -> tuple[tuple[str, Any], ...]:
        """ONNX pads [b1, ..., bn, e1, ..., en] as one (begin, end) pair per axis (one value for every axis
        when they agree)."""
        pads = args.pop("pads", None)
        if pads is not None:
            if "p" in args:
                raise self.fail(node, f"{title}: pads together with auto_pad is an error in ONNX")
            pairs = per_axis_pads(pads)
            if isinstance(pairs, str):
                raise self.fail(node, f"{title} argument pads: {pairs}")
            if len(set(map(str, pairs))) == 1:
                args["p"] = pairs[0]  # one value, or one (begin, end), for every axis
            else:
                args["p"] = PerAxis(pairs, f"pads={pads}")
        return tuple(args.items())


def read_constructor(
    text: str, node: ast.Call, walker: Any, fail: Any, unknown_name: str, keywords: tuple[str, ...]
) -> tuple[str, str, tuple[tuple[str, Any], ...]]:
    """(framework, kind, spec arguments) of a framework constructor call."""
    return _Reader(text, walker, fail, unknown_name, keywords).read(node)


__all__ = ["CONSTRUCTORS", "ONNX_OPERATORS", "is_constructor", "read_constructor"]
