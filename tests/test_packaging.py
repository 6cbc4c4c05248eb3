"""The theorem corpus ships with symconv: in the wheel, and found from any directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from symconv.cli import main
from symconv.logic.corpus import corpus_dir

from .conftest import ROOT


def test_the_wheel_carries_the_corpus(tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    source = tmp_path / "source"
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(".git", "*cache*", ".hypothesis", "build", "*.egg-info")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("symconv-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for theorem_file in sorted((ROOT / "proofs").glob("*.toml")):
        assert f"symconv/proofs/{theorem_file.name}" in names


def test_ids_are_found_outside_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SYMCONV_PROOFS", raising=False)
    assert (corpus_dir() / "paper.toml").is_file()
    assert main(["latex", "R14"]) == 0
    assert "R14" in capsys.readouterr().out
    assert main(["prove", "R3", "--json"]) == 0


def test_symconv_proofs_chooses_the_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mine.toml").write_text('[[theorem]]\nid = "M1"\nclaim = "i >= i"\n')
    monkeypatch.setenv("SYMCONV_PROOFS", str(tmp_path))
    assert main(["prove", "M1"]) == 0
    monkeypatch.setenv("SYMCONV_PROOFS", str(tmp_path / "nowhere"))
    assert main(["prove", "M1"]) == 2
    assert "SYMCONV_PROOFS=" in capsys.readouterr().err
