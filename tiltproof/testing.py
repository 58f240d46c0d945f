"""One-line pytest assertions for your own implementation (TFP ``assert_…`` style), one per BYO family.

Each runs the matching bring-your-own check and raises ``AssertionError`` carrying the whole record
(every statistic, threshold, n, α share and the power) unless the verdict is ``pass``::

    from tiltproof.testing import assert_chain_sampler

    def test_my_lcb_sampler():
        assert_chain_sampler(my_sampler, instance="gmm-ref-B5", budget=0.05, baseline=my_baseline)

``assert_sampler``, ``assert_chain_sampler``, ``assert_tilt_oracle``, ``assert_kl_align``, ``assert_prox`` take
their check's arguments (``tiltproof.byo.check_sampler``, …) and are made from the family declarations
(``tiltproof.byo.families``): a new family brings its assert with it.

``uncertified`` fails the assertion too (pass ``allow_uncertified=True`` to accept a sampler that is not
refuted but whose certificate exceeds its budget), and so does a record flagged ``not_reproducible``
(a test that cannot be replayed is flaky). A failed single-step check's message carries its diagnosis
("consistent with λ ≈ … ± …, not with an untilted sampler"). Each call returns the record, so a test
may also inspect its power and ``pass_meaning`` (``"not_refuted"`` or ``"certified"``). Bad input raises
``ValueError`` as the checks do.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from tiltproof.byo.verification import VerificationRecord

__all__ = ["assert_sampler", "assert_chain_sampler", "assert_tilt_oracle", "assert_kl_align", "assert_prox",
           "assert_verified"]


def assert_verified(record: VerificationRecord, *, allow_uncertified: bool = False) -> VerificationRecord:
    """Raise ``AssertionError`` with ``str(record)`` unless the verdict is ``pass`` (or ``uncertified``
    when allowed)."""
    accepted = {"pass", "uncertified"} if allow_uncertified else {"pass"}
    if record.verdict not in accepted:
        raise AssertionError(f"tiltproof {record.family} check did not pass:\n{record}")
    if getattr(record, "not_reproducible", False):
        raise AssertionError(f"tiltproof {record.family} check cannot be replayed (the implementation ignores its "
                             f"generator):\n{record}")
    return record


@functools.lru_cache(maxsize=None)
def assertion_of(name: str) -> Callable[..., VerificationRecord]:
    """The ``tiltproof.testing`` assert called ``name``: its family's check, then ``assert_verified``."""
    from tiltproof.byo.families import family_of_assertion

    family = family_of_assertion(name)
    if family is None:
        raise AttributeError(f"module 'tiltproof.testing' has no attribute {name!r}")
    check = family.check_function()

    @functools.wraps(check)
    def assertion(*args: Any, allow_uncertified: bool = False, **check_arguments: Any) -> VerificationRecord:
        return assert_verified(check(*args, **check_arguments), allow_uncertified=allow_uncertified)

    signature = inspect.signature(check)
    extra = inspect.Parameter("allow_uncertified", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=bool)
    parameters = list(signature.parameters.values())
    keywords = next((index for index, parameter in enumerate(parameters)
                     if parameter.kind is inspect.Parameter.VAR_KEYWORD), len(parameters))
    assertion.__signature__ = signature.replace(parameters=[*parameters[:keywords], extra, *parameters[keywords:]])
    assertion.__name__ = assertion.__qualname__ = name
    assertion.__module__ = __name__
    assertion.__doc__ = (f"``tiltproof.byo.{family.check}`` ({family.name} family: {family.summary}) as an "
                         f"assertion: raises ``AssertionError`` with the record unless it passes (module docstring)."
                         f"\n\nThe check's own documentation:\n\n{inspect.getdoc(check) or ''}")
    return assertion


def __getattr__(name: str) -> Any:
    if name.startswith("assert_"):
        return assertion_of(name)
    raise AttributeError(f"module 'tiltproof.testing' has no attribute {name!r}")


def __dir__() -> list[str]:
    from tiltproof.byo.families import families

    return sorted(set(globals()) | {family.assertion for family in families()})
