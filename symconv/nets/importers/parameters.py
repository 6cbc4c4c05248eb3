"""Parameters used as tensors while a model is read: their shapes through reshape, view, expand, unsqueeze,
squeeze, permute and transpose, as PyTorch computes them (a ViT's class_token.expand(n, -1, -1), timm's layer
scale gamma.reshape(1, -1, 1, 1), weight.shape). A parameter's values never matter, only its shape; the
batch size a parameter is expanded to is unknown (None).

>>> method("reshape", Constant((96,)), (1, -1, 1, 1), {}, "gamma")
Constant(shape=(1, 96, 1, 1))
>>> method("expand", Constant((1, 1, 8)), (SizeValue(BATCH_SIZE), -1, -1), {}, "class_token")
Constant(shape=(None, 1, 8))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ...core.errors import SpecError
from . import BATCH_SIZE, Constant, SizeValue


def shape_of(c: Constant, where: str) -> tuple[int, ...]:
    """A parameter's shape, every dimension known."""
    if c.shape is None or any(not isinstance(v, int) for v in c.shape):
        raise SpecError(f"{where} reads the shape of a constant whose shape is not known ({c.shape})")
    return tuple(int(v) for v in c.shape if v is not None)


def dimension(shape: Sequence[Any], dim: Any, where: str, extra: int = 0) -> int:
    rank = len(shape) + extra
    if isinstance(dim, bool) or not isinstance(dim, int) or not -rank <= dim < max(rank, 1):
        raise SpecError(f"{where}: dimension {dim!r} of a parameter with {len(shape)} dimensions")
    return dim % max(rank, 1)


def reshape(shape: tuple[int, ...], wanted: Sequence[Any], where: str) -> tuple[int, ...]:
    """PyTorch's view/reshape of a parameter: one -1 inferred, the element count kept."""
    sizes = [SizeValue.of(v) for v in wanted]
    values = [None if s is None else s.constant() for s in sizes]
    if any(v is None or (v < 0 and v != -1) for v in values) or values.count(-1) > 1:
        raise SpecError(f"{where} reshapes a parameter of shape {shape} to {tuple(wanted)!r}; not modelled")
    known = math.prod(v for v in values if v is not None and v != -1)
    total = math.prod(shape)
    if -1 in values:
        if known == 0 or total % known:
            raise SpecError(f"{where}: shape {tuple(wanted)} is invalid for a parameter of {total} elements")
        values = [total // known if v == -1 else v for v in values]
    if math.prod(v for v in values if v is not None) != total:
        raise SpecError(f"{where}: shape {tuple(wanted)} is invalid for a parameter of {total} elements")
    return tuple(int(v) for v in values if v is not None)


def expand(shape: tuple[int | None, ...], wanted: Sequence[Any], where: str) -> Constant:
    """Tensor.expand of a parameter: -1 keeps a dimension, a 1 grows to any size (the batch size: unknown,
    None), new dimensions go in front."""
    if len(wanted) < len(shape):
        raise SpecError(f"{where}: expand to {len(wanted)} dimensions of a parameter with {len(shape)}")
    padded = (1,) * (len(wanted) - len(shape)) + tuple(shape)
    out: list[int | None] = []
    for have, value in zip(padded, wanted, strict=True):
        size = SizeValue.of(value)
        number = None if size is None else size.constant()
        if number == -1:
            out.append(have)
        elif size is not None and number is None and size.expr == BATCH_SIZE and have == 1:
            out.append(None)
        elif number is not None and number >= 0 and (have == number or have == 1):
            out.append(number)
        else:
            raise SpecError(
                f"{where}: expand of a parameter of shape {tuple(shape)} to {tuple(wanted)!r} (PyTorch's rule: "
                "each size is kept (-1) or grows from 1)"
            )
    return Constant(tuple(out))


def method(target: str, c: Constant, rest: Sequence[Any], kwargs: dict[str, Any], where: str) -> Any:
    """A method called on a parameter (gamma.reshape(1, -1, 1, 1), class_token.expand(n, -1, -1), w.size(0));
    `rest` holds the arguments after the parameter itself."""
    if target == "expand":
        wanted = rest[0] if len(rest) == 1 and isinstance(rest[0], tuple | list) else rest
        return expand(tuple(c.shape or ()), wanted, where)
    shape = shape_of(c, where)
    if target == "size":
        dim = rest[0] if rest else kwargs.get("dim")
        return shape if dim is None else shape[dimension(shape, dim, where)]
    if target in ("dim", "ndimension"):
        return len(shape)
    if target in ("view", "reshape"):
        wanted = rest[0] if len(rest) == 1 and isinstance(rest[0], tuple | list) else rest
        return Constant(reshape(shape, wanted, where))
    if target == "unsqueeze":
        at = dimension(shape, rest[0] if rest else kwargs.get("dim"), where, extra=1)
        return Constant((*shape[:at], 1, *shape[at:]))
    if target == "squeeze":
        dim = rest[0] if rest else kwargs.get("dim")
        if dim is None:
            return Constant(tuple(v for v in shape if v != 1))
        at = dimension(shape, dim, where)
        return Constant(shape if shape[at] != 1 else (*shape[:at], *shape[at + 1 :]))
    if target in ("permute", "transpose", "swapaxes"):
        order = list(rest[0] if len(rest) == 1 and isinstance(rest[0], tuple | list) else rest)
        if target != "permute":
            a, b = (dimension(shape, d, where) for d in order)
            order = list(range(len(shape)))
            order[a], order[b] = order[b], order[a]
        axes = [dimension(shape, d, where) for d in order]
        if sorted(axes) != list(range(len(shape))):
            raise SpecError(f"{where}: {order} is not an order of the parameter's {len(shape)} dimensions")
        return Constant(tuple(shape[a] for a in axes))
    raise SpecError(f"{where} is called on a parameter of shape {shape}; not modelled")


def index(c: Constant, key: Any, where: str) -> Constant:
    """A parameter indexed as PyTorch indexes it: an integer removes its dimension, a slice with integer
    bounds keeps it with Python's length, and one index tensor (a parameter of integers, as a relative
    position index) puts its own shape in place of the dimension it indexes (a gather).

    >>> index(Constant((169, 3)), Constant((2401,)), "table").shape
    (2401, 3)
    """
    shape = shape_of(c, where)
    items = list(key) if isinstance(key, tuple) else [key]
    if items.count(Ellipsis) > 1:
        raise SpecError(f"{where}: an index can only have a single ellipsis")
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items[at : at + 1] = [slice(None)] * (len(shape) - len(items) + 1)
    if len(items) > len(shape) or sum(isinstance(item, Constant) for item in items) > 1:
        raise SpecError(
            f"{where} indexes a parameter of shape {shape} with {key!r}; not modelled (more indices than "
            "dimensions, or several index tensors)"
        )
    out: list[int] = []
    for size, item in zip(shape, [*items, *[slice(None)] * (len(shape) - len(items))], strict=True):
        if isinstance(item, Constant):
            out.extend(shape_of(item, where))
        elif isinstance(item, slice) and all(
            type(v) is int or v is None for v in (item.start, item.stop, item.step)
        ):
            if item.step is not None and item.step < 1:
                raise SpecError(f"{where}: the step of a slice must be positive (PyTorch's rule), got {item}")
            out.append(len(range(size)[item]))
        elif type(item) is int and -size <= item < size:
            continue
        else:
            raise SpecError(f"{where} indexes a parameter of shape {shape} with {key!r}; not modelled")
    return Constant(tuple(out))


__all__ = ["dimension", "expand", "index", "method", "reshape", "shape_of"]
