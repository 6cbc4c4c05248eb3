"""Differential tests of `symconv.logic.port`: every answer checked by running both layers on the same data.

For each (source spec, target framework) pair, `port` answers at one of its levels, and the answer is run:

- "same windows": the source and `equivalent` run on the same random input and weights (the weights flipped
  along the spatial axis when a note says the target applies the kernel reversed) give the same output at
  every input size 1..MAX_SIZE where the source is defined;
- "same windows after a pad": the source against `pad["then"]` run on the input padded with the per-residue
  amounts of `pad["by_residue"]` (value 0, or -inf for max pooling; a negative amount crops);
- "same size only" (and the same-size layer any answer names): at the counterexample's input size, the outputs
  of the source and the same-size layer at position j really differ, for random input and weights;
- "none": no PyTorch (JAX) layer with the source's kernel, stride and dilation, whatever its padding,
  output_padding or ceil_mode, gives the source's output size at every input size 1..MAX_SIZE, as the library
  itself computes them.

Pooling windows are compared by the inputs they read (tap order does not matter without weights), so a
same-size counterexample for max pooling is an input size where the outputs really differ.

Every layer runs in its own library on one channel, 1-D:

- torch   F.conv1d, F.conv_transpose1d, F.max_pool1d, F.avg_pool1d (count_include_pad=True), float64;
- jax     lax.conv_general_dilated, lax.conv_transpose (transpose_kernel=False), lax.reduce_window (max with
          -inf; avg is the window sum over k, padding counted), float64; the runs at every size of one layer
          are compiled as one jit program (compiling dominates the cost, and a jit traces the same primitives);
- onnx    Conv, ConvTranspose, MaxPool, AveragePool (count_include_pad left at 0) in onnxruntime, float32
          (a one-node model with a symbolic length, one session per layer; the weights are a graph input);
- keras   Conv1D, Conv1DTranspose, MaxPooling1D, AveragePooling1D (Keras 3), float32;
- tf      TensorFlow is not installed. tf.conv and tf.maxpool are run as the same JAX call: TF's SAME, VALID and
          explicit paddings are JAX's (SAME pads max((ceil(i/s) - 1)s + k_eff - i, 0) in total, the odd one at
          the end; max pooling never picks the padding); tf.avgpool is the JAX window sum divided by the JAX
          window count of ones (TF's average leaves the padding out of the divisor).

Float64 results are compared to 1e-9, anything run in onnxruntime to 1e-5.
"""

from __future__ import annotations

import os
import sys
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from functools import cache, partial
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # real frameworks or whole models: -m "not slow" skips it

os.environ.setdefault("KERAS_BACKEND", "jax")
if "jax" not in sys.modules:
    # XLA compiling dominates the JAX runs (one program per layer); these flags halve it and change how XLA
    # optimises the program, not what the lax primitives compute. Only set if JAX is not started yet.
    os.environ.setdefault(
        "XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
    )

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
keras = pytest.importorskip("keras")

import sympy  # noqa: E402
from jax import lax  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

from symconv import layer  # noqa: E402
from symconv.core.layers import ConvTranspose, Layer, Pool, Windowed  # noqa: E402
from symconv.core.windowmap import flipped  # noqa: E402
from symconv.logic.port import AFTER_PAD, NONE, SAME_SIZE, SAME_WINDOWS, port  # noqa: E402
from tests import differential  # noqa: E402
from tests.differential import ints, one_torch_thread  # noqa: E402

MAX_SIZE = 24
SIZES = range(1, MAX_SIZE + 1)
LAYOUT = ("NCH", "OIH", "NCH")
F = torch.nn.functional

# ---------------------------------------------------------------------------------------------------------------
# The pairs


def _grid(template: str, target: str, **ranges: Sequence[Any]) -> list[tuple[str, str]]:
    combos: list[dict[str, Any]] = [{}]
    for key, values in ranges.items():
        combos = [{**c, key: v} for c in combos for v in values]
    return [(template.format(**c), target) for c in combos]


KS, STRIDES = range(1, 6), range(1, 4)
# TF SAME represented by JAX SAME, into PyTorch; then the tf.conv specs themselves, run as JAX SAME.
JAX_SAME = [
    *_grid("jax.conv(k={k}, s={s}, p=same)", "torch", k=KS, s=STRIDES),
    ("jax.conv(k=3, s=1, p=same, d=2)", "torch"),
    ("jax.conv(k=2, s=2, p=same_lower)", "torch"),
    ("jax.maxpool(k=3, s=2, p=same)", "torch"),
    ("jax.maxpool(k=2, s=2, p=same)", "torch"),
    ("jax.maxpool(k=1, s=2, p=same)", "torch"),
]
TF_AS_JAX = [
    *_grid("tf.conv(k={k}, s={s}, p=same)", "torch", k=KS, s=STRIDES),
    ("tf.conv(k=4, s=2, p=valid)", "torch"),
    ("tf.maxpool(k=3, s=2, p=same)", "torch"),
    ("tf.maxpool(k=2, s=2, p=same)", "torch"),
    ("tf.avgpool(k=3, s=2, p=same)", "torch"),
]
# PyTorch transposed convolutions (k, s, p, a, d varied) into JAX's conv_transpose with explicit pads.
TORCH_CONVT = [
    ("torch.convT(k=3, s=2, p=1, a=1)", "jax"),
    ("torch.convT(k=4, s=2, p=1)", "jax"),
    ("torch.convT(k=2, s=3, p=0, a=2)", "jax"),
    ("torch.convT(k=5, s=3, p=2, a=1)", "jax"),
    ("torch.convT(k=3, s=2, p=3, a=1)", "jax"),
    ("torch.convT(k=3, s=2, p=1, d=2, a=1)", "jax"),
    ("torch.convT(k=2, s=1, p=1, d=3, a=2)", "jax"),
    ("torch.convT(k=3, s=3, p=4, d=2, a=2)", "jax"),
    ("torch.convT(k=4, s=2, p=1)", "keras"),
    ("torch.convT(k=3, s=2, p=1, a=1)", "keras"),
    ("torch.convT(k=3, s=2, p=0)", "keras"),
]
# ONNX automatic padding into PyTorch, for every kernel up to 5 and stride up to 3 (k < s included), SAME_LOWER
# and SAME_UPPER in turn, and both where the odd total padding makes them differ.
ONNX_SAME = [
    *[
        (f"ort.conv(k={k}, s={s}, p={('same_lower', 'same_upper')[(k + s) % 2]})", "torch")
        for k in KS
        for s in STRIDES
    ],
    ("ort.conv(k=2, s=1, p=same_upper)", "torch"),
    ("ort.conv(k=4, s=1, p=same_lower)", "torch"),
    ("ort.conv(k=3, s=2, p=same_lower)", "torch"),
    ("ort.conv(k=5, s=3, p=same_upper)", "torch"),
    *_grid("ort.maxpool(k={k}, s={s}, p={mode})", "torch", k=(1, 2, 3), s=(2, 3), mode=("same_upper",)),
    ("ort.maxpool(k=4, s=2, p=same_lower)", "torch"),
    ("ort.maxpool(k=1, s=3, p=same_lower)", "torch"),
    ("ort.maxpool(k=2, s=3, p=same_lower)", "torch"),
    ("ort.maxpool(k=1, s=2, p=same_upper, ceil=true)", "torch"),
    ("ort.maxpool(k=2, s=2, p=same_upper, d=2)", "torch"),
    ("ort.avgpool(k=1, s=2, p=same_upper)", "torch"),
    ("ort.avgpool(k=2, s=3, p=same_upper, ceil=true)", "torch"),
    ("ort.avgpool(k=2, s=3, p=same_lower)", "torch"),
    ("ort.maxpool(k=2, s=3, p=same_upper)", "jax"),
    ("ort.conv(k=2, s=3, p=same_upper)", "jax"),
    ("ort.conv(k=1, s=3, p=same_lower)", "jax"),
    ("ort.conv(k=3, s=2, p=same_upper, d=1)", "jax"),
]
KERAS = [
    ("keras.conv(k=4, s=1, p=same)", "torch"),
    ("keras.conv(k=3, s=2, p=same)", "torch"),
    ("keras.conv(k=4, s=2, p=same)", "torch"),
    ("keras.conv(k=3, s=1, p=same, d=2)", "torch"),
    ("keras.conv(k=5, s=3, p=valid)", "torch"),
    ("keras.conv(k=3, s=1, p=causal, d=2)", "torch"),
    ("keras.maxpool(k=2, s=2, p=same)", "torch"),
    ("keras.avgpool(k=3, s=1, p=same)", "torch"),
    ("keras.avgpool(k=2, s=2, p=valid)", "torch"),
    ("keras.convT(k=3, s=2, p=same)", "torch"),
    ("keras.convT(k=4, s=2, p=same)", "torch"),
    ("keras.convT(k=3, s=2, p=valid)", "torch"),
    ("keras.convT(k=3, s=2, p=same)", "jax"),
    ("torch.conv(k=3, s=2, p=1)", "keras"),
    # ceil_mode into a framework without it: the overhang padded at the end, by residue of i.
    ("torch.maxpool(k=3, s=2, p=1, ceil=true)", "keras"),
    ("torch.maxpool(k=2, s=3, p=1, ceil=true)", "keras"),
    ("torch.maxpool(k=4, s=3, p=2, d=1, ceil=true)", "keras"),
    ("torch.avgpool(k=3, s=2, p=0, ceil=true)", "keras"),
]
# PyTorch pooling into ONNX (ceil_mode both ways, dilation, padding), and average pooling's divisor.
TORCH_POOLS = [
    ("torch.maxpool(k=3, s=2, p=1, ceil=true)", "ort"),
    ("torch.maxpool(k=3, s=2, p=1)", "ort"),
    ("torch.maxpool(k=2, s=2, p=0, ceil=true)", "ort"),
    ("torch.maxpool(k=4, s=4, p=2, ceil=true)", "ort"),
    ("torch.maxpool(k=3, s=3, p=0, ceil=true)", "ort"),
    ("torch.maxpool(k=2, s=3, p=1, ceil=true)", "ort"),
    ("torch.maxpool(k=3, s=2, p=1, d=2, ceil=true)", "ort"),
    ("torch.maxpool(k=5, s=2, p=2, d=2)", "ort"),
    ("torch.maxpool(k=3, s=1, p=1)", "jax"),
    ("torch.maxpool(k=3, s=2, p=1, ceil=true)", "jax"),
    ("torch.avgpool(k=3, s=2, p=0, ceil=true)", "ort"),
    ("torch.avgpool(k=2, s=2, p=0)", "ort"),
    ("torch.avgpool(k=4, s=3, p=0, ceil=true)", "ort"),
]
AVG_DIVISOR = [
    ("torch.avgpool(k=3, s=2, p=1)", "ort"),
    ("torch.avgpool(k=4, s=2, p=2)", "ort"),
    ("ort.avgpool(k=3, s=2, p=1)", "torch"),
    ("ort.avgpool(k=3, s=1, p=1, ceil=true)", "torch"),
    ("ort.avgpool(k=2, s=2, p=0, ceil=true)", "torch"),
    ("ort.avgpool(k=3, s=2, p=same_upper)", "torch"),
    ("torch.avgpool(k=3, s=1, p=1)", "jax"),
    ("keras.avgpool(k=3, s=2, p=same)", "torch"),
]
OTHERS = [
    ("torch.conv(k=3, s=2, p=1, d=2)", "jax"),
    ("torch.conv(k=5, s=3, p=2)", "ort"),
    ("ort.conv(k=3, s=2, p=[(1, 2)])", "jax"),
    ("ort.conv(k=3, s=2, p=[(2, 1)])", "torch"),
    ("jax.conv(k=3, s=2, p=[(2, -1)])", "torch"),
    ("jax.convT(k=3, s=2, p=same)", "torch"),
    ("jax.convT(k=4, s=2, p=[(2, 1)])", "torch"),
    ("ort.convT(k=3, s=2, p=1, a=1)", "torch"),
]
GROUPS = {
    "jax SAME -> torch": JAX_SAME,
    "tf (run as JAX) -> torch": TF_AS_JAX,
    "torch convT -> jax/keras": TORCH_CONVT,
    "onnx SAME -> torch": ONNX_SAME,
    "keras <-> torch": KERAS,
    "torch pools -> onnx/jax": TORCH_POOLS,
    "avg divisor": AVG_DIVISOR,
    "others": OTHERS,
}
SLIDING = (Windowed, ConvTranspose)  # the layers port answers for: a padding mode and (pb, pe)

PAIRS = [(group, spec, target) for group, pairs in GROUPS.items() for spec, target in pairs]


@cache
def _port(spec: str, target: str) -> Any:
    return port(layer(spec), target)


def onnx_negative_same(spec: str) -> bool:
    """ONNX automatic padding whose total is negative at some sizes (the kernel smaller than the stride; the
    undilated kernel for pooling, as onnxruntime computes it): symconv's ONNX pads for those are being fixed
    in parallel. None of these cases disagrees with onnxruntime today, so none is marked."""
    made = layer(spec)
    if made.framework != "ort" or getattr(made, "mode", "") not in ("same_upper", "same_lower"):
        return False
    k, s, d = (int(getattr(made, name)) for name in ("k", "s", "d"))
    return (k if isinstance(made, Pool) else d * (k - 1) + 1) < s


# ---------------------------------------------------------------------------------------------------------------
# Runners: run(layer, inputs, weights) -> one output per input (an exception where the library refuses)


def run_torch(made: Layer, xs: list[Any], w: Any) -> list[Any]:
    out = []
    weight = torch.from_numpy(np.asarray(w, dtype=np.float64))[None, None]
    with one_torch_thread():
        for x in xs:
            t = torch.from_numpy(np.asarray(x, dtype=np.float64))[None, None]
            try:
                out.append(_torch_one(made, t, weight)[0, 0].numpy())
            except RuntimeError as error:
                out.append(error)
    return out


def _torch_one(made: Layer, x: Any, w: Any) -> Any:
    assert isinstance(made, SLIDING), made.spec
    k, s, pb, pe, d = ints(made, "k", "s", "pb", "pe", "d")
    assert pb == pe, made.spec
    if isinstance(made, ConvTranspose):
        return F.conv_transpose1d(x, w, stride=s, padding=pb, output_padding=int(made.a or 0), dilation=d)
    padding: Any = made.mode if made.mode in ("same", "valid") else pb
    if isinstance(made, Pool):
        assert made.mode == "explicit"
        if made.op == "max":
            return F.max_pool1d(x, k, s, pb, dilation=d, ceil_mode=made.ceil)
        assert d == 1
        return F.avg_pool1d(x, k, s, pb, ceil_mode=made.ceil, count_include_pad=True)
    return F.conv1d(x, w, stride=s, padding=padding, dilation=d)


def _jax_padding(made: Layer, rank: int) -> Any:
    assert isinstance(made, SLIDING), made.spec
    if made.mode == "explicit":
        return ((0, 0),) * (rank - 1) + ((int(made.pb), int(made.pe)),)
    return {"same": "SAME", "same_lower": "SAME_LOWER", "valid": "VALID"}[made.mode]


def _jax_body(xs: list[Any], w: Any, kind: str, params: tuple[Any, ...]) -> list[Any]:
    """Every input through one lax call (kind: conv, convT, max, avg (padding counted), avg_tf (not))."""
    k, s, d, padding, consistent = params
    pad = padding if isinstance(padding, str) else list(padding)
    out = []
    for x in xs:
        x = x[None, None]
        if kind == "conv":
            y = lax.conv_general_dilated(
                x, w[None, None], (s,), pad, rhs_dilation=(d,), dimension_numbers=LAYOUT
            )
        elif kind == "convT":
            y = lax.conv_transpose(
                x,
                w[None, None],
                (s,),
                pad,
                rhs_dilation=(d,),
                dimension_numbers=LAYOUT,
                transpose_kernel=False,
                use_consistent_padding=consistent,
            )
        else:
            window: dict[str, Any] = dict(
                window_dimensions=(1, 1, k), window_strides=(1, 1, s), padding=pad, window_dilation=(1, 1, d)
            )
            if kind == "max":
                y = lax.reduce_window(x, -jax.numpy.inf, lax.max, **window)
            else:
                y = lax.reduce_window(x, 0.0, lax.add, **window)
                if kind == "avg":
                    y = y / k
                else:
                    y = y / lax.reduce_window(jax.numpy.ones_like(x), 0.0, lax.add, **window)
        out.append(y[0, 0])
    return out


_jax_many = jax.jit(_jax_body, static_argnames=("kind", "params"))


def _jax_call(made: Layer) -> tuple[str, tuple[Any, ...]]:
    """(kind, params) of _jax_body for a jax.* or tf.* layer."""
    if isinstance(made, ConvTranspose):
        kind, rank = "convT", 1
    elif isinstance(made, Pool):
        kind = made.op if made.framework != "tf" or made.op == "max" else "avg_tf"
        rank = 3
    else:
        kind, rank = "conv", 1
    k, s, d = ints(made, "k", "s", "d")
    return kind, (k, s, d, _jax_padding(made, rank), bool(getattr(made, "consistent", False)))


def run_jax(made: Layer, xs: list[Any], w: Any) -> list[Any]:
    """JAX itself for jax.* specs; for tf.* specs the same JAX call (see the module docstring)."""
    kind, params = _jax_call(made)
    weight = np.asarray(w, dtype=np.float64) if w is not None else np.zeros(1)
    with jax.enable_x64(True):
        try:
            return [np.asarray(y) for y in _jax_many(xs, weight, kind, params)]
        except (TypeError, ValueError):
            pass
        out: list[Any] = []  # one refused size: find which, one at a time
        for x in xs:
            try:
                out.append(np.asarray(_jax_many([x], weight, kind, params)[0]))
            except (TypeError, ValueError) as error:
                out.append(error)
        return out


OP_TYPE = {"conv": "Conv", "convT": "ConvTranspose", "maxpool": "MaxPool", "avgpool": "AveragePool"}


@cache
def _onnx_session(spec: str) -> Any:
    made = layer(spec)
    assert isinstance(made, SLIDING), made.spec
    k, s, d = ints(made, "k", "s", "d")
    attrs: dict[str, Any] = {"kernel_shape": [k], "strides": [s], "dilations": [d]}
    if made.mode == "explicit":
        attrs["pads"] = [int(made.pb), int(made.pe)]
    else:
        attrs["auto_pad"] = made.mode.upper()
    if isinstance(made, ConvTranspose) and made.a is not None:
        attrs["output_padding"] = [int(made.a)]
    if isinstance(made, Pool):
        attrs["ceil_mode"] = int(made.ceil)
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, "L"])]
    if not isinstance(made, Pool):
        inputs.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, [1, 1, k]))
    node = helper.make_node(OP_TYPE[made.kind], [v.name for v in inputs], ["y"], **attrs)
    graph = helper.make_graph(
        [node], "g", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)], ir_version=10)
    options = differential.ort_session_options()
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def run_onnx(made: Layer, xs: list[Any], w: Any) -> list[Any]:
    session = _onnx_session(made.spec)
    out: list[Any] = []
    for x in xs:
        feed = {"x": np.asarray(x, dtype=np.float32)[None, None]}
        if not isinstance(made, Pool):
            feed["w"] = np.asarray(w, dtype=np.float32)[None, None]
        try:
            (y,) = session.run(None, feed)
            out.append(y[0, 0].astype(np.float64))
        except Exception as error:  # onnxruntime's refusals (Fail, InvalidArgument, ...)
            out.append(error)
    return out


# float32: the suite shares one Keras per process, and when another module imported it first with the numpy
# backend, that backend mixes float32 into float64 layers (lax refuses mixed dtypes).
KERAS_DTYPE = "float32"


def _keras_layer(made: Layer, w: Any) -> Any:
    assert isinstance(made, SLIDING), made.spec
    k, s, d = ints(made, "k", "s", "d")
    common = {"strides": s, "padding": made.mode, "dtype": KERAS_DTYPE}
    if isinstance(made, Pool):
        pool = keras.layers.MaxPooling1D if made.op == "max" else keras.layers.AveragePooling1D
        return pool(pool_size=k, **common)
    if isinstance(made, ConvTranspose):
        a = None if made.a is None else int(made.a)
        built = keras.layers.Conv1DTranspose(
            1, k, output_padding=a, dilation_rate=d, use_bias=False, **common
        )
    else:
        built = keras.layers.Conv1D(1, k, dilation_rate=d, use_bias=False, **common)
    built.build((None, None, 1))
    built.kernel.assign(np.asarray(w, dtype=KERAS_DTYPE).reshape(k, 1, 1))
    return built


def run_keras(made: Layer, xs: list[Any], w: Any) -> list[Any]:
    """The layer called on every input (one jit program with the JAX backend, as for JAX)."""
    inputs = [np.asarray(x, dtype=KERAS_DTYPE)[None, :, None] for x in xs]
    with jax.enable_x64(True):
        built = _keras_layer(made, w)
        if keras.backend.backend() == "jax":
            try:
                ys = jax.jit(lambda batch: [built(x) for x in batch])(inputs)
                return [np.asarray(y)[0, :, 0] for y in ys]
            except (TypeError, ValueError):
                pass  # one refused size: find which, one at a time
        out: list[Any] = []
        for x in inputs:
            try:
                y = built(x)
                out.append(np.asarray(keras.ops.convert_to_numpy(y), dtype=np.float64)[0, :, 0])
            except (TypeError, ValueError) as error:
                out.append(error)
        return out


RUNNERS = {"torch": run_torch, "jax": run_jax, "tf": run_jax, "ort": run_onnx, "keras": run_keras}


def run(made: Layer, xs: list[Any], w: Any) -> list[Any]:
    assert made.framework is not None, made.spec
    return RUNNERS[made.framework](made, xs, w)


# ---------------------------------------------------------------------------------------------------------------
# Checks


def _data(spec: str, sizes: Sequence[int], salt: str = "") -> tuple[list[Any], Any]:
    """Random inputs (one per size) and kernel weights, seeded by the spec."""
    rng = np.random.default_rng(zlib.crc32((spec + salt).encode()))
    made = layer(spec)
    assert isinstance(made, SLIDING), spec
    k = int(made.k)
    return [rng.standard_normal(i) for i in sizes], rng.uniform(-1.0, 1.0, k)


def _tolerance(*made: Layer) -> float:
    # onnxruntime computes in float32; so does Keras when another test module imported it first with a
    # backend that keeps float32 kernels (the suite shares one Keras per process).
    return 1e-5 if any(m.framework in ("ort", "keras") for m in made) else 1e-9


def _close(a: Any, b: Any, tol: float) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=tol, atol=tol))


def _padded(x: Any, begin: int, end: int, value: float) -> Any:
    """F.pad: a positive amount adds cells holding `value`, a negative one crops."""
    x = x[max(-begin, 0) : len(x) - max(-end, 0)]
    return np.concatenate([np.full(max(begin, 0), value), x, np.full(max(end, 0), value)])


def _kernel_for(source: Layer, target: Layer, w: Any) -> Any:
    return w[::-1].copy() if flipped(source) != flipped(target) else w


def check_same_windows(source: Layer, result: Any) -> list[str]:
    target = layer(result.equivalent)
    flip = flipped(source) != flipped(target)
    noted = any("flip the weights" in note for note in result.notes)
    problems = [] if flip == noted else [f"flip note {noted} but the kernels are reversed: {flip}"]
    sizes = [i for i in SIZES if source.is_defined(i)]
    xs, w = _data(source.spec, sizes)
    return problems + _differences(source, target, sizes, xs, xs, w, lambda i: f"i={i}")


def _differences(
    source: Layer,
    target: Layer,
    sizes: list[int],
    xs: list[Any],
    target_xs: list[Any],
    w: Any,
    where: Callable[[int], str],
) -> list[str]:
    """Each size where the source on xs and the target on target_xs (the same weights, reversed for a target
    that applies the kernel reversed) give different outputs, or one of them refuses."""
    ours, theirs = run(source, xs, w), run(target, target_xs, _kernel_for(source, target, w))
    tol = _tolerance(source, target)
    problems = []
    for i, a, b in zip(sizes, ours, theirs, strict=True):
        if isinstance(a, Exception) or isinstance(b, Exception):
            problems.append(f"{where(i)}: {source.spec} -> {a!r}, {target.spec} -> {b!r}")
        elif len(a) != source.output_size(i) or not _close(a, b, tol):
            problems.append(
                f"{where(i)}: {source.spec} -> {np.round(a, 4)}, {target.spec} -> {np.round(b, 4)}"
            )
    return problems


def check_after_pad(source: Layer, result: Any) -> list[str]:
    pad = result.pad
    then = layer(pad["then"])
    problems = [] if pad["same_windows"] and pad["proof"]["status"] == "proved" else [f"pad: {pad}"]
    value = -np.inf if pad["value"] == "-inf" else 0.0
    assert pad["value"] == ("-inf" if isinstance(source, Pool) and source.op == "max" else "0")
    by_residue = pad["by_residue"]
    i_symbol = sympy.Symbol("i", integer=True)
    formulas = [sympy.sympify(pad[end], locals={"i": i_symbol}) for end in ("begin", "end")]
    sizes = [i for i in SIZES if source.is_defined(i)]
    amounts = {}
    for i in sizes:
        begin, end = by_residue["pads"][str(i % by_residue["period"])]
        formula = [int(f.subs(i_symbol, i)) for f in formulas]
        if formula != [begin, end]:
            problems.append(f"i={i}: pads by residue {[begin, end]}, by the formulas {formula}")
        amounts[i] = (begin, end)
    xs, w = _data(source.spec, sizes)
    padded = [_padded(x, *amounts[i], value) for i, x in zip(sizes, xs, strict=True)]
    return problems + _differences(source, then, sizes, xs, padded, w, lambda i: f"i={i} pads {amounts[i]}")


def check_windows_differ(source: Layer, same_size: dict[str, Any]) -> list[str]:
    other = layer(same_size["spec"])
    differ = same_size["windows_differ"]
    if differ is None:
        return [f"{other.spec}: same size only, but no counterexample"]
    i, j = differ["i"], differ["j"]
    # Max pooling picks one unit: windows that differ in one unit can still give the same maximum for one
    # draw, so a few draws are tried; one that differs is enough.
    for draw in range(8):
        xs, w = _data(source.spec, [i], f"differ {draw}")
        (a,), (b,) = run(source, xs, w), run(other, xs, _kernel_for(source, other, w))
        if isinstance(a, Exception) or isinstance(b, Exception):
            return [f"i={i}: {source.spec} -> {a!r}, {other.spec} -> {b!r}"]
        if len(a) != len(b) or len(a) != source.output_size(i):
            return [f"i={i}: sizes {len(a)} and {len(b)}, symconv says {source.output_size(i)}"]
        if abs(a[j] - b[j]) > 1e-3 and not (np.isinf(a[j]) and a[j] == b[j]):
            return []
    problem = (
        f"i={i}, j={j}: the windows {differ['source']['taps']} ({differ['source']['holds']}) and "
        f"{differ['target']['taps']} ({differ['target']['holds']}) give the same output {a[j]} = {b[j]}"
    )
    # Where do the outputs really differ, if anywhere?
    sizes = [n for n in SIZES if source.is_defined(n)]
    xs, w = _data(source.spec, sizes, "search")
    kernel = _kernel_for(source, other, w)
    for n, y, z in zip(sizes, run(source, xs, w), run(other, xs, kernel), strict=True):
        if not isinstance(y, Exception) and not isinstance(z, Exception) and not _close(y, z, 1e-6):
            at = next((m for m in range(min(len(y), len(z))) if not _close(y[m], z[m], 1e-6)), None)
            return [f"{problem}; they differ at i={n}, j={at}"]
    return [f"{problem}; they agree at every i up to {MAX_SIZE}"]


# ---------------------------------------------------------------------------------------------------------------
# "none": no target layer of the same output size? Searched by running the target library itself.


def _torch_candidates(source: Layer) -> list[tuple[str, Any]]:
    """PyTorch layers with the source's kernel, stride and dilation, every padding (and output_padding, ceil)."""
    k, s, d = ints(source, "k", "s", "d")
    span = d * (k - 1) + 1
    out: list[tuple[str, Any]] = []
    if isinstance(source, ConvTranspose):
        for p in range(span + 2):
            for a in range(max(s, d)):
                call = partial(F.conv_transpose1d, stride=s, padding=p, output_padding=a, dilation=d)
                out.append((f"torch.convT(k={k}, s={s}, p={p}, a={a}, d={d})", call))
    elif isinstance(source, Pool):
        for p in range(k // 2 + 1):
            for ceil in (False, True):
                flag = "true" if ceil else "false"
                if source.op == "max":
                    call = partial(
                        F.max_pool1d, kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil
                    )
                    out.append((f"torch.maxpool(k={k}, s={s}, p={p}, d={d}, ceil={flag})", call))
                elif d == 1:
                    call = partial(F.avg_pool1d, kernel_size=k, stride=s, padding=p, ceil_mode=ceil)
                    out.append((f"torch.avgpool(k={k}, s={s}, p={p}, ceil={flag})", call))
    else:
        for p in [*range(span + 1), *(["same"] if s == 1 else [])]:
            call = partial(F.conv1d, stride=s, padding=p, dilation=d)
            out.append((f"torch.conv(k={k}, s={s}, p={p}, d={d})", call))
    return out


def _torch_length(call: Any, i: int, k: int, pool: bool) -> int | None:
    x = torch.zeros(1, 1, i, dtype=torch.float64)
    try:
        return int((call(x) if pool else call(x, torch.zeros(1, 1, k, dtype=torch.float64))).shape[-1])
    except RuntimeError:
        return None


def _jax_candidates(source: Layer) -> list[tuple[str, str, tuple[Any, ...]]]:
    """JAX calls with the source's kernel, stride and dilation and every padding (pairs, modes)."""
    k, s, d = ints(source, "k", "s", "d")
    span = d * (k - 1) + 1
    modes: tuple[str, ...]
    if isinstance(source, ConvTranspose):
        kind, rank, modes = "convT", 1, ("SAME", "VALID")
    elif isinstance(source, Pool):
        kind, rank, modes = ("max" if source.op == "max" else "avg"), 3, ("SAME", "SAME_LOWER", "VALID")
    else:
        kind, rank, modes = "conv", 1, ("SAME", "SAME_LOWER", "VALID")
    pads: list[Any] = list(modes)
    pads += [((0, 0),) * (rank - 1) + ((b, e),) for b in range(-1, span + 2) for e in range(-1, span + 2)]
    name = {"convT": "convT", "max": "maxpool", "avg": "avgpool", "conv": "conv"}[kind]
    out = []
    for pad in pads:
        text = pad.lower() if isinstance(pad, str) else f"[({pad[-1][0]}, {pad[-1][1]})]"
        out.append((f"jax.{name}(k={k}, s={s}, d={d}, p={text})", kind, (k, s, d, pad, False)))
    return out


def _jax_length(kind: str, params: tuple[Any, ...], i: int) -> int | None:
    x = jax.ShapeDtypeStruct((i,), np.float32)
    w = jax.ShapeDtypeStruct((params[0],), np.float32)
    try:
        (y,) = jax.eval_shape(partial(_jax_body, kind=kind, params=params), [x], w)
    except (TypeError, ValueError):
        return None
    return int(y.shape[0])


def _torch_candidate_runs(call: Any, pool: bool, xs: list[Any], w: Any) -> list[Any]:
    weight = torch.from_numpy(np.asarray(w, dtype=np.float64))[None, None]
    with one_torch_thread():
        outs = []
        for x in xs:
            t = torch.from_numpy(np.asarray(x, dtype=np.float64))[None, None]
            outs.append((call(t) if pool else call(t, weight))[0, 0].numpy())
        return outs


def check_none(source: Layer, target: str) -> list[str]:
    """A "none" answer says no target layer has the source's output size at every input: look for one among
    the target layers with the same kernel, stride and dilation, their sizes taken from the library; say
    whether it even gives the same outputs (the kernel as is, or reversed)."""
    sizes = [i for i in SIZES if source.is_defined(i)]
    xs, w = _data(source.spec, sizes)
    ours = run(source, xs, w)
    lengths = [None if isinstance(y, Exception) else len(y) for y in ours]
    assert isinstance(source, SLIDING), source.spec
    k = int(source.k)
    pool = isinstance(source, Pool)
    found: list[tuple[str, Any]] = []  # (spec, a function of the kernel giving the outputs at every size)
    if target == "torch":
        with one_torch_thread():
            for text, call in _torch_candidates(source):
                if all(_torch_length(call, i, k, pool) == n for i, n in zip(sizes, lengths, strict=True)):
                    found.append((text, partial(_torch_candidate_runs, call, pool, xs)))
    elif target == "jax":
        for text, kind, params in _jax_candidates(source):
            if all(_jax_length(kind, params, i) == n for i, n in zip(sizes, lengths, strict=True)):

                def outputs(kernel: Any, kind: str = kind, params: tuple[Any, ...] = params) -> list[Any]:
                    with jax.enable_x64(True):
                        return [np.asarray(y) for y in _jax_many(xs, np.asarray(kernel), kind, params)]

                found.append((text, outputs))
    else:
        return []  # the search covers PyTorch and JAX targets
    problems = []
    for text, outputs in found[:3]:
        same = any(
            all(_close(a, b, _tolerance(source)) for a, b in zip(ours, outputs(kernel), strict=True))
            for kernel in (w, w[::-1].copy())
        )
        problems.append(
            f"port says none, but {text} has the output size of {source.spec} at every i in {sizes[0]}.."
            f"{sizes[-1]} where it is defined" + (" and the same outputs (same windows)" if same else "")
        )
    return problems


# ---------------------------------------------------------------------------------------------------------------
# Tests


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize(
    ("group", "spec", "target"),
    [pytest.param(*pair, id=f"{pair[1]}->{pair[2]}") for pair in PAIRS],
)
def test_port_answer_agrees_with_running_both_layers(group: str, spec: str, target: str) -> None:
    source = layer(spec)
    result = _port(spec, target)
    problems: list[str] = []
    if result.level == SAME_WINDOWS:
        problems += check_same_windows(source, result)
    elif result.level == AFTER_PAD:
        problems += check_after_pad(source, result)
    elif result.level == NONE:
        problems += check_none(source, target)
    if result.same_size is not None:
        problems += check_windows_differ(source, result.same_size)
    elif result.level == SAME_SIZE:
        problems.append("same size only without the same-size layer")
    assert not problems, f"{spec} -> {target} ({result.level}):\n" + "\n".join(problems[:8])


def test_every_level_and_group_is_exercised() -> None:
    """Each level is answered, and checked by running, often enough to mean something."""
    levels = Counter(_port(spec, target).level for _, spec, target in PAIRS)
    assert levels[SAME_WINDOWS] >= 20 and levels[AFTER_PAD] >= 20 and levels[SAME_SIZE] >= 3, levels
    assert levels[NONE] <= 12, levels
    differ = sum(_port(spec, target).same_size is not None for _, spec, target in PAIRS)
    assert differ >= 20
    flips = [pair for pair in PAIRS if any("flip" in note for note in _port(*pair[1:]).notes)]
    assert len(flips) >= 8
    jax_same = [_port(spec, target).level for spec, target in JAX_SAME[:15]]
    assert set(jax_same) == {SAME_WINDOWS, AFTER_PAD}, jax_same
    negative = [spec for _, spec, _ in PAIRS if onnx_negative_same(spec)]
    assert len(negative) >= 15, negative
