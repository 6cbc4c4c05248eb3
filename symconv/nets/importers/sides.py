"""Two-sided branches on sizes where one side is an identity wherever the other is taken.

A U-Net's decoder resizes its upsampled tensor to the skip's size only where they differ:
``if x.shape != skip.shape: x = F.interpolate(x, size=skip.shape[2:])``. Both sides run to the end, so the
branch is no condition of validity (importers.branches); but the resizing side is the identity wherever the
sizes are equal, since PyTorch's interpolation to the input's own size copies it in every mode (a linear or
cubic tap then weighs exactly 0). So at every input size the model computes what the resizing side computes,
and it is read as that side, without the guard. Likewise a pad to a multiple (``if ph or pw: x = F.pad(x,
(0, pw, 0, ph))``) pads by 0 wherever it is not taken, and Swin's crop back (``x[:, :H, :W]``) takes the
whole tensor there.

This is checked, not assumed. Each two-sided decision's sides are compared (the nodes between it and the next
decision, by their kind, their target and their arguments, made on the same line where that matches): the side
that makes more (the full side) must make every node the other makes. The forward is then traced taking every
full side, each decision recorded as the guard of its other side (`branches.taking`), and compared with the
trace that takes every other side: what it adds after a decision may only be resizes, pads and slices that keep
every size and position wherever that guard (and the decisions before it that both take) holds, solved in
closed form per axis (or operations that keep the size outright).

A side that asks other questions (`if ph > 0 or pw > 0:` stops at the first where H needs padding) is
explored path by path (`branches.Paths`): each path that runs to the end must make nothing the network does
not, and what the network adds must keep every size and position under that path's own guards, as must every
guard the network keeps hold there; each path that ends in the model refusing must be one where the network is
not defined (along some axis, its guards and the network's kept conditions meet no size). Where every branch's
statement is independent (importers.statements), each branch's sides are compared on their own instead of
every mix, under that branch's guards and the conditions of validity (what another branch's side makes, under
that branch's guards too). Where the traced
path is the lean one, the path that makes more is read instead (`fuller`). Anything else keeps the refusal,
naming the branch and what differs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import sympy

from ...core.arith import evaluate
from ...core.errors import SpecError, SymconvError
from ..network import Network, Node, step
from ..shapeops import Pad, Slice, resolve
from ..validset import solved
from . import Tensor
from .branches import (
    Decision,
    Guarded,
    Outcome,
    Paths,
    confirm_guards,
    decided_before,
    node_line,
    path,
    taking,
    two_sided,
)


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
    """The network that takes the full side of each two-sided decision (`others`: each one's other trace, or
    the Paths of a side that asks other questions), without their guards, where every side not taken adds
    nothing but identities wherever it is taken; else a SpecError naming the branch."""
    paths = {index: found for index, found in others.items() if isinstance(found, Paths)}
    full = {
        index: _full_side(guarded, index, traced)
        for index, traced in others.items()
        if not isinstance(traced, Paths)
    }
    full_trace = taking(torch, trace, guarded, full) if full else guarded
    independent = all(d.local for d in (*guarded.decisions, *full_trace.decisions))
    realigned = next(
        (
            index
            for index, found in paths.items()
            for outcome in found.outcomes + found.refusals
            if outcome.own
        ),
        None,
    )
    if realigned is not None and not independent:
        raise two_sided(
            guarded, realigned, " (its side branches again, and the branches are not independent)"
        )
    # the branches with two sides, whose guards count only for what their own sides make (independent sides)
    free = tuple(others) if independent else None
    record = Read()
    network = read(full_trace.traced, record)
    guard_of = {decision.guard: index for index, decision in enumerate(full_trace.decisions)}
    # the check nodes of each decision's guard (one per compared size)
    checks: dict[int, list[str]] = {index: [] for index in range(len(full_trace.decisions))}
    nodes = {node.name: node for node in network.nodes}
    made_by: dict[Any, list[Node]] = {}
    for name, fx_node in record.made.items():
        made_by.setdefault(fx_node, []).append(nodes[name])
        if fx_node.name in guard_of:
            checks[guard_of[fx_node.name]].append(name)
    full_side = _Side(network, record.values, made_by)
    dropped = {name for index in (*full, *paths) for name in checks[index]}
    if full:
        lean = {index: not side for index, side in full.items()}
        if all(guarded.decisions[index].taken == side for index, side in lean.items()):
            lean_graph = guarded.traced.graph
        else:
            lean_graph = taking(torch, trace, guarded, lean).traced.graph
        full_side = _rests(full_side, lean_graph, full_trace, full, checks)
        # decisions whose other side no input takes (its guard fails at the fixed sizes): no mix takes it
        never = {index for index in full if _never(nodes, checks[index])}
        taken = {index: side for index, side in full.items() if index not in never}
        for sides in (
            [{index: not side} for index, side in taken.items()]
            if independent
            else _combinations(taken, guarded)
        ):
            # every mix of sides is traced where a later branch may depend on an earlier one's side (a flag);
            # where none can (importers.statements), each side on its own, under its own guards
            outcome = path(torch, trace, full_trace, sides)
            first = min(index for index, side in sides.items() if side != full[index])
            if outcome.kind in ("ran", "refused"):
                flipped = {
                    k
                    for index, side in sides.items()
                    if side != full[index]
                    for k in _condition_of(outcome, index)
                }
                outcome = dataclasses.replace(outcome, own=tuple(sorted(flipped)))
            if outcome.kind == "ran":
                _other_path(full_side, full_trace, outcome, dropped, read, guarded, first, free, others)
            elif outcome.kind == "refused":
                _refusing_path(full_side, outcome, dropped, read, guarded, first, free)
            else:
                raise two_sided(guarded, first, " (its sides and others' together branch again or fail)")
    for index, found in paths.items():
        for outcome in found.outcomes:
            _other_path(full_side, full_trace, outcome, dropped, read, guarded, index, free, others)
        for outcome in found.refusals:
            _refusing_path(full_side, outcome, dropped, read, guarded, index, free)
    refusal = unstated(network, dropped)
    if refusal is not None:
        raise refusal
    sized = {node.name for node in network.nodes if node.op == "check" and node.name not in dropped}
    again = confirm_guards(torch, trace, full_trace, sized)
    if again:
        raise two_sided(full_trace, min(again), " (taken with the full sides of the other branches)")
    network = full_side.network
    return Network(
        tuple(node for node in network.nodes if node.name not in dropped),
        network.dims,
        network.fixed,
        tuple((name, count) for name, count in network.channels if name not in dropped),
    )


@dataclass(frozen=True)
class _Side:
    """A read trace: its network, each fx node's value, and the network nodes each fx node made."""

    network: Network
    values: dict[Any, Any]
    made_by: dict[Any, list[Node]]
    # nodes of the network made otherwise than traced (a pad by the rest of a division): the node as traced
    original: dict[str, Node] = field(default_factory=dict)

    def transparent(self, fx_node: Any) -> bool:
        """Whether an fx node passes its first input on as far as sizes and positions go (`_transparent`)."""
        return _transparent(fx_node, self.values, self.made_by.get(fx_node, []))


def _rests(
    side: _Side, lean_graph: Any, full_trace: Guarded, full: dict[int, bool], checks: dict[int, list[str]]
) -> _Side:
    """The full side with each pad it adds by the rest of a division made the pad of every size
    (`_by_the_rest`, shown from its decision's guard alone); every mix of sides is compared with it after."""
    extra, _ = _matched(
        list(lean_graph.nodes), list(full_trace.traced.graph.nodes), side.transparent, commutes=lambda _: True
    )
    for fx_node in extra:
        index = decided_before(fx_node) - 1
        for node in side.made_by.get(fx_node, []) if index in full else ():
            instead = _by_the_rest(side.network, node, checks[index])
            if instead is not None:  # later sizes follow the pad as every size takes it
                original = {**side.original, node.name: node}
                rewritten = _replaced_nodes(side.network, {node.name: instead})
                side = dataclasses.replace(side, network=rewritten, original=original)
    return side


# Two-sided decisions whose every mix of sides is traced (2 ** 6 - 1 traces): more are refused
COMBINED = 6


def _combinations(full: dict[int, bool], guarded: Guarded) -> list[dict[int, bool]]:
    """Every choice of a side for each two-sided decision but the one of all full sides."""
    indices = sorted(full)
    if len(indices) > COMBINED:
        raise two_sided(
            guarded,
            indices[0],
            f" (with {len(indices) - 1} more branches of two sides: every mix of sides is traced, and "
            f"{2 ** len(indices)} mixes are more than the {2**COMBINED} traced)",
        )
    return [
        {index: full[index] != bool(bits >> k & 1) for k, index in enumerate(indices)}
        for bits in range(1, 2 ** len(indices))
    ]


def fuller(guarded: Guarded, others: dict[int, Any]) -> Guarded | None:
    """A path through the other side of a decision that asks other questions and makes every node the traced
    path makes, and more (`if ph or pw: x = F.pad(...)` traced where neither pads, W fixed): the trace to read
    the network from instead, its paths then compared with it (None where there is none)."""
    traced = list(guarded.traced.graph.nodes)
    for found in others.values():
        for outcome in found.outcomes if isinstance(found, Paths) else ():
            path = list(outcome.traced.graph.nodes)
            # the calls that only compute guards, whatever their values: left out of the choice
            skip, path_skip = _guard_only(traced, {}, ()), _guard_only(path, {}, ())
            # which trace to read (every path is compared after): operands of sums in either order
            _, unmatched = _matched(
                traced, path, lambda _: True, after_decisions=False, skip=skip, commutes=lambda _: True
            )
            if unmatched is None and len(path) - len(path_skip) > len(traced) - len(skip):
                pairs = zip(outcome.decisions, guarded.decisions, strict=False)
                flipped = next(d for d, was in pairs if d.taken != was.taken)
                return Guarded(
                    outcome.traced, outcome.decisions, guarded.shape, _read_instead(guarded, flipped)
                )
    return None


_READ_INSTEAD = "on the path read, which takes the branch"


def _read_instead(guarded: Guarded, flipped: Decision) -> str:
    """How the messages name a path read instead of the traced one: the branches it takes the other way (each
    once, however many paths were read in turn) and the sample size."""
    text = guarded.sample
    if text.startswith(_READ_INSTEAD):
        places, _, size = text.removeprefix(_READ_INSTEAD).partition(" the other way from ")
        wheres = [where.strip() for where in places.removeprefix("es").removeprefix(" at").split(",")]
    else:
        wheres, size = [], text.removeprefix("at ").removesuffix(" (the traced path)")
    wheres = [*dict.fromkeys([*wheres, flipped.where])]
    return (
        f"{_READ_INSTEAD}{'es' if len(wheres) > 1 else ''} at {', '.join(wheres)} the other way from {size}"
    )


def _other_path(
    side: _Side,
    full_trace: Guarded,
    outcome: Outcome,
    dropped: Collection[str],
    read: Reader,
    guarded: Guarded,
    index: int,
    others: Collection[int] | None = None,
    branches: Collection[int] = (),
) -> None:
    """A SpecError unless a path that asks other questions (`outcome`, through the other side of decision
    `index`) computes the network of the full trace wherever it is taken: it makes nothing the full trace does
    not (the nodes that only compute its guards aside), what the full trace adds keeps every size and position,
    and every guard the network keeps holds, under the path's own guards. Under independent sides (`others`:
    the branches with two sides, importers.statements) the guards of those branches count only for what
    their own sides make."""
    record = Read()
    try:
        taken = _read_path(outcome.traced, outcome, read, record, guarded, others)
    except SpecError as error:  # a path read on its own: a later branch decided otherwise there, say
        raise two_sided(guarded, index, f" (a path through its other side is not read: {error})") from None
    if taken.never(guarded, index):
        return  # a path no input takes at the fixed sizes
    given = taken.given(())
    lean = list(outcome.traced.graph.nodes)
    full = list(full_trace.traced.graph.nodes)
    skipped = _guard_only(lean, record.values, set(record.made.values()))

    def tensor(node: Any) -> bool:
        return isinstance(record.values.get(node, side.values.get(node)), Tensor)

    extra, unmatched = _matched(
        lean, full, side.transparent, after_decisions=False, skip=skipped, commutes=tensor
    )
    if unmatched is not None:
        made = next(
            (n for n in extra if isinstance(side.values.get(n), Tensor) and not side.transparent(n)), None
        )
        why = (
            f"a path through its other side makes {_shown(unmatched)}, which the network read does not"
            if unmatched.op != "output"
            else "the two sides return different tensors"
            if made is None
            else f"one side makes {_shown(made)}, which the other does not"
        )
        raise two_sided(guarded, index, f" ({why})")
    for fx_node in extra:
        within = taken.given(_sides_of(full_trace, fx_node, others))
        _added(side, fx_node, within, guarded, index, "the network read", "a path through its other side")
    # a node the network makes otherwise than traced must be the traced one wherever the path makes it
    made = {node.name: fx_node for fx_node, nodes in side.made_by.items() for node in nodes}
    for name, traced in side.original.items():
        if made[name] not in extra:
            within = taken.given(_sides_of(full_trace, made[name], others))
            _same_node(side.network, traced, guarded, index, within)
    # the guards the network keeps must hold wherever the path is taken
    kept = _kept(side, dropped)
    nodes = {node.name: node for node in side.network.nodes}
    for name in kept:
        _identity(side.network, nodes[name], given, guarded, index, f"the guard {name}")
    # and where the path is taken, the conditions of validity it meets (its refusals answered as traced) must
    # follow from its own guards and those the network keeps: a size the side rebinds may make a later refusal
    # ask another question there (`if h % 3: h = h + 1`, then `if h < 10: raise`)
    own = taken.own_given()
    for dim, claims in taken.validity(guarded, branches).items():
        context = own.get(dim, []) + _conditions(side.network, kept, dim)
        if not all(_implied(claim, context, dim) for claim in claims):
            raise two_sided(
                guarded,
                index,
                f" (where its other side is taken, a condition of validity along {dim} is not the network's)",
            )


def _kept(side: _Side, dropped: Collection[str]) -> list[str]:
    """The network's guards that stay conditions of validity (its check nodes not dropped), in order."""
    return [node.name for node in side.network.nodes if node.op == "check" and node.name not in dropped]


def _added(
    side: _Side,
    fx_node: Any,
    given: dict[str, list[sympy.Basic]],
    guarded: Guarded,
    index: int,
    maker: str,
    other: str,
) -> None:
    """A SpecError unless an fx node that `maker` makes and `other` does not keeps every size and position
    wherever the conditions `given` hold (an operation that keeps its input's tensor, or a resize, pad or slice
    that `_identity` shows keeps it)."""
    if isinstance(side.values.get(fx_node), Tensor) and not side.transparent(fx_node):
        raise two_sided(
            guarded,
            index,
            f" ({maker} makes {_shown(fx_node)}, which {other} does not; only resizes, pads and slices that keep "
            "the size the tensor has, and operations that keep every size and position, are read as the same "
            "network)",
        )
    for node in side.made_by.get(fx_node, []):
        _identity(side.network, _current(side, node), given, guarded, index, _shown(fx_node))


def _current(side: _Side, node: Node) -> Node:
    """The network's node of that name (made otherwise than traced, `_rests`, or as traced)."""
    return next((each for each in side.network.nodes if each.name == node.name), node)


def _same_node(
    network: Network, traced: Node, guarded: Guarded, index: int, given: dict[str, list[sympy.Basic]]
) -> None:
    """A SpecError unless the network's pad of that name pads as the traced one wherever `given` holds."""
    made = next(node for node in network.nodes if node.name == traced.name)
    fixed = dict(network.fixed)
    for dim in (dim for dim in network.dims if dim not in fixed):
        sizes = network.sizes(dim)
        now, then = dict(made.axes).get(dim), dict(traced.axes).get(dim)
        if not isinstance(now, Pad) or not isinstance(then, Pad):
            continue
        if not all(
            _implied(sympy.Eq(resolve(a, sizes), resolve(b, sizes)), given.get(dim, []), dim)
            for a, b in ((now.begin, then.begin), (now.end, then.end))
        ):
            raise two_sided(
                guarded,
                index,
                f" (the pad {traced.name}, read as the pad of every size, is not the one traced along {dim} "
                "where another side is taken)",
            )


def _replaced_nodes(network: Network, rewritten: dict[str, Node]) -> Network:
    """The network with the nodes named in `rewritten` replaced."""
    return dataclasses.replace(network, nodes=tuple(rewritten.get(node.name, node) for node in network.nodes))


def _by_the_rest(network: Network, node: Node, lean: list[str]) -> Node | None:
    """A pad on the side taken where a size is no multiple of m, by the rest to the next multiple
    (`if h % 8 != 0: x = F.pad(x, (0, 0, 0, 8 - h % 8))`), as the pad of every size: each amount taken modulo
    m, where that is 0 wherever the lean side's guard (`lean`, on one axis) holds and the amount itself wherever
    it fails; None for any other node, or where that is not shown."""
    if node.op != "pad":
        return None
    fixed = dict(network.fixed)
    conditions = {
        # what the guard states beyond the sizes being sizes (a check states each is >= 1)
        dim: [c for c in _conditions(network, lean, dim) if not _implied(c, [], dim)]
        for dim in network.dims
        if dim not in fixed
    }
    axes = [dim for dim, found in conditions.items() if found]
    if len(axes) != 1 or len(conditions[axes[0]]) != 1:
        return None  # the side taken is no condition on one axis
    dim = axes[0]
    (guard,) = conditions[dim]
    entry = dict(node.axes).get(dim)
    if not isinstance(entry, Pad) or not isinstance(guard, sympy.Rel):
        return None
    sizes = network.sizes(dim)
    moduli = sorted(
        {int(m.args[1]) for m in guard.atoms(sympy.Mod) if m.args[1].is_Integer and m.args[1] > 1}
    )
    for m in moduli:
        amounts = (sympy.Mod(entry.begin, m), sympy.Mod(entry.end, m))
        if all(
            _implied(sympy.Eq(resolve(new, sizes), 0), [guard], dim)
            and _implied(sympy.Eq(resolve(new, sizes), resolve(old, sizes)), [guard.negated], dim)
            for new, old in zip(amounts, (entry.begin, entry.end), strict=True)
        ):
            pad = Pad(amounts[0], amounts[1], entry.mode)
            return dataclasses.replace(node, axes=tuple((d, pad if d == dim else e) for d, e in node.axes))
    return None


def _refusing_path(
    side: _Side,
    outcome: Outcome,
    dropped: Collection[str],
    read: Reader,
    guarded: Guarded,
    index: int,
    others: Collection[int] | None = None,
) -> None:
    """A SpecError unless the network is defined nowhere a path that ends in the model refusing (`outcome`,
    through the other side of decision `index`) is taken: along some axis, no size meets both the path's
    guards and the conditions the network keeps (`if h % 8 or w % 8: x = F.pad(...)` and then `if x.shape[2]
    % 16: raise`: the network keeps the second guard, which the refusing path breaks)."""
    refused = two_sided(guarded, index, " (its side branches again, and refuses some of those sizes)")
    if outcome.traced is None:
        raise refused
    try:
        taken = _read_path(outcome.traced, outcome, read, Read(), guarded, others)
    except SymconvError:
        raise refused from None
    if taken.never(guarded, index):
        return  # a path no input takes at the fixed sizes
    kept = _kept(side, dropped)
    fixed = dict(side.network.fixed)
    given = taken.given(())
    for dim in (dim for dim in side.network.dims if dim not in fixed):
        both = given.get(dim, []) + _conditions(side.network, kept, dim)
        try:
            if solved(both, dim, {}).is_empty():
                return
        except SymconvError:
            continue
    raise refused


@dataclass(frozen=True)
class _Taken:
    """Where a path is taken: its network, the check nodes of each of its decisions' guards, and which
    decisions' guards say so for everything it makes (all but the other branches of two sides, under
    independent sides) and which for what a branch's side makes (`given`)."""

    network: Network
    checks: dict[int, list[str]]
    counted: frozenset[int]
    # the path's decision that is the traced path's decision i (its own condition's are none of them)
    placed: dict[int, int]
    free: frozenset[int]  # the traced path's decisions that are branches of two sides (their conditions)
    own: tuple[int, ...] = ()  # the decisions the path takes otherwise than the trace it is compared with

    def names(self) -> list[str]:
        return [name for names in self.checks.values() for name in names]

    def _own_names(self) -> list[str]:
        """The check nodes of its own decisions' guards (every decision's where it names none)."""
        return [name for k, names in self.checks.items() if not self.own or k in self.own for name in names]

    def _per_axis(self, names: list[str]) -> dict[str, list[sympy.Basic]]:
        """The conditions the check nodes `names` state, per symbolic axis."""
        fixed = dict(self.network.fixed)
        return {dim: _conditions(self.network, names, dim) for dim in self.network.dims if dim not in fixed}

    def own_given(self) -> dict[str, list[sympy.Basic]]:
        """The conditions per axis its own decisions' guards state."""
        return self._per_axis(self._own_names())

    def validity(self, guarded: Guarded, branches: Collection[int]) -> dict[str, list[sympy.Basic]]:
        """The conditions per axis of the path's other decisions that are conditions of validity (no branch
        of two sides, `branches`: the traced path's), where the path asks the traced path's questions (as
        traced, or past its own condition); none for a path explored past its flipped decision."""
        if not self.own:
            return {}
        chains = {guarded.decisions[i].chain for i in branches}
        # the traced path's decision each of the path's is: the same one, or past its own condition, `placed`
        traced = {k: self.placed.get(k, -1) if self.free else k for k in self.checks if k not in self.own}
        names = [
            name
            for k, i in traced.items()
            if 0 <= i < len(guarded.decisions) and guarded.decisions[i].chain not in chains
            for name in self.checks[k]
        ]
        return self._per_axis(names)

    def never(self, guarded: Guarded, index: int) -> bool:
        """Whether no input takes the path at the fixed sizes, by its own decisions' guards; a SpecError where
        another's guard fails instead: that decision, answered as traced, is decided otherwise on this path (a
        count of the sides taken, `if n == 0:`), whose other side was never traced."""
        nodes = {node.name: node for node in self.network.nodes}
        if _never(nodes, self._own_names()):
            return True
        if _never(nodes, self.names()):
            raise two_sided(
                guarded, index, " (a later branch is decided otherwise where its other side is taken)"
            )
        return False

    def given(self, sides: Collection[int]) -> dict[str, list[sympy.Basic]]:
        """The conditions per axis where the path is taken, for what the traced path's decisions `sides` make
        (each one's guard counts too)."""
        chosen = set(self.counted) | {self.placed[i] for i in sides if i in self.placed}
        return self._per_axis([name for k in sorted(chosen) for name in self.checks.get(k, [])])


def _read_path(
    traced: Any,
    outcome: Outcome,
    read: Reader,
    record: Read,
    guarded: Guarded,
    others: Collection[int] | None,
) -> _Taken:
    """A path's network (`record` filled) and where it is taken (`_Taken`); `others`: the branches with two
    sides where sides are independent (None: every decision's guard counts for everything)."""
    network = read(traced, record)
    index_of = {decision.guard: k for k, decision in enumerate(outcome.decisions)}
    checks: dict[int, list[str]] = {}
    for name, fx_node in record.made.items():
        if fx_node.name in index_of:
            checks.setdefault(index_of[fx_node.name], []).append(name)
    count, total = len(outcome.decisions), len(guarded.decisions)
    if others is None or not outcome.own:
        every = frozenset(range(count))
        return _Taken(network, checks, every, {}, frozenset(), outcome.own)
    start, stop = min(outcome.own), max(outcome.own) + 1
    # before its own condition a path asks the traced path's questions, and past it the traced path's last
    placed = {k: k for k in range(start)} | {total - (count - k): k for k in range(stop, count)}
    chains = {guarded.decisions[o].chain for o in others}
    free = frozenset(i for i, decision in enumerate(guarded.decisions) if decision.chain in chains)
    counted = frozenset(outcome.own) | {k for i, k in placed.items() if i not in free}
    return _Taken(network, checks, counted, placed, free, outcome.own)


def _sides_of(full_trace: Guarded, fx_node: Any, others: Collection[int] | None) -> tuple[int, ...]:
    """The decisions of the condition whose side made an fx node of the full trace (its sides rebind
    what they make: importers.statements), where that is a branch of two sides."""
    after = decided_before(fx_node) - 1
    if others is None or after < 0:
        return ()
    chain = full_trace.decisions[after].chain
    return tuple(i for i, decision in enumerate(full_trace.decisions) if decision.chain == chain)


def _condition_of(outcome: Outcome, index: int) -> tuple[int, ...]:
    """The decisions of the condition that asked decision `index` (`if a or b:` asks one or two)."""
    chain = outcome.decisions[index].chain
    return tuple(k for k, decision in enumerate(outcome.decisions) if decision.chain == chain)


def _never(nodes: dict[str, Node], names: list[str]) -> bool:
    """Whether one of the guards' check nodes `names` fails at the fixed input sizes: no input takes them."""
    return any(getattr(entry, "never", False) for name in names for _, entry in nodes[name].axes)


def _guard_only(graph_nodes: list[Any], values: dict[Any, Any], made: Collection[Any]) -> set[Any]:
    """The fx nodes that only compute guards: the guards, and the values that are no tensor (by `values`), make
    no network node (are not in `made`) and are read by guards alone (or by nothing: a truth the forward
    asked)."""
    found: set[Any] = set()
    for node in reversed(graph_nodes):
        if node.meta.get("symconv_guard") or (
            node.op in ("call_function", "call_method")
            and node not in made
            and not isinstance(values.get(node), Tensor)
            and all(user in found for user in node.users)
        ):
            found.add(node)
    return found


def _transparent(fx_node: Any, values: dict[Any, Any], made: list[Node]) -> bool:
    """Whether an added fx node passes its first input on, as far as sizes and positions go: its tensor is its
    input's (an elementwise op, an activation), or one resize, pad or slice of it (shown an identity by
    `_identity`)."""
    inputs = fx_node.all_input_nodes
    value, before = values.get(fx_node), values.get(inputs[0]) if inputs else None
    if not isinstance(value, Tensor) or not isinstance(before, Tensor):
        return False
    if dataclasses.replace(value, node=before.node) != before:
        return False  # other channels, or axes moved
    if not made:
        return value.node == before.node
    return len(made) == 1 and made[0].op in _KEEPING and made[0].inputs[:1] == (before.node,)


# the shape operations that keep a size and every position where their amounts say so (`_keeps`)
_KEEPING = ("resize", "pad", "slice")


def _full_side(guarded: Guarded, index: int, other: Any) -> bool:
    """The side of decision `index` that makes every node the other makes, and more (the traced side where
    both make the same); what it adds is checked once read (`read_two_sided`)."""
    taken = guarded.decisions[index].taken
    traced, others = list(guarded.traced.graph.nodes), list(other.graph.nodes)
    if _matched(traced, others, lambda _: True, commutes=lambda _: True)[1] is None:
        return not taken
    if _matched(others, traced, lambda _: True, commutes=lambda _: True)[1] is None:
        return taken
    raise two_sided(guarded, index, " (each side makes nodes the other does not)")


def _matched(
    lean: list[Any],
    full: list[Any],
    transparent: Callable[[Any], bool],
    after_decisions: bool = True,
    skip: Collection[Any] = (),
    commutes: Callable[[Any], bool] | None = None,
) -> tuple[list[Any], Any | None]:
    """The fx nodes `full` makes beyond `lean` (in order), and the first node of `lean` that no node of `full`
    matches (None: every one is): of the same kind and target, after the same number of decisions (unless not
    `after_decisions`: paths that ask other questions), and with the same arguments (nodes as matched; a node
    `full` adds that is `transparent` read as its first input). The guards' own nodes, and those in `skip`, are
    left out. Nodes are first matched where the same line of the model's code made them (a call made twice on
    one line, `y.size(3)`, is otherwise matched to the first); where that leaves a node unmatched, anywhere (the
    same call on the same values made on two lines, `return x + y` on each side of a branch, is the same
    value)."""
    lined = _in_order(lean, full, transparent, lambda node: _key(node, after_decisions, True), skip, commutes)
    if lined[1] is None:
        return lined
    anywhere = _in_order(
        lean, full, transparent, lambda node: _key(node, after_decisions, False), skip, commutes
    )
    return anywhere if anywhere[1] is None else lined


def _in_order(
    lean: list[Any],
    full: list[Any],
    transparent: Callable[[Any], bool],
    key: Callable[[Any], tuple[Any, ...]],
    skip: Collection[Any],
    commutes: Callable[[Any], bool] | None = None,
) -> tuple[list[Any], Any | None]:
    """`_matched` with one key: each node of `lean` matched to the first node of `full` after the previous
    match that has its key and arguments."""
    fx_map: dict[Any, Any] = {}  # a lean node -> its match in full
    extra: list[Any] = []
    added: set[Any] = set()
    position = 0
    full = [node for node in full if not node.meta.get("symconv_guard") and node not in skip]

    def passed(node: Any) -> Any:
        while node in added and node.all_input_nodes and transparent(node):
            node = node.all_input_nodes[0]
        return node

    for node in (node for node in lean if not node.meta.get("symconv_guard") and node not in skip):
        want = (key(node), _arguments(node, lambda n: fx_map.get(n, n), commutes))
        for ahead in range(position, len(full)):
            candidate = full[ahead]
            if key(candidate) == want[0] and _arguments(candidate, passed, commutes) == want[1]:
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


def _key(node: Any, after_decisions: bool, lined: bool) -> tuple[Any, ...]:
    """What an fx node computes (with its arguments, `_arguments`), and where: the line of the model's code
    that made it, and how many decisions came before it."""
    return (
        node.meta.get("symconv_line") if lined else None,
        node.op,
        node.target,
        decided_before(node) if after_decisions else None,
    )


def _arguments(node: Any, mapped: Callable[[Any], Any], commutes: Callable[[Any], bool] | None = None) -> Any:
    """The node's arguments with each node they read replaced by `mapped(node)` (compared by identity); the two
    operands of a sum or product of tensors (`commutes` of the node: not of tuples, which `+` concatenates) in
    either order (`x + conv(x)` is `conv(x) + x`)."""
    args = _replaced(node.args, mapped)
    if (
        commutes is not None
        and commutes(node)
        and _commutative(node)
        and len(node.args) == 2
        and not node.kwargs
    ):
        args = ("either order", *sorted(args[1:], key=_order))
    return (args, _replaced(node.kwargs, mapped))


# functions whose two tensor operands may come in either order (PyTorch broadcasts them alike)
_COMMUTATIVE = {("_operator", "add"), ("_operator", "mul"), ("torch", "add"), ("torch", "mul")}


def _commutative(node: Any) -> bool:
    """A call of a sum or product (of tensors, where `_arguments` is told so)."""
    target = node.target
    return (
        node.op == "call_function"
        and (
            getattr(target, "__module__", None),
            getattr(target, "__name__", None),
        )
        in _COMMUTATIVE
    )


def _order(item: Any) -> tuple[int, Any]:
    """A stable order of matched arguments: graph nodes by identity, other values by their text."""
    return (0, id(item.node)) if isinstance(item, _Same) else (1, repr(item))


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
    if node.op == "output":
        return "the forward's result"  # made where the forward was called, not at a line of the model
    line = node_line(node)
    return f"{node.name}" + (f" at {line}" if line else "")


def _identity(
    network: Network,
    node: Node,
    given: dict[str, list[sympy.Basic]],
    guarded: Guarded,
    index: int,
    where: str,
) -> None:
    """A SpecError unless `node` keeps every axis' size and position wherever the conditions `given` (per
    symbolic axis) hold: a resize to the size it has, a pad by 0, a slice from 0 to its input's end, or (a
    check) a condition they imply."""
    fixed = dict(network.fixed)
    for dim in network.dims:
        sizes = network.sizes(dim)
        claims = _keeps(network, node, dim, sizes)
        if claims is None:
            raise two_sided(
                guarded,
                index,
                f" (one side makes {where}, a {node.op}, where the other makes nothing; only resizes, pads and "
                "slices that keep the size the tensor has are read as the same network)",
            )
        if dim in fixed:
            if all(evaluate(claim, {dim: fixed[dim]}) for claim in claims):
                continue
        elif all(_implied(claim, given.get(dim, []), dim) for claim in claims):
            continue
        kept = "holds" if node.op == "check" else "keeps the size and positions"
        raise two_sided(
            guarded,
            index,
            f" (at {where} one side makes a {node.op}, and the other side's conditions do not state that it "
            f"{kept} along {dim})",
        )


def _keeps(network: Network, node: Node, dim: str, sizes: dict[str, sympy.Expr]) -> list[sympy.Basic] | None:
    """What must hold along `dim` for `node` to keep its input's size and every position there (a check: its
    conditions); None for a node that is no such operation."""
    if node.op == "check":
        along = {each.name: each for each in network.along(dim).nodes}
        return [condition for condition, _ in step(along[node.name], sizes, dim, True)[1]]
    entry = dict(node.axes).get(dim)
    if not node.inputs or node.op not in _KEEPING or entry is None:
        return None
    before, after = sizes[node.inputs[0]], sizes[node.name]
    if isinstance(entry, Pad):
        return [sympy.Eq(resolve(entry.begin, sizes), 0), sympy.Eq(resolve(entry.end, sizes), 0)]
    if isinstance(entry, Slice):
        if entry.step != 1 or entry.whole is not None or entry.starts is not None:
            return None
        start = 0 if entry.start is None else resolve(entry.start, sizes)
        return [sympy.Eq(start, 0), sympy.Eq(before, after)]
    return [sympy.Eq(before, after)]


def _conditions(network: Network, names: list[str], dim: str) -> list[sympy.Basic]:
    """The conditions the check nodes `names` state along `dim`, in the axis' input size."""
    along = {node.name: node for node in network.along(dim).nodes}
    sizes = network.sizes(dim)
    return [condition for name in names for condition, _ in step(along[name], sizes, dim, True)[1]]


def _implied(claim: sympy.Basic, given: list[sympy.Basic], dim: str) -> bool:
    """Whether `claim` holds at every size >= 1 along `dim` where every condition in `given` holds: proved by
    Z3 (one size with floors and remainders by numbers), else solved in closed form (a claim neither decides is
    not implied). The proof comes first: the guards of deep stacks of padded stages have periods that double
    per stage, which the closed form takes minutes to split into residues."""
    from ...core.arith import ge, symbol
    from ...logic.prove import proved

    if claim is sympy.true or claim in given:
        return True
    if claim is sympy.false and not given:
        return False
    if proved(claim, [*given, ge(symbol(dim), 1)]):
        return True
    try:
        where = solved(given, dim, {})
        return where.is_empty() or where.intersect(solved([claim], dim, {}).complement()).is_empty()
    except SymconvError:
        return False


def unstated(network: Network, dropped: Collection[str] = ()) -> SpecError | None:
    """The refusal of the first guard the importer could not state per axis and that is not dropped."""
    for node in network.nodes:
        if node.op == "check" and node.name not in dropped:
            for _, entry in node.axes:
                if getattr(entry, "unstated", ""):
                    return SpecError(entry.unstated)
    return None
