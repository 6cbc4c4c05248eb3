"""A network's shape table: one row per node with its output shape as formulas in the input sizes, the
conditions it adds, its receptive field, and, at concrete input sizes, its concrete shape; where those sizes
fail, the first node that refuses them and the nearest valid sizes on each failing axis.

Sizes and conditions are read only through Network.sizes and Network.conditions (a condition belongs to the node
its rule names), so every node kind the network knows has a row.

>>> from symconv.nets.network import chain
>>> t = table(chain("conv(k=3, s=2) > maxpool(k=2, s=2)"), at={"i": 4})
>>> [(row.name, expression(row.shape["i"]), row.at) for row in t.rows]
[('input', 'i', {'i': 4}), ('n1', 'floor((i - 3)/2) + 1', {'i': 1}), ('n2', 'floor((i - 1)/4)', None)]
>>> t.failure.node, t.failure.nearest["i"]
('n2', Nearest(below=None, above=5))
"""

from __future__ import annotations

import numbers
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import sympy

from ..core.arith import evaluate
from ..core.errors import SpecError, SymconvError
from ..core.notation import expression
from .network import Network, Node
from .validset import ValidSet

if TYPE_CHECKING:
    from .receptive import Field

# The shape's key for the channel count (and, after a flatten, the feature count).
CHANNELS, FEATURES = "C", "features"
# The widest a shape cell gets in the text table before it wraps (an op, a layer's spec, stays on one line).
SHAPE_WIDTH = 44
# Where conditions wrap: the same text on every terminal and in every pipe (scripts and diffs see one layout).
TEXT_WIDTH = 120


@dataclass(frozen=True)
class Condition:
    """A condition a node adds along one axis, and the rule it states (without the node's name)."""

    axis: str
    condition: sympy.Basic
    rule: str


@dataclass(frozen=True)
class Row:
    """One node: its operation, its output shape (channels where known, then each spatial axis: a formula in
    that axis' input size, a number for a fixed axis; after a flatten, the feature count), the conditions it
    adds, its receptive field per symbolic axis (None for a flattened node, or when none could be computed),
    and its concrete shape at the table's sizes (None when the node is not reached there)."""

    name: str
    op: str
    inputs: tuple[str, ...]
    shape: Mapping[str, sympy.Expr]
    conditions: tuple[Condition, ...]
    receptive_field: Mapping[str, Field] | None
    at: Mapping[str, int] | None = None

    def describe(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "op": self.op,
            "inputs": list(self.inputs),
            "shape": {key: _json_value(value) for key, value in self.shape.items()},
            "conditions": [
                {"axis": c.axis, "condition": _json_value(c.condition), "rule": c.rule}
                for c in self.conditions
            ],
            "receptive_field": None
            if self.receptive_field is None
            else {axis: field.describe() for axis, field in self.receptive_field.items()},
        }
        return data


@dataclass(frozen=True)
class Nearest:
    """The valid sizes of one axis closest to a failing size: the largest below it and the least above it (None
    where there is none)."""

    below: int | None
    above: int | None


@dataclass(frozen=True)
class Failure:
    """The first node (in node order) that refuses the input sizes, the condition it breaks and its rule, the
    sizes of its inputs there, and the nearest valid sizes of every axis that fails."""

    node: str
    op: str
    axis: str
    condition: sympy.Basic
    rule: str
    inputs: Mapping[str, int | None]
    nearest: Mapping[str, Nearest]

    def text(self, sizes: Mapping[str, int]) -> str:
        at = ", ".join(f"{dim} = {value}" for dim, value in sizes.items())
        read = ", ".join(f"{name} is {value}" for name, value in self.inputs.items() if value is not None)
        head = f"at {at}: node {self.node} ({self.op}) fails along {self.axis}: needs {expression(self.condition)}"
        return f"{head} ({self.rule})" + (f"; there {read}" if read else "")


@dataclass(frozen=True)
class Table:
    """The rows in node order; with `at`, the output at those sizes or the failure."""

    rows: tuple[Row, ...]
    dims: tuple[str, ...]
    at: Mapping[str, int] | None = None
    output: Mapping[str, int] | None = None
    failure: Failure | None = None

    def describe(self) -> list[dict[str, Any]]:
        """The rows as JSON (each with "at" when the table was evaluated at sizes)."""
        out = []
        for row in self.rows:
            data = row.describe()
            if self.at is not None:
                data["at"] = None if row.at is None else dict(row.at)
            out.append(data)
        return out

    def describe_at(self) -> dict[str, Any] | None:
        """The evaluation at `at` as JSON: the output, or the failure with the nearest valid sizes."""
        if self.at is None:
            return None
        if self.failure is None:
            return {"input": dict(self.at), "output": dict(self.output or {})}
        f = self.failure
        return {
            "input": dict(self.at),
            "failure": {
                "node": f.node,
                "op": f.op,
                "axis": f.axis,
                "condition": str(f.condition),
                "rule": f.rule,
                "inputs": dict(f.inputs),
            },
            "nearest": describe_nearest(f.nearest),
        }

    def diagnosis(self) -> list[str]:
        """The evaluation at `at` in words (no lines without `at`)."""
        if self.at is None:
            return []
        at = ", ".join(f"{dim} = {value}" for dim, value in self.at.items())
        if self.failure is None:
            sizes = ", ".join(f"{dim} -> {value}" for dim, value in (self.output or {}).items())
            last = self.rows[-1] if self.rows else None
            if last is not None and FEATURES in last.shape:  # a vector: the sizes are those entering it
                count = (last.at or {}).get(FEATURES)
                return [
                    f"at {at}: output {'?' if count is None else count} features (sizes into it: {sizes})"
                ]
            return [f"at {at}: output {sizes}"]
        return [self.failure.text(self.at), *nearest_lines(self.failure.nearest)]

    def text(self, width: int = TEXT_WIDTH) -> str:
        """The rows as an aligned table; a long shape wraps within its column, each condition follows its row on
        lines of its own, wrapped at `width`."""
        return "\n".join(_layout(self, width))


def table(
    net: Network,
    at: Mapping[str, int] | None = None,
    *,
    channels: Mapping[str, int] | None = None,
    fields: Mapping[str, Mapping[str, Field]] | None = None,
    receptive: bool = True,
    valid: Mapping[str, ValidSet] | None = None,
) -> Table:
    """The shape table of `net`, evaluated at the input sizes `at` when given (a size per symbolic axis; a
    fixed axis may be left out). `channels`: each node's channel count where known (default: the network's
    own, which its importer records). `fields`: receptive fields already computed, per axis, at the sizes the
    table uses (those of `at` where the network is defined there, else the first valid size from 256); the
    others are computed here, unless `receptive` is False (no fields). `valid`: the valid sets, when already
    derived (the nearest valid sizes read them)."""
    sizes = None if at is None else input_sizes(net, at.items(), "at")
    known = dict(net.channels) if channels is None else dict(channels)
    flat = flat_nodes(net)
    fixed = dict(net.fixed)
    owned = _owned(net)
    reached = _evaluate(net, sizes) if sizes is not None else None
    failure = _failure(net, sizes, valid) if sizes is not None else None
    computed = _fields(net, sizes if failure is None else None, fields or {}) if receptive else None
    rows = []
    shapes: dict[str, Mapping[str, sympy.Expr]] = {}
    # Read once per axis: Network's cached methods hash the whole network on every call.
    axes = {dim: net.sizes(dim) for dim in net.dims}
    # Rows from the failing node on are not reached.
    reach = len(net.nodes) if failure is None else _index(net, failure.node)
    for index, node in enumerate(net.nodes):
        shape = shapes[node.name] = _shape(axes, node, known, flat, fixed, shapes)
        rf = None if flat[node.name] or computed is None else {d: f[node.name] for d, f in computed.items()}
        concrete = None
        if reached is not None and index < reach:
            concrete = _concrete(shape, reached, node.name, sizes or {})
        rows.append(
            Row(node.name, node_text(node), node.inputs, shape, owned.get(node.name, ()), rf, concrete)
        )
    output = None
    if sizes is not None and failure is None and reached is not None:
        output = net.check(sizes)
    return Table(tuple(rows), net.dims, sizes, output, failure)


def node_text(node: Node) -> str:
    """What a node does, as its row shows it: a layer's spec, or the node kind (with a crop's or linear's
    size)."""
    spec = getattr(node.layer, "spec", None)
    if node.op == "layer" and isinstance(spec, str):
        return spec
    if node.amount is not None:
        return f"{node.op}(size={node.amount})"
    if node.op == "linear" and node.axes:  # the size in_features needs on each axis
        return f"linear({', '.join(f'{dim}={size}' for dim, size in node.axes)})"
    return node.op


def input_sizes(net: Network, pairs: Iterable[tuple[str, Any]], what: str) -> dict[str, int]:
    """Input sizes named by axis, checked: each a known axis given once, a positive integer, every symbolic
    axis given (a fixed axis may be left out, or given its own size); in the network's axis order."""
    axes = ", ".join(net.dims)
    sizes: dict[str, int] = {}
    for name, value in pairs:
        if name not in net.dims:
            raise SpecError(f"{what} names the axis {name!r}; the network's input axes are {axes}")
        if name in sizes:
            raise SpecError(f"{what} gives the axis {name} twice")
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise SpecError(f"{what} sizes must be integers, got {name}={value!r}")
        if value < 1:
            raise SpecError(f"{what} sizes must be positive integers, got {name}={value}")
        sizes[name] = int(value)
    fixed = dict(net.fixed)
    missing = [dim for dim in net.symbolic if dim not in sizes]
    if missing:
        raise SpecError(
            f"{what} gives no size for the axis {', '.join(missing)}; the network's input axes are {axes}"
        )
    for dim, value in fixed.items():
        if sizes.setdefault(dim, value) != value:
            raise SpecError(f"axis {dim} has the fixed size {value} (from the input shape), got {sizes[dim]}")
    return {dim: sizes[dim] for dim in net.dims}


def nearest(valid: ValidSet, size: int) -> Nearest:
    """The largest member of `valid` below `size` and its least member above `size` (None: there is none), from
    the set's period, residues and the sizes listed below its start (no scan over sizes).

    >>> nearest(ValidSet(4, (0,), 8, (2, 3)), 6)
    Nearest(below=3, above=8)
    """
    below = [b for b in valid.below if b < size]
    above = [b for b in valid.below if b > size]
    top = size - 1
    if top >= valid.start:
        below += [v for r in valid.residues if (v := top - (top - r) % valid.period) >= valid.start]
    low = max(size + 1, valid.start)
    above += [low + (r - low) % valid.period for r in valid.residues]
    return Nearest(max(below, default=None), min(above, default=None))


def nearest_lines(found: Mapping[str, Nearest]) -> list[str]:
    """The nearest valid sizes of each failing axis in words, a line each."""
    lines = []
    for dim, near in found.items():
        if near.below is None and near.above is None:
            lines.append(f"  no valid {dim}")
            continue
        around = [f"{near.below} below" if near.below is not None else "none below"]
        around.append(f"{near.above} above" if near.above is not None else "none above")
        lines.append(f"  nearest valid {dim}: {', '.join(around)}")
    return lines


def describe_nearest(found: Mapping[str, Nearest]) -> dict[str, dict[str, int | None]]:
    """The nearest valid sizes as JSON: {axis: {"below": n | null, "above": n | null}}."""
    return {dim: {"below": n.below, "above": n.above} for dim, n in found.items()}


@lru_cache(maxsize=4096)
def _json_value(value: sympy.Basic) -> int | str:
    """A number as a number, a formula or condition as SymPy's string (design.md), once per distinct one."""
    return int(value) if isinstance(value, sympy.Integer) else str(value)


def _index(net: Network, name: str) -> int:
    return next(index for index, node in enumerate(net.nodes) if node.name == name)


def _owner(rule: str, names: Mapping[str, int]) -> tuple[str, str]:
    """(node, rule without the node's name) of a condition's rule: "node NAME (OP): why" names its node (a
    name may hold spaces and parentheses: the first prefix that is a node's name); any other rule (the input's
    own) belongs to the input."""
    if rule.startswith("node "):
        at = rule.find(" (", 5)
        while at != -1:
            name = rule[5:at]
            if name in names:
                why = rule.find("): ", at)
                return name, rule[why + 3 :] if why != -1 else rule
            at = rule.find(" (", at + 1)
    return "input", rule


def _owned(net: Network) -> dict[str, tuple[Condition, ...]]:
    """Each node's conditions over every axis; a condition already stated (by an earlier node, or by this one on
    the same axis) is not added again."""
    names = {node.name: index for index, node in enumerate(net.nodes)}
    out: dict[str, list[Condition]] = {}
    fixed = dict(net.fixed)
    for dim in net.dims:
        if dim in fixed:
            continue  # a fixed size the network refuses is refused when the network is read
        seen: set[sympy.Basic] = set()
        for condition, rule in net.conditions(dim):
            if condition in seen or _always(condition):
                continue
            seen.add(condition)
            name, why = _owner(rule, names)
            out.setdefault(name, []).append(Condition(dim, condition, why))
    return {name: tuple(conditions) for name, conditions in out.items()}


def _always(condition: sympy.Basic) -> bool:
    """A condition that holds at every size by its form: true, or an equation or bound with the same formula on
    both sides (a concatenation of a crop with the size it crops to)."""
    if condition is sympy.true:
        return True
    kind = type(condition)
    return kind in (sympy.Eq, sympy.Ge, sympy.Le) and condition.args[0] == condition.args[1]


def flat_nodes(net: Network) -> dict[str, bool]:
    """Nodes whose output is a vector: a flatten or linear, and what reads only such nodes."""
    flat: dict[str, bool] = {}
    for node in net.nodes:
        flat[node.name] = node.op in ("flatten", "linear") or (
            bool(node.inputs) and all(flat[name] for name in node.inputs)
        )
    return flat


def _shape(
    axes: Mapping[str, Mapping[str, sympy.Expr]],
    node: Node,
    channels: Mapping[str, int],
    flat: Mapping[str, bool],
    fixed: Mapping[str, int],
    before: Mapping[str, Mapping[str, sympy.Expr]],
) -> Mapping[str, sympy.Expr]:
    """The node's output shape: its channel count when known, then each axis' size (a number on a fixed axis);
    a flattened node's feature count (the flatten's channels times its sizes when the count is not known; what
    reads a flattened node without a count of its own has its input's)."""
    sizes = {}
    for dim, every in axes.items():
        size = every[node.name]
        sizes[dim] = sympy.Integer(int(evaluate(size, {dim: fixed[dim]}))) if dim in fixed else size
    count = channels.get(node.name)
    if flat[node.name]:
        if count is not None:
            return {FEATURES: sympy.Integer(count)}
        if node.op != "flatten":
            return before[node.inputs[0]]
        c = channels.get(node.inputs[0])
        factor = sympy.Integer(c) if c is not None else sympy.Symbol(CHANNELS, positive=True, integer=True)
        return {FEATURES: sympy.Mul(factor, *sizes.values(), evaluate=False)}
    return ({CHANNELS: sympy.Integer(count)} if count is not None else {}) | sizes


def _evaluate(net: Network, sizes: Mapping[str, int]) -> dict[str, dict[str, int | None]]:
    """Every node's size along every axis at the input sizes (None where a formula is undefined there)."""
    out: dict[str, dict[str, int | None]] = {}
    for dim in net.dims:
        env = {dim: sizes[dim]}
        values: dict[str, int | None] = {}
        for name, expr in net.sizes(dim).items():
            try:
                values[name] = int(evaluate(expr, env))
            except (ZeroDivisionError, TypeError, SymconvError):
                values[name] = None
        out[dim] = values
    return out


def _concrete(
    shape: Mapping[str, sympy.Expr],
    values: Mapping[str, Mapping[str, int | None]],
    name: str,
    sizes: Mapping[str, int],
) -> dict[str, int] | None:
    """A row's shape at the input sizes `sizes`: each axis' size there; channels as they are, a feature count
    evaluated there when it is a number (None: a size is undefined there)."""
    out: dict[str, int] = {}
    for key, value in shape.items():
        number = values[key][name] if key in values else _number(value, sizes)
        if number is None:
            if key in values:
                return None
            continue
        out[key] = number
    return out


def _number(expr: sympy.Expr, sizes: Mapping[str, int]) -> int | None:
    try:
        value = evaluate(expr, sizes)
    except (ZeroDivisionError, TypeError, KeyError, SymconvError):
        return None  # undefined there, or a count that depends on an unknown channel number
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _failure(net: Network, sizes: Mapping[str, int], valid: Mapping[str, ValidSet] | None) -> Failure | None:
    """The first node in node order with a condition that fails at `sizes` (None: the network is defined
    there), and the nearest valid sizes of every failing axis."""
    failing: dict[str, tuple[int, sympy.Basic, str]] = {}
    names = {node.name: index for index, node in enumerate(net.nodes)}
    fixed = dict(net.fixed)
    for dim in net.dims:
        if dim in fixed:
            continue
        for condition, rule in net.conditions(dim):
            if not _holds(condition, {dim: sizes[dim]}):
                failing[dim] = (names[_owner(rule, names)[0]], condition, rule)
                break
    if not failing:
        return None
    dim = min(failing, key=lambda d: failing[d][0])
    index, condition, rule = failing[dim]
    node = net.nodes[index]
    inputs: dict[str, int | None] = {}
    for name in node.inputs:
        try:
            inputs[name] = int(evaluate(net.sizes(dim)[name], {dim: sizes[dim]}))
        except (ZeroDivisionError, TypeError, SymconvError):
            inputs[name] = None
    sets = net.valid_inputs() if valid is None else valid
    near = {d: nearest(sets[d], sizes[d]) for d in net.dims if d in failing}
    return Failure(node.name, node_text(node), dim, condition, _owner(rule, names)[1], inputs, near)


def _holds(condition: sympy.Basic, env: Mapping[str, int]) -> bool:
    try:
        return bool(evaluate(condition, env))
    except ZeroDivisionError:
        return False


def _fields(
    net: Network, sizes: Mapping[str, int] | None, given: Mapping[str, Mapping[str, Field]]
) -> dict[str, Mapping[str, Field]] | None:
    """Every node's receptive field along each symbolic axis, at that axis' size in `sizes` (when the network
    is defined there) or at the first valid size from 256; None when none can be computed."""
    from .receptive import receptive_fields

    out: dict[str, Mapping[str, Field]] = {}
    for dim in net.symbolic:
        if dim in given:
            out[dim] = given[dim]
            continue
        size = sizes[dim] if sizes is not None else None
        try:
            out[dim] = receptive_fields(net, size, dim)
        except SymconvError:
            if size is None:
                return None
            try:
                out[dim] = receptive_fields(net, None, dim)
            except SymconvError:
                return None
    return out


# ---------------------------------------------------------------------------------------------------------------
# The text table


def _layout(t: Table, width: int) -> list[str]:
    keys = _shape_keys(t)
    headers = ["node", "op", f"shape ({', '.join(keys)})", "receptive field (size, jump, start)"]
    if t.at is not None:
        headers.append("at " + ", ".join(f"{dim}={value}" for dim, value in t.at.items()))
    cells = []
    for row in t.rows:
        cell = [row.name, _op_cell(row), _shape_cell(row.shape, keys), _field_cell(row)]
        if t.at is not None:
            cell.append(_at_cell(row, t, keys))
        cells.append(cell)
    widths = [
        max(len(h), *(len(line) for c in cells for line in c[i].split("\n"))) for i, h in enumerate(headers)
    ]
    widths[2] = min(widths[2], max(SHAPE_WIDTH, len(headers[2])))
    lines = [_joined(headers, widths), _joined(["-" * w for w in widths], widths)]
    indent = " " * (widths[0] + 2)
    for row, cell in zip(t.rows, cells, strict=True):
        wrapped = [_wrapped(text, widths[i]) for i, text in enumerate(cell)]
        for k in range(max(len(w) for w in wrapped)):
            lines.append(_joined([w[k] if k < len(w) else "" for w in wrapped], widths))
        for text in _condition_lines(row):
            lines += textwrap.wrap(
                text,
                max(40, width),
                initial_indent=indent + "needs ",
                subsequent_indent=indent + "      ",
                break_long_words=False,
            )
    return lines


def _wrapped(text: str, width: int) -> list[str]:
    """A cell's lines: a list of formulas breaks after a comma between two of them; a formula longer than the
    column breaks at its spaces."""
    if len(text) <= width:
        return [text]
    pieces, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            pieces.append(text[start : index + 1])
            start = index + 2
    pieces.append(text[start:])
    lines: list[str] = []
    for piece in pieces:
        if lines and len(lines[-1]) + 1 + len(piece) <= width:
            lines[-1] += " " + piece
        else:
            lines += textwrap.wrap(piece, width, break_long_words=False) or [""]
    return lines or [""]


@lru_cache(maxsize=4096)
def _printed(value: Any) -> str:
    """expression(value), once per distinct formula: a network repeats its sizes (every same-padded layer), and
    SymPy's printer costs milliseconds per formula."""
    return expression(value)


def _joined(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()


def _shape_keys(t: Table) -> list[str]:
    """The table's shape columns: C when some node knows its channels, then the axes."""
    known = any(CHANNELS in row.shape for row in t.rows)
    return [CHANNELS, *t.dims] if known else list(t.dims)


def _op_cell(row: Row) -> str:
    return f"{row.op}({', '.join(row.inputs)})" if len(row.inputs) > 1 else row.op


def _shape_cell(shape: Mapping[str, Any], keys: Sequence[str]) -> str:
    """[C, H, W] with ? for a channel count not known; a flattened node's feature count."""
    if FEATURES in shape:
        return f"{_printed(shape[FEATURES])} features"
    return "[" + ", ".join(_printed(shape[key]) if key in shape else "?" for key in keys) + "]"


def _field_cell(row: Row) -> str:
    if row.receptive_field is None:
        return ""
    parts = {}
    for dim, field in row.receptive_field.items():
        d = field.describe()
        size = d["size"] if d["uniform"] else f"up to {d['size']}"
        parts[dim] = f"{size}, {d['stride']}, {d['start']}"
    if len(set(parts.values())) == 1:
        return next(iter(parts.values()))
    return "; ".join(f"{dim}: {text}" for dim, text in parts.items())


def _at_cell(row: Row, t: Table, keys: Sequence[str]) -> str:
    if t.failure is not None and row.name == t.failure.node:
        return "fails"
    if row.at is None:
        return "-"
    if FEATURES in row.shape and FEATURES not in row.at:
        return "? features"  # the count depends on channels that are not known
    return _shape_cell(row.at, keys)


def _condition_lines(row: Row) -> list[str]:
    """A row's conditions, one per line; a condition stated alike on every axis (the same formula in each
    axis' size) is written once, for the first axis, with "likewise" naming the others."""
    lines: list[str] = []
    done: set[int] = set()
    conditions = list(row.conditions)
    for index, c in enumerate(conditions):
        if index in done:
            continue
        alike = []
        for other_index, other in enumerate(conditions):
            if other_index <= index or other_index in done or other.axis == c.axis:
                continue
            if re.sub(rf"\b{re.escape(other.axis)}\b", c.axis, other.rule) != c.rule:
                continue
            renamed = c.condition.xreplace({_axis_symbol(c.axis): _axis_symbol(other.axis)})
            if renamed == other.condition:
                alike.append(other.axis)
                done.add(other_index)
        likewise = f", likewise {', '.join(alike)}" if alike else ""
        lines.append(f"{_printed(c.condition)}{likewise} ({c.rule})")
    return lines


def _axis_symbol(dim: str) -> sympy.Symbol:
    from ..core.arith import symbol

    return symbol(dim)


__all__ = [
    "Condition",
    "Failure",
    "Nearest",
    "Row",
    "Table",
    "describe_nearest",
    "input_sizes",
    "nearest",
    "nearest_lines",
    "node_text",
    "table",
]
