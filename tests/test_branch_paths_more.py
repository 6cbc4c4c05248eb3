"""More branches whose sides ask other questions, against PyTorch (every size 1..60 of each axis, the other held
where each side is taken; fields by autograd at sizes PyTorch runs): pads to a multiple written other ways,
pads on the left or centred, reflect and replicate, crops back by other conditions, UNet's pad of the
upsampled tensor to its skip, a pad that brings an axis up to a minimum, a raise in the side that pads,
early returns, 1-D and 3-D, fixed axes; tensors made from sizes (coordinates, empty channels). Sides whose
paths compute other networks must be refused, naming the branch.

A model's assert must stay as Python compiles it (a refusal is read from the bytecode between a decision and its
raise), so pytest does not rewrite this module's asserts: PYTEST_DONT_REWRITE."""

from __future__ import annotations

import math
from typing import Any

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.errors import SymconvError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402
from tests.test_two_sided_more import _disagreements, _field_disagreements, _run  # noqa: E402

HELD = (5, 8, 14, 16, 17, 33)
SHAPES = [(h, w) for h in (7, 8, 13, 16) for w in (8, 9)]


class Strided(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, stride=4, padding=1)


class CeilPad(Strided):
    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = math.ceil(h / 8) * 8 - h, math.ceil(w / 8) * 8 - w
        if ph > 0 or pw > 0:
            x = F.pad(x, (0, pw, 0, ph))
        return self.conv(x)


class NegativeModReflect(Strided):
    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 8, -w % 8
        if ph != 0 or pw != 0:
            x = F.pad(x, (0, pw, 0, ph), mode="reflect")
        return self.conv(x)


class CentredReplicate(Strided):
    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = (h + 7) // 8 * 8 - h, (w + 7) // 8 * 8 - w
        if not (ph == 0 and pw == 0):
            x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode="replicate")
        return self.conv(x)


class PadLeftTop(Strided):
    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 8, -w % 8
        if ph or pw:
            x = F.pad(x, (pw, 0, ph, 0))
        return self.conv(x)


class ThreeConditions(Strided):
    """A third question whose side pads by the same amounts (0 where the axis is a multiple)."""

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 8, -w % 8
        if ph > 0 or pw > 0 or h < 16:
            x = F.pad(x, (0, pw, 0, ph))
        return self.conv(x)


def _pad_to(x: Any, multiple: int) -> Any:
    h, w = x.shape[-2:]
    ph, pw = (multiple - h % multiple) % multiple, (multiple - w % multiple) % multiple
    if ph > 0 or pw > 0:
        x = F.pad(x, (0, pw, 0, ph))
    return x


class PaddedInAFunction(Strided):
    def forward(self, x: Any) -> Any:
        return self.conv(_pad_to(x, 8))


class ComparedAsTuples(Strided):
    def forward(self, x: Any) -> Any:
        h, w = x.shape[-2:]
        target = ((h + 7) // 8 * 8, (w + 7) // 8 * 8)
        if tuple(x.shape[-2:]) != target:
            x = F.pad(x, (0, target[1] - w, 0, target[0] - h))
        return self.conv(x)


class SizesByMethod(Strided):
    def forward(self, x: Any) -> Any:
        ph, pw = -x.size(-2) % 8, -x.size(-1) % 8
        if ph > 0 or pw > 0:
            x = F.pad(x, [0, pw, 0, ph])
        return self.conv(x)


class PadInTheElseRefusingSmall(nn.Module):
    """The else pads and refuses H below 4 (every such H needs the pad, so the valid set is H >= 4)."""

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        if h % 8 == 0 and w % 8 == 0:
            return x
        else:
            if h < 4:
                raise ValueError("H at least 4")
            return F.pad(x, (0, -w % 8, 0, -h % 8))


class RefusedNarrowWherePadded(Strided):
    """Refuses W below 5 in the side that pads: every such W pads, so the valid set is W >= 5."""

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 8, -w % 8
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
            if w < 5:
                raise ValueError("W at least 5")
        return self.conv(x)


class PaddedWidthAsserted(Strided):
    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 8, -w % 8
        if ph > 0 or pw > 0:
            x = F.pad(x, (0, pw, 0, ph))
        assert x.shape[3] % 16 == 0, "padded W a multiple of 16"
        return self.conv(x)


class UpToAMinimum(Strided):
    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        if h < 16 or w < 16:
            x = F.pad(x, (0, max(0, 16 - w), 0, max(0, 16 - h)))
        return self.conv(x)


class PooledAndCroppedBack(nn.Module):
    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 8, -w % 8
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        y = F.interpolate(F.avg_pool2d(x, 8), scale_factor=8, mode="nearest")
        if ph or pw:
            y = y[:, :, :h, :w]
        return y


class CroppedToTheStridedSize(nn.Module):
    """The crop after a stride-4 layer is to h // 4, which the side that does not pad already has."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, stride=4, padding=1)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 8, -w % 8
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        y = self.conv(x)
        if ph or pw:
            y = y[:, :, : h // 4, : w // 4]
        return y


class CroppedWhereTheShapeChanged(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        x = self.conv(F.pad(x, (0, -w % 6, 0, -h % 6)))
        if x.shape[2] != h or x.shape[3] != w:
            x = x[:, :, :h, :w]
        return x


class CroppedOnePastH(nn.Module):
    """Crops to H + 1 where it padded: min(H + 1, padded H) on every path, one network."""

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 7, -w % 7
        x = F.pad(x, (0, pw, 0, ph))
        if ph > 0 or pw > 0:
            x = x[:, :, : h + 1, :w]
        return x


class CheckImageSize(nn.Module):
    """NAFNet's form: pad to a multiple of 16 in a method, down and up, crop back unconditionally."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)
        self.down = nn.Conv2d(1, 1, 2, stride=2)
        self.up = nn.ConvTranspose2d(1, 1, 2, stride=2)

    def check_image_size(self, x: Any) -> Any:
        _, _, h, w = x.size()
        return F.pad(x, (0, (16 - w % 16) % 16, 0, (16 - h % 16) % 16))

    def forward(self, inp: Any) -> Any:
        _, _, h, w = inp.shape
        x = self.conv(self.check_image_size(inp))
        x = self.up(self.up(self.down(self.down(x))))
        return x[:, :, :h, :w]


class SkipPadded(nn.Module):
    """UNet's pad of the upsampled tensor to its skip where they differ."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(1, 1, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(1, 1, 2, stride=2)
        self.out = nn.Conv2d(2, 1, 3, padding=1)

    def forward(self, x: Any) -> Any:
        skip = x
        x = self.up(F.avg_pool2d(x, 2))
        dy, dx = skip.size(2) - x.size(2), skip.size(3) - x.size(3)
        if dy or dx:
            x = F.pad(x, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.out(torch.cat([skip, x], dim=1))


class EvenBeforeStride(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, stride=2, padding=1)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        if h % 2 or w % 2:
            x = F.pad(x, (0, w % 2, 0, h % 2))
        return self.conv(x)


class ReturnedEarlyThroughALayer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, stride=2, padding=1)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 4, -w % 4
        if ph or pw:
            return self.conv(F.pad(x, (0, pw, 0, ph)))
        return self.conv(x)


class CoordinatesOfThePadded(nn.Module):
    """CoordConv on the padded tensor: the coordinates are made from the sizes past the branch."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 3, stride=2, padding=1)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 4, -w % 4
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        b, _, hh, ww = x.shape
        xx = torch.linspace(-1, 1, ww).view(1, 1, 1, ww).expand(b, 1, hh, ww)
        yy = torch.linspace(-1, 1, hh).view(1, 1, hh, 1).expand(b, 1, hh, ww)
        return self.conv(torch.cat([x, xx, yy], dim=1))


class EmptyChannels(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, stride=2, padding=1)

    def forward(self, x: Any) -> Any:
        b, _, h, w = x.shape
        return self.conv(torch.cat([x, x.new_zeros(b, 0, h, w)], dim=1))


class RowIndices(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 3, stride=2, padding=1)

    def forward(self, x: Any) -> Any:
        b, _, h, w = x.shape
        rows = torch.arange(h, dtype=x.dtype).view(1, 1, h, 1).expand(b, 1, -1, w)
        return self.conv(torch.cat([x, rows], dim=1))


class OnesOfTheShape(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 3, stride=2, padding=1)

    def forward(self, x: Any) -> Any:
        ones = x.new_ones((x.shape[0], 1, *x.shape[2:]))
        return self.conv(torch.cat([ones, x], 1))


READ = [
    CeilPad,
    NegativeModReflect,
    CentredReplicate,
    PadLeftTop,
    ThreeConditions,
    PaddedInAFunction,
    ComparedAsTuples,
    SizesByMethod,
    PadInTheElseRefusingSmall,
    RefusedNarrowWherePadded,
    PaddedWidthAsserted,
    UpToAMinimum,
    PooledAndCroppedBack,
    CroppedToTheStridedSize,
    CroppedWhereTheShapeChanged,
    CroppedOnePastH,
    CheckImageSize,
    SkipPadded,
    EvenBeforeStride,
    ReturnedEarlyThroughALayer,
    CoordinatesOfThePadded,
    EmptyChannels,
    RowIndices,
    OnesOfTheShape,
]


def _read_fields(
    model: type[nn.Module], spec: tuple[int | str, ...], shapes: list[tuple[int, int]]
) -> list[tuple[Any, ...]]:
    """Field disagreements where an output position that reads only padding (an empty field, first past last)
    counts as reading nothing, as autograd says."""
    wrong = _field_disagreements(model(), spec, shapes)
    return [
        entry
        for entry in wrong
        if [None if span is None or span[0] > span[1] else span for span in entry[3]] != entry[2]
    ]


@pytest.mark.parametrize("model", READ, ids=lambda model: model.__name__)
def test_more_sides_asking_other_questions_agree_with_pytorch(model: type[nn.Module]) -> None:
    assert _disagreements(model(), (1, 1, "H", "W"), held=HELD) == []
    valid = [shape for shape in SHAPES if _run(model().eval(), (1, 1, *shape)) is not None]
    assert len(valid) >= 2
    assert _read_fields(model, (1, 1, "H", "W"), valid) == []


@pytest.mark.parametrize(
    "model", [CeilPad, PadLeftTop, CroppedOnePastH, RefusedNarrowWherePadded, UpToAMinimum]
)
@pytest.mark.parametrize("spec", [(1, 1, 64, "W"), (1, 1, 21, "W"), (1, 1, "H", 13), (1, 1, "H", 16)])
def test_fixed_axes_either_side(model: type[nn.Module], spec: tuple[int | str, ...]) -> None:
    fixed = next(axis for axis in spec[2:] if isinstance(axis, int))
    assert _disagreements(model(), spec, held=(fixed,)) == []


class SignalReflected(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, 3, stride=4, padding=1)

    def forward(self, x: Any) -> Any:
        n = x.shape[-1]
        if n % 8:
            x = F.pad(x, (0, -n % 8), mode="reflect")
        return self.conv(x)


class VolumePadded(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(1, 1, 2, stride=2)

    def forward(self, x: Any) -> Any:
        d, h, w = x.shape[2:]
        pd, ph, pw = -d % 4, -h % 4, -w % 4
        if pd or ph or pw:
            x = F.pad(x, (0, pw, 0, ph, 0, pd))
        return self.conv(self.conv(x))


def test_a_reflected_signal_and_a_padded_volume_agree_with_pytorch() -> None:
    assert _disagreements(SignalReflected(), (1, 1, "L"), held=(1,)) == []
    assert _disagreements(VolumePadded(), (1, 1, "D", "H", "W"), held=(4, 5)) == []


class PadsHWhereWNeedsIt(nn.Module):
    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 8, -w % 8
        if pw > 0:
            x = F.pad(x, (0, pw, 0, ph))
        return x


class AskedOfEightPaddedToSixteen(nn.Module):
    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        if h % 8 or w % 8:
            x = F.pad(x, (0, -w % 16, 0, -h % 16))
        return x


class PaddedOnlyWhereBothNeedIt(nn.Module):
    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        if h % 8 and w % 8:
            x = F.pad(x, (0, -w % 8, 0, -h % 8))
        return x


class CroppedWhereWWasPadded(nn.Module):
    """Swin's crop asked of the right pad only: H stays padded where only H was."""

    def __init__(self) -> None:
        super().__init__()
        self.mix = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        pad_r, pad_b = -w % 7, -h % 7
        x = self.mix(F.pad(x, (0, pad_r, 0, pad_b)))
        if pad_r > 0:
            x = x[:, :, :h, :w].contiguous()
        return x


class VolumeCroppedWhereTwoWerePadded(nn.Module):
    def forward(self, x: Any) -> Any:
        d, h, w = x.shape[2:]
        pd, ph, pw = -d % 4, -h % 4, -w % 4
        x = F.pad(x, (0, pw, 0, ph, 0, pd))
        if pd > 0 or ph > 0:
            x = x[:, :, :d, :h, :w]
        return x


class RefusedLargeWherePadded(nn.Module):
    """Valid where both axes are multiples of 8 or H is at most 40: no product of one set per axis."""

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 8, -w % 8
        padded = ph > 0 or pw > 0
        if padded:
            x = F.pad(x, (0, pw, 0, ph))
        if padded and h > 40:
            raise ValueError("padded inputs up to 40 high")
        return x


class RefusedWhereBothLarge(nn.Module):
    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 8, -w % 8
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
            if h > 30 and w > 30:
                raise ValueError("padded inputs are small")
        return x


class ReturnedEarlyShorter(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, stride=2, padding=1)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 4, -w % 4
        if ph or pw:
            return self.conv(F.pad(x, (0, pw, 0, ph)))[:, :, :-1]
        return self.conv(x)


class CentredOrRight(nn.Module):
    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 8, -w % 8
        if h % 2:
            x = F.pad(x, (0, pw, 0, ph))
        else:
            x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        return x


class ConvolvedWherePadded(nn.Module):
    """The side that pads also convolves (sizes kept, fields grown): two networks."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        if h % 8 or w % 8:
            x = self.conv(F.pad(x, (0, -w % 8, 0, -h % 8)))
        return x


class ResizedUnlessThatSize(nn.Module):
    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        if h != 32 or w != 32:
            x = F.interpolate(x, size=(32, 32))
        return x


REFUSED: list[tuple[type[nn.Module], tuple[int | str, ...]]] = [
    (PadsHWhereWNeedsIt, (1, 1, "H", "W")),
    (AskedOfEightPaddedToSixteen, (1, 1, "H", "W")),
    (PaddedOnlyWhereBothNeedIt, (1, 1, "H", "W")),
    (CroppedWhereWWasPadded, (1, 1, "H", "W")),
    (VolumeCroppedWhereTwoWerePadded, (1, 1, "D", "H", "W")),
    (RefusedLargeWherePadded, (1, 1, "H", "W")),
    (RefusedWhereBothLarge, (1, 1, "H", "W")),
    (ReturnedEarlyShorter, (1, 1, "H", "W")),
    (CentredOrRight, (1, 1, "H", "W")),
    (ConvolvedWherePadded, (1, 1, "H", "W")),
    (ResizedUnlessThatSize, (1, 1, "H", "W")),
]


@pytest.mark.parametrize(("model", "spec"), REFUSED, ids=lambda item: getattr(item, "__name__", ""))
def test_more_paths_that_compute_other_networks_are_refused(
    model: type[nn.Module], spec: tuple[int | str, ...]
) -> None:
    sizes = [(9, 16), (32, 32)] if len(spec) == 4 else [(5, 8, 9), (8, 8, 8)]
    assert all(_run(model().eval(), (1, 1, *size)) is not None for size in sizes)
    with pytest.raises(SymconvError, match="branches on sizes"):
        from_torch(model().eval(), spec)


class CoordinatesAcross(nn.Module):
    """Rows as long as W laid along H: a size that depends on the other axis."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 3, stride=2, padding=1)

    def forward(self, x: Any) -> Any:
        b, _, h, w = x.shape
        rows = torch.linspace(-1, 1, w).view(1, 1, w, 1).expand(b, 1, w, h)
        return self.conv(torch.cat([x, rows], dim=1))


def test_coordinates_of_the_other_axis_are_refused() -> None:
    assert _run(CoordinatesAcross().eval(), (1, 1, 12, 12)) is not None
    with pytest.raises(SymconvError, match="another axis"):
        from_torch(CoordinatesAcross().eval(), (1, 1, "H", "W"))


class PaddedAndCroppedWherePositive(nn.Module):
    """Swin's pad and crop back, each under `if ph > 0 or pw > 0:`; the same model under `if ph or pw:`
    (CroppedWhereTruthy) is read, and both are one network at every size."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 4, -w % 4
        if ph > 0 or pw > 0:
            x = F.pad(x, (0, pw, 0, ph))
        y = self.conv(x)
        if ph > 0 or pw > 0:
            y = y[:, :, :h, :w]
        return y


class CroppedWhereTruthy(PaddedAndCroppedWherePositive):
    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 4, -w % 4
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        y = self.conv(x)
        if ph or pw:
            y = y[:, :, :h, :w]
        return y


class EvenBeforeEachStage(nn.Module):
    """EvenBeforeStride twice: each stage is read alone, and the two are one network."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Conv2d(1, 1, 3, stride=2, padding=1)
        self.second = nn.Conv2d(1, 1, 3, stride=2, padding=1)

    def forward(self, x: Any) -> Any:
        for conv in (self.first, self.second):
            h, w = x.shape[2:]
            if h % 2 or w % 2:
                x = F.pad(x, (0, w % 2, 0, h % 2))
            x = conv(x)
        return x


class PaddedInAFunctionTwice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Conv2d(1, 1, 3, stride=2, padding=1)
        self.second = nn.Conv2d(1, 1, 3, stride=3)

    def forward(self, x: Any) -> Any:
        return self.second(_pad_to(self.first(_pad_to(x, 4)), 3))


class PaddedPerAxisNested(Strided):
    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 8, -w % 8
        if ph > 0:
            if pw > 0:
                x = F.pad(x, (0, pw, 0, ph))
            else:
                x = F.pad(x, (0, 0, 0, ph))
        elif pw > 0:
            x = F.pad(x, (0, pw, 0, 0))
        return self.conv(x)


class SumInTheOtherOrder(nn.Module):
    """An early return of the sum on each side, its operands in the other order on one side."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        ph, pw = -h % 4, -w % 4
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
            return x + self.conv(x)
        return self.conv(x) + x


ONE_NETWORK = [
    CroppedWhereTruthy,
    PaddedAndCroppedWherePositive,
    # stages that each pad where either axis needs it: each stage's questions explored on its own
    EvenBeforeEachStage,
    PaddedInAFunctionTwice,
    pytest.param(
        PaddedPerAxisNested,
        marks=pytest.mark.xfail(
            strict=True, reason="two pads that are the same where the guard holds are two nodes, not one"
        ),
    ),
    SumInTheOtherOrder,
]


@pytest.mark.parametrize("model", ONE_NETWORK, ids=lambda model: getattr(model, "__name__", "model"))
def test_one_network_at_every_size_is_read(model: type[nn.Module]) -> None:
    """Each is one network at every size (the same as a model read above, written another way)."""
    assert _disagreements(model(), (1, 1, "H", "W"), held=HELD) == []


class PaddedPerAxisByTheRest(Strided):
    """`if h % 8 != 0: pad 8 - h % 8` per axis: the amount is 8, not 0, where the side is not taken, yet the
    side is taken exactly where the axis is no multiple, so H' = ceil(H / 8) * 8 at every size."""

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        if h % 8 != 0:
            x = F.pad(x, (0, 0, 0, 8 - h % 8))
        if w % 8 != 0:
            x = F.pad(x, (0, 8 - w % 8))
        return self.conv(x)


class SignalPaddedByTheRest(nn.Module):
    """A waveform codec's pad to a multiple of the hop, and its crop back to the length."""

    def __init__(self) -> None:
        super().__init__()
        self.encode = nn.Conv1d(1, 1, 8, stride=4, padding=2)
        self.decode = nn.ConvTranspose1d(1, 1, 8, stride=4, padding=2)

    def forward(self, x: Any) -> Any:
        length = x.shape[-1]
        rest = length % 16
        if rest != 0:
            x = F.pad(x, (0, 16 - rest))
        return self.decode(self.encode(x))[..., :length]


def test_a_pad_by_the_rest_where_there_is_one_is_read() -> None:
    assert _disagreements(PaddedPerAxisByTheRest(), (1, 1, "H", "W"), held=HELD) == []
    assert _disagreements(SignalPaddedByTheRest(), (1, 1, "L"), held=(1,)) == []


# Sides that depend on each other through Python's own values (a flag set in one branch, a truth asked again),
# a bare except around a later branch, and a `+` of shapes (which concatenates): each is two networks, and
# reading any one of its paths would be a wrong answer.


class FlaggedTwice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 1)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[-2:]
        odd = False
        if h % 2 != 0:
            x = F.pad(x, (0, 0, 0, h % 2))
            odd = True
        if w % 4 != 0:
            x = F.pad(x, (0, w % 4, 0, 0))
        if odd:
            x = F.pad(x, (0, w % 4, 0, 0))
        return self.conv(x)


class AskedAgain(FlaggedTwice):
    def forward(self, x: Any) -> Any:
        h, w = x.shape[-2:]
        odd = h % 2 != 0
        if odd:
            x = F.pad(x, (0, 0, 0, h % 2))
        if w % 4 != 0:
            x = F.pad(x, (0, w % 4, 0, 0))
        if odd:
            x = F.pad(x, (0, w % 4, 0, 0))
        return self.conv(x)


class FlagsCompared(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 1)
        self.down = nn.Conv2d(1, 1, 1, stride=2)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[-2:]
        a = b = False
        if h % 2 != 0:
            a = True
        if w % 2 != 0:
            b = True
        if a != b:
            x = self.down(x)
        return self.conv(x)


class CaughtBare(FlaggedTwice):
    def forward(self, x: Any) -> Any:
        h = x.shape[2]
        if h % 2 != 0:
            try:
                if h % 4 == 1:
                    x = F.pad(x, (0, 0, 0, 1))
            except:  # noqa: E722
                pass
        return self.conv(x)


DEPENDENT = [FlaggedTwice, AskedAgain, FlagsCompared, CaughtBare]


@pytest.mark.parametrize("model", DEPENDENT, ids=lambda model: model.__name__)
def test_sides_that_depend_on_each_other_are_never_misread(model: type[nn.Module]) -> None:
    assert _run(model().eval(), (1, 1, 5, 6)) is not None
    with pytest.raises(SymconvError, match="branches on sizes"):
        from_torch(model().eval(), (1, 1, "H", "W"))


class ShapesJoined(nn.Module):
    """`a + b` of two shapes concatenates them: in the other order on the other side, another padding."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, 1)

    def forward(self, x: Any) -> Any:
        a, b = x.shape[2:], x[:, :, ::4].shape[2:]
        p = a + b if x.shape[2] % 2 == 0 else b + a
        return self.conv(F.pad(x, p))


def test_shapes_joined_in_another_order_are_not_the_same_padding() -> None:
    with pytest.raises(SymconvError, match="branches on sizes"):
        from_torch(ShapesJoined().eval(), (1, 1, "L"))
