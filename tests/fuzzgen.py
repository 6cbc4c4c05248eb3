"""Seeded generators and brute-force oracles for the soundness fuzz (tests/test_fuzz.py, benchmarks/fuzz.py).

Claims are expression trees (`Node`), rendered to symconv's expression syntax and evaluated here, on Python
ints, by a tree evaluator of our own (no text is evaluated) under the rule stated in tests/test_fuzz.py.
Solve queries are compared with an enumeration through ``symconv.layer(spec).output_size``.

Every case is a function of (seed, index) alone, so one case can be replayed: ``claim_case(seed, index)``.
"""

from __future__ import annotations

import itertools
import math
import operator
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

NAMES = ("x", "y", "s", "t", "i", "k", "p")
TIMEOUT_MS = 2_000
# A check() that gives no verdict within this wall-clock time is a finding (graded error, status hang).
HANG_SECONDS = 30.0

# ---- expression trees -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One node: op is num, var, + - * // % / mod neg pow floor ceil min max abs layer cmp and or not."""

    op: str
    args: tuple[Any, ...] = ()


def num(value: int) -> Node:
    return Node("num", (value,))


def var(name: str) -> Node:
    return Node("var", (name,))


def bin_(op: str, left: Node, right: Node) -> Node:
    return Node(op, (left, right))


def call(name: str, *args: Node) -> Node:
    return Node(name, args)


def neg(node: Node) -> Node:
    return Node("neg", (node,))


def cmp(left: Node, op: str, right: Node, *more: Any) -> Node:
    """A comparison, chained when `more` holds further (op, term) pairs."""
    ops, terms = [op], [left, right]
    for index in range(0, len(more), 2):
        ops.append(more[index])
        terms.append(more[index + 1])
    return Node("cmp", (tuple(ops), *terms))


def and_(*parts: Node) -> Node:
    return Node("and", parts)


def or_(*parts: Node) -> Node:
    return Node("or", parts)


def not_(part: Node) -> Node:
    return Node("not", (part,))


def layer_call(kind: str, params: Sequence[tuple[str, Node | bool]], arg: Node) -> Node:
    """``kind(name=value, ...)(arg)`` in the paper's convention; `ceil` takes a bool."""
    return Node("layer", (kind, tuple(params), arg))


def floor_q(a: Node, b: Node) -> Node:
    return Node("floor", (bin_("/", a, b),))


def ceil_q(a: Node, b: Node) -> Node:
    return Node("ceil", (bin_("/", a, b),))


# ---- rendering ---------------------------------------------------------------------------------------------

_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "//": 6, "%": 6, "/": 6}
_PREC |= {"neg": 7, "pow": 8}
_ATOM = 9


def _prec(node: Node) -> int:
    if node.op == "num":
        return _ATOM if node.args[0] >= 0 else 7
    return _PREC.get(node.op, _ATOM)


def _wrap(node: Node, least: int) -> str:
    text = render(node)
    return f"({text})" if _prec(node) < least else text


def render(node: Node) -> str:
    """The node in symconv's expression syntax (Python's precedence, parentheses only where needed)."""
    op, args = node.op, node.args
    if op == "num":
        return str(args[0])
    if op == "var":
        return args[0]
    if op in ("+", "-", "*", "//", "%", "/"):
        prec = _PREC[op]
        return f"{_wrap(args[0], prec)} {op} {_wrap(args[1], prec + 1)}"
    if op == "neg":
        return "-" + _wrap(args[0], 8)
    if op == "pow":
        return f"{_wrap(args[0], _ATOM)}**{args[1]}"
    if op in ("floor", "ceil", "mod", "min", "max", "abs"):
        return f"{op}({', '.join(render(a) for a in args)})"
    if op == "layer":
        kind, params, arg = args
        shown = ", ".join(
            f"{name}={('true' if value else 'false') if isinstance(value, bool) else render(value)}"
            for name, value in params
        )
        return f"{kind}({shown})({render(arg)})"
    if op == "cmp":
        ops, terms = args[0], args[1:]
        text = _wrap(terms[0], 5)
        for relation, term in zip(ops, terms[1:], strict=True):
            text += f" {relation} {_wrap(term, 5)}"
        return text
    if op in ("and", "or"):
        return f" {op} ".join(_wrap(part, _PREC[op] + 1) for part in args)
    if op == "not":
        return "not " + _wrap(args[0], 4)
    raise ValueError(f"unknown node {op}")


def free_names(node: Node) -> set[str]:
    if node.op == "var":
        return {node.args[0]}
    if node.op == "layer":
        _, params, arg = node.args
        names = free_names(arg)
        for _, value in params:
            if isinstance(value, Node):
                names |= free_names(value)
        return names
    return {name for a in node.args if isinstance(a, Node) for name in free_names(a)}


# ---- evaluation: Python's semantics on ints ----------------------------------------------------------------


class Undefined(Exception):
    """The evaluation reached a division or modulo by zero, or applied a layer outside its domain."""


Env = dict[str, int]
Fn = Callable[[Env], Any]
_RELATIONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _floordiv(a: int, b: int) -> int:
    if b == 0:
        raise Undefined("// by zero")
    return a // b


def _modulo(a: int, b: int) -> int:
    if b == 0:
        raise Undefined("% by zero")
    return a % b


def _divide(a: Any, b: Any) -> Fraction:
    if b == 0:
        raise Undefined("/ by zero")
    return Fraction(a) / Fraction(b)


_UNARY: dict[str, Callable[[Any], Any]] = {"floor": math.floor, "ceil": math.ceil, "abs": abs}
_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "//": _floordiv,
    "%": _modulo,
    "mod": _modulo,
    "/": _divide,
}


def layer_output(kind: str, values: Mapping[str, Any], i: int) -> int:
    """The paper's convention (symconv/core/frameworks.py window_rules and transposed_rules, framework None):
    the output size, or Undefined where a domain rule fails."""
    k = values["k"]
    pool = kind.endswith("pool")
    s = values.get("s", k if pool else 1)
    p, d, a = values.get("p", 0), values.get("d", 1), values.get("a", 0)
    if not (k >= 1 and s >= 1 and d >= 1 and i >= 1 and p >= 0):
        raise Undefined(f"{kind}: a basic rule fails")
    k_eff = d * (k - 1) + 1
    if kind == "convT":
        o = s * (i - 1) - 2 * p + k_eff + a
        if not (a >= 0 and (a < s or a < d) and o >= 1):
            raise Undefined("convT: output_padding or output size rule fails")
        return o
    if pool and values.get("ceil", False):
        o = (i + 2 * p - k_eff + s - 1) // s + 1
        if (o - 1) * s >= i + p:
            o -= 1
        if o < 1:
            raise Undefined("ceil pooling: the output size must be >= 1")
        return o
    if i + 2 * p < k_eff:
        raise Undefined(f"{kind}: the padded input is smaller than the kernel")
    return (i + 2 * p - k_eff) // s + 1


def compile_node(node: Node) -> Fn:
    """A function env -> value for the node; raises Undefined where the evaluation reaches a zero divisor."""
    op, args = node.op, node.args
    if op == "num":
        value = args[0]
        return lambda env: value
    if op == "var":
        name = args[0]
        return lambda env: env[name]
    if op in _BINARY:
        fn, left, right = _BINARY[op], compile_node(args[0]), compile_node(args[1])
        return lambda env: fn(left(env), right(env))
    if op == "neg":
        inner = compile_node(args[0])
        return lambda env: -inner(env)
    if op == "pow":
        base, exponent = compile_node(args[0]), args[1]
        return lambda env: base(env) ** exponent
    if op in ("floor", "ceil", "abs"):
        rounding, inner = _UNARY[op], compile_node(args[0])
        return lambda env: rounding(inner(env))
    if op in ("min", "max"):
        parts, pick = [compile_node(a) for a in args], min if op == "min" else max
        return lambda env: pick([part(env) for part in parts])
    if op == "layer":
        return _compile_layer(node)
    if op == "cmp":
        return _compile_compare(args[0], [compile_node(a) for a in args[1:]])
    if op in ("and", "or"):
        parts, stop = [compile_node(a) for a in args], op == "or"

        def boolean(env: Env) -> bool:
            # Python's short circuit: `and` stops at the first false part, `or` at the first true one.
            for part in parts:
                if bool(part(env)) == stop:
                    return stop
            return not stop

        return boolean
    if op == "not":
        inner = compile_node(args[0])
        return lambda env: not inner(env)
    raise ValueError(f"unknown node {op}")


def _compile_compare(ops: Sequence[str], terms: Sequence[Fn]) -> Fn:
    relations = [_RELATIONS[op] for op in ops]

    def compare(env: Env) -> bool:
        # A chained comparison evaluates each term once, left to right, and stops at the first false link.
        left = terms[0](env)
        for relation, term in zip(relations, terms[1:], strict=True):
            right = term(env)
            if not relation(left, right):
                return False
            left = right
        return True

    return compare


def _compile_layer(node: Node) -> Fn:
    kind, params, arg = node.args
    compiled = [(name, value if isinstance(value, bool) else compile_node(value)) for name, value in params]
    size = compile_node(arg)

    def apply(env: Env) -> int:
        values = {name: value if isinstance(value, bool) else value(env) for name, value in compiled}
        return layer_output(kind, values, size(env))

    return apply


def evaluate(node: Node, env: Env) -> Any:
    return compile_node(node)(env)


# ---- claims and the brute-force oracle ---------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A theorem as trees: claim, givens and definitions (in order), and the generator family."""

    family: str
    claim: Node
    given: tuple[Node, ...] = ()
    define: tuple[tuple[str, Node], ...] = ()

    @property
    def variables(self) -> tuple[str, ...]:
        names = free_names(self.claim).union(*(free_names(g) for g in self.given))
        names |= set().union(*(free_names(value) for _, value in self.define))
        return tuple(sorted(names - {name for name, _ in self.define}))

    def theorem(self) -> Any:
        from symconv.logic.theorem import Theorem

        return Theorem(
            id="fuzz",
            claim=render(self.claim),
            given=tuple(render(g) for g in self.given),
            define=tuple((name, render(value)) for name, value in self.define),
        )

    def text(self) -> str:
        parts = [f"claim: {render(self.claim)}"]
        if self.given:
            parts.append("given: " + "; ".join(render(g) for g in self.given))
        if self.define:
            parts.append("define: " + "; ".join(f"{n} = {render(v)}" for n, v in self.define))
        return " | ".join(parts)


OUTSIDE, HOLDS, FALSE, UNDEFINED = "outside", "holds", "false", "undefined"


def point_oracle(claim: Claim) -> Callable[[Env], str]:
    """env -> outside (a definition or given undefined, or a given false), holds, false or undefined."""
    definitions = [(name, compile_node(value)) for name, value in claim.define]
    givens = [compile_node(g) for g in claim.given]
    body = compile_node(claim.claim)

    def at(env: Env) -> str:
        env = dict(env)
        try:
            for name, value in definitions:
                env[name] = value(env)
            if not all(given(env) for given in givens):
                return OUTSIDE
        except Undefined:
            return OUTSIDE
        try:
            return HOLDS if body(env) else FALSE
        except Undefined:
            return UNDEFINED

    return at


def box_radius(count: int) -> int:
    """Each variable ranges over [-R, R]: at most a few thousand points."""
    return {0: 0, 1: 12, 2: 10, 3: 6, 4: 4}.get(count, 2)


@dataclass(frozen=True)
class Brute:
    counterexample: dict[str, int] | None
    kind: str  # what the claim does there: false or undefined
    domain: int  # points of the box inside the domain (up to the counterexample)


def brute_force(claim: Claim) -> Brute:
    """The first point of the box where the claim is false or undefined, if any."""
    names, at = claim.variables, point_oracle(claim)
    radius = box_radius(len(names))
    domain = 0
    for values in itertools.product(range(-radius, radius + 1), repeat=len(names)):
        env = dict(zip(names, values, strict=True))
        verdict = at(env)
        if verdict == OUTSIDE:
            continue
        domain += 1
        if verdict != HOLDS:
            return Brute(env, verdict, domain)
    return Brute(None, "", domain)


def recheck(claim: Claim, found: Mapping[str, int]) -> str:
    """What the claim does at symconv's counterexample: false or undefined (it re-checks), else holds or outside.

    A variable the counterexample leaves out (SymPy cancelled it) may take any value of the box.
    """
    names, at = claim.variables, point_oracle(claim)
    missing = [name for name in names if name not in found]
    radius = box_radius(len(missing))
    seen = OUTSIDE
    for values in itertools.product(range(-radius, radius + 1), repeat=len(missing)):
        env = {name: int(found[name]) for name in names if name in found}
        env.update(zip(missing, values, strict=True))
        verdict = at(env)
        if verdict in (FALSE, UNDEFINED):
            return verdict
        if verdict == HOLDS:
            seen = HOLDS
    return seen


@dataclass(frozen=True)
class Outcome:
    """One claim's verdict against brute force: ok, wrong, weak, unknown (no counterexample found) or error."""

    claim: Claim
    status: str
    detail: str  # symconv's counterexample or reason
    brute: Brute
    grade: str
    why: str
    seconds: float

    def message(self) -> str:
        shown = (
            f"brute force: {self.brute.kind} at {self.brute.counterexample}"
            if self.brute.counterexample is not None
            else f"brute force: no counterexample in the box ({self.brute.domain} points in the domain)"
        )
        return f"[{self.grade}] {self.claim.text()}\n  symconv: {self.status} {self.detail}\n  {shown}; {self.why}"


class Hang(Exception):
    """check() ran past the wall-clock limit (SymPy work is not bounded by the solver's timeout)."""


@contextmanager
def wall_clock(seconds: float) -> Iterator[None]:
    """Raise Hang in the main thread after `seconds` (SIGALRM; no limit elsewhere or without SIGALRM)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or seconds <= 0:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise Hang(f"no verdict after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def judge(claim: Claim, timeout_ms: int = TIMEOUT_MS, hang_seconds: float = HANG_SECONDS) -> Outcome:
    """symconv's verdict on the claim, graded by brute force (THE RULE in tests/test_fuzz.py)."""
    start = time.perf_counter()
    try:
        with wall_clock(hang_seconds):
            result = claim.theorem().check(timeout_ms=timeout_ms)
    except Hang as error:
        seconds = time.perf_counter() - start
        return Outcome(claim, "hang", str(error), brute_force(claim), "error", "check() hung", seconds)
    except Exception as error:  # every exception is a finding: the generator writes valid text
        seconds = time.perf_counter() - start
        return Outcome(claim, "error", repr(error), brute_force(claim), "error", "check() raised", seconds)
    seconds = time.perf_counter() - start
    brute = brute_force(claim)
    status = result.status
    if status == "refuted":
        found = result.counterexample
        detail = f"{found} ({result.reason})"
        verdict = recheck(claim, found)
        if verdict == OUTSIDE:
            grade, why = "wrong", "refuted at a point outside the domain"
        elif verdict == HOLDS:
            grade, why = "wrong", "refuted at a point where the claim holds"
        else:
            grade, why = "ok", f"the counterexample re-checks: the claim is {verdict} there"
    elif status == "proved":
        detail = result.scope
        if brute.counterexample is not None:
            grade, why = "wrong", f"proved, but the claim is {brute.kind} at a point of the domain"
        else:
            grade, why = "ok", "no counterexample in the box"
    else:
        detail = result.reason
        if brute.counterexample is not None:
            grade, why = "weak", "unknown, but a counterexample exists in the box"
        else:
            grade, why = "unknown", "unknown, no counterexample in the box"
    return Outcome(claim, status, detail, brute, grade, why, seconds)


# ---- claim generators --------------------------------------------------------------------------------------


class Gen:
    """Random expressions over a few names, for one case."""

    def __init__(self, rng: random.Random, names: Sequence[str]) -> None:
        self.rng = rng
        self.names = list(names)

    def pick(self) -> Node:
        return var(self.rng.choice(self.names))

    def const(self, lo: int = -3, hi: int = 3) -> Node:
        return num(self.rng.randint(lo, hi))

    def leaf(self) -> Node:
        return self.pick() if self.rng.random() < 0.75 else self.const()

    def expr(self, depth: int = 2) -> Node:
        rng = self.rng
        if depth <= 0 or rng.random() < 0.25:
            return self.leaf()
        ops = ["+", "-", "*", "//", "%", "mod", "floor", "ceil", "min", "max", "abs", "neg", "pow"]
        op = rng.choices(ops, weights=[3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0.5])[0]
        if op in ("+", "-", "*"):
            return bin_(op, self.expr(depth - 1), self.expr(depth - 1))
        if op in ("//", "%"):
            return bin_(op, self.expr(depth - 1), self.divisor())
        if op == "mod":
            return call("mod", self.expr(depth - 1), self.divisor())
        if op == "floor":
            return floor_q(self.expr(depth - 1), self.divisor())
        if op == "ceil":
            return ceil_q(self.expr(depth - 1), self.divisor())
        if op in ("min", "max"):
            return call(op, *(self.expr(depth - 1) for _ in range(rng.choice((2, 2, 3)))))
        if op == "abs":
            return call("abs", self.expr(depth - 1))
        if op == "neg":
            return neg(self.expr(depth - 1))
        return Node("pow", (self.leaf(), rng.choice((2, 2, 3))))

    def divisor(self) -> Node:
        """A divisor that can be 0 (a name, a product, a difference) or a nonzero constant."""
        rng = self.rng
        a = rng.choice(self.names)
        others = [n for n in self.names if n != a] or [a]
        b = rng.choice(others)
        forms: list[Callable[[], Node]] = [
            lambda: num(rng.choice((1, 2, 3, 4, -1, -2, -3))),
            lambda: var(a),
            lambda: var(a),
            lambda: bin_("*", var(a), var(b)),
            lambda: bin_("-", var(a), var(b)) if a != b else var(a),
            lambda: bin_("+", var(a), num(rng.choice((1, -1, 2, -2)))),
            lambda: bin_("*", num(2), var(a)),
            lambda: self.expr(1),
        ]
        for _ in range(20):
            node = rng.choice(forms)()
            if not identically_zero(node, self.names, rng):
                return node
        return num(2)


def identically_zero(node: Node, names: Sequence[str], rng: random.Random) -> bool:
    """True when the node is 0 at every sampled point (SymPy would fold it to a literal 0 divisor)."""
    fn = compile_node(node)
    for _ in range(24):
        try:
            if fn({name: rng.randint(-6, 6) for name in names}) != 0:
                return False
        except Undefined:
            return False
    return True


Rule = Callable[[Node, Node, Node], tuple[Node, Node]]

# Rewrites A, B, C -> (lhs, rhs): identities, identities with conditions (a sign, a nonzero divisor), and
# subtly false variants. Brute force decides which; the generator does not need to know.
REWRITES: list[tuple[str, Rule]] = [
    ("floordiv-floor", lambda a, b, c: (bin_("//", a, b), floor_q(a, b))),
    ("mod-def", lambda a, b, c: (bin_("%", a, b), bin_("-", a, bin_("*", b, bin_("//", a, b))))),
    ("mod-call", lambda a, b, c: (call("mod", a, b), bin_("%", a, b))),
    ("ceil-neg", lambda a, b, c: (ceil_q(a, b), neg(bin_("//", neg(a), b)))),
    ("ceil-shift", lambda a, b, c: (ceil_q(a, b), bin_("//", bin_("-", bin_("+", a, b), num(1)), b))),
    ("cancel-mul", lambda a, b, c: (bin_("//", bin_("*", a, b), b), a)),
    ("nested-floordiv", lambda a, b, c: (bin_("//", bin_("//", a, b), c), bin_("//", a, bin_("*", b, c)))),
    ("nested-mod", lambda a, b, c: (call("mod", call("mod", a, bin_("*", b, c)), b), call("mod", a, b))),
    ("min-max", lambda a, b, c: (bin_("+", call("min", a, c), call("max", a, c)), bin_("+", a, c))),
    ("abs-max", lambda a, b, c: (call("abs", a), call("max", a, neg(a)))),
    ("cancel-frac", lambda a, b, c: (floor_q(bin_("*", a, c), bin_("*", b, c)), floor_q(a, b))),
    ("sub-mod", lambda a, b, c: (bin_("-", a, call("mod", a, b)), bin_("*", b, bin_("//", a, b)))),
    (
        "shift-quotient",
        lambda a, b, c: (bin_("//", bin_("+", a, bin_("*", b, c)), b), bin_("+", bin_("//", a, b), c)),
    ),
    ("shift-mod", lambda a, b, c: (bin_("%", bin_("+", a, bin_("*", b, c)), b), bin_("%", a, b))),
    ("plus-one", lambda a, b, c: (bin_("+", bin_("//", a, b), num(1)), bin_("//", bin_("+", a, b), b))),
    ("neg-floordiv", lambda a, b, c: (neg(bin_("//", a, b)), bin_("//", neg(a), b))),
    ("neg-divisor", lambda a, b, c: (bin_("//", a, neg(b)), neg(bin_("//", a, b)))),
    ("mod-mod", lambda a, b, c: (bin_("%", bin_("%", a, b), b), bin_("%", a, b))),
    ("mod-neg-divisor", lambda a, b, c: (bin_("%", a, b), bin_("%", a, neg(b)))),
    ("abs-mod", lambda a, b, c: (call("abs", bin_("%", a, b)), bin_("%", a, call("abs", b)))),
    ("floor-ceil", lambda a, b, c: (floor_q(a, b), bin_("-", ceil_q(a, b), num(1)))),
    ("mul-mod", lambda a, b, c: (bin_("%", bin_("*", a, b), b), num(0))),
    ("square-mod", lambda a, b, c: (call("mod", Node("pow", (b, 2)), b), num(0))),
    ("floor-times", lambda a, b, c: (bin_("*", floor_q(a, b), b), bin_("-", a, bin_("%", a, b)))),
    ("floordiv-times", lambda a, b, c: (bin_("*", bin_("//", a, b), b), a)),
    ("ceil-floor", lambda a, b, c: (ceil_q(a, b), bin_("+", floor_q(bin_("-", a, num(1)), b), num(1)))),
    (
        "max-floordiv",
        lambda a, b, c: (call("max", bin_("//", a, b), c), bin_("//", call("max", a, bin_("*", b, c)), b)),
    ),
    ("double-floordiv", lambda a, b, c: (bin_("//", bin_("//", a, b), b), bin_("//", a, bin_("*", b, b)))),
    (
        "mod-scale",
        lambda a, b, c: (call("mod", bin_("*", c, a), bin_("*", c, b)), bin_("*", c, call("mod", a, b))),
    ),
]


def _relation(rng: random.Random, lhs: Node, rhs: Node) -> Node:
    op = rng.choices(["==", "<=", ">=", "!="], weights=[6, 1, 1, 1])[0]
    return cmp(lhs, op, rhs) if rng.random() < 0.5 else cmp(rhs, op, lhs)


def _sign_givens(rng: random.Random, divisors: Sequence[Node]) -> list[Node]:
    """Conditions on the divisors: positive, nonzero, non-negative (0 is then reached), or none."""
    givens = []
    for d in divisors:
        choice = rng.choices(["pos", "nonzero", "nonneg", "none"], weights=[4, 3, 1, 2])[0]
        if choice == "pos":
            givens.append(cmp(d, ">=", num(1)))
        elif choice == "nonzero":
            givens.append(cmp(d, "!=", num(0)))
        elif choice == "nonneg":
            givens.append(cmp(d, ">=", num(0)))
    return givens


def _context(rng: random.Random, g: Gen) -> Callable[[Node], Node]:
    """The same surrounding on both sides of a rewrite."""
    other = g.leaf()
    forms: list[Callable[[Node], Node]] = [
        lambda n: n,
        lambda n: n,
        lambda n: n,
        lambda n: bin_("+", n, other),
        lambda n: bin_("*", num(2), n),
        lambda n: call("min", n, other),
        lambda n: bin_("//", n, num(rng.choice((2, 3, -2)))),
    ]
    return rng.choice(forms)


def gen_rewrite(rng: random.Random) -> Claim:
    names = rng.sample(NAMES, rng.choice((2, 3, 3)))
    g = Gen(rng, names)
    a, b, c = g.expr(rng.choice((0, 1, 1, 2))), g.divisor(), g.divisor()
    name, rule = rng.choice(REWRITES)
    lhs, rhs = rule(a, b, c)
    around = _context(rng, g)
    claim = _relation(rng, around(lhs), around(rhs))
    return Claim(f"rewrite:{name}", claim, tuple(_sign_givens(rng, [b, c])))


_CANCELLABLE: list[Callable[[Node, Node, Node, Node], Node]] = [
    lambda x, y, s, t: cmp(bin_("//", bin_("*", x, s), s), "==", x),
    lambda x, y, s, t: cmp(bin_("%", bin_("*", x, s), s), "==", num(0)),
    lambda x, y, s, t: cmp(call("mod", Node("pow", (x, 2)), x), "==", num(0)),
    lambda x, y, s, t: cmp(call("mod", call("mod", x, bin_("*", s, t)), s), "==", call("mod", x, s)),
    lambda x, y, s, t: cmp(floor_q(bin_("*", x, y), bin_("*", x, s)), "==", floor_q(y, s)),
    lambda x, y, s, t: cmp(call("mod", bin_("-", x, call("mod", x, s)), s), "==", num(0)),
    lambda x, y, s, t: cmp(
        bin_("//", bin_("+", bin_("*", x, s), y), s), "==", bin_("+", x, bin_("//", y, s))
    ),
    lambda x, y, s, t: cmp(ceil_q(bin_("*", x, s), s), "==", x),
    lambda x, y, s, t: cmp(bin_("//", bin_("*", x, s), bin_("*", y, s)), "==", bin_("//", x, y)),
    lambda x, y, s, t: cmp(bin_("//", bin_("-", x, bin_("%", x, s)), s), "==", bin_("//", x, s)),
    lambda x, y, s, t: cmp(bin_("*", s, bin_("//", x, s)), "<=", x),
    lambda x, y, s, t: cmp(bin_("%", bin_("*", s, t), t), "==", bin_("%", bin_("*", s, t), s)),
    lambda x, y, s, t: cmp(floor_q(bin_("*", x, s), s), "==", ceil_q(bin_("*", x, s), s)),
    lambda x, y, s, t: cmp(bin_("-", x, s), "==", bin_("*", bin_("//", bin_("-", x, s), t), t)),
]


def gen_cancel(rng: random.Random) -> Claim:
    """The forms SymPy simplifies when it builds them (a divisor that can be 0 cancelled away)."""
    x, y, s, t = (var(n) for n in rng.sample(NAMES, 4))
    claim = rng.choice(_CANCELLABLE)(x, y, s, t)
    guard = rng.choices(
        ["none", "given-nonzero", "given-pos", "or", "and", "not-and"], weights=[4, 2, 1, 2, 1, 1]
    )
    given: tuple[Node, ...] = ()
    guarded = [d for d in (s, t) if d.args[0] in free_names(claim)] or [s]
    d = rng.choice(guarded)
    if guard[0] == "given-nonzero":
        given = (cmp(d, "!=", num(0)),)
    elif guard[0] == "given-pos":
        given = tuple(cmp(v, ">=", num(1)) for v in guarded)
    elif guard[0] == "or":
        claim = or_(cmp(d, "==", num(0)), claim)
    elif guard[0] == "and":
        claim = and_(cmp(d, "!=", num(0)), claim)
    elif guard[0] == "not-and":
        claim = or_(and_(not_(cmp(d, "!=", num(0))), cmp(d, "==", d)), claim)
    return Claim("cancel", claim, given)


def _identities(x: Node, y: Node, s: Node, t: Node) -> list[tuple[Node, list[Node]]]:
    """(claim, givens to choose from): true identities under some givens, false under others."""
    one, zero = num(1), num(0)
    pos_s, nz_s, nn_s = cmp(s, ">=", one), cmp(s, "!=", zero), cmp(s, ">=", zero)
    pos_t, nz_t = cmp(t, ">=", one), cmp(t, "!=", zero)
    return [
        (cmp(bin_("+", bin_("*", s, bin_("//", x, s)), bin_("%", x, s)), "==", x), [pos_s, nz_s, nn_s]),
        (cmp(zero, "<=", bin_("%", x, s), "<", s), [pos_s, nz_s, nn_s]),
        (cmp(bin_("//", x, s), "<=", x), [pos_s, nz_s, cmp(x, ">=", zero)]),
        (cmp(ceil_q(x, s), "==", bin_("//", bin_("-", bin_("+", x, s), one), s)), [pos_s, nz_s]),
        (cmp(ceil_q(x, s), "==", neg(bin_("//", neg(x), s))), [nz_s, nn_s]),
        (cmp(floor_q(x, s), "==", bin_("//", x, s)), [nz_s, nn_s]),
        (cmp(floor_q(bin_("+", x, y), s), ">=", bin_("+", floor_q(x, s), floor_q(y, s))), [pos_s, nz_s]),
        (
            cmp(bin_("//", bin_("//", x, s), t), "==", bin_("//", x, bin_("*", s, t))),
            [pos_s, pos_t, nz_s, nz_t],
        ),
        (cmp(bin_("%", bin_("%", x, bin_("*", s, t)), s), "==", bin_("%", x, s)), [nz_s, nz_t, pos_t]),
        (cmp(call("abs", x), "==", call("max", x, neg(x))), [cmp(x, ">=", zero)]),
        (cmp(bin_("+", call("min", x, y), call("max", x, y)), "==", bin_("+", x, y)), []),
        (cmp(call("abs", bin_("%", x, s)), "<", call("abs", s)), [nz_s, pos_s]),
        (cmp(bin_("*", bin_("%", x, s), s), ">=", zero), [nz_s, nn_s]),
        (cmp(bin_("//", bin_("+", x, s), s), "==", bin_("+", bin_("//", x, s), one)), [nz_s, nn_s]),
        (cmp(bin_("//", neg(x), s), "==", neg(bin_("//", x, s))), [pos_s, nz_s]),
        (cmp(bin_("//", x, neg(s)), "==", neg(bin_("//", x, s))), [pos_s, nz_s]),
        (
            cmp(ceil_q(x, s), "==", bin_("+", bin_("//", x, s), one)),
            [pos_s, cmp(bin_("%", x, s), "!=", zero)],
        ),
        (
            cmp(bin_("+", floor_q(x, s), floor_q(neg(x), s)), "==", neg(one)),
            [pos_s, cmp(bin_("%", x, s), "!=", zero)],
        ),
        (cmp(call("mod", x, s), "==", bin_("%", x, s)), [nz_s]),
        (cmp(bin_("%", x, s), "==", bin_("-", x, bin_("*", s, floor_q(x, s)))), [nz_s]),
        (cmp(bin_("*", bin_("//", x, s), s), "==", x), [cmp(bin_("%", x, s), "==", zero), pos_s]),
        (cmp(x, "!=", zero), [cmp(bin_("//", x, s), ">=", one)]),
        (cmp(x, ">=", s), [cmp(bin_("//", x, s), ">=", one), pos_s]),
        (cmp(bin_("*", x, s), ">", zero), [cmp(bin_("//", x, s), ">=", one)]),
        (cmp(call("abs", x), ">=", call("abs", s)), [cmp(bin_("//", x, s), ">=", one)]),
        (cmp(x, ">=", s), [cmp(bin_("%", x, s), "==", zero), pos_s]),
        (
            cmp(call("abs", bin_("-", x, y)), "<", call("abs", s)),
            [cmp(bin_("//", y, s), "==", bin_("//", x, s))],
        ),
        (
            cmp(bin_("//", x, s), "==", bin_("//", y, s)),
            [cmp(bin_("%", bin_("-", x, y), s), "==", zero), pos_s],
        ),
        (
            or_(
                and_(cmp(s, ">", zero), cmp(zero, "<=", bin_("%", x, s), "<", s)),
                and_(cmp(s, "<", zero), cmp(s, "<", bin_("%", x, s), "<=", zero)),
            ),
            [nz_s, pos_s],
        ),
        (or_(cmp(s, "<=", zero), cmp(zero, "<=", bin_("%", x, s), "<", s)), []),
        (or_(cmp(s, "==", zero), cmp(bin_("*", bin_("//", x, s), s), "<=", x)), [nn_s, cmp(x, ">=", zero)]),
        (cmp(x, "<", zero, "<", bin_("//", y, s)), [pos_s, cmp(x, ">=", zero)]),
        (cmp(s, "<=", zero, "<=", bin_("%", x, s)), [cmp(s, "<=", zero)]),
        (
            not_(
                and_(
                    cmp(s, "!=", zero),
                    cmp(bin_("%", x, s), "!=", zero),
                    cmp(bin_("*", bin_("//", x, s), s), "==", x),
                )
            ),
            [],
        ),
    ]


def gen_identity(rng: random.Random) -> Claim:
    x, y, s, t = (var(n) for n in rng.sample(NAMES, 4))
    claim, pool = rng.choice(_identities(x, y, s, t))
    given = [g for g in pool if rng.random() < 0.5]
    return Claim("identity", claim, tuple(given))


def _atom(rng: random.Random, g: Gen, depth: int) -> Node:
    op = rng.choice(["==", "!=", "<", "<=", ">", ">="])
    if rng.random() < 0.15:
        return cmp(g.expr(depth), op, g.expr(depth), rng.choice(["<", "<="]), g.expr(depth))
    return cmp(g.expr(depth), op, g.expr(depth))


def _guard(rng: random.Random, g: Gen) -> Node:
    return cmp(g.pick(), rng.choice(["==", "!=", ">", "<=", ">="]), num(rng.choice((0, 0, 1))))


def gen_boolean(rng: random.Random) -> Claim:
    """Guards before divisions: and, or, not and chained comparisons short-circuit."""
    g = Gen(rng, rng.sample(NAMES, rng.choice((2, 3))))
    parts = [_guard(rng, g) if rng.random() < 0.5 else _atom(rng, g, 1) for _ in range(rng.choice((2, 3)))]
    parts.append(_atom(rng, g, 2))
    if rng.random() < 0.3:
        parts = [not_(p) if rng.random() < 0.4 else p for p in parts]
    claim = parts[0]
    for part in parts[1:]:
        claim = (and_ if rng.random() < 0.5 else or_)(claim, part)
    given = [_atom(rng, g, 1)] if rng.random() < 0.3 else []
    return Claim("boolean", claim, tuple(given))


def gen_random(rng: random.Random) -> Claim:
    g = Gen(rng, rng.sample(NAMES, rng.choice((1, 2, 3, 3))))
    claim = _atom(rng, g, rng.choice((1, 2, 2, 3)))
    given = [_atom(rng, g, rng.choice((0, 1))) for _ in range(rng.choice((0, 1, 1, 2)))]
    return Claim("random", claim, tuple(given))


def gen_define(rng: random.Random) -> Claim:
    """Definitions: undefined where they divide by zero (outside the domain), used in claims and givens."""
    x, y, s, t = (var(n) for n in rng.sample(NAMES, 4))
    q, r, u = var("q"), var("r"), var("u")
    if rng.random() < 0.6:
        define = [("q", bin_("//", x, s)), ("r", rng.choice([bin_("%", x, s), call("mod", x, s)]))]
        claims = [
            cmp(bin_("+", bin_("*", s, q), r), "==", x),
            cmp(num(0), "<=", r, "<", s),
            cmp(bin_("*", q, s), "<=", x),
            cmp(call("abs", r), "<", call("abs", s)),
            cmp(bin_("*", r, s), ">=", num(0)),
            cmp(bin_("%", bin_("-", x, r), s), "==", num(0)),
            cmp(bin_("//", u, s), "==", q),
            cmp(bin_("//", u, t), "==", bin_("//", q, t)),
            cmp(q, "==", floor_q(x, s)),
            cmp(r, "==", bin_("-", x, bin_("*", s, floor_q(x, s)))),
        ]
        claim = rng.choice(claims)
        if "u" in free_names(claim):
            define.append(("u", bin_("-", x, r)))
        pool = [
            cmp(s, ">=", num(1)),
            cmp(s, "!=", num(0)),
            cmp(s, ">=", num(0)),
            cmp(q, ">=", num(1)),
            cmp(t, ">=", num(1)),
        ]
        given = [g for g in pool if rng.random() < 0.35]
        return Claim("define:quotient", claim, tuple(given), tuple(define))
    g = Gen(rng, [n.args[0] for n in (x, y, s)])
    a, b, c = g.expr(1), g.divisor(), g.divisor()
    name, rule = rng.choice(REWRITES)
    define = []
    if rng.random() < 0.5:
        define.append(("w", a))
        a = var("w")
    lhs, rhs = rule(a, b, c)
    define += [("q", lhs), ("r", rhs)]
    claim = _relation(rng, q, r)
    given = _sign_givens(rng, [b, c])
    if rng.random() < 0.3:
        given.append(cmp(q, ">=", num(0)))
    return Claim(f"define:{name}", claim, tuple(given), tuple(define))


def _layer_params(rng: random.Random, names: Sequence[str] = ("k", "s", "p")) -> dict[str, Node]:
    """k, s, p each a name (probably) or a valid constant."""
    k, s, p = names
    return {
        "k": var(k) if rng.random() < 0.7 else num(rng.randint(1, 4)),
        "s": var(s) if rng.random() < 0.7 else num(rng.randint(1, 3)),
        "p": var(p) if rng.random() < 0.6 else num(rng.randint(0, 2)),
    }


def _domain_givens(rng: random.Random, i: Node, k: Node, s: Node, p: Node, keep: float) -> list[Node]:
    pool = [cmp(i, ">=", num(1)), cmp(k, ">=", num(1)), cmp(s, ">=", num(1)), cmp(p, ">=", num(0))]
    pool.append(cmp(bin_("+", i, bin_("*", num(2), p)), ">=", k))
    return [g for g in pool if free_names(g) and rng.random() < keep]


def gen_layer(rng: random.Random) -> Claim:
    """Layer claims: output formulas, transposed round trips, layers in givens (paper convention)."""
    i = var("i")
    params = _layer_params(rng)
    k, s, p = params["k"], params["s"], params["p"]
    keep = rng.choice((1.0, 1.0, 0.9, 0.6, 0.0))
    givens = _domain_givens(rng, i, k, s, p, keep)
    conv = layer_call("conv", [("k", k), ("s", s), ("p", p)], i)
    top = bin_("-", bin_("+", i, bin_("*", num(2), p)), k)
    kind = rng.choice(["formula", "formula", "roundtrip", "roundtrip", "pool", "given", "bound", "convT"])
    if kind == "formula":
        rhs = rng.choice(
            [
                bin_("+", floor_q(top, s), num(1)),
                bin_("+", bin_("//", top, s), num(1)),
                bin_("+", ceil_q(top, s), num(1)),
                floor_q(top, s),
                bin_("+", floor_q(bin_("-", bin_("+", i, p), k), s), num(1)),
                bin_("+", floor_q(bin_("+", top, s), s), num(0)),
            ]
        )
        return Claim("layer:formula", cmp(conv, "==", rhs), tuple(givens))
    if kind == "roundtrip":
        extra: list[tuple[str, Node]] = []
        if rng.random() < 0.4:
            extra = [("a", call("mod", top, s))]
        elif rng.random() < 0.3:
            givens.append(cmp(call("mod", top, s), "==", num(0)))
        back = layer_call("convT", [("k", k), ("s", s), ("p", p), *extra], conv)
        claim = cmp(back, "==", i) if rng.random() < 0.8 else cmp(back, "<=", i)
        return Claim("layer:roundtrip", claim, tuple(givens))
    if kind == "pool":
        op = rng.choice(["maxpool", "avgpool"])
        ceil = rng.random() < 0.5
        with_stride = rng.random() < 0.7
        args: list[tuple[str, Node | bool]] = [("k", k)]
        if with_stride:
            args.append(("s", s))
        stride = s if with_stride else k
        if rng.random() < 0.4:
            args.append(("p", p))
            numerator = top
        else:
            numerator = bin_("-", i, k)
        if ceil:
            args.append(("ceil", True))
        pool = layer_call(op, args, i)
        rhs = rng.choice(
            [
                bin_("+", floor_q(numerator, stride), num(1)),
                bin_("+", ceil_q(numerator, stride), num(1)),
                bin_("//", i, stride),
                ceil_q(i, stride),
            ]
        )
        return Claim(f"layer:{op}{'-ceil' if ceil else ''}", cmp(pool, "==", rhs), tuple(givens))
    if kind == "given":
        out = layer_call("conv", [("k", k), ("s", s), ("p", p)], i)
        claim = rng.choice(
            [
                cmp(bin_("+", i, bin_("*", num(2), p)), ">=", k),
                cmp(i, ">=", num(1)),
                cmp(s, ">=", num(1)),
                cmp(i, ">=", k),
                cmp(p, ">=", num(0)),
                cmp(out, "<=", i),
                cmp(out, "<=", bin_("+", i, bin_("*", num(2), p))),
            ]
        )
        given = [cmp(out, ">=", num(rng.choice((1, 1, 2))))]
        return Claim("layer:given", claim, tuple(given + givens[:1]))
    if kind == "bound":
        claim = rng.choice(
            [
                cmp(conv, "<=", bin_("+", i, bin_("*", num(2), p))),
                cmp(conv, ">=", num(1)),
                cmp(conv, "<=", i),
                cmp(
                    layer_call("conv", [("k", k), ("s", s)], layer_call("conv", [("k", k), ("s", s)], i)),
                    "<=",
                    i,
                ),
            ]
        )
        return Claim("layer:bound", claim, tuple(givens))
    a: Node = call("mod", top, s)
    if rng.random() < 0.7:
        # A constant output_padding must fit a constant stride (a >= s is refused when the layer is built).
        a = num(rng.randint(0, 1) if s.op == "var" or s.args[0] > 1 else 0)
    conv_t = layer_call("convT", [("k", k), ("s", s), ("p", p), ("a", a)], i)
    rhs = bin_("+", bin_("-", bin_("*", s, bin_("-", i, num(1))), bin_("*", num(2), p)), bin_("+", k, a))
    if rng.random() < 0.6:
        givens.append(cmp(rhs, ">=", num(1)))
    if rng.random() < 0.6:
        givens.append(cmp(a, "<", s))
    return Claim("layer:convT", cmp(conv_t, "==", rhs), tuple(givens))


FAMILIES: list[tuple[Callable[[random.Random], Claim], float]] = [
    (gen_rewrite, 5),
    (gen_cancel, 2),
    (gen_identity, 3),
    (gen_boolean, 2),
    (gen_random, 1.5),
    (gen_define, 2),
    (gen_layer, 3),
]


def claim_case(seed: int, index: int) -> Claim:
    """Case `index` of run `seed`: the same claim every time."""
    rng = random.Random(f"claim:{seed}:{index}")
    makers, weights = zip(*FAMILIES, strict=True)
    return rng.choices(makers, weights=weights)[0](rng)


# ---- solve queries against enumeration ---------------------------------------------------------------------

# Each unknown is searched over [lo, hi], by the solver (--min/--max) and by the enumeration alike.
BOUNDS = {"k": (-1, 8), "s": (-1, 5), "p": (-2, 4), "d": (-1, 3), "a": (-1, 3), "i": (-2, 40)}
SOLVE_FRAMEWORKS = (None, None, None, "torch", "torch", "onnx", "tf", "keras", "jax")


@dataclass(frozen=True)
class Query:
    """A solve query: a spec whose unknowns are marked ?, --in/--out (an int or ?), --where conditions."""

    framework: str | None
    kind: str
    args: tuple[tuple[str, str], ...]
    i: int | str
    o: int | str
    where: tuple[Node, ...] = ()

    @property
    def unknowns(self) -> tuple[str, ...]:
        names = [name for name, value in self.args if value == "?"]
        return (*(["i"] if self.i == "?" else []), *names, *(["o"] if self.o == "?" else []))

    def spec(self, values: Mapping[str, int] | None = None) -> str:
        values = values or {}
        shown = ", ".join(f"{n}={values.get(n, v) if v == '?' else v}" for n, v in self.args)
        prefix = f"{self.framework}." if self.framework else ""
        return f"{prefix}{self.kind}({shown})"

    def bounds(self) -> dict[str, tuple[int, int]]:
        return {name: BOUNDS[name] for name in self.unknowns if name != "o"}

    def text(self) -> str:
        options = " ".join(f"--min {n}={lo} --max {n}={hi}" for n, (lo, hi) in self.bounds().items())
        where = " ".join(f'--where "{render(w)}"' for w in self.where)
        return f'solve "{self.spec()}" --in {self.i} --out {self.o} {options} {where}'.rstrip()


@lru_cache(maxsize=4096)
def _layer(spec: str) -> Any:
    """symconv.layer(spec), or the error it raises (enumeration builds each concrete spec once)."""
    from symconv import SymconvError, layer

    try:
        return layer(spec)
    except SymconvError as error:
        return error


def output_of(spec: str, i: int) -> int | None:
    """The ground truth: symconv.layer(spec).output_size(i), None where it is refused."""
    from symconv import SymconvError

    made = _layer(spec)
    if isinstance(made, Exception):
        return None
    try:
        return made.output_size(i)
    except SymconvError:
        return None


def _query_layer(rng: random.Random) -> tuple[str | None, str, dict[str, str]]:
    """A framework, a kind and concrete parameters the framework accepts (as text)."""
    from symconv.core import frameworks as fw

    framework = rng.choice(SOLVE_FRAMEWORKS)
    kind = rng.choice(["conv", "conv", "convT", "maxpool", "avgpool"])
    if framework == "tf" and kind == "convT":
        kind = "conv"
    family = {"conv": "conv", "convT": "convT"}.get(kind, "pool")
    args: dict[str, str] = {"k": str(rng.randint(1, 6))}
    if kind != "convT" or rng.random() < 0.9:
        args["s"] = str(rng.choice((1, 2, 2, 3, 4)))
    no_dilation = {"avgpool": (None, "torch", "tf", "keras"), "maxpool": ("tf", "keras")}
    if framework not in no_dilation.get(kind, ()) and rng.random() < 0.35:
        args["d"] = str(rng.choice((1, 2, 3)))
    modes = fw.MODES[framework][family]
    automatic = [m for m in modes if m != "explicit"]
    if "explicit" in modes and rng.random() < 0.8:
        args["p"] = str(rng.randint(0, 3))
    elif automatic and rng.random() < 0.8:
        args["p"] = rng.choice(automatic)
    if kind == "convT" and framework in (None, "torch", "onnx", "keras") and rng.random() < 0.5:
        args["a"] = str(rng.randint(0, 2))
    if family == "pool" and framework in fw.CEIL_MODE and rng.random() < 0.5:
        args["ceil"] = "true"
    return framework, kind, args


def query_case(seed: int, index: int) -> Query:
    """Solve case `index` of run `seed`: a configuration symconv accepts, then one or two values hidden."""
    rng = random.Random(f"solve:{seed}:{index}")
    for _ in range(200):
        framework, kind, args = _query_layer(rng)
        i = rng.randint(1, 30)
        base = Query(framework, kind, tuple(args.items()), i, 0)
        o = output_of(base.spec(), i)
        if o is not None:
            break
    else:  # pragma: no cover - the generator always finds one
        raise RuntimeError("no valid configuration")
    numeric = [n for n, v in args.items() if n in BOUNDS and v.lstrip("-").isdigit()]
    candidates = [*numeric, "i", "o"]
    for _ in range(50):
        hidden = rng.sample(candidates, rng.choice((1, 2, 2)))
        if (hidden != ["o"] and set(hidden) != {"i", "o"}) or rng.random() < 0.3:
            break
    shown_o: int | str = "?" if "o" in hidden else o
    if shown_o != "?" and rng.random() < 0.15:
        shown_o = max(0, o + rng.choice((-1, 1)))
    final = tuple((n, "?" if n in hidden else v) for n, v in args.items())
    unknown_params = [n for n in hidden if n in args]
    where: list[Node] = []
    if unknown_params and rng.random() < 0.25:
        u = var(rng.choice(unknown_params))
        where.append(
            rng.choice([cmp(bin_("%", u, num(2)), "==", num(1)), cmp(u, ">=", num(2)), cmp(u, "!=", num(3))])
        )
        if len(unknown_params) == 2 and rng.random() < 0.5:
            where.append(cmp(var(unknown_params[0]), "<=", var(unknown_params[1])))
    return Query(framework, kind, final, "?" if "i" in hidden else i, shown_o, tuple(where))


def enumerate_solutions(query: Query) -> set[tuple[tuple[str, int], ...]]:
    """Every assignment of the unknowns in their bounds that the layer accepts with the given sizes."""
    bounds = query.bounds()
    names = list(bounds)
    where = [compile_node(w) for w in query.where]
    found = set()
    for values in itertools.product(*(range(lo, hi + 1) for lo, hi in bounds.values())):
        env = dict(zip(names, values, strict=True))
        i = env.get("i", query.i)
        out = output_of(query.spec(env), int(i))
        if out is None:
            continue
        if query.o != "?" and out != query.o:
            continue
        if query.o == "?":
            env["o"] = out
        try:
            if not all(w(env) for w in where):
                continue
        except Undefined:
            continue
        found.add(tuple(sorted(env.items())))
    return found


@dataclass(frozen=True)
class SolveOutcome:
    query: Query
    grade: str  # ok, wrong, refused (SpecError), error
    why: str
    seconds: float

    def message(self) -> str:
        return f"[{self.grade}] {self.query.text()}\n  {self.why}"


def judge_query(query: Query) -> SolveOutcome:
    """The solver's answer against the enumeration over the same box."""
    from symconv import SpecError
    from symconv.logic.solve import solve_spec

    bounds = query.bounds()
    start = time.perf_counter()
    try:
        with wall_clock(HANG_SECONDS):
            answer = solve_spec(
                query.spec(),
                i=query.i,
                o=query.o,
                where=tuple(render(w) for w in query.where),
                maxima={n: hi for n, (lo, hi) in bounds.items()},
                minima={n: lo for n, (lo, hi) in bounds.items()},
                limit=100_000,
            )
    except SpecError as error:
        seconds = time.perf_counter() - start
        truth = enumerate_solutions(query)
        if truth:
            why = f"refused with {error!r}, but the enumeration finds {len(truth)} solution(s) in the box"
            return SolveOutcome(query, "wrong", why, seconds)
        return SolveOutcome(query, "refused", f"refused with {error!r}; no solution in the box", seconds)
    except Exception as error:
        return SolveOutcome(query, "error", f"solver raised {error!r}", time.perf_counter() - start)
    seconds = time.perf_counter() - start
    truth = enumerate_solutions(query)
    got = {tuple(sorted(s.items())) for s in answer.solutions}
    if not answer.complete or answer.count != len(got):
        return SolveOutcome(
            query,
            "wrong",
            f"incomplete answer: count {answer.count}, {len(got)} listed, enumeration {len(truth)}",
            seconds,
        )
    if got != truth:
        extra = sorted(got - truth)[:4]
        missing = sorted(truth - got)[:4]
        return SolveOutcome(
            query, "wrong", f"not solutions: {extra}; missed: {missing} ({len(got)} vs {len(truth)})", seconds
        )
    return SolveOutcome(query, "ok", f"{len(got)} solution(s) agree", seconds)


# ---- runs ---------------------------------------------------------------------------------------------------


def run_claims(seed: int, count: int, timeout_ms: int = TIMEOUT_MS, start: int = 0) -> Iterator[Outcome]:
    for index in range(start, start + count):
        yield judge(claim_case(seed, index), timeout_ms)


def run_queries(seed: int, count: int, start: int = 0) -> Iterator[SolveOutcome]:
    for index in range(start, start + count):
        yield judge_query(query_case(seed, index))
