"""L1d's exact Laplace mixtures as a proof (issue 22; ``theorems.kl_laplace_mixtures``): rewards whose ``e^{r/λ}`` is a
mixture of tilts are sampled exactly, one oracle call per sample.

1. ``lse_expand`` — ``e^{λ·LSE(u/λ)/λ} = Σ_j e^{u_j/λ}`` (symbolic, J = 3): a log-sum-exp at τ = λ is a finite sum of
   linear exponents ``u_j = ⟨V_j, Ax⟩ + b_j``;
2. ``lse_mixture_law`` — hence ``q_KL ∝ p·Σ_j e^{u_j/λ} = Σ_j (W_j/ΣW) p_{θ_j}``: the module's exact mixture law
   against ``log p + f/λ`` pointwise (their difference is a constant: the log-partition);
3. ``hs_identity`` — ``e^{a²/(2λ)} = E_{ξ~N(0,1)} e^{ξa/√λ}`` (symbolic Gaussian integral; per coordinate of Lx);
4. ``hs_exists`` — ``λ_min(I − LΣ_kLᵀ/λ) ≥ 0`` for every component (the hypothesis under which q_KL exists);
5. ``hs_mixture_law`` — hence ``q_KL`` for ``½‖Lx‖²`` is the module's Gaussian mixture (pointwise, as in 2).

Instances: the registered ``logsumexp-gauss-d4/k=2,tau=lam=0.5`` and ``half-sq-norm-gmm-d3/k=2,lam=1.5``; the
search draws Gaussian bases on ℝ² or ℝ³ with random V, b, L (scaled so that q_KL exists) and λ. Wrong step: the
mixture drawn by its coefficients with ``Z(θ_j)`` forgotten (the module's ``logsumexp-unweighted`` mutant), killed
at ``lse_mixture_law`` on the registered instance.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy
import torch
from scipy.special import logsumexp

from tiltproof.proofs.checkers import at_worst_point
from tiltproof.proofs.model import Proof, ProofInstance, Sides, Step, WrongStep

__all__ = ["proofs"]


@dataclass(frozen=True, eq=False)
class MixtureCase:
    kind: str          # "lse" or "hs"
    base: object       # Gaussian or GaussianMixture
    reward: object     # LogSumExpReward (τ = λ) or SquaredNormReward
    lam: float
    points: np.ndarray


def _log_mixture(weights, means, covs, x: np.ndarray) -> np.ndarray:
    from primitives.laws import GaussianMixture

    law = GaussianMixture(weights, means, covs)
    return law.log_prob(torch.as_tensor(x)).numpy()


def _lse_law(case: MixtureCase, unweighted: bool = False):
    from theorems.linear_tilt_sufficiency import lse_exact_law

    weights, means, covs = lse_exact_law(case.base, case.reward, case.lam)
    if unweighted:       # coefficients only: e^{b_j/λ} without Z(θ_j)
        mixture = case.reward.laplace_mixture(case.lam)
        log_w = mixture.log_coefficients
        weights = np.exp(log_w - logsumexp(log_w))
    return weights, means, covs


def _reward_over_lam(case: MixtureCase, x: np.ndarray) -> np.ndarray:
    return case.reward(torch.as_tensor(x)).numpy() / case.lam


def _pointwise(case: MixtureCase, law) -> Sides:
    x = case.points
    difference = case.base.log_prob(torch.as_tensor(x)).numpy() + _reward_over_lam(case, x) - _log_mixture(*law, x)
    return Sides(difference, np.full(difference.shape, float(np.mean(difference))),
                 1e-9 * (1 + float(np.abs(difference).max())))


def _lse_mixture_law(instance, unweighted: bool = False):
    case = instance.payload
    if case.kind != "lse":
        return None
    return _pointwise(case, _lse_law(case, unweighted))


def _hs_mixture_law(instance):
    case = instance.payload
    if case.kind != "hs":
        return None
    from theorems.kl_laplace_mixtures import hubbard_exact_law

    return _pointwise(case, hubbard_exact_law(case.base, case.reward, case.lam))


def _hs_exists(instance):
    case = instance.payload
    if case.kind != "hs":
        return None
    from estimators.exact.ridge_law import mixture_components

    _, _, covs = mixture_components(case.base)
    L = case.reward.L
    smallest = min(float(np.linalg.eigvalsh(np.eye(L.shape[0]) - L @ c @ L.T / case.lam).min()) for c in covs)
    return Sides(smallest, 0.0)


def _symbolic():
    lam = sympy.Symbol("lambda", positive=True)
    u = sympy.symbols("u1:4", real=True)
    expansion = sum(sympy.exp(x / lam) for x in u)
    lse = (sympy.exp(lam * sympy.log(expansion) / lam), expansion)
    xi, a = sympy.Symbol("xi", real=True), sympy.Symbol("a", real=True)
    integral = sympy.Integral(sympy.exp(xi * a / sympy.sqrt(lam)) * sympy.exp(-xi**2 / 2) / sympy.sqrt(2 * sympy.pi),
                              (xi, -sympy.oo, sympy.oo))
    return lse, (sympy.exp(a**2 / (2 * lam)), integral)


def _steps(lse_law=_lse_mixture_law) -> tuple[Step, ...]:
    lse, hs = _symbolic()
    return (
        Step("lse_expand", r"e^{\lambda\,\mathrm{LSE}(u/\lambda)/\lambda} = \sum_j e^{u_j/\lambda}", "=", "identity",
             lhs=lse[0], rhs=lse[1]),
        Step("lse_mixture_law", r"\log p + f/\lambda - \log\sum_j\tfrac{W_j}{\sum_iW_i}p_{\theta_j} = \text{const}", "=",
             "change of measure", numeric=at_worst_point("=", lse_law), text="$p\\,e^{u_j/\\lambda} = e^{b_j/\\lambda}Z(\\theta_j)\\,p_{\\theta_j}$."),
        Step("hs_identity", r"e^{a^2/(2\lambda)} = \mathbb E_{\xi\sim\mathcal N(0,1)}e^{\xi a/\sqrt\lambda}", "=", "identity",
             lhs=hs[0], rhs=hs[1]),
        Step("hs_exists", r"\lambda_{\min}(I-L\Sigma_kL^\top/\lambda) \ge 0", "≥", "hypothesis", numeric=_hs_exists),
        Step("hs_mixture_law", r"\log p + \tfrac{\|Lx\|^2}{2\lambda} - \log q_{\mathrm{mixture}} = \text{const}", "=",
             "change of measure", numeric=at_worst_point("=", _hs_mixture_law)),
    )


@lru_cache(maxsize=None)
def _registered() -> tuple[ProofInstance, ...]:
    from theorems.kl_laplace_mixtures import hubbard_instance
    from theorems.linear_tilt_sufficiency import lse_instance

    rng = np.random.default_rng(26)
    base, reward, lam = lse_instance(True)
    lse = MixtureCase("lse", base, reward, lam, rng.normal(size=(50, base.dim)) * 2)
    base2, reward2, lam2 = hubbard_instance()
    hs = MixtureCase("hs", base2, reward2, lam2, rng.normal(size=(50, base2.dim)) * 2)
    return (ProofInstance("logsumexp-gauss-d4/k=2,tau=lam=0.5", {"lambda": lam}, lse),
            ProofInstance("half-sq-norm-gmm-d3/k=2,lam=1.5", {"lambda": lam2}, hs))


def _strategy():
    from hypothesis import strategies as st

    from primitives.laws import Gaussian
    from primitives.planes import LogSumExpReward, SquaredNormReward

    def build(kind, d, lam, seed):
        rng = np.random.default_rng(seed)
        factor = rng.normal(size=(d, d))
        base = Gaussian(rng.normal(size=d), factor @ factor.T / d + 0.4 * np.eye(d))
        points = rng.normal(size=(20, d)) * 2
        if kind == "lse":
            reward = LogSumExpReward(rng.normal(size=(2, d)) / 2, rng.normal(size=(3, 2)), rng.normal(size=3) / 2,
                                     temperature=lam)
        else:
            L = rng.normal(size=(2, d))
            top = float(np.linalg.eigvalsh(L @ base.cov.numpy() @ L.T).max())
            reward = SquaredNormReward(L * np.sqrt(0.8 * lam / top))     # LΣLᵀ/λ ≤ 0.8 I: q_KL exists
        return ProofInstance(f"{kind}-gauss-d{d}/lam={lam:.3g},seed={seed}", {"lambda": lam},
                             MixtureCase(kind, base, reward, lam, points))
    return st.builds(build, st.sampled_from(["lse", "hs"]), st.integers(2, 3), st.floats(0.3, 2.0),
                     st.integers(0, 2**16))


def proofs() -> list[Proof]:
    unweighted = _steps(lse_law=lambda inst: _lse_mixture_law(inst, unweighted=True))[1]
    return [Proof(
        id="l1d.laplace_mixtures", theorem="L1d", title="rewards whose e^{r/λ} is a mixture of tilts are sampled exactly",
        statement=r"e^{r/\lambda} = \textstyle\int e^{\langle\theta,x\rangle}\,\mu(d\theta) \Rightarrow q_{KL} = \int \tfrac{Z(\theta)\mu(d\theta)}{\int Z\,d\mu}\,p_\theta \text{ (one oracle call per sample)}",
        steps=_steps(), instances=lambda: list(_registered()), strategy=_strategy,
        hypotheses=(r"$r=\lambda\,\mathrm{LSE}((VAx+b)/\lambda)$ or $r=\tfrac12\|Lx\|^2$ with $I-L\Sigma_kL^\top/\lambda\succ0$",),
        source="theorems/kl_laplace_mixtures.py, primitives/kl_align.py (docstrings)",
        wrong_steps=(WrongStep("unweighted", "lse_mixture_law", unweighted,
                               "the mixture drawn by its coefficients, Z(θ_j) forgotten",
                               instance="logsumexp-gauss-d4/k=2,tau=lam=0.5"),))]
