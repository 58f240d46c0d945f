r"""What a report's first page and its wrong-variants section say (plain data; build.py typesets it).

* ``tightest_margin(records)``: the sampled claim closest to failing, by the margin of its *sampled* side
  relative to its bound (``sampled_margin / |bound|``). A record's ``margin`` is the smaller of its exact side's
  and its sampled side's; an exact value on its bound has a margin equal to its numerical tolerance (≈ 1e-9,
  or 1e-16 for a bound that is 0 up to rounding), which says nothing about how close a test came to
  rejecting. So the summary recomputes the sampled side's margin from the record's confidence bound (``≤``:
  ``bound − CB``; ``≥``: ``CB − bound``; ``=``: the distance from the claimed value to the nearer end of
  ``details.interval``) and takes the minimum over the records that have one and a bound ≠ 0 (a margin
  relative to a zero bound is undefined; such a claim's closeness is its detectable gap). Claims decided by
  exact values alone are not in it.
* ``weakest_detectable_gap(records)``: the largest ``detectable_gap`` of a group — the biggest violation its
  checks could miss with probability > β — with its units (``detectable_gap_units`` when a record states them).
* ``load_mutants(path)`` reads a ``tiltproof mutants --json`` file (the kill matrix);
  ``registered_variants()`` lists ``tiltproof.core.registry.all_mutants()`` when no such file is given.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["relative_margin", "sampled_margin", "tightest_margin", "weakest_detectable_gap", "load_mutants", "registered_variants",
           "MUTANT_VERDICTS"]

MUTANT_VERDICTS = ("pass", "fail", "error")


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def relative_margin(record: dict) -> float | None:
    """``margin / |bound|`` (the margin itself where the bound is 0); None without both."""
    margin, bound = _finite(record.get("margin")), _finite(record.get("bound"))
    if margin is None or bound is None:
        return None
    return margin / (abs(bound) if abs(bound) > 1e-12 else 1.0)


#: a bound at most this far from 0 is 0 up to rounding: no margin is relative to it
ZERO_BOUND = 1e-12


def sampled_margin(record: dict) -> float | None:
    """The margin of the record's sampled side alone (signed: ≥ 0 where the sampled test does not reject),
    from its confidence bound and bound; None for a record without a sampled side (exact values only)."""
    bound, relation = _finite(record.get("bound")), record.get("relation", "≤")
    if bound is None:
        return None
    if relation == "=":
        interval = (record.get("details") or {}).get("interval") if isinstance(record.get("details"), dict) else None
        if not isinstance(interval, (list, tuple)) or len(interval) != 2:
            return None
        low, high = _finite(interval[0]), _finite(interval[1])
        return None if low is None or high is None else min(bound - low, high - bound)
    confidence = _finite(record.get("confidence_bound"))
    if confidence is None or relation not in ("≤", "≥"):
        return None
    return bound - confidence if relation == "≤" else confidence - bound


def tightest_margin(records: list[dict]) -> tuple[float, dict] | None:
    """(relative sampled margin, record) of the sampled claim closest to (or furthest beyond) rejection:
    ``sampled_margin / |bound|`` over the records with a sampled side and a bound ≠ 0; None if there are none."""
    scored = []
    for record in records:
        margin, bound = sampled_margin(record), _finite(record.get("bound"))
        if record.get("verdict") != "error" and margin is not None and bound is not None and abs(bound) > ZERO_BOUND:
            scored.append((margin / abs(bound), record))
    return min(scored, key=lambda item: item[0]) if scored else None


def weakest_detectable_gap(records: list[dict]) -> tuple[float, dict] | None:
    """(detectable gap, record) with the largest gap: the group's weakest power."""
    scored = [(_finite(r.get("detectable_gap")), r) for r in records if r.get("verdict") != "error"]
    scored = [(value, r) for value, r in scored if value is not None]
    return max(scored, key=lambda item: item[0]) if scored else None


def load_mutants(path: str | Path) -> dict[str, Any]:
    """A ``tiltproof mutants --json`` file: ``{"meta": {...}, "mutants": [{"id", "claim", "theorem",
    "what_is_wrong", "verdict", "killed", ...}]}``; ``ValueError`` naming ``mutants`` otherwise."""
    source = Path(path)
    try:
        payload = json.loads(source.read_text())
    except FileNotFoundError:
        raise ValueError(f"mutants: no such file {str(source)!r}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"mutants: {str(source)!r} is not JSON ({error})") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("mutants"), list):
        raise ValueError("mutants must be an object {'meta': {...}, 'mutants': [...]}")
    for position, row in enumerate(payload["mutants"]):
        if not isinstance(row, dict) or not {"id", "theorem", "verdict"} <= set(row):
            raise ValueError(f"mutants: entry #{position} lacks id, theorem or verdict")
        if row["verdict"] not in MUTANT_VERDICTS:
            raise ValueError(f"mutants: {row['id']!r} has verdict {row['verdict']!r}, not pass/fail/error")
        row.setdefault("killed", row["verdict"] == "fail")
        row.setdefault("claim", str(row["id"]).split("#", 1)[0])
    payload.setdefault("meta", {})
    return payload


def registered_variants() -> list[dict[str, str]]:
    """The wrong variants registered in this checkout: name, theorem, what is wrong, the claim it perturbs."""
    from tiltproof.core.registry import all_mutants

    return [{"name": m.name, "theorem": m.theorem, "what_is_wrong": m.what_is_wrong, "id": m.claim.id,
             "claim": m.claim.id.split("#", 1)[0]} for m in all_mutants()]
