"""Shared pieces of the tractability claims (L1, W1, P1): exact projection laws and evidence builders.

* ``mixture_projections``: exact CDFs of ``⟨u, X⟩`` for a Gaussian mixture (closed form).
* ``ridge_projections``: CDFs of ``S = ⟨a, X⟩`` and of each coordinate under a ``RidgeTiltedLaw``
  (quadrature with an error bound; see ``estimators.exact.ridge_law``).
* ``fit_evidence``: the goodness-of-fit verdict (projection KS vs DKW at the claim's α, optionally
  widened by a stated allowance such as a sampler's TV bound) as ``Evidence``.
* ``proposal_interval``: exact negative-binomial interval for calls per accepted sample.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.special import ndtr

from estimators.negative_binomial import negative_binomial_rate_interval
from estimators.projection_fit import Projection, projection_fit_test
from estimators.exact.ridge_law import RidgeTiltedLaw
import functools
from typing import Callable, Sequence

from tiltproof.core.framework import CheckContext, Claim, Evidence, wrong_variant

__all__ = ["mixture_projections", "ridge_projections", "fit_evidence", "proposal_interval", "spd_matrix",
           "relative_power", "with_units"]


def spd_matrix(rng: np.random.Generator, d: int, floor: float = 0.4) -> np.ndarray:
    factor = rng.normal(size=(d, d))
    return factor @ factor.T / d + floor * np.eye(d)


def mixture_cdf(weights: np.ndarray, means: np.ndarray, covs: np.ndarray, u: np.ndarray):
    """Exact CDF of ``⟨u, X⟩`` for ``X ~ Σ_k w_k N(means_k, covs_k)``."""
    centres = means @ u
    scales = np.sqrt(np.einsum("i,kij,j->k", u, covs, u))

    def cdf(y):
        y = np.asarray(y, dtype=float)
        return (weights[None, :] * ndtr((y[:, None] - centres[None, :]) / scales[None, :])).sum(-1)

    return cdf


def mixture_projections(weights, means, covs, directions: dict[str, np.ndarray]) -> list[Projection]:
    weights, means, covs = np.asarray(weights, float), np.asarray(means, float), np.asarray(covs, float)
    return [Projection(name, np.asarray(u, float), mixture_cdf(weights, means, covs, np.asarray(u, float)))
            for name, u in directions.items()]


def ridge_projections(law: RidgeTiltedLaw, coordinates: int) -> list[Projection]:
    """The statistic ``⟨a, X⟩`` and the coordinates ``X_j`` under a ridge-tilted law."""
    projections = [Projection("statistic", law.direction, law.statistic_cdf())]
    for j in range(coordinates):
        unit = np.eye(coordinates)[j]
        try:
            projections.append(Projection(f"x{j}", unit, law.projection_cdf(unit, points=1500)))
        except ValueError:
            continue   # X_j is a function of ⟨a, X⟩ (e.g. d = 1): the statistic already tests it
    return projections


def fit_evidence(samples, projections: list[Projection], context: CheckContext, *, allowance: float = 0.0,
                 claim: str = "sample law equals the exact law", details: dict | None = None,
                 also_fails: Sequence[str] = ()) -> Evidence:
    """Pass iff the largest projection KS (lower bound) is ≤ ``ε_DKW(α/T) + allowance`` and no check beside it
    failed (``also_fails``: reasons appended to the message, as in ``tiltproof.core.evidence``)."""
    fit = projection_fit_test(samples, projections, context.alpha, context.beta)
    threshold = fit.threshold + allowance
    holds = fit.statistic <= threshold
    name = fit.name + (f" + allowance {allowance:.3g}" if allowance else "")
    reasons = ([] if holds else [f"{claim} is rejected: KS {fit.statistic:.4g} > {threshold:.4g}"]) + list(also_fails)
    return Evidence(
        holds=holds and not also_fails, statistic=name, bound=threshold, exact=None, empirical=fit.statistic,
        confidence_bound=fit.statistic, n=fit.n, detectable_gap=fit.detectable_gap + allowance,
        detectable_gap_units="KS, max over the projections (KS ≤ TV)", margin=threshold - fit.statistic,
        message="; ".join(reasons),
        details={"per_projection": fit.per_projection, **(details or {})},
    )


def with_units(check, units: str, deterministic: bool = False):
    """``check`` with ``detectable_gap_units`` set on its evidence where it left them unset; a deterministic
    check (no sampling) detects any excess over its stated tolerance, so its detectable gap is 0."""
    def run(context: CheckContext) -> Evidence:
        evidence = check(context)
        given_units, gap = evidence.detectable_gap_units, evidence.detectable_gap
        return dataclasses.replace(evidence, detectable_gap_units=units if given_units is None else given_units,
                                   detectable_gap=0.0 if deterministic and gap is None else gap)
    run.__wrapped__ = check
    return run


def claim_adder(out: list, units_table: dict, module: str):
    """``add(claim_id, theorem, title, statement, expression, instance, check, parameters=None, hypotheses=())``:
    appends the ``Claim`` to ``out`` with its check wrapped by ``with_units`` from ``units_table`` (claim group →
    (units, deterministic)); the registration helper of the tractability modules."""
    def add(claim_id, theorem, title, statement, expression, instance, check, parameters=None, hypotheses=()):
        units, deterministic = units_table[claim_id.split("/")[0]]
        out.append(Claim(id=claim_id, theorem=theorem, module=module, title=title, statement=statement,
                         bound_expression=expression, instance=instance, hypotheses=tuple(hypotheses),
                         check=with_units(check, units, deterministic), parameters=parameters or {}))
    return add


def variant_builder(claims: Callable[[], list[Claim]]):
    """``variant(claim_id, check, suffix, expression=None)``: ``wrong_variant`` of a module's registered claim,
    its ``claims()`` built once per process (lazily, on the first variant)."""
    registered = functools.lru_cache(maxsize=None)(claims)

    def variant(claim_id: str, check, suffix: str, expression=None) -> Claim:
        return wrong_variant(registered(), claim_id, check, suffix, expression)
    return variant


def proposal_interval(accepted: int, calls: int, alpha: float) -> tuple[float, float, float]:
    """(calls per sample, lower, upper) from the exact two-sided negative-binomial interval at α."""
    low_rate, high_rate = negative_binomial_rate_interval(accepted, calls, alpha)
    return calls / accepted, 1.0 / high_rate, 1.0 / low_rate


def relative_power(alpha: float, beta: float, accepted: int) -> float:
    from scipy.stats import norm

    return (norm.isf(alpha / 2) + norm.isf(beta)) / math.sqrt(accepted)
