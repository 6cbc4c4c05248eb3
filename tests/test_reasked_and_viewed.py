"""Views lined up under conditions, questions asked again, and deep padded stacks, against PyTorch.

Each model is compared with PyTorch at every size of a grid (1..30 x 1..30; 1..200 for one axis; 1..10 cubed
for three): the sizes symconv answers and those it refuses must be PyTorch's, and so must membership in the
valid set. The first group is read exactly; the second may be refused as a whole, never misread.

The last group were misread once: the side of a two-sided branch that makes more (`if pad > 0: x = F.pad(...)`,
or a crop back `if pad > 0: y = y[..., :L]`) is read for the whole model, traced with the other side's guard
(pad == 0) recorded, and a view after it that lines up only where pad == 0 (to L on the side that pads, to L + pad
on the side that crops back) was lined up under that guard, which does not hold on that path. PyTorch refuses
every size that pads; symconv must refuse them too, or the model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.errors import SymconvError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402
from tests.test_branch_paths_more import _pad_to  # noqa: E402
from tests.test_independent_branches_more import Tiny, _grid, _run, _wrong  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    # hundreds of forwards of a tiny model per case: torch's thread pool costs more than the convolutions
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _tokens(x: Any) -> Any:
    return x.flatten(2).transpose(1, 2)


def _image(tokens: Any, b: int, h: Any, w: Any, c: int) -> Any:
    return tokens.reshape(b, h, w, c).permute(0, 3, 1, 2)


class Line(Tiny):
    names = ("L",)
    top = 200


def _misread(model: Tiny, net: Any) -> list[tuple[Any, ...]]:
    """Every size of the grid where symconv's answer (output sizes, or membership in its valid set) is not
    PyTorch's."""
    names, top = model.names, model.top
    found = _wrong(model, net, names, top)
    valid = net.valid_inputs()
    for sizes in _grid(names, top):
        runs = _run(model, sizes) is not None
        inside = all(size in valid[name] for name, size in zip(names, sizes, strict=True))
        if runs != inside:
            found.append((sizes, "runs" if runs else "refused", "in the valid set" if inside else "outside"))
    return found


# Read exactly.


class AssertedBeforeThePad(Tiny):
    """A raise where either axis is odd, then a pad to even sizes viewed back as H x W (a pad of 0 there)."""

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        if h % 2 != 0 or w % 2 != 0:
            raise ValueError("H and W must be even")
        return _image(_tokens(F.pad(x, (0, w % 2, 0, h % 2))), b, h, w, c)


class CroppedWherePadded(Tiny):
    """Twins' window attention without the attention: pad to multiples of 3, crop back where either axis was
    padded, view the tokens as H x W."""

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        pr, pb = (3 - w % 3) % 3, (3 - h % 3) % 3
        y = F.pad(x, (0, pr, 0, pb))
        if pr > 0 or pb > 0:
            y = y[:, :, :h, :w]
        return _image(_tokens(y), b, h, w, c)


class CropThenPadAgain(Line):
    """The same truth asked by the next statement, whose side pads again: L + pad."""

    def forward(self, x: Any) -> Any:
        n = x.shape[-1]
        pad = (3 - n % 3) % 3
        y = F.pad(x, (0, pad))
        if pad > 0:
            y = y[:, :, :n]
        if pad > 0:
            y = F.pad(y, (0, pad))
        return y


class AskedThreeTimes(Line):
    """Crop, pad, crop: the same truth asked three times in a row."""

    def forward(self, x: Any) -> Any:
        n = x.shape[-1]
        pad = (3 - n % 3) % 3
        y = F.pad(x, (0, pad))
        if pad > 0:
            y = y[:, :, :n]
        if pad > 0:
            y = F.pad(y, (0, pad))
        if pad > 0:
            y = y[:, :, :n]
        return y


class AskedInALoop(Line):
    """The same truth asked on every turn of a loop, each crop longer."""

    def forward(self, x: Any) -> Any:
        n = x.shape[-1]
        pad = (3 - n % 3) % 3
        y = F.pad(x, (0, pad))
        for more in range(3):
            if pad > 0:
                y = y[:, :, : n + more]
        return y


class RaisedWhenAskedAgain(Line):
    """The second asking raises: the model runs only where L is a multiple of 3."""

    def forward(self, x: Any) -> Any:
        n = x.shape[-1]
        pad = (3 - n % 3) % 3
        y = F.pad(x, (0, pad))
        if pad > 0:
            y = y[:, :, :n]
        if pad > 0:
            raise ValueError("L must be a multiple of 3")
        return y


class AskedInAHelperThenAgain(Line):
    """Cropped back in a helper, the same truth asked again by the caller, which pads by twice the pad."""

    def crop(self, y: Any, pad: int, n: int) -> Any:
        if pad > 0:
            y = y[:, :, :n]
        return y

    def forward(self, x: Any) -> Any:
        n = x.shape[-1]
        pad = (3 - n % 3) % 3
        y = self.crop(F.pad(x, (0, pad)), pad, n)
        if pad > 0:
            y = F.pad(y, (0, 2 * pad))
        return y


class RebindsAnotherName(Line):
    """The second asking rebinds the name that still holds the padded tensor to the cropped one."""

    def forward(self, x: Any) -> Any:
        n = x.shape[-1]
        pad = (3 - n % 3) % 3
        y = F.pad(x, (0, pad))
        z = y
        if pad > 0:
            y = y[:, :, :n]
        if pad > 0:
            z = y
        return z


class EitherAskedAgain(Tiny):
    """`if pr > 0 or pb > 0:` twice: crop both axes back, then pad W again."""

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        pr, pb = (3 - w % 3) % 3, (3 - h % 3) % 3
        y = F.pad(x, (0, pr, 0, pb))
        if pr > 0 or pb > 0:
            y = y[:, :, :h, :w]
        if pr > 0 or pb > 0:
            y = F.pad(y, (0, pr, 0, 0))
        return y


class CroppedVolume(Tiny):
    """Twins' crop back in three dimensions: D padded to even, H to a multiple of 3, viewed as D x H x W."""

    names = ("D", "H", "W")
    top = 10

    def forward(self, x: Any) -> Any:
        b, c, d, h, w = x.shape
        pd, ph = (2 - d % 2) % 2, (3 - h % 3) % 3
        y = F.pad(x, (0, 0, 0, ph, 0, pd))
        if pd > 0 or ph > 0:
            y = y[:, :, :d, :h]
        return _tokens(y).reshape(b, d, h, w, c).permute(0, 4, 1, 2, 3)


class SixStagesByThree(Tiny):
    """Six stages, each padded to a multiple of 3 where either axis needs it, then a convolution of 2 by 2."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 2, stride=2) for _ in range(6))

    def forward(self, x: Any) -> Any:
        for conv in self.convs:
            x = conv(_pad_to(x, 3))
        return x


READ = [
    AssertedBeforeThePad,
    CroppedWherePadded,
    CropThenPadAgain,
    AskedThreeTimes,
    AskedInALoop,
    RaisedWhenAskedAgain,
    AskedInAHelperThenAgain,
    RebindsAnotherName,
    EitherAskedAgain,
    CroppedVolume,
    SixStagesByThree,
]


@pytest.mark.parametrize("model", READ, ids=lambda model: model.__name__)
def test_read_exactly(model: type[Tiny]) -> None:
    m = model().eval()
    net = from_torch(m, (1, 1, *m.names))
    assert _misread(m, net) == []


# Read exactly or refused.


class OneAxisAsserted(Tiny):
    """H asserted even, W not: the view of the padded W as W holds only where W is even."""

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        torch._assert(h % 2 == 0, "H must be even")
        return _image(_tokens(F.pad(x, (0, w % 2, 0, h % 2))), b, h, w, c)


class AssertedAMultipleOfThree(Tiny):
    """W asserted a multiple of 3, which does not make its pad to even 0."""

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        torch._assert(h % 4 == 0, "H must be a multiple of 4")
        torch._assert(w % 3 == 0, "W must be a multiple of 3")
        return _image(_tokens(F.pad(x, (0, w % 2, 0, h % 2))), b, h, w, c)


class AssertedOnOneSide(Tiny):
    """H asserted even on one side of a branch only; the pad viewed as H after both."""

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        if h > 8:
            x = x * 2
        else:
            torch._assert(h % 2 == 0, "H must be even")
        return _image(_tokens(F.pad(x, (0, 0, 0, h % 2))), b, h, w, c)


class AxesSwapped(Tiny):
    """H * W tokens viewed as W x H: the same number, another layout."""

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        return _image(_tokens(x), b, w, h, c)


class AcrossTheAxes(Tiny):
    """(H + 1) * (W - 1) tokens viewed as H x W: equal only where W = H + 1."""

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        y = F.pad(x, (0, 0, 0, 1))[:, :, :, : w - 1]
        return _image(_tokens(y), b, h, w, c)


class CroppedOnOneAxis(Tiny):
    """Padded on both axes where either needs it, cropped back on H only: the view as H x W needs W's pad 0."""

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        pr, pb = (3 - w % 3) % 3, (3 - h % 3) % 3
        y = F.pad(x, (0, pr, 0, pb))
        if pr > 0 or pb > 0:
            y = y[:, :, :h, :]
        return _image(_tokens(y), b, h, w, c)


class CroppedWhereBothPadded(Tiny):
    """`and` where Twins has `or`: the side that does not crop has one axis padded."""

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        pr, pb = (3 - w % 3) % 3, (3 - h % 3) % 3
        y = F.pad(x, (0, pr, 0, pb))
        if pr > 0 and pb > 0:
            y = y[:, :, :h, :w]
        return _image(_tokens(y), b, h, w, c)


class AskedAgainNegated(Line):
    """`if pad > 0:` then `if not pad > 0:`."""

    def forward(self, x: Any) -> Any:
        n = x.shape[-1]
        pad = (3 - n % 3) % 3
        y = F.pad(x, (0, pad))
        if pad > 0:
            y = y[:, :, :n]
        if not pad > 0:
            y = F.pad(y, (0, 1))
        return y


class AskedAgainToCount(Line):
    """The second asking appends to a list, whose length a later slice reads."""

    def forward(self, x: Any) -> Any:
        n = x.shape[-1]
        pad = (3 - n % 3) % 3
        y = F.pad(x, (0, pad))
        seen = []
        if pad > 0:
            y = y[:, :, :n]
        if pad > 0:
            seen.append(pad)
        return y[:, :, len(seen) :]


class AskedAgainAfterAnother(Line):
    """Another decision (a pad to even) between the two askings."""

    def forward(self, x: Any) -> Any:
        n = x.shape[-1]
        pad, even = (3 - n % 3) % 3, n % 2
        y = F.pad(x, (0, pad))
        if pad > 0:
            y = y[:, :, :n]
        z = F.pad(y, (0, even))
        if even > 0:
            z = z[:, :, :n]
        if pad > 0:
            z = F.pad(z, (0, 1))
        return z


READ_OR_REFUSED = [
    OneAxisAsserted,
    AssertedAMultipleOfThree,
    AssertedOnOneSide,
    AxesSwapped,
    AcrossTheAxes,
    CroppedOnOneAxis,
    CroppedWhereBothPadded,
    AskedAgainNegated,
    AskedAgainToCount,
    AskedAgainAfterAnother,
]


@pytest.mark.parametrize("model", READ_OR_REFUSED, ids=lambda model: model.__name__)
def test_read_exactly_or_refused(model: type[Tiny]) -> None:
    m = model().eval()
    try:
        net = from_torch(m, (1, 1, *m.names))
    except SymconvError as error:
        assert str(error)
        return
    assert _misread(m, net) == []


# Misread: the view after a crop back lined up under the guard of the side that does not crop.


class ViewedAsPadded(Line):
    """Padded to a multiple of 4, cropped back where padded, then viewed as the padded length: PyTorch runs
    only where L is a multiple of 4."""

    def forward(self, x: Any) -> Any:
        b, c, n = x.shape
        pad = (4 - n % 4) % 4
        y = F.pad(x, (0, pad))
        if pad > 0:
            y = y[:, :, :n]
        return y.transpose(1, 2).reshape(b, n + pad, c).transpose(1, 2)


class ViewedAsPaddedImage(Tiny):
    """The same on H, padded to even."""

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        ph = h % 2
        y = F.pad(x, (0, 0, 0, ph))
        if ph > 0:
            y = y[:, :, :h, :]
        return _image(_tokens(y), b, h + ph, w, c)


class TwoCropsViewedAsPadded(Line):
    """Two tensors padded and cropped back under the same truth asked twice, their sum viewed as padded."""

    def forward(self, x: Any) -> Any:
        b, c, n = x.shape
        pad = (4 - n % 4) % 4
        y, z = F.pad(x, (0, pad)), F.pad(x, (0, pad))
        if pad > 0:
            y = y[:, :, :n]
        if pad > 0:
            z = z[:, :, :n]
        return (y + z).transpose(1, 2).reshape(b, n + pad, c).transpose(1, 2)


class PaddedWhereOdd(Line):
    """Padded to even only where L is odd, then viewed as L: PyTorch runs only where L is even, symconv reads
    L + 1 where it is odd (the view lined up under the guard of the side that does not pad)."""

    def forward(self, x: Any) -> Any:
        b, c, n = x.shape
        pad = n % 2
        if pad > 0:
            x = F.pad(x, (0, pad))
        return x.transpose(1, 2).reshape(b, n, c).transpose(1, 2)


class PaddedWhereOddImage(Tiny):
    """The same on H, the tokens viewed as H x W."""

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        pad = h % 2
        if pad > 0:
            x = F.pad(x, (0, 0, 0, pad))
        return _image(_tokens(x), b, h, w, c)


class PaddedWhereOddVolume(Tiny):
    """The same on W of a volume."""

    names = ("D", "H", "W")
    top = 10

    def forward(self, x: Any) -> Any:
        b, c, d, h, w = x.shape
        pad = w % 2
        if pad > 0:
            x = F.pad(x, (0, pad))
        return _tokens(x).reshape(b, d, h, w, c).permute(0, 4, 1, 2, 3)


MISREAD = [
    PaddedWhereOddVolume,
    ViewedAsPadded,
    ViewedAsPaddedImage,
    TwoCropsViewedAsPadded,
    PaddedWhereOdd,
    PaddedWhereOddImage,
]


@pytest.mark.parametrize("model", MISREAD, ids=lambda model: model.__name__)
def test_a_view_after_a_crop_back_is_not_lined_up_under_the_other_sides_guard(model: type[Tiny]) -> None:
    m = model().eval()
    try:
        net = from_torch(m, (1, 1, *m.names))
    except SymconvError as error:
        assert "line up" in str(error)
        return
    assert _misread(m, net) == []
