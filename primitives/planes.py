"""Low-dimensional rewards ``r(x) = f(Ax)`` and their plane covers (tractability spec, L1).

A **plane cover** of f is a family of affine minorants ``ℓ_i(z) = ⟨g_i, z⟩ + c_i ≤ f(z)`` with
``max_i ℓ_i ≥ f − ε`` on a region K ⊂ ℝ^k (``K = ℝ^k`` when ``region_radius`` is infinite). It is
all ``kl_align`` needs: the proposal ``∝ p·Σ_i e^{ℓ_i(Ax)/λ}`` is a mixture of linear tilts.

* ``MaxOfPlanes(A, G, c)``: ``f(z) = max_i ⟨G_i, z⟩ + c_i``; its own planes, ``ε = 0``, ``K = ℝ^k``.
* ``LogSumExpReward(A, V, offsets, temperature τ)``: ``f(z) = τ log Σ_j e^{(⟨V_j,z⟩ + b_j)/τ}``. Its
  pieces ``⟨V_j,z⟩ + b_j`` are minorants and ``f ≤ max_j(…) + τ log J``, so ``ε = τ log J`` on ℝ^k.
  When ``τ/λ = m`` is a positive integer, ``e^{f/λ} = (Σ_j e^{(⟨V_j,z⟩+b_j)/τ})^m`` expands
  (multinomial theorem) into a finite **Laplace mixture** of linear tilts: exact, acceptance 1.
* ``SquaredNormReward(L)``: ``½‖Lx‖²``; ``e^{‖Lx‖²/(2λ)} = E_{ξ~N(0,I)} e^{⟨ξ, Lx⟩/√λ}``
  (Hubbard–Stratonovich), a continuous Laplace mixture of tilts.
* ``ConvexLowRank(A, f, subgradient, lipschitz, radius)``: any convex L-Lipschitz f with a
  subgradient oracle. ``cover(ε)`` takes tangent planes at the points of the grid ``center + hℤ^k``,
  ``h = ε/(L√k)``, lying within ``R + δ`` of the centre (``δ = h√k/2 = ε/(2L)``): every z in the ball
  K of radius R has a net point y with ``‖z − y‖ ≤ δ``, so ``f(z) − ℓ_y(z) ≤ Lδ + ‖g‖δ ≤ 2Lδ = ε``.
  The count is ``N ≤ (2R/h + √k + 1)^k = (2√k·LR/ε + √k + 1)^k``: exponential in k, free of d.
  ``cover`` checks the planes on the net (``ℓ_i(y_j) ≤ f(y_j)``), a necessary condition of convexity,
  and refuses a non-convex f or a wrong subgradient.

``A`` must have full row rank k (else ``ValueError`` naming ``A``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import math

import numpy as np
import torch
from scipy.special import gammaln

from primitives._checks import check_positive
from primitives.rewards import Reward

__all__ = [
    "PlaneCover", "LowDimensionalReward", "MaxOfPlanes", "LogSumExpReward", "SquaredNormReward",
    "ConvexLowRank", "check_full_row_rank", "LaplaceMixture",
]

_CONVEXITY_TOLERANCE = 1e-9


def check_full_row_rank(name: str, matrix, dim: int | None = None) -> np.ndarray:
    """``matrix`` as a finite ``(k, d)`` array of rank k, else ``ValueError`` naming ``name``."""
    array = np.asarray(matrix, dtype=float)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"{name} must be a (k, d) matrix, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must contain only finite values")
    if dim is not None and array.shape[1] != dim:
        raise ValueError(f"{name} must have {dim} columns, got {array.shape[1]}")
    k, d = array.shape
    singular = np.linalg.svd(array, compute_uv=False)
    if k > d or singular.min() <= 1e-10 * max(1.0, singular.max()):
        raise ValueError(f"{name} must have full row rank k={k} (rows linearly independent, k ≤ d={d}); "
                         f"its singular values are {np.array2string(singular, precision=3)}")
    return array


@dataclass(frozen=True)
class PlaneCover:
    """Planes ``ℓ_i(z) = ⟨slopes_i, z⟩ + intercepts_i ≤ f(z)`` with ``max_i ℓ_i ≥ f − ε`` on the ball
    of radius ``region_radius`` around ``region_center`` (all of ℝ^k when the radius is infinite)."""

    slopes: np.ndarray          # (N, k)
    intercepts: np.ndarray      # (N,)
    epsilon: float
    region_center: np.ndarray   # (k,)
    region_radius: float = math.inf
    spacing: float | None = None
    points: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(self.slopes.shape[0])

    def drop(self, index: int) -> "PlaneCover":
        """The same cover with plane ``index`` removed (a wrong variant used by the checks)."""
        keep = np.arange(self.size) != index
        return PlaneCover(self.slopes[keep], self.intercepts[keep], self.epsilon, self.region_center,
                          self.region_radius, self.spacing, None if self.points is None else self.points[keep])


@dataclass(frozen=True)
class LaplaceMixture:
    """``e^{f(z)/λ} = Σ_t e^{log_coefficients_t + ⟨slopes_t, z⟩}`` exactly (a finite mixture of tilts)."""

    log_coefficients: np.ndarray  # (T,)
    slopes: np.ndarray            # (T, k)


class LowDimensionalReward(Reward):
    """``r(x) = f(Ax)`` with ``A ∈ ℝ^{k×d}`` of full row rank; subclasses implement ``profile(z)``."""

    def __init__(self, A) -> None:
        self.A = check_full_row_rank("A", A)
        self.k, self.dim = self.A.shape

    def profile(self, z: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def project(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}) for a reward with A of shape {self.A.shape}, "
                             f"got {tuple(x.shape)}")
        return x @ torch.as_tensor(self.A, dtype=x.dtype, device=x.device).T

    def _evaluate(self, x: torch.Tensor) -> torch.Tensor:
        return self.profile(self.project(x))


class MaxOfPlanes(LowDimensionalReward):
    """``r(x) = max_i ⟨G_i, Ax⟩ + c_i`` (convex, piecewise linear): exact for L1, ``ε = 0``."""

    def __init__(self, A, G, c) -> None:
        super().__init__(A)
        G_array = np.asarray(G, dtype=float)
        if G_array.ndim == 1 and self.k == 1:
            G_array = G_array[:, None]
        if G_array.ndim != 2 or G_array.shape[1] != self.k or G_array.shape[0] < 1:
            raise ValueError(f"G must have shape (N, {self.k}) to match A with {self.k} rows, got {G_array.shape}")
        c_array = np.atleast_1d(np.asarray(c, dtype=float))
        if c_array.shape != (G_array.shape[0],):
            raise ValueError(f"c must have shape ({G_array.shape[0]},) to match G, got {c_array.shape}")
        if not (np.isfinite(G_array).all() and np.isfinite(c_array).all()):
            raise ValueError("G and c must contain only finite values")
        self.G, self.c = G_array, c_array
        self.name = "max-of-planes"
        self.lipschitz = float(np.linalg.norm(G_array, axis=1).max())
        self.sup = float(c_array.max()) if not np.any(G_array) else math.inf

    def profile(self, z: torch.Tensor) -> torch.Tensor:
        G = torch.as_tensor(self.G, dtype=z.dtype, device=z.device)
        c = torch.as_tensor(self.c, dtype=z.dtype, device=z.device)
        return (z @ G.T + c).max(dim=-1).values

    def cover(self, epsilon: float | None = None) -> PlaneCover:
        return PlaneCover(self.G.copy(), self.c.copy(), 0.0, np.zeros(self.k))


class LogSumExpReward(LowDimensionalReward):
    """``r(x) = τ log Σ_j exp((⟨V_j, Ax⟩ + b_j)/τ)`` (convex; smooth max at temperature τ)."""

    MAX_MIXTURE_TERMS = 20_000

    def __init__(self, A, V, offsets=None, temperature: float = 1.0) -> None:
        super().__init__(A)
        V_array = np.asarray(V, dtype=float)
        if V_array.ndim == 1 and self.k == 1:
            V_array = V_array[:, None]
        if V_array.ndim != 2 or V_array.shape[1] != self.k or V_array.shape[0] < 1:
            raise ValueError(f"V must have shape (J, {self.k}) to match A with {self.k} rows, got {V_array.shape}")
        offsets_array = np.zeros(V_array.shape[0]) if offsets is None else np.atleast_1d(np.asarray(offsets, dtype=float))
        if offsets_array.shape != (V_array.shape[0],):
            raise ValueError(f"offsets must have shape ({V_array.shape[0]},), got {offsets_array.shape}")
        if not (np.isfinite(V_array).all() and np.isfinite(offsets_array).all()):
            raise ValueError("V and offsets must contain only finite values")
        self.V, self.offsets = V_array, offsets_array
        self.temperature = check_positive("temperature", temperature)
        self.name = "log-sum-exp"
        self.lipschitz = float(np.linalg.norm(V_array, axis=1).max())

    def profile(self, z: torch.Tensor) -> torch.Tensor:
        V = torch.as_tensor(self.V, dtype=z.dtype, device=z.device)
        b = torch.as_tensor(self.offsets, dtype=z.dtype, device=z.device)
        return self.temperature * torch.logsumexp((z @ V.T + b) / self.temperature, dim=-1)

    def cover(self, epsilon: float | None = None) -> PlaneCover:
        """The J pieces, with ``ε = τ log J`` on all of ℝ^k."""
        return PlaneCover(self.V.copy(), self.offsets.copy(), self.temperature * math.log(self.V.shape[0]),
                          np.zeros(self.k))

    def laplace_mixture(self, lam: float) -> LaplaceMixture | None:
        """The exact finite mixture of tilts when ``τ/λ`` is a positive integer m (else ``None``)."""
        lam = check_positive("lam", lam)
        ratio = self.temperature / lam
        m = round(ratio)
        if m < 1 or abs(ratio - m) > 1e-12 * max(1.0, ratio):
            return None
        J = self.V.shape[0]
        terms = math.comb(m + J - 1, J - 1)
        if terms > self.MAX_MIXTURE_TERMS:
            return None
        counts = np.array([c for c in _compositions(m, J)], dtype=float)           # (T, J)
        log_multinomial = gammaln(m + 1) - gammaln(counts + 1).sum(axis=1)
        log_coefficients = log_multinomial + counts @ self.offsets / self.temperature
        slopes = counts @ self.V / self.temperature
        return LaplaceMixture(log_coefficients, slopes)


def _compositions(total: int, parts: int):
    """All ``(n_1, …, n_parts)`` of non-negative integers summing to ``total``."""
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in _compositions(total - first, parts - 1):
            yield (first,) + rest


class SquaredNormReward(Reward):
    """``r(x) = ½‖Lx‖²`` (convex quadratic). KL-aligned by Hubbard–Stratonovich in ``kl_align``."""

    def __init__(self, L) -> None:
        L_array = np.asarray(L, dtype=float)
        if L_array.ndim == 1:
            L_array = L_array[None, :]
        if L_array.ndim != 2 or not np.isfinite(L_array).all():
            raise ValueError(f"L must be a finite (k, d) matrix, got shape {L_array.shape}")
        self.L = L_array
        self.k, self.dim = L_array.shape
        self.name = "half-squared-norm"

    def _evaluate(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got {tuple(x.shape)}")
        projected = x @ torch.as_tensor(self.L, dtype=x.dtype, device=x.device).T
        return 0.5 * (projected**2).sum(-1)


class ConvexLowRank(LowDimensionalReward):
    """``r(x) = f(Ax)`` for a convex L-Lipschitz ``f: ℝ^k → ℝ`` given with a subgradient.

    ``f`` and ``subgradient`` take a ``(m, k)`` tensor and return ``(m,)`` and ``(m, k)``. The KL planes
    cover the ball of radius ``radius`` around ``center`` (default: the origin) at the ε passed to
    ``cover`` (``kl_align(..., epsilon=ε)``).
    """

    MAX_PLANES = 200_000

    def __init__(self, A, f: Callable[[torch.Tensor], torch.Tensor],
                 subgradient: Callable[[torch.Tensor], torch.Tensor], lipschitz: float, radius: float,
                 center=None, name: str = "convex-low-rank") -> None:
        super().__init__(A)
        if not callable(f) or not callable(subgradient):
            raise ValueError("f and subgradient must be callables on (m, k) tensors")
        self.f, self.subgradient = f, subgradient
        self.lipschitz = check_positive("lipschitz", lipschitz)
        self.radius = check_positive("radius", radius)
        center_array = np.zeros(self.k) if center is None else np.atleast_1d(np.asarray(center, dtype=float))
        if center_array.shape != (self.k,) or not np.isfinite(center_array).all():
            raise ValueError(f"center must be a finite vector of length {self.k}")
        self.center = center_array
        self.name = name

    def profile(self, z: torch.Tensor) -> torch.Tensor:
        values = self.f(z)
        return values.reshape(-1)

    def net(self, epsilon: float) -> tuple[np.ndarray, float]:
        """Grid points ``center + hℤ^k`` within ``R + δ`` of the centre, ``h = ε/(L√k)``; returns (points, h)."""
        epsilon = check_positive("epsilon", epsilon)
        k = self.k
        spacing = epsilon / (self.lipschitz * math.sqrt(k))
        covering = spacing * math.sqrt(k) / 2.0
        reach = self.radius + covering
        count = int(math.floor(reach / spacing))
        if (2 * count + 1) ** k > 50 * self.MAX_PLANES:
            raise ValueError(f"epsilon={epsilon} needs a net of about {(2 * count + 1) ** k} points in k={k}; "
                             "raise epsilon or lower radius")
        axis = np.arange(-count, count + 1) * spacing
        grid = np.stack(np.meshgrid(*([axis] * k), indexing="ij"), axis=-1).reshape(-1, k)
        keep = np.linalg.norm(grid, axis=1) <= reach + 1e-12
        points = grid[keep] + self.center
        if points.shape[0] > self.MAX_PLANES:
            raise ValueError(f"epsilon={epsilon} needs {points.shape[0]} planes (> {self.MAX_PLANES}); raise epsilon")
        return points, spacing

    def cover(self, epsilon: float | None = None) -> PlaneCover:
        if epsilon is None:
            raise ValueError("epsilon: a convex f(Ax) is covered by a net at a stated ε; pass epsilon=")
        points, spacing = self.net(epsilon)
        z = torch.as_tensor(points, dtype=torch.float64)
        values = self.f(z).reshape(-1).to(torch.float64)
        slopes = self.subgradient(z).to(torch.float64).reshape(points.shape[0], self.k)
        if not (torch.isfinite(values).all() and torch.isfinite(slopes).all()):
            raise ValueError("f or subgradient returned non-finite values on the net")
        norms = torch.linalg.norm(slopes, dim=1)
        if float(norms.max()) > self.lipschitz * (1 + 1e-9):
            raise ValueError(f"lipschitz={self.lipschitz} is smaller than a subgradient norm {float(norms.max()):.6g}")
        intercepts = values - (slopes * z).sum(-1)
        _check_minorants(z, values, slopes, intercepts, self.name)
        return PlaneCover(slopes.numpy(), intercepts.numpy(), float(epsilon), self.center.copy(), self.radius,
                          spacing, points)


def _check_minorants(z: torch.Tensor, values: torch.Tensor, slopes: torch.Tensor, intercepts: torch.Tensor,
                     name: str) -> None:
    """Every tangent plane must stay below f at every net point (a necessary condition of convexity)."""
    chunk = max(1, 4_000_000 // max(1, z.shape[0]))
    scale = 1.0 + values.abs()
    for start in range(0, z.shape[0], chunk):
        planes = slopes[start:start + chunk] @ z.T + intercepts[start:start + chunk, None]   # (c, M)
        excess = (planes - values[None, :]) / scale[None, :]
        worst = float(excess.max())
        if worst > _CONVEXITY_TOLERANCE:
            i, j = divmod(int(torch.argmax(excess)), z.shape[0])
            raise ValueError(
                f"f is not convex (or subgradient is wrong) for reward {name}: the tangent plane at "
                f"{z[start + i].tolist()} exceeds f at {z[j].tolist()} by {float(excess.max() * scale[j]):.3g}; "
                "the planes construction only reaches the convex envelope")
