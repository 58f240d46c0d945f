"""The exact output law of soft best-of-n on a finite base, by enumeration, and the quantities of its KL bound.

Let ``w = e^{r/λ}``, ``Z = E_p[w]``, ``π_λ = p·w/Z``. Draw i is chosen with probability ``w(X_i)/Σ_j w(X_j)``, so
``P_n(x) = n·p(x)·w(x)·E[1/(w(x) + S_{n−1})]`` with ``S_{n−1}`` the sum of ``w`` over ``n − 1`` i.i.d. draws from
``p``. The expectation is a finite sum over the count vectors ``c`` of ``n − 1`` draws (multinomial weights),
computed in log space. This route shares nothing with ``softbon_theorem.sampler`` (no sampling, no softmax).
"""
from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.special import gammaln, logsumexp

__all__ = ["soft_bon_law", "tilted_law", "kl", "chi_square", "kl_bound"]


def _count_vectors(k: int, total: int):
    for cut in itertools.combinations(range(total + k - 1), k - 1):  # stars and bars
        edges = (-1,) + cut + (total + k - 1,)
        yield np.array([edges[i + 1] - edges[i] - 1 for i in range(k)])


def soft_bon_law(probs: np.ndarray, rewards: np.ndarray, lam: float, n: int) -> np.ndarray:
    """Exact ``P_n`` (a probability vector over the K categories)."""
    probs, rewards = np.asarray(probs, dtype=float), np.asarray(rewards, dtype=float)
    if not lam > 0 or n < 1:
        raise ValueError(f"need lam > 0 and n ≥ 1, got lam={lam!r}, n={n!r}")
    log_w = rewards / lam
    support = probs > 0
    log_p = np.where(support, np.log(np.where(support, probs, 1.0)), -np.inf)
    terms = []  # log E[1/(w(x) + S)] for each x, over the count vectors of the n − 1 other draws
    counts = list(_count_vectors(len(probs), n - 1))
    log_weight = np.array([gammaln(n) - gammaln(c + 1).sum() + float(np.sum(np.where(c > 0, c * log_p, 0.0)))
                           for c in counts])
    log_sums = np.array([logsumexp(np.where(c > 0, np.log(np.maximum(c, 1)) + log_w, -np.inf)) for c in counts])
    for x in range(len(probs)):
        log_denominator = np.logaddexp(log_w[x], log_sums)
        terms.append(logsumexp(log_weight - log_denominator))
    law = np.where(support, np.exp(math.log(n) + log_p + log_w + np.array(terms)), 0.0)
    return law


def tilted_law(probs: np.ndarray, rewards: np.ndarray, lam: float) -> np.ndarray:
    """``π_λ ∝ p·e^{r/λ}``."""
    logits = np.log(np.asarray(probs, dtype=float)) + np.asarray(rewards, dtype=float) / lam
    return np.exp(logits - logsumexp(logits))


def kl(first: np.ndarray, second: np.ndarray) -> float:
    """``KL(first ‖ second) = Σ first·log(first/second)`` (0·log 0 = 0)."""
    mask = first > 0
    return float(np.sum(first[mask] * (np.log(first[mask]) - np.log(second[mask]))))


def chi_square(probs: np.ndarray, rewards: np.ndarray, lam: float) -> float:
    """``χ²(π_λ ‖ p) = Var_p(w)/Z²``."""
    w = np.exp(np.asarray(rewards, dtype=float) / lam)
    z = float(np.dot(probs, w))
    return float(np.dot(probs, w * w)) / z**2 - 1.0


def kl_bound(reward_range: float, lam: float, n: int) -> float:
    """``log(1 + (e^{R/λ} − 1)² / (4 e^{R/λ} n))`` for rewards in ``[0, R]`` (see ``softbon_theorem.claims``)."""
    m = math.exp(reward_range / lam)
    return math.log1p((m - 1.0) ** 2 / (4.0 * m * n))
