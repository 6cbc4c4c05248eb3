"""Which axes of a tensor are which, once permute, flatten, transpose and view have moved or merged them.

A layout lists a tensor's dimensions; each dimension is a product of parts: the batch, the channels, a spatial
axis, or the two halves of a spatial axis split into windows (`outer` = size // window, `inner` = window, as
Swin's and MaxViT's window partitions split H and W). A ViT patch embedding's flatten(2).transpose(1, 2) gives
(batch, H*W, channels); a window partition view(B, H // w, w, W // w, w, C) splits H and W, which needs H % w
== 0 and W % w == 0 (the importer states those as conditions). Reshapes are matched part by part; a reshape
that does not line up with the parts is refused by the caller, never guessed.

>>> layout = standard(("H", "W"))
>>> describe(transpose(flatten(layout, 2, -1), 1, 2))
'(batch, H*W, channels)'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import sympy

from ..core.arith import eq, evaluate, ge
from ..core.errors import SpecError


@dataclass(frozen=True)
class Part:
    """batch, channels, spatial (a whole axis), outer (axis // window), inner (the window), stack (the
    `window` tensors torch.stack put side by side), group (a factor `window` of the channel count, as a
    channel shuffle's view(b, groups, c // groups, h, w) splits the channels), or extra (`window` tokens a
    concatenation added, `dim` "front" or "back": a class token; added to the dimension's size, not
    multiplied), or taps (the `window` positions of each window Tensor.unfold cut along `dim`). keys: an
    attention map's columns, the positions of a key along `dim`, whose count is the size of the node `node`
    (empty: the tensor's own node; a key from a smaller map, PVT's and SegFormer's reduced keys, names it)."""

    kind: str
    dim: str = ""
    window: int = 1
    node: str = ""

    def __str__(self) -> str:
        if self.kind in ("batch", "channels"):
            return self.kind
        if self.kind == "spatial":
            return self.dim
        if self.kind == "stack":
            return f"stack of {self.window}"
        if self.kind == "group":
            return f"channels/{self.window}"
        if self.kind == "keys":
            return f"{self.dim}'" if self.window == 1 else f"{self.window}'"
        return f"{self.dim}//{self.window}" if self.kind == "outer" else f"{self.window}"


Layout = tuple[tuple[Part, ...], ...]


def standard(dims: Sequence[str]) -> Layout:
    """(batch, channels, spatial axes...)."""
    return ((Part("batch"),), (Part("channels"),), *((Part("spatial", d),) for d in dims))


def describe(layout: Layout) -> str:
    def size(group: tuple[Part, ...]) -> str:
        extra = sum(p.window for p in group if p.kind == "extra")
        product = "*".join(str(p) for p in group if p.kind != "extra") or "1"
        return f"{product} + {extra}" if extra else product

    return "(" + ", ".join(size(group) for group in layout) + ")"


def insert(layout: Layout, dim: int, group: tuple[Part, ...]) -> Layout:
    """A new dimension at `dim` (unsqueeze: no parts, size 1; stack: the stacked tensors)."""
    at = _axis((*layout, ()), dim, "unsqueeze")
    return (*layout[:at], group, *layout[at:])


def remove(layout: Layout, dims: Sequence[int], kinds: Sequence[str]) -> Layout | None:
    """The layout without the given dimensions when each has only parts of `kinds` (or none); None otherwise."""
    axes = {_axis(layout, d, "squeeze") for d in dims}
    if any(p.kind not in kinds for a in axes for p in layout[a]):
        return None
    return tuple(group for a, group in enumerate(layout) if a not in axes)


def _axis(layout: Layout, dim: int, what: str) -> int:
    if not isinstance(dim, int) or not -len(layout) <= dim < len(layout):
        raise SpecError(f"{what}: dimension {dim!r} of a tensor with {len(layout)} dimensions")
    return dim % len(layout)


def permute(layout: Layout, order: Sequence[int]) -> Layout:
    axes = [_axis(layout, d, "permute") for d in order]
    if sorted(axes) != list(range(len(layout))):
        raise SpecError(f"permute: {list(order)} is not an order of the {len(layout)} dimensions")
    return tuple(layout[a] for a in axes)


def transpose(layout: Layout, a: int, b: int) -> Layout:
    order = list(range(len(layout)))
    i, j = _axis(layout, a, "transpose"), _axis(layout, b, "transpose")
    order[i], order[j] = order[j], order[i]
    return permute(layout, order)


def flatten(layout: Layout, start: int, end: int) -> Layout:
    i, j = _axis(layout, start, "flatten"), _axis(layout, end, "flatten")
    merged = tuple(p for group in layout[i : j + 1] for p in group)
    return (*layout[:i], merged, *layout[j + 1 :])


def reshape(
    layout: Layout,
    targets: Sequence[sympy.Expr | None],
    value: Callable[[Part], sympy.Expr],
    equal: Callable[[sympy.Expr, sympy.Expr], bool] | None = None,
    divisible: Callable[[str, int], bool] | None = None,
) -> tuple[Layout, list[tuple[str, int]]]:
    """The layout after view/reshape to `targets` (each a size formula; None for -1) and the windows it splits
    (axis, window). Targets before the -1 take parts from the front, those after it from the back, each the
    consecutive parts whose sizes multiply to it; a whole axis is split in two where a target from the front
    is axis // w (the outer half) or a target from the back is w (the inner half). The -1 takes the parts left.
    SpecError where a target does not line up with the parts. `equal` compares a product of parts with a
    target (same_size: at every input size; the caller may pass one that assumes what the network so far
    requires). A -1 beside an axis split here is read only where `divisible(axis, window)` (the axis is a
    multiple of the window wherever the network so far is defined) or the -1 is the one outer half."""
    equal = equal or same_size
    if list(targets).count(None) > 1:
        raise SpecError("view/reshape: only one dimension can be -1")
    pool = [p for group in layout for p in group]
    cut = list(targets).index(None) if None in targets else len(targets)
    splits: list[tuple[str, int]] = []
    head = [_take(pool, t, value, splits, True, equal, n) for n, t in enumerate(targets[:cut])]
    ends = range(len(targets) - 1, cut, -1)
    tail = [_take(pool, targets[n], value, splits, False, equal, n) for n in ends][::-1]
    # (asked only of a view with a -1 that splits an axis: each answer is a proof)
    undivided = (
        [(d, w) for d, w in splits if divisible is None or not divisible(d, w)] if cut < len(targets) else []
    )
    rest = [(p.kind, p.dim, p.window) for p in pool if value(p) != 1]
    if undivided and not (len(splits) == 1 and rest == [("outer", *splits[0])]):
        # PyTorch's -1 is the element count over the other dimensions, which is what the parts left make up
        # only where each axis split here is a multiple of its window: elsewhere (L = 6 viewed as (L // 5, -1))
        # PyTorch runs and the windows' conditions would refuse it. Exact where every such axis is a multiple
        # already (padded to one), or where the -1 is the one outer half (L // w exactly where PyTorch runs).
        dim, window = undivided[0]
        raise SpecError(
            f"view/reshape: a -1 beside a split of {dim} into windows of {window}: PyTorch's -1 is the element "
            "count over the other dimensions, not a window count, where the axis is no multiple of the window; "
            "not modelled (give the size instead of -1)"
        )
    if cut == len(targets):
        # Parts of size 1 at every input size (the spatial axes a mean with keepdim left) need no dimension.
        pool = [p for p in pool if value(p) != 1]
        if pool:
            raise SpecError(f"view/reshape: parts {', '.join(map(str, pool))} are left over")
        return whole_channels(tuple(head)), splits
    return whole_channels((*head, _merge(tuple(pool)), *tail)), splits


def resized(layout: Layout, axis: int, size: int | None, kind: str = "group") -> Layout:
    """The layout with dimension `axis` (pieces of the channels, or a stack) holding `size` of them instead,
    as a piece of a split or a padded dimension has it; size None removes the dimension (unbind)."""
    kept = () if size is None else ((Part(kind, window=size),),)
    return whole_channels((*layout[:axis], *kept, *layout[axis + 1 :]))


def whole_channels(layout: Layout) -> Layout:
    """A dimension that holds every piece of the channels, and nothing else, is the channels again (in
    another order after a shuffle: the count, which is all that is tracked, is the same)."""
    holding = [a for a, group in enumerate(layout) if any(p.kind == "group" for p in group)]
    if len(holding) == 1 and all(p.kind == "group" for p in layout[holding[0]]):
        return tuple((Part("channels"),) if a == holding[0] else group for a, group in enumerate(layout))
    return layout


def rearrangement(
    layout: Layout, dims: Sequence[str], channels: int
) -> tuple[bool, tuple[int, ...], int, bool] | None:
    """A layout that is (batch, channels, spatial...) again, or channels-last (batch, spatial..., channels),
    save for factors of the spatial axes moved into or out of the channels: space-to-depth (TResNet's
    view(N, C, H // b, b, W // b, b).permute(0, 3, 5, 1, 2, 4) then view(N, C * b * b, H // b, W // b); timm
    Swin's patch merging x.reshape(B, H // 2, 2, W // 2, 2, C).permute(0, 1, 3, 4, 2, 5).flatten(3), channels
    last) or depth-to-space (the reverse). Returns (down, the factor of each axis, the channel count after,
    channels last) where down is True when the windows went into the channels; None for any other layout.
    Which order the pieces take inside the channels changes no size and no field: each output position reads
    its block of b positions per axis (down), or the one position its block came from (up).

    >>> blocks = (Part("inner", "H", 2), Part("inner", "W", 2), Part("channels"))
    >>> halves = ((Part("outer", "H", 2),), (Part("outer", "W", 2),))
    >>> rearrangement(((Part("batch"),), blocks, *halves), ("H", "W"), 3)
    (True, (2, 2), 12, False)
    >>> rearrangement(((Part("batch"),), *halves, blocks), ("H", "W"), 3)
    (True, (2, 2), 12, True)
    """
    if len(layout) != 2 + len(dims) or layout[0] != (Part("batch"),):
        return None
    for last in (False, True):
        head, axes = (layout[-1], layout[1:-1]) if last else (layout[1], layout[2:])
        found = _moved(head, axes, dims, channels)
        if found is not None:
            return (*found, last)
    return None


def _moved(
    head: tuple[Part, ...], axes: Sequence[tuple[Part, ...]], dims: Sequence[str], channels: int
) -> tuple[bool, tuple[int, ...], int] | None:
    """rearrangement's reading of one placement of the channels (`head`) and the spatial dimensions (`axes`)."""
    for down in (True, False):
        factors = [_factor(group, dim, down) for group, dim in zip(axes, dims, strict=True)]
        if None in factors:
            continue
        found = tuple(f or 1 for f in factors)
        inner = sorted((p.dim, p.window) for p in head if p.kind == "inner")
        moved = sorted((d, f) for d, f in zip(dims, found, strict=True) if f > 1)
        kinds_ok = all(p.kind in ("channels", "group") or (down and p.kind == "inner") for p in head)
        if not kinds_ok or (inner != moved if down else bool(inner)) or not moved:
            continue
        count = math.prod(channels if p.kind == "channels" else p.window for p in head if p.kind != "inner")
        factor = math.prod(found)
        if count == (channels if down else channels // factor) and (down or channels % factor == 0):
            return down, found, count * (factor if down else 1)
    return None


def _factor(group: tuple[Part, ...], dim: str, down: bool) -> int | None:
    """An axis' factor in a rearranged layout: 1 for the whole axis, b for its outer half (down) or for the
    axis followed by a piece b of the channels (up: output position h * b + c); None otherwise."""
    if group == (Part("spatial", dim),):
        return 1
    if down and len(group) == 1 and group[0].kind == "outer" and group[0].dim == dim:
        return group[0].window
    if not down and len(group) == 2 and group[0] == Part("spatial", dim) and group[1].kind == "group":
        return group[1].window
    return None


# Input sizes at which two size formulas are compared before a proof is asked for (one offset per symbol).
_SAMPLES = (1, 2, 3, 5, 8, 13, 29, 64, 97, 224, 225, 1000)


def same_size(a: sympy.Expr | int, b: sympy.Expr | int) -> bool:
    """Whether two size formulas are equal at every size: any sampled size where they differ says no; Z3 proves
    them equal for every size >= 1 (a product of axes' sizes axis by axis first; a padded size's floor written
    two ways, Twins' window reverse (Hp // 7) * 7), SymPy's simplification where it does not (a solver's
    unknown is no)."""
    # a part's or a target's size may be a plain int (a channel count): made an Integer, never parsed
    a, b = (sympy.Integer(v) if isinstance(v, int) else v for v in (a, b))
    return a == b or _same_size(a, b)


@lru_cache(maxsize=8192)
def _same_size(a: sympy.Expr, b: sympy.Expr) -> bool:
    """same_size, remembered: a model read again past each branch, and a view lined up again under the
    network's conditions, ask the same comparisons again, and each proof costs tens of milliseconds."""
    samples = _samples(a, b)
    # a size where they differ says no at once (simplification is the costly step: a view's parts are
    # compared with its dimensions one by one, mostly unequal)
    if samples is not None and any(x != y for x, y in samples):
        return False
    from ..logic.prove import proved

    # equal at every sample: Z3 (tens of milliseconds) before SymPy's simplification (often a second); a
    # product of axes' sizes axis by axis first (one variable each: Twins' padded H times padded W, two ways)
    free = a.free_symbols | b.free_symbols
    if samples is not None and len(free) > 1 and same_size_given(a, b, ()):
        return True
    if samples is not None and proved(eq(a, b), [ge(s, 1) for s in free]):
        return True
    return bool(_simplified(a - b) == 0)


def _samples(*formulas: sympy.Expr) -> list[tuple[object, ...]] | None:
    """The formulas' values at each sampled size (one offset per symbol); None where they are not formulas on
    integer sizes, or one is undefined at a sample (a divisor 0): then nothing is decided by sampling."""
    free = sorted(set().union(*(f.free_symbols for f in formulas)), key=str)
    if not free or not all(s.is_integer for s in free):
        return None
    try:
        return [
            tuple(evaluate(f, {str(s): n + 3 * k for k, s in enumerate(free)}) for f in formulas)
            for n in _SAMPLES
        ]
    except (ArithmeticError, TypeError, ValueError):
        return None


def _differs(a: sympy.Expr, b: sympy.Expr) -> bool:
    """Whether two formulas differ at some sampled size (then no simplification can make them equal)."""
    samples = _samples(a, b)
    return samples is not None and any(x != y for x, y in samples)


def same_size_given(a: sympy.Expr, b: sympy.Expr, given: Sequence[sympy.Basic]) -> bool:
    """Whether two size formulas are equal wherever every condition of `given` holds (the conditions of the
    network made so far: a view runs only where they do). Each is split into its factors on one input size
    each (a view's dimension is a product of axes), and each axis' factors are proved equal under that axis'
    conditions (one variable with floor and mod: Z3 decides it); a solver's unknown is no."""
    from ..logic.prove import proved

    a, b = (sympy.Integer(v) if isinstance(v, int) else v for v in (a, b))
    ours, theirs = _per_symbol(a), _per_symbol(b)
    if ours is None or theirs is None:
        return False
    symbols = sorted((set(ours) | set(theirs)) - {None}, key=str)
    if not symbols:
        return bool(a == b)
    for s in symbols:
        assumptions = [c for c in given if c.free_symbols <= {s}] + [ge(s, 1)]
        # the numbers in front go with the first axis (2 * floor(H / 2) is H where H is even)
        front = (
            (ours.get(None, sympy.Integer(1)), theirs.get(None, sympy.Integer(1)))
            if s == symbols[0]
            else (1, 1)
        )
        claim = eq(front[0] * ours.get(s, sympy.Integer(1)), front[1] * theirs.get(s, sympy.Integer(1)))
        if not proved(claim, assumptions):
            return False
    return True


def _per_symbol(expression: sympy.Expr) -> dict[sympy.Symbol | None, sympy.Expr] | None:
    """A product split by the one symbol each factor reads (None: the numbers); None when a factor reads
    two symbols."""
    out: dict[sympy.Symbol | None, sympy.Expr] = {}
    for factor in sympy.Mul.make_args(expression):
        symbols = factor.free_symbols
        if len(symbols) > 1:
            return None
        key = next(iter(symbols)) if symbols else None
        out[key] = out.get(key, sympy.Integer(1)) * factor
    return out


@lru_cache(maxsize=4096)
def _simplified(expression: sympy.Expr) -> sympy.Expr:
    """sympy.simplify, remembered: a model read again past each branch makes the same views again, and
    simplification is the costly step of lining them up."""
    return sympy.simplify(expression)


def _take(
    pool: list[Part],
    target: sympy.Expr | None,
    value: Callable[[Part], sympy.Expr],
    splits: list[tuple[str, int]],
    front: bool,
    equal: Callable[[sympy.Expr, sympy.Expr], bool],
    index: int = 0,
) -> tuple[Part, ...]:
    """The parts at the front (or back) of `pool` whose sizes multiply to `target`, removed from it; SpecError
    naming the part it cannot line up with (dimension `index` of the view)."""
    # A number where the (symbolic) batch stands: it cannot be the batch, and no part before it is left.
    batch = pool[0] if front and pool and pool[0].kind == "batch" else None
    if batch is not None and target is not None and not value(batch).free_symbols <= target.free_symbols:
        raise _mismatch(index, target, batch, value)
    taken: list[Part] = []
    product: sympy.Expr = sympy.Integer(1)
    products: list[tuple[Part, sympy.Expr]] = []  # each part taken and the product with it, to blame one
    edge = pool[0 if front else -1] if pool else None
    if target == 1 and edge is not None and edge.kind == "spatial" and value(edge) == 1:
        # an axis of size 1 (after a global pool) kept as a dimension of size 1: selective kernel's
        # view(B, paths, C // paths, H, W) of its attention
        return (pool.pop(0 if front else -1),)
    while not equal(product, target):
        if not pool:
            raise _mismatch(index, target, _blame(target, products), value, pool)
        part = pool.pop(0 if front else -1)
        # what the target still needs: read only where the part may be split (channels by a number, a whole
        # spatial axis by a window); simplifying it is the costly step of lining a view up
        wanted = (
            _simplified(target / product)
            if part.kind in ("channels", "group")
            or (part.kind == "spatial" and _may_split(target / product, value(part)))
            else None
        )
        pieces = None if wanted is None else _channel_pieces(part, wanted, value)
        if pieces is not None:
            part, rest = pieces
            pool.insert(0 if front else len(pool), rest)
            taken.append(part)
            product = sympy.Mul(*(value(p) for p in taken))
            continue
        window = None if wanted is None else _window(part, wanted, value, front)
        if window is not None:
            outer, inner = Part("outer", part.dim, window), Part("inner", part.dim, window)
            splits.append((part.dim, window))
            part, rest = (outer, inner) if front else (inner, outer)
            pool.insert(0 if front else len(pool), rest)
        taken.append(part)
        # outer and inner halves of one axis are the whole axis (its size, not floor(size / w) * w)
        product = sympy.Mul(*(value(p) for p in _merge(tuple(taken if front else taken[::-1]))))
        products.append((part, product))
        if len(taken) > len(pool) + 64:
            break
    return _merge(tuple(taken if front else taken[::-1]))


def _may_split(wanted: sympy.Expr, size: sympy.Expr) -> bool:
    """Whether a whole spatial axis of `size` may be split for a target that still needs `wanted` (a number, the
    inner window; or size // w, the outer half): false only where the sampled sizes rule both out (simplifying
    keeps every value), so that the costly simplification is skipped for the parts a view plainly takes whole."""
    samples = _samples(wanted, size)
    if samples is None:
        return True
    found = [tuple(_integral(x) for x in pair) for pair in samples]
    if any(isinstance(r, Fraction) for r, _ in found):
        return False  # not integer-valued: neither a number of positions nor size // w
    pairs = [(r, v) for r, v in found if isinstance(r, int) and isinstance(v, int)]
    if len(pairs) < len(found):
        return True
    values = [r for r, _ in pairs]
    if all(r == values[0] for r in values):
        return True  # a number
    r, v = pairs[-1]
    if r <= 0 or v <= 0:
        return True
    # every w with v // w == r at the largest sample, tried at every sample
    return any(all(x == y // w for x, y in pairs) for w in range(max(2, v // (r + 1) + 1), v // r + 1))


def _integral(value: object) -> object:
    """A Fraction that is a whole number as an int."""
    return int(value) if isinstance(value, Fraction) and value.denominator == 1 else value


def _blame(target: sympy.Expr, products: Sequence[tuple[Part, sympy.Expr]]) -> Part | None:
    """The first part taken after which the target is no multiple of the product (the part a view cuts)."""
    for part, product in products:
        if sympy.fraction(sympy.together(_simplified(target / product)))[1] != 1:
            return part
    return None


def _mismatch(
    index: int,
    target: sympy.Expr,
    part: Part | None,
    value: Callable[[Part], sympy.Expr],
    rest: Sequence[Part] = (),
) -> SpecError:
    """Why dimension `index` of a view (size `target`) does not line up: the part it would cut."""
    head = f"view/reshape: dimension {index} (size {target}) does not line up with the tensor's"
    if part is None:
        return SpecError(f"{head} axes: the parts left make up less than it")
    if part.kind == "batch":
        return SpecError(
            f"{head} batch: a view keeps the batch, whose size is symbolic, as a dimension of its own (write "
            "x.size(0) or x.shape[0] there, or -1)"
        )
    if part.kind in ("spatial", "outer", "inner"):
        return SpecError(
            f"{head} spatial axis {part.dim}: it would split {part.dim} otherwise than a window partition, "
            f"which a view writes as {part.dim} // w then w"
        )
    if part.kind in ("channels", "group"):
        return SpecError(f"{head} channels: {value(part)} channels do not split into {target}")
    return SpecError(f"{head} {part}: it would cut it")


def _merge(parts: tuple[Part, ...]) -> tuple[Part, ...]:
    """outer(d, w) next to inner(d, w) is the whole axis d again (the split needed d divisible by w)."""
    out: list[Part] = []
    for p in parts:
        if out and p.kind == "inner" and out[-1] == Part("outer", p.dim, p.window):
            out[-1] = Part("spatial", p.dim)
        else:
            out.append(p)
    return tuple(out)


def _channel_pieces(
    part: Part, wanted: sympy.Expr, value: Callable[[Part], sympy.Expr]
) -> tuple[Part, Part] | None:
    """The channels (or a piece of them) split in two where only a factor `wanted` of them is taken: the
    piece taken and the piece left, each a `group` part of its channel count. Any integer factor of the
    count can be split off; the spatial axes are never split this way."""
    if part.kind not in ("channels", "group") or not isinstance(wanted, sympy.Integer):
        return None
    count = value(part)
    if not isinstance(count, sympy.Integer) or wanted <= 1 or wanted >= count or count % wanted:
        return None
    return Part("group", window=int(wanted)), Part("group", window=int(count // wanted))


def _window(part: Part, wanted: sympy.Expr, value: Callable[[Part], sympy.Expr], front: bool) -> int | None:
    """The window w when a whole spatial axis must be split: from the front `wanted` is axis // w (a number
    dividing the axis' size when that is a number), from the back it is the integer w."""
    if part.kind != "spatial" or (
        not _differs(value(part), wanted) and _simplified(value(part) - wanted) == 0
    ):
        return None
    size = value(part)
    if not front:
        if not isinstance(wanted, sympy.Integer) or wanted <= 1:
            return None
        # an axis of fixed size holds windows of `wanted` only where they divide it (LeNet's view(-1, 400) of
        # 16 x 5 x 5 takes the 5 whole, then the rest of the 400 from H and the channels)
        return (
            int(wanted)
            if not isinstance(size, sympy.Integer) or (wanted < size and size % wanted == 0)
            else None
        )
    if isinstance(wanted, sympy.Integer) and isinstance(size, sympy.Integer):
        # an axis of fixed size: the outer half of `wanted` windows of size // wanted
        return int(size // wanted) if 1 < wanted < size and size % wanted == 0 else None
    # floor(X) + c is floor(X + c) (SymPy moves an integer out: a size padded where odd, halved, reads
    # floor(H/2 + Mod(H, 2)/2) - 1)
    shift, rest = wanted.as_coeff_Add()
    if isinstance(shift, sympy.Integer) and isinstance(rest, sympy.floor):
        num, den = sympy.fraction(sympy.together(rest.args[0] + shift))
        if (
            isinstance(den, sympy.Integer)
            and den > 1
            and not _differs(num, value(part))
            and _simplified(num - value(part)) == 0
        ):
            return int(den)
    return None


__all__ = [
    "Layout",
    "Part",
    "describe",
    "flatten",
    "insert",
    "permute",
    "rearrangement",
    "remove",
    "reshape",
    "resized",
    "standard",
    "transpose",
    "whole_channels",
]
