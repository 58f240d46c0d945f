"""Which registered claims' instances each theorem's proofs are evaluated on (issue 22: "every step's two sides
evaluated exactly on every registered instance of its theorem").

A claim's *registry key* is its id's segment after the claim name: ``t2.tv_exact/finite-k10/b=1.357`` →
``finite-k10``, ``l1a.exact/abs-linear-gauss-d5/lam=0.5`` → ``abs-linear-gauss-d5`` (the tractability claims'
``Claim.instance`` is a LaTeX description, their ids carry the slug). A proof instance reproduces the keys
``registry_keys(instance)`` (its name's first segment and its ``covers``). The pair (theorem, key) of a claim is
*covered* when a proof of that theorem has an instance with that key, or names the key in ``Proof.uncovered``
with a reason. Listing instances builds no payload (``LazyPayload``), so this check is cheap; evaluating the
steps there is ``check_proof``'s job (``tests/test_proof_coverage.py``).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

from tiltproof.proofs.model import Proof, registry_keys

__all__ = ["claim_key", "coverage", "coverage_gaps"]


def claim_key(claim: Any) -> str:
    """The registry key of a ``Claim`` (module docstring); a claim id without ``/`` falls back to its instance."""
    parts = claim.id.split("/")
    return parts[1] if len(parts) > 1 else claim.instance


def coverage(proofs: Sequence[Proof], claims: Sequence[Any]) -> dict[str, dict[str, list[str]]]:
    """theorem → registry key of its claims → the ids of the proofs evaluated there (``uncovered:…`` for a key a
    proof declares it leaves out, ``[]`` for a gap)."""
    keys: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for proof in proofs:
        for instance in proof.instances():
            for key in registry_keys(instance):
                keys[proof.theorem][key].add(proof.id)
        for key in proof.uncovered:
            keys[proof.theorem][key].add(f"uncovered:{proof.id}")
    table: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for claim in claims:
        key = claim_key(claim)
        table[claim.theorem][key] = sorted(keys.get(claim.theorem, {}).get(key, ()))
    return {theorem: dict(sorted(rows.items())) for theorem, rows in sorted(table.items())}


def coverage_gaps(proofs: Sequence[Proof], claims: Sequence[Any]) -> list[str]:
    """``"THEOREM KEY (claim ids)"`` for every registered (theorem, key) no proof of the theorem is evaluated on."""
    table = coverage(proofs, claims)
    gaps = []
    for theorem, rows in table.items():
        for key, proof_ids in rows.items():
            if not proof_ids:
                ids = sorted(claim.id for claim in claims if claim.theorem == theorem and claim_key(claim) == key)
                gaps.append(f"{theorem} {key} ({', '.join(ids)})")
    return gaps
