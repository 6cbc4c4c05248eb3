"""More operators of real models in the PyTorch importer, against PyTorch itself: convolutions with
padding_mode reflect / replicate / circular, parameters used as tensors (class tokens, position embeddings,
layer scale), Linear on a channels-last tensor, narrow, expand_as, roll.

Each model runs in PyTorch (CPU) on every size 1..N of each axis (square and not); the imported Network must
give the same output sizes where PyTorch runs and refuse exactly where it raises (see test_operators.agree).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Literal

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.errors import SpecError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402

from .test_operators import Lambda, _dependencies, agree  # noqa: E402

# Every size 1..30 on each axis, the other at a few sizes: both axes reach the small sizes where reflect
# (amount < size) and circular (amount <= size) refuse.
OTHERS = (1, 2, 3, 5, 9, 20, 29)
GRID = sorted({(h, w) for h in range(1, 31) for w in OTHERS} | {(w, h) for h in range(1, 31) for w in OTHERS})

PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]
MODES: tuple[PaddingMode, ...] = ("reflect", "replicate", "circular")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "options",
    [
        {"kernel_size": 3, "padding": 1},
        {"kernel_size": (3, 5), "padding": (2, 3), "stride": (2, 1)},
        {"kernel_size": (4, 3), "padding": "same", "dilation": (1, 2)},
        {"kernel_size": 5, "padding": (4, 1), "stride": 3, "dilation": (1, 2)},
        {"kernel_size": 2, "padding": 0},
    ],
)
def test_conv_padding_modes(mode: PaddingMode, options: dict[str, Any]) -> None:
    agree(nn.Conv2d(1, 2, padding_mode=mode, **options), sizes=GRID)
    agree(
        nn.Sequential(nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, padding_mode=mode, **options)), sizes=GRID
    )


@pytest.mark.parametrize("mode", MODES)
def test_conv_padding_modes_in_one_and_three_dimensions(mode: PaddingMode) -> None:
    agree(
        nn.Conv1d(1, 1, 4, padding=3, stride=2, padding_mode=mode), (1, 1, "L"), [(n,) for n in range(1, 30)]
    )
    cube = list(itertools.product(range(1, 6), repeat=3))
    agree(nn.Conv3d(1, 1, (1, 3, 2), padding=(0, 2, 1), padding_mode=mode), (1, 1, "D", "H", "W"), cube)


def fields_hold(model: nn.Module, below: int) -> int:
    """At every valid size under `below` of a 1-D model, every input position each output reads (autograd)
    lies in symconv's receptive field of that output clipped to the input; the number of sizes checked."""
    from symconv.nets.receptive import intervals

    net = from_torch(model, (1, 1, "L"))
    valid = net.valid_inputs()["L"]
    checked = 0
    for n in [n for n in range(1, below) if n in valid]:
        fields, real = intervals(net, n), _dependencies(model, n)
        assert len(fields) == len(real)
        for field, needed in zip(fields, real, strict=True):
            assert field is not None
            lo, hi = max(field[0], 0), min(field[1], n - 1)
            assert all(lo <= t <= hi for t in needed), (n, field, sorted(needed))
        checked += 1
    return checked


@pytest.mark.parametrize("mode", MODES)
def test_padding_mode_fields_contain_the_real_dependencies(mode: PaddingMode) -> None:
    """The padding holds input values: every position an output reads (autograd) is in its field."""
    conv = nn.Conv1d(1, 1, 3, padding=2, padding_mode=mode).double()
    nn.init.constant_(conv.weight, 1.0)
    pool = nn.Conv1d(1, 1, 2, stride=2).double()
    nn.init.constant_(pool.weight, 1.0)
    model = nn.Sequential(conv, pool).eval()
    assert fields_hold(model, 20) > 10


class Parametrised(nn.Module):
    """A model whose forward uses its own parameters as tensors (self.p, self.q)."""

    def __init__(self, forward: Any, *shapes: tuple[int, ...], modules: tuple[nn.Module, ...] = ()) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.zeros(shapes[0]))
        self.q = nn.Parameter(torch.zeros(shapes[1] if len(shapes) > 1 else 1))
        self.layers = nn.ModuleList(modules)
        self.fn = forward

    def forward(self, x: Any) -> Any:
        return self.fn(self, x)


PARAMETERS = {
    # timm's layer scale and PoolFormer's: a per-channel parameter reshaped to (1, C, 1, 1)
    "layer_scale": lambda: Parametrised(lambda m, x: x * m.p.reshape(1, -1, 1, 1), (2,)),
    "layer_scale_unsqueezed": lambda: Parametrised(
        lambda m, x: m.p.unsqueeze(-1).unsqueeze(-1) * x + x, (2,)
    ),
    # a parameter that grows a single channel to its own count
    "channels_from_one": lambda: Parametrised(lambda m, x: x[:, :1] + m.p.view(1, 2, 1, 1), (2,)),
    # a parameter with spatial sizes: the axis must equal it or be 1 (PyTorch's broadcasting)
    "spatial_parameter": lambda: Parametrised(lambda m, x: x + m.p, (1, 1, 5, 1)),
    "spatial_parameter_both_axes": lambda: Parametrised(
        lambda m, x: m.layers[0](x) * m.p, (2, 4, 3), modules=(nn.Conv2d(2, 2, 3, stride=2),)
    ),
    # weight.shape read to size an operator
    "weight_shape": lambda: Parametrised(
        lambda m, x: F.pad(x, (m.layers[0].weight.shape[-1] // 2,) * 4) + m.q,
        (1,),
        modules=(nn.Conv2d(2, 2, 5),),
    ),
}


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_parameters_used_as_tensors(name: str) -> None:
    agree(PARAMETERS[name](), (1, 2, "H", "W"), sizes=GRID)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Parametrised(lambda m, x: x * m.p.reshape(1, -1, 1, 1), (3,)),
            r"shape \(1, 3, 1, 1\) against 2 channels",
        ),
        (
            lambda: Parametrised(lambda m, x: x * m.p.reshape(1, 5, 1, 1), (3,)),
            r"computes a constant .* PyTorch refuses it: .* invalid for input of size 3",
        ),
        (lambda: Parametrised(lambda m, x: x + m.p, (2, 1, 1, 1, 1)), "adds dimensions"),
        (lambda: Parametrised(lambda m, x: x + m.p, (3, 1, 1, 1)), "batch size"),
        (
            lambda: Lambda(lambda m, x: F.scaled_dot_product_attention(x, x, x)),
            "only tokens that are whole spatial axes",
        ),
        (lambda: Lambda(lambda m, x: x.unbind(2)), "only a factor of the channels or a stack"),
        (
            lambda: Lambda(lambda m, x: F.linear(x.permute(0, 2, 3, 1), torch.ones(4, 3))),
            "expects 3 input channels, gets 2",
        ),
        (lambda: Lambda(lambda m, x: torch.roll(x, 1)), "roll without dims"),
        (lambda: Lambda(lambda m, x: torch.narrow(x, 0, 0, 1)), "narrows the batch"),
    ],
)
def test_parameter_and_operator_refusals(make: Any, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        from_torch(make(), (1, 2, "H", "W"))


class TimmAttention(nn.Module):
    """timm's Attention: q, k and v from one Linear, reshaped to heads, unbound, then
    F.scaled_dot_product_attention and back to (batch, tokens, channels)."""

    def __init__(self, dim: int, heads: int = 2) -> None:
        super().__init__()
        self.heads = heads
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

    def forward(self, x: Any) -> Any:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class ViT(nn.Module):
    """torchvision's ViT at a small size: patches, a class token concatenated in front, a position embedding
    of a fixed number of tokens, self-attention blocks (torch's and timm's), the class token's features to a
    head."""

    def __init__(self, size: tuple[int, int] | None = (32, 24), patch: int = 8, dim: int = 6) -> None:
        super().__init__()
        self.timm = TimmAttention(dim)
        self.size, self.patch = size, patch
        grid = (32 // patch) * (24 // patch)
        self.proj = nn.Conv2d(3, dim, patch, stride=patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.zeros(1, grid + 1, dim))
        self.norm = nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, 2, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, 8), nn.GELU(), nn.Linear(8, dim))
        self.head = nn.Linear(dim, 5)

    def forward(self, x: Any) -> Any:
        n, _, h, w = x.shape
        if self.size is not None:
            torch._assert(h == self.size[0], "wrong image height")
            torch._assert(w == self.size[1], "wrong image width")
        x = self.proj(x).reshape(n, self.proj.out_channels, (h // self.patch) * (w // self.patch))
        x = x.permute(0, 2, 1)
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
        x = x + self.pos_embedding
        y = self.norm(x)
        y, _ = self.attention(y, y, y, need_weights=False)
        x = x + y
        x = x + self.timm(self.norm(x))
        x = x + self.mlp(self.norm(x))
        return self.head(x[:, 0])


def vit_outcome(model: nn.Module, h: int, w: int) -> tuple[int, ...] | None:
    try:
        with torch.no_grad():
            return tuple(model(torch.zeros(1, 3, h, w)).shape)
    except (RuntimeError, ValueError, IndexError, AssertionError):
        return None


def test_vit_with_class_token_and_position_embedding_is_valid_only_at_its_size() -> None:
    model = ViT().eval()
    net = from_torch(model, (1, 3, "H", "W"))
    valid = net.valid_inputs()
    assert valid["H"].describe() == {"period": 1, "residues": [], "from": 33, "below": [32]}
    assert valid["W"].describe() == {"period": 1, "residues": [], "from": 25, "below": [24]}
    for h, w in [(h, w) for h in range(1, 41) for w in (8, 24, 31)] + [(32, w) for w in range(1, 41)]:
        expected = vit_outcome(model, h, w)
        assert ((h in valid["H"]) and (w in valid["W"])) == (expected is not None), (h, w)
    assert vit_outcome(model, 32, 24) == (1, 5)


def test_vit_position_embedding_at_a_fixed_input_size() -> None:
    """Without the asserts the sizes that fit the embedding are a product condition; at fixed sizes it is
    decided (the wrong fixed size is refused, as PyTorch refuses it)."""
    model = ViT(size=None).eval()
    net = from_torch(model, (1, 3, 32, 24))
    assert net.check({}) is not None
    assert vit_outcome(model, 32, 24) == (1, 5)
    assert vit_outcome(model, 32, 32) is None
    with pytest.raises(SpecError, match="must equal 13"):
        from_torch(model, (1, 3, 32, 32))
    with pytest.raises(SpecError, match="relating the axes is not modelled"):
        from_torch(model, (1, 3, "H", "W"))


@pytest.mark.parametrize(
    ("shape", "axis"), [((1, 3, "H", 24), 2), ((1, 3, 32, "W"), 3), ((1, 3, 40, "W"), 3)]
)
def test_vit_position_embedding_with_one_axis_free_is_a_condition_on_it(
    shape: tuple[Any, ...], axis: int
) -> None:
    """With the other axis fixed, the number of tokens is a formula in the free axis alone: equal to the
    embedding's, a condition on that axis, solved like any other."""
    model = ViT(size=None).eval()
    name = "H" if axis == 2 else "W"
    valid = from_torch(model, shape).valid_inputs()[name]
    sizes = list(range(1, 61))
    at = [tuple(n if k == axis else shape[k] for k in (2, 3)) for n in sizes]
    assert [n for n in sizes if n in valid] == [
        n for n, (h, w) in zip(sizes, at, strict=True) if vit_outcome(model, h, w)
    ]


class LastAxisLinear(nn.Module):
    """A Linear over the last (spatial) axis of a (batch, channels, H, W) tensor, and F.linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, stride=2)
        self.linear = nn.Linear(5, 7)
        self.weight = nn.Parameter(torch.zeros(4, 7))

    def forward(self, x: Any) -> Any:
        return F.linear(self.linear(self.conv(x)), self.weight)


TENSOR_OPERATORS: dict[str, Callable[[], nn.Module]] = {
    "last_axis_linear": LastAxisLinear,
    "channels_last_f_linear": lambda: Lambda(
        lambda m, x: F.linear(m.layers[0](x).permute(0, 2, 3, 1), torch.ones(4, 2)).permute(0, 3, 1, 2),
        nn.Conv2d(1, 2, 3, stride=2),
    ),
    "narrow": lambda: Lambda(lambda m, x: torch.narrow(x, 2, 3, 4).narrow(3, -5, 2)),
    "narrow_channels": lambda: Lambda(
        lambda m, x: m.layers[1](m.layers[0](x).narrow(1, 1, 1)), nn.Conv2d(1, 3, 1), nn.Conv2d(1, 1, 2)
    ),
    "expand_as": lambda: Lambda(lambda m, x: x[:, :, :1].expand_as(x) + x[:, :, 2:, 1:].expand_as(x)),
    "expand_as_pooled_gate": lambda: Lambda(lambda m, x: x * x.mean((2, 3), keepdim=True).expand_as(x)),
    "roll": lambda: Lambda(
        lambda m, x: m.layers[0](torch.roll(x, shifts=(3, -2), dims=(2, 3))), nn.Conv2d(1, 1, 3)
    ),
    "roll_channels_last": lambda: Lambda(
        lambda m, x: x.permute(0, 2, 3, 1).roll(-1, 1).permute(0, 3, 1, 2)[..., ::2]
    ),
}


@pytest.mark.parametrize("name", sorted(TENSOR_OPERATORS))
def test_tensor_operators(name: str) -> None:
    agree(TENSOR_OPERATORS[name](), sizes=GRID)


@pytest.mark.parametrize(
    "body",
    [
        lambda m, x: m.layers[0](torch.roll(x, 3, 2)),
        lambda m, x: torch.roll(m.layers[0](x), -2, -1),
        lambda m, x: m.layers[0](x).narrow(2, -3, 2),
        lambda m, x: F.linear(m.layers[0](x), torch.ones(2, 4, dtype=torch.float64)),
    ],
)
def test_roll_narrow_and_linear_fields_contain_the_real_dependencies(body: Any) -> None:
    """Every position an output reads (autograd) lies in symconv's field clipped to the input."""
    conv = nn.Conv1d(1, 1, 3).double()
    nn.init.constant_(conv.weight, 1.0)
    model = Lambda(body, conv).eval()
    assert fields_hold(model, 30)


UNFOLDS: dict[str, Callable[[], nn.Module]] = {
    "module": lambda: nn.Unfold((2, 3), dilation=(1, 2), padding=(1, 0), stride=(2, 1)),
    "function": lambda: Lambda(
        lambda m, x: F.unfold(m.layers[0](x), 3, stride=2, padding=1), nn.Conv2d(1, 2, 2)
    ),
}


def unfold_outcome(model: nn.Module, h: int, w: int) -> tuple[int, ...] | None:
    try:
        with torch.no_grad():
            return tuple(model(torch.zeros(1, 1, h, w)).shape)
    except RuntimeError:
        return None


@pytest.mark.parametrize("name", sorted(UNFOLDS))
def test_unfold_is_the_blocks_of_a_convolution(name: str) -> None:
    """F.unfold / nn.Unfold: (batch, C * kernel, blocks): the valid sets and the block count per axis agree
    with PyTorch at every size."""
    from symconv.core.arith import evaluate

    model = UNFOLDS[name]().eval()
    net = from_torch(model, (1, 1, "H", "W"))
    valid, output = net.valid_inputs(), net.output_size()
    runs = 0
    for h, w in GRID:
        expected = unfold_outcome(model, h, w)
        assert ((h in valid["H"]) and (w in valid["W"])) == (expected is not None), (h, w)
        if expected is not None:
            blocks = int(evaluate(output["H"], {"H": h})) * int(evaluate(output["W"], {"W": w}))
            assert expected[2] == blocks, (h, w, expected)
            runs += 1
    assert runs


def test_unfold_needs_two_spatial_axes() -> None:
    with pytest.raises(SpecError, match="works on 2 spatial axes"):
        from_torch(Lambda(lambda m, x: F.unfold(x, 2)), (1, 1, "L"))


AXIS_UNFOLDS: dict[str, Callable[[], nn.Module]] = {
    "mean_over_taps": lambda: Lambda(lambda m, x: x.unfold(2, 3, 2).mean(-1)),
    "two_axes_then_amax": lambda: Lambda(lambda m, x: x.unfold(2, 2, 2).unfold(3, 3, 1).amax((-1, -2))),
    "after_a_convolution": lambda: Lambda(
        lambda m, x: m.layers[0](x).unfold(-1, 4, 3).sum(-1), nn.Conv2d(1, 1, 2)
    ),
}


@pytest.mark.parametrize("name", sorted(AXIS_UNFOLDS))
def test_tensor_unfold_along_an_axis(name: str) -> None:
    """Tensor.unfold(dim, size, step): windows of a convolution along that axis (PyTorch: size <= the size)."""
    agree(AXIS_UNFOLDS[name](), sizes=GRID)


def test_tensor_unfold_fields_contain_the_real_dependencies() -> None:
    conv = nn.Conv1d(1, 1, 2).double()
    nn.init.constant_(conv.weight, 1.0)
    assert fields_hold(Lambda(lambda m, x: m.layers[0](x.unfold(2, 3, 2).mean(-1)), conv).eval(), 30)


def test_narrow_and_roll_by_a_size_formula_are_refused_in_the_users_terms() -> None:
    narrow = Lambda(lambda m, x: torch.narrow(x, 2, 2, x.shape[2] - 5))
    with pytest.raises(
        SpecError, match=r"a start or length computed from sizes \(input\.H - 5\) is not modelled"
    ):
        from_torch(narrow, (1, 1, "H", "W"))
    roll = Lambda(lambda m, x: torch.roll(x, x.shape[2] // 2, 3))
    with pytest.raises(
        SpecError, match=r"a shift computed from sizes \(floor\(input\.H/2\)\) is not modelled"
    ):
        from_torch(roll, (1, 1, "H", "W"))
