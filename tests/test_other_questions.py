"""Branches whose sides ask different questions: `if ph > 0 or pw > 0: x = F.pad(...)` asks one question where
it pads because of H and two where it does not. Every path through such a side must compute the network
wherever it is taken (what the network adds there keeps every size and position: a pad by 0, a crop to the
whole tensor, a resize to its own size), or the model is refused; never a wrong size. Each model is compared
with PyTorch on every size 1..60 of each axis, the other at several sizes."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.errors import SymconvError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402
from tests.test_two_sided_more import _disagreements, _field_disagreements, _run  # noqa: E402


def _amounts(x: Any, multiple: int) -> tuple[Any, Any, Any, Any]:
    h, w = x.shape[2:]
    return h, w, (multiple - h % multiple) % multiple, (multiple - w % multiple) % multiple


class PadEither(nn.Module):
    """Pad to a multiple of 8 where either axis needs it (the pad-to-window form of many vision models)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, stride=8, padding=1)

    def forward(self, x: Any) -> Any:
        _, _, ph, pw = _amounts(x, 8)
        if ph > 0 or pw > 0:
            x = F.pad(x, (0, pw, 0, ph))
        return self.conv(x)


class PadEitherTruth(PadEither):
    """The same with the amounts' truth asked (`if ph or pw:`)."""

    def forward(self, x: Any) -> Any:
        _, _, ph, pw = _amounts(x, 8)
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        return self.conv(x)


class PadUnlessBoth(PadEither):
    """`and`, the pad in the else: the side that stops at the first question pads."""

    def forward(self, x: Any) -> Any:
        h, w, ph, pw = _amounts(x, 8)
        if h % 8 == 0 and w % 8 == 0:
            pass
        else:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        return self.conv(x)


class PaddedWindowsCropped(nn.Module):
    """Swin's form: pad to a multiple of the window, compute, and crop back where it padded."""

    def __init__(self) -> None:
        super().__init__()
        self.mix = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: Any) -> Any:
        h, w, ph, pw = _amounts(x, 7)
        x = self.mix(F.pad(x, (0, pw, 0, ph)))
        if ph > 0 or pw > 0:
            x = x[:, :, :h, :w].contiguous()
        return x


class PadPerAxis(PadEither):
    """One branch per axis: each side asks the same questions (a two-sided branch whose extra node is a pad)."""

    def forward(self, x: Any) -> Any:
        _, _, ph, pw = _amounts(x, 8)
        if ph:
            x = F.pad(x, (0, 0, 0, ph))
        if pw != 0:
            x = F.pad(x, (0, pw, 0, 0))
        return self.conv(x)


class PadThenRefuse(PadEither):
    """A condition of validity past the padding: the paths through the side that pads refuse where the padded
    size breaks it, and so does the network."""

    def forward(self, x: Any) -> Any:
        _, _, ph, pw = _amounts(x, 8)
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        if x.shape[2] % 16:
            raise ValueError("the padded H must be a multiple of 16")
        return self.conv(x)


READ = [PadEither, PadEitherTruth, PadUnlessBoth, PaddedWindowsCropped, PadPerAxis, PadThenRefuse]


@pytest.mark.parametrize("model", READ, ids=lambda model: model.__name__)
def test_sides_asking_other_questions_agree_with_pytorch(model: type[nn.Module]) -> None:
    assert _disagreements(model(), (1, 1, "H", "W"), held=(5, 8, 14, 16, 17)) == []
    shapes = [(h, w) for h in (7, 8, 13, 16) for w in (8, 9)]
    valid = [shape for shape in shapes if _run(model().eval(), (1, 1, *shape)) is not None]
    assert len(valid) >= 4
    assert _field_disagreements(model(), (1, 1, "H", "W"), valid) == []


@pytest.mark.parametrize("model", READ, ids=lambda model: model.__name__)
@pytest.mark.parametrize("width", [14, 16, 21])
def test_a_fixed_axis_where_its_question_is_decided(model: type[nn.Module], width: int) -> None:
    """With W fixed, W's question has one answer; where the sample H takes the side that does not pad, the
    path that pads is read instead, and compared with the other."""
    assert _disagreements(model(), (1, 1, "H", width), held=(width,)) == []


class PadTooMuch(nn.Module):
    def forward(self, x: Any) -> Any:
        _, _, ph, pw = _amounts(x, 8)
        if ph > 0 or pw > 0:
            x = F.pad(x, (0, pw + 1, 0, ph))  # pads W where W needs nothing
        return x


class PadAlways(nn.Module):
    """Pads 4 along an axis that is already a multiple of 4 when the other axis is not: two networks."""

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        if h % 4 != 0 or w % 4 != 0:
            x = F.pad(x, (0, 4 - w % 4, 0, 4 - h % 4))
        return x


class CropFromOne(nn.Module):
    def forward(self, x: Any) -> Any:
        if x.shape[2] % 2 or x.shape[3] % 2:
            x = x[:, :, 1:, 1:]
        return x


class CropShort(nn.Module):
    def forward(self, x: Any) -> Any:
        h, w, ph, pw = _amounts(x, 7)
        x = F.pad(x, (0, pw, 0, ph))
        if ph > 0 or pw > 0:
            x = x[:, :, :h, : w - 1]
        return x


class ResizedFixed(nn.Module):
    def forward(self, x: Any) -> Any:
        if x.shape[2] > 30 or x.shape[3] > 30:
            x = F.interpolate(x, size=(32, 32))
        return x


class OtherLayers(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.small = nn.Conv2d(1, 1, 3)
        self.large = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: Any) -> Any:
        if x.shape[2] > 10 or x.shape[3] > 10:
            return self.small(x)
        return self.large(x)


class RefusedOnOneSide(nn.Module):
    """Odd H is refused only past 20: no one network (the valid set is H <= 20 or H even)."""

    def forward(self, x: Any) -> Any:
        if x.shape[2] > 20:
            if x.shape[2] % 2:
                raise ValueError("H past 20 must be even")
        return x


class RefusedWherePadded(nn.Module):
    """Refuses a wide input only where it pads: valid where both axes are multiples of 8, or W is at most 64 once
    padded (no one network: the set is no product of one set per axis)."""

    def forward(self, x: Any) -> Any:
        _, _, ph, pw = _amounts(x, 8)
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
            if x.shape[3] > 64:
                raise ValueError("padded inputs up to 64 wide")
        return x


REFUSED = [
    PadTooMuch,
    PadAlways,
    CropFromOne,
    CropShort,
    ResizedFixed,
    OtherLayers,
    RefusedOnOneSide,
    RefusedWherePadded,
]


@pytest.mark.parametrize("model", REFUSED, ids=lambda model: model.__name__)
def test_paths_that_compute_other_networks_are_refused(model: type[nn.Module]) -> None:
    """PyTorch runs both sides, and they differ in size or position somewhere: refused, naming the branch."""
    assert _run(model().eval(), (1, 1, 9, 16)) is not None
    assert _run(model().eval(), (1, 1, 32, 32)) is not None
    with pytest.raises(SymconvError, match="branches on sizes"):
        from_torch(model().eval(), (1, 1, "H", "W"))


class Up(nn.Module):
    """A U-Net decoder stage that pads the upsampled tensor to the skip's size where either axis differs."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(2, 2, 2, 2)
        self.conv = nn.Conv2d(4, 2, 3, padding=1)

    def forward(self, x: Any, skip: Any) -> Any:
        x = self.up(x)
        dy, dx = skip.size(2) - x.size(2), skip.size(3) - x.size(3)
        if dy or dx:
            x = F.pad(x, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([skip, x], 1))


class PaddedUNet(nn.Module):
    def __init__(self, depth: int) -> None:
        super().__init__()
        self.inc = nn.Conv2d(1, 2, 3, padding=1)
        self.downs = nn.ModuleList([nn.Conv2d(2, 2, 3, padding=1) for _ in range(depth)])
        self.ups = nn.ModuleList([Up() for _ in range(depth)])

    def forward(self, x: Any) -> Any:
        x = self.inc(x)
        skips = []
        for down in self.downs:
            skips.append(x)
            x = down(F.max_pool2d(x, 2))
        for up, skip in zip(self.ups, reversed(skips), strict=True):
            x = up(x, skip)
        return x


def test_one_stage_padded_where_either_axis_differs() -> None:
    assert _disagreements(PaddedUNet(1), (1, 1, "H", "W"), held=(4, 7, 16)) == []


def test_stages_padded_where_either_axis_differs() -> None:
    """One network at every size: each stage's `if dy or dx:` only rebinds the tensor, so each is explored on
    its own, every other stage's questions answered as traced."""
    assert _disagreements(PaddedUNet(3), (1, 1, "H", "W"), held=(8, 13, 16)) == []


class RestLeft(nn.Module):
    """A signal padded on the left by the rest to a multiple of 5 where there is one: the pad of every size."""

    def forward(self, x: Any) -> Any:
        rest = x.shape[-1] % 5
        if rest:
            x = F.pad(x, (5 - rest, 0), mode="replicate")
        return x


class RestOfAnother(nn.Module):
    """Pads to 16 minus the rest of a division by 8: 16 where the rest is 0 would not be what the other side
    does, and 16 - rest is no multiple of anything it asked: refused."""

    def forward(self, x: Any) -> Any:
        rest = x.shape[-1] % 8
        if rest != 0:
            x = F.pad(x, (0, 16 - rest))
        return x


class RestPlusOne(nn.Module):
    def forward(self, x: Any) -> Any:
        rest = x.shape[-1] % 4
        if rest > 0:
            x = F.pad(x, (1, 4 - rest))
        return x


def test_a_pad_by_the_rest_is_the_pad_of_every_size() -> None:
    assert _disagreements(RestLeft(), (1, 1, "L"), held=(1,)) == []
    net = from_torch(RestLeft().eval(), (1, 1, "L"))
    assert [net.check({"L": n})["L"] for n in (4, 5, 6, 11)] == [5, 5, 10, 15]


@pytest.mark.parametrize("model", [RestOfAnother, RestPlusOne], ids=lambda model: model.__name__)
def test_a_pad_that_is_not_the_rest_is_refused(model: type[nn.Module]) -> None:
    assert _run(model().eval(), (1, 1, 8)) is not None and _run(model().eval(), (1, 1, 9)) is not None
    with pytest.raises(SymconvError, match="branches on sizes"):
        from_torch(model().eval(), (1, 1, "L"))
