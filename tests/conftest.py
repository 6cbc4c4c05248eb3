"""Shared fixtures: the repository root, so tests find proofs/ wherever pytest is started."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def root() -> Path:
    return ROOT
