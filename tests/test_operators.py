"""The operators of real networks in the PyTorch importer, against PyTorch itself.

Each model runs in PyTorch (CPU, zero inputs) on many input sizes, square and not; the imported Network must
give the same output sizes where PyTorch runs and refuse exactly where PyTorch raises, both through
`Network.check` and through the proved valid sets and output formulas.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.arith import evaluate  # noqa: E402
from symconv.core.errors import ShapeError, SpecError  # noqa: E402
from symconv.logic.prove import Proved  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402
from symconv.nets.network import Network  # noqa: E402

from .zoo import Conv2dSame  # noqa: E402

# Every size 1..40 on H with W at a few sizes, and the same the other way round.
PAIRS = sorted(
    {(h, w) for h in range(1, 41) for w in (3, 8, 17, 32)} | {(w, h) for h in range(1, 41) for w in (8, 17)}
)
Outcome = tuple[int, ...] | None


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Any:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def torch_outcome(
    model: nn.Module, sizes: tuple[int, ...], channels: int = 1, tokens: bool = False
) -> Outcome:
    try:
        with torch.no_grad():
            out = model(torch.zeros(1, channels, *sizes))
    except (RuntimeError, ValueError, IndexError, NotImplementedError):
        return None
    if tokens:
        return (out.shape[1],)  # (batch, tokens, channels): the tokens are the spatial sizes' product
    return tuple(out.shape[2:]) if out.dim() > 2 else ()


def agree(
    model: nn.Module,
    shape: tuple[Any, ...] = (1, 1, "H", "W"),
    sizes: list[Any] | None = None,
    tokens: bool = False,
) -> Network:
    """The imported network says what PyTorch does at every size (check, and the proved valid sets)."""
    model = model.eval()
    net = from_torch(model, shape)
    valid = net.valid_inputs()
    assert all(isinstance(v.proof, Proved) for v in valid.values()), valid
    formulas = net.output_size()
    channels = shape[1] if isinstance(shape[1], int) else 1
    runs = 0
    for point in sizes or PAIRS:
        expected = torch_outcome(model, point, channels, tokens)
        env = dict(zip(net.dims, point, strict=True))
        try:
            checked = net.check(env)
            got: Outcome = () if expected == () else tuple(checked[d] for d in net.dims)
            if tokens:
                got = (checked[net.dims[0]] * checked[net.dims[1]],)
        except ShapeError:
            got = None
        assert got == expected, (point, got, expected)
        member = all(env[d] in valid[d] for d in net.dims)
        assert member == (expected is not None), point
        if member and expected != () and not tokens:
            assert tuple(int(evaluate(formulas[d], env)) for d in net.dims) == expected
        runs += expected is not None
    assert runs, "the model never runs on these sizes"
    return net


class Lambda(nn.Module):
    """A model from a function of the input (torch.fx traces the function's body)."""

    def __init__(self, forward: Any, *modules: nn.Module) -> None:
        super().__init__()
        self.layers = nn.ModuleList(modules)
        self.fn = forward

    def forward(self, x: Any) -> Any:
        return self.fn(self, x)


PADDING: dict[str, Callable[[], nn.Module]] = {
    "zero": lambda: nn.Sequential(nn.ZeroPad2d((1, 2, 0, 3)), nn.Conv2d(1, 1, 3)),
    "reflect": lambda: nn.Sequential(nn.Conv2d(1, 1, 3, stride=2), nn.ReflectionPad2d((2, 1, 3, 0))),
    "replicate": lambda: nn.Sequential(nn.ReplicationPad2d(2), nn.MaxPool2d(3, 2)),
    "circular": lambda: nn.Sequential(nn.Conv2d(1, 1, 2, stride=2), nn.CircularPad2d((3, 1, 2, 2))),
    "constant_negative": lambda: nn.Sequential(nn.ConstantPad2d((-1, 2, 1, -2), 0.5), nn.Conv2d(1, 1, 2)),
    "f_pad_crop": lambda: Lambda(lambda m, x: F.pad(x, (-3, -2, 1, 1))),
    "f_pad_reflect_negative": lambda: Lambda(lambda m, x: F.pad(x, (-1, 3, 2, -2), mode="reflect")),
    "f_pad_circular_negative": lambda: Lambda(lambda m, x: F.pad(x, (-2, -4, 3, 1), mode="circular")),
    "f_pad_constant_crops": lambda: Lambda(lambda m, x: F.pad(x, (-9, 7, 4, -6))),
    "f_pad_replicate_then_pool": lambda: Lambda(
        lambda m, x: F.max_pool2d(F.pad(x, (0, 1, 0, 1), mode="replicate"), 2)
    ),
    "f_pad_from_sizes": lambda: Lambda(lambda m, x: F.pad(x, (0, x.size(3) % 4, x.shape[2] // 3, 1))),
}


@pytest.mark.parametrize("name", sorted(PADDING))
def test_padding(name: str) -> None:
    agree(PADDING[name]())


def test_padding_in_one_and_three_dimensions() -> None:
    agree(
        nn.Sequential(nn.ReflectionPad1d((3, 1)), nn.Conv1d(1, 1, 4, stride=2)),
        (1, 1, "L"),
        [(n,) for n in range(1, 40)],
    )
    cube = [p for p in itertools.product(range(1, 7), repeat=3)]
    agree(
        nn.Sequential(nn.ReplicationPad3d((1, 0, 2, 1, 0, 3)), nn.Conv3d(1, 1, 3, stride=2)),
        (1, 1, "D", "H", "W"),
        cube,
    )


class MilesialUp(nn.Module):
    """Pytorch-UNet's Up: upsample, pad to the skip's size with F.pad amounts computed from sizes, concatenate."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(1, 1, 3, padding=1))
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        self.conv = nn.Conv2d(2, 1, 3, padding=1)

    def forward(self, x: Any) -> Any:
        x2 = self.up(self.down(x))
        dy = x.size()[2] - x2.size()[2]
        dx = x.size()[3] - x2.size()[3]
        x2 = F.pad(x2, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([x, x2], dim=1))


class CropUNet(nn.Module):
    """The original U-Net: valid convolutions, and the skip centre-cropped to the upsampled size."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Conv2d(1, 2, 3)
        self.down = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(2, 2, 3), nn.Conv2d(2, 2, 3))
        self.up = nn.ConvTranspose2d(2, 2, 2, stride=2)
        self.dec = nn.Conv2d(4, 1, 3)

    def forward(self, x: Any) -> Any:
        skip = self.enc(x)
        up = self.up(self.down(skip))
        dh = (skip.size(2) - up.size(2)) // 2
        dw = (skip.shape[-1] - up.shape[-1]) // 2
        crop = skip[:, :, dh : dh + up.size(2), dw : dw + up.size(3)]
        return self.dec(torch.cat([crop, up], 1))


SLICING: dict[str, Callable[[], nn.Module]] = {
    "milesial_up": MilesialUp,
    "crop_unet": CropUNet,
    "step": lambda: Lambda(lambda m, x: x[..., ::2][:, :, ::3]),
    "negative": lambda: Lambda(lambda m, x: x[:, :, 1:-1, -5:]),
    "clamped": lambda: Lambda(lambda m, x: F.max_pool2d(x[:, :, 3:30, :7], 2)),
    "from_sizes": lambda: Lambda(lambda m, x: x[:, :, x.size(2) // 2 :, 1 : x.shape[3] - 2 : 2]),
    "negative_formula": lambda: Lambda(lambda m, x: x[:, :, 8 - x.size(2) :, : x.size(3) // 3 - 2]),
}


@pytest.mark.parametrize("name", sorted(SLICING))
def test_slicing(name: str) -> None:
    agree(SLICING[name]())


class DeepLabHead(nn.Module):
    """DeepLabV3's forward: features at a stride, then bilinear interpolation back to the input's size."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.Conv2d(2, 2, 3, stride=4))
        self.classifier = nn.Conv2d(2, 1, 1)

    def forward(self, x: Any) -> Any:
        input_shape = x.shape[-2:]
        out = self.classifier(self.backbone(x))
        return F.interpolate(out, size=input_shape, mode="bilinear", align_corners=False)


RESIZING: dict[str, Callable[[], nn.Module]] = {
    "deeplab": DeepLabHead,
    "to_skip": lambda: Lambda(
        lambda m, x: m.layers[1](F.interpolate(m.layers[0](x), size=x.shape[2:]) + x),
        nn.Conv2d(1, 1, 3, stride=3),
        nn.Conv2d(1, 1, 3),
    ),
    "float_scale": lambda: nn.Sequential(nn.Upsample(scale_factor=1.5), nn.Conv2d(1, 1, 2)),
    "per_axis_scale": lambda: Lambda(
        lambda m, x: F.interpolate(x, scale_factor=(0.5, 2.25), mode="bilinear")
    ),
    "recomputed": lambda: Lambda(
        lambda m, x: F.interpolate(x, scale_factor=3.0, mode="nearest", recompute_scale_factor=True)
    ),
    "size_formula": lambda: Lambda(lambda m, x: F.interpolate(x, size=(x.size(2) // 2, x.size(3) * 2 - 3))),
    "per_axis_upsample": lambda: nn.Upsample(scale_factor=(2, 3), mode="nearest"),
}


@pytest.mark.parametrize("name", sorted(RESIZING))
def test_resizing(name: str) -> None:
    agree(RESIZING[name]())


def split_cat(m: Any, x: Any) -> Any:
    a, b = torch.chunk(x, 2, dim=3)
    return F.max_pool2d(torch.cat([b, a], dim=3).split(4, dim=2)[1], 2)


def stack_sum(m: Any, x: Any) -> Any:
    """BiFPN's fusion: resize a level to another's size, stack the two, sum over the stack."""
    a = m.layers[0](x)
    b = F.interpolate(m.layers[1](a), size=a.shape[-2:])
    return torch.stack([a, b], dim=-1).sum(dim=-1) + torch.stack([a], dim=0).sum(0)


MERGING: dict[str, Callable[[], nn.Module]] = {
    "chunk_split_cat": lambda: Lambda(split_cat),
    "split_sizes": lambda: Lambda(lambda m, x: torch.split(x, [2, 3], dim=2)[1]),
    "cat_spatial": lambda: Lambda(
        lambda m, x: m.layers[0](torch.cat([x, x[:, :, ::2], F.pad(x, (0, 0, 1, 0))], dim=-2)),
        nn.Conv2d(1, 1, 5, stride=3),
    ),
    "mean_gate": lambda: Lambda(lambda m, x: x * x.mean((2, 3), keepdim=True) + x.amax(dim=2, keepdim=True)),
    "mean_classifier": lambda: Lambda(lambda m, x: m.layers[0](F.relu(x).mean([2, 3])), nn.Linear(1, 3)),
    "stack_sum": lambda: Lambda(stack_sum, nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3, padding=1)),
    "unsqueeze_squeeze": lambda: Lambda(lambda m, x: F.max_pool2d(x.unsqueeze(2).squeeze(2), 2)),
}


@pytest.mark.parametrize("name", sorted(MERGING))
def test_split_cat_and_reductions(name: str) -> None:
    agree(MERGING[name]())


def drop_path(x: Any, p: float = 0.0, training: bool = False) -> Any:
    """timm's drop_path: the identity unless training."""
    if p == 0.0 or not training:
        return x
    keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1 - p)
    return x * keep / (1 - p)


class DropPath(nn.Module):
    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Any) -> Any:
        return drop_path(x, self.p, self.training)


def stochastic_depth(x: Any, p: float, mode: str, training: bool = True) -> Any:
    """torchvision's stochastic_depth, which it wraps for torch.fx (a leaf call in the traced graph)."""
    return x


torch.fx.wrap("stochastic_depth")


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)
        self.drop = DropPath(0.2)
        self.dropout = nn.Dropout2d(0.1)

    def forward(self, x: Any) -> Any:
        y = stochastic_depth(self.dropout(self.conv(x)), 0.1, "row", self.training)
        return x + self.drop(y)


def test_identity_at_inference_in_a_training_model() -> None:
    model = nn.Sequential(nn.Conv2d(1, 1, 3, stride=2), Block(), nn.Identity()).train()
    net = from_torch(model, (1, 1, "H", "W"))
    block = model[1]
    assert isinstance(block, Block)
    assert model.training and block.drop.training  # the modes are put back after tracing
    assert [n.op for n in net.nodes].count("add") == 1
    agree(model)


def test_what_the_nodes_are() -> None:
    net = from_torch(CropUNet(), (1, 1, "H", "W"))
    crop = next(n for n in net.nodes if n.op == "slice")
    sizes = net.sizes("H")
    valid = net.valid_inputs()["H"]
    assert all(
        evaluate(sizes[crop.name], {"H": h}) == evaluate(sizes["up"], {"H": h})
        for h in range(1, 200)
        if h in valid
    )
    net = from_torch(PADDING["reflect"](), (1, 1, "H", "W"))
    rules = [rule for _, rule in net.conditions("W")]
    assert any("reflect padding (begin) must be less than the input size" in rule for rule in rules)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Lambda(lambda m, x: x[:, :, : x.size(3)]),
            r"the slice bound along H is computed from the size along W .* not modelled",
        ),
        (lambda: Lambda(lambda m, x: x[:, :, 2]), r"indexes with an integer .* removes an axis"),
        (lambda: Lambda(lambda m, x: x[0]), r"integer|batch"),
        (lambda: Lambda(lambda m, x: F.pad(x, (1, 1, 1, 1), mode="wrap")), r"mode must be one of constant"),
        (
            lambda: Lambda(lambda m, x: m.layers[0](torch.cat([x, x], 1)), nn.Conv2d(1, 1, 3)),
            r"nn\.Conv2d at layers\.0 expects 1 input channels, gets 2",
        ),
        (
            lambda: Lambda(lambda m, x: m.layers[0](x[:, :1]), nn.Conv2d(2, 1, 3)),
            r"expects 2 input channels, gets 1",
        ),
        (lambda: Lambda(lambda m, x: x.mean(2)), r"reduces axes \[2\] without keepdim"),
        (
            lambda: Lambda(lambda m, x: F.interpolate(x, size=(4, 5, 6))),
            r"size has 3 entries for 2 spatial axes",
        ),
    ],
)
def test_refusals_name_the_node(make: Any, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        from_torch(make(), (1, 2 if "2, 1" in message else 1, "H", "W"))


class PatchEmbed(nn.Module):
    """ViT's patch embedding: a convolution of kernel and stride 16, then flatten(2).transpose(1, 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Conv2d(1, 8, 16, stride=16)
        self.norm = nn.LayerNorm(8)

    def forward(self, x: Any) -> Any:
        return self.norm(self.proj(x).flatten(2).transpose(1, 2))


class Windows(nn.Module):
    """Swin's window partition and reverse around a per-window projection, channels last in between."""

    def __init__(self, w: int = 4) -> None:
        super().__init__()
        self.w = w
        self.embed = nn.Conv2d(1, 6, 2, stride=2)
        self.proj = nn.Linear(6, 6)

    def forward(self, x: Any) -> Any:
        w = self.w
        x = self.embed(x).permute(0, 2, 3, 1)
        B, H, W, C = x.shape
        x = x.view(B, H // w, w, W // w, w, C)
        windows = x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, w * w, C)
        windows = self.proj(windows).view(-1, w, w, C)
        x = windows.view(B, H // w, W // w, w, w, -1).permute(0, 1, 3, 2, 4, 5).reshape(B, H, W, -1)
        return x.permute(0, 3, 1, 2)


def test_vit_patch_embedding() -> None:
    net = agree(PatchEmbed(), sizes=[(h, w) for h in range(1, 70, 3) for w in (16, 40, 64)], tokens=True)
    assert str(net.output_size()["H"]) == "floor(H/16)"


def test_swin_window_partition_needs_divisible_sizes() -> None:
    net = agree(Windows(), sizes=[(h, w) for h in range(1, 60) for w in (8, 24, 30)])
    assert net.valid_inputs()["H"].describe() == {"period": 8, "residues": [0, 1], "from": 2, "below": []}


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle (view into groups, transpose, view back) between strided convolutions."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups
        self.a, self.b = nn.Conv2d(1, 6, 3, stride=2), nn.Conv2d(6, 1, 2, stride=(1, 1))

    def forward(self, x: Any) -> Any:
        x = self.a(x)
        b, c, h, w = x.size()
        x = x.view(b, self.groups, c // self.groups, h, w).transpose(1, 2).contiguous().view(b, -1, h, w)
        return self.b(x)


@pytest.mark.parametrize("groups", [2, 3])
def test_channel_shuffle(groups: int) -> None:
    net = agree(ChannelShuffle(groups), shape=(1, 1, "H", "W"))
    assert str(net.output_size()["W"]) == "floor(W/2 - 3/2)"


def test_a_view_that_splits_a_spatial_axis_by_a_channel_factor_is_refused() -> None:
    with pytest.raises(SpecError, match="does not line up"):
        from_torch(Lambda(lambda m, x: x.view(1, 2, 3, -1)), (1, 6, "H", "W"))


class ChannelsLastNorm(nn.Module):
    """ConvNeXt's LayerNorm2d: permute to channels last, F.layer_norm over the channels, permute back."""

    def __init__(self, c: int = 3) -> None:
        super().__init__()
        self.conv, self.c = nn.Conv2d(1, c, 4, stride=3), c

    def forward(self, x: Any) -> Any:
        x = self.conv(x).permute(0, 2, 3, 1)
        return F.layer_norm(x, (self.c,)).permute(0, 3, 1, 2)


def test_layer_norm_over_the_channels() -> None:
    agree(ChannelsLastNorm())


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Lambda(lambda m, x: F.layer_norm(x.permute(0, 2, 3, 1), (4,))), r"normalized_shape \[4\]"),
        (
            lambda: Lambda(lambda m, x: F.layer_norm(x, (5, 5))),
            r"normalizes the trailing spatial axes \(H, W\)",
        ),
    ],
)
def test_layer_norm_refusals(make: Any, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        from_torch(make(), (1, 3, "H", "W"))


@pytest.mark.parametrize(("k", "s", "d"), [(3, 2, 1), (1, 3, 1), (5, 3, 2), (2, 4, 1)])
def test_same_padding_computed_with_python_math(k: int, s: int, d: int) -> None:
    agree(nn.Sequential(Conv2dSame(1, 2, k, s, dilation=d), nn.MaxPool2d(2)))


def test_functional_convolution_and_min_of_sizes() -> None:
    def forward(m: Any, x: Any) -> Any:
        y = F.conv2d(x, m.layers[0].weight, None, (2, 2), 1, 1, 1)
        return y[:, :, : min(y.size(2), 9), max(y.size(3) - 12, 1) :]

    agree(Lambda(forward, nn.Conv2d(1, 2, 3)))


def test_size_math_is_restored_after_tracing() -> None:
    import builtins

    before = (builtins.max, builtins.min, math.ceil, math.floor)
    with pytest.raises(SpecError):
        from_torch(Lambda(lambda m, x: x[:, :, :1] if max(x.size(2), 3) > 4 else x), (1, 1, "H", "W"))
    from_torch(Conv2dSame(1, 1, 3, 2), (1, 1, "H", "W"))
    assert (builtins.max, builtins.min, math.ceil, math.floor) == before


class CropSmallerSkip(nn.Module):
    """A centre crop whose start is negative at some sizes (the skip smaller than the upsampled map)."""

    def __init__(self) -> None:
        super().__init__()
        self.skip, self.up = nn.Conv2d(1, 1, 5, stride=2), nn.ConvTranspose2d(1, 1, 2, stride=2)

    def forward(self, x: Any) -> Any:
        skip = self.skip(x)
        up = self.up(F.max_pool2d(x, 3))
        dh, dw = (skip.size(2) - up.size(2)) // 2, (skip.size(3) - up.size(3)) // 2
        return skip[:, :, dh : dh + up.size(2), dw : dw + up.size(3)] + up


def test_centre_crop_with_a_start_of_either_sign() -> None:
    agree(CropSmallerSkip(), sizes=[(h, w) for h in range(1, 61) for w in (7, 20, 33)])


# ONNX: models exported from PyTorch (dynamic H and W), read back and held to onnxruntime.

ONNX_MODELS: dict[str, Callable[[], nn.Module]] = {
    "pad_constant": lambda: Lambda(lambda m, x: m.layers[0](F.pad(x, (-1, 2, 3, -2))), nn.Conv2d(1, 1, 3)),
    "pad_reflect": lambda: Lambda(
        lambda m, x: F.pad(m.layers[0](x), (2, 1, 0, 3), mode="reflect"), nn.Conv2d(1, 1, 2)
    ),
    "pad_edge": lambda: nn.Sequential(nn.ReplicationPad2d((1, 0, 2, 3)), nn.MaxPool2d(3, 2)),
    "slice": lambda: Lambda(lambda m, x: m.layers[0](x[:, :, 1:-1, 2:9:2]), nn.Conv2d(1, 1, 2)),
    "cat_spatial": lambda: Lambda(lambda m, x: torch.cat([x, x[:, :, ::2]], dim=2)),
    "reduce": lambda: Lambda(
        lambda m, x: m.layers[0](x) * x.mean(dim=(2, 3), keepdim=True), nn.Conv2d(1, 1, 3)
    ),
}


@pytest.mark.parametrize("name", sorted(ONNX_MODELS))
def test_onnx_operators_match_onnxruntime(name: str, tmp_path: Any) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    path = tmp_path / f"{name}.onnx"
    export_and_compare(ONNX_MODELS[name]().eval(), path)


@pytest.mark.parametrize(
    ("mode", "pads"),
    [
        ("constant", [0, 0, -1, 3, 0, 0, 2, -4]),
        ("reflect", [0, 0, 2, 1, 0, 0, 0, 3]),
        ("edge", [0, 0, 1, 0, 0, 0, 2, 3]),
    ],
)
def test_onnx_pad_matches_onnxruntime(mode: str, pads: list[int], tmp_path: Any) -> None:
    """A hand-built Pad then a convolution (torch's exporter builds the pads with ConstantOfShape chains)."""
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    import numpy
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, "H", "W"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, "h", "w"])
    weight = helper.make_tensor("w", TensorProto.FLOAT, [1, 1, 2, 2], numpy.ones(4, dtype=numpy.float32))
    amounts = helper.make_tensor("pads", TensorProto.INT64, [8], pads)
    nodes = [
        helper.make_node("Pad", ["x", "pads"], ["p"], mode=mode),
        helper.make_node("Conv", ["p", "w"], ["y"], kernel_shape=[2, 2]),
    ]
    graph = helper.make_graph(nodes, "pad", [x], [y], [weight, amounts])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    path = tmp_path / "pad.onnx"
    onnx.save(model, str(path))
    compare(path)


def export_and_compare(module: nn.Module, path: Any) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (torch.zeros(1, 1, 16, 16),),
            str(path),
            dynamo=False,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {2: "H", 3: "W"}},
        )
    compare(path)


def compare(path: Any) -> None:
    """The ONNX model read as onnxruntime runs it agrees with onnxruntime at every size."""
    import numpy

    ort = pytest.importorskip("onnxruntime")
    from symconv.nets.importers.onnx import from_onnx

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 4
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    net = from_onnx(str(path), convention="ort")
    valid = net.valid_inputs()
    for h, w in [(h, w) for h in range(1, 30) for w in (4, 9, 20)]:
        try:
            (out,) = session.run(None, {"x": numpy.zeros((1, 1, h, w), dtype=numpy.float32)})
            expected: Outcome = tuple(out.shape[2:])
        except Exception:  # onnxruntime's refusals have no common base class
            expected = None
        try:
            checked = net.check({"H": h, "W": w})
            got: Outcome = (checked["H"], checked["W"])
        except ShapeError:
            got = None
        assert got == expected, (h, w, got, expected)
        assert (h in valid["H"] and w in valid["W"]) == (expected is not None)


def _dependencies(model: nn.Module, n: int) -> list[set[int]]:
    """The input positions each output position of a 1-D model depends on (autograd, positive weights)."""
    x = torch.rand(1, 1, n, dtype=torch.float64, requires_grad=True)
    out = model(x)
    found = []
    for j in range(out.shape[-1]):
        (grad,) = torch.autograd.grad(out[0, :, j].sum(), x, retain_graph=True)
        found.append({int(t) for t in torch.nonzero(grad[0].abs().sum(0)).flatten()})
    return found


@pytest.mark.parametrize(
    "body",
    [
        lambda m, x: m.layers[0](F.pad(x, (2, -1)))[..., 1::2],
        lambda m, x: m.layers[0](F.pad(x, (3, 2), mode="reflect")),
        lambda m, x: m.layers[0](F.pad(x, (1, 3), mode="replicate"))[..., :-2],
        lambda m, x: F.interpolate(m.layers[0](x), size=x.shape[-1], mode="linear"),
        lambda m, x: F.interpolate(m.layers[0](x), scale_factor=2.5),
        lambda m, x: torch.cat([m.layers[0](x), x[..., 2:]], dim=-1),
    ],
)
def test_fields_contain_the_real_dependencies(body: Any) -> None:
    """Every position an output reads (autograd) lies in symconv's field clipped to the input."""
    from symconv.nets.receptive import intervals

    conv = nn.Conv1d(1, 1, 3, stride=2).double()
    nn.init.constant_(conv.weight, 1.0)
    model = Lambda(body, conv).eval()
    net = from_torch(model, (1, 1, "L"))
    valid = net.valid_inputs()["L"]
    for n in [n for n in range(1, 30) if n in valid]:
        fields = intervals(net, n)
        real = _dependencies(model, n)
        assert len(fields) == len(real)
        for j, (field, needed) in enumerate(zip(fields, real, strict=True)):
            assert field is not None, (n, j)
            lo, hi = max(field[0], 0), min(field[1], n - 1)
            assert all(lo <= t <= hi for t in needed), (n, j, field, sorted(needed))
