"""How many real architectures symconv reads: torchvision's, timm's and segmentation_models_pytorch's, by name.

For each architecture of a fixed, named list: build it (no weights, on the meta device: nothing is computed),
read it with ``from_torch`` and derive its output sizes and valid input sets (the seconds printed), or print the
refusal's first line. Each one read is then run on the meta device at a sample of sizes of each axis (the
other axes held at 224, or 16 frames for video), and is "exact" when symconv's valid set and output size agree
with PyTorch at every one. The last line, "read N of M", is the README's figure. A forward that branches on
sizes, which torch.fx alone cannot trace (segmentation_models_pytorch's check that the input is a multiple of the
output stride), is read by tracing at a sample size with each branch a guard whose other side must refuse the
input (symconv.nets.importers.branches); its seconds include those extra traces.

The libraries are optional (not symconv's dependencies): ``pip install torchvision timm
segmentation-models-pytorch``; an absent one is reported and its models counted as not read. torchvision's
wheel on the package registry is a CUDA build whose compiled operators do not load against the CPU torch; its
model definitions are plain Python, so it is imported with the registrations of those operators skipped
(`import_torchvision`). Run from the repository root: ``python benchmarks/models.py`` (``--only NAME`` for some,
``--library torchvision|timm|smp``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import types
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from symconv.core.errors import SymconvError
from symconv.nets.importers.torch import from_torch

TORCHVISION = (
    "alexnet vgg11 vgg16_bn resnet18 resnet50 resnext50_32x4d wide_resnet50_2 squeezenet1_0 squeezenet1_1 "
    "densenet121 googlenet inception_v3 mobilenet_v2 mobilenet_v3_small mobilenet_v3_large mnasnet1_0 "
    "shufflenet_v2_x1_0 efficientnet_b0 efficientnet_v2_s regnet_x_400mf regnet_y_400mf convnext_tiny vit_b_16 "
    "swin_t swin_v2_t maxvit_t"
).split()
TORCHVISION_SEGMENTATION = (
    "fcn_resnet50 deeplabv3_resnet50 deeplabv3_mobilenet_v3_large lraspp_mobilenet_v3_large".split()
)
TORCHVISION_VIDEO = "r3d_18 mc3_18 r2plus1d_18 s3d".split()
TORCHVISION_DETECTION = (
    "resnet50",
    "mobilenet_v3_large",
)  # FPN backbones of Faster R-CNN and its mobile form
TIMM = (
    "resnet50d tf_efficientnet_b0 efficientnet_b0 mobilenetv3_large_100 convnext_tiny vit_tiny_patch16_224 "
    "swin_tiny_patch4_window7_224 hrnet_w18_small dla34 regnety_002 cspdarknet53 xception41 inception_v4 "
    "res2net50_26w_4s ghostnet_100 rexnet_100 efficientformer_l1 poolformer_s12 coatnet_0_rw_224 "
    "mixnet_s"
).split()
SMP = "Unet UnetPlusPlus FPN DeepLabV3 DeepLabV3Plus PSPNet Linknet MAnet PAN".split()

VIDEO = (1, 3, "T", "H", "W")

# Sizes tried per axis: the smallest ones (where layers refuse), powers of two and their neighbours (where
# divisibility rules bite), and around 224.
SAMPLE = sorted(
    set(range(1, 9))
    | {n + d for n in (16, 32, 64, 128, 256) for d in (-1, 0, 1)}
    | {100, 150, 199, 223, 224, 225, 300}
)


@dataclass(frozen=True)
class Architecture:
    library: str
    name: str
    build: Callable[[], Any]
    shape: tuple[int | str, ...] = (1, 3, "H", "W")
    held: tuple[int, ...] = (224, 224)


@dataclass(frozen=True)
class Result:
    architecture: Architecture
    read: bool
    seconds: float
    note: str  # the refusal's first line, or how exact the reading is
    exact: bool | None = None


def import_torchvision() -> Any:
    """torchvision's Python package without its compiled operators (nms, roi_align, ...): the registry's wheel
    is a CUDA build whose library fails to load against the CPU torch, and registering fake kernels for its
    operators then fails at import. Only the registration modules are skipped; the model code is unchanged."""
    if "torchvision" not in sys.modules:
        for name in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
            sys.modules.setdefault(name, types.ModuleType(name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Failed to load image Python extension", the missing operators
        return importlib.import_module("torchvision")


def architectures(libraries: Sequence[str]) -> tuple[list[Architecture], list[str]]:
    """The named list, and a line per library that is not installed (its models are counted as not read)."""
    found: list[Architecture] = []
    missing: list[str] = []
    if "torchvision" in libraries:
        tv = _optional("torchvision", missing)

        def get(name: str, **kwargs: Any) -> Callable[[], Any]:
            return _call(tv.models.get_model, name, **kwargs) if tv else _absent

        found += [Architecture("torchvision", n, get(n)) for n in TORCHVISION]
        found += [
            Architecture("torchvision", n, get(n, weights_backbone=None)) for n in TORCHVISION_SEGMENTATION
        ]
        found += [Architecture("torchvision", n, get(n), VIDEO, (16, 112, 112)) for n in TORCHVISION_VIDEO]
        found += [
            Architecture("torchvision", f"{n}_fpn", _fpn_backbone(n) if tv else _absent)
            for n in TORCHVISION_DETECTION
        ]
    if "timm" in libraries:
        timm = _optional("timm", missing)
        make = (lambda n: _call(timm.create_model, n, pretrained=False)) if timm else (lambda n: _absent)
        found += [Architecture("timm", n, make(n)) for n in TIMM]
    if "smp" in libraries:
        smp = _optional("segmentation_models_pytorch", missing)
        make = (
            (lambda n: _call(getattr(smp, n), "resnet34", encoder_weights=None))
            if smp
            else (lambda n: _absent)
        )
        found += [Architecture("smp", f"{n}(resnet34)", make(n)) for n in SMP]
    return found, missing


def wider(libraries: Sequence[str]) -> tuple[list[Architecture], list[str]]:
    """A wider list than the named one, for finding what is still refused: every torchvision classification,
    segmentation and video model the named list leaves out, and the shortest-named model of each timm module
    (one per family) not in it; no segmentation_models_pytorch models (the named list has one per decoder)."""
    found: list[Architecture] = []
    missing: list[str] = []
    named = set(TORCHVISION) | set(TORCHVISION_SEGMENTATION) | set(TORCHVISION_VIDEO) | set(TIMM)
    if "torchvision" in libraries and (tv := _optional("torchvision", missing)):
        models = tv.models
        for module, shape, held, kwargs in (
            (models, (1, 3, "H", "W"), (224, 224), {}),
            (models.segmentation, (1, 3, "H", "W"), (224, 224), {"weights_backbone": None}),
            (models.video, VIDEO, (16, 112, 112), {}),
        ):
            for n in models.list_models(module=module):
                if n not in named:
                    found.append(
                        Architecture("torchvision", n, _call(models.get_model, n, **kwargs), shape, held)
                    )
    if "timm" in libraries and (timm := _optional("timm", missing)):
        for module in timm.list_modules():
            left = [n for n in timm.list_models(module=module) if n not in named]
            if left:
                n = min(left, key=lambda m: (len(m), m))
                found.append(Architecture("timm", n, _call(timm.create_model, n, pretrained=False)))
    return found, missing


def _fpn_backbone(name: str) -> Callable[[], Any]:
    """The FPN backbone torchvision's detection models build on `name` (a dict of feature maps)."""
    utils = importlib.import_module("torchvision.models.detection.backbone_utils")
    if name.startswith("resnet"):
        return _call(utils.resnet_fpn_backbone, backbone_name=name, weights=None)
    return _call(utils.mobilenet_backbone, backbone_name=name, weights=None, fpn=True)


def _optional(module: str, missing: list[str]) -> Any:
    """An optional library (its models need torchvision's), or None with a line in `missing` saying why."""
    try:
        import_torchvision()
        return importlib.import_module(module)
    except Exception as error:  # not installed, or a broken install
        missing.append(f"{module}: {type(error).__name__}: {error}")
        return None


def _call(factory: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[], Any]:
    return lambda: factory(*args, **kwargs)


def _absent() -> Any:
    raise ModuleNotFoundError("its library is not installed")


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}"[:160]


def ground_truth(model: Any, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The spatial output shape PyTorch gives on the meta device, or None where it refuses the size."""
    try:
        with torch.no_grad():
            out = model(torch.empty(shape, device="meta"))
    except (RuntimeError, ValueError, AssertionError, IndexError):  # AssertionError: timm's size asserts
        return None
    if isinstance(out, dict):
        out = next(iter(out.values()))
    if isinstance(out, tuple | list):
        out = out[0]
    return tuple(out.shape[2:])  # an empty axis (0) is a run: PyTorch returns the empty tensor


def check(arch: Architecture, model: Any, net: Any) -> tuple[bool, str]:
    """Exact when symconv's valid set and output sizes agree with running the model at every sampled size."""
    dims = [d for d in arch.shape[2:] if isinstance(d, str)]
    valid, output = net.valid_inputs(), net.output_size()
    held = dict(zip(dims, arch.held, strict=True))
    tried, wrong = 0, []
    for dim in dims:
        for size in SAMPLE:
            sizes = {**held, dim: size}
            got = ground_truth(model, (*arch.shape[:2], *sizes.values()))  # type: ignore[arg-type]
            says = all(sizes[d] in valid[d] for d in dims)
            tried += 1
            if says != (got is not None):
                wrong.append(f"{dim}={size}: PyTorch {'runs' if got else 'refuses'}")
            elif got is not None and len(got) == len(dims):
                predicted = tuple(_at(output[d], sizes) for d in dims)
                if predicted != got:
                    wrong.append(f"{dim}={size}: output {got}, symconv {predicted}")
    if wrong:
        return False, f"NOT exact: {len(wrong)} of {tried} sizes differ, first {wrong[0]}"
    return True, f"exact on {tried} sizes"


def _at(expr: Any, sizes: dict[str, int]) -> int:
    free = {s: sizes[s.name] for s in getattr(expr, "free_symbols", ())}
    return int(expr.subs(free)) if free else int(expr)


def build(arch: Architecture) -> Any:
    """The model in eval mode on the meta device: built there (no weights computed), or, where its
    initialisation reads values (RegNet's), built on the CPU and moved."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.device("meta"):
                return arch.build().eval()
        except NotImplementedError:  # "Cannot copy out of meta tensor"
            return arch.build().eval().to("meta")


def measure(arch: Architecture) -> Result:
    try:
        model = build(arch)
    except Exception as error:  # the library failed to build it (or is absent): not read
        return Result(arch, False, 0.0, f"not built: {first_line(error)}")
    start = time.perf_counter()
    try:
        net = from_torch(model, arch.shape)
        net.output_size()
        net.valid_inputs()
    except SymconvError as error:
        return Result(arch, False, time.perf_counter() - start, first_line(error))
    except Exception as error:  # a foreign exception from symconv is a bug: reported as such
        return Result(arch, False, time.perf_counter() - start, f"BUG {first_line(error)}")
    seconds = time.perf_counter() - start
    exact, note = check(arch, model, net)
    return Result(arch, True, seconds, note, exact)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", action="append", default=[], help="architectures whose name contains this")
    parser.add_argument("--library", action="append", choices=("torchvision", "timm", "smp"), default=[])
    parser.add_argument(
        "--wider",
        action="store_true",
        help="instead of the named list: every other torchvision model and one timm model per module",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    listed = wider if args.wider else architectures
    found, missing = listed(args.library or ["torchvision", "timm", "smp"])
    for line in missing:
        print(f"not installed: {line}")
    if args.only:
        found = [a for a in found if any(o in a.name for o in args.only)]
    results = []
    print(f"{'library':12s} {'architecture':32s} {'read':8s} {'seconds':>7s}  exact / refusal")
    for arch in found:
        result = measure(arch)
        results.append(result)
        status = "read" if result.read else "refused"
        print(
            f"{arch.library:12s} {arch.name:32s} {status:8s} {result.seconds:7.2f}  {result.note}", flush=True
        )
    read = [r for r in results if r.read]
    exact = [r for r in read if r.exact]
    for library in dict.fromkeys(a.library for a in found):
        mine = [r for r in results if r.architecture.library == library]
        print(f"  {library}: read {sum(r.read for r in mine)} of {len(mine)}")
    print(
        f"read {len(read)} of {len(results)} (exact on {len(exact)} of the {len(read)} read, sampled sizes)"
    )
    return 0 if len(exact) == len(read) else 1


if __name__ == "__main__":
    sys.exit(main())
