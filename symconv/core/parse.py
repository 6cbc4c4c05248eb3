"""The one safe parser: layer specs and integer expressions -> SymPy.

User text is never evaluated. It is parsed by ``ast.parse(text, mode="eval")`` and the tree is walked with a
whitelist: integers, names, ``+ - * // % **`` (``/`` only inside floor/ceil), floor, ceil, mod, min, max, abs,
comparisons, and, or, not, and layer calls such as ``conv(k=3, s=2, p=1)(i)``. Any other node is a SpecError
that names it.

>>> parse_expression("floor((i + 2*p - k) / s) + 1")
floor((i - k + 2*p)/s) + 1
>>> parse_spec("torch.maxpool(k=3, s=2, ceil=true)").framework
'torch'
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import sympy

from .arith import eq, floor_div, ge, gt, le, lt, mod, ne, symbol
from .errors import SpecError
from .frameworks import FRAMEWORKS
from .hints import did_you_mean
from .limits import check_tree
from .meaning import Meaning, read

KINDS = (
    "conv",
    "convT",
    "maxpool",
    "avgpool",
    "lppool",
    "maxunpool",
    "upsample",
    "pixelshuffle",
    "pixelunshuffle",
    "adaptivepool",
)
PARAMETERS = (
    *("k", "s", "p", "d", "a", "ceil", "consistent", "scale", "size", "r", "mode", "align_corners"),
    *("opset", "output_shape", "backend"),
)
KEYWORDS = (
    *("same", "valid", "full", "causal", "same_upper", "same_lower", "true", "false"),
    *("nearest", "linear", "bilinear", "tensorflow"),
)
ALIASES = {
    "kernel_size": "k",
    "kernel": "k",
    "stride": "s",
    "strides": "s",
    "padding": "p",
    "pads": "p",
    "auto_pad": "p",
    "dilation": "d",
    "dilations": "d",
    "output_padding": "a",
    "ceil_mode": "ceil",
    "use_consistent_padding": "consistent",
    "scale_factor": "scale",
    "output_size": "size",
    "upscale_factor": "r",
    "downscale_factor": "r",
}
FUNCTIONS = ("floor", "ceil", "ceiling", "mod", "min", "max", "abs")
MAX_TEXT = 10_000
MAX_POWER = 64
_UNKNOWN_NAME = "__unknown__"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


class Unknown:
    """The `?` of a spec: a parameter to solve for."""

    def __repr__(self) -> str:
        return "?"


UNKNOWN = Unknown()
# A value of one axis: a number or symbol, a keyword, `?`, or a padding's (begin, end) pair.
AxisValue: TypeAlias = sympy.Expr | str | tuple[sympy.Expr, sympy.Expr] | Unknown


@dataclass(frozen=True)
class PerAxis:
    """A parameter given per spatial axis, as the frameworks write kernel_size=(3, 5): one value per axis (for
    the padding, a value or a (begin, end) pair). `text` is the argument as written, for messages."""

    values: tuple[AxisValue, ...]
    text: str

    def __len__(self) -> int:
        return len(self.values)


SpecValue: TypeAlias = AxisValue | PerAxis


@dataclass(frozen=True)
class Spec:
    """A parsed layer spec: framework prefix (None: the paper's convention), kind and named arguments; `rank`
    the number of spatial axes a framework class names (nn.Conv2d: 2; None: any)."""

    framework: str | None
    kind: str
    args: tuple[tuple[str, SpecValue], ...]
    text: str
    rank: int | None = None

    def get(self, name: str, default: Any = None) -> Any:
        return dict(self.args).get(name, default)


@dataclass
class Context:
    """What parsing an expression collected besides its value: the domains of the layers it calls."""

    obligations: list[tuple[sympy.Basic, str]] = field(default_factory=list)
    layer_builder: Callable[[Spec], Any] | None = None


def _segment(text: str, node: ast.AST) -> str:
    return ast.get_source_segment(text, node) or type(node).__name__


def _fail(text: str, node: ast.AST, why: str) -> SpecError:
    col = getattr(node, "col_offset", None)
    where = f" at column {col + 1}" if col is not None else ""
    return SpecError(f"{why}: {_segment(text, node)!r}{where}")


# Python's constructs in the words of a reader, not the names of the ast module's classes.
_CONSTRUCTS = {
    "Attribute": "an attribute (a.b)",
    "Subscript": "indexing (a[b])",
    "IfExp": "a conditional (a if c else b)",
    "JoinedStr": "an f-string",
    "Lambda": "a lambda",
    "List": "a list",
    "Tuple": "a tuple",
    "Dict": "a dict",
    "Set": "a set",
    "ListComp": "a comprehension",
    "SetComp": "a comprehension",
    "DictComp": "a comprehension",
    "GeneratorExp": "a generator",
    "NamedExpr": "an assignment (:=)",
    "Starred": "unpacking (*)",
    "Slice": "a slice",
    "Await": "await",
    "Yield": "yield",
    "YieldFrom": "yield",
}


def construct(node: ast.AST) -> str:
    """What a piece of Python is, as a reader would name it: 'an f-string', not 'JoinedStr'."""
    return _CONSTRUCTS.get(type(node).__name__, type(node).__name__)


def _tree(text: str, what: str) -> ast.AST:
    if not isinstance(text, str):
        raise SpecError(f"{what} must be text, got {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise SpecError(f"{what} is too long ({len(text)} characters, at most {MAX_TEXT})")
    if not text.strip():
        raise SpecError(f"{what} is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as error:
        col = f" at column {error.offset}" if error.offset else ""
        hint = ""
        turned = re.search(r"=<|=>", text)
        if what in ("condition", "expression") and turned:
            hint = f" ({turned.group()} is written {turned.group()[::-1]})"
        elif what in ("condition", "expression") and re.search(r"(?<![=<>!])=(?!=)", text):
            hint = " (a single = assigns; equality is ==, as in k == 3)"
        raise SpecError(f"malformed {what}{col}: {error.msg} in {text!r}{hint}") from None
    except (RecursionError, MemoryError, ValueError):
        raise SpecError(f"malformed {what}: nested too deeply or invalid in {text[:80]!r}") from None
    try:
        check_tree(tree, text, what, KEYWORDS)  # depth and size, before anything walks or computes the tree
    except SpecError as error:
        raise SpecError(str(error).replace(_UNKNOWN_NAME, "?")) from None
    return tree


def _check_name(text: str, node: ast.Name) -> str:
    if not _NAME.match(node.id):
        raise _fail(text, node, "names must start with a letter and hold only letters, digits and _")
    return node.id


class _Expressions:
    """Walks an expression tree with a whitelist; `fraction_ok` is true inside floor() and ceil()."""

    def __init__(self, text: str, context: Context) -> None:
        self.text = text
        self.context = context
        # Each node's SymPy value and each layer call's (output, conditions), kept for symconv.core.meaning: it
        # reads the text again in Python's order to find where it is defined.
        self.values: dict[int, Any] = {}
        self.layer_calls: dict[int, tuple[sympy.Expr, list[tuple[sympy.Basic, str]]]] = {}
        self.names: set[str] = set()

    def fail(self, node: ast.AST, why: str) -> SpecError:
        return _fail(self.text, node, why)

    def integer(self, node: ast.AST, fraction_ok: bool = False) -> sympy.Expr:
        value = self.visit(node, fraction_ok)
        if isinstance(value, sympy.logic.boolalg.Boolean) and not isinstance(value, sympy.Expr):
            raise self.fail(node, "expected an integer expression, got a condition")
        return value

    def condition(self, node: ast.AST) -> sympy.Basic:
        value = self.visit(node, False)
        if value is True or value is False:
            return sympy.true if value else sympy.false
        if not isinstance(value, sympy.logic.boolalg.Boolean) or isinstance(value, sympy.Expr):
            raise self.fail(
                node, "expected a condition (a comparison, and, or, not), got an integer expression"
            )
        return value

    def visit(self, node: ast.AST, fraction_ok: bool) -> Any:
        value = self.values[id(node)] = self._visit(node, fraction_ok)
        return value

    def _visit(self, node: ast.AST, fraction_ok: bool) -> Any:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                return sympy.true if node.value else sympy.false
            if isinstance(node.value, int):
                return sympy.Integer(node.value)
            raise self.fail(node, "only integers are allowed (sizes and parameters are integers)")
        if isinstance(node, ast.Name):
            name = _check_name(self.text, node)
            if name in KEYWORDS or name in FUNCTIONS or name in KINDS:
                raise self.fail(node, f"{name!r} is reserved and cannot be used as a symbol")
            self.names.add(name)
            return symbol(name)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return -self.integer(node.operand, fraction_ok)
            if isinstance(node.op, ast.UAdd):
                return self.integer(node.operand, fraction_ok)
            if isinstance(node.op, ast.Not):
                return sympy.Not(self.condition(node.operand))
            raise self.fail(node, "the bitwise operator ~ is not allowed (write not for a condition)")
        if isinstance(node, ast.BinOp):
            return self.binop(node, fraction_ok)
        if isinstance(node, ast.BoolOp):
            parts = [self.condition(value) for value in node.values]
            return sympy.And(*parts) if isinstance(node.op, ast.And) else sympy.Or(*parts)
        if isinstance(node, ast.Compare):
            return self.compare(node, fraction_ok)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(node, f"{construct(node)} is not allowed in an expression")

    def binop(self, node: ast.BinOp, fraction_ok: bool) -> sympy.Expr:
        op = node.op
        if isinstance(op, ast.Pow):
            base = self.integer(node.left, fraction_ok)
            exponent = node.right
            negative = (
                isinstance(exponent, ast.UnaryOp)
                and isinstance(exponent.op, ast.USub)
                and isinstance(exponent.operand, ast.Constant)
            )
            if negative:
                # x ** -1 is 1/x: not an integer, so not a size; a fraction is written with / or //.
                raise self.fail(
                    node,
                    "the exponent of ** must be a non-negative integer (x ** -n is 1/x**n: write a division)",
                )
            if not (isinstance(exponent, ast.Constant) and type(exponent.value) is int):
                raise self.fail(node, "the exponent of ** must be an integer literal")
            if not 0 <= exponent.value <= MAX_POWER:
                raise self.fail(node, f"the exponent of ** must be between 0 and {MAX_POWER}")
            return base**exponent.value
        left = self.integer(node.left, fraction_ok)
        right = self.integer(node.right, fraction_ok)
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.FloorDiv | ast.Mod | ast.Div) and right == 0:
            return self.zero_divisor(node, node.right)
        if isinstance(op, ast.FloorDiv):
            return floor_div(left, right)
        if isinstance(op, ast.Mod):
            return _mod(left, right)
        if isinstance(op, ast.Div):
            if not fraction_ok:
                raise self.fail(
                    node, "'/' is only allowed inside floor() or ceil(); use // for floor division"
                )
            return left / right
        raise self.fail(node, "operator not allowed; allowed: + - * // % ** (and / inside floor or ceil)")

    def zero_divisor(self, node: ast.AST, divisor: ast.AST) -> sympy.Expr:
        """A divisor that is 0: bad input when written as a number; when written with names (p // (2*p) is 0
        wherever p is not), the text is undefined wherever it is evaluated, which its definedness
        (symconv.core.meaning) states, so the value here is never read: 0 stands in for it."""
        if not any(isinstance(part, ast.Name) for part in ast.walk(divisor)):
            raise self.fail(node, "division by zero")
        return sympy.Integer(0)

    def compare(self, node: ast.Compare, fraction_ok: bool) -> sympy.Basic:
        relations = {ast.Eq: eq, ast.NotEq: ne, ast.Lt: lt, ast.LtE: le, ast.Gt: gt, ast.GtE: ge}
        terms = [self.integer(node.left, fraction_ok)]
        terms += [self.integer(right, fraction_ok) for right in node.comparators]
        parts = []
        for index, op in enumerate(node.ops):
            relation = relations.get(type(op))
            if relation is None:
                raise self.fail(node, "only == != < <= > >= compare sizes")
            parts.append(relation(terms[index], terms[index + 1]))
        return sympy.And(*parts)

    def call(self, node: ast.Call) -> sympy.Basic:
        if isinstance(node.func, ast.Call):
            return self.layer_call(node)
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise self.fail(node, f"unknown function; allowed: {', '.join(FUNCTIONS)} and layer calls")
        name = node.func.id
        if node.keywords:
            raise self.fail(node, f"{name}() takes no named arguments")
        inside = name in ("floor", "ceil", "ceiling")
        args = [self.integer(arg, fraction_ok=inside) for arg in node.args]
        arity = {"floor": 1, "ceil": 1, "ceiling": 1, "abs": 1, "mod": 2}
        if name in arity and len(args) != arity[name]:
            raise self.fail(node, f"{name}() takes {arity[name]} argument(s), got {len(args)}")
        if name in ("min", "max") and len(args) < 2:
            raise self.fail(node, f"{name}() takes at least 2 arguments")
        if name == "floor":
            return sympy.floor(args[0])
        if name in ("ceil", "ceiling"):
            return sympy.ceiling(args[0])
        if name == "mod":
            if args[1] == 0:
                return self.zero_divisor(node, node.args[1])
            return _mod(args[0], args[1])
        if name == "abs":
            return sympy.Abs(args[0])
        kind = sympy.Min if name == "min" else sympy.Max
        # Evaluated only on numbers: SymPy's evaluation compares every pair of arguments through its
        # assumptions, exponential in the nesting (48 nested min/max took over 20 s), and it decides nothing
        # the integer evaluator and Z3 do not.
        return kind(*args, evaluate=all(isinstance(arg, sympy.Number) for arg in args))

    def layer_call(self, node: ast.Call) -> sympy.Expr:
        if node.keywords or len(node.args) != 1:
            raise self.fail(node, "a layer is applied to one input size, as in conv(k=3, s=2)(i)")
        if self.context.layer_builder is None:
            raise self.fail(node, "layer calls are not allowed here")
        spec = _spec_from_call(self.text, node.func, self)  # type: ignore[arg-type]
        layer = self.context.layer_builder(spec)
        size = self.integer(node.args[0])
        conditions = layer.conditions(size)
        self.context.obligations.extend(conditions)
        output = layer.output_expr(size)
        self.layer_calls[id(node)] = (output, conditions)
        return output


def _mod(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    """a % b as the user wrote it. SymPy's evaluation is trusted only for a positive constant divisor: for a
    symbolic one it can be wrong (it makes Mod(s, -2*s) equal to s, though 1 % -2 is -1)."""
    if isinstance(b, sympy.Integer) and (b > 0 or isinstance(a, sympy.Integer)):
        return mod(a, b)
    return sympy.Mod(a, b, evaluate=False)


def parse_expression(text: str, context: Context | None = None) -> sympy.Basic:
    """An integer expression or a condition, as SymPy; layer calls record their domains in `context`."""
    context = context if context is not None else Context()
    tree = _tree(text, "expression")
    try:
        return _Expressions(text.strip(), context).visit(tree, False)
    except SpecError as error:
        raise SpecError(f"{error} in {text.strip()!r}") from None


def parse_meaning(text: str, context: Context | None = None, *, condition: bool = False) -> Meaning:
    """An expression (or, with `condition`, a condition) with where it is defined and its meaning on plain
    integers, read from the text as written (symconv.core.meaning)."""
    context = context if context is not None else Context()
    tree = _tree(text, "condition" if condition else "expression")
    source = text.strip()
    walker = _Expressions(source, context)
    try:
        if condition:
            walker.condition(tree)
        else:
            walker.visit(tree, False)
    except SpecError as error:
        raise SpecError(f"{error} in {source!r}") from None
    return read(source, tree, walker.values, walker.layer_calls, frozenset(walker.names))


def split_conjuncts(text: str) -> list[str]:
    """The top-level ``and`` parts of a condition, as text, in order (SymPy's And would sort them)."""
    tree = _tree(text, "condition")
    source = text.strip()
    if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And):
        return [ast.get_source_segment(source, value) or "" for value in tree.values]
    return [source]


def parse_condition(text: str, context: Context | None = None) -> sympy.Basic:
    """A condition (comparison, and, or, not), as SymPy."""
    context = context if context is not None else Context()
    tree = _tree(text, "condition")
    try:
        return _Expressions(text.strip(), context).condition(tree)
    except SpecError as error:
        raise SpecError(f"{error} in {text.strip()!r}") from None


def _scalar_value(text: str, node: ast.AST, walker: _Expressions) -> AxisValue:
    if isinstance(node, ast.Name) and node.id == _UNKNOWN_NAME:
        return UNKNOWN
    if isinstance(node, ast.Name) and node.id in KEYWORDS:
        return node.id
    # As the frameworks' code writes them: p='same', auto_pad="SAME_UPPER", ceil=True.
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() in KEYWORDS:
        return node.value.lower()
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return "true" if node.value else "false"
    return walker.integer(node)


def _names_framework_class(node: ast.Call) -> bool:
    """Whether a call is a framework's constructor (nn.Conv2d(...)); a call of one of symconv's own kinds never is,
    and is told apart without loading the constructors' tables (a cold command's time)."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name in KINDS:
        return False
    from .constructors import is_constructor

    return is_constructor(node)


def _pair(text: str, name: str, node: ast.Tuple | ast.List, walker: _Expressions) -> AxisValue:
    """One axis' (begin, end) padding, inside a per-axis tuple."""
    if name != "p":
        raise _fail(text, node, f"a (begin, end) pair is only allowed for the padding p, not {name}")
    if any(isinstance(part, ast.Tuple | ast.List) for part in node.elts):
        raise _fail(
            text, node, "nested too deeply: a padding is a value per axis or a (begin, end) pair per axis"
        )
    if len(node.elts) != 2:
        raise _fail(text, node, f"a padding pair is (begin, end), got {len(node.elts)} entries")
    begin, end = (walker.integer(element) for element in node.elts)
    return begin if begin == end else (begin, end)


def per_axis_pads(values: list[AxisValue]) -> tuple[AxisValue, ...] | str:
    """ONNX's pads [b1, ..., bn, e1, ..., en] as one (begin, end) pair per axis (a value where they are
    equal); a message when the count is odd."""
    axes, odd = divmod(len(values), 2)
    if odd:
        return (
            "ONNX pads list a begin and an end per axis, [b1, ..., bn, e1, ..., en]: an even count, "
            f"got {len(values)}"
        )
    pairs = zip(values[:axes], values[axes:], strict=True)
    return tuple(begin if begin == end else (begin, end) for begin, end in pairs)


def _spec_value(text: str, name: str, written: str, node: ast.AST, walker: _Expressions) -> SpecValue:
    """A value, or with a tuple or list, one value per spatial axis; `written` is the argument's own name
    (ONNX's pads are begins then ends)."""
    if not isinstance(node, ast.Tuple | ast.List):
        return _scalar_value(text, node, walker)
    if not node.elts:
        raise _fail(text, node, f"{written} is empty: give one value, or one per spatial axis")
    values: list[AxisValue] = []
    for element in node.elts:
        if isinstance(element, ast.Tuple | ast.List):
            values.append(_pair(text, name, element, walker))
        else:
            values.append(_scalar_value(text, element, walker))
    if written == "pads" and not any(isinstance(v, tuple) for v in values):
        read = per_axis_pads(values)
        if isinstance(read, str):
            raise _fail(text, node, read)
        values = list(read)
    return PerAxis(tuple(values), f"{written}={_segment(text, node)}".replace(_UNKNOWN_NAME, "?"))


def _spec_from_call(text: str, node: ast.Call, walker: _Expressions) -> Spec:
    if _names_framework_class(node):
        from .constructors import class_rank, read_constructor

        library, kind, arguments = read_constructor(
            text, node, walker, lambda part, why: _fail(text, part, why), _UNKNOWN_NAME, KEYWORDS
        )
        return Spec(library, kind, arguments, _segment(text, node), class_rank(node))
    func = node.func
    framework = None
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        framework = func.value.id
        if framework not in FRAMEWORKS:
            from .constructors import class_hint

            hint = class_hint(node)
            raise _fail(
                text, func.value, hint or f"unknown framework; expected one of {', '.join(FRAMEWORKS)}"
            )
        kind = func.attr
    elif isinstance(func, ast.Name):
        kind = func.id
    else:
        from .constructors import class_hint

        hint = class_hint(node)
        raise _fail(text, func, hint or "expected a layer kind such as conv, convT, maxpool or avgpool")
    if kind not in KINDS:
        meant = did_you_mean(kind, KINDS)
        meant += " " if meant else ""
        raise _fail(text, func, f"unknown layer kind {kind!r}; {meant}expected one of {', '.join(KINDS)}")
    if node.args:
        raise _fail(text, node.args[0], "layer arguments must be named, as in conv(k=3, s=2, p=1)")
    args: dict[str, SpecValue] = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            raise _fail(text, keyword, "** is not allowed in a spec")
        name = ALIASES.get(keyword.arg, keyword.arg)
        if name not in PARAMETERS:
            known = (
                f"{', '.join(PARAMETERS)} (or kernel_size, stride, padding, dilation, output_padding, "
                "ceil_mode, use_consistent_padding, scale_factor, output_size, upscale_factor)"
            )
            meant = did_you_mean(keyword.arg, [*PARAMETERS, *ALIASES])
            meant += " " if meant else ""
            raise _fail(text, keyword, f"unknown parameter {keyword.arg!r}; {meant}expected one of {known}")
        if name in args:
            raise _fail(text, keyword, f"parameter {name!r} is given twice")
        args[name] = _spec_value(text, name, keyword.arg, keyword.value, walker)
    return Spec(framework, kind, tuple(args.items()), _segment(text, node))


def parse_spec(text: str) -> Spec:
    """A layer spec (design.md grammar): ``[framework.]kind(name=value, ...)``; ``?`` marks an unknown."""
    if not isinstance(text, str):
        raise SpecError(f"a layer spec must be text, got {type(text).__name__}")
    if _UNKNOWN_NAME in text:
        raise SpecError(f"names may not start with '_' in spec {text!r}")
    source = text.strip().replace("?", _UNKNOWN_NAME)
    tree = _tree(source, "layer spec")
    if not isinstance(tree, ast.Call):
        raise SpecError(
            f"malformed layer spec: expected kind(name=value, ...), as in conv(k=3, s=2) in {text!r}"
        )
    walker = _Expressions(source, Context())
    try:
        spec = _spec_from_call(source, tree, walker)
    except SpecError as error:
        raise SpecError(f"{str(error).replace(_UNKNOWN_NAME, '?')} in spec {text.strip()!r}") from None
    return Spec(spec.framework, spec.kind, spec.args, text.strip(), spec.rank)


__all__ = [
    "UNKNOWN",
    "Context",
    "PerAxis",
    "Spec",
    "Unknown",
    "parse_condition",
    "parse_expression",
    "parse_meaning",
    "parse_spec",
    "split_conjuncts",
]
