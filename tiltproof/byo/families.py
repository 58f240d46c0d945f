"""The bring-your-own family protocol: one declaration per family drives the CLI, the asserts and the exports.

A *family* is one kind of implementation a user brings (a single-step sampler, a chain sampler, a tilt oracle,
a KL aligner, a prox oracle). Its module in ``tiltproof.byo`` declares, at top level::

    FAMILY = Family(
        name="kl",                                    # tiltproof verify --family kl
        summary="a KL aligner's output law against q ∝ p·e^{r/λ}",
        check="check_kl_align",                       # the check function, defined in this module
        assertion="assert_kl_align",                  # its tiltproof.testing one-liner
        verify=verify_by_factory("kl"),               # how `tiltproof verify` calls the check
    )

and that one declaration is all a family needs:

* ``tiltproof verify --family NAME`` (``tiltproof.verify_command``) lists the registered names, adds each
  family's ``options`` to the parser, runs its ``validate`` before the user's target is imported and its
  ``verify(target, arguments)`` after;
* ``tiltproof.testing.<assertion>`` is ``check(...)`` wrapped by ``tiltproof.testing.assert_verified``;
* ``tiltproof.byo.<check>`` (and ``<extra exports>``) resolve to the module's functions.

Families are found by reading (not importing) the modules of ``tiltproof.byo`` for a top-level
``FAMILY = Family(...)`` whose fields other than ``verify`` and ``validate`` are literals: building the CLI
parser, listing the exports or the asserts imports nothing, and a family's module is imported only when its
check is asked for. Adding a family is adding one module.
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

__all__ = ["Option", "Family", "families", "family", "family_of_export", "family_of_assertion",
           "verify_by_factory"]


_TYPES: Mapping[str | None, Any] = {None: None, "float": float, "int": int, "str": str}


@dataclass(frozen=True)
class Option:
    """One command-line option of ``tiltproof verify`` that a family reads, written with literals only
    (``type`` by name: "float", "int", "str"), so the parser is built without importing the family's module."""

    flags: tuple[str, ...]
    type: str | None = None
    default: Any = None
    help: str = ""

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"type must be one of {sorted(name for name in _TYPES if name)}, got {self.type!r}")
        parser.add_argument(*self.flags, type=_TYPES[self.type], default=self.default, help=self.help)


@dataclass(frozen=True)
class Family:
    """A BYO family's declaration (module docstring). Every field but ``verify`` and ``validate`` is a literal, so
    the registry reads it from the module's source; ``module`` is filled in by the registry."""

    name: str
    summary: str
    check: str
    """The name of the check function in the declaring module; exported as ``tiltproof.byo.<check>``."""
    assertion: str
    """The name of its one-line assert in ``tiltproof.testing``."""
    verify: Callable[[Any, argparse.Namespace], Any] | None = None
    """``verify(target, arguments) -> VerificationRecord``: the check as ``tiltproof verify`` runs it."""
    options: tuple[Option, ...] = ()
    validate: Callable[[argparse.Namespace], None] | None = None
    """Raises ``ValueError`` naming the option for bad arguments, before the user's target is imported."""
    exports: tuple[str, ...] = ()
    """Further public names of the declaring module, exported as ``tiltproof.byo.<name>``."""
    module: str = ""

    def declared(self) -> "Family":
        """The declaration as its module builds it (imports the module), with ``verify`` and ``validate``."""
        declared = getattr(importlib.import_module(self.module), "FAMILY")
        if not isinstance(declared, Family) or declared.name != self.name:
            raise ValueError(f"{self.module}.FAMILY must be the Family {self.name!r} its source declares")
        return dataclasses.replace(declared, module=self.module)

    def check_function(self) -> Callable[..., Any]:
        return getattr(importlib.import_module(self.module), self.check)

    def export(self, name: str) -> Any:
        if name not in (self.check, *self.exports):
            raise AttributeError(f"family {self.name!r} exports no {name!r}")
        return getattr(importlib.import_module(self.module), name)

    def run(self, target: Any, arguments: argparse.Namespace) -> Any:
        """``tiltproof verify``'s record: the declared ``verify`` on the resolved target."""
        declared = self.declared()
        if declared.verify is None:
            raise ValueError(f"family {self.name!r} declares no verify: it has no `tiltproof verify` form")
        return declared.verify(target, arguments)

    def check_arguments(self, arguments: argparse.Namespace) -> None:
        """The declared ``validate`` (if any), run before the user's target is imported."""
        validate = self.declared().validate
        if validate is not None:
            validate(arguments)


_LITERAL_FIELDS = {"name", "summary", "check", "assertion", "options", "exports"}


def _literal(node: ast.expr, where: str) -> Any:
    """A literal, or a tuple of ``Option(...)`` calls with literal arguments."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Option":
        return Option(*[_literal(item, where) for item in node.args],
                      **{keyword.arg: _literal(keyword.value, where) for keyword in node.keywords})
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_literal(item, where) for item in node.elts)
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise ValueError(f"{where}: FAMILY's {', '.join(sorted(_LITERAL_FIELDS))} must be written as literals "
                         f"(and Option(...) calls), got {ast.unparse(node)!r}") from None


def _read_declaration(path: Path, module: str | None = None) -> Family | None:
    """The ``FAMILY = Family(...)`` a module of ``tiltproof.byo`` declares at top level, read from its source (its
    ``verify`` and ``validate`` left to ``Family.declared``); None if it declares none."""
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if (isinstance(node, ast.Assign) and any(isinstance(target, ast.Name) and target.id == "FAMILY"
                                                 for target in node.targets)):
            call = node.value
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Family"):
                raise ValueError(f"{path.name}: FAMILY must be assigned a Family(...) call")
            fields = {keyword.arg: _literal(keyword.value, path.name) for keyword in call.keywords
                      if keyword.arg in _LITERAL_FIELDS}
            return Family(**fields, module=module or f"tiltproof.byo.{path.stem}")
    return None


@functools.lru_cache(maxsize=None)
def families() -> tuple[Family, ...]:
    """Every registered family (read from source, nothing imported); raises ``ValueError`` on a clash."""
    found = [declaration for path in sorted(Path(__file__).parent.glob("*.py"))
             if not path.stem.startswith("_") and path.stem != "families"
             for declaration in [_read_declaration(path)] if declaration is not None]
    for attribute in ("name", "check", "assertion"):
        values = [getattr(entry, attribute) for entry in found]
        clashes = sorted({value for value in values if values.count(value) > 1})
        if clashes:
            raise ValueError(f"two BYO families declare the same {attribute}: {', '.join(clashes)}")
    return tuple(sorted(found, key=lambda entry: _ORDER.get(entry.name, len(_ORDER))))


_ORDER = {"single": 0, "chain": 1, "tilt": 2, "kl": 3, "prox": 4}
"""The order the CLI and the docs list the built-in families in (new families follow, by module name)."""


def family(name: str) -> Family:
    """The family called ``name``; ``ValueError`` naming the registered ones otherwise."""
    for entry in families():
        if entry.name == name:
            return entry
    raise ValueError(f"--family must be one of {', '.join(entry.name for entry in families())}, got {name!r}")


def family_of_export(name: str) -> Family | None:
    """The family whose module exports ``name`` as ``tiltproof.byo.<name>``, or None."""
    return next((entry for entry in families() if name in (entry.check, *entry.exports)), None)


def family_of_assertion(name: str) -> Family | None:
    """The family whose ``tiltproof.testing`` assert is called ``name``, or None."""
    return next((entry for entry in families() if entry.assertion == name), None)


def verify_by_factory(name: str) -> Callable[[Any, argparse.Namespace], Any]:
    """``tiltproof verify`` for a tractability family (``tilt``, ``kl``, ``prox``).

    With ``--instance NAME`` the target is a factory that receives the instance's fields by keyword
    (``tiltproof.instances.tractability.check_tractability``); without, it is a zero-argument function returning
    the check's keyword arguments (the implementation and the exactly computable instance it runs on)."""

    def verify(target: Any, arguments: argparse.Namespace) -> Any:
        if arguments.instance:
            from tiltproof.instances.tractability import check_tractability

            return check_tractability(name, target, instance=arguments.instance, alpha=arguments.alpha,
                                      seed=arguments.seed)
        check = family(name).check_function()
        if not callable(target):
            raise ValueError(f"target: for --family {name}, MODULE:CALLABLE must be a function returning the check's "
                             "keyword arguments")
        keywords = target()
        if not isinstance(keywords, dict):
            raise ValueError(f"target: for --family {name}, the function must return a dict of keyword arguments "
                             f"for {check.__name__}, got {type(keywords).__name__}")
        common = {"alpha": arguments.alpha, "seed": arguments.seed}
        return check(**{**{key: value for key, value in common.items() if key not in keywords}, **keywords})

    return verify
