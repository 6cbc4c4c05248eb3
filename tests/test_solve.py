"""The solver against brute force: every expected answer is enumerated with ``layer(spec).output_size``.

A query's unknowns are replaced by each value of a box that provably holds every solution (the bound is
derived from the problem: the output grows with i and p, the domain bounds k and d, ...); a member of the box
beyond that bound can only come from an infinite (upward-closed) set, which the solver must then report as
infinite (count None, complete False) while listing its least members.
"""

from __future__ import annotations

import functools
import itertools
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv import SymconvError, layer
from symconv.cli import main
from symconv.logic.solve import solve_spec

PARAMETERS = ("k", "s", "p", "d", "a")
KINDS = ("conv", "convT", "maxpool", "avgpool", "torch.maxpool")

Env = dict[str, int]


# --------------------------------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------------------------------


def spec_text(kind: str, params: Mapping[str, Any]) -> str:
    """`kind(k=.., s=.., p=.., d=.., a=.., ceil=..)`; a value "?" marks an unknown, a pair is (begin, end)."""
    parts = []
    for name in (*PARAMETERS, "ceil"):
        if name not in params:
            continue
        value = params[name]
        if isinstance(value, tuple):
            value = f"[({value[0]}, {value[1]})]"
        elif isinstance(value, bool):
            value = "true" if value else "false"
        parts.append(f"{name}={value}")
    return f"{kind}({', '.join(parts)})"


@functools.cache
def built(spec: str) -> Any:
    """The layer of a concrete spec, or None where the spec itself is refused."""
    try:
        return layer(spec)
    except SymconvError:
        return None


def size(spec: str, i: int) -> int | None:
    """The ground truth: output size, None where the layer is undefined (or the spec refused)."""
    made = built(spec)
    if made is None:
        return None
    try:
        return int(made.output_size(i))
    except SymconvError:
        return None


def holds(kind: str, params: Mapping[str, Any], i: int, o: int | None) -> tuple[bool, int | None]:
    """(is (i, o) a solution, the output size); o None means the output is unknown (any defined size)."""
    out = size(spec_text(kind, params), i)
    return out is not None and (o is None or out == o), out


def total_padding(params: Mapping[str, Any]) -> int:
    p = params.get("p", 0)
    if isinstance(p, tuple):
        return p[0] + p[1]
    return 2 * p if isinstance(p, int) else 0


def k_eff(params: Mapping[str, Any]) -> int:
    return params.get("d", 1) * (params["k"] - 1) + 1


def in_pieces(pieces: list[dict[str, Any]], x: int) -> bool:
    """Membership in the JSON description of an IntSet."""
    for piece in pieces:
        lo, hi = piece["from"], piece["to"]
        if (lo is None or x >= lo) and (hi is None or x <= hi):
            if x % piece.get("period", 1) in piece.get("residues", [0]):
                return True
    return False


def brute_force(
    kind: str,
    params: Mapping[str, Any],
    i: int | str,
    o: int | str,
    boxes: Mapping[str, range],
    where: tuple[Callable[[Env], bool], ...] = (),
) -> list[dict[str, int]]:
    """Every assignment of the box to the unknowns (names in `boxes`, in order) that solves the query."""
    names = list(boxes)
    found = []
    for values in itertools.product(*(boxes[name] for name in names)):
        chosen = dict(zip(names, values, strict=True))
        full = {**params, **{n: v for n, v in chosen.items() if n in PARAMETERS}}
        ii = chosen["i"] if i == "?" else i
        assert isinstance(ii, int)
        ok, out = holds(kind, full, ii, None if o == "?" else int(o))
        if not ok:
            continue
        env = {n: v for n, v in full.items() if isinstance(v, int) and not isinstance(v, bool)}
        env.update(i=ii, o=out if out is not None else -1)
        if all(condition(env) for condition in where):
            solution = dict(chosen)
            if o == "?":
                assert out is not None  # a solution has an output size
                solution["o"] = out
            found.append(solution)
    return found


def canonical(solutions: Any, unknowns: tuple[str, ...] | list[str]) -> list[tuple[int, ...]]:
    return sorted(tuple(s[n] for n in unknowns) for s in solutions)


# --------------------------------------------------------------------------------------------------------------
# The worked examples
# --------------------------------------------------------------------------------------------------------------


def test_kernel_and_padding_for_halving() -> None:
    answer = solve_spec("conv(k=?, s=2, p=?)", i=224, o=112, maxima={"k": 7})
    # p: the output grows with p, o > (i + 2p - k)/s, so 2p < s*o + k - i = k here.
    expected = brute_force("conv", {"s": 2}, 224, 112, {"k": range(-1, 8), "p": range(-1, 7 // 2 + 3)})
    assert answer.unknowns == ("k", "p")
    assert canonical(answer.solutions, ["k", "p"]) == canonical(expected, ["k", "p"])
    assert len(answer.solutions) == len(expected) == answer.count == 7
    assert answer.complete is True
    assert {s["k"] for s in answer.solutions} == set(range(1, 8))


def test_input_sizes_for_an_output() -> None:
    answer = solve_spec("conv(k=3, s=2, p=1)", i="?", o=112)
    expected = brute_force("conv", {"k": 3, "s": 2, "p": 1}, "?", 112, {"i": range(-2, 2 * 114 + 3 + 2 + 5)})
    assert [s["i"] for s in answer.solutions] == [s["i"] for s in expected] == [223, 224]
    assert answer.complete is True and answer.count == 2
    assert answer.sets == ({"i": [{"from": 223, "to": 224}]},)


def test_transposed_padding_and_output_padding() -> None:
    answer = solve_spec("convT(k=4, s=2, p=?, a=?)", i=56, o=112)
    # o = s(i-1) - 2p + k + a exactly, so 2p = s(i-1) + k + a - o; a < max(s, d) = 2.
    boxes = {"p": range(-1, (2 * 55 + 4 + 3 - 112) // 2 + 3), "a": range(-1, 4)}
    expected = brute_force("convT", {"k": 4, "s": 2}, 56, 112, boxes)
    assert answer.unknowns == ("p", "a")
    assert canonical(answer.solutions, ["p", "a"]) == canonical(expected, ["p", "a"]) == [(1, 0)]
    assert answer.complete is True and answer.count == 1


def test_stride_and_dilation_with_maxima() -> None:
    answer = solve_spec("conv(k=3, s=?, p=1, d=?)", i=64, o=32, maxima={"s": 4, "d": 4})
    expected = brute_force("conv", {"k": 3, "p": 1}, 64, 32, {"s": range(-1, 5), "d": range(-1, 5)})
    assert canonical(answer.solutions, ["s", "d"]) == canonical(expected, ["s", "d"]) == [(2, 1)]
    assert answer.complete is True and answer.count == 1


def test_cli_json_matches_the_api(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["solve", "conv(k=?, s=2, p=?)", "--in", "224", "--out", "112", "--max", "k=7", "--json"])
    data = json.loads(capsys.readouterr().out)
    answer = solve_spec("conv(k=?, s=2, p=?)", i=224, o=112, maxima={"k": 7})
    assert code == 0
    assert data == json.loads(json.dumps(answer.to_json()))
    assert data["unknowns"] == ["k", "p"] and data["complete"] is True and data["count"] == 7


def test_a_negated_condition_is_solved_within_the_box(capsys: pytest.CaptureFixture[str]) -> None:
    # ceil_mode over automatic pads gives a negated condition; it was solved over every integer, where the
    # stride had no bound, and refused although the box bounds it (found by the soundness fuzz).
    spec = "onnx.maxpool(k=?, s=?, p=same_lower, ceil=true)"
    box = ["--min", "k=-1", "--max", "k=8", "--min", "s=-1", "--max", "s=5"]
    where = ["--where", "k % 2 == 1", "--where", "s <= k"]
    assert main(["solve", spec, "--in", "21", "--out", "11", *box, *where, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    found = {(row["k"], row["s"]) for row in data["solutions"]}
    expected = {
        (k, s)
        for k in range(1, 9, 2)
        for s in range(1, k + 1)
        if layer(f"onnx.maxpool(k={k}, s={s}, p=same_lower, ceil=true)").is_defined(21)
        and layer(f"onnx.maxpool(k={k}, s={s}, p=same_lower, ceil=true)").output_size(21) == 11
    }
    assert found == expected and data["complete"] is True


# --------------------------------------------------------------------------------------------------------------
# One unknown: random layers against brute force
# --------------------------------------------------------------------------------------------------------------

# --where conditions, with the same condition in Python for the brute force.
WHERE: tuple[tuple[str, frozenset[str], Callable[[Env], bool]], ...] = (
    ("k % 2 == 1", frozenset("k"), lambda e: e["k"] % 2 == 1),
    ("p <= k // 2", frozenset("pk"), lambda e: e["p"] <= e["k"] // 2),
    ("s <= 2", frozenset("s"), lambda e: e["s"] <= 2),
    ("i % 3 != 0", frozenset("i"), lambda e: e["i"] % 3 != 0),
    ("d == 1 or k == 1", frozenset("dk"), lambda e: e["d"] == 1 or e["k"] == 1),
    ("not (p == 1)", frozenset("p"), lambda e: e["p"] != 1),
    ("2*p + 1 >= k", frozenset("pk"), lambda e: 2 * e["p"] + 1 >= e["k"]),
    ("o % 2 == 0", frozenset("o"), lambda e: e["o"] % 2 == 0),
    ("d % 2 == 0", frozenset("d"), lambda e: e["d"] % 2 == 0),
)


def finite_bound(kind: str, params: Mapping[str, Any], x: str, i: int, o: int) -> int:
    """An upper bound on every solution x of a finite answer (derived from the layer's formulas).

    An infinite answer (a stride with o == 1, or i == 1 for convT; a dilation with k == 1) is a tail
    [t, oo) with t below this bound, so members above it reveal it.
    """
    transposed = kind == "convT"
    s, d, a = params.get("s", 1), params.get("d", 1), params.get("a", 0)
    pads = total_padding(params)
    if x == "i":
        # conv/pool: o >= (i + P - k_eff)/s; convT: o >= s(i - 1) - P + 1.
        return s * (o + 2) + k_eff(params) + pads + 5
    if x == "o":
        return s * (i + 1) + k_eff(params) + pads + a + 5 if transposed else i + pads + 5
    if x == "k":
        # convT: d(k - 1) <= o + P; conv/pool: k_eff <= i + P (+ s - 1 in ceil mode).
        return o + pads + 2 if transposed else i + pads + s + 2
    if x == "s":
        return o + pads + 2 if transposed else i + pads + 2
    if x == "p":
        if transposed:  # 2p = s(i-1) + k_eff + a - o exactly
            return max(0, s * (i - 1) + k_eff(params) + a - o) // 2 + 3
        return max(0, s * o + k_eff(params) - i) // 2 + 3  # 2p < s*o + k_eff - i
    if x == "d":
        return o + pads + 2 if transposed else i + pads + s + 2
    assert x == "a"
    return s + d + 2


@st.composite
def one_unknown(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(KINDS))
    pool = kind.endswith("pool")
    names = (
        ["i", "o", "k", "s", "p"] + (["d"] if kind != "avgpool" else []) + (["a"] if kind == "convT" else [])
    )
    x = draw(st.sampled_from(names))
    ceil = pool and draw(st.booleans())
    params: dict[str, Any] = {"k": draw(st.integers(1, 5)), "s": draw(st.integers(1, 4))}
    if x != "p" and draw(st.booleans()):
        params["p"] = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    else:
        params["p"] = draw(st.integers(0, 3))
    if kind != "avgpool":
        params["d"] = draw(st.integers(1, 3))
    if kind == "convT":
        params["a"] = draw(st.integers(0, max(params["s"], params["d"]) - 1))
    if pool:
        params["ceil"] = ceil
    i = draw(st.integers(1, 12))
    if x == "d" and draw(st.booleans()):
        params["k"] = 1  # the dilation does not matter: every d >= 1 (or none)
    if x == "s" and kind == "convT" and draw(st.booleans()):
        i = 1  # the stride does not matter
    truth = size(spec_text(kind, params), i)
    if x == "s" and kind != "convT" and draw(st.booleans()):
        o = 1  # every stride past i + P - k_eff gives one window
    elif truth is not None and draw(st.integers(0, 3)) > 0:
        o = truth  # a query with at least one solution
    else:
        o = draw(st.integers(1, 30))  # often none
    if x == "o":
        o = -1
    # i and o are names only when unknown; a known size is a number, not a name of the query.
    available = (set(params) - {"ceil"}) | ({x} & {"i", "o"})
    if isinstance(params["p"], tuple):
        available.discard("p")
    choices = [w for w in WHERE if w[1] <= available]
    where = draw(st.lists(st.sampled_from(choices), max_size=2, unique=True)) if choices else []
    limit = draw(st.sampled_from([1, 4, 10]))
    return {"kind": kind, "params": params, "x": x, "i": i, "o": o, "where": where, "limit": limit}


@settings(max_examples=120)
@given(one_unknown())
def test_one_unknown_equals_brute_force(problem: dict[str, Any]) -> None:
    kind, params, x = problem["kind"], problem["params"], problem["x"]
    i, o, limit = problem["i"], problem["o"], problem["limit"]
    where_text = [w[0] for w in problem["where"]]
    where_check = tuple(w[2] for w in problem["where"])
    query = {**params, x: "?"} if x in PARAMETERS else dict(params)
    query_i: int | str = "?" if x == "i" else i
    query_o: int | str = "?" if x == "o" else o

    bound = finite_bound(kind, params, x, i, o)
    # Only a stride or a dilation can have infinitely many solutions: a tail [t, oo) with t <= bound, where
    # a --where may keep every other member; elsewhere a few values past the bound show there are none.
    tail = 2 * limit + 3 if x in ("s", "d") else 3
    box = range(-2, bound + tail + 1)
    if x in PARAMETERS:
        others = {n: v for n, v in params.items() if n != x}
        expected = brute_force(kind, others, query_i, query_o, {x: box}, where_check)
    elif x == "i":
        expected = brute_force(kind, params, "?", o, {"i": box}, where_check)
    else:
        expected = brute_force(kind, params, i, "?", {}, where_check)
    maxima = None
    members = [s[x] for s in expected]
    infinite = maxima is None and any(m > bound for m in members)

    if built(spec_text(kind, query)) is None:
        # The known parameters alone break a rule (e.g. torch.maxpool with 2p > k): refused, no solution.
        with pytest.raises(SymconvError):
            solve_spec(
                spec_text(kind, query), i=query_i, o=query_o, where=where_text, maxima=maxima, limit=limit
            )
        assert members == []
        return

    answer = solve_spec(
        spec_text(kind, query), i=query_i, o=query_o, where=where_text, maxima=maxima, limit=limit
    )
    assert answer.unknowns == (x,)
    listed = [s[x] for s in answer.solutions]
    assert all(set(s) == {x} for s in answer.solutions)
    if infinite:
        assert answer.count is None and answer.complete is False
        assert listed == members[:limit]
    else:
        assert answer.count == len(members)
        assert answer.complete is (len(members) <= limit)
        assert listed == members[:limit]
        if not members:
            assert answer.solutions == () and answer.complete is True and answer.count == 0
    # The set description agrees with the brute force on the whole box, including the tail.
    pieces = [piece for item in answer.sets for piece in item[x]]
    assert [v for v in box if in_pieces(pieces, v)] == members


@pytest.mark.parametrize(
    ("spec", "i", "o", "infinite_from"),
    [
        ("conv(k=1, s=?)", 10, 1, 10),  # one window whatever the stride beyond i - k_eff
        ("conv(k=3, s=?, p=1)", 5, 1, 5),
        ("convT(k=3, s=?)", 1, 3, 1),  # i = 1: the stride never matters
        ("conv(k=1, d=?)", 7, 7, 1),  # k = 1: the dilation never matters
        ("maxpool(k=2, s=?)", 6, 1, 5),
    ],
)
def test_open_intervals(spec: str, i: int, o: int, infinite_from: int) -> None:
    answer = solve_spec(spec, i=i, o=o, limit=7)
    x = answer.unknowns[0]
    truth = []
    for v in range(-2, infinite_from + 60):
        text = spec.replace("?", str(v))
        if size(text, i) == o:
            truth.append(v)
    assert truth[0] == infinite_from and truth == list(range(infinite_from, infinite_from + 60))
    assert answer.count is None and answer.complete is False
    assert [s[x] for s in answer.solutions] == truth[:7]
    assert answer.sets == ({x: [{"from": infinite_from, "to": None}]},)


def test_padding_solution_of_a_pointwise_conv() -> None:
    # conv(k=1, s=1, p=?): o = i + 2p, one p for an even gap, none for an odd one.
    for o, expected in ((20, [{"p": 5}]), (21, []), (10, [{"p": 0}]), (9, [])):
        answer = solve_spec("conv(k=1, s=1, p=?)", i=10, o=o)
        truth = brute_force("conv", {"k": 1, "s": 1}, 10, o, {"p": range(-2, o + 3)})
        assert list(answer.solutions) == truth == expected
        assert answer.complete is True and answer.count == len(truth)


# --------------------------------------------------------------------------------------------------------------
# Several unknowns, bounded by maxima
# --------------------------------------------------------------------------------------------------------------


@st.composite
def several_unknowns(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(KINDS))
    names = ["k", "s", "p"] + (["d"] if kind != "avgpool" else []) + (["a"] if kind == "convT" else [])
    chosen = draw(st.lists(st.sampled_from(names), min_size=2, max_size=3, unique=True))
    params: dict[str, Any] = {
        "k": draw(st.integers(1, 4)),
        "s": draw(st.integers(1, 3)),
        "p": draw(st.integers(0, 2)),
    }
    if kind != "avgpool":
        params["d"] = draw(st.integers(1, 2))
    if kind == "convT":
        params["a"] = draw(st.integers(0, max(params["s"], params["d"]) - 1))
    if kind.endswith("pool"):
        params["ceil"] = draw(st.booleans())
    # Maxima at or above the drawn values (the drawn layer solves the query), sometimes below.
    maxima = {n: max(0, params[n] + draw(st.integers(-1, 2))) for n in chosen}
    i = draw(st.integers(1, 14))
    truth = size(spec_text(kind, params), i)
    mode = draw(st.sampled_from(["o", "i", "random"]))
    o: int | str = truth if truth is not None and mode != "random" else draw(st.integers(1, 20))
    if mode == "o":
        o = "?"  # i known, o unknown (determined by the rest)
    elif mode == "i":
        maxima["i"] = i + draw(st.integers(0, 4))
    objective = draw(st.sampled_from([None, *chosen]))
    return {"kind": kind, "params": params, "unknowns": chosen, "maxima": maxima, "i": i, "o": o,
            "mode": mode, "objective": objective, "minimize": draw(st.booleans())}  # fmt: skip


@settings(max_examples=50)
@given(several_unknowns())
def test_several_unknowns_equal_brute_force(problem: dict[str, Any]) -> None:
    kind, params, unknowns, maxima = (
        problem["kind"],
        problem["params"],
        problem["unknowns"],
        problem["maxima"],
    )
    query = {**params, **dict.fromkeys(unknowns, "?")}
    i: int | str = "?" if problem["mode"] == "i" else problem["i"]
    o = problem["o"]
    boxes = {n: range(-1, maxima[n] + 1) for n in ("i", *PARAMETERS) if n in maxima}
    others = {n: v for n, v in params.items() if n not in unknowns}
    expected = brute_force(kind, others, i, o, boxes)
    kwargs: dict[str, Any] = {"i": i, "o": o, "maxima": maxima, "limit": 10_000}
    objective = problem["objective"]
    if objective is not None:
        kwargs["minimize" if problem["minimize"] else "maximize"] = objective
    if built(spec_text(kind, query)) is None:
        # The known parameters alone break a rule (e.g. torch.maxpool with 2p > k): refused, no solution.
        assert expected == []
        with pytest.raises(SymconvError):
            solve_spec(spec_text(kind, query), **kwargs)
        return
    answer = solve_spec(spec_text(kind, query), **kwargs)
    names = answer.unknowns
    assert set(names) == set(unknowns) | ({"i"} if i == "?" else set()) | ({"o"} if o == "?" else set())
    assert canonical(answer.solutions, names) == canonical(expected, names)
    assert len(answer.solutions) == len(expected) == answer.count
    assert answer.complete is True
    if objective is not None:
        values = [s[objective] for s in expected]
        if not values:
            assert answer.objective is None
        else:
            best = min(values) if problem["minimize"] else max(values)
            assert answer.objective is not None and answer.objective["value"] == best
            assert answer.objective["solution"] in expected


# --------------------------------------------------------------------------------------------------------------
# Huge sizes: closed form, exact at both ends
# --------------------------------------------------------------------------------------------------------------

BIG = 10**12


@pytest.mark.parametrize(
    ("spec", "i", "o"),
    [
        ("conv(k=3, s=2, p=1)", "?", BIG),
        ("conv(k=5, s=3, p=2, d=2)", "?", BIG + 7),
        ("maxpool(k=3, s=2, p=1, ceil=true)", "?", BIG),
        ("avgpool(k=4, s=3, p=[(0, 2)], ceil=true)", "?", BIG + 1),
        ("convT(k=4, s=2, p=1)", "?", 2 * BIG),
        ("conv(k=3, s=?, p=1)", BIG, 10**6),
        ("conv(k=?, s=1)", BIG, BIG - 10),
        ("conv(k=3, s=4, p=?)", BIG, BIG // 4 + 5),
        ("conv(k=2, s=1, p=1, d=?)", BIG, BIG - 99),
        ("convT(k=3, s=5, p=?)", BIG, 5 * BIG - 20),
    ],
)
def test_huge_sizes_are_exact(spec: str, i: int | str, o: int) -> None:
    start = time.perf_counter()
    answer = solve_spec(spec, i=i, o=o)
    assert time.perf_counter() - start < 5
    (x,) = answer.unknowns
    values = [s[x] for s in answer.solutions]
    assert values and answer.complete is True and answer.count == len(values)
    lo, hi = values[0], values[-1]
    assert values == list(range(lo, hi + 1))

    def solves(v: int) -> bool:
        if x == "i":
            return size(spec, v) == o
        assert isinstance(i, int)
        return size(spec.replace("?", str(v)), i) == o

    assert all(solves(v) for v in values)
    assert not solves(lo - 1) and not solves(hi + 1)


# --------------------------------------------------------------------------------------------------------------
# Symbolic answers
# --------------------------------------------------------------------------------------------------------------


def test_symbolic_same_padding_formula() -> None:
    answer = solve_spec("conv(k=k, s=s, d=d, p=?)", i="i", o="ceil(i/s)")
    formula = answer.formula
    assert formula is not None and formula["unknown"] == "p"
    assert str(formula["verified"]).startswith("proved")
    assert answer.solutions == () and answer.count is None
    names = {n: sympy.Symbol(n, integer=True) for n in "iksd"}
    low = sympy.sympify(formula["min"], locals=names)
    high = sympy.sympify(formula["max"], locals=names)
    for k, s, d, i in itertools.product(range(1, 5), range(1, 4), range(1, 3), (1, 2, 3, 5, 8)):
        o = -(-i // s)
        # 2p < s*o + k_eff - i bounds p (the output grows with p).
        bound = max(0, s * o + d * (k - 1) + 1 - i) // 2 + 3
        truth = [p for p in range(-2, bound) if size(f"conv(k={k}, s={s}, p={p}, d={d})", i) == o]
        at = {names["i"]: i, names["k"]: k, names["s"]: s, names["d"]: d}
        lo, hi = int(low.subs(at)), int(high.subs(at))
        assert truth == list(range(lo, hi + 1)), (k, s, d, i)


def test_symbolic_cli(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["solve", "conv(k=k, s=s, d=d, p=?)", "--in", "i", "--out", "ceil(i/s)", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["formula"]["verified"].startswith("proved")
    assert data["unknowns"] == ["p"] and data["complete"] is False


# --------------------------------------------------------------------------------------------------------------
# Bad input through the command line: exit 2, a message, no traceback
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["conv(k=?, s=2, p=1)", "--in", "224", "--out", "112", "--max", "q=3"], "q"),
        (["conv(k=?, s=2, p=1)", "--in", "224", "--out", "112", "--max", "s=3"], "not an unknown"),
        (["conv(k=?, s=2, p=1)", "--in", "224", "--out", "112", "--max", "k7"], "NAME=INTEGER"),
        (["conv(k=?, s=2, p=1)", "--in", "224", "--out", "112", "--max", "k=seven"], "NAME=INTEGER"),
        (["conv(k=?, s=2, p=1)", "--in", "224", "--out", "112", "--max", "k=1.5"], "NAME=INTEGER"),
        (["conv(k=?, s=2, p=1)", "--in", "224", "--out", "112", "--min", "=3"], "NAME=INTEGER"),
        (["conv(k=?, s=2, p=1)", "--in", "224", "--out", "112", "--limit", "0"], "--limit"),
        (["conv(k=?, s=2, p=1)", "--in", "224", "--out", "112", "--limit", "-4"], "--limit"),
        (["conv(k=?, s=2, p=1)", "--in", "224", "--out", "112", "--limit", "x"], "--limit"),
        (["conv(k=?, s=2, p=1)", "--in", "224", "--out", "112", "--where", "z > 1"], "z"),
        (["conv(k=?, s=2, p=1)", "--in", "224", "--out", "112", "--where", "k +"], "malformed"),
        (["conv(k=?, s=2, p=1)", "--in", "224", "--out", "112", "--where", "k + 1"], "condition"),
        (["conv(k=3, s=2, p=1)", "--in", "224", "--out", "112"], "nothing to solve"),
        (["conv(k=?, s=2, p=1", "--in", "224", "--out", "112"], "malformed"),
        (["conv(k=?, s=2, q=1)", "--in", "224", "--out", "112"], "q"),
        (["conv(k=?, s=2, p=1)", "--in", "abc$", "--out", "112"], "--in"),
        (["conv(k=?, s=?, p=?)", "--in", "224", "--out", "112"], "bound"),
        (["conv(k=?, s=2, p=1)", "--in", "224", "--out", "112", "--minimize", "s"], "not an unknown"),
    ],
)
def test_bad_input_exits_2(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    for json_flag in ([], ["--json"]):
        code = main(["solve", *argv, *json_flag])
        captured = capsys.readouterr()
        assert code == 2
        assert "Traceback" not in captured.err and "Traceback" not in captured.out
        assert needle in captured.err
        if json_flag:
            assert needle in json.loads(captured.out)["error"] or needle.startswith("--")


# --------------------------------------------------------------------------------------------------------------
# Ceil-mode pools with every parameter and the input size known, or an unknown stride
# --------------------------------------------------------------------------------------------------------------


def test_ceil_mode_pool_with_a_numeric_output_expression() -> None:
    # The ceil-mode output expression at a known input size, all parameters known: Piecewise((.., 4 >= 6), ..)
    # must hold an evaluated comparison of numbers (SymPy rejects an unevaluated one).
    spec = "maxpool(k=3, s=2, p=1, ceil=true)"
    answer = solve_spec(spec, i=5, o="?")
    assert [s["o"] for s in answer.solutions] == [size(spec, 5)] == [3]


def test_ceil_mode_pool_with_a_dilation_that_does_not_matter() -> None:
    # With k = 1 the unknown d leaves the output expression, which is numeric again.
    truth = [d for d in range(-2, 20) if size(f"maxpool(k=1, s=1, p=1, d={d}, ceil=true)", 1) == 2]
    assert truth == list(range(1, 20))
    answer = solve_spec("maxpool(k=1, s=1, p=1, d=?, ceil=true)", i=1, o=2, limit=5)
    assert [s["d"] for s in answer.solutions] == truth[:5] and answer.count is None


def test_cli_ceil_mode_pool_nothing_to_solve(capsys: pytest.CaptureFixture[str]) -> None:
    # Through the CLI: exit 2 ("nothing to solve"), no traceback.
    code = main(["solve", "maxpool(k=3, s=2, p=1, ceil=true)", "--in", "5", "--out", "3", "--json"])
    captured = capsys.readouterr()
    assert code == 2 and "nothing to solve" in json.loads(captured.out)["error"]


def test_ceil_mode_pool_with_an_unknown_stride() -> None:
    # The last-window rule (o-1)s >= i + pb puts s*floor(N/s) in the condition: beyond |N| the floor is
    # constant, so the solver needs no --max s for a finite answer.
    truth = [s for s in range(-2, 20) if size(f"maxpool(k=2, s={s}, ceil=true)", 6) == 2]
    assert truth == [3, 4, 5]
    capped = solve_spec("maxpool(k=2, s=?, ceil=true)", i=6, o=2, maxima={"s": 19})
    assert [s["s"] for s in capped.solutions] == truth
    answer = solve_spec("maxpool(k=2, s=?, ceil=true)", i=6, o=2)
    assert [s["s"] for s in answer.solutions] == truth and answer.complete is True


def test_an_output_solved_from_a_symbolic_input_is_one_value_proved() -> None:
    # o = formula written as formula == o has coefficient -1 on the unknown: both bounds must come out.
    answer = solve_spec("conv(k=3, s=2)", i="i", o="?")
    assert answer.formula is not None
    assert answer.formula["min"] == answer.formula["max"] == "floor(i/2 - 3/2) + 1"
    assert answer.formula["verified"] == "proved (unbounded)"
