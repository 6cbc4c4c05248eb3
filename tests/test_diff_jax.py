"""Differential tests: symconv's jax.* layers against JAX itself (jax.eval_shape on jax.lax).

Every configuration is drawn from a seeded random.Random (deterministic), refused ones included, and its shape
is propagated by jax.eval_shape through the lax primitive the spec names:

- jax.conv     lax.conv_general_dilated(lhs (1, 1, i), rhs (1, 1, k), window_strides=(s,), padding,
               rhs_dilation=(d,)), layout ('NCH', 'OIH', 'NCH') (its default for rank 3);
- jax.maxpool  lax.reduce_window(x, -inf, lax.max, (1, 1, k), (1, 1, s), padding, window_dilation=(1, 1, d));
- jax.avgpool  the same with 0 and lax.add (reduce_window's sum);
- jax.convT    lax.conv_transpose(lhs, rhs, (s,), padding, rhs_dilation=(d,), ('NCH', 'OIH', 'NCH'),
               use_consistent_padding=...).

A parameter left out of the spec is left out of the call too (pooling strides and dilations: None, JAX's
default; convT's use_consistent_padding: JAX's default False). An exception from JAX (TypeError or ValueError)
must match a ShapeError or SpecError from symconv (at layer construction or output_size), and an output size
must equal symconv's output_size. Building a symconv layer costs far more than one eval_shape, so each drawn
layer is checked at several drawn input sizes.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
lax = pytest.importorskip("jax.lax")

import symconv  # noqa: E402

SEED = 20240612
LAYERS = {"conv": 90, "maxpool": 60, "avgpool": 60, "convT": 90}
SIZES_PER_LAYER = 9
MIN_CONFIGS = 2000
LAYOUT = ("NCH", "OIH", "NCH")

Padding = int | tuple[int, int] | str
Outcome = tuple[str, Any]  # ("ok", size) or ("refused", message)


@dataclass(frozen=True)
class Case:
    op: str  # conv, maxpool, avgpool, convT
    i: int
    k: int
    s: int | None  # None: left out (JAX's default, pooling only)
    p: Padding | None  # None: left out (symconv's default 'valid')
    d: int | None  # None: left out (JAX's default)
    consistent: bool | None = None  # convT use_consistent_padding; None: left out (False)

    def spec(self) -> str:
        args = [f"k={self.k}"]
        if self.s is not None:
            args.append(f"s={self.s}")
        if isinstance(self.p, tuple):
            args.append(f"p=[({self.p[0]}, {self.p[1]})]")
        elif self.p is not None:
            args.append(f"p={self.p}")
        if self.d is not None:
            args.append(f"d={self.d}")
        if self.consistent is not None:
            args.append(f"consistent={'true' if self.consistent else 'false'}")
        return f"jax.{self.op}({', '.join(args)})"

    def short(self) -> str:
        return f"{self.spec()} at i={self.i}"

    def form(self) -> str:
        """The padding form: valid, same, same_lower, int or pair (for grouping disagreements)."""
        if self.p is None:
            return "default"
        if isinstance(self.p, tuple):
            return "pair"
        return self.p if isinstance(self.p, str) else "int"


# ---------------------------------------------------------------------------------------------------------------
# Drawing configurations


def _padding(rng: random.Random, forms: tuple[str, ...]) -> Padding | None:
    form = rng.choice(forms)
    # Pads in -3..4, leaning per layer to one sign a third of the time each: the refusals sit at the extremes
    # (negative pads exceeding the input; for convT with use_consistent_padding, large positive pads).
    low, high = rng.choice(((-3, 4), (-3, 0), (1, 4)))
    if form == "int":
        return rng.randint(low, high)
    if form == "pair":
        return (rng.randint(low, high), rng.randint(low, high))
    if form == "default":
        return None
    return form


def _draw_layer(rng: random.Random, op: str) -> list[Case]:
    k = rng.randint(1, 7)
    s: int | None = rng.randint(1, 4)
    d: int | None = rng.randint(1, 3)
    consistent: bool | None = None
    if op == "convT":
        # Explicit pads twice as often: that is where the two use_consistent_padding readings differ.
        p = _padding(rng, ("valid", "same", "int", "pair", "int", "pair", "default"))
        consistent = rng.choice((None, True, False))
    else:
        p = _padding(rng, ("valid", "same", "same_lower", "int", "pair", "pair", "default"))
        if op != "conv" and rng.random() < 0.2:
            s = None  # reduce_window's window_strides=None
    if rng.random() < 0.2:
        d = None
    # Small inputs are where windows stop fitting and negative pads exceed the input: draw them more often.
    small = SIZES_PER_LAYER // 2
    sizes = sorted(rng.sample(range(1, 9), small) + rng.sample(range(9, 41), SIZES_PER_LAYER - small))
    return [Case(op, i, k, s, p, d, consistent) for i in sizes]


def draw_cases() -> list[Case]:
    rng = random.Random(SEED)
    return [case for op, count in LAYERS.items() for _ in range(count) for case in _draw_layer(rng, op)]


# ---------------------------------------------------------------------------------------------------------------
# Running JAX


def _lax_padding(p: Padding | None, rank: int) -> str | list[tuple[int, int]]:
    """The padding argument: an upper-case mode, or (begin, end) pairs on the last axis (zeros before it)."""
    if p is None:
        return "VALID"
    if isinstance(p, str):
        return p.upper()
    pair = p if isinstance(p, tuple) else (p, p)
    return [(0, 0)] * (rank - 1) + [pair]


def _jax_call(case: Case) -> Any:
    f32 = jnp.float32
    x = jax.ShapeDtypeStruct((1, 1, case.i), f32)
    w = jax.ShapeDtypeStruct((1, 1, case.k), f32)
    dilation = None if case.d is None else (case.d,)
    if case.op == "conv":
        assert case.s is not None
        fn = partial(
            lax.conv_general_dilated,
            window_strides=(case.s,),
            padding=_lax_padding(case.p, 1),
            rhs_dilation=dilation,
            dimension_numbers=LAYOUT,
        )
        return jax.eval_shape(fn, x, w)
    if case.op == "convT":
        assert case.s is not None
        extra = {} if case.consistent is None else {"use_consistent_padding": case.consistent}
        fn = partial(
            lax.conv_transpose,
            strides=(case.s,),
            padding=_lax_padding(case.p, 1),
            rhs_dilation=dilation,
            dimension_numbers=LAYOUT,
            **extra,
        )
        return jax.eval_shape(fn, x, w)
    init, computation = (-jnp.inf, lax.max) if case.op == "maxpool" else (0.0, lax.add)
    fn = partial(
        lax.reduce_window,
        init_value=init,
        computation=computation,
        window_dimensions=(1, 1, case.k),
        window_strides=None if case.s is None else (1, 1, case.s),
        padding=_lax_padding(case.p, 3),
        window_dilation=None if case.d is None else (1, 1, case.d),
    )
    return jax.eval_shape(fn, x)


def jax_outcome(case: Case) -> Outcome:
    try:
        out = _jax_call(case)
    except (TypeError, ValueError) as error:
        return "refused", f"{type(error).__name__}: {str(error).splitlines()[0]}"
    assert out.shape[:2] == (1, 1), out.shape
    return "ok", int(out.shape[2])


# ---------------------------------------------------------------------------------------------------------------
# Asking symconv


@cache
def _layer(spec: str) -> Any:
    """The built layer, or the error building it raised (building is the expensive part)."""
    try:
        return symconv.layer(spec)
    except (symconv.ShapeError, symconv.SpecError) as error:
        return error


def symconv_outcome(case: Case) -> Outcome:
    made = _layer(case.spec())
    if isinstance(made, Exception):
        return "refused", f"{type(made).__name__} (building): {made}"
    try:
        return "ok", int(made.output_size(case.i))
    except (symconv.ShapeError, symconv.SpecError) as error:
        return "refused", f"{type(error).__name__}: {error}"


def _agree(x: Outcome, y: Outcome) -> bool:
    return x[0] == y[0] == "refused" or x == y


@dataclass
class Result:
    case: Case
    theirs: Outcome
    ours: Outcome


@pytest.fixture(scope="module")
def results() -> list[Result]:
    return [Result(case, jax_outcome(case), symconv_outcome(case)) for case in draw_cases()]


def _report(op: str, bad: list[Result]) -> str:
    """Disagreements grouped by class (padding form, flags, who refused), the smallest example of each first."""
    classes: dict[tuple[Any, ...], list[Result]] = {}
    for r in bad:
        key = (r.case.form(), r.case.consistent, r.case.s is None, r.ours[0], r.theirs[0])
        classes.setdefault(key, []).append(r)
    lines = [f"{len(bad)} disagreements with JAX for jax.{op} in {len(classes)} classes:"]
    for (form, consistent, no_stride, ours, theirs), members in classes.items():
        members.sort(key=lambda r: (r.case.i + r.case.k + (r.case.s or 0) + (r.case.d or 0), r.case.i))
        flags = f", consistent={consistent}" if op == "convT" else ""
        flags += ", stride left out" if no_stride else ""
        lines.append(f"- padding {form}{flags}: symconv {ours}, JAX {theirs} ({len(members)} configurations)")
        for r in members[:3]:
            lines.append(f"    {r.case.short()}: symconv {r.ours[1]!r}, JAX {r.theirs[1]!r}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Tests


def test_enough_configurations_both_accepted_and_refused(results: list[Result]) -> None:
    assert len(results) >= MIN_CONFIGS
    kinds = Counter(r.theirs[0] for r in results)
    assert kinds["ok"] >= 500 and kinds["refused"] >= 50, kinds
    for op in LAYERS:
        sizes = Counter(r.theirs[1] == 0 for r in results if r.case.op == op and r.theirs[0] == "ok")
        # Every op gives both empty (size 0, JAX clamps instead of raising) and non-empty outputs.
        assert sizes[True] >= 5 and sizes[False] >= 100, (op, sizes)
    # The refusals that matter are drawn: negative padding larger than the input (conv and convT).
    for op in ("conv", "convT"):
        refused = [r for r in results if r.case.op == op and r.theirs[0] == "refused"]
        assert len(refused) >= 10 and all("Negative padding is larger" in r.theirs[1] for r in refused), op
    # Both readings of convT's explicit padding are drawn, each with inputs it refuses.
    flags: tuple[bool | None, ...] = (None, True, False)
    for flag in flags:
        convT = [r for r in results if r.case.op == "convT" and r.case.consistent is flag]
        assert any(r.case.form() == "pair" for r in convT), flag
        assert flag is None or any(r.theirs[0] == "refused" for r in convT), flag


@pytest.mark.parametrize("op", list(LAYERS))
def test_symconv_matches_jax(results: list[Result], op: str) -> None:
    bad = [r for r in results if r.case.op == op and not _agree(r.ours, r.theirs)]
    assert not bad, _report(op, bad)
