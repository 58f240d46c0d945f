"""One runner for every long command (``check``, ``mutants``, ``sweep``, ``verify``, ``calibrate``).

Each command hands this module the same five things, so they behave alike (issue 21, item 6):

* **arguments first** — ``refuse(message)`` prints one ``error: …`` line to stderr and gives exit status 2;
  ``check_outputs({"--json": path})`` refuses an output path that cannot be written *before* any work;
* **one stamp** — ``run_meta(command, device, **fields)``: commit (``+dirty.<hash>``), packages, device,
  platform (``tiltproof.stamp.run_stamp``), date and command, the ``meta`` of every JSON a command writes;
* **jobs with progress** — ``execute(jobs, …)`` runs ``tiltproof.parallel`` jobs on ``--workers`` processes
  (in this process for one), shows progress on stderr (a bar on a terminal, a line every ~5 % elsewhere)
  and hands each finished result to ``on_done`` at once (the command's ``ResultsWriter`` rewrites its JSON
  atomically there, so an interrupted run keeps every finished result);
* **Ctrl-C** — ``interrupted(command, path, finished)`` prints where the finished results are and the
  ``--resume`` command that completes them, and returns exit status 130;
* **tables that never wrap a number** — ``format_table(columns, rows, width)``: numbers and headers are
  never split; when the table is wider than ``width`` the optional columns are dropped, then the text
  columns shortened with "…"; ``width=None`` (stdout is not a terminal) gives the plain full table.
"""
from __future__ import annotations

import math
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Hashable, Mapping, Sequence

__all__ = ["EXIT_USAGE", "EXIT_INTERRUPTED", "refuse", "check_outputs", "run_meta", "execute", "interrupted",
           "Column", "format_table", "console", "stdout_width", "number_text", "plain_help"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def refuse(message: str) -> int:
    """Print ``error: message`` (one line, stderr) and return the usage exit status 2."""
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def check_outputs(paths: Mapping[str, str | None]) -> None:
    """``ValueError`` naming the option unless every given output file path can be written (nothing is left)."""
    from tiltproof.records_io import check_output_path

    for option, path in paths.items():
        if path:
            check_output_path(path, option=option)


def run_meta(command: str, device: str = "cpu", **fields: Any) -> dict[str, Any]:
    """The ``meta`` every command's JSON carries: ``run_stamp(device)``, the UTC date, the command, ``fields``."""
    from tiltproof.stamp import run_stamp

    return {**run_stamp(str(device)), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": command, **fields}


class _Progress:
    """Progress on stderr: a rich bar on a terminal, else a plain line every ~5 % (and the last)."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.done, self.started = total, label, 0, time.monotonic()
        self.every = max(1, math.ceil(total / 20))
        self._bar = None
        if sys.stderr.isatty() and total > 0:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self._task = self._bar.add_task(label, total=total)

    def __enter__(self) -> "_Progress":
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, text: str) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=text)
        elif self.done % self.every == 0 or self.done == self.total:
            print(f"{self.label}: {self.done}/{self.total} ({time.monotonic() - self.started:.0f} s) {text}",
                  file=sys.stderr, flush=True)


def execute(jobs: Sequence[Any], *, workers: int, fallback: Callable[[int, str], Any],
            on_done: Callable[[int, Any], None] | None = None, describe: Callable[[int, Any], str] | None = None,
            label: str = "running", groups: Sequence[Hashable] | None = None,
            timeout: float | None = None) -> list[Any]:
    """Run ``tiltproof.parallel.Job``s on ``workers`` processes (this process for one) with progress on stderr;
    ``on_done(index, result)`` as each finishes (completion order), results returned in input order.

    ``KeyboardInterrupt`` propagates after the workers are stopped; what ``on_done`` saw is kept by the caller."""
    from tiltproof.parallel import run_jobs

    with _Progress(len(jobs), label) as progress:
        def done(index: int, result: Any) -> None:
            if on_done is not None:
                on_done(index, result)
            progress.advance(describe(index, result) if describe is not None else "")

        return run_jobs(list(jobs), workers=workers, fallback=fallback, on_complete=done, groups=groups,
                        timeout=timeout)


def interrupted(command: str, path: str | None, finished: int) -> int:
    """After Ctrl-C: say what was kept and how to complete it; return exit status 130."""
    if path:
        where = (f"{finished} finished results are kept in {path}; run `tiltproof {command} --resume {path}` "
                 "to complete it")
    else:
        where = "no --json file was given, so nothing was kept"
    print(f"interrupted: {where}", file=sys.stderr)
    return EXIT_INTERRUPTED


# ---------------------------------------------------------------- tables
@dataclass(frozen=True)
class Column:
    """A table column: ``kind`` "number" (right-aligned, never shortened) or "text" (left, may be shortened
    with "…" down to ``min_width``); ``optional`` columns are dropped first when the table is too wide."""

    header: str
    kind: str = "text"
    optional: bool = False
    min_width: int = 12


def number_text(value: Any, digits: int = 4) -> str:
    """``digits`` significant digits; "—" for a missing value; strings (``"inf"`` from JSON) as they are."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}g}" if math.isfinite(value) else str(value)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(0, width - 1)] + "…"


def format_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None = None,
                 title: str | None = None) -> str:
    """Rows as aligned text, two spaces between columns, one line per row (a cell never wraps).

    ``width=None``: every column at its natural width. Otherwise the lines fit ``width`` where the numbers
    and headers can: optional columns go first (last one first), then text columns shrink (widest first)
    to their ``max(min_width, len(header))``; numbers and headers are never cut."""
    cells = [[str(cell) for cell in row] for row in rows]
    keep = list(range(len(columns)))
    natural = {j: max([len(columns[j].header)] + [len(row[j]) for row in cells]) for j in keep}
    widths = dict(natural)

    def total() -> int:
        return sum(widths[j] for j in keep) + 2 * (len(keep) - 1)

    if width is not None:
        for j in [j for j in reversed(keep) if columns[j].optional]:
            if total() <= width:
                break
            keep.remove(j)
        text = [j for j in keep if columns[j].kind == "text"]
        while total() > width:
            shrinkable = [j for j in text if widths[j] > max(columns[j].min_width, len(columns[j].header))]
            if not shrinkable:
                break
            widest = max(shrinkable, key=lambda j: widths[j])
            floor = max(columns[widest].min_width, len(columns[widest].header))
            widths[widest] = max(floor, widths[widest] - (total() - width))

    def line(values: Sequence[str]) -> str:
        parts = []
        for j in keep:
            value = _shorten(values[j], widths[j]) if columns[j].kind == "text" else values[j]
            parts.append(value.rjust(widths[j]) if columns[j].kind == "number" else value.ljust(widths[j]))
        return "  ".join(parts).rstrip()

    lines = [title] if title else []
    lines += [line([column.header for column in columns]), "  ".join("─" * widths[j] for j in keep)]
    lines += [line(row) for row in cells]
    return "\n".join(lines)


def console() -> Any:
    """A rich console for stdout: the terminal's, or plain (no colour, no wrapping) when stdout is captured."""
    from rich.console import Console

    if sys.stdout.isatty():
        return Console()
    return Console(no_color=True, soft_wrap=True, width=10_000, highlight=False)


def stdout_width() -> int | None:
    """The terminal's width when stdout is a terminal; ``None`` (no limit) when it is captured."""
    if not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size((100, 24)).columns


def plain_help(text: str) -> str:
    """Help text without reStructuredText's double backticks (``--help`` is read in a terminal)."""
    return text.replace("``", "")
