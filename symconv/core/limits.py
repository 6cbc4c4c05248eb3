"""Limits on input: how deep and how large an expression may grow, how much of a file is read, which numbers
the command line takes. Every check runs before the work it protects, and a refusal is a SpecError that names
the part and the limit.

Expressions are measured on their syntax tree, before SymPy sees them: the depth (each operator, call,
comparison or ``not`` is one level), and for every subexpression an upper bound on the size of its expanded form
(the bits of its numbers, its polynomial degree and its number of terms), so that ``((9**64)**64)**64`` or
``(a+b+c+d+e+f+g+h)**64`` is refused instead of computed.

>>> import ast
>>> check_tree(ast.parse("floor((i + 2*p - k)/s) + 1", mode="eval").body, "floor((i + 2*p - k)/s) + 1")
>>> check_tree(ast.parse("(9**64)**64", mode="eval").body, "(9**64)**64")
Traceback (most recent call last):
...
symconv.core.errors.SpecError: the power (9**64)**64 would have about 3,909 digits; symconv limits numbers to 10,000 bits
"""

from __future__ import annotations

import ast
import math
import os
import re
import stat
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from .errors import SpecError

MAX_DEPTH = 100
MAX_BITS = 10_000
MAX_DEGREE = 16
MAX_TERMS = 1_000
MAX_TEXT_FILE = 1_000_000
MAX_ONNX_FILE = 200_000_000
MAX_SECONDS = 86_400.0
# invert lists the output_padding of every residue of i mod s: for strides up to this (the work grows as s**2).
MAX_RESIDUE_TABLE = 256
MIN_SECONDS = 0.001
# Python prints at most 4,300 digits of an integer by default; symconv's answers may be products of inputs of
# MAX_BITS each (convT multiplies the stride by the input size), so the command line prints up to this many.
MAX_PRINTED_DIGITS = 100_000
# How many solutions `solve` lists unless told (--limit, symconv.solve(limit=...)); the README states it.
DEFAULT_LIMIT = 100
_LOG10_2 = math.log10(2)
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
_SHOWN = 60


def shown(text: str, width: int = _SHOWN) -> str:
    """`text` cut to `width` characters (with ...) for a message: the offending part, not all 10,000 of them."""
    return text if len(text) <= width else text[: width - 3] + "..."


def digits_text(bits: float) -> str:
    """How many decimal digits a number of `bits` bits has, in words: 3,914 or 10**116."""
    if bits < 3e6:
        return f"{max(1, round(bits * _LOG10_2)):,}"
    if bits == math.inf:
        return "more than 10**300"
    return f"10**{int(math.log10(bits) + math.log10(_LOG10_2))}"


@dataclass(frozen=True)
class Size:
    """An upper bound on the expanded form of an expression, numerator over denominator: the bits of its
    largest number (log2 of its magnitude), its total degree in the symbols, the number of terms of its
    numerator and of its denominator, and whether it may be a fraction at all."""

    bits: float = 0.0
    degree: int = 0
    terms: int = 1
    den: int = 1
    fraction: bool = False


_ATOM = Size()


def _depth(tree: ast.AST) -> int:
    """The number of nested expression nodes on the longest path (iterative: the tree may be very deep)."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + 1 if isinstance(child, ast.expr) else depth))
    return deepest


def _literal_exponent(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def _has_names(node: ast.AST) -> bool:
    return any(isinstance(child, ast.Name) for child in ast.walk(node))


def _power(base: Size, exponent: int) -> Size:
    if exponent <= 0:
        return Size()
    return Size(
        base.bits * exponent,
        base.degree * exponent,
        _expanded(base.terms, exponent),
        _expanded(base.den, exponent),
        base.fraction,
    )


def _expanded(terms: int, exponent: int) -> int:
    """At most C(t + e - 1, e) terms in a sum of t terms to the power e (computed only where it is small)."""
    if terms == 1:
        return 1
    return math.comb(terms + exponent - 1, exponent) if exponent <= MAX_DEGREE else MAX_TERMS + 1


def _sum(left: Size, right: Size) -> Size:
    if left.fraction or right.fraction:
        # a/b + c/d = (a*d + c*b)/(b*d): the numerator multiplies the parts.
        return Size(
            left.bits + right.bits + 1,
            left.degree + right.degree,
            left.terms * right.den + right.terms * left.den,
            left.den * right.den,
            True,
        )
    constant = left.degree == 0 and right.degree == 0
    terms = 1 if constant else left.terms + right.terms
    return Size(max(left.bits, right.bits) + 1, max(left.degree, right.degree), terms)


def _product(left: Size, right: Size) -> Size:
    return Size(
        left.bits + right.bits,
        left.degree + right.degree,
        left.terms * right.terms,
        left.den * right.den,
        left.fraction or right.fraction,
    )


def _quotient(left: Size, right: Size) -> Size:
    return Size(
        left.bits + right.bits,
        left.degree + right.degree,
        left.terms * right.den,
        left.den * right.terms,
        True,
    )


def _atom(parts: list[Size]) -> Size:
    """floor(), min() and the like: an atom for expansion, as large as its largest argument."""
    return Size(max((p.bits for p in parts), default=0.0), max((p.degree for p in parts), default=0))


def _layer(size: Size, parameters: list[Size]) -> Size:
    """A layer's output size: floor((i + 2p - d*(k - 1) - 1)/s) + 1, s*(i - 1) + d*(k - 1) + ... : at most the
    input size times a parameter, or two parameters multiplied, plus a few terms."""
    bits = max((p.bits for p in parameters), default=0.0)
    degree = max((p.degree for p in parameters), default=0)
    terms = max((p.terms for p in parameters), default=1)
    return Size(
        max(size.bits + bits, 2 * bits) + 4,
        max(size.degree + degree, 2 * degree),
        (size.terms + len(parameters) * terms) * terms + 2,
    )


class _Measure:
    """Sizes bottom-up, refusing at the first (innermost) node past a limit."""

    def __init__(self, text: str, words: Collection[str]) -> None:
        self.text = text.strip()
        self.words = words

    def segment(self, node: ast.AST) -> str:
        return shown(ast.get_source_segment(self.text, node) or type(node).__name__)

    def size(self, node: ast.AST) -> Size:
        found = self._size(node)
        self.check(node, found)
        return found

    def children(self, node: ast.AST) -> list[Size]:
        return [self.size(child) for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)]

    def _size(self, node: ast.AST) -> Size:
        if isinstance(node, ast.Constant):
            value = node.value
            if type(value) is int:
                return Size(bits=math.log2(abs(value)) if value else 0.0)
            return _ATOM
        if isinstance(node, ast.Name):
            return _ATOM if node.id in self.words else Size(degree=1)
        if isinstance(node, ast.UnaryOp):
            return self.size(node.operand)
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Tuple):
            parts = self.children(node)
            return _atom(parts)
        self.children(node)
        return _ATOM

    def binop(self, node: ast.BinOp) -> Size:
        left = self.size(node.left)
        if isinstance(node.op, ast.Pow):
            exponent = _literal_exponent(node.right)
            if exponent is None:
                right = self.size(node.right)
                if _has_names(node.right):
                    return _ATOM  # the parser refuses a symbolic exponent
                # A constant expression: below 2**bits (capped where the bound is astronomical anyway).
                exponent = 2 ** math.ceil(min(right.bits, 1000.0))
            return _power(left, exponent)
        right = self.size(node.right)
        if isinstance(node.op, ast.Add | ast.Sub):
            return _sum(left, right)
        if isinstance(node.op, ast.Mult):
            return _product(left, right)
        if isinstance(node.op, ast.Div):
            return _quotient(left, right)
        quotient = _quotient(left, right)  # // and %: floor(a/b) expands a/b first
        self.check(node, quotient)
        return _atom([left, right])

    def call(self, node: ast.Call) -> Size:
        if isinstance(node.func, ast.Call):  # a layer applied to a size: conv(k=3)(i)
            parameters = [self.size(keyword.value) for keyword in node.func.keywords]
            parameters += [self.size(arg) for arg in node.func.args]
            sizes = [self.size(arg) for arg in node.args]
            return _layer(sizes[0] if len(sizes) == 1 else _atom(sizes), parameters)
        parts = [self.size(arg) for arg in node.args] + [self.size(k.value) for k in node.keywords]
        return _atom(parts)

    def check(self, node: ast.AST, size: Size) -> None:
        if size.degree > MAX_DEGREE:
            self.refuse(
                node, f"has degree {size.degree:,} in its symbols", f"polynomials to degree {MAX_DEGREE}"
            )
        if size.bits > MAX_BITS:
            verb = "has" if isinstance(node, ast.Constant) else "would have"
            self.refuse(
                node, f"{verb} about {digits_text(size.bits)} digits", f"numbers to {MAX_BITS:,} bits"
            )
        terms = max(size.terms, size.den)
        if terms > MAX_TERMS:
            many = f"{terms:,}" if terms < 10**12 else f"10**{len(str(terms)) - 1}"
            self.refuse(node, f"expands to up to {many} terms", f"expansions to {MAX_TERMS:,} terms")

    def refuse(self, node: ast.AST, problem: str, rule: str) -> None:
        segment = self.segment(node)
        where = "" if segment == self.text else f" in {shown(self.text)!r}"
        raise SpecError(f"{_kind(node)} {segment} {problem}; symconv limits {rule}{where}")


def _kind(node: ast.AST) -> str:
    if isinstance(node, ast.Constant):
        return "the integer"
    if isinstance(node, ast.BinOp):
        names = {ast.Pow: "power", ast.Mult: "product", ast.Add: "sum", ast.Sub: "difference"}
        return f"the {names.get(type(node.op), 'quotient')}"
    return "the expression"


def check_tree(tree: ast.AST, text: str, what: str = "expression", words: Collection[str] = ()) -> None:
    """Refuse the syntax tree of `text` (an expression, condition or layer spec: `what`) nested deeper than
    MAX_DEPTH, or whose expanded form would pass MAX_BITS, MAX_DEGREE or MAX_TERMS somewhere. `words` are
    names that are values, not symbols (same, valid, true, ...)."""
    depth = _depth(tree)
    if depth > MAX_DEPTH:
        raise SpecError(
            f"the {what} nests {depth} levels deep; symconv limits nesting to {MAX_DEPTH} levels (each operator, "
            f"call, comparison or 'not' is one level): {shown(text.strip())!r}"
        )
    _Measure(text, words).size(tree)


def integer(text: str, what: str) -> int | None:
    """The integer `text` spells (ASCII digits, an optional sign), or None; SpecError past MAX_BITS."""
    text = text.strip()
    if not _INTEGER.match(text):
        return None
    digits = len(text.lstrip("+-").lstrip("0"))
    if digits * 3 > MAX_BITS or int(text).bit_length() > MAX_BITS:
        raise SpecError(
            f"{what} has {digits:,} digits; integers are limited to {MAX_BITS:,} bits "
            f"(about {digits_text(MAX_BITS)} digits)"
        )
    return int(text)


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size_text(count: int) -> str:
    return f"{count / 1_000_000:g} MB" if count >= 1_000_000 else f"{count:,} bytes"


def read_bytes(path: str | os.PathLike[str], cap: int, what: str) -> bytes:
    """The bytes of the regular file `path`, at most `cap` of them: a device, FIFO or directory, or a larger
    file, is a SpecError naming `what` (e.g. "theorem file") and the rule. Reads at most cap + 1 bytes."""
    name = os.fspath(path)
    try:
        mode = os.stat(name).st_mode  # stat first: opening a device or a FIFO can block or have effects
        if not stat.S_ISREG(mode):
            raise SpecError(f"{what} {name} is {_file_kind(mode)}; give a regular file")
        # O_NONBLOCK: should the path have become a FIFO since, open() returns instead of waiting for a writer.
        descriptor = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise SpecError(f"cannot read {what} {name}: {error.strerror or error}") from None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SpecError(f"{what} {name} is {_file_kind(info.st_mode)}; give a regular file")
        too_large = SpecError(
            f"{what} {name} is larger than {_size_text(cap)}; {what}s are limited to {_size_text(cap)}"
        )
        if info.st_size > cap:
            raise too_large
        try:
            data = handle.read(cap + 1)
        except OSError as error:
            raise SpecError(f"cannot read {what} {name}: {error.strerror or error}") from None
    if len(data) > cap:
        raise too_large
    return data


def read_text(path: str | os.PathLike[str], what: str, cap: int = MAX_TEXT_FILE) -> str:
    """The UTF-8 text of the regular file `path` (see read_bytes), at most `cap` bytes."""
    data = read_bytes(path, cap, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(f"{what} {os.fspath(path)} is not UTF-8 text (byte {error.start})") from None


def exists(path: str | os.PathLike[str]) -> bool:
    """Whether `path` names something on disk; False for a name the system refuses (too long, a NUL byte)."""
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


__all__ = [
    "MAX_BITS",
    "MAX_DEGREE",
    "MAX_DEPTH",
    "MAX_ONNX_FILE",
    "MAX_PRINTED_DIGITS",
    "MAX_RESIDUE_TABLE",
    "MAX_SECONDS",
    "MAX_TERMS",
    "MAX_TEXT_FILE",
    "MIN_SECONDS",
    "Size",
    "check_tree",
    "exists",
    "integer",
    "read_bytes",
    "read_text",
    "shown",
]
