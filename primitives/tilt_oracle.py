"""The linear-tilt oracle (tractability spec, "Primitive 1").

A linear-tilt oracle for a base law p answers two questions about the tilts
``p_θ ∝ p·e^{⟨θ,x⟩}``: draw from ``p_θ`` (one **oracle call** per sample) and report the
log-partition ``log Z(θ) = log E_p e^{⟨θ,X⟩}``. ``kl_align`` (claim L1) uses nothing else of p.

* ``ExactTiltOracle`` wraps a ``Gaussian`` (``p_θ = N(μ+Σθ, Σ)``, ``log Z = ⟨θ,μ⟩ + ½θᵀΣθ``), a
  ``GaussianMixture`` (means shift by ``Σ_kθ``, weights ∝ ``π_k e^{⟨θ,μ_k⟩+½θᵀΣ_kθ}``) or a
  ``Categorical`` (``softmax(log p + θ·x)`` on the support ``{0, …, K−1}``, seen as points of ℝ¹).
  ``sample_rows(thetas)`` draws one sample of ``p_{θ_i}`` per row, vectorised, so a mixture of many
  tilts costs one batched call per proposal, not one Python call per plane.

The estimate of ``log Z(θ)`` from an oracle's draws alone, with its confidence interval and design, is
``estimators.bridge_log_partition.telescoping_log_partition`` (a statistic: it lives with the tests).
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch

from primitives.laws import Categorical, Gaussian, GaussianMixture

__all__ = [
    "LinearTiltOracle", "ExactTiltOracle", "as_tilt_oracle", "as_thetas",
]


@runtime_checkable
class LinearTiltOracle(Protocol):
    """What the KL planes construction may use of p: tilted draws and (optionally) log-partitions."""

    dim: int
    device: torch.device
    dtype: torch.dtype
    calls: int

    def sample_rows(self, thetas: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor: ...


def as_thetas(name: str, thetas, dim: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Tilts as a ``(rows, dim)`` tensor of ``dtype`` on ``device`` (one θ or a batch); ``ValueError`` naming ``name``."""
    tensor = torch.as_tensor(thetas if isinstance(thetas, torch.Tensor) else np.asarray(thetas, dtype=float))
    tensor = tensor.to(device=device, dtype=dtype)
    if tensor.ndim == 1 and dim == 1 and tensor.shape[0] != 1:
        tensor = tensor[:, None]
    if tensor.ndim == 1:
        tensor = tensor[None, :]
    if tensor.ndim != 2 or tensor.shape[1] != dim:
        raise ValueError(f"{name} must have shape (m, {dim}) (one tilt per row), got {tuple(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} must contain only finite values")
    return tensor


class ExactTiltOracle:
    """Exact linear tilts of a ``Gaussian``, ``GaussianMixture`` or ``Categorical`` base.

    ``calls`` counts samples drawn from tilts (the L1 complexity unit); ``partition_queries`` counts
    log-partition evaluations (closed form, reported separately). Samples are ``(m, d)`` tensors in
    the base's dtype; a ``Categorical`` base's samples are its support points ``0, …, K−1`` as
    ``(m, 1)`` floats, so rewards ``f(Ax)`` with ``A ∈ ℝ^{k×1}`` apply to them.
    """

    def __init__(self, base: Gaussian | GaussianMixture | Categorical) -> None:
        if not isinstance(base, (Gaussian, GaussianMixture, Categorical)):
            raise ValueError(
                f"base must be a Gaussian, GaussianMixture or Categorical for exact tilts, got {base!r}; "
                "for a diffusion model use primitives.score_tilt.ScoreTiltOracle")
        self.base = base
        self.dim = base.dim
        self.device = base.device
        self.dtype = base.dtype
        self.calls = 0
        self.partition_queries = 0

    # ------------------------------------------------------------------ log-partitions
    def log_partition(self, thetas) -> torch.Tensor:
        """``log Z(θ_i)`` for each row θ_i of ``thetas`` (shape ``(m,)``), in closed form."""
        thetas = as_thetas("thetas", thetas, self.dim, self.dtype, self.device)
        self.partition_queries += thetas.shape[0]
        base = self.base
        if isinstance(base, Gaussian):
            return thetas @ base.mean + 0.5 * ((thetas @ base.cov) * thetas).sum(-1)
        if isinstance(base, GaussianMixture):
            return torch.logsumexp(self._component_log_partitions(thetas) + torch.log(base.weights), dim=-1)
        return torch.logsumexp(self._categorical_logits(thetas), dim=-1)

    def _component_log_partitions(self, thetas: torch.Tensor) -> torch.Tensor:
        base = self.base
        return thetas @ base.means.T + 0.5 * torch.einsum("mi,kij,mj->mk", thetas, base.covs, thetas)

    def _categorical_logits(self, thetas: torch.Tensor) -> torch.Tensor:
        support = self.base.support.to(self.dtype)
        return torch.log(self.base.probs)[None, :] + thetas[:, :1] * support[None, :]

    # ------------------------------------------------------------------ sampling
    def sample_rows(self, thetas, generator: torch.Generator | None = None) -> torch.Tensor:
        """One sample of ``p_{θ_i}`` per row θ_i (``m`` oracle calls), vectorised over rows."""
        thetas = as_thetas("thetas", thetas, self.dim, self.dtype, self.device)
        m = thetas.shape[0]
        self.calls += m
        base = self.base
        if m == 0:
            return torch.empty(0, self.dim, dtype=self.dtype, device=self.device)
        if isinstance(base, Gaussian):
            noise = torch.randn(m, self.dim, generator=generator, dtype=self.dtype, device=self.device)
            return base.mean + thetas @ base.cov + noise @ base.cholesky.T
        if isinstance(base, GaussianMixture):
            logits = self._component_log_partitions(thetas) + torch.log(base.weights)
            labels = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)[:, 0]
            means = base.means[labels] + torch.einsum("mij,mj->mi", base.covs[labels], thetas)
            noise = torch.randn(m, self.dim, generator=generator, dtype=self.dtype, device=self.device)
            return means + torch.einsum("mij,mj->mi", base.choleskys[labels], noise)
        probabilities = torch.softmax(self._categorical_logits(thetas), dim=-1)
        labels = torch.multinomial(probabilities, 1, generator=generator)[:, 0]
        return labels.to(self.dtype)[:, None]

    def sample(self, theta, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` samples of one tilt ``p_θ`` (``n`` oracle calls)."""
        theta_t = as_thetas("theta", theta, self.dim, self.dtype, self.device)
        if theta_t.shape[0] != 1:
            raise ValueError(f"theta must be one vector of length {self.dim}, got shape {tuple(theta_t.shape)}")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        return self.sample_rows(theta_t.expand(int(n), -1), generator)

    def __repr__(self) -> str:
        return f"ExactTiltOracle({self.base!r}, calls={self.calls})"


def as_tilt_oracle(base) -> LinearTiltOracle:
    """A base law becomes its ``ExactTiltOracle``; an oracle passes through unchanged."""
    if isinstance(base, (Gaussian, GaussianMixture, Categorical)):
        return ExactTiltOracle(base)
    if hasattr(base, "sample_rows") and hasattr(base, "dim"):
        return base
    raise ValueError(
        f"base must be a Gaussian, GaussianMixture, Categorical or a linear-tilt oracle (with sample_rows), got {base!r}")


