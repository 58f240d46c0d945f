"""Generic lemmas as proofs (cited by theorem proofs through ``Step.cites``): none yet beyond the hook.

A lemma is a ``Proof`` with ``lemma=True``; its id is what a citing step puts in ``cites``.
"""
from __future__ import annotations

from tiltproof.proofs.model import Proof

__all__ = ["proofs"]


def proofs() -> list[Proof]:
    return []
