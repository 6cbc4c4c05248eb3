"""Operators of real models, each against PyTorch: space-to-depth and depth-to-space written with view and
permute (TResNet's stem), flip, LP pooling, max pooling that returns indices, ConvTranspose2d called with
output_size; valid sizes and output sizes against running the model at every size 1..40 of each axis (the
other held valid) and a few large ones; receptive fields against perturbing each input position (float64,
random weights)."""

from __future__ import annotations

import re
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
    return tuple(out.shape[2:])  # an empty axis is a run: PyTorch returns the empty tensor


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


# 2. Operators: flip, LP pooling, max pooling with indices, ConvTranspose2d(x, output_size=...).


class Flip(nn.Module):
    def __init__(self, *dims: int) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: Any) -> Any:
        return torch.flip(x, self.dims) + x.flip(1)


class LpPool(nn.Module):
    def __init__(self, **how: Any) -> None:
        super().__init__()
        self.how = how

    def forward(self, x: Any) -> Any:
        return F.lp_pool2d(x, **self.how)


class PoolIndices(nn.Module):
    def forward(self, x: Any) -> Any:
        values, indices = F.max_pool2d(x, 3, 2, padding=1, ceil_mode=True, return_indices=True)
        return values + indices.to(values.dtype)


class UpTo(nn.Module):
    """ConvTranspose2d back to the input's size (a U-Net decoder), or to sizes computed from it."""

    def __init__(self, k: int, s: int, p: int, d: int = 1, computed: bool = False) -> None:
        super().__init__()
        self.down = nn.Conv2d(2, 2, k, s, p, dilation=d)
        self.up = nn.ConvTranspose2d(2, 2, k, s, p, dilation=d)
        self.computed = computed

    def forward(self, x: Any) -> Any:
        if self.computed:
            return self.up(x, output_size=[x.shape[2] * 2 + 1, x.size(3) - 1])
        return self.up(self.down(x), output_size=x.size())


OPERATORS = [
    (Flip(2), 3, (7, 7)),
    (nn.Sequential(Flip(-1, 2), nn.Conv2d(3, 2, 3, stride=2)), 3, (9, 9)),
    (LpPool(norm_type=2, kernel_size=3), 2, (9, 9)),
    (LpPool(norm_type=1, kernel_size=(2, 3), stride=(1, 2), ceil_mode=True), 2, (9, 9)),
    (nn.LPPool2d(3, 4, stride=3, ceil_mode=True), 2, (9, 9)),
    (nn.LPPool1d(2, 3, stride=2), 2, (9,)),
    (PoolIndices(), 2, (9, 9)),
    (nn.MaxPool2d(2, return_indices=True), 2, (8, 8)),
    (nn.AdaptiveMaxPool2d(3, return_indices=True), 2, (8, 8)),
    (UpTo(3, 2, 1), 2, (9, 9)),
    (UpTo(4, 3, 1, 2), 2, (9, 9)),
    (UpTo(3, 3, 1, computed=True), 2, (9, 9)),
]


@pytest.mark.parametrize(("model", "channels", "held"), OPERATORS)
def test_operator_sizes_agree_with_pytorch(model: nn.Module, channels: int, held: tuple[int, ...]) -> None:
    assert _disagreements(model.eval(), channels, held) == []


@pytest.mark.parametrize(
    ("model", "shape", "axis"),
    [
        (Flip(2), (1, 3, 7, 7), 0),
        (Flip(3), (1, 3, 7, 7), 0),
        (nn.Sequential(Flip(2), nn.Conv2d(3, 2, 3, stride=2)), (1, 3, 9, 9), 0),
        (nn.Sequential(nn.Conv2d(3, 2, 3, stride=2), Flip(2)), (1, 3, 9, 9), 0),
        (LpPool(norm_type=2, kernel_size=3, stride=2), (1, 2, 11, 11), 1),
        (LpPool(norm_type=2, kernel_size=3, ceil_mode=True), (1, 2, 11, 11), 0),
        (UpTo(3, 2, 1), (1, 2, 10, 10), 0),
        (UpTo(4, 3, 1, 2), (1, 2, 12, 12), 1),
    ],
)
def test_operator_fields_contain_what_outputs_depend_on(
    model: nn.Module, shape: tuple[int, ...], axis: int
) -> None:
    """No padding is read by a flip or an LP pool, so the field is exactly what the output depends on; a
    transposed convolution's field may be wider (its padding counts), never missing a position."""
    fields, depends = _fields(model.eval(), shape, axis)
    if isinstance(model, UpTo):
        pairs = zip(fields, depends, strict=True)
        assert all(d is None or (f is not None and f[0] <= d[0] and d[1] <= f[1]) for f, d in pairs)
    else:
        assert fields == depends


def test_a_flipped_field_is_mirrored() -> None:
    net = from_torch(Flip(2).eval(), (1, 3, "H", "W"))
    # x.flip(2) + x.flip(1): output q reads input 4 - q along H (and q itself through the channel flip)
    assert intervals(net, 5, dim="H") == [(min(q, 4 - q), max(q, 4 - q)) for q in range(5)]
    assert intervals(net, 5, dim="W") == [(q, q) for q in range(5)]


def test_flip_refuses_a_dimension_named_twice() -> None:
    with pytest.raises(SpecError, match="twice"):
        from_torch(Flip(2, -2).eval(), (1, 3, "H", "W"))


def test_an_output_size_outside_the_range_is_refused_where_pytorch_refuses() -> None:
    net = from_torch(UpTo(3, 3, 1, computed=True).eval(), (1, 2, "H", "W"))
    # the least size is 3W - 2, the largest 3W: W - 1 is below the least at every W, so every W is refused
    assert [w for w in range(1, 41) if w in net.valid_inputs()["W"]] == [
        w for w in range(1, 41) if _run(UpTo(3, 3, 1, computed=True).eval(), (1, 2, 5, w)) is not None
    ]


# 3. Sizes computed from shapes: split by them, a gate viewed per path, and messages that name them.


class SplitBySizes(nn.Module):
    """torch.split along H and W by sizes computed from them, each piece through a convolution (which refuses
    an empty piece, as symconv's network refuses an empty inner node), put back together."""

    def __init__(self, cut: int) -> None:
        super().__init__()
        self.cut = cut
        self.conv = nn.Conv2d(2, 2, 1)

    def forward(self, x: Any) -> Any:
        h = x.shape[2]
        top, bottom = torch.split(x, [h - self.cut, self.cut], dim=2)
        left, right = x.split([x.size(3) // 2, x.size(3) - x.size(3) // 2], dim=3)
        rows = torch.cat([self.conv(bottom), self.conv(top)], dim=2)
        return rows + torch.cat([self.conv(right), self.conv(left)], dim=3)


class SelectiveGate(nn.Module):
    """timm's selective kernel: two paths stacked, weighted by a gate viewed as (B, paths, C, 1, 1), summed."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 5, padding=2)
        self.select = nn.Conv2d(4, 8, 1)

    def forward(self, x: Any) -> Any:
        paths = torch.stack([self.a(x), self.b(x)], dim=1)
        gate = self.select(paths.sum(1).mean((2, 3), keepdim=True))
        b, c, h, w = gate.shape
        gate = torch.softmax(gate.view(b, 2, c // 2, h, w), dim=1)
        return (paths * gate).sum(1)


@pytest.mark.parametrize(
    ("model", "channels", "held"),
    [(SplitBySizes(3), 2, (9, 9)), (SplitBySizes(1), 2, (9, 8)), (SelectiveGate(), 4, (9, 9))],
)
def test_sizes_from_shapes_agree_with_pytorch(model: nn.Module, channels: int, held: tuple[int, ...]) -> None:
    assert _disagreements(model.eval(), channels, held) == []


def test_split_sizes_from_shapes_are_checked_not_negative() -> None:
    # h - 3 is negative below 3 (PyTorch refuses), 0 at 3 (an empty piece the convolution refuses)
    valid = from_torch(SplitBySizes(3).eval(), (1, 2, "H", "W")).valid_inputs()["H"]
    assert [h for h in range(1, 8) if h in valid] == [4, 5, 6, 7]


def test_a_gate_viewed_per_path_is_not_counted_in_the_field() -> None:
    """The gate comes from a global pool, broadcast back (not counted, as the README says of such gates): the
    field is the wider path's window, 5 positions."""
    net = from_torch(SelectiveGate().double().eval(), (1, 4, "H", "W"))
    assert intervals(net, 9, dim="H") == [(q - 2, q + 2) for q in range(9)]


class ViewBySizes(nn.Module):
    def forward(self, x: Any) -> Any:
        n, c, h, w = x.shape
        return x.reshape(n, c, (h + 1) // 2, 2, w)


class ChannelSplitBySize(nn.Module):
    def forward(self, x: Any) -> Any:
        return x.split([1, x.size(3)], dim=1)[0]


class PositionFromSizes(nn.Module):
    def forward(self, x: Any) -> Any:
        return x + torch.arange(x.shape[-1]).cumsum(0)


@pytest.mark.parametrize(
    ("model", "words"),
    [
        (ViewBySizes(), r"to \(batch, 3, floor\(H/2 \+ 1/2\), 2, W\)"),
        (ChannelSplitBySize(), r"split sizes \[1, W\] of the channels depend on the spatial sizes"),
        (
            PositionFromSizes(),
            r"Tensor\.cumsum at cumsum reads a tensor made from sizes computed from the input's shape \(W,\)",
        ),
    ],
)
def test_messages_name_sizes_as_formulas_and_the_line(model: nn.Module, words: str) -> None:
    with pytest.raises(SpecError) as refused:
        from_torch(model.eval(), (1, 3, "H", "W"))
    message = str(refused.value)
    assert "SizeValue" not in message and "@" not in message
    assert message.startswith("tests/test_torch_ops3.py:")
    assert re.search(words, message), message


# Tensors made from sizes alone, broadcast against the model's tensors.


class AddRamp(nn.Module):
    """A conv's output plus a ramp of `length(W)` positions along W (and a ramp along H from linspace)."""

    def __init__(self, shrink: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, stride=2)
        self.shrink = shrink

    def forward(self, x: Any) -> Any:
        y = self.conv(x)
        b, _, h, w = y.shape
        ramp = torch.linspace(-1, 1, h).view(1, 1, h, 1)
        return y * ramp + torch.arange(x.shape[-1] // 2 - self.shrink) + torch.zeros((b, 1, h, w))


class LikeInput(nn.Module):
    def forward(self, x: Any) -> Any:
        return x + torch.ones_like(x) * torch.arange(1, 2 * x.size(3) + 1, 2).float()


@pytest.mark.parametrize(
    ("model", "channels", "held"),
    [(AddRamp(1), 2, (9, 10)), (AddRamp(2), 2, (9, 10)), (LikeInput(), 2, (5, 5))],
)
def test_tensors_made_from_sizes_broadcast_as_pytorch(
    model: nn.Module, channels: int, held: tuple[int, ...]
) -> None:
    # A tensor made from sizes that is empty (an arange of length 0) is refused where PyTorch broadcasts it to
    # an empty output: those sizes are the documented gap, every other size agrees.
    wrong = _disagreements(model.eval(), channels, held)
    assert all(_empty_at(model, channels, held, line) for line in wrong), wrong


def _empty_at(model: nn.Module, channels: int, held: tuple[int, ...], line: str) -> bool:
    """Whether the disagreement `line` ("W=3: PyTorch runs, ...") is at a size where PyTorch's output is empty."""
    dim, _, rest = line.partition("=")
    size = int(rest.split(":")[0])
    dims = ("H", "W", "D")[: len(held)]
    sizes = dict(zip(dims, held, strict=True)) | {dim: size}
    got = _run(model, (1, channels, *sizes.values()))
    return "symconv the other" in line and got is not None and 0 in got


def test_a_tensor_made_from_sizes_reaches_no_input_position() -> None:
    fields, depends = _fields(AddRamp(1).eval(), (1, 2, 12, 12), 1)
    assert fields == depends


class FourierPositions(nn.Module):
    """EdgeNeXt's positional encoding: a mask of the sizes, summed cumulatively (not modelled)."""

    def forward(self, x: Any) -> Any:
        b, _, h, w = x.shape
        mask = ~torch.zeros((b, h, w)).to(dtype=torch.bool)
        return x + mask.cumsum(1, dtype=torch.float32)[:, None]


def test_a_tensor_made_from_sizes_is_refused_where_it_is_not_followed() -> None:
    with pytest.raises(SpecError, match=r"made from sizes computed from the input's shape \(batch, H, W\)"):
        from_torch(FourierPositions().eval(), (1, 3, "H", "W"))


@pytest.mark.parametrize("blocks_first", [True, False])
def test_a_shuffle_after_a_view_unshuffle_misses_no_position(blocks_first: bool) -> None:
    """TResNet's order (blocks before the channels) then PyTorch's pixel_shuffle is not the identity: each
    output depends on positions of its block; in pixel_unshuffle's order it is the identity, field for field."""
    model = nn.Sequential(SpaceToDepth(2, 2, blocks_first=blocks_first), nn.PixelShuffle(2)).eval()
    fields, depends = _fields(model, (1, 3, 8, 8), 0)
    if blocks_first:
        assert all(
            f is not None and d is not None and f[0] <= d[0] and d[1] <= f[1]
            for f, d in zip(fields, depends, strict=True)
        )
    else:
        assert fields == depends == [(q, q) for q in range(8)]


@pytest.mark.parametrize("size", [(3, 5), (None, 3), (2, None), 4])
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_pooling_to_sizes_per_axis(size: Any, kind: str) -> None:
    pool = nn.AdaptiveAvgPool2d(size) if kind == "avg" else nn.AdaptiveMaxPool2d(size)
    model = nn.Sequential(nn.Conv2d(1, 1, 3), pool, nn.Conv2d(1, 1, 2))
    assert _disagreements(model, 1, (9, 12)) == []


# Tensors made from sizes by a tensor's own factories (x.new_zeros), expanded, and concatenated with the model's
# tensors along the channels (CoordConv's coordinate maps, zero channels).


class CoordinateChannels(nn.Module):
    """CoordConv: a ramp along W and one along H, expanded to the input's shape, as two more channels."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 2, 3, stride=2, padding=1)

    def forward(self, x: Any) -> Any:
        b, _, h, w = x.shape
        xx = torch.arange(w, dtype=x.dtype).view(1, 1, 1, w).expand(b, 1, h, w)
        yy = torch.linspace(-1, 1, h).view(1, 1, h, 1).expand(b, -1, -1, w)
        return self.conv(torch.cat([x, xx, yy], dim=1))


class ZeroChannels(nn.Module):
    """A shortcut widened with zero channels of the downsampled tensor's size (x.new_zeros)."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(2)

    def forward(self, x: Any) -> Any:
        y = self.pool(x)
        zeros = y.new_zeros(y.shape[0], 3, y.shape[2], y.shape[3])
        return torch.cat((zeros, y), 1) + x.new_ones(1, 1, 1, 1) * 0.5


class NewFull(nn.Module):
    def forward(self, x: Any) -> Any:
        return x * x.new_full((1, 1, x.size(2), 1), 2.0) + x.new_zeros(x.shape)


@pytest.mark.parametrize("model", [CoordinateChannels(), ZeroChannels(), NewFull()], ids=type)
def test_tensors_made_from_sizes_join_the_channels_as_pytorch(model: nn.Module) -> None:
    assert _disagreements(model.eval(), 2, (9, 10)) == []
    fields, depends = _fields(model.eval(), (1, 2, 12, 12), 1)
    assert fields == depends


def test_channels_added_by_tensors_made_from_sizes_are_counted() -> None:
    net = from_torch(ZeroChannels().eval(), (1, 2, "H", "W"))
    assert dict(net.channels)[net.output] == 5


class ConcatenatedShort(nn.Module):
    """Zero channels one row short of the tensor: torch.cat refuses every size (the other axes must agree)."""

    def forward(self, x: Any) -> Any:
        return torch.cat([x, x.new_zeros(x.shape[0], 1, x.shape[2] - 1, x.shape[3])], 1)


def test_a_tensor_made_from_sizes_that_differs_in_size_is_no_network() -> None:
    assert _disagreements(ConcatenatedShort().eval(), 2, (9, 10)) == []
    net = from_torch(ConcatenatedShort().eval(), (1, 2, "H", "W"))
    assert all(h not in net.valid_inputs()["H"] for h in range(1, 40))
