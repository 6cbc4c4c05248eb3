"""symconv.tikz: the figures, checked by counting their cells against windows slid over a real padded grid.

Each figure's grid cells are parsed back from the TikZ (one ``\\path[STYLE] (x,y) rectangle ++(1,1);`` per
cell) and compared cell by cell with a grid built here in plain Python: the padded input (the stretched input
for a transposed convolution, section 4 of Dumoulin & Visin), with the window positions found by sliding the
dilated window over it. Compiling needs pdflatex, pdftoppm and ImageMagick's convert (require_tool fails a
test where one is missing, the project's policy); one compile checks many figures at once.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv.errors import ShapeError, SpecError
from symconv.layers import Conv, ConvTranspose, Layer, Pool, layer
from symconv.tikz import GAP, compile_pdf, document, draw, figure, geometry, parse_size

from .conftest import require_tool

CELL = re.compile(r"^\\path\[([a-z ]+)\] \((-?\d+),(-?\d+)\) rectangle \+\+\(1,1\);$")
GRID_STYLES = ("input cell", "zero cell", "padding cell", "extra cell")

DIRECT = [
    ("conv(k=3, s=1, p=0)", (4, 4)),  # the paper's figure 2.1
    ("conv(k=4, s=1, p=2)", (5, 5)),  # figure 2.2
    ("conv(k=3, s=1, p=1)", (5, 5)),  # half padding, figure 2.3
    ("conv(k=3, s=1, p=2)", (5, 5)),  # full padding, figure 2.4
    ("conv(k=3, s=2, p=0)", (5, 5)),  # figure 2.5
    ("conv(k=3, s=2, p=1)", (6, 5)),  # figure 2.7 and its odd neighbour
    ("conv(k=3, d=2)", (7, 7)),  # dilation, figure 5.1
    ("conv(k=2, s=2, d=2, p=1)", (6, 5)),
    ("conv(k=3, s=2, p=(1, 2))", (4, 6)),
    ("conv(k=3, p=full)", (3, 4)),
    ("torch.maxpool(k=3, s=2, ceil=true)", (6, 8)),  # ceil_mode: the last window overhangs
    ("torch.avgpool(k=3, s=2, p=1, ceil=true)", (6, 7)),
    ("torch.maxpool(k=2)", (5, 5)),  # stride defaults to the kernel
    ("avgpool(k=2, s=1)", (3, 4)),
    ("tf.conv(k=3, s=2, p=same)", (6, 5)),  # asymmetric: (0, 1) rows, (1, 1) columns
    ("tf.maxpool(k=2, s=2, p=same)", (5, 5)),
    ("onnx.conv(k=3, s=2, auto_pad=same_lower)", (6, 6)),
    ("jax.conv(k=3, s=2, d=2, p=same)", (7, 6)),
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
    """One axis built by hand: a label per cell and the start of every window."""

    labels: list[str]
    starts: list[int]


def slide(labels: list[str], k: int, s: int, d: int, keep: Any = None) -> list[int]:
    """Window starts at stride s whose k taps, d apart, all land in the grid (or that `keep` accepts)."""
    return [
        x for x in range(0, len(labels), s) if x + d * (k - 1) < len(labels) or (keep is not None and keep(x))
    ]


def direct_grid(made: Conv | Pool, i: int) -> Grid:
    pb, pe = (int(v) for v in made.padding(i))
    k, s, d = int(made.k), int(made.s), int(made.d)
    labels = ["padding"] * pb + ["input"] * i + ["padding"] * pe
    span = d * (k - 1) + 1
    keep = None
    if isinstance(made, Pool) and made.ceil:
        # PyTorch's ceil_mode: a window may run off the end if it starts in the input or the left padding and
        # the window before it left cells uncovered.
        def keep(x: int) -> bool:
            return x < pb + i and x - s + span < len(labels)

    starts = slide(labels, k, s, d, keep)
    overhang = max(starts[-1] + span - len(labels), 0)
    return Grid(labels + ["extra"] * overhang, starts)


def transposed_grid(made: ConvTranspose, i: int) -> Grid:
    k, s, d, pb, pe, a = (int(v) for v in (made.k, made.s, made.d, made.pb, made.pe, made.a or 0))
    span = d * (k - 1) + 1
    stretched = ["input"]
    for _ in range(i - 1):
        stretched += ["zero"] * (s - 1) + ["input"]
    labels = ["padding"] * (span - pb - 1) + stretched + ["padding"] * (span - pe - 1) + ["extra"] * a
    return Grid(labels, slide(labels, k, 1, d))


def hand_grids(made: Layer, size: tuple[int, int]) -> tuple[Grid, Grid]:
    build = transposed_grid if isinstance(made, ConvTranspose) else direct_grid
    return build(made, size[0]), build(made, size[1])  # type: ignore[arg-type]


def combined(row: str, col: str) -> str:
    for label in ("extra", "padding", "zero"):
        if label in (row, col):
            return f"{label} cell"
    return "input cell"


def check_figure(made: Layer, size: tuple[int, int], frame: int) -> None:
    """The figure's grid, windows and output equal the hand-built grid's, cell by cell."""
    rows, cols = hand_grids(made, size)
    out_h, out_w = len(rows.starts), len(cols.starts)
    assert made.output_size(size) == (out_h, out_w)
    drawn = cells(figure(made, size, frame))
    expected = {
        (r, c): combined(row, col) for r, row in enumerate(rows.labels) for c, col in enumerate(cols.labels)
    }
    grid = {cell: style for style in GRID_STYLES for cell in drawn.get(style, [])}
    assert sum(len(drawn.get(style, [])) for style in GRID_STYLES) == len(grid), "a grid cell drawn twice"
    assert grid == expected
    counts = Counter(expected.values())
    h, w = size
    assert counts["input cell"] == h * w
    if not isinstance(made, ConvTranspose) and not any("extra" in g.labels for g in (rows, cols)):
        pb_h, pe_h = made.padding(h)  # type: ignore[attr-defined]
        pb_w, pe_w = made.padding(w)  # type: ignore[attr-defined]
        assert counts["padding cell"] == (h + pb_h + pe_h) * (w + pb_w + pe_w) - h * w
    left = len(cols.labels) + GAP
    assert sorted(drawn["output cell"]) == [(r, left + c) for r in range(out_h) for c in range(out_w)]
    row, col = divmod(frame, out_w)
    assert drawn["current cell"] == [(row, left + col)]
    k, d = int(made.k), int(made.d)  # type: ignore[attr-defined]
    taps = {(rows.starts[row] + a * d, cols.starts[col] + b * d) for a in range(k) for b in range(k)}
    assert len(drawn["kernel cell"]) == k * k
    assert set(drawn["kernel cell"]) == taps


@pytest.mark.parametrize(("spec", "size"), DIRECT + TRANSPOSED)
def test_cells_equal_a_hand_built_grid_at_every_frame(spec: str, size: tuple[int, int]) -> None:
    made = layer(spec)
    frames = made.output_size(size)[0] * made.output_size(size)[1]
    for frame in range(frames):
        check_figure(made, size, frame)


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


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(1, 4),
    s=st.integers(1, 3),
    p=st.integers(0, 2),
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
    if isinstance(made, ConvTranspose) and p > d * (k - 1):
        with pytest.raises(SpecError, match=r"p <= d\(k-1\)"):
            figure(made, (h, w))
        return
    check_figure(made, (h, w), out[0] * out[1] - 1)


def reach(axis: Any, unit: int) -> set[int]:
    """The outputs whose window covers input `unit` in the drawn figure."""
    position = axis.begin + unit * axis.spacing
    return {j for j in range(axis.output) if position in axis.taps(j)}


TRANSPOSED_FRAMEWORKS = [
    ("torch.convT(k=3, s=2, p=1, a=1)", 4),
    ("torch.convT(k=4, s=3, p=2, d=2, a=2)", 3),
    ("jax.convT(k=3, s=2, p=same)", 4),
    ("jax.convT(k=2, s=3, d=2, p=valid)", 3),
    ("jax.convT(k=3, s=2, p=(2, 0))", 4),
    ("jax.convT(k=4, s=2, p=(1, 2), consistent=true)", 3),
    ("keras.convT(k=3, s=2, p=same)", 4),
    ("keras.convT(k=1, s=3, p=same)", 3),
    ("keras.convT(k=4, s=2, p=same, a=1)", 3),
    ("keras.convT(k=2, s=3, p=valid)", 3),
    ("keras.convT(k=3, s=2, p=valid, a=1)", 3),
]


def framework_reach(spec: str, i: int) -> list[set[int]]:
    """Which outputs each input unit reaches in the framework itself (input j one-hot in batch row j)."""
    made = layer(spec)
    k, s, d = int(made.k), int(made.s), int(made.d)  # type: ignore[attr-defined]
    np = pytest.importorskip("numpy")
    if made.framework == "torch":
        torch = pytest.importorskip("torch")
        x = torch.eye(i).reshape(i, 1, i)
        pads = int(made.pb), int(made.a)  # type: ignore[attr-defined]
        y = torch.nn.functional.conv_transpose1d(
            x, torch.ones(1, 1, k), stride=s, padding=pads[0], output_padding=pads[1], dilation=d
        )[:, 0, :].numpy()
    elif made.framework == "jax":
        lax = pytest.importorskip("jax.lax")
        pb, pe = int(made.pb), int(made.pe)  # type: ignore[attr-defined]
        padding = made.mode.upper() if made.mode != "explicit" else [(pb, pe)]  # type: ignore[attr-defined]
        y = lax.conv_transpose(
            np.eye(i, dtype="float32").reshape(i, i, 1),
            np.ones((k, 1, 1), "float32"),
            (s,),
            padding,
            rhs_dilation=(d,),
            dimension_numbers=("NHC", "HIO", "NHC"),
            use_consistent_padding=made.consistent,  # type: ignore[attr-defined]
        )[:, :, 0]
    else:
        os.environ.setdefault("KERAS_BACKEND", "numpy")  # as test_diff_keras
        keras = pytest.importorskip("keras")
        a = None if made.a is None else int(made.a)  # type: ignore[attr-defined]
        y = keras.ops.conv_transpose(
            np.eye(i, dtype="float32").reshape(i, i, 1),
            np.ones((k, 1, 1), "float32"),
            s,
            made.mode,  # type: ignore[attr-defined]
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
    return int(re.search(r"^Pages:\s+(\d+)$", info.stdout, re.MULTILINE)[1])  # type: ignore[index]


def test_one_compile_holds_many_figures(tmp_path: Path) -> None:
    require_tool("pdflatex")
    chosen = [DIRECT[2], DIRECT[6], DIRECT[10], DIRECT[14], TRANSPOSED[2], TRANSPOSED[3], TRANSPOSED[6]]
    pictures = [figure(layer(spec), size, 0) for spec, size in chosen]
    pdf = compile_pdf(pictures, tmp_path)
    assert pages(pdf) == len(pictures)
    text = subprocess.run(
        [require_tool("pdftotext"), str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert text.count("\f") == len(pictures)
    assert text.count("output") == len(pictures) and text.count("stretched to") == 2


def test_pdf_with_all_frames_has_a_page_per_frame(tmp_path: Path) -> None:
    require_tool("pdflatex")
    path = tmp_path / "all.pdf"
    _, data, _ = draw("torch.maxpool(k=2, s=2, ceil=true)", "3,5", str(path), None, True)
    assert data["frames"] == 6 and data["extra"] == [1, 1] and path.read_bytes()[:5] == b"%PDF-"
    assert pages(path) == 6


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


def test_gif_animates_every_frame(tmp_path: Path) -> None:
    require_tool("pdflatex"), require_tool("pdftoppm"), require_tool("convert")
    path = tmp_path / "animation.gif"
    _, data, _ = draw("conv(k=2)", "3,4", str(path), None, False)
    assert data["frames"] == 6
    assert gif_frames(path.read_bytes()) == 6


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
    ("convT(k=3, s=2, p=3)", "5", {}, r"p=3 is larger than the kernel's reach d\(k-1\)=2.*p <= d\(k-1\)"),
    ("jax.convT(k=3, s=2, p=(-1, 0))", "5", {}, r"padding \(-1, 0\) is negative"),
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


def test_refused_configuration_is_a_shape_error() -> None:
    with pytest.raises(ShapeError, match="effective kernel"):
        draw("conv(k=5)", "3", None, None, False)


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
    with pytest.raises(RuntimeError, match="internal error: the drawn grid"):
        figure(lying, (5, 5))


def test_document_needs_a_picture() -> None:
    with pytest.raises(SpecError, match="at least one picture"):
        document([])
    assert document(["\\begin{tikzpicture}\\end{tikzpicture}"]).count("\\shipout") == 1
