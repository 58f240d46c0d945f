"""Which error explains a failed single-step sample: confidence sets for λ and b in the tilted family.

The single-step check's alternatives are exact laws ``q_{λ', b'}`` of one family (a wrong temperature,
a wrong baseline, no tilt). A failed sample is diagnosed by inverting the primary statistic's
confidence band: with probability ≥ 1 − α the sampler's own law P lies in

* ``ks``: the DKW band ``{F : sup_y |F_n(y) − F(y)| ≤ √(log(2/α)/2n)}`` of the reward r(X);
* ``rate``: the Clopper–Pearson interval (α/2 per side) of the top atom's frequency;
* ``multinomial``: the ball ``TV(p̂_n, ·) ≤ ½√(K/n) + √(log(1/α)/2n)``.

If P = q_{λ*, b*}, the set ``Θ = {(λ', b') : q_{λ', b'} in that region}`` therefore contains (λ*, b*)
w.p. ≥ 1 − α — simultaneously for every parameterisation, since one band covers them all. Θ is
profiled along λ' (b as claimed) and along b' (λ as claimed), each on a log/linear grid refined once
around the accepted points; the reported interval is the hull of the accepted grid points (a grid
can only miss accepted points between its nodes, so the hull is within one step of Θ's hull), and the
estimate is the grid point nearest the sample in the statistic. For KS the band is checked at up to
``MAX_POINTS`` sample quantiles (exact empirical CDF values there): a supremum over fewer points is
smaller, so the set is a superset of Θ and its coverage still ≥ 1 − α. An empty profile means no
parameter of that kind explains the sample: the error is of another kind (or outside the family).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from estimators import single_step_power as power
from estimators.dkw import dkw_radius
from estimators.multinomial_tv import multinomial_tv_radius
from estimators.binomial import binomial_rate_test
from estimators.exact.tilted_law import TiltedLaw
from primitives._checks import check_unit_interval

__all__ = ["diagnose_single_step", "MAX_POINTS"]

MAX_POINTS = 2000
_COARSE, _FINE = 61, 81


def _ks_consistency(rewards: np.ndarray, alpha: float) -> Callable[[TiltedLaw], float]:
    ordered = np.sort(rewards)
    n = ordered.size
    points = np.unique(ordered[np.linspace(0, n - 1, min(n, MAX_POINTS)).astype(int)])
    right = np.searchsorted(ordered, points, side="right") / n
    left = np.searchsorted(ordered, points, side="left") / n
    radius = dkw_radius(n, alpha)

    def excess(law: TiltedLaw) -> float:
        distance = max(float(np.max(np.abs(law.reward_cdf(points) - right))),
                       float(np.max(np.abs(law.reward_cdf_left(points) - left))))
        return distance - radius
    return excess


def _rate_consistency(rewards: np.ndarray, claimed: TiltedLaw, alpha: float) -> Callable[[TiltedLaw], float]:
    value = power.rate_event_value(claimed)
    count = int(np.sum(rewards == value))
    _, (low, high) = binomial_rate_test(count, rewards.size, power.event_rate(claimed, value), alpha=alpha)

    def excess(law: TiltedLaw) -> float:
        rate = power.event_rate(law, value)
        return max(low - rate, rate - high)
    return excess


def _multinomial_consistency(labels: np.ndarray, claimed: TiltedLaw, alpha: float) -> Callable[[TiltedLaw], float]:
    probs = claimed.finite_probabilities()
    frequencies = np.bincount(labels.astype(np.int64), minlength=probs.size) / labels.size
    radius = multinomial_tv_radius(labels.size, alpha, support_size=probs.size)
    return lambda law: 0.5 * float(np.abs(frequencies - law.finite_probabilities()).sum()) - radius


def _profile(excess: Callable[[TiltedLaw], float], make: Callable[[float], TiltedLaw], low: float, high: float,
             *, log: bool) -> dict | None:
    def grid(a: float, b: float, count: int) -> np.ndarray:
        return np.exp(np.linspace(math.log(a), math.log(b), count)) if log else np.linspace(a, b, count)

    coarse = grid(low, high, _COARSE)
    values = np.array([excess(make(float(x))) for x in coarse])
    accepted = np.flatnonzero(values <= 0)
    if accepted.size == 0:
        return None
    lo, hi = coarse[max(accepted[0] - 1, 0)], coarse[min(accepted[-1] + 1, coarse.size - 1)]
    fine = grid(lo, hi, _FINE)
    fine_values = np.array([excess(make(float(x))) for x in fine])
    inside = fine[fine_values <= 0]
    if inside.size == 0:  # only coarse nodes were accepted: keep them
        inside = coarse[accepted]
        fine, fine_values = coarse, values
    return {"estimate": float(fine[int(np.argmin(fine_values))]), "low": float(inside.min()),
            "high": float(inside.max()),
            "at_lower_edge": bool(inside.min() <= coarse[0] + 1e-12 * abs(coarse[0])),
            "at_upper_edge": bool(inside.max() >= coarse[-1] - 1e-12 * abs(coarse[-1]))}


def diagnose_single_step(samples: np.ndarray, claimed: TiltedLaw, kind: str, alpha: float) -> dict:
    """Confidence sets (level 1 − α) for λ (b as claimed) and b (λ as claimed) that explain ``samples``,
    and whether the claimed law and an untilted sampler are consistent with them; ``text`` says it in words.

    ``samples``: the failed sample, ``(n, d)`` (category indices ``(n,)`` or ``(n, 1)`` for a finite base).
    """
    alpha = check_unit_interval("alpha", alpha)
    if kind not in ("ks", "rate", "multinomial"):
        raise ValueError(f"kind must be 'ks', 'rate' or 'multinomial', got {kind!r}")
    samples = np.asarray(samples)
    n = samples.shape[0]
    if n < 1:
        raise ValueError("samples must contain at least one draw")
    if kind == "multinomial":
        excess = _multinomial_consistency(samples.reshape(n), claimed, alpha)
    else:
        import torch

        rewards = claimed.reward(torch.as_tensor(samples.reshape(n, -1), dtype=torch.float64)).cpu().numpy()
        excess = _ks_consistency(rewards, alpha) if kind == "ks" else _rate_consistency(rewards, claimed, alpha)
    lam, b = claimed.lam, claimed.baseline
    found: dict = {"level": 1.0 - alpha, "n": int(n), "statistic": kind,
                   "claimed_consistent": bool(excess(claimed) <= 0),
                   "untilted_consistent": bool(excess(power.untilted_law(claimed)) <= 0)}
    found["lambda"] = _profile(excess, lambda x: power.alternative_law(claimed, lam=x), lam / 20.0, lam * 20.0,
                               log=True)
    ess_sup = claimed.law.ess_sup
    centre = b if b is not None else (ess_sup if math.isfinite(ess_sup) else None)
    found["baseline"] = None if centre is None else _profile(
        excess, lambda x: power.alternative_law(claimed, baseline=x), centre - 8.0 * lam, centre + 8.0 * lam,
        log=False)
    found["text"] = _words(found, lam, b)
    return found


def _words(found: dict, lam: float, b: float | None) -> str:
    parts = []
    for key, symbol, claimed in (("lambda", "λ", lam), ("baseline", "b", b)):
        interval = found[key]
        if interval is None:
            if key == "lambda" or claimed is not None:
                parts.append(f"no {symbol} explains the sample (with the other parameter as claimed)")
            continue
        low, high = interval["low"], interval["high"]
        lower_edge, upper_edge = interval["at_lower_edge"], interval["at_upper_edge"]
        if lower_edge and upper_edge:
            words = f"any {symbol} in the searched range"
        elif upper_edge:
            words = f"{symbol} ≥ {low:.4g}"
        elif lower_edge:
            words = f"{symbol} ≤ {high:.4g}"
        else:
            words = f"{symbol} ≈ {interval['estimate']:.4g} ± {(high - low) / 2.0:.2g} [{low:.4g}, {high:.4g}]"
        parts.append(f"consistent with {words}" + (f" (claimed {claimed:g})" if claimed is not None else ""))
    parts.append("consistent with an untilted sampler" if found["untilted_consistent"]
                 else "not with an untilted sampler")
    return f"{'; '.join(parts)} (confidence {found['level']:.6g})"
