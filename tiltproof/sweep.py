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
from pathlib import Path
from typing import Any, Callable

from tiltproof.sweep_families import (Point, PointCost, check_axis_values, estimate_cost, get_family, point_claims,
                                     point_key)

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
    from tiltproof.parallel import run_claims_parallel

    records = [record.to_json() for record in run_claims_parallel(point_claims(family, point), alpha=alpha, seed=seed,
                                                                  device=device, workers=1)]
    return [{**record, "point": dict(point)} for record in records]


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
             address: str | None, num_cpus: int | None, timeout: float | None,
             function: Callable[..., Any] | None = None) -> None:
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
        task = ray.remote(num_cpus=1, max_retries=0)(function or _ray_point)
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


DEFAULT_MAX_PROPOSALS = 5e7
"""Default cap on a grid point's estimated rejection proposals: about 20 s of sampling on one core of a
loaded 2-core machine (2.5·10⁶ proposals/s measured there; several times more on an idle core). A point
above it is skipped before anything runs, with its estimate (``--max-proposals inf`` runs every point)."""


def plan_points(spec: SweepSpec, max_proposals: float | None = DEFAULT_MAX_PROPOSALS
                ) -> tuple[list[Point], list[tuple[Point, PointCost]], float]:
    """(points to run, skipped points with their cost estimate, each claim's α). A point is skipped when its
    family's estimate exceeds ``max_proposals`` (None: nothing is skipped). α splits the budget over every
    claim of the grid, skipped ones included, so a record does not depend on the cap."""
    points = grid_points(spec)
    alpha = claim_alpha(spec, sum(len(point_claims(spec.family, point)) for point in points))
    if max_proposals is None:
        return points, [], alpha
    run, skipped = [], []
    for point in points:
        cost = estimate_cost(spec.family, point, alpha)
        (skipped.append((point, cost)) if cost is not None and cost.proposals > max_proposals else run.append(point))
    return run, skipped, alpha


def inapplicable(record: dict[str, Any]) -> bool:
    """A record whose claim's hypotheses fail at its grid point (e.g. T3 where b_δ reaches ess sup r, where it
    is T1's claim): the theorem says nothing there, so a sweep counts it apart from errors."""
    return record["verdict"] == "error" and record.get("statistic") == "hypotheses"


def verdict_counts(records: list[dict[str, Any]]) -> dict[str, int]:
    """pass / fail / error / inapplicable counts (inapplicable records are not counted as errors)."""
    counts = {verdict: sum(record["verdict"] == verdict and not inapplicable(record) for record in records)
              for verdict in ("pass", "fail", "error")}
    counts["inapplicable"] = sum(inapplicable(record) for record in records)
    return counts


def sweep_payload(spec: SweepSpec, points: list[Point], results: dict[int, list[dict[str, Any]]], meta: dict[str, Any],
                  skipped: list[tuple[Point, PointCost]] = ()) -> dict[str, Any]:
    """``{"meta", "points", "claims"}``: records sorted by grid point; skipped points listed with their estimate."""
    records = [record for index in range(len(points)) for record in results.get(index, [])]
    entries = [{"point": dict(point), "key": point_key(point), "verdicts": verdict_counts(results.get(index, []))}
               for index, point in enumerate(points)]
    entries += [{"point": dict(point), "key": point_key(point), "skipped": cost.describe(),
                 "proposals_per_sample": cost.proposals_per_sample, "samples": cost.samples} for point, cost in skipped]
    order = {point_key(point): index for index, point in enumerate(grid_points(spec))}
    entries.sort(key=lambda entry: order.get(entry["key"], len(order)))
    return {"meta": {**meta, "verdicts": verdict_counts(records), "skipped_points": len(skipped)},
            "points": entries, "claims": records}


def sweep_jobs(spec: SweepSpec, points: list[Point], alpha: float):
    """Jobs and fallback that run ``points`` (one job per grid point) under ``tiltproof.parallel.run_jobs``."""
    from tiltproof.parallel import Job

    arguments = [(spec.family, point, alpha, spec.seed, spec.device) for point in points]

    def fallback(index: int, reason: str) -> list[dict[str, Any]]:
        return _error_records(spec.family, points[index], alpha, spec.seed, reason)

    return [Job("tiltproof.sweep:run_point", argument) for argument in arguments], fallback


def sweep_meta(spec: SweepSpec, claims: int, points: int, alpha: float, backend: str, workers: int | None,
               **fields: Any) -> dict[str, Any]:
    """The sweep's JSON meta: the run stamp (``tiltproof.runner.run_meta``) and the sweep's settings."""
    from tiltproof.runner import run_meta

    return run_meta("sweep", spec.device, family=spec.family, grid={axis: list(values) for axis, values in spec.grid},
                    registered_claims=claims, only=None, seed=spec.seed,
                    alpha_total=spec.alpha_total if spec.alpha_per_claim is None else spec.alpha_per_claim * claims,
                    alpha_per_claim=alpha, points=points, claims=claims, backend=backend,
                    workers=workers if backend == "process" else None, **fields)


def run_sweep(spec: SweepSpec, *, backend: str = "process", workers: int | None = None, address: str | None = None,
              num_cpus: int | None = None, max_proposals: float | None = None,
              on_point: Callable[[Point, list[dict[str, Any]]], None] | None = None) -> dict[str, Any]:
    """Run every grid point of ``spec`` (but those whose cost estimate exceeds ``max_proposals``); return
    ``{"meta": …, "points": […], "claims": [records…]}`` with points and records sorted by grid point (the
    records do not depend on ``backend``, ``workers`` or the cap).

    ``on_point(point, records)`` is called as each point finishes (completion order). With the Ray
    backend ``timeout_s`` bounds the whole sweep; with the process pool, each grid point.
    """
    if backend not in ("process", "ray"):
        raise ValueError(f"backend must be 'process' or 'ray', got {backend!r}")
    from tiltproof.parallel import check_workers, run_jobs

    workers = check_workers(workers)
    points, skipped, alpha = plan_points(spec, max_proposals)
    jobs, fallback = sweep_jobs(spec, points, alpha)
    results: dict[int, list[dict[str, Any]]] = {}

    def done(index: int, records: list[dict[str, Any]]) -> None:
        results[index] = records
        if on_point is not None:
            on_point(points[index], records)

    started = time.perf_counter()
    if backend == "ray":
        _run_ray([job.args for job in jobs], fallback, done, address=address, num_cpus=num_cpus,
                 timeout=spec.timeout_s)
    else:
        run_jobs(jobs, workers=workers, fallback=fallback, on_complete=done, timeout=spec.timeout_s)
    claims = sum(len(point_claims(spec.family, point)) for point in grid_points(spec))
    meta = sweep_meta(spec, claims, len(points) + len(skipped), alpha, backend, workers,
                      seconds=time.perf_counter() - started)
    return sweep_payload(spec, points, results, meta, skipped)


# ---------------------------------------------------------------- command line
def add_arguments(parser: Any) -> None:
    parser.add_argument("spec", metavar="SPEC.toml", nargs="?", default=None,
                        help="sweep spec: family, [grid], seed, alpha_total")
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                        help="run on Ray: join the cluster at ADDRESS (or RAY_ADDRESS, or 'auto'); without "
                             "ADDRESS start a local Ray (needs pip install 'tiltproof[ray]')")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="local process pool size (default: this machine's cores; ignored with --ray)")
    parser.add_argument("--json", metavar="FILE",
                        help="write {'meta', 'points', 'claims'} to FILE, rewritten atomically after every point")
    parser.add_argument("--resume", metavar="FILE", help="complete an interrupted --json FILE: run only the grid "
                                                         "points it lacks")
    parser.add_argument("--max-proposals", type=float, default=DEFAULT_MAX_PROPOSALS, metavar="P",
                        help="skip, before running, a grid point whose estimated rejection proposals (exact "
                             "proposals per sample × designed samples) exceed P (default 5e7, about 20 s on "
                             "one loaded core); 'inf' runs every point")
    parser.add_argument("--report", metavar="DIR", help="also typeset the records as DIR/report.pdf (tiltproof report)")


def _table(payload: dict[str, Any], width: int | None) -> str:
    from tiltproof.runner import Column, format_table

    columns = [Column("grid point", "text", min_width=20), Column("claims", "number"), Column("pass", "number"),
               Column("fail", "number"), Column("error", "number"), Column("n/a", "number"),
               Column("worst margin", "number")]
    rows = []
    for entry in payload["points"]:
        if "skipped" in entry:
            rows.append([entry["key"], "0", "—", "—", "—", "—", "skipped"])
            continue
        margins = [record["margin"] for record in payload["claims"]
                   if record["point"] == entry["point"] and isinstance(record["margin"], (int, float))]
        counts = entry["verdicts"]
        rows.append([entry["key"], str(sum(counts.values())), str(counts["pass"]), str(counts["fail"]),
                     str(counts["error"]), str(counts["inapplicable"]), f"{min(margins):.4g}" if margins else "—"])
    meta = payload["meta"]
    return format_table(columns, rows, width, title=f"sweep {meta['family']}: {meta['points']} grid points")


def _spec_after_ray(arguments: Any) -> None:
    """``sweep --ray SPEC.toml`` (the spec written after a bare ``--ray``): argparse hands the spec to ``--ray``
    as its address; a ``.toml`` there with no spec given is the spec, and Ray starts locally."""
    if arguments.spec is None and arguments.ray and str(arguments.ray).endswith(".toml"):
        arguments.spec, arguments.ray = arguments.ray, ""
    if arguments.spec is None:
        raise ValueError("a sweep spec is required: tiltproof sweep SPEC.toml [--ray [ADDRESS]]")


def _resumed_results(path: str | None, family: str, points: list[Point]) -> dict[int, list[dict[str, Any]]]:
    """Records of the file being resumed, by index of the point they belong to (complete points only)."""
    if not path:
        return {}
    from tiltproof.records_io import read_partial

    payload = read_partial(path)
    if payload["meta"].get("family") not in (None, family):
        raise ValueError(f"--resume: the file is a sweep of family {payload['meta'].get('family')!r}, not {family!r}")
    kept: dict[int, list[dict[str, Any]]] = {}
    index = {point_key(point): position for position, point in enumerate(points)}
    for record in payload["claims"]:
        position = index.get(point_key(record.get("point", {})))
        if position is not None:
            kept.setdefault(position, []).append(record)
    return {position: records for position, records in kept.items()
            if len(records) == len(point_claims(family, points[position]))}


def command_sweep(arguments: Any) -> int:
    """CLI handler: exit 0 when every claim passes, 1 on any fail/error, 2 for a bad spec or argument, 130 when
    interrupted. Claims whose hypotheses fail at a point are counted apart ("n/a"), not as errors."""
    from tiltproof.parallel import check_workers
    from tiltproof.records_io import ResultsWriter, write_atomically
    from tiltproof.runner import check_outputs, console as make_console, execute, interrupted, refuse, stdout_width

    console = make_console()
    output = arguments.json or getattr(arguments, "resume", None)
    try:
        _spec_after_ray(arguments)
        spec = load_spec(arguments.spec)
        workers = check_workers(arguments.workers)
        if arguments.ray is not None:
            import importlib.util

            if importlib.util.find_spec("ray") is None:
                raise ValueError("--ray needs Ray: pip install 'tiltproof[ray]' (or drop --ray for the local pool)")
        if not arguments.max_proposals > 0:
            raise ValueError(f"--max-proposals must be > 0, got {arguments.max_proposals!r}")
        check_outputs({"--json" if arguments.json else "--resume": output})
        points, skipped, alpha = plan_points(spec, arguments.max_proposals)
        kept = _resumed_results(getattr(arguments, "resume", None), spec.family, points)
    except ValueError as error:
        return refuse(str(error))
    for point, cost in skipped:
        console.print(f"skipped {point_key(point)}: {cost.describe()} > --max-proposals {arguments.max_proposals:g} "
                      "(raise --max-proposals to run it)", markup=False, highlight=False)
    if not points:
        return refuse(f"every grid point exceeds --max-proposals {arguments.max_proposals:g} (estimates above)")
    claims = sum(len(point_claims(spec.family, point)) for point in grid_points(spec))
    backend = "ray" if arguments.ray is not None else "process"
    started = time.perf_counter()
    meta = sweep_meta(spec, claims, len(points) + len(skipped), alpha, backend, workers,
                      max_proposals=arguments.max_proposals)
    results: dict[int, list[dict[str, Any]]] = dict(kept)
    writer = ResultsWriter(output, meta, [record for records in kept.values() for record in records]) if output else None
    todo = [index for index in range(len(points)) if index not in kept]
    jobs, fallback = sweep_jobs(spec, [points[index] for index in todo], alpha)

    def done(position: int, records: list[dict[str, Any]]) -> None:
        results[todo[position]] = records
        if writer is not None:
            for record in records:
                writer.add(record)

    try:
        if backend == "ray":
            _run_ray([job.args for job in jobs], fallback, done, address=arguments.ray or None, num_cpus=None,
                     timeout=spec.timeout_s)
        else:
            execute(jobs, workers=workers, fallback=fallback, on_done=done, label="grid points",
                    timeout=spec.timeout_s, describe=lambda position, records: point_key(points[todo[position]]))
    except KeyboardInterrupt:
        return interrupted("sweep", output, len(writer.records) if writer else 0)
    payload = sweep_payload(spec, points, results, {**meta, "seconds": time.perf_counter() - started}, skipped)
    console.print(_table(payload, stdout_width()), markup=False, highlight=False)
    for record in payload["claims"]:
        if record["verdict"] != "pass":
            label = "not applicable" if inapplicable(record) else record["verdict"]
            console.print(f"{label} {record['id']}: {record['message']}", markup=False, highlight=False)
    meta = payload["meta"]
    counts = meta["verdicts"]
    console.print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors, {counts['inapplicable']} "
                  f"not applicable (hypotheses fail), {len(skipped)} grid points skipped as infeasible — {claims} "
                  f"claims at α={alpha:.3g} each (α_total={meta['alpha_total']:.3g}), seed={meta['seed']}, "
                  f"backend={backend}, {meta['seconds']:.1f}s", highlight=False)
    if output:
        write_atomically(Path(output), json.dumps({**payload, "meta": {**payload["meta"], "complete": True}}, indent=2))
        console.print(f"wrote {output}")
    if arguments.report:
        from reports import build_report

        result = build_report(payload, arguments.report)
        console.print(result.message, markup=False, highlight=False)
        if result.engine and result.pdf is None:
            return 1
    return 0 if counts["fail"] == 0 and counts["error"] == 0 else 1
