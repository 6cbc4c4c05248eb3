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

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeAlias

import sympy

from .arith import eq, evaluate, floor_div, ge, le, lt, symbol
from .errors import ShapeError, SpecError, SymconvError
from .parse import UNKNOWN, Context, Spec, parse_spec

Size: TypeAlias = sympy.Expr
# (condition, rule): the layer is defined where every condition holds; the rule names what a failure breaks.
Conditions = list[tuple[sympy.Basic, str]]
INPUT = symbol("i")
_ORDER = ["i", "k", "s", "p", "pb", "pe", "d", "a"]
INPUT_RULE = "input size must be a positive integer"
BASIC_RULES = {
    "kernel size must be a positive integer",
    "stride must be a positive integer",
    "dilation must be a positive integer",
    "input size must be a positive integer",
    "padding must be >= 0",
    "begin padding must be >= 0",
    "end padding must be >= 0",
    "output_padding must be >= 0",
}


def _as_expr(value: Any) -> sympy.Expr:
    return sympy.Integer(value) if isinstance(value, int) else value


@dataclass(frozen=True)
class Layer:
    """What every layer shares: its spec text, convention and the names of its unknowns."""

    spec: str
    framework: str | None
    unknowns: tuple[str, ...]

    kind = "layer"

    def output_expr(self, i: Size) -> sympy.Expr:
        raise NotImplementedError

    def conditions(self, i: Size) -> Conditions:
        raise NotImplementedError

    def parameters(self) -> dict[str, sympy.Expr]:
        """The layer's parameters by short name, (begin, end) paddings as pb and pe."""
        raise NotImplementedError

    @cached_property
    def _compiled(self) -> tuple[Any, list[tuple[Any, str]]]:
        from .arith import compile_expr
        from .errors import UnsupportedError

        checks = [(compile_expr(c), rule) for c, rule in self.conditions(INPUT)]
        try:
            output = compile_expr(self.output_expr(INPUT))
        except UnsupportedError:
            # A formula SymPy already evaluated to zoo (a zero divisor): a rule above refuses every input.
            def output(env: Any) -> int:
                raise ShapeError(f"no output size is defined in {self.spec}")

        return output, checks

    @cached_property
    def _symbolic_parameters(self) -> frozenset[str]:
        expressions = [self.output_expr(INPUT), *(condition for condition, _ in self.conditions(INPUT))]
        return frozenset(s.name for e in expressions for s in e.free_symbols) - {"i"}

    def _size(self, i: int, env: dict[str, int]) -> int:
        output, checks = self._compiled
        env = {**env, "i": i}
        for check, rule in checks:
            try:
                defined = check(env)
            except ZeroDivisionError:
                defined = False
            if not defined:
                # A parameter breaking a basic rule is bad input whether it came in the spec or as a value.
                error = SpecError if rule in BASIC_RULES and rule != INPUT_RULE else ShapeError
                raise error(f"{rule}{self._describe(rule, env)} in {self.spec}")
        return int(output(env))

    def output_size(self, i: Any, **values: int) -> Any:
        """The output size: an int for an int, a tuple per axis for a tuple, an expression for a symbol.

        Symbolic parameters take their values from `values` (``output_size(32, s=2)``) when given.
        """
        if isinstance(i, bool):
            raise SpecError(f"input size must be an integer, got {i!r} in {self.spec}")
        if isinstance(i, tuple | list):
            return tuple(self.output_size(axis, **values) for axis in i)
        if isinstance(i, int):
            free = self._symbolic_parameters - set(values)
            if free:
                names = ", ".join(sorted(free))
                raise SpecError(f"no value for the symbolic parameter(s) {names} in {self.spec}")
            return self._size(i, dict(values))
        if isinstance(i, sympy.Expr):
            expr = self.output_expr(i)
            return expr.subs({symbol(k): v for k, v in values.items()}) if values else expr
        raise SpecError(
            f"input size must be an integer, a tuple or a SymPy expression, got {i!r} in {self.spec}"
        )

    def is_defined(self, i: int, **values: int) -> bool:
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
        for condition, rule in self.conditions(INPUT):
            if condition.free_symbols or evaluate(condition, {}):
                continue
            error = SpecError if rule in BASIC_RULES else ShapeError
            raise error(f"{rule}{self._describe(rule, {})} in {self.spec}")

    def _describe(self, rule: str, env: dict[str, int]) -> str:
        """The values of the names in the rule's condition, as ' (k=3, s=0)'."""
        symbolic = self._symbolic()
        values = {**{name: v for name, v in self.parameters().items() if isinstance(v, sympy.Integer)}, **env}
        for condition, other in symbolic.conditions(INPUT):
            if other == rule:
                names = sorted({s.name for s in condition.free_symbols}, key=_ORDER.index)
                shown = ", ".join(f"{name}={int(values[name])}" for name in names if name in values)
                return f" ({shown})" if shown else ""
        return ""

    def _symbolic(self) -> Layer:
        raise NotImplementedError

    def _latex_(self) -> str:  # pragma: no cover - for notebooks that look for it
        return sympy.latex(self.output_expr(INPUT))


def _pads(pb: sympy.Expr, pe: sympy.Expr) -> dict[str, sympy.Expr]:
    return {"p": pb} if pb == pe else {"pb": pb, "pe": pe}


def _symbols(layer: Layer, *names: str) -> list[sympy.Symbol]:
    """The parameters as symbols, named as the user wrote them (p for a symmetric padding)."""
    symmetric = getattr(layer, "pb", None) == getattr(layer, "pe", None)
    return [symbol("p" if symmetric and name in ("pb", "pe") else name) for name in names]


def _padding_conditions(pb: sympy.Expr, pe: sympy.Expr) -> Conditions:
    if pb == pe:
        return [(ge(pb, 0), "padding must be >= 0")]
    return [(ge(pb, 0), "begin padding must be >= 0"), (ge(pe, 0), "end padding must be >= 0")]


def _base_conditions(i: Size, k: Size, s: Size, d: Size) -> Conditions:
    return [
        (ge(k, 1), "kernel size must be a positive integer"),
        (ge(s, 1), "stride must be a positive integer"),
        (ge(d, 1), "dilation must be a positive integer"),
        (ge(i, 1), "input size must be a positive integer"),
    ]


def effective_kernel(k: Size, d: Size) -> sympy.Expr:
    """k_eff = d(k - 1) + 1, the span of a dilated kernel (the paper's k^ = k + (k-1)(d-1))."""
    return d * (k - 1) + 1


@dataclass(frozen=True)
class Conv(Layer):
    """Convolution: o = floor((i + pb + pe - k_eff)/s) + 1, defined when the padded input holds the kernel."""

    k: sympy.Expr = sympy.Integer(1)
    s: sympy.Expr = sympy.Integer(1)
    pb: sympy.Expr = sympy.Integer(0)
    pe: sympy.Expr = sympy.Integer(0)
    d: sympy.Expr = sympy.Integer(1)
    same: bool = field(default=False, compare=False)

    kind = "conv"

    def output_expr(self, i: Size) -> sympy.Expr:
        return floor_div(i + self.pb + self.pe - effective_kernel(self.k, self.d), self.s) + 1

    def conditions(self, i: Size) -> Conditions:
        rules = _base_conditions(i, self.k, self.s, self.d) + _padding_conditions(self.pb, self.pe)
        if self.same:
            rules.append((eq(self.s, 1), "padding='same' is not supported for strided convolutions"))
        rules.append(
            (
                ge(i + self.pb + self.pe, effective_kernel(self.k, self.d)),
                "the padded input must be at least the effective kernel: i + pb + pe >= d*(k-1) + 1",
            )
        )
        return rules

    def parameters(self) -> dict[str, sympy.Expr]:
        return {"k": self.k, "s": self.s, **_pads(self.pb, self.pe), "d": self.d}

    def _symbolic(self) -> Layer:
        k, s, pb, pe, d = _symbols(self, "k", "s", "pb", "pe", "d")
        return Conv(self.spec, self.framework, (), k, s, pb, pe, d, self.same)


@dataclass(frozen=True)
class ConvTranspose(Layer):
    """Transposed convolution: o = s(i - 1) - pb - pe + d(k - 1) + a + 1 (PyTorch's ConvTranspose)."""

    k: sympy.Expr = sympy.Integer(1)
    s: sympy.Expr = sympy.Integer(1)
    pb: sympy.Expr = sympy.Integer(0)
    pe: sympy.Expr = sympy.Integer(0)
    d: sympy.Expr = sympy.Integer(1)
    a: sympy.Expr = sympy.Integer(0)

    kind = "convT"

    def output_expr(self, i: Size) -> sympy.Expr:
        return self.s * (i - 1) - self.pb - self.pe + effective_kernel(self.k, self.d) - 1 + self.a + 1

    def conditions(self, i: Size) -> Conditions:
        return [
            *_base_conditions(i, self.k, self.s, self.d),
            *_padding_conditions(self.pb, self.pe),
            (ge(self.a, 0), "output_padding must be >= 0"),
            (
                sympy.Or(lt(self.a, self.s), lt(self.a, self.d)),
                "output_padding must be smaller than either stride or dilation",
            ),
            (ge(self.output_expr(i), 1), "the output size must be >= 1"),
        ]

    def parameters(self) -> dict[str, sympy.Expr]:
        return {"k": self.k, "s": self.s, **_pads(self.pb, self.pe), "d": self.d, "a": self.a}

    def _symbolic(self) -> Layer:
        return ConvTranspose(self.spec, self.framework, (), *_symbols(self, "k", "s", "pb", "pe", "d", "a"))


@dataclass(frozen=True)
class Pool(Layer):
    """Max or average pooling, with PyTorch's ceil_mode and its last-window rule.

    floor mode: o = floor((i + pb + pe - k_eff)/s) + 1.
    ceil mode:  o = floor((i + pb + pe - k_eff + s - 1)/s) + 1, minus one when the last window would start in
    the right padding, (o - 1)s >= i + pb.
    """

    k: sympy.Expr = sympy.Integer(1)
    s: sympy.Expr = sympy.Integer(1)
    pb: sympy.Expr = sympy.Integer(0)
    pe: sympy.Expr = sympy.Integer(0)
    d: sympy.Expr = sympy.Integer(1)
    ceil: bool = False
    op: str = "max"
    # PyTorch refuses padding above half the kernel (2p <= k in 2.x, the undilated k).
    half_kernel_padding: bool = False

    @property
    def kind(self) -> str:  # type: ignore[override]
        return f"{self.op}pool"

    def output_expr(self, i: Size) -> sympy.Expr:
        k_eff = effective_kernel(self.k, self.d)
        if not self.ceil:
            return floor_div(i + self.pb + self.pe - k_eff, self.s) + 1
        o = floor_div(i + self.pb + self.pe - k_eff + self.s - 1, self.s) + 1
        return sympy.Piecewise((o - 1, ge((o - 1) * self.s, i + self.pb)), (o, True))

    def conditions(self, i: Size) -> Conditions:
        rules = _base_conditions(i, self.k, self.s, self.d) + _padding_conditions(self.pb, self.pe)
        if self.half_kernel_padding:
            rules += [
                (le(2 * p, self.k), "pad should be at most half of kernel size")
                for p in dict.fromkeys((self.pb, self.pe))
            ]
        if self.ceil:
            rules.append((ge(self.output_expr(i), 1), "the output size must be >= 1"))
        else:
            rules.append(
                (
                    ge(i + self.pb + self.pe, effective_kernel(self.k, self.d)),
                    "the padded input must be at least the effective kernel: i + pb + pe >= d*(k-1) + 1",
                )
            )
        return rules

    def parameters(self) -> dict[str, sympy.Expr]:
        return {"k": self.k, "s": self.s, **_pads(self.pb, self.pe), "d": self.d}

    def _symbolic(self) -> Layer:
        k, s, pb, pe, d = _symbols(self, "k", "s", "pb", "pe", "d")
        return Pool(
            self.spec, self.framework, (), k, s, pb, pe, d, self.ceil, self.op, self.half_kernel_padding
        )


_SUPPORTED = {"conv": "kspd", "convT": "kspda", "maxpool": "kspdc", "avgpool": "kspc"}


def _integer(spec: Spec, name: str, default: sympy.Expr | None, unknowns: list[str]) -> sympy.Expr:
    value = spec.get(name, default)
    if value is None:
        raise SpecError(f"missing required parameter {name} in {spec.text}")
    if value is UNKNOWN:
        unknowns.append(name)
        return symbol(name)
    if isinstance(value, str | tuple):
        raise SpecError(f"parameter {name} must be an integer or a symbol, got {value!r} in {spec.text}")
    return _as_expr(value)


def _flag(spec: Spec, name: str) -> bool:
    value = spec.get(name, "false")
    if value not in ("true", "false"):
        raise SpecError(f"{name} must be true or false, got {value!r} in {spec.text}")
    return value == "true"


def _padding(
    spec: Spec, k: sympy.Expr, d: sympy.Expr, unknowns: list[str]
) -> tuple[sympy.Expr, sympy.Expr, bool]:
    """(begin, end, same) for the spec's p."""
    value = spec.get("p", sympy.Integer(0))
    if value is UNKNOWN:
        unknowns.append("p")
        return symbol("p"), symbol("p"), False
    if isinstance(value, tuple):
        return value[0], value[1], False
    if value == "valid":
        return sympy.Integer(0), sympy.Integer(0), False
    if value == "same" and spec.kind == "conv":
        # PyTorch's rule: total d(k-1), the odd element at the end; only for stride 1.
        total = d * (k - 1)
        begin = floor_div(total, 2)
        return begin, total - begin, True
    if value == "full" and spec.kind == "conv" and spec.framework is None:
        full = effective_kernel(k, d) - 1
        return full, full, False
    if isinstance(value, str):
        raise SpecError(
            f"padding {value!r} is not defined for {spec.kind} in the "
            f"{spec.framework or 'paper'} convention in {spec.text}"
        )
    return value, value, False


def build(spec: Spec) -> Layer:
    """The layer a parsed spec describes; concrete parameters are checked against their rules here."""
    if spec.framework not in (None, "torch"):
        raise SpecError(
            f"the {spec.framework} conventions are not modelled in this version; use the paper's (no prefix) "
            f"or torch. in {spec.text}"
        )
    allowed = _SUPPORTED[spec.kind]
    for name, _ in spec.args:
        if (name if name != "ceil" else "c") not in allowed:
            raise SpecError(f"parameter {name} does not apply to {spec.kind} in {spec.text}")
    unknowns: list[str] = []
    k = _integer(spec, "k", None, unknowns)
    default_stride = k if spec.kind.endswith("pool") else sympy.Integer(1)
    s = _integer(spec, "s", default_stride, unknowns)
    d = _integer(spec, "d", sympy.Integer(1), unknowns)
    pb, pe, same = _padding(spec, k, d, unknowns)
    head = (spec.text, spec.framework, tuple(unknowns))
    made: Layer
    if spec.kind == "conv":
        made = Conv(*head, k, s, pb, pe, d, same)
    elif spec.kind == "convT":
        a = _integer(spec, "a", sympy.Integer(0), unknowns)
        made = ConvTranspose(spec.text, spec.framework, tuple(unknowns), k, s, pb, pe, d, a)
    else:
        op = spec.kind.removesuffix("pool")
        made = Pool(
            *head,
            k,
            s,
            pb,
            pe,
            d,
            ceil=_flag(spec, "ceil"),
            op=op,
            half_kernel_padding=spec.framework == "torch",
        )
    made._check_parameters()
    return made


def layer(spec: str) -> Layer:
    """The layer for a spec such as ``conv(k=3, s=2, p=1)`` or ``torch.maxpool(k=3, s=2, ceil=true)``."""
    try:
        return build(parse_spec(spec))
    except SymconvError:
        raise
    except (TypeError, ValueError) as error:
        raise SpecError(f"invalid layer spec {spec!r}: {error}") from None


def layer_context() -> Context:
    """A parsing context whose expressions may apply layers, as in ``conv(k=k, s=s, p=p)(i)``."""
    return Context(layer_builder=build)


def output_sizes(layers: Sequence[Layer], i: Any) -> Any:
    """The size after applying `layers` in order (a chain)."""
    for item in layers:
        i = item.output_size(i)
    return i
