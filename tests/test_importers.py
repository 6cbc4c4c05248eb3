"""The torch and ONNX importers against the frameworks themselves.

Each model is run by PyTorch (CPU, zero inputs) at many input sizes, and its imported Network must agree: the
same output sizes where PyTorch runs, a ShapeError from `network.check` exactly where PyTorch raises (and the
proved valid sets say the same). The same models are exported to ONNX (the TorchScript exporter, which needs
no extra package; dynamic axes H and W), read back with `from_onnx` and held to onnxruntime the same way. A
hand-built ONNX graph covers what a torch export does not produce (asymmetric pads, auto_pad, DepthToSpace,
Resize by scales).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from symconv.core.arith import evaluate  # noqa: E402
from symconv.core.errors import ShapeError, SpecError  # noqa: E402
from symconv.logic.prove import Proved  # noqa: E402
from symconv.nets.importers.torch import from_factory, from_torch  # noqa: E402
from symconv.nets.load import load_network  # noqa: E402
from symconv.nets.network import Network, Node  # noqa: E402

# Square sizes and an anti-diagonal: every pair of a valid and an invalid size on the two axes shows up.
PAIRS = [(h, h) for h in range(1, 49)] + [(h, 49 - h) for h in range(1, 49, 2)]
Outcome = tuple[int, ...] | None  # spatial output sizes, or None where the model is undefined


class UNet(nn.Module):
    """Two levels, torch.cat skips; one level up by a transposed convolution, the other by nn.Upsample."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU())
        self.enc2 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(2, 3, 3, padding=1), nn.ReLU())
        self.bottom = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(3, 3, 3, padding=1))
        self.up2 = nn.ConvTranspose2d(3, 3, 2, stride=2)
        self.dec2 = nn.Conv2d(6, 2, 3, padding=1)
        self.up1 = nn.Upsample(scale_factor=2)
        self.dec1 = nn.Conv2d(4, 1, 1)

    def forward(self, x: Any) -> Any:
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        d2 = self.dec2(torch.cat([e2, self.up2(self.bottom(e2))], dim=1))
        return self.dec1(torch.cat([e1, self.up1(d2)], dim=1))


class ResNetish(nn.Module):
    """A stem, a downsampling residual block (the shortcut a strided 1x1 convolution), then classification."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 2, 7, stride=2, padding=3), nn.AvgPool2d(3, 2, 1))
        self.body = nn.Sequential(
            nn.Conv2d(2, 4, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1)
        )
        self.shortcut = nn.Conv2d(2, 4, 1, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x: Any) -> Any:
        x = self.stem(x)
        x = F.relu(self.body(x) + self.shortcut(x))
        return self.fc(torch.flatten(self.pool(x), 1))


class Functional(nn.Module):
    """Functional calls, a broadcast gate (x * sigmoid(pool(x))), x + x, and a channel concatenation."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, stride=2)
        self.mix = nn.Conv2d(2, 2, 3, padding=1)

    def forward(self, x: Any) -> Any:
        y = F.avg_pool2d(F.relu(self.conv(x)), 3, stride=2, ceil_mode=True)
        y = y * torch.sigmoid(F.adaptive_avg_pool2d(y, 1))
        y = F.interpolate(y + y, scale_factor=3, mode="nearest")
        return torch.cat([y, self.mix(y)], 1)


def chain() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 2, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
        nn.Conv2d(2, 2, 3, dilation=2),
        nn.ConvTranspose2d(2, 1, 3, stride=2, padding=1, output_padding=1),
        nn.Dropout(),
    )


MODELS = {"chain": chain, "unet": UNet, "resnet": ResNetish, "functional": Functional}


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Any:
    """PyTorch on one thread while this module runs: the tensors are tiny, and on a shared machine idle worker
    threads only contend for cores (a small convolution then takes milliseconds instead of microseconds)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


SHAPE = (1, 1, "H", "W")


def torch_outcome(model: nn.Module, h: int, w: int) -> Outcome:
    try:
        with torch.no_grad():
            out = model(torch.zeros(1, 1, h, w))
    except (RuntimeError, ValueError):
        return None
    return tuple(out.shape[2:])


def network_outcome(net: Network, h: int, w: int, flat: bool) -> Outcome:
    """What the network says: None where it is undefined; no sizes for a flattened (classifier) output."""
    try:
        sizes = net.check({net.dims[0]: h, net.dims[1]: w})
    except ShapeError:
        return None
    return () if flat else (sizes[net.dims[0]], sizes[net.dims[1]])


def network_outcomes(net: Network, pairs: list[tuple[int, int]], flat: bool) -> dict[Any, Outcome]:
    """What the network says at every pair, from its exact valid sets (proved) and output formulas.

    Network.check derives the formulas again on every call, which takes up to a second with onnxruntime's
    truncating pool division; these are derived once.
    """
    valid = net.valid_inputs()
    assert all(isinstance(v.proof, Proved) for v in valid.values())
    formulas = net.output_size()
    out: dict[Any, Outcome] = {}
    for pair in pairs:
        env = dict(zip(net.dims, pair, strict=True))
        if not all(env[dim] in valid[dim] for dim in net.dims):
            out[pair] = None
        else:
            out[pair] = () if flat else tuple(int(evaluate(formulas[dim], env)) for dim in net.dims)
    return out


@pytest.fixture(scope="module", params=sorted(MODELS))
def model(request: pytest.FixtureRequest) -> tuple[str, nn.Module]:
    return request.param, MODELS[request.param]().eval()


@pytest.fixture(scope="module")
def expected(model: tuple[str, nn.Module]) -> dict[tuple[int, int], Outcome]:
    return {(h, w): torch_outcome(model[1], h, w) for h, w in PAIRS}


def test_torch_import_matches_torch(
    model: tuple[str, nn.Module], expected: dict[tuple[int, int], Outcome]
) -> None:
    name, module = model
    net = from_torch(module, SHAPE)
    flat = name == "resnet"
    got = {(h, w): network_outcome(net, h, w, flat) for h, w in PAIRS}
    assert got == expected
    assert network_outcomes(net, PAIRS, flat) == expected
    assert any(v is not None for v in got.values())


def test_unet_has_skips_and_valid_set() -> None:
    net = from_torch(UNet(), SHAPE)
    assert [node.op for node in net.nodes].count("cat") == 2
    cat = next(node for node in net.nodes if node.op == "cat")
    assert cat.inputs == ("enc2_1", "up2")  # the skip reads the encoder's output
    valid = net.valid_inputs()
    assert valid["H"].describe() == {"period": 4, "residues": [0], "from": 1, "below": []}
    assert str(net.output_size()["W"]) == "W"


def last_node(net: Network) -> Node:
    """The node whose value is the graph output (read by the importer's "output" identity node)."""
    output = net.nodes[-1]
    assert (output.name, output.op) == ("output", "identity")
    return next(node for node in net.nodes if node.name == output.inputs[0])


def test_the_graph_output_is_a_node_named_output() -> None:
    module = UNet().eval()
    net = from_torch(module, SHAPE)
    assert net.output == "output" and last_node(net).name == "dec1"  # the old name still works
    fields = net.receptive_fields()
    assert fields["output"] == fields["dec1"]
    for dim in net.dims:
        assert net.sizes(dim)["output"] == net.sizes(dim)["dec1"] == net.output_size()[dim]
    # A module called "output" does not take the graph output's name.
    named = from_torch(nn.Sequential(OrderedDict(output=nn.Conv2d(1, 1, 3))), SHAPE)
    assert [node.name for node in named.nodes] == ["input", "output_2", "output"]
    assert named.check({"H": 5, "W": 6}) == {"H": 3, "W": 4}


def test_resnet_block_is_an_add_node() -> None:
    net = from_torch(ResNetish(), SHAPE)
    add = next(node for node in net.nodes if node.op == "add")
    assert add.inputs == ("body_2", "shortcut")
    assert last_node(net).op == "flatten"  # Linear after an adaptive pool: the flattened size is fixed


def test_broadcast_gate_and_self_add_need_no_node() -> None:
    net = from_torch(Functional(), SHAPE)
    assert [node.op for node in net.nodes].count("add") == 0
    assert last_node(net).op == "cat" and last_node(net).inputs == ("interpolate", "mix")


def test_sequential_fallback_when_tracing_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("cannot trace this")

    traced = from_torch(chain(), SHAPE)
    monkeypatch.setattr(torch.fx.Tracer, "trace", refuse)
    walked = from_torch(chain(), SHAPE)
    assert [n.layer.spec for n in walked.nodes if n.layer] == [n.layer.spec for n in traced.nodes if n.layer]
    assert walked.output_size() == traced.output_size()
    with pytest.raises(SpecError, match=r"could not trace UNet: cannot trace this; only an nn\.Sequential"):
        from_torch(UNet(), SHAPE)


class Gate(nn.Module):
    def forward(self, x: Any) -> Any:
        # control flow on a size: torch.fx cannot trace it, and its sides are two networks
        return x if x.shape[-1] > 4 else F.avg_pool2d(x, 2)


class Padded(nn.Module):
    def forward(self, x: Any) -> Any:
        return F.pad(x, (1, 1), mode="reflect")  # PyTorch wants a pair per spatial axis for reflect


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: nn.Sequential(nn.Conv2d(1, 1, 3), nn.Fold(4, 2)),
            r"unsupported op: nn\.Fold at 1 \(add it as a node kind or replace it\)",
        ),
        (
            lambda: Padded(),
            r"torch\.nn\.functional\.pad at pad: reflect padding of a 4-D input takes 4 amounts",
        ),
        (
            lambda: nn.Sequential(nn.Conv2d(1, 1, 3), Gate()),
            r"unsupported op: .*Gate at 1 .*; torch\.fx could not trace Sequential",
        ),
        (lambda: nn.Conv1d(1, 1, 3), r"nn\.Conv1d at .* works on 1 spatial axes; the input has 2 \(H, W\)"),
        (lambda: nn.Conv2d(3, 1, 3), r"expects 3 input channels, gets 1"),
        (
            lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(10, 2)),
            "a condition on the product of the sizes of H, W",
        ),
        (lambda: nn.Upsample(scale_factor=-1.5), r"scale_factor must be a positive number, got -1\.5"),
        (lambda: nn.LayerNorm(8), "normalizes the trailing spatial axes"),
    ],
)
def test_refused_models_name_the_op(make: Any, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        from_torch(make(), SHAPE)


def test_a_layer_torch_refuses_at_every_size() -> None:
    with pytest.raises(ShapeError, match=r"pad should be at most half of kernel size .* in nn\.MaxPool2d at"):
        from_torch(nn.MaxPool2d(2, padding=2), SHAPE)


class TransposeTo(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(1, 1, 3, stride=2)

    def forward(self, x: Any) -> Any:
        return self.up(x, output_size=[9, 9])


def test_conv_transpose_output_size_takes_the_sizes_pytorch_accepts() -> None:
    # PyTorch accepts 9 where 2(i - 1) + 3 <= 9 <= 2(i - 1) + 3 + 1: only at i = 4
    net = from_torch(TransposeTo(), SHAPE)
    assert [h for h in range(1, 41) if h in net.valid_inputs()["H"]] == [4]
    assert net.output_size() == {"H": 9, "W": 9}


def classifier_1d() -> nn.Module:
    """Linear after flatten on one spatial axis: defined only where 4 channels * length == 28."""
    return nn.Sequential(nn.Conv1d(2, 4, 3), nn.MaxPool1d(2), nn.Flatten(), nn.Linear(28, 5)).eval()


def defined_sizes_1d(model: nn.Module) -> list[int]:
    sizes = []
    for size in range(1, 40):
        try:
            with torch.no_grad():
                model(torch.zeros(1, 2, size))
        except RuntimeError:
            continue
        sizes.append(size)
    return sizes


def network_sizes_1d(net: Network) -> list[int]:
    sizes = []
    for size in range(1, 40):
        try:
            net.check({net.dims[0]: size})
        except ShapeError:
            continue
        sizes.append(size)
    return sizes


def test_linear_after_flatten_on_one_axis() -> None:
    model = classifier_1d()
    net = from_torch(model, (1, 2, "L"))
    assert last_node(net).op == "linear" and last_node(net).amount == "7"
    assert network_sizes_1d(net) == defined_sizes_1d(model) == [16, 17]
    assert net.valid_inputs()["L"].describe() == {"period": 1, "residues": [], "from": 18, "below": [16, 17]}


def test_a_fixed_axis_has_a_number_and_no_valid_set() -> None:
    model = chain().eval()
    net = from_torch(model, (1, 1, "H", 32))
    assert net.dims == ("H", "W") and net.fixed == (("W", 32),)
    assert set(net.valid_inputs()) == {"H"}
    outcome = torch_outcome(model, 32, 32)
    assert outcome is not None and net.output_size()["W"] == outcome[1]
    for h in range(1, 40):
        assert network_outcome(net, h, 32, False) == torch_outcome(model, h, 32), h
    with pytest.raises(SpecError, match="axis W has the fixed size 32"):
        net.check({"H": 9, "W": 31})
    # A fixed size the network refuses is an error naming the node, as torch refuses it.
    assert torch_outcome(model, 4, 4) is None
    with pytest.raises(ShapeError, match=r"^node .* at W=4 "):
        from_torch(model, ["1", "1", "H", "4"])


def test_input_shape_is_checked() -> None:
    with pytest.raises(SpecError, match="the spatial name H appears twice"):
        from_torch(chain(), ["1", "1", "H", "H"])
    with pytest.raises(SpecError, match=r"expected a torch nn\.Module, got int"):
        from_torch(3)


FACTORY = """
import torch.nn as nn

def make():
    return nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU())

def broken():
    raise ValueError("no weights")

not_a_module = 3
make_int = lambda: 3
"""


def test_from_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "symconv_test_models.py").write_text(textwrap.dedent(FACTORY), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "symconv_test_models", raising=False)
    try:
        net = from_factory("symconv_test_models:make", ["1", "3", "H", "W"])
        assert net.check({"H": 9, "W": 10}) == {"H": 4, "W": 4}
        assert (
            load_network("symconv_test_models:make", ["1", "3", "H", "W"]).output_size() == net.output_size()
        )
        cases = {
            "symconv_no_such_module:make": "cannot import symconv_no_such_module",
            "symconv_test_models:missing": "has no attribute 'missing'",
            "symconv_test_models:not_a_module": "is not callable",
            "symconv_test_models:make_int": r"returned int, not a torch nn.Module",
            "symconv_test_models:broken": r"calling symconv_test_models:broken\(\) failed: ValueError: no",
            "symconv_test_models": "pkg.module:factory",
        }
        for text, message in cases.items():
            with pytest.raises(SpecError, match=message):
                from_factory(text, ["1", "3", "H", "W"])
    finally:
        sys.modules.pop("symconv_test_models", None)


def test_import_symconv_stays_light() -> None:
    code = "import sys, symconv, symconv.nets.importers; print('torch' in sys.modules, 'onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# ONNX: the same models exported, read back, and held to onnxruntime. onnx is imported in each test, so the
# torch tests above still run where it is missing.


def _onnx_modules() -> tuple[Any, Any]:
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    return onnx, ort


def export(
    module: nn.Module,
    path: Path,
    shape: tuple[int, ...],
    names: tuple[str, ...] = ("H", "W"),
    dynamic: dict[int, str] | None = None,
    **options: Any,
) -> Path:
    """The TorchScript exporter (dynamo=False), which needs no onnxscript; the spatial axes dynamic (`names`
    from axis 2 on, or the axes `dynamic` names), `options` passed on (opset_version=17)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                module,
                (torch.zeros(*shape),),
                str(path),
                dynamo=False,
                input_names=["x"],
                output_names=["y"],
                dynamic_axes={"x": dynamic if dynamic is not None else dict(enumerate(names, start=2))},
                **options,
            )
        except (ImportError, ModuleNotFoundError) as error:
            pytest.skip(f"torch.onnx.export is unavailable here: {error}")
    return path


def ort_outcome(session: Any, h: int, w: int, rank: int) -> Outcome:
    import numpy

    try:
        (out,) = session.run(None, {"x": numpy.zeros((1, 1, h, w), dtype=numpy.float32)})
    except Exception:  # onnxruntime's refusals have no common base class
        return None
    return tuple(out.shape[2:]) if rank > 2 else ()


def session_for(ort: Any, path: Path) -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 4
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def test_onnx_import_matches_onnxruntime_and_torch(
    model: tuple[str, nn.Module], expected: dict[tuple[int, int], Outcome], tmp_path: Path
) -> None:
    _, ort = _onnx_modules()
    from symconv.nets.importers.onnx import from_onnx

    name, module = model
    size = next(h for (h, w), outcome in expected.items() if h == w and outcome is not None)
    path = export(module, tmp_path / f"{name}.onnx", (1, 1, size, size))
    net = from_onnx(path)
    assert net.dims == ("H", "W") and net.output == "output"
    flat = name == "resnet"
    session = session_for(ort, path)
    got = network_outcomes(net, PAIRS, flat)
    assert got == {(h, w): ort_outcome(session, h, w, 2 if flat else 4) for h, w in PAIRS}
    assert got == expected
    # Network.check agrees at one defined and one undefined pair (where the model has one).
    for defined in (True, False):
        pair = next((p for p, o in got.items() if (o is not None) == defined), None)
        if pair is not None:
            h, w = pair
            assert network_outcome(net, h, w, flat) == got[pair]


def test_onnx_linear_after_flatten_on_one_axis(tmp_path: Path) -> None:
    _onnx_modules()
    from symconv.nets.importers.onnx import from_onnx

    model = classifier_1d()
    net = from_onnx(export(model, tmp_path / "classifier.onnx", (1, 2, 16), ("L",)))
    assert net.dims == ("L",)
    assert [node.op for node in net.nodes][-3:] == ["flatten", "linear", "identity"]
    assert network_sizes_1d(net) == defined_sizes_1d(model)


def _hand_built() -> Any:
    """Conv (pads begin 0, end 1) > Conv (SAME_UPPER, stride 2) > Relu > MaxPool (ceil) > Resize x2 >
    DepthToSpace, plus a 1x1 Conv (VALID) added back: what torch exports do not produce."""
    import numpy
    from onnx import TensorProto, helper, numpy_helper

    def weight(name: str, shape: tuple[int, ...]) -> Any:
        return numpy_helper.from_array(numpy.zeros(shape, dtype=numpy.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], name="asym", kernel_shape=[3, 3], pads=[0, 0, 1, 1]),
        helper.make_node(
            "Conv",
            ["a", "w2"],
            ["b"],
            name="same",
            kernel_shape=[3, 3],
            strides=[2, 2],
            auto_pad="SAME_UPPER",
        ),
        helper.make_node("Relu", ["b"], ["c"], name="relu"),
        helper.make_node(
            "MaxPool", ["c"], ["d"], name="pool", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1
        ),
        helper.make_node("Resize", ["d", "", "scales"], ["e"], name="resize", mode="nearest"),
        helper.make_node("DepthToSpace", ["e"], ["f"], name="d2s", blocksize=2),
        helper.make_node("Conv", ["f", "w3"], ["g"], name="valid", kernel_shape=[1, 1], auto_pad="VALID"),
        helper.make_node("Add", ["f", "g"], ["y"], name="sum"),
    ]
    inits = [
        weight("w1", (4, 1, 3, 3)),
        weight("w2", (8, 4, 3, 3)),
        weight("w3", (2, 2, 1, 1)),
        numpy_helper.from_array(numpy.array([1, 1, 2, 2], dtype=numpy.float32), "scales"),
    ]
    graph = helper.make_graph(
        nodes,
        "hand",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, "height", "width"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "c", "h", "w"])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)], ir_version=9)


def test_hand_built_onnx_graph(tmp_path: Path) -> None:
    onnx, ort = _onnx_modules()
    from symconv.nets.importers.onnx import from_onnx

    path = tmp_path / "hand.onnx"
    onnx.save(_hand_built(), str(path))
    net = from_onnx(path)
    assert net.dims == ("height", "width")
    specs = [node.layer.spec for node in net.nodes if node.layer is not None]
    assert specs[:3] == [
        "onnx.conv(k=3, s=1, p=((0, 1), (0, 1)))",
        "onnx.conv(k=3, s=2, p=same_upper)",
        "onnx.maxpool(k=2, s=2, p=0, ceil=true, opset=19)",
    ]
    # Read as onnxruntime runs it, the network refuses and answers as a session does.
    runtime = from_onnx(path, convention="ort")
    assert [node.layer.spec for node in runtime.nodes if node.layer is not None][2].startswith("ort.maxpool")
    session = session_for(ort, path)
    expected = {(h, w): ort_outcome(session, h, w, 4) for h, w in PAIRS}
    assert network_outcomes(runtime, PAIRS, False) == expected


def _single(node: Any, inits: list[Any] | None = None, shape: list[Any] | None = None) -> Any:
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [node],
        "one",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape or [1, 1, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "c", "h", "w"])],
        inits or [],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)], ir_version=9)


def test_net_reads_onnx_as_standard_or_runtime(tmp_path: Path, capsys: Any) -> None:
    """`net --convention ort` reads an ONNX model as onnxruntime runs it: a dilated Conv with auto_pad SAME_UPPER
    is defined by the standard (ceil(i/s)) and refused by onnxruntime, and each answer is its library's."""
    onnx, ort = _onnx_modules()
    import numpy
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator

    from symconv.cli import main

    weight = numpy_helper.from_array(numpy.ones((1, 1, 3, 3), dtype=numpy.float32), "w")
    conv = onnx.helper.make_node(
        "Conv",
        ["x", "w"],
        ["y"],
        kernel_shape=[3, 3],
        strides=[2, 2],
        dilations=[2, 2],
        auto_pad="SAME_UPPER",
    )
    path = tmp_path / "same.onnx"
    onnx.save(_single(conv, [weight]), str(path))
    assert main(["net", str(path), "--json", "--no-receptive-field", "--check", "H=5,W=6"]) == 0
    outputs: Any = ReferenceEvaluator(str(path)).run(
        None, {"x": numpy.zeros((1, 1, 5, 6), dtype=numpy.float32)}
    )
    (standard,) = outputs
    assert f'"output": {{"H": {standard.shape[2]}, "W": {standard.shape[3]}}}' in capsys.readouterr().out
    assert main(["net", str(path), "--convention", "ort"]) == 2
    assert "dilation" in capsys.readouterr().err
    try:
        runtime = ort_outcome(session_for(ort, path), 5, 6, 4)
    except Exception:  # onnxruntime refuses the model when the session is made
        runtime = None
    assert runtime is None
    # The convention names how to read an ONNX file; a chain names its framework in each layer.
    assert main(["net", "conv(k=3)", "--convention", "ort"]) == 2
    assert "applies to an ONNX model (.onnx) only" in capsys.readouterr().err


def test_onnx_refusals_name_the_op(tmp_path: Path) -> None:
    onnx, _ = _onnx_modules()
    import numpy
    from onnx import helper

    from symconv.nets.importers.onnx import from_onnx

    cases = [
        (
            helper.make_node("Pad", ["x", "pads"], ["y"], name="padder", mode="wrap"),
            [onnx.numpy_helper.from_array(numpy.zeros(8, dtype=numpy.int64), "pads")],
            r"Pad node 'padder': mode='wrap' is not modelled",
        ),
        (
            helper.make_node("MaxPool", ["x"], ["y"], name="mp", kernel_shape=[2, 3, 3]),
            None,
            r"MaxPool node 'mp' has a 3-axis kernel; the input has 2 spatial axes",
        ),
        (
            helper.make_node("Unique", ["x"], ["y"], name="uq"),
            None,
            r"Unique node 'uq': the operator Unique on the data is not read from ONNX, whose reader takes Add, "
            r".* a model written in PyTorch is read with more operators from its module",
        ),
    ]
    for index, (node, inits, message) in enumerate(cases):
        path = tmp_path / f"bad{index}.onnx"
        onnx.save(_single(node, inits), str(path))
        with pytest.raises(SpecError, match=message):
            from_onnx(path)


def test_onnx_fixed_input_sizes_become_symbols(tmp_path: Path) -> None:
    onnx, _ = _onnx_modules()
    from onnx import helper

    from symconv.nets.importers.onnx import from_onnx

    path = tmp_path / "fixed.onnx"
    node = helper.make_node("MaxPool", ["x"], ["y"], name="mp", kernel_shape=[2, 2], strides=[2, 2])
    onnx.save(_single(node, shape=[1, 3, 32, "w"]), str(path))
    net = from_onnx(path)
    assert net.dims == ("H", "w")
    assert net.check({"H": 9, "w": 31}) == {"H": 4, "w": 15}


def test_onnx_input_shape_names_and_fixes_the_axes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, ort = _onnx_modules()
    from symconv.cli import main
    from symconv.nets.importers.onnx import from_onnx

    module = UNet().eval()
    path = export(module, tmp_path / "unet.onnx", (1, 1, 8, 8))
    session = session_for(ort, path)
    # Names: the same network, its axes called as the shape says (valid sets as in test_unet_has_skips...).
    named = load_network(str(path), ["1", "1", "Y", "X"])
    assert named.dims == ("Y", "X") and named.fixed == ()
    unet = {"period": 4, "residues": [0], "from": 1, "below": []}
    assert {dim: v.describe() for dim, v in named.valid_inputs().items()} == {"Y": unet, "X": unet}
    assert str(named.output_size()["X"]) == "X"
    # An integer fixes its axis (the model's name kept): checked against onnxruntime.
    fixed = load_network(str(path), ["1", "1", "H", "12"])
    assert fixed.dims == ("H", "W") and fixed.fixed == (("W", 12),)
    valid_h = fixed.valid_inputs()
    assert set(valid_h) == {"H"}
    assert fixed.output_size()["W"] == 12
    for h in range(1, 30):
        outcome = tuple(fixed.check({"H": h}).values()) if h in valid_h["H"] else None
        assert outcome == ort_outcome(session, h, 12, 4), h
    # A size the model refuses, a wrong rank, a wrong channel count: errors naming what is wrong.
    assert ort_outcome(session, 8, 10, 4) is None
    with pytest.raises(ShapeError, match=r"sizes of .* differ at W=10"):
        from_onnx(path, (1, 1, "H", 10))
    with pytest.raises(SpecError, match=r"--input-shape 1,1,H has 3 entries; the input x of .* has rank 4"):
        from_onnx(path, ["1", "1", "H"])
    with pytest.raises(SpecError, match=r"--input-shape 1,3,H,W gives 3 channels; the input x of .* has 1"):
        from_onnx(path, ["1", "3", "H", "W"])
    # The command line passes the names on.
    assert main(["net", str(path), "--input-shape", "1,1,A,B", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"A": {"period": 4' in out and '"B": {"period": 4' in out


def test_onnx_unreadable_files(tmp_path: Path) -> None:
    _onnx_modules()
    from symconv.nets.importers.onnx import from_onnx

    with pytest.raises(SpecError, match=r"cannot read ONNX file .*missing\.onnx"):
        from_onnx(tmp_path / "missing.onnx")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00\xffnot a protobuf\x13\x37" * 10)
    with pytest.raises(SpecError, match=r"garbage\.onnx is not an ONNX model: DecodeError"):
        from_onnx(garbage)
    with pytest.raises(SpecError, match=r"garbage\.onnx is not an ONNX model"):
        load_network(str(garbage))


@pytest.mark.parametrize(("depth", "pool"), [(3, False), (4, True), (5, False)])
def test_onnx_output_formula_is_the_torch_formula(depth: int, pool: bool, tmp_path: Path) -> None:
    """A U-Net exported to ONNX gives the same output-size formula as its PyTorch import, term for term (not a
    nested Piecewise that only evaluates alike)."""
    _onnx_modules()
    from symconv.nets.importers.onnx import from_onnx
    from tests.test_network_suite import UNet

    model = UNet(depth, pool).eval()
    ours = from_torch(model, (1, 1, "L")).output_size()
    path = export(model, tmp_path / "unet.onnx", (1, 1, 2**depth * 4), ("L",))
    assert from_onnx(path).output_size() == ours
    assert len(str(ours["L"])) < 40, ours


@pytest.mark.parametrize("shape", [None, "1,3,H,W", 3])
def test_an_input_shape_that_is_not_a_sequence_is_refused_by_name(shape: object) -> None:
    with pytest.raises(SpecError, match="input_shape must be a tuple or list of sizes and names"):
        from_torch(nn.Conv2d(3, 3, 3), shape)  # type: ignore[arg-type]
