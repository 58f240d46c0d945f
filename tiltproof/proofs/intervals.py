"""Sound interval arithmetic over sympy expressions (``mpmath.iv``, outward rounding) and a
branch-and-bound prover for ``f ≥ 0`` on a box.

``enclose(expr, box)`` returns an interval containing ``expr(x)`` for every ``x`` in the box (the
natural interval extension: each operation on intervals, rounded outward). ``prove_nonnegative`` splits
the box until every piece is decided: a piece is settled when the enclosure of ``f`` is ≥ 0, or when
``f`` is monotone in some variable there (the enclosure of ``∂f/∂x_i`` has a sign), in which case the
minimum over the piece lies on the face ``x_i = low`` (∂f/∂x_i ≥ 0) or ``x_i = high`` (≤ 0) and that
face, one dimension lower, is decided instead. Since ``f`` is continuous on the box, this is a proof;
a midpoint with ``f < 0`` (evaluated at 50 digits) is a witness that refutes the claim. Otherwise the
result is undecided (never a pass).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

import mpmath
import sympy
from mpmath import iv

__all__ = ["enclose", "prove_nonnegative", "IntervalVerdict"]

_UNARY = {
    sympy.log: iv.log, sympy.exp: iv.exp, sympy.sqrt: iv.sqrt, sympy.sin: iv.sin, sympy.cos: iv.cos,
}


def _lo(interval: iv.mpf) -> mpmath.mpf:
    return mpmath.mpf(interval.a)


def _hi(interval: iv.mpf) -> mpmath.mpf:
    return mpmath.mpf(interval.b)


def _power(base: iv.mpf, exponent: iv.mpf, exponent_expr: sympy.Expr) -> iv.mpf:
    if exponent_expr.is_Integer:
        return base ** int(exponent_expr)
    if exponent_expr == sympy.Rational(1, 2):
        return iv.sqrt(base)
    if _lo(base) < 0:
        raise ArithmeticError("real power of a possibly negative base")
    if _lo(base) == 0:
        # x^y is monotone in x (y ≥ 0) and in y for fixed x: the extrema lie at the four corners
        if _lo(exponent) < 0:
            raise ArithmeticError("negative power of a base that may be 0")
        corners = []
        for x in (_lo(base), _hi(base)):
            for y in (_lo(exponent), _hi(exponent)):
                if x == 0:
                    corners.append(iv.mpf(0) if y > 0 else iv.mpf([0, 1]))
                else:
                    corners.append(iv.exp(iv.mpf(y) * iv.log(iv.mpf(x))))
        low = min(_lo(c) for c in corners)
        high = max(_hi(c) for c in corners)
        return iv.mpf([low, high])
    return iv.exp(exponent * iv.log(base))


def enclose(expr: sympy.Expr, box: Mapping[sympy.Symbol, iv.mpf]) -> iv.mpf:
    """An interval containing ``expr`` over ``box`` (raises ArithmeticError/NotImplementedError when
    an operation is undefined on the box or not supported)."""
    if expr.is_Symbol:
        return box[expr]
    if expr.is_Integer:
        return iv.mpf(int(expr))
    if expr.is_Rational:
        return iv.mpf(int(expr.p)) / iv.mpf(int(expr.q))
    if expr is sympy.pi:
        return iv.pi
    if expr is sympy.E:
        return iv.e
    if expr.is_Float:
        return iv.mpf(mpmath.mpf(expr))
    if expr.is_Add:
        total = iv.mpf(0)
        for arg in expr.args:
            total = total + enclose(arg, box)
        return total
    if expr.is_Mul:
        product = iv.mpf(1)
        for arg in expr.args:
            product = product * enclose(arg, box)
        return product
    if expr.is_Pow:
        base, exponent = expr.args
        return _power(enclose(base, box), enclose(exponent, box), exponent)
    if expr.func in _UNARY:
        inner = enclose(expr.args[0], box)
        if expr.func is sympy.log and _lo(inner) <= 0:
            raise ArithmeticError("log of a possibly non-positive interval")
        return _UNARY[expr.func](inner)
    if isinstance(expr, sympy.Abs):
        inner = enclose(expr.args[0], box)
        if _lo(inner) >= 0:
            return inner
        if _hi(inner) <= 0:
            return -inner
        return iv.mpf([0, max(-_lo(inner), _hi(inner))])
    if isinstance(expr, (sympy.Max, sympy.Min)):
        parts = [enclose(arg, box) for arg in expr.args]
        pick = max if isinstance(expr, sympy.Max) else min
        return iv.mpf([pick(_lo(p) for p in parts), pick(_hi(p) for p in parts)])
    raise NotImplementedError(f"no interval extension for {expr.func.__name__}")


@dataclass(frozen=True)
class IntervalVerdict:
    """``proved`` (f ≥ 0 on the whole box), ``refuted`` (``witness``: a point with f < 0, ``value``
    its value) or ``undecided``; ``boxes``: the number of pieces examined."""

    outcome: str
    boxes: int
    witness: dict[str, float] | None = None
    value: float | None = None
    message: str = ""


def _forms(expr: sympy.Expr) -> tuple[sympy.Expr, ...]:
    """Equivalent forms of ``expr``: each gives a valid enclosure, and their intersection is tighter
    (interval arithmetic overestimates when a variable occurs several times)."""
    forms = [expr]
    for rewrite in (lambda e: sympy.factor_terms(sympy.powsimp(sympy.expand(e))),
                    lambda e: sympy.factor(sympy.together(e))):
        try:
            form = rewrite(expr)
        except (sympy.PolynomialError, NotImplementedError, TypeError):  # pragma: no cover - sympy limits
            continue
        if form not in forms:
            forms.append(form)
    return tuple(forms)


def _enclose_forms(forms: tuple[sympy.Expr, ...], box) -> iv.mpf:
    """The intersection of the enclosures of equivalent forms (those that can be evaluated)."""
    low, high, last_error = None, None, None
    for form in forms:
        try:
            interval = enclose(form, box)
        except (ArithmeticError, ZeroDivisionError, NotImplementedError) as error:
            last_error = error
            continue
        low = _lo(interval) if low is None else max(low, _lo(interval))
        high = _hi(interval) if high is None else min(high, _hi(interval))
    if low is None:
        raise last_error
    return iv.mpf([low, max(low, high)])


@lru_cache(maxsize=256)
def _gradient(expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> tuple[tuple[sympy.Expr, ...], ...]:
    return tuple(_forms(sympy.diff(expr, symbol)) for symbol in symbols)


def _midpoint_value(expr: sympy.Expr, box: dict[sympy.Symbol, iv.mpf]) -> tuple[dict[str, float], float | None]:
    point = {symbol: (_lo(interval) + _hi(interval)) / 2 for symbol, interval in box.items()}
    try:
        with mpmath.workdps(50):
            value = complex(expr.evalf(50, subs={s: sympy.Float(str(mpmath.mpf(v)), 50) for s, v in point.items()}))
    except (TypeError, ValueError, ZeroDivisionError):
        return {str(s): float(v) for s, v in point.items()}, None
    if abs(value.imag) > 1e-30:
        return {str(s): float(v) for s, v in point.items()}, None
    return {str(s): float(v) for s, v in point.items()}, value.real


def prove_nonnegative(expr: sympy.Expr, domain: Mapping[str, tuple[float, float]], *,
                      max_boxes: int = 4000) -> IntervalVerdict:
    """Decide ``expr ≥ 0`` for every point of the box ``domain`` ({symbol name: (low, high)})."""
    symbols = tuple(sorted(expr.free_symbols, key=lambda s: s.name))
    missing = [s.name for s in symbols if s.name not in domain]
    if missing:
        return IntervalVerdict("undecided", 0, message=f"no domain for {missing}")
    gradient = _gradient(expr, symbols)
    forms = _forms(expr)
    queue = [{s: iv.mpf([domain[s.name][0], domain[s.name][1]]) for s in symbols}]
    examined = 0
    while queue:
        box = queue.pop()
        examined += 1
        if examined > max_boxes:
            return IntervalVerdict("undecided", examined, message=f"not decided within {max_boxes} boxes")
        try:
            if _lo(_enclose_forms(forms, box)) >= 0:
                continue
        except (ArithmeticError, NotImplementedError, ZeroDivisionError) as error:
            if isinstance(error, NotImplementedError):
                return IntervalVerdict("undecided", examined, message=str(error))
        witness, value = _midpoint_value(expr, box)
        if value is not None and value < 0:
            return IntervalVerdict("refuted", examined, witness=witness, value=value)
        reduced = _fix_monotone_variables(box, gradient, symbols)
        if reduced is not None:
            queue.append(reduced)
            continue
        wide = [s for s in symbols if _hi(box[s]) > _lo(box[s])]
        if not wide:
            return IntervalVerdict("undecided", examined, message="a point the enclosure cannot decide")
        split = max(wide, key=lambda s: _hi(box[s]) - _lo(box[s]))
        middle = (_lo(box[split]) + _hi(box[split])) / 2
        queue.append({**box, split: iv.mpf([_lo(box[split]), middle])})
        queue.append({**box, split: iv.mpf([middle, _hi(box[split])])})
    return IntervalVerdict("proved", examined)


def _fix_monotone_variables(box: dict, gradient: tuple, symbols: tuple) -> dict | None:
    """The box with every variable in which ``f`` is monotone fixed at its minimising endpoint, or None."""
    reduced = dict(box)
    changed = False
    for symbol, derivative in zip(symbols, gradient):
        if _lo(box[symbol]) == _hi(box[symbol]):
            continue
        try:
            slope = _enclose_forms(derivative, box)
        except (ArithmeticError, NotImplementedError, ZeroDivisionError):
            continue
        if _lo(slope) >= 0:
            reduced[symbol] = iv.mpf(_lo(box[symbol]))
            changed = True
        elif _hi(slope) <= 0:
            reduced[symbol] = iv.mpf(_hi(box[symbol]))
            changed = True
    return reduced if changed else None
