"""Figures of a report (matplotlib, PDF): where a person would rather look than read.

* ``margin_overview_figure`` (once per report): every claim's margin relative to its bound, one row per
  theorem group, on a symmetric log scale, coloured by verdict — how far inside (or outside) its claim each
  instance sits, for the whole run in one picture. (``margin_figure`` draws one group with labelled claims.)
* ``tradeoff_figure`` (T5): N(b_δ) and D/Z against δ, exact curves with the measured intervals.
* ``bon_law_figure`` (BoN): empirical against exact law of the best-of-N output (CDF of the selected
  reward with its DKW band for continuous laws; category probabilities for finite laws).
* ``bon_kl_figure`` (BoN): the bound log N − (N−1)/N against N with the exact KL of each instance and
  the lower confidence bounds from the sampler.

Each figure function takes the theorem's records (JSON dicts) and a path, and returns a caption, or
None when the records carry nothing to draw (e.g. only errors). Figures for claim kinds are looked up
in ``KIND_FIGURES`` by the part of the claim id before the first ``/``; a theorem module that wants a
figure adds an entry there, nothing else changes.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["margin_figure", "margin_overview_figure", "tradeoff_figure", "bon_law_figure", "bon_kl_figure", "KIND_FIGURES", "claim_kind"]

Record = dict[str, Any]
VERDICT_COLOURS = {"pass": "#1b7837", "fail": "#c51b7d", "error": "#7b3294"}
STYLE = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7, "xtick.labelsize": 7,
         "ytick.labelsize": 7, "pdf.fonttype": 42, "axes.spines.top": False, "axes.spines.right": False}


def claim_kind(claim_id: str) -> str:
    """``t2.sampler_law/gmm-step-d1/b=3.31`` → ``t2.sampler_law``."""
    return claim_id.split("/", 1)[0]


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _save(figure, path: Path) -> None:
    figure.savefig(path, format="pdf", bbox_inches="tight", metadata={"CreationDate": None, "Creator": "tiltproof"})
    plt.close(figure)


def margin_figure(records: list[Record], path: Path) -> str | None:
    """Relative margin ``margin / max(|bound|, 10⁻¹²)`` per claim (positive: inside the claim)."""
    rows = []
    for record in records:
        margin, bound = _number(record.get("margin")), _number(record.get("bound"))
        if record.get("verdict") == "error" or margin is None or bound is None:
            continue
        scale = abs(bound) if abs(bound) > 1e-12 else 1.0  # a zero bound: the margin itself
        rows.append((record["id"], margin / scale, record["verdict"]))
    if not rows:
        return None
    with plt.rc_context(STYLE):
        figure, axis = plt.subplots(figsize=(6.2, 0.6 + 0.16 * len(rows)))
        positions = np.arange(len(rows))[::-1]
        values = np.array([row[1] for row in rows])
        axis.scatter(values, positions, c=[VERDICT_COLOURS.get(row[2], "black") for row in rows], s=14, zorder=3)
        axis.hlines(positions, 0, values, colors="#bbbbbb", linewidth=0.8, zorder=2)
        axis.axvline(0.0, color="black", linewidth=0.8)
        axis.set_xscale("symlog", linthresh=1e-3)
        low, high = float(values.min()), float(values.max())
        axis.set_xlim(min(-1e-3, 3 * low) if low < 0 else -1e-3, max(1e-3, 3 * high))
        axis.set_yticks(positions)
        axis.set_yticklabels([row[0] for row in rows], fontsize=5.5, family="monospace")
        axis.set_ylim(-0.8, len(rows) - 0.2)
        axis.set_xlabel("margin / |bound| (the margin itself where the bound is 0); > 0: inside the claim;\n"
                        "symmetric log scale, linear within ±10⁻³")
        axis.grid(axis="x", linewidth=0.3, alpha=0.6)
        _save(figure, path)
    failing = sum(row[2] != "pass" for row in rows)
    return (f"Margin of each claim relative to its bound, absolute where the bound is 0 ({len(rows)} claims with a margin; "
            f"{failing} not passing, in magenta). Margins use the exact value and the one-sided confidence bound, "
            "whichever is closer to the bound.")


def margin_overview_figure(groups: list[tuple[str, list[Record]]], path: Path) -> str | None:
    """One row per (group name, records): relative margins of the group's claims as jittered dots."""
    rows = []
    for row, (name, records) in enumerate(groups):
        for record in records:
            margin, bound = _number(record.get("margin")), _number(record.get("bound"))
            if record.get("verdict") == "error" or margin is None or bound is None:
                continue
            rows.append((row, margin / (abs(bound) if abs(bound) > 1e-12 else 1.0), record.get("verdict")))
    if not rows:
        return None
    with plt.rc_context(STYLE):
        figure, axis = plt.subplots(figsize=(6.6, 0.5 + 0.12 * len(groups)))
        jitter = np.random.default_rng(0).uniform(-0.25, 0.25, len(rows))  # fixed: the figure is reproducible
        values = np.array([value for _, value, _ in rows])
        positions = np.array([len(groups) - 1 - row for row, _, _ in rows]) + jitter
        axis.scatter(values, positions, c=[VERDICT_COLOURS.get(v, "black") for _, _, v in rows], s=7, zorder=3,
                     linewidths=0)
        axis.axvline(0.0, color="black", linewidth=0.8)
        axis.set_xscale("symlog", linthresh=1e-3)
        low, high = float(values.min()), float(values.max())
        axis.set_xlim(min(-1e-3, 3 * low) if low < 0 else -1e-3, max(1e-2, 3 * high))
        axis.set_yticks(range(len(groups)), [name for name, _ in groups][::-1])
        axis.set_ylim(-0.6, len(groups) - 0.4)
        axis.set_xlabel(r"margin / |bound|  (> 0: inside the claim; symmetric log scale, linear within $\pm10^{-3}$)")
        axis.tick_params(axis="y", labelsize=6)
        axis.grid(axis="x", linewidth=0.3, alpha=0.6)
        _save(figure, path)
    failing = sum(verdict != "pass" for _, _, verdict in rows)
    return (f"Every claim's margin relative to its bound, one row per theorem ({len(rows)} claims with a margin, "
            f"{failing} not passing, in magenta). The margin is the distance to where the check would reject; "
            "claims decided by an exact value sit near 1e-9, their numerical tolerance.")


def tradeoff_figure(records: list[Record], path: Path) -> str | None:
    """T5: N(b_δ) (exact and measured intervals) and D/Z against δ, one curve per instance."""
    usable = [r for r in records if claim_kind(r["id"]) == "t5.tradeoff" and
              {"deltas", "expected_proposals", "clip_mass", "measured"} <= set(r.get("details") or {})]
    if not usable:
        return None
    with plt.rc_context(STYLE):
        figure, (left, right) = plt.subplots(1, 2, figsize=(6.4, 2.6))
        for index, record in enumerate(usable):
            details = record["details"]
            colour = f"C{index}"
            deltas = np.array(details["deltas"], dtype=float)
            expected = np.array(details["expected_proposals"], dtype=float)
            measured = np.array(details["measured"], dtype=float)  # rows: estimate, lower, upper
            left.plot(deltas, expected, "-", color=colour, linewidth=1, label=record["instance"])
            left.errorbar(deltas, measured[:, 0], yerr=[measured[:, 0] - measured[:, 1], measured[:, 2] - measured[:, 0]],
                          fmt="o", color=colour, markersize=2.5, capsize=2, linewidth=0.8)
            right.plot(deltas, np.maximum(np.array(details["clip_mass"], dtype=float), 1e-6), "o-", color=colour,
                       markersize=2.5, linewidth=1)
        grid = np.geomspace(min(min(r["details"]["deltas"]) for r in usable), max(max(r["details"]["deltas"]) for r in usable), 50)
        right.plot(grid, grid, "--", color="black", linewidth=0.8, label=r"$D/Z=\delta$")
        ticks = sorted({float(d) for r in usable for d in r["details"]["deltas"]})
        for axis in (left, right):
            axis.set_xscale("log")
            axis.set_yscale("log")
            axis.set_xlabel(r"$\delta$")
            axis.set_xticks(ticks, [f"{tick:g}" for tick in ticks])
            axis.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            axis.invert_xaxis()
        left.set_ylabel(r"proposals per sample $N(b_\delta)$")
        right.set_ylabel(r"clipped mass $D/Z$ (floored at $10^{-6}$)")
        left.legend(frameon=False)
        right.legend(frameon=False)
        figure.tight_layout()
        _save(figure, path)
    return (r"T5, the compute knob: as $\delta$ decreases (left to right), the baseline $b_\delta$ rises, the "
            r"expected proposals $N(b_\delta)$ rise (lines: exact; points: measured with their negative-binomial "
            r"intervals) and the clipped mass $D/Z$ falls, staying below $\delta$ (dashed).")


def bon_law_figure(records: list[Record], path: Path) -> str | None:
    """BoN: empirical vs exact law of the output, one panel per (instance, N)."""
    usable = [r for r in records if claim_kind(r["id"]) == "bon.sampler_law" and r.get("details")
              and ("grid" in r["details"] or "claimed" in r["details"])]
    if not usable:
        return None
    columns = min(4, len(usable))
    rows = math.ceil(len(usable) / columns)
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(rows, columns, figsize=(1.65 * columns, 1.55 * rows), squeeze=False)
        for axis in axes.flat[len(usable):]:
            axis.axis("off")
        for axis, record in zip(axes.flat, usable):
            details = record["details"]
            if "grid" in details:
                grid = np.array(details["grid"], dtype=float)
                claimed = np.array(details["claimed_cdf"], dtype=float)
                band = float(details["band"])
                axis.fill_between(grid, np.clip(claimed - band, 0, 1), np.clip(claimed + band, 0, 1), color="#cccccc",
                                  linewidth=0, label="DKW band")
                axis.plot(grid, claimed, "-", color="black", linewidth=0.9, label=r"exact $F^N$")
                axis.plot(grid, details["empirical_cdf"], ".", color=VERDICT_COLOURS.get(record["verdict"], "C0"),
                          markersize=2.5, label="sampler")
                axis.set_xlabel("selected reward", fontsize=6)
            else:
                categories = np.arange(len(details["claimed"]))
                axis.bar(categories - 0.2, details["claimed"], width=0.4, color="#999999", label="exact")
                axis.bar(categories + 0.2, details["empirical"], width=0.4,
                         color=VERDICT_COLOURS.get(record["verdict"], "C0"), label="sampler")
                axis.set_xticks(categories)
                axis.set_xlabel("category", fontsize=6)
            axis.set_title(f"{record['instance']}, N={details.get('N', '?')}", fontsize=6.5)
            axis.tick_params(labelsize=5.5)
        axes.flat[0].legend(frameon=False, fontsize=5.5)
        figure.tight_layout()
        _save(figure, path)
    return ("Best-of-N: the law of the sampler's output against the exact law. Continuous reward laws: CDF of the "
            r"selected reward against $F^N$ with the DKW band at the claim's $\alpha$; finite laws: category "
            "frequencies against the exact probabilities.")


def bon_kl_figure(records: list[Record], path: Path) -> str | None:
    """BoN: log N − (N−1)/N against N, the exact KL per instance, and the empirical lower bounds."""
    usable = [r for r in records if claim_kind(r["id"]) == "bon.kl_bound" and r.get("details", {}).get("N")
              and _number(r.get("exact")) is not None]
    if not usable:
        return None
    instances = sorted({r["instance"] for r in usable})
    with plt.rc_context(STYLE):
        figure, axis = plt.subplots(figsize=(4.2, 2.6))
        grid = np.geomspace(1, 2 * max(r["details"]["N"] for r in usable), 200)
        axis.plot(grid, np.log(grid) - (grid - 1) / grid, "-", color="black", linewidth=1,
                  label=r"bound $\log N-(N-1)/N$")
        for index, instance in enumerate(instances):
            chosen = sorted((r for r in usable if r["instance"] == instance), key=lambda r: r["details"]["N"])
            ns = [r["details"]["N"] for r in chosen]
            axis.plot(ns, [float(r["exact"]) for r in chosen], "o", color=f"C{index}", markersize=3.5,
                      label=f"{instance}: exact KL")
            lower = [(n, _number(r.get("confidence_bound"))) for n, r in zip(ns, chosen)]
            axis.plot([n for n, v in lower if v is not None], [v for _, v in lower if v is not None], "v",
                      color=f"C{index}", markersize=3, markerfacecolor="none",
                      label="sampler: lower conf. bound" if index == len(instances) - 1 else None)
        axis.set_xscale("log", base=2)
        axis.set_xlabel("N")
        axis.set_ylabel(r"KL$(\pi_{\mathrm{BoN}}\,\|\,p)$ (nats)")
        axis.legend(frameon=False, fontsize=5.5)
        figure.tight_layout()
        _save(figure, path)
    return (r"Best-of-N: the bound $\log N-(N-1)/N$ (line), the exact KL of each instance (filled: equal to the "
            "bound for continuous reward laws, below it for finite ones) and the sampler's lower confidence "
            "bounds on its KL (open triangles).")


#: figures drawn for a theorem when its records contain these claim kinds
#: (file stem, function, width as a fraction of the text width)
KIND_FIGURES: dict[str, tuple[str, Callable[[list[Record], Path], str | None], float]] = {
    "t5.tradeoff": ("tradeoff", tradeoff_figure, 0.64),
    "bon.sampler_law": ("bon-law", bon_law_figure, 0.64),
    "bon.kl_bound": ("bon-kl", bon_kl_figure, 0.48),
}
