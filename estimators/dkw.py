"""The DKW test of a 1-D CDF (sup distance), with its design companions (TFP's ``…_by_dkwm`` triple).

DKW with Massart's constant: ``P(sup_y |F_n(y) − F(y)| > ε) ≤ 2 e^{−2nε²}``, so ``ε(n, α) = √(log(2/α)/2n)``
(``dkw_radius``) is a level-α threshold on the KS distance (``ks_distance``) of a sample to the claimed F.
Under a truth at KS distance ≥ gap the empirical distance is ≥ gap − ε(n, β) w.p. ≥ 1 − β, so the test
detects ``gap ≥ ε(n, α) + ε(n, β)`` (``min_discrepancy_of_cdfs_detectable_by_dkw``); n ∝ log(1/α)/gap²
(``min_num_samples_for_dkw_cdf_test``, closed form). The max over T projections is in
``estimators.projection_fit``; the group-sequential version in ``estimators.sequential``.
"""
from __future__ import annotations

import math

import numpy as np

from estimators.design import check_rate
from primitives._checks import check_unit_interval

__all__ = [
    "dkw_radius",
    "ks_distance",
    "min_discrepancy_of_cdfs_detectable_by_dkw",
    "min_num_samples_for_dkw_cdf_test",
]


def dkw_radius(n: int, alpha: float) -> float:
    """``ε = √(log(2/α)/(2n))``: ``P(sup_y |F_n(y) − F(y)| > ε) ≤ α`` (DKW–Massart)."""
    alpha = check_unit_interval("alpha", alpha)
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    return math.sqrt(math.log(2.0 / alpha) / (2.0 * n))


def ks_distance(samples: np.ndarray, cdf, cdf_left=None) -> float:
    """``sup_y |F_n(y) − F(y)|`` exactly, for a claimed CDF F that may have atoms.

    ``cdf(y) = P(Y ≤ y)`` and ``cdf_left(y) = P(Y < y)`` (omit for a continuous F). Between
    consecutive sample points F_n is constant and F monotone, so the supremum is attained at a sample
    point, from the right (``F_n(y) − F(y)``) or from the left (``F(y−) − F_n(y−)``); atoms of F at
    non-sample points are covered because F_n is constant across them.
    """
    values = np.sort(np.asarray(samples, dtype=float).reshape(-1))
    n = values.shape[0]
    if n == 0:
        raise ValueError("samples must be non-empty")
    points = np.unique(values)
    right_empirical = np.searchsorted(values, points, side="right") / n
    left_empirical = np.searchsorted(values, points, side="left") / n
    right_claimed = np.asarray(cdf(points), dtype=float)
    left_claimed = right_claimed if cdf_left is None else np.asarray(cdf_left(points), dtype=float)
    # Also the side of each point not attained by a sample: F_n(y−) vs F(y−) and F_n(y) vs F(y).
    return float(
        max(np.max(np.abs(right_empirical - right_claimed)), np.max(np.abs(left_empirical - left_claimed)))
    )


def min_discrepancy_of_cdfs_detectable_by_dkw(n: int, *, alpha: float, beta: float) -> float:
    """Smallest sup |F − F₀| that the level-α DKW test detects w.p. ≥ 1 − β: ε(n, α) + ε(n, β)."""
    return dkw_radius(n, alpha) + dkw_radius(n, beta)


def min_num_samples_for_dkw_cdf_test(gap: float, *, alpha: float, beta: float) -> int:
    """Smallest n with ``min_discrepancy_of_cdfs_detectable_by_dkw(n) ≤ gap`` (closed form)."""
    gap = check_rate("gap", gap)
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    root = math.sqrt(math.log(2.0 / alpha) / 2.0) + math.sqrt(math.log(2.0 / beta) / 2.0)
    return int(math.ceil((root / gap) ** 2))
