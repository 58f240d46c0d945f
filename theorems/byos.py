"""Bring your own sampler: test that a user's sampler has the law a theorem says it has.

``check_sampler(sampler, base=..., reward=..., lam=..., baseline=...)`` draws n samples with
``sampler(n, generator)`` and tests H₀ "the samples have law q_b" (``baseline=None``: the exact target
``q ∝ p e^{r/λ}``) at false-alarm level ``alpha``: the largest KS distance over the law of r(X) and each
coordinate (Bonferroni, DKW thresholds), or the multinomial TV for a finite law. n is the smallest
sample size that detects a KS gap ``gap`` (default 0.03) with probability ≥ 1 − β (default 0.999).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from estimators.exact import TiltedLaw
from estimators.law_tests import fit_sample_size, fit_test
from primitives._checks import check_positive, check_unit_interval, resolve_device

__all__ = ["SamplerCheck", "check_sampler"]


@dataclass(frozen=True)
class SamplerCheck:
    verdict: str               # "pass" or "fail"
    statistic: float           # max projection KS distance (finite laws: TV to the claimed law)
    confidence_bound: float    # the rejection threshold the statistic is compared with, at level alpha
    n: int
    detectable_gap: float      # smallest gap detected with probability ≥ 1 − beta
    alpha: float
    statistic_name: str
    per_projection: dict[str, float]

    def __str__(self) -> str:
        return (f"{self.verdict.upper()}: {self.statistic_name} = {self.statistic:.4g} "
                f"(threshold {self.confidence_bound:.4g} at α={self.alpha:g}, n={self.n}, "
                f"detects gaps ≥ {self.detectable_gap:.3g})")


def check_sampler(sampler: Callable[[int, torch.Generator], np.ndarray | torch.Tensor], *, base, reward,
                  lam: float, baseline: float | None, alpha: float = 1e-6, gap: float = 0.03,
                  beta: float = 1e-3, seed: int = 0, device: str | torch.device = "cpu") -> SamplerCheck:
    """Verify ``sampler`` against the law the theorems give it (q_b, or q when ``baseline=None``).

    Raises ``ValueError`` naming the argument for bad input, and ``estimators.exact.UnsupportedInstance``
    (a ``ValueError``) when the claimed law is not exactly computable for this base and reward.
    """
    if not callable(sampler):
        raise ValueError(f"sampler must be a callable sampler(n, generator), got {sampler!r}")
    check_positive("lam", lam)
    alpha = check_unit_interval("alpha", alpha)
    beta = check_unit_interval("beta", beta)
    gap = check_unit_interval("gap", gap)
    claimed = TiltedLaw(base, reward, lam, baseline)
    n = fit_sample_size(claimed, gap, alpha, beta)
    generator = torch.Generator(device=resolve_device(device))
    generator.manual_seed(seed)
    samples = sampler(n, generator)
    if isinstance(samples, torch.Tensor):
        samples = samples.detach().cpu().numpy()
    samples = np.asarray(samples)
    if samples.shape[0] != n:
        raise ValueError(f"sampler returned {samples.shape[0]} samples when asked for n={n}")
    fit = fit_test(samples, claimed, alpha, beta)
    return SamplerCheck(
        verdict="fail" if fit.rejected else "pass", statistic=fit.statistic, confidence_bound=fit.threshold,
        n=n, detectable_gap=fit.detectable_gap, alpha=alpha, statistic_name=fit.name,
        per_projection=fit.per_projection,
    )
