"""Differential tests of `symconv.nets.receptive`: each output's field against the input positions it really depends on.

NETWORKS random networks (seeded), half chains and half TOML graphs with add/cat merges of two branches of equal
size, are built from convolutions (stride, dilation, padding; JAX pads, negative ones crop), max and average
pooling (ceil_mode, dilation), transposed convolutions (stride, padding, output_padding, dilation), nearest
upsampling, pixel shuffle and unshuffle, and adaptive average pooling, each at a random input size where
`net.check` accepts it (merges of equal sizes only, every node at least 1). A small interpreter turns symconv's
nodes into PyTorch calls on 1-D tensors (N, C, L): pixel shuffle and unshuffle go through torch's 2-D
PixelShuffle / PixelUnshuffle with a height axis folded into the channels, channel counts planned so that they
divide, and a channel-mixing 1x1 convolution before every pixel shuffle (as sub-pixel convolutions have). The
weights are positive and random, and nothing but max pooling is nonlinear, so nothing cancels.

The real dependencies of each output position j, at input size n:
- impulse probing: a batch of n inputs, input t all zero but position t (every channel 1); output j depends
  on input t iff it is positive (zero padding, -inf max-pooling padding: exactly the outputs whose windows
  cover the impulse become positive, max pooling included);
- autograd: the gradient of output j, summed over channels, with respect to a random positive input. Equal
  to the probed set without max pooling; through max pooling it reaches only the maximum, a subset.

Checked, for every output position of the network:
- the window maps (symconv.core.windowmap) composed as sets are exactly the probed sets (an oracle for the rest);
- every real dependency lies in symconv's field (first, last) from `intervals` (padding included);
- the field is exactly the span of the window maps composed with padding taps included, symconv's convention
  (an independent set-based implementation of it);
- the real min and max are the field's ends clipped to the input, max(first, 0) and min(last, n - 1), except
  where the clipped end is a gap the field's own taps step over (then its first or last tap in the input);
- `net.receptive_fields(n)`: the size covers every real span, output 0's field starts at or before its
  first real dependency;
- the issue's two examples.

Fields reach through padding as Araujo et al. count it (intervals' docstring), so clipped to the input they
may be wider than the real dependencies, never narrower.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from symconv import SymconvError  # noqa: E402
from symconv.core.arith import evaluate  # noqa: E402
from symconv.core.layers import AdaptivePool, Conv, ConvTranspose, PixelShuffle, Pool, Resize, layer  # noqa: E402
from symconv.core.windowmap import IntervalMap, window_map, windows  # noqa: E402
from symconv.nets.network import Network, Node, chain, from_toml  # noqa: E402
from symconv.nets.receptive import intervals, receptive_fields  # noqa: E402
from tests.differential import ints, one_torch_thread  # noqa: E402

F = torch.nn.functional
SEED = 20240614
NETWORKS = 200
SIZES = range(2, 73)  # candidate input sizes; one valid size per network is drawn among them
MAX_NODE_SIZE = 240
INPUT_CHANNELS = 4
MAX_CHANNELS = 64

# ---------------------------------------------------------------------------------------------------------------
# Random networks


def _conv(rng: random.Random) -> str:
    k, s, d = rng.randint(1, 5), rng.choice((1, 1, 2, 3)), rng.choice((1, 1, 2, 3))
    if rng.random() < 0.2:
        pb, pe = rng.randint(-1, 2), rng.randint(-1, 2)
        return f"jax.conv(k={k}, s={s}, p=[({pb}, {pe})], d={d})"
    return f"torch.conv(k={k}, s={s}, p={rng.randint(0, 3)}, d={d})"


def _pool(rng: random.Random) -> str:
    k = rng.randint(1, 4)
    s = rng.choice((1, 2, 3, k))
    p = rng.randint(0, k // 2)
    ceil = rng.choice(("true", "false"))
    if rng.random() < 0.5:
        return f"torch.maxpool(k={k}, s={s}, p={p}, d={rng.choice((1, 1, 2))}, ceil={ceil})"
    return f"torch.avgpool(k={k}, s={s}, p={p}, ceil={ceil})"


def _convT(rng: random.Random) -> str:
    k, s, d = rng.randint(1, 4), rng.randint(1, 3), rng.choice((1, 1, 2))
    p = rng.randint(0, d * (k - 1) + 1)
    a = rng.randint(0, max(s, d) - 1)
    return f"torch.convT(k={k}, s={s}, p={p}, a={a}, d={d})"


def random_layer(rng: random.Random) -> str:
    kind = rng.choices(
        ("conv", "pool", "convT", "upsample", "shuffle", "unshuffle", "adaptive"), (5, 3, 3, 1, 1, 1.5, 1)
    )[0]
    if kind == "conv":
        return _conv(rng)
    if kind == "pool":
        return _pool(rng)
    if kind == "convT":
        return _convT(rng)
    if kind == "upsample":
        return f"upsample(scale={rng.choice((2, 3))})"
    if kind == "shuffle":
        return f"pixelshuffle(r={rng.choice((2, 3))})"
    if kind == "unshuffle":
        return f"pixelunshuffle(r={rng.choice((2, 2, 3))})"
    return f"adaptivepool(size={rng.randint(1, 9)})"


def _size_keeping_branch(rng: random.Random) -> list[str]:
    """One to three layers that give back the size they are given (for some sizes), or any layer."""
    k = rng.choice((1, 3, 5))
    d = rng.choice((1, 2))
    blocks = [
        [f"torch.conv(k={k}, s=1, p={d * (k - 1) // 2}, d={d})"],
        ["torch.maxpool(k=3, s=1, p=1)"],
        ["torch.avgpool(k=3, s=1, p=1, ceil=true)"],
        ["torch.convT(k=3, s=1, p=1)"],
        ["torch.conv(k=3, s=2, p=1)", "torch.convT(k=3, s=2, p=1, a=1)"],
        ["torch.conv(k=4, s=2, p=1)", "torch.convT(k=4, s=2, p=1)"],
        ["torch.maxpool(k=2, s=2)", "upsample(scale=2)"],
        ["torch.maxpool(k=3, s=2, p=1, ceil=true)", "upsample(scale=2)"],
        ["pixelunshuffle(r=2)", "pixelshuffle(r=2)"],
        ["pixelshuffle(r=2)", "torch.avgpool(k=2, s=2)"],
        ["upsample(scale=3)", "torch.conv(k=3, s=3)"],
        ["torch.convT(k=2, s=2)", "torch.conv(k=2, s=2)"],
        ["jax.conv(k=1, p=[(1, -1)])"],
        ["jax.conv(k=3, p=[(2, 0)])"],
        ["torch.conv(k=3)", "torch.convT(k=3)"],
        [f"adaptivepool(size={rng.randint(2, 6)})", f"upsample(scale={rng.choice((2, 3, 4))})"],
        [random_layer(rng)],
    ]
    return [layer for _ in range(rng.randint(1, 2)) for layer in rng.choice(blocks)]


@dataclass
class Plan:
    """A network's text (a chain, or TOML) and the output channels of each node the interpreter builds."""

    text: str
    toml: bool
    channels: dict[str, int] = field(default_factory=dict)

    def network(self) -> Network:
        return from_toml(self.text) if self.toml else chain(self.text)


class Builder:
    """Nodes in order, with channel counts tracked so that every pixel shuffle divides and every add matches:
    a 1x1 convolution is put in front where they would not (a conv's output channels are chosen here)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.nodes: list[tuple[str, str, list[str]]] = []  # (name, "layer spec" or "op:cat", inputs)
        self.channels: dict[str, int] = {"input": INPUT_CHANNELS}
        self.kinds: dict[str, str] = {}

    def add(self, spec: str, source: str) -> str:
        ch = self.channels[source]
        r = int(spec.split("r=")[1].rstrip(")")) if spec.startswith("pixel") else 0
        mixed = self.kinds.get(source, "").startswith(("torch.conv", "jax.conv"))
        if spec.startswith("pixelshuffle") and (ch % (r * r) or not mixed):
            # A pixel shuffle reads a different channel for each output position: after a layer that mixes
            # every channel (as sub-pixel convolutions do), all channels of a position depend on the same
            # inputs, which the composition oracle below assumes (test_fields_follow_the_phases... checks the
            # other case against PyTorch directly).
            source = self._conv1x1(source, r * r * self.rng.choice((1, 2)))
        if spec.startswith("pixelunshuffle") and ch * r * r > MAX_CHANNELS:
            source = self._conv1x1(source, 4)
        ch = self.channels[source]
        name = f"n{len(self.nodes) + 1}"
        self.nodes.append((name, spec, [source]))
        self.kinds[name] = spec
        if spec.startswith(("torch.conv", "jax.conv")):
            self.channels[name] = self.rng.choice((2, 4, 9, 36))
        elif spec.startswith("pixelshuffle"):
            self.channels[name] = ch // r
        elif spec.startswith("pixelunshuffle"):
            self.channels[name] = ch * r * r
        else:
            self.channels[name] = ch
        return name

    def _conv1x1(self, source: str, out: int) -> str:
        name = self.add("torch.conv(k=1)", source)
        self.channels[name] = out
        return name

    def merge(self, op: str, a: str, b: str) -> str:
        if op == "add" and self.channels[a] != self.channels[b]:
            b = self._conv1x1(b, self.channels[a])
        name = f"n{len(self.nodes) + 1}"
        self.nodes.append((name, f"op:{op}", [a, b]))
        self.channels[name] = self.channels[a] + (self.channels[b] if op == "cat" else 0)
        return name

    def plan(self, toml: bool) -> Plan:
        if not toml:
            # A chain: the nodes are named n1, n2, ... by symconv too, in order.
            assert all(inputs == [f"n{i}" if i else "input"] for i, (_, _, inputs) in enumerate(self.nodes))
            return Plan(" > ".join(spec for _, spec, _ in self.nodes), False, dict(self.channels))
        lines = ['dims = ["i"]']
        for name, spec, inputs in self.nodes:
            lines.append(f'[[node]]\nname = "{name}"')
            if spec.startswith("op:"):
                lines.append(f'op = "{spec[3:]}"\ninputs = {inputs!r}'.replace("'", '"'))
            else:
                lines.append(f'layer = "{spec}"\ninput = "{inputs[0]}"')
        return Plan("\n".join(lines), True, dict(self.channels))


def random_plan(rng: random.Random, toml: bool) -> Plan:
    build = Builder(rng)
    current = "input"
    if not toml:
        for _ in range(rng.randint(1, 6)):
            current = build.add(random_layer(rng), current)
        return build.plan(False)
    for _ in range(rng.randint(0, 2)):
        current = build.add(random_layer(rng), current)
    for _ in range(rng.randint(1, 2)):
        fork = current
        a = fork
        for spec in _size_keeping_branch(rng):
            a = build.add(spec, a)
        b = fork
        if rng.random() < 0.6:
            for spec in _size_keeping_branch(rng):
                b = build.add(spec, b)
        current = build.merge(rng.choice(("add", "cat")), a, b)
        if rng.random() < 0.5:
            current = build.add(random_layer(rng), current)
    return build.plan(True)


def _sizes(net: Network, n: int) -> dict[str, int]:
    return {name: int(evaluate(expr, {"i": n})) for name, expr in net.sizes("i").items()}


def valid_size(net: Network, rng: random.Random) -> int | None:
    """A random input size at which the network is defined and no node is larger than MAX_NODE_SIZE."""
    sizes = list(SIZES)
    rng.shuffle(sizes)
    for n in sizes:
        try:
            net.check({"i": n})
        except SymconvError:
            continue
        at = _sizes(net, n)
        # JAX allows an empty output at the end (symconv too), PyTorch does not; an add that broadcasts a
        # size of 1 is left out (merges of equal sizes only).
        merges_equal = all(len({at[p] for p in node.inputs}) == 1 for node in net.nodes if node.op == "add")
        if max(at.values()) <= MAX_NODE_SIZE and min(at.values()) >= 1 and merges_equal:
            return n
    return None


@dataclass
class Case:
    index: int
    plan: Plan
    net: Network
    size: int


def draw_cases() -> list[Case]:
    rng = random.Random(SEED)
    cases: list[Case] = []
    while len(cases) < NETWORKS:
        plan = random_plan(rng, toml=len(cases) % 2 == 1)
        try:
            net = plan.network()
        except SymconvError:
            continue  # parameters the convention refuses outright (e.g. a pool pad over half the kernel)
        n = valid_size(net, rng)
        if n is None:
            continue
        # A max pooling window wholly in its padding gives -inf, which then reaches every output after it
        # whatever the input: such networks are left out (real networks do not do this).
        x = torch.zeros(1, INPUT_CHANNELS, n, dtype=torch.float64)
        with torch.no_grad():
            values = build_torch(plan, net, torch.Generator().manual_seed(0))(x)
        if all(bool(torch.isfinite(v).all()) for v in values.values()):
            cases.append(Case(len(cases), plan, net, n))
    return cases


# ---------------------------------------------------------------------------------------------------------------
# The interpreter: symconv's nodes as PyTorch calls


def build_torch(plan: Plan, net: Network, generator: Any) -> Any:
    """A function input tensor (N, C, L) -> every node's output, with positive weights drawn from `generator`."""
    steps: list[tuple[str, Any, tuple[str, ...]]] = []
    channels = dict(plan.channels)
    for node in net.nodes:
        if node.op == "input":
            continue
        if node.op in ("add", "cat"):
            merge = torch.add if node.op == "add" else (lambda a, b: torch.cat([a, b], dim=1))
            steps.append((node.name, merge, node.inputs))
            continue
        assert node.op == "layer" and node.layer is not None, node
        made = node.layer
        c_in, c_out = channels[node.inputs[0]], channels[node.name]
        steps.append((node.name, _layer_call(made, c_in, c_out, generator), node.inputs))
    names = [node.name for node in net.nodes if node.op == "input"]

    def run(x: Any) -> dict[str, Any]:
        values = {names[0]: x}
        for name, call, inputs in steps:
            values[name] = call(*(values[i] for i in inputs))
        return values

    return run


def _weight(shape: tuple[int, ...], generator: Any) -> Any:
    fan_in = shape[1] * shape[2] if len(shape) == 3 else 1
    return (0.5 + torch.rand(shape, generator=generator, dtype=torch.float64)) / fan_in


def _layer_call(made: Any, c_in: int, c_out: int, generator: Any) -> Any:
    if isinstance(made, Conv):
        k, s, d, pb, pe = ints(made, "k", "s", "d", "pb", "pe")
        w = _weight((c_out, c_in, k), generator)
        if made.framework == "jax":
            # JAX's explicit pads: zeros, or a crop where negative (F.pad does both).
            return lambda x: F.conv1d(F.pad(x, (pb, pe)), w, stride=s, dilation=d)
        assert pb == pe and made.mode == "explicit"
        return lambda x: F.conv1d(x, w, stride=s, padding=pb, dilation=d)
    if isinstance(made, ConvTranspose):
        k, s, d, p, a = ints(made, "k", "s", "d", "pb", "a")
        w = _weight((c_in, c_out, k), generator)
        return lambda x: F.conv_transpose1d(x, w, stride=s, padding=p, output_padding=a, dilation=d)
    if isinstance(made, Pool):
        k, s, d, p = ints(made, "k", "s", "d", "pb")
        if made.op == "max":
            return lambda x: F.max_pool1d(x, k, s, p, dilation=d, ceil_mode=made.ceil)
        return lambda x: F.avg_pool1d(x, k, s, p, ceil_mode=made.ceil, count_include_pad=True)
    if isinstance(made, Resize):
        assert made.scale is not None, made.spec
        scale = int(made.scale)
        return lambda x: F.interpolate(x, scale_factor=scale, mode="nearest")
    if isinstance(made, PixelShuffle):
        r = int(made.r)
        if made.down:
            # (N, C, L) -> (N, C, r, L): a height r (copies) -> PixelUnshuffle -> (N, C*r*r, 1, L/r)
            return lambda x: F.pixel_unshuffle(x[:, :, None, :].expand(-1, -1, r, -1), r)[:, :, 0, :]
        # (N, C, L) -> (N, C, 1, L) -> PixelShuffle -> (N, C/(r*r), r, L*r) -> height into channels
        return lambda x: F.pixel_shuffle(x[:, :, None, :], r).flatten(1, 2)
    if isinstance(made, AdaptivePool):
        size = int(made.size)
        return lambda x: F.adaptive_avg_pool1d(x, size)
    raise AssertionError(f"no PyTorch call for {made.spec}")


# ---------------------------------------------------------------------------------------------------------------
# Measuring the dependencies


def probed(run: Any, n: int, name: str) -> list[set[int]]:
    """Impulse probing: for each output j of a node, the inputs t whose impulse reaches it."""
    x = torch.zeros(n, INPUT_CHANNELS, n, dtype=torch.float64)
    x[torch.arange(n), :, torch.arange(n)] = 1.0
    with torch.no_grad():
        reached = (run(x)[name] > 0).any(dim=1)  # (t, j)
    return [{int(t) for t in torch.nonzero(reached[:, j])} for j in range(reached.shape[1])]


def traced(run: Any, n: int, name: str, generator: Any) -> list[set[int]]:
    """Autograd: for each output j of a node, the input positions with a non-zero gradient."""
    x = (0.5 + torch.rand(1, INPUT_CHANNELS, n, generator=generator, dtype=torch.float64)).requires_grad_()
    out = run(x)[name].sum(dim=1)[0]
    sets = []
    for j in range(out.shape[0]):
        (grad,) = torch.autograd.grad(out[j], x, retain_graph=True)
        sets.append({int(t) for t in torch.nonzero(grad.abs().sum(dim=1)[0] > 0)})
    return sets


# ---------------------------------------------------------------------------------------------------------------
# Two oracles built on the window maps alone (symconv.core.windowmap, which tests/test_port_diff.py and the figure
# tests check against the libraries), as sets, with no assumption on how fields are ordered:
# - composed: output q of a node depends on the union of what the input positions its window really reads
#   depend on (padding, the zeros of a stretched input and cells past the end read nothing);
# - extended: symconv's convention (Araujo et al.'s): a window's taps in the padding count too, and a position
#   outside a node's output is given the field it would have if the node went on (its window map at any q).


def composed(net: Network, n: int) -> list[set[int]]:
    sizes = _sizes(net, n)
    deps: dict[str, list[set[int]]] = {}
    for node in net.nodes:
        if node.op == "input":
            deps[node.name] = [{t} for t in range(n)]
        elif node.op == "layer" and node.layer is not None:
            parent = deps[node.inputs[0]]
            found = windows(node.layer, sizes[node.inputs[0]])
            deps[node.name] = [set().union(*(parent[p] for p in w.reads)) for w in found]
        else:
            a, b = (deps[name] for name in node.inputs)
            deps[node.name] = [x | y for x, y in zip(a, b, strict=True)]
    return deps[net.output]


def extended(net: Network, n: int) -> list[set[int]]:
    sizes = _sizes(net, n)
    nodes = {node.name: node for node in net.nodes}
    memo: dict[tuple[str, int], frozenset[int]] = {}

    def reads(node: Any, q: int) -> list[tuple[str, int]]:
        if node.op in ("add", "cat"):
            return [(name, q) for name in node.inputs]
        parent = node.inputs[0]
        mapping, i = window_map(node.layer), sizes[parent]
        if isinstance(mapping, IntervalMap):
            low, high = (int(evaluate(v, {"i": i, "j": q})) for v in (mapping.low, mapping.high))
            return [(parent, p) for p in range(low, high + 1)]
        k, stride, d, spacing, before = (
            int(evaluate(v, {"i": i}))
            for v in (mapping.k, mapping.stride, mapping.d, mapping.spacing, mapping.before)
        )
        offsets = [q * stride + t * d - before for t in range(k)]
        return [(parent, o // spacing) for o in offsets if o % spacing == 0]

    def field(name: str, q: int) -> frozenset[int]:
        stack = [(name, q)]
        while stack:
            key = stack[-1]
            if key in memo:
                stack.pop()
                continue
            node = nodes[key[0]]
            if node.op == "input":
                memo[key] = frozenset({key[1]})
                continue
            parents = reads(node, key[1])
            missing = [p for p in parents if p not in memo]
            if missing:
                stack.extend(missing)
                continue
            memo[key] = frozenset().union(*(memo[p] for p in parents))
        return memo[name, q]

    return [set(field(net.output, q)) for q in range(sizes[net.output])]


@dataclass
class Outcome:
    case: Case
    fields: list[Any]  # symconv's intervals of the output
    real: list[set[int]]  # impulse probing
    autograd: list[set[int]]
    composed: list[set[int]]
    extended: list[set[int]]
    has_max: bool
    summary: Any  # net.receptive_fields(n)[output]

    def positions(self) -> Any:
        return zip(self.fields, self.real, self.extended, strict=True)


def check(case: Case) -> Outcome:
    net, n = case.net, case.size
    generator = torch.Generator().manual_seed(case.index)
    run = build_torch(case.plan, net, generator)
    has_max = any(isinstance(node.layer, Pool) and node.layer.op == "max" for node in net.nodes)
    return Outcome(
        case,
        intervals(net, n),
        probed(run, n, net.output),
        traced(run, n, net.output, generator),
        composed(net, n),
        extended(net, n),
        has_max,
        net.receptive_fields(n)[net.output],
    )


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    with one_torch_thread():
        return [check(case) for case in draw_cases()]


def _report(bad: list[tuple[Outcome, list[str]]]) -> str:
    lines = [f"{len(bad)} networks:"]
    for outcome, problems in bad[:6]:
        text = outcome.case.plan.text.replace("\n", " ")
        lines.append(f"- network {outcome.case.index} at n={outcome.case.size}: {text}")
        lines += [f"    {p}" for p in problems[:3]]
    return "\n".join(lines)


def _ends(positions: set[int]) -> tuple[int, int] | None:
    return (min(positions), max(positions)) if positions else None


# ---------------------------------------------------------------------------------------------------------------
# Tests


def test_networks_cover_every_node_kind(outcomes: list[Outcome]) -> None:
    assert len(outcomes) == NETWORKS
    kinds: Counter[str] = Counter()
    for outcome in outcomes:
        for node in outcome.case.net.nodes:
            kinds[node.op if node.op != "layer" else type(node.layer).__name__] += 1
            made = node.layer
            if isinstance(made, PixelShuffle):
                kinds["unshuffle" if made.down else "shuffle"] += 1
            if isinstance(made, Conv) and made.framework == "jax":
                kinds["jax pads"] += 1
            if isinstance(made, Conv | ConvTranspose | Pool) and int(made.d) > 1:
                kinds["dilated"] += 1
            if isinstance(made, Pool):
                kinds[made.op] += 1
                kinds["ceil"] += made.ceil
    for kind in ("Conv", "ConvTranspose", "Resize", "AdaptivePool", "add", "cat", "shuffle", "unshuffle"):
        assert kinds[kind] >= 15, kinds
    for kind in ("max", "avg", "ceil", "jax pads", "dilated"):
        assert kinds[kind] >= 15, kinds
    assert sum(o.case.plan.toml for o in outcomes) == NETWORKS // 2
    assert sum(len(o.fields) for o in outcomes) >= 2000


def test_autograd_agrees_with_impulse_probing(outcomes: list[Outcome]) -> None:
    """The same sets without max pooling; through max pooling autograd reaches only the maximum (a subset)."""
    bad = []
    for o in outcomes:
        problems = [
            f"output {j}: autograd {sorted(g)}, probing {sorted(r)}"
            for j, (g, r) in enumerate(zip(o.autograd, o.real, strict=True))
            if not (g <= r and (o.has_max or g == r))
        ]
        if problems:
            bad.append((o, problems))
    assert not bad, _report(bad)


def test_window_maps_composed_are_the_real_dependencies(outcomes: list[Outcome]) -> None:
    """The oracle the checks below lean on: window maps composed as sets give exactly what PyTorch computes."""
    bad = []
    for o in outcomes:
        problems = [
            f"output {j}: composed {sorted(c)}, real {sorted(r)}"
            for j, (c, r) in enumerate(zip(o.composed, o.real, strict=True))
            if c != r
        ]
        if problems:
            bad.append((o, problems))
    assert not bad, _report(bad)


def test_every_real_dependency_lies_in_the_field(outcomes: list[Outcome]) -> None:
    bad = []
    for o in outcomes:
        problems = [
            f"output {j}: symconv {got}, real {_ends(real)} ({sorted(real)[:8]})"
            for j, (got, real, _) in enumerate(o.positions())
            if real and (got is None or min(real) < got[0] or max(real) > got[1])
        ]
        if problems:
            bad.append((o, problems))
    assert not bad, _report(bad)


def test_fields_are_the_spans_of_the_window_maps(outcomes: list[Outcome]) -> None:
    """symconv's convention, checked exactly: the span of the extended oracle (padding taps included)."""
    bad = []
    for o in outcomes:
        problems = [
            f"output {j}: symconv {got}, extended window maps {_ends(ext)}"
            for j, (got, _, ext) in enumerate(o.positions())
            if got != _ends(ext)
        ]
        if problems:
            bad.append((o, problems))
    assert not bad, _report(bad)


def test_field_summary_covers_the_real_spans(outcomes: list[Outcome]) -> None:
    """net.receptive_fields(n): the size r is at least every output's real span, output 0's field starts at
    -padding, at or before its first real dependency."""
    bad = []
    for o in outcomes:
        field_, problems = o.summary, []
        spans = [max(real) - min(real) + 1 for real in o.real if real]
        if spans and field_.r < max(spans):
            problems.append(f"r = {field_.r}, a real span of {max(spans)}")
        if o.real[0] and -field_.padding > min(o.real[0]):
            problems.append(f"padding = {field_.padding}, output 0 depends on input {min(o.real[0])}")
        if problems:
            bad.append((o, problems))
    assert not bad, _report(bad)


def clipped_end_problems(outcome: Outcome) -> list[str]:
    """Where max(first, 0) or min(last, n - 1) is not the real min or max though it must be.

    It need not be where the clipped end is a gap of the field itself: the field's taps step over it (a
    dilated or strided tap in the padding, the next one further in: conv(k=2, s=3, p=1, d=3) output 0 reads
    -1 and 2, so its real min is 2, not 0). There the real end must be the field's first (last) position in
    the input instead, per the extended oracle.
    """
    n = outcome.case.size
    problems = []
    for j, (got, real, ext) in enumerate(outcome.positions()):
        if not real or got is None:
            continue
        inside = sorted(t for t in ext if 0 <= t < n)
        low = max(got[0], 0) if got[0] >= 0 or 0 in inside else inside[0]
        high = min(got[1], n - 1) if got[1] <= n - 1 or n - 1 in inside else inside[-1]
        if (min(real), max(real)) != (low, high):
            gap = "" if (low, high) == (max(got[0], 0), min(got[1], n - 1)) else f" (a gap: {low}, {high})"
            problems.append(f"output {j}: symconv {got}{gap}, real {_ends(real)}")
    return problems


def test_field_ends_clipped_to_the_input_are_the_real_ends(outcomes: list[Outcome]) -> None:
    bad = [(o, problems) for o in outcomes if (problems := clipped_end_problems(o))]
    # With the window maps composing to the real sets (tested above) and the fields the extended oracle's
    # spans, an end can differ only by the convention intervals() documents: positions reached through
    # padding taps of inner nodes (wider, never narrower).
    wider = [
        (o, p)
        for o, p in bad
        if all(not real or (got[0] <= min(real) and max(real) <= got[1]) for got, real, _ in o.positions())
    ]
    unexplained = [(o, p) for o, p in bad if (o, p) not in wider]
    assert not unexplained, _report(unexplained)


# ---------------------------------------------------------------------------------------------------------------
# The two examples


def test_pixel_unshuffle_then_conv() -> None:
    net = chain("pixelunshuffle(r=2) > conv(k=3, p=1)")
    for size in (None, 8, 64):
        found = receptive_fields(net, size)["n2"]
        assert (found.r, found.stride, found.padding) == tuple(map(Fraction, (6, 2, 2))), size
    assert net.receptive_fields(64)["n2"].uniform


def test_conv_then_adaptive_pool_at_64() -> None:
    net = chain("conv(k=3) > adaptivepool(size=4)")
    found = net.receptive_fields(64)["n2"]
    assert found.r == 18 and not found.uniform
    plan = Plan("conv(k=3) > adaptivepool(size=4)", False, {"input": INPUT_CHANNELS, "n1": 2, "n2": 2})
    real = probed(build_torch(plan, net, torch.Generator().manual_seed(0)), 64, "n2")
    assert [_ends(r) for r in real] == intervals(net, 64) == [(0, 17), (15, 32), (31, 48), (46, 63)]


# ---------------------------------------------------------------------------------------------------------------
# Minimal examples: fields after transposed convolutions with holes, the padding convention, and the phases a
# pixel unshuffle leaves in the channels


def _channels(net: Network) -> dict[str, int]:
    """Channel counts as build_torch makes them (a shuffle keeps the height r of its 2-D form in the channels),
    36 after a convolution (a multiple of 4 and 9) where a shuffle follows, so that every shuffle divides."""
    shuffles = any(isinstance(node.layer, PixelShuffle) for node in net.nodes)
    channels: dict[str, int] = {}
    for node in net.nodes:
        made = node.layer
        ch = channels[node.inputs[0]] if node.inputs else INPUT_CHANNELS
        if isinstance(made, Conv | ConvTranspose):
            ch = 36 if shuffles else INPUT_CHANNELS
        elif isinstance(made, PixelShuffle):
            r = int(made.r)
            ch = ch * r * r if made.down else ch // r
        elif node.op == "cat":
            ch = sum(channels[name] for name in node.inputs)
        channels[node.name] = ch
    return channels


def _real(text: str, n: int) -> list[tuple[int, int] | None]:
    net = from_toml(text) if "[[node]]" in text else chain(text)
    plan = Plan(text, False, _channels(net))
    run = build_torch(plan, net, torch.Generator().manual_seed(0))
    return [_ends(r) for r in probed(run, n, net.output)]


def test_field_after_transposed_holes_and_dilation() -> None:
    # n1 = [x0, -, x1, -, x2, -, x3]; n2[j] reads n1[j] and n1[j + 3]: x0, x2, x1, x3 (fields not in order);
    # n3[1] reads n2[1] and n2[2], inputs 2 and 1. symconv: (2, 1).
    text = "convT(k=1, s=2) > conv(k=2, d=3) > conv(k=2)"
    assert _real(text, 4) == [(0, 2), (1, 2), (1, 3)]
    assert intervals(chain(text), 4) == [(0, 2), (1, 2), (1, 3)]


def test_adaptive_pooling_over_transposed_holes() -> None:
    # n1 = [x0, -, x1, -]: adaptive pooling to 1 reads n1[0..3]; its last position reads nothing, and the
    # positions between the two ends are not looked at. symconv: (0, 0).
    text = "convT(k=1, s=2, a=1) > adaptivepool(size=1)"
    assert _real(text, 2) == [(0, 1)]
    assert intervals(chain(text), 2) == [(0, 1)]


def test_inner_padding_counts_as_araujo_counts_it() -> None:
    # n1 = conv(k=2, s=2) at 5 reads inputs 0..3 (4 is left over); n2[1] reads n1[0], n1[1] and the padding
    # n1[2], whose field, as Araujo et al. count padding, is inputs 4..5: the field (0, 5) contains what PyTorch
    # shows (0..3), and is wider, by the convention intervals() documents.
    text = "conv(k=2, s=2) > conv(k=3, p=1)"
    assert _real(text, 5) == [(0, 3), (0, 3)]
    assert intervals(chain(text), 5) == [(-2, 3), (0, 5)]


def test_a_cropped_input_is_reached_through_padding_by_the_same_convention() -> None:
    # JAX's pad (-1, 0) crops input 0; n2[0] reads n1[-1] (padding), which would be input 0.
    text = "jax.conv(k=1, p=[(-1, 0)]) > conv(k=3, p=1)"
    assert _real(text, 5)[0] == (1, 2)
    assert intervals(chain(text), 5)[0] == (0, 2)


BROADCAST = """
[[node]]
name = "a"
layer = "conv(k=3, p=1)"
[[node]]
name = "g"
layer = "adaptivepool(size=1)"
input = "input"
[[node]]
name = "m"
op = "add"
inputs = ["a", "g"]
"""


def test_add_broadcasting_a_global_pooling() -> None:
    net = from_toml(BROADCAST)
    assert net.check({"i": 6}) == {"i": 6}
    assert _real(BROADCAST, 6) == [(0, 5)] * 6
    fields = intervals(net, 6)
    assert None not in fields
    assert [(max(f[0], 0), min(f[1], 5)) for f in fields if f is not None] == [(0, 5)] * 6


def test_pixel_unshuffle_then_shuffle_is_the_identity() -> None:
    text = "pixelunshuffle(r=2) > pixelshuffle(r=2)"
    assert _real(text, 4) == [(0, 0), (1, 1), (2, 2), (3, 3)]
    assert intervals(chain(text), 4) == [(0, 0), (1, 1), (2, 2), (3, 3)]


@pytest.mark.parametrize(
    "text",
    [
        "pixelunshuffle(r=2) > torch.maxpool(k=2, s=2) > upsample(scale=2) > pixelshuffle(r=2)",
        "pixelunshuffle(r=3) > torch.avgpool(k=3, s=1) > upsample(scale=2) > pixelshuffle(r=3)",
        "pixelunshuffle(r=2) > adaptivepool(size=5) > pixelshuffle(r=2)",
        "pixelunshuffle(r=3) > torch.conv(k=3) > pixelshuffle(r=3)",
    ],
)
def test_fields_follow_the_phases_an_unshuffle_leaves_in_the_channels(text: str) -> None:
    # Per-channel layers keep each phase apart; a shuffle by the last unshuffle's r takes them back out.
    # (No padding here: symconv's fields count it, probing cannot see it.)
    assert intervals(chain(text), 36) == _real(text, 36)


def _phase_chain(rng: random.Random) -> str:
    """A chain of an unshuffle, per-channel layers, convolutions and shuffles, without padding (symconv's fields
    count it, probing cannot see it). One unshuffle is held at a time: the harness runs 1-D layers as 2-D ones
    of height r, which leaves the height in the channels after a shuffle, so nested unshuffles would not be
    PyTorch's 2-D ones."""
    held: list[int] = [2]
    layers: list[str] = ["pixelunshuffle(r=2)"]
    for _ in range(rng.randint(2, 6)):
        kind = rng.choice(("unshuffle", "shuffle", "shuffle", "pool", "pool", "upsample", "adaptive", "conv"))
        if kind == "unshuffle" and not held:
            held.append(rng.choice((2, 3)))
            layers.append(f"pixelunshuffle(r={held[-1]})")
        elif kind == "shuffle" and held:
            layers.append(f"pixelshuffle(r={held.pop()})")
        elif kind == "pool":
            k = rng.randint(1, 3)
            layers.append(f"torch.{rng.choice(('max', 'avg'))}pool(k={k}, s={rng.randint(1, k)})")
        elif kind == "upsample":
            layers.append(f"upsample(scale={rng.choice((2, 3))})")
        elif kind == "adaptive":
            layers.append(f"adaptivepool(size={rng.randint(2, 7)})")
        elif kind == "conv":
            held.clear()  # a convolution mixes the channels: what a shuffle reads next is any of them
            layers.append(f"torch.conv(k={rng.choice((1, 3))})")
    return " > ".join([*layers, f"pixelshuffle(r={held[0]})" if held else "torch.avgpool(k=1)"])


def test_random_chains_through_the_channels_agree_with_probing() -> None:
    rng = random.Random(11)
    checked = 0
    for _ in range(60):
        text = _phase_chain(rng)
        net = chain(text)
        for n in range(24, 90):
            try:
                found = intervals(net, n)
            except SymconvError:
                continue
            assert found == _real(text, n), (text, n)
            checked += 1
            break
    assert checked >= 40


def _deep_net(rng: random.Random, depth: int) -> Network:
    """A deep 1-D network: size-keeping convolutions and poolings (odd kernels, any dilation), residual adds
    around some of them, a few strided layers and upsamplings (fields composed as integer affine maps, read through
    the upsamplings: see receptive._anchored)."""
    nodes = [Node("input", "input")]
    previous = "input"
    for n in range(depth):
        k, d = rng.choice((1, 3, 5)), rng.choice((1, 1, 2))
        spec = f"torch.conv(k={k}, p={d * (k - 1) // 2}, d={d})"
        if rng.random() < 0.3:
            spec = f"torch.maxpool(k={k}, s=1, p={(k - 1) // 2})"
        if n % 40 == 20:
            spec = f"torch.conv(k=3, s=2, p={rng.randint(0, 1)})"
        elif n % 40 == 35:
            spec = "upsample(scale=2)"  # the fields after it are read through it (an anchor)
        nodes.append(Node(f"l{n}", "layer", (previous,), layer(spec)))
        if n % 40 not in (20, 35) and rng.random() < 0.3:
            nodes.append(Node(f"a{n}", "add", (f"l{n}", previous)))
            previous = f"a{n}"
        else:
            previous = f"l{n}"
    return Network(tuple(nodes))


@pytest.mark.parametrize("seed", range(4))
def test_deep_networks_fields_are_the_spans_of_the_window_maps(seed: int) -> None:
    rng = random.Random(SEED + seed)
    net = _deep_net(rng, 150)
    n = rng.randint(40, 90)
    got = intervals(net, n)
    want = [_ends(positions) for positions in extended(net, n)]
    assert got == want
