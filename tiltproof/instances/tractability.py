"""Named instances for the tractability checks, so a command line or CI job can say ``--instance NAME``.

``check_tractability(family, factory, instance=NAME)`` builds the named instance and hands its fields to
``factory`` by keyword, which returns the implementation to check:

* ``family="tilt"``: ``factory(base=…)`` → a linear-tilt oracle for that base;
* ``family="kl"``: ``factory(base=…, reward=…, lam=…)`` → ``sampler(n, generator)``;
* ``family="prox"``: ``factory(reward=…, lam=…, cost=…)`` → ``prox_fn(x)``.

The instances have exactly computable truths (``tiltproof.byo.tilt_oracle``, ``…kl_align``,
``…prox``); ``tractability_instance(family, name)`` returns the fields and ``TRACTABILITY_INSTANCES``
lists the names. Remaining keyword options go to the check (``alpha``, ``seed``, ``budget``, …).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from primitives.laws import Categorical, Gaussian, GaussianMixture
from primitives.planes import MaxOfPlanes, SquaredNormReward
from primitives.prox import ConcaveQuadratic
from primitives.rewards import LinearReward
from tiltproof.byo.verification import VerificationRecord
from tiltproof.byo.kl_align import check_kl_align
from tiltproof.byo.prox import check_prox
from tiltproof.byo.tilt_oracle import check_tilt_oracle

__all__ = ["TRACTABILITY_INSTANCES", "tractability_instance", "check_tractability"]


def _gaussian() -> Gaussian:
    return Gaussian([0.5, -1.0], [[1.0, 0.3], [0.3, 0.5]])


def _mixture() -> GaussianMixture:
    return GaussianMixture([0.6, 0.4], [[-1.0, 0.0], [1.5, 1.0]], [np.eye(2) * 0.5, [[1.0, 0.2], [0.2, 0.7]]])


def _finite() -> Categorical:
    return Categorical([0.1, 0.2, 0.3, 0.25, 0.15])


_BUILDERS: dict[str, dict[str, Callable[[], dict[str, Any]]]] = {
    "tilt": {
        "gauss-d2": lambda: {"base": _gaussian(), "thetas": [[0.8, -0.5], [0.0, 0.0], [-0.4, 1.0]]},
        "gmm-d2": lambda: {"base": _mixture(), "thetas": [[0.8, -0.5], [-0.4, 1.0]]},
        "categorical-k5": lambda: {"base": _finite(), "thetas": [[0.7], [-0.5]]},
    },
    "kl": {
        "abs-gauss-d2": lambda: {"base": Gaussian([0.3, -0.2], [[1.0, 0.3], [0.3, 0.8]]),
                                 "reward": MaxOfPlanes([[0.6, -0.4]], [[1.0], [-1.0]], [0.0, 0.0]), "lam": 0.5},
        "linear-gmm-d2": lambda: {"base": _mixture(), "reward": LinearReward([0.8, -0.5]), "lam": 1.0},
        "planes-categorical-k5": lambda: {"base": _finite(), "lam": 0.7,
                                          "reward": MaxOfPlanes([[1.0]], [[-0.8], [0.3], [1.2]], [2.0, -1.0, -4.0])},
        "sqnorm-gauss-d2": lambda: {"base": Gaussian([0.3, -0.2], [[1.0, 0.3], [0.3, 0.8]]),
                                    "reward": SquaredNormReward([[1.0, 0.4]]), "lam": 2.0},
    },
    "prox": {
        "linear-sq": lambda: {"reward": LinearReward([0.8, -0.5]), "lam": 0.7, "cost": "sq", "base": _gaussian()},
        "concave-quadratic-sq": lambda: {"reward": ConcaveQuadratic([[1.0, 0.2], [0.2, 0.5]], [1.0, -1.0]),
                                         "lam": 0.7, "cost": "sq", "base": _gaussian()},
        "planes-sq": lambda: {"reward": MaxOfPlanes([[1.0, 0.5]], [[1.0], [-1.0], [2.0]], [0.0, 0.0, -1.0]),
                              "lam": 0.7, "cost": "sq", "base": _gaussian()},
        "linear-w1": lambda: {"reward": LinearReward([0.3, -0.2]), "lam": 0.7, "cost": "w1", "base": _gaussian()},
    },
}

TRACTABILITY_INSTANCES: dict[str, tuple[str, ...]] = {family: tuple(sorted(names))
                                                       for family, names in _BUILDERS.items()}
"""Instance names per family (sorted)."""

_FACTORY_FIELDS = {"tilt": ("base",), "kl": ("base", "reward", "lam"), "prox": ("reward", "lam", "cost")}


def tractability_instance(family: str, name: str) -> dict[str, Any]:
    """The fields of a named instance (fresh objects each call)."""
    if family not in _BUILDERS:
        raise ValueError(f"family must be one of {sorted(_BUILDERS)}, got {family!r}")
    if name not in _BUILDERS[family]:
        raise ValueError(f"instance {name!r} is not a {family} instance; known: "
                         f"{', '.join(TRACTABILITY_INSTANCES[family])}")
    return _BUILDERS[family][name]()


def check_tractability(family: str, factory: Callable[..., Any], *, instance: str, **options) -> VerificationRecord:
    """Build instance ``instance`` of ``family``, get the implementation from ``factory`` and check it."""
    fields = tractability_instance(family, instance)
    if not callable(factory):
        raise ValueError(f"factory must be a callable taking {', '.join(_FACTORY_FIELDS[family])} by keyword, "
                         f"got {factory!r}")
    implementation = factory(**{key: fields[key] for key in _FACTORY_FIELDS[family]})
    if family == "tilt":
        record = check_tilt_oracle(implementation, fields["base"], fields["thetas"], **options)
    elif family == "kl":
        record = check_kl_align(implementation, fields["base"], fields["reward"], fields["lam"], **options)
    else:
        record = check_prox(implementation, fields["reward"], fields["lam"], fields["cost"], base=fields["base"],
                            **options)
    return dataclasses.replace(record, instance=f"{instance} ({record.instance})")
