"""Derive the transposed layer that gives back a layer's input size, as the paper does, and prove it.

For a convolution with kernel k, stride s, padding (pb, pe) and dilation d (k_eff = d(k-1) + 1), the transposed
convolution runs on i' = o as a direct convolution with k' = k, s' = 1, d' = d over the stretched input
~i' = s(i'-1) + 1, padded with p' = k_eff - pb - 1 at the start and k_eff - pe - 1 + a at the end (negative means
cropping), where a = (i + pb + pe - k_eff) mod s (Dumoulin & Visin, relationships 13-15). In PyTorch that is
ConvTranspose(kernel_size=k, stride=s, padding=P, output_padding=A, dilation=d) with P = ceil((pb + pe)/2) and
A = a + 2P - pb - pe; in ONNX ConvTranspose with pads (pb, pe) and output_padding a.

Z3 proves that the round trip gives back i for every i on which the layer is defined; a fixed output_padding
is refuted with a counterexample unless it fits every i, and the exact set of i it recovers is given as residues.

>>> inverse = invert(layer("conv(k=3, s=2, p=1)"), 224)
>>> inverse.torch["output_padding"], inverse.round_trip.status
(1, 'proved')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sympy

from ..core.arith import ceil_div, evaluate, integer_expr, mod, symbol
from ..core.display import repr_latex
from ..core.errors import SpecError
from ..core.frameworks import effective_kernel
from ..core.layers import Conv, ConvTranspose, Layer, Pool, layer, one_axis
from ..core.limits import MAX_RESIDUE_TABLE
from .ondomain import periodic
from .prove import Result, prove

INPUT = symbol("i")


@dataclass(frozen=True, kw_only=True)
class Inverse:
    """The transposed layer of `forward` at input `i` (an int, or the symbol i for every input)."""

    forward: Layer
    i: Any
    o: Any
    transposed: dict[str, Any]
    torch: dict[str, Any]
    onnx: dict[str, Any]
    tf: dict[str, Any]
    keras: dict[str, Any] | None
    upsample: dict[str, Any] | None
    round_trip: Result
    torch_round_trip: Result
    claim: str
    table: list[dict[str, Any]] = field(default_factory=list)
    fixed: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    _repr_latex_ = repr_latex

    def to_json(self) -> dict[str, Any]:
        def status(result: Result) -> dict[str, Any]:
            return {
                "status": result.status,
                "scope": getattr(result, "scope", None),
                "counterexample": getattr(result, "counterexample", None),
                "reason": getattr(result, "reason", None) or None,
            }

        data: dict[str, Any] = {
            "layer": self.forward.spec,
            "input": _json(self.i),
            "output": _json(self.o),
            "transposed": _json(self.transposed),
            "torch": _json(self.torch),
            "onnx": _json(self.onnx),
            "tf": _json(self.tf),
            "keras": _json(self.keras),
            "round_trip": self.round_trip.status,
            "proof": {**status(self.round_trip), "claim": self.claim},
            "torch_round_trip": status(self.torch_round_trip),
        }
        if self.upsample is not None:
            data["upsample"] = _json(self.upsample)
        if self.table:
            data["output_padding_table"] = _json(self.table)
        if self.fixed is not None:
            data["fixed_output_padding"] = _json(self.fixed)
        if isinstance(self.i, int):
            data["torch_recovers_input"] = self.torch_recovers()
        if self.notes:
            data["notes"] = self.notes
        return data

    def torch_recovers(self) -> bool:
        """At a concrete input: PyTorch's ConvTranspose with the derived arguments gives back i."""
        t = self.torch
        if t.get("valid") is False:
            return False
        spec = (
            f"convT(k={t['kernel_size']}, s={t['stride']}, p={t['padding']}, "
            f"a={t['output_padding']}, d={t['dilation']})"
        )
        return bool(layer(spec).output_size(int(self.o)) == self.i)


def _json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, sympy.Integer):
        return int(value)
    if isinstance(value, sympy.Basic):
        return str(value)
    return value


def _value(expr: Any, i: Any) -> Any:
    """`expr` at a concrete i (an int), or the expression itself for the symbol i."""
    if isinstance(i, int) and isinstance(expr, sympy.Basic):
        return evaluate(expr, {"i": i}) if expr.free_symbols <= {INPUT} else expr.xreplace({INPUT: i})
    return expr


def _by_value(expr: sympy.Expr, period: int) -> dict[Any, list[int]]:
    """The residues r of i mod `period` grouped by expr(i) (expr periodic in i with that period)."""
    groups: dict[Any, list[int]] = {}
    for r in range(period):
        groups.setdefault(evaluate(expr, {"i": r + period * 10**6}), []).append(r)
    return groups


def _tabulated(s: Any, notes: list[str]) -> bool:
    """Whether the residues of i mod s are few enough to list (limits.MAX_RESIDUE_TABLE); a note says so if not."""
    if s <= MAX_RESIDUE_TABLE:
        return True
    notes.append(
        f"the output_padding of each residue of i mod {s} is not listed (listed for strides up to {MAX_RESIDUE_TABLE})"
    )
    return False


def invert(
    forward: Layer, i: int | None = None, output_padding: int | None = None, timeout_ms: int = 10_000
) -> Inverse:
    """The transposed layer that gives back the input size of `forward`, with proofs; `i` None: for every i."""
    forward = one_axis(forward)
    if not isinstance(forward, Conv | Pool):
        raise SpecError(
            f"invert takes a convolution or a pooling layer, got {forward.kind} in {forward.spec}"
        )
    if forward.unknowns:
        raise SpecError(
            f"invert needs every parameter known, {', '.join(forward.unknowns)} marked ? in {forward.spec}"
        )
    if i is not None:
        forward.output_size(i)  # raises ShapeError where the layer is undefined at i
    k, s, d = forward.k, forward.s, forward.d
    # Automatic modes ('same' in TF, Keras, JAX, ONNX) pad by an amount that depends on i.
    domain = [condition for condition, _ in forward.conditions(INPUT)]

    def neat(value: Any) -> Any:
        """A formula in i in its shortest periodic form where the layer is defined (proved), else as it is."""
        return periodic(value, INPUT, domain) if isinstance(value, sympy.Basic) else value

    pb, pe = (neat(pad) for pad in forward.padding(INPUT))
    k_eff = effective_kernel(k, d)
    o = forward.output_expr(INPUT)
    # The paper's general form: the gap between s(o-1) + k_eff - pb - pe and i.
    a = sympy.expand(INPUT - (s * (o - 1) + k_eff - pb - pe))
    if isinstance(forward, Conv) or not forward.ceil:
        a = mod(INPUT + pb + pe - k_eff, s)
    torch_p = ceil_div(pb + pe, 2)
    torch_p = neat(torch_p)
    torch_a = neat(sympy.expand(a + 2 * torch_p - pb - pe))
    a = neat(a)

    def round_trip(p_begin: Any, p_end: Any, out_pad: Any) -> tuple[Result, str]:
        # The inverse is stated in PyTorch's (the paper's) ConvTranspose, whatever the forward framework.
        back = ConvTranspose(forward.spec, None, (), k, s, p_begin, p_end, d, out_pad)
        claim = sympy.Eq(back.output_expr(o), INPUT)
        result = prove(claim, domain, obligations=back.conditions(o), timeout_ms=timeout_ms)
        return (
            result,
            f"convT(k={k}, s={s}, p=[({p_begin}, {p_end})], a={out_pad}, d={d})(o) == i where o = {o}",
        )

    paper_result, claim = round_trip(pb, pe, a)
    torch_result, _ = round_trip(torch_p, torch_p, torch_a)
    notes: list[str] = []
    fixed = None
    if output_padding is not None:
        fixed_result, _ = round_trip(torch_p, torch_p, sympy.Integer(output_padding))
        fixed = {
            "output_padding": output_padding,
            "status": fixed_result.status,
            "counterexample": getattr(fixed_result, "counterexample", None),
            "recovers": _recovered(torch_a, output_padding, s, forward, notes),
        }
    at = i if i is not None else INPUT
    o_at = _value(o, at)
    a_at = _value(a, at)
    p_prime = (_value(k_eff - pb - 1, at), _value(k_eff - pe - 1, at))
    transposed = {
        "k": k,
        "s": 1,
        "d": d,
        "p": p_prime[0] if pb == pe else list(p_prime),
        "stretched_input": _value(s * (o - 1) + 1, at),
        "a": a_at,
    }
    torch_p_at, torch_a_at = _value(torch_p, at), _value(torch_a, at)
    if isinstance(torch_a_at, int) and not _torch_accepts(torch_a_at, s, d):
        # Another padding may still work at this i: o' = s(o-1) + k_eff - 2P + A, so A = 2P - D.
        gap = int(s * (o_at - 1) + k_eff) - int(at)
        torch_p_at = max(0, int(ceil_div(gap, 2)))
        torch_a_at = 2 * torch_p_at - gap
    torch_form: dict[str, Any] = {
        "kernel_size": k,
        "stride": s,
        "padding": torch_p_at,
        "output_padding": torch_a_at,
        "dilation": d,
    }
    if isinstance(torch_a_at, int) and not _torch_accepts(torch_a_at, s, d):
        torch_form["valid"] = False
        notes.append(
            f"PyTorch needs 0 <= output_padding < max(stride, dilation); here it would be {torch_a_at}: "
            "use the ONNX form or pad the output (F.pad) instead"
        )
    pads = [_value(pb, at), _value(pe, at)]
    onnx_a = a_at
    if isinstance(a_at, int) and a_at < 0:
        # A ceil-mode window past the input: a < 0 is no output_padding; cropping -a more at the end gives the
        # same size, and TensorFlow's forward check over output_shape needs that end padding too.
        pads, onnx_a = [pads[0], pads[1] - a_at], 0
    onnx = {
        "kernel_shape": [k],
        "strides": [s],
        "pads": pads,
        "output_padding": [onnx_a],
        "dilations": [d],
        "or_output_shape": [at],
    }
    tf_pads = pads
    if isinstance(a_at, int) and isinstance(s, sympy.Integer) and a_at >= s and pads[1] - (a_at - s + 1) >= 0:
        # A ceil-mode pooling that dropped its last window: TensorFlow's forward check over output_shape has no
        # ceil mode, so the end padding shrinks until that check gives o again.
        tf_pads = [pads[0], pads[1] - (a_at - s + 1)]
    tf = {"output_shape": at, "strides": s, "padding": tf_pads, "dilations": d}
    keras = _keras_form(forward, (pb, pe), o, a, at, domain, timeout_ms, notes)
    upsample = None
    if isinstance(forward, Pool):
        upsample = {"scale_factor": s, "pad_end": _value(INPUT - s * o, at)}
    table: list[dict[str, Any]] = []
    if (
        i is None
        and isinstance(s, sympy.Integer)
        and not torch_a.free_symbols - {INPUT}
        and _tabulated(s, notes)
    ):
        start = _first_valid(forward)
        period = int(s)
        groups = _by_value(torch_a, period)
        limit = max(int(s), int(d))
        covered: set[int] = set()
        # Padding P + delta shifts the output_padding needed by 2*delta: a larger one where a would be negative
        # (ceil-mode pooling), a smaller one where it would reach the stride (an odd pb + pe).
        deltas = [0] + [sign * n for n in range(1, period + 1) for sign in (-1, 1)]
        for delta in deltas:
            if isinstance(torch_p, sympy.Integer) and torch_p + delta < 0:
                continue
            for value in sorted(v + 2 * delta for v in groups if 0 <= v + 2 * delta < limit):
                residues = [r for r in groups[value - 2 * delta] if r not in covered]
                if residues:
                    row = {"padding": torch_p + delta, "output_padding": value, "period": period}
                    table.append({**row, "residues": residues, "from": start})
            covered |= {r for row in table for r in row["residues"]}
            if len(covered) == period:
                break
    return Inverse(
        forward=forward,
        i=at,
        o=o_at,
        transposed=transposed,
        torch=torch_form,
        onnx=onnx,
        tf=tf,
        keras=keras,
        upsample=upsample,
        round_trip=paper_result,
        torch_round_trip=torch_result,
        claim=claim,
        table=table,
        fixed=fixed,
        notes=notes,
    )


def _keras_form(
    forward: Conv | Pool,
    pads: tuple[Any, Any],
    o: Any,
    a: Any,
    at: Any,
    domain: list[Any],
    timeout_ms: int,
    notes: list[str],
) -> dict[str, Any] | None:
    """Keras' Conv*DTranspose giving back i, or None with a note saying why there is none.

    Keras takes padding 'valid' or 'same' only, refuses output_padding >= stride and strides > 1 together with
    dilation_rate > 1. 'valid' gives (o-1)s + k_eff + a, so it fits a forward that pads nothing; 'same' with an
    output_padding A gives (o-1)s + (k_eff mod 2) + A (keras/src/backend/common/backend_utils.py), so it fits
    wherever A = i - (o-1)s - (k_eff mod 2) lies in [0, s): at the size asked, or proved for every i.
    """
    k, s, d = forward.k, forward.s, forward.d
    pb, pe = pads  # the forward's paddings, in their shortest form (invert's)
    k_eff = effective_kernel(k, d)
    if not all(isinstance(value, sympy.Integer) for value in (k, s, d)):
        notes.append("Keras form: given for numeric kernel, stride and dilation only")
        return None
    if s > 1 and d > 1:
        notes.append(
            "Keras transposed convolutions refuse strides > 1 with dilation_rate > 1: use the tf form"
        )
        return None
    form = {
        "kernel_size": k,
        "strides": s,
        "padding": "valid",
        "output_padding": _value(a, at),
        "dilation_rate": d,
    }
    if pb == 0 and pe == 0 and (isinstance(forward, Conv) or not forward.ceil):
        return form
    # i - s(o-1) with o - 1 = floor((i + pb + pe - k_eff)/s) is a + k_eff - pb - pe, a written with mod.
    # Automatic paddings (pb, pe depending on i) read better the direct way.
    written = (isinstance(forward, Conv) or not forward.ceil) and not integer_expr(pb + pe).free_symbols
    gap = a + k_eff - pb - pe if written else INPUT - s * (o - 1)
    same = sympy.expand(gap - k_eff % 2)

    def holds(condition: Any) -> bool:
        if isinstance(at, int):
            return bool(evaluate(condition, {"i": at}))
        return prove(condition, domain, timeout_ms=timeout_ms).status == "proved"

    if holds(sympy.And(same >= 0, same < s)):
        if k_eff % 2 == 0 and _value(same, at) != 1:
            notes.append(
                "Keras form: with the TensorFlow backend, padding 'same' with output_padding 0 and an even "
                "dilated kernel fails (tf.nn.conv_transpose refuses the size)"
            )
        return {**form, "padding": "same", "output_padding": _value(same, at)}
    if holds(sympy.Eq(s * o, INPUT)):  # 'same' without output_padding: o*s
        return {**form, "padding": "same", "output_padding": None}
    notes.append(
        "Keras transposed convolutions take padding 'valid' or 'same' only, with output_padding below the "
        "stride, and neither gives back i "
        + ("here" if isinstance(at, int) else "for every i (--in N gives the form at one size)")
        + ": use the tf output_shape"
    )
    return None


def _torch_accepts(output_padding: int, s: Any, d: Any) -> bool:
    return output_padding >= 0 and (output_padding < s or output_padding < d)


def _first_valid(forward: Layer) -> int | None:
    """The least input size on which the layer is defined, from its domain in closed form."""
    from ..core.intset import IntSet
    from .solve import Planner

    domain = sympy.And(*(condition for condition, _ in forward.conditions(INPUT)), evaluate=False)
    return Planner(INPUT).plan(domain).solve({}, IntSet.everything()).lo


def _recovered(
    torch_a: sympy.Expr, value: int, s: Any, forward: Layer, notes: list[str]
) -> dict[str, Any] | None:
    """The exact input sizes that output_padding `value` gives back: from `from` on, i mod period in residues."""
    if not isinstance(s, sympy.Integer) or torch_a.free_symbols - {INPUT} or not _tabulated(s, notes):
        return None
    period = int(s)
    residues = _by_value(torch_a, period).get(value, [])
    return {"period": period, "residues": residues, "from": _first_valid(forward)}


def invert_spec(spec: str, i: int | None = None, output_padding: int | None = None) -> Inverse:
    return invert(layer(spec), i, output_padding)


__all__ = ["Inverse", "invert", "invert_spec"]
