"""Design functions: the shared search, and the convention every test module of ``estimators`` follows.

Every statistical test in tiltproof ships two deterministic companions that never run the code under test
(TFP ``statistical_testing``'s ``assert_…`` / ``min_num_samples_for_…`` / ``min_discrepancy_…`` triple), and
they live in the test's own module, beside it:

* ``min_num_samples_for_<test>(gap, …, alpha, beta)``: the smallest n at which the level-α test
  rejects, with probability ≥ 1 − β, every truth at distance ≥ ``gap`` from the claim;
* ``min_<discrepancy>_detectable_by_<test>(n, …, alpha, beta)``: the smallest such distance at n.

``alpha`` is the false-fail rate the test may spend (its share of a budget); ``beta`` the false-pass
rate at the designed gap. Both default nowhere: callers state them.

One module per test: ``estimators.binomial`` (Clopper–Pearson rate tests, one- and two-sided, exact power),
``estimators.negative_binomial`` (proposal counts until k acceptances), ``estimators.dkw`` (CDF sup distance),
``estimators.projection_fit`` (max of projection KS distances), ``estimators.multinomial_tv`` (TV of a finite
sample, and its lower confidence bound), ``estimators.bounded_means`` (KL/Bernstein tests of a [0, 1] mean),
``estimators.bernstein_mean``, ``estimators.normal_mean``, ``estimators.bridge_log_partition``,
``estimators.offset_calibration`` (order-statistic offsets), ``estimators.region_detection``,
``estimators.geometric_sums``, ``estimators.sequential`` (group-sequential versions).

This module holds what they share: ``smallest_n`` (the search for the smallest detecting n),
``check_rate`` and ``detectable_parameter_error``, which turns a gap in the statistic's units into the user's
units (a relative λ error, a baseline offset) through an exactly computable signal curve.
"""
from __future__ import annotations

import math
from typing import Callable

__all__ = [
    "MAX_DESIGN_SAMPLES",
    "check_rate",
    "smallest_n",
    "detectable_parameter_error",
]

MAX_DESIGN_SAMPLES = 10**9
"""Sample sizes beyond this are reported as infeasible (``smallest_n`` raises) rather than searched."""


def check_rate(name: str, rate: float) -> float:
    """``float(rate)`` if it lies in the open interval (0, 1) and is finite, else ``ValueError`` naming ``name``."""
    rate = float(rate)
    if not (0.0 < rate < 1.0) or not math.isfinite(rate):
        raise ValueError(f"{name} must lie in (0, 1), got {rate!r}")
    return rate


def smallest_n(detects: Callable[[int], bool], *, start: int = 16, limit: int = MAX_DESIGN_SAMPLES) -> int:
    """Smallest n ≥ ``start`` with ``detects(n)``, for a property monotone in n up to lattice effects.

    Doubling then bisection; the returned n is verified (``detects(n)`` holds). Raises ``ValueError``
    when no n ≤ ``limit`` detects, so a design never silently returns an underpowered size.
    """
    high = max(int(start), 1)
    while not detects(high):
        if high >= limit:
            raise ValueError(f"no sample size ≤ {limit:.3g} reaches the requested power; widen the gap")
        high = min(2 * high, limit)
    low = max(high // 2, 1)
    if detects(low):
        return low
    while high - low > 1:
        middle = (low + high) // 2
        if detects(middle):
            high = middle
        else:
            low = middle
    return high


# -- binomial rate ------------------------------------------------------------------------------------


# -- negative binomial (proposal counts) ----------------------------------------------------------------


# -- DKW ----------------------------------------------------------------------------------------------


# -- multinomial TV -----------------------------------------------------------------------------------


# -- user units ---------------------------------------------------------------------------------------

def detectable_parameter_error(signal: Callable[[float], float], detectable: float, *, largest: float,
                               tolerance: float = 1e-4) -> float | None:
    """Smallest parameter error s ∈ (0, ``largest``] whose exact signal reaches ``detectable``.

    ``signal(s)`` is the statistic's population discrepancy (KS distance, rate difference, TV) between
    the claimed law and the law a sampler with error s has; it must be increasing in s on the range.
    Returns None when even ``largest`` is not detected. Bisection to ``tolerance`` (rounded up, so the
    reported error is detected).
    """
    if signal(largest) < detectable:
        return None
    low, high = 0.0, float(largest)
    while high - low > tolerance * max(1.0, high):
        middle = 0.5 * (low + high)
        if signal(middle) >= detectable:
            high = middle
        else:
            low = middle
    return high
