"""The Python API: the command line's jobs as functions, options keyword-only, results typed.

Every function takes a layer spec as text (or a layer already made) and raises SpecError for bad input rather
than answering something else: a claim that is not a condition, a size that is not an integer.

>>> import symconv
>>> symconv.solve("conv(k=?, s=2, p=1)", i=224, o=112).solutions
({'k': 3}, {'k': 4})
>>> type(symconv.prove("floor(i/s) <= ceil(i/s)", ["s >= 1"])).__name__
'Proved'
>>> symconv.invert("conv(k=3, s=2, p=1)", i=224).torch["output_padding"]
1
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sympy

from .core.errors import SpecError
from .core.layers import Layer, layer
from .core.limits import DEFAULT_LIMIT

if TYPE_CHECKING:
    from .core.windowmap import Window
    from .logic.port import Port
    from .logic.prove import Result
    from .logic.solve import Answer
    from .logic.transpose import Inverse
    from .nets.network import Network
    from .nets.table import Table

DEFAULT_TIMEOUT_MS = 10_000


def _layer(spec: str | Layer) -> Layer:
    if isinstance(spec, Layer):
        return spec
    return layer(spec)


def _size(value: Any, what: str) -> int | None:
    """An input size: None, or an integer (Python's or NumPy's), never a bool or a float."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SpecError(f"{what} must be an integer, got {value!r}")
    return int(value)


def _condition(value: Any, what: str) -> sympy.Basic:
    """A condition as text ('i >= 1', parsed safely) or a SymPy relation."""
    from .core.parse import parse_condition

    if isinstance(value, str):
        return parse_condition(value)
    if isinstance(value, sympy.logic.boolalg.Boolean) and not isinstance(value, sympy.Expr):
        return value
    raise SpecError(f"{what} must be a condition: text such as 'i >= 1' or a SymPy relation, got {value!r}")


def solve(
    spec: str,
    *,
    i: int | str | Sequence[int | str] | None = None,
    o: int | str | Sequence[int | str] | None = None,
    where: Sequence[str] = (),
    maxima: Mapping[str, int] | None = None,
    minima: Mapping[str, int] | None = None,
    limit: int = DEFAULT_LIMIT,
    minimize: str | None = None,
    maximize: str | None = None,
) -> Answer:
    """Solve the spec's unknowns (``?``) for input size `i` and output size `o` (None or "?": unknown; a
    sequence: one size per axis)."""
    from .logic.solve import solve_spec

    if isinstance(where, str):
        raise SpecError(f"where takes a list of conditions, got the string {where!r}: write [{where!r}]")
    return solve_spec(
        spec,
        i=i,
        o=o,
        where=where,
        maxima=maxima,
        minima=minima,
        limit=limit,
        minimize=minimize,
        maximize=maximize,
    )


def invert(
    spec: str | Layer,
    *,
    i: int | None = None,
    output_padding: int | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> Inverse:
    """The transposed layer that gives back the input size (at `i`, or for every i), with its proof."""
    from .logic.transpose import invert as derive

    fixed = _size(output_padding, "output_padding")
    return derive(_layer(spec), _size(i, "the input size i"), fixed, timeout_ms)


def port(spec: str | Layer, to: str, *, i: int | None = None, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Port:
    """The layer of framework `to` with the same windows (or the closest it has), proved."""
    from .logic.port import port as find

    return find(_layer(spec), to, _size(i, "the input size i"), timeout_ms)


def windows(spec: str | Layer, i: int, *, at: int | None = None) -> list[Window]:
    """Which input positions each output position reads at input size `i` (only output `at`, if given)."""
    from .core.windowmap import windows as listed

    size = _size(i, "the input size i")
    return listed(_layer(spec), size, at=_size(at, "at"))  # type: ignore[arg-type]


def prove(
    claim: str | sympy.Basic,
    given: Sequence[str | sympy.Basic] = (),
    *,
    bound: int | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> Result:
    """Prove that `given` implies `claim`: Proved, Refuted (with a counterexample) or Unknown (with a reason).

    Conditions are text (parsed, never evaluated; layer calls such as ``conv(k=3, s=2)(i)`` allowed) or SymPy.
    """
    from .logic.prove import prove as check
    from .logic.theorem import Theorem

    if isinstance(given, str):
        raise SpecError(f"given takes a list of conditions, got the string {given!r}: write [{given!r}]")
    if bound is not None:
        bound = _size(bound, "bound")
        if bound < 1:  # type: ignore[operator]
            raise SpecError(f"bound must be a positive integer, got {bound}")
    if isinstance(claim, str) and all(isinstance(g, str) for g in given):
        # As `symconv prove --claim`: layer calls' domains become obligations, the text's meaning is checked.
        theorem = Theorem(id="claim", claim=claim, given=tuple(given), origin="symconv.prove")
        return theorem.check(bound=bound, timeout_ms=timeout_ms)
    conditions = [_condition(g, "each given") for g in given]
    return check(_condition(claim, "the claim"), conditions, bound=bound, timeout_ms=timeout_ms)


def network(
    source: str, *, input_shape: Sequence[str | int] | str | None = None, convention: str | None = None
) -> Network:
    """A network from a chain ("conv(k=3, s=2) > maxpool(k=2)"), a .toml or .onnx file, or pkg.module:factory;
    `input_shape` (N, C, H[, W...], or the text "1,3,H,W") names its symbolic axes; `convention` reads an .onnx
    file as the ONNX standard ("onnx", the default) or as onnxruntime runs it ("ort"). Its methods analyse it: output_size(),
    valid_inputs(), receptive_fields(), check({...})."""
    from .nets.load import load_network

    return load_network(source, _shape(input_shape), convention)


def _shape(input_shape: Sequence[str | int] | str | None) -> list[str] | None:
    """An input shape as text per axis: a sequence, or the command line's "1,3,H,W"."""
    if input_shape is None:
        return None
    if isinstance(input_shape, str):
        return [part.strip() for part in input_shape.split(",")]
    if (
        not isinstance(input_shape, Sequence)
        or isinstance(input_shape, bytes | bytearray)
        or not all(isinstance(part, int | str) and not isinstance(part, bool) for part in input_shape)
    ):
        raise SpecError(
            f"input_shape takes a sequence of sizes (integers) and names such as (1, 3, 'H', 'W'), or the text "
            f"'1,3,H,W', got {input_shape!r}"
        )
    return [str(part) for part in input_shape]


def table(
    source: str | Network,
    *,
    at: Mapping[str, int] | None = None,
    input_shape: Sequence[str | int] | str | None = None,
    convention: str | None = None,
) -> Table:
    """The network's shape table (a Network, or a source as `network` reads it): one Row per node with its op,
    output shape as formulas, the conditions it adds and its receptive field; with `at` (a size per input
    axis, e.g. {"H": 224, "W": 224}) every row's concrete shape, and the output or the first failing node
    with the nearest valid sizes (`Table.failure`)."""
    from .nets.network import Network
    from .nets.table import table as build

    if isinstance(source, Network):
        if input_shape is not None or convention is not None:
            raise SpecError(
                "input_shape and convention apply to a source read by symconv.table, not a Network"
            )
        net = source
    elif isinstance(source, str):
        net = network(source, input_shape=input_shape, convention=convention)
    else:
        raise SpecError(f"table takes a Network or a network source (text), got {type(source).__name__}")
    if at is not None and not isinstance(at, Mapping):
        raise SpecError(f"at takes a size per input axis, e.g. {{'H': 224, 'W': 224}}, got {at!r}")
    return build(net, at)


__all__ = ["invert", "network", "port", "prove", "solve", "table", "windows"]
