"""LCB on a learned masked-diffusion language model (issue 19): queries per sample and verdicts.

    python benchmarks/masked_lm.py [--quick] [--device cuda] [--heights 1 3 5] [--out benchmarks/results]

Model: ``primitives.masked_lm.SMALL_CONFIG`` (letters, L = 16, two transformer layers, trained by the project
on the standard library's docstrings, cached), unmasking ``UNMASK`` = 2 positions per step (T = 8).
Reward: ``KeywordReward(B, TOPIC_KEYWORDS)`` — B if the line mentions file / path / dir / open / read —
λ = 1. Soft values V̂: ``fit_soft_values`` (soft Bellman regression on the model's own chain) on the
keyword features of a partly masked line (``KeywordReward.features``: per keyword, how many windows can
still spell it with j letters missing) — one-hot features learned nothing here (measured: the per-step
samplers stayed at the unaligned reward rate, 0.02 vs trajectory rejection's 0.21 at B = 3). Samplers, per B:

* ``unaligned`` — the model's own chain;
* ``trajectory`` — whole chains accepted with ``e^{(r − B)/λ}``: exact by T1, the reference;
* ``ideal_per_step`` — per-step rejection at the envelope ``sup V̂_t = B`` (exact for the chain targeted by
  V̂, ``∝ p e^{V̂/λ}`` per step; T8 separates it from q_0 by the unknown value error);
* ``lcb`` — per-step rejection with the learned Chernoff baseline, path-calibrated
  (``learning.path_calibration``: with probability ≥ 1 − η its path TV to the V̂-targeted chain is ≤ ε);
* ``two_lambda`` (B = 3 only, for the verdicts) — ideal per-step rejection accepting at 2λ.

Per row: queries per sample (kernel draws up to each accepted proposal), the fraction of outputs in the
reward's set, ten example texts. At ``VERDICT_HEIGHT`` every sampler goes through
``check_chain_sampler(…, kernel=, reward=, lam=, reference="trajectory")`` (a two-sample KS test per
projection against a fresh trajectory-rejection reference, with its detectable gap). Writes
``masked_lm[_quick].json`` and ``.md`` under ``--out``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from learning.chain_baseline import fit_soft_values  # noqa: E402
from learning.path_calibration import train_path_calibrated_baseline  # noqa: E402
from primitives._checks import resolve_device  # noqa: E402
from primitives.chain_samplers import (EnvelopeBaseline, per_step_rejection_sample,  # noqa: E402
                                       trajectory_rejection_sample, unaligned_sample)
from primitives.masked_lm import SMALL_CONFIG, MaskedLMKernel, decode, train_masked_lm  # noqa: E402
from primitives.text_rewards import TOPIC_KEYWORDS, KeywordReward  # noqa: E402
from tiltproof.instances.chain import TemperatureValues  # noqa: E402
from tiltproof.byo.chain import check_chain_sampler  # noqa: E402

UNMASK = 2
LAM = 1.0
HEIGHTS = (1.0, 3.0, 5.0)
VERDICT_HEIGHT = 3.0
PATH_TV_BUDGET, PATH_FAILURE = 0.05, 0.05
CHECK_ALPHA, CHECK_BETA = 1e-3, 1e-3
SETTINGS = {
    True: dict(n=300, check_n=2000, value_parents=1024, value_children=16, value_iterations=300,
               train_parents=256, children=16, selection_pairs=200, iterations=200, max_tests=2),
    False: dict(n=2000, check_n=4000, value_parents=2048, value_children=32, value_iterations=400,
                train_parents=512, children=16, selection_pairs=400, iterations=300, max_tests=3),
}


def _examples(samples: torch.Tensor, count: int = 10) -> list[str]:
    return [decode(row) for row in samples[:count].cpu()]


def _row(method: str, height: float, result, reward, clock: float, **extra) -> dict:
    hits = reward.contains(result.samples)
    return {"method": method, "B": height, "n": result.n, "queries_per_sample": result.queries_per_sample,
            "in_reward_set": float(hits.double().mean()), "seconds": time.perf_counter() - clock,
            "step_queries_per_sample": [q / max(result.n, 1) for q in result.step_queries],
            "examples": _examples(result.samples), **extra}


def run_height(kernel: MaskedLMKernel, height: float, settings: dict, generator: torch.Generator, log) -> dict:
    reward = KeywordReward(height, TOPIC_KEYWORDS)
    rows = []
    clock = time.perf_counter()
    values, value_queries = fit_soft_values(kernel, reward, LAM, parents=settings["value_parents"],
                                            children=settings["value_children"],
                                            iterations=settings["value_iterations"],
                                            features=lambda states: reward.features(states, kernel.mask),
                                            generator=generator)
    value_seconds = time.perf_counter() - clock
    log(f"B={height:g}: soft values fitted ({value_queries} queries, {value_seconds:.0f}s)")
    n = settings["n"]
    for method, draw in (("unaligned", lambda: unaligned_sample(kernel, n, generator=generator)),
                         ("trajectory", lambda: trajectory_rejection_sample(kernel, reward, LAM, n, generator=generator)),
                         ("ideal_per_step", lambda: per_step_rejection_sample(kernel, values, EnvelopeBaseline(values), n,
                                                                               generator=generator))):
        clock = time.perf_counter()
        rows.append(_row(method, height, draw(), reward, clock))
        log(f"  {method:15s} queries/sample {rows[-1]['queries_per_sample']:9.2f}  in A {rows[-1]['in_reward_set']:.3f}")
    clock = time.perf_counter()
    baseline, report = train_path_calibrated_baseline(
        kernel, values, budget=PATH_TV_BUDGET, eta=PATH_FAILURE, train_parents=settings["train_parents"],
        children=settings["children"], selection_pairs=settings["selection_pairs"], iterations=settings["iterations"],
        max_tests=settings["max_tests"], vocabulary=kernel.total_vocabulary, generator=generator)
    certified = any(test.certified for test in report.path_tests)
    certificate = {
        "path_tv_to_values_chain": PATH_TV_BUDGET if certified else None, "failure_probability": PATH_FAILURE,
        "certified": certified, "path_tests": [test.as_dict() for test in report.path_tests],
        "tv_to_q0": None,
        "reason": ("certified: with probability ≥ 1 − η the path TV to the chain targeted by V̂ (∝ p e^{V̂/λ} per "
                   "step) is ≤ ε; the TV to q_0 stays uncertified because V̂ is learned and its error ε_V is unknown "
                   "on this model (T8 would add Σ_t tanh(ε_V/2λ))") if certified else
        ("uncertified: the first path test failed, so the output baseline is the envelope (ideal per-step "
         "rejection); TV to q_0 also needs the unknown value error (T8)")}
    result = per_step_rejection_sample(kernel, values, baseline, n, generator=generator)
    rows.append(_row("lcb", height, result, reward, clock, training_queries=report.training_queries,
                     training_seconds=report.seconds, certificate=certificate))
    log(f"  {'lcb':15s} queries/sample {rows[-1]['queries_per_sample']:9.2f}  in A {rows[-1]['in_reward_set']:.3f} "
        f"(training {report.training_queries} queries, {report.seconds:.0f}s, certified={certified})")
    out = {"B": height, "rows": rows, "value_queries": value_queries, "value_seconds": value_seconds}
    if height == VERDICT_HEIGHT:
        out["verdicts"] = verdicts(kernel, reward, values, baseline, settings["check_n"], log)
    return out


def verdicts(kernel, reward, values, baseline, n: int, log) -> dict:
    """``check_chain_sampler(…, reference="trajectory")`` on every sampler at one B, n outputs each."""
    samplers = {
        "trajectory": lambda k, m, g: trajectory_rejection_sample(k, reward, LAM, m, generator=g),
        "unaligned": lambda k, m, g: unaligned_sample(k, m, generator=g),
        "two_lambda": lambda k, m, g: per_step_rejection_sample(k, TemperatureValues(values, 2.0),
                                                                EnvelopeBaseline(values), m, generator=g),
        "lcb": lambda k, m, g: per_step_rejection_sample(k, values, baseline, m, generator=g),
    }
    found = {}
    for name, sampler in samplers.items():
        clock = time.perf_counter()
        record = check_chain_sampler(sampler, kernel=kernel, reward=reward, lam=LAM, reference="trajectory",
                                     budget=0.0, alpha=CHECK_ALPHA, beta=CHECK_BETA, n=n, seed=7)
        worst = max(record.tests, key=lambda test: test.value - test.threshold)
        found[name] = {"verdict": record.verdict, "n": n, "alpha": CHECK_ALPHA, "beta": CHECK_BETA,
                       "detectable_projection_ks": record.power["x0_projection_ks_beyond_budget"],
                       "worst_projection": worst.name, "worst_statistic": worst.value,
                       "threshold": worst.threshold, "reward_ks": record.tests[0].value,
                       "reference_acceptance_rate": record.details["reference_acceptance_rate"],
                       "seconds": time.perf_counter() - clock}
        log(f"  check {name:12s} {record.verdict:5s} reward KS {record.tests[0].value:.3f}, worst {worst.name} "
            f"{worst.value:.3f} vs {worst.threshold:.3f} (detects {found[name]['detectable_projection_ks']:.3f})")
    return found


def markdown(results: dict) -> str:
    meta = results["meta"]
    lines = [f"# LCB on a learned masked-diffusion LM ({'quick' if meta['quick'] else 'full'})", "",
             f"Model: L = {meta['length']}, k = {meta['unmask']} positions per step (T = {meta['steps']}), trained "
             f"{meta['training']['seconds']:.0f}s (0 = loaded from the cache) on {meta['training']['sequences']} "
             f"docstring lines; reward B·1{{line mentions {', '.join(TOPIC_KEYWORDS)}}}, λ = 1; device {meta['device']}; "
             f"load average {meta['load_average'][0]:.1f} (timings inflated by a shared CPU).", "",
             "| B | sampler | queries/sample | in reward set | note |", "| --- | --- | ---: | ---: | --- |"]
    for block in results["heights"]:
        for row in block["rows"]:
            note = ""
            if row["method"] == "lcb":
                note = f"training {row['training_queries']} queries; {row['certificate']['reason'].split(':')[0]}"
            lines.append(f"| {row['B']:g} | {row['method']} | {row['queries_per_sample']:.1f} | "
                         f"{row['in_reward_set']:.3f} | {note} |")
    for block in results["heights"]:
        at = {row["method"]: row for row in block["rows"]}
        ratio = at["trajectory"]["queries_per_sample"] / at["lcb"]["queries_per_sample"]
        lines.append(f"\nB = {block['B']:g}: trajectory / lcb queries per sample = {ratio:.1f} (target ≥ 10"
                     f"{': met' if ratio >= 10 else ': not met, see below'}). LCB certificate — "
                     f"{at['lcb']['certificate']['reason']}.")
        if "verdicts" in block:
            lines += ["", "| sampler | verdict | reward KS | worst projection | statistic | threshold | detectable KS |",
                      "| --- | --- | ---: | --- | ---: | ---: | ---: |"]
            for name, v in block["verdicts"].items():
                lines.append(f"| {name} | {v['verdict']} | {v['reward_ks']:.3f} | {v['worst_projection']} | "
                             f"{v['worst_statistic']:.3f} | {v['threshold']:.3f} | {v['detectable_projection_ks']:.3f} |")
        lines.append("")
        for row in block["rows"]:
            lines.append(f"*{row['method']}* (B = {row['B']:g}): " + " · ".join(f"`{text}`" for text in row["examples"]))
    lines += ["", WHY_NOT_TEN]
    return "\n".join(lines) + "\n"


WHY_NOT_TEN = (
    "**Why LCB does not reach a tenth of trajectory rejection's queries here (measured 1.5–1.7×).** Likely reasons, "
    "not isolated by a measurement: (1) the keyword reward jumps — V̂ rises to B in the one step that completes a "
    "keyword, so on every state that can still complete one the path-calibrated baseline must cover that jump at "
    "tail ε/(T+1) ≈ 0.0056 under the tilted kernel (where completion is likely: q_0(A) = 0.23 at B = 3) and sits "
    "near B; (2) the values are learned, on features, from base-chain parents that rarely come near a keyword: "
    "per-step samplers with V̂ put 0.16 of their mass in A where trajectory rejection puts 0.26 (B = 3), and "
    "calibration against V̂'s own jumps costs offsets. Per step (t = 0..8, B = 3, masked_lm_quick_B3.json) LCB "
    "spends 16.2, 6.0, 10.5, 6.2, 7.5, 15.2, 13.8, 5.9, 1.7 queries against ideal per-step's 14–18 each: at t = 0, "
    "5 and 6 its certified baseline is at the envelope. The same code on the reference GMM (exact values, "
    "benchmarks/results/alignment_gmm.json) spends 26 queries per sample at B = 3 against trajectory rejection's "
    "413 (16×). LCB's samples still pass the two-sample test against the T1 reference at B = 3 (detectable KS 0.197).")


def rewrite_markdown(source: Path) -> None:
    """Regenerate the markdown of a results JSON (no sampling)."""
    source.with_suffix(".md").write_text(markdown(json.loads(source.read_text())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--heights", type=float, nargs="+", default=list(HEIGHTS))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--markdown-from", type=Path, default=None, help="rewrite the .md of this results JSON")
    arguments = parser.parse_args(argv)
    if arguments.markdown_from is not None:
        rewrite_markdown(arguments.markdown_from)
        return 0
    torch.set_num_threads(arguments.threads)
    device = resolve_device(arguments.device)
    started = time.perf_counter()
    kernel = train_masked_lm(SMALL_CONFIG, unmask=UNMASK, device=device, log=print)
    settings = SETTINGS[arguments.quick]
    generator = torch.Generator(device=device).manual_seed(arguments.seed)
    blocks = []
    for height in arguments.heights:
        blocks.append(run_height(kernel, height, settings, generator, lambda line: print(line, flush=True)))
    meta = {"quick": arguments.quick, "device": str(device), "seed": arguments.seed, "length": kernel.length,
            "unmask": UNMASK, "steps": kernel.steps, "training": kernel.training, "settings": settings,
            "keywords": TOPIC_KEYWORDS, "lambda": LAM, "load_average": list(os.getloadavg()),
            "seconds": time.perf_counter() - started}
    results = {"meta": meta, "heights": blocks}
    name = "masked_lm_quick" if arguments.quick else "masked_lm"
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / f"{name}.json").write_text(json.dumps(results, indent=2, default=float))
    (arguments.out / f"{name}.md").write_text(markdown(results))
    print(f"wrote {arguments.out / name}.json/.md ({meta['seconds']:.0f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
