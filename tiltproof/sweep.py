"""``tiltproof sweep SPEC.toml``: a theorem family checked over a parameter grid, locally or on Ray.

A spec (TOML) names a family of ``tiltproof.sweep_families``, its grid and the error budget::

    family = "single-step"
    seed = 0                    # master seed; a claim's seed is claim_seed(seed, claim id)
    alpha_total = 1e-6          # false-alarm budget of the whole sweep, split over all its claims
    # alpha_per_claim = 1e-8    # or: a fixed level per claim (the sweep's budget is then count × level)
    device = "cpu"
    timeout_s = 600             # optional: a grid point running longer is an `error` (with Ray: the whole sweep)

    [grid]
    instance = ["gaussian-linear-d1", "gmm-step-d1"]
    lambda = [0.5, 1.0]
    delta = [0.5, 0.1]
    replicate = 3               # an integer N means 0, 1, …, N−1

Every point of the Cartesian product becomes claims (``sweep_families.point_claims``), each checked at
its share ``alpha_total / (number of claims in the sweep)`` (Bonferroni: with probability ≥ 1 − α_total
no correct claim of the sweep fails). A record is a pure function of (family, point, α, seed, device),
so the serial run, the local process pool and Ray give the same records; results are gathered in
completion order and written sorted by grid point (axis order of the spec, values ascending), each
record carrying its ``point``. Backends: ``process`` (``tiltproof.parallel``, the default; ``workers=1``
runs in this process) and ``ray`` (optional extra ``pip install 'tiltproof[ray]'``): ``ray.init`` joins
the cluster at ``address`` (or ``RAY_ADDRESS``) or, without one, starts a local Ray; one Ray task per
grid point, everything it needs passed as arguments, nothing seeded globally.
"""
from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from tiltproof.stamp import git_commit
from tiltproof.sweep_families import Point, check_axis_values, get_family, point_claims, point_key

__all__ = ["SweepSpec", "parse_spec", "load_spec", "grid_points", "run_point", "run_sweep", "command_sweep"]

DEFAULT_ALPHA_TOTAL = 1e-6
_TOP_LEVEL = {"family", "seed", "alpha_total", "alpha_per_claim", "device", "timeout_s", "grid"}


@dataclass(frozen=True)
class SweepSpec:
    family: str
    grid: tuple[tuple[str, tuple], ...]
    seed: int = 0
    alpha_total: float | None = DEFAULT_ALPHA_TOTAL
    alpha_per_claim: float | None = None
    device: str = "cpu"
    timeout_s: float | None = None


def _sorted_values(axis: str, values: list) -> tuple:
    try:
        ordered = sorted(set(values))
    except TypeError:
        raise ValueError(f"grid.{axis} mixes values of different types: {values!r}") from None
    return tuple(ordered)


def parse_spec(spec: dict[str, Any]) -> SweepSpec:
    """Validate a spec mapping (parsed TOML); every problem is a ``ValueError`` naming the key."""
    unknown = sorted(set(spec) - _TOP_LEVEL)
    if unknown:
        raise ValueError(f"unknown spec keys {unknown}; allowed: {sorted(_TOP_LEVEL)}")
    if "family" not in spec:
        raise ValueError("family is missing from the spec")
    family = get_family(spec["family"])
    grid_table = spec.get("grid")
    if not isinstance(grid_table, dict):
        raise ValueError("grid must be a table ([grid]) of axis = [values]")
    unknown_axes = sorted(set(grid_table) - set(family.axes))
    if unknown_axes:
        raise ValueError(f"grid axes {unknown_axes} are not axes of family {family.name!r} {list(family.axes)}")
    grid = []
    for axis in family.axes:
        values = grid_table.get(axis, family.defaults.get(axis))
        if values is None:
            raise ValueError(f"grid.{axis} is missing (family {family.name!r} needs {list(family.axes)})")
        if axis == "replicate" and isinstance(values, int) and not isinstance(values, bool):
            if values < 1:
                raise ValueError(f"grid.replicate must be a count ≥ 1 or a list of replicate numbers, got {values}")
            values = list(range(values))
        values = values if isinstance(values, list) else [values]
        if not values:
            raise ValueError(f"grid.{axis} must hold at least one value")
        check_axis_values(axis, values)
        grid.append((axis, _sorted_values(axis, values)))
    seed = spec.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer ≥ 0, got {seed!r}")
    alpha_total, alpha_per_claim = spec.get("alpha_total"), spec.get("alpha_per_claim")
    if alpha_total is not None and alpha_per_claim is not None:
        raise ValueError("give alpha_total or alpha_per_claim, not both")
    if alpha_per_claim is None and alpha_total is None:
        alpha_total = DEFAULT_ALPHA_TOTAL
    for name, value in (("alpha_total", alpha_total), ("alpha_per_claim", alpha_per_claim)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1):
            raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
    timeout = spec.get("timeout_s")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0):
        raise ValueError(f"timeout_s must be a number of seconds > 0, got {timeout!r}")
    device = spec.get("device", "cpu")
    from primitives._checks import resolve_device

    resolve_device(device)
    return SweepSpec(family=family.name, grid=tuple(grid), seed=seed, alpha_total=alpha_total,
                     alpha_per_claim=alpha_per_claim, device=str(device), timeout_s=timeout)


def load_spec(path: str | Path) -> SweepSpec:
    import tomllib

    try:
        text = Path(path).read_text()
    except OSError as error:
        raise ValueError(f"SPEC {path}: cannot read it ({error.strerror})") from None
    try:
        return parse_spec(tomllib.loads(text))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"SPEC {path} is not valid TOML: {error}") from None


def grid_points(spec: SweepSpec) -> list[Point]:
    """The grid's points, sorted: axis order of the family, values ascending (the output order)."""
    axes = [axis for axis, _ in spec.grid]
    return [tuple(zip(axes, values)) for values in itertools.product(*(values for _, values in spec.grid))]


def claim_alpha(spec: SweepSpec, claim_count: int) -> float:
    return spec.alpha_per_claim if spec.alpha_per_claim is not None else spec.alpha_total / claim_count


# ---------------------------------------------------------------- one grid point (runs in a worker)
def run_point(family: str, point: Point, alpha: float, seed: int, device: str) -> list[dict[str, Any]]:
    """Records (JSON form, each with its ``point``) of ``family``'s claims at ``point``: a pure function of
    its arguments — the unit of work of every backend."""
    from tiltproof.core.framework import run_claim

    records = []
    for claim in point_claims(family, point):
        record = run_claim(claim, alpha=alpha, seed=seed, device=device).to_json()
        record["point"] = dict(point)
        records.append(record)
    return records


def _ray_point(family: str, point: Point, alpha: float, seed: int, device: str) -> list[dict[str, Any]]:
    import torch

    torch.set_num_threads(1)
    return run_point(family, point, alpha, seed, device)


def _error_records(family: str, point: Point, alpha: float, seed: int, reason: str) -> list[dict[str, Any]]:
    from tiltproof.parallel import error_record

    records = []
    for claim in point_claims(family, point):
        record = error_record(claim, alpha=alpha, seed=seed, message=f"grid point {point_key(point)}: {reason}")
        records.append({**record.to_json(), "point": dict(point)})
    return records


# ---------------------------------------------------------------- backends
def _run_ray(arguments: list[tuple], fallback: Callable[[int, str], Any], on_done: Callable[[int, Any], None], *,
             address: str | None, num_cpus: int | None, timeout: float | None) -> None:
    try:
        import ray
    except ImportError:
        raise ValueError("the ray backend needs Ray: pip install 'tiltproof[ray]' (or drop --ray to use the "
                         "local process pool)") from None
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address or None, num_cpus=num_cpus if not address else None, include_dashboard=False,
                 logging_level="ERROR", runtime_env={"env_vars": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}})
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(_ray_point)
        references = {task.remote(*argument): index for index, argument in enumerate(arguments)}
        started = time.monotonic()
        pending = list(references)
        while pending:
            done, pending = ray.wait(pending, num_returns=1, timeout=None if timeout is None else 1.0)
            for reference in done:
                index = references[reference]
                try:
                    result = ray.get(reference)
                except ray.exceptions.RayError as error:  # a crashed task or a dead worker
                    summary = str(error).strip().splitlines()[0] if str(error).strip() else ""
                    result = fallback(index, f"the Ray task failed ({type(error).__name__}: {summary})")
                on_done(index, result)
            if timeout is not None and pending and time.monotonic() - started > timeout:
                for reference in pending:
                    ray.cancel(reference, force=True)
                    on_done(references[reference], fallback(references[reference],
                                                            f"timed out after {timeout:g} s (Ray task cancelled)"))
                pending = []
    finally:
        if started_here:
            ray.shutdown()


def run_sweep(spec: SweepSpec, *, backend: str = "process", workers: int | None = None, address: str | None = None,
              num_cpus: int | None = None,
              on_point: Callable[[Point, list[dict[str, Any]]], None] | None = None) -> dict[str, Any]:
    """Run every grid point of ``spec``; return ``{"meta": …, "points": […], "claims": [records…]}`` with
    points and records sorted by grid point (the records do not depend on ``backend`` or ``workers``).

    ``on_point(point, records)`` is called as each point finishes (completion order). With the Ray
    backend ``timeout_s`` bounds the whole sweep; with the process pool, each grid point.
    """
    if backend not in ("process", "ray"):
        raise ValueError(f"backend must be 'process' or 'ray', got {backend!r}")
    from tiltproof.parallel import Job, check_workers, run_jobs

    workers = check_workers(workers)
    points = grid_points(spec)
    claim_count = sum(len(point_claims(spec.family, point)) for point in points)
    alpha = claim_alpha(spec, claim_count)
    arguments = [(spec.family, point, alpha, spec.seed, spec.device) for point in points]
    results: dict[int, list[dict[str, Any]]] = {}

    def fallback(index: int, reason: str) -> list[dict[str, Any]]:
        return _error_records(spec.family, points[index], alpha, spec.seed, reason)

    def done(index: int, records: list[dict[str, Any]]) -> None:
        results[index] = records
        if on_point is not None:
            on_point(points[index], records)

    started = time.perf_counter()
    if backend == "ray":
        _run_ray(arguments, fallback, done, address=address, num_cpus=num_cpus, timeout=spec.timeout_s)
    elif min(workers, len(points)) == 1 and spec.timeout_s is None:
        for index, argument in enumerate(arguments):
            done(index, run_point(*argument))
    else:
        run_jobs([Job("tiltproof.sweep:run_point", argument) for argument in arguments], workers=workers,
                 fallback=fallback, on_complete=done, timeout=spec.timeout_s)
    records = [record for index in range(len(points)) for record in results[index]]
    verdicts = {verdict: sum(record["verdict"] == verdict for record in records) for verdict in ("pass", "fail", "error")}
    return {
        "meta": {"family": spec.family, "grid": {axis: list(values) for axis, values in spec.grid},
                 "commit": git_commit(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "registered_claims": claim_count, "only": None,
                 "seed": spec.seed, "alpha_total": spec.alpha_total if spec.alpha_per_claim is None
                 else spec.alpha_per_claim * claim_count, "alpha_per_claim": alpha, "points": len(points),
                 "claims": claim_count, "device": spec.device, "backend": backend,
                 "workers": workers if backend == "process" else None, "seconds": time.perf_counter() - started,
                 "verdicts": verdicts},
        "points": [{"point": dict(point), "key": point_key(point),
                    "verdicts": {verdict: sum(record["verdict"] == verdict for record in results[index])
                                 for verdict in ("pass", "fail", "error")}}
                   for index, point in enumerate(points)],
        "claims": records,
    }


# ---------------------------------------------------------------- command line
def add_arguments(parser: Any) -> None:
    parser.add_argument("spec", metavar="SPEC.toml", nargs="?", default=None,
                        help="sweep spec: family, [grid], seed, alpha_total")
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                        help="run on Ray: join the cluster at ADDRESS (or RAY_ADDRESS, or 'auto'); without "
                             "ADDRESS start a local Ray (needs pip install 'tiltproof[ray]')")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="local process pool size (default: this machine's cores; ignored with --ray)")
    parser.add_argument("--json", metavar="FILE", help="write {'meta', 'points', 'claims'} to FILE")
    parser.add_argument("--report", metavar="DIR", help="also typeset the records as DIR/report.pdf (tiltproof report)")


def _table(payload: dict[str, Any]):
    from rich.table import Table

    table = Table(title=f"sweep {payload['meta']['family']}: {payload['meta']['points']} grid points")
    for column in ("grid point", "claims", "pass", "fail", "error", "worst margin"):
        table.add_column(column, justify="left" if column == "grid point" else "right")
    for entry in payload["points"]:
        margins = [record["margin"] for record in payload["claims"]
                   if record["point"] == entry["point"] and isinstance(record["margin"], (int, float))]
        counts = entry["verdicts"]
        table.add_row(entry["key"], str(sum(counts.values())), str(counts["pass"]),
                      f"[bold red]{counts['fail']}[/]" if counts["fail"] else "0",
                      f"[bold magenta]{counts['error']}[/]" if counts["error"] else "0",
                      f"{min(margins):.4g}" if margins else "—")
    return table


def _spec_after_ray(arguments: Any) -> None:
    """``sweep --ray SPEC.toml`` (the spec written after a bare ``--ray``): argparse hands the spec to ``--ray``
    as its address; a ``.toml`` there with no spec given is the spec, and Ray starts locally."""
    if arguments.spec is None and arguments.ray and str(arguments.ray).endswith(".toml"):
        arguments.spec, arguments.ray = arguments.ray, ""
    if arguments.spec is None:
        raise ValueError("a sweep spec is required: tiltproof sweep SPEC.toml [--ray [ADDRESS]]")


def command_sweep(arguments: Any) -> int:
    """CLI handler: exit 0 when every claim passes, 1 on any fail/error, 2 for a bad spec or argument."""
    import sys

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tiltproof.parallel import check_workers
    from tiltproof.records_io import check_output_path, write_atomically

    console = Console() if sys.stdout.isatty() else Console(width=200)
    try:
        _spec_after_ray(arguments)
        spec = load_spec(arguments.spec)
        workers = check_workers(arguments.workers)
        if arguments.ray is not None:
            import importlib.util

            if importlib.util.find_spec("ray") is None:
                raise ValueError("--ray needs Ray: pip install 'tiltproof[ray]' (or drop --ray for the local pool)")
        total = len(grid_points(spec))
        if arguments.json:  # refused before any point runs, not after the whole sweep
            check_output_path(arguments.json, option="--json")
    except ValueError as error:
        console.print(f"[red]error:[/] {error}")
        return 2
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("grid points", total=total)
        payload = run_sweep(spec, backend="ray" if arguments.ray is not None else "process", workers=workers,
                            address=arguments.ray or None,
                            on_point=lambda point, records: progress.update(task, advance=1,
                                                                            description=point_key(point)))
    console.print(_table(payload))
    for record in payload["claims"]:
        if record["verdict"] != "pass":
            console.print(f"{record['verdict']} {record['id']}: {record['message']}", markup=False)
    meta = payload["meta"]
    console.print(f"{meta['verdicts']['pass']} passed, {meta['verdicts']['fail']} failed, {meta['verdicts']['error']} "
                  f"errors — {meta['claims']} claims at α={meta['alpha_per_claim']:.3g} each "
                  f"(α_total={meta['alpha_total']:.3g}), seed={meta['seed']}, backend={meta['backend']}, "
                  f"{meta['seconds']:.1f}s")
    if arguments.json:
        write_atomically(Path(arguments.json), json.dumps(payload, indent=2))
        console.print(f"wrote {arguments.json}")
    if arguments.report:
        from reports import build_report

        result = build_report(payload, arguments.report)
        console.print(result.message, markup=False, highlight=False)
        if result.engine and result.pdf is None:
            return 1
    return 0 if meta["verdicts"]["fail"] == 0 and meta["verdicts"]["error"] == 0 else 1
