"""Views, reshapes and permutes of tiny models, and ONNX SAME pads, compared with the libraries at every size.

Each model is read by from_torch and compared with PyTorch at every (H, W) in 1..40 x 1..40 (every L in
1..300 in 1-D): the same output sizes, or both refuse (a SymconvError from net.check, an exception from the
forward). A model refused as a whole is allowed; a model read that disagrees anywhere is a misread. Window
partitions and their reverse, pixel (un)shuffle and channel shuffle written as view + permute, ViT-like tokens
reshaped back, Twins-like windows padded to a multiple, and a -1 that takes what the others leave.

The ONNX SAME pads (ort.*) are compared with onnxruntime at every input size in 1..60: the output size, and the
values of a kernel of ones (a sum, a max, a mean) over the input 1, 2, ..., i, which the pads decide.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.arith import evaluate  # noqa: E402
from symconv.core.errors import SymconvError  # noqa: E402
from symconv.core.frameworks import auto_pads  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402
from tests.test_independent_branches_more import _wrong as grid_wrong  # noqa: E402

pytestmark = pytest.mark.slow  # real frameworks: -m "not slow" skips it


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    # 1,600 forwards of a tiny model per case: torch's thread pool costs more than the work
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Tiny(nn.Module):
    """A tiny model: its input channels, symbolic axes and the largest size compared on each."""

    channels = 1
    names: tuple[str, ...] = ("H", "W")
    top = 40


def _run(model: Any, sizes: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        with torch.no_grad():
            return tuple(model(torch.zeros(1, model.channels, *sizes)).shape[2:])
    except (RuntimeError, ValueError):
        return None


def _wrong(model: Tiny) -> list[tuple[Any, ...]] | None:
    """Every size of the grid where symconv's answer is not PyTorch's (sizes, PyTorch's, symconv's); None
    where the model is refused as a whole."""
    model.eval()
    try:
        net = from_torch(model, (1, model.channels, *model.names))
    except SymconvError:
        return None
    return grid_wrong(model, net, model.names, model.top, run=_run)


def _pad_to(x: Any, w: int) -> Any:
    h, ww = x.shape[-2:]
    return F.pad(x, (0, (w - ww % w) % w, 0, (w - h % w) % w))


# Read exactly.


class Unshuffle(Tiny):
    """Pixel unshuffle as a view: (B, C, H // 2, 2, W // 2, 2), the windows moved to the channels."""

    channels = 3

    def forward(self, x: Any) -> Any:
        B, C, H, W = x.shape
        t = x.view(B, C, H // 2, 2, W // 2, 2).permute(0, 1, 3, 5, 2, 4)
        return t.reshape(B, C * 4, H // 2, W // 2)


class Shuffle(Tiny):
    """Pixel shuffle as a view after a strided convolution (sizes with floors)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, stride=2, padding=1)

    def forward(self, x: Any) -> Any:
        x = self.conv(x)
        B, C, H, W = x.shape
        t = x.view(B, C // 4, 2, 2, H, W).permute(0, 1, 4, 2, 5, 3)
        return t.reshape(B, C // 4, H * 2, W * 2)


class ChannelShuffle(Tiny):
    """ShuffleNet's channel shuffle: view(b, g, c // g, h, w), transpose, view back with -1."""

    channels = 4

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, stride=2)

    def forward(self, x: Any) -> Any:
        x = self.conv(x)
        b, c, h, w = x.shape
        x = x.view(b, 2, c // 2, h, w).transpose(1, 2).contiguous()
        return x.view(b, -1, h, w)


class PatchTokens(Tiny):
    """ViT: patches of 4 flattened to tokens, reshaped back with H // 4 from the input's shape."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(1, 4, 4, stride=4)

    def forward(self, x: Any) -> Any:
        B, _, H, W = x.shape
        t = self.embed(x).flatten(2).transpose(1, 2) + 1
        return t.transpose(1, 2).reshape(B, 4, H // 4, W // 4)


class PaddedPatchTokens(Tiny):
    """Padded patches of 5: the rows from the input's sizes ((H + 2 - 5) // 5 + 1), the columns as -1."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(1, 2, 5, stride=5, padding=1)

    def forward(self, x: Any) -> Any:
        B, _, H, _ = x.shape
        t = self.embed(x).flatten(2).transpose(1, 2)
        return t.transpose(1, 2).reshape(B, 2, (H + 2 - 5) // 5 + 1, -1)


class TokensColumnsGiven(Tiny):
    """Patches of 3, reshaped back with -1 for the rows and W // 3 for the columns."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(1, 3, 3, stride=3)

    def forward(self, x: Any) -> Any:
        B, _, _, W = x.shape
        t = self.embed(x).flatten(2).transpose(1, 2)
        return t.transpose(1, 2).reshape(B, 3, -1, W // 3)


class MinusInTheMiddle(Tiny):
    """(B, C, -1, 2, W): rows in pairs, the pair moved to the channels."""

    channels = 2

    def forward(self, x: Any) -> Any:
        B, C, _, W = x.shape
        t = x.view(B, C, -1, 2, W)
        return t.permute(0, 1, 3, 2, 4).reshape(B, C * 2, -1, W)


class ChannelsSplitByMinus(Tiny):
    """(B, 2, -1, W) of four channels: the rows merged with half the channels, then viewed back."""

    channels = 4

    def forward(self, x: Any) -> Any:
        B, _, H, W = x.shape
        return x.view(B, 2, -1, W).view(B, 4, H, W)


class ChannelsMergedWithRows(Tiny):
    """(B, C * H, W) and back."""

    channels = 3

    def forward(self, x: Any) -> Any:
        B, C, H, W = x.shape
        return x.view(B, C * H, W).view(B, C, H, W)


class StridedChunks(Tiny):
    """1-D: a strided convolution, then its positions in windows of 4 moved to the channels."""

    names = ("L",)
    top = 300

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, 3, stride=2, padding=1)

    def forward(self, x: Any) -> Any:
        x = self.conv(x)
        B, C, L = x.shape
        return x.view(B, C, L // 4, 4).permute(0, 1, 3, 2).reshape(B, C * 4, L // 4)


class Windows(nn.Module):
    """Twins' locally grouped attention (one Linear): tokens padded to a multiple of the window, the rows of
    windows as -1, the columns from the padding ((W + pad_r) // ws), reversed and cropped where padded."""

    def __init__(self, dim: int, ws: int) -> None:
        super().__init__()
        self.ws = ws
        self.mix = nn.Linear(dim, dim)

    def forward(self, x: Any, size: tuple[int, int]) -> Any:
        B, N, C = x.shape
        H, W = size
        ws = self.ws
        x = x.view(B, H, W, C)
        pad_r, pad_b = (ws - W % ws) % ws, (ws - H % ws) % ws
        x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        columns = (W + pad_r) // ws
        x = self.mix(x.reshape(B, -1, ws, columns, ws, C).transpose(2, 3))
        x = x.transpose(2, 3).reshape(B, -1, columns * ws, C)
        if pad_r > 0 or pad_b > 0:
            x = x[:, :H, :W, :].contiguous()
        return x.reshape(B, N, C)


class TwinsLike(Tiny):
    """A strided patch embedding (a floor), then window attention of 5 over its tokens with a residual."""

    top = 30  # a path read past its branches: 900 sizes

    def __init__(self, k: int = 5, s: int = 3, p: int = 2, ws: int = 5) -> None:
        super().__init__()
        self.embed = nn.Conv2d(1, 4, k, s, p)
        self.attention = Windows(4, ws)

    def forward(self, x: Any) -> Any:
        x = self.embed(x)
        B, C, H, W = x.shape
        t = x.flatten(2).transpose(1, 2)
        t = t + self.attention(t, (H, W))
        return t.reshape(B, H, W, C).permute(0, 3, 1, 2)


class TwinsLikePairs(TwinsLike):
    """Windows of 2 over the input's own positions (a kernel of 1)."""

    def __init__(self) -> None:
        super().__init__(k=1, s=1, p=0, ws=2)


class PaddedWindows(nn.Module):
    """Windows of `ws` over tokens padded to a multiple: the rows of windows from the padded size, the columns
    as -1, reversed to the padded size and cropped back by the rule `crop` ("always", or "and": only where both
    axes were padded, so that the tokens' view fails where one was)."""

    def __init__(self, dim: int, ws: int, crop: str) -> None:
        super().__init__()
        self.ws, self.crop = ws, crop
        self.mix = nn.Linear(dim, dim)

    def forward(self, x: Any, size: tuple[int, int]) -> Any:
        B, N, C = x.shape
        H, W = size
        ws = self.ws
        pad_r, pad_b = (ws - W % ws) % ws, (ws - H % ws) % ws
        x = F.pad(x.view(B, H, W, C), (0, 0, 0, pad_r, 0, pad_b))
        _, Hp, Wp, _ = x.shape
        x = self.mix(x.reshape(B, Hp // ws, ws, -1, ws, C).transpose(2, 3))
        x = x.transpose(2, 3).reshape(B, Hp, Wp, C)
        if self.crop == "always":
            x = x[:, :H, :W, :].contiguous()
        elif pad_r > 0 and pad_b > 0:
            x = x[:, :H, :W, :].contiguous()
        return x.reshape(B, N, C)


class SwinLike(Tiny):
    """A padded strided embedding (a floor), then windows of 4 always cropped back."""

    top = 30

    def __init__(self, crop: str = "always", ws: int = 4) -> None:
        super().__init__()
        self.embed = nn.Conv2d(1, 4, 3, 2, 1)
        self.attention = PaddedWindows(4, ws, crop)

    def forward(self, x: Any) -> Any:
        x = self.embed(x)
        B, C, H, W = x.shape
        t = x.flatten(2).transpose(1, 2)
        t = t + self.attention(t, (H, W))
        return t.reshape(B, H, W, C).permute(0, 3, 1, 2)


class CroppedOnlyWhereBothPadded(SwinLike):
    """Cropped only where both axes were padded: PyTorch fails where one axis alone was."""

    def __init__(self) -> None:
        super().__init__(crop="and", ws=3)


READ = (
    Unshuffle,
    Shuffle,
    ChannelShuffle,
    PatchTokens,
    PaddedPatchTokens,
    TokensColumnsGiven,
    MinusInTheMiddle,
    ChannelsSplitByMinus,
    ChannelsMergedWithRows,
    StridedChunks,
    TwinsLike,
    TwinsLikePairs,
    SwinLike,
)


@pytest.mark.parametrize("model", READ, ids=lambda m: m.__name__)
def test_views_are_read_exactly_at_every_size(model: type[Tiny]) -> None:
    assert _wrong(model()) == []


# Refused as a whole, or read exactly.


class CeilPartition(Tiny):
    """Padded to a multiple of 7 and partitioned with (H + 6) // 7 and -(-W // 7) windows, reversed."""

    def forward(self, x: Any) -> Any:
        B, C, H, W = x.shape
        x = F.pad(x, (0, (W + 6) // 7 * 7 - W, 0, -(-H // 7) * 7 - H))
        t = x.view(B, C, (H + 6) // 7, 7, -(-W // 7), 7).permute(0, 2, 4, 1, 3, 5).reshape(-1, C, 7, 7)
        t = t.view(B, -(-H // 7), (W + 6) // 7, C, 7, 7).permute(0, 3, 1, 4, 2, 5)
        return t.reshape(B, C, -1, (W + 6) // 7 * 7)


class CroppedPartition(Tiny):
    """Cropped to H // 7 * 7 and partitioned into windows of 7 moved to the channels."""

    def forward(self, x: Any) -> Any:
        B, C, H, W = x.shape
        x = x[:, :, : H // 7 * 7, : W // 7 * 7]
        t = x.reshape(B, C, H // 7, 7, W // 7, 7).permute(0, 1, 3, 5, 2, 4)
        return t.reshape(B, C * 49, H // 7, W // 7)


class RowsCountedFromThePaddedOnes(Tiny):
    """Padded to a multiple of 4, viewed as (B, C, H // 4, 4, Wp): H // 4 from the unpadded size."""

    def forward(self, x: Any) -> Any:
        B, C, H, _ = x.shape
        x = _pad_to(x, 4)
        return x.view(B, C, H // 4, 4, x.shape[3]).permute(0, 1, 3, 2, 4).reshape(B, C * 4, H // 4, -1)


class AxesSwapped(Tiny):
    """(B, C, W, H) of (B, C, H, W): a reshape that runs at every size but swaps the axes' sizes."""

    def forward(self, x: Any) -> Any:
        B, C, H, W = x.shape
        return x.reshape(B, C, W, H)


class ChannelsCutAcrossRows(Tiny):
    """(B, 2, H, W) viewed as (B, H, 2, W) and back: the channels and the rows cut differently."""

    channels = 2

    def forward(self, x: Any) -> Any:
        B, _, H, W = x.shape
        return x.view(B, H, 2, W).view(B, 2, H, W) + 0


class ShiftedWindows(Tiny):
    """Swin: padded to a multiple of 4, rolled, windowed to tokens and back, rolled back, cropped."""

    def forward(self, x: Any) -> Any:
        B, C, H, W = x.shape
        x = torch.roll(_pad_to(x, 4), shifts=(-2, -2), dims=(2, 3))
        Hp, Wp = x.shape[2:]
        t = x.view(B, C, Hp // 4, 4, Wp // 4, 4).permute(0, 2, 4, 1, 3, 5).reshape(-1, C * 16)
        t = t.view(B, Hp // 4, Wp // 4, C, 4, 4).permute(0, 3, 1, 4, 2, 5).reshape(B, C, Hp, Wp)
        return torch.roll(t, shifts=(2, 2), dims=(2, 3))[:, :, :H, :W]


class Cubes(Tiny):
    """3-D: cubes of 2 moved to the channels."""

    names = ("D", "H", "W")
    top = 10

    def forward(self, x: Any) -> Any:
        B, C, D, H, W = x.shape
        t = x.view(B, C, D // 2, 2, H // 2, 2, W // 2, 2).permute(0, 1, 3, 5, 7, 2, 4, 6)
        return t.reshape(B, C * 8, D // 2, H // 2, W // 2)


class ChunksOfSeven(Tiny):
    """1-D: padded to (L + 6) // 7 * 7, cut into chunks of 7 mixed by a Linear, merged back, not cropped."""

    names = ("L",)
    top = 300

    def __init__(self) -> None:
        super().__init__()
        self.mix = nn.Linear(1, 1)

    def forward(self, x: Any) -> Any:
        B, C, L = x.shape
        y = F.pad(x, (0, (L + 6) // 7 * 7 - L)).transpose(1, 2)
        y = self.mix(y.reshape(B, (L + 6) // 7, 7, C)).reshape(B, (L + 6) // 7 * 7, C)
        return y.transpose(1, 2)


READ_OR_REFUSED = (
    CeilPartition,
    CroppedPartition,
    RowsCountedFromThePaddedOnes,
    AxesSwapped,
    ChannelsCutAcrossRows,
    ShiftedWindows,
    Cubes,
    ChunksOfSeven,
    CroppedOnlyWhereBothPadded,
)


@pytest.mark.parametrize("model", READ_OR_REFUSED, ids=lambda m: m.__name__)
def test_views_are_read_exactly_or_refused(model: type[Tiny]) -> None:
    assert _wrong(model()) in (None, [])


# A -1 beside a split into windows takes the element count over the other dimensions, which is not a window
# count where the axis is no multiple of the window: PyTorch runs there. Such a view is refused as a whole.


class UnshuffleByMinus(Tiny):
    """(B, C, -1, 3, W // 3, 3): at H = 9, W = 4 the -1 is 36 / 9 = 4 and PyTorch runs, where the windows of W
    would refuse it."""

    def forward(self, x: Any) -> Any:
        B, C, _, W = x.shape
        t = x.view(B, C, -1, 3, W // 3, 3).permute(0, 1, 3, 5, 2, 4)
        return t.reshape(B, -1, x.shape[2] // 3, W // 3)


class ChunksByMinus(Tiny):
    """1-D: (B, C, L // 5, -1): at L = 6 the -1 is 6 / 1 = 6 and PyTorch runs (wherever L // 5 divides L)."""

    names = ("L",)
    top = 300

    def forward(self, x: Any) -> Any:
        B, C, L = x.shape
        return x.view(B, C, L // 5, -1).transpose(2, 3).reshape(B, -1, L // 5)


class RowPairsByMinus(Tiny):
    """(B, 2, H // 2, 2, -1) of two channels: at H = 3, W = 2 the -1 is 12 / 4 = 3 and PyTorch runs."""

    channels = 2

    def forward(self, x: Any) -> Any:
        B, C, H, W = x.shape
        t = x.view(B, C, H // 2, 2, -1).permute(0, 1, 3, 2, 4)
        return t.reshape(B, -1, H // 2, W)


class ChunksByMinusInFront(Tiny):
    """1-D: (B, C, -1, 4), the -1 the one outer half: L // 4 exactly where PyTorch runs (L a multiple of 4)."""

    names = ("L",)
    top = 300

    def forward(self, x: Any) -> Any:
        B, C, L = x.shape
        return x.view(B, C, -1, 4).transpose(2, 3).reshape(B, -1, L // 4)


@pytest.mark.parametrize(
    "model", (UnshuffleByMinus, ChunksByMinus, RowPairsByMinus), ids=lambda m: m.__name__
)
def test_a_minus_one_beside_a_window_split_is_refused_naming_it(model: type[Tiny]) -> None:
    with pytest.raises(SymconvError, match="a -1 beside a split of"):
        from_torch(model().eval(), (1, model.channels, *model.names))
    # and PyTorch does run sizes that are no multiple of the window
    assert any(
        _run(model().eval(), sizes) is not None
        for sizes in ((9, 4), (6,), (3, 2))
        if len(sizes) == len(model.names)
    )


def test_a_minus_one_that_is_the_outer_half_is_read_exactly() -> None:
    assert _wrong(ChunksByMinusInFront()) == []


# ONNX SAME pads as onnxruntime computes them.

SAME = (
    # op, k, s, d, auto_pad, opset: kernels longer and shorter than the stride, kernel 1, dilations
    ("conv", 3, 2, None, "same_upper", 22),
    ("conv", 2, 5, None, "same_lower", 22),
    ("conv", 1, 3, None, "same_upper", 22),
    ("conv", 1, 1, None, "same_lower", 22),
    ("conv", 4, 4, None, "same_lower", 22),
    ("maxpool", 4, 3, None, "same_lower", 12),
    ("maxpool", 3, 2, 2, "same_upper", 18),
    ("maxpool", 2, 8, 3, "same_lower", 22),
    ("avgpool", 5, 2, None, "same_upper", 19),
    ("avgpool", 3, 5, 3, "same_upper", 19),
    ("avgpool", 1, 4, None, "same_lower", 12),
    ("lppool", 7, 4, 3, "same_lower", 18),
    ("lppool", 2, 6, None, "same_upper", 22),
)


def _expected(op: str, k: int, s: int, d: int, i: int, pads: tuple[int, int], n: int) -> list[float | None]:
    """The values of a kernel of ones over 1, 2, ..., i with the begin pad pads[0]: None for a window reaching
    the end (where a negative end pad crops, each kernel clips the window its own way)."""
    out: list[float | None] = []
    for o in range(n):
        taps = [o * s - pads[0] + t * d for t in range(k)]
        inside = [j + 1.0 for j in taps if j >= 0]
        if max(taps) >= i + min(pads[1], 0) or not inside:
            out.append(None)
        elif op == "maxpool":
            out.append(max(inside))
        elif op == "avgpool":
            out.append(sum(inside) / len(inside))
        else:
            out.append(sum(inside))
    return out


@pytest.mark.parametrize("config", SAME, ids=lambda c: "-".join(str(v) for v in c))
def test_onnx_same_pads_are_onnxruntimes(config: tuple[Any, ...]) -> None:
    ort = pytest.importorskip("onnxruntime")
    np = pytest.importorskip("numpy")
    onnx = pytest.importorskip("onnx")
    from tests import differential
    from tests.test_diff_onnx import Case, build_model

    op, k, s, d, mode, opset = config
    options = differential.ort_session_options()
    wrong: list[tuple[Any, ...]] = []
    compared = 0
    for i in range(1, 61):
        case = Case(op, i, k, s, mode, d, opset=opset)
        model = build_model(case)
        if op == "lppool":
            # p = 1: the sum of the window's absolute values
            model.graph.node[0].attribute.append(onnx.helper.make_attribute("p", 1))
        ours = differential.symconv_outcome(case.spec("ort"), (i,))
        try:
            runtime = ort.InferenceSession(
                model.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
            (out,) = runtime.run(None, {"x": (np.arange(i, dtype=np.float32) + 1).reshape(1, 1, i)})
        except differential.ort_refusals():
            if not differential.refusal(ours):
                wrong.append((i, ours, "refused"))
            continue
        got = [float(v) for v in out.reshape(-1)]
        if ours != ("ok", (len(got),)):
            wrong.append((i, ours, len(got)))
            continue
        family = "conv" if op == "conv" else "pool"
        pads = tuple(int(evaluate(p, {})) for p in auto_pads("ort", mode, i, k, s, d or 1, family))
        want = _expected(op, k, s, d or 1, i, (pads[0], pads[1]), len(got))
        compared += sum(w is not None for w in want)
        if any(w is not None and abs(w - g) > 1e-3 for w, g in zip(want, got, strict=True)):
            wrong.append((i, pads, want, got))
    assert wrong == []
    assert compared, "no window inside the input: the begin pads were not compared"
