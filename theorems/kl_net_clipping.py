"""L1a (clipping): planes valid only on a region K cost at most q_KL(Ax ∉ K) in TV (tractability spec, L1a).

Statement. Planes ``ℓ_i ≤ f`` with ``max_i ℓ_i ≥ f − ε`` on K; ``kl_align`` proposes from ``∝ p·S``,
``S = Σ_i e^{ℓ_i(Ax)/λ}``, and accepts with ``min(1, e^{(f−ε)/λ}/S)``. Its output density is
``∝ p·min(S, e^{(f−ε)/λ}) = q·w·const`` with ``w = min(1, S e^{−(f−ε)/λ})``: ``w = 1`` on K (there
``S ≥ e^{max ℓ/λ} ≥ e^{(f−ε)/λ}``) and ``w ∈ [0, 1]`` off K. Hence ``TV = E_q(1 − w/E_q w)_+ ≤ 1 − E_q w ≤ q(K^c)``
(as ``w/E_q w ≥ w`` and ``1 − w = 0`` on K).

Instance (``convex-net-gauss-d3``): p = N(μ, Σ) on ℝ³ (seeded), ``s = ⟨a, x⟩``, ``f(s) = L·C(√(1 + ((s − s0)/C)²) − 1)``
(L = 1.5, C = 2, s0 = 0.5: curved on the scale of q, so planes valid on K fall behind f outside it), λ = 1,
K = [s0 − 2.5, s0 + 2.5] (``q(K^c) = 0.096``), three tangent planes at ``s0 + {−R/2, 0, R/2}`` with ε = 0.3 (the
largest gap on K is 0.271, checked on a grid as a hypothesis). About 4.4 % of q's mass is clipped; the exact TV is
0.0088.

Check (``l1a.net_clipping``): the exact TV by quadrature along the ridge (``E_q`` of the explicit w; no sampler)
must be ≤ q(K^c); the sampler's draws must fit the exact clipped law ``∝ p·min(S, e^{(f−ε)/λ})`` (projections of
``⟨a, x⟩`` and every coordinate, DKW at α/2; the clipped law is a ridge-tilted law with log-weight
``min(log S, (f − ε)/λ)``, kinks located by root finding); and the KS lower confidence bound on TV(output, q_KL)
(α/2) must be ≤ q(K^c). n from the DKW design for a KS gap of 0.025, the violation stated: planes built for
the region of radius R/2 give an exact KS of 0.027 on ⟨a, x⟩ (forgetting the ε shift gives 0.0145, below it). Wrong variant: the planes built for the
region of radius R/2 (a mis-specified region: the sampler then clips inside K).
"""
from __future__ import annotations

from functools import lru_cache, partial

import numpy as np
import sympy
import torch
from scipy.optimize import brentq
from scipy.special import logsumexp

from estimators.projection_fit import min_num_samples_for_projection_ks_test, projection_fit_test
from estimators.exact.ridge_law import RidgeTiltedLaw
from primitives.kl_align import kl_align
from primitives.laws import Gaussian
from primitives.planes import ConvexLowRank, PlaneCover
from tiltproof.core.tractability_checks import ridge_projections, spd_matrix
from tiltproof.core.framework import CheckContext, Claim, Evidence, Hypothesis, Mutant, wrong_variant

MODULE = "kl_net_clipping"
FIT_GAP = 0.025           # KS gap detected w.p. ≥ 1 − β: the half-region bug's exact KS on ⟨a, x⟩ is 0.027
NET_L, NET_C, NET_S0, NET_RADIUS, NET_EPS, NET_LAM = 1.5, 2.0, 0.5, 2.5, 0.3, 1.0
outside_mass = sympy.Symbol("q_{K^c}", nonnegative=True)
NET_CLIPPING = outside_mass


def f_of_s(s) -> np.ndarray:
    return NET_L * NET_C * (np.sqrt(1 + ((np.asarray(s, dtype=float) - NET_S0) / NET_C) ** 2) - 1)


def _f_slope(s) -> np.ndarray:
    shifted = (np.asarray(s, dtype=float) - NET_S0) / NET_C
    return NET_L * shifted / np.sqrt(1 + shifted**2)


def _net_f(z: torch.Tensor) -> torch.Tensor:
    return NET_L * NET_C * (torch.sqrt(1 + ((z[:, 0] - NET_S0) / NET_C) ** 2) - 1)


def _net_subgradient(z: torch.Tensor) -> torch.Tensor:
    shifted = (z[:, :1] - NET_S0) / NET_C
    return NET_L * shifted / torch.sqrt(1 + shifted**2)


@lru_cache(maxsize=None)
def net_instance():
    rng = np.random.default_rng(4005)
    d = 3
    base = Gaussian(rng.normal(size=d) * 0.5, spd_matrix(rng, d))
    a = rng.normal(size=d)
    a = a / np.linalg.norm(a) / 1.2
    reward = ConvexLowRank(a[None, :], _net_f, _net_subgradient, NET_L, NET_RADIUS, center=[NET_S0])
    return base, reward, NET_LAM


@lru_cache(maxsize=None)
def net_cover() -> PlaneCover:
    """Tangent planes of f at ``s0 + {−R/2, 0, R/2}``, valid (gap ≤ ε) on K only."""
    points = NET_S0 + np.array([-NET_RADIUS / 2, 0.0, NET_RADIUS / 2])
    slopes = _f_slope(points)
    return PlaneCover(slopes[:, None], f_of_s(points) - slopes * points, NET_EPS, np.array([NET_S0]), NET_RADIUS)


def cover_gap_on_region(cover: PlaneCover) -> float:
    """``max_{s ∈ K} f(s) − max_i ℓ_i(s)`` on a grid of 20 001 points (the planes are tangents: ℓ_i ≤ f)."""
    grid = np.linspace(NET_S0 - NET_RADIUS, NET_S0 + NET_RADIUS, 20_001)
    return float((f_of_s(grid) - np.max(grid[:, None] * cover.slopes[:, 0] + cover.intercepts, axis=1)).max())


def _log_sum_planes(s, cover: PlaneCover, lam_value: float) -> np.ndarray:
    return logsumexp((np.asarray(s, dtype=float)[..., None] * cover.slopes[:, 0] + cover.intercepts) / lam_value, axis=-1)


def clipped_log_weight(cover: PlaneCover, lam_value: float):
    return lambda s: np.minimum(_log_sum_planes(s, cover, lam_value), (f_of_s(s) - cover.epsilon) / lam_value)


def _kinks(cover: PlaneCover, lam_value: float, span: float = 40.0) -> list[float]:
    gap = lambda s: _log_sum_planes(s, cover, lam_value) - (f_of_s(s) - cover.epsilon) / lam_value
    grid = np.linspace(NET_S0 - span, NET_S0 + span, 40_001)
    values = gap(grid)
    roots = []
    for i in np.nonzero(np.sign(values[:-1]) != np.sign(values[1:]))[0]:
        roots.append(float(brentq(gap, grid[i], grid[i + 1], xtol=1e-12)))
    return roots


def aligned_law(base, reward, lam_value: float) -> RidgeTiltedLaw:
    return RidgeTiltedLaw(base, reward.A[0], lambda s: f_of_s(s) / lam_value, NET_L / lam_value,
                          breakpoints=[NET_S0 - NET_RADIUS, NET_S0 + NET_RADIUS])


def clipped_law(base, reward, lam_value: float, cover: PlaneCover) -> RidgeTiltedLaw:
    """The exact output law of the planes route with this cover: ``∝ p·min(S, e^{(f−ε)/λ})`` along ⟨a, x⟩."""
    return RidgeTiltedLaw(base, reward.A[0], clipped_log_weight(cover, lam_value), NET_L / lam_value,
                          breakpoints=[NET_S0 - NET_RADIUS, NET_S0 + NET_RADIUS, *_kinks(cover, lam_value)])


def exact_clipping_tv(base, reward, lam_value: float, cover: PlaneCover) -> tuple[float, float, float]:
    """(TV(output, q_KL), its quadrature error, E_q w) with ``w = min(1, S e^{−(f−ε)/λ})``, by quadrature under q."""
    law = aligned_law(base, reward, lam_value)
    w = lambda s: np.exp(np.minimum(0.0, _log_sum_planes(s, cover, lam_value) - (f_of_s(s) - cover.epsilon) / lam_value))
    mean, mean_error = law.expectation(w)
    tv, tv_error = law.expectation(lambda s: 0.5 * np.abs(w(s) / mean - 1.0), bound=1.0 / mean)
    return tv, tv_error + mean_error / mean, mean


def default_sampler(base, reward, lam_value):
    return lambda n, generator: kl_align(base, reward, lam_value, n, generator, cover=net_cover())


def check_net_clipping(context: CheckContext, sampler=None) -> Evidence:
    base, reward, lam_value = net_instance()
    cover = net_cover()
    law = aligned_law(base, reward, lam_value)
    inside, error = law.statistic_probability(NET_S0 - NET_RADIUS, NET_S0 + NET_RADIUS)
    bound = float(NET_CLIPPING.subs({outside_mass: 1.0 - inside + error}))
    exact_tv, tv_error, kept = exact_clipping_tv(base, reward, lam_value, cover)
    output_projections = ridge_projections(clipped_law(base, reward, lam_value, cover), base.dim)
    target_projections = ridge_projections(law, base.dim)
    n = min_num_samples_for_projection_ks_test(FIT_GAP, len(output_projections), alpha=context.alpha / 2,
                                               beta=context.beta)
    device_base = base.to(context.device)
    draw = sampler(device_base, reward, lam_value) if sampler else default_sampler(device_base, reward, lam_value)
    result = draw(n, context.generator(0))
    fit = projection_fit_test(result.samples, output_projections, context.alpha / 2, context.beta)
    to_target = projection_fit_test(result.samples, target_projections, context.alpha / 2, context.beta)
    reasons = []
    if exact_tv > bound + tv_error:
        reasons.append(f"exact TV {exact_tv:.4g} exceeds q(K^c) = {bound:.4g}")
    if fit.rejected:
        reasons.append(f"output law differs from the exact clipped law: KS {fit.statistic:.4g} > {fit.threshold:.4g}")
    if to_target.tv_lower > bound:
        reasons.append(f"lower confidence bound on TV(output, q_KL) {to_target.tv_lower:.4g} exceeds q(K^c) = {bound:.4g}")
    return Evidence(
        holds=not reasons,
        statistic=f"exact TV by quadrature (E_q of the explicit clip weight) ≤ q(K^c); fit to the exact clipped law "
                  f"({fit.name}, α/2); KS − DKW lower bound on TV(output, q_KL) (α/2) ≤ q(K^c)",
        bound=bound, exact=exact_tv, empirical=to_target.statistic, confidence_bound=to_target.tv_lower, n=n,
        detectable_gap=fit.detectable_gap, detectable_gap_units="KS to the exact clipped law (max over projections)",
        margin=min(bound - exact_tv, bound - to_target.tv_lower, fit.threshold - fit.statistic),
        message="; ".join(reasons),
        details={"planes": result.planes, "epsilon": NET_EPS, "clipped_proposals": result.clipped,
                 "oracle_calls": result.oracle_calls, "outside_mass": 1.0 - inside, "clip_fit": fit.statistic,
                 "clip_fit_threshold": fit.threshold, "exact_tv_error": tv_error, "E_q_w": kept})


CLAIM_ID = f"l1a.net_clipping/convex-net-gauss-d3/eps={NET_EPS:g},R={NET_RADIUS:g}"


def claims() -> list[Claim]:
    return [Claim(
        id=CLAIM_ID, theorem="L1a", module=MODULE, title="net clipping costs q(K^c)",
        statement=r"\max_i \ell_i \ge f-\varepsilon \text{ on } K \Rightarrow \mathrm{TV}(\text{output}, q_{KL}) \le q_{KL}(Ax\notin K)",
        bound_expression=NET_CLIPPING,
        instance=r"$p=\mathcal N(\mu,\Sigma)$ on $\mathbb R^3$, $f(s)=3(\sqrt{1+((s-0.5)/2)^2}-1)$, three tangent "
                 r"planes, $K=[s_0-2.5, s_0+2.5]$, $q(K^c)=0.096$",
        hypotheses=(Hypothesis(r"the planes are within $\varepsilon$ of f on K", lambda: cover_gap_on_region(net_cover()) <= NET_EPS),),
        check=check_net_clipping, parameters={"lambda": NET_LAM, "epsilon": NET_EPS, "R": NET_RADIUS})]


def _half_region_cover(base, reward, lam_value):
    """The tangent planes built for the region of radius R/2 (a mis-specified region), run with the same ε."""
    points = NET_S0 + np.array([-NET_RADIUS / 4, 0.0, NET_RADIUS / 4])
    slopes = _f_slope(points)
    cover = PlaneCover(slopes[:, None], f_of_s(points) - slopes * points, NET_EPS, np.array([NET_S0]), NET_RADIUS / 2)
    return lambda n, generator: kl_align(base, reward, lam_value, n, generator, cover=cover)


def mutants() -> list[Mutant]:
    registered = claims()
    return [Mutant("net-clipping-half-region", "L1a", "planes built for the region of radius R/2, claimed for R",
                   wrong_variant(registered, CLAIM_ID, partial(check_net_clipping, sampler=_half_region_cover),
                                 "half-region")),
            ]
