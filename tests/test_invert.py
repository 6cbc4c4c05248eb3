"""invert() against PyTorch: every derived ConvTranspose is run by torch.nn.ConvTranspose1d on meta tensors.

The forward sizes come from ``layer(spec).output_size``; whether a transposed layer gives back the input size
is asked of PyTorch itself (shape inference on the "meta" device: no data, no arithmetic of ours).
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from symconv import SymconvError, layer
from symconv.cli import main
from symconv.core.layers import Windowed
from symconv.logic.transpose import invert

torch = pytest.importorskip("torch")


# --------------------------------------------------------------------------------------------------------------
# Ground truth: PyTorch's ConvTranspose1d and symconv's forward sizes
# --------------------------------------------------------------------------------------------------------------


@functools.cache
def torch_length(
    o: int, kernel_size: int, stride: int, padding: int, output_padding: int, dilation: int
) -> int | None:
    """The length PyTorch's ConvTranspose1d gives for an input of length o; None where PyTorch refuses.

    The meta kernel infers shapes without the CPU kernel's checks (no negative padding or output_padding,
    output_padding smaller than either the stride or the dilation: test_meta_tensors_skip_the_cpu_checks),
    so those checks are made here.
    """
    if padding < 0 or output_padding < 0 or not (output_padding < stride or output_padding < dilation):
        return None
    try:
        module = torch.nn.ConvTranspose1d(
            1, 1, kernel_size, stride, padding, output_padding, dilation=dilation, device="meta"
        )
        return int(module(torch.empty(1, 1, o, device="meta")).shape[-1])
    except (RuntimeError, ValueError):
        return None


def test_meta_tensors_skip_the_cpu_checks() -> None:
    # Why torch_length makes PyTorch's checks itself: CPU refuses what the meta kernel lets through.
    for args, message in (
        ((3, 2, 1, 2), "output padding must be smaller"),
        ((2, 2, 0, -1), "negative output_padding"),
        ((2, 2, -1, 0), "negative padding"),
    ):
        with pytest.raises(RuntimeError, match=message):
            torch.nn.ConvTranspose1d(1, 1, *args)(torch.zeros(1, 1, 5))
        meta = torch.nn.ConvTranspose1d(1, 1, *args, device="meta")
        assert meta(torch.empty(1, 1, 5, device="meta")).shape[-1] >= 1
        assert torch_length(5, *args, 1) is None
    for args in ((3, 2, 1, 1), (2, 3, 0, 2), (4, 1, 3, 0)):
        cpu = torch.nn.ConvTranspose1d(1, 1, *args)(torch.zeros(1, 1, 5))
        assert torch_length(5, *args, 1) == cpu.shape[-1]


def forward_size(spec: str, i: int) -> int | None:
    try:
        return int(layer(spec).output_size(i))
    except SymconvError:
        return None


def spec_text(kind: str, k: int, s: int, p: int | tuple[int, int], d: int, ceil: bool) -> str:
    pad = f"[({p[0]}, {p[1]})]" if isinstance(p, tuple) else str(p)
    text = f"{kind}(k={k}, s={s}, p={pad}"
    text += f", d={d}" if kind != "avgpool" else ""
    text += ", ceil=true)" if ceil else ")"
    return text


def pads(p: int | tuple[int, int]) -> tuple[int, int]:
    return p if isinstance(p, tuple) else (p, p)


@st.composite
def forward_layers(draw: st.DrawFn, ceil_ok: bool = True) -> dict[str, Any]:
    kind = draw(st.sampled_from(["conv", "conv", "maxpool", "avgpool"]))
    k, s = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    p: int | tuple[int, int] = draw(st.integers(0, 3))
    if draw(st.booleans()):
        p = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    d = draw(st.integers(1, 3)) if kind != "avgpool" else 1
    ceil = kind != "conv" and ceil_ok and draw(st.booleans())
    spec = spec_text(kind, k, s, p, d, ceil)
    return {
        "spec": spec,
        "kind": kind,
        "k": k,
        "s": s,
        "p": p,
        "d": d,
        "ceil": ceil,
        "k_eff": d * (k - 1) + 1,
    }


def first_defined(spec: str) -> int:
    return next(i for i in range(1, 200) if forward_size(spec, i) is not None)


# --------------------------------------------------------------------------------------------------------------
# At a concrete input size
# --------------------------------------------------------------------------------------------------------------


@settings(max_examples=60)
@given(forward_layers(), st.integers(1, 40))
def test_concrete_inverse_gives_back_the_input(config: dict[str, Any], i: int) -> None:
    spec, k, s, d, k_eff = config["spec"], config["k"], config["s"], config["d"], config["k_eff"]
    pb, pe = pads(config["p"])
    o = forward_size(spec, i)
    assume(o is not None)
    assert o is not None
    data = invert(layer(spec), i).to_json()
    assert data["input"] == i and data["output"] == o

    # ONNX: s(o-1) + a + k_eff - pb - pe == i, with the layer's own pads, or (a ceil-mode window past the
    # input, a < 0) output_padding 0 and -a more cropped at the end; TensorFlow's forward check over i
    # with those pads gives back o.
    onnx, t = data["onnx"], data["transposed"]
    a = t["a"]
    assert onnx["pads"] == [pb, pe - min(a, 0)] and onnx["output_padding"] == [max(a, 0)]
    assert onnx["strides"] == [s] and onnx["dilations"] == [d] and onnx["kernel_shape"] == [k]
    assert s * (o - 1) + max(a, 0) + k_eff - sum(onnx["pads"]) == i
    assert (i + sum(data["tf"]["padding"]) - k_eff) // s + 1 == o or (config["ceil"] and pe < a - s + 1)
    if not config["ceil"]:
        assert 0 <= a < s

    # The paper's direct form: stretched input s(o-1) + 1, p' = k_eff - p - 1, the same a.
    assert t["stretched_input"] == s * (o - 1) + 1 and t["s"] == 1
    assert t["p"] == (k_eff - pb - 1 if pb == pe else [k_eff - pb - 1, k_eff - pe - 1])

    # PyTorch's own ConvTranspose1d.
    tr = data["torch"]
    assert (tr["kernel_size"], tr["stride"], tr["dilation"]) == (k, s, d)
    if tr.get("valid") is False:
        # Marked unusable: then no (padding, output_padding) PyTorch accepts gives back i.
        assert data["torch_recovers_input"] is False
        top = (s * (o - 1) + k_eff + max(s, d)) // 2 + 2
        assert all(
            torch_length(o, k, s, pad, out_pad, d) != i for pad in range(top) for out_pad in range(max(s, d))
        )
    else:
        got = torch_length(o, k, s, tr["padding"], tr["output_padding"], d)
        assert got == i, (tr, o, got)
        assert data["torch_recovers_input"] is True


def test_worked_example_against_pytorch() -> None:
    data = invert(layer("conv(k=3, s=2, p=1)"), 224).to_json()
    tr = data["torch"]
    assert (tr["padding"], tr["output_padding"]) == (1, 1)
    assert torch_length(112, 3, 2, 1, 1, 1) == 224
    assert torch_length(112, 3, 2, 1, 0, 1) == 223  # the other output_padding gives the other preimage


def test_cli_invert_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["invert", "conv(k=3, s=2, p=1)", "--in", "224", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["torch"]["output_padding"] == 1 and data["round_trip"] == "proved"
    assert data["torch_recovers_input"] is True


# --------------------------------------------------------------------------------------------------------------
# For every input size: proofs, the output_padding table and a fixed output_padding against PyTorch
# --------------------------------------------------------------------------------------------------------------


def recovered(spec: str, i: int, k: int, s: int, padding: int, output_padding: int, d: int) -> bool:
    o = forward_size(spec, i)
    return o is not None and torch_length(o, k, s, padding, output_padding, d) == i


@settings(max_examples=30)
@given(forward_layers(), st.data())
def test_general_inverse_against_pytorch(config: dict[str, Any], data: st.DataObject) -> None:
    spec, k, s, d, k_eff = config["spec"], config["k"], config["s"], config["d"], config["k_eff"]
    pb, pe = pads(config["p"])
    fixed_value = data.draw(st.integers(0, max(s, d) - 1), label="output_padding")
    result = invert(layer(spec), None, fixed_value).to_json()
    start = first_defined(spec)
    window = range(start, start + 5 * s)

    # The general round trip (paper form, ONNX pads) is proved for conv and floor-mode pools.
    if not config["ceil"]:
        assert result["round_trip"] == "proved" and result["proof"]["scope"] is not None
        assert result["proof"]["counterexample"] is None

    # The torch form (P = ceil((pb + pe)/2)) is proved iff PyTorch gives back every i with its formula's A.
    torch_p = result["torch"]["padding"]
    assert torch_p == -(-(pb + pe) // 2)
    every = all(
        recovered(spec, i, k, s, torch_p, i - (s * (forward_size(spec, i) or 0) - s + k_eff - 2 * torch_p), d)
        for i in window
    )
    status = result["torch_round_trip"]["status"]
    assert (status == "proved") is every, (status, every)

    # A fixed output_padding: the residues it recovers are exactly those PyTorch recovers.
    fixed = result["fixed_output_padding"]
    assert fixed["output_padding"] == fixed_value
    rec = fixed["recovers"]
    assert rec["period"] == s and rec["from"] == start
    truth = [recovered(spec, i, k, s, torch_p, fixed_value, d) for i in window]
    assert truth == [i % s in rec["residues"] for i in window], (truth, rec)
    if all(truth):
        assert fixed["status"] == "proved" and fixed["counterexample"] is None
    else:
        assert fixed["status"] == "refuted"
        (cex,) = fixed["counterexample"].values()
        assert forward_size(spec, cex) is not None  # a real input size of the layer
        assert not recovered(spec, cex, k, s, torch_p, fixed_value, d)  # PyTorch really misses it

    # The symbolic table: each row's pair gives back exactly its residues (a residue belongs to one row),
    # and every residue that PyTorch can recover with a padding >= P has a row.
    rows = result.get("output_padding_table", [])
    listed = [r for row in rows for r in row["residues"]]
    assert len(listed) == len(set(listed))
    for row in rows:
        assert row["period"] == s and row["from"] == start and row["padding"] >= 0
        assert 0 <= row["output_padding"] < max(s, d)
        for i in window:
            ok = recovered(spec, i, k, s, row["padding"], row["output_padding"], d)
            if i % s in row["residues"]:
                assert ok, (row, i)
            elif ok:
                assert i % s in listed  # another row's residue, reached by this pair too
    for r in range(s):
        members = [i for i in window if i % s == r]
        # Each output_padding A fixes the padding that could give back the first member:
        # s(o-1) + k_eff - 2P + A = i. PyTorch then runs that pair on every member.
        first, out = members[0], forward_size(spec, members[0])
        assert out is not None
        doubled = [s * (out - 1) + k_eff + out_pad - first for out_pad in range(max(s, d))]
        pairs = [
            (two // 2, out_pad)
            for two, out_pad in zip(doubled, range(max(s, d)), strict=True)
            if two % 2 == 0 and two // 2 >= 0
        ]
        reachable = any(
            all(recovered(spec, i, k, s, pad, out_pad, d) for i in members) for pad, out_pad in pairs
        )
        assert (r in listed) is reachable, (r, rows)


@pytest.mark.parametrize(
    ("spec", "output_padding"),
    [
        ("conv(k=3, s=2, p=1)", 0),
        ("conv(k=3, s=2, p=1)", 1),
        ("conv(k=4, s=3, d=2)", 2),
        ("maxpool(k=2, s=3)", 1),
    ],
)
def test_wrong_output_padding_is_refuted_where_pytorch_fails(spec: str, output_padding: int) -> None:
    made = layer(spec)
    assert isinstance(made, Windowed)
    result = invert(made, None, output_padding).to_json()
    fixed = result["fixed_output_padding"]
    assert fixed["status"] == "refuted"
    (cex,) = fixed["counterexample"].values()
    o = made.output_size(cex)
    k, s, d = int(made.k), int(made.s), int(made.d)
    assert torch_length(o, k, s, result["torch"]["padding"], output_padding, d) != cex


def test_table_covers_residues_that_need_a_smaller_padding() -> None:
    # For pb + pe odd the torch padding is P = ceil((pb + pe)/2) and A = a + 1; where a = s - 1, A = s is
    # refused by PyTorch, so the table also tries smaller paddings: for odd i here, padding 0 and
    # output_padding 0 work (invert(layer, i) finds them too).
    spec = "conv(k=3, s=2, p=[(0, 1)])"
    for i in (3, 5, 7, 9):
        assert recovered(spec, i, 3, 2, 0, 0, 1)
        tr = invert(layer(spec), i).to_json()["torch"]
        assert (tr["padding"], tr["output_padding"]) == (0, 0)
    rows = invert(layer(spec)).to_json()["output_padding_table"]
    assert sorted(r for row in rows for r in row["residues"]) == [0, 1], rows


# --------------------------------------------------------------------------------------------------------------
# Bad input through the command line: exit 2, a message, no traceback
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["convT(k=4, s=2, p=1)"], "convolution or a pooling"),
        (["convT(k=4, s=2, p=1)", "--in", "8"], "convolution or a pooling"),
        (["conv(k=?, s=2, p=1)"], "?"),
        (["conv(k=3, s=2, p=?)", "--in", "8"], "?"),
        (["conv(k=3, s=2, p=1)", "--in", "abc"], "--in"),
        (["conv(k=3, s=2, p=1)", "--in", "2.5"], "--in"),
        (["conv(k=3, s=2, p=1)", "--in", ""], "--in"),
        (["conv(k=5)", "--in", "3"], "effective kernel"),
        (["conv(k=3, s=2, p=1)", "--in", "0"], "input size"),
        (["conv(k=3, s=2, p=1)", "--in", "-4"], "input size"),
        (["conv(k=3, s=2, p=1", "--in", "8"], "malformed"),
        (["conv(k=3, s=2, p=1)", "--timeout", "0"], "--timeout"),
        (["conv(k=3, s=2, p=1)", "--output-padding", "x"], "--output-padding"),
    ],
)
def test_invert_bad_input_exits_2(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    for json_flag in ([], ["--json"]):
        code = main(["invert", *argv, *json_flag])
        captured = capsys.readouterr()
        assert code == 2, captured
        assert "Traceback" not in captured.err and "Traceback" not in captured.out
        assert needle in captured.err
        if json_flag:
            assert json.loads(captured.out)["error"]


def test_cli_invert_at_a_size_says_both_and_exits_on_the_size_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["invert", "nn.MaxPool2d(3, 2, 1, ceil_mode=True)", "--in", "10"])
    out = capsys.readouterr().out
    assert code == 0
    assert "torch form, every i: refuted at i = 2" in out
    assert "torch form at i = 10: gives back i" in out


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        # 'same' with output_padding i - s(o-1) - (k_eff mod 2), in [0, s) for every i: proved.
        (
            ["conv(k=3, s=2, p=1)"],
            "keras: layers.ConvNDTranspose(kernel_size=3, strides=2, padding='same', "
            "output_padding=(i + 1) mod 2, dilation_rate=1)",
        ),
        # 'same' without output_padding gives o*s, which is i at even sizes only.
        (
            ["tf.conv(k=4, s=2, p=same)", "--in", "10"],
            "keras: layers.ConvNDTranspose(kernel_size=4, strides=2, padding='same', output_padding=None, "
            "dilation_rate=1)",
        ),
        (
            ["tf.conv(k=4, s=2, p=same)"],
            "note: Keras transposed convolutions take padding 'valid' or 'same' only",
        ),
        (
            ["conv(k=3, s=2, d=2, p=2)"],
            "note: Keras transposed convolutions refuse strides > 1 with dilation_rate > 1",
        ),
    ],
)
def test_cli_invert_gives_the_keras_form_where_one_exists(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["invert", *argv]) == 0
    assert any(printed.startswith(line) for printed in capsys.readouterr().out.splitlines())
