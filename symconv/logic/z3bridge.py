"""SymPy -> Z3, exact, one method per node kind; an unknown node raises UnsupportedError, never guesses.

Z3's integer ``/`` and ``%`` are Euclidean: they equal floor division only for a positive divisor. A positive
constant divisor is translated to Z3's operators directly; any other divisor gets an explicit quotient q with
``b*q <= a < b*q + b`` (b > 0) or ``b*q >= a > b*q + b`` (b < 0), plus the obligation b != 0, so the translation
agrees with SymPy and Python for every sign.

Terms are built with Z3's C API (`_Builder`) rather than its Python operators: those check and coerce every
argument (several API calls per node), which cost more than the proof itself on the small queries of the
corpus. The terms are the same: z3.Sum is Z3_mk_add, ``a <= b`` is Z3_mk_le, and so on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import sympy
import z3

from ..core.arith import quotient_parts
from ..core.errors import UnsupportedError

# Z3's context is created once per process; creating it here, with the import of z3, keeps that one-time cost
# (10-20 ms) out of the first query's time.
_MAIN = z3.main_ctx()
_SMALL = 1024


# Z3 terms are hash-consed and immutable: the same name or number is the same term in every query, so the
# integer constants and small numerals of the main context are made once per process (each costs several
# Python API calls, a noticeable part of translating a small theorem).
@lru_cache(maxsize=4096)
def _constant(name: str) -> z3.ArithRef:
    return z3.Int(name, _MAIN)


@lru_cache(maxsize=2 * _SMALL + 1)
def _numeral(value: int) -> z3.ArithRef:
    return z3.IntNumRef(z3.Z3_mk_numeral(_MAIN.ref(), str(value), z3.IntSort(_MAIN).ast), _MAIN)


class _Builder:
    """Z3 terms from Z3 terms through the C API: integer arithmetic, comparisons and connectives."""

    def __init__(self, ctx: z3.Context) -> None:
        self.ctx = ctx
        self.ref = ctx.ref()
        self.int_sort = z3.IntSort(ctx).ast

    def _array(self, terms: list[z3.ExprRef]) -> z3.Ast:
        array = (z3.Ast * len(terms))()
        for index, term in enumerate(terms):
            array[index] = term.as_ast()
        return array

    def constant(self, name: str) -> z3.ArithRef:
        return _constant(name) if self.ctx is _MAIN else z3.Int(name, self.ctx)

    def arith(self, ast: z3.Ast) -> z3.ArithRef:
        return z3.ArithRef(ast, self.ctx)

    def boolean(self, ast: z3.Ast) -> z3.BoolRef:
        return z3.BoolRef(ast, self.ctx)

    def value(self, value: int) -> z3.ArithRef:
        if self.ctx is _MAIN and -_SMALL <= value <= _SMALL:
            return _numeral(value)
        return z3.IntNumRef(z3.Z3_mk_numeral(self.ref, str(value), self.int_sort), self.ctx)

    def add(self, terms: list[z3.ArithRef]) -> z3.ArithRef:
        return (
            terms[0]
            if len(terms) == 1
            else self.arith(z3.Z3_mk_add(self.ref, len(terms), self._array(terms)))
        )

    def mul(self, terms: list[z3.ArithRef]) -> z3.ArithRef:
        return (
            terms[0]
            if len(terms) == 1
            else self.arith(z3.Z3_mk_mul(self.ref, len(terms), self._array(terms)))
        )

    def sub(self, a: z3.ArithRef, b: z3.ArithRef) -> z3.ArithRef:
        return self.arith(z3.Z3_mk_sub(self.ref, 2, self._array([a, b])))

    def neg(self, term: z3.ArithRef) -> z3.ArithRef:
        return self.arith(z3.Z3_mk_unary_minus(self.ref, term.as_ast()))

    def div(self, a: z3.ArithRef, b: z3.ArithRef) -> z3.ArithRef:
        return self.arith(z3.Z3_mk_div(self.ref, a.as_ast(), b.as_ast()))

    def mod(self, a: z3.ArithRef, b: z3.ArithRef) -> z3.ArithRef:
        return self.arith(z3.Z3_mk_mod(self.ref, a.as_ast(), b.as_ast()))

    def ite(self, test: z3.BoolRef, then: z3.ExprRef, otherwise: z3.ExprRef) -> z3.ExprRef:
        ast = z3.Z3_mk_ite(self.ref, test.as_ast(), then.as_ast(), otherwise.as_ast())
        return self.boolean(ast) if isinstance(then, z3.BoolRef) else self.arith(ast)

    def relation(self, kind: type, a: z3.ArithRef, b: z3.ArithRef) -> z3.BoolRef:
        if kind is sympy.Ne:
            return self.boolean(z3.Z3_mk_distinct(self.ref, 2, self._array([a, b])))
        return self.boolean(_RELATIONS[kind](self.ref, a.as_ast(), b.as_ast()))

    def conjunction(self, terms: list[z3.BoolRef]) -> z3.BoolRef:
        return self.boolean(z3.Z3_mk_and(self.ref, len(terms), self._array(terms)))

    def disjunction(self, terms: list[z3.BoolRef]) -> z3.BoolRef:
        return self.boolean(z3.Z3_mk_or(self.ref, len(terms), self._array(terms)))

    def negation(self, term: z3.BoolRef) -> z3.BoolRef:
        return self.boolean(z3.Z3_mk_not(self.ref, term.as_ast()))

    def implies(self, a: z3.BoolRef, b: z3.BoolRef) -> z3.BoolRef:
        return self.boolean(z3.Z3_mk_implies(self.ref, a.as_ast(), b.as_ast()))


_RELATIONS = {
    sympy.Eq: z3.Z3_mk_eq,
    sympy.Lt: z3.Z3_mk_lt,
    sympy.Le: z3.Z3_mk_le,
    sympy.Gt: z3.Z3_mk_gt,
    sympy.Ge: z3.Z3_mk_ge,
}


@dataclass
class Translation:
    """Translates expressions into one Z3 problem: shared variables, quotient axioms and obligations."""

    variables: dict[str, z3.ArithRef] = field(default_factory=dict)
    axioms: list[z3.BoolRef] = field(default_factory=list)
    obligations: list[z3.BoolRef] = field(default_factory=list)
    _quotients: dict[tuple[sympy.Expr, sympy.Expr], z3.ArithRef] = field(default_factory=dict)
    # Translated subterms: a network's conditions repeat its nodes' sizes, and each Z3 call through the Python
    # API costs microseconds, so a shared subterm is translated once (Z3 terms are immutable, safe to share).
    _terms: dict[sympy.Basic, z3.ExprRef] = field(default_factory=dict)
    _z3: _Builder = field(default_factory=lambda: _Builder(z3.main_ctx()))

    def variable(self, name: str) -> z3.ArithRef:
        if name not in self.variables:
            self.variables[name] = self._z3.constant(name)
        return self.variables[name]

    def quotient(self, num: sympy.Expr, den: sympy.Expr) -> z3.ArithRef:
        """floor(num / den) for a polynomial num and den."""
        if isinstance(den, sympy.Integer):
            if den == 0:
                raise UnsupportedError(f"division by zero in {num}/{den}")
            if den < 0:
                num, den = -num, -den
            return self.term(num) if den == 1 else self._z3.div(self.term(num), self._z3.value(int(den)))
        key = (num, den)
        if key not in self._quotients:
            z, a, b = self._z3, self.term(num), self.term(den)
            q = self._z3.constant(f"_q{len(self._quotients)}")
            zero = z.value(0)
            bq = z.mul([b, q])
            bq_b = z.add([bq, b])
            positive = z.conjunction([z.relation(sympy.Le, bq, a), z.relation(sympy.Lt, a, bq_b)])
            negative = z.conjunction([z.relation(sympy.Ge, bq, a), z.relation(sympy.Gt, a, bq_b)])
            self.axioms.append(z.implies(z.relation(sympy.Gt, b, zero), positive))
            self.axioms.append(z.implies(z.relation(sympy.Lt, b, zero), negative))
            self.obligations.append(z.relation(sympy.Ne, b, zero))
            self._quotients[key] = q
        return self._quotients[key]

    def term(self, expr: sympy.Basic) -> z3.ArithRef:
        cached = self._terms.get(expr)
        if cached is None:
            cached = self._terms[expr] = self._term(expr)
        return cached

    def _term(self, expr: sympy.Basic) -> z3.ArithRef:
        z = self._z3
        if isinstance(expr, sympy.Integer):
            return z.value(int(expr))
        if isinstance(expr, sympy.Symbol):
            return self.variable(expr.name)
        if isinstance(expr, sympy.Add):
            return z.add([self.term(arg) for arg in expr.args])
        if isinstance(expr, sympy.Mul):
            if any(isinstance(a, sympy.Rational) and not a.is_Integer for a in expr.args) or any(
                isinstance(a, sympy.Pow) and a.exp.is_negative for a in expr.args
            ):
                raise UnsupportedError(f"a fraction outside floor/ceiling: {expr}")
            return z.mul([self.term(arg) for arg in expr.args])
        if isinstance(expr, sympy.Pow):
            exponent = expr.exp
            if not (isinstance(exponent, sympy.Integer) and exponent >= 0):
                raise UnsupportedError(f"a power with a non-natural exponent: {expr}")
            base = self.term(expr.base)
            return z.mul([base] * int(exponent)) if exponent > 0 else z.value(1)
        if isinstance(expr, sympy.floor):
            return self.quotient(*quotient_parts(expr.args[0]))
        if isinstance(expr, sympy.ceiling):
            num, den = quotient_parts(expr.args[0])
            return z.neg(self.quotient(sympy.expand(-num), den))
        if isinstance(expr, sympy.Mod):
            a, b = expr.args
            if isinstance(b, sympy.Integer) and b > 0:
                return z.mod(self.term(a), z.value(int(b)))
            num, den = quotient_parts(a / b)
            return z.sub(self.term(a), z.mul([self.term(b), self.quotient(num, den)]))
        if isinstance(expr, sympy.Min | sympy.Max):
            return self._extremum(expr)
        if isinstance(expr, sympy.Abs):
            x = self.term(expr.args[0])
            return z.ite(z.relation(sympy.Ge, x, z.value(0)), x, z.neg(x))
        if isinstance(expr, sympy.Piecewise):
            return self._piecewise(expr)
        if isinstance(expr, sympy.Rational):
            raise UnsupportedError(f"a fraction outside floor/ceiling: {expr}")
        raise UnsupportedError(f"no Z3 translation for the node {type(expr).__name__}: {expr}")

    def _extremum(self, expr: sympy.Basic) -> z3.ArithRef:
        z = self._z3
        args = [self.term(arg) for arg in expr.args]
        better = sympy.Lt if isinstance(expr, sympy.Min) else sympy.Gt
        result = args[0]
        for arg in args[1:]:
            result = z.ite(z.relation(better, arg, result), arg, result)
        return result

    def _piecewise(self, expr: sympy.Piecewise) -> z3.ArithRef:
        *pieces, (last_value, last_condition) = expr.args
        if last_condition is not sympy.true:
            raise UnsupportedError(f"a Piecewise without a final True branch: {expr}")
        result = self.term(last_value)
        for value, condition in reversed(pieces):
            result = self._z3.ite(self.boolean(condition), self.term(value), result)
        return result

    def boolean(self, expr: sympy.Basic) -> z3.BoolRef:
        if isinstance(expr, bool):
            return z3.BoolVal(expr)
        cached = self._terms.get(expr)
        if cached is None:
            cached = self._terms[expr] = self._boolean(expr)
        return cached

    def _boolean(self, expr: sympy.Basic) -> z3.BoolRef:
        z = self._z3
        if expr is sympy.true or expr is True:
            return z3.BoolVal(True, z.ctx)
        if expr is sympy.false or expr is False:
            return z3.BoolVal(False, z.ctx)
        if type(expr) in _RELATIONS or type(expr) is sympy.Ne:
            return z.relation(type(expr), self.term(expr.lhs), self.term(expr.rhs))
        if isinstance(expr, sympy.And):
            return z.conjunction([self.boolean(arg) for arg in expr.args])
        if isinstance(expr, sympy.Or):
            return z.disjunction([self.boolean(arg) for arg in expr.args])
        if isinstance(expr, sympy.Not):
            return z.negation(self.boolean(expr.args[0]))
        if isinstance(expr, sympy.Implies):
            return z.implies(self.boolean(expr.args[0]), self.boolean(expr.args[1]))
        if isinstance(expr, sympy.ITE):
            test, then, otherwise = (self.boolean(arg) for arg in expr.args)
            return z.ite(test, then, otherwise)
        raise UnsupportedError(f"no Z3 translation for the condition {type(expr).__name__}: {expr}")

    def conditions(self, exprs: Iterable[sympy.Basic]) -> list[z3.BoolRef]:
        return [self.boolean(expr) for expr in exprs]

    def definition(self, name: str, value: sympy.Basic) -> z3.BoolRef:
        """name == value, the premise that names a defined expression."""
        return self._z3.relation(sympy.Eq, self.variable(name), self.term(value))

    def conjunction(self, terms: list[z3.BoolRef]) -> z3.BoolRef:
        return self._z3.conjunction(terms)

    def negation(self, term: z3.BoolRef) -> z3.BoolRef:
        return self._z3.negation(term)

    def box(self, names: Iterable[str], n: int) -> list[z3.BoolRef]:
        """-n <= x <= n for each named variable."""
        z = self._z3
        low, high = z.value(-n), z.value(n)
        return [
            z.conjunction(
                [
                    z.relation(sympy.Ge, self.variable(name), low),
                    z.relation(sympy.Le, self.variable(name), high),
                ]
            )
            for name in names
        ]
