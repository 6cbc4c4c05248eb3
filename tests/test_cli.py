"""The command line, in-process: contracts of design.md (JSON shapes, exit codes)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from symconv.cli import main

from .conftest import ROOT


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().out


def test_shape_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["shape", "conv(k=3, s=2, p=1)", "--in", "224", "--json"], capsys) == (0, '{"output": 112}\n')
    code, out = run(["shape", "torch.maxpool(k=3, s=2, ceil=true)", "--in", "224,31", "--json"], capsys)
    assert code == 0 and json.loads(out) == {"output": [112, 15]}


def test_shape_symbolic(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["shape", "conv(k=3, s=2, p=1)", "--in", "i"], capsys)
    assert code == 0 and "floor" in out and "i" in out


def test_shape_refused_by_the_convention_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["shape", "conv(k=5)", "--in", "3", "--json"], capsys)
    assert code == 2
    assert "effective kernel" in json.loads(out)["error"]


def test_prove_corpus_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["prove", str(ROOT / "proofs" / "paper.toml"), "--json"], capsys)
    data = json.loads(out)
    assert code == 0
    by_id = {row["id"]: row for row in data["theorems"]}
    assert by_id["R14"]["status"] == "proved" and by_id["R14"]["scope"] == "unbounded"
    assert by_id["R14"]["counterexample"] is None
    refuted = by_id["F-R6-ceil"]
    assert refuted["status"] == "refuted" and set(refuted["counterexample"]) == {"i", "k", "p", "s"}
    assert all(isinstance(row["seconds"], float) for row in data["theorems"])


def test_prove_by_id(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out = run(["prove", "R3", "R14", "--json"], capsys)
    assert code == 0
    assert [row["id"] for row in json.loads(out)["theorems"]] == ["R3", "R14"]


def test_prove_adhoc_claim_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["prove", "--given", "s >= 1", "--claim", "floor(i/s) <= ceil(i/s)"], capsys)[0] == 0
    code, out = run(["prove", "--given", "s >= 1", "--claim", "floor(i/s) == ceil(i/s)", "--json"], capsys)
    assert code == 1
    row = json.loads(out)["theorems"][0]
    assert row["status"] == "refuted" and row["counterexample"]["s"] >= 1


def test_prove_bound(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["prove", "--claim", "i*i >= 0", "--bound", "5", "--json"], capsys)
    assert code == 0
    assert json.loads(out)["theorems"][0]["scope"] == "bounded: every variable in [-5, 5]"


def test_missed_expectation_exits_1(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[[theorem]]\nid = "W"\ngiven = ["i >= 1"]\nclaim = "i >= 2"\n')
    code, out = run(["prove", str(wrong)], capsys)
    assert code == 1 and "MISSED" in out


def test_console_entry_points_run() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "symconv", "shape", "conv(k=3, s=2, p=1)", "--in", "224"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.strip() == "112"
