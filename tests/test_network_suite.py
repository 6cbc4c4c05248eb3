"""Whole networks from PyTorch: the valid input set equals the meta-device ground truth on every size 1..1024."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from symconv.importers.torch import from_torch  # noqa: E402

SIZES = range(1, 1025)


class UNet(nn.Module):
    """Down by a strided conv (or a max pool), up by a transposed conv, skips concatenated."""

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

    def forward(self, x):  # type: ignore[no-untyped-def]
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

    def forward(self, x):  # type: ignore[no-untyped-def]
        return torch.cat([self.a(x), self.up(self.pool(x))], 1)


def chain(*modules: nn.Module) -> nn.Module:
    return nn.Sequential(*modules)


NETWORKS = {
    "unet-conv-2": UNet(2, pool=False),
    "unet-conv-4": UNet(4, pool=False),
    "unet-pool-3": UNet(3, pool=True),
    "unet-pool-5": UNet(5, pool=True),
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


def ground_truth(model: nn.Module) -> set[int]:
    valid = set()
    with torch.no_grad():
        for i in SIZES:
            try:
                model(torch.empty(1, 1, i, device="meta"))
            except RuntimeError:
                continue
            valid.add(i)
    return valid


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_valid_inputs_equal_the_meta_device_ground_truth(name: str) -> None:
    model = NETWORKS[name].to("meta").eval()
    net = from_torch(model, (1, 1, "L"))
    valid = net.valid_inputs()["L"]
    assert valid.proof.startswith("proved")
    truth = ground_truth(model)
    assert truth, name  # the network accepts some sizes: the comparison is not vacuous
    assert {i for i in SIZES if i in valid} == truth
    if name == "two-residues":
        assert (valid.period, valid.residues) == (4, (1, 2))
