r"""Per-step δ, both meanings (paper-fidelity §2 beside LCB spec T2/T3/T7): the authors' proposal-side δ, proved
and checked exactly, and the gap between it and our target-side δ.

Setting (one step, one parent y): ``p = p_t(·|y)``, ``V = V_t(X)``, ``V' = V_{t+1}(y)`` with
``E_p e^{V/λ} = e^{V'/λ}``; target kernel ``q ∝ p e^{V/λ}``; per-step rejection with baseline ``b = b_t(y)``
outputs ``q_b ∝ p min(e^{V/λ}, e^{b/λ})``; ``TV_t(y) = TV(q_b, q)``; ``N = e^{(b − V')/λ}`` (T1's count at b).

**(A) Factor bound.** For κ ≥ 1/λ: ``e^{V/λ}1{V > b} ≤ e^{b/λ} e^{κ(V − b)}``, hence
``TV_t(y) ≤ P_q(V > b | y) ≤ e^{(b − V')/λ}·E_p[e^{κ(V − b)} | y] = N·m(y)``.
*Proof.* On ``{V ≤ b}`` the left side is 0 and the right side positive. On ``{V > b}``,
``e^{V/λ} = e^{b/λ}e^{(V−b)/λ} ≤ e^{b/λ}e^{κ(V−b)}`` since ``V − b > 0`` and ``1/λ ≤ κ``. Taking ``E_p`` and dividing
by ``e^{V'/λ}``: ``P_q(V > b) = E_p[e^{V/λ}1{V>b}]/e^{V'/λ} ≤ e^{(b−V')/λ} m(y)``; T2 gives
``TV ≤ D/Z = E_q(1 − e^{(b−V)/λ})_+ ≤ P_q(V > b)``. ∎ (κ < 1/λ breaks the first step: ``V − b → ∞``.)

**(B) Weighted form.** For any parent law ν (in particular the sampler's own ``q̂_{t+1}``, or the empirical law
of its training parents): ``E_ν[e^{(V' − b)/λ}·TV_t] ≤ E_ν E_p[e^{κ(V_t − b)}] `` — multiply (A) by
``e^{(V'−b)/λ} > 0`` and average. So ``E_{ν,p} e^{κ(V_t − b_t)} ≤ δ`` ⇒ ``E_ν[N^{-1}·TV_t] ≤ δ``. ∎ The weight
is ``1/N``: the *unweighted* ``E_ν TV_t`` is only bounded by ``δ·sup N``, and (D) shows that factor is attained.

**(C) Pointwise form.** With ``M ≥ ess sup V_t``:
``TV_t(y) ≤ D/Z ≤ P_p(V > b | y)·(e^{(M − V')/λ} − e^{(b − V')/λ})_+``, so ``P_p(V > b | y) ≤ δ`` ⇒
``TV_t(y) ≤ δ·(e^{(M−V')/λ} − e^{(b−V')/λ})_+``.
*Proof.* ``D = E_p(e^{V/λ} − e^{b/λ})_+ ≤ P_p(V > b)·(e^{M/λ} − e^{b/λ})_+`` (the integrand vanishes off
``{V > b}`` and is at most ``(e^{M/λ} − e^{b/λ})_+`` on it); divide by ``Z = e^{V'/λ}``. ∎ *Correction to §2's
wording:* §2 states the bound without the positive part; for ``b > M`` the bracket is negative while
``TV_t(y) = 0``, so the statement as written is false there. The positive part restores it and loosens nothing
where ``b ≤ M`` (the only case with any clipping).

**(D) The gap is the proposal count (near-sharp).** Two-point law: ``V ∈ {0, h}``, ``p(h) = π``, κ = 1/λ and b
set by the authors' rule at one parent (``m(y) = δ`` exactly). Then ``N = 1/δ`` and (A) reads ``TV ≤ N δ = 1``;
with π = 1e-7, h = 19, λ = 1, δ = 0.01 the exact ``TV = 0.94676 = 0.947·N·δ = 94.7·δ`` (N = 100): the unweighted
per-step TV exceeds the proposal-side δ by 94.7 % of the proposal-count factor (sup ratio 1, approached as
``π e^{b/λ} → 0`` and ``π e^{h/λ} → ∞``; at π = 1e-9, h = 25, δ = 1e-3 it is 98.6 % of N = 1000, but T4's
actual count there, N/(1 − D/Z) ≈ 7·10⁴, makes sampling it slow). At the authors' κ = 15 the same law class reaches TV/δ = 332 (our
scan), with N far larger: (A) is loose by ≥ 40× at κ = 15 because ``(e^ε − 1)e^{−κε} ≤ 0.025``.

**Claims** (the chain instance is a parameter; ``gmm-ref-B7`` registered, κ = 15, δ = 1e-3, exact u, i.e.
``log u = V_{t+1}``, to isolate the offset rule):

* ``psd.factor_bound/<inst>/…`` — (A) and (C) at every step t < T, at every node of a ridge grid of parents
  (GMM; spacing 0.1 on [−15, 15]) and at the rule's training parents, the baseline being the authors' rule
  trained on-policy with exact per-parent masses (``estimators.per_step_delta.train_proposal_offsets``,
  ``rule="exact-mass"``, 1 000 parents per step). Exact (quadrature atoms; each step t ≥ 1 judged against its own
  tolerance, the change of ``TV − min(1, bound)`` when the atom spacing is doubled; t = 0 has two exact atoms).
  Also registered exactly at the two-point instance of (D) (TV = 0.947 ≤ N·m = 1), whose wrong variant puts
  the proposal-count factor on the wrong side (``e^{(V'−b)/λ} m`` = 1e-4 in place of ``e^{(b−V')/λ} m``: the
  weighted statement read pointwise). On gmm-ref-B7 at κ = 15 no such variant is caught: where TV_t(y) is large
  the κ = 15 mass m(y) is larger still (measured: TV 0.136 with m = 4 500, N = 281 at t = 0), so even
  ``TV ≤ m/N`` and ``TV ≤ m`` hold there up to 6e-7 (t = 5), inside the quadrature tolerance.
* ``psd.weighted/<inst>/…`` — (B) on the training parents ν̂: the plug-in identity ``mean_i m(y_i) = δ`` and
  ``mean_i N_i^{-1} TV_t(y_i) ≤ δ`` per step (exact given the parents). Wrong variant: the weight on the wrong
  side (``mean_i N_i TV_t(y_i) ≤ δ``).
* ``psd.target_pointwise/<inst>/delta=…`` — ours, T3 per state: at the oracle Chernoff baseline (target side)
  ``P_q(V_t > b | y) ≤ δ`` at every grid node and step, on the quadrature law both are computed from (atoms at
  spacing 0.05; the tail is discontinuous in b, so a baseline fitted on other atoms — the oracle's default 0.2 —
  shows tails up to 0.19 at t = 1 where V_t saturates near B: a discretisation mismatch, not a T3 failure). Wrong variant: the offset computed on the proposal
  side (the authors' rule at the same δ), whose largest ``P_q`` tail is far above δ.
* ``psd.unweighted_gap/two-point/…`` — (D): exact TV ≥ 0.9·N·δ with ``m(y) = δ``, and, from the per-step
  rejection sampler's own children, a two-sided Clopper–Pearson upper confidence bound on
  ``TV = |q(h) − q̂(h)|`` ≥ 0.9·N·δ (measured: 2 016 children, 1 938 proposals each, 3 s); n designed so that a sampler whose TV is 0.05 below the bound fails w.p.
  ≥ 1 − β. Wrong variant: the target-side offset (T3: ``P_q(V > b) ≤ δ`` forces b = h) where the
  proposal-side rule is claimed — its TV is 0 (its T4 count, 9.5·10⁶ per sample, is over the sampling cap:
  the exact side decides).

**The authors' rule as they run it** (registered as ``psd.authors_rule_exceeds/<inst>/…``: some step's mean
target-side tail over the sampler's own particles exceeds δ, one-sided KL test per step at α/T, particles
designed for a per-step excess of 4δ (16 094); wrong variant: the T3 offset in its place, killed in 274 s; figures
below from a separate run): one proposal per training parent, exact u,
κ = 15 fixed, δ = 1e-3, untilted prior, 1 000 on-policy parents per step (``train_proposal_offsets``, seed 7;
offsets τ_t ≈ 1.8–3.2 at t ≤ 12 against 4.5–6.3 with exact per-parent masses) on gmm-ref-B7, put through
``check_chain_sampler(…, per_step_delta=1e-3, untilted_prior=True)`` with 2 000 particles (α = 1e-6):
target side ``fail``, steps 2, 3, 4, 6, 8, 9, 12 exceed δ (per-step mean tails 0.0137, 0.0082, 0.0189, 0.0220,
0.0131, 0.0315, 0.0086; the per-step TV terms from exact atoms over 2 000 fresh parents reach 9.8e-3 at t = 9,
beside the issue's 5.2e-3 for the authors' own sampler); T7 certificate 0.30 > 0.05; proposal side ``fail`` at
t = 0…13 (the plug-in's one proposal per parent misses the rare high-V children that e^{15(V−b)} weights: the
population mass E_{ν,p} e^{κ(V_t − b_t)} is 10^{11}–10^{21} at t ≤ 9). A plug-in (zero-slack) offset has no
confidence guarantee: T6's argument applies, and here it fails by orders of magnitude.
The oracle (T3, target-side) baseline through the same check at its δ: ``pass`` (certified). The per-step
certificate is the betting bound of ``estimators.step_mean_certificate``, designed for samplers that meet δ per
state with per-step means ≤ δ/4 (24 979 audited particles at α/5/21 per step; the Bernoulli-worst-case KL bound
needed ≈ 70 000 for the same power and, at the earlier floor of 28 595, gave a UCB of 1.12e-3 > δ). Measured
2026-12-08 (seed 0, α = 1e-6, 44 357 particles for the x_0 tests; 1 975 s wall on 2 cores at load average
10–27): no step refuted, largest per-step mean tail 1.51e-4 (t = 12), largest per-step UCB 8.89e-4 ≤ δ, T7
certificate 0.0153 ≤ 0.05; ``power["per_step_certifiable_slack"]`` 7.48e-4.

On the authors' own chain ``gmm-ddpm-B7``, the same rule trained by our code the same way (seed 7: offsets τ_t
0.47–3.74) through ``check_chain_sampler(…, per_step_delta=1e-3, untilted_prior=True)`` at the designed n (seed 0,
α = 1e-6; the slow test ``test_authors_rule_on_the_authors_chain_fails_where_its_terms_exceed_delta``): target side
``fail`` with 24 914 audited particles, steps 0–7, 9–11, 13 exceed δ (means 9.0e-3, 8.4e-3, 6.4e-3, 6.2e-3,
1.0e-2, 1.05e-2, 1.16e-2, 4.4e-3; 5.8e-3, 1.07e-2, 2.06e-2; 2.8e-3), not listed: t = 8 (7.6e-4 ≤ δ) and t = 12
(1.9e-3, an excess of 0.9e-3, below the 2.8e-3 the test detects w.p. ≥ 1 − β); T7 certificate 0.067 > 0.05.
Proposal side ``fail``: steps 0–13 exceed δ (masses 10^{19} at t ≤ 1 down to 0.03 at t = 13; 1.4e-3 at t = 14,
15, below the detectable excess). The proposal-side claim on the plug-in offset itself, "≤ δ up to the
learner's sampling error", is registered in ``theorems.plug_in_offset``.
"""
from __future__ import annotations

import math
from functools import lru_cache, partial

import numpy as np
import sympy
import torch

from estimators.chain_baselines import OracleChernoffBaseline
from estimators.exact.chain_laws import kernel_value_laws
from estimators.binomial import clopper_pearson_lower, clopper_pearson_upper
from estimators.binomial import min_num_samples_for_binomial_upper_test, min_rate_detectable_by_binomial_upper_test
from estimators.per_step_delta import (chernoff_factor_bound, log_proposal_chernoff_mass,
                                       proposal_offset_from_log_masses, proposal_tail, proposal_tail_bound,
                                       target_tail, train_proposal_offsets)
from primitives.chain_samplers import ExactSoftValues, step_rejection_sample
from primitives.masked_diffusion import MaskedDiffusion, SequenceSetReward
from tiltproof.core.evidence import lower_bound_evidence, upper_bound_evidence
from tiltproof.instances.chain import ChainInstance, _hypotheses, chain_instance, single_threaded
from tiltproof.core.chain_path_tv import t2_per_state
from tiltproof.core.framework import CheckContext, Claim, Evidence, Hypothesis, Mutant, wrong_variant

MODULE = "per_step_delta"
KAPPA, DELTA = 15.0, 1e-3
TRAIN_PARENTS = 1000
GRID_LIMIT, GRID_SPACING, ATOM_SPACING = 15.0, 0.1, 0.05
GAP_PI, GAP_HEIGHT, GAP_KAPPA, GAP_DELTA = 1e-7, 19.0, 1.0, 0.01
GAP_FRACTION, GAP_POWER = 0.9, 0.05
"""(D): claimed TV ≥ 0.9·N·δ; a sampler whose TV is 0.05 lower is rejected w.p. ≥ 1 − β."""
SAMPLING_CAP = 10**7
"""(D) samples only when n·N(b) (T4's exact expected proposals) is below this; else the exact side decides."""

kappa_symbol, delta_symbol, count_symbol = sympy.symbols(r"\kappa \delta N", positive=True)
mass_symbol = sympy.Symbol("m_t(y)", nonnegative=True)
FACTOR_BOUND = count_symbol * mass_symbol
WEIGHTED_BOUND = delta_symbol
GAP_BOUND = sympy.Rational(9, 10) * count_symbol * delta_symbol


def ridge_grid(instance: ChainInstance, spacing: float = GRID_SPACING) -> torch.Tensor:
    """Parents ``s·û + (the data mean's orthogonal part)`` for s on ``[−15, 15]`` (GMM)."""
    chain = instance.chain
    u = chain.ridge_direction(instance.reward)
    s = torch.linspace(-GRID_LIMIT, GRID_LIMIT, int(round(2 * GRID_LIMIT / spacing)) + 1, dtype=torch.float64,
                       device=chain.device)
    perpendicular = chain.means[0] - (chain.means[0] @ u) * u
    return s[:, None] * u[None, :] + perpendicular[None, :]


@lru_cache(maxsize=4)
def trained_rule(instance: ChainInstance, kappa: float, delta: float, seed: int, parents: int = TRAIN_PARENTS,
                 rule: str = "exact-mass"):
    """The authors' offset rule (exact u) trained on-policy; deterministic for a seed (shared with variants)."""
    generator = torch.Generator(device=instance.chain.device)
    generator.manual_seed(seed)
    laws = lambda t, y: kernel_value_laws(instance.chain, t, y, instance.values, spacing=ATOM_SPACING)
    return train_proposal_offsets(instance.chain, instance.values, kappa=kappa, delta=delta, parents=parents,
                                  rule=rule, generator=generator, laws=laws)


def step_quantities(instance: ChainInstance, baseline, t: int, parents: torch.Tensor, kappa: float,
                    spacing: float = ATOM_SPACING) -> dict[str, np.ndarray]:
    """Per parent: T2's exact TV and D/Z, the target tail, the proposal mass m(y), the tail and N (numpy)."""
    laws = kernel_value_laws(instance.chain, t, parents, instance.values, spacing=spacing)
    b = baseline(parents, t).reshape(-1).to(torch.float64)
    parent_values = instance.values(parents, t + 1)
    tv, clip = t2_per_state(laws, instance.lam, b)
    tail_p = proposal_tail(laws, b)
    out = {"tv": tv, "clip": clip, "tail_q": target_tail(laws, instance.lam, b).cpu().numpy(),
           "mass": torch.exp(log_proposal_chernoff_mass(laws, kappa, b)).cpu().numpy(),
           "count": torch.exp((b - parent_values) / instance.lam).cpu().numpy(),
           "factor": chernoff_factor_bound(laws, instance.lam, kappa, b, parent_values).cpu().numpy(),
           "tail_p": tail_p.cpu().numpy(),
           "tail_bound": proposal_tail_bound(instance.lam, tail_p, instance.values.envelope(t), b,
                                             parent_values).cpu().numpy()}
    return out


def _parents_of(instance: ChainInstance, training: dict, t: int) -> torch.Tensor:
    visited = training[t]
    if instance.kind == "gmm":
        return torch.cat([ridge_grid(instance), visited])
    return visited


def _excesses(quantities: dict, factor: str) -> tuple[np.ndarray, np.ndarray]:
    """``TV − min(bound, 1)`` for (A) and (C): TV ≤ 1, so a bound above 1 holds trivially and its size (``N·m`` can
    be astronomically large where b sits far below the values) must not enter the numerical tolerance."""
    count = np.maximum(quantities["count"], 1e-300)
    bound = quantities["factor"] if factor == "proposal-count" else quantities["mass"] / count
    return (quantities["tv"] - np.minimum(bound, 1.0), quantities["tv"] - np.minimum(quantities["tail_bound"], 1.0))


def check_factor_bound(instance: ChainInstance, kappa: float, delta: float, context: CheckContext, *,
                       factor: str = "proposal-count", parents: int = TRAIN_PARENTS) -> Evidence:
    """(A) and (C) at every step, grid node and training parent (module docstring); exact."""
    instance = instance.on(context.device)
    baseline, training = trained_rule(instance, kappa, delta, context.seed, parents)
    worst_a, worst_c, largest_ratio = -math.inf, -math.inf, 0.0
    per_step = []
    for t in range(instance.chain.steps):
        parents = _parents_of(instance, training, t)
        fine = step_quantities(instance, baseline, t, parents, kappa)
        excess_a, excess_c = _excesses(fine, factor)
        tolerance = 0.0
        if instance.kind == "gmm" and t > 0:          # t = 0: two exact atoms (normal CDFs), no quadrature error
            coarse_a, coarse_c = _excesses(step_quantities(instance, baseline, t, parents, kappa,
                                                           spacing=2 * ATOM_SPACING), factor)
            tolerance = max(float(np.abs(coarse_a - excess_a).max()), float(np.abs(coarse_c - excess_c).max()))
        # Each step is judged against its own numerical tolerance (the change when the atom spacing is doubled).
        worst_a = max(worst_a, float(excess_a.max()) - tolerance)
        worst_c = max(worst_c, float(excess_c.max()) - tolerance)
        largest_ratio = max(largest_ratio, float((fine["tv"] / delta).max()))
        per_step.append({"t": t, "max_tv": float(fine["tv"].max()), "max_tv_minus_factor": float(excess_a.max()),
                         "max_tv_minus_tail_bound": float(excess_c.max()), "numerical_tolerance": tolerance,
                         "max_count": float(fine["count"].max())})
    worst = max(worst_a, worst_c)
    return upper_bound_evidence(
        statistic="max over steps t<T of [max over ridge-grid and training parents of TV_t(y) − min(1, bound)] − the "
                  "step's numerical tolerance, for (A) e^{(b−V')/λ}E_p e^{κ(V−b)} and (C) "
                  "P_p(V>b)(e^{(M−V')/λ} − e^{(b−V')/λ})_+; exact atoms",
        bound=0.0, exact=worst, empirical=None, lower_confidence=None,
        n=sum(len(training[t]) for t in training), detectable_gap=None, exact_tolerance=1e-12,
        details={"max_excess_factor": worst_a, "max_excess_tail_form": worst_c,
                 "offsets": {str(t): v for t, v in sorted(baseline.offsets.items())},
                 "largest_tv_over_delta": largest_ratio, "per_step": per_step, "kappa": kappa, "delta": delta},
        units="exact (no sampling: the claim is a deterministic inequality at every parent)")


def check_weighted(instance: ChainInstance, kappa: float, delta: float, context: CheckContext, *,
                   weight: str = "inverse-count", parents: int = TRAIN_PARENTS) -> Evidence:
    """(B) on the rule's own training parents: plug-in identity mean m = δ, and mean N^{-1} TV ≤ δ per step."""
    instance = instance.on(context.device)
    baseline, training = trained_rule(instance, kappa, delta, context.seed, parents)
    worst, identity_error, unweighted = -math.inf, 0.0, []
    weighted = []
    for t in range(instance.chain.steps):
        q = step_quantities(instance, baseline, t, training[t], kappa)
        identity_error = max(identity_error, abs(float(q["mass"].mean()) - delta) / delta)
        scale = 1.0 / q["count"] if weight == "inverse-count" else q["count"]
        value = float((scale * q["tv"]).mean())
        weighted.append(value)
        unweighted.append(float(q["tv"].mean()))
        worst = max(worst, value)
    return upper_bound_evidence(
        statistic="max_t mean over the rule's training parents of e^{(V'−b)/λ}TV_t(y) (B), exact atoms; plug-in "
                  "identity mean_i E_p[e^{κ(V_t−b)}|y_i] = δ",
        bound=delta, exact=worst, empirical=None, lower_confidence=None, n=sum(len(v) for v in training.values()),
        detectable_gap=None, exact_tolerance=1e-12,
        details={"weighted_terms": weighted, "unweighted_terms": unweighted,
                 "largest_unweighted_over_delta": max(unweighted) / delta, "identity_relative_error": identity_error},
        units="exact (deterministic given the training parents)",
        also_fails=[f"plug-in identity off by {identity_error:.3g}"] if identity_error > 1e-8 else [])


def check_target_pointwise(instance: ChainInstance, delta: float, context: CheckContext, *,
                           side: str = "target") -> Evidence:
    """T3 per state: ``P_q(V_t > b_t(y) | y) ≤ δ`` at every grid node (and the rule's parents) at the oracle
    (target-side) baseline; ``side="proposal"``: the authors' offset at the same δ (a wrong variant)."""
    instance = instance.on(context.device)
    if side == "target":
        baseline = OracleChernoffBaseline(instance.chain, instance.values, delta, spacing=ATOM_SPACING)
    else:
        baseline, _ = trained_rule(instance, KAPPA, delta, context.seed)
    worst, per_step = 0.0, []
    for t in range(instance.chain.steps):
        parents = ridge_grid(instance) if instance.kind == "gmm" else instance.chain.level_states(t + 1)[0]
        laws = kernel_value_laws(instance.chain, t, parents, instance.values, spacing=ATOM_SPACING)
        tail = target_tail(laws, instance.lam, baseline(parents, t).reshape(-1)).cpu().numpy()
        per_step.append(float(tail.max()))
        worst = max(worst, float(tail.max()))
    return upper_bound_evidence(
        statistic="max over steps and grid parents of P_q(V_t > b_t(y) | y) (exact atoms)", bound=delta, exact=worst,
        empirical=None, lower_confidence=None, n=0, detectable_gap=None, exact_tolerance=1e-9,
        details={"per_step_max_tail": per_step, "baseline_side": side}, units="exact")


# ---------------------------------------------------------------- (D): the two-point gap instance
def two_point_step(pi: float = GAP_PI, height: float = GAP_HEIGHT, lam: float = 1.0, device="cpu"):
    """One masked token, ``p(1) = π``, reward ``h·1{x = 1}``: one step, V ∈ {0, h} under p."""
    chain = MaskedDiffusion(np.array([[0], [1]]), [1.0 - pi, pi], 2, device=device)
    values = ExactSoftValues(chain, SequenceSetReward(height, [[1]]), lam)
    return chain, values


def gap_quantities(kappa: float = GAP_KAPPA, delta: float = GAP_DELTA, side: str = "proposal", device="cpu") -> dict:
    """Exact: the authors' offset at the one parent (m = δ), TV, N, q(h); ``side="target"`` uses T3's per-state
    Chernoff baseline instead (a wrong variant)."""
    chain, values = two_point_step(device=device)
    parent = chain.sample_prior(1)
    laws = kernel_value_laws(chain, 0, parent, values)
    parent_value = values(parent, 1)
    if side == "proposal":
        offset = proposal_offset_from_log_masses(log_proposal_chernoff_mass(laws, kappa, parent_value), kappa, delta)
        b = parent_value + offset
    else:
        b = laws.chernoff_baseline(values.lam, delta)
    tv, _ = t2_per_state(laws, values.lam, b)
    q_top = float(target_tail(laws, values.lam, torch.zeros(1, dtype=torch.float64)))
    return {"chain": chain, "values": values, "parent": parent, "baseline": float(b.reshape(-1)[0]),
            "proposals": float(laws.expected_proposals(values.lam, b).reshape(-1)[0]),
            "tv": float(tv[0]), "count": float(torch.exp((b - parent_value) / values.lam).reshape(-1)[0]),
            "mass": float(torch.exp(log_proposal_chernoff_mass(laws, kappa, b)).reshape(-1)[0]), "q_top": q_top}


def check_two_point_factor(context: CheckContext, *, factor: str = "proposal-count") -> Evidence:
    """(A) and (C) on the two-point gap instance, exact: ``TV ≤ N·m`` (= 1 here, TV = 0.947) and the tail form;
    ``factor="inverted"`` (wrong variant) bounds TV by ``m/N`` = 1e-4."""
    exact = gap_quantities(device=context.device)
    bound = exact["count"] * exact["mass"] if factor == "proposal-count" else exact["mass"] / exact["count"]
    chain, values = exact["chain"], exact["values"]
    laws = kernel_value_laws(chain, 0, exact["parent"], values)
    b = torch.tensor([exact["baseline"]], dtype=torch.float64)
    tail_bound = float(proposal_tail_bound(values.lam, proposal_tail(laws, b), GAP_HEIGHT, b, values(exact["parent"], 1))[0])
    return upper_bound_evidence(
        statistic="exact TV(q_b, q) at the two-point parent vs (A) e^{(b−V')/λ}E_p e^{κ(V−b)} and (C) the tail form",
        bound=min(bound, tail_bound), exact=exact["tv"], empirical=None, lower_confidence=None, n=0, detectable_gap=None,
        details={"factor_bound": bound, "tail_form_bound": tail_bound, "factor": factor}, units="exact")


def check_unweighted_gap(context: CheckContext, *, side: str = "proposal") -> Evidence:
    """(D): exact TV ≥ 0.9·N·δ at m = δ, and the sampler's own children agree (module docstring)."""
    exact = gap_quantities(device=context.device)
    used = exact if side == "proposal" else gap_quantities(side=side, device=context.device)
    bound = GAP_FRACTION * exact["count"] * GAP_DELTA
    threshold = exact["q_top"] - bound          # the claim: q̂(h) ≤ q(h) − bound
    n = min_num_samples_for_binomial_upper_test(threshold, threshold + GAP_POWER, alpha=context.alpha / 2,
                                                beta=context.beta)
    detectable = min_rate_detectable_by_binomial_upper_test(n, threshold, alpha=context.alpha / 2, beta=context.beta)
    upper = empirical = None
    queries = used["proposals"]
    if n * used["proposals"] <= SAMPLING_CAP:
        parents = used["parent"].expand(n, -1)
        children, proposals = step_rejection_sample(used["chain"], parents, 0, used["values"],
                                                    torch.tensor([used["baseline"]], dtype=torch.float64),
                                                    generator=context.generator())
        hits = int((children[:, 0] == 1).sum())
        low, high = clopper_pearson_lower(hits, n, context.alpha / 2), clopper_pearson_upper(hits, n, context.alpha / 2)
        upper = max(abs(exact["q_top"] - low), abs(exact["q_top"] - high))
        empirical, queries = abs(exact["q_top"] - hits / n), float(proposals.sum()) / n
    return lower_bound_evidence(
        statistic="exact TV(q_b, q) at the authors' offset (m(y) = δ, κ = 1/λ) vs 0.9·N·δ; two-sided Clopper–Pearson "
                  "upper confidence bound on |q(h) − q̂(h)| from the sampler's children",
        bound=bound, exact=used["tv"], empirical=empirical, upper_confidence=upper, n=n,
        detectable_gap=detectable - threshold,
        details={"count": exact["count"], "mass": exact["mass"], "tv_over_delta": exact["tv"] / GAP_DELTA,
                 "tv_over_count_delta": exact["tv"] / (exact["count"] * GAP_DELTA), "baseline_used": used["baseline"],
                 "expected_proposals": used["proposals"], "queries_per_sample": queries, "side": side,
                 "sampled": upper is not None}, units="TV shortfall below the claimed 0.9·N·δ")


# ---------------------------------------------------------------- the authors' rule at its own δ, target side
AUTHORS_GAP = 4.0 * DELTA
"""The per-step excess over δ the refutation is designed for: a per-step mean tail 5δ is found w.p. ≥ 1 − β."""


def check_authors_rule_exceeds(instance: ChainInstance, context: CheckContext, *, rule: str = "one-proposal") -> Evidence:
    """The authors' one-proposal plug-in rule (exact u, κ = 15, δ = 1e-3, untilted prior, 1 000 parents per step)
    exceeds the target-side δ at some step: per step, the one-sided KL test of ``E_{q̂_{t+1}} P_q(V_t > b | y) ≤ δ``
    (``estimators.per_step_delta``) at α/T over the sampler's own particles must reject for at least one t
    (false pass ≤ α, Bonferroni). ``rule="oracle"``: the target-side (T3) offset in its place (a wrong variant)."""
    from estimators.bounded_means import min_num_samples_for_step_mean_test
    from estimators.step_mean_certificate import step_mean_tests
    from primitives.chain_samplers import per_step_rejection_sample

    instance = instance.on(context.device)
    steps = instance.chain.steps
    if rule == "oracle":
        baseline = OracleChernoffBaseline(instance.chain, instance.values, DELTA)
    else:
        baseline, _ = train_proposal_offsets(instance.chain, instance.values, kappa=KAPPA, delta=DELTA,
                                             parents=TRAIN_PARENTS, rule=rule, generator=context.generator(1))
    share = context.alpha / steps
    n = min_num_samples_for_step_mean_test(DELTA, AUTHORS_GAP, alpha=share, beta=context.beta)
    result = per_step_rejection_sample(instance.chain, instance.values, baseline, n, generator=context.generator(2),
                                       record_states=True)
    tails = np.zeros((steps, n))
    for t in range(steps):
        parents = result.states[t + 1]
        for start in range(0, n, 4096):
            block = parents[start:start + 4096]
            laws = kernel_value_laws(instance.chain, t, block, instance.values, spacing=0.2)
            tails[t, start:start + block.shape[0]] = target_tail(laws, instance.lam, baseline(block, t).reshape(-1)).cpu().numpy()
    tests = step_mean_tests(tails, DELTA, alpha=context.alpha, beta=context.beta, side="target", steps=list(range(steps)))
    exceeding = tests["exceeding_steps"]
    largest = max(tests["means"].values())
    return Evidence(
        holds=bool(exceeding), relation="≥", statistic="per step t < T: one-sided KL test (α/T) of the mean over the "
        "sampler's particles of P_q(V_t > b_t(y) | y) (exact atoms, spacing 0.2) against δ; holds when some step rejects",
        bound=DELTA, exact=None, empirical=largest, confidence_bound=tests["threshold"], n=n,
        detectable_gap=tests["excess_detectable"], margin=largest - tests["threshold"],
        message="" if exceeding else "no step's per-step target-side tail exceeds δ",
        details={"exceeding_steps": exceeding, "per_step_means": {str(t): v for t, v in tests["means"].items()},
                 "offsets": {str(t): v for t, v in sorted(getattr(baseline, "offsets", {}).items())},
                 "queries_per_sample": result.queries_per_sample, "rule": rule},
        detectable_gap_units="excess of a per-step mean tail over δ")


# ---------------------------------------------------------------- registration
PER_STEP_INSTANCES = (("gmm", 7.0),)


def _parameters(instance: ChainInstance) -> dict:
    return {"lambda": instance.lam, "B": instance.height, "kappa": KAPPA, "delta": DELTA}


def _kappa_hypothesis(instance: ChainInstance) -> Hypothesis:
    return Hypothesis(r"$\kappa \ge 1/\lambda$", lambda: KAPPA >= 1.0 / instance.lam)


def claims() -> list[Claim]:
    out = []
    for kind, height in PER_STEP_INSTANCES:
        instance = chain_instance(kind, height)
        hypotheses = (*_hypotheses(instance), _kappa_hypothesis(instance))
        suffix = f"kappa={KAPPA:g},delta={DELTA:g}"
        out.append(Claim(
            id=f"psd.factor_bound/{instance.name}/{suffix}", theorem="T7", module=MODULE,
            title="proposal-side per-step bound (pointwise in the parent)",
            statement=(r"\mathrm{TV}_t(y) \le e^{(b_t(y)-V_{t+1}(y))/\lambda} E_p[e^{\kappa(V_t-b_t(y))}|y],\ "
                       r"\mathrm{TV}_t(y) \le P_p(V_t>b|y)\,(e^{(M-V_{t+1})/\lambda}-e^{(b-V_{t+1})/\lambda})_+"),
            bound_expression=FACTOR_BOUND, instance=instance.name, hypotheses=hypotheses,
            parameters=_parameters(instance), check=single_threaded(partial(check_factor_bound, instance, KAPPA, DELTA))))
        out.append(Claim(
            id=f"psd.weighted/{instance.name}/{suffix}", theorem="T7", module=MODULE,
            title="proposal-side δ bounds the count-weighted per-step TV",
            statement=(r"E_{\nu,p} e^{\kappa(V_t-b_t)} \le \delta \Rightarrow "
                       r"E_\nu[e^{(V_{t+1}-b_t)/\lambda}\mathrm{TV}_t] \le \delta"),
            bound_expression=WEIGHTED_BOUND, instance=instance.name, hypotheses=hypotheses,
            parameters=_parameters(instance), check=single_threaded(partial(check_weighted, instance, KAPPA, DELTA))))
        out.append(Claim(
            id=f"psd.target_pointwise/{instance.name}/delta={DELTA:g}", theorem="T3", module=MODULE,
            title="target-side per-step δ at the oracle Chernoff baseline",
            statement=r"P_{q_t(\cdot|y)}(V_t > b_\delta(y)) \le \delta\ \forall y, t",
            bound_expression=delta_symbol, instance=instance.name, hypotheses=_hypotheses(instance),
            parameters={"lambda": instance.lam, "B": height, "delta": DELTA},
            check=single_threaded(partial(check_target_pointwise, instance, DELTA))))
    authors = chain_instance(*PER_STEP_INSTANCES[0])
    out.append(Claim(
        id=f"psd.authors_rule_exceeds/{authors.name}/kappa={KAPPA:g},delta={DELTA:g}", theorem="T3", module=MODULE,
        title="the authors' plug-in proposal-side rule exceeds the target-side δ",
        statement=r"\max_t E_{y\sim\hat q_{t+1}} P_{q_t(\cdot|y)}(V_t > b_t(y)) > \delta\ \text{(one-proposal plug-in offset)}",
        bound_expression=delta_symbol, instance=authors.name, hypotheses=_hypotheses(authors),
        parameters=_parameters(authors), check=single_threaded(partial(check_authors_rule_exceeds, authors))))
    two_point = (Hypothesis(r"$\kappa \ge 1/\lambda$", lambda: GAP_KAPPA >= 1.0),
                 Hypothesis(r"$0 < \pi < 1$, $h > 0$", lambda: 0.0 < GAP_PI < 1.0 and GAP_HEIGHT > 0))
    out.append(Claim(
        id=f"psd.factor_bound/two-point/kappa={GAP_KAPPA:g},delta={GAP_DELTA:g}", theorem="T7", module=MODULE,
        title="proposal-side per-step bound at its near-sharp instance",
        statement=r"\mathrm{TV}(q_b, q) \le e^{(b-V')/\lambda} E_p e^{\kappa(V-b)}",
        bound_expression=FACTOR_BOUND, instance="two-point", hypotheses=two_point,
        parameters={"lambda": 1.0, "pi": GAP_PI, "h": GAP_HEIGHT, "kappa": GAP_KAPPA, "delta": GAP_DELTA},
        check=single_threaded(check_two_point_factor)))
    out.append(Claim(
        id=f"psd.unweighted_gap/two-point/kappa={GAP_KAPPA:g},delta={GAP_DELTA:g}", theorem="T7", module=MODULE,
        title="the unweighted per-step TV exceeds a proposal-side δ by the proposal count",
        statement=r"E_p e^{\kappa(V-b)} = \delta,\ \kappa = 1/\lambda:\ \mathrm{TV}(q_b, q) \ge 0.9\,N\delta",
        bound_expression=GAP_BOUND, instance="two-point", hypotheses=(
            Hypothesis(r"$\kappa \ge 1/\lambda$", lambda: GAP_KAPPA >= 1.0),
            Hypothesis(r"$0 < \pi < 1$, $h > 0$", lambda: 0.0 < GAP_PI < 1.0 and GAP_HEIGHT > 0)),
        parameters={"lambda": 1.0, "pi": GAP_PI, "h": GAP_HEIGHT, "kappa": GAP_KAPPA, "delta": GAP_DELTA},
        check=single_threaded(check_unweighted_gap)))
    return out


def mutants() -> list[Mutant]:
    instance = chain_instance(*PER_STEP_INSTANCES[0])
    suffix = f"kappa={KAPPA:g},delta={DELTA:g}"
    registered = claims()
    return [
        Mutant("per-step-factor-wrong-side", "T7", "the proposal-count factor on the wrong side: TV ≤ e^{(V'−b)/λ}·m",
               wrong_variant(registered, f"psd.factor_bound/two-point/kappa={GAP_KAPPA:g},delta={GAP_DELTA:g}",
                             single_threaded(partial(check_two_point_factor, factor="inverted")), "inverted-factor")),
        Mutant("per-step-weight-wrong-side", "T7", "the count weight on the wrong side: E_ν[N·TV_t] ≤ δ",
               wrong_variant(registered, f"psd.weighted/{instance.name}/{suffix}",
                             single_threaded(partial(check_weighted, instance, KAPPA, DELTA, weight="count")),
                             "count-weight")),
        Mutant("per-step-offset-proposal-side", "T3", "the offset computed on the proposal side (the authors' rule) "
               "where the target-side δ is claimed",
               wrong_variant(registered, f"psd.target_pointwise/{instance.name}/delta={DELTA:g}",
                             single_threaded(partial(check_target_pointwise, instance, DELTA, side="proposal")),
                             "proposal-side-offset")),
        Mutant("per-step-authors-rule-on-target-side", "T3", "the target-side (T3) offset where the authors' "
               "proposal-side rule is claimed to exceed δ",
               wrong_variant(registered, f"psd.authors_rule_exceeds/{instance.name}/{suffix}",
                             single_threaded(partial(check_authors_rule_exceeds, instance, rule="oracle")), "oracle-offset")),
        Mutant("per-step-offset-target-side", "T7", "the target-side offset (T3 per state) where the proposal-side "
               "rule is claimed",
               wrong_variant(registered, f"psd.unweighted_gap/two-point/kappa={GAP_KAPPA:g},delta={GAP_DELTA:g}",
                             single_threaded(partial(check_unweighted_gap, side="target")), "target-side-offset")),
    ]


def proofs():
    from theorems.proofs.per_step_delta import proofs as declared   # lazy: the sibling imports this module
    return declared()
