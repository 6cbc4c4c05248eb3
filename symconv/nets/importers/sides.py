"""Two-sided branches on sizes where one side is an identity wherever the other is taken.

A U-Net's decoder resizes its upsampled tensor to the skip's size only where they differ:
``if x.shape != skip.shape: x = F.interpolate(x, size=skip.shape[2:])``. Both sides run to the end, so the
branch is no condition of validity (importers.branches); but the resizing side is the identity wherever the
sizes are equal, since PyTorch's interpolation to the input's own size copies it in every mode (a linear or
cubic tap then weighs exactly 0). So at every input size the model computes what the resizing side computes,
and it is read as that side, without the guard.

This is checked, not assumed. Each two-sided decision's sides are compared (the nodes between it and the next
decision, by the line of the model's code that made them, their kind and their target): the side that makes
more (the full side) must make every node the other makes. The forward is then traced taking every full side,
each decision recorded as the guard of its other side (`branches.taking`), and compared with the trace that
takes every other side: what it adds after a decision may only be resizes whose size that guard states, on
every axis, equal to the resized tensor's (or that keep the size outright). Anything else keeps the refusal,
naming the branch and what differs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import sympy

from ...core.arith import evaluate
from ...core.errors import SpecError
from ..network import Network, Node, step
from . import Tensor
from .branches import Guarded, confirm_guards, decided_before, node_line, taking, two_sided


@dataclass
class Read:
    """What reading a traced graph made: each network node's fx node, and each fx node's value (a Tensor, a
    size, ...)."""

    made: dict[str, Any] = field(default_factory=dict)
    values: dict[Any, Any] = field(default_factory=dict)


# read(traced, record): the network of a traced graph, `record` filled as it is read
Reader = Callable[[Any, Read], Network]


def read_two_sided(
    torch: Any, trace: Callable[[Any], Any], guarded: Guarded, others: dict[int, Any], read: Reader
) -> Network:
    """The network that takes the full side of each two-sided decision (`others`: each one's other trace),
    without their guards, where that side adds only identities wherever its other side is taken; else a
    SpecError naming the branch."""
    full = {index: _full_side(guarded, index, traced) for index, traced in others.items()}
    full_trace = taking(torch, trace, guarded, full)
    lean = {index: not side for index, side in full.items()}
    if all(guarded.decisions[index].taken == side for index, side in lean.items()):
        lean_graph = guarded.traced.graph
    else:
        lean_graph = taking(torch, trace, guarded, lean).traced.graph
    record = Read()
    network = read(full_trace.traced, record)
    guard_of = {full_trace.decisions[index].guard: index for index in full}
    # the check nodes of each decision's guard (one per compared size)
    checks: dict[int, list[str]] = {index: [] for index in full}
    for name, fx_node in record.made.items():
        if fx_node.name in guard_of:
            checks[guard_of[fx_node.name]].append(name)
    nodes = {node.name: node for node in network.nodes}
    made_by: dict[Any, list[Node]] = {}
    for name, fx_node in record.made.items():
        made_by.setdefault(fx_node, []).append(nodes[name])

    def transparent(fx_node: Any) -> bool:
        return _transparent(fx_node, record.values, made_by.get(fx_node, []))

    # decisions whose other side no input takes (its guard fails at the fixed sizes): nothing to be equal to
    never = {
        index
        for index, names in checks.items()
        if any(getattr(entry, "never", False) for name in names for _, entry in nodes[name].axes)
    }
    first = min(full)
    extra, unmatched = _matched(list(lean_graph.nodes), list(full_trace.traced.graph.nodes), transparent)
    for fx_node in extra:
        index = decided_before(fx_node) - 1
        if index not in full:
            raise two_sided(guarded, first, f" (taking every full side together adds {_shown(fx_node)})")
        if index in never:
            continue
        if isinstance(record.values.get(fx_node), Tensor) and not transparent(fx_node):
            raise two_sided(
                guarded,
                index,
                f" (one side makes {_shown(fx_node)}, where the other makes nothing; only resizes to the size "
                "the tensor has, and operations that keep every size and position, are read as the same network)",
            )
        for node in made_by.get(fx_node, []):
            _identity(network, node, checks[index], guarded, index, fx_node)
    if unmatched is not None:
        raise two_sided(
            guarded, first, f" (taking every full side together does not make {_shown(unmatched)})"
        )
    dropped = {name for names in checks.values() for name in names}
    refusal = unstated(network, dropped)
    if refusal is not None:
        raise refusal
    sized = {node.name for node in network.nodes if node.op == "check" and node.name not in dropped}
    again = confirm_guards(torch, trace, full_trace, sized)
    if again:
        raise two_sided(full_trace, min(again), " (taken with the full sides of the other branches)")
    return Network(
        tuple(node for node in network.nodes if node.name not in dropped),
        network.dims,
        network.fixed,
        tuple((name, count) for name, count in network.channels if name not in dropped),
    )


def _transparent(fx_node: Any, values: dict[Any, Any], made: list[Node]) -> bool:
    """Whether an added fx node passes its first input on, as far as sizes and positions go: its tensor is its
    input's (an elementwise op, an activation), or one resize of it (shown an identity by `_identity`)."""
    inputs = fx_node.all_input_nodes
    value, before = values.get(fx_node), values.get(inputs[0]) if inputs else None
    if not isinstance(value, Tensor) or not isinstance(before, Tensor):
        return False
    if dataclasses.replace(value, node=before.node) != before:
        return False  # other channels, or axes moved
    if not made:
        return value.node == before.node
    return len(made) == 1 and made[0].op == "resize" and made[0].inputs[:1] == (before.node,)


def _full_side(guarded: Guarded, index: int, other: Any) -> bool:
    """The side of decision `index` that makes every node the other makes, and more (the traced side where
    both make the same); what it adds is checked once read (`read_two_sided`)."""
    taken = guarded.decisions[index].taken
    traced, others = list(guarded.traced.graph.nodes), list(other.graph.nodes)
    if _matched(traced, others, lambda _: True)[1] is None:
        return not taken
    if _matched(others, traced, lambda _: True)[1] is None:
        return taken
    raise two_sided(guarded, index, " (each side makes nodes the other does not)")


def _matched(
    lean: list[Any], full: list[Any], transparent: Callable[[Any], bool]
) -> tuple[list[Any], Any | None]:
    """The fx nodes `full` makes beyond `lean` (in order), and the first node of `lean` that no node of `full`
    matches (None: every one is): made at the same line of the model's code, of the same kind and target, after
    the same number of decisions, and with the same arguments (nodes as matched; a node `full` adds that is
    `transparent` read as its first input). The guards' own nodes are left out."""
    fx_map: dict[Any, Any] = {}  # a lean node -> its match in full
    extra: list[Any] = []
    added: set[Any] = set()
    position = 0
    full = [node for node in full if not node.meta.get("symconv_guard")]

    def passed(node: Any) -> Any:
        while node in added and node.all_input_nodes and transparent(node):
            node = node.all_input_nodes[0]
        return node

    for node in (node for node in lean if not node.meta.get("symconv_guard")):
        want = (_key(node), _arguments(node, lambda n: fx_map.get(n, n)))
        for ahead in range(position, len(full)):
            candidate = full[ahead]
            if _key(candidate) == want[0] and _arguments(candidate, passed) == want[1]:
                fx_map[node] = candidate
                extra += full[position:ahead]
                position = ahead + 1
                break
            added.add(candidate)  # skipped so far: added, unless this lean node turns out unmatched
        else:
            # what the full side adds before it, for the message: the rest of its segment
            segment = [rest for rest in full[position:] if decided_before(rest) == decided_before(node)]
            return extra + segment, node
    return extra + full[position:], None


def _key(node: Any) -> tuple[Any, ...]:
    return (node.meta.get("symconv_line"), node.op, node.target, decided_before(node))


def _arguments(node: Any, mapped: Callable[[Any], Any]) -> Any:
    """The node's arguments with each node they read replaced by `mapped(node)` (compared by identity)."""
    return _replaced((node.args, node.kwargs), mapped)


def _replaced(value: Any, mapped: Callable[[Any], Any]) -> Any:
    if isinstance(value, tuple | list):
        return (type(value).__name__, *(_replaced(item, mapped) for item in value))
    if isinstance(value, dict):
        return {key: _replaced(item, mapped) for key, item in value.items()}
    if isinstance(value, slice):
        return ("slice", *(_replaced(part, mapped) for part in (value.start, value.stop, value.step)))
    if hasattr(value, "all_input_nodes") and hasattr(value, "graph"):  # an fx node
        return _Same(mapped(value))
    return value


class _Same:
    """A graph node inside arguments, equal to another only where it is the same node."""

    __slots__ = ("node",)

    def __init__(self, node: Any) -> None:
        self.node = node

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.node is self.node

    def __hash__(self) -> int:
        return id(self.node)


def _shown(node: Any) -> str:
    line = node_line(node)
    return f"{node.name}" + (f" at {line}" if line else "")


def _identity(
    network: Network, node: Node, checks: list[str], guarded: Guarded, index: int, fx_node: Any
) -> None:
    """A SpecError unless `node` keeps every axis' size wherever the guard's checks hold: a resize to a size the
    guard states equal to its input's, or one that keeps the size outright."""
    if node.op != "resize":
        raise two_sided(
            guarded,
            index,
            f" (one side makes {_shown(fx_node)}, a {node.op}, where the other makes nothing; only resizes to "
            "the size the tensor has are read as the same network)",
        )
    fixed = dict(network.fixed)
    for dim in network.dims:
        sizes = network.sizes(dim)
        before, after = sizes[node.inputs[0]], sizes[node.name]
        if dim in fixed:
            if evaluate(before - after, {dim: fixed[dim]}) == 0:
                continue
        elif before == after or _stated(network, checks, sizes, dim, {before, after}):
            continue
        raise two_sided(
            guarded,
            index,
            f" (one side resizes at {_shown(fx_node)}, and the other side's condition does not state that "
            f"the size along {dim} is kept)",
        )


def _stated(
    network: Network, checks: list[str], sizes: dict[str, sympy.Expr], dim: str, sides: set[sympy.Expr]
) -> bool:
    """Whether one of the guard's checks states the two sizes equal along `dim`."""
    along = {node.name: node for node in network.along(dim).nodes}
    for name in checks:
        _, rules = step(along[name], sizes, dim, True)
        if any(isinstance(c, sympy.Eq) and {c.lhs, c.rhs} == sides for c, _ in rules):
            return True
    return False


def unstated(network: Network, dropped: Collection[str] = ()) -> SpecError | None:
    """The refusal of the first guard the importer could not state per axis and that is not dropped."""
    for node in network.nodes:
        if node.op == "check" and node.name not in dropped:
            for _, entry in node.axes:
                if getattr(entry, "unstated", ""):
                    return SpecError(entry.unstated)
    return None
