"""Networks: valid input sets against PyTorch on real sizes, receptive fields against tracing, errors."""

from __future__ import annotations

import random

import pytest

from symconv import ShapeError, SpecError
from symconv.cli import main
from symconv.network import chain, from_toml

UNET = """
dims = ["H"]
[[node]]
name = "e1"
layer = "conv(k=3, s=1, p=1)"
[[node]]
name = "d1"
layer = "maxpool(k=2, s=2)"
[[node]]
name = "e2"
layer = "conv(k=3, s=1, p=1)"
[[node]]
name = "d2"
layer = "maxpool(k=2, s=2)"
[[node]]
name = "u2"
layer = "convT(k=2, s=2)"
[[node]]
name = "c2"
op = "cat"
inputs = ["u2", "e2"]
[[node]]
name = "u1"
layer = "convT(k=2, s=2)"
[[node]]
name = "c1"
op = "cat"
inputs = ["u1", "e1"]
"""


def _torch_unet(torch):  # type: ignore[no-untyped-def]
    nn = torch.nn

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.e1, self.e2 = nn.Conv1d(1, 1, 3, 1, 1), nn.Conv1d(1, 1, 3, 1, 1)
            self.pool = nn.MaxPool1d(2, 2)
            self.u2, self.u1 = nn.ConvTranspose1d(1, 1, 2, 2), nn.ConvTranspose1d(2, 1, 2, 2)

        def forward(self, x):  # type: ignore[no-untyped-def]
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


def _torch_chain(torch, text: str):  # type: ignore[no-untyped-def]
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


def _ground_truth(torch, model, sizes):  # type: ignore[no-untyped-def]
    valid = {}
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
    assert valid.proof.startswith("proved")
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
    assert valid.proof.startswith("proved")
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
        assert (field.r, field.stride, field.padding) == _traced_field(specs)


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


def test_a_merge_that_never_matches_has_an_empty_valid_set() -> None:
    text = """
[[node]]
name = "a"
layer = "conv(k=3, s=2)"
[[node]]
name = "b"
layer = "conv(k=1)"
input = "input"
[[node]]
name = "m"
op = "add"
inputs = ["a", "b"]
"""
    net = from_toml(text)
    valid = net.valid_inputs()["i"]
    assert valid.residues == () and valid.below == ()


def test_net_cli(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    path = tmp_path / "unet.toml"
    path.write_text(UNET)
    assert main(["net", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert '"H": {"period": 4, "residues": [0], "from": 1, "below": []' in out
    assert main(["net", "conv(k=3"]) == 2
    assert main(["net", str(tmp_path / "missing.toml")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def _traced_transposed(k: int, s: int, p: int, d: int, before: tuple[int, int, int]) -> tuple[int, int]:
    """(r, P) after a transposed convolution, by tracing which input positions reach output units 0..3s."""
    r0, s0, p0 = before
    spans, lows = [], {}
    for q in range(0, 3 * s):
        units = [(q + p - t * d) // s for t in range(k) if (q + p - t * d) % s == 0]
        if units:
            low, high = min(units) * s0 - p0, max(units) * s0 - p0 + r0 - 1
            spans.append(high - low + 1)
            lows[q] = low
    return max(spans), -lows[0] if 0 in lows else None  # type: ignore[return-value]


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
