"""Models whose last operations move spatial positions between dimensions (view/permute/reshape, transpose),
against PyTorch: symconv must give the output's sizes or refuse, never the sizes of the tensor before the move,
and a refusal must not state a channel mismatch PyTorch does not have."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.errors import SpecError, SymconvError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402
from symconv.nets.receptive import intervals  # noqa: E402


class Apply(nn.Module):
    def __init__(self, f: Callable[[Any], Any]) -> None:
        super().__init__()
        self.f = f

    def forward(self, x: Any) -> Any:
        return self.f(x)


def half_h_into_channels(x: Any) -> Any:
    b, c, h, w = x.shape
    return x.view(b, c, h // 2, 2, w).permute(0, 1, 3, 2, 4).reshape(b, c * 2, h // 2, w)


def space_to_depth(x: Any) -> Any:
    b, c, h, w = x.shape
    return x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, c * 4, h // 2, w // 2)


def h_into_channels(x: Any) -> Any:
    b, c, h, w = x.shape
    return x.reshape(b, c * h, 1, w)


def swap_axes(x: Any) -> Any:
    return x.transpose(2, 3)


@pytest.mark.parametrize("move", [half_h_into_channels, space_to_depth, h_into_channels, swap_axes])
def test_output_sizes_after_moving_positions(move: Callable[[Any], Any]) -> None:
    model = Apply(move)
    try:
        net = from_torch(model, (1, 3, "H", "W"))
        said = net.check({"H": 8, "W": 6})
    except SymconvError:
        return  # a refusal is an honest answer
    real = tuple(model(torch.zeros(1, 3, 8, 6)).shape[2:])
    assert (said["H"], said["W"]) == real


class SpaceToDepthConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(12, 4, 1)

    def forward(self, x: Any) -> Any:
        return self.conv(space_to_depth(x))


def test_no_false_channel_mismatch_after_space_to_depth() -> None:
    assert SpaceToDepthConv()(torch.zeros(1, 3, 8, 6)).shape == (1, 4, 4, 3)
    try:
        net = from_torch(SpaceToDepthConv(), (1, 3, "H", "W"))
    except SymconvError as error:
        assert "input channels" not in str(error), str(error)
        return
    assert net.check({"H": 8, "W": 6}) == {"H": 4, "W": 3}


class ReflectPad(nn.Module):
    def forward(self, x: Any) -> Any:
        return F.pad(x, (1, 2, 3, 0), mode="reflect")  # W needs W >= 3, H needs H >= 4


def test_fields_along_one_axis_at_a_size_only_that_axis_allows() -> None:
    net = from_torch(ReflectPad(), (1, 1, "H", "W"))
    assert 3 in net.valid_inputs()["W"]
    assert 3 not in net.valid_inputs()["H"]
    try:
        spans = intervals(net, 3, dim="W")
    except SpecError as error:
        pytest.fail(f"W = 3 is valid, yet: {error}")
    assert spans == [(1, 1), (0, 0), (1, 1), (2, 2), (1, 1), (0, 0)]


class GatedChannelsLast(nn.Module):
    """MambaOut's gated block, reduced: split the channels of a channels-last tensor, convolve one part,
    concatenate the channels again (`equal`: halves of equal size, which a concatenation along W would also
    accept, with W doubled)."""

    def __init__(self, equal: bool = False) -> None:
        super().__init__()
        self.pieces = (2, 2) if equal else (1, 2)
        self.conv = nn.Conv2d(2, 2, 3, padding=1)

    def forward(self, x: Any) -> Any:
        y = x.permute(0, 2, 3, 1)
        kept, convolved = torch.split(y, self.pieces, dim=-1)
        convolved = self.conv(convolved.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return torch.cat((kept, convolved), dim=-1).permute(0, 3, 1, 2)


@pytest.mark.parametrize("equal", [False, True])
def test_concatenating_the_channels_of_channels_last_tensors(equal: bool) -> None:
    model = GatedChannelsLast(equal)
    channels = sum(model.pieces)
    net = from_torch(model, (1, channels, "H", "W"))
    for h, w in ((8, 6), (1, 1), (5, 9)):
        real = model(torch.zeros(1, channels, h, w)).shape
        assert real[1] == channels
        assert net.check({"H": h, "W": w}) == {"H": h, "W": w}
