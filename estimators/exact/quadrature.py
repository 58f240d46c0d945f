"""Exact single-step quantities by adaptive quadrature, for any reward on a 1-D base (LCB spec T2–T4).

For a 1-D Gaussian or Gaussian-mixture base with density p and any reward r (a ``Reward`` or plain
callable, e.g. quadratic or non-monotone), with ``a = 1/λ``:

    Z = ∫ p e^{ar},   Z_b = ∫ p min(1, e^{a(r−b)}),   D/Z = ∫ p (e^{ar} − e^{ab})_+ / Z,
    TV(q_b, q) = ½ ∫ p |e^{ar}/Z − min(1, e^{a(r−b)})/Z_b|.

Integrands are shifted by the maximum of ``a·r`` over the integration window (log space), the window
covers every component to ±``width`` standard deviations (the mass outside is below
``2·Φ(−width)``, added to the reported error) and is widened until the tilted integrand is e^{−50}
below its peak at both edges, and ``scipy.integrate.quad`` is split at the component
means and at user-supplied kinks (where r crosses b). Each result carries the quadrature's own error
estimate plus the truncation bound. This is the independent route the closed forms are tested against,
and the exact side for rewards without a closed form.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import math

import numpy as np
import torch
from scipy import integrate
from scipy.special import log_ndtr, logsumexp

from primitives._checks import check_finite_scalar, check_positive
from primitives.laws import Gaussian, GaussianMixture
from primitives.rewards import as_reward

__all__ = ["QuadratureValue", "QuadratureTilt"]


@dataclass(frozen=True)
class QuadratureValue:
    value: float
    error: float


class QuadratureTilt:
    """Tilt quantities of ``(base, reward, λ)`` on a 1-D base, by adaptive quadrature."""

    def __init__(self, base: Gaussian | GaussianMixture, reward, lam: float, *, width: float = 12.0,
                 kinks: Sequence[float] = ()) -> None:
        if not isinstance(base, (Gaussian, GaussianMixture)) or base.dim != 1:
            raise ValueError(f"base must be a 1-D Gaussian or GaussianMixture, got {base!r}")
        self.lam = check_positive("lam", lam)
        self.reward = as_reward(reward)
        if isinstance(base, Gaussian):
            self.log_weights = np.zeros(1)
            self.means = base.mean.cpu().numpy().reshape(1)
            self.stds = np.sqrt(base.cov.cpu().numpy().reshape(1))
        else:
            with np.errstate(divide="ignore"):
                self.log_weights = np.log(base.weights.cpu().numpy())
            self.means = base.means.cpu().numpy().reshape(-1)
            self.stds = np.sqrt(base.covs.cpu().numpy().reshape(-1))
        self.low = float((self.means - width * self.stds).min())
        self.high = float((self.means + width * self.stds).max())
        self.truncation = float(2.0 * math.exp(float(log_ndtr(-width))))
        self._extend_window_to_the_tilt()
        grid = np.linspace(self.low, self.high, 4001)
        self._grid_rewards = self._reward(grid)
        tilted_peak = float(grid[np.argmax(self._log_tilted(grid))])
        self.breakpoints = sorted({self.low, self.high, tilted_peak,
                                   *[m for m in self.means.tolist() if self.low < m < self.high],
                                   *[float(k) for k in kinks if self.low < k < self.high]})
        self.shift = float(np.max(self._grid_rewards) / self.lam)

    def _log_tilted(self, points: np.ndarray) -> np.ndarray:
        z = (points[:, None] - self.means) / self.stds
        log_p = logsumexp(self.log_weights - 0.5 * z * z - np.log(self.stds), axis=1)
        return log_p + self._reward(points) / self.lam

    def _extend_window_to_the_tilt(self, margin: float = 50.0, steps: int = 400) -> None:
        """Widen the window until ``log p + r/λ`` at both edges is ``margin`` below its maximum.

        The tilt moves mass away from the base (a linear reward shifts a normal by σ²/λ), so the base's
        ±width window alone can miss q. Beyond the final edges the integrand of Z is below e^{−margin}
        of its peak; for rewards growing at most linearly there the neglected mass is of that order,
        which is added to the stated truncation error.
        """
        step = float(self.stds.max()) * 2.0
        for _ in range(steps):
            grid = np.linspace(self.low, self.high, 2001)
            values = self._log_tilted(grid)
            peak = float(values.max())
            grew = False
            if values[0] > peak - margin:
                self.low -= step
                grew = True
            if values[-1] > peak - margin:
                self.high += step
                grew = True
            if not grew:
                break
        self.truncation += 2.0 * math.exp(-margin) * (self.high - self.low)

    def _reward(self, points: np.ndarray) -> np.ndarray:
        tensor = torch.as_tensor(np.asarray(points, dtype=float).reshape(-1, 1))
        return self.reward(tensor).numpy()

    def _log_density(self, x: float) -> float:
        z = (x - self.means) / self.stds
        return float(logsumexp(self.log_weights - 0.5 * z * z - np.log(self.stds) - 0.5 * math.log(2 * math.pi)))

    def _integrate(self, function: Callable[[float], float], extra_kinks: Sequence[float] = ()) -> QuadratureValue:
        points = sorted({*self.breakpoints, *[k for k in extra_kinks if self.low < k < self.high]})
        total, error = 0.0, 0.0
        for left, right in zip(points, points[1:]):
            value, piece_error = integrate.quad(function, left, right, limit=400, epsabs=1e-15, epsrel=1e-11)
            total += value
            error += piece_error
        return QuadratureValue(total, error)

    def _crossings(self, level: float) -> list[float]:
        """Points where r crosses ``level`` (kinks of the integrands): bracketed on a 4001-point grid,
        then refined by Brent's method (a jump of r, e.g. a step reward, is found as its location)."""
        from scipy.optimize import brentq

        grid = np.linspace(self.low, self.high, self._grid_rewards.size)
        sign = np.sign(self._grid_rewards - level)
        roots = []
        for i in np.nonzero(np.diff(sign))[0]:
            difference = lambda x: float(self._reward([x])[0]) - level
            try:
                roots.append(float(brentq(difference, grid[i], grid[i + 1], xtol=1e-14)))
            except ValueError:  # no sign change of a continuous function: keep the bracket's edge
                roots.append(float(grid[i + 1]))
        return roots

    def scaled_partition(self) -> QuadratureValue:
        """``Z e^{−shift}`` with ``shift = max a·r`` on the window (so the integrand is ≤ density)."""
        a = 1.0 / self.lam
        return self._integrate(lambda x: math.exp(self._log_density(x) + a * float(self._reward([x])[0]) - self.shift))

    def log_partition(self) -> QuadratureValue:
        scaled = self.scaled_partition()
        return QuadratureValue(math.log(scaled.value) + self.shift, (scaled.error + self.truncation) / scaled.value)

    def clipped_partition(self, baseline: float) -> QuadratureValue:
        """``Z_b = ∫ p min(1, e^{a(r−b)})`` (≤ 1, so no shift is needed)."""
        b = check_finite_scalar("baseline", baseline)
        a = 1.0 / self.lam
        value = self._integrate(lambda x: math.exp(self._log_density(x) + min(0.0, a * (float(self._reward([x])[0]) - b))),
                                self._crossings(b))
        return QuadratureValue(value.value, value.error + self.truncation)

    def clip_mass(self, baseline: float) -> QuadratureValue:
        """``D/Z = ∫ p (e^{ar} − e^{ab})_+ / Z``."""
        b = check_finite_scalar("baseline", baseline)
        a = 1.0 / self.lam
        log_z = self.log_partition()

        def integrand(x: float) -> float:
            r = float(self._reward([x])[0])
            if r <= b:
                return 0.0
            return math.exp(self._log_density(x) + a * r - log_z.value) * -math.expm1(a * (b - r))

        value = self._integrate(integrand, self._crossings(b))
        return QuadratureValue(value.value, value.error + self.truncation + value.value * log_z.error)

    def total_variation(self, baseline: float) -> QuadratureValue:
        """``TV(q_b, q) = ½ ∫ p |e^{ar}/Z − min(1, e^{a(r−b)})/Z_b|``."""
        b = check_finite_scalar("baseline", baseline)
        a = 1.0 / self.lam
        log_z = self.log_partition()
        z_b = self.clipped_partition(b)
        log_zb = math.log(z_b.value)
        crossing = self.lam * (log_z.value - log_zb)

        def integrand(x: float) -> float:
            r = float(self._reward([x])[0])
            log_p = self._log_density(x)
            return 0.5 * abs(math.exp(log_p + a * r - log_z.value) - math.exp(log_p + min(0.0, a * (r - b)) - log_zb))

        value = self._integrate(integrand, self._crossings(b) + self._crossings(crossing))
        return QuadratureValue(value.value, value.error + 2 * self.truncation + log_z.error + z_b.error / z_b.value)
