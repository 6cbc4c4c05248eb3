"""Networks: DAGs of layers per spatial axis; symbolic output sizes, exact valid input sets, receptive fields.

A network maps symbolic input sizes (one per spatial axis, e.g. H and W) through its nodes. Every node's size is
a SymPy expression of the input sizes, kept small by merging nested floors. The network is defined at an input
size iff every layer is defined at its input, every concatenation sees equal sizes and every addition can
broadcast (equal sizes, or one of them 1, as in PyTorch and NumPy); that set of sizes is solved exactly (closed
form per residue class, not by scanning) and stated as `period`/`residues`/`from`/`below`, then proved with Z3.

>>> net = chain("conv(k=3, s=2) > conv(k=3, s=2) > conv(k=3, s=2)")
>>> net.valid_inputs()["i"].describe()
{'period': 1, 'residues': [0], 'from': 15, 'below': []}
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sympy

from ..core.arith import eq, evaluate, ge, gt, le, lt, merge_floors, ne, quotient_parts, substituted, symbol
from ..core.errors import ShapeError, SpecError, SymconvError, analysing
from ..core.layers import Axes, Layer, layer, on_rank
from . import shapeops
from .validset import ValidSet, solved, valid_set

if TYPE_CHECKING:
    from . import receptive

MERGES = ("cat", "add")
# identity: the same size (an importer's explicit "output" node)
OPS = ("input", "layer", "cat", "add", "crop", "flatten", "linear", "identity", *shapeops.OPS)


@dataclass(frozen=True)
class Node:
    """One node: a layer applied to one input, a merge of several, or a shape operation."""

    name: str
    op: str
    inputs: tuple[str, ...] = ()
    layer: Layer | None = None  # an Axes: one layer per spatial axis, in the network's order of dims
    # crop: the size to crop to (an expression of other nodes' names, e.g. "up3" or an integer);
    # linear: the size it requires on every axis (in_features / channels, one spatial axis)
    amount: str | None = None
    # pad, slice, resize, join, windows: one entry per axis of the network, (axis name, entry) (see shapeops);
    # linear: the size it requires on each axis (in_features / channels / the other axes' sizes on the free one)
    axes: tuple[tuple[str, Any], ...] = ()


DEFAULT_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def default_names(count: int) -> tuple[str, ...]:
    """H, W for two spatial axes (L for one, D, H, W for three, S1, S2, ... beyond)."""
    return DEFAULT_NAMES.get(count, tuple(f"S{n + 1}" for n in range(count)))


def on_axis(node: Node, index: int, rank: int | None = None) -> Node:
    """The node as it acts on spatial axis `index`: a per-axis layer (Axes) replaced by that axis' layer; with
    the network's `rank` (its number of spatial axes, when more than one), a layer whose convention has rules of
    that rank gets them (PyTorch's AvgPool3d checks every axis against the kernel)."""
    if isinstance(node.layer, Axes):
        return dataclasses.replace(node, layer=node.layer.axis(index))
    if rank is not None and rank > 1 and node.layer is not None and node.layer.rank is None:
        ranked = on_rank(node.layer, rank)
        if ranked is not node.layer:
            return dataclasses.replace(node, layer=ranked)
    return node


def axis_count(layers: Sequence[Layer | None]) -> int | None:
    """How many spatial axes the per-axis layers among `layers` have (None: none is per axis); SpecError when
    they disagree."""
    counts = {made.spec: made.axes for made in layers if isinstance(made, Axes)}
    if len(set(counts.values())) > 1:
        shown = "; ".join(f"{spec} has {count}" for spec, count in counts.items())
        raise SpecError(f"layers give different numbers of spatial axes: {shown}")
    return next(iter(counts.values()), None)


@dataclass(frozen=True)
class Network:
    """Nodes in topological order (the last one is the output) over the spatial axes `dims`.

    `fixed` gives some axes a fixed input size (an ONNX model's --input-shape 1,3,224,W): their output size is a
    number and they have no valid set; every other axis is symbolic. `channels` gives nodes' channel counts
    where an importer knows them (a flattened node's: its feature count), for the shape table.
    """

    nodes: tuple[Node, ...]
    dims: tuple[str, ...] = ("i",)
    fixed: tuple[tuple[str, int], ...] = ()
    channels: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        if len(set(self.dims)) != len(self.dims):
            raise SpecError(
                f"the axes {', '.join(self.dims)} name one axis twice: each axis needs its own name"
            )
        for dim, value in self.fixed:
            if dim not in self.dims or not isinstance(value, int) or value < 1:
                raise SpecError(
                    f"a fixed axis must be one of {', '.join(self.dims)} with a size >= 1, got {dim}={value}"
                )
        names: set[str] = set()
        for node in self.nodes:
            if node.name in names:
                raise SpecError(f"node name {node.name!r} appears twice")
            if isinstance(node.layer, Axes) and node.layer.axes != len(self.dims):
                raise SpecError(
                    f"node {node.name} ({node.layer.spec}) has {node.layer.axes} spatial axes but the network has "
                    f"{len(self.dims)} ({', '.join(self.dims)})"
                )
            for name in node.inputs:
                if name not in names:
                    raise SpecError(
                        f"node {node.name} ({node.op}) reads {name!r}, which is not an earlier node "
                        "(unknown name, or a cycle)"
                    )
            names.add(node.name)

    @property
    def output(self) -> str:
        return self.nodes[-1].name

    @lru_cache(maxsize=64)  # noqa: B019 - a frozen network: its formulas are built once per axis
    def sizes(self, dim: str) -> dict[str, sympy.Expr]:
        """Every node's size along one axis, as an expression of that axis' input size."""
        return self._axis(dim)[0]

    @lru_cache(maxsize=64)  # noqa: B019
    def conditions(self, dim: str) -> list[tuple[sympy.Basic, str]]:
        """Where the network is defined along one axis, each condition with the node and rule it states."""
        return self._axis(dim)[1]

    @lru_cache(maxsize=64)  # noqa: B019
    def _axis(self, dim: str) -> tuple[dict[str, sympy.Expr], list[tuple[sympy.Basic, str]]]:
        """Sizes and conditions of one axis, in one pass over the nodes (each node's size is built once, from
        its inputs' sizes, so the pass is linear in the number of nodes)."""
        sizes: dict[str, sympy.Expr] = {}
        out: Rules = [(ge(symbol(dim), 1), f"input size {dim} must be >= 1")]
        along = self.along(dim)
        may_be_empty = _may_be_empty(along, dim)
        zero: set[str] = set()  # nodes whose size may be 0 where the network is defined
        for node in along.nodes:
            size, rules = step(node, sizes, dim, node.name not in may_be_empty, zero=zero)
            if node.name in may_be_empty and _gives_zero(node, zero):
                zero.add(node.name)
            sizes[node.name] = size
            out += rules
        return sizes, out

    @lru_cache(maxsize=64)  # noqa: B019
    def along(self, dim: str) -> Network:
        """The network as it acts on axis `dim`: every per-axis layer replaced by that axis' layer, and the rules
        of the network's rank added (see on_axis)."""
        if dim not in self.dims:
            if not any(isinstance(node.layer, Axes) for node in self.nodes):
                return self
            raise SpecError(f"no axis {dim!r}; the network's axes are {', '.join(self.dims)}")
        index, rank = self.dims.index(dim), len(self.dims)
        nodes = tuple(on_axis(node, index, rank) for node in self.nodes)
        if all(new is old for new, old in zip(nodes, self.nodes, strict=True)):
            return self
        return dataclasses.replace(self, nodes=nodes)

    @property
    def symbolic(self) -> tuple[str, ...]:
        """The axes without a fixed size."""
        fixed = dict(self.fixed)
        return tuple(dim for dim in self.dims if dim not in fixed)

    def output_size(self) -> dict[str, sympy.Expr]:
        """Each axis' output size: a formula in a symbolic axis, a number for a fixed one (ShapeError naming the
        node if the network refuses the fixed size)."""
        fixed = dict(self.fixed)
        return {
            dim: sympy.Integer(self._check_axis(dim, fixed[dim]))
            if dim in fixed
            else self.sizes(dim)[self.output]
            for dim in self.dims
        }

    def check(self, sizes: Mapping[str, int]) -> dict[str, int]:
        """Output sizes at concrete input sizes (a fixed axis may be left out); ShapeError naming the first node
        that fails and why."""
        fixed = dict(self.fixed)
        for dim in self.dims:
            if dim in fixed and sizes.get(dim, fixed[dim]) != fixed[dim]:
                raise SpecError(
                    f"axis {dim} has the fixed size {fixed[dim]} (from the input shape), got {sizes[dim]}"
                )
            if dim not in fixed and dim not in sizes:
                unknown = sorted(set(sizes) - set(self.dims))
                named = f" ({', '.join(unknown)} is not an axis of it)" if unknown else ""
                raise SpecError(
                    f"no size given for the axis {dim}; the network's axes are {', '.join(self.dims)}{named}"
                )
        return {dim: self._check_axis(dim, fixed[dim] if dim in fixed else sizes[dim]) for dim in self.dims}

    def check_axis(self, dim: str, size: int) -> int:
        """The output size along one axis at input size `size` on that axis (each axis is stated on its own, so
        the others need no size); ShapeError naming the first node that fails and why."""
        if dim not in self.dims:
            raise SpecError(f"no axis {dim!r}; the network's axes are {', '.join(self.dims)}")
        return self._check_axis(dim, size)

    def _check_axis(self, dim: str, value: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise SpecError(f"the size of axis {dim} must be an integer, got {value!r}")
        env = {dim: value}
        for condition, rule in self.conditions(dim):
            try:
                holds = bool(evaluate(condition, env))
            except ZeroDivisionError:
                holds = False
            if not holds:
                # The sizes up to the failing node: what follows it is never computed by the framework.
                values: dict[str, int | None] = {}
                for name, expr in self.sizes(dim).items():
                    if rule.startswith(f"node {name} "):
                        break
                    values[name] = _int_or_none(expr, env)
                detail = ", ".join(f"{k}={v}" for k, v in values.items() if v is not None)
                raise ShapeError(f"{rule} at {dim}={value} (sizes: {detail})")
        return int(evaluate(self.sizes(dim)[self.output], env))

    @lru_cache(maxsize=64)  # noqa: B019 - derived and proved once per network (the CLI's receptive fields reuse it)
    def valid_inputs(self, timeout_ms: int = 20_000) -> dict[str, ValidSet]:
        """The exact valid set of every symbolic axis, proved."""
        return {dim: valid_set(self.conditions(dim), dim, timeout_ms) for dim in self.symbolic}

    def receptive_fields(self, size: int | None = None, dim: str | None = None) -> dict[str, receptive.Field]:
        """Every node's receptive field along `dim` (default: the first symbolic axis), from the window maps
        (symconv.nets.receptive), at input size `size`."""
        from .receptive import receptive_fields

        return receptive_fields(self, size, dim)


def _may_be_empty(net: Network, dim: str) -> set[str]:
    """The nodes whose output along `dim` may be empty: those read by no node that refuses an empty input (the
    network's output among them). PyTorch returns empty tensors from slices, constant padding, merges, views
    and per-position maps, and refuses an empty input in convolutions, pooling (adaptive too), resampling and
    reflect, replicate or circular padding; a layer that refuses an empty output says so in its own rules."""
    refused = {name for node in net.nodes if not _accepts_empty(node, dim) for name in node.inputs}
    return {node.name for node in net.nodes} - refused


def _gives_zero(node: Node, zero: set[str]) -> bool:
    """Whether the node's size may be 0 (when no reader refuses that): a slice, padding, crop or concatenation
    may cut to nothing, an adaptive average pool to a computed size, a layer whose rules allow an empty output,
    and what passes a size that may be 0 on."""
    if node.op in ("slice", "pad", "crop", "join"):
        return True
    if node.op == "resize" and any(getattr(entry, "mode", "") == "area" for _, entry in node.axes):
        return True  # adaptive average pooling to a size that may be 0
    if node.op == "layer":
        return node.layer is not None and _layer_gives_zero(node.layer)
    return any(name in zero for name in node.inputs)


@lru_cache(maxsize=1024)
def _layer_gives_zero(made: Layer) -> bool:
    """Whether the layer's own rules allow an empty output (JAX's clamp at 0; PyTorch refuses one), solved on a
    fresh size once per layer; True when that is not decided."""
    u = symbol("u")
    size, rules = apply_layer_directly(made, u, False)
    return not _never(*(condition for condition, _ in rules if condition is not sympy.true), lt(size, 1))


def _accepts_empty(node: Node, dim: str) -> bool:
    """Whether the node runs on an input that is empty along `dim` (see _may_be_empty)."""
    if node.op == "resize":
        # a mean or sum over an axis takes an empty one (NaN or 0); interpolation and pooling refuse it
        return getattr(dict(node.axes).get(dim), "mode", "") == "total"
    if node.op == "layer":
        # (PyTorch also shuffles empty tensors; symconv's pixel shuffle layer, a layer like any other, does not.)
        return False
    if node.op == "pad":
        entry = dict(node.axes).get(dim)
        return getattr(entry, "mode", "constant") == "constant"
    return True


def broadcast(a: sympy.Expr, b: sympy.Expr, empty: bool = False) -> tuple[sympy.Basic, sympy.Expr]:
    """PyTorch's and NumPy's broadcasting of two sizes on one axis: (where it is defined, the size).

    Defined iff a == b or either is 1; the size is then max(a, b), or 0 when a size is 0 (`empty`: a side may be
    0; 0 with 1 gives 0, an empty tensor stays empty). Where the merge is not defined the network is not either,
    so the size only has to be right where it is: there max(a, b) is a unless a == 1 < b or a < 1 == b. When no
    input size gives either (solved exactly, see `_never`), the size is a itself, and likewise b; only when
    neither can be shown is it a Max (times min(a, b, 1) when a side may be 0). A strided convolution's
    ceil(i/2) added to a pooling's floor(i/2) (DLA's projections), or an upsampled branch 2*ceil(i/2) added to i
    (HRNet's fusions), thus keep a floor-affine size instead of a Max that each later merge would nest again.

    >>> from symconv.core.arith import ceil_div, floor_div
    >>> i = symbol("i")
    >>> broadcast(i, sympy.Integer(1))
    (True, i)
    >>> broadcast(i, sympy.Integer(3))
    (Eq(i, 1) | Eq(i, 3), 3)
    >>> broadcast(floor_div(i, 2), ceil_div(i, 2))[1]
    ceiling(i/2)
    >>> broadcast(floor_div(i, 4), floor_div(i, 3))[1]
    floor(i/3)

    (Sizes that never decrease as the input grows cannot give both a == 1 < b and b == 1 < a; the Max is left
    for formulas that the solver cannot decide.)
    """
    if a == b or b == 1:
        return sympy.true, a
    if a == 1:
        return sympy.true, b
    condition = sympy.Or(eq(a, b), eq(a, 1), eq(b, 1))
    larger = sympy.Max(a, b, evaluate=False)  # no SymPy comparison of the two formulas
    if empty:
        # The size is `big` unless big == 1 and small is not; where defined, max(a, b) times min(a, b, 1).
        for big, small in ((a, b), (b, a)):
            if _never(eq(big, 1), gt(small, 1)) and _never(eq(big, 1), lt(small, 1)):
                return condition, big
        return condition, larger * sympy.Min(a, b, 1, evaluate=False)
    for big, small in ((a, b), (b, a)):
        if _never(eq(big, 1), gt(small, 1)) and _never(eq(small, 1), lt(big, 1)):
            return condition, big
    return condition, larger


def _never(*conditions: sympy.Basic) -> bool:
    """True when no input size >= 1 meets every condition (formulas in one size, solved exactly); False when
    one does, or when that is not decided (a formula in several sizes, or a limit of the solver)."""
    names = set().union(*(condition.free_symbols for condition in conditions))
    if len(names) > 1:
        return False
    if not names:
        return not all(bool(evaluate(condition, {})) for condition in conditions)
    from ..logic.prove import Proved, Refuted, prove

    # Z3 first (one size, floors and remainders by numbers): the closed form splits nested crops' floors into
    # residue classes one by one, a minute for two short crops added to their inputs
    (size,) = names
    verdict = prove(sympy.Not(sympy.And(*conditions)), [ge(size, 1)], timeout_ms=2_000)
    if isinstance(verdict, Proved | Refuted):
        return isinstance(verdict, Proved)
    try:
        return solved(list(conditions), next(iter(names)).name, {}).is_empty()
    except (SymconvError, ArithmeticError, RecursionError):  # not decided: the Max stays
        return False


Rules = list[tuple[sympy.Basic, str]]


def step(
    node: Node,
    sizes: Mapping[str, sympy.Expr],
    dim: str,
    inner: bool,
    rules: bool = True,
    zero: Collection[str] = (),
) -> tuple[sympy.Expr, Rules]:
    """One node's size along `dim` and the conditions it adds, from its inputs' sizes.

    `inner`: the node's output is read by another layer (so it must be >= 1); the network's output may be empty
    where the framework allows it. `rules=False`: a layer's size only (an importer reading constant sizes), its
    conditions left out. `zero`: the nodes whose size may be 0 (a merge with them broadcasts 0 with 1 to 0). A
    failure inside SymPy or the layer is an AnalysisError naming the node.
    """
    with analysing(f"node {node.name} ({node.op}): the size along {dim} could not be built"):
        if not rules and node.op == "layer" and node.layer is not None and node.inputs:
            return layer_size(node.layer, sizes[node.inputs[0]], inner), []
        return _step(node, sizes, dim, inner, zero)


def _step(
    node: Node, sizes: Mapping[str, sympy.Expr], dim: str, inner: bool, zero: Collection[str] = ()
) -> tuple[sympy.Expr, Rules]:
    if node.op == "input":
        return symbol(dim), []
    first = sizes[node.inputs[0]] if node.inputs else None
    if node.op == "layer" and node.layer is not None and first is not None:
        made = node.layer
        size, rules = apply_layer(made, first, inner)
        where = f"node {node.name} ({made.spec})"
        out = [(condition, f"{where}: {rule}") for condition, rule in rules if condition is not sympy.true]
        if inner:
            # Inner sizes are >= 1 (every layer refuses an empty input), as their formulas assume.
            out.append((ge(size, 1), f"{where}: empty output"))
        return size, out
    if node.op == "cat" and first is not None:
        head, *others = node.inputs
        # The inputs' sizes are equal wherever the network is defined, so any of them is the size: the
        # smallest formula (a centre-cropped skip's has cases the upsampled input's has not).
        smallest = min((sizes[name] for name in node.inputs), key=_operations)
        return smallest, [
            (eq(first, sizes[other]), f"node {node.name} (cat): sizes of {head} and {other} differ")
            for other in others
        ]
    if node.op == "add" and first is not None:
        size, out = first, []
        for index, other in enumerate(node.inputs[1:], start=1):
            empty = any(name in zero for name in node.inputs[: index + 1])
            condition, size = broadcast(size, sizes[other], empty)
            seen = " and ".join(node.inputs[:index])
            out.append(
                (condition, f"node {node.name} (add): sizes of {seen} and {other} differ and neither is 1")
            )
        return size, out
    if node.op in ("flatten", "linear", "identity") and first is not None:
        # linear: the size its in_features needs, one for every axis (amount) or per axis (axes)
        needed = dict(node.axes).get(dim, node.amount) if node.op == "linear" else None
        if needed is not None:
            return first, [(eq(first, int(needed)), f"node {node.name} (linear): needs size {needed}")]
        return first, []
    if node.op in shapeops.OPS and first is not None:
        return _shape_op(node, sizes, dim, inner)
    if node.op == "crop" and first is not None:
        size = _crop_size(node, sizes)
        return size, [(ge(first, size), f"node {node.name} (crop): input smaller than the crop")]
    raise SpecError(
        f"node {node.name}: op {node.op!r} with inputs {node.inputs} is not a node kind ({', '.join(OPS)})"
    )


@lru_cache(maxsize=4096)
def _operations(expr: sympy.Expr) -> int:
    """SymPy's count of the operations in a size, once per size (a U-Net's levels meet the same sizes again)."""
    return int(sympy.count_ops(expr))


def _shape_op(node: Node, sizes: Mapping[str, sympy.Expr], dim: str, inner: bool) -> tuple[sympy.Expr, Rules]:
    """A shape operation's size on `dim` (its entry for that axis) and its rules, naming the node."""
    entry = dict(node.axes).get(dim)
    if entry is None:
        raise SpecError(f"node {node.name} ({node.op}) has no entry for the axis {dim}")
    size, rules = shapeops.size_and_rules(node.op, entry, [sizes[name] for name in node.inputs], sizes)
    where = f"node {node.name} ({node.op})"
    out = [(condition, f"{where}: {rule}") for condition, rule in rules if condition is not sympy.true]
    if inner:
        out.append((ge(size, 1), f"{where}: empty output"))
    return size, out


def _crop_size(node: Node, sizes: Mapping[str, sympy.Expr]) -> sympy.Expr:
    text = node.amount or ""
    if text.isdigit():
        return sympy.Integer(int(text))
    if text in sizes:
        return sizes[text]
    raise SpecError(f"node {node.name} (crop): size {text!r} is neither an integer nor an earlier node")


def apply_layer(made: Layer, before: sympy.Expr, inner: bool) -> tuple[sympy.Expr, Rules]:
    """A layer's output size and rules at the input size `before` (an earlier node's size).

    An inner node's formula is the layer's positive_output_expr (the output is >= 1 there), nested floors
    merged. The layer is first read once on a fresh symbol u; its formula and rules are then applied to
    `before` by substitution, which builds no rounding node but the merged floor (SymPy's floor() costs
    milliseconds per new argument, and the unmerged floor the layer would build is thrown away). Anything the
    substitution does not cover takes the direct way, `apply_layer_directly`, which gives the same result.
    """
    read = _read_on_symbol(made, inner)
    if read is not None:
        formula, rules = read
        size = _substitute_size(formula, before)
        if size is not None:
            values = {_OUTPUT: size, _U: before}
            return size, [(_relation_at(template, values), rule) for template, rule in rules]
    return apply_layer_directly(made, before, inner)


def layer_size(made: Layer, before: sympy.Expr, inner: bool) -> sympy.Expr:
    """apply_layer's size without its rules."""
    read = _read_on_symbol(made, inner)
    size = None if read is None else _substitute_size(read[0], before)
    return size if size is not None else apply_layer_directly(made, before, inner)[0]


def apply_layer_directly(made: Layer, before: sympy.Expr, inner: bool) -> tuple[sympy.Expr, Rules]:
    """apply_layer without the substitution: the layer's own formula and rules at `before`."""
    positive = inner and hasattr(made, "positive_output_expr")
    expr = made.positive_output_expr(before) if positive else made.output_expr(before)  # type: ignore[attr-defined]
    return merge_floors(expr), made.conditions(before)


# The layer's input and output sizes while it is read on a symbol (Dummy: never equal to a user's name).
_U = sympy.Dummy("u", integer=True)
_OUTPUT = sympy.Dummy("o", integer=True)
_RELATION_BUILDERS = {sympy.Ge: ge, sympy.Le: le, sympy.Gt: gt, sympy.Lt: lt, sympy.Eq: eq, sympy.Ne: ne}


@lru_cache(maxsize=1024)
def _read_on_symbol(
    made: Layer, inner: bool
) -> tuple[sympy.Expr, tuple[tuple[sympy.Basic, str], ...]] | None:
    """The layer's formula on u, and its rules with the formula itself replaced by the symbol o, when every rule
    is a comparison of polynomials in u and o (so substitution builds no rounding node); None otherwise."""
    formula, rules = apply_layer_directly(made, _U, inner)
    templates = []
    for condition, rule in rules:
        if condition is sympy.true:
            continue
        if type(condition) not in _RELATION_BUILDERS:
            return None
        sides = [side.xreplace({formula: _OUTPUT}) for side in condition.args]
        if not all(side.is_polynomial(_U, _OUTPUT) for side in sides):
            return None
        templates.append((type(condition)(*sides, evaluate=False), rule))
    return formula, tuple(templates)


def _relation_at(template: sympy.Basic, values: Mapping[sympy.Basic, sympy.Expr]) -> sympy.Basic:
    """A rule template at given u and o: unevaluated (as the layers build them), decided when both sides are
    numbers."""
    lhs, rhs = (side.xreplace(values) for side in template.args)
    return _RELATION_BUILDERS[type(template)](lhs, rhs)


def _substitute_size(formula: sympy.Expr, before: sympy.Expr) -> sympy.Expr | None:
    """formula(before) with nested floors merged, when that needs no new rounding node but the merged floor:
    a polynomial formula (stride 1, a transposed convolution, an upsampling), or c0 + c1*floor((u + b)/s)
    applied to before = C + floor(N/L), which is c0 + c1*floor((N + (C + b)*L)/(L*s)) for L, s > 0 (the rule
    merge_floors applies). None for any other form."""
    if formula.is_polynomial(_U):
        return substituted(formula, {_U: before})
    outer = _plus_floor(formula)
    inner = _plus_floor(before)
    if outer is None or inner is None:
        return None
    (_, _, num, _), (_, one, _, _) = outer, inner
    b = sympy.expand(num - _U)
    if one != 1 or not isinstance(b, sympy.Integer) or num.free_symbols != {_U}:
        return None
    return merge_floors(substituted(formula, {_U: before}))


def _plus_floor(expr: sympy.Expr) -> tuple[sympy.Integer, sympy.Integer, sympy.Expr, sympy.Integer] | None:
    """(c0, c1, N, D) with expr = c0 + c1*floor(N/D), integers c0, c1 and D > 0; None for any other form."""
    c0, rest = expr.as_coeff_Add()
    c1, node = rest.as_coeff_Mul()
    if not (
        isinstance(c0, sympy.Integer) and isinstance(c1, sympy.Integer) and isinstance(node, sympy.floor)
    ):
        return None
    num, den = quotient_parts(node.args[0])
    if not (isinstance(den, sympy.Integer) and den > 0):
        return None
    return c0, c1, num, den


def _int_or_none(expr: sympy.Expr, env: Mapping[str, int]) -> int | None:
    try:
        return int(evaluate(expr, env))
    except (ZeroDivisionError, TypeError, SymconvError):
        return None


_SPLIT = re.compile(r">(?![^()]*\))")


def chain(text: str, dims: Sequence[str] | None = None) -> Network:
    """A chain network from `spec > spec > ...`; its input is named by `dims` (default: i, or with per-axis
    layers, as many axes as they have: H, W for two)."""
    parts = [part.strip() for part in _SPLIT.split(text)]
    if not parts or not all(parts):
        raise SpecError(f"a chain is specs separated by '>', got {text!r}")
    nodes = [Node("input", "input")]
    for index, part in enumerate(parts):
        nodes.append(Node(f"n{index + 1}", "layer", (nodes[-1].name,), layer(part)))
    return Network(tuple(nodes), tuple(dims) if dims is not None else _default_dims(nodes))


def _default_dims(nodes: Sequence[Node]) -> tuple[str, ...]:
    """i for a network of layers that apply to every axis; with per-axis layers, their axes (H, W, ...)."""
    count = axis_count([node.layer for node in nodes])
    return ("i",) if count is None else default_names(count)


NODE_KEYS = ("name", "layer", "op", "input", "inputs", "size")


def from_toml(text: str, origin: str = "<text>") -> Network:
    """A network file: `dims = ["H", "W"]` and [[node]] tables with name, layer (a spec) or op
    (cat, add, crop, flatten, linear, identity), input or inputs (default: the node before), size (crop,
    linear)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{origin}: not valid TOML: {error}") from None
    dims = data.get("dims", None)
    if dims is None:
        dims = list(_default_dims([Node("n", "layer", (), _toml_layer(r)) for r in data.get("node", [])]))
    if (
        not isinstance(dims, list)
        or not dims
        or not all(isinstance(d, str) and d.isidentifier() for d in dims)
    ):
        raise SpecError(f'{origin}: dims must be a list of names, e.g. ["H", "W"]')
    records = data.get("node", [])
    if not isinstance(records, list) or not records:
        raise SpecError(f"{origin}: a network needs [[node]] tables")
    nodes = [Node("input", "input")]
    for index, record in enumerate(records):
        where = f"{origin}, node #{index + 1}"
        unknown = set(record) - set(NODE_KEYS)
        if unknown:
            raise SpecError(
                f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(NODE_KEYS)}"
            )
        name = record.get("name", f"n{index + 1}")
        if not isinstance(name, str) or not name.isidentifier():
            raise SpecError(f"{where}: name must be an identifier, got {name!r}")
        inputs = record.get("inputs", [record["input"]] if "input" in record else [nodes[-1].name])
        if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
            raise SpecError(f"{where}: inputs must be a list of node names")
        if "layer" in record:
            try:
                made = layer(record["layer"])
            except SpecError as error:
                raise SpecError(f"{where} ({name}): {error}") from None
            nodes.append(Node(name, "layer", tuple(inputs[:1]), made))
            continue
        op = record.get("op")
        # The shape operations carry per-axis data that importers fill in; a file names the merges and crops.
        written = [kind for kind in OPS[2:] if kind not in shapeops.OPS]
        if op not in written:
            raise SpecError(f"{where}: give a layer spec or an op among {', '.join(written)}, got {op!r}")
        size = record.get("size")
        nodes.append(Node(name, op, tuple(inputs), None, None if size is None else str(size)))
    return Network(tuple(nodes), tuple(dims))


def _toml_layer(record: Any) -> Layer | None:
    """A node table's layer, where it has a valid one (for the default axes; the table is checked later)."""
    if not isinstance(record, dict) or not isinstance(record.get("layer"), str):
        return None
    try:
        return layer(record["layer"])
    except SymconvError:
        return None


__all__ = ["Network", "Node", "axis_count", "chain", "default_names", "from_toml", "on_axis"]
