"""Samples per single-step check under the group-sequential design, against the fixed-n design.

``python benchmarks/sequential.py [--seeds 5] [--out benchmarks/results/sequential.json]`` runs
``theorems.check_sampler`` on every registered single-step instance (``tiltproof.instances.single_step.INSTANCES``,
the baselines of ``tests/test_byos.py``) for a correct sampler (exact rejection sampling of q_b) and
for wrong ones (λ·1.1, λ·0.9, b − 0.5λ, untilted), over ``--seeds`` seeds each, plus an untilted
sampler on a 2-D Gaussian with a linear reward (target q). Per (instance, sampler) it reports the
verdicts, the median samples the check used, the fixed-n design's n (what every run cost before:
``details["sequential"]["fixed_design_n"]``), their ratio, the cap and its inflation, and the median
wall-clock seconds of a whole check (design, draws, tests, diagnosis). Numbers are measured as is, on
whatever machine runs it; the JSON records the host's CPU count.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from primitives import Gaussian, LinearReward, rejection_sample
from tiltproof.byo.byos import check_sampler
from tiltproof.instances.single_step import INSTANCES

BASELINES = {"gaussian-linear-d1": 3.0, "gaussian-linear-d5": 2.0, "finite-k10": 2.0, "gmm-step-d1": 3.0}


def _rejection(base, reward, lam, b):
    return lambda n, generator: rejection_sample(base, reward, lam, b, n, generator=generator).samples


def _samplers(name: str) -> dict:
    instance = INSTANCES[name]
    base, reward, lam, b = instance.base("cpu"), instance.reward, instance.lam, BASELINES[name]
    return {"correct": _rejection(base, reward, lam, b), "λ·1.1": _rejection(base, reward, 1.1 * lam, b),
            "λ·0.9": _rejection(base, reward, 0.9 * lam, b), "b − 0.5λ": _rejection(base, reward, lam, b - 0.5 * lam),
            "untilted": lambda n, generator: base.sample(n, generator)}


def _summary(runs: list[dict]) -> dict:
    used = [run["samples_used"] for run in runs]
    fixed = runs[0]["fixed_design_n"]
    return {"verdicts": [run["verdict"] for run in runs], "median_samples": statistics.median(used),
            "fixed_design_n": fixed, "ratio_to_fixed": statistics.median(used) / fixed, "cap": runs[0]["cap"],
            "inflation": runs[0]["cap"] / fixed, "median_seconds": statistics.median(run["seconds"] for run in runs),
            "max_seconds": max(run["seconds"] for run in runs), "diagnoses": [run["diagnosis"] for run in runs]}


def _run(sampler, seeds: int, **arguments) -> list[dict]:
    runs = []
    for seed in range(seeds):
        start = time.perf_counter()
        record = check_sampler(sampler, seed=seed, **arguments)
        seconds = time.perf_counter() - start
        plan = record.details["sequential"]
        runs.append({"verdict": record.verdict, "samples_used": record.details["samples_used"],
                     "fixed_design_n": plan["fixed_design_n"], "cap": plan["cap"], "seconds": seconds,
                     "diagnosis": record.details.get("diagnosis", {}).get("text")})
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--alpha", type=float, default=1e-6)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/sequential.json"))
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be ≥ 1, got {args.seeds}")
    if not 0.0 < args.alpha < 1.0:
        parser.error(f"--alpha must lie in (0, 1), got {args.alpha}")
    if not args.out.resolve().parent.is_dir():
        parser.error(f"--out: folder {args.out.resolve().parent} does not exist")
    results: dict = {"alpha": args.alpha, "beta": 1e-3, "seeds": args.seeds, "cpu_count": os.cpu_count(),
                     "torch_threads": None, "instances": {}}
    import torch

    results["torch_threads"] = torch.get_num_threads()
    for name in sorted(BASELINES):
        results["instances"][name] = {}
        for label, sampler in _samplers(name).items():
            runs = _run(sampler, args.seeds, instance=name, baseline=BASELINES[name], alpha=args.alpha)
            results["instances"][name][label] = _summary(runs)
            row = results["instances"][name][label]
            print(f"{name:20s} {label:10s} {','.join(sorted(set(row['verdicts']))):6s} median n {row['median_samples']:>9.0f}"
                  f" / fixed {row['fixed_design_n']:>8d} = {row['ratio_to_fixed']:.3f}  "
                  f"{row['median_seconds']:.2f} s (max {row['max_seconds']:.2f})", flush=True)
    base, reward, lam = Gaussian([0.0, 0.0], np.eye(2)), LinearReward([1.0, -2.0]), 0.8
    runs = _run(lambda n, generator: base.sample(n, generator), args.seeds, base=base, reward=reward, lam=lam,
                baseline=None, alpha=args.alpha)
    results["gaussian-2d-linear-untilted"] = _summary(runs)
    row = results["gaussian-2d-linear-untilted"]
    print(f"{'gaussian-2d-linear':20s} {'untilted':10s} {','.join(sorted(set(row['verdicts']))):6s} median n "
          f"{row['median_samples']:>9.0f} / fixed {row['fixed_design_n']:>8d} = {row['ratio_to_fixed']:.4f}  "
          f"{row['median_seconds']:.2f} s (max {row['max_seconds']:.2f})")
    correct = [rows["correct"]["ratio_to_fixed"] for rows in results["instances"].values()]
    wrong = [row["ratio_to_fixed"] for rows in results["instances"].values() for label, row in rows.items()
             if label != "correct"]
    untilted_seconds = [rows["untilted"]["max_seconds"] for rows in results["instances"].values()] + [row["max_seconds"]]
    results["summary"] = {"median_ratio_correct": statistics.median(correct),
                          "median_ratio_wrong": statistics.median(wrong),
                          "median_ratio_all": statistics.median(correct + wrong),
                          "max_untilted_rejection_seconds": max(untilted_seconds)}
    print(json.dumps(results["summary"], indent=2))
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
