"""TV tests of a sample from a finite law, with their design companions.

``E TV(p̂_n, p) ≤ ½ Σ √(p_i/n)`` (Cauchy–Schwarz per atom) plus McDiarmid's ``√(log(1/α)/(2n))`` bounds the
empirical TV with probability ≥ 1 − α (``multinomial_tv_radius``).

* **Fit test** (H₀ "the sample has law q"; run by ``estimators.projection_fit.multinomial_fit`` and
  ``estimators.law_tests.fit_test``): ``TV(p̂_n, q)`` against ``½Σ√(q_i/n) + √(log(1/α)/2n)``; it detects
  TV ≥ threshold + ½√(K/n) + √(log(1/β)/2n) (``min_gap_of_tvs_detectable_by_multinomial``,
  ``min_num_samples_for_multinomial_tv_test``; the gap scales as 1/√n).
* **Lower-bound test** (``TV(p̂_n, q) − ½√(K/n) − √(log(1/α)/2n) > bound`` for an unknown law on K atoms):
  ``min_gap_of_tvs_detectable_by_tv_lower_bound``, ``min_num_samples_for_tv_lower_bound_test``.
"""
from __future__ import annotations

import math

import numpy as np

from estimators.design import check_rate
from primitives._checks import check_unit_interval

__all__ = [
    "multinomial_tv_radius",
    "min_gap_of_tvs_detectable_by_multinomial",
    "min_num_samples_for_multinomial_tv_test",
    "min_gap_of_tvs_detectable_by_tv_lower_bound",
    "min_num_samples_for_tv_lower_bound_test",
]


def multinomial_tv_radius(n: int, alpha: float, probs: np.ndarray | None = None, support_size: int | None = None) -> float:
    """Upper bound on ``TV(p̂_n, p)`` w.p. ≥ 1 − α: ``½ Σ √(p_i/n) + √(log(1/α)/(2n))``.

    Without ``probs``, Cauchy–Schwarz gives ``½ Σ √p_i ≤ ½ √K`` for a support of size K.
    """
    alpha = check_unit_interval("alpha", alpha)
    if probs is not None:
        expectation = 0.5 * float(np.sum(np.sqrt(np.asarray(probs, dtype=float) / n)))
    elif support_size is not None:
        expectation = 0.5 * math.sqrt(support_size / n)
    else:
        raise ValueError("pass probs or support_size")
    return expectation + math.sqrt(math.log(1.0 / alpha) / (2.0 * n))


def min_gap_of_tvs_detectable_by_multinomial(n: int, probs, *, alpha: float, beta: float) -> float:
    """Smallest TV(P, q) the multinomial TV test detects w.p. ≥ 1 − β at n draws.

    Under P the empirical TV to q is ≥ TV(P, q) − TV(p̂_n, P), and ``TV(p̂_n, P) ≤ ½√(K/n) +
    √(log(1/β)/2n)`` w.p. ≥ 1 − β (Cauchy–Schwarz on the unknown P); so TV(P, q) ≥ threshold(α) +
    that radius is rejected.
    """
    probs = np.asarray(probs, dtype=float)
    return multinomial_tv_radius(n, alpha, probs=probs) + multinomial_tv_radius(n, beta, support_size=probs.size)


def min_num_samples_for_multinomial_tv_test(gap: float, probs, *, alpha: float, beta: float) -> int:
    """Smallest n with ``min_gap_of_tvs_detectable_by_multinomial(n) ≤ gap`` (the gap scales as 1/√n)."""
    gap = check_rate("gap", gap)
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    probs = np.asarray(probs, dtype=float)
    scale = min_gap_of_tvs_detectable_by_multinomial(1, probs, alpha=alpha, beta=beta)
    return max(1, int(math.ceil((scale / gap) ** 2)))


def min_gap_of_tvs_detectable_by_tv_lower_bound(n: int, support: int, *, alpha: float, beta: float) -> float:
    """Smallest excess of TV(P, q) over a bound that the test "TV(p̂_n, q) − ½√(K/n) − √(log(1/α)/2n) > bound"
    detects w.p. ≥ 1 − β for an unknown P on K atoms: both radii use Cauchy–Schwarz (P unknown), so the
    gap is ``√(K/n) + √(log(1/α)/2n) + √(log(1/β)/2n)``."""
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    return (math.sqrt(support) + math.sqrt(math.log(1 / alpha) / 2) + math.sqrt(math.log(1 / beta) / 2)) / math.sqrt(n)


def min_num_samples_for_tv_lower_bound_test(gap: float, support: int, *, alpha: float, beta: float) -> int:
    """Smallest n with ``min_gap_of_tvs_detectable_by_tv_lower_bound(n) ≤ gap`` (closed form, n ∝ 1/gap²)."""
    gap = check_unit_interval("gap", gap)
    return int(math.ceil((min_gap_of_tvs_detectable_by_tv_lower_bound(1, support, alpha=alpha, beta=beta) / gap) ** 2))
