"""LaTeX export: the printer, the display simplifier, checked derivations, documents that compile."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sympy

import symconv
from symconv.cli import main
from symconv.core.arith import tidy
from symconv.core.parse import parse_condition, parse_expression
from symconv.export.derivation import DerivationError, derive
from symconv.export.document import (
    answer_latex,
    corpus_document,
    layer_block,
    theorem_block,
    theorem_derivations,
)
from symconv.export.latex import latex, standalone, symbol_latex, text
from symconv.logic.prove import Proved, Refuted, prove
from symconv.logic.solve import solve_spec
from symconv.logic.theorem import load, parse_theorems
from tests.conftest import ROOT, require_tool


def shown(obj: Any) -> str:
    """What a notebook shows for obj (its _repr_latex_), which must exist."""
    text = obj._repr_latex_()
    assert isinstance(text, str), obj
    return text


CORPUS = load(ROOT / "proofs")


def compile_pdf(tex: str, where: Path, name: str = "doc") -> str:
    """Compile a document with pdflatex (it must succeed) and return its text (pdftotext)."""
    pdflatex = require_tool("pdflatex")
    pdftotext = require_tool("pdftotext")
    source = where / f"{name}.tex"
    source.write_text(tex, encoding="utf-8")
    run = subprocess.run(
        [pdflatex, "-interaction=nonstopmode", "-halt-on-error", source.name],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if run.returncode != 0:
        pytest.fail(f"pdflatex failed on {name}.tex:\n{run.stdout[-3000:]}")
    # longtable needs a second run to settle its column widths; the text is there after the first.
    out = subprocess.run(
        [pdftotext, "-layout", f"{name}.pdf", "-"], cwd=where, capture_output=True, text=True, check=True
    )
    return out.stdout


# The printer.


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("floor((i + 2*p - k)/s) + 1", r"\left\lfloor \frac{i + 2 p - k}{s} \right\rfloor + 1"),
        ("ceil(i/s)", r"\left\lceil \frac{i}{s} \right\rceil"),
        ("floor((i - 1)/2)", r"\left\lfloor \frac{i - 1}{2} \right\rfloor"),
        ("mod(i + 2*p - k, s)", r"\left(i + 2 p - k\right) \bmod s"),
        ("s*(ti - 1) + kh", r"\hat{k} + s \left(\tilde{i}' - 1\right)"),
        ("op - ip", "o' - i'"),
        ("k_eff + o_prime + k_h", r"\hat{k} + k_{h} + o'"),
        (
            "floor((i + 2*p - d*(k - 1) - 1)/s)",
            r"\left\lfloor \frac{i + 2 p - d \left(k - 1\right) - 1}{s} \right\rfloor",
        ),
    ],
)
def test_printer_uses_the_papers_notation(source: str, expected: str) -> None:
    assert latex(parse_expression(source)) == expected


def test_conditions_and_text() -> None:
    assert latex(parse_condition("i + 2*p >= k")) == r"i + 2 p \geq k"
    assert latex(parse_condition("k != 2")) == r"k \neq 2"
    assert text("a_b & 50% #1 {x}") == r"a\_b \& 50\% \#1 \{x\}"
    assert symbol_latex("stride") == r"\mathit{stride}"


@pytest.mark.parametrize(
    "source",
    [
        "-floor(-i/s)",
        "floor((i + s - 1)/s)",
        "ceiling(-floor(-i/s))",
        "floor((i + 2*p - k + s - 1)/s) + 1",
        "-ceiling(-(i - k)/s) + floor((i + 3)/4)",
    ],
)
def test_tidy_is_the_same_value_for_every_positive_divisor(source: str) -> None:
    expr = parse_expression(source)
    tidied = tidy(expr)
    assert tidied != expr
    result = prove(sympy.Eq(expr, tidied, evaluate=False), [parse_condition("s >= 1")])
    assert isinstance(result, Proved), result
    assert "floor(-" not in str(tidied)


def test_tidy_restores_the_ceiling_of_a_symbolic_answer() -> None:
    assert tidy(parse_expression("ceiling(-floor(-i/s))")) == parse_expression("ceil(i/s)")


# Derivations.


def test_a_wrong_step_is_refused_with_a_counterexample() -> None:
    o = parse_expression("floor((i + 2*p - k)/s) + 1")
    good = parse_expression("floor((i - k)/s) + 1")
    wrong = parse_expression("floor((i - k)/s)")
    given = [parse_condition(c) for c in ("s >= 1", "p == 0", "i >= k", "k >= 1")]
    assert [step.how for step in derive(o, [good], given).steps] == ["substitution"]
    with pytest.raises(DerivationError, match=r"step 2 does not follow: .* at .*i = "):
        derive(o, [good, wrong], given)


def test_a_step_true_only_under_a_condition_needs_that_condition() -> None:
    # s*floor(x/s) = x holds exactly when s divides x.
    lhs, rhs = parse_expression("s*floor((i - k)/s) + k"), parse_expression("i")
    base = [parse_condition(c) for c in ("s >= 1", "i >= k")]
    with pytest.raises(DerivationError):
        derive(lhs, [rhs], base)
    proved = derive(lhs, [rhs], [*base, parse_condition("mod(i - k, s) == 0")])
    assert proved.steps[0].how.startswith("Z3")


def test_every_proved_theorem_has_a_checked_derivation_ending_at_its_claim() -> None:
    with_chain = 0
    for theorem in CORPUS:
        if theorem.expect != "proved":
            continue
        derivations = theorem_derivations(theorem).derivations
        statement = theorem.statement()
        for derivation in derivations:
            assert derivation.steps, theorem.id
            assert all(step.how for step in derivation.steps), theorem.id
            # The last line is a right-hand side of the claim.
            rhs = [part.rhs for part in sympy.And.make_args(statement.claim) if isinstance(part, sympy.Eq)]
            assert derivation.steps[-1].expr in rhs, theorem.id
        with_chain += bool(derivations)
    assert with_chain >= 20


def test_r14_derivation_reads_like_the_paper() -> None:
    (r14,) = [t for t in CORPUS if t.id == "R14"]
    (derivation,) = theorem_derivations(r14).derivations
    tex = derivation.to_latex()
    assert tex.startswith("\\begin{align*}\no' &=")
    assert r"s \left(o - 1\right)" in tex
    assert tex.rstrip().endswith("&= i \\tag*{$\\text{simplify}$}\n\\end{align*}")


WRITTEN = """
[[theorem]]
id = "mine"
given = ["i >= 1", "k >= 1", "s >= 1", "p >= 0", "i + 2*p >= k"]
define = {{ o = "conv(k=k, s=s, p=p)(i)" }}
claim = "s*(o - 1) + mod(i + 2*p - k, s) == i + 2*p - k"
derivation = [{lines}]
"""


def test_a_theorem_may_carry_its_own_derivation_and_every_line_is_checked() -> None:
    good = '"s*floor((i + 2*p - k)/s) + mod(i + 2*p - k, s)"'
    (theorem,) = parse_theorems(WRITTEN.format(lines=good))
    (derivation,) = theorem_derivations(theorem).derivations
    assert len(derivation.steps) == 2 and derivation.steps[-1].how.startswith("Z3")
    assert "Derivation" in theorem_block(theorem, theorem.check())
    planted = '"s*floor((i + 2*p - k)/s)"'
    (wrong,) = parse_theorems(WRITTEN.format(lines=planted))
    assert wrong.check().status == "proved"  # the theorem holds; its written derivation does not
    with pytest.raises(DerivationError, match="theorem mine: derivation step 1 does not follow"):
        theorem_derivations(wrong)
    with pytest.raises(symconv.SpecError, match="derivation line 1"):
        parse_theorems(WRITTEN.format(lines='"floor(("'))


def test_a_wrong_written_step_is_exit_2_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "wrong.toml"
    path.write_text(WRITTEN.format(lines='"s*floor((i + 2*p - k)/s)"'), encoding="utf-8")
    assert main(["prove", str(path), "--latex", str(tmp_path / "out.tex")]) == 2
    assert "step 1 does not follow" in capsys.readouterr().err


# Layers, answers, notebooks.


@pytest.mark.parametrize(
    "spec",
    [
        "conv(k=3, s=2, p=1)",
        "conv(k=3, s=2, p=1, d=2)",
        "convT(k=3, s=2, p=1, a=1)",
        "tf.conv(k=3, s=2, p=same)",
        "torch.maxpool(k=3, s=2, ceil=true)",
        "jax.conv(k=3, s=2, p=valid)",
        "upsample(scale=2)",
    ],
)
def test_layer_derivation_ends_at_the_layers_formula(spec: str) -> None:
    block = layer_block(spec)
    made = symconv.layer(spec)
    assert block.startswith(f"\\paragraph{{{text(spec)}}}")
    # The last line of the derivation is the formula the engine evaluates (or its tidy form).
    final = latex(tidy(made.output_expr(symconv.symbol("i"))))
    assert f"&= {final}" in block or f"&= {latex(made.output_expr(symconv.symbol('i')))}" in block


def test_answers_render_as_math() -> None:
    interval = solve_spec("conv(k=3, s=2, p=1)", i="?", o="o")
    assert answer_latex(interval) == r"\max\left(1, 2 o - 1\right) \leq i \leq 2 o"
    pairs = solve_spec("conv(k=?, s=2, p=?)", i=224, o=112, maxima={"k": 4})
    assert answer_latex(pairs) == r"(k, p) \in \{(1, 0),\ (2, 0),\ (3, 1),\ (4, 1)\}"
    assert shown(pairs).startswith("$\\displaystyle (k, p)")


def test_results_have_repr_latex() -> None:
    (r14,) = [t for t in CORPUS if t.id == "R14"]
    assert r"\Longrightarrow" in shown(r14)
    assert symconv.layer("tf.conv(k=3, s=2, p=same)")._repr_latex_() == (
        r"$\displaystyle o = \left\lceil \frac{i}{2} \right\rceil$"
    )
    assert "proved for all integers" in shown(r14.check())
    refuted = next(t for t in CORPUS if t.id == "F-R14-no-a").check()
    assert shown(refuted).startswith(r"$\text{refuted at } ")
    (derivation,) = theorem_derivations(r14).derivations
    assert derivation._repr_latex_().startswith("$$\\begin{aligned}")


# Documents that compile.


@pytest.mark.tex
def test_corpus_document_compiles_and_holds_every_id_and_verdict(tmp_path: Path) -> None:
    assert main(["prove", str(ROOT / "proofs"), "--latex", str(tmp_path / "corpus.tex")]) == 0
    words = compile_pdf((tmp_path / "corpus.tex").read_text(encoding="utf-8"), tmp_path, "corpus")
    flat = " ".join(words.split())
    for theorem in CORPUS:
        # pdftotext may break an id at a hyphen inside a table cell; the section heading keeps it whole.
        assert f"{theorem.id}:" in flat, theorem.id
    verdicts = [t.expect for t in CORPUS]
    assert flat.count("Verdict: refuted") == verdicts.count("refuted")
    assert flat.count("Verdict: proved") == verdicts.count("proved")
    # Each theorem's own block carries its own verdict.
    tex = (tmp_path / "corpus.tex").read_text(encoding="utf-8")
    for theorem in CORPUS:
        block = tex.split(f"\\subsection*{{{text(theorem.id)}:", 1)[1].split("\\subsection*", 1)[0]
        assert f"\\emph{{Verdict:}} \\textbf{{{theorem.expect}}}" in block, theorem.id


@pytest.mark.tex
def test_fragments_compile_inside_a_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paper = ROOT / "proofs" / "paper.toml"
    assert main(["prove", str(paper), "--latex", str(tmp_path / "paper.tex"), "--snippet"]) == 0
    fragment = (tmp_path / "paper.tex").read_text(encoding="utf-8")
    assert "\\documentclass" not in fragment
    capsys.readouterr()
    assert main(["latex", "conv(k=3, s=2, p=1)", "-o", str(tmp_path / "layer.tex")]) == 0
    ans = ["latex", "conv(k=?, s=2, p=?)", "--in", "224", "--out", "112", "--max", "k=7"]
    assert main([*ans, "-o", str(tmp_path / "ans.tex")]) == 0
    body = "\\input{paper.tex}\n\\input{layer.tex}\n\\input{ans.tex}\n"
    words = compile_pdf(standalone(body), tmp_path, "main")
    assert "R14:" in words and "conv(k=3, s=2, p=1)" in words


@pytest.mark.tex
def test_latex_command_for_an_id_and_standalone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["latex", "R15-T", "--standalone", "-o", str(tmp_path / "r15t.tex"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["output"] == str(tmp_path / "r15t.tex")
    assert data["latex"].startswith("\\documentclass")
    words = compile_pdf(data["latex"], tmp_path, "r15t")
    assert "proved for all integers satisfying the conditions" in " ".join(words.split())
    assert main(["latex", "F-R6-ceil"]) == 0
    out = capsys.readouterr().out
    assert r"\textbf{refuted}: $i =" in out and "align*" not in out
    # The counterexample's two sides, computed on integers: the left one is the layer, shown unexpanded.
    assert r"\operatorname{conv}_{k,\, s,\, p}\left(i\right) = " in out and r"\neq" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["latex", "NO-SUCH-ID"], "unknown theorem id"),
        (["latex", "conv(k=0)"], "kernel size must be a positive integer (k=0)"),
        (["latex", ""], "empty string"),
        (["latex", "R14", "--timeout", "0"], "argument --timeout: takes a number of seconds"),
        (["latex", "conv(k=3)", "--max", "k=5"], "go with unknowns"),
        (["latex", "conv(k=3)", "--in", "x y"], "--in"),
        (["latex", "R14", "--in", "5"], "go with a layer spec, not a theorem id"),
        (["prove", "proofs/paper.toml", "--snippet"], "--snippet goes with --latex"),
        (["latex", "conv(k=3)", "-o", "/no/such/dir/x.tex"], "cannot write"),
        (["latex", "conv(k=?, s=2, p=?)", "--in", "224"], "no finite bound"),
    ],
)
def test_bad_input_is_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_the_corpus_document_lists_a_counterexample_that_recheckes() -> None:
    refuted = [(t, t.check()) for t in CORPUS if t.id.startswith("F-R")]
    tex = corpus_document(refuted, snippet=True)
    for theorem, result in refuted:
        assert isinstance(result, Refuted), result
        assert all(f"{symbol_latex(k)} = {v}" in tex for k, v in result.counterexample.items()), theorem.id


@pytest.mark.parametrize(
    "spec",
    [
        "conv(k=3, s=2, p=1)",
        "conv(k=5, s=3, p=4)",
        "conv(k=3, s=2, p=1, d=2)",
        "conv(k=k, s=s, p=p)",
        "conv(k=4, s=4)",
    ],
)
def test_the_transposed_derivation_gives_back_i(spec: str) -> None:
    from symconv.export.document import inverse_derivation

    derivation = inverse_derivation(symconv.layer(spec))
    assert derivation is not None
    assert derivation.steps[0].how == "definition"
    assert derivation.steps[-1].expr == symconv.symbol("i")
    assert all(step.how for step in derivation.steps)
    assert "Transposed" in layer_block(spec)


def test_no_transposed_derivation_where_the_padding_would_be_a_crop() -> None:
    from symconv.export.document import inverse_derivation

    assert inverse_derivation(symconv.layer("conv(k=3, s=2, p=3)")) is None
    assert inverse_derivation(symconv.layer("tf.conv(k=3, s=2, p=same)")) is None


# What a review found: each case below once produced a wrong or uncompilable result.


def test_a_step_proved_only_in_a_box_is_refused() -> None:
    # True for small x and y, false at a Pell solution (x = 1766319049, y = 226153980): Z3 gives up
    # on the nonlinear query and its fallback box is not a proof for every integer.
    lhs = parse_expression("x")
    wrong = parse_expression("x + 1 - min(abs(x*x - 61*y*y - 1), 1)")
    given = [parse_condition("x >= 1"), parse_condition("y >= 1")]
    with pytest.raises(DerivationError, match=r"only in a box|could not be proved"):
        derive(lhs, [wrong], given, timeout_ms=500)
    # Asked for a box, it is proved in that box and says so.
    assert derive(lhs, [wrong], given, bound=8).steps[0].how.startswith("Z3 (bounded")


def test_mod_prints_apart_from_its_negation() -> None:
    shown = {
        latex(parse_expression(t)) for t in ("-mod(k, s)", "mod(-k, s)", "-mod(k + 1, s)", "mod(-k - 1, s)")
    }
    assert len(shown) == 4
    assert latex(parse_expression("2*mod(k, s)")) == r"2 \left(k \bmod s\right)"


def test_two_names_never_print_alike() -> None:
    (theorem,) = parse_theorems(
        '[[theorem]]\nid = "n"\ngiven = ["kh >= 1", "k_eff >= 2"]\nclaim = "kh == k_eff"\nexpect = "refuted"\n'
    )
    block = theorem_block(theorem, theorem.check())
    assert r"\hat{k} \geq 1,\quad \mathit{k\_eff} \geq 2" in block
    assert r"\hat{k} = 1 \neq 2 = \mathit{k\_eff}" in block


SPECS = [
    "conv(k=3, s=2, p=1)",
    "jax.conv(k=3, s=1, p=0)",
    "tf.conv(k=k, s=s, p=p)",
    "tf.conv(k=5, s=2, p=0)",
    "onnx.convT(k=3, s=2, auto_pad=valid)",
    "onnx.maxpool(k=4, s=2, auto_pad=same_lower, ceil=true)",
    "keras.conv(k=3, s=2, p=causal)",
    "torch.avgpool(k=3, s=2, p=1, ceil=true)",
    "convT(k=k, s=s, p=p, a=a, d=d)",
    "pixelshuffle(r=2)",
    "adaptivepool(size=7)",
    "conv(k=x_y_z, s=2)",
]


@pytest.mark.tex
def test_every_layer_block_compiles(tmp_path: Path) -> None:
    blocks = [layer_block(spec) for spec in SPECS]
    for spec, block in zip(SPECS, blocks, strict=True):
        assert block.startswith(f"\\paragraph{{{text(spec)}}}"), spec
    words = compile_pdf(standalone("\n\n".join(blocks)), tmp_path, "layers")
    assert "onnx.maxpool" in words


HARD = r"""
[[theorem]]
id = "odd_1"
title = '''Specials _ & % # $ ^ ~ \\ { } < > | and unicode α ≤ 中 é — “q”, over

two lines'''
source = "a note with | bars"
given = ["x_y_z >= 1", "very_long_name_x >= 0"]
claim = "x_y_z + very_long_name_x >= 1"

[[theorem]]
id = "bounded"
given = ["i >= 0"]
claim = "floor(i/16) == 0"
bound = 8

[[theorem]]
id = "constant"
claim = "conv(k=3, s=2)(7) == 4"
expect = "refuted"

[[theorem]]
id = "neither"
given = ["i >= 1"]
claim = "i >= 1 or not (i < 0)"
"""


@pytest.mark.tex
def test_hard_inputs_still_compile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hard.toml"
    path.write_text(HARD, encoding="utf-8")
    assert main(["prove", str(path), "--latex", str(tmp_path / "hard.tex")]) == 0
    words = " ".join(
        compile_pdf((tmp_path / "hard.tex").read_text(encoding="utf-8"), tmp_path, "hard").split()
    )
    assert "proved for every variable in [-8, 8] (a bounded proof)" in words
    assert "refuted (the claim has no variables and is false)" in words
    assert "4 theorems" in words


def test_a_derivation_needs_an_equality() -> None:
    with pytest.raises(symconv.SpecError, match="derivation needs a claim whose first part is an equality"):
        parse_theorems('[[theorem]]\nid = "d"\nclaim = "i <= i + 1"\nderivation = ["i + 1"]\n')


def test_a_theorem_file_whose_path_has_a_bracket(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "my (copy).toml"
    path.write_text(
        WRITTEN.format(lines='"s*floor((i + 2*p - k)/s) + mod(i + 2*p - k, s)"'), encoding="utf-8"
    )
    assert main(["latex", str(path)]) == 0
    assert "mine:" in capsys.readouterr().out


def test_a_long_answer_is_cut_into_lines() -> None:
    answer = solve_spec("conv(k=?, s=?, p=?)", i=224, o=112, maxima={"k": 7, "s": 4})
    from symconv.export.document import answer_lines

    lines = answer_lines(answer)
    assert len(lines) == -(-len(answer.solutions) // 6) and lines[-1].endswith("\\}")


def test_valid_sets_render() -> None:
    from symconv.export.notebook import valid_set_latex
    from symconv.nets.validset import ValidSet

    assert ValidSet(4, (0, 2), 8, (1, 4))._repr_latex_() == (
        r"$\displaystyle \{1, 4\} \cup \{i \geq 8 : i \bmod 4 \in \{0, 2\}\}$"
    )
    assert valid_set_latex(ValidSet(1, (0,), 3, ()), "H") == r"\{H \geq 3\}"


def test_an_inverse_renders_in_the_papers_notation() -> None:
    from symconv.logic.transpose import invert

    text = shown(invert(symconv.layer("conv(k=3, s=2, p=1)")))
    assert text.startswith(r"$\displaystyle k' = 3,\ s' = 1,\ p' = 1,\ \tilde{i}' = ")
    assert r"a = \left(i + 1\right) \bmod 2" in text and "round trip: proved" in text
