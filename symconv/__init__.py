"""symconv: exact convolution arithmetic. Formulas in SymPy, proofs in Z3, LaTeX out.

>>> import symconv
>>> symconv.layer("conv(k=3, s=2, p=1)").output_size(224)
112

The jobs of the command line, as functions (symconv.api): layer, solve, invert, port, windows, prove and
network (load, then output_size(), valid_inputs(), receptive_fields(), check()). Results are typed: a proof is
Proved, Refuted or Unknown; solve gives an Answer, invert an Inverse, port a Port, windows Window records.
Bad input raises SpecError (a ValueError); a configuration the framework refuses raises ShapeError.
Z3 is imported only when something is proved.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

# First: a command's time budget counts from when symconv is imported (importing SymPy is part of the wait);
# symconv.budget.limit(seconds) also bounds API calls.
from . import budget

# isort: split
from .arith import symbol
from .errors import ShapeError, SpecError, SymconvError, UnsupportedError
from .layers import Axes, Conv, ConvTranspose, Layer, Pool, layer
from .parse import parse_condition, parse_expression, parse_spec

# isort: split
from . import api
from .api import invert, network, port, prove, solve, windows

if TYPE_CHECKING:
    from .prove import Proved, Refuted, Result, Unknown
    from .theorem import Theorem, load, parse_theorems

# Loaded on first use (PEP 562): a command that proves nothing does not import the prover and the theorem reader.
_LAZY = {
    "Proved": "prove",
    "Refuted": "prove",
    "Result": "prove",
    "Unknown": "prove",
    "Theorem": "theorem",
    "load": "theorem",
    "parse_theorems": "theorem",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'symconv' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """symconv itself. Importing a submodule binds its name on the package, and solve, port, prove and network
    are modules as well as the API's functions: the functions keep the names (the modules stay importable with
    ``from symconv.solve import ...``)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _FUNCTIONS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


_FUNCTIONS = frozenset({"invert", "network", "port", "prove", "solve", "windows"})
sys.modules[__name__].__class__ = _Package

__version__ = "0.1.0"

__all__ = [
    "Axes",
    "Conv",
    "ConvTranspose",
    "Layer",
    "Pool",
    "Proved",
    "Refuted",
    "Result",
    "ShapeError",
    "SpecError",
    "SymconvError",
    "Theorem",
    "Unknown",
    "UnsupportedError",
    "__version__",
    "api",
    "budget",
    "invert",
    "layer",
    "load",
    "network",
    "parse_condition",
    "parse_expression",
    "parse_spec",
    "parse_theorems",
    "port",
    "prove",
    "solve",
    "symbol",
    "windows",
]
