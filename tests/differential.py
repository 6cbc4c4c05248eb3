"""The differential harness: what every test of symconv against a real library shares.

A differential test draws configurations (a `Case`: one layer at one input size), runs each through the library
and through symconv, and compares the two outcomes. An outcome is ("ok", value) or a refusal (label, message):
the library's exception, or symconv's ShapeError / SpecError, caught and kept as data, so that a refusal on
both sides agrees and a refusal on one side is a disagreement like a wrong size. The failure report groups the
disagreements by class, the smallest example of each first.

Each test module keeps what is its library's own: how to draw, how to call the library, which exceptions are
its refusals, and which of its classes are worth grouping by. No library is imported here (each is an optional
extra): the helpers for PyTorch and onnxruntime import theirs when they are used.
"""

from __future__ import annotations

import importlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, TypeVar

import symconv
from symconv.core.layers import Layer
from symconv.core.windowmap import IntervalMap, window_map

Outcome = tuple[str, Any]  # ("ok", value) or (refusal label, message)
OK, REFUSED = "ok", "refused"
Padding = int | tuple[int, int] | str
SYMCONV_REFUSALS = (symconv.ShapeError, symconv.SpecError)

T = TypeVar("T")
L = TypeVar("L", bound=Layer)


# ---------------------------------------------------------------------------------------------------------------
# The case record


def spec_text(prefix: str, op: str, args: Iterable[tuple[str, object]]) -> str:
    """`prefix.op(name=value, ...)` for the arguments given (None: left out); a (begin, end) pair is written
    `[(begin, end)]` (one axis) and a boolean `true` / `false`, as the spec grammar reads them."""
    written = []
    for name, value in args:
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, tuple):
            value = f"[({value[0]}, {value[1]})]"
        written.append(f"{name}={value}")
    return f"{prefix}.{op}({', '.join(written)})"


@dataclass(frozen=True)
class Case:
    """One sliding layer (convolution, transposed convolution or pooling) on one axis of size i. None: the
    parameter is left out, of the library call (its default) and of the spec alike."""

    op: str  # conv, convT, maxpool, avgpool, ...
    i: int
    k: int
    s: int | None
    p: Padding | None
    d: int | None

    prefix: ClassVar[str] = "symconv"  # the spec's framework prefix; a subclass sets its library's

    def args(self) -> list[tuple[str, object]]:
        """The spec's arguments in the order they are written; a subclass adds its own."""
        return [("k", self.k), ("s", self.s), ("p", self.p), ("d", self.d)]

    def spec(self, prefix: str | None = None) -> str:
        return spec_text(prefix or self.prefix, self.op, self.args())

    def short(self) -> str:
        return f"{self.spec()} at i={self.i}"

    def form(self) -> str:
        """The padding form: default (left out), pair, int, or the mode's name (for grouping disagreements)."""
        if self.p is None:
            return "default"
        if isinstance(self.p, tuple):
            return "pair"
        return self.p if isinstance(self.p, str) else "int"


# ---------------------------------------------------------------------------------------------------------------
# Running a library, and asking symconv


def message(error: BaseException) -> str:
    """'Class: first line of the message' (libraries append stacks and hints below it)."""
    lines = str(error).splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def outcome(
    call: Callable[[], T],
    refusals: tuple[type[BaseException], ...],
    read: Callable[[T], Any] = lambda value: value,
    label: str = REFUSED,
) -> Outcome:
    """("ok", read(call())), or (label, message) if the call raised one of the library's refusals; any other
    exception propagates (a crash is not a refusal)."""
    try:
        value = call()
    except refusals as error:
        return label, message(error)
    return OK, read(value)


@cache
def symconv_layer(spec: str) -> Layer | symconv.SymconvError:
    """The built layer, or the refusal building it raised (building is the expensive part: cached)."""
    try:
        return symconv.layer(spec)
    except SYMCONV_REFUSALS as error:
        return error


def symconv_refusal(error: symconv.SymconvError, label: str = REFUSED) -> Outcome:
    """symconv's refusal as an outcome: its class and whole message (symconv's messages are one line)."""
    return label, f"{type(error).__name__}: {error}"


def symconv_outcome(spec: str, size: int | tuple[int, ...], build: str = REFUSED) -> Outcome:
    """symconv's answer for the spec at an input size: ("ok", output size) as an int (or a tuple of ints for a
    tuple of sizes), or a refusal with its full message: `build` labels one raised building the layer."""
    made = symconv_layer(spec)
    if isinstance(made, symconv.SymconvError):
        return symconv_refusal(made, build)
    try:
        out = made.output_size(size)
    except SYMCONV_REFUSALS as error:
        return symconv_refusal(error)
    return OK, int(out) if isinstance(size, int) else tuple(int(o) for o in out)


def refusal(result: Outcome) -> bool:
    """Whether an outcome is a refusal (a label "refused", or "refused ..." naming its stage)."""
    return str(result[0]).startswith(REFUSED)


def agree(x: Outcome, y: Outcome, same_stage: bool = False) -> bool:
    """Equal answers, or both refused (by whatever message; with same_stage, under the same label)."""
    if x == y:
        return True
    return refusal(x) and refusal(y) and (not same_stage or x[0] == y[0])


def typed_layer(spec: str, kind: type[L]) -> L:
    """symconv's layer for the spec, which the test knows to be of `kind` (Conv, Pool, ConvTranspose, ...)."""
    made = symconv.layer(spec)
    assert isinstance(made, kind), (spec, type(made).__name__)
    return made


def interval_map(spec: str) -> IntervalMap:
    """The window map of a resizing layer, whose windows are intervals (what it reads, from the first input to
    the last)."""
    mapping = window_map(symconv.layer(spec))
    assert isinstance(mapping, IntervalMap), (spec, type(mapping).__name__)
    return mapping


def ints(made: Any, *names: str) -> list[int]:
    """A built layer's parameters as Python ints (they are SymPy integers), in the order named."""
    return [int(getattr(made, name)) for name in names]


# ---------------------------------------------------------------------------------------------------------------
# The failure report


def kind(result: Outcome) -> str:
    """An outcome's class: a refusal by its message with the numbers blanked, else ok."""
    if result[0] != OK:
        return f"{result[0]}: {re.sub(r'[0-9]+', 'N', str(result[1]))[:200]}"
    return OK


def report(
    title: str,
    bad: Sequence[T],
    group: Callable[[T], str],
    example: Callable[[T], str],
    smallest: Callable[[T], Any] | None = None,
    examples: int = 2,
) -> str:
    """The disagreements grouped by class (`group` names an item's), the largest class first, with `examples`
    examples each (the smallest first by `smallest`, when given)."""
    groups: dict[str, list[T]] = defaultdict(list)
    for item in bad:
        groups[group(item)].append(item)
    lines = [f"{len(bad)} {title}, in {len(groups)} classes:"]
    for name, members in sorted(groups.items(), key=lambda entry: -len(entry[1])):
        if smallest is not None:
            members.sort(key=smallest)
        lines.append(f"- {len(members)} x {name}")
        lines += [f"    {example(item)}" for item in members[:examples]]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Running PyTorch


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """PyTorch on one thread: the tensors are tiny, and on a shared machine idle worker threads contend for the
    cores (a one-channel conv1d then takes milliseconds instead of microseconds)."""
    torch = importlib.import_module("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------------------------------------
# Running onnxruntime


def ort_refusals() -> tuple[type[BaseException], ...]:
    """The exceptions by which onnxruntime refuses a model or an input (anything else is a crash)."""
    state = importlib.import_module("onnxruntime.capi.onnxruntime_pybind11_state")
    return (state.Fail, state.InvalidArgument, state.RuntimeException, state.InvalidGraph)


def ort_session_options() -> Any:
    """Options for a one-node model: quiet (refusals are expected; level 3 still prints errors), one thread and
    no graph optimization (a one-node graph has nothing to optimize; session creation is several times
    cheaper)."""
    ort = importlib.import_module("onnxruntime")
    options = ort.SessionOptions()
    options.log_severity_level = 4
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return options


# ---------------------------------------------------------------------------------------------------------------
# Running JAX


def lax_padding(p: Padding | None, rank: int) -> str | list[tuple[int, int]]:
    """jax.lax's padding argument: an upper-case mode, or (begin, end) pairs on the last of `rank` axes (zeros
    before it); None is lax's VALID."""
    if p is None:
        return "VALID"
    if isinstance(p, str):
        return p.upper()
    pair = p if isinstance(p, tuple) else (p, p)
    return [(0, 0)] * (rank - 1) + [pair]
