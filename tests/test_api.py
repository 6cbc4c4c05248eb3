"""The public face: names import, `import symconv` stays light, doc examples hold."""

from __future__ import annotations

import subprocess
import sys

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
