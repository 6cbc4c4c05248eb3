"""The command line (shape, solve, invert, port, net, prove, latex, draw); ``main(argv)`` returns the exit code.

Exit codes: 0 success; 1 a claim refuted or undecided (for a corpus: a theorem that missed its expected
verdict), a check that fails; 2 bad input, with a one-line message that names what is wrong; 3 an internal error
(a bug: please report it). Every command takes ``--json``. Every option is checked where it is read: numbers
against their rule and symconv.core.limits (--timeout: finite, at least 1 ms, at most a day).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, cast

import sympy

from . import __version__
from .core import budget
from .core.arith import symbol
from .core.budget import OutOfTime
from .core.errors import InternalError, SpecError, SymconvError
from .core.frameworks import FRAMEWORKS
from .core.limits import DEFAULT_LIMIT, MAX_PRINTED_DIGITS, MAX_SECONDS, MIN_SECONDS, exists, integer, shown
from .core.notation import assignments, expression, interval, size_set

# 3: symconv contradicted itself (a proved claim false on integers, or an exception it did not raise on
# purpose): a bug, never an answer.
EXIT_OK, EXIT_FALSE, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error to main() (for --json and exit code 2) instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see {self.prog} --help)")


def _seconds(text: str) -> float:
    """--timeout: a finite number of seconds, at least MIN_SECONDS (1 ms) and at most MAX_SECONDS (a day)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not MIN_SECONDS <= value <= MAX_SECONDS:  # false for nan too
        raise argparse.ArgumentTypeError(
            f"takes a number of seconds from {MIN_SECONDS:g} to {MAX_SECONDS:g} (a day), got {shown(text)!r}"
        )
    return value


def _whole(minimum: int | None = None) -> Any:
    """An argparse type: an integer (>= `minimum`) of at most limits.MAX_BITS bits. Not an integer at all is
    argparse's own "invalid int value"."""

    def parse(text: str) -> int:
        try:
            value = integer(text, shown(text))
        except SpecError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        if value is None:
            raise ValueError(text)
        if minimum is not None and value < minimum:
            rule = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            raise argparse.ArgumentTypeError(f"takes {rule}, got {shown(text)!r}")
        return value

    parse.__name__ = "int"
    return parse


def _between(low: float, high: float, kind: type = float) -> Any:
    """An argparse type: a finite number (an integer for kind=int) from `low` to `high`."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        if not low <= value <= high:  # false for nan too
            noun = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"takes {noun} from {low:g} to {high:g}, got {shown(text)!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _name(text: str) -> bool:
    """A symbol name as the parser takes it: an ASCII letter, then letters, digits and _."""
    return bool(_NAME.match(text))


def _integer_or_symbol(text: str) -> int | sympy.Expr:
    text = text.strip()
    value = integer(text, f"--in {shown(text)}")
    if value is not None:
        return value
    if _name(text):
        from .core.parse import MAX_TEXT

        if len(text) > MAX_TEXT:
            # The limit on any text symconv reads (a spec, an expression), held for a name as well.
            raise SpecError(f"--in: a name of {len(text):,} characters; text is limited to {MAX_TEXT:,}")
        return symbol(text)
    raise SpecError(f"--in takes integers or symbol names separated by commas, got {shown(text)!r}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, sympy.Integer):
        return int(value)
    if isinstance(value, sympy.Basic):
        return str(value)
    return value


def _axis_spec(spec: str, args: argparse.Namespace, solving: bool = False) -> str:
    """The spec a one-axis command works on: a per-axis spec's axis --axis N, or the one layer all its axes
    share; a spec whose values apply to every axis is itself, and --axis N must be one of the axes its class
    (nn.Conv2d: 2) or the sizes given name. --axis names one axis, so it takes that axis' size alone.
    `solving`: the axis must hold something to solve for (an unknown, or --in ? / --out ?)."""
    from .core.layers import Axes, layer, one_axis

    made = layer(spec)
    sizes = [getattr(args, name, None) for name in ("input", "output")]
    if not isinstance(made, Axes):
        if args.axis is not None:
            _check_scalar_axis(made, args.axis, [text for text in sizes if isinstance(text, str)])
        return spec
    if args.axis is not None and solving and not any(text == "?" for text in sizes):
        chosen = made.axis(args.axis)
        holding = [n for n, axis in enumerate(made.layers) if axis.unknowns]
        if holding and not chosen.unknowns:
            where = ", ".join(f"axis {n} ({', '.join(made.axis(n).unknowns)})" for n in holding)
            alone = any(isinstance(text, str) and "," in text for text in sizes)
            raise SpecError(
                f"--axis {args.axis} of {made.spec} has no unknown: the unknowns are on {where}; give "
                f"--axis {holding[0]}" + (" with that axis' sizes alone (--in N --out M)" if alone else "")
            )
    if args.axis is not None and any(isinstance(text, str) and "," in text for text in sizes):
        raise SpecError(
            f"--axis {args.axis} works on that one axis of {made.spec}: give its size alone (--in N), or leave "
            "--axis out to work on every axis with a size per axis"
        )
    counts = {len(_top_level_parts(text)) for text in sizes if isinstance(text, str)} - {1}
    if args.axis is None and counts:
        count = max(counts)
        if count != made.axes:  # two sizes for a spec of three axes
            shown = next(
                text for text in sizes if isinstance(text, str) and len(_top_level_parts(text)) == count
            )
            raise made.mismatch(count, shown)
        if solving:  # a size per axis: each axis solved with its own layer
            return spec
    return one_axis(made, args.axis).spec


def _check_scalar_axis(made: Any, axis: int, sizes: list[str]) -> None:
    """--axis with a spec whose values apply to every axis: an axis its class names (nn.Conv2d: 0 or 1) or, for
    a spec of no class, one the sizes given have (one size: axis 0)."""
    count = made.rank or max((len(_top_level_parts(text)) for text in sizes), default=1)
    if axis < count:
        return
    last = "axis 0" if count == 1 else f"axes 0 to {count - 1}"
    if made.rank:
        source = f"it runs on {count} spatial {'axis' if count == 1 else 'axes'} ({last})"
    elif sizes:
        source = f"its values apply to every axis, and the sizes given have {count} ({last})"
    else:
        source = "its values apply to every axis alike and no size is given: leave --axis out"
    raise SpecError(f"--axis {axis} is beyond the axes of {made.spec}: {source}")


def _axis_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--axis",
        type=_whole(0),
        metavar="N",
        help="with a per-axis spec (k=(3, 5), ...): the spatial axis to work on, from 0 (not needed when every "
        "axis has the same layer)",
    )


def cmd_shape(args: argparse.Namespace) -> tuple[int, Any, str]:
    from .core.layers import Axes, layer

    made = layer(args.spec)
    parts = [part for part in args.input.split(",")]
    if not all(part.strip() for part in parts):
        raise SpecError(f"--in takes sizes separated by commas, got {shown(args.input)!r}")
    sizes = [_integer_or_symbol(part) for part in parts]
    output = made.output_size(tuple(sizes) if len(sizes) > 1 else sizes[0])
    data = {"output": _jsonable(output)}
    layers = [made.axis(n) if isinstance(made, Axes) else made for n in range(len(sizes))]
    # Each axis' formula as it reads where its layer is defined (the text only: --json keeps every case).
    shown_sizes = [
        _on_domain(o, layers[n].conditions, sizes[n])
        for n, o in enumerate(output if isinstance(output, tuple) else (output,))
    ]
    text = ", ".join(expression(o) for o in shown_sizes)
    return EXIT_OK, data, text


def _on_domain(output: Any, conditions: Callable[[Any], Any], argument: Any) -> Any:
    """`output` with the cases of a Piecewise that the domain (`conditions(argument)`, asked only for a
    Piecewise) decides resolved: TensorFlow's truncating division has a case no defined size reaches."""
    if not isinstance(output, sympy.Basic) or not output.has(sympy.Piecewise):
        return output
    from .logic.ondomain import on_domain

    return on_domain(output, [condition for condition, _ in conditions(argument)])


def cmd_windows(args: argparse.Namespace) -> tuple[int, Any, str]:
    from .core.errors import SpecError
    from .core.layers import Axes, layer
    from .core.windowmap import windows

    made = layer(args.spec)
    parts = [part.strip() for part in args.input.split(",")]
    if not all(part.isdigit() and int(part) >= 1 for part in parts):
        raise SpecError(f"--in takes positive integer sizes separated by commas, got {args.input!r}")
    # A per-axis spec with a size per axis: each axis' windows; otherwise the one layer of --axis (or of all).
    each = isinstance(made, Axes) and len(parts) == made.axes and args.axis is None
    if isinstance(made, Axes) and len(parts) not in (1, made.axes):
        raise SpecError(
            f"--in gives {len(parts)} sizes but {made.spec} has {made.axes} spatial axes: give one size per axis, "
            "or one size with --axis N"
        )
    if len(parts) > 1:
        # The whole layer at these sizes first: rules that depend on the number of axes (AvgPool3d's i >= k,
        # Keras' causal padding in 1-D only, at most 3 axes) belong to the layer, not to any one axis.
        layer(args.spec).output_size(tuple(int(part) for part in parts))
    if not each:
        made = layer(_axis_spec(args.spec, args))
    axes = []
    lines = []
    for axis, part in enumerate(parts):
        size = int(part)
        found = windows(made.axis(axis) if each else made, size, at=args.at)  # type: ignore[attr-defined]
        axes.append({"in": size, "windows": [w.to_json() for w in found]})
        if len(parts) > 1:
            lines.append(f"axis {axis} (in {size}):")
        for window in found:
            lines.append(_window_line(window))
    data = axes[0] if len(axes) == 1 else {"axes": axes}
    return EXIT_OK, data, "\n".join(lines)


def _window_line(window: Any) -> str:
    """j: the positions it reads, then each padding tap and what it holds."""
    reads = list(window.reads)
    shown = (
        f"{reads[0]}..{reads[-1]}" if reads and reads == list(range(reads[0], reads[-1] + 1)) else str(reads)
    )
    text = f"j={window.j}: reads {shown if reads else 'nothing'}"
    if window.taps and window.taps != tuple(range(len(window.taps))):
        text += f" (kernel taps {list(window.taps)})"
    outside = [f"{p} ({h})" for p, h in zip(window.positions, window.holds, strict=True) if h != "input"]
    if outside:
        text += "; outside the input: " + ", ".join(outside)
    return text


def _targets(args: argparse.Namespace) -> list[Any]:
    from .logic.corpus import corpus_dir
    from .logic.theorem import Theorem, find, load

    theorems: list[Theorem] = []
    ids: list[str] = []
    for target in args.targets:
        path = Path(target)
        if exists(path):
            theorems += load(path)
        elif path.suffix == ".toml" or os.sep in target:
            raise SpecError(f"no such theorem file or directory: {target}")
        else:
            ids.append(target)
    if ids:
        theorems += find(ids, load(corpus_dir()))
    if args.claim is not None:
        theorems.append(
            Theorem(id="claim", claim=args.claim, given=tuple(args.given), origin="the command line")
        )
        theorems[-1].statement()
    elif args.given:
        raise SpecError("--given needs a --claim to go with it")
    if not theorems and not args.targets:
        theorems = load(corpus_dir())
    return theorems


def _verdict_line(theorem: Any, result: Any, width: int) -> str:
    ms = f"{result.seconds * 1000:8.1f} ms"
    if result.status == "proved":
        detail = result.scope + (f" (re-checked: {result.confirmed})" if result.confirmed else "")
    elif result.status == "refuted":
        detail = f"{assignments(result.counterexample)}: {result.reason}"
    else:
        detail = result.reason
    mark = "" if result.status == theorem.expect else f"  [MISSED: expected {theorem.expect}]"
    return f"{theorem.id:<{width}}  {result.status:<8} {ms}  {detail}{mark}"


def cmd_prove(args: argparse.Namespace) -> tuple[int, Any, str]:
    from .core.budget import TIME_BUDGET
    from .logic.prove import Unknown

    theorems = _targets(args)
    rows, lines, missed, results = [], [], 0, []
    width = max((len(theorem.id) for theorem in theorems), default=0)
    for theorem in theorems:
        result: Any
        if budget.spent():
            result = Unknown(reason=f"{TIME_BUDGET} before this theorem was tried")
        else:
            try:
                result = theorem.check(
                    bound=args.bound,
                    timeout_ms=int(args.timeout * 1000),
                    smt2=Path(args.smt2) if args.smt2 else None,
                    confirm=args.confirm,
                )
            except budget.OutOfTime:
                result = Unknown(reason=f"{TIME_BUDGET} while this theorem was computed")
        results.append(result)
        missed += result.status != theorem.expect
        rows.append(
            {
                "id": theorem.id,
                "title": theorem.title,
                "status": result.status,
                "expect": theorem.expect,
                "scope": getattr(result, "scope", None),
                "counterexample": getattr(result, "counterexample", None),
                "reason": getattr(result, "reason", None) or None,
                "seconds": round(result.seconds, 6),
                **({"confirmed": result.confirmed} if getattr(result, "confirmed", "") else {}),
            }
        )
        lines.append(_verdict_line(theorem, result, width))
    total = len(theorems)
    summary = f"{total} theorem(s): {total - missed} reached their expected verdict, {missed} missed"
    lines.append(summary)
    if args.latex is not None:
        from .export.document import corpus_document

        document = corpus_document(
            list(zip(theorems, results, strict=True)),
            snippet=args.snippet,
            bound=args.bound,
            timeout_ms=int(args.timeout * 1000),
        )
        _write(args.latex, document)
        lines.append(f"wrote {'a LaTeX fragment' if args.snippet else 'a LaTeX document'} to {args.latex}")
    elif args.snippet:
        raise SpecError("--snippet goes with --latex FILE")
    data = {"theorems": rows, "summary": {"total": total, "missed": missed}}
    return (EXIT_FALSE if missed else EXIT_OK), data, "\n".join(lines)


def _write(path: str, content: str) -> None:
    try:
        Path(path).write_text(content, encoding="utf-8")
    except OSError as error:
        raise SpecError(f"cannot write {path}: {error}") from None


def cmd_latex(args: argparse.Namespace) -> tuple[int, Any, str]:
    from .export import document, latex
    from .export.latex import standalone

    target = args.target.strip()
    if not target:
        raise SpecError("latex needs a theorem id, a theorem file or a layer spec, got an empty string")
    code = EXIT_OK
    # A spec with unknowns (?) and nothing to solve them against: the formula, the unknowns kept symbolic.
    solving = any(x is not None for x in (args.input, args.output)) or bool(
        args.where or args.max or args.min
    )
    if "(" in target and not exists(target):
        target = _axis_spec(target, args)
        if solving and "?" not in target and args.input is None and args.output is None:
            raise SpecError("--where, --max and --min go with unknowns (? in the spec, or --in/--out)")
        if solving:
            answer = _solve(args, target)
            body = latex.math_block(document.answer_lines(answer))
            if answer.stopped is not None:
                # An incomplete answer says so, in the document and in the exit code.
                body += f"\n% incomplete: {answer.stopped}"
                code = EXIT_FALSE
        else:
            body = document.layer_block(target)
    else:
        if args.input is not None or args.output is not None or args.where or args.max or args.min:
            raise SpecError("--in, --out, --where, --max and --min go with a layer spec, not a theorem id")
        theorems = _targets(argparse.Namespace(targets=[target], claim=None, given=[]))
        if not exists(target) and len(theorems) != 1:
            raise SpecError(f"theorem id {target!r} matched {len(theorems)} theorems")
        blocks = []
        for theorem in theorems:
            result = theorem.check(timeout_ms=int(args.timeout * 1000))
            code = code if result.status == theorem.expect else EXIT_FALSE
            blocks.append(document.theorem_block(theorem, result, timeout_ms=int(args.timeout * 1000)))
        body = "\n\n".join(blocks)
    content = standalone(body) if args.standalone else body + "\n"
    if args.output_file:
        _write(args.output_file, content)
        return code, {"latex": content, "output": args.output_file}, f"wrote {args.output_file}"
    return code, {"latex": content, "output": None}, content.rstrip("\n")


def cmd_draw(args: argparse.Namespace) -> tuple[int, Any, str]:
    from .core.layers import Axes, layer
    from .export.tikz import DPI, draw

    suffix = Path(args.output_file).suffix.lower() if args.output_file else ""
    if args.dpi is not None and suffix not in (".png", ".gif"):
        raise SpecError(
            f"--dpi is the resolution of a .png or .gif; -o {args.output_file or '(none)'} is neither"
        )
    dpi = args.dpi if args.dpi is not None else DPI
    # A drawing has two axes: a spec with a value per axis for two axes draws each on its own (rows: axis 0);
    # --axis N draws that one axis' layer on both.
    two_axes = isinstance(made := layer(args.spec), Axes) and made.axes == 2 and args.axis is None
    spec = args.spec if two_axes else _axis_spec(args.spec, args)
    rank = layer(spec).rank
    if rank is not None and rank != 2:
        raise SpecError(
            f"draw shows a layer on 2 spatial axes (rows and columns); {args.spec} runs on {rank} (its class says "
            "so): write its parameters as a layer spec without the class (conv(k=3, s=2), ...) to draw them"
        )
    return draw(spec, args.input, args.output_file, args.frame, args.all_frames, dpi, args.scale)


def _top_level_parts(text: str) -> list[str]:
    """`text` split at the commas outside parentheses: '224,224' in two, 'mod(i, 2)' in one."""
    parts, depth, start = [], 0, 0
    for at, char in enumerate(text):
        depth += (char in "([") - (char in ")]")
        if char == "," and depth == 0:
            parts.append(text[start:at])
            start = at + 1
    return [*parts, text[start:]]


def _sizes_argument(text: str, flag: str) -> int | str | tuple[int | str, ...]:
    """--in/--out of solve and latex: one size per spatial axis, separated by commas, as `shape --in`."""
    parts = _top_level_parts(text)
    if len(parts) > 1 and not all(part.strip() for part in parts):
        raise SpecError(f"{flag} takes sizes separated by commas, got {shown(text)!r}")
    sizes = tuple(_size_argument(part, flag) for part in parts)
    return sizes if len(sizes) > 1 else sizes[0]


def _size_argument(text: str, flag: str) -> int | str:
    """One size of --in/--out: an integer, '?' or an expression (kept symbolic)."""
    from .core.parse import parse_expression

    text = text.strip()
    if text == "?":
        return "?"
    value = integer(text, flag)
    if value is not None:
        return value
    try:
        parse_expression(text)
    except SpecError as error:
        raise SpecError(f"{flag} takes an integer, ? or an expression: {error}") from None
    return text


def _assignments(items: Sequence[str], flag: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        number = integer(value, f"{flag} {shown(item)}")
        if not sep or not _name(name) or number is None:
            raise SpecError(f"{flag} takes NAME=INTEGER, got {shown(item)!r}")
        if name in out:
            raise SpecError(f"{flag} gives {name} twice")
        out[name] = number
    return out


def _solve(args: argparse.Namespace, spec: str, **options: Any) -> Any:
    from .logic.solve import solve_spec

    return solve_spec(
        spec,
        i=_sizes_argument(args.input, "--in") if args.input is not None else "?",
        o=_sizes_argument(args.output, "--out") if args.output is not None else "?",
        where=args.where,
        maxima=_assignments(args.max, "--max"),
        minima=_assignments(args.min, "--min"),
        **options,
    )


def cmd_solve(args: argparse.Namespace) -> tuple[int, Any, str]:
    spec = _axis_spec(args.spec, args, solving=True)
    answer = _solve(args, spec, limit=args.limit, minimize=args.minimize, maximize=args.maximize)
    data = answer.to_json()
    lines = [f"unknowns: {', '.join(answer.unknowns)}"]
    if answer.formula is not None:
        f = answer.formula
        lowest, highest, assumptions = answer.bounds or (None, None, ())
        low = "-oo" if lowest is None else expression(lowest)
        high = "oo" if highest is None else expression(highest)
        same = lowest is not None and lowest == highest
        lines.append(f"{f['unknown']} = {low}" if same else f"{low} <= {f['unknown']} <= {high}")
        assumed = ", ".join(expression(a) for a in assumptions if a is not sympy.true) or "nothing"
        lines.append(f"assuming {assumed}; checked by Z3: {f['verified']}")
    for solution in answer.solutions:
        lines.append(assignments(solution))
    if answer.formula is None:
        if not answer.complete:
            for item in answer.sets[:MAX_SET_LINES]:
                lines.append("set: " + _set_text(item))
            if len(answer.sets) > MAX_SET_LINES:
                lines.append(f"... and {len(answer.sets) - MAX_SET_LINES} more sets (--json lists them all)")
        count = "infinitely many" if answer.count is None else str(answer.count)
        state = "all listed" if answer.complete else f"{len(answer.solutions)} listed"
        if answer.stopped is not None:
            lines.append(f"unknown (time budget): {answer.stopped}; {count} solution(s) found until then")
        else:
            lines.append(f"{count} solution(s), {state}")
            if answer.count == 0:
                lines += _one_size_for_every_axis(args) + _shared_unknowns(args, answer.unknowns)
    if answer.objective is not None:
        best = answer.objective
        least = "least" if args.minimize is not None else "greatest"
        lines.append(f"{least} {best['name']}: {best['value']}, at {assignments(best['solution'])}")
    # No solution where one was asked for is an answer, but a negative one: exit 1, as a refuted claim.
    found = answer.count is None or answer.count > 0
    return (EXIT_OK if answer.stopped is None and found else EXIT_FALSE), data, "\n".join(lines)


def _one_size_for_every_axis(args: argparse.Namespace) -> list[str]:
    """Where --in or --out gives one size and the other one per axis, the single size was every axis' (a
    reader may have meant it for one axis): said beside an empty answer."""
    if args.input is None or args.output is None:
        return []
    given = {"--in": _top_level_parts(args.input), "--out": _top_level_parts(args.output)}
    (single, one), (other, many) = sorted(given.items(), key=lambda item: len(item[1]))
    if len(one) != 1 or len(many) == 1:
        return []
    return [
        f"note: {single} {one[0].strip()} is read as the size of each of the {len(many)} axes {other} gives"
    ]


def _shared_unknowns(args: argparse.Namespace, unknowns: Sequence[str]) -> list[str]:
    """Beside an empty answer for sizes per axis: each unknown is one value for every axis (padding=(?, ?)
    asks one p), which --axis N solves axis by axis."""
    texts = [text for text in (args.input, args.output) if text is not None]
    parameters = [name for name in unknowns if not (name[:1] in "io" and name[1:].isdigit())]
    if not parameters or not any(len(_top_level_parts(text)) > 1 for text in texts):
        return []
    named = ", ".join(parameters)
    return [
        f"note: {named} is one value shared by every axis; --axis N with that axis' sizes solves each alone"
    ]


def _set_text(item: dict[str, Any]) -> str:
    """A solution set: the enumerated unknowns' values, then the last unknown's pieces."""
    fixed = {name: value for name, value in item.items() if not isinstance(value, list)}
    pieces = [
        interval(name, p["from"], p["to"], p.get("period", 1), p.get("residues", (0,)))
        for name, value in item.items()
        if isinstance(value, list)
        for p in value
    ]
    text = " or ".join(pieces) or "nothing"
    return f"{assignments(fixed)}: {text}" if fixed else text


def _input_size(text: str | None) -> int | None:
    """--in of invert and port: one integer input size, or None."""
    if text is None:
        return None
    value = integer(text, "--in")
    if value is None:
        raise SpecError(f"--in takes an integer input size, got {shown(text)!r}")
    return value


def cmd_invert(args: argparse.Namespace) -> tuple[int, Any, str]:
    from .core.layers import layer
    from .logic.transpose import invert

    size = _input_size(args.input)
    inverse = invert(layer(_axis_spec(args.spec, args)), size, args.output_padding, int(args.timeout * 1000))
    data = inverse.to_json()
    t = inverse.transposed
    given = "i" if getattr(inverse.i, "free_symbols", None) else f"i = {expression(inverse.i)}"
    lines = [
        f"forward: {inverse.forward.spec} maps {given} to o = {expression(inverse.o)}",
        f"transposed (paper): k' = {expression(t['k'])}, s' = 1, d' = {expression(t['d'])}, "
        f"p' = {expression(t['p'])} (+ a = {expression(t['a'])} at the end), on the stretched input "
        f"s(o-1) + 1 = {expression(t['stretched_input'])}",
    ]
    # The class of the forward's number of spatial axes when its spec names one (nn.Conv1d: 1), else N.
    rank = inverse.forward.rank or "N"
    forms = {
        "torch": (f"nn.ConvTranspose{rank}d", inverse.torch),
        "onnx": ("ConvTranspose", inverse.onnx),
        "tf": ("tf.nn.conv_transpose", inverse.tf),
        "keras": (f"layers.Conv{rank}DTranspose", inverse.keras),
        "upsample": ("upsample", inverse.upsample),
    }
    for name, (call, form) in forms.items():
        if form is not None:
            arguments = ", ".join(
                f"{key}={value!r}" if isinstance(value, str) else f"{key}={expression(value)}"
                for key, value in form.items()
            )
            lines.append(f"{name}: {call}({arguments})")
    lines += [
        f"round trip gives back i for every i: {_result_text(data['proof'])}",
        f"torch form, every i: {_result_text(data['torch_round_trip'])}",
    ]
    for row in inverse.table:
        recovered = size_set("i", period=row["period"], residues=row["residues"], start=row["from"])
        lines.append(
            f"padding {expression(row['padding'])}, output_padding {row['output_padding']} gives back "
            f"exactly {recovered}"
        )
    fixed = data.get("fixed_output_padding")
    tr = data["torch"]
    if fixed is not None:
        cex = f" (counterexample {assignments(fixed['counterexample'])})" if fixed["counterexample"] else ""
        lines.append(f"output_padding {fixed['output_padding']} for every i: {fixed['status']}{cex}")
        if fixed["recovers"]:
            r = fixed["recovers"]
            recovered = size_set("i", period=r["period"], residues=r["residues"], start=r["from"])
            lines.append(f"  it gives back exactly {recovered}")
    fits = True
    if fixed is not None:
        fits = fixed["status"] == "proved"
        if size is not None:
            # The size the user asked about decides the exit code; every other size is reported beside it.
            # At one size the torch form's output_padding is a number: the fixed one fits iff it is that number.
            fits = fits or tr["output_padding"] == fixed["output_padding"]
            lines.append(
                f"output_padding {fixed['output_padding']} at i = {size}: "
                + ("gives back i" if fits else "does not give back i")
            )
    recovers = data["round_trip"] == "proved"
    if size is not None:
        # Asked about one size, the answer is the form at that size; the verdict for every i is said beside it.
        recovers = bool(data["torch_recovers_input"])
        lines.append(f"torch form at i = {size}: " + ("gives back i" if recovers else "does not give back i"))
    lines += [f"note: {note}" for note in data.get("notes", [])]
    code = EXIT_OK if recovers and fits else EXIT_FALSE
    return code, data, "\n".join(lines)


def cmd_port(args: argparse.Namespace) -> tuple[int, Any, str]:
    from .core.layers import layer
    from .logic.port import AFTER_PAD, SAME_SIZE, SAME_WINDOWS, port

    size = _input_size(args.input)
    result = port(layer(_axis_spec(args.spec, args)), args.to, size)
    data = result.to_json()
    lines = [f"source: {data['source']}", f"level: {data['level']}"]
    if data["level"] == SAME_WINDOWS:
        lines.append(f"equivalent: {data['equivalent']}")
        if data["proof"] is not None:
            lines.append(f"same windows for every input: {_result_text(data['proof'])}")
    else:
        for tried in data["candidates"]:
            windows = tried.get("windows")
            verdict = f"same size, windows {_result_text(windows)}" if windows else tried["status"]
            lines.append(f"  {tried['spec']}: {verdict}")
        pad = data["pad"]
        if pad is not None and data["level"] == AFTER_PAD:
            # The source's own padding, and at the end what a ceil_mode overhang needs (port says).
            begin, end = cast(dict[str, Any], result.pad)["amounts"]
            amounts = [v for pair in (pad["by_residue"] or {}).get("pads", {}).values() for v in pair]
            how = "F.pad / tf.pad / jnp.pad"
            if any(v < 0 for v in amounts) or any(
                isinstance(v, sympy.Integer) and v < 0 for v in (begin, end)
            ):
                # A negative amount crops: F.pad takes it, tf.pad and jnp.pad refuse it.
                how = "F.pad; a negative amount crops: slice instead with tf.pad / jnp.pad"
            lines.append(
                f"pad first (begin, end) = ({expression(begin)}, {expression(end)}) with value {pad['value']} "
                f"({how}), then {pad['then']}"
            )
            if pad["by_residue"]:
                r = pad["by_residue"]
                table = ", ".join(
                    f"i mod {r['period']} = {k}: ({v[0]}, {v[1]})" for k, v in sorted(r["pads"].items())
                )
                lines.append(f"  that is, by residue ({r['periodic']} periodic): {table}")
            lines.append(f"  same output size for every input: {_result_text(pad['proof'])}")
        same = data["same_size"]
        if same is not None and data["level"] == SAME_SIZE:
            lines.append(f"same size only: {same['spec']} (its windows differ)")
        if same is not None and same["windows_differ"]:
            d = same["windows_differ"]
            lines.append(
                f"  {same['spec']} differs at i = {d['i']}, output {d['j']}: the source reads "
                f"{d['source']['taps']} ({', '.join(d['source']['holds'])}), it reads {d['target']['taps']} "
                f"({', '.join(d['target']['holds'])})"
            )
        closest = data["closest"]
        if closest is not None and data["level"] not in (AFTER_PAD, SAME_SIZE):
            seen = closest["agreeing_sizes_up_to"]
            agrees = _set_text({"i": closest["agrees_on"]})
            lines.append(
                f"closest single layer: {closest['spec']}, same size on {seen['count']} of the {seen['of']} "
                f"valid sizes up to {seen['limit']}: {agrees}"
            )
            periodic = closest.get("periodic")
            if periodic:
                where = size_set(
                    "i", period=periodic["period"], residues=periodic["residues"], start=periodic["from"]
                )
                lines.append(f"  agrees on {where}: {_result_text(periodic)}")
            if "at_input" in closest:
                lines.append(f"  at i = {closest['at_input']['i']}: agrees: {closest['at_input']['agrees']}")
    lines += [f"note: {note}" for note in data["notes"]]
    return EXIT_OK, data, "\n".join(lines)


def _input_shape(text: str | None) -> list[str] | None:
    """--input-shape N,C,H[,W...]: integers (of at most limits.MAX_BITS bits) or names, as text."""
    if text is None:
        return None
    shape = [part.strip() for part in text.split(",")]
    for part in shape:
        if not _name(part) and integer(part, f"--input-shape {shown(text)}") is None:
            raise SpecError(f"--input-shape takes N,C,H[,W...] with integers or names, got {shown(text)!r}")
    if len(shape) < 3:
        raise SpecError(f"--input-shape takes N,C,H[,W...] with integers or names, got {shown(text)!r}")
    return shape


def _check_sizes(text: str, net: Any, option: str = "--check") -> dict[str, int]:
    """--check and --at: one positive size per input axis, in order (30 or 30,40) or by name (H=30,W=40); a fixed
    axis may be left out of the named form. One size alone is every symbolic axis' size, as `shape --in 30` is
    every axis' of a layer of several."""
    from .nets.table import input_sizes

    dims = net.dims
    usage = (
        f"{option} takes a size per input axis ({', '.join(dims)}), as N,N... or NAME=N,..., or one N for every "
        f"axis, got {shown(text)!r}"
    )
    parts = [part.strip() for part in text.split(",")]
    named = ["=" in part for part in parts]
    if len(parts) == 1 and not named[0] and len(dims) > 1 and net.symbolic:
        parts, named = [f"{dim}={parts[0]}" for dim in net.symbolic], [True] * len(net.symbolic)
    if not text.strip() or any(named) != all(named) or (not any(named) and len(parts) != len(dims)):
        raise SpecError(usage)
    pairs = []
    for position, part in enumerate(parts):
        name, _, value = part.rpartition("=")
        number = integer(value, f"{option} {shown(part)}")
        if number is None or (named[position] and not name.strip()):
            raise SpecError(usage)
        pairs.append((name.strip() if named[position] else dims[position], number))
    return input_sizes(net, pairs, option)


def cmd_net(args: argparse.Namespace) -> tuple[int, Any, str]:
    from .logic.prove import Proved, in_words
    from .nets.load import load_network

    shape = _input_shape(args.input_shape)
    net = load_network(args.network, shape, args.convention)
    checks = [_check_sizes(text, net) for text in args.check]
    at = _check_sizes(args.at, net, "--at") if args.at is not None else None
    output = net.output_size()
    valid = net.valid_inputs(int(args.timeout * 1000))
    first = net.symbolic[0] if net.symbolic else None
    sized = checks[0] if checks else at
    rf_size = sized.get(first) if sized and first else None
    fields: dict[str, Any] = {}
    nowhere = ""
    if args.receptive_field:
        try:
            fields = net.receptive_fields(rf_size)
        except SymconvError:
            # The network refuses the --check size (reported below): fields at a size it accepts.
            rf_size = None
            try:
                fields = net.receptive_fields()
            except SymconvError as error:  # defined at no size: no field, and the rest still answers
                nowhere = str(error)
    data: dict[str, Any] = {
        "output_size": {dim: str(expr) for dim, expr in output.items()},
        "valid_inputs": {dim: {**v.describe(), "proof": in_words(v.proof)} for dim, v in valid.items()},
        "receptive_field": {name: f.describe() for name, f in fields.items()},
    }
    sizes_line = ", ".join(
        f"{d} -> {expression(_on_domain(e, net.conditions, d))}" for d, e in output.items()
    )
    # A flat output (after flatten or linear) has no spatial axes: the sizes are those that enter it.
    flat = _is_flat(net)
    lines = [f"{'sizes into the flat output' if flat else 'output size'}: {sizes_line}"]
    lines += _flat_output(net, output) if flat else []
    for dim, v in valid.items():
        words = size_set(dim, period=v.period, residues=v.residues, start=v.start, below=v.below)
        lines.append(f"valid {dim}: {words} ({in_words(v.proof)})")
        lines += _restrictions(net, dim, v)
    if nowhere:
        lines.append(f"receptive field: none ({nowhere})")
    if fields:
        last = fields[net.output].describe()
        varies = "" if last["uniform"] else " (the largest; fields differ between outputs"
        varies += f", at {net.symbolic[0]} = {rf_size})" if varies and rf_size else (")" if varies else "")
        lines.append(
            f"receptive field of the output: size {last['size']}{varies}, stride {last['stride']}, "
            f"padding {last['padding']}, centre of output 0 at {last['centre_of_unit_0']}, "
            f"aligned: {last['aligned']}"
        )
        lines += _misalignments(net, fields)
        # A network with per-axis layers: the other axes' fields too (the first is the one above).
        others = [dim for dim in net.symbolic[1:] if net.along(dim) is not net]
        if others:
            by_axis = {net.symbolic[0]: data["receptive_field"]}
            for dim in others:
                field = net.receptive_fields(dim=dim)
                by_axis[dim] = {name: f.describe() for name, f in field.items()}
                last = by_axis[dim][net.output]
                lines.append(
                    f"receptive field of the output along {dim}: size {last['size']}, stride {last['stride']}, "
                    f"padding {last['padding']}"
                )
            data["receptive_field_by_axis"] = by_axis
    shaped = None
    if args.table or at is not None:
        from .nets.table import table

        # The fields above serve the table when they are at the sizes it uses (--at's, where defined there).
        same = not checks and (at is None or "output" in _net_check(net, at))
        given = None
        if fields and same and first is not None and rf_size == (at or {}).get(first):
            given = {first: fields}
        shaped = table(net, at, fields=given, receptive=args.receptive_field, valid=valid)
        if args.table and args.json:
            data["table"] = shaped.describe()
        elif args.table:  # each form printed only when it is the answer: a long network has many formulas
            lines = [shaped.text(), "", *lines]
        if at is not None:
            data["at"] = shaped.describe_at()
            lines += shaped.diagnosis()
    from .nets.table import Nearest, nearest_lines

    results = [_net_check(net, sizes, valid) for sizes in checks]
    for result in results:
        where = ", ".join(f"{name} = {value}" for name, value in result["input"].items())
        if "output" in result:
            sizes = ", ".join(f"{name} -> {value}" for name, value in result["output"].items())
            into = "sizes into the flat output" if flat else "output"
            lines.append(f"at {where}: {into} {sizes}")
        else:
            lines.append(f"at {where}: {result['error']}")
            lines += nearest_lines({dim: Nearest(**near) for dim, near in result.get("nearest", {}).items()})
    if results:
        # "check": the one --check as before; "checks": every --check in order.
        data["checks"] = results
        if len(results) == 1:
            data["check"] = results[0]
    passed = all("output" in result for result in results) and (shaped is None or shaped.failure is None)
    proved = all(isinstance(v.proof, Proved) for v in valid.values())
    lines += _runtime_notes(net)
    return (EXIT_OK if proved and passed else EXIT_FALSE), data, "\n".join(lines)


# How many sizes `net` tries to tell which node excludes which input sizes, and how many it names per node.
RESTRICTION_SIZES = 512
NAMED_SIZES = 6


def _restrictions(net: Any, dim: str, valid: Any) -> list[str]:
    """Which node adds each condition that excludes input sizes: for every size up to a period past the valid
    set's start, the first condition that fails there is charged with it (the others may fail too)."""
    from .core.arith import evaluate

    top = min(RESTRICTION_SIZES, max(16, valid.start + 2 * valid.period + max(valid.below, default=0)))
    excluded: dict[int, list[int]] = {}
    conditions = net.conditions(dim)
    for n in range(1, top + 1):
        if n in valid:
            continue
        for index, (condition, _) in enumerate(conditions):
            try:
                holds = bool(evaluate(condition, {dim: n}))
            except ZeroDivisionError:
                holds = False
            if not holds:
                excluded.setdefault(index, []).append(n)
                break
    lines = [f"  which node excludes which {dim} from 1 to {top} (the first condition that fails there):"]
    for index, sizes in sorted(excluded.items()):
        condition, rule = conditions[index]
        where, _, why = rule.partition(": ")
        lines.append(
            f"    {where} needs {expression(condition)} ({why}): {dim} = {_listed(sizes, NAMED_SIZES)}"
        )
    return lines if excluded else []


def _is_flat(net: Any) -> bool:
    """Whether the network's output is a vector (its last node reads only flattened tensors): an SE block's
    flatten, viewed back to the channels, leaves the output spatial."""
    from .nets.table import flat_nodes

    return flat_nodes(net).get(net.nodes[-1].name, False)


def _flat_output(net: Any, output: dict[str, Any]) -> list[str]:
    """The output is a vector (`_is_flat`): its length, besides the spatial sizes that enter it."""
    last = [node for node in net.nodes if node.op in ("flatten", "linear")][-1]
    needed = dict(last.axes) if last.op == "linear" and last.axes else None
    if last.op == "linear" and last.amount is not None:
        needed = {dim: last.amount for dim in net.dims}
    if needed is not None:
        sizes = ", ".join(f"{dim} {size}" for dim, size in needed.items())
        final = dict(net.channels).get(net.nodes[-1].name)
        after = f"; the output has {final} features" if final is not None else ""
        return [f"flat output: node {last.name} (linear) needs the sizes {sizes} at its input{after}"]
    # Where the channels are tracked, the count is the tensor's (a class token read from the tokens has its
    # channels, whatever the sizes); otherwise channels times the sizes that enter the flatten.
    known = dict(net.channels)
    count, final = known.get(last.name), known.get(net.nodes[-1].name)
    if count is not None:
        after = f"; the output has {final}" if final is not None and final != count else ""
        return [f"flat output after node {last.name} (flatten): {count} features{after}"]
    product = " * ".join(f"({expression(e)})" for e in output.values())
    return [f"flat output after node {last.name} (flatten): C * {product} features (C channels)"]


def _runtime_notes(net: Any) -> list[str]:
    """Where the standard's reading of an ONNX model is known to differ from onnxruntime's: ceil_mode pooling
    before opset 22 (the standard counts a last window starting in the end padding, onnxruntime drops it)."""
    from .core.layers import Axes

    kept = [
        node.name
        for node in net.nodes
        if any(
            getattr(made, "keeps_last_window", False)
            for made in (node.layer.layers if isinstance(node.layer, Axes) else (node.layer,))
        )
    ]
    if not kept:
        return []
    shown = ", ".join(kept[:3]) + (f" and {len(kept) - 3} more" if len(kept) > 3 else "")
    return [
        f"note: ceil_mode pooling before opset 22 at {shown}: the ONNX standard's shape inference counts a last "
        "window starting in the end padding, as read here; onnxruntime drops it (--convention ort reads the "
        "model as onnxruntime runs it)"
    ]


def _listed(numbers: Sequence[int], most: int) -> str:
    head = ", ".join(str(n) for n in numbers[:most])
    return head + (f", ... ({len(numbers)} sizes)" if len(numbers) > most else "")


def _misalignments(net: Any, fields: dict[str, Any]) -> list[str]:
    """Each merge whose inputs' fields do not line up: their strides and centres differ."""
    lines = []
    for node in net.nodes:
        if node.op not in ("cat", "add"):
            continue
        parents = [fields[name] for name in node.inputs]
        first = parents[0]
        if all(f.lines_up_with(first) for f in parents):
            continue
        joined = "; ".join(
            f"{name}: stride {f.describe()['stride']}, centre of output 0 at {f.describe()['centre_of_unit_0']}"
            for name, f in zip(node.inputs, parents, strict=True)
        )
        lines.append(f"  not aligned at node {node.name} ({node.op}), which joins {joined}")
    if len(lines) > MAX_MISALIGNED:  # a transformer misaligns every residual around its attention
        lines[MAX_MISALIGNED:] = [
            f"  ... and {len(lines) - MAX_MISALIGNED} more merges not aligned (--json lists every field)"
        ]
    return lines


MAX_MISALIGNED = 4


def _net_check(net: Any, sizes: dict[str, int], valid: dict[str, Any] | None = None) -> dict[str, Any]:
    """The network at concrete sizes: its output, or the error of the first node that refuses them (and, given
    the valid sets, the nearest valid sizes of each axis whose size is not in its set)."""
    from .nets.table import describe_nearest, nearest

    try:
        return {"input": sizes, "output": net.check(sizes)}
    except SpecError:
        raise
    except SymconvError as error:
        failed = {"input": sizes, "error": str(error)}
    if valid is not None:
        near = {dim: nearest(v, sizes[dim]) for dim, v in valid.items() if sizes[dim] not in v}
        failed["nearest"] = describe_nearest(near)
    return failed


def _result_text(result: dict[str, Any]) -> str:
    if result["status"] == "proved":
        return f"proved ({result['scope']})"
    if result["status"] == "refuted":
        return f"refuted at {assignments(result['counterexample'])}: {result['reason']}"
    return f"unknown: {result['reason']}"


def _solve_options(parser: argparse.ArgumentParser, lead: str) -> None:
    """--in, --out, --where, --max, --min: what `solve` takes, and `latex` for an answer."""
    parser.add_argument(
        "--in",
        dest="input",
        metavar="N|?|EXPR[,...]",
        help=f"{lead}input size, one per axis (default ?: unknown)",
    )
    parser.add_argument(
        "--out",
        dest="output",
        metavar="M|?|EXPR[,...]",
        help=f"{lead}output size, one per axis (default ?: unknown)",
    )
    parser.add_argument(
        "--where", action="append", default=[], metavar="C", help=f"{lead}an extra condition (repeatable)"
    )
    parser.add_argument("--max", action="append", default=[], metavar="NAME=N", help=f"{lead}upper bound")
    parser.add_argument("--min", action="append", default=[], metavar="NAME=N", help=f"{lead}lower bound")


DEFAULT_TIMEOUT = 60.0
# Text output lists this many solution sets; JSON lists them all.
MAX_SET_LINES = 50


def _timeout_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"time budget for the whole command (default {DEFAULT_TIMEOUT:g}); when it runs out the answer is "
        "unknown (time budget) with what was found",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="symconv", description="Convolution arithmetic: exact formulas, solutions and proofs."
    )
    parser.add_argument("--version", action="version", version=f"symconv {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    shape = commands.add_parser("shape", help="output size of a layer for an input size")
    shape.add_argument("spec", metavar="SPEC", help='a layer spec, e.g. "conv(k=3, s=2, p=1)"')
    shape.add_argument(
        "--in",
        dest="input",
        required=True,
        metavar="N[,N...]",
        help="input size per spatial axis (an integer, or a symbol for a formula)",
    )
    shape.add_argument("--json", action="store_true", help="print JSON")
    shape.set_defaults(run=cmd_shape)

    windows = commands.add_parser(
        "windows",
        help="which input positions each output position reads (its window), and what padding holds",
    )
    windows.add_argument("spec", metavar="SPEC", help='a layer spec, e.g. "tf.conv(k=3, s=2, p=same)"')
    windows.add_argument("--in", dest="input", required=True, metavar="N[,N...]", help="input size per axis")
    _axis_option(windows)
    windows.add_argument("--at", type=int, metavar="J", help="only output position J (from 0)")
    windows.add_argument("--json", action="store_true", help="print JSON")
    windows.set_defaults(run=cmd_windows)

    solve = commands.add_parser("solve", help="solve for unknown parameters (marked ?) and sizes")
    solve.add_argument("spec", metavar="SPEC", help='a layer spec with unknowns, e.g. "conv(k=?, s=2, p=?)"')
    _solve_options(solve, "")
    objective = solve.add_mutually_exclusive_group()
    objective.add_argument("--minimize", metavar="NAME", help="report the solution with the least NAME")
    objective.add_argument("--maximize", metavar="NAME", help="report the solution with the greatest NAME")
    _axis_option(solve)
    solve.add_argument(
        "--limit",
        type=_whole(1),
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"list at most N solutions (default {DEFAULT_LIMIT})",
    )
    solve.add_argument("--json", action="store_true", help="print JSON")
    _timeout_option(solve)
    solve.set_defaults(run=cmd_solve)

    invert = commands.add_parser("invert", help="the transposed layer that gives back the input size, proved")
    invert.add_argument(
        "spec", metavar="SPEC", help='a convolution or pooling spec, e.g. "conv(k=3, s=2, p=1)"'
    )
    invert.add_argument("--in", dest="input", metavar="N", help="a concrete input size (default: every i)")
    _axis_option(invert)
    invert.add_argument(
        "--output-padding",
        "--a",
        dest="output_padding",
        type=_whole(0),
        metavar="A",
        help="check one fixed PyTorch output_padding for every i (refuted with a counterexample)",
    )
    _timeout_option(invert)
    invert.add_argument("--json", action="store_true", help="print JSON")
    invert.set_defaults(run=cmd_invert)

    port = commands.add_parser("port", help="the equivalent layer in another framework, proved")
    port.add_argument(
        "spec", metavar="SPEC", help='a layer spec with its framework, e.g. "tf.conv(k=3, s=2, p=same)"'
    )
    port.add_argument("--to", required=True, choices=FRAMEWORKS, help="target framework")
    _axis_option(port)
    port.add_argument(
        "--in", dest="input", metavar="N", help="also say whether the closest layer agrees at N"
    )
    port.add_argument("--json", action="store_true", help="print JSON")
    _timeout_option(port)
    port.set_defaults(run=cmd_port)

    net = commands.add_parser(
        "net", help="a network's output sizes, exact valid input sizes, receptive fields"
    )
    net.add_argument(
        "network",
        metavar="NETWORK",
        help='a chain "conv(k=3,s=2,p=1) > maxpool(k=2,s=2)", a .toml network, a .onnx file or pkg.module:factory',
    )
    net.add_argument("--input-shape", metavar="1,3,H,W", help="input shape; names are symbolic sizes")
    net.add_argument(
        "--convention",
        choices=("onnx", "ort"),
        help="read an .onnx model as the ONNX standard (onnx, the default) or as onnxruntime runs it (ort)",
    )
    net.add_argument(
        "--check",
        action="append",
        default=[],
        metavar="N[,N...]",
        help="report the output (or the first failing node) at these sizes, one per axis in order or as "
        "NAME=N (repeatable; exit 1 when one fails)",
    )
    net.add_argument(
        "--table",
        action="store_true",
        help="one row per node: its op, output shape as formulas in the input sizes, the conditions it adds, "
        "its receptive field",
    )
    net.add_argument(
        "--at",
        metavar="NAME=N[,...]",
        help="evaluate at these sizes (one per input axis, e.g. H=224,W=224): the output, or the first failing "
        "node and the nearest valid sizes (exit 1); with --table, every node's shape there",
    )
    net.add_argument(
        "--no-receptive-field", dest="receptive_field", action="store_false", help="skip receptive fields"
    )
    _timeout_option(net)
    net.add_argument("--json", action="store_true", help="print JSON")
    net.set_defaults(run=cmd_net)

    prove = commands.add_parser("prove", help="prove theorem files, ids or an ad-hoc claim")
    prove.add_argument(
        "targets",
        nargs="*",
        metavar="FILE|DIR|ID",
        help="theorem files, directories of them, or ids in the corpus (default: the corpus: $SYMCONV_PROOFS, "
        "./proofs, or the one installed with symconv)",
    )
    prove.add_argument("--given", action="append", default=[], metavar="C", help="a condition (repeatable)")
    prove.add_argument("--claim", metavar="C", help="an ad-hoc claim to prove under the --given conditions")
    prove.add_argument(
        "--bound",
        type=_whole(1),
        metavar="N",
        help="prove over the box |x| <= N only (default: unbounded, box as a stated fallback)",
    )
    _timeout_option(prove)
    prove.add_argument(
        "--latex",
        metavar="FILE",
        help="also write the theorems, derivations and verdicts as a LaTeX document",
    )
    prove.add_argument(
        "--snippet", action="store_true", help="with --latex: a fragment to \\input instead of a document"
    )
    prove.add_argument(
        "--confirm",
        choices=["cvc5"],
        help="have a second solver re-check every proved query (a disagreement is an error, exit 3)",
    )
    prove.add_argument(
        "--smt2",
        metavar="DIR",
        help="write each proved query to DIR/ID.smt2, a standalone SMT-LIB 2 file that z3 and cvc5 answer unsat",
    )
    prove.add_argument("--json", action="store_true", help="print JSON")
    prove.set_defaults(run=cmd_prove)

    latex = commands.add_parser(
        "latex", help="LaTeX for a theorem (statement, derivation, verdict), a layer's formula or an answer"
    )
    latex.add_argument(
        "target",
        metavar="ID|SPEC",
        help='a theorem id in ./proofs (or a .toml file), or a layer spec such as "conv(k=3, s=2, p=1)"',
    )
    _solve_options(latex, "with a spec, solve: ")
    _axis_option(latex)
    latex.add_argument("--standalone", action="store_true", help="a complete document (article, amsmath)")
    latex.add_argument("-o", "--output", dest="output_file", metavar="FILE", help="write to FILE")
    _timeout_option(latex)
    latex.add_argument("--json", action="store_true", help="print JSON")
    latex.set_defaults(run=cmd_latex)

    draw = commands.add_parser(
        "draw", help="a TikZ figure of a layer sliding over its input (the paper's style)"
    )
    draw.add_argument(
        "spec", metavar="SPEC", help='a convolution, pooling or convT spec, e.g. "conv(k=3, s=2, p=1)"'
    )
    draw.add_argument(
        "--in", dest="input", required=True, metavar="N[,N]", help="input size (square, or H,W)"
    )
    _axis_option(draw)
    draw.add_argument(
        "-o",
        "--output",
        dest="output_file",
        metavar="FILE",
        help="FILE.tex, .pdf, .png or .gif (default: print TikZ)",
    )
    frames = draw.add_mutually_exclusive_group()
    frames.add_argument(
        "--frame", type=_whole(), metavar="F", help="the output position to show (row-major, from 0)"
    )
    frames.add_argument(
        "--all-frames", action="store_true", help="every output position: one page/frame each"
    )
    draw.add_argument(
        "--dpi", type=_between(30, 1200, int), metavar="N", help="resolution of a .png or .gif (default 300)"
    )
    draw.add_argument(
        "--scale",
        type=_between(0.1, 10),
        default=1.0,
        metavar="X",
        help="size of the picture, cells and captions alike (default 1: 4 mm cells)",
    )
    draw.add_argument("--json", action="store_true", help="print JSON")
    draw.set_defaults(run=cmd_draw)
    return parser


def _budget(args: argparse.Namespace, from_start: bool) -> Any:
    """The command's time budget (--timeout), or none for a command without one; `from_start`: it counts from
    when symconv was imported (the command line), else from now (main called in a running process)."""
    from contextlib import nullcontext

    from .core import budget

    seconds = getattr(args, "timeout", None)
    if seconds is None:
        return nullcontext()
    # A twentieth is kept for printing the answer.
    return budget.limit(seconds, since=budget.STARTED if from_start else None, reserve=0.05)


def _out_of_time(why: str, wants_json: bool) -> int:
    """A step with no partial answer of its own ran out of time: the answer is unknown (exit 1)."""
    if wants_json:
        print(json.dumps({"status": "unknown", "reason": f"time budget: {why}"}))
    else:
        print(f"unknown (time budget): {why}")
    return EXIT_FALSE


def _too_many_digits(error: ValueError) -> bool:
    """Python's refusal to print (or read) an integer past sys.get_int_max_str_digits()."""
    return "integer string conversion" in str(error)


def _fail(message: str, wants_json: bool, code: int = EXIT_BAD_INPUT) -> int:
    """Report `message` on stderr (its first line also on stdout as JSON when asked) and return `code`."""
    if wants_json:
        print(json.dumps({"error": message.split("\n")[0]}))
    print(f"symconv: {'error' if code == EXIT_BAD_INPUT else 'internal error'}: {message}", file=sys.stderr)
    return code


def _internal(error: Exception, wants_json: bool) -> int:
    """An exception symconv did not raise on purpose: a bug, on one line (exit 3)."""
    first = str(error).split("\n")[0]
    return _fail(
        f"{type(error).__name__}: {shown(first, 200)} (a bug: please report it)", wants_json, EXIT_INTERNAL
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (tests call this in-process)."""
    from_start = argv is None
    if from_start:
        _defer_tensor_algebra()
    argv = list(sys.argv[1:] if argv is None else argv)
    # Answers may multiply inputs of limits.MAX_BITS bits each: print up to MAX_PRINTED_DIGITS digits (Python's
    # default is 4,300), for this command only.
    digits = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(MAX_PRINTED_DIGITS)
    try:
        return _run(argv, from_start)
    finally:
        sys.set_int_max_str_digits(digits)


def _defer_tensor_algebra() -> None:
    """SymPy's Add imports sympy.tensor.tensor on its first use, only to test whether a term is a tensor
    expression; that import (and sympy.combinatorics with it) is about a tenth of a cold command, for a module
    no command uses. In a process that runs one command, a stand-in takes the module's place until something
    asks for it: to Add it gives a TensExpr that nothing is an instance of (what the real one is while no
    tensor exists); anyone else, for any name, gets the real module's (loaded then)."""
    name = "sympy.tensor.tensor"
    if name in sys.modules:
        return
    import types

    class _TensExpr:
        """No object is one: no tensor expression exists before sympy.tensor.tensor is loaded."""

    class _Deferred(types.ModuleType):
        def __getattr__(self, attribute: str) -> Any:
            standing_in = sys.modules.get(name) is self
            # only for SymPy's Add, whose test is all it needs: anyone else gets the real class
            if standing_in and attribute in ("TensExpr", "TensAdd") and _caller_module() == "sympy.core.add":
                return _TensExpr
            if attribute.startswith("__") and standing_in:
                raise AttributeError(attribute)  # the import system's own probes (__path__) load nothing
            if standing_in:
                del sys.modules[name]
            import importlib

            return getattr(importlib.import_module(name), attribute)

    sys.modules[name] = _Deferred(name)


def _caller_module() -> str:
    """The module of the code whose attribute lookup reached _Deferred.__getattr__."""
    return str(sys._getframe(2).f_globals.get("__name__", ""))


def _run(argv: list[str], from_start: bool) -> int:
    parser = build_parser()
    wants_json = "--json" in argv
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_BAD_INPUT
        with _budget(args, from_start), budget.alarm():
            try:
                code, data, text = args.run(args)
            except Exception as error:
                if isinstance(error, SymconvError | OutOfTime) or not budget.spent():
                    raise
                # The budget's alarm can land inside a library's own clean-up, which then fails its own way:
                # once the budget is spent, that is the time budget's answer, not a crash.
                raise OutOfTime(f"while computing ({type(error).__name__})") from None
        output = json.dumps(data) if args.json else text
    except InternalError as error:
        return _fail(str(error), wants_json, EXIT_INTERNAL)
    except OutOfTime as error:
        return _out_of_time(str(error), wants_json)
    except (SymconvError, _UsageError) as error:
        return _fail(str(error), wants_json)
    except ValueError as error:
        if not _too_many_digits(error):
            return _internal(error, wants_json)
        return _fail(
            f"a number in the answer has more than {MAX_PRINTED_DIGITS:,} digits, the most symconv prints; "
            "use smaller sizes or parameters",
            wants_json,
        )
    except Exception as error:  # a last resort: a bug, reported on one line rather than as a traceback
        return _internal(error, wants_json)
    try:
        print(output)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (head, less) stopped early: not an error of ours; quiet the interpreter's final flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return int(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
