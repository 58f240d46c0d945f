"""Per-step bounds on diffusion chains (LCB spec, "Diffusion chains"): T8 (value-error robustness) and the per-state
T4 proposal counts. Split out of ``theorems.diffusion_chains`` (claim ids unchanged); instances from ``tiltproof.instances.chain``.

Claims registered here:

* ``t8.value_error_tv`` — if ``|V̂_t − V_t| ≤ ε``, the law ``∝ p_t(·|y) e^{V̂_t/λ}`` is within ``tanh(ε/(2λ))``
  of ``q_t(·|y)`` (exact by enumeration; empirical lower bound ``TV(p̂_n, q) − ½√(K/n) − √(log(1/α)/2n)`` from
  black-box samples, n designed to detect an excess of 0.1 in TV over the bound).
* ``t8.tight`` — on a two-point instance with ``q(+) = 1/(e^{ε/λ}+1)`` and ``V̂ − V = ±ε`` the TV equals
  ``tanh(ε/(2λ))`` (exact, and a two-sided exact Clopper–Pearson interval, n designed for a TV error of 0.02).
* ``t4.step_proposals_identity`` / ``t4.step_proposals_upper`` — per state: ``N_t(y) = e^{(b−V_{t+1}(y))/λ}/(1−D/Z)``
  and, at a baseline with ``D/Z = 0.9δ``, ``N_t(y) ≤ e^{(b−V_{t+1}(y))/λ}/(1−δ)``. The exact side computes D/Z
  from its definition ``D/Z = E_{q_t(·|y)}(1 − e^{(b−V_t)/λ})_+`` over the kernel's atoms (softmax in log space),
  apart from the clipped partition ``Z_b`` that gives the exact ``N = 1/Z_b``; the empirical side is the exact
  negative-binomial interval of the proposal count, with the accepted count designed to detect a relative error
  of 8 % in N (a counter off by 10 % is a wrong variant).

Proof of T8 (used by the checks): with ``f = (V̂ − V)/λ ∈ [−a, a]``, ``a = ε/λ``, and any event A,
``q̂(A) = E_q[e^f 1_A]/E_q[e^f] ≤ q(A)e^a/(q(A)e^a + (1−q(A))e^{−a})``; maximising ``q̂(A) − q(A)`` over
q(A) gives ``q(A) = 1/(e^a+1)`` and the value ``(e^a−1)/(e^a+1) = tanh(a/2)``, attained by ``f = ±a``.
"""
from __future__ import annotations

import math
from functools import partial

import numpy as np
import sympy
import torch

from estimators.exact.chain_laws import StateLaws, kernel_value_laws
from estimators.binomial import clopper_pearson_lower, clopper_pearson_upper
from estimators.negative_binomial import negative_binomial_rate_interval
from estimators.binomial import min_discrepancy_of_binomial_rates_detectable, min_num_samples_for_binomial_rate_test
from estimators.multinomial_tv import (min_gap_of_tvs_detectable_by_tv_lower_bound,
                                       min_num_samples_for_tv_lower_bound_test)
from estimators.negative_binomial import min_num_accepted_for_relative_mean_test, min_relative_gap_of_means_detectable
from primitives.chain_samplers import ExactSoftValues, step_rejection_sample
from primitives.masked_diffusion import MaskedDiffusion, SequenceSetReward
from tiltproof.core import symbols as sym
from tiltproof.core.evidence import interval_evidence, upper_bound_evidence
from tiltproof.instances.chain import ChainInstance, _hypotheses, chain_instance, single_threaded
from tiltproof.core.framework import CheckContext, Claim, Evidence, Mutant, wrong_variant

MODULE = "chain_step_bounds"
VALUE_ERROR_GAP = 0.1     # excess of TV over T8's bound the per-state check detects w.p. ≥ 1 − β
TIGHT_GAP = 0.02          # TV error the two-point identity detects w.p. ≥ 1 − β
STEP_GAP = 0.08           # relative error of N_t(y) the per-state checks detect w.p. ≥ 1 − β
value_error = sympy.Symbol(r"varepsilon", nonnegative=True)
VALUE_ERROR_BOUND = sympy.tanh(value_error / (2 * sym.lam))


# ---------------------------------------------------------------- T8
def _value_error_state(instance: ChainInstance, t: int):
    """The level-(t+1) parent whose kernel spreads V_t the most (largest variance under p_t(·|y))."""
    chain, values = instance.chain, instance.values
    states, _ = chain.level_states(t + 1)
    laws = kernel_value_laws(chain, t, states, values)
    probs = torch.exp(laws.log_probs)
    v = torch.nan_to_num(laws.values)
    variance = (probs * v * v).sum(-1) - (probs * v).sum(-1) ** 2
    return states[int(torch.argmax(variance))][None]


class PerturbedValues:
    """``V̂_t = V_t + ε·ξ`` at one step t, ``ξ = +1`` where ``V_t > split`` and −1 elsewhere (``|V̂ − V| = ε``)."""

    def __init__(self, values, t: int, epsilon: float, split: float) -> None:
        self.values, self.t, self.epsilon, self.split = values, t, epsilon, split
        self.lam, self.reward, self.exact = values.lam, getattr(values, "reward", None), False

    def __call__(self, states, t):
        v = self.values(states, t)
        if t != self.t:
            return v
        return v + self.epsilon * torch.where(v > self.split, 1.0, -1.0).to(v.dtype)

    def root(self):
        return self.values.root()

    def envelope(self, t):
        return self.values.envelope(t) + (self.epsilon if t == self.t else 0.0)


def worst_split(laws: StateLaws, lam: float, epsilon: float) -> float:
    """The V-threshold whose upper set has q-mass closest to ``1/(e^{ε/λ} + 1)`` (T8's extremal split)."""
    values = torch.nan_to_num(laws.values[0])
    log_q = laws.log_probs[0] + values / lam
    q = torch.softmax(log_q, 0)
    order = torch.argsort(values, descending=True)
    upper_mass = torch.cumsum(q[order], 0)
    goal = 1.0 / (math.exp(epsilon / lam) + 1.0)
    index = int(torch.argmin(torch.abs(upper_mass - goal)))
    sorted_values = values[order]
    below = float(sorted_values[index + 1]) if index + 1 < sorted_values.numel() else float(sorted_values[index]) - 1.0
    return 0.5 * (float(sorted_values[index]) + below)


def check_value_error_tv(instance: ChainInstance, t: int, epsilon: float, context: CheckContext, *,
                         sampler_epsilon: float | None = None, bound=VALUE_ERROR_BOUND) -> Evidence:
    """T8 at one state of the masked chain: exact TV by enumeration, empirical multinomial lower bound."""
    instance = instance.on(context.device)
    chain, values, lam = instance.chain, instance.values, instance.lam
    parent = _value_error_state(instance, t)
    laws = kernel_value_laws(chain, t, parent, values)
    split = worst_split(laws, lam, epsilon)
    claimed = PerturbedValues(values, t, epsilon, split)
    perturbed_laws = kernel_value_laws(chain, t, parent, claimed, target=values)
    envelope = float(perturbed_laws.ess_sup()[0])
    tv_exact = float(perturbed_laws.tv_to_target(lam, envelope)[0])
    bound_value = sym.evaluate(bound, {value_error: epsilon, sym.lam: lam})
    used = PerturbedValues(values, t, epsilon if sampler_epsilon is None else sampler_epsilon, split)
    atoms = chain.kernel_atoms(t, parent)
    target_probs = torch.exp(laws.log_probs[0] + torch.nan_to_num(laws.values[0]) / lam - laws.log_partition(lam)[0])
    support = int((target_probs > 0).sum())
    samples = min_num_samples_for_tv_lower_bound_test(VALUE_ERROR_GAP, support, alpha=context.alpha, beta=context.beta)
    parents = parent.expand(samples, -1)
    envelope_used = float(kernel_value_laws(chain, t, parent, used).ess_sup()[0])
    children, _ = step_rejection_sample(chain, parents, t, used, torch.tensor([envelope_used], device=parents.device),
                                      generator=context.generator())
    # Empirical TV over the kernel's support: children as (position, token) cells.
    match = (children[:, None, :] == atoms.atoms[0][None]).all(-1)
    cell = match.to(torch.int64).argmax(-1)
    counts = torch.bincount(cell, minlength=target_probs.numel()).to(torch.float64) / samples
    # Each child differs from y at one masked position, so the (position, token) atoms are distinct states.
    estimate = 0.5 * float(torch.abs(counts - target_probs).sum())
    lower = max(0.0, estimate - 0.5 * math.sqrt(support / samples) - math.sqrt(math.log(1 / context.alpha) / (2 * samples)))
    used_laws = kernel_value_laws(chain, t, parent, used, target=values)
    return upper_bound_evidence(
        statistic="exact TV by enumeration; multinomial TV(p̂_n, q_t(·|y)) − ½√(K/n) − √(log(1/α)/2n)",
        bound=bound_value, exact=tv_exact, empirical=estimate, lower_confidence=lower, n=samples,
        detectable_gap=min_gap_of_tvs_detectable_by_tv_lower_bound(samples, support, alpha=context.alpha,
                                                                   beta=context.beta),
        details={"split": split, "parent": parent[0].tolist(), "support": support,
                 "sampler_exact_tv": float(used_laws.tv_to_target(lam, envelope_used)[0])},
        units="TV in excess of the bound (multinomial over the kernel's atoms)",
    )


def two_point_chain(epsilon: float, lam: float, device: str | torch.device = "cpu"
                    ) -> tuple[MaskedDiffusion, SequenceSetReward, float]:
    """One masked token over two values with ``p(0) = 1/(e^{ε/λ}+1)`` and ``r ≡ 0``: q = p, and
    ``V̂ = V + ε(1{x=0} − 1{x=1})`` attains T8's bound."""
    low = 1.0 / (math.exp(epsilon / lam) + 1.0)
    chain = MaskedDiffusion(np.array([[0], [1]]), [low, 1.0 - low], 2, device=device)
    return chain, SequenceSetReward(0.0, [[0]]), low


class TwoPointValues:
    """``V̂_0(x) = ε`` at x = 0 and ``−ε`` at x = 1 (``r ≡ 0``)."""

    def __init__(self, chain, epsilon: float, lam: float) -> None:
        self.chain, self.epsilon, self.lam, self.exact = chain, epsilon, lam, False

    def __call__(self, states, t):
        if t == 0:
            return torch.where(states[:, 0] == 0, self.epsilon, -self.epsilon).to(torch.float64)
        return torch.zeros(states.shape[0], dtype=torch.float64, device=states.device)

    def root(self):
        return 0.0

    def envelope(self, t):
        return self.epsilon if t == 0 else 0.0


def check_two_point_tight(epsilon: float, lam: float, context: CheckContext, *, sampler_epsilon: float | None = None,
                          bound=VALUE_ERROR_BOUND) -> Evidence:
    chain, reward, low = two_point_chain(epsilon, lam, context.device)
    exact_values = ExactSoftValues(chain, reward, lam)
    claimed = TwoPointValues(chain, epsilon, lam)
    laws = kernel_value_laws(chain, 0, chain.sample_prior(1), claimed, target=exact_values)
    tv_exact = float(laws.tv_to_target(lam, epsilon)[0])
    claimed_tv = sym.evaluate(bound, {value_error: epsilon, sym.lam: lam})
    used = TwoPointValues(chain, epsilon if sampler_epsilon is None else sampler_epsilon, lam)
    target = low + claimed_tv
    samples = max(min_num_samples_for_binomial_rate_test(target, min(target + TIGHT_GAP, 1 - 1e-9), alpha=context.alpha,
                                                         beta=context.beta),
                  min_num_samples_for_binomial_rate_test(target, max(target - TIGHT_GAP, 1e-9), alpha=context.alpha,
                                                         beta=context.beta))
    children, _ = step_rejection_sample(chain, chain.sample_prior(samples), 0, used, torch.tensor([used.envelope(0)], device=chain.device),
                                        generator=context.generator())
    hits = int((children[:, 0] == 0).sum())
    # q(0) = low; the claimed law has q̂(0) = low + tanh(ε/2λ): two-sided exact interval on q̂(0).
    interval = (clopper_pearson_lower(hits, samples, context.alpha / 2) - low,
                clopper_pearson_upper(hits, samples, context.alpha / 2) - low)
    below, above = min_discrepancy_of_binomial_rates_detectable(samples, target, alpha=context.alpha, beta=context.beta)
    return interval_evidence(
        statistic="exact TV (two points) = tanh(ε/2λ); two-sided Clopper–Pearson interval on q̂(0) − q(0)",
        value=claimed_tv, exact=tv_exact, empirical=hits / samples - low, interval=interval, n=samples,
        detectable_gap=max(above - target, target - below), exact_tolerance=1e-12,
        units="TV (= |q̂(0) − q(0)| on two points)",
    )


# ---------------------------------------------------------------- T4 per state
def _ridge_parent(t: int, position: float, device: str | torch.device = "cpu") -> torch.Tensor:
    return torch.tensor([[position, 0.0]], dtype=torch.float64, device=device)


def undercounting(proposals: torch.Tensor) -> torch.Tensor:
    return torch.clamp((0.9 * proposals.to(torch.float64)).floor().to(torch.long), min=1)


def overcounting(proposals: torch.Tensor) -> torch.Tensor:
    return (1.1 * proposals.to(torch.float64)).ceil().to(torch.long)


def direct_clip_mass(laws: StateLaws, lam: float, baseline: float) -> float:
    """``D/Z = E_{q_t(·|y)}(1 − e^{(b − V_t)/λ})_+`` from the kernel's atoms (first parent), by its definition:
    ``q ∝ p e^{V_t/λ}`` as a log-space softmax; independent of the clipped partition ``Z_b``."""
    values = laws.values[0].detach().cpu().numpy()
    log_p = laws.log_probs[0].detach().cpu().numpy()
    keep = np.isfinite(log_p) & np.isfinite(values)
    log_q = log_p[keep] + values[keep] / lam
    q = np.exp(log_q - log_q.max())
    q = q / q.sum()
    return float((q * -np.expm1(np.minimum(0.0, (baseline - values[keep]) / lam))).sum())


def _step_parent(instance: ChainInstance, t: int) -> torch.Tensor:
    if instance.kind in ("gmm", "ddpm"):
        return _ridge_parent(t, -1.0, instance.device)
    return _value_error_state(instance, t)


def _measure_step(instance: ChainInstance, parent: torch.Tensor, t: int, baseline: float, context: CheckContext,
                  alpha: float, accepted: int, count=lambda p: p):
    parents = parent.expand(accepted, *parent.shape[1:])
    _, proposals = step_rejection_sample(instance.chain, parents, t, instance.values, torch.tensor([baseline], device=parents.device),
                                         generator=context.generator())
    total = int(count(proposals).sum())
    low_rate, high_rate = negative_binomial_rate_interval(accepted, total, alpha)
    return total / accepted, 1.0 / high_rate, 1.0 / low_rate


def check_step_proposals_identity(instance: ChainInstance, t: int, offset: float, context: CheckContext, *,
                                  count=lambda p: p, expression=sym.PROPOSALS_IDENTITY) -> Evidence:
    instance = instance.on(context.device)
    parent = _step_parent(instance, t)
    laws = kernel_value_laws(instance.chain, t, parent, instance.values)
    soft = float(instance.values(parent, t + 1)[0])
    baseline = soft + offset
    clip = direct_clip_mass(laws, instance.lam, baseline)
    claimed = sym.evaluate(expression, {sym.baseline: baseline, sym.soft_value: soft, sym.lam: instance.lam,
                                        sym.clipped_mass: clip, sym.partition: 1.0})
    exact = float(laws.expected_proposals(instance.lam, baseline)[0])
    accepted = min_num_accepted_for_relative_mean_test(claimed, STEP_GAP, alpha=context.alpha, beta=context.beta)
    estimate, lower, upper = _measure_step(instance, parent, t, baseline, context, context.alpha, accepted, count)
    return interval_evidence(
        statistic="claimed N from D/Z by its definition (atoms of the kernel); exact N = 1/Z_b; exact negative-binomial "
                  "interval (α/2 per side) for N_t(y) from the proposal count",
        value=claimed, exact=exact, empirical=estimate, interval=(lower, upper), n=accepted,
        detectable_gap=min_relative_gap_of_means_detectable(accepted, claimed, alpha=context.alpha, beta=context.beta),
        exact_tolerance=1e-8 * claimed, details={"parent": parent[0].tolist(), "baseline": baseline, "clip_mass": clip},
        units="relative error of N_t(y)",
    )


def baseline_with_clip_mass(laws: StateLaws, lam: float, target: float) -> float:
    """The baseline b with ``D/Z(b) = target`` (D/Z decreases in b; bisection on the exact law)."""
    low, high = float(laws.values.nan_to_num().min()) - 50 * lam, float(laws.ess_sup()[0])
    for _ in range(200):
        middle = 0.5 * (low + high)
        if float(laws.clip_mass(lam, middle)[0]) > target:
            low = middle
        else:
            high = middle
    return high


def check_step_proposals_upper(instance: ChainInstance, t: int, delta: float, context: CheckContext, *,
                               expression=sym.PROPOSALS_UPPER) -> Evidence:
    """T4's upper bound at a baseline whose clipped mass is 0.9δ (so the 1/(1−δ) factor matters)."""
    instance = instance.on(context.device)
    parent = _step_parent(instance, t)
    laws = kernel_value_laws(instance.chain, t, parent, instance.values)
    soft = float(instance.values(parent, t + 1)[0])
    baseline = baseline_with_clip_mass(laws, instance.lam, 0.9 * delta)
    bound = sym.evaluate(expression, {sym.baseline: baseline, sym.soft_value: soft, sym.lam: instance.lam,
                                      sym.delta: delta})
    exact = float(laws.expected_proposals(instance.lam, baseline)[0])
    accepted = min_num_accepted_for_relative_mean_test(bound, STEP_GAP, alpha=2 * context.alpha, beta=context.beta)
    estimate, lower, _ = _measure_step(instance, parent, t, baseline, context, 2 * context.alpha, accepted)
    return upper_bound_evidence(
        statistic="one-sided negative-binomial lower bound on N_t(y) at the b with D/Z = 0.9δ", bound=bound, exact=exact,
        empirical=estimate, lower_confidence=lower, n=accepted,
        detectable_gap=min_relative_gap_of_means_detectable(accepted, bound, alpha=2 * context.alpha, beta=context.beta),
        details={"parent": parent[0].tolist(), "baseline": baseline,
                 "clip_mass": direct_clip_mass(laws, instance.lam, baseline)},
        units="relative excess of N_t(y) over the bound",
    )




# ---------------------------------------------------------------- registration
def claims() -> list[Claim]:
    out: list[Claim] = []
    masked = chain_instance("masked", 5.0)
    for t, epsilon in ((2, 0.5),):
        out.append(Claim(
            id=f"t8.value_error_tv/{masked.name}/t={t},eps={epsilon:g}", theorem="T8", module=MODULE,
            title="value-error robustness", statement=r"|\hat V_t - V_t|\le\varepsilon \Rightarrow "
            r"\mathrm{TV}(p_t e^{\hat V_t/\lambda}/\hat Z, q_t(\cdot|y)) \le \tanh(\varepsilon/2\lambda)",
            bound_expression=VALUE_ERROR_BOUND, instance=masked.name, hypotheses=_hypotheses(masked),
            parameters={"lambda": masked.lam, "epsilon": epsilon, "t": t},
            check=single_threaded(partial(check_value_error_tv, masked, t, epsilon))))
    for epsilon in (0.5, 2.0):
        out.append(Claim(
            id=f"t8.tight/two-point/eps={epsilon:g}", theorem="T8", module=MODULE, title="T8 is attained",
            statement=r"q(+)=1/(e^{\varepsilon/\lambda}+1),\ \hat V - V=\pm\varepsilon \Rightarrow \mathrm{TV} = \tanh(\varepsilon/2\lambda)",
            bound_expression=VALUE_ERROR_BOUND, instance="two-point", hypotheses=(),
            parameters={"lambda": 1.0, "epsilon": epsilon}, check=single_threaded(partial(check_two_point_tight, epsilon, 1.0))))
    for kind, t in (("gmm", 10), ("masked", 2)):
        instance = chain_instance(kind, 5.0)
        out.append(Claim(
            id=f"t4.step_proposals_identity/{instance.name}/t={t},offset=0.5", theorem="T4", module=MODULE,
            title="per-state N identity", statement=r"N_t(y) = e^{(b_t(y)-V_{t+1}(y))/\lambda}/(1 - D_y/Z_y)",
            bound_expression=sym.PROPOSALS_IDENTITY, instance=instance.name, hypotheses=_hypotheses(instance),
            parameters={"lambda": instance.lam, "t": t, "offset": 0.5},
            check=single_threaded(partial(check_step_proposals_identity, instance, t, 0.5))))
        out.append(Claim(
            id=f"t4.step_proposals_upper/{instance.name}/t={t},delta=0.3", theorem="T4", module=MODULE,
            title="per-state N when D/Z ≤ δ",
            statement=r"D_y/Z_y\le\delta \Rightarrow N_t(y) \le e^{(b_\delta(y)-V_{t+1}(y))/\lambda}/(1-\delta)",
            bound_expression=sym.PROPOSALS_UPPER, instance=instance.name, hypotheses=_hypotheses(instance),
            parameters={"lambda": instance.lam, "t": t, "delta": 0.3},
            check=single_threaded(partial(check_step_proposals_upper, instance, t, 0.3))))
    return out


def _variant(claim_id: str, check, suffix: str, bound_expression=None) -> Claim:
    return wrong_variant(claims(), claim_id, single_threaded(check), suffix, bound_expression)


def mutants() -> list[Mutant]:
    gmm5, masked = chain_instance("gmm", 5.0), chain_instance("masked", 5.0)
    wrong_t8 = sympy.tanh(value_error / (4 * sym.lam))
    return [
        Mutant("value-error-bound-dropped-factor", "T8", "tanh(ε/4λ) in place of tanh(ε/2λ) on the two-point instance",
               _variant("t8.tight/two-point/eps=0.5", partial(check_two_point_tight, 0.5, 1.0, bound=wrong_t8),
                        "dropped-2", wrong_t8)),
        Mutant("value-error-larger-than-claimed", "T8", "values off by 3ε while the bound is stated for ε",
               _variant("t8.value_error_tv/masked-ref-B5/t=2,eps=0.5",
                        partial(check_value_error_tv, masked, 2, 0.5, sampler_epsilon=1.5), "three-epsilon")),
        Mutant("two-point-larger-error", "T8", "two-point sampler with error 2ε claimed to attain tanh(ε/2λ)",
               _variant("t8.tight/two-point/eps=2", partial(check_two_point_tight, 2.0, 1.0, sampler_epsilon=4.0),
                        "two-epsilon")),
        Mutant("step-proposals-undercounted", "T4", "per-state sampler reporting 10% fewer proposals than it used",
               _variant("t4.step_proposals_identity/gmm-ref-B5/t=10,offset=0.5",
                        partial(check_step_proposals_identity, gmm5, 10, 0.5, count=undercounting), "undercount")),
        Mutant("step-proposals-upper-dropped-factor", "T4", "N_t(y) ≤ e^{(b−V_{t+1})/λ}: the 1/(1−δ) factor dropped",
               _variant("t4.step_proposals_upper/masked-ref-B5/t=2,delta=0.3",
                        partial(check_step_proposals_upper, masked, 2, 0.3, expression=sym.PROPOSALS_LOWER),
                        "dropped-1-delta", sym.PROPOSALS_LOWER)),
        Mutant("step-proposals-overcounted", "T4", "per-state sampler reporting 10% more proposals than it used",
               _variant("t4.step_proposals_identity/masked-ref-B5/t=2,offset=0.5",
                        partial(check_step_proposals_identity, masked, 2, 0.5, count=overcounting), "overcount")),
    ]


def proofs():
    """T8 as a proof object (``theorems/proofs/chain_step_bounds.py``, imported lazily)."""
    from theorems.proofs.chain_step_bounds import proofs as declared

    return declared()
