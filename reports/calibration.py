"""The calibration section of a report: a ``tiltproof calibrate --json`` file as a figure and a paragraph.

``load_calibration(path)`` reads and checks the file; ``calibration_figure(summary, path)`` draws, per claim,
the observed false-alarm rate with its Clopper–Pearson interval against the claim's (inflated) level, and
per wrong variant the kill rate with its interval against the promised power 1 − β (two panels, claims
sorted by level then rate); ``render_calibration_section`` writes ``sections/calibration.tex`` and returns
True when there is something to show.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reports.latex import escape_text

__all__ = ["load_calibration", "calibration_figure", "render_calibration_section"]


def load_calibration(path: str | Path) -> dict[str, Any]:
    """A complete ``tiltproof calibrate --json`` file; ``ValueError`` naming ``--calibration`` otherwise."""
    source = Path(path)
    try:
        payload = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"--calibration: no such file {str(source)!r}") from None
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"--calibration: {str(source)!r} is not JSON ({error})") from None
    summary = payload.get("meta", {}).get("summary") if isinstance(payload, dict) else None
    if not isinstance(summary, dict) or not isinstance(summary.get("claims"), list):
        raise ValueError(f"--calibration: {str(source)!r} is not a finished `tiltproof calibrate --json` file "
                         "(no meta.summary; resume it with `tiltproof calibrate --resume`)")
    return payload


def calibration_figure(summary: dict[str, Any], path: Path) -> str | None:
    """Observed rate (dot) with its interval (bar) against the level or promise (red tick), one column each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from reports.figures import STYLE, _save

    claims = sorted(summary["claims"], key=lambda row: (row["level"], row["rate"] or 0.0, row["claim"]))
    variants = sorted(summary.get("variants", []), key=lambda row: (row["rate"] or 0.0, row["claim"]))
    panels = [(rows, title) for rows, title in ((claims, "claims: false-alarm rate vs level"),
                                                (variants, "wrong variants: kill rate vs promised power")) if rows]
    if not panels:
        return None
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(1, len(panels), figsize=(6.4, 2.4), squeeze=False,
                                    gridspec_kw={"width_ratios": [max(1, len(rows)) for rows, _ in panels]})
        for axis, (rows, title) in zip(axes[0], panels):
            x = range(len(rows))
            rates = [row["rate"] if row["rate"] is not None else float("nan") for row in rows]
            low = [max(0.0, rate - row["ci_low"]) for rate, row in zip(rates, rows)]
            high = [max(0.0, row["ci_high"] - rate) for rate, row in zip(rates, rows)]
            flagged = [row.get("exceeds") or row.get("below_promise") for row in rows]
            axis.errorbar(x, rates, yerr=[low, high], fmt="o", markersize=2.5, linewidth=0.8, capsize=1.5,
                          color="#1b7837", ecolor="#7fbf7b")
            axis.scatter(x, [row["level"] for row in rows], marker="_", s=60, color="#c51b7d", label="level")
            for position, bad in enumerate(flagged):
                if bad:
                    axis.annotate("!", (position, rates[position]), color="#c51b7d", fontsize=9)
            axis.set_title(title)
            axis.set_xticks([])
            axis.set_xlabel(f"{len(rows)} {'claims' if rows is claims else 'variants'}")
            axis.set_ylim(-0.02, 1.02)
        axes[0][0].set_ylabel("observed rate (95% CP)")
        axes[0][0].legend(loc="upper left", frameon=False)
        _save(figure, path)
    flagged = len(summary.get("flagged_claims", [])) + len(summary.get("variants_below_promise", []))
    return (f"Calibration: per claim the observed rejection rate over the runs with its Clopper–Pearson interval "
            f"(green) and the level it ran at (red); per wrong variant the kill rate and the promised power. "
            f"{flagged} flagged.")


def render_calibration_section(payload: dict[str, Any], out_dir: Path) -> bool:
    """Write figures/calibration.pdf and sections/calibration.tex; False when there is nothing to draw."""
    meta, summary = payload["meta"], payload["meta"]["summary"]
    caption = calibration_figure(summary, out_dir / "figures" / "calibration.pdf")
    if caption is None:
        return False
    claims = summary["claims"]
    scale = f"{meta.get('scale', float('nan')):.4g}"
    text = (f"\\section{{Calibration: measured false-alarm rate and power}}\\label{{sec:calibration}}\n"
            f"{escape_text(str(meta.get('claims')))} claims and {escape_text(str(meta.get('variants')))} wrong "
            f"variants were run over {escape_text(str(meta.get('runs')))} seeds each at a total level of "
            f"{escape_text(str(meta.get('alpha_total')))} per run (every claim's level multiplied by "
            f"{escape_text(scale)}); commit "
            f"\\texttt{{{escape_text(str(meta.get('commit')))}}}, {escape_text(str(meta.get('device_name')))}. "
            f"Claims above their level beyond their interval: "
            f"{escape_text(', '.join(summary['flagged_claims']) or 'none')} "
            f"({escape_text(', '.join(summary['flagged_claims_after_bonferroni']) or 'none')} after Bonferroni over "
            f"the {len(claims)} claims); variants below the promised power: "
            f"{escape_text(', '.join(summary['variants_below_promise']) or 'none')}.\n"
            "\\begin{figure}[H]\n\\centering\n\\includegraphics[width=\\textwidth]{figures/calibration.pdf}\n"
            f"\\caption{{{escape_text(caption)}}}\n\\end{{figure}}\n")
    (out_dir / "sections" / "calibration.tex").write_text(text, encoding="utf-8")
    return True
