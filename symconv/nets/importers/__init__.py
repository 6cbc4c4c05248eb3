"""Importers: a Network from a PyTorch module or an ONNX file (optional extras).

- `symconv.nets.importers.torch`: ``from_torch(model, input_shape)``, ``from_factory("pkg.module:factory", shape)``
- `symconv.nets.importers.onnx`: ``from_onnx(path, input_shape=None)``

This package imports neither torch nor onnx; each importer imports its framework inside the function that
reads a model. What both share is here: the values an importer tracks while it walks a graph, and the Builder
that turns them into Nodes.

A layer whose parameters differ between spatial axes (Conv2d(kernel_size=(1, 7), padding=(0, 3))) becomes a
per-axis spec, torch.conv(k=(1, 7), p=(0, 3)): the network applies each axis' layer to that axis.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sympy

from ...core.arith import evaluate
from ...core.errors import SpecError, SymconvError, with_context
from ...core.layers import Layer, layer
from ..network import Network, Node, default_names, on_axis, step

HINT = "add it as a node kind or replace it"


@dataclass(frozen=True)
class Tensor:
    """A tensor while a graph is read: the node that made it, its channel count (None: unknown) and, once
    flattened, its feature count (None: it depends on the spatial sizes)."""

    node: str
    channels: int | None
    flat: bool = False
    features: int | None = None
    # Axes moved or merged by permute/flatten/view (symconv.importers.layout); None: (batch, channels, spatial...)
    layout: tuple[tuple[Any, ...], ...] | None = None


@dataclass(frozen=True)
class Constant:
    """A tensor that does not depend on the input (a parameter, an initializer); its shape when known (None for a
    dimension of unknown size) and, where the importer holds it, the tensor itself (what is computed from
    constants alone is computed, so its shape is known)."""

    shape: tuple[int | None, ...] | None = None
    value: Any = field(default=None, compare=False, repr=False)


def unsupported(op: str, where: str) -> SpecError:
    return SpecError(f"unsupported op: {op} at {where} ({HINT})")


def spec(kind: str, **params: Any) -> str:
    """A layer spec from keyword parameters.

    A tuple is one value per spatial axis (a list for one axis); inside it, a pair is one axis' (begin, end).

    >>> spec("torch.conv", k=(1, 7), p=(0, 3), ceil=False)
    'torch.conv(k=(1, 7), p=(0, 3), ceil=false)'
    >>> spec("onnx.conv", k=3, p=((1, 2),))
    'onnx.conv(k=3, p=[(1, 2)])'
    """

    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, tuple):
            entries = ", ".join(text(v) for v in value)
            return f"[{entries}]" if len(value) == 1 else f"({entries})"
        return str(value)

    return f"{kind}({', '.join(f'{name}={text(value)}' for name, value in params.items())})"


def per_axis(where: str, what: str, values: Any, dims: Sequence[str]) -> Any:
    """A parameter as a spec takes it: its one value when every spatial axis has the same (a scalar, or a
    sequence of equal entries), else a tuple with one entry per axis."""
    if not isinstance(values, tuple | list):
        return values
    if len(values) == 1 or (len(values) == len(dims) and len(set(values)) == 1):
        return values[0]
    if len(values) != len(dims):
        raise SpecError(
            f"{where}: {what} gives {len(values)} values ({', '.join(map(str, values))}); the input has "
            f"{len(dims)} spatial axes ({', '.join(dims)})"
        )
    return tuple(values)


def uniform(where: str, what: str, values: Any, dims: Sequence[str]) -> Any:
    """The one value of a parameter that must be the same on every spatial axis; SpecError naming the values
    of each axis when they differ."""
    value = per_axis(where, what, values, dims)
    if isinstance(value, tuple):
        shown = ", ".join(f"{axis}={v}" for axis, v in zip(dims, value, strict=True))
        raise SpecError(f"{where}: {what} differs between spatial axes ({shown}); it must be one value here")
    return value


def integer(where: str, what: str, value: Any) -> int:
    """An integral value (2 or 2.0) as an int; SpecError for 1.5."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
        raise SpecError(
            f"{where}: {what} must be an integer, got {value!r} (only integer factors are modelled)"
        )
    return int(value)


Axes = tuple[int | None, tuple[str, ...], tuple[tuple[str, int], ...]]


def input_axes(
    shape: Sequence[int | str], where: str = "input_shape", names: Sequence[str] | None = None
) -> Axes:
    """(channels, spatial axis names, fixed sizes) of an input shape such as (1, 3, "H", "W") or
    ["1", "3", "224", "W"].

    A name makes the axis symbolic; an integer fixes it to that size, and the axis is then called by `names`
    (the model's own names; H, W, ... by default), with a digit added if the shape gives that name to another
    axis.

    >>> input_axes(["1", "3", "H", "W"])
    (3, ('H', 'W'), ())
    >>> input_axes((1, 3, 224, "W"))
    (3, ('H', 'W'), (('H', 224),))
    """
    if not isinstance(shape, tuple | list):
        raise SpecError(
            f"{where} must be a tuple or list of sizes and names, e.g. (1, 3, 'H', 'W'), got {shape!r}"
        )
    text = ", ".join(str(v) for v in shape)
    entries = [int(v) if isinstance(v, str) and v.strip().isdigit() else v for v in shape]
    entries = [v.strip() if isinstance(v, str) else v for v in entries]
    if len(entries) < 3:
        raise SpecError(f"{where} ({text}) needs batch, channels and at least one spatial axis, e.g. 1,3,H,W")
    for value in entries:
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1) and not (
            isinstance(value, str) and value.isidentifier()
        ):
            raise SpecError(f"{where} ({text}): {value!r} is neither a positive integer nor a name")
    channels = entries[1] if isinstance(entries[1], int) else None
    spatial = entries[2:]
    own = tuple(names) if names is not None else default_names(len(spatial))
    dims: list[str] = []
    fixed: list[tuple[str, int]] = []
    for position, value in enumerate(spatial):
        name = value if isinstance(value, str) else own[position]
        if isinstance(value, int) and name in spatial:
            taken = {*spatial, *dims}
            name = next(f"{name}{k}" for k in itertools.count(2) if f"{name}{k}" not in taken)
        if name in dims:
            raise SpecError(
                f"{where} ({text}): the spatial name {name} appears twice; give each axis its own"
            )
        dims.append(name)
        if isinstance(value, int):
            fixed.append((name, value))
    return channels, tuple(dims), tuple(fixed)


class Builder:
    """Collects the Nodes of a network being imported, in topological order."""

    def __init__(
        self, dims: tuple[str, ...], fixed: tuple[tuple[str, int], ...] = (), channels: int | None = None
    ) -> None:
        self.dims = dims
        self.fixed = fixed
        self.nodes: list[Node] = [Node("input", "input")]
        # Each node's channel count where known (a flattened node's feature count), for the shape table.
        self.channels: dict[str, int] = {} if channels is None else {"input": channels}
        # "output" is the graph output's node (see network()); a module or node of that name gets output_2.
        self._names = {"input", "output"}
        self._sizes: dict[str, dict[str, sympy.Expr]] = {}

    def name(self, wanted: str) -> str:
        """`wanted`, or wanted_2, wanted_3, ... when taken."""
        base = wanted or "node"
        name, count = base, 1
        while name in self._names:
            count += 1
            name = f"{base}_{count}"
        self._names.add(name)
        return name

    def _add(self, node: Node, channels: int | None = None) -> str:
        self.nodes.append(node)
        if channels is not None:
            self.channels[node.name] = channels
        return node.name

    def spatial(self, x: Tensor, where: str) -> Tensor:
        if x.flat:
            raise SpecError(
                f"{where} reads a flattened tensor; it needs the spatial axes {', '.join(self.dims)}"
            )
        if x.layout is not None:
            from ..layout import describe

            raise SpecError(
                f"{where} reads a tensor whose axes are {describe(x.layout)}; it needs (batch, channels, "
                f"{', '.join(self.dims)}): permute or reshape back first"
            )
        return x

    def layer(self, name: str, text: str, where: str, x: Tensor, channels: int | None) -> Tensor:
        """A layer node for the spec `text`; its errors name `where`."""
        self.spatial(x, where)
        try:
            made = _layer(text)
        except SymconvError as error:
            raise with_context(error, where) from None
        return self.built(name, made, x, channels)

    def built(self, name: str, made: Layer, x: Tensor, channels: int | None) -> Tensor:
        """A layer node for a layer already built (one the spec grammar does not write, such as a pixel
        unshuffle by a different factor on each axis)."""
        return Tensor(self._add(Node(self.name(name), "layer", (x.node,), made), channels), channels)

    def concat(self, name: str, parts: Sequence[Tensor], channel_axis: bool, where: str) -> Tensor:
        """Concatenation along the channels (or the batch): every spatial size must agree."""
        for part in parts:
            self.spatial(part, where)
        counts = [part.channels for part in parts]
        if channel_axis:
            channels = None if None in counts else sum(c for c in counts if c is not None)
        else:
            channels = next((c for c in counts if c is not None), None)
        inputs = tuple(part.node for part in parts)
        if len(set(inputs)) == 1:
            return Tensor(inputs[0], channels)
        return Tensor(self._add(Node(self.name(name), "cat", inputs), channels), channels)

    def sizes(self, x: Tensor) -> tuple[int | None, ...]:
        """The tensor's size on each spatial axis when it is a constant (after an adaptive pool, or on an axis
        of fixed size where the network is defined)."""
        fixed = dict(self.fixed)
        out: list[int | None] = []
        for dim in self.dims:
            expr = self._size(dim, x.node)
            if dim in fixed:
                out.append(_exact(expr, {dim: fixed[dim]}))
            else:
                out.append(int(expr) if isinstance(expr, sympy.Integer) else None)
        return tuple(out)

    def node_size(self, name: str, dim: str) -> int | None:
        """A node's size along `dim` when it is a number (a fixed axis, or a constant size)."""
        expr = self._size(dim, name)
        fixed = dict(self.fixed)
        if dim in fixed:
            return _exact(expr, {dim: fixed[dim]})
        return int(expr) if isinstance(expr, sympy.Integer) else None

    def formula(self, name: str, dim: str) -> sympy.Expr:
        """A node's size along `dim` as a formula in that axis' input size."""
        return self._size(dim, name)

    def resolved(self, value: SizeValue | None, where: str) -> sympy.Expr:
        """A size with every node's size put in as its formula (sizes computed at different nodes compare)."""
        if value is None:
            raise SpecError(f"{where}: a shape entry must be an integer or a size of a tensor")
        swaps = {}
        for symbol in value.expr.free_symbols:
            found = axis_of(symbol)
            if found is not None:
                swaps[symbol] = self._size(found[1], found[0])
        return value.expr.xreplace(swaps) if swaps else value.expr

    def shape_op(
        self, name: str, op: str, inputs: Sequence[Tensor], entries: Sequence[Any], channels: int | None
    ) -> Tensor:
        """A shape operation (see symconv.shapeops) with one entry per spatial axis."""
        for x in inputs:
            self.spatial(x, f"{op} at {name}")
        axes = tuple(zip(self.dims, entries, strict=True))
        node = Node(self.name(name), op, tuple(x.node for x in inputs), axes=axes)
        return Tensor(self._add(node, channels), channels)

    def _size(self, dim: str, name: str) -> sympy.Expr:
        """A node's size along `dim`: the nodes added since the last call are stepped once each (the sizes the
        final Network builds again once, so reading a model stays linear in its nodes)."""
        sizes = self._sizes.setdefault(dim, {})
        index = self.dims.index(dim)
        for node in self.nodes[len(sizes) :]:
            sizes[node.name] = step(on_axis(node, index), sizes, dim, True, rules=False)[0]
        return sizes[name]

    def elementwise(self, name: str, a: Tensor, b: Any, where: str) -> Tensor:
        """An elementwise binary op (add, mul, ...), broadcasting as the frameworks do.

        A side that is 1 on every axis for every input (a pooled gate, a per-channel parameter) needs no node;
        any other pair becomes an `add` node, which broadcasts per axis (sizes equal, or either one 1).
        """
        if isinstance(b, Constant):
            self._broadcast_constant(a, b, where)
            return a
        if not isinstance(b, Tensor):
            return a
        if a.flat or b.flat:
            if not (a.flat and b.flat):
                raise SpecError(f"{where} combines a flattened tensor with one that has spatial axes")
            return a if a.features is not None else b
        channels = _broadcast_channels(a.channels, b.channels)
        if a.node == b.node:
            return Tensor(a.node, channels)
        if all(size == 1 for size in self.sizes(b)):
            return Tensor(a.node, channels)
        if all(size == 1 for size in self.sizes(a)):
            return Tensor(b.node, channels)
        return Tensor(self._add(Node(self.name(name), "add", (a.node, b.node)), channels), channels)

    def _broadcast_constant(self, x: Tensor, constant: Constant, where: str) -> None:
        shape = constant.shape or ()
        trailing = shape[-len(self.dims) :] if not x.flat and len(shape) > 1 else ()
        if any(size != 1 for size in trailing):
            raise SpecError(
                f"{where} broadcasts a constant of shape {tuple(shape)} over the spatial axes, which fixes "
                "their sizes (not modelled)"
            )

    def flatten(self, name: str, x: Tensor, where: str) -> Tensor:
        """Flatten every axis after the batch: a `flatten` node; its feature count if the sizes are fixed."""
        self.spatial(x, where)
        sizes = self.sizes(x)
        features = None
        if x.channels is not None and None not in sizes:
            features = x.channels * math.prod(s for s in sizes if s is not None)
        node = self._add(Node(self.name(name), "flatten", (x.node,)), features)
        return Tensor(node, x.channels, flat=True, features=features)

    def linear(self, name: str, x: Tensor, in_features: int, out_features: int, where: str) -> Tensor:
        """A fully connected layer on a flattened tensor: in_features fixes the flattened size.

        in_features == channels times the sizes flattened: a `linear` node requiring, on the one axis whose size
        is not a number there, in_features divided by the channels and the other sizes (LeNet's Linear(400, 10)
        read at 1x1x32xW needs W's size 5 at its flatten). With two or more such axes the condition is on the
        product of their sizes, which the per-axis network does not state: refused by name.
        """
        if not x.flat:
            raise SpecError(
                f"{where} reads a tensor with spatial axes ({', '.join(self.dims)}); a Linear over the last "
                "axis is not modelled: flatten first"
            )
        if x.features is not None:
            if x.features != in_features:
                raise SpecError(f"{where} expects {in_features} input features, gets {x.features}")
            return Tensor(x.node, None, flat=True, features=out_features)
        sizes = dict(zip(self.dims, self.sizes(x), strict=True))
        free = [dim for dim, size in sizes.items() if size is None]
        if len(free) > 1:
            shape = ",".join(
                ["1", str(self.channels.get("input", "C"))] + [d if d == free[-1] else "N" for d in self.dims]
            )
            raise SpecError(
                f"{where}: a Linear after flatten needs channels * {' * '.join(free)} * ... == {in_features}, "
                f"a condition on the product of the sizes of {', '.join(free)}, which the per-axis network does "
                f"not state: supported where one axis' size is free there (fix the others in the input shape: "
                f"{shape}, N a size) or after a pool that fixes every spatial size (e.g. an adaptive pool)"
            )
        if x.channels is None:
            raise SpecError(
                f"{where}: the channel count before flatten is unknown; give it in the input shape"
            )
        others = x.channels * math.prod(size for size in sizes.values() if size is not None)
        if not free and others != in_features:
            raise SpecError(f"{where} expects {in_features} input features, gets {others}")
        if in_features % others:
            fixed = " * ".join(f"{dim} {size}" for dim, size in sizes.items() if size is not None)
            held = f" and the sizes {fixed}" if fixed else ""
            raise SpecError(
                f"{where}: in_features={in_features} is not a multiple of the {x.channels} channels{held} "
                "before flatten, so no input size fits"
            )
        needed = tuple((dim, in_features // others if size is None else size) for dim, size in sizes.items())
        if len(needed) == 1:
            node = Node(self.name(name), "linear", (x.node,), None, str(needed[0][1]))
        else:
            node = Node(self.name(name), "linear", (x.node,), axes=needed)
        return Tensor(self._add(node, out_features), None, flat=True, features=out_features)

    def network(self, out: Tensor) -> Network:
        """The network whose output is `out`, as an identity node named "output" (so output sizes and receptive
        fields name it the same way for every model); every node read so far stays, so its conditions still
        apply."""
        self._add(Node("output", "identity", (out.node,)), out.features if out.flat else out.channels)
        network = Network(tuple(self.nodes), self.dims, self.fixed, tuple(self.channels.items()))
        if self.fixed:
            # A fixed size the network refuses is an error now, naming the node, not an empty answer later.
            network.output_size()
        return network


@lru_cache(maxsize=1024)
def _layer(text: str) -> Layer:
    """layer(text), once per spec: a model repeats its layers' specs, and checking a layer's parameters costs
    about a millisecond (layers are immutable, so one object serves every node)."""
    return layer(text)


def _exact(expr: sympy.Expr, env: dict[str, int]) -> int | None:
    """`expr` at the given sizes on integers (no SymPy numeric evaluation); None where it is undefined there."""
    try:
        value = evaluate(expr, env)
    except (ZeroDivisionError, SymconvError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _broadcast_channels(a: int | None, b: int | None) -> int | None:
    if a is None or a == 1:
        return b if b is not None else a
    return a


@dataclass(frozen=True)
class SizeValue:
    """A size a model computes from its tensors' shapes (x.size(2), x.shape[-1] // 2, up.size(2) - skip.size(2)):
    a formula in the spatial sizes of nodes (`axis_size`), the batch size and integers."""

    expr: sympy.Expr

    @staticmethod
    def of(value: Any) -> SizeValue | None:
        """A SizeValue for a size or an integer (None for anything else)."""
        if isinstance(value, SizeValue):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return SizeValue(sympy.Integer(value))
        return None

    def constant(self) -> int | None:
        return int(self.expr) if isinstance(self.expr, sympy.Integer) else None

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        """The formula with each node's size written node.axis, as messages name it."""
        names = {
            s: sympy.Symbol(f"{found[0]}.{found[1]}") for s in self.expr.free_symbols if (found := axis_of(s))
        }
        return str(self.expr.xreplace(names))


BATCH_SIZE = sympy.Symbol("batch", integer=True, positive=True)


def axis_size(node: str, dim: str) -> sympy.Symbol:
    """The size of `node` along the spatial axis `dim`, inside a SizeValue."""
    return sympy.Symbol(f"@{node}#{dim}", integer=True)


def axis_of(symbol: sympy.Symbol) -> tuple[str, str] | None:
    name = symbol.name
    if not name.startswith("@") or "#" not in name:
        return None
    node, _, dim = name[1:].rpartition("#")
    return node, dim


def shape_formula(builder: Builder, value: Any, dim: str, where: str, what: str) -> sympy.Expr:
    """A size (an integer or a SizeValue) as a formula on the axis `dim`: the sizes it reads on that axis become
    the nodes' sizes there (shapeops.ref); a size on another axis is a number when that axis is fixed, and is
    refused otherwise (the network states each axis on its own)."""
    from ..shapeops import ref

    size = SizeValue.of(value)
    if size is None:
        raise SpecError(f"{where}: {what} must be an integer or a size of a tensor, got {value!r}")
    if BATCH_SIZE in size.expr.free_symbols:
        raise SpecError(f"{where}: {what} ({size.expr}) depends on the batch size; not modelled")
    swaps: dict[sympy.Basic, sympy.Expr] = {}
    fixed = dict(builder.fixed)
    for symbol in size.expr.free_symbols:
        found = axis_of(symbol)
        if found is None:
            continue
        node, axis = found
        if axis == dim:
            swaps[symbol] = ref(node)
        elif axis in fixed:
            known = builder.node_size(node, axis)
            if known is None:
                raise SpecError(
                    f"{where}: {what} reads the size of {node} along {axis}, which is not a number"
                )
            swaps[symbol] = sympy.Integer(known)
        else:
            raise SpecError(
                f"{where}: {what} is computed from the size along {axis} ({size.expr}); "
                "a size that depends on another axis is not modelled (each axis is stated on its own)"
            )
    return size.expr.xreplace(swaps) if swaps else size.expr
