"""Evidence builders shared by the theorem modules: one place for the verdict rules.

* ``upper_bound_evidence``: claim "quantity ≤ bound". Fails if the exact value exceeds the bound
  (beyond ``NUMERIC_TOLERANCE`` relative) or if the empirical *lower* confidence bound does.
* ``lower_bound_evidence``: claim "quantity ≥ bound", symmetrically with the *upper* confidence bound.
* ``interval_evidence``: claim "quantity = value": the value must lie in the two-sided interval and
  agree with the exact side.
The margin is the distance from the decisive figure to where the check would reject, signed in the direction
of the claim: an exact value is rejected beyond the bound widened by its numerical tolerance, a confidence
bound beyond the bound itself, a claimed value outside its two-sided interval. So a margin is ≥ 0 exactly when
the claim passes (an exact value equal to its bound up to rounding has a small positive margin, never −2e-16).
Each builder also states the claim's relation (≤, ≥, =), shown by the CLI and the report.

``Evidence`` is frozen, so each builder takes everything a check knows at once: ``units`` (what
``detectable_gap`` is measured in) and ``also_fails`` (reasons, found by checks beside the bound, that the claim
fails: each makes ``holds`` false and is appended to the message after the bound's own reasons; the margin
stays the bound's).
"""
from __future__ import annotations

import math

from typing import Sequence

from tiltproof.core.framework import NUMERIC_TOLERANCE, Evidence

__all__ = ["upper_bound_evidence", "lower_bound_evidence", "interval_evidence", "exact_holds_upper", "exact_tolerance_of"]


def exact_tolerance_of(bound: float, tolerance: float = 0.0) -> float:
    """How far an exact value may pass ``bound`` before it counts as a violation (rounding + stated error)."""
    return NUMERIC_TOLERANCE * max(1.0, abs(bound)) + tolerance


def exact_holds_upper(exact: float | None, bound: float, tolerance: float = 0.0) -> bool:
    if exact is None:
        return True
    return exact <= bound + exact_tolerance_of(bound, tolerance)


def upper_bound_evidence(*, statistic: str, bound: float, exact: float | None, empirical: float | None,
                         lower_confidence: float | None, n: int, detectable_gap: float | None,
                         exact_tolerance: float = 0.0, details: dict | None = None, units: str | None = None,
                         also_fails: Sequence[str] = ()) -> Evidence:
    exact_ok = exact_holds_upper(exact, bound, exact_tolerance)
    empirical_ok = lower_confidence is None or lower_confidence <= bound
    reasons = []
    if not exact_ok:
        reasons.append(f"exact value {exact:.6g} exceeds the bound {bound:.6g}")
    if not empirical_ok:
        reasons.append(f"lower confidence bound {lower_confidence:.6g} exceeds the bound {bound:.6g}")
    margins = ([bound + exact_tolerance_of(bound, exact_tolerance) - exact] if exact is not None else []) + \
              ([bound - lower_confidence] if lower_confidence is not None else [])
    return Evidence(
        holds=exact_ok and empirical_ok and not also_fails, statistic=statistic, bound=bound, exact=exact,
        empirical=empirical, confidence_bound=lower_confidence, n=n, detectable_gap=detectable_gap,
        margin=min(margins) if margins else None, message="; ".join([*reasons, *also_fails]), details=details or {},
        detectable_gap_units=units, relation="≤",
    )


def lower_bound_evidence(*, statistic: str, bound: float, exact: float | None, empirical: float | None,
                         upper_confidence: float | None, n: int, detectable_gap: float | None,
                         details: dict | None = None, units: str | None = None,
                         also_fails: Sequence[str] = ()) -> Evidence:
    exact_ok = exact is None or exact >= bound - exact_tolerance_of(bound)
    empirical_ok = upper_confidence is None or upper_confidence >= bound
    reasons = []
    if not exact_ok:
        reasons.append(f"exact value {exact:.6g} is below the bound {bound:.6g}")
    if not empirical_ok:
        reasons.append(f"upper confidence bound {upper_confidence:.6g} is below the bound {bound:.6g}")
    margins = ([exact - bound + exact_tolerance_of(bound)] if exact is not None else []) + \
              ([upper_confidence - bound] if upper_confidence is not None else [])
    return Evidence(
        holds=exact_ok and empirical_ok and not also_fails, statistic=statistic, bound=bound, exact=exact,
        empirical=empirical, confidence_bound=upper_confidence, n=n, detectable_gap=detectable_gap,
        margin=min(margins) if margins else None, message="; ".join([*reasons, *also_fails]), details=details or {},
        detectable_gap_units=units, relation="≥",
    )


def interval_evidence(*, statistic: str, value: float, exact: float | None, empirical: float | None,
                      interval: tuple[float, float] | None, n: int, detectable_gap: float | None,
                      exact_tolerance: float = 0.0, details: dict | None = None, units: str | None = None,
                      also_fails: Sequence[str] = ()) -> Evidence:
    reasons = []
    allowed = exact_tolerance_of(value, exact_tolerance)
    exact_ok = exact is None or abs(exact - value) <= allowed
    if not exact_ok:
        reasons.append(f"exact value {exact:.10g} differs from the claimed {value:.10g}")
    empirical_ok = True
    # An identity's margin is its two-sided interval's (the distance from the value to the nearer end); the
    # exact side's (its tolerance left over) stands in without an interval, or when it is what fails.
    margins = [allowed - abs(exact - value)] if exact is not None else []
    if interval is not None:
        low, high = interval
        empirical_ok = low <= value <= high
        margins = [min(value - low, high - value)] + ([] if exact_ok else margins)
        if not empirical_ok:
            reasons.append(f"claimed value {value:.6g} lies outside the confidence interval [{low:.6g}, {high:.6g}]")
    return Evidence(
        holds=exact_ok and empirical_ok and not also_fails, statistic=statistic, bound=value, exact=exact,
        empirical=empirical, confidence_bound=None if interval is None else (interval[0] if empirical is not None and empirical >= value else interval[1]),
        n=n, detectable_gap=detectable_gap, margin=min(margins) if margins else None,
        message="; ".join([*reasons, *also_fails]),
        details={**(details or {}), **({"interval": list(interval)} if interval is not None else {})},
        detectable_gap_units=units, relation="=",
    )


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
