"""The alignment experiment (issue 3): kernel queries and x_0-law TV of every sampler against B.

    python benchmarks/alignment.py --instance gmm|masked [--quick] [--device cuda] --json FILE --save-samples DIR [--figure FILE]
    python benchmarks/alignment.py --instance gmm --from-results FILE --json FILE   # summaries + figure only

Reference configuration: GMM diffusion (d = 2, 0.95·N((5,0), I) + 0.05·N((−5,0), I), T = 20, reference
schedule), reward ``B·1{x_1 < −7}``; masked diffusion (L = 6, V = 8, 512 sequences, T = 6), reward
``B·1{x ∈ A}`` (P(A) = 4.5e-3); λ = 1, B ∈ {1, 3, 5, 7}. Methods: ``unaligned``, ``trajectory``,
``ideal_per_step``, ``analytic`` (GMM only), ``lcb`` (learned baseline), ``oracle``.

Per row: ``queries_per_sample`` = kernel queries (prior draws + child draws, up to each accepted proposal:
what a sequential implementation spends) per x_0 sample; ``kernel_draws_per_sample`` = all draws the
batched code made; ``training_queries`` (lcb only) = every kernel draw spent training and calibrating it.
lcb on the GMM is certified by one sequential path test (``learning.path_calibration``: with probability
≥ 1 − ``PATH_FAILURE`` its path TV is ≤ ``PATH_TV_BUDGET``; ``path_tests`` in its row), the masked chain's by
per-step calibration (``--calibration`` overrides either). In ``--quick`` lcb still draws 10 000 outputs:
its T7 certificate below needs the visited states (at 2 000 its KL bound alone is ≥ 21·log(1000)/2000 = 0.07).

``tv`` is an upper confidence bound on ``TV(law of x_0, q_0)``, by the tightest valid route for the method
(stated per row in ``tv_statistic``):
* ``unaligned``: exact ``TV(p_0, q_0) = q_0(A) − p_0(A)`` (A = the reward's support);
* ``trajectory``, ``ideal_per_step``: 0, exact by T1 / T7 (all terms 0) — checked by the claims
  ``t1.trajectory_exact`` and ``t7.ideal_exact``;
* ``oracle``, ``analytic`` (GMM): the sampler's exact x_0 law by quadrature along the ridge
  (``estimators.exact.ridge_chain_law``), plus twice its quadrature-error estimate; masked: exact enumeration;
* ``lcb`` on the GMM (its network sees all of y, so its law is not ridge-computable): T7's path bound
  with the exact per-state terms at the sampler's own visited states, and an upper confidence bound
  (level 1e-3, Hoeffding–Chernoff KL / empirical Bernstein) on their mean; masked: exact enumeration.
``tv_lower`` is a sample-based lower confidence bound (level 1e-3) on the same TV, for consistency.

``meta.amortised`` (``benchmarks/amortised.py``): per B, lcb's total cost ``training_queries + n·q_lcb``
against the references' ``n·q`` and the n from which lcb is cheaper in total (break-even), drawn in the
figure's third panel at the largest B.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.amortised import amortised_summary, draw_amortised  # noqa: E402
from estimators.bounded_means import bounded_mean_upper_confidence  # noqa: E402
from estimators.chain_baselines import AnalyticGaussianBaseline, OracleChernoffBaseline  # noqa: E402
from estimators.exact.finite_chain_law import aligned_data_law, finite_sampler_law  # noqa: E402
from estimators.exact.chain_laws import path_tv_terms  # noqa: E402
from estimators.exact.ridge_chain_law import ridge_sampler_law  # noqa: E402
from learning.chain_baseline import train_learned_baseline  # noqa: E402
from learning.path_calibration import train_path_calibrated_baseline  # noqa: E402
from primitives._checks import resolve_device  # noqa: E402
from primitives.chain_samplers import (EnvelopeBaseline, per_step_rejection_sample,  # noqa: E402
                                       trajectory_rejection_sample, unaligned_sample)
from theorems import diffusion_chains as dc  # noqa: E402

HEIGHTS = (1.0, 3.0, 5.0, 7.0)
PATH_TV_BUDGET = 0.05      # δ·(T+1): the certified path TV of lcb/oracle/analytic
PATH_FAILURE = 0.05        # η·(T+1): the lcb calibration's total failure probability
CONFIDENCE = 1e-3          # level of the sampled confidence bounds (tv for lcb on the GMM, tv_lower)

# GMM: lcb is certified by one path test (learning.path_calibration, issue 12); the same training in both
# modes, --quick samples fewer outputs but keeps 10 000 lcb outputs for its T7 certificate. The per-step
# calibration (calibration="per_step") is kept for the masked chain and as an option.
PATH_TRAINING = dict(train_parents=512, children=16, selection_pairs=400, iterations=300, learning_rate=0.02)
PER_STEP_GMM = {False: dict(train_parents=2048, children=32, calibration_pairs=8000, iterations=300,
                            learning_rate=0.02, selection_pairs=2000),
                True: dict(train_parents=1024, children=16, calibration_pairs=4000, iterations=300,
                           learning_rate=0.02, selection_pairs=1000)}
SETTINGS = {
    ("gmm", False): dict(n=20_000, calibration="path", **PATH_TRAINING),
    ("gmm", True): dict(n=2_000, lcb_n=10_000, calibration="path", **PATH_TRAINING),
    ("masked", False): dict(n=20_000, train_parents=2048, children=32, calibration_pairs=4000, iterations=600,
                            learning_rate=0.05, selection_pairs=1000),
    ("masked", True): dict(n=2_000, train_parents=512, children=16, calibration_pairs=1500, iterations=600,
                           learning_rate=0.05, selection_pairs=500),
}


def _rare_masses(instance) -> tuple[float, float]:
    """(p_0(A), q_0(A)) for A = {r = B}, exactly."""
    target = instance.x0_target()
    q_mass = 1.0 - float(target.reward_cdf_left(np.array([instance.height]))[0])
    if instance.kind == "gmm":
        law = dc.reference_gmm_diffusion()
        from scipy.special import ndtr

        p_mass = float((law.weights.numpy() * ndtr(instance.reward.threshold - law.means[:, 0].numpy())).sum())
    else:
        chain = instance.chain
        p_mass = float((chain.probs * (chain.data_rewards(instance.reward) >= instance.height)).sum())
    return p_mass, q_mass


def _exact_law_tv(instance, baseline) -> tuple[float, str]:
    if instance.kind == "gmm":
        law = ridge_sampler_law(instance.chain, instance.values, baseline)
        return law.tv_x0 + 2 * law.quadrature_error, "exact x_0 law by ridge quadrature (+2× quadrature error)"
    law = finite_sampler_law(instance.chain, instance.values, baseline)
    q0 = aligned_data_law(instance.chain, instance.reward, instance.lam)
    return 0.5 * float(np.abs(law.x0_probs - q0).sum()), "exact x_0 law by enumeration"


def _path_ucb(instance, result, baseline) -> tuple[float, str, dict]:
    steps = instance.chain.steps
    fine = path_tv_terms(instance.chain, result.states, baseline, instance.values, spacing=0.1)
    coarse = path_tv_terms(instance.chain, [s[:500] for s in result.states], baseline, instance.values, spacing=0.2)
    error = abs(float(fine[:, :500].sum(0).mean()) - float(coarse.sum(0).mean()))
    sums = fine.sum(0).cpu().numpy()
    ucb = (steps + 1) * bounded_mean_upper_confidence(np.clip(sums / (steps + 1), 0.0, 1.0), CONFIDENCE) + 2 * error
    return (min(ucb, 1.0), f"T7 path bound: exact per-state terms at the sampler's states, UCB at level {CONFIDENCE:g} "
            "(+2× quadrature error)", {"t7_mean": float(sums.mean()), "t7_per_step": fine.mean(1).tolist()})


def run_height(instance_kind: str, height: float, quick: bool, generator: torch.Generator, samples_dir: Path | None,
               log, calibration: str | None = None) -> list[dict]:
    """Every method's row at one B; the chain, the samplers and lcb's training run on ``generator.device``."""
    instance = dc.chain_instance(instance_kind, height).on(generator.device)
    settings = SETTINGS[(instance_kind, quick)]
    n = settings["n"]
    steps = instance.chain.steps
    delta, eta = PATH_TV_BUDGET / (steps + 1), PATH_FAILURE / (steps + 1)
    values = instance.values
    p_mass, q_mass = _rare_masses(instance)
    rows = []

    def record(method, result, tv, statistic, extra=None, clock=None):
        points = instance.x0_points(result.samples)
        _, lower, _, lower_name = dc.x0_tv_lower(instance, result.samples, CONFIDENCE, 1e-3)
        row = {"method": method, "B": height, "queries_per_sample": result.queries_per_sample, "tv": tv, "n": result.n,
               "tv_statistic": statistic, "tv_lower": lower, "tv_lower_statistic": lower_name,
               "kernel_draws_per_sample": result.kernel_draws / max(result.n, 1),
               "rare_fraction": float((instance.reward(result.samples) >= height).double().mean()
                                      if instance.kind == "gmm" else
                                      (instance.chain.data_rewards(instance.reward)[points] >= height).double().mean()),
               "rare_mass_q0": q_mass, "seconds": None if clock is None else time.perf_counter() - clock}
        row.update(extra or {})
        if row["tv_lower"] > row["tv"] + 1e-12:
            row["inconsistent"] = "sample lower bound exceeds the upper bound"
        rows.append(row)
        if samples_dir is not None:
            np.save(samples_dir / f"{method}_B{height:g}.npy", result.samples.cpu().numpy())
        log(f"  B={height:g} {method:15s} queries/sample {row['queries_per_sample']:10.2f}  tv {tv:.4f} "
            f"(lower {lower:.4f})  rare {row['rare_fraction']:.4f} vs q0 {q_mass:.4f}")

    clock = time.perf_counter()
    record("unaligned", unaligned_sample(instance.chain, n, generator=generator), q_mass - p_mass,
           "exact TV(p_0, q_0) = q_0(A) − p_0(A)", clock=clock)
    clock = time.perf_counter()
    record("trajectory", trajectory_rejection_sample(instance.chain, instance.reward, instance.lam, n, generator=generator),
           0.0, "0: exact by T1 (claim t1.trajectory_exact)", clock=clock)
    clock = time.perf_counter()
    record("ideal_per_step", per_step_rejection_sample(instance.chain, values, EnvelopeBaseline(values), n, generator=generator),
           0.0, "0: exact by T7 with every term 0 (claim t7.ideal_exact)", clock=clock)
    if instance.kind == "gmm":
        clock = time.perf_counter()
        analytic = AnalyticGaussianBaseline(instance.chain, values, delta)
        result = per_step_rejection_sample(instance.chain, values, analytic, n, generator=generator)
        tv, statistic = _exact_law_tv(instance, analytic)
        record("analytic", result, tv, statistic, {"delta": delta}, clock=clock)
    clock = time.perf_counter()
    vocabulary = None if instance.kind == "gmm" else instance.chain.mask + 1
    if calibration is None:
        calibration = settings.get("calibration", "per_step")
    if calibration == "path":
        training = {key: settings[key] for key in PATH_TRAINING}
        baseline, report = train_path_calibrated_baseline(
            instance.chain, values, budget=PATH_TV_BUDGET, eta=PATH_FAILURE, vocabulary=vocabulary,
            generator=generator, **training)
    else:
        training = settings if "calibration_pairs" in settings else PER_STEP_GMM[quick]
        baseline, report = train_learned_baseline(
            instance.chain, values, delta=delta, eta=eta, train_parents=training["train_parents"],
            children=training["children"], calibration_pairs=training["calibration_pairs"],
            iterations=training["iterations"], learning_rate=training["learning_rate"],
            selection_pairs=training["selection_pairs"], vocabulary=vocabulary, generator=generator)
    trained = time.perf_counter()
    result = per_step_rejection_sample(instance.chain, values, baseline, settings.get("lcb_n", n), generator=generator,
                                       record_states=instance.kind == "gmm")
    extra = {"training_queries": report.training_queries, "training_seconds": trained - clock, "delta": delta,
             "eta": eta, "calibration": calibration, "offsets": {str(t): v for t, v in report.offsets.items()}}
    if calibration == "path":
        extra.update(eta=PATH_FAILURE, path_tests=[test.as_dict() for test in report.path_tests],
                     base_offsets={str(t): v for t, v in report.base_offsets.items()})
    if instance.kind == "gmm":
        tv, statistic, details = _path_ucb(instance, result, baseline)
        extra.update(details)
    else:
        tv, statistic = _exact_law_tv(instance, baseline)
    record("lcb", result, tv, statistic, extra, clock=clock)
    clock = time.perf_counter()
    oracle = OracleChernoffBaseline(instance.chain, values, delta)
    result = per_step_rejection_sample(instance.chain, values, oracle, n, generator=generator)
    tv, statistic = _exact_law_tv(instance, oracle)
    record("oracle", result, tv, statistic, {"delta": delta}, clock=clock)
    return rows


def target_summary(rows: list[dict]) -> dict:
    """The paper's headline at B = 7: lcb ≥ 10× fewer queries than ideal per-step, ≤ 1.5× oracle, TV ≤ 0.05."""
    at = {row["method"]: row for row in rows if row["B"] == 7.0}
    if not {"lcb", "ideal_per_step", "oracle"} <= set(at):
        return {}
    saving = at["ideal_per_step"]["queries_per_sample"] / at["lcb"]["queries_per_sample"]
    versus_oracle = at["lcb"]["queries_per_sample"] / at["oracle"]["queries_per_sample"]
    return {"saving_vs_ideal": saving, "ratio_to_oracle": versus_oracle, "lcb_tv": at["lcb"]["tv"],
            "met": {"saving_vs_ideal>=10": saving >= 10, "ratio_to_oracle<=1.5": versus_oracle <= 1.5,
                    "lcb_tv<=0.05": at["lcb"]["tv"] <= 0.05}}


def figure(rows: list[dict], path: Path, instance: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(dict.fromkeys(row["method"] for row in rows))
    fig, (left, right, amortised) = plt.subplots(1, 3, figsize=(15, 4))
    colors = {method: f"C{index}" for index, method in enumerate(methods)}
    for method in methods:
        chosen = sorted((row for row in rows if row["method"] == method), key=lambda row: row["B"])
        heights = [row["B"] for row in chosen]
        left.plot(heights, [row["queries_per_sample"] for row in chosen], marker="o", label=method, color=colors[method])
        right.plot(heights, [row["tv"] for row in chosen], marker="o", label=method, color=colors[method])
    left.set_yscale("log")
    left.set_xlabel("B")
    left.set_ylabel("kernel queries per sample")
    right.set_xlabel("B")
    right.set_ylabel("TV upper confidence bound to q_0")
    right.axhline(0.05, color="grey", lw=0.8, ls="--")
    left.legend(fontsize=8)
    draw_amortised(amortised, rows, max(row["B"] for row in rows), colors)
    fig.suptitle(f"alignment experiment ({instance})")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", choices=("gmm", "masked"), required=True)
    parser.add_argument("--quick", action="store_true", help="small n and training budget (≤ 10 min on 2 cores)")
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--save-samples", type=Path, default=None)
    parser.add_argument("--figure", type=Path, default=None, help="default: the JSON path with .pdf")
    parser.add_argument("--heights", type=float, nargs="+", default=list(HEIGHTS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (1 is fastest for these small tensors, much faster on a loaded machine)")
    parser.add_argument("--device", default="cpu", help="where the chains run and lcb trains: cpu, cuda or cuda:N")
    parser.add_argument("--calibration", choices=("path", "per_step"), default=None,
                        help="lcb's calibration: one path test (GMM default) or per step (masked default)")
    parser.add_argument("--from-results", type=Path, default=None,
                        help="recompute the summaries and the figure from this results JSON (no sampling)")
    arguments = parser.parse_args(argv)
    device = resolve_device(arguments.device)
    if arguments.from_results is not None:
        return summarise(arguments.from_results, arguments.json, arguments.figure)
    torch.set_num_threads(arguments.threads)
    if arguments.save_samples is not None:
        arguments.save_samples.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator(device=device).manual_seed(arguments.seed)
    started = time.perf_counter()
    rows = []
    for height in arguments.heights:
        print(f"B = {height:g}", flush=True)
        rows += run_height(arguments.instance, height, arguments.quick, generator, arguments.save_samples,
                           lambda line: print(line, flush=True), arguments.calibration)
    summary = target_summary(rows)
    meta = {"instance": arguments.instance, "quick": arguments.quick, "seed": arguments.seed, "lambda": 1.0,
            "heights": arguments.heights, "path_tv_budget": PATH_TV_BUDGET, "path_failure": PATH_FAILURE,
            "confidence": CONFIDENCE, "settings": SETTINGS[(arguments.instance, arguments.quick)], "device": str(device),
            "calibration": arguments.calibration, "load_average": list(os.getloadavg()),
            "seconds": time.perf_counter() - started, "target_at_B7": summary, "amortised": amortised_summary(rows)}
    arguments.json.parent.mkdir(parents=True, exist_ok=True)
    arguments.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    figure(rows, arguments.figure or arguments.json.with_suffix(".pdf"), arguments.instance)
    print(f"wrote {arguments.json} ({meta['seconds']:.0f}s)")
    if summary:
        print("target at B = 7:", json.dumps(summary))
    print("amortised:", json.dumps(meta["amortised"]))
    return 0


def summarise(source: Path, destination: Path, figure_path: Path | None) -> int:
    """Recompute ``target_at_B7`` and ``amortised`` from a results JSON's rows; write it and its figure."""
    results = json.loads(source.read_text())
    rows = results["rows"]
    results["meta"].update(target_at_B7=target_summary(rows), amortised=amortised_summary(rows))
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(json.dumps(results, indent=2))
    figure(rows, figure_path or destination.with_suffix(".pdf"), results["meta"]["instance"])
    print("amortised:", json.dumps(results["meta"]["amortised"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
