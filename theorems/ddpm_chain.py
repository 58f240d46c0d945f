"""The LCB authors' own Gaussian-mixture chain as an exact instance (``gmm-ddpm-B*``; paper-fidelity §1).

The chain (``primitives.ddpm_chain``): x_19 ~ N(0, I), 19 DDPM steps with the exact mixture score at ``ᾱ[t]``;
its own x_0 marginal (not the data mixture), its soft values and the aligned law ``q_0 ∝ p_0 e^{r/λ}`` come
from 1-D quadrature on the ridge coordinate (``estimators.exact.ddpm_law``: the coordinates decouple), with a
stated error (grid doubling, the forward/backward ``log Z`` routes, linear interpolation of ``V_t``).

Claims registered here:

* ``ddpm.x0_marginal`` — the torch kernel's x_0 (the unaligned chain, sampled) has the exactly computed
  marginal: KS of the ridge coordinate against the quadrature CDF and of the orthogonal coordinate against
  its Gaussian, DKW at α/2 each, n designed so that a KS gap of ``FIT_GAP`` = 0.05 is detected w.p. ≥ 1 − β.
  This ties the exact side to the kernel under test: the exact side never calls the kernel.
* ``t1.trajectory_exact`` (T1 on paths) — trajectory rejection with envelope ``B = sup r`` on the DDPM
  kernel outputs q_0: goodness of fit of x_0 (reward, ridge and orthogonal projections, rare-event mass).
* ``t4.step_proposals_identity`` — the per-state proposal count identity at the parent (−1, 0), t = 10.
* ``t7.ideal_exact``, ``t7.path_tv``, ``t7.sampler_law`` — as on ``gmm-ref-*``
  (``theorems.diffusion_chains``), with the exact sampler law from ``estimators.exact.ddpm_sampler_law``.

Wrong variant that perturbs code: the DDPM step with its score taken at ``ᾱ[t+1]`` instead of ``ᾱ[t]``
(``MixtureScoreDDPM(score_shift=1)``): its x_0 marginal is 0.31 away in KS on the ridge (exact), its aligned
law 0.25 (B = 3); both the marginal claim and T1 must reject it.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from estimators.dkw import dkw_radius, ks_distance
from estimators.dkw import min_discrepancy_of_cdfs_detectable_by_dkw, min_num_samples_for_dkw_cdf_test
from primitives.chain_samplers import trajectory_rejection_sample, unaligned_sample
from tiltproof.core import symbols as sym
from tiltproof.instances.chain import (ChainInstance, _hypotheses, chain_instance, reference_ddpm_chain,
                                      single_threaded)
from tiltproof.core.chain_path_tv import PATH_TV_BOUND, T7_STATEMENT, check_path_tv
from tiltproof.core.chain_sampler_law import check_ideal_exact, check_sampler_law
from theorems.chain_step_bounds import check_step_proposals_identity, undercounting
from tiltproof.core.chain_x0_statistics import FIT_GAP, _fit_units, _x0_fit, _x0_sample_size
from tiltproof.core.framework import CheckContext, Claim, Evidence, Hypothesis, Mutant, wrong_variant

MODULE = "ddpm_chain"


def _kernel(instance: ChainInstance, score_shift: int):
    return reference_ddpm_chain(str(instance.device), score_shift) if score_shift else instance.chain


def check_x0_marginal(instance: ChainInstance, context: CheckContext, *, score_shift: int = 0) -> Evidence:
    """The unaligned chain's x_0 against the exact quadrature marginal (module docstring)."""
    instance = instance.on(context.device)
    n = min_num_samples_for_dkw_cdf_test(FIT_GAP, alpha=context.alpha / 2, beta=context.beta)
    result = unaligned_sample(_kernel(instance, score_shift), n, generator=context.generator())
    points = result.samples.cpu().numpy()
    target = instance.x0_target()
    exact = target.exact
    ridge_ks = ks_distance(points @ exact.ridge.direction, exact.x0_cdf)
    u = exact.ridge.direction
    orthogonal_ks = ks_distance(points @ np.array([-u[1], u[0]]), target.orthogonal_cdf)
    statistic = max(ridge_ks, orthogonal_ks)
    threshold = dkw_radius(n, context.alpha / 2)
    return Evidence(holds=statistic <= threshold, statistic="max KS of ⟨û, x_0⟩ (exact quadrature CDF) and of the "
                    "orthogonal coordinate (exact Gaussian) vs DKW ε(α/2)", bound=threshold, empirical=statistic,
                    confidence_bound=statistic, n=n,
                    detectable_gap=min_discrepancy_of_cdfs_detectable_by_dkw(n, alpha=context.alpha / 2, beta=context.beta),
                    detectable_gap_units="KS on ⟨û, x_0⟩ or on the orthogonal coordinate", margin=threshold - statistic,
                    message="" if statistic <= threshold else f"x_0 marginal differs from the exact one: {statistic:.4g}",
                    details={"ridge_ks": ridge_ks, "orthogonal_ks": orthogonal_ks,
                             "interpolation_error": exact.interpolation_error(),
                             "log_z_route_discrepancy": abs(exact.log_root() - exact.log_partition_forward())})


def check_trajectory(instance: ChainInstance, context: CheckContext, *, score_shift: int = 0) -> Evidence:
    """T1 on paths: trajectory rejection (envelope sup r) on the DDPM kernel, x_0 against the exact q_0."""
    instance = instance.on(context.device)
    n = _x0_sample_size(instance, context.alpha, context.beta)
    result = trajectory_rejection_sample(_kernel(instance, score_shift), instance.reward, instance.lam, n,
                                         envelope=instance.reward.sup, generator=context.generator())
    statistic, threshold, name = _x0_fit(instance, instance.x0_points(result.samples), context.alpha)
    return Evidence(holds=statistic <= threshold, statistic=name, bound=threshold, empirical=statistic,
                    confidence_bound=statistic, n=n, detectable_gap=threshold + dkw_radius(n, context.beta),
                    detectable_gap_units=_fit_units(instance), margin=threshold - statistic,
                    message="" if statistic <= threshold else f"x_0 law differs from q_0: {statistic:.4g} > {threshold:.4g}",
                    details={"queries_per_sample": result.queries_per_sample})


def _ddpm_hypotheses(instance: ChainInstance) -> tuple[Hypothesis, ...]:
    chain = reference_ddpm_chain()
    return _hypotheses(instance) + (
        Hypothesis(r"the chain decouples along $e_1$ ($\Sigma_k = I$, means on $e_1$)",
                   lambda: chain.ridge_direction(instance.reward) is not None),)


def claims() -> list[Claim]:
    out: list[Claim] = []
    b5, b3 = chain_instance("ddpm", 5.0), chain_instance("ddpm", 3.0)
    common = dict(module=MODULE, hypotheses=_ddpm_hypotheses(b5), parameters={"lambda": 1.0, "B": 5.0})
    out.append(Claim(id=f"ddpm.x0_marginal/{b5.name}", theorem="T1", title="DDPM kernel has the exact x_0 marginal",
                     statement=r"x_0 \sim p_0 \text{ (quadrature of the DDPM-step chain)}",
                     bound_expression=sym.IDEAL_PROPOSALS, instance=b5.name,
                     check=single_threaded(partial(check_x0_marginal, b5)), **common))
    out.append(Claim(id=f"t1.trajectory_exact/{b3.name}", theorem="T1", module=MODULE,
                     title="trajectory rejection is exact (DDPM chain)", statement=r"B \ge \sup r\ \Rightarrow\ x_0 \sim q_0",
                     bound_expression=sym.IDEAL_PROPOSALS, instance=b3.name, hypotheses=_ddpm_hypotheses(b3),
                     parameters={"lambda": 1.0, "B": 3.0}, check=single_threaded(partial(check_trajectory, b3))))
    out.append(Claim(id=f"t7.ideal_exact/{b5.name}", theorem="T7", title="ideal per-step rejection is exact (DDPM chain)",
                     statement=r"b_t \ge \sup V_t\ \Rightarrow\ \text{every T7 term is } 0,\ \hat q_0 = q_0",
                     bound_expression=PATH_TV_BOUND, instance=b5.name,
                     check=single_threaded(partial(check_ideal_exact, b5)), **common))
    out.append(Claim(id=f"t7.path_tv/{b5.name}/offset=1", theorem="T7", title="path TV bound (DDPM chain)",
                     statement=T7_STATEMENT, bound_expression=PATH_TV_BOUND, instance=b5.name,
                     check=single_threaded(partial(check_path_tv, b5, "offset=1")), **common))
    out.append(Claim(id=f"t7.sampler_law/{b5.name}/offset=1", theorem="T7",
                     title="per-step sampler has the composed clipped law (DDPM chain)",
                     statement=r"x_t \sim \hat q_t(\cdot|x_{t+1}) \propto p_t(\cdot|x_{t+1})\min(1,e^{(V_t-b_t)/\lambda})",
                     bound_expression=sym.clipped_partition, instance=b5.name,
                     check=single_threaded(partial(check_sampler_law, b5, "offset=1")), **common))
    out.append(Claim(id=f"t4.step_proposals_identity/{b5.name}/t=10,offset=0.5", theorem="T4",
                     title="per-state N identity (DDPM chain)",
                     statement=r"N_t(y) = e^{(b_t(y)-V_{t+1}(y))/\lambda}/(1 - D_y/Z_y)",
                     bound_expression=sym.PROPOSALS_IDENTITY, instance=b5.name,
                     check=single_threaded(partial(check_step_proposals_identity, b5, 10, 0.5)), **common))
    return out


def mutants() -> list[Mutant]:
    b5, b3 = chain_instance("ddpm", 5.0), chain_instance("ddpm", 3.0)
    registered = claims()
    return [
        Mutant("ddpm-score-noise-level", "T1", "DDPM step with the mixture score at ᾱ[t+1] instead of ᾱ[t]",
               wrong_variant(registered, f"ddpm.x0_marginal/{b5.name}",
                             single_threaded(partial(check_x0_marginal, b5, score_shift=1)), "score-noise-level")),
        Mutant("ddpm-trajectory-score-noise-level", "T1",
               "trajectory rejection on the DDPM step with the score at ᾱ[t+1] claimed exact",
               wrong_variant(registered, f"t1.trajectory_exact/{b3.name}",
                             single_threaded(partial(check_trajectory, b3, score_shift=1)), "score-noise-level")),
        Mutant("ddpm-step-proposals-undercounted", "T4", "per-state sampler reporting 10% fewer proposals (DDPM chain)",
               wrong_variant(registered, f"t4.step_proposals_identity/{b5.name}/t=10,offset=0.5",
                             single_threaded(partial(check_step_proposals_identity, b5, 10, 0.5, count=undercounting)),
                             "undercount")),
    ]
