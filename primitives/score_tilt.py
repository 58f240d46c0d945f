"""Tilting a diffusion model by a score query-shift, on a Gaussian-mixture model with exact score.

Forward process (Ornstein–Uhlenbeck): ``X_t = α_t X_0 + σ_t ξ`` with ``α_t = e^{−t}``,
``σ_t² = 1 − e^{−2t}``. For ``X_0 ~ Σ_k π_k N(μ_k, Σ_k)`` the marginal is the mixture
``p_t = Σ_k π_k N(α_t μ_k, α_t²Σ_k + σ_t² I)``, so its score ``s_t = ∇ log p_t`` is exact.

**Query-shift (tractability spec, Primitive 1).** The forward marginal of the tilt
``p_θ ∝ p_0 e^{⟨θ,x⟩}`` has score ``θ/α_t + s_t(y + (σ_t²/α_t) θ)``: completing the square,
``e^{⟨θ,x⟩} N(y; α_t x, σ_t² I) = N(y + σ_t²θ/α_t; α_t x, σ_t² I)·e^{⟨θ,y⟩/α_t + σ_t²‖θ‖²/(2α_t²)}``,
so ``p_{θ,t}(y) ∝ p_t(y + σ_t²θ/α_t)·e^{⟨θ,y⟩/α_t}``. Sampling ``p_θ`` therefore needs only queries of
the *base* score at shifted points. ``tilted_score`` implements it; ``marginal(t, theta)`` gives the
exact tilted marginal (an independent route the claims compare it with).

**Sampler.** The probability-flow ODE ``dy/dt = −y − s_t(y)`` integrated from ``t = T`` down to 0 by
classical RK4 on the grid ``t_j = T (j/N)²`` (finer near the data), started at ``N(0, I)``. The flow
maps ``p_{θ,T}`` exactly onto ``p_θ``; starting at ``N(0, I)`` instead costs at most
``TV(N(0, I), p_{θ,T})`` (data processing), which ``initial_tv_bound`` bounds by Pinsker per component
(``TV(Σ w_k P_k, Q) ≤ Σ w_k √(KL(P_k‖Q)/2)``, Gaussian KL in closed form). The RK4 error is estimated by
step doubling: ``sample(..., return_error=True)`` also returns the largest distance between the N-step
and the 2N-step solutions of the same starting points (the 2N-step one is returned).
"""
from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np
import torch

from primitives._checks import check_positive
from primitives.laws import GaussianMixture, Gaussian
from primitives.tilt_oracle import as_thetas

__all__ = ["ExactScoreMixtureDiffusion", "ScoreTiltOracle"]


@contextmanager
def _single_thread(device: torch.device):
    """The flow is a long chain of small tensor operations; on CPU, intra-op threads cost more than they
    gain (several times slower on a loaded machine), so it runs on one thread, restored afterwards."""
    if device.type != "cpu":
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class ExactScoreMixtureDiffusion:
    """A diffusion model whose data law is a Gaussian mixture, so that its score is exact."""

    def __init__(self, mixture: GaussianMixture | Gaussian, *, horizon: float = 10.0, steps: int = 32) -> None:
        if isinstance(mixture, Gaussian):
            mixture = GaussianMixture([1.0], mixture.mean[None], mixture.cov[None], device=mixture.device,
                                      dtype=mixture.dtype)
        if not isinstance(mixture, GaussianMixture):
            raise ValueError(f"mixture must be a GaussianMixture or Gaussian, got {mixture!r}")
        self.mixture = mixture
        self.horizon = check_positive("horizon", horizon)
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
            raise ValueError(f"steps must be an integer ≥ 2, got {steps!r}")
        self.steps = steps
        self.dim = mixture.dim
        self.device = mixture.device
        self.dtype = mixture.dtype
        self._eye = torch.eye(self.dim, dtype=self.dtype, device=self.device)
        self._log_weights = torch.log(self.mixture.weights)
        self._cache: dict[float, tuple[torch.Tensor, torch.Tensor]] = {}

    # ------------------------------------------------------------------ schedule and marginals
    @staticmethod
    def alpha(t: float) -> float:
        return math.exp(-t)

    @staticmethod
    def sigma2(t: float) -> float:
        return -math.expm1(-2.0 * t)

    def marginal(self, t: float, theta=None) -> GaussianMixture:
        """Exact law of ``X_t`` (of the tilted model ``p_θ`` when ``theta`` is given)."""
        law = self.mixture if theta is None else self.mixture.tilt(theta)
        a, s2 = self.alpha(t), self.sigma2(t)
        return GaussianMixture(law.weights, a * law.means, a * a * law.covs + s2 * self._eye,
                               device=self.device, dtype=self.dtype)

    def score(self, y: torch.Tensor, t: float) -> torch.Tensor:
        """Exact ``∇ log p_t(y)`` for a batch ``y`` of shape ``(n, d)``."""
        precisions, log_dets = self._precisions(t)                              # (K, d, d), (K,)
        centred = y[:, None, :] - self.alpha(t) * self.mixture.means[None]      # (n, K, d)
        solved = torch.einsum("kij,nkj->nki", precisions, centred)              # C_k⁻¹(y − α_tμ_k)
        log_component = self._log_weights - 0.5 * (centred * solved).sum(-1) - 0.5 * log_dets
        responsibilities = torch.softmax(log_component, dim=-1)                 # (n, K)
        return -(responsibilities[..., None] * solved).sum(1)

    def _precisions(self, t: float) -> tuple[torch.Tensor, torch.Tensor]:
        """``C_k⁻¹`` and ``log|C_k|`` for ``C_k = α_t²Σ_k + σ_t²I`` (tiny d×d matrices, cached per t)."""
        cached = self._cache.get(t)
        if cached is None:
            a, s2 = self.alpha(t), self.sigma2(t)
            covs = a * a * self.mixture.covs + s2 * self._eye
            factors = torch.linalg.cholesky(covs)
            eye = self._eye.expand_as(covs)
            precisions = torch.cholesky_solve(eye, factors)
            log_dets = 2.0 * torch.log(torch.diagonal(factors, dim1=-2, dim2=-1)).sum(-1)
            cached = (0.5 * (precisions + precisions.transpose(-1, -2)), log_dets)
            if len(self._cache) < 4096:
                self._cache[t] = cached
        return cached

    def tilted_score(self, y: torch.Tensor, t: float, theta: torch.Tensor) -> torch.Tensor:
        """Score of the tilted model's marginal by the query-shift ``θ/α_t + s_t(y + σ_t²θ/α_t)``.

        ``theta`` is one vector ``(d,)`` or one per row ``(n, d)``.
        """
        a, s2 = self.alpha(t), self.sigma2(t)
        return theta / a + self.score(y + (s2 / a) * theta, t)

    # ------------------------------------------------------------------ sampling
    def time_grid(self, steps: int) -> list[float]:
        return [self.horizon * (j / steps) ** 2 for j in range(steps, -1, -1)]

    def _flow(self, start: torch.Tensor, steps: int, theta: torch.Tensor | None) -> torch.Tensor:
        def velocity(y: torch.Tensor, t: float) -> torch.Tensor:
            score = self.score(y, t) if theta is None else self.tilted_score(y, t, theta)
            return -y - score

        grid = self.time_grid(steps)
        y = start
        for t_from, t_to in zip(grid[:-1], grid[1:]):
            h = t_to - t_from  # negative: integrating backwards in time
            middle = 0.5 * (t_from + t_to)
            k1 = velocity(y, t_from)
            k2 = velocity(y + 0.5 * h * k1, middle)
            k3 = velocity(y + 0.5 * h * k2, middle)
            k4 = velocity(y + h * k3, t_to)
            y = y + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
        return y

    def sample(self, n: int, generator: torch.Generator | None = None, theta=None, *,
               return_error: bool = False):
        """``n`` samples of ``p`` (or of ``p_θ`` via the query-shifted score); ``theta`` is ``(d,)`` or ``(n, d)``.

        With ``return_error`` returns ``(samples, displacement)``: the largest distance between the
        ``steps``-step and ``2·steps``-step RK4 solutions (the latter is returned).
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        theta_t = None
        if theta is not None:
            theta_t = as_thetas("theta", theta, self.dim, self.dtype, self.device)
            if theta_t.shape[0] not in (1, n):
                raise ValueError(f"theta must have shape ({self.dim},) or ({n}, {self.dim}), got {tuple(theta_t.shape)}")
        start = torch.randn(int(n), self.dim, generator=generator, dtype=self.dtype, device=self.device)
        with _single_thread(self.device):
            fine = self._flow(start, 2 * self.steps, theta_t)
            if not return_error:
                return fine
            coarse = self._flow(start, self.steps, theta_t)
        displacement = float(torch.linalg.norm(fine - coarse, dim=-1).max()) if n > 0 else 0.0
        return fine, displacement

    def initial_tv_bound(self, theta=None) -> float:
        """Upper bound on ``TV(N(0, I), p_{θ,T})`` (Pinsker per mixture component, convexity of TV)."""
        law = self.marginal(self.horizon, theta)
        d = self.dim
        total = 0.0
        for weight, mean, cov in zip(law.weights.tolist(), law.means, law.covs):
            log_det = float(torch.logdet(cov))
            kl = 0.5 * (float(torch.trace(cov)) + float(mean @ mean) - d - log_det)
            total += weight * math.sqrt(max(kl, 0.0) / 2.0)
        return min(total, 1.0)


class ScoreTiltOracle:
    """Linear-tilt oracle of a diffusion model: draws of ``p_θ`` by the query-shifted score.

    One call = one sample (one ODE trajectory). There is no exact ``log_partition``: estimate it with
    ``estimators.bridge_log_partition.telescoping_log_partition(oracle, θ)``, which widens its interval by this
    oracle's ``tv_bound(θ_j)`` (initial-law TV) and its step-doubling ``max_displacement``.
    """

    def __init__(self, diffusion: ExactScoreMixtureDiffusion) -> None:
        if not isinstance(diffusion, ExactScoreMixtureDiffusion):
            raise ValueError(f"diffusion must be an ExactScoreMixtureDiffusion, got {diffusion!r}")
        self.diffusion = diffusion
        self.dim = diffusion.dim
        self.device = diffusion.device
        self.dtype = diffusion.dtype
        self.calls = 0
        self.last_displacement = 0.0
        self.max_displacement = 0.0

    def tv_bound(self, theta) -> float:
        """Bound on TV(sampler law, p_θ) from the initial law (the RK4 error is reported separately)."""
        theta_np = theta.detach().cpu().numpy() if isinstance(theta, torch.Tensor) else np.asarray(theta, dtype=float)
        return self.diffusion.initial_tv_bound(theta_np.reshape(-1))

    def sample_rows(self, thetas, generator: torch.Generator | None = None) -> torch.Tensor:
        thetas = as_thetas("thetas", thetas, self.dim, self.dtype, self.device)
        self.calls += thetas.shape[0]
        samples, displacement = self.diffusion.sample(thetas.shape[0], generator, thetas, return_error=True)
        self.last_displacement = displacement
        self.max_displacement = max(self.max_displacement, displacement)
        return samples

    def __repr__(self) -> str:
        return f"ScoreTiltOracle(d={self.dim}, calls={self.calls})"
