"""The public face: names import, `import symconv` stays light, doc examples hold."""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest
import sympy

import symconv
from symconv import ShapeError, SpecError, layer, symbol


def test_every_public_name_imports() -> None:
    for name in symconv.__all__:
        assert getattr(symconv, name) is not None


def test_import_does_not_import_z3() -> None:
    code = "import sys, symconv; symconv.layer('conv(k=3)').output_size(8); print('z3' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_spec_of_symconv_kinds_does_not_load_the_framework_constructors() -> None:
    # A cold command pays for every module it imports; nn.Conv2d(...) loads them, conv(...) need not.
    code = (
        "import sys, symconv; symconv.layer('torch.maxpool(k=2)').output_size(8);"
        " print('symconv.core.constructors' in sys.modules);"
        " symconv.layer('nn.MaxPool2d(2)').output_size(8); print('symconv.core.constructors' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True"]


def test_errors_are_value_errors() -> None:
    assert issubclass(SpecError, ValueError) and issubclass(ShapeError, ValueError)


def test_output_size_kinds() -> None:
    conv = layer("conv(k=3, s=2, p=1)")
    assert conv.output_size(224) == 112
    assert conv.output_size((224, 31)) == (112, 16)
    expr = conv.output_size(symbol("i"))
    assert isinstance(expr, sympy.Expr) and expr.subs(symbol("i"), 224) == 112


def test_symbolic_parameters_take_values() -> None:
    conv = layer("conv(k=k, s=2)")
    assert conv.output_size(10, k=3) == 4
    try:
        conv.output_size(10)
    except SpecError as error:
        assert "k" in str(error)
    else:
        raise AssertionError("a symbolic kernel without a value must be refused")


def test_paper_and_torch_padding_keywords() -> None:
    assert layer("conv(k=4, p=same)").output_size(10) == 10
    assert layer("conv(k=3, d=2, p=same)").output_size(7) == 7
    assert layer("conv(k=3, p=full)").output_size(5) == 7
    assert layer("conv(k=3, p=valid)").output_size(5) == 3


def test_pool_ceil_mode_known_reports() -> None:
    assert layer("torch.maxpool(k=1, s=2, ceil=true)").output_size(32) == 16
    assert layer("torch.maxpool(k=4, s=4, p=2, ceil=true)").output_size(9) == 3


def test_shape_errors_name_the_rule() -> None:
    try:
        layer("conv(k=5)").output_size(3)
    except ShapeError as error:
        assert "i=3" in str(error) and "k=5" in str(error)
    else:
        raise AssertionError("expected a ShapeError")


# The jobs of the command line as functions, with typed results.
def test_the_jobs_are_functions_with_typed_results() -> None:
    from symconv.core.windowmap import Window
    from symconv.logic.port import Port
    from symconv.logic.solve import Answer
    from symconv.logic.transpose import Inverse
    from symconv.nets.network import Network
    from symconv.nets.validset import ValidSet

    answer = symconv.solve("conv(k=?, s=2, p=1)", i=224, o=112)
    assert isinstance(answer, Answer) and answer.solutions == ({"k": 3}, {"k": 4})
    assert symconv.solve("conv(k=?, s=2, p=1)", i=(224, 31), o=(112, 16)).solutions == ({"k": 3},)
    inverse = symconv.invert("conv(k=3, s=2, p=1)", i=224)
    assert isinstance(inverse, Inverse) and inverse.torch["output_padding"] == 1
    assert isinstance(symconv.port("tf.conv(k=3, s=2, p=same)", "torch"), Port)
    found = symconv.windows("conv(k=3)", 5)
    assert all(isinstance(w, Window) for w in found) and found[0].reads == (0, 1, 2)
    net = symconv.network("conv(k=3, s=2) > maxpool(k=2)")
    assert isinstance(net, Network) and isinstance(net.valid_inputs()["i"], ValidSet)
    assert net.check({"i": 32}) == {"i": 7}


def test_a_proof_is_one_of_three_types() -> None:
    i = symbol("i")
    assert isinstance(symconv.prove("floor(i/s) <= ceil(i/s)", ["s >= 1"]), symconv.Proved)
    refuted = symconv.prove("floor(i/s) == ceil(i/s)", ["s >= 1"])
    assert isinstance(refuted, symconv.Refuted) and refuted.counterexample["s"] >= 1
    assert isinstance(symconv.prove(i * i >= 0), symconv.Proved)
    assert isinstance(symconv.prove("conv(k=3, s=1, p=1)(i) == i", ["i >= 1"]), symconv.Proved)
    assert isinstance(symconv.prove("i*i >= 0", bound=5), symconv.Proved)


def test_result_types_are_built_by_keyword_only() -> None:
    # Positionally, Refuted(point, reason) and Unknown(reason, seconds) would be easy to build wrong.
    from symconv.core.windowmap import Window
    from symconv.logic.port import Port
    from symconv.logic.solve import Answer
    from symconv.logic.transpose import Inverse
    from symconv.nets.receptive import Field

    assert symconv.Refuted(counterexample={"i": 1}, reason="r").counterexample == {"i": 1}
    assert symconv.Unknown(reason="r").reason == "r"
    assert Window(j=0, positions=(0,), taps=(0,), holds=("input",)).reads == (0,)
    for kind, arguments in [
        (symconv.Proved, ("unbounded",)),
        (symconv.Refuted, ({"i": 1}, "r")),
        (symconv.Unknown, ("r",)),
        (Answer, (("k",), (), True, 0)),
        (Window, (0, (0,), (0,), ("input",))),
        (Port, (layer("conv(k=3)"), "torch", "none", None, None, ())),
        (Inverse, (None,) * 12),
        (Field, (1, 1, 0, True, False)),
    ]:
        with pytest.raises(TypeError, match="positional"):
            kind(*arguments)


def test_symconv_prove_is_the_function() -> None:
    """The API functions own the short names; their modules live in the subpackages, so importing one never
    rebinds a function and symconv/ has no module of that name (`import symconv.logic.prove` finds none)."""
    import symconv.logic.port
    import symconv.logic.prove as module
    import symconv.logic.solve
    import symconv.nets.network

    assert isinstance(module, types.ModuleType) and callable(module.prove)
    package = Path(symconv.__file__).parent
    for name in ("prove", "solve", "network", "port"):
        assert getattr(symconv, name) is getattr(symconv.api, name)
        assert not (package / f"{name}.py").exists() and not (package / name).is_dir()


# Wrong types on purpose: the API refuses them at run time, whatever a type checker would say.
BAD_CALLS: list[tuple[Callable[[], object], str]] = [
    (lambda: symconv.prove(3), "the claim must be a condition"),
    (lambda: symconv.prove(symbol("i") + 1), "the claim must be a condition"),
    (lambda: symconv.prove("i >= 0", "i >= 1"), "given takes a list of conditions"),
    (lambda: symconv.prove("i + 1"), "expected a condition"),
    (lambda: symconv.prove("i >= 0", bound=0), "bound must be a positive integer"),
    (lambda: layer("conv(k=k, s=2)").output_size(10, k=3, z=5), "no symbolic parameter z"),
    (lambda: layer("conv(k=3, s=2)").output_size(10, k=5), "no symbolic parameter k"),
    (lambda: layer(3), "a layer spec must be text, got int"),  # type: ignore[arg-type]
    (lambda: symconv.invert("conv(k=3)", i=2.5), "the input size i must be an integer, got 2.5"),  # type: ignore[arg-type]
    (lambda: symconv.invert("conv(k=3)", i=True), "the input size i must be an integer"),
    (lambda: symconv.port("conv(k=3)", "mxnet"), "unknown framework 'mxnet'"),
    (lambda: symconv.windows("conv(k=3)", "5"), "the input size i must be an integer"),  # type: ignore[arg-type]
    (lambda: symconv.solve("conv(k=?, s=2, p=1)", i=224, where="k > 1"), "where takes a list of conditions"),
]


def test_bad_input_to_the_api_raises() -> None:
    for call, fragment in BAD_CALLS:
        try:
            call()
        except SpecError as error:
            assert fragment in str(error), (fragment, str(error))
        else:
            raise AssertionError(f"no SpecError for: {fragment}")


def test_numpy_integers_are_integers() -> None:

    np = pytest.importorskip("numpy")
    assert layer("conv(k=3, s=2, p=1)").output_size(np.int64(224)) == 112
    assert layer("conv(k=k, s=2)").output_size(np.int32(10), k=np.int64(3)) == 4
    assert symconv.invert("conv(k=3, s=2, p=1)", i=np.int16(224)).i == 224


def test_layer_is_kept_per_spec_text() -> None:
    assert layer("conv(k=3, s=2, p=1)") is layer("conv(k=3, s=2, p=1)")


def test_every_result_type_is_public_and_is_what_the_functions_return() -> None:
    assert isinstance(symconv.solve("conv(k=?, s=2, p=1)", i=224, o=112), symconv.Answer)
    assert isinstance(symconv.invert("conv(k=3, s=2, p=1)", i=224), symconv.Inverse)
    assert isinstance(symconv.port("conv(k=3)", "torch"), symconv.Port)
    assert isinstance(symconv.windows("conv(k=3)", 5)[0], symconv.Window)
    net = symconv.network("conv(k=3) > maxpool(k=2)")
    assert isinstance(net, symconv.Network)
    table = symconv.table(net)
    assert isinstance(table, symconv.Table) and isinstance(table.rows[0], symconv.Row)


def test_api_errors_speak_of_the_call_not_of_command_line_options() -> None:
    with pytest.raises(SpecError, match=r"nothing to solve: .*input or the output size unknown") as info:
        symconv.solve("conv(k=3, s=2, p=1)", i=10, o=5)
    assert "--" not in str(info.value)


def test_network_check_names_a_wrong_axis_and_stops_its_sizes_at_the_failing_node() -> None:
    net = symconv.network("conv(k=3, s=2, p=1) > maxpool(k=2) > conv(k=1)")
    with pytest.raises(SpecError, match=r"the network's axes are i \(H is not an axis of it\)"):
        net.check({"H": 32})
    with pytest.raises(ShapeError) as info:
        net.check({"i": 2})
    assert str(info.value).startswith("node n2 (maxpool(k=2))")
    assert str(info.value).endswith("(sizes: input=2, n1=1)")


def test_an_input_shape_is_taken_as_the_command_line_writes_it() -> None:
    chain = "conv(k=3, s=2) > maxpool(k=2)"
    text = symconv.network(chain, input_shape="1,3,H,W")
    listed = symconv.network(chain, input_shape=(1, 3, "H", "W"))
    assert text.dims == listed.dims == ("H", "W")
    assert text.output_size() == listed.output_size()
    fixed = symconv.network(chain, input_shape="1, 3, 32, W")
    assert fixed.output_size()["H"] == 7
    for wrong in (5, b"1,3,H,W", (1, 3, None, "W"), (1, 3, 2.5, "W")):
        with pytest.raises(SpecError, match="input_shape takes a sequence"):
            symconv.network(chain, input_shape=wrong)  # type: ignore[arg-type]
