"""``tiltproof`` command line: ``check`` runs the claims, ``list`` shows them, ``report`` typesets them.

``tiltproof check [--only REGEX] [--json FILE] [--seed N] [--alpha A] [--device cpu|cuda]`` prints one
row per claim (id, empirical value, its confidence bound, the symbolic bound, margin, verdict, time)
and exits 1 iff any claim is ``fail`` or ``error`` (2 for bad arguments).
``tiltproof report --results FILE --out DIR [--no-compile]`` writes DIR/report.tex and compiles it to
DIR/report.pdf when TeX is installed (exit 1 if compilation fails, 2 for a bad results file).
``tiltproof mutants [--only REGEX] [--json FILE]`` runs every registered wrong variant and prints the kill
matrix; exit 1 if any variant survives (``tiltproof.mutants_command``).
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from theorems.framework import DEFAULT_ALPHA_TOTAL, Record
from theorems.registry import all_claims, select_claims
from theorems.suite import alpha_share, run_suite

VERDICT_STYLE = {"pass": "green", "fail": "bold red", "error": "bold magenta"}


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4g}"


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent, timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _table(records: list[Record]) -> Table:
    table = Table(title="tiltproof claims", show_lines=False)
    for column, justify in (("claim", "left"), ("empirical", "right"), ("conf. bound", "right"),
                            ("bound", "right"), ("margin", "right"), ("n", "right"), ("verdict", "center"),
                            ("time", "right")):
        table.add_column(column, justify=justify, no_wrap=column == "claim")
    for record in records:
        table.add_row(record.id, _number(record.empirical), _number(record.confidence_bound), _number(record.bound),
                      _number(record.margin), str(record.n), f"[{VERDICT_STYLE[record.verdict]}]{record.verdict}[/]",
                      f"{record.seconds:.2f}s")
    return table


def _console() -> Console:
    """A wide console when output is captured (CI logs), so claim ids are not folded."""
    return Console() if sys.stdout.isatty() else Console(width=200)


def command_check(arguments: argparse.Namespace) -> int:
    console = _console()
    try:  # cheap argument checks first, before the registry is built
        from primitives._checks import check_unit_interval, resolve_device

        check_unit_interval("--alpha", arguments.alpha)
        resolve_device(arguments.device)
        registered = all_claims()
        chosen = select_claims(registered, arguments.only)
        share = alpha_share(arguments.alpha, len(registered))
    except ValueError as error:
        console.print(f"[red]error:[/] {error}")
        return 2
    if not chosen:
        console.print(f"[red]error:[/] --only {arguments.only!r} matches none of the {len(registered)} claims "
                      "(see `tiltproof list`)")
        return 2
    started = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("checking claims", total=len(chosen))

        def advance(record: Record) -> None:
            progress.update(task, advance=1, description=f"{record.verdict:5s} {record.id}")

        records = run_suite(chosen, registered=len(registered), alpha_total=arguments.alpha, seed=arguments.seed,
                            device=arguments.device, on_record=advance)
    console.print(_table(records))
    counts = {verdict: sum(record.verdict == verdict for record in records) for verdict in ("pass", "fail", "error")}
    for record in records:
        if record.verdict != "pass":
            console.print(f"[{VERDICT_STYLE[record.verdict]}]{record.verdict}[/] {record.id}: {record.message}")
    console.print(
        f"{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors "
        f"— α_total={arguments.alpha:g} over {len(registered)} registered claims (α={share:.3g} each), "
        f"seed={arguments.seed}, {time.perf_counter() - started:.1f}s"
    )
    if arguments.json:
        payload = {
            "meta": {"commit": _git_commit(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     "seed": arguments.seed, "alpha_total": arguments.alpha, "registered_claims": len(registered),
                     "alpha_per_claim": share, "device": arguments.device, "only": arguments.only},
            "claims": [record.to_json() for record in records],
        }
        Path(arguments.json).write_text(json.dumps(payload, indent=2))
        console.print(f"wrote {arguments.json}")
    return 0 if counts["fail"] == 0 and counts["error"] == 0 else 1


def command_list(arguments: argparse.Namespace) -> int:
    console = _console()
    try:
        chosen = select_claims(all_claims(), arguments.only)
    except ValueError as error:
        console.print(f"[red]error:[/] {error}")
        return 2
    table = Table(title=f"{len(chosen)} registered claims")
    for column in ("claim", "theorem", "module", "title"):
        table.add_column(column, overflow="fold")
    for claim in chosen:
        table.add_row(claim.id, claim.theorem, claim.module, claim.title)
    console.print(table)
    return 0


def command_report(arguments: argparse.Namespace) -> int:
    """Results JSON → DIR/report.tex (+ style, sections, figures, verdicts.tex) → DIR/report.pdf."""
    from reports import build_report

    console = _console()
    try:
        result = build_report(arguments.results, arguments.out, compile=not arguments.no_compile)
    except ValueError as error:
        console.print(f"[red]error:[/] {error}")
        return 2
    console.print(result.message, markup=False, highlight=False)
    if result.log_excerpt:
        console.print(result.log_excerpt, markup=False, highlight=False)
    return 1 if result.engine and result.pdf is None else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tiltproof", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="run the claims and print a verdict per claim")
    check.add_argument("--only", metavar="REGEX", help="run only claims whose id matches REGEX")
    check.add_argument("--json", metavar="FILE", help="write {'meta': …, 'claims': [records…]} to FILE")
    check.add_argument("--seed", type=int, default=0, help="master seed (per-claim seeds derive from it)")
    check.add_argument("--alpha", type=float, default=DEFAULT_ALPHA_TOTAL,
                       help="suite false-alarm budget α_total, split over all registered claims (default 1e-6)")
    check.add_argument("--device", default="cpu", help="torch device for the samplers: cpu (default) or cuda")
    check.set_defaults(handler=command_check)
    listing = commands.add_parser("list", help="list the registered claims")
    listing.add_argument("--only", metavar="REGEX")
    listing.set_defaults(handler=command_list)
    report = commands.add_parser("report", help="turn a results JSON into a LaTeX report and compile it to PDF")
    report.add_argument("--results", required=True, metavar="FILE", help="a `tiltproof check --json` file")
    report.add_argument("--out", required=True, metavar="DIR", help="directory for report.tex, report.pdf, figures")
    report.add_argument("--no-compile", action="store_true", help="write the .tex files only")
    report.set_defaults(handler=command_report)
    from tiltproof.mutants_command import add_parser as add_mutants_parser  # handler imports lazily

    add_mutants_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    return arguments.handler(arguments)


if __name__ == "__main__":
    sys.exit(main())
