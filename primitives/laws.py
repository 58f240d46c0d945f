"""Base laws p with batched black-box sampling and exact log-densities (torch).

Every law exposes ``sample(n, generator=None)`` (the only access the samplers use: black-box
proposals), ``log_prob(x)``, ``dim``, ``device`` and ``dtype``. Exactly computable quantities
(the reward's law under p, tilts) are derived from the parameters elsewhere; this module only holds
the laws themselves and their linear exponential tilts ``p_θ ∝ p·exp(⟨θ, x⟩)`` (tractability spec,
"Primitive 1"), which are closed form for all three families.
"""
from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import math

import numpy as np
import torch

from primitives._checks import resolve_device, resolve_dtype

__all__ = ["BaseLaw", "Gaussian", "GaussianMixture", "Categorical"]

ArrayLike = Sequence[float] | np.ndarray | torch.Tensor | float


@runtime_checkable
class BaseLaw(Protocol):
    """What a sampler may use of the base law p: batched draws, nothing else."""

    dim: int
    device: torch.device
    dtype: torch.dtype

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor: ...

    def log_prob(self, x: torch.Tensor) -> torch.Tensor: ...


def _as_tensor(name: str, value: ArrayLike, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    try:
        tensor = torch.as_tensor(np.asarray(value, dtype=float) if not isinstance(value, torch.Tensor) else value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, got {value!r}") from None
    tensor = tensor.to(device=device, dtype=dtype)
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} must contain only finite values")
    return tensor


def _check_count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    return int(n)


def _check_generator(generator: torch.Generator | None, device: torch.device) -> None:
    if generator is not None and torch.device(generator.device).type != device.type:
        raise ValueError(
            f"generator lives on {generator.device} but the law lives on {device}; "
            "create it with torch.Generator(device=...)"
        )


def _cholesky(name: str, cov: torch.Tensor) -> torch.Tensor:
    if not torch.allclose(cov, cov.transpose(-1, -2), rtol=1e-10, atol=1e-12):
        raise ValueError(f"{name} must be symmetric")
    factor, info = torch.linalg.cholesky_ex(cov)
    if bool((info != 0).any()):
        raise ValueError(f"{name} must be positive definite")
    return factor


class Gaussian:
    """Multivariate normal ``N(mean, cov)`` on ℝ^d.

    Linear tilt (closed form): ``p·e^{⟨θ,x⟩} ∝ N(mean + cov θ, cov)`` with
    ``log Z(θ) = ⟨θ, mean⟩ + ½ θᵀ cov θ``.
    """

    def __init__(self, mean: ArrayLike, cov: ArrayLike, *, device: str | torch.device = "cpu",
                 dtype: torch.dtype | None = None) -> None:
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        mean_t = _as_tensor("mean", mean, self.dtype, self.device)
        if mean_t.ndim == 0:
            mean_t = mean_t.reshape(1)
        if mean_t.ndim != 1:
            raise ValueError(f"mean must be a vector of shape (d,), got shape {tuple(mean_t.shape)}")
        d = mean_t.shape[0]
        cov_t = _as_tensor("cov", cov, self.dtype, self.device)
        if cov_t.ndim == 0 and d == 1:
            cov_t = cov_t.reshape(1, 1)
        if cov_t.shape != (d, d):
            raise ValueError(
                f"cov must have shape ({d}, {d}) to match mean of shape ({d},), got {tuple(cov_t.shape)}"
            )
        self.mean = mean_t
        self.cov = cov_t
        self.dim = d
        self.cholesky = _cholesky("cov", cov_t)
        self._scalar_mean = float(mean_t[0])
        self._scalar_std = float(self.cholesky[0, 0])

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        n = _check_count(n)
        _check_generator(generator, self.device)
        if self.dim == 1:  # one fused pass: fill N(mean, std²) in place
            return torch.empty(n, 1, device=self.device, dtype=self.dtype).normal_(
                self._scalar_mean, self._scalar_std, generator=generator)
        noise = torch.randn(n, self.dim, generator=generator, device=self.device, dtype=self.dtype)
        return self.mean + noise @ self.cholesky.T

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        centred = x - self.mean
        solved = torch.linalg.solve_triangular(self.cholesky, centred.T, upper=False).T
        log_det = 2.0 * torch.log(torch.diagonal(self.cholesky)).sum()
        return -0.5 * (solved**2).sum(-1) - 0.5 * log_det - 0.5 * self.dim * math.log(2 * math.pi)

    def log_partition(self, theta: ArrayLike) -> float:
        """``log E_p e^{⟨θ,X⟩} = ⟨θ, mean⟩ + ½ θᵀ cov θ``."""
        theta_t = _as_tensor("theta", theta, self.dtype, self.device).reshape(self.dim)
        return float(theta_t @ self.mean + 0.5 * theta_t @ self.cov @ theta_t)

    def tilt(self, theta: ArrayLike) -> "Gaussian":
        """The law ``∝ p·e^{⟨θ,x⟩} = N(mean + cov θ, cov)``."""
        theta_t = _as_tensor("theta", theta, self.dtype, self.device).reshape(self.dim)
        return Gaussian(self.mean + self.cov @ theta_t, self.cov, device=self.device, dtype=self.dtype)

    def to(self, device: str | torch.device) -> "Gaussian":
        """This law on ``device`` (itself when it is there already)."""
        device = resolve_device(device)
        return self if device == self.device else Gaussian(self.mean, self.cov, device=device, dtype=self.dtype)

    def __repr__(self) -> str:
        return f"Gaussian(d={self.dim})"


class GaussianMixture:
    """Mixture ``Σ_k π_k N(μ_k, Σ_k)`` on ℝ^d.

    Linear tilt (closed form): component means shift by ``Σ_k θ`` and weights become
    ``∝ π_k e^{⟨θ,μ_k⟩ + ½ θᵀΣ_kθ}``.
    """

    def __init__(self, weights: ArrayLike, means: ArrayLike, covs: ArrayLike, *,
                 device: str | torch.device = "cpu", dtype: torch.dtype | None = None) -> None:
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        weights_t = _as_tensor("weights", weights, self.dtype, self.device).reshape(-1)
        if (weights_t < 0).any() or abs(float(weights_t.sum()) - 1.0) > 1e-9:
            raise ValueError("weights must be non-negative and sum to 1")
        k = weights_t.shape[0]
        means_t = _as_tensor("means", means, self.dtype, self.device)
        if means_t.ndim == 1:
            means_t = means_t.reshape(k, 1) if means_t.shape[0] == k else means_t
        if means_t.ndim != 2 or means_t.shape[0] != k:
            raise ValueError(f"means must have shape ({k}, d) to match {k} weights, got {tuple(means_t.shape)}")
        d = means_t.shape[1]
        covs_t = _as_tensor("covs", covs, self.dtype, self.device)
        if covs_t.ndim == 1 and d == 1 and covs_t.shape[0] == k:
            covs_t = covs_t.reshape(k, 1, 1)
        if covs_t.shape != (k, d, d):
            raise ValueError(f"covs must have shape ({k}, {d}, {d}), got {tuple(covs_t.shape)}")
        self.weights = weights_t / weights_t.sum()
        self.means = means_t
        self.covs = covs_t
        self.dim = d
        self.components = k
        self.choleskys = _cholesky("covs", covs_t)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        n = _check_count(n)
        _check_generator(generator, self.device)
        if n == 0:
            return torch.empty(0, self.dim, device=self.device, dtype=self.dtype)
        labels = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        noise = torch.randn(n, self.dim, generator=generator, device=self.device, dtype=self.dtype)
        return self.means[labels] + torch.einsum("nij,nj->ni", self.choleskys[labels], noise)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        centred = x[:, None, :] - self.means[None]
        solved = torch.linalg.solve_triangular(
            self.choleskys[None].expand(x.shape[0], -1, -1, -1), centred[..., None], upper=False
        )[..., 0]
        log_det = 2.0 * torch.log(torch.diagonal(self.choleskys, dim1=-2, dim2=-1)).sum(-1)
        per_component = -0.5 * (solved**2).sum(-1) - 0.5 * log_det - 0.5 * self.dim * math.log(2 * math.pi)
        return torch.logsumexp(per_component + torch.log(self.weights), dim=-1)

    def _component_log_partitions(self, theta_t: torch.Tensor) -> torch.Tensor:
        return self.means @ theta_t + 0.5 * torch.einsum("i,kij,j->k", theta_t, self.covs, theta_t)

    def log_partition(self, theta: ArrayLike) -> float:
        """``log Σ_k π_k e^{⟨θ,μ_k⟩ + ½θᵀΣ_kθ}``."""
        theta_t = _as_tensor("theta", theta, self.dtype, self.device).reshape(self.dim)
        return float(torch.logsumexp(torch.log(self.weights) + self._component_log_partitions(theta_t), 0))

    def tilt(self, theta: ArrayLike) -> "GaussianMixture":
        theta_t = _as_tensor("theta", theta, self.dtype, self.device).reshape(self.dim)
        log_weights = torch.log(self.weights) + self._component_log_partitions(theta_t)
        weights = torch.softmax(log_weights, 0)
        means = self.means + torch.einsum("kij,j->ki", self.covs, theta_t)
        return GaussianMixture(weights, means, self.covs, device=self.device, dtype=self.dtype)

    def to(self, device: str | torch.device) -> "GaussianMixture":
        """This law on ``device`` (itself when it is there already)."""
        device = resolve_device(device)
        return self if device == self.device else GaussianMixture(self.weights, self.means, self.covs, device=device,
                                                                  dtype=self.dtype)

    def __repr__(self) -> str:
        return f"GaussianMixture(K={self.components}, d={self.dim})"


class Categorical:
    """Finite law on the support ``{0, …, K−1}`` with probabilities ``probs``.

    Samples are integer tensors of shape ``(n,)``. Linear tilt: ``softmax(log p + θ·x)``.
    """

    def __init__(self, probs: ArrayLike, *, device: str | torch.device = "cpu",
                 dtype: torch.dtype | None = None) -> None:
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        probs_t = _as_tensor("probs", probs, self.dtype, self.device).reshape(-1)
        if probs_t.numel() < 1 or (probs_t < 0).any() or abs(float(probs_t.sum()) - 1.0) > 1e-9:
            raise ValueError("probs must be a non-empty vector of non-negative numbers summing to 1")
        self.probs = probs_t / probs_t.sum()
        self.size = probs_t.numel()
        self.dim = 1

    @property
    def support(self) -> torch.Tensor:
        return torch.arange(self.size, device=self.device)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        n = _check_count(n)
        _check_generator(generator, self.device)
        if n == 0:
            return torch.empty(0, dtype=torch.long, device=self.device)
        return torch.multinomial(self.probs, n, replacement=True, generator=generator)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log(self.probs)[x.long()]

    def log_partition(self, theta: float) -> float:
        """``log Σ_x p(x) e^{θ x}`` over the support."""
        scores = torch.log(self.probs) + float(theta) * self.support.to(self.dtype)
        return float(torch.logsumexp(scores, 0))

    def tilt(self, theta: float) -> "Categorical":
        scores = torch.log(self.probs) + float(theta) * self.support.to(self.dtype)
        return Categorical(torch.softmax(scores, 0), device=self.device, dtype=self.dtype)

    def reweight(self, log_weights: torch.Tensor) -> "Categorical":
        """The law ``∝ p(x) e^{log_weights[x]}`` (any tilt of a finite law is a reweighting)."""
        scores = torch.log(self.probs) + log_weights.to(self.dtype)
        return Categorical(torch.softmax(scores, 0), device=self.device, dtype=self.dtype)

    def to(self, device: str | torch.device) -> "Categorical":
        """This law on ``device`` (itself when it is there already)."""
        device = resolve_device(device)
        return self if device == self.device else Categorical(self.probs, device=device, dtype=self.dtype)

    def __repr__(self) -> str:
        return f"Categorical(K={self.size})"
