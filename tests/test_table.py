"""The shape table (`net --table`, `--at`, symconv.table): rows against Network.check and against PyTorch's own
intermediate shapes, nearest valid sizes against enumerating the valid set, the JSON and text forms."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import sympy

import symconv
from symconv import SpecError
from symconv.cli import main
from symconv.core.errors import ShapeError
from symconv.core.notation import expression
from symconv.nets.network import Network, chain, from_toml
from symconv.nets.table import Nearest, nearest, node_text, table
from symconv.nets.validset import ValidSet
from tests.networks import POOL, unet

UNET = unet([POOL, "maxpool(k=3, s=2, ceil=true)"], merges=["add", "crop"])

CHAINS = [
    "conv(k=3, s=2, p=1) > maxpool(k=2, s=2) > convT(k=2, s=2)",
    "conv(k=5, s=3) > conv(k=3, s=2, d=2) > maxpool(k=3, s=2, ceil=true)",
    "tf.conv(k=4, s=3, p=same) > avgpool(k=2, s=2) > upsample(scale=3) > conv(k=7)",
    "pixelunshuffle(r=2) > conv(k=3, p=1) > pixelshuffle(r=2)",
]


def _networks() -> list[Network]:
    return [*(chain(text) for text in CHAINS), from_toml(UNET)]


@pytest.mark.parametrize("net", _networks(), ids=lambda n: node_text(n.nodes[1]))
def test_the_last_row_at_a_size_is_what_check_gives(net: Network) -> None:
    dim = net.dims[0]
    for size in range(1, 121):
        t = table(net, {dim: size})
        try:
            expected = net.check({dim: size})
        except ShapeError as error:
            assert t.failure is not None and t.output is None, size
            # check names the first failing node too (one axis: the same order)
            assert f"node {t.failure.node} " in str(error), (size, str(error))
            assert t.rows[-1].at is None
            continue
        assert t.failure is None, (size, t.failure)
        assert t.output == expected
        assert t.rows[-1].at == expected
        # Every row is the node's size there, evaluated from its formula.
        for row in t.rows:
            assert row.at == {dim: int(row.shape[dim].subs(symconv.symbol(dim), size))}


def test_rows_are_every_node_in_order_with_the_conditions_it_adds() -> None:
    net = from_toml(UNET)
    t = table(net)
    assert [row.name for row in t.rows] == [node.name for node in net.nodes]
    assert [row.op for row in t.rows][:3] == ["input", "conv(k=3, s=1, p=1)", "maxpool(k=2, s=2)"]
    assert t.rows[6].op == "crop(size=u2)"
    stated = [(c.condition, c.rule) for row in t.rows for c in row.conditions]
    # Every condition of the network is stated by some row (the repeats once), but for those that hold by their
    # form: the cat of u2 with the crop to u2's size states 2*floor(H/4) == 2*floor(H/4).
    every = {c for c, _ in net.conditions("H")}
    same = {c for c in every if isinstance(c, sympy.Eq) and c.lhs == c.rhs}
    assert same and {c for c, _ in stated} == every - same
    assert len(stated) == len({c for c, _ in stated})
    cat = next(row for row in t.rows if row.name == "c2")
    assert cat.conditions == ()
    add = next(row for row in t.rows if row.name == "r1")
    assert [c.rule for c in add.conditions] == ["sizes of u1 and e1 differ and neither is 1"]
    assert next(row for row in t.rows if row.name == "k2").conditions[0].rule == "input smaller than the crop"


def test_a_node_that_adds_nothing_shows_nothing() -> None:
    t = table(chain("conv(k=3, p=1) > conv(k=3, p=1)"))
    # The second layer's conditions are the first's (its input has the same size), already stated there.
    assert [len(row.conditions) for row in t.rows] == [1, 1, 0]
    lines = t.text().splitlines()
    assert lines[-1].startswith("n2 ") and "needs" in lines[-2]


@pytest.mark.parametrize("seed", range(6))
def test_nearest_valid_sizes_are_the_closest_members_of_the_enumerated_set(seed: int) -> None:
    rng = random.Random(seed)
    period = rng.randint(1, 12)
    residues = tuple(sorted(rng.sample(range(period), rng.randint(0, period))))
    start = rng.randint(1, 30)
    below = tuple(sorted(rng.sample(range(1, start), rng.randint(0, start - 1))))
    valid = ValidSet(period, residues, start, below)
    members = [n for n in range(1, 400) if n in valid]
    for size in range(1, 300):
        lower = [n for n in members if n < size]
        upper = [n for n in members if n > size]
        expected = Nearest(max(lower, default=None), min(upper, default=None))
        assert nearest(valid, size) == expected, (valid, size)


@pytest.mark.parametrize("net", _networks(), ids=lambda n: node_text(n.nodes[1]))
def test_a_failing_size_names_the_nearest_sizes_the_network_accepts(net: Network) -> None:
    dim = net.dims[0]
    ok = {n for n in range(1, 600) if _defined(net, {dim: n})}
    failing = [n for n in range(1, 200) if n not in ok]
    assert failing
    for size in failing:
        found = table(net, {dim: size}, receptive=False).failure
        assert found is not None
        near = found.nearest[dim]
        assert near.below == max((n for n in ok if n < size), default=None), size
        assert near.above == min(n for n in ok if n > size), size


def _defined(net: Network, sizes: dict[str, int]) -> bool:
    try:
        net.check(sizes)
    except ShapeError:
        return False
    return True


def test_only_the_failing_axis_gets_nearest_sizes_and_the_first_node_in_order_is_named() -> None:
    net = chain("conv(k=3, s=2) > conv(k=5)", ("H", "W"))
    # H = 5 fails at n2 (needs H >= 11), W = 2 at n1: n1 comes first.
    found = table(net, {"H": 5, "W": 2}).failure
    assert found is not None
    assert (found.node, found.axis) == ("n1", "W")
    assert set(found.nearest) == {"H", "W"}
    assert found.nearest["H"] == Nearest(None, 11)
    failure = table(net, {"H": 5, "W": 11}).failure
    assert failure is not None and failure.nearest.keys() == {"H"}


def test_a_fixed_axis_is_its_number_and_may_be_left_out() -> None:
    net = symconv.network("conv(k=3, s=2) > conv(k=3)", input_shape=(1, 3, "H", 17))
    t = table(net, {"H": 20})
    # A chain's layers do not say their channels: the shape is the spatial axes.
    assert t.rows[0].shape == {"H": symconv.symbol("H"), "W": 17}
    assert t.rows[-1].shape["W"] == 6
    assert t.rows[-1].at == {"H": 7, "W": 6}
    assert all(c.axis == "H" for row in t.rows for c in row.conditions)


@pytest.mark.parametrize(
    ("at", "fragment"),
    [
        ({"j": 3}, "at names the axis 'j'"),
        ({"i": 0}, "at sizes must be positive integers, got i=0"),
        ({"i": 2.0}, "at sizes must be integers, got i=2.0"),
        ({"i": True}, "at sizes must be integers, got i=True"),
        ({"i": "7"}, "at sizes must be integers, got i='7'"),
        ({}, "at gives no size for the axis i"),
        ([("i", 3)], "at takes a size per input axis"),
    ],
)
def test_bad_sizes_in_the_api_are_spec_errors(at: Any, fragment: str) -> None:
    with pytest.raises(SpecError, match=fragment):
        symconv.table("conv(k=3)", at=at)


def test_the_api_reads_a_source_or_takes_a_network() -> None:
    t = symconv.table("conv(k=3, s=2) > maxpool(k=2)", at={"i": 64})
    assert t.output == {"i": 15}
    assert symconv.table(chain("conv(k=3, s=2) > maxpool(k=2)"), at={"i": 64}).rows == t.rows
    with pytest.raises(SpecError, match="apply to a source"):
        symconv.table(chain("conv(k=3)"), input_shape=(1, 3, "H"))


def test_json_adds_the_table_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    spec = "conv(k=3, s=2, p=1) > maxpool(k=2, s=2)"
    assert main(["net", spec, "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main(["net", spec, "--table", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {*plain, "table"} and {k: data[k] for k in plain} == plain
    rows = data["table"]
    assert [row["name"] for row in rows] == ["input", "n1", "n2"]
    assert set(rows[1]) == {"name", "op", "inputs", "shape", "conditions", "receptive_field"}
    assert rows[1]["op"] == "conv(k=3, s=2, p=1)"
    assert rows[1]["shape"] == {"i": "floor(i/2 - 1/2) + 1"}
    assert rows[2]["receptive_field"]["i"] | {} == {**rows[2]["receptive_field"]["i"], "size": 5, "stride": 4}
    assert all(set(c) == {"axis", "condition", "rule"} for row in rows for c in row["conditions"])
    assert rows[2]["conditions"][0]["rule"].startswith(
        "the padded input must be at least the effective kernel"
    )


def test_json_at_a_failing_size(capsys: pytest.CaptureFixture[str]) -> None:
    spec = "conv(k=3, s=2, p=1) > maxpool(k=2, s=2)"
    assert main(["net", spec, "--table", "--at", "i=2", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [row["at"] for row in data["table"]] == [{"i": 2}, {"i": 1}, None]
    assert data["at"]["input"] == {"i": 2}
    assert data["at"]["failure"]["node"] == "n2"
    assert data["at"]["failure"]["inputs"] == {"n1": 1}
    assert data["at"]["nearest"] == {"i": {"below": None, "above": 3}}
    assert main(["net", spec, "--at", "i=30", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "table" not in data and data["at"] == {"input": {"i": 30}, "output": {"i": 7}}


def test_text_without_table_prints_the_diagnosis(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["net", "conv(k=3, s=2) > conv(k=3, s=2)", "--at", "i=6"]) == 1
    out = capsys.readouterr().out
    assert "at i = 6: node n2 (conv(k=3, s=2)) fails along i: needs floor((i - 3)/2) + 1 >= 3" in out
    assert "nearest valid i: none below, 7 above" in out
    assert "receptive field" not in out.splitlines()[0]  # no table


def test_text_table_is_aligned(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["net", "conv(k=3, s=2) > maxpool(k=2, s=2, ceil=true)", "--table", "--at", "i=9"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0]
    columns = [header.index(word) for word in ("op", "shape (i)", "receptive field", "at i=9")]
    for line in lines[2:]:
        if not line or line.startswith(" " * columns[0]):
            continue  # a condition, or past the table
        if line.startswith(("output size", "valid", "  which", "receptive", "at ")):
            break
        # Every cell starts at its column.
        assert all(line[c - 2 : c] == "  " and line[c] != " " for c in columns), line
    assert any(line.startswith("       needs i >= 3 (the padded input must be") for line in lines)


def test_conditions_stated_alike_on_every_axis_are_written_once(capsys: pytest.CaptureFixture[str]) -> None:
    main(["net", "conv(k=3, s=2)", "--input-shape", "1,3,H,W", "--table"])
    out = capsys.readouterr().out
    assert "needs H >= 3, likewise W (the padded input must be at least the effective kernel" in out
    assert "       needs W >= 3" not in out


# ----------------------------------------------------------------------------------------------------------------
# Against PyTorch: each row's formula, evaluated, is the shape the module's forward hooks see.

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from symconv.nets.importers.torch import from_torch  # noqa: E402


class Block(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, 1, 1)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x: Any) -> Any:
        return x + self.conv2(torch.relu(self.conv1(x)))


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 5, 2, 1)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.block = Block(8)
        self.down = nn.Conv2d(8, 16, 3, 2, 1)
        self.up = nn.ConvTranspose2d(16, 4, 2, 2)
        self.side = nn.Conv2d(8, 8, 3, 1, 2, dilation=2)
        self.fuse = nn.Conv2d(12, 6, 1)
        self.head = nn.AdaptiveAvgPool2d(2)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(24, 5)

    def forward(self, x: Any) -> Any:
        x = self.block(self.pool(self.stem(x)))
        y = self.up(self.down(x))
        w = self.fuse(torch.cat([y, self.side(x)], 1))
        return self.fc(self.flat(self.head(w)))


def _hooked(model: nn.Module, shape: tuple[int, ...]) -> tuple[dict[str, tuple[int, ...]], bool, str | None]:
    """Every leaf module's output shape (by its node name), whether torch raised, and the leaf module that was
    running then (None: it raised between modules, in a function such as torch.cat)."""
    seen: dict[str, tuple[int, ...]] = {}
    started: list[str] = []
    handles = []
    for path, module in model.named_modules():
        if path and not list(module.children()):
            name = path.replace(".", "_")
            handles.append(module.register_forward_pre_hook(lambda m, a, n=name: started.append(n)))
            handles.append(
                module.register_forward_hook(lambda m, a, out, n=name: seen.__setitem__(n, tuple(out.shape)))
            )
    try:
        with torch.no_grad():
            model(torch.zeros(shape))
        return seen, False, None
    except RuntimeError:
        running = started[-1] if started and started[-1] not in seen else None
        return seen, True, running
    finally:
        for handle in handles:
            handle.remove()


# Valid: H, W >= 5 with H mod 8 in 1..4 (the cat); 2 fails at the stem, 4 at the pool.
SIZES = [(h, w) for h in (2, 4, 9, 12, 30, 33, 91) for w in (5, 18, 20, 33, 60, 130)]


def test_every_row_is_the_shape_pytorch_gives_there() -> None:
    model = Model().eval()
    net = from_torch(model, (1, 3, "H", "W"))
    checked = failed = 0
    for h, w in SIZES:
        seen, raised, running = _hooked(model, (1, 3, h, w))
        t = table(net, {"H": h, "W": w}, receptive=False)
        if raised:
            failed += 1
            assert t.failure is not None, (h, w)
            if running is not None:
                assert t.failure.node == running, (h, w, t.failure)
            else:
                assert t.failure.node == "cat", (h, w, t.failure)
            continue
        assert t.failure is None, (h, w, t.failure)
        rows = {row.name: row for row in t.rows}
        for name, out in seen.items():
            if name not in rows:
                continue  # a module that is no node of its own (an activation)
            row = rows[name]
            assert row.at is not None
            if len(out) == 4:
                assert (row.at["C"], row.at["H"], row.at["W"]) == out[1:], (name, h, w)
                # The formula itself, evaluated at the sizes, gives the same.
                env = {symconv.symbol("H"): h, symconv.symbol("W"): w}
                assert [int(row.shape[k].subs(env)) for k in ("C", "H", "W")] == list(out[1:])
            else:
                assert row.at == {"features": out[1]}, (name, h, w)
            checked += 1
    assert checked >= 40 and failed >= 1


def test_torch_rows_name_their_channels_and_features() -> None:
    net = from_torch(Model().eval(), (1, 3, "H", "W"))
    rows = {row.name: row for row in table(net).rows}
    assert rows["input"].shape["C"] == 3
    assert rows["stem"].shape["C"] == 8
    assert rows["fuse"].shape["C"] == 6
    assert rows["flat"].shape == {"features": 24}
    assert rows["flat"].receptive_field is None
    assert rows["stem"].receptive_field is not None
    assert expression(rows["stem"].shape["H"]) == "floor((H - 3)/2) + 1"
    assert rows["stem"].receptive_field["H"].r == 5


def test_without_receptive_fields_the_rows_have_none(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["net", "conv(k=3) > conv(k=3)", "--table", "--at", "9", "--no-receptive-field", "--json"]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert [row["receptive_field"] for row in data["table"]] == [None, None, None]
    assert data["at"] == {"input": {"i": 9}, "output": {"i": 5}}  # --at in order, as --check takes it


def test_onnx_rows_name_their_channels(tmp_path: Any) -> None:
    pytest.importorskip("onnx")
    from symconv.nets.importers.onnx import from_onnx

    from .test_importers import export

    model = nn.Sequential(
        nn.Conv2d(3, 16, 7, 2, 3), nn.ReLU(), nn.MaxPool2d(3, 2, 1), nn.Conv2d(16, 32, 3, 2)
    )
    path = export(model.eval(), tmp_path / "m.onnx", (1, 3, 64, 64))
    net = from_onnx(path)
    for h, w in ((64, 40), (23, 57)):
        seen, raised, _ = _hooked(model, (1, 3, h, w))
        assert not raised
        rows = {row.name: row for row in table(net, {"H": h, "W": w}, receptive=False).rows}
        # ONNX names a node after its module: /0/Conv is module 0.
        for name, module in (("/0/Conv", "0"), ("/2/MaxPool", "2"), ("/3/Conv", "3")):
            assert rows[name].at == dict(zip("CHW", seen[module][1:], strict=True)), (name, h, w)


def test_a_node_name_with_spaces_and_parentheses_owns_its_conditions() -> None:
    from symconv.core.layers import layer
    from symconv.nets.network import Node

    odd = "block (1): conv"
    net = Network((Node("input", "input"), Node(odd, "layer", ("input",), layer("conv(k=3, s=2)"))))
    row = table(net).rows[1]
    assert row.name == odd
    assert row.conditions[0].rule.startswith("the padded input must be at least the effective kernel")


def test_numpy_sizes_are_integers() -> None:
    numpy = pytest.importorskip("numpy")
    assert symconv.table("conv(k=3)", at={"i": numpy.int64(7)}).output == {"i": 5}


def test_a_failing_check_names_the_nearest_valid_sizes_too(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["net", "conv(k=3, s=2) > conv(k=3, s=2)", "--input-shape", "1,3,H,W", "--check", "H=6,W=20"]
    assert main([*argv, "--json"]) == 1
    check = json.loads(capsys.readouterr().out)["check"]
    assert check["error"].startswith("node n2 (conv(k=3, s=2))")
    assert check["nearest"] == {"H": {"below": None, "above": 7}}
    assert main(argv) == 1
    assert "  nearest valid H: none below, 7 above" in capsys.readouterr().out.splitlines()
