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
import heapq
import itertools
import math
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sympy

from . import budget
from .arith import eq, evaluate, ge, gt, le, lt, merge_floors, ne, quotient_parts, symbol
from .errors import AnalysisError, ShapeError, SpecError, SymconvError, UnsupportedError
from .intset import IntSet
from .layers import Axes, Layer, layer
from .limits import read_text

if TYPE_CHECKING:
    from . import receptive

MERGES = ("cat", "add")
# identity: the same size (an importer's explicit "output" node)
OPS = ("input", "layer", "cat", "add", "crop", "flatten", "linear", "identity")


@dataclass(frozen=True)
class Node:
    """One node: a layer applied to one input, a merge of several, or a shape operation."""

    name: str
    op: str
    inputs: tuple[str, ...] = ()
    layer: Layer | None = None  # an Axes: one layer per spatial axis, in the network's order of dims
    # crop: the size to crop to (an expression of other nodes' names, e.g. "up3" or an integer);
    # linear: the flattened size it requires (in_features divided by the other axes' product is not modelled)
    amount: str | None = None


def on_axis(node: Node, index: int) -> Node:
    """The node as it acts on spatial axis `index`: a per-axis layer (Axes) replaced by that axis' layer."""
    if isinstance(node.layer, Axes):
        return dataclasses.replace(node, layer=node.layer.axis(index))
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
class ValidSet:
    """Exactly the sizes i on which the network is defined: i >= from is valid iff i mod period in residues;
    below lists the valid sizes under from."""

    period: int
    residues: tuple[int, ...]
    start: int
    below: tuple[int, ...]
    proof: str = ""

    def __contains__(self, i: int) -> bool:
        return i in self.below if i < self.start else i % self.period in self.residues

    def describe(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "residues": list(self.residues),
            "from": self.start,
            "below": list(self.below),
        }

    def to_latex(self, name: str = "i") -> str:
        """{i >= from : i mod period in residues}, with the valid sizes below `from` (notebooks show it)."""
        from .latex import symbol_latex

        x = symbol_latex(name)
        if not self.residues:
            main = r"\varnothing"
        elif self.period == 1:
            main = rf"\{{{x} \geq {self.start}\}}"
        else:
            residues = ", ".join(str(r) for r in self.residues)
            main = rf"\{{{x} \geq {self.start} : {x} \bmod {self.period} \in \{{{residues}\}}\}}"
        if self.below:
            main = rf"\{{{', '.join(str(b) for b in self.below)}\}} \cup {main}"
        return main

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.to_latex()}$"


@dataclass(frozen=True)
class Network:
    """Nodes in topological order (the last one is the output) over the spatial axes `dims`.

    `fixed` gives some axes a fixed input size (an ONNX model's --input-shape 1,3,224,W): their output size is a
    number and they have no valid set; every other axis is symbolic.
    """

    nodes: tuple[Node, ...]
    dims: tuple[str, ...] = ("i",)
    fixed: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
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
        final = self._final()
        for node in self.along(dim).nodes:
            size, rules = step(node, sizes, dim, node.name not in final)
            sizes[node.name] = size
            out += rules
        return sizes, out

    @lru_cache(maxsize=64)  # noqa: B019
    def along(self, dim: str) -> Network:
        """The network as it acts on axis `dim`: every per-axis layer replaced by that axis' layer."""
        if not any(isinstance(node.layer, Axes) for node in self.nodes):
            return self
        if dim not in self.dims:
            raise SpecError(f"no axis {dim!r}; the network's axes are {', '.join(self.dims)}")
        index = self.dims.index(dim)
        return dataclasses.replace(self, nodes=tuple(on_axis(node, index) for node in self.nodes))

    def _final(self) -> set[str]:
        """The output and the nodes that only pass through identity nodes to it: their size is the network's
        output, which may be empty where the framework allows it (every other layer's output is read by a node
        that refuses an empty input, or by nothing)."""
        readers: dict[str, list[Node]] = {}
        for node in self.nodes:
            for name in node.inputs:
                readers.setdefault(name, []).append(node)
        final = {self.output}
        for node in reversed(self.nodes):
            read = readers.get(node.name, [])
            if read and all(r.op == "identity" and r.name in final for r in read):
                final.add(node.name)
        return final

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
                raise SpecError(f"no size given for the axis {dim}")
        return {dim: self._check_axis(dim, fixed[dim] if dim in fixed else sizes[dim]) for dim in self.dims}

    def _check_axis(self, dim: str, value: int) -> int:
        env = {dim: value}
        for condition, rule in self.conditions(dim):
            try:
                holds = bool(evaluate(condition, env))
            except ZeroDivisionError:
                holds = False
            if not holds:
                values = {name: _int_or_none(expr, env) for name, expr in self.sizes(dim).items()}
                detail = ", ".join(f"{k}={v}" for k, v in values.items() if v is not None)
                raise ShapeError(f"{rule} at {dim}={value} (sizes: {detail})")
        return int(evaluate(self.sizes(dim)[self.output], env))

    @lru_cache(maxsize=64)  # noqa: B019 - derived and proved once per network (the CLI's receptive fields reuse it)
    def valid_inputs(self, timeout_ms: int = 20_000) -> dict[str, ValidSet]:
        """The exact valid set of every symbolic axis, proved."""
        return {dim: valid_set(self.conditions(dim), dim, timeout_ms) for dim in self.symbolic}

    def receptive_fields(self, size: int | None = None, dim: str | None = None) -> dict[str, receptive.Field]:
        """Every node's receptive field along `dim` (default: the first symbolic axis), from the window maps
        (symconv.receptive), at input size `size`."""
        from .receptive import receptive_fields

        return receptive_fields(self, size, dim)


def broadcast(a: sympy.Expr, b: sympy.Expr) -> tuple[sympy.Basic, sympy.Expr]:
    """PyTorch's and NumPy's broadcasting of two sizes on one axis: (where it is defined, the size).

    Defined iff a == b or either is 1; the size is then max(a, b). Where the merge is not defined the network
    is not either, so the size only has to be right where it is: there max(a, b) is a unless a == 1 < b or
    a < 1 == b. When no input size gives either (solved exactly, see `_never`), the size is a itself, and
    likewise b; only when neither can be shown is it a Max. A strided convolution's ceil(i/2) added to a pooling's floor(i/2) (DLA's
    projections), or an upsampled branch 2*ceil(i/2) added to i (HRNet's fusions), thus keep a floor-affine size
    instead of a Max that each later merge would nest again.

    >>> from .arith import ceil_div, floor_div
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
    for big, small in ((a, b), (b, a)):
        if _never(eq(big, 1), gt(small, 1)) and _never(eq(small, 1), lt(big, 1)):
            return condition, big
    return condition, sympy.Max(a, b, evaluate=False)  # no SymPy comparison of the two formulas


def _never(*conditions: sympy.Basic) -> bool:
    """True when no input size >= 1 meets every condition (formulas in one size, solved exactly); False when
    one does, or when that is not decided (a formula in several sizes, or a limit of the solver)."""
    names = set().union(*(condition.free_symbols for condition in conditions))
    if len(names) > 1:
        return False
    if not names:
        return not all(bool(evaluate(condition, {})) for condition in conditions)
    try:
        return _solved(list(conditions), next(iter(names)).name, {}).is_empty()
    except (SymconvError, ArithmeticError):
        return False


Rules = list[tuple[sympy.Basic, str]]


def step(
    node: Node, sizes: Mapping[str, sympy.Expr], dim: str, inner: bool, rules: bool = True
) -> tuple[sympy.Expr, Rules]:
    """One node's size along `dim` and the conditions it adds, from its inputs' sizes.

    `inner`: the node's output is read by another layer (so it must be >= 1); the network's output may be empty
    where the framework allows it. `rules=False`: a layer's size only (an importer reading constant sizes), its
    conditions left out. A failure inside SymPy or the layer is an AnalysisError naming the node.
    """
    with analysing(f"node {node.name} ({node.op}): the size along {dim} could not be built"):
        if not rules and node.op == "layer" and node.layer is not None and node.inputs:
            return layer_size(node.layer, sizes[node.inputs[0]], inner), []
        return _step(node, sizes, dim, inner)


@contextmanager
def analysing(what: str) -> Iterator[None]:
    """Turns a failure of a library inside the analysis (SymPy's PrecisionExhausted, a RecursionError, Z3's
    or the integer sets' limits) into an AnalysisError that starts with `what` (which names the node or the
    axis); symconv's own errors and the time budget pass through."""
    try:
        yield
    except (SymconvError, budget.OutOfTime):
        raise
    except Exception as error:
        first = str(error).splitlines()[0] if str(error) else ""
        raise AnalysisError(f"{what}: {type(error).__name__}: {first}") from None


def _step(node: Node, sizes: Mapping[str, sympy.Expr], dim: str, inner: bool) -> tuple[sympy.Expr, Rules]:
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
        return first, [
            (eq(first, sizes[other]), f"node {node.name} (cat): sizes of {head} and {other} differ")
            for other in others
        ]
    if node.op == "add" and first is not None:
        size, out = first, []
        for index, other in enumerate(node.inputs[1:], start=1):
            condition, size = broadcast(size, sizes[other])
            seen = " and ".join(node.inputs[:index])
            out.append(
                (condition, f"node {node.name} (add): sizes of {seen} and {other} differ and neither is 1")
            )
        return size, out
    if node.op in ("flatten", "linear", "identity") and first is not None:
        if node.op == "linear" and node.amount is not None:
            return first, [
                (eq(first, int(node.amount)), f"node {node.name} (linear): needs size {node.amount}")
            ]
        return first, []
    if node.op == "crop" and first is not None:
        size = _crop_size(node, sizes)
        return size, [(ge(first, size), f"node {node.name} (crop): input smaller than the crop")]
    raise SpecError(
        f"node {node.name}: op {node.op!r} with inputs {node.inputs} is not a node kind ({', '.join(OPS)})"
    )


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
        return formula.xreplace({_U: before})
    outer = _plus_floor(formula)
    inner = _plus_floor(before)
    if outer is None or inner is None:
        return None
    (c0, c1, num, s), (c, one, n, size) = outer, inner
    b = sympy.expand(num - _U)
    if one != 1 or not isinstance(b, sympy.Integer) or num.free_symbols != {_U}:
        return None
    return c0 + c1 * sympy.floor((n + (c + b) * size) / (size * s))


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


def valid_set(conditions: Sequence[tuple[sympy.Basic, str]], dim: str, timeout_ms: int = 20_000) -> ValidSet:
    """The exact valid set of one axis, derived in closed form and proved with Z3.

    The set is solved from a reduced copy of the conditions (see `_reduced`); the proof checks it against the
    network's own conditions, so the reduction is proved along with the solver. A failure on the way (a limit
    of the engine, or of a library inside it) is an AnalysisError naming the axis.
    """
    distinct = list(dict.fromkeys(condition for condition, _ in conditions if condition is not sympy.true))
    rules = {condition: rule for condition, rule in conditions}
    with analysing(f"the valid set along {dim} could not be derived"):
        valid = _eventually_periodic(_solved(_reduced(distinct), dim, rules))
        return dataclasses.replace(valid, proof=_prove(distinct, dim, valid, timeout_ms))


def _solved(conditions: Sequence[sympy.Basic], dim: str, rules: Mapping[sympy.Basic, str]) -> IntSet:
    """The sizes >= 1 where every condition holds.

    Conditions with a closed form (a bound on one floor, a residue class) are solved first, together with the
    residue classes that equations imply in closed form (`periodic.congruence`); the conditions that are
    periodic in the size (equal sizes at a concatenation: nested floors of period up to 2**depth) are then
    solved class by class on the sizes left, by increasing period (`periodic.refine`); any other condition is
    checked last on what remains. `rules` names the node of a condition in a refusal."""
    from .periodic import congruence, period, refine
    from .solve import All, Planner, Unsolvable

    planner = Planner(symbol(dim))
    closed, periodic, others = [], [], []
    found = IntSet.interval(1, None)
    for condition in conditions:
        implied = congruence(condition, dim)
        if implied is not None:
            found = found.intersect(implied)
        try:
            plan = planner.plan(condition)
        except Unsolvable:
            plan = None
        if plan is not None and plan.exact():
            closed.append(plan)
            continue
        needed = period(condition, dim)
        if needed is not None:
            periodic.append((needed, condition))
        elif plan is not None:
            others.append(plan)
        else:
            planner.plan(condition)  # raises the planner's own reason
    # One plan per condition, intersected (what Planner.plan does for an And, without building the And).
    found = All.of(closed).solve({}, found)
    for _, condition in sorted(periodic, key=lambda pair: pair[0]):
        if found.is_empty():
            return found
        try:
            found = refine(found, condition, dim)
        except Unsolvable as error:
            where = rules.get(condition)
            raise Unsolvable(f"{where}: {error}" if where else str(error)) from None
    return All.of(others).solve({}, found)


def _reduced(conditions: Sequence[sympy.Basic]) -> list[sympy.Basic]:
    """The same set of sizes with fewer conditions to solve: a network states many bounds twice or more (a
    layer's "input size >= 1" is the previous layer's "empty output"; the padded input "o + 2 >= 3" is
    "o >= 1"; "2*o >= -1" is "o >= 0"), and of several lower (upper) bounds on one expression only the
    strongest counts. Every step holds for integer-valued expressions, which is checked structurally."""
    out: list[sympy.Basic] = []
    bounds: dict[tuple[sympy.Basic, bool], tuple[int, int]] = {}  # (X, lower?) -> (index in out, bound)
    for condition in conditions:
        condition = _moved_constant(condition)
        bound = _integer_bound(condition)
        if bound is None:
            out.append(condition)
            continue
        expr, lower, value = bound
        held = bounds.get((expr, lower))
        if held is None or ((value > held[1]) if lower else (value < held[1])):
            index = len(out) if held is None else held[0]
            bounds[expr, lower] = (index, value)
            made = (ge if lower else le)(expr, value)
            if held is None:
                out.append(made)
            else:
                out[index] = made
    return list(dict.fromkeys(out))


def _integer_bound(condition: sympy.Basic) -> tuple[sympy.Expr, bool, int] | None:
    """(X, lower, n) for a condition that reads X >= n (lower) or X <= n, X integer-valued and n an integer:
    c*X >= m is X >= ceil(m/c) for c > 0, and X > m is X >= m + 1."""
    kind = type(condition)
    if kind not in (sympy.Ge, sympy.Gt, sympy.Le, sympy.Lt):
        return None
    lhs, rhs = condition.args
    if not isinstance(rhs, sympy.Integer) or not _integral(lhs):
        return None
    lower = kind in (sympy.Ge, sympy.Gt)
    value = int(rhs) + (1 if kind is sympy.Gt else -1 if kind is sympy.Lt else 0)
    c, expr = lhs.as_coeff_Mul()
    if not isinstance(c, sympy.Integer) or c == 0:
        return None
    factor = int(c)
    if factor < 0:
        factor, expr = -factor, -expr  # c*X is (-c)*(-X)
    # c*X >= m iff X >= ceil(m/c); c*X <= m iff X <= floor(m/c) (c > 0, X an integer)
    return expr, lower, -(-value // factor) if lower else value // factor


def _integral(expr: sympy.Basic) -> bool:
    """True when `expr` is integer-valued by its structure (integer symbols and constants, floor, ceiling,
    and sums, products, Mod, Max and Min of such): no SymPy assumption query, which costs more than solving."""
    if isinstance(expr, sympy.Integer | sympy.floor | sympy.ceiling):
        return True
    if isinstance(expr, sympy.Symbol):
        return bool(expr.is_integer)
    if isinstance(expr, sympy.Add | sympy.Mul | sympy.Mod | sympy.Max | sympy.Min):
        return all(_integral(arg) for arg in expr.args)
    return False


_COMPARISONS = (sympy.Ge, sympy.Gt, sympy.Le, sympy.Lt, sympy.Eq)


def _moved_constant(condition: sympy.Basic) -> sympy.Basic:
    """`A + c REL n` as `A REL n - c` for integers c and n (the same set: both sides move by c)."""
    kind = type(condition)
    if kind not in _COMPARISONS:
        return condition
    lhs, rhs = condition.args
    if not (isinstance(lhs, sympy.Add) and isinstance(rhs, sympy.Integer)):
        return condition
    constant, *rest = lhs.args  # SymPy keeps an Add's number first
    if not isinstance(constant, sympy.Integer):
        return condition
    return kind(sympy.Add(*rest), rhs - constant, evaluate=False)


def _prove(conditions: Sequence[sympy.Basic], dim: str, valid: ValidSet, timeout_ms: int) -> str:
    """Z3: for every integer i >= from, every condition holds at i iff i mod period is in residues.

    The query is built here rather than by prove(): prove() takes one SymPy claim, and a SymPy And over a
    network's conditions (which SymPy sorts and canonicalizes, even unevaluated) costs more than the proof.
    Each distinct condition is translated once, and the equivalence is proved one direction at a time (members
    are defined, defined sizes are members; then the translation's own obligations): Z3 decides each much
    faster than the equivalence at once (0.07 s against 2.3 s for a U-Net of depth 32). The premises are
    i >= from and the quotient axioms, which always have a model, so the proof is never vacuous.
    """
    import z3

    from .prove import holds
    from .solver import check
    from .z3bridge import Translation

    translation = Translation()
    try:
        parts = translation.conditions(conditions)
    except UnsupportedError as error:
        return f"unknown (not translatable to Z3: {error})"
    i = translation.variable(dim)
    defined = z3.And(*parts) if parts else z3.BoolVal(True)
    # Residues by runs of consecutive ones: a U-Net without skips at its top levels has 2**k in one run.
    remainder = i % valid.period
    runs = [
        remainder == lo if lo == hi else z3.And(remainder >= lo, remainder <= hi)
        for lo, hi in _runs(valid.residues)
    ]
    member = z3.Or(*runs) if runs else z3.BoolVal(False)
    premises = [*translation.axioms, i >= valid.start]
    refutations = [[member, z3.Not(defined)], [defined, z3.Not(member)]]
    if translation.obligations:
        refutations.append([z3.Not(z3.And(*translation.obligations))])
    for refutation in refutations:
        verdict, model, reason = check([*premises, *refutation], timeout_ms)
        if verdict == "unknown":
            return f"unknown ({reason})"
        if verdict == "sat":
            break
    else:
        return "proved (unbounded)"
    # A counterexample is reported only once it re-checks on plain integers.
    value = model.evaluate(i, model_completion=True).as_long()
    defined_there = all(holds(condition, {dim: value}) for condition in conditions)
    if defined_there != (value in valid):
        said = "defined" if defined_there else "undefined"
        return f"refuted (at {dim} = {value} the network is {said}, the derived set says the opposite)"
    return f"unknown (the solver's counterexample {dim} = {value} did not re-check on integers)"


def _runs(values: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted integers as (first, last) of each run of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for value in values:
        if runs and runs[-1][1] == value - 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


# The most residues a valid set lists (its JSON form names each one).
MAX_RESIDUES = 100_000


def _eventually_periodic(found: IntSet) -> ValidSet:
    """period/residues/from/below of a set of positive integers given as periodic pieces.

    The residues come from the pieces' own residues, lifted to the common period, never from a walk over the
    period (2**32 for a U-Net of depth 32)."""
    period = 1
    for piece in found.pieces:
        period = math.lcm(period, piece.period)
    finite_ends = [p.hi for p in found.pieces if p.hi is not None]
    infinite_starts = [p.lo for p in found.pieces if p.hi is None and p.lo is not None]
    start = max([1, *(end + 1 for end in finite_ends), *infinite_starts])
    # From `start` on, exactly the infinite pieces hold members.
    tails = [p for p in found.pieces if p.hi is None]
    count = sum(len(p.residues) * (period // p.period) for p in tails)
    if count > MAX_RESIDUES:
        raise AnalysisError(
            f"the valid set has up to {count:,} residues modulo {period:,}, more than the {MAX_RESIDUES:,} "
            "it lists"
        )
    residues = tuple(
        sorted({r + p.period * j for p in tails for r in p.residues for j in range(period // p.period)})
    )
    period, residues = _least_period(period, residues)
    earlier = list(itertools.takewhile(lambda x: x < start, found.iterate())) if found.bounded_below() else []
    # Move `from` down while the periodic rule still describes the set exactly: only where the set or the rule
    # has a member can they disagree, so those points are visited from the top, not every size.
    held, lowest = set(earlier), 1
    for size in heapq.merge(reversed(earlier), _rule_below(start, period, residues), reverse=True):
        if (size in held) != (size % period in residues):
            lowest = size + 1
            break
    start = lowest
    return ValidSet(period, residues, start, tuple(x for x in earlier if x < start))


def _rule_below(start: int, period: int, residues: tuple[int, ...]) -> Iterator[int]:
    """The sizes 1 <= x < start with x mod period in residues, from the largest down."""
    base = (start - 1) - (start - 1) % period
    while base >= 0 and residues:
        for r in reversed(residues):
            if 1 <= base + r < start:
                yield base + r
        base -= period


def _least_period(period: int, residues: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    """The least period d (a divisor of `period`) whose residues describe the same set, and those residues."""
    held = set(residues)
    for divisor in sympy.divisors(period):
        if len(residues) % (period // divisor):
            continue  # a set of period d has period/d lifts of each of its residues
        if all((r + divisor) % period in held for r in residues):
            return divisor, tuple(r for r in residues if r < divisor)
    return period, residues


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
    from .importers import default_names

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
            nodes.append(Node(name, "layer", tuple(inputs[:1]), layer(record["layer"])))
            continue
        op = record.get("op")
        if op not in OPS[2:]:
            raise SpecError(f"{where}: give a layer spec or an op among {', '.join(OPS[2:])}, got {op!r}")
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


def load_network(
    source: str, input_shape: Sequence[str] | None = None, convention: str | None = None
) -> Network:
    """A chain string, a TOML network file, a .onnx file, or pkg.module:factory returning a torch module.

    `input_shape` (--input-shape 1,3,H,W) names the spatial axes of a chain, an ONNX model or a torch module; an
    integer there fixes that axis. A TOML file names its own axes (dims). `convention` reads an ONNX model as the
    standard ("onnx", the default) or as onnxruntime runs it ("ort"); other sources name their framework in
    their layers, so it applies to ONNX models only.
    """
    path = Path(source)
    if source.endswith(".onnx"):
        from .importers.onnx import from_onnx

        return from_onnx(source, input_shape, convention or "onnx")
    if convention is not None:
        raise SpecError(
            f"a convention ({convention!r}) applies to an ONNX model (.onnx) only: a chain or a TOML network "
            "names the framework in each layer (torch.conv(...), ort.maxpool(...)), a torch module is PyTorch's"
        )
    if path.suffix == ".toml":
        return from_toml(read_text(source, "network file"), source)
    if ":" in source and "(" not in source:
        from .importers.torch import from_factory

        return from_factory(source, input_shape)
    if not input_shape:
        return chain(source)
    from .importers import input_axes

    _, dims, fixed = input_axes(input_shape, "--input-shape")
    net = dataclasses.replace(chain(source, dims), fixed=fixed)
    if fixed:
        net.output_size()  # a fixed size the chain refuses: ShapeError naming the layer
    return net


__all__ = ["Network", "Node", "ValidSet", "chain", "from_toml", "load_network"]
