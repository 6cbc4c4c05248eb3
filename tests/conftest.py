"""Shared fixtures: the repository root, so tests find proofs/ wherever pytest is started; the Hypothesis
profiles; the tools TeX tests need."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent

# Where the suite runs in several processes (pytest-xdist), each uses one thread for torch's and numpy's
# kernels: the processes already share the cores, and threads on top of them only contend.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(variable, "1")

# One Hypothesis profile for every property test: no deadline (a solver call's time varies with the machine's
# load), no example database (runs do not depend on what an earlier run saved and write nothing into the
# repository), each test's own max_examples, and the same examples on every run, so a suite that passed passes
# again. `SYMCONV_HYPOTHESIS=explore` draws new examples each run instead (to look for new failures).
settings.register_profile(
    "symconv",
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.register_profile("explore", settings.get_profile("symconv"), derandomize=False)
settings.load_profile("explore" if os.environ.get("SYMCONV_HYPOTHESIS") == "explore" else "symconv")


@pytest.fixture
def root() -> Path:
    return ROOT


def require_tool(name: str) -> str:
    """The path of a command-line tool the test needs (pdflatex, pdftotext, ...).

    A missing tool fails the test rather than skipping it: CI installs TeX Live and poppler-utils (.ci/run),
    so a skip there would hide a broken set-up. Set SYMCONV_SKIP_TEX=1 to skip on a machine without them.
    """
    import shutil

    path = shutil.which(name)
    if path is None:
        if os.environ.get("SYMCONV_SKIP_TEX") == "1":
            pytest.skip(f"{name} is not installed (SYMCONV_SKIP_TEX=1)")
        pytest.fail(f"{name} is not installed; .ci/run installs it (apt-get install texlive-* poppler-utils)")
    return path
