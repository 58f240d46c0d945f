"""Compare the verdicts of two ``tiltproof check --json`` files claim by claim (e.g. CPU against CUDA).

``python benchmarks/compare_checks.py CPU.json CUDA.json`` prints the counts of each file's verdicts, every
claim whose verdict differs or that only one file has, and, for claims with an ``error`` verdict, the
first line of the error. Exits 1 if any verdict differs (or a claim is missing), 0 otherwise. Issue 12
asks for "the same verdicts as on the CPU" under ``--device cuda``; this is that comparison.

``--figures`` compares each claim's whole record field by field (figures, messages, details, seeds, …), apart
from the timing fields (``TIMING_FIELDS``), and exits 1 if any differs: a refactoring that must change no record
(issue 21) is checked with ``python benchmarks/compare_checks.py --figures BEFORE.json AFTER.json``. Floats are
compared exactly: the same seed on the same device draws the same samples.
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


TIMING_FIELDS = frozenset({"seconds"})
"""Record fields that measure the run, not the claim: left out of ``--figures``."""


def field_differences(left: dict[str, dict], right: dict[str, dict]) -> list[tuple[str, str, object, object]]:
    """``(claim id, field path, left value, right value)`` for every differing field of the claims both files
    hold, recursing into mappings and lists (``details.per_step[3].t``), timing fields left out."""
    out: list[tuple[str, str, object, object]] = []

    def walk(claim: str, path: str, a: object, b: object) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                if not path and key in TIMING_FIELDS:
                    continue
                walk(claim, f"{path}.{key}" if path else str(key), a.get(key, "—"), b.get(key, "—"))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for index, (x, y) in enumerate(zip(a, b)):
                walk(claim, f"{path}[{index}]", x, y)
        elif a != b or type(a) is not type(b):
            out.append((claim, path, a, b))

    for claim in sorted(set(left) & set(right)):
        walk(claim, "", left[claim], right[claim])
    return out


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
    parser.add_argument("--figures", action="store_true",
                        help="also compare every field of each record (timing fields apart)")
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
    if not args.figures:
        return 1 if diff else 0
    fields = field_differences(left, right)
    for claim, path, a, b in fields:
        print(f"  field differs: {claim}: {path}: {a!r} vs {b!r}")
    print(f"{len(fields)} fields differ in {len({claim for claim, *_ in fields})} claims "
          f"(every field but {', '.join(sorted(TIMING_FIELDS))})")
    return 1 if diff or fields else 0


if __name__ == "__main__":
    sys.exit(main())
