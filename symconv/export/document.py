"""Documents for papers: theorem statements with their derivations and verdicts, a summary table, layer
formulas; fragments to ``\\input`` or standalone articles (amsmath, booktabs, longtable).

Layer calls in a statement print unexpanded (``\\operatorname{conv}_{k,s,p}(i)``); the derivation then opens
with the engine's formula for them, and every later line is proved equal to the one before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sympy

from ..core.arith import evaluate, symbol, tidy
from ..core.frameworks import CONVENTIONS, effective_kernel
from ..core.layers import Layer, _pads, layer, layer_context
from ..core.parse import UNKNOWN, Context, Spec, parse_condition, parse_expression, split_conjuncts
from ..logic.prove import Proved, Refuted, Result
from ..logic.theorem import Theorem
from .derivation import Derivation, DerivationError, Step, chain, derive
from .latex import (
    PACKAGES,
    assignment,
    conditions,
    latex,
    math_block,
    names_latex,
    standalone,
    symbol_latex,
    text,
)

_KIND_NAMES = {"convT": r"\operatorname{conv}^{\top}"}


# Statements as written: layer applications stay opaque functions with a LaTeX head.


@dataclass
class Heads:
    """The opaque layer functions met while parsing for display, by function name -> LaTeX head."""

    names: dict[str, str] = field(default_factory=dict)
    by_spec: dict[str, str] = field(default_factory=dict)

    def head(self, spec: Spec) -> str:
        if spec.text not in self.by_spec:
            name = f"Layer{len(self.by_spec)}"
            self.by_spec[spec.text] = name
            self.names[name] = spec_head(spec)
        return self.by_spec[spec.text]


def _value_latex(name: str, value: Any) -> str:
    if isinstance(value, tuple):
        return f"{symbol_latex(name)} = ({latex(value[0])}, {latex(value[1])})"
    if isinstance(value, sympy.Symbol) and value.name == name:
        return symbol_latex(name)
    if isinstance(value, sympy.Basic):
        return f"{symbol_latex(name)} = {latex(value)}"
    if value is UNKNOWN:
        return f"{symbol_latex(name)} = ?"
    word = text(str(value))
    if word in ("true", "false") and name == "ceil":
        return r"\mathrm{ceil}" if word == "true" else r"\neg\mathrm{ceil}"
    return rf"{symbol_latex(name)} = \mathrm{{{word}}}"


def spec_head(spec: Spec) -> str:
    """``torch.maxpool(k=3, s=2, ceil=true)`` -> \\operatorname{maxpool}^{\\mathrm{torch}}_{k = 3, ...}."""
    head = _KIND_NAMES.get(spec.kind, rf"\operatorname{{{spec.kind}}}")
    if spec.framework:
        head = f"{head}^{{\\mathrm{{{spec.framework}}}}}" if spec.kind != "convT" else head
    args = ",\\, ".join(_value_latex(name, value) for name, value in spec.args)
    framework = rf"\mathrm{{{spec.framework}}}.\," if spec.framework and spec.kind == "convT" else ""
    return f"{framework}{head}_{{{args}}}" if args else f"{framework}{head}"


class _Shown:
    """A layer applied for display: its output is an opaque function of its input."""

    def __init__(self, name: str) -> None:
        self.name = name

    def output_expr(self, size: Any) -> sympy.Expr:
        return sympy.Function(self.name)(size)

    def conditions(self, size: Any) -> list[tuple[sympy.Basic, str]]:
        return []


def display_context(heads: Heads) -> Context:
    # The statement was parsed (and its layers built) before it is shown; here only names are needed.
    def builder(spec: Spec) -> _Shown:
        return _Shown(heads.head(spec))

    return Context(layer_builder=builder)


# Theorems.


def scope_text(result: Result) -> str:
    """The verdict in words, with its scope."""
    if isinstance(result, Proved):
        if result.scope == "unbounded":
            return "proved for all integers satisfying the conditions"
        bound = result.scope.rsplit("[-", 1)[-1].split(",")[0] if "[-" in result.scope else ""
        return (
            f"proved for every variable in [-{bound}, {bound}] (a bounded proof)" if bound else result.scope
        )
    if isinstance(result, Refuted):
        cex = ", ".join(f"{name} = {value}" for name, value in result.counterexample.items())
        return f"refuted: {cex}"
    return f"unknown: {result.reason}"


def _scope_latex(result: Result) -> str:
    if isinstance(result, Refuted):
        if not result.counterexample:
            return r"\textbf{refuted} (the claim has no variables and is false)"
        return r"\textbf{refuted}: $" + assignment(result.counterexample) + "$"
    words = scope_text(result)
    verdict, _, rest = words.partition(" ")
    return rf"\textbf{{{verdict}}} {text(rest)}"


@lru_cache(maxsize=1024)
def _parsed(text: str) -> sympy.Basic:
    return parse_condition(text, layer_context())


@dataclass(frozen=True)
class Derived:
    """A theorem's checked derivations, the LaTeX heads of its layer calls, and why a chain is not shown."""

    derivations: tuple[Derivation, ...]
    heads: dict[str, str]
    notes: tuple[str, ...] = ()


def theorem_names(theorem: Theorem) -> dict[str, str]:
    """One LaTeX symbol per name across the whole theorem (no two names printed alike)."""
    statement = theorem.statement()
    symbols = set(statement.claim.free_symbols).union(*(g.free_symbols for g in statement.given))
    for name, value in statement.definitions:
        symbols |= value.free_symbols | {symbol(name)}
    return names_latex(symbols)


@lru_cache(maxsize=256)
def theorem_derivations(theorem: Theorem, *, bound: int | None = None, timeout_ms: int = 10_000) -> Derived:
    """One checked chain per run of equalities with the same left-hand side in the claim: its lines are the
    engine's moves (definitions unfolded, given equalities substituted, floors and mods rewritten), or the
    theorem's own `derivation` lines for the first run. Every step is proved for every integer (with `bound`:
    in that box, as the theorem was). A written line that does not follow raises DerivationError; an engine
    chain that cannot be proved is left out, and the reason is in `notes`."""
    statement = theorem.statement()
    premises = statement.given + tuple(condition for condition, _ in statement.obligations)
    derivations: list[Derivation] = []
    notes: list[str] = []
    groups: list[tuple[sympy.Basic, sympy.Basic, list[sympy.Basic]]] = []
    heads = Heads()
    for part in split_conjuncts(theorem.claim):
        parsed = _parsed(part)
        shown = parse_condition(part, display_context(heads))
        if not isinstance(parsed, sympy.Eq) or not isinstance(shown, sympy.Eq):
            continue
        if groups and groups[-1][1] == shown.lhs:
            groups[-1][2].append(parsed.rhs)
        else:
            groups.append((parsed.lhs, shown.lhs, [parsed.rhs]))
    if theorem.derivation and not groups:
        raise DerivationError(
            f"theorem {theorem.id}: a derivation needs a claim that is an equality (lhs == rhs), got {theorem.claim!r}"
        )
    for number, (lhs, shown_lhs, targets) in enumerate(groups):
        written = number == 0 and bool(theorem.derivation)
        if written:
            # The theorem's own lines, then its right-hand side: every step is checked all the same.
            lines = [Step(parse_expression(line, layer_context())) for line in theorem.derivation]
            lines += [Step(t) for t in targets if t != lines[-1].expr]
        else:
            lines = chain(lhs, targets, statement.definitions, premises)
        opaque = shown_lhs != lhs
        if opaque:
            lines = [Step(lhs, r"\text{the engine's formula}"), *lines]
        if not lines or (opaque and len(lines) == 1):
            continue  # nothing proved beyond the definition
        try:
            derivations.append(
                derive(
                    shown_lhs,
                    lines,
                    premises,
                    statement.definitions,
                    first_by_definition=opaque,
                    timeout_ms=timeout_ms,
                    bound=bound,
                )
            )
        except DerivationError as error:
            if written:
                raise DerivationError(f"theorem {theorem.id}: derivation {error}") from None
            notes.append(f"no derivation shown for {shown_lhs}: {error}")
    return Derived(tuple(derivations), heads.names, tuple(notes))


@dataclass(frozen=True)
class Shown:
    """A theorem's parts as LaTeX, layer calls unexpanded."""

    given: str
    defined: tuple[str, ...]
    claim: tuple[str, ...]
    heads: dict[str, str]


def shown(theorem: Theorem) -> Shown:
    names = theorem_names(theorem)  # also refuses a malformed theorem before anything is shown
    heads = Heads()
    context = display_context(heads)
    given = conditions([parse_condition(g, context) for g in theorem.given], heads.names, names)
    defined = tuple(
        f"{names.get(name, symbol_latex(name))} = {latex(parse_expression(value, context), heads.names, names)}"
        for name, value in theorem.define
    )
    # Each top-level part on its own line: SymPy's And would reorder them.
    claim = tuple(
        latex(parse_condition(part, context), heads.names, names) for part in split_conjuncts(theorem.claim)
    )
    return Shown(given, defined, claim, heads.names)


def statement_latex(theorem: Theorem) -> str:
    """One formula: conditions and definitions, then the claim."""
    parts = shown(theorem)
    premises = ",\\ ".join(part for part in (parts.given, *parts.defined) if part)
    claim = r" \wedge ".join(parts.claim)
    return f"{premises} \\;\\Longrightarrow\\; {claim}" if premises else claim


def theorem_block(
    theorem: Theorem,
    result: Result | None = None,
    *,
    derivation: bool = True,
    bound: int | None = None,
    timeout_ms: int = 10_000,
) -> str:
    """A theorem as a paper states it: conditions, definitions, claim, derivation (when proved), verdict."""
    parts_of = shown(theorem)
    parts = [f"\\subsection*{{{text(theorem.id)}: {text(theorem.title or theorem.claim)}}}"]
    if theorem.source:
        parts.append(f"\\noindent\\emph{{{text(theorem.source)}}}\\par")
    if parts_of.given:
        parts.append("For integers with")
        parts.append(math_block([parts_of.given]))
    if parts_of.defined:
        parts.append("and")
        parts.append(math_block(list(parts_of.defined)))
    parts.append("the claim is")
    claim = [parts_of.claim[0], *(rf"\text{{and}}\quad {part}" for part in parts_of.claim[1:])]
    parts.append(math_block(claim))
    if derivation and isinstance(result, Proved):
        box = bound or theorem.bound
        derived = theorem_derivations(theorem, bound=box, timeout_ms=timeout_ms)
        if derived.derivations:
            scope = f" for every variable in $[-{box}, {box}]$" if box else ""
            parts.append(
                f"Derivation (each line proved equal to the one before under the conditions{scope}):"
            )
            names = theorem_names(theorem)
            parts += [d.to_latex(derived.heads, names) for d in derived.derivations]
        parts += [f"\\emph{{{text(note)}}}\\par" for note in derived.notes]
    if theorem.note:
        parts.append(f"\\noindent\\emph{{Note:}} {text(theorem.note)}\\par")
    if result is not None:
        mark = "" if result.status == theorem.expect else rf" \textbf{{(expected {theorem.expect})}}"
        parts.append(f"\\noindent\\emph{{Verdict:}} {_scope_latex(result)}{mark}.\\par")
    if isinstance(result, Refuted):
        parts.append(refutation_latex(theorem, result))
    return "\n".join(parts)


def refutation_latex(theorem: Theorem, result: Refuted) -> str:
    """What the counterexample gives: the definitions' values and, for each false equality of the claim, its
    two sides (computed on integers, as the prover re-checked them)."""
    statement = theorem.statement()
    env: dict[str, int] = dict(result.counterexample)
    try:
        for name, value in statement.definitions:
            env[name] = int(evaluate(value, env))
    except (ZeroDivisionError, KeyError, TypeError):
        return f"There: {text(result.reason)}.\\par"
    names = theorem_names(theorem)
    shown = [f"{names[name]} = {env[name]}" for name, _ in statement.definitions]
    sides = []
    heads = Heads()
    for part in split_conjuncts(theorem.claim):
        claim, written = _parsed(part), parse_condition(part, display_context(heads))
        if isinstance(claim, sympy.Eq) and isinstance(written, sympy.Eq):
            try:
                lhs, rhs = evaluate(claim.lhs, env), evaluate(claim.rhs, env)
            except ZeroDivisionError:
                continue
            if lhs != rhs:
                left, right = (latex(side, heads.names, names) for side in written.args)
                sides.append(f"{left} = {lhs} \\neq {rhs} = {right}")
    lines = ([",\\ ".join(shown)] if shown else []) + sides
    if not lines:
        return f"There: {text(result.reason)}.\\par"
    return "There\n" + math_block(lines)


def summary_table(entries: Sequence[tuple[Theorem, Result]]) -> str:
    """A longtable: id, title, verdict, scope or counterexample, time."""
    rows = []
    for theorem, result in entries:
        detail = scope_text(result).partition(": ")[2] if result.status != "proved" else scope_text(result)
        if isinstance(result, Proved):
            detail = "all integers" if result.scope == "unbounded" else detail
        rows.append(
            f"{text(theorem.id)} & {text(theorem.title)} & {result.status} & {text(detail)} & "
            f"{result.seconds * 1000:.1f} \\\\"
        )
    return (
        # Widths are shares of the line, so the table fits a document's own margins when \\input.
        "{\\small\\setlength{\\tabcolsep}{3pt}\n\\begin{longtable}{@{}"
        + " ".join(f">{{\\raggedright\\arraybackslash}}p{{{w}\\linewidth}}" for w in (0.2, 0.37))
        + " l >{\\raggedright\\arraybackslash}p{0.23\\linewidth} r@{}}\n\\toprule\n"
        "Id & Statement & Verdict & Scope or counterexample & ms \\\\\n\\midrule\n\\endhead\n"
        + "\n".join(rows)
        + "\n\\bottomrule\n\\end{longtable}}"
    )


def corpus_document(
    entries: Sequence[tuple[Theorem, Result]],
    *,
    snippet: bool = False,
    bound: int | None = None,
    timeout_ms: int = 10_000,
) -> str:
    """Every theorem with its verdict, then the summary table; a fragment to \\input with `snippet`."""
    missed = sum(result.status != theorem.expect for theorem, result in entries)
    count = f"{len(entries)} theorem{'s' if len(entries) != 1 else ''}"
    intro = (
        f"{count}; {len(entries) - missed} reached their expected verdict, {missed} missed. "
        "Proofs by Z3 over the integers; a counterexample is re-checked on integers before it is reported.\n"
    )
    body = "\n\n".join(
        theorem_block(theorem, result, bound=bound, timeout_ms=timeout_ms) for theorem, result in entries
    )
    content = f"{intro}\n{summary_table(entries)}\n\n{body}\n"
    if snippet:
        return f"% symconv theorems: needs \\usepackage{{{PACKAGES}}}\n{content}"
    return standalone(content, "symconv: theorems and verdicts")


# Layers.


def _field_values(made: Layer) -> dict[sympy.Symbol, sympy.Expr]:
    """The layer's parameters under the names its symbolic form uses (p for a symmetric padding)."""
    fields = {
        name: getattr(made, name)
        for name in ("k", "s", "d", "a", "scale", "size", "r")
        if hasattr(made, name)
    }
    if hasattr(made, "pb"):
        fields.update(_pads(made.pb, made.pe))  # type: ignore[attr-defined]
    return {symbol(name): value for name, value in fields.items() if isinstance(value, sympy.Expr)}


def layer_derivation(made: Layer) -> Derivation | None:
    """o = the general formula of the layer's kind = the formula at these parameters, each step proved for
    every integer; None when a step cannot be (the formula is then shown on its own)."""
    i = symbol("i")
    general = made._symbolic()
    formula = general.output_expr(i)
    named = {
        name: value
        for name, value in _field_values(made).items()
        if name in formula.free_symbols and value != name
    }
    given = [sympy.Eq(name, value, evaluate=False) for name, value in named.items()]
    given += [condition for condition, _ in made.conditions(i)]
    lines = [Step(formula, rf"\text{{{text(general.kind)}}}")]
    if named:
        assigned = ",\\ ".join(f"{latex(name)} = {latex(value)}" for name, value in named.items())
        lines.append(Step(formula.xreplace(named), assigned))
    concrete = made.output_expr(i)
    for candidate in (concrete, tidy(concrete)):
        if candidate != lines[-1].expr:
            lines.append(Step(candidate, r"\text{simplify}"))
    try:
        return derive(symbol("o"), lines, given, first_by_definition=True)
    except DerivationError:
        return None


def inverse_derivation(made: Layer) -> Derivation | None:
    """The paper's section 4 for a convolution with explicit symmetric padding: the transposed convolution as a
    direct one (stride 1, padding p' = k^ - p - 1 and a extra at the end) over the stretched input, unfolded
    back to i. None for other layers, or where p' < 0 (a crop, not a padding)."""
    from ..core.layers import Conv, ConvTranspose
    from ..core.windowmap import transposed_pads

    # TF's truncating division and JAX's clamp at 0 make their explicit-padding outputs differ from the floor
    # formula below the kernel size; the section-4 chain is the paper's (and PyTorch's, ONNX's) convolution.
    if (
        not isinstance(made, Conv)
        or made.mode != "explicit"
        or made.pb != made.pe
        or not CONVENTIONS[made.framework].floor_sizes()
    ):
        return None
    i, o, ip, ti, a = (symbol(name) for name in ("i", "o", "ip", "ti", "a"))
    k, s, p, d = made.k, made.s, made.pb, made.d
    kh = effective_kernel(k, d)
    # The transposed layer's geometry is its window map's: the stretched input padded (before, after).
    before, after = transposed_pads(ConvTranspose(made.spec, None, (), k, s, p, p, d, a))
    if before.is_negative:
        return None
    definitions = (
        ("o", made.output_expr(i)),
        ("ip", o),
        ("ti", s * (ip - 1) + 1),
        ("a", sympy.Mod(i + 2 * p - kh, s)),
    )
    given = [condition for condition, _ in made.conditions(i)] + [sympy.Ge(before, 0)]
    direct = ti + before + after - kh + 1
    reason = r"\text{stride 1, padding } p' = \hat{k} - p - 1 \text{ and } a \text{ on } \tilde{i}'"
    lines = [Step(direct, reason), *chain(direct, [i], definitions, given)]
    try:
        return derive(symbol("op"), lines, given, definitions, first_by_definition=True)
    except DerivationError:
        return None


def layer_block(spec: str) -> str:
    """A layer's output size: its derivation from the general formula and the conditions it needs."""
    made = layer(spec)  # an unknown (?) is kept as the parameter's symbol: the formula holds for every value
    i = symbol("i")
    rules = [tidy(condition) for condition, _ in made.conditions(i) if condition is not sympy.true]
    derivation = layer_derivation(made)
    formula = (
        derivation.to_latex()
        if derivation is not None
        else math_block([f"o = {latex(tidy(made.output_expr(i)))}"])
    )
    parts = [f"\\paragraph{{{text(spec)}}}", formula]
    if rules:
        parts.append("defined when")
        parts.append(math_block([conditions(rules)]))
    inverse = inverse_derivation(made)
    if inverse is not None:
        parts.append(
            "Transposed (Dumoulin \\& Visin, section 4): with $i' = o$, the stretched input "
            "$\\tilde{i}' = s(i' - 1) + 1$, the dilated kernel $\\hat{k} = d(k - 1) + 1$ and "
            "$a = (i + 2p - \\hat{k}) \\bmod s$, each line proved:"
        )
        parts.append(inverse.to_latex())
    return "\n".join(parts)


# Solver answers.


def _piece_latex(x: str, piece: dict[str, Any]) -> str:
    parts = []
    low, high = piece.get("from"), piece.get("to")
    if low is not None and low == high:
        return f"{x} = {low}"
    if low is not None and high is not None:
        parts.append(f"{low} \\leq {x} \\leq {high}")
    elif low is not None:
        parts.append(f"{x} \\geq {low}")
    elif high is not None:
        parts.append(f"{x} \\leq {high}")
    if piece.get("period"):
        residues = ", ".join(str(r) for r in piece["residues"])
        parts.append(f"{x} \\bmod {piece['period']} \\in \\{{{residues}\\}}")
    return ",\\ ".join(parts) or f"{x} \\in \\mathbb{{Z}}"


def answer_lines(answer: Any) -> list[str]:
    """A solver answer (symconv.logic.solve.Answer) as lines of math: an interval with formula ends (and whether Z3
    proved it), the solutions (a few per line), or the unknowns' sets (intervals and residue classes)."""
    names = [symbol_latex(name) for name in answer.unknowns]
    if answer.bounds is not None:
        low, high, assumptions = answer.bounds
        x = names[0]
        middle = " \\leq ".join(
            part
            for part in (latex(low) if low is not None else "", x, latex(high) if high is not None else "")
            if part
        )
        if assumptions:
            middle += r" \quad \text{assuming } " + conditions(assumptions)
        if not isinstance(answer.verdict, Proved):
            verified = (answer.formula or {}).get("verified", "")
            middle += rf" \quad \text{{(not proved: {text(verified)})}}"
        return [middle]
    if answer.complete:
        if not answer.solutions:
            return [r"\text{no solution}"]
        if len(names) == 1:
            items = [str(s[answer.unknowns[0]]) for s in answer.solutions]
            head = f"{names[0]} \\in \\{{"
        else:
            items = ["(" + ", ".join(str(s[n]) for n in answer.unknowns) + ")" for s in answer.solutions]
            head = f"({', '.join(names)}) \\in \\{{"
        per_line = 12 if len(names) == 1 else 6
        rows = [",\\ ".join(items[n : n + per_line]) for n in range(0, len(items), per_line)]
        rows[0] = head + rows[0]
        rows = [row + ("," if n < len(rows) - 1 else "\\}") for n, row in enumerate(rows)]
        return rows
    rows = []
    for item in answer.sets:
        cases = []
        for name, value in item.items():
            x = symbol_latex(name)
            if isinstance(value, list):
                cases.append(" \\ \\vee\\ ".join(_piece_latex(x, piece) for piece in value) or r"\text{none}")
            else:
                cases.append(f"{x} = {value}")
        rows.append(",\\quad ".join(cases))
    return rows or [r"\text{no solution}"]


def answer_latex(answer: Any) -> str:
    """The answer on one line (see answer_lines)."""
    return " ".join(answer_lines(answer))
