"""The ``if`` statement around a truth value the forward asks for, read from the function's bytecode.

A forward that branches on sizes in several places (a pad per stage, ``if ph > 0 or pw > 0:``) has a path for
every mix of sides. Each mix need not be traced where the branches cannot see each other's sides: each side
only rebinds names that already hold traced values (``x = F.pad(x, ...)``), on a straight line, so the Python
state after the statement is the same on both sides but for those traced values, and everything the rest of
the forward does with them is in the traced graph, where the importer compares the sides (importers.sides). A
flag set in a branch (``odd = True``), an attribute or item stored, a value left for an expression
(``p = 1 if h % 2 else 0``), a return or a loop in a side: the statement is not *local*, and every mix is
traced as before. A side that raises is local: no path goes on from it. A side's calls are taken to compute values (torch's
functions and the model's modules), not to change Python's state; a call whose value is dropped
(``log.append(h)``) is made for what it changes, so such a side is not local either.

The questions of one condition (``if a or b:``, ``if a and b:``, ``if not (a or b):``) are one *chain*: jumps in
a row, nothing stored between them, each to the statement's body or past it.
"""

from __future__ import annotations

import dis
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import CodeType

# What may run between the questions of one condition and in a local side besides loads, arithmetic and calls:
# nothing that stores, deletes, leaves the function or jumps.
_STORES = frozenset({"STORE_FAST"})
_NEVER = frozenset(
    {
        "STORE_NAME",
        "STORE_GLOBAL",
        "STORE_DEREF",
        "STORE_ATTR",
        "STORE_SUBSCR",
        "STORE_SLICE",
        "DELETE_FAST",
        "DELETE_NAME",
        "DELETE_GLOBAL",
        "DELETE_DEREF",
        "DELETE_ATTR",
        "DELETE_SUBSCR",
        "IMPORT_NAME",
        "IMPORT_STAR",
        "RERAISE",
        "RETURN_VALUE",
        "RETURN_CONST",
        "YIELD_VALUE",
        "SEND",
        "FOR_ITER",
        "GET_ITER",
        "BEFORE_WITH",
        "SETUP_FINALLY",
        "PUSH_EXC_INFO",
    }
)


@dataclass(frozen=True)
class Statement:
    """The statement a question opens: the jumps of its condition from that question on (their offsets), the
    names its sides store to (None where a side is no straight line or does more than store names), and what
    they load: each name with the attributes read from it, ("global", "F", "pad")."""

    chain: tuple[int, ...]
    stores: frozenset[str] | None
    loads: frozenset[tuple[str, ...]] = frozenset()


def local(
    code: CodeType,
    offset: int,
    holds_tensor: Callable[[str], bool],
    harmless: Callable[[tuple[str, ...]], bool],
) -> bool:
    """Whether the question asked at `offset` opens an if statement whose sides only rebind names that hold
    traced tensors (`holds_tensor`: whether a local name does when it is asked; a size rebound is Python state
    later questions may read) and load nothing that could change Python's state when called (`harmless`: what
    a name and its attributes are in the frame: torch's functions and modules, traced values, numbers)."""
    found = statement(code, offset)
    return (
        found.stores is not None
        and all(holds_tensor(name) for name in found.stores)
        and all(harmless(load) for load in found.loads)
    )


def continues(code: CodeType, first: int, offset: int) -> bool:
    """Whether a question at `offset` belongs to the condition whose question at `first` was asked before it."""
    return offset in statement(code, first).chain[1:]


@cache
def statement(code: CodeType, offset: int) -> Statement:
    instructions = list(dis.get_instructions(code))
    at = {instruction.offset: index for index, instruction in enumerate(instructions)}
    if offset not in at or not _conditional(instructions[at[offset]].opname):
        return Statement((offset,), None)  # a truth asked elsewhere (bool(), not, an `or` kept as a value)
    chain = [at[offset]]
    while True:
        following = _next_jump(instructions, chain[-1] + 1)
        if following is None:
            break
        target = instructions[chain[-1]].argval
        if target not in (_after(instructions, following), instructions[following].argval):
            break
        chain.append(following)
    last = chain[-1]
    body, past = _after(instructions, last), instructions[last].argval
    jumps = tuple(instructions[index].offset for index in chain)
    if body is None or past is None or past <= instructions[last].offset:
        return Statement(jumps, None)  # a loop's condition
    if any(instructions[index].argval not in (body, past) for index in chain):
        return Statement(jumps, None)  # a condition that is no chain of or / and
    sides = [(body, past)]
    end = _last_before(instructions, at, past)
    if end is not None and end.opname == "JUMP_FORWARD":
        sides = [(body, end.offset), (past, end.argval)]  # an else
    if _handled(code, instructions[chain[0]].offset, max(stop for _, stop in sides)):
        return Statement(jumps, None)  # in a try block: a raise in a side may be caught, and go on
    stores: set[str] = set()
    # what the condition's later questions load runs on some of its paths only
    loads = _loads(instructions[chain[0] + 1 : chain[-1]])
    for start, stop in sides:
        side = instructions[at[start] : at.get(stop, len(instructions))]
        found = _stores(side)
        if found is None:
            return Statement(jumps, None)
        stores |= found
        if not any(instruction.opname == "RAISE_VARARGS" for instruction in side):
            loads |= _loads(side)  # a side that raises ends the path (its error class is loaded and called)
    return Statement(jumps, frozenset(stores), frozenset(loads))


# How a name is loaded, by the scope it is looked up in
_SCOPES = {
    "LOAD_FAST": "local",
    "LOAD_DEREF": "local",
    "LOAD_CLOSURE": "local",
    "LOAD_GLOBAL": "global",
    "LOAD_NAME": "global",
}


def _loads(side: list[dis.Instruction]) -> set[tuple[str, ...]]:
    """Each name a side loads, with the attributes then read from it: (scope, name, attribute, ...)."""
    found: set[tuple[str, ...]] = set()
    current: list[str] = []
    for instruction in side:
        name = instruction.opname
        if name in ("LOAD_ATTR", "LOAD_METHOD") and current:
            current.append(str(instruction.argval))
            continue
        if current:
            found.add(tuple(current))
        current = [_SCOPES[name], str(instruction.argval)] if name in _SCOPES else []
    if current:
        found.add(tuple(current))
    return found


def _handled(code: CodeType, start: int, stop: int) -> bool:
    """Whether any instruction from `start` to `stop` is in a try block (or a with block) of the function."""
    entries = getattr(dis.Bytecode(code), "exception_entries", ())  # Python 3.11's exception table
    return any(entry.start < stop and start < entry.end for entry in entries)


def _conditional(opname: str) -> bool:
    # the jumps that pop their value (an `or` kept as a value, JUMP_IF_TRUE_OR_POP, is an expression's)
    return opname.startswith("POP_JUMP_") and "NONE" not in opname


def _next_jump(instructions: list[dis.Instruction], start: int) -> int | None:
    """The next conditional jump from `start` with only loads and arithmetic before it (the next operand of a
    condition), else None."""
    for index in range(start, len(instructions)):
        name = instructions[index].opname
        if _conditional(name):
            return index
        if "JUMP" in name or name in _NEVER or name in _STORES:
            return None
    return None


def _after(instructions: list[dis.Instruction], index: int) -> int | None:
    return instructions[index + 1].offset if index + 1 < len(instructions) else None


def _last_before(
    instructions: list[dis.Instruction], at: dict[int, int], offset: int
) -> dis.Instruction | None:
    index = at.get(offset)
    return instructions[index - 1] if index else None


def _stores(side: list[dis.Instruction]) -> set[str] | None:
    """The names a side stores to, where it is a straight line that leaves the stack as it found it and does
    nothing else to the function's state, or ends in a raise (the path ends there: nothing flows on); else
    None."""
    depth = 0
    stores: set[str] = set()
    for instruction in side:
        name = instruction.opname
        if name == "RAISE_VARARGS":
            return stores
        if "JUMP" in name or name in _NEVER or name == "POP_TOP":
            return None  # POP_TOP: a value computed and dropped, a call made for what it changes
        if name in _STORES:
            stores.add(str(instruction.argval))
        depth += dis.stack_effect(instruction.opcode, instruction.arg, jump=False)
    return stores if depth == 0 else None
