"""Networks: valid input sets against PyTorch on real sizes, receptive fields against tracing, errors."""

from __future__ import annotations

import random
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import sympy

from symconv import ShapeError, SpecError
from symconv.cli import main
from symconv.core.arith import compile_many, ge, symbol
from symconv.core.layers import layer
from symconv.logic.prove import Proved
from symconv.nets.network import Network, Node, apply_layer_directly, chain, from_toml
from symconv.nets.validset import _reduced
from tests.differential import one_torch_thread
from tests.networks import POOL, unet

UNET = unet([POOL, POOL])


def _torch_unet(torch: Any) -> Any:
    from torch import nn

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.e1, self.e2 = nn.Conv1d(1, 1, 3, 1, 1), nn.Conv1d(1, 1, 3, 1, 1)
            self.pool = nn.MaxPool1d(2, 2)
            self.u2, self.u1 = nn.ConvTranspose1d(1, 1, 2, 2), nn.ConvTranspose1d(2, 1, 2, 2)

        def forward(self, x: Any) -> Any:
            e1 = self.e1(x)
            e2 = self.e2(self.pool(e1))
            c2 = torch.cat([self.u2(self.pool(e2)), e2], 1)
            return torch.cat([self.u1(c2), e1], 1)

    return UNet()


CHAINS = [
    "conv(k=3, s=2, p=1) > conv(k=3, s=2, p=1) > conv(k=3, s=2, p=1)",
    "conv(k=3, s=2) > conv(k=3, s=2) > maxpool(k=3, s=3, ceil=true)",
    "conv(k=7, s=2, p=3) > maxpool(k=3, s=2, p=1) > conv(k=3, s=1, p=1) > conv(k=3, s=2, p=1)",
    "conv(k=3, d=2, p=2) > conv(k=5, s=3) > maxpool(k=2, s=2, ceil=true)",
]


def _torch_chain(torch: Any, text: str) -> Any:
    nn = torch.nn
    modules = []
    for part in text.split(" > "):
        kind, args = (
            part[: part.index("(")],
            dict(item.strip().split("=") for item in part[part.index("(") + 1 : -1].split(",")),
        )
        k, s, p, d = (int(args.get(n, default)) for n, default in (("k", 0), ("s", 0), ("p", 0), ("d", 1)))
        if kind == "conv":
            modules.append(nn.Conv1d(1, 1, k, s or 1, p, dilation=d))
        else:
            modules.append(nn.MaxPool1d(k, s or k, p, dilation=d, ceil_mode=args.get("ceil") == "true"))
    return nn.Sequential(*modules)


def _ground_truth(torch: Any, model: Any, sizes: range) -> dict[int, int | None]:
    valid: dict[int, int | None] = {}
    with one_torch_thread():
        for i in sizes:
            try:
                valid[i] = model(torch.zeros(1, 1, i)).shape[-1]
            except RuntimeError:
                valid[i] = None
    return valid


@pytest.mark.parametrize("text", CHAINS)
def test_chain_valid_set_and_sizes_match_pytorch(text: str) -> None:
    torch = pytest.importorskip("torch")
    net = chain(text)
    valid = net.valid_inputs()["i"]
    assert isinstance(valid.proof, Proved)
    truth = _ground_truth(torch, _torch_chain(torch, text), range(1, 257))
    for i, size in truth.items():
        assert (i in valid) == (size is not None), i
        if size is not None:
            assert net.check({"i": i}) == {"i": size}
        else:
            with pytest.raises(ShapeError):
                net.check({"i": i})


def test_unet_valid_set_matches_pytorch_and_names_the_failing_node() -> None:
    torch = pytest.importorskip("torch")
    net = from_toml(UNET)
    valid = net.valid_inputs()["H"]
    assert valid.describe() == {"period": 4, "residues": [0], "from": 1, "below": []}
    assert isinstance(valid.proof, Proved)
    truth = _ground_truth(torch, _torch_unet(torch), range(1, 257))
    for i, size in truth.items():
        assert (i in valid) == (size is not None), i
    with pytest.raises(ShapeError, match=r"node c2 \(cat\): sizes of u2 and e2 differ at H=30"):
        net.check({"H": 30})


def _traced_field(specs: list[tuple[int, int, int, int]]) -> tuple[int, int, int]:
    """(r, S, P) by tracing which input positions (padding included) reach output units 0 and 1."""

    def reach(y: int) -> tuple[int, int]:
        low = high = y
        for k, s, pb, d in reversed(specs):
            low, high = low * s - pb, high * s - pb + (k - 1) * d
        return low, high

    (lo0, hi0), (lo1, _) = reach(0), reach(1)
    return hi0 - lo0 + 1, lo1 - lo0, -lo0


def test_receptive_fields_equal_tracing() -> None:
    rng = random.Random(2)
    for _ in range(100):
        specs = [
            (rng.randint(1, 5), rng.randint(1, 3), rng.randint(0, 2), rng.randint(1, 3)) for _ in range(4)
        ]
        text = " > ".join(f"conv(k={k}, s={s}, p={p}, d={d})" for k, s, p, d in specs)
        field = chain(text).receptive_fields()["n4"]
        assert (field.r, field.stride, field.padding) == tuple(map(Fraction, _traced_field(specs)))


def test_vgg16_receptive_field_as_tf_slim_defines_it() -> None:
    parts: list[str] = []
    for convs in (2, 2, 3, 3, 3):
        parts += ["tf.conv(k=3, s=1, p=same)"] * convs + ["tf.maxpool(k=2, s=2, p=valid)"]
    net = chain(" > ".join(parts))
    described = net.receptive_fields()[net.output].describe()
    assert (described["size"], described["stride"], described["padding"]) == (212, 32, 90)


def test_deep_chains_stay_small() -> None:
    net = chain(" > ".join(["conv(k=3, s=2, p=1)"] * 16))
    assert str(net.output_size()["i"]) == "floor(i/65536 - 1/65536) + 1"


BAD_NETWORKS = [
    ('[[node]]\nname = "a"\nop = "cat"\ninputs = ["a"]', "not an earlier node"),
    ('[[node]]\nname = "a"\nlayer = "conv(k=3)"\ninput = "nope"', "not an earlier node"),
    ('[[node]]\nname = "a"\nop = "concat"', "give a layer spec or an op"),
    ('[[node]]\nname = "a"\nlayer = "conv(k=0)"', "kernel size must be a positive integer"),
    ("[[node]\n", "not valid TOML"),
    ('[[node]]\nname = "a"\ncolour = 1', "unknown key"),
]


@pytest.mark.parametrize(("text", "fragment"), BAD_NETWORKS)
def test_bad_networks_are_spec_errors(text: str, fragment: str) -> None:
    with pytest.raises(SpecError, match=fragment):
        from_toml(text, "net.toml")


TWO_BRANCHES = """
[[node]]
name = "a"
layer = "conv(k=3, s=2)"
[[node]]
name = "b"
layer = "conv(k=1)"
input = "input"
[[node]]
name = "m"
op = "{op}"
inputs = ["a", "b"]
"""


def test_a_merge_that_never_matches_has_an_empty_valid_set() -> None:
    # floor((i - 3)/2) + 1 == i has no solution with i >= 3: a concatenation is never defined.
    valid = from_toml(TWO_BRANCHES.format(op="cat")).valid_inputs()["i"]
    assert valid.residues == () and valid.below == ()
    assert isinstance(valid.proof, Proved)


def test_add_broadcasts_a_size_of_one() -> None:
    # The same branches added: where a is 1 (i = 3, 4) it broadcasts, as in PyTorch and NumPy.
    net = from_toml(TWO_BRANCHES.format(op="add"))
    valid = net.valid_inputs()["i"]
    assert valid.describe() == {"period": 1, "residues": [], "from": 5, "below": [3, 4]}
    assert isinstance(valid.proof, Proved)
    assert net.check({"i": 4}) == {"i": 4}
    with pytest.raises(ShapeError, match=r"node m \(add\): sizes of a and b differ and neither is 1 at i=5"):
        net.check({"i": 5})


def test_net_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "unet.toml"
    path.write_text(UNET)
    assert main(["net", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert '"H": {"period": 4, "residues": [0], "from": 1, "below": []' in out
    assert main(["net", "conv(k=3"]) == 2
    assert main(["net", str(tmp_path / "missing.toml")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def _traced_transposed(
    k: int, s: int, p: int, d: int, before: tuple[int, int, int]
) -> tuple[int, int | None]:
    """(r, P) after a transposed convolution, by tracing which input positions reach output units 0..3s."""
    r0, s0, p0 = before
    spans, lows = [], {}
    for q in range(0, 3 * s):
        units = [(q + p - t * d) // s for t in range(k) if (q + p - t * d) % s == 0]
        if units:
            low, high = min(units) * s0 - p0, max(units) * s0 - p0 + r0 - 1
            spans.append(high - low + 1)
            lows[q] = low
    return max(spans), -lows[0] if 0 in lows else None


def test_receptive_fields_through_transposed_convolutions_equal_tracing() -> None:
    rng = random.Random(4)
    for _ in range(100):
        k, s, p, d = rng.randint(1, 4), rng.randint(1, 3), rng.randint(0, 2), rng.randint(1, 2)
        down = (rng.randint(1, 4), rng.randint(1, 3), rng.randint(0, 1))
        text = f"conv(k={down[0]}, s={down[1]}, p={down[2]}) > convT(k={k}, s={s}, p={p}, d={d})"
        fields = chain(text).receptive_fields()
        before = fields["n1"]
        field = fields["n2"]
        r, padding = _traced_transposed(k, s, p, d, (int(before.r), int(before.stride), int(before.padding)))
        assert field.r == r, text
        if padding is not None:
            assert field.padding == padding, text
        assert field.stride == before.stride / s


def _random_chain(rng: random.Random) -> str:
    """A chain of 1 to 6 layers of every kind and framework the network model reads."""
    parts = []
    for _ in range(rng.randint(1, 6)):
        kind = rng.choice(["conv", "conv", "pool", "convT", "upsample"])
        k, s, p, d = rng.randint(1, 5), rng.randint(1, 3), rng.randint(0, 2), rng.randint(1, 2)
        framework = rng.choice(["", "torch.", "onnx.", "jax.", "tf."])
        if kind == "upsample":
            parts.append(f"upsample(scale={rng.randint(1, 3)})")
        elif kind == "convT":
            parts.append(f"convT(k={k}, s={s}, p={min(p, k - 1)}, a={rng.randint(0, s - 1)})")
        elif framework == "tf.":
            parts.append(f"tf.conv(k={k}, s={s}, p={rng.choice(['same', 'valid'])})")
        elif kind == "conv":
            parts.append(f"{framework}conv(k={k}, s={s}, p={p}, d={d})")
        else:
            ceil = rng.choice(["true", "false"])
            parts.append(f"maxpool(k={k}, s={s}, p={min(p, k // 2)}, ceil={ceil})")
    return " > ".join(parts)


def test_sizes_by_substitution_equal_each_layer_applied_directly() -> None:
    """Network sizes and conditions (each layer read once on a symbol, then substituted, floors merged) against
    each layer applied to its input's formula directly, on every size 1..100 of 80 random chains."""
    rng = random.Random(5)
    for _ in range(80):
        text = _random_chain(rng)
        try:
            net = chain(text)
        except SpecError:
            continue  # parameters a framework refuses outright
        direct: dict[str, sympy.Expr] = {"input": symbol("i")}
        direct_conditions: list[sympy.Basic] = [ge(symbol("i"), 1)]
        for node in net.nodes[1:]:
            inner = node.name != net.output
            assert node.layer is not None, node
            size, rules = apply_layer_directly(node.layer, direct[node.inputs[0]], inner)
            direct[node.name] = size
            direct_conditions += [c for c, _ in rules] + ([ge(size, 1)] if inner else [])
        names = list(direct)
        ours = _evaluator([c for c, _ in net.conditions("i")], [net.sizes("i")[n] for n in names])
        theirs = _evaluator(direct_conditions, [direct[n] for n in names])
        for i in range(1, 101):
            assert ours(i) == theirs(i), (text, i)


def _evaluator(conditions: list[sympy.Basic], sizes: list[sympy.Expr]) -> Callable[[int], list[Any] | None]:
    """i -> every size at i where every condition holds there, else None."""
    run = compile_many([*conditions, *sizes])

    def at(i: int) -> list[Any] | None:
        try:
            values = run({"i": i})
        except ZeroDivisionError:
            return None
        return values[len(conditions) :] if all(values[: len(conditions)]) else None

    return at


def test_valid_sets_of_random_chains_equal_checking_every_size() -> None:
    """valid_inputs (solved from reduced conditions, proved against the network's own) against check()."""
    rng = random.Random(6)
    for _ in range(40):
        text = _random_chain(rng)
        try:
            net = chain(text)
        except SpecError:
            continue
        valid = net.valid_inputs()["i"]
        assert isinstance(valid.proof, Proved), (text, valid.proof)
        for i in range(1, 121):
            try:
                net.check({"i": i})
                defined = True
            except ShapeError:
                defined = False
            assert (i in valid) == defined, (text, i)


def test_the_output_may_be_empty_behind_identity_nodes() -> None:
    # JAX returns an empty output for a VALID window larger than the input: allowed at the network's output,
    # also when an importer's identity node named "output" reads it; refused where a layer reads it.
    last = Node("n1", "layer", ("input",), layer("jax.conv(k=5, s=2, p=valid)"))
    net = Network((Node("input", "input"), last, Node("output", "identity", ("n1",))))
    assert net.check({"i": 3}) == {"i": 0}
    assert net.valid_inputs()["i"].start == 1
    inner = chain("jax.conv(k=5, s=2, p=valid) > jax.conv(k=1, p=valid)")
    with pytest.raises(ShapeError, match=r"node n1 \(jax.conv\(k=5, s=2, p=valid\)\): empty output at i=3"):
        inner.check({"i": 3})
    # TensorFlow's paths disagree there (tests/test_diff_tf.py): refused even at the output.
    tf_last = Node("n1", "layer", ("input",), layer("tf.conv(k=5, s=2, p=valid)"))
    with pytest.raises(ShapeError, match="paths disagree"):
        Network((Node("input", "input"), tf_last, Node("output", "identity", ("n1",)))).check({"i": 3})


def test_reduced_conditions_hold_exactly_where_the_conditions_hold() -> None:
    """The solver's copy of a network's conditions (constants moved, integer bounds divided out, the strongest
    bound per expression kept) against the conditions themselves, on integers of both signs."""
    i = symbol("i")
    terms = [i, sympy.floor(i / 3), sympy.floor((i - 1) / 2) + 1, sympy.Mod(i, 4), 2 * sympy.floor(i / 5)]
    kinds = [sympy.Ge, sympy.Gt, sympy.Le, sympy.Lt, sympy.Eq]
    rng = random.Random(7)
    for _ in range(300):
        conditions = []
        for _ in range(rng.randint(1, 5)):
            c = rng.choice([-3, -2, -1, 1, 2, 3])
            lhs = c * rng.choice(terms) + rng.randint(-4, 4)
            conditions.append(rng.choice(kinds)(lhs, rng.randint(-6, 6), evaluate=False))
        reduced = _reduced(conditions)
        both = compile_many([sympy.And(*conditions), sympy.And(*reduced)])
        for value in range(-40, 41):
            held, kept = both({"i": value})
            assert bool(held) == bool(kept), (conditions, reduced, value)


@pytest.mark.parametrize("size", [5.5, "5", True, None])
def test_check_refuses_a_size_that_is_not_an_integer(size: object) -> None:
    """A float would be floored through the formulas into a plausible wrong answer; every non-integer is an
    error naming the axis and the value."""
    net = chain("conv(k=3)")
    with pytest.raises(SpecError, match="the size of axis i must be an integer"):
        net.check_axis("i", size)  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="the size of axis i must be an integer"):
        net.check({"i": size})  # type: ignore[dict-item]
