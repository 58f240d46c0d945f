r"""Benchmark results in the report: the chain-peers table and plot (``benchmarks/chain_peers.py``) and the
learned masked-LM table (``benchmarks/masked_lm.py``).

Both read from one benchmark results directory (default: the checkout's ``benchmarks/results``).

``chain_peers_context(folder, out_dir)`` looks for ``chain_peers.json`` and ``chain_peers.tex`` (the booktabs
tabular the benchmark writes) in ``folder`` (``<results>/chain_peers``); when both exist it copies the tabular to
``benchmarks/chain_peers_table.tex`` and the plot (``chain_peers.pdf``, when present) to ``figures/``, and returns
the template's context: a headline (counts of verdicts by sampler kind), the command that produced the results
and the file names. Without the results it returns None and the report has no chain-peers section.

``benchmark_section(directory)`` reads ``masked_lm.json`` under ``directory`` and returns the LaTeX of a section —
per B: queries per sample of trajectory rejection (T1, the reference), ideal per-step rejection and LCB,
trajectory/LCB, the most any per-step sampler can save (``e^{B/λ}/Z``) and the oracle per-parent baseline's
queries, LCB's certificate; at the verdict height the ``check_chain_sampler(…, reference="trajectory")`` verdicts
and the powered share test — or ``None`` when there is no such file. Every printed value is escaped or formatted
by ``reports.latex``.
"""
from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from reports.latex import Latex, escape_text, escape_tt, format_number

__all__ = ["CHAIN_PEERS_FOLDER", "DEFAULT_RESULTS", "MASKED_LM_FILE", "benchmark_section", "chain_peers_context",
           "masked_lm_section"]

DEFAULT_RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
CHAIN_PEERS_FOLDER = "chain_peers"
"""The chain-peers results' folder under the benchmark results directory."""

MASKED_LM_FILE = "masked_lm.json"
EXAMPLES = 4
"""Example texts printed per sampler and B (the results hold ten)."""


def _rows_by_method(block: dict) -> dict[str, dict]:
    return {row["method"]: row for row in block["rows"]}


def _cell(value: Any, digits: int = 3) -> str:
    return format_number(value, digits)


def _height_row(block: dict) -> str:
    at = _rows_by_method(block)
    trajectory, ideal, lcb = (at[name]["queries_per_sample"] for name in ("trajectory", "ideal_per_step", "lcb"))
    analysis = block.get("analysis", {})
    certificate = at["lcb"].get("certificate", {})
    status = "certified" if certificate.get("certified") else "uncertified"
    cells = [format_number(block["B"]), _cell(trajectory), _cell(ideal), _cell(lcb), _cell(trajectory / lcb),
             _cell(analysis.get("best_saving")), _cell(analysis.get("oracle_queries")),
             _cell(at["trajectory"]["in_reward_set"]), _cell(at["lcb"]["in_reward_set"]), escape_text(status)]
    return " & ".join(cells) + r"\\"


def _verdict_table(verdicts: dict) -> list[str]:
    lines = [r"\begin{tabular}{@{}lllrr@{}}", r"\toprule",
             r"sampler & verdict & worst projection & statistic / threshold & detectable KS\\", r"\midrule"]
    for name, v in verdicts.items():
        lines.append(f"{escape_text(name)} & \\tpshowverdict{{{escape_text(v['verdict'])}}} & "
                     f"{escape_text(v['worst_projection'])} & {_cell(v['worst_statistic'])} / {_cell(v['threshold'])} & "
                     f"{_cell(v['detectable_projection_ks'])}\\\\")
    return lines + [r"\bottomrule", r"\end{tabular}"]


def _share_table(tests: dict) -> list[str]:
    lines = [r"\begin{tabular}{@{}llrrrr@{}}", r"\toprule",
             r"sampler & verdict & share & reference & $|\Delta|$ / threshold & detectable\\", r"\midrule"]
    for name, v in tests.items():
        if isinstance(v, dict):
            lines.append(f"{escape_text(name)} & \\tpshowverdict{{{escape_text(v['verdict'])}}} & {_cell(v['share'])} & "
                         f"{_cell(v['reference_share'])} & {_cell(v['difference'])} / {_cell(v['threshold'])} & "
                         f"{_cell(v['detectable_difference'])}\\\\")
    return lines + [r"\bottomrule", r"\end{tabular}"]


def masked_lm_section(results: dict) -> str:
    """The LaTeX section of one ``benchmarks/masked_lm.py`` results dict."""
    meta = results["meta"]
    lines = [r"\section{Benchmark: LCB on a learned masked-diffusion LM}\label{sec:bench-masked-lm}",
             r"{\raggedright " + escape_text(f"benchmarks/masked_lm.py ({meta.get('preset', 'quick' if meta.get('quick') else 'full')} run; "
                         f"{meta.get('command', '')}): model L = {meta['length']}, k = {meta['unmask']} positions per "
                         f"step, T = {meta['steps']}; reward B·1{{line mentions {', '.join(meta['keywords'])}}}, "
                         f"λ = {meta['lambda']:g}; device {meta['device']}.") + " "
             + escape_text("Queries per sample (kernel calls per accepted output); best saving = e^{B/λ}/Z, the most any "
                           "per-step sampler can save over trajectory rejection; oracle = the per-parent baseline at "
                           "LCB's per-step TV rate; in A = share of outputs mentioning a keyword.") + r"\par}",
             "", r"\begin{center}\scriptsize\setlength{\tabcolsep}{3pt}",
             r"\begin{tabular}{@{}rrrrrrrrrl@{}}", r"\toprule",
             r"B & trajectory & ideal per-step & LCB & traj./LCB & best saving & oracle & in A (traj.) & "
             r"in A (LCB) & LCB path TV\\", r"\midrule"]
    lines += [_height_row(block) for block in results["heights"]]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{center}"]
    sources = [f"B = {block['B']:g}: rows {block.get('rows_from')}"
               + "".join(f", {key.replace('_', ' ')} {block[key + '_from']}"
                         for key in ("analysis", "verdicts", "share_tests") if key + "_from" in block)
               for block in results["heights"] if "sources" in block]
    if sources:
        lines += ["", r"{\raggedright " + escape_text("Runs combined: " + "; ".join(sources) + ".") + r"\par}"]
    for block in results["heights"]:
        examples = [(row["method"], row.get("examples", [])[:EXAMPLES]) for row in block["rows"]]
        if any(texts for _, texts in examples):
            lines += ["", escape_text(f"Example outputs at B = {block['B']:g}:"), r"\begin{itemize}\scriptsize"]
            lines += [r"\item " + escape_text(method) + ": " + ", ".join(escape_tt(text.rstrip()) for text in texts)
                      for method, texts in examples if texts]
            lines += [r"\end{itemize}"]
        if "verdicts" in block:
            lines += ["", escape_text(f"At B = {block['B']:g}: check_chain_sampler(…, reference=\"trajectory\") "
                                      "(a KS test per projection of x_0 against a fresh trajectory-rejection sample):"),
                      "", r"\begin{center}\scriptsize"] + _verdict_table(block["verdicts"]) + [r"\end{center}"]
        if "share_tests" in block:
            tests = block["share_tests"]
            lines += ["", escape_text(f"Powered share test at B = {block['B']:g}: n = m = {tests['n']} per side, "
                                      f"designed to detect a share difference of {tests['gap']:g}:"),
                      "", r"\begin{center}\scriptsize"] + _share_table(tests) + [r"\end{center}"]
    return "\n".join(lines) + "\n"


def benchmark_section(directory: str | Path | None = None) -> str | None:
    """The report's benchmark section, or None when ``directory`` holds no ``masked_lm.json``.
    Raises ``ValueError`` naming ``benchmarks`` when the file is there but is not a results file."""
    path = Path(directory if directory is not None else DEFAULT_RESULTS) / MASKED_LM_FILE
    if not path.exists():
        return None
    try:
        results = json.loads(path.read_text())
        return masked_lm_section(results)
    except (json.JSONDecodeError, KeyError, TypeError, ZeroDivisionError) as error:
        raise ValueError(f"benchmarks: {str(path)!r} is not a masked-LM results file ({error!r})") from None



def _headline(rows: list[dict]) -> str:
    ran = [row for row in rows if row.get("verdict") != "n/a"]
    verdicts = Counter(row["verdict"] for row in ran)
    parts = ", ".join(f"{count} {verdict}" for verdict, count in sorted(verdicts.items()))
    samplers = len({row["sampler"] for row in ran})
    instances = len({row["instance"] for row in ran})
    return f"{samplers} samplers on {instances} exact chains, {len(ran)} checks: {parts}."


def chain_peers_context(folder: str | Path | None, out_dir: str | Path) -> dict | None:
    """The report's chain-peers section context (module docstring), or None when ``folder`` lacks the results."""
    if folder is None:
        return None
    folder, out_dir = Path(folder), Path(out_dir)
    results, table = folder / "chain_peers.json", folder / "chain_peers.tex"
    if not (results.is_file() and table.is_file()):
        return None
    try:
        payload = json.loads(results.read_text(encoding="utf-8"))
        rows, meta = payload["rows"], payload.get("meta", {})
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"benchmarks: {str(results)!r} is not a chain-peers results file ({error})") from None
    (out_dir / "benchmarks").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(table, out_dir / "benchmarks" / "chain_peers_table.tex")
    figure = None
    if (folder / "chain_peers.pdf").is_file():
        (out_dir / "figures").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / "chain_peers.pdf", out_dir / "figures" / "chain_peers.pdf")
        figure = Latex("figures/chain_peers.pdf")
    seconds = meta.get("seconds")
    return {"headline": escape_text(_headline(rows)), "command": escape_tt(str(meta.get("command", "?"))),
            "seconds": escape_text("?" if seconds is None else f"{float(seconds):.0f} s"),
            "machine": escape_text(str(meta.get("machine", "unknown machine"))), "figure": figure,
            "quick": bool(meta.get("quick", False))}
