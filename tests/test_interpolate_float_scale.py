"""F.interpolate and nn.Upsample with a scale factor read from a PyTorch model, against PyTorch itself.

PyTorch computes the output size as floor(float(i) * scale) in double precision, so a scale that is not exact
in binary gives a size that the decimal the user wrote does not: scale_factor=1/3 gives 1 at i=3 (3 * 0.333...
rounds to 1.0), 2.3 gives 114 at i=50, 0.7 gives 62 at i=90. Its nearest kernel then reads floor(j * (1/scale))
in floating point too; and with recompute_scale_factor=True the kernels read with i/o, not 1/scale. symconv
reads a scale whose double is a short binary fraction (0.5, 1.5, 2.25: every product exact) and refuses the
others, and a recomputed fractional scale.
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

SHAPE = (1, 1, "H", "W")


class Interpolate(nn.Module):
    def __init__(self, scale: float, mode: str = "nearest", recompute: bool | None = None) -> None:
        super().__init__()
        self.scale, self.mode, self.recompute = scale, mode, recompute

    def forward(self, x: Any) -> Any:
        return F.interpolate(
            x, scale_factor=self.scale, mode=self.mode, recompute_scale_factor=self.recompute
        )


def _torch_size(model: nn.Module, h: int) -> int | None:
    try:
        with torch.no_grad():
            return int(model(torch.zeros(1, 1, h, 16)).shape[2])
    except RuntimeError:  # an empty output
        return None


def _at(expr: Any, h: int) -> int:
    free = {s: h for s in getattr(expr, "free_symbols", ())}
    return int(expr.subs(free)) if free else int(expr)


def _reads(model: nn.Module, n: int) -> list[tuple[int, int] | None]:
    """For each output row, the first and last input row whose change changes it (float64, CPU)."""
    x = torch.randn(1, 1, n, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    base = model(x)
    found: dict[int, tuple[int, int]] = {}
    for j in range(n):
        moved = x.clone()
        moved[:, :, j] += 1.0
        for y in torch.nonzero((model(moved) - base).abs().amax(dim=(0, 1, 3)) > 0).flatten().tolist():
            lo, hi = found.get(y, (j, j))
            found[y] = (min(lo, j), max(hi, j))
    return [found.get(y) for y in range(base.shape[2])]


@pytest.mark.parametrize("scale", [1 / 3, 2.3, 0.7, 0.29])
def test_a_scale_whose_double_rounds_in_each_product_is_refused(scale: float) -> None:
    """Its sizes follow no formula (PyTorch: 1 at i = 3 for 1/3; 114 at i = 50 for 2.3): refused, never a size
    that PyTorch does not give."""
    with pytest.raises(SpecError, match=r"scale_factor=.* is not a short binary fraction"):
        from_torch(Interpolate(scale), SHAPE)


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "nearest-exact", "area", "bicubic"])
@pytest.mark.parametrize("scale", [0.5, 1.5, 2.25, 0.75, 0.375, 3.0])
def test_a_short_binary_scale_gives_pytorchs_sizes(scale: float, mode: str) -> None:
    model = Interpolate(scale, mode)
    net = from_torch(model, SHAPE)
    valid, size = net.valid_inputs()["H"], net.output_size()["H"]
    wrong = []
    for h in range(1, 301):
        expected = _torch_size(model, h)
        says = _at(size, h) if h in valid else None
        if says != expected:
            wrong.append((h, expected, says))
    assert not wrong, f"scale {scale!r}: (H, PyTorch, symconv) {wrong[:5]} ({len(wrong)} of 300)"


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "nearest-exact", "area"])
@pytest.mark.parametrize(("scale", "n"), [(1.5, 10), (0.75, 17), (2.25, 9), (0.375, 29)])
def test_a_short_binary_scale_reads_what_pytorch_reads(scale: float, n: int, mode: str) -> None:
    model = Interpolate(scale, mode)
    assert intervals(from_torch(model, SHAPE), n) == _reads(model, n)


def test_a_recomputed_fractional_scale_is_refused() -> None:
    with pytest.raises(SpecError, match=r"recompute_scale_factor=True .* reads the input at i/o"):
        from_torch(Interpolate(0.5, "bilinear", recompute=True), SHAPE)
