"""What each output position reads: average-pooling divisors, adaptive-pooling windows, Unfold's block count.

Formulas in the output index j (SymPy), evaluated exactly on integers by the same evaluator as every layer.

>>> divisor = avgpool_divisor(k=3, s=2, pb=1, pe=1, i=5, count_include_pad=False)
>>> [evaluate(divisor, {"j": j}) for j in range(3)]
[2, 3, 2]
>>> [adaptive_window(10, 3, j) for j in range(3)]
[(0, 4), (3, 7), (6, 10)]
"""

from __future__ import annotations

from typing import Any

import sympy

from .arith import ceil_div, evaluate, floor_div, symbol
from .errors import ShapeError, SpecError
from .frameworks import effective_kernel

J = symbol("j")

# Whether padding counts in the divisor by default: PyTorch yes; ONNX, TensorFlow and Keras no.
COUNT_INCLUDE_PAD = {None: True, "torch": True, "onnx": False, "tf": False, "keras": False, "jax": True}


def avgpool_divisor(
    k: Any,
    s: Any,
    pb: Any,
    pe: Any,
    i: Any,
    count_include_pad: bool = True,
    divisor_override: Any = None,
    j: Any = J,
) -> sympy.Expr:
    """The divisor of window j (PyTorch's AvgPool): the window [j*s - pb, min(j*s - pb + k, i + pe)),
    its length when padding counts, else the number of real elements in it; divisor_override replaces both."""
    if divisor_override is not None:
        if not isinstance(divisor_override, int | sympy.Expr) or isinstance(divisor_override, bool):
            raise SpecError(f"divisor_override must be an integer, got {divisor_override!r}")
        return sympy.Integer(divisor_override) if isinstance(divisor_override, int) else divisor_override
    start = j * s - pb
    end = sympy.Min(start + k, i + pe)
    if count_include_pad:
        return end - start
    return sympy.Min(end, i) - sympy.Max(start, 0)


def adaptive_window(size: int, output: int, j: int) -> tuple[int, int]:
    """Adaptive pooling: window j of `output` over `size` elements is [floor(j*size/output), ceil((j+1)*size/output))."""
    if size < 1 or output < 1 or not 0 <= j < output:
        raise SpecError(
            f"adaptive_window needs size >= 1, output >= 1 and 0 <= j < output, got {size}, {output}, {j}"
        )
    return (
        int(evaluate(floor_div(J * size, output), {"j": j})),
        int(evaluate(ceil_div((J + 1) * size, output), {"j": j})),
    )


def unfold_blocks(sizes: tuple[int, ...], k: Any, s: Any = 1, p: Any = 0, d: Any = 1) -> int:
    """Unfold's block count L = prod floor((i + 2p - k_eff)/s + 1); PyTorch refuses a factor below 1."""
    total = 1
    for axis, size in enumerate(sizes):
        per_axis = [v[axis] if isinstance(v, tuple) else v for v in (k, s, p, d)]
        kk, ss, pp, dd = per_axis
        blocks = (size + 2 * pp - int(evaluate(effective_kernel(kk, dd), {}))) // ss + 1
        if blocks < 1:
            raise ShapeError(
                f"Unfold: axis {axis} gives {blocks} blocks (i={size}, k={kk}, s={ss}, p={pp}, d={dd}); "
                "the padded input must hold the kernel"
            )
        total *= blocks
    return total
