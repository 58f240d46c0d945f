"""Region sampling: how many points from p find an implementation wrong on a set of p-mass m.

A deterministic per-point check (a prox oracle's objective at x against a certified optimum) run at n
points drawn from p misses an implementation that is wrong on a set of p-mass ≥ m with probability
``(1 − m)^n``; so ``n = ⌈log β / log(1 − m)⌉`` points find it w.p. ≥ 1 − β (n ≈ log(1/β)/m;
``min_num_points_for_region_detection``), and n points find every set of mass ≥ ``1 − β^{1/n}``
(``min_mass_of_regions_detectable``). The check has no false fails, so no α.
"""
from __future__ import annotations

import math

from primitives._checks import check_unit_interval

__all__ = ["min_num_points_for_region_detection", "min_mass_of_regions_detectable"]


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
