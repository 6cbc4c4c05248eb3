"""LaTeX in the paper's notation: expressions, conditions, layers, answers and whole documents.

Floors and ceilings print as fractions between brackets, Mod as ``\\bmod``, and the names the corpus uses take
the paper's symbols (``ti`` is the stretched input, ``kh`` the dilated kernel):

>>> from symconv.core.parse import parse_expression as e
>>> latex(e("floor((i + 2*p - k)/s) + 1"))
'\\\\left\\\\lfloor \\\\frac{i + 2 p - k}{s} \\\\right\\\\rfloor + 1'
>>> latex(e("mod(i + 2*p - kh, s) + ti"))
"\\\\tilde{i}' + \\\\left(\\\\left(i + 2 p - \\\\hat{k}\\\\right) \\\\bmod s\\\\right)"

Expressions are shown after `symconv.core.arith.tidy`, the display simplifier: it rewrites -floor(-x) as ceil(x)
and floor((x + s - 1)/s) as ceil(x/s), which hold for every positive divisor (every layer's domain states s >= 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sympy
from sympy.printing.latex import LatexPrinter

from ..core.arith import quotient_parts

# The paper's symbols for the names the corpus and the engine use. `latex` checks that no two names of one
# expression share a symbol: a clash prints the later names as themselves.
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
# The first name of each symbol in NOTATION keeps it when two names of one text would share it.
_CANONICAL = {tex: name for name, tex in reversed(NOTATION.items())}
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
    "|": r"\textbar{}",
}
# Characters pdflatex's default fonts lack, as math; any other one beyond Latin-1 is written as its code point.
_UNICODE_MATH = {
    "≤": r"\leq",
    "≥": r"\geq",
    "≠": r"\neq",
    "×": r"\times",
    "→": r"\to",
    "←": r"\leftarrow",
    "⇒": r"\Rightarrow",
    "∑": r"\sum",
    "∏": r"\prod",
    "∞": r"\infty",
    "±": r"\pm",
    "·": r"\cdot",
    "√": r"\surd",
    "⌊": r"\lfloor",
    "⌋": r"\rfloor",
    "⌈": r"\lceil",
    "⌉": r"\rceil",
    "′": "'",
    **{
        chr(0x3B1 + n): "\\" + name
        for n, name in enumerate(
            "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho varsigma "
            "sigma tau upsilon phi chi psi omega".split()
        )
        if name != "omicron"  # LaTeX has no \omicron (and \o is the letter ø)
    },
}
_TEXT_SAFE = set("–—‘’“”…")


def _text_char(ch: str) -> str:
    if ch in _TEXT_ESCAPES:
        return _TEXT_ESCAPES[ch]
    if ord(ch) < 0x250 or ch in _TEXT_SAFE:
        return ch
    if ch in _UNICODE_MATH:
        return f"${_UNICODE_MATH[ch]}$"
    return f"[U+{ord(ch):04X}]"


def text(value: str) -> str:
    """Plain text made safe for LaTeX (titles, sources, reasons): specials escaped, white space (blank lines
    included, which would end a paragraph inside a heading) made single spaces, characters that pdflatex's
    default fonts lack written as math or as their code point."""
    return "".join(_text_char(ch) for ch in " ".join(value.split()))


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
    return name if len(name) == 1 else _plain(name)


def _plain(name: str) -> str:
    return r"\mathit{" + name.replace("_", r"\_") + "}"


def names_latex(symbols: Iterable[sympy.Symbol]) -> dict[str, str]:
    """Each name's LaTeX, with no two names sharing one: on a clash the names after the first (in sorted
    order, the paper's own names first) print as themselves."""
    taken: dict[str, str] = {}
    out: dict[str, str] = {}
    for name in sorted(
        {s.name for s in symbols}, key=lambda n: (_CANONICAL.get(NOTATION.get(n, "")) != n, n)
    ):
        tex = symbol_latex(name)
        if tex in taken and taken[tex] != name:
            tex = _plain(name)
        taken.setdefault(tex, name)
        out[name] = tex
    return out


def _grouped(expr: sympy.Basic) -> sympy.Basic:
    """d + i - d k - 1 as i - d(k - 1) - 1: a symbol's terms collected when that shortens the sum."""
    if not isinstance(expr, sympy.Add):
        return expr
    for x in sorted(expr.free_symbols, key=lambda x: x.name):
        collected = sympy.collect(expr, x, evaluate=True)
        if len(sympy.Add.make_args(collected)) < len(expr.args):
            terms = []
            for term in sympy.Add.make_args(collected):
                factors = sympy.Mul.make_args(term)
                inner = [f for f in factors if isinstance(f, sympy.Add)]
                if len(inner) == 1 and inner[0].could_extract_minus_sign():
                    rest = [f for f in factors if f is not inner[0]]
                    term = sympy.Mul(-1, *rest, -inner[0], evaluate=False)
                terms.append(term)
            return sympy.Add(*terms, evaluate=False)
    return expr


class _Printer(LatexPrinter):
    """SymPy's LaTeX printer with the paper's floors, term order and names."""

    def __init__(
        self, heads: Mapping[str, str] | None = None, names: Mapping[str, str] | None = None
    ) -> None:
        super().__init__({"mul_symbol": None})
        self._heads = dict(heads or {})
        self._names = dict(names or {})
        self._top: Any = None

    def _print_Symbol(self, expr: sympy.Symbol, style: str = "plain") -> str:
        return self._names.get(expr.name) or symbol_latex(expr.name)

    def _print_Mod(self, expr: sympy.Basic, exp: Any = None) -> str:
        # Always bracketed, and a compound or negative left side bracketed too: -(k mod s) and (-k) mod s differ.
        a, b = expr.args
        left = self._print(a)
        if not (a.is_Symbol or (a.is_Integer and a >= 0) or isinstance(a, sympy.floor | sympy.ceiling)):
            left = rf"\left({left}\right)"
        right = self._print(b) if (b.is_Symbol or b.is_Integer) else rf"\left({self._print(b)}\right)"
        if expr is self._top and not exp:
            return rf"{left} \bmod {right}"  # a whole expression needs no outer brackets
        tex = rf"\left({left} \bmod {right}\right)"
        return f"{tex}^{{{exp}}}" if exp else tex

    def _needs_mul_brackets(self, expr: sympy.Basic, first: bool = False, last: bool = False) -> bool:
        if isinstance(expr, sympy.Mod) or (isinstance(expr, sympy.Pow) and isinstance(expr.base, sympy.Mod)):
            return False
        return bool(super()._needs_mul_brackets(expr, first=first, last=last))

    def parenthesize(self, item: Any, level: Any, is_neg: bool = False, strict: bool = False) -> str:
        if isinstance(item, sympy.Mod):
            return str(self._print(item))
        return str(super().parenthesize(item, level, is_neg=is_neg, strict=strict))

    def _needs_add_brackets(self, expr: sympy.Basic) -> bool:
        # A Mod brings its own brackets.
        return bool(expr.is_Relational or expr.is_Add)

    def _as_ordered_terms(self, expr: sympy.Basic, order: Any = None) -> list[sympy.Basic]:
        # The paper writes i + 2p - k: terms with a plus sign first, then the subtracted ones, numbers last.
        terms = list(super()._as_ordered_terms(expr, order=order))
        return sorted(terms, key=lambda t: (t.is_number, t.could_extract_minus_sign()))

    def _rounding(self, expr: sympy.Basic, left: str, right: str) -> str:
        num, den = quotient_parts(expr.args[0])
        num = _grouped(num)
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
            return str(super()._print_Function(expr, exp))
        args = ", ".join(self._print(arg) for arg in expr.args)
        return f"{head}\\left({args}\\right)"

    def _print_ITE(self, expr: sympy.Basic) -> str:
        condition, then, otherwise = (self._print(arg) for arg in expr.args)
        return rf"\left(\left({condition}\right) \wedge {then} \;\vee\; \neg\left({condition}\right) \wedge {otherwise}\right)"

    def _print_And(self, expr: sympy.Basic) -> str:
        return r" \wedge ".join(self._print(arg) for arg in expr.args)


def sum_lines(
    expr: sympy.Basic,
    heads: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
    width: int = 120,
) -> list[str]:
    """A long sum cut into lines of about `width` characters of LaTeX at its + and - signs (a display line
    that long no longer fits the page); anything else is one line."""
    whole = latex(expr, heads, names)
    if not isinstance(expr, sympy.Add) or len(whole) <= width:
        return [whole]
    if names is None:
        names = names_latex(expr.free_symbols)
    printer = _Printer(heads, names)
    lines = [""]
    for index, term in enumerate(printer._as_ordered_terms(expr)):
        sign = "" if index == 0 else " + "
        if index and term.could_extract_minus_sign():
            sign, term = " - ", -term
        piece = printer._print(term)
        if printer._needs_add_brackets(term):
            piece = rf"\left({piece}\right)"
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines.append("")
        lines[-1] += f"{sign}{piece}" if lines[-1] or index == 0 else f"{sign.strip()} {piece}"
    return lines


def latex(expr: Any, heads: Mapping[str, str] | None = None, names: Mapping[str, str] | None = None) -> str:
    """LaTeX for an engine expression or condition (an int prints as itself). `names` fixes the symbols of a
    larger text (names_latex over all of them); by default this expression's own names, clashes resolved."""
    if isinstance(expr, bool):
        return r"\text{true}" if expr else r"\text{false}"
    expr = sympy.Integer(expr) if isinstance(expr, int) else expr
    if names is None:
        names = names_latex(expr.free_symbols) if isinstance(expr, sympy.Basic) else {}
    printer = _Printer(heads, names)
    printer._top = expr
    return str(printer._print(expr))


def conditions(
    items: Iterable[sympy.Basic],
    heads: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
) -> str:
    """Conditions side by side (the paper lists them separated by commas), each once."""
    flat: list[sympy.Basic] = []
    for item in items:
        flat += list(item.args) if isinstance(item, sympy.And) else [item]
    unique = list(dict.fromkeys(flat))
    if names is None:
        names = names_latex(set().union(*(c.free_symbols for c in unique)) if unique else set())
    return r",\quad ".join(latex(c, heads, names) for c in unique)


def assignment(values: Mapping[str, Any]) -> str:
    """``i = 2,\\ k = 1``: a counterexample or a solution."""
    names = names_latex(sympy.Symbol(name) for name in values)
    return r",\ ".join(f"{names[name]} = {latex(value)}" for name, value in values.items())


def math_block(lines: Sequence[str]) -> str:
    """Display lines (amsmath's gather*); one line goes in \\[ \\]."""
    if len(lines) == 1:
        return f"\\[ {lines[0]} \\]"
    return "\\begin{gather*}\n" + " \\\\\n".join(lines) + "\n\\end{gather*}"


PACKAGES = "amsmath,amssymb,array,booktabs,longtable"


def standalone(body: str, title: str = "") -> str:
    """A complete article (amsmath, booktabs, longtable) around `body`."""
    head = f"\\section*{{{text(title)}}}\n" if title else ""
    return (
        "\\documentclass[11pt]{article}\n"
        "\\usepackage[margin=2cm]{geometry}\n"
        f"\\usepackage{{{PACKAGES}}}\n"
        "\\begin{document}\n"
        f"{head}{body}\n"
        "\\end{document}\n"
    )
