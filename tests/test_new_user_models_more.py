"""Models in the styles people write them (space-to-depth by slicing, a U-Net with unpadded convolutions and
odd centre crops, a video net with stride (1, 2, 2)), each against PyTorch at every sampled size of each axis;
the command line on user mistakes (exit 2, one line, no traceback); and what the command line says about a
model whose output is one token's features (a class token), against PyTorch's shapes."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

import symconv  # noqa: E402
from symconv.cli import main  # noqa: E402
from symconv.core.arith import evaluate  # noqa: E402
from symconv.core.errors import SymconvError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402

from .running import agrees_with_torch  # noqa: E402


class Focus(nn.Module):
    """YOLOv5's Focus: four strided slices concatenated on channels, then a stride-2 convolution upsampled
    back and added to the sliced map (odd sizes make the slices differ by one)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(12, 4, 3, stride=2, padding=1)

    def forward(self, x: Any) -> Any:
        x = torch.cat([x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]], 1)
        up = nn.functional.interpolate(self.conv(x), scale_factor=2, mode="nearest")
        return x[:, :4] + up


def unpadded(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3), nn.ReLU(), nn.Conv2d(cout, cout, 3), nn.ReLU())


class CroppingUNet(nn.Module):
    """The U-Net of the original paper: unpadded convolutions, each skip centre-cropped to the upsampled
    map (the crop's halves differ by one where the difference is odd)."""

    def __init__(self, depth: int = 2, c: int = 2) -> None:
        super().__init__()
        self.downs = nn.ModuleList([unpadded(3 if d == 0 else c, c) for d in range(depth)])
        self.mid = unpadded(c, c)
        self.ups = nn.ModuleList([nn.ConvTranspose2d(c, c, 2, stride=2) for _ in range(depth)])
        self.decs = nn.ModuleList([unpadded(2 * c, c) for _ in range(depth)])

    def forward(self, x: Any) -> Any:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
            x = nn.functional.max_pool2d(x, 2)
        x = self.mid(x)
        for up, dec, skip in zip(self.ups, self.decs, reversed(skips), strict=True):
            x = up(x)
            dh, dw = skip.shape[2] - x.shape[2], skip.shape[3] - x.shape[3]
            skip = skip[:, :, dh // 2 : dh // 2 + x.shape[2], dw // 2 : dw // 2 + x.shape[3]]
            x = dec(torch.cat([skip, x], 1))
        return x


class Video(nn.Module):
    """A 3-D encoder with stride (1, 2, 2), a transposed convolution back up, a skip and a temporal pool."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv3d(3, 2, 3, stride=(1, 2, 2), padding=1)
        self.c2 = nn.Conv3d(2, 2, 3, stride=(1, 2, 2), padding=1)
        self.up = nn.ConvTranspose3d(2, 2, (1, 2, 2), stride=(1, 2, 2))
        self.pool = nn.MaxPool3d((2, 1, 1))

    def forward(self, x: Any) -> Any:
        a = self.c1(x)
        return self.pool(torch.cat([a, self.up(self.c2(a))], 1))


class ClassToken(nn.Module):
    """ViT's head in small: patches as tokens, a class token in front, the head reads that token only."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, stride=4)
        self.cls = nn.Parameter(torch.zeros(1, 1, 8))
        self.head = nn.Linear(8, 5)

    def forward(self, x: Any) -> Any:
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        return self.head(x[:, 0])


def class_token() -> nn.Module:
    """The factory `symconv net` imports."""
    return ClassToken().eval()


def test_focus_slices_agree_with_torch() -> None:
    agrees_with_torch(Focus().eval(), range(1, 41), 8)


def test_cropping_unet_agrees_with_torch() -> None:
    agrees_with_torch(CroppingUNet().eval(), range(1, 71), 44)


def test_video_stride_1_2_2_agrees_with_torch() -> None:
    model = Video().eval()
    net = from_torch(model, (1, 3, "T", "H", "W"))
    valid, output = net.valid_inputs(), net.output_size()
    held = {"T": 4, "H": 8, "W": 8}
    assert all(held[d] in valid[d] for d in held)
    for dim, sizes in (("T", range(1, 9)), ("H", range(1, 26)), ("W", range(1, 26))):
        for n in sizes:
            at = {**held, dim: n}
            try:
                with torch.no_grad():
                    got: tuple[int, ...] | None = tuple(model(torch.zeros(1, 3, *at.values())).shape[2:])
            except RuntimeError:
                got = None
            assert (n in valid[dim]) == (got is not None), (dim, n, got)
            if got is not None:
                assert tuple(int(evaluate(output[d], at)) for d in held) == got, (dim, n)


@pytest.mark.parametrize(
    "argv",
    [
        ["shape", "conv(k=(3, 5), s=(1, 2, 1))", "--in", "10,10"],
        ["shape", "conv(k=3, s=2, p=1)", "--in", "10,"],
        ["shape", "conv(k=3)", "--in", "1e3"],
        ["shape", "nn.Conv2d(3, 64, kernel_size=3, strid=2)", "--in", "32"],
        ["shape", "conv(k=3)", "--in", "10", "--stride", "2"],
        ["solve", "conv(k=?, s=2, p=1)", "--in", "224", "--out", "112", "--max", "k=abc"],
        ["invert", "conv(k=?, s=2, p=1)", "--in", "224"],
        ["net", "conv(k=3) > maxpool(k=2)", "--check", "30,40"],
        ["prove", "--claim", "i**100 >= 0"],
    ],
)
def test_user_mistakes_exit_2_on_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("symconv: error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_bad_given_is_named_as_given(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "--claim", "i >= 0", "--given", "i >"]) == 2
    err = capsys.readouterr().err
    assert "given 'i >'" in err and "claim 'i" not in err, err


def test_class_token_table_row_has_torch_features() -> None:
    """The table's row of the class token is its channel count, as PyTorch's tensor there."""
    net = from_torch(class_token(), (1, 3, "H", "W"))
    assert net.valid_inputs()["H"].start == 4
    model: Any = class_token()
    with torch.no_grad():
        tokens = model.patch(torch.zeros(1, 3, 8, 12)).flatten(2).transpose(1, 2)
        first = torch.cat([model.cls.expand(1, -1, -1), tokens], dim=1)[:, 0]
    token = [row for row in symconv.table(net, at={"H": 8, "W": 12}).rows if row.op == "flatten"][-1]
    assert token.at == {"features": first.shape[1]}


def test_class_token_summary_does_not_depend_on_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    source = f"{__name__}:class_token"
    assert main(["net", source, "--input-shape", "1,3,H,W", "--at", "H=8,W=12", "--no-receptive-field"]) == 0
    out = capsys.readouterr().out
    with torch.no_grad():
        features = [tuple(class_token()(torch.zeros(1, 3, h, 12)).shape) for h in (8, 16)]
    assert features == [(1, 5), (1, 5)]  # the output does not depend on H
    flat = [line for line in out.splitlines() if line.startswith("flat output")]
    assert flat == ["flat output after node patch_token (flatten): 8 features; the output has 5"], flat
    assert "at H = 8, W = 12: output 5 features (sizes into it: H -> 2, W -> 3)" in out, out
    assert "output H -> 2" not in out


class ViewLeNet(nn.Module):
    """The classic LeNet: flatten written as x.view(-1, 16 * 5 * 5)."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.c2, self.fc = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5), nn.Linear(400, 10)

    def forward(self, x: Any) -> Any:
        x = torch.nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
        x = torch.nn.functional.max_pool2d(torch.relu(self.c2(x)), 2)
        return self.fc(x.view(-1, 16 * 5 * 5))


def test_a_view_of_everything_but_the_batch_is_a_flatten() -> None:
    """At a fixed size, view(-1, 400) of a 16 x 5 x 5 map is flatten(1): the 400 is the channels and both axes
    (not a window of 400 cut from the last axis), and the Linear reads it; with a free axis the -1 is refused
    by name, never misread."""
    model = ViewLeNet().eval()
    net = from_torch(model, (1, 1, 32, 32))
    rows = symconv.table(net).rows
    with torch.no_grad():
        out = model(torch.zeros(1, 1, 32, 32))
    assert [row.op for row in rows][-2:] == ["flatten", "identity"] and rows[-1].shape == {
        "features": out.shape[1]
    }
    with pytest.raises(SymconvError, match=r"as \(-1, 400\) with the batch as -1: .* write x.flatten\(1\)"):
        from_torch(model, (1, 1, "H", 32))


class FlatLeNet(ViewLeNet):
    """LeNet with torch.flatten(x, 1): its Linear(400, 10) states the size of the one free axis."""

    def forward(self, x: Any) -> Any:
        x = torch.nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
        x = torch.nn.functional.max_pool2d(torch.relu(self.c2(x)), 2)
        return self.fc(torch.flatten(x, 1))


def runs(model: nn.Module, shape: tuple[int, ...]) -> bool:
    try:
        with torch.no_grad():
            model(torch.zeros(*shape))
    except RuntimeError:
        return False
    return True


@pytest.mark.parametrize("held", [(0, 32), (1, 32), (0, 35), (1, 33)])
def test_a_linear_after_flatten_with_one_free_axis_agrees_with_torch(held: tuple[int, int]) -> None:
    """One axis fixed, the other free: Linear(400, 10) after 16 channels and the fixed axis' 5 needs the free
    axis' size 5 at the flatten; the valid set is what PyTorch runs, 1..100."""
    model = FlatLeNet().eval()
    fixed, size = held
    shape: list[int | str] = [1, 1, "H", "W"]
    shape[2 + fixed] = size
    net = from_torch(model, tuple(shape))
    (free,) = net.valid_inputs().items()
    dim, valid = free
    assert dim == ("W" if fixed == 0 else "H")
    for n in range(1, 101):
        at = [1, 1, size, n] if fixed == 0 else [1, 1, n, size]
        assert (n in valid) == runs(model, tuple(at)), (held, n)
    assert symconv.table(net).rows[-2].op == "linear(H=5, W=5)"


def test_a_linear_after_flatten_reports_what_does_not_fit() -> None:
    """Both axes free: the condition is on a product, refused by name; a fixed size whose product with the
    channels does not divide in_features has no valid size."""
    with pytest.raises(SymconvError, match="product of the sizes of H, W"):
        from_torch(FlatLeNet().eval(), (1, 1, "H", "W"))
    with pytest.raises(SymconvError, match=r"not a multiple of the 16 channels and the sizes H 6"):
        from_torch(FlatLeNet().eval(), (1, 1, 36, "W"))  # H 36 leaves 6: 400 / (16 * 6) is no integer


def test_the_flat_output_names_the_sizes_the_linear_needs() -> None:
    from symconv.cli import _flat_output

    net = from_torch(FlatLeNet().eval(), (1, 1, 32, "W"))
    lines = _flat_output(net, {"H": 5, "W": "floor(W/4) - 3"})
    assert lines == [
        "flat output: node fc (linear) needs the sizes H 5, W 5 at its input; the output has 10 features"
    ]


def test_a_linear_after_flatten_with_one_free_axis_from_onnx(tmp_path: Any) -> None:
    """The same LeNet exported to ONNX (Flatten, Gemm) at 1x1x32xW: the Gemm states W's size."""
    pytest.importorskip("onnx")
    from symconv.nets.importers.onnx import from_onnx

    from .test_importers import export

    model = FlatLeNet().eval()
    net = from_onnx(export(model, tmp_path / "lenet.onnx", (1, 1, 32, 32)), (1, 1, 32, "W"))
    valid = net.valid_inputs()["W"]
    assert [n for n in range(1, 101) if n in valid] == [
        n for n in range(1, 101) if runs(model, (1, 1, 32, n))
    ]


def test_focus_exported_to_onnx_reads_its_int64_ends_as_the_axis_end(tmp_path: Any) -> None:
    """torch.onnx writes x[..., 1::2] as a Slice ending at INT64_MAX: every int64 dimension's end, so the
    slice is H[1::2] (no Min with 2**63 - 1 for the solver to split on, which ran out its budget), and the
    valid sets are the PyTorch import's."""
    pytest.importorskip("onnx")
    from symconv.nets.importers.onnx import from_onnx

    from .test_importers import export

    model = Focus().eval()
    net = from_onnx(export(model, tmp_path / "focus.onnx", (1, 3, 32, 32)), (1, 3, "H", "W"))
    assert "9223372036854775" not in str(net.output_size())
    read = from_torch(model, (1, 3, "H", "W")).valid_inputs()
    assert {d: v.describe() for d, v in net.valid_inputs().items()} == {
        d: v.describe() for d, v in read.items()
    }


class AssertsSize(nn.Module):
    """torchvision's ViT: an assert whose message is formatted from the traced size."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 4, stride=4)

    def forward(self, x: Any) -> Any:
        h = x.shape[2]
        torch._assert(h == 32, f"Wrong image height! Expected 32 but got {h}!")
        return self.conv(x)


def test_an_assert_message_shows_the_size_not_the_tracer() -> None:
    net = from_torch(AssertsSize().eval(), (1, 3, "H", "W"))
    rules = [rule for _, rule in net.conditions("H")]
    assert any("Expected 32 but got H!" in rule for rule in rules), rules
    assert not any("Proxy" in rule for rule in rules)
    assert 32 in net.valid_inputs()["H"] and 31 not in net.valid_inputs()["H"]


class PadToSkip(nn.Module):
    """milesial's U-Net up step: the upsampled map padded to the skip's size with F.pad(x, [dx // 2,
    dx - dx // 2, dy // 2, dy - dy // 2], mode), dx and dy computed from the sizes; `down` and `up` are the
    (kernel, stride) of the strided convolution and the transposed one."""

    def __init__(
        self, down: tuple[int, int] = (3, 2), up: tuple[int, int] = (2, 2), mode: str = "constant"
    ) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 8, down[0], stride=down[1])
        self.up = nn.ConvTranspose2d(8, 3, up[0], stride=up[1])
        self.mode = mode

    def forward(self, x: Any) -> Any:
        y = self.up(self.down(x))
        dy, dx = x.size()[2] - y.size()[2], x.size()[3] - y.size()[3]
        y = nn.functional.pad(y, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2], mode=self.mode)
        return torch.cat([x, y], dim=1)


def test_pads_computed_from_sizes_in_an_onnx_export(tmp_path: Any) -> None:
    """PyTorch exports those pads through Shape, Gather, Sub, Div, Concat, ConstantOfShape, Reshape [-1, 2], a
    reversing Slice and Transpose (ONNX's order): read as formulas, each axis' valid set and output size are
    the model's at every size 1..40 (the other axis held at 16)."""
    pytest.importorskip("onnx")
    from symconv.nets.importers.onnx import from_onnx

    from .test_importers import export

    model = PadToSkip().eval()
    net = from_onnx(export(model, tmp_path / "pad.onnx", (1, 3, 32, 32)), (1, 3, "H", "W"))
    agrees_with_torch(model, range(1, 41), 16, net)


class PatchMerging(nn.Module):
    """timm Swin's patch merging on a channels-last map: padded where odd, each 2 x 2 block moved into the
    channels (x.reshape(B, H // 2, 2, W // 2, 2, C).permute(0, 1, 3, 4, 2, 5).flatten(3)), normalised and
    projected over them."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3)
        self.norm, self.reduction = nn.LayerNorm(16), nn.Linear(16, 8, bias=False)
        self.head = nn.Conv2d(8, 2, 3, padding=1)

    def forward(self, x: Any) -> Any:
        x = self.stem(x).permute(0, 2, 3, 1)
        b, h, w, c = x.shape
        x = nn.functional.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        _, h, w, _ = x.shape
        x = x.reshape(b, h // 2, 2, w // 2, 2, c).permute(0, 1, 3, 4, 2, 5).flatten(3)
        x = self.reduction(self.norm(x))
        return self.head(x.permute(0, 3, 1, 2))


def test_a_channels_last_space_to_depth_agrees_with_torch() -> None:
    agrees_with_torch(PatchMerging().eval(), range(1, 41), 17)


def test_a_linear_after_flatten_reads_every_position() -> None:
    """Each output of LeNet's Linear reads its whole flattened map: the field along the free axis is every
    position the convolutions reach (0..31 at W = 32, 0..31 at W = 33 too: the pools drop position 32), as
    PyTorch's gradients show."""
    from symconv.nets.receptive import intervals

    torch.manual_seed(0)
    model = FlatLeNet().eval()
    net = from_torch(model, (1, 1, 32, "W"))
    for w in (32, 33, 35):
        x = torch.randn(1, 1, 32, w, requires_grad=True)
        (grad,) = torch.autograd.grad(model(x)[0, 3], x)
        read = torch.nonzero(grad[0, 0].abs().sum(0)).flatten().tolist()
        fields = intervals(net, w, dim="W")
        assert fields and all(field == (read[0], read[-1]) for field in fields), (w, fields, read)


class ResizeToSkip(nn.Module):
    """A decoder step: upsampled to the skip's size (F.interpolate(size=skip.shape[2:])), then a quarter-scale
    side output resized back by 4."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode
        self.down = nn.Conv2d(3, 3, 3, stride=2)

    def forward(self, x: Any) -> Any:
        linear = {"align_corners": False} if self.mode == "bilinear" else {}
        up = nn.functional.interpolate(self.down(x), size=x.shape[2:], mode=self.mode, **linear)
        small = nn.functional.interpolate(x, scale_factor=0.25, mode=self.mode, **linear)
        return up + nn.functional.interpolate(small, scale_factor=4, mode=self.mode, **linear)[..., :1, :1]


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_resizes_to_computed_sizes_and_by_a_quarter_from_onnx(tmp_path: Any, mode: str) -> None:
    """Exported: a Resize whose sizes are computed from shapes, and one by the scale 0.25: valid sets and output
    sizes as the model's at every size 1..40 of each axis, and the same receptive fields as the PyTorch import."""
    pytest.importorskip("onnx")
    from symconv.nets.importers.onnx import from_onnx
    from symconv.nets.receptive import intervals

    from .test_importers import export

    model = ResizeToSkip(mode).eval()
    net = from_onnx(export(model, tmp_path / "resize.onnx", (1, 3, 32, 32)), (1, 3, "H", "W"))
    agrees_with_torch(model, range(1, 41), 16, net)
    read = from_torch(model, (1, 3, "H", "W"))
    for size in (17, 24, 33):
        assert intervals(net, size, dim="H") == intervals(read, size, dim="H"), size


def test_a_ceil_mode_pool_before_opset_22_points_to_the_runtime_reading(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The standard's reading (shape inference: H = 5 -> 4) and onnxruntime's (3) of an AveragePool in ceil_mode
    at opset 17 differ; the summary says so and names --convention ort, whose answer is the runtime's."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    node = helper.make_node(
        "AveragePool",
        ["x"],
        ["y"],
        kernel_shape=[2, 2],
        strides=[2, 2],
        pads=[1, 1, 1, 1],
        ceil_mode=1,
        name="ap",
    )
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, "a", "b"])],
    )
    path = tmp_path / "pool.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    assert main(["net", str(path), "--at", "H=5,W=5"]) == 0
    out = capsys.readouterr().out
    assert "at H = 5, W = 5: output H -> 4, W -> 4" in out
    assert "note: ceil_mode pooling before opset 22 at ap:" in out and "--convention ort" in out
    assert main(["net", str(path), "--at", "H=5,W=5", "--convention", "ort"]) == 0
    out = capsys.readouterr().out
    assert "at H = 5, W = 5: output H -> 3, W -> 3" in out and "note:" not in out
