"""Spread of the learned baseline's cost over independent trainings (GMM, one B): lcb and oracle only.

    python benchmarks/lcb_seeds.py --height 7 --seeds 1 2 3 --json FILE

Each seed trains and calibrates ``train_learned_baseline`` (per-step calibration) with the full per-step
settings of ``benchmarks/alignment.py`` (``PER_STEP_GMM[False]``; the GMM default there is now path
calibration) and measures queries per sample on n samples; the oracle is measured once.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from alignment import PATH_FAILURE, PATH_TV_BUDGET, PER_STEP_GMM  # noqa: E402
from estimators.chain_baselines import OracleChernoffBaseline  # noqa: E402
from learning.chain_baseline import train_selected_baseline  # noqa: E402
from primitives._checks import resolve_device  # noqa: E402
from primitives.chain_samplers import per_step_rejection_sample  # noqa: E402
from theorems import diffusion_chains as dc  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--height", type=float, default=7.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--selection-pairs", type=int, default=None,
                        help="override the per-step model-selection parents (0: no selection)")
    parser.add_argument("--calibration", choices=("tail", "clip"), default="tail")
    parser.add_argument("--trainings", type=int, default=None,
                        help="trainings per baseline, the cheapest on validation runs kept (train_selected_baseline)")
    parser.add_argument("--device", default="cpu", help="where the chain runs and lcb trains: cpu, cuda or cuda:N")
    arguments = parser.parse_args(argv)
    device = resolve_device(arguments.device)
    torch.set_num_threads(1)
    instance = dc.chain_instance("gmm", arguments.height).on(device)
    steps = instance.chain.steps
    delta, eta = PATH_TV_BUDGET / (steps + 1), PATH_FAILURE / (steps + 1)
    settings = dict(PER_STEP_GMM[False])      # per-step calibration (train_selected_baseline)
    if arguments.selection_pairs is not None:
        settings["selection_pairs"] = arguments.selection_pairs
    if arguments.trainings is not None:
        settings["trainings"] = arguments.trainings
    oracle = per_step_rejection_sample(instance.chain, instance.values,
                                       OracleChernoffBaseline(instance.chain, instance.values, delta), arguments.n,
                                       generator=torch.Generator(device=device).manual_seed(0)).queries_per_sample
    rows = []
    for seed in arguments.seeds:
        generator = torch.Generator(device=device).manual_seed(seed)
        clock = time.perf_counter()
        baseline, report = train_selected_baseline(
            instance.chain, instance.values, delta=delta, eta=eta, trainings=settings.get("trainings", 1),
            train_parents=settings["train_parents"],
            children=settings["children"], calibration_pairs=settings["calibration_pairs"],
            iterations=settings["iterations"], learning_rate=settings["learning_rate"],
            selection_pairs=settings.get("selection_pairs", 0), calibration=arguments.calibration, generator=generator)
        cost = per_step_rejection_sample(instance.chain, instance.values, baseline, arguments.n,
                                         generator=generator).queries_per_sample
        rows.append({"seed": seed, "validation_costs": report.validation_costs, "lcb_queries_per_sample": cost, "oracle_queries_per_sample": oracle,
                     "ratio_to_oracle": cost / oracle, "training_queries": report.training_queries,
                     "seconds": time.perf_counter() - clock})
        print(json.dumps(rows[-1]), flush=True)
    arguments.json.write_text(json.dumps({"height": arguments.height, "n": arguments.n,
                                          "selection_pairs": settings.get("selection_pairs", 0),
                                          "trainings": settings.get("trainings", 1),
                                          "calibration": arguments.calibration, "device": str(device),
                                          "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
