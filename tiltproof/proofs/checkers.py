"""The three checkers of a proof step: symbolic, on exact instances, by property-based search.

Each returns a ``CheckOutcome``: ``verdict`` ``pass`` (the step holds everywhere the method looked),
``fail`` (a witness where it does not, with its values), ``undecided`` (the symbolic method could not
decide) or ``skipped`` (the method does not apply: no sympy sides, no instance to which the step
applies, no strategy). A step's error (an exception in its ``numeric``, sides of different shapes) is
``error`` and names the step and the instance.

* ``check_symbolic``: ``=`` holds when ``simplify(lhs − rhs) == 0`` (after evaluating unevaluated
  integrals) under the symbols' assumptions; ``≤``/``≥`` when sympy's sign deduction proves
  ``rhs − lhs ≥ 0`` (resp. ``lhs − rhs``), or else when ``intervals.prove_nonnegative`` proves it on the
  step's ``domain``. A sign-deduced negative difference or a witness point is a ``fail``.
* ``check_on_instances``: every instance of the proof, ``Step.numeric`` (or substitution of the
  instance's parameters into the sympy sides); comparison as in ``model.Sides``.
* ``search``: ``hypothesis.find`` over ``Proof.strategy`` for an instance violating the step, under
  a ``SearchProfile``; a violation is shrunk by hypothesis and returned with its values.
"""
from __future__ import annotations

import itertools
import math
import os
from functools import lru_cache
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np
import sympy

from tiltproof.proofs.intervals import prove_nonnegative
from tiltproof.proofs.model import RELATIVE_TOLERANCE, LazyPayload, ProofInstance, Sides, Step

__all__ = ["at_worst_point", "resolved", "CheckOutcome", "SearchProfile", "PROFILES", "search_profile", "check_symbolic", "evaluate_step",
           "compare", "check_on_instances", "search", "worst_sides"]


@dataclass(frozen=True)
class CheckOutcome:
    """One method's result on one step (JSON-able: ``values`` holds floats, lists and strings)."""

    method: str
    verdict: str
    message: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    count: int = 0
    """instances evaluated (instances and search) or boxes examined (interval arithmetic)."""


@dataclass(frozen=True)
class SearchProfile:
    """How long the property-based search runs: ``max_examples`` per step, derandomised for CI."""

    name: str
    max_examples: int
    derandomize: bool = True


PROFILES = {
    "ci": SearchProfile("ci", max_examples=30, derandomize=True),
    "short": SearchProfile("short", max_examples=10, derandomize=True),
    "dev": SearchProfile("dev", max_examples=100, derandomize=False),
    "nightly": SearchProfile("nightly", max_examples=1000, derandomize=False),
}
"""``ci`` (the default of ``tiltproof proof``: fixed examples), ``short`` (fixed, 10 examples: the test
suite), ``dev`` and ``nightly`` (fresh random examples; ``pytest -m slow`` runs nightly)."""


def search_profile(name: str | None = None) -> SearchProfile:
    """The profile ``name``, else ``$TILTPROOF_PROOF_PROFILE``, else ``ci``."""
    chosen = name or os.environ.get("TILTPROOF_PROOF_PROFILE", "ci")
    if chosen not in PROFILES:
        raise ValueError(f"search profile must be one of {sorted(PROFILES)}, got {chosen!r}")
    return PROFILES[chosen]


# ---------------------------------------------------------------- symbolic
@lru_cache(maxsize=512)
def evaluate_integrals(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with its integrals and sums done (cached: sympy's integration takes seconds).
    Logs are expanded first under the symbols' assumptions and the Meijer-G route is tried last,
    which is 5× faster on ``∫ N u^{N−1} log(N u^{N−1}) du``."""
    if not expr.has(sympy.Integral, sympy.Sum):
        return expr
    expanded = sympy.expand(sympy.expand_log(expr))
    done = expanded.doit(meijerg=False)
    return done if not done.has(sympy.Integral) else expanded.doit()


def _difference(step: Step) -> sympy.Expr:
    """The expression that must be ≥ 0 (≤, ≥) or = 0 (=)."""
    lhs, rhs = evaluate_integrals(step.lhs), evaluate_integrals(step.rhs)
    return rhs - lhs if step.relation == "≤" else lhs - rhs


_PROBES = (sympy.Rational(1, 3), sympy.Rational(7, 5), 3, sympy.Rational(-2, 3), 5, sympy.Rational(1, 7), 11)


def _probe_points(symbols: list[sympy.Symbol], domain) -> list[dict[sympy.Symbol, sympy.Expr]]:
    """A few exact points respecting each symbol's assumptions and domain (for refutation only)."""
    def allowed(symbol, value) -> bool:
        if symbol.name in domain:
            low, high = domain[symbol.name]
            if not low <= float(value) <= high:
                return False
        return not ((symbol.is_positive and value <= 0) or (symbol.is_nonnegative and value < 0)
                    or (symbol.is_integer and not sympy.Integer(value) == value))
    candidates = {}
    for symbol in symbols:
        values = [v for v in _PROBES if allowed(symbol, sympy.sympify(v))]
        if symbol.name in domain:
            low, high = domain[symbol.name]
            values += [sympy.Rational(str(low)) + (sympy.Rational(str(high)) - sympy.Rational(str(low))) * t
                       for t in (sympy.Rational(1, 3), sympy.Rational(5, 7))]
            values = [v for v in values if allowed(symbol, v)] or values
        candidates[symbol] = values or [sympy.Integer(1)]
    return [dict(zip(symbols, combo)) for combo in itertools.islice(itertools.product(*candidates.values()), 64)]


def _refuting_point(expr: sympy.Expr, domain, sign: int) -> tuple[dict[str, float], float] | None:
    """A probe point where ``sign·expr < 0`` (sign 0: where ``expr ≠ 0``), evaluated at 30 digits."""
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    for point in _probe_points(symbols, domain):
        try:
            value = complex(expr.evalf(30, subs=point))
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        if not (math.isfinite(value.real) and abs(value.imag) < 1e-25):
            continue
        scale = 1e-20 * max(1.0, abs(value.real))
        if (sign == 0 and abs(value.real) > scale) or (sign != 0 and sign * value.real < -scale):
            return {s.name: float(v) for s, v in point.items()}, value.real
    return None


def check_symbolic(step: Step) -> CheckOutcome:
    """Prove or refute the step for every value of its symbols (see module docstring)."""
    if not step.symbolic:
        return CheckOutcome("symbolic", "skipped", "no sympy sides")
    if step.relation == "⇒":
        return CheckOutcome("symbolic", "skipped", "implications are checked on instances")
    difference = _difference(step)
    expanded = sympy.expand(difference)
    simplified = expanded if expanded == 0 else sympy.simplify(difference)
    if step.relation == "=" and simplified != 0 and simplified.has(sympy.tanh, sympy.sinh, sympy.cosh, sympy.Abs):
        simplified = sympy.simplify(simplified.rewrite(sympy.exp))      # hyperbolic functions through exp
    if step.relation == "=":
        if simplified == 0:
            return CheckOutcome("symbolic", "pass", "simplify(lhs − rhs) = 0")
        if simplified.is_zero is False:
            return CheckOutcome("symbolic", "fail", f"lhs − rhs simplifies to {simplified}, which is nonzero")
        found = _refuting_point(simplified, step.domain, 0)
        if found is not None:
            return CheckOutcome("symbolic", "fail", f"lhs − rhs = {found[1]:.6g} ≠ 0 at {found[0]}",
                                {"witness": found[0], "difference": found[1]})
        return CheckOutcome("symbolic", "undecided", f"lhs − rhs simplifies to {simplified}, not decided")
    if simplified.is_nonnegative:
        return CheckOutcome("symbolic", "pass", "sign deduction: the difference is ≥ 0 under the assumptions")
    if simplified.is_negative:
        return CheckOutcome("symbolic", "fail", f"sign deduction: the difference {simplified} is < 0")
    found = _refuting_point(simplified, step.domain, 1)
    if found is not None:
        return CheckOutcome("symbolic", "fail", f"violated at {found[0]} (difference {found[1]:.6g})",
                            {"witness": found[0], "difference": found[1]})
    if not step.domain:
        return CheckOutcome("symbolic", "undecided", "sign not deduced and no interval domain given")
    verdict = prove_nonnegative(simplified, step.domain)
    if verdict.outcome == "proved":
        return CheckOutcome("symbolic", "pass", f"interval arithmetic on {dict(step.domain)}", count=verdict.boxes)
    if verdict.outcome == "refuted":
        return CheckOutcome("symbolic", "fail", f"violated at {verdict.witness} (difference {verdict.value:.6g})",
                            {"witness": verdict.witness, "difference": verdict.value}, verdict.boxes)
    return CheckOutcome("symbolic", "undecided", verdict.message, count=verdict.boxes)


# ---------------------------------------------------------------- numeric
def _substituted(step: Step, instance: ProofInstance) -> Sides | None:
    if not step.symbolic:
        return None
    symbols = step.lhs.free_symbols | step.rhs.free_symbols
    if not all(symbol.name in instance.parameters for symbol in symbols):
        return None
    values = {symbol: instance.parameters[symbol.name] for symbol in symbols}
    evaluate = lambda side: float(sympy.N(side.subs(values), 20))   # integrals by mpmath quadrature
    return Sides(evaluate(step.lhs), evaluate(step.rhs))


def resolved(instance: ProofInstance) -> ProofInstance:
    """``instance`` with a ``LazyPayload`` built (the same object on every call)."""
    if isinstance(instance.payload, LazyPayload):
        return replace(instance, payload=instance.payload.value())
    return instance


def evaluate_step(step: Step, instance: ProofInstance) -> Sides | None:
    """The step's two sides on ``instance`` (None when it does not apply there)."""
    instance = resolved(instance)
    if step.numeric is not None:
        sides = step.numeric(instance)
        if sides is not None and not isinstance(sides, Sides):
            raise ValueError(f"step {step.name!r}: numeric must return Sides or None, got {type(sides).__name__}")
        return sides
    return _substituted(step, instance)


def compare(step: Step, sides: Sides, instance_name: str) -> tuple[bool, dict[str, Any]]:
    """(holds, JSON-able values) for one instance; ValueError when the sides' shapes differ."""
    lhs, rhs = np.asarray(sides.lhs), np.asarray(sides.rhs)
    if lhs.shape != rhs.shape:
        raise ValueError(f"step {step.name!r} on instance {instance_name!r}: sides have different shapes "
                         f"{lhs.shape} (lhs) and {rhs.shape} (rhs)")
    if not (sides.error >= 0 and math.isfinite(sides.error)):
        raise ValueError(f"step {step.name!r} on instance {instance_name!r}: error must be finite and ≥ 0, "
                         f"got {sides.error!r}")
    values: dict[str, Any] = {"lhs": lhs.tolist(), "rhs": rhs.tolist(), "error": float(sides.error)}
    if step.relation == "⇒":
        return bool(np.all(~lhs.astype(bool) | rhs.astype(bool))), values
    lhs, rhs = lhs.astype(float), rhs.astype(float)
    slack = sides.error + RELATIVE_TOLERANCE * np.maximum(1.0, np.abs(rhs))
    if step.relation == "=":
        ok = np.abs(lhs - rhs) <= slack
    elif step.relation == "≤":
        ok = lhs <= rhs + slack
    else:
        ok = lhs >= rhs - slack
    ok = ok & ~np.isnan(lhs) & ~np.isnan(rhs)
    if lhs.ndim and lhs.size:
        worst = int(np.argmin(np.where(ok, 1.0, 0.0)))
        values["worst_index"] = worst
    return bool(np.all(ok)), values


def worst_sides(relation: str, sides: Sides) -> Sides:
    """``sides`` reduced to the single point where ``lhs relation rhs`` holds with the least margin (in units of
    ``compare``'s slack), so a step checked on a grid of 10⁵ points records two numbers, not two arrays. The
    step holds at every point iff it holds at that one (the margin is slack-normalised). Scalars pass through."""
    lhs, rhs = np.asarray(sides.lhs, dtype=float), np.asarray(sides.rhs, dtype=float)
    if lhs.shape != rhs.shape:
        raise ValueError(f"worst_sides: sides have different shapes {lhs.shape} (lhs) and {rhs.shape} (rhs)")
    if relation not in ("=", "≤", "≥"):
        raise ValueError(f"worst_sides: relation must be one of =, ≤, ≥, got {relation!r}")
    if lhs.ndim == 0 or lhs.size == 0:
        return sides
    slack = sides.error + RELATIVE_TOLERANCE * np.maximum(1.0, np.abs(rhs))
    excess = {"=": np.abs(lhs - rhs), "≤": lhs - rhs, "≥": rhs - lhs}[relation] / slack
    worst = int(np.argmax(np.where(np.isnan(excess), np.inf, excess)))     # a NaN point is the worst
    return Sides(float(lhs.reshape(-1)[worst]), float(rhs.reshape(-1)[worst]), sides.error)


def at_worst_point(relation: str, numeric: Callable[[Any], Sides | None]) -> Callable[[Any], Sides | None]:
    """``numeric`` (instance → ``Sides`` or None) with array sides reduced by ``worst_sides``: the same verdict,
    recorded as two numbers instead of two arrays."""
    def run(instance):
        sides = numeric(instance)
        return None if sides is None else worst_sides(relation, sides)
    return run


def check_on_instances(step: Step, instances: Sequence[ProofInstance]) -> CheckOutcome:
    """Evaluate the step on every instance; the first violation is a ``fail`` with its values."""
    evaluated = 0
    last: dict[str, Any] = {}
    for instance in instances:
        sides = evaluate_step(step, instance)
        if sides is None:
            continue
        holds, values = compare(step, sides, instance.name)
        evaluated += 1
        if not holds:
            return CheckOutcome("instances", "fail", f"violated on {instance.name}",
                                {"instance": instance.name, "parameters": dict(instance.parameters), **values}, evaluated)
        last = {"instance": instance.name, **values}
    if not evaluated:
        return CheckOutcome("instances", "skipped", "applies to no registered instance")
    return CheckOutcome("instances", "pass", f"holds on {evaluated} instance(s)", last, evaluated)


def search(step: Step, strategy: Any, profile: SearchProfile) -> CheckOutcome:
    """``hypothesis.find`` an instance on which the step is violated; shrunk counterexample or pass."""
    try:
        from hypothesis import HealthCheck, Phase, find, settings
        from hypothesis.errors import NoSuchExample, Unsatisfiable
    except ImportError:  # hypothesis is a test dependency
        return CheckOutcome("search", "skipped", "hypothesis is not installed")
    tried = {"applicable": 0}

    def violated(instance: ProofInstance) -> bool:
        sides = evaluate_step(step, instance)
        if sides is None:
            return False
        tried["applicable"] += 1
        return not compare(step, sides, instance.name)[0]

    config = settings(max_examples=profile.max_examples, derandomize=profile.derandomize, database=None,
                      deadline=None, suppress_health_check=list(HealthCheck),
                      phases=[Phase.generate, Phase.shrink] if profile.derandomize else list(Phase))
    try:
        example = find(strategy, violated, settings=config)
    except (NoSuchExample, Unsatisfiable):
        if not tried["applicable"]:
            return CheckOutcome("search", "skipped", "no drawn instance to which the step applies")
        return CheckOutcome("search", "pass", f"no violation in {tried['applicable']} drawn instance(s) "
                            f"(profile {profile.name})", count=tried["applicable"])
    _, values = compare(step, evaluate_step(step, example), example.name)
    return CheckOutcome("search", "fail", f"counterexample (shrunk): {example.name}",
                        {"instance": example.name, "parameters": dict(example.parameters), **values}, tried["applicable"])
