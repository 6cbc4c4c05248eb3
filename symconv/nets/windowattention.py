"""Shifted window attention (Swin) along one axis: the output size and which positions each output reads.

torchvision's ``shifted_window_attention`` (models/swin_transformer.py) takes a (batch, H, W, C) tensor and, on
each spatial axis of size n with window w and shift s:
- pads the end with zeros up to P, the next multiple of w (P = ceil(n / w) * w);
- sets the shift to 0 where w >= P (torchvision's rule, decided at each input size);
- rolls by -s, so rolled position r holds position (r + s) mod P;
- attends within windows of w rolled positions; when some axis shifts, a mask keeps a pair of tokens only
  where their regions match on every axis. An axis' regions are the labels torchvision's mask gives its
  rolled positions, slices (0, -w), (-w, -s), (-s, None) in that order, a later slice overwriting an earlier
  one: [0, P - w), [P - w, P - s), [P - s, P) for 0 < s < w, a single region for s = 0;
- rolls back by s and crops to n.

So the output size is the input size, at every size, and output position p reads exactly the positions of its
group: the positions whose rolled windows and regions are p's. Groups of positions of the padding (n <= q < P)
read zeros, which count as padding (as a convolution's padding taps do). The attention is separable: a
token reads another iff they share a group on every axis.

torchvision's mask adds -100 to the scores of pairs in different regions, not -inf: such a pair weighs exp(-100),
about 4e-44, times what the same score weighs inside a region. Unless the scores differ by tens, no float64
output changes with it; the fields follow the mask (the regions the model is built to keep apart).

>>> [group(ShiftedWindows(4, 2), 10, q) for q in (0, 2, 9, 10)]
[range(0, 2), range(2, 6), range(6, 10), range(10, 12)]
>>> group(ShiftedWindows(7, 3), 5, 4)
range(0, 7)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..core.errors import SpecError


@dataclass(frozen=True)
class ShiftedWindows:
    """Window attention along one axis: windows of `window` positions, shifted by `shift` (0: plain windows)."""

    window: int
    shift: int = 0

    def __post_init__(self) -> None:
        if not (isinstance(self.window, int) and self.window >= 1 and isinstance(self.shift, int)):
            raise SpecError(
                f"window attention needs a window of at least 1 and an integer shift, got window={self.window!r}, "
                f"shift={self.shift!r}"
            )
        if self.shift < 0:
            raise SpecError(f"window attention with a negative shift ({self.shift}) is not modelled")


def padded(entry: ShiftedWindows, n: int) -> int:
    """P: the size n padded up to a multiple of the window."""
    return -(-n // entry.window) * entry.window


def shift_at(entry: ShiftedWindows, n: int) -> int:
    """The shift at size n: 0 where the window covers the padded axis (w >= P), else the shift."""
    return 0 if entry.window >= padded(entry, n) else entry.shift


def group(entry: ShiftedWindows, n: int, q: int) -> range:
    """The positions output position q reads at input size n: its group for 0 <= q < P (positions n .. P - 1
    are the zero padding), q itself outside (a padding position passes through, as a constant pad's does).
    SpecError where the group is not an interval (a shift of at least P wraps inside a window)."""
    groups = _groups(entry.window, shift_at(entry, n), padded(entry, n))
    if not 0 <= q < len(groups):
        return range(q, q + 1)
    found = groups[q]
    if found is None:
        raise SpecError(
            f"window attention with window {entry.window} and shift {entry.shift} at size {n}: a window wraps "
            "around the axis, so the positions an output reads are not an interval (receptive fields need one)"
        )
    return found


@lru_cache(maxsize=1024)
def _groups(window: int, shift: int, size: int) -> tuple[range | None, ...]:
    """The group of each position 0 .. size - 1 (None where the group is not an interval), as torchvision
    labels them: in rolled coordinates r = (q - shift) mod size, the window r // window and the region."""
    region = [0] * size
    for label, part in enumerate((slice(0, -window), slice(-window, -shift), slice(-shift, None))):
        for r in range(size)[part]:
            region[r] = label
    members: dict[tuple[int, int], list[int]] = {}
    for q in range(size):
        r = (q - shift) % size
        members.setdefault((r // window, region[r]), []).append(q)
    out: list[range | None] = [None] * size
    for found in members.values():
        span = range(found[0], found[-1] + 1)
        for q in found:
            out[q] = span if len(span) == len(found) else None
    return tuple(out)


__all__ = ["ShiftedWindows", "group", "padded", "shift_at"]
