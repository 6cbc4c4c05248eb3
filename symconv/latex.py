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
            if isinstance(inner, sympy.floor | sympy.ceiling):
                num, den = quotient_parts(inner.args[0])
                flipped = sympy.ceiling if isinstance(inner, sympy.floor) else sympy.floor
                return flipped(sympy.expand(-num) / den)
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
        if isinstance(node, sympy.core.relational.Relational) and not isinstance(node.lhs, sympy.Piecewise):
            # i + 2 >= 3 reads better as i >= 1: the numbers gathered on the right.
            diff = sympy.expand(node.lhs - node.rhs)
            constant, rest = diff.as_coeff_Add()
            if rest.free_symbols:
                return type(node)(walk(rest), -constant, evaluate=False)
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
