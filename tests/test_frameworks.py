"""Framework extras: port, PyTorch's output_size, resampling layers, pooling windows, Unfold, TF/ONNX helpers."""

from __future__ import annotations

import json
import random

import pytest

from symconv import ShapeError, SpecError, layer
from symconv.cli import main
from symconv.core.arith import evaluate
from symconv.core.frameworks import onnx_transpose_pads, tf_transpose_output_range, torch_output_padding
from symconv.core.windowmap import adaptive_window, avgpool_divisor, unfold_blocks, windows
from symconv.logic.port import port

PROVED_PORTS = [
    ("tf.conv(k=3, s=1, p=same)", "torch", "torch.conv(k=3, s=1, d=1, p=same)"),
    ("torch.maxpool(k=3, s=2, p=1, ceil=true)", "onnx", "onnx.maxpool(k=3, s=2, d=1, p=1, ceil=true)"),
    ("keras.convT(k=3, s=2, p=same)", "jax", "jax.convT(k=3, s=2, d=1, p=same)"),
    ("torch.convT(k=3, s=2, p=1, a=1)", "jax", "jax.convT(k=3, s=2, d=1, p=[(1, 2)])"),
    ("torch.convT(k=4, s=2, p=1)", "keras", "keras.convT(k=4, s=2, d=1, p=same)"),
]
# Same output sizes, windows shifted for some inputs: the answer is an explicit pad, and the same-size layer
# comes with a counterexample.
PADDED_PORTS = [
    ("tf.conv(k=3, s=2, p=same)", "torch", "torch.conv(k=3, s=2, d=1, p=1)"),
    ("torch.conv(k=3, s=2, p=1)", "keras", "keras.conv(k=3, s=2, d=1, p=same)"),
    ("onnx.conv(k=4, s=2, p=same_lower)", "tf", "tf.conv(k=4, s=2, d=1, p=[(2, 1)])"),
    ("tf.maxpool(k=3, s=2, p=same)", "torch", "torch.maxpool(k=3, s=2, d=1, p=1)"),
]


@pytest.mark.parametrize(("spec", "target", "expected"), PROVED_PORTS)
def test_port_finds_a_layer_with_the_same_windows(spec: str, target: str, expected: str) -> None:
    result = port(layer(spec), target)
    assert (result.level, result.equivalent) == ("same windows", expected)
    assert result.proof is not None and result.proof.status == "proved"
    source, other = layer(spec), layer(expected)
    for i in range(1, 40):
        if source.is_defined(i):
            assert [w.positions for w in windows(other, i)] == [w.positions for w in windows(source, i)]


@pytest.mark.parametrize(("spec", "target", "same_size"), PADDED_PORTS)
def test_port_says_when_only_the_sizes_agree(spec: str, target: str, same_size: str) -> None:
    result = port(layer(spec), target)
    assert result.level == "same windows after a pad" and result.equivalent is None
    assert result.same_size is not None and result.same_size["spec"] == same_size
    differ = result.same_size["windows_differ"]
    source, other = layer(spec), layer(same_size)
    assert other.output_size(differ["i"]) == source.output_size(differ["i"])
    assert windows(source, differ["i"], at=differ["j"]) != windows(other, differ["i"], at=differ["j"])
    pad = result.pad
    assert pad is not None and pad["same_windows"] and pad["proof"]["status"] == "proved"


def test_average_pooling_that_leaves_padding_out_is_same_size_only() -> None:
    result = port(layer("tf.avgpool(k=3, s=2, p=same)"), "torch")
    assert result.level == "same size only"
    assert any("divisor" in note for note in result.notes)


def test_adaptive_pooling_is_a_fixed_pooling_only_at_multiples() -> None:
    at = port(layer("adaptivepool(size=4)"), "torch", i=64)
    assert (at.level, at.equivalent) == ("same windows", "torch.avgpool(k=16, s=16)")
    assert port(layer("adaptivepool(size=4)"), "torch", i=62).level == "none"


def test_port_tf_same_stride_two_into_torch_gives_pads_and_the_agreement_set() -> None:
    result = port(layer("tf.conv(k=4, s=2, p=same)"), "torch", i=7)
    assert result.equivalent is None
    pad = result.pad
    assert pad is not None and pad["proof"]["status"] == "proved"
    assert pad["by_residue"]["pads"] == {"0": [1, 1], "1": [1, 2]}
    then = layer(pad["then"])
    source = layer("tf.conv(k=4, s=2, p=same)")
    for i in range(1, 80):
        begin, end = pad["by_residue"]["pads"][str(i % 2)]
        assert then.output_size(i + begin + end) == source.output_size(i)
    closest = result.closest
    assert closest is not None and closest["periodic"]["status"] == "proved"
    best = layer(closest["spec"])
    residues = closest["periodic"]["residues"]
    for i in range(closest["periodic"]["from"], 200):
        agrees = best.is_defined(i) and best.output_size(i) == source.output_size(i)
        assert agrees == (i % closest["periodic"]["period"] in residues)
    assert closest["at_input"] == {"i": 7, "agrees": 7 % 2 in residues}


def test_port_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["port", "tf.conv(k=3, s=2, p=same)", "--to", "torch", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["level"], data["equivalent"]) == ("same windows after a pad", None)
    assert data["pad"]["by_residue"]["pads"] == {"0": [0, 1], "1": [1, 1]}
    assert main(["port", "tf.conv(k=3, s=2, p=same)", "--to", "torch"]) == 0
    text = capsys.readouterr().out
    assert "level: same windows after a pad" in text and "differs at i = 2, output 0" in text
    assert main(["port", "conv(k=3)", "--to", "mxnet"]) == 2
    assert main(["port", "conv(k=?)", "--to", "torch"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_torch_output_size_to_output_padding_matches_pytorch() -> None:
    torch = pytest.importorskip("torch")
    rng = random.Random(5)
    for _ in range(300):
        i, k, s, d = rng.randint(1, 12), rng.randint(1, 5), rng.randint(1, 4), rng.randint(1, 3)
        p = rng.randint(0, k - 1)
        smallest = (i - 1) * s - 2 * p + d * (k - 1) + 1
        if smallest < 1:
            continue
        requested = smallest + rng.randint(-2, s + 1)
        module = torch.nn.ConvTranspose1d(1, 1, k, s, p, dilation=d, device="meta")
        x = torch.empty(1, 1, i, device="meta")
        try:
            theirs = module(x, output_size=[requested]).shape[-1]
        except (ValueError, RuntimeError):
            with pytest.raises(ShapeError):
                torch_output_padding(i, s, p, k, d, requested)
            continue
        a = torch_output_padding(i, s, p, k, d, requested)
        assert theirs == requested == layer(f"convT(k={k}, s={s}, p={p}, a={a}, d={d})").output_size(i)


def test_resampling_layers_match_pytorch() -> None:
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    for i in range(1, 20):
        x = torch.zeros(1, 4, i, i)
        for scale in (1, 2, 3):
            shape = functional.interpolate(x, scale_factor=scale, mode="nearest").shape
            assert layer(f"upsample(scale={scale})").output_size((i, i)) == tuple(shape[-2:])
        assert layer("pixelshuffle(r=2)").output_size((i, i)) == tuple(
            functional.pixel_shuffle(x, 2).shape[-2:]
        )
        if i % 2 == 0:
            expected = tuple(functional.pixel_unshuffle(x, 2).shape[-2:])
            assert layer("pixelunshuffle(r=2)").output_size((i, i)) == expected
        else:
            with pytest.raises(RuntimeError):
                functional.pixel_unshuffle(x, 2)
            with pytest.raises(ShapeError):
                layer("pixelunshuffle(r=2)").output_size(i)
        assert (
            layer("adaptivepool(size=5)").output_size(i) == functional.adaptive_avg_pool1d(x[0], 5).shape[-1]
        )


def test_adaptive_windows_match_pytorch() -> None:
    torch = pytest.importorskip("torch")
    for size in range(1, 15):
        for output in range(1, 12):
            eye = torch.eye(size).unsqueeze(1)  # one input per position t
            pooled = torch.nn.functional.adaptive_avg_pool1d(eye, output)[:, 0, :]
            for j in range(output):
                reads = [t for t in range(size) if pooled[t, j] > 0]
                assert adaptive_window(size, output, j) == (reads[0], reads[-1] + 1)


def test_avgpool_divisors_match_pytorch() -> None:
    torch = pytest.importorskip("torch")
    rng = random.Random(11)
    for _ in range(300):
        k, s = rng.randint(1, 5), rng.randint(1, 4)
        p, i = rng.randint(0, k // 2), rng.randint(1, 16)
        ceil, include = rng.random() < 0.5, rng.random() < 0.5
        try:
            made = layer(f"torch.avgpool(k={k}, s={s}, p={p}, ceil={'true' if ceil else 'false'})")
            o = made.output_size(i)
        except ShapeError:
            continue
        ones = torch.ones(1, 1, i, dtype=torch.float64)
        out = torch.nn.functional.avg_pool1d(ones, k, s, p, ceil_mode=ceil, count_include_pad=include)
        assert out.shape[-1] == o
        divisor = avgpool_divisor(k, s, p, p, i, count_include_pad=include)
        no_pad = avgpool_divisor(k, s, p, p, i, count_include_pad=False)
        for j in range(o):
            real = evaluate(no_pad, {"j": j})
            assert float(out[0, 0, j]) == pytest.approx(real / evaluate(divisor, {"j": j}))


def test_unfold_blocks_match_pytorch() -> None:
    torch = pytest.importorskip("torch")
    rng = random.Random(3)
    for _ in range(200):
        h, w = rng.randint(1, 12), rng.randint(1, 12)
        k, s, p, d = rng.randint(1, 4), rng.randint(1, 3), rng.randint(0, 2), rng.randint(1, 2)
        x = torch.empty(1, 1, h, w)
        try:
            theirs = torch.nn.functional.unfold(x, k, dilation=d, padding=p, stride=s).shape[-1]
        except RuntimeError:
            with pytest.raises(ShapeError):
                unfold_blocks((h, w), k, s, p, d)
            continue
        assert unfold_blocks((h, w), k, s, p, d) == theirs


@pytest.mark.parametrize("padding", ["VALID", "SAME"])
def test_tf_transpose_range_is_where_the_forward_window_gives_back_i(padding: str) -> None:
    for k in range(1, 6):
        for s in range(1, 4):
            forward = layer(f"tf.conv(k={k}, s={s}, p={padding.lower()})")
            for i in range(1, 12):
                low, high = tf_transpose_output_range(i, k, s, padding)
                accepted = [o for o in range(1, 60) if forward.is_defined(o) and forward.output_size(o) == i]
                assert accepted == list(range(low, high + 1))


def test_onnx_output_shape_pads_split_and_total() -> None:
    assert onnx_transpose_pads(5, 3, 2, 11, a=1, auto_pad="SAME_UPPER") == (0, 1)
    assert onnx_transpose_pads(5, 3, 2, 11, a=1) == (1, 0)
    for i, k, s, out in [(4, 3, 2, 8), (7, 5, 3, 19), (3, 4, 2, 6)]:
        begin, end = onnx_transpose_pads(i, k, s, out)
        assert layer(f"onnx.convT(k={k}, s={s}, p=[({begin}, {end})])").output_size(i) == out
    # A negative total is accepted: ONNX's own test_convtranspose_output_shape (strides 3 and 2, output_shape
    # 10 and 8 on a 3x3 input, k=3) has -1 on both axes.
    assert onnx_transpose_pads(3, 3, 3, 10) == (0, -1)
    assert onnx_transpose_pads(3, 3, 2, 8) == (0, -1)
    assert onnx_transpose_pads(3, 3, 2, 8, auto_pad="SAME_UPPER") == (-1, 0)


def test_framework_specific_refusals() -> None:
    for spec in [
        "tf.convT(k=3)",
        "tf.maxpool(k=2, ceil=true)",
        "keras.conv(k=3, p=1)",
        "torch.conv(k=3, p=[(1, 2)])",
    ]:
        with pytest.raises(SpecError):
            layer(spec)
    with pytest.raises(ShapeError, match="strides > 1 not supported"):
        layer("keras.conv(k=3, s=2, d=2)")
    with pytest.raises(ShapeError, match="output_padding must be smaller"):
        layer("torch.convT(k=3, s=2, a=2)")


@pytest.mark.parametrize("mode", ["same_upper", "same_lower"])
def test_onnx_ceil_pooling_over_automatic_pads_drops_exactly_the_window_starting_in_the_padding(
    mode: str,
) -> None:
    # ceil_mode keeps a last window only if it starts inside the input or the begin padding: (o - 1)s < i + pb.
    from symconv.core.arith import floor_div, symbol
    from symconv.core.frameworks import auto_pads, ceil_output

    i = symbol("i")
    for k in range(1, 6):
        for s in range(1, 5):
            for d in range(1, 4):
                pb, pe = auto_pads("onnx", mode, i, k, s, d, "pool")
                formula = ceil_output(i, pb, pe, d * (k - 1) + 1, s)
                o = floor_div(i + pb + pe - d * (k - 1) - 1 + s - 1, s) + 1
                for x in range(1, 30):
                    env = {"i": x}
                    full = evaluate(o, env)
                    kept = full - (1 if (full - 1) * s >= x + evaluate(pb, env) else 0)
                    assert evaluate(formula, env) == kept, (k, s, d, x)


def test_windows_cli_lists_each_output_and_what_padding_holds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["windows", "tf.conv(k=3, s=2, p=same)", "--in", "6", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [w["taps"] for w in data["windows"]] == [[0, 1, 2], [2, 3, 4], [4, 5, 6]]
    assert data["windows"][2]["padding"] == [6] and data["windows"][2]["holds"][-1] == "zero"
    assert main(["windows", "torch.maxpool(k=3, s=2, p=1, ceil=true)", "--in", "6", "--at", "3"]) == 0
    assert "outside the input: 6 (-inf), 7 (nothing)" in capsys.readouterr().out
    assert main(["windows", "conv(k=3)", "--in", "5", "--at", "7"]) == 2
    assert main(["windows", "conv(k=3)", "--in", "x"]) == 2
    assert main(["windows", "conv(k=3)", "--in", "2"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_transposed_windows_list_the_inputs_that_contribute_and_their_taps() -> None:
    # PyTorch: out[j] += x[m] * w[t] where j = s*m - p + t.
    found = windows(layer("torch.convT(k=3, s=2, p=1, a=1)"), 3)
    expected = [[(m, t) for m in range(3) for t in range(3) if 2 * m - 1 + t == j] for j in range(len(found))]
    assert [sorted(zip(w.positions, w.taps, strict=True)) for w in found] == expected


def test_windows_refuses_to_list_billions_of_windows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["windows", "torch.conv(k=3, s=2, p=1)", "--in", "99999999999"]) == 2
    assert "give --at J" in capsys.readouterr().err
    assert main(["windows", "torch.conv(k=3, s=2, p=1)", "--in", "99999999999", "--at", "5"]) == 0
    assert "j=5: reads 9..11" in capsys.readouterr().out


def test_max_pooling_ports_to_frameworks_without_pooling_dilation() -> None:
    # tf and keras pooling take no dilation: the pad step's target must not carry one. tf.nn.max_pool2d takes
    # the explicit padding itself; Keras needs the pad first.
    assert port(layer("torch.maxpool(k=3, s=2, p=1)"), "tf").level == "same windows"
    assert port(layer("torch.maxpool(k=3, s=2, p=1)"), "keras").level == "same windows after a pad"
