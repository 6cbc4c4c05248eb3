"""Small PyTorch models as users write them, against PyTorch: receptive fields against perturbing each input
position (float64, random weights), and the valid sizes against running the model.

Padding counts as Araujo et al. count it, so a field may be wider than what an output depends on; it must
never miss a position the output depends on, nor say an output reads nothing when it reads something.
"""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.errors import SpecError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402
from symconv.nets.receptive import intervals  # noqa: E402


def _depends(model: nn.Module, shape: tuple[int, ...]) -> list[tuple[int, int] | None]:
    """For each output position along the first spatial axis, the first and last input position whose change
    changes it."""
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    base = model(x)
    found: dict[int, tuple[int, int]] = {}
    for j in range(shape[2]):
        moved = x.clone()
        moved[:, :, j] += 1.0
        changed = (model(moved) - base).abs().movedim(2, 0).reshape(base.shape[2], -1).amax(1) > 0
        for y in torch.nonzero(changed).flatten().tolist():
            lo, hi = found.get(y, (j, j))
            found[y] = (min(lo, j), max(hi, j))
    return [found.get(y) for y in range(base.shape[2])]


def _misses(model: nn.Module, shape: tuple[int | str, ...], n: int) -> list[Any]:
    """Outputs whose field (clipped to the input) does not contain what they depend on: (y, field, depends)."""
    fields = intervals(from_torch(model, shape), n)
    concrete = tuple(n if isinstance(d, str) else d for d in shape)
    wrong = []
    for y, (field, depends) in enumerate(zip(fields, _depends(model, concrete), strict=True)):
        if depends is None:
            continue
        if field is None or depends[0] < max(field[0], 0) or depends[1] > min(field[1], n - 1):
            wrong.append((y, field, depends))
    return wrong


class ResizeThenCeilPool(nn.Module):
    def forward(self, x: Any) -> Any:
        y = F.interpolate(x, scale_factor=2.5, mode="linear", align_corners=False)
        return F.avg_pool1d(y, 3, 2, padding=1, ceil_mode=True)


def test_a_ceil_mode_window_past_a_resize_still_reads_its_first_tap() -> None:
    # At L=4 the resize gives 10 positions; the pool's last window (9, 10, 11) reads position 9 and padding,
    # so output 5 depends on input 3: symconv says it reads nothing.
    assert _misses(ResizeThenCeilPool(), (1, 1, "L"), 4) == []


class DilatedPoolPastAResize(nn.Module):
    def forward(self, x: Any) -> Any:
        y = F.interpolate(x, scale_factor=2.5, mode="linear", align_corners=False)
        return F.avg_pool1d(F.max_pool1d(y, 3, 2, padding=1, dilation=2, ceil_mode=True), 2, ceil_mode=True)


class ConvsAndPoolsPastAResize(nn.Module):
    """Windows past a resize's end two layers down: the first layer's past-the-end positions read nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, 3, padding=1)

    def forward(self, x: Any) -> Any:
        y = F.interpolate(x, scale_factor=2.5, mode="linear", align_corners=False)
        y = F.avg_pool1d(self.conv(y), 3, 2, padding=1, ceil_mode=True)
        return F.avg_pool1d(self.conv(y), 3, 2, padding=1, ceil_mode=True)


@pytest.mark.parametrize("model", [ResizeThenCeilPool, DilatedPoolPastAResize, ConvsAndPoolsPastAResize])
@pytest.mark.parametrize("n", range(2, 14))
def test_windows_past_a_resize_read_its_last_positions(model: type[nn.Module], n: int) -> None:
    assert _misses(model().double(), (1, 1, "L"), n) == []


class GlobalContext(nn.Module):
    """A global pool broadcast back over the positions (squeeze-and-excitation, global context blocks)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = nn.Conv2d(3, 3, 1)

    def forward(self, x: Any) -> Any:
        return x * torch.sigmoid(self.gate(x.mean((2, 3), keepdim=True))) + F.adaptive_max_pool2d(x, 1)


def test_a_broadcast_global_pool_is_not_counted_in_the_field() -> None:
    """A gate or term computed from the whole input and broadcast back (squeeze-and-excitation, global context)
    is not counted, as a normalization's statistics are not (README): the field is the windows' alone, here the
    identity path's, though every output depends on every input through the gate."""
    net = from_torch(GlobalContext().double(), (1, 3, "H", "W"))
    assert intervals(net, 8, dim="H") == [(q, q) for q in range(8)]
    assert all(depends == (0, 7) for depends in _depends(GlobalContext().double(), (1, 3, 8, 8)))


class SpaceToDepth(nn.Module):
    """TResNet's stem (timm.layers.SpaceToDepth): a pixel unshuffle written with view and permute."""

    def forward(self, x: Any) -> Any:
        n, c, h, w = x.size()
        x = x.view(n, c, h // 4, 4, w // 4, 4).permute(0, 3, 5, 1, 2, 4).contiguous()
        return x.view(n, c * 16, h // 4, w // 4)


def test_space_to_depth_by_view_multiplies_the_channels() -> None:
    # PyTorch runs it (48 channels into the convolution); symconv refuses: "expects 48 input channels, gets 3".
    model = nn.Sequential(SpaceToDepth(), nn.Conv2d(48, 8, 3, padding=1)).eval()
    assert tuple(model(torch.zeros(1, 3, 64, 64)).shape) == (1, 8, 16, 16)
    net = from_torch(model, (1, 3, "H", "W"))
    assert [h for h in range(1, 41) if h in net.valid_inputs()["H"]] == list(range(4, 41, 4))


class Resize(nn.Module):
    def __init__(self, **how: object) -> None:
        super().__init__()
        self.how = how

    def forward(self, x: Any) -> Any:
        return F.interpolate(x, **self.how)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "how",
    [
        {"size": 9, "mode": "area"},  # adaptive average pooling: output 0 averages inputs 0..2 of 20
        {"scale_factor": 0.375, "mode": "area"},
    ],
)
def test_area_resizing_reads_adaptive_pooling_windows(how: dict[str, object]) -> None:
    assert _misses(Resize(**how), (1, 1, "L"), 20) == []


def test_antialiased_downsampling_is_refused() -> None:
    # antialias=True stretches the bilinear kernel by i/o (at 20 -> 7 input 5 weighs in outputs 1 and 2): not
    # modelled, so refused rather than given the plain kernel's fields.
    with pytest.raises(SpecError, match="antialias=True"):
        from_torch(Resize(scale_factor=0.375, mode="bilinear", antialias=True), (1, 1, "H", "W"))
