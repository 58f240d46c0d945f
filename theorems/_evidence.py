"""Evidence builders shared by the theorem modules: one place for the verdict rules.

* ``upper_bound_evidence``: claim "quantity ≤ bound". Fails if the exact value exceeds the bound
  (beyond ``NUMERIC_TOLERANCE`` relative) or if the empirical *lower* confidence bound does.
* ``lower_bound_evidence``: claim "quantity ≥ bound", symmetrically with the *upper* confidence bound.
* ``interval_evidence``: claim "quantity = value": the value must lie in the two-sided interval and
  agree with the exact side.
The margin is reported in the direction of the claim: positive means inside, by that much.
"""
from __future__ import annotations

import math

from theorems.framework import NUMERIC_TOLERANCE, Evidence

__all__ = ["upper_bound_evidence", "lower_bound_evidence", "interval_evidence", "exact_holds_upper"]


def exact_holds_upper(exact: float | None, bound: float, tolerance: float = 0.0) -> bool:
    if exact is None:
        return True
    return exact <= bound + NUMERIC_TOLERANCE * max(1.0, abs(bound)) + tolerance


def upper_bound_evidence(*, statistic: str, bound: float, exact: float | None, empirical: float | None,
                         lower_confidence: float | None, n: int, detectable_gap: float | None,
                         exact_tolerance: float = 0.0, details: dict | None = None) -> Evidence:
    exact_ok = exact_holds_upper(exact, bound, exact_tolerance)
    empirical_ok = lower_confidence is None or lower_confidence <= bound
    reasons = []
    if not exact_ok:
        reasons.append(f"exact value {exact:.6g} exceeds the bound {bound:.6g}")
    if not empirical_ok:
        reasons.append(f"lower confidence bound {lower_confidence:.6g} exceeds the bound {bound:.6g}")
    # An exact value at the bound within the numerical tolerance is *on* the boundary: margin 0, never a
    # negative margin on a passing record (issue 11).
    margins = [bound - value if value is not exact or not exact_ok else max(bound - value, 0.0)
               for value in (exact, lower_confidence) if value is not None]
    return Evidence(
        holds=exact_ok and empirical_ok, statistic=statistic, bound=bound, exact=exact, empirical=empirical,
        confidence_bound=lower_confidence, n=n, detectable_gap=detectable_gap,
        margin=min(margins) if margins else None, message="; ".join(reasons), details=details or {},
    )


def lower_bound_evidence(*, statistic: str, bound: float, exact: float | None, empirical: float | None,
                         upper_confidence: float | None, n: int, detectable_gap: float | None,
                         details: dict | None = None) -> Evidence:
    exact_ok = exact is None or exact >= bound - NUMERIC_TOLERANCE * max(1.0, abs(bound))
    empirical_ok = upper_confidence is None or upper_confidence >= bound
    reasons = []
    if not exact_ok:
        reasons.append(f"exact value {exact:.6g} is below the bound {bound:.6g}")
    if not empirical_ok:
        reasons.append(f"upper confidence bound {upper_confidence:.6g} is below the bound {bound:.6g}")
    margins = [value - bound if value is not exact or not exact_ok else max(value - bound, 0.0)
               for value in (exact, upper_confidence) if value is not None]
    return Evidence(
        holds=exact_ok and empirical_ok, statistic=statistic, bound=bound, exact=exact, empirical=empirical,
        confidence_bound=upper_confidence, n=n, detectable_gap=detectable_gap,
        margin=min(margins) if margins else None, message="; ".join(reasons), details=details or {},
    )


def interval_evidence(*, statistic: str, value: float, exact: float | None, empirical: float | None,
                      interval: tuple[float, float] | None, n: int, detectable_gap: float | None,
                      exact_tolerance: float = 0.0, details: dict | None = None) -> Evidence:
    reasons = []
    exact_ok = exact is None or abs(exact - value) <= NUMERIC_TOLERANCE * max(1.0, abs(value)) + exact_tolerance
    if not exact_ok:
        reasons.append(f"exact value {exact:.10g} differs from the claimed {value:.10g}")
    empirical_ok = True
    margin = None
    if interval is not None:
        low, high = interval
        empirical_ok = low <= value <= high
        margin = min(value - low, high - value)
        if not empirical_ok:
            reasons.append(f"claimed value {value:.6g} lies outside the confidence interval [{low:.6g}, {high:.6g}]")
    return Evidence(
        holds=exact_ok and empirical_ok, statistic=statistic, bound=value, exact=exact, empirical=empirical,
        confidence_bound=None if interval is None else (interval[0] if empirical is not None and empirical >= value else interval[1]),
        n=n, detectable_gap=detectable_gap, margin=margin, message="; ".join(reasons),
        details={**(details or {}), **({"interval": list(interval)} if interval is not None else {})},
    )


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
