"""Proposal complexity of tilted rejection (LCB spec T1, T4, T5).

Claims registered here:

* ``t1.ideal_exact`` — with ``b ≥ ess sup r`` the output law is exactly q (goodness of fit) and
  ``N(b) = e^{(b−V)/λ}`` (exact negative-binomial interval from the proposal count);
* ``t4.proposals_identity`` — ``N(b) = e^{(b−V)/λ}/(1 − D/Z)``;
* ``t4.proposals_lower`` — ``N(b) ≥ e^{(b−V)/λ}``;
* ``t4.proposals_upper`` — at ``b_δ``, ``N(b_δ) ≤ e^{(b_δ−V)/λ}/(1 − δ)``;
* ``t4.saving`` — against an envelope ``B ≥ b``: ``N(B)/N(b) ≥ e^{(B−b)/λ}(1 − D/Z)`` (equality for
  ``B ≥ ess sup r``);
* ``t4.gaussian_gap`` — Gaussian reward: ``(b_δ − V)/λ = σ²/(2λ²) + (σ/λ)√(2 log(1/δ))``, whatever sup r;
* ``t5.tradeoff`` — along a δ grid, b_δ and N(b_δ) decrease and the TV bound D/Z increases (exact), and
  no adjacent pair of measured proposal counts contradicts the monotonicity.

The proposal count of rejection sampling stopped at the n-th acceptance is negative binomial, so
``negative_binomial_rate_interval`` gives exact intervals for ``Z_b = 1/N(b)``. The number of
acceptances is designed, not picked (``designed_accepts``): the exact NB test detects an N off by
``PROPOSAL_GAP`` = 8 % (relative) w.p. ≥ 1 − β, and each record reports that power as a relative error of
N. Identities are tested two-sided: ``t4.proposals_identity`` and ``t4.saving`` where ``B ≥ ess sup r``.
The claimed side of each identity is the sympy expression evaluated with D/Z from the clip mass
(tilted and plain tails); the exact side is ``1/Z_b`` from the clipped partition (masses below and
above b): two formulas of ``estimators.exact.tilt_quantities`` that share no intermediate quantity.
Where b_δ would be ess sup r (finite-k10 and gmm-step-d1 at δ ≤ 0.1) the claim would be T1's:
δ is chosen per instance (``informative_delta``, ``tradeoff_deltas``) and a hypothesis makes a
degenerate choice an ``error``.
"""
from __future__ import annotations

import math
from functools import partial


from estimators.negative_binomial import (min_num_accepts_for_negative_binomial_rate_test,
                                          min_relative_error_of_proposals_detectable_by_negative_binomial)
from estimators.exact import tilt_quantities as tq
from estimators.baselines import chernoff_baseline
from estimators.negative_binomial import negative_binomial_rate_interval
from estimators.exact.tilted_law import TiltedLaw
from estimators.law_tests import fit_sample_size, fit_test
from estimators.exact.reward_law import NormalMixtureLaw
from tiltproof.core import symbols as sym
from tiltproof.core.evidence import interval_evidence, lower_bound_evidence, upper_bound_evidence
from tiltproof.core.sampling import SamplerFactory, rejection_factory
from tiltproof.core.framework import CheckContext, Claim, Evidence, Hypothesis
from tiltproof.instances.single_step import INSTANCES, Instance, baseline_below_ess_sup, informative_delta

MODULE = "proposal_complexity"
PROPOSAL_GAP = 0.08      # a proposal count off by 8 % (relative) must be detected w.p. ≥ 1 − β
REVERSAL_GAP = 0.3       # T5: a reversal of N between neighbours of 30 % (or the curve's smallest step) is detected
FIT_GAP = 0.03
UNITS = "relative error of N"


def _proposal_interval(result, alpha: float) -> tuple[float, float, float]:
    """(estimate of N, lower, upper) from an exact two-sided negative-binomial interval on 1/N."""
    low_rate, high_rate = negative_binomial_rate_interval(result.accepted, result.proposals, alpha)
    return result.proposals / result.accepted, 1.0 / high_rate, 1.0 / low_rate


def designed_accepts(claimed_proposals: float, alpha: float, beta: float, side: str = "two-sided",
                     gap: float = PROPOSAL_GAP) -> tuple[int, float]:
    """(accepts k, detectable relative error of N): the NB test at the claimed N = 1/p detects an N off by
    ``gap`` (in each tested direction) w.p. ≥ 1 − β (``estimators.negative_binomial``, exact NB tails).
    ``side``: ``two-sided`` (identity), ``rate-above`` (claim N ≥ bound), ``rate-below`` (claim N ≤ bound)."""
    rate = min(1.0 / claimed_proposals, 0.9)  # a claimed N ≤ 1.1 is sized as N = 1.1 (N < 1 is refuted by any count)
    accepts = min_num_accepts_for_negative_binomial_rate_test(rate, gap, alpha=alpha, beta=beta, side=side)
    detectable = min_relative_error_of_proposals_detectable_by_negative_binomial(
        accepts, rate, alpha=alpha, beta=beta, side=side)
    return accepts, detectable


def _soft(instance: Instance) -> float:
    return tq.soft_value(instance.law, instance.lam)


def _values(instance: Instance, baseline: float, extra: dict | None = None) -> dict:
    return {sym.baseline: baseline, sym.soft_value: _soft(instance), sym.lam: instance.lam,
            sym.clipped_mass: tq.clip_mass(instance.law, instance.lam, baseline), sym.partition: 1.0, **(extra or {})}


# ---------------------------------------------------------------- checks
def check_ideal_exact(instance: Instance, context: CheckContext, sampler: SamplerFactory = rejection_factory,
                      envelope: float | None = None) -> Evidence:
    envelope = instance.reward.sup if envelope is None else envelope
    target = TiltedLaw(instance.base("cpu"), instance.reward, instance.lam, None)
    claimed = sym.evaluate(sym.IDEAL_PROPOSALS, {sym.envelope: envelope, sym.soft_value: _soft(instance),
                                                 sym.lam: instance.lam})
    accepts, detectable_n = designed_accepts(claimed, context.alpha / 2, context.beta)
    n = max(fit_sample_size(target, FIT_GAP, context.alpha / 2, context.beta), accepts)
    result = sampler(instance, envelope, context.device)(n, context.generator())
    fit = fit_test(result.samples, target, context.alpha / 2, context.beta)
    estimate, lower, upper = _proposal_interval(result, context.alpha / 2)
    return interval_evidence(
        statistic=f"{fit.name} (α/2) and exact negative-binomial interval for N (α/2)", value=claimed,
        exact=tq.expected_proposals(instance.law, instance.lam, envelope), empirical=estimate,
        interval=(lower, upper), n=n, detectable_gap=fit.detectable_gap,
        details={"fit_statistic": fit.statistic, "fit_threshold": fit.threshold, "per_projection": fit.per_projection,
                 "detectable_relative_error_of_N": detectable_n},
        units=("TV" if target.is_finite else "largest projection KS")
        + f" of the output law (and {detectable_n:.3g} relative error of N)",
        also_fails=[f"output law differs from q: {fit.statistic:.4g} > {fit.threshold:.4g}"] if fit.rejected else [],
    )


def check_proposals_identity(instance: Instance, baseline: float, context: CheckContext,
                             sampler: SamplerFactory = rejection_factory, expression=sym.PROPOSALS_IDENTITY) -> Evidence:
    claimed = sym.evaluate(expression, _values(instance, baseline))
    accepts, detectable = designed_accepts(claimed, context.alpha, context.beta)
    result = sampler(instance, baseline, context.device)(accepts, context.generator())
    estimate, lower, upper = _proposal_interval(result, context.alpha)
    return interval_evidence(
        statistic="exact negative-binomial interval for N(b) from the proposal count (two-sided)", value=claimed,
        exact=tq.expected_proposals(instance.law, instance.lam, baseline), empirical=estimate,
        interval=(lower, upper), n=result.proposals, detectable_gap=detectable,
        exact_tolerance=1e-8 * claimed, details={"accepts": accepts}, units=UNITS,
    )


def check_proposals_lower(instance: Instance, baseline: float, context: CheckContext,
                          sampler: SamplerFactory = rejection_factory, expression=sym.PROPOSALS_LOWER) -> Evidence:
    bound = sym.evaluate(expression, _values(instance, baseline))
    accepts, detectable = designed_accepts(bound, context.alpha, context.beta, side="rate-above")
    result = sampler(instance, baseline, context.device)(accepts, context.generator())
    estimate, _, upper = _proposal_interval(result, 2 * context.alpha)  # one side of a 2α interval
    return lower_bound_evidence(
        statistic="one-sided negative-binomial upper bound on N(b)", bound=bound,
        exact=tq.expected_proposals(instance.law, instance.lam, baseline), empirical=estimate,
        upper_confidence=upper, n=result.proposals, detectable_gap=detectable, details={"accepts": accepts},
        units="relative shortfall of N below the bound",
    )


def check_proposals_upper(instance: Instance, delta: float, context: CheckContext,
                          sampler: SamplerFactory = rejection_factory, expression=sym.PROPOSALS_UPPER) -> Evidence:
    baseline = chernoff_baseline(instance.law, instance.lam, delta).value
    bound = sym.evaluate(expression, _values(instance, baseline, {sym.delta: delta}))
    accepts, detectable = designed_accepts(bound, context.alpha, context.beta, side="rate-below")
    result = sampler(instance, baseline, context.device)(accepts, context.generator())
    estimate, lower, _ = _proposal_interval(result, 2 * context.alpha)
    return upper_bound_evidence(
        statistic="one-sided negative-binomial lower bound on N(b_δ)", bound=bound,
        exact=tq.expected_proposals(instance.law, instance.lam, baseline), empirical=estimate,
        lower_confidence=lower, n=result.proposals, detectable_gap=detectable,
        details={"baseline": baseline, "accepts": accepts}, units="relative excess of N above the bound",
    )


def check_saving(instance: Instance, delta: float, envelope: float, context: CheckContext,
                 sampler: SamplerFactory = rejection_factory, expression=sym.SAVING_LOWER) -> Evidence:
    """T4's saving ``N(B)/N(b) ≥ e^{(B−b)/λ}(1 − D/Z)``, an *identity* when ``B ≥ ess sup r`` (then
    ``N(B) = e^{(B−V)/λ}`` and ``N(b) = e^{(b−V)/λ}/(1 − D/Z)`` exactly), so there the claimed value must
    lie in a two-sided interval for the ratio; below ess sup r it is the one-sided inequality.

    Interval: each count's exact two-sided NB interval at α/2; the ratio's ends are the quotients of
    opposite ends. Each count is sized (β/4 per end) so that, w.p. ≥ 1 − β, both intervals lie within
    their detectable relative errors d_B, d_b, hence a ratio off by max((1+d_B)/(1−d_b) − 1,
    1 − (1−d_B)/(1+d_b)) is rejected: that is the reported detectable gap.
    """
    law, lam = instance.law, instance.lam
    baseline = chernoff_baseline(law, lam, delta).value
    bound = sym.evaluate(expression, _values(instance, baseline, {sym.envelope: envelope}))
    equality = envelope >= law.ess_sup
    claimed_b = sym.evaluate(sym.PROPOSALS_IDENTITY, _values(instance, baseline))
    claimed_B = sym.evaluate(sym.IDEAL_PROPOSALS, {sym.envelope: envelope, sym.soft_value: _soft(instance),
                                                   sym.lam: lam}) if equality else claimed_b * bound
    accepts_b, d_b = designed_accepts(claimed_b, context.alpha / 2, context.beta / 4)
    accepts_B, d_B = designed_accepts(claimed_B, context.alpha / 2, context.beta / 4)
    aligned = sampler(instance, baseline, context.device)(accepts_b, context.generator(0))
    enveloped = sampler(instance, envelope, context.device)(accepts_B, context.generator(1))
    estimate_b, lower_b, upper_b = _proposal_interval(aligned, context.alpha / 2)
    estimate_B, lower_B, upper_B = _proposal_interval(enveloped, context.alpha / 2)
    exact = tq.expected_proposals(law, lam, envelope) / tq.expected_proposals(law, lam, baseline)
    detectable = max((1 + d_B) / (1 - d_b) - 1, 1 - (1 - d_B) / (1 + d_b))
    details = {"baseline": baseline, "envelope": envelope, "equality": equality, "accepts": [accepts_b, accepts_B]}
    units = "relative error of N(B)/N(b)"
    if equality:
        return interval_evidence(
            statistic="B ≥ ess sup r, an identity: two-sided interval for N(B)/N(b) from exact NB intervals "
                      "(α/2 each)", value=bound, exact=exact, empirical=estimate_B / estimate_b,
            interval=(lower_B / upper_b, upper_B / lower_b), n=aligned.proposals + enveloped.proposals,
            detectable_gap=detectable, exact_tolerance=1e-8 * bound, details=details, units=units)
    return lower_bound_evidence(
        statistic="ratio of one-sided negative-binomial bounds (α/2 each)", bound=bound, exact=exact,
        empirical=estimate_B / estimate_b, upper_confidence=upper_B / lower_b,
        n=aligned.proposals + enveloped.proposals, detectable_gap=detectable, details=details, units=units)


def check_gaussian_gap(instance: Instance, delta: float, context: CheckContext,
                       expression=sym.GAUSSIAN_GAP, sampler: SamplerFactory = rejection_factory) -> Evidence:
    law, lam = instance.law, instance.lam
    sigma = float(law.stds[0])
    claimed_gap = sym.evaluate(expression, {sym.sigma: sigma, sym.lam: lam, sym.delta: delta})
    baseline = chernoff_baseline(law, lam, delta).value
    exact_gap = (baseline - tq.soft_value(law, lam)) / lam
    # T4 brackets N(b_δ) in [e^{gap}, e^{gap}/(1−δ)]: the measured interval must meet that bracket.
    bracket = (math.exp(claimed_gap), math.exp(claimed_gap) / (1 - delta))
    accepts, detectable = designed_accepts(math.sqrt(bracket[0] * bracket[1]), context.alpha, context.beta)
    result = sampler(instance, baseline, context.device)(accepts, context.generator())
    estimate, lower, upper = _proposal_interval(result, context.alpha)
    missed = upper < bracket[0] or lower > bracket[1]
    return interval_evidence(
        statistic="(b_δ−V)/λ against the closed form (1e-6 relative: 1-D minimiser); negative-binomial "
                  "interval for N(b_δ) must meet [e^{gap}, e^{gap}/(1−δ)]",
        value=claimed_gap, exact=exact_gap, empirical=math.log(estimate), interval=None, n=result.proposals,
        detectable_gap=detectable, exact_tolerance=1e-6 * max(1, abs(claimed_gap)),
        details={"proposal_interval": [lower, upper], "bracket": list(bracket), "accepts": accepts},
        units="relative distance of N(b_δ) outside T4's bracket",
        also_fails=[f"N interval [{lower:.4g}, {upper:.4g}] misses the T4 bracket [{bracket[0]:.4g}, {bracket[1]:.4g}]"]
        if missed else [],
    )


TRADEOFF_DELTAS = (0.5, 0.3, 0.2, 0.1, 0.05, 0.02)


def chernoff_rule(law, lam: float, delta: float) -> float:
    """The baseline rule of T3/T5: δ ↦ b_δ."""
    return chernoff_baseline(law, lam, delta).value


def check_tradeoff(instance: Instance, context: CheckContext, deltas=TRADEOFF_DELTAS,
                   sampler: SamplerFactory = rejection_factory, baseline_rule=chernoff_rule) -> Evidence:
    """T5: exact monotonicity along a decreasing δ grid, and no significant reversal in measured N."""
    law, lam = instance.law, instance.lam
    baselines = [baseline_rule(law, lam, d) for d in deltas]
    expected = [tq.expected_proposals(law, lam, b) for b in baselines]
    masses = [tq.clip_mass(law, lam, b) for b in baselines]
    tolerance = 1e-9
    exact_ok = all(b2 >= b1 - tolerance for b1, b2 in zip(baselines, baselines[1:])) and \
        all(n2 >= n1 * (1 - tolerance) for n1, n2 in zip(expected, expected[1:])) and \
        all(m2 <= m1 + tolerance for m1, m2 in zip(masses, masses[1:])) and \
        all(m <= d + tolerance for m, d in zip(masses, deltas))
    share = context.alpha / (2 * len(deltas))
    # The reversal to detect: the smallest relative step of the claimed curve (a knob turned the wrong
    # way swaps steps), and at most REVERSAL_GAP. Each point's one-sided ends at α/(2·grid) detect an N
    # off by half of it (β split over the grid), so such a reversal between neighbours is seen w.p. ≥ 1 − β.
    steps = [(n2 - n1) / n2 for n1, n2 in zip(expected, expected[1:]) if n2 > 0]
    reversal = min([REVERSAL_GAP, *[step for step in steps if step > 0]])
    intervals, sizes, detectable = [], [], []
    for index, baseline in enumerate(baselines):
        accepts, error = designed_accepts(expected[index], 2 * share, context.beta / len(deltas), gap=reversal / 2)
        result = sampler(instance, baseline, context.device)(accepts, context.generator(index))
        intervals.append(_proposal_interval(result, 2 * share))
        sizes.append(result.proposals)
        detectable.append(error)
    # δ decreases along the grid, so N must not decrease: a reversal is lower(N_i) > upper(N_{i+1}).
    reversals = [i for i in range(len(deltas) - 1) if intervals[i][1] > intervals[i + 1][2]]
    worst = max((intervals[i][1] - intervals[i + 1][2]) / intervals[i + 1][2] for i in range(len(deltas) - 1))
    message = []
    if not exact_ok:
        message.append("exact curve is not monotone (b_δ, N(b_δ) non-increasing and D/Z ≤ δ non-decreasing in δ)")
    if reversals:
        pairs = ", ".join(f"δ={deltas[i]:g} vs δ={deltas[i + 1]:g}" for i in reversals)
        message.append(f"measured N(b_δ) is significantly larger at the larger δ ({pairs}): the knob is reversed")
    return Evidence(
        holds=exact_ok and not reversals,
        statistic="exact monotonicity; adjacent negative-binomial intervals (Bonferroni over the grid)",
        bound=0.0, exact=None, empirical=worst, confidence_bound=worst, n=sum(sizes),
        detectable_gap=2 * max(detectable), margin=-worst, detectable_gap_units="relative reversal of N between neighbours",
        message="; ".join(message),
        details={"deltas": list(deltas), "baselines": baselines, "expected_proposals": expected,
                 "clip_mass": masses, "measured": [list(i) for i in intervals]},
    )


# ---------------------------------------------------------------- registration
def claims() -> list[Claim]:
    out: list[Claim] = []
    for instance in INSTANCES.values():
        common = dict(module=MODULE, instance=instance.name)
        sup = instance.reward.sup
        if math.isfinite(sup):
            out.append(Claim(
                id=f"t1.ideal_exact/{instance.name}", theorem="T1", title="ideal rejection is exact",
                statement=r"b \ge \operatorname{ess\,sup} r \Rightarrow q_b = q,\ N(b) = e^{(b-V)/\lambda}",
                bound_expression=sym.IDEAL_PROPOSALS, parameters={"lambda": instance.lam, "B": sup},
                hypotheses=(Hypothesis(r"$B \ge \operatorname{ess\,sup} r$", lambda i=instance: i.reward.sup >= i.law.ess_sup),),
                check=partial(check_ideal_exact, instance), **common))
        for baseline in (tq.soft_value(instance.law, instance.lam) + instance.lam,
                         chernoff_baseline(instance.law, instance.lam, 0.3).value):
            params = {"lambda": instance.lam, "b": baseline}
            label = f"{baseline:.4g}"
            out += [
                Claim(id=f"t4.proposals_identity/{instance.name}/b={label}", theorem="T4", title="N(b) identity",
                      statement=r"N(b) = \frac{e^{(b-V)/\lambda}}{1 - D/Z}", bound_expression=sym.PROPOSALS_IDENTITY,
                      parameters=params, hypotheses=(), check=partial(check_proposals_identity, instance, baseline), **common),
                Claim(id=f"t4.proposals_lower/{instance.name}/b={label}", theorem="T4", title="N(b) lower bound",
                      statement=r"N(b) \ge e^{(b-V)/\lambda}", bound_expression=sym.PROPOSALS_LOWER,
                      parameters=params, hypotheses=(), check=partial(check_proposals_lower, instance, baseline), **common),
            ]
        for delta in (0.3, informative_delta(instance)):
            out.append(Claim(
                id=f"t4.proposals_upper/{instance.name}/delta={delta:g}", theorem="T4", title="N(b_δ) upper bound",
                statement=r"D/Z \le \delta \Rightarrow N(b) \le \frac{e^{(b-V)/\lambda}}{1-\delta}",
                bound_expression=sym.PROPOSALS_UPPER, parameters={"lambda": instance.lam, "delta": delta},
                hypotheses=(Hypothesis(r"$D/Z \le \delta$ at $b_\delta$", lambda i=instance, d=delta: tq.clip_mass(
                    i.law, i.lam, chernoff_baseline(i.law, i.lam, d).value) <= d), _below_sup(instance, delta)),
                check=partial(check_proposals_upper, instance, delta), **common))
        envelope = sup if math.isfinite(sup) else chernoff_baseline(instance.law, instance.lam, 0.1).value
        out.append(Claim(
            id=f"t4.saving/{instance.name}/delta=0.5,B={envelope:.4g}", theorem="T4", title="saving against an envelope",
            statement=r"B \ge b:\ N(B)/N(b) \ge e^{(B-b)/\lambda}(1 - D/Z)", bound_expression=sym.SAVING_LOWER,
            parameters={"lambda": instance.lam, "delta": 0.5, "B": envelope},
            hypotheses=(Hypothesis("$B \\ge b_{0.5}$", lambda i=instance, B=envelope: B >= chernoff_baseline(i.law, i.lam, 0.5).value),
                        _below_sup(instance, 0.5)),
            check=partial(check_saving, instance, 0.5, envelope), **common))
        if instance.is_gaussian_linear:
            for delta in (0.1, 0.01):
                out.append(Claim(
                    id=f"t4.gaussian_gap/{instance.name}/delta={delta:g}", theorem="T4", title="Gaussian gap (b_δ − V)/λ",
                    statement=r"r\sim\mathcal N(\cdot,\sigma^2) \text{ under } p:\ \frac{b_\delta - V}{\lambda} = \frac{\sigma^2}{2\lambda^2} + \frac{\sigma}{\lambda}\sqrt{2\log(1/\delta)}",
                    bound_expression=sym.GAUSSIAN_GAP, parameters={"lambda": instance.lam, "delta": delta},
                    hypotheses=(Hypothesis("reward is Gaussian under p", lambda i=instance: isinstance(i.law, NormalMixtureLaw) and i.law.means.size == 1),),
                    check=partial(check_gaussian_gap, instance, delta), **common))
        out.append(Claim(
            id=f"t5.tradeoff/{instance.name}", theorem="T5", title="δ is the compute knob",
            statement=r"\delta \mapsto b_\delta,\ N(b_\delta) \text{ non-increasing},\ D/Z \text{ non-decreasing}",
            bound_expression=sym.delta, parameters={"lambda": instance.lam}, hypotheses=(Hypothesis(
                r"at least 3 grid points with $b_\delta < \operatorname{ess\,sup} r$ (a flat grid tests nothing)",
                lambda i=instance: len(tradeoff_deltas(i)) >= 3),),
            check=partial(check_tradeoff, instance, deltas=tradeoff_deltas(instance)), **common))
    return out


def _below_sup(instance: Instance, delta: float) -> Hypothesis:
    return Hypothesis(r"$b_\delta < \operatorname{ess\,sup} r$ (else the claim is T1's)",
                      lambda i=instance, d=delta: baseline_below_ess_sup(i, d))


def tradeoff_deltas(instance: Instance) -> tuple[float, ...]:
    """The points of ``TRADEOFF_DELTAS`` whose b_δ stays below ess sup r (beyond them the curve is flat)."""
    return tuple(delta for delta in TRADEOFF_DELTAS if baseline_below_ess_sup(instance, delta))


def proofs():
    """T1, T4 and T5 as proof objects (``theorems/proofs/proposal_complexity.py``, imported lazily)."""
    from theorems.proofs.proposal_complexity import proofs as declared

    return declared()
