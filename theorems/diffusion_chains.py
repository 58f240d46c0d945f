"""Per-step tilting of diffusion chains (LCB spec, "Diffusion chains": T7 and T1 on paths).

Instances (``chain_instance``): the reference Gaussian-mixture diffusion (d = 2, means (±5, 0), weights
(0.95, 0.05) with the 0.95 component at (+5, 0), Σ = I, T = 20, the reference schedule), reward
``B·1{x_1 < −7}``, λ = 1; and the reference masked diffusion (L = 6, V = 8, 512 sequences), reward
``B·1{x ∈ A}`` on a rare set of probability 4.5e-3, λ = 1. The per-step claims (T8, per-state T4) live in
``theorems.chain_step_bounds`` and the learned per-step baseline (T6) in ``theorems.chain_learned_baseline``.

Claims registered here:

* ``t7.path_tv`` — ``TV(q̂_0, q_0) ≤ TV(q̂_T, q_T) + Σ_t E_{y~q̂_{t+1}} TV(q̂_t(·|y), q_t(·|y))`` for per-step
  rejection with a given baseline. The terms are exact: the sampler's marginals q̂_t are propagated by
  1-D quadrature along the ridge (GMM; ``estimators.chain_ridge``) or by enumeration (masked;
  ``estimators.chain_exact``), which also gives the exact left side. On the masked chain every term is also
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
(``estimators.design``; the 2λ-acceptance bug is at TV 0.30). Each record reports the detectable gap of the
statistic it used and its units.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Callable

import numpy as np
import sympy
import torch
from scipy.special import logsumexp, ndtr

from estimators.chain_baselines import OracleChernoffBaseline
from estimators.chain_exact import aligned_data_law, finite_sampler_law
from estimators.chain_laws import kernel_value_laws
from estimators.chain_ridge import ridge_sampler_law
from estimators.design import (min_discrepancy_of_cdfs_detectable_by_dkw, min_gap_of_tvs_detectable_by_multinomial,
                               min_num_samples_for_dkw_cdf_test, min_num_samples_for_multinomial_tv_test)
from estimators.design_chain import min_gap_of_tvs_detectable_by_tv_lower_bound, min_num_samples_for_tv_lower_bound_test
from estimators.confidence import (clopper_pearson_lower, clopper_pearson_upper,
                                   dkw_radius, ks_distance, multinomial_tv_radius)
from estimators.exact import TiltedLaw
from estimators.law_tests import tv_lower_confidence
from primitives.chain_samplers import (EnvelopeBaseline, ExactSoftValues, OffsetBaseline, per_step_rejection_sample,
                                       trajectory_rejection_sample)
from primitives._checks import resolve_device
from primitives.diffusion import GaussianMixtureDiffusion
from primitives.laws import Categorical, GaussianMixture
from primitives.masked_diffusion import MaskedDiffusion, SequenceSetReward, reference_masked_diffusion
from primitives.rewards import StepReward, TableReward
from theorems import symbols as sym
from theorems._evidence import upper_bound_evidence
from theorems.framework import CheckContext, Claim, Evidence, Hypothesis, Mutant, wrong_variant

MODULE = "diffusion_chains"
FIT_GAP = 0.05            # smallest KS / projection gap each GMM law check detects w.p. ≥ 1 − β
MASKED_TV_GAP = 0.2       # smallest TV gap each masked-chain law check detects w.p. ≥ 1 − β

# ---------------------------------------------------------------- symbols (this module's own)
tau_prior = sympy.Symbol(r"\tau_T", nonnegative=True)            # TV(q̂_T, q_T)
tau_steps = sympy.Symbol(r"\Sigma_{t<T}\tau_t", nonnegative=True)  # Σ_t E_{y~q̂_{t+1}} TV(q̂_t(·|y), q_t(·|y))
tau_last = sympy.Symbol(r"\tau_0", nonnegative=True)
#: T7: the path bound
PATH_TV_BOUND = tau_prior + tau_steps


# ---------------------------------------------------------------- instances
@lru_cache(maxsize=None)
def reference_gmm_diffusion(device: str = "cpu") -> GaussianMixtureDiffusion:
    """The reference GMM diffusion: 0.95 N((5,0), I) + 0.05 N((−5,0), I), reference schedule (T = 20)."""
    mixture = GaussianMixture([0.95, 0.05], [[5.0, 0.0], [-5.0, 0.0]], [np.eye(2), np.eye(2)], device=device)
    return GaussianMixtureDiffusion(mixture)


@lru_cache(maxsize=None)
def _reference_masked(device: str = "cpu") -> tuple[MaskedDiffusion, np.ndarray]:
    return reference_masked_diffusion(device=device)


@dataclass(frozen=True)
class ChainInstance:
    name: str
    description: str
    kind: str                 # "gmm" or "masked"
    height: float             # B
    lam: float = 1.0
    device: str = "cpu"       # where the chain, its soft values and the samplers run

    def on(self, device: str | torch.device) -> ChainInstance:
        """This instance with its chain and values on ``device`` (a check runs on its context's device)."""
        return dataclasses.replace(self, device=str(resolve_device(device)))

    @property
    def chain(self):
        return reference_gmm_diffusion(self.device) if self.kind == "gmm" else _reference_masked(self.device)[0]

    @property
    def reward(self):
        return _reward(self.kind, self.height)

    @property
    def values(self) -> ExactSoftValues:
        return _values(self.kind, self.height, self.lam, self.device)

    def x0_target(self) -> TiltedLaw:
        """The exact aligned x_0 law q_0 (GMM: on ℝ²; masked: over the data table's indices)."""
        return _x0_target(self.kind, self.height, self.lam)

    def x0_points(self, samples: torch.Tensor):
        if self.kind == "gmm":
            return samples
        index = self.chain.data_index(samples)
        if bool((index < 0).any()):
            raise RuntimeError("sampler produced a sequence outside the data table")
        return index


@lru_cache(maxsize=None)
def _reward(kind: str, height: float):
    if kind == "gmm":
        return StepReward(height, [1.0, 0.0], -7.0)
    return SequenceSetReward(height, _reference_masked()[1])


@lru_cache(maxsize=None)
def _values(kind: str, height: float, lam: float, device: str = "cpu") -> ExactSoftValues:
    chain = reference_gmm_diffusion(device) if kind == "gmm" else _reference_masked(device)[0]
    return ExactSoftValues(chain, _reward(kind, height), lam)


@lru_cache(maxsize=None)
def _x0_target(kind: str, height: float, lam: float) -> TiltedLaw:
    if kind == "gmm":
        return TiltedLaw(reference_gmm_diffusion().mixture, _reward(kind, height), lam)
    chain = _reference_masked()[0]
    return TiltedLaw(Categorical(chain.probs), TableReward(chain.data_rewards(_reward(kind, height)).cpu().numpy()), lam)


def chain_instance(kind: str, height: float) -> ChainInstance:
    if kind == "gmm":
        return ChainInstance(f"gmm-ref-B{height:g}", rf"GMM diffusion, $r=B\,1\{{x_1<-7\}}$, $B={height:g}$, $\lambda=1$",
                             "gmm", float(height))
    return ChainInstance(f"masked-ref-B{height:g}", rf"masked diffusion, $r=B\,1\{{x\in A\}}$, $B={height:g}$, $\lambda=1$",
                         "masked", float(height))


# ---------------------------------------------------------------- baselines by name
def make_baseline(instance: ChainInstance, name: str):
    """``offset=c`` (``V_{t+1}(y) + c``), ``oracle-delta=δ`` (exact per-state Chernoff), ``ideal``."""
    values = instance.values
    if name == "ideal":
        return EnvelopeBaseline(values)
    key, _, number = name.partition("=")
    if key == "offset":
        return OffsetBaseline(values, float(number))
    if key == "oracle-delta":
        return OracleChernoffBaseline(instance.chain, values, float(number))
    raise ValueError(f"unknown baseline name {name!r}")


class TemperatureValues:
    """Soft values whose acceptance runs at ``factor·λ`` (a wrong sampler; the values stay V_t)."""

    def __init__(self, values, factor: float) -> None:
        self.values, self.lam = values, values.lam * factor
        self.reward, self.exact = getattr(values, "reward", None), False

    def __call__(self, states, t):
        return self.values(states, t)

    def root(self):
        return self.values.root()

    def envelope(self, t):
        return self.values.envelope(t)


ChainSampler = Callable[..., object]


def default_chain_sampler(instance: ChainInstance, baseline, n: int, generator: torch.Generator):
    return per_step_rejection_sample(instance.chain, instance.values, baseline, n, generator=generator)


def wrong_temperature_chain_sampler(instance: ChainInstance, baseline, n: int, generator: torch.Generator):
    """Per-step rejection accepting with ``min(1, e^{(V_t − b)/(2λ)})`` while claiming λ."""
    return per_step_rejection_sample(instance.chain, TemperatureValues(instance.values, 2.0), baseline, n,
                                     generator=generator)


def orthogonal_noise_sampler(instance: ChainInstance, baseline, n: int, generator: torch.Generator):
    """Per-step rejection whose output has its orthogonal coordinate spread 1.3× (a sampler that mis-scales the
    noise off the ridge; the ridge coordinate, and so the reward, is unaffected: only the orthogonal KS sees it)."""
    result = per_step_rejection_sample(instance.chain, instance.values, baseline, n, generator=generator)
    samples = result.samples.clone()
    samples[:, 1] = samples[:, 1] * 1.3
    return dataclasses.replace(result, samples=samples)


# ---------------------------------------------------------------- x_0 statistics
def _reward_projection_tv_lower(instance: ChainInstance, points, alpha: float) -> tuple[float, float]:
    """KS on the reward's law (≤ TV) minus the DKW radius: (estimate, lower bound)."""
    target = instance.x0_target()
    if instance.kind == "gmm":
        rewards = instance.reward(points).cpu().numpy()
    else:
        rewards = target.reward(points).cpu().numpy()
    distance = ks_distance(rewards, target.reward_cdf, target.reward_cdf_left)
    return distance, max(0.0, distance - dkw_radius(len(rewards), alpha))


def ridge_projection_cdfs(instance: ChainInstance) -> dict[str, Callable]:
    """Exact CDFs of q_0's projections for the reference GMM (ridge-reducible along e_1): the ridge
    coordinate ``x_1`` (``q_0(x_1 ≤ y) = Σ_k π_k [e^{B/λ}Φ(min(y,κ) − m_k) + (Φ(y − m_k) − Φ(κ − m_k))_+]/Z``),
    the orthogonal coordinate ``x_2 ~ N(0, 1)`` (untouched by the tilt), and the reward (two atoms)."""
    diffusion, reward, lam = instance.chain, instance.reward, instance.lam
    weights = diffusion.weights.cpu().numpy()
    means = diffusion.means[:, 0].cpu().numpy()
    kappa, height = reward.threshold, reward.height
    log_z = instance.values.root() / lam
    from scipy.special import logsumexp, ndtr

    def ridge(y):
        y = np.atleast_1d(np.asarray(y, dtype=float))[:, None]
        inside = math.exp(height / lam) * ndtr(np.minimum(y, kappa) - means)
        outside = np.clip(ndtr(y - means) - ndtr(kappa - means), 0.0, None)
        return np.clip(((inside + outside) * weights).sum(-1) * math.exp(-log_z), 0.0, 1.0)

    target = instance.x0_target()
    return {"reward": (target.reward_cdf, target.reward_cdf_left), "x0": (ridge, None),
            "x1": (lambda y: ndtr(np.asarray(y, dtype=float)), None)}


def gmm_projection_distances(instance: ChainInstance, points: torch.Tensor) -> dict[str, float]:
    cdfs = ridge_projection_cdfs(instance)
    rewards = instance.reward(points).cpu().numpy()
    array = points.cpu().numpy()
    return {"reward": ks_distance(rewards, *cdfs["reward"]), "x0": ks_distance(array[:, 0], cdfs["x0"][0]),
            "x1": ks_distance(array[:, 1], cdfs["x1"][0])}


def _rare_event(instance: ChainInstance, points, alpha: float) -> tuple[float, float, float, float]:
    """The reward's top atom ``{r(x_0) = B}``: (q_0 mass, empirical frequency, two-sided exact
    Clopper–Pearson interval at level α). ``|P̂(A) − q_0(A)| ≤ TV``, and the binomial test is far more
    powerful than DKW when q_0(A) is small."""
    target = instance.x0_target()
    rewards = (instance.reward(points) if instance.kind == "gmm" else target.reward(points)).cpu().numpy()
    hits, n = int((rewards >= instance.height).sum()), len(rewards)
    mass = 1.0 - float(target.reward_cdf_left(np.array([instance.height]))[0])
    return mass, hits / n, clopper_pearson_lower(hits, n, alpha / 2), clopper_pearson_upper(hits, n, alpha / 2)


def x0_tv_lower(instance: ChainInstance, samples: torch.Tensor, alpha: float, beta: float):
    """Lower confidence bound (level α) on ``TV(law of x_0, q_0)``: the largest of the projection KS
    distances minus their DKW radius and the rare-event gap outside its Clopper–Pearson interval
    (each ≤ TV), Bonferroni over the statistics."""
    points = instance.x0_points(samples)
    n = len(points)
    mass, frequency, low, high = _rare_event(instance, points, alpha / 2)
    rare_lower = max(0.0, low - mass, mass - high)
    if instance.kind == "gmm":
        estimate = max(gmm_projection_distances(instance, points).values())
        radius = dkw_radius(n, alpha / 6)
        name = "max(3 exact projection KS (reward, x_1, x_2) − DKW ε(α/6), rare-event Clopper–Pearson gap (α/2)) ≤ TV"
    else:
        multinomial = tv_lower_confidence(points, instance.x0_target(), alpha / 2, beta)
        estimate, radius = multinomial.estimate, multinomial.estimate - multinomial.lower
        name = "max(multinomial TV − its radius (α/2), rare-event Clopper–Pearson gap (α/2)) ≤ TV"
    lower = max(max(0.0, estimate - radius), rare_lower)
    if instance.kind == "gmm":
        detectable = min_discrepancy_of_cdfs_detectable_by_dkw(n, alpha=alpha / 6, beta=beta)
    else:
        detectable = min_gap_of_tvs_detectable_by_tv_lower_bound(n, instance.chain.sequences.shape[0], alpha=alpha / 2,
                                                                 beta=beta)
    return max(estimate, abs(frequency - mass)), lower, detectable, name


def x0_tv_units(instance: ChainInstance) -> str:
    """Units of ``x0_tv_lower``'s detectable gap."""
    if instance.kind == "gmm":
        return "KS on each projection (reward, x_1, x_2), a lower bound on TV(q̂_0, q_0) − bound"
    return "TV(q̂_0, q_0) in excess of the bound (multinomial over the 512 sequences)"


def _x0_sample_size(instance: ChainInstance, alpha: float, beta: float, statistic: str = "fit") -> int:
    """n from the design of the statistic used: DKW for a KS gap ``FIT_GAP`` in every projection (GMM, and the
    masked chain's reward projection in ``_x0_fit``); the multinomial TV lower bound over the 512 sequences for
    a TV gap ``MASKED_TV_GAP`` (masked ``x0_tv_lower``)."""
    if instance.kind == "masked" and statistic == "tv-lower":
        return min_num_samples_for_tv_lower_bound_test(MASKED_TV_GAP, instance.chain.sequences.shape[0],
                                                       alpha=alpha / 2, beta=beta)
    share = alpha / 6 if instance.kind == "gmm" else alpha / 2
    return min_num_samples_for_dkw_cdf_test(FIT_GAP, alpha=share, beta=beta)


def _x0_fit(instance: ChainInstance, points, alpha: float) -> tuple[float, float, str]:
    """Goodness of fit of x_0 to q_0 at level α: (statistic, threshold, name). Rejects when a projection
    KS distance exceeds its DKW radius (α/2 split over the projections) or when q_0's rare-event mass
    lies outside the exact two-sided Clopper–Pearson interval (α/2); reported in KS units, with the
    rare-event test's excess added to the statistic."""
    n = len(points)
    mass, frequency, low, high = _rare_event(instance, points, alpha / 2)
    excess = max(0.0, low - mass, mass - high)
    if instance.kind == "gmm":
        statistic = max(gmm_projection_distances(instance, points).values())
        threshold = dkw_radius(n, alpha / 6)
        name = "max of 3 exact projection KS vs DKW ε(α/6); rare-event mass in its Clopper–Pearson interval (α/2)"
    else:
        statistic, _ = _reward_projection_tv_lower(instance, points, alpha / 2)
        threshold = dkw_radius(n, alpha / 2)
        name = "reward KS vs DKW ε(α/2); rare-event mass in its Clopper–Pearson interval (α/2)"
    return (statistic if excess == 0.0 else max(statistic, threshold) + excess), threshold, name


def _fit_units(instance: ChainInstance) -> str:
    if instance.kind == "gmm":
        return "KS on each projection (reward, x_1, x_2) of x_0"
    return "KS on r(x_0)"


def _exact_sampler_law(instance: ChainInstance, baseline):
    """(exact TV of x_0, exact T7 terms, quadrature error, exact law object)."""
    if instance.kind == "gmm":
        law = ridge_sampler_law(instance.chain, instance.values, baseline)
        return law.tv_x0, law.step_terms, law.quadrature_error, law
    law = finite_sampler_law(instance.chain, instance.values, baseline)
    q0 = aligned_data_law(instance.chain, instance.reward, instance.lam)
    return 0.5 * float(np.abs(law.x0_probs - q0).sum()), law.step_terms, 0.0, law


# ---------------------------------------------------------------- T7
def check_path_tv(instance: ChainInstance, baseline_name: str, context: CheckContext, *,
                  sampler: ChainSampler = default_chain_sampler, terms: str = "all") -> Evidence:
    """T7 with exact terms; ``terms='last'`` keeps only the t = 0 term (a deliberately wrong bound)."""
    instance = instance.on(context.device)
    baseline = make_baseline(instance, baseline_name)
    tv_exact, step_terms, quadrature_error, law = _exact_sampler_law(instance, baseline)
    steps = instance.chain.steps
    if terms == "all":
        values = {tau_prior: float(step_terms[steps]), tau_steps: float(step_terms[:steps].sum())}
        bound = sym.evaluate(PATH_TV_BOUND, values)
    elif terms == "last":
        bound = sym.evaluate(tau_last, {tau_last: float(step_terms[0])})
    else:
        raise ValueError(f"terms must be 'all' or 'last', got {terms!r}")
    n = _x0_sample_size(instance, context.alpha, context.beta, "tv-lower")
    result = sampler(instance, baseline, n, context.generator())
    estimate, lower, detectable, name = x0_tv_lower(instance, result.samples, context.alpha, context.beta)
    details = {"step_terms": [float(v) for v in step_terms], "quadrature_error": quadrature_error,
               "queries_per_sample": result.queries_per_sample}
    term_reasons = []
    if instance.kind == "masked":
        single_step = single_step_terms(instance, baseline, law)
        details.update(single_step)
        if single_step["max_term_discrepancy"] > 1e-9:
            term_reasons.append(f"a T7 term differs from T2's exact Σ_y q̂(y) TV_y by {single_step['max_term_discrepancy']:.3g}")
        if single_step["min_t2_bound_margin"] < -1e-9:
            term_reasons.append(f"a T7 term exceeds T2's bound Σ_y q̂(y) D_y/Z_y by {-single_step['min_t2_bound_margin']:.3g}")
        delta = getattr(baseline, "delta", None)
        if delta is not None and single_step["max_clip_mass"] > delta * (1 + 1e-9):
            term_reasons.append(f"a visited state has D/Z = {single_step['max_clip_mass']:.4g} > δ = {delta:g} (T3)")
    evidence = upper_bound_evidence(
        statistic=f"exact path bound (quadrature along the ridge / enumeration); exact TV(q̂_0,q_0); {name}"
                  + ("; each term = Σ q̂ TV_y (T2's exact form) ≤ Σ q̂ D/Z (T2), D/Z ≤ δ at the oracle (T3)"
                     if instance.kind == "masked" else ""),
        bound=bound, exact=tv_exact, empirical=estimate, lower_confidence=lower, n=n, detectable_gap=detectable,
        exact_tolerance=2.0 * quadrature_error + 1e-9, details=details,
    )
    if term_reasons:
        evidence.holds = False
        evidence.message = "; ".join(filter(None, [evidence.message, *term_reasons]))
    evidence.detectable_gap_units = x0_tv_units(instance)
    return evidence


def t2_per_state(laws, lam: float, baseline: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per parent, from the kernel's atoms (log p_i, V_i) in log space, T2's exact clipping error
    ``TV(q_b, q) = Σ_{V_i > b} p_i (w_i/Z − 1/Z_b)_+`` (w = e^{V/λ}, Z = E_p w, Z_b = E_p min(w/c, 1), c = e^{b/λ})
    and its bound ``D/Z = E_q(1 − e^{(b−V)/λ})_+`` — both by definition, apart from the propagation's
    ``½Σ|q − q_b|`` and from ``StateLaws``' clipped partition."""
    log_p = laws.log_probs.detach().cpu().numpy()
    values = np.nan_to_num(laws.values.detach().cpu().numpy(), nan=0.0)
    b = baseline.detach().cpu().numpy().reshape(-1, 1)
    live = np.isfinite(log_p)
    log_p = np.where(live, log_p, -np.inf)
    log_z = logsumexp(log_p + values / lam, axis=1, keepdims=True)
    log_zb = logsumexp(log_p + np.minimum(values - b, 0.0) / lam, axis=1, keepdims=True)
    above = live & (values > b)
    excess = np.where(above, np.exp(log_p) * np.clip(np.exp(values / lam - log_z) - np.exp(-log_zb), 0.0, None), 0.0)
    q = np.where(live, np.exp(log_p + values / lam - log_z), 0.0)
    clip = (q * -np.expm1(np.minimum(0.0, (b - values) / lam))).sum(1)
    return excess.sum(1), clip


def single_step_terms(instance: ChainInstance, baseline, law) -> dict:
    """Each T7 term recomputed from T2 over the exact marginals of the parents: ``Σ_y q̂_{t+1}(y) TV_y`` with
    ``TV_y`` from T2's exact expression (``t2_per_state``), which must equal the propagated term, and
    ``Σ_y q̂_{t+1}(y) D_y/Z_y`` (T2's bound), which must not be below it; also the largest D/Z over visited
    states (T3 at an oracle baseline: ≤ δ)."""
    chain, values, lam = instance.chain, instance.values, instance.lam
    identity, upper, largest = np.zeros(chain.steps + 1), np.zeros(chain.steps + 1), 0.0
    prior = kernel_value_laws(chain, chain.steps, None, values)
    tv, clip = t2_per_state(prior, lam, torch.as_tensor(baseline(None, chain.steps)).reshape(-1))
    identity[chain.steps], upper[chain.steps], largest = float(tv[0]), float(clip[0]), float(clip.max())
    for t in range(chain.steps):
        states, probs = law.marginals[t + 1]
        laws = kernel_value_laws(chain, t, states, values)
        tv, clip = t2_per_state(laws, lam, baseline(states, t).reshape(-1))
        weights = probs.detach().cpu().numpy()
        identity[t], upper[t] = float((weights * tv).sum()), float((weights * clip).sum())
        if (weights > 0).any():
            largest = max(largest, float(clip[weights > 0].max()))
    terms = np.asarray(law.step_terms, dtype=float)
    return {"t2_terms": [float(v) for v in identity], "t2_bounds": [float(v) for v in upper], "max_clip_mass": largest,
            "max_term_discrepancy": float(np.abs(identity - terms).max()),
            "min_t2_bound_margin": float((upper - terms).min())}


def check_sampler_law(instance: ChainInstance, baseline_name: str, context: CheckContext, *,
                      sampler: ChainSampler = default_chain_sampler) -> Evidence:
    """The per-step sampler's x_0 against its exact law (composition of its clipped kernels)."""
    instance = instance.on(context.device)
    baseline = make_baseline(instance, baseline_name)
    _, _, quadrature_error, law = _exact_sampler_law(instance, baseline)
    details = {}
    if instance.kind == "gmm":
        n = min_num_samples_for_dkw_cdf_test(FIT_GAP - quadrature_error, alpha=context.alpha / 2, beta=context.beta)
        result = sampler(instance, baseline, n, context.generator())
        points = instance.x0_points(result.samples)
        # The ridge coordinate carries the tilt; the orthogonal coordinate is an untouched N(0, 1) chain.
        direction = torch.as_tensor(law.direction, dtype=points.dtype, device=points.device)
        along = (points @ direction).cpu().numpy()
        across = (points - (points @ direction)[:, None] * direction).cpu().numpy() @ np.array([-law.direction[1], law.direction[0]])
        ridge_ks = ks_distance(along, law.x0_cdf)
        orthogonal_ks = ks_distance(across, lambda y: ndtr(np.asarray(y, dtype=float)))
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
    exact_ok = tv_exact <= 2.0 * quadrature_error + 1e-9 and float(np.abs(step_terms).max()) <= 1e-9
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


# ---------------------------------------------------------------- registration
def single_threaded(check: Callable[[CheckContext], Evidence]) -> Callable[[CheckContext], Evidence]:
    """Run a check with one intra-op torch thread (restored afterwards): these checks move many small
    tensors, for which thread hand-offs cost more than they save, ten-fold on a loaded machine."""
    def run(context: CheckContext) -> Evidence:
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return check(context)
        finally:
            torch.set_num_threads(previous)
    run.__wrapped__ = check
    return run


def _hypotheses(instance: ChainInstance) -> tuple[Hypothesis, ...]:
    return (Hypothesis(r"$\lambda > 0$", lambda: instance.lam > 0),
            Hypothesis(r"exact soft values $V_t$ (closed form / enumeration)", lambda: instance.values.exact))


T7_STATEMENT = (r"\mathrm{TV}(\hat q_0,q_0) \le \mathrm{TV}(\hat q_T,q_T) + \sum_{t<T} "
                r"E_{y\sim\hat q_{t+1}}\mathrm{TV}(\hat q_t(\cdot|y), q_t(\cdot|y))")

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
