"""Exact output laws of the peer samplers on finite reward laws, by enumeration.

All single-step peers here (SIR, best-of-N, RSO, QRS) draw iid base samples and select among them
through the rewards alone, so conditionally on its reward value the output is distributed as
``p(· | r(x) = v)``, exactly like the target q. Hence ``TV(π, q) = TV(π_R, q_R)``: the distance is
that of the *reward* laws, which for a finite reward law ``(v_j, p_j)`` is computed exactly here.

* SIR with M particles: counts ``c ~ Multinomial(M, p)``, ``π_R(v_j) = E[c_j w_j / Σ_k c_k w_k]``,
  ``w_j = e^{v_j/λ}``, summed over all compositions of M (stars and bars).
* best-of-N (ties broken at random): ``π_R(v_j) = F(v_j)^N − F(v_j−)^N``.
* RSO with N candidates on a two-atom law ``{0 < B}``: with ``c_B ~ Bin(N, p_B)`` hits, the envelope is
  B if ``c_B ≥ 1`` (every hit accepted, each miss with ``e^{−B/λ}``) and the first accepted in random order
  is uniform among the accepted, so ``π_R(B) = E[c_B / (c_B + A_0)]``, ``A_0 ~ Bin(N − c_B, e^{−B/λ})``.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.special import gammaln, logsumexp
from scipy.stats import binom

from estimators.exact.reward_law import DiscreteLaw
from primitives._checks import check_positive

__all__ = ["target_reward_probabilities", "sir_reward_probabilities", "best_of_n_reward_probabilities",
           "rso_reward_probabilities", "reward_tv"]


def _atoms(law: DiscreteLaw) -> tuple[np.ndarray, np.ndarray]:
    """Merge tied values; drop zero-probability atoms."""
    values, inverse = np.unique(law.values, return_inverse=True)
    probs = np.zeros(values.size)
    np.add.at(probs, inverse, np.exp(law.log_probs))
    keep = probs > 0
    return values[keep], probs[keep]


def target_reward_probabilities(law: DiscreteLaw, lam: float) -> tuple[np.ndarray, np.ndarray]:
    values, probs = _atoms(law)
    scores = np.log(probs) + values / check_positive("lam", lam)
    return values, np.exp(scores - logsumexp(scores))


def sir_reward_probabilities(law: DiscreteLaw, lam: float, particles: int, max_compositions: int = 3_000_000):
    values, probs = _atoms(law)
    lam = check_positive("lam", lam)
    k = values.size
    total = math.comb(particles + k - 1, k - 1)
    if total > max_compositions:
        raise ValueError(f"particles={particles} over {k} atoms needs {total} compositions (> {max_compositions})")
    counts = np.array([np.diff((-1, *bars, particles + k - 1)) - 1
                       for bars in itertools.combinations(range(particles + k - 1), k - 1)])
    log_pmf = gammaln(particles + 1) - gammaln(counts + 1).sum(1) + (counts * np.log(probs)).sum(1)
    with np.errstate(divide="ignore"):
        log_mass = np.log(counts) + values / lam
    share = np.exp(log_mass - logsumexp(log_mass, axis=1, keepdims=True))
    return values, np.exp(log_pmf) @ share


def best_of_n_reward_probabilities(law: DiscreteLaw, n: int):
    values, probs = _atoms(law)
    cdf = np.cumsum(probs)
    left = np.concatenate([[0.0], cdf[:-1]])
    return values, np.clip(cdf, 0, 1) ** n - left**n


def rso_reward_probabilities(law: DiscreteLaw, lam: float, candidates: int):
    values, probs = _atoms(law)
    if values.size != 2:
        raise ValueError("the exact RSO law is implemented for two-atom reward laws (step rewards)")
    gap = values[1] - values[0]
    miss_accept = math.exp(-gap / check_positive("lam", lam))
    hits = np.arange(candidates + 1)
    hit_pmf = binom.pmf(hits, candidates, probs[1])
    top = 0.0
    for c_hit, mass in zip(hits[1:], hit_pmf[1:]):
        misses = np.arange(candidates - c_hit + 1)
        top += mass * float(binom.pmf(misses, candidates - c_hit, miss_accept) @ (c_hit / (c_hit + misses)))
    return values, np.array([1.0 - top, top])


def reward_tv(first: np.ndarray, second: np.ndarray) -> float:
    return 0.5 * float(np.abs(np.asarray(first) - np.asarray(second)).sum())
