"""Where a claim is undefined: decided from the text as written, before SymPy rewrites it (README, "Where a
claim is undefined"), and every verdict checked against the text on plain integers."""

from __future__ import annotations

import pytest

import symconv
from symconv import SpecError, Theorem
from symconv.cli import main
from symconv.core.errors import InternalError
from symconv.core.meaning import Undefined
from symconv.core.parse import parse_meaning
from symconv.logic.prove import Refuted, Result, Semantics, prove


def verdict(claim: str, given: tuple[str, ...] = (), define: tuple[tuple[str, str], ...] = ()) -> Result:
    return Theorem(id="t", claim=claim, given=given, define=define).check(timeout_ms=10_000)


def refuted(claim: str, given: tuple[str, ...] = (), define: tuple[tuple[str, str], ...] = ()) -> Refuted:
    result = verdict(claim, given, define)
    assert isinstance(result, Refuted), result
    return result


# SymPy cancels each of these divisors before a Z3 translation could see it; the text divides by zero.
CANCELLED = [
    ("x*s // s == x", (), "x*s // s divides by zero"),
    ("(i*s) % s == 0", (), "(i*s) % s divides by zero"),
    ("mod(x**2, x) == 0", (), "mod(x**2, x) divides by zero"),
    ("floor(x*y/(x*s)) == floor(y/s)", (), "divides by zero"),
    ("mod(mod(x, s*t), s) == mod(x, s)", ("s >= 1",), "mod(x, s*t) divides by zero"),
    ("mod(x - mod(x, s), s) == 0", (), "mod(x, s) divides by zero"),
    ("x // s == x // s", (), "x // s divides by zero"),
]


@pytest.mark.parametrize(("claim", "given", "why"), CANCELLED)
def test_a_claim_undefined_in_the_domain_is_refuted_naming_the_division(
    claim: str, given: tuple[str, ...], why: str
) -> None:
    result = refuted(claim, given)
    assert why in result.reason
    # The counterexample really divides by zero in the text as written.
    with pytest.raises(Undefined):
        parse_meaning(claim, condition=True).run(result.counterexample)


@pytest.mark.parametrize(
    ("claim", "given"),
    [
        ("x*s // s == x", ("s != 0",)),
        ("(i*s) % s == 0", ("s >= 1",)),
        ("mod(mod(x, s*t), s) == mod(x, s)", ("s >= 1", "t >= 1")),
        ("s == 0 or x // s >= x // s", ()),  # Python stops at s == 0
        ("s == 0 or x // s * s + x % s == x", ()),
        ("s < 0 < x // s or s >= 0 or x // s <= 0", ()),  # x // s is reached only where s < 0
        ("x < 0 < x // s or x >= 0 or s != 0", ("s != 0",)),
        ("not (s == 0) or x == x", ()),
        ("0 >= s or 0 < 1 // s + 1 < 3", ()),  # the chain stops where 0 < s fails
    ],
)
def test_the_same_claims_are_proved_where_the_divisor_cannot_be_zero(
    claim: str, given: tuple[str, ...]
) -> None:
    assert verdict(claim, given).status == "proved"


def test_a_point_where_a_given_is_undefined_is_outside_the_domain() -> None:
    result = verdict("q >= 1", given=("i // s >= 1",), define=(("q", "i // s"),))
    assert result.status == "proved", result


def test_a_point_where_a_definition_is_undefined_is_outside_the_domain() -> None:
    assert verdict("q * s <= i", given=("s >= 1",), define=(("q", "i // s"),)).status == "proved"
    assert verdict("q == q", define=(("q", "i // s"),)).status == "proved"


def test_an_undefined_definition_used_by_a_false_claim_still_finds_a_defined_counterexample() -> None:
    result = refuted("q >= 0", define=(("q", "i // s"),))
    env = result.counterexample
    assert env["s"] != 0 and env["i"] // env["s"] < 0


def test_a_round_trip_without_its_stride_rule_is_refuted_not_unknown() -> None:
    result = refuted(
        "convT(k=k, s=s, p=p)(conv(k=k, s=s, p=p)(i)) == i",
        given=("i >= 1", "k >= 1", "p >= 0", "i + 2*p >= k", "p <= k - 1"),
    )
    assert result.counterexample["s"] < 1
    assert "stride" in result.reason


def test_a_counterexample_that_does_not_recheck_is_excluded_and_the_search_goes_on() -> None:
    # The semantics reject every point with x == 0 as outside the domain, although Z3 is not told so: the first
    # models do not re-check and the prover must search on to x != 0.
    x = symconv.symbol("x")

    def domain(env: dict[str, int]) -> dict[str, int] | None:
        return env if env["x"] != 0 else None

    semantics = Semantics((), symconv.parse_condition("x == x"), frozenset({"x"}), domain, lambda env: False)
    result = prove(
        symconv.parse_condition("x >= 100"), [symconv.parse_condition("x >= -1")], semantics=semantics
    )
    assert isinstance(result, Refuted), result
    assert result.counterexample["x"] not in (0,) and result.counterexample["x"] < 100
    del x


def test_a_proved_claim_false_on_integers_is_an_internal_error_not_a_verdict() -> None:
    # The semantics disagree with the SymPy claim: the sampling after the proof must catch it.
    claim = symconv.parse_condition("x == x")
    semantics = Semantics((), claim, frozenset({"x"}), lambda env: env, lambda env: env["x"] != 3)
    with pytest.raises(InternalError, match="bug in symconv"):
        prove(claim, semantics=semantics)


def test_the_cli_says_which_division(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "--claim", "mod(x**2, x) == 0"]) == 1
    out = capsys.readouterr().out
    assert "refuted" in out and "mod(x**2, x) divides by zero (x = 0)" in out


def test_solve_collects_unknowns_of_resampling_kinds() -> None:
    assert main(["solve", "adaptivepool(size=?)", "--in", "3", "--out", "12", "--json"]) == 0


@pytest.mark.parametrize("value", [2.5, True, "2", None])
def test_parameter_values_must_be_integers(value: object) -> None:
    with pytest.raises(SpecError, match="parameter k must be an integer"):
        symconv.layer("conv(k=k)").output_size(5, k=value)  # type: ignore[arg-type]


def test_numpy_integers_are_integers() -> None:
    np = pytest.importorskip("numpy")
    assert symconv.layer("conv(k=k)").output_size(np.int64(5), k=np.int32(2)) == 4
