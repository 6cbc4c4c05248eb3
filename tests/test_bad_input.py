"""Bad input: every case is a SpecError naming the offending part, the CLI exits 2, nothing is executed."""

from __future__ import annotations

import ast
import builtins
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from symconv import SpecError, layer, parse_expression, parse_theorems
from symconv.cli import main
from symconv.core.limits import MAX_DEPTH

# (spec, a fragment the message must contain)
BAD_SPECS = [
    ("conv(k=0)", "kernel size must be a positive integer (k=0)"),
    ("conv(k=3, s=0, p=1)", "stride must be a positive integer (s=0)"),
    ("conv(k=3, p=-1)", "padding must be >= 0 (p=-1)"),
    ("conv(k=3, p=[(1, -2)])", "end padding must be >= 0 (pe=-2)"),
    ("conv(k=3, d=0)", "dilation must be a positive integer (d=0)"),
    ("convT(k=3, s=2, a=-1)", "output_padding must be >= 0 (a=-1)"),
    ("conv(k=2.5)", "only integers are allowed"),
    ("conv(k='3')", "only integers are allowed"),
    ("conv(k=3, s=1.0)", "only integers are allowed"),
    ("deconv(k=3)", "unknown layer kind 'deconv'"),
    ("conv(k=3, q=1)", "unknown parameter 'q'"),
    ("conv(k=3, k=4)", "given twice"),
    ("conv(3, 2)", "layer arguments must be named"),
    ("conv()", "missing required parameter k"),
    ("conv(k=3", "malformed layer spec"),
    ("conv k=3", "malformed layer spec"),
    ("", "layer spec is empty"),
    ("mxnet.conv(k=3)", "unknown framework"),
    ("conv(k=3, a=1)", "parameter a does not apply to conv"),
    ("conv(k=3, ceil=true)", "parameter ceil does not apply to conv"),
    ("maxpool(k=2, ceil=maybe)", "ceil must be true or false"),
    ("conv(k=[(3, 3)])", "a (begin, end) pair is only allowed for the padding p, not k"),
    (
        "conv(k=(3, 5), s=(1, 2, 2))",
        "parameters give different numbers of spatial axes (k=(3, 5) has 2, s=(1, 2, 2) has 3)",
    ),
    ("conv(k=())", "k is empty: give one value, or one per spatial axis"),
    ("conv(k=[])", "k is empty"),
    (
        "conv(k=3, p=(((1, 2),),))",
        "nested too deeply: a padding is a value per axis or a (begin, end) pair per axis",
    ),
    ("conv(k=3, p=[(1, 2, 3)])", "a padding pair is (begin, end), got 3 entries"),
    ("torch.conv(k=3, p=((1, 2), (0, 0)))", "torch pads both ends of an axis alike"),
    ("torch.conv(k=(3, 0))", "kernel size must be a positive integer (k=0) in torch.conv(k=0) (axis 1 of"),
    ("onnx.conv(k=3, pads=[1, 0, 1])", "ONNX pads list a begin and an end per axis"),
    ("nn.Conv2d(3, 8, (1, 7, 3))", "Conv2d argument kernel_size gives 3 values; Conv2d has 2 spatial axes"),
    (
        "make_node('Conv', ['x'], ['y'], kernel_shape=[3], pads=[1, 2, 1, 2])",
        "its lists give different numbers of spatial axes (kernel_shape 1, pads 2)",
    ),
    ("conv(k=3, p=causal)", "padding 'causal' is not defined for conv"),
    ('helper.make_node("Conv", ["x", "w"], ["y"])', "make_node('Conv') needs kernel_shape"),
    # A negative number is a number as written: the argument's own rule names it.
    ("nn.Conv2d(-3, 8, 3)", "Conv2d argument in_channels must be a positive integer: '-3'"),
    ("layers.Conv2D(-8, 3)", "Conv2D argument filters must be a positive integer: '-8'"),
    ("conv(k=__import__('os').system('echo pwned'))", "unknown function"),
    ("conv(k=__unknown__)", "names may not start with '_'"),
    ("__import__('os').system('echo pwned')", "expected a layer kind"),
    ("conv(k=open('/etc/passwd'))", "unknown function"),
    ("conv(k=k.__class__)", "an attribute (a.b) is not allowed"),
    ("conv(k={3})", "a set is not allowed"),
    ("conv(k=lambda: 3)", "a lambda is not allowed"),
    ("conv(k=3, s=2)(i)", "expected a layer kind"),
    ("conv(**{'k': 3})", "** is not allowed"),
    ("conv(k=3); import os", "malformed layer spec"),
]

BAD_EXPRESSIONS = [
    ("i / 2", "'/' is only allowed inside floor() or ceil()"),
    ("__import__('os').system('ls')", "unknown function"),
    ("().__class__.__bases__[0].__subclasses__()", "unknown function"),
    ("().__class__", "an attribute (a.b) is not allowed"),
    ("eval('1')", "unknown function"),
    ("exec('x=1')", "unknown function"),
    ("i if k else s", "a conditional (a if c else b) is not allowed"),
    ("[x for x in y]", "a comprehension is not allowed"),
    ("i ** k", "exponent of ** must be an integer literal"),
    ("i ** -1", "exponent of ** must be a non-negative integer (x ** -n is 1/x**n"),
    ("2 ** 1000", "exponent of ** must be between 0 and 64"),
    ("floor(i, k)", "floor() takes 1 argument(s), got 2"),
    ("mod(i, 0)", "division by zero"),
    ("i // 0", "division by zero"),
    ("1.5 * i", "only integers are allowed"),
    ("'i'", "only integers are allowed"),
    ("_hidden + 1", "names must start with a letter"),
    ("same + 1", "'same' is reserved"),
    ("i +", "malformed expression"),
    ("i = 3", "malformed expression"),
    ("(" * 300 + "i" + ")" * 300, "malformed expression"),
    ("i" * 20_000, "too long"),
    # Python's constructs are named as a reader names them, never by the ast module's class names.
    ("f'{i}' == 1", "an f-string is not allowed"),
    ("(x := 3) + i", "an assignment (:=) is not allowed"),
    ("i[1:2]", "indexing (a[b]) is not allowed"),
    ("~i", "the bitwise operator ~ is not allowed (write not for a condition)"),
    ("i << 1", "operator not allowed; allowed: + - * // % **"),
]


@pytest.mark.parametrize(("spec", "fragment"), BAD_SPECS)
def test_bad_spec_is_a_spec_error_naming_the_part(spec: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        layer(spec)
    assert fragment in str(info.value)


@pytest.mark.parametrize(("text", "fragment"), BAD_EXPRESSIONS)
def test_bad_expression_is_a_spec_error_naming_the_part(text: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_expression(text)
    assert fragment in str(info.value)


def test_nothing_is_executed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[str] = []

    def system(command: str) -> int:
        calls.append(command)
        return 0

    monkeypatch.setattr(os, "system", system)
    real_import = builtins.__import__

    def spy(name: str, *args: Any, **kwargs: Any) -> Any:
        if name in ("os", "subprocess"):
            calls.append(name)
        return real_import(name, *args, **kwargs)

    marker = tmp_path / "pwned"
    attacks = [
        f"conv(k=__import__('os').system('touch {marker}'))",
        f"__import__('os').system('touch {marker}')",
        f"conv(k=3, s=(lambda: __import__('os').system('touch {marker}'))())",
    ]
    monkeypatch.setattr(builtins, "__import__", spy)
    for attack in attacks:
        with pytest.raises(SpecError):
            layer(attack)
        with pytest.raises(SpecError):
            parse_expression(attack)
    monkeypatch.setattr(builtins, "__import__", real_import)
    assert calls == []
    assert not marker.exists()


BAD_THEOREM_FILES = [
    ('[[theorem]]\nid = "x"\nclaim = "i >= "', "malformed condition"),
    ('[[theorem]\nid = "x"', "not valid TOML"),
    ('[[theorem]]\nid = "x"\nclaim = "i >= 0"\nexpect = "maybe"', "expect must be one of proved, refuted"),
    ('[[theorem]]\nid = "x"\nclaim = "i >= 0"\ncolour = "red"', "unknown key 'colour'"),
    ('[[theorem]]\nclaim = "i >= 0"', "missing required key 'id'"),
    ('[[theorem]]\nid = "x"', "missing required key 'claim'"),
    ('[[theorem]]\nid = "x"\nclaim = "i + 1"', "expected a condition"),
    ('[[theorem]]\nid = "x"\nclaim = "i >= 0"\ngiven = "i >= 1"', "given must be a list of strings"),
    ('[[theorem]]\nid = "x"\nclaim = "o >= 0"\ndefine = { o = "p + 1", p = "1" }', "not defined before it"),
    (
        '[[theorem]]\nid = "x"\nclaim = "c >= 0"\ndefine = { a = "i*i*i", b = "a*a*a", c = "b*b" }',
        "define c has degree 18 in the symbols once the names it uses are expanded",
    ),
    ('[[theorem]]\nid = "x"\nclaim = "i >= 0"\n[[theorem]]\nid = "x"\nclaim = "i >= 1"', "appears twice"),
    ('[[theorem]]\nid = "x"\nclaim = "conv(k=0)(i) >= 1"', "kernel size must be a positive integer"),
    ("[[theorem]]\nid = \"x\"\nclaim = \"__import__('os').system('ls') == 0\"", "unknown function"),
    ('[[theorem]]\nid = "x"\nclaim = "i >= 0"\nbound = -3', "bound must be a positive integer"),
    ("theorem = 3", "theorems must be written as [[theorem]] tables"),
]


@pytest.mark.parametrize(("text", "fragment"), BAD_THEOREM_FILES)
def test_bad_theorem_file_is_a_spec_error(text: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_theorems(text, "bad.toml")
    assert fragment in str(info.value)
    assert "bad.toml" in str(info.value)


CLI_BAD = [
    ["shape", "conv(k=0)", "--in", "32"],
    ["shape", "conv(k=3)", "--in", "abc def"],
    ["shape", "conv(k=3)", "--in", "32,"],
    ["shape", "conv(k=3)"],
    ["shape", "__import__('os').system('ls')", "--in", "3"],
    ["prove", "--claim", "i >= "],
    ["prove", "--given", "i >= 0"],
    ["prove", "--claim", "i >= 0", "--bound", "0"],
    ["prove", "--claim", "i >= 0", "--timeout", "-1"],
    ["prove", "no/such/file.toml"],
    ["prove", "NO-SUCH-ID"],
    ["frobnicate"],
    [],
]


@pytest.mark.parametrize("argv", CLI_BAD)
def test_cli_bad_input_exits_2_without_traceback(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, root: Path
) -> None:
    monkeypatch.chdir(root)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err


def test_cli_bad_input_json_names_the_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shape", "conv(k=3, s=0)", "--in", "8", "--json"]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out) == {"error": "stride must be a positive integer (s=0) in conv(k=3, s=0)"}
    assert "stride" in err


# Hostile input on the command line: every subcommand and option (README, "Limits on input"). Each case is
# exit 2 with one line on stderr that names the part and the rule; none is a traceback or an internal error.
HUGE = "9" * 5000  # past Python's 4,300-digit int() and symconv's 10,000 bits
BIG = "1" + "0" * 400  # within the limits: a number like any other
SPEC = "conv(k=3, s=2, p=1)"
TOWER = "conv(k=(((9**64)**64)**64)**64)"

HOSTILE = [
    (["shape", "pixelunshuffle(r=0)", "--in", "4"], "the factor r must be a positive integer (r=0)"),
    (["shape", TOWER, "--in", "5"], "the power (9**64)**64 would have about 3,909 digits"),
    (["shape", "conv(k=0x" + "f" * 3000 + ")", "--in", "5"], "symconv limits numbers to 10,000 bits"),
    (["shape", "conv(k=" + "floor(" * 120 + "3" + ")" * 120 + ")", "--in", "5"], "nests 122 levels deep"),
    (["shape", "conv(k=3)\x00", "--in", "5"], "malformed layer spec"),
    (["shape", SPEC, "--in", HUGE], "--in 999"),
    (["shape", SPEC, "--in", "ä"], "--in takes integers or symbol names"),
    (["shape", SPEC, "--in", "5,"], "--in takes sizes separated by commas"),
    (["solve", "conv(k=?, s=2, p=1)", "--in", HUGE], "--in has 5,000 digits"),
    (["solve", "conv(k=?, s=2, p=1)", "--in", "224", "--limit", "nan"], "--limit: invalid int value: 'nan'"),
    (["solve", "conv(k=?, s=2, p=1)", "--in", "224", "--limit", "0"], "--limit: takes a positive integer"),
    (["solve", "conv(k=?, s=2, p=1)", "--in", "224", "--limit", HUGE], "integers are limited to 10,000 bits"),
    (["solve", "conv(k=?, s=2, p=1)", "--in", "224", "--max", "k=" + HUGE], "--max k=999"),
    (["solve", "conv(k=?, s=2, p=1)", "--in", "224", "--max", "ä=3"], "--max takes NAME=INTEGER"),
    (["solve", "conv(k=?, s=2, p=1)", "--in", "224", "--max", "k=3", "--max", "k=4"], "--max gives k twice"),
    (["solve", "conv(k=?, s=2, p=1)", "--in", "224", "--min", "k=1e3"], "--min takes NAME=INTEGER"),
    (["solve", "conv(k=3, s=2, p=1)", "--out", "(9**64)**64"], "--out takes an integer, ? or an expression"),
    (
        [
            "solve",
            "conv(k=?, s=2, p=1)",
            "--in",
            "224",
            "--where",
            "abs(abs(abs(abs(abs(k-1)-2)-3)-4)-5) >= 0",
        ],
        "once min, max and abs are written as cases",
    ),
    (["invert", SPEC, "--output-padding", "-1"], "--output-padding/--a: takes an integer >= 0"),
    (["invert", SPEC, "--in", "abc"], "--in takes an integer input size"),
    (["invert", SPEC, "--in", HUGE], "--in has 5,000 digits"),
    (["invert", "pixelunshuffle(r=0)"], "the factor r must be a positive integer"),
    (["port", "tf.conv(k=3, s=2, p=same)", "--to", "mxnet"], "argument --to: invalid choice: 'mxnet'"),
    (["port", "tf.conv(k=3, s=2, p=same)", "--to", "torch", "--in", "x"], "--in takes an integer input size"),
    (["port", "pixelunshuffle(r=0)", "--to", "tf"], "the factor r must be a positive integer"),
    (["prove", "--claim", "i >= 0", "--bound", HUGE], "--bound: 999"),
    (["prove", "--claim", "i >= 0", "--bound", "0"], "--bound: takes a positive integer"),
    (
        ["prove", "--claim", "(9**64)**64**64 >= 0"],
        "the power (9**64)**64**64 would have about 10**117 digits",
    ),
    (["prove", "--claim", "floor((i+1)**64**3/3) >= 0"], "has degree 262,144 in its symbols"),
    (["prove", "--claim", "floor(((i+1)**64)**64/3) >= 0"], "symconv limits polynomials to degree 16"),
    (["prove", "--claim", "floor((a+b+c+d+e+f+g+h)**8/3) >= 0"], "expands to up to 6,435 terms"),
    (["prove", "--claim", "floor(" * 200 + "i" + ")" * 200 + " >= 0"], "nests 202 levels deep"),
    (["prove", "--claim", "not " * 200 + "i >= 0"], "nests 202 levels deep"),
    (["prove", "--claim", "i" + " + i" * 2000 + " >= 0"], "nests 2002 levels deep"),
    (["prove", "--claim", "(" * 300 + "i" + ")" * 300 + " >= 0"], "too many nested parentheses"),
    (["prove", "/dev/zero"], "theorem file /dev/zero is a device"),
    (["prove", "x" * 5000], "unknown theorem id"),
    (["net", "conv(k=3)", "--check", "abc"], "--check takes a size per input axis (i)"),
    (["net", "conv(k=3)", "--check", ""], "--check takes a size per input axis (i)"),
    (["net", "conv(k=3)", "--check", "2,2"], "--check takes a size per input axis (i)"),
    (["net", "conv(k=3)", "--check", "5,i=6"], "--check takes a size per input axis (i)"),
    (
        ["net", "conv(k=3)", "--check", "H=2,W=2"],
        "--check names the axis 'H'; the network's input axes are i",
    ),
    (["net", "conv(k=3)", "--check", "i=5,i=6"], "--check gives the axis i twice"),
    (["net", "conv(k=3)", "--check", "0"], "--check sizes must be positive integers, got i=0"),
    (["net", "conv(k=3)", "--check", HUGE], "integers are limited to 10,000 bits"),
    (["net", "conv(k=3)", "--input-shape", "1,3,²"], "--input-shape takes N,C,H[,W...]"),
    (["net", "conv(k=3)", "--input-shape", "1,3," + HUGE], "integers are limited to 10,000 bits"),
    (["net", "pixelunshuffle(r=0)"], "the factor r must be a positive integer"),
    (["latex", "pixelunshuffle(r=0)"], "the factor r must be a positive integer"),
    (["latex", "/dev/zero"], "theorem file /dev/zero is a device"),
    (["latex", TOWER], "symconv limits numbers to 10,000 bits"),
    (["draw", SPEC, "--in", HUGE], "the input size has 5,000 digits"),
    (["draw", SPEC, "--in", "5", "--frame", "-1"], "frame -1 is out of range"),
    (["draw", SPEC, "--in", "5", "--frame", HUGE], "argument --frame: 999"),
    (["draw", SPEC, "--in", "5", "--frame", "x"], "argument --frame: invalid int value: 'x'"),
    (["draw", "pixelunshuffle(r=0)", "--in", "5"], "the factor r must be a positive integer"),
]


def _short(value: object) -> str:
    text = " ".join(value) if isinstance(value, list) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _one_error_line(code: int, out: str, err: str, fragment: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert "Traceback" not in out + err and "internal error" not in err
    assert len(lines) == 1 and lines[0].startswith("symconv: error: "), err
    assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(("argv", "fragment"), HOSTILE, ids=_short)
def test_hostile_input_is_named_on_one_line(
    argv: list[str],
    fragment: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    root: Path,
) -> None:
    monkeypatch.chdir(root)
    code = main(argv)
    out, err = capsys.readouterr()
    _one_error_line(code, out, err, fragment)


TIMED = [
    ["prove", "--claim", "i >= 0"],
    ["invert", SPEC],
    ["net", "conv(k=3)"],
    ["latex", SPEC],
]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e308", "-1", "0", "1e-300", "", "abc", BIG])
@pytest.mark.parametrize("argv", TIMED, ids=lambda argv: argv[0])
def test_timeout_is_finite_at_least_a_millisecond_and_at_most_a_day(
    argv: list[str], value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*argv, f"--timeout={value}"])
    out, err = capsys.readouterr()
    _one_error_line(code, out, err, "--timeout: takes a number of seconds from 0.001 to 86400 (a day)")


# Hostile-looking but within the limits: an answer (0, or 1 for a refuted claim or a failing check).
FINE = [
    ["shape", f"conv(k=3, p={BIG})", "--in", "5"],
    ["shape", "convT(k=3, s=(2**64)**64*(2**64)**60)", "--in", "9" * 3000],
    ["invert", f"conv(k={BIG}, s={BIG})"],
    ["invert", "conv(k=3, s=300)"],
    ["port", "tf.conv(k=2**64, s=2**64, p=same)", "--to", "torch"],
    ["latex", f"conv(k={BIG})"],
    ["prove", "--claim", "(" * 150 + "i" + ")" * 150 + " >= 0", "--given", "i >= 0"],
    ["prove", "--claim", "i >= 0", "--timeout", "86400", "--given", "i >= 1"],
    ["net", "convT(k=1, s=9**64) > " * 50 + "conv(k=1)", "--check", "2"],
    ["net", "conv(k=3)", "--check", "i=2"],
    ["net", "conv(k=3)", "--input-shape", "1,3,H,W", "--check", "H=5,W=6"],
    ["solve", "conv(k=?, s=2, p=1)", "--in", "224", "--out", "112", "--max", f"k={BIG}", "--limit", BIG],
]


@pytest.mark.parametrize("argv", FINE, ids=_short)
def test_large_but_allowed_input_is_answered(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    assert out.strip() and not err.strip()


def test_a_failing_check_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["net", "conv(k=3)", "--check", "2", "--json"]) == 1
    assert "error" in json.loads(capsys.readouterr().out)["check"]


def test_an_unexpected_exception_is_an_internal_error_on_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import symconv.cli

    def broken(args: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(symconv.cli, "cmd_shape", broken)
    assert main(["shape", SPEC, "--in", "5"]) == 3
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["symconv: internal error: KeyError: 'a bug' (a bug: please report it)"]


# The deepest inputs the limit allows go through every stage (parser, SymPy, Z3, the solver, the LaTeX
# printer) within Python's recursion limit, here under pytest's own stack.
def _depth(text: str) -> int:
    stack: list[tuple[ast.AST, int]] = [(ast.parse(text, mode="eval").body, 1)]
    deepest = 0
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack += [(c, depth + isinstance(c, ast.expr)) for c in ast.iter_child_nodes(node)]
    return deepest


def _deepest(wrap: Callable[[str, int], str], leaf: str, extra: int = 0) -> str:
    """`leaf` wrapped as often as MAX_DEPTH allows, counting `extra` levels around it."""
    text, level = leaf, 0
    while _depth(wrap(text, level)) + extra <= MAX_DEPTH:
        text, level = wrap(text, level), level + 1
    return text


DEEP: dict[str, tuple[Callable[[str, int], str], str]] = {
    "floors": (lambda e, n: f"floor(({e} + {n % 3 + 1})/{n % 4 + 2})", "k"),
    "layers": (lambda e, n: f"conv(k=3, s={n % 2 + 1})({e})", "k"),
    "mods": (lambda e, n: f"mod({e} + {n}, {n % 5 + 2})", "k"),
    "minmax": (lambda e, n: f"{'min' if n % 2 else 'max'}({e}, a{n})", "k"),
    "abs": (lambda e, n: f"abs({e} - {n % 3})", "k"),
    "sum": (lambda e, n: f"{e} + a{n}", "k"),
}


@pytest.mark.parametrize("shape", sorted(DEEP))
def test_the_deepest_allowed_claim_is_proved_or_refuted(
    shape: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    wrap, leaf = DEEP[shape]
    claim = _deepest(wrap, leaf, extra=1) + " >= -1000"
    assert _depth(claim) == MAX_DEPTH or shape == "floors"
    code = main(["prove", "--claim", claim, "--given", "k >= 1", "--timeout", "20"])
    out, err = capsys.readouterr()
    # A verdict, or (on a loaded machine) the budget's answer: never an error or a traceback.
    assert code in (0, 1) and ("claim" in out or out.startswith("unknown (time budget)")) and not err
    deeper = wrap(claim.removesuffix(" >= -1000"), 0) + " >= -1000"
    _one_error_line(main(["prove", "--claim", deeper]), *capsys.readouterr(), "levels deep")
    theorems = tmp_path / "deep.toml"
    theorems.write_text(f'[[theorem]]\nid = "deep"\nclaim = "{claim}"\ngiven = ["k >= 1"]\n')
    code = main(["latex", str(theorems), "--timeout", "20"])
    out, err = capsys.readouterr()
    # The document, or (on a loaded machine) the budget's answer: never an error or a traceback.
    assert code in (0, 1) and ("\\[" in out or out.startswith("unknown (time budget)")) and not err


def test_min_and_max_of_sizes_are_kept_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    """min/max of numbers are evaluated; of sizes they are kept as written (SymPy's evaluation compares every
    pair of arguments through its assumptions, exponential in the nesting) with their values unchanged, and the
    deepest allowed min/max claim comes back refuted with a counterexample where it is false."""
    import sympy

    from symconv.core.arith import evaluate

    assert parse_expression("max(2, min(7, 3))") == 3
    kept = parse_expression("max(min(k, 1), k)")
    assert isinstance(kept, sympy.Max) and kept.has(sympy.Min)  # SymPy's evaluation gives k
    assert all(evaluate(kept, {"k": k}) == max(min(k, 1), k) for k in range(-5, 6))
    wrap, leaf = DEEP["minmax"]
    claim = _deepest(wrap, leaf, extra=1) + " >= -1000"
    assert main(["prove", "--claim", claim, "--given", "k >= 1", "--json"]) == 1
    (found,) = json.loads(capsys.readouterr().out)["theorems"]
    assert found["status"] == "refuted"
    assert evaluate(parse_expression(claim.removesuffix(" >= -1000")), found["counterexample"]) < -1000


@pytest.mark.parametrize("shape", ["floors", "mods", "abs", "layers"])
def test_the_deepest_allowed_expressions_through_shape_solve_and_latex(
    shape: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wrap, leaf = DEEP[shape]
    padding = _deepest(wrap, "q", extra=2)  # conv(p=...) adds the call and the keyword's value
    if shape == "layers":
        padding = "q"  # a spec parameter cannot apply a layer
    spec = f"conv(k=3, p={padding})"
    assert main(["shape", spec, "--in", "i"]) == 0
    assert "q" in capsys.readouterr().out
    assert main(["latex", spec]) == 0
    assert "\\begin{align*}" in capsys.readouterr().out
    where = _deepest(wrap, leaf, extra=1) + " >= -1000"
    if shape == "layers":
        where = "k >= 1"  # --where takes no layer calls: the spec's own floors are the depth here
    code = main(["solve", "conv(k=?, s=2, p=1)", "--in", "224", "--where", where, "--max", "k=20"])
    out, err = capsys.readouterr()
    if shape == "abs":  # nested abs doubles the cases at every level: named, not attempted
        _one_error_line(code, out, err, "once min, max and abs are written as cases")
    else:
        assert code == 0 and "solution(s)" in out, err
    code = main(["solve", "conv(k=3, s=2, p=1)", "--in", "?", "--out", _deepest(wrap, "i"), "--max", "i=40"])
    out, err = capsys.readouterr()
    assert code in (0, 2) and "Traceback" not in err and "internal error" not in err


# Resources: each case runs in a fresh process under a 1.5 GB address-space limit, and must end in exit 2 with
# the expected message (not in a MemoryError the limit provoked) having used less than 500 MB. The 60 s timer
# only keeps a regression from hanging CI; no speed is asserted.
ADDRESS_SPACE = 1_500_000_000
PEAK_MB = 500
# The child: the address-space limit, then symconv's command line.
_LIMITED = (
    "import resource, runpy, sys; limit = int(sys.argv.pop(1)); "
    "resource.setrlimit(resource.RLIMIT_AS, (limit, limit)); sys.argv[0] = 'symconv'; "
    "runpy.run_module('symconv', run_name='__main__', alter_sys=True)"
)
# A small parent for it, as /usr/bin/time is: a process forked from pytest would count pytest's own memory in its
# peak (ru_maxrss includes the pages shared before exec), one forked from this one does not.
_MEASURED = (
    "import os, subprocess, sys; report, *argv = sys.argv[1:]; "
    "child = subprocess.Popen([sys.executable, '-c', *argv]); "
    "_, status, usage = os.wait4(child.pid, 0); "
    "open(report, 'w').write(str(usage.ru_maxrss)); "
    "sys.exit(os.waitstatus_to_exitcode(status))"
)


def run_limited(argv: list[str], cwd: str) -> tuple[int, str, float]:
    """(exit code, stderr, peak resident memory in MB) of `symconv argv` in a limited child process."""
    import signal
    import subprocess
    import sys
    import tempfile
    import threading

    with tempfile.TemporaryDirectory() as work:
        report = os.path.join(work, "maxrss")
        process = subprocess.Popen(
            [sys.executable, "-c", _MEASURED, report, _LIMITED, str(ADDRESS_SPACE), *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            start_new_session=True,  # one process group: the timer ends both processes
        )
        timer = threading.Timer(60, os.killpg, (process.pid, signal.SIGKILL))
        timer.start()
        try:
            _, err = process.communicate()
        finally:
            timer.cancel()
        if not os.path.exists(report):  # killed by the timer
            return process.returncode, "timed out after 60 s: " + err.decode(errors="replace"), float("inf")
        with open(report) as handle:
            peak = int(handle.read()) / 1024
        return process.returncode, err.decode(errors="replace"), peak


def _files(tmp_path: Path) -> dict[str, str]:
    """Special and oversized files: a FIFO, a device behind a .toml/.onnx name, directories, sparse giants."""
    made = {}
    for name in ("fifo.toml", "fifo.onnx"):
        os.mkfifo(tmp_path / name)
        made[name] = str(tmp_path / name)
    for name in ("zero.toml", "zero.onnx"):
        (tmp_path / name).symlink_to("/dev/zero")
        made[name] = str(tmp_path / name)
    for name in ("folder.toml", "folder.onnx"):
        (tmp_path / name).mkdir()
        made[name] = str(tmp_path / name)
    for name, size in (("huge.toml", 2**31), ("huge.onnx", 2**31)):
        with open(tmp_path / name, "wb") as handle:
            handle.truncate(size)  # sparse: no disk used, 2 GB to whoever reads it
        made[name] = str(tmp_path / name)
    (tmp_path / "over.toml").write_text("# " + "x" * 1_000_000 + "\n")
    made["over.toml"] = str(tmp_path / "over.toml")
    return made


RESOURCE_CASES = [
    (["shape", TOWER, "--in", "5"], "symconv limits numbers to 10,000 bits"),
    (["prove", "--claim", "(9**64)**64**64 >= 0"], "would have about 10**117 digits"),
    (["prove", "--claim", "floor((i+1)**64**3/3) >= 0"], "symconv limits polynomials to degree 16"),
    (["prove", "--claim", "floor(((i+1)**64)**64/3) >= 0"], "symconv limits polynomials to degree 16"),
    (["prove", "--claim", "floor(" * 200 + "i" + ")" * 200 + " >= 0"], "nests 202 levels deep"),
    (["prove", "--claim", "not " * 1000 + "i >= 0"], "levels deep"),
    (["prove", "--claim", "i" + " + i" * 2400 + " >= 0"], "nests 2402 levels deep"),
    (["prove", "/dev/zero"], "theorem file /dev/zero is a device; give a regular file"),
    (["latex", "/dev/zero"], "theorem file /dev/zero is a device; give a regular file"),
    (["prove", "{fifo.toml}"], "is a FIFO (named pipe); give a regular file"),
    (["latex", "{fifo.toml}"], "is a FIFO (named pipe); give a regular file"),
    (["net", "{fifo.toml}"], "network file {fifo.toml} is a FIFO"),
    (["net", "{fifo.onnx}"], "ONNX file {fifo.onnx} is a FIFO"),
    (["net", "{zero.toml}"], "network file {zero.toml} is a device"),
    (["net", "{zero.onnx}"], "ONNX file {zero.onnx} is a device"),
    (["net", "{folder.toml}"], "network file {folder.toml} is a directory"),
    (["net", "{folder.onnx}"], "ONNX file {folder.onnx} is a directory"),
    (["prove", "{huge.toml}"], "is larger than 1 MB; theorem files are limited to 1 MB"),
    (["prove", "{over.toml}"], "is larger than 1 MB; theorem files are limited to 1 MB"),
    (["net", "{huge.toml}"], "is larger than 1 MB; network files are limited to 1 MB"),
    (["net", "{huge.onnx}"], "is larger than 200 MB; ONNX files are limited to 200 MB"),
]


@pytest.mark.parametrize(("argv", "fragment"), RESOURCE_CASES, ids=_short)
def test_resource_case_is_refused_in_bounded_memory(
    argv: list[str], fragment: str, tmp_path: Path, root: Path
) -> None:
    files = _files(tmp_path)

    def named(text: str) -> str:
        for name, path in files.items():
            text = text.replace("{" + name + "}", path)
        return text

    code, err, peak = run_limited([named(part) for part in argv], str(root))
    assert code == 2, err[-2000:]
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("symconv: error: "), err[-2000:]
    assert named(fragment) in lines[0]
    assert peak < PEAK_MB, f"{peak:.0f} MB"


# One table per subcommand: each case exits 2 with one line naming the part that is wrong. The test below it
# keeps the table complete: a subcommand added to the parser without bad-input cases fails it.
BAD_BY_COMMAND: dict[str, list[tuple[list[str], str]]] = {
    "shape": [
        (["conv(k=0)", "--in", "32"], "kernel size must be a positive integer (k=0)"),
        (["conv(k=3)", "--in", "0"], "input size must be a positive integer (i=0)"),
        (["conv(k=3)", "--in", "abc def"], "--in takes integers or symbol names"),
        (["conv(k=3)", "--in", "i" * 20_000], "--in: a name of 20,000 characters; text is limited to 10,000"),
        (["conv(k=3)"], "the following arguments are required: --in"),
        (
            ["conv(k=3, p=(1, 2))", "--in", "10"],
            "p=(1, 2) gives one padding per spatial axis (2 axes) but the input has 1 (10); to pad one axis by "
            "1 before and 2 after, write p=[(1, 2)]",
        ),
        (
            ["conv(k=(3, 5))", "--in", "10,12,14"],
            "k=(3, 5) gives one value per spatial axis (2 axes) but the input has 3",
        ),
        (
            ["onnx.conv(k=3, pads=[1, 0, 1, 0])", "--in", "10"],
            "pads=[1, 0, 1, 0] gives one padding per spatial axis",
        ),
    ],
    "windows": [
        (
            ["conv(k=(3, 5))", "--in", "5"],
            "differs between its 2 spatial axes and this works on one: name the axis (--axis N on the command line",
        ),
        (["conv(k=(3, 5))", "--in", "5", "--axis", "2"], "axis must be 0 to 1"),
        (["torch.avgpool(k=3, p=1)", "--in", "2,9,9"], "AvgPool3d checks every axis before padding"),
        (["keras.conv(k=3, p=causal)", "--in", "5,5"], "padding 'causal' is Conv1D's only"),
        (["torch.conv(k=3)", "--in", "5,5,5,5"], "torch layers run on 1 to 3 spatial axes"),
        (["nn.PixelShuffle(2)", "--in", "5,5,5"], "runs on at most 2 spatial axes"),
        (["conv(k=3)", "--in", "abc"], "--in takes positive integer sizes"),
        (["conv(k=3)", "--in", "0"], "--in takes positive integer sizes"),
        (["conv(k=3)", "--in", "5", "--at", "7"], "--at 7: the output has positions 0 to 2"),
        (["conv(k=3)", "--in", "5", "--at", "x"], "argument --at: invalid int value: 'x'"),
        (["conv(k=3", "--in", "5"], "malformed layer spec"),
    ],
    "solve": [
        (["conv(k=3, s=2, p=1)", "--in", "224", "--out", "113"], "nothing to solve: mark a parameter with ?"),
        (["conv(k=?, s=2)", "--in", "0", "--out", "4"], "input size must be a positive integer (i=0)"),
        (["conv(k=?, s=2)", "--in", "9", "--out", "-3"], "output size must be a non-negative integer (o=-3)"),
        (["conv(k=?, s=2, p=1)", "--where", "k"], "expected a condition"),
        (
            ["conv(k=?, s=2, p=1)", "--in", "224", "--minimize", "z"],
            "cannot optimise z: it is not an unknown",
        ),
        (["conv(k=?, s=2, p=1)", "--in", "224", "--max", "k"], "--max takes NAME=INTEGER"),
        (["conv(k=?, s=2, p=1)", "--in", "2 24"], "--in takes an integer, ? or an expression"),
        (
            ["conv(k=(3, ?), s=2)", "--in", "9", "--out", "3"],
            "0 to 1, axis 0 is conv(k=3, s=2)",
        ),
    ],
    "invert": [
        (["convT(k=3, s=2)"], "invert takes a convolution or a pooling layer, got convT"),
        (["conv(k=3)", "--in", "-2"], "input size must be a positive integer (i=-2)"),
        (["conv(k=3)", "--in", "i"], "--in takes an integer input size"),
        (["conv(k=3)", "--output-padding", "x"], "argument --output-padding/--a: invalid int value: 'x'"),
        (["conv(k=(3, 5), s=2)"], "differs between its 2 spatial axes"),
        (["conv(k=(3, 5), s=2)", "--axis", "-1"], "argument --axis: takes an integer >= 0"),
    ],
    "port": [
        (["conv(k=3)"], "the following arguments are required: --to"),
        (["conv(k=3)", "--to", "caffe"], "argument --to: invalid choice: 'caffe'"),
        (["conv(k=3)", "--to", "tf", "--in", "0"], "input size must be a positive integer (i=0)"),
        (["conv(k=3", "--to", "tf"], "malformed layer spec"),
        (["tf.conv(k=(3, 5), p=same)", "--to", "torch"], "--axis N on the command line"),
    ],
    "net": [
        (["conv(k=3) >> conv(k=2)"], "a chain is specs separated by '>'"),
        (["no_such_file.toml"], "cannot read network file no_such_file.toml"),
        (["no_such_file.onnx", "--check", "H=2,W=2"], "cannot read ONNX file no_such_file.onnx"),
        (["no_such_module_here:factory"], "cannot import no_such_module_here"),
        (["no_such_dir/models.py:build"], "give a module name, not a file path"),
        (["conv(k=3)", "--check", "abc"], "--check takes a size per input axis (i)"),
        (["conv(k=3)", "--input-shape", "1,3"], "--input-shape takes N,C,H[,W...]"),
        (["conv(k=3)", "--at", "j=5"], "--at names the axis 'j'; the network's input axes are i"),
        (["conv(k=3)", "--table", "--at", "i=x"], "--at takes a size per input axis (i)"),
        (["conv(k=3)", "--at", "i=2.5"], "--at takes a size per input axis (i)"),
        (["conv(k=3)", "--at", "i=0"], "--at sizes must be positive integers, got i=0"),
        (["conv(k=3)", "--at", "i=-4"], "--at sizes must be positive integers, got i=-4"),
        (["conv(k=3)", "--at", "i=5,i=6"], "--at gives the axis i twice"),
        (["conv(k=3)", "--at", "i=1e3"], "--at takes a size per input axis (i)"),
        (["conv(k=3)", "--at", "__import__('os')=1"], "--at names the axis"),
        (["conv(k=3)", "--at", ""], "--at takes a size per input axis (i)"),
        (
            ["conv(k=3)", "--input-shape", "1,3,H,W", "--table", "--at", "H=5"],
            "--at gives no size for the axis W; the network's input axes are H, W",
        ),
        (
            ["conv(k=3)", "--input-shape", "1,3,H,8", "--at", "H=5,W=9"],
            "axis W has the fixed size 8 (from the input shape), got 9",
        ),
        (["conv(k=3)", "--at", HUGE], "integers are limited to 10,000 bits"),
        (
            ["conv(k=(3, 5)) > conv(k=3)", "--input-shape", "1,3,D,H,W"],
            "node n1 (conv(k=(3, 5))) has 2 spatial axes but the network has 3 (D, H, W)",
        ),
        (["conv(k=(3, 5)) > maxpool(k=(2, 2, 2))"], "layers give different numbers of spatial axes"),
    ],
    "prove": [
        (["--claim", "i + 1"], "expected a condition"),
        (["--given", "i >= 0"], "--given needs a --claim to go with it"),
        (["no/such/file.toml"], "no such theorem file or directory: no/such/file.toml"),
        (["--claim", "i >= 0", "--snippet"], "--snippet goes with --latex FILE"),
    ],
    "latex": [
        ([""], "latex needs a theorem id, a theorem file or a layer spec"),
        (["NO-SUCH-ID"], "unknown theorem id(s): NO-SUCH-ID"),
        (["R14", "--in", "5"], "--in, --out, --where, --max and --min go with a layer spec"),
        (["conv(k=3)", "--where", "k > 1"], "--where, --max and --min go with unknowns"),
        (["conv(k=3"], "malformed layer spec"),
        (["conv(k=(3, 5))"], "--axis N on the command line"),
    ],
    "draw": [
        (["conv(k=(3, 5, 3))", "--in", "5"], "--axis N on the command line"),
        (["conv(k=(3, 5))", "--in", "5", "--axis", "2"], "axis must be 0 to 1"),
        (["nn.Conv1d(1, 1, 3)", "--in", "5"], "nn.Conv1d(1, 1, 3) runs on 1 (its class says so)"),
        (["conv(k=3)"], "the following arguments are required: --in"),
        (["conv(k=3)", "--in", "5,5,5"], "the input size takes a positive integer N or H,W"),
        (["conv(k=3)", "--in", "5", "-o", "x.bmp"], "cannot tell what to write for 'x.bmp'"),
        (["conv(k=3)", "--in", "5", "--frame", "99"], "frame 99 is out of range"),
        (["conv(k=3)", "--in", "5", "--dpi", "100"], "--dpi is the resolution of a .png or .gif"),
        (
            ["conv(k=3)", "--in", "5", "--dpi", "5000", "-o", "x.png"],
            "argument --dpi: takes an integer from 30",
        ),
        (["conv(k=3)", "--in", "5", "--scale", "nan"], "argument --scale: takes a number from 0.1 to 10"),
    ],
}


def test_every_subcommand_has_bad_input_cases() -> None:
    from symconv.cli import build_parser

    actions = [a for a in build_parser()._actions if a.dest == "command"]
    commands = set(actions[0].choices or {})
    assert commands == set(BAD_BY_COMMAND), commands ^ set(BAD_BY_COMMAND)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [([command, *argv], fragment) for command, cases in BAD_BY_COMMAND.items() for argv, fragment in cases],
    ids=_short,
)
def test_bad_input_of_every_subcommand_exits_2_naming_the_part(
    argv: list[str],
    fragment: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    root: Path,
) -> None:
    monkeypatch.chdir(root)
    line = _one_error_line(main(argv), *capsys.readouterr(), fragment)
    assert main([*argv, "--json"]) == 2
    out, _ = capsys.readouterr()
    assert json.loads(out)["error"] in line


# 1: a negative answer (no solution where one was asked for, a fixed output_padding that misses the asked size).
NEGATIVE = [
    (["solve", "conv(k=?, s=2, p=1)", "--in", "224", "--out", "500", "--max", "k=5"], 1),
    (["solve", "conv(k=?, s=2, p=1)", "--in", "224", "--out", "112", "--max", "k=5"], 0),
    (["invert", "conv(k=3, s=2, p=1)", "--in", "7", "--output-padding", "1"], 1),
    (["invert", "conv(k=3, s=2, p=1)", "--in", "8", "--output-padding", "1"], 0),
    (["invert", "conv(k=3, s=2, p=1)", "--output-padding", "1"], 1),
    # A round trip refuted at i = 2 (a ceil-mode window) does not decide the answer at the size asked.
    (["invert", "nn.MaxPool2d(3, 2, 1, ceil_mode=True)", "--in", "10"], 0),
    (["invert", "nn.MaxPool2d(3, 2, 1, ceil_mode=True)"], 1),
]


@pytest.mark.parametrize(("argv", "code"), NEGATIVE, ids=_short)
def test_negative_answers_exit_1(argv: list[str], code: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == code
    out, err = capsys.readouterr()
    assert out.strip() and not err


# Wrong network files: each refusal names the file, the node and what is wrong with it.
BAD_NETWORK_FILES = [
    (
        'dims = ["H"]\n[[node]]\nname = "a"\nlayer = 3\n',
        "net.toml, node #1 (a): a layer spec must be text, got int",
    ),
    (
        'dims = ["H"]\n[[node]]\nname = "a"\nlayer = "conv(k=0)"\n',
        "net.toml, node #1 (a): kernel size must be a positive integer (k=0)",
    ),
    (
        'dims = ["H"]\n[[node]]\nname = "a"\nlayer = "conv(k=__import__(\'os\'))"\n',
        "net.toml, node #1 (a): unknown function",
    ),
    ('dims = "H"\n[[node]]\nlayer = "conv(k=3)"\n', "net.toml: dims must be a list of names"),
    ('[[theorem]]\nid = "x"\nclaim = "i == i"\n', "net.toml: a network needs [[node]] tables"),
    ('{"dims": ["H"]}', "net.toml: not valid TOML"),
]


@pytest.mark.parametrize(("text", "fragment"), BAD_NETWORK_FILES)
def test_wrong_network_file_exits_2_naming_file_and_node(
    text: str,
    fragment: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.toml").write_text(text)
    _one_error_line(main(["net", "net.toml"]), *capsys.readouterr(), fragment)


@pytest.mark.parametrize(
    ("typed", "meant"), [("samee", "same"), ("SAME", "same"), ("Valid", "valid"), ("casual", "causal")]
)
def test_a_mistyped_padding_word_is_named(typed: str, meant: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A padding word mistyped reads as a symbolic parameter: the error says which word was meant."""
    assert main(["shape", f"conv(k=3, p={typed})", "--in", "10"]) == 2
    err = capsys.readouterr().err
    assert f"'{typed}' reads as a symbol; for the padding word write p={meant}" in err, err


def test_a_symbolic_padding_gets_no_hint(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shape", "conv(k=3, p=pad)", "--in", "10"]) == 2
    assert "padding word" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("spec", "meant"),
    [
        ("nn.conv2d(3, 8, 3, padding=?)", "did you mean nn.Conv2d?"),
        ("torch.nn.maxpool2d(2)", "did you mean torch.nn.MaxPool2d?"),
        ("layers.conv2d(8, 3, padding='same')", "did you mean layers.Conv2D?"),
        (
            "nn.Linear(3, 4)",
            "nn.Linear is not a class symconv reads (only layers of convolution arithmetic: ",
        ),
    ],
)
def test_a_mistyped_class_is_named_with_the_class_meant(
    spec: str, meant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A library class in the wrong case, or one that is not a layer of convolution arithmetic, is not an
    unknown framework 'nn': the error names the classes it may mean."""
    assert main(["solve", spec, "--in", "224", "--out", "112"]) == 2
    err = capsys.readouterr().err
    assert meant in err and "unknown framework" not in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(
    "argv",
    [
        ["solve", "conv(k=?, s=2, p=1)", "--in", "224", "--out", "112", "--where", "k = 3"],
        ["prove", "--claim", "floor((i + 2 - 3)/1) + 1 = i"],
    ],
)
def test_a_single_equals_sign_gets_the_equality_hint(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert "a single = assigns; equality is ==" in capsys.readouterr().err


def test_an_empty_answer_says_a_single_size_stood_for_every_axis(capsys: pytest.CaptureFixture[str]) -> None:
    """--in 224 with --out 112,100: 224 is each axis' input, so no padding gives both outputs; the answer says
    how the single size was read (and nothing is said where the sizes match in count)."""
    spec = "nn.Conv2d(3, 8, 3, stride=2, padding=?)"
    assert main(["solve", spec, "--in", "224", "--out", "112,100"]) == 1
    out = capsys.readouterr().out
    assert (
        "0 solution(s)" in out
        and "note: --in 224 is read as the size of each of the 2 axes --out gives" in out
    )
    assert main(["solve", spec, "--in", "224,200", "--out", "112,101"]) == 1
    out = capsys.readouterr().out
    assert "is read as the size of each" not in out
    assert (
        "note: p is one value shared by every axis; --axis N with that axis' sizes solves each alone" in out
    )


def test_per_axis_sizes_solve_each_axis_with_its_own_layer_and_match_the_rank(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A per-axis spec solved at a size per axis: each axis' own layer (s=(2, 3)); a spec or class of another
    rank than the sizes is refused, as `shape` refuses it."""
    assert main(["solve", "conv(k=?, s=(2,3))", "--in", "224,224", "--out", "112,75", "--json"]) == 0
    assert [s["k"] for s in json.loads(capsys.readouterr().out)["solutions"]] == [1, 2]
    assert main(["solve", "conv(k=?, s=(2,2,2))", "--in", "224,224", "--out", "112,112"]) == 2
    assert "(3 axes) but the input has 2" in capsys.readouterr().err
    assert (
        main(
            [
                "solve",
                "nn.Conv2d(3, 64, ?, stride=2, padding=1)",
                "--in",
                "224,224,224",
                "--out",
                "112,112,112",
            ]
        )
        == 2
    )
    assert "runs on 2 spatial axes (its class says so), but 3 sizes" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("models.py", "write models:factory when it is a .py file"),
        ("conv(k=3) -> maxpool(k=2)", "a chain joins layers with > (not ->)"),
    ],
)
def test_a_network_named_the_wrong_way_says_how_to_name_it(
    source: str, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["net", source]) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1, err
