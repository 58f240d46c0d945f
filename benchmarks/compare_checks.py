"""Compare the verdicts of two ``tiltproof check --json`` files claim by claim (e.g. CPU against CUDA).

``python benchmarks/compare_checks.py CPU.json CUDA.json`` prints the counts of each file's verdicts, every
claim whose verdict differs or that only one file has, and, for claims with an ``error`` verdict, the
first line of the error. Exits 1 if any verdict differs (or a claim is missing), 0 otherwise. Issue 12
asks for "the same verdicts as on the CPU" under ``--device cuda``; this is that comparison.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path


def verdicts(path: Path) -> dict[str, dict]:
    """``claim id -> record`` of a check JSON (complete or partial)."""
    data = json.loads(path.read_text())
    return {record["id"]: record for record in data["claims"]}


def differences(left: dict[str, dict], right: dict[str, dict]) -> list[tuple[str, str, str]]:
    """``(claim id, left verdict, right verdict)`` for every claim whose verdicts differ; '—' where absent."""
    out = []
    for claim in sorted(set(left) | set(right)):
        a = left.get(claim, {}).get("verdict", "—")
        b = right.get(claim, {}).get("verdict", "—")
        if a != b:
            out.append((claim, a, b))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("left", type=Path)
    parser.add_argument("right", type=Path)
    args = parser.parse_args(argv)
    left, right = verdicts(args.left), verdicts(args.right)
    print(f"{args.left}: {len(left)} claims {dict(Counter(r['verdict'] for r in left.values()))}")
    print(f"{args.right}: {len(right)} claims {dict(Counter(r['verdict'] for r in right.values()))}")
    for name, records in ((args.left, left), (args.right, right)):
        for claim, record in sorted(records.items()):
            if record["verdict"] == "error":
                message = str(record.get("message") or "").splitlines()
                print(f"  error in {name.name}: {claim}: {message[0] if message else ''}")
    diff = differences(left, right)
    for claim, a, b in diff:
        print(f"  differs: {claim}: {a} vs {b}")
    print(f"{len(diff)} claims differ")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
