"""Impulse probes: symconv's window maps against PyTorch, onnxruntime, Keras and JAX themselves.

Every configuration (a layer and an input size i, drawn from a seeded random.Random, refused ones included) is
built in the real library and probed with a batch of one-hot inputs: batch row p holds a 1 at input position p,
so one call shows, for every p, which outputs j change and by how much. That is compared with
``symconv.core.windowmap.window_map(layer).window(i, j)`` for every output j:

- convolution and transposed convolution: the kernel weights are distinct powers of two, w[t] = 2**t (no bias),
  so output j of row p is 2**t exactly where tap t of window j reads p; the (p, j, t) triples must be the map's
  (positions whose `holds` is "input"; for a transposed layer, the listed units and their kernel taps);
- max pooling: the input is -1 with a 1 at p; output j must be 1 where window j reads p, -1 where it reads only
  other units, and -inf where it reads no unit at all (padding never wins: "-inf");
- average pooling: output j of row p is 1/divisor where window j reads p; the divisor must be the number of taps
  whose `holds` is "input" or "zero" (with the library's count_include_pad, or the one given);
- resampling (upsample, pixel shuffle and unshuffle, adaptive pooling): output j changes where it reads p (for
  the shuffles a 1 at spatial position p in every channel, each spatial axis against its own map).

An exception from the library must match a ShapeError or SpecError from symconv (building the layer or
output_size at i), and an output size must equal output_size.

How each library is run, cheaply:

- PyTorch: the functional op or the module (drawn), on one CPU thread, one call per configuration; whether it
  refuses is decided on a batch of one (see torch_observed: conv_transpose1d's check depends on the batch).
- onnxruntime: a one-node model with symbolic batch and length dimensions, so one session serves every input
  size of a drawn layer (opset 22, graph optimizations off, one thread, as tests/test_diff_onnx.py).
- JAX and Keras 3 (JAX backend): compiling one XLA executable per configuration costs about 0.1 s here, so
  configurations are traced in bundles of BUNDLE into one jax.jit with the probe inputs as constants; XLA's
  compiler then evaluates every op of the bundle itself (constant folding with its HloEvaluator) and returns the
  results as constants. One configuration in KERNEL_EVERY is also run with the inputs as arguments, through the
  compiled CPU kernels, and must give the same arrays (test_xla_kernels_match_the_folded_results). Keras layers
  are built once per drawn layer (weights set to 2**t) and called at each size; if Keras was already imported
  with another backend (tests/test_diff_keras.py sets numpy), the Keras probes run in a child process with
  KERAS_BACKEND=jax.

Where the library deviates from the exact rule symconv states, the deviation is recorded, not hidden: GAPS
names each class with the library's exact rule, test_documented_gaps_are_exact checks that the disagreements
are exactly the configurations the rule predicts (and that there are some), and the window comparison excludes
nothing else. Two library defects are recorded the same way: configurations on which XLA aborts the process
are skipped (xla_aborts, checked to still abort in a child process), and PyTorch refusals that depend on the
batch size are listed (TORCH_BATCH_DEPENDENT). benchmarks/windowmap_probe.py runs the same probes on more
configurations.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import random
import subprocess
import sys
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # real frameworks or whole models: -m "not slow" skips it

# Keras 3 picks its backend once, when first imported: JAX unless something imported it earlier.
os.environ.setdefault("KERAS_BACKEND", "jax")

np = pytest.importorskip("numpy")

import symconv  # noqa: E402
from symconv.core.layers import Layer  # noqa: E402
from symconv.core.windowmap import INPUT_UNIT, ZERO, window_map  # noqa: E402
from tests import differential  # noqa: E402
from tests.differential import Padding, interval_map, lax_padding, one_torch_thread, spec_text, symconv_layer  # noqa: E402

SEED = 20240701
# Drawn layers per (framework, group); each is probed at SIZES_PER_LAYER input sizes.
LAYERS = {
    ("torch", "conv"): 130,
    ("torch", "convT"): 130,
    ("torch", "pool"): 130,
    ("torch", "upsample"): 200,
    ("torch", "shuffle"): 130,
    ("torch", "adaptive"): 130,
    ("ort", "conv"): 130,
    ("ort", "convT"): 130,
    ("ort", "pool"): 130,
    ("keras", "conv"): 130,
    ("keras", "convT"): 130,
    ("keras", "pool"): 130,
    ("jax", "conv"): 130,
    ("jax", "convT"): 130,
    ("jax", "pool"): 130,
}
SIZES_PER_LAYER = 8
MIN_CONFIGS = 1000
MAX_SIZE = 40
BUNDLE = 150  # configurations per jax.jit bundle
KERNEL_EVERY = 150  # one configuration in KERNEL_EVERY also through the compiled kernels (JAX, Keras)
GROUP = {
    "maxpool": "pool",
    "avgpool": "pool",
    "pixelshuffle": "shuffle",
    "pixelunshuffle": "shuffle",
    "adaptiveavg": "adaptive",
    "adaptivemax": "adaptive",
}

Read = tuple[int, int, int, int]  # (axis, input position p, output j, kernel tap t or -1)


@dataclass(frozen=True)
class Config:
    """One layer at one input size, in one library. None: the parameter is left out of the library call (its
    default) and of the spec."""

    framework: str  # torch, ort (onnxruntime), keras, jax
    op: str  # conv, convT, maxpool, avgpool, upsample, pixelshuffle, pixelunshuffle, adaptiveavg, adaptivemax
    i: int
    k: int = 1
    s: int | None = None
    p: Padding | None = None
    d: int | None = None
    a: int | None = None  # output_padding
    ceil: bool | None = None
    counted: bool | None = None  # average pooling's count_include_pad
    consistent: bool | None = None  # JAX conv_transpose's use_consistent_padding
    scale: int | None = None  # upsample(scale=...)
    size: int | None = None  # upsample(size=...), adaptive pooling's output size
    r: int | None = None  # pixel (un)shuffle factor
    dims: int = 1  # 2: a 2-D op with a singleton second axis (pixel shuffle: a second axis of `width`)
    width: int = 1  # the second spatial axis of the pixel shuffles
    api: str = "functional"  # torch: functional or module
    mode: str | None = None  # upsample: linear (None: nearest, the default)
    align: bool | None = None  # linear upsampling's align_corners

    @property
    def group(self) -> str:
        return GROUP.get(self.op, self.op)

    def layer_key(self) -> Config:
        """The configuration without its input size: what one session, layer or symconv layer serves."""
        return Config(**{**self.__dict__, "i": 0})

    def spec(self) -> str:
        if self.op == "upsample":
            arg = f"scale={self.scale}" if self.scale is not None else f"size={self.size}"
            arg += "" if self.mode is None else f", mode={self.mode}"
            arg += "" if self.align is None else f", align_corners={str(self.align).lower()}"
            return f"{self.framework}.upsample({arg})"
        if self.op in ("pixelshuffle", "pixelunshuffle"):
            return f"{self.framework}.{self.op}(r={self.r})"
        if self.op in ("adaptiveavg", "adaptivemax"):
            return f"{self.framework}.adaptivepool(size={self.size})"
        names = ("k", "s", "p", "d", "a", "ceil", "consistent")
        return spec_text(self.framework, self.op, [(name, getattr(self, name)) for name in names])

    def short(self) -> str:
        extra = []
        if self.counted is not None:
            extra.append(f"count_include_pad={self.counted}")
        if self.dims == 2 and self.op not in ("pixelshuffle", "pixelunshuffle"):
            extra.append("2-D")
        if self.op in ("pixelshuffle", "pixelunshuffle"):
            extra.append(f"width {self.width}")
        if self.framework == "torch" and self.api == "module":
            extra.append("module")
        more = f" [{', '.join(extra)}]" if extra else ""
        return f"{self.spec()} at i={self.i}{more}"


@dataclass(frozen=True)
class Observed:
    """What a probe saw (or what symconv's map says): the output size, the (axis, p, j, tap) reads, the divisor of
    each average window that reads a unit, the outputs that read no unit, and values no rule explains."""

    status: str  # "ok" or "refused"
    detail: str = ""
    size: int = 0
    reads: frozenset[Read] = frozenset()
    divisors: tuple[tuple[int, int], ...] = ()
    empty: frozenset[int] = frozenset()
    anomalies: tuple[str, ...] = ()


def refused(error: BaseException | str) -> Observed:
    text = error if isinstance(error, str) else differential.message(error)
    return Observed("refused", text[:300])


# ---------------------------------------------------------------------------------------------------------------
# Drawing configurations


def _pads(rng: random.Random, low: int = 0, high: int = 4, pair: bool = True) -> Padding:
    if pair and rng.random() < 0.5:
        return (rng.randint(low, high), rng.randint(low, high))
    return rng.randint(low, high)


def _sizes(rng: random.Random) -> list[int]:
    """SIZES_PER_LAYER input sizes, small ones (where windows stop fitting and pads crop) drawn more often."""
    small = rng.sample(range(1, 9), SIZES_PER_LAYER // 2)
    return small + rng.sample(range(9, MAX_SIZE + 1), SIZES_PER_LAYER - len(small))


def _maybe(rng: random.Random, value: Any, chance: float = 0.12) -> Any:
    """The value, or None (left out: the library's default) with the given chance."""
    return None if rng.random() < chance else value


def _draw_torch(rng: random.Random, group: str) -> Config:
    k, s, d = rng.randint(1, 7), rng.randint(1, 4), rng.randint(1, 3)
    api = rng.choice(("functional", "module"))
    if group == "conv":
        form = rng.random()
        p: Padding = rng.randint(0, 4)
        if form < 0.2:
            p, s = "same", (1 if rng.random() < 0.7 else s)  # strided 'same' is refused: draw both
        elif form < 0.3:
            p = "valid"
        return Config("torch", "conv", 0, k, s, p, d, api=api)
    if group == "convT":
        return Config("torch", "convT", 0, k, s, rng.randint(0, 4), d, a=rng.choice((0, 0, 1, 2, 3)), api=api)
    if group == "pool":
        op = rng.choice(("maxpool", "avgpool"))
        stride = _maybe(rng, s, 0.15)  # None: PyTorch's default, the kernel
        # PyTorch refuses a padding over half the kernel: mostly draw the ones it takes.
        p = rng.randint(0, k // 2) if rng.random() < 0.8 else rng.randint(0, 4)
        if op == "maxpool":
            return Config("torch", op, 0, k, stride, p, d, ceil=rng.random() < 0.5, api=api)
        counted = rng.choice((None, True, False))
        return Config("torch", op, 0, k, stride, p, ceil=rng.random() < 0.5, counted=counted, api=api)
    if group == "upsample":
        # Nearest (the default) or linear, with and without align_corners.
        mode = rng.choice((None, None, "linear"))
        align = None if mode is None else rng.choice((None, True, False))
        if rng.random() < 0.4:
            return Config("torch", "upsample", 0, scale=rng.randint(1, 6), api=api, mode=mode, align=align)
        return Config("torch", "upsample", 0, size=rng.randint(1, 100), api=api, mode=mode, align=align)
    if group == "shuffle":
        r = rng.randint(1, 4)
        if rng.random() < 0.5:
            return Config("torch", "pixelshuffle", 0, r=r, dims=2, width=rng.randint(1, 6))
        return Config("torch", "pixelunshuffle", 0, r=r, dims=2, width=r * rng.randint(1, 3))
    op = rng.choice(("adaptiveavg", "adaptivemax"))
    return Config("torch", op, 0, size=rng.randint(1, MAX_SIZE + 5))


def _draw_onnx(rng: random.Random, group: str) -> Config:
    k = rng.randint(1, 7)
    s, d = _maybe(rng, rng.randint(1, 4)), _maybe(rng, rng.randint(1, 3))
    dims = 2 if rng.random() < 0.1 else 1
    form = rng.random()
    p: Padding
    low = -1 if rng.random() < 0.08 else 0  # onnxruntime refuses negative pads, as symconv does
    if group == "convT":
        # ConvTranspose's SAME_UPPER/SAME_LOWER take output_shape in symconv (onnx_transpose_pads), not a spec.
        p = "valid" if form < 0.15 else _pads(rng, low)
        return Config("ort", "convT", 0, k, s, p, d, a=_maybe(rng, rng.randint(0, 3), 0.2), dims=dims)
    if form < 0.45:
        p = _pads(rng, low)
    else:
        p = rng.choice(("valid", "same_upper", "same_lower"))
        if group == "conv" and p != "valid" and rng.random() < 0.8:
            d = None  # onnxruntime refuses dilation with SAME_*: keep most of them accepted
        if p != "valid" and rng.random() < 0.4:
            # Kernels shorter than the stride, where the automatic total padding is negative.
            s = rng.randint(max(2, k + 1), 10)
    if group == "conv":
        return Config("ort", "conv", 0, k, s, p, d, dims=dims)
    op = rng.choice(("maxpool", "avgpool"))
    counted = _maybe(rng, rng.random() < 0.5, 0.3) if op == "avgpool" else None
    return Config(
        "ort", op, 0, k, s, p, d, ceil=_maybe(rng, rng.random() < 0.5, 0.2), counted=counted, dims=dims
    )


def _draw_keras(rng: random.Random, group: str) -> Config:
    k, s, d = rng.randint(1, 7), _maybe(rng, rng.randint(1, 4)), _maybe(rng, rng.randint(1, 3))
    dims = 2 if rng.random() < 0.25 else 1
    if group != "pool" and rng.random() < 0.5:
        d = rng.choice((None, 1))  # Keras refuses strides > 1 with dilation > 1: keep most accepted
    if group == "conv":
        # 'causal' exists only in Conv1D (Conv2D refuses it whatever the input).
        modes = ("valid", "same", "causal", None) if dims == 1 else ("valid", "same", None)
        return Config("keras", "conv", 0, k, s, rng.choice(modes), d, dims=dims)
    if group == "convT":
        # Keras refuses output_padding >= strides: mostly draw the ones it takes.
        a = rng.choice((None, rng.randint(0, (s or 1) - 1), rng.randint(0, (s or 1) - 1), rng.randint(0, 3)))
        return Config("keras", "convT", 0, k, s, rng.choice(("valid", "same", None)), d, a=a, dims=dims)
    op = rng.choice(("maxpool", "avgpool"))
    return Config("keras", op, 0, k, s, rng.choice(("valid", "same", None)), dims=dims)


def _draw_jax(rng: random.Random, group: str) -> Config:
    k, s, d = rng.randint(1, 7), rng.randint(1, 4), _maybe(rng, rng.randint(1, 3), 0.2)
    low, high = rng.choice(((-3, 4), (-3, 0), (0, 4)))
    p: Padding | None
    if group == "convT":
        p = rng.choice(("valid", "same", "pads", "pads", None))
        p = _pads(rng, low, high) if p == "pads" else p
        return Config("jax", "convT", 0, k, s, p, d, consistent=rng.choice((None, True, False)))
    p = rng.choice(("valid", "same", "same_lower", "pads", "pads", None))
    p = _pads(rng, low, high) if p == "pads" else p
    if group == "conv":
        return Config("jax", "conv", 0, k, s, p, d)
    stride = _maybe(rng, s, 0.2)  # None: reduce_window's default, 1
    return Config("jax", rng.choice(("maxpool", "avgpool")), 0, k, stride, p, d)


DRAW = {"torch": _draw_torch, "ort": _draw_onnx, "keras": _draw_keras, "jax": _draw_jax}
# Nearest upsampling to a size whose ratio PyTorch's float32 arithmetic rounds below an integer (the smallest
# with i <= 40, and two powers of two), added to the draws so the float32 rule is always checked: (i, size).
NEAREST_ROUNDING = [(26, 22), (39, 33), (26, 44), (14, 46), (28, 46), (30, 58), (6, 74), (2, 82), (32, 82)]


def draw_configs(layers: dict[tuple[str, str], int], seed: int = SEED) -> list[Config]:
    """Every drawn layer at SIZES_PER_LAYER sizes, deterministic for a seed (and NEAREST_ROUNDING with the
    PyTorch upsampling draws)."""
    rng = random.Random(seed)
    out = []
    for (framework, group), count in layers.items():
        for _ in range(count):
            base = DRAW[framework](rng, group)
            out += [Config(**{**base.__dict__, "i": i}) for i in _sizes(rng)]
        if (framework, group) == ("torch", "upsample") and count:
            for api in ("functional", "module"):
                out += [Config("torch", "upsample", i, size=size, api=api) for i, size in NEAREST_ROUNDING]
    return out


# ---------------------------------------------------------------------------------------------------------------
# Reading a probe's outputs: Y[p, j] is output j when input position p holds the impulse.


def powers_of_two(y: Any, k: int, axis: int = 0) -> Observed:
    """Convolution outputs: each nonzero must be 2**t for a tap t < k."""
    reads, anomalies = set(), []
    for p, j in zip(*np.nonzero(y), strict=True):
        value = float(y[p, j])
        t = round(math.log2(value)) if value > 0 else -1
        if 0 <= t < k and value == 2.0**t:
            reads.add((axis, int(p), int(j), t))
        else:
            anomalies.append(f"output {j} of impulse {p} is {value}, no single tap")
    return Observed("ok", size=y.shape[1], reads=frozenset(reads), anomalies=tuple(anomalies[:3]))


def maxima(y: Any) -> Observed:
    """Max pooling over -1 with a 1 at p: 1 where p is read, -1 where only other units are, -inf (or the
    lowest float) where no unit is."""
    reads, anomalies, empty = set(), [], set()
    low = y <= -1e30
    for j in range(y.shape[1]):
        if low[:, j].all():
            empty.add(j)
            continue
        for p in range(y.shape[0]):
            value = float(y[p, j])
            if value == 1.0:
                reads.add((0, p, j, -1))
            elif value != -1.0:
                anomalies.append(f"output {j} of impulse {p} is {value}")
    return Observed(
        "ok", size=y.shape[1], reads=frozenset(reads), empty=frozenset(empty), anomalies=tuple(anomalies[:3])
    )


def averages(y: Any) -> Observed:
    """Average pooling over a one-hot input: 1/divisor where p is read, 0 elsewhere; one divisor per output."""
    reads: set[Read] = set()
    anomalies: list[str] = []
    divisors: dict[int, int] = {}
    empty: set[int] = set()
    for j in range(y.shape[1]):
        column = y[:, j]
        if np.isnan(column).any():
            anomalies.append(f"output {j} is NaN")
            continue
        hit = np.nonzero(column)[0]
        if not len(hit):
            empty.add(j)
            continue
        found = {round(1.0 / float(column[p])) for p in hit}
        if len(found) != 1 or any(abs(1.0 / float(column[p]) - min(found)) > 1e-3 for p in hit):
            anomalies.append(f"output {j} has values {sorted({float(column[p]) for p in hit})}")
        divisors[j] = min(found)
        reads.update((0, int(p), j, -1) for p in hit)
    return Observed(
        "ok",
        size=y.shape[1],
        reads=frozenset(reads),
        divisors=tuple(sorted(divisors.items())),
        empty=frozenset(empty),
        anomalies=tuple(anomalies[:3]),
    )


def changed(y: Any, axis: int = 0) -> Observed:
    """Resampling: output j reads p where it changes."""
    reads = frozenset((axis, int(p), int(j), -1) for p, j in zip(*np.nonzero(y), strict=True))
    return Observed("ok", size=y.shape[1], reads=reads)


def decode(config: Config, y: Any) -> Observed:
    """The probe's observation from Y[p, j]."""
    y = np.asarray(y, dtype=np.float64)
    if config.op in ("conv", "convT"):
        return powers_of_two(y, config.k)
    if config.op in ("maxpool", "adaptivemax"):
        seen = maxima(y)
        if config.op == "maxpool":
            return seen
        return Observed("ok", size=seen.size, reads=seen.reads, anomalies=seen.anomalies)
    if config.op == "avgpool" and config.framework == "jax":
        return changed(y)  # lax.reduce_window sums: JAX has no average pooling divisor of its own
    if config.op in ("avgpool", "adaptiveavg"):
        seen = averages(y)
        if config.op == "avgpool":
            return seen
        return Observed(
            "ok", size=seen.size, reads=seen.reads, divisors=seen.divisors, anomalies=seen.anomalies
        )
    return changed(y)


def impulses(i: int, baseline: float = 0.0) -> Any:
    """The probe batch: row p is `baseline` with a 1 at p."""
    x = np.full((i, i), baseline, dtype=np.float32)
    np.fill_diagonal(x, 1.0)
    return x


def kernel_weights(k: int) -> Any:
    return (2.0 ** np.arange(k)).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------------
# What symconv says


@cache
def _mapping(spec: str, counted: bool | None) -> Any:
    made = symconv_layer(spec)
    assert not isinstance(made, Exception)
    return window_map(made, count_include_pad=counted)


def _axis_reads(
    config: Config, made: Layer, i: int, axis: int
) -> tuple[int, set[Read], dict[int, int], set[int]]:
    o = int(made.output_size(i))
    mapping = _mapping(config.spec(), config.counted)
    reads: set[Read] = set()
    divisors, empty = {}, set()
    for j in range(o):
        window = mapping.window(i, j)
        taps = config.op in ("conv", "convT")
        units = [
            (p, t)
            for p, t, h in zip(window.positions, window.taps, window.holds, strict=True)
            if h == INPUT_UNIT
        ]
        reads.update((axis, p, j, t if taps else -1) for p, t in units)
        if not units:
            empty.add(j)
        elif config.op in ("avgpool", "adaptiveavg"):
            divisors[j] = sum(h in (INPUT_UNIT, ZERO) for h in window.holds)
    return o, reads, divisors, empty


def symconv_observed(config: Config) -> Observed:
    """symconv's answer: refused (building the layer or output_size), or its map at every output."""
    made = symconv_layer(config.spec())
    if isinstance(made, Exception):
        return refused(made)
    try:
        o, reads, divisors, empty = _axis_reads(config, made, config.i, 0)
        if config.op in ("pixelshuffle", "pixelunshuffle"):
            reads |= _axis_reads(config, made, config.width, 1)[1]
    except (symconv.ShapeError, symconv.SpecError) as error:
        return refused(error)
    jax_sum = config.framework == "jax" and config.op == "avgpool"
    if config.op == "maxpool":
        return Observed("ok", size=o, reads=frozenset(reads), empty=frozenset(empty))
    if config.op == "avgpool" and not jax_sum:
        return Observed(
            "ok",
            size=o,
            reads=frozenset(reads),
            divisors=tuple(sorted(divisors.items())),
            empty=frozenset(empty),
        )
    if config.op == "adaptiveavg":
        return Observed("ok", size=o, reads=frozenset(reads), divisors=tuple(sorted(divisors.items())))
    return Observed("ok", size=o, reads=frozenset(reads))


# ---------------------------------------------------------------------------------------------------------------
# PyTorch


def torch_module() -> Any:
    return importlib.import_module("torch")


def _torch_y(config: Config, batch: int | None = None) -> Any:
    """Y[p, j] for the first `batch` impulses (all of them by default)."""
    torch = torch_module()
    F = torch.nn.functional
    i = config.i
    if config.op in ("pixelshuffle", "pixelunshuffle"):
        return _torch_shuffle(config)
    baseline = -1.0 if config.op in ("maxpool", "adaptivemax") else 0.0
    x = torch.from_numpy(impulses(i, baseline)[:batch]).reshape(-1, 1, i)
    s = config.s
    w = torch.from_numpy(kernel_weights(config.k)).reshape(1, 1, config.k)
    module = config.api == "module"
    if config.op == "conv" and module:
        conv = torch.nn.Conv1d(1, 1, config.k, s, config.p, config.d, bias=False)
        conv.weight.copy_(w)
        y = conv(x)
    elif config.op == "conv":
        y = F.conv1d(x, w, None, s, config.p, config.d)
    elif config.op == "convT" and module:
        convT = torch.nn.ConvTranspose1d(1, 1, config.k, s, config.p, config.a, bias=False, dilation=config.d)
        convT.weight.copy_(w)
        y = convT(x)
    elif config.op == "convT":
        y = F.conv_transpose1d(x, w, None, s, config.p, config.a, 1, config.d)
    elif config.op == "maxpool":
        d = 1 if config.d is None else config.d
        if config.api == "module":
            y = torch.nn.MaxPool1d(config.k, s, config.p, d, ceil_mode=bool(config.ceil))(x)
        else:
            y = F.max_pool1d(x, config.k, s, config.p, d, ceil_mode=bool(config.ceil))
    elif config.op == "avgpool":
        counted = {} if config.counted is None else {"count_include_pad": config.counted}
        if config.api == "module":
            y = torch.nn.AvgPool1d(config.k, s, config.p, ceil_mode=bool(config.ceil), **counted)(x)
        else:
            y = F.avg_pool1d(x, config.k, s, config.p, ceil_mode=bool(config.ceil), **counted)
    elif config.op == "upsample":
        resize: dict[str, Any] = (
            {"scale_factor": config.scale} if config.scale is not None else {"size": config.size}
        )
        resize["mode"] = config.mode or "nearest"
        if config.align is not None:
            resize["align_corners"] = config.align
        if config.api == "module":
            y = torch.nn.Upsample(**resize)(x)
        else:
            y = F.interpolate(x, **resize)
    elif config.op == "adaptiveavg":
        y = F.adaptive_avg_pool1d(x, config.size)
    else:
        y = F.adaptive_max_pool1d(x, config.size)
    return y[:, 0, :].numpy()


def _torch_shuffle(config: Config) -> tuple[Any, Any]:
    """Y per spatial axis: row p of the rows' probe sets input row p to 1 in every channel (and every column);
    output row j changed if any of its values did. Likewise for the columns."""
    torch = torch_module()
    assert config.r is not None, config
    r, h, w = config.r, config.i, config.width
    channels = r * r if config.op == "pixelshuffle" else 1
    op = torch.nn.PixelShuffle(r) if config.op == "pixelshuffle" else torch.nn.PixelUnshuffle(r)
    rows = torch.zeros(h, channels, h, w)
    for p in range(h):
        rows[p, :, p, :] = 1.0
    cols = torch.zeros(w, channels, h, w)
    for q in range(w):
        cols[q, :, :, q] = 1.0
    by_row = op(rows).abs().sum(dim=(1, 3)).numpy()
    by_col = op(cols).abs().sum(dim=(1, 2)).numpy()
    return by_row, by_col


# Configurations PyTorch refuses for a batch of one but runs, returning an empty output, for a larger batch.
TORCH_BATCH_DEPENDENT: list[Config] = []


def torch_observed(config: Config) -> Observed:
    """Refused or not as for a batch of one (the refusal test_diff_torch.py checks); the windows from the batch
    of every impulse. PyTorch's conv_transpose1d refuses an output size of 0 for a batch of one but returns an
    empty tensor for a larger batch: such configurations are refused here and listed in TORCH_BATCH_DEPENDENT."""
    torch = torch_module()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            if config.op not in ("pixelshuffle", "pixelunshuffle"):
                _torch_y(config, 1)
        except (RuntimeError, ValueError) as error:
            try:
                empty = _torch_y(config).shape[1] == 0
            except (RuntimeError, ValueError):
                empty = False
            if empty:
                TORCH_BATCH_DEPENDENT.append(config)
            return refused(error)
        try:
            y = _torch_y(config)
        except (RuntimeError, ValueError) as error:
            if config.op in ("pixelshuffle", "pixelunshuffle"):
                return refused(error)
            return Observed("ok", anomalies=(f"refused for the whole batch, not for one: {error}",))
    if config.op in ("pixelshuffle", "pixelunshuffle"):
        rows, cols = changed(y[0]), changed(y[1], axis=1)
        return Observed("ok", size=rows.size, reads=rows.reads | cols.reads)
    return decode(config, y)


# ---------------------------------------------------------------------------------------------------------------
# onnxruntime

OPSET, IR_VERSION = 22, 10
ONNX_OP = {"conv": "Conv", "convT": "ConvTranspose", "maxpool": "MaxPool", "avgpool": "AveragePool"}


def onnx_model(config: Config) -> Any:
    """The one-node model of a drawn layer; batch and length are symbolic, so any input size runs."""
    onnx = importlib.import_module("onnx")
    helper, numpy_helper = onnx.helper, onnx.numpy_helper
    n = config.dims

    def axis(value: int, other: int = 1) -> list[int]:
        return [value] if n == 1 else [value, other]

    attrs: dict[str, Any] = {"kernel_shape": axis(config.k)}
    if config.s is not None:
        attrs["strides"] = axis(config.s)
    if config.d is not None:
        attrs["dilations"] = axis(config.d)
    if isinstance(config.p, str):
        attrs["auto_pad"] = config.p.upper()
    elif config.p is not None:
        pb, pe = config.p if isinstance(config.p, tuple) else (config.p, config.p)
        attrs["pads"] = axis(pb, 0) + axis(pe, 0)
    if config.a is not None:
        attrs["output_padding"] = axis(config.a, 0)
    if config.ceil is not None:
        attrs["ceil_mode"] = int(config.ceil)
    if config.counted is not None:
        attrs["count_include_pad"] = int(config.counted)
    inputs, initializers = ["x"], []
    if config.op in ("conv", "convT"):
        weight = kernel_weights(config.k).reshape(1, 1, *axis(config.k))
        initializers.append(numpy_helper.from_array(weight, "w"))
        inputs.append("w")
    node = helper.make_node(ONNX_OP[config.op], inputs, ["y"], **attrs)
    shape = ["N", 1, "L"] + ([1] if n == 2 else [])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        initializer=initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)


def onnx_observe(configs: Sequence[Config]) -> dict[Config, Observed]:
    """One session per drawn layer, run at each of its sizes."""
    ort = importlib.import_module("onnxruntime")
    refusals = differential.ort_refusals()
    ort.set_default_logger_severity(4)
    options = differential.ort_session_options()
    by_layer: dict[Config, list[Config]] = defaultdict(list)
    for config in configs:
        by_layer[config.layer_key()].append(config)
    out: dict[Config, Observed] = {}
    for key, members in by_layer.items():
        try:
            session = ort.InferenceSession(
                onnx_model(key).SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
        except refusals as error:
            out.update((config, refused(error)) for config in members)
            continue
        for config in members:
            i = config.i
            x = impulses(i, -1.0 if config.op == "maxpool" else 0.0).reshape(
                i, 1, i, *([1] * (config.dims - 1))
            )
            try:
                (y,) = session.run(None, {"x": x})
            except refusals as error:
                out[config] = refused(error)
                continue
            out[config] = decode(config, y.reshape(i, -1))
    return out


# ---------------------------------------------------------------------------------------------------------------
# JAX (lax) and Keras: bundles traced into one jax.jit, the probe inputs as constants


def jax_modules() -> tuple[Any, Any]:
    return importlib.import_module("jax"), importlib.import_module("jax.lax")


def jax_inputs(config: Config) -> tuple[Any, ...]:
    i = config.i
    x = impulses(i, -1.0 if config.op == "maxpool" else 0.0).reshape(i, 1, i)
    if config.op in ("conv", "convT"):
        return x, kernel_weights(config.k).reshape(1, 1, config.k)
    return (x,)


def jax_call(config: Config, *arrays: Any) -> Any:
    """The lax op of a configuration on (x, w) or (x,); the result as (batch p, output j)."""
    _, lax = jax_modules()
    dilation = None if config.d is None else (config.d,)
    layout = ("NCH", "OIH", "NCH")
    if config.op == "conv":
        x, w = arrays
        y = lax.conv_general_dilated(
            x, w, (config.s,), lax_padding(config.p, 1), rhs_dilation=dilation, dimension_numbers=layout
        )
    elif config.op == "convT":
        x, w = arrays
        extra = {} if config.consistent is None else {"use_consistent_padding": config.consistent}
        y = lax.conv_transpose(
            x,
            w,
            (config.s,),
            lax_padding(config.p, 1),
            rhs_dilation=dilation,
            dimension_numbers=layout,
            **extra,
        )
    else:
        (x,) = arrays
        init, computation = (-np.inf, lax.max) if config.op == "maxpool" else (0.0, lax.add)
        y = lax.reduce_window(
            x,
            np.float32(init),
            computation,
            (1, 1, config.k),
            None if config.s is None else (1, 1, config.s),
            lax_padding(config.p, 3),
            window_dilation=None if config.d is None else (1, 1, config.d),
        )
    return y[:, 0, :]


KERAS_LAYERS: dict[Config, Any] = {}


def keras_module() -> Any:
    return importlib.import_module("keras")


def keras_layer(config: Config) -> Any:
    """The Keras layer of a drawn layer (built once, kernel 2**t), or the error its constructor raised."""
    key = config.layer_key()
    if key not in KERAS_LAYERS:
        KERAS_LAYERS[key] = _keras_build(config)
    return KERAS_LAYERS[key]


def _keras_build(config: Config) -> Any:
    keras = keras_module()
    two = config.dims == 2

    def axis(value: int | None, other: int = 1) -> Any:
        if value is None:
            return None
        return (value, other) if two else value

    kwargs: dict[str, Any] = {}
    if config.s is not None:
        kwargs["strides"] = axis(config.s)
    if config.p is not None:
        kwargs["padding"] = config.p
    if config.d is not None:
        kwargs["dilation_rate"] = axis(config.d)
    if config.a is not None:
        kwargs["output_padding"] = axis(config.a, 0)
    try:
        if config.op in ("conv", "convT"):
            kernel = kernel_weights(config.k).reshape(config.k, *((1,) if two else ()), 1, 1)
            cls = {
                ("conv", False): keras.layers.Conv1D,
                ("conv", True): keras.layers.Conv2D,
                ("convT", False): keras.layers.Conv1DTranspose,
                ("convT", True): keras.layers.Conv2DTranspose,
            }[config.op, two]
            made = cls(1, axis(config.k), use_bias=False, kernel_initializer="zeros", **kwargs)
            made.build((None, None, *((1,) if two else ()), 1))
            made.kernel.assign(kernel)
            return made
        pool = {
            ("maxpool", False): keras.layers.MaxPooling1D,
            ("maxpool", True): keras.layers.MaxPooling2D,
            ("avgpool", False): keras.layers.AveragePooling1D,
            ("avgpool", True): keras.layers.AveragePooling2D,
        }[config.op, two]
        return pool(axis(config.k), **kwargs)
    except (ValueError, TypeError) as error:
        return error


def keras_inputs(config: Config) -> tuple[Any, ...]:
    i = config.i
    x = impulses(i, -1.0 if config.op == "maxpool" else 0.0)
    return (x.reshape(i, i, *((1,) if config.dims == 2 else ()), 1),)


def keras_call(config: Config, x: Any) -> Any:
    """The layer's forward pass (Layer.call: its attributes handed to keras.ops; __call__'s bookkeeping, a few
    milliseconds a call while tracing, is skipped)."""
    y = keras_layer(config).call(x)
    return y.reshape(y.shape[0], -1)


def _bundle_outputs(calls: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]]) -> list[Any]:
    """Every call traced into one jax.jit whose inputs are constants: XLA's compiler evaluates the whole bundle
    (constant folding); a call that raises while tracing gives its exception instead of an array."""
    jax, _ = jax_modules()
    errors: dict[int, Exception] = {}

    def bundle() -> list[Any]:
        outputs = []
        for n, (call, arrays) in enumerate(calls):
            try:
                outputs.append(call(*arrays))
            except (TypeError, ValueError) as error:
                errors[n] = error
                outputs.append(np.zeros((0, 0), np.float32))
        return outputs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = jax.jit(bundle)()
    return [errors[n] if n in errors else np.asarray(result) for n, result in enumerate(results)]


def bundled_observe(
    configs: Sequence[Config],
    call: Callable[..., Any],
    inputs: Callable[[Config], tuple[Any, ...]],
    prepare: Callable[[Config], Any] | None = None,
) -> dict[Config, Observed]:
    out: dict[Config, Observed] = {}
    ready = []
    for config in configs:
        made = prepare(config) if prepare is not None else None
        if isinstance(made, Exception):
            out[config] = refused(made)
        else:
            ready.append(config)
    for start in range(0, len(ready), BUNDLE):
        chunk = ready[start : start + BUNDLE]
        results = _bundle_outputs([(_bound(call, config), inputs(config)) for config in chunk])
        for config, result in zip(chunk, results, strict=True):
            out[config] = refused(result) if isinstance(result, Exception) else decode(config, result)
    return out


def xla_aborts(config: Config) -> bool:
    """The configurations XLA cannot compile: it aborts the whole process (jax 0.10.2's jaxlib, compiled or
    folded alike). lax.reduce_window with a window of 1 (k=1, window stride 1, no dilation) and a padding that
    only crops (both sides <= 0, one < 0) is rewritten by the AlgebraicSimplifier into an elementwise op of the
    uncropped shape, and a RET_CHECK fails: jax.maxpool(k=1, p=[(0, -1)]) at i=2 ("reduce_window_max (f32[2,1,1])
    vs maximum (f32[2,1,2])"). Skipped (test_xla_reduce_window_abort_still_happens checks it in a child)."""
    if config.framework != "jax" or config.op not in ("maxpool", "avgpool") or config.k != 1:
        return False
    if (config.s or 1) != 1 or (config.d or 1) != 1 or not isinstance(config.p, int | tuple):
        return False
    pb, pe = config.p if isinstance(config.p, tuple) else (config.p, config.p)
    return max(pb, pe) <= 0 and min(pb, pe) < 0


def _bound(call: Callable[..., Any], config: Config) -> Callable[..., Any]:
    return lambda *arrays: call(config, *arrays)


def kernel_outcome(
    config: Config, call: Callable[..., Any], inputs: Callable[[Config], tuple[Any, ...]]
) -> Any:
    """The configuration through XLA's compiled CPU kernels: the inputs are arguments, not constants."""
    jax, _ = jax_modules()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(jax.jit(_bound(call, config))(*inputs(config)))
    except (TypeError, ValueError) as error:
        return error


def keras_backend() -> str:
    return str(keras_module().backend.backend())


KernelCheck = tuple[Config, str]  # a configuration and "same", or how XLA's kernels differed


def keras_probe(
    configs: Sequence[Config], kernel_every: int = KERNEL_EVERY
) -> tuple[dict[Config, Observed], list[KernelCheck]]:
    """The Keras layers, bundled, and every kernel_every-th also through XLA's kernels. Keras picks its backend
    once per process: when another was imported first (tests/test_diff_keras.py sets numpy), this runs in a
    child process with KERAS_BACKEND=jax."""
    if keras_backend() != "jax":
        return _keras_in_child(configs, kernel_every)
    observed = bundled_observe(configs, keras_call, keras_inputs, keras_layer)
    checks = [
        (config, _kernel_check(config, observed[config], keras_call, keras_inputs))
        for config in configs[::kernel_every]
        if not isinstance(keras_layer(config), Exception)
    ]
    return observed, checks


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILD = "import sys; sys.path.insert(0, sys.argv[1]); from tests.test_windowmap_diff import keras_child; keras_child()"


def _config_json(config: Config) -> dict[str, Any]:
    return {
        name: list(value) if isinstance(value, tuple) else value for name, value in config.__dict__.items()
    }


def _config_from(data: dict[str, Any]) -> Config:
    fields: dict[str, Any] = {name: tuple(v) if isinstance(v, list) else v for name, v in data.items()}
    return Config(**fields)


def _observed_json(seen: Observed) -> dict[str, Any]:
    return {
        "status": seen.status,
        "detail": seen.detail,
        "size": seen.size,
        "reads": sorted(seen.reads),
        "divisors": list(seen.divisors),
        "empty": sorted(seen.empty),
        "anomalies": list(seen.anomalies),
    }


def _observed_from(data: dict[str, Any]) -> Observed:
    return Observed(
        data["status"],
        data["detail"],
        data["size"],
        frozenset(tuple(r) for r in data["reads"]),
        tuple(tuple(d) for d in data["divisors"]),
        frozenset(data["empty"]),
        tuple(data["anomalies"]),
    )


def keras_child() -> None:
    """The child process: configurations as JSON on stdin, observations and kernel checks as JSON on stdout."""
    request = json.load(sys.stdin)
    configs = [_config_from(c) for c in request["configs"]]
    observed, checks = keras_probe(configs, request["kernel_every"])
    json.dump(
        {
            "observed": [[_config_json(c), _observed_json(seen)] for c, seen in observed.items()],
            "checks": [[_config_json(c), outcome] for c, outcome in checks],
        },
        sys.stdout,
    )


def _keras_in_child(
    configs: Sequence[Config], kernel_every: int
) -> tuple[dict[Config, Observed], list[KernelCheck]]:
    request = json.dumps({"configs": [_config_json(c) for c in configs], "kernel_every": kernel_every})
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, ROOT],
        input=request,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the Keras probe process failed:\n{done.stderr[-3000:]}")
    answer = json.loads(done.stdout)
    observed = {_config_from(c): _observed_from(seen) for c, seen in answer["observed"]}
    return observed, [(_config_from(c), outcome) for c, outcome in answer["checks"]]


# ---------------------------------------------------------------------------------------------------------------
# Comparing, and the documented gaps


def torch_nearest_source(j: int, i: int, o: int, scale: int | None) -> int:
    """PyTorch's nearest source index (aten/src/ATen/native/UpSample.h, nearest_idx), in NumPy's float32 (an
    oracle apart from symconv's own, which rounds with struct): the identity when o == i, j >> 1 when
    o == 2i, otherwise min(floor(j * scale), i - 1) in float32 arithmetic, with scale the float32 of
    1/scale_factor when one is given, else float32(i) / float32(o)."""
    if o == i:
        return j
    if o == 2 * i:
        return j >> 1
    f32 = np.float32
    ratio = f32(1.0 / scale) if scale is not None else f32(i) / f32(o)
    return min(math.floor(f32(j) * ratio), i - 1)


def _linear_rounding_shows(config: Config) -> bool:
    """Whether PyTorch's float32 linear interpolation reads other inputs than the exact ratio gives (symconv's
    unprefixed upsample) for some output of this configuration."""
    exact = interval_map(config.spec().removeprefix("torch."))
    rounded = interval_map(config.spec())
    o = int(symconv.layer(config.spec()).output_size(config.i))
    return any(exact.bounds(config.i, j) != rounded.bounds(config.i, j) for j in range(o))


def _torch_nearest_differs(config: Config) -> bool:
    """Whether PyTorch's float32 rounding reads another input than floor(j*i/o) for some output."""
    if config.framework != "torch" or config.op != "upsample" or config.mode is not None:
        return False
    scale = config.scale
    if config.size is not None:
        o = config.size
    else:
        assert scale is not None
        o = config.i * scale
    exact = [j // scale if scale is not None else j * config.i // o for j in range(o)]
    return any(torch_nearest_source(j, config.i, o, scale) != exact[j] for j in range(o))


@dataclass(frozen=True)
class Gap:
    """A documented class of disagreement: which configurations the library's own rule puts there, and that
    rule stated exactly (the test checks the disagreements are exactly these)."""

    framework: str
    name: str
    rule: str
    predicts: Callable[[Config], bool]
    explains: Callable[[Config, Observed, Observed], bool]


def _keras_empty_for_refusal(config: Config, lib: Observed, ours: Observed) -> bool:
    return lib.status == "ok" and lib.size == 0 and ours.status == "refused"


GAPS = [
    Gap(
        "keras",
        "keras pooling: an empty output where compute_output_shape refuses",
        "Keras' compute_output_shape refuses a pooling output size <= 0 (symconv follows it), but calling the "
        "layer runs lax.reduce_window, which clamps the size to 0 and returns an empty output "
        "(test_diff_keras.py REAL_GAP)",
        lambda config: config.framework == "keras" and config.group == "pool",
        _keras_empty_for_refusal,
    ),
]


def disagreement(lib: Observed, ours: Observed) -> str | None:
    """The first class of disagreement between the library's observation and symconv's, or None."""
    if lib.status != ours.status:
        return f"{lib.status} by the library, {ours.status} by symconv"
    if lib.status == "refused":
        return None
    if lib.anomalies:
        return "values no window explains"
    if lib.size != ours.size:
        return "output size"
    if lib.reads != ours.reads:
        untapped = {(a, p, j) for a, p, j, _ in lib.reads} == {(a, p, j) for a, p, j, _ in ours.reads}
        return "kernel taps" if untapped else "positions read"
    if lib.divisors != ours.divisors:
        return "divisors"
    if lib.empty != ours.empty:
        return "outputs reading no unit"
    return None


def gap_of(config: Config, lib: Observed, ours: Observed) -> Gap | None:
    for gap in GAPS:
        if gap.predicts(config) and gap.explains(config, lib, ours):
            return gap
    return None


def _first_difference(lib: Observed, ours: Observed) -> str:
    if lib.status != ours.status:
        return f"library: {lib.detail or lib.status}; symconv: {ours.detail or ours.status}"
    if lib.anomalies:
        return "; ".join(lib.anomalies)
    if lib.size != ours.size:
        return f"library size {lib.size}, symconv {ours.size}"

    def by_output(reads: Iterable[Read]) -> dict[tuple[int, int], list[tuple[int, int]]]:
        table: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        for axis, p, j, t in sorted(reads):
            table[axis, j].append((p, t))
        return table

    theirs, mine = by_output(lib.reads), by_output(ours.reads)
    for key in sorted(set(theirs) | set(mine)):
        if theirs.get(key) != mine.get(key):
            axis, j = key
            where = f"output {j}" + (f" (axis {axis})" if axis else "")
            return f"{where}: library reads (p, tap) {theirs.get(key, [])}, symconv {mine.get(key, [])}"
    if lib.divisors != ours.divisors:
        diff = sorted(set(lib.divisors) ^ set(ours.divisors))[:4]
        return (
            f"divisors (j, n) differing: library {dict(lib.divisors)}, symconv {dict(ours.divisors)}; {diff}"
        )
    return f"empty outputs: library {sorted(lib.empty)}, symconv {sorted(ours.empty)}"


def setting(config: Config) -> str:
    """A configuration's padding form and flags, to group disagreements."""
    if isinstance(config.p, tuple):
        form = "pair" if config.p[0] != config.p[1] else "int"
    elif isinstance(config.p, int):
        form = "int"
    else:
        form = "default" if config.p is None else config.p
    flags = [form] if config.group in ("conv", "convT", "pool") else []
    if (config.d or 1) > 1:
        flags.append("d>1")
    if config.ceil:
        flags.append("ceil")
    if config.a:
        flags.append("a>0")
    if config.counted is not None:
        flags.append(f"count_include_pad={config.counted}")
    if config.scale is not None:
        flags.append("scale")
    if config.size is not None and config.op == "upsample":
        flags.append("size")
    if config.mode is not None:
        flags.append(config.mode + (f", align_corners={config.align}" if config.align is not None else ""))
    return ", ".join(flags)


def report(title: str, bad: Sequence[tuple[Config, Observed, Observed]]) -> str:
    """Disagreements grouped by class (framework, op, setting, kind), the smallest example of each first."""
    return differential.report(
        title,
        bad,
        lambda m: f"{m[0].framework}.{m[0].op} [{setting(m[0])}]: {disagreement(m[1], m[2])}",
        lambda m: f"{m[0].short()}: {_first_difference(m[1], m[2])}",
        lambda m: (m[0].i + m[0].k + (m[0].s or 0) + (m[0].size or 0), m[0].i),
    )


# ---------------------------------------------------------------------------------------------------------------
# Running everything


@dataclass
class Result:
    config: Config
    lib: Observed
    ours: Observed

    @property
    def kind(self) -> str | None:
        return disagreement(self.lib, self.ours)


@dataclass
class Run:
    results: list[Result]
    seconds: dict[str, float] = field(default_factory=dict)
    kernel_checks: list[KernelCheck] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    skipped: list[Config] = field(default_factory=list)  # xla_aborts


def _available(framework: str) -> str | None:
    names = {"torch": ["torch"], "ort": ["onnx", "onnxruntime"], "keras": ["keras", "jax"], "jax": ["jax"]}
    for name in names[framework]:
        try:
            importlib.import_module(name)
        except ImportError as error:
            return f"{name} is not installed ({error})"
    return None


def _kernel_check(
    config: Config, observed: Observed, call: Callable[..., Any], inputs: Callable[[Config], tuple[Any, ...]]
) -> str:
    outcome = kernel_outcome(config, call, inputs)
    if isinstance(outcome, Exception):
        return "same" if observed.status == "refused" else f"kernels refused: {outcome}"
    if observed.status == "refused":
        return f"kernels ran, the folded bundle refused: {observed.detail}"
    again = decode(config, outcome)
    return "same" if again == observed else f"kernels {again}, folded {observed}"


def run_probes(layers: dict[tuple[str, str], int], seed: int = SEED, kernel_every: int = KERNEL_EVERY) -> Run:
    """Draw, probe every library, and ask symconv; the time each framework took (both sides)."""
    configs = draw_configs(layers, seed)
    by_framework: dict[str, list[Config]] = defaultdict(list)
    for config in configs:
        by_framework[config.framework].append(config)
    run = Run([])
    for framework, members in by_framework.items():
        missing = _available(framework)
        if missing:
            run.unavailable[framework] = missing
            continue
        start = time.perf_counter()
        if framework == "torch":
            with one_torch_thread():
                observed = {config: torch_observed(config) for config in members}
        elif framework == "ort":
            observed = onnx_observe(members)
        elif framework == "jax":
            run.skipped += [config for config in members if xla_aborts(config)]
            members = [config for config in members if not xla_aborts(config)]
            observed = bundled_observe(members, jax_call, jax_inputs)
            for config in members[::kernel_every]:
                run.kernel_checks.append(
                    (config, _kernel_check(config, observed[config], jax_call, jax_inputs))
                )
        else:
            observed, checks = keras_probe(members, kernel_every)
            run.kernel_checks += checks
        for config in members:
            if config in observed:
                run.results.append(Result(config, observed[config], symconv_observed(config)))
        run.seconds[framework] = time.perf_counter() - start
    return run


def summary(run: Run) -> dict[tuple[str, str], Counter[str]]:
    """Per (framework, group): configurations, refused ones, agreements, documented gaps, disagreements."""
    table: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for r in run.results:
        row = table[r.config.framework, r.config.group]
        row["configs"] += 1
        row["refused"] += r.lib.status == "refused"
        kind = r.kind
        if kind is None:
            row["agree"] += 1
        elif gap_of(r.config, r.lib, r.ours) is not None:
            row["documented gap"] += 1
        else:
            row["disagree"] += 1
    return table


# ---------------------------------------------------------------------------------------------------------------
# Tests


@pytest.fixture(scope="module")
def probes() -> Run:
    return run_probes(LAYERS)


def _results(run: Run, framework: str, group: str) -> list[Result]:
    if framework in run.unavailable:
        pytest.skip(run.unavailable[framework])
    return [r for r in run.results if r.config.framework == framework and r.config.group == group]


@pytest.mark.parametrize(("framework", "group"), list(LAYERS))
def test_enough_configurations(probes: Run, framework: str, group: str) -> None:
    results = _results(probes, framework, group)
    assert len(results) >= MIN_CONFIGS, len(results)
    kinds = Counter(r.lib.status for r in results)
    assert kinds["ok"] >= MIN_CONFIGS // 2, kinds
    ops = Counter(r.config.op for r in results)
    assert min(ops.values()) >= 300, ops  # each op of the group is drawn often


@pytest.mark.parametrize(("framework", "group"), list(LAYERS))
def test_window_maps_match_the_library(probes: Run, framework: str, group: str) -> None:
    """Every (p, j, tap) read, divisor, empty window and refusal is the library's, but for documented gaps."""
    results = _results(probes, framework, group)
    bad = [
        (r.config, r.lib, r.ours)
        for r in results
        if r.kind is not None and gap_of(r.config, r.lib, r.ours) is None
    ]
    assert not bad, report(f"disagreements with {framework} for {group}", bad)


def test_documented_gaps_are_exact(probes: Run) -> None:
    """Each gap shows, and every configuration its rule predicts disagrees exactly as the rule says."""
    for gap in GAPS:
        if gap.framework in probes.unavailable:
            continue
        hits = [r for r in probes.results if r.kind is not None and gap_of(r.config, r.lib, r.ours) is gap]
        assert hits, f"the documented gap {gap.name!r} no longer shows: drop it"
        predicted = [r for r in probes.results if gap.predicts(r.config) and r.kind is not None]
        assert {id(r) for r in predicted} == {id(r) for r in hits}, gap.name
    # PyTorch's nearest upsampling rounds in float32: where that reads another input than floor(j*i/o), the
    # window maps follow PyTorch (torch.upsample), and the probe sees it.
    rounding = [r for r in probes.results if _torch_nearest_differs(r.config)]
    assert len(rounding) >= len(NEAREST_ROUNDING), "the float32 roundings were not drawn"
    assert all(r.kind is None for r in rounding), [r.config.short() for r in rounding if r.kind is not None]
    # PyTorch's batch-dependent refusal: transposed convolutions whose output size is exactly 0.
    for c in TORCH_BATCH_DEPENDENT:
        assert isinstance(c.p, int)
        k, s, d, p, a = c.k, c.s or 1, c.d or 1, c.p, c.a or 0
        assert c.op == "convT" and s * (c.i - 1) - 2 * p + d * (k - 1) + a + 1 == 0, c.short()


def test_xla_kernels_match_the_folded_results(probes: Run) -> None:
    """XLA's compiled CPU kernels give the arrays its constant folding gave, on a subset."""
    if "jax" in probes.unavailable:
        pytest.skip(probes.unavailable["jax"])
    assert len(probes.kernel_checks) >= 30, len(probes.kernel_checks)
    bad = [f"{config.short()}: {outcome}" for config, outcome in probes.kernel_checks if outcome != "same"]
    assert not bad, "\n".join(bad[:10])


ABORT = """
import numpy as np
from jax import lax
x = np.eye(2, dtype=np.float32).reshape(2, 1, 2)
lax.reduce_window(x, np.float32(-np.inf), lax.max, (1, 1, 1), None, [(0, 0), (0, 0), (0, -1)]).block_until_ready()
"""


def test_xla_reduce_window_abort_still_happens(probes: Run) -> None:
    """xla_aborts names a real crash: the smallest case still kills a child process (drop the skip when not)."""
    if "jax" in probes.unavailable:
        pytest.skip(probes.unavailable["jax"])
    assert xla_aborts(Config("jax", "maxpool", 2, 1, None, (0, -1)))
    assert all(xla_aborts(config) for config in probes.skipped)
    done = subprocess.run([sys.executable, "-c", ABORT], capture_output=True, text=True, check=False)
    assert done.returncode < 0 and "RET_CHECK" in done.stderr, (done.returncode, done.stderr[-500:])


def test_probes_see_what_matters(probes: Run) -> None:
    """The draws reach the cases the maps are about: cropping pads, ceil overhangs, empty max windows,
    divisors that leave padding out, taps of transposed kernels, negative automatic pads in ONNX."""
    seen: Counter[str] = Counter()
    for r in probes.results:
        if r.lib.status != "ok":
            continue
        c = r.config
        seen["max window reading no unit"] += c.op == "maxpool" and bool(r.lib.empty)
        seen["ceil"] += bool(c.ceil)
        seen["average divisor below k"] += c.op == "avgpool" and any(n < c.k for _, n in r.lib.divisors)
        seen["negative jax pad"] += (
            c.framework == "jax"
            and isinstance(c.p, int | tuple)
            and min(c.p if isinstance(c.p, tuple) else (c.p,)) < 0
        )
        if c.framework == "ort" and c.op == "conv" and c.p in ("same_upper", "same_lower"):
            s = c.s or 1
            seen["onnx conv SAME with a negative total"] += (-(-c.i // s) - 1) * s + c.k - c.i < -1
        seen["transposed taps"] += c.op == "convT" and len({t for *_, t in r.lib.reads}) > 1
        seen["upsampling to a size, not a multiple"] += (
            c.op == "upsample" and c.size is not None and c.size % c.i != 0
        )
        linear = c.op == "upsample" and c.mode == "linear" and r.lib.status == "ok"
        seen["linear upsampling, align_corners"] += linear and bool(c.align)
        seen["linear upsampling, half-pixel centres"] += linear and not c.align
        seen["linear upsampling, float32 moves a read"] += linear and _linear_rounding_shows(c)
        seen["adaptive windows overlapping"] += c.op.startswith("adaptive") and c.i % (c.size or 1) != 0
    for name in seen:
        assert seen[name] >= 5, seen


ONNX_SAME_EXAMPLES = [
    # (k, s, auto_pad, i, the input positions window 0 reads): onnxruntime's SAME split of a negative total.
    (5, 10, "same_lower", 20, [1, 2, 3, 4, 5]),
    (5, 10, "same_upper", 20, [2, 3, 4, 5, 6]),
    (1, 4, "same_upper", 15, [0]),
    (1, 4, "same_upper", 16, [1]),
    (1, 4, "same_lower", 16, [0]),
    (3, 6, "same_upper", 30, [1, 2, 3]),
]


@pytest.mark.parametrize(("k", "s", "mode", "i", "positions"), ONNX_SAME_EXAMPLES)
def test_onnx_same_with_a_kernel_shorter_than_the_stride(
    k: int, s: int, mode: str, i: int, positions: list[int]
) -> None:
    """The examples that found the rule in symconv.core.frameworks.auto_pads, in symconv and in onnxruntime."""
    config = Config("ort", "conv", i, k, s, mode)
    assert list(window_map(symconv.layer(config.spec())).window(i, 0).reads) == positions
    if _available("ort") is None:
        seen = onnx_observe([config])[config]
        assert sorted(p for _, p, j, _ in seen.reads if j == 0) == positions
