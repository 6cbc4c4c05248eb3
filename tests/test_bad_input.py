"""Bad input: every case is a SpecError naming the offending part, the CLI exits 2, nothing is executed."""

from __future__ import annotations

import builtins
import os

import pytest

from symconv import SpecError, layer, parse_expression, parse_theorems
from symconv.cli import main

# (spec, a fragment the message must contain)
BAD_SPECS = [
    ("conv(k=0)", "kernel size must be a positive integer (k=0)"),
    ("conv(k=3, s=0, p=1)", "stride must be a positive integer (s=0)"),
    ("conv(k=3, p=-1)", "padding must be >= 0 (p=-1)"),
    ("conv(k=3, p=(1, -2))", "end padding must be >= 0 (pe=-2)"),
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
    ("conv(k=(3, 3))", "a pair (begin, end) is only allowed for the padding p"),
    ("conv(k=3, p=causal)", "padding 'causal' is not defined for conv"),
    ("conv(k=__import__('os').system('echo pwned'))", "unknown function"),
    ("conv(k=__unknown__)", "names may not start with '_'"),
    ("__import__('os').system('echo pwned')", "expected a layer kind"),
    ("conv(k=open('/etc/passwd'))", "unknown function"),
    ("conv(k=k.__class__)", "Attribute is not allowed"),
    ("conv(k=[3])", "List is not allowed"),
    ("conv(k=lambda: 3)", "Lambda is not allowed"),
    ("conv(k=3, s=2)(i)", "expected a layer kind"),
    ("conv(**{'k': 3})", "** is not allowed"),
    ("conv(k=3); import os", "malformed layer spec"),
]

BAD_EXPRESSIONS = [
    ("i / 2", "'/' is only allowed inside floor() or ceil()"),
    ("__import__('os').system('ls')", "unknown function"),
    ("().__class__.__bases__[0].__subclasses__()", "unknown function"),
    ("().__class__", "Attribute is not allowed"),
    ("eval('1')", "unknown function"),
    ("exec('x=1')", "unknown function"),
    ("i if k else s", "IfExp is not allowed"),
    ("[x for x in y]", "ListComp is not allowed"),
    ("i ** k", "exponent of ** must be an integer literal"),
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


def test_nothing_is_executed(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    calls: list[str] = []
    monkeypatch.setattr(os, "system", lambda command: calls.append(command) or 0)
    real_import = builtins.__import__

    def spy(name, *args, **kwargs):  # type: ignore[no-untyped-def]
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
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, root
) -> None:
    monkeypatch.chdir(root)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err


def test_cli_bad_input_json_names_the_error(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["shape", "conv(k=3, s=0)", "--in", "8", "--json"]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out) == {"error": "stride must be a positive integer (s=0) in conv(k=3, s=0)"}
    assert "stride" in err
