"""The per-step δ runs of ``theorems.per_step_delta``'s docstring (issue 18, item 2), reproducible from one command:

    PYTHONPATH=. python benchmarks/per_step_delta_runs.py --run authors --out benchmarks/results/per_step_delta_authors.json
    PYTHONPATH=. python benchmarks/per_step_delta_runs.py --run oracle --out benchmarks/results/per_step_delta_oracle.json

* ``oracle``: the oracle Chernoff baseline (T3, δ = 1e-3) on ``gmm-ref-B7`` through
  ``check_chain_sampler(…, per_step_delta=1e-3, delta_side="target")`` at the designed particles: ``pass``
  (certified; 1 340 s wall on 2 loaded cores, 2026-12-08; ``results/per_step_delta_oracle.json``).
* ``authors``: the authors' one-proposal offset rule (κ = 15, δ = 1e-3, 1 000 parents, seed 7, untilted prior)
  trained by ``train_proposal_offsets`` on ``gmm-ddpm-B7``, checked on both sides: ``fail`` on both (136 s and 132 s
  wall, loaded, 2026-12-08; ``results/per_step_delta_authors.json``).

``--instance`` runs either on another chain (e.g. ``masked-ref-B5`` as a smoke run). Each row: the verdict, the
per-step test's n, exceeding steps, per-step means and upper confidence bounds, the certificates and the power.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from estimators.chain_baselines import OracleChernoffBaseline
from estimators.per_step_delta import train_proposal_offsets
from primitives.chain_samplers import per_step_rejection_sample
from tiltproof.byo import check_chain_sampler
from tiltproof.byo.chain import resolve_chain_instance

DELTA, KAPPA, ALPHA = 1e-3, 15.0, 1e-6


def _row(record, seconds: float) -> dict:
    test = next(t for t in record.tests if t.name == "per-step δ")
    return {"verdict": record.verdict, "pass_meaning": record.pass_meaning, "seconds": seconds, "n": test.n,
            "exceeding_steps": test.details["exceeding_steps"], "per_step_means": test.details["per_step_means"],
            "per_step_upper_confidence": test.details["per_step_upper_confidence"],
            "certificates": [{"name": c.name, "upper_confidence": c.upper_confidence, "budget": c.budget}
                             for c in record.certificates],
            "power": {k: v for k, v in record.power.items() if "per_step" in k}}


def _sampler(instance, baseline):
    return lambda kernel, n, generator: per_step_rejection_sample(kernel, instance.values, baseline, n,
                                                                  generator=generator, record_states=True)


def oracle_run(name: str) -> dict:
    instance = resolve_chain_instance(name)
    baseline = OracleChernoffBaseline(instance.chain, instance.values, DELTA)
    start = time.time()
    record = check_chain_sampler(_sampler(instance, baseline), name, budget=0.05, baseline=baseline, alpha=ALPHA,
                                 per_step_delta=DELTA, delta_side="target")
    return {"instance": name, "sampler": "oracle Chernoff baseline", **_row(record, time.time() - start)}


def authors_runs(name: str) -> list[dict]:
    instance = resolve_chain_instance(name)
    rule, _ = train_proposal_offsets(instance.chain, instance.values, kappa=KAPPA, delta=DELTA, parents=1000,
                                     generator=torch.Generator().manual_seed(7))
    rows = []
    for side in ("target", "proposal"):
        start = time.time()
        record = check_chain_sampler(_sampler(instance, rule), name, budget=0.05, baseline=rule, alpha=ALPHA,
                                     per_step_delta=DELTA, delta_side=side, untilted_prior=True)
        rows.append({"instance": name, "sampler": "authors' offset rule", "side": side,
                     "offsets": {str(t): v for t, v in sorted(rule.offsets.items())}, **_row(record, time.time() - start)})
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", choices=("oracle", "authors", "both"), default="both")
    parser.add_argument("--instance", default=None, help="chain instance (default gmm-ref-B7 / gmm-ddpm-B7)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    if args.run in ("oracle", "both"):
        rows.append(oracle_run(args.instance or "gmm-ref-B7"))
    if args.run in ("authors", "both"):
        rows.extend(authors_runs(args.instance or "gmm-ddpm-B7"))
    text = json.dumps(rows, indent=1)
    if args.out is not None:
        args.out.write_text(text)
    for row in rows:
        print(row["instance"], row["sampler"], row.get("side", "target"), row["verdict"], row["pass_meaning"],
              "n", row["n"], "exceeding", row["exceeding_steps"], f"{row['seconds']:.0f} s")


if __name__ == "__main__":
    main()
