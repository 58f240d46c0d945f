"""The one outcome vocabulary: what a claim check or a bring-your-own check hands back, frozen once built.

Every result tiltproof writes is an ``Outcome``: a frozen dataclass (``tiltproof.core.framework.Evidence``
and ``Record`` for claims, ``tiltproof.byo.verification.VerificationRecord`` for BYO checks) with a
``verdict`` and a ``message``, built once, with every field, by the code that knows them — a later stage
that adds information builds a new one (``dataclasses.replace``), never patches the old
(``dataclasses.FrozenInstanceError``). They share

* one JSON writer, ``Outcome.to_json`` (through ``json_ready``): non-finite floats as the strings
  ``"inf"``/``"-inf"``/``"nan"``, numpy and torch scalars and arrays as plain numbers and lists, mapping keys
  as strings, tuples as lists; it raises ``TypeError`` here, not in the caller's writer, if a detail is not
  serialisable;
* one error builder, ``error_outcome(kind, message=…, **identity)``: verdict ``error``, the identity fields
  given, every figure at its empty value (``kind.EMPTY_FIGURES``: None, 0, no tests).
"""
from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, ClassVar, Mapping, TypeVar

__all__ = ["Outcome", "json_ready", "error_outcome"]


def json_ready(value: Any) -> Any:
    """``value`` with every part JSON can hold as written: see the module docstring for each rule."""
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    if not isinstance(value, (str, bytes, int)) and callable(getattr(value, "tolist", None)):
        return json_ready(value.tolist())  # numpy / torch scalars and arrays
    return value


class Outcome:
    """Base of the frozen outcome dataclasses: ``passed`` and the one JSON writer.

    A subclass is a ``@dataclass(frozen=True)`` with at least ``verdict`` and ``message``; ``EMPTY_FIGURES``
    names the figures an ``error`` outcome carries (``error_outcome``)."""

    EMPTY_FIGURES: ClassVar[Mapping[str, Any]] = {}

    @property
    def passed(self) -> bool:
        return getattr(self, "verdict") == "pass"

    def to_json(self) -> dict[str, Any]:
        """Every field, JSON-ready (``json_ready``); raises ``TypeError`` naming a detail JSON cannot hold."""
        payload = json_ready(dataclasses.asdict(self))  # type: ignore[call-overload]
        json.dumps(payload)  # fail here, not in the caller's writer, if a detail is not serialisable
        return payload


OutcomeT = TypeVar("OutcomeT", bound=Outcome)


def error_outcome(kind: type[OutcomeT], *, message: str, details: Mapping[str, Any] | None = None,
                  **identity: Any) -> OutcomeT:
    """The ``error`` outcome of kind ``kind``: what could not be checked (``message``, ``details``), who it is
    (``identity``: the fields that name the claim or check), and every figure empty (``kind.EMPTY_FIGURES``,
    overridable through ``identity``, e.g. the tests a BYO check finished before it failed)."""
    if "verdict" in identity:
        raise ValueError("identity: an error outcome's verdict is 'error'; do not pass verdict")
    return kind(**{**kind.EMPTY_FIGURES, **identity}, verdict="error", message=message,  # type: ignore[call-arg]
                details=dict(details or {}))
