"""The solver back end: a Z3 portfolio that does not stall, queries as SMT-LIB 2, cvc5 as a second opinion.

`check(assertions, timeout_ms)` decides the conjunction of Z3 assertions with an iterative-deepening portfolio:
short slices of cheap tactic pipelines with different random seeds first (most queries take a few
milliseconds, but a pipeline can also wander for seconds on a query another seed decides at once), then
longer slices, and Z3's default solver among them. The result is unknown only when the whole timeout is spent
(or every strategy gave up as incomplete).

`Query` is a proof obligation (premises and a goal); `to_smt2` writes its refutation as a standalone SMT-LIB 2
script that the z3 and cvc5 binaries answer on their own, and `confirm_cvc5` asks cvc5 through its Python API.
z3 and cvc5 are imported only when used.

>>> import z3
>>> x = z3.Int("x")
>>> check([x * x == 2], 1000)[0]
'unsat'
>>> query = Query((x >= 1,), x * x >= x)
>>> decide(query.refutation(), 1000).verdict
'unsat'
>>> print(to_smt2(query.refutation(), ["claim: x*x >= x"]).splitlines()[0])
; claim: x*x >= x
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Verdict = Literal["sat", "unsat", "unknown"]


@dataclass(frozen=True)
class Step:
    """One tactic of a pipeline, with its parameters (as Z3 names them)."""

    name: str
    params: tuple[tuple[str, bool | int], ...] = ()


@dataclass(frozen=True)
class Strategy:
    """A way to run Z3: a tactic pipeline, or Z3's default solver when `steps` is empty.

    `seed` is the random seed of the pipeline's last step (smt) or of the default solver: the same query can
    take 5 ms with one seed and seconds with another, so the portfolio varies it between slices.
    """

    name: str
    steps: tuple[Step, ...] = ()
    seed: int = 0

    def seeded(self, seed: int) -> Strategy:
        return Strategy(self.name, self.steps, seed)

    def __hash__(self) -> int:
        # Looked up once per solver made: the generated hash would hash every step's fields each time.
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            cached = hash((self.name, self.steps, self.seed))
            object.__setattr__(self, "_hash", cached)
        return cached


# simplify, solve-eqs, smt: decides most queries in a few thousand resource units (about a millisecond), but
# its search time has a long tail: on some queries one random seed in five wanders for seconds.
LEAN = Strategy("lean", (Step("simplify"), Step("solve-eqs"), Step("smt")))
# Without relevancy propagation, after eliminating unconstrained terms: several times the work of LEAN on a
# typical query, but a thin tail where LEAN's is long (the nonlinear queries of the transposed relationships).
STEADY = Strategy(
    "steady", (Step("simplify"), Step("solve-eqs"), Step("elim-uncnstr"), Step("smt", (("relevancy", 0),)))
)
# Z3's default solver: slower to start, stronger on some nonlinear queries.
DEFAULT = Strategy("default")


@dataclass(frozen=True)
class Round:
    """Strategies tried in turn, each with `rlimit` Z3 resource units (a few per microsecond of search)."""

    strategies: tuple[Strategy, ...]
    rlimit: int


@dataclass(frozen=True)
class Portfolio:
    """Rounds of strategies with growing budgets, tried in order until one answers.

    Budgets are Z3 resource units, not milliseconds, so a slice does the same work on a loaded machine as on
    an idle one and the order of events does not depend on the load. After the last round, the last round
    repeats with `growth` times its budget (and new seeds) until the whole timeout is spent: the result is
    unknown only when every strategy ran out (or every one of the last round gave up as incomplete).
    """

    rounds: tuple[Round, ...]
    growth: int = 10


# Ordered by what answers the corpus (proofs/), measured where it matters, in the CLI's loop over fresh
# processes (Z3's search depends on the order in which the process created the terms, so a strategy timed
# alone after others on a captured query behaves otherwise): LEAN answers every theorem in the first slice,
# Torch-ceil-differs-exactly the slowest (up to about 20 ms of CPU). The orders tried instead (LEAN with seed 3
# first; LEAN with 40,000 units, then STEADY; slices of 20,000 units for three strategies in turn) each left
# some theorem to a later slice, at 50-90 ms of CPU. Slices are resource units, not milliseconds: load does not
# change which strategy answers.
PORTFOLIO = Portfolio(
    rounds=(
        Round((LEAN,), 50_000),
        Round((STEADY, LEAN.seeded(1)), 200_000),
        Round((DEFAULT, STEADY.seeded(2), LEAN.seeded(3)), 2_000_000),
    ),
)


@dataclass(frozen=True)
class Outcome:
    """What the portfolio found: the verdict, a model when sat, and how it got there."""

    verdict: Verdict
    model: Any = None
    reason: str = ""
    strategy: str = ""
    attempts: int = 0
    solver_seconds: float = 0.0
    # The strategy that answered, with its seed (None when unknown).
    answered_by: Strategy | None = None


def schedule(portfolio: Portfolio) -> Iterator[tuple[Strategy, int]]:
    """(strategy, rlimit) in the order the portfolio tries them, without end (the last round repeats)."""
    for round_ in portfolio.rounds:
        for strategy in round_.strategies:
            yield strategy, round_.rlimit
    last = portfolio.rounds[-1]
    rlimit, repeat = last.rlimit, 1
    while True:
        rlimit *= portfolio.growth
        for strategy in last.strategies:
            yield strategy.seeded(strategy.seed + 100 * repeat), rlimit
        repeat += 1


_local = threading.local()


def _tactic(strategy: Strategy) -> Any:
    """The Z3 tactic of a pipeline, built once per thread (Z3 objects are not shared across threads)."""
    import z3

    cache: dict[Strategy, Any] | None = getattr(_local, "tactics", None)
    if cache is None:
        cache = _local.tactics = {}
    tactic = cache.get(strategy)  # a Strategy hashes its fields once (see Strategy.__hash__)
    if tactic is None:
        steps = [
            z3.With(step.name, **dict(step.params)) if step.params else z3.Tactic(step.name)
            for step in strategy.steps
        ]
        if strategy.seed:
            steps[-1] = z3.With(steps[-1], random_seed=strategy.seed)
        tactic = cache[strategy] = z3.Then(*steps) if len(steps) > 1 else steps[0]
    return tactic


def solver_for(strategy: Strategy, assertions: Sequence[Any], timeout_ms: int | None, rlimit: int = 0) -> Any:
    """A fresh Z3 solver running `strategy` on `assertions`, with a timeout (None: none) and a resource limit
    (0: none)."""
    import z3

    if strategy.steps:
        solver = _tactic(strategy).solver()
    else:
        solver = z3.Solver()
        solver.set("random_seed", strategy.seed)
    if timeout_ms is not None:
        solver.set("timeout", max(1, timeout_ms))
    if rlimit:
        z3.Z3_solver_set_params(solver.ctx.ref(), solver.solver, _rlimit(rlimit).params)
    add(solver, assertions)
    return solver


def _rlimit(rlimit: int) -> Any:
    """Z3 parameters setting the resource limit, made once per thread and value (solver.set builds them anew
    on every call, a tenth of the cost of a fresh solver)."""
    import z3

    cache: dict[int, Any] | None = getattr(_local, "rlimits", None)
    if cache is None:
        cache = _local.rlimits = {}
    params = cache.get(rlimit)
    if params is None:
        params = cache[rlimit] = z3.ParamsRef()
        params.set("rlimit", rlimit)
    return params


def add(solver: Any, assertions: Sequence[Any]) -> None:
    """solver.add(*assertions) without the Python API's per-assertion casts (Z3 Boolean terms go straight in)."""
    import z3

    ctx, handle = solver.ctx.ref(), solver.solver
    for assertion in assertions:
        if isinstance(assertion, z3.BoolRef) and assertion.ctx is solver.ctx:
            z3.Z3_solver_assert(ctx, handle, assertion.as_ast())
        else:
            solver.add(assertion)


# A slice of at most this many resource units ends within tens of milliseconds (at most about 0.3 microseconds
# a unit on the corpus, so 60 ms; limits.py bounds the size of what reaches Z3), so while more than
# UNTIMED_LEFT_MS of the timeout is left it runs on the thread's kept solver for its strategy (no fresh solver
# per query), bounded by its resource limit and, since a tactic may not check that limit, by the time left.
UNTIMED_RLIMIT = 200_000
UNTIMED_LEFT_MS = 2_000

# Z3's reasons for an unknown that only mean "out of time or resources": the strategy may answer with more.
_OUT_OF_BUDGET = ("timeout", "canceled", "max. resource limit exceeded")


@functools.lru_cache(maxsize=16)
def _last_round(portfolio: Portfolio) -> frozenset[tuple[str, tuple[Step, ...]]]:
    """The strategies of the portfolio's last round, without their seeds."""
    return frozenset((s.name, s.steps) for s in portfolio.rounds[-1].strategies)


def decide(assertions: Sequence[Any], timeout_ms: int, portfolio: Portfolio = PORTFOLIO) -> Outcome:
    """Run the portfolio on the conjunction of `assertions` until a strategy answers or the time is spent.

    A strategy that gives up for another reason (an incomplete theory) is not tried again; when every
    strategy of the last round has given up, the reason of the last one is the outcome's.
    """

    deadline = time.perf_counter() + timeout_ms / 1000
    attempts, in_solver, reason = 0, 0.0, "timeout"
    gave_up: set[tuple[str, tuple[Step, ...]]] = set()
    last_round = _last_round(portfolio)
    for strategy, rlimit in schedule(portfolio):
        left = int((deadline - time.perf_counter()) * 1000)
        if left < 1:
            reason = "timeout"
            break
        if gave_up:  # empty until a strategy gives up for a reason other than its budget
            if last_round <= gave_up:
                break
            if (strategy.name, strategy.steps) in gave_up:
                continue
        untimed = 0 < rlimit <= UNTIMED_RLIMIT and left > UNTIMED_LEFT_MS
        attempts += 1
        before = time.perf_counter()
        verdict, model, reason = _run(strategy, assertions, left, rlimit, keep=untimed)
        in_solver += time.perf_counter() - before
        if verdict != "unknown":
            return Outcome(verdict, model, "", strategy.name, attempts, in_solver, strategy)
        if reason not in _OUT_OF_BUDGET:
            gave_up.add((strategy.name, strategy.steps))
    return Outcome("unknown", None, reason, "", attempts, in_solver)


def _run(
    strategy: Strategy, assertions: Sequence[Any], timeout_ms: int, rlimit: int, keep: bool = False
) -> tuple[Verdict, Any, str]:
    """One strategy on the conjunction of `assertions`: (verdict, model when sat, reason when unknown).

    With `keep` (a small resource limit and time to spare), a tactic pipeline runs on a solver kept for the
    thread, the strategy and the resource limit, its assertions in a scope popped afterwards: making a solver costs about 50 microseconds (Z3 sets
    it up on its first assertion), a sixth of a small query. Nothing of a check outlives the scope: a tactic
    solver runs its tactic afresh on the assertions at every check (Z3's default solver would not: after a
    push it turns incremental, and stalls on R15-T-direct, so it is made anew each time, as is a solver with
    a timeout).
    """
    import z3

    if not keep or not strategy.steps:
        solver = solver_for(strategy, assertions, timeout_ms, rlimit)
        return _verdict(solver, solver.check())
    solver = _kept(strategy, rlimit)
    # the resource limit ends a slice within milliseconds, but some tactics do not check it (a depth-14 U-Net's
    # valid set ran for minutes): the time left bounds it too
    solver.set("timeout", max(1, timeout_ms))
    ctx, handle = solver.ctx.ref(), solver.solver
    try:
        z3.Z3_solver_push(ctx, handle)
        add(solver, assertions)
        return _verdict(solver, solver.check())
    finally:
        # Every assertion lives in a scope: popping them all leaves the solver as made, even after an
        # interruption (the time budget's alarm) between the push and the try.
        scopes = z3.Z3_solver_get_num_scopes(ctx, handle)
        if scopes:
            z3.Z3_solver_pop(ctx, handle, scopes)


def _verdict(solver: Any, result: Any) -> tuple[Verdict, Any, str]:
    """The verdict of `solver`'s last check, with its model or its reason for an unknown."""
    import z3

    if result == z3.sat:
        return "sat", solver.model(), ""
    if result == z3.unsat:
        return "unsat", None, ""
    return "unknown", None, solver.reason_unknown()


def _kept(strategy: Strategy, rlimit: int) -> Any:
    """The thread's solver for a tactic pipeline with a resource limit and no timeout, made on first use."""
    cache: dict[tuple[Strategy, int], Any] | None = getattr(_local, "solvers", None)
    if cache is None:
        cache = _local.solvers = {}
    solver = cache.get((strategy, rlimit))
    if solver is None:
        solver = cache[strategy, rlimit] = solver_for(strategy, [], None, rlimit)
    return solver


def check(
    assertions: Sequence[Any], timeout_ms: int, portfolio: Portfolio = PORTFOLIO
) -> tuple[str, Any, str]:
    """(verdict, model or None, reason) for the conjunction of Z3 `assertions`: `decide` as a tuple, within
    what is left of the command's time budget (symconv.core.budget)."""
    from ..core import budget

    timeout_ms = budget.remaining_ms(timeout_ms)
    if timeout_ms <= 0:
        return "unknown", None, budget.TIME_BUDGET
    outcome = decide(assertions, timeout_ms, portfolio)
    reason = budget.TIME_BUDGET if outcome.verdict == "unknown" and budget.spent() else outcome.reason
    return outcome.verdict, outcome.model, reason


@dataclass(frozen=True)
class Query:
    """A proof obligation: the premises imply the goal. It holds iff `refutation()` is unsatisfiable."""

    premises: tuple[Any, ...]
    goal: Any

    def refutation(self) -> list[Any]:
        """The premises and the negated goal: the assertions a counterexample satisfies."""
        import z3

        return [*self.premises, z3.Not(self.goal)]

    def smt2(self, comments: Sequence[str] = ()) -> str:
        return to_smt2(self.refutation(), comments)


def logic(assertions: Sequence[Any]) -> str:
    """QF_NIA when every constant is an integer (or Boolean) and no quantifier occurs; ALL otherwise."""
    import z3

    seen: set[int] = set()
    stack = list(assertions)
    while stack:
        expr = stack.pop()
        key = expr.get_id()
        if key in seen:
            continue
        seen.add(key)
        if z3.is_quantifier(expr):
            return "ALL"
        if z3.is_const(expr) and not (z3.is_int(expr) or z3.is_bool(expr)):
            return "ALL"
        stack.extend(expr.children())
    return "QF_NIA"


def to_smt2(assertions: Sequence[Any], comments: Sequence[str] = ()) -> str:
    """A standalone SMT-LIB 2 script: the comment lines, set-logic, a declare-fun per variable, the
    assertions, (check-sat). z3 and cvc5 answer it on their own (`z3 FILE`, `cvc5 FILE`).

    Z3's integer div and mod are SMT-LIB's (Euclidean), so the script means what the Z3 terms mean.
    """
    import z3

    # One assert per conjunct: the prover joins its premises into one term, a reader wants them one a line.
    assertions = [part for a in assertions for part in (a.children() if z3.is_and(a) else [a])]
    assertions = assertions or [z3.BoolVal(True)]
    *rest, last = assertions
    ctx = last.ctx
    array = (z3.Ast * len(rest))(*(a.as_ast() for a in rest))
    body = z3.Z3_benchmark_to_smtlib_string(ctx.ref(), "", "", "unknown", "", len(rest), array, last.as_ast())
    lines = [line for line in body.splitlines() if line.strip() not in (";", "(set-info :status unknown)")]
    header = [f"; {line}".rstrip() for comment in comments for line in comment.splitlines() or [""]]
    header += ["(set-info :smt-lib-version 2.6)", f"(set-logic {logic(assertions)})"]
    return "\n".join([*header, *lines]) + "\n"


# cvc5 option sets tried in turn by confirm_cvc5 (on top of non-incremental solving, as the cvc5 binary runs):
# no single set answers every query of the corpus within seconds (cvc5 1.4.2), together they do. nl-rlv
# (relevance filtering of nonlinear lemmas) answers the TF VALID queries, nl-icp (interval constraint
# propagation) R5 and R15-T, incremental mode R15-T-direct.
CVC5_OPTIONS: tuple[tuple[tuple[str, str], ...], ...] = (
    (),
    (("nl-rlv", "always"),),
    (("nl-icp", "true"),),
    (("incremental", "true"),),
)


def confirm_cvc5(
    query: Sequence[Any] | str,
    timeout_ms: int = 10_000,
    options: Sequence[Sequence[tuple[str, str]]] = CVC5_OPTIONS,
) -> Verdict:
    """cvc5's verdict on a query: Z3 assertions, or SMT-LIB 2 text (its check-sat is ours to run).

    The option sets are tried in turn, twice: first with a sixteenth of the timeout each, then the sets that
    ran out of time with three sixteenths each; the first sat or unsat is the answer. Raises ImportError when
    the cvc5 package is not installed (pip install symconv[cvc5]).
    """
    text = query if isinstance(query, str) else to_smt2(query)
    pending = list(options)
    for fraction in (1 / 16, 3 / 16):
        share = max(1, int(timeout_ms * fraction))
        still = []
        for option_set in pending:
            verdict, out_of_time = _cvc5_once(text, share, option_set)
            if verdict != "unknown":
                return verdict
            if out_of_time:
                still.append(option_set)
        pending = still
    return "unknown"


def _cvc5_once(text: str, timeout_ms: int, options: Sequence[tuple[str, str]]) -> tuple[Verdict, bool]:
    """One cvc5 run: its verdict, and whether an unknown was for lack of time (worth a longer try)."""
    import cvc5

    manager = cvc5.TermManager()
    solver = cvc5.Solver(manager)
    for name, value in (("incremental", "false"), ("tlimit-per", str(timeout_ms)), *options):
        solver.setOption(name, value)
    symbols = cvc5.SymbolManager(manager)
    parser = cvc5.InputParser(solver, symbols)
    parser.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6, text, "query")
    while True:
        command = parser.nextCommand()
        if command.isNull():
            break
        if command.getCommandName() not in ("check-sat", "exit"):
            command.invoke(solver, symbols)
    result = solver.checkSat()
    if result.isUnsat():
        return "unsat", False
    if result.isSat():
        return "sat", False
    return "unknown", result.getUnknownExplanation() in (
        cvc5.UnknownExplanation.TIMEOUT,
        cvc5.UnknownExplanation.RESOURCEOUT,
        cvc5.UnknownExplanation.INTERRUPTED,
    )
