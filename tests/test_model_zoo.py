"""The model zoo: symconv's valid sets and output sizes against running real architectures in PyTorch.

For every architecture of tests/zoo.py and every axis, the model is run on CPU (tiny channel widths: a few
milliseconds per run, faster than the meta device's Python shape functions) at every size 1..300 of that axis
(more for a 1-D audio model whose smallest input is larger), the other axes held at a size where it runs. A run
that raises, or returns an empty axis, is an invalid size; symconv must say exactly that (`valid_inputs()`), and
where the model runs, `output_size()` must give the size of every spatial axis of its output. Architectures
symconv does not read yet are strict xfails that name the refusal's wording and the feature they need: when the
feature lands they pass, and the mark must go.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from symconv.core.errors import SymconvError  # noqa: E402
from symconv.nets.importers.torch import from_torch  # noqa: E402

from .zoo import HW, ZOO, Entry  # noqa: E402

# PyTorch's note that an even kernel with padding='same' copies the input (the WaveNet entry's last layer)
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")]


class KnownRefusal(Exception):
    """symconv refused the model with the refusal its entry names."""


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    # Tiny tensors: threads cost more than they bring, and the machine is shared.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def sweep(entry: Entry) -> range:
    """The sizes each axis is swept over: 1..300, or up to twice the held size when that is larger."""
    return range(1, max(300, 2 * max(entry.held)) + 1)


def run(model: nn.Module, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The spatial output shape of the model on zeros of `shape` (an axis may be 0: PyTorch returns empty
    tensors from slices), or None where PyTorch refuses the size."""
    try:
        out = model(torch.zeros(shape))
    except (RuntimeError, ValueError, AssertionError):  # AssertionError: torch._assert on the sizes
        return None
    return tuple(out.shape[2:])


def read(entry: Entry, model: nn.Module) -> object:
    """The model read by symconv and analysed (a refusal may come from either step)."""
    try:
        net = from_torch(model, entry.shape)
        net.valid_inputs()
        net.output_size()
        return net
    except SymconvError as error:
        if entry.refusal and entry.refusal in str(error):
            raise KnownRefusal(f"{entry.name}: {error}") from None
        raise


def at(expr: Any, sizes: dict[str, int]) -> int:
    free = {s: sizes[s.name] for s in getattr(expr, "free_symbols", ())}
    return int(expr.subs(free)) if free else int(expr)


def marks(entry: Entry) -> list[pytest.MarkDecorator]:
    if not entry.needs:
        return []
    return [
        pytest.mark.xfail(
            strict=True, raises=KnownRefusal, reason=f"refused ({entry.refusal}): needs {entry.needs}"
        )
    ]


def disagreements(entry: Entry, model: nn.Module, net: Any) -> list[str]:
    """Every swept size where running `model` and symconv's reading `net` disagree (validity or output)."""
    dims = [d for d in entry.shape[2:] if isinstance(d, str)]
    valid, output = net.valid_inputs(), net.output_size()
    held = dict(zip(dims, entry.held, strict=True))
    wrong: list[str] = []
    batch = tuple(int(n) for n in entry.shape[:2])  # N and C are numbers; the names are spatial
    with torch.inference_mode():
        assert run(model, (*batch, *entry.held)) is not None, f"{entry.name} fails at {held}"
        for dim in dims:
            for size in sweep(entry):
                sizes = {**held, dim: size}
                got = run(model, (*batch, *sizes.values()))
                says = all(sizes[d] in valid[d] for d in dims)
                if says != (got is not None):
                    ran = "runs" if got else "refuses"
                    wrong.append(
                        f"{dim}={size}: PyTorch {ran}, symconv says {'valid' if says else 'invalid'}"
                    )
                elif got is not None and (predicted := tuple(at(output[d], sizes) for d in dims)) != got:
                    wrong.append(f"{dim}={size} (others {held}): output {got}, symconv {predicted}")
    return wrong


@pytest.mark.parametrize("entry", [pytest.param(e, id=e.name, marks=marks(e)) for e in ZOO])
def test_model_agrees_with_pytorch(entry: Entry) -> None:
    torch.manual_seed(0)
    model = entry.build().eval()
    wrong = disagreements(entry, model, read(entry, model))
    assert not wrong, f"{entry.name}: {len(wrong)} sizes differ, first: " + "; ".join(wrong[:5])


def test_a_wrong_reading_is_caught() -> None:
    """The comparison fails where symconv's answer is another model's: MobileNetV2 read (every size, output
    ceil(H/32)), LeNet-5 run (from 16, output floor(H/4) - 3)."""
    mobilenet, lenet = (next(e for e in ZOO if e.name == name) for name in ("mobilenet_v2", "lenet5"))
    wrong = disagreements(lenet, lenet.build().eval(), from_torch(mobilenet.build().eval(), HW))
    assert "H=1: PyTorch refuses, symconv says valid" in wrong, wrong[:3]
    assert "H=300 (others {'H': 20, 'W': 28}): output (72, 4), symconv (10, 1)" in wrong, wrong[-3:]


def test_zoo_is_large_and_varied() -> None:
    """The issue's list: at least 25 architectures, 1-D, 2-D and 3-D, non-square held sizes."""
    assert len(ZOO) >= 25
    assert {len(e.shape) for e in ZOO} == {3, 4, 5}
    assert all(len(set(e.held)) == len(e.held) for e in ZOO if len(e.held) > 1)
