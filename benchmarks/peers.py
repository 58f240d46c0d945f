"""LCB against its peers on an exact instance: queries per sample vs TV to the aligned law.

Single-step instance (the 1-D analogue of the reference diffusion configuration): p = 0.95 N(5, 1) +
0.05 N(−5, 1), r = 7·1{x < −7}, λ = 1. Every method sees p only through ``sample`` and is charged
every base query. All these single-step methods select iid base draws through their rewards alone, so
conditionally on r the output is p(·|r) as under q, and ``TV(π, q) = |π(r = 7) − q(r = 7)|``: the
``tv`` column is an upper confidence bound from a two-sided Clopper–Pearson interval on the sampled
hit rate (each row at level ``--alpha`` / rows, Bonferroni), and ``tv_exact`` is the exact value by
enumeration (``estimators.peer_laws``), where the method's law is enumerable.

Methods and budgets: ``lcb`` (Chernoff baseline b_δ over a δ grid), ``ideal_rejection`` (envelope 7),
``quasi_rejection`` (fixed β = e^{b} and β by percentile for a minimum acceptance rate, pilot charged),
``best_of_n``, ``smc`` (sampling-importance-resampling with M particles), ``rso`` (envelope = max reward of
N candidates). The diffusion instance of the same issue needs the diffusion chains and is not run here.

Usage: ``python benchmarks/peers.py [--quick] --json FILE [--plot FILE.pdf]``.
"""
from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch

from estimators import tilt_quantities as tq
from estimators.baselines import chernoff_baseline
from estimators.confidence import clopper_pearson_lower
from estimators.exact import reward_law
from estimators.peer_laws import (best_of_n_reward_probabilities, reward_tv, rso_reward_probabilities,
                                  sir_reward_probabilities, target_reward_probabilities)
from primitives import GaussianMixture, StepReward, best_of_n_sample, rejection_sample
from primitives.peers import percentile_beta, quasi_rejection_sample, rso_sample, sir_sample

HEIGHT, LAM = 7.0, 1.0


def best_of_n(base, reward, n_candidates: int, n: int, generator: torch.Generator):
    """``primitives.best_of_n_sample``: arg-max of N base draws, one output per N queries. Ties go to the
    first maximal draw; the draws are iid, so given its reward the output is still p(·|r)."""
    result = best_of_n_sample(base, reward, n_candidates, n, generator=generator)
    return result.samples, n * n_candidates


def hit_rate_tv_upper(samples, reward, target_hit: float, alpha: float) -> tuple[float, float]:
    hits = int((reward(samples) > 0).sum())
    n = samples.shape[0]
    low = clopper_pearson_lower(hits, n, alpha / 2)
    high = 1.0 - clopper_pearson_lower(n - hits, n, alpha / 2)
    return hits / n, max(high - target_hit, target_hit - low, 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and budgets (under 10 minutes on 2 cores)")
    parser.add_argument("--json", required=True)
    parser.add_argument("--plot", help="Pareto plot (queries vs TV), PDF or PNG")
    parser.add_argument("--alpha", type=float, default=0.01, help="total level of the TV upper bounds")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    n = 20_000 if arguments.quick else 100_000
    base = GaussianMixture([0.95, 0.05], [[5.0], [-5.0]], [[[1.0]], [[1.0]]])
    reward = StepReward(HEIGHT, [1.0], -7.0)
    law = reward_law(base, reward)
    _, target = target_reward_probabilities(law, LAM)
    generator = torch.Generator().manual_seed(arguments.seed)

    runs = []  # (method, budget label, sampler thunk -> (samples, queries), exact reward law or None)
    for delta in (0.3, 0.1, 0.03):
        b = chernoff_baseline(law, LAM, delta).value
        runs.append(("lcb", f"delta={delta:g}", lambda b=b: _rejection(base, reward, b, n, generator),
                     _clipped_law(law, b)))
    runs.append(("ideal_rejection", "envelope=7", lambda: _rejection(base, reward, HEIGHT, n, generator),
                 _clipped_law(law, HEIGHT)))
    for b in (5.0, 6.0, 6.5, 6.9):
        runs.append(("quasi_rejection", f"beta=e^{b:g}", lambda b=b: _qrs(base, reward, math.exp(b), n, generator),
                     _clipped_law(law, b)))
    for rate in (0.01, 0.002):
        runs.append(("quasi_rejection", f"min_acceptance={rate:g}",
                     lambda rate=rate: _qrs_percentile(base, reward, rate, n, generator), None))
    sizes = (4, 16, 64, 256, 1024) if arguments.quick else (4, 16, 64, 256, 1024, 4096)
    for size in sizes:
        runs.append(("best_of_n", f"N={size}", lambda size=size: best_of_n(base, reward, size, n, generator),
                     best_of_n_reward_probabilities(law, size)[1]))
        runs.append(("smc", f"M={size}", lambda size=size: _sir(base, reward, size, n, generator),
                     sir_reward_probabilities(law, LAM, size)[1]))
        runs.append(("rso", f"N={size}", lambda size=size: _rso(base, reward, size, n, generator),
                     rso_reward_probabilities(law, LAM, size)[1]))
    share = arguments.alpha / len(runs)
    rows = []
    for method, budget, run, exact in runs:
        start = time.perf_counter()
        samples, queries = run()
        seconds = time.perf_counter() - start
        hit_rate, tv_upper = hit_rate_tv_upper(samples, reward, float(target[1]), share)
        rows.append({"method": method, "instance": "gmm-step-single-step-B7", "budget": budget,
                     "queries_per_sample": queries / samples.shape[0], "tv": tv_upper,
                     "tv_exact": None if exact is None else _clean(reward_tv(exact, target)), "n": int(samples.shape[0]),
                     "hit_rate": hit_rate, "seconds": seconds, "alpha": share})
        print(f"{method:16s} {budget:22s} queries/sample {queries / samples.shape[0]:10.1f}  TV ≤ {tv_upper:.4f}"
              f"  (exact {rows[-1]['tv_exact'] if exact is not None else '—'})  {seconds:.1f}s", flush=True)
    reaching = [row for row in rows if row["tv"] <= 0.05]
    best = min(reaching, key=lambda row: row["queries_per_sample"]) if reaching else None
    summary = {"tv_target": 0.05, "cheapest_method_reaching_target": best and best["method"],
               "cheapest_queries_per_sample": best and best["queries_per_sample"]}
    print("cheapest method with TV ≤ 0.05 (upper confidence bound):", summary)
    with open(arguments.json, "w") as handle:
        json.dump({"rows": rows, "summary": summary, "note": "diffusion instance not included"}, handle, indent=2)
    if arguments.plot:
        _plot(rows, arguments.plot)


def _clean(value: float) -> float:
    """Exact TVs below float64 rounding of a sum of probabilities are reported as 0."""
    return 0.0 if abs(value) < 1e-12 else value


def _clipped_law(law, baseline: float) -> np.ndarray:
    """Exact reward law of q_b on the two atoms (rejection with baseline b, or QRS with β = e^{b/λ})."""
    log_probs = law.log_probs + np.minimum(0.0, (law.values - baseline) / LAM)
    probs = np.exp(log_probs - np.logaddexp.reduce(log_probs))
    return probs


def _rejection(base, reward, baseline, n, generator):
    result = rejection_sample(base, reward, LAM, baseline, n, generator=generator)
    return result.samples, result.proposals


def _qrs(base, reward, beta, n, generator):
    result = quasi_rejection_sample(base, reward, LAM, beta, n, generator=generator)
    return result.samples, result.proposals


def _qrs_percentile(base, reward, rate, n, generator):
    beta, pilot = percentile_beta(base, reward, LAM, rate, pilot=20_000, generator=generator)
    result = quasi_rejection_sample(base, reward, LAM, beta, n, generator=generator)
    return result.samples, result.proposals + pilot


def _sir(base, reward, particles, n, generator):
    result = sir_sample(base, reward, LAM, particles, n, generator=generator)
    return result.samples, result.proposals


def _rso(base, reward, candidates, n, generator):
    result = rso_sample(base, reward, LAM, candidates, n, generator=generator)
    return result.samples, result.proposals


def _plot(rows, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    for method in dict.fromkeys(row["method"] for row in rows):
        points = sorted((row["queries_per_sample"], max(row["tv"], 1e-4)) for row in rows if row["method"] == method)
        axis.plot(*zip(*points), marker="o", label=method)
    axis.axhline(0.05, color="grey", linestyle="--", linewidth=0.8)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("base queries per sample")
    axis.set_ylabel("TV to q (upper confidence bound)")
    axis.set_title("single-step GMM, r = 7·1{x < −7}, λ = 1")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)


if __name__ == "__main__":
    main()
