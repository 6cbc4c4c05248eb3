"""Shape operations of real networks, per spatial axis: padding, slicing, resizing to a size, concatenation
along a spatial axis, reshapes that split an axis into windows, conditions a model asserts on sizes, rolls,
mixing of every position (attention over tokens) and Swin's shifted window attention
(symconv.nets.windowattention).

A node of one of these kinds holds one entry per axis of its network (`Node.axes`, keyed by the axis name).
An entry's amounts are formulas: integers, or expressions in other nodes' sizes on the same axis (`ref`), as a
model computes them from `x.size(2)` or `x.shape[-1]` (U-Net's centre crop `diff = (up.size(2) -
skip.size(2)) // 2`). `size_and_rules` gives a node's size on one axis and the conditions under which the
framework runs it, each condition with its rule named; `positions` gives the input positions an output
position reads (receptive fields).

>>> from symconv.core.arith import symbol
>>> size_and_rules("pad", Pad(sympy.Integer(2), sympy.Integer(1), "reflect"), [symbol("i")], {})[0]
i + 3
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy

from ..core.arith import ceil_div, eq, evaluate, floor_div, ge, le, lt
from ..core.errors import SpecError
from .windowattention import ShiftedWindows, group

Rules = list[tuple[sympy.Basic, str]]
OPS = ("pad", "slice", "resize", "join", "windows", "check", "roll", "mix", "windowattention", "flip")
PAD_MODES = ("constant", "reflect", "replicate", "circular")


def ref(node: str) -> sympy.Symbol:
    """The size of the node `node` on the axis being read (a placeholder that `resolve` replaces)."""
    return sympy.Symbol(f"@{node}", integer=True)


def refs(expr: sympy.Basic) -> set[str]:
    """The nodes whose sizes `expr` reads."""
    return {s.name[1:] for s in expr.free_symbols if s.name.startswith("@")}


def resolve(expr: sympy.Expr, sizes: Mapping[str, sympy.Expr]) -> sympy.Expr:
    """`expr` with each node's size put in (SpecError for a node that is not an earlier one)."""
    names = refs(expr)
    missing = sorted(name for name in names if name not in sizes)
    if missing:
        raise SpecError(
            f"a size formula reads the node(s) {', '.join(missing)}, which come later or not at all"
        )
    return substituted(expr, {ref(name): sizes[name] for name in names}) if names else expr


def substituted(expr: sympy.Basic, mapping: Mapping[sympy.Basic, sympy.Basic]) -> Any:
    """`expr.xreplace(mapping)` with each Min/Max of formulas left unevaluated: SymPy would compare the nested
    size formulas it receives (assumption queries of seconds for a U-Net's centre crops), and a Min/Max is
    the same function either way."""
    if expr in mapping:
        return mapping[expr]
    if not expr.args or not (expr.free_symbols & set(mapping)):
        return expr
    args = [substituted(arg, mapping) for arg in expr.args]
    if isinstance(expr, sympy.Min | sympy.Max):
        return type(expr)(*args, evaluate=_numbers(*args))
    return expr.func(*args)


@dataclass(frozen=True)
class Pad:
    """`begin` and `end` positions added (a negative amount crops), as F.pad and the Pad modules do."""

    begin: sympy.Expr
    end: sympy.Expr
    mode: str = "constant"


@dataclass(frozen=True)
class Slice:
    """Python's slice start:stop:step (None: the default), with Python's negative indices and clamping."""

    start: sympy.Expr | None = None
    stop: sympy.Expr | None = None
    step: int = 1
    # torch.split with a list of sizes: the input's size must be their sum
    whole: sympy.Expr | None = None
    # a piece of torch.split / chunk by a size: it exists only where it starts inside the input
    starts: sympy.Expr | None = None


@dataclass(frozen=True)
class Resize:
    """Interpolation to `size` (a formula) or by `scale` (the output is floor(i * scale)); mode "area" is adaptive
    average pooling, "total" a mean or sum over the whole axis (size 1, also of an empty axis)."""

    size: sympy.Expr | None = None
    scale: Fraction | None = None
    mode: str = "nearest"
    align_corners: bool = False


@dataclass(frozen=True)
class Join:
    """A concatenation's axis: `along` adds the inputs' sizes; any other axis needs them equal."""

    along: bool = False


@dataclass(frozen=True)
class Windows:
    """A reshape that splits the axis into windows of `size` (Swin's and MaxViT's window partitions), which
    needs the axis divisible by `size`; the network's size on the axis is unchanged."""

    size: int = 1


@dataclass(frozen=True)
class Check:
    """A condition the model asserts on sizes (torch._assert(H == self.img_size[0], msg)): the size is
    unchanged and `condition` (a relation in nodes' sizes on this axis, `ref`) must hold, stated as `rule`.
    None: the assertion says nothing about this axis."""

    condition: sympy.Basic | None = None
    rule: str = ""
    # a branch's guard that cannot be stated per axis (some size differs): the importer's refusal, which
    # stands unless the branch is read as two-sided (importers.sides)
    unstated: str = ""
    never: bool = False  # (with `unstated`) the guard fails at the fixed input sizes: its side is never taken


@dataclass(frozen=True)
class Roll:
    """torch.roll by `shift` along the axis: the size is unchanged; output position j holds input position
    (j - shift) mod n."""

    shift: int = 0


@dataclass(frozen=True)
class Flip:
    """torch.flip along the axis (`reverse`): the size is unchanged; output position j holds input position
    n - 1 - j."""

    reverse: bool = False


@dataclass(frozen=True)
class Mix:
    """Every output position reads every input position along the axis (attention over tokens, a Linear
    over a spatial axis); the size becomes `size` (None: unchanged). `every=False`: the axis is left as it
    is (a Linear over another axis). `reads`, one entry per input (a product of tensors, torch.matmul), says
    which positions of that input output position j reads: 1 the same position, w > 1 the window of w
    positions holding j (a window partition's tokens), 0 every position; the inputs' sizes are equal."""

    size: sympy.Expr | None = None
    every: bool = True
    reads: tuple[int, ...] = ()


def size_and_rules(
    op: str, entry: Any, before: Sequence[sympy.Expr], sizes: Mapping[str, sympy.Expr]
) -> tuple[sympy.Expr, Rules]:
    """A node's size on one axis from its inputs' sizes `before`, and its rules (without the node's name)."""
    n = before[0]
    if op == "pad" and isinstance(entry, Pad):
        return _pad(entry, n, sizes)
    if op == "slice" and isinstance(entry, Slice):
        return _slice(entry, n, sizes), _slice_rules(entry, n, sizes)
    if op == "resize" and isinstance(entry, Resize):
        return _resize(entry, n, sizes)
    if op == "join" and isinstance(entry, Join):
        if entry.along:
            return sympy.Add(*before), []
        return n, [
            (eq(n, other), "the inputs' sizes differ (a concatenation needs them equal)")
            for other in before[1:]
        ]
    if op == "windows" and isinstance(entry, Windows):
        if entry.size == 1:
            return n, []
        return n, [
            (eq(sympy.Mod(n, entry.size), 0), f"the size must be divisible by the window {entry.size}")
        ]
    if (op == "roll" and isinstance(entry, Roll)) or (op == "flip" and isinstance(entry, Flip)):
        return n, []
    if op == "mix" and isinstance(entry, Mix):
        return (n if entry.size is None else resolve(entry.size, sizes)), []
    if op == "windowattention" and isinstance(entry, ShiftedWindows):
        return n, []  # padded to whole windows, then cropped back: every size runs
    if op == "check" and isinstance(entry, Check):
        if entry.condition is None:
            return n, []
        return n, [
            (entry.condition.xreplace({ref(name): sizes[name] for name in refs(entry.condition)}), entry.rule)
        ]
    raise SpecError(f"{op} is not a shape operation, or its per-axis entry {entry!r} is not one")


def _pad(entry: Pad, n: sympy.Expr, sizes: Mapping[str, sympy.Expr]) -> tuple[sympy.Expr, Rules]:
    """PyTorch's rules (aten PadNd.cpp and the padding kernels): the result is not negative; constant
    padding first crops by the negative amounts, each crop no longer than what is left; reflect pads less
    than the input size, circular at most the input size."""
    begin, end = resolve(entry.begin, sizes), resolve(entry.end, sizes)
    size = n + begin + end
    rules: Rules = [(ge(size, 0), "the padded size must not be negative (negative padding crops too much)")]
    if entry.mode == "constant" and not all(_non_negative(v) for v in (begin, end)):
        cropped = n + sympy.Min(begin, 0) + sympy.Min(end, 0)
        rules.append((ge(cropped, 0), "negative padding crops more than the input size"))
    if entry.mode in ("reflect", "circular"):
        compare, words = (lt, "less than") if entry.mode == "reflect" else (le, "at most")
        rules += [
            (compare(amount, n), f"{entry.mode} padding ({side}) must be {words} the input size")
            for side, amount in (("begin", begin), ("end", end))
            if not (isinstance(amount, sympy.Integer) and amount <= 0)
        ]
    return size, rules


def _non_negative(value: sympy.Expr) -> bool:
    return isinstance(value, sympy.Integer) and value >= 0


def _index(value: sympy.Expr | None, n: sympy.Expr, default: sympy.Expr) -> sympy.Expr:
    """A slice bound as Python reads it on a sequence of n: a negative one counts from the end, then clamped."""
    if value is None:
        return default
    sign = _sign(value)
    if sign is not None:
        return sympy.Max(value + n, 0) if sign < 0 else sympy.Min(value, n)
    # The sign depends on the sizes: [value < 0] on integers is min(max(-value, 0), 1), so the bound is
    # min(max(value, 0), n) + [value < 0] * max(value + n, 0). Min and Max stay unevaluated: SymPy would
    # compare the formulas numerically (a Piecewise's conditions too), which can exhaust its precision.
    negative = _min(_max(-value, 0), 1)
    return _min(_max(value, 0), n) + negative * _max(value + n, 0)


def _min(a: sympy.Expr, b: sympy.Expr | int) -> sympy.Expr:
    return sympy.Min(a, b, evaluate=_numbers(a, b))


def _max(a: sympy.Expr, b: sympy.Expr | int) -> sympy.Expr:
    return sympy.Max(a, b, evaluate=_numbers(a, b))


def _numbers(*values: sympy.Expr | int) -> bool:
    return all(isinstance(v, int | sympy.Integer) for v in values)


def _sign(value: sympy.Expr) -> int | None:
    """1 when `value` is >= 0 at every size >= 1, -1 when it is negative there, None when that is not known
    (SymPy's assumptions, with every size positive)."""
    if isinstance(value, sympy.Integer):
        return 1 if value >= 0 else -1
    positive = {s: sympy.Dummy(s.name, integer=True, positive=True) for s in value.free_symbols}
    held = value.xreplace(positive)
    return 1 if held.is_nonnegative else -1 if held.is_negative else None


def _slice(entry: Slice, n: sympy.Expr, sizes: Mapping[str, sympy.Expr]) -> sympy.Expr:
    start = sympy.Integer(0) if entry.start is None else resolve(entry.start, sizes)
    stop = None if entry.stop is None else resolve(entry.stop, sizes)
    length = _constant_length(start, stop, n)
    if length is None:
        length = _formula_length(entry, n, sizes)
    return length if entry.step == 1 else ceil_div(length, entry.step)


_N = sympy.Dummy("n", integer=True)


def _formula_length(entry: Slice, n: sympy.Expr, sizes: Mapping[str, sympy.Expr]) -> sympy.Expr:
    """len(range(n)[start:stop]) for bounds that are formulas in node sizes (U-Net's centre crop).

    The length is built on the node sizes as free integers >= 1 (every earlier node is >= 1 wherever the
    network is defined), the sliced size n among them, so that each sign and each Min/Max is decided by Z3
    on a small formula rather than by SymPy's numeric evaluation of the nested size formulas (which can
    exhaust its precision). A start whose sign depends on the sizes splits the length in two cases, each
    simplified under its own sign; what Z3 cannot decide stays an unevaluated Min/Max. Only then are the
    node sizes put in."""
    names = sorted(refs(entry.start or sympy.Integer(0)) | refs(entry.stop or sympy.Integer(0)))
    same = [name for name in names if name in sizes and sizes[name] == n]
    start = sympy.Integer(0) if entry.start is None else entry.start.xreplace({ref(m): _N for m in same})
    stop = None if entry.stop is None else entry.stop.xreplace({ref(m): _N for m in same})
    free = [ref(name) for name in names if name not in same]
    premises = [ge(s, 1) for s in (_N, *free)]
    cases = []
    signs = (bool(start < 0),) if isinstance(start, sympy.Integer) else (True, False)
    for negative in signs:
        assume = [*premises, lt(start, 0) if negative else ge(start, 0)]
        if len(signs) > 1 and _always(sympy.false, assume):
            continue  # the start cannot have this sign
        first = _max(start + _N, 0) if negative else _min(start, _N)
        last = _index(stop, _N, _N) if stop is None else _clamped_stop(stop, assume)
        cases.append((negative, decided(_max(last - first, 0), assume)))
    if len(cases) == 1:
        length = cases[0][1]
    else:
        indicator = _min(_max(-start, 0), 1)  # [start < 0] on integers
        length = indicator * cases[0][1] + (1 - indicator) * cases[1][1]
    others = {name: sizes[name] for name in names if name not in same}
    length = substituted(resolve(length, others), {_N: n})
    if length.has(sympy.Min, sympy.Max):
        # The free names lose how the sizes relate (a crop back to the input's size after a convolution and
        # its transpose, LowFormer's o[..., :H, :W]): what is left is decided on the sizes themselves, else each
        # residual block would nest the Min of the one before.
        length = decided(length, [ge(s, 1) for s in length.free_symbols])
    return length


def _clamped_stop(stop: sympy.Expr, assume: list[sympy.Basic]) -> sympy.Expr:
    """Python's stop index on the sliced size, its sign decided under `assume` where Z3 can."""
    if _always(ge(stop, 0), assume):
        return decided(_min(stop, _N), assume)
    if _always(lt(stop, 0), assume):
        return decided(_max(stop + _N, 0), assume)
    return _index(stop, _N, _N)


def decided(expr: sympy.Expr, assume: list[sympy.Basic]) -> sympy.Expr:
    """`expr` with each two-argument Min/Max whose order Z3 proves under `assume` replaced by the smaller/larger side."""
    if not isinstance(expr, sympy.Basic) or not expr.args:
        return expr
    args = [decided(arg, assume) for arg in expr.args]
    if isinstance(expr, sympy.Min | sympy.Max) and len(args) == 2:
        a, b = args
        a_first = _always(le(a, b), assume)
        if a_first or _always(le(b, a), assume):
            return a if a_first == isinstance(expr, sympy.Min) else b
        return _min(a, b) if isinstance(expr, sympy.Min) else _max(a, b)
    return expr.func(*args)


def _always(claim: sympy.Basic, assume: list[sympy.Basic]) -> bool:
    """Z3 proves `claim` from `assume` (a solver's unknown is not a proof)."""
    from ..logic.prove import proved

    if claim is sympy.true:
        return True
    return proved(claim, assume)


def _constant_length(start: sympy.Expr, stop: sympy.Expr | None, n: sympy.Expr) -> sympy.Expr | None:
    """len(range(n)[start:stop]) for integer bounds, as small a formula as the signs allow (n >= 1); None
    for bounds that are formulas (their sign can depend on the size)."""
    if not isinstance(start, sympy.Integer) or not (stop is None or isinstance(stop, sympy.Integer)):
        return None
    s = int(start)
    if stop is None:
        return sympy.Max(n - s, 0) if s > 0 else (n if s == 0 else sympy.Min(-s, n))
    e = int(stop)
    if s >= 0 and e >= 0:
        return sympy.Integer(0) if e <= s else sympy.Min(sympy.Max(n - s, 0), e - s) if s else sympy.Min(n, e)
    if s >= 0:  # stop counts from the end
        return sympy.Max(n + e - s, 0)
    if e < 0:
        return sympy.Max(sympy.Min(e - s, n + e), 0)
    return None


def _slice_rules(entry: Slice, n: sympy.Expr, sizes: Mapping[str, sympy.Expr]) -> Rules:
    rules: Rules = []
    if entry.whole is not None:
        rules.append(
            (eq(n, resolve(entry.whole, sizes)), "the split sizes must add up to the size (PyTorch's rule)")
        )
    if entry.starts is not None:
        rules.append((lt(resolve(entry.starts, sizes), n), "the split has no such piece at this size"))
    return rules


def _resize(entry: Resize, n: sympy.Expr, sizes: Mapping[str, sympy.Expr]) -> tuple[sympy.Expr, Rules]:
    if entry.size is not None:
        size = resolve(entry.size, sizes)
        if entry.mode == "area":  # adaptive average pooling to nothing gives an empty tensor
            return size, [(ge(size, 0), "the requested output size must not be negative")]
        return size, [(ge(size, 1), "the requested output size must be positive")]
    scale = entry.scale if entry.scale is not None else Fraction(1)
    size = floor_div(n * scale.numerator, scale.denominator)
    if entry.mode == "area":  # adaptive average pooling returns an empty output where the size is 0
        return size, []
    return size, [(ge(size, 1), "the output size floor(i * scale) must be positive")]


def positions(
    op: str, entry: Any, q: int, before: Sequence[int], out: int, sizes: Mapping[str, int]
) -> list[tuple[int, int]]:
    """The (input index, position) pairs that output position q reads on this axis, at concrete node sizes
    `sizes` (a padded position outside the input counts, as a convolution's padding does)."""
    n = before[0]
    if op == "pad" and isinstance(entry, Pad):
        return [(0, _padded_source(entry.mode, q - value(entry.begin, sizes), n))]
    if op == "slice" and isinstance(entry, Slice):
        start = 0 if entry.start is None else value(entry.start, sizes)
        first = max(start + n, 0) if start < 0 else min(start, n)
        return [(0, first + q * entry.step)]
    if op == "resize" and isinstance(entry, Resize):
        return [(0, p) for p in _sources(entry, q, n, out)]
    if op == "roll" and isinstance(entry, Roll):
        return [(0, (q - entry.shift) % n)] if n else []
    if op == "flip" and isinstance(entry, Flip):
        return [(0, n - 1 - q if entry.reverse else q)]
    if op == "mix" and isinstance(entry, Mix):
        if entry.reads:
            return [(k, p) for k, w in enumerate(entry.reads) for p in _window_of(q, w, before[k])]
        return [(0, p) for p in range(n)] if entry.every else [(0, q)]
    if op == "windowattention" and isinstance(entry, ShiftedWindows):
        return [(0, p) for p in group(entry, n, q)]
    if op == "join" and isinstance(entry, Join) and entry.along:
        for index, size in enumerate(before):
            if q < size:
                return [(index, q)]
            q -= size
        return []
    return [(index, q) for index in range(len(before))]


def _window_of(q: int, w: int, n: int) -> range:
    """The positions of the window of `w` that holds q (every position for w = 0), inside a size of n."""
    if w == 0:
        return range(n)
    return range(q // w * w, min(q // w * w + w, n))


def _padded_source(mode: str, p: int, n: int) -> int:
    """The input position a padded position p reads: itself for constant padding (a padding position, as a
    convolution's padding counts), mirrored for reflect, the nearest end for replicate, wrapped for circular."""
    if mode == "reflect" and not 0 <= p < n:
        return -p if p < 0 else 2 * (n - 1) - p
    if mode == "replicate":
        return min(max(p, 0), n - 1)
    if mode == "circular":
        return p % n
    return p


def _sources(entry: Resize, q: int, n: int, out: int) -> range:
    """PyTorch's source positions of output q (upsample kernels: nearest, and the two or four neighbours of
    the linear and cubic modes); the ratio is n/out for a size, 1/scale for a scale (not recomputed)."""
    ratio = Fraction(n, out) if entry.scale is None else 1 / entry.scale
    if entry.mode in ("area", "total"):
        # adaptive average pooling to the output size: [floor(q*n/out), ceil((q+1)*n/out))
        return range(q * n // out, -(-(q + 1) * n // out))
    if ratio == 1 or (entry.align_corners and n == out):
        # the same size: every mode copies (a linear or cubic source is then exactly an input position, and the
        # other taps weigh exactly 0)
        return range(q, q + 1)
    if entry.mode == "nearest":
        return range(min(math.floor(q * ratio), n - 1), min(math.floor(q * ratio), n - 1) + 1)
    if entry.mode == "nearest-exact":
        nearest = min(math.floor((q + Fraction(1, 2)) * ratio), n - 1)
        return range(nearest, nearest + 1)
    source: Fraction
    if entry.align_corners:
        source = Fraction(q * (n - 1), out - 1) if out > 1 else Fraction(0)
    else:
        source = max((q + Fraction(1, 2)) * ratio - Fraction(1, 2), Fraction(0))
    lo = math.floor(source)
    if entry.mode != "bicubic" and not entry.align_corners and (q + Fraction(1, 2)) * ratio <= Fraction(1, 2):
        # PyTorch clamps a negative source to 0: the next input's weight is then exactly 0 (elsewhere the
        # source is computed in floating point, and both taps are kept)
        return range(0, 1)
    reach = (1, 2) if entry.mode == "bicubic" else (0, 1)
    return range(max(lo - reach[0], 0), min(lo + reach[1], n - 1) + 1)


def value(expr: sympy.Expr, sizes: Mapping[str, int]) -> int:
    """A formula's value at concrete node sizes."""
    return int(evaluate(resolve(expr, {name: sympy.Integer(v) for name, v in sizes.items()}), {}))


__all__ = [
    "Flip",
    "Join",
    "Mix",
    "Pad",
    "Resize",
    "Roll",
    "Slice",
    "Windows",
    "decided",
    "positions",
    "ref",
    "resolve",
    "size_and_rules",
]
