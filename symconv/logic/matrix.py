"""Convolution as a matrix operation (the paper's section 4.1): the convolution is C, its transpose is C^T.

C has one row per output and one column per input. Row m holds the weight w_r at column j = m*s - pb + r*d
(cross-correlation, as in deep-learning frameworks); a tap that falls in the padding contributes nothing. The
transposed convolution computed the way the paper computes it (stretch, pad with k_eff - p - 1 zeros, run a
stride-1 convolution with the kernel rotated by 180 degrees) is exactly C^T.

>>> conv_matrix(4, 3)
Matrix([
[w0, w1, w2,  0],
[ 0, w0, w1, w2]])
>>> transposed_as_direct(4, 3) == conv_matrix(4, 3).T
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

import sympy

from ..core.arith import eq, ge, lt, symbol
from ..core.errors import ShapeError, SpecError
from ..core.frameworks import effective_kernel
from ..core.layers import Conv, ConvTranspose
from ..core.windowmap import GridMap, transposed_pads
from .prove import Result, prove

Padding: TypeAlias = int | tuple[int, int]
Pair: TypeAlias = int | tuple[int, int]
Padding2d: TypeAlias = int | tuple[Padding, Padding]
T = TypeVar("T")


@dataclass(frozen=True)
class Axis:
    """One validated spatial axis: input size i, kernel k, stride s, paddings pb and pe, dilation d, output o."""

    i: int
    k: int
    s: int
    pb: int
    pe: int
    d: int
    o: int

    @property
    def k_eff(self) -> int:
        return int(effective_kernel(self.k, self.d))

    @property
    def a(self) -> int:
        """The inputs after the last window, (i + pb + pe - k_eff) mod s: the transpose's output_padding."""
        return self.i + self.pb + self.pe - self.k_eff - self.s * (self.o - 1)

    @property
    def _transposed_pads(self) -> tuple[int, int]:
        """(zeros before, zeros after) the stretched input of the transposed convolution (negative: crop),
        from its window map (the paper's k_eff - p - 1 a side, a extra at the end)."""
        values = (self.k, self.s, self.pb, self.pe, self.d, self.a)
        k, s, pb, pe, d, a = (sympy.Integer(v) for v in values)
        before, after = transposed_pads(ConvTranspose("convT", None, (), k, s, pb, pe, d, a))
        return int(before), int(after)

    @property
    def begin(self) -> int:
        return self._transposed_pads[0]

    @property
    def end(self) -> int:
        return self._transposed_pads[1]

    def tap(self, r: int) -> sympy.Matrix:
        """The o x i 0/1 matrix of tap r: 1 where output m reads input j through tap r (its window map)."""
        k, s, d, pb, pe = (sympy.Integer(v) for v in (self.k, self.s, self.d, self.pb, self.pe))
        grid = GridMap(k, s, d, sympy.Integer(1), pb, pe)
        reads = [grid.window(self.i, m).positions[r] for m in range(self.o)]
        return sympy.Matrix(self.o, self.i, lambda m, j: int(j == reads[m]))


def _integer(name: str, value: Any, call: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{name} must be an integer, got {value!r} in {call}")
    return value


def _pair(name: str, value: Any, call: str) -> tuple[Any, Any]:
    """(height, width) from one value for both axes or a pair."""
    if isinstance(value, tuple):
        if len(value) != 2:
            raise SpecError(f"{name} must be one value or a (height, width) pair, got {value!r} in {call}")
        return value
    return value, value


def _padding(p: Any, call: str) -> tuple[int, int]:
    if isinstance(p, tuple):
        if len(p) != 2:
            raise SpecError(f"padding p must be an integer or a (begin, end) pair, got {p!r} in {call}")
        return _integer("begin padding", p[0], call), _integer("end padding", p[1], call)
    p = _integer("padding p", p, call)
    return p, p


def axis(i: int, k: int, s: int = 1, p: Padding = 0, d: int = 1, call: str = "") -> Axis:
    """The axis of conv(k, s, p, d) on an input of size i; SpecError names the parameter and the rule broken.

    >>> axis(5, 3, s=2, p=(1, 0)).o
    2
    """
    call = call or f"conv_matrix(i={i!r}, k={k!r}, s={s!r}, p={p!r}, d={d!r})"
    i, k, s, d = (_integer(name, value, call) for name, value in (("i", i), ("k", k), ("s", s), ("d", d)))
    pb, pe = _padding(p, call)
    layer = Conv(call, None, (), *(sympy.Integer(n) for n in (k, s, pb, pe, d)))
    # As layers.build does: the parameter rules first (a zero stride would make the size formula zoo).
    layer._check_parameters()
    try:
        o = layer.output_size(i)
    except ShapeError as error:
        # An input size below 1 or an empty output: bad input to these functions, not a framework refusal.
        raise SpecError(str(error)) from None
    return Axis(i, k, s, pb, pe, d, o)


def _axes_2d(shape: Any, k: Any, s: Any, p: Any, d: Any, name: str) -> tuple[Axis, Axis]:
    call = f"{name}(shape={shape!r}, k={k!r}, s={s!r}, p={p!r}, d={d!r})"
    if not isinstance(shape, tuple) or len(shape) != 2:
        raise SpecError(f"shape must be a (height, width) pair, got {shape!r} in {call}")
    ks, ss, ps, ds = (_pair(n, v, call) for n, v in (("k", k), ("s", s), ("p", p), ("d", d)))
    height = axis(shape[0], ks[0], ss[0], ps[0], ds[0], call=f"{call} (height axis)")
    width = axis(shape[1], ks[1], ss[1], ps[1], ds[1], call=f"{call} (width axis)")
    return height, width


def weights(k: int) -> tuple[sympy.Symbol, ...]:
    """The kernel weights w0 .. w{k-1} (plain SymPy symbols: weights are numbers, not sizes)."""
    return tuple(sympy.Symbol(f"w{r}") for r in range(k))


def weights_2d(kh: int, kw: int) -> tuple[tuple[sympy.Symbol, ...], ...]:
    """The kernel weights w{r}_{c}, row r, column c."""
    return tuple(tuple(sympy.Symbol(f"w{r}_{c}") for c in range(kw)) for r in range(kh))


def _from_axis(ax: Axis) -> sympy.Matrix:
    matrix = sympy.zeros(ax.o, ax.i)
    for r, w in enumerate(weights(ax.k)):
        matrix += w * ax.tap(r)
    return matrix


def _from_axes(height: Axis, width: Axis) -> sympy.Matrix:
    # Row-major flattening: output (mh, mw) is row mh*ow + mw, input (jh, jw) is column jh*iw + jw, so the
    # entry of tap (r, c) is the Kronecker product of the two axes' taps.
    matrix = sympy.zeros(height.o * width.o, height.i * width.i)
    for r, row in enumerate(weights_2d(height.k, width.k)):
        for c, w in enumerate(row):
            matrix += w * sympy.kronecker_product(height.tap(r), width.tap(c))
    return matrix


def conv_matrix(i: int, k: int, s: int = 1, p: Padding = 0, d: int = 1) -> sympy.Matrix:
    """The o x i matrix C of the 1-D convolution: output = C @ input, entries w0 .. w{k-1} or 0.

    `p` is one padding for both ends or a (begin, end) pair.

    >>> conv_matrix(3, 2, s=2, p=(1, 0))
    Matrix([
    [w1,  0,  0],
    [ 0, w0, w1]])
    """
    return _from_axis(axis(i, k, s, p, d))


def conv_matrix_2d(
    shape: tuple[int, int], k: Pair, s: Pair = 1, p: Padding2d = 0, d: Pair = 1
) -> sympy.Matrix:
    """The (oh*ow) x (ih*iw) matrix of the 2-D convolution on the row-major flattened input; weights w{r}_{c}.

    `k`, `s`, `d` are one value or a (height, width) pair; `p` is one value, or a pair per axis whose items
    are one padding or a (begin, end) pair.
    """
    return _from_axes(*_axes_2d(shape, k, s, p, d, "conv_matrix_2d"))


def _stretch(values: Sequence[T], s: int, zero: T) -> list[T]:
    """s - 1 zeros between consecutive values: length s*(n - 1) + 1."""
    out = [zero] * (s * (len(values) - 1) + 1)
    out[::s] = values
    return out


def _pad(values: Sequence[T], begin: int, end: int, zero: T) -> list[T]:
    """`begin` zeros before and `end` after; a negative amount crops.

    Read as a window on the zero-extended sequence (position q holds values[q - begin]), so crops that would
    overlap are still well defined: the length is always n + begin + end.
    """
    n = len(values)
    return [values[q - begin] if 0 <= q - begin < n else zero for q in range(n + begin + end)]


def _direct(values: Sequence[sympy.Expr], kernel: Sequence[sympy.Expr], d: int) -> list[sympy.Expr]:
    """Stride-1 cross-correlation with dilation d, no padding."""
    span = d * (len(kernel) - 1) + 1
    return [
        sympy.Add(*(w * values[q + t * d] for t, w in enumerate(kernel)))
        for q in range(len(values) - span + 1)
    ]


def _direct_2d(
    grid: Sequence[Sequence[sympy.Expr]], kernel: Sequence[Sequence[sympy.Expr]], dh: int, dw: int
) -> list[list[sympy.Expr]]:
    height = dh * (len(kernel) - 1) + 1
    width = dw * (len(kernel[0]) - 1) + 1
    return [
        [
            sympy.Add(
                *(
                    w * grid[y + r * dh][x + c * dw]
                    for r, kernel_row in enumerate(kernel)
                    for c, w in enumerate(kernel_row)
                )
            )
            for x in range(len(grid[0]) - width + 1)
        ]
        for y in range(len(grid) - height + 1)
    ]


def _transposed_1d(ax: Axis, values: Sequence[sympy.Expr]) -> list[sympy.Expr]:
    """The paper's transposed convolution of `values` (length o): stretch, pad, rotated-kernel convolution."""
    zero = sympy.Integer(0)
    padded = _pad(_stretch(values, ax.s, zero), ax.begin, ax.end, zero)
    return _direct(padded, weights(ax.k)[::-1], ax.d)


def _transposed_2d(height: Axis, width: Axis, grid: Sequence[Sequence[sympy.Expr]]) -> list[list[sympy.Expr]]:
    zero = sympy.Integer(0)
    rows = [_pad(_stretch(row, width.s, zero), width.begin, width.end, zero) for row in grid]
    blank = [zero] * len(rows[0])
    padded = _pad(_stretch(rows, height.s, blank), height.begin, height.end, blank)
    rotated = [list(row[::-1]) for row in weights_2d(height.k, width.k)[::-1]]
    return _direct_2d(padded, rotated, height.d, width.d)


def _linear_map(inputs: int, outputs: int, apply: Callable[[int], list[sympy.Expr]]) -> sympy.Matrix:
    """The outputs x inputs matrix whose column j is apply(j), the response to the unit vector e_j."""
    columns = [apply(j) for j in range(inputs)]
    return sympy.Matrix(outputs, inputs, lambda row, j: columns[j][row])


def _unit(n: int, j: int) -> list[sympy.Expr]:
    return [sympy.Integer(int(q == j)) for q in range(n)]


def transposed_as_direct(i: int, k: int, s: int = 1, p: Padding = 0, d: int = 1) -> sympy.Matrix:
    """The i x o matrix of the transposed convolution, built as a direct convolution (never from C).

    The o inputs are stretched (s - 1 zeros between them), padded with k_eff - pb - 1 zeros before and
    k_eff - pe - 1 + a after (a = (i + pb + pe - k_eff) mod s), and convolved at stride 1, dilation d, with the
    kernel rotated by 180 degrees. It equals conv_matrix(i, k, s, p, d).T.
    """
    ax = axis(i, k, s, p, d, call=f"transposed_as_direct(i={i!r}, k={k!r}, s={s!r}, p={p!r}, d={d!r})")
    return _linear_map(ax.o, ax.i, lambda j: _transposed_1d(ax, _unit(ax.o, j)))


def transposed_as_direct_2d(
    shape: tuple[int, int], k: Pair, s: Pair = 1, p: Padding2d = 0, d: Pair = 1
) -> sympy.Matrix:
    """The 2-D transposed convolution as a direct convolution; equals conv_matrix_2d(...).T."""
    height, width = _axes_2d(shape, k, s, p, d, "transposed_as_direct_2d")

    def response(j: int) -> list[sympy.Expr]:
        unit = _unit(height.o * width.o, j)
        grid = [unit[y * width.o : (y + 1) * width.o] for y in range(height.o)]
        return [v for row in _transposed_2d(height, width, grid) for v in row]

    return _linear_map(height.o * width.o, height.i * width.i, response)


def index_duality(
    rotated: bool = True,
) -> tuple[sympy.Basic, list[sympy.Basic], list[tuple[str, sympy.Expr]]]:
    """(claim, given, definitions): forward output m reads input j with w_r iff transposed output j reads m.

    The transposed side reads position q = j + t*d of the stretched input padded with pbt = k_eff - pb - 1
    zeros, with the rotated tap t = k - 1 - r; that position holds input m when q = pbt + m*s. With
    ``rotated=False`` (t = r) the statement is false: the planted counterpart.
    """
    j, m, r, k, s, d, pb = (symbol(name) for name in ("j", "m", "r", "k", "s", "d", "pb"))
    k_eff, pbt, t, q = (symbol(name) for name in ("k_eff", "pbt", "t", "q"))
    definitions = [
        ("k_eff", effective_kernel(k, d)),
        (
            "pbt",
            transposed_pads(ConvTranspose("convT", None, (), k, s, pb, pb, d))[0].subs(
                effective_kernel(k, d), k_eff
            ),
        ),
        ("t", k - 1 - r if rotated else r),
        ("q", j + t * d),
    ]
    # Both sides from the window maps: the convolution's grid (tap r of output m), the transposed padding.
    grid = GridMap(k, s, d, sympy.Integer(1), pb, pb)
    forward = eq(j, grid.first(m) + r * d)
    transposed = eq(q, pbt + m * s)
    claim = sympy.And(sympy.Implies(forward, transposed), sympy.Implies(transposed, forward))
    given = [ge(r, 0), lt(r, k), ge(k, 1), ge(s, 1), ge(d, 1), ge(pb, 0)]
    return claim, given, definitions


def prove_index_duality(rotated: bool = True) -> Result:
    """Prove the index duality for all integers; Proved(scope="unbounded") when rotated.

    >>> prove_index_duality()
    Proved(scope='unbounded', seconds=...)
    """
    claim, given, definitions = index_duality(rotated)
    return prove(claim, given, definitions=definitions)


def gradient_matches_transpose(i: int, k: int, s: int = 1, p: Padding = 0, d: int = 1, seed: int = 0) -> bool:
    """With torch, float64: d(conv1d)/d(input) applied to a random upstream gradient equals C^T @ upstream and,
    for a symmetric padding (all torch's conv_transpose1d accepts), conv_transpose1d with output_padding a.
    """
    ax = axis(i, k, s, p, d, call=f"gradient_matches_transpose(i={i!r}, k={k!r}, s={s!r}, p={p!r}, d={d!r})")
    return _gradient_check((ax,), conv_matrix(i, k, s, p, d), list(weights(k)), seed)


def gradient_matches_transpose_2d(
    shape: tuple[int, int], k: Pair, s: Pair = 1, p: Padding2d = 0, d: Pair = 1, seed: int = 0
) -> bool:
    """gradient_matches_transpose for conv2d and conv_transpose2d."""
    height, width = _axes_2d(shape, k, s, p, d, "gradient_matches_transpose_2d")
    symbols = [w for row in weights_2d(height.k, width.k) for w in row]
    return _gradient_check((height, width), _from_axes(height, width), symbols, seed)


def _gradient_check(axes: tuple[Axis, ...], c: sympy.Matrix, symbols: list[sympy.Symbol], seed: int) -> bool:
    import torch
    import torch.nn.functional as F

    generator = torch.Generator().manual_seed(seed)

    def random(*shape: int) -> torch.Tensor:
        return torch.randn((1, 1, *shape), generator=generator, dtype=torch.float64)

    x = random(*(ax.i for ax in axes)).requires_grad_()
    w = random(*(ax.k for ax in axes))
    upstream = random(*(ax.o for ax in axes))
    conv = F.conv1d if len(axes) == 1 else F.conv2d
    transpose = F.conv_transpose1d if len(axes) == 1 else F.conv_transpose2d
    strides, dilations = [ax.s for ax in axes], [ax.d for ax in axes]
    # F.pad lists (begin, end) per axis from the last axis back, so asymmetric padding needs no torch support.
    padded = F.pad(x, [n for ax in reversed(axes) for n in (ax.pb, ax.pe)])
    (grad,) = torch.autograd.grad(conv(padded, w, stride=strides, dilation=dilations), x, upstream)

    values = {sym: sympy.Float(float(v)) for sym, v in zip(symbols, w.flatten().tolist(), strict=True)}
    c_at_w = torch.tensor(
        [[float(e) for e in row] for row in c.xreplace(values).tolist()], dtype=torch.float64
    )
    matches = torch.allclose(grad.flatten(), c_at_w.T @ upstream.flatten(), rtol=1e-12, atol=1e-12)
    if all(ax.pb == ax.pe for ax in axes):
        transposed = transpose(
            upstream,
            w,
            stride=strides,
            padding=[ax.pb for ax in axes],
            output_padding=[ax.a for ax in axes],
            dilation=dilations,
        )
        matches = matches and torch.allclose(grad, transposed, rtol=1e-12, atol=1e-12)
    return bool(matches)
