"""``tiltproof check`` with the default workers against ``--workers 1``, side by side in one run.

Runs the full default check (all registered claims, seed 0, α_total 1e-6) as ``python -m tiltproof.cli
check`` twice per round — once with ``--workers 1`` (one process, today's behaviour) and once with the
default (one worker per core) — alternating which goes first, and reports each wall time, the ratio
(one process / workers) per round and its median, whether the two JSON files hold the same records
(bar ``seconds``), and the machine: CPU model, cores, and the load average before and after each run
(other jobs on a shared machine slow both runs, and the ratio less than the times).

Usage: ``python benchmarks/parallel_check.py [--rounds R] [--workers N] [--only REGEX] [--json FILE]``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    from tiltproof.stamp import _cpu_name

    return _cpu_name()


def load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def run_check(workers: int | None, only: str | None, output: Path) -> dict:
    command = [sys.executable, "-m", "tiltproof.cli", "check", "--json", str(output)]
    command += [] if workers is None else ["--workers", str(workers)]
    command += [] if only is None else ["--only", only]
    environment = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    before = load_average()
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=ROOT)
    wall = time.perf_counter() - start
    if completed.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} exited {completed.returncode}:\n{completed.stderr[-2000:]}")
    return {"workers": workers, "wall_s": wall, "exit": completed.returncode, "load_before": before,
            "load_after": load_average()}


def same_records(first: Path, second: Path) -> bool:
    def records(path: Path) -> list[dict]:
        return [{key: value for key, value in record.items() if key != "seconds"}
                for record in json.loads(path.read_text())["claims"]]

    return records(first) == records(second)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="pairs of runs (default 1)")
    parser.add_argument("--workers", type=int, default=None, help="workers of the parallel run (default: the cores)")
    parser.add_argument("--only", default=None, help="claim id regex (default: every registered claim)")
    parser.add_argument("--json", default=None, help="write the rows and the machine to FILE")
    arguments = parser.parse_args(argv)
    from tiltproof.parallel import default_workers

    rows, ratios = [], []
    with tempfile.TemporaryDirectory() as directory:
        for round_index in range(arguments.rounds):
            order = [1, arguments.workers] if round_index % 2 == 0 else [arguments.workers, 1]
            outputs, timed = {}, {}
            for workers in order:
                label = "one" if workers == 1 else "pool"
                outputs[label] = Path(directory) / f"{label}-{round_index}.json"
                timed[label] = run_check(workers, arguments.only, outputs[label])
            identical = same_records(outputs["one"], outputs["pool"])
            ratio = timed["one"]["wall_s"] / timed["pool"]["wall_s"]
            ratios.append(ratio)
            rows.append({"round": round_index, "one_process": timed["one"], "workers": timed["pool"],
                         "ratio": ratio, "identical_records": identical})
            print(f"round {round_index}: --workers 1 {timed['one']['wall_s']:.1f} s, "
                  f"--workers {arguments.workers or default_workers()} {timed['pool']['wall_s']:.1f} s, "
                  f"ratio {ratio:.2f}×, identical records: {identical}  "
                  f"(load {timed['one']['load_before']} / {timed['pool']['load_before']})")
    machine = {"cpu": cpu_model(), "cores": default_workers(), "python": platform.python_version(),
               "platform": platform.platform()}
    print(f"median ratio {statistics.median(ratios):.2f}× over {len(ratios)} round(s) on {machine['cpu']}, "
          f"{machine['cores']} cores")
    if arguments.json:
        Path(arguments.json).write_text(json.dumps({"machine": machine, "rounds": rows,
                                                    "median_ratio": statistics.median(ratios)}, indent=2))
    return 0 if all(row["identical_records"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
