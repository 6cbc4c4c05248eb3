"""The command line (shape, solve, invert, port, net, prove, latex, draw); ``main(argv)`` returns the exit code.

Exit codes: 0 success; 1 a claim refuted or undecided (for a corpus: a theorem that missed its expected
verdict), a check that fails; 2 bad input, with a one-line message that names what is wrong; 3 an internal error
(a bug: please report it). Every command takes ``--json``. Every option is checked where it is read: numbers
against their rule and symconv.limits (--timeout: finite, at least 1 ms, at most a day).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import sympy

from . import __version__
from .errors import SpecError, SymconvError
from .limits import MAX_PRINTED_DIGITS, MAX_SECONDS, MIN_SECONDS, exists, integer, shown

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


def _name(text: str) -> bool:
    """A symbol name as the parser takes it: an ASCII letter, then letters, digits and _."""
    return bool(_NAME.match(text))


def _integer_or_symbol(text: str) -> int | sympy.Expr:
    from .arith import symbol

    text = text.strip()
    value = integer(text, f"--in {shown(text)}")
    if value is not None:
        return value
    if _name(text):
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


def cmd_shape(args: argparse.Namespace) -> tuple[int, Any, str]:
    from .layers import layer

    made = layer(args.spec)
    parts = [part for part in args.input.split(",")]
    if not all(part.strip() for part in parts):
        raise SpecError(f"--in takes sizes separated by commas, got {shown(args.input)!r}")
    sizes = [_integer_or_symbol(part) for part in parts]
    output = made.output_size(tuple(sizes) if len(sizes) > 1 else sizes[0])
    data = {"output": _jsonable(output)}
    text = ", ".join(str(o) for o in output) if isinstance(output, tuple) else str(output)
    return EXIT_OK, data, text


def _targets(args: argparse.Namespace) -> list:
    from .theorem import Theorem, find, load

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
        corpus_dir = Path(os.environ.get("SYMCONV_PROOFS", "proofs"))
        if not corpus_dir.is_dir():
            raise SpecError(
                f"theorem id(s) {', '.join(ids)} given but no corpus directory {corpus_dir} to look in"
            )
        theorems += find(ids, load(corpus_dir))
    if args.claim is not None:
        theorems.append(Theorem(id="claim", claim=args.claim, given=tuple(args.given), origin="--claim"))
        theorems[-1].statement()
    elif args.given:
        raise SpecError("--given needs a --claim to go with it")
    if not theorems and not args.targets:
        default = Path("proofs")
        if not default.is_dir():
            raise SpecError("nothing to prove: give theorem files, a directory, ids, or --claim")
        theorems = load(default)
    return theorems


def _verdict_line(theorem: Any, result: Any, width: int) -> str:
    ms = f"{result.seconds * 1000:8.1f} ms"
    if result.status == "proved":
        detail = result.scope
    elif result.status == "refuted":
        cex = ", ".join(f"{k} = {v}" for k, v in result.counterexample.items())
        detail = f"{cex}: {result.reason}"
    else:
        detail = result.reason
    mark = "" if result.status == theorem.expect else f"  [MISSED: expected {theorem.expect}]"
    return f"{theorem.id:<{width}}  {result.status:<8} {ms}  {detail}{mark}"


def cmd_prove(args: argparse.Namespace) -> tuple[int, Any, str]:
    theorems = _targets(args)
    rows, lines, missed, results = [], [], 0, []
    width = max((len(theorem.id) for theorem in theorems), default=0)
    for theorem in theorems:
        result = theorem.check(bound=args.bound, timeout_ms=int(args.timeout * 1000))
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
            }
        )
        lines.append(_verdict_line(theorem, result, width))
    total = len(theorems)
    summary = f"{total} theorem(s): {total - missed} reached their expected verdict, {missed} missed"
    lines.append(summary)
    if args.latex is not None:
        from .document import corpus_document

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
    from . import document
    from .latex import standalone

    target = args.target.strip()
    if not target:
        raise SpecError("latex needs a theorem id, a theorem file or a layer spec, got an empty string")
    code = EXIT_OK
    solving = args.input is not None or args.output is not None or "?" in target
    if "(" in target and not exists(target):
        if solving:
            answer = _solve(args, target)
            body = document.math_block(document.answer_lines(answer))
        else:
            if args.where or args.max or args.min:
                raise SpecError("--where, --max and --min go with unknowns (? in the spec, or --in/--out)")
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
    from .tikz import draw

    return draw(args.spec, args.input, args.output_file, args.frame, args.all_frames)


def _size_argument(text: str | None, flag: str) -> int | str | None:
    """--in/--out: an integer, '?' or an expression (kept symbolic)."""
    from .parse import parse_expression

    if text is None:
        return None
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
    from .solve import solve_spec

    return solve_spec(
        spec,
        i=_size_argument(args.input, "--in") if args.input is not None else "?",
        o=_size_argument(args.output, "--out") if args.output is not None else "?",
        where=args.where,
        maxima=_assignments(args.max, "--max"),
        minima=_assignments(args.min, "--min"),
        **options,
    )


def cmd_solve(args: argparse.Namespace) -> tuple[int, Any, str]:
    answer = _solve(args, args.spec, limit=args.limit, minimize=args.minimize, maximize=args.maximize)
    data = answer.to_json()
    lines = [f"unknowns: {', '.join(answer.unknowns)}"]
    if answer.formula is not None:
        f = answer.formula
        lines.append(f"{f['unknown']} from {f['min'] or '-oo'} to {f['max'] or 'oo'}")
        lines.append(f"assuming {', '.join(f['assuming']) or 'nothing'}; checked by Z3: {f['verified']}")
    for solution in answer.solutions:
        lines.append(", ".join(f"{k} = {v}" for k, v in solution.items()))
    if answer.formula is None:
        if not answer.complete:
            for item in answer.sets:
                lines.append("set: " + json.dumps(item))
        count = "infinitely many" if answer.count is None else str(answer.count)
        state = "all listed" if answer.complete else f"{len(answer.solutions)} listed"
        lines.append(f"{count} solution(s), {state}")
    if answer.objective is not None:
        lines.append(f"optimum: {json.dumps(answer.objective)}")
    return EXIT_OK, data, "\n".join(lines)


def _input_size(text: str | None) -> int | None:
    """--in of invert and port: one integer input size, or None."""
    if text is None:
        return None
    value = integer(text, "--in")
    if value is None:
        raise SpecError(f"--in takes an integer input size, got {shown(text)!r}")
    return value


def cmd_invert(args: argparse.Namespace) -> tuple[int, Any, str]:
    from .layers import layer
    from .transpose import invert

    size = _input_size(args.input)
    inverse = invert(layer(args.spec), size, args.output_padding, int(args.timeout * 1000))
    data = inverse.to_json()
    t, tr = data["transposed"], data["torch"]
    lines = [
        f"forward: {data['layer']} maps i = {data['input']} to o = {data['output']}",
        f"transposed (paper): k' = {t['k']}, s' = 1, d' = {t['d']}, p' = {t['p']} (+ a = {t['a']} at the end), "
        f"on the stretched input s(o-1) + 1 = {t['stretched_input']}",
        "torch: ConvTranspose(" + ", ".join(f"{k}={v}" for k, v in tr.items()) + ")",
        "onnx: ConvTranspose(" + ", ".join(f"{k}={v}" for k, v in data["onnx"].items()) + ")",
        f"round trip gives back i for every i: {_result_text(data['proof'])}",
        f"torch form, every i: {_result_text(data['torch_round_trip'])}",
    ]
    for row in data.get("output_padding_table", []):
        lines.append(
            f"padding {row['padding']}, output_padding {row['output_padding']} gives back exactly the i >= {row['from']} "
            f"with i mod {row['period']} in {row['residues']}"
        )
    fixed = data.get("fixed_output_padding")
    if fixed is not None:
        cex = f" (counterexample {fixed['counterexample']})" if fixed["counterexample"] else ""
        lines.append(f"output_padding {fixed['output_padding']} for every i: {fixed['status']}{cex}")
        if fixed["recovers"]:
            r = fixed["recovers"]
            lines.append(
                f"  it gives back exactly the i >= {r['from']} with i mod {r['period']} in {r['residues']}"
            )
    lines += [f"note: {note}" for note in data.get("notes", [])]
    code = EXIT_OK
    if data["round_trip"] != "proved" or (fixed is not None and fixed["status"] != "proved"):
        code = EXIT_FALSE
    return code, data, "\n".join(lines)


def cmd_port(args: argparse.Namespace) -> tuple[int, Any, str]:
    from .layers import layer
    from .port import port

    size = _input_size(args.input)
    result = port(layer(args.spec), args.to, size)
    data = result.to_json()
    lines = [f"source: {data['source']}"]
    if data["equivalent"]:
        lines.append(f"equivalent: {data['equivalent']}")
        lines.append(f"same output size for every input: {_result_text(data['proof'])}")
    else:
        lines.append(f"no single {args.to} layer has the same output size for every input")
        for tried in data["candidates"]:
            lines.append(
                f"  {tried['spec']}: {tried['status']}"
                + (f" at {tried['counterexample']}" if tried.get("counterexample") else "")
            )
        pad = data["pad"]
        if pad is not None:
            lines.append(f"pad first (F.pad begin, end) = ({pad['begin']}, {pad['end']}), then {pad['then']}")
            if pad["by_residue"]:
                r = pad["by_residue"]
                table = ", ".join(f"i mod {r['period']} = {k}: {v}" for k, v in sorted(r["pads"].items()))
                lines.append(f"  that is, by residue ({r['periodic']} periodic): {table}")
            lines.append(f"  same output size for every input: {_result_text(pad['proof'])}")
        closest = data["closest"]
        if closest is not None:
            seen = closest["agreeing_sizes_up_to"]
            lines.append(
                f"closest single layer: {closest['spec']}, agrees on {seen['count']} of the {seen['of']} "
                f"valid sizes up to {seen['limit']}: {json.dumps(closest['agrees_on'])}"
            )
            periodic = closest.get("periodic")
            if periodic:
                lines.append(
                    f"  for every i >= {periodic['from']}: agrees iff i mod {periodic['period']} in "
                    f"{periodic['residues']}: {_result_text(periodic)}"
                )
            if "at_input" in closest:
                lines.append(f"  at i = {closest['at_input']['i']}: agrees: {closest['at_input']['agrees']}")
    lines += [f"note: {note}" for note in data["notes"]]
    found = data["equivalent"] or (data["pad"] and data["pad"]["proof"]["status"] == "proved")
    return (EXIT_OK if found else EXIT_FALSE), data, "\n".join(lines)


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


def _check_sizes(text: str, dims: Sequence[str]) -> dict[str, int]:
    """--check: one positive size per input axis, in order (30 or 30,40) or by name (H=30,W=40)."""
    axes = ", ".join(dims)
    usage = f"--check takes a size per input axis ({axes}), as N,N... or NAME=N,..., got {shown(text)!r}"
    parts = [part.strip() for part in text.split(",")]
    named = ["=" in part for part in parts]
    if not text.strip() or any(named) != all(named):
        raise SpecError(usage)
    sizes: dict[str, int] = {}
    for position, part in enumerate(parts):
        name, _, value = part.rpartition("=")
        name = name.strip() if named[position] else (dims[position] if position < len(dims) else "")
        number = integer(value, f"--check {shown(part)}")
        if number is None or not name:
            raise SpecError(usage)
        if name not in dims:
            raise SpecError(f"--check names the axis {name!r}; the network's input axes are {axes}")
        if name in sizes:
            raise SpecError(f"--check gives the axis {name} twice")
        if number < 1:
            raise SpecError(f"--check sizes must be positive integers, got {name}={number}")
        sizes[name] = number
    if not any(named) and len(parts) != len(dims):
        raise SpecError(usage)
    return sizes


def cmd_net(args: argparse.Namespace) -> tuple[int, Any, str]:
    from .network import load_network

    shape = _input_shape(args.input_shape)
    net = load_network(args.network, shape)
    check = None if args.check is None else _check_sizes(args.check, net.dims)
    output = net.output_size()
    valid = net.valid_inputs(int(args.timeout * 1000))
    fields = net.receptive_fields() if args.receptive_field else {}
    data: dict[str, Any] = {
        "output_size": {dim: str(expr) for dim, expr in output.items()},
        "valid_inputs": {dim: {**v.describe(), "proof": v.proof} for dim, v in valid.items()},
        "receptive_field": {name: f.describe() for name, f in fields.items()},
    }
    lines = [f"output size: {', '.join(f'{d} -> {e}' for d, e in output.items())}"]
    for dim, v in valid.items():
        rule = f"i mod {v.period} in {list(v.residues)}" if v.residues else "never"
        below = f"; below that: {list(v.below)}" if v.below else ""
        lines.append(
            f"valid {dim}: every {dim} >= {v.start} with {rule.replace('i ', dim + ' ')}{below} ({v.proof})"
        )
    if fields:
        last = fields[net.output].describe()
        lines.append(
            f"receptive field of the output: size {last['size']}, stride {last['stride']}, "
            f"padding {last['padding']}, aligned: {last['aligned']}"
        )
    passed = True
    if check is not None:
        try:
            data["check"] = {"input": check, "output": net.check(check)}
            lines.append(f"at {check}: output {data['check']['output']}")
        except SpecError:
            raise
        except SymconvError as error:
            passed = False
            data["check"] = {"input": check, "error": str(error)}
            lines.append(f"at {check}: {error}")
    proved = all(v.proof.startswith("proved") for v in valid.values())
    return (EXIT_OK if proved and passed else EXIT_FALSE), data, "\n".join(lines)


def _result_text(result: dict[str, Any]) -> str:
    if result["status"] == "proved":
        return f"proved ({result['scope']})"
    if result["status"] == "refuted":
        return f"refuted at {result['counterexample']}: {result['reason']}"
    return f"unknown: {result['reason']}"


def _solve_options(parser: argparse.ArgumentParser, lead: str) -> None:
    """--in, --out, --where, --max, --min: what `solve` takes, and `latex` for an answer."""
    parser.add_argument(
        "--in", dest="input", metavar="N|?|EXPR", help=f"{lead}input size (default ?: unknown)"
    )
    parser.add_argument(
        "--out", dest="output", metavar="M|?|EXPR", help=f"{lead}output size (default ?: unknown)"
    )
    parser.add_argument(
        "--where", action="append", default=[], metavar="C", help=f"{lead}an extra condition (repeatable)"
    )
    parser.add_argument("--max", action="append", default=[], metavar="NAME=N", help=f"{lead}upper bound")
    parser.add_argument("--min", action="append", default=[], metavar="NAME=N", help=f"{lead}lower bound")


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

    solve = commands.add_parser("solve", help="solve for unknown parameters (marked ?) and sizes")
    solve.add_argument("spec", metavar="SPEC", help='a layer spec with unknowns, e.g. "conv(k=?, s=2, p=?)"')
    _solve_options(solve, "")
    objective = solve.add_mutually_exclusive_group()
    objective.add_argument("--minimize", metavar="NAME", help="report the solution with the least NAME")
    objective.add_argument("--maximize", metavar="NAME", help="report the solution with the greatest NAME")
    solve.add_argument(
        "--limit", type=_whole(1), default=100, metavar="N", help="list at most N solutions (default 100)"
    )
    solve.add_argument("--json", action="store_true", help="print JSON")
    solve.set_defaults(run=cmd_solve)

    invert = commands.add_parser("invert", help="the transposed layer that gives back the input size, proved")
    invert.add_argument(
        "spec", metavar="SPEC", help='a convolution or pooling spec, e.g. "conv(k=3, s=2, p=1)"'
    )
    invert.add_argument("--in", dest="input", metavar="N", help="a concrete input size (default: every i)")
    invert.add_argument(
        "--output-padding",
        "--a",
        dest="output_padding",
        type=_whole(0),
        metavar="A",
        help="check one fixed PyTorch output_padding for every i (refuted with a counterexample)",
    )
    invert.add_argument("--timeout", type=_seconds, default=10.0, metavar="SECONDS", help="per-proof timeout")
    invert.add_argument("--json", action="store_true", help="print JSON")
    invert.set_defaults(run=cmd_invert)

    port = commands.add_parser("port", help="the equivalent layer in another framework, proved")
    port.add_argument(
        "spec", metavar="SPEC", help='a layer spec with its framework, e.g. "tf.conv(k=3, s=2, p=same)"'
    )
    port.add_argument(
        "--to", required=True, choices=("torch", "tf", "keras", "onnx", "jax"), help="target framework"
    )
    port.add_argument(
        "--in", dest="input", metavar="N", help="also say whether the closest layer agrees at N"
    )
    port.add_argument("--json", action="store_true", help="print JSON")
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
        "--check", metavar="N[,N...]", help="report the output (or the first failing node) at these sizes"
    )
    net.add_argument(
        "--no-receptive-field", dest="receptive_field", action="store_false", help="skip receptive fields"
    )
    net.add_argument("--timeout", type=_seconds, default=20.0, metavar="SECONDS", help="per-proof timeout")
    net.add_argument("--json", action="store_true", help="print JSON")
    net.set_defaults(run=cmd_net)

    prove = commands.add_parser("prove", help="prove theorem files, ids or an ad-hoc claim")
    prove.add_argument(
        "targets",
        nargs="*",
        metavar="FILE|DIR|ID",
        help="theorem files, directories of them, or ids in ./proofs (default: ./proofs)",
    )
    prove.add_argument("--given", action="append", default=[], metavar="C", help="a condition (repeatable)")
    prove.add_argument("--claim", metavar="C", help="an ad-hoc claim to prove under the --given conditions")
    prove.add_argument(
        "--bound",
        type=_whole(1),
        metavar="N",
        help="prove over the box |x| <= N only (default: unbounded, box as a stated fallback)",
    )
    prove.add_argument(
        "--timeout",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="per-query solver timeout (default 10)",
    )
    prove.add_argument(
        "--latex",
        metavar="FILE",
        help="also write the theorems, derivations and verdicts as a LaTeX document",
    )
    prove.add_argument(
        "--snippet", action="store_true", help="with --latex: a fragment to \\input instead of a document"
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
    latex.add_argument("--standalone", action="store_true", help="a complete document (article, amsmath)")
    latex.add_argument("-o", "--output", dest="output_file", metavar="FILE", help="write to FILE")
    latex.add_argument("--timeout", type=_seconds, default=10.0, metavar="SECONDS", help="per-proof timeout")
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
    draw.add_argument("--json", action="store_true", help="print JSON")
    draw.set_defaults(run=cmd_draw)
    return parser


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
    argv = list(sys.argv[1:] if argv is None else argv)
    # Answers may multiply inputs of limits.MAX_BITS bits each: print up to MAX_PRINTED_DIGITS digits (Python's
    # default is 4,300), for this command only.
    digits = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(MAX_PRINTED_DIGITS)
    try:
        return _run(argv)
    finally:
        sys.set_int_max_str_digits(digits)


def _run(argv: list[str]) -> int:
    parser = build_parser()
    wants_json = "--json" in argv
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_BAD_INPUT
        code, data, text = args.run(args)
        output = json.dumps(data) if args.json else text
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
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
