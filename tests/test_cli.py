"""The command line, in-process: contracts of design.md (JSON shapes, exit codes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sympy

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


def test_missed_expectation_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
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


# One size syntax: per-axis sizes separated by commas, as `shape --in`, in solve, latex and net --check.
def test_solve_takes_a_size_per_axis(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["solve", "conv(k=?, s=2, p=1)", "--in", "224,31", "--out", "112,16", "--json"], capsys)
    # k = 4 fits 224 -> 112 but gives 15 on 31: only k = 3 fits both axes.
    assert code == 0 and json.loads(out)["solutions"] == [{"k": 3}]
    code, out = run(["solve", "conv(k=3, s=2, p=1)", "--in", "?,?", "--out", "112,16", "--json"], capsys)
    assert code == 0 and json.loads(out)["unknowns"] == ["i1", "i2"]
    assert {(s["i1"], s["i2"]) for s in json.loads(out)["solutions"]} == {
        (223, 31),
        (224, 31),
        (223, 32),
        (224, 32),
    }
    code, out = run(["solve", "conv(k=?, s=2, p=1)", "--in", "224", "--out", "112,112", "--json"], capsys)
    assert code == 0 and json.loads(out)["solutions"] == [{"k": 3}, {"k": 4}]
    assert run(["solve", "conv(k=3, s=2, p=1)", "--in", "mod(j, 2) + 8", "--out", "?"], capsys)[0] == 0


def test_latex_takes_a_size_per_axis_and_keeps_unknowns_symbolic(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["latex", "conv(k=?, s=2, p=1)", "--in", "224,31", "--out", "112,16"], capsys)
    assert code == 0 and out.strip() == "\\[ k \\in \\{3\\} \\]"
    code, out = run(["latex", "conv(k=3, s=2, p=?)"], capsys)
    assert code == 0 and "2 p" in out and "\\lfloor" in out


def test_net_check_by_name_and_several_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["net", "conv(k=3, s=2)", "--input-shape", "1,3,H,W", "--check", "H=30,W=32"], capsys)
    assert code == 0 and "at H = 30, W = 32: output H -> 14, W -> 15" in out
    code, out = run(["net", "conv(k=3)", "--check", "32", "--check", "33", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and [c["output"] for c in data["checks"]] == [{"i": 30}, {"i": 31}]
    code, out = run(["net", "conv(k=3)", "--check", "32", "--check", "2"], capsys)
    assert code == 1 and "at i = 32: output i -> 30" in out and "at i = 2: node n1" in out


def test_net_check_and_at_take_one_size_for_every_axis_as_shape_in_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    net = ["net", "conv(k=3, s=2)", "--input-shape", "1,3,H,W", "--no-receptive-field"]
    assert run(["shape", "nn.Conv2d(3, 8, 3, stride=2)", "--in", "30"], capsys) == (0, "14\n")
    code, out = run([*net, "--check", "30"], capsys)
    assert code == 0 and "at H = 30, W = 30: output H -> 14, W -> 14" in out
    code, out = run([*net, "--at", "2"], capsys)
    assert code == 1 and "at H = 2, W = 2: node n1" in out
    # A fixed axis keeps its size: one size is every symbolic axis'.
    code, out = run(["net", "conv(k=3, s=2)", "--input-shape", "1,3,H,9", "--check", "30"], capsys)
    assert code == 0 and "at H = 30, W = 9: output H -> 14, W -> 4" in out


@pytest.mark.tex
def test_draw_scale_and_dpi(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import struct

    from .conftest import require_tool

    code, out = run(["draw", "conv(k=3, s=2, p=1)", "--in", "5", "--scale", "2"], capsys)
    assert code == 0 and "x=8mm, y=8mm" in out and "every node/.append style={scale=2}" in out
    require_tool("pdflatex")
    require_tool("pdftoppm")
    widths = {}
    for name, extra in (
        ("default", []),
        ("low", ["--dpi", "100"]),
        ("big", ["--scale", "2", "--dpi", "100"]),
    ):
        path = tmp_path / f"{name}.png"
        assert run(["draw", "conv(k=3, s=2, p=1)", "--in", "5", "-o", str(path), *extra], capsys)[0] == 0
        widths[name] = struct.unpack(">II", path.read_bytes()[16:24])[0]
    # 300 dpi by default: three times the pixels of 100 dpi; twice the scale, about twice the width.
    assert abs(widths["default"] - 3 * widths["low"]) <= 3
    assert 1.8 * widths["low"] <= widths["big"] <= 2.2 * widths["low"]


def test_solve_says_which_optimum_it_reports(capsys: pytest.CaptureFixture[str]) -> None:
    solve = ["solve", "conv(k=?, s=2, p=?)", "--in", "224", "--out", "112", "--max", "k=7"]
    code, out = run([*solve, "--maximize", "k"], capsys)
    assert code == 0 and out.splitlines()[-1] == "greatest k: 7, at k = 7, p = 3"
    code, out = run([*solve, "--minimize", "p"], capsys)
    assert code == 0 and out.splitlines()[-1] == "least p: 0, at k = 1, p = 0"


def test_human_output_resolves_the_cases_the_domain_decides(capsys: pytest.CaptureFixture[str]) -> None:
    # TensorFlow truncates toward zero: a case for negative numerators, which no defined size reaches.
    assert run(["shape", "tf.conv(k=3, s=2, p=valid)", "--in", "i"], capsys) == (0, "floor((i - 1)/2)\n")
    assert run(["shape", "tf.conv(k=(3, 5), s=2, p=valid)", "--in", "i,j"], capsys) == (
        0,
        "floor((i - 1)/2), floor((j - 3)/2)\n",
    )
    code, out = run(["shape", "tf.conv(k=3, s=2, p=valid)", "--in", "i", "--json"], capsys)
    assert code == 0 and json.loads(out)["output"].startswith("Piecewise(")  # JSON keeps every case
    code, out = run(["net", "tf.conv(k=3, s=2, p=valid) > tf.maxpool(k=2, s=2, p=valid)"], capsys)
    assert code == 0 and out.splitlines()[0] == "output size: i -> floor((i - 1)/4)"
    assert run(["shape", "tf.conv(k=3, s=2, p=p)", "--in", "i"], capsys) == (0, "p + floor((i - 1)/2)\n")


def test_resolved_cases_agree_with_the_layer_on_its_domain() -> None:
    from symconv import layer, symbol
    from symconv.core.arith import evaluate
    from symconv.logic.ondomain import on_domain

    i = symbol("i")
    for spec in [
        "tf.conv(k=3, s=2, p=valid)",
        "tf.maxpool(k=4, s=3, p=valid)",
        "tf.conv(k=5, s=4, p=[(1, 0)])",
    ]:
        made = layer(spec)
        readable = on_domain(made.output_expr(i), [c for c, _ in made.conditions(i)])
        assert not readable.has(sympy.Piecewise), spec
        for size in range(1, 60):
            try:
                expected = made.output_size(size)
            except ValueError:
                continue
            assert evaluate(readable, {"i": size}) == expected, (spec, size)


def test_the_readme_network_file_gives_what_the_readme_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    text = (ROOT / "README.md").read_text()
    found = re.search(r"A network file, `skip\.toml`.*?\n```toml\n(.*?)```", text, re.S)
    assert found is not None
    (tmp_path / "skip.toml").write_text(found.group(1))
    monkeypatch.chdir(tmp_path)
    code, out = run(["net", "skip.toml", "--no-receptive-field"], capsys)
    assert code == 0
    assert out.splitlines()[:2] == [
        "output size: H -> H",
        "valid H: every H with H mod 2 = 0 (proved (unbounded))",
    ]


def test_a_command_process_defers_sympys_tensor_algebra_and_keeps_it_whole() -> None:
    """A command's process does not load sympy.tensor.tensor for SymPy's additions; a program that then asks
    for it gets the real module, whose tensor expressions add as before."""
    script = """
import sys
from symconv.cli import _defer_tensor_algebra
_defer_tensor_algebra()
import sympy
x = sympy.Symbol("x")
assert str(x + 1) == "x + 1" and "sympy.combinatorics" not in sys.modules
import sympy.tensor.tensor as deferred
from sympy.tensor.tensor import TensExpr, TensorHead, TensorIndexType, tensor_indices
L = TensorIndexType("L")
i, _ = tensor_indices("i j", L)
a, b = TensorHead("A", [L]), TensorHead("B", [L])
total = sympy.Add(a(i), b(i))
assert isinstance(total, TensExpr) and deferred.TensExpr is TensExpr and str(total) == "A(i) + B(i)"
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_a_network_defined_at_no_size_still_names_the_failing_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No receptive field exists (no size is valid); --at still names the node that fails and exits 1."""
    path = tmp_path / "nowhere.toml"
    path.write_text(
        'dims = ["H"]\n[[node]]\nname = "down"\nlayer = "conv(k=3)"\n'
        '[[node]]\nname = "join"\nop = "cat"\ninputs = ["down", "input"]\n'
    )
    assert main(["net", str(path), "--at", "H=8"]) == 1
    out = capsys.readouterr().out
    assert "valid H: no H" in out and "receptive field: none" in out
    assert "at H = 8: node join (cat) fails along H" in out
