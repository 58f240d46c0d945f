"""Where theorem packages come from, besides the built-in ``theorems`` folder (no heavy import here).

A theorem package is a module that defines ``claims() -> list[Claim]`` and optionally
``mutants() -> list[Mutant]`` (``tiltproof.api`` has what it needs). It is found three ways:

* an installed distribution declares an entry point in the group ``tiltproof.theorems``
  (``[project.entry-points."tiltproof.theorems"] my_theorem = "my_pkg.claims"``);
* the user names it: ``tiltproof check --theorems my_pkg.claims`` (repeatable, also on ``list``,
  ``mutants``, ``report`` and ``pytest --claims``);
* the ``pyproject.toml`` of the current directory lists it: ``[tool.tiltproof] theorems = ["my_pkg.claims"]``.

A module the user named (flag or pyproject) that fails to import is an argument error (exit 2 before any
claim runs); an entry point that fails is reported as one ``error`` line naming it, and the other claims
still run. ``use_theorems`` passes the named modules to worker processes through ``TILTPROOF_THEOREMS``.
"""
from __future__ import annotations

import argparse
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ENTRY_POINT_GROUP", "ENVIRONMENT_VARIABLE", "TheoremSource", "add_theorems_option", "use_theorems",
           "requested_sources", "entry_point_sources"]

ENTRY_POINT_GROUP = "tiltproof.theorems"
ENVIRONMENT_VARIABLE = "TILTPROOF_THEOREMS"


@dataclass(frozen=True)
class TheoremSource:
    """One theorem module outside ``theorems/``: its import path, where it was named, and whether a failure
    is the user's argument error (``required``) or a broken installed package to report and skip."""

    module: str
    origin: str
    required: bool

    def describe(self) -> str:
        return f"{self.origin} {self.module!r}"


def add_theorems_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--theorems", action="append", default=None, metavar="MODULE",
                        help="also register the claims of MODULE (a theorem package: a module with claims() and "
                             "optionally mutants()); repeatable. Installed packages with a 'tiltproof.theorems' entry "
                             "point and [tool.tiltproof] theorems in ./pyproject.toml are registered too")


def _pyproject_modules(directory: Path) -> list[str]:
    path = directory / "pyproject.toml"
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"{path}: cannot read [tool.tiltproof]: {error}") from None
    names = data.get("tool", {}).get("tiltproof", {}).get("theorems", [])
    if not isinstance(names, list) or not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"{path}: [tool.tiltproof] theorems must be a list of module names, got {names!r}")
    return names


def _check_name(name: str, origin: str) -> None:
    if not all(part.isidentifier() for part in name.split(".")):
        raise ValueError(f"{origin} {name!r}: not a module name (a dotted Python import path such as my_pkg.claims)")


def use_theorems(modules: list[str] | None) -> None:
    """Record the ``--theorems`` modules for this process and its workers (``ValueError`` naming a bad one)."""
    names = list(modules or [])
    for name in names:
        _check_name(name, "--theorems")
    if names:
        os.environ[ENVIRONMENT_VARIABLE] = ",".join(names)
    else:
        os.environ.pop(ENVIRONMENT_VARIABLE, None)


def requested_sources(directory: str | os.PathLike | None = None) -> list[TheoremSource]:
    """The modules the user named: ``--theorems`` (via ``TILTPROOF_THEOREMS``), then ``./pyproject.toml``."""
    sources: list[TheoremSource] = []
    for name in filter(None, os.environ.get(ENVIRONMENT_VARIABLE, "").split(",")):
        _check_name(name.strip(), "--theorems")
        sources.append(TheoremSource(name.strip(), "--theorems", True))
    for name in _pyproject_modules(Path(directory) if directory is not None else Path.cwd()):
        _check_name(name, "pyproject.toml [tool.tiltproof] theorems")
        sources.append(TheoremSource(name, "pyproject.toml [tool.tiltproof] theorems", True))
    seen: set[str] = set()
    return [source for source in sources if not (source.module in seen or seen.add(source.module))]


def entry_point_sources() -> list[TheoremSource]:
    """Installed packages' entry points in the group ``tiltproof.theorems``, sorted by name."""
    from importlib.metadata import entry_points

    found = []
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda point: point.name):
        distribution = getattr(point, "dist", None)
        owner = f" of {distribution.name}" if distribution is not None else ""
        found.append(TheoremSource(point.value.split(":", 1)[0].strip(), f"entry point {point.name!r}{owner}", False))
    return found
