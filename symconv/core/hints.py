"""The names a mistyped one may mean, for error messages (nn.conv2d -> nn.Conv2d, strides -> stride)."""

from __future__ import annotations

from collections.abc import Iterable


def closest(word: str, choices: Iterable[str], cutoff: float = 0.7, n: int = 1) -> list[str]:
    """The `n` choices most like `word` (difflib's ratio at least `cutoff`), best first; difflib is loaded only
    when a message needs it."""
    import difflib

    return difflib.get_close_matches(word, list(choices), n=n, cutoff=cutoff)


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.7) -> str:
    """ "did you mean X?" for the closest choice, or "" when none is close."""
    found = closest(word, choices, cutoff)
    return f"did you mean {found[0]}?" if found else ""
