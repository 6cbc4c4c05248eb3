"""Receptive fields from window maps, through every node kind.

Each node's output position q reads, through its window map, positions of the node before; composing the maps
from the network's input gives, for every output position, the interval of input positions it depends on.
The field is that interval *with* padding (Araujo et al.'s convention: a tap in the padding still counts, so
output 0 of conv(k=3, p=1) has a field from -1 to 1), computed on integers at one input size, exactly, for any
map: pixel shuffles that move positions into channels, adaptive pooling whose windows differ in size,
transposed convolutions whose outputs read a varying number of inputs. Reported per node: the widest field
(size), the average distance between neighbouring outputs' fields (stride, or jump), the first position of
output 0's field (-padding) and its centre, and whether every output has the same field (uniform).

>>> from symconv.network import chain
>>> f = receptive_fields(chain("pixelunshuffle(r=2) > conv(k=3, p=1)"))["n2"]
>>> f.r, f.stride, f.padding
(Fraction(6, 1), Fraction(2, 1), Fraction(2, 1))
>>> g = receptive_fields(chain("conv(k=3) > adaptivepool(size=4)"), 64)["n2"]
>>> g.r, g.uniform
(Fraction(18, 1), False)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .arith import evaluate
from .errors import ShapeError, SpecError, SymconvError
from .layers import Layer
from .windowmap import GridMap, IntervalMap, centre_crop_offset, window_map

if TYPE_CHECKING:
    from .network import Network

# Fields are summarised over the first outputs of each node (all of them when there are fewer): enough to
# see every residue of a periodic map, while a long axis costs no more than this.
SPAN = 256
# Without a size, fields are computed at the first valid input size from here.
GENERIC_SIZE = 256
Interval = tuple[int, int] | None


@dataclass(frozen=True)
class Field:
    """Receptive field of a node in input coordinates: size r (the widest), effective stride S (the average
    distance between neighbouring outputs' fields), effective padding P (output 0's field starts at -P);
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

    def describe(self) -> dict[str, Any]:
        def number(x: Fraction) -> int | str:
            return int(x) if x.denominator == 1 else str(x)

        centre = self.centre(0) if self.end is None else (self.end - self.padding) / 2
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
    """The first input size from GENERIC_SIZE on (or below it) at which the network is defined."""
    for n in (*range(GENERIC_SIZE, GENERIC_SIZE + 4096), *range(GENERIC_SIZE - 1, 0, -1)):
        try:
            net.check({d: n for d in net.symbolic} | {dim: n})
        except SymconvError:
            continue
        return n
    raise SpecError("receptive fields need an input size at which the network is defined; none found")


def _extended(mapping: GridMap | IntervalMap, i: int, q: int, every: bool = False) -> list[int]:
    """The positions output q reads with padding included (defined for any integer q, also past the output's
    ends, where a later layer reads padding); for a transposed layer, the stretched units its taps land on.
    An interval is given by its ends, or, with `every`, by all its positions."""
    if isinstance(mapping, IntervalMap):
        env = {"i": i, "j": q}
        low, high = int(evaluate(mapping.low, env)), int(evaluate(mapping.high, env))
        return list(range(low, high + 1)) if every else [low, high]
    env = {"i": i}
    k, stride, d, spacing, before = (
        int(evaluate(v, env)) for v in (mapping.k, mapping.stride, mapping.d, mapping.spacing, mapping.before)
    )
    out = []
    for t in range(k):
        offset = q * stride + t * d - before
        if offset % spacing == 0:
            out.append(offset // spacing)
    return out


def _gapless(net: Network) -> dict[str, bool]:
    """Nodes whose every position has a field, growing with the position: the input, and what sliding
    windows, resampling, merges and crops make of gapless nodes. A transposed convolution's outputs may read
    no input unit (between its taps), so its fields and everything after it are read position by position."""
    gapless: dict[str, bool] = {}
    for node in net.nodes:
        parents = all(gapless[name] for name in node.inputs)
        if node.op == "layer" and node.layer is not None:
            mapping = window_map(node.layer)
            parents = parents and not (isinstance(mapping, GridMap) and mapping.spacing != 1)
        gapless[node.name] = parents
    return gapless


def _sizes(net: Network, dim: str, n: int) -> dict[str, int]:
    """Every node's size along `dim` at input size n (every symbolic axis at n)."""
    try:
        net.check({d: n for d in net.symbolic})
        return {name: int(evaluate(expr, {dim: n})) for name, expr in net.sizes(dim).items()}
    except (ShapeError, ZeroDivisionError) as error:
        raise SpecError(
            f"receptive fields at {dim}={n}: the network is not defined there ({error})"
        ) from None


def _reads(net: Network, sizes: Mapping[str, int], gapless: Mapping[str, bool]) -> dict[str, Any]:
    """For each node, a function q -> [(parent, positions)]: the parent positions its output q reads."""
    reads: dict[str, Any] = {}
    for node in net.nodes:
        if node.op == "input":
            reads[node.name] = lambda q: []
        elif node.op == "layer" and node.layer is not None:
            parent = node.inputs[0]
            mapping, i, every = window_map(node.layer), sizes[parent], not gapless[parent]
            reads[node.name] = lambda q, p=parent, m=mapping, i=i, e=every: [(p, _extended(m, i, q, e))]
        elif node.op == "crop":
            # A centre crop (torchvision's, and U-Net's): output q is input q + (in - out) // 2.
            parent = node.inputs[0]
            offset = centre_crop_offset(sizes[parent], sizes[node.name])
            reads[node.name] = lambda q, p=parent, offset=offset: [(p, [q + offset])]
        else:
            # Merges, identities, flatten and linear read the same position of each input; an input of size 1
            # that an addition broadcasts is read at its one position.
            spread = {p: sizes[p] == 1 and sizes[node.name] > 1 for p in node.inputs}
            reads[node.name] = lambda q, spread=spread: [(p, [0 if one else q]) for p, one in spread.items()]
    return reads


class _Bounds:
    """The first (kind "lo") or last ("hi") input position of each node's field at position q, computed on
    demand without recursion (networks are thousands of nodes deep) and remembered.

    Every window map reads positions that grow with q: over a gapless node (see _gapless) the field of q
    starts where the field of the first position it reads starts and ends where the last one's ends; over
    any other node every position read is looked at (an empty field, a transposed convolution's output
    between its taps, counts for nothing).
    """

    def __init__(
        self, net: Network, reads: Mapping[str, Any], kind: str, gapless: Mapping[str, bool]
    ) -> None:
        self.nodes = {node.name: node for node in net.nodes}
        self.reads = reads
        self.kind = kind
        self.gapless = gapless
        self.memo: dict[tuple[str, int], int | None] = {}

    def __call__(self, name: str, q: int) -> int | None:
        stack = [(name, q)]
        while stack:
            key = stack[-1]
            if key in self.memo:
                stack.pop()
                continue
            missing = self._try(*key)
            if missing is None:
                stack.pop()
            else:
                stack.append(missing)
        return self.memo[name, q]

    def _try(self, name: str, q: int) -> tuple[str, int] | None:
        """Compute (name, q) if its parents' values are known; else the first parent value still missing."""
        if self.nodes[name].op == "input":
            self.memo[name, q] = q
            return None
        found: list[int] = []
        for parent, positions in self.reads[name](q):
            ordered = sorted(positions, reverse=self.kind == "hi")
            if self.gapless[parent] and ordered:
                # Fields grow with the position: the first (last) position read holds the bound.
                ordered = ordered[:1]
            for p in ordered:
                if (parent, p) not in self.memo:
                    return parent, p
                value = self.memo[parent, p]
                if value is not None:
                    found.append(value)
        pick = min if self.kind == "lo" else max
        self.memo[name, q] = pick(found) if found else None
        return None


def _spans(net: Network, reads: Mapping[str, Any], gapless: Mapping[str, bool]) -> Any:
    """A function (node, positions) -> the field of each position, padding included (None: it reads nothing)."""
    low, high = _Bounds(net, reads, "lo", gapless), _Bounds(net, reads, "hi", gapless)

    def spans(name: str, positions: Iterable[int]) -> list[Interval]:
        out: list[Interval] = []
        for q in positions:
            lo, hi = low(name, q), high(name, q)
            out.append(None if lo is None or hi is None else (lo, hi))
        return out

    return spans


def intervals(net: Network, size: int, node: str | None = None, dim: str | None = None) -> list[Interval]:
    """The field of every output position of `node` (default: the output) at input size `size`: the first and
    last input position it reaches, None where it reads nothing. Padding counts as Araujo et al. count it: a
    tap of any layer that falls in the padding reaches the positions that layer's input would have there, so
    the field can extend past the input, and past the positions the output really depends on; clipped to the
    input, it contains them (each layer's channels are taken as mixed: a pixel shuffle after an unshuffle is
    not recognised as the identity).

    >>> from symconv.network import chain
    >>> intervals(chain("conv(k=3, s=2, p=1)"), 6)
    [(-1, 1), (1, 3), (3, 5)]
    """
    dim = dim or (net.symbolic[0] if net.symbolic else net.dims[0])
    sizes = _sizes(net, dim, size)
    name = node or net.output
    if name not in sizes:
        raise SpecError(f"no node named {name!r}; nodes: {', '.join(sizes)}")
    gapless = _gapless(net)
    return _spans(net, _reads(net, sizes, gapless), gapless)(name, range(sizes[name]))


def receptive_fields(net: Network, size: int | None = None, dim: str | None = None) -> dict[str, Field]:
    """Every node's receptive field along one axis (the first symbolic one), at input size `size` (default:
    the first valid size from 256). Uniform networks give the same field at every valid size; adaptive
    pooling and resizing to a fixed size depend on it."""
    dim = dim or (net.symbolic[0] if net.symbolic else net.dims[0])
    n = size if size is not None else dict(net.fixed).get(dim) or _generic_size(net, dim)
    sizes = _sizes(net, dim, n)
    gapless = _gapless(net)
    spans_of = _spans(net, _reads(net, sizes, gapless), gapless)
    summary: dict[str, Field] = {}
    for node in net.nodes:
        spans = spans_of(node.name, range(max(1, min(sizes[node.name], SPAN))))
        if node.op == "input":
            summary[node.name] = Field(Fraction(1), Fraction(1), Fraction(0), end=Fraction(0))
            continue
        parents = [summary[name] for name in node.inputs]
        jump = parents[0].stride
        if node.op == "layer" and node.layer is not None:
            jump *= _scale(node.layer, sizes[node.inputs[0]], sizes[node.name])
        aligned = all(f.aligned for f in parents)
        if node.op in ("cat", "add"):
            aligned = aligned and all(
                f.stride == parents[0].stride and f.centre(0) == parents[0].centre(0) for f in parents
            )
        summary[node.name] = _summary(spans, jump, aligned)
    return summary


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
        return Field(Fraction(0), jump, Fraction(0), aligned, False)
    widths = {hi - lo + 1 for lo, hi in known}
    steps = {b[0] - a[0] for a, b in itertools.pairwise(known)}
    uniform = len(known) == len(spans) and len(widths) == 1 and len(steps) <= 1
    first = spans[0] if spans[0] is not None else known[0]
    return Field(Fraction(max(widths)), jump, Fraction(-first[0]), aligned, uniform, Fraction(first[1]))
