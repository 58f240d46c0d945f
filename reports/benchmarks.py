"""Benchmark results in the report: the chain-peers table and plot (``benchmarks/chain_peers.py``).

``chain_peers_context(folder, out_dir)`` looks for ``chain_peers.json`` and ``chain_peers.tex`` (the booktabs
tabular the benchmark writes) in ``folder``; when both exist it copies the tabular to
``benchmarks/chain_peers_table.tex`` and the plot (``chain_peers.pdf``, when present) to ``figures/``, and returns
the template's context: a headline (counts of verdicts by sampler kind), the command that produced the results
and the file names. Without the results it returns None and the report has no benchmark section. The default
folder is the repository's ``benchmarks/results/chain_peers``.
"""
from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

from reports.latex import Latex, escape_text, escape_tt

__all__ = ["DEFAULT_CHAIN_PEERS", "chain_peers_context"]

DEFAULT_CHAIN_PEERS = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "chain_peers"


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
