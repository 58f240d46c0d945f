"""KL alignment with the linear-tilt oracle only (tractability spec, L1).

``kl_align(base, reward, lam, n)`` returns n samples of ``q_KL ∝ p·e^{r/λ}`` and the oracle calls it
used (one call = one sample of a tilt ``p_θ``). Routes:

* **single tilt** (``LinearReward``): ``q_KL = p_{θ/λ}``, one call per sample.
* **planes** (``MaxOfPlanes``, ``LogSumExpReward``, ``ConvexLowRank`` at a stated ε): with a cover
  ``ℓ_i(z) = ⟨g_i, z⟩ + c_i ≤ f(z)``, ``max_i ℓ_i ≥ f − ε`` on K (``primitives.planes``),
    1. draw plane i with probability ∝ ``W_i = e^{c_i/λ}·Z(Aᵀg_i/λ)``;
    2. draw ``x ~ p_{Aᵀg_i/λ}`` (one oracle call);
    3. accept with probability ``min(1, e^{(f(Ax) − ε)/λ} / Σ_i e^{ℓ_i(Ax)/λ})``; else repeat.
  The proposal has density ``∝ p(x)·Σ_i e^{ℓ_i(Ax)/λ}``, so where ``Ax ∈ K`` the ratio is ≤ 1 and the
  output density is ``∝ p·e^{f/λ}``: exactly ``q_KL`` when K = ℝ^k (L1a). Outside K the ratio is
  clipped at 1, which costs at most ``q_KL(Ax ∉ K)`` in TV: the output is ``q·w/E_q w`` with
  ``w = 1`` on K and ``w ∈ [0, 1]`` off K, so ``TV = E_q(1 − w/E_q w)_+ ≤ q(K^c)``. The expected calls
  per sample are ``ΣW_i / E_p[min(S, e^{(f−ε)/λ})]``: at least ``e^{ε/λ}ΣW_i/Z`` (as
  ``min(S, e^{(f−ε)/λ}) ≤ e^{(f−ε)/λ}``), at most ``e^{ε/λ}ΣW_i/(Z·q(K))`` and at most
  ``e^{ε/λ}ΣW_i/max_j W_j ≤ e^{ε/λ}N`` (as ``min(S, e^{(f−ε)/λ}) ≥ e^{(ℓ_j−ε)/λ}`` for every j, ``ℓ_j ≤ f``)
  — L1b, whatever the region K.
* **Laplace mixture** (``LogSumExpReward`` with ``τ/λ`` a positive integer): ``e^{f/λ}`` is a finite
  mixture of tilts, so draw the term t ∝ ``e^{log_coef_t}Z(Aᵀs_t)`` and ``x ~ p_{Aᵀs_t}``: exact, one
  call per sample.
* **Hubbard–Stratonovich** (``SquaredNormReward``): ``e^{‖Lx‖²/(2λ)} = E_{ξ~N(0,I)} e^{⟨ξ,Lx⟩/√λ}``;
  draw ξ from ``∝ φ(ξ)Z(Lᵀξ/√λ)`` and ``x ~ p_{Lᵀξ/√λ}``. For a Gaussian or Gaussian-mixture base
  ``log Z`` is a log-sum of quadratics, so that mixing law is a Gaussian mixture (component k:
  precision ``P_k = I − LΣ_kLᵀ/λ``, mean ``P_k⁻¹Lμ_k/√λ``, weight ∝ ``π_k|P_k|^{−½}e^{½hᵀP_k⁻¹h}``);
  ``P_k ≻ 0`` is exactly the condition for ``q_KL`` to exist.

Partition errors (L1d): ``log_partitions=`` replaces the exact ``log Z(Aᵀg_i/λ)`` (e.g. telescoping
estimates of a diffusion model); with ``Ẑ_i/Z_i ∈ [1 − η, 1 + η]`` the output is ``q·ρ/E_qρ`` with ρ a convex
combination of the ratios, so ``ρ/E_qρ`` ranges over ``κ = (1+η)/(1−η)`` and the output is within TV
``(√κ − 1)/(√κ + 1) = tanh(artanh(η)/2) ≤ η`` of ``q_KL``, attained by a two-level ρ (proof and attaining
instance: ``theorems.kl_partition_error``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import math

import numpy as np
import torch

from primitives._checks import check_positive
from primitives.laws import Gaussian, GaussianMixture
from primitives.planes import (ConvexLowRank, LaplaceMixture, LogSumExpReward, LowDimensionalReward, MaxOfPlanes,
                               PlaneCover, SquaredNormReward)
from primitives.rewards import LinearReward, Reward
from primitives.tilt_oracle import ExactTiltOracle, LinearTiltOracle, as_tilt_oracle

__all__ = ["KLAlignResult", "kl_align", "plane_cover", "plane_log_weights"]

_RATIO_TOLERANCE = 1e-9
_CHUNK_ENTRIES = 1 << 16   # rows × planes per chunk of the plane log-sum: small enough to stay in cache


@dataclass(frozen=True)
class KLAlignResult:
    """n samples ``(n, d)`` of ``q_KL`` and the oracle calls (tilted draws) used to get them."""

    samples: torch.Tensor
    oracle_calls: int
    route: str
    planes: int
    epsilon: float = 0.0
    clipped: int = 0
    region_radius: float = math.inf
    details: dict = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return int(self.samples.shape[0])

    @property
    def calls_per_sample(self) -> float:
        return self.oracle_calls / max(self.accepted, 1)


def _check_count(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    return int(n)


def plane_cover(reward: Reward, epsilon: float | None = None) -> PlaneCover:
    """The plane cover ``kl_align`` uses for ``reward`` (its order fixes ``log_partitions``)."""
    if isinstance(reward, (MaxOfPlanes, LogSumExpReward, ConvexLowRank)):
        return reward.cover(epsilon)
    if isinstance(reward, LinearReward):
        return PlaneCover(np.asarray(reward.theta, dtype=float)[None, :], np.array([reward.offset]), 0.0,
                          np.zeros(reward.theta.shape[0]))
    raise ValueError(f"reward {getattr(reward, 'name', reward)!r} has no plane cover: use MaxOfPlanes, "
                     "LogSumExpReward, ConvexLowRank (convex f(Ax) with a subgradient) or LinearReward")


def _projection(reward: Reward, dim: int) -> np.ndarray:
    if isinstance(reward, LowDimensionalReward):
        if reward.dim != dim:
            raise ValueError(f"reward acts on ℝ^{reward.dim} (A has {reward.dim} columns) but the base has dimension {dim}")
        return reward.A
    if isinstance(reward, LinearReward):
        if reward.theta.shape[0] != dim:
            raise ValueError(f"reward theta has length {reward.theta.shape[0]} but the base has dimension {dim}")
        return np.eye(dim)
    raise ValueError(f"reward {getattr(reward, 'name', reward)!r} is not of the form f(Ax)")


def plane_log_weights(oracle: LinearTiltOracle, cover: PlaneCover, A: np.ndarray, lam: float) -> np.ndarray:
    """``log W_i = c_i/λ + log Z(Aᵀg_i/λ)`` from the oracle's exact log-partitions."""
    if not hasattr(oracle, "log_partition"):
        raise ValueError("log_partitions: this oracle has no exact log_partition; pass estimates "
                         "(e.g. telescoping_log_partition) as log_partitions=")
    thetas = cover.slopes @ A / lam
    log_z = oracle.log_partition(torch.as_tensor(thetas, dtype=oracle.dtype, device=oracle.device))
    return cover.intercepts / lam + log_z.cpu().numpy()


def _log_sum_planes(z: torch.Tensor, slopes: torch.Tensor, intercepts: torch.Tensor, lam: float) -> torch.Tensor:
    """``log Σ_i e^{ℓ_i(z)/λ}`` per row: the 1/λ folded into the planes and the intercepts added by one fused
    ``addmm`` per cache-sized chunk (one pass over each chunk instead of three; the cost of an L1b call)."""
    rows = max(1, _CHUNK_ENTRIES // max(1, slopes.shape[0]))
    scaled_slopes, scaled_intercepts = (slopes / lam).T.contiguous(), intercepts / lam
    parts = [torch.logsumexp(torch.addmm(scaled_intercepts, z[i:i + rows], scaled_slopes), dim=-1)
             for i in range(0, z.shape[0], rows)]
    return torch.cat(parts) if parts else z.new_empty(0)


def _planes_sample(oracle: LinearTiltOracle, reward: Reward, cover: PlaneCover, A: np.ndarray, lam: float, n: int,
                   generator, log_weights: np.ndarray, strict: bool, max_calls: int) -> KLAlignResult:
    dtype, device = oracle.dtype, oracle.device
    A_t = torch.as_tensor(A, dtype=dtype, device=device)
    slopes = torch.as_tensor(cover.slopes, dtype=dtype, device=device)
    intercepts = torch.as_tensor(cover.intercepts, dtype=dtype, device=device)
    thetas = slopes @ A_t / lam
    if not np.isfinite(log_weights).all():
        raise ValueError("log_partitions must be finite")
    probabilities = torch.softmax(torch.as_tensor(log_weights, dtype=dtype, device=device), dim=0)
    center = torch.as_tensor(cover.region_center, dtype=dtype, device=device)
    epsilon = cover.epsilon
    kept, remaining, calls, accepted_total, clipped = [], n, 0, 0, 0
    while remaining > 0:
        rate = (accepted_total + 1.0) / (calls + 2.0)
        batch = int(min(1 << 18, max(256, math.ceil(1.2 * remaining / rate) + 64)))
        if calls + batch > max_calls:
            raise RuntimeError(f"kl_align needed more than max_calls={max_calls} oracle calls "
                               f"(acceptance ≈ {rate:.3g}); raise epsilon, lower the net or raise max_calls")
        index = torch.multinomial(probabilities, batch, replacement=True, generator=generator)
        x = oracle.sample_rows(thetas[index], generator)
        z = x @ A_t.T
        log_ratio = (reward(x) - epsilon) / lam - _log_sum_planes(z, slopes, intercepts, lam)
        over = log_ratio > _RATIO_TOLERANCE * torch.clamp(log_ratio.abs(), min=1.0)
        if bool(over.any()):
            inside = torch.linalg.norm(z - center, dim=-1) <= cover.region_radius
            if strict and bool((over & inside).any()):
                worst = float(log_ratio[over & inside].max())
                raise ValueError(
                    f"the plane cover is invalid for reward {reward.name}: f(Ax) exceeds max_i ℓ_i(Ax) + ε inside "
                    f"the covered region (log ratio {worst:.3g} > 0); f is not convex or ε is too small")
        uniforms = torch.rand(batch, generator=generator, dtype=dtype, device=device)
        accept = torch.log(uniforms) < torch.clamp(log_ratio, max=0.0)
        hits = int(accept.sum())
        if hits >= remaining:
            last = int(torch.nonzero(accept)[remaining - 1])
            kept.append(x[: last + 1][accept[: last + 1]])
            clipped += int(over[: last + 1].sum())
            calls += last + 1
            remaining = 0
        else:
            kept.append(x[accept])
            clipped += int(over.sum())
            calls += batch
            accepted_total += hits
            remaining -= hits
    samples = torch.cat(kept) if kept else torch.empty(0, oracle.dim, dtype=dtype, device=device)
    return KLAlignResult(samples=samples, oracle_calls=calls, route="planes", planes=cover.size, epsilon=epsilon,
                         clipped=clipped, region_radius=cover.region_radius,
                         details={"log_weights": log_weights,
                                  "log_total_weight": float(np.logaddexp.reduce(log_weights))})


def _mixture_sample(oracle: LinearTiltOracle, thetas: torch.Tensor, log_weights: torch.Tensor, n: int, generator,
                    route: str) -> KLAlignResult:
    index = torch.multinomial(torch.softmax(log_weights, dim=0), n, replacement=True, generator=generator) \
        if n > 0 else torch.empty(0, dtype=torch.long, device=thetas.device)
    before = oracle.calls
    samples = oracle.sample_rows(thetas[index], generator)
    return KLAlignResult(samples=samples, oracle_calls=oracle.calls - before, route=route, planes=thetas.shape[0])


def _laplace_sample(oracle: LinearTiltOracle, reward: LogSumExpReward, mixture: LaplaceMixture, lam: float, n: int,
                    generator) -> KLAlignResult:
    dtype, device = oracle.dtype, oracle.device
    thetas = torch.as_tensor(mixture.slopes @ reward.A, dtype=dtype, device=device)
    log_z = oracle.log_partition(thetas)
    log_weights = torch.as_tensor(mixture.log_coefficients, dtype=dtype, device=device) + log_z
    return _mixture_sample(oracle, thetas, log_weights, n, generator, "laplace mixture")


def hubbard_stratonovich_mixing(base, L: np.ndarray, lam: float):
    """The Gaussian-mixture law of ξ ``∝ φ(ξ)·Z(Lᵀξ/√λ)``: (log-weights, means, covariances) as numpy."""
    if isinstance(base, Gaussian):
        weights, means, covs = np.ones(1), base.mean.cpu().numpy()[None], base.cov.cpu().numpy()[None]
    elif isinstance(base, GaussianMixture):
        weights, means, covs = base.weights.cpu().numpy(), base.means.cpu().numpy(), base.covs.cpu().numpy()
    else:
        raise ValueError("½‖Lx‖² by Hubbard–Stratonovich needs a Gaussian or GaussianMixture base (its mixing law "
                         f"∝ φ(ξ)Z(Lᵀξ/√λ) is then a Gaussian mixture), got {base!r}")
    k = L.shape[0]
    log_weights, mix_means, mix_covs = [], [], []
    for weight, mean, cov in zip(weights, means, covs):
        precision = np.eye(k) - L @ cov @ L.T / lam
        eigenvalues = np.linalg.eigvalsh(precision)
        if eigenvalues.min() <= 1e-12:
            raise ValueError(f"lam={lam} is too small for the reward ½‖Lx‖²: E_p e^{{‖Lx‖²/(2λ)}} is infinite "
                             "(I − LΣLᵀ/λ is not positive definite), so q_KL does not exist")
        shift = L @ mean / math.sqrt(lam)
        cov_xi = np.linalg.inv(precision)
        cov_xi = 0.5 * (cov_xi + cov_xi.T)
        mean_xi = cov_xi @ shift
        with np.errstate(divide="ignore"):
            log_weights.append(math.log(weight) if weight > 0 else -math.inf)
        log_weights[-1] += -0.5 * float(np.sum(np.log(eigenvalues))) + 0.5 * float(shift @ mean_xi)
        mix_means.append(mean_xi)
        mix_covs.append(cov_xi)
    return np.array(log_weights), np.array(mix_means), np.array(mix_covs)


def _hubbard_stratonovich_sample(oracle: LinearTiltOracle, reward: SquaredNormReward, lam: float, n: int,
                                 generator) -> KLAlignResult:
    if not isinstance(oracle, ExactTiltOracle):
        raise ValueError("½‖Lx‖² by Hubbard–Stratonovich needs an exact-tilt base (Gaussian or GaussianMixture)")
    log_weights, means, covs = hubbard_stratonovich_mixing(oracle.base, reward.L, lam)
    dtype, device = oracle.dtype, oracle.device
    if n == 0:
        return KLAlignResult(oracle.base.sample(0).reshape(0, oracle.dim), 0, "hubbard-stratonovich", len(means))
    labels = torch.multinomial(torch.softmax(torch.as_tensor(log_weights, dtype=dtype, device=device), 0), n,
                               replacement=True, generator=generator)
    factors = torch.linalg.cholesky(torch.as_tensor(covs, dtype=dtype, device=device))
    noise = torch.randn(n, reward.k, generator=generator, dtype=dtype, device=device)
    xi = torch.as_tensor(means, dtype=dtype, device=device)[labels] + torch.einsum("nij,nj->ni", factors[labels], noise)
    thetas = xi @ torch.as_tensor(reward.L, dtype=dtype, device=device) / math.sqrt(lam)
    before = oracle.calls
    samples = oracle.sample_rows(thetas, generator)
    return KLAlignResult(samples=samples, oracle_calls=oracle.calls - before, route="hubbard-stratonovich",
                         planes=len(means))


def kl_align(base, reward: Reward, lam: float, n: int, generator: torch.Generator | None = None, *,
             epsilon: float | None = None, route: str = "auto", log_partitions=None, cover: PlaneCover | None = None,
             strict: bool = True, max_calls: int = 10**9) -> KLAlignResult:
    """n samples of ``q_KL ∝ p·e^{r/λ}`` using only the linear-tilt oracle of ``base``.

    ``base``: a ``Gaussian``, ``GaussianMixture``, ``Categorical`` (wrapped in ``ExactTiltOracle``) or
    any linear-tilt oracle. ``route``: ``"auto"`` (single tilt / Laplace mixture / Hubbard–Stratonovich
    where exact, planes otherwise), ``"planes"``, ``"laplace"``. ``epsilon``: the net's ε for a
    ``ConvexLowRank`` reward. ``log_partitions``: replaces the exact ``log Z`` of the planes' tilts (in
    ``plane_cover(reward, epsilon)`` order). ``cover``: use these planes instead of the reward's own (they
    must be minorants of f; ``strict`` refuses a cover found invalid inside its region while sampling).
    """
    lam = check_positive("lam", lam)
    n = _check_count(n)
    if route not in ("auto", "planes", "laplace"):
        raise ValueError(f"route must be 'auto', 'planes' or 'laplace', got {route!r}")
    oracle = as_tilt_oracle(base)
    dim = oracle.dim
    if isinstance(reward, SquaredNormReward):
        if reward.dim != dim:
            raise ValueError(f"reward acts on ℝ^{reward.dim} (L has {reward.dim} columns) but the base has dimension {dim}")
        if route == "planes":
            raise ValueError("route='planes' needs a Lipschitz reward; ½‖Lx‖² is aligned by Hubbard–Stratonovich")
        return _hubbard_stratonovich_sample(oracle, reward, lam, n, generator)
    A = _projection(reward, dim)
    custom = cover is not None or log_partitions is not None
    if isinstance(reward, LinearReward) and route != "planes" and not custom:
        theta = torch.as_tensor(reward.theta / lam, dtype=oracle.dtype, device=oracle.device)
        before = oracle.calls
        samples = oracle.sample_rows(theta.expand(n, -1), generator)
        return KLAlignResult(samples, oracle.calls - before, "single tilt", 1)
    if isinstance(reward, LogSumExpReward) and route != "planes" and not custom:
        mixture = reward.laplace_mixture(lam)
        if mixture is not None:
            return _laplace_sample(oracle, reward, mixture, lam, n, generator)
        if route == "laplace":
            raise ValueError(f"route='laplace' needs temperature/lam to be a positive integer "
                             f"(got {reward.temperature}/{lam}) and a mixture of at most "
                             f"{LogSumExpReward.MAX_MIXTURE_TERMS} terms")
    elif route == "laplace":
        raise ValueError(f"route='laplace' is for LogSumExpReward and SquaredNormReward, not {reward.name}")
    if cover is None:
        cover = plane_cover(reward, epsilon)
    elif not isinstance(cover, PlaneCover) or cover.slopes.shape[1] != A.shape[0]:
        raise ValueError(f"cover must be a PlaneCover with slopes of shape (N, {A.shape[0]})")
    if log_partitions is None:
        log_weights = plane_log_weights(oracle, cover, A, lam)
    else:
        log_z = np.asarray(log_partitions, dtype=float).reshape(-1)
        if log_z.shape != (cover.size,):
            raise ValueError(f"log_partitions must have one entry per plane ({cover.size}), got shape {log_z.shape}")
        log_weights = cover.intercepts / lam + log_z
    return _planes_sample(oracle, reward, cover, A, lam, n, generator, log_weights, strict, max_calls)
