"""Networks: DAGs of layers per spatial axis; symbolic output sizes, exact valid input sets, receptive fields.

A network maps symbolic input sizes (one per spatial axis, e.g. H and W) through its nodes. Every node's size is
a SymPy expression of the input sizes, kept small by merging nested floors. The network is defined at an input
size iff every layer is defined at its input and every merge (concatenation, addition) sees equal sizes; that
set of sizes is solved exactly (closed form per residue class, not by scanning) and stated as
`period`/`residues`/`from`/`below`, then proved with Z3.

>>> net = chain("conv(k=3, s=2) > conv(k=3, s=2) > conv(k=3, s=2)")
>>> net.valid_inputs()["i"].describe()
{'period': 1, 'residues': [0], 'from': 15, 'below': []}
"""

from __future__ import annotations

import itertools
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

import sympy

from .arith import eq, evaluate, merge_floors, symbol
from .errors import ShapeError, SpecError, SymconvError
from .intset import IntSet
from .layers import ConvTranspose, Layer, Resize, Windowed, layer

MERGES = ("cat", "add")
OPS = ("input", "layer", "cat", "add", "crop", "flatten", "linear")


@dataclass(frozen=True)
class Node:
    """One node: a layer applied to one input, a merge of several, or a shape operation."""

    name: str
    op: str
    inputs: tuple[str, ...] = ()
    layer: Layer | None = None
    # crop: the size to crop to (an expression of other nodes' names, e.g. "up3" or an integer);
    # linear: the flattened size it requires (in_features divided by the other axes' product is not modelled)
    amount: str | None = None


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


@dataclass(frozen=True)
class Field:
    """Receptive field of a node in input coordinates: size r, effective stride S, effective padding P (left);
    output unit y is centred at -P + y*S + (r - 1)/2."""

    r: Fraction
    stride: Fraction
    padding: Fraction
    aligned: bool = True

    def centre(self, y: int) -> Fraction:
        return -self.padding + y * self.stride + (self.r - 1) / 2

    def describe(self) -> dict[str, Any]:
        def number(x: Fraction) -> int | str:
            return int(x) if x.denominator == 1 else str(x)

        return {
            "size": number(self.r),
            "stride": number(self.stride),
            "padding": number(self.padding),
            "centre_of_unit_0": number(self.centre(0)),
            "aligned": self.aligned,
        }


@dataclass(frozen=True)
class Network:
    nodes: tuple[Node, ...]
    dims: tuple[str, ...] = ("i",)

    def __post_init__(self) -> None:
        names: set[str] = set()
        for node in self.nodes:
            if node.name in names:
                raise SpecError(f"node name {node.name!r} appears twice")
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
        sizes: dict[str, sympy.Expr] = {}
        for node in self.nodes:
            if node.op == "input":
                sizes[node.name] = symbol(dim)
            elif node.op == "layer" and node.layer is not None:
                made, before = node.layer, sizes[node.inputs[0]]
                inner = node.name != self.output and hasattr(made, "positive_output_expr")
                expr = made.positive_output_expr(before) if inner else made.output_expr(before)  # type: ignore[attr-defined]
                sizes[node.name] = merge_floors(expr)
            elif node.op in MERGES or node.op in ("flatten", "linear"):
                sizes[node.name] = sizes[node.inputs[0]]
            elif node.op == "crop":
                sizes[node.name] = self._amount(node, sizes)
        return sizes

    def _amount(self, node: Node, sizes: Mapping[str, sympy.Expr]) -> sympy.Expr:
        text = node.amount or ""
        if text.isdigit():
            return sympy.Integer(int(text))
        if text in sizes:
            return sizes[text]
        raise SpecError(f"node {node.name} (crop): size {text!r} is neither an integer nor an earlier node")

    @lru_cache(maxsize=64)  # noqa: B019
    def conditions(self, dim: str) -> list[tuple[sympy.Basic, str]]:
        """Where the network is defined along one axis, each condition with the node and rule it states."""
        sizes = self.sizes(dim)
        out: list[tuple[sympy.Basic, str]] = [(sympy.Ge(symbol(dim), 1), f"input size {dim} must be >= 1")]
        for node in self.nodes:
            if node.op == "layer" and node.layer is not None:
                for condition, rule in node.layer.conditions(sizes[node.inputs[0]]):
                    if condition is not sympy.true:
                        out.append((condition, f"node {node.name} ({node.layer.spec}): {rule}"))
                if node.name != self.output:
                    # Inner sizes are >= 1 (every layer refuses an empty input), as their formulas assume.
                    out.append(
                        (sympy.Ge(sizes[node.name], 1), f"node {node.name} ({node.layer.spec}): empty output")
                    )
            elif node.op in MERGES:
                first, *others = node.inputs
                for other in others:
                    out.append(
                        (
                            eq(sizes[first], sizes[other]),
                            f"node {node.name} ({node.op}): sizes of {first} and {other} differ",
                        )
                    )
            elif node.op == "crop":
                source = sizes[node.inputs[0]]
                out.append(
                    (
                        sympy.Ge(source, sizes[node.name]),
                        f"node {node.name} (crop): input smaller than the crop",
                    )
                )
            elif node.op == "linear" and node.amount is not None:
                out.append(
                    (
                        eq(sizes[node.inputs[0]], int(node.amount)),
                        f"node {node.name} (linear): needs size {node.amount}",
                    )
                )
        return out

    def output_size(self) -> dict[str, sympy.Expr]:
        return {dim: self.sizes(dim)[self.output] for dim in self.dims}

    def check(self, sizes: Mapping[str, int]) -> dict[str, int]:
        """Output sizes at concrete input sizes; ShapeError naming the first node that fails and why."""
        out = {}
        for dim in self.dims:
            env = {dim: sizes[dim]}
            for condition, rule in self.conditions(dim):
                try:
                    holds = bool(evaluate(condition, env))
                except ZeroDivisionError:
                    holds = False
                if not holds:
                    values = {name: _int_or_none(expr, env) for name, expr in self.sizes(dim).items()}
                    detail = ", ".join(f"{k}={v}" for k, v in values.items() if v is not None)
                    raise ShapeError(f"{rule} at {dim}={sizes[dim]} (sizes: {detail})")
            out[dim] = int(evaluate(self.sizes(dim)[self.output], env))
        return out

    def valid_inputs(self, timeout_ms: int = 20_000) -> dict[str, ValidSet]:
        return {dim: valid_set(self.conditions(dim), dim, timeout_ms) for dim in self.dims}

    def receptive_fields(self) -> dict[str, Field]:
        return receptive_fields(self)


def _int_or_none(expr: sympy.Expr, env: Mapping[str, int]) -> int | None:
    try:
        return int(evaluate(expr, env))
    except (ZeroDivisionError, TypeError, SymconvError):
        return None


def valid_set(conditions: Sequence[tuple[sympy.Basic, str]], dim: str, timeout_ms: int = 20_000) -> ValidSet:
    """The exact valid set of one axis, derived in closed form and proved with Z3."""
    from .prove import prove
    from .solve import Planner

    x = symbol(dim)
    found = Planner(x).plan(_conjunction(c for c, _ in conditions)).solve({}, IntSet.interval(1, None))
    valid = _eventually_periodic(found)
    member = (
        sympy.Or(*(eq(sympy.Mod(x, valid.period), r) for r in valid.residues))
        if valid.residues
        else sympy.false
    )
    defined = _conjunction(c for c, _ in conditions)
    claim = sympy.And(sympy.Implies(member, defined), sympy.Implies(defined, member))
    result = prove(claim, [sympy.Ge(x, valid.start)], timeout_ms=timeout_ms)
    return ValidSet(
        valid.period,
        valid.residues,
        valid.start,
        valid.below,
        f"{result.status} ({getattr(result, 'scope', getattr(result, 'reason', ''))})",
    )


def _conjunction(conditions: Any) -> sympy.Basic:
    """And of many conditions, unevaluated: SymPy's canonical ordering of the arguments costs more than the
    solver and the prover need (they take the conjunction as it is)."""
    return sympy.And(*conditions, evaluate=False)


def _eventually_periodic(found: IntSet) -> ValidSet:
    """period/residues/from/below of a set of positive integers given as periodic pieces."""
    period = 1
    for piece in found.pieces:
        period = math.lcm(period, piece.period)
    finite_ends = [p.hi for p in found.pieces if p.hi is not None]
    infinite_starts = [p.lo for p in found.pieces if p.hi is None and p.lo is not None]
    start = max([1, *(end + 1 for end in finite_ends), *infinite_starts])
    residues = tuple(r for r in range(period) if any((start + ((r - start) % period)) in p for p in [found]))
    # The least period that describes the same residues.
    for divisor in sorted(d for d in range(1, period + 1) if period % d == 0):
        reduced = tuple(r for r in range(divisor) if r in residues)
        if all((r % divisor in reduced) == (r in residues) for r in range(period)):
            period, residues = divisor, reduced
            break
    # Move `from` down while the periodic rule still describes the set exactly.
    while start > 1 and ((start - 1) in found) == ((start - 1) % period in residues):
        start -= 1
    below = tuple(itertools.takewhile(lambda x: x < start, found.iterate())) if found.bounded_below() else ()
    return ValidSet(period, residues, start, below)


def receptive_fields(net: Network) -> dict[str, Field]:
    """Araujo et al.'s forward recurrences (dilation included): r += (k_eff - 1)*S, P += pb*S, S *= s; a transposed
    convolution is a stretch (S /= s) then a stride-1 convolution with padding k_eff - p - 1; upsampling by s
    divides S by s. Merges must agree in S and centre shift, else they are marked unaligned (largest r kept)."""
    one = Fraction(1)
    fields: dict[str, Field] = {}
    for node in net.nodes:
        if node.op == "input":
            fields[node.name] = Field(one, one, Fraction(0))
            continue
        inputs = [fields[name] for name in node.inputs]
        if node.op in MERGES:
            first = inputs[0]
            aligned = all(
                f.stride == first.stride and (f.r - 1) / 2 - f.padding == (first.r - 1) / 2 - first.padding
                for f in inputs
            )
            widest = max(inputs, key=lambda f: f.r)
            fields[node.name] = Field(
                widest.r, widest.stride, widest.padding, aligned and all(f.aligned for f in inputs)
            )
            continue
        before = inputs[0]
        made = node.layer
        if node.op != "layer" or made is None:
            fields[node.name] = before
            continue
        fields[node.name] = _layer_field(before, made)
    return fields


def _layer_field(before: Field, made: Layer) -> Field:
    r, stride, padding = before.r, before.stride, before.padding
    if isinstance(made, Windowed):
        k, s, d = (_number(v) for v in (made.k, made.s, made.d))
        pb, _ = made.padding(sympy.Integer(10**6))  # an automatic padding: its value for large sizes
        k_eff = d * (k - 1) + 1
        return Field(r + (k_eff - 1) * stride, stride * s, padding + _number(pb) * stride, before.aligned)
    if isinstance(made, ConvTranspose):
        # Output q reads input j when q = j*s + t*d - pb for a tap t: the widest span of such j over one
        # period of q (zeros of the stretched input read nothing), and unit 0's leftmost input.
        kt, st, dt, pt = (int(_number(v)) for v in (made.k, made.s, made.d, made.pb))
        span, first = 1, None
        for q in range(st):
            read = [(q + pt - t * dt) // st for t in range(kt) if (q + pt - t * dt) % st == 0]
            if read:
                span = max(span, max(read) - min(read) + 1)
                if q == 0:
                    first = min(read)
        if first is None:
            first = -((kt - 1) * dt - pt) // st
        return Field(r + (span - 1) * stride, stride / st, padding - first * stride, before.aligned)
    if isinstance(made, Resize) and made.scale is not None:
        return Field(r, stride / _number(made.scale), padding, before.aligned)
    return before


def _number(value: Any) -> Fraction:
    if isinstance(value, sympy.Integer):
        return Fraction(int(value))
    raise SpecError(f"receptive fields need concrete parameters, got {value}")


_SPLIT = re.compile(r">(?![^()]*\))")


def chain(text: str, dims: Sequence[str] = ("i",)) -> Network:
    """A chain network from `spec > spec > ...`; its input is named by `dims` (i by default)."""
    parts = [part.strip() for part in _SPLIT.split(text)]
    if not parts or not all(parts):
        raise SpecError(f"a chain is specs separated by '>', got {text!r}")
    nodes = [Node("input", "input")]
    for index, part in enumerate(parts):
        nodes.append(Node(f"n{index + 1}", "layer", (nodes[-1].name,), layer(part)))
    return Network(tuple(nodes), tuple(dims))


NODE_KEYS = ("name", "layer", "op", "input", "inputs", "size")


def from_toml(text: str, origin: str = "<text>") -> Network:
    """A network file: `dims = ["H", "W"]` and [[node]] tables with name, layer (a spec) or op
    (cat, add, crop, flatten, linear), input or inputs (default: the node before), size (crop, linear)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{origin}: not valid TOML: {error}") from None
    dims = data.get("dims", ["i"])
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


def load_network(source: str, input_shape: Sequence[str] | None = None) -> Network:
    """A chain string, a TOML network file, a .onnx file, or pkg.module:factory returning a torch module."""
    path = Path(source)
    dims = _dims(input_shape)
    if source.endswith(".onnx"):
        from .importers.onnx import from_onnx

        return from_onnx(source)
    if path.suffix == ".toml":
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise SpecError(f"cannot read network file {source}: {error}") from None
        return from_toml(text, source)
    if ":" in source and "(" not in source:
        from .importers.torch import from_factory

        return from_factory(source, input_shape)
    return chain(source, dims or ("i",))


def _dims(input_shape: Sequence[str] | None) -> tuple[str, ...]:
    if not input_shape:
        return ()
    return tuple(d for d in input_shape[2:] if not d.isdigit()) or tuple(input_shape[2:])


__all__ = ["Field", "Network", "Node", "ValidSet", "chain", "from_toml", "load_network"]
