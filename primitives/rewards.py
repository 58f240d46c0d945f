"""Rewards r: X → ℝ, evaluated on batches (torch).

A reward maps a batch of points (``(n, d)`` for ℝ^d, ``(n,)`` for finite laws) to an ``(n,)``
tensor. ``sup`` is the essential supremum when known (``inf`` otherwise); ideal rejection (T1)
uses it as the envelope. Rewards that depend on x only through one linear statistic
``s = ⟨u, x⟩`` (linear and step rewards) expose ``direction`` and ``profile(s)``, which the exact
laws use. Every reward checks its own output: a NaN or infinite reward raises ``ValueError``.
"""
from __future__ import annotations

from typing import Callable

import math

import numpy as np
import torch

from primitives._checks import check_finite_scalar

__all__ = [
    "Reward",
    "LinearReward",
    "QuadraticReward",
    "StepReward",
    "SigmoidReward",
    "TableReward",
    "CallableReward",
    "as_reward",
]


def _vector(name: str, value, dim: int | None = None) -> np.ndarray:
    array = np.atleast_1d(np.asarray(value, dtype=float))
    if array.ndim != 1:
        raise ValueError(f"{name} must be a vector, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must contain only finite values")
    if dim is not None and array.shape[0] != dim:
        raise ValueError(f"{name} must have length {dim}, got {array.shape[0]}")
    return array


class Reward:
    """Base class: subclasses implement ``_evaluate``; calling checks shapes and finiteness."""

    sup: float = math.inf
    name: str = "reward"

    def _evaluate(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        values = self._evaluate(x)
        if not isinstance(values, torch.Tensor):
            values = torch.as_tensor(np.asarray(values, dtype=float), device=x.device)
        values = values.reshape(-1)
        if values.shape[0] != x.shape[0]:
            raise ValueError(
                f"reward {self.name} returned {values.shape[0]} values for a batch of {x.shape[0]} points"
            )
        # One reduction instead of a full mask: a finite sum implies finite terms; if the sum is not
        # finite (a NaN/inf term, or a harmless overflow of the sum) look at the terms themselves.
        if not bool(torch.isfinite(values.sum())) and not bool(torch.isfinite(values).all()):
            raise ValueError(f"reward {self.name} returned non-finite values (NaN or ±inf)")
        return values


class LinearReward(Reward):
    """``r(x) = ⟨θ, x⟩ + offset``; a function of ``s = ⟨θ, x⟩`` with profile ``s + offset``."""

    def __init__(self, theta, offset: float = 0.0) -> None:
        self.theta = _vector("theta", theta)
        self.offset = check_finite_scalar("offset", offset)
        self.direction = self.theta
        self.name = "linear"
        self.sup = math.inf if np.any(self.theta != 0) else self.offset

    def _check_dim(self, x: torch.Tensor) -> None:
        if x.ndim != 2 or x.shape[1] != self.theta.shape[0]:
            raise ValueError(
                f"x must have shape (n, {self.theta.shape[0]}) for a reward with theta of length "
                f"{self.theta.shape[0]}, got {tuple(x.shape)}"
            )

    def _evaluate(self, x: torch.Tensor) -> torch.Tensor:
        self._check_dim(x)
        if x.shape[1] == 1:  # a scalar multiply beats a (n, 1) @ (1,) product
            return x[:, 0] * float(self.theta[0]) + self.offset
        theta = torch.as_tensor(self.theta, dtype=x.dtype, device=x.device)
        return x @ theta + self.offset

    def profile(self, s: np.ndarray) -> np.ndarray:
        return s + self.offset


class QuadraticReward(Reward):
    """``r(x) = −½ xᵀQx + ⟨b, x⟩ + c`` (concave when Q ⪰ 0)."""

    def __init__(self, Q, b, c: float = 0.0) -> None:
        self.b = _vector("b", b)
        d = self.b.shape[0]
        Q_array = np.atleast_2d(np.asarray(Q, dtype=float))
        if Q_array.shape != (d, d):
            raise ValueError(f"Q must have shape ({d}, {d}) to match b of length {d}, got {Q_array.shape}")
        if not np.isfinite(Q_array).all() or not np.allclose(Q_array, Q_array.T):
            raise ValueError("Q must be a finite symmetric matrix")
        self.Q = Q_array
        self.c = check_finite_scalar("c", c)
        self.name = "quadratic"
        eigenvalues = np.linalg.eigvalsh(Q_array)
        if eigenvalues.min() > 0:
            # sup of a strictly concave quadratic: attained at Q⁻¹b.
            self.sup = float(0.5 * self.b @ np.linalg.solve(Q_array, self.b) + self.c)

    def _evaluate(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.b.shape[0]:
            raise ValueError(f"x must have shape (n, {self.b.shape[0]}), got {tuple(x.shape)}")
        Q = torch.as_tensor(self.Q, dtype=x.dtype, device=x.device)
        b = torch.as_tensor(self.b, dtype=x.dtype, device=x.device)
        return -0.5 * ((x @ Q) * x).sum(-1) + x @ b + self.c


class StepReward(Reward):
    """``r(x) = B·1{⟨u, x⟩ < κ}``; a function of ``s = ⟨u, x⟩`` with profile ``B·1{s < κ}``."""

    def __init__(self, height: float, direction, threshold: float) -> None:
        self.height = check_finite_scalar("height", height)
        self.direction = _vector("direction", direction)
        if not np.any(self.direction != 0):
            raise ValueError("direction must be a non-zero vector")
        self.threshold = check_finite_scalar("threshold", threshold)
        self.name = "step"
        self.sup = max(self.height, 0.0)

    def _evaluate(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.direction.shape[0]:
            raise ValueError(f"x must have shape (n, {self.direction.shape[0]}), got {tuple(x.shape)}")
        u = torch.as_tensor(self.direction, dtype=x.dtype, device=x.device)
        return self.height * ((x @ u) < self.threshold).to(x.dtype)

    def profile(self, s: np.ndarray) -> np.ndarray:
        return self.height * (np.asarray(s) < self.threshold)


class SigmoidReward(Reward):
    """``r(x) = B / (1 + e^{k(⟨u, x⟩ − κ)})``: a smooth surrogate of the step ``B·1{⟨u, x⟩ < κ}`` (the LCB
    authors' MSG baseline uses k = 2, κ = −8, u = e_1), a function of ``s = ⟨u, x⟩``. Values in (0, B);
    ``|r'(s)| ≤ B k / 4`` (the logistic's slope peaks at 1/4), so r is ``lipschitz = B·k·‖u‖/4``-Lipschitz."""

    def __init__(self, height: float, direction, threshold: float, steepness: float = 2.0) -> None:
        self.height = check_finite_scalar("height", height)
        if self.height <= 0:
            raise ValueError(f"height must be > 0, got {height!r}")
        self.direction = _vector("direction", direction)
        if not np.any(self.direction != 0):
            raise ValueError("direction must be a non-zero vector")
        self.threshold = check_finite_scalar("threshold", threshold)
        self.steepness = check_finite_scalar("steepness", steepness)
        if self.steepness <= 0:
            raise ValueError(f"steepness must be > 0, got {steepness!r}")
        self.name = "sigmoid"
        self.sup = self.height
        self.lipschitz = self.height * self.steepness * float(np.linalg.norm(self.direction)) / 4.0

    def _evaluate(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.direction.shape[0]:
            raise ValueError(f"x must have shape (n, {self.direction.shape[0]}), got {tuple(x.shape)}")
        u = torch.as_tensor(self.direction, dtype=x.dtype, device=x.device)
        return self.height * torch.sigmoid(-self.steepness * (x @ u - self.threshold))

    def profile(self, s: np.ndarray) -> np.ndarray:
        from scipy.special import expit

        return self.height * expit(-self.steepness * (np.asarray(s, dtype=float) - self.threshold))


class TableReward(Reward):
    """Reward on a finite support ``{0, …, K−1}``: ``r(i) = values[i]``."""

    def __init__(self, values) -> None:
        self.values = _vector("values", values)
        self.name = "table"
        self.sup = float(self.values.max())

    def _evaluate(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 1:
            raise ValueError(f"x must be a vector of category indices (n,), got shape {tuple(x.shape)}")
        table = torch.as_tensor(self.values, device=x.device)
        return table[x.long()]


class CallableReward(Reward):
    """Wraps any plain callable ``fn(x) -> (n,)``; ``sup`` may be given when known."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], sup: float = math.inf,
                 name: str | None = None) -> None:
        if not callable(fn):
            raise ValueError(f"reward must be callable, got {fn!r}")
        self.fn = fn
        self.sup = float(sup)
        self.name = name or getattr(fn, "__name__", "callable")

    def _evaluate(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


def as_reward(reward: Reward | Callable[[torch.Tensor], torch.Tensor]) -> Reward:
    """Accept a ``Reward`` or any plain callable."""
    if isinstance(reward, Reward):
        return reward
    return CallableReward(reward)
