"""Where the theorem corpus is: $SYMCONV_PROOFS, else ./proofs, else the copy installed with symconv.

The wheel carries proofs/*.toml as the package ``symconv.proofs``, so ``symconv prove`` and ``symconv latex R14``
work from any directory after ``pip install``; a source checkout finds the repository's own proofs/.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..core.errors import SpecError


def corpus_dir() -> Path:
    """The directory of theorem files ids are looked up in (SpecError if there is none)."""
    chosen = os.environ.get("SYMCONV_PROOFS")
    if chosen:
        if not Path(chosen).is_dir():
            raise SpecError(f"SYMCONV_PROOFS={chosen} is not a directory of theorem files")
        return Path(chosen)
    for candidate in (Path("proofs"), _installed(), Path(__file__).resolve().parents[2] / "proofs"):
        if candidate is not None and candidate.is_dir() and any(candidate.glob("*.toml")):
            return candidate
    raise SpecError("no theorem corpus: set SYMCONV_PROOFS, run where ./proofs is, or reinstall symconv")


def _installed() -> Path | None:
    """proofs/ as installed in the wheel (the package symconv.proofs), if it is."""
    from importlib.util import find_spec

    try:
        spec = find_spec("symconv.proofs")
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(locations[0]) if locations else None


__all__ = ["corpus_dir"]
