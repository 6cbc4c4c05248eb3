"""Sets of integers (symconv.core.intset) and the residue classes of congruences, against brute force.

Every operation is compared with the same operation on Python sets over a window of integers wide enough to hold
several periods, and every piece it returns keeps the residue invariant the bisection in first()/last() relies
on (sorted, distinct, in [0, period)).
"""

from __future__ import annotations

import itertools
import random

import pytest

from symconv.core.intset import IntSet, Piece
from symconv.logic.periodic import _solutions

WINDOW = range(-90, 90)


def random_piece(rng: random.Random) -> Piece:
    period = rng.randint(1, 12)
    residues = tuple(rng.sample(range(-15, 30), rng.randint(1, 5)))
    lo = rng.choice([None, rng.randint(-40, 40)])
    hi = rng.choice([None, rng.randint(-40, 60)])
    return Piece.of(lo, hi, period, residues)


def members(piece: Piece) -> set[int]:
    """The piece's members in the window, by its definition."""
    return {
        x
        for x in WINDOW
        if (piece.lo is None or x >= piece.lo)
        and (piece.hi is None or x <= piece.hi)
        and x % piece.period in set(piece.residues)
    }


def in_window(s: IntSet) -> set[int]:
    return set(s.intersect(IntSet.interval(WINDOW.start, WINDOW.stop - 1)).members(10_000))


def assert_normal(s: IntSet) -> None:
    for piece in s.pieces:
        r = piece.residues
        assert list(r) == sorted(set(r)), piece
        assert not r or (r[0] >= 0 and r[-1] < piece.period), piece


@pytest.mark.parametrize("seed", range(4))
def test_first_last_count_and_listing_agree_with_the_definition(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(600):
        raw = tuple(rng.sample(range(-15, 30), rng.randint(1, 5)))
        period = rng.randint(1, 12)
        lo, hi = rng.choice([None, rng.randint(-40, 40)]), rng.choice([None, rng.randint(-40, 60)])
        piece = Piece.of(lo, hi, period, raw)
        assert set(piece.residues) == {r % period for r in raw}
        wanted = sorted(
            x
            for x in WINDOW
            if (lo is None or x >= lo) and (hi is None or x <= hi) and x % period in {r % period for r in raw}
        )
        assert piece.first() == (wanted[0] if wanted and lo is not None else None), piece
        assert piece.last() == (wanted[-1] if wanted and hi is not None else None), piece
        if lo is not None and hi is not None:
            assert piece.count() == len(wanted), piece
        if lo is not None:
            listed = [x for x in itertools.islice(piece, 20) if x < WINDOW.stop]
            assert listed == wanted[: len(listed)] and len(listed) == min(20, len(wanted)), piece


@pytest.mark.parametrize("seed", range(4))
def test_intersection_union_complement_agree_with_python_sets(seed: int) -> None:
    rng = random.Random(100 + seed)
    for _ in range(300):
        a = IntSet((random_piece(rng), random_piece(rng))).normal()
        b = IntSet((random_piece(rng),)).normal()
        ma = set().union(*(members(p) for p in a.pieces))
        mb = set().union(*(members(p) for p in b.pieces))
        meet, join = a.intersect(b), a.union(b)
        assert in_window(meet) == ma & mb
        assert in_window(join) == ma | mb
        assert in_window(b.complement()) == set(WINDOW) - mb
        for made in (meet, join, b.complement()):
            assert_normal(made)


@pytest.mark.parametrize("seed", range(3))
def test_congruence_classes_agree_with_brute_force(seed: int) -> None:
    """{x : c*floor((x + b)/g) + k == 0 (mod m)}: a run of g residues modulo g*m/gcd(c, m), around the period's
    end where it passes it."""
    rng = random.Random(200 + seed)
    for _ in range(800):
        c, k, m = rng.randint(-6, 6), rng.randint(-20, 20), rng.randint(1, 9)
        g, b = rng.randint(1, 9), rng.randint(-12, 12)
        found = _solutions(c, k, m, g, b)
        wanted = {x for x in WINDOW if (c * ((x + b) // g) + k) % m == 0}
        assert (set(WINDOW) if found is None else in_window(found)) == wanted, (c, k, m, g, b)
        if found is not None:
            assert_normal(found)


def test_a_long_run_of_residues_is_found_by_bisection() -> None:
    """2**17 residues modulo 2**18 (x mod 2**18 in [2**17 - 5, 2**18 - 5)): the least and greatest members of
    any window."""
    period, run = 2**18, 2**17
    piece = Piece.of(None, None, period, tuple(range(run - 5, period - 5)))
    for lo in (0, run - 6, run - 5, period - 6, period - 5, period + 3, 7 * period + run):
        bounded = Piece(lo, lo + 3 * period, period, piece.residues)
        x = next(x for x in itertools.count(lo) if x % period in range(run - 5, period - 5))
        assert bounded.first() == x
        y = next(y for y in itertools.count(lo + 3 * period, -1) if y % period in range(run - 5, period - 5))
        assert bounded.last() == y
