"""symconv: exact convolution arithmetic. Formulas in SymPy, proofs in Z3, LaTeX out.

>>> import symconv
>>> symconv.layer("conv(k=3, s=2, p=1)").output_size(224)
112

Z3 is imported only when something is proved.
"""

from __future__ import annotations

# First: a command's time budget counts from when symconv is imported (importing SymPy is part of the wait);
# symconv.budget.limit(seconds) also bounds API calls.
from . import budget

# isort: split
from .arith import symbol
from .errors import ShapeError, SpecError, SymconvError, UnsupportedError
from .layers import Conv, ConvTranspose, Layer, Pool, layer
from .parse import parse_condition, parse_expression, parse_spec
from .prove import Proved, Refuted, Unknown, prove
from .theorem import Theorem, load, parse_theorems

__version__ = "0.1.0"

__all__ = [
    "Conv",
    "ConvTranspose",
    "Layer",
    "Pool",
    "Proved",
    "Refuted",
    "ShapeError",
    "SpecError",
    "SymconvError",
    "Theorem",
    "Unknown",
    "UnsupportedError",
    "__version__",
    "budget",
    "layer",
    "load",
    "parse_condition",
    "parse_expression",
    "parse_spec",
    "parse_theorems",
    "prove",
    "symbol",
]
