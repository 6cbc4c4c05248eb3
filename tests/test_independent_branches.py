"""Stages that each branch on sizes, read without tracing every mix of their sides.

A pad per stage where either axis needs it (`if ph > 0 or pw > 0: x = F.pad(x, ...)`, Twins, CPUBone, U-Nets)
makes a path for every mix of sides. Where each branch's sides only rebind the tensor (importers.statements),
each branch is explored and compared on its own; where a side sets a flag, stores an attribute, drops a call's
value or leaves a value for an expression, the branches may depend on each other, and the model is either read
exactly or refused. Every answer is compared with PyTorch at every (H, W) in 1..24 x 1..24.
"""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.errors import SymconvError  # noqa: E402
from symconv.nets.importers.statements import local  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402
from tests.test_branch_paths_more import _pad_to  # noqa: E402
from tests.test_independent_branches_more import _grid, _run  # noqa: E402
from tests.test_independent_branches_more import _wrong as grid_wrong  # noqa: E402

# Every (H, W) in 1..24 x 1..24
TOP = 24


def _wrong(model: Any, net: Any) -> list[tuple[Any, ...]]:
    """Every (H, W) of the grid where symconv's answer is not PyTorch's: (sizes, PyTorch's, symconv's)."""
    return grid_wrong(model, net, ("H", "W"), TOP)


class Stages(nn.Module):
    """Four stages, each padded to a multiple where either axis needs it, then halved."""

    def __init__(self, multiple: int = 2, count: int = 4) -> None:
        super().__init__()
        self.multiple = multiple
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 3, stride=2, padding=1) for _ in range(count))

    def forward(self, x: Any) -> Any:
        for conv in self.convs:
            x = conv(_pad_to(x, self.multiple))
        return x


class SixStages(Stages):
    """Six stages (64 = 2**6 at the deepest): each pad's guard nests a remainder per stage before it, whose
    periods the closed-form solver cannot split; the pads are proved identities where unpadded by Z3, and the
    convolutions' conditions proved to hold at every size."""

    def __init__(self) -> None:
        super().__init__(count=6)


class StagesByThree(Stages):
    """Padded to multiples of 3: the sample (256) needs padding at some stages and not at others."""

    def __init__(self) -> None:
        super().__init__(multiple=3, count=3)


class EitherOrElse(nn.Module):
    """`if not (ph or pw): ... else: pad`, and `and` of the two questions negated, per stage."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 2, stride=2) for _ in range(3))

    def forward(self, x: Any) -> Any:
        for conv in self.convs:
            h, w = x.shape[2:]
            ph, pw = h % 2, w % 2
            if not (ph or pw):
                x = x
            else:
                x = F.pad(x, (0, pw, 0, ph))
            x = conv(x)
        return x


class CroppedBack(nn.Module):
    """CPUBone's attention block: a pad to the stride where either axis is odd, a strided projection, an
    upsample and a crop back to the input's size, added to the input; three blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.downs = nn.ModuleList(nn.Conv2d(1, 1, 2, stride=2) for _ in range(3))

    def forward(self, x: Any) -> Any:
        for down in self.downs:
            h, w = x.shape[-2:]
            pad_h, pad_w = (-h) % 2, (-w) % 2
            y = x
            if pad_h or pad_w:
                y = F.pad(y, (0, pad_w, 0, pad_h))
            y = F.interpolate(down(y), scale_factor=2.0, mode="nearest")
            x = x + y[..., :h, :w]
        return x


class ThreeThenFive(nn.Module):
    """Padded to a multiple of 3, then of 5, where either axis needs it: the sample pads at both stages, and
    H = W = 12 at neither (the branches below that see each other's sides, without their flags)."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 3, stride=2) for _ in range(2))

    def forward(self, x: Any) -> Any:
        for conv, m in zip(self.convs, (3, 5), strict=True):
            x = conv(_pad_to(x, m))
        return x


READ = [SixStages, StagesByThree, EitherOrElse, CroppedBack, ThreeThenFive]


@pytest.mark.parametrize("model", READ, ids=lambda model: model.__name__)
def test_stages_that_each_branch_are_read_exactly(model: type[nn.Module]) -> None:
    built = model().eval()
    assert _wrong(built, from_torch(built, (1, 1, "H", "W"))) == []


# Branches that can see each other's sides through Python's own values: read exactly or refused, never misread.
# Each pads to a multiple of 3, then of 5, where either axis needs it (the sample, 256, pads at both stages), and
# computes more only where no stage padded (H = W = 12): a mix of sides that no single flip of a side shows.


class Flagged(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 3, stride=2) for _ in range(2))
        self.extra = nn.Conv2d(1, 1, 2)

    def forward(self, x: Any) -> Any:
        padded = 0
        for conv, m in zip(self.convs, (3, 5), strict=True):
            h, w = x.shape[2:]
            if h % m or w % m:
                x = F.pad(x, (0, (-w) % m, 0, (-h) % m))
                padded = padded + 1
            x = conv(x)
        if padded == 0:
            x = self.extra(x)
        return x


class Logged(Flagged):
    """The flag kept in a list a call appends to: a value dropped."""

    def forward(self, x: Any) -> Any:
        log: list[int] = []
        for conv, m in zip(self.convs, (3, 5), strict=True):
            h, w = x.shape[2:]
            if h % m or w % m:
                x = F.pad(x, (0, (-w) % m, 0, (-h) % m))
                log.append(1)
            x = conv(x)
        if not log:
            x = self.extra(x)
        return x


class Stored(Flagged):
    """The flag kept in an attribute."""

    def forward(self, x: Any) -> Any:
        self.padded = False
        for conv, m in zip(self.convs, (3, 5), strict=True):
            h, w = x.shape[2:]
            if h % m or w % m:
                x = F.pad(x, (0, (-w) % m, 0, (-h) % m))
                self.padded = True
            x = conv(x)
        if not self.padded:
            x = self.extra(x)
        return x


class Chosen(Flagged):
    """Whether to pad chosen by a conditional expression: a value left for the assignment."""

    def forward(self, x: Any) -> Any:
        total = 0
        for conv, m in zip(self.convs, (3, 5), strict=True):
            h, w = x.shape[2:]
            odd = 1 if (h % m or w % m) else 0
            if odd:
                x = F.pad(x, (0, (-w) % m, 0, (-h) % m))
            total = total + odd
            x = conv(x)
        if total == 0:
            x = self.extra(x)
        return x


class BothOdd(nn.Module):
    """Pads both axes only where both are odd: where one is odd, the other side pads nothing, which the
    padding side does not do."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 2, stride=2) for _ in range(2))

    def forward(self, x: Any) -> Any:
        for conv in self.convs:
            h, w = x.shape[2:]
            if h % 2 == 1 and w % 2 == 1:
                x = F.pad(x, (0, 1, 0, 1))
            x = conv(x)
        return x


class Walrus(nn.Module):
    """A name bound inside the condition, after its first question: only some paths bind it."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 2, stride=2) for _ in range(2))

    def forward(self, x: Any) -> Any:
        seen = 0
        for conv in self.convs:
            h, w = x.shape[2:]
            if h % 2 or (seen := w % 2):
                x = F.pad(x, (0, w % 2, 0, h % 2))
            x = conv(F.pad(x, (0, seen, 0, 0)))
        return x


NEVER_MISREAD = [Flagged, Logged, Stored, Chosen, BothOdd, Walrus]


@pytest.mark.parametrize("model", NEVER_MISREAD, ids=lambda model: model.__name__)
def test_branches_that_see_each_other_are_never_misread(model: type[nn.Module]) -> None:
    built = model().eval()
    assert any(_run(built, sizes) is not None for sizes in _grid(("H", "W"), TOP))
    try:
        net = from_torch(built, (1, 1, "H", "W"))
    except SymconvError as refusal:
        assert "branches on sizes" in str(refusal) or "torch.fx" in str(refusal)
        return
    assert _wrong(built, net) == []


def test_a_flag_dropped_call_or_attribute_makes_a_statement_not_local() -> None:
    """The bytecode reading itself: which if statements only rebind traced tensors and call only torch."""

    def sides(x: Any, h: Any, w: Any, log: list[int], seen: dict[str, Any]) -> Any:
        if h % 2 or w % 2:  # rebinds x
            x = F.pad(x, (0, 1))
        if h % 3:  # sets a flag
            x = F.pad(x, (0, 1))
            odd = True  # noqa: F841
        if h % 5:  # drops a call's value
            log.append(1)
        p = 1 if h % 7 else 0  # a value for the assignment
        if h % 11:  # stores through a call that changes a dict
            x = seen.setdefault("x", x)
        if h % 13:  # rebinds a size
            h = h + 1
        return x, p

    code = sides.__code__
    import dis

    jumps = [i.offset for i in dis.get_instructions(code) if i.opname.startswith("POP_JUMP")]

    def holds_tensor(name: str) -> bool:
        return name == "x"

    def harmless(load: tuple[str, ...]) -> bool:
        return load[1] in ("x", "h", "w") or load[1:] == ("F", "pad")

    # the first jump opens the `or`; its second question continues it
    assert local(code, jumps[0], holds_tensor, harmless) and local(code, jumps[1], holds_tensor, harmless)
    assert not local(code, jumps[0], lambda name: False, harmless)  # x holds no traced tensor: state
    assert not local(code, jumps[0], holds_tensor, lambda load: False)  # F.pad taken for a call with effects
    assert [local(code, offset, holds_tensor, harmless) for offset in jumps[2:]] == [False] * 5


def test_a_path_read_instead_names_each_branch_once() -> None:
    """Reading in turn the path that makes more, stage after stage, names the branches taken the other way
    once each, not nested per stage."""
    from symconv.nets.importers.branches import Decision, Guarded
    from symconv.nets.importers.sides import _read_instead

    guarded = Guarded(None, (), (1, 1, 256, 256), "at H=W=256 (the traced path)")
    for where in ("m.py:12", "m.py:12", "m.py:30"):
        guarded = Guarded(None, (), guarded.shape, _read_instead(guarded, Decision(where, "", True)))
    assert (
        guarded.sample
        == "on the path read, which takes the branches at m.py:12, m.py:30 the other way from H=W=256"
    )


def test_the_questions_of_one_condition_are_one_chain() -> None:
    """`or`, `and` and `not (a or b)` each ask their questions as one chain; a loop's condition and a
    conditional expression are no local statement."""
    import dis

    from symconv.nets.importers.statements import continues, statement

    def conditions(x: Any, a: Any, b: Any, c: Any) -> Any:
        if a or b or c:
            x = x + 1
        if a and b:
            x = x + 2
        if not (a or b):
            x = x + 3
        while a > 1:
            a = a - 1
        return x

    code = conditions.__code__
    jumps = [i.offset for i in dis.get_instructions(code) if i.opname.startswith("POP_JUMP")]
    assert statement(code, jumps[0]).chain == tuple(jumps[:3])
    assert continues(code, jumps[0], jumps[2]) and not continues(code, jumps[0], jumps[3])
    assert statement(code, jumps[3]).chain == tuple(jumps[3:5])
    assert statement(code, jumps[5]).chain == tuple(jumps[5:7])
    assert all(statement(code, offset).stores == frozenset({"x"}) for offset in jumps[:7])
    assert statement(code, jumps[7]).stores is None  # the loop's condition
