"""Empty tensors: a network is defined where PyTorch runs it, and an output axis may then be 0. Slices,
constant padding, merges and views return empty tensors; convolutions, pooling, resampling and reflect or
replicate padding refuse an empty input; broadcasting 0 with 1 gives 0. Checked against running each model."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.arith import evaluate  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402


class SliceAfterConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, 3)

    def forward(self, x: Any) -> Any:
        return self.conv(x)[..., 1:-1]


class ComputedSlice(nn.Module):
    def forward(self, x: Any) -> Any:
        return x[..., : x.shape[-1] // 2 - 1]


class EmptySliceAdded(nn.Module):
    def forward(self, x: Any) -> Any:
        y = x[..., 2:]
        return y + y


class EmptySliceIntoConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, 1, padding=1)

    def forward(self, x: Any) -> Any:
        return self.conv(x[..., 3:])


class EmptySliceResized(nn.Module):
    def forward(self, x: Any) -> Any:
        return F.interpolate(x[..., 2:], scale_factor=2)


class EmptySliceAdaptive(nn.Module):
    def forward(self, x: Any) -> Any:
        return F.adaptive_avg_pool1d(x[..., 2:], 3)


class EmptySlicePadded(nn.Module):
    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: Any) -> Any:
        return F.pad(x[..., 4:], (1, 2), mode=self.mode)


class EmptySliceCatMean(nn.Module):
    def forward(self, x: Any) -> Any:
        return torch.cat([x[..., 2:], x[..., 2:]], 1).mean(1, keepdim=True)


class EmptyBroadcastWithOne(nn.Module):
    """0 with 1 broadcasts to 0 (an empty slice plus a global mean)."""

    def forward(self, x: Any) -> Any:
        return x[..., 5:] + x.mean(-1, keepdim=True)


def _run(model: nn.Module, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        with torch.no_grad():
            return tuple(model(torch.zeros(shape)).shape[2:])
    except RuntimeError:
        return None


MODELS_1D = [
    SliceAfterConv(),
    ComputedSlice(),
    EmptySliceAdded(),
    EmptySliceIntoConv(),
    EmptySliceResized(),
    EmptySliceAdaptive(),
    EmptySlicePadded("constant"),
    EmptySlicePadded("reflect"),
    EmptySlicePadded("replicate"),
    EmptySlicePadded("circular"),
    EmptySliceCatMean(),
    EmptyBroadcastWithOne(),
]


@pytest.mark.parametrize("model", MODELS_1D, ids=lambda m: f"{type(m).__name__}-{getattr(m, 'mode', '')}")
def test_valid_sizes_and_outputs_match_pytorch_with_empty_tensors(model: nn.Module) -> None:
    net = from_torch(model, (1, 1, "L"))
    valid, output = net.valid_inputs()["L"], net.output_size()["L"]
    for n in range(1, 16):
        got = _run(model, (1, 1, n))
        assert (n in valid) == (got is not None), (n, got)
        if got is not None:
            assert int(evaluate(output, {"L": n})) == got[0], (n, got)
