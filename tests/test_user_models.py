"""Small PyTorch models as users write them (empty slices, tensors made from sizes, indices, depth-to-space).

Each test reads a small model and compares its output size with PyTorch's on every size 1..40 of one axis; the
ones symconv does not read yet are strict xfails naming what stops them.
"""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.errors import SymconvError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402


def _torch_size(model: nn.Module, h: int) -> int | None:
    try:
        with torch.no_grad():
            return int(model(torch.zeros(1, 3, h, 8)).shape[2])
    except RuntimeError:
        return None


def _symconv_size(net: object, h: int) -> int | None:
    try:
        return net.check_axis("H", h)  # type: ignore[attr-defined]
    except SymconvError:
        return None


def _agree(model: nn.Module) -> None:
    model.eval()
    net = from_torch(model, (1, 3, "H", "W"))
    for h in range(1, 41):
        assert _symconv_size(net, h) == _torch_size(model, h), h


class ZerosVarargs(nn.Module):
    """torch.zeros with the sizes as separate arguments, as PyTorch allows."""

    def forward(self, x: Any) -> Any:
        z = torch.zeros(x.shape[0], 1, x.shape[2] // 2, 1)
        return F.avg_pool2d(x, 2) + z


class ZerosTuple(ZerosVarargs):
    def forward(self, x: Any) -> Any:
        z = torch.zeros((x.shape[0], 1, x.shape[2] // 2, 1))
        return F.avg_pool2d(x, 2) + z


class AdaptiveMaxIndices(nn.Module):
    """F.adaptive_max_pool2d with return_indices=True (the module form is read)."""

    def forward(self, x: Any) -> Any:
        y, _ = F.adaptive_max_pool2d(x, (5, None), return_indices=True)  # type: ignore[call-overload]
        return y


class AdaptiveMaxIndicesModule(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AdaptiveMaxPool2d((5, None), return_indices=True)

    def forward(self, x: Any) -> Any:
        y, _ = self.pool(x)
        return y


class DepthToSpaceBack(nn.Module):
    """Space-to-depth and back, the reverse view reusing the input's own h and w (equal to 2*(h//2) wherever
    the first view is defined: lined up under that view's condition, h % 2 == 0)."""

    def forward(self, x: Any) -> Any:
        n, c, h, w = x.shape
        y = x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 3, 5, 1, 2, 4).reshape(n, c * 4, h // 2, w // 2)
        y = y.view(n, 2, 2, c, h // 2, w // 2).permute(0, 3, 4, 1, 5, 2).reshape(n, c, h, w)
        return y + x


class ShuffleAfterEmptySlice(nn.Module):
    """A slice that may be empty, then a pixel shuffle: PyTorch shuffles an empty tensor (README: symconv refuses
    it), so at H <= 5 PyTorch gives an empty output where symconv says the network is undefined."""

    def forward(self, x: Any) -> Any:
        return F.pixel_shuffle(torch.cat([x, x[:, :1]], 1)[:, :, 5:], 2)


class MeanOfEmptySlice(nn.Module):
    """A mean over an axis that may be empty, keeping it: PyTorch gives size 1 (NaN values) at every H."""

    def forward(self, x: Any) -> Any:
        return x[:, :, 5:].mean(2, keepdim=True)


class SumOfEmptySliceThenConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x: Any) -> Any:
        return self.conv(x[:, :, 5:].sum(2, keepdim=True))


class SpaceToDepthOfEmptySlice(nn.Module):
    """A view-based space-to-depth of a slice that may be empty: PyTorch gives an empty tensor at H = 1..6."""

    def forward(self, x: Any) -> Any:
        y = x[:, :, 6:]
        n, c, h, w = y.shape
        return y.view(n, c, h // 2, 2, w // 2, 2).permute(0, 3, 5, 1, 2, 4).reshape(n, c * 4, h // 2, w // 2)


class SplitWrittenFromTheInputSize(nn.Module):
    """A view splitting a cropped axis whose size is written from the input's, (h - 6) // 2 (it is the crop's
    size // 2 at every h)."""

    def forward(self, x: Any) -> Any:
        n, c, h, w = x.shape
        y = x[:, :, 6:]
        return y.view(n, c, (h - 6) // 2, 2, w).permute(0, 1, 3, 2, 4).reshape(n, c * 2, (h - 6) // 2, w)


class GlobalPoolByKernel(nn.Module):
    """A global pool written as a pooling whose kernel is the input's own size (older ResNets' heads)."""

    def __init__(self, op: str = "avg") -> None:
        super().__init__()
        self.op = op
        self.conv = nn.Conv2d(3, 4, 3, 2)

    def forward(self, x: Any) -> Any:
        y = self.conv(x)
        if self.op == "avg":
            return F.avg_pool2d(y, y.size()[2:])
        return F.max_pool2d(y, kernel_size=(y.shape[2], 1))


class AdaptiveToAComputedSize(nn.Module):
    def forward(self, x: Any) -> Any:
        return F.adaptive_avg_pool2d(F.avg_pool2d(x, 2), (x.shape[2] // 3, 4))


class KernelFromTheOtherAxis(nn.Module):
    def forward(self, x: Any) -> Any:
        return F.avg_pool2d(x, x.size()[3])


class ScaleFromSizes(nn.Module):
    def forward(self, x: Any) -> Any:
        y = F.avg_pool2d(x, 2)
        return F.interpolate(y, scale_factor=x.size(2) / y.size(2))


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (KernelFromTheOtherAxis(), r"kernel_size is computed from the size along W .* not modelled"),
        (
            ScaleFromSizes(),
            r"scale_factor is computed from sizes \(input\.H/avg_pool2d\.H\).*give the output size",
        ),
    ],
    ids=lambda value: type(value).__name__,
)
def test_sizes_computed_into_parameters_are_refused_by_name(model: nn.Module, message: str) -> None:
    with pytest.raises(SymconvError, match=message):
        from_torch(model, (1, 3, "H", "W"))


def _not_yet(model: nn.Module, reason: str) -> Any:
    return pytest.param(model, marks=pytest.mark.xfail(strict=True, reason=reason), id=type(model).__name__)


@pytest.mark.parametrize(
    "model",
    [
        ZerosTuple(),
        AdaptiveMaxIndicesModule(),
        AdaptiveMaxIndices(),
        MeanOfEmptySlice(),
        SumOfEmptySliceThenConv(),
        ZerosVarargs(),
        GlobalPoolByKernel("avg"),
        GlobalPoolByKernel("max"),
        AdaptiveToAComputedSize(),
        DepthToSpaceBack(),
        _not_yet(ShuffleAfterEmptySlice(), "pixel shuffle refuses an empty input, which PyTorch shuffles"),
        _not_yet(
            SpaceToDepthOfEmptySlice(),
            "a view-based space-to-depth refuses an empty input, which PyTorch views",
        ),
        _not_yet(
            SplitWrittenFromTheInputSize(),
            "a view's size (h - 6) // 2 is not matched with the crop's size // 2",
        ),
    ],
    ids=lambda model: type(model).__name__,
)
def test_sizes_agree_with_pytorch(model: nn.Module) -> None:
    _agree(model)
