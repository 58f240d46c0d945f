"""T1, T7 and T8 on a *learned* masked-diffusion LM's own chain, with exact laws by enumeration.

The instance ``lm-tiny-B5``: the project's tiny masked LM (``primitives.masked_lm.TINY_CONFIG``: a one-layer
transformer trained in seconds on the standard library's docstrings mapped to character classes — space,
vowel, consonant — L = 4, one position unmasked per step, T = 4), cached on disk; reward
``r(x) = B·(share of vowels)`` (``ClassShareReward``), B = 5, λ = 1. The chain's laws are sums over its
4⁴ = 256 states (``primitives.masked_lm_exact.EnumeratedMaskedLM``): ``p_0``, the soft values V_t by
the backward recursion and the aligned law ``q_0 ∝ p_0 e^{r/λ}`` are exact. The claims hold for *this*
trained network, whatever its quality: the theorems are about the chain the model defines.

Claims (LCB spec; each sampled test a multinomial TV test over the 81 sequences, n designed so that a TV
gap of ``GAP`` = 0.1 is detected w.p. ≥ 1 − β, ``estimators.multinomial_tv.min_num_samples_for_multinomial_tv_test``):

* ``t1.trajectory_exact/lm-tiny-B5`` — T1 on paths: whole chains of the model accepted with
  ``e^{(r(x_0) − B)/λ}`` output ``q_0`` exactly. Sampled x_0 against the enumerated q_0.
* ``t7.path_tv/lm-tiny-B5/offset=0`` — T7: per-step rejection with ``b_t(y) = V_{t+1}(y)`` has
  ``TV(q̂_0, q_0) ≤ Σ_t E_{y~q̂_{t+1}} TV(q̂_t(·|y), q_t(·|y))`` (both sides exact by pushing the sampler's
  clipped kernels through the enumerated chain, ``estimators.exact.finite_chain_law.finite_sampler_law``), and the
  sampler's x_0 has that exact law (sampled, α).
* ``t7.ideal_exact/lm-tiny-B5`` — with ``b_t ≥ sup V_t`` every T7 term is 0 and the x_0 law is q_0
  (exact, and sampled against q_0).
* ``t8.value_error_tv/lm-tiny-B5/learned`` — T8 with the project's *learned* soft values V̂
  (``learning.chain_baseline.fit_soft_values`` on the model's own chain): at every state y of
  every step, ``TV(p_t(·|y)e^{V̂_t/λ}/Ẑ, q_t(·|y)) ≤ tanh(ε_t(y)/2λ)`` with ``ε_t(y) = max |V̂_t − V_t|``
  over the children of y (exact, all 256 states); and the ideal per-step sampler with V̂ has the exact
  law obtained by composing those kernels (sampled).

Wrong variants perturb code: the model's logits at temperature 1.5 (trajectory rejection, the T8 sampler),
per-step acceptance at 2λ (the ideal sampler), and the T7 sampler run on the temperature-1.5 kernel.
"""
from __future__ import annotations

import math
from functools import lru_cache, partial

import numpy as np
import sympy
import torch

from estimators.exact.finite_chain_law import aligned_data_law, finite_sampler_law
from estimators.multinomial_tv import multinomial_tv_radius
from estimators.multinomial_tv import (min_gap_of_tvs_detectable_by_multinomial,
                                       min_num_samples_for_multinomial_tv_test)
from primitives.chain_samplers import (EnvelopeBaseline, ExactSoftValues, OffsetBaseline, per_step_rejection_sample,
                                       trajectory_rejection_sample)
from primitives.masked_lm import TINY_CONFIG, MaskedLMKernel, train_masked_lm
from primitives.masked_lm_exact import EnumeratedMaskedLM
from primitives.text_rewards import ClassShareReward
from tiltproof.core import symbols as sym
from tiltproof.instances.chain import TemperatureValues, single_threaded
from tiltproof.core.chain_path_tv import PATH_TV_BOUND, T7_STATEMENT
from theorems.chain_step_bounds import VALUE_ERROR_BOUND, value_error
from tiltproof.core.framework import CheckContext, Claim, Evidence, Hypothesis, Mutant, wrong_variant

MODULE = "masked_lm_chains"
INSTANCE = "lm-tiny-B5"
HEIGHT, LAM = 5.0, 1.0
GAP = 0.1                 # TV gap every sampled test detects w.p. ≥ 1 − β
WRONG_TEMPERATURE = 1.5   # the wrong variants' logits temperature
EXACT_TOLERANCE = 1e-9    # float64 sums of the enumerated laws


# ---------------------------------------------------------------- the instance
@lru_cache(maxsize=None)
def tiny_chain(temperature: float = 1.0, device: str = "cpu") -> EnumeratedMaskedLM:
    """The tiny trained model's chain (logits at ``temperature``), enumerated; the weights are cached on disk."""
    kernel = train_masked_lm(TINY_CONFIG)
    if temperature != 1.0 or device != "cpu":
        kernel = MaskedLMKernel(kernel.model, length=kernel.length, mask_id=kernel.mask, temperature=temperature,
                                device=device)
    return EnumeratedMaskedLM(kernel)


@lru_cache(maxsize=None)
def tiny_reward() -> ClassShareReward:
    return ClassShareReward(HEIGHT, token=1)


@lru_cache(maxsize=None)
def tiny_values(device: str = "cpu") -> ExactSoftValues:
    return ExactSoftValues(tiny_chain(device=device), tiny_reward(), LAM)


@lru_cache(maxsize=None)
def learned_values(device: str = "cpu"):
    """V̂ fitted by soft Bellman regression on the model's own chain (deterministic for its seed)."""
    from learning.chain_baseline import fit_soft_values

    chain = tiny_chain(device=device)
    generator = torch.Generator(device=chain.device).manual_seed(20261207)
    values, _ = fit_soft_values(chain.kernel, tiny_reward(), LAM, parents=1024, children=16, iterations=200,
                                hidden=32, vocabulary=chain.kernel.total_vocabulary, generator=generator)
    return values


def _device(context: CheckContext) -> str:
    return str(context.device)


def _hypotheses() -> tuple[Hypothesis, ...]:
    return (Hypothesis(r"$\lambda > 0$", lambda: LAM > 0),
            Hypothesis("the learned chain is enumerable (one position per step, $(V+1)^L$ states listed)",
                       lambda: tiny_chain().steps == tiny_chain().length))


# ---------------------------------------------------------------- samplers (correct and wrong)
def trajectory_sampler(chain, n, generator, *, temperature: float = 1.0):
    kernel = chain.kernel if temperature == 1.0 else tiny_chain(temperature, str(chain.device)).kernel
    return trajectory_rejection_sample(kernel, tiny_reward(), LAM, n, generator=generator)


def per_step_sampler(chain, values, baseline, n, generator, *, temperature: float = 1.0, acceptance: float = 1.0):
    kernel = chain.kernel if temperature == 1.0 else tiny_chain(temperature, str(chain.device)).kernel
    used = values if acceptance == 1.0 else TemperatureValues(values, acceptance)
    return per_step_rejection_sample(kernel, used, baseline, n, generator=generator)


def _multinomial_fit(chain, law: np.ndarray, draw, context: CheckContext, alpha: float):
    """Empirical x_0 law of ``draw(n)`` against ``law``: (statistic, threshold, n, detectable, queries/sample)."""
    n = min_num_samples_for_multinomial_tv_test(GAP, law, alpha=alpha, beta=context.beta)
    result = draw(n)
    index = chain.data_index(result.samples)
    if bool((index < 0).any()):
        raise RuntimeError("a sampler returned a sequence with a mask token")
    counts = np.bincount(index.cpu().numpy(), minlength=law.size) / n
    statistic = 0.5 * float(np.abs(counts - law).sum())
    return (statistic, multinomial_tv_radius(n, alpha, probs=law), n,
            min_gap_of_tvs_detectable_by_multinomial(n, law, alpha=alpha, beta=context.beta), result.queries_per_sample)


UNITS = "TV over the 81 sequences (multinomial)"
FIT = "multinomial TV to the exact enumerated law vs ½Σ√(p_i/n) + √(log(1/α)/2n)"


# ---------------------------------------------------------------- checks
def check_trajectory_exact(context: CheckContext, *, temperature: float = 1.0) -> Evidence:
    chain = tiny_chain(device=_device(context))
    q0 = aligned_data_law(chain, tiny_reward(), LAM)
    generator = context.generator()
    statistic, threshold, n, detectable, queries = _multinomial_fit(
        chain, q0, lambda n: trajectory_sampler(chain, n, generator, temperature=temperature), context, context.alpha)
    return Evidence(holds=statistic <= threshold, statistic=FIT, bound=threshold, empirical=statistic,
                    confidence_bound=statistic, n=n, detectable_gap=detectable, detectable_gap_units=UNITS,
                    margin=threshold - statistic,
                    message="" if statistic <= threshold else f"x_0 law differs from q_0: {statistic:.4g} > {threshold:.4g}",
                    details={"queries_per_sample": queries})


def check_path_tv(offset: float, context: CheckContext, *, temperature: float = 1.0) -> Evidence:
    """T7 exactly (TV(q̂_0, q_0) ≤ Σ exact terms) and the sampler's x_0 against its exact law (α)."""
    chain, values = tiny_chain(device=_device(context)), tiny_values(_device(context))
    baseline = OffsetBaseline(values, offset)
    law = finite_sampler_law(chain, values, baseline)
    q0 = aligned_data_law(chain, tiny_reward(), LAM)
    tv_exact = 0.5 * float(np.abs(law.x0_probs - q0).sum())
    bound = law.path_bound
    generator = context.generator()
    statistic, threshold, n, detectable, queries = _multinomial_fit(
        chain, law.x0_probs, lambda n: per_step_sampler(chain, values, baseline, n, generator, temperature=temperature),
        context, context.alpha)
    exact_ok = tv_exact <= bound + EXACT_TOLERANCE
    reasons = ([] if exact_ok else [f"exact TV {tv_exact:.4g} > T7 bound {bound:.4g}"]) + \
        ([] if statistic <= threshold else [f"sampler's x_0 law differs from its exact law: {statistic:.4g} > {threshold:.4g}"])
    return Evidence(holds=exact_ok and statistic <= threshold, statistic="exact TV(q̂_0, q_0) vs Σ exact T7 terms; " + FIT,
                    bound=bound, exact=tv_exact, empirical=statistic, confidence_bound=statistic, n=n,
                    detectable_gap=detectable, detectable_gap_units=UNITS, margin=bound - tv_exact,
                    message="; ".join(reasons),
                    details={"step_terms": law.step_terms.tolist(), "fit_threshold": threshold,
                             "queries_per_sample": queries})


def check_ideal_exact(context: CheckContext, *, acceptance: float = 1.0) -> Evidence:
    chain, values = tiny_chain(device=_device(context)), tiny_values(_device(context))
    baseline = EnvelopeBaseline(values)
    law = finite_sampler_law(chain, values, baseline)
    q0 = aligned_data_law(chain, tiny_reward(), LAM)
    tv_exact = 0.5 * float(np.abs(law.x0_probs - q0).sum())
    generator = context.generator()
    statistic, threshold, n, detectable, queries = _multinomial_fit(
        chain, q0, lambda n: per_step_sampler(chain, values, baseline, n, generator, acceptance=acceptance),
        context, context.alpha)
    exact_ok = tv_exact <= EXACT_TOLERANCE and float(np.abs(law.step_terms).max()) <= EXACT_TOLERANCE
    reasons = ([] if exact_ok else [f"exact TV {tv_exact:.3g} or a T7 term is not 0"]) + \
        ([] if statistic <= threshold else [f"x_0 law differs from q_0: {statistic:.4g} > {threshold:.4g}"])
    return Evidence(holds=exact_ok and statistic <= threshold, statistic="exact TV and T7 terms = 0; " + FIT,
                    bound=threshold, exact=tv_exact, empirical=statistic, confidence_bound=statistic, n=n,
                    detectable_gap=detectable, detectable_gap_units=UNITS, margin=threshold - statistic,
                    message="; ".join(reasons), details={"queries_per_sample": queries})


def per_state_value_error(chain, sampler_chain, values, learned, t: int):
    """At every level-(t+1) parent y: ``TV(p'_t(·|y) e^{V̂_t/λ}/Ẑ, q_t(·|y))`` (p' the sampler's kernel) and
    ``ε_t(y) = max |V̂_t − V_t|`` over y's children (exact, in log space)."""
    parents = chain.sample_prior(1) if t == chain.steps else chain.level_states(t + 1)[0]
    if t == chain.steps:        # the prior is a point mass: both laws are that point
        return torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    atoms = chain.kernel_atoms(t, parents)
    sampler_atoms = sampler_chain.kernel_atoms(t, parents)
    flat = atoms.atoms.reshape(-1, chain.length)
    exact = torch.nan_to_num(values(flat, t).reshape(atoms.log_probs.shape), nan=0.0)
    fitted = learned(flat, t).reshape(atoms.log_probs.shape).double()
    live = torch.isfinite(atoms.log_probs)
    log_q = torch.log_softmax(atoms.log_probs + exact / LAM, -1)
    log_qhat = torch.log_softmax(sampler_atoms.log_probs + torch.where(live, fitted, 0.0) / LAM, -1)
    tv = 0.5 * (torch.exp(log_q) - torch.exp(log_qhat)).abs().sum(-1)
    epsilon = torch.where(live, (fitted - exact).abs(), torch.zeros_like(fitted)).max(-1).values
    return tv, epsilon


def check_value_error_tv(context: CheckContext, *, temperature: float = 1.0, bound=VALUE_ERROR_BOUND) -> Evidence:
    """T8 at every state (exact) with the learned V̂; the ideal per-step sampler with V̂ against its exact law."""
    device = _device(context)
    chain, values, learned = tiny_chain(device=device), tiny_values(device), learned_values(device)
    sampler_chain = tiny_chain(temperature, device)
    worst_key, worst, largest_epsilon = -math.inf, {}, 0.0
    for t in range(chain.steps):
        tv, epsilon = per_state_value_error(chain, sampler_chain, values, learned, t)
        limit = torch.as_tensor([sym.evaluate(bound, {value_error: float(e), sym.lam: LAM}) for e in epsilon],
                                dtype=torch.float64)
        # The state closest to (or furthest past) its bound: TV/bound where the bound is > 0.
        key = torch.where(limit > 0, tv / limit.clamp(min=1e-300),
                          torch.where(tv > EXACT_TOLERANCE, torch.full_like(tv, math.inf), torch.zeros_like(tv)))
        i = int(torch.argmax(key))
        largest_epsilon = max(largest_epsilon, float(epsilon.max()))
        if float(key[i]) > worst_key:
            worst_key = float(key[i])
            worst = {"t": t, "tv": float(tv[i]), "bound": float(limit[i]), "epsilon": float(epsilon[i])}
    worst_excess = worst["tv"] - worst["bound"]
    baseline = EnvelopeBaseline(learned)
    law = finite_sampler_law(chain, learned, baseline, target=values)
    generator = context.generator()
    statistic, threshold, n, detectable, queries = _multinomial_fit(
        chain, law.x0_probs, lambda n: per_step_sampler(chain, learned, baseline, n, generator,
                                                        temperature=temperature), context, context.alpha)
    exact_ok = worst_excess <= EXACT_TOLERANCE
    reasons = ([] if exact_ok else [f"at step {worst['t']} a state's TV {worst['tv']:.4g} exceeds tanh(ε/2λ) = "
                                    f"{worst['bound']:.4g} (ε = {worst['epsilon']:.3g})"]) + \
        ([] if statistic <= threshold else [f"sampler's x_0 law differs from its exact law: {statistic:.4g} > {threshold:.4g}"])
    return Evidence(holds=exact_ok and statistic <= threshold,
                    statistic="max over all states of exact TV − tanh(ε_t(y)/2λ); " + FIT, bound=worst["bound"],
                    exact=worst["tv"], empirical=statistic, confidence_bound=statistic, n=n,
                    detectable_gap=detectable, detectable_gap_units=UNITS, margin=-worst_excess,
                    message="; ".join(reasons),
                    details={"worst_state": worst, "largest_epsilon": largest_epsilon, "x0_tv_to_q0_with_learned_values": 0.5 * float(
                        np.abs(law.x0_probs - aligned_data_law(chain, tiny_reward(), LAM)).sum()),
                             "queries_per_sample": queries})


# ---------------------------------------------------------------- registration
def claims() -> list[Claim]:
    parameters = {"lambda": LAM, "B": HEIGHT}
    return [
        Claim(id=f"t1.trajectory_exact/{INSTANCE}", theorem="T1", module=MODULE,
              title="trajectory rejection on a learned masked LM is exact", statement=r"B \ge \sup r\ \Rightarrow\ x_0 \sim q_0",
              bound_expression=sym.IDEAL_PROPOSALS, instance=INSTANCE, hypotheses=_hypotheses(),
              parameters=parameters, check=single_threaded(check_trajectory_exact)),
        Claim(id=f"t7.path_tv/{INSTANCE}/offset=0", theorem="T7", module=MODULE,
              title="path TV bound on a learned masked LM", statement=T7_STATEMENT, bound_expression=PATH_TV_BOUND,
              instance=INSTANCE, hypotheses=_hypotheses(), parameters=parameters,
              check=single_threaded(partial(check_path_tv, 0.0))),
        Claim(id=f"t7.ideal_exact/{INSTANCE}", theorem="T7", module=MODULE,
              title="ideal per-step rejection on a learned masked LM is exact",
              statement=r"b_t \ge \sup V_t\ \Rightarrow\ \text{every T7 term is } 0,\ \hat q_0 = q_0",
              bound_expression=PATH_TV_BOUND, instance=INSTANCE, hypotheses=_hypotheses(), parameters=parameters,
              check=single_threaded(check_ideal_exact)),
        Claim(id=f"t8.value_error_tv/{INSTANCE}/learned", theorem="T8", module=MODULE,
              title="value-error robustness with learned values on a learned masked LM",
              statement=r"|\hat V_t - V_t|\le\varepsilon_t(y) \Rightarrow "
              r"\mathrm{TV}(p_t e^{\hat V_t/\lambda}/\hat Z, q_t(\cdot|y)) \le \tanh(\varepsilon_t(y)/2\lambda)",
              bound_expression=VALUE_ERROR_BOUND, instance=INSTANCE, hypotheses=_hypotheses(),
              parameters=parameters, check=single_threaded(check_value_error_tv)),
    ]


def _variant(claim_id: str, check, suffix: str, bound_expression=None) -> Claim:
    return wrong_variant(claims(), claim_id, single_threaded(check), suffix, bound_expression)


def mutants() -> list[Mutant]:
    hot = WRONG_TEMPERATURE
    return [
        Mutant("lm-trajectory-logits-temperature", "T1", f"trajectory rejection on the model's logits at temperature {hot}",
               _variant(f"t1.trajectory_exact/{INSTANCE}", partial(check_trajectory_exact, temperature=hot),
                        "logits-temperature")),
        Mutant("lm-path-tv-logits-temperature", "T7", f"per-step sampler run on the logits at temperature {hot}",
               _variant(f"t7.path_tv/{INSTANCE}/offset=0", partial(check_path_tv, 0.0, temperature=hot),
                        "logits-temperature")),
        Mutant("lm-ideal-wrong-acceptance", "T7", "ideal per-step rejection accepting at 2λ claimed exact",
               _variant(f"t7.ideal_exact/{INSTANCE}", partial(check_ideal_exact, acceptance=2.0), "acceptance-2lambda")),
        Mutant("lm-value-error-logits-temperature", "T8",
               f"the learned-value sampler tilts the logits at temperature {hot}: a kernel error T8 does not cover",
               _variant(f"t8.value_error_tv/{INSTANCE}/learned", partial(check_value_error_tv, temperature=hot),
                        "logits-temperature")),
        Mutant("lm-value-error-dropped-factor", "T8", "tanh(ε/4λ) in place of tanh(ε/2λ)",
               _variant(f"t8.value_error_tv/{INSTANCE}/learned",
                        partial(check_value_error_tv, bound=sympy.tanh(value_error / (4 * sym.lam))), "dropped-2",
                        sympy.tanh(value_error / (4 * sym.lam)))),
    ]
