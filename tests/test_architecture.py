"""The layers stay in order: import-linter's contracts (pyproject.toml) hold for the tree under test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import symconv

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("lint-imports") is None, reason="import-linter is not installed")
def test_the_import_contracts_hold() -> None:
    # The package under test (this tree), not whichever copy is installed.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(["lint-imports"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "5 kept, 0 broken" in done.stdout


def test_model_objects_render_through_the_export_layer() -> None:
    """A layer's notebook form comes from symconv.export.notebook, which no model module imports."""
    probe = (
        "import sys, symconv; made = symconv.layer('conv(k=3, s=2, p=1)'); "
        "print('symconv.export.notebook' in sys.modules); made._repr_latex_(); "
        "print('symconv.export.notebook' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    shown = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert shown.stdout.split() == ["False", "True"], shown.stderr
    latex = symconv.layer("conv(k=3, s=2, p=1)")._repr_latex_()
    assert latex is not None and latex.startswith("$\\displaystyle o = ")
