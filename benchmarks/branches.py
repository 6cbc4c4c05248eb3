"""Reading forwards that branch on sizes: symconv's guarded trace beside torch.export with dynamic H and W.

For segmentation_models_pytorch's models (whose forward checks `if h % output_stride != 0 or ...: raise`, which
torch.fx alone cannot trace), in the same process: the seconds symconv takes to read the model and derive its
valid set (and that valid set for H), and the seconds torch.export takes with H and W dynamic (32..4096) and what
it gives: the symbols' ranges, or its refusal's first line. Needs segmentation-models-pytorch (an optional
library): run ``python benchmarks/branches.py`` from the repository root (``--only NAME`` for some).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from models import import_torchvision  # torchvision without its compiled operators (smp imports it)

from symconv.core.errors import SymconvError
from symconv.nets.importers.torch import from_torch

MODELS = "FPN DeepLabV3 DeepLabV3Plus PSPNet Linknet UnetPlusPlus PAN".split()


def symconv_read(model: Any) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        described = from_torch(model, (1, 3, "H", "W")).valid_inputs()["H"].describe()
        return time.perf_counter() - start, f"H: {described}"
    except SymconvError as error:
        return time.perf_counter() - start, f"refused: {str(error)[:100]}"


def exported(model: Any) -> tuple[float, str]:
    start = time.perf_counter()
    h, w = torch.export.Dim("H", min=32, max=4096), torch.export.Dim("W", min=32, max=4096)
    try:
        program = torch.export.export(
            model, (torch.zeros(1, 3, 256, 256),), dynamic_shapes={"x": {2: h, 3: w}}
        )
        return time.perf_counter() - start, f"exported, ranges {dict(program.range_constraints)}"
    except Exception as error:  # torch.export refuses in many ways
        text = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return time.perf_counter() - start, f"refused: {type(error).__name__}: {text[:90]}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", action="append", default=[], help="models whose name contains this")
    args = parser.parse_args(argv)
    try:
        import_torchvision()
        smp = __import__("segmentation_models_pytorch")
    except ImportError as error:
        print(f"not installed: segmentation_models_pytorch ({error})")
        return 1
    torch.set_num_threads(1)
    names = [n for n in MODELS if not args.only or any(o in n for o in args.only)]
    print(f"{'model':24s} {'symconv s':>9s} {'export s':>9s}  symconv / torch.export")
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = getattr(smp, name)("resnet34", encoder_weights=None).eval()
            ours, answer = symconv_read(model)
            theirs, result = exported(model)
        print(f"{name + '(resnet34)':24s} {ours:9.2f} {theirs:9.2f}  {answer}")
        print(f"{'':24s} {'':9s} {'':9s}  {result}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
