"""Discovers theorem modules: every module of the ``theorems`` package with a ``claims()`` function.

Adding a theorem is adding one module that defines ``claims() -> list[Claim]`` (and, for its wrong
variants, ``mutants() -> list[Mutant]``); nothing here changes.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from types import ModuleType

import theorems
from tiltproof.core.framework import Claim, Mutant

__all__ = ["theorem_modules", "all_claims", "all_mutants", "select_claims"]

_INFRASTRUCTURE = {"framework", "registry", "instances", "symbols", "suite", "mutants", "byos", "verification",
                   "verify_chain", "verify_chain_reference", "verify_kl_align", "verify_prox", "verify_tilt_oracle",
                   "verify_tractability", "tractability_instances"}


def theorem_modules() -> list[ModuleType]:
    modules = []
    for info in sorted(pkgutil.iter_modules(theorems.__path__), key=lambda item: item.name):
        if info.name.startswith("_") or info.name in _INFRASTRUCTURE:
            continue
        module = importlib.import_module(f"theorems.{info.name}")
        if callable(getattr(module, "claims", None)):
            modules.append(module)
    return modules


def all_claims() -> list[Claim]:
    """Every registered claim, in module order; claim ids must be unique."""
    claims: list[Claim] = []
    for module in theorem_modules():
        claims.extend(module.claims())
    seen: set[str] = set()
    duplicates = {claim.id for claim in claims if claim.id in seen or seen.add(claim.id)}
    if duplicates:
        raise ValueError(f"duplicate claim ids: {sorted(duplicates)}")
    return claims


def select_claims(claims: list[Claim], pattern: str | None) -> list[Claim]:
    """Claims whose id matches the regular expression ``pattern`` (``re.search``)."""
    if not pattern:
        return list(claims)
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise ValueError(f"--only must be a valid regular expression: {error}") from None
    return [claim for claim in claims if compiled.search(claim.id)]


def all_mutants() -> list[Mutant]:
    """Every deliberately wrong variant: ``tiltproof.core.mutants`` plus each theorem module's ``mutants()``."""
    from tiltproof.core import mutants as single_step

    found = list(single_step.mutants())
    for module in theorem_modules():
        if callable(getattr(module, "mutants", None)):
            found.extend(module.mutants())
    return found
