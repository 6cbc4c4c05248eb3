"""Attention whose key and value are other tensors than the query (PVT's and SegFormer's keys from a map the
query's map reduced by a strided convolution), attention within windows through F.scaled_dot_product_attention
(Twins), and the shape of a tensor made from sizes read back (SegFormer's encoder makes an empty placeholder
feature and the decoders read its channels and sizes): against PyTorch at every size of each axis, and the
receptive fields against perturbing each input position."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.errors import SpecError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402
from symconv.nets.receptive import intervals  # noqa: E402

from .running import agrees_with_torch, spatial_output  # noqa: E402

C = 8


class ReducedKeys(nn.Module):
    """PVT v2's spatial-reduction attention: keys and values from the map reduced by a stride-r convolution."""

    def __init__(self, r: int, matmul: bool = False, heads: int = 2) -> None:
        super().__init__()
        self.heads, self.matmul = heads, matmul
        self.q = nn.Linear(C, C)
        self.sr = nn.Conv2d(C, C, r, r)
        self.kv = nn.Linear(C, 2 * C)
        self.proj = nn.Linear(C, C)

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        n = tokens.shape[1]
        q = self.q(tokens).reshape(b, n, self.heads, c // self.heads).permute(0, 2, 1, 3)
        reduced = self.sr(x).flatten(2).transpose(1, 2)
        kv = self.kv(reduced).reshape(b, -1, 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        k, v = kv.unbind(0)
        if self.matmul:  # SegFormer's: the products written out
            attn = (q @ k.transpose(-2, -1)) * 0.5
            out = attn.softmax(dim=-1) @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v)
        out = self.proj(out.transpose(1, 2).reshape(b, n, c))
        return x + out.transpose(1, 2).reshape(b, c, h, w)


class WindowsBySdpa(nn.Module):
    """Twins' locally-grouped attention: windows of w x w tokens in their own dimension, attention by sdpa."""

    def __init__(self, w: int, heads: int = 2) -> None:
        super().__init__()
        self.w, self.heads = w, heads
        self.qkv = nn.Linear(C, 3 * C)

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        ws = self.w
        y = x.permute(0, 2, 3, 1).reshape(b, h // ws, ws, w // ws, ws, c).transpose(2, 3)
        qkv = self.qkv(y).reshape(b, (h // ws) * (w // ws), ws * ws, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(3, 0, 1, 4, 2, 5).unbind(0)
        out = F.scaled_dot_product_attention(q, k, v)
        out = out.transpose(2, 3).reshape(b, h // ws, w // ws, ws, ws, c).transpose(2, 3)
        return out.reshape(b, h, w, c).permute(0, 3, 1, 2)


def _stem(*blocks: nn.Module) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, C, 3, padding=1), *blocks).eval()


def _fields_hold(model: nn.Module, n: int) -> None:
    """Every output position's field holds every input position its value depends on (float64, along H)."""
    model = model.double()
    fields = intervals(from_torch(model, (1, 3, "H", n)), n)
    x = torch.randn(1, 3, n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        base = model(x)
        for j in range(n):
            moved = x.clone()
            moved[:, :, j] += 1.0
            changed = (model(moved) - base).abs().amax(dim=(0, 1, 3)) > 1e-12
            for y in torch.nonzero(changed).flatten().tolist():
                field = fields[y]
                assert field is not None and field[0] <= j <= field[1], (y, j, field)


@pytest.mark.parametrize("r", [2, 4])
@pytest.mark.parametrize("matmul", [False, True], ids=["sdpa", "matmul"])
def test_keys_from_a_reduced_map_agree_with_pytorch(r: int, matmul: bool) -> None:
    agrees_with_torch(_stem(ReducedKeys(r, matmul), ReducedKeys(r, matmul)), range(1, 30), 16)


def test_keys_from_a_reduced_map_read_every_position() -> None:
    model = _stem(ReducedKeys(2))
    fields = intervals(from_torch(model, (1, 3, "H", 8)), 8)
    assert all(field is not None and field[0] <= 0 and field[1] >= 7 for field in fields)
    _fields_hold(_stem(ReducedKeys(2, matmul=True)), 8)


def test_windows_through_sdpa_agree_with_pytorch_and_read_their_window() -> None:
    model = _stem(WindowsBySdpa(4))
    agrees_with_torch(model, range(1, 30), 8)
    net = from_torch(model, (1, 3, "H", "W"))
    assert 12 in net.valid_inputs()["H"] and 13 not in net.valid_inputs()["H"]
    fields = intervals(from_torch(model, (1, 3, "H", 8)), 8)
    # output row y reads its window's rows (and the stem's one row either side)
    assert fields[5] == (3, 8)
    _fields_hold(model, 8)


class KeysOfAnotherLength(nn.Module):
    """Keys whose tokens differ from the values': PyTorch refuses; so must the reading."""

    def __init__(self) -> None:
        super().__init__()
        self.sr = nn.Conv2d(C, C, 2, 2)

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        q = x.flatten(2).transpose(1, 2).unsqueeze(1)
        k = self.sr(x).flatten(2).transpose(1, 2).unsqueeze(1)
        out = F.scaled_dot_product_attention(q, k, q)
        return out.squeeze(1).transpose(1, 2).reshape(b, c, h, w)


def test_keys_and_values_of_other_lengths_are_refused() -> None:
    # H*W value tokens against (H//2)*(W//2) keys: no size runs in PyTorch; the rule names the contraction
    model = _stem(KeysOfAnotherLength())
    assert all(spatial_output(model, n, n) is None for n in range(1, 12))
    with pytest.raises(SpecError, match="contracted sizes must be equal"):
        from_torch(model, (1, 3, "H", "W"))


class Placeholder(nn.Module):
    """SegFormer's encoder: an empty placeholder feature made from sizes, whose channels and sizes a decoder
    reads back (`features[1].size(1) == 0`, `feature.shape[2:]`)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(C, C, 3, 2, 1)

    def forward(self, x: Any) -> Any:
        b, _, h, w = x.shape
        empty = torch.empty(b, 0, h // 2, w // 2)
        features = [x, empty, self.down(x)]
        chosen = features[2:] if features[1].size(1) == 0 else features[1:]
        size = features[1].shape[2:]
        return F.interpolate(chosen[0], size=size, mode="bilinear")


def test_the_shape_of_a_tensor_made_from_sizes_is_read_back() -> None:
    agrees_with_torch(_stem(Placeholder()), range(1, 20), 9)


class ScoresAgainstAPooledMap(nn.Module):
    """The scores alone, tokens against a pooled map's keys: (batch, H*W, (H//2)*(W//2))."""

    def forward(self, x: Any) -> Any:
        return x.flatten(2).transpose(1, 2) @ F.max_pool2d(x, 2).flatten(2)


def test_scores_against_a_pooled_map_are_refused_as_an_output() -> None:
    # (batch, H*W, (H//2)*(W//2)): the keys are the pooled map's positions, not the output's
    model = _stem(nn.Conv2d(C, 1, 1), ScoresAgainstAPooledMap())
    assert spatial_output(model, 8, 5) == ((8 // 2) * (5 // 2),)
    with pytest.raises(SpecError, match="keys of another map"):
        from_torch(model, (1, 3, "H", "W"))
