"""Statistics of a chain sampler's x_0 against the exact aligned law q_0 (used by the T7/T1 chain claims and by
``check_chain_sampler``), and the exact law of a per-step sampler (ridge quadrature on the GMM, enumeration on
the masked chain). Split out of ``theorems.diffusion_chains`` (which re-exports these names).

Power: the GMM checks are DKW tests designed for a KS gap of ``FIT_GAP`` = 0.05 in every projection (a lower
bound on TV); the masked checks are multinomial TV tests over the 512 sequences designed for a TV gap of
``MASKED_TV_GAP`` = 0.2 (``estimators.dkw``, ``estimators.multinomial_tv``; the 2λ-acceptance bug is at TV 0.30). Each record reports the
detectable gap of the statistic it used and its units.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from estimators.exact.finite_chain_law import aligned_data_law, finite_sampler_law
from estimators.exact.ridge_chain_law import ridge_sampler_law
from estimators.binomial import clopper_pearson_lower, clopper_pearson_upper
from estimators.dkw import dkw_radius, ks_distance
from estimators.dkw import min_discrepancy_of_cdfs_detectable_by_dkw, min_num_samples_for_dkw_cdf_test
from estimators.multinomial_tv import (min_gap_of_tvs_detectable_by_tv_lower_bound,
                                       min_num_samples_for_tv_lower_bound_test)
from estimators.law_tests import tv_lower_confidence
from tiltproof.instances.chain import ChainInstance

FIT_GAP = 0.05            # smallest KS / projection gap each GMM law check detects w.p. ≥ 1 − β
MASKED_TV_GAP = 0.2       # smallest TV gap each masked-chain law check detects w.p. ≥ 1 − β


def _reward_projection_tv_lower(instance: ChainInstance, points, alpha: float) -> tuple[float, float]:
    """KS on the reward's law (≤ TV) minus the DKW radius: (estimate, lower bound)."""
    target = instance.x0_target()
    if instance.kind != "masked":
        rewards = instance.reward(points).cpu().numpy()
    else:
        rewards = target.reward(points).cpu().numpy()
    distance = ks_distance(rewards, target.reward_cdf, target.reward_cdf_left)
    return distance, max(0.0, distance - dkw_radius(len(rewards), alpha))


def ridge_projection_cdfs(instance: ChainInstance) -> dict[str, Callable]:
    """Exact CDFs of q_0's projections for the reference GMM (ridge-reducible along e_1): the ridge
    coordinate ``x_1`` (``q_0(x_1 ≤ y) = Σ_k π_k [e^{B/λ}Φ(min(y,κ) − m_k) + (Φ(y − m_k) − Φ(κ − m_k))_+]/Z``),
    the orthogonal coordinate ``x_2 ~ N(0, 1)`` (untouched by the tilt), and the reward (two atoms)."""
    if instance.kind == "ddpm":
        target = instance.x0_target()
        return {"reward": (target.reward_cdf, target.reward_cdf_left), "x0": (target.ridge_cdf, None),
                "x1": (target.orthogonal_cdf, None)}
    diffusion, reward, lam = instance.chain, instance.reward, instance.lam
    weights = diffusion.weights.cpu().numpy()
    means = diffusion.means[:, 0].cpu().numpy()
    kappa, height = reward.threshold, reward.height
    log_z = instance.values.root() / lam
    from scipy.special import logsumexp, ndtr

    def ridge(y):
        y = np.atleast_1d(np.asarray(y, dtype=float))[:, None]
        inside = math.exp(height / lam) * ndtr(np.minimum(y, kappa) - means)
        outside = np.clip(ndtr(y - means) - ndtr(kappa - means), 0.0, None)
        return np.clip(((inside + outside) * weights).sum(-1) * math.exp(-log_z), 0.0, 1.0)

    target = instance.x0_target()
    return {"reward": (target.reward_cdf, target.reward_cdf_left), "x0": (ridge, None),
            "x1": (lambda y: ndtr(np.asarray(y, dtype=float)), None)}


def gmm_projection_distances(instance: ChainInstance, points: torch.Tensor) -> dict[str, float]:
    cdfs = ridge_projection_cdfs(instance)
    rewards = instance.reward(points).cpu().numpy()
    array = points.cpu().numpy()
    return {"reward": ks_distance(rewards, *cdfs["reward"]), "x0": ks_distance(array[:, 0], cdfs["x0"][0]),
            "x1": ks_distance(array[:, 1], cdfs["x1"][0])}


def _rare_event(instance: ChainInstance, points, alpha: float) -> tuple[float, float, float, float]:
    """The reward's top atom ``{r(x_0) = B}``: (q_0 mass, empirical frequency, two-sided exact
    Clopper–Pearson interval at level α). ``|P̂(A) − q_0(A)| ≤ TV``, and the binomial test is far more
    powerful than DKW when q_0(A) is small."""
    target = instance.x0_target()
    rewards = (instance.reward(points) if instance.kind != "masked" else target.reward(points)).cpu().numpy()
    hits, n = int((rewards >= instance.height).sum()), len(rewards)
    mass = 1.0 - float(target.reward_cdf_left(np.array([instance.height]))[0])
    return mass, hits / n, clopper_pearson_lower(hits, n, alpha / 2), clopper_pearson_upper(hits, n, alpha / 2)


def x0_tv_lower(instance: ChainInstance, samples: torch.Tensor, alpha: float, beta: float):
    """Lower confidence bound (level α) on ``TV(law of x_0, q_0)``: the largest of the projection KS
    distances minus their DKW radius and the rare-event gap outside its Clopper–Pearson interval
    (each ≤ TV), Bonferroni over the statistics."""
    points = instance.x0_points(samples)
    n = len(points)
    mass, frequency, low, high = _rare_event(instance, points, alpha / 2)
    rare_lower = max(0.0, low - mass, mass - high)
    if instance.kind != "masked":
        estimate = max(gmm_projection_distances(instance, points).values())
        radius = dkw_radius(n, alpha / 6)
        name = "max(3 exact projection KS (reward, x_1, x_2) − DKW ε(α/6), rare-event Clopper–Pearson gap (α/2)) ≤ TV"
    else:
        multinomial = tv_lower_confidence(points, instance.x0_target(), alpha / 2, beta)
        estimate, radius = multinomial.estimate, multinomial.estimate - multinomial.lower
        name = "max(multinomial TV − its radius (α/2), rare-event Clopper–Pearson gap (α/2)) ≤ TV"
    lower = max(max(0.0, estimate - radius), rare_lower)
    if instance.kind != "masked":
        detectable = min_discrepancy_of_cdfs_detectable_by_dkw(n, alpha=alpha / 6, beta=beta)
    else:
        detectable = min_gap_of_tvs_detectable_by_tv_lower_bound(n, instance.chain.sequences.shape[0], alpha=alpha / 2,
                                                                 beta=beta)
    return max(estimate, abs(frequency - mass)), lower, detectable, name


def x0_tv_units(instance: ChainInstance) -> str:
    """Units of ``x0_tv_lower``'s detectable gap."""
    if instance.kind != "masked":
        return "KS on each projection (reward, x_1, x_2), a lower bound on TV(q̂_0, q_0) − bound"
    return "TV(q̂_0, q_0) in excess of the bound (multinomial over the 512 sequences)"


def _x0_sample_size(instance: ChainInstance, alpha: float, beta: float, statistic: str = "fit") -> int:
    """n from the design of the statistic used: DKW for a KS gap ``FIT_GAP`` in every projection (GMM, and the
    masked chain's reward projection in ``_x0_fit``); the multinomial TV lower bound over the 512 sequences for
    a TV gap ``MASKED_TV_GAP`` (masked ``x0_tv_lower``)."""
    if instance.kind == "masked" and statistic == "tv-lower":
        return min_num_samples_for_tv_lower_bound_test(MASKED_TV_GAP, instance.chain.sequences.shape[0],
                                                       alpha=alpha / 2, beta=beta)
    share = alpha / 6 if instance.kind != "masked" else alpha / 2
    return min_num_samples_for_dkw_cdf_test(FIT_GAP, alpha=share, beta=beta)


def _x0_fit(instance: ChainInstance, points, alpha: float) -> tuple[float, float, str]:
    """Goodness of fit of x_0 to q_0 at level α: (statistic, threshold, name). Rejects when a projection
    KS distance exceeds its DKW radius (α/2 split over the projections) or when q_0's rare-event mass
    lies outside the exact two-sided Clopper–Pearson interval (α/2); reported in KS units, with the
    rare-event test's excess added to the statistic."""
    n = len(points)
    mass, frequency, low, high = _rare_event(instance, points, alpha / 2)
    excess = max(0.0, low - mass, mass - high)
    if instance.kind != "masked":
        statistic = max(gmm_projection_distances(instance, points).values())
        threshold = dkw_radius(n, alpha / 6)
        name = "max of 3 exact projection KS vs DKW ε(α/6); rare-event mass in its Clopper–Pearson interval (α/2)"
    else:
        statistic, _ = _reward_projection_tv_lower(instance, points, alpha / 2)
        threshold = dkw_radius(n, alpha / 2)
        name = "reward KS vs DKW ε(α/2); rare-event mass in its Clopper–Pearson interval (α/2)"
    return (statistic if excess == 0.0 else max(statistic, threshold) + excess), threshold, name


def _fit_units(instance: ChainInstance) -> str:
    if instance.kind != "masked":
        return "KS on each projection (reward, x_1, x_2) of x_0"
    return "KS on r(x_0)"


def _exact_sampler_law(instance: ChainInstance, baseline):
    """(exact TV of x_0, exact T7 terms, quadrature error, exact law object)."""
    if instance.kind == "ddpm":
        from estimators.exact.ddpm_sampler_law import ddpm_sampler_law
        from tiltproof.instances.chain import ddpm_exact

        law = ddpm_sampler_law(ddpm_exact(instance.height, instance.lam), baseline)
        return law.tv_x0, law.step_terms, law.quadrature_error, law
    if instance.kind != "masked":
        law = ridge_sampler_law(instance.chain, instance.values, baseline)
        return law.tv_x0, law.step_terms, law.quadrature_error, law
    law = finite_sampler_law(instance.chain, instance.values, baseline)
    q0 = aligned_data_law(instance.chain, instance.reward, instance.lam)
    return 0.5 * float(np.abs(law.x0_probs - q0).sum()), law.step_terms, 0.0, law
