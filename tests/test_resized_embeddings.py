"""A parameter resized to sizes computed from the input (a ViT's position embedding resized to the patch grid,
timm's dynamic_img_size): a tensor made from sizes, followed through permute, reshape with -1, flatten and a
concatenation with a class token's position, and added to the tokens where its sizes are theirs at every input
size; and branches whose guard relates two axes, read where both sides give the same network. Against PyTorch
at every size of each axis."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.errors import SpecError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402

from .running import agrees_with_torch, spatial_output  # noqa: E402


class ResizedPositions(nn.Module):
    """Patches of 4, a 7 x 7 grid of positions resized to the patch grid, with or without a class token."""

    def __init__(self, prefix: bool, flatten: bool = False, grow: int = 0) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.pos = nn.Parameter(torch.randn(1, 49 + prefix, 8))
        self.cls = nn.Parameter(torch.randn(1, 1, 8))
        self.prefix, self.flatten, self.grow = prefix, flatten, grow

    def forward(self, x: Any) -> Any:
        x = self.patch(x)
        b, c, h, w = x.shape
        grid = (self.pos[:, 1:] if self.prefix else self.pos).reshape(1, 7, 7, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(h + self.grow, w), mode="bicubic", antialias=True)
        pos = grid.flatten(2).transpose(1, 2) if self.flatten else grid.permute(0, 2, 3, 1).reshape(1, -1, c)
        tokens = x.flatten(2).transpose(1, 2)
        if self.prefix:
            pos = torch.cat([self.pos[:, :1], pos], dim=1)
            tokens = torch.cat([self.cls.expand(b, -1, -1), tokens], dim=1)
        tokens = tokens + pos
        return (tokens[:, 1:] if self.prefix else tokens).transpose(1, 2).reshape(b, c, h, w)


@pytest.mark.parametrize("prefix", [False, True], ids=["grid", "class token"])
@pytest.mark.parametrize("flatten", [False, True], ids=["reshape", "flatten"])
def test_a_position_embedding_resized_to_the_patch_grid_agrees_with_pytorch(
    prefix: bool, flatten: bool
) -> None:
    agrees_with_torch(ResizedPositions(prefix, flatten).eval(), range(1, 30), 12)


def test_a_resized_embedding_whose_size_is_not_the_tokens_is_refused() -> None:
    model = ResizedPositions(False, grow=1).eval()
    assert all(spatial_output(model, n, 12) is None for n in range(4, 20))
    with pytest.raises(SpecError, match="equal or 1"):
        from_torch(model, (1, 3, "H", "W"))


class ResizedToNothing(nn.Module):
    """A grid resized to H // 8 rows, which is 0 below 8 (PyTorch refuses), added where the model crops."""

    def __init__(self) -> None:
        super().__init__()
        self.pos = nn.Parameter(torch.randn(1, 3, 4, 4))

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        crop = x[:, :, : h // 8, :]
        return crop + F.interpolate(self.pos, size=(h // 8, w), mode="nearest")


def test_a_resize_to_an_empty_size_is_a_condition() -> None:
    agrees_with_torch(ResizedToNothing().eval(), range(1, 30), 16)


class SameEitherWay(nn.Module):
    """A branch on H*W (a memory-saving path) whose sides compute the same network."""

    def __init__(self, differ: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, 2)
        self.differ = differ

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        if h * w > 100:
            return self.conv(F.pad(x, (0, 1, 0, 1)) if self.differ else x)
        return self.conv(x)


def test_a_branch_relating_the_axes_is_read_where_its_sides_agree() -> None:
    agrees_with_torch(SameEitherWay().eval(), range(1, 25), 9)


def test_a_branch_relating_the_axes_whose_sides_differ_is_refused() -> None:
    with pytest.raises(SpecError, match="may give different networks"):
        from_torch(SameEitherWay(differ=True).eval(), (1, 3, "H", "W"))
