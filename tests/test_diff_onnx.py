"""Differential tests: symconv's onnx.* (the ONNX standard) and ort.* (onnxruntime) against the libraries.

Every configuration is drawn from a seeded random.Random (deterministic), sizes from 1 so that empty outputs and
kernels longer than the input are drawn, and built as a one-node ONNX model (weights as initializers, a concrete
input shape [1, 1, i] or [1, 1, i, i]; pooling at opsets 12 to 22, where the rules changed). Each model is asked
three times:

- the standard's shape function: onnx.shape_inference.infer_shapes(strict_mode=True);
- the standard's reference implementation: onnx.reference.ReferenceEvaluator run on a zero input;
- the runtime: an onnxruntime session created and run on a zero input (an exception from either is a refusal).

What must hold:
(a) ort.* agrees with onnxruntime on every configuration: the same size, or both refuse (a ShapeError or
    SpecError from symconv, at construction or at output_size).
(b) onnx.* answers with shape inference's size whenever it answers; it answers wherever shape inference and the
    reference evaluator give the same size; it refuses only where shape inference has no size of at least 1 or
    the two paths of the standard disagree (the refusal says so). The reference evaluator's pooling fails on
    configurations shape inference accepts (IndexError, wrong sizes: a defect of that implementation); there
    onnx.* follows shape inference, which is the standard's normative shape function.
(c) onnx_inference_window (C++ truncating division, no check) is shape inference for Conv and floor-mode pooling.

The suite draws 1,000 configurations of each kind (Conv, ConvTranspose, MaxPool, AveragePool, LpPool,
MaxUnpool); SYMCONV_ONNX_CONFIGS=N draws N of each.

Sessions run on one thread with graph optimizations off (a one-node graph has nothing to optimize; this makes
session creation several times cheaper).
"""

from __future__ import annotations

import itertools
import os
import random
import re
import warnings
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import pytest

pytestmark = pytest.mark.slow  # real frameworks or whole models: -m "not slow" skips it

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
np = pytest.importorskip("numpy")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

from symconv.core.arith import evaluate, symbol  # noqa: E402
from symconv.core.frameworks import auto_pads, onnx_inference_window  # noqa: E402
from tests import differential  # noqa: E402
from tests.differential import Outcome, Padding, agree  # noqa: E402

SEED = 20240612
OPSET = 22
IR_VERSION = 8  # opset 12 models need an IR version onnxruntime accepts with every opset drawn
# Configurations per kind; SYMCONV_ONNX_CONFIGS=N draws N of each for a larger run (the suite draws 1,000).
PER_KIND = max(1000, int(os.environ.get("SYMCONV_ONNX_CONFIGS", "1000")))
PER_OP = dict.fromkeys(("conv", "convT", "maxpool", "avgpool", "lppool", "maxunpool"), PER_KIND)
OP_TYPE = {
    "conv": "Conv",
    "convT": "ConvTranspose",
    "maxpool": "MaxPool",
    "avgpool": "AveragePool",
    "lppool": "LpPool",
    "maxunpool": "MaxUnpool",
}
POOLS = ("maxpool", "avgpool", "lppool")
# Opsets drawn for pooling: ceil_mode's last-window rule entered shape inference at 22; dilations came to
# AveragePool at 19 and to LpPool (with ceil_mode) at 18.
POOL_OPSETS = {"maxpool": (12, 18, 19, 22), "avgpool": (12, 18, 19, 22), "lppool": (18, 22)}
DILATED_SINCE = {"maxpool": 10, "avgpool": 19, "lppool": 18}
# What onnxruntime raises for a refused model (InvalidArgument at run time, Fail at session creation, ...).
# NotImplemented and the rest are left to propagate: they would mean a broken harness, not a refusal.
ORT_REFUSALS = differential.ort_refusals()


@dataclass(frozen=True)
class Case(differential.Case):
    """op: a key of OP_TYPE; s None: the default (1), strides attribute left out; p: a number, (begin, end), or
    valid / same_upper / same_lower (auto_pad); d None: the default (1), dilations attribute left out."""

    a: int | None = None  # convT output_padding (None: attribute left out)
    ceil: bool | None = None  # pooling ceil_mode (None: attribute left out)
    dims: int = 1  # 1 or 2 (2: equal sizes and parameters on both axes)
    opset: int = OPSET

    prefix: ClassVar[str] = "onnx"

    @property
    def pads(self) -> tuple[int, int] | None:
        if self.p is None or isinstance(self.p, str):
            return None
        return self.p if isinstance(self.p, tuple) else (self.p, self.p)

    def args(self) -> list[tuple[str, object]]:
        opset = None if self.opset == OPSET else self.opset
        return [*super().args(), ("a", self.a), ("ceil", self.ceil), ("opset", opset)]

    def short(self, framework: str = "onnx") -> str:
        return f"{self.spec(framework)} {self.dims}-D, i={self.i}"


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
    else:
        p = rng.choice(["valid", "same_upper", "same_lower"])
    if op == "convT":
        return Case(op, i, k, s, p, d, a=None if rng.random() < 0.1 else rng.randint(0, 3), dims=dims)
    if op == "conv":
        return Case(op, i, k, s, p, d, dims=dims)
    if op == "maxunpool":
        # The pooled tensor's size: small, as a MaxPool's output is.
        return Case(op, rng.randint(1, 12), k, s, p if not isinstance(p, str) else 0, None, dims=dims)
    opset = rng.choice(POOL_OPSETS[op])
    if opset < DILATED_SINCE[op]:
        d = None
    ceil = None if rng.random() < 0.1 else rng.random() < 0.5
    return Case(op, i, k, s, p, d, ceil=ceil, dims=dims, opset=opset)


def draw_cases() -> list[Case]:
    rng = random.Random(SEED)
    return [_draw(rng, op) for op, count in PER_OP.items() for _ in range(count)]


# ---------------------------------------------------------------------------------------------------------------
# Building the model and asking the libraries


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
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, *([case.i] * n)])]
    names = ["x"]
    initializers = []
    if case.op in ("conv", "convT"):
        weight = np.ones((1, 1, *([case.k] * n)), dtype=np.float32)
        initializers.append(numpy_helper.from_array(weight, "w"))
        names.append("w")
    if case.op == "maxunpool":
        inputs.append(helper.make_tensor_value_info("indices", TensorProto.INT64, [1, 1, *([case.i] * n)]))
        names.append("indices")
    node = helper.make_node(OP_TYPE[case.op], names, ["y"], **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        inputs,
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=initializers,
    )
    opsets = [helper.make_opsetid("", case.opset)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=IR_VERSION)


def feeds(case: Case) -> dict[str, Any]:
    shape = (1, 1, *([case.i] * case.dims))
    out = {"x": np.zeros(shape, dtype=np.float32)}
    if case.op == "maxunpool":
        out["indices"] = np.zeros(shape, dtype=np.int64)  # every value from position 0: valid at any size
    return out


def ort_outcome(case: Case, model: Any, so: Any) -> Outcome:
    def call() -> Any:
        session = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        (out,) = session.run(None, feeds(case))
        return out

    return differential.outcome(call, ORT_REFUSALS, _spatial)


def _spatial(out: Any) -> tuple[int, ...]:
    return tuple(int(o) for o in out.shape[2:])


def inferred_output(model: Any) -> Outcome:
    inferred = differential.outcome(
        lambda: onnx.shape_inference.infer_shapes(model, strict_mode=True),
        (onnx.shape_inference.InferenceError,),
    )
    if inferred[0] != "ok":
        return inferred
    dims = inferred[1].graph.output[0].type.tensor_type.shape.dim
    sizes = tuple(dim.dim_value if dim.HasField("dim_value") else None for dim in dims[2:])
    if not sizes or None in sizes:
        return "unknown", sizes
    return "ok", sizes


def reference_output(case: Case, model: Any) -> Outcome:
    """The reference evaluator's output shape; any exception it raises is its refusal (or its failure)."""

    def call() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (out,) = ReferenceEvaluator(model).run(None, feeds(case))
            return out

    # The evaluator's refusals are ValueError, RuntimeError, IndexError, ...
    return differential.outcome(call, (Exception,), _spatial)


# ---------------------------------------------------------------------------------------------------------------
# Asking symconv


def symconv_outcome(case: Case, framework: str) -> Outcome:
    return differential.symconv_outcome(case.spec(framework), (case.i,) * case.dims)


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


@dataclass
class Result:
    case: Case
    runtime: Outcome
    inferred: Outcome
    reference: Outcome
    standard: Outcome  # symconv's onnx.*
    ours_runtime: Outcome  # symconv's ort.*

    @property
    def paths_agree(self) -> bool:
        """Shape inference and the reference evaluator give the same size."""
        return self.inferred[0] == "ok" and self.inferred == self.reference


@pytest.fixture(scope="module")
def results() -> list[Result]:
    ort.set_default_logger_severity(4)
    so = differential.ort_session_options()
    out = []
    for case in draw_cases():
        model = build_model(case)
        out.append(
            Result(
                case,
                ort_outcome(case, model, so),
                inferred_output(model),
                reference_output(case, model),
                symconv_outcome(case, "onnx"),
                symconv_outcome(case, "ort"),
            )
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
    ceil = f", ceil, opset {case.opset}" if case.ceil else ""
    return f"{case.op}: {pads}{dilated}{ceil}"


def _report(title: str, bad: list[tuple[Case, Outcome, Outcome]], framework: str = "onnx") -> str:
    """The disagreements grouped by class (setting, symconv's kind, the library's kind), two examples each."""
    return differential.report(
        title,
        bad,
        lambda m: f"[{_setting(m[0])}] symconv [{_kind(m[1], m[2])}] / library [{_kind(m[2], m[1])}]",
        lambda m: f"{m[0].short(framework)}: symconv {m[1][1]}, library {m[2][1]}",
    )


# ---------------------------------------------------------------------------------------------------------------
# Tests


def test_enough_configurations_both_accepted_and_refused(results: list[Result]) -> None:
    for op, count in PER_OP.items():
        assert count >= 1000
        kinds = Counter(r.runtime[0] for r in results if r.case.op == op)
        assert kinds["ok"] >= 300 and kinds["refused"] >= 30, (op, kinds)
        assert sum(r.case.op == op and r.case.i == 1 for r in results) >= 10, op
    kinds2 = Counter(r.runtime[0] for r in results if r.case.dims == 2)
    assert kinds2["ok"] >= 100 and kinds2["refused"] >= 10, kinds2
    # The interesting refusals are drawn: pool pads >= kernel, output_padding too large, too small an input,
    # SAME with dilation.
    for message in ("Pad should be smaller than kernel", "output_padding", "Invalid input shape", "Dilation"):
        assert any(message in str(r.runtime[1]) for r in results), message
    # Both the standard's paths disagree somewhere, and agree on most configurations.
    assert 0 < sum(not r.paths_agree for r in results) < sum(r.paths_agree for r in results)


@pytest.mark.parametrize("op", list(PER_OP))
def test_ort_matches_onnxruntime(results: list[Result], op: str) -> None:
    bad = [
        (r.case, r.ours_runtime, r.runtime)
        for r in results
        if r.case.op == op and not agree(r.ours_runtime, r.runtime)
    ]
    assert not bad, _report(f"disagreements with onnxruntime for {op}", bad, "ort")


@pytest.mark.parametrize("op", list(PER_OP))
def test_onnx_sizes_are_shape_inference(results: list[Result], op: str) -> None:
    bad = [
        (r.case, r.standard, r.inferred)
        for r in results
        if r.case.op == op and r.standard[0] == "ok" and r.standard != r.inferred
    ]
    assert not bad, _report(f"onnx.{op} sizes differing from onnx.shape_inference", bad)


@pytest.mark.parametrize("op", list(PER_OP))
def test_onnx_answers_where_the_standard_agrees_with_itself(results: list[Result], op: str) -> None:
    bad = [(r.case, r.standard, r.reference) for r in results if r.case.op == op and r.paths_agree]
    bad = [(case, ours, theirs) for case, ours, theirs in bad if ours != theirs]
    assert not bad, _report(f"onnx.{op} answers differing where inference and reference agree", bad)


@pytest.mark.parametrize("op", list(PER_OP))
def test_onnx_refuses_only_where_the_standard_has_no_answer(results: list[Result], op: str) -> None:
    """A refusal of onnx.* is where shape inference gives no size >= 1, or its two paths disagree."""
    bad = [
        (r.case, r.standard, r.inferred)
        for r in results
        if r.case.op == op
        and r.standard[0] == "refused"
        and r.inferred[0] == "ok"
        and min(r.inferred[1]) >= 1
        and r.paths_agree
    ]
    assert not bad, _report(f"onnx.{op} refusals where the standard answers", bad)


def test_disagreements_of_the_standard_are_named(results: list[Result]) -> None:
    """Where onnx.* refuses although shape inference gives a size, the message names both of the standard's
    paths and what each gives."""
    named = [r for r in results if r.standard[0] == "refused" and r.inferred[0] == "ok" and not r.paths_agree]
    assert named
    for r in named:
        assert "shape inference" in r.standard[1] or "reference" in r.standard[1], (
            r.case.short(),
            r.standard,
        )


@pytest.mark.parametrize("op", ["conv", "convT", "maxunpool"])
def test_reference_evaluator_agrees_where_onnx_answers(results: list[Result], op: str) -> None:
    """The reference evaluator's Conv, ConvTranspose and MaxUnpool give onnx.*'s size wherever it answers: there
    the standard's two paths are one (its pooling has failures of its own, see the module docstring)."""
    bad = [
        (r.case, r.standard, r.reference)
        for r in results
        if r.case.op == op and r.standard[0] == "ok" and r.reference != r.standard
    ]
    assert not bad, _report("onnx.* sizes differing from the reference evaluator", bad)


def test_standard_and_runtime_differ_where_stated(results: list[Result]) -> None:
    """onnx.* and ort.* differ on the configurations where the standard and onnxruntime do, in each of the known
    classes (the theorems in proofs/frameworks.toml state them)."""
    differ = [r for r in results if not agree(r.standard, r.ours_runtime)]
    assert all(not agree(r.inferred if r.paths_agree else r.standard, r.runtime) for r in differ)
    settings = Counter(_setting(r.case).split(":")[0] for r in differ)
    for op in ("conv", "convT", "maxpool", "avgpool", "lppool"):
        assert settings[op] > 0, settings
    assert any(
        r.case.ceil and r.case.opset < 22 and r.standard[0] == r.ours_runtime[0] == "ok" for r in differ
    )


@pytest.mark.parametrize("op", ["conv", "maxpool", "avgpool"])
@pytest.mark.parametrize("formula", [symconv_inference, symconv_inference_on_integers])
def test_onnx_inference_window_matches_shape_inference(results: list[Result], op: str, formula: Any) -> None:
    """The formula evaluated symbolically, and called as documented on plain integers, is shape inference's size
    for Conv and floor-mode pooling with explicit pads."""
    checked = [
        r
        for r in results
        if r.case.op == op
        and not r.case.ceil
        and r.inferred[0] == "ok"
        and (op == "conv" or r.case.pads is not None)
    ]
    assert len(checked) >= 300
    bad = [(r.case, formula(r.case), r.inferred) for r in checked]
    bad = [(case, ours, theirs) for case, ours, theirs in bad if ours != theirs]
    assert not bad, _report(f"{formula.__name__} differing from onnx.shape_inference for {op}", bad)


def test_case_specs_round_trip() -> None:
    case = Case("maxpool", 5, 3, 2, (1, 0), None, ceil=True, opset=18)
    assert case.spec("onnx") == "onnx.maxpool(k=3, s=2, p=[(1, 0)], ceil=true, opset=18)"
    assert case.spec("ort") == "ort.maxpool(k=3, s=2, p=[(1, 0)], ceil=true, opset=18)"
    assert replace(case, opset=OPSET).spec("onnx") == "onnx.maxpool(k=3, s=2, p=[(1, 0)], ceil=true)"


def _transposed_to_shape(
    i: int,
    k: int,
    s: int,
    d: int,
    a: int,
    out: int,
    auto_pad: str | None = None,
    pads: tuple[int, int] | None = None,
) -> Any:
    """A one-node ConvTranspose with output_shape (by default no pads given: the output_shape decides them)."""
    attrs: dict[str, Any] = {
        "kernel_shape": [k],
        "strides": [s],
        "dilations": [d],
        "output_padding": [a],
        "output_shape": [out],
    }
    if auto_pad is not None:
        attrs["auto_pad"] = auto_pad
    if pads is not None:
        attrs["pads"] = list(pads)
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, i])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.ones((1, 1, k), dtype=np.float32), "w")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)


def test_ort_transposed_output_shape_matches_onnxruntime() -> None:
    """ConvTranspose with output_shape, every one from 1 to past the largest onnxruntime takes (it counts the
    forward windows over output_shape and refuses more than the input has), on a grid of small layers."""
    ort.set_default_logger_severity(4)
    so = differential.ort_session_options()
    bad = []
    refused = 0
    for i, k, s, d in itertools.product(range(1, 4), range(1, 4), range(1, 4), range(1, 3)):
        for a in range(s):
            for out in range(1, s * i + d * (k - 1) + 3):
                case = Case("convT", i, k, s, None, d, a=a)
                theirs = ort_outcome(case, _transposed_to_shape(i, k, s, d, a, out), so)
                spec = f"ort.convT(k={k}, s={s}, d={d}, a={a}, output_shape={out})"
                ours = differential.symconv_outcome(spec, i)
                refused += theirs[0] != "ok"
                if not agree(ours, theirs if theirs[0] != "ok" else ("ok", theirs[1][0])):
                    bad.append(f"{spec} at i={i}: symconv {ours}, onnxruntime {theirs}")
    assert refused >= 100
    assert not bad, f"{len(bad)} disagreements:\n" + "\n".join(bad[:10])


def _standard_output(model: Any, i: int) -> tuple[int | None, int | str]:
    """(shape inference's output size or None, the reference evaluator's or its error's class name)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        dims = inferred.graph.output[0].type.tensor_type.shape.dim
        shape = dims[2].dim_value if len(dims) == 3 and dims[2].HasField("dim_value") else None
    except Exception:  # the library's refusal, whatever its class
        shape = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outputs: Any = ReferenceEvaluator(model).run(None, {"x": np.ones((1, 1, i), dtype=np.float32)})
        return shape, int(outputs[0].shape[2])
    except Exception as error:  # the library's refusal, whatever its class
        return shape, type(error).__name__


def test_standard_transposed_output_shape_matches_shape_inference_and_the_reference_evaluator() -> None:
    """onnx.convT with output_shape answers that size exactly where shape inference and the reference evaluator
    both give it (an output_shape below i has no inferred shape; the evaluator keeps the pads given, 0 by
    default, unless auto_pad is SAME), and refuses everywhere else, on a grid of small layers."""
    bad, answered, refused = [], 0, 0
    modes = [(None, None), ("SAME_UPPER", None), ("SAME_LOWER", None), (None, (1, 0))]
    for i, k, s, d, (mode, pads) in itertools.product(range(1, 5), range(1, 4), range(1, 4), (1, 2), modes):
        for a in range(s + 1):
            for out in range(1, s * i + d * (k - 1) + 3):
                shape, value = _standard_output(_transposed_to_shape(i, k, s, d, a, out, mode, pads), i)
                both = shape == out and value == out
                p = f", p={mode.lower()}" if mode else (f", p=[{pads}]" if pads else "")
                spec = f"onnx.convT(k={k}, s={s}, d={d}, a={a}{p}, output_shape={out})"
                ours = differential.symconv_outcome(spec, i)
                answered += both
                refused += not both
                if (ours != ("ok", out)) if both else not differential.refusal(ours):
                    bad.append(f"{spec} at i={i}: symconv {ours}, shape inference {shape}, reference {value}")
    assert answered >= 300 and refused >= 300
    assert not bad, f"{len(bad)} disagreements:\n" + "\n".join(bad[:10])
