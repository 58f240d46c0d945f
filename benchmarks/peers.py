"""LCB against its peers on two exact instances: queries per sample vs TV to the aligned law.

Single-step instance (the 1-D analogue of the reference diffusion configuration): p = 0.95 N(5, 1) +
0.05 N(−5, 1), r = 7·1{x < −7}, λ = 1. Every method sees p only through ``sample`` and is charged
every base query. All these single-step methods select iid base draws through their rewards alone, so
conditionally on r the output is p(·|r) as under q, and ``TV(π, q) = |π(r = 7) − q(r = 7)|``: the
``tv`` column is an upper confidence bound from a two-sided Clopper–Pearson interval on the sampled
hit rate (each row at level ``--alpha`` / rows, Bonferroni), and ``tv_exact`` is the exact value by
enumeration (``estimators.exact.peer_laws``), where the method's law is enumerable.

Methods and budgets: ``lcb`` (Chernoff baseline b_δ over a δ grid), ``ideal_rejection`` (envelope 7),
``quasi_rejection`` (fixed β = e^{b} and β by percentile for a minimum acceptance rate, pilot charged),
``best_of_n``, ``smc`` (sampling-importance-resampling with M particles), ``rso`` (envelope = max reward of
N candidates).

Diffusion instance (``diffusion-gmm-B7``: the reference GMM diffusion, T = 20, r = 7·1{x_1 < −7}, λ = 1):
``benchmarks/peers_diffusion.py`` builds its rows and states each row's TV route — the trajectory-level
peers (whole unaligned chains, 21 queries each, selected by the terminal reward: the same reward-only
reduction and exact two-atom laws as here), per-step FK steering for ``smc`` (upper bound through its
unbiased normalising constant), ideal per-step and trajectory rejection, ``lcb`` (learned baseline, T7
path bound) and the ``oracle`` reference.

Rows: ``{"method", "instance", "budget", "queries_per_sample", "tv", "n", ...}`` with ``tv`` an upper
confidence bound (or exact), ``tv_exact`` where enumerable, ``tv_lower`` a sampled lower confidence bound.
The summary gives, per instance, the cheapest method whose ``tv`` reaches 0.05 and the biased peers' TV
floors (their exact TV at each budget). Each instance's Clopper–Pearson / normalising-constant upper
bounds hold simultaneously at ``--alpha`` (Bonferroni over its rows; each row's level is its ``alpha``);
the diffusion ``lcb`` rows' path bounds are at ``alignment.CONFIDENCE`` = 1e-3 each, as in alignment.py.

Usage: ``python benchmarks/peers.py [--quick] [--instances single-step diffusion] --json FILE [--plot FILE.pdf]``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
for _entry in (ROOT, ROOT / "benchmarks"):
    if str(_entry) not in sys.path:
        sys.path.insert(0, str(_entry))

import peers_diffusion  # noqa: E402
from estimators.baselines import chernoff_baseline  # noqa: E402
from estimators.binomial import clopper_pearson_lower  # noqa: E402
from estimators.exact.tilted_law import reward_law  # noqa: E402
from estimators.exact.peer_laws import (best_of_n_reward_probabilities, reward_tv,  # noqa: E402
                                        rso_reward_probabilities, sir_reward_probabilities,
                                        target_reward_probabilities)
from primitives import GaussianMixture, StepReward, best_of_n_sample, rejection_sample  # noqa: E402
from primitives._checks import resolve_device  # noqa: E402
from primitives.peers import percentile_beta, quasi_rejection_sample, rso_sample, sir_sample  # noqa: E402

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


def single_step_rows(quick: bool, alpha: float, seed: int, device: str | torch.device = "cpu") -> list[dict]:
    """The single-step instance's rows (module docstring); sampled bounds at level ``alpha`` in all. The
    samplers run on ``device``; the exact laws are computed on the CPU."""
    n = 20_000 if quick else 100_000
    exact_base = GaussianMixture([0.95, 0.05], [[5.0], [-5.0]], [[[1.0]], [[1.0]]])
    base = exact_base.to(device)
    reward = StepReward(HEIGHT, [1.0], -7.0)
    law = reward_law(exact_base, reward)
    _, target = target_reward_probabilities(law, LAM)
    generator = torch.Generator(device=base.device).manual_seed(seed)

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
    sizes = (4, 16, 64, 256, 1024) if quick else (4, 16, 64, 256, 1024, 4096)
    for size in sizes:
        runs.append(("best_of_n", f"N={size}", lambda size=size: best_of_n(base, reward, size, n, generator),
                     best_of_n_reward_probabilities(law, size)[1]))
        runs.append(("smc", f"M={size}", lambda size=size: _sir(base, reward, size, n, generator),
                     sir_reward_probabilities(law, LAM, size)[1]))
        runs.append(("rso", f"N={size}", lambda size=size: _rso(base, reward, size, n, generator),
                     rso_reward_probabilities(law, LAM, size)[1]))
    share = alpha / len(runs)
    rows = []
    for method, budget, run, exact in runs:
        start = time.perf_counter()
        samples, queries = run()
        seconds = time.perf_counter() - start
        hit_rate, tv_upper = hit_rate_tv_upper(samples, reward, float(target[1]), share)
        low, high = peers_diffusion.hit_interval(int((reward(samples) > 0).sum()), samples.shape[0], share)
        rows.append({"method": method, "instance": "single-step", "budget": budget,
                     "queries_per_sample": queries / samples.shape[0], "tv": tv_upper,
                     "tv_lower": max(low - float(target[1]), float(target[1]) - high, 0.0),
                     "tv_exact": None if exact is None else _clean(reward_tv(exact, target)), "n": int(samples.shape[0]),
                     "hit_rate": hit_rate, "seconds": seconds, "alpha": share})
        print(f"{method:16s} {budget:22s} queries/sample {queries / samples.shape[0]:10.1f}  TV ≤ {tv_upper:.4f}"
              f"  (exact {rows[-1]['tv_exact'] if exact is not None else '—'})  {seconds:.1f}s", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and budgets (under 10 minutes on 2 cores)")
    parser.add_argument("--json", required=True)
    parser.add_argument("--plot", help="Pareto plot (queries vs TV), PDF or PNG")
    parser.add_argument("--alpha", type=float, default=0.01, help="total level of each instance's sampled TV bounds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--instances", nargs="+", choices=("single-step", "diffusion"), default=["single-step", "diffusion"])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (1 is fastest for these small tensors on a loaded machine)")
    parser.add_argument("--device", default="cpu", help="where every sampler runs (and lcb trains): cpu, cuda or cuda:N")
    arguments = parser.parse_args(argv)
    device = resolve_device(arguments.device)
    torch.set_num_threads(arguments.threads)
    started = time.perf_counter()
    rows, summary = [], {}
    if "single-step" in arguments.instances:
        print("single-step instance", flush=True)
        single = single_step_rows(arguments.quick, arguments.alpha, arguments.seed, device)
        rows += single
        summary["single-step"] = peers_diffusion.instance_summary(single)
    if "diffusion" in arguments.instances:
        print(f"diffusion instance ({peers_diffusion.INSTANCE})", flush=True)
        settings = peers_diffusion.QUICK if arguments.quick else peers_diffusion.FULL
        diffusion = peers_diffusion.diffusion_rows(settings, alpha=arguments.alpha,
                                                   generator=torch.Generator(device=device).manual_seed(arguments.seed + 1),
                                                   log=lambda line: print(line, flush=True))
        rows += diffusion
        summary[peers_diffusion.INSTANCE] = {**peers_diffusion.instance_summary(diffusion),
                                             "best_of_n_two_atom_crossing": peers_diffusion.best_of_n_crossing()}
    seconds = time.perf_counter() - started
    for instance, block in summary.items():
        print(f"{instance}: cheapest with TV ≤ 0.05 (upper bound): {block['cheapest_method_reaching_target']} "
              f"({block['cheapest_budget']}, {block['cheapest_queries_per_sample']} queries/sample); "
              f"lcb cheapest: {block['lcb_is_cheapest']}")
    meta = {"quick": arguments.quick, "seed": arguments.seed, "alpha_per_instance": arguments.alpha,
            "threads": arguments.threads, "seconds": seconds, "lambda": LAM, "height": HEIGHT, "device": str(device)}
    with open(arguments.json, "w") as handle:
        json.dump({"meta": meta, "rows": rows, "summary": summary}, handle, indent=2)
    if arguments.plot:
        _plot(rows, arguments.plot)
    print(f"wrote {arguments.json} ({seconds:.0f}s)")
    return 0


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


TITLES = {"single-step": "single step: p = 0.95 N(5,1) + 0.05 N(−5,1), r = 7·1{x < −7}",
          peers_diffusion.INSTANCE: "GMM diffusion (T = 20): r = 7·1{x_1 < −7}"}
FLOOR = 1e-3   # TV values below this (exact zeros) are drawn on the axis floor


def _plot(rows, path: str) -> None:
    """One panel per instance: queries per sample vs the TV upper bound (filled, joined), the exact TV
    where known (crosses) and the sampled lower bound (open triangles)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    instances = list(dict.fromkeys(row["instance"] for row in rows))
    figure, axes = plt.subplots(1, len(instances), figsize=(6.5 * len(instances), 4.8), squeeze=False)
    methods = list(dict.fromkeys(row["method"] for row in rows))
    colours = {method: plt.get_cmap("tab10")(index % 10) for index, method in enumerate(methods)}
    for axis, instance in zip(axes[0], instances):
        chosen = [row for row in rows if row["instance"] == instance]
        for method in dict.fromkeys(row["method"] for row in chosen):
            mine = sorted((row for row in chosen if row["method"] == method), key=lambda row: row["queries_per_sample"])
            colour = colours[method]
            upper = [(row["queries_per_sample"], max(row["tv"], FLOOR)) for row in mine if row["tv"] is not None]
            if upper:
                axis.plot(*zip(*upper), marker="o", color=colour, label=method)
            exact = [(row["queries_per_sample"], max(row["tv_exact"], FLOOR)) for row in mine
                     if row.get("tv_exact") is not None]
            if exact:
                axis.scatter(*zip(*exact), marker="x", color=colour, s=30)
            lower = [(row["queries_per_sample"], row["tv_lower"]) for row in mine
                     if row.get("tv_lower") is not None and row["tv_lower"] >= FLOOR]
            if lower:
                axis.scatter(*zip(*lower), marker="^", facecolors="none", edgecolors=colour, s=30)
        axis.axhline(0.05, color="grey", linestyle="--", linewidth=0.8)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_ylim(FLOOR * 0.8, 1.0)
        axis.set_xlabel("queries per sample (base draws; chain: kernel draws)")
        axis.set_ylabel("TV to the aligned law")
        axis.set_title(TITLES.get(instance, instance), fontsize=9)
        axis.legend(fontsize=7, loc="lower left")
    figure.text(0.5, 0.005, "● upper confidence bound (or exact)   × exact   △ sampled lower bound   "
                f"(values < {FLOOR:g} drawn at {FLOOR:g})", ha="center", fontsize=7)
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    figure.savefig(path)
    plt.close(figure)


if __name__ == "__main__":
    raise SystemExit(main())
