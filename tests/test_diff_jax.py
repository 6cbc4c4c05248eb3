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
from functools import partial
from typing import Any, ClassVar

import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
lax = pytest.importorskip("jax.lax")

from tests import differential  # noqa: E402
from tests.differential import Outcome, Padding, agree, lax_padding  # noqa: E402

SEED = 20240612
LAYERS = {"conv": 90, "maxpool": 60, "avgpool": 60, "convT": 90}
SIZES_PER_LAYER = 9
MIN_CONFIGS = 2000
LAYOUT = ("NCH", "OIH", "NCH")


@dataclass(frozen=True)
class Case(differential.Case):
    """op: conv, maxpool, avgpool, convT; s None: left out (JAX's default, pooling only); p None: left out
    (symconv's default 'valid'); d None: left out (JAX's default)."""

    consistent: bool | None = None  # convT use_consistent_padding; None: left out (False)

    prefix: ClassVar[str] = "jax"

    def args(self) -> list[tuple[str, object]]:
        return [*super().args(), ("consistent", self.consistent)]


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
            padding=lax_padding(case.p, 1),
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
            padding=lax_padding(case.p, 1),
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
        padding=lax_padding(case.p, 3),
        window_dilation=None if case.d is None else (1, 1, case.d),
    )
    return jax.eval_shape(fn, x)


def jax_outcome(case: Case) -> Outcome:
    result = differential.outcome(lambda: _jax_call(case), (TypeError, ValueError), lambda out: out.shape)
    if result[0] != "ok":
        return result
    assert result[1][:2] == (1, 1), result[1]
    return "ok", int(result[1][2])


# ---------------------------------------------------------------------------------------------------------------
# Asking symconv


def symconv_outcome(case: Case) -> Outcome:
    return differential.symconv_outcome(case.spec(), case.i)


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

    def group(r: Result) -> str:
        flags = f", consistent={r.case.consistent}" if op == "convT" else ""
        flags += ", stride left out" if r.case.s is None else ""
        return f"padding {r.case.form()}{flags}: symconv {r.ours[0]}, JAX {r.theirs[0]}"

    return differential.report(
        f"disagreements with JAX for jax.{op}",
        bad,
        group,
        lambda r: f"{r.case.short()}: symconv {r.ours[1]!r}, JAX {r.theirs[1]!r}",
        lambda r: (r.case.i + r.case.k + (r.case.s or 0) + (r.case.d or 0), r.case.i),
        examples=3,
    )


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
    bad = [r for r in results if r.case.op == op and not agree(r.ours, r.theirs)]
    assert not bad, _report(op, bad)
