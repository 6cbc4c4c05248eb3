"""Integer semantics, written down once.

Sizes and parameters are integers. ``floor(a/b)`` and ``Mod(a, b)`` follow SymPy and Python: the quotient rounds
toward minus infinity and the remainder has the sign of the divisor. For a positive divisor (a stride, a dilation
or a constant, which every layer's domain guarantees) Python's ``//`` and ``%``, SymPy's floor and Mod, and Z3's
``/`` and ``%`` all agree.

This module builds those expressions on the SymPy side and evaluates any engine expression exactly on plain
Python integers (no floats anywhere, so 10**30 is as exact as 3).

>>> i, s = symbol("i"), symbol("s")
>>> evaluate(floor_div(i - 7, s), {"i": 3, "s": 2})
-2
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from functools import cache, lru_cache
from typing import Any

import sympy
from sympy.core.parameters import global_parameters

from .errors import SpecError, UnsupportedError

Number = int | Fraction
Value = int | Fraction | bool
Env = Mapping[str, int]
Compiled = Callable[[Env], Value]


@cache
def integer_expr(value: int | sympy.Expr) -> sympy.Expr:
    """A number or a formula as SymPy, built, never parsed: an int becomes an Integer, an expression stays as it
    is, and anything else (text above all) is refused rather than read."""
    if isinstance(value, sympy.Expr):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return sympy.Integer(value)
    raise SpecError(f"expected an integer or a formula, got {value!r}")


def symbol(name: str) -> sympy.Symbol:
    """The one integer symbol for `name` (every size and parameter is an integer)."""
    return sympy.Symbol(name, integer=True)


def floor_div(a: sympy.Expr | int, b: sympy.Expr | int) -> sympy.Expr:
    """floor(a / b), exact; b must be nonzero where it is evaluated."""
    return rounded(sympy.floor, sympy.Rational(1) * a / b)


def ceil_div(a: sympy.Expr | int, b: sympy.Expr | int) -> sympy.Expr:
    """ceil(a / b), exact."""
    return rounded(sympy.ceiling, sympy.Rational(1) * a / b)


Rounding = type[sympy.floor] | type[sympy.ceiling]

# The assumptions of `symbol`'s symbols (integer, and what that implies): no sign, parity or bound.
_PLAIN = sympy.Symbol("plain", integer=True).assumptions0


def rounded(kind: Rounding, arg: sympy.Expr) -> sympy.Expr:
    """kind(arg) for kind floor or ceiling: the very expression SymPy builds, without SymPy's general evaluation
    where the argument is a sum of rational multiples of plain integers (see `_linear_terms`).

    SymPy's floor asks a dozen assumption queries of a symbolic argument (its sign, whether it lies in [0, 2),
    whether each term is an integer), milliseconds a floor, to find what is known here by structure: the terms
    with integer coefficients are integers and come out of the floor, the number alone is rounded when nothing
    else is left, and the rest stays inside. The atoms' signs are unknown to SymPy and they are unbounded, so its
    other rules (a constant in [0, 1) or [1, 2), a term known to be integer by parity) never apply to such an
    argument; anything else is left to SymPy.

    >>> i = symbol("i")
    >>> rounded(sympy.floor, i / 2 + sympy.Rational(7, 4)), rounded(sympy.ceiling, i + sympy.Rational(1, 2))
    (floor(i/2 + 7/4), i + 1)
    """
    terms = _linear_terms(arg) if global_parameters.evaluate else None
    if terms is None:
        return kind(arg)
    whole, fraction, constant = terms
    if not fraction:
        # An integer sum (the argument itself when its number is an integer too), the number rounded.
        return arg if constant.q == 1 else sympy.Add(*whole, kind(constant))
    (whole if constant.q == 1 else fraction).append(constant)
    return sympy.Add(*whole, kind(sympy.Add(*fraction), evaluate=False))


def _linear_terms(
    arg: sympy.Expr,
) -> tuple[list[sympy.Expr], list[sympy.Expr], sympy.Rational] | None:
    """(terms with an integer coefficient, terms with another rational coefficient, the number) of a
    non-constant sum c0 + c1*a1 + ... whose atoms a1, ... are plain integer symbols (`symbol`'s, with no
    further assumption) or floors and ceilings of such sums; None for any other expression."""
    if arg.is_Number:
        return None
    whole: list[sympy.Expr] = []
    fraction: list[sympy.Expr] = []
    constant: sympy.Rational = sympy.Integer(0)
    for term in sympy.Add.make_args(arg):
        if isinstance(term, sympy.Rational):
            constant = term
            continue
        coefficient, atom = term.as_coeff_Mul()
        if not (isinstance(coefficient, sympy.Rational) and _plain_atom(atom)):
            return None
        (whole if coefficient.q == 1 else fraction).append(term)
    return whole, fraction, constant


def _plain_atom(expr: sympy.Basic) -> bool:
    """A plain integer symbol, or a floor or ceiling of a sum that `_linear_terms` reads."""
    if isinstance(expr, sympy.Symbol):
        return bool(expr.assumptions0 == _PLAIN)
    if isinstance(expr, sympy.floor | sympy.ceiling):
        return _linear_terms(expr.args[0]) is not None
    return False


def ceil_quotient(a: Number, b: Number) -> int:
    """ceil(a / b) exactly, on Python ints and Fractions (b != 0), without a float: -floor(-a / b).

    >>> ceil_quotient(7, 2), ceil_quotient(-7, 2), ceil_quotient(7, -2), ceil_quotient(Fraction(7, 3), 1)
    (4, -3, -3, 3)
    """
    return -(-a // b)


def mod(a: sympy.Expr | int, b: sympy.Expr | int) -> sympy.Expr:
    """a mod b with the sign of b (a - b*floor(a/b))."""
    return sympy.Mod(a, b)


@lru_cache(maxsize=4096)
def quotient_parts(arg: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr]:
    """(numerator, denominator) of a floor/ceiling argument: floor(arg) = floor(num/den).

    SymPy distributes constant divisors (floor((i - 1)/2) is stored as floor(i/2 - 1/2)); this undoes it.
    A Mod inside is an opaque integer here: SymPy's expand rewrites Mod's arguments and re-evaluates it, which
    can loop without end (Mod((k - s)**2, k - s) in a product), and its rewriting of a symbolic divisor is not
    sound (see parse.py), so each Mod stands in as a placeholder and is put back as written.
    """
    mods = {mod: sympy.Dummy(integer=True) for mod in arg.atoms(sympy.Mod)}
    if mods:
        back = {placeholder: mod for mod, placeholder in mods.items()}
        num, den = arg.xreplace(mods).as_numer_denom()
        return sympy.expand(num).xreplace(back), sympy.expand(den).xreplace(back)
    num, den = arg.as_numer_denom()
    return sympy.expand(num), sympy.expand(den)


def _normal(value: Number) -> Number:
    # type() first: isinstance against Fraction goes through the numbers ABCs, several times slower, and
    # nearly every value is an int.
    if type(value) is int:
        return value
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    return value


def _const(value: Value) -> Compiled:
    return lambda env: value


def _symbol(name: str) -> Compiled:
    def get(env: Env) -> Value:
        try:
            return env[name]
        except KeyError:
            raise UnsupportedError(f"no value for the symbol {name!r}") from None

    return get


def _add(parts: list[Compiled]) -> Compiled:
    if len(parts) == 2:
        # The common case (a sum of two terms): no loop.
        first, second = parts
        return lambda env: _normal(first(env) + second(env))

    def add(env: Env) -> Value:
        total: Number = 0
        for part in parts:
            total += part(env)
        return _normal(total)

    return add


def _mul(parts: list[Compiled]) -> Compiled:
    if len(parts) == 2:
        first, second = parts
        return lambda env: _normal(first(env) * second(env))

    def mul(env: Env) -> Value:
        product: Number = 1
        for part in parts:
            product *= part(env)
        return _normal(product)

    return mul


def _pow(base: Compiled, exponent: int) -> Compiled:
    def power(env: Env) -> Value:
        b = base(env)
        if exponent >= 0:
            return b**exponent
        return _normal(Fraction(1) / Fraction(b) ** (-exponent))

    return power


def _piecewise(pieces: list[tuple[Compiled, Compiled]]) -> Compiled:
    def piecewise(env: Env) -> Value:
        for value, condition in pieces:
            if condition(env):
                return value(env)
        raise UnsupportedError("Piecewise with no true condition")

    return piecewise


_RELATIONS: dict[type, Callable[[Number, Number], bool]] = {
    sympy.Eq: operator.eq,
    sympy.Ne: operator.ne,
    sympy.Lt: operator.lt,
    sympy.Le: operator.le,
    sympy.Gt: operator.gt,
    sympy.Ge: operator.ge,
}


def _binary(fn: Callable[[Number, Number], Value], a: Compiled, b: Compiled) -> Compiled:
    return lambda env: fn(a(env), b(env))


def _unary(fn: Callable[[Value], Value], a: Compiled) -> Compiled:
    return lambda env: fn(a(env))


def _abs(value: Value) -> Value:
    return -value if value < 0 else value


def _mod(a: Number, b: Number) -> Number:
    if b == 0:
        raise ZeroDivisionError("mod by zero")
    return _normal(a % b)


def _rounded(expr: sympy.Basic, memo: dict[sympy.Basic, Compiled] | None) -> Compiled:
    """floor/ceiling as one integer division of polynomial parts: no Fraction on the hot path."""
    num, den = quotient_parts(expr.args[0])
    top, bottom = _compile(num, memo), _compile(den, memo)
    if isinstance(expr, sympy.floor):
        return lambda env: _exact_floor(top(env), bottom(env))
    return lambda env: -_exact_floor(-top(env), bottom(env))


def _exact_floor(num: Value, den: Value) -> int:
    if isinstance(num, int) and isinstance(den, int):
        return num // den
    return math.floor(Fraction(num) / Fraction(den))


_SHARED = (sympy.floor, sympy.ceiling, sympy.Max, sympy.Min, sympy.Piecewise, sympy.Mod)


def _compile(expr: sympy.Basic, memo: dict[sympy.Basic, Compiled] | None = None) -> Compiled:
    """One closure per node; with `memo`, a repeated costly node is computed once per call (see compile_many)."""
    if memo is not None and isinstance(expr, _SHARED):
        if expr not in memo:
            inner = _compile_node(expr, memo)
            key = ("memo", len(memo))

            def remembered(env: Env) -> Value:
                value: Value | None = env.get(key)  # type: ignore[call-overload]
                if value is None:
                    value = inner(env)
                    env[key] = value  # type: ignore[index]
                return value

            memo[expr] = remembered
        return memo[expr]
    return _compile_node(expr, memo)


def _compile_node(expr: sympy.Basic, memo: dict[sympy.Basic, Compiled] | None) -> Compiled:
    if expr is sympy.true or expr is sympy.false:
        return _const(bool(expr))
    if isinstance(expr, sympy.Integer):
        return _const(int(expr))
    if isinstance(expr, sympy.Rational):
        return _const(Fraction(int(expr.p), int(expr.q)))
    if isinstance(expr, sympy.Symbol):
        return _symbol(expr.name)
    if isinstance(expr, sympy.floor | sympy.ceiling):
        return _rounded(expr, memo)
    args = [_compile(arg, memo) for arg in expr.args] if not isinstance(expr, sympy.Piecewise) else []
    if isinstance(expr, sympy.Add):
        return _add(args)
    if isinstance(expr, sympy.Mul):
        return _mul(args)
    if isinstance(expr, sympy.Pow):
        exponent = expr.args[1]
        if not isinstance(exponent, sympy.Integer):
            raise UnsupportedError(f"non-integer power {expr}")
        return _pow(args[0], int(exponent))
    if isinstance(expr, sympy.Mod):
        return _binary(_mod, args[0], args[1])
    if isinstance(expr, sympy.Min):
        return lambda env: min(arg(env) for arg in args)
    if isinstance(expr, sympy.Max):
        return lambda env: max(arg(env) for arg in args)
    if isinstance(expr, sympy.Abs):
        return _unary(_abs, args[0])
    if isinstance(expr, sympy.Piecewise):
        return _piecewise([(_compile(value, memo), _compile(cond, memo)) for value, cond in expr.args])
    if type(expr) in _RELATIONS:
        return _binary(_RELATIONS[type(expr)], args[0], args[1])
    if isinstance(expr, sympy.And):
        return lambda env: all(arg(env) for arg in args)
    if isinstance(expr, sympy.Or):
        return lambda env: any(arg(env) for arg in args)
    if isinstance(expr, sympy.Not):
        return lambda env: not args[0](env)
    if isinstance(expr, sympy.Implies):
        return lambda env: (not args[0](env)) or bool(args[1](env))
    if isinstance(expr, sympy.ITE):
        return lambda env: args[1](env) if args[0](env) else args[2](env)
    raise UnsupportedError(f"cannot evaluate the node {type(expr).__name__}: {expr}")


@lru_cache(maxsize=4096)
def compile_expr(expr: sympy.Basic) -> Compiled:
    """A function env -> exact value for `expr`, built once per expression (the hot path does no SymPy work).

    Where a compound node occurs more than once (a network's nested pads repeat each stage's floors: 267 nodes,
    45 distinct), each repeated floor/ceiling/Max/Min/Piecewise/Mod is computed once per call, as in
    compile_many; otherwise no scope is made."""
    if not _repeats(expr):
        return _compile(expr)
    memo: dict[sympy.Basic, Compiled] = {}
    final = _compile(expr, memo)
    # The remembered values live in the call's scope: a fresh one per call, never the caller's env.
    return lambda env: final(dict(env))


def _repeats(expr: sympy.Basic) -> bool:
    """Whether a node with arguments occurs twice in `expr`: walked as a DAG, so in time linear in its
    distinct nodes however often they repeat."""
    seen: set[sympy.Basic] = set()
    stack = [expr]
    while stack:
        for arg in stack.pop().args:
            if arg in seen:
                if arg.args:
                    return True
                continue
            seen.add(arg)
            stack.append(arg)
    return False


def evaluate(expr: sympy.Basic | int, env: Env) -> Value:
    """`expr` on plain Python integers, exactly; raises ZeroDivisionError where a divisor is 0."""
    if isinstance(expr, bool | int):
        return expr
    return compile_expr(expr)(env)


_COMPARE: dict[type, Callable[[int, int], bool]] = {
    sympy.Ge: operator.ge,
    sympy.Le: operator.le,
    sympy.Lt: operator.lt,
    sympy.Gt: operator.gt,
    sympy.Eq: operator.eq,
    sympy.Ne: operator.ne,
}


def _relation(kind: type) -> Callable[[Any, Any], sympy.Basic]:
    def build(a: Any, b: Any) -> sympy.Basic:
        # Unevaluated: SymPy's assumption queries cost milliseconds per relation and decide nothing that the
        # integer evaluator or Z3 does not decide exactly. Two numbers are compared at once, since SymPy's
        # Piecewise cannot hold an unevaluated comparison of numbers.
        if isinstance(a, int | sympy.Integer) and isinstance(b, int | sympy.Integer):
            # On Python ints: SymPy's evaluated comparison costs about 0.1 ms each.
            return sympy.true if _COMPARE[kind](int(a), int(b)) else sympy.false
        return kind(a, b, evaluate=False)

    return build


ge, le, lt, gt, eq, ne = (
    _relation(kind) for kind in (sympy.Ge, sympy.Le, sympy.Lt, sympy.Gt, sympy.Eq, sympy.Ne)
)


def lifted(condition: sympy.Basic) -> sympy.Basic:
    """`condition` with the cases (Piecewise) inside its comparisons lifted out as if-then-else, built as
    written: a Piecewise whose condition holds a Piecewise lifts it itself, then asks SymPy for the set where
    each case holds to see that they cover every real (periods of floors of the size included), which takes
    minutes for a few nested cases. A condition of another kind is left as it is."""
    if not isinstance(condition, sympy.Basic) or not condition.has(sympy.Piecewise):
        return condition
    if isinstance(condition, sympy.core.relational.Relational):
        return _lifted_relation(type(condition), condition.lhs, condition.rhs)
    if isinstance(condition, sympy.And | sympy.Or | sympy.Not | sympy.ITE):
        return condition.func(*(lifted(arg) for arg in condition.args), evaluate=False)
    return condition


def _lifted_relation(kind: type, a: sympy.Expr, b: sympy.Expr) -> sympy.Basic:
    cases = a.atoms(sympy.Piecewise) | b.atoms(sympy.Piecewise)
    if not cases:
        return _relation(kind)(a, b)
    case = max(cases, key=sympy.count_ops)
    (value, condition), rest = case.args[0], case.args[1:]
    if not rest or case.args[-1][1] != sympy.true:
        return kind(a, b, evaluate=False)  # no case for the rest: as SymPy builds it
    otherwise = rest[0][0] if len(rest) == 1 else sympy.Piecewise(*rest, evaluate=False)
    then = _lifted_relation(kind, a.xreplace({case: value}), b.xreplace({case: value}))
    if condition == sympy.true:
        return then
    other = _lifted_relation(kind, a.xreplace({case: otherwise}), b.xreplace({case: otherwise}))
    return sympy.ITE(lifted(condition), then, other, evaluate=False)


def compile_many(exprs: Sequence[sympy.Basic]) -> Callable[[Env], list[Value]]:
    """One function computing every expression, each repeated floor/ceiling/Max/Min/Piecewise/Mod once.

    A layer's rules repeat its output formula ("o >= 1"), and automatic paddings repeat their total; the
    shared nodes are evaluated once per call and remembered in the call's scope.
    """
    memo: dict[sympy.Basic, Compiled] = {}
    finals = [_compile(expr, memo) for expr in exprs]

    def run(env: Env) -> list[Value]:
        # The scope holds the remembered values: a fresh one per call.
        scope = dict(env)
        return [final(scope) for final in finals]

    return run


def merge_floors(expr: sympy.Basic) -> sympy.Basic:
    """Nested floors merged, sign-guarded: floor((floor(N/a) + c)/b) = floor((N + c*a)/(a*b)) for integers
    a, b > 0 and an integer c (the rule TVM's simplifier applies for positive divisors; wrong for a negative
    one, so a divisor that is not a positive integer constant is left alone).

    >>> i = symbol("i")
    >>> merge_floors(floor_div(floor_div(i + 1, 2) + 1, 2))
    floor(i/4 + 3/4)
    """
    if not isinstance(expr, sympy.Basic) or not expr.args:
        return expr
    if isinstance(expr, sympy.floor | sympy.ceiling):
        expr = rounded(type(expr), merge_floors(expr.args[0]))
    else:
        expr = expr.func(*(merge_floors(arg) for arg in expr.args))
    # The same rule holds for ceilings: ceil((ceil(N/a) + c)/b) = ceil((N + c*a)/(a*b)).
    kind = type(expr)
    if kind not in (sympy.floor, sympy.ceiling):
        return expr
    num, den = quotient_parts(expr.args[0])
    if not (isinstance(den, sympy.Integer) and den > 0):
        return expr
    inner = [term for term in sympy.Add.make_args(num) if isinstance(term, kind)]
    if len(inner) != 1:
        return expr
    rest = num - inner[0]
    inner_num, inner_den = quotient_parts(inner[0].args[0])
    if not (isinstance(inner_den, sympy.Integer) and inner_den > 0) or not _integer(rest):
        return expr
    return rounded(kind, (inner_num + rest * inner_den) / (inner_den * den))


def _integer(expr: sympy.Expr) -> bool:
    """Whether `expr` is an integer: by structure where `rounded` reads it (every coefficient an integer), else
    as SymPy's assumptions say."""
    terms = _linear_terms(expr)
    if terms is not None:
        return not terms[1] and terms[2].q == 1
    return expr.is_integer is True


def substituted(expr: sympy.Basic, mapping: Mapping[sympy.Basic, sympy.Basic]) -> sympy.Basic:
    """expr.xreplace(mapping), each floor and ceiling it rebuilds built by `rounded`."""
    if expr in mapping:
        return mapping[expr]
    if not expr.args:
        return expr
    args = tuple(substituted(arg, mapping) for arg in expr.args)
    if args == expr.args:
        return expr
    if isinstance(expr, sympy.floor | sympy.ceiling):
        return rounded(type(expr), args[0])
    return expr.func(*args)


def tidy(expr: sympy.Basic) -> sympy.Basic:
    """The same value, written the way a paper writes it (ceilings restored from floors); the display
    simplifier that LaTeX and the solvers' formula answers share.

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
            return _gathered(node, walk)
        rebuilt = node.func(*(walk(arg) for arg in node.args))
        better = ceil_of(rebuilt)
        return rebuilt if better is None else walk(better)

    return walk(expr)


_FLIPPED = {sympy.Ge: sympy.Le, sympy.Le: sympy.Ge, sympy.Gt: sympy.Lt, sympy.Lt: sympy.Gt}


def _gathered(node: sympy.Basic, walk: Any) -> sympy.Basic:
    """A comparison with its numbers on the right, a leading minus moved across and a common integer factor
    divided out: i + 2 >= 3 as i >= 1, -k <= 0 as k >= 0, 2i >= 2 as i >= 1 (exact on integers)."""
    kind = type(node)
    if not (node.lhs.is_number or node.rhs.is_number):
        # Two sides with symbols keep their shape; only the numbers move right.
        (left_number, left), (right_number, right) = node.lhs.as_coeff_Add(), node.rhs.as_coeff_Add()
        if left_number == 0 or not left.free_symbols:
            return kind(walk(node.lhs), walk(node.rhs), evaluate=False)
        return kind(walk(left), walk(right + right_number - left_number), evaluate=False)
    constant, rest = sympy.expand(node.lhs - node.rhs).as_coeff_Add()
    if not rest.free_symbols:
        return node
    bound = -constant
    if rest.could_extract_minus_sign() and kind in _FLIPPED:
        kind, rest, bound = _FLIPPED[kind], -rest, constant
    content, primitive = rest.as_content_primitive()
    if isinstance(content, sympy.Integer) and content > 1 and isinstance(bound, sympy.Integer):
        if kind is sympy.Ge:
            rest, bound = primitive, ceil_quotient(bound, content)
        elif kind is sympy.Le:
            rest, bound = primitive, bound // content
        elif kind in (sympy.Eq, sympy.Ne) and bound % content == 0:
            rest, bound = primitive, bound // content
    return kind(walk(rest), bound, evaluate=False)
