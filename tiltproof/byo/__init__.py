"""Bring your own implementation: each check returns a ``VerificationRecord`` (pass / fail / uncertified /
error, every statistic with its power):

* ``check_sampler``: a single-step rejection sampler (T1–T3);
* ``check_chain_sampler``: a diffusion-chain sampler (T1/T4/T7), on a registered chain or on your own kernel;
* ``check_tilt_oracle``, ``check_kl_align``, ``check_prox``: the tractability primitives
  (``tiltproof.byo.tractability``).

The names are resolved on first use (PEP 562), so importing one submodule (``tiltproof.byo.verification``)
does not import every check, and the instance registries may import the checks without a cycle.
"""
from __future__ import annotations

import importlib
from typing import Any

_HOMES = {"SamplerCheck": "byos", "check_sampler": "byos", "check_chain_sampler": "chain",
          "check_tilt_oracle": "tilt_oracle", "check_kl_align": "kl_align", "check_prox": "prox",
          "VerificationRecord": "verification"}

__all__ = ["SamplerCheck", "VerificationRecord", "check_sampler", "check_chain_sampler", "check_tilt_oracle",
           "check_kl_align", "check_prox"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'tiltproof.byo' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tiltproof.byo.{_HOMES[name]}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
