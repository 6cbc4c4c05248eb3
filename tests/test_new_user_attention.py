"""Models written as users write them: SegFormer-like attention with keys and values from a reduced map, ViTs
with a position embedding resized to the patch grid, attention within windows, and forwards whose guard relates
two axes (`if h * w > n:`), against PyTorch on CPU at every size 1..40 of each axis (and every pair where the
guard relates them)."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.errors import SpecError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402

from .running import agrees_with_torch, spatial_output  # noqa: E402

SIZES = range(1, 41)


class EfficientAttention(nn.Module):
    """SegFormer's efficient self-attention: keys and values from the map reduced by a stride-sr convolution."""

    def __init__(self, sr: int, sdpa: bool, dim: int = 8, heads: int = 2) -> None:
        super().__init__()
        self.heads, self.sdpa = heads, sdpa
        self.embed = nn.Conv2d(3, dim, 7, stride=4, padding=3)
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.sr = nn.Conv2d(dim, dim, sr, stride=sr)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Any) -> Any:
        x = self.embed(x)
        b, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)
        q = self.q(t).reshape(b, h * w, self.heads, c // self.heads).permute(0, 2, 1, 3)
        r = self.norm(self.sr(t.permute(0, 2, 1).reshape(b, c, h, w)).reshape(b, c, -1).permute(0, 2, 1))
        k, v = self.kv(r).reshape(b, -1, 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        if self.sdpa:
            o = F.scaled_dot_product_attention(q, k, v)
        else:
            o = (q @ k.transpose(-2, -1) * (c // self.heads) ** -0.5).softmax(dim=-1) @ v
        t = t + o.transpose(1, 2).reshape(b, h * w, c)
        return t.transpose(1, 2).reshape(b, c, h, w)


class PooledKeys(nn.Module):
    """PVT v2-linear: keys and values from an adaptive pooling of the map to 3 x 3."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(3)
        self.kv = nn.Linear(8, 16)

    def forward(self, x: Any) -> Any:
        x = self.embed(x)
        b, c, h, w = x.shape
        k, v = self.kv(self.pool(x).flatten(2).transpose(1, 2)).chunk(2, dim=-1)
        o = F.scaled_dot_product_attention(x.flatten(2).transpose(1, 2), k, v)
        return o.transpose(1, 2).reshape(b, c, h, w)


class ResizedPosition(nn.Module):
    """A ViT whose 4 x 4 position embedding is resized to the patch grid, with a class token's position."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, stride=4)
        self.pos = nn.Parameter(torch.randn(1, 8, 4, 4))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 8))
        self.cls_pos = nn.Parameter(torch.zeros(1, 1, 8))
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x: Any) -> Any:
        x = self.patch(x)
        b, c, gh, gw = x.shape
        pos = F.interpolate(self.pos, size=(gh, gw), mode="bicubic", align_corners=False)
        pos = torch.cat([self.cls_pos, pos.permute(0, 2, 3, 1).reshape(1, -1, c)], dim=1)
        tok = torch.cat([self.cls_token.expand(b, -1, -1), x.flatten(2).transpose(1, 2)], dim=1) + pos
        tok = self.attn(tok, tok, tok)[0][:, 1:]
        return tok.transpose(1, 2).reshape(b, c, gh, gw)


class ResampledTokenEmbedding(nn.Module):
    """timm's resample of a (1, 1 + 16, C) position embedding: the prefix split off, the rest viewed as 4 x 4,
    resized to the patch grid, flattened and joined again."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, stride=4)
        self.pos_embed = nn.Parameter(torch.randn(1, 17, 8))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 8))

    def forward(self, x: Any) -> Any:
        x = self.patch(x)
        b, c, gh, gw = x.shape
        prefix, pos = self.pos_embed[:, :1], self.pos_embed[:, 1:].reshape(1, 4, 4, -1).permute(0, 3, 1, 2)
        pos = F.interpolate(pos, size=(gh, gw), mode="bicubic", align_corners=False)
        pos = torch.cat([prefix, pos.permute(0, 2, 3, 1).reshape(1, -1, c)], dim=1)
        t = torch.cat([self.cls_token.expand(b, -1, -1), x.flatten(2).transpose(1, 2)], dim=1) + pos
        return t[:, 1:].transpose(1, 2).reshape(b, c, gh, gw)


class FloorGridPosition(nn.Module):
    """An embedding resized to (h // 4, w // 4) added to the grid of a padded patch convolution, ((h + 2) // 4):
    PyTorch broadcasts where h // 4 is 1 and refuses the other sizes where the two differ."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, stride=4, padding=1)
        self.pos = nn.Parameter(torch.randn(1, 8, 4, 4))

    def forward(self, x: Any) -> Any:
        h, w = x.shape[-2:]
        pos = F.interpolate(self.pos, size=(h // 4, w // 4), mode="bilinear", align_corners=False)
        return self.patch(x) + pos


class WindowAttention(nn.Module):
    """Channels-last padding to whole 4 x 4 windows, scaled_dot_product_attention inside each, a crop back."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.qkv = nn.Linear(8, 24)

    def forward(self, x: Any) -> Any:
        x = self.conv(x).permute(0, 2, 3, 1)
        b, h, w, c = x.shape
        ph, pw = (4 - h % 4) % 4, (4 - w % 4) % 4
        x = F.pad(x, (0, 0, 0, pw, 0, ph))
        hp, wp = h + ph, w + pw
        x = x.view(b, hp // 4, 4, wp // 4, 4, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, 16, c)
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        x = F.scaled_dot_product_attention(q, k, v)
        x = x.view(b, hp // 4, wp // 4, 4, 4, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)
        return x[:, :h, :w, :].permute(0, 3, 1, 2)


class SameBothSides(nn.Module):
    """`if h * w > limit:` with the same convolution written on each side."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.conv = nn.Conv2d(3, 8, 3, stride=2)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[-2:]
        if h * w > self.limit:
            y = self.conv(x)
        else:
            y = self.conv(x)
        return y


class IdentityResizeSide(nn.Module):
    """`if h * w > 256:` resizes to the tensor's own size (a copy) on one side."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[-2:]
        y = self.conv(x)
        if h * w > 256:
            y = F.interpolate(y, size=y.shape[-2:], mode="bilinear", align_corners=False)
        return y


class PoolWhenLarge(nn.Module):
    """`if h * w > 256:` pools first: two different networks."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[-2:]
        if h * w > 256:
            x = F.avg_pool2d(x, 2)
        return self.conv(x)


class ChannelsFirstAttention(nn.Module):
    """DANet's position attention written channels-first, `bmm(value, attention^T)`, with keys and values
    from the map max-pooled by 2 (reduced=True) or the map itself."""

    def __init__(self, reduced: bool) -> None:
        super().__init__()
        self.reduced = reduced
        self.q, self.k, self.v = nn.Conv2d(3, 2, 1), nn.Conv2d(3, 2, 1), nn.Conv2d(3, 3, 1)

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        kv = F.max_pool2d(x, 2) if self.reduced else x
        q = self.q(x).view(b, -1, h * w).permute(0, 2, 1)
        attention = torch.bmm(q, self.k(kv).flatten(2)).softmax(dim=-1)
        out = torch.bmm(self.v(kv).flatten(2), attention.permute(0, 2, 1))
        return out.view(b, c, h, w) + x


def agrees_on_every_pair(model: Any) -> None:
    """symconv's valid sets and output sizes against PyTorch at every (H, W) in SIZES x SIZES."""
    net = from_torch(model, (1, 3, "H", "W"))
    valid, output = net.valid_inputs(), net.output_size()
    for h in SIZES:
        for w in SIZES:
            got = spatial_output(model, h, w)
            assert (h in valid["H"] and w in valid["W"]) == (got is not None), (h, w, got)
            if got is not None:
                subs = {s: (h if s.name == "H" else w) for e in output.values() for s in e.free_symbols}
                assert tuple(int(output[d].subs(subs)) for d in ("H", "W")) == got, (h, w)


@pytest.mark.parametrize(
    ("model", "held"),
    [
        (EfficientAttention(2, sdpa=False), 13),
        (EfficientAttention(2, sdpa=True), 13),
        (EfficientAttention(3, sdpa=True), 13),
        (PooledKeys(), 13),
        (ResizedPosition(), 13),
        (ResampledTokenEmbedding(), 13),
        (FloorGridPosition(), 9),
        (WindowAttention(), 13),
        (ChannelsFirstAttention(reduced=False), 13),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else str(v),
)
def test_agrees_with_torch_on_each_axis(model: Any, held: int) -> None:
    agrees_with_torch(model.eval(), SIZES, held)


@pytest.mark.parametrize(
    "model",
    [SameBothSides(256), SameBothSides(10**9), IdentityResizeSide()],
    ids=["sample_large", "sample_small", "identity_resize"],
)
def test_guard_relating_axes_agrees_on_every_pair(model: Any) -> None:
    agrees_on_every_pair(model.eval())


def test_guard_relating_axes_with_two_networks_is_refused() -> None:
    with pytest.raises(SpecError, match=r"if h \* w > 256:.*may give different networks"):
        from_torch(PoolWhenLarge().eval(), (1, 3, "H", "W"))


@pytest.mark.xfail(
    strict=True,
    reason="refused: values from a max-pooled map contracted on the left of bmm, the map's own positions kept "
    "from the right operand (DANet's channels-first attention), though PyTorch runs it at every size >= 2",
)
def test_channels_first_attention_to_a_pooled_map() -> None:
    agrees_with_torch(ChannelsFirstAttention(reduced=True).eval(), SIZES, 13)


class ScoresFromReducedRows(nn.Module):
    """Channels-first attention whose scores hold the reduced map's positions as rows, `(B, M, N)`, and the
    values of the reduced map contracted against them: the output holds the map's own positions."""

    def __init__(self) -> None:
        super().__init__()
        self.sr = nn.Conv2d(3, 3, 3, stride=2, padding=1)

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        kv = self.sr(x).flatten(2)
        attention = (kv.transpose(1, 2) @ x.flatten(2)).softmax(dim=1)
        return (kv @ attention).view(b, c, h, w)


@pytest.mark.xfail(
    strict=True,
    reason="refused as an output 'whose axes are (batch, channels, H', W')' split or merged by a view, though "
    "its positions are the map's own and PyTorch runs it at every size",
)
def test_scores_with_reduced_rows() -> None:
    agrees_with_torch(ScoresFromReducedRows().eval(), SIZES, 13)


@pytest.mark.xfail(
    strict=True,
    reason="the refusal names the convolution both sides make ('a path through its other side makes conv ..., "
    "which the network read does not') instead of the pooling only one side makes",
)
def test_refusal_names_the_operation_only_one_side_makes() -> None:
    with pytest.raises(SpecError, match=r"avg_pool2d"):
        from_torch(PoolWhenLarge().eval(), (1, 3, "H", "W"))
