"""Exact laws tilted along one direction: ``q(x) ∝ p(x)·e^{g(⟨a,x⟩)}`` for a Gaussian or mixture p.

The exact side of the L1 claims for rewards ``r(x) = f(⟨a,x⟩)`` (``g = f/λ``). Under component k of p,
``S = ⟨a,X⟩ ~ N(m_k, v_k)`` and, given ``S = s``, any projection ``⟨u,X⟩`` is normal with mean
``⟨u,μ_k⟩ + c_k (s − m_k)``, ``c_k = uᵀΣ_ka/v_k``, and variance ``τ_k² = uᵀΣ_ku − (uᵀΣ_ka)²/v_k``.
The tilt depends on x only through S, so it leaves that conditional law alone and

    P_q(⟨u,X⟩ ≤ y) = Σ_k π_k ∫ φ_k(s) e^{g(s)} Φ((y − ⟨u,μ_k⟩ − c_k(s − m_k))/τ_k) ds / Z,

a one-dimensional integral. It is computed by composite Gauss–Legendre quadrature on panels that
include g's breakpoints (where f has kinks): for the law of S, panels no wider than ``sd_min/40`` with 4
nodes (the CDF of S is then known at every panel edge); for other projections, whose integrand is
smoothed by Φ, panels of ``sd_min/8`` with 8 nodes. Each error is estimated by the difference to the
rule with half the nodes (far less accurate, so the estimate is conservative) and the mass outside the integration range is bounded in closed form from
``|g(s) − g(s')| ≤ β|s − s'|`` (``slope_bound`` β): below ``lo``,
``∫_{−∞}^{lo} φ_k e^{g} ≤ e^{g(lo)+β lo − β m_k + β²v_k/2} Φ((lo − m_k + βv_k)/√v_k)``, and symmetrically
above. The CDF of S itself is the cumulative sum of panel integrals, exact at panel boundaries.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import math

import numpy as np
import torch
from scipy.special import log_ndtr, logsumexp

from estimators.projection_fit import GridCDF
from primitives.laws import Gaussian, GaussianMixture

__all__ = ["RidgeTiltedLaw", "mixture_components"]

_NODES_MAIN, _WEIGHTS_MAIN = np.polynomial.legendre.leggauss(4)
_NODES_CHECK, _WEIGHTS_CHECK = np.polynomial.legendre.leggauss(2)
_NODES_COARSE, _WEIGHTS_COARSE = np.polynomial.legendre.leggauss(8)
_RELATIVE_CUTOFF = 1e-18   # quadrature weights below this fraction of the total are skipped (error added)


def mixture_components(base) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log-weights (K,), means (K, d), covariances (K, d, d)) of a Gaussian or Gaussian mixture."""
    if isinstance(base, Gaussian):
        return np.zeros(1), base.mean.cpu().numpy()[None], base.cov.cpu().numpy()[None]
    if isinstance(base, GaussianMixture):
        with np.errstate(divide="ignore"):
            return np.log(base.weights.cpu().numpy()), base.means.cpu().numpy(), base.covs.cpu().numpy()
    raise ValueError(f"base must be a Gaussian or GaussianMixture, got {base!r}")


def _panel_nodes(edges: np.ndarray, nodes: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    half = 0.5 * np.diff(edges)[:, None]
    centre = 0.5 * (edges[:-1] + edges[1:])[:, None]
    return (centre + half * nodes[None, :]), (half * weights[None, :])      # (P, q) each


@dataclass
class _Rule:
    points: np.ndarray        # (P, q)
    weights: np.ndarray       # (P, q)
    log_density: np.ndarray   # (K, P, q): log π_k + log φ_k(s) + g(s)


class RidgeTiltedLaw:
    """``q ∝ p·e^{g(⟨a,x⟩)}`` with exact (quadrature) projection CDFs and an error bound on them."""

    def __init__(self, base, direction, log_weight: Callable[[np.ndarray], np.ndarray], slope_bound: float,
                 breakpoints=(), panels_per_sd: int = 40, width_sds: float = 14.0) -> None:
        self.log_weights, self.means, self.covs = mixture_components(base)
        self.direction = np.asarray(direction, dtype=float).reshape(-1)
        if self.direction.shape[0] != self.means.shape[1] or not np.any(self.direction):
            raise ValueError(f"direction must be a non-zero vector of length {self.means.shape[1]}")
        self.g = log_weight
        self.slope_bound = float(slope_bound)
        a = self.direction
        self.s_means = self.means @ a
        self.s_vars = np.einsum("i,kij,j->k", a, self.covs, a)
        sds = np.sqrt(self.s_vars)
        beta = self.slope_bound
        lo = float(np.min(self.s_means - beta * self.s_vars - width_sds * sds))
        hi = float(np.max(self.s_means + beta * self.s_vars + width_sds * sds))
        width = float(sds.min()) / panels_per_sd
        uniform = np.linspace(lo, hi, int(math.ceil((hi - lo) / width)) + 1)
        inside = [float(b) for b in breakpoints if lo < b < hi]
        self.edges = np.unique(np.concatenate([uniform, inside]))
        coarse = np.linspace(lo, hi, int(math.ceil((hi - lo) / (width * panels_per_sd / 8))) + 1)
        self.coarse_edges = np.unique(np.concatenate([coarse, inside]))
        self.lo, self.hi = lo, hi
        self.main = self._rule(self.edges, _NODES_MAIN, _WEIGHTS_MAIN)
        self.check = self._rule(self.edges, _NODES_CHECK, _WEIGHTS_CHECK)
        self.shift = float(self.main.log_density.max())
        panel_main = self._panel_integrals(self.main)        # (K, P)
        panel_check = self._panel_integrals(self.check)
        self.panel_mass = panel_main.sum(0)                   # (P,)
        self.quadrature_error = float(np.abs(panel_main - panel_check).sum())
        self.tail_low, self.tail_high = self._tails()
        self.normaliser = float(self.panel_mass.sum())         # in units of e^{shift}
        self.relative_error = (self.quadrature_error + self.tail_low + self.tail_high) / self.normaliser

    # ------------------------------------------------------------------ quadrature
    def _rule(self, edges: np.ndarray, nodes: np.ndarray, weights: np.ndarray) -> _Rule:
        points, panel_weights = _panel_nodes(edges, nodes, weights)
        g = np.asarray(self.g(points.reshape(-1)), dtype=float).reshape(points.shape)
        if not np.isfinite(g).all():
            raise ValueError("log_weight returned non-finite values on the quadrature nodes")
        standard = (points[None] - self.s_means[:, None, None]) / np.sqrt(self.s_vars)[:, None, None]
        log_phi = -0.5 * standard**2 - 0.5 * np.log(2 * np.pi * self.s_vars)[:, None, None]
        return _Rule(points, panel_weights, self.log_weights[:, None, None] + log_phi + g[None])

    def _panel_integrals(self, rule: _Rule) -> np.ndarray:
        return (rule.weights[None] * np.exp(rule.log_density - self.shift)).sum(-1)

    def _tails(self) -> tuple[float, float]:
        beta, lo, hi = self.slope_bound, self.lo, self.hi
        g_lo, g_hi = float(np.asarray(self.g(np.array([lo])))[0]), float(np.asarray(self.g(np.array([hi])))[0])
        sds = np.sqrt(self.s_vars)
        log_low = (self.log_weights + g_lo + beta * lo - beta * self.s_means + 0.5 * beta**2 * self.s_vars
                   + log_ndtr((lo - self.s_means + beta * self.s_vars) / sds))
        log_high = (self.log_weights + g_hi - beta * hi + beta * self.s_means + 0.5 * beta**2 * self.s_vars
                    + log_ndtr((self.s_means + beta * self.s_vars - hi) / sds))
        return float(np.exp(logsumexp(log_low) - self.shift)), float(np.exp(logsumexp(log_high) - self.shift))

    # ------------------------------------------------------------------ exact quantities
    @property
    def log_normaliser(self) -> float:
        """``log E_p e^{g(S)}`` (relative error ``relative_error``)."""
        return self.shift + math.log(self.normaliser)

    def statistic_cdf(self) -> GridCDF:
        """CDF of ``S = ⟨a, X⟩`` under q at the panel edges (cumulative panel integrals)."""
        cumulative = np.concatenate([[0.0], np.cumsum(self.panel_mass)]) / self.normaliser
        return GridCDF(self.edges.copy(), np.clip(cumulative, 0.0, 1.0), 2 * self.relative_error)

    def statistic_probability(self, low: float, high: float) -> tuple[float, float]:
        """``P_q(low < S ≤ high)`` for panel edges low, high (pass them as breakpoints); (value, error)."""
        cdf = self.statistic_cdf()
        values = []
        for edge in (low, high):
            if edge == -math.inf:
                values.append(0.0)
            elif edge == math.inf:
                values.append(1.0)
            else:
                index = np.flatnonzero(np.isclose(self.edges, edge, rtol=0, atol=1e-12))
                if index.size == 0:
                    raise ValueError(f"{edge} is not a panel edge: pass it in breakpoints")
                values.append(float(cdf.values[index[0]]))
        return values[1] - values[0], 2 * cdf.error

    def expectation(self, function: Callable[[np.ndarray], np.ndarray], bound: float = 1.0) -> tuple[float, float]:
        """``E_q h(S)`` for h with ``|h| ≤ bound``; (value, error)."""
        weights = self.main.weights[None] * np.exp(self.main.log_density - self.shift)
        check = self.check.weights[None] * np.exp(self.check.log_density - self.shift)
        value = float((weights * function(self.main.points)[None]).sum()) / self.normaliser
        value_check = float((check * function(self.check.points)[None]).sum()) / self.normaliser
        return value, abs(value - value_check) + 2 * bound * self.relative_error

    def projection_cdf(self, u, points: int = 2000) -> GridCDF:
        """CDF of ``⟨u, X⟩`` under q on a grid of ``points`` values, with its error bound."""
        u = np.asarray(u, dtype=float).reshape(-1)
        a = self.direction
        proj_means = self.means @ u
        cross = np.einsum("i,kij,j->k", u, self.covs, a)
        slopes = cross / self.s_vars
        tau2 = np.einsum("i,kij,j->k", u, self.covs, u) - cross**2 / self.s_vars
        panel = float(np.diff(self.coarse_edges).max())
        if np.any(tau2 <= (np.abs(slopes) * panel) ** 2):
            raise ValueError("the projection u is (nearly) a function of ⟨a, x⟩; test the statistic itself instead")
        tau = np.sqrt(tau2)
        fine = self._rule(self.coarse_edges, _NODES_COARSE, _WEIGHTS_COARSE)
        rough = self._rule(self.coarse_edges, _NODES_MAIN, _WEIGHTS_MAIN)
        skipped = [0.0]

        def kept_nodes(rule: _Rule, k: int) -> tuple[np.ndarray, np.ndarray]:
            weights = (rule.weights * np.exp(rule.log_density[k] - self.shift)).reshape(-1)
            keep = weights > _RELATIVE_CUTOFF * self.normaliser
            skipped[0] += float(weights[~keep].sum()) / self.normaliser
            return proj_means[k] + slopes[k] * (rule.points.reshape(-1)[keep] - self.s_means[k]), weights[keep]

        nodes = [kept_nodes(fine, k) for k in range(len(tau))]
        low = min(float(means.min()) for means, _ in nodes if means.size) - 10 * float(tau.max())
        high = max(float(means.max()) for means, _ in nodes if means.size) + 10 * float(tau.max())
        grid = np.linspace(low, high, points)

        def integrate(per_component) -> np.ndarray:
            total = np.zeros_like(grid)
            grid_t = torch.as_tensor(grid)
            for k, (means, weights) in enumerate(per_component):
                standard = (grid_t[:, None] - torch.as_tensor(means)[None, :]) / float(tau[k])
                total += (torch.special.ndtr(standard) @ torch.as_tensor(weights)).numpy()
            return total / self.normaliser

        values = integrate(nodes)
        rough_values = integrate([kept_nodes(rough, k) for k in range(len(tau))])
        error = float(np.abs(values - rough_values).max()) + 2 * self.relative_error + skipped[0]
        return GridCDF(grid, np.clip(values, 0.0, 1.0), error)
