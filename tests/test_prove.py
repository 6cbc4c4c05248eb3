"""The prover's three outcomes, never collapsed."""

from __future__ import annotations

import sympy

from symconv import Proved, Refuted, Unknown, parse_condition, prove


def c(text: str) -> sympy.Basic:
    return parse_condition(text)


def test_proved_unbounded() -> None:
    assert prove(c("floor(i/s)*s + mod(i, s) == i"), [c("s >= 1")]) == Proved(scope="unbounded")


def test_negative_numerators_follow_floor_not_truncation() -> None:
    # Z3's division is Euclidean and C's truncates; floor is what SymPy and Python mean.
    assert prove(c("floor((i - 7)/2) == -4"), [c("i == 0")]) == Proved(scope="unbounded")
    assert prove(c("mod(i - 7, 3) == 2"), [c("i == 0")]) == Proved(scope="unbounded")
    assert prove(c("floor(i/s) == -1"), [c("i == 3"), c("s == -4")]) == Proved(scope="unbounded")


def test_refuted_with_a_rechecked_counterexample() -> None:
    result = prove(c("ceil(i/s) == floor(i/s)"), [c("s >= 1"), c("i >= 0")])
    assert isinstance(result, Refuted)
    i, s = result.counterexample["i"], result.counterexample["s"]
    assert s >= 1 and i >= 0 and -(-i // s) != i // s


def test_division_by_a_possibly_zero_divisor_is_refuted() -> None:
    result = prove(c("floor(i/s) <= i"), [c("i >= 0"), c("s >= 0")])
    assert isinstance(result, Refuted)
    assert result.counterexample["s"] == 0


def test_vacuous_conditions_are_unknown_not_proved() -> None:
    result = prove(c("i == 5"), [c("i >= 1"), c("i <= 0")])
    assert isinstance(result, Unknown)
    assert "vacuously" in result.reason


def test_bounded_on_request_says_its_box() -> None:
    assert prove(c("i*i >= 0"), [], bound=8) == Proved(scope="bounded: every variable in [-8, 8]")


def test_undecided_unbounded_falls_back_to_a_stated_box() -> None:
    # No integer solution of i^2 = 2j^2 with i >= 1: beyond what Z3 decides quickly (nonlinear).
    result = prove(c("i*i != 2*j*j"), [c("i >= 1")], timeout_ms=300)
    assert isinstance(result, Proved | Unknown)
    if isinstance(result, Proved):
        assert result.scope.startswith("bounded: every variable in [-64, 64]")
        assert "undecided" in result.scope
