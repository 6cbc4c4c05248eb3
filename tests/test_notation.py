"""Human output: mathematical notation, sets in words, through the printer and every command's text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sympy

from symconv.cli import main
from symconv.core.arith import symbol
from symconv.core.notation import assignments, expression, interval, size_set
from tests.networks import POOL, unet

i, s = symbol("i"), symbol("s")

EXPRESSIONS = [
    (sympy.Mod(i + 1, 2), "(i + 1) mod 2"),
    (i + sympy.Mod(i + 1, 2), "i + ((i + 1) mod 2)"),
    (2 * sympy.Mod(i, 3), "2*(i mod 3)"),
    (sympy.floor(i / 2 - sympy.Rational(1, 2)) + 1, "floor((i - 1)/2) + 1"),
    (sympy.ceiling(i / s), "ceil(i/s)"),
    (sympy.Max(0, sympy.floor(i / 2) + 1), "max(0, floor(i/2) + 1)"),
    (sympy.Min(i, 3), "min(3, i)"),
    (sympy.Abs(i - 3), "|i - 3|"),
    (sympy.Piecewise((i, i > 3), (0, True)), "{i if i > 3; 0 otherwise}"),
    (sympy.Eq(sympy.Mod(i, 2), 0), "i mod 2 = 0"),
    (sympy.And(i >= 1, s >= 1), "i >= 1 and s >= 1"),
    (sympy.Integer(7), "7"),
]


@pytest.mark.parametrize(("value", "text"), EXPRESSIONS, ids=lambda v: str(v)[:30])
def test_expressions_print_in_mathematical_notation(value: sympy.Basic, text: str) -> None:
    assert expression(value) == text


SETS = [
    ({"period": 1, "residues": [0], "start": 1}, "every i"),
    ({"period": 1, "residues": [0], "start": 5}, "every i >= 5"),
    ({"period": 4, "residues": [0], "start": 1}, "every i with i mod 4 = 0"),
    ({"period": 8, "residues": [0], "start": 4, "below": [1, 2]}, "every i >= 4 with i mod 8 = 0, and 1, 2"),
    ({"period": 4, "residues": [1, 2], "start": 3}, "every i >= 3 with i mod 4 in {1, 2}"),
    ({"period": 1, "residues": [], "start": 4, "below": [3]}, "only i = 3"),
    ({"period": 1, "residues": [], "start": 1}, "no i"),
]


@pytest.mark.parametrize(("parts", "text"), SETS, ids=lambda v: str(v)[:40])
def test_size_sets_read_as_words(parts: dict[str, Any], text: str) -> None:
    assert size_set("i", **parts) == text


def test_intervals_and_assignments() -> None:
    assert interval("i", 199, 200) == "199 <= i <= 200"
    assert interval("i", 3, 3) == "i = 3"
    assert interval("k", None, 5) == "k <= 5"
    assert interval("i", 4, None, 8, [0, 4]) == "i >= 4 with i mod 8 in {0, 4}"
    assert assignments({"i": 2, "j": 0}) == "i = 2, j = 0"


# SymPy's repr and the old set wording never reach a person.
REPR = re.compile(r"Mod\(|ceiling|Piecewise\(|Max\(|Min\(|\bmod 1 in\b|with never|\{'|set: \{")

COMMANDS = [
    ["shape", "tf.conv(k=3, s=2, p=same)", "--in", "i"],
    ["shape", "jax.conv(k=3, s=2, p=[(1, 2)])", "--in", "i"],
    ["shape", "torch.maxpool(k=3, s=2, ceil=true)", "--in", "i"],
    ["solve", "conv(k=?, s=2, p=1)", "--in", "i", "--out", "floor(i/2)"],
    ["solve", "conv(k=k, s=s, d=d, p=?)", "--in", "i", "--out", "ceil(i/s)"],
    ["solve", "torch.maxpool(k=?, s=2)", "--in", "?", "--out", "10", "--max", "k=5", "--limit", "2"],
    ["invert", "tf.conv(k=3, s=2, p=same)"],
    ["invert", "maxpool(k=2)"],
    ["invert", "conv(k=3, s=2, p=1)", "--output-padding", "1"],
    ["port", "tf.conv(k=3, s=2, p=same)", "--to", "torch"],
    ["port", "torch.maxpool(k=3, s=2, ceil=true)", "--to", "tf"],
    ["net", "conv(k=3, s=2) > conv(k=2, s=2)", "--check", "30"],
    ["net", "tf.conv(k=3, s=2, p=same) > conv(k=3, s=2)"],
    ["prove", "--claim", "floor(i/2) == ceil(i/2)"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda argv: " ".join(argv)[:50])
def test_no_sympy_repr_in_human_output(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) in (0, 1)
    out = capsys.readouterr().out
    assert out.strip() and not REPR.search(out), REPR.search(out)


def test_invert_prints_every_framework_form(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invert", "maxpool(k=2)"]) == 0
    out = capsys.readouterr().out
    for form in (
        "torch: nn.ConvTransposeNd(",
        "onnx: ConvTranspose(",
        "tf: tf.nn.conv_transpose(output_shape=i",
    ):
        assert form in out
    assert (
        "keras: layers.ConvNDTranspose(kernel_size=2, strides=2, padding='valid', output_padding=i mod 2"
        in out
    )


UNET = unet([POOL], bottom=True)


def test_net_names_the_node_behind_each_exclusion_and_explains_alignment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "unet.toml"
    path.write_text(UNET)
    assert main(["net", str(path)]) == 0
    out = capsys.readouterr().out
    assert "valid H: every H with H mod 2 = 0" in out
    assert "node d1 (maxpool(k=2, s=2)) needs H >= 2" in out and ": H = 1\n" in out
    # Odd sizes: u1 gives back 2*floor(H/2), one less than e1's H.
    assert "node c1 (cat) needs 2*floor(H/2) = H (sizes of u1 and e1 differ): H = 3, 5, 7" in out
    assert "aligned: False" in out
    assert re.search(
        r"not aligned at node c1 \(cat\), which joins u1: stride 1, centre .*; e1: stride 1", out
    )


@pytest.mark.parametrize(
    ("spec", "torch_class", "keras_class"),
    [
        ("nn.Conv1d(3, 8, 3, stride=2)", "nn.ConvTranspose1d(", "layers.Conv1DTranspose("),
        ("layers.Conv2D(8, 3, strides=2)", "nn.ConvTranspose2d(", "layers.Conv2DTranspose("),
        ("nn.MaxPool3d(2)", "nn.ConvTranspose3d(", "layers.Conv3DTranspose("),
    ],
)
def test_invert_names_the_class_of_the_forwards_rank(
    spec: str, torch_class: str, keras_class: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["invert", spec]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"forward: {spec} maps i to o = ")
    assert f"torch: {torch_class}" in out and f"keras: {keras_class}" in out
