"""A formula as it reads where it is defined: the cases of a Piecewise that its domain decides, resolved by proof.

TensorFlow's C++ division truncates toward zero, so its sizes are written with cases (floor for a numerator >= 0,
the other rounding below 0); where the layer is defined the numerator is never negative and one case is the
formula. Each case is dropped or kept only on a Z3 proof from the domain's conditions; a case Z3 does not decide
keeps the whole Piecewise.

>>> from symconv import layer, symbol
>>> made, i = layer("tf.conv(k=3, s=2, p=valid)"), symbol("i")
>>> on_domain(made.output_expr(i), [condition for condition, _ in made.conditions(i)])
floor(i/2 - 1/2)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy

from .prove import prove

TIMEOUT_MS = 2_000


def on_domain(expr: Any, domain: Sequence[Any], timeout_ms: int = TIMEOUT_MS) -> Any:
    """`expr` with every Piecewise whose case the `domain` decides replaced by that case's value."""
    if not isinstance(expr, sympy.Basic) or not expr.has(sympy.Piecewise):
        return expr

    def holds(condition: Any) -> bool:
        if condition is sympy.true:
            return True
        return prove(condition, list(domain), timeout_ms=timeout_ms).status == "proved"

    def resolve(piecewise: sympy.Piecewise) -> Any:
        # The first case whose condition is true is the value: skip the cases proved false, stop at one proved
        # true, keep everything at the first that neither proof decides.
        for value, condition in piecewise.args:
            if holds(condition):
                return value
            if not holds(sympy.Not(condition)):
                return piecewise
        return piecewise

    return expr.replace(lambda node: isinstance(node, sympy.Piecewise), resolve)
