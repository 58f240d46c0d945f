"""Guarantees of the peer samplers where theory gives them (issue "Peers on the same exact instances").

* ``qrs.tv_bound`` — quasi-rejection with constant β: ``TV(p_β, q) ≤ 1 − Z_β/Z``,
  ``Z_β = E_p[min(e^{r/λ}, β)]`` (T2 with ``b = λ log β``, since ``Z_β = β Z_b`` and ``D = Z − Z_β``).
* ``qrs.acceptance`` — its acceptance rate is exactly ``Z_β/β`` (exact negative-binomial interval). The
  claimed side takes ``Z_β = Z(1 − D/Z)`` from T2's clip mass (tilted tails); the exact side is
  ``E_p[min(e^{r/λ}/β, 1)]`` by enumeration or adaptive quadrature over the reward density
  (``qrs_acceptance_by_quadrature``), a route that shares no code with either.
* ``sir.exact_law`` — SIR with M particles outputs the law enumerated in ``estimators.exact.peer_laws``.
* ``sir.tv_bound`` — importance-sampling consistency: ``TV(π_M, q) ≤ ρ/M`` with
  ``ρ = E_p[w²]/(E_p w)² = exp(Λ_p(2/λ) − 2Λ_p(1/λ))``.

  Proof. ``π_M(A) = E[S_A/(M W̄)]`` with ``S_A = Σ_i w_i 1_A(x_i)``, ``W̄ = Σ_j w_j/M``, ``Z = E w``.
  The identity ``1/W̄ = 1/Z − (W̄−Z)/Z² + (W̄−Z)²/(Z² W̄)`` gives
  ``π_M(A) − q(A) = −Cov(S_A/M, W̄)/Z² + E[(S_A/M)(W̄−Z)²/(Z²W̄)]``. The covariance is
  ``(E[w² 1_A] − Z² q(A))/M``, so the first term lies in ``[(q(A) − ρ)/M, q(A)/M]``; since
  ``0 ≤ S_A/M ≤ W̄`` the second lies in ``[0, Var(w)/(M Z²)] = [0, (ρ − 1)/M]``. Hence
  ``|π_M(A) − q(A)| ≤ ρ/M`` for every A. ∎
"""
from __future__ import annotations

import math
from functools import partial

import numpy as np
import sympy
import torch

from estimators.multinomial_tv import min_num_samples_for_multinomial_tv_test
from estimators.exact import tilt_quantities as tq
from estimators.exact.reward_law import DiscreteLaw
from estimators.baselines import chernoff_baseline
from estimators.multinomial_tv import multinomial_tv_radius
from estimators.negative_binomial import negative_binomial_rate_interval
from estimators.exact.tilted_law import TiltedLaw
from estimators.law_tests import fit_sample_size, tv_lower_confidence
from estimators.exact.peer_laws import reward_tv, sir_reward_probabilities, target_reward_probabilities
from primitives.best_of_n import best_of_n_sample
from primitives.peers import quasi_rejection_sample, sir_sample
from primitives.rejection import RejectionResult
from tiltproof.core import symbols as sym
from tiltproof.core.evidence import interval_evidence, upper_bound_evidence
from tiltproof.core.framework import CheckContext, Claim, Evidence, Hypothesis, Mutant, wrong_variant
from tiltproof.instances.single_step import INSTANCES, Instance
from theorems.tv_guarantees import tv_units

MODULE = "peer_guarantees"
FIT_GAP = 0.03

beta = sympy.Symbol(r"beta", positive=True)
qrs_partition = sympy.Symbol(r"Z_beta", positive=True)
particles = sympy.Symbol("M", positive=True, integer=True)
second_moment = sympy.Symbol(r"rho", positive=True)

QRS_TV_BOUND = 1 - qrs_partition / sym.partition
QRS_ACCEPTANCE = qrs_partition / beta
SIR_TV_BOUND = second_moment / particles


def qrs_sampler(instance: Instance, beta_value: float, device, temperature: float = 1.0):
    base = instance.base(device)
    return lambda n, generator: quasi_rejection_sample(base, instance.reward, temperature * instance.lam, beta_value,
                                                       n, generator=generator)


def sir_sampler(instance: Instance, particle_count: int, device, temperature: float = 1.0):
    base = instance.base(device)
    return lambda n, generator: sir_sample(base, instance.reward, temperature * instance.lam, particle_count, n,
                                           generator=generator)


def _qrs_values(instance: Instance, beta_value: float) -> dict:
    """``Z_β/Z = c Z_b / Z`` with ``c = β``: the log-space unclipped fraction of T4 (Z normalised to 1)."""
    baseline = instance.lam * math.log(beta_value)
    fraction = math.exp(tq.log_unclipped_fraction(instance.law, instance.lam, baseline))
    return {qrs_partition: fraction, sym.partition: 1.0}


def check_qrs_tv(instance: Instance, beta_value: float, context: CheckContext, sampler=qrs_sampler,
                 bound=QRS_TV_BOUND) -> Evidence:
    bound_value = sym.evaluate(bound, _qrs_values(instance, beta_value))
    target = TiltedLaw(instance.base("cpu"), instance.reward, instance.lam, None)
    n = fit_sample_size(target, FIT_GAP, context.alpha, context.beta)
    result = sampler(instance, beta_value, context.device)(n, context.generator())
    tv = tv_lower_confidence(result.samples, target, context.alpha, context.beta)
    return upper_bound_evidence(
        statistic=tv.name, bound=bound_value,
        exact=tq.tv_to_target(instance.law, instance.lam, instance.lam * math.log(beta_value)),
        empirical=tv.estimate, lower_confidence=tv.lower, n=n, detectable_gap=tv.detectable_gap,
        units=tv_units(target),
    )


def qrs_acceptance_by_quadrature(instance: Instance, beta_value: float) -> tuple[float, float]:
    """``E_p[min(e^{r/λ}/β, 1)]`` by enumeration (finite reward laws) or adaptive quadrature over the
    reward's mixture density, split at the kink r = λ log β; returns (value, error estimate)."""
    from scipy import integrate
    from scipy.stats import norm

    law, lam = instance.law, instance.lam
    kink = lam * math.log(beta_value)
    if isinstance(law, DiscreteLaw):
        weights = np.exp(law.log_probs)
        return float(np.sum(weights * np.exp(np.minimum(law.values - kink, 0.0) / lam))), 0.0
    mixture = np.exp(law.log_weights)
    integrand = lambda r: float(mixture @ norm.pdf(r, law.means, law.stds)) * math.exp(min(r - kink, 0.0) / lam)
    low = float(np.min(law.means - 40 * law.stds))
    high = float(np.max(law.means + 40 * law.stds))
    below, error_below = integrate.quad(integrand, low, kink, limit=500, epsabs=1e-13, epsrel=1e-11)
    above, error_above = integrate.quad(integrand, kink, high, limit=500, epsabs=1e-13, epsrel=1e-11)
    return float(below + above), float(error_below + error_above)


def check_qrs_acceptance(instance: Instance, beta_value: float, context: CheckContext, sampler=qrs_sampler,
                         expression=QRS_ACCEPTANCE) -> Evidence:
    from theorems.proposal_complexity import designed_accepts

    law, lam = instance.law, instance.lam
    log_z = tq.log_partition(law, lam)
    unclipped = 1.0 - tq.clip_mass(law, lam, lam * math.log(beta_value))     # 1 − D/Z, T2's route
    claimed = sym.evaluate(expression, {qrs_partition: math.exp(log_z) * unclipped, beta: beta_value})
    independent, error = qrs_acceptance_by_quadrature(instance, beta_value)
    accepts, detectable = designed_accepts(1.0 / claimed, context.alpha, context.beta)
    result = sampler(instance, beta_value, context.device)(accepts, context.generator())
    low, high = negative_binomial_rate_interval(result.accepted, result.proposals, context.alpha)
    return interval_evidence(
        statistic="exact negative-binomial interval for the acceptance rate; exact side by enumeration/quadrature",
        value=claimed, exact=independent, empirical=result.accepted / result.proposals, interval=(low, high),
        n=result.proposals, detectable_gap=detectable, exact_tolerance=error + 1e-9 * claimed,
        details={"log_Z": log_z, "quadrature_error": error, "accepts": accepts},
        units="relative error of 1/acceptance rate",
    )


def _reward_frequencies(samples, instance: Instance, values: np.ndarray) -> np.ndarray:
    rewards = instance.reward(samples if isinstance(samples, torch.Tensor) else torch.as_tensor(samples)).cpu().numpy()
    index = np.searchsorted(values, rewards)
    if np.any(index >= values.size) or np.any(values[np.minimum(index, values.size - 1)] != rewards):
        raise ValueError("sampler produced a reward outside the support of the reward law")
    return np.bincount(index, minlength=values.size) / rewards.size


def check_sir_law(instance: Instance, particle_count: int, context: CheckContext, sampler=sir_sampler) -> Evidence:
    """H₀: the SIR output's reward law is the enumerated π_M (multinomial TV test; x | r is p(·|r) for SIR)."""
    values, claimed = sir_reward_probabilities(instance.law, instance.lam, particle_count)
    n = min_num_samples_for_multinomial_tv_test(FIT_GAP, claimed, alpha=context.alpha, beta=context.beta)
    result = sampler(instance, particle_count, context.device)(n, context.generator())
    frequencies = _reward_frequencies(result.samples, instance, values)
    statistic = reward_tv(frequencies, claimed)
    threshold = multinomial_tv_radius(n, context.alpha, probs=claimed)
    return Evidence(
        holds=statistic <= threshold, statistic="multinomial TV of the reward law vs ½Σ√(π_i/n) + √(log(1/α)/2n)",
        bound=threshold, empirical=statistic, confidence_bound=statistic, n=n,
        detectable_gap=threshold + multinomial_tv_radius(n, context.beta, support_size=values.size),
        margin=threshold - statistic, detectable_gap_units="TV of the reward law",
        message="" if statistic <= threshold else f"SIR output law differs from the enumerated π_M: {statistic:.4g} > {threshold:.4g}",
        details={"claimed": claimed.tolist(), "observed": frequencies.tolist()},
    )


def check_sir_tv(instance: Instance, particle_count: int, context: CheckContext, sampler=sir_sampler,
                 bound=SIR_TV_BOUND) -> Evidence:
    law, lam = instance.law, instance.lam
    rho = math.exp(law.log_mgf(2 / lam) - 2 * law.log_mgf(1 / lam))
    bound_value = sym.evaluate(bound, {second_moment: rho, particles: particle_count})
    _, enumerated = sir_reward_probabilities(law, lam, particle_count)
    _, target_probs = target_reward_probabilities(law, lam)
    target = TiltedLaw(instance.base("cpu"), instance.reward, lam, None)
    n = fit_sample_size(target, FIT_GAP, context.alpha, context.beta)
    result = sampler(instance, particle_count, context.device)(n, context.generator())
    tv = tv_lower_confidence(result.samples, target, context.alpha, context.beta)
    return upper_bound_evidence(
        statistic=tv.name, bound=bound_value, exact=reward_tv(enumerated, target_probs), empirical=tv.estimate,
        lower_confidence=tv.lower, n=n, detectable_gap=tv.detectable_gap, details={"rho": rho},
        units=tv_units(target),
    )


QRS_INSTANCES = ("gaussian-linear-d1", "finite-k10", "gmm-step-d1")
SIR_SETTINGS = (("finite-k10", 8), ("gmm-step-d1", 32))


def _qrs_beta(instance: Instance) -> float:
    """β = e^{b_0.5/λ}: QRS at the Chernoff baseline of δ = 0.5."""
    return math.exp(chernoff_baseline(instance.law, instance.lam, 0.5).value / instance.lam)


def claims() -> list[Claim]:
    out: list[Claim] = []
    for name in QRS_INSTANCES:
        instance = INSTANCES[name]
        beta_value = _qrs_beta(instance)
        common = dict(module=MODULE, instance=name, parameters={"lambda": instance.lam, "beta": beta_value})
        hypotheses = (Hypothesis(r"$\beta > 0$", lambda b=beta_value: b > 0),)
        out += [
            Claim(id=f"qrs.tv_bound/{name}/beta={beta_value:.4g}", theorem="QRS", title="QRS TV bound",
                  statement=r"\mathrm{TV}(p_\beta, q) \le 1 - Z_\beta/Z,\quad Z_\beta = E_p[\min(e^{r/\lambda},\beta)]",
                  bound_expression=QRS_TV_BOUND, hypotheses=hypotheses, check=partial(check_qrs_tv, instance, beta_value),
                  **common),
            Claim(id=f"qrs.acceptance/{name}/beta={beta_value:.4g}", theorem="QRS", title="QRS acceptance rate",
                  statement=r"P(\text{accept}) = Z_\beta/\beta", bound_expression=QRS_ACCEPTANCE, hypotheses=hypotheses,
                  check=partial(check_qrs_acceptance, instance, beta_value), **common),
        ]
    for name, particle_count in SIR_SETTINGS:
        instance = INSTANCES[name]
        common = dict(module=MODULE, instance=name, parameters={"lambda": instance.lam, "M": particle_count})
        hypotheses = (Hypothesis("finite reward law (exact enumeration)", lambda i=instance: i.reward_bounds is not None),)
        out += [
            Claim(id=f"sir.exact_law/{name}/M={particle_count}", theorem="SIR", title="SIR output law",
                  statement=r"\pi_M(v_j) = E\big[c_j w_j / \textstyle\sum_k c_k w_k\big],\ c\sim\mathrm{Mult}(M, p_R)",
                  bound_expression=SIR_TV_BOUND, hypotheses=hypotheses, check=partial(check_sir_law, instance, particle_count),
                  **common),
            Claim(id=f"sir.tv_bound/{name}/M={particle_count}", theorem="SIR", title="importance-sampling consistency",
                  statement=r"\mathrm{TV}(\pi_M, q) \le \rho/M,\quad \rho = E_p[w^2]/(E_p w)^2",
                  bound_expression=SIR_TV_BOUND, hypotheses=hypotheses, check=partial(check_sir_tv, instance, particle_count),
                  **common),
        ]
    return out


def _argmax_sampler(instance: Instance, particle_count: int, device):
    """Best-of-M presented as SIR: ``best_of_n_sample`` returns the highest-reward candidate instead of resampling."""
    base = instance.base(device)

    def sampler(n, generator):
        result = best_of_n_sample(base, instance.reward, particle_count, n, generator=generator)
        return RejectionResult(samples=result.samples, proposals=n * particle_count)

    return sampler


def _undercounting_qrs_sampler(instance: Instance, beta_value: float, device):
    """QRS that reports 10 % fewer proposals than it drew (a counter bug): acceptance looks 11 % higher."""
    draw = qrs_sampler(instance, beta_value, device)

    def sampler(n, generator):
        result = draw(n, generator)
        return RejectionResult(samples=result.samples, proposals=max(n, int(0.9 * result.proposals)))

    return sampler


def mutants() -> list[Mutant]:
    registered = claims()
    finite, gmm, d1 = INSTANCES["finite-k10"], INSTANCES["gmm-step-d1"], INSTANCES["gaussian-linear-d1"]
    beta_d1, beta_gmm = _qrs_beta(d1), _qrs_beta(gmm)

    def variant(claim_id: str, check, suffix: str, expression=None) -> Claim:
        return wrong_variant(registered, claim_id, check, suffix, expression)

    wrong_rate = second_moment / particles**2
    return [
        Mutant("qrs-wrong-temperature", "QRS", "QRS accepting with min(1, e^{r/(2λ)}/β)",
               variant(f"qrs.tv_bound/gaussian-linear-d1/beta={beta_d1:.4g}",
                       partial(check_qrs_tv, d1, beta_d1, sampler=partial(qrs_sampler, temperature=2.0)), "wrong-temperature")),
        Mutant("qrs-acceptance-without-beta", "QRS", "acceptance rate claimed as Z_β (the 1/β dropped)",
               variant(f"qrs.acceptance/gmm-step-d1/beta={beta_gmm:.4g}",
                       partial(check_qrs_acceptance, gmm, beta_gmm, expression=qrs_partition), "no-beta", qrs_partition)),
        Mutant("qrs-proposals-undercounted", "QRS", "QRS reporting 10% fewer proposals than it drew",
               variant(f"qrs.acceptance/gmm-step-d1/beta={beta_gmm:.4g}",
                       partial(check_qrs_acceptance, gmm, beta_gmm, sampler=_undercounting_qrs_sampler), "undercount")),
        Mutant("sir-argmax", "SIR", "best-of-M (arg-max) presented as SIR resampling",
               variant("sir.exact_law/finite-k10/M=8", partial(check_sir_law, finite, 8, sampler=_argmax_sampler), "argmax")),
        Mutant("sir-wrong-temperature", "SIR", "SIR weights e^{r/(2λ)} (exact TV 0.19 from π_M)",
               variant("sir.exact_law/finite-k10/M=8",
                       partial(check_sir_law, finite, 8, sampler=partial(sir_sampler, temperature=2.0)), "wrong-temperature")),
        Mutant("sir-bound-wrong-rate", "SIR", "TV(π_M, q) ≤ ρ/M² (a rate the proof does not give)",
               variant("sir.tv_bound/finite-k10/M=8", partial(check_sir_tv, finite, 8, bound=wrong_rate), "rate-M2", wrong_rate)),
    ]


def proofs():
    """QRS and SIR as proof objects (``theorems/proofs/peer_guarantees.py``, imported lazily)."""
    from theorems.proofs.peer_guarantees import proofs as declared

    return declared()
