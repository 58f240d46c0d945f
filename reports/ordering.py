"""The order of theorems in the report: T1 < T2 < … < T10 < other names (alphabetical).

Its own module because both the report (``reports.build``) and the proof appendix (``reports.proofs``) sort by
it, and ``reports.build`` imports ``reports.proofs``: inside either, the other would import it back.
"""
from __future__ import annotations

import re

__all__ = ["theorem_key"]


def theorem_key(name: str) -> tuple:
    """Sort key: ``(0, k, "")`` for a theorem named ``Tk`` (any case), ``(1, 0, name)`` for any other name."""
    match = re.fullmatch(r"[Tt](\d+)", name)
    return (0, int(match.group(1)), "") if match else (1, 0, name)
