"""Floors and ceilings built by symconv's structural rule (arith.rounded) are the very expressions SymPy's own
floor and ceiling build, and substitution that rebuilds them (arith.substituted) is SymPy's xreplace."""

from __future__ import annotations

import math
from unittest import mock

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv.core import arith
from symconv.core.arith import Rounding, _linear_terms, evaluate, merge_floors, rounded, substituted, symbol

X, Y = symbol("i"), symbol("j")
U = sympy.Dummy("u", integer=True)
# Atoms outside the structural rule: SymPy knows a sign, a bound or a parity of each.
POSITIVE = sympy.Symbol("p", integer=True, positive=True)
EVEN = sympy.Symbol("e", integer=True, even=True)
OTHERS = [POSITIVE, EVEN, X**2, sympy.Mod(X, 3), sympy.Max(X, 2), sympy.Symbol("r", real=True)]

KINDS = st.sampled_from([sympy.floor, sympy.ceiling])
COEFFICIENTS = st.builds(sympy.Rational, st.integers(-7, 7), st.sampled_from([1, 1, 2, 3, 4, 6]))
DIVISORS = st.sampled_from([1, 2, 3, 4, 5, 8, 16])


def _sum(constant: sympy.Rational, terms: list[tuple[sympy.Rational, sympy.Expr]]) -> sympy.Expr:
    return sympy.Add(constant, *(c * atom for c, atom in terms))


def _sums(atoms: st.SearchStrategy[sympy.Expr]) -> st.SearchStrategy[sympy.Expr]:
    return st.builds(_sum, COEFFICIENTS, st.lists(st.tuples(COEFFICIENTS, atoms), min_size=1, max_size=3))


def _rounded_atom(inner: st.SearchStrategy[sympy.Expr]) -> st.SearchStrategy[sympy.Expr]:
    # SymPy's own floor: the atoms are what earlier layers built.
    return st.builds(lambda kind, arg, d: kind(arg / d), KINDS, _sums(inner), DIVISORS)


PLAIN_ATOMS = st.recursive(st.sampled_from([X, Y, U]), _rounded_atom, max_leaves=6)
ANY_ATOMS = st.recursive(st.sampled_from([X, Y, U, *OTHERS]), _rounded_atom, max_leaves=6)
# The bounded differences of floors (floor((i + 1)/2) - floor(i/2) is 0 or 1), which SymPy cannot bound.
PAIRS = [sympy.floor((X + 1) / 2), sympy.floor(X / 2), sympy.ceiling(X / 2), sympy.floor((X + 3) / 4)]


def _same(made: sympy.Basic, sympys: sympy.Basic) -> None:
    assert sympy.srepr(made) == sympy.srepr(sympys)


@settings(max_examples=150)
@given(KINDS, _sums(PLAIN_ATOMS), DIVISORS)
def test_rounded_is_sympys_floor_on_sums_of_plain_integers(
    kind: Rounding, total: sympy.Expr, divisor: int
) -> None:
    arg = total / divisor
    _same(rounded(kind, arg), kind(arg))


@settings(max_examples=150)
@given(KINDS, _sums(ANY_ATOMS | st.sampled_from(PAIRS)), DIVISORS)
def test_rounded_is_sympys_floor_with_atoms_sympy_knows_more_of(
    kind: Rounding, total: sympy.Expr, divisor: int
) -> None:
    arg = total / divisor
    _same(rounded(kind, arg), kind(arg))


def test_the_structural_rule_reads_what_layers_build() -> None:
    """Not vacuous: a layer's argument is read by the rule (not left to SymPy), and the answer is still SymPy's;
    an argument with an atom SymPy knows more of is left to SymPy."""
    layer_argument = (merge_floors(sympy.floor((X + 1) / 2)) + 3) / 2
    assert _linear_terms(layer_argument) is not None
    assert _linear_terms(U / 2 + X) is not None  # the layers' own symbol u is plain too
    for kind in (sympy.floor, sympy.ceiling):
        for arg in (layer_argument, (2 * X + 5) / 2, X / 4 + sympy.Rational(3, 4), X + sympy.Rational(7, 2)):
            _same(rounded(kind, arg), kind(arg))
    assert _linear_terms(POSITIVE / 2) is None
    assert _linear_terms(sympy.floor(POSITIVE / 2) / 3) is None
    assert _linear_terms(sympy.Integer(3) / 2) is None


@settings(max_examples=200)
@given(KINDS, _sums(PLAIN_ATOMS), DIVISORS, st.integers(-50, 50), st.integers(-50, 50))
def test_rounded_rounds_on_integers(kind: Rounding, total: sympy.Expr, divisor: int, i: int, j: int) -> None:
    arg = total / divisor
    env = {"i": i, "j": j, U.name: 0}
    exact = sympy.Rational(evaluate(arg, env))
    expected = math.floor(exact) if kind is sympy.floor else math.ceil(exact)
    assert evaluate(rounded(kind, arg), env) == expected


def _merged_by_sympy(expr: sympy.Basic) -> sympy.Basic:
    """merge_floors with every floor and ceiling built, and every integer recognised, by SymPy itself."""
    with (
        mock.patch.object(arith, "rounded", lambda kind, arg: kind(arg)),
        mock.patch.object(arith, "_integer", lambda rest: rest.is_integer is True),
    ):
        return merge_floors(expr)


@settings(max_examples=200)
@given(_sums(ANY_ATOMS), st.sampled_from([X, U, POSITIVE]), _sums(PLAIN_ATOMS))
def test_substituted_is_xreplace_and_merging_is_sympys(
    expr: sympy.Expr, old: sympy.Symbol, new: sympy.Expr
) -> None:
    replaced = substituted(expr, {old: new})
    _same(replaced, expr.xreplace({old: new}))
    _same(merge_floors(replaced), _merged_by_sympy(replaced))
