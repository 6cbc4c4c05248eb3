"""Property-based tests: layer sizes against brute force on real arrays, and Z3 against Python integers.

Part 1 never re-types a size formula: the ground truth counts window positions on an actual (padded,
stretched, scattered) array. Part 2 computes every expected value with Python's own operators (``//``, ``%``,
``math.floor`` of a ``Fraction``) and asks Z3 for the value of the translated term.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pytest
import sympy
import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv import ShapeError, SpecError, SymconvError, layer, symbol
from symconv.core.arith import evaluate
from symconv.core.layers import Layer
from symconv.core.parse import parse_condition, parse_expression
from symconv.logic.z3bridge import Translation

INPUTS = range(-1, 34)  # every layer is checked on each of these input sizes, both sides of its domain


# --------------------------------------------------------------------------------------------------------------
# Ground truth by brute force
# --------------------------------------------------------------------------------------------------------------


def padded_array(i: int, pb: int, pe: int) -> list[int]:
    """The input 1..i with pb zeros before and pe zeros after."""
    return [0] * pb + list(range(1, i + 1)) + [0] * pe


def fits(x: int, k: int, d: int, length: int) -> bool:
    """Do the dilated taps x, x+d, ..., x+d(k-1) all lie inside an array of `length` elements?"""
    return all(0 <= x + r * d < length for r in range(k))


def conv_windows(i: int, k: int, s: int, pb: int, pe: int, d: int) -> int | None:
    """Number of start positions x = 0, s, 2s, ... whose dilated kernel fits the padded array (None: undefined)."""
    if i < 1:
        return None
    padded = padded_array(i, pb, pe)
    count = 0
    for x in range(0, len(padded), s):
        if fits(x, k, d, len(padded)):
            _ = sum(padded[x + r * d] for r in range(k))  # the window is really read
            count += 1
    return count if count >= 1 else None


def pool_windows(i: int, k: int, s: int, pb: int, pe: int, d: int, ceil: bool) -> int | None:
    """Pooling windows on the padded array; in ceil mode PyTorch's (and ONNX's) rule.

    Ceil mode also counts the first window that does not fit when an element of the padded array remains after
    the window before it (at x - s, also for x = 0); then the last window counted is dropped if it starts in
    the right padding (x >= i + pb), as PyTorch and ONNX do, even when it fits there.
    """
    if i < 1:
        return None
    length = i + pb + pe
    k_eff = d * (k - 1) + 1
    starts = []
    # the range reaches a start x >= length, so the first window that does not fit is always visited
    for x in range(0, length + s, s):
        if fits(x, k, d, length):
            starts.append(x)
            continue
        # ceil((L - k_eff)/s) + 1 windows: one more while an element remains after the window before it
        if ceil and x - s + k_eff < length:
            starts.append(x)
        break
    if ceil and starts and starts[-1] >= i + pb:
        starts.pop()
    count = len(starts)
    return count if count >= 1 else None


def convT_direct(
    i: int, k: int, s: int, pb: int, pe: int, d: int, a: int, x: list[int], w: list[int]
) -> list[int]:
    """The paper's equivalent direct convolution: stretch, pad (negative: crop), stride-1 dilated windows.

    Returns the output values (list); its length is the output size.
    """
    k_eff = d * (k - 1) + 1
    stretched = [0] * (s * (i - 1) + 1)
    for j, value in enumerate(x):
        stretched[j * s] = value
    begin = k_eff - pb - 1
    end = k_eff - pe - 1 + a
    # the padded/cropped array is the stretched one seen through the index range [-begin, len + end)
    array = [stretched[t] if 0 <= t < len(stretched) else 0 for t in range(-begin, len(stretched) + end)]
    flipped = w[::-1]
    return [
        sum(array[t + r * d] * flipped[r] for r in range(k))
        for t in range(len(array))
        if fits(t, k, d, len(array))
    ]


def convT_scatter(
    i: int, k: int, s: int, pb: int, pe: int, d: int, a: int, x: list[int], w: list[int]
) -> list[int]:
    """Scatter: input j and tap r add to position j*s + r*d; crop pb at the start, pe at the end, add a."""
    full: dict[int, int] = {}
    for j in range(i):
        for r in range(k):
            full[j * s + r * d] = full.get(j * s + r * d, 0) + x[j] * w[r]
    full_length = max(full) + 1
    return [full.get(t, 0) for t in range(pb, full_length - pe + a)]


def convT_size(i: int, k: int, s: int, pb: int, pe: int, d: int, a: int) -> int | None:
    """Output size of the transposed convolution by both constructions (which must agree), None: undefined."""
    if i < 1:
        return None
    x = [3 * j + 1 for j in range(i)]
    w = [2 * r + 5 for r in range(k)]
    direct = convT_direct(i, k, s, pb, pe, d, a, x, w)
    scatter = convT_scatter(i, k, s, pb, pe, d, a, x, w)
    assert direct == scatter, "the two ground truths disagree (test bug)"
    return len(direct) if direct else None


@dataclass(frozen=True)
class Case:
    """One layer: its spec text and the parameters the brute force needs (defaults resolved)."""

    kind: str
    spec: str
    k: int
    s: int
    pb: int
    pe: int
    d: int = 1
    a: int = 0
    ceil: bool = False

    def truth(self, i: int) -> int | None:
        if self.kind == "conv":
            return conv_windows(i, self.k, self.s, self.pb, self.pe, self.d)
        if self.kind == "convT":
            return convT_size(i, self.k, self.s, self.pb, self.pe, self.d, self.a)
        return pool_windows(i, self.k, self.s, self.pb, self.pe, self.d, self.ceil)


def make_spec(prefix: str, kind: str, args: list[tuple[str, str]]) -> str:
    return f"{prefix}{kind}({', '.join(f'{name}={value}' for name, value in args)})"


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A valid layer with random parameters; optional parameters are sometimes left to their defaults."""
    kind = draw(st.sampled_from(["conv", "convT", "maxpool", "avgpool"]))
    prefix = draw(st.sampled_from(["", "torch."]))
    torch_pool = prefix == "torch." and kind.endswith("pool")
    k = draw(st.integers(1, 7))
    args = [("k", str(k))]
    s = k if kind.endswith("pool") else 1
    if draw(st.booleans()) or kind == "convT":
        s = draw(st.integers(1, 5))
        args.append(("s", str(s)))
    d = 1
    if kind != "avgpool" and draw(st.integers(0, 2)):
        d = draw(st.integers(1, 4))
        args.append(("d", str(d)))
    high = k // 2 if torch_pool else 6
    pb = pe = 0
    # PyTorch pads both ends alike (torch. refuses a pair); the paper's convention takes (begin, end)
    form = draw(st.sampled_from(["none", "int"] if prefix else ["none", "int", "pair"]))
    if form == "int":
        pb = pe = draw(st.integers(0, high))
        args.append(("p", str(pb)))
    elif form == "pair":
        pb, pe = draw(st.integers(0, high)), draw(st.integers(0, high))
        args.append(("p", f"[({pb}, {pe})]"))
    a = 0
    if kind == "convT" and draw(st.booleans()):
        a = draw(st.integers(0, max(s, d) - 1))
        args.append(("a", str(a)))
    ceil = False
    if kind.endswith("pool"):
        flag = draw(st.sampled_from(["true", "false", None]))
        ceil = flag == "true"
        if flag is not None:
            args.append(("ceil", flag))
    order = draw(st.permutations(args))
    return Case(kind, make_spec(prefix, kind, order), k, s, pb, pe, d, a, ceil)


# --------------------------------------------------------------------------------------------------------------
# The brute force itself, on the published cases
# --------------------------------------------------------------------------------------------------------------

KNOWN = [
    # (kind, i, k, s, pb, pe, d, ceil, expected): PyTorch reports and hand-counted cases
    ("pool", 32, 1, 2, 0, 0, 1, True, 16),  # pytorch #57178
    ("pool", 9, 4, 4, 2, 2, 1, True, 3),  # pytorch #116420
    ("pool", 5, 2, 2, 0, 0, 1, True, 3),  # the partial window [4] counts
    ("pool", 5, 2, 2, 0, 0, 1, False, 2),
    ("pool", 2, 3, 2, 0, 0, 1, True, 1),  # padded input smaller than the kernel, ceil still gives one window
    ("pool", 2, 3, 2, 0, 0, 1, False, None),
    ("conv", 224, 3, 2, 1, 1, 1, False, 112),
    ("conv", 5, 3, 1, 0, 0, 2, False, 1),
    ("conv", 4, 3, 1, 0, 0, 2, False, None),
]


@pytest.mark.parametrize(("kind", "i", "k", "s", "pb", "pe", "d", "ceil", "expected"), KNOWN)
def test_brute_force_on_known_cases(
    kind: str, i: int, k: int, s: int, pb: int, pe: int, d: int, ceil: bool, expected: int | None
) -> None:
    if kind == "conv":
        assert conv_windows(i, k, s, pb, pe, d) == expected
    else:
        assert pool_windows(i, k, s, pb, pe, d, ceil) == expected


def test_brute_force_transposed_convolution_known_cases() -> None:
    # convT(k=3, s=2, p=1, a=1) doubles: 2i. convT(k=3, s=1, p=0) grows by 2. convT(k=1, s=1, p=1) on 2 is 0.
    assert [convT_size(i, 3, 2, 1, 1, 1, 1) for i in (1, 2, 7)] == [2, 4, 14]
    assert [convT_size(i, 3, 1, 0, 0, 1, 0) for i in (1, 5)] == [3, 7]
    assert convT_size(2, 1, 1, 1, 1, 1, 0) is None
    assert convT_size(1, 1, 3, 5, 0, 1, 2) is None  # cropping more than the stretched input holds


# --------------------------------------------------------------------------------------------------------------
# Part 1: output sizes against the brute force
# --------------------------------------------------------------------------------------------------------------


def test_ceil_mode_drops_a_last_window_in_the_end_padding_as_onnx_does() -> None:
    # Padded array [1, 0]: floor mode counts the windows at 0 and 1; ceil mode drops the one at 1, which starts
    # in the right padding, even though it fits (ONNX shape inference gives 1 for MaxPool k=1, pads=[0, 1],
    # ceil_mode=1 and 2 without ceil_mode; PyTorch cannot pad one end only). The last-window rule is applied
    # in ceil mode only, as both frameworks do.
    assert pool_windows(1, 1, 1, 0, 1, 1, ceil=True) == 1
    assert layer("maxpool(k=1, p=[(0, 1)])").output_size(1) == 2
    assert layer("maxpool(k=1, p=[(0, 1)], ceil=true)").output_size(1) == 1


def check_size(made: Layer, case: Case, i: int) -> None:
    expected = case.truth(i)
    if expected is None:
        with pytest.raises(ShapeError):
            made.output_size(i)
        assert not made.is_defined(i)
    else:
        got = made.output_size(i)
        assert type(got) is int
        assert got == expected, f"{case.spec} on i={i}: {got} != brute force {expected}"


@settings(max_examples=200)
@given(case=cases(), big=st.integers(34, 400))
def test_output_size_matches_brute_force(case: Case, big: int) -> None:
    made = layer(case.spec)
    for i in [*INPUTS, big]:
        check_size(made, case, i)


@settings(max_examples=80)
@given(case=cases(), axes=st.lists(st.integers(-1, 30), min_size=1, max_size=3))
def test_n_dimensional_output_size_is_per_axis(case: Case, axes: list[int]) -> None:
    spec = case.spec
    pair = f"p=[({case.pb}, {case.pe})]"
    if pair in spec:
        # A (begin, end) pair is written per axis: the same pair on each of them.
        spec = spec.replace(pair, f"p=[{', '.join([pair[3:-1]] * len(axes))}]")
    made = layer(spec)
    truths = [case.truth(i) for i in axes]
    if any(t is None for t in truths):
        with pytest.raises(ShapeError):
            made.output_size(tuple(axes))
    else:
        got = made.output_size(tuple(axes))
        assert type(got) is tuple
        assert got == tuple(truths)
        assert got == tuple(layer(case.spec).output_size(i) for i in axes)


@settings(max_examples=80)
@given(case=cases())
def test_symbolic_output_size_evaluates_to_the_concrete_one(case: Case) -> None:
    made = layer(case.spec)
    expr = made.output_size(symbol("i"))
    assert isinstance(expr, sympy.Expr)
    assert expr.free_symbols <= {symbol("i")}
    for i in range(1, 40):
        expected = case.truth(i)
        if expected is not None:
            assert evaluate(expr, {"i": i}) == made.output_size(i) == expected


SYMBOLIC_SPECS = {
    "conv": "conv(k=k, s=s, p=[(pb, pe)], d=d)",
    "convT": "convT(k=k, s=s, p=[(pb, pe)], d=d, a=a)",
    "maxpool": "maxpool(k=k, s=s, p=[(pb, pe)], d=d, ceil=true)",
    "maxpool_floor": "maxpool(k=k, s=s, p=[(pb, pe)], d=d)",
    "torch_maxpool": "torch.maxpool(k=k, s=s, p=p, d=d, ceil=true)",
}
SYMBOLIC_LAYERS = {name: layer(spec) for name, spec in SYMBOLIC_SPECS.items()}
SYMBOLIC_EXPRS = {name: made.output_size(symbol("i")) for name, made in SYMBOLIC_LAYERS.items()}


@settings(max_examples=150)
@given(
    name=st.sampled_from(sorted(SYMBOLIC_SPECS)),
    i=st.integers(-1, 40),
    k=st.integers(1, 7),
    s=st.integers(1, 5),
    d=st.integers(1, 4),
    pads=st.tuples(st.integers(0, 6), st.integers(0, 6)),
    a=st.integers(0, 4),
)
def test_symbolic_parameters_match_brute_force(
    name: str, i: int, k: int, s: int, d: int, pads: tuple[int, int], a: int
) -> None:
    pb, pe = pads
    if name == "torch_maxpool":
        pb = pe = min(pb, k // 2)
    kind = name if name in ("conv", "convT") else "maxpool"
    values = {"k": k, "s": s, "d": d, **({"p": pb} if name == "torch_maxpool" else {"pb": pb, "pe": pe})}
    if name == "convT":
        a = a % max(s, d)
        values["a"] = a
    case = Case(kind, SYMBOLIC_SPECS[name], k, s, pb, pe, d, a, ceil="ceil=true" in SYMBOLIC_SPECS[name])
    made = SYMBOLIC_LAYERS[name]
    expected = case.truth(i)
    if expected is None:
        with pytest.raises(ShapeError):
            made.output_size(i, **values)
    else:
        assert made.output_size(i, **values) == expected
        assert evaluate(SYMBOLIC_EXPRS[name], {**values, "i": i}) == expected


def construction_error(
    kind: str, torch: bool, k: int, s: int, pb: int, pe: int, d: int, a: int
) -> type[SymconvError] | None:
    """The error building the layer must raise: SpecError for a basic rule, ShapeError for a convention's."""
    if k < 1 or s < 1 or d < 1 or pb < 0 or pe < 0 or (kind == "convT" and a < 0):
        return SpecError
    if kind == "convT" and not (a < s or a < d):
        return ShapeError
    if torch and kind.endswith("pool") and (2 * pb > k or 2 * pe > k):
        return ShapeError
    return None


@settings(max_examples=200)
@given(
    kind=st.sampled_from(["conv", "convT", "maxpool", "avgpool"]),
    torch=st.booleans(),
    k=st.integers(-1, 6),
    s=st.integers(-1, 5),
    d=st.integers(-1, 4),
    pads=st.tuples(st.integers(-2, 4), st.integers(-2, 4)),
    pair=st.booleans(),
    a=st.integers(-1, 5),
)
def test_construction_refuses_exactly_the_bad_parameters(
    kind: str, torch: bool, k: int, s: int, d: int, pads: tuple[int, int], pair: bool, a: int
) -> None:
    pair = pair and not torch  # torch. takes one padding for both ends
    pb, pe = pads if pair else (pads[0], pads[0])
    if kind == "avgpool":
        d = 1
    if kind != "convT":
        a = 0
    args = [("k", str(k)), ("s", str(s)), ("p", f"[({pb}, {pe})]" if pair else str(pb))]
    if kind != "avgpool":
        args.append(("d", str(d)))
    if kind == "convT":
        args.append(("a", str(a)))
    spec = make_spec("torch." if torch else "", kind, args)
    error = construction_error(kind, torch, k, s, pb, pe, d, a)
    if error is not None:
        with pytest.raises(error):
            layer(spec)
        return
    made = layer(spec)
    case = Case(kind, spec, k, s, pb, pe, d, a, ceil=False)
    for i in (1, 2, 3, 5, 8, 13):
        check_size(made, case, i)


# --------------------------------------------------------------------------------------------------------------
# Part 2: the Z3 translation against Python integers
# --------------------------------------------------------------------------------------------------------------


def fceil(num: int, den: int) -> int:
    return math.ceil(Fraction(num, den))


def ffloor(num: int | Fraction, den: int = 1) -> int:
    return math.floor(Fraction(num) / den)


# (text, python value, the variables that are divisors and must be nonzero)
EXPRESSIONS = [
    (
        "floor((a - 7*b)/c) + mod(a, c) - ceil(b/3) + min(a, b) * max(c, 2)",
        lambda a, b, c: (a - 7 * b) // c + a % c - fceil(b, 3) + min(a, b) * max(c, 2),
    ),
    ("floor(a/4) + 10*ceil(a/4)", lambda a, b, c: ffloor(a, 4) + 10 * fceil(a, 4)),
    ("mod(a, 5) - mod(b - 3*a, 7) + a % 3", lambda a, b, c: a % 5 - (b - 3 * a) % 7 + a % 3),
    ("a // 3 - b // 6", lambda a, b, c: a // 3 - b // 6),
    ("floor((2*a + 1)/6) - ceil((a - b)/4)", lambda a, b, c: ffloor(2 * a + 1, 6) - fceil(a - b, 4)),
    ("mod(a, -3) + a // -4", lambda a, b, c: a % -3 + a // -4),
    ("floor(a/c)", lambda a, b, c: ffloor(a, c)),
    ("ceil(a/c)", lambda a, b, c: fceil(a, c)),
    ("mod(a, c)", lambda a, b, c: a % c),
    ("a // c - 3 * (b % c)", lambda a, b, c: a // c - 3 * (b % c)),
    ("floor(a/c + b/3)", lambda a, b, c: ffloor(Fraction(a, c) + Fraction(b, 3))),
    (
        "floor(a/2 + b/3) - ceil((a - b)/(2*c))",
        lambda a, b, c: ffloor(Fraction(a, 2) + Fraction(b, 3)) - fceil(a - b, 2 * c),
    ),
    ("floor((a + floor(b/c))/3) + mod(floor(a/c), 4)", lambda a, b, c: (a + b // c) // 3 + (a // c) % 4),
    (
        "a**2 - floor(a**3/c) + ceil(b**2/(c*c + 1))",
        lambda a, b, c: a**2 - ffloor(a**3, c) + fceil(b**2, c * c + 1),
    ),
    ("floor((a*b - c)/(b*b + 1))", lambda a, b, c: ffloor(a * b - c, b * b + 1)),
    ("abs(a - b) + 2*abs(c)", lambda a, b, c: abs(a - b) + 2 * abs(c)),
    ("max(a, b, c) - 3*min(a, -b, c + 1)", lambda a, b, c: max(a, b, c) - 3 * min(a, -b, c + 1)),
    ("max(floor(a/c), abs(b)) - min(mod(b, c), -a)", lambda a, b, c: max(a // c, abs(b)) - min(b % c, -a)),
]

CONDITIONS = [
    (
        "a < b and not (mod(a, c) == 0) or floor(a/c) >= b",
        lambda a, b, c: (a < b and not a % c == 0) or a // c >= b,
    ),
    ("not (a <= b) and (c > 0 or a == b)", lambda a, b, c: not a <= b and (c > 0 or a == b)),
    ("not (a < b and c > 0) or a == b", lambda a, b, c: not (a < b and c > 0) or a == b),
    ("not (ceil(a/c) > b or abs(a) <= abs(c))", lambda a, b, c: not (fceil(a, c) > b or abs(a) <= abs(c))),
    (
        "a < b < c or max(a, c) != min(b, 4) + a % 3",
        lambda a, b, c: a < b < c or max(a, c) != min(b, 4) + a % 3,
    ),
]

PARSED_EXPRESSIONS = [(text, parse_expression(text), fn) for text, fn in EXPRESSIONS]
PARSED_CONDITIONS = [(text, parse_condition(text), fn) for text, fn in CONDITIONS]

# c is a divisor: nonzero, both signs. Small values mostly, some large ones for exactness.
small = st.integers(-40, 40)
value = st.one_of(small, st.integers(-(10**12), 10**12))
divisor = st.one_of(st.integers(-9, 9), st.integers(-(10**6), 10**6)).filter(lambda v: v != 0)


def solve(translation: Translation, term: Any, env: dict[str, int]) -> bool | int:
    """The value Z3 gives `term` once the variables are fixed, checked to be the only possible value."""
    solver = z3.Solver()
    solver.add(*translation.axioms)
    for name, var in translation.variables.items():
        solver.add(var == env[name])
    assert solver.check() == z3.sat, "the quotient axioms contradict the values"
    model = solver.model()
    result = model.eval(term, model_completion=True)
    for obligation in translation.obligations:
        assert z3.is_true(model.eval(obligation, model_completion=True))
    solver.add(term != result)
    assert solver.check() == z3.unsat, "the axioms do not determine the term"
    return z3.is_true(result) if z3.is_bool(result) else result.as_long()


def test_the_condition_table_covers_and_or_not() -> None:
    nodes = {type(node) for _, cond, _ in PARSED_CONDITIONS for node in sympy.preorder_traversal(cond)}
    assert {sympy.And, sympy.Or, sympy.Not} <= nodes
    kinds = {type(node) for _, expr, _ in PARSED_EXPRESSIONS for node in sympy.preorder_traversal(expr)}
    assert {sympy.floor, sympy.ceiling, sympy.Mod, sympy.Min, sympy.Max, sympy.Abs} <= kinds


@pytest.mark.parametrize(("text", "expr", "fn"), PARSED_EXPRESSIONS, ids=[t for t, _ in EXPRESSIONS])
@settings(max_examples=25)
@given(a=value, b=value, c=divisor)
def test_z3_term_agrees_with_python(
    text: str, expr: sympy.Expr, fn: Callable[..., int], a: int, b: int, c: int
) -> None:
    env = {"a": a, "b": b, "c": c}
    expected = fn(a, b, c)
    assert evaluate(expr, env) == expected
    translation = Translation()
    term = translation.term(expr)
    assert solve(translation, term, env) == expected


@pytest.mark.parametrize(("text", "cond", "fn"), PARSED_CONDITIONS, ids=[t for t, _ in CONDITIONS])
@settings(max_examples=25)
@given(a=small, b=small, c=st.integers(-9, 9).filter(lambda v: v != 0))
def test_z3_condition_agrees_with_python(
    text: str, cond: sympy.Basic, fn: Callable[..., bool], a: int, b: int, c: int
) -> None:
    env = {"a": a, "b": b, "c": c}
    expected = fn(a, b, c)
    assert evaluate(cond, env) == expected
    translation = Translation()
    assert solve(translation, translation.boolean(cond), env) is expected


def test_symbolic_divisor_carries_a_nonzero_obligation() -> None:
    # at c = 0 floor(a/c) means nothing: the obligation must be false there (the quotient axioms are vacuous)
    translation = Translation()
    translation.term(parse_expression("floor(a/c) + mod(b, c)"))
    assert translation.obligations
    solver = z3.Solver()
    solver.add(*translation.axioms)
    solver.add(*(translation.variables[n] == v for n, v in {"a": 7, "b": 3, "c": 0}.items()))
    assert solver.check() == z3.sat
    solver.add(*translation.obligations)
    assert solver.check() == z3.unsat


CEIL_POOL = layer("maxpool(k=k, s=s, p=p, d=d, ceil=true)")
CEIL_POOL_EXPR = CEIL_POOL.output_size(symbol("i"))


def python_ceil_pool(i: int, k: int, s: int, p: int, d: int) -> int:
    """PyTorch's pooling_output_shape with ceil_mode, in Python integers (any signs, s != 0)."""
    k_eff = d * (k - 1) + 1
    o = (i + 2 * p - k_eff + s - 1) // s + 1
    return o - 1 if (o - 1) * s >= i + p else o


def test_ceil_pool_expression_is_a_piecewise() -> None:
    assert CEIL_POOL_EXPR.has(sympy.Piecewise)


@settings(max_examples=80)
@given(
    i=st.integers(-5, 60),
    k=st.integers(-3, 8),
    s=st.integers(-6, 6).filter(lambda v: v != 0),
    p=st.integers(-3, 6),
    d=st.integers(-2, 4),
)
def test_z3_piecewise_ceil_pool_agrees_with_python(i: int, k: int, s: int, p: int, d: int) -> None:
    env = {"i": i, "k": k, "s": s, "p": p, "d": d}
    expected = python_ceil_pool(i, k, s, p, d)
    assert evaluate(CEIL_POOL_EXPR, env) == expected
    translation = Translation()
    term = translation.term(CEIL_POOL_EXPR)
    assert solve(translation, term, env) == expected
    # the layer's domain, translated too, holds exactly where the brute force finds a window
    domain = z3.And(*translation.conditions(c for c, _ in CEIL_POOL.conditions(symbol("i"))))
    defined = solve(translation, domain, env)
    valid = k >= 1 and s >= 1 and d >= 1 and p >= 0
    truth = pool_windows(i, k, s, p, p, d, ceil=True) if valid else None
    assert defined is (truth is not None)
    if truth is not None:
        assert expected == truth


CONVT = layer("convT(k=k, s=s, p=[(pb, pe)], d=d, a=a)")


@settings(max_examples=80)
@given(
    i=st.integers(-2, 20),
    k=st.integers(-1, 5),
    s=st.integers(-1, 4),
    pads=st.tuples(st.integers(-1, 5), st.integers(-1, 5)),
    d=st.integers(-1, 3),
    a=st.integers(-1, 4),
)
def test_z3_convT_domain_with_or_agrees_with_brute_force(
    i: int, k: int, s: int, pads: tuple[int, int], d: int, a: int
) -> None:
    pb, pe = pads
    env = {"i": i, "k": k, "s": s, "pb": pb, "pe": pe, "d": d, "a": a}
    conditions = [c for c, _ in CONVT.conditions(symbol("i"))]
    assert any(isinstance(c, sympy.Or) for c in conditions)
    translation = Translation()
    defined = solve(translation, z3.And(*translation.conditions(conditions)), env)
    valid = k >= 1 and s >= 1 and d >= 1 and pb >= 0 and pe >= 0 and a >= 0 and (a < s or a < d)
    truth = convT_size(i, k, s, pb, pe, d, a) if valid else None
    assert defined is (truth is not None)
    assert all(evaluate(c, env) for c in conditions) is (truth is not None)
    if truth is not None:
        assert solve(translation, translation.term(CONVT.output_size(symbol("i"))), env) == truth
