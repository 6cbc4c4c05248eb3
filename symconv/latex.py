"""LaTeX in the paper's notation: expressions, conditions, layers, answers and whole documents.

Floors and ceilings print as fractions between brackets, Mod as ``\\bmod``, and the names the corpus uses take
the paper's symbols (``ti`` is the stretched input, ``kh`` the dilated kernel):

>>> from .parse import parse_expression as e
>>> latex(e("floor((i + 2*p - k)/s) + 1"))
'\\\\left\\\\lfloor \\\\frac{i + 2 p - k}{s} \\\\right\\\\rfloor + 1'
>>> latex(e("mod(i + 2*p - kh, s) + ti"))
"\\\\tilde{i}' + \\\\left(\\\\left(i + 2 p - \\\\hat{k}\\\\right) \\\\bmod s\\\\right)"

`tidy` is the display simplifier: it rewrites -floor(-x) as ceil(x) and floor((x + s - 1)/s) as ceil(x/s),
which hold for every positive divisor (every layer's domain states s >= 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sympy
from sympy.printing.latex import LatexPrinter

from .arith import quotient_parts

# The paper's symbols for the names the corpus and the engine use.
NOTATION: dict[str, str] = {
    "ti": r"\tilde{i}'",
    "kh": r"\hat{k}",
    "ke": r"\hat{k}",
    "k_eff": r"\hat{k}",
    "ip": "i'",
    "op": "o'",
    "kp": "k'",
    "sp": "s'",
    "pp": "p'",
    "ap": "a'",
    "pb": "p_b",
    "pe": "p_e",
}
_SUBSCRIPT = re.compile(r"([A-Za-z]+)_([A-Za-z0-9]+)\Z")

_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def text(value: str) -> str:
    """Plain text made safe for LaTeX (titles, sources, reasons)."""
    return "".join(_TEXT_ESCAPES.get(ch, ch) for ch in value)


def symbol_latex(name: str) -> str:
    """A name in the paper's notation: ``ti`` -> \\tilde{i}', ``o_prime`` -> o', ``k_h`` -> k_{h}."""
    if name in NOTATION:
        return NOTATION[name]
    if name.endswith("_prime"):
        return symbol_latex(name[: -len("_prime")]) + "'"
    match = _SUBSCRIPT.match(name)
    if match:
        base, sub = match.groups()
        return f"{symbol_latex(base)}_{{{sub}}}"
    return name if len(name) == 1 else rf"\mathit{{{name}}}"


class _Printer(LatexPrinter):
    """SymPy's LaTeX printer with the paper's floors, term order and names."""

    def __init__(self, heads: Mapping[str, str] | None = None) -> None:
        super().__init__({"mul_symbol": None})
        self._heads = dict(heads or {})

    def _print_Symbol(self, expr: sympy.Symbol, style: str = "plain") -> str:
        return symbol_latex(expr.name)

    def _as_ordered_terms(self, expr: sympy.Basic, order: Any = None) -> list[sympy.Basic]:
        # The paper writes i + 2p - k: terms with a plus sign first, then the subtracted ones, numbers last.
        terms = list(super()._as_ordered_terms(expr, order=order))
        return sorted(terms, key=lambda t: (t.is_number, t.could_extract_minus_sign()))

    def _rounding(self, expr: sympy.Basic, left: str, right: str) -> str:
        num, den = quotient_parts(expr.args[0])
        inner = self._print(num) if den == 1 else rf"\frac{{{self._print(num)}}}{{{self._print(den)}}}"
        return rf"\left{left} {inner} \right{right}"

    def _print_floor(self, expr: sympy.Basic, exp: Any = None) -> str:
        tex = self._rounding(expr, r"\lfloor", r"\rfloor")
        return f"{tex}^{{{exp}}}" if exp else tex

    def _print_ceiling(self, expr: sympy.Basic, exp: Any = None) -> str:
        tex = self._rounding(expr, r"\lceil", r"\rceil")
        return f"{tex}^{{{exp}}}" if exp else tex

    def _print_Function(self, expr: sympy.Basic, exp: Any = None) -> str:
        head = self._heads.get(type(expr).__name__)
        if head is None:
            return super()._print_Function(expr, exp)
        args = ", ".join(self._print(arg) for arg in expr.args)
        return f"{head}\\left({args}\\right)"

    def _print_And(self, expr: sympy.Basic) -> str:
        return r" \wedge ".join(self._print(arg) for arg in expr.args)


def tidy(expr: sympy.Basic) -> sympy.Basic:
    """The same value, written the way a paper writes it (ceilings restored from floors).

    Valid wherever every divisor is positive, which every layer's domain states.
    """

    def ceil_of(node: sympy.Basic) -> sympy.Basic | None:
        if isinstance(node, sympy.Mul) and node.args[0] == -1 and len(node.args) == 2:
            inner = node.args[1]
            if isinstance(inner, sympy.floor):
                return sympy.ceiling(-inner.args[0])
            if isinstance(inner, sympy.ceiling):
                return sympy.floor(-inner.args[0])
        if isinstance(node, sympy.floor):
            num, den = quotient_parts(node.args[0])
            if den != 1:
                rest = sympy.expand(num - den + 1)
                if len(sympy.Add.make_args(rest)) < len(sympy.Add.make_args(sympy.expand(num))):
                    return sympy.ceiling(rest / den)
        return None

    def walk(node: sympy.Basic) -> sympy.Basic:
        if not node.args:
            return node
        rebuilt = node.func(*(walk(arg) for arg in node.args))
        better = ceil_of(rebuilt)
        return rebuilt if better is None else walk(better)

    return walk(expr)


def latex(expr: Any, heads: Mapping[str, str] | None = None) -> str:
    """LaTeX for an engine expression or condition (an int prints as itself)."""
    if isinstance(expr, bool):
        return r"\text{true}" if expr else r"\text{false}"
    return _Printer(heads)._print(sympy.sympify(expr) if isinstance(expr, int) else expr)


def conditions(items: Iterable[sympy.Basic], heads: Mapping[str, str] | None = None) -> str:
    """Conditions side by side (the paper lists them separated by commas)."""
    parts: list[str] = []
    for item in items:
        args = item.args if isinstance(item, sympy.And) else (item,)
        parts += [latex(arg, heads) for arg in args]
    return r",\quad ".join(dict.fromkeys(parts))


def assignment(values: Mapping[str, Any]) -> str:
    """``i = 2,\\ k = 1``: a counterexample or a solution."""
    return r",\ ".join(f"{symbol_latex(name)} = {latex(value)}" for name, value in values.items())


def math_block(lines: Sequence[str]) -> str:
    """Display lines (amsmath's gather*); one line goes in \\[ \\]."""
    if len(lines) == 1:
        return f"\\[ {lines[0]} \\]"
    return "\\begin{gather*}\n" + " \\\\\n".join(lines) + "\n\\end{gather*}"


def standalone(body: str, title: str = "") -> str:
    """A complete article (amsmath, booktabs, longtable) around `body`."""
    head = f"\\section*{{{text(title)}}}\n" if title else ""
    return (
        "\\documentclass[11pt]{article}\n"
        "\\usepackage[margin=2cm]{geometry}\n"
        "\\usepackage{amsmath,amssymb}\n"
        "\\usepackage{array,booktabs,longtable}\n"
        "\\begin{document}\n"
        f"{head}{body}\n"
        "\\end{document}\n"
    )
