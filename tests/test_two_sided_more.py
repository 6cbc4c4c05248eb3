"""More forwards that branch on sizes where both sides run, against PyTorch: the sizes on every axis 1..60 (the
other axis held where the branch goes each way) and every output position's field (autograd, float64,
positive weights, average pooling), for the ways a model writes the branch and the resize; sides that are no
identity where the guard holds must be refused; a model that refuses sizes itself is read as a condition,
and a raise that is not the model refusing the sizes is not.

The models' asserts must stay as Python compiles them (a refusal is read from the bytecode between a decision
and its raise), so pytest does not rewrite this module's asserts: PYTEST_DONT_REWRITE."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.errors import SpecError, SymconvError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402
from symconv.nets.receptive import intervals  # noqa: E402

SIZES = range(1, 61)


def _run(model: nn.Module, shape: Sequence[int]) -> tuple[int, ...] | None:
    """The output's spatial sizes in PyTorch, None where the forward raises."""
    try:
        with torch.no_grad():
            return tuple(model(torch.zeros(*shape)).shape[2:])
    except (RuntimeError, ValueError, AssertionError):
        return None


def _read(net: Any, sizes: dict[str, int]) -> tuple[int, ...] | None:
    try:
        out = net.check(sizes)
    except SymconvError:
        return None
    return tuple(out[dim] for dim in net.dims)


def _disagreements(
    model: nn.Module, spec: tuple[int | str, ...], held: Sequence[int], channels: int = 1
) -> list[tuple[tuple[int, ...], Any, Any]]:
    """Every size 1..60 of each symbolic axis, the others at each of `held`: (sizes, PyTorch, symconv) where
    they differ."""
    model.eval()
    net = from_torch(model, spec)
    axes = list(spec[2:])
    names = [axis for axis in axes if isinstance(axis, str)]
    wrong = []
    for free, axis in enumerate(axes):
        if not isinstance(axis, str):
            continue
        for size in SIZES:
            for other in held:
                shape = [other if isinstance(a, str) else a for a in axes]
                shape[free] = size
                given = {name: shape[axes.index(name)] for name in names}
                expected, got = _run(model, (1, channels, *shape)), _read(net, given)
                if expected != got:
                    wrong.append((tuple(shape), expected, got))
    return wrong


def _positive(model: nn.Module) -> nn.Module:
    model = model.double().eval()
    torch.manual_seed(0)
    for parameter in model.parameters():
        nn.init.uniform_(parameter, 0.5, 1.0)
    return model


def _depends(model: nn.Module, shape: Sequence[int], axis: int) -> list[tuple[int, int] | None]:
    """For each output position along spatial `axis`, the first and last input position it depends on."""
    x = torch.zeros(*shape, dtype=torch.float64, requires_grad=True)
    y = model(x)
    spans: list[tuple[int, int] | None] = []
    for position in range(y.shape[axis + 2]):
        (grad,) = torch.autograd.grad(y.select(axis + 2, position).sum(), x, retain_graph=True)
        per_axis = grad[0].abs().sum(0)
        others = tuple(i for i in range(per_axis.dim()) if i != axis)
        reached = (per_axis.sum(dim=others) if others else per_axis).nonzero().flatten().tolist()
        spans.append((min(reached), max(reached)) if reached else None)
    return spans


def _field_disagreements(
    model: nn.Module, spec: tuple[int | str, ...], shapes: Sequence[Sequence[int]]
) -> list[tuple[Any, ...]]:
    """At each spatial shape, along each symbolic axis: symconv's fields clipped to the input against the
    positions each output depends on."""
    model = _positive(model)
    net = from_torch(model, spec)
    axes = list(spec[2:])
    wrong: list[tuple[Any, ...]] = []
    for shape in shapes:
        for index, axis in enumerate(axes):
            if not isinstance(axis, str):
                continue
            expected = _depends(model, (1, 1, *shape), index)
            n = shape[index]
            got = [
                None if span is None else (max(span[0], 0), min(span[1], n - 1))
                for span in intervals(net, n, dim=axis)
            ]
            if got != expected:
                wrong.append((tuple(shape), axis, expected, got))
    return wrong


class Halved(nn.Module):
    """A down and up path whose upsampled size equals the input's only at even sizes; `side(y, x)` is the
    model's branch, resizing y to x where they differ."""

    def __init__(self, side: Callable[[Any, Any, Any], Any]) -> None:
        super().__init__()
        self.side = side
        self.down = nn.Conv2d(1, 1, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(1, 1, 2, 2)
        self.third = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: Any) -> Any:
        y = self.up(self.down(x))
        return x + self.side(self, y, x)


def _size_call(m: Any, y: Any, x: Any) -> Any:
    if y.size() != x.size():
        y = F.interpolate(y, size=x.shape[2:])
    return y


def _not_equal(m: Any, y: Any, x: Any) -> Any:
    if not y.shape[-2:] == x.shape[-2:]:
        y = F.interpolate(y, size=x.shape[-2:], mode="nearest-exact")
    return y


def _matched(y: Any, ref: Any) -> Any:
    """A function holding the branch, as a model's utilities would."""
    if y.shape[-2:] != ref.shape[-2:]:
        y = F.interpolate(y, size=ref.shape[-2:], mode="bilinear", align_corners=False)
    return y


def _per_axis(m: Any, y: Any, x: Any) -> Any:
    if y.size(2) != x.size(2):
        y = F.interpolate(y, size=(x.size(2), y.size(3)), mode="bilinear", align_corners=True)
    if y.size(3) != x.size(3):
        y = F.interpolate(y, size=(y.size(2), x.size(3)), mode="bilinear")
    return y


def _to_third(m: Any, y: Any, x: Any) -> Any:
    third = m.third(x)  # the input's size, made by another layer
    if y.shape != x.shape:
        y = F.interpolate(y, size=third.shape[2:])
    return y


def _activated_and_scaled(m: Any, y: Any, x: Any) -> Any:
    if y.shape != x.shape:
        y = F.interpolate(F.relu(y), size=x.shape[2:], mode="area") * 0.5 + 1
    return y


def _returned_early(m: Any, y: Any, x: Any) -> Any:
    if y.shape == x.shape:
        return y
    return F.interpolate(y, size=x.shape[2:])


READ_SIDES: dict[str, Callable[[Any, Any, Any], Any]] = {
    "size()": _size_call,
    "not ==, nearest-exact": _not_equal,
    "a function holds the if": lambda m, y, x: _matched(y, x),
    "one branch per axis": _per_axis,
    "to a third tensor of the input's size": _to_third,
    "an activation and a scale around the resize": _activated_and_scaled,
    "an early return": _returned_early,
}


@pytest.mark.parametrize("name", sorted(READ_SIDES))
def test_branch_forms_agree_with_pytorch(name: str) -> None:
    model = Halved(READ_SIDES[name])
    assert _disagreements(model, (1, 1, "H", "W"), held=(5, 8, 16, 17)) == []
    shapes = [(h, w) for h in (5, 8, 9, 13, 16) for w in (8, 9)]
    assert _field_disagreements(Halved(READ_SIDES[name]), (1, 1, "H", "W"), shapes) == []


class Decoder(nn.Module):
    def __init__(self, mode: str, align_corners: bool | None) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(2, 2, 2, 2)
        self.conv = nn.Conv2d(4, 2, 3, padding=1)
        self.options: dict[str, Any] = {"mode": mode}
        if align_corners is not None:
            self.options["align_corners"] = align_corners

    def forward(self, x: Any, skip: Any) -> Any:
        x = self.up(x)
        if x.shape[-2:] != skip.shape[-2:]:
            x = F.interpolate(x, size=skip.shape[-2:], **self.options)
        return self.conv(torch.cat([x, skip], 1))


class LoopUNet(nn.Module):
    """Three levels, the decoder blocks in a loop over the skips (the branch asked once per block)."""

    def __init__(self, mode: str = "nearest", align_corners: bool | None = None) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 2, 3, padding=1)
        self.downs = nn.ModuleList([nn.Conv2d(2, 2, 3, stride=2, padding=1) for _ in range(3)])
        self.ups = nn.ModuleList([Decoder(mode, align_corners) for _ in range(3)])

    def forward(self, x: Any) -> Any:
        x = self.stem(x)
        skips = []
        for down in self.downs:
            skips.append(x)
            x = down(x)
        for up, skip in zip(self.ups, reversed(skips), strict=True):
            x = up(x, skip)
        return x


MODES = [
    ("nearest", None),
    ("nearest-exact", None),
    ("area", None),
    ("bilinear", False),
    ("bilinear", True),
    ("bicubic", False),
    ("bicubic", True),
]


@pytest.mark.parametrize(("mode", "align_corners"), MODES)
def test_decoder_blocks_in_a_loop_agree_with_pytorch(mode: str, align_corners: bool | None) -> None:
    model = LoopUNet(mode, align_corners)
    assert _disagreements(model, (1, 1, "H", "W"), held=(5, 8, 16, 17)) == []
    shapes = [(h, w) for h in (5, 8, 9, 13, 16, 17, 23) for w in (8, 9)]
    assert _field_disagreements(LoopUNet(mode, align_corners), (1, 1, "H", "W"), shapes) == []


class Volume(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv3d(1, 1, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose3d(1, 1, 2, 2)

    def forward(self, x: Any) -> Any:
        y = self.up(self.down(x))
        if y.shape[2:] != x.shape[2:]:
            y = F.interpolate(y, size=x.shape[2:], mode="trilinear", align_corners=False)
        return x + y


def test_a_volume_agrees_with_pytorch() -> None:
    model = Volume().eval()
    net = from_torch(model, (1, 1, "D", "H", "W"))
    for axis in range(3):
        for size in range(1, 41):
            for other in (4, 7):
                shape = [other, other + 1, other + 2]
                shape[axis] = size
                given = dict(zip("DHW", shape, strict=True))
                assert _read(net, given) == _run(model, (1, 1, *shape)), shape
    shapes = [(8, 9, 10), (7, 7, 8)]
    assert _field_disagreements(Volume(), (1, 1, "D", "H", "W"), shapes) == []


class Signal(nn.Module):
    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode
        self.down = nn.Conv1d(1, 1, 3, stride=3, padding=1)
        self.up = nn.ConvTranspose1d(1, 1, 3, 3)

    def forward(self, x: Any) -> Any:
        y = self.up(self.down(x))
        if y.size(-1) != x.size(-1):
            y = F.interpolate(y, size=x.size(-1), mode=self.mode)
        return x + y


@pytest.mark.parametrize("mode", ["linear", "nearest", "area", "nearest-exact"])
def test_a_signal_agrees_with_pytorch(mode: str) -> None:
    model = Signal(mode).eval()
    net = from_torch(model, (1, 1, "L"))
    for size in SIZES:
        assert _read(net, {"L": size}) == _run(model, (1, 1, size)), size
    assert _field_disagreements(Signal(mode), (1, 1, "L"), [(n,) for n in range(5, 13)]) == []


def test_a_fixed_axis_where_the_sizes_agree() -> None:
    """H fixed at 64, where the upsampled tensor matches: the branch then turns on W alone."""
    model = Halved(lambda m, y, x: _matched(y, x))
    assert _disagreements(model, (1, 1, 64, "W"), held=(64,)) == []


class Channels(nn.Module):
    """The whole shapes compared, channels included: they always differ, so the resize always runs."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(1, 4, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(4, 4, 2, 2)
        self.skip = nn.Conv2d(1, 2, 1)
        self.out = nn.Conv2d(6, 1, 1)

    def forward(self, x: Any) -> Any:
        skip, y = self.skip(x), self.up(self.down(x))
        if y.shape != skip.shape:
            y = F.interpolate(y, size=skip.shape[2:])
        return self.out(torch.cat([y, skip], 1))


def test_shapes_that_differ_in_channels_always_resize() -> None:
    assert _disagreements(Channels(), (1, 1, "H", "W"), held=(5, 8, 16, 17)) == []
    shapes = [(h, w) for h in (5, 8, 9) for w in (8, 9)]
    assert _field_disagreements(Channels(), (1, 1, "H", "W"), shapes) == []


def _guard_on_h_resizing_both(m: Any, y: Any, x: Any) -> Any:
    if y.size(2) != x.size(2):
        y = F.interpolate(y, size=x.shape[2:])  # W resized too where only H was compared
    return y


def _w_to_another_size(m: Any, y: Any, x: Any) -> Any:
    if y.shape != x.shape:
        y = F.interpolate(y, size=(x.size(2), x.size(3) + 1))  # W resized past the input's size
        y = F.interpolate(y, size=x.shape[2:])
    return y


def _padded_then_resized(m: Any, y: Any, x: Any) -> Any:
    if y.shape != x.shape:
        y = F.interpolate(F.pad(y, [1, 1, 1, 1]), size=x.shape[2:])
    return y


def _cropped_then_resized(m: Any, y: Any, x: Any) -> Any:
    if y.shape != x.shape:
        y = F.interpolate(y[:, :, 1:, 1:], size=x.shape[2:])
    return y


def _pooled_then_resized(m: Any, y: Any, x: Any) -> Any:
    if y.shape != x.shape:
        y = F.interpolate(F.avg_pool2d(y, 3, 1, 1), size=x.shape[2:])
    return y


def _by_scale(m: Any, y: Any, x: Any) -> Any:
    if y.shape != x.shape:
        y = F.interpolate(y, scale_factor=x.size(2) / y.size(2))
    return y


def _adaptive(m: Any, y: Any, x: Any) -> Any:
    if y.shape != x.shape:
        y = F.adaptive_avg_pool2d(y, x.shape[2:])
    return y


def _with_a_layer(m: Any, y: Any, x: Any) -> Any:
    if y.shape != x.shape:
        y = F.interpolate(y, size=x.shape[2:]) + m.third(x)
    return y


REFUSED_SIDES: dict[str, Callable[[Any, Any, Any], Any]] = {
    "H compared, both resized": _guard_on_h_resizing_both,
    "W resized to another size": _w_to_another_size,
    "a pad before the resize": _padded_then_resized,
    "a crop before the resize": _cropped_then_resized,
    "a pool before the resize": _pooled_then_resized,
    "a resize by scale": _by_scale,
    "a layer added": _with_a_layer,
}


def test_an_adaptive_pool_to_the_compared_size_is_an_identity_where_it_holds() -> None:
    """Adaptive pooling to the tensor's own size takes windows of one position: the side is read, and agrees."""
    assert _disagreements(Halved(_adaptive), (1, 1, "H", "W"), held=(5, 8)) == []


@pytest.mark.parametrize("name", sorted(REFUSED_SIDES))
def test_sides_that_are_no_identity_where_the_guard_holds_are_refused(name: str) -> None:
    model = Halved(REFUSED_SIDES[name]).eval()
    assert _run(model, (1, 1, 9, 9)) is not None  # PyTorch runs the resizing side and the other
    assert _run(model, (1, 1, 8, 8)) is not None
    with pytest.raises(SymconvError):
        from_torch(model, (1, 1, "H", "W"))


class Sub(nn.Module):
    def forward(self, x: Any) -> Any:
        assert x.shape[-1] % 4 == 0, "W must be a multiple of 4"
        return x


class NestedAssert(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.sub = Sub()
        self.conv = nn.Conv2d(1, 1, 3, stride=4, padding=1)

    def forward(self, x: Any) -> Any:
        return self.conv(self.sub(x))


def _check(x: Any) -> None:
    h, w = x.shape[-2:]
    if h % 8 != 0 or w % 8 != 0:
        raise RuntimeError(f"H and W must be multiples of 8, got {h}x{w}")


class CheckedByAFunction(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, stride=8, padding=1)

    def forward(self, x: Any) -> Any:
        _check(x)
        return self.conv(x)


class CheckedAndResized(nn.Module):
    """A refusal (H even) and a two-sided resize in one forward."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(1, 1, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(1, 1, 2, 2)

    def forward(self, x: Any) -> Any:
        if x.shape[2] % 2 != 0:
            raise ValueError("H must be even")
        return x + _matched(self.up(self.down(x)), x)


@pytest.mark.parametrize("model", [NestedAssert, CheckedByAFunction, CheckedAndResized])
def test_models_that_refuse_sizes_are_read_as_conditions(model: type[nn.Module]) -> None:
    assert _disagreements(model(), (1, 1, "H", "W"), held=(5, 8, 16, 24)) == []


# --- Wrong answers and refusals found (each test fails until the importer reads the model as PyTorch runs it)


def _resized_to(y: Any, size: Any) -> Any:
    """A function that validates its arguments, as utilities do: a traced shape is no tuple, a real one is."""
    if y.shape[-2:] != size:
        if not isinstance(size, tuple | list):
            raise TypeError(f"size must be a tuple or a list, got {type(size).__name__}")
        y = F.interpolate(y, size=size)
    return y


def _resized_to_ints(y: Any, size: Any) -> Any:
    if y.shape[-2:] != size:
        if not all(isinstance(s, int) for s in size):
            raise TypeError("size must be integers")
        y = F.interpolate(y, size=size)
    return y


@pytest.mark.parametrize("resize", [_resized_to, _resized_to_ints])
def test_a_check_that_only_a_traced_value_fails_is_no_refusal(resize: Callable[[Any, Any], Any]) -> None:
    """PyTorch runs this model at every size (a torch.Size is a tuple of ints); the raise only fires on the
    traced shape, in the function that asked for the decision, so symconv takes it as the model refusing odd
    sizes: H and W read as multiples of 2 (7 x 9 refused, PyTorch gives 7 x 9)."""
    model = Halved(lambda m, y, x: resize(y, x.shape[-2:]))
    assert _run(model.eval(), (1, 1, 7, 9)) == (7, 9)
    # the other side cannot be traced (the traced shape fails the check): refused, never read as a condition
    with pytest.raises(SpecError, match=r"tracing the other side failed \(TypeError: size must"):
        _disagreements(model, (1, 1, "H", "W"), held=(5, 8))


def _refuse(h: Any, w: Any) -> None:
    raise ValueError(f"H and W must be even, got {h}x{w}")


class RefusedByAFunction(nn.Module):
    """The forward decides, a function it calls raises (a common way to word an error)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(1, 1, 3, stride=2, padding=1)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[-2:]
        if h % 2 != 0 or w % 2 != 0:
            _refuse(h, w)
        return self.down(x)


class RefusalReraised(nn.Module):
    """A function decides and raises; the forward turns its error into its own."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, stride=8, padding=1)

    def forward(self, x: Any) -> Any:
        try:
            _check(x)
        except RuntimeError as error:
            raise ValueError("the input's size is not supported") from error
        return self.conv(x)


@pytest.mark.parametrize(
    "model",
    [
        RefusedByAFunction,
        RefusalReraised,
    ],
)
def test_a_refusal_worded_elsewhere_is_read_as_a_condition(model: type[nn.Module]) -> None:
    """The model refuses the sizes at every input that takes the branch (PyTorch raises) where the raise is
    not in the function that asked: in a function it then calls, or in an except clause of its caller that
    caught the refusal and raised its own."""
    assert _run(model().eval(), (1, 1, 7, 8)) is None
    assert _disagreements(model(), (1, 1, "H", "W"), held=(5, 8, 16, 24)) == []


def test_a_fixed_axis_where_the_branch_always_resizes() -> None:
    """H fixed at 100: 100 -> 50 -> 25 -> 13, upsampled to 26 against the skip's 25, so the branch resizes
    at every W. PyTorch runs every W; symconv refuses the model (the guard of the side not taken 'fails at
    the fixed input size'), though that guard is dropped once the resizing side is read."""
    model = LoopUNet("bilinear", False)
    assert _run(model.eval(), (1, 1, 100, 37)) == (100, 37)
    assert _disagreements(model, (1, 1, 100, "W"), held=(100,)) == []


class OddUp(nn.Module):
    """Upsampled by a transposed convolution of kernel 3 (2 * floor(H / 2) + 1: the input's size at odd H),
    resized to the input where it differs."""

    def __init__(self, mode: str, align_corners: bool) -> None:
        super().__init__()
        self.mode, self.align_corners = mode, align_corners
        self.up = nn.ConvTranspose2d(1, 1, 3, 2)

    def forward(self, x: Any) -> Any:
        y = self.up(F.avg_pool2d(x, 2))
        if y.shape != x.shape:
            y = F.interpolate(y, size=x.shape[2:], mode=self.mode, align_corners=self.align_corners)
        return x + y


@pytest.mark.xfail(
    strict=True,
    reason="a linear or cubic source computed in floating point keeps both taps where it is exact in rationals",
)
def test_bicubic_align_corners_fields_at_the_ends() -> None:
    """With align_corners the first and last outputs sit exactly on an input (the cubic's other taps weigh
    exactly 0): at H=4 output row 0 depends on input rows 0..1; symconv says 0..3."""
    shapes = [(h, 7) for h in range(2, 20)]
    assert _field_disagreements(OddUp("bicubic", True), (1, 1, "H", "W"), shapes) == []


class Shrunk(nn.Module):
    """Upsampled to 2H + 1 and resized back to the input's size (bilinear): at odd H the middle output's
    source is exactly an input position, so its second tap weighs exactly 0."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(1, 1, 3, 2)

    def forward(self, x: Any) -> Any:
        y = self.up(x)
        if y.shape != x.shape:
            y = F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=False)
        return x + y


@pytest.mark.xfail(
    strict=True,
    reason="a linear or cubic source computed in floating point keeps both taps where it is exact in rationals",
)
def test_bilinear_shrinking_fields_where_a_source_is_exact() -> None:
    """At W=9 (19 -> 9), output 4 reads position 9 of the upsampled tensor only (PyTorch: input column 4);
    symconv keeps positions 9 and 10 (columns 4..5); likewise at H=3 (7 -> 3), row 1: 1 (symconv 1..2).
    The same weights are exactly 0 in float32."""
    assert _field_disagreements(Shrunk(), (1, 1, "H", "W"), [(h, 9) for h in (3, 5, 9)]) == []


class Head(nn.Module):
    """DeepLab's head with align_corners=True, as many segmentation models write it (no branch)."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Conv2d(1, 1, 3, stride=4, padding=1)

    def forward(self, x: Any) -> Any:
        return F.interpolate(self.backbone(x), size=x.shape[2:], mode="bilinear", align_corners=True)


@pytest.mark.xfail(
    strict=True,
    reason="a linear or cubic source computed in floating point keeps both taps where it is exact in rationals",
)
def test_bilinear_align_corners_outputs_on_an_input_read_one_source() -> None:
    """Where q * (n - 1) / (out - 1) is an integer the output copies that feature row (the other tap weighs
    exactly 0): at H=16 (features 4 -> 16) output rows 0, 5 and 10 depend on input rows 0..1, 3..5 and
    7..9; symconv says 0..5, 3..9 and 7..13."""
    assert _field_disagreements(Head(), (1, 1, "H", "W"), [(16, 16), (13, 21)]) == []


def _either_axis(m: Any, y: Any, x: Any) -> Any:
    if y.size(2) != x.size(2) or y.size(3) != x.size(3):
        y = F.interpolate(y, size=x.shape[2:])
    return y


def _both_axes_else(m: Any, y: Any, x: Any) -> Any:
    if y.size(2) == x.size(2) and y.size(3) == x.size(3):
        pass
    else:
        y = F.interpolate(y, size=x.shape[2:])
    return y


OTHER_QUESTIONS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "or of the axes": _either_axis,
    "and of the axes, the resize in the else": _both_axes_else,
}


@pytest.mark.parametrize("name", sorted(OTHER_QUESTIONS))
def test_the_same_branch_in_other_words_is_read(name: str) -> None:
    """Each resizes to the input's size exactly where the sizes differ, as READ_SIDES do; the `or` / `and`
    ask one question per axis, so a side that stops at the first asks fewer questions than the other: each
    such path is compared with the network where it is taken."""
    assert _disagreements(Halved(OTHER_QUESTIONS[name]), (1, 1, "H", "W"), held=(5, 8, 16, 17)) == []
    assert _disagreements(Halved(OTHER_QUESTIONS[name]), (1, 1, "H", 9), held=(9,)) == []
    shapes = [(h, w) for h in (5, 8, 9) for w in (8, 9)]
    assert _field_disagreements(Halved(OTHER_QUESTIONS[name]), (1, 1, "H", "W"), shapes) == []


class ReturnedEarly(nn.Module):
    """The sum made in each return: where the sizes agree, and else after the resize."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(1, 1, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(1, 1, 2, 2)

    def forward(self, x: Any) -> Any:
        y = self.up(self.down(x))
        if y.shape == x.shape:
            return x + y
        return x + F.interpolate(y, size=x.shape[2:])


def test_an_early_return_of_the_sum_is_read() -> None:
    """One network at every size (the resize is the identity where the sizes agree): the two sums are made
    at two lines, but of the same values, so they are the same node."""
    assert _disagreements(ReturnedEarly(), (1, 1, "H", "W"), held=(5, 8, 16, 17)) == []


class Squared(nn.Module):
    """A branch that relates H and W: a non-square input is resized to a square."""

    def forward(self, x: Any) -> Any:
        if x.shape[2] != x.shape[3]:
            side = x.shape[3]
            x = F.interpolate(x, size=(side, side))
        return F.avg_pool2d(x, 2)


def test_a_branch_relating_the_axes_is_refused_not_misread() -> None:
    assert _run(Squared().eval(), (1, 1, 6, 9)) == (4, 4)
    # the guard (H != W) cannot be a condition per axis, so the branch is read only if its sides are the same
    # network; here the resize's size is W's on the H axis, which is refused by name
    with pytest.raises(SymconvError, match="depends on another axis"):
        from_torch(Squared().eval(), (1, 1, "H", "W"))
