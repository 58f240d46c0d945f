"""Theorem families a sweep can run over a grid (``tiltproof sweep``): grid point → claims.

A family names the grid axes it takes and turns one grid point into claims, built with the theorem
module's own claim builders on the point's instance, so a sweep checks the registered statement with
the registered check — only the parameters change. Supported:

* ``single-step`` — LCB spec T2/T3 (``theorems.tv_guarantees``) on a single-step instance of
  ``tiltproof.instances.single_step`` at temperature λ, with the Chernoff baseline ``b_δ`` (T3): the four T2 claims
  at ``b = b_δ`` (rejection outputs ``q_b``; exact TV of clipping; ``TV ≤ D/Z``; ``TV ≤ P_q(r > b)``)
  and T3's ``TV(q_{b_δ}, q) ≤ δ``. Axes: ``instance``, ``lambda``, ``delta``, ``replicate``.
* ``learned-baseline`` — LCB spec T6: over independent trainings of ``training_size`` base samples the
  learned baseline's clipping mass exceeds δ with probability ≤ η (exact binomial test, every b̂ checked
  against T4). Axes: ``instance``, ``lambda``, ``delta``, ``eta``, ``training_size``, ``replicate``; the
  instance must have a bounded reward (``finite-k10``, ``gmm-step-d1``), else the claim is an ``error``
  through its hypothesis.

``replicate`` (0, 1, …) only changes the claim ids, hence the seeds ``claim_seed(seed, id)``: replicates
measure the spread of a statistic over independent draws (for T6, over training sets). Other theorem
families (diffusion chains, tractability) are refused with a ``ValueError`` naming them.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

__all__ = ["Family", "FAMILIES", "PointCost", "get_family", "point_claims", "point_key", "estimate_cost"]

Point = tuple[tuple[str, Any], ...]
"""A grid point as sorted-by-axis-order (axis, value) pairs: hashable and picklable."""


@dataclass(frozen=True)
class PointCost:
    """A grid point's cost before it runs: ``proposals_per_sample`` (exact, from the acceptance rate),
    ``samples`` (the designed n summed over the point's sampled claims) and their product ``proposals``."""

    proposals_per_sample: float
    samples: int

    @property
    def proposals(self) -> float:
        return self.proposals_per_sample * self.samples

    def describe(self) -> str:
        return (f"≈ {self.proposals_per_sample:.3g} proposals per sample × {self.samples:,} samples = "
                f"{self.proposals:.3g} proposals")


@dataclass(frozen=True)
class Family:
    name: str
    description: str
    axes: tuple[str, ...]
    defaults: dict[str, Any]
    build: Callable[[dict[str, Any]], list]
    cost: Callable[[dict[str, Any], float], PointCost | None] | None = None


def point_key(point: Point | dict[str, Any]) -> str:
    """``axis=value,…`` in axis order, numbers in ``%g``: the point's part of its claims' ids."""
    items = point.items() if isinstance(point, dict) else point
    return ",".join(f"{axis}={value:g}" if isinstance(value, float) else f"{axis}={value}" for axis, value in items)


def _instance(name: str, lam: float):
    """The named single-step instance at temperature ``lam``, renamed ``name,lambda=λ``."""
    from tiltproof.instances.single_step import get_instance

    base = get_instance(name)
    return dataclasses.replace(base, name=f"{name},lambda={lam:g}", lam=lam)


def _check_value(axis: str, value: Any, *, unit: bool = False, positive: bool = False, integer: bool = False) -> None:
    if integer:
        if isinstance(value, bool) or not isinstance(value, int) or value < (1 if positive else 0):
            raise ValueError(f"grid.{axis} values must be integers ≥ {1 if positive else 0}, got {value!r}")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"grid.{axis} values must be finite numbers, got {value!r}")
    if unit and not 0 < value < 1:
        raise ValueError(f"grid.{axis} values must lie in (0, 1), got {value!r}")
    if positive and not value > 0:
        raise ValueError(f"grid.{axis} values must be > 0, got {value!r}")


def _with_replicate(claims: list, point: dict[str, Any]) -> list:
    return [dataclasses.replace(claim, id=f"{claim.id}/replicate={point['replicate']}") for claim in claims]


def _single_step(point: dict[str, Any]) -> list:
    from estimators.baselines import chernoff_baseline
    from theorems import tv_guarantees

    instance = _instance(point["instance"], float(point["lambda"]))
    baseline = chernoff_baseline(instance.law, instance.lam, float(point["delta"])).value
    claims = tv_guarantees.t2_claims(instance, baseline) + [
        tv_guarantees.chernoff_baseline_claim(instance, float(point["delta"]))]
    return _with_replicate(claims, point)


SAMPLED_T2_CLAIMS = 3
"""Of T2's four claims at ``b_δ``, three draw from the rejection sampler (the law, its two TV upper bounds);
the exact TV draws nothing. T3 draws too, unless ``b_δ`` reaches ess sup r (its hypothesis fails: no run)."""


def _single_step_cost(point: dict[str, Any], alpha: float) -> PointCost:
    return _single_step_cost_at(point["instance"], float(point["lambda"]), float(point["delta"]), alpha)


@lru_cache(maxsize=256)
def _single_step_cost_at(name: str, lam: float, delta: float, alpha: float) -> PointCost:
    """Rejection at ``b_δ`` needs ``1/P(accept) = e^{log E N}`` proposals per sample
    (``tilt_quantities.log_expected_proposals``: T4's identity E N = 1/Z_b), each sampled claim the n of
    its KS/TV fit test at gap ``FIT_GAP`` and level ``alpha`` (``law_tests.fit_sample_size``)."""
    from estimators.baselines import chernoff_baseline
    from estimators.exact.tilted_law import TiltedLaw
    from estimators.law_tests import fit_sample_size
    from estimators.exact.tilt_quantities import log_expected_proposals
    from theorems.tv_guarantees import FIT_GAP

    instance = _instance(name, lam)
    baseline = chernoff_baseline(instance.law, instance.lam, delta).value
    per_sample = math.exp(min(log_expected_proposals(instance.law, instance.lam, baseline), 700.0))
    n = fit_sample_size(TiltedLaw(instance.base("cpu"), instance.reward, instance.lam, None), FIT_GAP, alpha)
    sampled = SAMPLED_T2_CLAIMS + (baseline < instance.law.ess_sup)
    return PointCost(proposals_per_sample=per_sample, samples=sampled * n)


def estimate_cost(family: str, point: Point, alpha: float) -> PointCost | None:
    """The cost of ``family``'s claims at ``point`` at level ``alpha``, or None when the family has no estimate."""
    estimate = get_family(family).cost
    return None if estimate is None else estimate(dict(point), alpha)


def _learned_baseline(point: dict[str, Any]) -> list:
    from theorems import tv_guarantees

    instance = _instance(point["instance"], float(point["lambda"]))
    claim = tv_guarantees.learned_baseline_claim(instance, float(point["delta"]), float(point["eta"]),
                                                 int(point["training_size"]))
    return _with_replicate([claim], point)


FAMILIES: dict[str, Family] = {
    family.name: family for family in (
        Family("single-step", "T2/T3 on a single-step instance at λ with the Chernoff baseline b_δ",
               ("instance", "lambda", "delta", "replicate"), {"replicate": [0]}, _single_step, _single_step_cost),
        Family("learned-baseline", "T6: learned baseline's clipping mass over independent trainings",
               ("instance", "lambda", "delta", "eta", "training_size", "replicate"), {"replicate": [0]},
               _learned_baseline),
    )
}

_CHECKS: dict[str, dict[str, bool]] = {
    "lambda": {"positive": True}, "delta": {"unit": True}, "eta": {"unit": True},
    "training_size": {"integer": True, "positive": True}, "replicate": {"integer": True},
}


def get_family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"family must be one of {sorted(FAMILIES)} (other theorem families are not "
                         f"supported by sweeps yet), got {name!r}") from None


def check_axis_values(axis: str, values: list) -> None:
    """``ValueError`` naming ``grid.<axis>`` for a value the family cannot take (before any work starts)."""
    if axis == "instance":
        from tiltproof.instances.single_step import get_instance

        for value in values:
            if not isinstance(value, str):
                raise ValueError(f"grid.instance values must be instance names, got {value!r}")
            get_instance(value)
        return
    for value in values:
        _check_value(axis, value, **_CHECKS.get(axis, {}))


@lru_cache(maxsize=256)
def point_claims(family: str, point: Point) -> tuple:
    """The claims of ``family`` at grid point ``point`` (cached per process: workers rebuild them)."""
    return tuple(get_family(family).build(dict(point)))
