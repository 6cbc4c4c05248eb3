"""Real architectures, written out with tiny channel widths (sizes do not depend on widths), for the model zoo.

Each entry keeps its original's spatial structure: every kernel, stride, padding, dilation, pooling mode,
skip, crop, resize and reshape as the reference implementation writes it (torchvision, timm, the papers'
code); only the channel counts and the number of repeated blocks are cut. `ZOO` names them all with the input
shape symconv reads and a size per axis at which the model runs (each axis is swept with the others held
there). A model returns one spatial feature map (a classifier's head is cut where it flattens).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("torch")  # collected by --doctest-modules: skipped, not an error, without torch

import torch
import torch.nn.functional as F
from torch import nn

from .swin import Features, swin


def cbr(
    cin: int, cout: int, k: int | tuple[int, int], s: int | tuple[int, int] = 1, p: Any = 0, **kw: Any
) -> nn.Sequential:
    """Conv, batch norm, ReLU (the unit of most classification backbones)."""
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, p, bias=False, **kw), nn.BatchNorm2d(cout), nn.ReLU())


# ---------------------------------------------------------------------------------------------- classification


class BasicBlock(nn.Module):
    """torchvision resnet.BasicBlock: 3x3 (stride), 3x3, strided 1x1 projection on the shortcut."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            cbr(cin, cout, 3, stride, 1), nn.Conv2d(cout, cout, 3, 1, 1), nn.BatchNorm2d(cout)
        )
        self.down = nn.Conv2d(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.down(x))


class Bottleneck(nn.Module):
    """torchvision resnet.Bottleneck (stride on the 3x3, as v1.5), optionally grouped (ResNeXt) or with SE."""

    def __init__(self, cin: int, width: int, stride: int, groups: int = 1, se: bool = False) -> None:
        super().__init__()
        cout = 2 * width
        self.body = nn.Sequential(
            cbr(cin, width, 1), cbr(width, width, 3, stride, 1, groups=groups), nn.Conv2d(width, cout, 1)
        )
        self.se = SqueezeExcite(cout) if se else nn.Identity()
        self.down = nn.Conv2d(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.se(self.body(x)) + self.down(x))


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: global average, two 1x1 convs, a gate broadcast over the map."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Conv2d(c, 2, 1), nn.ReLU(), nn.Conv2d(2, c, 1), nn.Hardsigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(self.pool(x))


def stem() -> nn.Sequential:
    """ResNet's stem: 7x7 stride 2 pad 3, max pool 3 stride 2 pad 1."""
    return nn.Sequential(cbr(3, 4, 7, 2, 3), nn.MaxPool2d(3, 2, 1))


def resnet18() -> nn.Module:
    return nn.Sequential(stem(), *(BasicBlock(4, 4, s) for s in (1, 2, 2, 2)))


def resnet50() -> nn.Module:
    stages = [Bottleneck(4, 2, 1)] + [Bottleneck(4, 2, s) for s in (1, 2, 1, 2, 1, 2, 1)]
    return nn.Sequential(stem(), *stages)


def resnext50() -> nn.Module:
    return nn.Sequential(
        stem(), Bottleneck(4, 4, 1, groups=2), *(Bottleneck(8, 4, 2, groups=2) for _ in range(3))
    )


def vgg11() -> nn.Module:
    """torchvision vgg11 config A: 3x3 pad 1 convs, 2x2 max pools, adaptive average to 7x7."""
    layers: list[nn.Module] = []
    cin = 3
    for v in (4, "M", 4, "M", 4, 4, "M", 4, 4, "M", 4, 4, "M"):
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, 4, 3, padding=1), nn.ReLU()]
            cin = 4
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d((7, 7)))


def alexnet() -> nn.Module:
    """torchvision alexnet features (11x11 stride 4 pad 2, 3x3 stride 2 pools) and its 6x6 adaptive pool."""
    return nn.Sequential(
        nn.Conv2d(3, 4, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(4, 4, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.AdaptiveAvgPool2d((6, 6)),
    )  # fmt: skip


def lenet5() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(4, 4, 5), nn.Tanh(), nn.AvgPool2d(2)
    )


class DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin),
            nn.ReLU(),
            nn.Conv2d(cin, 4, 1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.Conv2d(4, growth, 3, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], 1)


def densenet121() -> nn.Module:
    """torchvision densenet: the stem, dense blocks (concatenation), transitions with a 2x2 average pool."""
    layers: list[nn.Module] = [cbr(3, 4, 7, 2, 3), nn.MaxPool2d(3, 2, 1)]
    c = 4
    for block in range(4):
        for _ in range(2):
            layers.append(DenseLayer(c, 2))
            c += 2
        if block < 3:
            layers += [nn.BatchNorm2d(c), nn.Conv2d(c, 4, 1), nn.AvgPool2d(2, 2)]
            c = 4
    return nn.Sequential(*layers)


class Fire(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(cin, 2, 1)
        self.e1, self.e3 = nn.Conv2d(2, 2, 1), nn.Conv2d(2, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.e1(x)), F.relu(self.e3(x))], 1)


def ceil_pool() -> nn.MaxPool2d:
    """The 3x3 stride-2 max pool with ceil_mode of SqueezeNet and GoogLeNet."""
    return nn.MaxPool2d(3, 2, ceil_mode=True)


def squeezenet() -> nn.Module:
    """torchvision squeezenet1_0: 7x7 stride 2, max pools 3 stride 2 with ceil_mode, fire modules."""
    return nn.Sequential(
        nn.Conv2d(3, 4, 7, 2), nn.ReLU(), ceil_pool(), Fire(4), Fire(4), Fire(4), ceil_pool(), Fire(4), ceil_pool(), Fire(4),
        nn.Conv2d(4, 4, 1), nn.AdaptiveAvgPool2d((1, 1)),
    )  # fmt: skip


class InceptionA(nn.Module):
    """GoogLeNet's inception: 1x1; 1x1 > 3x3; 1x1 > 3x3 (torchvision's); max pool 3/1/1 ceil > 1x1."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.b1 = cbr(cin, 2, 1)
        self.b2 = nn.Sequential(cbr(cin, 2, 1), cbr(2, 2, 3, 1, 1))
        self.b3 = nn.Sequential(cbr(cin, 2, 1), cbr(2, 2, 3, 1, 1))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), cbr(cin, 2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


def googlenet() -> nn.Module:
    return nn.Sequential(
        cbr(3, 8, 7, 2, 3), ceil_pool(), cbr(8, 8, 1), cbr(8, 8, 3, 1, 1), ceil_pool(), InceptionA(8), InceptionA(8),
        ceil_pool(), InceptionA(8), nn.MaxPool2d(2, 2, ceil_mode=True), InceptionA(8),
    )  # fmt: skip


class Inception7(nn.Module):
    """torchvision inception_v3 InceptionC: factorised 7x7 as (1, 7) then (7, 1) convolutions."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.b1 = cbr(c, 2, 1)
        self.b7 = nn.Sequential(cbr(c, 2, 1), cbr(2, 2, (1, 7), p=(0, 3)), cbr(2, 2, (7, 1), p=(3, 0)))
        self.pool = nn.Sequential(nn.AvgPool2d(3, 1, 1), cbr(c, 2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b7(x), self.pool(x), self.b1(x)], 1)


def inception_v3() -> nn.Module:
    """inception_v3's stem (valid 3x3 convs, stride 2, pools 3/2) and the (1, 7)/(7, 1) blocks."""
    return nn.Sequential(
        cbr(3, 4, 3, 2), cbr(4, 4, 3), cbr(4, 4, 3, p=1), nn.MaxPool2d(3, 2), cbr(4, 8, 1), cbr(8, 8, 3),
        nn.MaxPool2d(3, 2), cbr(8, 8, 3, 2), Inception7(8), Inception7(8),
    )  # fmt: skip


class InvertedResidual(nn.Module):
    """MobileNetV2 / MNASNet / EfficientNet block: expand 1x1, depthwise kxk (stride), optional SE, project 1x1;
    a residual add when the stride is 1."""

    def __init__(
        self, c: int, k: int, stride: int, se: bool = False, conv: type[nn.Conv2d] = nn.Conv2d
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            cbr(c, 8, 1),
            conv(8, 8, k, stride, padding=k // 2 if conv is nn.Conv2d else 0, groups=8, bias=False),
            nn.BatchNorm2d(8), nn.Hardswish(), SqueezeExcite(8) if se else nn.Identity(), nn.Conv2d(8, c, 1),
        )  # fmt: skip
        self.residual = stride == 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


def mobilenet(settings: Sequence[tuple[int, int, bool]], conv: type[nn.Conv2d] = nn.Conv2d) -> nn.Module:
    first = conv(3, 4, 3, 2, padding=1 if conv is nn.Conv2d else 0)
    return nn.Sequential(
        first, nn.BatchNorm2d(4), *(InvertedResidual(4, k, s, se, conv) for k, s, se in settings)
    )


MOBILENET_V2 = [
    (3, 1, False),
    (3, 2, False),
    (3, 1, False),
    (3, 2, False),
    (3, 2, False),
    (3, 1, False),
    (3, 2, False),
]
MOBILENET_V3 = [(3, 2, True), (3, 2, False), (5, 2, True), (5, 1, True), (5, 2, True), (5, 1, True)]
MNASNET = [
    (3, 1, False),
    (3, 2, False),
    (5, 2, False),
    (3, 2, False),
    (3, 1, False),
    (5, 2, False),
    (3, 1, False),
]
EFFICIENTNET_B0 = [
    (3, 1, True),
    (3, 2, True),
    (5, 2, True),
    (3, 2, True),
    (5, 1, True),
    (5, 2, True),
    (3, 1, True),
]


class Conv2dSame(nn.Conv2d):
    """timm's Conv2dSame: TensorFlow's SAME padding computed from the input's size at run time (F.pad), then
    an unpadded convolution (timm/layers/padding.py pad_same)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.size()[-2:]
        pads = []
        for i, k, s, d in zip(
            (iw, ih), self.kernel_size[::-1], self.stride[::-1], self.dilation[::-1], strict=True
        ):
            total = max((math.ceil(i / s) - 1) * s + (k - 1) * d + 1 - i, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def shufflenet_v2() -> nn.Module:
    return nn.Sequential(
        cbr(3, 4, 3, 2, 1),
        nn.MaxPool2d(3, 2, 1),
        ShuffleUnit(4, 2),
        ShuffleUnit(4, 1),
        ShuffleUnit(4, 2),
        ShuffleUnit(4, 2),
    )


class ShuffleUnit(nn.Module):
    """torchvision shufflenetv2.InvertedResidual: split (stride 1) or two strided branches, concat, then the
    channel shuffle (view, transpose, view)."""

    def __init__(self, c: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        half = c // 2
        cin = c if stride > 1 else half
        self.branch1 = (
            nn.Sequential(nn.Conv2d(c, c, 3, stride, 1, groups=c), nn.Conv2d(c, half, 1))
            if stride > 1
            else nn.Identity()
        )
        self.branch2 = nn.Sequential(
            cbr(cin, half, 1), nn.Conv2d(half, half, 3, stride, 1, groups=half), cbr(half, half, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        b, c, h, w = out.size()
        out = out.view(b, 2, c // 2, h, w).transpose(1, 2).contiguous()
        return out.view(b, c, h, w)


class RegNetBlock(nn.Module):
    """torchvision regnet ResBottleneckBlock: 1x1, grouped 3x3 with the stride, SE, 1x1; projection shortcut."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.f = nn.Sequential(
            cbr(cin, 4, 1), cbr(4, 4, 3, stride, 1, groups=2), SqueezeExcite(4), nn.Conv2d(4, cout, 1)
        )
        self.proj = nn.Conv2d(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.proj(x) + self.f(x))


def regnet() -> nn.Module:
    return nn.Sequential(cbr(3, 4, 3, 2, 1), *(RegNetBlock(4, 4, s) for s in (2, 1, 2, 2, 1, 2)))


class LayerNorm2d(nn.LayerNorm):
    """ConvNeXt's channels-first LayerNorm: permute to channels-last, normalise, permute back."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """torchvision convnext CNBlock: 7x7 depthwise pad 3, channels-last LayerNorm and MLP, layer scale,
    stochastic depth (identity in eval)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm, self.mlp = (
            nn.LayerNorm(c),
            nn.Sequential(nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c)),
        )
        self.scale = nn.Parameter(torch.ones(c, 1, 1))
        self.drop = nn.Dropout(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.mlp(self.norm(self.dw(x).permute(0, 2, 3, 1))).permute(0, 3, 1, 2)
        return x + self.drop(self.scale * y)


def convnext() -> nn.Module:
    stages: list[nn.Module] = [nn.Conv2d(3, 4, 4, 4), LayerNorm2d(4), ConvNeXtBlock(4)]
    for _ in range(3):
        stages += [LayerNorm2d(4), nn.Conv2d(4, 4, 2, 2), ConvNeXtBlock(4)]
    return nn.Sequential(*stages)


class ViTPatches(nn.Module):
    """timm/torchvision ViT patch embedding: 16x16 stride 16 conv, flatten to tokens, a token-mixing-free
    encoder stand-in (LayerNorm and MLP on channels), back to the patch grid with reshape(H // 16, W // 16)."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, 8, 16, 16)
        self.norm, self.mlp = nn.LayerNorm(8), nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        tokens = self.mlp(self.norm(self.proj(x).flatten(2).transpose(1, 2)))
        return tokens.transpose(1, 2).reshape(b, 8, h // 16, w // 16)


class SwinWindows(nn.Module):
    """Swin's patch embedding (4x4 stride 4) and window partition: view(B, H // 7, 7, W // 7, 7, C), which
    needs each side of the patch grid divisible by the window, then the reverse."""

    def __init__(self, window: int = 7) -> None:
        super().__init__()
        self.window = window
        self.embed = nn.Conv2d(3, 4, 4, 4)
        self.mix = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x).permute(0, 2, 3, 1)
        b, h, w, c = x.shape
        r = self.window
        windows = x.view(b, h // r, r, w // r, r, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, r * r, c)
        windows = self.mix(windows)
        x = windows.view(b, h // r, w // r, r, r, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)
        return x.permute(0, 3, 1, 2)


# ------------------------------------------------------------------------------------------------ segmentation


def double_conv(cin: int, cout: int, p: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=p), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=p), nn.ReLU()
    )


class UNet(nn.Module):
    """Ronneberger et al.'s U-Net (valid 3x3 convs, 2x2 pools, 2x2 stride-2 up-convolutions, skips centre-
    cropped to the upsampled size) or, with `p=1`, the padded variant whose skips need no crop."""

    def __init__(self, depth: int = 4, p: int = 0) -> None:
        super().__init__()
        self.p = p
        self.downs = nn.ModuleList([double_conv(3 if d == 0 else 2, 2, p) for d in range(depth)])
        self.bottom = double_conv(2, 2, p)
        self.ups = nn.ModuleList([nn.ConvTranspose2d(2, 2, 2, 2) for _ in range(depth)])
        self.fuses = nn.ModuleList([double_conv(4, 2, p) for _ in range(depth)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for up, fuse, skip in zip(self.ups, self.fuses, reversed(skips), strict=True):
            x = up(x)
            if self.p == 0:
                dh, dw = (skip.size(2) - x.size(2)) // 2, (skip.size(3) - x.size(3)) // 2
                skip = skip[:, :, dh : dh + x.size(2), dw : dw + x.size(3)]
            x = fuse(torch.cat([skip, x], 1))
        return x


class UNetPlusPlus(nn.Module):
    """Zhou et al.'s UNet++ (segmentation_models_pytorch's layout): nested dense skips, nearest upsampling by 2."""

    def __init__(self, depth: int = 4) -> None:
        super().__init__()
        self.depth = depth
        self.enc = nn.ModuleList([double_conv(3 if d == 0 else 4, 4, 1) for d in range(depth)])
        self.nodes = nn.ModuleDict(
            {f"x{i}_{j}": double_conv(4 * (j + 1), 4, 1) for j in range(1, depth) for i in range(depth - j)}
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grid: dict[tuple[int, int], torch.Tensor] = {}
        for i, enc in enumerate(self.enc):
            x = enc(x if i == 0 else F.max_pool2d(x, 2))
            grid[i, 0] = x
        for j in range(1, self.depth):
            for i in range(self.depth - j):
                up = F.interpolate(grid[i + 1, j - 1], scale_factor=2, mode="nearest")
                grid[i, j] = self.nodes[f"x{i}_{j}"](torch.cat([grid[i, k] for k in range(j)] + [up], 1))
        return grid[0, self.depth - 1]


class FPN(nn.Module):
    """torchvision ops.FeaturePyramidNetwork on a ResNet: lateral 1x1 convs, each coarser map interpolated
    (nearest) to the lateral's size and added, 3x3 output convs."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = stem()
        self.stages = nn.ModuleList([BasicBlock(4, 4, s) for s in (1, 2, 2, 2)])
        self.laterals = nn.ModuleList([nn.Conv2d(4, 4, 1) for _ in range(4)])
        self.outs = nn.ModuleList([nn.Conv2d(4, 4, 3, padding=1) for _ in range(4)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = []
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        top = self.laterals[3](feats[3])
        result = self.outs[3](top)
        for level in (2, 1, 0):
            lateral = self.laterals[level](feats[level])
            top = lateral + F.interpolate(top, size=lateral.shape[-2:], mode="nearest")
            result = self.outs[level](top)
        return result


class DeepLabV3(nn.Module):
    """torchvision deeplabv3: a dilated ResNet (output stride 8), ASPP (1x1, 3x3 with dilation 12, 24, 36 and
    matching padding, image pooling interpolated back to the feature size), bilinear to the input size."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(
            stem(), BasicBlock(4, 4, 2), cbr(4, 4, 3, 1, 2, dilation=2), cbr(4, 4, 3, 1, 4, dilation=4)
        )
        self.aspp = nn.ModuleList([cbr(4, 2, 1)] + [cbr(4, 2, 3, 1, r, dilation=r) for r in (12, 24, 36)])
        self.image = nn.Sequential(nn.AdaptiveAvgPool2d(1), cbr(4, 2, 1))
        self.project = cbr(10, 4, 1)
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        f = self.backbone(x)
        pooled = F.interpolate(self.image(f), size=f.shape[-2:], mode="bilinear", align_corners=False)
        y = self.project(torch.cat([branch(f) for branch in self.aspp] + [pooled], 1))
        return F.interpolate(self.head(y), size=size, mode="bilinear", align_corners=False)


class PSPNet(nn.Module):
    """Zhao et al.'s pyramid pooling: adaptive average pools to 1, 2, 3, 6, each resized to the feature size."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(stem(), BasicBlock(4, 4, 2))
        self.pools = nn.ModuleList(
            [nn.Sequential(nn.AdaptiveAvgPool2d(b), nn.Conv2d(4, 1, 1)) for b in (1, 2, 3, 6)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.backbone(x)
        size = f.shape[-2:]
        return torch.cat(
            [f] + [F.interpolate(p(f), size=size, mode="bilinear", align_corners=False) for p in self.pools],
            1,
        )


class HRNetLike(nn.Module):
    """HRNet's multi-resolution exchange: branches at 1/4, 1/8, 1/16 of the input; a fusion adds each
    branch's strided 3x3 downsampling and nearest upsampling by powers of 2 to every other branch."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(cbr(3, 4, 3, 2, 1), cbr(4, 4, 3, 2, 1))
        self.to2 = cbr(4, 4, 3, 2, 1)
        self.to3 = cbr(4, 4, 3, 2, 1)
        self.b = nn.ModuleList([BasicBlock(4, 4, 1) for _ in range(3)])
        self.down = nn.ModuleDict(
            {
                f"{a}{b}": nn.Sequential(*(cbr(4, 4, 3, 2, 1) for _ in range(b - a)))
                for a in range(3)
                for b in range(a + 1, 3)
            }
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.stem(x)
        x2 = self.to2(x1)
        x3 = self.to3(x2)
        xs = [block(t) for block, t in zip(self.b, (x1, x2, x3), strict=True)]
        fused = []
        for target in range(3):
            y = xs[target]
            for source in range(3):
                if source < target:
                    y = y + self.down[f"{source}{target}"](xs[source])
                elif source > target:
                    y = y + F.interpolate(xs[source], scale_factor=2 ** (source - target), mode="nearest")
            fused.append(F.relu(y))
        return fused[0]


class Pix2Pix(nn.Module):
    """pix2pix's U-Net generator: 4x4 stride 2 pad 1 encoders, 4x4 stride 2 pad 1 transposed decoders, skips."""

    def __init__(self, depth: int = 6) -> None:
        super().__init__()
        self.enc = nn.ModuleList([nn.Conv2d(3 if d == 0 else 4, 4, 4, 2, 1) for d in range(depth)])
        self.dec = nn.ModuleList(
            [nn.ConvTranspose2d(4 if d == depth - 1 else 8, 4, 4, 2, 1) for d in range(depth)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for enc in self.enc:
            x = F.leaky_relu(enc(x), 0.2)
            skips.append(x)
        x = self.dec[-1](skips.pop())
        for dec in reversed(self.dec[:-1]):
            x = dec(torch.cat([x, skips.pop()], 1))
        return x


class YOLOv3Neck(nn.Module):
    """Darknet-53's strided 3x3 pad 1 downsampling with residuals, and YOLOv3's upsample-by-2 + concatenation."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = cbr(3, 4, 3, 1, 1)
        self.downs = nn.ModuleList([cbr(4, 4, 3, 2, 1) for _ in range(5)])
        self.res = nn.ModuleList([nn.Sequential(cbr(4, 2, 1), cbr(2, 4, 3, 1, 1)) for _ in range(5)])
        self.lateral = cbr(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        feats = []
        for down, res in zip(self.downs, self.res, strict=True):
            x = down(x)
            x = x + res(x)
            feats.append(x)
        up = nn.functional.interpolate(feats[4], scale_factor=2, mode="nearest")
        return self.lateral(torch.cat([up, feats[3]], 1))


def espcn() -> nn.Module:
    """ESPCN super-resolution: 5x5 and 3x3 same-size convs, pixel shuffle by 3."""
    return nn.Sequential(
        nn.Conv2d(3, 4, 5, padding=2),
        nn.Tanh(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.Tanh(),
        nn.Conv2d(4, 27, 3, padding=1),
        nn.PixelShuffle(3),
    )


class ResNetDBlock(nn.Module):
    """timm's ResNet-D downsampling block: the shortcut averages 2x2 with ceil_mode and without the padding in
    the divisor, then a 1x1 conv; the main path's stride sits on its 3x3."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(cbr(4, 4, 1), cbr(4, 4, 3, 2, 1), nn.Conv2d(4, 4, 1))
        self.down = nn.Sequential(
            nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False), nn.Conv2d(4, 4, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.down(x))


def resnet_d() -> nn.Module:
    """timm's resnet50d: the deep stem (three 3x3 convs, the first strided) and ResNet-D downsampling."""
    deep_stem = nn.Sequential(
        cbr(3, 4, 3, 2, 1), cbr(4, 4, 3, 1, 1), cbr(4, 4, 3, 1, 1), nn.MaxPool2d(3, 2, 1)
    )
    return nn.Sequential(deep_stem, *(ResNetDBlock() for _ in range(3)))


class ENetInitial(nn.Module):
    """ENet's initial block: a 3x3 stride-2 pad-1 conv beside a 2x2 max pool, concatenated (equal sizes only
    for even inputs), then a bottleneck with the same pairing."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.conv2 = nn.Conv2d(3, 1, 3, 2, 1), nn.Conv2d(4, 4, 3, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.conv(x), F.max_pool2d(x, 2)], 1)
        return torch.cat([self.conv2(x), F.max_pool2d(x, 2)], 1)


def real_esrgan_x2() -> nn.Module:
    """Real-ESRGAN's x2 model: pixel unshuffle by 2 first (even sizes), the body, two nearest upsamplings."""
    return nn.Sequential(
        nn.PixelUnshuffle(2), nn.Conv2d(12, 4, 3, 1, 1), nn.LeakyReLU(0.2), nn.Upsample(scale_factor=2),
        nn.Conv2d(4, 4, 3, 1, 1), nn.Upsample(scale_factor=2), nn.Conv2d(4, 3, 3, 1, 1),
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------ 1-D and 3-D


def wavenet_same() -> nn.Module:
    """A non-causal WaveNet stack: dilated convolutions with padding='same' (dilation 1 to 32), a strided
    max pool, and a 4-tap convolution with 'same' (PyTorch puts the odd padding element at the end)."""
    convs = [nn.Conv1d(1 if n == 0 else 4, 4, 3, padding="same", dilation=2**n) for n in range(6)]
    return nn.Sequential(*convs, nn.MaxPool1d(3, 2, 1), nn.Conv1d(4, 4, 4, padding="same"))


def m5_audio() -> nn.Module:
    """Dai et al.'s M5 raw-waveform classifier: an 80-tap stride-16 conv, 4x max pools, 3-tap convs."""
    return nn.Sequential(
        nn.Conv1d(1, 4, 80, 16), nn.BatchNorm1d(4), nn.ReLU(), nn.MaxPool1d(4),
        nn.Conv1d(4, 4, 3), nn.ReLU(), nn.MaxPool1d(4), nn.Conv1d(4, 4, 3), nn.ReLU(), nn.MaxPool1d(4),
    )  # fmt: skip


class CausalTCN(nn.Module):
    """WaveNet/TCN dilated causal convolutions: F.pad on the left by d*(k-1), then an unpadded conv."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv1d(1 if n == 0 else 4, 4, 2, dilation=2**n) for n in range(6)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            assert isinstance(conv, nn.Conv1d)
            x = F.relu(conv(F.pad(x, (conv.dilation[0], 0))))
        return x


def unet3d() -> nn.Module:
    """Çiçek et al.'s 3-D U-Net encoder path, padded: 3x3x3 convs, 2x2x2 max pools."""

    def block(cin: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv3d(cin, 2, 3, padding=1), nn.ReLU(), nn.Conv3d(2, 2, 3, padding=1))

    return nn.Sequential(
        block(1), nn.MaxPool3d(2), block(2), nn.MaxPool3d(2), block(2), nn.ConvTranspose3d(2, 2, 2, 2)
    )


def r2plus1d() -> nn.Module:
    """torchvision video r2plus1d_18: (1, 7, 7) spatial then (3, 1, 1) temporal convs, stride (1, 2, 2) in
    the stem and (2, 2, 2) later."""
    return nn.Sequential(
        nn.Conv3d(1, 2, (1, 7, 7), (1, 2, 2), (0, 3, 3)), nn.ReLU(), nn.Conv3d(2, 2, (3, 1, 1), 1, (1, 0, 0)),
        nn.ReLU(), nn.Conv3d(2, 2, (1, 3, 3), (1, 2, 2), (0, 1, 1)), nn.Conv3d(2, 2, (3, 1, 1), (2, 1, 1), (1, 0, 0)),
    )  # fmt: skip


def c3d() -> nn.Module:
    """Tran et al.'s C3D: 3x3x3 pad 1 convs, the first pool (1, 2, 2) (time kept), then 2x2x2 pools."""
    return nn.Sequential(
        nn.Conv3d(1, 2, 3, padding=1), nn.MaxPool3d((1, 2, 2)), nn.Conv3d(2, 2, 3, padding=1), nn.MaxPool3d(2),
        nn.Conv3d(2, 2, 3, padding=1), nn.MaxPool3d(2, padding=(0, 1, 1)),
    )  # fmt: skip


# -------------------------------------------------------------------------------------------------- the zoo


@dataclass(frozen=True)
class Entry:
    """An architecture: how to build it, the input shape symconv reads (a name per swept axis), a size per
    axis at which the model runs, and, while symconv refuses it, the refusal and the feature it needs."""

    name: str
    build: Callable[[], nn.Module]
    shape: tuple[int | str, ...]
    held: tuple[int, ...]
    refusal: str = ""
    needs: str = ""


HW = (1, 3, "H", "W")
OPERATORS = "operators of real networks"
ZOO: tuple[Entry, ...] = (
    Entry("resnet18", resnet18, HW, (40, 56)),
    Entry("resnet50", resnet50, HW, (56, 40)),
    Entry("resnext50", resnext50, HW, (40, 72)),
    Entry("resnet50d (ResNet-D)", resnet_d, HW, (40, 56)),
    Entry("vgg11", vgg11, HW, (40, 56)),
    Entry("alexnet", alexnet, HW, (64, 72)),
    Entry("lenet5", lenet5, HW, (20, 28)),
    Entry("densenet121", densenet121, HW, (40, 32)),
    Entry("squeezenet1_0", squeezenet, HW, (32, 40)),
    Entry("googlenet", googlenet, HW, (32, 40)),
    Entry("inception_v3", inception_v3, HW, (80, 96)),
    Entry("mobilenet_v2", lambda: mobilenet(MOBILENET_V2), HW, (32, 40)),
    Entry("mobilenet_v3", lambda: mobilenet(MOBILENET_V3), HW, (40, 32)),
    Entry("mnasnet", lambda: mobilenet(MNASNET), HW, (32, 40)),
    Entry("efficientnet_b0 (torchvision padding)", lambda: mobilenet(EFFICIENTNET_B0), HW, (40, 32)),
    Entry(
        "efficientnet_b0 (TF SAME, timm Conv2dSame)",
        lambda: mobilenet(EFFICIENTNET_B0, Conv2dSame),
        HW,
        (40, 32),
    ),
    Entry("regnet", regnet, HW, (32, 40)),
    Entry("shufflenet_v2", shufflenet_v2, HW, (32, 48)),
    Entry("convnext", convnext, HW, (32, 48)),
    Entry("vit patch embedding", ViTPatches, HW, (32, 48)),
    Entry("swin window partition", SwinWindows, HW, (28, 56)),
    Entry(
        "swin_t (torchvision's code)",
        lambda: Features(swin(embed_dim=8, num_heads=[1, 2, 2, 4])),
        HW,
        (45, 38),
    ),
    Entry(
        "swin_v2_t (torchvision's code)",
        lambda: Features(swin(v2=True, embed_dim=8, num_heads=[1, 2, 2, 4])),
        HW,
        (38, 45),
    ),
    Entry("unet (centre crops)", lambda: UNet(3), HW, (96, 120)),
    Entry("unet (padded)", lambda: UNet(4, 1), HW, (32, 48)),
    Entry("unet++", UNetPlusPlus, HW, (24, 40)),
    Entry("fpn", FPN, HW, (32, 48)),
    Entry("deeplabv3", DeepLabV3, HW, (32, 48)),
    Entry("pspnet", PSPNet, HW, (32, 48)),
    Entry("hrnet-like", HRNetLike, HW, (16, 32)),
    Entry("pix2pix generator", Pix2Pix, HW, (64, 128)),
    Entry("yolov3 neck", YOLOv3Neck, HW, (32, 64)),
    Entry("espcn", espcn, HW, (12, 20)),
    Entry("real-esrgan x2 (pixel unshuffle)", real_esrgan_x2, HW, (12, 20)),
    Entry("enet initial blocks", ENetInitial, HW, (32, 48)),
    Entry("wavenet (padding='same', dilated)", wavenet_same, (1, 1, "L"), (64,)),
    Entry("m5 (1-D audio)", m5_audio, (1, 1, "L"), (1800,)),
    Entry("tcn (1-D causal, F.pad)", CausalTCN, (1, 1, "L"), (64,)),
    Entry("unet3d", unet3d, (1, 1, "D", "H", "W"), (5, 6, 7)),
    Entry("c3d (pool (1, 2, 2))", c3d, (1, 1, "D", "H", "W"), (4, 10, 12)),
    Entry("r2plus1d (stride (1, 2, 2))", r2plus1d, (1, 1, "D", "H", "W"), (4, 10, 12)),
)


class ViTClassToken(nn.Module):
    """torchvision's ViT at a small fixed size (asserted, as torchvision asserts image_size): patches, a class
    token concatenated in front, a position embedding of (32/8)*(48/8) + 1 tokens, self-attention, then the
    patch tokens (class token cut off) back to the grid. Valid only at H=32, W=48."""

    def __init__(self, size: tuple[int, int] = (32, 48), patch: int = 8, dim: int = 6) -> None:
        super().__init__()
        self.size, self.patch = size, patch
        self.proj = nn.Conv2d(3, dim, patch, patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.zeros(1, (size[0] // patch) * (size[1] // patch) + 1, dim))
        self.norm = nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, 2, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        # torch._assert (untyped in torch's stubs) is what torchvision's ViT asserts its size with: fx traces it.
        torch._assert(h == self.size[0], "wrong image height")  # type: ignore[no-untyped-call]
        torch._assert(w == self.size[1], "wrong image width")  # type: ignore[no-untyped-call]
        tokens = self.proj(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.class_token.expand(n, -1, -1), tokens], dim=1) + self.pos_embedding
        y = self.norm(tokens)
        tokens = tokens + self.attention(y, y, y, need_weights=False)[0]
        grid = tokens[:, 1:].transpose(1, 2)
        return grid.reshape(n, -1, h // self.patch, w // self.patch)


ZOO = (*ZOO, Entry("vit (class token, position embedding)", ViTClassToken, HW, (32, 48)))


class ReflectResBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c, c, 3, padding=1, padding_mode="reflect"),
            nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1, padding_mode="reflect"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def cyclegan_generator() -> nn.Module:
    """CycleGAN's ResNet generator with the reflection padding written as padding_mode="reflect": a 7x7 stem
    (reflect needs the padding below the size), two stride-2 convolutions, residual blocks, two transposed
    convolutions back up, a circular-padded head."""
    return nn.Sequential(
        nn.Conv2d(3, 4, 7, padding=3, padding_mode="reflect"),
        nn.Conv2d(4, 8, 3, stride=2, padding=1),
        nn.Conv2d(8, 8, 3, stride=2, padding=1, padding_mode="replicate"),
        ReflectResBlock(8),
        ReflectResBlock(8),
        nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1),
        nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1),
        nn.Conv2d(4, 3, 7, padding=3, padding_mode="circular"),
    )


ZOO = (
    *ZOO,
    Entry("cyclegan generator (padding_mode reflect, replicate, circular)", cyclegan_generator, HW, (32, 40)),
)


# ---------------------------------------------------------------- attention on moved axes (splits, pads, @)


class EfficientFormerAttention(nn.Module):
    """timm's EfficientFormer Attention over (batch, tokens, channels): q, k, v from one Linear reshaped to
    (B, N, heads, -1) and permuted, split by sizes [key_dim, key_dim, val_dim] along the last dimension;
    (q @ k^T) * scale, softmax, attn @ v, back to (B, N, heads * val_dim), projected (the attention biases,
    which fix the resolution, left out)."""

    def __init__(self, dim: int, heads: int = 2, key_dim: int = 2, ratio: int = 2) -> None:
        super().__init__()
        self.heads, self.key_dim, self.val_dim = heads, key_dim, ratio * key_dim
        self.qkv = nn.Linear(dim, heads * (2 * key_dim + self.val_dim))
        self.proj = nn.Linear(heads * self.val_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        qkv = self.qkv(x).reshape(b, n, self.heads, -1).permute(0, 2, 1, 3)
        q, k, v = qkv.split([self.key_dim, self.key_dim, self.val_dim], dim=3)
        attn = ((q @ k.transpose(-2, -1)) * self.key_dim**-0.5).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, self.heads * self.val_dim))


class EfficientFormer(nn.Module):
    """EfficientFormer-L1's layout: a stem of two 3x3 stride-2 convolutions, Meta4D blocks (pooling token
    mixer: AvgPool2d(3, 1, 1, count_include_pad=False) - x), 3x3 stride-2 downsamples, then Flat (flatten(2)
    .transpose(1, 2)) and Meta3D blocks (LayerNorm, attention, MLP) on the tokens, back to (B, C, H, W)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(cbr(3, 4, 3, 2, 1), cbr(4, 4, 3, 2, 1))
        self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
        self.down = nn.Sequential(nn.Conv2d(4, 8, 3, 2, 1), nn.Conv2d(8, 8, 3, 2, 1))
        self.norm = nn.LayerNorm(8)
        self.attention = EfficientFormerAttention(8)
        self.mlp = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = x + (self.pool(x) - x)
        x = self.down(x)
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        tokens = tokens + self.attention(self.norm(tokens))
        tokens = tokens + self.mlp(self.norm(tokens))
        return tokens.transpose(1, 2).reshape(b, c, h, w)


class SwinBlock(nn.Module):
    """timm's SwinTransformerBlock (window attention, no shift) after a 4x4 stride-4 patch embedding, on the
    channels-last (B, H, W, C) tensor: padded to a multiple of the window by F.pad(x, (0, 0, 0, pad_w, 0,
    pad_h)), windows view(-1, window * window, C), attention q @ k^T + softmax + @ v in each window (qkv
    reshaped to (B_, N, 3, heads, -1) and unbound), windows merged back, cropped to x[:, :H, :W, :]."""

    def __init__(self, dim: int = 4, heads: int = 2, window: int = 7) -> None:
        super().__init__()
        self.heads, self.window = heads, window
        self.embed = nn.Conv2d(3, dim, 4, 4)
        self.norm = nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        b_, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b_, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        attn = (q * (c // self.heads) ** -0.5 @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b_, n, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x).permute(0, 2, 3, 1)
        b, h, w, c = x.shape
        r = self.window
        shortcut = x
        x = F.pad(self.norm(x), (0, 0, 0, (r - w % r) % r, 0, (r - h % r) % r))
        _, hp, wp, _ = x.shape
        windows = x.view(b, hp // r, r, wp // r, r, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, r * r, c)
        windows = self.attention(windows).view(-1, r, r, c)
        x = windows.view(b, hp // r, wp // r, r, r, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)
        x = shortcut + x[:, :h, :w, :]
        x = x + self.mlp(self.norm(x))
        return x.permute(0, 3, 1, 2)


class CoAtNetAttention(nn.Module):
    """timm's CoAtNet (maxxvit) transformer block in NCHW: a stride-2 downsample, then attention2d with
    head_first: qkv a 1x1 convolution viewed as (B, heads, 3 * head_dim, H*W) and chunked along dimension 2,
    attn = q^T @ k, softmax, v @ attn^T viewed back to (B, C, H, W), a 1x1 projection."""

    def __init__(self, dim: int = 4, heads: int = 2) -> None:
        super().__init__()
        self.heads = heads
        self.stem = nn.Sequential(cbr(3, dim, 3, 2, 1), cbr(dim, dim, 3, 1, 1))
        self.down = nn.MaxPool2d(3, 2, 1)
        self.qkv, self.proj = nn.Conv2d(dim, 3 * dim, 1), nn.Conv2d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down(self.stem(x))
        b, c, h, w = x.shape
        q, k, v = self.qkv(x).view(b, self.heads, 3 * c // self.heads, -1).chunk(3, dim=2)
        attn = (q.transpose(-2, -1) @ k * (c // self.heads) ** -0.5).softmax(dim=-1)
        return x + self.proj((v @ attn.transpose(-2, -1)).view(b, -1, h, w))


class MANetPAB(nn.Module):
    """segmentation_models_pytorch's MAnet position attention block on a ResNet stem: torch.matmul of the
    tokens of two 1x1 convolutions, softmax, torch.matmul with a third; back to (B, C, H, W) by a transpose
    (MAnet itself reshapes without transposing, which mixes channels and positions)."""

    def __init__(self, dim: int = 4) -> None:
        super().__init__()
        self.stem = stem()
        self.top, self.centre = nn.Conv2d(dim, 2, 1), nn.Conv2d(dim, 2, 1)
        self.bottom, self.out = nn.Conv2d(dim, dim, 3, padding=1), nn.Conv2d(dim, dim, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        b, c, h, w = x.shape
        top = self.top(x).flatten(2)
        centre = self.centre(x).flatten(2).transpose(1, 2)
        bottom = self.bottom(x).flatten(2).transpose(1, 2)
        attention = torch.matmul(centre, top).softmax(dim=-1)
        y = torch.matmul(attention, bottom).transpose(1, 2).reshape(b, c, h, w)
        return self.out(x + y)


ZOO = (
    *ZOO,
    Entry("efficientformer (tokens, split by sizes, q @ k^T)", EfficientFormer, HW, (40, 56)),
    Entry("swin block (F.pad channels-last, window attention, crop)", SwinBlock, HW, (56, 84)),
    Entry("coatnet attention (chunk of heads, v @ attn^T)", CoAtNetAttention, HW, (32, 48)),
    Entry("manet position attention (torch.matmul)", MANetPAB, HW, (32, 48)),
)
