"""What the user's text means on plain integers, and where it is defined.

SymPy rewrites what it builds: ``x*s // s`` becomes ``x`` and ``mod(x**2, x)`` becomes ``0``, which is right only
where the divisor is not 0. So the meaning of a claim is read from the text as written, the way Python
evaluates it on integers:

- ``//`` and ``%`` round toward minus infinity, ``mod(a, b)`` is ``a % b``, ``/`` (inside floor and ceil) is
  exact rational division;
- ``and``, ``or``, ``not`` and chained comparisons stop as soon as the answer is known, so
  ``s == 0 or x // s >= 0`` is defined everywhere;
- a division or modulo by 0 that the evaluation reaches makes the text undefined there, and so does a layer
  applied outside its domain.

`Meaning.defined` is that condition as a SymPy formula (for Z3); `Meaning.run` is the text evaluated on plain
integers, raising `Undefined`. Where `defined` holds, the SymPy value equals the text's value.

>>> from symconv.core.parse import parse_meaning
>>> m = parse_meaning("mod(x**2, x) == 0", condition=True)
>>> m.value, m.defined
(Eq(Mod(x**2, x), 0), Ne(x, 0))
>>> m.run({"x": 0})
Traceback (most recent call last):
...
symconv.core.meaning.Undefined: mod(x**2, x) divides by zero (x = 0)
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy

from .arith import ceil_quotient, compile_expr, ne
from .errors import UnsupportedError

Env = Mapping[str, Any]
Run = Callable[[Env], Any]


class Undefined(ArithmeticError):
    """The text is undefined at this point: a division by zero it reaches, or a layer outside its domain."""


@dataclass(frozen=True)
class Meaning:
    """A parsed text: its SymPy value, where it is defined, and its evaluation on plain integers."""

    value: sympy.Basic
    defined: sympy.Basic
    run: Run
    # Every name in the text, including those SymPy cancelled ((i*s) % s is 0, yet undefined at s = 0).
    names: frozenset[str]


_DIVISIONS = (ast.FloorDiv, ast.Mod, ast.Div)
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def _nonzero(value: sympy.Basic) -> sympy.Basic:
    if isinstance(value, sympy.Number):
        return sympy.true if value != 0 else sympy.false
    return ne(value, 0)


def _and(*parts: sympy.Basic) -> sympy.Basic:
    kept = [part for part in parts if part is not sympy.true]
    if any(part is sympy.false for part in kept):
        return sympy.false
    return sympy.And(*kept) if kept else sympy.true


def _or(*parts: sympy.Basic) -> sympy.Basic:
    if any(part is sympy.true for part in parts):
        return sympy.true
    kept = [part for part in parts if part is not sympy.false]
    return sympy.Or(*kept) if kept else sympy.false


def _not(part: sympy.Basic) -> sympy.Basic:
    if part is sympy.true or part is True:
        return sympy.false
    if part is sympy.false or part is False:
        return sympy.true
    return sympy.Not(part)


class _Reader:
    """Reads a parsed tree again, with the SymPy value of every node at hand."""

    def __init__(self, source: str, values: dict[int, Any], layer_calls: dict[int, Any]) -> None:
        self.source = source
        self.values = values
        self.layer_calls = layer_calls

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or type(node).__name__

    def value(self, node: ast.AST) -> Any:
        return self.values[id(node)]

    # Where the text is defined, as a SymPy condition.

    def defined(self, node: ast.AST) -> sympy.Basic:
        if isinstance(node, ast.Constant | ast.Name):
            return sympy.true
        if isinstance(node, ast.UnaryOp):
            return self.defined(node.operand)
        if isinstance(node, ast.BinOp):
            both = _and(self.defined(node.left), self.defined(node.right))
            if isinstance(node.op, _DIVISIONS):
                return _and(both, _nonzero(self.value(node.right)))
            return both
        if isinstance(node, ast.BoolOp):
            # Python stops at the first operand that decides: a later operand only needs to be defined where
            # the earlier ones did not decide.
            stop = isinstance(node.op, ast.Or)
            *first, last = node.values
            result = self.defined(last)
            for operand in reversed(first):
                decided = self.value(operand) if stop else _not(self.value(operand))
                result = _and(self.defined(operand), _or(decided, result))
            return result
        if isinstance(node, ast.Compare):
            # t0 < t1 < t2 evaluates t2 only where t0 < t1 holds.
            terms = [node.left, *node.comparators]
            result = self.defined(terms[-1]) if len(terms) > 2 else sympy.true
            for index in range(len(node.ops) - 1, 0, -1):
                relation = self._relation(node.ops[index - 1], terms[index - 1], terms[index])
                result = _or(_not(relation), result)
                if index >= 2:
                    result = _and(self.defined(terms[index]), result)
            return _and(self.defined(terms[0]), self.defined(terms[1]), result)
        if isinstance(node, ast.Call):
            if id(node) in self.layer_calls:
                # The layer's own domain is its conditions, which the caller proves or assumes.
                return self.defined(node.args[0])
            parts = [self.defined(arg) for arg in node.args]
            if isinstance(node.func, ast.Name) and node.func.id == "mod":
                parts.append(_nonzero(self.value(node.args[1])))
            return _and(*parts)
        raise TypeError(f"no meaning for {type(node).__name__}")

    def _relation(self, op: ast.cmpop, left: ast.AST, right: ast.AST) -> sympy.Basic:
        kinds = {
            ast.Eq: sympy.Eq,
            ast.NotEq: sympy.Ne,
            ast.Lt: sympy.Lt,
            ast.LtE: sympy.Le,
            ast.Gt: sympy.Gt,
            ast.GtE: sympy.Ge,
        }
        a, b = self.value(left), self.value(right)
        if isinstance(a, sympy.Number) and isinstance(b, sympy.Number):
            return sympy.true if _COMPARE[type(op)](a, b) else sympy.false
        return kinds[type(op)](a, b, evaluate=False)

    # The text on plain integers.

    def run(self, node: ast.AST) -> Run:
        if isinstance(node, ast.Constant):
            constant = node.value
            return lambda env: constant
        if isinstance(node, ast.Name):
            name = node.id
            return operator.itemgetter(name)  # env[name], without a Python frame
        if isinstance(node, ast.UnaryOp):
            operand = self.run(node.operand)
            if isinstance(node.op, ast.USub):
                return lambda env: -operand(env)
            if isinstance(node.op, ast.Not):
                return lambda env: not operand(env)
            return operand
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.BoolOp):
            operands = [self.run(value) for value in node.values]
            if isinstance(node.op, ast.And):
                return lambda env: all(operand(env) for operand in operands)
            return lambda env: any(operand(env) for operand in operands)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Call):
            if id(node) in self.layer_calls:
                return self._layer_call(node)
            return self._call(node)
        raise TypeError(f"no meaning for {type(node).__name__}")

    def _binop(self, node: ast.BinOp) -> Run:
        left, right = self.run(node.left), self.run(node.right)
        op = node.op
        if isinstance(op, ast.Add):
            return lambda env: left(env) + right(env)
        if isinstance(op, ast.Sub):
            return lambda env: left(env) - right(env)
        if isinstance(op, ast.Mult):
            return lambda env: left(env) * right(env)
        if isinstance(op, ast.Pow):
            return lambda env: left(env) ** right(env)
        divisor = self._divisor(node, right)
        if isinstance(op, ast.FloorDiv):
            return lambda env: _normal(left(env) // divisor(env))
        if isinstance(op, ast.Mod):
            return lambda env: _normal(left(env) % divisor(env))
        return lambda env: _normal(Fraction(left(env)) / divisor(env))

    def _divisor(self, node: ast.BinOp, right: Run) -> Run:
        """The divisor of a division `node`, evaluated by `right`; 0 makes the text undefined there."""
        what = self.segment(node)
        names = sorted(s.name for s in getattr(self.value(node.right), "free_symbols", ()))

        def divisor(env: Env) -> Any:
            value = right(env)
            if value == 0:
                shown = ", ".join(f"{name} = {env[name]}" for name in names if name in env)
                raise Undefined(f"{what} divides by zero" + (f" ({shown})" if shown else ""))
            return value

        return divisor

    def _compare(self, node: ast.Compare) -> Run:
        terms = [self.run(term) for term in (node.left, *node.comparators)]
        tests = [_COMPARE[type(op)] for op in node.ops]
        if len(tests) == 1:
            # The common case, one comparison: no loop (the prover evaluates givens on many points).
            test, left, right = tests[0], terms[0], terms[1]
            return lambda env: test(left(env), right(env))

        def compare(env: Env) -> bool:
            left = terms[0](env)
            for test, term in zip(tests, terms[1:], strict=True):
                right = term(env)
                if not test(left, right):
                    return False
                left = right
            return True

        return compare

    def _call(self, node: ast.Call) -> Run:
        name = node.func.id  # type: ignore[attr-defined]
        (first, *_) = node.args
        if (
            name in ("floor", "ceil", "ceiling")
            and isinstance(first, ast.BinOp)
            and isinstance(first.op, ast.Div)
        ):
            # floor(a / b) is a // b on integers and fractions alike: exact, without building a Fraction.
            top, bottom = self.run(first.left), self._divisor(first, self.run(first.right))
            if name == "floor":
                return lambda env: top(env) // bottom(env)
            return lambda env: ceil_quotient(top(env), bottom(env))
        args = [self.run(arg) for arg in node.args]
        if name == "floor":
            return lambda env: math.floor(args[0](env))
        if name in ("ceil", "ceiling"):
            return lambda env: math.ceil(args[0](env))
        if name == "abs":
            return lambda env: abs(args[0](env))
        if name == "min":
            return lambda env: min(arg(env) for arg in args)
        if name == "max":
            return lambda env: max(arg(env) for arg in args)
        what = self.segment(node)
        names = sorted(s.name for s in getattr(self.value(node.args[1]), "free_symbols", ()))

        def modulo(env: Env) -> Any:
            a, b = args[0](env), args[1](env)
            if b == 0:
                shown = ", ".join(f"{name} = {env[name]}" for name in names if name in env)
                raise Undefined(f"{what} divides by zero" + (f" ({shown})" if shown else ""))
            return _normal(a % b)

        return modulo

    def _layer_call(self, node: ast.Call) -> Run:
        size = self.run(node.args[0])
        output, conditions = self.layer_calls[id(node)]
        what = self.segment(node)
        # Compiled once here, not looked up per evaluation: a proof evaluates the text on many points.
        value = _compiled(output)
        rules = [(_compiled(condition), rule) for condition, rule in conditions]

        def apply(env: Env) -> Any:
            size(env)  # the argument as written must be defined
            for condition, rule in rules:
                try:
                    holds = bool(condition(env))
                except ZeroDivisionError:
                    holds = False
                if not holds:
                    raise Undefined(f"{what} is undefined there: {rule}")
            return value(env)

        return apply


def _compiled(expr: sympy.Basic) -> Run:
    """`expr` compiled for evaluation; one the evaluator cannot read raises its error when evaluated, as
    before compiling (a layer applied where it is never evaluated stays harmless)."""
    try:
        return compile_expr(expr)
    except UnsupportedError as error:
        failure = error

        def fail(env: Env) -> Any:
            raise failure

        return fail


def _normal(value: Any) -> Any:
    if type(value) is int:  # the common case, without the numbers ABCs' isinstance
        return value
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    return value


def read(
    source: str, tree: ast.AST, values: dict[int, Any], layer_calls: dict[int, Any], names: frozenset[str]
) -> Meaning:
    """The meaning of a parsed text: `values` holds the SymPy value of every node of `tree`, `names` the
    symbols it names."""
    reader = _Reader(source, values, layer_calls)
    return Meaning(values[id(tree)], reader.defined(tree), reader.run(tree), names)


def holds(meaning: Meaning, env: Env) -> bool:
    """The text as written at `env`: false where it is undefined."""
    try:
        return bool(meaning.run(env))
    except Undefined:
        return False
