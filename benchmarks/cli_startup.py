"""How fast the CLI answers without running a claim: ``--help``, bad arguments, an unwritable ``--json``.

Each case runs ``python -m tiltproof.cli ...`` in a fresh process ``--repeats`` times and prints the median and
the worst wall-clock time, with the machine it ran on. The target (issue 13) is under 1 s for every case:
the commands import torch, sympy and the theorem registry only after their arguments are checked. For
comparison, ``import tiltproof.core.registry`` alone (what every call used to pay) is timed too.

    python benchmarks/cli_startup.py [--repeats 5] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "--help": ["--help"],
    "check --help": ["check", "--help"],
    "check --alpha 3 (bad argument)": ["check", "--alpha", "3"],
    "check --device tpu (bad argument)": ["check", "--device", "tpu"],
    "check --json missing/r.json (unwritable)": ["check", "--json", "/nonexistent-folder/r.json"],
    "check --only '(' (bad regex)": ["check", "--only", "("],
}


def _time(command: list[str], repeats: int) -> list[float]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return times


def _machine() -> str:
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or platform.machine()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpu}, {os.cpu_count()} cores, load average {load:.1f}, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", metavar="FILE")
    arguments = parser.parse_args()
    rows = []
    cases = {name: [sys.executable, "-m", "tiltproof.cli", *argv] for name, argv in CASES.items()}
    cases["(reference) import tiltproof.core.registry"] = [sys.executable, "-c", "import tiltproof.core.registry"]
    for name, command in cases.items():
        times = _time(command, arguments.repeats)
        rows.append({"case": name, "median_s": statistics.median(times), "max_s": max(times)})
        print(f"{name:45s} median {rows[-1]['median_s']:.3f} s   max {rows[-1]['max_s']:.3f} s", flush=True)
    machine = _machine()
    print(f"machine: {machine}")
    cli_rows = [row for row in rows if not row["case"].startswith("(reference)")]
    print("all CLI cases under 1 s:", all(row["max_s"] < 1.0 for row in cli_rows))
    if arguments.json:
        Path(arguments.json).write_text(json.dumps({"machine": machine, "repeats": arguments.repeats, "rows": rows},
                                                   indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
