"""P1's proof as data (issue 22): the linear-tilt oracle of a diffusion model (``theorems.diffusion_tilt_oracle``).

Forward process ``X_t = α_t X_0 + σ_t ξ`` (``α_t = e^{−t}``, ``σ_t² = 1 − e^{−2t}``), tilted data law
``p_θ ∝ p·e^{⟨θ,x⟩}``, ``Z(θ) = E_p e^{⟨θ,X⟩}``. Steps:

1. ``complete_square`` — ``θx − (y − αx)²/(2σ²) = θy/α + σ²θ²/(2α²) − (y + σ²θ/α − αx)²/(2σ²)`` (symbolic, per
   coordinate: the noise is isotropic);
2. ``tilted_marginal`` — integrating 1 against ``p``: ``log p_{θ,t}(y) = ⟨θ,y⟩/α_t + σ_t²‖θ‖²/(2α_t²) +
   log p_t(y + σ_t²θ/α_t) − log Z(θ)`` (the tilted mixture's exact marginal against the shifted base marginal);
3. ``score_shift`` — its gradient: ``∇log p_{θ,t}(y) = θ/α_t + s_t(y + σ_t²θ/α_t)`` (autograd of the exact tilted
   marginal against ``tilted_score``);
4. ``telescoping`` — ``log Z(θ) = log(Z(θ_2)/Z(θ_1)) + log(Z(θ_1)/Z(θ_0))``, ``θ_0 = 0`` (symbolic, m = 2 as registered);
5. ``bridge_ratio`` — ``log Z(θ_j) − log Z(θ_{j−1}) = log E_{p_{θ_{j−1}}} e^{⟨θ_j − θ_{j−1}, X⟩}``;
6. ``flow_data_processing`` — ``TV(p̂_θ, p_θ) ≤ TV(N(0, I), p_{θ,T})`` (argued: one exact flow map for both laws);
7. ``tv_convexity`` — ``TV(N(0,I), Σ_k w_kN_k) ≤ Σ_k w_k TV(N(0,I), N_k)`` at time T (2-D quadrature);
8. ``pinsker`` — ``TV(N(0,I), N_k) ≤ √(KL(N_k‖N(0,I))/2)`` per component (2-D quadrature against the closed-form KL).

Instances: the registered ``gmm-diffusion-d2`` (θ = (0.8, −0.5); telescoping at 2θ); the search draws Gaussian
mixtures on ℝ² (one or two components), θ and the horizon T. Wrong steps: the query shift without its ``1/α_t``
(the module's ``_UnshiftedDiffusion``), killed on the instance; the shift's sign flipped in ``complete_square``,
killed symbolically.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import sympy
import torch

from tiltproof.proofs.checkers import at_worst_point
from tiltproof.proofs.model import Proof, ProofInstance, Sides, Step, WrongStep

__all__ = ["proofs", "DiffusionCase"]


TIMES = (0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 9.0)     # the registered instance's times (as its claim's check)
DRAWN_TIMES = (0.05, 1.0, 6.0)                  # drawn instances: three times, for the search's speed


@dataclass(frozen=True, eq=False)
class DiffusionCase:
    diffusion: object           # ExactScoreMixtureDiffusion
    theta: np.ndarray
    telescoping_theta: np.ndarray
    steps: int = 2
    times: tuple[float, ...] = TIMES
    cache: dict = field(default_factory=dict)


def _points(case: DiffusionCase, t: float, theta=None) -> torch.Tensor:
    generator = torch.Generator().manual_seed(int(1000 * t) + 7)
    return case.diffusion.marginal(t, theta).sample(40, generator)


def _tilted_marginal(instance):
    case: DiffusionCase = instance.payload
    diffusion, theta = case.diffusion, case.theta
    log_z = float(diffusion.mixture.log_partition(theta))
    lhs, rhs, scale = [], [], 0.0
    for t in case.times:
        a, s2 = diffusion.alpha(t), diffusion.sigma2(t)
        y = _points(case, t, theta)
        theta_t = torch.as_tensor(theta, dtype=y.dtype)
        lhs.append(diffusion.marginal(t, theta).log_prob(y).numpy())
        shifted = diffusion.marginal(t).log_prob(y + (s2 / a) * theta_t).numpy()
        terms = ((y @ theta_t).numpy() / a, s2 * float(theta @ theta) / (2 * a * a), shifted, -log_z)
        rhs.append(sum(terms))
        scale = max(scale, float(sum(np.abs(term).max() for term in terms)))
    # float64 rounding: at t = 9 the terms are ~1e7 (α_t = e^{−9}) and cancel to ~5; allow 64 ulp of their size
    return Sides(np.concatenate(lhs), np.concatenate(rhs), 64 * np.finfo(float).eps * scale + 1e-12)


def _score_shift(instance, cls=None):
    case: DiffusionCase = instance.payload
    diffusion = case.diffusion
    if cls is not None:
        diffusion = cls(diffusion.mixture, horizon=diffusion.horizon, steps=diffusion.steps)
    lhs, rhs = [], []
    for t in case.times:
        marginal = diffusion.marginal(t, case.theta)
        y = _points(case, t, case.theta).requires_grad_(True)
        lhs.append(torch.autograd.grad(marginal.log_prob(y).sum(), y)[0].numpy().reshape(-1))
        rhs.append(diffusion.tilted_score(y.detach(), t, torch.as_tensor(case.theta, dtype=y.dtype)).numpy().reshape(-1))
    lhs, rhs = np.concatenate(lhs), np.concatenate(rhs)
    return Sides(lhs, rhs, 1e-8 * (1 + float(np.abs(lhs).max())))


def _bridge_ratio(instance):
    case: DiffusionCase = instance.payload
    mixture = case.diffusion.mixture
    lhs, rhs = [], []
    for j in range(1, case.steps + 1):
        below, above = case.telescoping_theta * (j - 1) / case.steps, case.telescoping_theta * j / case.steps
        lhs.append(float(mixture.log_partition(above)) - float(mixture.log_partition(below)))
        rhs.append(float(mixture.tilt(below).log_partition(above - below)))
    return Sides(np.array(lhs), np.array(rhs), 1e-10)


def _tv_quantities(case: DiffusionCase) -> dict:
    """At the horizon T: TV(N(0,I), p_{θ,T}) and per component TV and √(KL/2), by quadrature on a 2-D grid."""
    if "tv" not in case.cache:
        law = case.diffusion.marginal(case.diffusion.horizon, case.theta)
        axis = np.linspace(-9, 9, 361)
        grid = torch.as_tensor(np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2))
        cell = (axis[1] - axis[0]) ** 2
        standard = np.exp(-0.5 * (grid**2).sum(1).numpy()) / (2 * math.pi)
        weights = law.weights.numpy()
        component_tv, pinsker, mixture_density = [], [], np.zeros_like(standard)
        for w, mean, cov in zip(weights, law.means, law.covs):
            precision = torch.linalg.inv(cov)
            centred = grid - mean
            density = np.exp(-0.5 * torch.einsum("ni,ij,nj->n", centred, precision, centred).numpy()) / (
                2 * math.pi * math.sqrt(float(torch.det(cov))))
            mixture_density += w * density
            component_tv.append(0.5 * float(np.abs(density - standard).sum()) * cell)
            kl = 0.5 * (float(torch.trace(cov)) + float(mean @ mean) - 2 - float(torch.logdet(cov)))
            pinsker.append(math.sqrt(max(kl, 0.0) / 2))
        mixture_tv = 0.5 * float(np.abs(mixture_density - standard).sum()) * cell
        case.cache["tv"] = {"mixture": mixture_tv, "components": np.array(component_tv), "pinsker": np.array(pinsker),
                            "weights": weights}
    return case.cache["tv"]


def _tv_convexity(instance):
    v = _tv_quantities(instance.payload)
    return Sides(v["mixture"], float(v["weights"] @ v["components"]), 1e-9)


def _pinsker(instance):
    v = _tv_quantities(instance.payload)
    return Sides(v["components"], v["pinsker"], 1e-9)


def _square_sides(sign: int = 1) -> tuple[sympy.Expr, sympy.Expr]:
    theta, x, y = sympy.symbols("theta x y", real=True)
    a, s2 = sympy.symbols("alpha sigma2", positive=True)
    lhs = theta * x - (y - a * x) ** 2 / (2 * s2)
    rhs = theta * y / a + s2 * theta**2 / (2 * a**2) - (y + sign * s2 * theta / a - a * x) ** 2 / (2 * s2)
    return lhs, rhs


def _telescoping_sides() -> tuple[sympy.Expr, sympy.Expr]:
    z1, z2 = sympy.symbols("Z_1 Z_2", positive=True)
    return sympy.log(z2), sympy.log(z2 / z1) + sympy.log(z1 / 1)


def _steps(square_sign: int = 1, score=_score_shift) -> tuple[Step, ...]:
    square = _square_sides(square_sign)
    telescoping = _telescoping_sides()
    return (
        Step("complete_square", r"\theta x-\frac{(y-\alpha x)^2}{2\sigma^2} = \frac{\theta y}{\alpha}+\frac{\sigma^2\theta^2}{2\alpha^2}-\frac{(y+\sigma^2\theta/\alpha-\alpha x)^2}{2\sigma^2}",
             "=", "algebra", lhs=square[0], rhs=square[1],
             domain={"theta": (-2.0, 2.0), "x": (-3.0, 3.0), "y": (-3.0, 3.0), "alpha": (0.05, 1.0), "sigma2": (0.05, 1.0)}),
        Step("tilted_marginal", r"\log p_{\theta,t}(y) = \frac{\langle\theta,y\rangle}{\alpha_t}+\frac{\sigma_t^2\|\theta\|^2}{2\alpha_t^2}+\log p_t\big(y+\tfrac{\sigma_t^2}{\alpha_t}\theta\big)-\log Z(\theta)",
             "=", "identity", numeric=at_worst_point("=", _tilted_marginal),
             text="Multiply step 1 by $p(x)$ and integrate over $x$."),
        Step("score_shift", r"\nabla\log p_{\theta,t}(y) = \theta/\alpha_t+s_t\big(y+\tfrac{\sigma_t^2}{\alpha_t}\theta\big)", "=",
             "calculus", numeric=at_worst_point("=", score)),
        Step("telescoping", r"\log Z(\theta) = \sum_{j=1}^{m}\log\frac{Z(\theta_j)}{Z(\theta_{j-1})},\ \theta_0=0", "=",
             "telescoping", lhs=telescoping[0], rhs=telescoping[1]),
        Step("bridge_ratio", r"\log\frac{Z(\theta_j)}{Z(\theta_{j-1})} = \log\mathbb E_{p_{\theta_{j-1}}}e^{\langle\theta_j-\theta_{j-1},X\rangle}",
             "=", "change of measure", numeric=_bridge_ratio),
        Step("flow_data_processing", r"\mathrm{TV}(\hat p_\theta, p_\theta) \le \mathrm{TV}(\mathcal N(0,I), p_{\theta,T})", "≤",
             "data processing",
             argued="the exact probability-flow map of the tilted model carries p_{θ,T} to p_θ and N(0, I) to the "
                    "sampler's law; one measurable map applied to two laws cannot increase their TV. The map is an "
                    "ODE flow, not exactly computable here; the RK4 error is bounded separately by step doubling"),
        Step("tv_convexity", r"\mathrm{TV}\big(\mathcal N(0,I),\textstyle\sum_kw_kN_k\big) \le \sum_kw_k\,\mathrm{TV}(\mathcal N(0,I),N_k)",
             "≤", "convexity", numeric=_tv_convexity),
        Step("pinsker", r"\mathrm{TV}(\mathcal N(0,I),N_k) \le \sqrt{\mathrm{KL}(N_k\,\|\,\mathcal N(0,I))/2}", "≤", "Pinsker",
             numeric=_pinsker),
    )


@lru_cache(maxsize=None)
def _registered() -> ProofInstance:
    from theorems.diffusion_tilt_oracle import TELESCOPING_SCALE, TELESCOPING_STEPS, diffusion_instance

    diffusion, theta = diffusion_instance()
    case = DiffusionCase(diffusion, theta, TELESCOPING_SCALE * theta, TELESCOPING_STEPS)
    return ProofInstance("gmm-diffusion-d2", {"theta_1": float(theta[0]), "theta_2": float(theta[1]),
                                              "T": diffusion.horizon}, case)


def _strategy():
    from hypothesis import strategies as st

    from primitives.laws import GaussianMixture
    from primitives.score_tilt import ExactScoreMixtureDiffusion

    component = st.tuples(st.floats(-2.0, 2.0), st.floats(-2.0, 2.0), st.floats(0.3, 1.5), st.floats(0.3, 1.5),
                          st.floats(-0.5, 0.5))

    def build(components, weight, theta1, theta2, horizon):
        means = [[c[0], c[1]] for c in components]
        covs = []
        for c in components:
            off = c[4] * math.sqrt(c[2] * c[3])
            covs.append([[c[2], off], [off, c[3]]])
        weights = [weight, 1 - weight][:len(components)]
        mixture = GaussianMixture(np.array(weights) / sum(weights), means, covs)
        theta = np.array([theta1, theta2])
        case = DiffusionCase(ExactScoreMixtureDiffusion(mixture, horizon=horizon, steps=8), theta, 2 * theta, 2,
                             DRAWN_TIMES)
        return ProofInstance(f"gmm-K{len(components)}/theta=({theta1:.3g},{theta2:.3g}),T={horizon:.3g}",
                             {"theta_1": theta1, "theta_2": theta2, "T": horizon}, case)

    return st.builds(build, st.lists(component, min_size=1, max_size=2), st.floats(0.2, 0.8), st.floats(-1.0, 1.0),
                     st.floats(-1.0, 1.0), st.floats(0.5, 10.0))


def proofs() -> list[Proof]:
    from theorems.diffusion_tilt_oracle import _UnshiftedDiffusion

    missing_alpha = _steps(score=lambda inst: _score_shift(inst, cls=_UnshiftedDiffusion))[2]
    missing_alpha = Step(missing_alpha.name, r"\nabla\log p_{\theta,t}(y) = \theta/\alpha_t+s_t\big(y+\sigma_t^2\theta\big)",
                         "=", missing_alpha.justification, numeric=missing_alpha.numeric)
    return [Proof(
        id="p1.diffusion_tilt_oracle", theorem="P1", title="the query-shift score is the tilted score; telescoping log Z",
        statement=r"\nabla\log p_{\theta,t}(y) = \theta/\alpha_t + s_t\!\left(y + \tfrac{\sigma_t^2}{\alpha_t}\theta\right),\quad \log Z(\theta) = \sum_j \log \mathbb E_{p_{\theta_{j-1}}} e^{\langle\theta_j-\theta_{j-1},X\rangle}",
        steps=_steps(), instances=lambda: [_registered()], strategy=_strategy,
        hypotheses=(r"forward process $X_t=\alpha_tX_0+\sigma_t\xi$, $\xi\sim\mathcal N(0,I)$", r"$Z(\theta)<\infty$"),
        source="theorems/diffusion_tilt_oracle.py, primitives/score_tilt.py (docstrings)",
        wrong_steps=(
            WrongStep("missing-alpha", "score_shift", missing_alpha, "query shifted by σ_t²θ (the 1/α_t dropped)",
                      instance="gmm-diffusion-d2"),
            WrongStep("shift-sign", "complete_square", _steps(square_sign=-1)[0], "the query shift's sign flipped"),
        ))]
