"""Running a PyTorch model at one input size, as the tests of small models compare symconv with it."""

from __future__ import annotations

from typing import Any

from symconv.core.arith import evaluate
from symconv.nets.importers.torch import from_torch


def spatial_output(model: Any, h: int, w: int, channels: int = 3) -> tuple[int, ...] | None:
    """The sizes after the channels of the model's output on a (1, channels, h, w) input, or None where
    PyTorch refuses that size."""
    import torch

    try:
        with torch.no_grad():
            return tuple(model(torch.zeros(1, channels, h, w)).shape[2:])
    except RuntimeError:
        return None


def agrees_with_torch(model: Any, sizes: range, held: int, net: Any = None) -> None:
    """symconv's valid sets and output sizes of a (1, 3, H, W) model (read from PyTorch, or `net`: the model
    read another way, e.g. exported to ONNX) against running it at every size in `sizes` of each axis, the
    other axis held at `held` (a size where it runs)."""
    net = net if net is not None else from_torch(model, (1, 3, "H", "W"))
    valid, output = net.valid_inputs(), net.output_size()
    for dim in ("H", "W"):
        for n in sizes:
            at = {"H": n, "W": held} if dim == "H" else {"H": held, "W": n}
            got = spatial_output(model, at["H"], at["W"])
            assert (n in valid[dim]) == (got is not None), (dim, n, got)
            if got is not None:
                assert tuple(int(evaluate(output[d], at)) for d in ("H", "W")) == got, (dim, n)
