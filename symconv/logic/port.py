"""Port a layer to another framework, checked on windows, not only sizes.

Three levels, named plainly:
- "same windows": a target layer whose every output reads the same input positions with the same effect
  (padding that adds nothing, or padding an average counts) for every input size: proved by Z3, unbounded.
  Only this level is called equivalent.
- "same windows after a pad": an explicit pad first (F.pad / tf.pad / jnp.pad, amounts per residue of i,
  -inf for max pooling), then the target layer without padding: the windows are then the source's, and the
  output sizes are proved equal.
- "same size only": a target layer with the same output size for every input, whose windows differ: with a
  counterexample (an input size, an output position and the two windows).
Candidates keep the kernel, stride and dilation and try each padding the target accepts.

>>> result = port(layer("tf.conv(k=3, s=1, p=same)"), "torch")
>>> result.level, result.equivalent
('same windows', 'torch.conv(k=3, s=1, d=1, p=same)')
>>> port(layer("tf.conv(k=3, s=2, p=same)"), "torch").level
'same windows after a pad'
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sympy

from ..core import frameworks as fw
from ..core.arith import eq, evaluate, symbol
from ..core.errors import SpecError, SymconvError
from ..core.intset import IntSet
from ..core.layers import AdaptivePool, Conv, ConvTranspose, Layer, Pool, Windowed, layer, one_axis
from ..core.limits import MAX_RESIDUE_TABLE
from ..core.windowmap import EXCLUDED, NEG_INF, last_window_end, transposed_pads, window_key, window_map
from .prove import Proved, Result, prove

INPUT = symbol("i")
WINDOW = 1000
_PAD_SAMPLE = 2048
_PAD_CANDIDATES = 32


SAME_WINDOWS, AFTER_PAD, SAME_SIZE, NONE = (
    "same windows",
    "same windows after a pad",
    "same size only",
    "none",
)


@dataclass(frozen=True, kw_only=True)
class Port:
    source: Layer
    target: str
    level: str
    equivalent: str | None
    proof: Result | None
    candidates: tuple[dict[str, Any], ...]
    pad: dict[str, Any] | None = None
    closest: dict[str, Any] | None = None
    same_size: dict[str, Any] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source.spec,
            "to": self.target,
            "level": self.level,
            "equivalent": self.equivalent,
            "proof": None if self.proof is None else _result(self.proof),
            "pad": None if self.pad is None else {k: v for k, v in self.pad.items() if k != "amounts"},
            "same_size": self.same_size,
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


def _takes_dilation(kind: str, target: str) -> bool:
    """Whether the target's layer of this kind has a dilation parameter (its Convention says)."""
    return not kind.endswith("pool") or kind in fw.CONVENTIONS[target].pool_dilation


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
    if _takes_dilation(kind, target) and source.k != 1:  # type: ignore[attr-defined]
        common += f", d={d}"  # (one tap: the dilation moves nothing, and some targets refuse it)
    extra = ""
    if isinstance(source, Pool) and source.ceil and target in fw.CEIL_MODE:
        extra = ", ceil=true"
    convention = fw.CONVENTIONS[target]
    if isinstance(source, ConvTranspose) and source.a is not None and "a" in convention.parameters:
        extra = f", a={_text(source.a)}"
    # The ONNX opset the source names (ceil_mode's rule depends on it), for a target that takes one.
    opset = ""
    if isinstance(source, Pool) and source.opset is not None and convention.takes_opset:
        opset = f", opset={source.opset}"
    paddings: list[str] = []
    pads = source.padding(INPUT) if isinstance(source, Windowed) else (source.pb, source.pe)  # type: ignore[attr-defined]
    pairs = "explicit" in modes and not convention.symmetric_pads
    stride = int(source.s) if isinstance(source.s, sympy.Integer) else 1  # type: ignore[attr-defined]
    if "explicit" in modes and not isinstance(source, ConvTranspose):
        for pb, pe in _constant_pads(source, pads):
            paddings.append(f"p={pb}" if pb == pe else f"p=[({pb}, {pe})]")
            # A ceil_mode window's overhang, or a truncated last window, as extra end padding (one candidate
            # per residue of the stride: tried up to the residue tables' limit, as the other tables are).
            if pairs and stride <= MAX_RESIDUE_TABLE:
                paddings += [f"p=[({pb}, {pe + more})]" for more in range(1, stride)]
    if isinstance(source, ConvTranspose) and "explicit" in modes:
        paddings = _transposed_paddings(source, target) + paddings
        extra = ""
    source_mode = getattr(source, "mode", "explicit")
    for mode in modes:
        if mode != "explicit":
            paddings.append(f"p={mode}")
    # The same mode name first: 'same' to 'same', 'valid' to 'valid'.
    paddings.sort(key=lambda text: text != f"p={source_mode}")
    extras = [extra]
    if convention.default_output_padding is None and extra == ", a=0":
        # The target derives its own output_padding when none is given (Keras): try that too.
        extras.append("")
    if isinstance(source, Pool) and target in fw.CEIL_MODE:
        # ceil_mode on or off: the last window may read an overhang the source pads, or the other way.
        extras = [extra, ", ceil=true" if not extra else ""]
    found = [f"{target}.{kind}({common}, {padding}{more}{opset})" for padding in paddings for more in extras]
    return list(dict.fromkeys(found))


def _transposed_paddings(source: ConvTranspose, target: str) -> list[str]:
    """Paddings (with output_padding) of a transposed target: the source's own padding of the stretched
    input first (JAX takes it as a pair; PyTorch and ONNX as p = k_eff - 1 - before and a = after - before),
    then every p < k_eff with every a < s, whose sizes may agree."""
    before, after = transposed_pads(source)
    if not all(isinstance(v, sympy.Integer) for v in (before, after, source.k, source.s, source.d)):
        return []
    span, s = int(fw.effective_kernel(source.k, source.d)), int(source.s)
    convention = fw.CONVENTIONS[target]
    if convention.pads_stretched_input and "explicit" in convention.modes["convT"]:
        return [f"p=[({before}, {after})]"]  # the stretched input's padding as a pair (JAX)
    if "explicit" not in convention.modes["convT"] or "a" not in convention.parameters:
        return []
    p, a = span - 1 - int(before), int(after) - int(before)
    options = [(p, a)] if p >= 0 and 0 <= a < s else []
    options += [(q, b) for q in range(span) for b in range(s) if span * s <= 64]
    return [f"p={q}, a={b}" for q, b in dict.fromkeys(options)]


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
        for option in ((pb, pe), (pb, pb), (pe, pe)):
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
    dilation = f", d={d}" if _takes_dilation(kind, target) else ""
    zero = (
        "p=valid"
        if "explicit" not in fw.MODES[target]["pool" if isinstance(source, Pool) else "conv"]
        else "p=0"
    )
    overhang = isinstance(source, Pool) and source.ceil
    ceil = ", ceil=true" if overhang and target in fw.CEIL_MODE else ""
    if overhang and not ceil:
        # A ceil_mode window may run past the end padding; a target without ceil_mode needs those cells
        # padded too: the end pad is what the last window covers, ((o - 1)s + k_eff) - (i + pb), never less
        # than the source's own (it depends on i mod s).
        pe = sympy.Max(pe, last_window_end(source) - INPUT - pb)
        if isinstance(source.s, sympy.Integer) and source.s <= MAX_RESIDUE_TABLE:
            # One value over a period (the overhang never reaches past the source's pad): say it plainly;
            # the proof below is then of the constant.
            values = {int(evaluate(pe, {"i": r})) for r in range(1, int(source.s) + 1)}
            pe = sympy.Integer(values.pop()) if len(values) == 1 else pe
    spec = f"{target}.{kind}(k={k}, s={s}, {zero}{dilation}{ceil})"
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
    # The padded cells become input cells of the target holding the pad value: the same effect unless an
    # average leaves its padding out of the divisor (then no explicit pad can reproduce it).
    pad_kind = window_map(source).pad  # type: ignore[union-attr]
    value = "-inf" if pad_kind == NEG_INF else "0"
    same = pad_kind != EXCLUDED
    why_not = f"{source.spec} leaves its padding out of the divisor; a padded input would count it"
    if overhang and not ceil and pad_kind != NEG_INF:
        # The overhang holds nothing (not counted in an average's divisor); padded cells would be counted.
        same = False
        why_not = (
            f"{source.spec} leaves a ceil_mode overhang out of the divisor; a padded input would count it"
        )
    return {
        "amounts": (pb, pe),  # the expressions, for the text (JSON carries them as strings)
        "begin": str(pb),
        "end": str(pe),
        "value": value,
        "then": spec,
        "proof": _result(result),
        "by_residue": by_residue,
        "same_windows": same,
        "why_not": None if same else why_not,
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


def _differing_windows(source: Layer, other: Layer, result: Result) -> dict[str, Any] | None:
    """An input size, an output position and the two windows there, from a refuted window claim (checked
    on integers: the two windows really differ)."""
    from ..core.windowmap import windows

    found = getattr(result, "counterexample", None) or {}
    sizes = [found["i"]] if "i" in found else []
    sizes += [i for i in range(1, WINDOW) if i not in sizes]
    for i in sizes:
        if not (source.is_defined(i) and other.is_defined(i)):
            continue
        mine, theirs = windows(source, i), windows(other, i)
        for a, b in zip(mine, theirs, strict=False):
            if window_key(source, a) != window_key(other, b):
                return {"i": i, "j": a.j, "source": a.to_json(), "target": b.to_json()}
    return None


def port(source: Layer, target: str, i: int | None = None, timeout_ms: int = 10_000) -> Port:
    """The target-framework layer with the same windows as `source`, proved; else an explicit pad then a
    target layer; else a layer of the same output size, with windows that differ (see the module)."""
    from ..core.windowmap import flipped, same_windows_claim

    if target not in fw.FRAMEWORKS:
        raise SpecError(f"unknown framework {target!r}; expected one of {', '.join(fw.FRAMEWORKS)}")
    source = one_axis(source)
    if source.unknowns:
        raise SpecError(
            f"port needs every parameter known, {', '.join(source.unknowns)} marked ? in {source.spec}"
        )
    if isinstance(source, AdaptivePool):
        return _adaptive(source, target, i)
    if not isinstance(source, Conv | Pool | ConvTranspose):
        raise SpecError(
            f"cannot port {source.spec}: port takes conv, convT, maxpool, avgpool, lppool and adaptivepool"
        )
    if i is not None:
        source.output_size(i)
    given = [c for c, _ in source.conditions(INPUT)]
    tried: list[dict[str, Any]] = []
    built: list[Layer] = []
    same_size: dict[str, Any] | None = None
    for spec in _candidates(source, target):
        try:
            candidate = layer(spec)
        except SymconvError as error:
            tried.append({"spec": spec, "status": "refused", "reason": str(error)})
            continue
        sizes = prove(
            eq(candidate.output_expr(INPUT), source.output_expr(INPUT)),
            given,
            obligations=candidate.conditions(INPUT),
            timeout_ms=timeout_ms,
        )
        row = {"spec": spec, **_result(sizes)}
        if isinstance(sizes, Proved):
            windows = prove(
                same_windows_claim(source, candidate),
                given,
                obligations=candidate.conditions(INPUT),
                timeout_ms=timeout_ms,
            )
            row["windows"] = _result(windows)
            tried.append(row)
            if isinstance(windows, Proved):
                flip = _kernel_note(source, candidate, flipped)
                return Port(
                    source=source,
                    target=target,
                    level=SAME_WINDOWS,
                    equivalent=spec,
                    proof=windows,
                    candidates=tuple(tried),
                    notes=flip,
                )
            if same_size is None:
                same_size = {"spec": spec, "proof": _result(sizes), "windows_differ": None}
                same_size["windows_differ"] = _differing_windows(source, candidate, windows)
        else:
            tried.append(row)
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
    if pad is not None and not pad["same_windows"]:
        notes = (pad["why_not"],)
    if pad is not None and pad["proof"]["status"] == "proved" and pad["same_windows"]:
        level = AFTER_PAD
    elif same_size is not None:
        level = SAME_SIZE
    else:
        level = NONE
        if pad is None and closest is None:
            notes += ("no layer of the target framework accepts these parameters",)
    return Port(
        source=source,
        target=target,
        level=level,
        equivalent=None,
        proof=None,
        candidates=tuple(tried),
        pad=pad,
        closest=closest,
        same_size=same_size,
        notes=notes,
    )


def _kernel_note(source: Layer, target: Layer, flipped: Any) -> tuple[str, ...]:
    if flipped(source) == flipped(target):
        return ()
    return (f"{target.spec} applies the kernel reversed: flip the weights along each spatial axis",)


def _adaptive(source: AdaptivePool, target: str, i: int | None) -> Port:
    """Adaptive pooling as a fixed pooling: the same windows exactly where i is a multiple of the output size
    (k = s = i/o); otherwise the widths of its windows vary."""
    from ..core.windowmap import windows

    o = int(source.size)
    if i is None:
        note = (
            f"adaptive pooling to {o} has the windows of a fixed pooling with k = s = i/{o} exactly when i is a "
            f"multiple of {o}; give --in N"
        )
        return Port(
            source=source,
            target=target,
            level=NONE,
            equivalent=None,
            proof=None,
            candidates=(),
            notes=(note,),
        )
    source.output_size(i)
    if i % o == 0:
        k = i // o
        spec = f"{target}.avgpool(k={k}, s={k})"
        note = f"at i = {i} (a multiple of {o}): k = s = {k}; at other sizes the windows differ"
        return Port(
            source=source,
            target=target,
            level=SAME_WINDOWS,
            equivalent=spec,
            proof=None,
            candidates=({"spec": spec, "status": "same windows"},),
            notes=(note,),
        )
    found = windows(source, i)
    starts = [w.positions[0] for w in found]
    widths = sorted({len(w.positions) for w in found})
    note = (
        f"at i = {i} (not a multiple of {o}) adaptive pooling's windows start at {starts} with widths "
        f"{widths}: no fixed kernel and stride read them"
    )
    return Port(
        source=source, target=target, level=NONE, equivalent=None, proof=None, candidates=(), notes=(note,)
    )
