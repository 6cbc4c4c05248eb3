"""SymPy -> Z3, exact, one method per node kind; an unknown node raises UnsupportedError, never guesses.

Z3's integer ``/`` and ``%`` are Euclidean: they equal floor division only for a positive divisor. A positive
constant divisor is translated to Z3's operators directly; any other divisor gets an explicit quotient q with
``b*q <= a < b*q + b`` (b > 0) or ``b*q >= a > b*q + b`` (b < 0), plus the obligation b != 0, so the translation
agrees with SymPy and Python for every sign.

Terms are built with Z3's C functions called directly (`_Builder`), on plain pointers: the Python API checks and
coerces every argument, checks Z3's error code after every call and wraps every term in an object that takes and
releases a reference (six foreign calls a node), which cost more than the proof itself on the small queries of the
corpus. Each term built is kept alive by one AST vector per translation (one foreign call a node) and released with
it; only the terms a caller receives are wrapped. The terms are the same: z3.Sum is Z3_mk_add, ``a <= b`` is
Z3_mk_le, and so on.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sympy
import z3
from z3.z3types import Ast

from ..core.arith import quotient_parts
from ..core.errors import UnsupportedError

# Z3's context is created once per process; creating it here, with the import of z3, keeps that one-time cost
# (10-20 ms) out of the first query's time.
_MAIN = z3.main_ctx()
_MAIN_INT = z3.IntSort(_MAIN)
_SMALL = 1024

# A term as the builder handles it: the address of a Z3 AST.
Pointer = int
_P, _U = ctypes.c_void_p, ctypes.c_uint


def _address(obj: Any) -> Pointer:
    """The address inside one of z3's ctypes handles."""
    return int(obj.value)


def _handle(address: Pointer) -> Ast:
    """z3's handle of the AST at `address` (z3 passes the handle's value to C, not its _as_parameter_)."""
    handle = Ast(address)
    handle.value = address
    return handle


def _c(wrapper: Callable[..., Any], *argtypes: type) -> Callable[..., Any]:
    """The C function behind one of z3core's wrappers (each keeps it as its last default argument), declared
    on plain addresses: a call converts no argument and checks no error code (a null result is the error)."""
    function = wrapper.__defaults__[-1].f  # type: ignore[index]
    return ctypes.CFUNCTYPE(_P, *argtypes)(_address(ctypes.cast(function, _P)))


# Array types of addresses by length (made once: `c_void_p * n` looks its type up on every call).
_ARRAYS = [_P * n for n in range(17)]
_MK_ADD = _c(z3.Z3_mk_add, _P, _U, _P)
_MK_MUL = _c(z3.Z3_mk_mul, _P, _U, _P)
_MK_SUB = _c(z3.Z3_mk_sub, _P, _U, _P)
_MK_AND = _c(z3.Z3_mk_and, _P, _U, _P)
_MK_OR = _c(z3.Z3_mk_or, _P, _U, _P)
_MK_DISTINCT = _c(z3.Z3_mk_distinct, _P, _U, _P)
_MK_MINUS = _c(z3.Z3_mk_unary_minus, _P, _P)
_MK_NOT = _c(z3.Z3_mk_not, _P, _P)
_MK_DIV = _c(z3.Z3_mk_div, _P, _P, _P)
_MK_MOD = _c(z3.Z3_mk_mod, _P, _P, _P)
_MK_IMPLIES = _c(z3.Z3_mk_implies, _P, _P, _P)
_MK_ITE = _c(z3.Z3_mk_ite, _P, _P, _P, _P)
_MK_NUMERAL = _c(z3.Z3_mk_numeral, _P, ctypes.c_char_p, _P)
_VECTOR_PUSH = _c(z3.Z3_ast_vector_push, _P, _P, _P)
_RELATIONS: dict[type, Callable[..., Any]] = {
    sympy.Eq: _c(z3.Z3_mk_eq, _P, _P, _P),
    sympy.Lt: _c(z3.Z3_mk_lt, _P, _P, _P),
    sympy.Le: _c(z3.Z3_mk_le, _P, _P, _P),
    sympy.Gt: _c(z3.Z3_mk_gt, _P, _P, _P),
    sympy.Ge: _c(z3.Z3_mk_ge, _P, _P, _P),
}


# Z3 terms are hash-consed and immutable: the same name or number is the same term in every query, so the
# integer constants and small numerals of the main context are made once per process (each costs several
# Python API calls, a noticeable part of translating a small theorem). The cache holds a reference to each.
@lru_cache(maxsize=4096)
def _constant(name: str) -> z3.ArithRef:
    return z3.Int(name, _MAIN)


@lru_cache(maxsize=2 * _SMALL + 1)
def _numeral(value: int) -> tuple[z3.ArithRef, Pointer]:
    term = z3.IntNumRef(z3.Z3_mk_numeral(_MAIN.ref(), str(value), z3.IntSort(_MAIN).ast), _MAIN)
    return term, _address(term.as_ast())


class _Builder:
    """Z3 terms from Z3 terms through the C API: integer arithmetic, comparisons and connectives, on
    addresses. Every term made is pushed on `kept` (a reference held until the builder is collected)."""

    def __init__(self, ctx: z3.Context) -> None:
        self.ctx = ctx
        self.ref = ctx.ref()
        self.c = _address(self.ref)
        self._int = _MAIN_INT if ctx is _MAIN else z3.IntSort(ctx)
        self.int_sort = _address(self._int.ast)
        self.kept = z3.AstVector(ctx=ctx)
        self._vector = _address(self.kept.vector)

    def _made(self, address: Pointer | None) -> Pointer:
        # A new term is held only as the context's last result until the next call: keep it first.
        if not address:
            raise z3.Z3Exception(z3.Z3_get_error_msg(self.ref, z3.Z3_get_error_code(self.ref)))
        _VECTOR_PUSH(self.c, self._vector, address)
        return address

    def arith(self, address: Pointer) -> z3.ArithRef:
        return z3.ArithRef(_handle(address), self.ctx)

    def boolean(self, address: Pointer) -> z3.BoolRef:
        return z3.BoolRef(_handle(address), self.ctx)

    def constant(self, name: str) -> z3.ArithRef:
        return _constant(name) if self.ctx is _MAIN else z3.Int(name, self.ctx)

    def value(self, value: int) -> Pointer:
        if self.ctx is _MAIN and -_SMALL <= value <= _SMALL:
            return _numeral(value)[1]
        return self._made(_MK_NUMERAL(self.c, str(value).encode(), self.int_sort))

    def _nary(self, make: Callable[..., Any], terms: list[Pointer]) -> Pointer:
        n = len(terms)
        return self._made(make(self.c, n, (_ARRAYS[n] if n < len(_ARRAYS) else _P * n)(*terms)))

    def add(self, terms: list[Pointer]) -> Pointer:
        return terms[0] if len(terms) == 1 else self._nary(_MK_ADD, terms)

    def mul(self, terms: list[Pointer]) -> Pointer:
        return terms[0] if len(terms) == 1 else self._nary(_MK_MUL, terms)

    def sub(self, a: Pointer, b: Pointer) -> Pointer:
        return self._nary(_MK_SUB, [a, b])

    def neg(self, term: Pointer) -> Pointer:
        return self._made(_MK_MINUS(self.c, term))

    def div(self, a: Pointer, b: Pointer) -> Pointer:
        return self._made(_MK_DIV(self.c, a, b))

    def mod(self, a: Pointer, b: Pointer) -> Pointer:
        return self._made(_MK_MOD(self.c, a, b))

    def ite(self, test: Pointer, then: Pointer, otherwise: Pointer) -> Pointer:
        return self._made(_MK_ITE(self.c, test, then, otherwise))

    def relation(self, kind: type, a: Pointer, b: Pointer) -> Pointer:
        if kind is sympy.Ne:
            return self._nary(_MK_DISTINCT, [a, b])
        return self._made(_RELATIONS[kind](self.c, a, b))

    def conjunction(self, terms: list[Pointer]) -> Pointer:
        return self._nary(_MK_AND, terms)

    def disjunction(self, terms: list[Pointer]) -> Pointer:
        return self._nary(_MK_OR, terms)

    def negation(self, term: Pointer) -> Pointer:
        return self._made(_MK_NOT(self.c, term))

    def implies(self, a: Pointer, b: Pointer) -> Pointer:
        return self._made(_MK_IMPLIES(self.c, a, b))

    def kept_term(self, term: z3.ExprRef) -> Pointer:
        """The address of a term made through the Python API, kept as long as the builder."""
        return self._made(_address(term.as_ast()))

    def truth(self, value: bool) -> Pointer:
        return self.kept_term(z3.BoolVal(value, self.ctx))


@dataclass
class Translation:
    """Translates expressions into one Z3 problem: shared variables, quotient axioms and obligations."""

    variables: dict[str, z3.ArithRef] = field(default_factory=dict)
    # The quotient axioms and the obligations (divisors nonzero), as addresses; `axioms` and `obligations`
    # wrap them.
    axiom_parts: list[Pointer] = field(default_factory=list)
    obligation_parts: list[Pointer] = field(default_factory=list)
    _quotients: dict[tuple[sympy.Expr, sympy.Expr], Pointer] = field(default_factory=dict)
    # Translated subterms: a network's conditions repeat its nodes' sizes, and each Z3 call costs about a
    # microsecond, so a shared subterm is translated once (Z3 terms are immutable, safe to share).
    _terms: dict[sympy.Basic, Pointer] = field(default_factory=dict)
    _addresses: dict[str, Pointer] = field(default_factory=dict)
    _z3: _Builder = field(default_factory=lambda: _Builder(z3.main_ctx()))

    @property
    def axioms(self) -> list[z3.BoolRef]:
        return [self._z3.boolean(part) for part in self.axiom_parts]

    @property
    def obligations(self) -> list[z3.BoolRef]:
        return [self._z3.boolean(part) for part in self.obligation_parts]

    def variable(self, name: str) -> z3.ArithRef:
        if name not in self.variables:
            term = self.variables[name] = self._z3.constant(name)
            self._addresses[name] = _address(term.as_ast())
        return self.variables[name]

    def _variable(self, name: str) -> Pointer:
        address = self._addresses.get(name)
        if address is None:
            self.variable(name)
            address = self._addresses[name]
        return address

    def quotient(self, num: sympy.Expr, den: sympy.Expr) -> z3.ArithRef:
        """floor(num / den) for a polynomial num and den."""
        return self._z3.arith(self._quotient(num, den))

    def _quotient(self, num: sympy.Expr, den: sympy.Expr) -> Pointer:
        z = self._z3
        if isinstance(den, sympy.Integer):
            if den == 0:
                raise UnsupportedError(f"division by zero in {num}/{den}")
            if den < 0:
                num, den = -num, -den
            return self._term(num) if den == 1 else z.div(self._term(num), z.value(int(den)))
        key = (num, den)
        if key not in self._quotients:
            a, b = self._term(num), self._term(den)
            q = z.kept_term(z.constant(f"_q{len(self._quotients)}"))
            zero = z.value(0)
            bq = z.mul([b, q])
            bq_b = z.add([bq, b])
            positive = z.conjunction([z.relation(sympy.Le, bq, a), z.relation(sympy.Lt, a, bq_b)])
            negative = z.conjunction([z.relation(sympy.Ge, bq, a), z.relation(sympy.Gt, a, bq_b)])
            self.axiom_parts.append(z.implies(z.relation(sympy.Gt, b, zero), positive))
            self.axiom_parts.append(z.implies(z.relation(sympy.Lt, b, zero), negative))
            self.obligation_parts.append(z.relation(sympy.Ne, b, zero))
            self._quotients[key] = q
        return self._quotients[key]

    def term(self, expr: sympy.Basic) -> z3.ArithRef:
        return self._z3.arith(self._term(expr))

    def _term(self, expr: sympy.Basic) -> Pointer:
        cached = self._terms.get(expr)
        if cached is None:
            cached = self._terms[expr] = self._new_term(expr)
        return cached

    def _new_term(self, expr: sympy.Basic) -> Pointer:
        z = self._z3
        if isinstance(expr, sympy.Integer):
            return z.value(int(expr))
        if isinstance(expr, sympy.Symbol):
            return self._variable(expr.name)
        if isinstance(expr, sympy.Add):
            return z.add([self._term(arg) for arg in expr.args])
        if isinstance(expr, sympy.Mul):
            for a in expr.args:
                if (isinstance(a, sympy.Rational) and not a.is_Integer) or (
                    isinstance(a, sympy.Pow) and a.exp.is_negative
                ):
                    raise UnsupportedError(f"a fraction outside floor/ceiling: {expr}")
            return z.mul([self._term(arg) for arg in expr.args])
        if isinstance(expr, sympy.Pow):
            exponent = expr.exp
            if not (isinstance(exponent, sympy.Integer) and exponent >= 0):
                raise UnsupportedError(f"a power with a non-natural exponent: {expr}")
            base = self._term(expr.base)
            return z.mul([base] * int(exponent)) if exponent > 0 else z.value(1)
        if isinstance(expr, sympy.floor):
            return self._quotient(*quotient_parts(expr.args[0]))
        if isinstance(expr, sympy.ceiling):
            num, den = quotient_parts(expr.args[0])
            return z.neg(self._quotient(sympy.expand(-num), den))
        if isinstance(expr, sympy.Mod):
            a, b = expr.args
            if isinstance(b, sympy.Integer) and b > 0:
                return z.mod(self._term(a), z.value(int(b)))
            num, den = quotient_parts(a / b)
            return z.sub(self._term(a), z.mul([self._term(b), self._quotient(num, den)]))
        if isinstance(expr, sympy.Min | sympy.Max):
            return self._extremum(expr)
        if isinstance(expr, sympy.Abs):
            x = self._term(expr.args[0])
            return z.ite(z.relation(sympy.Ge, x, z.value(0)), x, z.neg(x))
        if isinstance(expr, sympy.Piecewise):
            return self._piecewise(expr)
        if isinstance(expr, sympy.Rational):
            raise UnsupportedError(f"a fraction outside floor/ceiling: {expr}")
        raise UnsupportedError(f"no Z3 translation for the node {type(expr).__name__}: {expr}")

    def _extremum(self, expr: sympy.Basic) -> Pointer:
        z = self._z3
        args = [self._term(arg) for arg in expr.args]
        better = sympy.Lt if isinstance(expr, sympy.Min) else sympy.Gt
        result = args[0]
        for arg in args[1:]:
            result = z.ite(z.relation(better, arg, result), arg, result)
        return result

    def _piecewise(self, expr: sympy.Piecewise) -> Pointer:
        *pieces, (last_value, last_condition) = expr.args
        if last_condition is not sympy.true:
            raise UnsupportedError(f"a Piecewise without a final True branch: {expr}")
        result = self._term(last_value)
        for value, condition in reversed(pieces):
            result = self._z3.ite(self._boolean(condition), self._term(value), result)
        return result

    def boolean(self, expr: sympy.Basic) -> z3.BoolRef:
        return self._z3.boolean(self._boolean(expr))

    def _boolean(self, expr: sympy.Basic) -> Pointer:
        cached = self._terms.get(expr)
        if cached is None:
            cached = self._terms[expr] = self._new_boolean(expr)
        return cached

    def _new_boolean(self, expr: sympy.Basic) -> Pointer:
        z = self._z3
        if expr is sympy.true or expr is True:
            return z.truth(True)
        if expr is sympy.false or expr is False:
            return z.truth(False)
        if type(expr) in _RELATIONS or type(expr) is sympy.Ne:
            return z.relation(type(expr), self._term(expr.lhs), self._term(expr.rhs))
        if isinstance(expr, sympy.And):
            return z.conjunction([self._boolean(arg) for arg in expr.args])
        if isinstance(expr, sympy.Or):
            return z.disjunction([self._boolean(arg) for arg in expr.args])
        if isinstance(expr, sympy.Not):
            return z.negation(self._boolean(expr.args[0]))
        if isinstance(expr, sympy.Implies):
            return z.implies(self._boolean(expr.args[0]), self._boolean(expr.args[1]))
        if isinstance(expr, sympy.ITE):
            test, then, otherwise = (self._boolean(arg) for arg in expr.args)
            return z.ite(test, then, otherwise)
        raise UnsupportedError(f"no Z3 translation for the condition {type(expr).__name__}: {expr}")

    def conditions(self, exprs: Iterable[sympy.Basic]) -> list[z3.BoolRef]:
        return [self.boolean(expr) for expr in exprs]

    def definition(self, name: str, value: sympy.Basic) -> z3.BoolRef:
        """name == value, the premise that names a defined expression."""
        return self._z3.boolean(self.definition_part(name, value))

    def definition_part(self, name: str, value: sympy.Basic) -> Pointer:
        """`definition`, not wrapped (an address, as `parts`)."""
        return self._z3.relation(sympy.Eq, self._variable(name), self._term(value))

    def conjunction(self, terms: list[z3.BoolRef]) -> z3.BoolRef:
        z = self._z3
        return z.boolean(z.conjunction([_address(term.as_ast()) for term in terms]))

    def parts(self, exprs: Iterable[sympy.Basic]) -> list[Pointer]:
        """The conditions translated but not wrapped (addresses, alive as long as the translation), for
        `all_of` and `refutation`: a wrapper costs a reference taken and released, a fifth of translating a
        condition."""
        return [self._boolean(expr) for expr in exprs]

    def all_of(self, parts: Iterable[Pointer]) -> z3.BoolRef:
        """p1 and p2 and ..., from addresses (`parts`, `definition_part`, `axiom_parts`)."""
        return self._z3.boolean(self._z3.conjunction(list(parts)))

    def refutation(self, parts: Iterable[Pointer]) -> z3.BoolRef:
        """not (p1 and p2 and ...), from addresses."""
        z = self._z3
        return z.boolean(z.negation(z.conjunction(list(parts))))

    def negation(self, term: z3.BoolRef) -> z3.BoolRef:
        z = self._z3
        return z.boolean(z.negation(_address(term.as_ast())))

    def box(self, names: Iterable[str], n: int) -> list[z3.BoolRef]:
        """-n <= x <= n for each named variable."""
        z = self._z3
        low, high = z.value(-n), z.value(n)
        return [
            z.boolean(
                z.conjunction(
                    [
                        z.relation(sympy.Ge, self._variable(name), low),
                        z.relation(sympy.Le, self._variable(name), high),
                    ]
                )
            )
            for name in names
        ]
