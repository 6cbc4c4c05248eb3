"""Seeded soundness fuzz: symconv's verdicts against brute force, the solver against enumeration.

THE RULE the prover follows:

- Text is evaluated as Python evaluates it on integers: ``//`` and ``%`` floor semantics, ``mod(a, b)`` is
  ``a % b``, ``/`` (only inside floor/ceil) is exact rational division; ``and``, ``or``, ``not`` and chained
  comparisons short-circuit as in Python.
- A division or modulo by zero that the evaluation reaches makes that text undefined at that point.
- A point where a given or a definition is undefined, or a given is false, is outside the theorem's domain.
- A claim is proved when, at every point of the domain, it is defined and true (and each layer applied in the
  claim is defined there: its domain rules hold). A point of the domain where the claim is undefined or false
  is a counterexample: the verdict is refuted. A layer applied inside a given is assumed to be defined (its
  rules join the givens).

Grading (tests/fuzzgen.py, brute force over a small box, every variable in [-R, R]):

- "proved" when brute force finds a counterexample in the box is a wrong verdict;
- "refuted" with a counterexample that does not re-check (outside the domain, or the claim true there) is a
  wrong verdict; "refuted" without a counterexample in the box is fine when the reported one re-checks;
- "unknown" is allowed only when the solver is undecided: "unknown" while a counterexample exists in the box
  is a weak verdict (reported as a warning, the target is 0); "unknown" without one is not graded here
  (benchmarks/fuzz.py counts them); a domain empty in the box decides nothing (the box is not the domain);
- an exception from check(), or no verdict within HANG_SECONDS of wall-clock time, is an error.

Layer calls are generated only where the evaluation always reaches them (not under and/or/not or after the
first link of a chained comparison) and never in definitions, where the rule leaves their reading open.

Solve queries (one or two unknowns, bounded by --min/--max) are compared with the enumeration of the same box
through ``symconv.layer(spec_with_values).output_size(i)`` (ShapeError/SpecError: not a solution); a
SpecError from the solver is fine only when the enumeration finds no solution.

Larger runs: ``python benchmarks/fuzz.py --claims 20000 --seed 7``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pytest

from symconv import SymconvError, layer

from .fuzzgen import (
    FALSE,
    HOLDS,
    OUTSIDE,
    UNDEFINED,
    Claim,
    Node,
    Outcome,
    SolveOutcome,
    Undefined,
    and_,
    bin_,
    brute_force,
    call,
    cmp,
    evaluate,
    floor_q,
    judge,
    layer_call,
    layer_output,
    neg,
    num,
    or_,
    point_oracle,
    recheck,
    render,
    run_claims,
    run_queries,
    var,
)

SEED = 20_240
CLAIMS = 400
QUERIES = 100
SHOWN = 12


def _report(outcomes: Sequence[Outcome | SolveOutcome], grade: str) -> str:
    """The count of one grade and its first cases, for an assertion message or a warning."""
    chosen = [o for o in outcomes if o.grade == grade]
    lines = [f"{len(chosen)} {grade} of {len(outcomes)} (seed {SEED}):"]
    lines += [o.message() for o in chosen[:SHOWN]]
    return "\n".join(lines)


# ---- the oracle itself -------------------------------------------------------------------------------------

x, y, s = var("x"), var("y"), var("s")


def test_the_evaluator_follows_python_on_integers() -> None:
    env = {"x": -7, "y": 3, "s": 2}
    assert evaluate(bin_("//", x, y), env) == -7 // 3
    assert evaluate(bin_("%", x, y), env) == -7 % 3
    assert evaluate(call("mod", x, num(-3)), env) == -7 % -3
    assert evaluate(floor_q(x, y), env) == -3
    assert evaluate(call("ceil", bin_("/", x, y)), env) == -2
    with pytest.raises(Undefined):
        evaluate(bin_("//", x, bin_("-", y, num(3))), env)
    # Short circuits: the right side is never reached.
    assert evaluate(or_(cmp(s, "!=", num(0)), cmp(bin_("//", x, num(0)), "==", num(0))), env) is True
    assert evaluate(and_(cmp(s, "==", num(0)), cmp(bin_("//", x, num(0)), "==", num(0))), env) is False
    assert evaluate(cmp(x, ">", y, "<", bin_("//", x, num(0))), env) is False
    with pytest.raises(Undefined):
        evaluate(cmp(x, "<", y, "<", bin_("//", x, num(0))), env)


@pytest.mark.tex
def test_rendering_keeps_precedence() -> None:
    assert render(bin_("-", x, bin_("-", y, s))) == "x - (y - s)"
    assert render(bin_("*", bin_("+", x, y), s)) == "(x + y) * s"
    assert render(Claim("t", or_(and_(cmp(x, "<", y), cmp(y, "<", s)), cmp(x, "==", num(-1)))).claim) == (
        "x < y and y < s or x == -1"
    )
    assert render(call("mod", bin_("*", num(-2), x), s)) == "mod(-2 * x, s)"
    assert render(Node("pow", (num(-2), 2))) == "(-2)**2"
    assert render(neg(Node("pow", (x, 2)))) == "-x**2"
    assert render(neg(num(-3))) == "-(-3)"


def test_the_layer_oracle_matches_symconv_on_concrete_layers() -> None:
    """The brute force's paper-convention layers equal symconv.layer(...).output_size where both are defined."""
    for kind in ("conv", "convT", "maxpool", "avgpool"):
        for k in range(1, 5):
            for stride in range(1, 4):
                for p in range(0, 3):
                    for ceil in (False, True) if kind.endswith("pool") else (False,):
                        extra = ", ceil=true" if ceil else ""
                        made = layer(f"{kind}(k={k}, s={stride}, p={p}{extra})")
                        for i in range(1, 12):
                            values = {"k": k, "s": stride, "p": p, "ceil": ceil}
                            try:
                                want: int | None = made.output_size(i)
                            except SymconvError:
                                want = None
                            try:
                                got: int | None = layer_output(kind, values, i)
                            except Undefined:
                                got = None
                            assert got == want, (kind, k, stride, p, ceil, i)


def test_the_grading() -> None:
    cancelled = Claim("t", cmp(bin_("//", bin_("*", x, s), s), "==", x))
    assert brute_force(cancelled).kind == UNDEFINED
    guarded = Claim("t", or_(cmp(s, "==", num(0)), cmp(bin_("*", bin_("//", x, s), s), "<=", x)))
    assert brute_force(Claim("t", guarded.claim, (cmp(s, ">=", num(0)),))).counterexample is None
    assert brute_force(guarded).kind == FALSE
    # A given undefined at a point puts the point outside the domain.
    outside = Claim("t", cmp(x, "!=", num(0)), (cmp(bin_("//", x, s), ">=", num(1)),))
    assert brute_force(outside).counterexample is None
    assert recheck(outside, {"x": 0, "s": 0}) == OUTSIDE
    assert recheck(outside, {"x": 0}) == OUTSIDE
    assert recheck(Claim("t", cmp(x, "<=", x)), {"x": 0}) == HOLDS
    assert recheck(Claim("t", cmp(x, "<", bin_("//", x, s))), {"x": 0, "s": 0}) == UNDEFINED
    assert point_oracle(outside)({"x": 2, "s": 1}) == HOLDS
    # A layer in a given is assumed defined; in the claim it must be.
    conv = layer_call("conv", [("k", num(3)), ("s", num(1))], var("i"))
    assert (
        brute_force(Claim("t", cmp(var("i"), ">=", num(3)), (cmp(conv, ">=", num(1)),))).counterexample
        is None
    )
    assert brute_force(Claim("t", cmp(conv, ">=", num(1)))).kind == UNDEFINED
    assert judge(Claim("t", cmp(bin_("+", x, num(1)), ">", x))).grade == "ok"


# ---- the fuzz ----------------------------------------------------------------------------------------------


def test_claims_against_brute_force() -> None:
    outcomes = list(run_claims(SEED, CLAIMS))
    if any(o.grade == "weak" for o in outcomes):
        warnings.warn(_report(outcomes, "weak"), stacklevel=1)
    for grade in ("error", "wrong"):
        if any(o.grade == grade for o in outcomes):
            pytest.fail(_report(outcomes, grade), pytrace=False)


def test_solve_queries_against_enumeration() -> None:
    outcomes = list(run_queries(SEED, QUERIES))
    for grade in ("error", "wrong"):
        if any(o.grade == grade for o in outcomes):
            pytest.fail(_report(outcomes, grade), pytrace=False)
