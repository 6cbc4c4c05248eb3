"""The error hierarchy: one root, user errors are ValueErrors.

Every message names the offending parameter, its value and the rule it breaks, so a user can fix the input
without reading the source.
"""

from __future__ import annotations


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
