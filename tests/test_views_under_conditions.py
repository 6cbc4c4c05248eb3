"""Views that line up only where the network so far is defined.

Twins' window attention pads its tokens to a multiple of the window, attends, and crops back where it padded
(`if pad_r > 0 or pad_b > 0: x = x[:, :H, :W]`); the side that does not crop views the padded (B, Hp, Wp, C)
as (B, H * W, C), which lines up only where that side's guard holds (Hp == H and Wp == W). A view is lined up
at every size first, and otherwise under the conditions of the network made up to it (a path's guards and the
conditions of validity before it), never under one that comes later. Every answer is compared with PyTorch
at every size of a grid.
"""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.errors import SymconvError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402
from tests.test_independent_branches_more import _wrong  # noqa: E402


class WindowAttention(nn.Module):
    """timm's LocallyGroupedAttn (Twins) with one linear layer for the attention: pad to a multiple of the
    window, window partition and reverse, crop where it padded, view back to tokens."""

    def __init__(self, dim: int, window: int) -> None:
        super().__init__()
        self.window = window
        self.mix = nn.Linear(dim, dim)

    def forward(self, x: Any, size: tuple[int, int]) -> Any:
        B, N, C = x.shape
        H, W = size
        ws = self.window
        x = x.view(B, H, W, C)
        pad_r = (ws - W % ws) % ws
        pad_b = (ws - H % ws) % ws
        x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        _, Hp, Wp, _ = x.shape
        _h, _w = Hp // ws, Wp // ws
        x = x.reshape(B, _h, ws, _w, ws, C).transpose(2, 3)
        x = self.mix(x)
        x = x.transpose(2, 3).reshape(B, _h * ws, _w * ws, C)
        if pad_r > 0 or pad_b > 0:
            x = x[:, :H, :W, :].contiguous()
        return x.reshape(B, N, C)


class Twins(nn.Module):
    """Stages of a strided patch embedding, then window attention over its tokens with a residual."""

    names = ("H", "W")
    top = 30

    def __init__(self, window: int = 3, stages: int = 1) -> None:
        super().__init__()
        self.embeds = nn.ModuleList(nn.Conv2d(1 if i == 0 else 4, 4, 2, 2) for i in range(stages))
        self.attention = nn.ModuleList(WindowAttention(4, window) for _ in range(stages))

    def forward(self, x: Any) -> Any:
        for embed, attention in zip(self.embeds, self.attention, strict=True):
            x = embed(x)
            B, C, H, W = x.shape
            tokens = x.flatten(2).transpose(1, 2)
            tokens = tokens + attention(tokens, (H, W))
            x = tokens.reshape(B, H, W, C).permute(0, 3, 1, 2)
        return x


class TwinsLeanAtTheSample(Twins):
    """Windows of 4: no padding at the traced size (128 after the embedding), so the side traced first is the
    one that does not crop."""

    def __init__(self) -> None:
        super().__init__(window=4)


class AssertedEven(nn.Module):
    """A pad to even sizes after the model asserted they are even, then the padded tokens viewed as H x W:
    lined up under the assertions."""

    names = ("H", "W")
    top = 20

    def forward(self, x: Any) -> Any:
        B, C, H, W = x.shape
        torch._assert(H % 2 == 0, "H must be even")
        torch._assert(W % 2 == 0, "W must be even")
        tokens = F.pad(x, (0, W % 2, 0, H % 2)).flatten(2).transpose(1, 2)
        return tokens.reshape(B, H, W, C).permute(0, 3, 1, 2)


class PaddedTokens(nn.Module):
    """1-D: a sequence padded to a multiple of 4, cut into chunks, merged and cropped back where it was padded."""

    names = ("L",)
    top = 100

    def forward(self, x: Any) -> Any:
        B, C, L = x.shape
        pad = (4 - L % 4) % 4
        y = F.pad(x, (0, pad)).transpose(1, 2)
        y = y.reshape(B, (L + pad) // 4, 4, C).reshape(B, -1, C)
        if pad > 0:
            y = y[:, :L]
        return y.reshape(B, L, C).transpose(1, 2)


@pytest.mark.parametrize("model", [Twins, TwinsLeanAtTheSample, AssertedEven, PaddedTokens])
def test_views_that_line_up_where_the_network_is_defined_are_read_exactly(model: type[nn.Module]) -> None:
    m = model().eval()
    names: tuple[str, ...] = getattr(m, "names")  # noqa: B009  (a class attribute nn.Module's typing hides)
    net = from_torch(m, (1, 1, *names))
    assert _wrong(m, net, names, getattr(m, "top")) == []  # noqa: B009


def test_two_stages_of_window_attention_are_read_exactly() -> None:
    m = Twins(stages=2).eval()
    net = from_torch(m, (1, 1, "H", "W"))
    assert net.valid_inputs()["H"].start == 4
    assert _wrong(m, net, ("H", "W"), 24) == []


class EvenLater(nn.Module):
    """The evenness is asserted only after the view: it is no condition of the view."""

    def forward(self, x: Any) -> Any:
        B, C, H, W = x.shape
        tokens = F.pad(x, (0, W % 2, 0, H % 2)).flatten(2).transpose(1, 2)
        y = tokens.reshape(B, H, W, C)
        torch._assert(H % 2 == 0, "H must be even")
        torch._assert(W % 2 == 0, "W must be even")
        return y.permute(0, 3, 1, 2)


class OneAxisCropped(nn.Module):
    """Cropped where W was padded, not where H was: the side that does not crop views the padded H as H, which
    the guard (W's pad is 0) does not give."""

    def forward(self, x: Any) -> Any:
        B, C, H, W = x.shape
        y = x.flatten(2).transpose(1, 2).view(B, H, W, C)
        pad_r, pad_b = (3 - W % 3) % 3, (3 - H % 3) % 3
        y = F.pad(y, (0, 0, 0, pad_r, 0, pad_b))
        if pad_r > 0:
            y = y[:, :, :W, :]
        return y.reshape(B, H * W, C).transpose(1, 2).reshape(B, C, H, W)


@pytest.mark.parametrize("model", [EvenLater, OneAxisCropped])
def test_a_view_that_lines_up_only_under_a_later_or_other_condition_is_refused(
    model: type[nn.Module],
) -> None:
    with pytest.raises(SymconvError, match="does not line up"):
        from_torch(model().eval(), (1, 1, "H", "W"))


class ChunkMix(nn.Module):
    """1-D window attention as Twins writes it: pad to a multiple of 3, mix each window, crop where it padded."""

    def __init__(self) -> None:
        super().__init__()
        self.mix = nn.Linear(2, 2)

    def forward(self, x: Any, n: int) -> Any:
        B, N, C = x.shape
        pad = (3 - n % 3) % 3
        x = self.mix(F.pad(x, (0, 0, 0, pad)).reshape(B, -1, 3, C)).reshape(B, -1, C)
        if pad > 0:
            x = x[:, :n, :].contiguous()
        return x.reshape(B, N, C)


class TwoBlocksPerStage(nn.Module):
    """Stages of a strided convolution, then two blocks of window attention at the same size: the second block
    asks the first one's question again (Twins' stages of two and more blocks), each stage's statements one
    independent decision. Read as dependent decisions, the mixes of four stages' sides are too many and the model
    was refused."""

    def __init__(self, stages: int = 4) -> None:
        super().__init__()
        self.downs = nn.ModuleList(nn.Conv1d(1 if i == 0 else 2, 2, 2, 2) for i in range(stages))
        self.blocks = nn.ModuleList(nn.ModuleList((ChunkMix(), ChunkMix())) for _ in range(stages))

    def forward(self, x: Any) -> Any:
        stages: Any = zip(self.downs, self.blocks, strict=True)
        for down, blocks in stages:
            x = down(x)
            length = x.shape[-1]
            tokens = x.transpose(1, 2)
            for block in blocks:
                tokens = tokens + block(tokens, length)
            x = tokens.transpose(1, 2)
        return x


def test_a_question_asked_again_by_the_next_statement_is_one_independent_decision() -> None:
    m = TwoBlocksPerStage().eval()
    net = from_torch(m, (1, 1, "L"))
    assert _wrong(m, net, ("L",), 130) == []
