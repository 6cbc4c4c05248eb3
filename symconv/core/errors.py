"""The error hierarchy: one root, user errors are ValueErrors.

Every message names the offending parameter, its value and the rule it breaks, so a user can fix the input
without reading the source.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .budget import OutOfTime


class SymconvError(Exception):
    """Root of every error symconv raises on purpose."""


class SpecError(SymconvError, ValueError):
    """Bad user input: a malformed spec, expression or theorem file, or a parameter outside its rule."""


class ShapeError(SymconvError, ValueError):
    """A configuration the framework itself would refuse (the layer is undefined at this input)."""


class UnsupportedError(SymconvError, TypeError):
    """An expression node the Z3 translation or the integer evaluator does not know; never guessed."""


class AnalysisError(SymconvError, RuntimeError):
    """An analysis that could not be completed (a limit of the engine, or a library failing inside it); the
    message names the node or the axis where it stopped."""


class InternalError(SymconvError, RuntimeError):
    """symconv contradicted itself (a proved claim false on integers): a bug to report, never a verdict."""


def with_context(error: SymconvError, context: str) -> SymconvError:
    """A copy of `error` whose message ends with `in <context>` (the whole spec or expression)."""
    return type(error)(f"{error} in {context}")


@contextmanager
def analysing(what: str) -> Iterator[None]:
    """Turns a failure of a library inside the analysis (SymPy's PrecisionExhausted, a RecursionError, Z3's
    or the integer sets' limits) into an AnalysisError that starts with `what` (which names the node or the
    axis); symconv's own errors and the time budget pass through."""
    try:
        yield
    except (SymconvError, OutOfTime):
        raise
    except Exception as error:
        first = str(error).splitlines()[0] if str(error) else ""
        raise AnalysisError(f"{what}: {type(error).__name__}: {first}") from None
