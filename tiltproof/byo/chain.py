"""Bring your own diffusion-chain sampler: does its x_0 meet the budget it claims (T1, T4, T7)?

``check_chain_sampler(sampler, instance="gmm-ref-B5", budget=0.05)`` hands ``sampler(kernel, n,
generator)`` a black-box, counting, shape-checking ``ChainKernel`` of a registered chain whose aligned
law ``q_0 ∝ p_0 e^{r/λ}`` is exactly known, and tests the claim "TV(law of x_0, q_0) ≤ budget"
(``budget = 0`` for an exact sampler). The sampler returns x_0 (a tensor with n rows) or an object with
``.samples`` and optionally ``.queries`` (its own query count), ``.states`` (the accepted x_t of every
particle, t = 0..T, as ``ChainResult(record_states=True)`` gives) and ``.proposals`` (each particle's
proposals per step).

Tests (the check's α is split equally over those that apply; Bonferroni, so a correct sampler fails
with probability ≤ α):

1. **x_0 law** — a lower confidence bound on TV(law of x_0, q_0): the rare-event mass
   ``q_0(r = B)`` outside its Clopper–Pearson interval and the exact projection KS distances (each
   ≤ TV) minus their radii (``chain_x0_statistics.x0_tv_lower``); ``fail`` when it exceeds ``budget``.
   n is designed so that a rare-event mass error of ``gap`` (TV units, default 0.02) beyond the budget is
   detected with probability ≥ 1 − β (exact one-sided binomial design, ``estimators.binomial``), and so is a
   projection KS error of 0.05 beyond the budget (GMM; a TV error of 0.2 over the masked chain's sequences);
   the record's ``power`` also states the temperature error λ(1 ± ε) and (GMM) the orthogonal scale error
   1 ± s detected w.p. ≥ 1 − β (``tiltproof.byo.chain_power``).
2. **declared rule** (when ``baseline`` is given: the sampler declares "accept x ~ p_t(·|y) with
   probability min(1, e^{(V̂_t(x) − b_t(y))/λ})", with ``values`` = V̂, default the exact V_t) — per
   particle and step the proposals until acceptance are geometric with success probability
   ``Z_b(y) = 1/N_t(y)``, exactly computable at the visited parent y (T4). Rejection sampling's accepted
   child is independent of how many proposals it took, so the randomised probability-integral transforms
   ``U = F(X − 1) + V·(F(X) − F(X − 1))`` of all (t, particle) counts are i.i.d. uniform under the
   declared rule; KS against the uniform law (DKW). A wrong temperature, a baseline other than the
   declared one, an untilted prior step or miscounted proposals all move these counts.
3. **query count** — the sampler's own ``.queries`` must equal the sum of its ``.proposals`` (when both
   are given), must not exceed the draws the counting kernel saw, and (with a declared rule) must agree
   with the exact law of ``Σ N_t(y)`` at its visited states: a sum of independent geometric variables with
   the exact per-state rates, whose two-sided region is the exact Chernoff (Cramér) bound on its cumulant
   generating function (``estimators.geometric_sums``; never wider than Janson's 2018 bounds
   ``P(X ≥ sμ) ≤ s⁻¹ e^{−p* μ (s − 1 − ln s)}``, which replace every rate by the smallest,
   ``janson_interval``). Its power — the smallest ε such that a counter reporting (1 ± ε)× the true count
   is rejected w.p. ≥ 1 − β — is exact Chernoff again, reported as ``power["query_count_relative_error"]``.
   On the GMM the rates come from quadrature atoms: the region is widened by the relative change of Σ N_t(y)
   when the atom spacing is doubled (500 particles), and the stated power by twice that.
4. **certificate** (declared rule) — T7: ``TV(q̂_0, q_0) ≤ τ_T + Σ_t E_{y~q̂_{t+1}} TV(q̂_t(·|y), q_t(·|y))``.
   The terms are exact at each visited state (``estimators.exact.chain_laws.path_tv_terms``); their expectation
   over the sampler's own states is bounded above at level α_share (``bounded_mean_upper_confidence``),
   plus twice the quadrature error (fine vs coarse atoms). Above ``budget`` → ``uncertified``. For a
   budget claim the audit is sequential, so returning more never weakens the verdict: prefixes of
   ``audit_particles``, 2×, 4×, … particles up to every returned particle (or ``max_audit``) are
   audited, the certificate's α share spent geometrically over these looks (``estimators.sequential``;
   a union bound, valid at whichever look stops), stopping at the first look within the budget. The same
   looks run whether or not ``.proposals`` are returned (without them every particle is audited anyway,
   for the count test), so adding proposals changes the cost, never the certificate.

5. **per-step δ** (``per_step_delta=δ`` with a declared rule) — every step's term at the visited states against
   δ (``estimators.per_step_delta``): ``delta_side="target"`` (ours, T3/T7) the tilted tail ``P_q(V_t > b_t(y) | y)``,
   ``"proposal"`` (the authors', paper-fidelity §2) ``E_p[e^{κ(V̂_t − b_t(y))} | y]`` (κ = ``kappa``, clipped at 1 for
   the test). Per step, the mean over particles is tested one-sided (Hoeffding's KL bound, false fail ≤ the
   step's α share = this test's share / number of steps, Bonferroni), ``fail`` listing the steps that exceed δ;
   the particles are designed (``min_num_samples_for_step_mean_test``) to detect a per-step mean of
   δ + ``per_step_gap`` (default 4δ) w.p. ≥ 1 − β, and ``power["per_step_excess"]`` is the smallest excess
   detected at the n used. Target side also gives a certificate: every step's betting upper confidence bound
   (``estimators.step_mean_certificate``, same α share per step) ≤ δ; the particles are designed
   (``min_num_samples_for_step_mean_certificate``) so that a sampler meeting δ per state (T3: every term ≤ δ, as
   the oracle Chernoff baseline does) with per-step means ≤ δ − ``per_step_slack`` (default 0.75δ) is certified
   w.p. ≥ 1 − β, and ``power["per_step_certifiable_slack"]`` is the smallest such slack at the n used (the oracle
   baseline on gmm-ref-B7 at δ = 1e-3 has per-step means ≤ 0.15δ). The proposal side's terms are unbounded, so it
   only refutes. ``untilted_prior=True`` declares that x_T
   is drawn from p_T untilted (the authors' chain): the prior step's baseline is replaced by −∞, its term
   ``TV(p_T, q_T)`` enters T7's certificate, and the per-step test covers t < T only.

Verdicts (``tiltproof.byo.verification``): ``fail`` if any test rejects; else ``uncertified`` if the
certificate exceeds the budget, or if ``budget`` > 0 and there is no certificate (declare ``baseline``
and return ``.states``); else ``pass`` — ``certified`` for budget > 0, ``not_refuted`` for budget 0.
Two equally seeded draws of 8 particles run first; if they differ the record is flagged
``not_reproducible`` (the verdict stays what the data say). A sampler (or declared rule) that raises, or
output that breaks the protocol, gives an ``error`` record naming it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from estimators.binomial import min_num_samples_for_binomial_upper_test
from estimators.dkw import min_discrepancy_of_cdfs_detectable_by_dkw
from estimators.bounded_means import bounded_mean_upper_confidence
from estimators.exact.chain_laws import kernel_value_laws, path_tv_terms
from estimators.dkw import dkw_radius
from estimators.geometric_sums import geometric_sum_interval, min_relative_count_error_detectable
from estimators.per_step_delta import DELTA_SIDES, UNTILTED, check_kappa, per_step_terms
from estimators.bounded_means import min_num_samples_for_step_mean_test
from estimators.step_mean_certificate import (min_num_samples_for_step_mean_certificate,
                                              min_slack_of_step_mean_certifiable, step_mean_tests)
from primitives._checks import check_positive, check_unit_interval, resolve_device
from primitives.chain_samplers import baseline_values
from primitives.diffusion import ChainKernel, CountingKernel
from tiltproof.byo.chain_reference import check_budget, check_chain_sampler_on_kernel
from tiltproof.byo.common import NOT_REPRODUCIBLE, BadOutput, ImplementationRaised, error_record, x0_samples
from tiltproof.byo.families import Family, Option
from tiltproof.byo.verification import Certificate, TestOutcome, VerificationRecord, settle_verdict
from tiltproof.byo.chain_power import projection_design, x0_power

__all__ = ["check_chain_sampler", "check_chain_sampler_on_kernel",
           "CHAIN_INSTANCE_NAMES", "resolve_chain_instance", "SamplerOutput",
           "janson_interval"]

CHAIN_INSTANCE_NAMES = (tuple(f"{kind}-ref-B{height}" for kind in ("gmm", "masked") for height in (1, 3, 5, 7))
                        + tuple(f"gmm-ddpm-B{height}" for height in (1, 3, 5, 7)))
DEFAULT_GAP = 0.02
"""TV (in the rare-event mass) beyond the budget that the x_0 test detects with probability ≥ 1 − β."""
DEFAULT_MAX_SAMPLES = 200_000
MIN_SAMPLES = 2_000
PER_STEP_SLACK = 0.75
"""Default ``per_step_slack`` as a fraction of δ: per-step means ≤ δ/4 (terms ≤ δ per state) are certified w.p. ≥ 1 − β."""
AUDIT_PARTICLES = 20_000
"""Particles whose visited states get exact per-state laws (PIT audit, count test, certificate). The
certificate's confidence bound cannot go below about (T + 1)·log(1/α)/particles (a mean of [0, 1]
terms observed all zero), so a budget of 0.05 on T = 20 needs some 10⁴ particles."""
EXACT_ZERO = 1e-12
"""Per-step terms at or below this are rounding of an exact 0 (log-space TV of identical laws)."""
FINE, COARSE = 0.2, 0.4
"""Ridge-atom spacings of the per-state laws (GMM) and of the quadrature-error estimate."""


def resolve_chain_instance(instance):
    """A registered chain instance by name (``gmm-ref-B5``) or a ``ChainInstance`` object."""
    from tiltproof.instances import chain as chain_instances

    if isinstance(instance, chain_instances.ChainInstance):
        return instance
    if not isinstance(instance, str):
        raise ValueError(f"instance must be a chain instance name or ChainInstance, got {instance!r}")
    if instance.startswith("gmm-ddpm-B"):
        kind, height = "ddpm", instance[len("gmm-ddpm-B"):]
    else:
        kind, _, height = instance.partition("-ref-B")
    try:
        value = float(height)
    except ValueError:
        value = math.nan
    if kind not in ("gmm", "masked", "ddpm") or not math.isfinite(value) or value <= 0:
        raise ValueError(f"instance must be one of {', '.join(CHAIN_INSTANCE_NAMES)} (any B > 0), got {instance!r}")
    return chain_instances.chain_instance(kind, value)


@dataclass(frozen=True)
class SamplerOutput:
    """What a user sampler returned, normalised."""

    samples: torch.Tensor
    queries: int | None
    states: list[torch.Tensor] | None
    proposals: list[torch.Tensor] | None


def _normalise(output: Any, n: int, kernel: CountingKernel) -> SamplerOutput:
    samples = x0_samples(output, n, kernel.state_shape)
    queries = getattr(output, "queries", None)
    if queries is not None:
        queries = float(queries)
        if not math.isfinite(queries) or queries < 0:
            raise ValueError(f"sampler's queries must be a finite count ≥ 0, got {queries!r}")
    states = getattr(output, "states", None)
    if states is not None:
        if len(states) != kernel.steps + 1 or any(s is None or s.shape[0] != n for s in states):
            raise ValueError(f"sampler's states must be T + 1 = {kernel.steps + 1} tensors with n = {n} rows each")
    proposals = getattr(output, "proposals", None)
    if proposals is not None:
        if len(proposals) != kernel.steps + 1 or any(p is None or p.shape[0] != n for p in proposals):
            raise ValueError(f"sampler's proposals must be T + 1 = {kernel.steps + 1} tensors with n = {n} entries")
        if any(bool((p < 1).any()) for p in proposals):
            raise ValueError("sampler's proposals must be ≥ 1 for every particle and step")
    return SamplerOutput(samples, None if queries is None else int(round(queries)), states, proposals)


class DeclaredValues:
    """A user's ``values(states, t)`` with the λ it is used at (the interface ``chain_laws`` expects)."""

    exact = False
    reward = None

    def __init__(self, function: Callable[[torch.Tensor, int], torch.Tensor], lam: float) -> None:
        self.function, self.lam = function, lam

    def __call__(self, states: torch.Tensor, t: int) -> torch.Tensor:
        out = self.function(states, t)
        out = torch.as_tensor(out, dtype=torch.float64, device=states.device).reshape(-1)
        if out.shape[0] != states.shape[0]:
            raise ValueError(f"values returned {out.shape[0]} values for {states.shape[0]} states at step {t}")
        if torch.isnan(out).any():
            raise ValueError(f"values returned NaN at step {t}")
        return out


def _declared_baseline(baseline: Callable, parents: torch.Tensor | None, t: int, m: int) -> torch.Tensor:
    device = parents.device if parents is not None else "cpu"
    return baseline_values(baseline(parents, t), m, t, device=device)


# -- statistics ---------------------------------------------------------------------------------------

def janson_interval(mean: float, smallest_rate: float, alpha: float) -> tuple[float, float]:
    """Acceptance region [s_lo μ, s_hi μ] for a sum X of independent geometric variables with
    ``E X = μ`` and every success probability ≥ ``p*``, at level α (α/2 per side, Janson 2018)."""
    scale = smallest_rate * mean

    def excess(s: float) -> float:
        return s - 1.0 - math.log(s)

    from scipy.optimize import brentq

    lower_target = math.log(2.0 / alpha) / scale
    s_lo = 0.0 if excess(1e-300) < lower_target else brentq(lambda s: excess(s) - lower_target, 1e-300, 1.0)
    s_hi = brentq(lambda s: math.log(s) + scale * excess(s) - math.log(2.0 / alpha), 1.0, 1e6)
    return s_lo * mean, s_hi * mean


def _rare_event_design(instance, budget: float, gap: float, alpha: float, beta: float) -> int:
    """n so that the rare-event test (one-sided CP at α/4 per side inside ``x0_tv_lower`` at α) detects a
    mass error of ``gap`` beyond ``budget`` (|P(A) − q_0(A)| ≤ TV) on either side w.p. ≥ 1 − β."""
    target = instance.x0_target()
    mass = 1.0 - float(target.reward_cdf_left(np.array([instance.height]))[0])
    needs = [MIN_SAMPLES]
    step = gap
    if mass + budget + step < 1.0:
        needs.append(min_num_samples_for_binomial_upper_test(mass + budget, mass + budget + step,
                                                                    alpha=alpha / 4, beta=beta))
    if mass - budget - step > 0.0:
        needs.append(min_num_samples_for_binomial_upper_test(1 - (mass - budget), 1 - (mass - budget - step),
                                                                    alpha=alpha / 4, beta=beta))
    return max(needs)


def _x0_test(instance, samples: torch.Tensor, budget: float, alpha: float, beta: float) -> TestOutcome:
    from tiltproof.core.chain_x0_statistics import x0_tv_lower

    estimate, lower, detectable, name = x0_tv_lower(instance, samples, alpha, beta)
    return TestOutcome("x_0 law", f"lower confidence bound on TV(x_0, q_0): {name}", lower, budget, samples.shape[0],
                       alpha, budget + detectable, "TV (projection KS / rare-event mass)", lower > budget,
                       {"tv_estimate": estimate})


@dataclass(frozen=True)
class _StateAudit:
    pit: np.ndarray            # PIT of every (t, particle) proposal count
    expected: float            # Σ N_t(y) over the audited particles and steps
    smallest_rate: float       # min acceptance probability over them
    rates: np.ndarray          # every audited (step, particle) acceptance probability 1/N_t(y)
    terms: torch.Tensor        # T7 terms (T+1, m)
    quadrature_error: float
    rate_error: float = 0.0    # relative change of Σ N_t(y) (first 500 particles) when the atom spacing is doubled
    delta_terms: torch.Tensor | None = None   # per-step δ terms (T+1, m) on the declared side (``per_step``)


def _laws(instance, t: int, parents: torch.Tensor | None, values, spacing: float):
    return kernel_value_laws(instance.chain, t, parents, values, spacing=spacing, target=instance.values)


def _audit_states(instance, output: SamplerOutput, baseline: Callable, values, particles: int,
                  rng: np.random.Generator, per_step: tuple[str, float] | None = None) -> _StateAudit:
    """Exact per-state acceptance rates and T7 terms at the sampler's first ``particles`` particles, from one
    set of per-state laws (GMM: ridge atoms at spacing ``FINE``; the quadrature error is estimated against
    spacing ``COARSE`` on 500 particles)."""
    steps, lam = instance.chain.steps, values.lam
    m = min(particles, output.samples.shape[0])
    states = [s[:m].to(instance.chain.device) for s in output.states]
    rates, pits = [], []
    terms = torch.zeros(steps + 1, m, dtype=torch.float64)
    delta_terms = None if per_step is None else torch.zeros(steps + 1, m, dtype=torch.float64)
    for t in range(steps, -1, -1):
        if t == steps:
            law = _laws(instance, t, None, values, FINE)
            b = _declared_baseline(baseline, None, t, 1)
            log_rate = law.log_clipped_partition(lam, b).expand(m)
            terms[t] = float(law.tv_to_target(lam, b)[0])
            if per_step is not None:
                delta_terms[t] = float(per_step_terms(law, lam, b, *per_step)[0])
        else:
            pieces, tv_pieces, delta_pieces = [], [], []
            for block in torch.split(states[t + 1], 2048):
                law = _laws(instance, t, block, values, FINE)
                b = _declared_baseline(baseline, block, t, block.shape[0])
                pieces.append(law.log_clipped_partition(lam, b))
                tv_pieces.append(law.tv_to_target(lam, b).cpu())
                if per_step is not None:
                    delta_pieces.append(per_step_terms(law, lam, b, *per_step).cpu())
            log_rate = torch.cat(pieces)
            terms[t] = torch.cat(tv_pieces)
            if per_step is not None:
                delta_terms[t] = torch.cat(delta_pieces)
        rate = torch.exp(torch.clamp(log_rate, max=0.0)).cpu().numpy()
        rates.append(rate)
        if output.proposals is not None:
            counts = output.proposals[t][:m].cpu().numpy().astype(float)
            log_miss = np.log1p(-np.minimum(rate, 1.0 - 1e-16))
            below = -np.expm1((counts - 1.0) * log_miss)       # F(X − 1) = 1 − (1 − p)^{X−1}
            at = -np.expm1(counts * log_miss)                   # F(X)
            at = np.where(rate >= 1.0, 1.0, at)
            below = np.where(rate >= 1.0, np.where(counts > 1, 1.0, 0.0), below)
            pits.append(below + rng.random(m) * (at - below))
    all_rates = np.concatenate(rates)
    error = 0.0
    if instance.kind != "masked":
        coarse_m = min(m, 500)
        coarse = path_tv_terms(instance.chain, [s[:coarse_m] for s in states], DeclaredBaselineAdapter(baseline),
                               values, target=instance.values, spacing=COARSE)
        error = abs(float(terms[:, :coarse_m].sum(0).mean()) - float(coarse.sum(0).mean()))
        rate_error = _rate_quadrature_error(instance, states, baseline, values, rates, coarse_m)
    else:
        rate_error = 0.0
    return _StateAudit(np.concatenate(pits) if pits else np.empty(0), float(np.sum(1.0 / all_rates)),
                       float(all_rates.min()), all_rates, terms, error, rate_error, delta_terms)


def _rate_quadrature_error(instance, states, baseline, values, rates: list[np.ndarray], m: int) -> float:
    """Relative change of ``Σ N_t(y)`` over the first m particles when the ridge atoms' spacing goes from
    ``FINE`` to ``COARSE`` (``rates`` in the order t = T, …, 0): the count test's region is widened by it."""
    steps, lam = instance.chain.steps, values.lam
    fine = coarse = 0.0
    for index, t in enumerate(range(steps, -1, -1)):
        parents = None if t == steps else states[t + 1][:m]
        law = _laws(instance, t, parents, values, COARSE)
        b = _declared_baseline(baseline, parents, t, 1 if parents is None else m)
        coarse_rate = torch.exp(torch.clamp(law.log_clipped_partition(lam, b), max=0.0)).cpu().numpy()
        coarse += float(np.sum(1.0 / np.broadcast_to(coarse_rate, (m,))))
        fine += float(np.sum(1.0 / rates[index][:m]))
    return abs(fine - coarse) / fine


class DeclaredBaselineAdapter:
    """Calls the user's baseline with the shapes ``path_tv_terms`` expects."""

    def __init__(self, baseline: Callable) -> None:
        self.baseline = baseline

    def __call__(self, parents: torch.Tensor | None, t: int) -> torch.Tensor:
        return _declared_baseline(self.baseline, parents, t, 1 if parents is None else parents.shape[0])


def _pit_test(pit: np.ndarray, alpha: float, beta: float) -> TestOutcome:
    from estimators.dkw import ks_distance

    statistic = ks_distance(pit, lambda u: np.clip(u, 0.0, 1.0))
    threshold = dkw_radius(pit.size, alpha)
    return TestOutcome("declared rule", "KS of the proposal counts' randomised PIT under the declared rule vs "
                       "uniform (DKW)", statistic, threshold, pit.size, alpha,
                       min_discrepancy_of_cdfs_detectable_by_dkw(pit.size, alpha=alpha, beta=beta),
                       "KS of PIT(proposals)", statistic > threshold)


def _count_tests(output: SamplerOutput, kernel_draws: int, audit: _StateAudit | None, audited: int, n: int,
                 alpha: float, beta: float) -> list[TestOutcome]:
    outcomes = []
    if output.queries is None:
        return outcomes
    if output.proposals is not None:
        total = int(sum(int(p.sum()) for p in output.proposals))
        outcomes.append(TestOutcome("query count", "sampler's queries − Σ its per-particle proposals (must be 0)",
                                    float(output.queries - total), 0.0, n, 0.0, 1.0, "queries",
                                    output.queries != total, {"queries": output.queries, "sum_of_proposals": total}))
    outcomes.append(TestOutcome("query count", "sampler's queries − kernel draws seen by the counting kernel (≤ 0)",
                                float(output.queries - kernel_draws), 0.0, n, 0.0, 1.0, "queries",
                                output.queries > kernel_draws,
                                {"queries": output.queries, "kernel_draws": kernel_draws}))
    if audit is not None and audited == n:
        low, high = geometric_sum_interval(audit.rates, alpha)
        low, high = low * (1.0 - audit.rate_error), high * (1.0 + audit.rate_error)
        detectable = min_relative_count_error_detectable(audit.rates, alpha, beta)
        detectable = None if detectable is None else detectable + 2.0 * audit.rate_error
        value = output.queries / audit.expected
        outcomes.append(TestOutcome(
            "query count", "sampler's queries ÷ exact Σ N_t(y) at its visited states (exact Chernoff region of a "
            "sum of geometric variables)", value, high / audit.expected if value > 1 else low / audit.expected, n,
            alpha, detectable, "relative error of the query count (a counter off by a factor 1 ± ε)",
            not (low <= output.queries <= high),
            {"expected": audit.expected, "acceptance_region": [low, high],
             "janson_region": list(janson_interval(audit.expected, audit.smallest_rate, alpha)),
             "rate_quadrature_error": audit.rate_error}))
    return outcomes


def _audited_certificate(instance, output: SamplerOutput, baseline, values, size: int, first: int, cap: int,
                         budget: float, alpha: float, seed: int,
                         per_step: tuple[str, float] | None = None, minimum: int = 1) -> tuple[_StateAudit, Certificate]:
    """The state audit and T7 certificate, sequential over particle prefixes for budget > 0 (module docstring).
    ``minimum``: no look audits fewer particles (the per-step δ test's design; its terms come from the last look)."""
    import dataclasses

    from estimators import sequential

    steps, cap = instance.chain.steps, min(cap, size)
    if budget == 0.0:   # the structural certificate (every visited term is 0): one audit, as designed
        audit = _audit_states(instance, output, baseline, values, first if output.proposals is not None else size,
                              np.random.default_rng(seed), per_step)
        return audit, _certificate(audit, budget, alpha, steps)
    looks = sorted({max(m, min(minimum, cap)) for m in sequential.look_schedule(cap, min(cap, first))})
    alphas = [alpha] if len(looks) == 1 else sequential.spend(alpha, len(looks))
    full = None if output.proposals is not None else _audit_states(instance, output, baseline, values, size,
                                                                   np.random.default_rng(seed), per_step)
    for look, m in enumerate(looks):
        audit = full if full is not None else _audit_states(instance, output, baseline, values, m,
                                                            np.random.default_rng(seed), per_step)
        certificate = _certificate(dataclasses.replace(audit, terms=audit.terms[:, :m]), budget, alphas[look], steps)
        if certificate.within:
            break
    return audit, dataclasses.replace(certificate, details={**certificate.details, "audit_looks": looks[:look + 1],
                                                            "audit_alphas": alphas[:look + 1]})


def _certificate(audit: _StateAudit, budget: float, alpha: float, steps: int) -> Certificate:
    """T7's UCB; for an exactness claim (budget 0) the certificate is structural instead: every per-step
    term at every visited state is 0 (the declared baseline is ≥ ess sup V̂ there), recorded as 0 with the
    UCB beside it in the details, since no finite sample bounds a mean of [0, 1] terms by exactly 0."""
    sums = audit.terms.sum(0).cpu().numpy()
    ucb = (steps + 1) * bounded_mean_upper_confidence(np.clip(sums / (steps + 1), 0.0, 1.0), alpha)
    ucb = min(1.0, ucb + 2.0 * audit.quadrature_error)
    if budget == 0.0:
        largest = float(audit.terms.max())
        largest = 0.0 if largest <= EXACT_ZERO else largest
        return Certificate("every visited per-step T7 term is 0 (exactness)", largest, budget, alpha, largest,
                           {"t7_upper_confidence": ucb, "particles": int(sums.size)})
    return Certificate("T7 path bound on TV(x_0, q_0)", ucb, budget, alpha, float(sums.mean()),
                       {"per_step_mean_terms": audit.terms.mean(1).tolist(), "quadrature_error": audit.quadrature_error,
                        "particles": int(sums.size)})


def _per_step_outcome(audit: _StateAudit, delta: float, side: str, steps: int, untilted_prior: bool, alpha: float,
                      beta: float) -> tuple[TestOutcome, Certificate | None]:
    """Test 5 (module docstring): every step's mean δ term against δ; the target side's certificate."""
    tested = list(range(steps)) if untilted_prior else list(range(steps + 1))
    result = step_mean_tests(audit.delta_terms.cpu().numpy(), delta, alpha=alpha, beta=beta, side=side, steps=tested,
                             exact_steps=() if untilted_prior else (steps,))
    means = result["means"]
    quantity = ("P_q(V_t > b_t(y) | y)" if side == "target" else "E_p[e^{κ(V̂_t − b_t(y))} | y] (clipped at 1)")
    details = {"delta": delta, "side": side, "per_step_means": {str(t): v for t, v in means.items()},
               "per_step_upper_confidence": {str(t): v for t, v in result["upper_confidence"].items()},
               "exceeding_steps": result["exceeding_steps"], "alpha_per_step": result["alpha_per_step"],
               "rejection_point": result["threshold"], "untilted_prior": untilted_prior}
    outcome = TestOutcome("per-step δ", f"largest per-step mean of {quantity} over visited parents (one-sided KL "
                          f"test per step at α/{len(tested)})", max(means.values()), delta, result["n"], alpha,
                          result["excess_detectable"], "excess of a per-step mean over δ",
                          bool(result["exceeding_steps"]), details)
    certificate = None
    if side == "target":
        largest = max(v for v in result["upper_confidence"].values())
        certificate = Certificate(f"every per-step mean target-side term ≤ δ = {delta:g} (betting upper confidence "
                                  f"bound per step at α/{len(tested)})", largest, delta, alpha,
                                  max(means.values()), {"per_step_upper_confidence": details["per_step_upper_confidence"]})
    return outcome, certificate


class _UntiltedPrior:
    """The declared baseline with the prior step untilted (``b_T = −∞``: every prior draw accepted)."""

    def __init__(self, baseline: Callable, steps: int) -> None:
        self.baseline, self.steps = baseline, steps

    def __call__(self, parents, t: int):
        return UNTILTED if parents is None and t == self.steps else self.baseline(parents, t)


# -- the check ----------------------------------------------------------------------------------------

def _route_kernel_form(sampler: Callable, instance, *, kernel, reward, lam, reference: str,
                       **options) -> VerificationRecord:
    """The old call form ``check_chain_sampler(sampler, kernel=…, reward=…, lam=…, reference="trajectory")``:
    routed to ``check_chain_sampler_on_kernel`` (its ``gap`` was never used there, and still is not)."""
    import warnings

    if reference not in ("exact", "trajectory"):
        raise ValueError(f"reference must be 'exact' or 'trajectory', got {reference!r}")
    if instance is not None:
        raise ValueError("instance: give either a registered instance (check_chain_sampler(sampler, instance, …)) or "
                         "your own kernel (check_chain_sampler_on_kernel(sampler, kernel, reward, lam, …)), not both")
    if kernel is None:
        raise ValueError("kernel is required with reference='trajectory' (your model wrapped as a ChainKernel): "
                         "call check_chain_sampler_on_kernel(sampler, kernel, reward, lam, budget=…)")
    if reward is None or lam is None:
        raise ValueError(f"{'reward' if reward is None else 'lam'} is required with reference='trajectory': "
                         "call check_chain_sampler_on_kernel(sampler, kernel, reward, lam, budget=…)")
    warnings.warn("check_chain_sampler(sampler, kernel=…, reward=…, lam=…, reference='trajectory') is "
                  "check_chain_sampler_on_kernel(sampler, kernel, reward, lam, budget=…) now; this call is routed "
                  "there",
                  DeprecationWarning, stacklevel=3)
    return check_chain_sampler_on_kernel(sampler, kernel, reward, lam, **options)


def check_chain_sampler(sampler: Callable, instance=None, *, budget: float, alpha: float = 1e-6, beta: float = 1e-3,
                        seed: int = 0, device: str | torch.device = "cpu", baseline: Callable | None = None,
                        values: Callable | None = None, gap: float = DEFAULT_GAP,
                        n: int | None = None, max_samples: int = DEFAULT_MAX_SAMPLES,
                        audit_particles: int = AUDIT_PARTICLES, max_audit: int | None = None, kernel=None,
                        reward=None, lam: float | None = None,
                        reference: str = "exact", query_cap: float = 1e9, per_step_delta: float | None = None,
                        delta_side: str = "target", kappa: float = 15.0, per_step_gap: float | None = None,
                        per_step_slack: float | None = None, untilted_prior: bool = False) -> VerificationRecord:
    """Verify a diffusion-chain sampler's x_0 against the exact aligned law (see the module docstring).

    ``sampler(kernel, n, generator)`` may use only the kernel it is handed. ``budget`` ∈ [0, 1] is the
    TV the sampler claims. ``baseline(parents_or_None, t)`` and ``values(states, t)`` declare its
    acceptance rule (``values=None``: the exact V_t). ``n`` overrides the designed sample size.
    ``per_step_delta``, ``delta_side``, ``kappa``, ``per_step_gap``, ``per_step_slack`` (in (0, δ]),
    ``untilted_prior``: test 5 (module docstring).

    On your own kernel, with no exact law, call ``check_chain_sampler_on_kernel(sampler, kernel, reward, lam,
    budget=…)`` (``tiltproof.byo.chain_reference``); the old form ``check_chain_sampler(sampler, kernel=…,
    reward=…, lam=…, reference="trajectory", …)`` is routed there with a ``DeprecationWarning``.
    """
    if kernel is not None or reward is not None or lam is not None or reference != "exact":
        return _route_kernel_form(sampler, instance, kernel=kernel, reward=reward, lam=lam, reference=reference,
                                  budget=budget, alpha=alpha, beta=beta, seed=seed, n=n, query_cap=query_cap)
    if not callable(sampler):
        raise ValueError(f"sampler must be a callable sampler(kernel, n, generator), got {sampler!r}")
    budget = check_budget(budget)
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    gap = check_unit_interval("gap", gap)
    device = resolve_device(device)
    if per_step_delta is not None:
        per_step_delta = check_unit_interval("per_step_delta", per_step_delta)
        if baseline is None:
            raise ValueError("per_step_delta: the per-step test needs the declared rule (baseline=…, values=…)")
        if per_step_gap is not None:
            per_step_gap = check_positive("per_step_gap", per_step_gap)
        per_step_slack = PER_STEP_SLACK * per_step_delta if per_step_slack is None else per_step_slack
        per_step_slack = check_positive("per_step_slack", per_step_slack)
        if per_step_slack > per_step_delta:
            raise ValueError(f"per_step_slack must be in (0, per_step_delta], got {per_step_slack!r}")
    if delta_side not in DELTA_SIDES:
        raise ValueError(f"delta_side must be one of {DELTA_SIDES}, got {delta_side!r}")
    if not isinstance(untilted_prior, bool):
        raise ValueError(f"untilted_prior must be True or False, got {untilted_prior!r}")
    if instance is None:
        raise ValueError("instance is required (a registered chain instance name, e.g. 'gmm-ref-B5')")
    instance = resolve_chain_instance(instance).on(device)
    if (baseline is None) != (values is None) and baseline is None:
        raise ValueError("values: declare baseline=… with values=… (values alone is not an acceptance rule)")
    if baseline is not None and not callable(baseline):
        raise ValueError(f"baseline must be a callable baseline(parents_or_None, t), got {baseline!r}")
    if values is not None and not callable(values):
        raise ValueError(f"values must be a callable values(states, t), got {values!r}")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if max_audit is not None and (isinstance(max_audit, bool) or not isinstance(max_audit, int) or max_audit < 1):
        raise ValueError(f"max_audit must be a positive integer (or None: every particle), got {max_audit!r}")
    declared = baseline is not None
    if delta_side == "proposal" and per_step_delta is not None:
        kappa = check_kappa(kappa, instance.lam)
    if untilted_prior and declared:
        baseline = _UntiltedPrior(baseline, instance.chain.steps)
    parts = 1 + (3 if declared else 0) + (1 if per_step_delta is not None else 0)
    share = alpha / parts
    designed = max(_rare_event_design(instance, budget, gap, share, beta), projection_design(instance, share, beta))
    if declared:
        designed = max(designed, audit_particles)
    if per_step_delta is not None:
        step_gap = min(4.0 * per_step_delta if per_step_gap is None else per_step_gap, (1.0 - per_step_delta) / 2)
        step_share = share / (instance.chain.steps + 1)
        per_step_n = min_num_samples_for_step_mean_test(per_step_delta, step_gap, beta=beta, alpha=step_share)
        if delta_side == "target":
            per_step_n = max(per_step_n, min_num_samples_for_step_mean_certificate(
                per_step_delta, per_step_slack, alpha=step_share, beta=beta))
        designed = max(designed, per_step_n)
        audit_particles = max(audit_particles, per_step_n) if n is None else max(audit_particles, min(n, per_step_n))
    warnings = []
    size = designed if n is None else n
    if size > max_samples:
        warnings.append(f"n capped at max_samples={max_samples} (the design asked for {size})")
        size = int(max_samples)
    declared_values = None
    if declared:
        declared_values = instance.values if values is None else DeclaredValues(values, instance.lam)

    def run_once(count: int = size) -> tuple[SamplerOutput, int]:
        kernel_view = CountingKernel(instance.chain)
        generator = torch.Generator(device=instance.chain.device)
        generator.manual_seed(seed)
        try:
            raw = sampler(kernel_view, count, generator)
        except Exception as error:  # noqa: BLE001 - the user's code: reported as an error record
            raise ImplementationRaised("sampler", error) from error
        try:
            return _normalise(raw, count, kernel_view), kernel_view.draws
        except (ValueError, TypeError) as error:
            raise BadOutput(f"{error} (it returned {type(raw).__name__})") from error

    record_details = {"n": size, "designed_n": designed, "budget": budget, "declared_rule": declared,
                      "device": str(device), "per_step_delta": per_step_delta,
                      "delta_side": delta_side if per_step_delta is not None else None,
                      "untilted_prior": untilted_prior}
    try:
        first, _ = run_once(8)
        second, _ = run_once(8)
        not_reproducible = not torch.equal(first.samples.cpu(), second.samples.cpu())
        output, draws = run_once()
    except (ImplementationRaised, BadOutput) as problem:
        return error_record("chain", instance.name, alpha=alpha, beta=beta, seed=seed, details=record_details,
                            message=f"{problem}; the sampler could not be checked")
    if not_reproducible:
        warnings.append(NOT_REPRODUCIBLE)
    tests = [_x0_test(instance, output.samples, budget, share, beta)]
    certificates = []
    audit = None
    if declared:
        if output.states is None:
            warnings.append("the sampler declared its rule but returned no .states: the rule audit and the T7 "
                            "certificate need each particle's accepted x_t (see ChainResult(record_states=True))")
            certificates.append(Certificate("T7 path bound on TV(x_0, q_0)", 1.0, budget, share,
                                            details={"reason": "no states returned"}))
        else:
            # Without per-particle proposals the total query count is tested against its exact expectation
            # over every particle, so every particle's states are audited.
            try:
                audit, certificate = _audited_certificate(
                    instance, output, baseline, declared_values, size, audit_particles,
                    size if max_audit is None else int(max_audit), budget, share, seed,
                    None if per_step_delta is None else (delta_side, kappa),
                    1 if per_step_delta is None else min(per_step_n, size))
            except Exception as error:  # noqa: BLE001 - the declared baseline/values are the user's code
                return error_record("chain", instance.name, alpha=alpha, beta=beta, seed=seed, tests=tuple(tests),
                                    details=record_details, message=f"auditing the declared rule raised "
                                    f"{type(error).__name__}: {error} (check baseline=… and values=…)")
            if output.proposals is not None:
                tests.append(_pit_test(audit.pit, share, beta))
            else:
                warnings.append("no .proposals returned: the declared rule is audited through the total query count only")
            certificates.append(certificate)
            if per_step_delta is not None:
                step_test, step_certificate = _per_step_outcome(audit, per_step_delta, delta_side, instance.chain.steps,
                                                                untilted_prior, share, beta)
                tests.append(step_test)
                if step_certificate is not None:
                    certificates.append(step_certificate)
                else:
                    warnings.append("proposal-side per-step δ: its terms are unbounded, so the test refutes but "
                                    "cannot certify")
    audited = int(audit.terms.shape[1]) if audit is not None else 0
    tests.extend(_count_tests(output, draws, audit, audited, size, share, beta))
    tests = tuple(tests)
    missing = ("not certified: a budget claim needs a certificate; declare the acceptance rule (baseline=…, "
               "optionally values=…) and return each particle's .states (ChainResult(record_states=True))")
    verdict, meaning, message = settle_verdict(tests, tuple(certificates), budget=budget, missing=missing)
    power = {"x0_tv_beyond_budget": tests[0].detectable_gap - budget if tests[0].detectable_gap is not None else None,
             "rare_event_mass_error_beyond_budget": gap if size >= designed else None}
    power.update(x0_power(instance, size, budget, share, beta))
    if declared and output.proposals is not None and audit is not None:
        power["proposal_pit_ks"] = next(t.detectable_gap for t in tests if t.name == "declared rule")
    per_step = [t for t in tests if t.name == "per-step δ"]
    if per_step:
        power["per_step_excess"] = per_step[0].detectable_gap
        power["per_step_designed_excess"] = step_gap
        if delta_side == "target":
            power["per_step_certifiable_slack"] = min_slack_of_step_mean_certifiable(
                per_step[0].n, per_step_delta, alpha=per_step[0].details["alpha_per_step"], beta=beta)
            power["per_step_designed_slack"] = per_step_slack
    count = [t for t in tests if t.name == "query count" and t.alpha > 0]
    if count:
        power["query_count_relative_error"] = count[0].detectable_gap
    return VerificationRecord(
        family="chain", instance=instance.name, verdict=verdict, alpha=alpha, beta=beta, seed=seed, tests=tests,
        certificates=tuple(certificates), power=power, warnings=tuple(warnings), message=message,
        details={**record_details, "kernel_draws": draws, "samples_used": size,
                 "queries_per_sample": None if output.queries is None else output.queries / size},
        pass_meaning=meaning, not_reproducible=not_reproducible)


def _verify(target: Any, arguments) -> VerificationRecord:
    """``tiltproof verify --family chain``: ``target`` is ``sampler(kernel, n, generator)``, or an object with
    ``sampler`` and optionally ``baseline`` and ``values`` (its declared acceptance rule)."""
    extra = {key: getattr(arguments, key) for key in ("n", "max_audit") if getattr(arguments, key, None) is not None}
    return check_chain_sampler(getattr(target, "sampler", target), arguments.instance, budget=arguments.budget,
                               baseline=getattr(target, "baseline", None), values=getattr(target, "values", None),
                               alpha=arguments.alpha, seed=arguments.seed, device=arguments.device, **extra)


def _validate(arguments) -> None:
    if not (0.0 <= arguments.budget <= 1.0):
        raise ValueError(f"--budget must be a number in [0, 1], got {arguments.budget!r}")
    if not arguments.instance:
        raise ValueError("--instance is required for --family chain (e.g. gmm-ref-B5)")


FAMILY = Family(
    name="chain", summary="a diffusion-chain sampler's x_0 against the exact aligned law (T1/T4/T7)",
    check="check_chain_sampler", assertion="assert_chain_sampler", verify=_verify, validate=_validate,
    exports=("check_chain_sampler_on_kernel",),
    options=(
        Option(("--budget",), type="float", default=0.0,
               help="chain: the TV to the aligned law the sampler claims (0 = exact)"),
        Option(("--n",), type="int", help="chain: particles to draw (default: the designed n); more particles let "
                                          "the certificate audit more"),
        Option(("--max-audit",), type="int", help="chain: the most particles the T7 certificate audits (default: "
                                                  "every returned particle)"),
    ),
)
