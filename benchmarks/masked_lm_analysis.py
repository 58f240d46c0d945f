"""Helpers of ``benchmarks/masked_lm.py``: cached soft values, the query-cost analysis, the powered share test.

* ``cached_soft_values`` — ``fit_soft_values`` on the masked LM, cached in ``default_cache_dir()`` (the model's
  cache) under a hash of the model's cache file, the reward, λ, the fitting settings and the seed; fitted with
  its own generator so a cached and an uncached run draw the same numbers afterwards.
* ``query_analysis`` — what per-step rejection can save here (``estimators.step_costs``): the reward set's base
  share π with a Clopper–Pearson interval, trajectory rejection's expected queries ``Q₀ e^{B/λ}/Z`` (= ideal
  per-step rejection's at the envelope, by the identity there), the floor's best saving ``e^{B/λ}/Z``, and the
  oracle per-parent baseline's queries at LCB's per-step TV rate ε/(T + 1).
* ``share_test`` — two-sample test of the share of outputs in the reward set, n from
  ``two_sample_sample_size`` so that a share difference of ``gap`` is detected w.p. ≥ 1 − β.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import torch
from scipy import stats

from estimators.dkw import dkw_radius
from learning.chain_baseline import LearnedSoftValues, fit_soft_values
from estimators.step_costs import best_saving, oracle_step_costs, trajectory_queries, two_level_log_partition
from primitives.chain_samplers import EnvelopeBaseline, per_step_rejection_sample, unaligned_sample
from primitives.learned_diffusion import default_cache_dir

__all__ = ["cached_soft_values", "query_analysis", "share_test", "clopper_pearson"]

VALUE_KEYS = ("value_parents", "value_children", "value_iterations")


def cached_soft_values(kernel, reward, lam: float, settings: dict, seed: int, log) -> tuple[object, dict]:
    """Learned soft values for ``reward`` (cached); returns them and ``{queries, seconds, cache, loaded}``."""
    source = str(kernel.training.get("cache", ""))
    digest = hashlib.sha256(repr((Path(source).name, reward.keywords, float(reward.height), lam,
                                  [settings[key] for key in VALUE_KEYS], seed)).encode())
    file = default_cache_dir() / f"masked-lm-values-{digest.hexdigest()[:16]}.pt"
    features = lambda states: reward.features(states, kernel.mask)  # noqa: E731
    generator = torch.Generator(device=kernel.device).manual_seed(10_000 + seed + int(10 * reward.height))
    clock = time.perf_counter()
    if file.exists():
        values = LearnedSoftValues(reward, lam, min(0.0, float(reward.height)), float(reward.sup), None, features)
        saved = torch.load(file, map_location=kernel.device, weights_only=False)
        values.networks, values.means, values.scales = saved["networks"], saved["means"], saved["scales"]
        values._root, queries = saved["root"], saved["queries"]
        info = {"queries": queries, "seconds": saved["seconds"], "cache": str(file), "loaded": True}
        log(f"  soft values loaded from {file} (fitted in {saved['seconds']:.0f}s, {queries} queries)")
        return values, info
    values, queries = fit_soft_values(kernel, reward, lam, parents=settings["value_parents"],
                                      children=settings["value_children"], iterations=settings["value_iterations"],
                                      features=features, generator=generator)
    seconds = time.perf_counter() - clock
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"networks": values.networks, "means": values.means, "scales": values.scales,
                    "root": values._root, "queries": queries, "seconds": seconds}, file)
    except OSError:
        pass  # an unwritable cache only costs a refit next time
    return values, {"queries": queries, "seconds": seconds, "cache": str(file), "loaded": False}


def clopper_pearson(hits: int, n: int, alpha: float) -> tuple[float, float]:
    """Two-sided level-α Clopper–Pearson interval for a binomial share."""
    low = 0.0 if hits == 0 else float(stats.beta.ppf(alpha / 2, hits, n - hits + 1))
    high = 1.0 if hits == n else float(stats.beta.ppf(1 - alpha / 2, hits + 1, n - hits))
    return low, high


def query_analysis(kernel, reward, values, lam: float, *, chains: int, parents: int, children: int, rate: float,
                   alpha: float, generator: torch.Generator) -> dict:
    """The expected queries per sample that bound what any per-step sampler can save (module docstring)."""
    clock = time.perf_counter()
    base = unaligned_sample(kernel, chains, generator=generator)
    per_chain = base.queries_per_sample
    hits = int(reward.contains(base.samples).sum())
    share = hits / chains
    interval = clopper_pearson(hits, chains, alpha)
    height = float(reward.height)
    log_z = two_level_log_partition(share, height, lam)
    log_z_range = [two_level_log_partition(p, height, lam) for p in interval]
    path = per_step_rejection_sample(kernel, values, EnvelopeBaseline(values), parents, generator=generator,
                                     record_states=True)
    oracle = oracle_step_costs(kernel, values, path.states, children=children, rate=rate, generator=generator)
    return {
        "base_share": share, "base_share_interval": list(interval), "alpha": alpha, "chains": chains,
        "queries_per_chain": per_chain, "log_partition": log_z,
        "trajectory_expected": trajectory_queries(per_chain, log_z, height, lam),
        "trajectory_expected_interval": sorted(trajectory_queries(per_chain, z, height, lam) for z in log_z_range),
        "best_saving": best_saving(log_z, height, lam),
        "best_saving_interval": sorted(best_saving(z, height, lam) for z in log_z_range),
        "oracle_parents": parents, "oracle_children": children, "oracle_rate": rate,
        "oracle_step_queries": oracle["proposals"], "oracle_queries": sum(oracle["proposals"]),
        "parent_envelope_step_queries": oracle["envelope_proposals"],
        "parent_envelope_queries": sum(oracle["envelope_proposals"]),
        "seconds": time.perf_counter() - clock,
    }


def share_test(hits: torch.Tensor, reference_hits: torch.Tensor, *, alpha: float, beta: float) -> dict:
    """Two-sample test of ``P(x_0 ∈ A)``: reject equal shares when ``|p̂ − p̂_ref| > ε(n, α/2) + ε(m, α/2)``
    (DKW on each indicator sample; KS of two Bernoulli laws is the share difference). At n = m it detects a
    share difference ``2[ε(n, α/2) + ε(n, β/2)]`` w.p. ≥ 1 − β (``two_sample_sample_size`` inverts this)."""
    n, m = int(hits.numel()), int(reference_hits.numel())
    share, reference = float(hits.double().mean()), float(reference_hits.double().mean())
    threshold = dkw_radius(n, alpha / 2) + dkw_radius(m, alpha / 2)
    detectable = threshold + dkw_radius(n, beta / 2) + dkw_radius(m, beta / 2)
    difference = abs(share - reference)
    return {"verdict": "pass" if difference <= threshold else "fail", "n": n, "reference_n": m, "share": share,
            "reference_share": reference, "difference": difference, "threshold": threshold,
            "detectable_difference": detectable, "alpha": alpha, "beta": beta}
