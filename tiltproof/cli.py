"""``tiltproof`` command line: ``check`` runs the claims, ``list`` shows them, ``report`` typesets them.

``tiltproof check [--only REGEX] [--json FILE | --resume FILE] [--seed N] [--alpha CAP] [--device cpu|cuda]``
prints one row per claim (id, empirical value, its confidence bound, the relation ≤ ≥ = ∈, the symbolic
bound, margin, n, verdict) and exits 1 iff any claim is ``fail`` or ``error``, 2 for bad arguments (found
before any claim runs), 130 when interrupted. ``--json FILE`` is rewritten atomically after every claim, so
an interrupted run keeps what it finished and ``--resume FILE`` runs only the rest.
``tiltproof report --results FILE --out DIR [--mutants FILE] [--no-compile] [--benchmarks DIR | --no-benchmarks]``
writes DIR/report.tex (with the masked-LM benchmark table when benchmarks/results/masked_lm.json exists) and
compiles it to DIR/report.pdf when TeX is installed (exit 1 if compilation fails, 2 for a bad input).

Heavy modules (torch, sympy, the theorem registry, matplotlib) are imported inside the commands, so
``--help`` and argument errors answer at once (``benchmarks/cli_startup.py`` measures it).
``tiltproof mutants [--only REGEX] [--json FILE]`` runs every registered wrong variant and prints the kill
matrix; exit 1 if any variant survives (``tiltproof.mutants_command``). ``tiltproof verify MODULE:CALLABLE
--family …`` checks a user's own implementation (``tiltproof.verify_command``); ``tiltproof sweep SPEC.toml``
runs a theorem family over a grid (``tiltproof.sweep``).
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from typing import Any

from tiltproof.plugins import add_theorems_option, use_theorems
from tiltproof.records_io import ResultsWriter, check_output_directory, check_output_path, read_partial

VERDICT_STYLE = {"pass": "green", "fail": "bold red", "error": "bold magenta"}
DEFAULT_ALPHA_CAP = 1e-6  # == tiltproof.core.framework.DEFAULT_ALPHA_TOTAL (tested); here to keep --help import-free
DEFAULT_SEED = 0
DEFAULT_DEVICE = "cpu"
EXIT_INTERRUPTED = 130


def _number(value: Any) -> str:
    """4 significant digits; "—" for a missing value; "inf"/"nan" strings of the JSON as they are."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4g}"


def _field(record: Any, key: str, default: Any = None) -> Any:
    """A record field from a ``Record`` or its JSON dict (unknown or missing keys are fine)."""
    if isinstance(record, dict):
        return record.get(key, default)
    return getattr(record, key, default)


def _table(records: list, *, width: int | None) -> str:
    """The check table: one line per claim; numbers never cut; at ``width`` the claim ids are shortened."""
    from tiltproof.runner import Column, format_table, number_text

    columns = [Column("claim", "text", min_width=18), Column("empirical", "number"),
               Column("conf. bound", "number"), Column("rel", "text", min_width=3), Column("bound", "number"),
               Column("margin", "number"), Column("n", "number"), Column("verdict", "text", min_width=7),
               Column("time", "number", optional=True)]
    rows = []
    for record in records:
        seconds = _field(record, "seconds")
        rows.append([str(_field(record, "id")), number_text(_field(record, "empirical")),
                     number_text(_field(record, "confidence_bound")), _field(record, "relation") or "≤",
                     number_text(_field(record, "bound")), number_text(_field(record, "margin")),
                     str(_field(record, "n", "—")), str(_field(record, "verdict")),
                     f"{seconds:.2f}s" if isinstance(seconds, (int, float)) else "—"])
    return format_table(columns, rows, width, title="tiltproof claims")


def _console():
    """stdout's console: the terminal's, or plain and unwrapped when output is captured (CI logs)."""
    from tiltproof.runner import console

    return console()


def _print_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _report_package_problems(registry) -> list[str]:
    """Print one ``error`` line per installed theorem package that was skipped; return the lines."""
    problems = registry.load_problems()
    for problem in problems:
        _print_error(problem)
    return problems


def _cheap_checks(arguments: argparse.Namespace) -> None:
    """Argument errors that need no heavy import, raised as ``ValueError`` naming the option."""
    if not (isinstance(arguments.alpha, float) and 0.0 < arguments.alpha < 1.0):
        raise ValueError(f"--alpha must be a number in (0, 1), got {arguments.alpha!r}")
    if not re.fullmatch(r"cpu|cuda(:\d+)?", arguments.device):
        raise ValueError(f"--device must be 'cpu', 'cuda' or 'cuda:N', got {arguments.device!r}")
    if hasattr(arguments, "workers"):
        if arguments.workers is None:
            from tiltproof.parallel import default_workers

            arguments.workers = default_workers()
        elif arguments.workers < 1:
            raise ValueError(f"--workers must be an integer ≥ 1, got {arguments.workers!r}")
    if arguments.only:
        try:
            re.compile(arguments.only)
        except re.error as error:
            raise ValueError(f"--only must be a valid regular expression: {error}") from None


def _resolve_resume(arguments: argparse.Namespace) -> dict | None:
    """With ``--resume FILE``: the file, and the run's settings taken from its meta (an explicit option that
    disagrees is an error, so a resumed file never mixes two settings)."""
    if not arguments.resume:
        return None
    payload = read_partial(arguments.resume)
    meta = payload["meta"]
    stored = {"seed": meta.get("seed"), "alpha": meta.get("alpha_cap", meta.get("alpha_total")),
              "device": meta.get("device"), "only": meta.get("only")}
    for option, value in stored.items():
        given = getattr(arguments, option)
        if given is not None and (value is not None or option == "only") and given != value:
            shown = "(all claims)" if value is None else repr(value)
            raise ValueError(f"--resume: the file was run with --{option} {shown}, not {given!r} "
                             f"(leave --{option} out to resume with the file's settings)")
        if given is None:
            setattr(arguments, option, value)
    return payload


def command_check(arguments: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:  # everything that can be wrong with the arguments, before any heavy import or claim
        resumed = _resolve_resume(arguments)
        arguments.seed = DEFAULT_SEED if arguments.seed is None else arguments.seed
        arguments.alpha = DEFAULT_ALPHA_CAP if arguments.alpha is None else float(arguments.alpha)
        arguments.device = arguments.device or DEFAULT_DEVICE
        _cheap_checks(arguments)
        output = arguments.json or arguments.resume
        if output:
            check_output_path(output, option="--json" if arguments.json else "--resume")
        use_theorems(arguments.theorems)
    except ValueError as error:
        _print_error(str(error))
        return 2
    from primitives._checks import resolve_device
    from tiltproof.core import registry
    from tiltproof.core.suite import plan_levels
    from tiltproof.runner import run_meta

    console = _console()
    try:
        resolve_device(arguments.device)
        registered = registry.all_claims()
        chosen = registry.select_claims(registered, arguments.only)
        if not chosen:
            raise ValueError(f"--only {arguments.only!r} matches none of the {len(registered)} claims "
                             "(see `tiltproof list`)")
        plan = plan_levels(chosen, arguments.alpha)
    except ValueError as error:
        _print_error(str(error))
        return 2
    problems = _report_package_problems(registry)
    if plan.note:
        console.print(f"[yellow]note:[/] {plan.note}")
    kept = _kept_records(resumed, plan, console)
    todo = [claim for claim in chosen if claim.id not in {record["id"] for record in kept}]
    meta = {**run_meta("check", arguments.device), "seed": arguments.seed, "alpha_cap": plan.cap, "alpha_total": plan.cap, "alpha_spent": plan.spent,
            "alpha_scale": plan.scale, "registered_claims": len(registered), "selected_claims": len(chosen),
            "only": arguments.only, "theorem_packages": [source.module for source in registry.loaded_packages()],
            "theorem_package_errors": problems}
    if resumed:
        meta["resumed_from"] = {key: resumed["meta"].get(key) for key in ("commit", "date", "finished_claims")}
        if resumed["meta"].get("commit") not in (None, meta["commit"]):
            console.print(f"[yellow]note:[/] resuming a file written at commit {resumed['meta'].get('commit')} "
                          f"with commit {meta['commit']}")
    writer = ResultsWriter(output, meta, kept) if output else None
    records: list = list(kept)
    try:
        records += _run_claims(todo, plan, arguments, writer)
    except KeyboardInterrupt:  # every finished record is already on disk
        from tiltproof.runner import interrupted

        return interrupted("check", output, len(writer.records) if writer else 0)
    elapsed = time.perf_counter() - started
    if writer:
        writer.finish(order=[claim.id for claim in chosen], seconds=round(elapsed, 2))
    from tiltproof.runner import stdout_width

    console.print(_table(records, width=stdout_width()), markup=False, highlight=False)
    counts = {verdict: sum(_field(r, "verdict") == verdict for r in records) for verdict in ("pass", "fail", "error")}
    for record in records:
        if _field(record, "verdict") != "pass":
            verdict = _field(record, "verdict")
            console.print(f"[{VERDICT_STYLE.get(verdict, 'white')}]{verdict}[/] {_field(record, 'id')}: "
                          f"{_field(record, 'message')}", markup=True, highlight=False)
    levels = sorted({round(level, 15) for level in plan.levels.values()})
    level_text = f"{levels[0]:.3g} each" if len(levels) == 1 else f"{levels[0]:.3g}–{levels[-1]:.3g}"
    console.print(
        f"{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors — α spent {plan.spent:.3g} "
        f"of the cap {plan.cap:g} ({len(chosen)} claims at their own levels, {level_text}), seed={arguments.seed}, "
        f"{elapsed:.1f}s on {meta['device_name']}" + (f" ({len(kept)} records kept from {arguments.resume})" if kept else ""),
        highlight=False)
    if writer:
        console.print(f"wrote {output}")
    for problem in problems:  # repeated at the end, where a long run's reader looks
        _print_error(problem)
    return 0 if counts["fail"] == 0 and counts["error"] == 0 and not problems else 1


def _kept_records(resumed: dict | None, plan, console) -> list[dict]:
    """Records of the file being resumed that belong to this selection at the level this run would use."""
    if not resumed:
        return []
    kept, stale = [], []
    for record in resumed["claims"]:
        level = plan.levels.get(record["id"])
        if level is None:
            continue
        alpha = record.get("alpha")
        if isinstance(alpha, (int, float)) and math.isclose(alpha, level, rel_tol=1e-12):
            kept.append(record)
        else:
            stale.append(record["id"])
    if stale:
        console.print(f"[yellow]note:[/] {len(stale)} records of the resumed file were run at another level "
                      "and are run again")
    return kept


def _run_claims(todo, plan, arguments, writer) -> list:
    """The selected claims' records (JSON form), through the runner: workers, progress, one write per record."""
    from tiltproof.parallel import claim_jobs
    from tiltproof.runner import execute

    workers = min(getattr(arguments, "workers", 1) or 1, max(1, len(todo)))
    jobs, fallback, groups = claim_jobs(todo, alpha=plan.levels, seed=arguments.seed, device=arguments.device,
                                        workers=workers)
    records: dict[int, dict] = {}

    def done(index: int, record) -> None:
        records[index] = record.to_json()
        if writer is not None:
            writer.add(records[index])

    execute(jobs, workers=workers, fallback=fallback, on_done=done, groups=groups, label="checking claims",
            describe=lambda index, record: f"{record.verdict:5s} {record.id}")
    return [records[index] for index in range(len(todo))]


def command_list(arguments: argparse.Namespace) -> int:
    from rich.table import Table

    from tiltproof.core import registry
    from tiltproof.core.framework import claim_level

    console = _console()
    try:
        use_theorems(arguments.theorems)
        chosen = registry.select_claims(registry.all_claims(), arguments.only)
    except ValueError as error:
        _print_error(str(error))
        return 2
    _report_package_problems(registry)
    table = Table(title=f"{len(chosen)} registered claims")
    for column in ("claim", "theorem", "level", "module", "title"):
        table.add_column(column, overflow="fold")
    for claim in chosen:
        table.add_row(claim.id, claim.theorem, f"{claim_level(claim):.3g}", claim.module, claim.title)
    console.print(table)
    return 0


def _proofs_for_report(option: str | None) -> dict | None:
    """``--proofs``: None (no appendix), "" (check every proof now) or a ``tiltproof proof --json`` FILE."""
    if option is None:
        return None
    if option == "":
        from tiltproof.proof_command import proofs_payload

        return proofs_payload()
    try:
        with open(option, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"--proofs: cannot read {option!r} ({error})") from None


def command_report(arguments: argparse.Namespace) -> int:
    """Results JSON (+ mutants JSON) → DIR/report.tex (+ style, sections, figures, verdicts.tex) → DIR/report.pdf."""
    try:
        check_output_directory(arguments.out, option="--out")
        use_theorems(arguments.theorems)
    except ValueError as error:
        _print_error(str(error))
        return 2
    from reports import build_report

    console = _console()
    try:
        proofs = _proofs_for_report(arguments.proofs)
        from reports.benchmarks import DEFAULT_RESULTS

        benchmarks = None if arguments.no_benchmarks else (arguments.benchmarks or DEFAULT_RESULTS)
        result = build_report(arguments.results, arguments.out, compile=not arguments.no_compile,
                              mutants=arguments.mutants, appendix=arguments.macro_appendix, proofs=proofs,
                              benchmarks=benchmarks, calibration=arguments.calibration)
    except ValueError as error:
        _print_error(str(error))
        return 2
    console.print(result.message, markup=False, highlight=False)
    if result.log_excerpt:
        console.print(result.log_excerpt, markup=False, highlight=False)
    return 1 if result.engine and result.pdf is None else 0


def command_sweep(arguments: argparse.Namespace) -> int:
    from tiltproof.sweep import command_sweep as run

    return run(arguments)


def _sweep_arguments(parser: argparse.ArgumentParser) -> None:
    from tiltproof.sweep import add_arguments

    add_arguments(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tiltproof", description=__doc__.split("\n")[0].replace("``", ""))
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="run the claims and print a verdict per claim")
    check.add_argument("--only", metavar="REGEX", help="run only claims whose id matches REGEX")
    check.add_argument("--json", metavar="FILE",
                       help="write {'meta': …, 'claims': [records…]} to FILE, rewritten atomically after every claim")
    check.add_argument("--resume", metavar="FILE",
                       help="complete an interrupted --json FILE: run only the claims it lacks, with its settings")
    check.add_argument("--seed", type=int, default=None, help="master seed (per-claim seeds derive from it; default 0)")
    check.add_argument("--alpha", type=float, default=None, metavar="CAP",
                       help="cap on the total false-alarm level the run spends (default 1e-6); each claim runs at "
                            "its own fixed level (default 4e-9), scaled down, with a note, only if the selection "
                            "would exceed the cap")
    check.add_argument("--device", default=None, help="torch device for the samplers: cpu (default) or cuda")
    check.add_argument("--workers", type=int, default=None, metavar="N",
                       help="worker processes (default: this machine's cores; 1 = one process, no workers); "
                            "the records are the same whatever N")
    add_theorems_option(check)
    check.set_defaults(handler=command_check)
    listing = commands.add_parser("list", help="list the registered claims")
    listing.add_argument("--only", metavar="REGEX")
    add_theorems_option(listing)
    listing.set_defaults(handler=command_list)
    report = commands.add_parser("report", help="turn a results JSON into a LaTeX report and compile it to PDF")
    report.add_argument("--results", required=True, metavar="FILE", help="a `tiltproof check --json` file")
    report.add_argument("--out", required=True, metavar="DIR", help="directory for report.tex, report.pdf, figures")
    report.add_argument("--mutants", metavar="FILE", help="a `tiltproof mutants --json` file: the kill matrix")
    report.add_argument("--calibration", metavar="FILE",
                        help="a `tiltproof calibrate --json` file: adds the calibration plot and its section")
    report.add_argument("--macro-appendix", action="store_true",
                        help="add an appendix listing every claim's macro code (always in verdicts.tex comments)")
    report.add_argument("--no-compile", action="store_true", help="write the .tex files only")
    report.add_argument("--benchmarks", metavar="DIR",
                        help="benchmark results folder: its chain_peers/ results and masked_lm.json each add a "
                             "section when present (default: the checkout's benchmarks/results)")
    report.add_argument("--no-benchmarks", action="store_true", help="leave the benchmark section out")
    report.add_argument("--proofs", nargs="?", const="", default=None, metavar="FILE",
                        help="add the proof appendix: every proof checked now, or a `tiltproof proof --json` FILE")
    add_theorems_option(report)
    report.set_defaults(handler=command_report)
    from tiltproof.verify_command import add_parser as add_verify_parser

    add_verify_parser(commands)
    sweep = commands.add_parser("sweep", help="check a theorem family over a parameter grid (process pool or Ray)")
    _sweep_arguments(sweep)
    sweep.set_defaults(handler=command_sweep)
    from tiltproof.mutants_command import add_parser as add_mutants_parser  # handler imports lazily

    add_mutants_parser(commands)
    from tiltproof.calibrate import add_parser as add_calibrate_parser  # handler imports lazily

    add_calibrate_parser(commands)
    from tiltproof.proof_command import add_parser as add_proof_parser  # handler imports lazily

    add_proof_parser(commands)
    from tiltproof.new_command import add_parser as add_new_parser

    add_new_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    return arguments.handler(arguments)


if __name__ == "__main__":
    sys.exit(main())
