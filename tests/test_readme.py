"""A newcomer's first session: every README console example that shows its output is run verbatim (in a fresh
directory with the theorem corpus beside it) and its printed output compared with the README.

In the README's output, a line `...` (indented or not) stands for any lines, `...` inside a line for any text, and a time in
milliseconds for any time. An example without shown output (it writes a file or needs the reader's own model)
is not run here.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import ROOT


@dataclass(frozen=True)
class Example:
    command: str
    shown: tuple[str, ...]


def examples() -> list[Example]:
    """The console blocks' commands (`$ symconv ...`) with the lines after each, up to the next command."""
    found: list[Example] = []
    text = (ROOT / "README.md").read_text()
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        command: str | None = None
        shown: list[str] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    found.append(Example(command, tuple(shown)))
                command, shown = line[2:], []
            else:
                shown.append(line)
        if command is not None:
            found.append(Example(command, tuple(shown)))
    return [e for e in found if e.shown and e.command.startswith("symconv ")]


def _pattern(line: str) -> re.Pattern[str]:
    parts = [re.escape(part) for part in line.split("...")]
    text = ".*".join(parts)
    # Timings differ from run to run.
    text = re.sub(r"\d+\\\.\d+\\ ms", r"\\d+\\.\\d+\\ ms", text)
    text = re.sub(r"(\\ )+", r"\\ +", text)
    return re.compile(text + r"\Z")


def matches(shown: tuple[str, ...], printed: list[str]) -> bool:
    """Whether the printed lines fit the shown ones, `...` lines standing for any number of lines."""
    if not shown:
        return not printed
    head, *rest = shown
    if head.strip() == "...":
        return any(matches(tuple(rest), printed[start:]) for start in range(len(printed) + 1))
    return bool(printed) and bool(_pattern(head).match(printed[0])) and matches(tuple(rest), printed[1:])


EXAMPLES = examples()


def test_the_readme_has_examples_with_output() -> None:
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.command[8:50])
def test_readme_example_prints_what_the_readme_shows(example: Example, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "proofs", tmp_path / "proofs")
    argv = shlex.split(example.command, comments=True)
    result = subprocess.run(
        [sys.executable, "-m", "symconv", *argv[1:]],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    printed = (result.stdout + result.stderr).rstrip("\n").split("\n")
    assert matches(example.shown, printed), "\n".join(printed)


def test_the_matcher_accepts_elisions_and_refuses_differences() -> None:
    assert matches(("a", "...", "d"), ["a", "b", "c", "d"])
    assert matches(("x = (..., ...) y",), ["x = (1, 2) y"])
    assert matches(("R1   proved   9.9 ms  unbounded",), ["R1   proved   12.3 ms  unbounded"])
    assert not matches(("a", "d"), ["a", "b", "d"])
    assert not matches(("a",), ["a", "b"])


def test_readme_python_examples_run_as_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    import doctest

    monkeypatch.chdir(ROOT)
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    test = doctest.DocTestParser().get_doctest("\n".join(blocks), {}, "README.md", str(ROOT / "README.md"), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert test.examples and runner.failures == 0, f"{runner.failures} README example(s) failed"
