"""Law checks of the per-step and trajectory chain samplers (``t7.sampler_law``, ``t7.ideal_exact``,
``t1.trajectory_exact``): goodness of fit of the sampler's x_0 to its exact law. Split out of
``theorems.diffusion_chains``, which registers the claims (ids and records unchanged).

* ``t7.sampler_law`` — the per-step sampler's x_0 has the law obtained by composing its clipped kernels
  (the law T7 reasons about): on the GMM the ridge coordinate ⟨û, x_0⟩ against the propagated CDF and the
  orthogonal coordinate against N(0, 1) (the noise and the tilt leave it untouched), α/2 each; on the masked
  chain the multinomial TV over the 512 sequences.
* ``t7.ideal_exact`` — with ``b_t ≥ sup V_t`` every term is 0, so the x_0 law is q_0 (goodness of fit).
* ``t1.trajectory_exact`` — trajectory-level rejection with ``B ≥ sup r`` outputs q_0 (T1 on paths).
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.special import ndtr

from estimators.dkw import dkw_radius, ks_distance
from estimators.multinomial_tv import multinomial_tv_radius
from estimators.dkw import min_discrepancy_of_cdfs_detectable_by_dkw, min_num_samples_for_dkw_cdf_test
from estimators.multinomial_tv import (min_gap_of_tvs_detectable_by_multinomial,
                                       min_num_samples_for_multinomial_tv_test)
from primitives.chain_samplers import trajectory_rejection_sample
from tiltproof.instances.chain import ChainInstance, ChainSampler, default_chain_sampler, make_baseline
from tiltproof.core.chain_x0_statistics import (FIT_GAP, MASKED_TV_GAP, _exact_sampler_law, _fit_units, _x0_fit,
                                          _x0_sample_size)
from tiltproof.core.framework import CheckContext, Evidence


def check_sampler_law(instance: ChainInstance, baseline_name: str, context: CheckContext, *,
                      sampler: ChainSampler = default_chain_sampler) -> Evidence:
    """The per-step sampler's x_0 against its exact law (composition of its clipped kernels)."""
    instance = instance.on(context.device)
    baseline = make_baseline(instance, baseline_name)
    _, _, quadrature_error, law = _exact_sampler_law(instance, baseline)
    details = {}
    if instance.kind != "masked":
        n = min_num_samples_for_dkw_cdf_test(FIT_GAP - quadrature_error, alpha=context.alpha / 2, beta=context.beta)
        result = sampler(instance, baseline, n, context.generator())
        points = instance.x0_points(result.samples)
        # The ridge coordinate carries the tilt; the orthogonal coordinate is an untouched N(0, 1) chain.
        direction = torch.as_tensor(law.direction, dtype=points.dtype, device=points.device)
        along = (points @ direction).cpu().numpy()
        across = (points - (points @ direction)[:, None] * direction).cpu().numpy() @ np.array([-law.direction[1], law.direction[0]])
        ridge_ks = ks_distance(along, law.x0_cdf)
        orthogonal_cdf = (instance.x0_target().orthogonal_cdf if instance.kind == "ddpm"
                          else (lambda y: ndtr(np.asarray(y, dtype=float))))
        orthogonal_ks = ks_distance(across, orthogonal_cdf)
        statistic = max(ridge_ks, orthogonal_ks)
        threshold = dkw_radius(n, context.alpha / 2) + quadrature_error
        detectable = min_discrepancy_of_cdfs_detectable_by_dkw(n, alpha=context.alpha / 2, beta=context.beta) + quadrature_error
        units = "KS on ⟨û, x_0⟩ and on the orthogonal coordinate"
        name = ("max KS of ⟨û, x_0⟩ (exact propagated CDF) and of the orthogonal coordinate (N(0, 1)) vs DKW ε(α/2) "
                "+ quadrature error")
        details = {"ridge_ks": ridge_ks, "orthogonal_ks": orthogonal_ks}
    else:
        n = min_num_samples_for_multinomial_tv_test(MASKED_TV_GAP, law.x0_probs, alpha=context.alpha, beta=context.beta)
        result = sampler(instance, baseline, n, context.generator())
        points = instance.x0_points(result.samples)
        counts = np.bincount(points.cpu().numpy(), minlength=law.x0_probs.size) / n
        statistic = 0.5 * float(np.abs(counts - law.x0_probs).sum())
        threshold = multinomial_tv_radius(n, context.alpha, probs=law.x0_probs)
        detectable = min_gap_of_tvs_detectable_by_multinomial(n, law.x0_probs, alpha=context.alpha, beta=context.beta)
        units = "TV over the 512 sequences (multinomial)"
        name = "multinomial TV to the exact enumerated law vs ½Σ√(p_i/n) + √(log(1/α)/2n)"
    return Evidence(holds=statistic <= threshold, statistic=name, bound=threshold, empirical=statistic,
                    confidence_bound=statistic, n=n, detectable_gap=detectable, detectable_gap_units=units,
                    margin=threshold - statistic,
                    message="" if statistic <= threshold else f"sampler law differs from its exact law: {statistic:.4g} > {threshold:.4g}",
                    details={"queries_per_sample": result.queries_per_sample, **details})


def check_ideal_exact(instance: ChainInstance, context: CheckContext, *,
                      sampler: ChainSampler = default_chain_sampler) -> Evidence:
    instance = instance.on(context.device)
    baseline = make_baseline(instance, "ideal")
    tv_exact, step_terms, quadrature_error, _ = _exact_sampler_law(instance, baseline)
    n = _x0_sample_size(instance, context.alpha / 2, context.beta)
    result = sampler(instance, baseline, n, context.generator())
    points = instance.x0_points(result.samples)
    statistic, threshold, name = _x0_fit(instance, points, context.alpha / 2)
    exact_ok = tv_exact <= 2.0 * quadrature_error + 1e-9 and float(np.abs(step_terms).max()) <= 1e-9 + quadrature_error
    holds = exact_ok and statistic <= threshold
    reasons = []
    if not exact_ok:
        reasons.append(f"exact TV {tv_exact:.3g} or a T7 term is not 0")
    if statistic > threshold:
        reasons.append(f"x_0 law differs from q_0: {statistic:.4g} > {threshold:.4g}")
    return Evidence(holds=holds, statistic=name + "; exact TV (α/2 each)", bound=threshold, exact=tv_exact,
                    empirical=statistic, confidence_bound=statistic, n=n,
                    detectable_gap=threshold + dkw_radius(n, context.beta), detectable_gap_units=_fit_units(instance),
                    margin=threshold - statistic,
                    message="; ".join(reasons), details={"queries_per_sample": result.queries_per_sample})


def default_trajectory_sampler(instance: ChainInstance, envelope_shift: float, n: int, generator: torch.Generator):
    return trajectory_rejection_sample(instance.chain, instance.reward, instance.lam, n,
                                       envelope=instance.reward.sup + envelope_shift, generator=generator)


def check_trajectory_exact(instance: ChainInstance, context: CheckContext, *, envelope_shift: float = 0.0) -> Evidence:
    instance = instance.on(context.device)
    n = _x0_sample_size(instance, context.alpha, context.beta)
    result = default_trajectory_sampler(instance, envelope_shift, n, context.generator())
    points = instance.x0_points(result.samples)
    statistic, threshold, name = _x0_fit(instance, points, context.alpha)
    return Evidence(holds=statistic <= threshold, statistic=name, bound=threshold, empirical=statistic,
                    confidence_bound=statistic, n=n, detectable_gap=threshold + dkw_radius(n, context.beta),
                    detectable_gap_units=_fit_units(instance), margin=threshold - statistic,
                    message="" if statistic <= threshold else f"x_0 law differs from q_0: {statistic:.4g} > {threshold:.4g}",
                    details={"queries_per_sample": result.queries_per_sample})
