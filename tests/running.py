"""Running a PyTorch model at one input size, as the tests of small models compare symconv with it."""

from __future__ import annotations

from typing import Any


def spatial_output(model: Any, h: int, w: int, channels: int = 3) -> tuple[int, ...] | None:
    """The sizes after the channels of the model's output on a (1, channels, h, w) input, or None where
    PyTorch refuses that size."""
    import torch

    try:
        with torch.no_grad():
            return tuple(model(torch.zeros(1, channels, h, w)).shape[2:])
    except RuntimeError:
        return None
