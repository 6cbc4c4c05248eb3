"""Differential tests: symconv's keras.* layers against Keras 3 itself.

Every configuration is drawn from a seeded random.Random (deterministic), refused ones included, and given to
Keras three ways:

- the layer: keras.layers.Conv1D(filters=1, kernel_size=k, strides=s, padding=p, dilation_rate=d),
  MaxPooling1D / AveragePooling1D(pool_size=k, strides=s, padding=p) or Conv1DTranspose(..., output_padding=a),
  then compute_output_shape((1, i, 1)). A parameter left out of the spec is left out of the call too (Keras'
  default: pooling strides = pool_size, output_padding = None). This is the reference: a Keras exception at
  construction must match a symconv error at layer construction (a refusal whatever the input), an exception
  in compute_output_shape a ShapeError from output_size, and a shape must equal output_size.
- keras.ops (conv, max_pool, average_pool, conv_transpose) on symbolic KerasTensors, wherever the layer could be
  built: the ops skip the layers' constructor checks (strides > 1 with dilation > 1, output_padding >= strides).
- the layer called on a real array, for a subset: this runs the backend's kernel. It agrees with
  compute_output_shape except in one documented gap (REAL_GAP).

The backend is set to numpy before Keras is imported (the shape rules are backend-independent).
"""

from __future__ import annotations

import os
import random
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

os.environ["KERAS_BACKEND"] = "numpy"

import pytest

keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

from tests import differential  # noqa: E402
from tests.differential import REFUSED, Outcome, agree  # noqa: E402

SEED = 20240613
PER_OP = {"conv": 800, "maxpool": 450, "avgpool": 450, "convT": 800}
MIN_CONFIGS = 2000
REAL_EVERY = 16  # the real call (it builds weights and runs a kernel) on every 16th configuration

# Outcomes: ("ok", size), ("refused at construction", message) or ("refused", message)
BUILD, CALL = "refused at construction", REFUSED
REFUSALS = (ValueError, TypeError)


@dataclass(frozen=True)
class Case(differential.Case):
    """op: conv, maxpool, avgpool, convT; s None: left out (Keras' default); p None: left out ('valid'); d None:
    left out (1), conv and convT only."""

    a: int | None = None  # convT output_padding; None: left out (Keras' None)

    prefix: ClassVar[str] = "keras"

    def args(self) -> list[tuple[str, object]]:
        return [*super().args(), ("a", self.a)]

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of the layer (and of the op), only those the spec gives."""
        names = {"s": "strides", "p": "padding", "d": "dilation_rate", "a": "output_padding"}
        return {names[n]: getattr(self, n) for n in names if getattr(self, n) is not None}


# ---------------------------------------------------------------------------------------------------------------
# Drawing configurations


def _draw(rng: random.Random, op: str) -> Case:
    # Small inputs are where windows stop fitting: draw them more often.
    i = rng.randint(1, 8) if rng.random() < 0.3 else rng.randint(1, 40)
    k = rng.randint(1, 7)
    s: int | None = rng.randint(1, 4)
    d: int | None = rng.randint(1, 3)
    if op == "conv":
        p: str | None = rng.choice(("valid", "same", "causal", None))
        if rng.random() < 0.15:
            s = None
        if rng.random() < 0.4:
            # Keras refuses strides > 1 with dilation > 1; keep plenty of configurations it accepts.
            d = rng.choice((None, 1))
        return Case(op, i, k, s, p, d)
    if op == "convT":
        p = rng.choice(("valid", "same", None))
        if rng.random() < 0.4:
            d = rng.choice((None, 1))
        a = rng.choice((None, None, 0, 1, 2, 3))
        return Case(op, i, k, s, p, d, a)
    p = rng.choice(("valid", "same", None))
    if rng.random() < 0.25:
        s = None
    return Case(op, i, k, s, p, None)


def draw_cases() -> list[Case]:
    rng = random.Random(SEED)
    return [_draw(rng, op) for op, count in PER_OP.items() for _ in range(count)]


# ---------------------------------------------------------------------------------------------------------------
# Running Keras


def _layer(case: Case) -> Any:
    kwargs = case.kwargs()
    if case.op == "conv":
        return keras.layers.Conv1D(filters=1, kernel_size=case.k, **kwargs)
    if case.op == "convT":
        return keras.layers.Conv1DTranspose(filters=1, kernel_size=case.k, **kwargs)
    pool = keras.layers.MaxPooling1D if case.op == "maxpool" else keras.layers.AveragePooling1D
    return pool(pool_size=case.k, **kwargs)


def _built(case: Case, use: Any) -> Outcome:
    """Construct the layer (a refusal there is BUILD), then use(layer) (a refusal there is CALL)."""
    made = differential.outcome(lambda: _layer(case), REFUSALS, label=BUILD)
    if made[0] != "ok":
        return made
    return differential.outcome(lambda: use(made[1]), REFUSALS, label=CALL)


def _size(shape: Any) -> int:
    assert shape[0] == 1 and shape[2] == 1, shape
    return int(shape[1])


def keras_outcome(case: Case) -> Outcome:
    """Through the layer: construction, then compute_output_shape((1, i, 1))."""
    result = _built(case, lambda made: made.compute_output_shape((1, case.i, 1)))
    return ("ok", _size(result[1])) if result[0] == "ok" else result


def ops_outcome(case: Case) -> Outcome:
    """Through keras.ops on KerasTensors (shape inference only)."""
    x = keras.KerasTensor((1, case.i, 1))
    kwargs = {**case.kwargs(), "data_format": "channels_last"}

    def call() -> Any:
        if case.op == "conv":
            return keras.ops.conv(x, keras.KerasTensor((case.k, 1, 1)), **kwargs)
        if case.op == "convT":
            return keras.ops.conv_transpose(x, keras.KerasTensor((case.k, 1, 1)), **kwargs)
        if case.op == "maxpool":
            return keras.ops.max_pool(x, case.k, **kwargs)
        return keras.ops.average_pool(x, case.k, **kwargs)

    return differential.outcome(call, REFUSALS, lambda out: int(out.shape[1]), CALL)


def real_outcome(case: Case) -> Outcome:
    """The layer called on np.ones((1, i, 1)): the backend's kernel runs."""

    def call(made: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return made(np.ones((1, case.i, 1), dtype="float32"))

    result = _built(case, call)
    return ("ok", int(result[1].shape[1])) if result[0] == "ok" else result


def real_gap(case: Case, reference: Outcome) -> str | None:
    """Keras' pooling layers check the output size only in compute_output_shape (operation_utils.py
    compute_pooling_output_shape: "Computed output size would be zero or negative"); calling the layer runs the
    backend's pooling, which returns an empty output where the window does not fit."""
    if case.op in ("maxpool", "avgpool") and reference[0] == CALL and "zero or negative" in reference[1]:
        return (
            "valid pooling with the window larger than the input: refused by compute_output_shape, size 0 run"
        )
    return None


# ---------------------------------------------------------------------------------------------------------------
# Asking symconv


def symconv_outcome(case: Case) -> Outcome:
    return differential.symconv_outcome(case.spec(), case.i, build=BUILD)


@dataclass
class Result:
    case: Case
    layer: Outcome
    ops: Outcome | None  # None where the layer could not be built
    real: Outcome | None  # None off the subset
    ours: Outcome


@pytest.fixture(scope="module")
def results() -> list[Result]:
    out = []
    for n, case in enumerate(draw_cases()):
        layer = keras_outcome(case)
        ops = None if layer[0] == BUILD else ops_outcome(case)
        real = real_outcome(case) if n % REAL_EVERY == 0 else None
        out.append(Result(case, layer, ops, real, symconv_outcome(case)))
    return out


def _report(title: str, bad: list[tuple[Result, Outcome]]) -> str:
    """Disagreements grouped by class (padding, who refused where), the smallest example of each first."""

    def group(member: tuple[Result, Outcome]) -> str:
        r, theirs = member
        extra = ""
        if "convT" in title:
            extra = ", output_padding left out" if r.case.a is None else ", output_padding given"
        return f"padding {r.case.p}{extra}: symconv {r.ours[0]}, Keras {theirs[0]}"

    return differential.report(
        title,
        bad,
        group,
        lambda m: f"{m[0].case.short()}: symconv {m[0].ours[1]!r}, Keras {m[1][1]!r}",
        lambda m: (m[0].case.i + m[0].case.k + (m[0].case.s or 0), m[0].case.i),
        examples=3,
    )


# ---------------------------------------------------------------------------------------------------------------
# Tests


def test_enough_configurations_both_accepted_and_refused(results: list[Result]) -> None:
    assert len(results) >= MIN_CONFIGS
    for op in PER_OP:
        kinds = Counter(r.layer[0] for r in results if r.case.op == op)
        assert kinds["ok"] >= 100, (op, kinds)
        if op != "convT":  # the transposed layers never refuse an input size
            assert kinds[CALL] >= 20, (op, kinds)
        if op in ("conv", "convT"):  # strides > 1 with dilation > 1; convT also output_padding >= strides
            assert kinds[BUILD] >= 20, (op, kinds)
    assert any("output_padding" in r.layer[1] for r in results if r.layer[0] == BUILD)
    assert any("dilation_rate" in r.layer[1] for r in results if r.layer[0] == BUILD)
    assert sum(r.real is not None for r in results) >= 150
    assert sum(r.ops is not None for r in results) >= 1500


@pytest.mark.parametrize("op", list(PER_OP))
def test_symconv_matches_keras_layers(results: list[Result], op: str) -> None:
    bad = [(r, r.layer) for r in results if r.case.op == op and not agree(r.ours, r.layer, same_stage=True)]
    assert not bad, _report(f"disagreements with the Keras layers for keras.{op}", bad)


@pytest.mark.parametrize("op", list(PER_OP))
def test_symconv_matches_keras_ops(results: list[Result], op: str) -> None:
    bad = [
        (r, r.ops)
        for r in results
        if r.case.op == op
        and r.ops is not None
        and not agree(r.ours, r.ops)  # keras.ops have no construction stage
    ]
    assert not bad, _report(f"disagreements with keras.ops for keras.{op}", bad)


def test_real_call_matches_compute_output_shape(results: list[Result]) -> None:
    """Keras' own consistency, where symconv's reference (compute_output_shape) and the kernels could differ."""
    bad = []
    gaps: Counter[str] = Counter()
    for r in results:
        if r.real is None:
            continue
        gap = real_gap(r.case, r.layer)
        if gap is None:
            if not agree(r.real, r.layer, same_stage=True):
                bad.append((r, r.real))
        else:
            assert r.real == ("ok", 0), (r.case.short(), r.real)
            gaps[gap] += 1
    assert not bad, _report("differences between the real call and compute_output_shape", bad)
    assert gaps, "the documented REAL_GAP no longer shows: drop it"


INVERTED = [
    "conv(k=3, s=2, p=1)",
    "conv(k=4, s=2, p=1)",
    "conv(k=5, s=3, p=2)",
    "conv(k=3, s=2)",
    "conv(k=2, s=3)",
    "keras.conv(k=3, s=2, p=same)",
    "keras.conv(k=4, s=2, p=same)",
    "tf.conv(k=5, s=3, p=same)",
    "onnx.conv(k=3, s=2, p=same_lower)",
    "torch.maxpool(k=3, s=2, p=1, ceil=true)",
    "maxpool(k=2, s=2)",
    "conv(k=3, d=2, p=2)",
]


@pytest.mark.parametrize("spec", INVERTED)
def test_invert_keras_form_gives_back_the_input_in_keras(spec: str) -> None:
    """invert's Keras form, at each size, built by Keras and sized by compute_output_shape, gives back i."""
    from symconv.core.layers import layer
    from symconv.logic.transpose import invert

    offered = 0
    for i in range(1, 25):
        try:
            o = layer(spec).output_size(i)
        except ValueError:
            continue
        form = invert(layer(spec), i).to_json()["keras"]
        if form is None:
            continue
        offered += 1
        made = keras.layers.Conv1DTranspose(filters=1, **form)
        assert made.compute_output_shape((1, o, 1))[1] == i, (spec, i, form)
    assert offered, f"no Keras form offered for {spec}"
