"""The frameworks' conventions: one `Convention` record per framework, holding everything it decides.

A layer carries its framework (None: the paper's, equal to PyTorch's for explicit padding) and a padding mode.
Its convention says which modes it accepts, the padding each automatic mode implies, how it counts windows
(floor, C++ truncation, a clamp at 0), the size of a transposed convolution and the padding of its stretched
input, and the rules under which it refuses a configuration, as data: each `LayerRule` is a condition, the
message the framework prints and the class of the error. Adding or fixing a framework touches its section
below and nothing else; the module-level functions only dispatch (sources in conventions.md).

Checked against the libraries themselves by the differential tests (torch meta tensors, Keras 3
compute_output_shape, jax.eval_shape on lax, ONNX shape inference and onnxruntime).

>>> CONVENTIONS["tf"].window_count["conv"](sympy.Integer(-1), sympy.Integer(2))
0
>>> CONVENTIONS["ort"].window_count["pool"](sympy.Integer(-1), sympy.Integer(2))
1
>>> [rule.message for rule in CONVENTIONS["keras"].window_rules][1:]
['strides > 1 not supported in conjunction with dilation_rate > 1', 'computed output size would be zero or negative']
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import sympy

from .arith import ceil_div, eq, floor_div, ge, le, lt, mod
from .errors import ShapeError, SpecError, SymconvError


class Rule(tuple[sympy.Basic, str]):
    """(condition, message): where a layer is defined and what a failure says, with `.error`, the class of the
    error raised where it fails: SpecError for a basic rule on the parameters (k >= 1, s >= 1, p >= 0: bad
    input whatever the input size), ShapeError for the convention's own refusals. Still a pair, so callers
    unpack it as one."""

    error: type[SymconvError]

    def __new__(cls, condition: sympy.Basic, message: str, error: type[SymconvError] = ShapeError) -> Rule:
        rule = super().__new__(cls, (condition, message))
        rule.error = error
        return rule


Conditions = list[tuple[sympy.Basic, str]]


@dataclass(frozen=True)
class Sliding:
    """A convolution or pooling layer at input size i, as the rules read it: `pads` are the ones used,
    `explicit` the spec's own, `output` the size; `op` is "max" or "avg" for pooling; `rank` the number of
    spatial axes the layer runs on (None: not known, so no rule of one rank applies)."""

    family: str
    mode: str
    i: Any
    k: Any
    s: Any
    d: Any
    pads: tuple[Any, Any]
    explicit: tuple[Any, Any]
    output: Any = None
    ceil: bool = False
    op: str = ""
    opset: int | None = None
    rank: int | None = None

    @property
    def span(self) -> sympy.Expr:
        return effective_kernel(self.k, self.d)

    @property
    def numerator(self) -> sympy.Expr:
        """What the window count divides by the stride: i + pb + pe - k_eff, plus s - 1 in ceil_mode."""
        top = self.i + self.pads[0] + self.pads[1] - self.span
        return top + self.s - 1 if self.ceil else top


@dataclass(frozen=True)
class Stretched:
    """A transposed convolution at input size i: the spec's pads, its output_padding `a` (None: the
    framework's default), JAX's use_consistent_padding, the output size once known, and the output_shape
    the layer takes where it takes one."""

    mode: str
    i: Any
    k: Any
    s: Any
    d: Any
    pads: tuple[Any, Any]
    a: Any
    consistent: bool = False
    output: Any = None
    shape: Any = None  # the output_shape a layer takes (TensorFlow's conv2d_transpose, ONNX's ConvTranspose)

    @property
    def span(self) -> sympy.Expr:
        return effective_kernel(self.k, self.d)


def _always(_: Any) -> bool:
    return True


@dataclass(frozen=True)
class LayerRule:
    """A refusal as data: where it applies, the condition under which the layer is defined (a SymPy
    boolean of the layer's geometry), the framework's message, and the error class raised where it fails."""

    condition: Callable[[Any], sympy.Basic]
    message: str
    error: type[SymconvError] = ShapeError
    applies: Callable[[Any], bool] = _always

    def at(self, geometry: Any) -> Rule:
        return Rule(self.condition(geometry), self.message, self.error)


@dataclass(frozen=True)
class SpecRule:
    """A refusal of a spec before any size is known (a parameter the framework's layer does not take)."""

    applies: Callable[[Any], bool]
    message: str
    error: type[SymconvError] = SpecError


Count = Callable[[Any, Any], sympy.Expr]  # (numerator i + pb + pe - k_eff, s) -> the number of windows
Pads = Callable[[Any, Any, Any, Any, str], tuple[sympy.Expr, sympy.Expr]]  # (i, k, s, d, family) -> pads


@dataclass(frozen=True)
class Convention:
    """What one framework decides, as data.

    modes: the padding modes per layer family ("conv", "pool", "convT"; "explicit" is a number or a
      (begin, end) pair), and `default_mode`; `pads`: the (begin, end) padding of each automatic mode.
    window_count: per family, the number of windows from the numerator i + pb + pe - k_eff and the stride;
      `same_is_ceil`: the families whose SAME output is ceil(i/s) (their padding rule gives exactly that,
      proved in proofs/frameworks.toml), `floor_where_positive`: the count equals the floor formula wherever
      it is >= 1 (a network's inner nodes keep small formulas).
    window_rules / transposed_rules: the convention's refusals; `negative_pads`: explicit pads may be negative.
    transposed_size / stretched_pads: a transposed convolution's output size and the (before, after) padding
      of its stretched input (the window map); `default_output_padding` (None: derived, as Keras does),
      `pads_stretched_input`: the layer takes the stretched input's padding itself (JAX, Keras).
    parameters: the optional spec parameters its layers take ("ceil", "a", "consistent"); `spec_rules`:
      refusals of a spec before any size; `symmetric_pads`: one padding for both ends of an axis.
    Pooling: ceil_mode, count_include_pad (default), the stride's default (the kernel or 1), the kinds with a
      dilation, and whether max pooling reads the input units past a negative end padding (onnxruntime).
    rotates_transposed_kernel: a transposed convolution applies the kernel rotated (the direct convolution
      over the stretched input), or as stored (JAX's transpose_kernel=False).
    ONNX: `pool_kinds` (lppool too), `takes_opset` (a pooling spec names the model's opset) and
      `ceil_drop_since` (the opset from which ceil_mode drops a last window starting in the end padding; 0:
      always), `unpool_rules` (MaxUnpool's refusals; None: the convention has no maxunpool).
    backends: a spec's backend=NAME reads the layer in another convention (Keras 3 on TensorFlow's kernels).
    Rank: `max_axes`, the most spatial axes a layer takes; a window rule that holds on one rank only reads
    `Sliding.rank` (PyTorch's AvgPool3d, Keras' causal padding).
    """

    name: str
    modes: dict[str, tuple[str, ...]]
    default_mode: str
    pads: Mapping[str, Pads]
    window_count: Mapping[str, Count]
    window_rules: tuple[LayerRule, ...]
    transposed_size: Callable[[Stretched], sympy.Expr]
    transposed_rules: tuple[LayerRule, ...]
    stretched_pads: Callable[[Stretched], tuple[sympy.Expr, sympy.Expr]]
    same_is_ceil: tuple[str, ...] = ()
    floor_where_positive: bool = False
    negative_pads: bool = False
    default_output_padding: int | None = 0
    pads_stretched_input: bool = False
    parameters: frozenset[str] = frozenset({"a"})
    spec_rules: tuple[SpecRule, ...] = ()
    # Refusals of a spec with values per axis, read across its axes (a layer that checks its whole tuple).
    axes_rules: tuple[SpecRule, ...] = ()
    symmetric_pads: bool = False
    ceil_mode: bool = False
    count_include_pad: bool = True
    pool_stride_is_kernel: bool = True
    pool_dilation: tuple[str, ...] = ()
    max_pool_reads_cropped: bool = False
    rotates_transposed_kernel: bool = True
    nearest: Callable[[int, int, int, int | None], int] | None = None
    backends: Mapping[str, str] = field(default_factory=dict)
    half_pixel: bool = False
    linear: Callable[[int, int, int, int | None, bool], tuple[int, int]] | None = None
    pool_kinds: tuple[str, ...] = ("maxpool", "avgpool")
    ceil_drop_since: int = 0
    takes_opset: bool = False
    unpool_rules: tuple[LayerRule, ...] | None = None
    # The most spatial axes its layers take (PyTorch's Conv3d, Keras' Conv3D; None: any number), and the
    # kinds that take fewer (PyTorch's PixelShuffle: the last two axes only).
    max_axes: int | None = None
    kind_axes: Mapping[str, int] = field(default_factory=dict)

    def count(self, family: str, mode: str, i: Any, pads: tuple[Any, Any], k_eff: Any, s: Any) -> sympy.Expr:
        """The output size of a floor-mode window (convolution or pooling) over the padded input."""
        if mode in AUTO_SAME and family in self.same_is_ceil:
            return ceil_div(i, s)
        return self.window_count[family](i + pads[0] + pads[1] - k_eff, s)

    def overhangs(self) -> bool:
        """Whether pooling counts a last window longer than the padded input (C++ division toward zero)."""
        return self.window_count["pool"] is truncated_count

    def floor_sizes(self, family: str = "conv") -> bool:
        """Whether the window count is the paper's floor formula (no truncation, no clamp)."""
        return self.window_count[family] is floor_count


# Arithmetic the conventions share.


def effective_kernel(k: Any, d: Any) -> sympy.Expr:
    """k_eff = d(k - 1) + 1, the span of a dilated kernel (the paper's k^ = k + (k-1)(d-1))."""
    return d * (k - 1) + 1


def trunc_div(a: Any, b: Any) -> sympy.Expr:
    """C's integer division (toward zero), as TensorFlow's and ONNX's C++ compute it; b > 0."""
    nonnegative = ge(a, 0)
    if nonnegative in (sympy.true, sympy.false):
        return floor_div(a, b) if nonnegative else -floor_div(-a, b)
    # built as written: SymPy's evaluation of the cases asks where each condition holds (tens of milliseconds
    # for an ONNX SAME padding's numerator)
    return sympy.Piecewise((floor_div(a, b), nonnegative), (-floor_div(-a, b), True), evaluate=False)


@lru_cache(maxsize=4096)
def same_total(i: Any, k_eff: Any, s: Any) -> sympy.Expr:
    """TF/Keras/JAX/ONNX 'same': the total padding that makes o = ceil(i/s)."""
    return sympy.Max((ceil_div(i, s) - 1) * s + k_eff - i, 0)


def floor_count(numerator: Any, s: Any) -> sympy.Expr:
    """The paper's count: floor((i + pb + pe - k_eff)/s) + 1."""
    return floor_div(numerator, s) + 1


def truncated_count(numerator: Any, s: Any) -> sympy.Expr:
    """numerator / stride in C++ (toward zero), plus one: onnxruntime's pooling (pool_attributes.h)."""
    return trunc_div(numerator, s) + 1


def shifted_count(numerator: Any, s: Any) -> sympy.Expr:
    """TensorFlow's GetWindowedOutputSizeVerbose: (i + pads - k_eff + s) / s in C++."""
    return trunc_div(numerator + s, s)


def clamped_count(numerator: Any, s: Any) -> sympy.Expr:
    """JAX: the floor count, clamped at 0."""
    return sympy.Max(floor_count(numerator, s), 0)


def valid_pads(i: Any, k: Any, s: Any, d: Any, family: str) -> tuple[sympy.Expr, sympy.Expr]:
    return sympy.Integer(0), sympy.Integer(0)


def full_pads(i: Any, k: Any, s: Any, d: Any, family: str) -> tuple[sympy.Expr, sympy.Expr]:
    span = effective_kernel(k, d)
    return span - 1, span - 1


def causal_pads(i: Any, k: Any, s: Any, d: Any, family: str) -> tuple[sympy.Expr, sympy.Expr]:
    return effective_kernel(k, d) - 1, sympy.Integer(0)


def same_upper_pads(i: Any, k: Any, s: Any, d: Any, family: str) -> tuple[sympy.Expr, sympy.Expr]:
    """TF/Keras/JAX SAME (ONNX SAME_UPPER): the total that gives ceil(i/s), the odd element at the end."""
    total = same_total(i, effective_kernel(k, d), s)
    half = floor_div(total, 2)
    return half, total - half


def same_lower_pads(i: Any, k: Any, s: Any, d: Any, family: str) -> tuple[sympy.Expr, sympy.Expr]:
    """SAME_LOWER: the same total, the odd element at the beginning."""
    total = same_total(i, effective_kernel(k, d), s)
    half = floor_div(total, 2)
    return total - half, half


SHARED_PADS: dict[str, Pads] = {"valid": valid_pads, "full": full_pads, "causal": causal_pads}
AUTO_SAME = ("same", "same_upper", "same_lower")
INPUT_RULE = "input size must be a positive integer"
PADDED_RULE = "the padded input must be at least the effective kernel: i + pb + pe >= d*(k-1) + 1"


def base_rules(i: Any, k: Any, s: Any, d: Any) -> Conditions:
    return [
        Rule(ge(k, 1), "kernel size must be a positive integer", SpecError),
        Rule(ge(s, 1), "stride must be a positive integer", SpecError),
        Rule(ge(d, 1), "dilation must be a positive integer", SpecError),
        Rule(ge(i, 1), INPUT_RULE),
    ]


def padding_rules(pb: Any, pe: Any) -> Conditions:
    if pb == pe:
        return [Rule(ge(pb, 0), "padding must be >= 0", SpecError)]
    return [
        Rule(ge(pb, 0), "begin padding must be >= 0", SpecError),
        Rule(ge(pe, 0), "end padding must be >= 0", SpecError),
    ]


def _each_pad(check: Callable[[Any, Any], sympy.Basic]) -> Callable[[Sliding], sympy.Basic]:
    """A condition on every distinct explicit pad p (with the kernel k)."""
    return lambda g: sympy.And(*(check(p, g.k) for p in dict.fromkeys(g.explicit)))


def _positive_output(message: str, **where: Any) -> LayerRule:
    return LayerRule(lambda g: ge(g.output, 1), message, **where)


def _explicit_transposed_size(g: Stretched) -> sympy.Expr:
    """PyTorch's ConvTranspose (the paper's section 4): s(i - 1) - pb - pe + k_eff + a."""
    extra = 0 if g.a is None else g.a
    return g.s * (g.i - 1) - g.pads[0] - g.pads[1] + g.span + extra


def _explicit_stretched_pads(g: Stretched) -> tuple[sympy.Expr, sympy.Expr]:
    """k_eff - p - 1 a side of the stretched input, then the a extra cells at the end (negative: a crop)."""
    a = sympy.Integer(0) if g.a is None else g.a
    return g.span - g.pads[0] - 1, g.span - g.pads[1] - 1 + a


# The paper (Dumoulin & Visin) and PyTorch: explicit pads, floor division, ceil_mode with the last-window rule.


def torch_same_pads(i: Any, k: Any, s: Any, d: Any, family: str) -> tuple[sympy.Expr, sympy.Expr]:
    """PyTorch 'same': total d(k-1) whatever the input (stride 1 only), the odd element at the end."""
    total = d * (k - 1)
    return floor_div(total, 2), total - floor_div(total, 2)


def _out_pad(g: Stretched) -> Any:
    return 0 if g.a is None else g.a


def _f32(x: float) -> float:
    """x rounded to the nearest IEEE single (float32), as C++ stores a float."""
    return float(struct.unpack("f", struct.pack("f", x))[0])


def torch_nearest_source(j: int, i: int, o: int, scale: int | None) -> int:
    """PyTorch's nearest source index (aten/src/ATen/native/UpSample.h, nearest_idx): the identity when
    o == i, j >> 1 when o == 2i, else min(floorf(j * scale), i - 1) in float32 arithmetic, with scale the
    float32 of 1/scale_factor when one is given, else float(i) / o. Rounding moves some sources by one from
    floor(j*i/o): upsample(size=22) at i = 26 reads 12 for output 11. (Products and quotients of two
    floats are exact in double, so rounding the double result gives the float32 operation's result.)"""
    if o == i:
        return j
    if o == 2 * i:
        return j >> 1
    ratio = _f32(1.0 / scale) if scale is not None else _f32(_f32(i) / _f32(o))
    return min(math.floor(_f32(_f32(j) * ratio)), i - 1)


def jax_nearest_source(j: int, i: int, o: int, scale: int | None) -> int:
    """jax.image.resize's nearest index (jax/_src/image/scale.py _resize_nearest): floor((j + 0.5) * i / o) in
    float32, which XLA evaluates as (j + 0.5) * (i * (1/o)), each step rounded to float32 (checked on 59,485
    outputs); the input unchanged where o == i. Keras' Resizing runs it on the JAX backend."""
    if o == i:
        return j
    return min(math.floor(_f32(_f32(j + 0.5) * _f32(_f32(i) * _f32(1.0 / o)))), i - 1)


def tf_nearest_source(j: int, i: int, o: int, scale: int | None) -> int:
    """tf.image.resize's nearest index (resize_nearest_neighbor_op.cc with half_pixel_centers, as TF 2 calls
    it): min(floorf((j + 0.5f) * (float(i) / o)), i - 1) in float32 (checked on 39,238 outputs)."""
    return min(math.floor(_f32(_f32(j + 0.5) * _f32(_f32(i) / _f32(o)))), i - 1)


def torch_linear_source(j: int, i: int, o: int, scale: int | None, align_corners: bool) -> tuple[int, int]:
    """The inputs PyTorch's linear interpolation weighs for output j (UpSample.h, compute_source_index_and_lambda
    with area_pixel_compute_scale and area_pixel_compute_source_index, in float32): the source
    x = j * (i-1)/(o-1) with align_corners, else max((j + 0.5) * ratio - 0.5, 0) with ratio the float32 of
    1/scale_factor or float(i)/o; it reads floor(x) (at most i - 1) and the next input unless the weight
    x - floor(x) is 0 or floor(x) is the last input. The copy when o == i."""
    if o == i:
        return j, j
    if align_corners:
        ratio = _f32(_f32(i - 1) / _f32(o - 1)) if o > 1 else 0.0
        source = _f32(ratio * _f32(j))
    else:
        ratio = _f32(1.0 / scale) if scale is not None else _f32(_f32(i) / _f32(o))
        # ratio * (j + 0.5) - 0.5 with one rounding: the compiled kernel fuses it (a fused multiply-add);
        # in double the product and the difference are exact, so rounding once gives the fused result.
        source = max(_f32(ratio * (j + 0.5) - 0.5), 0.0)
    low = min(math.floor(source), i - 1)
    weight = min(max(_f32(source - low), 0.0), 1.0)
    return low, low + 1 if weight > 0 and low < i - 1 else low


_STRIDED_SAME = LayerRule(
    lambda g: eq(g.s, 1),
    "padding='same' is not supported for strided convolutions",
    applies=lambda g: g.mode == "same",
)
_FLOOR_WINDOWS = (
    _positive_output("the output size must be >= 1", applies=lambda g: g.ceil),
    LayerRule(lambda g: ge(g.i + g.pads[0] + g.pads[1], g.span), PADDED_RULE, applies=lambda g: not g.ceil),
)
_TORCH_TRANSPOSED = (
    LayerRule(lambda g: ge(_out_pad(g), 0), "output_padding must be >= 0", SpecError),
    LayerRule(
        lambda g: sympy.Or(lt(_out_pad(g), g.s), lt(_out_pad(g), g.d)),
        "output_padding must be smaller than either stride or dilation",
    ),
    _positive_output("the output size must be >= 1"),
)

PAPER = Convention(
    "paper",
    {"conv": ("explicit", "valid", "same", "full"), "pool": ("explicit", "valid"), "convT": ("explicit",)},
    "explicit",
    pads={**SHARED_PADS, "same": torch_same_pads},
    window_count={"conv": floor_count, "pool": floor_count},
    window_rules=(_STRIDED_SAME, *_FLOOR_WINDOWS),
    transposed_size=_explicit_transposed_size,
    transposed_rules=_TORCH_TRANSPOSED,
    stretched_pads=_explicit_stretched_pads,
    ceil_mode=True,
    pool_dilation=("maxpool",),
)

TORCH = Convention(
    "torch",
    {"conv": ("explicit", "valid", "same"), "pool": ("explicit",), "convT": ("explicit",)},
    "explicit",
    pads={**SHARED_PADS, "same": torch_same_pads},
    window_count={"conv": floor_count, "pool": floor_count},
    window_rules=(
        _STRIDED_SAME,
        # PyTorch 2.x pooling: pad <= kernel_size/2 with the undilated kernel.
        LayerRule(
            _each_pad(lambda p, k: le(2 * p, k)),
            "pad should be at most half of kernel size",
            applies=lambda g: g.family == "pool",
        ),
        # avg_pool3d alone checks every axis before padding (AveragePool3d.cpp calls Pool.h pool3d_shape_check
        # with check_input_size; the 1-D and 2-D poolings and MaxPool3d do not): AvgPool3d(3, padding=1)
        # refuses a depth of 2 that the padding would cover.
        LayerRule(
            lambda g: ge(g.i, g.k),
            "input image smaller than kernel size: AvgPool3d checks every axis before padding (i >= k)",
            applies=lambda g: g.op == "avg" and g.rank == 3,
        ),
        *_FLOOR_WINDOWS,
    ),
    transposed_size=_explicit_transposed_size,
    transposed_rules=_TORCH_TRANSPOSED,
    stretched_pads=_explicit_stretched_pads,
    symmetric_pads=True,
    ceil_mode=True,
    pool_dilation=("maxpool",),
    nearest=torch_nearest_source,
    linear=torch_linear_source,
    max_axes=3,  # Conv3d, MaxPool3d, AvgPool3d, interpolate on 5-D input: nothing over 4 spatial axes
    # pixel_shuffle rearranges the last two axes and reads the one before them as the channels: over three
    # spatial axes it takes D for the channels ((1, 8, 4, 3, 3) -> (1, 8, 1, 6, 6)).
    kind_axes=MappingProxyType({"pixelshuffle": 2, "pixelunshuffle": 2}),
)


def _upsample_mode(spec: Any) -> bool:
    return bool(spec.kind == "upsample" and spec.get("mode") not in (None, "nearest"))


# Linear resizing in these frameworks uses its own kernels (antialiasing, half-pixel clamps): not modelled.
_LINEAR_RESIZE = SpecRule(
    _upsample_mode,
    "linear upsampling is modelled in the paper's and PyTorch's conventions only (torch.upsample)",
)


_ONNX_RESIZE = (
    _LINEAR_RESIZE,
    # Resize to a size (half_pixel, round_prefer_floor) rounds a tie in floating point (float32 in the runtime,
    # float64 in the reference evaluator); an integer scale reads floor(j/s) whatever the rounding.
    SpecRule(
        lambda spec: spec.kind == "upsample" and spec.get("size") is not None,
        "ONNX Resize to a size rounds half-pixel ties in floating point: not modelled; give scale=",
    ),
)


# TensorFlow as it runs (tests/test_diff_tf.py runs every configuration in each of its paths: oneDNN on and
# off, eager, graph shape inference, tf.function). The kernels count windows in C++ division
# (GetWindowedOutputSizeVerbose: (i + pads - k_eff + s)/s) and refuse a negative count. An empty output (the
# count 0) is not settled: the Eigen kernel (TF_ENABLE_ONEDNN_OPTS=0) returns it, oneDNN returns the input
# unchanged (convolution), fails or dies of SIGFPE (max pooling), and graph shape inference refuses it, so
# symconv refuses it saying so. max_pool2d takes explicit paddings (each < the window); avg_pool2d does not.
# conv2d_transpose is a layer taking its output_shape, accepted where the forward window over it gives back i.

PATHS_DISAGREE = "TensorFlow's paths disagree"
_EMPTY = (
    f"{PATHS_DISAGREE} on an empty output (the window does not fit: i + pb + pe < d*(k-1) + 1): the Eigen "
    "kernel (TF_ENABLE_ONEDNN_OPTS=0) returns size 0, {onednn}, and graph shape inference refuses it "
    "('Negative dimension size')"
)
_TF_EMPTY = {
    "conv": _EMPTY.format(onednn="oneDNN (the default) returns the input unchanged"),
    "max": _EMPTY.format(
        onednn="oneDNN fails ('could not create a descriptor') or kills the process (SIGFPE)"
    ),
    "avg": _EMPTY.format(onednn="oneDNN returns size 0 too"),
}
_TF_NEGATIVE = "computed output size would be negative"


def _tf_windows(*before: LayerRule) -> tuple[LayerRule, ...]:
    """TensorFlow's window rules after a layer's own (`before`): a negative count is refused on every path,
    an empty one is where the paths disagree."""
    return (
        *before,
        LayerRule(lambda g: ge(g.output, 0), _TF_NEGATIVE),
        LayerRule(lambda g: ge(g.output, 1), _TF_EMPTY["conv"], applies=lambda g: g.family == "conv"),
        LayerRule(lambda g: ge(g.output, 1), _TF_EMPTY["max"], applies=lambda g: g.op == "max"),
        LayerRule(lambda g: ge(g.output, 1), _TF_EMPTY["avg"], applies=lambda g: g.op == "avg"),
    )


def _tf_forward_gives_back(g: Stretched) -> sympy.Basic:
    """conv2d_transpose's check on every path: the forward window over the output_shape o counts i windows
    (VALID and explicit pads: (i-1)s <= o + pb + pe - k_eff <= (i-1)s + s - 1; SAME: (i-1)s < o <= i*s)."""
    o, i, s = g.output, g.i, g.s
    if g.mode == "same":
        return sympy.And(ge(o, (i - 1) * s + 1), le(o, i * s))
    spare = o + g.pads[0] + g.pads[1] - g.span - (i - 1) * s
    return sympy.And(ge(spare, 0), le(spare, s - 1))


def _onednn_short(g: Stretched) -> sympy.Basic:
    """oneDNN's extra acceptance (VALID): it counts the forward windows as (o - k_eff)/s + 1 in C++ division,
    which is 1 at i = 1 for an output_shape up to s - 1 below the effective kernel."""
    short = g.span - g.output
    return sympy.And(eq(g.i, 1), ge(short, 1), le(short, g.s - 1))


def _tf_accepted(g: Stretched) -> sympy.Basic:
    """Where some path runs the transposed convolution: the forward window gives back i, or (VALID) oneDNN's
    count does."""
    if g.mode == "valid":
        return sympy.Or(_tf_forward_gives_back(g), _onednn_short(g))
    return _tf_forward_gives_back(g)


_TF_CPU_DILATION = "Current CPU implementations do not yet support dilation rates larger than 1"


_TF_DILATED = (
    f"{PATHS_DISAGREE} on a dilated transposed convolution: the Eigen kernel (TF_ENABLE_ONEDNN_OPTS=0) refuses "
    f"it ('{_TF_CPU_DILATION}'), oneDNN (the default) runs it"
)


def _tf_transposed(what: str, dilated: str = _TF_DILATED) -> tuple[LayerRule, ...]:
    """conv2d_transpose's rules on an output size `what` names (the output_shape, or the size a Keras layer
    computes and passes as one); `dilated` says what a dilation meets."""
    valid = lambda g: g.mode == "valid"  # noqa: E731
    automatic = lambda g: g.mode != "explicit"  # noqa: E731
    return (
        LayerRule(lambda g: ge(g.output, 0), f"{what} must be >= 0", SpecError),
        LayerRule(
            lambda g: eq(g.d, 1),
            f"{_TF_CPU_DILATION} (explicit paddings run the Eigen kernel on every path)",
            applies=lambda g: g.mode == "explicit",
        ),
        LayerRule(
            lambda g: ge(g.output, 1),
            f"{PATHS_DISAGREE} on an empty {what}: oneDNN (the default) returns the empty output, the Eigen "
            "kernel (TF_ENABLE_ONEDNN_OPTS=0) refuses it",
            applies=automatic,
        ),
        LayerRule(
            _tf_accepted,
            f"{what} must be a size whose forward window gives back the input: (i-1)*s <= o + pb + pe - "
            "d*(k-1) - 1 <= (i-1)*s + s - 1 (VALID, explicit pads), (i-1)*s < o <= i*s (SAME) ('Size of "
            "out_backprop doesn't match computed')",
        ),
        # Where some path runs it (else the rule above refused it on every path).
        LayerRule(lambda g: sympy.Or(eq(g.d, 1), sympy.Not(_tf_accepted(g))), dilated, applies=automatic),
        LayerRule(
            _tf_forward_gives_back,
            f"{PATHS_DISAGREE} on {what} below the effective kernel at i = 1: oneDNN (the default) "
            "accepts it (it counts (o - k_eff)/s + 1 forward windows in C++ division: 1), the Eigen kernel "
            "(TF_ENABLE_ONEDNN_OPTS=0) refuses it ('Size of out_backprop doesn't match computed')",
            applies=valid,
        ),
    )


def _tf_transposed_size(g: Stretched) -> sympy.Expr:
    return g.shape


def _tf_stretched_pads(g: Stretched) -> tuple[sympy.Expr, sympy.Expr]:
    """conv2d_transpose is the gradient of the forward convolution over its output_shape o, whose padding
    starts with pb (SAME: half of max((i - 1)s + k_eff - o, 0), rounded down; VALID: 0; explicit: the spec's):
    output q gathers input j through tap t where q = j*s + t*d - pb, which is the direct convolution with the
    rotated kernel over the stretched input padded by k_eff - 1 - pb before and by what makes o outputs after."""
    if g.shape is None or g.i is None:
        raise SpecError("tf.convT takes output_shape: its window map depends on it")
    span, s, o, i = g.span, g.s, g.shape, g.i
    if g.mode == "same":
        pb = floor_div(sympy.Max((i - 1) * s + span - o, 0), 2)
    elif g.mode == "valid":
        pb = sympy.Integer(0)
    else:
        pb = g.pads[0]
    return span - 1 - pb, o - 1 - s * (i - 1) + pb


TF = Convention(
    "tf",
    {
        "conv": ("explicit", "valid", "same"),
        "pool": ("explicit", "valid", "same"),
        "convT": ("explicit", "valid", "same"),
    },
    "valid",
    pads={**SHARED_PADS, "same": same_upper_pads},
    window_count={"conv": shifted_count, "pool": shifted_count},
    window_rules=_tf_windows(
        LayerRule(
            _each_pad(lambda p, k: lt(p, k)),
            "explicit padding must be smaller than the window size (max_pool2d's kernel refuses it; graph "
            "shape inference accepts it)",
            applies=lambda g: g.family == "pool" and g.mode == "explicit",
        ),
    ),
    transposed_size=_tf_transposed_size,
    transposed_rules=_tf_transposed("output_shape"),
    stretched_pads=_tf_stretched_pads,
    same_is_ceil=("conv", "pool"),
    floor_where_positive=True,
    parameters=frozenset({"output_shape"}),
    half_pixel=True,
    nearest=tf_nearest_source,
    spec_rules=(
        _LINEAR_RESIZE,
        SpecRule(
            lambda spec: spec.kind == "convT" and spec.get("output_shape") is None,
            "tf.nn.conv2d_transpose takes an output_shape: tf.convT(k=.., s=.., p=.., output_shape=N) (the "
            "sizes it accepts: symconv.core.frameworks.tf_transpose_output_range, or output_shape=? to solve for)",
        ),
        SpecRule(
            lambda spec: spec.kind == "avgpool" and spec.get("p") not in (None, "valid", "same"),
            "tf.nn.avg_pool2d takes padding SAME or VALID, not explicit paddings (max_pool2d takes them)",
        ),
    ),
    count_include_pad=False,
    max_axes=3,  # tf.nn.convolution and tf.nn.pool: N in 1..3
)


# Keras 3: valid/same/causal, a derived output_padding for transposed convolutions.


def _keras_transposed_size(g: Stretched) -> sympy.Expr:
    if g.mode == "valid":
        extra = sympy.Max(g.span, g.s) - g.span if g.a is None else g.a
        return (g.i - 1) * g.s + g.span + extra
    return g.i * g.s if g.a is None else (g.i - 1) * g.s + mod(g.span, 2) + g.a


def _keras_stretched_pads(g: Stretched) -> tuple[sympy.Expr, sympy.Expr]:
    """Keras pads the stretched input itself (backend_utils, as its JAX backend runs it)."""
    span, s = g.span, g.s
    if g.mode == "valid":
        a = sympy.Max(span, s) - span if g.a is None else g.a
        return span - 1, span - 1 + a
    total = s + span - 2 if g.a is None else span + sympy.Mod(span, 2) - 2 + g.a
    begin = sympy.Min(ceil_div(total, 2), span - 1)
    return begin, total - begin


_KERAS_DILATED_STRIDE = "strides > 1 not supported in conjunction with dilation_rate > 1"

_KERAS_OUTPUT_PADDING = (
    LayerRule(lambda g: ge(g.a, 0), "output_padding must be >= 0", SpecError, lambda g: g.a is not None),
    LayerRule(
        lambda g: lt(g.a, g.s),
        "stride must be greater than output padding",
        applies=lambda g: g.a is not None,
    ),
    LayerRule(lambda g: sympy.Or(eq(g.s, 1), eq(g.d, 1)), _KERAS_DILATED_STRIDE),
)
_KERAS_CONV_DILATED_STRIDE = LayerRule(
    lambda g: sympy.Or(eq(g.s, 1), eq(g.d, 1)), _KERAS_DILATED_STRIDE, applies=lambda g: g.family == "conv"
)
_KERAS_MODES = {"conv": ("valid", "same", "causal"), "pool": ("valid", "same"), "convT": ("valid", "same")}


def _per_axis_values(spec: Any, name: str) -> list[Any]:
    """A spec parameter's values, one per axis (a single value for a parameter given once)."""
    value = spec.get(name)
    return list(getattr(value, "values", (value,)))


def _stride_beside_dilation(spec: Any) -> bool:
    """Keras' convolutions, transposed ones too, refuse a stride > 1 on any axis together with a dilation > 1
    on any axis (the layers' constructor checks the whole tuples)."""

    def above_one(name: str) -> bool:
        return any(isinstance(v, sympy.Integer) and v > 1 for v in _per_axis_values(spec, name))

    return spec.kind in ("conv", "convT") and above_one("s") and above_one("d")


_KERAS_CAUSAL = "padding 'causal' is Conv1D's only: a convolution over several axes takes 'valid' or 'same'"
_KERAS_AXES_RULES = (
    SpecRule(_stride_beside_dilation, _KERAS_DILATED_STRIDE, ShapeError),
    SpecRule(
        lambda spec: "causal" in _per_axis_values(spec, "p") or spec.get("p") == "causal", _KERAS_CAUSAL
    ),
)
# The same refusal for one padding applied to several axes (Conv2D(padding="causal") raises ValueError).
_KERAS_CAUSAL_RANK = LayerRule(
    lambda g: sympy.false,
    _KERAS_CAUSAL,
    SpecError,
    applies=lambda g: g.mode == "causal" and (g.rank or 1) > 1,
)


def _keras_like(name: str, window_rules: tuple[LayerRule, ...], **more: Any) -> Convention:
    """Keras' layers (valid/same/causal, Keras' transposed size and output_padding rules), with the window
    rules and anything else given."""
    fields: dict[str, Any] = {
        "pads": {**SHARED_PADS, "same": same_upper_pads},
        "window_count": {"conv": floor_count, "pool": floor_count},
        "transposed_size": _keras_transposed_size,
        "transposed_rules": _KERAS_OUTPUT_PADDING,
        "stretched_pads": _keras_stretched_pads,
        "same_is_ceil": ("conv", "pool"),
        "default_output_padding": None,
        "pads_stretched_input": True,
        "count_include_pad": False,
        "axes_rules": _KERAS_AXES_RULES,
        "max_axes": 3,  # Conv1D to Conv3D, the pooling layers likewise
        **more,
    }
    return Convention(name, _KERAS_MODES, "valid", window_rules=(_KERAS_CAUSAL_RANK, *window_rules), **fields)


# Keras 3 with backend=tensorflow: its layers check sizes as compute_output_shape does (a convolution refuses
# an empty output before TensorFlow runs; pooling does not), then TensorFlow's kernels decide: an empty
# pooling output is where TensorFlow's paths disagree, and a transposed convolution's size must be one
# conv2d_transpose accepts as its output_shape (even kernels with 'same' and output_padding fail there).
KERAS_TENSORFLOW = _keras_like(
    "keras:tensorflow",
    _tf_windows(
        _KERAS_CONV_DILATED_STRIDE,
        _positive_output(
            "computed output size would be zero or negative", applies=lambda g: g.family == "conv"
        ),
    ),
    window_count={"conv": shifted_count, "pool": shifted_count},
    transposed_rules=(
        *_KERAS_OUTPUT_PADDING,
        *_tf_transposed(
            "the output size Keras computes (on the TensorFlow backend it is conv2d_transpose's output_shape)"
        ),
    ),
    floor_where_positive=True,
    half_pixel=True,
    nearest=tf_nearest_source,
    spec_rules=(_LINEAR_RESIZE,),
)

KERAS = _keras_like(
    "keras",
    (_KERAS_CONV_DILATED_STRIDE, _positive_output("computed output size would be zero or negative")),
    backends=MappingProxyType({"tensorflow": "keras:tensorflow"}),
    half_pixel=True,
    nearest=jax_nearest_source,  # Resizing on the JAX backend (the tf. rule on TensorFlow's)
    spec_rules=(_LINEAR_RESIZE,),
)


def _unequal_transposed_dilation(spec: Any) -> bool:
    """A transposed convolution over two axes whose dilations are different numbers."""
    values = _per_axis_values(spec, "d")
    known = {int(v) for v in values if isinstance(v, sympy.Integer)}
    return spec.kind == "convT" and len(values) == 2 and len(known) > 1


# tf-keras' Conv2DTranspose runs a dilation through atrous_conv2d_transpose, which takes one rate for both axes.
_TF_KERAS_UNEQUAL_DILATION = SpecRule(
    _unequal_transposed_dilation,
    "tf-keras' Conv2DTranspose runs a dilation through atrous_conv2d_transpose, one rate for both axes: 'Expected "
    "the 2 dimensions of the `dilation_rate` argument to be equal to each other' when the layer is called",
    ShapeError,
)


# tf-keras (Keras 2): compute_output_shape (conv_utils) gives what TensorFlow's ops give, except an empty
# output, which it returns as 0 (Keras 3 refuses it); calling the layer runs TensorFlow's ops in every path,
# whose rules decide. Its transposed size is Keras 3's (deconv_output_length), passed as output_shape.
TF_KERAS = _keras_like(
    "tf_keras",
    _tf_windows(
        _KERAS_CONV_DILATED_STRIDE,
        # conv_utils.conv_output_length in floor division: a negative length is refused, 0 is not.
        LayerRule(
            lambda g: ge(floor_count(g.i + g.pads[0] + g.pads[1] - g.span, g.s), 0),
            "One of the dimensions in the output is <= 0 due to downsampling (tf-keras' conv_output_length, "
            "in floor division, is negative)",
            applies=lambda g: g.family == "conv",
        ),
    ),
    window_count={"conv": shifted_count, "pool": shifted_count},
    transposed_rules=(
        *_KERAS_OUTPUT_PADDING,
        *_tf_transposed(
            "the output size tf-keras computes (conv2d_transpose's output_shape)",
            "a dilated transposed convolution depends on the layer's rank in tf-keras: Conv2DTranspose runs "
            "atrous_conv2d_transpose on every path; Conv1DTranspose runs conv1d_transpose, where "
            f"{_TF_DILATED}",
        ),
    ),
    floor_where_positive=True,
    half_pixel=True,
    nearest=tf_nearest_source,  # tf-keras resizes with TensorFlow's image ops
    spec_rules=(_LINEAR_RESIZE,),
    axes_rules=(*_KERAS_AXES_RULES, _TF_KERAS_UNEQUAL_DILATION),
)


# ONNX as onnxruntime runs it (conv_attributes.h, pool_attributes.h, pool.cc, conv_transpose_attributes.h,
# unpool.h, unpool.cc).


def _onnx_same(lower: bool) -> Pads:
    """SAME_UPPER / SAME_LOWER as onnxruntime computes them: no clamp at 0, C++ division."""

    def pads(i: Any, k: Any, s: Any, d: Any, family: str) -> tuple[sympy.Expr, sympy.Expr]:
        shift = 1 if lower else 0
        span = k if family == "pool" else effective_kernel(k, d)
        needed = (ceil_div(i, s) - 1) * s + span - i
        if _at_least(span - s + shift, 0):
            # ceil(i/s)*s - i lies in [0, s - 1] at every integer i, so the total is at least span - s: the C++
            # quotient is the floor, and no clamp is needed (asking SymPy where the cases hold costs tens of
            # milliseconds per layer)
            head = floor_div(needed + shift, 2)
            return head, needed - head
        if family == "pool":
            # pool_attributes.h: the undilated kernel.
            head = trunc_div(needed + shift, 2)
            return head, needed - head
        # Conv (1.32, probed in tests/test_windowmap_diff.py): the total is not clamped at 0 (a kernel shorter
        # than the stride gives a negative one, which crops), and the head is the C++ quotient total/2
        # (SAME_UPPER) or (total + 1)/2 (SAME_LOWER), of total + 1 when the total is negative: k=5, s=10, i=20
        # has total -5 and heads -2 (SAME_UPPER) and -1 (SAME_LOWER). The output, ceil(i/s), does not depend
        # on the split; the last window ends exactly at the cropped end.
        negative = sympy.Min(sympy.Max(-needed, 0), 1)  # [needed < 0] on integers
        head = trunc_div(needed + negative + shift, 2)
        return head, needed - head

    return pads


def _at_least(value: Any, bound: int) -> bool:
    """Whether `value` (a number, or a formula in parameters) is known to be >= bound."""
    return bool(ge(value, bound) == sympy.true)


def _onnx_auto(g: Any) -> bool:
    return g.mode in ("same_upper", "same_lower")


def _split_transposed_total(g: Stretched, total: Any) -> tuple[sympy.Expr, sympy.Expr]:
    """The pads of a ConvTranspose from its total (auto_pad or output_shape): SAME_UPPER begins with total/2,
    the others with total - total/2 (onnx/defs/nn/defs.cc); then the stretched input's padding."""
    half = floor_div(total, 2)
    pb, pe = (half, total - half) if g.mode == "same_upper" else (total - half, half)
    a = sympy.Integer(0) if g.a is None else g.a
    return g.span - pb - 1, g.span - pe - 1 + a


def _onnx_output_shape(g: Stretched) -> sympy.Expr:
    """ConvTranspose with output_shape: the output is that size, whatever the input (the pads follow from it)."""
    return g.shape


def _ort_transposed_size(g: Stretched) -> sympy.Expr:
    """Explicit pads as PyTorch; SAME: the total padding k_eff + a - s clamped at 0 (conv_transpose_attributes.h),
    so s(i - 1) + min(k_eff + a, s): i*s unless the kernel and output_padding are shorter than the stride."""
    if g.shape is not None:
        return _onnx_output_shape(g)
    if _onnx_auto(g):
        a = 0 if g.a is None else g.a
        return g.s * (g.i - 1) + sympy.Min(g.span + a, g.s)
    return _explicit_transposed_size(g)


def _ort_stretched_pads(g: Stretched) -> tuple[sympy.Expr, sympy.Expr]:
    if g.shape is not None:
        # onnxruntime's split of the total padding an output_shape implies has not been probed.
        raise SpecError("ort.convT with output_shape: where onnxruntime puts its padding is not modelled")
    if _onnx_auto(g):
        a = 0 if g.a is None else g.a
        return _split_transposed_total(g, sympy.Max(g.span + a - g.s, 0))
    return _explicit_stretched_pads(g)


_ORT_OUTPUT_PADDING = (
    LayerRule(lambda g: ge(g.a, 0), "output_padding must be >= 0", SpecError, lambda g: g.a is not None),
    # onnxruntime refuses a >= max(s, d), and s <= a < d gives an inconsistent shape: in effect a < s.
    LayerRule(
        lambda g: lt(g.a, g.s), "output_padding must be less than stride", applies=lambda g: g.a is not None
    ),
)


def _unpool_base(g: Any) -> sympy.Expr:
    """MaxUnpool's output without output_shape: (i - 1)s + k - pb - pe (the MaxPool it undoes, inverted)."""
    return (g.i - 1) * g.s + g.k - g.explicit[0] - g.explicit[1]


def _unpool_rules(nonpositive: str) -> tuple[LayerRule, ...]:
    return (
        LayerRule(lambda g: ge(_unpool_base(g), 1), nonpositive),
        LayerRule(
            lambda g: ge(g.output, _unpool_base(g)),
            "output_shape is smaller than minimum required",
            applies=lambda g: g.output is not None,  # an output_shape was given
        ),
    )


# Both ONNX conventions take explicit pads (a number or a (begin, end) pair) and every auto_pad.
_ONNX_MODES: dict[str, tuple[str, ...]] = {
    family: ("explicit", "valid", "same_upper", "same_lower") for family in ("conv", "pool", "convT")
}

ORT = Convention(
    "ort",
    _ONNX_MODES,
    "explicit",
    pads={**SHARED_PADS, "same_upper": _onnx_same(False), "same_lower": _onnx_same(True)},
    window_count={"conv": floor_count, "pool": truncated_count},
    window_rules=(
        LayerRule(
            _each_pad(lambda p, k: lt(p, k)),
            "pad should be smaller than kernel",
            applies=lambda g: g.family == "pool",
        ),
        # The SAME pads of a pool are negative when the kernel is shorter than the stride: MaxPool without
        # dilation and AveragePool before opset 19 (no dilations: the old kernel) refuse them; LpPool and the
        # dilated kernels crop.
        LayerRule(
            lambda g: sympy.Or(sympy.Ne(g.d, 1), sympy.And(ge(g.pads[0], 0), ge(g.pads[1], 0))),
            "padding values must be non-negative",
            applies=lambda g: g.family == "pool" and g.op == "max" and _onnx_auto(g),
        ),
        LayerRule(
            lambda g: sympy.And(ge(g.pads[0], 0), ge(g.pads[1], 0)),
            "padding values must be non-negative",
            applies=lambda g: g.family == "pool" and g.op == "avg" and (g.opset or 22) < 19 and _onnx_auto(g),
        ),
        LayerRule(
            lambda g: ge(g.output, 0),
            "calculated output dimension is negative",
            applies=lambda g: g.family == "pool",
        ),
        LayerRule(
            lambda g: eq(g.d, 1),
            "dilation not supported for auto_pad SAME_UPPER or SAME_LOWER",
            applies=lambda g: g.family == "conv" and _onnx_auto(g),
        ),
        _positive_output("the output size must be >= 1", applies=lambda g: g.family == "conv"),
    ),
    transposed_size=_ort_transposed_size,
    transposed_rules=(
        *_ORT_OUTPUT_PADDING,
        _positive_output("the output size must be >= 1"),
        # conv_transpose_attributes.h counts the forward windows over output_shape, (o - k_eff)/s + 1, and
        # refuses more than the input has (the pads and output_padding do not enter it).
        LayerRule(
            lambda g: le(g.shape, g.s * g.i + g.span - 1),
            "output_shape is larger than the input gives back: its forward windows (o - k_eff)/s + 1 must not "
            "exceed i, o <= s*i + d*(k-1) ('Explicit output_shape is inconsistent with input spatial "
            "dimensions')",
            applies=lambda g: g.shape is not None,
        ),
    ),
    stretched_pads=_ort_stretched_pads,
    same_is_ceil=("conv",),
    spec_rules=_ONNX_RESIZE,
    ceil_mode=True,
    count_include_pad=False,
    pool_stride_is_kernel=False,
    pool_dilation=("maxpool", "avgpool", "lppool"),
    # onnxruntime's MaxPool reads every input unit a window covers: a negative end padding only shortens the
    # output (its AveragePool stops at i + pe, as a crop does).
    max_pool_reads_cropped=True,
    pool_kinds=("maxpool", "avgpool", "lppool"),
    takes_opset=True,
    parameters=frozenset({"a", "output_shape"}),  # ConvTranspose takes an output_shape
    unpool_rules=(
        LayerRule(_each_pad(lambda p, k: lt(p, k)), "pad should be smaller than kernel"),
        *_unpool_rules("computed output dimension is not positive"),
    ),
)


# ONNX as the standard defines it: shape inference (onnx/defs/nn/defs.cc convPoolShapeInference,
# convTransposeShapeInference) and the reference evaluator (onnx/reference/ops), per opset. Where the two give
# different sizes the standard has no answer, and the refusal says what each gives
# (tests/test_diff_onnx.py compares both on every drawn configuration).

_STANDARD_EMPTY = (
    "the padded input is shorter than the kernel: shape inference (C++ division, unchecked) and the reference "
    "evaluator (floor division, refusing a negative size) give different sizes"
)


def _standard_transposed_size(g: Stretched) -> sympy.Expr:
    """Explicit pads: s(i - 1) + a + k_eff - pb - pe; SAME: i*s, where both paths give it (see the rules); with
    output_shape, that size."""
    if g.shape is not None:
        return _onnx_output_shape(g)
    if _onnx_auto(g):
        return g.i * g.s
    return _explicit_transposed_size(g)


def _standard_stretched_pads(g: Stretched) -> tuple[sympy.Expr, sympy.Expr]:
    if g.shape is not None and not _onnx_auto(g):
        # The reference evaluator keeps the pads given (0 when none are) and fills output_shape from -pb: the
        # stretched input gets k_eff - pb - 1 before it and what output_shape leaves after it.
        return g.span - g.pads[0] - 1, g.shape - g.s * (g.i - 1) + g.pads[0] - 1
    if g.shape is not None:
        # The total padding s(i-1) + a + k_eff - output_shape, split as onnx_transpose_pads splits it.
        a = 0 if g.a is None else g.a
        return _split_transposed_total(g, g.s * (g.i - 1) + a + g.span - g.shape)
    if _onnx_auto(g):
        # The reference evaluator: output_shape i*s, total padding s(i-1) + a + k_eff - i*s.
        a = 0 if g.a is None else g.a
        return _split_transposed_total(g, g.span + a - g.s)
    return _explicit_stretched_pads(g)


ONNX = Convention(
    "onnx",
    _ONNX_MODES,
    "explicit",
    # The reference evaluator's Conv: the dilated kernel, the total clamped at 0 (as TF's SAME).
    pads={**SHARED_PADS, "same_upper": same_upper_pads, "same_lower": same_lower_pads},
    window_count={"conv": floor_count, "pool": floor_count},
    window_rules=(
        # Where the numerator (with s - 1 added in ceil_mode) is >= 0 both paths give the floor count, and at -s
        # both give 0 (an empty output); elsewhere shape inference divides in C++, toward zero (1 for
        # -s < n < 0), and the reference evaluator floors (0) or refuses a negative size. Before opset 22,
        # ceil_mode takes the real ceiling on both paths, and they agree down to an empty output.
        LayerRule(
            lambda g: (
                ge(g.numerator, -g.s)
                if g.ceil and (g.opset or 22) < 22
                else sympy.Or(ge(g.numerator, 0), eq(g.numerator, -g.s))
            ),
            _STANDARD_EMPTY,
        ),
    ),
    transposed_size=_standard_transposed_size,
    transposed_rules=(
        LayerRule(lambda g: ge(g.a, 0), "output_padding must be >= 0", SpecError, lambda g: g.a is not None),
        LayerRule(
            lambda g: lt(g.a, g.s),
            "output_padding must be less than stride: shape inference accepts it, the reference evaluator's "
            "output does not fit the input",
            # with output_shape and no auto_pad the evaluator ignores output_padding (the rule below decides)
            applies=lambda g: g.a is not None and (g.shape is None or _onnx_auto(g)),
        ),
        # Shape inference gives s(i-1) + a + min(k_eff, s), the reference evaluator i*s (onnx #4299).
        LayerRule(
            lambda g: eq((0 if g.a is None else g.a) + sympy.Min(g.span, g.s), g.s),
            "ConvTranspose with auto_pad SAME: shape inference gives s*(i-1) + a + min(k_eff, s), the "
            "reference evaluator i*s (onnx #4299); they differ here",
            applies=lambda g: _onnx_auto(g) and g.shape is None,
        ),
        LayerRule(
            lambda g: ge(g.output, 0),
            "the output size is negative: shape inference gives it unchecked, the reference evaluator refuses",
            applies=lambda g: not _onnx_auto(g),
        ),
        # With output_shape: shape inference gives that size when it is at least the input's, and no shape
        # below; the reference evaluator places the i windows from -pb with the pads given (0 when none are:
        # it derives pads from output_shape only for SAME), and refuses unless they fill output_shape exactly.
        LayerRule(
            lambda g: ge(g.shape, g.i),
            "ConvTranspose with an output_shape below the input size: shape inference infers no shape (the "
            "reference evaluator may give one)",
            applies=lambda g: g.shape is not None,
        ),
        LayerRule(
            lambda g: eq(floor_div(g.shape + g.pads[0] + g.pads[1] - g.span, g.s) + 1, g.i),
            "ConvTranspose with output_shape and no auto_pad: the reference evaluator keeps the pads given (0 when "
            "none are) and needs its i windows to fill output_shape, floor((o + pb + pe - k_eff)/s) + 1 = i; shape "
            "inference gives output_shape regardless",
            applies=lambda g: g.shape is not None and not _onnx_auto(g),
        ),
    ),
    stretched_pads=_standard_stretched_pads,
    same_is_ceil=("conv", "pool"),
    spec_rules=_ONNX_RESIZE,
    ceil_mode=True,
    count_include_pad=False,
    pool_stride_is_kernel=False,
    pool_dilation=("maxpool", "avgpool", "lppool"),
    pool_kinds=("maxpool", "avgpool", "lppool"),
    # MaxPool-22, AveragePool-22 and LpPool-22 (onnx PR #5741): before, ceil_mode counts every window.
    ceil_drop_since=22,
    takes_opset=True,
    parameters=frozenset({"a", "output_shape"}),  # ConvTranspose takes an output_shape
    unpool_rules=_unpool_rules(
        "the output size is not positive: shape inference gives it unchecked, the reference evaluator refuses"
    ),
)


# JAX (lax.conv_general_dilated, lax.reduce_window, lax.conv_transpose): pads may be negative, the window count
# is clamped at 0, the transposed kernel is applied as stored.


def _jax_transposed_size(g: Stretched) -> sympy.Expr:
    if g.mode == "same":
        return g.i * g.s
    if g.mode == "valid":
        return (g.i - 1) * g.s + sympy.Max(g.span, g.s)
    pb, pe = g.pads
    if g.consistent:
        return sympy.Max(g.s * (g.i - 1) + g.span - pb - pe, 0)
    # The tuple pads the stride-dilated input directly (jax #17618).
    return sympy.Max(g.s * (g.i - 1) + pb + pe - g.span + 2, 0)


def _jax_stretched_pads(g: Stretched) -> tuple[sympy.Expr, sympy.Expr]:
    span, s = g.span, g.s
    pb, pe = g.pads
    if g.mode == "explicit":
        return (span - 1 - pb, span - 1 - pe) if g.consistent else (pb, pe)
    if g.mode == "valid":
        return span - 1, s - 1 + sympy.Max(span - s, 0)
    total = span + s - 2
    begin = sympy.Piecewise((span - 1, s > span - 1), (ceil_div(total, 2), True))
    return begin, total - begin


def _jax_padded(g: Stretched) -> sympy.Expr:
    """The stride-dilated input s(i-1) + 1, padded by the tuple (consistent: by k_eff - p - 1 a side)."""
    pb, pe = g.pads
    return g.s * (g.i - 1) + 1 + (2 * (g.span - 1) - pb - pe if g.consistent else pb + pe)


_JAX_NEGATIVE = "negative padding is larger than the size of the dimension"

JAX = Convention(
    "jax",
    {
        "conv": ("explicit", "valid", "same", "same_lower"),
        "pool": ("explicit", "valid", "same", "same_lower"),
        "convT": ("explicit", "valid", "same"),
    },
    "valid",
    pads={**SHARED_PADS, "same": same_upper_pads, "same_lower": same_lower_pads},
    window_count={"conv": clamped_count, "pool": clamped_count},
    window_rules=(
        # conv_shape_tuple checks this; reduce_window (pooling) does not and clamps the size to 0.
        LayerRule(
            lambda g: ge(g.i + g.pads[0] + g.pads[1], 0), _JAX_NEGATIVE, applies=lambda g: g.family == "conv"
        ),
    ),
    transposed_size=_jax_transposed_size,
    transposed_rules=(
        LayerRule(lambda g: ge(_jax_padded(g), 0), _JAX_NEGATIVE, applies=lambda g: g.mode == "explicit"),
    ),
    stretched_pads=_jax_stretched_pads,
    same_is_ceil=("conv", "pool"),
    floor_where_positive=True,
    negative_pads=True,
    pads_stretched_input=True,
    parameters=frozenset({"consistent"}),
    half_pixel=True,
    nearest=jax_nearest_source,
    spec_rules=(
        _LINEAR_RESIZE,
        # lax.reduce_window resolves SAME padding before it defaults the strides to 1, and fails.
        SpecRule(
            lambda spec: (
                spec.kind.endswith("pool")
                and spec.get("s") is None
                and spec.get("p") in ("same", "same_lower")
            ),
            "jax reduce_window with {p} padding needs explicit strides",
            ShapeError,
        ),
    ),
    pool_stride_is_kernel=False,
    pool_dilation=("maxpool", "avgpool"),
    rotates_transposed_kernel=False,
)


CONVENTIONS: dict[str | None, Convention] = {
    None: PAPER,
    "torch": TORCH,
    "tf": TF,
    "keras": KERAS,
    "tf_keras": TF_KERAS,
    "keras:tensorflow": KERAS_TENSORFLOW,
    "onnx": ONNX,
    "ort": ORT,
    "jax": JAX,
}
# The tables other modules read, derived from the conventions: a spec's framework prefixes, ...
FRAMEWORKS = tuple(name for name in CONVENTIONS if name is not None and ":" not in name)
MODES = {name: c.modes for name, c in CONVENTIONS.items()}
CEIL_MODE = tuple(name for name, c in CONVENTIONS.items() if c.ceil_mode)
DEFAULT_MODE = {name: c.default_mode for name, c in CONVENTIONS.items()}
# The optional parameters `Convention.parameters` lists, as the frameworks name them.
OPTIONAL_PARAMETERS = {
    "a": "output_padding",
    "consistent": "consistent (use_consistent_padding)",
    "output_shape": "output_shape",
}


# What layers call: each reads the layer's convention, none branches on a framework's name.


@lru_cache(maxsize=4096)
def auto_pads(
    framework: str | None, mode: str, i: Any, k: Any, s: Any, d: Any, family: str = "conv"
) -> tuple[sympy.Expr, sympy.Expr]:
    """(begin, end) padding of a non-explicit mode at input size i."""
    return CONVENTIONS[framework].pads[mode](i, k, s, d, family)


def window_output(
    framework: str | None, i: Any, pb: Any, pe: Any, k_eff: Any, s: Any, family: str = "conv", mode: str = ""
) -> sympy.Expr:
    """Output size of a floor-mode window (convolution or pooling) over the padded input."""
    return CONVENTIONS[framework].count(family, mode, i, (pb, pe), k_eff, s)


def ceil_output(i: Any, pb: Any, pe: Any, k_eff: Any, s: Any, drop: bool = True) -> sympy.Expr:
    """ceil_mode (PyTorch, ONNX): ceil instead of floor, then drop a last window starting in the right padding
    (unless `drop` is false: ONNX before opset 22 counts it).

    With M = i + pb + pe - k_eff + s - 1 the rule (o - 1)s >= i + pb reads M mod s <= c, c = pe - k_eff + s - 1.
    When the parameters are numbers that is decided once: never (c < 0), always (c >= s - 1), or, between,
    for M mod s <= c alone, which gives floor(M/s) + [M mod s > c] = floor((M + s - 1 - c)/s) = ceil((i + pb)/s)
    windows: every window that starts inside the input or the left padding (no Piecewise, no mod term enters a
    network's formulas).
    """
    top = i + pb + pe - k_eff + s - 1
    o = floor_div(top, s) + 1
    if not drop:
        return o
    c = sympy.expand(pe - k_eff + s - 1)
    if isinstance(c, sympy.Integer) and isinstance(s, sympy.Integer) and _constant(pb, pe, k_eff):
        if c < 0:
            return o
        if c >= s - 1:
            return o - 1
        return ceil_div(i + pb, s)
    if any(isinstance(v, sympy.Basic) and v.has(sympy.Piecewise) for v in (pb, pe)):
        # Automatic pads in C++ division are Piecewise: SymPy would rewrite a Piecewise whose condition holds
        # one into ITE and solve it as a set (seconds). For an integer X, [X >= 0] = min(max(X + 1, 0), 1).
        dropped = (o - 1) * s - i - pb + 1
        return o - sympy.Min(sympy.Max(dropped, 0, evaluate=False), 1, evaluate=False)
    return sympy.Piecewise((o - 1, ge((o - 1) * s, i + pb)), (o, True))


def _constant(*values: Any) -> bool:
    """True when no value depends on a symbol (automatic paddings depend on the input size)."""
    return all(not getattr(v, "free_symbols", set()) for v in values)


def window_rules(
    framework: str | None,
    family: str,
    mode: str,
    i: Any,
    pads: tuple[Any, Any],
    explicit: tuple[Any, Any],
    k: Any,
    s: Any,
    d: Any,
    output: Any,
    ceil: bool,
    op: str = "",
    opset: int | None = None,
    rank: int | None = None,
) -> Conditions:
    """Where a convolution or pooling layer is defined; `explicit` are the spec's pads, `pads` the ones used;
    `op` is "max", "avg" or "lp" for pooling, `opset` the ONNX opset a pooling spec names, `rank` the number of
    spatial axes it runs on (None: not known)."""
    convention = CONVENTIONS[framework]
    geometry = Sliding(family, mode, i, k, s, d, pads, explicit, output, ceil, op, opset, rank)
    rules = base_rules(i, k, s, d)
    if mode == "explicit" and not convention.negative_pads:
        rules += padding_rules(*explicit)
    return rules + [rule.at(geometry) for rule in convention.window_rules if rule.applies(geometry)]


def rank_refusal(framework: str | None, rank: int, kind: str = "") -> str | None:
    """Why the convention has no layer (of `kind`) over `rank` spatial axes (None: it has one)."""
    convention = CONVENTIONS[framework]
    if rank < 1:
        return "a layer runs on at least one spatial axis"
    if kind in convention.kind_axes and rank > convention.kind_axes[kind]:
        most = convention.kind_axes[kind]
        return f"{convention.name} {kind} runs on at most {most} spatial axes (the last {most}), not {rank}"
    if convention.max_axes is not None and rank > convention.max_axes:
        return (
            f"{convention.name} layers run on 1 to {convention.max_axes} spatial axes (the largest is a "
            f"{convention.max_axes}-D convolution or pooling), not {rank}"
        )
    return None


def unpool_rules(
    framework: str | None, i: Any, k: Any, s: Any, pads: tuple[Any, Any], size: Any
) -> Conditions:
    """Where MaxUnpool is defined: its pads as the MaxPool it undoes takes them, `size` the output_shape given
    (None: none)."""
    convention = CONVENTIONS[framework]
    if convention.unpool_rules is None:
        raise SpecError(f"maxunpool does not exist in the {convention.name} convention")
    geometry = Sliding("unpool", "explicit", i, k, s, sympy.Integer(1), pads, pads, size)
    rules = base_rules(i, k, s, 1) + padding_rules(*pads)
    if size is not None:
        rules.append(Rule(ge(size, 1), "output_shape must be a positive integer", SpecError))
    return rules + [rule.at(geometry) for rule in convention.unpool_rules if rule.applies(geometry)]


def transposed_output(
    framework: str | None,
    mode: str,
    i: Any,
    k: Any,
    s: Any,
    d: Any,
    pads: tuple[Any, Any],
    a: Any,
    consistent: bool,
    shape: Any = None,
) -> sympy.Expr:
    """Output size of a transposed convolution; `a` None means the framework's default output_padding;
    `shape` is the output_shape of a layer that takes one."""
    return CONVENTIONS[framework].transposed_size(
        Stretched(mode, i, k, s, d, pads, a, consistent, shape=shape)
    )


def transposed_rules(
    framework: str | None,
    mode: str,
    i: Any,
    k: Any,
    s: Any,
    d: Any,
    explicit: tuple[Any, Any],
    a: Any,
    output: Any,
    consistent: bool,
    shape: Any = None,
) -> Conditions:
    convention = CONVENTIONS[framework]
    geometry = Stretched(mode, i, k, s, d, explicit, a, consistent, output, shape)
    rules = base_rules(i, k, s, d)
    if mode == "explicit" and not convention.negative_pads:
        rules += padding_rules(*explicit)
    return rules + [rule.at(geometry) for rule in convention.transposed_rules if rule.applies(geometry)]


def stretched_pads(
    framework: str | None,
    mode: str,
    k: Any,
    s: Any,
    d: Any,
    pads: tuple[Any, Any],
    a: Any,
    consistent: bool,
    i: Any = None,
    shape: Any = None,
) -> tuple[sympy.Expr, sympy.Expr]:
    """(before, after) padding of a transposed convolution's stretched input, as its framework computes it
    (at input size i, for a layer that takes an output_shape)."""
    return CONVENTIONS[framework].stretched_pads(
        Stretched(mode, i, k, s, d, pads, a, consistent, shape=shape)
    )


def onnx_inference_window(i: Any, pb: Any, pe: Any, k_eff: Any, s: Any) -> sympy.Expr:
    """ONNX shape inference for Conv/pooling: C++ truncating division and no check, so it can return <= 0."""
    return trunc_div(i + pb + pe - k_eff, s) + 1


def torch_output_padding(i: int, s: int, p: int, k: int, d: int, requested: int) -> int:
    """PyTorch's forward(output_size=...): the output_padding it derives, or ValueError as PyTorch raises."""
    smallest = (i - 1) * s - 2 * p + d * (k - 1) + 1
    largest = smallest + s - 1
    if not smallest <= requested <= largest:
        raise ShapeError(
            f"requested an output size of {requested}, but valid sizes range from {smallest} to {largest} "
            f"(for an input of {i})"
        )
    return requested - smallest


def tf_transpose_output_range(i: int, k: int, s: int, padding: str, d: int = 1) -> tuple[int, int]:
    """The output_shape values TensorFlow's conv transpose accepts: those whose forward window gives back i.

    VALID: [(i-1)s + k_eff, (i-1)s + k_eff + s - 1]; SAME: [(i-1)s + 1, i*s] (conv_grad_shape_utils.cc).
    """
    k_eff = d * (k - 1) + 1
    if padding.upper() == "VALID":
        low = (i - 1) * s + k_eff
        return low, low + s - 1
    if padding.upper() == "SAME":
        return (i - 1) * s + 1, i * s
    raise ShapeError(f"padding must be 'VALID' or 'SAME', got {padding!r}")


def onnx_transpose_pads(
    i: int, k: int, s: int, output_shape: int, a: int = 0, d: int = 1, auto_pad: str = "NOTSET"
) -> tuple[int, int]:
    """ONNX ConvTranspose with output_shape: total padding s(i-1) + a + k_eff - o, split by auto_pad
    (SAME_UPPER: begin = total/2, otherwise begin = total - total/2; onnx/defs/nn/defs.cc), in floor division
    as the reference evaluator computes it. A negative total is accepted, as shape inference, the reference
    evaluator and onnxruntime accept ONNX's own test_convtranspose_output_shape (strides 3 and 2, output_shape
    10 and 8 on a 3x3 input: a total of -1 on both axes); the output then extends past the last window.

    >>> onnx_transpose_pads(3, 3, 3, 10), onnx_transpose_pads(3, 3, 2, 8)
    ((0, -1), (0, -1))
    """
    total = s * (i - 1) + a + d * (k - 1) + 1 - output_shape
    begin = total // 2 if auto_pad.upper() == "SAME_UPPER" else total - total // 2
    return begin, total - begin
