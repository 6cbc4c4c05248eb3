"""More forwards that branch on sizes in several places, compared with PyTorch at every (H, W) in 1..30 x 1..30.

Each model is read exactly, or refused as a whole; a model read that disagrees with PyTorch at any size is a
misread. The first group is read exactly; the second may be refused (sides that swap or alias tensors, nested
and chained conditions, a truth asked twice, flags held in sizes or tensors that a later branch asks, a side
that rebinds sizes, a raise caught by the forward), never misread. The third group leave Python's state
different after a statement whose sides only rebind traced names (a count in a traced size, an item stored by
dict.setdefault, a method, a closure or a global counting the pads, a raise caught): only the mix of sides where
no branch is taken shows the difference, and no single flip of a side reaches it, so such statements are not
independent (importers.statements) and each is read exactly or refused. Last, a side that only rebinds a size,
which a later refusal reads: the condition of validity past it is not the network's where the other side is
taken.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.errors import SymconvError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402
from tests.test_branch_paths_more import _pad_to  # noqa: E402

GRID = range(1, 31)


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    # 900 forwards of a tiny model per case: torch's thread pool costs more than the convolutions
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _run(model: Any, sizes: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        with torch.no_grad():
            return tuple(model(torch.zeros(1, 1, *sizes)).shape[2:])
    except (RuntimeError, ValueError, AssertionError):
        return None


def _read(net: Any, names: tuple[str, ...], sizes: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        out = net.check(dict(zip(names, sizes, strict=True)))
    except SymconvError:
        return None
    return tuple(out[name] for name in names)


def _grid(names: tuple[str, ...], top: int) -> list[tuple[int, ...]]:
    sizes: list[tuple[int, ...]] = [()]
    for _ in names:
        sizes = [(*before, size) for before in sizes for size in range(1, top + 1)]
    return sizes


def _wrong(
    model: Any,
    net: Any,
    names: tuple[str, ...],
    top: int,
    run: Callable[[Any, tuple[int, ...]], tuple[int, ...] | None] = _run,
) -> list[tuple[Any, ...]]:
    """Every size of the grid where symconv's answer is not PyTorch's (`run`: the model's output sizes, None
    where it refuses): (sizes, PyTorch's, symconv's)."""
    found = []
    for sizes in _grid(names, top):
        expected, got = run(model, sizes), _read(net, names, sizes)
        if expected != got:
            found.append((sizes, expected, got))
    return found


class Tiny(nn.Module):
    """A model of one channel: its symbolic axes (`names`), and the largest size of each compared (`top`)."""

    names: tuple[str, ...] = ("H", "W")
    top = 30


# Read exactly.


class UNet(Tiny):
    """Two downs, two ups each resized to its skip's size where they differ (a branch on two tensors' sizes)."""

    def __init__(self) -> None:
        super().__init__()
        self.downs = nn.ModuleList(nn.Conv2d(1, 1, 3, stride=2, padding=1) for _ in range(2))
        self.ups = nn.ModuleList(nn.ConvTranspose2d(1, 1, 2, stride=2) for _ in range(2))

    def forward(self, x: Any) -> Any:
        skips = []
        for down in self.downs:
            skips.append(x)
            x = down(x)
        for up, skip in zip(self.ups, reversed(skips), strict=True):
            x = up(x)
            if x.shape != skip.shape:
                x = F.interpolate(x, size=skip.shape[2:])
            x = x + skip
        return x


class PadThenCrop(Tiny):
    """A pad to even sizes, a down and an up, then a crop back to the input's size where it differs."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(1, 1, 2, stride=2)
        self.up = nn.ConvTranspose2d(1, 1, 2, stride=2)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        x = self.up(self.down(_pad_to(x, 2)))
        if x.shape[2] != h or x.shape[3] != w:
            x = x[:, :, :h, :w]
        return x


class StagesByThree(Tiny):
    """Four stages padded to multiples of 3: the sample (256) pads at some stages and not at others."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 3, stride=2, padding=1) for _ in range(4))

    def forward(self, x: Any) -> Any:
        for conv in self.convs:
            x = conv(_pad_to(x, 3))
        return x


class NotOr(Tiny):
    """`if not (h % 3 or w % 3): pass` and the pad in the else, per stage."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 3, stride=3) for _ in range(2))

    def forward(self, x: Any) -> Any:
        for conv in self.convs:
            h, w = x.shape[2:]
            if not (h % 3 or w % 3):
                pass
            else:
                x = F.pad(x, (0, (-w) % 3, 0, (-h) % 3))
            x = conv(x)
        return x


class InterpolatedToEven(Tiny):
    """Resized (bilinear) up to even sizes where either axis is odd, then halved, twice."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 2, stride=2) for _ in range(2))

    def forward(self, x: Any) -> Any:
        for conv in self.convs:
            h, w = x.shape[2:]
            if h % 2 or w % 2:
                x = F.interpolate(x, size=(h + h % 2, w + w % 2), mode="bilinear", align_corners=False)
            x = conv(x)
        return x


class RefusedPerStage(Tiny):
    """Every stage refuses odd sizes, in one function called at every depth."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 3, stride=2, padding=1) for _ in range(3))

    @staticmethod
    def even(x: Any) -> Any:
        if x.shape[2] % 2 or x.shape[3] % 2:
            raise RuntimeError("odd sizes")
        return x

    def forward(self, x: Any) -> Any:
        for conv in self.convs:
            x = conv(self.even(x))
        return x


class PadsAndRefusal(Tiny):
    """A pad to a multiple of 4, a refusal of odd heights after a stride, a pad to a multiple of 3."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 3, stride=2, padding=1) for _ in range(3))

    def forward(self, x: Any) -> Any:
        x = self.convs[0](_pad_to(x, 4))
        if x.shape[2] % 2:
            raise RuntimeError("odd height")
        return self.convs[2](self.convs[1](_pad_to(x, 3)))


class PaddedSizesAsked(Tiny):
    """A side that rebinds the sizes with the padded tensor's; a later refusal asks them."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 3, stride=2, padding=1) for _ in range(2))

    def forward(self, x: Any) -> Any:
        for conv, m in zip(self.convs, (3, 2), strict=True):
            h, w = x.shape[2:]
            if h % m or w % m:
                x = F.pad(x, (0, (-w) % m, 0, (-h) % m))
                h, w = x.shape[2:]
            if h % 4:
                raise ValueError("height no multiple of 4")
            x = conv(x)
        return x


class CaughtPad(Tiny):
    """A side that raises, caught by the forward, whose handler pads: no flag."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 3, stride=2) for _ in range(2))

    def forward(self, x: Any) -> Any:
        for conv, m in zip(self.convs, (3, 5), strict=True):
            h, w = x.shape[2:]
            try:
                if h % m or w % m:
                    raise ValueError("pad")
            except ValueError:
                x = F.pad(x, (0, (-w) % m, 0, (-h) % m))
            x = conv(x)
        return x


class Line(Tiny):
    """Four 1-D stages, padded to a multiple of 2, 3, 4 and 5 where the length needs it."""

    names = ("L",)
    top = 200

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(1, 1, 3, stride=2) for _ in range(4))

    def forward(self, x: Any) -> Any:
        for multiple, conv in enumerate(self.convs, start=2):
            length = x.shape[2]
            if length % multiple:
                x = F.pad(x, (0, (-length) % multiple))
            x = conv(x)
        return x


class Volume(Tiny):
    """Two 3-D stages, padded to even sizes where any of three axes is odd."""

    names = ("D", "H", "W")
    top = 12

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv3d(1, 1, 2, stride=2) for _ in range(2))

    def forward(self, x: Any) -> Any:
        for conv in self.convs:
            d, h, w = x.shape[2:]
            if d % 2 or h % 2 or w % 2:
                x = F.pad(x, (0, w % 2, 0, h % 2, 0, d % 2))
            x = conv(x)
        return x


READ: list[type[Tiny]] = [
    UNet,
    PadThenCrop,
    StagesByThree,
    NotOr,
    InterpolatedToEven,
    RefusedPerStage,
    PadsAndRefusal,
    Line,
    Volume,
]


@pytest.mark.parametrize("model", READ, ids=lambda model: model.__name__)
def test_branches_on_sizes_in_several_places_are_read_exactly(model: type[Tiny]) -> None:
    built = model().eval()
    names: tuple[str, ...] = model.names
    net = from_torch(built, (1, 1, *names))
    assert _wrong(built, net, names, model.top) == []


# Read exactly or refused.


class Swapped(Tiny):
    """Two tensors swapped where H is odd: neither side makes a node."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(1, 1, 2, stride=2)

    def forward(self, x: Any) -> Any:
        y = self.down(x)
        h, w = x.shape[2:]
        if h % 2 or w % 2:
            x, y = y, x
        if h % 3:
            x = F.pad(x, (0, 0, 0, 1))
        return y


class Aliased(Tiny):
    """The input rebound to its strided copy where both axes are multiples of 4."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(1, 1, 2, stride=2)

    def forward(self, x: Any) -> Any:
        skip = self.down(x)
        h, w = x.shape[2:]
        if h % 4 == 0 and w % 4 == 0:
            x = skip
        if h % 3:
            x = F.pad(x, (0, 0, 0, (-h) % 3))
        return x


class Broadcast(Tiny):
    """A row (H reduced to 1) added to the input where H is odd: the sum broadcasts back to H."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3)

    def forward(self, x: Any) -> Any:
        skip, x = x, x.mean(2, keepdim=True)
        h, w = skip.shape[2:]
        if h % 2:
            x = skip + x
        if w % 3:
            x = F.pad(x, (0, (-w) % 3))
        return self.conv(x)


class Chained(Tiny):
    """An elif chain of pads per stage."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 2, stride=2) for _ in range(2))

    def forward(self, x: Any) -> Any:
        for conv in self.convs:
            h = x.shape[2]
            if h % 4 == 1:
                x = F.pad(x, (0, 0, 0, 3))
            elif h % 4 == 2:
                x = F.pad(x, (0, 0, 0, 2))
            elif h % 4 == 3:
                x = F.pad(x, (0, 0, 0, 1))
            x = conv(x)
        return x


class Nested(Tiny):
    """Nested ifs per stage: a pad of one axis or both."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 2, stride=2) for _ in range(2))

    def forward(self, x: Any) -> Any:
        for conv in self.convs:
            h, w = x.shape[2:]
            if h % 2:
                if w % 2:
                    x = F.pad(x, (0, 1, 0, 1))
                else:
                    x = F.pad(x, (0, 0, 0, 1))
            elif w % 2:
                x = F.pad(x, (0, 1))
            x = conv(x)
        return x


class ReturnedEarly(Tiny):
    """A second stage only where the first leaves both sizes even: an early return."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 2, stride=2) for _ in range(2))

    def forward(self, x: Any) -> Any:
        x = self.convs[0](_pad_to(x, 2))
        if x.shape[2] % 2 == 0 and x.shape[3] % 2 == 0:
            return self.convs[1](x)
        return x


class AskedTwice(Tiny):
    """One truth asked by two statements: a pad where H is odd, a crop where it padded."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: Any) -> Any:
        h = x.shape[2]
        odd = h % 2 == 1
        if odd:
            x = F.pad(x, (0, 0, 0, 1))
        x = self.conv(x)
        if odd:
            x = x[:, :, :h]
        return x


class TensorCounted(Tiny):
    """Padded stages counted in a tensor's width that a later branch asks (the flag in a traced tensor)."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 3, stride=2) for _ in range(2))
        self.extra = nn.Conv2d(1, 1, 2)

    def forward(self, x: Any) -> Any:
        marks = x[:, :, :1, :0]
        for conv, m in zip(self.convs, (3, 5), strict=True):
            h, w = x.shape[2:]
            if h % m or w % m:
                x = F.pad(x, (0, (-w) % m, 0, (-h) % m))
                marks = F.pad(marks, (0, 1))
            x = conv(x)
        if marks.shape[3] == 0:
            x = self.extra(x)
        return x


class SizeRemembered(Tiny):
    """A padded stage rebinds a traced size that a later branch compares with the input's height."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 3, stride=2) for _ in range(2))
        self.extra = nn.Conv2d(1, 1, 2)

    def forward(self, x: Any) -> Any:
        first = seen = x.shape[2]
        for conv, m in zip(self.convs, (3, 5), strict=True):
            h, w = x.shape[2:]
            if h % m or w % m:
                x = F.pad(x, (0, (-w) % m, 0, (-h) % m))
                seen = x.shape[2] * 0
            x = conv(x)
        if seen == first:
            x = self.extra(x)
        return x


NEVER_MISREAD: list[type[Tiny]] = [
    Swapped,
    Aliased,
    Broadcast,
    Chained,
    Nested,
    ReturnedEarly,
    AskedTwice,
    TensorCounted,
    SizeRemembered,
    PaddedSizesAsked,
    CaughtPad,
]


def _read_or_refused(model: type[Tiny]) -> None:
    built = model().eval()
    names: tuple[str, ...] = model.names
    top: int = model.top
    assert any(_run(built, sizes) is not None for sizes in _grid(names, top))
    try:
        net = from_torch(built, (1, 1, *names))
    except SymconvError as refusal:
        assert "not modelled" in str(refusal) or "unsupported" in str(refusal)
        return
    assert _wrong(built, net, names, top) == []


@pytest.mark.parametrize("model", NEVER_MISREAD, ids=lambda model: model.__name__)
def test_branches_on_sizes_in_several_places_are_never_misread(model: type[Tiny]) -> None:
    _read_or_refused(model)


# A side rebinds only traced names, yet leaves Python's state different from the other side's. Each
# pads H and W to multiples of 3 where they need it and does something more only where neither padded: at every
# H and W both multiples of 3 (100 sizes of the grid) reading one side at a time would differ from PyTorch.


class SizeCounted(Tiny):
    """The count of pads kept in a traced size (`n = h * 0`, `n = n + 1`): a later `if n == 0:` pads by 1.
    On every path the importer traces, n is a constant, so that branch is no branch on sizes."""

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        n = h * 0
        if h % 3:
            n = n + 1
        if w % 3:
            n = n + 1
        if n == 0:
            x = F.pad(x, (0, 1, 0, 1))
        return x


class SizeCountedRefusal(Tiny):
    """The same count, and a refusal where it is 0: PyTorch refuses H = W = 3, the network read does not."""

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        n = h * 0
        if h % 3:
            n = n + 1
        if w % 3:
            n = n + 1
        if n == 0:
            raise ValueError("both sizes multiples of 3")
        return x


class KeptInDict(Tiny):
    """Each pad kept by `dict.setdefault`, whose value the side assigns: a call that stores an item."""

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        seen: dict[str, Any] = {}
        if h % 3:
            x = seen.setdefault("h", F.pad(x, (0, 0, 0, (-h) % 3)))
        if w % 3:
            x = seen.setdefault("w", F.pad(x, (0, (-w) % 3)))
        if not seen:
            x = F.pad(x, (0, 1, 0, 1))
        return x


class CountedByMethod(Tiny):
    """Each pad made by a method that counts its calls in an attribute."""

    def padded(self, x: Any, amounts: tuple[int, ...]) -> Any:
        self.count += 1
        return F.pad(x, amounts)

    def forward(self, x: Any) -> Any:
        self.count = 0
        h, w = x.shape[2:]
        if h % 3:
            x = self.padded(x, (0, 0, 0, (-h) % 3))
        if w % 3:
            x = self.padded(x, (0, (-w) % 3))
        if self.count == 0:
            x = F.pad(x, (0, 1, 0, 1))
        return x


class CountedByClosure(Tiny):
    """Each pad made by a nested function that counts its calls in a `nonlocal`."""

    def forward(self, x: Any) -> Any:
        count = 0

        def padded(t: Any, amounts: tuple[int, ...]) -> Any:
            nonlocal count
            count += 1
            return F.pad(t, amounts)

        h, w = x.shape[2:]
        if h % 3:
            x = padded(x, (0, 0, 0, (-h) % 3))
        if w % 3:
            x = padded(x, (0, (-w) % 3))
        if count == 0:
            x = F.pad(x, (0, 1, 0, 1))
        return x


PADS = [0]


def _counted(x: Any, amounts: tuple[int, ...]) -> Any:
    PADS[0] += 1
    return F.pad(x, amounts)


class CountedInGlobal(Tiny):
    """Each pad made by a module-level function that counts its calls in a global list."""

    def forward(self, x: Any) -> Any:
        PADS[0] = 0
        h, w = x.shape[2:]
        if h % 3:
            x = _counted(x, (0, 0, 0, (-h) % 3))
        if w % 3:
            x = _counted(x, (0, (-w) % 3))
        if PADS[0] == 0:
            x = F.pad(x, (0, 1, 0, 1))
        return x


class CountedInHandler(Tiny):
    """A side that raises, caught by the forward, whose handler pads and counts."""

    def forward(self, x: Any) -> Any:
        h, w = x.shape[2:]
        count = 0
        for size, amounts in ((h, (0, 0, 0, (-h) % 3)), (w, (0, (-w) % 3))):
            try:
                if size % 3:
                    raise ValueError("pad")
            except ValueError:
                x = F.pad(x, amounts)
                count += 1
        if count == 0:
            x = F.pad(x, (0, 1, 0, 1))
        return x


class StagesCounted(Tiny):
    """Two strided stages padded to multiples of 3 and 5, the count in a traced size, a last conv only where
    neither stage padded (H or W in 12, 21)."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 3, stride=2) for _ in range(2))
        self.extra = nn.Conv2d(1, 1, 2)

    def forward(self, x: Any) -> Any:
        count = x.shape[2] * 0
        for conv, m in zip(self.convs, (3, 5), strict=True):
            h, w = x.shape[2:]
            if h % m or w % m:
                x = F.pad(x, (0, (-w) % m, 0, (-h) % m))
                count = count + 1
            x = conv(x)
        if count == 0:
            x = self.extra(x)
        return x


COUPLED: list[type[Tiny]] = [
    SizeCounted,
    SizeCountedRefusal,
    KeptInDict,
    CountedByMethod,
    CountedByClosure,
    CountedInGlobal,
    CountedInHandler,
    StagesCounted,
]


@pytest.mark.parametrize("model", COUPLED, ids=lambda model: model.__name__)
def test_state_a_side_leaves_behind_is_never_misread(model: type[Tiny]) -> None:
    _read_or_refused(model)


class SizeBumped(Tiny):
    """A side that only rebinds a traced size (`h = h + 1` where H is no multiple of 3), and a refusal of
    heights below 10 as bumped: PyTorch refuses H = 9 (a multiple of 3, not bumped), where the side that bumps
    would keep H + 1 >= 10 alone; the refusal past the other side must be the network's there."""

    def forward(self, x: Any) -> Any:
        h = x.shape[2]
        if h % 3:
            h = h + 1
        if h < 10:
            raise ValueError("height below 10")
        return x


def test_a_size_rebound_on_one_side_is_never_misread() -> None:
    _read_or_refused(SizeBumped)
