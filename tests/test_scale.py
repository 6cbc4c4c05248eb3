"""Networks at scale, exactly: deep U-Nets, long residual chains, merges of unequal formulas, and what fails.

The ground truth is PyTorch itself (the model run on the CPU at every small size, on the meta device at sizes
near 2**32) and brute force on plain integers for the per-class solver (symconv.logic.periodic).
"""

from __future__ import annotations

import copy
import importlib
import random
from typing import Any

import pytest
import sympy

from symconv.core.arith import ceil_div, eq, evaluate, floor_div, ge, symbol
from symconv.core.errors import AnalysisError, SymconvError
from symconv.core.intset import IntSet
from symconv.core.layers import layer
from symconv.logic.periodic import congruence, period, refine
from symconv.logic.prove import Proved
from symconv.nets.network import Network, Node

# The module (symconv.network is the API function of that name).
network_module = importlib.import_module("symconv.nets.network")

torch = pytest.importorskip("torch")

from torch import Tensor, nn  # noqa: E402

from symconv.nets.importers.torch import from_torch  # noqa: E402
from tests.test_network_suite import UNet, check_against_pytorch  # noqa: E402

i = symbol("i")


# ---- deep U-Nets ------------------------------------------------------------------------------------------------


def meta_outcome(model: nn.Module, size: int) -> int | None:
    """The model's output length at `size` on the meta device (shapes only), None where PyTorch refuses it."""
    try:
        with torch.no_grad():
            return int(model(torch.empty(1, 1, size, device="meta")).shape[-1])
    except RuntimeError:
        return None


@pytest.mark.parametrize("pool", [False, True], ids=["conv", "pool"])
def test_unet_of_depth_32_is_one_class_modulo_2_to_the_32(pool: bool) -> None:
    model = UNet(32, pool=pool).eval()
    net = from_torch(model, (1, 1, "L"))
    valid = net.valid_inputs()["L"]
    assert valid.describe() == {"period": 2**32, "residues": [0], "from": 1, "below": []}
    assert valid.proof == Proved(scope="unbounded")
    meta = copy.deepcopy(model).to("meta")
    formula = net.output_size()["L"]
    # PyTorch's max_pool1d computes its output size in 32 bits ("Invalid computed output size: 0" at 2**33)
    multiples = (1,) if pool else (1, 2, 3)
    sizes = [1, 2, 2**31, *(k * 2**32 + d for k in multiples for d in (-2, -1, 0, 1))]
    for size in sizes:
        expected = meta_outcome(meta, size)
        assert (size in valid) == (expected is not None), size
        if expected is not None:
            assert evaluate(formula, {"L": size}) == expected


def unet_nodes(depth: int, down: str, up: str, skip_from: int = 0) -> Network:
    """A 1-D U-Net as nodes (no PyTorch): `down` layers, `up` layers, concatenations from level skip_from."""
    nodes, skips, previous = [Node("input", "input")], [], "input"
    for level in range(depth):
        skips.append(previous)
        nodes.append(Node(f"down{level}", "layer", (previous,), layer(down)))
        previous = f"down{level}"
    for level in reversed(range(depth)):
        nodes.append(Node(f"up{level}", "layer", (previous,), layer(up)))
        previous = f"up{level}"
        if level >= skip_from:
            nodes.append(Node(f"cat{level}", "cat", (previous, skips[level])))
            previous = f"cat{level}"
    return Network(tuple(nodes))


def brute_force(net: Network, sizes: Any) -> dict[int, int]:
    """size -> output size wherever every condition of the network holds, evaluated on integers."""
    out = {}
    for size in sizes:
        try:
            out[size] = net.check({"i": size})["i"]
        except SymconvError:
            continue
    return out


@pytest.mark.parametrize(
    ("depth", "down", "up", "skip_from", "expected"),
    [
        (24, "conv(k=3, s=2, p=1)", "convT(k=3, s=2, p=1, a=1)", 0, (2**24, (0,))),
        (20, "maxpool(k=2, s=2)", "convT(k=2, s=2)", 0, (2**20, (0,))),
        (18, "conv(k=3, s=2, p=1)", "upsample(scale=2)", 0, (2**18, (0,))),
        # no skip at the top two levels: the sizes whose first 16 halvings are exact, in 4 residues
        (18, "maxpool(k=2, s=2)", "convT(k=2, s=2)", 2, (2**18, (0, 1, 2, 3))),
        (12, "conv(k=3, s=3, p=1)", "convT(k=3, s=3)", 0, (3**12, (0,))),
        # skips from level 6: the sizes whose first 6 halvings round up alike, one run of 64 residues across
        # the period's end (was a 20 s timeout, Unknown)
        (24, "conv(k=3, s=2, p=1)", "convT(k=3, s=2, p=1, a=1)", 6, (2**24, (0, *range(2**24 - 63, 2**24)))),
    ],
)
def test_deep_unet_valid_set_and_output_by_brute_force(
    depth: int, down: str, up: str, skip_from: int, expected: tuple[int, tuple[int, ...]]
) -> None:
    net = unet_nodes(depth, down, up, skip_from)
    valid = net.valid_inputs()["i"]
    assert (valid.period, valid.residues) == expected
    assert valid.proof == Proved(scope="unbounded")
    p = valid.period
    sizes = [*range(1, 200), *(k * p + d for k in (1, 2, 5) for d in range(-5, 6))]
    truth = brute_force(net, sizes)
    assert truth
    assert {s for s in sizes if s in valid} == set(truth)
    formula = net.output_size()["i"]
    assert all(evaluate(formula, {"i": s}) == o for s, o in truth.items())


# ---- long residual chains and merges of unequal formulas --------------------------------------------------------


class Residual(nn.Module):
    """Stages of basic blocks; the first block of each stage halves the size on both paths."""

    def __init__(self, stages: int, blocks: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList()
        self.shortcuts = nn.ModuleList()
        for _ in range(stages):
            for block in range(blocks):
                stride = 2 if block == 0 else 1
                self.convs.append(
                    nn.Sequential(nn.Conv1d(1, 1, 3, stride, 1), nn.ReLU(), nn.Conv1d(1, 1, 3, 1, 1))
                )
                self.shortcuts.append(nn.Conv1d(1, 1, 1, stride) if stride > 1 else nn.Identity())

    def forward(self, x: Tensor) -> Tensor:
        for conv, shortcut in zip(self.convs, self.shortcuts, strict=True):
            x = torch.relu(conv(x) + shortcut(x))
        return x


class Projections(nn.Module):
    """DLA's projections: a strided conv (ceil(L/2)) added to a max pooling (floor(L/2)), level after level."""

    def __init__(self, levels: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(1, 1, 3, 2, 1) for _ in range(levels))
        self.pool = nn.MaxPool1d(2)

    def forward(self, x: Tensor) -> Tensor:
        for conv in self.convs:
            x = conv(x) + self.pool(x)
        return x


class Branches(nn.Module):
    """HRNet's fusion: a branch down by a strided conv and up by 2 added to the full-size one, then flattened."""

    def __init__(self, levels: int) -> None:
        super().__init__()
        self.downs = nn.ModuleList(nn.Conv1d(1, 1, 3, 2, 1) for _ in range(levels))
        self.up = nn.Upsample(scale_factor=2)

    def forward(self, x: Tensor) -> Tensor:
        for down in self.downs:
            x = x + self.up(down(x))
        return torch.flatten(x, 1)


def test_long_residual_chain_matches_pytorch() -> None:
    model = Residual(stages=4, blocks=12).eval()
    valid = check_against_pytorch(model, range(1, 257))
    assert (valid.period, valid.residues, valid.start) == (1, (0,), 1)


@pytest.mark.parametrize("make", [lambda: Projections(8), lambda: Branches(8)], ids=["dla", "hrnet"])
def test_merges_of_unequal_formulas_stay_flat_and_exact(make: Any) -> None:
    model = make().eval()
    check_against_pytorch(model, range(1, 400))
    formula = from_torch(model, (1, 1, "L")).output_size()["L"]
    # a Max per merge would nest 8 deep (and double at each level); the larger formula is the max itself
    assert not formula.has(sympy.Max)


def test_reading_a_model_steps_each_node_a_bounded_number_of_times(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = network_module.step

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0].name)
        return original(*args, **kwargs)

    monkeypatch.setattr(network_module, "step", counted)
    monkeypatch.setattr("symconv.nets.importers.step", counted)
    counts = []
    for blocks in (10, 40):
        calls.clear()
        net = from_torch(Residual(stages=2, blocks=blocks).eval(), (1, 1, "L"))
        net.output_size()
        counts.append((len(net.nodes), len(calls)))
    # once while the model is read, once in the network: twice the nodes, whatever the depth
    assert all(steps <= 2 * nodes for nodes, steps in counts)


# ---- failures inside analysis -----------------------------------------------------------------------------------


def _fresh_network_caches() -> None:
    """Networks are values: an equal network built by an earlier test would answer from the cache, without
    running the patched step."""
    for method in ("sizes", "conditions", "_axis", "along", "valid_inputs"):
        getattr(network_module.Network, method).cache_clear()


def test_a_library_failure_inside_analysis_names_the_node(monkeypatch: pytest.MonkeyPatch) -> None:
    from mpmath.libmp import NoConvergence

    _fresh_network_caches()

    def fails(*args: Any) -> Any:
        raise NoConvergence("precision exhausted")

    net = network_module.chain("conv(k=3, s=2) > conv(k=3, s=2)")
    monkeypatch.setattr(network_module, "apply_layer", fails)
    with pytest.raises(AnalysisError, match=r"node n1 \(layer\).*NoConvergence: precision exhausted"):
        net.output_size()


def test_a_library_failure_in_a_receptive_field_names_the_node(monkeypatch: pytest.MonkeyPatch) -> None:
    from symconv.nets import receptive

    def fails(*args: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    _fresh_network_caches()
    net = network_module.chain("conv(k=3, s=2) > conv(k=3, s=2)")
    monkeypatch.setattr(receptive, "_summary", fails)
    with pytest.raises(
        AnalysisError, match=r"node n1 \(layer\): its receptive field along i .*RecursionError"
    ):
        net.receptive_fields(40)


def test_too_many_residue_classes_is_a_refusal_naming_the_node() -> None:
    # unpadded windows shift every level's offset, and a single skip at the top leaves no congruence to start
    # from: its concatenation would be split into 2**24 classes
    net = unet_nodes(24, "conv(k=3, s=2)", "convT(k=3, s=2)", skip_from=23)
    with pytest.raises(SymconvError, match=r"node cat23 \(cat\): .* needs 16,777,216 residue classes"):
        net.valid_inputs()


# ---- the per-class solver against brute force ------------------------------------------------------------------


def random_pair(rng: random.Random, depth: int) -> tuple[sympy.Expr, sympy.Expr]:
    """Two floor-affine size formulas of i through the same strides (so of one slope, as the two inputs of a
    merge are) with their own offsets and roundings; the second also goes down and back up once."""
    formulas = []
    strides = [rng.choice([1, 2, 2, 3]) for _ in range(depth)]
    for _ in range(2):
        expr: sympy.Expr = i
        for s in strides:
            if rng.random() < 0.5:
                expr = floor_div(expr + rng.randint(-3, 3), s) + rng.randint(0, 2)
            else:
                expr = ceil_div(expr + rng.randint(-3, 3), s)
        formulas.append(expr)
    a, b = formulas
    s = rng.choice([2, 3])
    return a, s * floor_div(b + rng.randint(-2, 2), s) + rng.randint(-1, 1)


def members(found: IntSet, upto: int) -> set[int]:
    return {x for x in range(1, upto + 1) if x in found}


@pytest.mark.parametrize("seed", range(40))
def test_refine_and_congruence_agree_with_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    a, b = random_pair(rng, rng.randint(1, 4))
    condition = eq(a, b) if seed % 3 else ge(a, b + rng.randint(-2, 2))
    universe = IntSet.interval(rng.randint(1, 5), None)
    if seed % 2:
        universe = universe.intersect(IntSet.residue_class(4, (0, rng.randint(1, 3))))
    upto = 4 * (period(condition, "i") or 1) * 4 + 50
    truth = {x for x in range(1, upto + 1) if x in universe and evaluate(condition, {"i": x})}
    assert members(refine(universe, condition, "i"), upto) == truth
    implied = congruence(condition, "i")
    if implied is not None:
        assert truth <= members(implied, upto)


@pytest.mark.parametrize("seed", range(40))
def test_broadcast_size_is_the_max_wherever_the_merge_is_defined(seed: int) -> None:
    rng = random.Random(1000 + seed)
    defined: list[int] = []
    while not defined:  # a pair that merges somewhere (random offsets may never agree)
        a, b = random_pair(rng, rng.randint(1, 3))
        if seed % 4 == 0:
            b = floor_div(b, rng.choice([4, 8])) + rng.randint(0, 1)  # a branch that is 1 on a range of sizes
        condition, size = network_module.broadcast(a, b)
        defined = [x for x in range(1, 600) if evaluate(condition, {"i": x})]
    for x in defined:
        assert evaluate(size, {"i": x}) == max(evaluate(a, {"i": x}), evaluate(b, {"i": x})), x


@pytest.mark.parametrize("seed", range(30))
def test_membership_formula_is_the_residue_set(seed: int) -> None:
    z3 = pytest.importorskip("z3")
    from symconv.logic.z3bridge import Translation
    from symconv.nets.validset import ValidSet, _membership

    rng = random.Random(seed)
    period = rng.choice([2, 3, 4, 6, 8, 12, 16, 24, 32, 64])
    residues: set[int] = set()
    for _ in range(rng.randint(1, 3)):
        start, length = rng.randrange(period), rng.choice([1, 2, 3, 4, period // 2 or 1])
        residues |= {(start + j) % period for j in range(length)}  # runs, some across the period's end
    valid = ValidSet(period, tuple(sorted(residues)), 1, ())
    translation = Translation()
    formula = _membership(translation, "i", valid)
    i = translation.variable("i")
    for x in range(-period, 3 * period):
        value = z3.simplify(z3.substitute(formula, (i, z3.IntVal(x))))
        assert z3.is_true(value) == (x % period in residues), (x, period, sorted(residues))


def random_clamped(rng: random.Random) -> sympy.Basic:
    """A condition like a clamped slice's: Min/Max (nested, of different slopes) of floor-affine sizes, times
    an indicator min(max(d, 0), 1) of a size difference d, compared with another size."""
    a, b = random_pair(rng, rng.randint(1, 3))
    c, d = random_pair(rng, rng.randint(1, 2))
    indicator = sympy.Min(1, sympy.Max(0, a - b + rng.randint(-2, 2)))
    clamped = sympy.Max(0, sympy.Min(c + rng.randint(-3, 3), d - b))
    lhs = (1 - indicator) * c + indicator * clamped
    return (eq if rng.random() < 0.5 else ge)(lhs, d + rng.randint(-3, 3))


@pytest.mark.parametrize("seed", range(40))
def test_conditions_with_min_and_max_split_into_cases_agree_with_brute_force(seed: int) -> None:
    from symconv.logic.periodic import without_extrema

    rng = random.Random(5000 + seed)
    condition = random_clamped(rng)
    if seed % 3 == 0:  # as a broadcast's condition: an or of relations
        condition = sympy.Or(condition, random_clamped(rng), evaluate=False)
    split = without_extrema(condition)
    assert split is not None and not split.has(sympy.Min, sympy.Max)
    needed = period(split, "i")
    assert needed is not None
    upto = 4 * needed + 80
    truth = {x for x in range(1, upto + 1) if evaluate(condition, {"i": x})}
    assert {x for x in range(1, upto + 1) if evaluate(split, {"i": x})} == truth
    assert members(refine(IntSet.interval(1, None), split, "i"), upto) == truth


@pytest.mark.parametrize(
    ("rhs", "everywhere"),
    [(0, True), (2, False), (5, False)],
)
def test_long_periodic_conditions_are_proved_first_or_split(
    rhs: int, everywhere: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A periodic condition of more residue classes than PROVE_FIRST (period 7,680) is asked of Z3 at every
    size first: left out of the split where it holds everywhere, split class by class where it does not, with
    the brute-force answer either way."""
    from symconv.logic import periodic
    from symconv.nets.validset import PROVE_FIRST, solved

    i = symbol("i")
    condition = ge(sympy.Mod(i, 512) + sympy.Mod(floor_div(i, 3), 5), rhs)
    assert periodic.classes(IntSet.interval(1, None), period(condition, "i") or 0) > PROVE_FIRST
    split: list[sympy.Basic] = []

    def spied(universe: IntSet, condition: sympy.Basic, x: str, limit: int = periodic.MAX_CLASSES) -> IntSet:
        split.append(condition)
        return refine(universe, condition, x, limit)

    monkeypatch.setattr(periodic, "refine", spied)
    found = solved([condition], "i", {})
    upto = 2 * 7_680 + 40
    truth = {x for x in range(1, upto + 1) if evaluate(condition, {"i": x})}
    assert members(found, upto) == truth
    assert (truth == set(range(1, upto + 1))) == everywhere
    assert split == ([] if everywhere else [condition])
