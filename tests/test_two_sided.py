"""Branches on sizes whose both sides run: a U-Net that resizes its upsampled tensor to the skip's size only
where they differ is read as the resizing side (an identity where they are equal), checked against PyTorch:
the valid sizes and output sizes of each axis, and every output position's field (autograd). A side that is
not an identity where the guard holds is refused, naming the branch."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.errors import SpecError, SymconvError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402
from symconv.nets.receptive import intervals  # noqa: E402


class Up(nn.Module):
    """Upsampling by a transposed convolution, resized to the skip's size where it differs (`form` says how
    the model writes the branch)."""

    def __init__(self, channels: int, form: str) -> None:
        super().__init__()
        self.form = form
        self.up = nn.ConvTranspose2d(channels, channels, 2, 2)
        self.conv = nn.Conv2d(2 * channels, channels, 3, padding=1)

    def forward(self, x: Any, skip: Any) -> Any:
        x = self.up(x)
        if self.form == "shape":
            if x.shape != skip.shape:
                x = F.interpolate(x, size=skip.shape[2:])
        elif self.form == "bilinear":
            x = (
                F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
                if x.shape[-2:] != skip.shape[-2:]
                else x
            )
        elif self.form == "equal":
            if x.shape[2:] == skip.shape[2:]:
                pass
            else:
                x = F.interpolate(x, size=(skip.size(2), skip.size(3)), mode="bicubic")
        return self.conv(torch.cat([skip, x], 1))


class UNet(nn.Module):
    def __init__(self, form: str) -> None:
        super().__init__()
        self.d1 = nn.Conv2d(1, 2, 3, padding=1)
        self.d2 = nn.Conv2d(2, 2, 3, padding=1)
        self.d3 = nn.Conv2d(2, 2, 3)
        self.pool = nn.AvgPool2d(2)  # every position it reads has a gradient (a max pool passes one)
        self.u2 = Up(2, form)
        self.u1 = Up(2, form)

    def forward(self, x: Any) -> Any:
        a = self.d1(x)
        b = self.d2(self.pool(a))
        c = self.d3(self.pool(b))
        return self.u1(self.u2(c, b), a)


def _run(model: nn.Module, h: int, w: int) -> tuple[int, int] | None:
    try:
        with torch.no_grad():
            return tuple(model(torch.zeros(1, 1, h, w)).shape[2:])
    except RuntimeError:
        return None


def _read(net: Any, h: int, w: int) -> tuple[int, int] | None:
    try:
        sizes = net.check({"H": h, "W": w})
    except SymconvError:
        return None
    return (sizes["H"], sizes["W"])


FORMS = ["shape", "bilinear", "equal"]


@pytest.mark.parametrize("form", FORMS)
def test_sizes_agree_with_pytorch_on_both_axes(form: str) -> None:
    model = UNet(form).eval()
    net = from_torch(model, (1, 1, "H", "W"))
    for h in range(1, 41):
        for w in (h, 12, 21):  # square, then W held at sizes where the branch is taken and where it is not
            assert _read(net, h, w) == _run(model, h, w), (h, w)


def _rows(model: nn.Module, h: int, w: int) -> list[tuple[int, int]]:
    """For each output row, the first and last input row it depends on (autograd; positive weights)."""
    x = torch.zeros(1, 1, h, w, dtype=torch.float64, requires_grad=True)
    y = model(x)
    spans = []
    for row in range(y.shape[2]):
        (grad,) = torch.autograd.grad(y[0, :, row].sum(), x, retain_graph=True)
        rows = grad[0, 0].abs().sum(dim=1).nonzero().flatten().tolist()
        spans.append((min(rows), max(rows)))
    return spans


@pytest.mark.parametrize("form", FORMS)
def test_fields_agree_with_autograd(form: str) -> None:
    """Clipped to the input, each output row's field is exactly the rows it depends on, at sizes where the
    upsampled tensor matches the skip (the branch skips the resize) and where it does not."""
    model = UNet(form).double().eval()
    for p in model.parameters():
        nn.init.uniform_(p, 0.5, 1.0)
    net = from_torch(model, (1, 1, "H", "W"))
    for h in (12, 13, 14, 15, 22, 23):
        fields = intervals(net, h, dim="H")
        clipped = [(max(lo, 0), min(hi, h - 1)) for lo, hi in fields]  # type: ignore[misc]
        assert clipped == _rows(model, h, 16), h


class OtherSide(nn.Module):
    """A branch on sizes whose other side runs but is no identity where the guard holds."""

    def __init__(self, side: str) -> None:
        super().__init__()
        self.side = side
        self.up = nn.ConvTranspose2d(1, 1, 2, 2)
        self.conv = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: Any) -> Any:
        y = self.up(F.max_pool2d(x, 2))
        half = F.avg_pool2d(x, 2)
        if y.shape != x.shape:
            if self.side == "conv":
                y = self.conv(F.interpolate(y, size=x.shape[2:]))
            elif self.side == "scale":
                y = F.interpolate(y, scale_factor=2)[:, :, : x.shape[2], : x.shape[3]]
            elif self.side == "flip":
                y = F.interpolate(y, size=x.shape[2:]).flip(-1)
            elif self.side == "transpose":
                y = F.interpolate(y, size=x.shape[2:]).transpose(2, 3).contiguous().transpose(2, 3)
            elif self.side == "other size":
                y = F.interpolate(y, size=half.shape[2:])
                y = F.interpolate(y, size=x.shape[2:])
        return x + y


@pytest.mark.parametrize("side", ["conv", "scale", "flip", "transpose", "other size"])
def test_a_side_that_changes_the_network_is_refused(side: str) -> None:
    with pytest.raises(SpecError, match=r"if y.shape != x.shape.*also runs to the end.*not modelled"):
        from_torch(OtherSide(side).eval(), (1, 1, "H", "W"))


def _checked_resize(x: Any, size: Any) -> Any:
    """A helper that checks its argument's type as a library does (a traced shape is no tuple)."""
    if not isinstance(size, tuple | list):
        raise TypeError(f"Unexpected type {type(size)}")
    return F.interpolate(x, size=size)


class HelperRaises(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(1, 1, 2, 2)

    def forward(self, x: Any) -> Any:
        y = self.up(F.max_pool2d(x, 2))
        if y.shape != x.shape:
            y = _checked_resize(y, x.shape[2:])
        return x + y


def test_a_raise_in_a_called_function_is_no_refusal_of_the_sizes() -> None:
    """The other side raises in a helper, on the traced shape (PyTorch runs it at every size): that is not the
    model refusing odd sizes, so the branch is not read as a condition (it was: odd sizes were refused)."""
    assert _run(HelperRaises().eval(), 7, 9) == (7, 9)
    with pytest.raises(SpecError, match=r"tracing the other side failed \(TypeError: Unexpected type"):
        from_torch(HelperRaises().eval(), (1, 1, "H", "W"))


class SizeChosen(nn.Module):
    """Both sides make the same calls, but the resize's size differs: two networks."""

    def forward(self, x: Any) -> Any:
        half = F.avg_pool2d(x, 2)
        size = x.shape[2:] if x.shape[2] > 10 else half.shape[2:]
        return F.interpolate(half, size=size)


class Negated(nn.Module):
    """Both sides keep every size and position (a sign): one network, as far as sizes and fields go."""

    def forward(self, x: Any) -> Any:
        x = F.avg_pool2d(x, 3, 1)
        return x if x.shape[-1] > 4 else -x


def test_sides_that_differ_in_an_argument_are_refused() -> None:
    with pytest.raises(SpecError, match=r"also runs to the end.*each side makes nodes the other does not"):
        from_torch(SizeChosen(), (1, 1, "H", "W"))


def test_sides_that_differ_in_a_sign_are_one_network() -> None:
    model = Negated().eval()
    net = from_torch(model, (1, 1, "H", "W"))
    for w in range(1, 20):
        assert _read(net, 9, w) == _run(model, 9, w), w
