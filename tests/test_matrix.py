"""Section 4.1: the convolution matrix C against brute force, the transposed convolution against C^T, the index
duality in Z3, and the gradient of the real framework's convolution against C^T and conv_transpose."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from symconv import Proved, Refuted, SpecError, layer
from symconv.logic.matrix import (
    _gradient_check,
    conv_matrix,
    conv_matrix_2d,
    gradient_matches_transpose,
    gradient_matches_transpose_2d,
    prove_index_duality,
    transposed_as_direct,
    transposed_as_direct_2d,
    weights,
)

Config = tuple[int, int, int, tuple[int, int], int]  # (i, k, s, (pb, pe), d)
PairPads = tuple[tuple[int, int], tuple[int, int]]  # ((pb, pe) of rows, (pb, pe) of columns)


@st.composite
def configs(draw: st.DrawFn) -> Config:
    """(i, k, s, (pb, pe), d) with a non-empty output."""
    k, d = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    pb, pe = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    low = max(1, d * (k - 1) + 1 - pb - pe)
    i = draw(st.integers(low, max(low, 12)))
    return i, k, draw(st.integers(1, 3)), (pb, pe), d


def brute_force(i: int, k: int, s: int, pb: int, pe: int, d: int) -> list[sympy.Expr]:
    """The convolution of symbols x0..x{i-1}, sliding the kernel over an explicit padded list."""
    w = [sympy.Symbol(f"w{r}") for r in range(k)]
    padded = [sympy.Integer(0)] * pb + [sympy.Symbol(f"x{j}") for j in range(i)] + [sympy.Integer(0)] * pe
    out = []
    start = 0
    while start + d * (k - 1) < len(padded):
        out.append(sum((w[r] * padded[start + r * d] for r in range(k)), sympy.Integer(0)))
        start += s
    return out


def brute_force_2d(
    shape: tuple[int, int],
    k: tuple[int, int],
    s: tuple[int, int],
    p: tuple[tuple[int, int], ...],
    d: tuple[int, int],
) -> list[sympy.Expr]:
    """The 2-D convolution of symbols x{y}_{x}, row-major, over an explicit padded grid."""
    (ih, iw), (kh, kw), (sh, sw), ((pbh, peh), (pbw, pew)), (dh, dw) = shape, k, s, p, d
    width = pbw + iw + pew
    zero = sympy.Integer(0)
    grid = [[zero] * width for _ in range(pbh)]
    grid += [[zero] * pbw + [sympy.Symbol(f"x{y}_{x}") for x in range(iw)] + [zero] * pew for y in range(ih)]
    grid += [[zero] * width for _ in range(peh)]
    out = []
    for top in range(0, len(grid) - dh * (kh - 1), sh):
        for left in range(0, width - dw * (kw - 1), sw):
            terms = (
                sympy.Symbol(f"w{r}_{c}") * grid[top + r * dh][left + c * dw]
                for r in range(kh)
                for c in range(kw)
            )
            out.append(sum(terms, zero))
    return out


# --------------------------------------------------------------------------------------------------------------
# Known matrices
# --------------------------------------------------------------------------------------------------------------


def test_the_papers_example_4x4_input_3x3_kernel() -> None:
    w = [[sympy.Symbol(f"w{r}_{c}") for c in range(3)] for r in range(3)]
    expected = sympy.zeros(4, 16)
    for row, (top, left) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        for r in range(3):
            for c in range(3):
                expected[row, (top + r) * 4 + left + c] = w[r][c]
    assert conv_matrix_2d((4, 4), 3) == expected
    assert transposed_as_direct_2d((4, 4), 3) == expected.T


KNOWN_1D = [
    ((4, 3), [["w0", "w1", "w2", 0], [0, "w0", "w1", "w2"]]),
    ((3, 2, 2, (1, 0)), [["w1", 0, 0], [0, "w0", "w1"]]),
    ((3, 3, 1, 1), [["w1", "w2", 0], ["w0", "w1", "w2"], [0, "w0", "w1"]]),
    ((5, 2, 2, 0, 2), [["w0", 0, "w1", 0, 0], [0, 0, "w0", 0, "w1"]]),
    # The last input is read by no window (a = 1): its column is zero.
    ((4, 2, 2), [["w0", "w1", 0, 0], [0, 0, "w0", "w1"]]),
]


@pytest.mark.parametrize(("args", "rows"), KNOWN_1D)
def test_known_1d_matrices(args: tuple[int, ...], rows: list[list[str | int]]) -> None:
    expected = sympy.Matrix([[sympy.Symbol(e) if isinstance(e, str) else e for e in row] for row in rows])
    assert conv_matrix(*args) == expected
    assert transposed_as_direct(*args) == expected.T


def test_weights_are_the_symbols_named_in_the_matrix() -> None:
    assert conv_matrix(3, 3, p=1).free_symbols == set(weights(3)) == {sympy.Symbol(f"w{r}") for r in range(3)}


# --------------------------------------------------------------------------------------------------------------
# C against brute force, C^T against the paper's direct construction
# --------------------------------------------------------------------------------------------------------------


@settings(max_examples=200)
@given(configs())
def test_transposed_convolution_is_c_transpose(config: Config) -> None:
    i, k, s, p, d = config
    c = conv_matrix(i, k, s, p, d)
    t = transposed_as_direct(i, k, s, p, d)
    assert t.shape == (i, c.rows)
    assert t == c.T


@settings(max_examples=200)
@given(configs())
def test_c_times_input_is_the_brute_force_convolution(config: Config) -> None:
    i, k, s, (pb, pe), d = config
    x = sympy.Matrix([sympy.Symbol(f"x{j}") for j in range(i)])
    expected = brute_force(i, k, s, pb, pe, d)
    product = conv_matrix(i, k, s, (pb, pe), d) * x
    assert list(product) == expected


@settings(max_examples=100)
@given(configs())
def test_the_transpose_undoes_the_shape(config: Config) -> None:
    # The engine's convT layer with output_padding a maps the forward output size back to i.
    i, k, s, (pb, pe), d = config
    c = conv_matrix(i, k, s, (pb, pe), d)
    a = (i + pb + pe - d * (k - 1) - 1) % s
    assert c.rows == layer(f"conv(k={k}, s={s}, p=[({pb}, {pe})], d={d})").output_size(i)
    assert layer(f"convT(k={k}, s={s}, p=[({pb}, {pe})], d={d}, a={a})").output_size(c.rows) == i


CASES_2D = [
    ((4, 4), (3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1)),
    ((5, 6), (2, 3), (2, 1), ((1, 0), (1, 1)), (1, 2)),
    ((3, 5), (3, 2), (1, 3), ((2, 2), (0, 1)), (2, 1)),
    ((6, 4), (2, 2), (3, 2), ((0, 1), (2, 0)), (2, 2)),
    ((1, 7), (1, 3), (2, 2), ((3, 0), (1, 1)), (1, 3)),
]


@pytest.mark.parametrize(("shape", "k", "s", "p", "d"), CASES_2D)
def test_2d_c_is_brute_force_and_its_transpose_the_direct_construction(
    shape: tuple[int, int], k: tuple[int, int], s: tuple[int, int], p: PairPads, d: tuple[int, int]
) -> None:
    c = conv_matrix_2d(shape, k, s, p, d)
    x = sympy.Matrix([sympy.Symbol(f"x{y}_{x}") for y in range(shape[0]) for x in range(shape[1])])
    assert list(c * x) == brute_force_2d(shape, k, s, p, d)
    assert transposed_as_direct_2d(shape, k, s, p, d) == c.T


def test_2d_with_square_values_equals_per_axis_pairs() -> None:
    assert conv_matrix_2d((5, 5), 3, 2, 1, 1) == conv_matrix_2d(
        (5, 5), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)
    )


# --------------------------------------------------------------------------------------------------------------
# Z3
# --------------------------------------------------------------------------------------------------------------


def test_index_duality_is_proved_for_all_integers() -> None:
    assert prove_index_duality() == Proved(scope="unbounded")


def test_the_unrotated_kernel_is_refuted() -> None:
    result = prove_index_duality(rotated=False)
    assert isinstance(result, Refuted)
    env = result.counterexample
    j, m, r, k, s, d, pb = (env[name] for name in ("j", "m", "r", "k", "s", "d", "pb"))
    forward = j == m * s - pb + r * d
    unrotated = j + r * d == d * (k - 1) - pb + m * s
    assert 0 <= r < k and s >= 1 and d >= 1 and pb >= 0 and forward != unrotated


# --------------------------------------------------------------------------------------------------------------
# The real framework: the gradient of conv is conv_transpose is C^T
# --------------------------------------------------------------------------------------------------------------


@settings(max_examples=60)
@given(configs(), st.integers(0, 2**31 - 1))
def test_torch_gradient_is_c_transpose_and_conv_transpose(config: Config, seed: int) -> None:
    pytest.importorskip("torch")
    i, k, s, (pb, pe), d = config
    assert gradient_matches_transpose(i, k, s, (pb, pe), d, seed)
    assert gradient_matches_transpose(i, k, s, max(pb, pe), d, seed)


@pytest.mark.parametrize(("shape", "k", "s", "p", "d"), CASES_2D)
def test_torch_gradient_2d(
    shape: tuple[int, int], k: tuple[int, int], s: tuple[int, int], p: PairPads, d: tuple[int, int]
) -> None:
    pytest.importorskip("torch")
    assert gradient_matches_transpose_2d(shape, k, s, p, d, seed=7)
    symmetric = (p[0][0], p[1][0])
    assert gradient_matches_transpose_2d(shape, k, s, symmetric, d, seed=11)


def test_the_gradient_check_can_fail() -> None:
    pytest.importorskip("torch")
    from symconv.logic.matrix import axis

    ax = axis(7, 3, 2, (1, 2), 1)
    w = weights(3)
    rotated = conv_matrix(7, 3, 2, (1, 2), 1).xreplace({w[0]: w[2], w[2]: w[0]})
    assert _gradient_check((ax,), conv_matrix(7, 3, 2, (1, 2), 1), list(w), seed=3)
    assert not _gradient_check((ax,), rotated, list(w), seed=3)


# --------------------------------------------------------------------------------------------------------------
# Bad input and imports
# --------------------------------------------------------------------------------------------------------------

# Some entries pass a wrong type on purpose (ignored for the type checker): the module refuses it at run time.
BAD = [
    (lambda: conv_matrix(5, 0), r"kernel size must be a positive integer \(k=0\)"),
    (lambda: conv_matrix(5, 3, s=0), r"stride must be a positive integer \(s=0\)"),
    (lambda: conv_matrix(5, 3, d=0), r"dilation must be a positive integer \(d=0\)"),
    (lambda: conv_matrix(5, 3, p=-1), r"padding must be >= 0 \(p=-1\)"),
    (lambda: conv_matrix(5, 3, p=(0, -2)), r"end padding must be >= 0 \(pe=-2\)"),
    (lambda: conv_matrix(2, 5), r"padded input must be at least the effective kernel: .*\(i=2, k=5"),
    (lambda: conv_matrix(3, 2, d=3), r"effective kernel"),
    (lambda: conv_matrix(0, 1), r"input size must be a positive integer \(i=0\)"),
    (lambda: conv_matrix(5, 2.5), r"k must be an integer, got 2.5"),  # type: ignore[arg-type]
    (lambda: conv_matrix(5, True), r"k must be an integer"),
    (lambda: conv_matrix(5, 3, p=(1, 2, 3)), r"\(begin, end\) pair"),  # type: ignore[arg-type]
    (lambda: transposed_as_direct(5, 3, s=-1), r"stride .* in transposed_as_direct\(i=5"),
    (lambda: conv_matrix_2d((5,), 3), r"shape must be a \(height, width\) pair"),  # type: ignore[arg-type]
    (lambda: conv_matrix_2d((5, 5), (3, 0)), r"kernel size .*\(width axis\)"),
    (lambda: conv_matrix_2d((2, 5), 3), r"effective kernel: .*\(height axis\)"),
    (lambda: transposed_as_direct_2d((5, 5), 3, p=(1, (0, -1))), r"end padding .*\(width axis\)"),
    (lambda: gradient_matches_transpose(5, 3, s=0), r"stride must be a positive integer"),
]


@pytest.mark.parametrize(("call", "message"), BAD)
def test_bad_input_raises_spec_error_naming_the_rule(call: Callable[[], object], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        call()


def test_importing_the_module_imports_neither_z3_nor_torch() -> None:
    code = "import sys, symconv.logic.matrix as m; m.conv_matrix(5, 3); print('z3' in sys.modules, 'torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False False"
