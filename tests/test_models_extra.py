"""Size assertions, several outputs and subclassed torch.nn layers in the PyTorch importer, against PyTorch.

The modules are written the way timm and torchvision write them (timm's PatchEmbed asserts the input size,
torchvision's segmentation models return {"out": ..., "aux": ...}, its video models subclass nn.Conv3d); each
runs in PyTorch on many sizes, square and not, and the imported network must agree where it runs and where not.
"""

from __future__ import annotations

import itertools
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

PAIRS = sorted(
    {(h, w) for h in range(1, 37) for w in (4, 9, 16, 24)} | {(w, h) for h in range(1, 37) for w in (9, 16)}
)


def outcome(model: nn.Module, sizes: tuple[int, ...]) -> tuple[int, ...] | None:
    """The first output's spatial sizes, or None where PyTorch refuses (an assertion fails, a layer raises)."""
    try:
        with torch.no_grad():
            out = model(torch.zeros(1, 1, *sizes))
    except (RuntimeError, ValueError, AssertionError):
        return None
    while not isinstance(out, torch.Tensor):
        out = next(iter(out.values())) if isinstance(out, dict) else out[0]
    first = out
    return tuple(first.shape[2:])


def agree(model: nn.Module, shape: tuple[Any, ...] = (1, 1, "H", "W"), sizes: Any = None) -> Network:
    model = model.eval()
    net = from_torch(model, shape)
    valid = net.valid_inputs()
    assert all(isinstance(v.proof, Proved) for v in valid.values()), valid
    formulas = net.output_size()
    fixed = [s for s in shape[2:] if isinstance(s, int)]
    runs = refusals = 0
    for point in sizes or PAIRS:
        expected = outcome(model, (*fixed, *point))
        env = dict(zip(net.symbolic, point, strict=True))
        try:
            checked = net.check(env)
            got: tuple[int, ...] | None = tuple(checked[d] for d in net.dims)
        except ShapeError:
            got = None
        assert got == expected, (point, got, expected)
        member = all(env[d] in valid[d] for d in net.symbolic)
        assert member == (expected is not None), point
        if member and expected is not None:
            assert tuple(int(evaluate(formulas[d], env)) for d in net.symbolic) == expected[len(fixed) :]
        runs += expected is not None
        refusals += expected is None
    assert runs and refusals, "the sizes must include ones where the model runs and ones where it does not"
    return net


class PatchEmbed(nn.Module):
    """timm's PatchEmbed: it asserts the image size, then cuts patches with a strided convolution."""

    def __init__(self, img_size: int = 16, patch: int = 4) -> None:
        super().__init__()
        self.img_size = (img_size, img_size)
        self.proj = nn.Conv2d(1, 8, patch, patch)

    def forward(self, x: Any) -> Any:
        _, _, H, W = x.shape
        torch._assert(H == self.img_size[0], f"Input height ({H}) doesn't match model ({self.img_size[0]}).")
        torch._assert(W % 4 == 0, "Input width should be divisible by the patch size.")
        return self.proj(x)


class Comparisons(nn.Module):
    """Every comparison on sizes, asserted as a model checks its input (some of them after a layer)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, 2)

    def forward(self, x: Any) -> Any:
        torch._assert(x.size(2) != 7, "height 7 is refused")
        torch._assert(x.shape[-1] < 30, "too wide")
        torch._assert(x.shape[-1] >= 5, "too narrow")
        y = self.conv(x)
        torch._assert(y.size(2) <= 12, "too high after the convolution")
        torch._assert(y.size(-1) > 1, "the convolution's output must be wider than 1")
        torch._assert(y.size(2) * 2 + 1 <= x.size(2), "sizes of two nodes compared")
        return y


def test_patch_embed_asserts_the_size() -> None:
    net = agree(PatchEmbed())
    valid = net.valid_inputs()
    assert [h for h in range(1, 100) if h in valid["H"]] == [16]
    assert [w for w in range(1, 30) if w in valid["W"]] == [4, 8, 12, 16, 20, 24, 28]


def test_every_comparison_is_a_condition() -> None:
    agree(Comparisons())


def test_an_assertion_names_its_node_and_message() -> None:
    net = from_torch(PatchEmbed(), (1, 1, "H", "W"))
    with pytest.raises(ShapeError, match=r"_assert.*doesn't match model"):
        net.check({"H": 20, "W": 16})


def test_an_assertion_on_a_fixed_axis_is_decided() -> None:
    agree(PatchEmbed(), (1, 1, 16, "W"), [(w,) for w in range(1, 40)])
    with pytest.raises(SpecError, match=r"_assert.*fails at the fixed input size"):
        from_torch(PatchEmbed(), (1, 1, 20, "W"))


class Square(nn.Module):
    def forward(self, x: Any) -> Any:
        torch._assert(x.shape[2] == x.shape[3], "the input must be square")
        return x


def test_an_assertion_relating_two_axes_is_refused() -> None:
    with pytest.raises(SpecError, match=r"relating the sizes along H and W; not modelled"):
        from_torch(Square(), (1, 1, "H", "W"))


class Segmentation(nn.Module):
    """torchvision's segmentation models: a dict of the main and the auxiliary outputs, each resized back to
    the input size; the auxiliary head reads a deeper feature with a larger kernel, so it refuses sizes the main
    head runs on."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Conv2d(1, 4, 3, stride=2)
        self.deeper = nn.Conv2d(4, 4, 5, stride=2)
        self.head = nn.Conv2d(4, 2, 1)
        self.aux = nn.Conv2d(4, 2, 3)

    def forward(self, x: Any) -> Any:
        size = x.shape[-2:]
        features = self.backbone(x)
        out = {"out": F.interpolate(self.head(features), size=size, mode="bilinear", align_corners=False)}
        aux = self.aux(self.deeper(features))
        out["aux"] = F.interpolate(aux, size=size, mode="bilinear", align_corners=False)
        return out


class Levels(nn.Module):
    """An FPN backbone's dict of levels, each level a stride-2 step of the one before."""

    def __init__(self) -> None:
        super().__init__()
        self.steps = nn.ModuleList(nn.Conv2d(1, 1, 3, 2) for _ in range(3))

    def forward(self, x: Any) -> Any:
        levels = {}
        for index, step in enumerate(self.steps):
            x = step(x)
            levels[str(index)] = [x]
        return levels


def test_a_dict_output_reads_the_first_and_needs_them_all() -> None:
    net = agree(Segmentation())
    # The main head runs from 3; the auxiliary head's kernels 3 (stride 2), 5 (stride 2) and 3 need 19.
    assert net.valid_inputs()["H"].describe()["from"] == 19
    levels = agree(Levels())
    assert levels.output_size()["H"] == from_torch(nn.Conv2d(1, 1, 3, 2), (1, 1, "H", "W")).output_size()["H"]
    assert levels.valid_inputs()["H"].describe()["from"] == 15


class Nothing(nn.Module):
    def forward(self, x: Any) -> Any:
        return {"size": x.shape[-1]}


def test_an_output_without_a_tensor_is_refused() -> None:
    with pytest.raises(SpecError, match=r"returns immutable_dict holding no tensor"):
        from_torch(Nothing())


class Conv3DSimple(nn.Conv3d):
    """torchvision's video models: a Conv3d subclass that only fixes its arguments."""

    def __init__(self, in_planes: int, out_planes: int, stride: int = 1, padding: int = 1) -> None:
        super().__init__(
            in_planes, out_planes, kernel_size=(3, 3, 3), stride=stride, padding=padding, bias=False
        )

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        return stride, stride, stride


class Named(nn.Conv2d):
    """A subclass whose forward is the parent's, written out."""

    forward = nn.Conv2d.forward


class Own(nn.Conv2d):
    """A subclass with its own forward is traced through: its forward's calls are what it computes."""

    def forward(self, x: Any) -> Any:
        return F.max_pool2d(super().forward(x), 2)


def test_a_subclass_of_a_torch_layer_is_that_layer() -> None:
    video = nn.Sequential(Conv3DSimple(1, 2, stride=2, padding=0), nn.ReLU(), Conv3DSimple(2, 2, stride=1))
    sizes = [(d, h, w) for d, h, w in itertools.product(range(1, 9), (3, 6, 11), (2, 5, 9))]
    agree(video, (1, 1, "D", "H", "W"), sizes)
    agree(nn.Sequential(Named(1, 2, 3, stride=2), Own(2, 2, 3)))
