"""L1d: rewards whose ``e^{r/λ}`` is a mixture of tilts are sampled exactly with one oracle call per sample
(tractability spec, L1d).

* ``l1d.laplace_mixture`` — a log-sum-exp at ``τ = λ``: ``e^{LSE_λ(VAx+b)/λ} = Σ_j e^{(⟨V_j,Ax⟩+b_j)/λ}``, a finite
  mixture of tilts (the exact law: ``theorems.linear_tilt_sufficiency.lse_exact_law``);
* ``l1d.hubbard_stratonovich`` — ``½‖Lx‖²`` by ``e^{‖Lx‖²/(2λ)} = E_ξ e^{⟨ξ, Lx⟩/√λ}``, a Gaussian mixture of
  tilts (the exact law in closed form: ``hubbard_exact_law``).

Checks: projection KS against DKW (Bonferroni over the projections) and exactly one oracle call per sample.
Partition errors are in ``theorems.kl_partition_error``. (Split out of ``theorems.linear_tilt_sufficiency``;
claim ids unchanged.)
"""
from __future__ import annotations

import math
from functools import lru_cache, partial

import numpy as np
import torch
from scipy.special import logsumexp

from estimators.projection_fit import min_num_samples_for_projection_ks_test
from estimators.exact.ridge_law import mixture_components
from primitives.kl_align import KLAlignResult
from primitives.laws import GaussianMixture
from primitives.planes import SquaredNormReward
from primitives.tilt_oracle import ExactTiltOracle
from tiltproof.core.tractability_checks import fit_evidence, mixture_projections, spd_matrix, claim_adder, variant_builder
from tiltproof.core.framework import CheckContext, Claim, Evidence, Hypothesis, Mutant
from theorems.linear_tilt_sufficiency import EXACT, FIT_GAP, _generator, default_kl, lse_exact_law, lse_instance

MODULE = "kl_laplace_mixtures"


# ================================================================ L1d: Laplace mixtures
@lru_cache(maxsize=None)
def hubbard_instance():
    rng = np.random.default_rng(4006)
    d = 3
    base = GaussianMixture([0.7, 0.3], rng.normal(size=(2, d)), np.stack([spd_matrix(rng, d) * 0.6 for _ in range(2)]))
    L = rng.normal(size=(2, d)) * 0.5
    return base, SquaredNormReward(L), 1.5


def hubbard_exact_law(base: GaussianMixture, reward: SquaredNormReward, lam_value: float):
    """Each component ``N(μ, Σ)·e^{xᵀLᵀLx/(2λ)}`` is ``N(Σ'Σ⁻¹μ, Σ')``, ``Σ' = (Σ⁻¹ − LᵀL/λ)⁻¹``, with mass
    ``√(|Σ'|/|Σ|)·exp(½μᵀΣ⁻¹Σ'Σ⁻¹μ − ½μᵀΣ⁻¹μ)``."""
    log_weights, means, covs = mixture_components(base)
    quadratic = reward.L.T @ reward.L / lam_value
    out_w, out_m, out_c = [], [], []
    for log_weight, mean, cov in zip(log_weights, means, covs):
        precision = np.linalg.inv(cov)
        if np.linalg.eigvalsh(precision - quadratic).min() <= 1e-12:
            raise ValueError(f"lam={lam_value:g} is too small for ½‖Lx‖²: Σ⁻¹ − LᵀL/λ is not positive definite, so "
                             "E_p e^{r/λ} is infinite and q_KL does not exist")
        new_cov = np.linalg.inv(precision - quadratic)
        new_cov = 0.5 * (new_cov + new_cov.T)
        shift = precision @ mean
        new_mean = new_cov @ shift
        out_w.append(log_weight + 0.5 * (np.linalg.slogdet(new_cov)[1] - np.linalg.slogdet(cov)[1])
                     + 0.5 * shift @ new_mean - 0.5 * mean @ shift)
        out_m.append(new_mean)
        out_c.append(new_cov)
    out_w = np.array(out_w)
    return np.exp(out_w - logsumexp(out_w)), np.array(out_m), np.array(out_c)


def check_laplace_mixture(which: str, context: CheckContext, sampler=None) -> Evidence:
    if which == "lse":
        base, reward, lam_value = lse_instance(True)
        weights, means, covs = lse_exact_law(base, reward, lam_value)
        directions = {f"Ax{i}": reward.A[i] for i in range(reward.k)}
    else:
        base, reward, lam_value = hubbard_instance()
        weights, means, covs = hubbard_exact_law(base, reward, lam_value)
        directions = {f"Lx{i}": reward.L[i] for i in range(reward.k)}
    directions.update({f"x{j}": np.eye(base.dim)[j] for j in range(base.dim)})
    projections = mixture_projections(weights, means, covs, directions)
    n = min_num_samples_for_projection_ks_test(FIT_GAP, len(projections), alpha=context.alpha, beta=context.beta)
    draw = sampler(base.to(context.device), reward, lam_value) if sampler else default_kl(base.to(context.device), reward, lam_value)
    result = draw(n, _generator(context))
    calls_wrong = result.oracle_calls != n
    return fit_evidence(result.samples, projections, context, claim=f"the {result.route} route's law q_KL",
                        details={"route": result.route, "oracle_calls": result.oracle_calls},
                        also_fails=[f"an exact Laplace mixture must use one oracle call per sample, used "
                                    f"{result.oracle_calls} for {n}"] if calls_wrong else [])


# ================================================================ registration
#: claim group → (units of its detectable gap, whether the check is deterministic)
_UNITS = {
    "l1d.laplace_mixture": ("KS, max over the projections (KS ≤ TV)", False),
    "l1d.hubbard_stratonovich": ("KS, max over the projections (KS ≤ TV)", False),
}



def claims() -> list[Claim]:
    out: list[Claim] = []
    add = claim_adder(out, _UNITS, MODULE)
    add("l1d.laplace_mixture/logsumexp-gauss-d4/k=2,tau=lam=0.5", "L1d", "log-sum-exp as a mixture of tilts",
        r"e^{\mathrm{LSE}_\lambda(VAx+b)/\lambda} = \sum_j e^{(\langle V_j, Ax\rangle+b_j)/\lambda} \Rightarrow \text{exact, one call per sample}",
        EXACT, r"$p=\mathcal N(\mu,\Sigma)$ on $\mathbb R^4$, $J=3$, $\tau=\lambda=0.5$",
        partial(check_laplace_mixture, "lse"), {"lambda": 0.5})
    add("l1d.hubbard_stratonovich/half-sq-norm-gmm-d3/k=2,lam=1.5", "L1d", "½‖Lx‖² by Hubbard–Stratonovich",
        r"e^{\|Lx\|^2/(2\lambda)} = \mathbb E_{\xi\sim\mathcal N(0,I)} e^{\langle \xi, Lx\rangle/\sqrt\lambda} \Rightarrow \text{exact, one call per sample}",
        EXACT, r"2-component GMM on $\mathbb R^3$, $r=\tfrac12\|Lx\|^2$, $L\in\mathbb R^{2\times3}$, $\lambda=1.5$",
        partial(check_laplace_mixture, "hs"), {"lambda": 1.5},
        hypotheses=(Hypothesis(r"$I - L\Sigma_kL^\top/\lambda \succ 0$ (q_KL exists)", lambda: _hubbard_exists()),))
    return out


def _hubbard_exists() -> bool:
    base, reward, lam_value = hubbard_instance()
    _, _, covs = mixture_components(base)
    return all(np.linalg.eigvalsh(np.eye(reward.k) - reward.L @ cov @ reward.L.T / lam_value).min() > 0 for cov in covs)


# ================================================================ wrong variants
_variant = variant_builder(lambda: claims())


def _unweighted_hubbard_sampler(base, reward, lam_value):
    """ξ ~ N(0, I) without the Z(Lᵀξ/√λ) reweighting of the mixing law."""
    oracle = ExactTiltOracle(base)

    def draw(n, generator):
        xi = torch.randn(n, reward.k, generator=generator, dtype=torch.float64, device=base.device)
        thetas = xi @ torch.as_tensor(reward.L, device=base.device) / math.sqrt(lam_value)
        return KLAlignResult(oracle.sample_rows(thetas, generator), n, "hubbard-stratonovich (unweighted)", 1)
    return draw


def _unweighted_lse_sampler(base, reward, lam_value):
    """Laplace mixture drawn with its coefficients only (the Z(θ_t) factor forgotten)."""
    mixture = reward.laplace_mixture(lam_value)
    oracle = ExactTiltOracle(base)
    thetas = torch.as_tensor(mixture.slopes @ reward.A, device=base.device)

    def draw(n, generator):
        index = torch.multinomial(torch.softmax(torch.as_tensor(mixture.log_coefficients, device=base.device), 0), n,
                                  replacement=True,
                                  generator=generator)
        return KLAlignResult(oracle.sample_rows(thetas[index], generator), n, "laplace mixture (unweighted)",
                             thetas.shape[0])
    return draw


def mutants() -> list[Mutant]:
    return [
        Mutant("hubbard-unweighted", "L1d", "Hubbard–Stratonovich with ξ ~ N(0, I), Z(Lᵀξ/√λ) forgotten",
               _variant("l1d.hubbard_stratonovich/half-sq-norm-gmm-d3/k=2,lam=1.5",
                        partial(check_laplace_mixture, "hs", sampler=_unweighted_hubbard_sampler), "unweighted")),
        Mutant("logsumexp-unweighted", "L1d", "Laplace mixture drawn by its coefficients, Z(θ_t) forgotten",
               _variant("l1d.laplace_mixture/logsumexp-gauss-d4/k=2,tau=lam=0.5",
                        partial(check_laplace_mixture, "lse", sampler=_unweighted_lse_sampler), "unweighted")),
    ]


def proofs():
    """L1d's Laplace-mixture proof as data (``theorems/proofs/kl_laplace_mixtures.py``; imported lazily)."""
    from theorems.proofs.kl_laplace_mixtures import proofs as declared

    return declared()
