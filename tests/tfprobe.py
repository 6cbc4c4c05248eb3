"""TensorFlow, Keras 3 (TensorFlow backend) and tf-keras run for real, in child processes, batched.

A configuration is a plain dict (JSON):

    {"api": "nn" | "keras" | "tf_keras", "kind": "conv" | "convT" | "maxpool" | "avgpool",
     "i": [sizes], "k": [...], "s": [...], "d": [...] or None,   one entry per spatial axis (rank 1 or 2)
     "p": "VALID" | "SAME" | "valid" | "same" | "causal" | [[begin, end], ...] (explicit, tf.nn only),
     "o": [output_shape] (tf.nn.conv2d_transpose), "a": [output_padding] or None (Keras transposed)}

`probe(configs, onednn)` runs them in one child process with TF_ENABLE_ONEDNN_OPTS set, and gives, for each
configuration, the outcome of every path it lists under "paths" (all that apply when it lists none):

- tf.nn: "eager" (the op on a real array), "graph_shape" (the static shape graph construction infers with fully
  known shapes: the op's shape function, as a tf.function's trace runs it), "graph_run" (a tf.function traced
  with known shapes and executed) and "graph_dynamic" (traced with unknown spatial sizes and executed, so the
  kernel decides);
- Keras 3 and tf-keras: "shape" (the layer's compute_output_shape), "eager" (the layer called on a real
  array), "graph" (the layer called inside a tf.function, traced and run).

An outcome is {"shape": [...]} (spatial sizes), {"error": "Class: message"} (refused; "stage": "build" when the
constructor refused), {"crash": "SIGFPE"} (the process died: the child forks one worker at a time after
importing TensorFlow, a worker that dies is replaced and the configuration recorded) or {"hang": seconds}.

TensorFlow is imported only in the child: the parent (the tests) stays light.
"""

from __future__ import annotations

import functools
import json
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Config = dict[str, Any]
Outcome = dict[str, Any]

NN_PATHS = ("eager", "graph_shape", "graph_run", "graph_dynamic")
LAYER_PATHS = ("shape", "eager", "graph")
WORKER_TIMEOUT = 120.0  # seconds a worker may stay silent (its first item starts TensorFlow's runtime)


def paths(config: Config) -> tuple[str, ...]:
    return NN_PATHS if config["api"] == "nn" else LAYER_PATHS


# ---------------------------------------------------------------------------------------------------------------
# The parent side


def probe(configs: list[Config], onednn: bool, timeout: float = 1800.0) -> list[dict[str, Outcome]]:
    """Every configuration's outcomes by path, from one child with TF_ENABLE_ONEDNN_OPTS=0 or 1."""
    proc = start(configs, onednn)
    return finish(proc, len(configs), timeout)


def probe_both(
    off: list[Config], on: list[Config], timeout: float = 1800.0, ahead: bool = True
) -> list[dict[str, Outcome]]:
    """Two children side by side, TF_ENABLE_ONEDNN_OPTS=0 on `off` and 1 on `on` (the same configurations,
    each listing the paths that child runs): every configuration's outcomes by path@onednnN; `ahead`: compute
    symconv's answers meanwhile."""
    children = [start(off, False), start(on, True)]
    if ahead:  # symconv's answers while the children run
        symconv_answers([{k: v for k, v in c.items() if k != "paths"} for c in off])
    results = [finish(child, len(off), timeout) for child in children]
    return [
        {**{f"{p}@onednn0": o for p, o in a.items()}, **{f"{p}@onednn1": o for p, o in b.items()}}
        for a, b in zip(*results, strict=True)
    ]


@dataclass
class Child:
    """A running child and the files it writes (its results, one JSON line per path, and its stderr): files,
    not pipes, so that two children run side by side without waiting for a reader."""

    proc: subprocess.Popen[bytes]
    out: Path
    err: Path


def start(configs: list[Config], onednn: bool) -> Child:
    """Start the child (so two can run side by side); `finish` collects it."""
    env = {
        **os.environ,
        "TF_ENABLE_ONEDNN_OPTS": "1" if onednn else "0",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "KERAS_BACKEND": "tensorflow",
        "CUDA_VISIBLE_DEVICES": "",
        "OMP_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
    }
    folder = Path(tempfile.mkdtemp(prefix="tfprobe-"))
    source, out, err = folder / "configs.json", folder / "out.jsonl", folder / "err.txt"
    source.write_text(json.dumps(configs))
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), str(source)],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=env,
        )
    return Child(proc, out, err)


def finish(child: Child, count: int, timeout: float = 1800.0) -> list[dict[str, Outcome]]:
    try:
        child.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.proc.kill()
        child.proc.wait()
        raise
    try:
        if child.proc.returncode != 0:
            raise RuntimeError(
                f"the TensorFlow child failed ({child.proc.returncode}): {child.err.read_text()[-2000:]}"
            )
        results: list[dict[str, Outcome]] = [{} for _ in range(count)]
        for line in child.out.read_text().splitlines():
            n, path, outcome = json.loads(line)
            results[n][path] = outcome
        return results
    finally:
        shutil.rmtree(child.out.parent, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------------
# Drawing configurations (sizes from 1, so that empty outputs and kernels larger than the input come up)

APIS = ("nn", "keras", "tf_keras")
KINDS = ("conv", "convT", "maxpool", "avgpool")


def _size(rng: random.Random) -> int:
    return rng.randint(1, 8) if rng.random() < 0.35 else rng.randint(1, 40)


def _axis(rng: random.Random, kind: str, api: str) -> dict[str, Any]:
    """One spatial axis: i, k, s, d and, for tf.nn, the explicit pads a padding list would give it."""
    k = rng.randint(1, 7)
    axis: dict[str, Any] = {"i": _size(rng), "k": k, "s": rng.randint(1, 4), "d": 1}
    if kind in ("conv", "convT") and rng.random() < 0.4:
        axis["d"] = rng.randint(2, 3)
    if kind in ("conv", "convT") and api == "nn":
        axis["pads"] = [rng.randint(0, 4), rng.randint(0, 4)]
    else:  # pooling: pads around the window size, where tf.nn.max_pool2d's rule sits
        axis["pads"] = [rng.randint(0, k + 1), rng.randint(0, k + 1)]
    return axis


def transpose_range(i: int, k: int, s: int, d: int, padding: Any) -> tuple[int, int]:
    """Where TensorFlow's conv2d_transpose output_shape is meant to be accepted (for drawing near the edges):
    the sizes whose forward window gives back i."""
    k_eff = d * (k - 1) + 1
    if padding == "SAME":
        return (i - 1) * s + 1, i * s
    total = 0 if padding == "VALID" else padding[0] + padding[1]
    low = (i - 1) * s + k_eff - total
    return low, low + s - 1


def draw(rng: random.Random, api: str, kind: str) -> Config:
    """One random configuration; rank 2 for tf.nn (the axes drawn alike or apart), rank 1 or 2 for the layers."""
    rank = 2 if api == "nn" or rng.random() < 0.3 else 1
    first = _axis(rng, kind, api)
    # The Keras layers' rules span the axes (strides > 1 on one with dilation > 1 on another): draw them alike.
    apart = api == "nn" and rng.random() < 0.5
    axes = [first, _axis(rng, kind, api) if apart else first][:rank]
    config: Config = {"api": api, "kind": kind, **{n: [a[n] for a in axes] for n in ("i", "k", "s", "d")}}
    if api == "nn":
        modes = ["VALID", "SAME", "explicit"]
        mode = rng.choice(modes if kind != "avgpool" or rng.random() < 0.1 else modes[:2])
        config["p"] = [a["pads"] for a in axes] if mode == "explicit" else mode
        if kind in ("maxpool", "avgpool"):
            config["d"] = None
        if kind == "convT":
            outs: list[int] = []
            for a in axes:
                if outs and a is first:  # the axes drawn alike
                    outs.append(outs[0])
                    continue
                low, high = transpose_range(
                    a["i"], a["k"], a["s"], a["d"], a["pads"] if mode == "explicit" else mode
                )
                slack = 0 if rng.random() < 0.6 else 3  # mostly inside the range, often just outside
                outs.append(max(1, rng.randint(low - slack, high + slack)))
            config["o"] = outs
        return config
    modes = ["valid", "same"] + (["causal"] if kind == "conv" and rank == 1 else [])
    config["p"] = rng.choice(modes)
    if kind in ("maxpool", "avgpool"):
        config["d"] = None
        if rng.random() < 0.25:
            config["s"] = None  # the layer's default: the pool size
    elif rng.random() < 0.4:
        config["d"] = None
    if kind == "convT":
        output_padding = rng.choice((None, None, 0, 1, 2, 3))
        config["a"] = None if output_padding is None else [output_padding] * rank
    return config


def draw_many(seed: int, per_kind: int, apis: tuple[str, ...] = APIS) -> list[Config]:
    rng = random.Random(seed)
    return [draw(rng, api, kind) for api in apis for kind in KINDS for _ in range(per_kind)]


# ---------------------------------------------------------------------------------------------------------------
# Reading the outcomes

STATIC = (
    "graph_shape",
    "shape",
)  # the paths that only infer a shape: a tf.function's trace, compute_output_shape


def _static(path: str) -> bool:
    return path.split("@")[0] in STATIC


def verdict(outcome: Outcome) -> tuple[Any, ...]:
    """("ok", shape), ("refused",), ("crash", signal) or ("hang",)."""
    if "shape" in outcome:
        return ("ok", tuple(outcome["shape"]))
    if "crash" in outcome:
        return ("crash", outcome["crash"])
    if "hang" in outcome:
        return ("hang",)
    return ("refused",)


def consensus(outcomes: dict[str, Outcome]) -> tuple[Any, ...] | None:
    """What the paths say together: ("ok", shape) when every one gives that shape, ("refused",) when no path
    runs (a static shape that the run then refuses is no disagreement: the graph is built, and refused when it
    runs), None when they disagree (different shapes, or some run and others refuse or crash)."""
    runs = {verdict(o) for path, o in outcomes.items() if not _static(path)}
    static = {verdict(o) for path, o in outcomes.items() if _static(path)}
    shapes = {v for v in runs if v[0] == "ok"}
    if not shapes:
        return ("refused",)
    if len(runs) > 1 or static - runs:
        return None
    return next(iter(shapes))


def describe(outcomes: dict[str, Outcome]) -> str:
    """The paths grouped by what they said, for a report."""
    groups: dict[str, list[str]] = {}
    for path, outcome in outcomes.items():
        said = ", ".join(f"{k}={v}" for k, v in outcome.items() if k != "stage")
        groups.setdefault(said, []).append(path)
    return "; ".join(f"{'/'.join(paths)}: {said}" for said, paths in groups.items())


# ---------------------------------------------------------------------------------------------------------------
# What symconv answers for a configuration


def _axis_spec(config: Config, prefix: str, n: int) -> str:
    kind = config["kind"]
    args = [f"k={config['k'][n]}"]
    if config.get("s") is not None:
        args.append(f"s={config['s'][n]}")
    padding = config["p"]
    if isinstance(padding, str):
        args.append(f"p={padding.lower()}")
    else:
        args.append(f"p=[({padding[n][0]}, {padding[n][1]})]")
    if config.get("d") is not None:
        args.append(f"d={config['d'][n]}")
    if config.get("a") is not None:
        args.append(f"a={config['a'][n]}")
    if config.get("o") is not None:
        args.append(f"output_shape={config['o'][n]}")
    if config.get("backend") is not None:
        args.append(f"backend={config['backend']}")
    return f"{prefix}.{kind}({', '.join(args)})"


def symconv_specs(config: Config, prefix: str) -> list[str]:
    return [_axis_spec(config, prefix, n) for n in range(len(config["i"]))]


@functools.cache
def _symconv_layer(spec: str) -> Any:
    """The layer, or the error building it raised (square configurations ask for the same spec twice)."""
    import symconv

    try:
        return symconv.layer(spec)
    except symconv.SymconvError as error:
        return error


_ANSWERS: dict[tuple[str, str], Outcome] = {}


def symconv_outcome(config: Config, prefix: str) -> Outcome:
    """symconv's answer, axis by axis: the shape, or a refusal. An axis refused on every path refuses the op on
    every path, so such a refusal comes before one saying the paths disagree (stage "build": building the layer
    refused). Remembered, so that it can be computed ahead."""
    key = (json.dumps(config, sort_keys=True), prefix)
    if key not in _ANSWERS:
        _ANSWERS[key] = _answer(config, prefix)
    return _ANSWERS[key]


def _answer(config: Config, prefix: str) -> Outcome:
    import symconv

    sizes = []
    refusals = []
    for n, spec in enumerate(symconv_specs(config, prefix)):
        made = _symconv_layer(spec)
        if isinstance(made, symconv.SymconvError):
            refusals.append({"error": f"{type(made).__name__}: {made}", "stage": "build"})
            continue
        try:
            sizes.append(int(made.output_size(config["i"][n])))
        except symconv.SymconvError as error:
            refusals.append({"error": f"{type(error).__name__}: {error}"})
    if refusals:
        return min(refusals, key=lambda r: DISAGREE in r["error"])
    return {"shape": sizes}


# ---------------------------------------------------------------------------------------------------------------
# symconv against the libraries

DISAGREE = "paths disagree"
PREFIX = {"nn": "tf", "keras": "keras", "tf_keras": "tf_keras"}


def reference(config: Config, outcomes: dict[str, Outcome], backend: bool = False) -> tuple[Config, Any]:
    """(the configuration symconv is asked about, the libraries' common answer): every path for tf.nn and
    tf-keras; for Keras 3, compute_output_shape, or with `backend` the TensorFlow backend's runs, asked as
    keras.SPEC with backend=tensorflow."""
    if config["api"] != "keras":
        return config, consensus(outcomes)
    if backend:
        runs = {p: o for p, o in outcomes.items() if p.split("@")[0] in ("eager", "graph")}
        return asked(config, backend), consensus(runs) if runs else UNRUN
    shapes = {verdict(o) for p, o in outcomes.items() if p.split("@")[0] == "shape"}
    return config, (next(iter(shapes)) if len(shapes) == 1 else None) if shapes else UNRUN


UNRUN = ("unrun",)  # no path of this view ran the configuration (a subset runs the slow paths)


def asked(config: Config, backend: bool = False) -> Config:
    """The configuration symconv is asked about (Keras 3 with backend=tensorflow, where asked so)."""
    return {**config, "backend": "tensorflow"} if backend and config["api"] == "keras" else config


def symconv_answers(configs: list[Config]) -> None:
    """symconv's answers to every configuration and view, computed ahead (while the children run)."""
    for config in configs:
        for backend in (False, True) if config["api"] == "keras" else (False,):
            symconv_outcome(asked(config, backend), PREFIX[config["api"]])


def rank_gap(config: Config, theirs: Any, ours: Outcome) -> bool:
    """tf-keras runs a dilated transposed convolution by its rank (Conv2DTranspose: atrous_conv2d_transpose on
    every path; Conv1DTranspose: conv1d_transpose, whose paths disagree); symconv's layers are per axis and
    refuse it naming both."""
    dilated = config["kind"] == "convT" and config.get("d") is not None and max(config["d"]) > 1
    return (
        config["api"] == "tf_keras"
        and dilated
        and len(config["i"]) == 2
        and theirs is not None
        and theirs[0] == "ok"
        and "Conv2DTranspose runs" in ours.get("error", "")
    )


def mismatch(config: Config, outcomes: dict[str, Outcome], backend: bool = False) -> str | None:
    """Why symconv's answer differs from the libraries' (None: it matches): their shape, a refusal where
    they all refuse, a refusal saying the paths disagree where they disagree."""
    asked, theirs = reference(config, outcomes, backend)
    if theirs == UNRUN:
        return None
    prefix = PREFIX[config["api"]]
    ours = symconv_outcome(asked, prefix)
    said = verdict(ours)
    where = f"{' x '.join(symconv_specs(asked, prefix))} at i={config['i']}"
    described = describe(outcomes)
    if rank_gap(config, theirs, ours):
        return None
    if theirs is None:
        if said[0] == "ok" or DISAGREE not in ours["error"]:
            return f"{where}: the paths disagree ({described}); symconv {ours}"
        return None
    if theirs[0] == "ok":
        return None if said == theirs else f"{where}: {theirs[1]} ({described}); symconv {ours}"
    if said[0] == "ok":
        return f"{where}: refused ({described}); symconv {ours}"
    if DISAGREE in ours["error"]:
        return f"{where}: refused alike on every path ({described}); symconv says the paths disagree"
    return None


# ---------------------------------------------------------------------------------------------------------------
# The child side: a server that imports TensorFlow once and forks workers


_WRAPPERS = re.compile(
    r"in user code:|Graph execution error:|Detected at node|Exception encountered when calling|"
    r"Arguments received by|•|\[\[\{\{node"
)


def _message(error: BaseException) -> str:
    """'Class: message' with the message's meaningful line: TensorFlow and Keras wrap it in 'in user code:',
    'Exception encountered when calling ...' or 'Graph execution error:' and a stack."""
    lines = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).splitlines()
    found = ""
    after_file = False
    for raw in lines:
        line = re.sub(r"^\w+(Error|Exception): ", "", raw.strip())
        if line.startswith("File "):
            after_file = True
            continue
        if not line or after_file or _WRAPPERS.match(line):
            after_file = False
            continue
        found = line
        break
    found = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", found)
    found = re.sub(r"\s*\[Op:\w+\].*$", "", found)
    found = re.sub(r" for '\{\{node .*$", "", found)
    return f"{type(error).__name__}: {found.strip()[:300]}"


def _items(configs: list[Config]) -> list[tuple[int, str]]:
    """(configuration, path) in order: the paths a configuration lists under "paths", else all of its API's."""
    chosen = [config["paths"] if "paths" in config else paths(config) for config in configs]
    return [(n, path) for n, config_paths in enumerate(chosen) for path in config_paths]


def _serve() -> None:
    configs = json.loads(Path(sys.argv[1]).read_text())
    import tensorflow  # noqa: F401  (imported once, before the workers fork; no op runs here)

    if any(c["api"] == "keras" for c in configs):
        import keras  # noqa: F401
    if any(c["api"] == "tf_keras" for c in configs):
        import tf_keras  # noqa: F401
    items = _items(configs)
    position = 0
    while position < len(items):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            _work(configs, items[position:], write)
            os._exit(0)
        os.close(write)
        done, hung = _relay(read, position)
        os.close(read)
        if done == len(items):
            os.waitpid(pid, 0)
            break
        # The worker stopped before finishing: the item it was on crashed it, or hung.
        if hung:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        n, path = items[done]
        if hung:
            outcome: Outcome = {"hang": WORKER_TIMEOUT}
        elif os.WIFSIGNALED(status):
            outcome = {"crash": signal.Signals(os.WTERMSIG(status)).name}
        else:
            outcome = {"crash": f"exit {os.WEXITSTATUS(status)}"}
        print(json.dumps([n, path, outcome]), flush=True)
        position = done + 1


def _relay(read: int, position: int) -> tuple[int, bool]:
    """Copy the worker's lines to stdout: the index of the first item it did not finish, and whether it fell
    silent for WORKER_TIMEOUT (else it closed its pipe: it finished or died)."""
    buffer = b""
    while True:
        ready, _, _ = select.select([read], [], [], WORKER_TIMEOUT)
        if not ready:
            return position, True
        chunk = os.read(read, 1 << 16)
        if not chunk:
            return position, False
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            sys.stdout.write(line.decode() + "\n")
            position += 1
        sys.stdout.flush()


def _work(configs: list[Config], items: list[tuple[int, str]], write: int) -> None:
    import tensorflow as tf

    # One thread each: the two children share the machine, and these tensors are tiny.
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    for n, path in items:
        try:
            outcome = _run(configs[n], path)
        except Exception as error:  # every refusal is data
            outcome = {"error": _message(error)}
        os.write(write, (json.dumps([n, path, outcome]) + "\n").encode())


def _spatial(shape: Any, rank: int) -> list[int | None]:
    dims = list(shape)[1 : 1 + rank]
    return [None if v is None else int(v) for v in dims]


def _run(config: Config, path: str) -> Outcome:
    if config["api"] == "nn":
        return _nn(config, path)
    return _layer(config, path)


# tf.nn ------------------------------------------------------------------------------------------------------


def _nn_op(config: Config) -> tuple[Any, list[list[int]]]:
    """(function of the input tensors, their shapes): rank-2 NHWC ops."""
    import tensorflow as tf

    kind, i, k, s = config["kind"], config["i"], config["k"], config["s"]
    d = config.get("d") or [1, 1]
    p = config["p"]
    padding: Any = p if isinstance(p, str) else [[0, 0], *p, [0, 0]]
    strides = [1, *s, 1]
    x_shape = [1, *i, 1]
    if kind == "conv":
        return (
            lambda x, w: tf.nn.conv2d(x, w, strides, padding, dilations=[1, *d, 1]),
            [x_shape, [*k, 1, 1]],
        )
    if kind == "convT":
        out = [1, *config["o"], 1]
        return (
            lambda x, w: tf.nn.conv2d_transpose(x, w, out, strides, padding, dilations=[1, *d, 1]),
            [x_shape, [*k, 1, 1]],
        )
    pool = tf.nn.max_pool2d if kind == "maxpool" else tf.nn.avg_pool2d
    return (lambda x: pool(x, k, s, padding)), [x_shape]


def _nn(config: Config, path: str) -> Outcome:
    import numpy as np
    import tensorflow as tf

    op, shapes = _nn_op(config)
    rank = len(config["i"])
    arrays = [np.ones(shape, dtype=np.float32) for shape in shapes]
    if path == "eager":
        return {"shape": _spatial(op(*(tf.constant(a) for a in arrays)).shape, rank)}
    if path == "graph_dynamic":
        specs = [tf.TensorSpec([1, None, None, 1]), *(tf.TensorSpec(sh) for sh in shapes[1:])]
        fn = tf.function(op, input_signature=specs)
        return {"shape": _spatial(fn(*arrays).shape, rank)}
    if path == "graph_shape":
        # Building the op in a graph runs its shape function, as tracing a tf.function does, at a fifth of the
        # cost.
        with tf.Graph().as_default():
            placeholders = [tf.compat.v1.placeholder(tf.float32, shape) for shape in shapes]
            return {"shape": _spatial(op(*placeholders).shape, rank)}
    fn = tf.function(op).get_concrete_function(*(tf.TensorSpec(sh) for sh in shapes))
    return {"shape": _spatial(fn(*(tf.constant(a) for a in arrays)).shape, rank)}


# Keras 3 and tf-keras ------------------------------------------------------------------------------------------


def _make_layer(config: Config) -> Any:
    if config["api"] == "keras":
        import keras as library
    else:
        import tf_keras as library
    kind, rank = config["kind"], len(config["i"])
    k = tuple(config["k"])
    kwargs: dict[str, Any] = {"padding": config["p"]}
    if config.get("s") is not None:
        kwargs["strides"] = tuple(config["s"])
    if config.get("d") is not None and kind in ("conv", "convT"):
        kwargs["dilation_rate"] = tuple(config["d"])
    if kind == "conv":
        return getattr(library.layers, f"Conv{rank}D")(1, k, **kwargs)
    if kind == "convT":
        if config.get("a") is not None:
            kwargs["output_padding"] = tuple(config["a"])
        return getattr(library.layers, f"Conv{rank}DTranspose")(1, k, **kwargs)
    name = "MaxPooling" if kind == "maxpool" else "AveragePooling"
    return getattr(library.layers, f"{name}{rank}D")(k, **kwargs)


def _layer(config: Config, path: str) -> Outcome:
    import numpy as np
    import tensorflow as tf

    rank = len(config["i"])
    shape = (1, *config["i"], 1)
    try:
        made = _make_layer(config)
    except Exception as error:
        return {"error": _message(error), "stage": "build"}
    if path == "shape":
        return {"shape": _spatial(made.compute_output_shape(shape), rank)}
    x = np.ones(shape, dtype=np.float32)
    if path == "eager":
        return {"shape": _spatial(made(x).shape, rank)}
    # Weights built eagerly first, as a model is built before its training step is traced: creating them
    # inside the trace costs three times the trace, and the shapes do not depend on where they were made.
    made.build(shape)
    fn = tf.function(made).get_concrete_function(tf.TensorSpec(shape))
    static = _spatial(fn.structured_outputs.shape, rank)
    ran = _spatial(fn(tf.constant(x)).shape, rank)
    if static != ran:
        return {"error": f"GraphMismatch: static shape {static}, ran {ran}"}
    return {"shape": ran}


if __name__ == "__main__":
    _serve()
