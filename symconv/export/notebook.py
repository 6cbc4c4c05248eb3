"""What a notebook shows for each model object: the LaTeX behind ``_repr_latex_`` (symconv.core.display).

>>> import symconv
>>> symconv.layer("conv(k=3, s=2, p=1)")._repr_latex_()
'$\\\\displaystyle o = \\\\left\\\\lfloor \\\\frac{i - 1}{2} \\\\right\\\\rfloor + 1$'
"""

from __future__ import annotations

from functools import singledispatch

from ..core.arith import symbol, tidy
from ..core.layers import Axes, Layer
from ..logic.prove import Refuted, Unknown
from ..logic.solve import Answer
from ..logic.theorem import Theorem
from ..logic.transpose import Inverse
from ..nets.validset import ValidSet
from .document import answer_lines, statement_latex
from .latex import assignment, latex, symbol_latex, text


@singledispatch
def render(thing: object) -> str | None:
    """The notebook form of `thing`, None for an object with no LaTeX form."""
    return None


@render.register
def _layer(made: Layer) -> str:
    """The output size as a formula of the input size i, in the paper's notation."""
    return f"$\\displaystyle o = {latex(tidy(made.output_expr(symbol('i'))))}$"


@render.register
def _axes(made: Axes) -> str:
    """One formula per axis: o_n of the input size i_n."""
    lines = [
        f"o_{n} = {latex(tidy(layer.output_expr(symbol(f'i_{n}'))))}" for n, layer in enumerate(made.layers)
    ]
    return "$\\displaystyle " + ", \\quad ".join(lines) + "$"


@render.register
def _refuted(result: Refuted) -> str:
    return rf"$\text{{refuted at }} {assignment(result.counterexample)}$"


@render.register
def _unknown(result: Unknown) -> str:
    return rf"$\text{{unknown: {text(result.reason)}}}$"


@render.register
def _inverse(inverse: Inverse) -> str:
    """k', s', p', the stretched input and a in the paper's notation, with the round trip's verdict."""
    t = inverse.transposed
    parts = [
        f"k' = {latex(t['k'])}",
        "s' = 1",
        f"p' = {latex(t['p'])}",
        rf"\tilde{{i}}' = {latex(t['stretched_input'])}",
        f"a = {latex(t['a'])}",
    ]
    verdict = text(f"round trip: {inverse.round_trip.status}")
    return "$\\displaystyle " + r",\ ".join(parts) + rf" \quad \text{{({verdict})}}$"


@render.register
def _theorem(theorem: Theorem) -> str:
    """The statement as one formula: the conditions imply the claim."""
    return f"$\\displaystyle {statement_latex(theorem)}$"


@render.register
def _answer(answer: Answer) -> str:
    lines = answer_lines(answer)
    if len(lines) == 1:
        return f"$\\displaystyle {lines[0]}$"
    return "$$\\begin{gathered}" + " \\\\ ".join(lines) + "\\end{gathered}$$"


def valid_set_latex(valid: ValidSet, name: str = "i") -> str:
    """{i >= from : i mod period in residues}, with the valid sizes below `from`."""
    x = symbol_latex(name)
    if not valid.residues:
        main = r"\varnothing"
    elif valid.period == 1:
        main = rf"\{{{x} \geq {valid.start}\}}"
    else:
        residues = ", ".join(str(r) for r in valid.residues)
        main = rf"\{{{x} \geq {valid.start} : {x} \bmod {valid.period} \in \{{{residues}\}}\}}"
    if valid.below:
        main = rf"\{{{', '.join(str(b) for b in valid.below)}\}} \cup {main}"
    return main


@render.register
def _valid_set(valid: ValidSet) -> str:
    return f"$\\displaystyle {valid_set_latex(valid)}$"
