"""Receptive fields from window maps, through every node kind.

Each node's output position q reads, through its window map, positions of the node before; composing the maps
from the network's input gives, for every output position, the interval of input positions it depends on.
The field is that interval *with* padding (Araujo et al.'s convention: a tap in the padding still counts, so
output 0 of conv(k=3, p=1) has a field from -1 to 1), computed on integers at one input size, exactly, for any
map: pixel shuffles that move positions into channels, adaptive pooling whose windows differ in size,
transposed convolutions whose outputs read a varying number of inputs. Reported per node: the widest field
(size), the stride or jump (input positions per output step: the product over the path of each layer's
stride divided by its input spacing, a transposed layer's 1/s, and i/o for a resampling layer such as adaptive
pooling, upsampling or a pixel shuffle; where the fields are uniform it is exactly the distance between
neighbouring outputs' fields), the first position of output 0's field (-padding) and its centre, and whether
every output has the same field (uniform).

>>> from symconv.nets.network import chain
>>> f = receptive_fields(chain("pixelunshuffle(r=2) > conv(k=3, p=1)"))["n2"]
>>> f.r, f.stride, f.padding
(Fraction(6, 1), Fraction(2, 1), Fraction(2, 1))
>>> g = receptive_fields(chain("conv(k=3) > adaptivepool(size=4)"), 64)["n2"]
>>> g.r, g.uniform
(Fraction(18, 1), False)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ..core.arith import evaluate
from ..core.errors import ShapeError, SpecError, SymconvError, analysing
from ..core.layers import AdaptivePool, Layer, PixelShuffle, Pool, Resize
from ..core.windowmap import GridMap, IntervalMap, centre_crop_offset, grid_cell, window_map
from . import shapeops
from .validset import ValidSet

if TYPE_CHECKING:
    # Types only: a network's receptive_fields() calls this module, which reads any graph of nodes.
    from .network import Network, Node

# Fields are summarised over the first outputs of each node (all of them when there are fewer): enough to
# see every residue of a periodic map, while a long axis costs no more than this.
SPAN = 256
# Without a size, fields are computed at the first valid input size from here.
GENERIC_SIZE = 256
Interval = tuple[int, int] | None


@dataclass(frozen=True, kw_only=True)
class Field:
    """Receptive field of a node in input coordinates: size r (the widest), effective stride S (the jump:
    input positions per output step, the product of the layers' strides over their spacings, i/o through a
    resampling layer), effective padding P (output 0's field starts at -P);
    `uniform` when every output's field has the same size and spacing, `aligned` when every merge on the
    way joins fields that line up. Output y is centred at -P + y*S + (r - 1)/2 when uniform."""

    r: Fraction
    stride: Fraction
    padding: Fraction
    aligned: bool = True
    uniform: bool = True
    end: Fraction | None = None  # last position of output 0's field

    def centre(self, y: int) -> Fraction:
        return -self.padding + y * self.stride + (self.r - 1) / 2

    @property
    def centre_of_first(self) -> Fraction:
        """The centre of output 0's own field (where the fields are not uniform, output 0's may be narrower
        than the widest, r)."""
        return self.centre(0) if self.end is None else (self.end - self.padding) / 2

    def lines_up_with(self, other: Field) -> bool:
        """Whether two fields joined by a merge line up: the same stride, and output 0's fields centred alike."""
        return self.stride == other.stride and self.centre_of_first == other.centre_of_first

    def describe(self) -> dict[str, Any]:
        def number(x: Fraction) -> int | str:
            return int(x) if x.denominator == 1 else str(x)

        centre = self.centre_of_first
        return {
            "size": number(self.r),
            "stride": number(self.stride),
            "padding": number(self.padding),
            "start": number(-self.padding),
            "centre_of_unit_0": number(centre),
            "uniform": self.uniform,
            "aligned": self.aligned,
        }


def _generic_size(net: Network, dim: str) -> int:
    """The first input size from GENERIC_SIZE on (or below it) at which the network is defined: read from the
    valid set (a U-Net of depth 32 has none below 2**32), or, where that cannot be derived, searched."""
    try:
        found = _first_member(net.valid_inputs()[dim], GENERIC_SIZE)
    except (SymconvError, KeyError):
        found = None
    if found is not None:
        try:
            net.check({d: found for d in net.symbolic} | {dim: found})
            return found
        except SymconvError:
            pass
    for n in (*range(GENERIC_SIZE, GENERIC_SIZE + 4096), *range(GENERIC_SIZE - 1, 0, -1)):
        try:
            net.check({d: n for d in net.symbolic} | {dim: n})
        except SymconvError:
            continue
        return int(n)
    raise SpecError("receptive fields need an input size at which the network is defined; none found")


def _first_member(valid: ValidSet, least: int) -> int | None:
    """The least member of `valid` from `least` on, else its largest member below `least` (None: empty)."""
    above = [b for b in valid.below if b >= least]
    start = max(least, valid.start)
    above += [start + (r - start) % valid.period for r in valid.residues]
    if above:
        return min(above)
    return max(valid.below, default=None)


@dataclass(frozen=True)
class _Taps:
    """A grid map's numbers at one input size: windows `stride` cells apart, `k` taps `d` apart, over an
    input whose units are `spacing` cells apart, the first `before` cells in (resolved once per node, as the
    same map is read at thousands of positions)."""

    k: int
    stride: int
    d: int
    spacing: int
    before: int


def _resolved(mapping: GridMap | IntervalMap, i: int) -> _Taps | IntervalMap:
    """The map at input size i: a grid map's numbers evaluated (an interval map is evaluated per position)."""
    if isinstance(mapping, IntervalMap):
        return mapping
    env = {"i": i}
    k, stride, d, spacing, before = (
        int(evaluate(v, env)) for v in (mapping.k, mapping.stride, mapping.d, mapping.spacing, mapping.before)
    )
    return _Taps(k=k, stride=stride, d=d, spacing=spacing, before=before)


def _extended(mapping: _Taps | IntervalMap, i: int, q: int, every: bool = False) -> list[int]:
    """The positions output q reads with padding included (defined for any integer q, also past the output's
    ends, where a later layer reads padding); for a transposed layer, the stretched units its taps land on.
    An interval is given by its ends, or, with `every`, by all its positions."""
    if isinstance(mapping, IntervalMap):
        low, high = mapping.bounds(i, q)
        return list(range(low, high + 1)) if every else [low, high]
    k, stride, d, spacing, before = mapping.k, mapping.stride, mapping.d, mapping.spacing, mapping.before
    if spacing == 1 and not every:
        # The ends suffice (the positions grow with t): a kernel of a million taps costs two.
        return [grid_cell(q, t, stride, d) - before for t in (0, k - 1)]
    out = []
    for t in range(k):
        offset = q * stride + t * d - before
        if offset % spacing == 0:
            out.append(offset // spacing)
    return out


def _stacks(net: Network) -> dict[str, tuple[int, ...]]:
    """Each node's pixel-unshuffle factors still held in its channels, innermost last.

    A pixel unshuffle by r moves r neighbouring positions into channels (channel c*r + m holds position
    r*q + m, per axis); a pixel shuffle by the same r takes them back out. Layers that act on each channel
    alone (pooling, adaptive pooling, upsampling, crops, identities, and merges of nodes holding the same
    factors) keep the factors; a layer that mixes channels (a convolution, flatten, linear, attention, a
    channels-last Linear or LayerNorm) makes every channel of a position depend on the same inputs, and the
    factors are gone (as after a shuffle by another r).
    """
    stacks: dict[str, tuple[int, ...]] = {}
    for node in net.nodes:
        parents = [stacks[name] for name in node.inputs]
        if node.op == "input":
            stacks[node.name] = ()
        elif node.op == "layer" and node.layer is not None:
            made, parent = node.layer, parents[0]
            if isinstance(made, PixelShuffle):
                if made.down:
                    stacks[node.name] = (*parent, int(evaluate(made.r, {})))
                else:
                    stacks[node.name] = parent[:-1] if _undoes(made, parent) else ()
            else:
                stacks[node.name] = parent if _per_channel(made) else ()
        elif node.op in ("windowattention", "mix"):
            # linear maps over the channels (attention's query, key, value and projection; a channels-last
            # Linear or LayerNorm) mix every channel
            stacks[node.name] = ()
        elif node.op in ("crop", "identity", "add", "cat", *shapeops.OPS):
            stacks[node.name] = parents[0] if all(p == parents[0] for p in parents) else ()
        else:
            stacks[node.name] = ()
    return stacks


def _undoes(made: PixelShuffle, held: tuple[int, ...]) -> bool:
    """Whether a pixel shuffle takes back out the positions the last unshuffle put into the channels (the
    same r). A shuffle by another r mixes the phases: its fields are taken over every phase (a superset)."""
    return not made.down and bool(held) and held[-1] == int(evaluate(made.r, {}))


def _per_channel(made: Layer) -> bool:
    """Whether the layer computes each channel from the same channel alone (pooling and resampling)."""
    return isinstance(made, Pool | AdaptivePool | Resize)


def _factor(stack: tuple[int, ...]) -> int:
    return math.prod(stack)


def _gapless(net: Network, stacks: Mapping[str, tuple[int, ...]]) -> dict[str, bool]:
    """Nodes whose every position has a field, growing with the position: the input, and what sliding
    windows, resampling, merges and crops make of gapless nodes. A transposed convolution's outputs may read
    no input unit (between its taps), and a node holding unshuffled positions in its channels is read per
    channel, so their fields and everything after them are read position by position."""
    gapless: dict[str, bool] = {}
    for node in net.nodes:
        parents = all(gapless[name] for name in node.inputs) and not stacks[node.name]
        if node.op == "layer" and node.layer is not None:
            mapping = window_map(node.layer)
            parents = parents and not (isinstance(mapping, GridMap) and mapping.spacing != 1)
        if node.op in ("join", "roll", "flip") or any(
            getattr(e, "mode", "constant") not in ("constant", "nearest") and node.op == "pad"
            for _, e in node.axes
        ):
            # Positions restart at each joined input, a reflected or wrapped pad and a flip read backwards, and a
            # roll wraps around: the fields do not grow with the position.
            parents = False
        gapless[node.name] = parents
    return gapless


def _sizes(net: Network, dim: str, n: int) -> dict[str, int]:
    """Every node's size along `dim` at input size n on that axis (the others need no size)."""
    try:
        net.check_axis(dim, n)
        return {name: int(evaluate(expr, {dim: n})) for name, expr in net.sizes(dim).items()}
    except (ShapeError, ZeroDivisionError) as error:
        raise SpecError(
            f"receptive fields at {dim}={n}: the network is not defined there ({error})"
        ) from None


def _reads(
    net: Network,
    dim: str,
    sizes: Mapping[str, int],
    gapless: Mapping[str, bool],
    stacks: Mapping[str, tuple[int, ...]],
) -> dict[str, Any]:
    """For each node, a function q -> [(parent, positions)]: the parent positions its output q reads.

    Positions count channel phases too: a node holding factors F (see _stacks) has position q*F + c for its
    position q and phase c < F, so an unshuffle, and a shuffle that takes back the last factor, read the same
    position of their parent; a per-channel layer reads its window at the same phase; a layer that mixes
    channels reads every phase of the positions in its window."""
    reads: dict[str, Any] = {}
    for node in net.nodes:
        factor = _factor(stacks[node.name])
        sources = {p: _factor(stacks[p]) for p in node.inputs}
        if node.op == "input":
            reads[node.name] = lambda q: []
            continue
        parent = node.inputs[0]
        if node.op == "layer" and node.layer is not None:
            made, every = node.layer, not gapless[parent]
            mapping = _resolved(window_map(made), sizes[parent])
            if isinstance(made, PixelShuffle) and (made.down or _undoes(made, stacks[parent])):
                # Positions move between the axis and the channels: the same position with its phase.
                window = lambda q, p=parent: [(p, [q])]  # noqa: E731
            elif _per_channel(made):
                window = _phased(parent, factor, mapping, sizes[parent], every)
            else:
                # Mixing channels (or a shuffle by another r than the last unshuffle's): every phase.
                window = _mixing(parent, sources[parent], mapping, sizes[parent], every)
            reads[node.name] = window
        elif node.op in shapeops.OPS:
            reads[node.name] = _shape_reads(node, dim, sizes, factor, sources)
        elif node.op == "linear":
            # A fully connected layer over a flattened map: every feature reads every position (and channel).
            every_position = [
                x for position in range(sizes[parent]) for x in _every_phase(position, sources[parent])
            ]
            reads[node.name] = lambda q, p=parent, e=every_position: [(p, e)]
        elif node.op == "crop":
            # A centre crop (torchvision's, and U-Net's): output q is input q + (in - out) // 2.
            offset = centre_crop_offset(sizes[parent], sizes[node.name])
            reads[node.name] = lambda q, p=parent, f=factor, o=offset: [(p, [q + o * f])]
        else:
            # Merges, identities and flatten read the same position of each input (every phase of it
            # when the node mixes them); an input of size 1 that an addition broadcasts is read at its one
            # position.
            spread = {p: sizes[p] == 1 and sizes[node.name] > 1 for p in node.inputs}
            reads[node.name] = lambda q, spread=spread, f=factor, sources=sources: [
                (p, _phases(0 if one else q // f, q % f, f, sources[p])) for p, one in spread.items()
            ]
    return reads


def _shape_reads(
    node: Node, dim: str, sizes: Mapping[str, int], factor: int, sources: Mapping[str, int]
) -> Any:
    """A shape operation's reads (see shapeops.positions), each position with its channel phases."""
    entry = dict(node.axes)[dim]
    before = [sizes[name] for name in node.inputs]
    out = sizes[node.name]

    def read(q: int) -> list[tuple[str, list[int]]]:
        found = shapeops.positions(node.op, entry, q // factor, before, out, sizes)
        return [
            (node.inputs[index], _phases(p, q % factor, factor, sources[node.inputs[index]]))
            for index, p in found
        ]

    return read


def _phases(position: int, phase: int, factor: int, parent: int) -> list[int]:
    """The parent positions (with phases) that position `position`, phase `phase`, of a node holding
    `factor` reads at the same position: that phase when the factors agree, every phase when they do not."""
    if factor == parent:
        return [position * parent + phase]
    return list(_every_phase(position, parent))


def _every_phase(position: int, factor: int) -> range:
    """The positions (with phases) of every channel phase of one position of a node holding `factor`."""
    return range(position * factor, (position + 1) * factor)


def _phased(parent: str, factor: int, mapping: _Taps | IntervalMap, i: int, every: bool) -> Any:
    """A per-channel layer over a parent holding `factor` phases: its window, at the same phase."""
    if factor == 1:
        return lambda q: [(parent, _extended(mapping, i, q, every))]
    return lambda q: [(parent, [p * factor + q % factor for p in _extended(mapping, i, q // factor, True)])]


def _mixing(parent: str, factor: int, mapping: _Taps | IntervalMap, i: int, every: bool) -> Any:
    """A layer that mixes channels over a parent holding `factor` phases: every phase of its window."""
    if factor == 1:
        return lambda q: [(parent, _extended(mapping, i, q, every))]
    return lambda q: [(parent, [c for p in _extended(mapping, i, q, True) for c in _every_phase(p, factor)])]


# A field read through an anchor: position q's field runs from the anchor's field at a*q + b to the anchor's field
# at a*q + c, for every integer q. The anchor is the input (whose field at p is p itself) or a gapless node whose
# own fields are walked position by position.
Anchored = tuple[str, int, int, int]


def _anchored(
    net: Network,
    sizes: Mapping[str, int],
    stacks: Mapping[str, tuple[int, ...]],
    gapless: Mapping[str, bool],
) -> dict[str, Anchored]:
    """The nodes whose fields are an anchor's fields at affine positions, with (anchor, a, b, c).

    The input is its own anchor (1, 0, 0). From anchored nodes holding no channel phases: a sliding window on
    an unstretched grid (output q reads q*s - before to q*s + (k - 1)*d - before, so the positions compose
    with integers: a chain of a thousand layers is one affine map), a centre crop (a shift), identities and
    merges whose inputs share the anchor and the step. A gapless node's fields grow with the position (see
    _gapless), so through it the first position's first field and the last position's last bound a window.
    Any other gapless node (resampling, shape operations, broadcasts, merges of different anchors) anchors
    what follows it; the rest (transposed layers and what they feed, phases) are walked position by position.
    """
    found: dict[str, Anchored] = {}
    for node in net.nodes:
        parents = [found[p] for p in node.inputs if p in found]
        composed: Anchored | None = None
        if node.op == "input":
            composed = (node.name, 1, 0, 0)
        elif stacks[node.name] or not parents or len(parents) < len(node.inputs):
            composed = None
        elif node.op == "layer" and node.layer is not None and not isinstance(node.layer, PixelShuffle):
            taps = _resolved(window_map(node.layer), sizes[node.inputs[0]])
            if isinstance(taps, _Taps) and taps.spacing == 1:
                (x, a, b, c), last = parents[0], (taps.k - 1) * taps.d
                composed = (x, a * taps.stride, b - a * taps.before, c + a * (last - taps.before))
        elif node.op == "crop":
            (x, a, b, c), shift = parents[0], centre_crop_offset(sizes[node.inputs[0]], sizes[node.name])
            composed = (x, a, b + a * shift, c + a * shift)
        elif node.op in ("identity", "add", "cat") and len({p[:2] for p in parents}) == 1:
            if not any(sizes[p] == 1 and sizes[node.name] > 1 for p in node.inputs):  # no broadcast
                x, a = parents[0][:2]
                composed = (x, a, min(p[2] for p in parents), max(p[3] for p in parents))
        if composed is None and gapless[node.name]:
            composed = (node.name, 1, 0, 0)
        if composed is not None:
            found[node.name] = composed
    return found


# A work item of _Bounds (name, q, walked): walked False reads (name, q) at its anchor's position; True walks
# name's own reads at q. The walk is needed where the anchor has no field at the composed position (a resize read
# past its end, where a later window still reads its last positions): the positions really read then decide.
_Item = tuple[str, int, bool]


class _Bounds:
    """The first (kind "lo") or last ("hi") input position of each node's field at position q, computed on
    demand without recursion (networks are thousands of nodes deep) and remembered.

    Every window map reads positions that grow with q: over a gapless node (see _gapless) the field of q
    starts where the field of the first position it reads starts and ends where the last one's ends; over
    any other node every position read is looked at (an empty field, a transposed convolution's output
    between its taps, counts for nothing). A node anchored to another (see _anchored) is read as its anchor
    at the composed position, and only anchors and unanchored nodes are remembered.
    """

    def __init__(
        self,
        net: Network,
        reads: Mapping[str, Any],
        kind: str,
        gapless: Mapping[str, bool],
        anchored: Mapping[str, Anchored],
    ) -> None:
        self.reads = reads
        self.kind = kind
        self.gapless = gapless
        self.inputs = {node.name for node in net.nodes if node.op == "input"}
        self.anchored = {name: (x, a, b if kind == "lo" else c) for name, (x, a, b, c) in anchored.items()}
        self.memo: dict[tuple[str, int], int | None] = {}
        self.walked: dict[tuple[str, int], int | None] = {}

    def _key(self, name: str, q: int) -> tuple[str, int]:
        """Where (name, q)'s bound is read: its anchor's position (the node's own, unanchored)."""
        if name in self.anchored:
            x, a, b = self.anchored[name]
            return x, a * q + b
        return name, q

    def __call__(self, name: str, q: int) -> int | None:
        top: _Item = (name, q, False)
        stack = [top]
        while stack:
            item = stack[-1]
            missing = self._pending(item)
            if missing is None:
                stack.pop()
            elif missing != item:
                stack.append(missing)
            else:
                before = self._try(*item)
                if before is not None:
                    stack.append(before)
        return self._value(top)

    def _value(self, item: _Item) -> int | None:
        """A known item's bound; for a read at the anchor that found nothing, the walked bound."""
        name, q, walked = item
        if walked:
            return self.walked[name, q]
        key = self._key(name, q)
        if key[0] in self.inputs:
            return key[1]
        value = self.memo[key]
        if value is None and key != (name, q):
            return self.walked[name, q]
        return value

    def _pending(self, item: _Item) -> _Item | None:
        """The item still to compute before item's value is known (None: it is known): the item itself, or the
        walk of a node whose anchor has no field at the composed position."""
        name, q, walked = item
        if walked:
            return None if (name, q) in self.walked else item
        key = self._key(name, q)
        if key[0] in self.inputs:
            return None
        if key not in self.memo:
            return item
        if self.memo[key] is None and key != (name, q) and (name, q) not in self.walked:
            return (name, q, True)
        return None

    def _try(self, name: str, q: int, walked: bool) -> _Item | None:
        """Compute the item if its parents' values are known; else the first item still missing."""
        if not walked:
            name, q = self._key(name, q)
        found: list[int] = []
        for parent, positions in self.reads[name](q):
            for p in sorted(positions, reverse=self.kind == "hi"):
                missing = self._pending((parent, p, False))
                if missing is not None:
                    return missing
                value = self._value((parent, p, False))
                if value is not None:
                    found.append(value)
                    if self.gapless[parent]:
                        # Fields grow with the position: the first (last) position read that has a field
                        # holds the bound (past a node's ends there may be none).
                        break
        pick = min if self.kind == "lo" else max
        (self.walked if walked else self.memo)[name, q] = pick(found) if found else None
        return None


def _spans(net: Network, dim: str, sizes: Mapping[str, int]) -> Any:
    """A function (node, positions) -> the field of each position, padding included (None: it reads nothing);
    a position's field covers all its channels (every phase, see _reads)."""
    stacks = _stacks(net)
    gapless = _gapless(net, stacks)
    reads = _reads(net, dim, sizes, gapless, stacks)
    anchored = _anchored(net, sizes, stacks, gapless)
    low, high = _Bounds(net, reads, "lo", gapless, anchored), _Bounds(net, reads, "hi", gapless, anchored)

    def spans(name: str, positions: Iterable[int]) -> list[Interval]:
        factor = _factor(stacks[name])
        out: list[Interval] = []
        for q in positions:
            phases = _every_phase(q, factor)
            los = [v for v in (low(name, c) for c in phases) if v is not None]
            his = [v for v in (high(name, c) for c in phases) if v is not None]
            out.append((min(los), max(his)) if los and his else None)
        return out

    return spans


def intervals(net: Network, size: int, node: str | None = None, dim: str | None = None) -> list[Interval]:
    """The field of every output position of `node` (default: the output) at input size `size`: the first and
    last input position it reaches, None where it reads nothing. Padding counts as Araujo et al. count it: a
    tap of any layer that falls in the padding reaches the positions that layer's input would have there, so
    the field can extend past the input, and past the positions the output really depends on; clipped to the
    input, it contains them. Channels are followed as far as pixel shuffles need: a shuffle takes back the
    positions the last unshuffle moved into channels, through layers that act per channel (pooling,
    resampling), so an unshuffle then a shuffle is the identity; a convolution mixes every channel.

    >>> from symconv.nets.network import chain
    >>> intervals(chain("conv(k=3, s=2, p=1)"), 6)
    [(-1, 1), (1, 3), (3, 5)]
    """
    dim = dim or (net.symbolic[0] if net.symbolic else net.dims[0])
    net = net.along(dim)
    sizes = _sizes(net, dim, size)
    name = node or net.output
    if name not in sizes:
        raise SpecError(f"no node named {name!r}; nodes: {', '.join(sizes)}")
    spans: list[Interval] = _spans(net, dim, sizes)(name, range(sizes[name]))
    return spans


def receptive_fields(net: Network, size: int | None = None, dim: str | None = None) -> dict[str, Field]:
    """Every node's receptive field along one axis (the first symbolic one), at input size `size` (default:
    the first valid size from 256). Uniform networks give the same field at every valid size; adaptive
    pooling and resizing to a fixed size depend on it."""
    dim = dim or (net.symbolic[0] if net.symbolic else net.dims[0])
    net = net.along(dim)
    n = size if size is not None else dict(net.fixed).get(dim) or _generic_size(net, dim)
    sizes = _sizes(net, dim, n)
    spans_of = _spans(net, dim, sizes)
    summary: dict[str, Field] = {}
    for node in net.nodes:
        with analysing(f"node {node.name} ({node.op}): its receptive field along {dim} at {dim}={n}"):
            summary[node.name] = _field(node, spans_of, sizes, summary, dim)
    return summary


def _field(
    node: Node, spans_of: Any, sizes: Mapping[str, int], summary: Mapping[str, Field], dim: str = ""
) -> Field:
    """One node's field from its inputs' (already in `summary`)."""
    spans = spans_of(node.name, range(max(1, min(sizes[node.name], SPAN))))
    if node.op == "input":
        return Field(r=Fraction(1), stride=Fraction(1), padding=Fraction(0), end=Fraction(0))
    parents = [summary[name] for name in node.inputs]
    jump = parents[0].stride
    if node.op == "layer" and node.layer is not None:
        jump *= _scale(node.layer, sizes[node.inputs[0]], sizes[node.name])
    if node.op in shapeops.OPS:
        entry = dict(node.axes).get(dim)
        if isinstance(entry, shapeops.Slice):
            jump *= entry.step
        elif isinstance(entry, shapeops.Resize) and sizes[node.name]:
            jump *= Fraction(sizes[node.inputs[0]], sizes[node.name])
    aligned = all(f.aligned for f in parents) and node.op != "join"
    if node.op in ("cat", "add"):
        aligned = aligned and all(f.lines_up_with(parents[0]) for f in parents)
    return _summary(spans, jump, aligned)


def _scale(made: Layer, i: int, o: int) -> Fraction:
    """How many input positions apart neighbouring outputs are: stride/spacing for a sliding window, i/o on
    average for a resampling layer."""
    mapping = window_map(made)
    if isinstance(mapping, IntervalMap):
        return Fraction(i, o)
    env = {"i": i}
    return Fraction(int(evaluate(mapping.stride, env)), int(evaluate(mapping.spacing, env)))


def _summary(spans: list[Interval], jump: Fraction, aligned: bool) -> Field:
    known = [s for s in spans if s is not None]
    if not known:
        return Field(r=Fraction(0), stride=jump, padding=Fraction(0), aligned=aligned, uniform=False)
    widths = {hi - lo + 1 for lo, hi in known}
    steps = {b[0] - a[0] for a, b in itertools.pairwise(known)}
    uniform = len(known) == len(spans) and len(widths) == 1 and len(steps) <= 1
    first = spans[0] if spans[0] is not None else known[0]
    return Field(
        r=Fraction(max(widths)),
        stride=jump,
        padding=Fraction(-first[0]),
        aligned=aligned,
        uniform=uniform,
        end=Fraction(first[1]),
    )
