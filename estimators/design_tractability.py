"""Design functions of the tractability checks (tilt oracle, KL aligner, prox oracle).

Companions in the style of ``estimators.design`` (TFP ``statistical_testing``): each maps a gap to a
sample size and back, deterministically, without running the code under test.

* **projection KS** (``min_num_samples_for_projection_ks_test`` / ``min_discrepancy_of_projections_
  detectable_by_dkw``): the largest of T projection KS distances against ``ε_DKW(α/T)``
  (Bonferroni over the projections). Under an alternative whose KS distance on some tested projection
  is ≥ gap, that projection's empirical KS is ≥ gap − ε_DKW(β) w.p. ≥ 1 − β (DKW at the true law), so
  the test detects ``gap ≥ ε_DKW(α/T) + ε_DKW(β)``; n ∝ log(T/α)/gap². A gridded claimed CDF (known on
  a grid up to an error) costs its ``bracket`` on top.
* **region sampling** (``min_num_points_for_region_detection`` / ``min_mass_of_regions_detectable``):
  a deterministic per-point check (a prox oracle's objective at x against a certified optimum) run at
  n points drawn from p misses an implementation that is wrong on a set of p-mass ≥ m with probability
  ``(1 − m)^n``; so ``n = ⌈log β / log(1 − m)⌉`` points find it w.p. ≥ 1 − β (n ≈ log(1/β)/m).
"""
from __future__ import annotations

import math

from estimators.design import min_discrepancy_of_cdfs_detectable_by_dkw, min_num_samples_for_dkw_cdf_test
from primitives._checks import check_unit_interval

__all__ = [
    "min_num_samples_for_projection_ks_test",
    "min_discrepancy_of_projections_detectable_by_dkw",
    "min_num_points_for_region_detection",
    "min_mass_of_regions_detectable",
]


def _check_projections(projections: int) -> int:
    if isinstance(projections, bool) or not isinstance(projections, int) or projections < 1:
        raise ValueError(f"projections must be a positive integer, got {projections!r}")
    return projections


def min_num_samples_for_projection_ks_test(gap: float, projections: int, *, alpha: float, beta: float,
                                           bracket: float = 0.0) -> int:
    """Smallest n at which the max-of-``projections`` KS test at level α detects a KS gap ``gap`` on
    one tested projection w.p. ≥ 1 − β; ``bracket`` (gridded CDFs) is subtracted from the gap first."""
    projections = _check_projections(projections)
    alpha = check_unit_interval("alpha", alpha)
    effective = float(gap) - float(bracket)
    if not (0.0 < effective < 1.0):
        raise ValueError(f"gap must exceed the CDF bracket {bracket:.3g} and lie below 1, got {gap!r}")
    return min_num_samples_for_dkw_cdf_test(effective, alpha=alpha / projections, beta=beta)


def min_discrepancy_of_projections_detectable_by_dkw(n: int, projections: int, *, alpha: float, beta: float,
                                                     bracket: float = 0.0) -> float:
    """Smallest projection KS gap the max-of-``projections`` test detects at n: ``ε(α/T) + ε(β) + bracket``."""
    projections = _check_projections(projections)
    alpha = check_unit_interval("alpha", alpha)
    return min_discrepancy_of_cdfs_detectable_by_dkw(n, alpha=alpha / projections, beta=beta) + float(bracket)


def min_num_points_for_region_detection(mass: float, *, beta: float) -> int:
    """Smallest n with ``(1 − mass)^n ≤ β``: n draws of p hit a set of p-mass ≥ ``mass`` w.p. ≥ 1 − β."""
    mass = check_unit_interval("mass", mass)
    beta = check_unit_interval("beta", beta)
    return max(1, int(math.ceil(math.log(beta) / math.log1p(-mass))))


def min_mass_of_regions_detectable(points: int, *, beta: float) -> float:
    """Smallest p-mass m that n = ``points`` draws hit w.p. ≥ 1 − β: ``1 − β^{1/n}``."""
    if isinstance(points, bool) or not isinstance(points, int) or points < 1:
        raise ValueError(f"points must be a positive integer, got {points!r}")
    beta = check_unit_interval("beta", beta)
    return -math.expm1(math.log(beta) / points)
