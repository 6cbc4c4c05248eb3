"""Models a user exports to ONNX or reads from PyTorch, checked against the libraries that run them: a
milesial-style U-Net (F.pad to the skip's size), YOLOv5's Focus stem and a LeNet with a Linear head read with
one axis fixed, each against onnxruntime at every size of the free axis; what a LeNet logit reads, against
PyTorch's gradients; and the command line on a user's first mistakes (exit 2, one line, no traceback)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import numpy as np  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

import symconv  # noqa: E402
from symconv.cli import main  # noqa: E402
from symconv.core.arith import evaluate  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402
from symconv.nets.network import Network  # noqa: E402
from symconv.nets.receptive import intervals  # noqa: E402

from .test_importers import export as exported  # noqa: E402

SIZES = range(1, 49)


class LeNet(nn.Module):
    """LeCun's LeNet-5 as PyTorch's tutorial writes it: two convolutions and poolings, flatten, Linear(400)."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5)
        self.c2 = nn.Conv2d(6, 16, 5)
        self.fc = nn.Linear(16 * 5 * 5, 10)

    def forward(self, x: Any) -> Any:
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        return self.fc(torch.flatten(x, 1))


class Focus(nn.Module):
    """YOLOv5's Focus stem: four strided slices concatenated on the channels, then a convolution."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(12, 4, 3, 1, 1)

    def forward(self, x: Any) -> Any:
        x = torch.cat([x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]], 1)
        return self.conv(x)


class Up(nn.Module):
    """milesial's Up: a transposed convolution, F.pad to the skip's size, concatenation, a convolution."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(c, c, 2, stride=2)
        self.conv = nn.Conv2d(2 * c, c, 3, padding=1)

    def forward(self, x1: Any, x2: Any) -> Any:
        x1 = self.up(x1)
        dy, dx = x2.size()[2] - x1.size()[2], x2.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class UNet(nn.Module):
    """milesial's Pytorch-UNet, depth 2, tiny widths."""

    def __init__(self, c: int = 2) -> None:
        super().__init__()
        self.inc = nn.Conv2d(3, c, 3, padding=1)
        self.d1 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(c, c, 3, padding=1))
        self.d2 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(c, c, 3, padding=1))
        self.u1, self.u2 = Up(c), Up(c)

    def forward(self, x: Any) -> Any:
        x1 = self.inc(x)
        x2 = self.d1(x1)
        return self.u2(self.u1(self.d2(x2), x2), x1)


def export(model: nn.Module, shape: tuple[int, ...], path: Path) -> str:
    """The model exported as the README says: H and W dynamic, the TorchScript exporter."""
    return str(exported(model.eval(), path, shape))


@functools.cache
def session(path: str) -> Any:
    options = ort.SessionOptions()
    options.log_severity_level = 4  # a refused size is an expected outcome here, not worth a log line
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def runs(path: str, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """onnxruntime's output shape at that input shape, or None where it refuses it."""
    try:
        out = session(path).run(None, {"x": np.random.rand(*shape).astype(np.float32)})[0]
    except Exception:  # onnxruntime raises its own failure classes; any of them is a refusal here
        return None
    return tuple(out.shape)


def agrees_with_ort(net: Network, path: str, dims: list[int | str], axis: str) -> list[str]:
    """Where symconv's valid set or output size along `axis` differs from onnxruntime's, at SIZES."""
    valid, size = net.valid_inputs()[axis], net.output_size()
    spatial = [d for d in dims[2:] if isinstance(d, str)]
    wrong = []
    for n in SIZES:
        shape = tuple(n if d == axis else int(d) for d in dims)
        got = runs(path, shape)
        if (n in valid) != (got is not None):
            wrong.append(f"{axis}={n}: symconv {'valid' if n in valid else 'invalid'}, onnxruntime {got}")
        elif got is not None and len(got) == len(dims):
            at = {axis: n}
            want = tuple(evaluate(size[name], at) for name in spatial)
            if tuple(got[2 + dims[2:].index(name)] for name in spatial) != want:
                wrong.append(f"{axis}={n}: symconv {want}, onnxruntime {got}")
    return wrong


def test_onnx_focus_valid_sets_and_sizes_match_onnxruntime(tmp_path: Path) -> None:
    path = export(Focus(), (1, 3, 16, 16), tmp_path / "focus.onnx")
    net = symconv.network(path, input_shape="1,3,H,W")
    assert agrees_with_ort(net, path, [1, 3, "H", 16], "H") == []
    assert agrees_with_ort(net, path, [1, 3, 16, "W"], "W") == []
    assert [n for n in range(1, 9) if n in net.valid_inputs()["W"]] == [2, 4, 6, 8]


def test_onnx_lenet_with_one_axis_fixed_matches_onnxruntime(tmp_path: Path) -> None:
    path = export(LeNet(), (1, 1, 32, 32), tmp_path / "lenet.onnx")
    net = symconv.network(path, input_shape="1,1,32,W")
    assert agrees_with_ort(net, path, [1, 1, 32, "W"], "W") == []
    assert [n for n in SIZES if n in net.valid_inputs()["W"]] == [32, 33, 34, 35]


def test_onnx_milesial_unet_sizes_match_onnxruntime_where_the_standard_defines_them(tmp_path: Path) -> None:
    # The ONNX standard leaves a pool over an input shorter than its kernel undefined (shape inference and
    # the reference evaluator disagree), so sizes below 4 are refused there while onnxruntime runs them:
    # compare on the standard's valid set, which must hold every size from 4 on.
    path = export(UNet(), (1, 3, 16, 16), tmp_path / "unet.onnx")
    net = symconv.network(path, input_shape="1,3,H,W")
    valid = net.valid_inputs()["H"]
    assert [n for n in SIZES if n not in valid] == [1, 2, 3]
    for n in SIZES[3:]:
        assert runs(path, (1, 3, n, 9)) == (1, 2, n, 9)
        assert evaluate(net.output_size()["H"], {"H": n}) == n


def test_lenet_with_one_axis_fixed_matches_pytorch() -> None:
    model = LeNet().eval()
    valid = from_torch(model, (1, 1, 32, "W")).valid_inputs()["W"]
    for n in SIZES:
        try:
            with torch.no_grad():
                model(torch.zeros(1, 1, 32, n))
            ran = True
        except RuntimeError:
            ran = False
        assert (n in valid) == ran, n


def read_by_logits(model: nn.Module, width: int) -> set[tuple[int, int]]:
    """For each logit, the first and last W position with a nonzero gradient: the logit reads each of them
    (max pooling passes the gradient to one position of its window, so this is a lower bound of the field)."""
    fields = set()
    for k in range(10):
        x = torch.randn(1, 1, 32, width, dtype=torch.float64, requires_grad=True)
        model.double()(x)[0, k].backward()
        read = (x.grad[0, 0] != 0).any(dim=0).nonzero().flatten().tolist()
        fields.add((read[0], read[-1]))
    return fields


def test_a_linear_head_reads_every_position_the_flatten_holds() -> None:
    model = LeNet().eval()
    assert read_by_logits(model, 33) == {(0, 31)}
    net = from_torch(model, (1, 1, 32, "W"))
    assert set(intervals(net, 33, dim="W")) == {(0, 31)}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["shape", "nn.conv2d(3, 64, 3)", "--in", "224"], "did you mean nn.Conv2d?"),
        (["solve", "conv(k=?, s=2, p=1)", "--in", "224", "--out", "112", "--where", "k = 3"], "k == 3"),
        (["shape", "conv(k=(3, 5, 7), s=2)", "--in", "224,224"], "the input has 2"),
        (["shape", "nn.Conv2d(3, 64, (3, 5, 7))", "--in", "224"], "Conv2d has 2 spatial axes"),
        (["net", "conv(k=3) > maxpool(k=2)", "--at", "4,4"], "--at takes a size per input axis"),
        (["port", "tf.conv(k=3, s=2, p=same)", "--to", "pytorch"], "choose from 'torch'"),
    ],
)
def test_first_day_mistakes_are_one_line_errors(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = run(argv, capsys)
    assert code == 2
    assert text.startswith("symconv: error:") and text.count("\n") == 1
    assert says in text


def test_a_reversed_comparison_gets_the_comparison_hint(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run(["prove", "--claim", "floor(i/s) =< ceil(i/s)", "--given", "s >= 1"], capsys)
    assert code == 2
    assert "<=" in text


def test_a_mistyped_keyword_names_the_keyword_meant(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run(["shape", "nn.Conv2d(3, 64, 3, strides=2)", "--in", "224"], capsys)
    assert code == 2
    assert "did you mean stride" in text


def test_shape_refuses_sizes_of_another_rank(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run(["shape", "conv(k=1, s=(2, 2, 2))", "--in", "224,224"], capsys)
    assert code == 2 and "the input has 2" in text
    code, text = run(["shape", "nn.Conv2d(3, 64, 3, stride=2, padding=1)", "--in", "224,224,224"], capsys)
    assert code == 2 and "runs on 2 spatial axes" in text


def test_solve_refuses_sizes_of_another_rank_as_shape_does(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run(["solve", "conv(k=?, s=(2, 2, 2))", "--in", "224,224", "--out", "112,112"], capsys)
    assert code == 2
    assert "the input has 2" in text


def test_solve_keeps_a_class_rank() -> None:
    with pytest.raises(symconv.SpecError, match="2 spatial axes"):
        symconv.solve("nn.Conv2d(3, 64, ?, stride=2, padding=1)", i=(224, 224, 224), o=(112, 112, 112))


def test_onnx_ceil_mode_pool_read_as_onnxruntime_runs_it(tmp_path: Path) -> None:
    # At opset 17 the standard's shape inference keeps a last ceil_mode window that starts in the end padding
    # (5 -> 4 here), which PyTorch and onnxruntime drop (5 -> 3): --convention ort reads what the runtime runs.
    pool = nn.AvgPool2d(2, 2, padding=1, ceil_mode=True)
    path = str(exported(pool, tmp_path / "pool.onnx", (1, 1, 8, 8), opset_version=17))
    net = symconv.network(path, input_shape="1,1,H,W", convention="ort")
    assert agrees_with_ort(net, path, [1, 1, "H", 8], "H") == []
    assert evaluate(net.output_size()["H"], {"H": 5}) == 3 == pool(torch.zeros(1, 1, 5, 8)).shape[2]
    assert evaluate(symconv.network(path, input_shape="1,1,H,W").output_size()["H"], {"H": 5}) == 4
