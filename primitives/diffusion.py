"""Diffusion chains used only through their transition kernels (LCB spec, "Diffusion chains").

A chain is ``p(x_{0:T}) = p_T(x_T) Π_t p_t(x_t | x_{t+1})``. The samplers see it through ONE black-box
interface, ``ChainKernel``:

* ``sample_prior(n, generator)``: n draws of ``x_T ~ p_T``, shape ``(n, *state_shape)``;
* ``sample_children(parents, t, n_children, generator)``: for each parent ``y = x_{t+1}``,
  ``n_children`` independent draws of ``x_t ~ p_t(· | y)``, shape ``(m, n_children, *state_shape)``.

A real diffusion model implements these two calls (its sampler step), and nothing else is used by the
samplers. ``CountingKernel`` wraps any kernel, checks the shapes it returns and counts every draw.

``GaussianMixtureDiffusion`` is the exactly computable instance: data ``x_0 ~ Σ_k π_k N(μ_k, Σ_k)``,
forward ``x_{t+1} = √α_t x_t + √(1−α_t) ξ``. With ``ᾱ_t = Π_{s<t} α_s`` each component is jointly
Gaussian in ``(x_0, …, x_T)``: ``x_t | k ~ N(√ᾱ_t μ_k, S_t^k)``, ``S_t^k = ᾱ_t Σ_k + (1−ᾱ_t) I``, so

* the reverse kernel ``p_t(x_t | x_{t+1}=y) = Σ_k w_k(y) N(C_t^k (S_t^{k,-1} √ᾱ_t μ_k + (√α_t/(1−α_t)) y), C_t^k)``
  with ``C_t^k = (S_t^{k,-1} + α_t/(1−α_t) I)^{-1}`` and ``w_k(y) ∝ π_k N(y; √ᾱ_{t+1} μ_k, S_{t+1}^k)``
  (the component label is preserved along the chain, and the mixture's reverse chain is Markov);
* the posterior ``p(x_0 | x_t = y) = Σ_k w_k(y) N(P_t^k(Σ_k^{-1}μ_k + (√ᾱ_t/(1−ᾱ_t)) y), P_t^k)``,
  ``P_t^k = (Σ_k^{-1} + ᾱ_t/(1−ᾱ_t) I)^{-1}``, ``w_k(y) ∝ π_k N(y; √ᾱ_t μ_k, S_t^k)``;
* the soft value ``V_t(y) = λ log E[e^{r(x_0)/λ} | x_t = y] = λ logsumexp_k(log w_k(y) + log E_k e^{r/λ})``
  with each component's expectation in closed form: linear reward (Gaussian MGF), concave quadratic
  reward (Gaussian integral), step reward ``B·1{⟨u,x⟩ < κ}`` (``1 + (e^{B/λ} − 1) Φ(z)``). ``V_0 = r``.

The default schedule is the reference one (``reference_schedule``): n = T = 20, c = 4, δ_s = 0.02,
``α_t = 1 − (c log n / n)·min(δ_s (1 + c log n / n)^t, 1)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

import math

import numpy as np
import torch

from primitives._checks import check_positive, resolve_device, resolve_dtype
from primitives.laws import GaussianMixture
from primitives.small_linalg import affine_means, dot_last, inclusive_cumsum, quadratic_forms, right_multiply_transpose
from primitives.rewards import LinearReward, QuadraticReward, Reward, StepReward, as_reward

__all__ = [
    "ChainKernel", "CountingKernel", "reference_schedule", "check_schedule", "GaussianMixtureDiffusion",
    "KernelAtoms",
]


@runtime_checkable
class ChainKernel(Protocol):
    """The black-box access a sampler has to a (pretrained) chain: prior draws and child draws."""

    steps: int
    state_shape: tuple[int, ...]
    device: torch.device

    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor: ...

    def sample_children(self, parents: torch.Tensor, t: int, n_children: int,
                        generator: torch.Generator | None = None) -> torch.Tensor: ...


def _check_count(name: str, n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {n!r}")
    return int(n)


def check_step(t: int, steps: int, *, allow_prior: bool = False) -> int:
    """``t`` must index a reverse kernel (0 ≤ t < T), or the prior (t = T) when allowed."""
    top = steps if allow_prior else steps - 1
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not 0 <= int(t) <= top:
        raise ValueError(f"t must be an integer step in [0, {top}], got {t!r}")
    return int(t)


class CountingKernel:
    """Wraps a ``ChainKernel``: validates every returned batch and counts every draw.

    ``prior_draws`` and ``child_draws[t]`` count the states the kernel produced (one query each). A
    kernel returning the wrong shape or non-finite states raises ``ValueError`` naming the call.
    """

    def __init__(self, kernel: ChainKernel) -> None:
        for attribute in ("steps", "state_shape", "sample_prior", "sample_children"):
            if not hasattr(kernel, attribute):
                raise ValueError(f"kernel must implement the ChainKernel interface; it lacks {attribute!r}")
        self.kernel = kernel
        self.steps = int(kernel.steps)
        if self.steps < 1:
            raise ValueError(f"kernel.steps must be ≥ 1, got {kernel.steps!r}")
        self.state_shape = tuple(kernel.state_shape)
        self.device = getattr(kernel, "device", torch.device("cpu"))
        self.prior_draws = 0
        self.child_draws = [0] * self.steps

    @property
    def draws(self) -> int:
        return self.prior_draws + sum(self.child_draws)

    def _validate(self, call: str, states: torch.Tensor, expected: tuple[int, ...]) -> torch.Tensor:
        if not isinstance(states, torch.Tensor):
            raise ValueError(f"kernel.{call} must return a torch.Tensor, got {type(states).__name__}")
        if tuple(states.shape) != expected:
            raise ValueError(f"kernel.{call} returned shape {tuple(states.shape)}, expected {expected}")
        if states.is_floating_point() and not torch.isfinite(states).all():
            raise ValueError(f"kernel.{call} returned non-finite states")
        return states

    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        n = _check_count("n", n)
        states = self._validate("sample_prior", self.kernel.sample_prior(n, generator), (n, *self.state_shape))
        self.prior_draws += n
        return states

    def sample_children(self, parents: torch.Tensor, t: int, n_children: int,
                        generator: torch.Generator | None = None) -> torch.Tensor:
        t = check_step(t, self.steps)
        n_children = _check_count("n_children", n_children)
        if tuple(parents.shape[1:]) != self.state_shape:
            raise ValueError(f"parents must have shape (m, {', '.join(map(str, self.state_shape))}), "
                             f"got {tuple(parents.shape)}")
        m = parents.shape[0]
        states = self._validate("sample_children", self.kernel.sample_children(parents, t, n_children, generator),
                                (m, n_children, *self.state_shape))
        self.child_draws[t] += m * n_children
        return states


def reference_schedule(n: int = 20, c: float = 4.0, delta_s: float = 0.02) -> np.ndarray:
    """``α_t = 1 − (c log n / n)·min(δ_s (1 + c log n / n)^t, 1)`` for t = 0, …, n − 1 (T = n)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer ≥ 2, got {n!r}")
    c = check_positive("c", c)
    delta_s = check_positive("delta_s", delta_s)
    rate = c * math.log(n) / n
    if rate >= 1.0:
        raise ValueError(f"c log n / n must be < 1 for α_t ∈ (0, 1), got {rate:.4g}")
    t = np.arange(n, dtype=float)
    return 1.0 - rate * np.minimum(delta_s * (1.0 + rate) ** t, 1.0)


def check_schedule(alphas) -> np.ndarray:
    """``alphas`` must be a non-empty vector with every ``α_t`` in the open interval (0, 1)."""
    try:
        array = np.asarray(alphas.detach().cpu().numpy() if isinstance(alphas, torch.Tensor) else alphas, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"alphas must be a vector of numbers in (0, 1), got {alphas!r}") from None
    if array.ndim != 1 or array.size < 1:
        raise ValueError(f"alphas must be a non-empty vector, got shape {array.shape}")
    bad = ~np.isfinite(array) | (array <= 0.0) | (array >= 1.0)
    if bad.any():
        index = int(np.argmax(bad))
        raise ValueError(f"alphas must lie in the open interval (0, 1); alphas[{index}] = {array[index]!r}")
    return array


def adopt_mixture(chain, mixture: GaussianMixture, device, dtype) -> dict:
    """Give ``chain`` the data law both Gaussian-mixture chains carry (``GaussianMixtureDiffusion``,
    ``primitives.ddpm_chain.MixtureScoreDDPM``): ``device``, ``dtype``, ``dim``, ``state_shape``, ``weights``,
    ``log_weights`` (−∞ for a zero weight), ``means``, ``covs`` and ``mixture`` on that device; returns the tensor
    options. ``ValueError`` naming ``mixture`` when it is not a ``GaussianMixture``."""
    if not isinstance(mixture, GaussianMixture):
        raise ValueError(f"mixture must be a GaussianMixture, got {type(mixture).__name__}")
    chain.device = resolve_device(device if device is not None else mixture.device)
    chain.dtype = resolve_dtype(dtype)
    chain.dim = int(mixture.dim)
    chain.state_shape = (chain.dim,)
    to = dict(device=chain.device, dtype=chain.dtype)
    chain.weights = mixture.weights.to(**to)
    with np.errstate(divide="ignore"):
        chain.log_weights = torch.log(chain.weights)
    chain.means = mixture.means.to(**to)
    chain.covs = mixture.covs.to(**to)
    chain.mixture = GaussianMixture(chain.weights, chain.means, chain.covs, device=chain.device, dtype=chain.dtype)
    return to


def mixture_chain_states(chain, name: str, states) -> torch.Tensor:
    """``states`` as an (m, d) tensor on the chain's device and dtype (a method of both mixture chains);
    ``ValueError`` naming ``name`` for another shape."""
    if not isinstance(states, torch.Tensor):
        states = torch.as_tensor(np.asarray(states, dtype=float))
    states = states.to(device=chain.device, dtype=chain.dtype)
    if states.ndim != 2 or states.shape[1] != chain.dim:
        raise ValueError(f"{name} must have shape (m, {chain.dim}), got {tuple(states.shape)}")
    return states


@dataclass(frozen=True)
class KernelAtoms:
    """A discrete quadrature law of a kernel ``p_t(·|y)`` for a batch of parents: ``atoms`` of shape
    ``(m, A, *state_shape)`` with ``log_probs`` ``(m, A)`` (each row sums to one); ``exact`` when the
    atoms are the kernel's own support (finite chains), not a quadrature rule."""

    atoms: torch.Tensor
    log_probs: torch.Tensor
    exact: bool


class GaussianMixtureDiffusion:
    """Exact Gaussian-mixture diffusion (see the module docstring for the formulas).

    ``mixture``: the data law ``p_0`` (a ``GaussianMixture``); ``alphas``: the schedule α_0..α_{T−1}
    in (0, 1) (default: ``reference_schedule()``, T = 20).
    """

    def __init__(self, mixture: GaussianMixture, alphas: Sequence[float] | np.ndarray | None = None, *,
                 device: str | torch.device | None = None, dtype: torch.dtype | None = None) -> None:
        to = adopt_mixture(self, mixture, device, dtype)
        self.alphas_np = check_schedule(reference_schedule() if alphas is None else alphas)
        self.steps = int(self.alphas_np.size)
        self.components = int(mixture.components)
        self.alphas = torch.as_tensor(self.alphas_np, **to)
        self.alpha_bars_np = np.concatenate([[1.0], np.cumprod(self.alphas_np)])
        self.alpha_bars = torch.as_tensor(self.alpha_bars_np, **to)
        eye = torch.eye(self.dim, **to)
        self._eye = eye
        # Marginal covariances S_t^k and their Cholesky factors, t = 0..T.
        self.marginal_covs = [a * self.covs + (1.0 - a) * eye for a in self.alpha_bars_np]
        self.marginal_choleskys = [torch.linalg.cholesky(S) for S in self.marginal_covs]
        self._marginal_precisions = [torch.cholesky_inverse(L) for L in self.marginal_choleskys]
        self._marginal_log_dets = [2.0 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
                                   for L in self.marginal_choleskys]
        self.marginal_means = [math.sqrt(a) * self.means for a in self.alpha_bars_np]
        # Reverse kernels t = 0..T−1: covariance C_t^k, mean = offset_t^k + gain_t^k y.
        self._kernel_cov, self._kernel_chol, self._kernel_offset, self._kernel_gain = [], [], [], []
        self._kernel_chol_shared: list[bool] = []
        for t in range(self.steps):
            alpha = float(self.alphas_np[t])
            S_inv = torch.linalg.inv(self.marginal_covs[t])
            precision = S_inv + (alpha / (1.0 - alpha)) * eye
            cov = torch.linalg.inv(precision)
            cov = 0.5 * (cov + cov.transpose(-1, -2))
            self._kernel_cov.append(cov)
            self._kernel_chol.append(torch.linalg.cholesky(cov))
            self._kernel_chol_shared.append(bool(torch.allclose(self._kernel_chol[-1], self._kernel_chol[-1][:1],
                                                                rtol=0.0, atol=0.0)))
            self._kernel_offset.append(torch.einsum("kij,kjl,kl->ki", cov, S_inv, self.marginal_means[t]))
            self._kernel_gain.append(cov * (math.sqrt(alpha) / (1.0 - alpha)))
        # Posteriors of x_0 given x_t, t = 1..T (index 0 unused: x_0 is observed).
        cov_inv = torch.linalg.inv(self.covs)
        self._posterior_cov, self._posterior_offset, self._posterior_gain = [None], [None], [None]
        for t in range(1, self.steps + 1):
            a_bar = float(self.alpha_bars_np[t])
            cov = torch.linalg.inv(cov_inv + (a_bar / (1.0 - a_bar)) * eye)
            cov = 0.5 * (cov + cov.transpose(-1, -2))
            self._posterior_cov.append(cov)
            self._posterior_offset.append(torch.einsum("kij,kjl,kl->ki", cov, cov_inv, self.means))
            self._posterior_gain.append(cov * (math.sqrt(a_bar) / (1.0 - a_bar)))

    # ------------------------------------------------------------------ laws
    def marginal(self, t: int) -> GaussianMixture:
        """The forward marginal ``p_t = Σ_k π_k N(√ᾱ_t μ_k, S_t^k)``."""
        t = check_step(t, self.steps, allow_prior=True)
        return GaussianMixture(self.weights, self.marginal_means[t], self.marginal_covs[t],
                               device=self.device, dtype=self.dtype)

    @property
    def prior(self) -> GaussianMixture:
        return self.marginal(self.steps)

    _check_states = mixture_chain_states

    def _marginal_log_likelihoods(self, t: int, states: torch.Tensor) -> torch.Tensor:
        """``log π_k + log N(y; √ᾱ_t μ_k, S_t^k)`` of shape (m, K)."""
        centred = states[:, None, :] - self.marginal_means[t][None]
        mahalanobis = quadratic_forms(centred, self._marginal_precisions[t])
        return (self.log_weights - 0.5 * mahalanobis - 0.5 * self._marginal_log_dets[t]
                - 0.5 * self.dim * math.log(2.0 * math.pi))

    def component_posterior(self, t: int, states: torch.Tensor) -> torch.Tensor:
        """``log P(k | x_t = y)`` of shape (m, K)."""
        t = check_step(t, self.steps, allow_prior=True)
        scores = self._marginal_log_likelihoods(t, self._check_states("states", states))
        return scores - torch.logsumexp(scores, -1, keepdim=True)

    def reverse_kernel(self, t: int, parents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``p_t(· | x_{t+1} = y)`` for each parent: (log-weights (m, K), means (m, K, d), covs (K, d, d))."""
        t = check_step(t, self.steps)
        parents = self._check_states("parents", parents)
        log_weights = self.component_posterior(t + 1, parents)
        means = affine_means(self._kernel_offset[t], self._kernel_gain[t], parents)
        return log_weights, means, self._kernel_cov[t]

    def posterior(self, t: int, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``p(x_0 | x_t = y)`` for t ≥ 1: (log-weights (m, K), means (m, K, d), covs (K, d, d))."""
        t = check_step(t, self.steps, allow_prior=True)
        if t == 0:
            raise ValueError("t must be ≥ 1 for the posterior of x_0 (x_0 is observed at t = 0)")
        states = self._check_states("states", states)
        log_weights = self.component_posterior(t, states)
        means = affine_means(self._posterior_offset[t], self._posterior_gain[t], states)
        return log_weights, means, self._posterior_cov[t]

    # ------------------------------------------------------------------ black-box kernel
    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.prior.sample(_check_count("n", n), generator)

    def sample_children(self, parents: torch.Tensor, t: int, n_children: int,
                        generator: torch.Generator | None = None) -> torch.Tensor:
        n_children = _check_count("n_children", n_children)
        log_weights, means, _ = self.reverse_kernel(t, parents)
        m = means.shape[0]
        if m == 0 or n_children == 0:
            return torch.empty(m, n_children, self.dim, device=self.device, dtype=self.dtype)
        # Component labels by inverse CDF (one uniform per child), then the component's Gaussian.
        cumulative = inclusive_cumsum(torch.softmax(log_weights, -1))
        uniforms = torch.rand(m, n_children, 1, generator=generator, device=self.device, dtype=self.dtype)
        labels = torch.clamp((uniforms > cumulative[:, None, :]).sum(-1), max=self.components - 1)
        chosen_means = torch.gather(means, 1, labels[..., None].expand(-1, -1, self.dim))
        noise = torch.randn(m, n_children, self.dim, generator=generator, device=self.device, dtype=self.dtype)
        chol = self._kernel_chol[t]
        if self._kernel_chol_shared[t]:
            return chosen_means + right_multiply_transpose(noise, chol[0])
        out = chosen_means
        for k in range(self.components):
            out = out + (labels == k)[..., None].to(self.dtype) * right_multiply_transpose(noise, chol[k])
        return out

    # ------------------------------------------------------------------ soft values
    def _check_reward(self, reward: Reward) -> Reward:
        reward = as_reward(reward)
        if isinstance(reward, (LinearReward, StepReward)):
            if reward.direction.shape[0] != self.dim:
                raise ValueError(f"reward direction has length {reward.direction.shape[0]}, "
                                 f"but the diffusion has dimension {self.dim}")
        elif isinstance(reward, QuadraticReward):
            if reward.b.shape[0] != self.dim:
                raise ValueError(f"reward has dimension {reward.b.shape[0]}, but the diffusion has dimension {self.dim}")
        else:
            raise ValueError(f"reward must be a LinearReward, QuadraticReward or StepReward for exact soft values, "
                             f"got {type(reward).__name__}")
        return reward

    def _log_gaussian_expectation(self, reward: Reward, lam: float, means: torch.Tensor,
                                  covs: torch.Tensor) -> torch.Tensor:
        """``log E e^{r(X)/λ}`` for ``X ~ N(means[m, k], covs[k])``: shape (m, K), closed form."""
        a = 1.0 / lam
        to = dict(device=means.device, dtype=means.dtype)
        if isinstance(reward, StepReward):
            u = torch.as_tensor(reward.direction, **to)
            std = torch.sqrt(torch.einsum("i,kij,j->k", u, covs, u))
            z = (reward.threshold - dot_last(means, u)) / std
            return torch.logaddexp(a * reward.height + torch.special.log_ndtr(z), torch.special.log_ndtr(-z))
        if isinstance(reward, LinearReward):
            theta = torch.as_tensor(reward.theta, **to)
            return a * (means @ theta + reward.offset) + 0.5 * a * a * torch.einsum("i,kij,j->k", theta, covs, theta)
        # Concave-or-not quadratic: finite iff C^{-1} + aQ ≻ 0.
        Q = torch.as_tensor(reward.Q, **to)
        b = torch.as_tensor(reward.b, **to)
        precision = torch.linalg.inv(covs)
        tilted = precision + a * Q
        if bool((torch.linalg.eigvalsh(tilted) <= 0).any()):
            raise ValueError("E[e^{r/λ} | x_t] diverges for this quadratic reward and λ (C^{-1} + Q/λ is not "
                             "positive definite)")
        h = torch.einsum("kij,mkj->mki", precision, means) + a * b
        solved = torch.linalg.solve(tilted[None].expand(means.shape[0], -1, -1, -1), h[..., None])[..., 0]
        quadratic = (h * solved).sum(-1) - torch.einsum("mki,kij,mkj->mk", means, precision, means)
        log_det_cov = torch.linalg.slogdet(covs)[1]
        log_det_tilted = torch.linalg.slogdet(tilted)[1]
        return a * reward.c - 0.5 * log_det_cov - 0.5 * log_det_tilted + 0.5 * quadratic

    def soft_value(self, states: torch.Tensor, t: int, reward: Reward, lam: float) -> torch.Tensor:
        """``V_t(y) = λ log E[e^{r(x_0)/λ} | x_t = y]`` (``V_0 = r``), shape (m,), exact."""
        lam = check_positive("lam", lam)
        t = check_step(t, self.steps, allow_prior=True)
        reward = self._check_reward(reward)
        states = self._check_states("states", states)
        if t == 0:
            return reward(states)
        log_weights, means, covs = self.posterior(t, states)
        return lam * torch.logsumexp(log_weights + self._log_gaussian_expectation(reward, lam, means, covs), -1)

    def log_partition(self, reward: Reward, lam: float) -> float:
        """``log Z = log E_{p_0} e^{r/λ}`` (the chain's root value is ``V = λ log Z``)."""
        lam = check_positive("lam", lam)
        reward = self._check_reward(reward)
        terms = self.log_weights + self._log_gaussian_expectation(reward, lam, self.means[None], self.covs)[0]
        return float(torch.logsumexp(terms, 0))

    # ------------------------------------------------------------------ exact structure
    def ridge_direction(self, reward: Reward) -> torch.Tensor | None:
        """Unit vector ``û`` such that every ``V_t`` depends on x only through ``⟨û, x⟩``, or None.

        Holds when the reward is a function of ``⟨u, x⟩`` (linear, step) and the data law factorises
        along ``û`` identically across components: ``Σ_k û ∥ û``, and the orthogonal parts of ``μ_k``
        and ``Σ_k`` agree for all k (then ``x_t = (⟨û,x_t⟩, x_t^⊥)`` are independent chains and x^⊥'s
        chain does not depend on the component).
        """
        reward = self._check_reward(reward)
        if not isinstance(reward, (LinearReward, StepReward)):
            return None
        u = torch.as_tensor(reward.direction, device=self.device, dtype=self.dtype)
        u = u / torch.linalg.norm(u)
        projector = self._eye - torch.outer(u, u)
        scale = max(1.0, float(self.covs.abs().max()), float(self.means.abs().max()))
        tolerance = 1e-10 * scale
        along = torch.einsum("kij,j->ki", self.covs, u)
        eigen = along - (along @ u)[:, None] * u[None]
        if float(eigen.abs().max()) > tolerance:
            return None
        perpendicular_covs = projector @ self.covs @ projector
        perpendicular_means = self.means @ projector
        if float((perpendicular_covs - perpendicular_covs[:1]).abs().max()) > tolerance:
            return None
        if float((perpendicular_means - perpendicular_means[:1]).abs().max()) > tolerance:
            return None
        return u

    def kernel_atoms(self, t: int, parents: torch.Tensor | None, *, spacing: float = 0.05, width: float = 8.0,
                     direction: torch.Tensor | None = None) -> KernelAtoms:
        """Quadrature law of ``p_t(·|y)`` (``parents=None`` and ``t = T``: of the prior ``p_T``).

        Each Gaussian component is discretised in its standardised coordinates on the grid
        ``z ∈ [−width, width]`` with step ``spacing`` (trapezoid weights ``φ(z)``, normalised). With a
        ``direction`` û (see ``ridge_direction``) only the û-coordinate is discretised: for functions of
        ``⟨û, x⟩`` this is exact in the other coordinates. Otherwise a tensor grid in all d coordinates.
        """
        spacing = check_positive("spacing", spacing)
        width = check_positive("width", width)
        if parents is None:
            t = check_step(t, self.steps, allow_prior=True)
            if t != self.steps:
                raise ValueError("parents=None is only meaningful for the prior step t = T")
            log_weights = self.log_weights[None]
            means = self.marginal_means[t][None]
            covs = self.marginal_covs[t]
        else:
            log_weights, means, covs = self.reverse_kernel(t, parents)
        to = dict(device=self.device, dtype=self.dtype)
        count = int(round(width / spacing))
        z = torch.arange(-count, count + 1, **to) * spacing
        log_node = -0.5 * z * z
        log_node = log_node - torch.logsumexp(log_node, 0)
        m, k = means.shape[:2]
        if direction is not None:
            u = direction.to(**to)
            std = torch.sqrt(torch.einsum("i,kij,j->k", u, covs, u))                          # (K,)
            atoms = means[:, :, None, :] + (z[None, None, :, None] * std[None, :, None, None]) * u
            log_probs = log_weights[:, :, None] + log_node[None, None, :]
            return KernelAtoms(atoms.reshape(m, -1, self.dim), log_probs.reshape(m, -1), exact=False)
        grids = torch.meshgrid(*([z] * self.dim), indexing="ij")
        nodes = torch.stack([g.reshape(-1) for g in grids], -1)                              # (J^d, d)
        log_nodes = sum(torch.meshgrid(*([log_node] * self.dim), indexing="ij")).reshape(-1)
        chol = torch.linalg.cholesky(covs)
        atoms = means[:, :, None, :] + torch.einsum("kij,nj->kni", chol, nodes)[None]
        log_probs = log_weights[:, :, None] + log_nodes[None, None, :]
        return KernelAtoms(atoms.reshape(m, -1, self.dim), log_probs.reshape(m, -1), exact=False)

    def step_hit_log_probability(self, t: int, parents: torch.Tensor | None, reward: StepReward) -> torch.Tensor:
        """``log P(⟨u, X⟩ < κ)`` under ``p_t(·|y)`` (exact, normal CDFs), shape (m,)."""
        if parents is None:
            log_weights, means, covs = self.log_weights[None], self.marginal_means[self.steps][None], self.marginal_covs[self.steps]
        else:
            log_weights, means, covs = self.reverse_kernel(t, parents)
        u = torch.as_tensor(reward.direction, device=self.device, dtype=self.dtype)
        std = torch.sqrt(torch.einsum("i,kij,j->k", u, covs, u))
        z = (reward.threshold - means @ u) / std
        return torch.logsumexp(log_weights + torch.special.log_ndtr(z), -1)

    def __repr__(self) -> str:
        return f"GaussianMixtureDiffusion(K={self.components}, d={self.dim}, T={self.steps})"
