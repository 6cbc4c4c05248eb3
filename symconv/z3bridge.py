"""SymPy -> Z3, exact, one method per node kind; an unknown node raises UnsupportedError, never guesses.

Z3's integer ``/`` and ``%`` are Euclidean: they equal floor division only for a positive divisor. A positive
constant divisor is translated to Z3's operators directly; any other divisor gets an explicit quotient q with
``b*q <= a < b*q + b`` (b > 0) or ``b*q >= a > b*q + b`` (b < 0), plus the obligation b != 0, so the translation
agrees with SymPy and Python for every sign.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sympy
import z3

from .arith import quotient_parts
from .errors import UnsupportedError


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

    def variable(self, name: str) -> z3.ArithRef:
        if name not in self.variables:
            self.variables[name] = z3.Int(name)
        return self.variables[name]

    def quotient(self, num: sympy.Expr, den: sympy.Expr) -> z3.ArithRef:
        """floor(num / den) for a polynomial num and den."""
        if isinstance(den, sympy.Integer):
            if den == 0:
                raise UnsupportedError(f"division by zero in {num}/{den}")
            if den < 0:
                num, den = -num, -den
            return self.term(num) if den == 1 else self.term(num) / int(den)
        key = (num, den)
        if key not in self._quotients:
            a, b = self.term(num), self.term(den)
            q = z3.Int(f"_q{len(self._quotients)}")
            self.axioms.append(z3.Implies(b > 0, z3.And(b * q <= a, a < b * q + b)))
            self.axioms.append(z3.Implies(b < 0, z3.And(b * q >= a, a > b * q + b)))
            self.obligations.append(b != 0)
            self._quotients[key] = q
        return self._quotients[key]

    def term(self, expr: sympy.Basic) -> z3.ArithRef:
        cached = self._terms.get(expr)
        if cached is None:
            cached = self._terms[expr] = self._term(expr)
        return cached

    def _term(self, expr: sympy.Basic) -> z3.ArithRef:
        if isinstance(expr, sympy.Integer):
            return z3.IntVal(int(expr))
        if isinstance(expr, sympy.Symbol):
            return self.variable(expr.name)
        if isinstance(expr, sympy.Add):
            return z3.Sum(*(self.term(arg) for arg in expr.args))
        if isinstance(expr, sympy.Mul):
            if any(isinstance(a, sympy.Rational) and not a.is_Integer for a in expr.args) or any(
                isinstance(a, sympy.Pow) and a.exp.is_negative for a in expr.args
            ):
                raise UnsupportedError(f"a fraction outside floor/ceiling: {expr}")
            return z3.Product(*(self.term(arg) for arg in expr.args))
        if isinstance(expr, sympy.Pow):
            exponent = expr.exp
            if not (isinstance(exponent, sympy.Integer) and exponent >= 0):
                raise UnsupportedError(f"a power with a non-natural exponent: {expr}")
            base = self.term(expr.base)
            return z3.Product(*([base] * int(exponent))) if exponent > 0 else z3.IntVal(1)
        if isinstance(expr, sympy.floor):
            return self.quotient(*quotient_parts(expr.args[0]))
        if isinstance(expr, sympy.ceiling):
            num, den = quotient_parts(expr.args[0])
            return -self.quotient(sympy.expand(-num), den)
        if isinstance(expr, sympy.Mod):
            a, b = expr.args
            if isinstance(b, sympy.Integer) and b > 0:
                return self.term(a) % int(b)
            num, den = quotient_parts(a / b)
            return self.term(a) - self.term(b) * self.quotient(num, den)
        if isinstance(expr, sympy.Min | sympy.Max):
            return self._extremum(expr)
        if isinstance(expr, sympy.Abs):
            x = self.term(expr.args[0])
            return z3.If(x >= 0, x, -x)
        if isinstance(expr, sympy.Piecewise):
            return self._piecewise(expr)
        if isinstance(expr, sympy.Rational):
            raise UnsupportedError(f"a fraction outside floor/ceiling: {expr}")
        raise UnsupportedError(f"no Z3 translation for the node {type(expr).__name__}: {expr}")

    def _extremum(self, expr: sympy.Basic) -> z3.ArithRef:
        args = [self.term(arg) for arg in expr.args]
        result = args[0]
        for arg in args[1:]:
            if isinstance(expr, sympy.Min):
                result = z3.If(arg < result, arg, result)
            else:
                result = z3.If(arg > result, arg, result)
        return result

    def _piecewise(self, expr: sympy.Piecewise) -> z3.ArithRef:
        *pieces, (last_value, last_condition) = expr.args
        if last_condition is not sympy.true:
            raise UnsupportedError(f"a Piecewise without a final True branch: {expr}")
        result = self.term(last_value)
        for value, condition in reversed(pieces):
            result = z3.If(self.boolean(condition), self.term(value), result)
        return result

    def boolean(self, expr: sympy.Basic) -> z3.BoolRef:
        if isinstance(expr, bool):
            return z3.BoolVal(expr)
        cached = self._terms.get(expr)
        if cached is None:
            cached = self._terms[expr] = self._boolean(expr)
        return cached

    def _boolean(self, expr: sympy.Basic) -> z3.BoolRef:
        if expr is sympy.true or expr is True:
            return z3.BoolVal(True)
        if expr is sympy.false or expr is False:
            return z3.BoolVal(False)
        relations = {
            sympy.Eq: lambda a, b: a == b,
            sympy.Ne: lambda a, b: a != b,
            sympy.Lt: lambda a, b: a < b,
            sympy.Le: lambda a, b: a <= b,
            sympy.Gt: lambda a, b: a > b,
            sympy.Ge: lambda a, b: a >= b,
        }
        if type(expr) in relations:
            return relations[type(expr)](self.term(expr.lhs), self.term(expr.rhs))
        if isinstance(expr, sympy.And):
            return z3.And(*(self.boolean(arg) for arg in expr.args))
        if isinstance(expr, sympy.Or):
            return z3.Or(*(self.boolean(arg) for arg in expr.args))
        if isinstance(expr, sympy.Not):
            return z3.Not(self.boolean(expr.args[0]))
        if isinstance(expr, sympy.Implies):
            return z3.Implies(self.boolean(expr.args[0]), self.boolean(expr.args[1]))
        if isinstance(expr, sympy.ITE):
            test, then, otherwise = (self.boolean(arg) for arg in expr.args)
            return z3.If(test, then, otherwise)
        raise UnsupportedError(f"no Z3 translation for the condition {type(expr).__name__}: {expr}")

    def conditions(self, exprs: Iterable[sympy.Basic]) -> list[z3.BoolRef]:
        return [self.boolean(expr) for expr in exprs]
