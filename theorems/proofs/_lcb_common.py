"""Shared pieces of the single-step LCB proofs (T1–T6, QRS): the payload of a proof instance, every
quantity of a tilted-rejection step on it, and a ``hypothesis`` strategy of finite laws.

``quantities(case)`` computes, for a reward law, λ and a baseline b (``c = e^{b/λ}``, ``w = e^{r/λ}``):
``Z``, ``Zb = E_p[min(1, e^{(r−b)/λ})]``, ``DZ = D/Z``, ``tail = P_q(r > b)``, ``tv = TV(q_b, q)``
with its error, ``V = λ log Z`` and ``N = 1/Z_b``. Finite laws: by direct enumeration in linear space
(the arrays ``p, r, w, q, qb`` are included), an independent route to ``estimators.exact.tilt_quantities``;
continuous laws: the module's exact closed forms and ``tv_by_independent_route`` (quadrature).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from estimators.exact import tilt_quantities as tq
from estimators.exact.reward_law import DiscreteLaw, RewardLaw
from tiltproof.proofs import ProofInstance

__all__ = ["TiltCase", "quantities", "finite_tilt_cases", "case_instance"]


@dataclass(frozen=True)
class TiltCase:
    """A reward law, λ, a baseline b and (optionally) δ, the Chernoff optimiser s and an envelope B."""

    law: RewardLaw
    lam: float
    baseline: float
    delta: float | None = None
    s: float | None = None
    envelope: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def finite(self) -> bool:
        return isinstance(self.law, DiscreteLaw)


def _finite(law: DiscreteLaw, lam: float, b: float) -> dict[str, Any]:
    p, r = np.exp(law.log_probs), np.asarray(law.values, dtype=float)
    w = np.exp(r / lam)
    c = math.exp(b / lam)
    accept = np.minimum(1.0, np.exp((r - b) / lam))
    Z, Zb = float(p @ w), float(p @ accept)
    q, qb = p * w / Z, p * accept / Zb
    return {"p": p, "r": r, "w": w, "c": c, "accept": accept, "q": q, "qb": qb, "Z": Z, "Zb": Zb,
            "DZ": float(p @ np.maximum(w - c, 0.0)) / Z, "tail": float(q[r > b].sum()),
            "tv": 0.5 * float(np.abs(q - qb).sum()), "tv_err": 1e-13, "V": lam * math.log(Z), "N": 1.0 / Zb}


_MEMO: dict[int, tuple[TiltCase, dict[str, Any]]] = {}


def quantities(case: TiltCase) -> dict[str, Any]:
    """Every quantity of one tilted-rejection step (module docstring); memoised per case object, since
    every step of a proof evaluates the same instance (the quadrature for continuous laws is the cost)."""
    hit = _MEMO.get(id(case))
    if hit is not None and hit[0] is case:
        return hit[1]
    if len(_MEMO) > 4096:
        _MEMO.clear()
    values = _quantities(case)
    _MEMO[id(case)] = (case, values)
    return values


def _quantities(case: TiltCase) -> dict[str, Any]:
    if case.finite:
        return _finite(case.law, case.lam, case.baseline)
    law, lam, b = case.law, case.lam, case.baseline
    log_z, log_zb = tq.log_partition(law, lam), tq.log_clipped_partition(law, lam, b)
    tv, error = _continuous_tv(case)
    return {"Z": math.exp(log_z), "Zb": math.exp(log_zb), "c": math.exp(b / lam), "DZ": tq.clip_mass(law, lam, b),
            "tail": tq.tail_probability_q(law, lam, b), "tv": tv, "tv_err": error, "V": lam * log_z,
            "N": tq.expected_proposals(law, lam, b)}


def _continuous_tv(case: TiltCase) -> tuple[float, float]:
    from theorems.tv_guarantees import tv_by_independent_route

    instance = case.extra.get("instance")
    return tv_by_independent_route(instance, case.baseline)


def case_instance(name: str, case: TiltCase, **parameters: float) -> ProofInstance:
    params = {"lambda": case.lam, "b": case.baseline, **parameters}
    if case.delta is not None:
        params["delta"] = case.delta
    return ProofInstance(name, params, case)


@lru_cache(maxsize=4096)
def _cached_chernoff(rewards: tuple, weights: tuple, lam: float, delta: float):
    """b_δ of a drawn law (hypothesis replays the same draws for every step: computed once)."""
    from estimators.baselines import chernoff_baseline

    weights_array = np.array(weights)
    return chernoff_baseline(DiscreteLaw(np.array(rewards), np.log(weights_array / weights_array.sum())), lam, delta)


def finite_tilt_cases(baseline: str = "any"):
    """Finite laws (K ≤ 7 atoms, rewards on a 0.5 grid in [−2, 3]: ties likely), λ ∈ [0.25, 2], and a
    baseline: ``any`` (b ∈ [min r − 1, max r + 1]), ``chernoff`` (b_δ for δ ∈ [0.05, 0.9] with its s; the
    case is dropped when b_δ = ess sup r) or ``envelope`` (b ≥ ess sup r)."""
    from hypothesis import assume, strategies as st

    @st.composite
    def cases(draw) -> ProofInstance:
        size = draw(st.integers(1, 7))
        weights = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=size, max_size=size)))
        rewards = np.array(draw(st.lists(st.integers(-4, 6), min_size=size, max_size=size)), dtype=float) / 2
        lam = draw(st.sampled_from([0.25, 0.5, 0.7, 1.0, 2.0]))
        law = DiscreteLaw(rewards, np.log(weights / weights.sum()))
        delta = s = None
        if baseline == "chernoff":
            delta = draw(st.sampled_from([0.05, 0.1, 0.25, 0.5, 0.9]))
            found = _cached_chernoff(tuple(rewards), tuple(weights), lam, delta)
            assume(math.isfinite(found.s))
            b, s = found.value, found.s
        elif baseline == "envelope":
            b = float(rewards.max()) + draw(st.floats(0.0, 2.0))
        else:
            b = draw(st.floats(float(rewards.min()) - 1.0, float(rewards.max()) + 1.0))
        case = TiltCase(law, lam, b, delta=delta, s=s, envelope=float(rewards.max()))
        name = f"p={np.round(weights / weights.sum(), 3).tolist()}, r={rewards.tolist()}, λ={lam}, b={b:.4g}"
        return case_instance(name + (f", δ={delta}" if delta else ""), case)

    return cases()
