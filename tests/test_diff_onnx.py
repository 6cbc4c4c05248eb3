"""Differential tests: symconv's onnx.* layers against onnxruntime and ONNX shape inference.

Every configuration is drawn from a seeded random.Random (deterministic), refused ones included, and built as a
one-node ONNX model (opset OPSET, weights as initializers, a concrete input shape [1, 1, i] or [1, 1, i, i]):

(a) onnxruntime: the session is created and run on a zero input. An exception from session creation or run
    means the configuration is refused and must match a ShapeError or SpecError from symconv (at layer
    construction or output_size); an output shape must equal symconv's output_size.
(b) onnx.shape_inference.infer_shapes(strict_mode=True), for Conv and floor-mode pooling, must give
    symconv.frameworks.onnx_inference_window(i, pb, pe, k_eff, s): C++ truncating division, no check. The
    formula is checked symbolically evaluated, and separately as documented, called on plain integers.

Sessions run on one thread with graph optimizations off (a one-node graph has nothing to optimize; this makes
session creation several times cheaper).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
np = pytest.importorskip("numpy")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state  # noqa: E402

import symconv  # noqa: E402
from symconv.arith import evaluate, symbol  # noqa: E402
from symconv.frameworks import auto_pads, onnx_inference_window  # noqa: E402

SEED = 20240612
OPSET = 22
IR_VERSION = 10
PER_OP = {"conv": 650, "convT": 500, "maxpool": 500, "avgpool": 450}
MIN_CONFIGS = 2000
OP_TYPE = {"conv": "Conv", "convT": "ConvTranspose", "maxpool": "MaxPool", "avgpool": "AveragePool"}
# What onnxruntime raises for a refused model (InvalidArgument at run time, Fail at session creation, ...).
# NotImplemented and the rest are left to propagate: they would mean a broken harness, not a refusal.
ORT_REFUSALS = (ort_state.Fail, ort_state.InvalidArgument, ort_state.RuntimeException, ort_state.InvalidGraph)

Padding = int | tuple[int, int] | str
Outcome = tuple[str, Any]  # ("ok", shape tuple) or ("refused", message)


@dataclass(frozen=True)
class Case:
    op: str  # conv, convT, maxpool, avgpool
    i: int
    k: int
    s: int | None  # None: the default (1), strides attribute left out
    p: Padding  # a number, (begin, end), or valid / same_upper / same_lower (auto_pad)
    d: int | None  # None: the default (1), dilations attribute left out
    a: int | None = None  # convT output_padding (None: attribute left out)
    ceil: bool | None = None  # pooling ceil_mode (None: attribute left out)
    dims: int = 1  # 1 or 2 (2: equal sizes and parameters on both axes)

    @property
    def pads(self) -> tuple[int, int] | None:
        if isinstance(self.p, str):
            return None
        return self.p if isinstance(self.p, tuple) else (self.p, self.p)

    def spec(self) -> str:
        pad = f"({self.p[0]}, {self.p[1]})" if isinstance(self.p, tuple) else str(self.p)
        args = [f"k={self.k}"]
        if self.s is not None:
            args.append(f"s={self.s}")
        args.append(f"p={pad}")
        if self.a is not None:
            args.append(f"a={self.a}")
        if self.d is not None:
            args.append(f"d={self.d}")
        if self.ceil is not None:
            args.append(f"ceil={'true' if self.ceil else 'false'}")
        return f"onnx.{self.op}({', '.join(args)})"

    def short(self) -> str:
        return f"{self.spec()} {self.dims}-D, i={self.i}"


# ---------------------------------------------------------------------------------------------------------------
# Drawing configurations


def _draw(rng: random.Random, op: str) -> Case:
    i = rng.randint(1, 40)
    k = rng.randint(1, 7)
    s: int | None = None if rng.random() < 0.1 else rng.randint(1, 4)
    d: int | None = None if rng.random() < 0.1 else rng.randint(1, 3)
    dims = 2 if rng.random() < 0.1 else 1
    form = rng.random()
    p: Padding
    if form < 0.4:
        p = rng.randint(0, 4)
    elif form < 0.75:
        p = (rng.randint(0, 4), rng.randint(0, 4))
    elif op == "convT":
        p = "valid"
    else:
        p = rng.choice(["valid", "same_upper", "same_lower"])
    if op == "convT":
        return Case(op, i, k, s, p, d, a=None if rng.random() < 0.1 else rng.randint(0, 3), dims=dims)
    if op == "conv":
        return Case(op, i, k, s, p, d, dims=dims)
    ceil = None if rng.random() < 0.1 else rng.random() < 0.5
    return Case(op, i, k, s, p, d, ceil=ceil, dims=dims)


def draw_cases() -> list[Case]:
    rng = random.Random(SEED)
    return [_draw(rng, op) for op, count in PER_OP.items() for _ in range(count)]


# ---------------------------------------------------------------------------------------------------------------
# Building the model


def build_model(case: Case) -> Any:
    n = case.dims
    attrs: dict[str, Any] = {"kernel_shape": [case.k] * n}
    if case.s is not None:
        attrs["strides"] = [case.s] * n
    if case.d is not None:
        attrs["dilations"] = [case.d] * n
    pads = case.pads
    if pads is None:
        attrs["auto_pad"] = str(case.p).upper()
    else:
        attrs["pads"] = [pads[0]] * n + [pads[1]] * n
    if case.a is not None:
        attrs["output_padding"] = [case.a] * n
    if case.ceil is not None:
        attrs["ceil_mode"] = int(case.ceil)
    inputs = ["x"]
    initializers = []
    if case.op in ("conv", "convT"):
        weight = np.ones((1, 1, *([case.k] * n)), dtype=np.float32)
        initializers.append(numpy_helper.from_array(weight, "w"))
        inputs.append("w")
    node = helper.make_node(OP_TYPE[case.op], inputs, ["y"], **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, *([case.i] * n)])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)


def _session_options() -> Any:
    so = ort.SessionOptions()
    so.log_severity_level = 4  # refusals are expected: keep the log quiet (3 still prints errors)
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return so


def ort_outcome(case: Case, model: Any, so: Any) -> Outcome:
    try:
        session = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        (out,) = session.run(None, {"x": np.zeros((1, 1, *([case.i] * case.dims)), dtype=np.float32)})
    except ORT_REFUSALS as error:
        return "refused", f"{type(error).__name__}: {str(error).splitlines()[0]}"
    return "ok", tuple(int(o) for o in out.shape[2:])


def inferred_output(model: Any) -> Outcome:
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except onnx.shape_inference.InferenceError as error:
        return "refused", f"InferenceError: {str(error).splitlines()[0]}"
    dims = inferred.graph.output[0].type.tensor_type.shape.dim
    return "ok", tuple(dim.dim_value if dim.HasField("dim_value") else None for dim in dims[2:])


# ---------------------------------------------------------------------------------------------------------------
# Asking symconv


def symconv_outcome(case: Case) -> Outcome:
    try:
        size = symconv.layer(case.spec()).output_size(tuple([case.i] * case.dims))
    except (symconv.ShapeError, symconv.SpecError) as error:
        return "refused", f"{type(error).__name__}: {error}"
    return "ok", tuple(int(o) for o in size)


def _inference_pads(case: Case) -> tuple[int, int, int, int]:
    """(pb, pe, k_eff, s) of the case: its pads, or the ones its auto_pad implies at this input size."""
    s = 1 if case.s is None else case.s
    d = 1 if case.d is None else case.d
    pads = case.pads
    if pads is None:
        pb, pe = (int(evaluate(x, {})) for x in auto_pads("onnx", str(case.p), case.i, case.k, s, d))
    else:
        pb, pe = pads
    return pb, pe, d * (case.k - 1) + 1, s


# The formula once, symbolically, then evaluated exactly on each case.
_NAMES = ("i", "pb", "pe", "k_eff", "s")
_WINDOW = onnx_inference_window(*(symbol(name) for name in _NAMES))


def symconv_inference(case: Case) -> Outcome:
    """onnx_inference_window (the formula, evaluated) with the case's pads."""
    env = dict(zip(_NAMES, (case.i, *_inference_pads(case)), strict=True))
    return "ok", (int(evaluate(_WINDOW, env)),) * case.dims


def symconv_inference_on_integers(case: Case) -> Outcome:
    """onnx_inference_window called as documented, on plain integers."""
    try:
        size = onnx_inference_window(case.i, *_inference_pads(case))
    except (TypeError, ValueError) as error:
        return "crashed", f"{type(error).__name__}: {error}"
    return "ok", (int(size),) * case.dims


def _agree(x: Outcome, y: Outcome) -> bool:
    return x[0] == y[0] == "refused" or x == y


@dataclass
class Result:
    case: Case
    ort: Outcome
    ours: Outcome
    inferred: Outcome | None  # only for Conv and floor-mode pooling
    expected_inference: Outcome | None
    on_integers: Outcome | None


@pytest.fixture(scope="module")
def results() -> list[Result]:
    ort.set_default_logger_severity(4)
    so = _session_options()
    out = []
    for case in draw_cases():
        model = build_model(case)
        inferred = expected = direct = None
        if case.op == "conv" or (case.op != "convT" and not case.ceil):
            inferred, expected = inferred_output(model), symconv_inference(case)
            direct = symconv_inference_on_integers(case)
        out.append(
            Result(case, ort_outcome(case, model, so), symconv_outcome(case), inferred, expected, direct)
        )
    return out


def _kind(outcome: Outcome, other: Outcome | None = None) -> str:
    """An outcome's class: a refusal by its rule or message (numbers blanked), a size by sign or comparison."""
    if outcome[0] != "ok":
        message = str(outcome[1]).split("Status Message: ")[-1].split("was false. ")[-1]
        message = message.split(" (")[0] if message.startswith(("ShapeError", "SpecError")) else message
        return f"{outcome[0]}: {re.sub(r'[0-9]+', 'N', message)[:120]}"
    if 0 in outcome[1]:
        return "ok, size 0"
    if other is not None and other[0] == "ok" and other[1] != outcome[1]:
        return "ok, larger" if outcome[1] > other[1] else "ok, smaller"
    return "ok"


def _setting(case: Case) -> str:
    pads = "explicit pads" if case.pads is not None else f"auto_pad={str(case.p).upper()}"
    dilated = ", d>1" if (case.d or 1) > 1 else ""
    ceil = ", ceil" if case.ceil else ""
    return f"{pads}{dilated}{ceil}"


def _report(title: str, bad: list[tuple[Case, Outcome, Outcome]]) -> str:
    """The disagreements grouped by class (setting, symconv's kind, the library's kind), two examples each."""
    groups: dict[tuple[str, str, str], list[tuple[Case, Outcome, Outcome]]] = {}
    for case, ours, theirs in bad:
        key = (_setting(case), _kind(ours, theirs), _kind(theirs, ours))
        groups.setdefault(key, []).append((case, ours, theirs))
    lines = [f"{len(bad)} {title}, in {len(groups)} classes:"]
    for (setting, ours_kind, theirs_kind), members in sorted(groups.items(), key=lambda item: -len(item[1])):
        lines.append(f"- {len(members)} x [{setting}] symconv [{ours_kind}] / onnx [{theirs_kind}]")
        for case, ours, theirs in members[:2]:
            lines.append(f"    {case.short()}: symconv {ours[1]}, onnx {theirs[1]}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Tests


def test_enough_configurations_both_accepted_and_refused(results: list[Result]) -> None:
    assert len(results) >= MIN_CONFIGS
    for op in PER_OP:
        kinds = Counter(r.ort[0] for r in results if r.case.op == op)
        assert kinds["ok"] >= 50 and kinds["refused"] >= 20, (op, kinds)
    kinds2 = Counter(r.ort[0] for r in results if r.case.dims == 2)
    assert kinds2["ok"] >= 20 and kinds2["refused"] >= 5, kinds2
    # The interesting refusals are drawn: pool pads >= kernel, output_padding too large, too small an input.
    assert any("Pad should be smaller than kernel" in str(r.ort[1]) for r in results)
    assert any("output_padding" in str(r.ort[1]) for r in results)
    assert any("Invalid input shape" in str(r.ort[1]) for r in results)
    inferred = [r for r in results if r.inferred is not None]
    assert len(inferred) >= 800
    assert any(r.inferred is not None and r.inferred[1][0] <= 0 for r in inferred)  # no check in inference


@pytest.mark.parametrize("op", list(PER_OP))
def test_symconv_matches_onnxruntime(results: list[Result], op: str) -> None:
    bad = [(r.case, r.ours, r.ort) for r in results if r.case.op == op and not _agree(r.ours, r.ort)]
    assert not bad, _report(f"disagreements with onnxruntime for {op}", bad)


@pytest.mark.parametrize("op", ["conv", "maxpool", "avgpool"])
def test_onnx_inference_window_matches_shape_inference(results: list[Result], op: str) -> None:
    bad = [
        (r.case, r.expected_inference, r.inferred)
        for r in results
        if r.case.op == op and r.inferred is not None and r.inferred != r.expected_inference
    ]
    assert not bad, _report(f"disagreements with onnx.shape_inference for {op}", bad)


def test_onnx_inference_window_on_integers(results: list[Result]) -> None:
    """The documented call, onnx_inference_window(i, pb, pe, k_eff, s) on ints, gives the same sizes."""
    bad = [
        (r.case, r.on_integers, r.inferred)
        for r in results
        if r.on_integers is not None and r.on_integers != r.inferred
    ]
    assert not bad, _report(
        "onnx_inference_window(int, ...) results differing from onnx.shape_inference", bad
    )
