"""Operators of real models, each against PyTorch: space-to-depth and depth-to-space written with view and
permute (TResNet's stem), flip, LP pooling, max pooling that returns indices, ConvTranspose2d called with
output_size; valid sizes and output sizes against running the model at every size 1..40 of each axis (the
other held valid) and a few large ones; receptive fields against perturbing each input position (float64,
random weights)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.arith import evaluate  # noqa: E402
from symconv.core.errors import SpecError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402
from symconv.nets.receptive import intervals  # noqa: E402

SIZES = [*range(1, 41), 63, 64, 96, 97, 255, 256]


def _run(model: nn.Module, shape: Sequence[int]) -> tuple[int, ...] | None:
    """The spatial output shape PyTorch gives, or None where it refuses the size."""
    try:
        with torch.no_grad():
            out = model(torch.zeros(tuple(shape)))
    except (RuntimeError, ValueError, IndexError):
        return None
    out = out[0] if isinstance(out, tuple) else out
    return None if 0 in out.shape[2:] else tuple(out.shape[2:])


def _disagreements(model: nn.Module, channels: int, held: Sequence[int]) -> list[str]:
    """Sizes where symconv's valid set or output size differs from running the model: each axis over SIZES,
    the others at `held`."""
    dims = ("H", "W", "D")[: len(held)] if len(held) > 1 else ("L",)
    net = from_torch(model, (1, channels, *dims))
    valid, output = net.valid_inputs(), net.output_size()
    wrong = []
    for axis, dim in enumerate(dims):
        for size in SIZES:
            sizes = dict(zip(dims, held, strict=True)) | {dim: size}
            got = _run(model, (1, channels, *sizes.values()))
            says = all(sizes[d] in valid[d] for d in dims)
            if says != (got is not None):
                wrong.append(f"{dim}={size}: PyTorch {'runs' if got else 'refuses'}, symconv the other")
            elif got is not None:
                predicted = tuple(int(evaluate(output[d], sizes)) for d in dims)
                if predicted != got:
                    wrong.append(f"{dim}={size}: PyTorch {got}, symconv {predicted}")
        assert axis < len(dims)
    return wrong


def _depends(model: nn.Module, shape: tuple[int, ...], axis: int) -> list[tuple[int, int] | None]:
    """For each output position along spatial axis `axis`, the first and last input position whose change
    changes it (None: none does)."""
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        base = model(x)
        found: dict[int, tuple[int, int]] = {}
        for j in range(shape[2 + axis]):
            moved = x.clone()
            moved.select(2 + axis, j).add_(1.0)
            delta = (model(moved) - base).abs().movedim(2 + axis, 0)
            changed = delta.reshape(delta.shape[0], -1).amax(1) > 0
            for y in torch.nonzero(changed).flatten().tolist():
                lo, hi = found.get(y, (j, j))
                found[y] = (min(lo, j), max(hi, j))
        return [found.get(y) for y in range(base.shape[2 + axis])]


def _fields(model: nn.Module, shape: tuple[int, ...], axis: int) -> tuple[list[Any], list[Any]]:
    """symconv's fields (clipped to the input) and the positions each output depends on, along `axis`."""
    dims = ("H", "W", "D")[: len(shape) - 2] if len(shape) > 3 else ("L",)
    n = shape[2 + axis]
    net = from_torch(model.double(), (1, shape[1], *dims))
    fields = intervals(net, n, dim=dims[axis]) if len(dims) == 1 else _at(net, shape, dims, axis)
    clipped = [None if f is None else (max(f[0], 0), min(f[1], n - 1)) for f in fields]
    return clipped, _depends(model.double(), shape, axis)


def _at(net: Any, shape: tuple[int, ...], dims: Sequence[str], axis: int) -> list[Any]:
    """Fields along one axis of a network with several (every symbolic axis is read at one size, so the
    shape's sizes must be equal)."""
    assert len(set(shape[2:])) == 1
    return intervals(net, shape[2 + axis], dim=dims[axis])


# 1. Space-to-depth and depth-to-space written with view and permute.


class SpaceToDepth(nn.Module):
    """timm.layers.SpaceToDepth with a factor per axis; `order` puts the blocks before (TResNet) or after (as
    pixel_unshuffle does) the channels."""

    def __init__(self, bh: int, bw: int, blocks_first: bool = True) -> None:
        super().__init__()
        self.bh, self.bw, self.blocks_first = bh, bw, blocks_first

    def forward(self, x: Any) -> Any:
        n, c, h, w = x.size()
        x = x.view(n, c, h // self.bh, self.bh, w // self.bw, self.bw)
        order = (0, 3, 5, 1, 2, 4) if self.blocks_first else (0, 1, 3, 5, 2, 4)
        x = x.permute(*order).contiguous()
        return x.view(n, c * self.bh * self.bw, h // self.bh, w // self.bw)


class DepthToSpace(nn.Module):
    """The reverse: channels (b, b, C // b^2) moved next to each axis (DCR order), or (C // b^2, b, b) (CRD,
    pixel_shuffle's order)."""

    def __init__(self, b: int, dcr: bool = True) -> None:
        super().__init__()
        self.b, self.dcr = b, dcr

    def forward(self, x: Any) -> Any:
        n, c, h, w = x.size()
        b = self.b
        if self.dcr:
            x = x.view(n, b, b, c // (b * b), h, w).permute(0, 3, 4, 1, 5, 2)
        else:
            x = x.view(n, c // (b * b), b, b, h, w).permute(0, 1, 4, 2, 5, 3)
        return x.contiguous().view(n, c // (b * b), h * b, w * b)


class SpaceToDepth1d(nn.Module):
    def forward(self, x: Any) -> Any:
        n, c, length = x.shape
        return x.reshape(n, c, length // 3, 3).permute(0, 3, 1, 2).flatten(1, 2)


class RoundTrip(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.down, self.conv, self.up = SpaceToDepth(2, 2), nn.Conv2d(12, 12, 3, padding=1), DepthToSpace(2)

    def forward(self, x: Any) -> Any:
        return self.up(self.conv(self.down(x)))


REARRANGED = [
    (nn.Sequential(SpaceToDepth(4, 4), nn.Conv2d(48, 8, 3, padding=1)), 3, (16, 16)),
    (nn.Sequential(SpaceToDepth(2, 2, blocks_first=False), nn.Conv2d(12, 4, 1)), 3, (8, 8)),
    (nn.Sequential(SpaceToDepth(2, 3), nn.Conv2d(12, 4, 1)), 2, (6, 6)),
    (nn.Sequential(SpaceToDepth(1, 2), nn.Conv2d(6, 4, 1)), 3, (6, 6)),
    (nn.Sequential(DepthToSpace(2), nn.Conv2d(3, 4, 3)), 12, (5, 5)),
    (nn.Sequential(DepthToSpace(3, dcr=False), nn.Conv2d(2, 4, 3)), 18, (5, 5)),
    (nn.Sequential(SpaceToDepth1d(), nn.Conv1d(6, 4, 3)), 2, (9,)),
    (RoundTrip(), 3, (8, 8)),
]


@pytest.mark.parametrize(("model", "channels", "held"), REARRANGED)
def test_rearranged_sizes_agree_with_pytorch(model: nn.Module, channels: int, held: tuple[int, ...]) -> None:
    assert _disagreements(model.eval(), channels, held) == []


def test_space_to_depth_multiplies_the_channels_and_divides_the_sizes() -> None:
    net = from_torch(SpaceToDepth(2, 3).eval(), (1, 2, "H", "W"))
    valid = net.valid_inputs()
    assert [h for h in range(1, 13) if h in valid["H"]] == [2, 4, 6, 8, 10, 12]
    assert [w for w in range(1, 13) if w in valid["W"]] == [3, 6, 9, 12]
    assert dict(net.channels)["output"] == 12
    assert str(net.output_size()["W"]) == "floor(W/3)"


def test_depth_to_space_needs_the_channels_divisible() -> None:
    with pytest.raises(SpecError, match="channels"):
        from_torch(DepthToSpace(2).eval(), (1, 6, "H", "W"))


@pytest.mark.parametrize(
    ("model", "shape", "axis"),
    [
        (nn.Sequential(SpaceToDepth(4, 4), nn.Conv2d(48, 2, 1)), (1, 3, 16, 16), 0),
        (nn.Sequential(SpaceToDepth(2, 3), nn.Conv2d(12, 2, 3, padding=1)), (1, 2, 12, 12), 1),
        (nn.Sequential(SpaceToDepth(1, 2), nn.Conv2d(6, 2, 1)), (1, 3, 6, 6), 0),
        (nn.Sequential(DepthToSpace(2), nn.Conv2d(3, 2, 3)), (1, 12, 6, 6), 1),
        (nn.Sequential(SpaceToDepth1d(), nn.Conv1d(6, 2, 3)), (1, 2, 18), 0),
        (RoundTrip(), (1, 3, 8, 8), 0),
    ],
)
def test_rearranged_fields_are_the_blocks(model: nn.Module, shape: tuple[int, ...], axis: int) -> None:
    """Each output position reads its block (space-to-depth) or its block's position (depth-to-space): the
    field is exactly what the output depends on (no padding is involved)."""
    fields, depends = _fields(model.eval(), shape, axis)
    assert fields == depends
