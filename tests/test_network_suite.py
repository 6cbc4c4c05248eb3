"""Whole networks from PyTorch: the valid input set equals PyTorch's own answer on every size 1..1024.

The ground truth runs each model (one channel, zeros) at every size on the CPU: with tensors this small the real
kernels are faster than the meta device, whose shape functions and error paths run in Python (a failing
torch.cat costs about half a millisecond there), and they are the behaviour users get. A depth-6 U-Net takes
well under a second for all 1024 sizes.
"""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

from torch import Tensor, nn  # noqa: E402

from symconv.core.arith import evaluate  # noqa: E402
from symconv.core.errors import ShapeError  # noqa: E402
from symconv.logic.prove import Proved  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402

SIZES = range(1, 1025)


class UNet(nn.Module):
    """Down by a strided conv k3 s2 p1 (or MaxPool(2)), up by ConvTranspose(k3, s2, p1, output_padding=1) (or
    ConvTranspose(2, 2)), skips concatenated."""

    def __init__(self, depth: int, pool: bool) -> None:
        super().__init__()
        self.depth, self.pool = depth, pool
        self.enc = nn.ModuleList(nn.Conv1d(1, 1, 3, 1, 1) for _ in range(depth))
        self.down = nn.ModuleList(nn.MaxPool1d(2) if pool else nn.Conv1d(1, 1, 3, 2, 1) for _ in range(depth))
        self.up = nn.ModuleList(
            nn.ConvTranspose1d(1, 1, 2, 2) if pool else nn.ConvTranspose1d(1, 1, 3, 2, 1, output_padding=1)
            for _ in range(depth)
        )
        self.fuse = nn.ModuleList(nn.Conv1d(2, 1, 1) for _ in range(depth))

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for enc, down in zip(self.enc, self.down, strict=True):
            x = enc(x)
            skips.append(x)
            x = down(x)
        for up, fuse, skip in zip(self.up, self.fuse, reversed(skips), strict=True):
            x = fuse(torch.cat([up(x), skip], 1))
        return x


class TwoResidues(nn.Module):
    """A strided conv beside a pool-and-upsample branch: they agree exactly when i mod 4 is 1 or 2."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv1d(1, 1, 3, 2)
        self.pool, self.up = nn.MaxPool1d(4), nn.ConvTranspose1d(1, 1, 2, 2)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.a(x), self.up(self.pool(x))], 1)


class Sum(nn.Module):
    """Two branches added: PyTorch broadcasts a branch whose size is 1."""

    def __init__(self, a: nn.Module, b: nn.Module) -> None:
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x: Tensor) -> Tensor:
        return self.a(x) + self.b(x)


def chain(*modules: nn.Module) -> nn.Module:
    return nn.Sequential(*modules)


NETWORKS = {
    "unet-conv-2": UNet(2, pool=False),
    "unet-conv-4": UNet(4, pool=False),
    "unet-conv-6": UNet(6, pool=False),
    "unet-pool-3": UNet(3, pool=True),
    "unet-pool-5": UNet(5, pool=True),
    "unet-pool-6": UNet(6, pool=True),
    "odd-k3s2p0": chain(*(nn.Conv1d(1, 1, 3, 2) for _ in range(4))),
    "strides-2-3": chain(nn.Conv1d(1, 1, 3, 2, 1), nn.Conv1d(1, 1, 3, 3, 1), nn.MaxPool1d(2)),
    "ceil-pooling": chain(
        nn.Conv1d(1, 1, 3), nn.MaxPool1d(3, 2, ceil_mode=True), nn.MaxPool1d(2, 2, 1, ceil_mode=True)
    ),
    "dilation": chain(nn.Conv1d(1, 1, 3, dilation=2), nn.Conv1d(1, 1, 5, 2, dilation=3), nn.AvgPool1d(2)),
    "resnet-stem": chain(
        nn.Conv1d(1, 1, 7, 2, 3), nn.ReLU(), nn.MaxPool1d(3, 2, 1), nn.Conv1d(1, 1, 3, 1, 1)
    ),
    "transposed-back": chain(nn.Conv1d(1, 1, 4, 3), nn.ConvTranspose1d(1, 1, 4, 3)),
    "two-residues": TwoResidues(),
}
# Additions that broadcast: a pooled branch that is 1 for i in 8..15 beside a wider one; two branches that are
# each 1 on a few sizes and otherwise equal only now and then. Their valid sets end below 20 (the proof covers
# every size beyond), and PyTorch takes about 2 ms to raise for a size mismatch, so 1..256 is enough here.
BROADCASTS = {
    "add-pooled-to-1": Sum(nn.Conv1d(1, 1, 3, 2), nn.MaxPool1d(8)),
    "add-both-ways": Sum(nn.MaxPool1d(4), nn.Conv1d(1, 1, 5, 3)),
}
EXPECTED = {  # period and residues, where the network says something worth pinning down
    "unet-conv-6": (64, (0,)),
    "unet-pool-6": (64, (0,)),
    "two-residues": (4, (1, 2)),
}


def ground_truth(model: nn.Module, sizes: range = SIZES) -> dict[int, int]:
    """size -> output size, for every size on which the model runs."""
    valid = {}
    threads = torch.get_num_threads()
    # One thread: these tensors are tiny, and on a shared machine idle worker threads only contend for cores.
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            for i in sizes:
                try:
                    out = model(torch.zeros(1, 1, i))
                except RuntimeError:
                    continue
                valid[i] = out.shape[-1]
    finally:
        torch.set_num_threads(threads)
    return valid


def check_against_pytorch(model: nn.Module, sizes: range) -> Any:
    """The imported network's proved valid set and output formula against PyTorch at every size."""
    net = from_torch(model, (1, 1, "L"))
    valid = net.valid_inputs()["L"]
    assert isinstance(valid.proof, Proved)
    truth = ground_truth(model, sizes)
    assert truth  # the network accepts some sizes: the comparison is not vacuous
    assert {i for i in sizes if i in valid} == set(truth)
    formula = net.output_size()["L"]
    assert all(evaluate(formula, {"L": i}) == size for i, size in truth.items())
    return valid


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_valid_inputs_equal_pytorch_on_every_size(name: str) -> None:
    valid = check_against_pytorch(NETWORKS[name].eval(), SIZES)
    if name in EXPECTED:
        assert (valid.period, valid.residues) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(BROADCASTS))
def test_add_broadcasts_as_pytorch_does(name: str) -> None:
    check_against_pytorch(BROADCASTS[name].eval(), range(1, 257))


def test_add_names_the_node_where_neither_size_is_1() -> None:
    net = from_torch(BROADCASTS["add-pooled-to-1"].eval(), (1, 1, "L"))
    assert net.valid_inputs()["L"].below == tuple(range(8, 16))
    assert net.check({"L": 15}) == {"L": 7}
    with pytest.raises(
        ShapeError, match=r"node add \(add\): sizes of a and b differ and neither is 1 at L=16"
    ):
        net.check({"L": 16})
