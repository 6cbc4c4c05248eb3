"""Layers: exact output-size formulas and the domain on which each layer is defined.

Every parameter is a SymPy integer expression: a number, a symbol, or an unknown (``?``) to solve for. A layer
gives its output size as an expression of the input size and, as a list of conditions with the rule each one
states, where it is defined. Concrete calls check the conditions and raise ShapeError exactly where the
convention refuses the configuration.

>>> layer("conv(k=3, s=2, p=1)").output_size(224)
112
>>> layer("conv(k=3, s=2, p=1)").output_size((224, 31))
(112, 16)
>>> layer("conv(k=3, s=s)").output_size(symbol("i"))
floor((i - 3)/s) + 1
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, TypeAlias

import sympy

from . import frameworks as fw
from .arith import eq, evaluate, floor_div, ge, integer_expr, symbol
from .display import repr_latex
from .errors import ShapeError, SpecError, SymconvError
from .frameworks import INPUT_RULE, Rule, effective_kernel
from .hints import closest
from .parse import UNKNOWN, Context, PerAxis, Spec, Unknown, parse_spec

Size: TypeAlias = sympy.Expr
# (condition, rule): the layer is defined where every condition holds; the rule names what a failure breaks.
Conditions = list[tuple[sympy.Basic, str]]
INPUT = symbol("i")
_ORDER = ["i", "k", "s", "p", "pb", "pe", "d", "a"]


def _error(rule: tuple[sympy.Basic, str]) -> type[SymconvError]:
    """The error a failed rule raises (frameworks.Rule says; a plain pair is the convention's refusal)."""
    return getattr(rule, "error", ShapeError)


def _order(name: str) -> tuple[int, str]:
    return (_ORDER.index(name) if name in _ORDER else len(_ORDER), name)


# The padding words a spec may give; a parameter named like one of them is most likely a typo of it.
PADDING_WORDS = ("same", "valid", "full", "causal", "same_lower", "same_upper")


def _word_hint(names: Iterable[str]) -> str:
    """A hint where a symbolic parameter's name is a padding word mistyped (p=samee, p=SAME)."""
    for name in sorted(names):
        close = closest(name.lower(), PADDING_WORDS, cutoff=0.75)
        if close:
            return f" ({name!r} reads as a symbol; for the padding word write p={close[0]})"
    return ""


@dataclass(frozen=True)
class Layer:
    """What every layer shares: its spec text, convention and the names of its unknowns."""

    spec: str
    framework: str | None
    unknowns: tuple[str, ...]
    # The number of spatial axes the layer runs on where the spec names it (nn.Conv2d: 2) or the input gives
    # it; None: not known, and no rule that holds on one rank only applies.
    rank: int | None = dataclasses.field(default=None, kw_only=True)

    kind = "layer"

    def output_expr(self, i: Size) -> sympy.Expr:
        raise NotImplementedError

    def conditions(self, i: Size) -> Conditions:
        raise NotImplementedError

    def parameters(self) -> dict[str, sympy.Expr]:
        """The layer's parameters by short name, (begin, end) paddings as pb and pe."""
        raise NotImplementedError

    @cached_property
    def _compiled(self) -> tuple[Any, list[tuple[Any, tuple[sympy.Basic, str]]], Any]:
        from .arith import compile_expr, compile_many
        from .errors import UnsupportedError

        # Rules on the parameters alone were checked when the layer was built.
        conditions = [rule for rule in self.conditions(INPUT) if rule[0].free_symbols]
        checks = [(compile_expr(rule[0]), rule) for rule in conditions]
        try:
            output = compile_expr(self.output_expr(INPUT))
            # The fast path: the output and every rule at once, shared subexpressions computed once.
            together = compile_many([self.output_expr(INPUT), *(c for c, _ in conditions)])
        except UnsupportedError:
            # A formula SymPy already evaluated to zoo (a zero divisor): a rule refuses every input.
            def output(env: Any) -> int:
                raise ShapeError(f"no output size is defined in {self.spec}")

            together = None
        return output, checks, together

    @cached_property
    def _symbolic_parameters(self) -> frozenset[str]:
        expressions = [self.output_expr(INPUT), *(condition for condition, _ in self.conditions(INPUT))]
        return frozenset(s.name for e in expressions for s in e.free_symbols) - {"i"}

    def _size(self, i: int, env: dict[str, int]) -> int:
        output, checks, together = self._compiled
        env["i"] = i
        if together is not None:
            try:
                size, *holds = together(env)
                if all(holds):
                    return int(size)
            except ZeroDivisionError:
                pass
        for check, rule in checks:
            try:
                defined = check(env)
            except ZeroDivisionError:
                defined = False
            if not defined:
                # A parameter breaking a basic rule is bad input whether it came in the spec or as a value.
                raise _error(rule)(f"{rule[1]}{self._describe(rule[1], env)} in {self.spec}")
        return int(output(env))

    def output_size(self, i: Any, **values: int) -> Any:
        """The output size: an int for an int, a tuple per axis for a tuple, an expression for a symbol.

        Symbolic parameters take their values from `values` (``output_size(32, s=2)``) when given.
        """
        unknown = set(values) - self._symbolic_parameters if values else None
        if unknown:
            symbolic = ", ".join(sorted(self._symbolic_parameters)) or "none"
            raise SpecError(
                f"no symbolic parameter {', '.join(sorted(unknown))} in {self.spec} (its symbolic parameters: "
                f"{symbolic})"
            )
        for name, value in values.items():
            # NumPy integers are Integral; bool is too, but True is no kernel size.
            if isinstance(value, bool) or not isinstance(value, numbers.Integral | sympy.Expr):
                raise SpecError(f"parameter {name} must be an integer, got {value!r} in {self.spec}")
            if isinstance(value, numbers.Integral):
                values[name] = int(value)
        if isinstance(i, numbers.Integral) and not isinstance(i, int):  # NumPy integers (bool is an int)
            i = int(i)
        if type(i) is int and not values and not self._symbolic_parameters:
            # The hot path: concrete parameters, a plain int.
            return self._size(i, {})
        if isinstance(i, bool):
            raise SpecError(f"input size must be an integer, got {i!r} in {self.spec}")
        if isinstance(i, tuple | list):
            ranked = on_rank(self, len(i), i)
            return tuple(ranked.output_size(axis, **values) for axis in i)
        if isinstance(i, int):
            free = self._symbolic_parameters - set(values)
            if free:
                names = ", ".join(sorted(free))
                raise SpecError(
                    f"no value for the symbolic parameter(s) {names} in {self.spec}{_word_hint(free)}"
                )
            return self._size(i, dict(values))
        if isinstance(i, sympy.Expr):
            expr = self.output_expr(i)
            return expr.subs({symbol(k): v for k, v in values.items()}) if values else expr
        raise SpecError(
            f"input size must be an integer, a tuple or a SymPy expression, got {i!r} in {self.spec}"
        )

    # The output size as a formula of i in the paper's notation (symconv.export.notebook).
    _repr_latex_ = repr_latex

    def is_defined(self, i: int | tuple[int, ...], **values: int) -> bool:
        """Whether the output size exists at input size i (one size per axis, as a tuple, for several axes)."""
        try:
            self.output_size(i, **values)
        except ShapeError:
            return False
        return True

    def _check_parameters(self) -> None:
        """Refuse concrete parameters that break a rule no input size can repair (k=0, s=0, p=-1, ...).

        A basic rule (a positive kernel, stride or dilation, a non-negative padding) is bad input, SpecError;
        a convention's own refusal (strided 'same', output_padding too large) is a ShapeError.
        """
        for rule in self.conditions(INPUT):
            condition, message = rule
            if condition.free_symbols or evaluate(condition, {}):
                continue
            raise _error(rule)(f"{message}{self._describe(message, {})} in {self.spec}")

    def _describe(self, rule: str, env: dict[str, int]) -> str:
        """The values of the names in the rule's condition, as ' (k=3, s=0)'."""
        symbolic = self._symbolic()
        values = {**{name: v for name, v in self.parameters().items() if isinstance(v, sympy.Integer)}, **env}
        for condition, other in symbolic.conditions(INPUT):
            if other == rule:
                names = sorted({s.name for s in condition.free_symbols}, key=_order)
                shown = ", ".join(f"{name}={int(values[name])}" for name in names if name in values)
                return f" ({shown})" if shown else ""
        return ""

    def _symbolic(self) -> Layer:
        raise NotImplementedError


def _pads(pb: sympy.Expr, pe: sympy.Expr) -> dict[str, sympy.Expr]:
    return {"p": pb} if pb == pe else {"pb": pb, "pe": pe}


def _symbols(layer: Layer, *names: str) -> list[sympy.Symbol]:
    """The parameters as symbols, named as the user wrote them (p for a symmetric padding)."""
    symmetric = getattr(layer, "pb", None) == getattr(layer, "pe", None)
    return [symbol("p" if symmetric and name in ("pb", "pe") else name) for name in names]


@dataclass(frozen=True)
class Windowed(Layer):
    """What convolution and pooling share: a window of k taps, d apart, sliding by s over the padded input.

    `mode` is "explicit" (the pads pb, pe) or a framework's automatic padding ("same", "valid", ...), whose
    pads may depend on the input size.
    """

    k: sympy.Expr = sympy.Integer(1)
    s: sympy.Expr = sympy.Integer(1)
    pb: sympy.Expr = sympy.Integer(0)
    pe: sympy.Expr = sympy.Integer(0)
    d: sympy.Expr = sympy.Integer(1)
    mode: str = "explicit"

    family = "conv"

    def padding(self, i: Size) -> tuple[sympy.Expr, sympy.Expr]:
        """The (begin, end) padding at input size i."""
        if self.mode == "explicit":
            return self.pb, self.pe
        return fw.auto_pads(self.framework, self.mode, i, self.k, self.s, self.d, self.family)

    def output_expr(self, i: Size) -> sympy.Expr:
        pb, pe = self.padding(i)
        k_eff = effective_kernel(self.k, self.d)
        return fw.window_output(self.framework, i, pb, pe, k_eff, self.s, self.family, self.mode)

    def _ceil(self) -> bool:
        return False

    def positive_output_expr(self, i: Size) -> sympy.Expr:
        """The output formula wherever the output is >= 1 (a network's inner nodes): TF's truncating division
        and JAX's clamp at 0 then equal the plain floor formula, which keeps a network's formulas small."""
        if (
            fw.CONVENTIONS[self.framework].floor_where_positive
            and not self._ceil()
            and self.mode not in fw.AUTO_SAME
        ):
            pb, pe = self.padding(i)
            return floor_div(i + pb + pe - effective_kernel(self.k, self.d), self.s) + 1
        return self.output_expr(i)

    def conditions(self, i: Size) -> Conditions:
        return fw.window_rules(
            self.framework,
            self.family,
            self.mode,
            i,
            self.padding(i),
            (self.pb, self.pe),
            self.k,
            self.s,
            self.d,
            self.output_expr(i),
            self._ceil(),
            getattr(self, "op", ""),
            getattr(self, "opset", None),
            self.rank,
        )

    def parameters(self) -> dict[str, sympy.Expr]:
        pads = _pads(self.pb, self.pe) if self.mode == "explicit" else {}
        return {"k": self.k, "s": self.s, **pads, "d": self.d}


@dataclass(frozen=True)
class Conv(Windowed):
    """Convolution: o = floor((i + pb + pe - k_eff)/s) + 1, defined when the padded input holds the kernel."""

    kind = "conv"

    def _symbolic(self) -> Layer:
        k, s, pb, pe, d = _symbols(self, "k", "s", "pb", "pe", "d")
        return Conv(self.spec, self.framework, (), k, s, pb, pe, d, self.mode, rank=self.rank)


@dataclass(frozen=True)
class Pool(Windowed):
    """Max, average or Lp pooling (`op` "max", "avg", "lp"); ceil_mode (PyTorch, ONNX) with the last-window
    rule. `opset`: the ONNX opset a spec names (None: the newest rules).

    floor mode: o = floor((i + pb + pe - k_eff)/s) + 1.
    ceil mode:  o = floor((i + pb + pe - k_eff + s - 1)/s) + 1, minus one when the last window would start in
    the right padding, (o - 1)s >= i + pb (ONNX before opset 22 keeps it).
    """

    ceil: bool = False
    op: str = "max"
    opset: int | None = None

    family = "pool"

    @property
    def kind(self) -> str:  # type: ignore[override]
        return f"{self.op}pool"

    def _ceil(self) -> bool:
        return self.ceil

    @property
    def keeps_last_window(self) -> bool:
        """ceil_mode counting a last window that starts in the end padding (ONNX's shape inference before
        opset 22; onnxruntime drops it at every opset)."""
        since = fw.CONVENTIONS[self.framework].ceil_drop_since
        return self.ceil and not (since == 0 or (self.opset or since) >= since)

    def output_expr(self, i: Size) -> sympy.Expr:
        if not self.ceil:
            return super().output_expr(i)
        pb, pe = self.padding(i)
        drop = not self.keeps_last_window
        return fw.ceil_output(i, pb, pe, effective_kernel(self.k, self.d), self.s, drop)

    def _symbolic(self) -> Layer:
        k, s, pb, pe, d = _symbols(self, "k", "s", "pb", "pe", "d")
        return Pool(
            self.spec,
            self.framework,
            (),
            k,
            s,
            pb,
            pe,
            d,
            self.mode,
            self.ceil,
            self.op,
            self.opset,
            rank=self.rank,
        )


@dataclass(frozen=True)
class Unpool(Layer):
    """ONNX MaxUnpool: the inverse of a MaxPool's geometry, o = (i - 1)s + k - pb - pe, or the output_shape
    `size` given (at least that). Every value goes back to one position of its window; the others hold 0."""

    k: sympy.Expr = sympy.Integer(1)
    s: sympy.Expr = sympy.Integer(1)
    pb: sympy.Expr = sympy.Integer(0)
    pe: sympy.Expr = sympy.Integer(0)
    size: sympy.Expr | None = None

    kind = "maxunpool"

    def output_expr(self, i: Size) -> sympy.Expr:
        return (i - 1) * self.s + self.k - self.pb - self.pe if self.size is None else self.size

    def conditions(self, i: Size) -> Conditions:
        return fw.unpool_rules(self.framework, i, self.k, self.s, (self.pb, self.pe), self.size)

    def parameters(self) -> dict[str, sympy.Expr]:
        extra = {} if self.size is None else {"size": self.size}
        return {"k": self.k, "s": self.s, **_pads(self.pb, self.pe), **extra}

    def _symbolic(self) -> Layer:
        k, s, pb, pe = _symbols(self, "k", "s", "pb", "pe")
        size = None if self.size is None else symbol("size")
        return Unpool(self.spec, self.framework, (), k, s, pb, pe, size)


@dataclass(frozen=True)
class ConvTranspose(Layer):
    """Transposed convolution: o = s(i - 1) - pb - pe + d(k - 1) + a + 1 (PyTorch's ConvTranspose).

    `a` None is the framework's default output_padding (Keras derives one); `consistent` is JAX's
    use_consistent_padding; `shape` the output_shape a layer takes (TensorFlow's conv2d_transpose).
    """

    k: sympy.Expr = sympy.Integer(1)
    s: sympy.Expr = sympy.Integer(1)
    pb: sympy.Expr = sympy.Integer(0)
    pe: sympy.Expr = sympy.Integer(0)
    d: sympy.Expr = sympy.Integer(1)
    a: sympy.Expr | None = sympy.Integer(0)
    mode: str = "explicit"
    consistent: bool = False
    shape: sympy.Expr | None = None

    kind = "convT"

    def _geometry(self, i: Size) -> tuple[Any, str, Size, Any, Any, Any, tuple[Any, Any], Any]:
        return (self.framework, self.mode, i, self.k, self.s, self.d, (self.pb, self.pe), self.a)

    def output_expr(self, i: Size) -> sympy.Expr:
        return fw.transposed_output(*self._geometry(i), self.consistent, self.shape)

    def conditions(self, i: Size) -> Conditions:
        return fw.transposed_rules(*self._geometry(i), self.output_expr(i), self.consistent, self.shape)

    def parameters(self) -> dict[str, sympy.Expr]:
        pads = _pads(self.pb, self.pe) if self.mode == "explicit" else {}
        extra = {} if self.a is None else {"a": self.a}
        shape = {} if self.shape is None else {"output_shape": self.shape}
        return {"k": self.k, "s": self.s, **pads, "d": self.d, **extra, **shape}

    def _symbolic(self) -> Layer:
        k, s, pb, pe, d, a, o = _symbols(self, "k", "s", "pb", "pe", "d", "a", "output_shape")
        out_pad = None if self.a is None else a
        shape = None if self.shape is None else o
        return ConvTranspose(
            self.spec, self.framework, (), k, s, pb, pe, d, out_pad, self.mode, self.consistent, shape
        )


@dataclass(frozen=True)
class Resize(Layer):
    """Upsampling (nearest/linear interpolate) by an integer scale, o = i*scale, or to a fixed size.

    PyTorch computes floor(i * scale) in double precision; for an integer scale that is exactly i*scale.
    `mode` is "nearest" or "linear" (bilinear is linear on each axis), `align_corners` linear's option.
    """

    scale: sympy.Expr | None = None
    size: sympy.Expr | None = None
    mode: str = "nearest"
    align_corners: bool = False

    kind = "upsample"

    def output_expr(self, i: Size) -> sympy.Expr:
        return self.size if self.size is not None else i * self.scale

    def conditions(self, i: Size) -> Conditions:
        rules: Conditions = [Rule(ge(i, 1), INPUT_RULE)]
        if self.scale is not None:
            rules.append(Rule(ge(self.scale, 1), "scale_factor must be a positive integer", SpecError))
        if self.size is not None:
            rules.append(Rule(ge(self.size, 1), "output_size must be a positive integer", SpecError))
        return rules

    def parameters(self) -> dict[str, sympy.Expr]:
        return {"scale": self.scale} if self.scale is not None else {"size": self.size}

    def _symbolic(self) -> Layer:
        if self.scale is not None:
            return Resize(self.spec, self.framework, (), symbol("scale"), None, self.mode, self.align_corners)
        return Resize(self.spec, self.framework, (), None, symbol("size"), self.mode, self.align_corners)


@dataclass(frozen=True)
class PixelShuffle(Layer):
    """PixelShuffle(r) multiplies each spatial size by r; PixelUnshuffle(r) divides it, which needs i % r == 0.

    (The channel count must be divisible by r^2 for the shuffle; channels are not a spatial axis here.)
    """

    r: sympy.Expr = sympy.Integer(1)
    down: bool = False

    @property
    def kind(self) -> str:  # type: ignore[override]
        return "pixelunshuffle" if self.down else "pixelshuffle"

    def output_expr(self, i: Size) -> sympy.Expr:
        return floor_div(i, self.r) if self.down else i * self.r

    def conditions(self, i: Size) -> Conditions:
        rules: Conditions = [
            Rule(ge(self.r, 1), "the factor r must be a positive integer", SpecError),
            Rule(ge(i, 1), INPUT_RULE),
        ]
        if self.down and not self.r.is_zero:  # r = 0 breaks the first rule; Mod(i, 0) would raise
            rules.append((eq(sympy.Mod(i, self.r), 0), "pixel_unshuffle needs the size divisible by r"))
        return rules

    def parameters(self) -> dict[str, sympy.Expr]:
        return {"r": self.r}

    def _symbolic(self) -> Layer:
        return PixelShuffle(self.spec, self.framework, (), symbol("r"), self.down)


@dataclass(frozen=True)
class AdaptivePool(Layer):
    """Adaptive pooling to a fixed size; window j reads [floor(j*i/o), ceil((j+1)*i/o))."""

    size: sympy.Expr = sympy.Integer(1)

    kind = "adaptivepool"

    def output_expr(self, i: Size) -> sympy.Expr:
        return self.size

    def conditions(self, i: Size) -> Conditions:
        return [
            Rule(ge(self.size, 1), "output_size must be a positive integer", SpecError),
            Rule(ge(i, 1), INPUT_RULE),
        ]

    def parameters(self) -> dict[str, sympy.Expr]:
        return {"size": self.size}

    def _symbolic(self) -> Layer:
        return AdaptivePool(self.spec, self.framework, (), symbol("size"))


@dataclass(frozen=True)
class Axes(Layer):
    """A layer whose parameters differ between spatial axes, as conv(k=(3, 5), s=(1, 2)) or PyTorch's
    Conv2d(kernel_size=(1, 7), padding=(0, 3)): one ordinary Layer per axis. `given` holds the per-axis
    parameters as written and `hint` the other reading of a padding p=(b, e), for messages.

    >>> layer("conv(k=(3, 5), p=(1, 2))").output_size((10, 12))
    (10, 12)
    >>> layer("conv(k=(3, 5), p=(1, 2))").axis(1).spec
    'conv(k=5, p=2)'
    """

    layers: tuple[Layer, ...] = ()
    given: tuple[str, ...] = ()
    hint: str = ""

    @property
    def kind(self) -> str:  # type: ignore[override]
        return self.layers[0].kind

    @property
    def axes(self) -> int:
        return len(self.layers)

    def axis(self, n: int) -> Layer:
        """The layer of axis n (0 is the first spatial axis)."""
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < self.axes:
            raise SpecError(f"axis must be 0 to {self.axes - 1} (the spatial axes of {self.spec}), got {n!r}")
        return self.layers[n]

    @property
    def uniform(self) -> Layer | None:
        """The one layer every axis has, when they agree (conv(k=(3, 3))); None when they differ."""
        first = self.layers[0]
        same = all(dataclasses.replace(other, spec=first.spec) == first for other in self.layers[1:])
        return first if same else None

    def mismatch(self, count: int, shown: str) -> SpecError:
        """The error for an input of `count` axes, naming both readings of a padding pair."""
        text = next((t for t in self.given if t.startswith(("p=", "padding=", "pads="))), self.given[0])
        what = "one padding" if text.startswith(("p=", "padding=", "pads=")) else "one value"
        message = (
            f"{text} gives {what} per spatial axis ({self.axes} axes) but the input has {count} ({shown})"
        )
        if count == 1 and self.hint:
            message += f"; {self.hint}"
        return SpecError(f"{message} in {self.spec}")

    def output_size(self, i: Any, **values: int) -> Any:
        """One output size per axis, for one input size per axis (a tuple or list)."""
        if not isinstance(i, tuple | list) or len(i) != self.axes:
            count = len(i) if isinstance(i, tuple | list) else 1
            shown = ", ".join(map(str, i)) if isinstance(i, tuple | list) else str(i)
            raise self.mismatch(count, shown)
        known = set().union(*(layer._symbolic_parameters for layer in self.layers))
        unknown = set(values) - known
        if unknown:
            raise SpecError(
                f"no symbolic parameter {', '.join(sorted(unknown))} in {self.spec} (its symbolic parameters: "
                f"{', '.join(sorted(known)) or 'none'})"
            )
        sizes = []
        refusals: list[ShapeError] = []
        for layer, size in zip(self.layers, i, strict=True):
            try:
                sizes.append(
                    layer.output_size(
                        size, **{k: v for k, v in values.items() if k in layer._symbolic_parameters}
                    )
                )
            except ShapeError as error:
                refusals.append(error)
        if refusals:
            raise min(refusals, key=lambda error: self._precedence(str(error)))
        return tuple(sizes)

    def _precedence(self, refusal: str) -> int:
        """Which axis' refusal is the layer's (the lowest first). An axis refused on every path refuses the
        layer on every path, before another axis whose TensorFlow paths disagree; but a transposed
        convolution's empty output on one axis is returned by oneDNN before any other axis is checked, so
        there that disagreement comes first."""
        empty = refusal.startswith(f"{fw.PATHS_DISAGREE} on an empty")
        if empty and all(layer.kind == "convT" for layer in self.layers):
            return 0
        return 2 if fw.PATHS_DISAGREE in refusal else 1

    def output_expr(self, i: Size) -> sympy.Expr:
        raise self.mismatch(1, str(i))

    def conditions(self, i: Size) -> Conditions:
        raise self.mismatch(1, str(i))

    def parameters(self) -> dict[str, sympy.Expr]:
        raise self.mismatch(1, "one size")


_ALLOWED = {
    "conv": "kspdB",
    "convT": "kspdaxBO",
    "maxpool": "kspdcBP",
    "avgpool": "kspdcBP",
    "lppool": "kspdcP",
    "maxunpool": "kspZO",
    "upsample": "SZmgB",
    "pixelshuffle": "r",
    "pixelunshuffle": "r",
    "adaptivepool": "Z",
}
_LETTER = {
    **{"ceil": "c", "consistent": "x", "scale": "S", "size": "Z", "mode": "m", "align_corners": "g"},
    **{"opset": "P", "backend": "B", "output_shape": "O"},
}
POOL_KINDS = ("maxpool", "avgpool", "lppool")


def _integer(spec: Spec, name: str, default: sympy.Expr | None, unknowns: list[str]) -> sympy.Expr:
    value = spec.get(name, default)
    if value is None:
        raise SpecError(f"missing required parameter {name} in {spec.text}")
    if value is UNKNOWN:
        unknowns.append(name)
        return symbol(name)
    if isinstance(value, str | tuple):
        shown = f"({value[0]}, {value[1]})" if isinstance(value, tuple) else repr(value)
        raise SpecError(f"parameter {name} must be an integer or a symbol, got {shown} in {spec.text}")
    return integer_expr(value)


def _flag(spec: Spec, name: str) -> bool:
    value = spec.get(name, "false")
    if value not in ("true", "false"):
        raise SpecError(f"{name} must be true or false, got {value!r} in {spec.text}")
    return bool(value == "true")


def _padding(spec: Spec, family: str, unknowns: list[str]) -> tuple[sympy.Expr, sympy.Expr, str]:
    """(begin, end, mode) for the spec's p, checked against the modes its framework accepts."""
    modes = fw.MODES[spec.framework][family]
    convention = spec.framework or "paper"
    value = spec.get("p", fw.DEFAULT_MODE[spec.framework])
    zero = sympy.Integer(0)
    if value == "explicit":
        return zero, zero, "explicit"
    if isinstance(value, str):
        if value not in modes:
            accepted = ", ".join(m if m != "explicit" else "integers" for m in modes) or "nothing"
            raise SpecError(
                f"padding {value!r} is not defined for {spec.kind} in the {convention} convention "
                f"(accepted: {accepted}) in {spec.text}"
            )
        return zero, zero, value
    if "explicit" not in modes:
        raise SpecError(
            f"{spec.kind} in the {convention} convention takes padding {', '.join(modes)}, not numbers, "
            f"in {spec.text}"
        )
    if value is UNKNOWN:
        unknowns.append("p")
        return symbol("p"), symbol("p"), "explicit"
    if isinstance(value, tuple):
        if fw.CONVENTIONS[spec.framework].symmetric_pads and value[0] != value[1]:
            raise SpecError(
                f"{convention} pads both ends of an axis alike; pad {value} asymmetrically with an explicit pad "
                f"first (F.pad), in {spec.text}"
            )
        return value[0], value[1], "explicit"
    return value, value, "explicit"


def _spec_rules(spec: Spec) -> None:
    """The convention's refusals of a spec before any size (SpecRule)."""
    for rule in fw.CONVENTIONS[spec.framework].spec_rules:
        if rule.applies(spec):
            raise rule.error(f"{rule.message.format(p=spec.get('p'))} in {spec.text}")


def _refuse(spec: Spec) -> None:
    """Parameters a framework does not have, named with the framework (its Convention says which)."""
    framework, convention = spec.framework, spec.framework or "paper"
    rules = fw.CONVENTIONS[framework]
    _spec_rules(spec)
    if spec.kind == "convT" and not rules.modes["convT"]:
        raise SpecError(f"convT does not exist in the {convention} convention in {spec.text}")
    if spec.get("ceil") is not None and not rules.ceil_mode:
        raise SpecError(f"ceil_mode does not exist in {convention} pooling in {spec.text}")
    if spec.kind == "lppool" and spec.kind not in rules.pool_kinds:
        raise SpecError(
            f"lppool does not exist in the {convention} convention (ONNX's LpPool) in {spec.text}"
        )
    if spec.kind == "maxunpool" and rules.unpool_rules is None:
        raise SpecError(
            f"maxunpool does not exist in the {convention} convention (ONNX's MaxUnpool) in {spec.text}"
        )
    if spec.get("opset") is not None and not rules.takes_opset:
        raise SpecError(
            f"opset names an ONNX operator set; the {convention} convention has none, in {spec.text}"
        )
    pooling = spec.kind in POOL_KINDS
    if spec.get("d") is not None and pooling and spec.kind not in rules.pool_dilation:
        raise SpecError(f"{spec.kind} has no dilation in the {convention} convention in {spec.text}")
    for name, described in fw.OPTIONAL_PARAMETERS.items():
        if spec.get(name) is not None and name not in rules.parameters:
            raise SpecError(
                f"{described} does not exist in the {convention} convention's {spec.kind} in {spec.text}"
            )


def _backend(spec: Spec) -> Spec:
    """A spec naming its backend (keras.convT(..., backend=tensorflow)) read in the convention of that backend's
    kernels, which its Convention names."""
    value = spec.get("backend")
    if value is None:
        return spec
    convention = spec.framework or "paper"
    backends = fw.CONVENTIONS[spec.framework].backends
    if value not in backends:
        accepted = ", ".join(backends) or "none"
        raise SpecError(
            f"backend {value} is not modelled for the {convention} convention (backends: {accepted}) in {spec.text}"
        )
    args = tuple((name, v) for name, v in spec.args if name != "backend")
    return Spec(backends[value], spec.kind, args, spec.text, spec.rank)


def _resampling(spec: Spec) -> Layer:
    unknowns: list[str] = []
    if spec.kind == "upsample":
        if (spec.get("scale") is None) == (spec.get("size") is None):
            raise SpecError(f"upsample takes exactly one of scale and size in {spec.text}")
        scale = None if spec.get("scale") is None else _integer(spec, "scale", None, unknowns)
        size = None if spec.get("size") is None else _integer(spec, "size", None, unknowns)
        mode = spec.get("mode", "nearest")
        if mode not in ("nearest", "linear", "bilinear"):
            raise SpecError(f"upsample mode must be nearest, linear or bilinear, got {mode!r} in {spec.text}")
        mode = "nearest" if mode == "nearest" else "linear"  # bilinear: linear on each axis
        if spec.get("align_corners") is not None and mode == "nearest":
            raise SpecError(
                f"align_corners can only be set with the interpolating modes (linear, bilinear) in {spec.text}"
            )
        return Resize(
            spec.text, spec.framework, tuple(unknowns), scale, size, mode, _flag(spec, "align_corners")
        )
    if spec.kind == "adaptivepool":
        # Parameters are read before the unknowns are collected: an argument list would take the tuple first.
        size = _integer(spec, "size", None, unknowns)
        return AdaptivePool(spec.text, spec.framework, tuple(unknowns), size)
    r = _integer(spec, "r", None, unknowns)
    return PixelShuffle(spec.text, spec.framework, tuple(unknowns), r, spec.kind == "pixelunshuffle")


def _axis_text(spec: Spec, args: tuple[tuple[str, Any], ...]) -> str:
    """The spec of one axis, as text: conv(k=5, s=2, p=[(1, 2)])."""

    def shown(value: Any) -> str:
        if isinstance(value, tuple):
            return f"[({value[0]}, {value[1]})]"
        return "?" if value is UNKNOWN else str(value)

    prefix = f"{spec.framework}." if spec.framework else ""
    return f"{prefix}{spec.kind}({', '.join(f'{name}={shown(value)}' for name, value in args)})"


# Parameters the frameworks take once per layer (PyTorch's ceil_mode is one bool, ONNX's one int, ...).
WHOLE_LAYER = frozenset({"ceil", "consistent", "mode", "align_corners", "opset", "backend", "r"})


def _per_axis(spec: Spec) -> Layer:
    """A spec with values per axis: one layer per axis (one axis: that layer, written for one axis)."""
    given = [(name, value) for name, value in spec.args if isinstance(value, PerAxis)]
    whole = [value.text for name, value in given if name in WHOLE_LAYER]
    if whole:
        raise SpecError(
            f"{whole[0]}: this parameter is one value for the whole layer in every framework, not one per axis, "
            f"in {spec.text}"
        )
    counts = {len(value) for _, value in given}
    if len(counts) > 1:
        shown = ", ".join(f"{value.text} has {len(value)}" for _, value in given)
        raise SpecError(
            f"parameters give different numbers of spatial axes ({shown}); give each one value, or one per "
            f"axis, in {spec.text}"
        )
    (count,) = counts
    if count > 1:
        for rule in fw.CONVENTIONS[_backend(spec).framework].axes_rules:
            if rule.applies(spec):
                raise rule.error(f"{rule.message} in {spec.text}")
    layers = []
    for n in range(count):
        args = tuple((name, v.values[n] if isinstance(v, PerAxis) else v) for name, v in spec.args)
        text = spec.text if count == 1 else _axis_text(spec, args)
        try:
            made = build(Spec(spec.framework, spec.kind, args, text, spec.rank))
            # Each axis' layer runs on `count` axes: the convention's rules of that rank apply to it.
            layers.append(made if count == 1 or spec.rank is not None else on_rank(made, count))
        except SymconvError as error:
            if count == 1:
                raise
            raise type(error)(f"{error} (axis {n} of {spec.text})") from None
    if count == 1:
        return layers[0]
    unknowns = tuple(dict.fromkeys(name for made in layers for name in made.unknowns))
    pads = spec.get("p")
    hint = ""
    asymmetric = not fw.CONVENTIONS[spec.framework].symmetric_pads
    if isinstance(pads, PerAxis) and count == 2 and asymmetric and not pads.text.startswith("pads="):
        begin, end = pads.values
        if not isinstance(begin, tuple | str | Unknown) and not isinstance(end, tuple | str | Unknown):
            hint = f"to pad one axis by {begin} before and {end} after, write p=[({begin}, {end})]"
    return Axes(spec.text, spec.framework, unknowns, tuple(layers), tuple(v.text for _, v in given), hint)


def build(spec: Spec) -> Layer:
    """The layer a parsed spec describes; concrete parameters are checked against their rules here."""
    for name, _ in spec.args:
        if _LETTER.get(name, name) not in _ALLOWED[spec.kind]:
            raise SpecError(f"parameter {name} does not apply to {spec.kind} in {spec.text}")
    if any(isinstance(value, PerAxis) for _, value in spec.args):
        return _per_axis(spec)
    if spec.kind in ("upsample", "pixelshuffle", "pixelunshuffle", "adaptivepool"):
        spec = _backend(spec)
        _spec_rules(spec)
        resampling = _resampling(spec)
        resampling._check_parameters()
        return _named_rank(resampling, spec)
    family = {"conv": "conv", "convT": "convT"}.get(spec.kind, "pool")
    spec = _backend(spec)
    _refuse(spec)
    if spec.kind == "maxunpool":
        return _unpool(spec)
    framework = spec.framework
    unknowns: list[str] = []
    k = _integer(spec, "k", None, unknowns)
    unit = sympy.Integer(1)
    # Pooling strides default to the kernel in PyTorch, Keras and TF; to 1 in ONNX and JAX.
    default_stride = k if family == "pool" and fw.CONVENTIONS[framework].pool_stride_is_kernel else unit
    s = _integer(spec, "s", default_stride, unknowns)
    d = _integer(spec, "d", unit, unknowns)
    pb, pe, mode = _padding(spec, family, unknowns)
    head = (spec.text, framework, tuple(unknowns))
    made: Layer
    if family == "conv":
        made = Conv(*head, k, s, pb, pe, d, mode)
    elif family == "convT":
        default = fw.CONVENTIONS[framework].default_output_padding
        default_a = None if default is None else sympy.Integer(default)
        a = default_a if spec.get("a") is None else _integer(spec, "a", None, unknowns)
        shape = None if spec.get("output_shape") is None else _integer(spec, "output_shape", None, unknowns)
        made = ConvTranspose(
            spec.text, framework, tuple(unknowns), k, s, pb, pe, d, a, mode, _flag(spec, "consistent"), shape
        )
    else:
        op = spec.kind.removesuffix("pool")
        made = Pool(*head, k, s, pb, pe, d, mode, _flag(spec, "ceil"), op, _opset(spec))
    made._check_parameters()
    return _named_rank(made, spec)


def _named_rank(made: Layer, spec: Spec) -> Layer:
    """The layer with the rank its spec names (nn.Conv2d: 2), checked against the rules of that rank."""
    if spec.rank is None:
        return made
    why = fw.rank_refusal(made.framework, spec.rank, made.kind)
    if why is not None:
        raise SpecError(f"{why} in {spec.text}")
    ranked = dataclasses.replace(made, rank=spec.rank)
    ranked._check_parameters()
    return ranked


def on_rank(made: Layer, rank: int, sizes: Sequence[Any] = ()) -> Layer:
    """The layer as it runs on `rank` spatial axes (an input of that many sizes, `sizes`): SpecError
    where its spec names another rank (nn.Conv2d given 3 sizes) or its convention has no layer of that rank;
    the convention's rules of that rank apply (PyTorch's AvgPool3d checks every axis against the kernel). The
    layer itself where no rule depends on the rank."""
    ranked = _ranked(made, rank)
    if isinstance(ranked, str):
        raise SpecError(ranked.replace(_SIZES, f" ({', '.join(map(str, sizes))})" if sizes else ""))
    return ranked


_SIZES = "\x00"  # where a refusal shows the sizes given (they are not part of the cached answer)


@lru_cache(maxsize=1024)
def _ranked(made: Layer, rank: int) -> Layer | str:
    """on_rank's answer, once per layer and rank: the layer, or the refusal's message."""
    if made.rank is not None:
        if made.rank == rank:
            return made
        axes = "1 spatial axis" if made.rank == 1 else f"{made.rank} spatial axes"
        plural = "s" if made.rank > 1 else ""
        return (
            f"{made.spec} runs on {axes}; the input has {rank}{_SIZES}: give {made.rank} size{plural}, or one "
            "for every axis"
        )
    why = fw.rank_refusal(made.framework, rank, made.kind)
    if why is not None:
        return f"{why}{_SIZES} in {made.spec}"
    ranked = dataclasses.replace(made, rank=rank)
    if ranked.conditions(INPUT) == made.conditions(INPUT):
        return made
    ranked._check_parameters()
    return ranked


def _opset(spec: Spec) -> int | None:
    """The ONNX opset a pooling spec names: a positive integer (None: the newest rules)."""
    value = spec.get("opset")
    if value is None:
        return None
    if not isinstance(value, sympy.Integer) or value < 1:
        raise SpecError(f"opset must be a positive integer, got {value!r} in {spec.text}")
    return int(value)


def _unpool(spec: Spec) -> Layer:
    """ONNX MaxUnpool: kernel, stride (default 1), explicit pads and an optional output size."""
    unknowns: list[str] = []
    k = _integer(spec, "k", None, unknowns)
    s = _integer(spec, "s", sympy.Integer(1), unknowns)
    if isinstance(spec.get("p"), str):
        raise SpecError(
            f"maxunpool takes explicit pads (its MaxPool's), not {spec.get('p')!r}, in {spec.text}"
        )
    pb, pe, _ = _padding(spec, "pool", unknowns)
    # ONNX names it output_shape; size= as the other resampling kinds.
    name = "output_shape" if spec.get("output_shape") is not None else "size"
    size = None if spec.get(name) is None else _integer(spec, name, None, unknowns)
    made = Unpool(spec.text, spec.framework, tuple(unknowns), k, s, pb, pe, size)
    made._check_parameters()
    return made


def one_axis(made: Layer, axis: int | None = None) -> Layer:
    """The layer of one axis: axis `axis` of a per-axis layer, or the one layer all its axes share; any other
    layer is itself (it applies to every axis). SpecError for a per-axis layer whose axes differ, with no axis."""
    if not isinstance(made, Axes):
        return made
    if axis is not None:
        return made.axis(axis)
    if made.uniform is not None:
        return made.uniform
    raise SpecError(
        f"{made.spec} differs between its {made.axes} spatial axes and this works on one: name the axis "
        f"(--axis N on the command line, layer.axis(n) in Python; 0 to {made.axes - 1}, axis 0 is "
        f"{made.axis(0).spec})"
    )


def layer(spec: str) -> Layer:
    """The layer for a spec such as ``conv(k=3, s=2, p=1)`` or ``torch.maxpool(k=3, s=2, ceil=true)``.

    Layers are immutable, so one is made per spec text and kept: ``layer(spec).output_size(i)`` in a loop costs
    about what a held layer's call does.
    """
    if not isinstance(spec, str):
        raise SpecError(f"a layer spec must be text, got {type(spec).__name__}")
    return _layer(spec)


@lru_cache(maxsize=1024)
def _layer(spec: str) -> Layer:
    try:
        return build(parse_spec(spec))
    except SymconvError:
        raise
    except (TypeError, ValueError) as error:
        raise SpecError(f"invalid layer spec {spec!r}: {error}") from None


def layer_context() -> Context:
    """A parsing context whose expressions may apply layers, as in ``conv(k=k, s=s, p=p)(i)``."""
    return Context(layer_builder=build)
