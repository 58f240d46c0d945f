"""Goodness of fit of a sample against an exact law through 1-D projections (claims spec, DKW).

For each projection ``⟨u, X⟩`` the claimed CDF is known either in closed form (a callable: Gaussian and
Gaussian-mixture laws) or on a grid with a uniform error bound (``GridCDF``: quadrature). The KS
distance of the sample to a grid-known monotone F is bounded below without interpolation: for a
sample point y with ``g_{i−1} < y ≤ g_i``, both ``F(y)`` and ``F(y−)`` lie in
``[F(g_{i−1}) − err, F(g_i) + err]``, so ``|F_n(y) − F(y)|`` is at least the distance of ``F_n(y)``
to that bracket. Using this lower bound keeps the test's false-alarm level; the bracket widths only
cost power (reported as part of the detectable gap).

``projection_fit_test``: H₀ "the sample has the claimed law"; statistic the largest KS (lower bound)
over T projections, rejected above ``ε_DKW(α/T)``. Since KS ≤ TV for every projection,
``statistic − ε_DKW(α/T)`` is also a lower confidence bound on TV(sample law, claimed law).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

import numpy as np
import torch

from estimators.dkw import (dkw_radius, ks_distance, min_discrepancy_of_cdfs_detectable_by_dkw,
                            min_num_samples_for_dkw_cdf_test)
from estimators.law_tests import FitResult
from estimators.multinomial_tv import multinomial_tv_radius
from primitives._checks import check_unit_interval

__all__ = ["GridCDF", "ks_lower_bound", "Projection", "ProjectionFit", "projection_fit_test",
           "multinomial_fit", "min_num_samples_for_projection_ks_test",
           "min_discrepancy_of_projections_detectable_by_dkw"]


@dataclass(frozen=True)
class GridCDF:
    """A CDF known at increasing ``grid`` points as ``values`` up to ``error`` (uniform)."""

    grid: np.ndarray
    values: np.ndarray
    error: float

    def __post_init__(self) -> None:
        if self.grid.ndim != 1 or self.grid.shape != self.values.shape or self.grid.size < 2:
            raise ValueError("grid and values must be 1-D arrays of the same length ≥ 2")
        if np.any(np.diff(self.grid) <= 0):
            raise ValueError("grid must be strictly increasing")

    @property
    def bracket(self) -> float:
        """Largest mass between consecutive grid points (plus the error): the power lost to gridding."""
        steps = np.diff(np.concatenate([[0.0], self.values, [1.0]]))
        return float(steps.max()) + 2 * self.error


def _as_numpy(samples) -> np.ndarray:
    if isinstance(samples, torch.Tensor):
        return samples.detach().cpu().numpy()
    return np.asarray(samples, dtype=float)


def ks_lower_bound(samples: np.ndarray, cdf: GridCDF) -> float:
    """A lower bound on ``sup_y |F_n(y) − F(y)|`` for every monotone F matching ``cdf`` within its error."""
    values = np.sort(np.asarray(samples, dtype=float).reshape(-1))
    n = values.size
    if n == 0:
        raise ValueError("samples must be non-empty")
    points = np.unique(values)
    right = np.searchsorted(values, points, side="right") / n
    left = np.searchsorted(values, points, side="left") / n
    index = np.searchsorted(cdf.grid, points, side="left")   # grid[index−1] < y ≤ grid[index]
    padded = np.concatenate([[0.0], cdf.values, [1.0]])
    low = np.clip(padded[index] - cdf.error, 0.0, 1.0)           # F(grid[index−1]) (0 below the grid)
    high = np.clip(padded[index + 1] + cdf.error, 0.0, 1.0)      # F(grid[index]) (1 above the grid)
    gaps = np.maximum.reduce([right - high, low - right, left - high, low - left, np.zeros_like(right)])
    return float(gaps.max())


CDF = Union[GridCDF, Callable[[np.ndarray], np.ndarray]]


@dataclass(frozen=True)
class Projection:
    """A direction u and the claimed CDF of ⟨u, X⟩ (closed-form callable or ``GridCDF``)."""

    name: str
    direction: np.ndarray
    cdf: CDF


class ProjectionFit(FitResult):
    """``law_tests.FitResult`` of a projection test, with its TV lower confidence bound."""

    @property
    def tv_lower(self) -> float:
        """Lower confidence bound on TV(sample law, claimed law) at the same level."""
        return max(self.statistic - self.threshold, 0.0)


def projection_fit_test(samples, projections: list[Projection], alpha: float, beta: float = 1e-3) -> ProjectionFit:
    """Level-α test of "samples ~ claimed law" on the given projections (Bonferroni over them)."""
    x = _as_numpy(samples)
    if x.ndim == 1:
        x = x[:, None]
    if not np.isfinite(x).all():
        raise ValueError("samples contain non-finite values")
    n = x.shape[0]
    distances, bracket = {}, 0.0
    for projection in projections:
        values = x @ np.asarray(projection.direction, dtype=float)
        if isinstance(projection.cdf, GridCDF):
            distances[projection.name] = ks_lower_bound(values, projection.cdf)
            bracket = max(bracket, projection.cdf.bracket)
        else:
            distances[projection.name] = ks_distance(values, projection.cdf)
    tests = len(projections)
    statistic = max(distances.values())
    threshold = dkw_radius(n, alpha / tests)
    return ProjectionFit(statistic=statistic, threshold=threshold, n=n,
                         detectable_gap=threshold + dkw_radius(n, beta) + bracket, rejected=statistic > threshold,
                         name=f"max of {tests} projection KS distances (lower bounds where the CDF is gridded) "
                              f"vs DKW ε(α/{tests})", per_projection=distances)


def multinomial_fit(labels: np.ndarray, probabilities: np.ndarray, alpha: float, beta: float = 1e-3) -> ProjectionFit:
    """Finite law: ``TV(p̂_n, q)`` against ``½Σ√(q_i/n) + √(log(1/α)/(2n))`` (claims spec)."""
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    n = labels.size
    counts = np.bincount(labels, minlength=probabilities.size) / n
    statistic = 0.5 * float(np.abs(counts - probabilities).sum())
    threshold = multinomial_tv_radius(n, alpha, probs=probabilities)
    power = multinomial_tv_radius(n, beta, support_size=probabilities.size)
    return ProjectionFit(statistic=statistic, threshold=threshold, n=n, detectable_gap=threshold + power,
                         rejected=statistic > threshold,
                         name="multinomial TV(p̂_n, q) vs ½Σ√(q_i/n) + √(log(1/α)/2n)", per_projection={"tv": statistic})


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
