"""Notebook rendering (IPython's ``_repr_latex_``), supplied from above.

A model object (a layer, a proof's outcome, an answer, a valid set, a theorem) takes ``_repr_latex_`` from
here, and the LaTeX comes from the export layer (symconv.export.notebook), which the package installs when it
is imported (symconv/__init__.py). So no model module imports the export layer, and the layers stay in order.
"""

from __future__ import annotations

from collections.abc import Callable

Renderer = Callable[[object], str | None]

_renderer: list[Renderer] = []


def install(renderer: Renderer) -> None:
    """Render every model object's notebook form with `renderer` from now on."""
    _renderer[:] = [renderer]


def repr_latex(self: object) -> str | None:
    """The object as LaTeX for a notebook; None (IPython then shows its repr) before a renderer is installed."""
    return _renderer[0](self) if _renderer else None
