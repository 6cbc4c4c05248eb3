"""Formulas in their shortest periodic form where they are defined: equal to the formula as written at every
size of the domain (brute force over 1..200), never longer, and the shortest forms the answers now print."""

from __future__ import annotations

import itertools

import pytest
import sympy

from symconv import layer, symbol
from symconv.cli import main
from symconv.core.arith import evaluate
from symconv.core.layers import Conv, Pool
from symconv.logic.ondomain import periodic

SIZE = symbol("i")
SPECS = [
    f"{fw}.conv(k={k}, s={s}, d={d}, p={same})"
    for (fw, same), k, s, d in itertools.product(
        (("tf", "same"), ("jax", "same"), ("onnx", "same_upper"), ("ort", "same_lower")),
        (1, 2, 3, 4, 5),
        (1, 2, 3, 4),
        (1, 2),
    )
    if not ((fw == "tf" and s > 1 and d > 1) or (fw == "ort" and d > 1))
] + [f"onnx.maxpool(k={k}, s={s}, p=same_lower)" for k in (2, 3, 4) for s in (2, 3)]


@pytest.mark.parametrize("spec", SPECS)
def test_the_shortest_form_of_a_padding_equals_it_on_every_defined_size(spec: str) -> None:
    made = layer(spec)
    assert isinstance(made, Conv | Pool)
    domain = [condition for condition, _ in made.conditions(SIZE)]
    for pad in made.padding(SIZE):
        short = periodic(pad, SIZE, domain)
        assert len(str(short)) <= len(str(pad))
        for n in range(1, 201):
            env = {"i": n}
            if all(evaluate(condition, env) for condition in domain):
                assert evaluate(short, env) == evaluate(pad, env), (spec, pad, short, n)


def test_a_formula_that_is_not_periodic_is_kept() -> None:
    formula = sympy.floor(SIZE / 2) + sympy.Mod(SIZE, 3)
    assert periodic(formula, SIZE, [SIZE >= 1]) == formula
    assert periodic(sympy.floor(SIZE**2 / 3), SIZE, [SIZE >= 1]) == sympy.floor(SIZE**2 / 3)


def test_a_form_true_only_past_the_small_sizes_is_not_taken() -> None:
    # max(0, 3 - i) + i mod 2 is i mod 2 from i = 3 on, not at 1 and 2: no shorter form holds on i >= 1.
    formula = sympy.Max(0, 3 - SIZE) + sympy.Mod(SIZE, 2)
    assert periodic(formula, SIZE, [SIZE >= 1]) == formula
    assert periodic(formula, SIZE, [SIZE >= 3]) == sympy.Mod(SIZE, 2)


def test_invert_prints_same_paddings_in_their_shortest_form(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invert", "jax.conv(k=3, s=2, p=same)"]) == 0
    out = capsys.readouterr().out
    assert "padding=1, output_padding=(i + 1) mod 2," in out
    assert "pads=[i mod 2, 1]" in out and "max(" not in out


def test_solve_prints_a_single_value_as_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "conv(k=3, s=2, p=?)", "--in", "i", "--out", "ceil(i/2)"]) == 0
    out = capsys.readouterr().out
    assert "p = 1\n" in out and "proved" in out
