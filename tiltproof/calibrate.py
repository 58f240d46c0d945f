"""``tiltproof calibrate``: the false-alarm rate and the power of the checks, measured over many seeds (issue 20).

Every claim is a test at its own level ℓᵢ (``framework.claim_level``) designed for power 1 − β
(``framework.DEFAULT_BETA``) against its detectable gap. At the suite's levels (4e-9) a false alarm is
never seen, so calibration inflates them: with a total ``A`` (``--alpha-total``, default 0.5) over the k
selected claims, every level is multiplied by the same factor ``s = A / Σᵢ ℓᵢ`` (each claim then runs at
``s·ℓᵢ``, its designed n shrinks like log(1/α) and a run is cheap). Run r (r = 0 … N−1) uses master seed
``seed + r``, so its claim seeds ``claim_seed(seed + r, id)`` are independent draws.

* **False alarms.** A correct claim rejects (``fail``) in run r with probability ≤ s·ℓᵢ if its test is
  valid. Over N runs the count Kᵢ is Binomial(N, pᵢ); the report gives K/N with its two-sided exact
  Clopper–Pearson interval at ``--confidence`` c (``scipy.stats.binomtest(K, N).proportion_ci``) and
  flags the claim when the interval's lower end exceeds s·ℓᵢ (the rate exceeds its level beyond its
  interval). Over m claims about m(1−c)/2 such flags arise by chance, so the one-sided binomial p-value
  of H₀: pᵢ ≤ s·ℓᵢ is also compared with (1−c)/(2m) (Bonferroni over the claims): a flag that survives that
  is a defect to fix, not noise.
* **Power.** Each registered wrong variant whose claim is selected runs at its claim's calibrated level
  over the same N seeds; its kill rate (``fail``) is compared with the promise 1 − β, which the design
  guarantees when the variant's violation is at least the record's ``detectable_gap`` at that level
  (reported: the largest over runs). A variant is flagged when its interval's upper end is below 1 − β.

``error`` records count neither as rejections nor as kills; they are reported per claim. The campaign is a
list of jobs (one per claim or variant and run) through ``tiltproof.runner``: ``--workers``, progress,
an atomic JSON rewritten after every job, Ctrl-C → exit 130 with ``--resume FILE``.
"""
from __future__ import annotations

import argparse
import math
import re
import time
from dataclasses import dataclass
from typing import Any, Sequence

__all__ = ["DEFAULT_ALPHA_TOTAL", "DEFAULT_CONFIDENCE", "calibrated_levels", "calibration_row", "RateSummary",
           "summarize_rate", "summarize", "add_parser", "command_calibrate"]

DEFAULT_ALPHA_TOTAL = 0.5
DEFAULT_CONFIDENCE = 0.95


def calibrated_levels(own: dict[str, float], alpha_total: float) -> tuple[dict[str, float], float]:
    """Each claim's level times ``s = alpha_total / Σ own``: (levels, s). ``ValueError`` naming the argument."""
    if isinstance(alpha_total, bool) or not isinstance(alpha_total, (int, float)) or not 0.0 < alpha_total < 1.0:
        raise ValueError(f"--alpha-total must be a number in (0, 1), got {alpha_total!r}")
    if not own:
        raise ValueError("no claim selected to calibrate")
    scale = float(alpha_total) / math.fsum(own.values())
    return {key: level * scale for key, level in own.items()}, scale


def calibration_row(kind: str, claim_id: str, alpha: float, seed: int, device: str) -> dict[str, Any]:
    """One run of a registered claim (``kind`` "claim") or wrong variant ("variant") at ``alpha`` and master
    seed ``seed``, reduced to what calibration needs. The unit of work of a worker."""
    from tiltproof.core.framework import run_claim
    from tiltproof.parallel import _registered, registered_variant

    claim = _registered(claim_id) if kind == "claim" else registered_variant(claim_id)
    record = run_claim(claim, alpha=alpha, seed=seed, device=device)
    return _row(kind, claim_id, alpha, seed, record.verdict, record.n, record.detectable_gap, record.seconds,
                record.message if record.verdict != "pass" else "")


def _row(kind: str, claim_id: str, alpha: float, seed: int, verdict: str, n: int | None, gap: float | None,
         seconds: float, message: str) -> dict[str, Any]:
    finite_gap = gap if isinstance(gap, (int, float)) and math.isfinite(gap) else None
    return {"id": f"{kind}:{claim_id}@{seed}", "kind": kind, "claim": claim_id, "seed": seed, "alpha": alpha,
            "verdict": verdict, "n": n, "detectable_gap": finite_gap, "seconds": round(seconds, 4),
            "message": message[:300]}


@dataclass(frozen=True)
class RateSummary:
    """Rejections (or kills) of one claim (or variant) over its runs, with the exact interval."""

    claim: str
    kind: str
    runs: int
    rejections: int
    errors: int
    level: float
    low: float
    high: float
    p_value: float

    @property
    def rate(self) -> float:
        return self.rejections / self.runs if self.runs else math.nan


def summarize_rate(claim: str, kind: str, verdicts: Sequence[str], level: float,
                   confidence: float = DEFAULT_CONFIDENCE) -> RateSummary:
    """Fails among the non-error ``verdicts``: Clopper–Pearson interval at ``confidence`` and the one-sided
    p-value of H₀ p ≤ ``level`` (claims) or H₀ p ≥ ``level`` (variants: ``level`` is the promised power)."""
    from scipy.stats import binomtest

    errors = sum(verdict == "error" for verdict in verdicts)
    runs = len(verdicts) - errors
    fails = sum(verdict == "fail" for verdict in verdicts)
    if runs == 0:
        return RateSummary(claim, kind, 0, 0, errors, level, 0.0, 1.0, math.nan)
    test = binomtest(fails, runs, p=level, alternative="greater" if kind == "claim" else "less")
    interval = binomtest(fails, runs).proportion_ci(confidence_level=confidence, method="exact")
    return RateSummary(claim, kind, runs, fails, errors, level, float(interval.low), float(interval.high),
                       float(test.pvalue))


def summarize(rows: Sequence[dict[str, Any]], levels: dict[str, float], *, beta: float,
              confidence: float = DEFAULT_CONFIDENCE) -> dict[str, Any]:
    """Per claim: false-alarm rate against its level; per variant: kill rate against 1 − β; the flags."""
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        by_key.setdefault((row["kind"], row["claim"]), []).append(row)
    claims = [summarize_rate(claim, "claim", [r["verdict"] for r in group], levels[claim], confidence)
              for (kind, claim), group in by_key.items() if kind == "claim"]
    variants = [summarize_rate(claim, "variant", [r["verdict"] for r in group], 1.0 - beta, confidence)
                for (kind, claim), group in by_key.items() if kind == "variant"]
    tail = (1.0 - confidence) / 2.0
    claim_rows = [{**_as_dict(s), "exceeds": s.runs > 0 and s.low > s.level,
                   "exceeds_after_bonferroni": s.runs > 0 and s.p_value < tail / max(1, len(claims)),
                   "seconds": math.fsum(r["seconds"] for r in by_key[("claim", s.claim)])} for s in claims]
    variant_rows = []
    for s in variants:
        gaps = [r["detectable_gap"] for r in by_key[("variant", s.claim)] if r["detectable_gap"] is not None]
        variant_rows.append({**_as_dict(s), "promised_power": 1.0 - beta, "below_promise": s.runs > 0 and s.high < 1.0 - beta,
                             "largest_detectable_gap": max(gaps) if gaps else None})
    return {"claims": sorted(claim_rows, key=lambda r: r["claim"]),
            "variants": sorted(variant_rows, key=lambda r: r["claim"]),
            "flagged_claims": sorted(r["claim"] for r in claim_rows if r["exceeds"]),
            "flagged_claims_after_bonferroni": sorted(r["claim"] for r in claim_rows if r["exceeds_after_bonferroni"]),
            "variants_below_promise": sorted(r["claim"] for r in variant_rows if r["below_promise"])}


def _as_dict(summary: RateSummary) -> dict[str, Any]:
    return {"claim": summary.claim, "runs": summary.runs, "rejections": summary.rejections, "errors": summary.errors,
            "rate": summary.rate if summary.runs else None, "level": summary.level, "ci_low": summary.low,
            "ci_high": summary.high, "p_value": None if math.isnan(summary.p_value) else summary.p_value}


# ---------------------------------------------------------------- command line
def add_parser(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser("calibrate", help="measure the false-alarm rate of every claim and the power of "
                                                   "every wrong variant over many seeds")
    parser.add_argument("--runs", type=int, required=True, metavar="N", help="seeds per claim and per variant")
    parser.add_argument("--alpha-total", type=float, default=DEFAULT_ALPHA_TOTAL, metavar="A",
                        help="total level of one run over the selected claims (default 0.5); every claim's own "
                             "level is scaled by the same factor")
    parser.add_argument("--only", metavar="REGEX", help="calibrate only claims whose id matches REGEX (and their "
                                                        "wrong variants)")
    parser.add_argument("--no-variants", action="store_true", help="skip the wrong variants (false alarms only)")
    parser.add_argument("--seed", type=int, default=None, help="first master seed (runs use seed, seed+1, …; "
                                                               "default 0)")
    parser.add_argument("--confidence", type=float, default=DEFAULT_CONFIDENCE,
                        help="confidence of the Clopper–Pearson intervals (default 0.95)")
    parser.add_argument("--workers", type=int, default=None, metavar="K",
                        help="worker processes (default: this machine's cores; 1 = this process)")
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                        help="run the jobs on Ray (a local Ray without ADDRESS)")
    parser.add_argument("--device", default="cpu", help="torch device: cpu (default) or cuda")
    parser.add_argument("--json", metavar="FILE", help="write {'meta' (its 'summary' at the end), 'runs'} to "
                                                       "FILE, rewritten atomically after every job")
    parser.add_argument("--resume", metavar="FILE", help="complete an interrupted --json FILE (same settings)")
    from tiltproof.plugins import add_theorems_option

    add_theorems_option(parser)
    parser.set_defaults(handler=command_calibrate)
    return parser


def _cheap_checks(arguments: argparse.Namespace) -> None:
    """Everything that can be wrong with the arguments, before the registry loads or any run starts."""
    from tiltproof.runner import check_outputs

    if isinstance(arguments.runs, bool) or not isinstance(arguments.runs, int) or arguments.runs < 1:
        raise ValueError(f"--runs must be an integer ≥ 1, got {arguments.runs!r}")
    calibrated_levels({"probe": 1.0}, arguments.alpha_total)
    if not 0.0 < arguments.confidence < 1.0:
        raise ValueError(f"--confidence must be a number in (0, 1), got {arguments.confidence!r}")
    if arguments.workers is not None and arguments.workers < 1:
        raise ValueError(f"--workers must be an integer ≥ 1, got {arguments.workers!r}")
    if arguments.only:
        try:
            re.compile(arguments.only)
        except re.error as error:
            raise ValueError(f"--only must be a valid regular expression: {error}") from None
    if not re.fullmatch(r"cpu|cuda(:\d+)?", arguments.device):
        raise ValueError(f"--device must be 'cpu', 'cuda' or 'cuda:N', got {arguments.device!r}")
    check_outputs({"--json" if arguments.json else "--resume": arguments.json or arguments.resume})


def _resumed(arguments: argparse.Namespace) -> list[dict[str, Any]]:
    if not arguments.resume:
        return []
    from tiltproof.records_io import read_partial

    payload = read_partial(arguments.resume, key="runs")
    meta = payload["meta"]
    for option, key in (("alpha_total", "alpha_total"), ("only", "only"), ("device", "device")):
        if meta.get(key) != getattr(arguments, option):
            raise ValueError(f"--resume: the file was run with {key} {meta.get(key)!r}, not "
                             f"{getattr(arguments, option)!r}")
    if arguments.seed is None:
        arguments.seed = meta.get("seed", 0)
    return payload["runs"]


def _jobs(arguments: argparse.Namespace, claims: list, variants: list, levels: dict[str, float], done: set[str]):
    from tiltproof.parallel import Job

    seeds = range(arguments.seed, arguments.seed + arguments.runs)
    wanted = [("claim", claim.id, levels[claim.id]) for claim in claims]
    wanted += [("variant", mutant.claim.id, levels[mutant.claim.id.split("#", 1)[0]]) for mutant in variants]
    specs = [(kind, claim_id, level, seed) for kind, claim_id, level in wanted for seed in seeds
             if f"{kind}:{claim_id}@{seed}" not in done]
    jobs = [Job("tiltproof.calibrate:calibration_row", (kind, claim_id, level, seed, arguments.device))
            for kind, claim_id, level, seed in specs]

    def fallback(index: int, reason: str) -> dict[str, Any]:
        kind, claim_id, level, seed = specs[index]
        return _row(kind, claim_id, level, seed, "error", None, None, 0.0, reason)

    return jobs, fallback, [spec[1] for spec in specs]


def _table(summary: dict[str, Any], width: int | None) -> str:
    from tiltproof.runner import Column, format_table, number_text

    columns = [Column("claim / wrong variant", "text", min_width=24), Column("runs", "number"),
               Column("rejected", "number"), Column("rate", "number"), Column("CP low", "number"),
               Column("CP high", "number"), Column("level / promise", "number"), Column("errors", "number"),
               Column("flag", "text", min_width=4)]
    rows = [[row["claim"], str(row["runs"]), str(row["rejections"]), number_text(row["rate"]),
             number_text(row["ci_low"]), number_text(row["ci_high"]), number_text(row["level"]), str(row["errors"]),
             "EXCEEDS" if row["exceeds"] else ""] for row in summary["claims"]]
    rows += [[row["claim"], str(row["runs"]), str(row["rejections"]), number_text(row["rate"]),
              number_text(row["ci_low"]), number_text(row["ci_high"]), number_text(row["level"]), str(row["errors"]),
              "BELOW" if row["below_promise"] else ""] for row in summary["variants"]]
    return format_table(columns, rows, width, title="calibration: observed rejection rate against the level "
                                                    "(claims) and kill rate against the promised power (variants)")


def command_calibrate(arguments: argparse.Namespace) -> int:
    """Exit 0 when no claim exceeds its level beyond its interval and no variant is below its promise, 1
    otherwise, 2 for bad arguments (refused before any run), 130 when interrupted."""
    from tiltproof.runner import refuse

    try:
        _cheap_checks(arguments)
        kept = _resumed(arguments)
    except ValueError as error:
        return refuse(str(error))
    arguments.seed = 0 if arguments.seed is None else arguments.seed
    from tiltproof.core.framework import DEFAULT_BETA, claim_level
    from tiltproof.core.registry import all_claims, all_mutants, select_claims
    from tiltproof.parallel import check_workers
    from tiltproof.plugins import use_theorems
    from tiltproof.records_io import ResultsWriter
    from tiltproof.runner import console as make_console, execute, interrupted, run_meta, stdout_width

    try:
        use_theorems(getattr(arguments, "theorems", None))
        workers = check_workers(arguments.workers)
        registered = all_claims()
        claims = select_claims(registered, arguments.only)
        if not claims:
            raise ValueError(f"--only {arguments.only!r} matches none of the {len(registered)} claims")
        levels, scale = calibrated_levels({claim.id: claim_level(claim) for claim in claims}, arguments.alpha_total)
        chosen = {claim.id for claim in claims}
        variants = [] if arguments.no_variants else [m for m in all_mutants() if m.claim.id.split("#", 1)[0] in chosen]
        if arguments.ray is not None:
            import importlib.util

            if importlib.util.find_spec("ray") is None:
                raise ValueError("--ray needs Ray: pip install 'tiltproof[ray]' (or drop --ray for the local pool)")
    except ValueError as error:
        return refuse(str(error))
    console = make_console()
    output = arguments.json or arguments.resume
    meta = run_meta("calibrate", arguments.device, runs=arguments.runs, seed=arguments.seed,
                    alpha_total=arguments.alpha_total, scale=scale, beta=DEFAULT_BETA, confidence=arguments.confidence,
                    only=arguments.only, claims=len(claims), variants=len(variants), workers=workers,
                    levels=levels)
    writer = ResultsWriter(output, meta, kept, key="runs") if output else None
    rows: list[dict[str, Any]] = list(kept)
    jobs, fallback, groups = _jobs(arguments, claims, variants, levels, {row["id"] for row in kept})
    started = time.perf_counter()

    def done(index: int, row: dict[str, Any]) -> None:
        rows.append(row)
        if writer is not None:
            writer.add(row)

    try:
        if arguments.ray is not None:
            from tiltproof.sweep import _run_ray

            _run_ray([job.args for job in jobs], fallback, done, address=arguments.ray or None, num_cpus=None,
                     timeout=None, function=calibration_row)
        else:
            execute(jobs, workers=workers, fallback=fallback, on_done=done, groups=groups, label="calibration runs",
                    describe=lambda index, row: f"{row['verdict']:5s} {row['claim']} seed {row['seed']}")
    except KeyboardInterrupt:
        return interrupted("calibrate", output, len(rows))
    summary = summarize(rows, levels, beta=DEFAULT_BETA, confidence=arguments.confidence)
    console.print(_table(summary, stdout_width()), markup=False, highlight=False)
    flagged, strict, weak = (summary["flagged_claims"], summary["flagged_claims_after_bonferroni"],
                             summary["variants_below_promise"])
    console.print(f"{len(claims)} claims × {arguments.runs} runs at {arguments.alpha_total:g} per run (each level × "
                  f"{scale:.4g}), {len(variants)} wrong variants × {arguments.runs} runs — {len(flagged)} claims above "
                  f"their level beyond the {arguments.confidence:g} interval ({len(strict)} after Bonferroni over the "
                  f"claims), {len(weak)} variants below the promised power {1 - DEFAULT_BETA:g}; "
                  f"{time.perf_counter() - started:.1f}s, {workers} worker(s)", highlight=False)
    if writer is not None:
        writer.meta["summary"] = summary
        writer.finish(seconds=round(time.perf_counter() - started, 2))
        console.print(f"wrote {output}")
    return 0 if not flagged and not weak else 1
