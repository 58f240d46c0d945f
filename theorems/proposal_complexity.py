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
``negative_binomial_rate_interval`` gives exact intervals for ``Z_b = 1/N(b)``.
"""
from __future__ import annotations

import math
from functools import partial


from estimators import tilt_quantities as tq
from estimators.baselines import chernoff_baseline
from estimators.confidence import negative_binomial_rate_interval
from estimators.exact import TiltedLaw
from estimators.law_tests import fit_sample_size, fit_test
from estimators.reward_law import NormalMixtureLaw
from theorems import symbols as sym
from theorems._evidence import interval_evidence, lower_bound_evidence, upper_bound_evidence
from theorems._sampling import SamplerFactory, rejection_factory
from theorems.framework import CheckContext, Claim, Evidence, Hypothesis
from theorems.instances import INSTANCES, Instance

MODULE = "proposal_complexity"
ACCEPTED = 20_000        # accepted samples per proposal-count measurement
RELATIVE_GAP = 0.05      # detectable relative error in N is reported for this many accepts
FIT_GAP = 0.03


def _proposal_interval(result, alpha: float) -> tuple[float, float, float]:
    """(estimate of N, lower, upper) from an exact two-sided negative-binomial interval on 1/N."""
    low_rate, high_rate = negative_binomial_rate_interval(result.accepted, result.proposals, alpha)
    return result.proposals / result.accepted, 1.0 / high_rate, 1.0 / low_rate


def _relative_power(alpha: float, beta: float, accepted: int) -> float:
    """Relative deviation of N detectable w.p. ≥ 1 − β (normal approximation to the NB quantiles)."""
    from scipy.stats import norm

    return (norm.isf(alpha / 2) + norm.isf(beta)) / math.sqrt(accepted)


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
    n = max(fit_sample_size(target, FIT_GAP, context.alpha / 2, context.beta), ACCEPTED)
    result = sampler(instance, envelope, context.device)(n, context.generator())
    fit = fit_test(result.samples, target, context.alpha / 2, context.beta)
    estimate, lower, upper = _proposal_interval(result, context.alpha / 2)
    claimed = sym.evaluate(sym.IDEAL_PROPOSALS, {sym.envelope: envelope, sym.soft_value: _soft(instance),
                                                 sym.lam: instance.lam})
    evidence = interval_evidence(
        statistic=f"{fit.name} (α/2) and exact negative-binomial interval for N (α/2)", value=claimed,
        exact=tq.expected_proposals(instance.law, instance.lam, envelope), empirical=estimate,
        interval=(lower, upper), n=n, detectable_gap=fit.detectable_gap,
        details={"fit_statistic": fit.statistic, "fit_threshold": fit.threshold, "per_projection": fit.per_projection},
    )
    if fit.rejected:
        evidence.holds = False
        evidence.message = "; ".join(filter(None, [evidence.message,
                                                   f"output law differs from q: {fit.statistic:.4g} > {fit.threshold:.4g}"]))
    return evidence


def check_proposals_identity(instance: Instance, baseline: float, context: CheckContext,
                             sampler: SamplerFactory = rejection_factory, expression=sym.PROPOSALS_IDENTITY) -> Evidence:
    claimed = sym.evaluate(expression, _values(instance, baseline))
    result = sampler(instance, baseline, context.device)(ACCEPTED, context.generator())
    estimate, lower, upper = _proposal_interval(result, context.alpha)
    return interval_evidence(
        statistic="exact negative-binomial interval for N(b) from the proposal count", value=claimed,
        exact=tq.expected_proposals(instance.law, instance.lam, baseline), empirical=estimate,
        interval=(lower, upper), n=result.proposals,
        detectable_gap=_relative_power(context.alpha, context.beta, ACCEPTED) * claimed,
        exact_tolerance=1e-8 * claimed,
    )


def check_proposals_lower(instance: Instance, baseline: float, context: CheckContext,
                          sampler: SamplerFactory = rejection_factory, expression=sym.PROPOSALS_LOWER) -> Evidence:
    bound = sym.evaluate(expression, _values(instance, baseline))
    result = sampler(instance, baseline, context.device)(ACCEPTED, context.generator())
    estimate, _, upper = _proposal_interval(result, 2 * context.alpha)  # one side of a 2α interval
    return lower_bound_evidence(
        statistic="one-sided negative-binomial upper bound on N(b)", bound=bound,
        exact=tq.expected_proposals(instance.law, instance.lam, baseline), empirical=estimate,
        upper_confidence=upper, n=result.proposals,
        detectable_gap=_relative_power(2 * context.alpha, context.beta, ACCEPTED) * bound,
    )


def check_proposals_upper(instance: Instance, delta: float, context: CheckContext,
                          sampler: SamplerFactory = rejection_factory, expression=sym.PROPOSALS_UPPER) -> Evidence:
    baseline = chernoff_baseline(instance.law, instance.lam, delta).value
    bound = sym.evaluate(expression, _values(instance, baseline, {sym.delta: delta}))
    result = sampler(instance, baseline, context.device)(ACCEPTED, context.generator())
    estimate, lower, _ = _proposal_interval(result, 2 * context.alpha)
    return upper_bound_evidence(
        statistic="one-sided negative-binomial lower bound on N(b_δ)", bound=bound,
        exact=tq.expected_proposals(instance.law, instance.lam, baseline), empirical=estimate,
        lower_confidence=lower, n=result.proposals,
        detectable_gap=_relative_power(2 * context.alpha, context.beta, ACCEPTED) * bound,
        details={"baseline": baseline},
    )


def check_saving(instance: Instance, delta: float, envelope: float, context: CheckContext,
                 sampler: SamplerFactory = rejection_factory, expression=sym.SAVING_LOWER) -> Evidence:
    baseline = chernoff_baseline(instance.law, instance.lam, delta).value
    bound = sym.evaluate(expression, _values(instance, baseline, {sym.envelope: envelope}))
    aligned = sampler(instance, baseline, context.device)(ACCEPTED, context.generator(0))
    enveloped = sampler(instance, envelope, context.device)(ACCEPTED, context.generator(1))
    # Ratio N(B)/N(b): upper end from the upper N(B) and the lower N(b), each one-sided at α/2.
    estimate_b, lower_b, _ = _proposal_interval(aligned, context.alpha)
    estimate_B, _, upper_B = _proposal_interval(enveloped, context.alpha)
    law, lam = instance.law, instance.lam
    exact = tq.expected_proposals(law, lam, envelope) / tq.expected_proposals(law, lam, baseline)
    return lower_bound_evidence(
        statistic="ratio of one-sided negative-binomial bounds (α/2 each)", bound=bound, exact=exact,
        empirical=estimate_B / estimate_b, upper_confidence=upper_B / lower_b,
        n=aligned.proposals + enveloped.proposals,
        detectable_gap=2 * _relative_power(context.alpha, context.beta, ACCEPTED) * bound,
        details={"baseline": baseline, "envelope": envelope},
    )


def check_gaussian_gap(instance: Instance, delta: float, context: CheckContext,
                       expression=sym.GAUSSIAN_GAP, sampler: SamplerFactory = rejection_factory) -> Evidence:
    law, lam = instance.law, instance.lam
    sigma = float(law.stds[0])
    claimed_gap = sym.evaluate(expression, {sym.sigma: sigma, sym.lam: lam, sym.delta: delta})
    baseline = chernoff_baseline(law, lam, delta).value
    exact_gap = (baseline - tq.soft_value(law, lam)) / lam
    result = sampler(instance, baseline, context.device)(ACCEPTED, context.generator())
    estimate, lower, upper = _proposal_interval(result, context.alpha)
    # T4 brackets N(b_δ) in [e^{gap}, e^{gap}/(1−δ)]: the measured interval must meet that bracket.
    bracket = (math.exp(claimed_gap), math.exp(claimed_gap) / (1 - delta))
    evidence = interval_evidence(
        statistic="(b_δ−V)/λ against the closed form (1e-6 relative: 1-D minimiser); negative-binomial "
                  "interval for N(b_δ) must meet [e^{gap}, e^{gap}/(1−δ)]",
        value=claimed_gap, exact=exact_gap, empirical=math.log(estimate), interval=None, n=result.proposals,
        detectable_gap=_relative_power(context.alpha, context.beta, ACCEPTED), exact_tolerance=1e-6 * max(1, abs(claimed_gap)),
        details={"proposal_interval": [lower, upper], "bracket": list(bracket)},
    )
    if upper < bracket[0] or lower > bracket[1]:
        evidence.holds = False
        evidence.message = "; ".join(filter(None, [evidence.message, f"N interval [{lower:.4g}, {upper:.4g}] misses the T4 bracket [{bracket[0]:.4g}, {bracket[1]:.4g}]"]))
    return evidence


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
    intervals = []
    for index, baseline in enumerate(baselines):
        result = sampler(instance, baseline, context.device)(ACCEPTED // 2, context.generator(index))
        intervals.append(_proposal_interval(result, 2 * share))
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
        bound=0.0, exact=None, empirical=worst, confidence_bound=worst, n=sum(ACCEPTED // 2 for _ in deltas),
        detectable_gap=2 * _relative_power(2 * share, context.beta, ACCEPTED // 2), margin=-worst,
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
        for delta in (0.3, 0.1):
            out.append(Claim(
                id=f"t4.proposals_upper/{instance.name}/delta={delta:g}", theorem="T4", title="N(b_δ) upper bound",
                statement=r"D/Z \le \delta \Rightarrow N(b) \le \frac{e^{(b-V)/\lambda}}{1-\delta}",
                bound_expression=sym.PROPOSALS_UPPER, parameters={"lambda": instance.lam, "delta": delta},
                hypotheses=(Hypothesis(r"$D/Z \le \delta$ at $b_\delta$", lambda i=instance, d=delta: tq.clip_mass(
                    i.law, i.lam, chernoff_baseline(i.law, i.lam, d).value) <= d),),
                check=partial(check_proposals_upper, instance, delta), **common))
        envelope = sup if math.isfinite(sup) else chernoff_baseline(instance.law, instance.lam, 0.1).value
        out.append(Claim(
            id=f"t4.saving/{instance.name}/delta=0.5,B={envelope:.4g}", theorem="T4", title="saving against an envelope",
            statement=r"B \ge b:\ N(B)/N(b) \ge e^{(B-b)/\lambda}(1 - D/Z)", bound_expression=sym.SAVING_LOWER,
            parameters={"lambda": instance.lam, "delta": 0.5, "B": envelope},
            hypotheses=(Hypothesis("$B \\ge b_{0.5}$", lambda i=instance, B=envelope: B >= chernoff_baseline(i.law, i.lam, 0.5).value),),
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
            bound_expression=sym.delta, parameters={"lambda": instance.lam}, hypotheses=(),
            check=partial(check_tradeoff, instance), **common))
    return out
