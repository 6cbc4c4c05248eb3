"""Compiled formulas with shared nodes, the class-by-class solver's one step per period, long periodic conditions
asked of Z3 first, and min/max kept as written: each compared with brute force on plain integers."""

from __future__ import annotations

import itertools
import random

import pytest
import sympy

from symconv import api
from symconv.core.arith import _compile, ceil_div, eq, evaluate, floor_div, ge, gt, le, lt, ne, symbol
from symconv.core.intset import IntSet
from symconv.core.parse import parse_expression
from symconv.logic.periodic import classes, period, refine
from symconv.logic.prove import Proved, Refuted
from symconv.nets.validset import PROVE_FIRST, solved

i, x, y, z = symbol("i"), symbol("x"), symbol("y"), symbol("z")


def _value(run: object, env: dict[str, int]) -> object:
    """The value at `env`, or the exception's type where there is none."""
    try:
        return run(env)  # type: ignore[operator]
    except ZeroDivisionError:
        return ZeroDivisionError


def _shared(rng: random.Random, depth: int, pool: list[sympy.Expr]) -> sympy.Expr:
    """A random formula of x, y, z whose subtrees are drawn again from `pool` (repeated floors, mods,
    extrema and cases), with divisors that may be 0."""
    if depth == 0 or rng.random() < 0.2:
        if pool and rng.random() < 0.4:
            return rng.choice(pool)
        return rng.choice([x, y, z, sympy.Integer(rng.randint(-3, 4))])
    a, b = _shared(rng, depth - 1, pool), _shared(rng, depth - 1, pool)
    built = [
        lambda: a + b,
        lambda: a - b,
        lambda: sympy.floor(a / rng.choice([b, sympy.Integer(2), sympy.Integer(-3)])),
        lambda: sympy.ceiling(a / b),
        lambda: sympy.Mod(a, b),
        lambda: sympy.Min(a, b),
        lambda: sympy.Max(a, b, evaluate=False),
        lambda: sympy.Abs(a),
        lambda: sympy.Piecewise((a, gt(b, a)), (b, True)),
    ][rng.randrange(9)]()
    if built.args:
        pool.append(built)
    return built


@pytest.mark.parametrize("seed", [2, 9, 14, 40, 71, 120, 173, 219, 223, 285])
def test_repeated_nodes_computed_once_give_every_value_and_every_division_by_zero(seed: int) -> None:
    """The compiled formula (a repeated node computed once per call) against the same formula compiled node by
    node without sharing, and against SymPy's own value where SymPy, which evaluates every case eagerly,
    gives one; at every point of a box, twice over one env dict (a stale remembered value would show)."""
    rng = random.Random(seed)
    pool: list[sympy.Expr] = []
    try:
        expr = _shared(rng, 4, pool)
        expr = expr + rng.choice(pool) if pool else expr
    except ZeroDivisionError:
        pytest.skip("SymPy refused the drawn formula")  # a constant divisor of 0 while building
    plain = _compile(expr)
    env: dict[str, int] = {}
    for point in itertools.product(range(-3, 4), repeat=3):
        env.update(zip("xyz", point, strict=True))
        ours = _value(lambda e: evaluate(expr, e), env)
        assert ours == _value(plain, env) == _value(lambda e: evaluate(expr, e), env)
        try:
            value = expr.xreplace({s: sympy.Integer(env[s.name]) for s in (x, y, z)}).doit()
        except (ZeroDivisionError, ValueError, TypeError):
            continue  # SymPy evaluates the cases not taken too, and a 0 divisor there stops it
        if value.is_Rational and ours is not ZeroDivisionError:
            assert ours == value


def test_a_repeated_floor_inside_cases_is_read_at_each_call() -> None:
    """One env dict reused across calls with new values: a value remembered from an earlier call would be
    stale."""
    shared = floor_div(x, y)
    expr = sympy.Piecewise((shared + sympy.Mod(x, y), gt(shared, 1)), (shared - sympy.Mod(x, y), True))
    env = {"x": 0, "y": 1}
    for a, b in itertools.product(range(-6, 7), [-3, -1, 0, 2, 5]):
        env["x"], env["y"] = a, b
        if b == 0:
            with pytest.raises(ZeroDivisionError):
                evaluate(expr, env)
            continue
        q = a // b
        assert evaluate(expr, env) == (q + a % b if q > 1 else q - a % b)


def _term(rng: random.Random, depth: int) -> sympy.Expr:
    kind = rng.randrange(9 if depth > 0 else 2)
    if kind == 0:
        return i * rng.choice([1, 1, 2, -1, 3]) + rng.randint(-3, 3)
    if kind == 1:
        return sympy.Integer(rng.randint(-3, 5))
    inner = _term(rng, depth - 1)
    if kind == 2:
        return floor_div(inner + rng.randint(-3, 3), rng.choice([2, 3, 4, 5]))
    if kind == 3:
        return ceil_div(inner + rng.randint(-3, 3), rng.choice([2, 3, 6]))
    if kind == 4:
        return sympy.Mod(inner, rng.choice([2, 3, 4, 7]))
    if kind == 5:
        # Min/Max of two terms of one slope
        other = inner + rng.choice([sympy.Mod(i, rng.choice([2, 3])), sympy.Integer(rng.randint(-2, 2))])
        return (sympy.Min if rng.random() < 0.5 else sympy.Max)(inner, other)
    if kind == 6:
        return sympy.Mod(i, rng.choice([2, 3, 4])) * inner  # a periodic term times an affine one
    if kind == 7:
        return inner + _term(rng, depth - 1)
    return rng.choice([1, 2, -1, sympy.Rational(1, 2), sympy.Rational(2, 3)]) * inner


def _condition(rng: random.Random, depth: int) -> sympy.Basic:
    draw = rng.random()
    if depth > 0 and draw < 0.2:
        return sympy.And(_condition(rng, depth - 1), _condition(rng, depth - 1))
    if depth > 0 and draw < 0.35:
        return sympy.Or(_condition(rng, depth - 1), _condition(rng, depth - 1))
    if depth > 0 and draw < 0.45:
        return sympy.Not(_condition(rng, depth - 1), evaluate=False)
    return rng.choice([eq, ne, lt, ge, le, gt])(_term(rng, 3), _term(rng, 3))


@pytest.mark.parametrize("seed", range(0, 1500, 50))
def test_refine_with_one_step_per_period_is_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    condition = _condition(rng, 2)
    universe = IntSet.interval(rng.randint(-5, 6), rng.choice([None, None, rng.randint(20, 200)]))
    if rng.random() < 0.5:
        m = rng.choice([2, 3, 4, 6, 8])
        universe = universe.intersect(
            IntSet.residue_class(m, tuple(sorted({rng.randrange(m) for _ in range(m)})))
        )
    needed = period(condition, "i") if condition.free_symbols else None
    if needed is None or needed > 2000:
        pytest.skip("not a periodic condition of a small period")
    found = refine(universe, condition, "i")
    span = range(-10, 32 * needed + 60)
    assert {n for n in span if n in found} == {
        n for n in span if n in universe and evaluate(condition, {"i": n})
    }


@pytest.mark.parametrize(
    "condition",
    [
        ge(sympy.Mod(i, 2048) + floor_div(i, 3), 5),
        ge(sympy.Mod(i, 2048) + floor_div(i, 3), 0),
        ne(sympy.Mod(i, 2048) - sympy.Mod(floor_div(i + 1, 2), 7), 2047),
        ne(sympy.Mod(i, 2048) * i, 77 * (2048 * 12345 + 77)),  # Z3 finds the one size where it fails
    ],
)
def test_long_periodic_conditions_give_the_brute_force_set(condition: sympy.Basic) -> None:
    needed = period(condition, "i")
    assert needed is not None and classes(IntSet.interval(1, None), needed) > PROVE_FIRST
    found = solved([condition], "i", {})
    upto = 2500
    assert {n for n in range(1, upto) if n in found} == {
        n for n in range(1, upto) if evaluate(condition, {"i": n})
    }
    far = 2048 * 12345 + 77
    assert (far in found) == bool(evaluate(condition, {"i": far}))


def test_a_condition_false_at_one_large_size_is_kept() -> None:
    """A periodic condition of 2,048 classes false at exactly one size, 2,048,007,145: Z3's unbounded query
    times out, its bounded fallback proves it in |i| <= 64, and the condition must still not be left out."""
    far = 2048 * 1_000_003 + 1001
    condition = ne(sympy.Mod(i, 2048) * i, 1001 * far)
    assert not evaluate(condition, {"i": far}) and all(evaluate(condition, {"i": n}) for n in range(1, 5000))
    assert far not in solved([condition], "i", {})


MINMAX_CLAIMS = [
    ("max(min(k, 1), k) == k", []),
    ("min(k, k + 1) == k", []),
    ("min(abs(i), -1) == -1", []),
    ("min(min(i, j), k) == min(i, min(j, k))", []),
    ("min(floor(i/2), i) == floor(i/2)", []),
    ("mod(max(i, 0), 2) == mod(i, 2)", []),
    ("max((i - 1) // 2 + 1, i - 2) == i - 2", ["i >= 3"]),
    ("min(i, 5) // 2 <= 1", ["i >= 3"]),
    ("min(i, 2*i) == i", []),
    ("i // min(j, 1) <= i", ["i >= 0"]),
    ("mod(i, min(j, 2)) < 2", []),
    ("ceil(max(i, j)/3) == max(ceil(i/3), ceil(j/3))", []),
    ("min(max(i, 2), max(i, 3)) == max(i, 2)", []),
]


def _holds(text: str, env: dict[str, int]) -> bool:
    try:
        return bool(evaluate(parse_expression(text), env))
    except ZeroDivisionError:
        return False


@pytest.mark.parametrize(("claim", "given"), MINMAX_CLAIMS)
def test_min_and_max_as_written_verdicts_agree_with_brute_force(claim: str, given: list[str]) -> None:
    """Proved: no point of a box where the givens hold and the claim, evaluated as written, fails; refuted: the
    counterexample makes the claim false as written."""
    result = api.prove(claim, given)
    names = sorted({s.name for s in parse_expression(claim).free_symbols} - {"conv"})
    points = [dict(zip(names, p, strict=True)) for p in itertools.product(range(-6, 9), repeat=len(names))]
    failing = [p for p in points if all(_holds(g, p) for g in given) and not _holds(claim, p)]
    if isinstance(result, Proved):
        assert failing == []
    else:
        assert isinstance(result, Refuted) and failing
        assert not _holds(claim, dict(result.counterexample))
