"""output_size on concrete integers, against each framework's own shape computation.

symconv compiles each layer's formula once (closures over Python ints), so a call does no symbolic work; the
target is at most 50 microseconds per call. The frameworks' figures are their own shape paths: torch on meta
tensors, Keras compute_output_shape, jax.eval_shape on lax, ONNX shape inference. A framework that is not
installed is skipped. Run from the repository root: ``python benchmarks/output_size.py``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from symconv import layer

CALLS = 20_000
SIZES = list(range(40, 240))


def per_call_us(run: Callable[[int], object], calls: int) -> float:
    start = time.perf_counter()
    for n in range(calls):
        run(SIZES[n % len(SIZES)])
    return (time.perf_counter() - start) / calls * 1e6


def torch_conv() -> Callable[[int], object] | None:
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    weight = torch.empty(1, 1, 3, device="meta")
    inputs = {i: torch.empty(1, 1, i, device="meta") for i in SIZES}
    return lambda i: F.conv1d(inputs[i], weight, stride=2, padding=1).shape[-1]


def keras_conv() -> Callable[[int], object] | None:
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    try:
        import keras
    except ImportError:
        return None
    conv = keras.layers.Conv1D(1, 3, strides=2, padding="same")
    return lambda i: conv.compute_output_shape((1, i, 1))[1]


def jax_conv() -> Callable[[int], object] | None:
    try:
        import jax
        from jax import lax
    except ImportError:
        return None
    rhs = jax.ShapeDtypeStruct((1, 1, 3), "float32")

    def run(i: int) -> object:
        lhs = jax.ShapeDtypeStruct((1, 1, i), "float32")
        return jax.eval_shape(lambda a, b: lax.conv_general_dilated(a, b, (2,), [(1, 1)]), lhs, rhs).shape[-1]

    return run


def onnx_conv() -> Callable[[int], object] | None:
    try:
        import onnx
        from onnx import TensorProto, helper, shape_inference
    except ImportError:
        return None

    def run(i: int) -> object:
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, i])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
        w = helper.make_tensor("w", TensorProto.FLOAT, [1, 1, 3], [1.0, 1.0, 1.0])
        node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3], strides=[2], pads=[1, 1])
        model = helper.make_model(helper.make_graph([node], "g", [x], [y], initializer=[w]))
        inferred = shape_inference.infer_shapes(model)
        return inferred.graph.output[0].type.tensor_type.shape.dim[-1].dim_value

    del onnx
    return run


def main() -> int:
    specs = [
        ("conv(k=3, s=2, p=1)", "torch", torch_conv),
        ("keras.conv(k=3, s=2, p=same)", "keras", keras_conv),
        ("jax.conv(k=3, s=2, p=[(1, 1)])", "jax", jax_conv),
        ("onnx.conv(k=3, s=2, p=1)", "onnx", onnx_conv),
        ("torch.maxpool(k=3, s=2, p=1, ceil=true)", None, None),
        ("tf.conv(k=3, s=2, p=same)", None, None),
        ("convT(k=4, s=2, p=1, a=0)", None, None),
    ]
    print(f"output_size per call, {CALLS} calls over input sizes {SIZES[0]}..{SIZES[-1]}")
    print(f"  {'layer':42} {'symconv':>10} {'framework':>22} {'ratio':>8}")
    worst = 0.0
    for spec, name, make in specs:
        made = layer(spec)
        made.output_size(SIZES[0])
        ours = per_call_us(made.output_size, CALLS)
        worst = max(worst, ours)
        theirs = make() if make is not None else None
        if theirs is None:
            print(f"  {spec:42} {ours:7.2f} us {'-':>22} {'-':>8}")
            continue
        for i in SIZES[:20]:
            if theirs(i) != made.output_size(i):
                print(f"  MISMATCH at i={i}: {theirs(i)} vs {made.output_size(i)}")
                return 1
        calls = max(200, CALLS // 50)
        framework = per_call_us(theirs, calls)
        label = f"{name} {framework:9.2f} us"
        print(f"  {spec:42} {ours:7.2f} us {label:>22} {framework / ours:7.1f}x")
    verdict = "PASS" if worst <= 50 else "FAIL"
    print(f"  slowest symconv call: {worst:.2f} us (target <= 50 us): {verdict}")
    return 0 if worst <= 50 else 1


if __name__ == "__main__":
    sys.exit(main())
