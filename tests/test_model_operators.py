"""More operators of real models in the PyTorch importer, against PyTorch itself: convolutions with
padding_mode reflect / replicate / circular, parameters used as tensors (class tokens, position embeddings,
layer scale), Linear on a channels-last tensor, narrow, expand_as, roll.

Each model runs in PyTorch (CPU) on every size 1..N of each axis (square and not); the imported Network must
give the same output sizes where PyTorch runs and refuse exactly where it raises (see test_operators.agree).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from symconv.nets.importers.torch import from_torch  # noqa: E402

from .test_operators import _dependencies, agree  # noqa: E402

# Every size 1..30 on each axis, the other at a few sizes: both axes reach the small sizes where reflect
# (amount < size) and circular (amount <= size) refuse.
OTHERS = (1, 2, 3, 5, 9, 20, 29)
GRID = sorted({(h, w) for h in range(1, 31) for w in OTHERS} | {(w, h) for h in range(1, 31) for w in OTHERS})

MODES = ("reflect", "replicate", "circular")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "options",
    [
        {"kernel_size": 3, "padding": 1},
        {"kernel_size": (3, 5), "padding": (2, 3), "stride": (2, 1)},
        {"kernel_size": (4, 3), "padding": "same", "dilation": (1, 2)},
        {"kernel_size": 5, "padding": (4, 1), "stride": 3, "dilation": (1, 2)},
        {"kernel_size": 2, "padding": 0},
    ],
)
def test_conv_padding_modes(mode: str, options: dict[str, Any]) -> None:
    agree(nn.Conv2d(1, 2, padding_mode=mode, **options), sizes=GRID)
    agree(
        nn.Sequential(nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, padding_mode=mode, **options)), sizes=GRID
    )


@pytest.mark.parametrize("mode", MODES)
def test_conv_padding_modes_in_one_and_three_dimensions(mode: str) -> None:
    agree(
        nn.Conv1d(1, 1, 4, padding=3, stride=2, padding_mode=mode), (1, 1, "L"), [(n,) for n in range(1, 30)]
    )
    cube = list(itertools.product(range(1, 6), repeat=3))
    agree(nn.Conv3d(1, 1, (1, 3, 2), padding=(0, 2, 1), padding_mode=mode), (1, 1, "D", "H", "W"), cube)


@pytest.mark.parametrize("mode", MODES)
def test_padding_mode_fields_contain_the_real_dependencies(mode: str) -> None:
    """The padding holds input values: every position an output reads (autograd) is in its field."""
    from symconv.nets.receptive import intervals

    conv = nn.Conv1d(1, 1, 3, padding=2, padding_mode=mode).double()
    nn.init.constant_(conv.weight, 1.0)
    model = nn.Sequential(conv, nn.Conv1d(1, 1, 2, stride=2).double()).eval()
    nn.init.constant_(model[1].weight, 1.0)
    net = from_torch(model, (1, 1, "L"))
    valid = net.valid_inputs()["L"]
    checked = 0
    for n in [n for n in range(1, 20) if n in valid]:
        fields, real = intervals(net, n), _dependencies(model, n)
        assert len(fields) == len(real)
        for field, needed in zip(fields, real, strict=True):
            assert field is not None
            lo, hi = max(field[0], 0), min(field[1], n - 1)
            assert all(lo <= t <= hi for t in needed), (n, field, sorted(needed))
        checked += 1
    assert checked > 10
