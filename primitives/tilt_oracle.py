"""The linear-tilt oracle (tractability spec, "Primitive 1").

A linear-tilt oracle for a base law p answers two questions about the tilts
``p_θ ∝ p·e^{⟨θ,x⟩}``: draw from ``p_θ`` (one **oracle call** per sample) and report the
log-partition ``log Z(θ) = log E_p e^{⟨θ,X⟩}``. ``kl_align`` (claim L1) uses nothing else of p.

* ``ExactTiltOracle`` wraps a ``Gaussian`` (``p_θ = N(μ+Σθ, Σ)``, ``log Z = ⟨θ,μ⟩ + ½θᵀΣθ``), a
  ``GaussianMixture`` (means shift by ``Σ_kθ``, weights ∝ ``π_k e^{⟨θ,μ_k⟩+½θᵀΣ_kθ}``) or a
  ``Categorical`` (``softmax(log p + θ·x)`` on the support ``{0, …, K−1}``, seen as points of ℝ¹).
  ``sample_rows(thetas)`` draws one sample of ``p_{θ_i}`` per row, vectorised, so a mixture of many
  tilts costs one batched call per proposal, not one Python call per plane.
* ``telescoping_log_partition`` estimates ``log Z(θ)`` from oracle samples only (no exact
  partition): ``Z(θ) = Π_j E_{p_{θ_{j−1}}} e^{⟨θ_j − θ_{j−1}, X⟩}``, ``θ_j = jθ/m`` (the spec's
  telescoping product is the point estimate). Its confidence interval rests on the bounded bridge
  identity: for ``w = e^{⟨Δ,x⟩}``, ``Δ = θ_j − θ_{j−1}`` and any constant ``c > 0``,

      Z(θ_j)/Z(θ_{j−1}) = E_{θ_{j−1}}[min(1, c·w)] / (c · E_{θ_j}[min(1, 1/(c·w))]),

  since with ``I = ∫ p·min(e^{⟨θ_{j−1},x⟩}, c·e^{⟨θ_j,x⟩})`` the numerator is ``I/Z(θ_{j−1})`` and the
  denominator's mean is ``I/(c·Z(θ_j))``. It is a ratio of means of [0, 1]-valued variables, so the empirical Bernstein bound (Maurer–Pontil) gives a
  finite-sample interval without any moment assumption. ``c`` is chosen on a pilot quarter of the
  samples that the interval does not use. An inexact sampler (a diffusion model) widens every mean by
  its TV distance to the exact tilt plus ``‖Δ‖·displacement`` (both variables are ‖Δ‖-Lipschitz).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import math

import numpy as np
import torch

from primitives._checks import check_unit_interval
from primitives.laws import Categorical, Gaussian, GaussianMixture

__all__ = [
    "LinearTiltOracle", "ExactTiltOracle", "as_tilt_oracle", "PartitionEstimate",
    "telescoping_log_partition",
]


@runtime_checkable
class LinearTiltOracle(Protocol):
    """What the KL planes construction may use of p: tilted draws and (optionally) log-partitions."""

    dim: int
    device: torch.device
    dtype: torch.dtype
    calls: int

    def sample_rows(self, thetas: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor: ...


def _thetas(name: str, thetas, dim: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
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
        thetas = _thetas("thetas", thetas, self.dim, self.dtype, self.device)
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
        thetas = _thetas("thetas", thetas, self.dim, self.dtype, self.device)
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
        theta_t = _thetas("theta", theta, self.dim, self.dtype, self.device)
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


# ---------------------------------------------------------------------------- telescoping
@dataclass(frozen=True)
class PartitionEstimate:
    """``log Z(θ)`` from oracle samples: the telescoping point estimate and a (1 − α) interval."""

    estimate: float
    lower: float
    upper: float
    alpha: float
    calls: int
    steps: int
    factors: list[dict] = field(default_factory=list)
    sampler_tv: float = 0.0
    displacement: float = 0.0

    def contains(self, value: float) -> bool:
        return self.lower <= value <= self.upper


def _mean_interval(values: np.ndarray, alpha_per_side: float, widening: float) -> tuple[float, float]:
    from estimators.confidence import empirical_bernstein_radius  # lazy: estimators import primitives

    radius = empirical_bernstein_radius(values, alpha_per_side) + widening
    mean = float(values.mean())
    return max(mean - radius, 0.0), min(mean + radius, 1.0)


def telescoping_log_partition(oracle: LinearTiltOracle, theta, *, steps: int = 4, samples_per_step: int = 4000,
                              alpha: float = 1e-6, generator: torch.Generator | None = None,
                              sampler_tv: float = 0.0, displacement: float = 0.0) -> PartitionEstimate:
    """``log Z(θ)`` by telescoping Monte Carlo over ``θ_j = jθ/m``, with a two-sided (1 − α) interval.

    Draws ``samples_per_step`` samples of each ``p_{θ_j}``, ``j = 0..m`` (``(m+1)·samples_per_step``
    oracle calls). ``sampler_tv`` bounds TV(sampler law, exact tilt) and ``displacement`` the distance of
    each sample from an exact draw (e.g. ODE solver error); both widen the interval (module docstring).
    An oracle that reports ``tv_bound(θ)`` and ``max_displacement`` (``ScoreTiltOracle``) widens it itself.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if isinstance(samples_per_step, bool) or not isinstance(samples_per_step, int) or samples_per_step < 16:
        raise ValueError(f"samples_per_step must be an integer ≥ 16, got {samples_per_step!r}")
    alpha = check_unit_interval("alpha", alpha)
    if sampler_tv < 0 or displacement < 0 or not math.isfinite(sampler_tv + displacement):
        raise ValueError("sampler_tv and displacement must be finite and ≥ 0")
    theta_t = _thetas("theta", theta, oracle.dim, oracle.dtype, oracle.device)[0]
    calls_before = oracle.calls
    grid = [theta_t * (j / steps) for j in range(steps + 1)]
    draws = [oracle.sample_rows(point.expand(samples_per_step, -1), generator) for point in grid]
    # An inexact oracle may report its own error: a TV bound per tilt and the solver displacement.
    if callable(getattr(oracle, "tv_bound", None)):
        sampler_tv = max([sampler_tv] + [oracle.tv_bound(point) for point in grid])
    displacement = max(displacement, float(getattr(oracle, "max_displacement", 0.0)))
    pilot = samples_per_step // 4
    delta_norm = float(torch.linalg.norm(theta_t)) / steps
    per_side = alpha / (4 * steps)  # 2m means, each bounded on both sides
    widening = sampler_tv + delta_norm * displacement
    estimate, lower, upper, factors = 0.0, 0.0, 0.0, []
    for j in range(1, steps + 1):
        delta = grid[j] - grid[j - 1]
        log_w_below = (draws[j - 1] @ delta).cpu().numpy()   # log w under p_{θ_{j−1}}
        log_w_above = (draws[j] @ delta).cpu().numpy()       # log w under p_{θ_j}
        plain = float(np.logaddexp.reduce(log_w_below) - math.log(log_w_below.size))
        estimate += plain
        log_c = -float(np.logaddexp.reduce(log_w_below[:pilot]) - math.log(pilot))
        numerator = np.exp(np.minimum(0.0, log_c + log_w_below[pilot:]))
        denominator = np.exp(np.minimum(0.0, -(log_c + log_w_above[pilot:])))
        num_low, num_high = _mean_interval(numerator, per_side, widening)
        den_low, den_high = _mean_interval(denominator, per_side, widening)
        with np.errstate(divide="ignore"):
            factor_low = math.log(num_low) - log_c - math.log(den_high) if num_low > 0 else -math.inf
            factor_high = math.log(num_high) - log_c - math.log(den_low) if den_low > 0 else math.inf
        lower += factor_low
        upper += factor_high
        factors.append({"j": j, "plain": plain, "lower": factor_low, "upper": factor_high, "log_c": log_c})
    return PartitionEstimate(estimate=estimate, lower=lower, upper=upper, alpha=alpha,
                             calls=oracle.calls - calls_before, steps=steps, factors=factors,
                             sampler_tv=sampler_tv, displacement=displacement)
