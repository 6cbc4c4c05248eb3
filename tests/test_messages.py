"""Messages that name what is wrong: a view names the part of the tensor it cannot line up with, `solve --axis`
names the axis that holds the unknowns, --axis beyond a spec's axes is refused, and ceil-mode pooling's formula
has no term that only rewrites another."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import sympy

from symconv import SpecError, layer
from symconv.cli import main
from symconv.core.arith import symbol
from symconv.nets import layout


def _value(part: layout.Part) -> sympy.Expr:
    sizes = {"batch": symbol("batch"), "channels": sympy.Integer(8), "inner": sympy.Integer(part.window)}
    if part.kind in sizes:
        return sizes[part.kind]
    return symbol(part.dim) if part.kind == "spatial" else sympy.floor(symbol(part.dim) / part.window)


def _reshape(*targets: Any) -> Any:
    return layout.reshape(layout.standard(("H", "W")), list(targets), _value)


H, W, B = symbol("H"), symbol("W"), symbol("batch")


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        # the 2 would cut H from the front (its outer part): not a window partition
        (
            (B, 8, 2, sympy.floor(H / 2), W),
            r"dimension 2 \(size 2\) does not line up with the tensor's spatial axis H",
        ),
        # 16 = 8 channels times 2 taken from H
        ((B, 16, sympy.floor(H / 2), W), r"dimension 1 \(size 16\) .* spatial axis H: it would split H"),
        # a number where the symbolic batch stands
        ((1, 8, H, W), r"dimension 0 \(size 1\) does not line up with the tensor's batch: .* x.size\(0\)"),
        ((B, 5, None), r"dimension 1 \(size 5\) .* channels: 8 channels do not split into 5"),
    ],
)
def test_a_view_names_the_part_it_cannot_line_up_with(targets: tuple[Any, ...], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        _reshape(*(None if t is None else sympy.sympify(t) for t in targets))


def test_views_that_line_up_still_do() -> None:
    windows, splits = _reshape(B, 8, sympy.floor(H / 4), 4, W)
    assert splits == [("H", 4)] and layout.describe(windows) == "(batch, channels, H//4, 4, W)"
    assert layout.describe(_reshape(B * 8, H, W)[0]) == "(batch*channels, H, W)"


def test_a_torch_view_that_splits_a_spatial_axis_names_it() -> None:
    pytest.importorskip("torch")
    from torch import nn

    from symconv.nets.importers.torch import from_torch

    class View(nn.Module):
        def forward(self, x: Any) -> Any:
            b, c, h, w = x.shape
            return x.view(b, c * 2, h // 2, w)

    with pytest.raises(SpecError, match="spatial axis H: it would split H") as info:
        from_torch(View(), (1, 6, "H", "W"))
    assert "channels" not in str(info.value).split("does not line up")[1]


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.err or captured.out


def test_solve_names_the_axis_that_holds_the_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    for sizes in (["--in", "5,5", "--out", "3,3"], ["--in", "5", "--out", "3"]):
        code, text = _run(["solve", "conv(k=(3, ?))", *sizes, "--axis", "0"], capsys)
        assert (
            code == 2 and "--axis 0 of conv(k=(3, ?)) has no unknown: the unknowns are on axis 1 (k)" in text
        )
        assert "nothing to solve" not in text
    code, text = _run(["solve", "conv(k=(3, ?))", "--in", "5", "--out", "3", "--axis", "1", "--json"], capsys)
    assert code == 0 and '"k": 3' in text
    # --in ? on axis 0: the input size is the unknown there.
    code, text = _run(["solve", "conv(k=(3, ?))", "--in", "?", "--out", "3", "--axis", "0", "--json"], capsys)
    assert code == 0 and '"i": 5' in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["solve", "conv(k=?)", "--in", "5", "--out", "3", "--axis", "7"], "the sizes given have 1 (axis 0)"),
        (["windows", "conv(k=3)", "--in", "5", "--axis", "1"], "beyond the axes of conv(k=3)"),
        (["invert", "conv(k=3, s=2)", "--axis", "1"], "no size is given: leave --axis out"),
        (["invert", "nn.Conv2d(3, 3, 3, stride=2)", "--axis", "2"], "runs on 2 spatial axes (axes 0 to 1)"),
    ],
)
def test_an_axis_beyond_a_scalar_spec_is_refused(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = _run(args, capsys)
    assert code == 2 and "--axis" in text and message in text, text


def test_an_axis_the_spec_or_sizes_have_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        _run(["solve", "conv(k=?)", "--in", "5,5", "--out", "3,3", "--axis", "1", "--json"], capsys)[0] == 0
    )
    assert _run(["invert", "nn.Conv2d(3, 3, 3, stride=2)", "--axis", "1", "--json"], capsys)[0] == 0
    assert _run(["solve", "conv(k=?)", "--in", "5", "--out", "3", "--axis", "0", "--json"], capsys)[0] == 0


def test_ceil_pooling_formula_has_no_mod_term_and_matches_pytorch() -> None:
    """Between never and always dropping the last window, ceil_mode counts ceil((i + pb)/s) windows: the formula
    has no mod term, and equals PyTorch's MaxPool1d(ceil_mode=True) on every size."""
    torch = pytest.importorskip("torch")
    i = symbol("i")
    checked = 0
    for k, s in itertools.product(range(1, 6), range(1, 5)):
        for p in range(k // 2 + 1):
            made = layer(f"torch.maxpool(k={k}, s={s}, p={p}, ceil=true)")
            formula = made.output_expr(i)
            assert not formula.has(sympy.Mod), formula
            pool = torch.nn.MaxPool1d(k, s, p, ceil_mode=True)
            for n in range(max(1, k - 2 * p), 30):
                assert int(formula.subs(i, n)) == pool(torch.zeros(1, 1, n)).shape[-1], (k, s, p, n)
                checked += 1
    assert checked > 1000


def test_onnx_ceil_maxpool_table_formula_is_simplified(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    onnx = pytest.importorskip("onnx")
    from symconv.nets.importers.onnx import from_onnx

    helper = onnx.helper
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 1, "H", "W"])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 1, "h", "w"])
    node = helper.make_node(
        "MaxPool", ["x"], ["y"], kernel_shape=[3, 2], strides=[3, 2], pads=[1, 0, 1, 0], ceil_mode=1
    )
    model = helper.make_model(
        helper.make_graph([node], "g", [x], [y]), opset_imports=[helper.make_opsetid("", 22)]
    )
    onnx.save(model, tmp_path / "pool.onnx")
    sizes = from_onnx(tmp_path / "pool.onnx").output_size()
    assert sizes["H"] == sympy.ceiling((H + 1) / 3) and sizes["W"] == sympy.floor((W - 1) / 2) + 1
    code, text = _run(["net", str(tmp_path / "pool.onnx"), "--table"], capsys)
    assert code == 0 and "output size: H -> ceil((H + 1)/3), W -> floor((W - 1)/2) + 1" in text
    assert "mod" not in text
