"""Tracing a PyTorch forward that branches on sizes (``if h % 32 != 0: raise ...``), which torch.fx refuses.

torch.fx traces with symbolic values, so a Python ``if`` on a size has no answer and fx stops ("symbolically
traced variables cannot be used as inputs to control flow"). Here the tracer also knows each traced value at a
sample input size: when the forward asks for a truth value, the tracer evaluates the condition at the sample
(running the nodes it depends on, on fake tensors: no data is computed), takes that branch, and records a
GUARD in the graph: ``torch._assert(condition)`` for the branch taken (negated when the branch is false), which
the importer reads as a condition of the network like any asserted size comparison.

A guard is a condition of validity only when every input size that takes the other branch is refused by the
model itself. That is checked, not assumed: the forward is traced again with that one decision flipped (the
decisions before it as taken); any later decision on that path is explored both ways (where every decision's
statement is independent, importers.statements, only those of its own condition, the later ones answered as
traced); every path must end in an explicit ``raise`` (or ``assert``) in the model's code. If a path runs to the end, or fails in a way that is
not the model refusing, the two branches may give different networks: the model is refused with the branch's
file:line and both outcomes, never read as the traced path alone.
"""

from __future__ import annotations

import dataclasses
import dis
import inspect
import linecache
import operator
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import CodeType, FrameType, TracebackType
from typing import Any, Literal

from ...core.errors import SpecError
from . import input_axes, statements

# Sizes tried, in order, for every symbolic spatial axis (fixed axes keep their size): the first at which the
# traced path runs to the end is the sample.
SAMPLE_SIZES = (256, 224, 512, 384, 320, 288, 192, 128, 640, 1024)

# Paths explored past one flipped decision before giving up (each is one trace of the forward), and branches on
# sizes confirmed in one model (a loop whose every turn branches on a size would otherwise cost a trace per turn).
PATH_LIMIT = 64
GUARD_LIMIT = 64
# Traces run past a flipped decision (forks included) once one path runs to the end (`if a or b:` needs two; a
# loop on a size whose other side turns again has no end)
OTHER_PATHS = 8

# how a guard's message ends (the importer lets a branch's guard that cannot be stated wait for `sides`)
GUARD_MESSAGE = ", a branch on sizes"
# in a guard's message: the decision was taken the other way (`taking`), so the guard states the condition of the
# side not taken, which does not hold on that path (nothing may be assumed from it there)
NOT_TAKEN = " (the side not taken)"

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
    # whether the if statement it opens only rebinds traced values (importers.statements) and it is asked once;
    # and the index of the first question of its condition (`if a or b:` asks one or two)
    local: bool = False
    chain: int = -1
    offset: int = -1  # the instruction that asked it (two questions of `if a or b:` share a line)

    @property
    def question(self) -> tuple[str, int]:
        """Which question it answers: paths ask the same questions where these agree, in order."""
        return (self.where, self.offset)


class Undecided(BaseException):
    """A decision past the scripted ones while a path is explored: the path forks there (a BaseException, so
    that a model catching Exception does not take it for its own error)."""


class NoSample(SpecError):
    """The forward runs at none of the sample sizes: `error` is how it failed at the first."""

    def __init__(self, message: str, error: BaseException | None = None) -> None:
        super().__init__(message)
        self.error = error


class SampleFails(Exception):
    """A value the forward branches on cannot be computed at the sample size (the model fails there)."""


@dataclass(frozen=True)
class Outcome:
    """How one trace of the forward ended: ran to the end, raised from the model's own code, forked at a
    decision, or failed otherwise (`error`)."""

    kind: Literal["ran", "refused", "forked", "failed"]
    error: BaseException | None = None
    traced: Any = None  # the trace, where it ran
    decisions: tuple[Decision, ...] = ()  # the decisions it took, where it ran
    # the decisions whose guards say where the path is taken, where its later decisions were taken as the
    # traced path took them (independent sides: see importers.statements); empty: every decision's
    own: tuple[int, ...] = ()
    past: bool = False  # forked at a question after those of its own condition (with the traced answers)


@dataclass(frozen=True)
class Paths:
    """The other side of a decision where it asks other questions than the traced path (`if a or b:` asks one
    where the traced path asked two): every path through it that runs to the end, and every one that ends in
    the model refusing. The importer reads the model only where each that runs computes what the traced network
    computes wherever it is taken, and the network is defined nowhere each other one is taken
    (importers.sides)."""

    outcomes: tuple[Outcome, ...]
    refusals: tuple[Outcome, ...] = ()


@dataclass(frozen=True)
class Guarded:
    """A trace that took each decision as the sample does: the traced graph, the decisions in order, and where
    it was traced for messages ("at H=W=256 (the traced path)")."""

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
    first: BaseException | None = None
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
            first = first or error
            continue
        sample = f"at {_sizes_text(input_shape, size)} (the traced path)"
        return Guarded(traced, tuple(tracer.decisions), shape, sample)
    tried = ", ".join(str(size) for size in SAMPLE_SIZES)
    raise NoSample(
        f"the forward branches on sizes and runs at none of the sample sizes tried per axis ({tried}): "
        f"{failures[0]}",
        first,
    )


def confirm_guards(
    torch: Any, trace: Callable[[Any], Any], guarded: Guarded, sized: set[str]
) -> dict[int, Any]:
    """The decisions whose guard depends on the input's sizes (its node is in `sized`: the importer made it a
    check) and whose other side runs to the end, every later decision as traced: two-sided branches, each with
    the trace of its other side, which the importer reads only where one side adds identities wherever the
    other is taken (importers.sides); or whose other side asks other questions and every path through it runs
    to the end (Paths, compared with the network the same way). Every other decision on sizes must be a
    condition of validity: its other side refuses every input that takes it (else a SpecError). A decision the
    importer found constant (a channel count, a fixed axis) is the same for every input."""
    on_sizes = [index for index, decision in enumerate(guarded.decisions) if decision.guard in sized]
    if len(on_sizes) > GUARD_LIMIT:
        first = guarded.decisions[on_sizes[0]]
        raise SpecError(
            f"the forward branches on sizes {len(on_sizes)} times (the first at {first.where}: `{first.source}`), "
            f"more than the {GUARD_LIMIT} whose other sides are traced; not modelled"
        )
    sides = {index: _check_refuses(torch, trace, guarded, index) for index in on_sizes}
    return {index: traced for index, traced in sides.items() if traced is not None}


def _questions(decisions: Sequence[Decision]) -> list[tuple[str, int]]:
    return [decision.question for decision in decisions]


def two_sided(guarded: Guarded, index: int, why: str = "") -> SpecError:
    """The refusal of a branch whose other side also runs to the end (`why`: what kept it from being read)."""
    return SpecError(
        f"{_branch(guarded, index)}; {not guarded.decisions[index].taken} also runs to the end, and the two "
        f"paths may give different networks{why}; not modelled"
    )


def _branch(guarded: Guarded, index: int) -> str:
    decision = guarded.decisions[index]
    return (
        f"at {decision.where} (`{decision.source}`) the forward branches on sizes: {decision.taken} "
        f"{guarded.sample}"
    )


def _check_refuses(torch: Any, trace: Callable[[Any], Any], guarded: Guarded, index: int) -> Any:
    """The trace of the other side of decision `index`, every later decision as traced, where it runs to the
    end asking the traced path's questions (a two-sided branch); else every path through it, explored decision
    by decision: None where each ends in the model raising, else Paths."""
    decision = guarded.decisions[index]
    taken = tuple(d.taken for d in guarded.decisions[:index])
    later = tuple(d.taken for d in guarded.decisions[index + 1 :])
    # the other side with every later decision as traced: where it runs to the end, the branch is two-sided
    first = _run(torch, trace, (*taken, not decision.taken, *later), guarded.shape)
    if first.kind == "ran" and _questions(first.decisions) == _questions(guarded.decisions):
        return first.traced
    if first.kind == "refused" and not later:
        return None  # that was the only path
    if all(d.local for d in guarded.decisions):
        # independent sides: only the questions of its own condition are explored, every later one as traced
        end = next(
            (
                j
                for j in range(index + 1, len(guarded.decisions))
                if guarded.decisions[j].chain != decision.chain
            ),
            len(guarded.decisions),
        )
        found = _explore(torch, trace, guarded, index, guarded.decisions[end:])
        if found is not _MISALIGNED:
            return found
    return _explore(torch, trace, guarded, index, None)


# A path explored with the traced path's later answers that asked other questions after its condition
_MISALIGNED = object()


def _explore(
    torch: Any, trace: Callable[[Any], Any], guarded: Guarded, index: int, then: Sequence[Decision] | None
) -> Any:
    """Every path through the other side of decision `index`, forked at each question it asks past the traced
    path's; with `then`, at the questions of its own condition only, every later one answered as `then` took it
    (_MISALIGNED where a path asks others). None where each ends in the model refusing, else Paths."""
    decision = guarded.decisions[index]
    pending = [(*(d.taken for d in guarded.decisions[:index]), not decision.taken)]
    answers = None if then is None else tuple(d.taken for d in then)
    runs = 0
    branch = _branch(guarded, index)
    ran: list[Outcome] = []
    refusals: list[Outcome] = []
    while pending:
        script = pending.pop()
        runs += 1
        if runs > PATH_LIMIT:
            raise SpecError(
                f"{branch}; the other side branches again more than {PATH_LIMIT} times; not modelled"
            )
        if ran and runs > OTHER_PATHS:
            raise two_sided(guarded, index, " (its side branches again)")
        outcome = _run(torch, trace, script, guarded.shape, answers, index)
        if outcome.past:
            return _MISALIGNED
        if then is not None and outcome.kind in ("ran", "refused"):
            asked = _questions(outcome.decisions[len(outcome.own) + index :])
            expected = _questions(then)
            if asked != expected[: len(asked)] or (outcome.kind == "ran" and asked != expected):
                return _MISALIGNED
        if outcome.kind == "forked":
            pending += [(*script, True), (*script, False)]
        elif outcome.kind == "ran":
            ran.append(outcome)
        elif outcome.kind == "refused":
            refusals.append(outcome)
        else:
            raise SpecError(
                f"{branch}; tracing the other side failed ({_first_line(outcome.error)}), so whether the model "
                "refuses those sizes is not known; not modelled"
            )
    return Paths(tuple(ran), tuple(refusals)) if ran else None


def taking(torch: Any, trace: Callable[[Any], Any], guarded: Guarded, sides: Mapping[int, bool]) -> Guarded:
    """The trace that takes side `sides[i]` of each decision i named there (every other decision as `guarded`
    took it), each of those recorded as the guard of the side not taken (the condition under which the side
    taken must be an identity), and every node marked with how many decisions came before it
    (`decided_before`)."""
    script = tuple(sides.get(i, d.taken) for i, d in enumerate(guarded.decisions))
    tracer = _tracer_class(torch)(script, guarded.shape, explore=True, flipped=frozenset(sides))
    first = min(sides)
    try:
        traced = trace(tracer)
    except Undecided:
        raise two_sided(guarded, first, " (its sides and others' together branch again)") from None
    except (Exception, SystemExit) as error:  # the model's forward on that path
        raise two_sided(
            guarded, first, f" (its sides and others' together fail: {_first_line(error)})"
        ) from None
    if tracer.undecided:
        raise two_sided(guarded, first, " (its sides and others' together branch again)")
    if _questions(tracer.decisions) != _questions(guarded.decisions):
        raise two_sided(guarded, first, " (its sides and others' together ask other questions)")
    return Guarded(traced, tuple(tracer.decisions), guarded.shape, guarded.sample)


def path(torch: Any, trace: Callable[[Any], Any], guarded: Guarded, sides: Mapping[int, bool]) -> Outcome:
    """The forward traced taking side `sides[i]` of each decision i named there (every other as `guarded` took
    it), each decision's guard the condition of the side taken: how that path ends, and its trace where it
    runs."""
    script = tuple(sides.get(i, d.taken) for i, d in enumerate(guarded.decisions))
    return _run(torch, trace, script, guarded.shape)


def decided_before(node: Any) -> int:
    """How many decisions the forward had taken when it made an fx node (-1: not traced with decisions)."""
    return int(node.meta.get("symconv_decisions", -1))


def _run(
    torch: Any,
    trace: Callable[[Any], Any],
    script: tuple[bool, ...],
    shape: tuple[int, ...],
    then: tuple[bool, ...] | None = None,
    flipped: int = 0,
) -> Outcome:
    """How the path that takes `script` (then, past the questions of the last one's condition, `then`'s answers;
    None: a fork) ends. With `then`, the outcome's own decisions are those from `flipped` to the first answered
    from `then`."""
    tracer = _tracer_class(torch)(script=script, sample_shape=shape, explore=True, then=then)

    def own() -> tuple[int, ...]:
        end = len(tracer.decisions) if tracer.realigned is None else tracer.realigned
        return () if then is None else tuple(range(flipped, end))

    def forked() -> Outcome:
        return Outcome("forked", past=tracer.realigned is not None)

    try:
        traced = trace(tracer)
    except Undecided:
        return forked()
    except (Exception, SystemExit) as error:  # the model's forward on that path (sys.exit is a refusal too)
        if tracer.undecided:
            return forked()  # the forward caught the fork as its own error (a bare except)
        if not _refused(torch, tracer, error):
            return Outcome("failed", error)
        return Outcome("refused", error, _partial(tracer), tuple(tracer.decisions), own())
    if tracer.undecided:
        return forked()  # ... and ran on: that path is not the forward's
    return Outcome("ran", traced=traced, decisions=tuple(tracer.decisions), own=own())


@dataclass(frozen=True)
class Partial:
    """A path's trace up to where the model refused, the input as its output: read like a trace, it states the
    path's guards (where the model refuses), which the importer compares with the network's conditions."""

    root: Any
    graph: Any


def _partial(tracer: Any) -> Partial | None:
    """The tracer's graph so far, the input made its output (the graph is the tracer's, done with)."""
    graph = tracer.graph
    inputs = [node for node in graph.nodes if node.op == "placeholder"]
    if not inputs or any(node.op == "output" for node in graph.nodes):
        return None
    graph.output(inputs[0])
    return Partial(tracer.root, graph)


def _refused(torch: Any, tracer: Any, error: BaseException) -> bool:
    """Whether the path ends in the model refusing the sizes that take it: an explicit raise (or a failed
    assert) in the model's own code that follows from the path's last decision with no other branch between
    (in the function that asked it, or in functions it then calls). A raise after another branch may come from
    a traced value failing a check that a size passes (`isinstance(size, tuple)`), not from the sizes."""
    entries: list[TracebackType] = []
    tb: TracebackType | None = error.__traceback__
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    if tracer.asked is None or not entries or not _raised_by_model(torch, entries[-1]):
        return False
    caught = error.__context__
    if caught is not None and _reraised(entries[-1], caught):
        # `except RuntimeError as e: raise ValueError(...) from e`: the refusal is the error it caught
        return _refused(torch, tracer, caught)
    frame, offset, taken = tracer.asked
    start = next((k for k, entry in enumerate(entries) if entry.tb_frame is frame), None)
    if start is None or not _straight(frame.f_code, entries[start].tb_lasti, offset, taken):
        return False
    return all(
        not _foreign(torch, entry.tb_frame.f_code.co_filename)
        and _straight(entry.tb_frame.f_code, entry.tb_lasti)
        for entry in entries[start + 1 :]
    )


# Bytecode that decides where execution goes on a value: a path through one is no straight line.
_UNCONDITIONAL = frozenset(
    "JUMP_FORWARD JUMP_BACKWARD JUMP_BACKWARD_NO_INTERRUPT JUMP JUMP_NO_INTERRUPT JUMP_ABSOLUTE".split()
)
_ENDS = frozenset("RETURN_VALUE RETURN_CONST FOR_ITER SEND YIELD_VALUE".split())


def _reraised(last: TracebackType, caught: BaseException) -> bool:
    """Whether the raise at `last` is in an except clause that caught `caught` in that frame, reached on a
    straight line from the clause's start (past its matching of the exception's type)."""
    tb = caught.__traceback__
    while tb is not None and tb.tb_frame is not last.tb_frame:
        tb = tb.tb_next
    if tb is None:
        return False
    code = last.tb_frame.f_code
    handlers = [
        entry.target
        # Python 3.11's exception table (typeshed does not list the attribute)
        for entry in getattr(dis.Bytecode(code), "exception_entries", ())
        if entry.start <= tb.tb_lasti < entry.end and entry.depth == 0
    ]
    return bool(handlers) and _straight(code, last.tb_lasti, handler=handlers[0])


def _straight(
    code: CodeType, target: int, start: int | None = None, taken: bool = True, handler: int | None = None
) -> bool:
    """Whether execution of `code` reaches offset `target` without a branch: from the conditional jump at
    `start` taking side `taken` (the decision), from an except clause's start `handler` (its exception's type
    taken as matched), or from the function's start."""
    instructions = list(dis.get_instructions(code))
    at = {instruction.offset: index for index, instruction in enumerate(instructions)}
    # the instruction holding `target` (a traceback may point into a call's inline cache)
    target = max(instruction.offset for instruction in instructions if instruction.offset <= target)
    if handler is not None:
        position = at[handler]
    elif start is None:
        position = 0
    else:
        decision = instructions[at[start]] if start in at else None
        if decision is None or not _conditional(decision.opname) or "NONE" in decision.opname:
            return False  # a truth asked elsewhere (bool(), not): not followed
        jumps = taken == ("TRUE" in decision.opname)
        position = at[decision.argval] if jumps else at[start] + 1
    for _ in range(len(instructions)):
        if position >= len(instructions):
            return False
        instruction = instructions[position]
        if instruction.offset == target:
            return True
        matching = position > 0 and instructions[position - 1].opname == "CHECK_EXC_MATCH"
        if instruction.opname in _UNCONDITIONAL:
            position = at[instruction.argval]
        elif handler is not None and matching and _conditional(instruction.opname):
            position += 1  # the except clause's type matched: its body
        elif _conditional(instruction.opname) or instruction.opname in _ENDS:
            return False
        else:
            position += 1
    return False


def _conditional(opname: str) -> bool:
    return "JUMP" in opname and "IF" in opname


def _asked(frame: FrameType | None, taken: bool) -> tuple[FrameType, int, bool] | None:
    """Where the model's code asks for a truth value (its frame, `_model_frame`, and the instruction) and the
    answer."""
    return None if frame is None else (frame, frame.f_lasti, taken)


def _raised_by_model(torch: Any, last: TracebackType) -> bool:
    """Whether the traceback's last entry is an explicit raise (or a failed assert) in the model's own code, not
    in torch (a traced value used where a number is needed) or in symconv."""
    if _foreign(torch, last.tb_frame.f_code.co_filename):
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


def _hashable(value: Any) -> Any:
    """A call's arguments as a dictionary key: sequences, mappings and slices made tuples, anything else
    unhashable by its text."""
    if isinstance(value, tuple | list):
        return (type(value).__name__, *(_hashable(item) for item in value))
    if isinstance(value, dict):
        return ("dict", *((key, _hashable(item)) for key, item in value.items()))
    if isinstance(value, slice):
        return ("slice", _hashable(value.start), _hashable(value.stop), _hashable(value.step))
    try:
        hash(value)
    except TypeError:
        return ("text", repr(value))
    return value


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

        def __init__(
            self,
            script: tuple[bool, ...],
            sample_shape: tuple[int, ...],
            explore: bool,
            flipped: frozenset[int] = frozenset(),
            then: tuple[bool, ...] | None = None,
        ) -> None:
            super().__init__(autowrap_modules=())
            self.script = script
            self.flipped = flipped
            # past the script, the answers of the questions after the last one's condition (None: a fork)
            self.then = then
            self.realigned: int | None = None  # the index of the first decision answered from `then`
            self.head: tuple[FrameType, int] | None = None  # where the last decision's condition began
            self.decided_at: dict[Any, int] = {}
            self.sample_shape = sample_shape
            self.explore = explore
            self.decisions: list[Decision] = []
            self.values: dict[Any, Any] = {}
            self.mode: Any = None
            self.decided: dict[Any, bool] = {}
            self.structures: dict[Any, int] = {}
            self.undecided = False
            self.numbers: dict[Any, int] = {}
            self.asked: tuple[FrameType, int, bool] | None = None

        def create_node(self, *args: Any, **kwargs: Any) -> Any:
            node = record_line(torch, super().create_node(*args, **kwargs))
            node.meta["symconv_decisions"] = len(self.decisions)
            return node

        def to_bool(self, obj: Any) -> bool:
            # One traced value has one truth at a given input: asked again (`if a or b:` asks a's truth in
            # the `or`, then the `if` asks it of the value the `or` returned), it is the same decision.
            frame = _model_frame(torch)
            same = self._structure(obj.node)
            if same in self.decided:
                # its truth asked again: where another decision came between, what this statement makes follows
                # that one's in the graph, where the sides' comparison would take it for that one's
                # (sides._sides_of), so it is not independent; asked again next (Twins' two blocks per stage
                # at the same sizes), by a local statement too, what both make is this decision's
                at = self.decided_at[same]
                again = (
                    at == len(self.decisions) - 1
                    and frame is not None
                    and statements.local(
                        frame.f_code, frame.f_lasti, self._holds_tensor(frame), _harmless(torch, frame)
                    )
                )
                if not again:
                    self.decisions[at] = dataclasses.replace(self.decisions[at], local=False)
                self.asked = _asked(frame, self.decided[same])
                return self.decided[same]
            # whether its statement is local: read for a new decision only (computing values on the way)
            alone = frame is not None and statements.local(
                frame.f_code, frame.f_lasti, self._holds_tensor(frame), _harmless(torch, frame)
            )
            where, source = _line_of_frame(frame)
            index = len(self.decisions)
            continuing = (
                frame is not None
                and self.head is not None
                and self.head[0] is frame
                and statements.continues(frame.f_code, self.head[1], frame.f_lasti)
            )
            if index < len(self.script):
                taken = self.script[index]
            elif (
                self.explore
                and self.then is not None
                and (self.realigned is not None or not continuing)
                and self._realign(index)
            ):
                taken = self.then[index - (self.realigned or 0)]
            elif self.explore:
                self.undecided = True  # a forward that catches it (a bare except) must not run on unseen
                raise Undecided(where)
            else:
                taken = self._truth(obj, where, source)
            # a flipped decision's guard is the condition of the side not taken (see other_sides)
            flipped = index in self.flipped
            guard = self._guard(
                obj, taken != flipped, f"{where}{NOT_TAKEN if flipped else ''}{GUARD_MESSAGE}"
            )
            chain = self.decisions[-1].chain if continuing else index
            offset = -1 if frame is None else frame.f_lasti
            self.decisions.append(Decision(where, source, taken, guard, alone, chain, offset))
            if not continuing and frame is not None:
                self.head = (frame, frame.f_lasti)
            self.asked = _asked(frame, taken)  # where a refusal on this path must follow from (_refused)
            self.decided[same] = taken
            self.decided_at[same] = index
            return taken

        def _holds_tensor(self, frame: FrameType) -> Callable[[str], bool]:
            """Whether a local name of the frame holds a traced tensor (its value at the sample size)."""

            def holds(name: str) -> bool:
                value = frame.f_locals.get(name)
                if not isinstance(value, fx.Proxy):
                    return False
                try:
                    return isinstance(self._value(value.node), torch.Tensor)
                except SampleFails:
                    return False

            return holds

        def _realign(self, index: int) -> bool:
            """Whether decision `index` is answered from `then` (the first past the script's condition starts
            it; each one after takes the next answer while there is one)."""
            if self.realigned is None:
                self.realigned = index
            return index - self.realigned < len(self.then or ())

        def _structure(self, node: Any) -> Any:
            """What a traced value computes: the same function or method on the same values (by what they
            compute) is the same value, so `if ph > 0 or pw > 0:` asked again later is the same decision. A
            module's call, an input or an attribute is itself."""
            if node in self.structures:
                return self.structures[node]
            if node.op in ("call_function", "call_method"):
                parts = torch.fx.node.map_arg((node.args, node.kwargs), self._structure)
                whole: Any = (node.op, node.target, _hashable(parts))
            else:
                whole = ("node", node.name)
            # each structure is numbered once: a key holds its arguments' numbers, not their structures (a
            # loop of 256 slices would otherwise nest 256 deep)
            key = self.numbers.setdefault(whole, len(self.numbers))
            self.structures[node] = key
            return key

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

        def length(self, obj: Any) -> int:
            """len() of a shape is its rank, the same at every size; of anything else it is refused by name."""
            where, source = _model_line(torch)
            value = self._value(obj.node)
            if isinstance(value, torch.Size):
                return len(value)
            raise SpecError(
                f"at {where} (`{source}`) the forward asks the length of a traced "
                f"{'tensor' if isinstance(value, torch.Tensor) else type(value).__name__}, which may depend on the "
                "sizes; only a shape's length is read"
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
            for guard_node in (condition.node, made.node):  # not the model's: traces compare without them
                guard_node.meta["symconv_guard"] = True
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
                    return torch.empty(self.sample_shape, **_placed(torch, self.root))
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


# Python's functions that compute a value and change nothing (a side of a statement may call them)
_PURE_BUILTINS = frozenset(
    {
        "int",
        "float",
        "bool",
        "min",
        "max",
        "abs",
        "len",
        "round",
        "divmod",
        "tuple",
        "slice",
        "range",
        "isinstance",
    }
)


def _harmless(torch: Any, frame: FrameType) -> Callable[[tuple[str, ...]], bool]:
    """Whether what a statement's side loads (a name of the frame and the attributes read from it, found
    without running anything: no property, no __getattr__ but a module's own registries) is a traced value, a
    number, or torch's: its functions, its modules (nn.Conv2d ...). Anything else may change Python's state
    when called (a method of the model, a dict's setdefault, a closure)."""

    def harmless(load: tuple[str, ...]) -> bool:
        scope, name, *attributes = load
        if scope == "local":
            if name not in frame.f_locals:
                return False
            value = frame.f_locals[name]
        elif name in frame.f_globals:
            value = frame.f_globals[name]
        else:
            return name in _PURE_BUILTINS
        for attribute in attributes:
            if isinstance(value, torch.fx.Proxy):
                return True  # an attribute or method of a traced value: traced
            value = _static_attribute(torch, value, attribute)
        return _torch_or_value(torch, value)

    return harmless


_MISSING = object()


def _static_attribute(torch: Any, value: Any, attribute: str) -> Any:
    if isinstance(value, torch.nn.Module):
        for registry in (value._modules, value._parameters, value._buffers):
            if attribute in registry:
                return registry[attribute]
    try:
        found = inspect.getattr_static(value, attribute)
    except AttributeError:
        return _MISSING
    return getattr(found, "__func__", found)  # a staticmethod or classmethod: its function


def _torch_or_value(torch: Any, value: Any) -> bool:
    if isinstance(value, torch.fx.Proxy | torch.Tensor | int | float | bool | str | type(None)):
        return True
    if isinstance(value, tuple):
        return all(_torch_or_value(torch, item) for item in value)
    if inspect.ismodule(value):
        return bool(value.__name__.split(".")[0] == torch.__name__)
    owner = type(value) if isinstance(value, torch.nn.Module) else value
    return callable(value) and str(getattr(owner, "__module__", "")).split(".")[0] == torch.__name__


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


def _placed(torch: Any, model: Any) -> dict[str, Any]:
    """Where the model's parameters are and their floating type, which the sample input takes (a model without
    any: the CPU and torch's default)."""
    for tensor in model.parameters():
        if tensor.is_floating_point():
            return {"device": tensor.device, "dtype": tensor.dtype}
    for tensor in (*model.parameters(), *model.buffers()):
        return {"device": tensor.device}
    return {"device": torch.device("cpu")}


def _model_line(torch: Any) -> tuple[str, str]:
    """file:line and the line's text of the model's code asking for a truth value."""
    return _line_of_frame(_model_frame(torch))


def _line_of_frame(frame: FrameType | None) -> tuple[str, str]:
    return ("an unknown line", "") if frame is None else _line_of(frame.f_code.co_filename, frame.f_lineno)


def _model_frame(torch: Any) -> FrameType | None:
    """The frame of the model's code asking for a truth value (the first frame outside torch and symconv)."""
    frame: FrameType | None = inspect.currentframe()
    while frame is not None and _foreign(torch, frame.f_code.co_filename):
        frame = frame.f_back
    return frame


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
