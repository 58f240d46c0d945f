"""Amortised cost of the learned baseline (issue 12): training + n · queries/sample against n.

lcb pays its training once (``training_queries``: every kernel draw spent fitting, selecting and
calibrating it) and then ``q_lcb`` kernel queries per x_0 sample; a reference method without training
(ideal per-step rejection, trajectory rejection, the analytic Gaussian baseline) pays ``q_ref`` per
sample. Totals after n samples:

    C_lcb(n) = training_queries + n · q_lcb,        C_ref(n) = n · q_ref.

lcb is strictly cheaper in total from ``n* = ⌊training_queries / (q_ref − q_lcb)⌋ + 1`` on when
``q_ref > q_lcb`` (``C_lcb(n) < C_ref(n) ⇔ n (q_ref − q_lcb) > training_queries``), and never otherwise.
The oracle (exact per-state Chernoff baseline, which needs the exact kernel law) is drawn as the floor a
free, perfect baseline would reach; lcb never beats it per sample.
"""
from __future__ import annotations

import math

__all__ = ["REFERENCES", "break_even_samples", "total_queries", "amortised_summary", "draw_amortised"]

REFERENCES = ("ideal_per_step", "trajectory", "analytic")   # methods without training, compared in total


def break_even_samples(training_queries: float, per_sample: float, reference_per_sample: float) -> int | None:
    """The smallest n with ``training_queries + n·per_sample < n·reference_per_sample`` (None: never)."""
    if not (training_queries >= 0 and per_sample >= 0 and reference_per_sample >= 0):
        raise ValueError("training_queries and the per-sample costs must be non-negative numbers")
    gain = reference_per_sample - per_sample
    if gain <= 0:
        return None
    return math.floor(training_queries / gain) + 1


def total_queries(row: dict, n: float) -> float:
    """``training_queries + n · queries_per_sample`` of one results row (training 0 when it has none)."""
    return float(row.get("training_queries") or 0.0) + n * float(row["queries_per_sample"])


def amortised_summary(rows: list[dict]) -> dict:
    """Per B with an lcb row: its training and per-sample cost, and for each reference present the n from
    which lcb's total is lower (``break_even_n``, None for never) with the two totals at 1 000 samples."""
    out = {}
    for height in sorted({row["B"] for row in rows}):
        at = {row["method"]: row for row in rows if row["B"] == height}
        lcb = at.get("lcb")
        if lcb is None or lcb.get("training_queries") is None:
            continue
        block = {"training_queries": lcb["training_queries"], "lcb_queries_per_sample": lcb["queries_per_sample"],
                 "break_even_n": {}, "total_at_1000": {"lcb": total_queries(lcb, 1000)}}
        for method in REFERENCES:
            if method in at:
                block["break_even_n"][method] = break_even_samples(
                    lcb["training_queries"], lcb["queries_per_sample"], at[method]["queries_per_sample"])
                block["total_at_1000"][method] = total_queries(at[method], 1000)
        out[f"{height:g}"] = block
    return out


def draw_amortised(axis, rows: list[dict], height: float, colors: dict[str, str] | None = None) -> None:
    """Total kernel queries against n at one B (log-log), break-even points marked (``colors``: per method)."""
    import numpy as np

    at = {row["method"]: row for row in rows if row["B"] == height}
    if "lcb" not in at:
        return
    n = np.logspace(0, 7, 200)
    for method in ("lcb", *REFERENCES, "oracle"):
        if method in at:
            axis.plot(n, [total_queries(at[method], size) for size in n], label=method,
                      ls="--" if method == "oracle" else "-", color=(colors or {}).get(method))
    lcb = at["lcb"]
    marked: list[int] = []
    for method in REFERENCES:
        if method not in at:
            continue
        crossing = break_even_samples(lcb["training_queries"], lcb["queries_per_sample"], at[method]["queries_per_sample"])
        if crossing is not None and crossing <= n[-1]:
            axis.plot([crossing], [total_queries(lcb, crossing)], "k.", ms=6)
            if all(abs(math.log(crossing / other)) > 0.3 for other in marked):   # one label per visible point
                axis.annotate(f"{method}: n={crossing:,}", (crossing, total_queries(lcb, crossing)), fontsize=7,
                              textcoords="offset points", xytext=(4, -10))
                marked.append(crossing)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("samples n")
    axis.set_ylabel("total kernel queries (training + n·per sample)")
    axis.set_title(f"amortised cost, B = {height:g}", fontsize=9)
    axis.legend(fontsize=7)
