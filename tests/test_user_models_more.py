"""More models as users write them (segmentation decoders, detection necks, super resolution, audio and video
nets, mixers, attention gates, sizes computed from sizes), each against PyTorch: on every size 1..48 of each
axis (the others held where the model runs) symconv gives PyTorch's output sizes wherever PyTorch runs and a
SymconvError wherever it refuses, its proved valid sets agree, or it refuses the model itself with a
SymconvError. Where a model is read, the receptive fields at a few sizes contain, clipped to the input, every
input position that an output position's gradient reaches (float64, weights and inputs in [0.5, 1], average in
place of max pooling), and are exactly their span unless the case says why they may be wider."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.errors import SymconvError  # noqa: E402
from symconv.logic.prove import Proved  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402
from symconv.nets.receptive import intervals  # noqa: E402

# Each model is run at about 200 sizes and its valid sets proved: seconds a model.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")]

SIZES = range(1, 49)


def cbr(cin: int, cout: int, k: int = 3, s: int = 1, p: int | None = None, d: int = 1) -> nn.Sequential:
    """Convolution, batch norm, ReLU, padded to keep the size at stride 1 unless `p` says otherwise."""
    pad = d * (k - 1) // 2 if p is None else p
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, s, pad, dilation=d, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


# Segmentation


class MilesialUp(nn.Module):
    """milesial/Pytorch-UNet's Up: upsample, pad the smaller map to the skip's size, concatenate."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        self.conv = nn.Sequential(cbr(cin, cout), cbr(cout, cout))

    def forward(self, x1: Any, x2: Any) -> Any:
        x1 = self.up(x1)
        diff_y = x2.size()[2] - x1.size()[2]
        diff_x = x2.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [diff_x // 2, diff_x - diff_x // 2, diff_y // 2, diff_y - diff_y // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class MilesialUNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inc = nn.Sequential(cbr(3, 4), cbr(4, 4))
        self.down1 = nn.Sequential(nn.MaxPool2d(2), cbr(4, 8), cbr(8, 8))
        self.down2 = nn.Sequential(nn.MaxPool2d(2), cbr(8, 8), cbr(8, 8))
        self.up1 = MilesialUp(16, 4)
        self.up2 = MilesialUp(8, 4)
        self.outc = nn.Conv2d(4, 2, 1)

    def forward(self, x: Any) -> Any:
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        return self.outc(self.up2(self.up1(x3, x2), x1))


class AttentionGate(nn.Module):
    """Attention U-Net (Oktay et al.): the gate from the coarser level, the skip strided to meet it, the
    coefficients resized back to the skip."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.theta = nn.Conv2d(c, c, 2, 2, bias=False)
        self.phi = nn.Conv2d(c, c, 1)
        self.psi = nn.Conv2d(c, 1, 1)

    def forward(self, x: Any, g: Any) -> Any:
        theta = self.theta(x)
        phi = F.interpolate(self.phi(g), size=theta.shape[2:], mode="bilinear", align_corners=False)
        alpha = torch.sigmoid(self.psi(F.relu(theta + phi)))
        return x * F.interpolate(alpha, size=x.shape[2:], mode="bilinear", align_corners=False)


class AttentionUNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc1, self.enc2 = cbr(3, 4), nn.Sequential(nn.MaxPool2d(2), cbr(4, 4))
        self.gate = AttentionGate(4)
        self.up = nn.ConvTranspose2d(4, 4, 2, 2)
        self.dec = cbr(8, 4)

    def forward(self, x: Any) -> Any:
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        return self.dec(torch.cat([self.gate(e1, e2), self.up(e2)], 1))


class ResBlock(nn.Module):
    """ResUNet's residual unit: BN-ReLU-conv twice, a strided 1x1 projection on the shortcut."""

    def __init__(self, cin: int, cout: int, s: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, cout, 3, s, 1), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, 1, 1),
        )  # fmt: skip
        self.skip = nn.Conv2d(cin, cout, 1, s)

    def forward(self, x: Any) -> Any:
        return self.body(x) + self.skip(x)


class ResUNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.e1, self.e2, self.e3 = ResBlock(3, 4), ResBlock(4, 8, 2), ResBlock(8, 8, 2)
        self.d2, self.d1 = ResBlock(16, 8), ResBlock(12, 4)

    def forward(self, x: Any) -> Any:
        e1 = self.e1(x)
        e2 = self.e2(e1)
        e3 = self.e3(e2)
        d2 = self.d2(torch.cat([F.interpolate(e3, scale_factor=2.0, mode="nearest"), e2], 1))
        return self.d1(torch.cat([F.interpolate(d2, scale_factor=2.0, mode="nearest"), e1], 1))


class LinkNetDecoder(nn.Module):
    """LinkNet: 1x1 down, ConvTranspose2d(3, 2, 1, output_padding=1), 1x1 up, added to the encoder map."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            cbr(cin, cin // 2, 1), nn.ConvTranspose2d(cin // 2, cin // 2, 3, 2, 1, output_padding=1),
            nn.ReLU(), cbr(cin // 2, cout, 1),
        )  # fmt: skip

    def forward(self, x: Any) -> Any:
        return self.block(x)


class LinkNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(cbr(3, 8, 7, 2, 3), nn.MaxPool2d(3, 2, 1))
        self.enc1, self.enc2 = cbr(8, 8, 3, 2), cbr(8, 16, 3, 2)
        self.dec2, self.dec1 = LinkNetDecoder(16, 8), LinkNetDecoder(8, 8)
        self.head = nn.ConvTranspose2d(8, 2, 2, 2)

    def forward(self, x: Any) -> Any:
        s = self.stem(x)
        e1 = self.enc1(s)
        e2 = self.enc2(e1)
        d2 = self.dec2(e2) + e1
        return self.head(self.dec1(d2) + s)


class SegNet(nn.Module):
    """SegNet: max pooling keeps its indices, the decoder unpools with them to the encoder's sizes."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1, self.enc2 = cbr(3, 4), cbr(4, 8)
        self.dec2, self.dec1 = cbr(8, 4), nn.Conv2d(4, 2, 3, 1, 1)

    def forward(self, x: Any) -> Any:
        e1 = self.enc1(x)
        p1, i1 = F.max_pool2d(e1, 2, 2, return_indices=True)
        e2 = self.enc2(p1)
        p2, i2 = F.max_pool2d(e2, 2, 2, return_indices=True)
        u2 = F.max_unpool2d(p2, i2, (2, 2), (2, 2), output_size=e2.size())
        u1 = F.max_unpool2d(self.dec2(u2), i1, (2, 2), (2, 2), output_size=e1.size())
        return self.dec1(u1)


class PyramidPooling(nn.Module):
    """PSPNet's module written with F.adaptive_avg_pool2d and a list comprehension of bins."""

    def __init__(self, c: int, bins: Sequence[int] = (1, 2, 3, 6)) -> None:
        super().__init__()
        self.bins = tuple(bins)
        self.reduce = nn.ModuleList(cbr(c, c // 4, 1) for _ in self.bins)
        self.out = cbr(2 * c, c)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[-2:]
        pooled = [
            F.interpolate(r(F.adaptive_avg_pool2d(x, b)), (h, w), mode="bilinear", align_corners=True)
            for b, r in zip(self.bins, self.reduce, strict=True)
        ]
        return self.out(torch.cat([x, *pooled], 1))


class PSPSmall(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(cbr(3, 8, 3, 2), cbr(8, 8, 3, 2))
        self.ppm = PyramidPooling(8)

    def forward(self, x: Any) -> Any:
        y = self.ppm(self.backbone(x))
        return F.interpolate(y, scale_factor=4, mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    """DeepLab's ASPP: dilated branches and an image-level branch resized back with interpolate(size=...)."""

    def __init__(self, c: int = 8, rates: Sequence[int] = (2, 4, 6)) -> None:
        super().__init__()
        self.stem = cbr(3, c, 3, 2)
        self.branches = nn.ModuleList([cbr(c, c, 1), *(cbr(c, c, 3, d=r) for r in rates)])
        self.image = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c, 1), nn.ReLU())
        self.project = cbr(c * (len(rates) + 2), c, 1)

    def forward(self, x: Any) -> Any:
        x = self.stem(x)
        outs = [b(x) for b in self.branches]
        outs.append(F.interpolate(self.image(x), size=x.shape[-2:], mode="bilinear", align_corners=False))
        return self.project(torch.cat(outs, dim=1))


class AttentionRefinement(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = cbr(c, c)
        self.att = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c, 1), nn.Sigmoid())

    def forward(self, x: Any) -> Any:
        y = self.conv(x)
        return y * self.att(y)


class BiSeNetContext(nn.Module):
    """BiSeNet's context path: x16 and x32 features refined, the global context added, upsampled twice by
    interpolate(size=...) of the next finer map."""

    def __init__(self) -> None:
        super().__init__()
        self.d8 = nn.Sequential(cbr(3, 8, 3, 2), cbr(8, 8, 3, 2), cbr(8, 8, 3, 2))
        self.d16, self.d32 = cbr(8, 8, 3, 2), cbr(8, 8, 3, 2)
        self.arm16, self.arm32 = AttentionRefinement(8), AttentionRefinement(8)
        self.head32, self.head16 = cbr(8, 8), cbr(8, 8)

    def forward(self, x: Any) -> Any:
        f8 = self.d8(x)
        f16 = self.d16(f8)
        f32 = self.d32(f16)
        context = F.adaptive_avg_pool2d(f32, 1)
        up32 = F.interpolate(self.arm32(f32) + context, size=f16.shape[2:], mode="nearest")
        up16 = F.interpolate(self.head32(up32) + self.arm16(f16), size=f8.shape[2:], mode="nearest")
        return self.head16(up16)


class HRNetFuse(nn.Module):
    """An HRNet exchange unit over three branches: coarser maps resized up to each finer one's size, finer maps
    strided down by chains of 3x3 stride-2 convolutions."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.b0, self.b1, self.b2 = (
            cbr(3, c),
            cbr(3, c, 3, 2),
            nn.Sequential(cbr(3, c, 3, 2), cbr(c, c, 3, 2)),
        )
        self.down01, self.down02 = cbr(c, c, 3, 2), nn.Sequential(cbr(c, c, 3, 2), cbr(c, c, 3, 2))
        self.down12 = cbr(c, c, 3, 2)

    def forward(self, x: Any) -> Any:
        x0, x1, x2 = self.b0(x), self.b1(x), self.b2(x)
        y0 = (
            x0
            + F.interpolate(x1, size=x0.shape[-2:], mode="bilinear")
            + F.interpolate(x2, size=x0.shape[-2:])
        )
        y1 = self.down01(x0) + x1 + F.interpolate(x2, size=x1.shape[-2:], mode="bilinear")
        y2 = self.down02(x0) + self.down12(x1) + x2
        return y0 + F.interpolate(y1, size=y0.shape[-2:]) + F.interpolate(y2, size=y0.shape[-2:])


class FCN8s(nn.Module):
    """FCN-8s: score maps upsampled by transposed convolutions and cropped to the skip by slicing with offsets
    taken from the shapes."""

    def __init__(self) -> None:
        super().__init__()
        self.pool3 = nn.Sequential(
            cbr(3, 4), nn.MaxPool2d(2, 2, ceil_mode=True), cbr(4, 4), nn.MaxPool2d(2, 2)
        )
        self.pool4 = nn.Sequential(cbr(4, 4), nn.MaxPool2d(2, 2))
        self.fc = nn.Sequential(nn.Conv2d(4, 4, 3), nn.ReLU())
        self.score4, self.score3 = nn.Conv2d(4, 2, 1), nn.Conv2d(4, 2, 1)
        self.up2, self.up4 = nn.ConvTranspose2d(2, 2, 4, 2), nn.ConvTranspose2d(2, 2, 4, 2)
        self.up8 = nn.ConvTranspose2d(2, 2, 16, 8)
        self.fr = nn.Conv2d(4, 2, 1)

    def forward(self, x: Any) -> Any:
        p3 = self.pool3(x)
        p4 = self.pool4(p3)
        u = self.up2(self.fr(self.fc(p4)))
        s4 = self.score4(p4)
        u = u[:, :, 1 : 1 + s4.size(2), 1 : 1 + s4.size(3)] + s4
        u = self.up4(u)
        s3 = self.score3(p3)
        u = u[:, :, 1 : 1 + s3.size(2), 1 : 1 + s3.size(3)] + s3
        u = self.up8(u)
        return u[:, :, 4 : 4 + x.size(2), 4 : 4 + x.size(3)].contiguous()


class Hourglass(nn.Module):
    """A stacked-hourglass module, recursive: pool, recurse, upsample by 2 (nearest), add the skip."""

    def __init__(self, depth: int, c: int = 4) -> None:
        super().__init__()
        self.skip, self.pre, self.post = cbr(c, c), cbr(c, c), cbr(c, c)
        self.inner: nn.Module = Hourglass(depth - 1, c) if depth > 1 else cbr(c, c)

    def forward(self, x: Any) -> Any:
        low = self.post(self.inner(self.pre(F.max_pool2d(x, 2, 2))))
        return self.skip(x) + F.interpolate(low, scale_factor=2, mode="nearest")


class StackedHourglass(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem, self.hg = cbr(3, 4), Hourglass(3)

    def forward(self, x: Any) -> Any:
        return self.hg(self.stem(x))


class GlobalConvolution(nn.Module):
    """GCN (Peng et al.): a large kernel as k x 1 then 1 x k and the other way round, summed; boundary
    refinement as a residual."""

    def __init__(self, cin: int = 3, c: int = 4, k: int = 7) -> None:
        super().__init__()
        self.left = nn.Sequential(
            nn.Conv2d(cin, c, (k, 1), padding=(k // 2, 0)), nn.Conv2d(c, c, (1, k), padding=(0, k // 2))
        )
        self.right = nn.Sequential(
            nn.Conv2d(cin, c, (1, k), padding=(0, k // 2)), nn.Conv2d(c, c, (k, 1), padding=(k // 2, 0))
        )
        self.br = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1))

    def forward(self, x: Any) -> Any:
        y = self.left(x) + self.right(x)
        return y + self.br(y)


class RonnebergerUNet(nn.Module):
    """The original U-Net: unpadded convolutions, the skip center-cropped to the upsampled map's size."""

    def __init__(self) -> None:
        super().__init__()
        self.e1 = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.ReLU())
        self.e2 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(4, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU())
        self.up = nn.ConvTranspose2d(8, 4, 2, 2)
        self.d1 = nn.Sequential(nn.Conv2d(8, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3))

    @staticmethod
    def crop(skip: Any, like: Any) -> Any:
        dh = (skip.shape[2] - like.shape[2]) // 2
        dw = (skip.shape[3] - like.shape[3]) // 2
        return skip[:, :, dh : dh + like.shape[2], dw : dw + like.shape[3]]

    def forward(self, x: Any) -> Any:
        e1 = self.e1(x)
        u = self.up(self.e2(e1))
        return self.d1(torch.cat([self.crop(e1, u), u], 1))


# Detection


class Focus(nn.Module):
    """YOLOv5's Focus: space-to-depth by strided slicing, then a convolution."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = cbr(12, 8)

    def forward(self, x: Any) -> Any:
        return self.conv(
            torch.cat([x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]], 1)
        )


class CSPBlock(nn.Module):
    """YOLOv5's C3: two 1x1 halves, bottlenecks on one, concatenated and fused; a strided convolution first."""

    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.down = cbr(3, c, 3, 2)
        self.cv1, self.cv2, self.cv3 = cbr(c, c // 2, 1), cbr(c, c // 2, 1), cbr(c, c, 1)
        self.m = nn.Sequential(
            *(nn.Sequential(cbr(c // 2, c // 2, 1), cbr(c // 2, c // 2, 3)) for _ in range(2))
        )

    def forward(self, x: Any) -> Any:
        x = self.down(x)
        return self.cv3(torch.cat([self.m(self.cv1(x)), self.cv2(x)], 1))


class SPP(nn.Module):
    """YOLOv3-SPP: max pools of 5, 9, 13 at stride 1 with k // 2 padding, concatenated."""

    def __init__(self) -> None:
        super().__init__()
        self.cv = cbr(3, 4, 3, 2)
        self.pools = nn.ModuleList(nn.MaxPool2d(k, 1, k // 2) for k in (5, 9, 13))

    def forward(self, x: Any) -> Any:
        x = self.cv(x)
        return torch.cat([x, *(m(x) for m in self.pools)], 1)


class SPPF(nn.Module):
    """YOLOv5's SPPF: one 5x5 pool applied three times in a row."""

    def __init__(self) -> None:
        super().__init__()
        self.cv1, self.cv2 = cbr(3, 4, 1), cbr(16, 8, 1)
        self.m = nn.MaxPool2d(5, 1, 2)

    def forward(self, x: Any) -> Any:
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat((x, y1, y2, self.m(y2)), 1))


class TinyYOLOPool(nn.Module):
    """YOLOv3-tiny's last pool: stride 1 size 2 after a zero pad on the right and bottom, keeping the size."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(cbr(3, 4), nn.MaxPool2d(2, 2), cbr(4, 4))
        self.pad = nn.ZeroPad2d((0, 1, 0, 1))
        self.pool = nn.MaxPool2d(2, 1)

    def forward(self, x: Any) -> Any:
        return self.pool(self.pad(self.body(x)))


class BiFPNFuse(nn.Module):
    """EfficientDet's BiFPN node pair: top-down nearest upsampling, bottom-up 3x3 stride-2 max pooling, fast
    normalised weights."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.p3, self.p4 = cbr(3, c, 3, 2), nn.Sequential(cbr(3, c, 3, 2), cbr(c, c, 3, 2))
        self.w = nn.Parameter(torch.ones(2))
        self.td, self.out = cbr(c, c), cbr(c, c)
        self.down = nn.MaxPool2d(3, 2, 1)

    def forward(self, x: Any) -> Any:
        p3, p4 = self.p3(x), self.p4(x)
        w = F.relu(self.w)
        w = w / (w.sum() + 1e-4)
        p3_td = self.td(w[0] * p3 + w[1] * F.interpolate(p4, scale_factor=2.0, mode="nearest"))
        return self.out(p4 + self.down(p3_td))


# Super resolution and restoration


class ESPCNBicubic(nn.Module):
    """ESPCN with F.pixel_shuffle, added to a bicubic upsampling of the input."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 5, padding=2), nn.Tanh(), nn.Conv2d(8, 3 * 9, 3, padding=1))

    def forward(self, x: Any) -> Any:
        return F.pixel_shuffle(self.body(x), 3) + F.interpolate(x, scale_factor=3, mode="bicubic")


class SRResNet(nn.Module):
    """SRResNet: residual blocks, then two PixelShuffle(2) upsamplers with PReLU."""

    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(3, c, 9, padding=4), nn.PReLU())
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.PReLU(), nn.Conv2d(c, c, 3, padding=1)
            )
            for _ in range(2)
        )
        self.up = nn.Sequential(
            *(
                m
                for _ in range(2)
                for m in (nn.Conv2d(c, 4 * c, 3, padding=1), nn.PixelShuffle(2), nn.PReLU())
            )
        )
        self.tail = nn.Conv2d(c, 3, 9, padding=4)

    def forward(self, x: Any) -> Any:
        h = self.head(x)
        y = h
        for block in self.blocks:
            y = y + block(y)
        return self.tail(self.up(y + h))


class DnCNN(nn.Module):
    """DnCNN: a plain stack predicting the noise, subtracted from the input."""

    def __init__(self, depth: int = 6) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU()]
        self.body = nn.Sequential(*layers, nn.Conv2d(8, 3, 3, padding=1))

    def forward(self, x: Any) -> Any:
        return x - self.body(x)


class NAFNetPadded(nn.Module):
    """NAFNet's check_image_size: pad to a multiple of 4 (F.pad with sizes from the shape), run a 2-level
    encoder (2x2 stride-2 convs) and decoder (1x1 conv + PixelShuffle), crop back to the input."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.intro = nn.Conv2d(3, c, 3, padding=1)
        self.downs = nn.ModuleList([nn.Conv2d(c, 2 * c, 2, 2), nn.Conv2d(2 * c, 4 * c, 2, 2)])
        self.ups = nn.ModuleList(
            [
                nn.Sequential(nn.Conv2d(4 * c, 8 * c, 1), nn.PixelShuffle(2)),
                nn.Sequential(nn.Conv2d(2 * c, 4 * c, 1), nn.PixelShuffle(2)),
            ]
        )
        self.ending = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, inp: Any) -> Any:
        _, _, h, w = inp.shape
        mod_h, mod_w = (4 - h % 4) % 4, (4 - w % 4) % 4
        x = self.intro(F.pad(inp, (0, mod_w, 0, mod_h)))
        skips = []
        for down in self.downs:
            skips.append(x)
            x = down(x)
        for up, skip in zip(self.ups, skips[::-1], strict=True):
            x = up(x) + skip
        return self.ending(x)[:, :, :h, :w] + inp


class SwinIRPadded(nn.Module):
    """SwinIR's check_image_size: reflect padding up to a multiple of the window (8), rolled by half a window,
    rolled back, cropped."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.tail = nn.Conv2d(4, 3, 3, padding=1)

    def forward(self, x: Any) -> Any:
        h, w = x.size()[-2:]
        mod_pad_h = (8 - h % 8) % 8
        mod_pad_w = (8 - w % 8) % 8
        y = self.conv(F.pad(x, (0, mod_pad_w, 0, mod_pad_h), "reflect"))
        y = torch.roll(y, shifts=(-4, -4), dims=(2, 3))
        y = torch.roll(F.relu(y), shifts=(4, 4), dims=(2, 3))
        return self.tail(y)[:, :, :h, :w]


class PixelUnshuffleDown(nn.Module):
    """Restoration nets' down/up pair: F.pixel_unshuffle, a conv per scale, nn.PixelShuffle back, a skip."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(12, 12, 3, padding=1)

    def forward(self, x: Any) -> Any:
        return F.pixel_shuffle(self.conv(F.pixel_unshuffle(x, 2)), 2) + x


class RepeatInterleaveUp(nn.Module):
    """Nearest upsampling written as repeat_interleave on both axes."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, 2, 1)

    def forward(self, x: Any) -> Any:
        return self.conv(x).repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)


# Attention and mixing blocks


class SEBlock(nn.Module):
    """Squeeze-excite with x.mean((2, 3)), Linear layers and a view back to (b, c, 1, 1)."""

    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.conv = cbr(3, c, 3, 2)
        self.fc = nn.Sequential(nn.Linear(c, c // 4), nn.ReLU(), nn.Linear(c // 4, c), nn.Sigmoid())

    def forward(self, x: Any) -> Any:
        x = self.conv(x)
        b, c, _, _ = x.size()
        return x * self.fc(x.mean((2, 3))).view(b, c, 1, 1)


class CBAM(nn.Module):
    """CBAM: channel attention from average and max pooling through a shared MLP, then spatial attention from
    the channel mean and max through a 7x7 convolution."""

    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.conv = cbr(3, c)
        self.mlp = nn.Sequential(nn.Conv2d(c, c // 2, 1), nn.ReLU(), nn.Conv2d(c // 2, c, 1))
        self.spatial = nn.Conv2d(2, 1, 7, padding=3)

    def forward(self, x: Any) -> Any:
        x = self.conv(x)
        ca = torch.sigmoid(self.mlp(F.adaptive_avg_pool2d(x, 1)) + self.mlp(F.adaptive_max_pool2d(x, 1)))
        x = x * ca
        sa = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)
        return x * torch.sigmoid(self.spatial(sa))


class ModulatedConv(nn.Module):
    """A DCNv2-style block without the deformation: the offsets are computed and dropped, the modulation mask
    (sigmoid of a 3x3 conv) multiplies a strided 3x3 conv."""

    def __init__(self) -> None:
        super().__init__()
        self.offset_mask = nn.Conv2d(3, 27, 3, 2, 1)
        self.conv = nn.Conv2d(3, 4, 3, 2, 1)

    def forward(self, x: Any) -> Any:
        out = self.offset_mask(x)
        _, _, mask = torch.chunk(out, 3, dim=1)
        return self.conv(x) * torch.sigmoid(mask).mean(1, keepdim=True)


class DepthwiseSeparableStack(nn.Module):
    """MobileNetV1-style: depthwise 3x3 (groups=channels) and pointwise 1x1, strides 2, 1, 2, a 5x5 block."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = [cbr(3, 8, 3, 2)]
        for k, s in ((3, 1), (3, 2), (5, 2), (3, 1)):
            layers += [nn.Conv2d(8, 8, k, s, k // 2, groups=8), nn.BatchNorm2d(8), nn.ReLU6(), cbr(8, 8, 1)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: Any) -> Any:
        return self.body(x)


class DilatedResNet(nn.Module):
    """DRN: a strided stem, then residual blocks whose dilation doubles instead of striding, and a degridding
    block without the residual."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(cbr(3, 8, 7, 2, 3), cbr(8, 8, 3, 2))
        self.blocks = nn.ModuleList(nn.Sequential(cbr(8, 8, d=d), cbr(8, 8, d=d)) for d in (2, 4))
        self.degrid = nn.Sequential(cbr(8, 8, d=2), cbr(8, 8))

    def forward(self, x: Any) -> Any:
        x = self.stem(x)
        for block in self.blocks:
            x = x + block(x)
        return self.degrid(x)


class ConvMixer(nn.Module):
    """ConvMixer (Trockman & Kolter): a 7x7 patch embedding, depthwise 9x9 'same' convolutions as residuals,
    pointwise convolutions, a pooled classifier."""

    def __init__(self, dim: int = 8, depth: int = 2, patch: int = 7, k: int = 9) -> None:
        super().__init__()
        self.embed = nn.Sequential(nn.Conv2d(3, dim, patch, patch), nn.GELU(), nn.BatchNorm2d(dim))
        self.mix = nn.ModuleList(nn.Conv2d(dim, dim, k, groups=dim, padding="same") for _ in range(depth))
        self.point = nn.ModuleList(nn.Conv2d(dim, dim, 1) for _ in range(depth))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(dim, 5))

    def forward(self, x: Any) -> Any:
        x = self.embed(x)
        for mix, point in zip(self.mix, self.point, strict=True):
            x = point(x + F.gelu(mix(x)))
        return self.head(x)


class NonSquarePatches(nn.Module):
    """A patch embedding with 4x8 patches and a LayerNorm over channels (permuted last and back)."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, 8, (4, 8), (4, 8))
        self.norm = nn.LayerNorm(8)

    def forward(self, x: Any) -> Any:
        x = self.proj(x).permute(0, 2, 3, 1)
        return self.norm(x).permute(0, 3, 1, 2)


class MixerBlock(nn.Module):
    def __init__(self, tokens: int, dim: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.token_mlp = nn.Sequential(nn.Linear(tokens, 8), nn.GELU(), nn.Linear(8, tokens))
        self.channel_mlp = nn.Sequential(nn.Linear(dim, 16), nn.GELU(), nn.Linear(16, dim))

    def forward(self, x: Any) -> Any:
        x = x + self.token_mlp(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.channel_mlp(self.norm2(x))


class MLPMixer(nn.Module):
    """MLP-Mixer: 8x8 patches flattened to tokens, token mixing over a fixed count (4 x 4 patches), a mean
    over tokens and a classifier; it runs only where the patch grid is 4 x 4."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 8, 8)
        self.block = MixerBlock(16, 8)
        self.head = nn.Linear(8, 5)

    def forward(self, x: Any) -> Any:
        x = self.stem(x).flatten(2).transpose(1, 2)
        return self.head(self.block(x).mean(dim=1))


class GhostModule(nn.Module):
    """GhostNet: a primary 1x1 conv and cheap depthwise 3x3 'ghost' maps, concatenated and sliced to oup."""

    def __init__(self, oup: int = 6) -> None:
        super().__init__()
        self.oup = oup
        self.primary = cbr(3, 4, 1, 2, 0)
        self.cheap = nn.Sequential(nn.Conv2d(4, 4, 3, 1, 1, groups=4), nn.BatchNorm2d(4), nn.ReLU())

    def forward(self, x: Any) -> Any:
        x1 = self.primary(x)
        return torch.cat([x1, self.cheap(x1)], dim=1)[:, : self.oup, :, :]


class Res2NetBlock(nn.Module):
    """Res2Net: torch.split into scales, each 3x3 conv fed the previous scale's output, concatenated."""

    def __init__(self, width: int = 2, scales: int = 4) -> None:
        super().__init__()
        self.width = width
        self.conv1 = cbr(3, width * scales, 1)
        self.convs = nn.ModuleList(cbr(width, width, 3) for _ in range(scales - 1))
        self.conv3 = nn.Conv2d(width * scales, 3, 1)

    def forward(self, x: Any) -> Any:
        spx = torch.split(self.conv1(x), self.width, 1)
        out, sp = [], spx[0]
        for i, conv in enumerate(self.convs):
            sp = conv(sp if i == 0 else sp + spx[i])
            out.append(sp)
        return self.conv3(torch.cat([*out, spx[-1]], 1)) + x


class InceptionResNetB(nn.Module):
    """Inception-ResNet-B: a 1x7 then 7x1 branch beside a 1x1, scaled and added; a reduction with a 3x3
    stride-2 valid conv beside a 3x3 stride-2 max pool."""

    def __init__(self) -> None:
        super().__init__()
        self.b0 = cbr(3, 4, 1)
        self.b1 = nn.Sequential(cbr(3, 4, 1), cbr(4, 4, (1, 7), p=(0, 3)), cbr(4, 4, (7, 1), p=(3, 0)))  # type: ignore[arg-type]
        self.up = nn.Conv2d(8, 3, 1)
        self.red = cbr(3, 4, 3, 2, 0)
        self.pool = nn.MaxPool2d(3, 2)

    def forward(self, x: Any) -> Any:
        x = F.relu(x + 0.2 * self.up(torch.cat([self.b0(x), self.b1(x)], 1)))
        return torch.cat([self.red(x), self.pool(x)], 1)


class UnfoldLocalSum(nn.Module):
    """F.unfold of 3x3 neighbourhoods (padding 1), a weighted sum per position, viewed back to (h, w)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, 3 * 9, 1))

    def forward(self, x: Any) -> Any:
        n, _, h, w = x.shape
        patches = F.unfold(x, kernel_size=3, padding=1)
        return (patches * self.weight).sum(1, keepdim=True).view(n, 1, h, w)


class UnfoldFoldPatches(nn.Module):
    """Non-overlapping 4x4 patches taken by F.unfold, mixed per patch by a Linear, put back with F.fold to the
    size the patches cover."""

    def __init__(self) -> None:
        super().__init__()
        self.mix = nn.Linear(3 * 16, 3 * 16)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[-2:]
        patches = F.unfold(x, 4, stride=4)
        mixed = self.mix(patches.transpose(1, 2)).transpose(1, 2)
        return F.fold(mixed, (h // 4 * 4, w // 4 * 4), 4, stride=4)


class RollShift(nn.Module):
    """torch.roll by fixed shifts on both axes, as shifted-window models do, around a conv."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: Any) -> Any:
        y = torch.roll(x, shifts=(2, -3), dims=(2, 3))
        return torch.roll(self.conv(y), shifts=(-2, 3), dims=(2, 3))


class StridedSliceDown(nn.Module):
    """Downsampling by keeping every other row and column (x[:, :, ::2, ::2]) after an odd-sized crop."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3)

    def forward(self, x: Any) -> Any:
        return self.conv(x)[:, :, 1::2, ::3]


# One-dimensional (audio) and three-dimensional (video) nets


class WaveNetCausal(nn.Module):
    """WaveNet: causal dilated convolutions by F.pad on the left, gated tanh * sigmoid, residual and skip sums."""

    def __init__(self, c: int = 4, dilations: Sequence[int] = (1, 2, 4, 8)) -> None:
        super().__init__()
        self.dilations = tuple(dilations)
        self.inp = nn.Conv1d(1, c, 1)
        self.filt = nn.ModuleList(nn.Conv1d(c, c, 2, dilation=d) for d in self.dilations)
        self.gate = nn.ModuleList(nn.Conv1d(c, c, 2, dilation=d) for d in self.dilations)
        self.res = nn.ModuleList(nn.Conv1d(c, c, 1) for _ in self.dilations)

    def forward(self, x: Any) -> Any:
        x = self.inp(x)
        skip = 0
        for d, f, g, r in zip(self.dilations, self.filt, self.gate, self.res, strict=True):
            padded = F.pad(x, (d, 0))
            z = r(torch.tanh(f(padded)) * torch.sigmoid(g(padded)))
            x, skip = x + z, skip + z
        return skip


class SampleCNN(nn.Module):
    """SampleCNN (Lee et al.): a strided 3-sample front end and 3-sample convs each followed by a 3-pool."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv1d(1, 4, 3, 3), nn.BatchNorm1d(4), nn.ReLU()]
        for _ in range(3):
            layers += [nn.Conv1d(4, 4, 3, padding=1), nn.BatchNorm1d(4), nn.ReLU(), nn.MaxPool1d(3)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: Any) -> Any:
        return self.body(x)


class TDNN(nn.Module):
    """An x-vector TDNN: frame layers with context 5, 3 (d=2), 3 (d=3), then statistics pooling (mean and std
    over time) and an embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.frames = nn.Sequential(
            nn.Conv1d(2, 8, 5), nn.ReLU(), nn.Conv1d(8, 8, 3, dilation=2), nn.ReLU(),
            nn.Conv1d(8, 8, 3, dilation=3), nn.ReLU(),
        )  # fmt: skip
        self.embed = nn.Linear(16, 4)

    def forward(self, x: Any) -> Any:
        x = self.frames(x)
        return self.embed(torch.cat([x.mean(-1), x.std(-1)], dim=1))


class ConformerConv(nn.Module):
    """The Conformer's convolution module: pointwise conv to 2c, GLU over channels, depthwise conv 15 ('same'
    by padding 7), batch norm, SiLU, pointwise conv; after a 2x subsampling conv."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.sub = nn.Conv1d(2, c, 3, 2)
        self.pw1, self.dw = nn.Conv1d(c, 2 * c, 1), nn.Conv1d(c, c, 15, padding=7, groups=c)
        self.bn, self.pw2 = nn.BatchNorm1d(c), nn.Conv1d(c, c, 1)

    def forward(self, x: Any) -> Any:
        x = self.sub(x)
        return x + self.pw2(F.silu(self.bn(self.dw(F.glu(self.pw1(x), dim=1)))))


class DemucsLike(nn.Module):
    """Demucs: Conv1d(8, 4) encoders, ConvTranspose1d(8, 4) decoders, the skip center-trimmed to the decoder's
    length as demucs.utils.center_trim does."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv1d(1, c, 8, 4), nn.ReLU())
        self.enc2 = nn.Sequential(nn.Conv1d(c, c, 8, 4), nn.ReLU())
        self.dec2 = nn.Sequential(nn.ConvTranspose1d(c, c, 8, 4), nn.ReLU())
        self.dec1 = nn.ConvTranspose1d(c, 1, 8, 4)

    @staticmethod
    def center_trim(tensor: Any, reference: Any) -> Any:
        delta = tensor.size(-1) - reference.size(-1)
        if delta:
            tensor = tensor[..., delta // 2 : -(delta - delta // 2)]
        return tensor

    def forward(self, x: Any) -> Any:
        e1 = self.enc1(x)
        d2 = self.dec2(self.enc2(e1))
        return self.dec1(d2 + self.center_trim(e1, d2))


class Video3D(nn.Module):
    """A small 3-D net: (3, 7, 7) stem with stride (1, 2, 2), (1, 3, 3) max pooling, a (3, 1, 1) temporal conv,
    a global pool."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv3d(3, 4, (3, 7, 7), (1, 2, 2), (1, 3, 3)), nn.ReLU(),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)), nn.Conv3d(4, 4, (3, 1, 1), padding=(1, 0, 0)),
            nn.ReLU(), nn.Conv3d(4, 4, (1, 3, 3), (1, 2, 2)),
        )  # fmt: skip

    def forward(self, x: Any) -> Any:
        return self.body(x)


class SlowFastLateral(nn.Module):
    """SlowFast's lateral connection: the fast path's (5, 1, 1) time-strided conv (stride 4) fused into the
    slow path, taken from the input by x[:, :, ::4]."""

    def __init__(self) -> None:
        super().__init__()
        self.fast = nn.Conv3d(3, 2, (5, 3, 3), padding=(2, 1, 1))
        self.slow = nn.Conv3d(3, 4, (1, 3, 3), padding=(0, 1, 1))
        self.lateral = nn.Conv3d(2, 4, (5, 1, 1), (4, 1, 1), (2, 0, 0))

    def forward(self, x: Any) -> Any:
        slow = self.slow(x[:, :, ::4])
        return torch.cat([slow, self.lateral(self.fast(x))], 1)


# Size arithmetic users lean on


class TransposeToSkipSize(nn.Module):
    """A decoder's ConvTranspose2d(3, 2, 1) called with output_size=skip.size(), so odd skips are met."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 4, 3, 2, 1)
        self.up = nn.ConvTranspose2d(4, 3, 3, 2, 1)

    def forward(self, x: Any) -> Any:
        return self.up(self.down(x), output_size=x.size()) + x


class ScaleOnePointFive(nn.Module):
    """Bilinear resizing by 1.5 with recompute_scale_factor=True, then a strided conv."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, 2)

    def forward(self, x: Any) -> Any:
        return self.conv(F.interpolate(x, scale_factor=1.5, mode="bilinear", recompute_scale_factor=True))


class CeilAvgPools(nn.Module):
    """Inception-style average pools: 3x3 stride 2 padding 1 with ceil_mode and count_include_pad=False, then
    a 2x2 ceil pool."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1), nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
            nn.AvgPool2d(2, ceil_mode=True),
        )  # fmt: skip

    def forward(self, x: Any) -> Any:
        return self.body(x)


class NegativePadCrop(nn.Module):
    """F.pad with negative amounts, cropping 2 rows and 1 column off each side after a conv."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: Any) -> Any:
        return F.pad(self.conv(x), (-1, -1, -2, -2))


class SwapHalves(nn.Module):
    """x.chunk(2, dim=2) along the height and the halves concatenated the other way round (odd heights give
    unequal halves)."""

    def forward(self, x: Any) -> Any:
        top, bottom = x.chunk(2, dim=2)
        return torch.cat([bottom, top], dim=2)


class SlidingWindows(nn.Module):
    """Tensor.unfold(2, 4, 2): windows of 4 rows every 2, averaged."""

    def forward(self, x: Any) -> Any:
        return x.unfold(2, 4, 2).mean(-1)


class SameEvenDilated(nn.Module):
    """padding='same' with an even kernel and dilation 3 (the odd extra goes at the end), then a circular
    padded conv."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 3, 4, dilation=3, padding="same")
        self.b = nn.Conv2d(3, 3, 3, padding=1, padding_mode="circular")

    def forward(self, x: Any) -> Any:
        return self.b(self.a(x))


class HalfBilinear(nn.Module):
    """Downsampling by F.interpolate(scale_factor=0.5) (bilinear), and by area to a third via size=...."""

    def forward(self, x: Any) -> Any:
        half = F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)
        return F.interpolate(half, size=(x.shape[2] // 3, x.shape[3] // 3 + 1), mode="area")


class OddFloatScale(nn.Module):
    """Nearest-exact resizing by 1.7 on the height and 0.6 on the width, then a 3x3 conv."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3)

    def forward(self, x: Any) -> Any:
        return self.conv(F.interpolate(x, scale_factor=(1.7, 0.6), mode="nearest-exact"))


class DilatedTransposed(nn.Module):
    """A strided conv, then ConvTranspose2d with dilation 2, stride 3 and output_padding 2."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 4, 3, 2)
        self.up = nn.ConvTranspose2d(4, 3, 3, 3, 1, output_padding=2, dilation=2)

    def forward(self, x: Any) -> Any:
        return self.up(self.down(x))


class DilatedCeilMaxPool(nn.Module):
    """Max pooling with dilation 2, padding 1 and ceil_mode, twice."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True)

    def forward(self, x: Any) -> Any:
        return self.pool(self.pool(x))


class PadToEven(nn.Module):
    """Replicate-pads the odd extra row and column (F.pad(x, (0, w % 2, 0, h % 2))), halves, upsamples, adds
    the padded map and crops back to h x w."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 3, 3, 2, 1)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[-2:]
        y = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
        z = y + F.interpolate(self.down(y), scale_factor=2, mode="nearest")
        return z[..., :h, :w]


class NarrowAndSplit(nn.Module):
    """x.narrow(2, 1, h - 2), then split into [h // 2, rest] by sizes and the halves summed after a flip and a
    crop to the shorter half."""

    def forward(self, x: Any) -> Any:
        y = x.narrow(2, 1, x.size(2) - 2)
        n = y.size(2) // 2
        top, bottom = y.split([n, y.size(2) - n], dim=2)
        return top + bottom.flip(2)[:, :, :n]


class MirrorByHand(nn.Module):
    """Reflection padding written by hand: the first two rows flipped and concatenated in front, the last
    rows with x[:, :, :-1] dropping one, a valid conv."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3)

    def forward(self, x: Any) -> Any:
        y = torch.cat([x[:, :, 1:3].flip(2), x, x[:, :, -3:-1].flip(2)], 2)
        return self.conv(y[:, :, :-1])


class LinearBackToLength(nn.Module):
    """1-D: a valid stride-2 conv and a ceil avg pool, resized back to the input's length (linear, size=...)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, 5, 2)
        self.pool = nn.AvgPool1d(3, 2, 1, ceil_mode=True)

    def forward(self, x: Any) -> Any:
        return F.interpolate(self.pool(self.conv(x)), size=x.shape[-1], mode="linear") + x


class MismatchedSkip(nn.Module):
    """A stride-2 conv and ConvTranspose2d(3, 2, 1, output_padding=1) added to the input: PyTorch refuses odd
    sizes."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 4, 3, 2, 1)
        self.up = nn.ConvTranspose2d(4, 3, 3, 2, 1, output_padding=1)

    def forward(self, x: Any) -> Any:
        return self.up(self.down(x)) + x


class AnisotropicUpsample(nn.Module):
    """nn.Upsample(scale_factor=(2, 1)) after a (2, 1)-strided conv: the height halves and comes back."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, (3, 1), (2, 1), (1, 0))
        self.up = nn.Upsample(scale_factor=(2, 1))

    def forward(self, x: Any) -> Any:
        return self.up(self.conv(x))


class GlobalMeanContext(nn.Module):
    """x.mean(dim=(2, 3), keepdim=True) added back (a global context), after a 5x5 stride-3 conv."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 5, 3)

    def forward(self, x: Any) -> Any:
        y = self.conv(x)
        return y + y.mean(dim=(2, 3), keepdim=True)


class NonLocalBlock(nn.Module):
    """A non-local (self-attention) block: theta, phi, g flattened to (b, c, h*w), the attention matrix by
    matmul and softmax, the result viewed back to (b, c, h, w)."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, c, 3, 2, 1)
        self.theta, self.phi, self.g = nn.Conv2d(c, 2, 1), nn.Conv2d(c, 2, 1), nn.Conv2d(c, 2, 1)
        self.out = nn.Conv2d(2, c, 1)

    def forward(self, x: Any) -> Any:
        x = self.conv(x)
        b, _, h, w = x.shape
        theta = self.theta(x).view(b, 2, -1).permute(0, 2, 1)
        phi = self.phi(x).view(b, 2, -1)
        g = self.g(x).view(b, 2, -1).permute(0, 2, 1)
        y = torch.matmul(F.softmax(torch.matmul(theta, phi), dim=-1), g)
        return x + self.out(y.permute(0, 2, 1).contiguous().view(b, 2, h, w))


class PositionEmbeddingResized(nn.Module):
    """A ViT-style learned position embedding for a 4x4 patch grid, resized (bicubic) to the input's grid and
    added to the 8x8 patch embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, 4, 8, 8)
        self.pos = nn.Parameter(torch.zeros(1, 4, 4, 4))

    def forward(self, x: Any) -> Any:
        y = self.proj(x)
        return y + F.interpolate(self.pos, size=y.shape[-2:], mode="bicubic", align_corners=False)


class AdaptiveToSeven(nn.Module):
    """nn.AdaptiveAvgPool2d(7) after a stride-4 stem (the pool enlarges inputs smaller than 7), resized back to
    the input with align_corners=True."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 4, 4)
        self.pool = nn.AdaptiveAvgPool2d(7)

    def forward(self, x: Any) -> Any:
        return F.interpolate(self.pool(self.stem(x)), size=x.shape[2:], mode="bilinear", align_corners=True)


class OddAlignCorners(nn.Module):
    """The old DeepLab resize to 2h - 1 (align_corners=True) after a stride-2 conv padded 1."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, 2, 1)

    def forward(self, x: Any) -> Any:
        y = self.conv(x)
        return F.interpolate(
            y, size=(2 * y.shape[2] - 1, 2 * y.shape[3] - 1), mode="bilinear", align_corners=True
        )


class TransposedWithPadding(nn.Module):
    """ConvTranspose2d(k=2, s=2, p=1): 2i - 2, so a size-1 input has no output."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 3, 3, 2)
        self.up = nn.ConvTranspose2d(3, 3, 2, 2, 1)

    def forward(self, x: Any) -> Any:
        return self.up(self.down(x))


class StackAlongHeight(nn.Module):
    """The input and its max pool halving the height concatenated along the height (dim=2), then a 3x3 conv."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3)

    def forward(self, x: Any) -> Any:
        return self.conv(torch.cat([x, F.max_pool2d(x, (2, 1))], dim=2))


class TileHeight(nn.Module):
    """x.repeat(1, 1, 2, 1): the map tiled twice along the height."""

    def forward(self, x: Any) -> Any:
        return F.avg_pool2d(x.repeat(1, 1, 2, 1), 3)


class SpatialTransformer(nn.Module):
    """A spatial transformer: an affine grid of the input's size from a localisation net, F.grid_sample."""

    def __init__(self) -> None:
        super().__init__()
        self.loc = nn.Sequential(
            nn.Conv2d(3, 4, 3, 2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 6)
        )

    def forward(self, x: Any) -> Any:
        theta = self.loc(x).view(-1, 2, 3)
        grid = F.affine_grid(theta, list(x.size()), align_corners=False)
        return F.grid_sample(x, grid, align_corners=False)


class ReflectModeConv(nn.Module):
    """A 5x5 conv with padding_mode='reflect' (padding 2 needs 3 rows), after a stride-2 conv."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 3, 3, 2, 1)
        self.conv = nn.Conv2d(3, 3, 5, padding=2, padding_mode="reflect")

    def forward(self, x: Any) -> Any:
        return self.conv(self.down(x))


class TailSlices(nn.Module):
    """Slices from the end with steps: x[:, :, -7::2] and x[..., 1:-1] summed with a crop of the other."""

    def forward(self, x: Any) -> Any:
        a = x[:, :, -7::2, 1:-1]
        return a + x[:, :, : a.shape[2], : a.shape[3]]


class DivisorOverride(nn.Module):
    """An average pool with divisor_override and ceil_mode, then an LP pool with ceil_mode."""

    def forward(self, x: Any) -> Any:
        y = F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, divisor_override=4)
        return F.lp_pool2d(y, 2, 2, ceil_mode=True)


class AdaptiveToAThird(nn.Module):
    """F.adaptive_avg_pool2d to (h // 3, 4): an output size computed from the input's."""

    def forward(self, x: Any) -> Any:
        return F.adaptive_avg_pool2d(x, (x.shape[2] // 3, 4)) + 1


class AreaToAThird(nn.Module):
    """The smallest form of HalfBilinear's disagreement: area resizing to h // 3 rows."""

    def forward(self, x: Any) -> Any:
        return F.interpolate(x, size=(x.shape[2] // 3, 4), mode="area")


# Sizes relating the two axes, or computed from sizes where a number is expected


class ScaleFromSizes(nn.Module):
    """F.interpolate(y, scale_factor=x.size(2) / y.size(2)): a scale computed from two sizes."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 3, 3, 3)

    def forward(self, x: Any) -> Any:
        y = self.down(x)
        return F.interpolate(y, scale_factor=x.size(2) / y.size(2), mode="nearest")


class SizeIntFromHeight(nn.Module):
    """F.interpolate(y, size=x.size(2)): an int size resizes both axes to the input's height."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 3, 3, 2, 1)

    def forward(self, x: Any) -> Any:
        return F.interpolate(self.down(x), size=x.size(2), mode="bilinear")


class TransposedAxes(nn.Module):
    """A (3, 1) stride-(2, 1) conv on x.transpose(2, 3), so it strides the width."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, (3, 1), (2, 1))

    def forward(self, x: Any) -> Any:
        return self.conv(x.transpose(2, 3))


class PermutedAndBack(nn.Module):
    """permute(0, 1, 3, 2), a (1, 3) stride-(1, 2) conv, permuted back: it strides the height."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, (1, 3), (1, 2))

    def forward(self, x: Any) -> Any:
        return self.conv(x.permute(0, 1, 3, 2)).permute(0, 1, 3, 2)


class Rotated(nn.Module):
    """torch.rot90(x, 1, (2, 3)) then a (5, 1) stride-(3, 1) conv."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, (5, 1), (3, 1))

    def forward(self, x: Any) -> Any:
        return self.conv(torch.rot90(x, 1, (2, 3)))


class SquareCrop(nn.Module):
    """A crop to the square min(h, w)."""

    def forward(self, x: Any) -> Any:
        s = min(x.size(2), x.size(3))
        return x[:, :, :s, :s]


class GlobalPoolByKernel(nn.Module):
    """F.avg_pool2d(y, y.size()[2:]): a global pool written as a pool whose kernel is the map's size."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, 2)

    def forward(self, x: Any) -> Any:
        y = self.conv(x)
        return F.avg_pool2d(y, y.size()[2:])


class SquareKernelFromHeight(nn.Module):
    """F.avg_pool2d(x, x.size(2)): an int kernel (and stride) of the height on both axes."""

    def forward(self, x: Any) -> Any:
        return F.avg_pool2d(x, x.size(2))


class PadToSquare(nn.Module):
    """F.pad(x, (0, 0, 0, w - h)): the height padded (or cropped) to the width."""

    def forward(self, x: Any) -> Any:
        return F.pad(x, (0, 0, 0, x.size(3) - x.size(2)))


@dataclass(frozen=True)
class Case:
    """A model and its input: `shape` names the symbolic axes (str) and the fixed ones (int), `held` the size
    each symbolic axis keeps while another is swept, `fields` the square sizes the fields are checked at."""

    make: Callable[[], nn.Module]
    shape: tuple[int | str, ...]
    held: dict[str, int]
    fields: tuple[int, ...] = ()
    wider: str = ""  # why a field may be wider than what the gradient reaches; empty: it is exactly that

    @property
    def id(self) -> str:
        return getattr(self.make, "__name__", "model")


IMAGE = (1, 3, "H", "W")
# Why a field may be wider than the positions the gradient reaches (it must still contain them).
SATURATES = "a sigmoid, tanh or softmax of large positive sums has a zero gradient in float64"
PADDING = "padding counts: a tap in a padding (or a transposed convolution's inserted zeros) reaches where the input would be"
EXACT_TAP = "a bilinear resize landing exactly on a position gives its neighbour weight 0"
MAX = "a dilated max pool (no average pool replaces it) passes the gradient to one position"
CASES = [
    Case(MilesialUNet, IMAGE, {"H": 16, "W": 20}, (12, 17)),
    Case(AttentionUNet, IMAGE, {"H": 16, "W": 20}, (10, 16), SATURATES),
    Case(ResUNet, IMAGE, {"H": 16, "W": 20}, (12, 16)),
    Case(LinkNet, IMAGE, {"H": 32, "W": 64}, (32,)),
    Case(SegNet, IMAGE, {"H": 16, "W": 20}),
    Case(PSPSmall, IMAGE, {"H": 24, "W": 32}, (24, 29)),
    Case(ASPP, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(BiSeNetContext, IMAGE, {"H": 64, "W": 96}, (64,)),
    Case(HRNetFuse, IMAGE, {"H": 16, "W": 24}, (16, 19)),
    Case(FCN8s, IMAGE, {"H": 32, "W": 40}, (32, 40)),
    Case(StackedHourglass, IMAGE, {"H": 16, "W": 24}, (16, 24)),
    Case(GlobalConvolution, IMAGE, {"H": 9, "W": 13}, (9, 14)),
    Case(RonnebergerUNet, IMAGE, {"H": 20, "W": 24}, (20, 24)),
    Case(Focus, IMAGE, {"H": 16, "W": 20}, (16, 10)),
    Case(CSPBlock, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(SPP, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(SPPF, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(TinyYOLOPool, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(BiFPNFuse, IMAGE, {"H": 16, "W": 24}, (16, 24)),
    Case(ESPCNBicubic, IMAGE, {"H": 10, "W": 13}, (10, 13), SATURATES),
    Case(SRResNet, IMAGE, {"H": 10, "W": 13}, (10, 13)),
    Case(DnCNN, IMAGE, {"H": 10, "W": 13}, (10, 13)),
    Case(NAFNetPadded, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(SwinIRPadded, IMAGE, {"H": 16, "W": 21}, (16, 21), PADDING),
    Case(PixelUnshuffleDown, IMAGE, {"H": 16, "W": 20}, (16, 20)),
    Case(RepeatInterleaveUp, IMAGE, {"H": 16, "W": 21}),
    Case(SEBlock, IMAGE, {"H": 16, "W": 21}),
    Case(CBAM, IMAGE, {"H": 16, "W": 21}, (16, 21), SATURATES),
    Case(ModulatedConv, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(DepthwiseSeparableStack, IMAGE, {"H": 32, "W": 45}, (32, 45)),
    Case(DilatedResNet, IMAGE, {"H": 32, "W": 45}, (32, 45)),
    Case(ConvMixer, IMAGE, {"H": 28, "W": 35}, (28, 35)),
    Case(NonSquarePatches, IMAGE, {"H": 16, "W": 32}, (16, 32)),
    Case(MLPMixer, IMAGE, {"H": 32, "W": 32}),
    Case(GhostModule, IMAGE, {"H": 16, "W": 21}, (16, 21), PADDING),
    Case(Res2NetBlock, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(InceptionResNetB, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(UnfoldLocalSum, IMAGE, {"H": 16, "W": 21}),
    Case(UnfoldFoldPatches, IMAGE, {"H": 16, "W": 21}),
    Case(RollShift, IMAGE, {"H": 16, "W": 21}, (16, 21), PADDING),
    Case(StridedSliceDown, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(WaveNetCausal, (1, 1, "L"), {"L": 32}, (16, 33), SATURATES),
    Case(SampleCNN, (1, 1, "L"), {"L": 81}, (81, 90)),
    Case(TDNN, (1, 2, "L"), {"L": 32}),
    Case(ConformerConv, (1, 2, "L"), {"L": 32}),
    Case(DemucsLike, (1, 1, "L"), {"L": 64}),
    Case(Video3D, (1, 3, 4, "H", "W"), {"H": 16, "W": 21}, (16, 21)),
    Case(SlowFastLateral, (1, 3, "T", 8, 8), {"T": 16}, (16, 17)),
    Case(TransposeToSkipSize, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(ScaleOnePointFive, IMAGE, {"H": 16, "W": 21}),
    Case(CeilAvgPools, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(NegativePadCrop, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(SwapHalves, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(SlidingWindows, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(SameEvenDilated, IMAGE, {"H": 16, "W": 21}, (16, 21), PADDING),
    Case(HalfBilinear, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(OddFloatScale, IMAGE, {"H": 16, "W": 21}),
    Case(DilatedTransposed, IMAGE, {"H": 16, "W": 21}, (16, 21), PADDING),
    Case(DilatedCeilMaxPool, IMAGE, {"H": 16, "W": 21}, (16, 21), MAX),
    Case(PadToEven, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(NarrowAndSplit, IMAGE, {"H": 16, "W": 21}),
    Case(MirrorByHand, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(LinearBackToLength, (1, 1, "L"), {"L": 32}, (20, 33), PADDING),
    Case(MismatchedSkip, IMAGE, {"H": 16, "W": 20}, (16, 20)),
    Case(AnisotropicUpsample, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(GlobalMeanContext, IMAGE, {"H": 16, "W": 21}),
    Case(NonLocalBlock, IMAGE, {"H": 16, "W": 21}, (16, 21), SATURATES),
    Case(PositionEmbeddingResized, IMAGE, {"H": 32, "W": 40}),
    Case(AdaptiveToSeven, IMAGE, {"H": 16, "W": 21}, (16, 21), EXACT_TAP),
    Case(OddAlignCorners, IMAGE, {"H": 16, "W": 21}, (16, 21), EXACT_TAP),
    Case(TransposedWithPadding, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(StackAlongHeight, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(TileHeight, IMAGE, {"H": 16, "W": 21}),
    Case(SpatialTransformer, IMAGE, {"H": 16, "W": 21}),
    Case(ReflectModeConv, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(TailSlices, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(DivisorOverride, IMAGE, {"H": 16, "W": 21}, (16, 21)),
    Case(AdaptiveToAThird, IMAGE, {"H": 16, "W": 21}),
    Case(ScaleFromSizes, IMAGE, {"H": 16, "W": 21}),
    Case(SizeIntFromHeight, IMAGE, {"H": 16, "W": 21}),
    Case(TransposedAxes, IMAGE, {"H": 16, "W": 21}),
    Case(PermutedAndBack, IMAGE, {"H": 16, "W": 21}),
    Case(Rotated, IMAGE, {"H": 16, "W": 21}),
    Case(SquareCrop, IMAGE, {"H": 16, "W": 21}),
    Case(GlobalPoolByKernel, IMAGE, {"H": 16, "W": 21}),
    Case(SquareKernelFromHeight, IMAGE, {"H": 16, "W": 21}),
    Case(PadToSquare, IMAGE, {"H": 16, "W": 21}),
]


def _shape(case: Case, sizes: dict[str, int]) -> tuple[int, ...]:
    return tuple(sizes[d] if isinstance(d, str) else d for d in case.shape)


def torch_sizes(case: Case, model: nn.Module, sizes: dict[str, int]) -> tuple[int, ...] | None:
    """PyTorch's output size along each spatial axis (fixed ones too) on a zero input, or None where it
    refuses; a pooled classifier's output (no spatial axes left) has size 1 along each."""
    try:
        with torch.no_grad():
            out = model(torch.zeros(_shape(case, sizes)))
    except (RuntimeError, ValueError, IndexError):
        return None
    if out.dim() != len(case.shape):
        return (1,) * (len(case.shape) - 2)
    return tuple(int(n) for n in out.shape[2:])


def symconv_sizes(net: Any, sizes: dict[str, int]) -> tuple[int, ...] | None:
    """symconv's output sizes in the axes' order, or None where it refuses the sizes."""
    try:
        got = net.check(sizes)
    except SymconvError:
        return None
    return tuple(int(got[d]) for d in net.dims)


def disagreements(case: Case, model: nn.Module, net: Any) -> list[str]:
    """Every size (one axis swept over SIZES, the others held) where symconv's answer (net.check, and the
    proved valid sets, unless it refuses to prove them) is not PyTorch's."""
    try:
        valid = net.valid_inputs()
    except SymconvError:
        valid = None  # a clean refusal (conditions larger than the solver takes)
    wrong = []
    for dim in case.held:
        for size in SIZES:
            sizes = case.held | {dim: size}
            expected, got = torch_sizes(case, model, sizes), symconv_sizes(net, sizes)
            if expected != got:
                wrong.append(f"{sizes}: PyTorch {expected}, symconv {got}")
            if valid is not None and all(sizes[d] in valid[d] for d in case.held) != (expected is not None):
                wrong.append(
                    f"{sizes}: PyTorch {'runs' if expected is not None else 'refuses'}, the valid sets say otherwise"
                )
    return wrong


def read(case: Case) -> tuple[nn.Module, Any]:
    """The model (eval mode) and symconv's reading of it, or a SymconvError."""
    torch.manual_seed(0)
    model = case.make().eval()
    return model, from_torch(model, case.shape)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_sizes_agree_with_pytorch(case: Case) -> None:
    """Read: every size agrees; not read: the refusal is a SymconvError (any other exception fails)."""
    try:
        model, net = read(case)
    except SymconvError:
        return
    assert disagreements(case, model, net) == []


def test_fcn8s_valid_sets_are_proved() -> None:
    """FCN-8s' crops (offsets from the shapes) give each axis a valid set with a proof, checked against PyTorch
    at every size of SIZES by test_sizes_agree_with_pytorch."""
    case = next(c for c in CASES if c.make is FCN8s)
    _, net = read(case)
    valid = net.valid_inputs()
    assert all(isinstance(valid[d].proof, Proved) for d in case.held)
    assert all(any(n in valid[d] for n in SIZES) for d in case.held)


def soften(model: nn.Module) -> nn.Module:
    """Max pools (without indices or dilation) replaced by average pools of the same windows, so a gradient
    reaches every position of a window, and ReLU6 by ReLU, whose gradient does not vanish at large values."""
    kinds: dict[type, type] = {
        nn.MaxPool1d: nn.AvgPool1d,
        nn.MaxPool2d: nn.AvgPool2d,
        nn.MaxPool3d: nn.AvgPool3d,
    }
    for name, child in list(model.named_children()):
        avg = kinds.get(type(child))
        pool: Any = child
        if avg is not None and not pool.return_indices and pool.dilation in (1, (1,), (1, 1), (1, 1, 1)):
            setattr(model, name, avg(pool.kernel_size, pool.stride, pool.padding, pool.ceil_mode))
        elif isinstance(child, nn.ReLU6):
            setattr(model, name, nn.ReLU())
        else:
            soften(child)
    return model


def depends(case: Case, model: nn.Module, n: int, dim: str) -> list[tuple[int, ...]]:
    """For each output position along `dim` at size n (every symbolic axis at n), the input positions along
    `dim` its gradient reaches."""
    sizes = dict.fromkeys(case.held, n)
    x = torch.empty(_shape(case, sizes), dtype=torch.float64).uniform_(0.5, 1.0).requires_grad_()
    axis = case.shape.index(dim)
    out = model(x)
    reduced = out.dim() != x.dim()
    rows = []
    for q in range(1 if reduced else out.shape[axis]):
        (grad,) = torch.autograd.grad(
            out.sum() if reduced else out.select(axis, q).sum(), x, retain_graph=True
        )
        reach = grad.abs().movedim(axis, 0).reshape(n, -1).amax(1)
        rows.append(tuple(torch.nonzero(reach).flatten().tolist()))
    return rows


def field_misses(case: Case) -> tuple[list[str], list[str]]:
    """Output positions whose field (clipped to the input) misses a position the gradient reaches, and those
    where it is not exactly the span of the positions the gradient reaches."""
    model, _ = read(case)
    torch.manual_seed(1)
    model = soften(model).double()
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(0.5, 1.0)
    net = from_torch(model, case.shape)
    misses, inexact = [], []
    for n in case.fields:
        for dim in case.held:
            fields = intervals(net, n, dim=dim)
            reached = depends(case, model, n, dim)
            if len(fields) != len(reached):
                misses.append(f"{dim}={n}: {len(fields)} fields for {len(reached)} outputs")
                continue
            for q, (f, rows) in enumerate(zip(fields, reached, strict=True)):
                clipped = None if f is None else (max(f[0], 0), min(f[1], n - 1))
                span = (min(rows), max(rows)) if rows else None
                said = f"{dim}={n} output {q}: field {f}, gradient reaches {span}"
                if span is not None and (
                    clipped is None or not clipped[0] <= span[0] <= span[1] <= clipped[1]
                ):
                    misses.append(said)
                elif clipped != span:
                    inexact.append(said)
    return misses, inexact


@pytest.mark.parametrize("case", [c for c in CASES if c.fields], ids=lambda c: c.id)
def test_fields_contain_what_outputs_depend_on(case: Case) -> None:
    """Every field contains what the gradient reaches and, unless the case says why it may be wider, is its
    span. (A global pool broadcast back is not counted in a field, as the README says, so GlobalMeanContext
    has no field check.)"""
    misses, inexact = field_misses(case)
    assert misses == []
    assert case.wider or inexact == []


@pytest.mark.parametrize("h", [1, 2, 3, 7])
def test_area_resizing_to_zero_rows_runs_as_in_pytorch(h: int) -> None:
    """PyTorch's area resizing (adaptive average pooling) to 0 rows returns an empty tensor, as the model's
    last layer: (1, 3, 0, 4) at h = 1, 2."""
    model = AreaToAThird().eval()
    net = from_torch(model, IMAGE)
    case = Case(AreaToAThird, IMAGE, {"H": h, "W": 8})
    assert symconv_sizes(net, {"H": h, "W": 8}) == torch_sizes(case, model, {"H": h, "W": 8})
