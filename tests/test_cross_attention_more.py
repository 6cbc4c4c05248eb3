"""More attention to another map's keys and values, against PyTorch: keys from maps larger or smaller than the
query's, from strided, pooled, adaptive and interpolated maps, in one, two and three dimensions; values from a
map other than the keys'; queries from the reduced map; windows with global keys; slices of the scores; and the
crops and reshapes whose sizes are decided on the size formulas themselves. Each model's valid sizes and output
sizes are compared with running it at every size of each axis, and its receptive fields with perturbing each
input row in float64."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.arith import evaluate  # noqa: E402
from symconv.core.errors import SpecError, SymconvError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402
from symconv.nets.receptive import intervals  # noqa: E402

C = 4
AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
CONV: dict[int, Any] = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}


def _tokens(x: Any) -> Any:
    """(batch, channels, *sizes) -> (batch, positions, channels)."""
    return x.flatten(2).transpose(1, 2)


def _back(o: Any, x: Any, nd: int) -> Any:
    """Tokens (batch, channels, positions) put back on x's map."""
    if nd == 1:
        b, c, n = x.shape
        return o.reshape(b, c, n)
    if nd == 2:
        b, c, h, w = x.shape
        return o.reshape(b, c, h, w)
    b, c, d, h, w = x.shape
    return o.reshape(b, c, d, h, w)


def _stem(nd: int, *blocks: nn.Module) -> nn.Module:
    return nn.Sequential(CONV[nd](3, C, 3, padding=1), *blocks).eval()


def _run(model: nn.Module, sizes: list[int]) -> tuple[int, ...] | None:
    """The output's sizes after the channels, or None where PyTorch refuses the input."""
    try:
        with torch.no_grad():
            return tuple(model(torch.zeros(1, 3, *sizes)).shape[2:])
    except RuntimeError:
        return None


def _agrees(model: nn.Module, nd: int, sizes: range, held: int) -> None:
    """Valid sizes and output sizes equal PyTorch's at every size of each axis (the others at `held`)."""
    axes = AXES[nd]
    net = from_torch(model, (1, 3, *axes))
    valid, output = net.valid_inputs(), net.output_size()
    for axis in axes:
        for n in sizes:
            at = {a: n if a == axis else held for a in axes}
            got = _run(model, [at[a] for a in axes])
            assert (n in valid[axis]) == (got is not None), (axis, n, got)
            if got is not None:
                assert tuple(int(evaluate(output[a], at)) for a in axes) == got, (axis, n)


def _fields_hold(model: nn.Module, nd: int, n: int, held: int) -> None:
    """Every output row's field holds every input row its value depends on (float64, along the first axis)."""
    model = model.double()
    axes = AXES[nd]
    fields = intervals(from_torch(model, (1, 3, axes[0], *[held] * (nd - 1))), n)
    x = torch.randn(
        1, 3, n, *[held] * (nd - 1), dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        base = model(x)
        assert len(fields) == base.shape[2]
        others = tuple(d for d in range(base.dim()) if d != 2)
        for j in range(n):
            moved = x.clone()
            moved[:, :, j] += 1.0
            changed = (model(moved) - base).abs().amax(dim=others) > 1e-12
            for y in torch.nonzero(changed).flatten().tolist():
                field = fields[y]
                assert field is not None and field[0] <= j <= field[1], (y, j, field)


class Cross(nn.Module):
    """Tokens of the map attend to keys from `keys(x)` and values from `values(x)` (default: the keys')."""

    def __init__(self, nd: int, keys: nn.Module, values: nn.Module | None = None, sdpa: bool = True) -> None:
        super().__init__()
        self.nd, self.sdpa = nd, sdpa
        self.keys, self.values = keys, values if values is not None else keys

    def forward(self, x: Any) -> Any:
        q, k, v = _tokens(x), _tokens(self.keys(x)), _tokens(self.values(x))
        if self.sdpa:
            o = F.scaled_dot_product_attention(q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1)).squeeze(1)
        else:
            o = (q @ k.transpose(-2, -1)).softmax(-1) @ v
        return x + _back(o.transpose(1, 2), x, self.nd)


class Doubled(nn.Module):
    """A map twice as large: keys from a map larger than the query's."""

    def forward(self, x: Any) -> Any:
        return F.interpolate(x, scale_factor=2)


def _cross(nd: int, keys: nn.Module, values: nn.Module | None = None, sdpa: bool = True) -> nn.Module:
    return _stem(nd, Cross(nd, keys, values, sdpa))


CROSS: dict[str, Callable[[], nn.Module]] = {
    "larger-sdpa": lambda: _cross(2, Doubled()),
    "larger-matmul": lambda: _cross(2, Doubled(), sdpa=False),
    "k3s3p1-sdpa": lambda: _cross(2, nn.Conv2d(C, C, 3, 3, 1)),
    "k3s3p1-matmul": lambda: _cross(2, nn.Conv2d(C, C, 3, 3, 1), sdpa=False),
    "values-pooled": lambda: _cross(2, nn.Conv2d(C, C, 2, 2), nn.AvgPool2d(2, 2)),
    "adaptive-sdpa": lambda: _cross(2, nn.AdaptiveAvgPool2d(3)),
    "adaptive-matmul": lambda: _cross(2, nn.AdaptiveAvgPool2d(3), sdpa=False),
    "1d-k3s3": lambda: _cross(1, nn.Conv1d(C, C, 3, 3)),
    "1d-k3s3-matmul": lambda: _cross(1, nn.Conv1d(C, C, 3, 3), sdpa=False),
    # values of ceil(L/2) tokens against keys of floor(L/2): PyTorch runs at even L only
    "1d-values-ceil-sdpa": lambda: _cross(1, nn.Conv1d(C, C, 2, 2), nn.MaxPool1d(2, 2, ceil_mode=True)),
    "1d-values-ceil-matmul": lambda: _cross(
        1, nn.Conv1d(C, C, 2, 2), nn.MaxPool1d(2, 2, ceil_mode=True), sdpa=False
    ),
}


@pytest.mark.parametrize("case", sorted(CROSS))
def test_keys_from_another_map_agree_with_pytorch(case: str) -> None:
    _agrees(CROSS[case](), 2 if case[:2] not in ("1d", "3d") else 1, range(1, 41), 16)


def test_keys_from_another_map_in_three_dimensions_agree_with_pytorch() -> None:
    _agrees(_cross(3, nn.Conv3d(C, C, 2, 2)), 3, range(1, 17), 5)


class ReducedQuery(nn.Module):
    """Queries from the reduced map, keys and values the full map's: the output is on the reduced map."""

    def __init__(self, nd: int, matmul: bool) -> None:
        super().__init__()
        self.nd, self.matmul = nd, matmul
        self.sr = CONV[nd](C, C, 3, 2, 1 if nd == 2 else 0)

    def forward(self, x: Any) -> Any:
        r = self.sr(x)
        q, k = _tokens(r), _tokens(x)
        o = (
            (q @ k.transpose(-2, -1)).softmax(-1) @ k
            if self.matmul
            else F.scaled_dot_product_attention(q, k, k)
        )
        return _back(o.transpose(1, 2), r, self.nd)


class ReducedQueryBack(nn.Module):
    """Queries from the reduced map (k3 s2 p1: ceil), added to a k2 s2 map (floor): PyTorch runs at even sizes."""

    def __init__(self) -> None:
        super().__init__()
        self.sr, self.other = nn.Conv2d(C, C, 3, 2, 1), nn.Conv2d(C, C, 2, 2)

    def forward(self, x: Any) -> Any:
        r = self.sr(x)
        b, c, h, w = r.shape
        o = F.scaled_dot_product_attention(_tokens(r), _tokens(x), _tokens(x))
        return self.other(x) + o.transpose(1, 2).reshape(b, c, h, w)


class LargerQuery(nn.Module):
    """Queries from the doubled map, keys and values the map's own."""

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        u = F.interpolate(x, scale_factor=2)
        o = F.scaled_dot_product_attention(_tokens(u), _tokens(x), _tokens(x))
        return o.transpose(1, 2).reshape(b, c, 2 * h, 2 * w) + u


class QueryRowsSliced(nn.Module):
    """The scores' rows (query positions) sliced: the output keeps L - 2 positions."""

    def __init__(self) -> None:
        super().__init__()
        self.sr = nn.Conv1d(C, C, 2, 2)

    def forward(self, x: Any) -> Any:
        q, k = _tokens(x), _tokens(self.sr(x))
        a = (q @ k.transpose(-2, -1))[:, 1:-1]
        return (a.softmax(-1) @ k).transpose(1, 2)


class HeadsThenPool(nn.Module):
    """PVT's heads written with matmul, keys from a k3 s3 p1 convolution, then a pool of the result."""

    def __init__(self, heads: int = 2) -> None:
        super().__init__()
        self.heads = heads
        self.sr = nn.Conv2d(C, C, 3, 3, 1)

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        q = _tokens(x).reshape(b, h * w, self.heads, c // self.heads).permute(0, 2, 1, 3)
        k = _tokens(self.sr(x)).reshape(b, -1, self.heads, c // self.heads).permute(0, 2, 1, 3)
        o = ((q @ k.transpose(-2, -1)).softmax(-1) @ k).permute(0, 2, 1, 3).reshape(b, h, w, c)
        return F.max_pool2d(x + o.permute(0, 3, 1, 2), 2)


class LargerInterpolatedKeys(nn.Module):
    """Keys from a map resized to (2H + 1, W + 3)."""

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        k = _tokens(F.interpolate(x, size=(2 * h + 1, w + 3), mode="bilinear"))
        o = (_tokens(x) @ k.transpose(-2, -1)).softmax(-1) @ k
        return x + o.transpose(1, 2).reshape(b, c, h, w)


class CausalToReduced(nn.Module):
    """Causal attention to a reduced map's keys (PyTorch aligns the mask top-left)."""

    def __init__(self) -> None:
        super().__init__()
        self.sr = nn.Conv2d(C, C, 2, 2)

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        k = _tokens(self.sr(x))
        o = F.scaled_dot_product_attention(_tokens(x), k, k, is_causal=True)
        return o.transpose(1, 2).reshape(b, c, h, w)


class WindowsToGlobalKeys(nn.Module):
    """Twins-like windows of 2 x 2 queries, every window attending to one k3 s3 map's tokens (broadcast)."""

    def __init__(self, ws: int = 2) -> None:
        super().__init__()
        self.ws = ws
        self.sr = nn.Conv2d(C, C, 3, 3)

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        ws = self.ws
        y = x.reshape(b, c, h // ws, ws, w // ws, ws).permute(0, 2, 4, 3, 5, 1)
        y = y.reshape(b, (h // ws) * (w // ws), ws * ws, c)
        k = _tokens(self.sr(x)).unsqueeze(1)
        o = F.scaled_dot_product_attention(y, k, k).reshape(b, h // ws, w // ws, ws, ws, c)
        return o.permute(0, 5, 1, 3, 2, 4).reshape(b, c, h, w) + x


class Windows3d(nn.Module):
    """Window attention over (H, W) windows of each depth slice, through F.scaled_dot_product_attention."""

    def __init__(self, ws: int = 2) -> None:
        super().__init__()
        self.ws = ws

    def forward(self, x: Any) -> Any:
        b, c, d, h, w = x.shape
        ws = self.ws
        y = x.reshape(b, c, d, h // ws, ws, w // ws, ws).permute(0, 2, 3, 5, 4, 6, 1)
        y = y.reshape(b, d * (h // ws) * (w // ws), ws * ws, c)
        o = F.scaled_dot_product_attention(y, y, y).reshape(b, d, h // ws, w // ws, ws, ws, c)
        return o.permute(0, 6, 1, 2, 4, 3, 5).reshape(b, c, d, h, w) + x


MODELS: dict[str, tuple[int, Callable[[], nn.Module]]] = {
    "reduced-query-sdpa-1d": (1, lambda: _stem(1, ReducedQuery(1, matmul=False))),
    "reduced-query-matmul-1d": (1, lambda: _stem(1, ReducedQuery(1, matmul=True))),
    "reduced-query-2d": (2, lambda: _stem(2, ReducedQuery(2, matmul=False))),
    "reduced-query-added": (2, lambda: _stem(2, ReducedQueryBack())),
    "larger-query": (2, lambda: _stem(2, LargerQuery())),
    "query-rows-sliced": (1, lambda: _stem(1, QueryRowsSliced())),
    "heads-then-pool": (2, lambda: _stem(2, HeadsThenPool())),
    "larger-interpolated-keys": (2, lambda: _stem(2, LargerInterpolatedKeys())),
    "causal-to-reduced": (2, lambda: _stem(2, CausalToReduced())),
    "windows-to-global-keys": (2, lambda: _stem(2, WindowsToGlobalKeys())),
}


@pytest.mark.parametrize("case", sorted(MODELS))
def test_queries_and_keys_of_other_maps_agree_with_pytorch(case: str) -> None:
    nd, make = MODELS[case]
    _agrees(make(), nd, range(1, 33), 12)


def test_windows_in_three_dimensions_agree_with_pytorch() -> None:
    _agrees(_stem(3, Windows3d()), 3, range(1, 13), 4)


@pytest.mark.parametrize(
    ("case", "n"),
    [
        ("reduced-query-sdpa-1d", 9),
        ("reduced-query-matmul-1d", 9),
        ("query-rows-sliced", 9),
        ("heads-then-pool", 9),
        ("larger-query", 6),
        ("larger-interpolated-keys", 7),
        ("reduced-query-added", 10),
        ("causal-to-reduced", 8),
        ("windows-to-global-keys", 8),
    ],
)
def test_fields_of_attention_to_other_maps_hold_what_the_output_reads(case: str, n: int) -> None:
    nd, make = MODELS[case]
    _fields_hold(make(), nd, n, 8)


def test_fields_of_values_from_another_map_hold_what_the_output_reads() -> None:
    _fields_hold(CROSS["1d-values-ceil-matmul"](), 1, 10, 8)
    _fields_hold(_stem(3, Windows3d()), 3, 6, 4)


class KeysKept(nn.Module):
    """attn^T @ q: the result's rows are the reduced map's keys, its positions not the query's."""

    def __init__(self) -> None:
        super().__init__()
        self.sr = nn.Conv1d(C, C, 2, 2)

    def forward(self, x: Any) -> Any:
        q, k = _tokens(x), _tokens(self.sr(x))
        a = (q @ k.transpose(-2, -1)).softmax(-1)
        return (a.transpose(-2, -1) @ q).transpose(1, 2)


class MixedContext(nn.Module):
    """k^T @ v with keys of the reduced map and values of the full map: PyTorch refuses at every size."""

    def __init__(self) -> None:
        super().__init__()
        self.sr = nn.Conv1d(C, C, 2, 2)

    def forward(self, x: Any) -> Any:
        q, k, v = _tokens(x), _tokens(self.sr(x)), _tokens(x)
        return x + (q @ (k.transpose(-2, -1) @ v)).transpose(1, 2)


def test_keys_kept_as_positions_are_refused() -> None:
    # PyTorch runs it (output floor(L/2) positions); the reading refuses rather than call them L positions
    model = _stem(1, KeysKept())
    assert _run(model, [9]) == (4,)
    with pytest.raises(SpecError):
        from_torch(model, (1, 3, "L"))


def test_a_context_of_keys_and_values_of_other_lengths_is_refused() -> None:
    model = _stem(1, MixedContext())
    assert all(_run(model, [n]) is None for n in range(2, 20))
    with pytest.raises(SpecError):
        from_torch(model, (1, 3, "L"))


class EmptyReadBack(nn.Module):
    """A tensor made from sizes read back through .dim(), .size(1), .size(-2) and .size(dim=3), .shape[-2:]."""

    def __init__(self, adaptive: bool) -> None:
        super().__init__()
        self.adaptive = adaptive

    def forward(self, x: Any) -> Any:
        b, _, h, w = x.shape
        if self.adaptive:
            return F.adaptive_avg_pool2d(x, torch.zeros(b, 0, h - 2, 2 * w).shape[-2:])
        e = torch.empty(b, 0, (h + 1) // 2, w // 3 + 1)
        if e.dim() == 4 and e.size(1) == 0:
            return F.interpolate(x, size=(e.size(-2), e.size(dim=3)), mode="nearest")
        return x


@pytest.mark.parametrize("adaptive", [False, True])
def test_sizes_of_a_tensor_made_from_sizes_agree_with_pytorch(adaptive: bool) -> None:
    _agrees(_stem(2, EmptyReadBack(adaptive)), 2, range(1, 30), 9)


class EmptyOutOfRange(nn.Module):
    def forward(self, x: Any) -> Any:
        b, _, h, w = x.shape
        return F.interpolate(x, size=(torch.empty(b, 0, h // 2, w // 2).size(4), w))


def test_a_dimension_past_a_tensor_made_from_sizes_is_refused() -> None:
    with pytest.raises(SpecError, match="dimension 4"):
        from_torch(_stem(2, EmptyOutOfRange()), (1, 3, "H", "W"))


class PaddedByFormula(nn.Module):
    """A reshape to ((h + 2) // 3) * 3 - (3 - h % 3) % 3 rows, which is h written another way."""

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        rows = ((h + 2) // 3) * 3 - (3 - h % 3) % 3
        return x.permute(0, 2, 3, 1).reshape(b, rows, w, c).permute(0, 3, 1, 2)


def test_a_reshape_to_the_size_written_another_way_agrees_with_pytorch() -> None:
    _agrees(_stem(2, PaddedByFormula()), 2, range(1, 41), 10)


class PaddedWindows(nn.Module):
    """Twins' windows on a map padded to whole windows by `pad(h)` rows (and columns), attention within each,
    the windows put back as (hp // ws) * ws rows and cropped to the input's size."""

    def __init__(self, ws: int, pad: str) -> None:
        super().__init__()
        self.ws, self.pad = ws, pad

    def forward(self, x: Any) -> Any:
        b, c, h, w = x.shape
        ws = self.ws
        if self.pad == "negated":
            ph, pw = (-h) % ws, (-w) % ws
        else:  # h % 2 rows: h + h % 2 is even, so whole windows of 2
            ph, pw = h % ws, w % ws
        y = F.pad(x.permute(0, 2, 3, 1), (0, 0, 0, pw, 0, ph))
        _, hp, wp, _ = y.shape
        gh, gw = hp // ws, wp // ws
        y = y.reshape(b, gh, ws, gw, ws, c).transpose(2, 3).reshape(b, gh * gw, ws * ws, c)
        y = F.scaled_dot_product_attention(y, y, y).reshape(b, gh, gw, ws, ws, c)
        y = y.transpose(2, 3).reshape(b, gh * ws, gw * ws, c)[:, :h, :w, :]
        return x + y.permute(0, 3, 1, 2)


@pytest.mark.parametrize(("ws", "pad"), [(2, "negated"), (3, "negated"), (2, "remainder")])
def test_windows_padded_by_formulas_agree_with_pytorch(ws: int, pad: str) -> None:
    _agrees(_stem(2, PaddedWindows(ws, pad)), 2, range(1, 31), 12)


class CropBack(nn.Module):
    """A convolution, a transposed one, a crop (`mode`) and, except for the offset crop, the input added."""

    def __init__(self, conv: tuple[int, int, int], up: tuple[int, int, int], mode: str) -> None:
        super().__init__()
        (k, s, p), (uk, up_padding, extra) = conv, up
        self.down = nn.Conv2d(C, C, k, s, p, groups=C)
        self.up = nn.ConvTranspose2d(C, C, uk, s, up_padding, output_padding=extra, groups=C)
        self.mode = mode

    def forward(self, x: Any) -> Any:
        h, w = x.shape[-2:]
        y = self.up(self.down(x))
        if self.mode == "shifted":
            return y[..., 1 : h + 1, :w] + x
        if self.mode == "unequal":
            return y[..., : h - 1, : w // 2 + 3]
        return y[..., :h, :w] + x


CROPS = {
    "k3s2p0": ((3, 2, 0), (3, 0, 0), "start", 13),  # short at even sizes
    "k4s3p1": ((4, 3, 1), (4, 0, 0), "start", 12),
    "k3s2p1-extra": ((3, 2, 1), (2, 0, 1), "start", 12),
    "k5s3p2": ((5, 3, 2), (3, 0, 0), "start", 12),
    "shifted": ((3, 2, 1), (2, 0, 0), "shifted", 13),  # short at even sizes
    "unequal": ((5, 3, 0), (3, 0, 0), "unequal", 12),
}


@pytest.mark.parametrize("case", sorted(CROPS))
def test_crops_back_agree_with_pytorch(case: str) -> None:
    conv, up, mode, held = CROPS[case]
    _agrees(_stem(2, CropBack(conv, up, mode), CropBack(conv, up, mode)), 2, range(1, 41), held)


class KeysAsAMap(nn.Module):
    """The scores' keys put back on the reduced map: (batch, H*W, ceil(H/2), ceil(W/2)), the reduced map's
    rows and columns as the last two dimensions, its channels the H*W queries."""

    def __init__(self) -> None:
        super().__init__()
        self.sr = nn.Conv2d(C, C, 3, 2, 1)

    def forward(self, x: Any) -> Any:
        r = self.sr(x)
        b, _, h, w = r.shape
        a = _tokens(x) @ r.flatten(2)
        return a.transpose(1, 2).reshape(b, h, w, -1).permute(0, 3, 1, 2)


def test_keys_put_back_on_their_map_are_refused_as_an_output() -> None:
    # PyTorch's last two dimensions are the reduced map's ceil(H/2), ceil(W/2), with the H*W queries as its
    # channels: neither the query's sizes nor a field per query row describe it
    model = _stem(2, KeysAsAMap())
    assert _run(model, [4, 8]) is not None
    with pytest.raises(SpecError, match="keys of another map"):
        from_torch(model, (1, 3, "H", "W"))


class ShortCropAdded(nn.Module):
    """A convolution k3 s3 p1 and a transposed k4 s3 p2 (output padding 1), cropped to one less than the
    input and added to it: PyTorch runs at sizes 2 and 3 only (broadcasting a size 1 against 2 at 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv1d(2, 2, 3, 3, 1)
        self.up = nn.ConvTranspose1d(2, 2, 4, 3, 2, output_padding=1)

    def forward(self, x: Any) -> Any:
        n = x.shape[-1]
        return self.up(self.down(x))[..., : n - 1] + x


def test_two_short_crops_added_agree_or_are_refused_by_a_rule() -> None:
    model = nn.Sequential(nn.Conv1d(3, 2, 1), ShortCropAdded(), ShortCropAdded()).eval()
    assert [n for n in range(1, 12) if _run(model, [n]) is not None] == [2, 3]
    try:
        net = from_torch(model, (1, 3, "L"))
        valid, output = net.valid_inputs(), net.output_size()
    except SymconvError as error:
        assert isinstance(error, SpecError) and "RecursionError" not in str(error), error
        return
    for n in range(1, 12):
        got = _run(model, [n])
        assert (n in valid["L"]) == (got is not None), n
        if got is not None:
            assert int(evaluate(output["L"], {"L": n})) == got[0], n
