"""Bring your own implementation: each check returns a ``VerificationRecord`` (pass / fail / uncertified /
error, every statistic with its power). One check per BYO family (``tiltproof.byo.families``):

* ``check_sampler``: a single-step rejection sampler (T1–T3);
* ``check_chain_sampler``: a diffusion-chain sampler on a registered chain (T1/T4/T7), and
  ``check_chain_sampler_on_kernel``: one on your own kernel, against trajectory rejection;
* ``check_tilt_oracle``, ``check_kl_align``, ``check_prox``: the tractability primitives
  (``tiltproof.byo.tractability``).

The names are the families' exports, resolved on first use (PEP 562), so importing one submodule
(``tiltproof.byo.verification``) does not import every check, and the instance registries may import the
checks without a cycle.
"""
from __future__ import annotations

import importlib
from typing import Any

_HOMES = {"VerificationRecord": "verification"}
"""Public names that are not a family's export."""


def _exports() -> list[str]:
    from tiltproof.byo.families import families

    return [name for family in families() for name in (family.check, *family.exports)]


def __getattr__(name: str) -> Any:
    if name == "__all__":
        return [*_exports(), *_HOMES]
    if name in _HOMES:
        return getattr(importlib.import_module(f"tiltproof.byo.{_HOMES[name]}"), name)
    if not name.startswith("_"):
        from tiltproof.byo.families import family_of_export

        family = family_of_export(name)
        if family is not None:
            return family.export(name)
    raise AttributeError(f"module 'tiltproof.byo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_exports()) | set(_HOMES))
