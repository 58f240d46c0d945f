"""Exact expected oracle calls of KL alignment by planes on a Gaussian projection (L1b's exact side).

With ``z = Ax ~ N(0, I_k)`` (p = N(0, I_d), A with orthonormal rows), planes ``ℓ_i(z) = ⟨g_i, z⟩ + c_i``, tolerance ε
and temperature λ, ``kl_align``'s planes route proposes from ``∝ p·S``, ``S = Σ_i e^{ℓ_i/λ}``, and accepts with
``min(1, e^{(f−ε)/λ}/S)``; so each accepted sample costs a geometric number of calls with mean

    E[calls] = Σ_i W_i / J,   W_i = E e^{ℓ_i(z)/λ} = exp(c_i/λ + ‖g_i‖²/(2λ²)),   J = E min(S(z), e^{(f(z)−ε)/λ}),

a k-dimensional Gaussian integral. Here it is computed without the sampler, the oracle or the cover's validity:
W_i in closed form, J in spherical coordinates ``z = r·u`` for a radial f (``f(z) = F(‖z‖)``):

    J = ∫_{S^{k−1}} ∫_0^∞ r^{k−1} (2π)^{−k/2} e^{−r²/2} min(S(ru), e^{(F(r)−ε)/λ}) dr dσ(u),

radially by composite Gauss–Legendre panels on [0, r_max], over directions exactly for k = 1 (u = ±1), by the
trapezoid rule in the angle for k = 2 (periodic) and by Gauss–Legendre in cos θ × trapezoid in φ for k = 3. The
integrand is continuous with kinks where the min switches, so the rules converge at a low order; the reported
error is the difference between the rule and the same rule at half the resolution in every direction (the
finer rule is the value). Everything is in log space (logsumexp over planes).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import logsumexp

__all__ = ["ExpectedCalls", "expected_planes_calls"]


@dataclass(frozen=True)
class ExpectedCalls:
    """``value`` = E[calls per accepted sample], ``relative_error`` its quadrature error estimate (relative),
    ``log_total_weight`` = log Σ W_i (closed form), ``log_acceptance_mass`` = log J."""

    value: float
    relative_error: float
    log_total_weight: float
    log_acceptance_mass: float


def _directions(k: int, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit directions and their surface weights (summing to the sphere's area)."""
    if k == 1:
        return np.array([[1.0], [-1.0]]), np.array([1.0, 1.0])
    if k == 2:
        angles = 2 * math.pi * np.arange(4 * resolution) / (4 * resolution)
        return np.stack([np.cos(angles), np.sin(angles)], 1), np.full(angles.size, 2 * math.pi / angles.size)
    if k == 3:
        cosines, weights = np.polynomial.legendre.leggauss(resolution)
        angles = 2 * math.pi * np.arange(2 * resolution) / (2 * resolution)
        sines = np.sqrt(1 - cosines**2)
        u = np.stack([np.outer(sines, np.cos(angles)), np.outer(sines, np.sin(angles)),
                      np.outer(cosines, np.ones_like(angles))], -1).reshape(-1, 3)
        w = np.outer(weights, np.full(angles.size, 2 * math.pi / angles.size)).reshape(-1)
        return u, w
    raise ValueError(f"k must be 1, 2 or 3 for the exact calls integral, got {k}")


def _radial_nodes(panels: int, r_max: float, order: int = 8) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(order)
    edges = np.linspace(0.0, r_max, panels + 1)
    half = np.diff(edges) / 2
    centres = (edges[:-1] + edges[1:]) / 2
    return (centres[:, None] + half[:, None] * x[None]).reshape(-1), (half[:, None] * w[None]).reshape(-1)


def _log_acceptance_mass(slopes: np.ndarray, intercepts: np.ndarray, radial_f: Callable[[np.ndarray], np.ndarray],
                         epsilon: float, lam: float, resolution: int, panels: int, r_max: float) -> float:
    k = slopes.shape[1]
    u, surface = _directions(k, resolution)
    r, radial = _radial_nodes(panels, r_max)
    log_radial = (k - 1) * np.log(r) - r * r / 2 - (k / 2) * math.log(2 * math.pi) + np.log(radial)
    capped = (radial_f(r) - epsilon) / lam                                           # (R,)
    along = u @ slopes.T                                                             # (D, N)
    totals = []
    for start in range(0, u.shape[0], 64):
        block = along[start:start + 64]                                              # (b, N)
        log_s = logsumexp((r[None, :, None] * block[:, None, :] + intercepts) / lam, axis=-1)   # (b, R)
        integrand = np.minimum(log_s, capped[None]) + log_radial[None]
        totals.append(logsumexp(integrand, axis=1) + np.log(surface[start:start + 64]))
    return float(logsumexp(np.concatenate(totals)))


def expected_planes_calls(slopes, intercepts, radial_f: Callable[[np.ndarray], np.ndarray], *, epsilon: float,
                          lam: float, resolution: int = 16, panels: int = 32, r_max: float = 14.0) -> ExpectedCalls:
    """E[calls per accepted sample] of the planes route for ``z ~ N(0, I_k)``, k ≤ 3 (module docstring)."""
    slopes = np.asarray(slopes, dtype=float)
    intercepts = np.asarray(intercepts, dtype=float).reshape(-1)
    if slopes.ndim != 2 or slopes.shape[0] != intercepts.size:
        raise ValueError(f"slopes must be (N, k) with N = len(intercepts), got {slopes.shape} and {intercepts.shape}")
    if not (lam > 0 and math.isfinite(lam)):
        raise ValueError(f"lam must be positive and finite, got {lam!r}")
    log_total = float(logsumexp(intercepts / lam + (slopes**2).sum(1) / (2 * lam * lam)))
    fine = _log_acceptance_mass(slopes, intercepts, radial_f, epsilon, lam, resolution, panels, r_max)
    coarse = _log_acceptance_mass(slopes, intercepts, radial_f, epsilon, lam, resolution // 2, panels // 2, r_max)
    return ExpectedCalls(value=math.exp(log_total - fine), relative_error=abs(math.expm1(fine - coarse)),
                         log_total_weight=log_total, log_acceptance_mass=fine)
