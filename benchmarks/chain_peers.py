"""The field's samplers judged on the same exact chains (issue 18, item 4).

    PYTHONPATH=. python benchmarks/chain_peers.py [--quick] [--device cpu] [--out DIR]

Every sampler runs through ``tiltproof.byo.check_chain_sampler`` on ``gmm-ref-B{3,5}`` and ``gmm-ddpm-B{3,5}``,
with the same value functions: the instance's exact soft values ``V_t``. Writes ``chain_peers.{json,md,tex}``
and ``chain_peers.{pdf,png}`` (queries per sample against TV, log-x) under ``benchmarks/results/chain_peers/``.

**Samplers.** The LCB authors' six (``shared/spec/paper-fidelity.md`` §4), rebuilt here:
trajectory rejection ("True": whole chains accepted with ``e^{(r(x_0) − B)/λ}``), exact per-step (``b_t ≡ B``),
last-step (trajectory rejection to x_1 with ``V_1``, then the last step with envelope B), tight
(``b_t(y) = V_{t+1}(y)``), MSG (their analytic baseline, δ = 0.01, ``L_r = Bk/4``, prior untilted; defined for
the DDPM-step chain only, so "not applicable" on ``gmm-ref``) and LCB (their offset rule ``b_t(y) = V_{t+1}(y) +
τ_t``, one proposal per training parent, κ = 15, δ = 1e-3, trained backward on-policy by
``estimators.per_step_delta.train_proposal_offsets`` with exact u, prior untilted). The peers: SVDD with M
children per step (argmax, and softmax ∝ e^{V_t/λ}; ``primitives.peers.chain_peers``), FK steering / twisted SMC
with K particles, the values as twists and multinomial resampling at every step
(``primitives.peers.smc.fk_steering_sample``, ``ess_threshold = 1``), and reward-gradient guidance (kernel mean
shifted by ``s_t ∇V_t/λ``, ``s_t`` the kernel's variance along the reward's direction).

**Claims.** The three exact samplers claim TV = 0 (an exactness claim: ``pass`` means *not refuted*); every
other sampler is checked against ``--budget`` (default 0.05), which passes only *certified* (T7's certificate,
for the samplers that declare a per-step rule) and is otherwise ``uncertified`` or ``fail``. The per-step
samplers declare their rule (``baseline=``, exact ``values``) and return their states, so the check audits them
and certifies; the peers declare none (none states a TV guarantee), so only the x_0 test can speak.

**Sizes.** The check's own design functions choose n (the x_0 test's rare-event and projection designs; the
audit's particles). A sampler whose designed n would cost more than ``--max-queries`` kernel calls is capped
by ``check_chain_sampler(max_samples=…)`` at ``max-queries / (queries per sample)`` (a 32-sample pilot gives
the rate); the record's warnings and the table's ``n`` say so, and its power is then lower (stated). The
declared-rule audit (exact per-state laws at the visited states: the check's dominant cost) stops at
``--max-audit`` particles (default 20 000, the check's own first look), as ``check_chain_sampler(max_audit=…)``
allows; the certificate's confidence bound is then that of 20 000 particles.

**Columns.** verdict (pass meaning), certified TV (the T7 certificate's upper confidence bound when within
budget, else "none"), the x_0 TV: *exact* (T1 for the exact samplers; the propagated quadrature law
``estimators.exact.ridge_chain_law.ridge_sampler_law`` / ``estimators.exact.ddpm_sampler_law`` for the per-step rules, with its
quadrature error) or, for the peers, the check's *estimate* (largest projection KS / rare-event gap, each a
lower bound on TV) with its lower confidence bound at the x_0 test's level; queries per sample (every kernel
call of the main draw, prior draws included, plus LCB's training draws spread over the n samples); seconds
(the main draw, and the whole check).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from estimators.per_step_delta import train_proposal_offsets  # noqa: E402
from primitives.chain_samplers import (last_step_rejection_sample, per_step_rejection_sample,  # noqa: E402
                                       trajectory_rejection_sample)
from primitives.diffusion import CountingKernel  # noqa: E402
from primitives.peers.chain_peers import gradient_guidance_sample, svdd_sample  # noqa: E402
from primitives.peers.smc import fk_steering_sample  # noqa: E402
from tiltproof.byo import check_chain_sampler  # noqa: E402
from tiltproof.byo.chain import resolve_chain_instance  # noqa: E402
from tiltproof.instances.chain import make_baseline  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "chain_peers"
INSTANCES = ("gmm-ref-B3", "gmm-ref-B5", "gmm-ddpm-B3", "gmm-ddpm-B5")
EXACT = "exact"


@dataclass(frozen=True)
class Settings:
    budget: float = 0.05
    alpha: float = 1e-6
    seed: int = 0
    device: str = "cpu"
    max_queries: float = 2e7
    max_audit: int = 20_000      # particles whose visited states the declared-rule audit uses (check_chain_sampler's max_audit)
    proposals: int = 16          # SVDD's M and FK's K
    train_parents: int = 1000    # LCB's training parents per step
    n: int | None = None         # quick mode: a fixed n instead of the design (and the audit of n particles)


@dataclass
class Prepared:
    """A sampler ready for ``check_chain_sampler``: the callable, its declared rule (or None), the claim, the
    route to its exact x_0 TV (``EXACT``: exact by T1; a baseline: the propagated law; None: estimate only)."""

    sampler: Callable
    baseline: object | None
    budget: float
    law: object | None
    untilted_prior: bool = False
    training_queries: int = 0
    note: str = ""


def kernel_variance(instance, t: int) -> float:
    """The kernel's variance along the reward's direction at step t (t = T: the prior's), from the chain's
    schedule: ``β_t`` for the DDPM step, ``(S_t^{-1} + α_t/(1 − α_t))^{-1}`` (component 0) for the exact GMM
    reverse kernel. Gradient guidance's step size (its first-order tilt of a Gaussian kernel)."""
    chain = instance.chain
    if instance.kind == "ddpm":
        return 1.0 if t == chain.steps else float(chain.betas_np[t])
    u = torch.tensor([1.0, 0.0], dtype=chain.dtype, device=chain.device)
    if t == chain.steps:
        return float(u @ chain.marginal_covs[t][0] @ u)
    alpha = float(chain.alphas_np[t])
    precision = torch.linalg.inv(chain.marginal_covs[t][0]) + alpha / (1.0 - alpha) * torch.eye(2, dtype=chain.dtype,
                                                                                                 device=chain.device)
    return float(u @ torch.linalg.inv(precision) @ u)


def _per_step(instance, baseline) -> Callable:
    def sampler(kernel, n, generator):
        return per_step_rejection_sample(kernel, instance.values, baseline, n, generator=generator, record_states=True)
    return sampler


def prepare(name: str, instance, settings: Settings) -> Prepared | str:
    """The sampler called ``name`` on ``instance`` (or the reason it does not apply)."""
    values, height, lam = instance.values, instance.height, instance.lam
    budget, m = settings.budget, settings.proposals
    if name == "trajectory rejection":
        return Prepared(lambda k, n, g: trajectory_rejection_sample(k, instance.reward, lam, n, envelope=height,
                                                                    generator=g), None, 0.0, EXACT)
    if name == "exact per-step (b = B)":
        baseline = make_baseline(instance, f"constant={height:g}")
        return Prepared(_per_step(instance, baseline), baseline, 0.0, EXACT)
    if name == "last-step":
        return Prepared(lambda k, n, g: last_step_rejection_sample(k, values, n, envelope=height, generator=g),
                        None, 0.0, EXACT)
    if name == "tight (b = V_{t+1})":
        baseline = make_baseline(instance, "offset=0")
        return Prepared(_per_step(instance, baseline), baseline, budget, baseline)
    if name == "MSG (δ = 0.01)":
        if instance.kind != "ddpm":
            return "not applicable: MSG's reverse-step mean and noise levels are the DDPM step's (gmm-ddpm-* only)"
        baseline = make_baseline(instance, "msg-delta=0.01")
        return Prepared(_per_step(instance, baseline), baseline, budget, baseline, untilted_prior=True)
    if name == "LCB (offset rule, δ = 1e-3)":
        counting = CountingKernel(instance.chain)
        generator = torch.Generator(device=instance.chain.device).manual_seed(settings.seed + 1)
        baseline, _ = train_proposal_offsets(counting, values, kappa=15.0, delta=1e-3, parents=settings.train_parents,
                                             generator=generator)
        return Prepared(_per_step(instance, baseline), baseline, budget, baseline, untilted_prior=True,
                        training_queries=counting.draws, note=f"training: {settings.train_parents} parents per step")
    if name == f"SVDD argmax (M = {m})":
        return Prepared(lambda k, n, g: svdd_sample(k, values, n, proposals=m, generator=g), None, budget, None)
    if name == f"SVDD softmax (M = {m})":
        return Prepared(lambda k, n, g: svdd_sample(k, values, n, proposals=m, selection="softmax", generator=g),
                        None, budget, None)
    if name == f"FK steering (K = {m})":
        return Prepared(lambda k, n, g: fk_steering_sample(k, values, instance.reward, lam, m, n, generator=g,
                                                           ess_threshold=1.0), None, budget, None)
    if name == "gradient guidance":
        sizes = [kernel_variance(instance, t) for t in range(instance.chain.steps + 1)]
        return Prepared(lambda k, n, g: gradient_guidance_sample(k, values, n, step_sizes=sizes, generator=g),
                        None, budget, None, note="s_t = the kernel's variance")
    raise ValueError(f"name: unknown sampler {name!r}")


def sampler_names(settings: Settings) -> list[str]:
    m = settings.proposals
    return ["trajectory rejection", "exact per-step (b = B)", "last-step", "tight (b = V_{t+1})", "MSG (δ = 0.01)",
            "LCB (offset rule, δ = 1e-3)", f"SVDD argmax (M = {m})", f"SVDD softmax (M = {m})",
            f"FK steering (K = {m})", "gradient guidance"]


def exact_tv(instance, prepared: Prepared) -> tuple[float | None, float | None, str]:
    """(TV, its quadrature error, route) of the sampler's x_0 law, when computable."""
    if prepared.law is EXACT:
        return 0.0, 0.0, "exact (T1)"
    if prepared.law is None:
        return None, None, "estimate"
    if instance.kind == "ddpm":
        from estimators.exact.ddpm_sampler_law import ddpm_sampler_law
        from tiltproof.instances.chain import ddpm_exact

        law = ddpm_sampler_law(ddpm_exact(instance.height, instance.lam), prepared.law)
        return float(law.tv_x0), float(law.quadrature_error), "exact (propagated quadrature law)"
    from estimators.exact.ridge_chain_law import ridge_sampler_law

    law = ridge_sampler_law(instance.chain, instance.values, prepared.law)
    return float(law.tv_x0), float(law.quadrature_error), "exact (propagated quadrature law)"


def _pilot_rate(instance, prepared: Prepared, seed: int) -> float:
    """Kernel calls per sample of 32 pilot samples (sizes the query cap; not part of the sampler's cost)."""
    counting = CountingKernel(instance.chain)
    generator = torch.Generator(device=instance.chain.device).manual_seed(seed + 7919)
    prepared.sampler(counting, 32, generator)
    return counting.draws / 32


def run_one(instance_name: str, name: str, settings: Settings) -> dict:
    """One table row: the check's record condensed, the exact TV where computable, costs."""
    instance = resolve_chain_instance(instance_name).on(settings.device)
    row = {"instance": instance.name, "sampler": name}
    start = time.perf_counter()
    prepared = prepare(name, instance, settings)
    if isinstance(prepared, str):
        return {**row, "verdict": "n/a", "note": prepared}
    timing = {}

    def timed(kernel, n, generator):
        begin = time.perf_counter()
        output = prepared.sampler(kernel, n, generator)
        timing[n] = time.perf_counter() - begin
        return output

    cap = None
    if settings.n is None:
        rate = _pilot_rate(instance, prepared, settings.seed)
        cap = max(64, int(settings.max_queries // max(rate, 1.0)))
    options = dict(budget=prepared.budget, alpha=settings.alpha, seed=settings.seed, device=settings.device,
                   untilted_prior=prepared.untilted_prior and prepared.baseline is not None)
    if prepared.baseline is not None:
        options["baseline"] = prepared.baseline
    if settings.n is not None:
        options.update(n=settings.n, audit_particles=settings.n, max_audit=settings.n)
    else:
        options["max_samples"] = cap
        if prepared.baseline is not None:
            options["max_audit"] = settings.max_audit
    record = check_chain_sampler(timed, instance.name, **options)
    n = int(record.details.get("samples_used", record.details.get("n", 0)))
    tv, error, route = exact_tv(instance, prepared)
    x0 = record.tests[0] if record.tests else None
    certified = [c for c in record.certificates if "T7" in c.name]   # the path bound, or (budget 0) every term 0
    draws = record.details.get("kernel_draws")
    queries = record.details.get("queries_per_sample")
    if queries is None and draws is not None:
        queries = draws / max(n, 1)
    training = prepared.training_queries / max(n, 1)
    row.update({
        "verdict": record.verdict, "pass_meaning": record.pass_meaning or None, "claimed_budget": prepared.budget,
        "certified_tv": certified[0].upper_confidence if certified and certified[0].within else None,
        "t7_upper_confidence": certified[0].upper_confidence if certified else None,
        "tv_x0": tv, "tv_x0_quadrature_error": error, "tv_route": route,
        "tv_estimate": None if x0 is None else x0.details.get("tv_estimate"),
        "tv_lower_confidence": None if x0 is None else x0.value, "x0_test_alpha": None if x0 is None else x0.alpha,
        "x0_detectable_tv": None if x0 is None else x0.detectable_gap,
        "queries_per_sample": None if queries is None else queries + training,
        "kernel_draws_per_sample": None if draws is None else draws / max(n, 1) + training,
        "training_queries": prepared.training_queries, "n": n, "designed_n": record.details.get("designed_n"),
        "capped": any("capped" in w for w in record.warnings), "query_cap_samples": cap,
        "sampler_seconds": timing.get(n), "check_seconds": time.perf_counter() - start,
        "warnings": list(record.warnings), "message": record.message, "note": prepared.note,
    })
    return row


# ---------------------------------------------------------------- output
def _fmt(value, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}g}"


def verdict_text(row: dict) -> str:
    if row["verdict"] == "n/a":
        return "n/a"
    meaning = {"certified": "certified", "not_refuted": "not refuted"}.get(row.get("pass_meaning") or "", "")
    return f"{row['verdict']} ({meaning})" if row["verdict"] == "pass" and meaning else row["verdict"]


def tv_text(row: dict) -> str:
    if row["verdict"] == "n/a":
        return "—"
    if row.get("tv_x0") is not None:
        error = row.get("tv_x0_quadrature_error") or 0.0
        return f"{row['tv_x0']:.3g} exact" + (f" (±{error:.1g})" if error > 0 else "")
    return f"≥ {_fmt(row.get('tv_lower_confidence'))} (estimate {_fmt(row.get('tv_estimate'))})"


def markdown(rows: list[dict]) -> str:
    lines = ["| instance | sampler | claim | verdict | certified TV | x_0 TV | queries/sample | n | seconds (draw / check) |",
             "| --- | --- | --- | --- | --: | --- | --: | --: | --: |"]
    for row in rows:
        if row["verdict"] == "n/a":
            lines.append(f"| {row['instance']} | {row['sampler']} | — | n/a | — | — | — | — | — |")
            continue
        certified = "none" if row.get("certified_tv") is None else f"{row['certified_tv']:.3g}"
        n = f"{row['n']}" + (" (capped)" if row.get("capped") else "")
        claim = "TV = 0" if row["claimed_budget"] == 0 else f"TV ≤ {row['claimed_budget']:g}"
        lines.append(f"| {row['instance']} | {row['sampler']} | {claim} | {verdict_text(row)} "
                     f"| {certified} | {tv_text(row)} | {_fmt(row.get('queries_per_sample'), 4)} | {n} | "
                     f"{_fmt(row.get('sampler_seconds'), 2)} / {_fmt(row.get('check_seconds'), 3)} |")
    return "\n".join(lines) + "\n"


def _tex(text: str) -> str:
    replacements = {"δ": r"$\delta$", "≥": r"$\ge$", "±": r"$\pm$", "_{t+1}": r"$_{t+1}$", "≤": r"$\le$",
                    "—": "--", "&": r"\&", "%": r"\%", "#": r"\#"}
    for key, value in replacements.items():
        text = text.replace(key, value)
    return text.replace("_", r"\_").replace(r"$\_{t+1}$", r"$_{t+1}$")


def _mathtext(label: str) -> str:
    """A sampler's name for a matplotlib legend: ``V_{t+1}`` set as a subscript (mathtext), not printed raw."""
    return label.replace("V_{t+1}", r"$V_{t+1}$")


def latex(rows: list[dict]) -> str:
    """A booktabs tabular (``\\input`` it inside a table environment)."""
    lines = [r"\begin{tabular}{lllllrrr}", r"\toprule",
             r"instance & sampler & claim & verdict & certified TV & $x_0$ TV & queries/sample & seconds \\", r"\midrule"]
    for row in rows:
        if row["verdict"] == "n/a":
            lines.append(f"{_tex(row['instance'])} & {_tex(row['sampler'])} & -- & n/a & -- & -- & -- & -- \\\\")
            continue
        certified = "none" if row.get("certified_tv") is None else f"{row['certified_tv']:.3g}"
        claim = "TV $=0$" if row["claimed_budget"] == 0 else f"TV $\\le {row['claimed_budget']:g}$"
        lines.append(f"{_tex(row['instance'])} & {_tex(row['sampler'])} & {claim} & {_tex(verdict_text(row))} & {certified} & "
                     f"{_tex(tv_text(row))} & {_fmt(row.get('queries_per_sample'), 4)} & "
                     f"{_fmt(row.get('check_seconds'), 3)} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    """Queries per sample (log) against TV: exact TV filled, the peers' estimate hollow with a bar down to the
    lower confidence bound."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["pdf.fonttype"] = 42      # TrueType, not Type 3: the report embeds this PDF (scalable fonts only)
    figure, axes = plt.subplots(figsize=(7.5, 4.5))
    samplers = sorted({row["sampler"] for row in rows if row["verdict"] != "n/a"}, key=lambda s: [r["sampler"] for r in rows].index(s))
    instances = sorted({row["instance"] for row in rows}, key=INSTANCES.index if all(i in INSTANCES for i in {r["instance"] for r in rows}) else str)
    markers = "osD^v<>pP*Xh"
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for row in rows:
        if row["verdict"] == "n/a" or row.get("queries_per_sample") is None:
            continue
        marker = markers[samplers.index(row["sampler"]) % len(markers)]
        colour = colours[instances.index(row["instance"]) % len(colours)]
        x = row["queries_per_sample"]
        if row.get("tv_x0") is not None:
            axes.plot([x], [row["tv_x0"]], marker=marker, color=colour, linestyle="none")
        else:
            estimate, lower = row.get("tv_estimate") or 0.0, row.get("tv_lower_confidence") or 0.0
            axes.errorbar([x], [estimate], yerr=[[max(estimate - lower, 0.0)], [0.0]], marker=marker, color=colour,
                          markerfacecolor="none", linestyle="none", capsize=2)
    for index, sampler in enumerate(samplers):
        axes.plot([], [], marker=markers[index % len(markers)], color="grey", linestyle="none", label=_mathtext(sampler))
    for index, instance in enumerate(instances):
        axes.plot([], [], marker="s", color=colours[index % len(colours)], linestyle="none", label=instance)
    axes.set_xscale("log")
    axes.set_xlabel("kernel queries per sample (prior draws and training included)")
    axes.set_ylabel(r"TV(law of $x_0$, $q_0$)")
    axes.set_title("filled: exact TV; hollow: estimate, bar to its lower confidence bound", fontsize=9)
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    figure.savefig(path.with_suffix(".pdf"), bbox_inches="tight", metadata={"CreationDate": None})
    figure.savefig(path.with_suffix(".png"), bbox_inches="tight", dpi=110)
    plt.close(figure)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (n = 300, M = K = 4, 100 training parents)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--instances", nargs="+", default=list(INSTANCES))
    parser.add_argument("--budget", type=float, default=0.05, help="TV budget the inexact samplers are checked at")
    parser.add_argument("--max-queries", type=float, default=2e7,
                        help="cap on one check's kernel calls (n capped by check_chain_sampler's max_samples)")
    parser.add_argument("--max-audit", type=int, default=20_000,
                        help="particles the declared-rule audit (T7 certificate) uses at most")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--render", type=Path, nargs="+", metavar="JSON",
                        help="only re-render the tables and plot of results JSONs (several: their rows merged)")
    arguments = parser.parse_args(argv)
    if not 0.0 < arguments.budget < 1.0:
        parser.error(f"--budget must lie in (0, 1), got {arguments.budget}")
    for name in arguments.instances:
        try:
            resolve_chain_instance(name)
        except ValueError as error:
            parser.error(str(error))
    if arguments.render is not None:
        payload = merge([json.loads(path.read_text()) for path in arguments.render])
        write(payload, arguments.out)
        return payload
    settings = Settings(budget=arguments.budget, seed=arguments.seed, device=arguments.device,
                        max_queries=arguments.max_queries, max_audit=arguments.max_audit,
                        **(dict(proposals=4, train_parents=100, n=300) if arguments.quick else {}))
    torch.set_num_threads(1)
    start = time.perf_counter()
    rows = []
    arguments.out.mkdir(parents=True, exist_ok=True)
    for instance in arguments.instances:
        for name in sampler_names(settings):
            row = run_one(instance, name, settings)
            rows.append(row)
            print(f"{row['instance']:12s} {row['sampler']:28s} {verdict_text(row):24s} {tv_text(row)}", flush=True)
            partial = {"meta": {"complete": False}, "rows": rows}
            (arguments.out / "chain_peers.partial.json").write_text(json.dumps(partial, indent=1, default=float))
    (arguments.out / "chain_peers.partial.json").unlink(missing_ok=True)
    command = "python benchmarks/chain_peers.py" + (" --quick" if arguments.quick else "") + (
        "" if arguments.instances == list(INSTANCES) else " --instances " + " ".join(arguments.instances))
    payload = {"meta": {"command": command, "seconds": time.perf_counter() - start, "quick": arguments.quick,
                        "settings": settings.__dict__, "instances": arguments.instances,
                        "machine": "AMD EPYC, 2 shared cores (loaded)" if arguments.device == "cpu" else arguments.device,
                        "note": "exact samplers claim TV = 0 (not refuted / fail); the others TV ≤ budget (certified / "
                                "uncertified / fail). x_0 TV: exact where the sampler's law is computable, else the "
                                "check's estimate (a lower bound on TV) with its lower confidence bound."},
               "rows": rows}
    write(payload, arguments.out)
    print(f"{payload['meta']['seconds']:.0f} s; wrote {arguments.out}")
    return payload


def merge(payloads: list[dict]) -> dict:
    """One payload from runs on disjoint instances (rows in ``INSTANCES`` order; seconds summed, each run's
    meta kept under ``parts``)."""
    if len(payloads) == 1:
        return payloads[0]
    rows = [row for payload in payloads for row in payload["rows"]]
    order = {name: index for index, name in enumerate(INSTANCES)}
    rows.sort(key=lambda row: order.get(row["instance"], len(order)))
    metas = [payload["meta"] for payload in payloads]
    meta = {**metas[0], "seconds": sum(m["seconds"] for m in metas), "parts": metas,
            "instances": [i for m in metas for i in m.get("instances", [])],
            "command": "; ".join(m["command"] for m in metas) + " (run in parallel, merged by --render)"}
    return {"meta": meta, "rows": rows}


def write(payload: dict, out: Path) -> None:
    """The JSON, the markdown and LaTeX tables and the plot of ``payload`` under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    rows = payload["rows"]
    (out / "chain_peers.json").write_text(json.dumps(payload, indent=1, default=float))
    (out / "chain_peers.md").write_text(markdown(rows) + f"\nCommand: `{payload['meta']['command']}` "
                                        f"({payload['meta']['seconds']:.0f} s, {payload['meta']['machine']}).\n")
    (out / "chain_peers.tex").write_text(latex(rows))
    plot(rows, out / "chain_peers")
    print(markdown(rows))


if __name__ == "__main__":
    main()
