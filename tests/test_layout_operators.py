"""Splits, pads, slices and products of tensors whose dimensions were moved or merged (channels-last
tensors, tokens, heads, windows), in the PyTorch importer, against PyTorch itself.

Each model runs in PyTorch (CPU) on every size 1..30 of each axis, the other at a few sizes (square and not);
the imported Network must give the same output sizes where PyTorch runs and refuse exactly where it raises
(see test_operators.agree). The channel counts are checked too: every model ends in a convolution whose
in_channels PyTorch checks, and the importer refuses a wrong count. Receptive fields of 1-D models are
compared with the positions each output really depends on (autograd).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.errors import SpecError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402

from .test_model_operators import GRID  # noqa: E402
from .test_operators import Lambda, _dependencies, agree  # noqa: E402
from .zoo import MANetPAB  # noqa: E402


class HeadAttention(nn.Module):
    """timm's attention2d (CoAtNet, MaxViT, head first): q, k, v from one 1x1 convolution viewed as (batch,
    heads, 3 * head_dim, H*W) and chunked along the head dimension; q^T k, softmax, v attn^T, viewed back."""

    def __init__(self, dim: int = 4, heads: int = 2) -> None:
        super().__init__()
        self.heads = heads
        self.down = nn.Conv2d(dim, dim, 3, stride=2)
        self.qkv = nn.Conv2d(dim, 3 * dim, 1)
        self.proj = nn.Conv2d(dim, dim, 2)

    def forward(self, x: Any) -> Any:
        x = self.down(x)
        b, c, h, w = x.shape
        q, k, v = self.qkv(x).view(b, self.heads, 3 * c // self.heads, -1).chunk(3, dim=2)
        attn = (q.transpose(-2, -1) @ k).softmax(dim=-1)
        return self.proj((v @ attn.transpose(-2, -1)).reshape(b, -1, h, w))


class TokenAttention(nn.Module):
    """EfficientFormer's Attention over (batch, tokens, channels): q, k, v from one Linear, reshaped to
    (batch, tokens, heads, -1), permuted to heads first, split by a list of sizes [key, key, value]; q k^T,
    softmax, attn v, back to tokens, then to (batch, channels, H, W). `bmm`: torch.bmm on one head."""

    def __init__(self, dim: int = 4, heads: int = 2, key: int = 1, value: int = 3, bmm: bool = False) -> None:
        super().__init__()
        self.heads, self.key, self.value, self.bmm = (1 if bmm else heads), key, value, bmm
        self.down = nn.Conv2d(dim, dim, 2, stride=2, padding=1)
        self.qkv = nn.Linear(dim, self.heads * (2 * key + value))
        self.proj = nn.Linear(self.heads * value, dim)
        self.out = nn.Conv2d(dim, 1, 3)

    def forward(self, x: Any) -> Any:
        x = self.down(x)
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        n = tokens.shape[1]
        qkv = self.qkv(tokens).reshape(b, n, self.heads, -1).permute(0, 2, 1, 3)
        q, k, v = qkv.split([self.key, self.key, self.value], dim=3)
        if self.bmm:
            q, k, v = (t.reshape(b, n, -1) for t in (q, k, v))
            y = torch.bmm(torch.bmm(q, k.transpose(1, 2)).softmax(-1), v)
        else:
            y = ((q @ k.transpose(-2, -1)).softmax(dim=-1) @ v).transpose(1, 2)
        y = self.proj(y.reshape(b, n, -1))
        return self.out(y.transpose(1, 2).reshape(b, c, h, w))


class WindowAttention(nn.Module):
    """Swin's window attention on a channels-last tensor (timm's SwinTransformerBlock without the shift):
    padded to a multiple of the window (F.pad's pairs from the last dimension: (0, 0, 0, pad_w, 0, pad_h)),
    partitioned into windows, attention inside each window (q @ k^T, attn @ v), merged back and cropped to
    the size before padding (x[:, :H, :W, :])."""

    def __init__(self, dim: int = 2, window: int = 3, fused: bool = False, bias: int | None = None) -> None:
        super().__init__()
        self.window, self.fused = window, fused
        # a relative position bias of one window's tokens against its tokens (timm's fused path)
        self.bias = nn.Parameter(torch.zeros(2 * (bias or window * window,)))
        self.embed = nn.Conv2d(dim, dim, 2, stride=2)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Conv2d(dim, 1, 1)

    def forward(self, x: Any) -> Any:
        x = self.embed(x).permute(0, 2, 3, 1)
        b, h, w, c = x.shape
        ws = self.window
        x = F.pad(x, (0, 0, 0, (ws - w % ws) % ws, 0, (ws - h % ws) % ws))
        _, hp, wp, _ = x.shape
        x = x.reshape(b, hp // ws, ws, wp // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, c)
        q, k, v = self.qkv(x).reshape(x.shape[0], ws * ws, 3, c).permute(2, 0, 1, 3).unbind(0)
        if self.fused:
            x = F.scaled_dot_product_attention(q, k, v, attn_mask=self.bias)
        else:
            x = (q @ k.transpose(-2, -1)).softmax(dim=-1) @ v
        x = x.reshape(b, hp // ws, wp // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)
        return self.out(x[:, :h, :w, :].permute(0, 3, 1, 2))


class MaxViTWindows(nn.Module):
    """torchvision's MaxViT window attention with the partition sizes read from the input: WindowPartition
    (reshape(B, C, H // P, P, W // P, P), permute, reshape(B, G, P * P, C)), q, k, v chunked from one Linear
    and reshaped to heads, torch.einsum("B G H I D, B G H J D -> B G H I J") and back, WindowDepartition."""

    def __init__(self, dim: int = 4, heads: int = 2, p: int = 3) -> None:
        super().__init__()
        self.heads, self.p = heads, p
        self.qkv, self.merge = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.out = nn.Conv2d(dim, 1, 2)

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        p = self.p
        x = x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
        x = x.reshape(b, (h // p) * (w // p), p * p, c)
        g = x.shape[1]
        q, k, v = torch.chunk(self.qkv(x), 3, dim=-1)
        heads = (b, g, p * p, self.heads, c // self.heads)
        q, k, v = (t.reshape(heads).permute(0, 1, 3, 2, 4) for t in (q, k, v))
        attn = torch.einsum("B G H I D, B G H J D -> B G H I J", q, k).softmax(dim=-1)
        y = torch.einsum("B G H I J, B G H J D -> B G H I D", attn, v)
        y = self.merge(y.permute(0, 1, 3, 2, 4).reshape(b, g, p * p, c))
        y = y.reshape(b, h // p, w // p, p, p, c).permute(0, 5, 1, 3, 2, 4).reshape(b, c, h, w)
        return self.out(y)


PRODUCTS: dict[str, tuple[Callable[[], nn.Module], int]] = {
    "heads_chunked": (HeadAttention, 4),
    "tokens_split_by_sizes": (TokenAttention, 4),
    "tokens_bmm": (lambda: TokenAttention(bmm=True), 4),
    "windows_padded_channels_last": (WindowAttention, 2),
    "windows_attention_with_bias": (lambda: WindowAttention(fused=True), 2),
    "position_attention": (MANetPAB, 3),
    "maxvit_windows_einsum": (MaxViTWindows, 4),
}


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_attention_by_products_of_tensors(name: str) -> None:
    make, channels = PRODUCTS[name]
    agree(make(), (1, channels, "H", "W"), sizes=GRID)


LAYOUTS: dict[str, Callable[[], nn.Module]] = {
    # torch.chunk's unequal pieces (ceil(5 / 3) = 2: 2, 2, 1) of a channels-last tensor's channels
    "chunk_channels_last": lambda: Lambda(
        lambda m, x: m.layers[1](m.layers[0](x).permute(0, 2, 3, 1).chunk(3, dim=-1)[2].permute(0, 3, 1, 2)),
        nn.Conv2d(1, 5, 2),
        nn.Conv2d(1, 1, 3, stride=2),
    ),
    # torch.split by a size along the channels (5 = 2 + 2 + 1): the last piece is shorter
    "split_channels_last": lambda: Lambda(
        lambda m, x: m.layers[1](m.layers[0](x).permute(0, 2, 3, 1).split(2, dim=3)[2].permute(0, 3, 1, 2)),
        nn.Conv2d(1, 5, 1),
        nn.Conv2d(1, 1, 2),
    ),
    # a factor of the channels (heads) split, then unbind over a dimension of two parts of the channels
    "unbind_heads": lambda: Lambda(
        lambda m, x: m.layers[1](
            m.layers[0](x)
            .reshape(x.shape[0], 2, 3, 2, -1)
            .unbind(2)[1]
            .reshape(x.shape[0], 4, x.shape[2], x.shape[3])
        ),
        nn.Conv2d(1, 12, 1),
        nn.Conv2d(4, 1, 3),
    ),
    # a stack of three split into one and two, the two summed (BiFPN-like)
    "split_stack": lambda: Lambda(
        lambda m, x: m.layers[0](torch.stack([x, 2 * x, x], dim=1).split([1, 2], dim=1)[1].sum(1)),
        nn.Conv2d(1, 1, 3, stride=2),
    ),
    # along a whole spatial axis of a channels-last tensor: slices of H
    "split_spatial_channels_last": lambda: Lambda(
        lambda m, x: m.layers[0](x.permute(0, 2, 3, 1).split(4, dim=1)[1].permute(0, 3, 1, 2)),
        nn.Conv2d(1, 1, 2),
    ),
    # F.pad of the channels of a channels-last tensor (1 + 3 channels) and of W and H by sizes
    "pad_channels_last": lambda: Lambda(
        lambda m, x: m.layers[0](
            F.pad(x.permute(0, 2, 3, 1), (1, 2, x.shape[3] % 3, 1, -1, 2)).permute(0, 3, 1, 2)
        ),
        nn.Conv2d(4, 1, 2, stride=2),
    ),
    # reflect padding of the last two dimensions (W and the channels, by 0) of a channels-last tensor
    "reflect_channels_last": lambda: Lambda(
        lambda m, x: F.pad(x.permute(0, 2, 3, 1), (0, 0, 3, 1), mode="reflect").permute(0, 3, 1, 2)
    ),
    # a crop of a channels-last tensor by sizes, and of its channels
    "slice_channels_last": lambda: Lambda(
        lambda m, x: m.layers[1](
            m.layers[0](x).permute(0, 2, 3, 1)[:, 1 : x.shape[2] - 1, ::2, 1:].permute(0, 3, 1, 2)
        ),
        nn.Conv2d(1, 3, 2),
        nn.Conv2d(2, 1, 1),
    ),
    # ResNeSt's split attention: the radix groups of a view(b, 2, c // 2, h, w) summed, a gate from their mean
    # viewed to (b, -1) and back to (b, 2, c // 2, 1, 1), multiplied in (a broadcast of two layouts)
    "split_attention_radix_sum": lambda: Lambda(
        lambda m, x: m.layers[2](_split_attention(m.layers[0](x), m.layers[1])),
        nn.Conv2d(1, 6, 3, stride=2),
        nn.Conv2d(3, 6, 1),
        nn.Conv2d(3, 1, 2),
    ),
    # LeViT's batch norm over tokens flattened into the batch, reshape_as back; qkv[0] picks a piece
    "batch_norm_on_tokens": lambda: Lambda(
        lambda m, x: m.layers[3](_norm_tokens(m.layers[0](x), m.layers[1], m.layers[2])),
        nn.Conv2d(1, 2, 2, stride=2),
        nn.Linear(2, 4),
        nn.BatchNorm1d(4),
        nn.Conv2d(4, 1, 3),
    ),
    # tokens reshaped back by a shape joined to (-1,) (timm's reshape(restore_shape + (-1,)))
    "restore_shape_plus_tuple": lambda: Lambda(
        lambda m, x: m.layers[1](_restored(m.layers[0](x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)),
        nn.Conv2d(1, 2, 2, stride=2),
        nn.Conv2d(2, 1, 3),
    ),
    "qkv_index": lambda: Lambda(
        lambda m, x: m.layers[1](
            m.layers[0](x)
            .reshape(x.shape[0], 3, 2, x.shape[2] * x.shape[3])[:, 1]
            .reshape(x.shape[0], 2, x.shape[2], x.shape[3])
        ),
        nn.Conv2d(1, 6, 1),
        nn.Conv2d(2, 1, 2),
    ),
}


def _restored(x: Any) -> Any:
    restore = x.shape[:-1]
    return x.reshape(x.shape[0], -1, x.shape[-1]).reshape(restore + (-1,))  # noqa: RUF005 - as timm writes it


def _norm_tokens(x: Any, linear: nn.Module, norm: nn.Module) -> Any:
    b, _, h, w = x.shape
    tokens = linear(x.flatten(2).transpose(1, 2))
    return norm(tokens.flatten(0, 1)).reshape_as(tokens).transpose(1, 2).reshape(b, -1, h, w)


def _split_attention(x: Any, fc: nn.Module) -> Any:
    b, rc, h, w = x.shape
    groups = x.reshape(b, 2, rc // 2, h, w)
    gate = fc(groups.sum(dim=1).mean((2, 3), keepdim=True))
    gate = gate.view(b, 1, 2, -1).transpose(1, 2).softmax(dim=1).reshape(b, -1)
    return (groups * gate.reshape(b, 2, rc // 2, 1, 1)).sum(dim=1)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_splits_pads_and_slices_on_any_layout(name: str) -> None:
    agree(LAYOUTS[name](), sizes=GRID)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Lambda(lambda m, x: x.flatten(2).chunk(2, dim=-1)[0]),
            "holds the batch or part of a spatial",
        ),
        (lambda: Lambda(lambda m, x: F.pad(x.flatten(2), (1, 1))), "only a whole spatial axis"),
        (
            lambda: Lambda(lambda m, x: F.pad(x.permute(0, 2, 3, 1), (1, 1, 0, 0), mode="reflect")),
            r"only a whole spatial axis, or the channels by integers in constant mode",
        ),
        (
            lambda: Lambda(lambda m, x: F.pad(x.permute(0, 2, 3, 1), (0, 0) * 4, mode="reflect")),
            "PyTorch pads the last 1, 2 or 3 dimensions",
        ),
        (
            lambda: Lambda(
                lambda m, x: m.layers[0](x).flatten(2).transpose(1, 2) @ m.layers[1](x).flatten(2),
                nn.Conv2d(1, 2, 1),
                nn.Conv2d(1, 3, 1),
            ),
            r"multiplies \(\.\., n, 2\) by \(\.\., 3, m\); PyTorch's rule",
        ),
        (
            # (B, 1, HW, C) @ (B, HW, C, 1): the result's element (i, j) reads token i of one and j of the other
            lambda: Lambda(
                lambda m, x: (
                    x.flatten(2).transpose(1, 2).unsqueeze(1) @ x.flatten(2).transpose(1, 2).unsqueeze(-1)
                )
            ),
            "puts positions along H of both operands in different dimensions",
        ),
        (
            lambda: Lambda(lambda m, x: torch.einsum("bchw,bcvw->bhv", x, x)),
            "is not a batched product",
        ),
        (
            lambda: Lambda(lambda m, x: torch.bmm(x.flatten(2), x.flatten(2).transpose(1, 2).unsqueeze(0))),
            "torch.bmm needs two 3-D tensors",
        ),
        (
            lambda: Lambda(
                lambda m, x: (
                    m.layers[0](x).reshape(x.shape[0], 3, 2, -1).transpose(-2, -1)
                    @ m.layers[1](x).reshape(x.shape[0], 2, 2, -1)
                ),
                nn.Conv2d(1, 6, 1),
                nn.Conv2d(1, 4, 1),
            ),
            r"leading dimensions \(channels/3\) and \(channels/2\) differ",
        ),
    ],
)
def test_layout_refusals(make: Callable[[], nn.Module], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        from_torch(make(), (1, 1, "H", "W"))


def test_an_attention_bias_of_another_window_size_is_refused() -> None:
    """PyTorch refuses a (8, 8) bias against windows of 9 tokens at every size; so does the importer."""
    model = WindowAttention(fused=True, bias=8).eval()
    with pytest.raises(RuntimeError):
        model(torch.zeros(1, 2, 12, 12))
    with pytest.raises(SpecError, match=r"shape \(8, 8\) against \(3\*3\), of size 9"):
        from_torch(model, (1, 2, "H", "W"))


def test_contracted_sizes_that_are_formulas_are_a_condition() -> None:
    """x @ x on (batch, channels, H, W) contracts W with H: with W fixed at 5 the condition is H == 5, where
    PyTorch runs and nowhere else; with both axes free it relates them and is refused."""
    model = Lambda(lambda m, x: m.layers[0](x @ x), nn.Conv2d(1, 1, 2)).eval()
    valid = from_torch(model, (1, 1, "H", 5)).valid_inputs()["H"]
    runs = []
    for h in range(1, 20):
        try:
            runs.append(tuple(model(torch.zeros(1, 1, h, 5)).shape[2:]) == (4, 4))
        except RuntimeError:
            runs.append(False)
    assert [h in valid for h in range(1, 20)] == runs and any(runs)
    with pytest.raises(SpecError, match=r"contracted sizes must be equal .*relating the sizes along H and W"):
        from_torch(model, (1, 1, "H", "W"))


class ByParameter(nn.Module):
    """A channels-last tensor times a (2, 3) parameter: a Linear over the channels (2 in, 3 out)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.expand, self.out = nn.Conv2d(1, channels, 1), nn.Conv2d(3, 1, 2)
        self.w = nn.Parameter(torch.zeros(2, 3))

    def forward(self, x: Any) -> Any:
        return self.out((self.expand(x).permute(0, 2, 3, 1) @ self.w).permute(0, 3, 1, 2))


def test_product_with_a_parameter_is_a_linear_over_the_last_dimension() -> None:
    agree(ByParameter(2), sizes=GRID)
    with pytest.raises(SpecError, match="expects 2 input channels, gets 4"):
        from_torch(ByParameter(4), (1, 1, "H", "W"))


class FixedGrid(nn.Module):
    """torchvision's MaxViT partitions and departs windows with the grid fixed when the model is built (8 x 8
    windows of 7 for 56 x 56): a view by numbers, which lines up with the axes only at that size."""

    def __init__(self) -> None:
        super().__init__()
        self.expand, self.out = nn.Conv2d(1, 2, 1), nn.Conv2d(2, 1, 3, stride=2)

    def forward(self, x: Any) -> Any:
        x = self.expand(x)
        b, c = x.shape[0], x.shape[1]
        x = x.view(b, c, 8, 7, 8, 7).permute(0, 2, 4, 3, 5, 1).reshape(b, 64, 49, c)
        x = x.reshape(b, 8, 8, 7, 7, c).permute(0, 5, 1, 3, 2, 4).reshape(b, c, 56, 56)
        return self.out(x)


@pytest.mark.parametrize("size", [55, 56, 57, 63])
def test_views_by_numbers_on_axes_of_fixed_size(size: int) -> None:
    """At a fixed input size a view by numbers is matched by the numbers: read where PyTorch runs, an error
    where it refuses; with a free axis it is refused."""
    model = FixedGrid().eval()
    try:
        expected: tuple[int, ...] | None = tuple(model(torch.zeros(1, 1, size, size)).shape[2:])
    except RuntimeError:
        expected = None
    if expected is None:
        with pytest.raises(SpecError, match="does not line up"):
            from_torch(model, (1, 1, size, size))
    else:
        net = from_torch(model, (1, 1, size, size))
        assert tuple(net.check({}).values()) == expected == (27, 27)
    with pytest.raises(SpecError, match="does not line up"):
        from_torch(model, (1, 1, "H", size))


def exact_fields(model: nn.Module, sizes: range) -> int:
    """At every valid size of a 1-D model without padding, symconv's field of every output position is
    exactly the span of the positions it depends on (autograd, positive weights); the sizes checked."""
    from symconv.nets.receptive import intervals

    model = model.double().eval()
    for p in model.parameters():
        nn.init.uniform_(p, 0.5, 1.0)
    net = from_torch(model, (1, 1, "L"))
    valid = net.valid_inputs()["L"]
    checked = 0
    for n in (n for n in sizes if n in valid):
        real = _dependencies(model, n)
        assert intervals(net, n) == [(min(d), max(d)) for d in real], n
        checked += 1
    return checked


class SequenceAttention(nn.Module):
    """1-D attention: over every position, or inside windows of 4 (a window partition of L)."""

    def __init__(self, window: int | None) -> None:
        super().__init__()
        self.window = window
        self.conv = nn.Conv1d(1, 2, 2)
        self.qkv = nn.Linear(2, 6)
        self.out = nn.Conv1d(2, 1, 3, stride=2)

    def forward(self, x: Any) -> Any:
        x = self.conv(x).transpose(1, 2)
        b, n, c = x.shape
        if self.window:
            x = x.reshape(b, n // self.window, self.window, c)
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        y = (q @ k.transpose(-2, -1)).softmax(-1) @ v
        return self.out(y.reshape(b, n, c).transpose(1, 2))


@pytest.mark.parametrize("window", [None, 4])
def test_attention_fields_are_exact(window: int | None) -> None:
    """Every output reads every position (global attention) or its window's (window attention) through
    the convolutions around it: the fields are those spans, no wider."""
    assert exact_fields(SequenceAttention(window), range(1, 30)) > 5


class SoftmaxOverPositions(nn.Module):
    """A softmax (or L2 normalisation) over the length: every output reads every position."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.conv = nn.Conv1d(1, 2, 2)
        self.softmax = nn.Softmax(dim=-1)
        self.out = nn.Conv1d(2, 1, 3, stride=2)

    def forward(self, x: Any) -> Any:
        x = self.conv(x)
        if self.how == "module":
            x = self.softmax(x)
        elif self.how == "method":
            x = x.log_softmax(2)
        elif self.how == "normalize":
            x = F.normalize(x, dim=2)
        else:  # tokens: the length flattened with a unit axis, softmax over the tokens
            x = x.unsqueeze(-1).flatten(2).softmax(dim=-1).squeeze(-1) if self.how == "tokens" else x
        return self.out(x)


@pytest.mark.parametrize("how", ["module", "method", "normalize"])
def test_a_softmax_over_positions_reads_every_position(how: str) -> None:
    assert exact_fields(SoftmaxOverPositions(how), range(1, 20)) > 5


def test_a_softmax_over_the_channels_reads_one_position() -> None:
    model = Lambda(
        lambda m, x: m.layers[1](F.softmax(m.layers[0](x), dim=1)), nn.Conv1d(1, 2, 2), nn.Conv1d(2, 1, 3)
    )
    assert exact_fields(model, range(1, 20)) > 5


def test_a_softmax_over_one_spatial_axis_keeps_the_sizes() -> None:
    agree(Lambda(lambda m, x: m.layers[0](x).softmax(dim=-1), nn.Conv2d(1, 1, 3, stride=2)), sizes=GRID)
