"""Exact single-step quantities of tilted rejection sampling (LCB spec T1–T5), in log space.

With ``a = 1/λ``, ``w = e^{aR}``, ``c = e^{ab}`` and the law of R under p:

* ``Z = E_p[w]`` and the soft value ``V = λ log Z``;
* ``Z_b = E_p[min(1, e^{a(R−b)})] = e^{−ab} E_p[w 1{R ≤ b}] + P_p(R > b)``;
* ``N(b) = 1/Z_b`` proposals per accepted sample;
* ``D/Z = E_q[(1 − e^{a(b−R)})_+] = P_q(R > b) − e^{ab} P_p(R > b)/Z``, the clipped mass (T2, T4);
* ``c Z_b / Z = 1 − D/Z``, computed as a log-ratio (it cancels catastrophically when b is low);
* ``TV(q_b, q) = P_q(R > b*) − P_p(R > b*)/Z_b`` with ``b* = λ log(Z/Z_b) ≥ b``: q exceeds q_b
  exactly where ``w/Z > 1/Z_b`` (T2, exact value).

Differences of two probabilities are formed as ``P·(−expm1(log Q − log P))`` so that small
quantities keep their relative precision.
"""
from __future__ import annotations

import math

import numpy as np

from estimators.exact.reward_law import RewardLaw
from primitives._checks import check_finite_scalar, check_positive

__all__ = [
    "log_partition",
    "soft_value",
    "log_clipped_partition",
    "expected_proposals",
    "log_expected_proposals",
    "log_unclipped_fraction",
    "clip_mass",
    "tail_probability_q",
    "tv_to_target",
    "reward_cdf",
]


def _difference(log_larger: float, log_smaller: float) -> float:
    """``e^{log_larger} − e^{log_smaller}`` for ``log_smaller ≤ log_larger``, clipped at 0."""
    if log_larger == -math.inf:
        return 0.0
    return max(0.0, float(math.exp(log_larger) * -math.expm1(min(log_smaller - log_larger, 0.0))))


def _differences(log_larger: np.ndarray, log_smaller: float) -> np.ndarray:
    """``_difference`` elementwise over an array of ``log_larger`` (one vectorised pass, no Python loop)."""
    log_larger = np.asarray(log_larger, dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        gap = np.minimum(log_smaller - log_larger, 0.0)
        values = np.exp(log_larger) * -np.expm1(gap)
    return np.where(np.isneginf(log_larger), 0.0, np.maximum(values, 0.0))


def log_partition(law: RewardLaw, lam: float) -> float:
    """``log Z = Λ_p(1/λ) = log E_p e^{R/λ}``."""
    lam = check_positive("lam", lam)
    return float(law.log_mgf(1.0 / lam))


def soft_value(law: RewardLaw, lam: float) -> float:
    """``V = λ log Z``."""
    return lam * log_partition(law, lam)


def log_clipped_partition(law: RewardLaw, lam: float, baseline: float) -> float:
    """``log Z_b = log(e^{−b/λ} E_p[e^{R/λ} 1{R ≤ b}] + P_p(R > b))``."""
    lam = check_positive("lam", lam)
    b = check_finite_scalar("baseline", baseline)
    a = 1.0 / lam
    return float(np.logaddexp(-a * b + law.log_mass_below(a, b), law.log_mass_above(0.0, b)))


def log_expected_proposals(law: RewardLaw, lam: float, baseline: float) -> float:
    """``log N(b) = −log Z_b``."""
    return -log_clipped_partition(law, lam, baseline)


def expected_proposals(law: RewardLaw, lam: float, baseline: float) -> float:
    """``N(b) = 1/Z_b`` (T4)."""
    return math.exp(log_expected_proposals(law, lam, baseline))


def log_unclipped_fraction(law: RewardLaw, lam: float, baseline: float) -> float:
    """``log(1 − D/Z) = log(c Z_b / Z) = b/λ + log Z_b − log Z`` (≤ 0)."""
    value = baseline / lam + log_clipped_partition(law, lam, baseline) - log_partition(law, lam)
    return min(value, 0.0)


def clip_mass(law: RewardLaw, lam: float, baseline: float) -> float:
    """``D/Z = E_q[(1 − e^{(b−R)/λ})_+] = P_q(R > b) − e^{b/λ} P_p(R > b)/Z`` (T2)."""
    lam = check_positive("lam", lam)
    b = check_finite_scalar("baseline", baseline)
    a = 1.0 / lam
    log_z = log_partition(law, lam)
    tilted_tail = float(law.log_mass_above(a, b)) - log_z
    plain_tail = a * b + float(law.log_mass_above(0.0, b)) - log_z
    return _difference(tilted_tail, plain_tail)


def tail_probability_q(law: RewardLaw, lam: float, threshold: float) -> float:
    """``P_q(R > y)`` under the target ``q ∝ p e^{R/λ}``."""
    lam = check_positive("lam", lam)
    a = 1.0 / lam
    return float(math.exp(float(law.log_mass_above(a, threshold)) - log_partition(law, lam)))


def tv_to_target(law: RewardLaw, lam: float, baseline: float) -> float:
    """Exact ``TV(q_b, q) = P_q(R > b*) − P_p(R > b*)/Z_b`` with ``b* = λ log(Z/Z_b)`` (T2)."""
    lam = check_positive("lam", lam)
    a = 1.0 / lam
    log_z = log_partition(law, lam)
    log_zb = log_clipped_partition(law, lam, baseline)
    crossing = lam * (log_z - log_zb)
    tilted_tail = float(law.log_mass_above(a, crossing)) - log_z
    plain_tail = float(law.log_mass_above(0.0, crossing)) - log_zb
    return _difference(tilted_tail, plain_tail)


def reward_cdf(law: RewardLaw, lam: float, baseline: float | None, y, *, strict: bool = False) -> np.ndarray:
    """CDF of R under ``q_b`` (``baseline`` given) or under q (``baseline=None``), at points y.

    ``strict=True`` gives ``P(R < y)`` (left limits; differs from ``P(R ≤ y)`` only at atoms).
    Under q_b: ``P(R ≤ y) = [e^{−ab} E_p[w 1{R ≤ min(y, b)}] + P_p(b < R ≤ y)] / Z_b``.
    """
    lam = check_positive("lam", lam)
    a = 1.0 / lam
    y = np.asarray(y, dtype=float)
    if strict:
        # P(R < y) = P(R ≤ y') for y' just below y: use the complementary masses instead.
        return 1.0 - _upper_cdf(law, lam, baseline, y)
    if baseline is None:
        return np.exp(law.log_mass_below(a, y) - log_partition(law, lam))
    b = check_finite_scalar("baseline", baseline)
    log_zb = log_clipped_partition(law, lam, b)
    clipped_region = -a * b + law.log_mass_below(a, np.minimum(y, b))
    above_b = np.where(y > b, _differences(law.log_mass_below(0.0, np.maximum(y, b)), float(law.log_mass_below(0.0, b))),
                       0.0).reshape(y.shape)
    return np.clip(np.exp(clipped_region - log_zb) + above_b / math.exp(log_zb), 0.0, 1.0)


def _upper_cdf(law: RewardLaw, lam: float, baseline: float | None, y: np.ndarray) -> np.ndarray:
    """``P(R ≥ y)`` under q_b or q, through the masses above (``mass_above(y−)`` = ``≥ y``)."""
    a = 1.0 / lam
    below_left = np.nextafter(y, -np.inf)
    if baseline is None:
        return np.exp(law.log_mass_above(a, below_left) - log_partition(law, lam))
    b = baseline
    log_zb = log_clipped_partition(law, lam, b)
    # ≥ y splits into the part at or below b (weight e^{a(R−b)}) and the part above b (weight 1).
    upper_part = np.exp(law.log_mass_above(0.0, np.maximum(below_left, b)) - log_zb)
    lower = np.where(below_left < b, _differences(law.log_mass_above(a, np.minimum(below_left, b)),
                                                  float(law.log_mass_above(a, b))), 0.0).reshape(y.shape)
    return np.clip(upper_part + lower * math.exp(-a * b - log_zb), 0.0, 1.0)
