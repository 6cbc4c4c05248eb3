"""symconv.export.tikz: the figures, checked by counting their cells against windows slid over a real padded grid.

Each figure's grid cells are parsed back from the TikZ (one ``\\path[STYLE] (x,y) rectangle ++(1,1);`` per
cell) and compared cell by cell with a grid built here in plain Python, in the layer's padded coordinates: the
padded input (the stretched input for a transposed convolution, section 4 of Dumoulin & Visin), cropped where a
padding is negative, with window j at j*s and the input units each window reads (j*s - pb + t*d). PyTorch's
window count is found independently by sliding the dilated window; the units the drawn windows cover are
compared with PyTorch, JAX, Keras and onnxruntime themselves; hypothesis draws specs of every framework and
kind. The command line is run in process (exit 0 with JSON, exit 2 with a message, never a traceback).
Compiling needs pdflatex, pdftoppm and ImageMagick's convert (require_tool fails a test where one is missing,
the project's policy); one compile checks many figures at once.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from symconv.cli import main
from symconv.core.errors import ShapeError, SpecError
from symconv.core.frameworks import CEIL_MODE, MODES
from symconv.core.layers import Axes, Conv, ConvTranspose, Layer, Pool, Windowed, layer
from symconv.export import tikz
from symconv.export.tikz import (
    GAP,
    UndrawableError,
    compile_pdf,
    document,
    draw,
    figure,
    geometry,
    parse_size,
)

from .conftest import require_tool
from .differential import typed_layer

CELL = re.compile(r"^\\path\[([a-z ]+)\] \((-?\d+),(-?\d+)\) rectangle \+\+\(1,1\);$")
GRID_STYLES = ("input cell", "zero cell", "cropped cell", "padding cell", "extra cell")

DIRECT = [
    ("conv(k=3, s=1, p=0)", (4, 4)),  # the paper's figure 2.1
    ("conv(k=4, s=1, p=2)", (5, 5)),  # figure 2.2
    ("conv(k=3, s=1, p=1)", (5, 5)),  # half padding, figure 2.3
    ("conv(k=3, s=1, p=2)", (5, 5)),  # full padding, figure 2.4
    ("conv(k=3, s=2, p=0)", (5, 5)),  # figure 2.5
    ("conv(k=3, s=2, p=1)", (6, 5)),  # figure 2.7 and its odd neighbour
    ("conv(k=3, d=2)", (7, 7)),  # dilation, figure 5.1
    ("conv(k=2, s=2, d=2, p=1)", (6, 5)),
    ("conv(k=3, s=2, p=[(1, 2)])", (4, 6)),
    ("conv(k=3, p=full)", (3, 4)),
    ("torch.maxpool(k=3, s=2, ceil=true)", (6, 8)),  # ceil_mode: the last window overhangs
    ("torch.avgpool(k=3, s=2, p=1, ceil=true)", (6, 7)),
    ("torch.maxpool(k=2)", (5, 5)),  # stride defaults to the kernel
    ("avgpool(k=2, s=1)", (3, 4)),
    ("tf.conv(k=3, s=2, p=same)", (6, 5)),  # asymmetric: (0, 1) rows, (1, 1) columns
    ("tf.maxpool(k=2, s=2, p=same)", (5, 5)),
    ("onnx.conv(k=3, s=2, auto_pad=same_lower)", (6, 6)),
    ("jax.conv(k=3, s=2, d=2, p=same)", (7, 6)),
    # onnxruntime pooling: numerator / stride in C++, so a kernel longer than the padded input gives one
    # window, which runs past the end padding (extra cells).
    ("ort.avgpool(k=3, s=2)", (2, 2)),
    ("ort.maxpool(k=5, s=2, p=[(0, 1)])", (3, 3)),
    ("ort.maxpool(k=2, s=3, auto_pad=valid, d=3)", (9, 2)),
    ("ort.avgpool(k=3, s=2, ceil=true)", (4, 5)),
    # Negative padding crops: ONNX's automatic pooling pads, JAX's explicit pads.
    ("ort.avgpool(k=1, s=3, auto_pad=same_upper)", (6, 5)),
    ("ort.avgpool(k=2, s=4, d=2, auto_pad=same_upper)", (4, 4)),  # AveragePool stops at i + pe
    ("ort.maxpool(k=2, s=4, d=2, auto_pad=same_lower)", (4, 4)),  # MaxPool reads on to the input's end
    ("jax.conv(k=2, p=[(-1, 0)])", (5, 4)),
    ("jax.maxpool(k=2, s=2, p=[(-1, -1)])", (5, 5)),
    ("jax.conv(k=1, p=[(2, -2)])", (1, 3)),  # the end crop eats the input and the begin padding too
    # Per-axis parameters: rows follow the first spatial axis, columns the second.
    ("conv(k=(3, 1), s=(1, 2), p=(1, 0))", (5, 6)),
    ("conv(k=1, p=(0, 2))", (1, 1)),
    ("torch.maxpool(k=(2, 3), s=(2, 1), p=(1, 1), ceil=true)", (5, 4)),
    ("tf.conv(k=(1, 4), s=(2, 3), p=same)", (5, 7)),
    ("jax.conv(k=(2, 3), d=(2, 1), p=((1, 0), (-1, 2)))", (6, 4)),
]
TRANSPOSED = [
    ("convT(k=3, s=1, p=0)", (2, 2)),  # figure 4.1
    ("convT(k=3, s=2, p=0)", (2, 2)),  # figure 4.5
    ("convT(k=3, s=2, p=1)", (3, 3)),  # figure 4.6 (a = 0)
    ("convT(k=3, s=2, p=1, a=1)", (3, 3)),  # figure 4.7 (a = 1)
    ("convT(k=4, s=2, p=1)", (3, 4)),
    ("torch.convT(k=3, s=3, p=1, a=2)", (2, 3)),
    ("convT(k=3, s=1, d=2, p=1)", (3, 3)),  # dilation
    ("torch.convT(k=2, s=2, d=2, a=1)", (3, 2)),
    ("onnx.convT(k=3, s=2, auto_pad=valid)", (3, 3)),
    ("torch.convT(k=3, s=2, p=3)", (4, 3)),  # p > d(k-1): the stretched input is cropped
    ("jax.convT(k=3, s=2, p=[(-1, 0)])", (4, 4)),
    ("torch.convT(k=1, s=5, p=2, a=4)", (1, 2)),  # the begin crop runs past the input into the a cells
    ("torch.convT(k=(3, 2), s=(2, 3), p=(1, 0), a=(1, 2))", (3, 2)),
    ("keras.convT(k=(3, 4), s=(2, 1), p=same)", (3, 3)),
]


def cells(picture: str) -> dict[str, list[tuple[int, int]]]:
    """Each style's cells as (row, column) of their grid, from the TikZ text."""
    found: dict[str, list[tuple[int, int]]] = {}
    lines = picture.splitlines()
    for line in lines:
        match = CELL.match(line)
        if match:
            style, x, y = match[1], int(match[2]), int(match[3])
            found.setdefault(style, []).append((-y - 1, x))
    assert sum(map(len, found.values())) == sum(line.startswith("\\path[") for line in lines)
    for style in found:
        assert f"{style}/.style=" in picture, f"{style} is used but not defined"
    return found


@dataclass(frozen=True)
class Grid:
    """One axis built by hand: a label per cell, the first cell of every window, the input unit of each input
    or cropped cell, and the units each window reads."""

    labels: list[str]
    starts: list[int]
    units: dict[int, int]
    reads: list[set[int]]


def slide(labels: list[str], k: int, s: int, d: int, keep: Any = None) -> list[int]:
    """Window starts at stride s whose k taps, d apart, all land in the grid (or that `keep` accepts)."""
    return [
        x for x in range(0, len(labels), s) if x + d * (k - 1) < len(labels) or (keep is not None and keep(x))
    ]


def torch_starts(made: Conv | Pool, i: int) -> list[int]:
    """PyTorch's windows, slid over the padded input: a ceil_mode window may run off the end if it starts in
    the input or the left padding and the window before it left cells uncovered."""
    pb, pe = (int(v) for v in made.padding(i))
    k, s, d = int(made.k), int(made.s), int(made.d)
    labels = ["padding"] * pb + ["input"] * i + ["padding"] * pe
    span = d * (k - 1) + 1
    keep = None
    if isinstance(made, Pool) and made.ceil:

        def keep(x: int) -> bool:
            return x < pb + i and x - s + span < len(labels)

    return slide(labels, k, s, d, keep)


def direct_grid(made: Conv | Pool, i: int, o: int) -> Grid:
    """In the layer's padded coordinates q (input unit u at q = pb + u), window j reads q = j*s + t*d: input
    j*s - pb + t*d in every framework. A negative padding crops (onnxruntime's MaxPool still reads up to the
    input's end); cells a window reads past the end padding are extra."""
    pb, pe = (int(v) for v in made.padding(i))
    k, s, d = int(made.k), int(made.s), int(made.d)
    reads_all = made.framework == "ort" and isinstance(made, Pool) and made.op == "max"
    end = pb + i + pe
    low = min(0, pb)
    high = max(pb + i, end, (o - 1) * s + d * (k - 1) + 1)
    labels, units = [], {}
    for q in range(low, high):
        if pb <= q < pb + i:
            units[q - low] = q - pb
            labels.append("cropped" if q < 0 or (q >= end and not reads_all) else "input")
        elif q < 0 or end <= q < pb:
            labels.append("cropped")  # a negative padding eats into the other side's padding
        else:
            labels.append("padding" if q < end else "extra")
    starts = [j * s - low for j in range(o)]
    reads = [
        {u for t in range(k) if 0 <= (u := j * s - pb + t * d) < (i if reads_all else min(i, i + pe))}
        for j in range(o)
    ]
    return Grid(labels, starts, units, reads)


def transposed_grid(made: ConvTranspose, i: int, o: int, begin: int | None = None) -> Grid:
    """The paper's equivalent convolution: the stretched input (unit u at q = B + u*s) padded by B before and
    E after, a extra cells, stride 1; B = E = k_eff - p - 1 (PyTorch, ONNX, JAX's consistent padding), the
    tuple itself (JAX), or `begin` when given (Keras' and JAX's automatic modes, checked against the
    frameworks elsewhere). A negative padding crops; window j reads q = j + t*d."""
    k, s, d = int(made.k), int(made.s), int(made.d)
    pb, pe = int(made.pb), int(made.pe)
    span, stretched = d * (k - 1) + 1, s * (i - 1) + 1
    torch_like = made.framework in (None, "torch", "onnx", "ort") or (
        made.framework == "jax" and made.consistent
    )
    if begin is None and made.framework in ("onnx", "ort") and made.mode in ("same_upper", "same_lower"):
        # ONNX's auto_pad for ConvTranspose: the pads of output o, total s(i-1) + a + k_eff - o, SAME_UPPER
        # beginning with total // 2 (onnx/defs/nn/defs.cc, the reference evaluator's floor division).
        total_pad = s * (i - 1) + (int(made.a) if made.a is not None else 0) + span - o
        pb = total_pad // 2 if made.mode == "same_upper" else total_pad - total_pad // 2
        pe = total_pad - pb
    if begin is not None:
        total = o - 1 + span - begin - stretched
    elif torch_like:
        begin, total = span - 1 - pb, span - 1 - pe + (int(made.a) if made.a is not None else 0)
    else:
        begin, total = pb, pe
    pads = span - 1 - pe if torch_like else total
    end_pad = max(0, min(pads, span - 1, total))
    end = begin + stretched + total
    assert o == end - span + 1, "the output is the windows that fit the equivalent convolution"
    low = min(0, begin)
    high = max(begin + stretched, end)
    labels, units = [], {}
    for q in range(low, high):
        v = q - begin
        if 0 <= v < stretched:
            if v % s == 0:
                units[q - low] = v // s
            labels.append("cropped" if q < 0 or q >= end else "input" if v % s == 0 else "zero")
        elif q < 0 or end <= q < begin:
            labels.append("cropped")
        else:
            labels.append("padding" if q < begin or q < begin + stretched + end_pad else "extra")
    reads = [
        {units[x] for t in range(k) if (x := j + t * d - low) in units and labels[x] == "input"}
        for j in range(o)
    ]
    return Grid(labels, [j - low for j in range(o)], units, reads)


def per_axis(made: Layer) -> tuple[Any, Any]:
    """The layer of the rows and of the columns: a per-axis spec's two layers, else the layer twice."""
    return (made.axis(0), made.axis(1)) if isinstance(made, Axes) else (made, made)


def hand_grids(made: Layer, size: tuple[int, int]) -> tuple[Grid, Grid]:
    out = made.output_size(size)
    first, second = per_axis(made)
    if isinstance(first, ConvTranspose):
        automatic = made.framework in ("keras", "jax") and first.mode != "explicit"
        begins: list[int | None] = [None, None]
        if automatic:
            geo = geometry(made, size)
            begins = [axis.before for axis in (geo.rows, geo.cols)]
        return (
            transposed_grid(first, size[0], out[0], begins[0]),
            transposed_grid(second, size[1], out[1], begins[1]),
        )
    return direct_grid(first, size[0], out[0]), direct_grid(second, size[1], out[1])


PRECEDENCE = ("extra", "padding", "cropped", "zero")


def combined(row: str, col: str) -> str:
    for label in PRECEDENCE:
        if label in (row, col):
            return f"{label} cell"
    return "input cell"


def documented_counts(rows: Grid, cols: Grid) -> dict[str, int]:
    """The grid cells per style by the module's table, from each axis' input lines I, input and zero lines K,
    then C (and cropped), Q (and padding) and L (all) lines."""

    def cumulative(grid: Grid) -> list[int]:
        counts = Counter(grid.labels)
        running, sums = 0, []
        for label in ("input", "zero", "cropped", "padding", "extra"):
            running += counts[label]
            sums.append(running)
        return sums

    (i_h, k_h, c_h, q_h, l_h), (i_w, k_w, c_w, q_w, l_w) = cumulative(rows), cumulative(cols)
    return {
        "input cell": i_h * i_w,
        "zero cell": k_h * k_w - i_h * i_w,
        "cropped cell": c_h * c_w - k_h * k_w,
        "padding cell": q_h * q_w - c_h * c_w,
        "extra cell": l_h * l_w - q_h * q_w,
    }


def check_figure(made: Layer, size: tuple[int, int], frame: int, picture: str | None = None) -> None:
    """The figure's grid, windows and output equal the hand-built grid's, cell by cell, and the cells of each
    style number what the module's table says."""
    rows, cols = hand_grids(made, size)
    out_h, out_w = len(rows.starts), len(cols.starts)
    assert made.output_size(size) == (out_h, out_w)
    drawn = cells(figure(made, size, frame) if picture is None else picture)
    expected = {
        (r, c): combined(row, col) for r, row in enumerate(rows.labels) for c, col in enumerate(cols.labels)
    }
    grid = {cell: style for style in GRID_STYLES for cell in drawn.get(style, [])}
    assert sum(len(drawn.get(style, [])) for style in GRID_STYLES) == len(grid), "a grid cell drawn twice"
    assert grid == expected
    counts = Counter(expected.values())
    assert {style: counts[style] for style in GRID_STYLES} == documented_counts(rows, cols)
    h, w = size
    first, second = per_axis(made)
    if not any(label in g.labels for g in (rows, cols) for label in ("extra", "cropped")):
        assert counts["input cell"] == h * w
        if not isinstance(first, ConvTranspose):
            pb_h, pe_h = first.padding(h)
            pb_w, pe_w = second.padding(w)
            if min(pb_h, pe_h, pb_w, pe_w) >= 0:
                assert counts["padding cell"] == (h + pb_h + pe_h) * (w + pb_w + pe_w) - h * w
    left = len(cols.labels) + GAP
    assert sorted(drawn["output cell"]) == [(r, left + c) for r in range(out_h) for c in range(out_w)]
    row, col = divmod(frame, out_w)
    assert drawn["current cell"] == [(row, left + col)]
    (k_h, d_h), (k_w, d_w) = ((int(one.k), int(one.d)) for one in (first, second))
    taps = {(rows.starts[row] + a * d_h, cols.starts[col] + b * d_w) for a in range(k_h) for b in range(k_w)}
    assert len(drawn["kernel cell"]) == k_h * k_w
    assert set(drawn["kernel cell"]) == taps
    # The input units under the window's taps are the ones the framework reads.
    for axis, one, j, taps_1d in (
        (rows, first, row, {r for r, _ in taps}),
        (cols, second, col, {c for _, c in taps}),
    ):
        assert {axis.units[x] for x in taps_1d if axis.labels[x] == "input"} == axis.reads[j]
        if isinstance(one, ConvTranspose) and made.framework in (None, "torch", "onnx", "ort"):
            pb, s, k, d = int(one.pb), int(one.s), int(one.k), int(one.d)
            reached = {u for u in axis.units.values() if any(j + pb - u * s == t * d for t in range(k))}
            assert axis.reads[j] == reached


@pytest.mark.parametrize(("spec", "size"), DIRECT + TRANSPOSED)
def test_cells_equal_a_hand_built_grid_at_every_frame(spec: str, size: tuple[int, int]) -> None:
    made = layer(spec)
    frames = made.output_size(size)[0] * made.output_size(size)[1]
    for frame in range(frames):
        check_figure(made, size, frame)
    if made.framework in (None, "torch") and not isinstance(per_axis(made)[0], ConvTranspose):
        starts = [len(torch_starts(one, i)) for one, i in zip(per_axis(made), size, strict=True)]
        assert starts == list(made.output_size(size))


def test_transposed_counts_follow_the_paper() -> None:
    # convT(k=3, s=2, p=1, a=1) on 3x3: stretched 5x5, padding 1 each side, one extra row and column.
    drawn = cells(figure(layer("convT(k=3, s=2, p=1, a=1)"), (3, 3)))
    assert {style: len(found) for style, found in drawn.items()} == {
        "input cell": 9,
        "zero cell": 25 - 9,
        "padding cell": 49 - 25,
        "extra cell": 64 - 49,
        "kernel cell": 9,
        "output cell": 36,
        "current cell": 1,
    }


def test_dilated_taps_leave_gaps() -> None:
    drawn = cells(figure(layer("conv(k=3, d=2)"), (7, 7), frame=0))
    assert sorted(drawn["kernel cell"]) == [(r, c) for r in (0, 2, 4) for c in (0, 2, 4)]


@settings(max_examples=60)
@given(
    k=st.integers(1, 4),
    s=st.integers(1, 3),
    p=st.integers(0, 4),
    d=st.integers(1, 2),
    h=st.integers(1, 8),
    w=st.integers(1, 8),
    kind=st.sampled_from(["conv", "maxpool", "convT"]),
    a=st.integers(0, 2),
)
def test_random_layers_equal_the_hand_built_grid(
    k: int, s: int, p: int, d: int, h: int, w: int, kind: str, a: int
) -> None:
    extra = f", a={a}" if kind == "convT" else ", ceil=true" if a == 1 and kind == "maxpool" else ""
    spec = f"torch.{kind}(k={k}, s={s}, p={p}, d={d}{extra})"
    try:
        made = layer(spec)
        out = made.output_size((h, w))
    except (ShapeError, SpecError):
        return
    # p > d(k-1) crops the stretched input of a transposed convolution: drawn as cropped cells.
    try:
        check_figure(made, (h, w), out[0] * out[1] - 1)
    except SpecError as error:
        # A dilated transposed grid can pass draw's limit (32 cells a side): refused by name, nothing to compare.
        assert "is too large (at most 32)" in str(error), error
        return
    if isinstance(made, Conv | Pool):
        assert [len(torch_starts(made, i)) for i in (h, w)] == list(out)
    else:
        assert isinstance(made, ConvTranspose), made.spec


FRAMEWORK_NAMES: list[str | None] = [None, "torch", "tf", "keras", "onnx", "ort", "jax"]
KINDS = ["conv", "maxpool", "avgpool", "convT"]
FAMILY = {"conv": "conv", "maxpool": "pool", "avgpool": "pool", "convT": "convT"}
NO_DILATION = {"avgpool": (None, "torch", "tf", "keras"), "maxpool": ("tf", "keras")}
MODE_NAMES = ["same", "valid", "full", "causal", "same_upper", "same_lower"]
EXAMPLES_PER_FRAMEWORK = 150


@st.composite
def random_spec(draw: st.DrawFn, framework: str | None) -> str:
    """A spec of `framework`, mostly one it accepts: its kinds and padding modes, explicit pads (negative for
    JAX), ceil_mode, dilation and output_padding where it has them, defaults left out; one in ten anything."""
    wild = draw(st.integers(0, 9)) == 0
    kinds = KINDS if wild else [kind for kind in KINDS if MODES[framework][FAMILY[kind]]]
    kind = draw(st.sampled_from(kinds))
    family = FAMILY[kind]
    modes = MODES[framework][family]
    k = draw(st.integers(1, 5))
    s = draw(st.integers(1, 3)) if draw(st.integers(0, 4)) else None
    args = [f"k={k}"] + ([] if s is None else [f"s={s}"])
    form = draw(st.integers(0, 9))
    low = -2 if framework == "jax" else 0
    high = k // 2 if framework == "torch" and family == "pool" and not wild else 3
    padding = None
    if wild and form == 0:
        padding = draw(st.sampled_from([*MODE_NAMES, "1", "(0, 2)", "(-1, 1)"]))
    elif "explicit" in modes and form <= 5:
        if framework == "torch" or (framework != "jax" and draw(st.booleans())):
            padding = str(draw(st.integers(0, high)))
        else:
            padding = f"[({draw(st.integers(low, high))}, {draw(st.integers(low, high))})]"
    elif any(mode != "explicit" for mode in modes) and form <= 8:
        automatic = [m for m in modes if m != "explicit"]
        if family == "convT" and framework in ("onnx", "ort"):
            # ONNX's ConvTranspose auto_pad SAME: its sizes are probed (tests/test_diff_onnx.py), its window
            # positions are not yet, so transposed_grid has no independent model of them to draw against.
            automatic = [m for m in automatic if m == "valid"]
        padding = draw(st.sampled_from(automatic))
    if padding is not None:
        args.append(f"p={padding}")
    dilation = not NO_DILATION.get(kind, ()) or framework not in NO_DILATION[kind]
    if framework == "keras" and (s or 1) > 1:
        dilation = False  # strides > 1 not supported in conjunction with dilation_rate > 1
    d = draw(st.integers(1, 3)) if (wild or dilation) and draw(st.integers(0, 2)) == 0 else 1
    if d > 1:
        args.append(f"d={d}")
    # ONNX's ceil_mode with an automatic padding costs SymPy over a second a layer (layers.py): the fixed
    # cases and test_onnx_pooling_figures_match_onnxruntime draw one.
    slow = framework in ("onnx", "ort") and padding in ("same_upper", "same_lower")
    if family == "pool" and (wild or framework in CEIL_MODE) and not slow and draw(st.booleans()):
        args.append(f"ceil={draw(st.sampled_from(['true', 'false']))}")
    if kind == "convT" and (wild or framework != "jax") and draw(st.booleans()):
        limit = max(s or 1, d if framework in (None, "torch") else 1) - 1
        args.append(f"a={draw(st.integers(0, 3 if wild else limit))}")
    if kind == "convT" and (wild or framework == "jax") and draw(st.booleans()):
        args.append("consistent=true")
    return f"{'' if framework is None else framework + '.'}{kind}({', '.join(args)})"


@pytest.mark.parametrize("framework", FRAMEWORK_NAMES)
@settings(max_examples=EXAMPLES_PER_FRAMEWORK)
@given(data=st.data())
def test_every_framework_draws_the_layers_output(framework: str | None, data: st.DataObject) -> None:
    """Where the layer is defined, draw shows exactly its output windows (cell by cell, per style counts, the
    units each window reads); where the framework refuses it, draw refuses it with a SpecError."""
    spec = data.draw(random_spec(framework), label="spec")
    h, w = data.draw(st.integers(1, 7), label="h"), data.draw(st.integers(1, 7), label="w")
    text = f"{h},{w}"
    try:
        made = layer(spec)
        out = made.output_size((h, w))
    except (ShapeError, SpecError) as error:
        event(f"refused ({type(error).__name__})")
        with pytest.raises(SpecError):
            draw(spec, text, None, None, False)
        return
    if min(out) < 1:
        event("empty output")
        with pytest.raises(SpecError, match="nothing to draw"):
            draw(spec, text, None, None, False)
        return
    frame = data.draw(st.integers(0, out[0] * out[1] - 1), label="frame")
    with patch.object(tikz, "MAX_SIDE", 1000):
        code, summary, tex = draw(spec, text, None, frame, False)
        check_figure(made, (h, w), frame, tex)
    assert code == 0 and summary["output_size"] == list(out) and summary["frames"] == 1
    event(
        "drawn"
        + (", extra cells" if any(summary["extra"]) else "")
        + (", cropped" if any(map(any, summary["cropped"])) else "")
    )
    if max(*summary["padded"], *summary["output_size"]) > tikz.MAX_SIDE:
        event("too large")
        with pytest.raises(SpecError, match="too large"):
            draw(spec, text, None, frame, False)
    else:
        assert draw(spec, text, None, frame, False)[2] == tex


def reach(axis: Any, unit: int) -> set[int]:
    """The outputs whose window covers input `unit` in the drawn figure."""
    position = axis.begin + unit * axis.spacing
    if axis.cell(position) != "input":
        return set()  # cropped by a negative padding
    return {j for j in range(axis.output) if position in axis.taps(j)}


TRANSPOSED_FRAMEWORKS = [
    ("torch.convT(k=3, s=2, p=1, a=1)", 4),
    ("torch.convT(k=4, s=3, p=2, d=2, a=2)", 3),
    ("torch.convT(k=3, s=2, p=3)", 4),  # p > d(k-1): the equivalent convolution crops the stretched input
    ("torch.convT(k=2, s=3, p=2, a=2)", 3),
    ("jax.convT(k=3, s=2, p=[(-1, 0)])", 4),
    ("jax.convT(k=2, s=2, p=[(3, -1)], consistent=true)", 4),
    ("jax.convT(k=3, s=2, p=same)", 4),
    ("jax.convT(k=2, s=3, d=2, p=valid)", 3),
    ("jax.convT(k=3, s=2, p=[(2, 0)])", 4),
    ("jax.convT(k=4, s=2, p=[(1, 2)], consistent=true)", 3),
    ("keras.convT(k=3, s=2, p=same)", 4),
    ("keras.convT(k=1, s=3, p=same)", 3),
    ("keras.convT(k=4, s=2, p=same, a=1)", 3),
    ("keras.convT(k=2, s=3, p=valid)", 3),
    ("keras.convT(k=3, s=2, p=valid, a=1)", 3),
]


def framework_reach(spec: str, i: int) -> list[set[int]]:
    """Which outputs each input unit reaches in the framework itself (input j one-hot in batch row j)."""
    made = typed_layer(spec, ConvTranspose)
    k, s, d = int(made.k), int(made.s), int(made.d)
    np = pytest.importorskip("numpy")
    if made.framework == "torch":
        torch = pytest.importorskip("torch")
        x = torch.eye(i).reshape(i, 1, i)
        assert made.a is not None, spec
        pads = int(made.pb), int(made.a)
        y = torch.nn.functional.conv_transpose1d(
            x, torch.ones(1, 1, k), stride=s, padding=pads[0], output_padding=pads[1], dilation=d
        )[:, 0, :].numpy()
    elif made.framework == "jax":
        lax = pytest.importorskip("jax.lax")
        pb, pe = int(made.pb), int(made.pe)
        padding = made.mode.upper() if made.mode != "explicit" else [(pb, pe)]
        y = lax.conv_transpose(
            np.eye(i, dtype="float32").reshape(i, i, 1),
            np.ones((k, 1, 1), "float32"),
            (s,),
            padding,
            rhs_dilation=(d,),
            dimension_numbers=("NHC", "HIO", "NHC"),
            use_consistent_padding=made.consistent,
        )[:, :, 0]
    else:
        os.environ.setdefault("KERAS_BACKEND", "numpy")  # as test_diff_keras
        keras = pytest.importorskip("keras")
        a = None if made.a is None else int(made.a)
        y = keras.ops.conv_transpose(
            np.eye(i, dtype="float32").reshape(i, i, 1),
            np.ones((k, 1, 1), "float32"),
            s,
            made.mode,
            output_padding=a,
            dilation_rate=d,
        )[:, :, 0]
    return [set(np.nonzero(np.asarray(row))[0].tolist()) for row in y]


@pytest.mark.parametrize(("spec", "i"), TRANSPOSED_FRAMEWORKS)
def test_transposed_figure_matches_the_framework(spec: str, i: int) -> None:
    """Each input unit reaches exactly the outputs whose drawn window covers its stretched position."""
    axis = geometry(layer(spec), (i, i)).rows
    assert [reach(axis, u) for u in range(i)] == framework_reach(spec, i)


def test_json_summary_of_the_drawn_convolution() -> None:
    code, data, text = draw("convT(k=3, s=2, p=1, a=1)", "3", None, None, False)
    assert code == 0
    assert data == {
        "output": None,
        "frames": 1,
        "input": [3, 3],
        "padded": [8, 8],
        "output_size": [6, 6],
        "kernel": 3,
        "stride": 1,
        "dilation": 1,
        "padding": [[1, 2], [1, 2]],
        "extra": [1, 1],
        "cropped": [[0, 0], [0, 0]],
        "transposed": True,
    }
    assert text.startswith("% Needs \\usepackage{tikz}")
    assert text.count("\\begin{tikzpicture}") == 1 and text.rstrip().endswith("\\end{tikzpicture}")
    _, data, _ = draw("tf.conv(k=3, s=2, p=same)", "6,5", None, 2, False)
    assert data["padding"] == [[0, 1], [1, 1]] and data["output_size"] == [3, 3]
    assert data["padded"] == [7, 7] and data["stride"] == 2 and data["transposed"] is False


def test_keras_default_output_padding_is_derived() -> None:
    # keras.convT(k=1, s=3, p=same): o = 3i, so two extra rows after the kernel's reach.
    _, data, _ = draw("keras.convT(k=1, s=3, p=same)", "2", None, None, False)
    assert data["output_size"] == [6, 6] and data["extra"] == [2, 2]


def test_tex_file_with_all_frames(tmp_path: Path) -> None:
    path = tmp_path / "frames.tex"
    code, data, text = draw("conv(k=3, s=2, p=1)", "5", str(path), None, True)
    tex = path.read_text()
    assert code == 0 and data["frames"] == 9 and data["output"] == str(path)
    assert tex.startswith("% Needs \\usepackage{tikz}")
    assert tex.count("\\begin{tikzpicture}") == 9 and "\\documentclass" not in tex
    assert text == f"wrote {path}: conv(k=3, s=2, p=1) at input 5x5 -> output 3x3, 9 frames"


def pages(pdf: Path) -> int:
    info = subprocess.run([require_tool("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True)
    found = re.search(r"^Pages:\s+(\d+)$", info.stdout, re.MULTILINE)
    assert found is not None, info.stdout
    return int(found[1])


@pytest.mark.tex
def test_one_compile_holds_many_figures(tmp_path: Path) -> None:
    require_tool("pdflatex")
    chosen = [DIRECT[2], DIRECT[6], DIRECT[10], DIRECT[14], TRANSPOSED[2], TRANSPOSED[3], TRANSPOSED[6]]
    chosen += [("ort.avgpool(k=3, s=2)", (2, 2)), ("jax.maxpool(k=2, s=2, p=[(-1, -1)])", (5, 5))]
    pictures = [figure(layer(spec), size, 0) for spec, size in chosen]
    pdf = compile_pdf(pictures, tmp_path)
    assert pages(pdf) == len(pictures)
    text = subprocess.run(
        [require_tool("pdftotext"), str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert text.count("\f") == len(pictures)
    assert text.count("output") == len(pictures) and text.count("stretched to") == 2
    assert text.count("cropped to") == 1


@pytest.mark.tex
def test_pdf_with_all_frames_has_a_page_per_frame(tmp_path: Path) -> None:
    require_tool("pdflatex")
    path = tmp_path / "all.pdf"
    _, data, _ = draw("torch.maxpool(k=2, s=2, ceil=true)", "3,5", str(path), None, True)
    assert data["frames"] == 6 and data["extra"] == [1, 1] and path.read_bytes()[:5] == b"%PDF-"
    assert pages(path) == 6


@pytest.mark.tex
def test_png_of_one_frame(tmp_path: Path) -> None:
    require_tool("pdflatex"), require_tool("pdftoppm")
    path = tmp_path / "frame.png"
    _, data, text = draw("convT(k=3, s=2, p=1)", "3", str(path), 4, False)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert data["frames"] == 1 and text.startswith(f"wrote {path}:")


def gif_frames(data: bytes) -> int:
    """The number of images in a GIF, walking its blocks."""
    assert data[:6] in (b"GIF87a", b"GIF89a")
    at = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    images = 0
    while data[at] != 0x3B:
        if data[at] == 0x21:
            at += 2
        else:
            assert data[at] == 0x2C
            images += 1
            flags = data[at + 9]
            at += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1
        while data[at]:
            at += data[at] + 1
        at += 1
    return images


@pytest.mark.tex
def test_gif_animates_every_frame(tmp_path: Path) -> None:
    require_tool("pdflatex"), require_tool("pdftoppm"), require_tool("convert")
    path = tmp_path / "animation.gif"
    _, data, _ = draw("conv(k=2)", "3,4", str(path), None, False)
    assert data["frames"] == 6
    assert gif_frames(path.read_bytes()) == 6


@pytest.mark.tex
def test_a_failed_compile_shows_the_log(tmp_path: Path) -> None:
    require_tool("pdflatex")
    broken = "\\begin{tikzpicture}\\undefinedfigurecommand\\end{tikzpicture}"
    with pytest.raises(SpecError, match=r"pdflatex failed[\s\S]*Undefined control sequence"):
        compile_pdf([broken], tmp_path)


def test_missing_tools_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SpecError, match=r"needs pdflatex, which is not on PATH"):
        draw("conv(k=3)", "4", str(tmp_path / "x.pdf"), None, False)
    with pytest.raises(SpecError, match=r"needs pdftoppm"):
        draw("conv(k=3)", "4", str(tmp_path / "x.png"), None, False)
    assert not (tmp_path / "x.pdf").exists()


BAD = [
    ("conv(k=k)", "5", {}, r"k=k is symbolic"),
    ("conv(k=?)", "5", {}, r"k is an unknown \(\?\); solve for it first"),
    ("conv(k=3, p=?)", "5", {}, r"p is an unknown"),
    ("upsample(scale=2)", "5", {}, r"draw supports conv, convT, maxpool and avgpool, not upsample"),
    ("pixelshuffle(r=2)", "5", {}, r"not pixelshuffle"),
    ("adaptivepool(size=3)", "5", {}, r"not adaptivepool"),
    ("conv(k=(3, 3, 3))", "5", {}, r"parameters for 3 spatial axes and a drawing shows 2"),
    ("conv(k=3)", "0", {}, r"positive integer N or H,W, got '0'"),
    ("conv(k=3)", "4,x", {}, r"got '4,x'"),
    ("conv(k=3)", "1,2,3", {}, r"got '1,2,3'"),
    ("conv(k=3)", "-4", {}, r"got '-4'"),
    ("conv(k=3)", "\u00b2", {}, r"positive integer N or H,W"),
    ("conv(k=3, s=2, p=1)", "5", {"frame": 9}, r"frame 9 is out of range: .* has 9 frames \(0 to 8\)"),
    ("conv(k=3, s=2, p=1)", "5", {"frame": -1}, r"frame -1 is out of range"),
    ("conv(k=3)", "5", {"output": "x.svg"}, r"draw writes \.tex, \.pdf, \.png, \.gif files"),
    ("conv(k=3)", "5", {"frame": 1, "all_frames": True}, r"either a frame or all frames"),
    ("conv(k=3)", "5", {"output": "x.png", "all_frames": True}, r"a \.png holds one frame"),
    ("conv(k=3)", "5", {"output": "x.gif", "frame": 2}, r"a \.gif animates every frame"),
    ("conv(k=3)", "40", {}, r"grid of 40 cells a side is too large \(at most 32\)"),
    ("conv(k=1)", "12", {"all_frames": True}, r"all 144 frames of .* draw 41760 cells, more than 40000"),
    ("jax.conv(k=5)", "3", {}, r"nothing to draw: .* empty output \(0, 0\)"),
    ("conv(k=3)", "5", {"output": "/nonexistent/dir/x.tex"}, r"cannot write /nonexistent/dir/x.tex"),
]


@pytest.mark.parametrize(("spec", "size", "options", "message"), BAD)
def test_bad_input_names_the_problem(spec: str, size: str, options: dict[str, Any], message: str) -> None:
    arguments = {"output": None, "frame": None, "all_frames": False, **options}
    with pytest.raises(SpecError, match=message):
        draw(spec, size, arguments["output"], arguments["frame"], arguments["all_frames"])


def test_refused_configuration_is_a_spec_error_and_a_shape_error() -> None:
    with pytest.raises(SpecError, match="effective kernel") as refused:
        draw("conv(k=5)", "3", None, None, False)
    assert isinstance(refused.value, ShapeError)
    with pytest.raises(UndrawableError, match="not supported for strided convolutions"):
        draw("torch.conv(k=3, s=2, p=same)", "5", None, None, False)


def test_figure_checks_its_size_argument() -> None:
    made = layer("conv(k=3)")
    for size in [(5,), (0, 3), (True, 3), (2.5, 3), "5,5"]:
        with pytest.raises(SpecError, match="input size must be"):
            figure(made, size, 0)  # type: ignore[arg-type]
    assert parse_size(" 7 , 9 ") == (7, 9) and parse_size("4") == (4, 4)


def test_a_grid_disagreeing_with_the_output_size_is_never_drawn() -> None:
    @dataclass(frozen=True)
    class Lying(Conv):
        def output_size(self, i: Any, **values: int) -> Any:
            size = super().output_size(i, **values)
            return size + 1 if isinstance(size, int) else size

    made = layer("conv(k=3, s=2, p=1)")
    lying = Lying(**{f.name: getattr(made, f.name) for f in fields(made)})
    with pytest.raises(RuntimeError, match="internal error: 4 windows on an axis of 5 units"):
        figure(lying, (5, 5))


def test_document_needs_a_picture() -> None:
    with pytest.raises(SpecError, match="at least one picture"):
        document([])
    assert document(["\\begin{tikzpicture}\\end{tikzpicture}"]).count("\\shipout") == 1


# ---------------------------------------------------------------------------------------------------------------
# Direct layers against the frameworks: the units each drawn window covers are the ones the framework reads.


def onnx_pool_reach(made: Pool, i: int) -> tuple[int, list[set[int]]]:
    """onnxruntime's MaxPool/AveragePool over a one-hot input per batch row: its output size, and which
    outputs see unit u."""
    ort = pytest.importorskip("onnxruntime")
    np = pytest.importorskip("numpy")
    helper = pytest.importorskip("onnx.helper")
    tensor = pytest.importorskip("onnx").TensorProto
    attrs: dict[str, Any] = {
        "kernel_shape": [int(made.k)],
        "strides": [int(made.s)],
        "dilations": [int(made.d)],
        "ceil_mode": int(made.ceil),
    }
    if made.mode == "explicit":
        attrs["pads"] = [int(made.pb), int(made.pe)]
    else:
        attrs["auto_pad"] = made.mode.upper()
    node = helper.make_node("MaxPool" if made.op == "max" else "AveragePool", ["x"], ["y"], **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", tensor.FLOAT, [i, 1, i])],
        [helper.make_tensor_value_info("y", tensor.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)], ir_version=10)
    options = ort.SessionOptions()
    options.log_severity_level = 4
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"x": np.eye(i, dtype=np.float32).reshape(i, 1, i)})
    return y.shape[-1], [set(np.nonzero(row[0] > 0)[0].tolist()) for row in y]


def onnx_pool_cases() -> list[tuple[Pool, int]]:
    """The review's three configurations, then seeded random ONNX pools: explicit and automatic pads,
    ceil_mode, dilation, at small sizes (where windows overhang and automatic pads turn negative)."""
    rng = random.Random(20240613)
    chosen = [
        ("ort.avgpool(k=3, s=2)", 2),
        ("ort.maxpool(k=5, s=2, p=[(0, 1)])", 3),
        ("ort.maxpool(k=2, s=3, auto_pad=valid, d=3)", 2),
        ("ort.avgpool(k=2, s=4, d=2, auto_pad=same_upper)", 4),
        ("ort.maxpool(k=2, s=5, d=3, auto_pad=same_lower, ceil=true)", 9),
    ]
    cases: list[tuple[Pool, int]] = [(typed_layer(spec, Pool), i) for spec, i in chosen]
    while len(cases) < ONNX_CASES:
        op = rng.choice(["max", "avg"])
        p = rng.choice(["valid", "same_upper", "same_lower", f"[({rng.randint(0, 3)}, {rng.randint(0, 3)})]"])
        # ceil_mode with an automatic padding costs SymPy about half a second a layer: explicit pads only.
        ceil = rng.choice(["true", "false"]) if p.startswith(("[", "v")) else "false"
        spec = f"ort.{op}pool(k={rng.randint(1, 5)}, s={rng.randint(1, 5)}, d={rng.randint(1, 3)}, p={p}, ceil={ceil})"
        i = rng.randint(1, 9)
        try:
            made = typed_layer(spec, Pool)
            defined = min(made.output_size((i, i))) >= 1
        except (ShapeError, SpecError):
            continue
        if defined:
            cases.append((made, i))
    return cases


ONNX_CASES = 80


def test_onnx_pooling_figures_match_onnxruntime() -> None:
    """The windows drawn are the ones onnxruntime computes, overhanging and cropped ones included."""
    kinds: Counter[str] = Counter()
    for made, i in onnx_pool_cases():
        axis = geometry(made, (i, i)).rows
        size, expected = onnx_pool_reach(made, i)
        assert axis.output == size and [reach(axis, u) for u in range(i)] == expected, made.spec
        kinds.update(overhang=axis.extra > 0, cropped=axis.crop_begin + axis.crop_end > 0)
    assert kinds["overhang"] >= 10 and kinds["cropped"] >= 3, kinds


def direct_reach(spec: str, i: int) -> list[set[int]]:
    """Which outputs see input unit u in PyTorch (conv1d, max_pool1d) or JAX (conv_general_dilated,
    reduce_window), one-hot inputs in the batch."""
    made = typed_layer(spec, Windowed)
    k, s, d = int(made.k), int(made.s), int(made.d)
    pb, pe = (int(v) for v in made.padding(i))
    np = pytest.importorskip("numpy")
    if made.framework == "torch":
        torch = pytest.importorskip("torch")
        x = torch.eye(i).reshape(i, 1, i)
        if isinstance(made, Pool):
            y = torch.nn.functional.max_pool1d(x, k, s, pb, d, ceil_mode=made.ceil)
        else:
            y = torch.nn.functional.conv1d(x, torch.ones(1, 1, k), None, s, pb, d)
        rows = y[:, 0, :].numpy()
    else:
        lax = pytest.importorskip("jax.lax")
        x = np.eye(i, dtype="float32")
        if isinstance(made, Pool):
            rows = lax.reduce_window(x, -np.inf, lax.max, (1, k), (1, s), [(0, 0), (pb, pe)], None, (1, d))
        else:
            rows = lax.conv_general_dilated(
                x.reshape(i, i, 1),
                np.ones((k, 1, 1), "float32"),
                (s,),
                [(pb, pe)],
                None,
                (d,),
                dimension_numbers=("NHC", "HIO", "NHC"),
            )[:, :, 0]
    return [set(np.nonzero(np.asarray(row) > 0)[0].tolist()) for row in rows]


DIRECT_FRAMEWORKS = [
    ("torch.maxpool(k=3, s=2, ceil=true)", 6),
    ("torch.maxpool(k=2, s=2, p=1, d=2, ceil=true)", 6),
    ("torch.conv(k=3, s=2, p=1, d=2)", 7),
    ("jax.conv(k=2, p=[(-1, 0)])", 5),
    ("jax.conv(k=2, s=2, d=2, p=[(-2, 1)])", 7),
    ("jax.maxpool(k=2, s=2, p=[(-1, -1)])", 6),
]


@pytest.mark.parametrize(("spec", "i"), DIRECT_FRAMEWORKS)
def test_direct_figure_matches_the_framework(spec: str, i: int) -> None:
    axis = geometry(layer(spec), (i, i)).rows
    assert [reach(axis, u) for u in range(i)] == direct_reach(spec, i)


# ---------------------------------------------------------------------------------------------------------------
# The command line, in process: exit 0 with JSON, exit 2 with a message for bad input, never a traceback.


def run_draw(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["draw", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.mark.parametrize(
    ("spec", "size", "output"),
    [
        ("ort.avgpool(k=3, s=2)", "2", [1, 1]),
        ("ort.maxpool(k=5, s=2, p=[(0, 1)])", "3", [1, 1]),
        ("ort.maxpool(k=2, s=3, auto_pad=valid, d=3)", "9,2", [2, 1]),
        ("ort.avgpool(k=1, s=3, auto_pad=same_upper)", "6", [2, 2]),
        ("torch.convT(k=3, s=2, p=3)", "4,3", [3, 1]),
        ("keras.convT(k=3, s=2, p=same)", "3", [6, 6]),
        ("conv(k=(3, 1), s=(1, 2), p=(1, 0))", "5,6", [5, 3]),
        ("torch.convT(k=(3, 2), s=(2, 3), a=(1, 0))", "3,2", [8, 5]),
    ],
)
def test_cli_draw_json_agrees_with_shape(
    capsys: pytest.CaptureFixture[str], spec: str, size: str, output: list[int]
) -> None:
    code, out, err = run_draw(capsys, spec, "--in", size, "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["output_size"] == output and data["frames"] == 1 and data["output"] is None
    assert main(["shape", spec, "--in", size, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == (output if "," in size else output[0])


def test_cli_draw_per_axis_spec_draws_each_axis_or_the_one_named(capsys: pytest.CaptureFixture[str]) -> None:
    spec = "conv(k=(3, 1), s=(1, 2), p=(1, 0))"
    code, out, _ = run_draw(capsys, spec, "--in", "5,6", "--json")
    data = json.loads(out)
    assert code == 0 and data["kernel"] == [3, 1] and data["stride"] == [1, 2] and data["dilation"] == 1
    assert data["padding"] == [[1, 1], [0, 0]]
    code, out, _ = run_draw(capsys, spec, "--in", "5", "--axis", "1", "--json")
    data = json.loads(out)
    assert code == 0 and data["kernel"] == 1 and data["stride"] == 2 and data["output_size"] == [3, 3]
    code, out, err = run_draw(capsys, "conv(k=(3, 5, 3))", "--in", "5")
    assert code == 2 and "differs between its 3 spatial axes" in err


def test_cli_draw_prints_tikz_and_writes_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run_draw(capsys, "ort.avgpool(k=3, s=2)", "--in", "2", "--frame", "0")
    assert code == 0 and err == "" and out.count("\\begin{tikzpicture}") == 1
    assert len(cells(out)["extra cell"]) == 3 * 3 - 2 * 2  # the window's third row and column
    path = tmp_path / "frames.tex"
    code, out, err = run_draw(capsys, "onnx.maxpool(k=2, s=2)", "--in", "4", "-o", str(path), "--all-frames")
    assert code == 0 and out.startswith(f"wrote {path}:") and path.read_text().count("tikzpicture}") == 8


CLI_BAD = [
    (["conv(k=3)", "--in", "0"], r"positive integer N or H,W, got '0'"),
    (["conv(k=3)", "--in", "4,x"], r"got '4,x'"),
    (["conv(k=3)", "--in", "1,2,3"], r"got '1,2,3'"),
    (["conv(k=3)", "--in", "40"], r"too large \(at most 32\)"),
    (["conv(k=3, s=2, p=1)", "--in", "5", "--frame", "9"], r"frame 9 is out of range: .* \(0 to 8\)"),
    (["conv(k=3, s=2, p=1)", "--in", "5", "--frame", "-1"], r"frame -1 is out of range"),
    (["conv(k=3)", "--in", "5", "--frame", "x"], r"invalid int value: 'x'"),
    (["conv(k=3)", "--in", "5", "-o", "FILE.svg"], r"draw writes \.tex, \.pdf, \.png, \.gif files"),
    (["conv(k=3)", "--in", "5", "-o", "FILE"], r"cannot tell what to write for 'FILE'"),
    (["conv(k=k)", "--in", "5"], r"k=k is symbolic"),
    (["conv(k=3, s=2, p=?)", "--in", "5"], r"p is an unknown"),
    (["conv(k=3)", "--in", "5", "-o", "FILE.gif", "--frame", "1"], r"a \.gif animates every frame"),
    (["conv(k=3)", "--in", "5", "-o", "FILE.png", "--all-frames"], r"a \.png holds one frame"),
    (["conv(k=3)", "--in", "5", "--frame", "1", "--all-frames"], r"not allowed with argument"),
    (["conv(k=3)"], r"required: --in"),
    (["conv(k=5)", "--in", "3"], r"effective kernel"),
    (["torch.conv(k=3, s=2, p=same)", "--in", "5"], r"not supported for strided convolutions"),
    (["torch.maxpool(k=2, p=2)", "--in", "5"], r"pad should be at most half of kernel size"),
    (["jax.conv(k=5)", "--in", "3"], r"nothing to draw"),
    (["upsample(scale=2)", "--in", "5"], r"not upsample"),
    (["conv(k=3, q=1)", "--in", "5"], r"unknown parameter 'q'"),
    (["conv((", "--in", "5"], r"malformed layer spec at column \d+"),
]


@pytest.mark.parametrize(("argv", "message"), CLI_BAD)
@pytest.mark.parametrize("as_json", [False, True])
def test_cli_draw_bad_input_exits_2_with_a_message(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    argv: list[str],
    message: str,
    as_json: bool,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_draw(capsys, *argv, *(["--json"] if as_json else []))
    assert code == 2
    assert err.startswith("symconv: error: ") and re.search(message, err), err
    if as_json:
        assert re.search(message, json.loads(out)["error"])
    else:
        assert out == ""
    assert list(tmp_path.iterdir()) == [], "nothing is written for bad input"
