"""Window maps: which input positions each output position reads, and what a position outside the input holds.

The one source of geometry. Every convolution, pooling and transposed convolution is a window sliding over a
grid (Dumoulin & Visin's view, section 4): the grid holds the input units `spacing` apart (1 for a direct layer,
the stride s for a transposed one, whose units have s - 1 zeros between them) from grid cell `before`, followed
by `after` padding cells; window j reads the grid cells q = j*stride + t*d for the taps t < k. A grid cell holds
an input unit, a zero between stretched units, padding, or nothing (past the end padding, where a ceil_mode
window overhangs). A negative `before` or `after` crops. Grid cell q is input position (q - before)/spacing.

The frameworks differ only in `before` and `after` (their padding rules) and in what padding holds (zero for a
convolution, -inf for max pooling, left out of the divisor for average pooling without count_include_pad).
Resampling layers (upsample, pixel shuffle, adaptive pooling) read an interval of positions per output.

>>> from symconv.core.layers import layer
>>> m = window_map(layer("tf.conv(k=3, s=2, p=same)"))
>>> m.window(6, 0).positions, m.window(6, 2).positions
((0, 1, 2), (4, 5, 6))
>>> m.window(6, 2).padding
(6,)
>>> window_map(layer("torch.conv(k=3, s=2, p=1)")).window(6, 0).positions
(-1, 0, 1)
>>> window_map(layer("adaptivepool(size=4)")).window(62, 1).positions[:3], window_map(layer("adaptivepool(size=4)")).window(62, 1).positions[-1]
((15, 16, 17), 30)
>>> divisor = avgpool_divisor(k=3, s=2, pb=1, pe=1, i=5, count_include_pad=False)
>>> [evaluate(divisor, {"j": j}) for j in range(3)]
[2, 3, 2]
>>> [adaptive_window(10, 3, j) for j in range(3)]
[(0, 4), (3, 7), (6, 10)]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sympy

from . import frameworks as fw
from .arith import ceil_div, evaluate, floor_div, symbol
from .errors import ShapeError, SpecError
from .layers import (
    INPUT,
    AdaptivePool,
    ConvTranspose,
    Layer,
    PixelShuffle,
    Pool,
    Resize,
    Unpool,
    Windowed,
    one_axis,
)

J = symbol("j")
# `windows` lists every output's window up to this many outputs (an input of 10**11 would exhaust memory).
MAX_WINDOWS = 100_000
# ... and up to this many positions in all (a kernel of 10**9 taps, adaptive pooling of a huge input).
MAX_POSITIONS = 1_000_000

# What a position a window reads holds.
INPUT_UNIT = "input"
ZERO = "zero"  # zero padding, or a zero between the units of a stretched input
NEG_INF = "-inf"  # max pooling's padding: never the maximum
EXCLUDED = "excluded"  # average pooling's padding when it is not counted in the divisor
NOTHING = "nothing"  # past the end padding (a ceil_mode window's overhang): not read, not counted


@dataclass(frozen=True, kw_only=True)
class Window:
    """What output j reads, on integers: the input positions of its taps in order (outside [0, i): padding),
    the kernel tap index of each, and what each holds."""

    j: int
    positions: tuple[int, ...]
    taps: tuple[int, ...]
    holds: tuple[str, ...]

    @property
    def padding(self) -> tuple[int, ...]:
        """The positions that fall outside the input (what they hold is in `holds`)."""
        return tuple(p for p, h in zip(self.positions, self.holds, strict=True) if h not in (INPUT_UNIT,))

    @property
    def reads(self) -> tuple[int, ...]:
        """The input positions really read."""
        return tuple(p for p, h in zip(self.positions, self.holds, strict=True) if h == INPUT_UNIT)

    def to_json(self) -> dict[str, Any]:
        return {
            "j": self.j,
            "start": self.positions[0] if self.positions else None,
            "taps": list(self.positions),
            "kernel_taps": list(self.taps),
            "padding": list(self.padding),
            "holds": list(self.holds),
        }


def grid_cell(j: Any, t: Any, stride: Any, d: Any) -> Any:
    """The grid cell tap t of window j reads: windows start `stride` cells apart, taps are `d` apart."""
    return j * stride + t * d


@dataclass(frozen=True)
class GridMap:
    """A window sliding over a grid (see the module docstring); `before` and `after` are expressions in i.

    `pad` is what a padding cell holds; `reads_past_end`: onnxruntime's MaxPool reads input units past a
    negative end padding (its AveragePool does not); `flipped`: tap t applies kernel weight k - 1 - t (a
    transposed convolution as the direct convolution with the rotated kernel).
    """

    k: sympy.Expr
    stride: sympy.Expr
    d: sympy.Expr
    spacing: sympy.Expr
    before: sympy.Expr
    after: sympy.Expr
    pad: str = ZERO
    reads_past_end: bool = False
    flipped: bool = False

    def cell(self, j: Any, t: Any) -> Any:
        """The grid cell tap t of window j reads."""
        return grid_cell(j, t, self.stride, self.d)

    def first(self, j: Any = J, i: Any = INPUT) -> sympy.Expr:
        """The input coordinate of window j's first tap (for a transposed layer, in stretched units / s)."""
        return (self.cell(j, 0) - self.before.xreplace({INPUT: i})) / self.spacing

    def window(self, i: int, j: int) -> Window:
        """Window j at input size i. A direct layer lists every tap (outside [0, i): padding, or nothing past
        the end padding); a transposed one the input units that contribute (zeros and padding add nothing)."""
        env = {"i": i}
        k, stride, d, spacing, before, after = (
            int(evaluate(v, env))
            for v in (self.k, self.stride, self.d, self.spacing, self.before, self.after)
        )
        stretched = spacing * (i - 1) + 1
        end = before + stretched + after  # the grid is cells [0, end); a negative pad crops
        positions, taps, holds = [], [], []
        for t in range(k):
            q = j * stride + t * d
            offset = q - before
            tap = k - 1 - t if self.flipped else t
            if spacing != 1:
                if 0 <= offset < stretched and offset % spacing == 0 and q < end:
                    positions.append(offset // spacing)
                    taps.append(tap)
                    holds.append(INPUT_UNIT)
                continue
            if 0 <= offset < i:
                held = INPUT_UNIT if q < end or self.reads_past_end else NOTHING
            else:
                held = self.pad if 0 <= q < end else NOTHING
            positions.append(offset)
            taps.append(tap)
            holds.append(held)
        return Window(j=j, positions=tuple(positions), taps=tuple(taps), holds=tuple(holds))


@dataclass(frozen=True)
class IntervalMap:
    """A resampling layer: output j reads the input positions from `low` to `high` (expressions in j and i,
    inclusive), each an input unit."""

    low: sympy.Expr
    high: sympy.Expr
    # Where the framework computes the index in floating point (PyTorch's nearest upsampling), the rule on
    # integers for outputs j in [0, o): (i, j) -> (low, high); the expressions are the exact ratio.
    concrete: Callable[[int, int], tuple[int, int] | None] | None = field(default=None, compare=False)

    def bounds(self, i: int, j: int) -> tuple[int, int]:
        """The first and last input position output j reads at input size i."""
        found = None if self.concrete is None else self.concrete(i, j)
        if found is not None:
            return found
        env = {"i": i, "j": j}
        return int(evaluate(self.low, env)), int(evaluate(self.high, env))

    def window(self, i: int, j: int) -> Window:
        low, high = self.bounds(i, j)
        positions = tuple(range(low, high + 1))
        return Window(
            j=j, positions=positions, taps=tuple(range(len(positions))), holds=(INPUT_UNIT,) * len(positions)
        )


WindowMap = GridMap | IntervalMap


def _pad_value(made: Layer, count_include_pad: bool | None) -> str:
    if isinstance(made, Pool):
        if made.op == "max":
            return NEG_INF
        if made.op == "lp":
            return ZERO  # |0|^p adds nothing to the norm
        default = fw.CONVENTIONS[made.framework].count_include_pad
        counted = default if count_include_pad is None else count_include_pad
        return ZERO if counted else EXCLUDED
    return ZERO


def _direct(made: Windowed, count_include_pad: bool | None) -> GridMap:
    pb, pe = made.padding(INPUT)
    # Whether a max pooling reads the input units past a negative end padding (its Convention says).
    max_onnx = (
        fw.CONVENTIONS[made.framework].max_pool_reads_cropped and isinstance(made, Pool) and made.op == "max"
    )
    one = sympy.Integer(1)
    return GridMap(made.k, made.s, made.d, one, pb, pe, _pad_value(made, count_include_pad), max_onnx)


def last_window_end(made: Windowed) -> sympy.Expr:
    """One past the grid cell the last window's last tap reads, (o - 1)s + k_eff, as an expression in i: a
    ceil_mode window may end past the end padding (its overhang)."""
    return (made.output_expr(INPUT) - 1) * made.s + fw.effective_kernel(made.k, made.d)


def transposed_pads(made: ConvTranspose) -> tuple[sympy.Expr, sympy.Expr]:
    """(before, after) around the stretched input of a transposed convolution, as its framework computes it.

    PyTorch, ONNX and the paper: k_eff - p - 1 a side, then the a extra cells at the end (a negative value
    crops). Keras and JAX pad the stretched input themselves (lax.conv_transpose; Keras' JAX backend).
    """
    return fw.stretched_pads(
        made.framework,
        made.mode,
        made.k,
        made.s,
        made.d,
        (made.pb, made.pe),
        made.a,
        made.consistent,
        INPUT,
        made.shape,
    )


def _transposed(made: ConvTranspose) -> GridMap:
    before, after = transposed_pads(made)
    one = sympy.Integer(1)
    # JAX does not rotate the kernel (transpose_kernel=False); the others are the direct convolution with it.
    flipped = fw.CONVENTIONS[made.framework].rotates_transposed_kernel
    return GridMap(made.k, one, made.d, made.s, before, after, ZERO, False, flipped)


def _unpooled(made: Unpool) -> GridMap:
    """MaxUnpool puts input r back at one position of the window its MaxPool read, [r*s - pb, r*s - pb + k):
    output j can come from exactly the inputs whose window holds it, the map of a transposed convolution with
    the pool's kernel, stride and pads (an output_shape beyond that adds cells at the end)."""
    one = sympy.Integer(1)
    base = (INPUT - 1) * made.s + made.k - made.pb - made.pe
    extra = sympy.Integer(0) if made.size is None else made.size - base
    return GridMap(made.k, one, one, made.s, made.k - 1 - made.pb, made.k - 1 - made.pe + extra)


def _resampling(made: Layer) -> IntervalMap:
    i, j = INPUT, J
    if isinstance(made, AdaptivePool):
        o = made.size
        return IntervalMap(floor_div(j * i, o), ceil_div((j + 1) * i, o) - 1)
    if isinstance(made, PixelShuffle):
        r = made.r
        if made.down:
            # Output j gathers r neighbours into channels: every later layer reads all r of them.
            return IntervalMap(r * j, r * j + r - 1)
        return IntervalMap(floor_div(j, r), floor_div(j, r))
    if isinstance(made, Resize) and made.mode == "linear":
        return _linear(made)
    if isinstance(made, Resize):
        # Nearest neighbour (PyTorch's default): output j reads floor(j*i/o), as the framework rounds it.
        o = made.output_expr(i)
        convention = fw.CONVENTIONS[made.framework]
        if made.scale is not None:
            source = floor_div(j, made.scale)  # every convention: pixel centres or corners alike
        elif convention.half_pixel:
            # Pixel centres: (j + 1/2) i/o, the input at or before it (never past the last).
            source = sympy.Min(floor_div((2 * j + 1) * i, 2 * o), i - 1)
        else:
            source = floor_div(j * i, o)
        nearest = convention.nearest
        return IntervalMap(source, source, None if nearest is None else _rounded(made, nearest))
    raise SpecError(f"no window map for {made.spec}")


def _linear(made: Resize) -> IntervalMap:
    """Linear interpolation: output j weighs the inputs around its source x, floor(x) and the next one where
    x is not an integer (the last input alone past it). With align_corners x = j(i-1)/(o-1) (0 when o = 1),
    else x = max((2j + 1)i/(2o) - 1/2, 0), the pixel centres' mapping; exact here, rounded as the framework
    rounds it on integers (Convention.linear)."""
    i, j = INPUT, J
    o = made.output_expr(i)
    if made.align_corners:
        ratio = j * (i - 1) / (o - 1)
        low = sympy.Piecewise((0, sympy.Eq(o, 1)), (sympy.floor(ratio), True))
        high = sympy.Piecewise((0, sympy.Eq(o, 1)), (sympy.ceiling(ratio), True))
    else:
        source = sympy.Max((2 * j + 1) * i - o, 0) / (2 * o)
        low, high = (sympy.Min(bound(source), i - 1) for bound in (sympy.floor, sympy.ceiling))
    linear = fw.CONVENTIONS[made.framework].linear
    if linear is None:
        return IntervalMap(low, high)
    return IntervalMap(
        low, high, _rounded(made, lambda j, i, o, scale: linear(j, i, o, scale, made.align_corners))
    )


def _rounded(made: Resize, rule: Callable[[int, int, int, int | None], Any]) -> Callable[[int, int], Any]:
    """The framework's index rule for outputs 0 <= j < o (outside them, the exact ratio extends the map)."""
    scale = None if made.scale is None else int(evaluate(made.scale, {}))

    @lru_cache(maxsize=64)
    def size(i: int) -> int:
        # The output size depends on i only: one SymPy evaluation per input size, not one per output index.
        return int(evaluate(made.output_expr(INPUT), {"i": i}))

    def bounds(i: int, j: int) -> tuple[int, int] | None:
        o = size(i)
        if not 0 <= j < o:
            return None
        found = rule(j, i, o, scale)
        return found if isinstance(found, tuple) else (found, found)

    return bounds


def window_map(made: Layer, *, count_include_pad: bool | None = None) -> WindowMap:
    """The window map of a layer: which input positions output j reads, as expressions in j and i.

    Remembered per layer (a frozen value, compared by every field): a network's receptive fields and window
    listings ask the same layer's map at every node and position."""
    try:
        hash(made)
    except TypeError:  # a layer holding an unhashable value: built each time
        return _window_map(made, count_include_pad)
    return _remembered_map(made, count_include_pad)


@lru_cache(maxsize=1024)
def _remembered_map(made: Layer, count_include_pad: bool | None) -> WindowMap:
    return _window_map(made, count_include_pad)


def _window_map(made: Layer, count_include_pad: bool | None) -> WindowMap:
    if isinstance(made, Windowed):
        return _direct(made, count_include_pad)
    if isinstance(made, ConvTranspose):
        return _transposed(made)
    if isinstance(made, Unpool):
        return _unpooled(made)
    return _resampling(made)


# What a tap contributes, as a code two layers must share for their windows to be the same: an input unit
# (0), a padding counted in an average's divisor (1), or nothing (2: zero padding of a convolution adds 0,
# max pooling's -inf never wins, an uncounted or overhanging cell is left out: each is as if absent).
INPUT_CODE, COUNTED_CODE, ABSENT_CODE = 0, 1, 2
T = symbol("t")


def tap_code(made: Layer, j: Any = J, t: Any = T, i: Any = INPUT) -> sympy.Expr:
    """The code of what tap t of window j reads at input size i (see INPUT_CODE), as an expression."""
    from .arith import eq, ge, lifted, lt, mod

    mapping = window_map(made)
    if not isinstance(mapping, GridMap):
        raise SpecError(f"{made.spec} reads intervals, not taps")
    before, after = (v.xreplace({INPUT: i}) for v in (mapping.before, mapping.after))
    q = mapping.cell(j, t)
    offset = q - before
    stretched = mapping.spacing * (i - 1) + 1
    end = before + stretched + after
    kept = sympy.true if mapping.reads_past_end else lt(q, end)
    unit = sympy.And(ge(offset, 0), lt(offset, stretched), eq(mod(offset, mapping.spacing), 0), kept)
    counted = mapping.pad == ZERO and isinstance(made, Pool) and made.op == "avg"
    padding = sympy.And(ge(q, 0), lt(q, end), sympy.Or(lt(offset, 0), ge(offset, stretched)))
    # an automatic padding's cases (ONNX SAME in C++ division) lifted out of the conditions as written: SymPy
    # would lift them itself and take minutes to check that they cover every size (arith.lifted)
    return sympy.Piecewise(
        (INPUT_CODE, lifted(unit)),
        (COUNTED_CODE if counted else ABSENT_CODE, lifted(padding)),
        (ABSENT_CODE, True),
        evaluate=False,  # SymPy would rewrite j + t - 1 < 2*i - 1 as i > j/2 + t/2: fractions Z3 cannot read
    )


def effect(made: Layer, held: str) -> int:
    """The code (INPUT_CODE, COUNTED_CODE, ABSENT_CODE) of what a tap holding `held` contributes."""
    if held == INPUT_UNIT:
        return INPUT_CODE
    if held == ZERO and isinstance(made, Pool) and made.op == "avg":
        return COUNTED_CODE
    return ABSENT_CODE


def window_key(made: Layer, window: Window) -> tuple[Any, ...]:
    """What decides a window's output, to compare two layers' windows: a pooling's set of inputs read (and
    how many counted padding cells an average divides by: the order of taps does not matter without
    weights); a convolution's input per tap, None where the tap adds nothing; a transposed convolution's
    contributing inputs (which tap applies which weight is the kernel's layout, see `flipped`)."""
    effects = [effect(made, held) for held in window.holds]
    if isinstance(made, Pool):
        reads = frozenset(p for p, e in zip(window.positions, effects, strict=True) if e == INPUT_CODE)
        return ("pool", reads, effects.count(COUNTED_CODE))
    if isinstance(made, ConvTranspose | Unpool):
        return ("transposed", tuple(sorted(window.positions)))
    return (
        "conv",
        tuple(p if e == INPUT_CODE else None for p, e in zip(window.positions, effects, strict=True)),
    )


def flipped(made: Layer) -> bool:
    """Whether tap t applies kernel weight k - 1 - t (a transposed convolution with the rotated kernel)."""
    mapping = window_map(made)
    return isinstance(mapping, GridMap) and mapping.flipped


def same_windows_claim(a: Layer, b: Layer) -> sympy.Basic:
    """Where two layers read the same positions with the same effect, for every output j and tap t: the claim
    (in i, j, t) that port proves for every input size both accept."""
    from .arith import eq, ge, lt

    ma, mb = window_map(a), window_map(b)
    if not (isinstance(ma, GridMap) and isinstance(mb, GridMap)):
        raise SpecError(f"cannot compare the windows of {a.spec} and {b.spec}")
    # The same grid cells for every (j, t): the same kernel, stride and spacing, and the same dilation unless
    # the kernel has one tap (then the dilation moves nothing).
    same_shape = all(
        sympy.simplify(x - y) == 0
        for x, y in (
            (ma.k, mb.k),
            (ma.stride, mb.stride),
            (ma.spacing, mb.spacing),
            ((ma.k - 1) * ma.d, (mb.k - 1) * mb.d),
        )
    )
    # Which kernel weight a tap applies is a matter of weight layout (port says when to flip), not of position.
    if not same_shape:
        return sympy.false
    o = a.output_expr(INPUT)
    window = sympy.And(ge(J, 0), lt(J, o), ge(T, 0), lt(T, ma.k))
    # Same cells; where a tap reads an input unit, the same unit: cell - before is the same on both grids.
    reads = sympy.And(window, eq(tap_code(a), INPUT_CODE))
    return sympy.And(
        eq(o, b.output_expr(INPUT)),
        sympy.Implies(window, eq(tap_code(a), tap_code(b))),
        sympy.Implies(reads, eq(ma.before, mb.before)),
    )


def windows(made: Layer, i: int, *, at: int | None = None) -> list[Window]:
    """Every output's window at input size i (or only output `at`), as integers."""
    made = one_axis(made)
    o = made.output_size(i)
    mapping = window_map(made)
    if at is None and o > MAX_WINDOWS:
        raise SpecError(
            f"{made.spec} has {o} outputs at input size {i}: listing more than {MAX_WINDOWS} windows is refused; "
            "give --at J for one of them"
        )
    if at is not None and not 0 <= at < o:
        raise SpecError(f"--at {at}: the output has positions 0 to {o - 1} at input size {i} in {made.spec}")
    chosen = range(o) if at is None else [at]
    if isinstance(mapping, GridMap):
        width = int(evaluate(mapping.k, {}))
    else:
        width = max(
            b[1] - b[0] + 1
            for b in (mapping.bounds(i, j) for j in {chosen[0], chosen[-1], chosen[len(chosen) // 2]})
        )
    if width * len(chosen) > MAX_POSITIONS:
        raise SpecError(
            f"{made.spec} at input size {i} reads about {width * len(chosen):,} positions in "
            f"{'window ' + str(at) if at is not None else f'{o} windows'}: listing more than {MAX_POSITIONS:,} is refused"
        )
    return [mapping.window(i, j) for j in chosen]


def avgpool_divisor(
    k: Any,
    s: Any,
    pb: Any,
    pe: Any,
    i: Any,
    count_include_pad: bool = True,
    divisor_override: Any = None,
    j: Any = J,
) -> sympy.Expr:
    """The divisor of window j (PyTorch's AvgPool): the window [j*s - pb, min(j*s - pb + k, i + pe)),
    its length when padding counts, else the number of real elements in it; divisor_override replaces both."""
    if divisor_override is not None:
        if not isinstance(divisor_override, int | sympy.Expr) or isinstance(divisor_override, bool):
            raise SpecError(f"divisor_override must be an integer, got {divisor_override!r}")
        return sympy.Integer(divisor_override) if isinstance(divisor_override, int) else divisor_override
    one = sympy.Integer(1)
    start = GridMap(*(_expr(v) for v in (k, s, one, one, pb, pe))).first(j, i)
    end = sympy.Min(start + k, i + pe)
    if count_include_pad:
        return end - start
    return sympy.Min(end, i) - sympy.Max(start, 0)


def adaptive_window(size: int, output: int, j: int) -> tuple[int, int]:
    """Adaptive pooling: window j of `output` over `size` elements is [floor(j*size/output), ceil((j+1)*size/output))."""
    if size < 1 or output < 1 or not 0 <= j < output:
        raise SpecError(
            f"adaptive_window needs size >= 1, output >= 1 and 0 <= j < output, got {size}, {output}, {j}"
        )
    return (
        int(evaluate(floor_div(J * size, output), {"j": j})),
        int(evaluate(ceil_div((J + 1) * size, output), {"j": j})),
    )


def unfold_blocks(sizes: tuple[int, ...], k: Any, s: Any = 1, p: Any = 0, d: Any = 1) -> int:
    """Unfold's block count L = prod floor((i + 2p - k_eff)/s + 1); PyTorch refuses a factor below 1."""
    total = 1
    for axis, size in enumerate(sizes):
        per_axis = [v[axis] if isinstance(v, tuple) else v for v in (k, s, p, d)]
        kk, ss, pp, dd = per_axis
        blocks = (size + 2 * pp - int(evaluate(fw.effective_kernel(kk, dd), {}))) // ss + 1
        if blocks < 1:
            raise ShapeError(
                f"Unfold: axis {axis} gives {blocks} blocks (i={size}, k={kk}, s={ss}, p={pp}, d={dd}); "
                "the padded input must hold the kernel"
            )
        total *= blocks
    return total


def _expr(value: Any) -> sympy.Expr:
    return sympy.Integer(value) if isinstance(value, int) else value


def centre_crop_offset(size: int, out: int) -> int:
    """Where a centre crop of `out` positions starts in `size` (torchvision's CenterCrop, U-Net's crops)."""
    return (size - out) // 2
