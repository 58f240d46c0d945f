"""Discovers theorem modules: every module of the ``theorems`` folder (which holds nothing else), then the
theorem packages from outside (``tiltproof.plugins``: entry points in the group ``tiltproof.theorems``,
``--theorems MODULE``, ``[tool.tiltproof] theorems`` in ./pyproject.toml).

Adding a theorem is adding one module that defines ``claims() -> list[Claim]`` (and, for its wrong
variants, ``mutants() -> list[Mutant]``), in ``theorems/`` or in a package of its own; nothing here changes.

Errors name the package: a module the user named that does not import, whose ``claims()`` raises, or whose
claim ids are already registered raises ``TheoremPackageError`` (the CLI's exit 2); an entry point that
fails the same way is skipped and its one-line message kept in ``load_problems()``, so the built-in claims
still run.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass, field
from types import ModuleType

import theorems
from tiltproof.core.framework import Claim, Mutant
from tiltproof.plugins import TheoremSource, entry_point_sources, requested_sources

__all__ = ["theorem_modules", "package_modules", "all_claims", "all_mutants", "select_claims", "load_problems", "TheoremPackageError",
           "loaded_packages"]


class TheoremPackageError(ValueError):
    """A theorem package the user named cannot be registered (the message names it and says why)."""


def theorem_modules() -> list[ModuleType]:
    """The built-in theorem modules: every module of ``theorems/``, each of which must define ``claims()``."""
    modules = []
    for info in sorted(pkgutil.iter_modules(theorems.__path__), key=lambda item: item.name):
        if info.ispkg:  # theorems/proofs: the modules' proofs as data, not theorem modules
            continue
        module = importlib.import_module(f"theorems.{info.name}")
        if not callable(getattr(module, "claims", None)):
            raise ValueError(f"theorems/{info.name}.py defines no claims(): theorems/ holds only theorem modules "
                             "(helpers go to tiltproof/core, estimators/ or primitives/)")
        modules.append(module)
    return modules


@dataclass
class _Loaded:
    modules: list[tuple[TheoremSource | None, ModuleType]] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


_CACHE: dict[tuple, _Loaded] = {}


def _load_package(source: TheoremSource, owners: dict[str, str]) -> tuple[ModuleType, list[Claim]]:
    """Import one outside theorem module and build its claims; ``TheoremPackageError`` naming it on failure."""
    try:
        module = importlib.import_module(source.module)
    except Exception as error:  # noqa: BLE001 - any failure of a user's module is reported, not a crash
        raise TheoremPackageError(f"{source.describe()}: cannot import it: {type(error).__name__}: {error}") from None
    if not callable(getattr(module, "claims", None)):
        raise TheoremPackageError(f"{source.describe()}: the module defines no claims() function")
    try:
        claims = list(module.claims())
    except Exception as error:  # noqa: BLE001
        raise TheoremPackageError(f"{source.describe()}: claims() raised {type(error).__name__}: {error}") from None
    if not all(isinstance(claim, Claim) for claim in claims):
        raise TheoremPackageError(f"{source.describe()}: claims() must return tiltproof.api.Claim objects")
    ids = [claim.id for claim in claims]
    clashes = sorted({claim_id for claim_id in ids if claim_id in owners} |
                     {claim_id for claim_id in ids if ids.count(claim_id) > 1})
    if clashes:
        where = ", ".join(f"{claim_id!r} ({owners.get(claim_id, 'twice in ' + source.module)})"
                          for claim_id in clashes[:3])
        raise TheoremPackageError(f"{source.describe()}: claim ids already registered: {where}"
                                  + (f" and {len(clashes) - 3} more" if len(clashes) > 3 else ""))
    return module, claims


def _load() -> _Loaded:
    """Built-in modules, then entry points, then the modules the user named; memoized per set of sources."""
    external = entry_point_sources() + [source for source in requested_sources()]
    key = tuple(external)
    if key in _CACHE:
        return _CACHE[key]
    loaded = _Loaded()
    for module in theorem_modules():
        loaded.modules.append((None, module))
        loaded.claims.extend(module.claims())
    seen: set[str] = set()
    duplicates = {claim.id for claim in loaded.claims if claim.id in seen or seen.add(claim.id)}
    if duplicates:
        raise ValueError(f"duplicate claim ids: {sorted(duplicates)}")
    owners = {claim.id: f"built-in theorems.{claim.module}" for claim in loaded.claims}
    named = {source.module for source in external if source.required}
    for source in external:
        if not source.required and source.module in named:
            continue  # installed and also named: registered once, as the user named it
        try:
            module, claims = _load_package(source, owners)
        except TheoremPackageError as error:
            if source.required:
                raise
            loaded.problems.append(str(error))
            continue
        loaded.modules.append((source, module))
        loaded.claims.extend(claims)
        owners.update((claim.id, source.describe()) for claim in claims)
    _CACHE[key] = loaded
    return loaded


def all_claims() -> list[Claim]:
    """Every registered claim, in module order (built-in, then outside packages); claim ids are unique."""
    return list(_load().claims)


def package_modules() -> list[ModuleType]:
    """The outside theorem packages' modules registered in this process, in order (their ``proofs()`` too)."""
    return [module for source, module in _load().modules if source is not None]


def load_problems() -> list[str]:
    """One line per installed theorem package (entry point) that could not be registered and was skipped."""
    return list(_load().problems)


def loaded_packages() -> list[TheoremSource]:
    """The outside theorem packages registered in this process, in order."""
    return [source for source, _ in _load().modules if source is not None]


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
    for source, module in _load().modules:
        if callable(getattr(module, "mutants", None)):
            try:
                found.extend(module.mutants())
            except Exception as error:  # noqa: BLE001 - a package's broken mutants() names the package
                if source is None:
                    raise
                raise TheoremPackageError(f"{source.describe()}: mutants() raised {type(error).__name__}: "
                                          f"{error}") from None
    return found
