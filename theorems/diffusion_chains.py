"""Per-step tilting of diffusion chains (LCB spec, "Diffusion chains": T7 and T1 on paths).

Instances (``chain_instance``): the reference Gaussian-mixture diffusion (d = 2, means (±5, 0), weights
(0.95, 0.05) with the 0.95 component at (+5, 0), Σ = I, T = 20, the reference schedule), reward
``B·1{x_1 < −7}``, λ = 1; and the reference masked diffusion (L = 6, V = 8, 512 sequences), reward
``B·1{x ∈ A}`` on a rare set of probability 4.5e-3, λ = 1. The per-step claims (T8, per-state T4) live in
``theorems.chain_step_bounds`` and the learned per-step baseline (T6) in ``theorems.chain_learned_baseline``.

Claims registered here:

* ``t7.path_tv`` — ``TV(q̂_0, q_0) ≤ TV(q̂_T, q_T) + Σ_t E_{y~q̂_{t+1}} TV(q̂_t(·|y), q_t(·|y))`` for per-step
  rejection with a given baseline. The terms are exact: the sampler's marginals q̂_t are propagated by
  1-D quadrature along the ridge (GMM; ``estimators.exact.ridge_chain_law``) or by enumeration (masked;
  ``estimators.exact.finite_chain_law``), which also gives the exact left side. On the masked chain every term is also
  checked against the single-step theorems over the exact parent marginals: by T2
  ``TV(q̂_t(·|y), q_t(·|y)) = Σ_{V_t > b} p_t(w/Z − 1/Z_b)_+ ≤ D_y/Z_y``, so each term must equal
  ``Σ_y q̂_{t+1}(y)·(that exact form)`` (computed from the kernel's atoms, a different route than the
  propagation's ``½Σ|q − q_b|``) and be at most ``Σ_y q̂_{t+1}(y) D_y/Z_y``; at the oracle Chernoff baseline
  every visited ``D_y/Z_y ≤ δ`` (T3).
  Empirically: a lower confidence bound on ``TV(q̂_0, q_0)`` from the sampler's own x_0 samples (projection
  KS / DKW on the GMM; multinomial TV over the 512 sequences and the rare-event frequency on the masked
  chain) must not exceed the exact right side.
* ``t7.sampler_law`` — the per-step sampler's x_0 has the law obtained by composing its clipped kernels
  (the law T7 reasons about), goodness of fit against the exact propagated law: on the GMM the ridge
  coordinate ⟨û, x_0⟩ against the propagated CDF and the orthogonal coordinate against N(0, 1) (the noise
  and the tilt leave it untouched), α/2 each.
* ``t7.ideal_exact`` — with ``b_t ≥ sup V_t`` every term is 0, so the x_0 law is q_0 (goodness of fit).
* ``t1.trajectory_exact`` — trajectory-level rejection with ``B ≥ sup r`` outputs q_0 (T1 on paths).

Power: the GMM checks are DKW tests designed for a KS gap of 0.05 in every projection (a lower bound on
TV); the masked checks are multinomial TV tests over the 512 sequences designed for a TV gap of 0.2
(``estimators.dkw``, ``estimators.multinomial_tv``; the 2λ-acceptance bug is at TV 0.30). Each record reports the detectable gap of the
statistic it used and its units.

This module registers the claims and their wrong variants; the code lives in one module per concept (names
re-exported here): ``tiltproof.instances.chain`` (instances, baselines by name, correct and wrong samplers),
``tiltproof.core.chain_x0_statistics`` (x_0 statistics and the exact sampler law), ``tiltproof.core.chain_path_tv``
(T7's path bound and its per-step terms against T2–T3) and ``tiltproof.core.chain_sampler_law`` (the law checks).
"""
from __future__ import annotations

from functools import partial

from tiltproof.core import symbols as sym
# Re-exported: the chain claims' instances, samplers and statistics (split into their own modules) keep their
# historical import path ``theorems.diffusion_chains``.
from tiltproof.instances.chain import (ChainInstance, ChainSampler, TemperatureValues, _hypotheses,  # noqa: F401
                                      _reference_masked, _reward, _values, _x0_target, chain_instance,
                                      default_chain_sampler, make_baseline, orthogonal_noise_sampler,
                                      reference_gmm_diffusion, single_threaded, wrong_temperature_chain_sampler)
from tiltproof.core.chain_path_tv import (PATH_TV_BOUND, T7_STATEMENT, check_path_tv, single_step_terms,  # noqa: F401
                                    t2_per_state, tau_last, tau_prior, tau_steps)
from tiltproof.core.chain_sampler_law import (check_ideal_exact, check_sampler_law, check_trajectory_exact,  # noqa: F401
                                        default_trajectory_sampler)
from tiltproof.core.chain_x0_statistics import (FIT_GAP, MASKED_TV_GAP, _exact_sampler_law, _fit_units,  # noqa: F401
                                          _rare_event, _reward_projection_tv_lower, _x0_fit, _x0_sample_size,
                                          gmm_projection_distances, ridge_projection_cdfs, x0_tv_lower, x0_tv_units)
from tiltproof.core.framework import Claim, Mutant, wrong_variant

MODULE = "diffusion_chains"

PATH_CLAIMS = (("gmm", 5.0, "offset=0"), ("gmm", 5.0, "offset=1"), ("masked", 5.0, "offset=0"),
               ("masked", 5.0, "oracle-delta=0.05"))


def claims() -> list[Claim]:
    out: list[Claim] = []
    for kind, height, baseline in PATH_CLAIMS:
        instance = chain_instance(kind, height)
        out.append(Claim(
            id=f"t7.path_tv/{instance.name}/{baseline}", theorem="T7", module=MODULE, title="path TV bound",
            statement=T7_STATEMENT, bound_expression=PATH_TV_BOUND, instance=instance.name,
            hypotheses=_hypotheses(instance), parameters={"lambda": instance.lam, "B": height},
            check=single_threaded(partial(check_path_tv, instance, baseline))))
    for kind, baseline in (("gmm", "offset=1"), ("masked", "offset=0")):
        instance = chain_instance(kind, 5.0)
        out.append(Claim(
            id=f"t7.sampler_law/{instance.name}/{baseline}", theorem="T7", module=MODULE,
            title="per-step sampler has the composed clipped law",
            statement=r"x_t \sim \hat q_t(\cdot|x_{t+1}) \propto p_t(\cdot|x_{t+1})\min(1,e^{(V_t-b_t)/\lambda})",
            bound_expression=sym.clipped_partition, instance=instance.name, hypotheses=_hypotheses(instance),
            parameters={"lambda": instance.lam, "B": 5.0}, check=single_threaded(partial(check_sampler_law, instance, baseline))))
    for kind, height in (("gmm", 2.0), ("masked", 5.0)):
        instance = chain_instance(kind, height)
        out.append(Claim(
            id=f"t7.ideal_exact/{instance.name}", theorem="T7", module=MODULE, title="ideal per-step rejection is exact",
            statement=r"b_t \ge \sup V_t\ \Rightarrow\ \text{every T7 term is } 0,\ \hat q_0 = q_0",
            bound_expression=PATH_TV_BOUND, instance=instance.name, hypotheses=_hypotheses(instance),
            parameters={"lambda": instance.lam, "B": height}, check=single_threaded(partial(check_ideal_exact, instance))))
        if kind != "gmm":
            continue  # the masked chain's trajectory sampler is exercised in the tests (its kernel is slow)
        instance = chain_instance("gmm", 3.0)
        out.append(Claim(
            id=f"t1.trajectory_exact/{instance.name}", theorem="T1", module=MODULE,
            title="trajectory rejection is exact", statement=r"B \ge \sup r\ \Rightarrow\ x_0 \sim q_0",
            bound_expression=sym.IDEAL_PROPOSALS, instance=instance.name, hypotheses=_hypotheses(instance),
            parameters={"lambda": instance.lam, "B": height}, check=single_threaded(partial(check_trajectory_exact, instance))))
    return out


def _variant(claim_id: str, check, suffix: str, bound_expression=None) -> Claim:
    """``framework.wrong_variant`` with the check run single-threaded (as every chain claim is)."""
    return wrong_variant(claims(), claim_id, single_threaded(check), suffix, bound_expression)


def mutants() -> list[Mutant]:
    gmm5, gmm3 = chain_instance("gmm", 5.0), chain_instance("gmm", 3.0)
    masked = chain_instance("masked", 5.0)
    return [
        Mutant("path-tv-last-term-only", "T7", "T7's bound with only the t = 0 term (the earlier steps dropped)",
               _variant("t7.path_tv/gmm-ref-B5/offset=0", partial(check_path_tv, gmm5, "offset=0", terms="last"),
                        "last-term-only", tau_last)),
        Mutant("path-tv-wrong-temperature", "T7", "per-step sampler accepting at 2λ checked against the exact bound",
               _variant("t7.path_tv/masked-ref-B5/oracle-delta=0.05",
                        partial(check_path_tv, masked, "oracle-delta=0.05", sampler=wrong_temperature_chain_sampler),
                        "wrong-temperature")),
        Mutant("ideal-per-step-wrong-temperature", "T7", "ideal per-step rejection accepting at 2λ claimed exact",
               _variant("t7.ideal_exact/masked-ref-B5", partial(check_ideal_exact, masked, sampler=wrong_temperature_chain_sampler),
                        "wrong-temperature")),
        Mutant("per-step-orthogonal-noise", "T7", "per-step sampler with 1.3× noise off the ridge (reward law intact)",
               _variant("t7.sampler_law/gmm-ref-B5/offset=1", partial(check_sampler_law, gmm5, "offset=1",
                                                                     sampler=orthogonal_noise_sampler), "orthogonal-noise")),
        Mutant("trajectory-envelope-below-sup", "T1", "trajectory rejection with envelope sup r − 2 claimed exact",
               _variant("t1.trajectory_exact/gmm-ref-B3", partial(check_trajectory_exact, gmm3, envelope_shift=-2.0),
                        "envelope-below-sup")),
    ]


def proofs():
    """T7 as a proof object (``theorems/proofs/diffusion_chains.py``, imported lazily)."""
    from theorems.proofs.diffusion_chains import proofs as declared

    return declared()
