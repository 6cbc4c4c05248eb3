r"""TikZ figures of a 2-D convolution, pooling or transposed convolution, drawn as Dumoulin & Visin draw them.

The padded input is drawn on the left, one unit square per cell, and the output grid beside it; the window of
the current frame is shaded over the input, one square per tap (the gaps of a dilated kernel stay unshaded).
A transposed convolution is drawn as the paper's equivalent direct convolution (section 4): the input units
with s - 1 zeros between neighbours, padded k_eff - pb - 1 at the top and left and k_eff - pe - 1 + a at the
bottom and right (k_eff = d(k - 1) + 1), convolved with stride 1 by the kernel k, dilation d. Keras and JAX
pad the stretched input themselves (lax.conv_transpose; Keras' backend_utils): the figure uses their padding,
and end padding beyond d(k - 1), which no input reaches, is drawn as extra cells (Keras' derived a).

Window j of an axis reads the padded grid's cells j*stride + t*d, t < k, for j below the layer's output size:
every framework reads input j*s - pb + t*d. Where the last window runs past the end padding (PyTorch's and
ONNX's ceil_mode; ONNX pooling, whose output size divides by the stride toward zero in C++, so a kernel longer
than the padded input still gives one window) the cells it reads past the end are drawn as extra cells. A
negative padding (JAX's pads, ONNX's automatic pooling pads, a transposed convolution with p > d(k-1)) crops:
the cells it removes are drawn as cropped cells, and the windows start after them.

Every cell is drawn by its own ``\path[STYLE] (x,y) rectangle ++(1,1);`` with exactly one of these styles
(defined in the picture's options), so a figure can be checked by counting. Each row and each column of the
grid is one of input, zero, cropped, padding or extra; a cell takes the first of extra, padding, cropped,
zero, input that its row or its column is. Per axis, count I the input lines, K the input and zero lines
(K = S = s(i-1) + 1 for the stretched input of a transposed layer, K = I = i for a direct one, less what a
negative padding crops), C = K + the cropped lines, Q = C + the padding lines and L all the lines:

================  ==========================================================  ===============================
style             what                                                        count
================  ==========================================================  ===============================
``input cell``    an input unit (blue)                                        I_h*I_w
``zero cell``     a zero between stretched input units (white)                K_h*K_w - I_h*I_w
``cropped cell``  a cell a negative padding crops (faint, dashed)             C_h*C_w - K_h*K_w
``padding cell``  padding (white, dashed)                                     Q_h*Q_w - C_h*C_w
``extra cell``    cells after the end padding: the a rows and columns of a    L_h*L_w - Q_h*Q_w
                  transposed convolution; the overhang a last window reads
``kernel cell``   a tap of the current window, drawn over the grid            k*k
``output cell``   an output unit (cyan)                                       o_h*o_w
``current cell``  the current output unit, drawn over its output cell         1
================  ==========================================================  ===============================

Without cropping C = S, so a plain convolution has (h+pb+pe)(w+pb+pe) - h*w padding cells. Coordinates are in
cells: cell (r, c) of the padded grid (r from the top) has its lower left corner at (c, -r-1); output cell
(r, c) at (L_w + 2 + c, -r-1). Frame f is the output position (f // o_w, f % o_w), row-major.

>>> from symconv.core.layers import layer
>>> picture = figure(layer("conv(k=3, s=2, p=1)"), (5, 5), frame=4)
>>> [picture.count(f"[{style}]") for style in ("input cell", "padding cell", "output cell", "kernel cell")]
[25, 24, 9, 9]
>>> transposed = figure(layer("convT(k=3, s=2, p=1, a=1)"), (3, 3))
>>> [transposed.count(f"[{style}]") for style in ("input cell", "zero cell", "extra cell", "output cell")]
[9, 16, 15, 36]
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sympy

from ..core.arith import evaluate
from ..core.errors import ShapeError, SpecError
from ..core.frameworks import CONVENTIONS, effective_kernel
from ..core.layers import Axes, ConvTranspose, Layer, Pool, Windowed, layer
from ..core.limits import integer, shown
from ..core.windowmap import grid_cell, transposed_pads, window_map

STYLES: dict[str, str] = {
    "input cell": "fill=blue!30, draw=black!80",
    "zero cell": "fill=white, draw=black!80",
    "padding cell": "fill=white, draw=black!55, dashed",
    "cropped cell": "fill=blue!8, draw=black!45, densely dashed",
    "extra cell": "fill=black!8, draw=black!55, densely dotted",
    "kernel cell": "fill=blue!65!black, fill opacity=0.5, draw=black, thick",
    "output cell": "fill=cyan!35, draw=black!80",
    "current cell": "fill=cyan!60!teal, draw=black, thick",
    "grid caption": "font=\\footnotesize, anchor=north, inner sep=2pt",
}
GRID_ORDER = ("padding cell", "extra cell", "cropped cell", "zero cell", "input cell")
UNIT_MM = 4
# PNG and GIF resolution: 300 dpi makes a 5x5 convolution about 600 pixels wide, legible on screen and paper.
DPI = 300
GAP = 2
# pdflatex draws about 700 cells a second; the paper's figures are at most 9 cells a side.
MAX_SIDE = 32
MAX_CELLS = 40_000
SUFFIXES = (".tex", ".pdf", ".png", ".gif")
TIMEOUT = 120
T = TypeVar("T")
PREAMBLE_NOTE = "% Needs \\usepackage{tikz}. Drawn by symconv (Dumoulin & Visin's convolution figures)."


@dataclass(frozen=True)
class Axis:
    """One axis of the drawn direct convolution, in the layer's coordinates q: the padded grid is q in [0, P).

    `size` input units, `spacing` apart (s for a transposed layer's stretched input, else 1), the first at
    q = `before`; `after` padding cells follow the stretched input, then `extra_after` cells no input
    reaches (the a of a transposed convolution), so P = before + S + after + extra_after. A negative padding
    crops: cells outside [0, P) are drawn as cropped cells (but onnxruntime's MaxPool, `reads_past_end`,
    reads the input cells past a negative end padding). Window j has k taps d apart from q = j*stride, for j
    below `output`; taps past the end of everything are drawn as extra cells.
    """

    size: int
    spacing: int
    before: int
    after: int
    extra_after: int
    k: int
    stride: int
    d: int
    output: int
    reads_past_end: bool = False

    @property
    def stretched(self) -> int:
        return self.spacing * (self.size - 1) + 1

    @property
    def span(self) -> int:
        return int(effective_kernel(self.k, self.d))

    @property
    def padded(self) -> int:
        """P, the length of the layer's padded grid."""
        return self.before + self.stretched + self.after + self.extra_after

    @property
    def low(self) -> int:
        """The q of the first drawn cell."""
        return min(0, self.before)

    @property
    def length(self) -> int:
        last = (self.output - 1) * self.stride + self.span
        return max(self.before + self.stretched, self.padded, last) - self.low

    def label(self, q: int) -> str:
        """What cell q holds: "input", "zero", "cropped", "padding" or "extra"."""
        start, end = self.before, self.before + self.stretched
        if start <= q < end:
            if q < 0 or (q >= self.padded and not self.reads_past_end):
                return "cropped"
            return "input" if (q - start) % self.spacing == 0 else "zero"
        if q < 0 or self.padded <= q < start:
            return "cropped"
        if q < start or q < end + max(0, min(self.after, self.after + self.extra_after)):
            return "padding"
        return "extra"

    def cell(self, x: int) -> str:
        """What drawn cell x holds."""
        return self.label(x + self.low)

    def count(self, *labels: str, side: int = 0) -> int:
        """How many drawn cells hold one of the labels (side -1: before the input, 1: after it)."""
        start, end = self.before, self.before + self.stretched
        cells = range(self.low, self.low + self.length)
        chosen = [q for q in cells if side == 0 or (q < start if side < 0 else q >= end)]
        return sum(self.label(q) in labels for q in chosen)

    @property
    def begin(self) -> int:
        """Padding cells drawn before the input."""
        return self.count("padding", side=-1)

    @property
    def end(self) -> int:
        """Padding cells drawn after the input."""
        return self.count("padding", side=1)

    @property
    def extra(self) -> int:
        return self.count("extra")

    @property
    def crop_begin(self) -> int:
        """Cells a negative padding crops at the start (q < 0)."""
        return -self.low

    @property
    def crop_end(self) -> int:
        return self.count("cropped") - self.crop_begin

    @property
    def kept(self) -> int:
        """The (stretched) input cells the padding does not crop."""
        return self.count("input", "zero")

    def taps(self, j: int) -> list[int]:
        """The drawn cells window j reads."""
        return [grid_cell(j, t, self.stride, self.d) - self.low for t in range(self.k)]


def _axis(
    size: int,
    spacing: int,
    pads: tuple[int, int, int],
    window: tuple[int, int, int],
    output: int,
    overhangs: bool = False,
    reads_past_end: bool = False,
) -> Axis:
    """The drawn axis of `size` units `spacing` apart with the layer's (before, after, extra) padding, and
    its window (k, stride, d) taken `output` times from the padded grid's start.

    Raises RuntimeError unless the windows are the ones that fit the padded grid, or, where the last window
    may run past its end (`overhangs`: ceil_mode, ONNX pooling), one fewer or one more: a bug, never input.
    """
    axis = Axis(size, spacing, *pads, *window, output, reads_past_end)
    fits = max((axis.padded - axis.span) // axis.stride + 1, 0)
    if not (fits - 1 <= output <= fits + 1 if overhangs else output == fits):
        raise RuntimeError(
            f"internal error: {output} windows on an axis of {size} units, padding {pads} and window "
            f"(k, s, d) = {window} that fits {fits}; please report it"
        )
    return axis


@dataclass(frozen=True)
class Geometry:
    """The drawn direct convolution of a layer at one input size: an Axis per row and column."""

    spec: str
    rows: Axis
    cols: Axis
    transposed: bool

    @property
    def frames(self) -> int:
        return self.rows.output * self.cols.output

    @property
    def cells(self) -> int:
        """How many cells one frame draws."""
        rows, cols = self.rows, self.cols
        return rows.length * cols.length + rows.k * cols.k + self.frames + 1

    def style(self, r: int, c: int) -> str:
        """The style of cell (r, c) of the padded grid."""
        kinds = {self.rows.cell(r), self.cols.cell(c)}
        for kind in ("extra", "padding", "cropped", "zero"):
            if kind in kinds:
                return f"{kind} cell"
        return "input cell"

    def window(self, frame: int) -> list[tuple[int, int]]:
        """The (row, column) cells the window of frame f reads."""
        row, col = divmod(frame, self.cols.output)
        return [(r, c) for r in self.rows.taps(row) for c in self.cols.taps(col)]

    def summary(self) -> dict[str, Any]:
        """The JSON description of the drawn convolution (padding includes the extra cells)."""
        rows, cols = self.rows, self.cols
        return {
            "input": [rows.size, cols.size],
            "padded": [rows.length, cols.length],
            "output_size": [rows.output, cols.output],
            "kernel": _per_axis(rows.k, cols.k),
            "stride": _per_axis(rows.stride, cols.stride),
            "dilation": _per_axis(rows.d, cols.d),
            "padding": [[a.begin, a.end + a.extra] for a in (rows, cols)],
            "extra": [rows.extra, cols.extra],
            "cropped": [[a.crop_begin, a.crop_end] for a in (rows, cols)],
            "transposed": self.transposed,
        }


def _per_axis(row: int, col: int) -> int | list[int]:
    """One number when both axes share it (as a scalar spec gives), else one per axis [rows, columns]."""
    return row if row == col else [row, col]


def _integer(value: Any, name: str, made: Layer) -> int:
    """A parameter as an int; an unknown or symbolic one cannot be drawn."""
    if isinstance(value, int | sympy.Integer):
        return int(value)
    names = sorted(str(s) for s in getattr(value, "free_symbols", ()))
    if set(names) & set(made.unknowns):
        raise SpecError(
            f"cannot draw {made.spec}: {name} is an unknown (?); solve for it first (symconv solve), "
            "then draw the layer with its value"
        )
    raise SpecError(f"cannot draw {made.spec}: {name}={value} is symbolic; draw needs integer parameters")


def _sizes(size: Any, spec: str) -> tuple[int, int]:
    if not isinstance(size, tuple | list) or len(size) != 2:
        raise SpecError(f"the input size must be a pair (h, w) of positive integers, got {size!r} for {spec}")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in size):
        raise SpecError(f"the input size must be positive integers, got {tuple(size)!r} for {spec}")
    return int(size[0]), int(size[1])


def _overhangs(made: Layer) -> bool:
    """Whether the layer's last window may run past the end padding: ceil_mode, and ONNX pooling, whose
    output size divides by the stride in C++ (toward zero, so a window longer than the padded input counts)."""
    return isinstance(made, Pool) and (made.ceil or CONVENTIONS[made.framework].overhangs())


def _direct_axis(made: Windowed, i: int, o: int) -> Axis:
    """Window j of a convolution or pooling reads input j*s - pb + t*d (the layer's window map)."""
    grid = window_map(made)
    k, s, d = (_integer(getattr(made, n), n, made) for n in ("k", "s", "d"))
    pb, pe = (_integer(evaluate(v, {"i": i}), "padding", made) for v in (grid.before, grid.after))  # type: ignore[union-attr]
    return _axis(i, 1, (pb, pe, 0), (k, s, d), o, _overhangs(made), reads_past_end=grid.reads_past_end)  # type: ignore[union-attr]


def _transposed_axis(made: ConvTranspose, i: int, o: int) -> Axis:
    """The stretched input padded as the layer's window map pads it; end padding no input reaches (the a of
    PyTorch's output_padding, Keras' derived a, JAX's padding beyond d(k-1)) is drawn as extra cells."""
    k, s, d = (_integer(getattr(made, n), n, made) for n in ("k", "s", "d"))
    before, after = (_integer(evaluate(v, {"i": i}), "padding", made) for v in transposed_pads(made))
    span = int(effective_kernel(k, d))
    if CONVENTIONS[made.framework].pads_stretched_input:
        extra = max(after - (span - 1), 0)
    else:
        extra = 0 if made.a is None else _integer(made.a, "a", made)
    return _axis(i, s, (before, after - extra, extra), (k, 1, d), o)


class UndrawableError(SpecError, ShapeError):
    """The framework refuses the layer at this input size: bad input for draw (a SpecError), and the layer's
    own ShapeError, so callers catching either see it."""


def _refused(call: Callable[[T], Any], argument: T) -> Any:
    """call(argument), a ShapeError (the framework refuses the layer) raised as an UndrawableError."""
    try:
        return call(argument)
    except ShapeError as error:
        if isinstance(error, SpecError):
            raise
        raise UndrawableError(str(error)) from None


def _axis_layers(made: Layer) -> tuple[Windowed | ConvTranspose, Windowed | ConvTranspose]:
    """The layer of each drawn axis (rows, columns): the layer itself, or a per-axis layer's two."""
    if isinstance(made, Axes) and made.axes != 2:
        raise SpecError(
            f"cannot draw {made.spec}: it gives parameters for {made.axes} spatial axes and a drawing shows 2"
        )
    layers = made.layers if isinstance(made, Axes) else (made, made)
    for one in layers:
        if not isinstance(one, Windowed | ConvTranspose):
            raise SpecError(
                f"cannot draw {made.spec}: draw supports conv, convT, maxpool and avgpool, not {made.kind}"
            )
    return layers[0], layers[1]  # type: ignore[return-value]


def geometry(made: Layer, size: tuple[int, int]) -> Geometry:
    """The direct convolution to draw for `made` at input size (h, w).

    Window j of each axis starts at j*stride on the padded grid, for j below the layer's output size, as
    every framework computes it; a last window that runs past the end padding (ceil_mode, onnxruntime pooling)
    reads extra cells.

    >>> g = geometry(layer("tf.conv(k=3, s=2, p=same)"), (6, 5))
    >>> g.summary()["padding"], g.summary()["output_size"]
    ([[0, 1], [1, 1]], [3, 3])
    >>> g = geometry(layer("ort.avgpool(k=3, s=2)"), (2, 2))
    >>> g.summary()["output_size"], g.summary()["extra"], g.window(0)[:3]
    ([1, 1], [1, 1], [(0, 0), (0, 1), (0, 2)])
    """
    h, w = _sizes(size, made.spec)
    per_axis = _axis_layers(made)
    for one in per_axis:
        for name in ("k", "s", "d", "pb", "pe", "a"):
            value = getattr(one, name, None)
            if value is not None:
                _integer(value, "p" if name in ("pb", "pe") and one.pb == one.pe else name, made)
    output = tuple(int(o) for o in _refused(made.output_size, (h, w)))
    if min(output) < 1:
        raise SpecError(f"nothing to draw: {made.spec} gives an empty output {output} at input {h}x{w}")
    transposed = isinstance(per_axis[0], ConvTranspose)
    axes = [
        _transposed_axis(one, i, o) if isinstance(one, ConvTranspose) else _direct_axis(one, i, o)
        for one, i, o in zip(per_axis, (h, w), output, strict=True)
    ]
    for axis in axes:
        if axis.length > MAX_SIDE or axis.output > MAX_SIDE:
            raise SpecError(
                f"cannot draw {made.spec} at input {h}x{w}: a grid of {max(axis.length, axis.output)} cells "
                f"a side is too large (at most {MAX_SIDE}); draw a smaller input"
            )
    return Geometry(made.spec, axes[0], axes[1], transposed)


def _cell(style: str, x: int, y: int) -> str:
    return f"\\path[{style}] ({x},{y}) rectangle ++(1,1);"


def _dimensions(h: int, w: int) -> str:
    return f"${h}\\times{w}$"


def picture(geo: Geometry, frame: int = 0, scale: float = 1.0) -> str:
    """The tikzpicture of frame `frame` of a geometry; `scale` multiplies cells and captions alike."""
    if isinstance(frame, bool) or not isinstance(frame, int) or not 0 <= frame < geo.frames:
        raise SpecError(
            f"frame {frame!r} is out of range: {geo.spec} at input {geo.rows.size}x{geo.cols.size} has "
            f"{geo.frames} frames (0 to {geo.frames - 1})"
        )
    rows, cols = geo.rows, geo.cols
    height, width = rows.length, cols.length
    styles = ",\n  ".join(f"{name}/.style={{{options}}}" for name, options in STYLES.items())
    lines = [
        f"% {geo.spec.replace(chr(10), ' ')} at input {rows.size}x{cols.size}: frame {frame} of {geo.frames}",
        f"\\begin{{tikzpicture}}[x={UNIT_MM * scale:g}mm, y={UNIT_MM * scale:g}mm,\n  {styles}"
        + (f",\n  every node/.append style={{scale={scale:g}}}]" if scale != 1 else "]"),
    ]
    cells = [(geo.style(r, c), r, c) for r in range(height) for c in range(width)]
    # Solid borders last, so a dashed padding border never overdraws the input's edge.
    cells.sort(key=lambda cell: GRID_ORDER.index(cell[0]))
    lines += [_cell(style, c, -r - 1) for style, r, c in cells]
    lines += [_cell("kernel cell", c, -r - 1) for r, c in geo.window(frame)]
    left = width + GAP
    lines += [_cell("output cell", left + c, -r - 1) for r in range(rows.output) for c in range(cols.output)]
    row, col = divmod(frame, cols.output)
    lines.append(_cell("current cell", left + col, -row - 1))
    caption = f"input {_dimensions(rows.size, cols.size)}"
    if rows.spacing > 1:
        caption += f", stretched to {_dimensions(rows.stretched, cols.stretched)}"
    if any(a.crop_begin or a.crop_end for a in (rows, cols)):
        caption += f", cropped to {_dimensions(rows.kept, cols.kept)}"
    lines.append(f"\\node[grid caption] at ({width / 2:g},{-height:g}) {{{caption}}};")
    lines.append(
        f"\\node[grid caption] at ({left + cols.output / 2:g},{-rows.output:g}) "
        f"{{output {_dimensions(rows.output, cols.output)}}};"
    )
    lines.append("\\end{tikzpicture}")
    return "\n".join(lines)


def figure(made: Layer, size: tuple[int, int], frame: int = 0) -> str:
    """TikZ code (one tikzpicture) of a 2-D layer at input size (h, w), at output position `frame`."""
    return picture(geometry(made, size), frame)


def document(pictures: list[str]) -> str:
    r"""A LaTeX document with each tikzpicture on its own page, cropped to it (compile with pdflatex).

    It does what ``\documentclass[tikz]{standalone}`` does with plain LaTeX and TikZ alone, so it compiles
    where standalone.cls is not installed.
    """
    if not pictures:
        raise SpecError("a document needs at least one picture")
    pages = "\n".join(
        f"\\begin{{lrbox}}{{\\figurebox}}%\n{p}%\n\\end{{lrbox}}\\figurepage\n" for p in pictures
    )
    return (
        "\\documentclass{article}\n"
        "\\usepackage{tikz}\n"
        "% One page per picture, cropped to it with a 2pt border (as \\documentclass[tikz]{standalone}).\n"
        "\\pagestyle{empty}\n"
        "\\pdfhorigin=0pt\n"
        "\\pdfvorigin=0pt\n"
        "\\newsavebox\\figurebox\n"
        "\\newdimen\\figureborder\n"
        "\\figureborder=2pt\n"
        "\\newcommand\\figurepage{%\n"
        "  \\pdfpagewidth=\\dimexpr\\wd\\figurebox+2\\figureborder\\relax\n"
        "  \\pdfpageheight=\\dimexpr\\ht\\figurebox+\\dp\\figurebox+2\\figureborder\\relax\n"
        "  \\shipout\\vbox{\\kern\\figureborder\\hbox{\\kern\\figureborder\\box\\figurebox}}}\n"
        "\\begin{document}\n"
        f"{pages}"
        "\\end{document}\n"
    )


def parse_size(text: str) -> tuple[int, int]:
    """An input size "N" (square) or "H,W" as (h, w)."""
    parts = [part.strip() for part in text.split(",")]
    values = [integer(part, "the input size") for part in parts[:2]]
    sizes = [value for value in values if value is not None and value >= 1]
    if len(parts) > 2 or len(sizes) != len(parts):
        raise SpecError(f"the input size takes a positive integer N or H,W, got {shown(text)!r}")
    return sizes[0], sizes[-1]


def _tool(name: str, purpose: str, *alternatives: str) -> str:
    for candidate in (*alternatives, name):
        path = shutil.which(candidate)
        if path is not None:
            return path
    raise SpecError(f"{purpose} needs {name}, which is not on PATH; install it and try again")


def _tail(text: str, lines: int = 20) -> str:
    """The end of a log, starting at TeX's first error line when there is one."""
    rows = text.splitlines()
    errors = [n for n, row in enumerate(rows) if row.startswith("!")]
    start = errors[0] if errors else max(len(rows) - lines, 0)
    return "\n".join(rows[start : start + lines])


def _run(command: list[str], cwd: Path, name: str, log: Path | None = None) -> None:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise SpecError(f"{name} did not finish within {TIMEOUT} s") from None
    except OSError as error:
        raise SpecError(f"could not run {name}: {error}") from None
    if done.returncode != 0:
        output = log.read_text(errors="replace") if log is not None and log.exists() else done.stdout
        detail = _tail(output) or done.stderr.strip()
        raise SpecError(f"{name} failed (exit code {done.returncode}):\n{detail}")


def compile_pdf(pictures: list[str], work: Path) -> Path:
    """Compile the pictures with pdflatex in `work`, one page each; returns the PDF's path."""
    pdflatex = _tool("pdflatex", "a .pdf, .png or .gif figure")
    source = work / "figure.tex"
    source.write_text(document(pictures))
    command = [pdflatex, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", source.name]
    _run(command, work, "pdflatex", work / "figure.log")
    return work / "figure.pdf"


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as error:
        raise SpecError(f"cannot write {path}: {error.strerror}") from None


def _render(pictures: list[str], path: Path, suffix: str, dpi: int = DPI) -> None:
    """Write the pictures to `path` as a .pdf, .png (one picture) or .gif (one frame per picture)."""
    tools = {".png": ["pdftoppm"], ".gif": ["pdftoppm", "convert"]}.get(suffix, [])
    found = {
        name: _tool(name, f"a {suffix} figure", *(["magick"] if name == "convert" else [])) for name in tools
    }
    _tool("pdflatex", f"a {suffix} figure")
    with tempfile.TemporaryDirectory(prefix="symconv-draw-") as temporary:
        work = Path(temporary)
        pdf = compile_pdf(pictures, work)
        if suffix == ".pdf":
            _write(path, pdf.read_bytes())
            return
        if suffix == ".png":
            command = [found["pdftoppm"], "-png", "-r", str(dpi), "-singlefile", pdf.name, "frame"]
            _run(command, work, "pdftoppm")
            _write(path, (work / "frame.png").read_bytes())
            return
        _run([found["pdftoppm"], "-png", "-r", str(dpi), pdf.name, "frame"], work, "pdftoppm")
        frames = sorted(p.name for p in work.glob("frame*.png"))
        _run([found["convert"], "-delay", "60", "-loop", "0", *frames, "animation.gif"], work, "convert")
        _write(path, (work / "animation.gif").read_bytes())


def _frames(geo: Geometry, suffix: str | None, frame: int | None, all_frames: bool) -> list[int]:
    if frame is not None and all_frames:
        raise SpecError("give either a frame or all frames, not both")
    if suffix == ".gif":
        if frame is not None:
            raise SpecError("a .gif animates every frame; leave out the frame, or draw a .png of one frame")
        all_frames = True
    if suffix == ".png" and all_frames:
        raise SpecError("a .png holds one frame; draw all frames to a .pdf or .gif")
    if not all_frames:
        return [0 if frame is None else frame]
    cells = geo.frames * geo.cells
    if cells > MAX_CELLS:
        raise SpecError(
            f"all {geo.frames} frames of {geo.spec} at input {geo.rows.size}x{geo.cols.size} draw {cells} "
            f"cells, more than {MAX_CELLS} (about a minute of pdflatex): draw a smaller input or one frame"
        )
    return list(range(geo.frames))


def draw(
    spec: str,
    size_text: str,
    output: str | None,
    frame: int | None,
    all_frames: bool,
    dpi: int = DPI,
    scale: float = 1.0,
) -> tuple[int, dict[str, Any], str]:
    """``symconv draw``: the figure of SPEC at input size N or H,W, as TikZ text or a .tex/.pdf/.png/.gif file;
    `dpi` is the resolution of a .png or .gif, `scale` the size of the picture (1: 4 mm cells).

    Returns (exit code, JSON data, text); bad input raises SpecError.
    """
    geo = geometry(_refused(layer, spec), parse_size(size_text))
    path = None if output is None else Path(output)
    suffix = None if path is None else path.suffix.lower()
    if suffix is not None and suffix not in SUFFIXES:
        raise SpecError(f"draw writes {', '.join(SUFFIXES)} files; cannot tell what to write for {output!r}")
    frames = _frames(geo, suffix, frame, all_frames)
    pictures = [picture(geo, f, scale) for f in frames]
    tex = PREAMBLE_NOTE + "\n" + "\n\n".join(pictures) + "\n"
    data = {"output": output, "frames": len(frames), **geo.summary()}
    if path is None:
        return 0, data, tex.rstrip("\n")
    if suffix == ".tex":
        _write(path, tex.encode())
    else:
        _render(pictures, path, str(suffix), dpi)
    rows, cols = geo.rows, geo.cols
    text = (
        f"wrote {output}: {spec} at input {rows.size}x{cols.size} -> output {rows.output}x{cols.output}, "
        f"{len(frames)} frame{'s' if len(frames) != 1 else ''}"
    )
    return 0, data, text
