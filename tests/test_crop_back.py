"""Residual blocks that crop a branch back to the input's size (LowFormer's attention: a strided depthwise
convolution, a transposed one, then ``o[..., :H, :W]``): the crop's length is decided on the sizes themselves,
so a stack of blocks keeps the input's size as its formula instead of nesting a Min per block, and the valid
sizes and output sizes agree with PyTorch."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from symconv.core.arith import symbol  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402

from .running import spatial_output  # noqa: E402


class CropBack(nn.Module):
    def __init__(self, kernel: int, stride: int, padding: int, up_kernel: int, up_padding: int) -> None:
        super().__init__()
        self.down = nn.Conv2d(4, 4, kernel, stride, padding, groups=4)
        self.up = nn.ConvTranspose2d(4, 4, up_kernel, stride, up_padding, groups=4)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[-2:]
        return self.up(self.down(x))[..., :h, :w] + x  # the crop first, as LowFormer adds


def _stack(depth: int, *block: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), *(CropBack(*block) for _ in range(depth))).eval()


def test_a_crop_back_to_the_input_size_keeps_the_size_through_three_blocks() -> None:
    # LowFormer's: 4 * ceil(H/4) >= H, so the crop is H exactly, at every depth
    model = _stack(3, 5, 4, 2, 8, 2)
    net = from_torch(model, (1, 3, "H", "W"))
    assert net.output_size() == {"H": symbol("H"), "W": symbol("W")}
    valid = net.valid_inputs()
    for n in range(1, 41):
        assert spatial_output(model, n, 9) == (n, 9)
        assert n in valid["H"] and n in valid["W"]


def test_a_crop_back_that_can_be_short_refuses_where_pytorch_does() -> None:
    # 2 * floor((H - 1) / 2) is H - 1 at odd H: the crop is short there and the sum refuses
    model = _stack(3, 3, 2, 0, 2, 0)
    net = from_torch(model, (1, 3, "H", "W"))
    valid, output = net.valid_inputs(), net.output_size()
    for n in range(1, 41):
        got = spatial_output(model, n, 8)
        assert (n in valid["H"]) == (got is not None), n
        if got is not None:
            assert int(output["H"].subs(symbol("H"), n)) == got[0]
