"""The frameworks' conventions, as pure functions on SymPy expressions (sources in conventions.md).

A layer carries its framework (None: the paper's, equal to PyTorch's for explicit padding) and a padding mode;
these functions give the padding each mode implies, the division the framework uses, what an empty output
does, and the rules under which the framework refuses a configuration (each with its message).

Checked against the libraries themselves by the differential tests (torch meta tensors, Keras 3
compute_output_shape, jax.eval_shape on lax, ONNX shape inference and onnxruntime).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sympy

from .arith import ceil_div, eq, floor_div, ge, le, lt, mod
from .errors import ShapeError, SpecError, SymconvError

FRAMEWORKS = ("torch", "tf", "keras", "onnx", "jax")


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
class Convention:
    """What one framework decides, as data: the padding modes it accepts per layer family ("conv", "pool",
    "convT"; "explicit" is a number or a (begin, end) pair) and its default, whether pooling has ceil_mode,
    whether average pooling counts padding in its divisor by default, whether pooling's stride defaults to the
    kernel, which pooling kinds take a dilation, and whether a transposed convolution applies the kernel
    rotated (the direct convolution over the stretched input) or as stored (JAX's transpose_kernel=False).
    The size formulas and refusal rules below branch on the same names; sources in conventions.md."""

    name: str
    modes: dict[str, tuple[str, ...]]
    default_mode: str
    ceil_mode: bool
    count_include_pad: bool
    pool_stride_is_kernel: bool
    pool_dilation: tuple[str, ...]
    rotates_transposed_kernel: bool = True


CONVENTIONS: dict[str | None, Convention] = {
    None: Convention(
        "paper",
        {
            "conv": ("explicit", "valid", "same", "full"),
            "pool": ("explicit", "valid"),
            "convT": ("explicit",),
        },
        "explicit",
        ceil_mode=True,
        count_include_pad=True,
        pool_stride_is_kernel=True,
        pool_dilation=("maxpool",),
    ),
    "torch": Convention(
        "torch",
        {"conv": ("explicit", "valid", "same"), "pool": ("explicit",), "convT": ("explicit",)},
        "explicit",
        ceil_mode=True,
        count_include_pad=True,
        pool_stride_is_kernel=True,
        pool_dilation=("maxpool",),
    ),
    "tf": Convention(
        "tf",
        {"conv": ("explicit", "valid", "same"), "pool": ("valid", "same"), "convT": ()},
        "valid",
        ceil_mode=False,
        count_include_pad=False,
        pool_stride_is_kernel=True,
        pool_dilation=(),
    ),
    "keras": Convention(
        "keras",
        {"conv": ("valid", "same", "causal"), "pool": ("valid", "same"), "convT": ("valid", "same")},
        "valid",
        ceil_mode=False,
        count_include_pad=False,
        pool_stride_is_kernel=True,
        pool_dilation=(),
    ),
    "onnx": Convention(
        "onnx",
        {
            "conv": ("explicit", "valid", "same_upper", "same_lower"),
            "pool": ("explicit", "valid", "same_upper", "same_lower"),
            "convT": ("explicit", "valid"),
        },
        "explicit",
        ceil_mode=True,
        count_include_pad=False,
        pool_stride_is_kernel=False,
        pool_dilation=("maxpool", "avgpool"),
    ),
    "jax": Convention(
        "jax",
        {
            "conv": ("explicit", "valid", "same", "same_lower"),
            "pool": ("explicit", "valid", "same", "same_lower"),
            "convT": ("explicit", "valid", "same"),
        },
        "valid",
        ceil_mode=False,
        count_include_pad=True,
        pool_stride_is_kernel=False,
        pool_dilation=("maxpool", "avgpool"),
        rotates_transposed_kernel=False,
    ),
}
# The tables other modules read, derived from the conventions.
MODES = {name: c.modes for name, c in CONVENTIONS.items()}
CEIL_MODE = tuple(name for name, c in CONVENTIONS.items() if c.ceil_mode)
DEFAULT_MODE = {name: c.default_mode for name, c in CONVENTIONS.items()}


def effective_kernel(k: Any, d: Any) -> sympy.Expr:
    """k_eff = d(k - 1) + 1, the span of a dilated kernel (the paper's k^ = k + (k-1)(d-1))."""
    return d * (k - 1) + 1


def trunc_div(a: Any, b: Any) -> sympy.Expr:
    """C's integer division (toward zero), as TensorFlow's and ONNX's C++ compute it; b > 0."""
    return sympy.Piecewise((floor_div(a, b), ge(a, 0)), (-floor_div(-a, b), True))


@lru_cache(maxsize=4096)
def same_total(i: Any, k_eff: Any, s: Any) -> sympy.Expr:
    """TF/Keras/JAX/ONNX 'same': the total padding that makes o = ceil(i/s)."""
    return sympy.Max((ceil_div(i, s) - 1) * s + k_eff - i, 0)


@lru_cache(maxsize=4096)
def auto_pads(
    framework: str | None, mode: str, i: Any, k: Any, s: Any, d: Any, family: str = "conv"
) -> tuple[sympy.Expr, sympy.Expr]:
    """(begin, end) padding of a non-explicit mode at input size i."""
    if framework == "onnx" and family == "pool" and mode in ("same_upper", "same_lower"):
        # onnxruntime pool_attributes.h: the undilated kernel, no clamp at 0, C++ division.
        needed = (ceil_div(i, s) - 1) * s + k - i
        head = trunc_div(needed + (1 if mode == "same_lower" else 0), 2)
        return head, needed - head
    k_eff = effective_kernel(k, d)
    if framework == "onnx" and family == "conv" and mode in ("same_upper", "same_lower"):
        # onnxruntime's Conv (1.32, probed in tests/test_windowmap_diff.py): the total is not clamped at 0 (a
        # kernel shorter than the stride gives a negative one, which crops), and the head is the C++ quotient
        # total/2 (SAME_UPPER) or (total + 1)/2 (SAME_LOWER), of total + 1 when the total is negative:
        # k=5, s=10, i=20 has total -5 and heads -2 (SAME_UPPER) and -1 (SAME_LOWER). The output, ceil(i/s), does
        # not depend on the split; the last window ends exactly at the cropped end.
        needed = (ceil_div(i, s) - 1) * s + k_eff - i
        negative = sympy.Min(sympy.Max(-needed, 0), 1)  # [needed < 0] on integers
        head = trunc_div(needed + negative + (1 if mode == "same_lower" else 0), 2)
        return head, needed - head
    zero = sympy.Integer(0)
    if mode == "valid":
        return zero, zero
    if mode == "full":
        return k_eff - 1, k_eff - 1
    if mode == "causal":
        return k_eff - 1, zero
    if mode == "same" and framework in (None, "torch"):
        # PyTorch: total d(k-1) whatever the input (stride 1 only), the odd element at the end.
        total = d * (k - 1)
        return floor_div(total, 2), total - floor_div(total, 2)
    total = same_total(i, k_eff, s)
    half = floor_div(total, 2)
    if mode == "same_lower":
        return total - half, half
    return half, total - half


AUTO_SAME = ("same", "same_upper", "same_lower")


def window_output(
    framework: str | None, i: Any, pb: Any, pe: Any, k_eff: Any, s: Any, family: str = "conv", mode: str = ""
) -> sympy.Expr:
    """Output size of a floor-mode window (convolution or pooling) over the padded input."""
    if (
        mode in AUTO_SAME
        and framework in ("tf", "keras", "jax", "onnx")
        and not (framework, family) == ("onnx", "pool")
    ):
        # What these frameworks compute for SAME (TF: (i + s - 1)/s); proofs/frameworks.toml proves that the
        # padding rule gives exactly this, so the formula stays small in a network.
        return ceil_div(i, s)
    numerator = i + pb + pe - k_eff
    if framework == "onnx" and family == "pool":
        # onnxruntime pool_attributes.h ComputeOutputSize: numerator / stride in C++.
        return trunc_div(numerator, s) + 1
    if framework == "tf":
        # GetWindowedOutputSizeVerbose: (i + pads - k_eff + s) / s in C++.
        return trunc_div(numerator + s, s)
    o = floor_div(numerator, s) + 1
    return sympy.Max(o, 0) if framework == "jax" else o


def ceil_output(i: Any, pb: Any, pe: Any, k_eff: Any, s: Any) -> sympy.Expr:
    """ceil_mode (PyTorch, ONNX): ceil instead of floor, then drop a last window starting in the right padding.

    With M = i + pb + pe - k_eff + s - 1 the rule (o - 1)s >= i + pb reads M mod s <= c, c = pe - k_eff + s - 1.
    When the parameters are numbers that is decided once: never (c < 0), always (c >= s - 1), or, between,
    by the indicator floor((c - M mod s)/s) + 1, so no Piecewise enters a network's formulas.
    """
    top = i + pb + pe - k_eff + s - 1
    o = floor_div(top, s) + 1
    c = sympy.expand(pe - k_eff + s - 1)
    if isinstance(c, sympy.Integer) and isinstance(s, sympy.Integer) and _constant(pb, pe, k_eff):
        if c < 0:
            return o
        if c >= s - 1:
            return o - 1
        return o - (floor_div(c - mod(top, s), s) + 1)
    if any(isinstance(v, sympy.Basic) and v.has(sympy.Piecewise) for v in (pb, pe)):
        # Automatic pads in C++ division are Piecewise: SymPy would rewrite a Piecewise whose condition holds
        # one into ITE and solve it as a set (seconds). For an integer X, [X >= 0] = min(max(X + 1, 0), 1).
        dropped = (o - 1) * s - i - pb + 1
        return o - sympy.Min(sympy.Max(dropped, 0, evaluate=False), 1, evaluate=False)
    return sympy.Piecewise((o - 1, ge((o - 1) * s, i + pb)), (o, True))


def _constant(*values: Any) -> bool:
    """True when no value depends on a symbol (automatic paddings depend on the input size)."""
    return all(not getattr(v, "free_symbols", set()) for v in values)


INPUT_RULE = "input size must be a positive integer"


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


PADDED_RULE = "the padded input must be at least the effective kernel: i + pb + pe >= d*(k-1) + 1"


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
) -> Conditions:
    """Where a convolution or pooling layer is defined; `explicit` are the spec's pads, `pads` the ones used;
    `op` is "max" or "avg" for pooling."""
    pb, pe = pads
    k_eff = effective_kernel(k, d)
    rules = base_rules(i, k, s, d)
    if mode == "explicit" and framework != "jax":
        rules += padding_rules(*explicit)
    if framework in (None, "torch"):
        if mode == "same":
            rules.append((eq(s, 1), "padding='same' is not supported for strided convolutions"))
        if framework == "torch" and family == "pool":
            # PyTorch 2.x: pad <= kernel_size/2 with the undilated kernel.
            rules += [
                (le(2 * p, k), "pad should be at most half of kernel size") for p in dict.fromkeys(explicit)
            ]
        if ceil:
            rules.append((ge(output, 1), "the output size must be >= 1"))
        else:
            rules.append((ge(i + pb + pe, k_eff), PADDED_RULE))
    elif framework == "tf":
        rules.append((ge(output, 0), "computed output size would be negative"))
    elif framework == "keras":
        if family == "conv":
            rules.append(
                (
                    sympy.Or(eq(s, 1), eq(d, 1)),
                    "strides > 1 not supported in conjunction with dilation_rate > 1",
                )
            )
        rules.append((ge(output, 1), "computed output size would be zero or negative"))
    elif framework == "onnx":
        # onnxruntime's rules (conv_attributes.h, pool_attributes.h, pool.cc).
        if family == "pool":
            rules += [(lt(p, k), "pad should be smaller than kernel") for p in dict.fromkeys(explicit)]
            if op == "max" and mode in ("same_upper", "same_lower"):
                rules.append(
                    (
                        sympy.Or(sympy.Ne(d, 1), sympy.And(ge(pb, 0), ge(pe, 0))),
                        "padding values must be non-negative",
                    )
                )
            rules.append((ge(output, 0), "calculated output dimension is negative"))
        else:
            if mode in ("same_upper", "same_lower"):
                rules.append((eq(d, 1), "dilation not supported for auto_pad SAME_UPPER or SAME_LOWER"))
            rules.append((ge(output, 1), "the output size must be >= 1"))
    elif framework == "jax" and family == "conv":
        # conv_shape_tuple checks this; reduce_window (pooling) does not and clamps the size to 0.
        rules.append((ge(i + pb + pe, 0), "negative padding is larger than the size of the dimension"))
    return rules


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
) -> sympy.Expr:
    """Output size of a transposed convolution; `a` None means the framework's default output_padding."""
    k_eff = effective_kernel(k, d)
    pb, pe = pads
    if framework == "keras":
        if mode == "valid":
            extra = sympy.Max(k_eff, s) - k_eff if a is None else a
            return (i - 1) * s + k_eff + extra
        return i * s if a is None else (i - 1) * s + mod(k_eff, 2) + a
    if framework == "jax":
        if mode == "same":
            return i * s
        if mode == "valid":
            return (i - 1) * s + sympy.Max(k_eff, s)
        if consistent:
            return sympy.Max(s * (i - 1) + k_eff - pb - pe, 0)
        # The tuple pads the stride-dilated input directly (jax #17618).
        return sympy.Max(s * (i - 1) + pb + pe - k_eff + 2, 0)
    extra = 0 if a is None else a
    return s * (i - 1) - pb - pe + k_eff + extra


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
) -> Conditions:
    rules = base_rules(i, k, s, d)
    if framework in (None, "torch", "onnx") and mode == "explicit":
        rules += padding_rules(*explicit)
    if framework in (None, "torch"):
        out_pad = 0 if a is None else a
        rules += [
            Rule(ge(out_pad, 0), "output_padding must be >= 0", SpecError),
            (
                sympy.Or(lt(out_pad, s), lt(out_pad, d)),
                "output_padding must be smaller than either stride or dilation",
            ),
            (ge(output, 1), "the output size must be >= 1"),
        ]
    elif framework == "keras":
        if a is not None:
            rules += [
                Rule(ge(a, 0), "output_padding must be >= 0", SpecError),
                Rule(lt(a, s), "stride must be greater than output padding"),
            ]
        rules.append(
            (sympy.Or(eq(s, 1), eq(d, 1)), "strides > 1 not supported in conjunction with dilation_rate > 1")
        )
    elif framework == "onnx":
        if a is not None:
            # onnxruntime refuses a >= max(s, d), and s <= a < d gives an inconsistent shape: in effect a < s.
            rules += [
                Rule(ge(a, 0), "output_padding must be >= 0", SpecError),
                Rule(lt(a, s), "output_padding must be less than stride"),
            ]
        rules.append((ge(output, 1), "the output size must be >= 1"))
    elif framework == "jax" and mode == "explicit":
        pb, pe = explicit
        k_eff = effective_kernel(k, d)
        # The stride-dilated input s(i-1) + 1, padded by the tuple (consistent: by k_eff - p - 1 a side).
        padded = s * (i - 1) + 1 + (2 * (k_eff - 1) - pb - pe if consistent else pb + pe)
        rules.append((ge(padded, 0), "negative padding is larger than the size of the dimension"))
    return rules


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
    (SAME_UPPER: begin = total/2, otherwise begin = total - total/2; onnx/defs/nn/defs.cc)."""
    total = s * (i - 1) + a + d * (k - 1) + 1 - output_shape
    if total < 0:
        raise ShapeError(f"output_shape {output_shape} is larger than the transposed convolution can produce")
    begin = total // 2 if auto_pad.upper() == "SAME_UPPER" else total - total // 2
    return begin, total - begin
