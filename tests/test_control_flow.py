"""Forwards that branch on sizes, which torch.fx cannot trace: read at a sample size with each branch a guard.

Each model read is compared with PyTorch run on CPU at every size 1..N of each axis (the other axis held at a
valid size): the valid set and the output size must agree. A branch whose other side also runs is read only
where one side is an identity wherever the other is taken, else refused, naming the branch's line and both
outcomes.

The models' asserts must stay as Python compiles them (a refusal is read from the bytecode between a decision
and its raise), so pytest does not rewrite this module's asserts: PYTEST_DONT_REWRITE.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("torch")

import torch
from torch import nn

F = torch.nn.functional

from symconv.core.errors import SpecError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402

SWEEP = range(1, 97)


def run(model: Any, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The spatial output shape PyTorch gives, or None where the model refuses the size."""
    try:
        with torch.no_grad():
            out = model(torch.zeros(shape))
    except (RuntimeError, ValueError, AssertionError):
        return None
    return tuple(out.shape[2:])  # an empty axis (0) is a run: PyTorch returns the empty tensor


def agree(model: Any, held: tuple[int, int], channels: int = 3) -> None:
    """symconv's valid set and output sizes equal PyTorch's on every size of SWEEP along H and along W."""
    net = from_torch(model, (1, channels, "H", "W"))
    valid, output = net.valid_inputs(), net.output_size()
    runs = 0
    for axis in (0, 1):
        for size in SWEEP:
            sizes = dict(zip("HW", held, strict=True))
            sizes["HW"[axis]] = size
            got = run(model, (1, channels, sizes["H"], sizes["W"]))
            says = sizes["H"] in valid["H"] and sizes["W"] in valid["W"]
            assert says == (got is not None), (sizes, got)
            if got is not None:
                runs += 1
                predicted = tuple(
                    int(output[d].subs({s: sizes[s.name] for s in output[d].free_symbols})) for d in "HW"
                )
                assert predicted == got, sizes
    assert runs > 0  # the comparison saw sizes where the model runs, not only refusals


def conv(stride: int = 1, k: int = 3, padding: int = 1) -> Any:
    return nn.Conv2d(3, 3, k, stride=stride, padding=padding)


class SmpLike(nn.Module):
    """segmentation_models_pytorch's check: a raise behind an `or`, conditional expressions inside the branch."""

    def __init__(self) -> None:
        super().__init__()
        self.down1, self.down2 = conv(2), conv(2)
        self.up = nn.Upsample(scale_factor=2)

    def forward(self, x: Any) -> Any:
        h, w = x.shape[-2:]
        output_stride = 4
        if h % output_stride != 0 or w % output_stride != 0:
            new_h = (h // output_stride + 1) * output_stride if h % output_stride != 0 else h
            new_w = (w // output_stride + 1) * output_stride if w % output_stride != 0 else w
            raise RuntimeError(f"Wrong input shape {h}x{w}; pad to ({new_h}, {new_w})")
        skip = self.down1(x)
        return self.up(self.down2(skip)) + skip


class Remainder(nn.Module):
    """`if h % 8: raise`: the truth value of a size, not a comparison."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = conv(2, k=5, padding=0)

    def forward(self, x: Any) -> Any:
        if x.size(2) % 8:
            raise ValueError("H must be a multiple of 8")
        return self.conv(x)


class Bounds(nn.Module):
    """A guard on x.shape[-1] > 7 (if ...: raise) and an assert statement on H."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = conv(1, k=3, padding=0)

    def forward(self, x: Any) -> Any:
        if x.shape[-1] <= 7:
            raise ValueError("W must be more than 7")
        assert x.shape[-2] > 3, "H must be more than 3"
        return self.conv(x)


class LateCheck(nn.Module):
    """A check deep in the network (after a pooling), then cropping by a size computed from it."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.MaxPool2d(2)
        self.conv = conv(1)

    def forward(self, x: Any) -> Any:
        y = self.pool(self.conv(x))
        if y.shape[-1] < 5 or y.shape[-2] < 5:
            raise RuntimeError("the pooled map is smaller than 5")
        return y[:, :, : y.shape[-2] - 2, :]


class ChannelBranch(nn.Module):
    """Branches on a channel count (the same for every input size) with two valid sides: read, no guard."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = conv(2)

    def forward(self, x: Any) -> Any:
        if x.shape[1] != 0:
            x = self.conv(x)
        else:
            x = x * 2
        if x.size(1) != 3:
            raise ValueError("expected 3 channels")
        return x


class Sevens(nn.Module):
    """Refuses the first sample size (256): the next one, 224 = 7 * 32, is the sample."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(7)

    def forward(self, x: Any) -> Any:
        if x.shape[-1] % 7 or x.shape[-2] % 7:
            raise ValueError("H and W must be multiples of 7")
        return self.pool(x)


class HalfSize(nn.Module):
    """Iterates over a shape (its length is the rank at every size) to build an interpolation size."""

    def forward(self, x: Any) -> Any:
        return F.interpolate(x, size=[s // 2 for s in x.shape[2:]])


def _refused_here(h: Any) -> Any:
    return (
        h % 3 == 1 or h < 11
    )  # `or` asks h % 3 == 1's truth, then the `if` asks it again of what `or` returned


class HelperCondition(nn.Module):
    """A condition in a helper function: one traced value whose truth is asked twice is one decision."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: Any) -> Any:
        if _refused_here(x.shape[-2]):
            raise ValueError("refused")
        return self.conv(x)


class EvenSkip(nn.Module):
    """A U-Net step whose skip must match the upsampled tensor: shapes compared as a whole, by an assert or
    by a raise (`whole`: x.shape against y.shape; else the spatial parts, x.shape[2:])."""

    def __init__(self, whole: bool) -> None:
        super().__init__()
        self.whole = whole
        self.down = nn.Conv2d(3, 3, 3, 2, 1)
        self.up = nn.ConvTranspose2d(3, 3, 2, 2)
        self.fuse = nn.Conv2d(6, 3, 3)

    def forward(self, x: Any) -> Any:
        y = self.up(self.down(x))
        if self.whole:
            assert y.shape == x.shape, "even sizes only"
        elif y.shape[2:] != x.shape[2:]:
            raise ValueError("even sizes only")
        return self.fuse(torch.cat([y, x], 1))


class ResizeWhenShapesDiffer(nn.Module):
    """`if y.shape != skip.shape: y = F.interpolate(y, size=skip.shape[2:])`: both sides run, and the resize is
    the identity where the shapes are equal."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 3, 3, 2, 1)
        self.up = nn.ConvTranspose2d(3, 3, 2, 2)

    def forward(self, x: Any) -> Any:
        y = self.up(self.down(x))
        if y.shape != x.shape:
            y = F.interpolate(y, size=x.shape[2:])
        return y + x


class RankAsked(nn.Module):
    """len() of a shape (fx refuses len() outright): its rank, the same at every size."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = conv(stride=2)

    def forward(self, x: Any) -> Any:
        if len(x.shape) == 4 and x.shape[-1] % 2 == 1:
            raise ValueError("W must be even")
        spatial = len(x.shape[2:])
        return self.conv(x) if spatial == 2 else x


class LengthOfATensor(nn.Module):
    def forward(self, x: Any) -> Any:
        # len(x) is the batch size: not a size symconv reads
        return x[: len(x)]


class OrderedShapes(nn.Module):
    """Shapes compared with < (Python's order of tuples): not read."""

    def forward(self, x: Any) -> Any:
        if x.shape[2:] < (64, 64):
            raise ValueError("too small")
        return x


@pytest.mark.parametrize(
    ("make", "held"),
    [
        (lambda: EvenSkip(True), (20, 30)),
        (lambda: EvenSkip(False), (20, 30)),
        (HelperCondition, (20, 30)),
        (SmpLike, (64, 36)),
        (Remainder, (48, 30)),
        (Bounds, (20, 30)),
        (LateCheck, (40, 30)),
        (ChannelBranch, (20, 30)),
        (HalfSize, (20, 30)),
        (Sevens, (21, 35)),
        (ResizeWhenShapesDiffer, (20, 31)),  # both sides run: read as the resize, an identity where equal
    ],
)
def test_read_past_branches_agrees_with_pytorch(make: Any, held: tuple[int, int]) -> None:
    with pytest.raises(torch.fx.proxy.TraceError):
        torch.fx.symbolic_trace(make())  # the case at hand: torch.fx alone refuses it
    agree(make().eval(), held)


def test_guards_are_conditions_of_the_network() -> None:
    net = from_torch(SmpLike(), (1, 3, "H", "W"))
    checks = [n for n in net.nodes if n.op == "check"]
    assert len(checks) == 2  # one per axis, from the two sides of the `or`
    valid = net.valid_inputs()
    assert [n for n in range(1, 30) if n in valid["H"]] == [4, 8, 12, 16, 20, 24, 28]
    assert not [n.op for n in from_torch(ChannelBranch(), (1, 3, "H", "W")).nodes if n.op == "check"]


def test_fixed_axis_guard_is_decided() -> None:
    net = from_torch(Remainder(), (1, 3, 64, "W"))
    assert net.output_size()["H"] == 30
    with pytest.raises(SpecError, match="at none of the sample sizes"):
        # H fixed at 60 takes the raising branch whatever the sample size: no trace runs to the end
        from_torch(Remainder(), (1, 3, 60, "W"))


class TwoPaths(nn.Module):
    """if/else on a size where both sides run: the two paths are different networks."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = conv(2)

    def forward(self, x: Any) -> Any:
        if x.shape[-1] > 7:
            x = self.conv(x)
        return x


class ForkThenRun(nn.Module):
    """The other side branches again, and one of its paths runs: not a condition of validity."""

    def forward(self, x: Any) -> Any:
        if x.shape[-1] % 2:
            if x.shape[-2] % 2:
                raise ValueError("both odd")
            x = x[..., :-1]
        return x


class OnValues(nn.Module):
    def forward(self, x: Any) -> Any:
        if x.sum() > 0:
            raise ValueError("positive")
        return x


class IteratesPieces(nn.Module):
    def forward(self, x: Any) -> Any:
        return torch.cat([piece * 2 for piece in torch.split(x, 4, dim=-1)], dim=-1)


class Halving(nn.Module):
    """A loop on a size: the turns taken at the sample are one network, fewer turns another."""

    def forward(self, x: Any) -> Any:
        while x.shape[-1] > 1:
            x = x[..., ::2]
        return x


class Shrinking(nn.Module):
    """A loop whose every turn branches on a size: a guard per turn (256 at W = 256, the last one false), more than are confirmed."""

    def forward(self, x: Any) -> Any:
        while x.shape[-1] > 1:
            x = x[..., 1:]
        return x


class OnlySeventeen(nn.Module):
    def forward(self, x: Any) -> Any:
        if x.shape[-1] != 17:
            raise ValueError("W must be 17")
        return x


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            TwoPaths,
            r"at tests/test_control_flow\.py:\d+ \(`if x\.shape\[-1\] > 7:`\) the forward branches on sizes: True at "
            r"H=W=256 \(the traced path\); False also runs to the end, and the two paths may give different networks",
        ),
        (
            ForkThenRun,
            r"`if x\.shape\[-1\] % 2:`\) the forward branches on sizes: (False|True) (at|on the path read, "
            r"which takes the branch at .* the other way from) H=W=256.* (True|False) also runs",
        ),
        (OnValues, r"`if x\.sum\(\) > 0:`\) the forward branches on a tensor's values; only sizes are read"),
        (
            IteratesPieces,
            r"\(`return torch\.cat\(.*`\) the forward iterates over a traced tuple, whose length may depend on the sizes",
        ),
        (
            Halving,
            r"`while x\.shape\[-1\] > 1:`\) the forward branches on sizes: (True|False) at H=W=256 .* "
            r"(False|True) also runs",
        ),
        (
            Shrinking,
            r"branches on sizes 256 times \(the first at .*: `while x\.shape\[-1\] > 1:`\), more than the 64",
        ),
        (
            OrderedShapes,
            r"compares \(input\.H, input\.W\) and \(64, 64\); only sizes, integers and shapes \(with == or !=\)",
        ),
        (
            OnlySeventeen,
            r"runs at none of the sample sizes tried per axis \(256, 224, .*\): 256: ValueError: W must",
        ),
    ],
)
def test_branches_that_are_not_guards_are_refused(make: Any, message: str) -> None:
    with pytest.raises(SpecError, match=r"torch\.fx could not trace .*" + message):
        from_torch(make(), (1, 3, "H", "W"))


def test_a_raise_the_model_catches_is_not_a_refusal() -> None:
    class Catching(nn.Module):
        def forward(self, x: Any) -> Any:
            try:
                if x.shape[-1] % 4:
                    raise KeyError("W must be a multiple of 4")
            except KeyError:
                pass  # ... and then it runs anyway
            return x

    # both sides run and make the same network (the identity): every W is read as valid, as PyTorch runs it
    net = from_torch(Catching(), (1, 3, "H", "W"))
    for w in range(1, 10):
        assert (
            net.check({"H": 5, "W": w})
            == {"H": 5, "W": w}
            == dict(zip("HW", Catching()(torch.zeros(1, 3, 5, w)).shape[2:], strict=True))
        )


class CatchesTheTracer(nn.Module):
    """fx's own refusal of a branch is a ValueError: a forward that catches ValueError (or everything) would
    trace on down its except path, a network for some sizes only, unless the importer's refusal escapes it."""

    def __init__(self, catch: str) -> None:
        super().__init__()
        self.conv, self.catch = nn.Conv2d(3, 4, 3, stride=2), catch

    def forward(self, x: Any) -> Any:
        try:
            if x.shape[-1] % 2:
                raise ValueError("odd width")
        except ValueError if self.catch == "ValueError" else BaseException:  # noqa: B030
            x = F.pad(x, [0, 1])
        return self.conv(x)


@pytest.mark.parametrize("catch", ["ValueError", "everything"])
def test_a_forward_that_catches_the_tracers_refusal_is_not_read_down_its_except_path(catch: str) -> None:
    with pytest.raises(SpecError, match=r"True also runs to the end"):
        from_torch(CatchesTheTracer(catch), (1, 3, "H", "W"))


class ExitsOnBadSizes(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: Any) -> Any:
        if x.shape[2] % 5:
            raise SystemExit("H must be a multiple of 5")  # a refusal too, not the end of symconv
        return self.conv(x)


def test_a_forward_that_exits_refuses_those_sizes() -> None:
    valid = from_torch(ExitsOnBadSizes(), (1, 3, "H", "W")).valid_inputs()
    assert [h for h in range(1, 40) if h in valid["H"]] == [5, 10, 15, 20, 25, 30, 35]


def test_a_torch_without_fxs_patch_helper_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(torch.fx._symbolic_trace, "_maybe_revert_all_patches")
    with pytest.raises(SpecError, match=r"needs torch\.fx's patch helper, which torch .* lacks"):
        from_torch(SmpLike(), (1, 3, "H", "W"))


class IntOfSize(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = conv(1)

    def forward(self, x: Any) -> Any:
        h = int(x.shape[2])
        return self.conv(x)[..., : h // 2, :]


def test_a_size_made_a_python_number_is_refused_at_its_line() -> None:
    with pytest.raises(SpecError) as refusal:
        from_torch(IntOfSize(), (1, 3, "H", "W"))
    message = str(refusal.value)
    assert "test_control_flow.py:" in message and "`h = int(x.shape[2])` makes a Python number" in message
    assert "nn.Sequential" not in message  # it says what to change; the fallback is beside the point


def _checked(x: Any) -> Any:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"Unexpected type {type(x)}")
    return x


class TypeChecked(nn.Module):
    """A helper that checks its argument's type, as torchvision's functional transforms do."""

    def forward(self, x: Any) -> Any:
        return _checked(x)


def test_a_type_check_of_a_traced_value_is_named_as_such() -> None:
    with pytest.raises(SpecError) as refusal:
        from_torch(TypeChecked(), (1, 3, "H", "W"))
    message = str(refusal.value)
    assert "rejects a traced value (Unexpected type" in message and "a check of its type" in message
    assert "Python number" not in message


def test_the_rank_asked_with_len_is_read() -> None:
    with pytest.raises(RuntimeError, match="'len' is not supported"):
        torch.fx.symbolic_trace(RankAsked())  # torch.fx alone refuses len()
    agree(RankAsked().eval(), (20, 30))


def test_the_length_of_a_tensor_is_refused_by_name() -> None:
    with pytest.raises(
        SpecError, match=r"`return x\[: len\(x\)\]`\) the forward asks the length of a traced"
    ):
        from_torch(LengthOfATensor(), (1, 3, "H", "W"))


class NumberPastTheBranch(nn.Module):
    def forward(self, x: Any) -> Any:
        if x.shape[2] % 2:
            raise ValueError("H must be even")
        half = int(x.shape[2]) // 2
        return x[:, :, :half]


def test_a_failure_past_a_branch_is_named_as_without_one() -> None:
    """Past the branch fx fails as it does in a forward without one: said the same way (not "runs at none of
    the sample sizes")."""
    with pytest.raises(
        SpecError, match=r"branches on sizes, and .*`half = int\(x\.shape\[2\]\) // 2` makes a Python number"
    ):
        from_torch(NumberPastTheBranch(), (1, 3, "H", "W"))


def test_a_guard_passes_its_tensor_channels_on() -> None:
    class Checked(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)

        def forward(self, x: Any) -> Any:
            y = self.conv(x)
            if y.shape[2] % 2:
                raise ValueError("even")
            return y

    net = from_torch(Checked(), (1, 3, "H", "W"))
    checks = [node.name for node in net.nodes if node.op == "check"]
    assert checks and all(dict(net.channels)[name] == 8 for name in checks)
