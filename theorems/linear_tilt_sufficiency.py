"""L1a: KL alignment by planes is exact for convex low-dimensional rewards (tractability spec, L1a).

``kl_align`` outputs ``q_KL ∝ p·e^{r/λ}`` exactly when its planes ``ℓ_i ≤ f`` cover f within ε on all of
ℝ^k. Claims ``l1a.exact/…`` on four instances: ``|⟨a,x⟩|`` (two planes), a hinge
``max(0, s−0.5, 2.5s−2)`` on a mixture base, a log-sum-exp in k = 2 through its J pieces (``ε = τ log J``), and a
finite law. Exact laws: 1-D quadrature along the ridge (``estimators.exact.ridge_law``: S and every coordinate), a
Gaussian mixture (log-sum-exp with ``τ/λ = 2``: ``e^{f/λ}`` expands into ``J(J+1)/2`` tilts), softmax
enumeration (finite law). Checks: projection KS against DKW (Bonferroni over the projections), multinomial TV
for the finite law, n designed for a KS (TV) gap of ``FIT_GAP``.

The other parts of L1 live in their own modules (claim ids unchanged by the split):
``theorems.kl_net_clipping`` (L1a, planes valid on K only: ``TV ≤ q_KL(Ax ∉ K)``), ``theorems.kl_oracle_calls``
(L1b, the exact E[calls] as a k-dimensional Gaussian integral), ``theorems.kl_nonconvexity`` (L1c, the
``e^{−Δ/λ}`` cost of non-convexity), ``theorems.kl_laplace_mixtures`` and ``theorems.kl_partition_error`` (L1d),
``theorems.diffusion_tilt_oracle`` (P1, the linear-tilt oracle of a diffusion model).
"""
from __future__ import annotations

from functools import lru_cache, partial

import numpy as np
import sympy
import torch
from scipy.special import logsumexp

from estimators.multinomial_tv import min_num_samples_for_multinomial_tv_test
from estimators.projection_fit import multinomial_fit, min_num_samples_for_projection_ks_test
from estimators.exact.ridge_law import RidgeTiltedLaw
from primitives.kl_align import kl_align, plane_cover
from primitives.laws import Categorical, Gaussian, GaussianMixture
from primitives.planes import LogSumExpReward, MaxOfPlanes
from tiltproof.core.tractability_checks import fit_evidence, mixture_projections, ridge_projections, spd_matrix, claim_adder, variant_builder
from tiltproof.core.framework import CheckContext, Claim, Evidence, Mutant

MODULE = "linear_tilt_sufficiency"
FIT_GAP = 0.04            # KS gap every exactness check detects with probability ≥ 1 − β

EXACT = sympy.Integer(0)                                           # TV(output, q_KL) = 0


def _generator(context: CheckContext, stream: int = 0) -> torch.Generator:
    return context.generator(stream)


# ================================================================ L1a instances
@lru_cache(maxsize=None)
def abs_instance():
    rng = np.random.default_rng(4001)
    d = 5
    mean, cov, a = rng.normal(size=d), spd_matrix(rng, d), rng.normal(size=d) / 2
    base = Gaussian(mean, cov)
    reward = MaxOfPlanes(a[None, :], [[1.0], [-1.0]], [0.0, 0.0])
    return base, reward, 0.5


@lru_cache(maxsize=None)
def hinge_instance():
    rng = np.random.default_rng(4002)
    d = 3
    base = GaussianMixture([0.6, 0.4], rng.normal(scale=1.5, size=(2, d)), np.stack([spd_matrix(rng, d) for _ in range(2)]))
    a = rng.normal(size=d)
    reward = MaxOfPlanes(a[None, :], [[0.0], [1.0], [2.5]], [0.0, -0.5, -2.0])
    return base, reward, 1.0


def _planes_breakpoints(G: np.ndarray, c: np.ndarray) -> list[float]:
    points = []
    for i in range(len(c)):
        for j in range(i + 1, len(c)):
            if G[i, 0] != G[j, 0]:
                points.append((c[j] - c[i]) / (G[i, 0] - G[j, 0]))
    return points


def ridge_law_of(base, reward: MaxOfPlanes, lam_value: float) -> RidgeTiltedLaw:
    G, c = reward.G, reward.c
    g = lambda s: np.max(np.asarray(s)[..., None] * G[:, 0] + c, axis=-1) / lam_value
    return RidgeTiltedLaw(base, reward.A[0], g, float(np.abs(G).max()) / lam_value,
                          breakpoints=_planes_breakpoints(G, c))


@lru_cache(maxsize=None)
def lse_instance(laplace: bool):
    """Gaussian on ℝ⁴, k = 2, J = 3 pieces; τ = λ (Laplace route) or τ = 2λ (planes route, exact check)."""
    rng = np.random.default_rng(4003)
    d = 4
    base = Gaussian(rng.normal(size=d), spd_matrix(rng, d))
    A = rng.normal(size=(2, d)) / 2
    V = np.array([[1.0, 0.0], [-0.5, 0.8], [0.2, -1.0]])
    offsets = np.array([0.0, 0.3, -0.2])
    lam_value = 0.5
    reward = LogSumExpReward(A, V, offsets, temperature=lam_value if laplace else 2 * lam_value)
    return base, reward, lam_value


def lse_exact_law(base: Gaussian, reward: LogSumExpReward, lam_value: float):
    """``q_KL`` as a Gaussian mixture: expand ``(Σ_j e^{(⟨V_j,Ax⟩+b_j)/τ})^{τ/λ}`` and tilt each term."""
    mixture = reward.laplace_mixture(lam_value)
    mean, cov = base.mean.numpy(), base.cov.numpy()
    thetas = mixture.slopes @ reward.A
    log_w = mixture.log_coefficients + thetas @ mean + 0.5 * np.einsum("ti,ij,tj->t", thetas, cov, thetas)
    weights = np.exp(log_w - logsumexp(log_w))
    means = mean[None] + thetas @ cov
    return weights, means, np.repeat(cov[None], len(weights), axis=0)


@lru_cache(maxsize=None)
def categorical_instance():
    rng = np.random.default_rng(4004)
    base = Categorical(rng.dirichlet(np.ones(12)))
    reward = MaxOfPlanes([[1.0]], [[-0.8], [0.3], [1.2]], [2.0, -1.0, -8.0])
    return base, reward, 0.7


def categorical_exact(base: Categorical, reward: MaxOfPlanes, lam_value: float) -> np.ndarray:
    support = np.arange(base.size, dtype=float)
    f = np.max(support[:, None] * reward.G[:, 0] + reward.c, axis=1)
    scores = np.log(base.probs.numpy()) + f / lam_value
    return np.exp(scores - logsumexp(scores))


# ================================================================ L1a checks
def default_kl(base, reward, lam_value, **options):
    return lambda n, generator: kl_align(base, reward, lam_value, n, generator, **options)


def check_ridge_exact(instance, context: CheckContext, sampler=None) -> Evidence:
    base, reward, lam_value = instance()
    law = ridge_law_of(base, reward, lam_value)
    projections = ridge_projections(law, base.dim)
    n = min_num_samples_for_projection_ks_test(FIT_GAP, len(projections), alpha=context.alpha, beta=context.beta)
    draw = sampler(base.to(context.device), reward, lam_value) if sampler else default_kl(base.to(context.device), reward, lam_value)
    result = draw(n, _generator(context))
    return fit_evidence(result.samples, projections, context, claim="kl_align's output law q_KL",
                        details={"oracle_calls": result.oracle_calls, "planes": result.planes,
                                 "quadrature_relative_error": law.relative_error})


def check_lse_planes_exact(context: CheckContext, sampler=None) -> Evidence:
    base, reward, lam_value = lse_instance(False)
    weights, means, covs = lse_exact_law(base, reward, lam_value)
    directions = {f"x{j}": np.eye(base.dim)[j] for j in range(base.dim)}
    directions.update({f"Ax{i}": reward.A[i] for i in range(reward.k)})
    projections = mixture_projections(weights, means, covs, directions)
    n = min_num_samples_for_projection_ks_test(FIT_GAP, len(projections), alpha=context.alpha, beta=context.beta)
    draw = sampler(base.to(context.device), reward, lam_value) if sampler else default_kl(base.to(context.device), reward, lam_value, route="planes")
    result = draw(n, _generator(context))
    return fit_evidence(result.samples, projections, context, claim="kl_align (planes, ε = τ log J) output law q_KL",
                        details={"oracle_calls": result.oracle_calls, "epsilon": result.epsilon,
                                 "mixture_terms": len(weights)})


def check_categorical_exact(context: CheckContext, sampler=None) -> Evidence:
    base, reward, lam_value = categorical_instance()
    probabilities = categorical_exact(base, reward, lam_value)
    n = min_num_samples_for_multinomial_tv_test(FIT_GAP, probabilities, alpha=context.alpha, beta=context.beta)
    draw = sampler(base.to(context.device), reward, lam_value) if sampler else default_kl(base.to(context.device), reward, lam_value)
    result = draw(n, _generator(context))
    fit = multinomial_fit(result.samples[:, 0].round().cpu().numpy(), probabilities, context.alpha, context.beta)
    return Evidence(holds=not fit.rejected, statistic=fit.name, bound=fit.threshold, empirical=fit.statistic,
                    confidence_bound=fit.statistic, n=n, detectable_gap=fit.detectable_gap,
                    detectable_gap_units="TV over the 12 atoms (multinomial)", margin=fit.threshold - fit.statistic,
                    message="" if not fit.rejected else f"output differs from q_KL: TV {fit.statistic:.4g} > {fit.threshold:.4g}",
                    details={"oracle_calls": result.oracle_calls})

# ================================================================ registration
#: claim group → (units of its detectable gap, whether the check is deterministic)
_UNITS = {
    "l1a.exact": ("KS, max over the projections (KS ≤ TV); TV for the finite law", False),
}



def claims() -> list[Claim]:
    out: list[Claim] = []
    add = claim_adder(out, _UNITS, MODULE)
    exact_statement = r"\text{planes with } \varepsilon=0 \text{ on } \mathbb R^k \Rightarrow \text{output} \sim q_{KL} \propto p\,e^{r/\lambda}"
    add("l1a.exact/abs-linear-gauss-d5/lam=0.5", "L1a", "|⟨a,x⟩| sampled exactly", exact_statement, EXACT,
        r"$p=\mathcal N(\mu,\Sigma)$ on $\mathbb R^5$, $r=|\langle a,x\rangle|$, $\lambda=0.5$",
        partial(check_ridge_exact, abs_instance), {"lambda": 0.5})
    add("l1a.exact/hinge-gmm-d3/lam=1", "L1a", "hinge sampled exactly", exact_statement, EXACT,
        r"2-component GMM on $\mathbb R^3$, $r=\max(0,s-0.5,2.5s-2)$, $s=\langle a,x\rangle$, $\lambda=1$",
        partial(check_ridge_exact, hinge_instance), {"lambda": 1.0})
    add("l1a.exact/logsumexp-planes-gauss-d4/k=2,tau=1,lam=0.5", "L1a", "log-sum-exp by its pieces",
        r"\ell_j = \langle V_j, z\rangle + b_j,\ \varepsilon = \tau\log J \text{ on } \mathbb R^2 \Rightarrow \text{output} \sim q_{KL}",
        EXACT, r"$p=\mathcal N(\mu,\Sigma)$ on $\mathbb R^4$, $r=\tau\,\mathrm{LSE}((VAx+b)/\tau)$, $J=3$, $\tau=2\lambda=1$",
        check_lse_planes_exact, {"lambda": 0.5, "tau": 1.0})
    add("l1a.exact/hinge-categorical-k12/lam=0.7", "L1a", "finite law sampled exactly", exact_statement, EXACT,
        r"12-point law on $\{0,\dots,11\}$, $r=\max(2-0.8x, 0.3x-1, 1.2x-8)$, $\lambda=0.7$",
        check_categorical_exact, {"lambda": 0.7})
    return out


# ================================================================ wrong variants
_variant = variant_builder(lambda: claims())


def _dropped_plane_sampler(base, reward, lam_value):
    cover = plane_cover(reward).drop(1)
    return lambda n, generator: kl_align(base, reward, lam_value, n, generator, cover=cover, strict=False)


def _wrong_temperature_sampler(base, reward, lam_value):
    return lambda n, generator: kl_align(base, reward, 2 * lam_value, n, generator)


def mutants() -> list[Mutant]:
    return [
        Mutant("abs-plane-dropped", "L1a", "|⟨a,x⟩| sampled with the plane −s dropped",
               _variant("l1a.exact/abs-linear-gauss-d5/lam=0.5",
                        partial(check_ridge_exact, abs_instance, sampler=_dropped_plane_sampler), "plane-dropped")),
        Mutant("hinge-wrong-temperature", "L1a", "hinge aligned at 2λ, checked against q_KL at λ",
               _variant("l1a.exact/hinge-gmm-d3/lam=1",
                        partial(check_ridge_exact, hinge_instance, sampler=_wrong_temperature_sampler), "wrong-temperature")),
    ]


def proofs():
    """L1a's proof as data (``theorems/proofs/linear_tilt_sufficiency.py``; imported lazily: it imports this module)."""
    from theorems.proofs.linear_tilt_sufficiency import proofs as declared

    return declared()
