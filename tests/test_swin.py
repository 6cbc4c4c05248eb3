"""torchvision's Swin transformers read by symconv, against PyTorch running torchvision's code (tests/swin.py).

- Sizes: valid sets and output sizes of swin_t- and swin_v2_t-like models with non-square patches and windows
  (small widths) against running the model on every size 1..160 of each axis, the other axis held (swin_t's
  and swin_v2_t's own layouts are entries of the model zoo, tests/test_model_zoo.py, swept over 1..300).
- Receptive fields of the shifted window attention (v1 and v2), by brute force: on random float64 inputs and
  weights, each input position is perturbed in turn, and the outputs that change at all must be exactly those
  whose field (clipped to the input) holds it, on several sizes per axis, non-square, with and without a shift,
  and where torchvision drops the shift (window >= padded size). The attention is separable, so a 2-D
  dependence must be the product of the two axes' fields. Finite differences, not gradients: torchvision masks
  with -100, not -inf, so the gradient across regions is about exp(-100) times the weights (checked too), and
  with scores of random weights no output changes.
- Constants computed from parameters and buffers, and the refusals.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from symconv.core.errors import SpecError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402
from symconv.nets.receptive import intervals  # noqa: E402

from .differential import one_torch_thread  # noqa: E402
from .swin import (  # noqa: E402
    Features,
    ShiftedWindowAttention,
    ShiftedWindowAttentionV2,
    swin,
)

F = torch.nn.functional


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Any:
    with one_torch_thread():
        yield


def at(expr: Any, sizes: dict[str, int]) -> int:
    free = {s: sizes[s.name] for s in getattr(expr, "free_symbols", ())}
    return int(expr.subs(free)) if free else int(expr)


SMALL: dict[str, Any] = {"embed_dim": 8, "num_heads": [1, 2, 2, 4], "mlp_ratio": 1.0}
# swin_t's and swin_v2_t's own layouts are in the model zoo (tests/zoo.py), swept over 1..300
MODELS = {
    "swin_t patch (2, 3) window (3, 5)": lambda: swin(
        patch_size=[2, 3], window_size=[3, 5], depths=[2, 2, 2], **SMALL
    ),
    "swin_v2_t patch (3, 2) window (4, 2)": lambda: swin(
        v2=True, patch_size=[3, 2], window_size=[4, 2], depths=[2, 2, 2], **SMALL
    ),
}
SWEEP = range(1, 161)
HELD = {"H": 45, "W": 38}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODELS))
def test_sizes_agree_with_pytorch(name: str) -> None:
    torch.manual_seed(0)
    model = Features(MODELS[name]()).eval()
    net = from_torch(model, (1, 3, "H", "W"))
    valid, output = net.valid_inputs(), net.output_size()
    wrong = []
    with torch.inference_mode():
        for dim in ("H", "W"):
            for size in SWEEP:
                sizes = {**HELD, dim: size}
                try:
                    got: tuple[int, ...] | None = tuple(
                        model(torch.zeros(1, 3, sizes["H"], sizes["W"])).shape[2:]
                    )
                except RuntimeError:
                    got = None
                says = all(sizes[d] in valid[d] for d in sizes)
                predicted = tuple(at(output[d], sizes) for d in sizes) if says else None
                if predicted != got:
                    wrong.append(f"{sizes}: PyTorch {got}, symconv {predicted}")
    assert not wrong, f"{name}: {len(wrong)} sizes differ, first: {wrong[:3]}"


def test_swin_t_reads_as_torchvision_writes_it() -> None:
    """The nodes of one stage and a patch merging: the attention at its own node, F.pad then four strided
    slices concatenated along the channels; the classifier's output is one value per axis."""
    net = from_torch(swin(**SMALL).eval(), (1, 3, "H", "W"))
    ops = [node.op for node in net.nodes]
    assert ops.count("windowattention") == 12
    assert ops.count("slice") == 12 and ops.count("pad") == 3
    assert net.output_size() == {"H": 1, "W": 1}
    assert {dim: (v.start, v.period) for dim, v in net.valid_inputs().items()} == {"H": (4, 1), "W": (4, 1)}
    features = from_torch(Features(swin(**SMALL)).eval(), (1, 3, "H", "W")).output_size()
    assert str(features["H"]) == "ceiling(ceiling(ceiling(floor(H/4)/2)/2)/2)"


class ChannelsFirst(nn.Module):
    """A module on (batch, H, W, C) read from (batch, C, H, W): permuted to channels last and back."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: Any) -> Any:
        return self.inner(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


CHANNELS = 4
# (window, shift): non-square, one axis shifted and the other not, a shift of the whole window and one past
# it (still inside the padded axis wherever torchvision shifts)
WINDOWS = [([3, 4], [1, 2]), ([4, 3], [0, 0]), ([3, 3], [1, 1]), ([4, 4], [2, 0]), ([2, 3], [2, 3])]
SIZES = [(1, 5), (2, 2), (3, 7), (5, 9), (7, 4), (8, 10), (9, 13), (12, 6)]


def attention(v2: bool, window: list[int], shift: list[int], seed: int = 0) -> nn.Module:
    """A window attention in float64 with random weights large enough that every weight matters."""
    torch.manual_seed(seed)
    kind = ShiftedWindowAttentionV2 if v2 else ShiftedWindowAttention
    made = kind(CHANNELS, window, shift, 2).double().eval()
    with torch.no_grad():
        for parameter in made.parameters():
            parameter.normal_(0, 0.5)
    return ChannelsFirst(made).eval()


def changed(model: nn.Module, h: int, w: int) -> dict[tuple[int, int], Any]:
    """For each input position, the (H, W) map of the outputs that change when it is perturbed."""
    x = torch.randn(1, CHANNELS, h, w, dtype=torch.float64)
    found = {}
    with torch.no_grad():
        base = model(x)
        for q in itertools.product(range(h), range(w)):
            moved = x.clone()
            moved[0, :, q[0], q[1]] += torch.randn(CHANNELS, dtype=torch.float64)
            found[q] = (model(moved) != base).any(dim=1)[0]
    return found


def reads(field: tuple[int, int] | None, q: int) -> bool:
    return field is not None and field[0] <= q <= field[1]


@pytest.mark.parametrize("v2", [False, True], ids=["v1", "v2"])
@pytest.mark.parametrize(("window", "shift"), WINDOWS, ids=[f"w{w}s{s}" for w, s in WINDOWS])
def test_receptive_fields_by_brute_force(v2: bool, window: list[int], shift: list[int]) -> None:
    model = attention(v2, window, shift)
    net = from_torch(model, (1, CHANNELS, "H", "W"))
    wrong = []
    for h, w in SIZES:
        fields = intervals(net, h, dim="H"), intervals(net, w, dim="W")
        for q, outputs in changed(model, h, w).items():
            for p in itertools.product(range(h), range(w)):
                says = reads(fields[0][p[0]], q[0]) and reads(fields[1][p[1]], q[1])
                if says != bool(outputs[p]):
                    wrong.append(f"H={h}, W={w}: output {p} {'reads' if outputs[p] else 'ignores'} input {q}")
    assert not wrong, f"{len(wrong)} differ, first: {wrong[:3]}"


def between_shuffles(inner: nn.Module, n: int) -> None:
    """`inner` on channels last between a pixel unshuffle and a shuffle by 2, its parameters drawn large: the
    rows each input row changes, by brute force along H, are the rows whose field symconv says holds it."""
    with torch.no_grad():
        for parameter in inner.parameters():
            parameter.normal_(0, 0.5)
    model = nn.Sequential(nn.PixelUnshuffle(2), ChannelsFirst(inner), nn.PixelShuffle(2)).double().eval()
    fields = intervals(from_torch(model, (1, 4, "H", "W")), n, dim="H")
    x = torch.randn(1, 4, n, n, dtype=torch.float64)
    with torch.no_grad():
        base = model(x)
        for q in range(n):
            moved = x.clone()
            moved[0, :, q] += 1.0
            outputs = (model(moved) != base).any(dim=1)[0].any(dim=1)
            assert [reads(fields[p], q) for p in range(n)] == outputs.tolist(), q


def test_the_attention_mixes_the_channels_a_pixel_unshuffle_filled() -> None:
    """Positions a pixel unshuffle moved into the channels are mixed by the attention's linear maps: after the
    shuffle back, each output reads every phase of its window (not only its own), by brute force along H."""
    torch.manual_seed(0)
    between_shuffles(ShiftedWindowAttention(16, [3, 3], [1, 1], 2), 12)


def test_the_mask_leaks_only_exp_minus_100() -> None:
    """torchvision's mask adds -100: the gradient across regions is not zero but below 1e-40, where inside a
    region it is of the order of the weights."""
    model = attention(False, [3, 3], [1, 1])
    net = from_torch(model, (1, CHANNELS, "H", "W"))
    fields = intervals(net, 6, dim="H"), intervals(net, 6, dim="W")
    x = torch.randn(1, CHANNELS, 6, 6, dtype=torch.float64)
    jacobian = torch.autograd.functional.jacobian(model, x).abs().amax(dim=(0, 1, 4, 5))
    inside: list[float] = []
    outside: list[float] = []
    for p, q in itertools.product(itertools.product(range(6), range(6)), repeat=2):
        held = reads(fields[0][p[0]], q[0]) and reads(fields[1][p[1]], q[1])
        (inside if held else outside).append(float(jacobian[p[0], p[1], q[0], q[1]]))
    assert min(inside) > 1e-6 and 0 < max(outside) < 1e-40


def test_the_fields_of_a_shifted_block() -> None:
    """torchvision's rule, per axis: windows of 4 shifted by 2, so at 10 (padded to 12) the groups are
    [0, 2), [2, 6), [6, 10) and [10, 12), the last all padding; at 4 the window covers the axis, no shift."""
    net = from_torch(attention(False, [4, 4], [2, 2]), (1, CHANNELS, "H", "W"))
    assert intervals(net, 10) == [(0, 1)] * 2 + [(2, 5)] * 4 + [(6, 9)] * 4
    assert intervals(net, 4) == [(0, 3)] * 4
    assert intervals(net, 5) == [(0, 1), (0, 1), (2, 5), (2, 5), (2, 5)]


def test_a_shift_past_the_padded_axis_is_refused_for_fields() -> None:
    """A shift of at least the padded size wraps inside a window, whose positions are then no interval: the
    field is refused there (the sizes are still read), and given where the shift stays inside."""
    model = attention(False, [2, 2], [5, 0])
    net = from_torch(model, (1, CHANNELS, "H", "W"))
    assert str(net.output_size()["H"]) == "H"
    with pytest.raises(SpecError, match="a window wraps around the axis"):
        intervals(net, 3)
    fields = intervals(net, 7)
    for q, outputs in changed(model, 7, 1).items():
        for p in range(7):
            assert reads(fields[p], q[0]) == bool(outputs[p, 0])


class WithConstant(nn.Module):
    """A per-channel bias computed from a buffer by an MLP (as Swin v2's continuous position bias is)."""

    def __init__(self, out: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.mlp = nn.Sequential(nn.Linear(2, 16), nn.ReLU(inplace=True), nn.Linear(16, out))
        self.register_buffer("table", torch.linspace(-1, 1, 6).view(3, 2))

    def forward(self, x: Any) -> Any:
        bias = 16 * torch.sigmoid(self.mlp(self.table)).mean(0).view(1, -1, 1, 1)
        return self.conv(x) + bias


def test_constants_are_computed() -> None:
    net = from_torch(WithConstant(), (1, 3, "H", "W"))
    assert str(net.output_size()["H"]) == "H - 2"
    with pytest.raises(SpecError, match=r"a parameter of shape \(1, 5, 1, 1\) against 4 channels"):
        from_torch(WithConstant(5), (1, 3, "H", "W"))


class Lambda(nn.Module):
    def __init__(self, forward: Any, **parameters: Any) -> None:
        super().__init__()
        self.function = forward
        for name, value in parameters.items():
            self.register_parameter(name, nn.Parameter(value))

    def forward(self, x: Any) -> Any:
        return self.function(self, x)


def test_a_computation_on_constants_changes_no_parameter() -> None:
    model = Lambda(lambda m, x: x * m.p.relu_().view(1, -1, 1, 1), p=-torch.ones(3))
    net = from_torch(model, (1, 3, "H", "W"))
    assert str(net.output_size()["W"]) == "W"
    assert torch.equal(dict(model.named_parameters())["p"].detach(), -torch.ones(3))


def test_a_module_computing_a_constant_runs_at_inference() -> None:
    """A norm over a buffer in a model left in training mode: computed as at inference (the running
    statistics untouched), the modes as they were."""
    model = Lambda(lambda m, x: x + m.norm(m.table).mean(0).view(1, -1, 1, 1))
    norm = model.norm = nn.BatchNorm1d(3)
    model.register_buffer("table", torch.randn(4, 3))
    model.train()
    assert str(from_torch(model, (1, 3, "H", "W")).output_size()["H"]) == "H"
    assert norm.training and torch.equal(norm.running_mean, torch.zeros(3))


def test_a_constant_pytorch_refuses_is_named() -> None:
    model = Lambda(lambda m, x: x + (m.a @ m.b).view(1, -1, 1, 1), a=torch.ones(2, 3), b=torch.ones(2, 3))
    with pytest.raises(SpecError, match=r"matmul at matmul computes a constant .* PyTorch refuses it"):
        from_torch(model, (1, 3, "H", "W"))


def test_channel_rules_of_the_attention() -> None:
    """PyTorch refuses each of these at every size; symconv names the rule."""
    heads = ChannelsFirst(ShiftedWindowAttention(6, [3, 3], [0, 0], 4)).eval()
    with pytest.raises(RuntimeError):
        heads(torch.zeros(1, 6, 6, 6))
    with pytest.raises(SpecError, match="num_heads=4 must divide the channels"):
        from_torch(heads, (1, 6, "H", "W"))
    wrong = ChannelsFirst(ShiftedWindowAttention(4, [3, 3], [0, 0], 2)).eval()
    with pytest.raises(RuntimeError):
        wrong(torch.zeros(1, 3, 6, 6))
    with pytest.raises(SpecError, match=r"the input has 3 channels, and qkv_weight \(12, 4\) reads 4"):
        from_torch(wrong, (1, 3, "H", "W"))


def test_the_attention_needs_channels_last() -> None:
    model = ShiftedWindowAttention(3, [3, 3], [0, 0], 1).eval()
    with pytest.raises(
        SpecError, match=r"reads \(batch, channels, H, W\); it works on \(batch, H, W, channels\)"
    ):
        from_torch(model, (1, 3, "H", "W"))


def test_a_bias_that_would_grow_the_scores_is_refused() -> None:
    class Odd(ShiftedWindowAttention):
        def get_relative_position_bias(self) -> Any:
            return torch.zeros(2, 1, 9, 9)  # a count of windows: the sizes would decide

    with pytest.raises(SpecError, match=r"relative_position_bias of shape \(2, 1, 9, 9\) does not broadcast"):
        from_torch(ChannelsFirst(Odd(4, [3, 3], [0, 0], 2)), (1, 4, "H", "W"))


def other_attention(input: Any, window_size: list[int]) -> Any:
    return input


other_attention.__name__ = "shifted_window_attention"
torch.fx.wrap("other_attention")


def test_a_function_of_the_same_name_with_other_parameters_is_not_read_as_swin() -> None:
    model = Lambda(lambda m, x: other_attention(x.permute(0, 2, 3, 1), [7, 7]))
    with pytest.raises(SpecError, match="unsupported op"):
        from_torch(model, (1, 3, "H", "W"))


@pytest.mark.parametrize("inner", ["linear", "layernorm"])
def test_a_channels_last_linear_or_layernorm_mixes_the_channels_a_pixel_unshuffle_filled(inner: str) -> None:
    """A Linear or a LayerNorm over the channels of a channels-last tensor reads every channel of a position:
    between a pixel unshuffle and a shuffle by the same r, each output reads every phase of its block."""
    torch.manual_seed(0)
    between_shuffles(nn.Linear(16, 16) if inner == "linear" else nn.LayerNorm(16), 8)
