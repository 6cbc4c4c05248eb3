"""Sets of integers as finite unions of periodic intervals: {x in [lo, hi] : x mod period in residues}.

The solver's answers live here: an interval with an open end (None) where there is no bound, a residue class
where a constraint such as ``k % 2 == 1`` holds, a union where a condition has an ``or``. Members are never
enumerated to build a set; they are listed only on request, up to a limit.

>>> odd = Piece(1, None, 2, (1,))
>>> IntSet((odd,)).intersect(IntSet.interval(None, 7)).members(10)
[1, 3, 5, 7]
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass

MAX_PERIOD = 1_000_000


@dataclass(frozen=True)
class Piece:
    """{x : lo <= x <= hi, x mod period in residues}; lo or hi None means no bound on that side.

    The residues are sorted, distinct and in [0, period) (`Piece.of` makes them so from any residues; every
    operation here keeps them so), which finds the least and greatest members by bisection: a run of 2**17
    residues modulo 2**18 is common on the way to a deep U-Net's valid set, and checking the order at each
    construction would cost as much as the scan it saves."""

    lo: int | None
    hi: int | None
    period: int = 1
    residues: tuple[int, ...] = (0,)

    @staticmethod
    def of(lo: int | None, hi: int | None, period: int, residues: tuple[int, ...]) -> Piece:
        """A piece from any residues: reduced modulo the period, sorted, repeats dropped."""
        return Piece(lo, hi, period, tuple(sorted({r % period for r in residues})))

    def is_empty(self) -> bool:
        if not self.residues:
            return True
        if self.lo is not None and self.hi is not None:
            if self.lo > self.hi:
                return True
            if self.hi - self.lo + 1 < self.period:
                return self.first() is None
        return False

    def first(self) -> int | None:
        """The least member (None when there is none or no lower bound)."""
        if self.lo is None or not self.residues:
            return None
        base, offset = divmod(self.lo, self.period)
        at = bisect.bisect_left(
            self.residues, offset
        )  # the least residue >= lo's, else the least in the next period
        x = (
            base * self.period + self.residues[at]
            if at < len(self.residues)
            else (base + 1) * self.period + self.residues[0]
        )
        return x if self.hi is None or x <= self.hi else None

    def last(self) -> int | None:
        if self.hi is None or not self.residues:
            return None
        base, offset = divmod(self.hi, self.period)
        at = bisect.bisect_right(
            self.residues, offset
        )  # the greatest residue <= hi's, else the previous period's
        x = base * self.period + self.residues[at - 1] if at else (base - 1) * self.period + self.residues[-1]
        return x if self.lo is None or x >= self.lo else None

    def tight(self) -> Piece:
        """The same set with lo and hi moved onto members."""
        if self.is_empty():
            return EMPTY_PIECE
        lo = self.first() if self.lo is not None else None
        hi = self.last() if self.hi is not None else None
        if lo is not None and hi is not None and hi - lo < self.period:
            # At most one member per residue (found from the residues, not by walking the interval, which
            # may be as long as the period): a plain interval when the members are consecutive.
            members = {lo + (r - lo) % self.period for r in self.residues}
            if len({m for m in members if m <= hi}) == hi - lo + 1:
                return Piece(lo, hi)
        return Piece(lo, hi, self.period, self.residues)

    def count(self) -> int | None:
        if self.is_empty():
            return 0
        if self.lo is None or self.hi is None:
            return None
        return sum((self.hi - r) // self.period - (self.lo - 1 - r) // self.period for r in self.residues)

    def __iter__(self) -> Iterator[int]:
        start = self.first()
        if start is None:
            if self.lo is None and not self.is_empty():
                raise ValueError("a set with no lower bound cannot be listed from its least member")
            return
        base = start - start % self.period
        while True:
            for r in self.residues:
                x = base + r
                if x < start:
                    continue
                if self.hi is not None and x > self.hi:
                    return
                yield x
            base += self.period


EMPTY_PIECE = Piece(1, 0)


def _lcm(a: int, b: int) -> int:
    return a * b // math.gcd(a, b)


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def _min(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _common_residues(a: Piece, b: Piece, period: int) -> tuple[int, ...]:
    """The residues modulo `period` (the lcm of the two periods) in both pieces' classes."""
    for fine, coarse in ((a, b), (b, a)):
        if fine.period == period:
            # One period divides the other: a filter of the finer residues, however many they are.
            held = set(coarse.residues)
            return tuple(r for r in fine.residues if r % coarse.period in held)
    if min(len(a.residues) * len(b.residues), period) > MAX_PERIOD:
        raise OverflowError(
            f"the common residues of {len(a.residues):,} classes modulo {a.period:,} and {len(b.residues):,} "
            f"modulo {b.period:,} are too many to compute (period {period:,})"
        )
    if len(a.residues) * len(b.residues) >= period:
        ra, rb = set(a.residues), set(b.residues)
        return tuple(r for r in range(period) if r % a.period in ra and r % b.period in rb)
    # Few residue pairs (a network's valid set splits into thousands of one-residue pieces): the Chinese
    # remainder theorem per pair instead of a walk over the whole period.
    g = math.gcd(a.period, b.period)
    m, n = a.period // g, b.period // g
    inverse = pow(m, -1, n)
    found = set()
    for x in a.residues:
        for y in b.residues:
            if (y - x) % g == 0:
                found.add((x + a.period * ((y - x) // g * inverse % n)) % period)
    return tuple(sorted(found))


def _meet(a: Piece, b: Piece) -> Piece:
    period = _lcm(a.period, b.period)
    residues = _common_residues(a, b, period)
    return Piece(_max(a.lo, b.lo), _min(a.hi, b.hi), period, residues).tight()


def _pairs(left: tuple[Piece, ...], right: tuple[Piece, ...]) -> Iterator[tuple[Piece, Piece]]:
    """The pairs of pieces whose meet may be non-empty: x = ra (mod La) and x = rb (mod Lb) have a common
    solution only when ra = rb modulo gcd(La, Lb). Indexed by that residue, two unions of thousands of
    one-residue pieces (a network's valid set, split per residue class) cost about their sizes, not their
    product."""
    groups: dict[int, list[Piece]] = {}
    for piece in right:
        groups.setdefault(piece.period, []).append(piece)
    indexes: dict[tuple[int, int], dict[int, list[int]]] = {}
    for a in left:
        for period, pieces in groups.items():
            g = math.gcd(a.period, period)
            if g == 1 or len(pieces) == 1:
                yield from ((a, b) for b in pieces)
                continue
            index = indexes.get((period, g))
            if index is None:
                index = indexes[(period, g)] = {}
                for position, b in enumerate(pieces):
                    for r in {r % g for r in b.residues}:
                        index.setdefault(r, []).append(position)
            hits = sorted({n for r in {r % g for r in a.residues} for n in index.get(r, ())})
            yield from ((a, pieces[n]) for n in hits)


@dataclass(frozen=True)
class IntSet:
    """A finite union of pieces (they may overlap; members() removes repeats)."""

    pieces: tuple[Piece, ...]

    @staticmethod
    def interval(lo: int | None, hi: int | None) -> IntSet:
        if lo is not None and hi is not None and lo > hi:
            return IntSet(())
        return IntSet((Piece(lo, hi),))

    @staticmethod
    def everything() -> IntSet:
        return IntSet((Piece(None, None),))

    @staticmethod
    def nothing() -> IntSet:
        return IntSet(())

    @staticmethod
    def residue_class(period: int, residues: tuple[int, ...]) -> IntSet:
        return IntSet((Piece.of(None, None, period, residues),)).normal()

    def normal(self) -> IntSet:
        if len(self.pieces) == 1 and self.pieces[0].period == 1 and self.pieces[0].residues:
            only = self.pieces[0]
            return self if only.lo is None or only.hi is None or only.lo <= only.hi else IntSet(())
        pieces = [p.tight() for p in self.pieces if not p.is_empty()]
        plain = sorted((p for p in pieces if p.period == 1), key=lambda p: (p.lo is not None, p.lo or 0))
        merged: list[Piece] = []
        for piece in plain:
            # Overlapping or adjacent intervals become one.
            if merged and (merged[-1].hi is None or piece.lo is None or piece.lo <= merged[-1].hi + 1):
                last = merged[-1]
                hi = None if last.hi is None or piece.hi is None else max(last.hi, piece.hi)
                merged[-1] = Piece(last.lo, hi)
            else:
                merged.append(piece)
        return IntSet(tuple(dict.fromkeys(merged + [p for p in pieces if p.period != 1])))

    def is_empty(self) -> bool:
        return not self.pieces

    def intersect(self, other: IntSet) -> IntSet:
        if (
            len(self.pieces) == 1 == len(other.pieces)
            and self.pieces[0].period == 1 == other.pieces[0].period
            and self.pieces[0].residues
            and other.pieces[0].residues
        ):
            # The common case on the solver's hot path: two plain intervals.
            a, b = self.pieces[0], other.pieces[0]
            return IntSet.interval(_max(a.lo, b.lo), _min(a.hi, b.hi))
        return IntSet(tuple(_meet(a, b) for a, b in _pairs(self.pieces, other.pieces))).normal()

    def union(self, other: IntSet) -> IntSet:
        return IntSet(self.pieces + other.pieces).normal()

    def complement(self) -> IntSet:
        result = IntSet.everything()
        for piece in self.pieces:
            outside = []
            if piece.lo is not None:
                outside.append(Piece(None, piece.lo - 1))
            if piece.hi is not None:
                outside.append(Piece(piece.hi + 1, None))
            if piece.period > MAX_PERIOD:
                raise OverflowError(f"the complement of a class modulo {piece.period:,} is too large to list")
            others = tuple(r for r in range(piece.period) if r not in piece.residues)
            if others:
                outside.append(Piece(piece.lo, piece.hi, piece.period, others))
            result = result.intersect(IntSet(tuple(outside)).normal())
        return result

    @property
    def lo(self) -> int | None:
        """The least member; None when unbounded below or empty."""
        firsts = [p.first() for p in self.pieces]
        return (
            None if not firsts or any(f is None for f in firsts) else min(f for f in firsts if f is not None)
        )

    @property
    def hi(self) -> int | None:
        lasts = [p.last() for p in self.pieces]
        return None if not lasts or any(x is None for x in lasts) else max(x for x in lasts if x is not None)

    def bounded(self) -> bool:
        return all(p.lo is not None and p.hi is not None for p in self.pieces)

    def bounded_below(self) -> bool:
        return all(p.lo is not None for p in self.pieces)

    def count(self) -> int | None:
        """Exact number of members, None when infinite."""
        if not self.bounded():
            return None
        if len(self.pieces) == 1:
            return self.pieces[0].count()
        disjoint = all(
            _meet(a, b).is_empty() for n, a in enumerate(self.pieces) for b in self.pieces[n + 1 :]
        )
        if disjoint:
            return sum(p.count() or 0 for p in self.pieces)
        return sum(1 for _ in self.iterate())

    def iterate(self) -> Iterator[int]:
        """Members in increasing order, without repeats (the set must be bounded below)."""
        previous = None
        for x in heapq.merge(*self.pieces):
            if x != previous:
                yield x
                previous = x

    def members(self, limit: int) -> list[int]:
        """Up to `limit` least members."""
        out: list[int] = []
        for x in self.iterate():
            if len(out) >= limit:
                break
            out.append(x)
        return out

    def __contains__(self, x: int) -> bool:
        return any(
            (p.lo is None or x >= p.lo) and (p.hi is None or x <= p.hi) and x % p.period in p.residues
            for p in self.pieces
        )

    def describe(self) -> list[dict[str, object]]:
        """JSON-ready pieces: from/to (None for an open end), and period/residues when not every integer."""
        out: list[dict[str, object]] = []
        for p in self.pieces:
            item: dict[str, object] = {"from": p.lo, "to": p.hi}
            if p.period > 1:
                item.update(period=p.period, residues=list(p.residues))
            out.append(item)
        return out
