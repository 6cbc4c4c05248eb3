"""Port a layer to another framework: an equivalent layer whose output size agrees for every input, proved.

Candidates in the target framework keep the kernel, stride and dilation and try each padding the target
accepts (its automatic modes, and the source's own pads when they do not depend on the input). A candidate is
equivalent when Z3 proves, for every input on which the source is defined, that the target is defined there
and gives the same size. Where none is (TF SAME with stride 2 has input-dependent pads that PyTorch cannot
express), the answer is the explicit pad to add before a zero-padded target layer (F.pad amounts, as
formulas and per residue of i), proved the same way, and for the closest single layer the exact set of input
sizes on which it agrees.

>>> result = port(layer("tf.conv(k=3, s=1, p=same)"), "torch")
>>> result.equivalent, result.proof.status
('torch.conv(k=3, s=1, d=1, p=same)', 'proved')
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sympy

from . import frameworks as fw
from .arith import eq, evaluate, symbol
from .errors import SpecError, SymconvError
from .intset import IntSet
from .layers import Conv, ConvTranspose, Layer, Pool, Windowed, layer
from .limits import MAX_RESIDUE_TABLE
from .prove import Proved, Result, prove

INPUT = symbol("i")
WINDOW = 1000
_PAD_SAMPLE = 2048
_PAD_CANDIDATES = 32


@dataclass(frozen=True)
class Port:
    source: Layer
    target: str
    equivalent: str | None
    proof: Result | None
    candidates: tuple[dict[str, Any], ...]
    pad: dict[str, Any] | None = None
    closest: dict[str, Any] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source.spec,
            "to": self.target,
            "equivalent": self.equivalent,
            "proof": None if self.proof is None else _result(self.proof),
            "pad": self.pad,
            "closest": self.closest,
            "candidates": list(self.candidates),
            "notes": list(self.notes),
        }


def _result(result: Result) -> dict[str, Any]:
    return {
        "status": result.status,
        "scope": getattr(result, "scope", None),
        "counterexample": getattr(result, "counterexample", None),
        "reason": getattr(result, "reason", None) or None,
    }


def _text(value: Any) -> str:
    return str(int(value)) if isinstance(value, sympy.Integer) else str(value)


def _candidates(source: Layer, target: str) -> list[str]:
    """Specs in the target framework to try, most natural first."""
    if isinstance(source, ConvTranspose):
        family, kind = "convT", "convT"
    elif isinstance(source, Pool):
        family, kind = "pool", source.kind
    else:
        family, kind = "conv", "conv"
    modes = fw.MODES[target][family]
    k, s, d = (_text(v) for v in (source.k, source.s, source.d))  # type: ignore[attr-defined]
    common = f"k={k}, s={s}"
    if not (kind == "avgpool" and target in ("torch", "tf", "keras")) and not (
        kind == "maxpool" and target in ("tf", "keras")
    ):
        common += f", d={d}"
    extra = ""
    if isinstance(source, Pool) and source.ceil and target in fw.CEIL_MODE:
        extra = ", ceil=true"
    if isinstance(source, ConvTranspose) and source.a is not None and target in ("torch", "onnx", "keras"):
        extra = f", a={_text(source.a)}"
    paddings: list[str] = []
    pads = source.padding(INPUT) if isinstance(source, Windowed) else (source.pb, source.pe)  # type: ignore[attr-defined]
    if "explicit" in modes:
        for pb, pe in _constant_pads(source, pads):
            paddings.append(f"p={pb}" if pb == pe else f"p=({pb}, {pe})")
    source_mode = getattr(source, "mode", "explicit")
    for mode in modes:
        if mode != "explicit":
            paddings.append(f"p={mode}")
    # The same mode name first: 'same' to 'same', 'valid' to 'valid'.
    paddings.sort(key=lambda text: text != f"p={source_mode}")
    return [f"{target}.{kind}({common}, {padding}{extra})" for padding in paddings]


def _constant_pads(source: Layer, pads: tuple[Any, Any]) -> list[tuple[int, int]]:
    """Constant pads worth trying: the source's own, or each value its input-dependent pads take."""
    if not any(INPUT in getattr(p, "free_symbols", set()) for p in pads):
        return [(int(pads[0]), int(pads[1]))] if all(isinstance(p, sympy.Integer) for p in pads) else []
    s = getattr(source, "s", None)
    if not isinstance(s, sympy.Integer):
        return []
    # Automatic pads depend on i mod s only: one period of values covers them. For a huge stride, the sizes at
    # both ends of the period (where pads change, near the kernel) stand for it: these are only candidates,
    # each is proved or refuted afterwards.
    period = int(s)
    sizes: Iterable[int] = range(1, period + 1)
    if period > 2 * _PAD_SAMPLE:
        sizes = itertools.chain(range(1, _PAD_SAMPLE + 1), range(period - _PAD_SAMPLE + 1, period + 1))
    seen: dict[tuple[int, int], None] = {}
    for size in sizes:
        pb, pe = (int(evaluate(p, {"i": size})) for p in pads)
        total = pb + pe
        for option in ((pb, pe), (pb, pb), (pe, pe), (total - total // 2, total - total // 2)):
            seen.setdefault(option, None)
        if len(seen) >= _PAD_CANDIDATES:  # each is a proof to try: a huge kernel's pads take many values
            break
    return list(seen)[:_PAD_CANDIDATES]


def _agreement(source: Layer, other: Layer) -> IntSet:
    """The exact input sizes (up to WINDOW) on which both are defined and agree."""
    from .solve import Planner

    condition = sympy.And(
        *(c for c, _ in source.conditions(INPUT)),
        *(c for c, _ in other.conditions(INPUT)),
        eq(other.output_expr(INPUT), source.output_expr(INPUT)),
    )
    universe = IntSet.interval(1, WINDOW)
    return Planner(INPUT).plan(condition).solve({}, universe)


def _pad_before(source: Windowed, target: str, timeout_ms: int) -> dict[str, Any] | None:
    """F.pad amounts (begin, end) in i, then the target layer with zero padding: proved equal."""
    pb, pe = source.padding(INPUT)
    kind = source.kind
    k, s, d = (_text(v) for v in (source.k, source.s, source.d))
    dilation = "" if (kind == "avgpool" and target in ("torch", "tf", "keras")) else f", d={d}"
    zero = (
        "p=valid"
        if "explicit" not in fw.MODES[target]["pool" if isinstance(source, Pool) else "conv"]
        else "p=0"
    )
    spec = f"{target}.{kind}(k={k}, s={s}, {zero}{dilation})"
    try:
        then = layer(spec)
    except SymconvError:
        return None
    padded = INPUT + pb + pe
    result = prove(
        eq(then.output_expr(padded), source.output_expr(INPUT)),
        [c for c, _ in source.conditions(INPUT)],
        obligations=then.conditions(padded),
        timeout_ms=timeout_ms,
    )
    by_residue = None
    if isinstance(source.s, sympy.Integer) and source.s <= MAX_RESIDUE_TABLE:
        # The pads repeat with period s (proved below); one period of values says them plainly.
        period = int(source.s)
        shifted = [p.xreplace({INPUT: INPUT + period}) for p in (pb, pe)]
        periodic = prove(
            sympy.And(eq(shifted[0], pb), eq(shifted[1], pe)), [INPUT >= 1], timeout_ms=timeout_ms
        )
        by_residue = {
            "period": period,
            "from": 1,
            "pads": {
                str(r % period): [int(evaluate(p, {"i": r})) for p in (pb, pe)] for r in range(1, period + 1)
            },
            "periodic": periodic.status,
        }
    return {
        "begin": str(pb),
        "end": str(pe),
        "then": spec,
        "proof": _result(result),
        "by_residue": by_residue,
    }


def _periodic_agreement(
    source: Layer, other: Layer, agreed: IntSet, timeout_ms: int
) -> dict[str, Any] | None:
    """When the agreement seen up to WINDOW is one residue class, prove it holds for every larger i too."""
    if len(agreed.pieces) != 1:
        return None
    piece = agreed.pieces[0]
    # It must run to the end of the window (its last member within the window's last period).
    if piece.lo is None or piece.hi is None or piece.hi <= WINDOW - piece.period:
        return None
    member = sympy.Or(*(eq(sympy.Mod(INPUT, piece.period), r) for r in piece.residues))
    agree = sympy.And(
        *(c for c, _ in other.conditions(INPUT)), eq(other.output_expr(INPUT), source.output_expr(INPUT))
    )
    claim = sympy.And(sympy.Implies(member, agree), sympy.Implies(agree, member))
    given = [INPUT >= piece.lo, *(c for c, _ in source.conditions(INPUT))]
    result = prove(claim, given, timeout_ms=timeout_ms)
    return {"from": piece.lo, "period": piece.period, "residues": list(piece.residues), **_result(result)}


def port(source: Layer, target: str, i: int | None = None, timeout_ms: int = 10_000) -> Port:
    """The target-framework layer equivalent to `source` in output size, with its proof (or the fallbacks)."""
    if target not in fw.FRAMEWORKS:
        raise SpecError(f"unknown framework {target!r}; expected one of {', '.join(fw.FRAMEWORKS)}")
    if source.unknowns:
        raise SpecError(
            f"port needs every parameter known, {', '.join(source.unknowns)} marked ? in {source.spec}"
        )
    if not isinstance(source, Conv | Pool | ConvTranspose):
        raise SpecError(f"cannot port {source.spec}")
    if i is not None:
        source.output_size(i)
    given = [c for c, _ in source.conditions(INPUT)]
    tried: list[dict[str, Any]] = []
    built: list[Layer] = []
    for spec in _candidates(source, target):
        try:
            candidate = layer(spec)
        except SymconvError as error:
            tried.append({"spec": spec, "status": "refused", "reason": str(error)})
            continue
        result = prove(
            eq(candidate.output_expr(INPUT), source.output_expr(INPUT)),
            given,
            obligations=candidate.conditions(INPUT),
            timeout_ms=timeout_ms,
        )
        tried.append({"spec": spec, **_result(result)})
        if isinstance(result, Proved):
            return Port(source, target, spec, result, tuple(tried))
        built.append(candidate)
    pad = _pad_before(source, target, timeout_ms) if isinstance(source, Windowed) else None
    closest = None
    if built:
        scored = [(candidate, _agreement(source, candidate)) for candidate in built]
        best, agreed = max(scored, key=lambda pair: pair[1].count() or 0)
        defined = _agreement(source, source)
        closest = {
            "spec": best.spec,
            "agrees_on": agreed.describe(),
            "agreeing_sizes_up_to": {"limit": WINDOW, "count": agreed.count(), "of": defined.count()},
            "periodic": _periodic_agreement(source, best, agreed, timeout_ms),
        }
        if i is not None:
            closest["at_input"] = {"i": i, "agrees": i in agreed}
    notes: tuple[str, ...] = ()
    if pad is None and closest is None:
        notes = ("no layer of the target framework accepts these parameters",)
    return Port(source, target, None, None, tuple(tried), pad, closest, notes)
