"""torchvision's Swin functions, which it marks with torch.fx.wrap so that a trace holds each as one call.

- ``_patch_merging_pad(x)`` on (batch, H, W, C): pads H and W at the end up to even (F.pad by H % 2 and
  W % 2), then concatenates along the channels the four strided slices x[..., a::2, b::2, :] (a, b in 0, 1):
  (batch, ceil(H / 2), ceil(W / 2), 4C). Read as that pad, the four slices and their concatenation.
- ``shifted_window_attention(input, qkv_weight, proj_weight, relative_position_bias, window_size, num_heads,
  shift_size, ...)`` on (batch, H, W, C): the same shape at every size, each output position reading its
  group of positions along each axis (symconv.nets.windowattention); the channel rules of its linear maps and
  reshapes, and the shapes of the position bias and the logit scale, are checked.

A function is recognised by its name and its parameters' names, so a copy of torchvision's code is read too; a
function of the same name with other parameters is not.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import sympy

from ...core.arith import ceil_div
from ...core.errors import SpecError
from .. import layout as layouts
from ..shapeops import Pad, Slice, ref
from ..windowattention import ShiftedWindows
from . import Builder, Constant, Tensor

Handler = Callable[[Builder, str, str, dict[str, Any]], Tensor]

ATTENTION_PARAMETERS = (
    "input qkv_weight proj_weight relative_position_bias window_size num_heads shift_size attention_dropout "
    "dropout qkv_bias proj_bias logit_scale training"
).split()


def handler(target: Any) -> Callable[[Builder, str, str, Sequence[Any], dict[str, Any]], Any] | None:
    """The reader of a torchvision Swin function (None for any other target)."""
    known = FUNCTIONS.get(getattr(target, "__name__", ""))
    if known is None or not callable(target):
        return None
    parameters, read = known
    try:
        names = tuple(inspect.signature(target).parameters)
    except (TypeError, ValueError):  # a builtin without a signature
        return None
    if names != parameters:
        return None

    def call(builder: Builder, name: str, where: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        try:
            bound = inspect.signature(target).bind(*args, **kwargs)
        except TypeError as error:
            raise SpecError(f"{where}: {error}") from None
        bound.apply_defaults()
        return read(builder, name, where, dict(bound.arguments))

    return call


def _channels_last(builder: Builder, x: Any, where: str) -> tuple[str, str]:
    """The spatial axes of a (batch, H, W, channels) tensor, in its order; SpecError for any other tensor."""
    if not isinstance(x, Tensor) or x.flat:
        raise SpecError(f"{where} reads {x!r}; it needs a tensor computed from the input")
    layout = x.layout or layouts.standard(builder.dims)
    middle = [group[0].dim for group in layout[1:3] if len(group) == 1 and group[0].kind == "spatial"]
    if (
        len(builder.dims) != 2
        or len(layout) != 4
        or layout[0] != (layouts.Part("batch"),)
        or layout[3] != (layouts.Part("channels"),)
        or sorted(middle) != sorted(builder.dims)
    ):
        raise SpecError(
            f"{where} reads {layouts.describe(layout)}; it works on (batch, H, W, channels) with the two spatial "
            "axes whole"
        )
    return middle[0], middle[1]


def _laid_out(x: Tensor, node: Tensor, channels: int | None) -> Tensor:
    return Tensor(node.node, channels, layout=x.layout)


def _patch_merging_pad(builder: Builder, name: str, where: str, bound: dict[str, Any]) -> Tensor:
    x = bound["x"]
    rows, columns = _channels_last(builder, x, where)
    plain = Tensor(x.node, x.channels)
    here = ref(x.node)
    # H % 2 written 2 * ceil(H / 2) - H, so that the padded size is 2 * ceil(H / 2) and its halves ceil(H / 2)
    pads = [Pad(sympy.Integer(0), 2 * ceil_div(here, 2) - here) for _ in builder.dims]
    padded = builder.shape_op(f"{name}_pad", "pad", [plain], pads, x.channels)
    parts = []
    for first, second in ((0, 0), (1, 0), (0, 1), (1, 1)):
        starts = {rows: first, columns: second}
        entries = [Slice(sympy.Integer(starts[dim]), None, 2) for dim in builder.dims]
        parts.append(builder.shape_op(f"{name}_{first}{second}", "slice", [padded], entries, x.channels))
    channels = None if x.channels is None else 4 * x.channels
    return _laid_out(x, builder.concat(name, parts, True, where), channels)


def _shifted_window_attention(builder: Builder, name: str, where: str, bound: dict[str, Any]) -> Tensor:
    x = bound["input"]
    axes = _channels_last(builder, x, where)
    window = _pair(bound["window_size"], "window_size", 1, where)
    shift = _pair(bound["shift_size"], "shift_size", 0, where)
    heads = bound["num_heads"]
    if isinstance(heads, bool) or not isinstance(heads, int) or heads < 1:
        raise SpecError(f"{where}: num_heads must be a positive integer, got {heads!r}")
    tokens = window[0] * window[1]
    _channel_rules(x.channels, heads, bound, where)
    scores = (None, heads, tokens, tokens)
    for what in ("relative_position_bias", "logit_scale"):
        if bound[what] is not None:
            _broadcasts(_shape(bound[what], what, where), scores, what, where)
    entries = dict(zip(axes, (ShiftedWindows(w, s) for w, s in zip(window, shift, strict=True)), strict=True))
    made = builder.shape_op(
        name, "windowattention", [Tensor(x.node, x.channels)], [entries[d] for d in builder.dims], x.channels
    )
    return _laid_out(x, made, x.channels)


def _pair(value: Any, what: str, least: int, where: str) -> tuple[int, int]:
    """window_size or shift_size: two integers (H's, W's), each at least `least`."""
    if (
        not isinstance(value, tuple | list)
        or len(value) != 2
        or any(isinstance(v, bool) or not isinstance(v, int) or v < least for v in value)
    ):
        raise SpecError(f"{where}: {what} must be two integers of at least {least} (H's, W's), got {value!r}")
    return int(value[0]), int(value[1])


def _shape(value: Any, what: str, where: str) -> tuple[int, ...]:
    """A parameter's shape, every dimension known (its rules are checked against it)."""
    shape = value.shape if isinstance(value, Constant) else None
    if shape is None or any(not isinstance(v, int) for v in shape):
        raise SpecError(
            f"{where}: the shape of {what} is not known (it must be a parameter, or computed from parameters)"
        )
    return tuple(int(v) for v in shape if v is not None)


def _channel_rules(channels: int | None, heads: int, bound: dict[str, Any], where: str) -> None:
    """What PyTorch needs of the channel count C: F.linear with qkv_weight (3C, C), the heads splitting C
    (reshape to (..., 3, heads, C // heads) and back to C), the projection (C, C) and the biases."""
    qkv = _shape(bound["qkv_weight"], "qkv_weight", where)
    proj = _shape(bound["proj_weight"], "proj_weight", where)
    if len(qkv) != 2 or len(proj) != 2:
        raise SpecError(f"{where}: qkv_weight {qkv} and proj_weight {proj} must be matrices (out, in)")
    for what, weight in (("qkv_bias", qkv), ("proj_bias", proj)):
        if bound[what] is not None and _shape(bound[what], what, where) != weight[:1]:
            raise SpecError(
                f"{where}: {what} has shape {_shape(bound[what], what, where)}; F.linear needs ({weight[0]},)"
            )
    if channels is None:
        return
    rules = [
        (qkv[1] == channels, f"qkv_weight {qkv} reads {qkv[1]} channels"),
        (channels % heads == 0, f"num_heads={heads} must divide the channels (a reshape splits them)"),
        (qkv[0] == 3 * channels, f"qkv_weight {qkv} must give 3 * C = {3 * channels} (query, key, value)"),
        (proj == (channels, channels), f"proj_weight {proj} must be ({channels}, {channels})"),
    ]
    for holds, rule in rules:
        if not holds:
            raise SpecError(f"{where}: the input has {channels} channels, and {rule} (PyTorch's rule)")


def _broadcasts(shape: tuple[int, ...], scores: tuple[int | None, ...], what: str, where: str) -> None:
    """`shape` broadcasts against the attention scores (windows * batch, heads, tokens, tokens) without
    changing them: each size equals the scores' or is 1; the count of windows depends on the sizes (None),
    where only 1 is modelled."""
    if len(shape) > len(scores) or any(
        have != 1 and have != want for have, want in zip(shape[::-1], scores[::-1], strict=False)
    ):
        shown = ", ".join("batch * windows" if v is None else str(v) for v in scores)
        raise SpecError(
            f"{where}: {what} of shape {shape} does not broadcast against the attention scores ({shown}) "
            "without changing them (PyTorch's rule: each size equal, or 1); not modelled"
        )


FUNCTIONS: dict[str, tuple[tuple[str, ...], Handler]] = {
    "_patch_merging_pad": (("x",), _patch_merging_pad),
    "shifted_window_attention": (tuple(ATTENTION_PARAMETERS), _shifted_window_attention),
}

__all__ = ["handler"]
