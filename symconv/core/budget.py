"""One wall-clock budget per command: every solver call and every long loop reads what is left of it.

The budget is a deadline held in a context variable, so a command sets it once (`limit`) and the prover, the
solver's enumeration and the network analysis honour it without a timeout threaded through every signature.
A context variable, not a global: threads and nested commands each see their own.

>>> with limit(5.0):
...     0 < remaining_ms(60_000) <= 5_000
True
>>> remaining_ms(60_000)
60000
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# When symconv was imported: a command's budget counts from here (see symconv/__init__.py).
STARTED = time.monotonic()
_DEADLINE: ContextVar[float | None] = ContextVar("symconv_deadline", default=None)


# The reason an answer gives when the budget ran out before it was decided.
TIME_BUDGET = "time budget ran out"


class OutOfTime(Exception):
    """The command's time budget ran out: an answer is "unknown (time budget)" with what was found so far."""

    def __init__(self, where: str = "") -> None:
        super().__init__(f"the time budget ran out{' ' + where if where else ''}")


@contextmanager
def limit(seconds: float, *, since: float | None = None, reserve: float = 0.0) -> Iterator[None]:
    """Within the block, the budget ends `seconds` after `since` (a time.monotonic() reading; default now),
    less `reserve` of it kept for reporting what was found, or earlier if an outer budget ends first."""
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"a time budget must be a finite positive number of seconds, got {seconds!r}")
    deadline = (time.monotonic() if since is None else since) + seconds * (1 - reserve)
    outer = _DEADLINE.get()
    token = _DEADLINE.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


@contextmanager
def alarm(grace: float = 0.1) -> Iterator[None]:
    """Within the block, interrupt pure-Python work (SymPy) that runs past the budget by `grace` seconds,
    raising OutOfTime: the soft checks cannot reach into a SymPy call. Only in the main thread (where
    signals are delivered) and where SIGALRM exists; elsewhere a no-op."""
    import signal
    import threading

    left = remaining()
    usable = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    if left is None or not usable:
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise OutOfTime("while computing")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, left + grace)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def remaining() -> float | None:
    """Seconds left (at least 0), or None when no budget is set."""
    deadline = _DEADLINE.get()
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def remaining_ms(cap_ms: int) -> int:
    """A solver call's timeout: `cap_ms`, or what is left of the budget if that is less (0: none left)."""
    left = remaining()
    return cap_ms if left is None else min(cap_ms, int(left * 1000))


def spent() -> bool:
    left = remaining()
    return left is not None and left <= 0


def check(where: str = "") -> None:
    """Raise OutOfTime when the budget has run out (long loops call this once per step)."""
    if spent():
        raise OutOfTime(where)
