"""Networks from their sources: a chain string, a TOML network file, an ONNX model or a PyTorch module factory."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from ..core.errors import SpecError
from ..core.limits import read_text
from .network import Network, chain, from_toml


def load_network(
    source: str, input_shape: Sequence[str] | None = None, convention: str | None = None
) -> Network:
    """A chain string, a TOML network file, a .onnx file, or pkg.module:factory returning a torch module.

    `input_shape` (--input-shape 1,3,H,W) names the spatial axes of a chain, an ONNX model or a torch module; an
    integer there fixes that axis. A TOML file names its own axes (dims). `convention` reads an ONNX model as the
    standard ("onnx", the default) or as onnxruntime runs it ("ort"); other sources name their framework in
    their layers, so it applies to ONNX models only.
    """
    path = Path(source)
    if source.endswith(".onnx"):
        from .importers.onnx import from_onnx

        return from_onnx(source, input_shape, convention or "onnx")
    if convention is not None:
        raise SpecError(
            f"a convention ({convention!r}) applies to an ONNX model (.onnx) only: a chain or a TOML network "
            "names the framework in each layer (torch.conv(...), ort.maxpool(...)), a torch module is PyTorch's"
        )
    if path.suffix == ".toml":
        return from_toml(read_text(source, "network file"), source)
    if ":" in source and "(" not in source:
        from .importers.torch import from_factory

        return from_factory(source, input_shape)
    if "->" in source:
        raise SpecError(
            f'{source!r}: a chain joins layers with > (not ->), as in "conv(k=3) > maxpool(k=2, s=2)"'
        )
    if path.suffix in (".py", ".pt", ".pth", ".h5", ".keras", ".pb"):
        raise SpecError(
            f"{source!r} is neither a chain, a .toml network, a .onnx file nor pkg.module:factory: for a PyTorch "
            f"model in {path.name} write {path.stem}:factory when it is a .py file (a function returning the "
            "module, run from that directory); other files are read once exported to ONNX"
        )
    if not input_shape:
        return chain(source)
    from .importers import input_axes

    _, dims, fixed = input_axes(input_shape, "--input-shape")
    net = dataclasses.replace(chain(source, dims), fixed=fixed)
    if fixed:
        net.output_size()  # a fixed size the chain refuses: ShapeError naming the layer
    return net
