"""symconv: exact convolution arithmetic. Formulas in SymPy, proofs in Z3, LaTeX out.

>>> import symconv
>>> symconv.layer("conv(k=3, s=2, p=1)").output_size(224)
112

The jobs of the command line, as functions (symconv.api): layer, solve, invert, port, windows, prove and
network (load, then output_size(), valid_inputs(), receptive_fields(), check()) and table (a row per node). Results are typed: a proof is
Proved, Refuted or Unknown; solve gives an Answer, invert an Inverse, port a Port, windows Window records.
Bad input raises SpecError (a ValueError); a configuration the framework refuses raises ShapeError.
Z3 is imported only when something is proved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# First: a command's time budget counts from when symconv is imported (importing SymPy is part of the wait);
# symconv.budget.limit(seconds) also bounds API calls.
from .core import budget

# isort: split
from .core.arith import symbol
from .core.errors import ShapeError, SpecError, SymconvError, UnsupportedError
from .core.layers import Axes, Conv, ConvTranspose, Layer, Pool, layer
from .core.parse import parse_condition, parse_expression, parse_spec

# isort: split
from . import api
from .api import invert, network, port, prove, solve, table, windows
from .core import display

if TYPE_CHECKING:
    from .core.windowmap import Window
    from .logic.port import Port
    from .logic.prove import Proved, Refuted, Result, Unknown
    from .logic.solve import Answer
    from .logic.theorem import Theorem, load, parse_theorems
    from .logic.transpose import Inverse
    from .nets.network import Network
    from .nets.table import Row, Table


def _notebook(thing: object) -> str | None:
    """A model object's LaTeX for a notebook. The package sits above every layer, so it hands the model the
    export layer's renderer (imported on the first rendering: importing symconv stays light)."""
    from .export.notebook import render

    return render(thing)


display.install(_notebook)

# Loaded on first use (PEP 562): a command that proves nothing does not import the prover and the theorem reader.
_LAZY = {
    "Answer": "logic.solve",
    "Inverse": "logic.transpose",
    "Network": "nets.network",
    "Port": "logic.port",
    "Row": "nets.table",
    "Table": "nets.table",
    "Window": "core.windowmap",
    "Proved": "logic.prove",
    "Refuted": "logic.prove",
    "Result": "logic.prove",
    "Unknown": "logic.prove",
    "Theorem": "logic.theorem",
    "load": "logic.theorem",
    "parse_theorems": "logic.theorem",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'symconv' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    "Answer",
    "Axes",
    "Conv",
    "ConvTranspose",
    "Inverse",
    "Layer",
    "Network",
    "Pool",
    "Port",
    "Proved",
    "Refuted",
    "Result",
    "Row",
    "ShapeError",
    "SpecError",
    "SymconvError",
    "Table",
    "Theorem",
    "Unknown",
    "UnsupportedError",
    "Window",
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
    "table",
    "windows",
]
