r"""What a report's first page and its wrong-variants section say (plain data; build.py typesets it).

* ``tightest_margin(records)``: the claim closest to failing, by margin relative to its bound
  (``margin / max(|bound|, 1e-12)``). Claims decided by an exact value alone have a margin equal to their
  numerical tolerance (≈ 1e-9 relative), which says nothing about closeness, so the tightest margin is taken
  over the claims with a statistical side (an empirical value) when there are any.
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

__all__ = ["relative_margin", "tightest_margin", "weakest_detectable_gap", "load_mutants", "registered_variants",
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


def tightest_margin(records: list[dict]) -> tuple[float, dict] | None:
    """(relative margin, record) of the claim closest to (or furthest beyond) its rejection threshold."""
    scored = [(relative_margin(r), r) for r in records if r.get("verdict") != "error"]
    scored = [(value, r) for value, r in scored if value is not None]
    statistical = [(value, r) for value, r in scored if r.get("empirical") is not None]
    pool = statistical or scored
    return min(pool, key=lambda item: item[0]) if pool else None


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
