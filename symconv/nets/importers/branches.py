"""Tracing a PyTorch forward that branches on sizes (``if h % 32 != 0: raise ...``), which torch.fx refuses.

torch.fx traces with symbolic values, so a Python ``if`` on a size has no answer and fx stops ("symbolically
traced variables cannot be used as inputs to control flow"). Here the tracer also knows each traced value at a
sample input size: when the forward asks for a truth value, the tracer evaluates the condition at the sample
(running the nodes it depends on, on fake tensors: no data is computed), takes that branch, and records a
GUARD in the graph: ``torch._assert(condition)`` for the branch taken (negated when the branch is false), which
the importer reads as a condition of the network like any asserted size comparison.

A guard is a condition of validity only when every input size that takes the other branch is refused by the
model itself. That is checked, not assumed: the forward is traced again with that one decision flipped (the
decisions before it as taken); any later decision on that path is explored both ways; every path must end in
an explicit ``raise`` (or ``assert``) in the model's code. If a path runs to the end, or fails in a way that is
not the model refusing, the two branches may give different networks: the model is refused with the branch's
file:line and both outcomes, never read as the traced path alone.
"""

from __future__ import annotations

import dis
import inspect
import linecache
import operator
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from types import CodeType, FrameType, TracebackType
from typing import Any, Literal

from ...core.errors import SpecError
from . import input_axes

# Sizes tried, in order, for every symbolic spatial axis (fixed axes keep their size): the first at which the
# traced path runs to the end is the sample.
SAMPLE_SIZES = (256, 224, 512, 384, 320, 288, 192, 128, 640, 1024)

# Paths explored past one flipped decision before giving up (each is one trace of the forward), and branches on
# sizes confirmed in one model (a loop whose every turn branches on a size would otherwise cost a trace per turn).
PATH_LIMIT = 64
GUARD_LIMIT = 64

NEGATION = {
    operator.eq: operator.ne,
    operator.ne: operator.eq,
    operator.lt: operator.ge,
    operator.ge: operator.lt,
    operator.gt: operator.le,
    operator.le: operator.gt,
}


@dataclass(frozen=True)
class Decision:
    """A truth value the forward asked for: where (file:line and the line's text) and the branch taken."""

    where: str
    source: str
    taken: bool
    guard: str = ""  # the name of the torch._assert node that records it


class Undecided(BaseException):
    """A decision past the scripted ones while a path is explored: the path forks there (a BaseException, so
    that a model catching Exception does not take it for its own error)."""


class SampleFails(Exception):
    """A value the forward branches on cannot be computed at the sample size (the model fails there)."""


@dataclass(frozen=True)
class Outcome:
    """How one trace of the forward ended: ran to the end, raised from the model's own code, forked at a
    decision, or failed otherwise (`error`)."""

    kind: Literal["ran", "refused", "forked", "failed"]
    error: BaseException | None = None


@dataclass(frozen=True)
class Guarded:
    """A trace that took each decision as the sample does: the traced graph, the decisions in order, and the
    sample (H=W=256) for messages."""

    traced: Any
    decisions: tuple[Decision, ...]
    shape: tuple[int, ...]
    sample: str


def traced_with_guards(
    torch: Any, model: Any, input_shape: Sequence[int | str], trace: Callable[[Any], Any]
) -> Guarded:
    """`model` traced with each decision taken at a sample size and recorded as a guard (not yet confirmed:
    see `confirm_guards`).

    `trace(tracer)` runs a torch.fx tracer over the model as the importer traces it (evaluation mode, size-aware
    math). A SpecError says why the model cannot be traced this way: no sample size at which the forward runs,
    or a decision on a tensor's values."""
    shapes = [(size, _sample_shape(input_shape, size)) for size in SAMPLE_SIZES]
    failures: list[str] = []
    for size, shape in shapes:
        tracer = _tracer_class(torch)(script=(), sample_shape=shape, explore=False)
        try:
            traced = trace(tracer)
        except SpecError:
            raise
        except (
            Exception,
            SystemExit,
        ) as error:  # the forward at this size: the model's refusal or a failed value
            failures.append(f"{size}: {_first_line(error)}")
            continue
        return Guarded(traced, tuple(tracer.decisions), shape, _sizes_text(input_shape, size))
    tried = ", ".join(str(size) for size in SAMPLE_SIZES)
    raise SpecError(
        f"the forward branches on sizes and runs at none of the sample sizes tried per axis ({tried}): "
        f"{failures[0]}"
    )


def confirm_guards(torch: Any, trace: Callable[[Any], Any], guarded: Guarded, sized: set[str]) -> None:
    """A SpecError unless every decision whose guard depends on the input's sizes (its node is in `sized`: the
    importer made it a check) is a condition of validity: the other side refuses every input that takes it. A
    decision the importer found constant (a channel count, a fixed axis) is the same for every input."""
    on_sizes = [index for index, decision in enumerate(guarded.decisions) if decision.guard in sized]
    if len(on_sizes) > GUARD_LIMIT:
        first = guarded.decisions[on_sizes[0]]
        raise SpecError(
            f"the forward branches on sizes {len(on_sizes)} times (the first at {first.where}: `{first.source}`), "
            f"more than the {GUARD_LIMIT} whose other sides are traced; not modelled"
        )
    for index in on_sizes:
        _check_refuses(torch, trace, guarded, index)


def _check_refuses(torch: Any, trace: Callable[[Any], Any], guarded: Guarded, index: int) -> None:
    """Every path through the other side of decision `index` must end in the model raising, else a SpecError."""
    decision, sample = guarded.decisions[index], guarded.sample
    taken = tuple(d.taken for d in guarded.decisions[:index])
    pending = [(*taken, not decision.taken)]
    runs = 0
    branch = (
        f"at {decision.where} (`{decision.source}`) the forward branches on sizes: {decision.taken} at "
        f"{sample} (the traced path)"
    )
    while pending:
        script = pending.pop()
        runs += 1
        if runs > PATH_LIMIT:
            raise SpecError(
                f"{branch}; the other side branches again more than {PATH_LIMIT} times; not modelled"
            )
        outcome = _run(torch, trace, script, guarded.shape)
        if outcome.kind == "forked":
            pending += [(*script, True), (*script, False)]
        elif outcome.kind == "ran":
            raise SpecError(
                f"{branch}; {not decision.taken} also runs to the end, and the two paths may give different "
                "networks; not modelled"
            )
        elif outcome.kind == "failed":
            raise SpecError(
                f"{branch}; tracing the other side failed ({_first_line(outcome.error)}), so whether the model "
                "refuses those sizes is not known; not modelled"
            )


def _run(
    torch: Any, trace: Callable[[Any], Any], script: tuple[bool, ...], shape: tuple[int, ...]
) -> Outcome:
    tracer = _tracer_class(torch)(script=script, sample_shape=shape, explore=True)
    try:
        trace(tracer)
    except Undecided:
        return Outcome("forked")
    except (Exception, SystemExit) as error:  # the model's forward on that path (sys.exit is a refusal too)
        return Outcome("refused" if _raised_by_model(torch, error) else "failed", error)
    return Outcome("ran")


def _raised_by_model(torch: Any, error: BaseException) -> bool:
    """Whether `error` comes from an explicit raise (or a failed assert) in the model's own code, not from
    torch (a traced value used where a number is needed) or from symconv."""
    tb: TracebackType | None = error.__traceback__
    last = None
    while tb is not None:
        last, tb = tb, tb.tb_next
    if last is None or _foreign(torch, last.tb_frame.f_code.co_filename):
        return False
    instruction = next(
        (i for i in dis.get_instructions(last.tb_frame.f_code) if i.offset == last.tb_lasti), None
    )
    return instruction is not None and instruction.opname == "RAISE_VARARGS"


def _foreign(torch: Any, filename: str) -> bool:
    """A file of torch or of symconv: not the model's code."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    roots = (os.path.dirname(os.path.abspath(torch.__file__)), here)
    path = os.path.abspath(filename)
    return any(path.startswith(root + os.sep) for root in roots)


def _sample_shape(input_shape: Sequence[int | str], size: int) -> tuple[int, ...]:
    """The input's shape with every symbolic spatial axis at `size` (a symbolic batch is 1, unknown channels 3)."""
    channels, dims, fixed = input_axes(input_shape)
    sizes = dict(fixed)
    first = str(input_shape[0]).strip()
    batch = int(first) if first.isdigit() else 1
    return (batch, channels or 3, *(sizes.get(dim, size) for dim in dims))


def _sizes_text(input_shape: Sequence[int | str], size: int) -> str:
    _, dims, fixed = input_axes(input_shape)
    symbolic = [dim for dim in dims if dim not in dict(fixed)]
    return "=".join(symbolic) + f"={size}"


def _first_line(error: BaseException | None) -> str:
    text = str(error).strip()
    name = type(error).__name__
    return f"{name}: {text.splitlines()[0]}" if text else name


@cache
def _tracer_class(torch: Any) -> Any:
    """A torch.fx Tracer that answers truth values (see the module's docstring); built once torch is imported."""
    fx = torch.fx

    class GuardTracer(fx.Tracer):  # type: ignore[name-defined]
        """Answers each decision from `script` first, then from the value at the sample size; while a path is
        explored, a decision past the script raises Undecided instead."""

        def __init__(self, script: tuple[bool, ...], sample_shape: tuple[int, ...], explore: bool) -> None:
            super().__init__(autowrap_modules=())
            self.script = script
            self.sample_shape = sample_shape
            self.explore = explore
            self.decisions: list[Decision] = []
            self.values: dict[Any, Any] = {}
            self.mode: Any = None
            self.decided: dict[Any, bool] = {}

        def create_node(self, *args: Any, **kwargs: Any) -> Any:
            return record_line(torch, super().create_node(*args, **kwargs))

        def to_bool(self, obj: Any) -> bool:
            # One traced value has one truth at a given input: asked again (`if a or b:` asks a's truth in
            # the `or`, then the `if` asks it of the value the `or` returned), it is the same decision.
            if obj.node in self.decided:
                return self.decided[obj.node]
            where, source = _model_line(torch)
            index = len(self.decisions)
            if index < len(self.script):
                taken = self.script[index]
            elif self.explore:
                raise Undecided(where)
            else:
                taken = self._truth(obj, where, source)
            guard = self._guard(obj, taken, f"{where}, a branch on sizes")
            self.decisions.append(Decision(where, source, taken, guard))
            self.decided[obj.node] = taken
            return taken

        def iter(self, obj: Any) -> Any:
            """A shape is iterated entry by entry (`for s in x.shape[2:]`): its length is the rank, the same
            at every size. Anything else iterated is refused by name."""
            where, source = _model_line(torch)
            value = self._value(obj.node)
            if isinstance(value, torch.Size):
                return iter([obj[index] for index in range(len(value))])
            raise SpecError(
                f"at {where} (`{source}`) the forward iterates over a traced {type(value).__name__}, whose "
                "length may depend on the sizes; only a shape is iterated"
            )

        def _truth(self, obj: Any, where: str, source: str) -> bool:
            value = self._value(obj.node)
            if isinstance(value, torch.Tensor):
                raise SpecError(
                    f"at {where} (`{source}`) the forward branches on a tensor's values; only sizes are read"
                )
            return bool(value)

        def _guard(self, obj: Any, taken: bool, message: str) -> str:
            """torch._assert of the condition as taken (the comparison itself or its negation, or for any
            other value, if h % 32:, its comparison with 0): the name of its node."""
            node = obj.node
            if node.op == "call_function" and node.target in NEGATION:
                target = node.target if taken else NEGATION[node.target]
                condition = fx.Proxy(self.create_node("call_function", target, node.args, node.kwargs), self)
            else:
                target = operator.ne if taken else operator.eq
                condition = self.create_proxy("call_function", target, (obj, 0), {})
            made = self.create_proxy("call_function", torch._assert, (condition, message), {}, name="branch")
            return str(made.node.name)

        def _value(self, node: Any) -> Any:
            """The node's value at the sample size, computed once (only what a decision needs is run)."""
            if self.mode is None:
                self.mode = torch._subclasses.fake_tensor.FakeTensorMode(allow_non_fake_inputs=True)
            # the nodes it depends on, not yet computed, in the graph's order (a loop, not recursion: a
            # decision deep in a network depends on hundreds of nodes)
            needed, stack = set(), [node]
            while stack:
                current = stack.pop()
                if current not in self.values and current not in needed:
                    needed.add(current)
                    stack += current.all_input_nodes
            unpatched = _unpatched(torch, fx)
            for current in (n for n in node.graph.nodes if n in needed):
                args = fx.node.map_arg(current.args, self.values.__getitem__)
                kwargs = fx.node.map_arg(current.kwargs, self.values.__getitem__)
                try:
                    # torch's own module calls, not the tracer's patched ones, while values are computed
                    with unpatched(), self.mode:
                        self.values[current] = self._evaluate(current, args, kwargs)
                except Exception as error:  # the model's op at the sample size
                    raise SampleFails(f"{current.name}: {_first_line(error)}") from error
            return self.values[node]

        def _evaluate(self, node: Any, args: Any, kwargs: Any) -> Any:
            if node.op == "placeholder":
                first = next(n for n in node.graph.nodes if n.op == "placeholder")
                if node is first:
                    return torch.empty(self.sample_shape, device=_device(torch, self.root))
                return node.args[0] if node.args else None
            if node.op == "get_attr":
                value = self.root
                for part in node.target.split("."):
                    value = getattr(value, part)
                return value
            if node.op == "call_module":
                return self.root.get_submodule(node.target)(*args, **kwargs)
            if node.op == "call_method":
                return getattr(args[0], node.target)(*args[1:], **kwargs)
            return node.target(*args, **kwargs)

    return GuardTracer


def _unpatched(torch: Any, fx: Any) -> Callable[[], Any]:
    """What makes a context in which torch's module calls are its own, not the tracer's patched ones. torch.fx
    keeps it private: a torch without it cannot compute values during a trace, so the branch is refused by name."""
    revert = getattr(getattr(fx, "_symbolic_trace", None), "_maybe_revert_all_patches", None)
    if revert is None:
        raise SpecError(
            f"reading a forward that branches on sizes needs torch.fx's patch helper, which torch "
            f"{torch.__version__} lacks (symconv's torch extra pins the torch it is tested with)"
        )
    return revert  # type: ignore[no-any-return]


def _device(torch: Any, model: Any) -> Any:
    """Where the model's parameters are (the sample input goes there too; a model without any: the CPU)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def _model_line(torch: Any) -> tuple[str, str]:
    """file:line and the line's text of the model's code asking for a truth value (the first frame outside torch
    and symconv)."""
    frame: FrameType | None = inspect.currentframe()
    while frame is not None and _foreign(torch, frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return "an unknown line", ""
    return _line_of(frame.f_code.co_filename, frame.f_lineno)


def record_line(torch: Any, node: Any) -> Any:
    """The fx node, with the place in the model's code that made it (the first frame outside torch and
    symconv) recorded for messages (`node_line`)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        foreign = _FOREIGN_CODE.get(code)
        if foreign is None:
            foreign = _FOREIGN_CODE[code] = _foreign(torch, code.co_filename)
        if not foreign:
            node.meta["symconv_line"] = (code.co_filename, frame.f_lineno)
            break
        frame = frame.f_back
    return node


def node_line(node: Any) -> str | None:
    """file:line of the model's code that made an fx node (None where it is not known)."""
    found = node.meta.get("symconv_line")
    return None if found is None else f"{_short(found[0])}:{found[1]}"


# Whether a code object is torch's or symconv's, asked once per code object: `record_line` walks every frame of
# every traced node.
_FOREIGN_CODE: dict[CodeType, bool] = {}


def raising_line(torch: Any, error: BaseException) -> tuple[str, str]:
    """file:line and the line's text of the model's code where `error` was raised (its innermost frame outside
    torch and symconv)."""
    found = ("an unknown line", "")
    tb: TracebackType | None = error.__traceback__
    while tb is not None:
        if not _foreign(torch, tb.tb_frame.f_code.co_filename):
            found = _line_of(tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _line_of(filename: str, line: int) -> tuple[str, str]:
    return f"{_short(filename)}:{line}", linecache.getline(filename, line).strip()


def _short(filename: str) -> str:
    """A file relative to the sys.path entry it is under (segmentation_models_pytorch/base/model.py)."""
    path = os.path.abspath(filename)
    roots = [os.path.abspath(p) for p in sys.path if p]
    under = [root for root in roots if path.startswith(root + os.sep)]
    return os.path.relpath(path, max(under, key=len)) if under else path
