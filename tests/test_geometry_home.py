"""One home for geometry: no module outside the conventions (frameworks.py) and the window maps (windowmap.py)
computes a window start, a padding split or an effective kernel itself; each calls them."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "symconv"
HOMES = {"frameworks.py", "windowmap.py"}
PATTERNS = {
    # d*(k - 1) + 1, or (k - 1)*d
    "an effective kernel": re.compile(
        r"\bd\w*\s*\*\s*\(\s*k\w*\s*-\s*1\s*\)|\(\s*k\w*\s*-\s*1\s*\)\s*\*\s*d\w*"
    ),
    # total // 2, floor_div(total, 2): where the odd padding element goes
    "a padding split": re.compile(
        r"\b(?:total|needed|pad\w*|p|k\w*|span|d\s*\*\s*\(k\s*-\s*1\))\s*//\s*2\b"
        r"|floor_div\([^()]*,\s*2\)|ceil_div\(\s*total"
    ),
    # j*s - pb: where window j starts
    "a window start": re.compile(r"\b[jmqy]\w*\s*\*\s*s\w*\s*-\s*p\w*|\bs\w*\s*\*\s*[jmqy]\w*\s*-\s*p\w*"),
}


def code_lines(path: Path) -> list[tuple[int, str]]:
    """The module's code with comments and string literals (docstrings included) blanked out."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    blank = [list(line) for line in lines]
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (tokenize.COMMENT, tokenize.STRING) or token.type == getattr(
            tokenize, "FSTRING_MIDDLE", -1
        ):
            (r0, c0), (r1, c1) = token.start, token.end
            for row in range(r0, r1 + 1):
                start = c0 if row == r0 else 0
                end = c1 if row == r1 else len(blank[row - 1])
                for col in range(start, end):
                    blank[row - 1][col] = " "
    return [(n, "".join(chars)) for n, chars in enumerate(blank, start=1)]


MODULES = sorted(p for p in ROOT.rglob("*.py") if p.name not in HOMES)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_computes_geometry_outside_its_home(path: Path) -> None:
    found = [
        f"{path.name}:{n}: {what}: {line.strip()}"
        for n, line in code_lines(path)
        for what, pattern in PATTERNS.items()
        if pattern.search(line)
    ]
    assert not found, "geometry computed outside frameworks.py/windowmap.py:\n" + "\n".join(found)


def test_the_patterns_catch_what_they_are_for() -> None:
    caught = {
        "k_eff = d * (k - 1) + 1": "an effective kernel",
        "left = total // 2": "a padding split",
        "begin = pad // 2": "a padding split",
        "start = j * s - pb": "a window start",
    }
    for line, what in caught.items():
        assert PATTERNS[what].search(line), line


FRAMEWORK_NAMES = {"torch", "tf", "keras", "onnx", "jax", "paper"}


def _names_a_framework(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in FRAMEWORK_NAMES
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_names_a_framework(item) for item in node.elts)
    return False


def framework_branches(source: str) -> list[int]:
    """Lines that compare something with a framework's name (`framework == "tf"`, `target in ("torch", ...)`)."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Compare)
        and any(_names_a_framework(c) for c in [node.left, *node.comparators])
    ]


# constructors.py reads each library's own constructor syntax (nn.Conv2d, layers.Conv2D, make_node): the
# library it reads is its subject, not a convention.
@pytest.mark.parametrize(
    "path",
    sorted(p for p in ROOT.rglob("*.py") if p.name not in ("frameworks.py", "constructors.py")),
    ids=str,
)
def test_no_module_branches_on_a_framework_name(path: Path) -> None:
    """What differs between frameworks is data in their Convention (frameworks.py): a module that tests a
    framework's name would have to change when a framework is added or fixed."""
    lines = framework_branches(path.read_text(encoding="utf-8"))
    assert not lines, (
        f"{path.name} branches on a framework name at lines {lines}: read its Convention instead"
    )


def test_the_framework_branch_check_catches_what_it_is_for() -> None:
    assert framework_branches('if made.framework in ("jax", "keras"):\n    pass\n') == [1]
    assert framework_branches('ok = target != "torch"\n') == [1]
    assert framework_branches('ok = kind == "conv"\n') == []
