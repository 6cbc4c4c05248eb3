"""Differential tests: symconv's torch.* layers against PyTorch itself.

Every configuration is drawn from a seeded random.Random (deterministic), refused ones included, and run through
the real module or functional call twice: on meta tensors (shape propagation only) and on small real CPU
tensors. An exception from PyTorch (RuntimeError or ValueError, at construction or at the call) must match a
ShapeError or SpecError from symconv (at layer construction or output_size), and an output shape must equal
symconv's output_size.

The real CPU kernels are the reference; the meta kernels are compared with them separately, because they do
not run every check the CPU kernels run (see meta_gap).

Asymmetric padding: PyTorch's layers have no (begin, end) padding, so `torch.conv(p=[(pb, pe)])` is checked
against F.pad(x, (pb, pe)) followed by an unpadded convolution (see _symconv_asymmetric). Pooling has no such
equivalent (F.pad changes where the ceil_mode last-window rule puts the input's start, and max pooling pads with
-inf), so asymmetric pooling is not drawn.
"""

from __future__ import annotations

import random
import warnings
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import symconv  # noqa: E402
from symconv.core.frameworks import torch_output_padding  # noqa: E402
from tests import differential  # noqa: E402
from tests.differential import SYMCONV_REFUSALS, Outcome, Padding, agree, kind, symconv_refusal  # noqa: E402

SEED = 20240611
PER_OP = {"conv": 700, "convT": 600, "maxpool": 550, "avgpool": 450}
MIN_CONFIGS = 2000


@dataclass(frozen=True)
class Case(differential.Case):
    """op: conv, convT, maxpool, avgpool; s None: the layer's default stride (pooling: the kernel); d None: left
    at the default (1)."""

    a: int = 0  # convT output_padding
    ceil: bool = False
    dims: int = 1  # 1 or 2 (2: equal sizes and parameters on both axes)
    functional: bool = False  # pooling through F.max_pool1d/F.avg_pool1d instead of the module
    requested: int | None = None  # convT: forward(x, output_size=[requested])

    prefix: ClassVar[str] = "torch"

    def args(self) -> list[tuple[str, object]]:
        """The spec of this configuration (output_size requests are handled separately)."""
        return [
            *super().args(),
            ("a", self.a if self.op == "convT" else None),
            ("ceil", self.ceil if self.op in ("maxpool", "avgpool") else None),
        ]

    def short(self) -> str:
        extra = f" output_size=[{self.requested}]" if self.requested is not None else ""
        api = " via F." if self.functional else ""
        return f"{self.spec()}{extra}{api} {self.dims}-D, i={self.i}"


# ---------------------------------------------------------------------------------------------------------------
# Drawing configurations


def _draw(rng: random.Random, op: str) -> Case:
    i = rng.randint(1, 40)
    k = rng.randint(1, 7)
    s: int | None = rng.randint(1, 4)
    d: int | None = rng.randint(1, 3)
    p: Padding = rng.randint(0, 4)
    dims = 2 if rng.random() < 0.12 else 1
    if op == "conv":
        form = rng.random()
        if form < 0.2:
            p = "same"
            s = 1 if rng.random() < 0.6 else s  # strided 'same' is refused; keep both
        elif form < 0.28:
            p = "valid"
        elif form < 0.45:
            p = (rng.randint(0, 4), rng.randint(0, 4))
        if rng.random() < 0.1:
            d = None
        return Case(op, i, k, s, p, d, dims=dims)
    if op == "convT":
        requested = None
        if dims == 1 and rng.random() < 0.2:
            assert s is not None and d is not None and isinstance(p, int)
            smallest = (i - 1) * s - 2 * p + d * (k - 1) + 1
            requested = rng.randint(smallest - 2, smallest + s + 1)
        return Case(op, i, k, s, p, d, a=rng.randint(0, 3), dims=dims, requested=requested)
    if rng.random() < 0.15:
        s = None  # PyTorch's pooling stride defaults to the kernel
    if op == "avgpool":
        d = None
    elif rng.random() < 0.1:
        d = None
    return Case(op, i, k, s, p, d, ceil=rng.random() < 0.5, dims=dims, functional=rng.random() < 0.4)


def draw_cases() -> list[Case]:
    rng = random.Random(SEED)
    return [_draw(rng, op) for op, count in PER_OP.items() for _ in range(count)]


# ---------------------------------------------------------------------------------------------------------------
# Running PyTorch


def _module(case: Case, device: str) -> Any:
    """The nn module of the case (constructing it may itself raise, e.g. strided padding='same')."""
    two = case.dims == 2
    # The drawn values go to PyTorch as drawn (None, a mode name, ...): refusing them is PyTorch's part.
    stride: Any = case.s  # None: PyTorch's default (pooling: the kernel)
    padding: Any = case.p
    dil: dict[str, Any] = {} if case.d is None else {"dilation": case.d}
    if case.op == "conv":
        conv = nn.Conv2d if two else nn.Conv1d
        pad = 0 if isinstance(case.p, tuple) else padding
        return conv(1, 1, case.k, stride=stride, padding=pad, bias=False, device=device, **dil)
    if case.op == "convT":
        convT = nn.ConvTranspose2d if two else nn.ConvTranspose1d
        return convT(
            1,
            1,
            case.k,
            stride=stride,
            padding=padding,
            output_padding=case.a,
            bias=False,
            device=device,
            **dil,
        )
    if case.op == "maxpool":
        pool: Any = nn.MaxPool2d if two else nn.MaxPool1d
        return pool(case.k, stride=stride, padding=padding, ceil_mode=case.ceil, **dil)
    pool = nn.AvgPool2d if two else nn.AvgPool1d
    return pool(case.k, stride=stride, padding=padding, ceil_mode=case.ceil)


def _call(case: Case, x: Any, device: str) -> Any:
    if case.op == "conv" and isinstance(case.p, tuple):
        x = F.pad(x, case.p * case.dims)
    if case.functional:
        stride = case.s
        fn: Any
        if case.op == "maxpool":
            fn = F.max_pool2d if case.dims == 2 else F.max_pool1d
            dil = 1 if case.d is None else case.d
            return fn(x, case.k, stride, case.p, dil, ceil_mode=case.ceil)
        fn = F.avg_pool2d if case.dims == 2 else F.avg_pool1d
        return fn(x, case.k, stride, case.p, ceil_mode=case.ceil)
    module = _module(case, device)
    if case.requested is not None:
        return module(x, output_size=[case.requested])
    return module(x)


def torch_outcome(case: Case, device: str) -> Outcome:
    shape = (1, 1, *([case.i] * case.dims))
    x = torch.empty(shape, device="meta") if device == "meta" else torch.zeros(shape)

    def call() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _call(case, x, device)

    return differential.outcome(call, (RuntimeError, ValueError), lambda out: tuple(out.shape[2:]))


# ---------------------------------------------------------------------------------------------------------------
# Asking symconv


def _asymmetric(case: Case) -> bool:
    return isinstance(case.p, tuple) and case.p[0] != case.p[1]


def symconv_outcome(case: Case) -> Outcome:
    if _asymmetric(case):
        return _symconv_asymmetric(case)
    if case.requested is not None:
        assert isinstance(case.p, int) and case.s is not None and case.d is not None
        try:
            a = torch_output_padding(case.i, case.s, case.p, case.k, case.d, case.requested)
        except SYMCONV_REFUSALS as error:
            return symconv_refusal(error)
        case = replace(case, a=a)
    return differential.symconv_outcome(case.spec(), (case.i,) * case.dims)


def _symconv_asymmetric(case: Case) -> Outcome:
    """torch.conv(p=[(pb, pe)]), pb != pe, against F.pad(x, (pb, pe)) then an unpadded convolution.

    PyTorch has no (begin, end) padding, so symconv may either take the pair (and must then give F.pad's
    result) or refuse it with a SpecError that points to F.pad; in that case the rewrite it recommends,
    torch.conv(p=0) on the F.pad-ed size i + pb + pe, must give F.pad's result.
    """
    assert isinstance(case.p, tuple)
    made = differential.symconv_layer(case.spec())
    if isinstance(made, symconv.SpecError) and "F.pad" in str(made):
        padded = case.i + case.p[0] + case.p[1]
        return symconv_outcome(Case(case.op, padded, case.k, case.s, 0, case.d, dims=case.dims))
    return differential.symconv_outcome(case.spec(), (case.i,) * case.dims)


# ---------------------------------------------------------------------------------------------------------------
# Known differences between PyTorch's own meta and CPU kernels (not symconv's business, but checked precisely).


def meta_gap(case: Case) -> str | None:
    """The meta kernel of aten.convolution (torch/_meta_registrations.py calc_conv_nd_return_shape) lacks the
    CPU check "output padding must be smaller than either stride or dilation" (aten Convolution.cpp)."""
    if case.op == "convT" and case.requested is None and case.a >= (case.s or 1) and case.a >= (case.d or 1):
        return "convT output_padding >= stride and >= dilation: accepted on meta, refused on CPU"
    return None


@dataclass
class Result:
    case: Case
    meta: Outcome
    cpu: Outcome
    ours: Outcome


@pytest.fixture(scope="module")
def results() -> list[Result]:
    with differential.one_torch_thread(), torch.no_grad():
        return [
            Result(case, torch_outcome(case, "meta"), torch_outcome(case, "cpu"), symconv_outcome(case))
            for case in draw_cases()
        ]


def _report(title: str, bad: list[tuple[Result, Any]]) -> str:
    """The disagreements grouped by class (symconv's kind, the library's kind), two examples each."""

    def group(member: tuple[Result, Any]) -> str:
        result, theirs = member
        theirs_kind = kind(theirs) if isinstance(theirs[0], str) else repr(theirs)[:200]
        return f"symconv [{kind(result.ours)}] / torch [{theirs_kind}]"

    return differential.report(
        title, bad, group, lambda m: f"{m[0].case.short()}: symconv {m[0].ours}, torch {m[1]}"
    )


# ---------------------------------------------------------------------------------------------------------------
# Tests


def test_enough_configurations_both_accepted_and_refused(results: list[Result]) -> None:
    assert len(results) >= MIN_CONFIGS
    for op in PER_OP:
        kinds = Counter(r.cpu[0] for r in results if r.case.op == op)
        assert kinds["ok"] >= 50 and kinds["refused"] >= 20, (op, kinds)
    kinds2 = Counter(r.cpu[0] for r in results if r.case.dims == 2)
    assert kinds2["ok"] >= 20 and kinds2["refused"] >= 5, kinds2
    # The interesting refusals are all drawn: strided 'same', pool padding > k/2, output_padding too large.
    assert any(r.case.p == "same" and r.case.s != 1 and r.cpu[0] == "refused" for r in results)
    assert any("half of" in str(r.cpu[1]) for r in results)
    assert any("output padding must be smaller" in str(r.cpu[1]) for r in results)
    assert any(r.case.requested is not None and "requested an output size" in str(r.cpu[1]) for r in results)


@pytest.mark.parametrize("op", list(PER_OP))
def test_symconv_matches_torch_cpu(results: list[Result], op: str) -> None:
    bad = [(r, r.cpu) for r in results if r.case.op == op and not agree(r.ours, r.cpu)]
    assert not bad, _report(f"disagreements with PyTorch (CPU) for {op}", bad)


@pytest.mark.parametrize("op", list(PER_OP))
def test_symconv_matches_torch_meta(results: list[Result], op: str) -> None:
    """Against the meta kernels, except where they are known to be laxer than the CPU kernels."""
    bad = [
        (r, r.meta)
        for r in results
        if r.case.op == op and not agree(r.ours, r.meta) and meta_gap(r.case) is None
    ]
    assert not bad, _report(f"disagreements with PyTorch (meta) for {op}", bad)


def test_meta_matches_cpu(results: list[Result]) -> None:
    """Meta and CPU agree everywhere but in the known gap, and the gap is exactly as documented."""
    bad = []
    gaps: Counter[str] = Counter()
    for r in results:
        gap = meta_gap(r.case)
        if gap is None:
            if not agree(r.meta, r.cpu):
                bad.append((r, r.meta))
        else:
            # CPU refuses every configuration in the gap; meta accepts it unless the output is empty.
            assert r.cpu[0] == "refused", (r.case.short(), r.cpu)
            assert r.meta[0] == "ok" or "Output size is too small" in r.meta[1], (r.case.short(), r.meta)
            gaps[gap] += r.meta[0] == "ok"
    assert not bad, _report("meta/CPU differences", [(r, (r.meta, r.cpu)) for r, _ in bad])
    assert gaps, "the documented meta gap no longer shows: drop meta_gap"
